/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve.h - the export stage's HTTP endpoint: serves the last page that
 * the metrics module rendered, from libmicrohttpd's own threads, which
 * never touch a BPF map.
 */
#ifndef TOLLGATE_SERVE_H
#define TOLLGATE_SERVE_H

#include <stddef.h>

#include "classify/config.h"

struct metrics_server;

struct metrics_server_opts {
	const char *listen;		/* "ADDR:PORT", "[ADDR6]:PORT" */
	const char *tls_cert;		/* PEM files; both or NULL */
	const char *tls_key;
	unsigned int max_connections;	/* 0: 1024 */
	unsigned int timeout;		/* idle seconds; 0: 10 */
};

/*
 * Listen on @o->listen and answer GET /metrics from threads of its own
 * (libmicrohttpd's). Returns 0 and *@out, or -EINVAL (a bad address, TLS
 * files that do not load), -EADDRINUSE and friends; says why.
 */
int metrics_server_start(struct metrics_server **out,
			 const struct metrics_server_opts *o);

/*
 * metrics_server_start() in two steps: open() checks the options, reads
 * the TLS files and binds the socket (so a port in use or an unreadable
 * key stops the agent before it attaches anything, and a key readable by
 * root alone is read while the agent is root); run() starts
 * libmicrohttpd's threads, after the agent has given up its privileges,
 * so that they never hold any. Same returns.
 */
int metrics_server_open(struct metrics_server **out,
			const struct metrics_server_opts *o);
int metrics_server_run(struct metrics_server *s);

/* The port the server listens on (useful after port 0). */
unsigned int metrics_server_port(const struct metrics_server *s);

/* Serve @page of @len bytes from now on; the server takes it (malloc'd). */
void metrics_server_publish(struct metrics_server *s, char *page, size_t len);

/*
 * Users allowed to scrape (none: no authentication). The server copies
 * them. Returns 0 or -ENOMEM.
 */
int metrics_server_set_users(struct metrics_server *s,
			     const struct tg_metrics_user *users, size_t nr);

/* Stop serving and free @s (NULL is fine). */
void metrics_server_stop(struct metrics_server *s);

/*
 * Split "ADDR:PORT" or "[ADDR6]:PORT" into a socket address. Returns 0 or
 * -EINVAL.
 */
struct sockaddr_storage;
int metrics_parse_listen(const char *s, struct sockaddr_storage *ss);

#endif /* TOLLGATE_SERVE_H */
