// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_collect.c - what one collection of the agent costs with N peers in
 * the kernel maps.
 *
 * For each N: the meter's maps, loaded but neither attached nor pinned,
 * filled with N synthetic peers (half clients, half backends, half IPv4,
 * half IPv6, spread over the ranges, services and backends of the
 * configuration so that classification does real work), a ledger in a
 * temporary directory, and the metrics state. Then one collection as the
 * agent's loop (user/run.c) does it, stage by stage:
 *   read     snapshot_read()
 *   usage    usage_update(): every counter set as a classified row
 *   ledger   book_commit()
 *   metrics  metrics_collected()
 *   rate     metrics_rate() (the cost gauges, from the ledger)
 *   render   metrics_render()
 *   summary  the rows' totals and billable bytes, as the terminal
 *            summary adds them up
 * once to start (every peer new to the ledger and the metrics), then over
 * ROUNDS rounds, every peer's counters raised before each, so that each
 * round books N peers' deltas as a busy interval does. Median and 90th
 * percentile of each stage and of the whole, in ms. Left out, as small
 * or not the collection's: the TLS library scan, the programs' run-time
 * statistics (three syscalls) and handing the page to the HTTP server.
 * Nothing is ever attached to a cgroup. Needs root (BPF maps).
 *
 * Before timing, the maps are filled twice, one update per element and
 * then in one batch, and both times are printed: what a syscall per
 * element costs against one per map. Then the maps' memory as the kernel
 * charges it (memlock in /proc/self/fdinfo): the maps sized by
 * --max-peers (peer index, per-CPU counters, slots, the two queues of
 * free slots), per map and per slot, and every map of the meter.
 *
 *   bench_collect [-r ROUNDS] [-c CONFIG] [N...]
 *
 * ROUNDS 20, CONFIG tests/data/jdcloud.yaml, N 10000, 100000 and
 * 1000000. The ledger goes in a
 * new directory under $TMPDIR (default /tmp), removed at the end.
 *
 * The calls into the agent are in the few functions under "the agent's
 * side" below, so the benchmark can follow the code when it changes.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classify/config.h"
#include "collect/snapshot.h"
#include "collect/usage.h"
#include "export/metrics.h"
#include "ledger/book.h"
#include "lib/tgerr.h"
#include "lib/util.h"
#include "load/loader.h"
#include "rate/plan.h"
#include "memlock.h"

#define DEFAULT_ROUNDS	20
#define DEFAULT_CONFIG	"tests/data/jdcloud.yaml"
#define INTERVAL	10	/* seconds between two collections' due */

enum { S_READ, S_USAGE, S_LEDGER, S_METRICS, S_RATE, S_RENDER, S_SUMMARY,
       NR_S };

static const char *const stage_names[NR_S] = {
	"read", "usage", "ledger", "metrics", "rate", "render", "summary",
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- the agent's side: everything the benchmark calls of it ------------ */

struct agent {
	struct meter *m;
	struct view v;
	bool have_view;
	struct tg_config *cfg;
	struct usage *usage;
	struct book *book;
	struct metrics *mx;
	struct plan plan;
	bool have_plan;
	struct snapshot s;
};

/*
 * The meter's maps for @n peers, nothing attached or pinned; the
 * configuration @config; a ledger in @dir in the plan's time zone, as
 * the agent opens a new one; the metrics state with the configuration's
 * cap and its plan.
 */
static int agent_open(struct agent *a, __u32 n, const char *config,
		      const char *dir)
{
	const struct tg_metrics_conf *mc;
	char path[PATH_MAX], msg[256];
	struct tg_err e = {};
	int err;

	err = meter_load(&a->m, &(struct meter_opts){ .max_peers = n,
						       .no_calls = true });
	if (err)
		return err;
	err = view_from_meter(&a->v, a->m);
	if (err)
		return err;
	a->have_view = true;
	err = config_load(config, &a->cfg, &e);
	if (err) {
		fprintf(stderr, "bench_collect: %s\n",
			tg_err_str(&e, msg, sizeof(msg)));
		return err;
	}
	mc = &a->cfg->metrics;
	a->have_plan = !plan_load(&a->plan, mc->plan ? mc->plan : "jdcloud") &&
		       (!mc->plan_region ||
			!plan_select_region(&a->plan, mc->plan_region));
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	a->usage = usage_new();
	if (!a->usage)
		return -ENOMEM;
	err = book_open(&a->book, &(struct book_opts){
			.ledger = path,
			.host = "bench",
			.time_zone = a->have_plan ? a->plan.time_zone : NULL });
	if (err)
		return err;
	a->mx = metrics_new(mc->max_series);
	if (!a->mx)
		return -ENOMEM;
	return 0;
}

static void agent_close(struct agent *a)
{
	snapshot_free(&a->s);
	metrics_free(a->mx);
	book_close(a->book);
	usage_free(a->usage);
	config_free(a->cfg);
	if (a->have_view)
		view_close(&a->v);
	meter_free(a->m);
	memset(a, 0, sizeof(*a));
}

/* The maps the benchmark fills: the peer index, the per-CPU counters, the
 * slot table and the meta entry. */
static void agent_map_fds(const struct agent *a, int *idx, int *cnt,
			  int *slot, int *meta, int *ncpus)
{
	*slot = a->v.slot;
	*idx = a->v.peer_idx;
	*cnt = a->v.peer_cnt;
	*meta = a->v.meta;
	*ncpus = a->v.ncpus;
}

/*
 * One collection of the agent's loop, @t[stage] the seconds each stage
 * took. @due: the end of the interval. Returns 0 or -errno.
 */
static int agent_collect(struct agent *a, time_t due, double t[NR_S],
			 size_t *peers)
{
	const struct usage_list *l;
	struct tg_counters total;
	__u64 billable = 0;
	double t0 = now(), t1;
	char *page;
	size_t len, i;
	int err;

	snapshot_free(&a->s);
	err = snapshot_read(&a->v, &a->s, false);
	if (err)
		return err;
	*peers = a->s.nr_peers;
	t1 = now();
	t[S_READ] = t1 - t0;

	t0 = t1;
	err = usage_update(a->usage, a->cfg, 0, &a->s, &l);
	if (err)
		return err;
	t1 = now();
	t[S_USAGE] = t1 - t0;

	t0 = t1;
	err = book_commit(a->book, l, &a->s, due);
	if (err)
		return err;
	t1 = now();
	t[S_LEDGER] = t1 - t0;

	t0 = t1;
	err = metrics_collected(a->mx, l, &a->s, 0);
	if (err)
		return err;
	t1 = now();
	t[S_METRICS] = t1 - t0;

	t0 = t1;
	if (a->have_plan)
		metrics_rate(a->mx, book_ledger(a->book), &a->plan, due);
	t1 = now();
	t[S_RATE] = t1 - t0;

	t0 = t1;
	err = metrics_render(a->mx, &page, &len);
	if (err)
		return err;
	free(page);
	t1 = now();
	t[S_RENDER] = t1 - t0;

	t0 = t1;
	usage_totals(l, &total);
	for (i = 0; i < l->nr; i++)
		if (l->rows[i].cls.c.billable)
			billable += l->rows[i].total.bytes_out;
	if (billable > total.bytes_out)
		return -EINVAL;
	t[S_SUMMARY] = now() - t0;
	return 0;
}

/* --- synthetic peers ---------------------------------------------------- */

/*
 * A pool of peers: addresses from @prefix on, @host_bits of them varying.
 * With 32 (IPv4) or 64 (IPv6) host bits the addresses are scattered over
 * that space by a bijection; with fewer, the peers past the pool's
 * addresses take the next ports. Either way no two peers of a pool share
 * a key.
 */
struct pool {
	const char *prefix;
	__u8 host_bits;
	__u16 port;
	__u8 proto;
};

/* Clients: the services of tests/data/jdcloud.yaml and a port it has not. */
static const struct pool clients4[] = {
	{ "0.0.0.0", 32, 443, IPPROTO_TCP },
	{ "0.0.0.0", 32, 8443, IPPROTO_UDP },
	{ "0.0.0.0", 32, 8443, IPPROTO_TCP },
	{ "0.0.0.0", 32, 80, IPPROTO_TCP },
};
static const struct pool clients6[] = {
	{ "2408:8000::", 64, 443, IPPROTO_TCP },
	{ "2402:db40:5100::", 64, 8443, IPPROTO_TCP },
	{ "fd00::", 64, 443, IPPROTO_TCP },
	{ "2001:db8::", 64, 80, IPPROTO_TCP },
};
/* Backends: named ones, our cloud here and elsewhere, intranet of another
 * region, anywhere. */
static const struct pool backends4[] = {
	{ "10.1.2.0", 8, 8080, IPPROTO_TCP },
	{ "114.67.10.0", 8, 443, IPPROTO_TCP },
	{ "116.196.0.0", 16, 80, IPPROTO_TCP },
	{ "10.220.0.0", 16, 8080, IPPROTO_TCP },
	{ "0.0.0.0", 32, 443, IPPROTO_TCP },
};
static const struct pool backends6[] = {
	{ "2402:db40:5100::", 64, 443, IPPROTO_TCP },
	{ "fd00:1::", 64, 8080, IPPROTO_TCP },
	{ "2600:1f18::", 64, 443, IPPROTO_TCP },
};

#define NR(a) (sizeof(a) / sizeof((a)[0]))

static __u32 mix32(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The @j-th key of pool @p; -ERANGE when the pool has run out of ports. */
static int pool_key(const struct pool *p, __u8 role, __u32 j,
		    struct tg_peer_key *k)
{
	bool v4 = !strchr(p->prefix, ':');
	__u64 host, port = p->port;
	int i;

	memset(k, 0, sizeof(*k));
	if (v4) {
		k->addr[10] = k->addr[11] = 0xff;
		inet_pton(AF_INET, p->prefix, k->addr + 12);
	} else {
		inet_pton(AF_INET6, p->prefix, k->addr);
	}
	if (p->host_bits >= 32 && v4) {
		host = mix32(j + 1);
	} else if (p->host_bits >= 64) {
		host = mix64(j + 1);
	} else {
		host = j & ((1u << p->host_bits) - 1);
		port += j >> p->host_bits;
	}
	if (port > 65535)
		return -ERANGE;
	for (i = 15; host; i--, host >>= 8)
		k->addr[i] |= host & 0xff;
	k->port = port;
	k->proto = p->proto;
	k->role = role;
	return 0;
}

/* Peer @i: clients and backends, IPv4 and IPv6 in turn. */
static int peer_key(__u32 i, struct tg_peer_key *k)
{
	static const struct { const struct pool *p; size_t nr; __u8 role; }
	kinds[4] = {
		{ clients4, NR(clients4), TG_ROLE_CLIENT },
		{ backends4, NR(backends4), TG_ROLE_BACKEND },
		{ clients6, NR(clients6), TG_ROLE_CLIENT },
		{ backends6, NR(backends6), TG_ROLE_BACKEND },
	};
	__u32 n = i / 4;
	int kind = i % 4;

	return pool_key(&kinds[kind].p[n % kinds[kind].nr], kinds[kind].role,
			n / kinds[kind].nr, k);
}

/* Peer @i's counters on CPU @cpu after @round bumps: every one grows. */
static void peer_counters(__u32 i, int cpu, __u32 round, bool client,
			  struct tg_counters *c)
{
	__u64 f = (__u64)(round + 1) * (cpu + 1) * (1 + i % 1009);

	c->bytes_in = f * 1400;
	c->packets_in = f;
	c->bytes_out = f * 9000;
	c->packets_out = f * 7;
	c->calls = client ? f : 0;
}

/* Keys @n of them into the peer index, slot i for peer i, one update per
 * key or in one batch. */
static int fill_index(int fd, __u32 n, bool batch)
{
	struct tg_peer_key *keys = calloc(n, sizeof(*keys));
	__u32 *slots = calloc(n, sizeof(*slots)), i, count = n;
	int err = 0;

	if (!keys || !slots) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i++) {
		err = peer_key(i, &keys[i]);
		slots[i] = i;
	}
	if (err)
		goto out;
	if (batch) {
		if (bpf_map_update_batch(fd, keys, slots, &count, NULL))
			err = -errno;
		goto out;
	}
	for (i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &keys[i], &slots[i], BPF_ANY))
			err = -errno;
out:
	free(keys);
	free(slots);
	return err;
}

/* Every peer's per-CPU counters as of @round, one update per slot or in
 * one batch. They go in bank 0: one day's bank, as an interval within a
 * day fills. */
static int fill_counters(int fd, __u32 n, int ncpus, __u32 round, bool batch)
{
	struct tg_banked *v = calloc((size_t)n * ncpus, sizeof(*v));
	__u32 *keys = calloc(n, sizeof(*keys)), i, count = n;
	int err = 0, cpu;

	if (!v || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		keys[i] = i;
		for (cpu = 0; cpu < ncpus; cpu++)
			peer_counters(i, cpu, round, i % 2 == 0,
				      &v[(size_t)i * ncpus + cpu].b[0]);
	}
	if (batch) {
		if (bpf_map_update_batch(fd, keys, v, &count, NULL))
			err = -errno;
		goto out;
	}
	for (i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &i, &v[(size_t)i * ncpus], BPF_ANY))
			err = -errno;
out:
	free(v);
	free(keys);
	return err;
}

/* The maps --max-peers sizes, then every other map of the meter. */
static const char *const peer_maps[] = {
	TG_MAP_PEER_IDX, TG_MAP_PEER_CNT, TG_MAP_SLOT, TG_MAP_FREE,
	TG_MAP_FREE_BE,
};
static const char *const other_maps[] = {
	TG_MAP_SOCK, TG_MAP_OVERFLOW, TG_MAP_OVF_ROLE, TG_MAP_CLOCK,
	TG_MAP_STATS, TG_MAP_META, TG_MAP_CGROUP, TG_MAP_TASK, TG_MAP_SSL,
	TG_MAP_TLS_TASK, TG_MAP_TLS_PEND, TG_MAP_HEARD,
};

/* One line: the memory of the maps sized by @n slots, per map and per
 * slot, and of all the meter's maps (those this build loads). */
static void report_memory(const struct agent *a, __u32 n)
{
	__u64 mem[NR(peer_maps)], peers = 0, all;
	size_t i;
	int fd;

	for (i = 0; i < NR(peer_maps); i++) {
		fd = meter_map_fd(a->m, peer_maps[i]);
		mem[i] = fd < 0 ? 0 : map_memlock(fd);
		peers += mem[i];
	}
	all = peers;
	for (i = 0; i < NR(other_maps); i++) {
		fd = meter_map_fd(a->m, other_maps[i]);
		all += fd < 0 ? 0 : map_memlock(fd);
	}
	printf("%7u  map memory (memlock): %.1f MiB for %u slots, %.0f bytes "
	       "per slot (", n, peers / 1048576.0, n, (double)peers / n);
	for (i = 0; i < NR(peer_maps); i++)
		printf("%s%s %.2f", i ? ", " : "", peer_maps[i],
		       mem[i] / 1048576.0);
	printf(" MiB); every map of the meter %.1f MiB\n", all / 1048576.0);
}

/* Slot i held by peer i since @since_ns, as the kernel hands slots out:
 * the slot table is what a collection lists the peers by. */
static int fill_slots(int fd, __u32 n, __u64 since_ns)
{
	struct tg_slot *v = calloc(n, sizeof(*v));
	__u32 *keys = calloc(n, sizeof(*keys)), i, count = n;
	int err = 0;

	if (!v || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i++) {
		keys[i] = i;
		err = peer_key(i, &v[i].key);
		v[i].gen = 1;
		v[i].state = TG_SLOT_USED;
		v[i].since_ns = since_ns;
	}
	if (!err && bpf_map_update_batch(fd, keys, v, &count, NULL))
		err = -errno;
out:
	free(v);
	free(keys);
	return err;
}

/* Hand out the slots the index uses, as the kernel meter would have. */
static int fill_meta(int fd, __u32 n)
{
	struct tg_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &meta))
		return -errno;
	/* Every slot handed out, in the clients' range and in the
	 * backends' (the last backend_peers): a collection reads both. */
	meta.next_slot = n - meta.backend_peers;
	meta.next_backend = meta.backend_peers;
	if (bpf_map_update_elem(fd, &zero, &meta, BPF_ANY))
		return -errno;
	return 0;
}

/* --- the benchmark ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q-quantile of @n values by nearest rank; sorts @v. */
static double quantile(double *v, int n, double q)
{
	int r = (int)(q * n + 0.999999);

	qsort(v, n, sizeof(*v), cmp_double);
	return v[r < 1 ? 0 : r > n ? n - 1 : r - 1];
}

/* Remove the ledger's directory and the files SQLite left in it. */
static void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path))
			fprintf(stderr, "bench_collect: cannot remove '%s': "
				"%s\n", path, strerror(errno));
	}
	if (d)
		closedir(d);
	if (rmdir(dir))
		fprintf(stderr, "bench_collect: cannot remove '%s': %s\n", dir,
			strerror(errno));
}

static void report(__u32 n, const char *what, double *v, int rounds,
		   double first)
{
	printf("%7u  %-8s %9.2f %9.2f %9.2f\n", n, what,
	       quantile(v, rounds, 0.5) * 1e3, quantile(v, rounds, 0.9) * 1e3,
	       first * 1e3);
}

static int bench(__u32 n, int rounds, const char *config, const char *tmp)
{
	double (*t)[NR_S] = calloc(rounds, sizeof(*t));
	double *col = calloc(rounds, sizeof(*col)), first[NR_S], f0;
	struct agent a = {};
	char dir[PATH_MAX / 2];
	int idx, cnt, slot, meta, ncpus, err = 0, r, k;
	double tf[4];
	time_t due = time(NULL);
	size_t peers = 0;

	if (!t || !col)
		err = -ENOMEM;
	else if ((size_t)snprintf(dir, sizeof(dir), "%s/bench_collect.XXXXXX",
				  tmp) >= sizeof(dir))
		err = -ENAMETOOLONG;
	else if (!mkdtemp(dir))
		err = -errno;
	if (err) {
		fprintf(stderr, "bench_collect: cannot make a directory in "
			"'%s': %s\n", tmp, strerror(-err));
		free(t);
		free(col);
		return err;
	}
	err = agent_open(&a, n, config, dir);
	if (err)
		goto out;
	agent_map_fds(&a, &idx, &cnt, &slot, &meta, &ncpus);

	/* The index and the counters twice: one update per element, then
	 * one batch (the same values again), for what each costs. */
	f0 = now();
	err = fill_index(idx, n, false);
	tf[0] = now() - f0;
	f0 = now();
	if (!err)
		err = fill_index(idx, n, true);
	tf[1] = now() - f0;
	f0 = now();
	if (!err)
		err = fill_counters(cnt, n, ncpus, 0, false);
	tf[2] = now() - f0;
	f0 = now();
	if (!err)
		err = fill_counters(cnt, n, ncpus, 0, true);
	tf[3] = now() - f0;
	if (!err)
		err = fill_slots(slot, n, (__u64)(now() * 1e9));
	if (!err)
		err = fill_meta(meta, n);
	if (err) {
		fprintf(stderr, "bench_collect: cannot fill the maps: %s\n",
			strerror(-err));
		goto out;
	}
	printf("%7u  filling the maps: index %.1f ms per element, %.1f ms "
	       "batched; counters (%d CPUs) %.1f ms per element, %.1f ms "
	       "batched\n", n, tf[0] * 1e3, tf[1] * 1e3, ncpus, tf[2] * 1e3,
	       tf[3] * 1e3);
	report_memory(&a, n);

	/* The first collection: every peer new to the ledger and the
	 * metrics, the whole counters booked. */
	err = agent_collect(&a, due, first, &peers);
	if (!err && peers != n) {
		fprintf(stderr, "bench_collect: read %zu peers of %u\n", peers,
			n);
		err = -EIO;
	}
	for (r = 0; !err && r < rounds && !stop; r++) {
		err = fill_counters(cnt, n, ncpus, r + 1, true);
		due += INTERVAL;
		if (!err)
			err = agent_collect(&a, due, t[r], &peers);
		if (!err && peers != n)
			err = -EIO;
	}
	if (err) {
		fprintf(stderr, "bench_collect: collection %d failed: %s\n",
			r, strerror(-err));
		goto out;
	}
	if (stop) {
		fprintf(stderr, "bench_collect: interrupted\n");
		err = -EINTR;
		goto out;
	}
	for (k = 0; k < NR_S; k++) {
		for (r = 0; r < rounds; r++)
			col[r] = t[r][k];
		report(n, stage_names[k], col, rounds, first[k]);
	}
	for (r = 0; r < rounds; r++)
		for (col[r] = 0, k = 0; k < NR_S; k++)
			col[r] += t[r][k];
	for (f0 = 0, k = 0; k < NR_S; k++)
		f0 += first[k];
	report(n, "total", col, rounds, f0);
	fflush(stdout);
out:
	agent_close(&a);
	remove_dir(dir);
	free(t);
	free(col);
	return err;
}

static const char usage[] =
	"Usage: bench_collect [-r ROUNDS] [-c CONFIG] [N...]\n"
	"\n"
	"Time one collection of the agent (read, ledger, metrics, rate,\n"
	"render, summary) with N peers in unattached BPF maps: median and 90th\n"
	"percentile over ROUNDS rounds (default 20), and the kernel's memory\n"
	"for the maps; N 10000, 100000 and 1000000 by default, the\n"
	"configuration CONFIG (default " DEFAULT_CONFIG "). As root.\n";

int main(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG, *tmp = getenv("TMPDIR");
	struct sigaction sa = { .sa_handler = on_signal };
	__u32 ns[64], rounds = DEFAULT_ROUNDS;
	struct statfs sfs;
	int c, i, nr = 0, err = 0;

	while ((c = getopt(argc, argv, "r:c:h")) != -1) {
		switch (c) {
		case 'r':
			if (parse_u32(optarg, 1, 100000, &rounds)) {
				fprintf(stderr, "bench_collect: -r: '%s' is "
					"not a number from 1 to 100000\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	for (i = optind; i < argc; i++) {
		if (nr == (int)NR(ns) ||
		    parse_u32(argv[i], 4, TG_MAX_PEERS_LIMIT, &ns[nr++])) {
			fprintf(stderr, "bench_collect: '%s' is not a number "
				"of peers from 4 to %u, or one too many\n",
				argv[i], TG_MAX_PEERS_LIMIT);
			return 2;
		}
	}
	if (!nr) {
		ns[nr++] = 10000;
		ns[nr++] = 100000;
		ns[nr++] = 1000000;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_collect: needs root (BPF maps)\n");
		return 1;
	}
	if (!tmp || !*tmp)
		tmp = "/tmp";
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("bench_collect: %u rounds, configuration %s, ledger under %s "
	       "(%s); ms\n", rounds, config, tmp,
	       !statfs(tmp, &sfs) && sfs.f_type == TMPFS_MAGIC ?
		       "tmpfs" : "not tmpfs: its fsyncs reach a disk");
	printf("default --max-peers on this host: %u (the 64 MiB budget on "
	       "%d possible CPUs)\n", meter_default_peers(),
	       libbpf_num_possible_cpus());
	printf("%7s  %-8s %9s %9s %9s\n", "peers", "stage", "median", "p90",
	       "first");
	for (i = 0; !err && !stop && i < nr; i++)
		err = bench(ns[i], rounds, config, tmp);
	return err ? 1 : 0;
}
