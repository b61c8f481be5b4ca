// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tls.c - the load stage finds the TLS libraries of the metered processes.
 *
 * Calls on TLS connections are counted from what SSL_read decrypts
 * (bpf/meter.bpf.c, "TLS"); the meter hooks that function in the files
 * found here. A uprobe sits on a file, not on a process: one attach covers
 * every process that maps the library, those started later included. So
 * the scan looks for files, not processes: each process of the metered
 * cgroup (and the cgroups below it) is asked which libssl it maps
 * (/proc/PID/maps); a process without one may have OpenSSL linked in
 * statically, and its executable is offered instead (the attach finds out
 * whether it exports SSL_read).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "load/tls.h"

/* Whether @path names an OpenSSL libssl (libssl.so, libssl.so.3, ...). */
bool tls_is_libssl(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libssl.so", 9) &&
	       (base[9] == '\0' || base[9] == '.');
}

/*
 * The first libssl file named in @maps (the text of /proc/PID/maps) into
 * @out. Returns true when there is one. Lines of deleted files (" (deleted)")
 * are skipped: a uprobe needs the file.
 */
bool tls_maps_libssl(const char *maps, char *out, size_t len)
{
	const char *line = maps, *end, *path;
	size_t n;

	for (; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		n = end ? (size_t)(end - line) : strlen(line);
		path = memchr(line, '/', n);
		if (!path)
			continue;
		n -= path - line;
		if (n >= len || (n > 10 && !strncmp(path + n - 10, " (deleted)",
						    10)))
			continue;
		memcpy(out, path, n);
		out[n] = '\0';
		if (tls_is_libssl(out))
			return true;
	}
	return false;
}

static char *read_text(const char *path)
{
	size_t len = 0, cap = 0, r;
	char *buf = NULL, *p;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		r = fread(buf + len, 1, cap - len, f);
		len += r;
	} while (r);
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* Offer @pid's TLS library, or its executable, to @cb. */
static void scan_pid(long pid, void (*cb)(const char *path, void *arg),
		     void *arg)
{
	char path[64], lib[PATH_MAX], full[PATH_MAX + 64];
	char *maps;

	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	maps = read_text(path);
	if (!maps)
		return;	/* gone, or a kernel thread */
	if (tls_maps_libssl(maps, lib, sizeof(lib))) {
		/* Through the process's root: it may be in a container. */
		snprintf(full, sizeof(full), "/proc/%ld/root%s", pid, lib);
		cb(full, arg);
	} else if (maps[0]) {
		snprintf(full, sizeof(full), "/proc/%ld/exe", pid);
		cb(full, arg);
	}
	free(maps);
}

static void scan_cgroup(const char *dir, int depth,
			void (*cb)(const char *path, void *arg), void *arg)
{
	char path[PATH_MAX], *procs, *p, *end;
	struct dirent *de;
	DIR *d;
	long pid;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    sizeof(path))
		return;
	procs = read_text(path);
	for (p = procs; p && *p; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0)
			scan_pid(pid, cb, arg);
		while (*end == '\n')
			end++;
	}
	free(procs);
	if (depth >= 16)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) < sizeof(path))
			scan_cgroup(path, depth + 1, cb, arg);
	}
	closedir(d);
}

/*
 * Offer to @cb, for every process in the cgroup v2 directory @cgroup and
 * below, the file its SSL_read would be in: its libssl, through
 * /proc/PID/root, or else its executable (/proc/PID/exe). The same file
 * is offered once per process: @cb dedups.
 */
void tls_scan(const char *cgroup, void (*cb)(const char *path, void *arg),
	      void *arg)
{
	scan_cgroup(cgroup, 0, cb, arg);
}
