// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_serve.c - the metrics endpoint's defences, on loopback: the
 * connection cap that a descriptor limit leaves, what counts as loopback
 * and the refusal to serve beyond it without users, a client's share of
 * connections, the deadline of a request head (counted from the
 * connection, however the head trickles), and the allowance of password
 * checks per client (429 with Retry-After beyond it).
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "export/serve.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_cap(void **state)
{
	/* 1024: 128 + 128 kept, and an eighth of the rest for connections
	 * being closed. */
	assert_int_equal(metrics_connection_cap(1024, 0), 682);
	assert_int_equal(metrics_connection_cap(1024, 100), 100);
	assert_int_equal(metrics_connection_cap(4096, 0), SERVE_MAX_CONNECTIONS);
	assert_int_equal(metrics_connection_cap(65536, 5000), 5000);
	/* Always a few, never more than the limit leaves. */
	assert_int_equal(metrics_connection_cap(64, 0), 4);
	assert_int_equal(metrics_connection_cap(0, 0), 4);
	assert_true(metrics_connection_cap(300, 0) + 128 + 300 / 8 <= 300);
}

static void test_loopback(void **state)
{
	static const struct {
		const char *listen;
		bool loopback;
	} cases[] = {
		{ "127.0.0.1:9109", true },
		{ "127.1.2.3:1", true },
		{ "[::1]:9109", true },
		{ "[::ffff:127.0.0.1]:9109", true },
		{ "0.0.0.0:9109", false },
		{ "10.0.0.5:9109", false },
		{ "128.0.0.1:9109", false },
		{ "[::]:9109", false },
		{ "[::ffff:10.0.0.1]:9109", false },
		{ "[fe80::1]:9109", false },
	};
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(metrics_parse_listen(cases[i].listen, &ss), 0);
		if (metrics_is_loopback(&ss) != cases[i].loopback)
			fail_msg("%s: loopback %d", cases[i].listen,
				 !cases[i].loopback);
	}
}

/* A bcrypt hash of @pw, cheapest cost. */
static void bcrypt(const char *pw, char *hash, size_t len)
{
	char salt[64];

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt,
					 sizeof(salt)));
	snprintf(hash, len, "%s", crypt(pw, salt));
	assert_int_equal(strncmp(hash, "$2b$04$", 7), 0);
}

static void test_beyond_loopback(void **state)
{
	struct tg_metrics_user u = { .name = "prom" };
	struct metrics_server *s;
	char hash[128];

	bcrypt("pw", hash, sizeof(hash));
	u.hash = hash;
	/* Open to the network without users: refused, unless on purpose. */
	assert_int_equal(metrics_server_open(&s,
		&(struct metrics_server_opts){ .listen = "0.0.0.0:0" }),
		-EACCES);
	assert_null(s);
	assert_int_equal(metrics_server_open(&s,
		&(struct metrics_server_opts){ .listen = "0.0.0.0:0",
					       .anonymous = true }), 0);
	metrics_server_stop(s);
	/* With users: served, and the last of them stays. */
	assert_int_equal(metrics_server_open(&s,
		&(struct metrics_server_opts){ .listen = "0.0.0.0:0",
					       .users = &u, .nr_users = 1 }),
		0);
	assert_int_equal(metrics_server_set_users(s, NULL, 0), -EACCES);
	assert_int_equal(metrics_server_set_users(s, &u, 1), 0);
	metrics_server_stop(s);
	/* Loopback needs no users. */
	assert_int_equal(metrics_server_open(&s,
		&(struct metrics_server_opts){ .listen = "127.0.0.1:0",
					       .users = &u, .nr_users = 1 }),
		0);
	assert_int_equal(metrics_server_set_users(s, NULL, 0), 0);
	metrics_server_stop(s);
}

/* A connection to @port from 127.0.0.@host. */
static int dial(unsigned int port, int host)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) }, src = a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	src.sin_port = 0;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + host - 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Whether the server closed @fd within @secs (the end of the stream or a
 * reset; an answer's bytes are read past). */
static bool closed_within(int fd, double secs)
{
	double end = now() + secs;
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return true;
	}
}

/* The whole answer to @req, sent on a new connection from 127.0.0.@host. */
static void ask(unsigned int port, int host, const char *req, char *buf,
		size_t len)
{
	int fd = dial(port, host);
	size_t n = 0;
	ssize_t r;

	assert_int_equal(write(fd, req, strlen(req)), strlen(req));
	while (n + 1 < len && (r = read(fd, buf + n, len - n - 1)) > 0)
		n += r;
	buf[n] = '\0';
	close(fd);
}

static void test_per_client(void **state)
{
	struct metrics_server *s;
	int fds[SERVE_PER_CLIENT + 1], other, i;
	char buf[4096];
	unsigned int port;

	assert_int_equal(metrics_server_start(&s,
		&(struct metrics_server_opts){ .listen = "127.0.0.1:0" }), 0);
	port = metrics_server_port(s);
	metrics_server_publish(s, strdup("x 1\n"), 4);
	for (i = 0; i < SERVE_PER_CLIENT; i++)
		fds[i] = dial(port, 2);
	usleep(200 * 1000);	/* the server has seen them */
	/* One more from the same client: closed at once. */
	fds[i] = dial(port, 2);
	assert_true(closed_within(fds[i], 1));
	/* Another client is served meanwhile. */
	other = dial(port, 3);
	assert_false(closed_within(other, 0.2));
	close(other);
	ask(port, 4, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	    buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	/* One of the eight goes: the client may open one again. */
	close(fds[0]);
	usleep(300 * 1000);
	fds[0] = dial(port, 2);
	assert_false(closed_within(fds[0], 0.3));
	for (i = 0; i <= SERVE_PER_CLIENT; i++)
		close(fds[i]);
	metrics_server_stop(s);
}

static void test_head_deadline(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n";
	struct metrics_server *s;
	unsigned int port;
	double t0, t;
	char buf[4096];
	int fd, n = 0;

	assert_int_equal(metrics_server_start(&s,
		&(struct metrics_server_opts){ .listen = "127.0.0.1:0",
					       .head_timeout = 1 }), 0);
	port = metrics_server_port(s);
	metrics_server_publish(s, strdup("x 1\n"), 4);

	/* A head that trickles, a line every 0.3 s: never idle, closed
	 * a second after the connection all the same. */
	t0 = now();
	fd = dial(port, 2);
	assert_int_equal(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	while (!closed_within(fd, 0.3)) {
		char line[32];
		int len = snprintf(line, sizeof(line), "X-%d: a\r\n", n++);

		if (write(fd, line, len) != len)
			break;
		assert_true(now() - t0 < 5);
	}
	t = now() - t0;
	close(fd);
	assert_true(t >= 0.9);
	assert_true(t < 2.5);

	/* A keep-alive connection gets a second from its last answer. */
	fd = dial(port, 2);
	assert_int_equal(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	assert_int_equal(write(fd, "\r\n", 2), 2);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	t0 = now();
	assert_true(closed_within(fd, 3));
	t = now() - t0;
	assert_true(t >= 0.7);
	close(fd);

	/* A head on time is answered. */
	ask(port, 2, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	    buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	metrics_server_stop(s);
}

#define AUTH(b64) "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" \
		  "Authorization: Basic " b64 "\r\n\r\n"

static void test_auth(void **state)
{
	struct tg_metrics_user u[2] = { { .name = "prom" }, { .name = "ops" } };
	struct metrics_server *s;
	char buf[4096], h1[128], h2[128];
	unsigned int port;
	int i;

	bcrypt("pw", h1, sizeof(h1));
	bcrypt("other", h2, sizeof(h2));
	u[0].hash = h1;
	u[1].hash = h2;
	assert_int_equal(metrics_server_start(&s,
		&(struct metrics_server_opts){ .listen = "127.0.0.1:0",
					       .users = u, .nr_users = 2 }),
		0);
	port = metrics_server_port(s);
	metrics_server_publish(s, strdup("x 1\n"), 4);

	/* prom:pw, then from the cache; ops:other */
	for (i = 0; i < 3; i++) {
		ask(port, 2, AUTH("cHJvbTpwdw=="), buf, sizeof(buf));
		assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	}
	ask(port, 2, AUTH("b3BzOm90aGVy"), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	/* Wrong password, unknown user (nobody:pw): 401, each from an
	 * address of its own. */
	ask(port, 3, AUTH("cHJvbTp3cm9uZw=="), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
	assert_non_null(strstr(buf, "WWW-Authenticate: Basic realm=\"tollgate\""));
	ask(port, 4, AUTH("bm9ib2R5OnB3"), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);

	/* One address: SERVE_AUTH_BURST checks, then 429 at once. */
	for (i = 0; i < SERVE_AUTH_BURST; i++) {
		ask(port, 5, AUTH("cHJvbTp3cm9uZw=="), buf, sizeof(buf));
		assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
	}
	ask(port, 5, AUTH("cHJvbTp3cm9uZw=="), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 429 ", 13), 0);
	assert_non_null(strstr(buf, "Retry-After: "));
	/* A password that passed is not held up by the allowance. */
	ask(port, 5, AUTH("cHJvbTpwdw=="), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);

	/* A new hash forgets the password remembered for the old one. */
	u[0].hash = h2;
	assert_int_equal(metrics_server_set_users(s, u, 2), 0);
	ask(port, 6, AUTH("cHJvbTpwdw=="), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
	/* ops is unchanged: still remembered, even at the spent address. */
	ask(port, 5, AUTH("b3BzOm90aGVy"), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	metrics_server_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_beyond_loopback),
		cmocka_unit_test(test_per_client),
		cmocka_unit_test(test_head_deadline),
		cmocka_unit_test(test_auth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
