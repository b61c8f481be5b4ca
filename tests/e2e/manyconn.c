// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * manyconn.c - a client of the end-to-end tests that comes from many
 * addresses: N HTTP/1.1 requests, each on a connection of its own from
 * its own source address, C at a time, to one server. The addresses are
 * the first N usable ones from an IPv4 base (those ending in .0 and .255
 * are skipped), which the client's network namespace must accept as its
 * own (a local route of the whole prefix). Each connection sends one
 * request with Connection: close and reads the answer to the end.
 *
 * With -k the request keeps the connection alive, and the client closes it
 * as soon as the whole answer (its Content-Length) is read: the server
 * never closes first, so none of its sockets goes into TIME-WAIT, where
 * a late segment from the client (an acknowledgement a client that was
 * held up sends after its own FIN) reaches no full socket. An answer the
 * server ends early, or without a Content-Length, fails.
 *
 *   manyconn [-k] BASE N C ADDR:PORT PATH [HOST]
 *
 * Prints "ok N failed F bytes B" and exits 0 when every request was
 * answered, 1 when some failed, 2 on a bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	size_t sent;		/* bytes of the request sent */
	uint32_t src;		/* host order */
	size_t got;		/* -k: bytes of the answer read */
	size_t want;		/* -k: its length, once the head is read;
				 * 0: not yet */
	size_t head_len;	/* -k: bytes of head[] filled */
	char head[1024];	/* -k: the answer's first bytes */
};

static char req[512];
static size_t req_len;
static struct sockaddr_in dst;
static unsigned long ok, failed, bytes;
static bool keep;		/* -k */

/* The @i-th usable address from @base (host order). */
static uint32_t nth_addr(uint32_t base, unsigned long i)
{
	uint32_t a = base;

	/* 254 usable addresses in each /24. */
	a += (uint32_t)(i / 254) * 256 + (uint32_t)(i % 254) + 1;
	return a;
}

static int start(int ep, struct conn *c)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	src.sin_addr.s_addr = htonl(c->src);
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) ||
	    (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		int err = -errno;

		close(c->fd);
		c->fd = -1;
		return err;
	}
	c->sent = 0;
	c->got = c->want = c->head_len = 0;
	return 0;
}

static void finish(int ep, struct conn *c, bool good)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (good)
		ok++;
	else
		failed++;
}

/* -k: @n more bytes of @c's answer read, the first of them @buf. True
 * once the whole answer is: its head, and Content-Length bytes after. */
static bool answered(struct conn *c, const char *buf, size_t n)
{
	size_t room = sizeof(c->head) - 1 - c->head_len;
	char *end, *cl;

	c->got += n;
	if (!c->want) {
		memcpy(c->head + c->head_len, buf, n < room ? n : room);
		c->head_len += n < room ? n : room;
		c->head[c->head_len] = '\0';
		end = strstr(c->head, "\r\n\r\n");
		if (!end)
			return false;
		cl = strcasestr(c->head, "\r\nContent-Length:");
		if (!cl || cl > end)
			return false;	/* EOF fails it */
		c->want = (size_t)(end + 4 - c->head) +
			  strtoul(cl + 17, NULL, 10);
	}
	return c->got >= c->want;
}

/* Something happened on @c: write the rest of the request, or read. */
static void step(int ep, struct conn *c)
{
	char buf[16384];
	ssize_t n;

	if (c->sent < req_len) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err) {
			finish(ep, c, false);
			return;
		}
		n = send(c->fd, req + c->sent, req_len - c->sent,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN)
				finish(ep, c, false);
			return;
		}
		c->sent += n;
		if (c->sent == req_len) {
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.ptr = c };

			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
		return;
	}
	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			bytes += n;
			if (keep && answered(c, buf, n)) {
				finish(ep, c, c->got == c->want);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		/* -k: the server closed before the answer was whole. */
		finish(ep, c, n == 0 && !keep);
		return;
	}
}

int main(int argc, char **argv)
{
	unsigned long n, conc, next = 0, live = 0, i;
	struct epoll_event evs[256];
	struct in_addr base;
	struct conn *cs;
	char *colon;
	int ep;

	if (argc > 1 && !strcmp(argv[1], "-k")) {
		keep = true;
		argc--;
		argv++;
	}
	if (argc < 6 || argc > 7 || inet_pton(AF_INET, argv[1], &base) != 1 ||
	    !(n = strtoul(argv[2], NULL, 10)) ||
	    !(conc = strtoul(argv[3], NULL, 10)) ||
	    !(colon = strrchr(argv[4], ':'))) {
		fprintf(stderr, "usage: manyconn [-k] BASE N C ADDR:PORT "
				"PATH [HOST]\n");
		return 2;
	}
	*colon = '\0';
	dst.sin_family = AF_INET;
	dst.sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, argv[4], &dst.sin_addr) != 1) {
		fprintf(stderr, "manyconn: '%s' is not an IPv4 address\n",
			argv[4]);
		return 2;
	}
	req_len = snprintf(req, sizeof(req),
			   "GET %s HTTP/1.1\r\nHost: %s\r\n"
			   "Connection: %s\r\n\r\n",
			   argv[5], argc > 6 ? argv[6] : argv[4],
			   keep ? "keep-alive" : "close");
	cs = calloc(conc, sizeof(*cs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0) {
		perror("manyconn");
		return 2;
	}
	for (i = 0; i < conc; i++)
		cs[i].fd = -1;
	while (next < n || live) {
		int k, got;

		/* Keep C connections going. */
		for (i = 0; i < conc && next < n; i++) {
			if (cs[i].fd >= 0)
				continue;
			cs[i].src = nth_addr(ntohl(base.s_addr), next++);
			if (start(ep, &cs[i]))
				failed++;
		}
		for (i = 0, live = 0; i < conc; i++)
			live += cs[i].fd >= 0;
		if (!live)
			continue;
		got = epoll_wait(ep, evs, 256, 10000);
		if (got <= 0) {
			fprintf(stderr, "manyconn: no answer for 10 s\n");
			failed += live;
			break;
		}
		for (k = 0; k < got; k++)
			step(ep, evs[k].data.ptr);
	}
	printf("ok %lu failed %lu bytes %lu\n", ok, failed, bytes);
	return failed ? 1 : 0;
}
