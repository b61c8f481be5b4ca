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
 * Every interval the loop walks the data path once: it reads the counters
 * into a snapshot (collect/snapshot.h), makes the snapshot's classified
 * usage rows (collect/usage.h: classified once, with the configuration in
 * force), books them into the ledger (ledger/book.h), and hands the same
 * rows to the metrics and the summary. It books at start too (the time
 * the agent was away) and on a clean exit. Intervals end at each midnight
 * of the ledger's time zone so no interval spans two days.
 *
 * Unless --no-metrics, the agent serves its counters to Prometheus
 * (export/metrics.h): after every collection the loop adds the rows to
 * the series, rates the current month from the ledger, renders the page
 * and publishes it to the HTTP server, whose own threads answer scrapes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "cmd/opts.h"
#include "cmd/settings.h"
#include "export/dump.h"
#include "export/serve.h"
#include "lib/log.h"
#include "load/agentinfo.h"
#include "load/loader.h"
#include "load/privs.h"
#include "classify/classify.h"
#include "classify/hosts.h"
#include "collect/upkeep.h"
#include "collect/usage.h"
#include "ledger/book.h"
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
	"      --book-existing   a ledger that never saw the pinned maps books\n"
	"                        what they counted before it (default: takes\n"
	"                        it as its starting point, and says so)\n"
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
	"      --max-peers N     peer slots, 2..16777216 (default: the pinned\n"
	"                        maps' size, or as many as 64 MiB of counters\n"
	"                        hold on this host's CPUs)\n"
	"      --backend-peers N of those, the slots kept for backends, which\n"
	"                        clients never take (default: the pinned\n"
	"                        maps', or an eighth of --max-peers)\n"
	"      --reclaim-after SECS\n"
	"                        give a peer's slot back after it counted\n"
	"                        nothing for SECS, 0..86400; 0: never\n"
	"                        (default 300)\n"
	"      --max-tls-procs N processes whose TLS is hooked at most, 1..4096\n"
	"                        (default 256)\n"
	"      --tls-exported-hooks\n"
	"                        hook SSL_write and SSL_write_ex at their own\n"
	"                        entries, even in an OpenSSL 3.0 libssl, where\n"
	"                        one cheaper pair of hooks at their common\n"
	"                        callee sees both\n"
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
	__u32 backend_peers;
	__u32 reclaim_after;	/* seconds; 0: never */
	__u32 max_tls_procs;
	__u32 interval;
	int summary;		/* -1: when stdout is a terminal */
	bool detach_on_exit;
	const char *listen;	/* NULL: metrics.listen, else the default */
	bool no_metrics;
	bool no_calls;
	bool tls_exported;
	bool book_existing;	/* book what unseen maps counted before */
	struct privs privs;	/* --user */
};

static int take_cgroup(const char *opt, const char *arg, void *dst)
{
	struct run_opts *o = dst;

	if (strlen(arg) >= sizeof(o->cgroup)) {
		pr_warn("--cgroup: path too long");
		return -EINVAL;
	}
	strcpy(o->cgroup, arg);
	return 0;
}

static int take_host(const char *opt, const char *arg, void *dst)
{
	struct run_opts *o = dst;

	if (!*arg) {
		pr_warn("--host: empty name");
		return -EINVAL;
	}
	if (strlen(arg) >= sizeof(o->host)) {
		pr_warn("--host: '%s' is longer than %zu bytes", arg,
			sizeof(o->host) - 1);
		return -EINVAL;
	}
	strcpy(o->host, arg);
	return 0;
}

static int take_listen(const char *opt, const char *arg, void *dst)
{
	struct sockaddr_storage ss;

	if (metrics_parse_listen(arg, &ss)) {
		pr_warn("--listen: '%s' is not ADDR:PORT or [ADDR6]:PORT", arg);
		return -EINVAL;
	}
	*(const char **)dst = arg;
	return 0;
}

static int take_user(const char *opt, const char *arg, void *dst)
{
	return privs_parse_user(arg, dst);
}

static int parse_run_args(int argc, char **argv, struct run_opts *o)
{
	int verbosity = log_level - LOG_WARN, first;
	bool no_ledger = false;
	const struct opt opts[] = {
		OPT("config", 0, OPT_STR, &o->config),
		OPT("cgroup", 'c', OPT_FN, o, .fn = take_cgroup),
		OPT("pin-dir", 'p', OPT_STR, &o->pin_dir, .nonempty = true),
		OPT("ledger", 'l', OPT_STR, &o->ledger, .nonempty = true),
		OPT("host", 0, OPT_FN, o, .fn = take_host),
		OPT("no-ledger", 0, OPT_FLAG, &no_ledger),
		OPT("book-existing", 0, OPT_FLAG, &o->book_existing),
		OPT("listen", 0, OPT_FN, &o->listen, .fn = take_listen),
		OPT("no-metrics", 0, OPT_FLAG, &o->no_metrics),
		OPT("ship", 0, OPT_STR, &o->ship, .nonempty = true),
		OPT("ship-file", 0, OPT_STR, &o->ship_file, .nonempty = true),
		OPT("no-calls", 0, OPT_FLAG, &o->no_calls),
		OPT("max-peers", 0, OPT_U32, &o->max_peers, .min = 2,
		    .max = TG_MAX_PEERS_LIMIT),
		OPT("backend-peers", 0, OPT_U32, &o->backend_peers, .min = 1,
		    .max = TG_MAX_PEERS_LIMIT - 1),
		OPT("reclaim-after", 0, OPT_U32, &o->reclaim_after,
		    .what = "a number of seconds", .min = 0, .max = 86400),
		OPT("max-tls-procs", 0, OPT_U32, &o->max_tls_procs, .min = 1,
		    .max = 4096),
		OPT("tls-exported-hooks", 0, OPT_FLAG, &o->tls_exported),
		OPT("interval", 'i', OPT_U32, &o->interval,
		    .what = "a number of seconds", .min = 1, .max = 3600),
		OPT("summary", 0, OPT_SET, &o->summary, .val = 1),
		OPT("no-summary", 0, OPT_SET, &o->summary, .val = 0),
		OPT("detach-on-exit", 0, OPT_FLAG, &o->detach_on_exit),
		OPT("user", 'u', OPT_FN, &o->privs, .fn = take_user),
		OPT("verbose", 'v', OPT_COUNT, &verbosity),
		{},
	};

	first = opts_parse(argc, argv, opts, run_usage);
	if (first < 0 || opts_none_left(argc, argv, first))
		return -EINVAL;
	if (no_ledger)
		o->ledger = NULL;
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

/* Busiest backends first; every other row after them. */
static int cmp_backend(const void *pa, const void *pb)
{
	const struct usage_row *a = *(const struct usage_row *const *)pa;
	const struct usage_row *b = *(const struct usage_row *const *)pb;
	bool x_be = a->src.kind == USAGE_PEER &&
		    a->src.key.role == TG_ROLE_BACKEND;
	bool y_be = b->src.kind == USAGE_PEER &&
		    b->src.key.role == TG_ROLE_BACKEND;
	__u64 x = a->total.bytes_out + a->total.bytes_in;
	__u64 y = b->total.bytes_out + b->total.bytes_in;

	if (x_be != y_be)
		return x_be ? -1 : 1;
	return x > y ? -1 : x < y;
}

/* The peer of snapshot @s that row @r counts: the slot holding its key
 * in its generation; NULL when none does. */
static const struct peer_rec *peer_of(const struct snapshot *s,
				      const struct usage_row *r)
{
	size_t i;

	for (i = 0; i < s->nr_peers; i++)
		if (s->peers[i].gen == r->src.gen &&
		    !memcmp(&s->peers[i].key, &r->src.key,
			    sizeof(r->src.key)))
			return &s->peers[i];
	return NULL;
}

/* Since when peer @p counts, as local time: the hour within a day of
 * @now, else the date; "?" when the slot does not say. */
static const char *since_text(const struct snapshot *s,
			      const struct peer_rec *p, time_t now, char *buf,
			      size_t len)
{
	time_t t = p ? (time_t)dump_peer_since(s, p) : 0;
	struct tm tm;

	if (!t || !localtime_r(&t, &tm) ||
	    !strftime(buf, len, now - t < 86400 ? "%H:%M:%S" : "%Y-%m-%d",
		      &tm))
		snprintf(buf, len, "?");
	return buf;
}

/*
 * One summary of the usage rows @l of snapshot @s: totals, rates since the
 * last one, how much of the outbound bytes is billable, the peers with a
 * slot of the slots and the bytes of peers without one, and the busiest
 * backends by name, each with the time its slot was handed out (its
 * counts start there).
 */
static void print_summary(const struct usage_list *l, const struct snapshot *s,
			  struct tg_counters *last, __u32 interval)
{
	char t[16], a[32], b[32], c[32], d[32], addr[48], since[24];
	const struct usage_row **by = NULL;
	struct tg_counters total, no_slot = {}, o;
	time_t now = time(NULL);
	__u64 billable = 0;
	size_t i, shown = 0;
	int role;

	usage_totals(l, &total);
	for (i = 0; i < l->nr; i++)
		if (l->rows[i].cls.c.billable)
			billable += l->rows[i].total.bytes_out;
	for (role = 0; role < TG_NR_ROLES; role++) {
		snapshot_overflow(s, role, OVF_NO_SLOT, &o);
		no_slot.bytes_in += o.bytes_in;
		no_slot.bytes_out += o.bytes_out;
	}
	strftime(t, sizeof(t), "%H:%M:%S", localtime(&now));
	printf("%s in %s (%s/s) out %s (%s/s), %zu peers with a slot of %u",
	       t, fmt_bytes(total.bytes_in, a, sizeof(a)),
	       fmt_bytes((total.bytes_in - last->bytes_in) / interval, b,
			 sizeof(b)),
	       fmt_bytes(total.bytes_out, c, sizeof(c)),
	       fmt_bytes((total.bytes_out - last->bytes_out) / interval, d,
			 sizeof(d)),
	       s->nr_peers, s->capacity);
	printf("; billable out %s", fmt_bytes(billable, a, sizeof(a)));
	if (no_slot.bytes_in || no_slot.bytes_out)
		printf("; %s of peers without a slot (kept by billing key)",
		       fmt_bytes(no_slot.bytes_in + no_slot.bytes_out, a,
				 sizeof(a)));
	putchar('\n');
	*last = total;

	if (l->nr)
		by = malloc(l->nr * sizeof(*by));
	for (i = 0; by && i < l->nr; i++)
		by[i] = &l->rows[i];
	if (by)
		qsort(by, l->nr, sizeof(*by), cmp_backend);
	for (i = 0; by && i < l->nr && shown < 3; i++) {
		const struct usage_row *r = by[i];

		if (r->src.kind != USAGE_PEER ||
		    r->src.key.role != TG_ROLE_BACKEND)
			break;
		printf("%s %s%s%s:%u %s out, %s in since %s",
		       shown ? "," : "  busiest backends with a slot:",
		       r->cls.c.backend, *r->cls.c.backend ? " " : "",
		       fmt_addr(r->src.key.addr, addr, sizeof(addr)),
		       r->src.key.port,
		       fmt_bytes(r->total.bytes_out, a, sizeof(a)),
		       fmt_bytes(r->total.bytes_in, b, sizeof(b)),
		       since_text(s, peer_of(s, r), now, since, sizeof(since)));
		shown++;
	}
	free(by);
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
	struct usage *usage;		/* the usage stage's memory */
	struct upkeep *upkeep;		/* days and slots, into the maps */
	struct tz *tz;			/* the days of the kernel's banks,
					 * when no ledger has them */
	struct book *book;		/* NULL: --no-ledger */
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
 * Load the configuration that --config names and check it as check-config
 * does (cmd/settings.h). Returns 0 with *@out, or -errno after saying
 * where the file is wrong.
 */
static int agent_load_config(const struct agent *a, const char *what,
			     struct tg_config **out)
{
	struct tg_err e = {};
	char msg[sizeof(e) + 16];
	int err;

	err = settings_config(a->o.config, true, out, &e, NULL);
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

/* The host names of @cfg, into the kernel's names table. */
static int agent_names(struct agent *a, const struct tg_config *cfg)
{
	struct tg_name_key *keys = NULL;
	struct tg_name_val *vals = NULL;
	struct host_entry *e;
	struct tg_names_cfg nc;
	int n, err = -ENOMEM, i;

	if (!a->m)
		return 0;
	n = hosts_table(cfg, &e, &nc);
	if (n < 0)
		return n;
	keys = calloc(n + 1, sizeof(*keys));
	vals = calloc(n + 1, sizeof(*vals));
	if (keys && vals) {
		for (i = 0; i < n; i++) {
			keys[i] = e[i].key;
			vals[i] = e[i].val;
		}
		err = meter_set_names(a->m, keys, vals, n, &nc);
	}
	free(keys);
	free(vals);
	free(e);
	return err;
}

static void agent_publish(struct agent *a);
static void agent_metrics_config(struct agent *a, const struct tg_config *old);

static void agent_collect(struct agent *a, int err, const struct snapshot *s,
			  time_t due, double t0, time_t last_due, bool summary);
static double mono_now(void);

/* The reload failed: the configuration in force stays, and says so. */
static void agent_reload_failed(struct agent *a)
{
	if (a->mx) {
		metrics_reloaded(a->mx, false);
		agent_publish(a);
	}
}

/*
 * SIGHUP: the configuration again. What was counted since the last
 * booking is booked first, under the configuration it was counted under
 * (a host a reload removes, or moves to another tenant, keeps its usage
 * up to the reload); then the kernel's host names and the rest change.
 */
static void agent_reload(struct agent *a)
{
	struct tg_config *cfg, *old = a->cfg;
	struct snapshot s = {};
	int err;

	if (agent_load_config(a, "reload failed, keeping the configuration "
			      "in force", &cfg)) {
		agent_reload_failed(a);
		return;
	}
	if (a->have_view) {
		err = snapshot_read(&a->v, &s, false);
		agent_collect(a, err, &s, time(NULL), mono_now(), time(NULL),
			      false);
		snapshot_free(&s);
	}
	err = agent_names(a, cfg);
	if (err) {
		pr_warn("reload failed, keeping the configuration in force: "
			"cannot give the kernel the host names: %s",
			strerror(-err));
		err = agent_names(a, old);
		if (err)
			pr_warn("cannot give the kernel back the host names in "
				"force: %s; until a reload succeeds, some "
				"connections may take the new configuration's "
				"services", strerror(-err));
		config_free(cfg);
		agent_reload_failed(a);
		return;
	}
	a->cfg = cfg;
	a->cfg_gen++;
	agent_tls(a);
	if (a->mx) {
		metrics_reloaded(a->mx, true);
		agent_metrics_config(a, old);
		agent_publish(a);
	}
	/* Said once all of it is in force, users of the endpoint too. */
	config_describe("reloaded", cfg);
	config_free(old);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* How often the agent looks for new processes to hook for TLS: a
 * process that starts (an nginx worker after a reload) counts no TLS
 * calls until then. */
#define TLS_SCAN_SECS 0.25

/*
 * Sleep @secs, reloading the configuration whenever SIGHUP arrives, and
 * hooking the TLS of new metered processes every TLS_SCAN_SECS. The
 * signals are blocked outside pselect(), which unblocks them atomically,
 * so a SIGHUP is never left waiting for the next interval.
 */
static void agent_sleep(struct agent *a, double secs, const sigset_t *wait_mask)
{
	double end = mono_now() + secs, left, scan = mono_now() + TLS_SCAN_SECS;

	while (!exiting) {
		if (reload) {
			reload = 0;
			agent_reload(a);
			continue;
		}
		if (!a->no_hooks && a->m && mono_now() >= scan) {
			meter_tls_scan(a->m);
			scan = mono_now() + TLS_SCAN_SECS;
		}
		left = end - mono_now();
		if (left <= 0)
			break;
		if (!a->no_hooks && a->m && left > scan - mono_now())
			left = scan - mono_now() > 0 ? scan - mono_now() : 0;
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
			due = a->book ? book_next(a->book, now.tv_sec,
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
static int agent_book(struct agent *a, const struct usage_list *l,
		      const struct snapshot *s, time_t due)
{
	int err = book_commit(a->book, l, s, due);

	if (err)
		pr_warn("ledger '%s': cannot book the interval, the next one "
			"will include it: %s",
			a->o.ledger, strerror(-err));
	if (a->mx)
		metrics_committed(a->mx, !err);
	/* After the local commit: the fleet ledger only ever catches up,
	 * and says itself when it cannot. */
	if (a->fleet)
		fleet_ship(a->fleet, book_ledger(a->book));
	return err;
}

/* The time zone of the kernel's day banks: the ledger's. */
static const struct tz *agent_tz(const struct agent *a)
{
	return a->book ? book_tz(a->book) : a->tz;
}

/*
 * After an interval is read and booked (@booked): quiet peers' slots
 * reclaimed, those whose last counts are booked freed, and the kernel's
 * days moved on.
 */
static void agent_upkeep(struct agent *a, const struct snapshot *s,
			 bool booked)
{
	upkeep_reclaim(a->upkeep, s, booked, a->o.reclaim_after);
	upkeep_days(a->upkeep, agent_tz(a), time(NULL));
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
	if (!a->book || !a->mx)
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
	tz = ledger_time_zone(book_ledger(a->book));
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

/*
 * One interval of the data path, after reading @s (err: the read's
 * result): the usage rows, classified once; the ledger; the metrics and
 * the summary, from the same rows. @t0: when the collection began;
 * @last_due: when the previous one was due (the summary's rates).
 */
static void agent_collect(struct agent *a, int err, const struct snapshot *s,
			  time_t due, double t0, time_t last_due, bool summary)
{
	struct meter_prog_stat st[METER_NR_PROGS];
	const struct usage_list *l;

	if (!err)
		err = usage_update(a->usage, a->cfg, a->cfg_gen, s, &l);
	if (err) {
		pr_warn("cannot read counters: %s", strerror(-err));
		if (a->mx) {
			metrics_collection_failed(a->mx);
			agent_publish(a);
		}
		return;
	}
	agent_upkeep(a, s, !a->book || !agent_book(a, l, s, due));
	/* Rates over the interval's real length: the one before midnight
	 * is shorter. */
	if (summary)
		print_summary(l, s, &a->last,
			      due > last_due ? due - last_due : 1);
	if (!a->mx)
		return;
	if (a->have_plan)
		metrics_rate(a->mx, book_ledger(a->book), &a->plan,
			     time(NULL));
	metrics_programs(a->mx, meter_prog_stats(a->m, st) ? NULL : st,
			 METER_NR_PROGS);
	if (metrics_collected(a->mx, l, s, mono_now() - t0))
		pr_warn("metrics: out of memory: series not updated");
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
	if (a->book)
		metrics_booking(a->mx);
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

/*
 * What the agent needs before it touches the kernel: the configuration,
 * the ledger (with the fleet ledger) and the metrics endpoint. A wrong
 * file or a port in use stops the agent here, while it has changed
 * nothing.
 */
static int agent_prepare(struct agent *a)
{
	struct run_opts *o = &a->o;
	int err;

	if (agent_load_config(a, "cannot load the configuration", &a->cfg))
		return -EINVAL;
	config_describe("loaded", a->cfg);
	a->usage = usage_new();
	if (!a->usage)
		return -ENOMEM;
	if (o->ledger) {
		err = agent_host(o);
		if (err)
			return err;
		err = book_open(&a->book, &(struct book_opts){
					.ledger = o->ledger,
					.host = o->host,
					.time_zone = agent_ledger_tz(a->cfg,
								     &a->plan),
					.start_unseen = !o->book_existing });
		if (err)
			return err;
		pr_info("ledger '%s': host %s, days in %s", o->ledger, o->host,
			ledger_time_zone(book_ledger(a->book)));
		err = fleet_open_from(&a->fleet, o->ship, o->ship_file);
		if (err)
			return err;
	} else if ((err = tz_load(&a->tz, agent_ledger_tz(a->cfg, &a->plan)))) {
		pr_warn("cannot load the time zone of the days: %s",
			strerror(-err));
		return err;
	}
	return agent_metrics_start(a);
}

/*
 * SIGINT and SIGTERM end the loop, SIGHUP reloads; all three are blocked
 * but while the loop waits (@wait_mask), so none is lost between two
 * checks.
 */
static void agent_signals(sigset_t *wait_mask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t sigs;

	/* A scraper that hangs up mid-answer must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, wait_mask);
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGHUP);
}

/*
 * Record beside the pins how this agent runs, for the read commands:
 * paths made absolute, since they may run in another directory. Without
 * the record they work all the same, with their defaults.
 */
static void agent_record(const struct agent *a)
{
	const struct run_opts *o = &a->o;
	struct agent_info ai = {
		.version = AGENT_INFO_VERSION,
		.interval = o->interval,
		.pid = getpid(),
		.started = time(NULL),
	};
	char buf[PATH_MAX];
	int err;

	if (strcmp(a->cfg->path, TG_BUILTIN))
		snprintf(ai.config, sizeof(ai.config), "%s",
			 realpath(a->cfg->path, buf) ? buf : a->cfg->path);
	if (o->ledger)
		snprintf(ai.ledger, sizeof(ai.ledger), "%s",
			 realpath(o->ledger, buf) ? buf : o->ledger);
	err = agent_info_pin(o->pin_dir, &ai);
	if (err)
		pr_warn("cannot record this agent's settings in '%s' (dump, "
			"classify and status will need them given): %s",
			o->pin_dir, strerror(-err));
}

/*
 * Load, lock, attach and pin the meter, take a view of its maps, give up
 * what the agent no longer needs, and start serving metrics.
 */
static int agent_start(struct agent *a)
{
	struct run_opts *o = &a->o;
	int err;

	err = meter_load(&a->m, &(struct meter_opts){
					.pin_dir = o->pin_dir,
					.max_peers = o->max_peers,
					.backend_peers = o->backend_peers,
					.max_tls_procs = o->max_tls_procs,
					.tls_exported = o->tls_exported,
					.no_calls = o->no_calls });
	if (err)
		return err;
	a->lock = lock_pin_dir(o->pin_dir);
	if (a->lock < 0)
		return -EBUSY;
	/* The days before the programs count: every packet falls in the
	 * bank of its day from the first one on. */
	err = view_from_meter(&a->v, a->m);
	if (err)
		return err;
	a->have_view = true;
	err = upkeep_open(&a->upkeep, &a->v);
	if (!err)
		err = upkeep_days(a->upkeep, agent_tz(a), time(NULL));
	if (!err)
		err = agent_names(a, a->cfg);
	if (!err)
		err = meter_attach(a->m, o->cgroup);
	if (err)
		return err;
	agent_tls(a);
	agent_record(a);
	err = privs_drop(&o->privs, a->v.meta);
	if (err)
		return err;
	/* Hooking a TLS library takes CAP_BPF and CAP_PERFMON, and finding
	 * it reading other users' /proc/PID/maps: gone with root. */
	if (geteuid() != 0) {
		a->no_hooks = true;
		pr_info("tls: not root any more: TLS libraries are hooked at "
			"start only (name them in the configuration's tls, "
			"or start the agent after the gateway)");
	}
	err = agent_metrics_serve(a);
	if (err)
		return err;
	printf("tollgate %s: %s cgroup %s (ingress, egress, sock_ops), "
	       "pinned in %s\n", TOLLGATE_VERSION,
	       meter_resumed(a->m) ? "resumed metering" : "metering",
	       o->cgroup, o->pin_dir);
	if (o->summary)
		printf("summary every %us; Ctrl-C stops the agent, %s\n",
		       o->interval,
		       o->detach_on_exit ? "and detaches the meter" :
					   "the kernel keeps counting");
	fflush(stdout);
	return 0;
}

/*
 * The collection loop, until SIGINT or SIGTERM. The first pass books at
 * once what was counted while no agent ran; then every interval, and at
 * every midnight. A clean exit books what the last interval counted so
 * far.
 */
static void agent_loop(struct agent *a, const sigset_t *wait_mask)
{
	const struct run_opts *o = &a->o;
	struct snapshot s = {};
	time_t due, last_due;
	bool first;
	int err;

	due = last_due = time(NULL);
	for (first = true; !exiting; first = false) {
		double t0;
		time_t now;

		if (!first)
			due = agent_wait(a, due, wait_mask);
		if (exiting)
			break;
		/* Processes that started since may map a TLS library
		 * not hooked yet. */
		if (!a->no_hooks)
			meter_tls_scan(a->m);
		t0 = mono_now();
		err = snapshot_read(&a->v, &s, false);
		agent_collect(a, err, &s, due, t0, last_due,
			      o->summary && !first);
		snapshot_free(&s);
		last_due = due;
		/* Behind by more than an interval (a suspended host): start
		 * the schedule again from now. */
		now = time(NULL);
		if (now - due > (time_t)o->interval)
			due = now;
		due = a->book ? book_next(a->book, due, o->interval) :
				due + o->interval;
	}
	pr_info("exiting");
	if (a->book) {
		err = snapshot_read(&a->v, &s, false);
		agent_collect(a, err, &s, time(NULL), mono_now(), due, false);
		snapshot_free(&s);
	}
}

/* Release everything; @err: the start failed. */
static void agent_stop(struct agent *a, int err)
{
	const struct run_opts *o = &a->o;

	if (a->have_view)
		view_close(&a->v);
	/* A start that failed takes back the pins it made (another agent's
	 * stay: it holds the lock and this one never got it). */
	if (err && a->lock >= 0)
		meter_abandon(a->m);
	else
		meter_free(a->m);
	if (o->detach_on_exit && a->lock >= 0)
		meter_detach(o->pin_dir, !o->summary);
	else if (!err)
		fprintf(stderr, "tollgate: agent stopped; the meter stays "
				"attached (pinned in %s), 'tollgate detach' "
				"removes it\n", o->pin_dir);
	if (a->lock >= 0)
		close(a->lock);
	metrics_server_stop(a->srv);
	metrics_free(a->mx);
	fleet_close(a->fleet);
	book_close(a->book);
	upkeep_close(a->upkeep);
	tz_free(a->tz);
	usage_free(a->usage);
	config_free(a->cfg);
}

int cmd_run(int argc, char **argv)
{
	struct agent a = {
		.o = {
			.pin_dir = TG_DEFAULT_PIN_DIR,
			.ledger = TG_DEFAULT_LEDGER,
			.interval = 10,
			.reclaim_after = TG_DEFAULT_RECLAIM_AFTER,
			.max_tls_procs = TG_TLS_MAX_PROCS,
			.summary = -1,
		},
		.lock = -1,
	};
	sigset_t wait_mask;
	int err;

	if (parse_run_args(argc, argv, &a.o))
		return 2;
	if (!a.o.cgroup[0] &&
	    default_cgroup(a.o.cgroup, sizeof(a.o.cgroup)))
		return 1;
	if (a.o.summary < 0)
		a.o.summary = isatty(STDOUT_FILENO);
	err = agent_prepare(&a);
	if (!err) {
		agent_signals(&wait_mask);
		err = agent_start(&a);
	}
	if (!err)
		agent_loop(&a, &wait_mask);
	agent_stop(&a, err);
	return err ? 1 : 0;
}
