// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sockcache.c - a helper of the end-to-end tests that leaves a shared
 * socket's peer cache as a torn read of it would find it: the key of one
 * peer with the slot of another.
 *
 *   sockcache MAP NETNS ADDR PORT
 *
 * It opens MAP (the meter's pinned tg_sock), enters the network namespace
 * NETNS (a file such as /run/netns/NAME: `ip netns exec` would hide the
 * BPF filesystem), binds an unconnected UDP socket to ADDR:PORT (IPv4),
 * prints "bound" and receives three datagrams, printing "got N SOURCE"
 * after each. After the first it reads the socket's entry in MAP and
 * keeps the slot cached there. After the second, which must come from
 * another address, the entry caches that sender and its slot; the helper
 * writes the first sender's slot in its place, leaving the rest, and
 * prints "torn SLOT1 SLOT2". The third datagram meets that cache. The
 * meter must count each datagram where its sender's slot is, whatever
 * the cache says. Exits 0, 1 on an error (named on stderr), 2 on a bad
 * command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "meter.h"

static int fail(const char *what)
{
	fprintf(stderr, "sockcache: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Receive one datagram on @fd and say so; its sender in @from. */
static int take(int fd, int n, struct sockaddr_in *from)
{
	socklen_t len = sizeof(*from);
	char buf[2048], a[INET_ADDRSTRLEN];

	if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)from,
		     &len) < 0)
		return fail("recvfrom");
	printf("got %d %s\n", n,
	       inet_ntop(AF_INET, &from->sin_addr, a, sizeof(a)));
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, from;
	struct tg_sock st;
	__u32 first;
	int map, ns, fd;

	if (argc != 5 || inet_pton(AF_INET, argv[3], &sa.sin_addr) != 1 ||
	    atoi(argv[4]) <= 0 || atoi(argv[4]) > 65535) {
		fprintf(stderr, "usage: sockcache MAP NETNS ADDR PORT\n");
		return 2;
	}
	sa.sin_port = htons(atoi(argv[4]));
	map = bpf_obj_get(argv[1]);
	if (map < 0)
		return fail(argv[1]);
	ns = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET))
		return fail(argv[2]);
	close(ns);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("bind");
	printf("bound\n");
	fflush(stdout);

	if (take(fd, 1, &from))
		return 1;
	if (bpf_map_lookup_elem(map, &fd, &st))
		return fail("the socket's entry after the first datagram");
	first = st.peer_slot;
	if (take(fd, 2, &from))
		return 1;
	if (bpf_map_lookup_elem(map, &fd, &st))
		return fail("the socket's entry after the second datagram");
	if (!first || first == TG_SLOT_OVERFLOW || !st.peer_slot ||
	    st.peer_slot == first) {
		fprintf(stderr, "sockcache: the senders' slots are %u and %u: "
			"two slots of their own were expected\n", first,
			st.peer_slot);
		return 1;
	}
	printf("torn %u %u\n", first, st.peer_slot);
	st.peer_slot = first;
	if (bpf_map_update_elem(map, &fd, &st, BPF_EXIST))
		return fail("writing the socket's entry");
	fflush(stdout);
	if (take(fd, 3, &from))
		return 1;
	close(fd);
	return 0;
}
