/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clients.h - the metrics endpoint's clients: how many connections each
 * holds.
 *
 * A client is an IPv4 address or an IPv6 /64 (one host commonly holds a
 * whole /64, so counting its addresses apart would count nothing). The
 * table is a fixed open-addressing hash, seeded at random so that no peer
 * can pick addresses that collide; a client is kept while it holds a
 * connection. Not thread-safe: the caller holds a lock.
 */
#ifndef TOLLGATE_CLIENTS_H
#define TOLLGATE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct clients;

#define CLIENT_KEY_SIZE 16

/* The client of a peer address; zeros for NULL or another family. */
void client_key(const struct sockaddr *sa, unsigned char key[CLIENT_KEY_SIZE]);

/* "192.0.2.1" or "2001:db8::/64", for messages. Returns @buf. */
const char *client_key_str(const unsigned char key[CLIENT_KEY_SIZE],
			   char *buf, size_t len);

/*
 * A table for @max_conns connections at once (it holds at least twice as
 * many clients). Returns NULL with errno set.
 */
struct clients *clients_new(unsigned int max_conns);
void clients_free(struct clients *t);

/* Connections @key holds. */
unsigned int clients_conns(struct clients *t,
			   const unsigned char key[CLIENT_KEY_SIZE]);

/*
 * One more connection for @key, or one less. Adding returns 0, or
 * -ENOSPC when the table is full (the caller refuses the connection).
 */
int clients_conn_add(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE]);
void clients_conn_del(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE]);

/* Clients remembered. */
size_t clients_count(const struct clients *t);

#endif /* TOLLGATE_CLIENTS_H */
