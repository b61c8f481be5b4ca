// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tls.c - the load stage finds the metered processes and the TLS library
 * each of them uses.
 *
 * Calls on TLS connections are counted from what SSL_write encrypts
 * (bpf/tls.bpf.h); the meter hooks it, and the handshake, in each process
 * found here, in the file found here. Hooks are per process: a uprobe on
 * a file alone would put its breakpoint in every process that maps the
 * file, metered or not. So the scan walks the processes of the metered
 * cgroup (and the cgroups below it), asks the loader whether it knows
 * each one (its pid and start time, so that a reused pid is a new
 * process), and offers the new ones with their memory map
 * (/proc/PID/maps), where the loader finds their libssl; a process without
 * one may have OpenSSL linked in statically, and its executable is tried
 * instead (the attach finds out whether it exports SSL_write).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
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

/*
 * The first file of device @dev and inode @ino named in @maps into @out
 * (the path as the process sees it). Returns true when there is one.
 */
bool tls_maps_file(const char *maps, dev_t dev, ino_t ino, char *out,
		   size_t len)
{
	const char *line = maps, *end, *path;
	unsigned int maj, min;
	unsigned long long inode;
	size_t n;

	for (; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		n = end ? (size_t)(end - line) : strlen(line);
		/* "start-end perms offset MAJ:MIN inode path" */
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min,
			   &inode) != 3 || inode != (unsigned long long)ino ||
		    makedev(maj, min) != dev)
			continue;
		path = memchr(line, '/', n);
		if (!path)
			continue;
		n -= path - line;
		if (n >= len)
			continue;
		memcpy(out, path, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The start time of process @pid (clock ticks after boot, field 22 of
 * /proc/PID/stat), which tells a reused pid from the process it was; 0
 * when the process is gone. */
unsigned long long tls_pid_start(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command, which may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

char *tls_read_text(const char *path)
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

/* Offer process @pid to @s, unless it knows the process already. */
static void scan_pid(long pid, const struct tls_scan_ops *s)
{
	unsigned long long start = tls_pid_start(pid);
	char path[64], *maps;

	if (!start || s->known(pid, start, s->arg))
		return;
	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	maps = tls_read_text(path);
	if (maps && maps[0])	/* else gone, or a kernel thread */
		s->offer(pid, start, maps, s->arg);
	free(maps);
}

static void scan_cgroup(const char *dir, int depth,
			const struct tls_scan_ops *s)
{
	char path[PATH_MAX], *procs, *p, *end;
	struct dirent *de;
	DIR *d;
	long pid;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >=
	    sizeof(path))
		return;
	procs = tls_read_text(path);
	for (p = procs; p && *p; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0)
			scan_pid(pid, s);
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
			scan_cgroup(path, depth + 1, s);
	}
	closedir(d);
}

/*
 * Every process in the cgroup v2 directory @cgroup and below: @s->known
 * tells whether the caller knows it (pid, start time); the others are
 * offered to @s->offer with the text of their memory map.
 */
void tls_scan(const char *cgroup, const struct tls_scan_ops *s)
{
	scan_cgroup(cgroup, 0, s);
}
