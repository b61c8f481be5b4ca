/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls.h - the load stage finds the TLS libraries of the metered
 * processes, so that the loader can hook their SSL_read.
 */
#ifndef TOLLGATE_TLS_H
#define TOLLGATE_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether @path names an OpenSSL libssl (libssl.so, libssl.so.3, ...). */
bool tls_is_libssl(const char *path);

/* The first libssl file named in the /proc/PID/maps text @maps (deleted
 * files skipped: a uprobe needs the file) into @out. Returns true when
 * there is one. */
bool tls_maps_libssl(const char *maps, char *out, size_t len);

/* Call @cb with the libssl (through /proc/PID/root), or without one the
 * executable, of every process in cgroup v2 directory @cgroup and below;
 * once per process: @cb dedups. */
void tls_scan(const char *cgroup, void (*cb)(const char *path, void *arg),
	      void *arg);

#endif /* TOLLGATE_TLS_H */
