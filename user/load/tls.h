/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls.h - the load stage finds the metered processes and the TLS library
 * each maps, so that the loader can hook SSL_write in each of them.
 */
#ifndef TOLLGATE_TLS_H
#define TOLLGATE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether @path names an OpenSSL libssl (libssl.so, libssl.so.3, ...). */
bool tls_is_libssl(const char *path);

/* The first libssl file named in the /proc/PID/maps text @maps (deleted
 * files skipped: a uprobe needs the file) into @out. Returns true when
 * there is one. */
bool tls_maps_libssl(const char *maps, char *out, size_t len);

/* The first file of device @dev and inode @ino in the /proc/PID/maps text
 * @maps, as the process names it, into @out. Returns true when there is
 * one. */
bool tls_maps_file(const char *maps, dev_t dev, ino_t ino, char *out,
		   size_t len);

/* The start time of process @pid (field 22 of /proc/PID/stat), 0 when it
 * is gone: with the pid, it names one process for the life of the boot. */
unsigned long long tls_pid_start(long pid);

/* The contents of the text file @path, NUL-terminated; NULL on error. */
char *tls_read_text(const char *path);

struct tls_scan_ops {
	/* Whether the caller knows process @pid, started at @start. */
	bool (*known)(long pid, unsigned long long start, void *arg);
	/* A process it does not know, with its memory map. */
	void (*offer)(long pid, unsigned long long start, const char *maps,
		      void *arg);
	void *arg;
};

/* Every process of cgroup v2 directory @cgroup and below, to @s. */
void tls_scan(const char *cgroup, const struct tls_scan_ops *s);

#endif /* TOLLGATE_TLS_H */
