// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * run.c - `tollgate run`: load, attach and pin the meter, then keep it
 * company until SIGINT or SIGTERM.
 *
 * The kernel does the counting; the agent's loop reads the counters every
 * interval and, on a terminal, prints a short summary. Leaving the loop
 * leaves the programs attached through their pinned links, unless
 * --detach-on-exit asks otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>

#include "tollgate.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

static const char run_usage[] =
	"Usage: tollgate run [OPTIONS]\n"
	"\n"
	"Load the meter, attach it to a cgroup v2 directory, pin maps and\n"
	"links, and run until SIGINT or SIGTERM. The kernel keeps counting\n"
	"after the agent exits; 'tollgate detach' stops it.\n"
	"\n"
	"Options:\n"
	"  -c, --cgroup PATH     cgroup v2 directory to meter (default: the\n"
	"                        cgroup v2 root, from /proc/mounts)\n"
	"  -p, --pin-dir DIR     pin directory (default " TG_DEFAULT_PIN_DIR ")\n"
	"      --max-peers N     peer slots, 1..16777216 (default: the pinned\n"
	"                        maps' size, or 16384)\n"
	"  -i, --interval SECS   collection interval, 1..3600 (default 10)\n"
	"      --summary         print a summary every interval (default on a\n"
	"                        terminal)\n"
	"      --no-summary      never print a summary\n"
	"      --detach-on-exit  detach and unpin everything on exit\n"
	"  -u, --user USER       after attaching, become USER (a name, UID or\n"
	"                        UID:GID) and keep no capability the kernel\n"
	"                        does not need for reading the maps\n"
	"  -v, --verbose         more messages; repeat for more\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate run\n"
	"  tollgate run --cgroup /sys/fs/cgroup/system.slice/nginx.service\n"
	"  tollgate run --user tollgate --no-summary\n";

struct run_opts {
	char cgroup[4096];
	const char *pin_dir;
	__u32 max_peers;
	__u32 interval;
	int summary;		/* -1: when stdout is a terminal */
	bool detach_on_exit;
	struct privs privs;	/* --user */
};

static int parse_run_args(int argc, char **argv, struct run_opts *o)
{
	enum { OPT_MAX_PEERS = 256, OPT_SUMMARY, OPT_NO_SUMMARY, OPT_DETACH };
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "max-peers", required_argument, NULL, OPT_MAX_PEERS },
		{ "interval", required_argument, NULL, 'i' },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "no-summary", no_argument, NULL, OPT_NO_SUMMARY },
		{ "detach-on-exit", no_argument, NULL, OPT_DETACH },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, verbosity = log_level - LOG_WARN;

	while ((c = getopt_long(argc, argv, "c:p:i:u:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strlen(optarg) >= sizeof(o->cgroup)) {
				pr_warn("--cgroup: path too long");
				return -EINVAL;
			}
			strcpy(o->cgroup, optarg);
			break;
		case 'p':
			o->pin_dir = optarg;
			break;
		case OPT_MAX_PEERS:
			if (parse_u32(optarg, 1, TG_MAX_PEERS_LIMIT,
				      &o->max_peers)) {
				pr_warn("--max-peers: '%s' is not a number "
					"from 1 to %u", optarg,
					TG_MAX_PEERS_LIMIT);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_u32(optarg, 1, 3600, &o->interval)) {
				pr_warn("--interval: '%s' is not a number of "
					"seconds from 1 to 3600", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SUMMARY:
			o->summary = 1;
			break;
		case OPT_NO_SUMMARY:
			o->summary = 0;
			break;
		case OPT_DETACH:
			o->detach_on_exit = true;
			break;
		case 'u':
			if (privs_parse_user(optarg, &o->privs))
				return -EINVAL;
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			fputs(run_usage, stdout);
			exit(0);
		default:
			fputs(run_usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_warn("run: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->privs.set && o->detach_on_exit) {
		/* Removing the pins on exit needs the root it gave up. */
		pr_warn("run: --detach-on-exit and --user exclude each other");
		return -EINVAL;
	}
	log_setup(verbosity);
	return 0;
}

static int cmp_backend(const void *pa, const void *pb)
{
	const struct peer_rec *a = pa, *b = pb;
	__u64 x = a->c.bytes_out + a->c.bytes_in;
	__u64 y = b->c.bytes_out + b->c.bytes_in;

	if (a->key.role != b->key.role)
		return a->key.role == TG_ROLE_BACKEND ? -1 : 1;
	return x > y ? -1 : x < y;
}

/* One summary: totals, rates since the last one, the busiest backends. */
static void print_summary(struct snapshot *s, struct tg_counters *last,
			  __u32 interval)
{
	char t[16], a[32], b[32], c[32], d[32], addr[48];
	struct tg_counters total;
	time_t now = time(NULL);
	size_t i, shown = 0;

	snapshot_totals(s, &total);
	strftime(t, sizeof(t), "%H:%M:%S", localtime(&now));
	printf("%s in %s (%s/s) out %s (%s/s), %zu peers, %u slots", t,
	       fmt_bytes(total.bytes_in, a, sizeof(a)),
	       fmt_bytes((total.bytes_in - last->bytes_in) / interval, b,
			 sizeof(b)),
	       fmt_bytes(total.bytes_out, c, sizeof(c)),
	       fmt_bytes((total.bytes_out - last->bytes_out) / interval, d,
			 sizeof(d)),
	       s->nr_peers, s->capacity);
	if (s->stats[TG_STAT_PEER_FULL])
		printf(", %llu failed inserts (overflow)",
		       (unsigned long long)s->stats[TG_STAT_PEER_FULL]);
	putchar('\n');
	*last = total;

	if (s->nr_peers)
		qsort(s->peers, s->nr_peers, sizeof(*s->peers), cmp_backend);
	for (i = 0; i < s->nr_peers && shown < 3; i++) {
		const struct peer_rec *p = &s->peers[i];

		if (p->key.role != TG_ROLE_BACKEND)
			break;
		printf("%s %s:%u %s out, %s in", shown ? "," : "  busiest backends:",
		       fmt_addr(p->key.addr, addr, sizeof(addr)), p->key.port,
		       fmt_bytes(p->c.bytes_out, a, sizeof(a)),
		       fmt_bytes(p->c.bytes_in, b, sizeof(b)));
		shown++;
	}
	if (shown)
		putchar('\n');
	fflush(stdout);
}

static int default_cgroup(char *buf, size_t len)
{
	int err = cgroup2_mount("/proc/mounts", buf, len);

	if (err == -ENOENT)
		pr_warn("no cgroup v2 hierarchy is mounted (mount -t cgroup2 "
			"none /sys/fs/cgroup/unified), or give --cgroup");
	else if (err)
		pr_warn("cannot read /proc/mounts: %s", strerror(-err));
	return err;
}

/*
 * One agent per pin directory: a second one would swap its programs into
 * the first one's links and both would report the same counters. The lock
 * lives as long as the process, so a killed agent never leaves it behind.
 */
static int lock_pin_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		pr_warn("cannot open pin directory '%s': %s", dir,
			strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			pr_warn("another tollgate agent runs on '%s'", dir);
		else
			pr_warn("cannot lock '%s': %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.pin_dir = TG_DEFAULT_PIN_DIR,
		.interval = 10,
		.summary = -1,
	};
	struct tg_counters last = {};
	struct meter *m = NULL;
	struct sigaction sa = {};
	struct view v;
	bool have_view = false;
	int err, lock = -1;

	err = parse_run_args(argc, argv, &o);
	if (err)
		return 2;
	if (!o.cgroup[0] && default_cgroup(o.cgroup, sizeof(o.cgroup)))
		return 1;
	if (o.summary < 0)
		o.summary = isatty(STDOUT_FILENO);

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err = meter_load(&m, &(struct meter_opts){ .pin_dir = o.pin_dir,
						    .max_peers = o.max_peers });
	if (err)
		goto out;
	lock = lock_pin_dir(o.pin_dir);
	if (lock < 0) {
		err = -EBUSY;
		goto out;
	}
	err = meter_attach(m, o.cgroup);
	if (err)
		goto out;
	err = view_from_meter(&v, m);
	if (err)
		goto out;
	have_view = true;
	err = privs_drop(&o.privs, v.meta);
	if (err)
		goto out;
	printf("tollgate %s: %s cgroup %s (ingress, egress, sock_ops), "
	       "pinned in %s\n", TOLLGATE_VERSION,
	       meter_resumed(m) ? "resumed metering" : "metering", o.cgroup,
	       o.pin_dir);
	if (o.summary)
		printf("summary every %us; Ctrl-C stops the agent, %s\n",
		       o.interval,
		       o.detach_on_exit ? "and detaches the meter" :
					  "the kernel keeps counting");
	fflush(stdout);

	while (!exiting) {
		struct timespec ts = { .tv_sec = o.interval };
		struct snapshot s;

		while (nanosleep(&ts, &ts) && errno == EINTR && !exiting)
			;
		if (exiting)
			break;
		err = snapshot_read(&v, &s, false);
		if (err)
			pr_warn("cannot read counters: %s", strerror(-err));
		else if (o.summary)
			print_summary(&s, &last, o.interval);
		snapshot_free(&s);
		err = 0;
	}
	pr_info("exiting");
out:
	if (have_view)
		view_close(&v);
	meter_free(m);
	if (o.detach_on_exit && lock >= 0)
		meter_detach(o.pin_dir, !o.summary);
	else if (!err)
		fprintf(stderr, "tollgate: agent stopped; the meter stays "
				"attached (pinned in %s), 'tollgate detach' "
				"removes it\n", o.pin_dir);
	if (lock >= 0)
		close(lock);
	return err ? 1 : 0;
}
