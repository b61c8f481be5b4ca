// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unmatched.c - the names no host matched, read from tg_unmatched.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "collect/unmatched.h"
#include "lib/log.h"

static int by_count(const void *a, const void *b)
{
	const struct unmatched_name *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

int unmatched_read(const char *pin_dir, struct unmatched_name **out,
		   size_t *n)
{
	struct tg_unmatched_key k, next;
	struct unmatched_name *list = NULL, *grown;
	struct tg_unmatched v;
	char path[PATH_MAX];
	size_t cap = 0;
	bool more;
	int fd, err = 0;

	*out = NULL;
	*n = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", pin_dir,
			     TG_MAP_UNMATCHED) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		pr_warn("cannot open pinned map '%s': %s", path,
			strerror(-err));
		return err;
	}
	more = !bpf_map_get_next_key(fd, NULL, &k);
	while (more) {
		more = !bpf_map_get_next_key(fd, &k, &next);
		/* an LRU map: an entry may go between two calls */
		if (!bpf_map_lookup_elem(fd, &k, &v)) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				grown = realloc(list, cap * sizeof(*list));
				if (!grown) {
					err = -ENOMEM;
					break;
				}
				list = grown;
			}
			memset(&list[*n], 0, sizeof(list[*n]));
			memcpy(list[*n].name, v.name,
			       v.len < TG_NAME_BUF ? v.len : TG_NAME_BUF);
			list[*n].port = k.port;
			list[*n].flags = v.flags;
			list[*n].count = v.count;
			(*n)++;
		}
		k = next;
	}
	close(fd);
	if (err) {
		free(list);
		*n = 0;
		return err;
	}
	if (*n)
		qsort(list, *n, sizeof(*list), by_count);
	*out = list;
	return 0;
}
