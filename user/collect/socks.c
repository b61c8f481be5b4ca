// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * socks.c - the collect stage's live sockets: their counters, for
 * `tollgate dump --by socket`.
 *
 * The per-socket counters live in socket-local storage (the tg_sock map),
 * which user space cannot walk with get_next_key. Two ways list it:
 *
 * - the bpf_sk_storage_map iterator (bpf/sockiter.bpf.c), which visits
 *   every socket that has storage, whether or not a process holds it;
 * - where the kernel refuses to load iterators (they are tracing programs,
 *   which some kernels do not allow), a walk over /proc/PID/fd: each socket
 *   a process holds is borrowed with pidfd_getfd(2) and its storage looked
 *   up by descriptor, which the sk_storage map accepts as a key. This sees
 *   only sockets that some process holds: not yet accepted connections and
 *   orphans closing in the kernel are missed. It needs the right to
 *   ptrace(2) the processes (root has it).
 *
 * TOLLGATE_SOCK_LIST=proc in the environment skips the iterator, so that the
 * walk is tested on kernels where the iterator works too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/snapshot.h"
#include "lib/array.h"
#include "lib/log.h"
#include "sockiter.skel.h"

struct sock_list {
	struct tg_sock *v;
	size_t nr, cap;
};

static int list_add(struct sock_list *l, const struct tg_sock *s)
{
	if (ARRAY_GROW(l->v, l->nr + 1, l->cap, 64))
		return -ENOMEM;
	l->v[l->nr++] = *s;
	return 0;
}

/* Run the iterator over the tg_sock map; it writes one tg_sock a socket. */
static int list_iter(const struct view *v, struct sock_list *out)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo = {};
	struct sockiter_bpf *skel;
	struct bpf_link *link = NULL;
	struct tg_sock rec;
	size_t have = 0;
	int fd = -1, err;
	ssize_t n;

	skel = sockiter_bpf__open();
	if (!skel)
		return -errno;
	err = bpf_map__reuse_fd(skel->maps.tg_sock, v->sock);
	if (!err)
		err = sockiter_bpf__load(skel);
	if (err)
		goto out;
	linfo.map.map_fd = v->sock;
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	link = bpf_program__attach_iter(skel->progs.tg_sock_iter, &opts);
	if (!link) {
		err = -errno;
		goto out;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* Records never straddle reads: the kernel copies whole ones. */
	for (;;) {
		n = read(fd, (char *)&rec + have, sizeof(rec) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		have += n;
		if (have == sizeof(rec)) {
			err = list_add(out, &rec);
			if (err)
				goto out;
			have = 0;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	sockiter_bpf__destroy(skel);
	return err;
}

/* Socket inodes already looked at: a socket shared by many processes (a
 * listener of nginx's workers) is borrowed once. Open addressing. */
struct ino_set {
	unsigned long *v;
	size_t nr, cap;		/* cap: a power of two, or 0 */
};

/* Add @ino; returns 1 if it was there, 0 if added, -ENOMEM. */
static int ino_add(struct ino_set *s, unsigned long ino)
{
	size_t i;

	if (!ino)
		return 1;
	if ((s->nr + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024, j;
		unsigned long *nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		for (j = 0; j < s->cap; j++) {
			if (!s->v[j])
				continue;
			i = (s->v[j] * 0x9e3779b97f4a7c15ul) & (ncap - 1);
			while (nv[i])
				i = (i + 1) & (ncap - 1);
			nv[i] = s->v[j];
		}
		free(s->v);
		s->v = nv;
		s->cap = ncap;
	}
	i = (ino * 0x9e3779b97f4a7c15ul) & (s->cap - 1);
	while (s->v[i]) {
		if (s->v[i] == ino)
			return 1;
		i = (i + 1) & (s->cap - 1);
	}
	s->v[i] = ino;
	s->nr++;
	return 0;
}

/* The socket inode behind /proc/PID/fd/@name, or 0 if not a socket. */
static unsigned long socket_ino(int dirfd, const char *name)
{
	char link[64];
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);

	if (n <= 8)
		return 0;
	link[n] = '\0';
	if (strncmp(link, "socket:[", 8))
		return 0;
	return strtoul(link + 8, NULL, 10);
}

/* Borrow each new socket of process @pid and look up its storage. */
static int walk_pid(const struct view *v, int pid, struct ino_set *seen,
		    struct sock_list *out, int *denied)
{
	struct tg_sock rec;
	struct dirent *de;
	char path[64];
	int pidfd, fd, err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;	/* gone, or a kernel thread */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		closedir(d);
		return errno == ENOSYS ? -ENOSYS : 0;
	}
	while (!err && (de = readdir(d))) {
		unsigned long ino = socket_ino(dirfd(d), de->d_name);
		int r;

		if (!ino)
			continue;
		r = ino_add(seen, ino);
		if (r) {
			err = r < 0 ? r : 0;
			continue;
		}
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd < 0) {
			if (errno == ENOSYS)
				err = -ENOSYS;
			else if (errno == EPERM)
				(*denied)++;
			continue;
		}
		if (!bpf_map_lookup_elem(v->sock, &fd, &rec))
			err = list_add(out, &rec);
		close(fd);
	}
	close(pidfd);
	closedir(d);
	return err;
}

static int list_proc(const struct view *v, struct sock_list *out)
{
	struct ino_set seen = {};
	struct dirent *de;
	int err = 0, denied = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		err = walk_pid(v, pid, &seen, out, &denied);
	}
	closedir(d);
	free(seen.v);
	if (denied)
		pr_warn("not allowed to look at %d sockets of other processes "
			"(needs CAP_SYS_PTRACE): the list is incomplete",
			denied);
	return err;
}

/*
 * Fill @s->socks with one record per live socket that has counters.
 * Returns 0 or -errno.
 */
int socks_read(const struct view *v, struct snapshot *s)
{
	struct sock_list l = {};
	const char *how = getenv("TOLLGATE_SOCK_LIST");
	int err = -EOPNOTSUPP;

	if (!how || strcmp(how, "proc")) {
		/* A refused iterator is expected on some kernels: keep
		 * libbpf's load log out of the user's way. */
		libbpf_print_fn_t print = libbpf_set_print(NULL);

		err = list_iter(v, &l);
		libbpf_set_print(print);
		if (err) {
			pr_debug("socket iterator unavailable (%s); walking "
				 "/proc instead", strerror(-err));
			l.nr = 0;
		}
	}
	if (err)
		err = list_proc(v, &l);
	if (err) {
		pr_warn("cannot list sockets: %s", strerror(-err));
		free(l.v);
		return err;
	}
	s->socks = l.v;
	s->nr_socks = l.nr;
	s->have_socks = true;
	return 0;
}
