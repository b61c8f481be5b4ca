/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * privs.h - what the agent gives up once the meter is attached (load
 * stage, last step).
 */
#ifndef TOLLGATE_PRIVS_H
#define TOLLGATE_PRIVS_H

#include <stdbool.h>
#include <linux/types.h>

struct privs {
	__u32 uid;
	__u32 gid;
	bool set;	/* --user given */
};

/* Parse --user: a user name (with its primary group), a UID or UID:GID;
 * root is refused. Says why it fails. Returns 0 or -EINVAL. */
int privs_parse_user(const char *spec, struct privs *p);

/*
 * Become @p's user when set; then, when not root, keep no capability
 * except CAP_BPF where a bpf(2) probe on map @probe_fd shows the kernel
 * still wants it. Returns 0 or -errno, with the reason logged.
 */
int privs_drop(const struct privs *p, int probe_fd);

#endif /* TOLLGATE_PRIVS_H */
