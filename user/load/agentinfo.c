// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * agentinfo.c - the load stage's record of how the agent runs, a one-value
 * array map pinned beside the meter's maps (agentinfo.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "load/agentinfo.h"
#include "meter.h"

static int record_path(char *buf, size_t len, const char *pin_dir)
{
	if ((size_t)snprintf(buf, len, "%s/%s", pin_dir, TG_MAP_AGENT) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Whether @fd is a record of this layout. */
static bool our_layout(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       info.type == BPF_MAP_TYPE_ARRAY &&
	       info.key_size == sizeof(__u32) &&
	       info.value_size == sizeof(struct agent_info) &&
	       info.max_entries == 1;
}

int agent_info_pin(const char *pin_dir, const struct agent_info *ai)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err;

	err = record_path(path, sizeof(path), pin_dir);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0 && !our_layout(fd)) {
		/* Another version's: ours replaces it. */
		close(fd);
		fd = -1;
		if (unlink(path))
			return -errno;
	}
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, TG_MAP_AGENT,
				    sizeof(__u32), sizeof(*ai), 1, NULL);
		if (fd < 0)
			return -errno;
		if (bpf_obj_pin(fd, path)) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	if (bpf_map_update_elem(fd, &zero, ai, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

int agent_info_read(const char *pin_dir, struct agent_info *ai)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err;

	memset(ai, 0, sizeof(*ai));
	err = record_path(path, sizeof(path), pin_dir);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (!our_layout(fd))
		err = -EPROTO;
	else if (bpf_map_lookup_elem(fd, &zero, ai))
		err = -errno;
	else if (ai->version != AGENT_INFO_VERSION)
		err = -EPROTO;
	else if (!ai->interval)
		err = -ENOENT;	/* made, never written */
	close(fd);
	if (!err) {
		ai->config[sizeof(ai->config) - 1] = '\0';
		ai->ledger[sizeof(ai->ledger) - 1] = '\0';
	} else {
		memset(ai, 0, sizeof(*ai));
	}
	return err;
}
