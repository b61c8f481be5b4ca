/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agentinfo.h - the load stage's record of how the agent runs, pinned
 * beside its maps: the configuration, the ledger and the interval it was
 * started with. The read commands (dump, classify, status) take them from
 * there, so that they read what the agent uses without being told again,
 * and say so.
 *
 * The BPF filesystem holds no regular files: the record is the one value
 * of a small array map that the agent creates and pins (TG_MAP_AGENT), and
 * that `tollgate detach` removes with the other pins. No program uses it,
 * and an agent or a reader that finds none works as before.
 */
#ifndef TOLLGATE_AGENTINFO_H
#define TOLLGATE_AGENTINFO_H

#include <linux/types.h>

#define AGENT_INFO_VERSION	1
#define AGENT_INFO_PATH_SIZE	4096

/* The one value of TG_MAP_AGENT. Its layout is pinned: a new field is a
 * new version. */
struct agent_info {
	__u32 version;		/* AGENT_INFO_VERSION */
	__u32 interval;		/* seconds between collections */
	__u32 pid;		/* the agent's process, in its pid namespace */
	__u32 pad;
	__u64 started;		/* Unix time the agent started */
	char config[AGENT_INFO_PATH_SIZE];	/* absolute path; "": the
						 * built-in configuration */
	char ledger[AGENT_INFO_PATH_SIZE];	/* absolute path; "":
						 * --no-ledger */
};
_Static_assert(sizeof(struct agent_info) == 24 + 2 * AGENT_INFO_PATH_SIZE,
	       "agent_info is pinned");

/*
 * Record @ai in @pin_dir, replacing what an earlier agent recorded there
 * (a record of another layout is unpinned and made anew). Needs what
 * making a map needs (CAP_BPF). Returns 0 or -errno.
 */
int agent_info_pin(const char *pin_dir, const struct agent_info *ai);

/*
 * Read the record in @pin_dir into @ai. Returns 0, -ENOENT (none: no
 * agent, or one that recorded nothing), -EPROTO (a record of another
 * layout), or -errno.
 */
int agent_info_read(const char *pin_dir, struct agent_info *ai);

#endif /* TOLLGATE_AGENTINFO_H */
