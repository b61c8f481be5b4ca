// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * run.c - `tollgate run`: load, attach and pin the meter, then keep it
 * company until SIGINT or SIGTERM.
 *
 * The kernel does the counting; the agent's loop reads the counters every
 * interval and, on a terminal, prints a short summary. Leaving the loop
 * leaves the programs attached through their pinned links, unless
 * --detach-on-exit asks otherwise.
 *
 * The configuration (config.h) is loaded before anything is attached, so
 * a wrong file stops the agent before it changes the kernel. SIGHUP loads
 * it again, range files included, into a new tg_config and swaps the
 * pointer only when the whole load succeeded: a bad file leaves the old
 * configuration in place and the log says why. Reloads never touch the
 * kernel side, so counting goes on throughout.
 *
 * Every interval the collection stage (collect.h) books what the counters
 * counted since the last commit into the ledger, classified with the
 * configuration in force; at start (the time the agent was away) and on a
 * clean exit too. Intervals end at each midnight of the ledger's time zone
 * so no interval spans two days.
 *
 * Unless --no-metrics, the agent serves its counters to Prometheus
 * (metrics.h): after every collection the loop updates the series,
 * rates the current month from the ledger, renders the page and
 * publishes it to the HTTP server, whose own threads answer scrapes.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <bpf/bpf.h>

#include "cmd/cmd.h"
#include "export/dump.h"
#include "export/serve.h"
#include "lib/log.h"
#include "load/loader.h"
#include "load/privs.h"
#include "classify/classify.h"
#include "ledger/collect.h"
#include "export/metrics.h"
#include "ledger/fleet.h"

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		exiting = 1;
}

static const char run_usage[] =
	"Usage: tollgate run [OPTIONS]\n"
	"\n"
	"Load the meter, attach it to a cgroup v2 directory, pin maps and\n"
	"links, and run until SIGINT or SIGTERM. The kernel keeps counting\n"
	"after the agent exits; 'tollgate detach' stops it. SIGHUP reloads\n"
	"the configuration and its range files; a bad file keeps the old\n"
	"configuration, and counting never pauses.\n"
	"\n"
	"Options:\n"
	"      --config FILE     configuration (default " TG_CONFIG_DEFAULT_PATH ";\n"
	"                        without that file, the built-in configuration)\n"
	"  -l, --ledger FILE     usage ledger the agent books every interval into\n"
	"                        (default " TG_DEFAULT_LEDGER "; created\n"
	"                        with its directory)\n"
	"      --host NAME       this host's name in the ledger (default: the\n"
	"                        host name)\n"
	"      --no-ledger       count in the kernel only, book nothing\n"
	"      --listen ADDR:PORT  serve Prometheus metrics at\n"
	"                        http://ADDR:PORT/metrics (default\n"
	"                        " TG_METRICS_LISTEN ", or metrics.listen of the\n"
	"                        configuration; port 0: any free port)\n"
	"      --no-metrics      serve no metrics\n"
	"      --ship URL        after each commit, ship the ledger's changed\n"
	"                        rows to the fleet ledger, a PostgreSQL\n"
	"                        connection string (libpq URI or key=value;\n"
	"                        default: $TOLLGATE_SHIP)\n"
	"      --ship-file FILE  --ship with the first line of FILE: keeps a\n"
	"                        password off the command line\n"
	"      --no-calls        count bytes and packets only, not API calls:\n"
	"                        no syscall or receive tracer runs\n"
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
	"  tollgate run --config ./tollgate.yaml\n"
	"  tollgate run --ledger /srv/tollgate/ledger.db --host gw-bj-1\n"
	"  tollgate run --listen 10.0.0.5:9109\n"
	"  tollgate run --ship postgresql://tollgate@db.internal/billing\n"
	"  tollgate run --user tollgate --no-summary\n"
	"  kill -HUP $(pidof tollgate)    # reload the configuration\n";

struct run_opts {
	char cgroup[4096];
	const char *config;	/* NULL: the default path, else built-in */
	const char *pin_dir;
	const char *ledger;	/* NULL: --no-ledger */
	char *ship;		/* --ship (hidden once read), or NULL */
	const char *ship_file;	/* --ship-file, or NULL */
	char host[LEDGER_NAME_SIZE];
	__u32 max_peers;
	__u32 interval;
	int summary;		/* -1: when stdout is a terminal */
	bool detach_on_exit;
	const char *listen;	/* NULL: metrics.listen, else the default */
	bool no_metrics;
	bool no_calls;
	struct privs privs;	/* --user */
};

static int parse_run_args(int argc, char **argv, struct run_opts *o)
{
	enum { OPT_MAX_PEERS = 256, OPT_SUMMARY, OPT_NO_SUMMARY, OPT_DETACH,
	       OPT_CONFIG, OPT_HOST, OPT_NO_LEDGER, OPT_LISTEN,
	       OPT_NO_METRICS, OPT_SHIP, OPT_SHIP_FILE, OPT_NO_CALLS };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "no-ledger", no_argument, NULL, OPT_NO_LEDGER },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "no-metrics", no_argument, NULL, OPT_NO_METRICS },
		{ "ship", required_argument, NULL, OPT_SHIP },
		{ "ship-file", required_argument, NULL, OPT_SHIP_FILE },
		{ "no-calls", no_argument, NULL, OPT_NO_CALLS },
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

	while ((c = getopt_long(argc, argv, "c:p:l:i:u:vh", longopts, NULL)) !=
	       -1) {
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
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case 'l':
			if (!*optarg) {
				pr_warn("--ledger: empty path");
				return -EINVAL;
			}
			o->ledger = optarg;
			break;
		case OPT_HOST:
			if (!*optarg) {
				pr_warn("--host: empty name");
				return -EINVAL;
			}
			if (strlen(optarg) >= sizeof(o->host)) {
				pr_warn("--host: '%s' is longer than %zu bytes",
					optarg, sizeof(o->host) - 1);
				return -EINVAL;
			}
			strcpy(o->host, optarg);
			break;
		case OPT_NO_LEDGER:
			o->ledger = NULL;
			break;
		case OPT_LISTEN: {
			struct sockaddr_storage ss;

			if (metrics_parse_listen(optarg, &ss)) {
				pr_warn("--listen: '%s' is not ADDR:PORT or "
					"[ADDR6]:PORT", optarg);
				return -EINVAL;
			}
			o->listen = optarg;
			break;
		}
		case OPT_NO_METRICS:
			o->no_metrics = true;
			break;
		case OPT_SHIP:
			if (!*optarg) {
				pr_warn("--ship: empty connection string");
				return -EINVAL;
			}
			o->ship = optarg;
			break;
		case OPT_SHIP_FILE:
			o->ship_file = optarg;
			break;
		case OPT_NO_CALLS:
			o->no_calls = true;
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
	if (o->ship && o->ship_file) {
		pr_warn("run: --ship and --ship-file exclude each other");
		return -EINVAL;
	}
	if ((o->ship || o->ship_file) && !o->ledger) {
		pr_warn("--ship ships the ledger: not with --no-ledger");
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

/*
 * One summary: totals, rates since the last one, how much of the outbound
 * bytes is billable under @cfg, the busiest backends by name.
 */
static void print_summary(struct snapshot *s, const struct tg_config *cfg,
			  struct tg_counters *last, __u32 interval)
{
	char t[16], a[32], b[32], c[32], d[32], addr[48];
	struct dump_group *g, sum;
	struct tg_counters total;
	time_t now = time(NULL);
	size_t i, nr, shown = 0;
	struct tg_class cls;

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
	if (!dump_aggregate(s, cfg, BY_TRAFFIC, &g, &nr, &sum)) {
		printf("; billable out %s", fmt_bytes(sum.billable_bytes, a,
						       sizeof(a)));
		free(g);
	}
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
		classify(cfg, p->key.role, p->key.addr, p->key.port,
			 p->key.proto, true, &cls);
		printf("%s %s%s%s:%u %s out, %s in",
		       shown ? "," : "  busiest backends:", cls.backend,
		       *cls.backend ? " " : "",
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

/*
 * The agent's state, in one place that the loop passes around. @cfg is the
 * configuration in force; it changes only in agent_reload(), between two
 * passes of the loop, so whatever a pass reads from it (classification,
 * ledger keys) comes from one configuration.
 */
struct agent {
	struct run_opts o;
	struct tg_config *cfg;
	struct meter *m;
	struct view v;
	bool have_view;
	int lock;			/* pin directory lock, -1: none */
	struct tg_counters last;	/* totals of the last summary */
	struct collect *collect;	/* NULL: --no-ledger */
	bool no_hooks;			/* privileges dropped: no new TLS
					 * hooks after the start */
	struct metrics *mx;		/* NULL: --no-metrics */
	struct metrics_server *srv;
	unsigned int cfg_gen;		/* changes with every reload */
	struct plan plan;		/* prices of the cost gauges */
	bool have_plan;
	struct fleet *fleet;		/* NULL: no --ship */
};

/* One line on what a configuration holds, for the log. */
static void config_describe(const char *what, const struct tg_config *cfg)
{
	size_t i, ranged = 0;

	for (i = 0; i < cfg->nr_ranges; i++)
		ranged += cfg->ranges[i].nr_prefixes;
	if (!strcmp(cfg->path, TG_BUILTIN)) {
		pr_warn("%s: built-in configuration (no %s): private ranges "
			"are intranet, everything else internet", what,
			TG_CONFIG_DEFAULT_PATH);
		return;
	}
	pr_warn("%s: configuration %s: region %s, provider %s, %zu address "
		"rules (%zu from %zu range files), %zu services, %zu backends",
		what, cfg->path, cfg->region, cfg->provider, cfg->nr_rules,
		ranged, cfg->nr_ranges, cfg->nr_services, cfg->nr_backends);
}

/*
 * Load the configuration that --config names (config_load_or_default()).
 * Returns 0 with *@out, or -errno after saying where the file is wrong.
 */
static int agent_load_config(const struct agent *a, const char *what,
			     struct tg_config **out)
{
	struct tg_err e = {};
	char msg[sizeof(e) + 16];
	int err;

	err = config_load_or_default(a->o.config, out, &e);
	if (err)
		pr_warn("%s: %s", what, tg_err_str(&e, msg, sizeof(msg)));
	return err;
}

/*
 * SIGHUP: load the configuration and its range files anew and swap it in
 * only when all of it loaded. A bad file keeps the one in force.
 */
/* Hook the TLS libraries the configuration names (`tls`); those already
 * hooked are left as they are. */
static void agent_tls(struct agent *a)
{
	size_t i;

	for (i = 0; a->m && !a->no_hooks && i < a->cfg->nr_tls; i++)
		meter_tls_attach(a->m, a->cfg->tls[i].library, true);
}

/* Unix time with its fraction, for the metrics' timestamps. */
static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void agent_publish(struct agent *a);
static void agent_metrics_config(struct agent *a, const struct tg_config *old);

static void agent_reload(struct agent *a)
{
	struct tg_config *cfg, *old = a->cfg;
	struct metrics_health *h = a->mx ? metrics_health(a->mx) : NULL;

	if (agent_load_config(a, "reload failed, keeping the configuration "
			      "in force", &cfg)) {
		if (h) {
			h->reload_ok = false;
			h->reload_failures++;
			agent_publish(a);
		}
		return;
	}
	a->cfg = cfg;
	a->cfg_gen++;
	config_describe("reloaded", cfg);
	agent_tls(a);
	if (h) {
		h->reload_ok = true;
		h->reload_time = wall_now();
		agent_metrics_config(a, old);
		agent_publish(a);
	}
	config_free(old);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Sleep @secs, reloading the configuration whenever SIGHUP arrives. The
 * signals are blocked outside pselect(), which unblocks them atomically,
 * so a SIGHUP is never left waiting for the next interval.
 */
static void agent_sleep(struct agent *a, double secs, const sigset_t *wait_mask)
{
	double end = mono_now() + secs, left;

	while (!exiting) {
		if (reload) {
			reload = 0;
			agent_reload(a);
			continue;
		}
		left = end - mono_now();
		if (left <= 0)
			break;
		struct timespec ts = {
			.tv_sec = (time_t)left,
			.tv_nsec = (long)((left - (time_t)left) * 1e9),
		};
		pselect(0, NULL, NULL, NULL, &ts, wait_mask);
	}
}

/*
 * Sleep until Unix time @due (the wall clock: days end at midnight by it).
 * A clock stepped back by more than an interval restarts the schedule.
 */
static time_t agent_wait(struct agent *a, time_t due, const sigset_t *wait_mask)
{
	struct timespec now;
	double left;

	while (!exiting) {
		clock_gettime(CLOCK_REALTIME, &now);
		if (due - now.tv_sec > (time_t)a->o.interval)
			due = a->collect ? collect_next(a->collect, now.tv_sec,
							a->o.interval) :
					   now.tv_sec + a->o.interval;
		left = (double)(due - now.tv_sec) - now.tv_nsec / 1e9;
		if (left <= 0)
			break;
		agent_sleep(a, left, wait_mask);
	}
	return due;
}

/* The agent's host name: --host, else gethostname(). */
static int agent_host(struct run_opts *o)
{
	if (o->host[0])
		return 0;
	if (gethostname(o->host, sizeof(o->host) - 1)) {
		pr_warn("cannot get the host name (give --host): %s",
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* Book the interval that ended at @due. A failure is retried by the next
 * commit, which covers this interval too. */
static void agent_collect(struct agent *a, const struct snapshot *s,
			  time_t due)
{
	struct metrics_health *h = a->mx ? metrics_health(a->mx) : NULL;
	int err = collect_commit(a->collect, a->cfg, s, due);

	if (err)
		pr_warn("ledger '%s': cannot book the interval, the next one "
			"will include it: %s",
			a->o.ledger, strerror(-err));
	if (h && err)
		h->ledger_errors++;
	else if (h)
		h->ledger_time = wall_now();
	/* After the local commit: the fleet ledger only ever catches up,
	 * and says itself when it cannot. */
	if (a->fleet)
		fleet_ship(a->fleet, collect_ledger(a->collect));
}

/* The price plan of the cost gauges: metrics.plan, else the default of
 * 'tollgate rate'. Its days must be the ledger's. */
static const char *agent_plan_name(const struct tg_config *cfg)
{
	return cfg->metrics.plan ? cfg->metrics.plan : "jdcloud";
}

/* The time zone a new ledger counts days in: the plan's, so that the
 * ledger's days are the ones the plan settles. NULL: the ledger's
 * default, when the plan does not load (the agent says so later). */
static const char *agent_ledger_tz(const struct tg_config *cfg,
				   struct plan *p)
{
	return plan_load(p, agent_plan_name(cfg)) ? NULL : p->time_zone;
}

static void agent_load_plan(struct agent *a)
{
	const struct tg_metrics_conf *mc = &a->cfg->metrics;
	const char *name = agent_plan_name(a->cfg);
	const char *tz;

	a->have_plan = false;
	if (!a->collect || !a->mx)
		return;
	if (plan_load(&a->plan, name)) {
		pr_warn("metrics: no cost gauges: cannot load plan '%s'", name);
		return;
	}
	if (mc->plan_region && plan_select_region(&a->plan, mc->plan_region)) {
		pr_warn("metrics: no cost gauges: plan '%s' has no region "
			"'%s'", name, mc->plan_region);
		return;
	}
	tz = ledger_time_zone(collect_ledger(a->collect));
	if (strcmp(a->plan.time_zone, tz)) {
		pr_warn("metrics: no cost gauges: plan '%s' counts days in %s, "
			"the ledger in %s", name, a->plan.time_zone, tz);
		return;
	}
	a->have_plan = true;
}

static bool same_str(const char *x, const char *y)
{
	return (!x && !y) || (x && y && !strcmp(x, y));
}

/* Apply the metrics section of a (re)loaded configuration; @old is the
 * one before, NULL at start. */
static void agent_metrics_config(struct agent *a, const struct tg_config *old)
{
	const struct tg_metrics_conf *mc = &a->cfg->metrics;

	metrics_set_max_series(a->mx, mc->max_series);
	if (metrics_server_set_users(a->srv, mc->users, mc->nr_users) ==
	    -ENOMEM)
		pr_warn("metrics: out of memory: users not changed");
	agent_load_plan(a);
	if (!a->have_plan)
		metrics_no_cost(a->mx);
	if (old && (!same_str(old->metrics.listen, mc->listen) ||
		    !same_str(old->metrics.tls_cert, mc->tls_cert) ||
		    !same_str(old->metrics.tls_key, mc->tls_key) ||
		    old->metrics.disabled != mc->disabled ||
		    old->metrics.anonymous != mc->anonymous))
		pr_warn("metrics: listen, tls, enabled and anonymous take "
			"effect when the agent restarts");
}

/* Render the page and hand it to the server. */
static void agent_publish(struct agent *a)
{
	char *page;
	size_t len;

	if (!a->mx)
		return;
	if (metrics_render(a->mx, &page, &len)) {
		pr_warn("metrics: out of memory rendering the page");
		return;
	}
	metrics_server_publish(a->srv, page, len);
}

/* The kernel's run-time statistics of the three programs. */
static void agent_prog_stats(struct agent *a, struct metrics_health *h)
{
	int fds[METRICS_NR_PROGS], i;

	h->have_progs = !meter_prog_fds(a->m, fds);
	for (i = 0; h->have_progs && i < METRICS_NR_PROGS; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fds[i], &info, &len)) {
			h->have_progs = false;
			break;
		}
		h->prog_run_time_ns[i] = info.run_time_ns;
		h->prog_run_cnt[i] = info.run_cnt;
	}
}

/*
 * Everything a collection does after reading @s (err: the read's result):
 * book the ledger, update and publish the metrics. @t0: when it began.
 */
static void agent_after_read(struct agent *a, int err, struct snapshot *s,
			     time_t due, double t0)
{
	struct metrics_health *h = a->mx ? metrics_health(a->mx) : NULL;

	if (err) {
		pr_warn("cannot read counters: %s", strerror(-err));
		if (h) {
			h->collection_failures++;
			agent_publish(a);
		}
		return;
	}
	if (a->collect)
		agent_collect(a, s, due);
	if (!h)
		return;
	if (metrics_update(a->mx, a->cfg, a->cfg_gen, s))
		pr_warn("metrics: out of memory: series not updated");
	if (a->have_plan)
		metrics_rate(a->mx, collect_ledger(a->collect), &a->plan,
			     time(NULL));
	agent_prog_stats(a, h);
	h->collection_seconds = mono_now() - t0;
	h->collection_time = wall_now();
	agent_publish(a);
}

/* Where the metrics are served: --listen, metrics.listen, the default. */
static const char *agent_listen(const struct agent *a)
{
	const struct tg_metrics_conf *mc = &a->cfg->metrics;

	return a->o.listen ? a->o.listen :
	       mc->listen ? mc->listen : TG_METRICS_LISTEN;
}

/*
 * Open the metrics endpoint, before anything is attached: a port in use
 * or an unreadable TLS key stops the agent while it has changed nothing.
 * agent_metrics_serve() starts serving later.
 */
static int agent_metrics_start(struct agent *a)
{
	const struct tg_metrics_conf *mc = &a->cfg->metrics;
	const char *listen = agent_listen(a);
	struct metrics_health *h;
	struct rlimit rl;
	int err;

	if (a->o.no_metrics || (mc->disabled && !a->o.listen))
		return 0;
	/* A thousand scrapers are a thousand descriptors. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 4096 &&
	    rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	a->mx = metrics_new(mc->max_series);
	if (!a->mx)
		return -ENOMEM;
	h = metrics_health(a->mx);
	h->reload_ok = true;
	h->reload_time = wall_now();
	h->ledger = a->collect != NULL;
	err = metrics_server_open(&a->srv, &(struct metrics_server_opts){
						    .listen = listen,
						    .tls_cert = mc->tls_cert,
						    .tls_key = mc->tls_key,
						    .users = mc->users,
						    .nr_users = mc->nr_users,
						    .anonymous = mc->anonymous });
	if (err)
		return err;
	agent_metrics_config(a, NULL);
	return 0;
}

/* Serve, once the agent has given up its privileges: the server's threads
 * are made now and inherit what is left. */
static int agent_metrics_serve(struct agent *a)
{
	const struct tg_metrics_conf *mc = &a->cfg->metrics;
	const char *listen = agent_listen(a);
	int err;

	if (!a->srv)
		return 0;
	err = metrics_server_run(a->srv);
	if (err)
		return err;
	printf("tollgate: metrics on %s://%.*s:%u/metrics%s\n",
	       mc->tls_cert ? "https" : "http",
	       (int)(strrchr(listen, ':') - listen), listen,
	       metrics_server_port(a->srv),
	       mc->nr_users ? " (basic authentication)" : "");
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct agent a = {
		.o = {
			.pin_dir = TG_DEFAULT_PIN_DIR,
			.ledger = TG_DEFAULT_LEDGER,
			.interval = 10,
			.summary = -1,
		},
		.lock = -1,
	};
	struct run_opts *o = &a.o;
	struct sigaction sa = {};
	sigset_t sigs, wait_mask;
	struct snapshot s = {};
	time_t due, last_due;
	bool first;
	int err;

	err = parse_run_args(argc, argv, o);
	if (err)
		return 2;
	if (!o->cgroup[0] && default_cgroup(o->cgroup, sizeof(o->cgroup)))
		return 1;
	if (o->summary < 0)
		o->summary = isatty(STDOUT_FILENO);

	/* Before anything touches the kernel: a wrong file changes nothing. */
	if (agent_load_config(&a, "cannot load the configuration", &a.cfg))
		return 1;
	config_describe("loaded", a.cfg);

	/* The ledger too: a file that is not one stops the agent here. */
	if (o->ledger) {
		err = agent_host(o);
		if (err)
			goto out;
		err = collect_open(&a.collect, &(struct collect_opts){
					.ledger = o->ledger,
					.host = o->host,
					.time_zone = agent_ledger_tz(a.cfg,
								     &a.plan) });
		if (err)
			goto out;
		pr_info("ledger '%s': host %s, days in %s", o->ledger, o->host,
			ledger_time_zone(collect_ledger(a.collect)));
		err = fleet_open_from(&a.fleet, o->ship, o->ship_file);
		if (err)
			goto out;
	}

	err = agent_metrics_start(&a);
	if (err)
		goto out;

	/* A scraper that hangs up mid-answer must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGHUP);

	err = meter_load(&a.m, &(struct meter_opts){ .pin_dir = o->pin_dir,
						      .max_peers = o->max_peers,
						      .no_calls = o->no_calls });
	if (err)
		goto out;
	a.lock = lock_pin_dir(o->pin_dir);
	if (a.lock < 0) {
		err = -EBUSY;
		goto out;
	}
	err = meter_attach(a.m, o->cgroup);
	if (err)
		goto out;
	agent_tls(&a);
	err = view_from_meter(&a.v, a.m);
	if (err)
		goto out;
	a.have_view = true;
	err = privs_drop(&o->privs, a.v.meta);
	if (err)
		goto out;
	/* Hooking a TLS library takes CAP_BPF and CAP_PERFMON, and finding
	 * it reading other users' /proc/PID/maps: gone with root. */
	if (geteuid() != 0) {
		a.no_hooks = true;
		pr_info("tls: not root any more: TLS libraries are hooked at "
			"start only (name them in the configuration's tls, "
			"or start the agent after the gateway)");
	}
	err = agent_metrics_serve(&a);
	if (err)
		goto out;
	printf("tollgate %s: %s cgroup %s (ingress, egress, sock_ops), "
	       "pinned in %s\n", TOLLGATE_VERSION,
	       meter_resumed(a.m) ? "resumed metering" : "metering", o->cgroup,
	       o->pin_dir);
	if (o->summary)
		printf("summary every %us; Ctrl-C stops the agent, %s\n",
		       o->interval,
		       o->detach_on_exit ? "and detaches the meter" :
					   "the kernel keeps counting");
	fflush(stdout);

	/* The first pass books at once what was counted while no agent ran;
	 * then every interval, and at every midnight. */
	due = last_due = time(NULL);
	for (first = true; !exiting; first = false) {
		double t0;
		time_t now;

		if (!first)
			due = agent_wait(&a, due, &wait_mask);
		if (exiting)
			break;
		/* Processes that started since may map a TLS library
		 * not hooked yet. */
		if (!a.no_hooks)
			meter_tls_scan(a.m);
		t0 = mono_now();
		err = snapshot_read(&a.v, &s, false);
		agent_after_read(&a, err, &s, due, t0);
		/* Rates over the interval's real length: the one before
		 * midnight is shorter. */
		if (!err && o->summary && !first)
			print_summary(&s, a.cfg, &a.last,
				      due > last_due ? due - last_due : 1);
		snapshot_free(&s);
		err = 0;
		last_due = due;
		/* Behind by more than an interval (a suspended host): start
		 * the schedule again from now. */
		now = time(NULL);
		if (now - due > (time_t)o->interval)
			due = now;
		due = a.collect ? collect_next(a.collect, due, o->interval) :
				  due + o->interval;
	}
	pr_info("exiting");
	/* A clean exit books what the last interval counted so far. */
	if (a.collect && !snapshot_read(&a.v, &s, false))
		agent_collect(&a, &s, time(NULL));
	snapshot_free(&s);
out:
	if (a.have_view)
		view_close(&a.v);
	/* A start that failed takes back the pins it made (another agent's
	 * stay: it holds the lock and this one never got it). */
	if (err && a.lock >= 0)
		meter_abandon(a.m);
	else
		meter_free(a.m);
	if (o->detach_on_exit && a.lock >= 0)
		meter_detach(o->pin_dir, !o->summary);
	else if (!err)
		fprintf(stderr, "tollgate: agent stopped; the meter stays "
				"attached (pinned in %s), 'tollgate detach' "
				"removes it\n", o->pin_dir);
	if (a.lock >= 0)
		close(a.lock);
	metrics_server_stop(a.srv);
	metrics_free(a.mx);
	fleet_close(a.fleet);
	collect_close(a.collect);
	config_free(a.cfg);
	return err ? 1 : 0;
}
