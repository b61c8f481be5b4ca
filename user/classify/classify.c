// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * classify.c - the classify stage: from (role, address, port, direction) to a
 * traffic type, a billing decision and flags, following the billing rules in
 * classify.h. classify() only looks things up and compares names;
 * classify_why() does the formatting, for the paths that show a human the
 * reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>

#include "meter.h"
#include "classify/classify.h"
#include "classify/hosts.h"

static const char *const flag_names[TG_NR_FLAGS] = {
	"unexplained", "no_region", "no_provider", "unknown_backend",
	"unknown_service",
};

const char *flag_name(__u32 bit)
{
	if (!bit || (bit & (bit - 1)) || bit >= 1u << TG_NR_FLAGS)
		return NULL;
	return flag_names[__builtin_ctz(bit)];
}

const char *flags_str(__u32 flags, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < TG_NR_FLAGS; i++) {
		if (!(flags & (1u << i)) || n >= len)
			continue;
		n += snprintf(buf + n, len - n, "%s%s", n ? "," : "",
			      flag_names[i]);
	}
	return buf;
}

/* Equal names; NULL (unknown) equals nothing. */
static inline bool same(const char *a, const char *b)
{
	return a && b && *a && (a == b || !strcmp(a, b));
}

/* Where an address rule puts the peer, relative to the gateway. */
struct where {
	bool provider_known;
	bool ours;		/* the gateway's own cloud */
	bool region_known;
	bool same_region;	/* the gateway's own region */
};

static struct where where_of(const struct tg_config *cfg,
			     const struct tg_rule *r)
{
	struct where w;

	if (r->own)
		return (struct where){ true, true, true, true };
	w.provider_known = r->provider != NULL;
	w.ours = same(r->provider, cfg->provider);
	w.region_known = r->region != NULL;
	w.same_region = same(r->region, cfg->region);
	return w;
}

/* Type and flags of the bytes to backend-role peer at rule @r. */
static enum tg_traffic backend_type(const struct tg_config *cfg,
				    const struct tg_rule *r, enum tg_kind kind,
				    __u32 *flags)
{
	struct where w = where_of(cfg, r);
	bool intranet = r->network == TG_NET_INTRANET;

	if (kind == TG_KIND_SCF) {
		if (!w.provider_known) {
			*flags |= TG_FLAG_NO_PROVIDER;
			return TG_TRAFFIC_SCF_OTHER_REGION;
		}
		if (!w.ours) {
			*flags |= TG_FLAG_UNEXPLAINED;
			return TG_TRAFFIC_SCF_OTHER_REGION;
		}
		if (!w.region_known) {
			*flags |= TG_FLAG_NO_REGION;
			return TG_TRAFFIC_SCF_OTHER_REGION;
		}
		return w.same_region ? TG_TRAFFIC_SCF_SAME_REGION :
				       TG_TRAFFIC_SCF_OTHER_REGION;
	}
	if (!w.provider_known) {
		*flags |= TG_FLAG_NO_PROVIDER;
		return TG_TRAFFIC_BACKEND_INTERNET;
	}
	if (!w.ours) {
		if (intranet)
			*flags |= TG_FLAG_UNEXPLAINED;
		return TG_TRAFFIC_BACKEND_INTERNET;
	}
	if (!w.region_known) {
		*flags |= TG_FLAG_NO_REGION;
		return TG_TRAFFIC_BACKEND_OTHER_REGION;
	}
	if (!w.same_region) {
		if (intranet)
			*flags |= TG_FLAG_UNEXPLAINED;
		return TG_TRAFFIC_BACKEND_OTHER_REGION;
	}
	return intranet ? TG_TRAFFIC_BACKEND_INTRANET :
			  TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION;
}

int classify(const struct tg_config *cfg, __u8 role, const __u8 addr[16],
	     __u16 port, __u8 proto, __u32 svc, bool out_dir,
	     struct tg_class *res)
{
	const struct tg_rule *r;
	enum tg_traffic type;
	__u32 flags = 0;

	if (role != TG_ROLE_CLIENT && role != TG_ROLE_BACKEND)
		return -EINVAL;
	r = config_match(cfg, addr);
	res->rule = r;
	res->be = NULL;
	res->svc = NULL;
	res->network = r->network;
	res->kind = TG_KIND_HTTP;
	res->provider = r->own ? cfg->provider : r->provider ? r->provider : "";
	res->region = r->own ? cfg->region : r->region ? r->region : "";
	res->service = "";
	res->tenant = "";
	res->backend = "";
	res->host = "";
	memcpy(res->addr, addr, 16);
	res->port = port;
	res->proto = proto;
	res->role = role;
	res->out_dir = out_dir;
	res->svc_id = svc;

	if (role == TG_ROLE_CLIENT) {
		const struct tg_service *s =
			config_service_of(cfg, port, proto, svc);

		if (s) {
			res->svc = s;
			res->service = s->name;
			res->tenant = s->tenant;
			res->host = s->host ? s->host : "";
		} else {
			flags |= TG_FLAG_UNKNOWN_SERVICE;
		}
		type = TG_TRAFFIC_OUTBOUND_CLIENT;
	} else {
		const struct tg_backend *b = config_backend(cfg, addr, port);

		if (b) {
			res->be = b;
			res->kind = b->kind;
			res->backend = b->name;
			res->service = b->service;
			res->tenant = b->tenant;
		} else {
			flags |= TG_FLAG_UNKNOWN_BACKEND;
		}
		type = backend_type(cfg, r, res->kind, &flags);
	}
	res->type = out_dir ? type : TG_TRAFFIC_INBOUND;
	res->billable = traffic_billable(res->type);
	res->flags = flags;
	res->flagged = flags != 0;
	res->reason = flags ? flag_names[__builtin_ctz(flags)] : "";
	return 0;
}

void classify_frontend(const struct tg_config *cfg, __u16 port, __u8 proto,
		       __u32 svc, struct tg_class *res)
{
	const struct tg_service *sv = config_service_of(cfg, port, proto, svc);

	memset(res, 0, sizeof(*res));
	res->role = TG_ROLE_CLIENT;
	res->port = port;
	res->proto = proto;
	res->out_dir = true;
	res->kind = TG_KIND_HTTP;
	res->type = TG_TRAFFIC_OUTBOUND_CLIENT;
	res->billable = traffic_billable(res->type);
	res->provider = res->region = res->backend = "";
	res->svc = sv;
	res->svc_id = svc;
	res->service = sv ? sv->name : "";
	res->tenant = sv ? sv->tenant : "";
	res->host = sv && sv->host ? sv->host : "";
	res->flags = sv ? 0 : TG_FLAG_UNKNOWN_SERVICE;
	res->flagged = res->flags != 0;
	res->reason = res->flagged ? flag_names[__builtin_ctz(res->flags)] : "";
}

/* --- explaining --------------------------------------------------------- */

struct sbuf {
	char *buf;
	size_t len;
	size_t n;
};

__attribute__((format(printf, 2, 3)))
static void sb_add(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (sb->n >= sb->len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(sb->buf + sb->n, sb->len - sb->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		sb->n += r;
}

static void sb_addr(struct sbuf *sb, const __u8 addr[16], __u16 port)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					 0xff, 0xff };
	char a[INET6_ADDRSTRLEN];
	bool v4 = !memcmp(addr, mapped, sizeof(mapped));

	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? addr + 12 : addr, a,
		  sizeof(a));
	if (port)
		sb_add(sb, v4 ? "%s:%u" : "[%s]:%u", a, port);
	else
		sb_add(sb, "%s", a);
}

static void sb_where(struct sbuf *sb, const char *file, unsigned int line)
{
	if (line)
		sb_add(sb, "%s:%u", file, line);
	else
		sb_add(sb, "%s", file);
}

const char *classify_why(const struct tg_config *cfg,
			 const struct tg_class *res, char *buf, size_t len)
{
	struct sbuf sb = { buf, len, 0 };
	const struct tg_rule *r = res->rule;
	char p[CIDR_STRLEN], fl[96];

	if (len)
		buf[0] = '\0';
	if (res->role == TG_ROLE_CLIENT) {
		sb_add(&sb, "client ");
		sb_addr(&sb, res->addr, 0);
		if (res->svc) {
			sb_add(&sb, " on port %u: service '%s' (", res->port,
			       res->svc->name);
			sb_where(&sb, cfg->path, res->svc->line);
			if (res->svc->host)
				sb_add(&sb, ", host %s %s", res->svc->host,
				       res->svc->port ? "on the port" :
							"on any port");
			else if (hosts_any(cfg))
				sb_add(&sb, ", the port alone");
			sb_add(&sb, ")");
		} else {
			sb_add(&sb, " on port %u: no services entry",
			       res->port);
		}
	} else {
		sb_add(&sb, "backend ");
		sb_addr(&sb, res->addr, res->port);
		if (res->be) {
			sb_add(&sb, ": '%s' %s (", res->be->name,
			       kind_name(res->kind));
			sb_where(&sb, cfg->path, res->be->line);
			sb_add(&sb, ")");
		} else {
			sb_add(&sb, ": no backends entry, taken as http");
		}
	}
	if (r) {
		sb_add(&sb, "; %s (", cidr_format(&r->prefix, p, sizeof(p)));
		if (r->origin == TG_ORIGIN_NETWORKS)
			sb_add(&sb, "networks, ");
		sb_where(&sb, r->file, r->line);
		sb_add(&sb, ") %s", network_name(r->network));
		if (r->own)
			sb_add(&sb, ", the gateway's own cloud and region");
		else
			sb_add(&sb, ", provider %s, region %s",
			       r->provider ? r->provider : "unknown",
			       r->region ? r->region : "unknown");
		if (res->role == TG_ROLE_BACKEND && !r->own)
			sb_add(&sb, "; gateway %s %s",
			       *cfg->provider ? cfg->provider : "(unset)",
			       *cfg->region ? cfg->region : "(unset)");
	}
	sb_add(&sb, ": %s, %s", traffic_name(res->type),
	       res->billable ? "billed" : res->out_dir ? "free" :
	       "not billed");
	if (res->flags)
		sb_add(&sb, "; flagged %s", flags_str(res->flags, fl,
						      sizeof(fl)));
	return buf;
}
