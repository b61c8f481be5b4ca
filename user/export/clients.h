/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clients.h - the metrics endpoint's clients: how many connections each
 * holds, and how many password checks each may still start.
 *
 * A client is an IPv4 address or an IPv6 /64 (one host commonly holds a
 * whole /64, so counting its addresses apart would count nothing). The
 * table is a fixed open-addressing hash, seeded at random so that no peer
 * can pick addresses that collide; a client is kept while it holds a
 * connection or its allowance is not full again. Not thread-safe: the
 * caller holds a lock.
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
 * many clients), whose clients may start @burst password checks at once
 * and one more every @refill seconds. Returns NULL with errno set.
 */
struct clients *clients_new(unsigned int max_conns, unsigned int burst,
			    double refill);
void clients_free(struct clients *t);

/* Connections @key holds. */
unsigned int clients_conns(struct clients *t,
			   const unsigned char key[CLIENT_KEY_SIZE]);

/*
 * One more connection for @key, or one less. Adding returns 0, or
 * -ENOSPC when the table is full of clients with connections (the caller
 * refuses it). Times are CLOCK_MONOTONIC seconds.
 */
int clients_conn_add(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		     double now);
void clients_conn_del(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		      double now);

/*
 * Take one password check from @key's allowance. Returns 0, or the
 * seconds (at least 1) until the next one. A client the table has no room
 * for is not limited (returns 0).
 */
int clients_take(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		 double now);

/* Give back a check that @key took: one that passed costs nothing. */
void clients_refund(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		    double now);

/* Clients remembered. */
size_t clients_count(const struct clients *t);

#endif /* TOLLGATE_CLIENTS_H */
