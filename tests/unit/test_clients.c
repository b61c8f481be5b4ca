// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_clients.c - the metrics endpoint's table of clients: who counts as
 * one client, connections counted through thousands of clients coming
 * and going in random order (deletions shift entries back: none may be
 * lost), the allowance of password checks and its refill, and a table
 * full of clients with connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "export/clients.h"

static void key4(const char *addr, unsigned char key[CLIENT_KEY_SIZE])
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	client_key((struct sockaddr *)&a, key);
}

static void key6(const char *addr, unsigned char key[CLIENT_KEY_SIZE])
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, addr, &a.sin6_addr), 1);
	client_key((struct sockaddr *)&a, key);
}

static void test_keys(void **state)
{
	unsigned char a[CLIENT_KEY_SIZE], b[CLIENT_KEY_SIZE];
	char s[64];

	/* IPv4, and the same address mapped on a dual-stack socket */
	key4("192.0.2.1", a);
	key6("::ffff:192.0.2.1", b);
	assert_memory_equal(a, b, CLIENT_KEY_SIZE);
	assert_string_equal(client_key_str(a, s, sizeof(s)), "192.0.2.1");
	key4("192.0.2.2", b);
	assert_memory_not_equal(a, b, CLIENT_KEY_SIZE);
	/* One IPv6 /64 is one client. */
	key6("2001:db8:1:2::1", a);
	key6("2001:db8:1:2:ffff:1:2:3", b);
	assert_memory_equal(a, b, CLIENT_KEY_SIZE);
	assert_string_equal(client_key_str(a, s, sizeof(s)),
			    "2001:db8:1:2::/64");
	key6("2001:db8:1:3::1", b);
	assert_memory_not_equal(a, b, CLIENT_KEY_SIZE);
	/* No address: all zeros, one client. */
	client_key(NULL, a);
	memset(b, 0, sizeof(b));
	assert_memory_equal(a, b, CLIENT_KEY_SIZE);
}

static void nth(unsigned int i, unsigned char key[CLIENT_KEY_SIZE])
{
	char addr[32];

	snprintf(addr, sizeof(addr), "10.%u.%u.%u", (i >> 16) & 255,
		 (i >> 8) & 255, i & 255);
	key4(addr, key);
}

static void test_conns(void **state)
{
	enum { N = 1000, PER = 3 };
	struct clients *t = clients_new(N * PER, 5, 5);
	unsigned int *held = calloc(N, sizeof(*held));
	unsigned char key[CLIENT_KEY_SIZE];
	unsigned int i, step, total = 0;

	assert_non_null(t);
	assert_non_null(held);
	srand(1);
	/* Random adds and deletes; every count must stay exact. */
	for (step = 0; step < 200000; step++) {
		i = rand() % N;
		nth(i, key);
		if (held[i] < PER && (rand() & 1)) {
			assert_int_equal(clients_conn_add(t, key, step), 0);
			held[i]++;
			total++;
		} else if (held[i]) {
			clients_conn_del(t, key, step);
			held[i]--;
			total--;
		}
		if (step % 9973 == 0) {
			unsigned int j, with = 0;

			for (j = 0; j < N; j++) {
				nth(j, key);
				assert_int_equal(clients_conns(t, key), held[j]);
				with += held[j] > 0;
			}
			/* Clients without connections are forgotten. */
			assert_int_equal(clients_count(t), with);
		}
	}
	for (i = 0; i < N; i++) {
		nth(i, key);
		while (held[i]--)
			clients_conn_del(t, key, step);
		assert_int_equal(clients_conns(t, key), 0);
	}
	assert_int_equal(clients_count(t), 0);
	/* One less than none is none. */
	clients_conn_del(t, key, step);
	assert_int_equal(clients_conns(t, key), 0);
	free(held);
	clients_free(t);
}

static void test_allowance(void **state)
{
	struct clients *t = clients_new(10, 5, 5);
	unsigned char a[CLIENT_KEY_SIZE], b[CLIENT_KEY_SIZE];
	int i;

	assert_non_null(t);
	key4("192.0.2.1", a);
	key4("192.0.2.2", b);
	for (i = 0; i < 5; i++)
		assert_int_equal(clients_take(t, a, 100), 0);
	/* Spent: the next one in 5 s. */
	assert_int_equal(clients_take(t, a, 100), 5);
	assert_int_equal(clients_take(t, a, 102.5), 3);
	/* Another client has its own. */
	assert_int_equal(clients_take(t, b, 100), 0);
	/* One every 5 s. */
	assert_int_equal(clients_take(t, a, 105), 0);
	assert_int_equal(clients_take(t, a, 105), 5);
	/* A check that passed is given back. */
	clients_refund(t, a, 105);
	assert_int_equal(clients_take(t, a, 105), 0);
	/* Full again after 25 s: forgotten once given back in full. */
	assert_int_equal(clients_count(t), 2);
	clients_refund(t, a, 200);
	clients_refund(t, b, 200);
	assert_int_equal(clients_count(t), 0);
	assert_int_equal(clients_take(t, a, 200), 0);
	clients_free(t);
}

static void test_full(void **state)
{
	/* 256 slots, three quarters usable. */
	struct clients *t = clients_new(1, 1, 5);
	unsigned char key[CLIENT_KEY_SIZE];
	unsigned int i, added = 0;

	assert_non_null(t);
	/* Allowances alone: forgotten to make room for connections. */
	for (i = 0; i < 150; i++) {
		nth(i, key);
		assert_int_equal(clients_take(t, key, 0), 0);
	}
	for (i = 1000; i < 1400; i++) {
		nth(i, key);
		if (clients_conn_add(t, key, 0))
			break;
		added++;
	}
	assert_int_equal(added, 192);
	nth(i, key);
	assert_int_equal(clients_conn_add(t, key, 0), -ENOSPC);
	/* A client the table has no room for is not limited. */
	assert_int_equal(clients_take(t, key, 0), 0);
	assert_int_equal(clients_take(t, key, 0), 0);
	clients_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_conns),
		cmocka_unit_test(test_allowance),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
