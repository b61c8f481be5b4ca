/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve.h - the export stage's HTTP endpoint: serves the last page that
 * the metrics module rendered, from libmicrohttpd's own threads, which
 * never touch a BPF map.
 *
 * No client can take the endpoint from the others, nor descriptors or
 * memory from the agent: connections are capped in total (to what the
 * descriptor limit leaves once the agent's own files are provided for)
 * and per client (an IPv4 address, an IPv6 /64); a request head must
 * arrive whole within a deadline counted from the connection (or the
 * previous answer), not from the last byte; a client that stops reading
 * an answer is reset, its unsent bytes dropped; when every connection is
 * taken, a new one replaces the one that has waited longest for its
 * request head. Passwords are checked by a thread of their own (auth.h),
 * at a rate each client is allowed (clients.h), in the same time whether
 * the user exists or not.
 */
#ifndef TOLLGATE_SERVE_H
#define TOLLGATE_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "classify/config.h"

/* Defaults of struct metrics_server_opts. */
#define SERVE_MAX_CONNECTIONS	1024	/* in total, before the fd limit */
#define SERVE_PER_CLIENT	8	/* connections per client */
#define SERVE_TIMEOUT		10	/* seconds without a byte either way */
#define SERVE_HEAD_TIMEOUT	5	/* seconds for a whole request head */
#define SERVE_STALL_TIMEOUT	5	/* seconds an answer may go unread */
/* Descriptors kept for the rest of the agent: SERVE_FD_RESERVE plus an
 * eighth of the limit (the ledger, time-zone and plan files, BPF maps
 * and links, TLS hooks, the fleet ledger's socket). */
#define SERVE_FD_RESERVE	128
#define SERVE_SNDBUF		(64 * 1024)	/* per connection; the kernel
						 * doubles it */
/* bcrypt checks per client: a burst, then one every SERVE_AUTH_REFILL
 * seconds; a password that passed is remembered and costs none. */
#define SERVE_AUTH_BURST	5
#define SERVE_AUTH_REFILL	5

struct metrics_server;

struct metrics_server_opts {
	const char *listen;		/* "ADDR:PORT", "[ADDR6]:PORT" */
	const char *tls_cert;		/* PEM files; both or NULL */
	const char *tls_key;
	/* Users allowed to scrape (none: no authentication). Beyond
	 * loopback, none is refused unless @anonymous. */
	const struct tg_metrics_user *users;
	size_t nr_users;
	bool anonymous;
	unsigned int max_connections;	/* 0: SERVE_MAX_CONNECTIONS; lowered
					 * to fit RLIMIT_NOFILE */
	unsigned int per_client;	/* 0: SERVE_PER_CLIENT */
	unsigned int timeout;		/* 0: SERVE_TIMEOUT */
	unsigned int head_timeout;	/* 0: SERVE_HEAD_TIMEOUT */
	unsigned int stall_timeout;	/* 0: SERVE_STALL_TIMEOUT */
};

/*
 * Listen on @o->listen and answer GET /metrics from threads of its own
 * (libmicrohttpd's). Returns 0 and *@out, or -EINVAL (a bad address, TLS
 * files that do not load), -EACCES (beyond loopback without users nor
 * @o->anonymous), -EADDRINUSE and friends; says why.
 */
int metrics_server_start(struct metrics_server **out,
			 const struct metrics_server_opts *o);

/*
 * metrics_server_start() in two steps: open() checks the options, reads
 * the TLS files and binds the socket (so a port in use or an unreadable
 * key stops the agent before it attaches anything, and a key readable by
 * root alone is read while the agent is root); run() starts
 * libmicrohttpd's threads and the server's own, after the agent has
 * given up its privileges, so that they never hold any, and sizes the
 * connection cap to the descriptor limit then in force. Same returns.
 */
int metrics_server_open(struct metrics_server **out,
			const struct metrics_server_opts *o);
int metrics_server_run(struct metrics_server *s);

/* The port the server listens on (useful after port 0). */
unsigned int metrics_server_port(const struct metrics_server *s);

/* Serve @page of @len bytes from now on; the server takes it (malloc'd).
 * Never waits for a client: answers still sending the old page keep it
 * until they are done. */
void metrics_server_publish(struct metrics_server *s, char *page, size_t len);

/*
 * Users allowed to scrape (none: no authentication). The server copies
 * them; passwords remembered for users whose hash is unchanged stay.
 * Returns 0, -ENOMEM, or -EACCES (none, beyond loopback, without
 * anonymous: the users in force stay, and the log says so).
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

/* Whether @ss is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
bool metrics_is_loopback(const struct sockaddr_storage *ss);

/*
 * The connection cap that RLIMIT_NOFILE @nofile leaves, at most @want:
 * SERVE_FD_RESERVE and an eighth of the limit stay for the rest of the
 * agent. Pure.
 */
unsigned int metrics_connection_cap(unsigned long nofile, unsigned int want);

#endif /* TOLLGATE_SERVE_H */
