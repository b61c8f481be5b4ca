// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain.c - the classify stage's configuration seen from the command
 * line:
 * `tollgate classify` says how the agent would bill the bytes to an
 * address and which rule decided (classify_why), and `tollgate
 * check-config` loads a configuration and its range files and reports the
 * first fault with file, line, column and field, for use before a reload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/settings.h"
#include "lib/log.h"
#include "lib/tgerr.h"
#include "classify/classify.h"
#include "classify/hosts.h"
#include "export/dump.h"
#include "load/loader.h"

/* One address of the command line. */
struct target {
	const char *arg;
	__u8 addr[16];
	__u16 port;	/* 0: none given */
};

static int parse_target(const char *arg, struct target *t)
{
	const char *why;
	int err;

	t->arg = arg;
	err = parse_endpoint(arg, t->addr, &t->port, &why);
	if (err)
		pr_warn("'%s': %s", arg, why);
	return err;
}

static int load_config(const char *pin_dir, const char *path,
		       struct tg_config **cfg)
{
	struct tg_err e = {};
	char msg[sizeof(e) + 16];

	if (settings_read_config(pin_dir, path, cfg, &e)) {
		pr_warn("cannot load the configuration: %s",
			tg_err_str(&e, msg, sizeof(msg)));
		return -EINVAL;
	}
	return 0;
}

static void json_where(FILE *f, const struct tg_config *cfg,
		       const struct tg_class *c)
{
	const struct tg_rule *r = c->rule;
	char p[CIDR_STRLEN];

	fputs(",\"rule\":{\"prefix\":", f);
	json_string(f, cidr_format(&r->prefix, p, sizeof(p)));
	fputs(",\"origin\":", f);
	json_string(f, r->origin == TG_ORIGIN_NETWORKS ? "networks" :
		       r->origin == TG_ORIGIN_BUILTIN ? "built-in" : "ranges");
	fputs(",\"file\":", f);
	json_string(f, r->file);
	fprintf(f, ",\"line\":%u}", r->line);
	if (c->be) {
		fputs(",\"backends_entry\":{\"file\":", f);
		json_string(f, cfg->path);
		fprintf(f, ",\"line\":%u}", c->be->line);
	}
	if (c->svc) {
		fputs(",\"services_entry\":{\"file\":", f);
		json_string(f, cfg->path);
		fprintf(f, ",\"line\":%u}", c->svc->line);
	}
}

/* What --host asked, and how the name matched. */
struct asked {
	const char *host;	/* NULL: no --host */
	enum host_via via;
};

static void print_json(FILE *f, const struct tg_config *cfg,
		       const struct target *t, const struct tg_class *c,
		       const struct asked *q, const char *why, bool first)
{
	char addr[48];

	fprintf(f, "%s\n{\"address\":", first ? "" : ",");
	json_string(f, fmt_addr(t->addr, addr, sizeof(addr)));
	fprintf(f, ",\"port\":%u,\"role\":\"%s\",\"proto\":", t->port,
		role_name(c->role));
	json_proto(f, c->proto);
	if (q->host) {
		fputs(",\"asked_host\":", f);
		json_string(f, q->host);
		fputs(",\"host_match\":", f);
		json_string(f, host_via_name(q->via));
		fprintf(f, ",\"service_id\":%u", c->svc_id);
	}
	fputs(",\"traffic_type\":", f);
	json_string(f, traffic_name(c->type));
	fprintf(f, ",\"billable\":%s,\"flags\":",
		c->billable ? "true" : "false");
	json_flags(f, c->flags);
	fputs(",\"network\":", f);
	json_string(f, network_name(c->network));
	fputs(",\"provider\":", f);
	json_string(f, c->provider);
	fputs(",\"region\":", f);
	json_string(f, c->region);
	fputs(",\"kind\":", f);
	json_string(f, kind_name(c->kind));
	fputs(",\"backend\":", f);
	json_string(f, c->backend);
	fputs(",\"service\":", f);
	json_string(f, c->service);
	fputs(",\"tenant\":", f);
	json_string(f, c->tenant);
	fputs(",\"host\":", f);
	json_string(f, c->host);
	json_where(f, cfg, c);
	fputs(",\"why\":", f);
	json_string(f, why);
	fputc('}', f);
}

static const char classify_usage[] =
	"Usage: tollgate classify [OPTIONS] ADDR[:PORT]...\n"
	"\n"
	"Say how the agent bills the bytes it sends to each address, and why:\n"
	"the traffic type of the outbound bytes, billed or free, flags, the\n"
	"services or backends entry and the address rule (prefix, file, line)\n"
	"that decided. Inbound bytes are always of type 'inbound', not billed.\n"
	"IPv6 addresses with a port are written [ADDR]:PORT. For a backend\n"
	"PORT is the backend's port; for a client, the gateway's local port.\n"
	"--host NAME asks for a client whose requests name NAME (their Host,\n"
	":authority or TLS SNI): the services entry it takes, in the order of\n"
	"precedence (exact host on the port, longest wildcard on the port,\n"
	"the port alone, exact host on any port, longest wildcard on any\n"
	"port), and how it matched.\n"
	"\n"
	"Options:\n"
	"      --config FILE       configuration (default: the one the agent\n"
	"                          on the pin directory runs with, else\n"
	"                          " TG_CONFIG_DEFAULT_PATH ", else the\n"
	"                          built-in one; standard error says which)\n"
	"  -p, --pin-dir DIR       where to find the agent (default\n"
	"                          " TG_DEFAULT_PIN_DIR ")\n"
	"  -r, --role backend|client\n"
	"                          the peer's role (default backend)\n"
	"  -P, --proto NAME|NUM    protocol, for services entries (default tcp)\n"
	"  -H, --host NAME         the host a client's requests name (implies\n"
	"                          --role client)\n"
	"  -f, --format table|json output format (default table: one line\n"
	"                          per address)\n"
	"  -h, --help              this help\n"
	"\n"
	"Examples:\n"
	"  tollgate classify 10.1.2.3:8080 116.196.4.9\n"
	"  tollgate classify --config ./tollgate.yaml '[2001:db8::7]:443'\n"
	"  tollgate classify --role client --proto udp 192.0.2.7:443\n"
	"  tollgate classify 192.0.2.7:443 --host api.tenant-a.example\n"
	"  tollgate classify --format json 10.20.1.1:80 | jq '.[].traffic_type'\n";

static int take_role(const char *opt, const char *arg, void *dst)
{
	if (!strcmp(arg, "backend")) {
		*(__u8 *)dst = TG_ROLE_BACKEND;
	} else if (!strcmp(arg, "client")) {
		*(__u8 *)dst = TG_ROLE_CLIENT;
	} else {
		pr_warn("--role: '%s' is not one of backend, client", arg);
		return -EINVAL;
	}
	return 0;
}

static int take_proto(const char *opt, const char *arg, void *dst)
{
	if (proto_parse(arg, dst)) {
		pr_warn("--proto: '%s' is not tcp, udp, sctp, icmp, icmpv6, "
			"udplite or a number from 0 to 255", arg);
		return -EINVAL;
	}
	return 0;
}

int cmd_classify(int argc, char **argv)
{
	const char *config = NULL, *pin_dir = TG_DEFAULT_PIN_DIR;
	enum out_format fmt = FMT_TABLE;
	__u8 role = 0, proto = 6;
	struct asked q = {};
	const struct opt opts[] = {
		OPT("config", 0, OPT_STR, &config),
		OPT("pin-dir", 'p', OPT_STR, &pin_dir, .nonempty = true),
		OPT("role", 'r', OPT_FN, &role, .fn = take_role),
		OPT("proto", 'P', OPT_FN, &proto, .fn = take_proto),
		OPT("host", 'H', OPT_STR, &q.host, .nonempty = true),
		OPT("format", 'f', OPT_FORMAT, &fmt,
		    .formats = OPT_TABLE | OPT_JSON),
		{},
	};
	int first = opts_parse(argc, argv, opts, classify_usage);
	struct tg_config *cfg = NULL;
	struct target *t;
	char why[1024];
	int i, n, err = 0;

	if (first < 0)
		return 2;
	n = argc - first;
	if (n <= 0) {
		pr_warn("classify: no address given; 'tollgate classify "
			"--help' shows examples");
		return 2;
	}
	if (q.host && role == TG_ROLE_BACKEND) {
		pr_warn("classify: --host is what a client's requests name: "
			"not with --role backend");
		return 2;
	}
	if (!role)
		role = q.host ? TG_ROLE_CLIENT : TG_ROLE_BACKEND;
	t = calloc(n, sizeof(*t));
	if (!t) {
		pr_warn("out of memory");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (parse_target(argv[first + i], &t[i]))
			err = 2;
	if (!err && load_config(pin_dir, config, &cfg))
		err = 1;
	if (fmt == FMT_JSON && !err)
		fputc('[', stdout);
	for (i = 0; i < n && !err; i++) {
		struct tg_class res;
		__u32 svc = 0;
		size_t k = 0;

		if (q.host) {
			char h[4 * TG_NAME_MAX];

			svc = hosts_resolve(cfg, q.host, t[i].port, &q.via);
			/* the host and how it matched, before the rest */
			k = snprintf(why, sizeof(why), "host '%s' (%s): ",
				     tg_printable(q.host, strlen(q.host), h,
						  sizeof(h)),
				     host_via_name(q.via));
			if (k >= sizeof(why))
				k = 0;
		}
		classify(cfg, role, t[i].addr, t[i].port, proto, svc, true,
			 &res);
		classify_why(cfg, &res, why + k, sizeof(why) - k);
		if (fmt == FMT_JSON)
			print_json(stdout, cfg, &t[i], &res, &q, why, !i);
		else
			printf("%s\n", why);
	}
	if (fmt == FMT_JSON && !err)
		fputs("\n]\n", stdout);
	config_free(cfg);
	free(t);
	if (!err && fflush(stdout))
		err = 1;
	return err;
}

static const char check_config_usage[] =
	"Usage: tollgate check-config [FILE]\n"
	"\n"
	"Load a configuration and every range file it names, and check it as\n"
	"'tollgate run' and a SIGHUP reload do: the metrics address, the price\n"
	"plan and its region, the TLS files, and the regions and providers\n"
	"that decide a bill, against the plan's and the range files' (a name\n"
	"they do not know is refused unless known_regions or known_providers\n"
	"lists it). The first fault is reported as FILE:LINE:COLUMN: FIELD:\n"
	"what is wrong, and the exit status is 1. What run would only warn of\n"
	"is reported as FILE:LINE:COLUMN: warning: FIELD: ..., exit status 0.\n"
	"FILE defaults to " TG_CONFIG_DEFAULT_PATH ", which must then exist.\n"
	"\n"
	"Options:\n"
	"  -q, --quiet   print nothing when the file is right\n"
	"  -h, --help    this help\n"
	"\n"
	"Examples:\n"
	"  tollgate check-config /etc/tollgate/tollgate.yaml\n"
	"  tollgate check-config new.yaml && cp new.yaml /etc/tollgate/tollgate.yaml"
	" &&\n"
	"      kill -HUP $(pidof tollgate)\n";

int cmd_check_config(int argc, char **argv)
{
	const char *path = TG_CONFIG_DEFAULT_PATH;
	bool quiet = false;
	const struct opt opts[] = {
		OPT("quiet", 'q', OPT_FLAG, &quiet),
		{},
	};
	int first = opts_parse(argc, argv, opts, check_config_usage);
	struct tg_config *cfg;
	struct tg_err e = {};
	char msg[sizeof(e) + 16];
	int warnings;
	size_t i;

	if (first < 0)
		return 2;
	if (argc - first > 1) {
		pr_warn("check-config: one file at a time ('%s' is one too "
			"many)", argv[first + 1]);
		return 2;
	}
	if (first < argc)
		path = argv[first];
	if (settings_config(path, true, &cfg, &e, &warnings)) {
		pr_bare("%s", tg_err_str(&e, msg, sizeof(msg)));
		return 1;
	}
	if (!quiet) {
		char with[32] = "";

		if (warnings)
			snprintf(with, sizeof(with), " with %d warning%s",
				 warnings, warnings == 1 ? "" : "s");
		size_t hosts = 0;

		for (i = 0; i < cfg->nr_services; i++)
			hosts += cfg->services[i].host != NULL;
		printf("%s: ok%s: region %s, provider %s, plan %s; %zu address "
		       "rules, %zu services (%zu with a host), %zu backends\n",
		       path, with, cfg->region, cfg->provider,
		       settings_plan_name(cfg), cfg->nr_rules,
		       cfg->nr_services, hosts, cfg->nr_backends);
		for (i = 0; i < cfg->nr_ranges; i++)
			printf("  %s (%s, line %u): %zu prefixes\n",
			       cfg->ranges[i].file,
			       ranges_format_name(cfg->ranges[i].format),
			       cfg->ranges[i].line,
			       cfg->ranges[i].nr_prefixes);
	}
	config_free(cfg);
	return 0;
}
