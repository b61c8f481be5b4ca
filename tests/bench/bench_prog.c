// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_prog.c - what the meter's programs cost per packet, and the helpers
 * tests/bench/run.sh needs to measure them under load.
 *
 *   bench_prog testrun [REPEAT [ROUNDS]]   (default 1000000 and 9)
 *   bench_prog attach empty|socket|storage CGROUP
 *   bench_prog stats
 *   bench_prog floor write|write-ret|recv [LIBRARY PID...]
 *   bench_prog dispatch [PAIRS]              (default 500)
 *
 * testrun runs three programs of each cgroup_skb type through
 * BPF_PROG_TEST_RUN, REPEAT times per call, on representative packets, in
 * turn for ROUNDS rounds: the empty program of bpf/bench.bpf.c (the floor),
 * the meter as the agent loads it, and the meter built to take its fast
 * path in test runs (bpf/benchfast.bpf.c). It prints one tab-separated line
 * per program type and packet, "program packet floor_ns meter_ns fast_ns
 * wire_packets", the times each the median over the rounds of the kernel's
 * own average time per run, wire_packets the packets the meter counts for
 * one run (a GSO super-packet's segments);
 * then a line "path meter|fast ..." for each meter with its statistics,
 * which tell which of its paths the runs took.
 *
 * attach attaches per-packet and sock_ops programs to CGROUP (a cgroup v2
 * directory): the empty ones (the floor), or the meter stopped once the
 * packet's socket is known (socket) or once its storage is found (storage;
 * bpf/benchsocket.bpf.c, bpf/benchstorage.bpf.c). It prints "ids INGRESS
 * EGRESS SOCKOPS" (program ids) and holds them there until SIGINT or
 * SIGTERM; they go with the process. stats turns on the kernel's
 * run-time statistics (BPF_ENABLE_STATS, the switch behind
 * kernel.bpf_stats_enabled), prints "enabled" and keeps them on until
 * SIGINT or SIGTERM; the kernel turns them off again when the process ends,
 * however it ends. floor attaches the empty programs of bpf/benchtls.bpf.c
 * where the calls are counted: on SSL_write in LIBRARY (entry alone, or
 * entry and return; site-ret: entry and return where the agent hooks the
 * writes, load/tlssite.h) for each process PID, as the agent hooks them,
 * or on the receive tracepoint; it prints "ids ID..." and holds them
 * until SIGINT or SIGTERM.
 *
 * dispatch measures what the receive tracepoint costs a receive once a
 * program is attached to it: nonblocking receives on an empty UDP socket
 * (each one fires the tracepoint), DISPATCH_RECVS at a time, timed by the
 * thread's CPU clock, without and with the empty program of
 * bpf/benchtls.bpf.c, PAIRS times, the order swapped from pair to pair. It
 * prints "ns_per_receive without with difference", the medians over the
 * pairs; the difference is the median of the pairs' own differences, which
 * a host whose speed drifts between pairs does not move.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/snapshot.h"
#include "export/dump.h"
#include "lib/log.h"
#include "lib/util.h"
#include "load/loader.h"
#include "load/privs.h"
#include "load/tls.h"
#include "load/tlssite.h"
#include "pkt.h"
#include "bench.skel.h"
#include "benchfast.skel.h"
#include "benchsocket.skel.h"
#include "benchstorage.skel.h"
#include "benchtls.skel.h"

#define TCP_HDR 32		/* 20 bytes and the timestamp option */
#define MSS 1448		/* 1500-byte MTU, timestamps on */
#define MAX_ROUNDS 101
/* The packets go from the gateway to a client of the e2e topology. */
#define GW "10.201.1.2"
#define CL "10.201.1.1"
#define GW6 "fd00:201:1::2"
#define CL6 "fd00:201:1::1"

/* The packets a gateway mostly handles: small TCP segments (requests,
 * ACKs), TCP super-packets of bulk responses (two full segments: the
 * meter's work does not grow with the segment count), IPv6, UDP. */
static int make_packets(struct pkt *pk)
{
	pk[0].name = "ipv4-tcp-100";
	ipv4(&pk[0], GW, CL, PROTO_TCP, 8080, 41000, 5, TCP_HDR, 100);
	pk[1].name = "ipv4-tcp-gso";
	ipv4(&pk[1], GW, CL, PROTO_TCP, 8080, 41000, 5, TCP_HDR, 2 * MSS);
	pk[1].gso_segs = 2;
	pk[1].gso_size = MSS;
	pk[2].name = "ipv6-tcp-100";
	ipv6(&pk[2], GW6, CL6, PROTO_TCP, 8080, 41000, 0, TCP_HDR, 100);
	pk[3].name = "ipv4-udp-100";
	ipv4(&pk[3], GW, CL, PROTO_UDP, 8080, 41000, 5, 8, 100);
	return 4;
}

/* Average ns per run over @repeat runs, as the kernel measured it. */
static int run(int prog, const struct pkt *p, __u32 repeat, __u32 *ns)
{
	__u32 retval;
	int err = pkt_test_run(prog, p, repeat, &retval, ns);

	if (err) {
		fprintf(stderr, "bench_prog: test run of %s: %s\n", p->name,
			strerror(-err));
		return err;
	}
	if (retval != 1) {
		fprintf(stderr, "bench_prog: %s returned %u, not 1\n", p->name,
			retval);
		return -EINVAL;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static __u32 median(__u32 *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

/* Which path did the test runs of @v's programs take? */
static void print_path(const char *what, const struct view *v)
{
	struct snapshot s = {};

	if (snapshot_read(v, &s, false))
		return;
	printf("path\t%s\tno_sock=%llu\tgso=%llu\tbad_header=%llu\t"
	       "no_storage=%llu\tpeers=%zu\n", what,
	       (unsigned long long)s.stats[TG_STAT_NO_SOCK],
	       (unsigned long long)s.stats[TG_STAT_GSO],
	       (unsigned long long)s.stats[TG_STAT_BAD_HEADER],
	       (unsigned long long)s.stats[TG_STAT_NO_STORAGE], s.nr_peers);
	snapshot_free(&s);
}

static void view_from_fast(struct view *v, const struct benchfast_bpf *f)
{
	v->peer_idx = bpf_map__fd(f->maps.tg_peer_idx);
	v->peer_cnt = bpf_map__fd(f->maps.tg_peer_cnt);
	v->sock = bpf_map__fd(f->maps.tg_sock);
	v->overflow = bpf_map__fd(f->maps.tg_overflow);
	v->stats = bpf_map__fd(f->maps.tg_stats);
	v->meta = bpf_map__fd(f->maps.tg_meta);
	v->ncpus = libbpf_num_possible_cpus();
}

/* The programs compared on each packet, in output order. */
enum { P_FLOOR, P_METER, P_FAST, NR_P };

static int cmd_testrun(int argc, char **argv)
{
	static struct pkt pk[4];
	static const char *const names[2] = { "ingress", "egress" };
	static __u32 t[NR_P][MAX_ROUNDS];
	__u32 repeat = 1000000, rounds = 9;
	struct benchfast_bpf *fast = NULL;
	struct bench_bpf *floor = NULL;
	struct meter *m = NULL;
	int fds[3], prog[2][NR_P], npk, i, j, k, r, err;
	struct view v;

	if ((argc > 2 && parse_u32(argv[2], 1, 100000000, &repeat)) ||
	    (argc > 3 && parse_u32(argv[3], 1, MAX_ROUNDS, &rounds))) {
		fprintf(stderr, "usage: bench_prog testrun [REPEAT [ROUNDS]]\n");
		return 2;
	}
	npk = make_packets(pk);
	err = meter_load(&m, &(struct meter_opts){ 0 });
	if (err)
		return 1;
	floor = bench_bpf__open_and_load();
	fast = benchfast_bpf__open_and_load();
	if (!floor || !fast) {
		err = -errno;
		fprintf(stderr, "bench_prog: cannot load the benchmark's "
			"programs: %s\n", strerror(-err));
		goto out;
	}
	meter_prog_fds(m, fds);
	prog[0][P_FLOOR] = bpf_program__fd(floor->progs.bench_ingress);
	prog[1][P_FLOOR] = bpf_program__fd(floor->progs.bench_egress);
	prog[0][P_METER] = fds[0];
	prog[1][P_METER] = fds[1];
	prog[0][P_FAST] = bpf_program__fd(fast->progs.tg_ingress);
	prog[1][P_FAST] = bpf_program__fd(fast->progs.tg_egress);

	for (i = 0; i < 2; i++) {
		for (j = 0; j < npk; j++) {
			/* Rotate the order every round, so that drift and
			 * warm-up fall on all of them alike. */
			for (r = 0; r < (int)rounds; r++) {
				for (k = 0; k < NR_P; k++) {
					int p = (k + r) % NR_P;

					err = run(prog[i][p], &pk[j], repeat,
						  &t[p][r]);
					if (err)
						goto out;
				}
			}
			printf("%s\t%s\t%u\t%u\t%u\t%u\n", names[i],
			       pk[j].name, median(t[P_FLOOR], rounds),
			       median(t[P_METER], rounds),
			       median(t[P_FAST], rounds),
			       pk[j].gso_segs > 1 ? pk[j].gso_segs : 1);
			fflush(stdout);
		}
	}

	if (!view_from_meter(&v, m)) {
		print_path("meter", &v);
		view_close(&v);
	}
	view_from_fast(&v, fast);
	print_path("fast", &v);
out:
	benchfast_bpf__destroy(fast);
	bench_bpf__destroy(floor);
	meter_free(m);
	return err ? 1 : 0;
}

/* Block SIGINT and SIGTERM and wait for one of them. */
static void wait_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
}

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static __u32 prog_id(const struct bpf_program *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return 0;
	return info.id;
}

/* Open and load the object of @stage: its per-packet and sock_ops
 * programs; NULL, with errno set, on failure. */
static struct bpf_object *stage_load(const char *stage, void **skel)
{
	if (!strcmp(stage, "empty")) {
		struct bench_bpf *b = bench_bpf__open_and_load();

		*skel = b;
		return b ? b->obj : NULL;
	}
	if (!strcmp(stage, "socket")) {
		struct benchsocket_bpf *b = benchsocket_bpf__open_and_load();

		*skel = b;
		return b ? b->obj : NULL;
	}
	if (!strcmp(stage, "storage")) {
		struct benchstorage_bpf *b = benchstorage_bpf__open_and_load();

		*skel = b;
		return b ? b->obj : NULL;
	}
	errno = EINVAL;
	return NULL;
}

static void stage_free(const char *stage, void *skel)
{
	if (!strcmp(stage, "empty"))
		bench_bpf__destroy(skel);
	else if (!strcmp(stage, "socket"))
		benchsocket_bpf__destroy(skel);
	else if (!strcmp(stage, "storage"))
		benchstorage_bpf__destroy(skel);
}

static int cmd_attach(int argc, char **argv)
{
	static const char *const names[2][3] = {
		{ "bench_ingress", "bench_egress", "bench_sockops" },
		{ "tg_ingress", "tg_egress", "tg_sockops" },
	};
	struct bpf_program *progs[3] = {};
	struct bpf_link *links[3] = {};
	struct bpf_object *obj;
	const char *stage;
	void *skel = NULL;
	int cgfd, err = 0, i;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_prog attach empty|socket|storage "
			"CGROUP\n");
		return 2;
	}
	stage = argv[2];
	block_signals();
	cgfd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		fprintf(stderr, "bench_prog: cannot open cgroup '%s': %s\n",
			argv[3], strerror(errno));
		return 1;
	}
	obj = stage_load(stage, &skel);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "bench_prog: cannot load the programs of stage "
			"'%s': %s\n", stage, strerror(-err));
		goto out;
	}
	for (i = 0; i < 3; i++) {
		progs[i] = bpf_object__find_program_by_name(
			obj, names[strcmp(stage, "empty") != 0][i]);
		links[i] = progs[i] ?
			bpf_program__attach_cgroup(progs[i], cgfd) : NULL;
		if (!links[i]) {
			err = progs[i] ? -errno : -ENOENT;
			fprintf(stderr, "bench_prog: cannot attach program %d of "
				"stage '%s' to cgroup '%s': %s\n", i, stage,
				argv[3], strerror(-err));
			goto out;
		}
	}
	printf("ids %u %u %u\n", prog_id(progs[0]), prog_id(progs[1]),
	       prog_id(progs[2]));
	fflush(stdout);
	wait_signal();
out:
	for (i = 0; i < 3; i++)
		bpf_link__destroy(links[i]);
	stage_free(stage, skel);
	close(cgfd);
	return err ? 1 : 0;
}

static int cmd_floor(int argc, char **argv)
{
	struct bpf_link *links[256] = {};
	struct benchtls_bpf *skel;
	const char *mode = argv[2];
	unsigned long site = 0;
	int n = 0, err = 0, i;
	bool at_site;

	if (argc < 3 || (strcmp(mode, "recv") && argc < 5) ||
	    argc > 4 + 64 ||
	    (strcmp(mode, "recv") && strcmp(mode, "write") &&
	     strcmp(mode, "write-ret") && strcmp(mode, "site-ret"))) {
		fprintf(stderr, "usage: bench_prog floor "
			"write|write-ret|site-ret|recv [LIBRARY PID...]\n");
		return 2;
	}
	/* Where the agent hooks the writes: their common callee, or
	 * SSL_write itself. */
	at_site = !strcmp(mode, "site-ret") && argc > 3 &&
		  !tls_write_site(argv[3], &site);
	block_signals();
	skel = benchtls_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_prog: cannot load the floor programs: "
			"%s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(mode, "recv")) {
		links[n++] = bpf_program__attach(skel->progs.bench_recv);
	} else {
		for (i = 4; i < argc; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "SSL_write");
			LIBBPF_OPTS(bpf_uprobe_opts, r, .func_name = "SSL_write",
				    .retprobe = true);
			int pid = atoi(argv[i]);

			if (at_site)
				o.func_name = r.func_name = NULL;
			if (strcmp(mode, "write"))
				links[n++] = bpf_program__attach_uprobe_opts(
					skel->progs.bench_ssl_write_ret, pid,
					argv[3], site, &r);
			links[n++] = bpf_program__attach_uprobe_opts(
				skel->progs.bench_ssl_write, pid, argv[3], site,
				&o);
		}
	}
	for (i = 0; i < n; i++) {
		if (!links[i]) {
			err = -errno;
			fprintf(stderr, "bench_prog: cannot attach the %s floor: "
				"%s\n", mode, strerror(-err));
			goto out;
		}
	}
	printf("ids %u %u %u\n", prog_id(skel->progs.bench_ssl_write),
	       prog_id(skel->progs.bench_ssl_write_ret),
	       prog_id(skel->progs.bench_recv));
	fflush(stdout);
	wait_signal();
out:
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	benchtls_bpf__destroy(skel);
	return err ? 1 : 0;
}

#define DISPATCH_RECVS	10000
#define DISPATCH_WARM	1000

/* The thread's CPU time over DISPATCH_RECVS receives on @fd, in ns per
 * receive, after DISPATCH_WARM untimed ones. */
static double recv_ns(int fd)
{
	struct timespec a, b;
	char c;
	int i;

	for (i = 0; i < DISPATCH_WARM; i++)
		recv(fd, &c, 1, MSG_DONTWAIT);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (i = 0; i < DISPATCH_RECVS; i++)
		recv(fd, &c, 1, MSG_DONTWAIT);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) /
	       DISPATCH_RECVS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_d(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmd_dispatch(int argc, char **argv)
{
	double *off, *on, *diff;
	struct benchtls_bpf *skel;
	struct bpf_link *link;
	int pairs = argc > 2 ? atoi(argv[2]) : 500;
	int fd, i, k, err = 1;

	if (argc > 3 || pairs < 1 || pairs > 100000) {
		fprintf(stderr, "usage: bench_prog dispatch [PAIRS]\n");
		return 2;
	}
	off = calloc(pairs, sizeof(*off));
	on = calloc(pairs, sizeof(*on));
	diff = calloc(pairs, sizeof(*diff));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	skel = benchtls_bpf__open_and_load();
	if (!off || !on || !diff || fd < 0 || !skel) {
		fprintf(stderr, "bench_prog: cannot set up the dispatch "
			"measurement: %s\n", strerror(errno));
		goto out;
	}
	for (i = 0; i < pairs; i++) {
		for (k = 0; k < 2; k++) {
			if ((k ^ i) & 1) {
				link = bpf_program__attach(skel->progs.bench_recv);
				if (!link) {
					fprintf(stderr, "bench_prog: cannot "
						"attach the receive floor: "
						"%s\n", strerror(errno));
					goto out;
				}
				on[i] = recv_ns(fd);
				bpf_link__destroy(link);
			} else {
				off[i] = recv_ns(fd);
			}
		}
		diff[i] = on[i] - off[i];
	}
	printf("ns_per_receive %.1f %.1f %.1f\n", median_d(off, pairs),
	       median_d(on, pairs), median_d(diff, pairs));
	err = 0;
out:
	benchtls_bpf__destroy(skel);
	if (fd >= 0)
		close(fd);
	free(off);
	free(on);
	free(diff);
	return err;
}

static int cmd_stats(void)
{
	int fd;

	block_signals();
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "bench_prog: cannot enable BPF run-time "
			"statistics: %s\n", strerror(errno));
		return 1;
	}
	printf("enabled\n");
	fflush(stdout);
	wait_signal();
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	log_setup(0);
	if (argc > 1 && !strcmp(argv[1], "testrun"))
		return cmd_testrun(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "attach"))
		return cmd_attach(argc, argv);
	if (argc == 2 && !strcmp(argv[1], "stats"))
		return cmd_stats();
	if (argc > 2 && !strcmp(argv[1], "floor"))
		return cmd_floor(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "dispatch"))
		return cmd_dispatch(argc, argv);
	fprintf(stderr, "usage: bench_prog testrun [REPEAT [ROUNDS]]\n"
		"       bench_prog attach empty|socket|storage CGROUP\n"
		"       bench_prog stats\n"
		"       bench_prog floor write|write-ret|recv [LIBRARY PID...]\n"
		"       bench_prog dispatch [PAIRS]\n");
	return 2;
}
