// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status.c - the export stage's health report: is the meter healthy?
 * Reads only what
 * outlives the agent (the pins, the kernel maps behind them, the ledger),
 * so it answers the same with or without a running agent.
 *
 * Checks, each ok, warn or fail; any fail makes the exit status 1:
 *
 *   attach      every pinned cgroup link (ingress, egress, sock_ops) is
 *               attached to a cgroup: fail when none is, or some are not
 *   calls       whether calls are counted (the receive tracer pinned) and
 *               in how many TLS libraries; warn when an older agent's
 *               syscall-entry tracers are still pinned
 *   pins        the pin directory and the maps are there: fail when not
 *   peers       peer slots holding peers / capacity, those being reclaimed,
 *               those free and those never handed out, and the slots
 *               reclaimed ever: warn from 90% (new peers are then counted
 *               by billing key until quiet slots are reclaimed)
 *   inserts     failed peer inserts and overflow bytes by reason and role:
 *               warn when any bytes had no slot (totals per tenant stay
 *               exact, per-peer detail is lost)
 *   collection  the ledger's last snapshot: fail when older than 3
 *               intervals (--interval, default 10 s) while attached
 *   shipping    unshipped rows and the last ship to the fleet ledger: warn
 *               when rows wait and the last ship is older than 3 intervals
 *
 * The JSON output carries the slots and the overflow as numbers too
 * ("slots", "overflow"), beside the checks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "collect/snapshot.h"
#include "export/status.h"
#include "ledger/ledger.h"
#include "load/loader.h"

static const char *const level_name[] = { "ok", "warn", "FAIL" };

static struct check *add(struct status *st, const char *name, enum level lv,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static struct check *add(struct status *st, const char *name, enum level lv,
			 const char *fmt, ...)
{
	struct check *c = &st->c[st->nr++];
	va_list ap;

	c->name = name;
	c->level = lv;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return c;
}

/* Find the cgroup directory whose inode is @id (cgroup v2 ids are inode
 * numbers) under the cgroup2 mount. */
static __u64 want_ino;
static char found[4096];

static int match_ino(const char *path, const struct stat *sb, int flag,
		     struct FTW *ftw)
{
	if (flag == FTW_D && sb->st_ino == want_ino) {
		snprintf(found, sizeof(found), "%s", path);
		return 1;
	}
	return 0;
}

static const char *cgroup_path(__u64 id)
{
	char mnt[4096];

	found[0] = '\0';
	if (cgroup2_mount("/proc/mounts", mnt, sizeof(mnt)))
		return "?";
	want_ino = id;
	nftw(mnt, match_ino, 16, FTW_PHYS | FTW_MOUNT);
	return found[0] ? found : "?";
}

/* Pins under @pin_dir whose names start with @prefix. */
static int count_pins(const char *pin_dir, const char *prefix)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(pin_dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/*
 * Calls: counted when the receive tracer is pinned (an agent run with
 * --no-calls removes it). Pinned syscall-entry tracers belong to an agent
 * before 0.2, whose receive tracer reads their notes: they still work, but
 * put every syscall of the host on the traced path.
 */
static void check_calls(struct status *st, const char *pin_dir)
{
	char path[4096];
	int tls = count_pins(pin_dir, TG_LINK_TLS);
	int old = meter_old_tracers(pin_dir);
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/" TG_LINK_RECV, pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		add(st, "calls", ST_OK, "not counted: no receive tracer pinned "
		    "(the last agent ran with --no-calls, or none ran)");
		return;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.prog_id = 0;
	close(fd);
	if (old)
		add(st, "calls", ST_WARN, "counted by an older tollgate's "
		    "tracers, %d of them at syscall entry, which every syscall "
		    "of the host runs through: 'tollgate detach' and a new "
		    "start replace them", old);
	else
		add(st, "calls", ST_OK, "counted: receive tracer pinned "
		    "(program id %u); %d TLS hooks pinned", info.prog_id,
		    tls);
}

static void check_links(struct status *st, const char *pin_dir)
{
	static const char *const names[] = { TG_LINK_INGRESS, TG_LINK_EGRESS,
					     TG_LINK_SOCKOPS };
	char detail[600] = "", path[4096];
	int attached = 0, pinned = 0;
	__u64 cg = 0;
	size_t i, o = 0;

	for (i = 0; i < 3; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		const char *what = "not pinned";
		int fd;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, names[i]);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			pinned++;
			what = "detached";
			if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
			    info.type == BPF_LINK_TYPE_CGROUP &&
			    info.cgroup.cgroup_id) {
				what = "attached";
				attached++;
				cg = info.cgroup.cgroup_id;
			}
			close(fd);
		}
		o += snprintf(detail + o, sizeof(detail) - o, "%s%s %s",
			      i ? ", " : "", strchr(names[i], '_') + 1, what);
	}
	st->attached = attached > 0;
	if (attached == 3)
		add(st, "attach", ST_OK, "%s; cgroup %s (id %llu)", detail,
		    cgroup_path(cg), (unsigned long long)cg);
	else if (attached)
		add(st, "attach", ST_FAIL, "%s; cgroup %s (id %llu)", detail,
		    cgroup_path(cg), (unsigned long long)cg);
	else
		add(st, "attach", ST_FAIL, "nothing attached (%s)%s", detail,
		    pinned ? "" : ": no agent ever ran on this pin directory, "
				  "or it was detached");
}

/* The slots and overflow of snapshot @s; see status.h. */
void status_slots_of(const struct snapshot *s, struct status_slots *sl)
{
	/* The clients' range, then the backends' last backend_capacity
	 * slots (include/meter.h): each hands out its slots in order. */
	__u32 clients = s->capacity - s->backend_capacity;
	__u32 handed = (s->meta.next_slot < clients ?
				(__u32)s->meta.next_slot : clients) +
		       (s->meta.next_backend < s->backend_capacity ?
				(__u32)s->meta.next_backend :
				s->backend_capacity);
	int role, r;

	memset(sl, 0, sizeof(*sl));
	sl->known = true;
	sl->capacity = s->capacity;
	sl->backend_capacity = s->backend_capacity;
	sl->backend_held = snapshot_slots_held(s, TG_ROLE_BACKEND);
	sl->reclaiming = s->slots_limbo;
	sl->used = snapshot_slots_used(s) - s->slots_limbo;
	sl->free = s->slots_free;
	sl->unused = s->capacity - handed;
	sl->reclaimed = s->clock.reclaimed;
	sl->failed_inserts = s->stats[TG_STAT_PEER_FULL];
	for (role = 0; role < TG_NR_ROLES; role++)
		for (r = 0; r < OVF_NR; r++)
			snapshot_overflow(s, role, r, &sl->overflow[role][r]);
}

static __u64 both_ways(const struct tg_counters *c)
{
	return c->bytes_in + c->bytes_out;
}

static void check_maps(struct status *st, const char *pin_dir)
{
	const struct status_slots *sl = &st->slots;
	struct snapshot s = {};
	struct view v;
	__u64 used, over[OVF_NR] = {};
	int i, r, err;

	err = view_open_pinned(&v, pin_dir);
	if (err) {
		add(st, "pins", ST_FAIL, "no maps pinned in %s: %s", pin_dir,
		    strerror(-err));
		return;
	}
	err = snapshot_read(&v, &s, false);
	view_close(&v);
	if (err) {
		add(st, "pins", ST_FAIL, "cannot read the maps in %s: %s",
		    pin_dir, strerror(-err));
		return;
	}
	add(st, "pins", ST_OK, "%s: maps created %llds ago", pin_dir,
	    (long long)(time(NULL) - (__s64)(s.meta.created_ns / 1000000000ULL)));
	status_slots_of(&s, &st->slots);
	used = sl->used + sl->reclaiming;
	add(st, "peers", used * 10 >= (__u64)sl->capacity * 9 ? ST_WARN : ST_OK,
	    "%llu of %u slots hold peers (%llu%%), %u of them being "
	    "reclaimed; %u reclaimed slots free, %u never handed out; %llu "
	    "reclaimed in all%s",
	    (unsigned long long)used, sl->capacity,
	    sl->capacity ? (unsigned long long)(used * 100 / sl->capacity) : 0,
	    sl->reclaiming, sl->free, sl->unused,
	    (unsigned long long)sl->reclaimed,
	    used >= sl->capacity ? ": full, new peers are counted by billing "
				   "key until quiet ones are reclaimed" : "");
	for (i = 0; i < TG_NR_ROLES; i++)
		for (r = 0; r < OVF_NR; r++)
			over[r] += both_ways(&sl->overflow[i][r]);
	add(st, "inserts", over[OVF_NO_SLOT] || over[OVF_NO_BUCKET] ?
			   ST_WARN : ST_OK,
	    "%llu failed peer inserts; overflow bytes (in and out): %llu "
	    "without a slot, kept by billing key (client %llu, backend %llu); "
	    "%llu without a billing key's bucket (client %llu, backend "
	    "%llu); %llu without a socket",
	    (unsigned long long)sl->failed_inserts,
	    (unsigned long long)over[OVF_NO_SLOT],
	    (unsigned long long)both_ways(
		    &sl->overflow[TG_ROLE_CLIENT][OVF_NO_SLOT]),
	    (unsigned long long)both_ways(
		    &sl->overflow[TG_ROLE_BACKEND][OVF_NO_SLOT]),
	    (unsigned long long)over[OVF_NO_BUCKET],
	    (unsigned long long)both_ways(
		    &sl->overflow[TG_ROLE_CLIENT][OVF_NO_BUCKET]),
	    (unsigned long long)both_ways(
		    &sl->overflow[TG_ROLE_BACKEND][OVF_NO_BUCKET]),
	    (unsigned long long)over[OVF_NO_SOCKET]);
	snapshot_free(&s);
}

static void ago(char *buf, size_t len, __s64 t, __s64 now)
{
	char when[32];
	struct tm tm;
	time_t tt = t;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	snprintf(buf, len, "%s, %llds ago", when, (long long)(now - t));
}

static void check_ledger(struct status *st, const char *path, __u32 interval)
{
	struct ledger_snap snap = {};
	struct ledger_ship sh;
	struct ledger *l = NULL;
	__s64 now = time(NULL), late = 3 * (__s64)interval;
	char when[64];
	int err;

	if (!path) {
		add(st, "collection", ST_WARN, "no ledger: the agent runs with "
		    "--no-ledger, and books nothing");
		return;
	}
	if (access(path, F_OK)) {
		add(st, "collection", ST_WARN, "no ledger at %s (an agent "
		    "with --no-ledger, or another --ledger)", path);
		return;
	}
	err = ledger_open(&l, path, LEDGER_RDONLY, NULL);
	if (!err)
		err = ledger_last_snapshot(l, &snap);
	if (err) {
		add(st, "collection", ST_FAIL, "ledger %s: %s", path,
		    strerror(-err));
		ledger_close(l);
		return;
	}
	if (!snap.seq) {
		add(st, "collection", st->attached ? ST_FAIL : ST_WARN,
		    "ledger %s: nothing collected yet", path);
	} else {
		bool stalled = now - snap.taken_at > late;

		ago(when, sizeof(when), snap.taken_at, now);
		add(st, "collection", stalled && st->attached ? ST_FAIL :
				      stalled ? ST_WARN : ST_OK,
		    "ledger %s: last snapshot %llu at %s%s", path,
		    (unsigned long long)snap.seq, when,
		    stalled ? " (stalled: more than 3 intervals)" : "");
	}
	ledger_snap_free(&snap);

	err = ledger_ship_state(l, &sh);
	if (err) {
		add(st, "shipping", ST_WARN, "no shipping state: %s",
		    strerror(-err));
	} else if (!sh.shipped_at) {
		add(st, "shipping", ST_OK, "never shipped (no fleet ledger); "
		    "%llu rows changed", (unsigned long long)sh.unshipped);
	} else {
		bool lag = sh.unshipped && now - sh.shipped_at > late;

		ago(when, sizeof(when), sh.shipped_at, now);
		add(st, "shipping", lag ? ST_WARN : ST_OK,
		    "%llu rows unshipped; last ship %s",
		    (unsigned long long)sh.unshipped, when);
	}
	ledger_close(l);
}

/* Make every check; see status.h. */
bool status_check(struct status *st, const char *pin_dir, const char *ledger,
		  __u32 interval)
{
	bool ok = true;
	int i;

	memset(st, 0, sizeof(*st));
	check_links(st, pin_dir);
	check_calls(st, pin_dir);
	check_maps(st, pin_dir);
	check_ledger(st, ledger, interval);
	for (i = 0; i < st->nr; i++)
		ok &= st->c[i].level != ST_FAIL;
	return ok;
}

/* The slots and the overflow as JSON members, after the checks. */
static void json_slots(FILE *f, const struct status_slots *sl)
{
	int role, r;

	if (!sl->known)
		return;
	fprintf(f, ", \"slots\": {\"capacity\": %u, \"used\": %u, "
		   "\"reclaiming\": %u, \"free\": %u, \"unused\": %u, "
		   "\"reclaimed_total\": %llu, \"failed_inserts\": %llu, "
		   "\"backend_capacity\": %u, \"backend_held\": %u}",
		sl->capacity, sl->used, sl->reclaiming, sl->free, sl->unused,
		(unsigned long long)sl->reclaimed,
		(unsigned long long)sl->failed_inserts, sl->backend_capacity,
		sl->backend_held);
	fputs(", \"overflow\": {", f);
	for (role = 0; role < TG_NR_ROLES; role++) {
		fprintf(f, "%s\"%s\": {", role ? ", " : "", role_name(role));
		for (r = 0; r < OVF_NR; r++) {
			const struct tg_counters *c = &sl->overflow[role][r];

			fprintf(f, "%s\"%s\": {\"bytes_in\": %llu, "
				   "\"packets_in\": %llu, \"bytes_out\": %llu, "
				   "\"packets_out\": %llu}",
				r ? ", " : "", overflow_reason_name(r),
				(unsigned long long)c->bytes_in,
				(unsigned long long)c->packets_in,
				(unsigned long long)c->bytes_out,
				(unsigned long long)c->packets_out);
		}
		fputc('}', f);
	}
	fputc('}', f);
}

/* Print the checks; see status.h. */
void status_print(FILE *f, const struct status *st, bool ok,
		  enum out_format fmt)
{
	int i;

	if (fmt == FMT_JSON) {
		fprintf(f, "{\"ok\": %s, \"checks\": [", ok ? "true" : "false");
		for (i = 0; i < st->nr; i++) {
			fprintf(f, "%s{\"check\": \"%s\", \"level\": \"%s\", "
				   "\"detail\": ", i ? ", " : "", st->c[i].name,
				st->c[i].level == ST_FAIL ? "fail" :
				level_name[st->c[i].level]);
			json_string(f, st->c[i].detail);
			fputc('}', f);
		}
		fputc(']', f);
		json_slots(f, &st->slots);
		fprintf(f, "}\n");
	} else {
		for (i = 0; i < st->nr; i++)
			fprintf(f, "%-11s %-5s %s\n", st->c[i].name,
				level_name[st->c[i].level], st->c[i].detail);
		fprintf(f, "%s\n", ok ? "healthy" : "UNHEALTHY");
	}
	fflush(f);
}
