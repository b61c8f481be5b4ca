// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hosts.c - the classify stage's host names: parse a services entry's
 * host, make the kernel's names table, and resolve a name as the kernel
 * does (hosts.h). Names are hashed by include/names.h's own reader, the
 * kernel's, so that both sides agree by construction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/types.h>

#include "names.h"
#include "classify/config.h"
#include "classify/hosts.h"

static void name_of(struct tg_name *n, const char *s)
{
	tg_name_start(n);
	for (; *s; s++)
		if (tg_name_byte(n, (__u8)*s))
			break;
	tg_name_end(n);
}

/* The service id of normalized host @text. */
static __u32 host_svc(const char *text)
{
	__u32 h = TG_FNV32_OFF;

	for (; *text; text++)
		h = (h ^ (__u8)*text) * TG_FNV32_PRIME;
	return h ? h : 1;
}

int host_parse(const char *s, struct host_pattern *h, const char **why)
{
	const char *name = s, *p;
	size_t len, label = 0, labels = 0, i;
	struct tg_name n;
	char *t;

	memset(h, 0, sizeof(*h));
	if (!strncmp(s, "*.", 2)) {
		h->wildcard = true;
		name = s + 2;
	}
	len = strlen(name);
	if (len && name[len - 1] == '.')
		len--;		/* a trailing dot: the same name */
	if (!len) {
		*why = h->wildcard ? "a wildcard needs a suffix, like "
				     "*.example.com" : "empty";
		return -EINVAL;
	}
	if (len > TG_NAME_MAX) {
		*why = "longer than 253 characters";
		return -EINVAL;
	}
	for (p = name, i = 0; i < len; p++, i++) {
		unsigned char c = *p;

		if (c == '.') {
			if (!label) {
				*why = "an empty label (two dots, or a dot "
				       "first)";
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (c == ':') {
			*why = "a port is not part of a host: give it as "
			       "the entry's port";
			return -EINVAL;
		}
		if (c == '*') {
			*why = "a wildcard is '*.' and a suffix, like "
			       "*.example.com, and only that";
			return -EINVAL;
		}
		if (!tg_name_hostchar(tg_http_lower(c))) {
			*why = "a host name has letters, digits, '-', '_' "
			       "and dots only";
			return -EINVAL;
		}
		if (!label)
			labels++;
		if (++label > 63) {
			*why = "a label longer than 63 characters";
			return -EINVAL;
		}
	}
	if (h->wildcard && labels > TG_NAME_LABELS) {
		*why = "a wildcard's suffix has at most 8 labels";
		return -EINVAL;
	}
	snprintf(h->text, sizeof(h->text), "%s%.*s", h->wildcard ? "*." : "",
		 (int)len, name);
	for (t = h->text; *t; t++)
		*t = tg_http_lower(*t);
	name_of(&n, h->text + (h->wildcard ? 2 : 0));
	h->labels = n.nlab;
	h->hash = h->wildcard ? tg_name_suffix(&n, n.nlab) : n.hash;
	h->svc = host_svc(h->text);
	return 0;
}

bool hosts_any(const struct tg_config *cfg)
{
	for (size_t i = 0; i < cfg->nr_services; i++)
		if (cfg->services[i].host)
			return true;
	return false;
}

/* Names are read from TCP streams: entries of other protocols have no
 * part in the table. */
static bool tcp_entry(const struct tg_service *s)
{
	return !s->proto || s->proto == IPPROTO_TCP;
}

static int port_entry(struct host_entry *e, size_t *n, __u16 port,
		      __u32 flag)
{
	for (size_t i = 0; i < *n; i++) {
		if (e[i].key.kind == TG_NAME_PORT && e[i].key.port == port) {
			e[i].val.flags |= flag;
			return 0;
		}
	}
	memset(&e[*n], 0, sizeof(e[*n]));
	e[*n].key.kind = TG_NAME_PORT;
	e[*n].key.port = port;
	e[*n].val.flags = flag;
	(*n)++;
	return 0;
}

int hosts_table(const struct tg_config *cfg, struct host_entry **out,
		struct tg_names_cfg *ncfg)
{
	struct host_entry *e;
	size_t n = 0, i;

	memset(ncfg, 0, sizeof(*ncfg));
	*out = NULL;
	if (!hosts_any(cfg))
		return 0;
	/* at most a host and a port entry per services entry */
	e = calloc(2 * cfg->nr_services + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < cfg->nr_services; i++) {
		const struct tg_service *s = &cfg->services[i];

		if (!tcp_entry(s))
			continue;
		if (!s->host) {
			port_entry(e, &n, s->port, TG_PORT_ALONE);
			continue;
		}
		memset(&e[n], 0, sizeof(e[n]));
		e[n].key.hash = s->hash;
		e[n].key.port = s->port;
		e[n].key.kind = s->wildcard ? TG_NAME_WILD : TG_NAME_EXACT;
		e[n].key.labels = s->wildcard ? s->labels : 0;
		e[n].val.svc = s->svc;
		n++;
		if (s->wildcard && s->labels > ncfg->max_wild)
			ncfg->max_wild = s->labels;
		if (s->port)
			port_entry(e, &n, s->port, TG_PORT_HOSTS);
		else
			ncfg->flags |= TG_NAMES_ANY_PORT;
	}
	*out = e;
	return n;
}

/* The entry of @cfg's table with @key; NULL when none. The table is
 * small and this is for the command line: a scan. */
static const struct tg_service *find(const struct tg_config *cfg, __u64 hash,
				     __u16 port, bool wild, __u8 labels)
{
	for (size_t i = 0; i < cfg->nr_services; i++) {
		const struct tg_service *s = &cfg->services[i];

		if (s->host && tcp_entry(s) && s->hash == hash &&
		    s->port == port && s->wildcard == wild &&
		    (!wild || s->labels == labels))
			return s;
	}
	return NULL;
}

static bool port_alone(const struct tg_config *cfg, __u16 port)
{
	for (size_t i = 0; i < cfg->nr_services; i++)
		if (!cfg->services[i].host && cfg->services[i].port == port &&
		    tcp_entry(&cfg->services[i]))
			return true;
	return false;
}

/* The longest wildcard of port @port matching @n. */
static const struct tg_service *wild(const struct tg_config *cfg,
				     const struct tg_name *n, __u16 port)
{
	int k;

	for (k = TG_NAME_LABELS; k >= 1; k--) {
		const struct tg_service *s;

		if (k >= n->nlab)
			continue;
		s = find(cfg, tg_name_suffix(n, k), port, true, k);
		if (s)
			return s;
	}
	return NULL;
}

__u32 hosts_resolve(const struct tg_config *cfg, const char *name,
		    __u16 port, enum host_via *via)
{
	const struct tg_service *s;
	struct tg_name n;

	name_of(&n, name);
	*via = HOST_BAD;
	if (!n.len || (n.st & (TG_NAME_BAD | TG_NAME_BRACKET)))
		return 0;
	if ((s = find(cfg, n.hash, port, false, 0))) {
		*via = HOST_EXACT_PORT;
		return s->svc;
	}
	if ((s = wild(cfg, &n, port))) {
		*via = HOST_WILD_PORT;
		return s->svc;
	}
	if (port_alone(cfg, port)) {
		*via = HOST_PORT_ALONE;
		return 0;
	}
	if ((s = find(cfg, n.hash, 0, false, 0))) {
		*via = HOST_EXACT_ANY;
		return s->svc;
	}
	if ((s = wild(cfg, &n, 0))) {
		*via = HOST_WILD_ANY;
		return s->svc;
	}
	*via = HOST_NONE;
	return 0;
}

const char *host_via_name(enum host_via via)
{
	switch (via) {
	case HOST_NONE:
		return "no host matches";
	case HOST_EXACT_PORT:
		return "exact host on the port";
	case HOST_WILD_PORT:
		return "longest wildcard on the port";
	case HOST_PORT_ALONE:
		return "the port's entry without a host, before hosts of any "
		       "port";
	case HOST_EXACT_ANY:
		return "exact host on any port";
	case HOST_WILD_ANY:
		return "longest wildcard on any port";
	case HOST_BAD:
		return "not a host name";
	}
	return "?";
}
