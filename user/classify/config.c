// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * config.c - the classify stage's configuration: the YAML loader and the
 * lookup tables built from it.
 *
 * libyaml composes the file into a document; a small schema walker then
 * reads it. Each mapping the file may hold is a `struct section`: a table
 * of keys, each with a value type and where the value goes in an item
 * struct, and a commit function that checks the item as a whole and files
 * it. A new setting is a new row (and, if it is a new kind of value, a
 * new case in parse_value()). Unknown keys, duplicate keys, wrong types,
 * missing required keys and YAML aliases are errors that name the file,
 * line, column and setting.
 *
 * Address rules go into one longest-prefix table, backends into one per
 * remote port plus one for "any port", services into an array indexed by
 * port. Strings are interned, so a range file's 100,000 prefixes share
 * their few region names.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <yaml.h>

#include "classify/config.h"
#include "classify/hosts.h"
#include "lib/array.h"
#include "lib/hash.h"

/* Services are found by port and protocol class in one array. */
#define SVC_CLASSES 4	/* any, tcp, udp, sctp */

struct str_chunk {
	struct str_chunk *next;
	size_t used;
	size_t size;
	char data[];
};

struct be_port {
	__u16 port;
	struct cidr_table *t;
};

struct tg_config_priv {
	struct cidr_table *net;		/* prefix -> index in rules */
	struct cidr_table *be_any;	/* prefix -> index in backends */
	struct be_port *be_ports;	/* sorted by port */
	size_t nr_be_ports;
	__u32 *svc;			/* [port * SVC_CLASSES + class]:
					 * index in services + 1 of the entry
					 * without a host; 0: none */
	__u32 *hosts;			/* by (service id, port): index in
					 * services + 1, open addressing */
	size_t cap_hosts;		/* a power of two, or 0 */
	size_t cap_rules, cap_services, cap_backends, cap_ranges, cap_tls,
		cap_users;
	struct tg_pos (*net_at)[2];	/* [i]: where networks[i]'s provider
					 * and region are written */
	size_t cap_net_at;
	const char **strs;		/* interned strings, open addressing */
	size_t nr_strs, cap_strs;
	struct str_chunk *chunks;
};

const char *kind_name(enum tg_kind kind)
{
	switch (kind) {
	case TG_KIND_HTTP:
		return "http";
	case TG_KIND_SCF:
		return "scf";
	}
	return "?";
}

/* --- strings ------------------------------------------------------------ */

static __u64 str_hash(const char *s, size_t n)
{
	return fnv_bytes(FNV_OFFSET, s, n);
}

/* The interned copy of @s (@n bytes, no NUL inside); NULL when out of
 * memory. */
static const char *intern(struct tg_config_priv *p, const char *s, size_t n)
{
	size_t i, mask;
	struct str_chunk *c;
	char *copy;

	if (p->nr_strs * 2 >= p->cap_strs) {
		size_t cap = p->cap_strs ? p->cap_strs * 2 : 64;
		const char **t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (i = 0; i < p->cap_strs; i++) {
			size_t j;

			if (!p->strs[i])
				continue;
			j = str_hash(p->strs[i], strlen(p->strs[i])) &
			    (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = p->strs[i];
		}
		free(p->strs);
		p->strs = t;
		p->cap_strs = cap;
	}
	mask = p->cap_strs - 1;
	for (i = str_hash(s, n) & mask; p->strs[i]; i = (i + 1) & mask) {
		if (!strncmp(p->strs[i], s, n) && !p->strs[i][n])
			return p->strs[i];
	}
	c = p->chunks;
	if (!c || c->size - c->used < n + 1) {
		size_t size = n + 1 > 16384 ? n + 1 : 16384;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = p->chunks;
		p->chunks = c;
	}
	copy = c->data + c->used;
	memcpy(copy, s, n);
	copy[n] = '\0';
	c->used += n + 1;
	p->strs[i] = copy;
	p->nr_strs++;
	return copy;
}

/* --- building the tables ------------------------------------------------ */

static struct tg_rule *rule_add(struct tg_config *cfg)
{
	if (ARRAY_GROW(cfg->rules, cfg->nr_rules + 1, cfg->priv->cap_rules, 16))
		return NULL;
	memset(&cfg->rules[cfg->nr_rules], 0, sizeof(*cfg->rules));
	return &cfg->rules[cfg->nr_rules++];
}

static const struct {
	const char *prefix;
	bool own;		/* else the catch-all internet rule */
} builtin_rules[] = {
	{ "10.0.0.0/8", true },		/* RFC 1918 */
	{ "172.16.0.0/12", true },
	{ "192.168.0.0/16", true },
	{ "100.64.0.0/10", true },	/* RFC 6598, carrier-grade NAT and
					 * cloud load balancer health checks */
	{ "169.254.0.0/16", true },	/* link-local, instance metadata */
	{ "127.0.0.0/8", true },	/* loopback */
	{ "::1/128", true },
	{ "fe80::/10", true },		/* IPv6 link-local */
	{ "fc00::/7", true },		/* RFC 4193 unique local */
	{ "0.0.0.0/0", false },
	{ "::/0", false },
};

/* Add the built-in rules wherever no `networks` entry has their prefix. */
static int add_builtin(struct tg_config *cfg)
{
	const char *internet;
	struct tg_rule *r;
	struct cidr p;
	size_t i;
	__u32 *slot;

	internet = intern(cfg->priv, TG_PROVIDER_INTERNET,
			  strlen(TG_PROVIDER_INTERNET));
	if (!internet)
		return -ENOMEM;
	for (i = 0; i < sizeof(builtin_rules) / sizeof(builtin_rules[0]);
	     i++) {
		if (cidr_parse(builtin_rules[i].prefix, &p))
			return -EINVAL;	/* cannot happen */
		slot = cidr_table_slot(cfg->priv->net, &p);
		if (!slot)
			return -ENOMEM;
		if (*slot != CIDR_NONE)
			continue;
		*slot = cfg->nr_rules;
		r = rule_add(cfg);
		if (!r)
			return -ENOMEM;
		r->prefix = p;
		r->origin = TG_ORIGIN_BUILTIN;
		r->file = TG_BUILTIN;
		if (builtin_rules[i].own) {
			r->network = TG_NET_INTRANET;
			r->own = true;
		} else {
			r->network = TG_NET_PUBLIC;
			r->provider = internet;
		}
	}
	return 0;
}

static struct tg_config *config_new(void)
{
	struct tg_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->priv = calloc(1, sizeof(*cfg->priv));
	if (!cfg->priv)
		goto fail;
	cfg->priv->net = cidr_table_new();
	cfg->priv->be_any = cidr_table_new();
	if (!cfg->priv->net || !cfg->priv->be_any)
		goto fail;
	cfg->path = TG_BUILTIN;
	cfg->region = "";
	cfg->provider = "";
	return cfg;
fail:
	config_free(cfg);
	errno = ENOMEM;
	return NULL;
}

void config_free(struct tg_config *cfg)
{
	struct tg_config_priv *p;
	struct str_chunk *c, *n;
	size_t i;

	if (!cfg)
		return;
	p = cfg->priv;
	if (p) {
		cidr_table_free(p->net);
		cidr_table_free(p->be_any);
		for (i = 0; i < p->nr_be_ports; i++)
			cidr_table_free(p->be_ports[i].t);
		free(p->be_ports);
		free(p->svc);
		free(p->hosts);
		free(p->net_at);
		free(p->strs);
		for (c = p->chunks; c; c = n) {
			n = c->next;
			free(c);
		}
		free(p);
	}
	free(cfg->rules);
	free(cfg->services);
	free(cfg->backends);
	free(cfg->ranges);
	free(cfg->tls);
	free(cfg->metrics.users);
	free(cfg->known_regions.v);
	free(cfg->known_providers.v);
	free(cfg);
}

struct tg_config *config_default(void)
{
	struct tg_config *cfg = config_new();

	if (!cfg)
		return NULL;
	if (add_builtin(cfg) || cidr_table_optimize(cfg->priv->net)) {
		config_free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	return cfg;
}

/* --- lookups ------------------------------------------------------------ */

const struct tg_rule *config_match(const struct tg_config *cfg,
				   const __u8 addr[16])
{
	__u32 i = cidr_table_lookup(cfg->priv->net, addr, NULL);

	/* Only a configuration under construction lacks the catch-alls. */
	return i == CIDR_NONE ? NULL : &cfg->rules[i];
}

static struct cidr_table *be_port_table(const struct tg_config_priv *p,
					__u16 port)
{
	size_t lo = 0, hi = p->nr_be_ports;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->be_ports[mid].port == port)
			return p->be_ports[mid].t;
		if (p->be_ports[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct tg_backend *config_backend(const struct tg_config *cfg,
					const __u8 addr[16], __u16 port)
{
	const struct tg_config_priv *p = cfg->priv;
	struct cidr_table *t;
	__u32 i = CIDR_NONE;

	if (port && (t = be_port_table(p, port)))
		i = cidr_table_lookup(t, addr, NULL);
	if (i == CIDR_NONE)
		i = cidr_table_lookup(p->be_any, addr, NULL);
	return i == CIDR_NONE ? NULL : &cfg->backends[i];
}

static int svc_class(__u8 proto)
{
	switch (proto) {
	case 0:
		return 0;
	case IPPROTO_TCP:
		return 1;
	case IPPROTO_UDP:
		return 2;
	case IPPROTO_SCTP:
		return 3;
	default:
		return -1;
	}
}

static size_t host_slot(__u32 svc, __u16 port, size_t cap)
{
	return (((__u64)svc * 0x9e3779b97f4a7c15ULL) ^ port) & (cap - 1);
}

/* The entry of host id @svc on @port (0: any port); NULL when none. */
static const struct tg_service *host_entry(const struct tg_config *cfg,
					   __u32 svc, __u16 port)
{
	const struct tg_config_priv *p = cfg->priv;
	size_t i, mask;

	if (!p->cap_hosts)
		return NULL;
	mask = p->cap_hosts - 1;
	for (i = host_slot(svc, port, p->cap_hosts); p->hosts[i];
	     i = (i + 1) & mask) {
		const struct tg_service *s = &cfg->services[p->hosts[i] - 1];

		if (s->svc == svc && s->port == port)
			return s;
	}
	return NULL;
}

const struct tg_service *config_service_of(const struct tg_config *cfg,
					   __u16 port, __u8 proto, __u32 svc)
{
	const struct tg_service *s;

	if (svc && (!proto || proto == IPPROTO_TCP) &&
	    ((s = host_entry(cfg, svc, port)) ||
	     (s = host_entry(cfg, svc, 0))))
		return s;
	return config_service(cfg, port, proto);
}

/* Index every entry with a host by (service id, port), once all are
 * read. Returns 0 or -ENOMEM. */
static int index_hosts(struct tg_config *cfg)
{
	struct tg_config_priv *p = cfg->priv;
	size_t n = 0, cap = 16, i, j;

	for (i = 0; i < cfg->nr_services; i++)
		n += cfg->services[i].host != NULL;
	if (!n)
		return 0;
	while (cap < 2 * n)
		cap *= 2;
	p->hosts = calloc(cap, sizeof(*p->hosts));
	if (!p->hosts)
		return -ENOMEM;
	p->cap_hosts = cap;
	for (i = 0; i < cfg->nr_services; i++) {
		const struct tg_service *s = &cfg->services[i];

		if (!s->host)
			continue;
		for (j = host_slot(s->svc, s->port, cap); p->hosts[j];
		     j = (j + 1) & (cap - 1))
			;
		p->hosts[j] = i + 1;
	}
	return 0;
}

const struct tg_service *config_service(const struct tg_config *cfg,
					__u16 port, __u8 proto)
{
	const __u32 *svc = cfg->priv->svc;
	int c = svc_class(proto);
	__u32 i = 0;

	if (!svc)
		return NULL;
	if (c > 0)
		i = svc[(size_t)port * SVC_CLASSES + c];
	if (!i)
		i = svc[(size_t)port * SVC_CLASSES];
	return i ? &cfg->services[i - 1] : NULL;
}

/* --- the YAML schema walker --------------------------------------------- */

struct ypos {
	unsigned int line;	/* 1-based; 0: key absent */
	unsigned int col;
};

struct loader {
	struct tg_config *cfg;
	yaml_document_t *doc;
	const char *file;	/* name used in errors */
	const char *dir;	/* folder of the file, "" for the cwd */
	unsigned int flags;
	struct tg_err *err;
	unsigned char *seen;	/* per node: walked once already */
	size_t nr_nodes;
};

enum vtype {
	V_NAME,		/* a name: region, provider, tenant, ... */
	V_PATH,		/* a file, relative to the config's folder */
	V_PORT,		/* 1..65535 */
	V_PREFIX,	/* an address or prefix */
	V_NETWORK,	/* intranet | public */
	V_FORMAT,	/* aws | gcp | azure | csv */
	V_PROTO,	/* tcp | udp | sctp | any */
	V_KIND,		/* http | scf */
	V_LIST,		/* a list of mappings of another section */
	V_MAP,		/* a mapping of another section */
	V_BOOL,		/* true | false */
	V_COUNT,	/* 1..1000000 */
	V_TEXT,		/* printable text without blanks: an address, a hash */
	V_NAMES,	/* a list of names, into the struct tg_names at .off
			 * of the configuration itself (top level only) */
};

struct section;

struct key_def {
	const char *key;
	enum vtype type;
	size_t off;			/* where in the item */
	bool required;
	const struct section *list;	/* V_LIST: its items */
};

#define MAX_KEYS 16

struct section {
	const struct key_def *keys;
	size_t nr_keys;
	size_t item_size;		/* at most sizeof(union items) */
	/* Check and file a parsed item. @pos: where each key's value is;
	 * @at: the item itself; @field: its path, e.g. "networks[2]". */
	int (*commit)(struct loader *ld, void *item, const struct ypos *pos,
		      const struct ypos *at, const char *field);
};

__attribute__((format(printf, 4, 5)))
static int ld_fail(struct loader *ld, const struct ypos *at, const char *field,
		   const char *fmt, ...)
{
	char msg[sizeof(ld->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_err_set(ld->err, ld->file, at->line, at->col, field, "%s", msg);
	return -EINVAL;
}

static int ld_nomem(struct loader *ld)
{
	tg_err_set(ld->err, ld->file, 0, 0, "", "out of memory");
	return -ENOMEM;
}

static struct ypos pos_of(const yaml_node_t *n)
{
	return (struct ypos){ n->start_mark.line + 1,
			      n->start_mark.column + 1 };
}

static struct tg_pos tg_pos_of(const struct ypos *p)
{
	return (struct tg_pos){ p->line, p->col };
}

/* Node @id, walked for the first time: the schema never reads a node
 * twice, so a second visit is an alias. NULL, with the error set, then. */
static yaml_node_t *ld_node(struct loader *ld, int id, const char *field)
{
	yaml_node_t *n = yaml_document_get_node(ld->doc, id);
	size_t i;

	if (!n) {
		tg_err_set(ld->err, ld->file, 0, 0, field, "broken document");
		return NULL;
	}
	i = n - ld->doc->nodes.start;
	if (ld->seen[i]) {
		struct ypos at = pos_of(n);

		/* libyaml keeps no position of the alias, only of the
		 * anchored value: point there, name the setting. */
		ld_fail(ld, &at, field, "aliases are not supported: write "
			"out the value anchored here");
		return NULL;
	}
	ld->seen[i] = 1;
	return n;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !len || (len == 1 && *v == '~') ||
	       (len == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) ||
			     !memcmp(v, "NULL", 4)));
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return is_null(n) ? "empty" : "a scalar";
	}
}

/* The text of scalar @n, at most @max bytes, into @buf. */
static int ld_scalar(struct loader *ld, yaml_node_t *n, const char *field,
		     const char *what, char *buf, size_t max)
{
	struct ypos at = pos_of(n);
	size_t len;

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return ld_fail(ld, &at, field, "must be %s, not %s", what,
			       node_kind(n));
	len = n->data.scalar.length;
	if (memchr(n->data.scalar.value, '\0', len))
		return ld_fail(ld, &at, field, "NUL character in %s", what);
	if (len >= max)
		return ld_fail(ld, &at, field, "longer than %zu bytes",
			       max - 1);
	memcpy(buf, n->data.scalar.value, len);
	buf[len] = '\0';
	return 0;
}

static int ld_choice(struct loader *ld, yaml_node_t *n, const char *field,
		     const char *const *names, const int *values, size_t nr,
		     int *out)
{
	struct ypos at = pos_of(n);
	char buf[64], list[160] = "one of ";
	size_t i;
	int err;

	for (i = 0; i < nr; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", names[i]);
	err = ld_scalar(ld, n, field, list, buf, sizeof(buf));
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		if (!strcmp(buf, names[i])) {
			*out = values[i];
			return 0;
		}
	}
	return ld_fail(ld, &at, field, "must be %s, not '%s'", list, buf);
}

static int parse_mapping(struct loader *ld, yaml_node_t *n, const char *path,
			 const struct section *sec, void *item,
			 struct ypos *pos);

static int parse_list(struct loader *ld, yaml_node_t *n, const char *field,
		      const struct section *sec)
{
	union {
		long double align;
		unsigned char b[256];
	} item;
	struct ypos pos[MAX_KEYS], at;
	yaml_node_item_t *it;
	yaml_node_t *el;
	char path[128];
	size_t i = 0;
	int err;

	if (is_null(n))
		return 0;	/* "networks:" with every entry commented out */
	if (n->type != YAML_SEQUENCE_NODE) {
		at = pos_of(n);
		return ld_fail(ld, &at, field, "must be a list, not %s",
			       node_kind(n));
	}
	for (it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++, i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s[%zu]", field,
				     i) >= sizeof(path)) {
			at = pos_of(n);
			return ld_fail(ld, &at, field, "nested too deep");
		}
		el = ld_node(ld, *it, path);
		if (!el)
			return -EINVAL;
		memset(&item, 0, sizeof(item));
		err = parse_mapping(ld, el, path, sec, &item, pos);
		if (err)
			return err;
		at = pos_of(el);
		err = sec->commit(ld, &item, pos, &at, path);
		if (err)
			return err;
	}
	return 0;
}

/* A nested mapping: one item of @sec, committed at once. */
static int parse_map(struct loader *ld, yaml_node_t *n, const char *field,
		     const struct section *sec)
{
	union {
		long double align;
		unsigned char b[256];
	} item;
	struct ypos pos[MAX_KEYS], at = pos_of(n);
	int err;

	memset(&item, 0, sizeof(item));
	memset(pos, 0, sizeof(pos));
	if (is_null(n))
		return sec->commit(ld, &item, pos, &at, field);
	err = parse_mapping(ld, n, field, sec, &item, pos);
	if (err)
		return err;
	return sec->commit(ld, &item, pos, &at, field);
}

/* An interned name (V_NAME) or text (V_TEXT) into *@dst. */
static int value_string(struct loader *ld, yaml_node_t *n, const char *field,
			bool text, const char **dst)
{
	struct ypos at = pos_of(n);
	char buf[256];
	const char *s;
	int err;

	err = ld_scalar(ld, n, field, text ? "text" : "a name", buf,
			text ? 256 : 128);
	if (err)
		return err;
	if (text) {
		for (s = buf; *s; s++)
			if ((unsigned char)*s <= ' ' || *s == 0x7f)
				break;
		if (!buf[0] || *s)
			return ld_fail(ld, &at, field, "must be 1 to 255 "
				       "printable characters without blanks");
	} else if (!ranges_name_ok(buf)) {
		return ld_fail(ld, &at, field, "must be 1 to 127 printable "
			       "characters, without blanks around");
	}
	s = intern(ld->cfg->priv, buf, strlen(buf));
	if (!s)
		return ld_nomem(ld);
	*dst = s;
	return 0;
}

/* A file name, relative ones taken from the configuration's directory. */
static int value_path(struct loader *ld, yaml_node_t *n, const char *field,
		      const char **dst)
{
	struct ypos at = pos_of(n);
	char buf[2048];
	const char *s;
	int err;

	err = ld_scalar(ld, n, field, "a file name", buf, sizeof(buf));
	if (err)
		return err;
	if (!buf[0])
		return ld_fail(ld, &at, field, "must not be empty");
	if (buf[0] != '/' && ld->dir[0]) {
		size_t dl = strlen(ld->dir);
		char full[4096 + 2048];

		snprintf(full, sizeof(full), "%s%s%s", ld->dir,
			 ld->dir[dl - 1] == '/' ? "" : "/", buf);
		s = intern(ld->cfg->priv, full, strlen(full));
	} else {
		s = intern(ld->cfg->priv, buf, strlen(buf));
	}
	if (!s)
		return ld_nomem(ld);
	*dst = s;
	return 0;
}

/* A plain (unquoted) number in [@min, @max]; @what names it in messages
 * ("a port number", "a number"). */
static int value_uint(struct loader *ld, yaml_node_t *n, const char *field,
		      const char *what, unsigned long min, unsigned long max,
		      unsigned long *v)
{
	struct ypos at = pos_of(n);
	char buf[16], *end;
	int err;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_null(n))
		return ld_fail(ld, &at, field, "must be %s %lu to %lu, not %s",
			       what, min, max,
			       n->type == YAML_SCALAR_NODE && !is_null(n) ?
				       "a string" : node_kind(n));
	err = ld_scalar(ld, n, field, what, buf, sizeof(buf));
	if (err)
		return err;
	errno = 0;
	*v = strtoul(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || *end || errno || *v < min ||
	    *v > max)
		return ld_fail(ld, &at, field, "must be %s %lu to %lu, not "
			       "'%s'", what, min, max, buf);
	return 0;
}

/* An address or prefix, its host bits clear. */
static int value_prefix(struct loader *ld, yaml_node_t *n, const char *field,
			struct cidr *dst)
{
	struct ypos at = pos_of(n);
	char buf[INET6_ADDRSTRLEN + 8], m[CIDR_STRLEN];
	int err;

	err = ld_scalar(ld, n, field, "an address or prefix", buf,
			sizeof(buf));
	if (err)
		return err;
	err = cidr_parse(buf, dst);
	if (err == -EDOM)
		return ld_fail(ld, &at, field, "host bits set in '%s', did you "
			       "mean %s", buf, cidr_format(dst, m, sizeof(m)));
	if (err)
		return ld_fail(ld, &at, field, "not an address or prefix: "
			       "'%s'", buf);
	return 0;
}

static int value_bool(struct loader *ld, yaml_node_t *n, const char *field,
		      bool *dst)
{
	struct ypos at = pos_of(n);
	char buf[8];
	int err;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_null(n))
		return ld_fail(ld, &at, field, "must be true or false");
	err = ld_scalar(ld, n, field, "true or false", buf, sizeof(buf));
	if (err)
		return err;
	if (strcmp(buf, "true") && strcmp(buf, "false"))
		return ld_fail(ld, &at, field, "must be true or false, not "
			       "'%s'", buf);
	*dst = buf[0] == 't';
	return 0;
}

/* A list of names (V_NAMES) appended to @dst. */
static int value_names(struct loader *ld, yaml_node_t *n, const char *field,
		       struct tg_names *dst)
{
	struct ypos at = pos_of(n);
	yaml_node_item_t *it;
	char path[224];
	size_t i = 0;
	int err;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return ld_fail(ld, &at, field, "must be a list of names, not "
			       "%s", node_kind(n));
	for (it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *el;
		const char **v;

		snprintf(path, sizeof(path), "%s[%zu]", field, i);
		el = ld_node(ld, *it, path);
		if (!el)
			return -EINVAL;
		v = realloc(dst->v, (dst->nr + 1) * sizeof(*v));
		if (!v)
			return ld_nomem(ld);
		dst->v = v;
		err = value_string(ld, el, path, false, &v[dst->nr]);
		if (err)
			return err;
		dst->nr++;
	}
	return 0;
}

/* The value of key @k of a mapping, into @item; see struct key_def. */
static int parse_value(struct loader *ld, yaml_node_t *n, const char *field,
		       const struct key_def *k, void *item)
{
	static const char *const networks[] = { "intranet", "public" };
	static const int network_v[] = { TG_NET_INTRANET, TG_NET_PUBLIC };
	static const char *const formats[] = { "aws", "gcp", "azure", "csv" };
	static const int format_v[] = { TG_RANGES_AWS, TG_RANGES_GCP,
					TG_RANGES_AZURE, TG_RANGES_CSV };
	static const char *const protos[] = { "tcp", "udp", "sctp", "any" };
	static const int proto_v[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP,
				       0 };
	static const char *const kinds[] = { "http", "scf" };
	static const int kind_v[] = { TG_KIND_HTTP, TG_KIND_SCF };
	void *dst = (char *)item + k->off;
	unsigned long v;
	int err, x;

	switch (k->type) {
	case V_NAME:
	case V_TEXT:
		return value_string(ld, n, field, k->type == V_TEXT, dst);
	case V_PATH:
		return value_path(ld, n, field, dst);
	case V_PORT:
		err = value_uint(ld, n, field, "a port number", 1, 65535, &v);
		if (!err)
			*(__u16 *)dst = v;
		return err;
	case V_COUNT:
		err = value_uint(ld, n, field, "a number", 1, 1000000, &v);
		if (!err)
			*(__u32 *)dst = v;
		return err;
	case V_PREFIX:
		return value_prefix(ld, n, field, dst);
	case V_BOOL:
		return value_bool(ld, n, field, dst);
	case V_LIST:
		return parse_list(ld, n, field, k->list);
	case V_MAP:
		return parse_map(ld, n, field, k->list);
	case V_NAMES:
		return value_names(ld, n, field,
				   (struct tg_names *)((char *)ld->cfg +
						       k->off));
	case V_NETWORK:
		err = ld_choice(ld, n, field, networks, network_v, 2, &x);
		break;
	case V_FORMAT:
		err = ld_choice(ld, n, field, formats, format_v, 4, &x);
		break;
	case V_PROTO:
		err = ld_choice(ld, n, field, protos, proto_v, 4, &x);
		break;
	case V_KIND:
		err = ld_choice(ld, n, field, kinds, kind_v, 2, &x);
		break;
	default:
		return -EINVAL;
	}
	if (!err)
		*(int *)dst = x;
	return err;
}

/* Read the mapping @n into @item by the keys of @sec; @pos gets where each
 * key's value is (line 0: absent). */
static int parse_mapping(struct loader *ld, yaml_node_t *n, const char *path,
			 const struct section *sec, void *item,
			 struct ypos *pos)
{
	char field[192], known[256] = "", key[64];
	yaml_node_pair_t *pair;
	yaml_node_t *kn, *vn;
	struct ypos at = pos_of(n);
	size_t i;
	int err;

	memset(pos, 0, sizeof(*pos) * sec->nr_keys);
	if (n->type != YAML_MAPPING_NODE)
		return ld_fail(ld, &at, path, "must be a mapping of settings, "
			       "not %s", node_kind(n));
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		kn = ld_node(ld, pair->key, path);
		if (!kn)
			return -EINVAL;
		at = pos_of(kn);
		if (kn->type != YAML_SCALAR_NODE || is_null(kn) ||
		    kn->data.scalar.length >= sizeof(key) ||
		    memchr(kn->data.scalar.value, '\0',
			   kn->data.scalar.length))
			return ld_fail(ld, &at, path, "setting names must be "
				       "short strings");
		memcpy(key, kn->data.scalar.value, kn->data.scalar.length);
		key[kn->data.scalar.length] = '\0';
		snprintf(field, sizeof(field), "%s%s%s", path, *path ? "." : "",
			 key);
		for (i = 0; i < sec->nr_keys; i++)
			if (!strcmp(key, sec->keys[i].key))
				break;
		if (i == sec->nr_keys) {
			for (i = 0; i < sec->nr_keys; i++)
				snprintf(known + strlen(known),
					 sizeof(known) - strlen(known), "%s%s",
					 i ? ", " : "", sec->keys[i].key);
			return ld_fail(ld, &at, field, "unknown setting '%s' "
				       "(known here: %s)", key, known);
		}
		if (pos[i].line)
			return ld_fail(ld, &at, field, "set twice (first at "
				       "line %u)", pos[i].line);
		vn = ld_node(ld, pair->value, field);
		if (!vn)
			return -EINVAL;
		pos[i] = pos_of(vn);
		err = parse_value(ld, vn, field, &sec->keys[i], item);
		if (err)
			return err;
	}
	at = pos_of(n);
	for (i = 0; i < sec->nr_keys; i++) {
		if (!sec->keys[i].required || pos[i].line)
			continue;
		snprintf(field, sizeof(field), "%s%s%s", path, *path ? "." : "",
			 sec->keys[i].key);
		return ld_fail(ld, &at, field, "missing required setting '%s'",
			       sec->keys[i].key);
	}
	return 0;
}

/* --- the sections ------------------------------------------------------- */

struct net_item {
	struct cidr prefix;
	int network;
	const char *provider;
	const char *region;
};

static const struct key_def net_keys[] = {
	{ "cidr", V_PREFIX, offsetof(struct net_item, prefix), true, NULL },
	{ "network", V_NETWORK, offsetof(struct net_item, network), true,
	  NULL },
	{ "provider", V_NAME, offsetof(struct net_item, provider), false,
	  NULL },
	{ "region", V_NAME, offsetof(struct net_item, region), false, NULL },
};

static int net_commit(struct loader *ld, void *item, const struct ypos *pos,
		      const struct ypos *at, const char *field)
{
	struct net_item *it = item;
	struct tg_config *cfg = ld->cfg;
	char f[160], buf[CIDR_STRLEN];
	struct tg_rule *r;
	__u32 *slot;

	slot = cidr_table_slot(cfg->priv->net, &it->prefix);
	if (!slot)
		return ld_nomem(ld);
	if (*slot != CIDR_NONE) {
		snprintf(f, sizeof(f), "%s.cidr", field);
		return ld_fail(ld, &pos[0], f, "%s is already in networks[%u] "
			       "(line %u)",
			       cidr_format(&it->prefix, buf, sizeof(buf)),
			       *slot, cfg->rules[*slot].line);
	}
	*slot = cfg->nr_rules;
	r = rule_add(cfg);
	if (!r)
		return ld_nomem(ld);
	r->prefix = it->prefix;
	r->network = it->network;
	r->origin = TG_ORIGIN_NETWORKS;
	r->provider = it->provider;
	r->region = it->region;
	r->file = ld->cfg->path;
	r->line = pos[0].line;
	/* networks come first in rules: entry i is rule i */
	if (ARRAY_GROW(cfg->priv->net_at, cfg->nr_rules, cfg->priv->cap_net_at,
		       16))
		return ld_nomem(ld);
	cfg->priv->net_at[cfg->nr_rules - 1][0] = tg_pos_of(&pos[2]);
	cfg->priv->net_at[cfg->nr_rules - 1][1] = tg_pos_of(&pos[3]);
	return 0;
}

static const struct section net_section = {
	net_keys, sizeof(net_keys) / sizeof(net_keys[0]),
	sizeof(struct net_item), net_commit,
};

struct range_item {
	const char *file;
	int format;
	const char *provider;
};

static const struct key_def range_keys[] = {
	{ "file", V_PATH, offsetof(struct range_item, file), true, NULL },
	{ "format", V_FORMAT, offsetof(struct range_item, format), true,
	  NULL },
	{ "provider", V_NAME, offsetof(struct range_item, provider), false,
	  NULL },
};

static int range_commit(struct loader *ld, void *item, const struct ypos *pos,
			const struct ypos *at, const char *field)
{
	struct range_item *it = item;
	struct tg_config *cfg = ld->cfg;
	struct tg_range_src *src;
	char f[160];

	if (!it->provider && it->format != TG_RANGES_CSV) {
		snprintf(f, sizeof(f), "%s.provider", field);
		return ld_fail(ld, at, f, "missing required setting "
			       "'provider': whose addresses does this %s "
			       "file list", ranges_format_name(it->format));
	}
	if (ARRAY_GROW(cfg->ranges, cfg->nr_ranges + 1,
		       cfg->priv->cap_ranges, 16))
		return ld_nomem(ld);
	src = &cfg->ranges[cfg->nr_ranges++];
	memset(src, 0, sizeof(*src));
	src->file = it->file;
	src->format = it->format;
	src->provider = it->provider;
	src->line = at->line;
	src->file_line = pos[0].line;
	src->file_column = pos[0].col;
	return 0;
}

static const struct section range_section = {
	range_keys, sizeof(range_keys) / sizeof(range_keys[0]),
	sizeof(struct range_item), range_commit,
};

struct svc_item {
	__u16 port;
	int proto;
	const char *name;
	const char *tenant;
	const char *host;
};

static const struct key_def svc_keys[] = {
	{ "port", V_PORT, offsetof(struct svc_item, port), false, NULL },
	{ "protocol", V_PROTO, offsetof(struct svc_item, proto), false, NULL },
	{ "name", V_NAME, offsetof(struct svc_item, name), true, NULL },
	{ "tenant", V_NAME, offsetof(struct svc_item, tenant), false, NULL },
	{ "host", V_TEXT, offsetof(struct svc_item, host), false, NULL },
};

static const char *proto_word(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_SCTP ? "sctp" : "any";
}

/* A services entry with a host: check it against the others, file it. */
static int svc_host_commit(struct loader *ld, struct svc_item *it,
			   const struct ypos *pos, const struct ypos *at,
			   const char *field)
{
	struct tg_config *cfg = ld->cfg;
	struct host_pattern h;
	struct tg_service *s;
	const char *why;
	char f[160];
	size_t i;

	snprintf(f, sizeof(f), "%s.host", field);
	if (host_parse(it->host, &h, &why))
		return ld_fail(ld, &pos[4], f, "'%s' is not a host name or "
			       "*.suffix: %s", it->host, why);
	if (it->proto && it->proto != IPPROTO_TCP) {
		snprintf(f, sizeof(f), "%s.protocol", field);
		return ld_fail(ld, &pos[1], f, "a host is read from TCP "
			       "streams (HTTP, TLS): protocol must be tcp or "
			       "any, not %s", proto_word(it->proto));
	}
	for (i = 0; i < cfg->nr_services; i++) {
		s = &cfg->services[i];
		if (!s->host)
			continue;
		if (s->svc == h.svc && strcmp(s->host, h.text))
			return ld_fail(ld, &pos[4], f, "host '%s' and '%s' "
				       "(services[%zu], line %u) have the same "
				       "service id %u: rename one", h.text,
				       s->host, i, s->line, h.svc);
		if (s->svc == h.svc && s->port == it->port) {
			if (it->port)
				return ld_fail(ld, &pos[4], f, "host '%s' on "
					       "port %u is already in "
					       "services[%zu] (line %u)",
					       h.text, it->port, i, s->line);
			return ld_fail(ld, &pos[4], f, "host '%s' without a "
				       "port is already in services[%zu] "
				       "(line %u)", h.text, i, s->line);
		}
	}
	if (ARRAY_GROW(cfg->services, cfg->nr_services + 1,
		       cfg->priv->cap_services, 16))
		return ld_nomem(ld);
	s = &cfg->services[cfg->nr_services++];
	memset(s, 0, sizeof(*s));
	s->port = it->port;
	s->proto = it->proto;
	s->name = it->name;
	s->tenant = it->tenant ? it->tenant : "";
	s->host = intern(cfg->priv, h.text, strlen(h.text));
	if (!s->host)
		return ld_nomem(ld);
	s->svc = h.svc;
	s->wildcard = h.wildcard;
	s->labels = h.labels;
	s->hash = h.hash;
	s->line = at->line;
	return 0;
}

static int svc_commit(struct loader *ld, void *item, const struct ypos *pos,
		      const struct ypos *at, const char *field)
{
	struct svc_item *it = item;
	struct tg_config *cfg = ld->cfg;
	struct tg_config_priv *p = cfg->priv;
	struct tg_service *s;
	char f[160];
	__u32 *slot;

	if (it->host)
		return svc_host_commit(ld, it, pos, at, field);
	if (!pos[0].line) {
		snprintf(f, sizeof(f), "%s.port", field);
		return ld_fail(ld, at, f, "missing: a services entry needs a "
			       "port, a host, or both");
	}
	if (!p->svc) {
		p->svc = calloc((size_t)65536 * SVC_CLASSES, sizeof(*p->svc));
		if (!p->svc)
			return ld_nomem(ld);
	}
	slot = &p->svc[(size_t)it->port * SVC_CLASSES + svc_class(it->proto)];
	if (*slot) {
		snprintf(f, sizeof(f), "%s.port", field);
		return ld_fail(ld, &pos[0], f, "port %u%s%s is already in "
			       "services[%u] (line %u)", it->port,
			       it->proto ? " " : "",
			       it->proto == IPPROTO_TCP ? "tcp" :
			       it->proto == IPPROTO_UDP ? "udp" :
			       it->proto == IPPROTO_SCTP ? "sctp" : "",
			       *slot - 1, cfg->services[*slot - 1].line);
	}
	if (ARRAY_GROW(cfg->services, cfg->nr_services + 1,
		       p->cap_services, 16))
		return ld_nomem(ld);
	s = &cfg->services[cfg->nr_services++];
	memset(s, 0, sizeof(*s));
	s->port = it->port;
	s->proto = it->proto;
	s->name = it->name;
	s->tenant = it->tenant ? it->tenant : "";
	s->line = at->line;
	*slot = cfg->nr_services;
	return 0;
}

static const struct section svc_section = {
	svc_keys, sizeof(svc_keys) / sizeof(svc_keys[0]),
	sizeof(struct svc_item), svc_commit,
};

struct be_item {
	struct cidr prefix;
	__u16 port;
	int kind;
	const char *name;
	const char *tenant;
	const char *service;
};

static const struct key_def be_keys[] = {
	{ "address", V_PREFIX, offsetof(struct be_item, prefix), true, NULL },
	{ "port", V_PORT, offsetof(struct be_item, port), false, NULL },
	{ "name", V_NAME, offsetof(struct be_item, name), true, NULL },
	{ "kind", V_KIND, offsetof(struct be_item, kind), false, NULL },
	{ "tenant", V_NAME, offsetof(struct be_item, tenant), false, NULL },
	{ "service", V_NAME, offsetof(struct be_item, service), false, NULL },
};

/* The backend table of remote @port, created when missing. */
static struct cidr_table *be_table(struct tg_config_priv *p, __u16 port)
{
	struct cidr_table *t;
	struct be_port *n;
	size_t i;

	if (!port)
		return p->be_any;
	t = be_port_table(p, port);
	if (t)
		return t;
	t = cidr_table_new();
	if (!t)
		return NULL;
	n = realloc(p->be_ports, (p->nr_be_ports + 1) * sizeof(*n));
	if (!n) {
		cidr_table_free(t);
		return NULL;
	}
	p->be_ports = n;
	for (i = p->nr_be_ports; i > 0 && n[i - 1].port > port; i--)
		n[i] = n[i - 1];
	n[i].port = port;
	n[i].t = t;
	p->nr_be_ports++;
	return t;
}

static int be_commit(struct loader *ld, void *item, const struct ypos *pos,
		     const struct ypos *at, const char *field)
{
	struct be_item *it = item;
	struct tg_config *cfg = ld->cfg;
	char f[160], buf[CIDR_STRLEN];
	struct cidr_table *t;
	struct tg_backend *b;
	__u32 *slot;

	t = be_table(cfg->priv, it->port);
	if (!t || !(slot = cidr_table_slot(t, &it->prefix)))
		return ld_nomem(ld);
	if (*slot != CIDR_NONE) {
		snprintf(f, sizeof(f), "%s.address", field);
		return ld_fail(ld, &pos[0], f, "%s%s is already in backends[%u] "
			       "(line %u)",
			       cidr_format(&it->prefix, buf, sizeof(buf)),
			       it->port ? " with this port" : "", *slot,
			       cfg->backends[*slot].line);
	}
	if (ARRAY_GROW(cfg->backends, cfg->nr_backends + 1,
		       cfg->priv->cap_backends, 16))
		return ld_nomem(ld);
	*slot = cfg->nr_backends;
	b = &cfg->backends[cfg->nr_backends++];
	b->prefix = it->prefix;
	b->port = it->port;
	b->kind = it->kind;
	b->name = it->name;
	b->tenant = it->tenant ? it->tenant : "";
	b->service = it->service ? it->service : "";
	b->line = at->line;
	return 0;
}

static const struct section be_section = {
	be_keys, sizeof(be_keys) / sizeof(be_keys[0]),
	sizeof(struct be_item), be_commit,
};

/* `tls`: TLS libraries whose SSL_write to hook for calls. */
struct tlslib_item {
	const char *library;
};

static const struct key_def tlslib_keys[] = {
	{ "library", V_PATH, offsetof(struct tlslib_item, library), true,
	  NULL },
};

static int tlslib_commit(struct loader *ld, void *item,
			 const struct ypos *pos, const struct ypos *at,
			 const char *field)
{
	struct tlslib_item *it = item;
	struct tg_config *cfg = ld->cfg;

	(void)pos;
	(void)field;
	if (ARRAY_GROW(cfg->tls, cfg->nr_tls + 1, cfg->priv->cap_tls, 16))
		return ld_nomem(ld);
	cfg->tls[cfg->nr_tls].library = it->library;
	cfg->tls[cfg->nr_tls++].line = at->line;
	return 0;
}

static const struct section tlslib_section = {
	tlslib_keys, sizeof(tlslib_keys) / sizeof(tlslib_keys[0]),
	sizeof(struct tlslib_item), tlslib_commit,
};

struct user_item {
	const char *name;
	const char *hash;
};

static const struct key_def user_keys[] = {
	{ "name", V_NAME, offsetof(struct user_item, name), true, NULL },
	{ "password_hash", V_TEXT, offsetof(struct user_item, hash), true,
	  NULL },
};

static int user_commit(struct loader *ld, void *item, const struct ypos *pos,
		       const struct ypos *at, const char *field)
{
	struct user_item *it = item;
	struct tg_metrics_conf *m = &ld->cfg->metrics;
	char f[160];
	size_t i;

	snprintf(f, sizeof(f), "%s.password_hash", field);
	/* crypt(3) would take anything; only bcrypt is slow enough. */
	if (strncmp(it->hash, "$2b$", 4) && strncmp(it->hash, "$2y$", 4) &&
	    strncmp(it->hash, "$2a$", 4))
		return ld_fail(ld, &pos[1], f, "must be a bcrypt hash "
			       "($2b$...), e.g. from 'htpasswd -nbB user "
			       "password'");
	if (strchr(it->name, ':')) {
		snprintf(f, sizeof(f), "%s.name", field);
		return ld_fail(ld, &pos[0], f, "must not contain ':'");
	}
	for (i = 0; i < m->nr_users; i++) {
		if (strcmp(m->users[i].name, it->name))
			continue;
		snprintf(f, sizeof(f), "%s.name", field);
		return ld_fail(ld, &pos[0], f, "user '%s' is already in "
			       "metrics.users[%zu] (line %u)", it->name, i,
			       m->users[i].line);
	}
	if (ARRAY_GROW(m->users, m->nr_users + 1, ld->cfg->priv->cap_users, 16))
		return ld_nomem(ld);
	m->users[m->nr_users].name = it->name;
	m->users[m->nr_users].hash = it->hash;
	m->users[m->nr_users].line = at->line;
	m->nr_users++;
	return 0;
}

static const struct section user_section = {
	user_keys, sizeof(user_keys) / sizeof(user_keys[0]),
	sizeof(struct user_item), user_commit,
};

struct tls_item {
	const char *cert;
	const char *key;
};

static const struct key_def tls_keys[] = {
	{ "cert", V_PATH, offsetof(struct tls_item, cert), true, NULL },
	{ "key", V_PATH, offsetof(struct tls_item, key), true, NULL },
};

static int tls_commit(struct loader *ld, void *item, const struct ypos *pos,
		      const struct ypos *at, const char *field)
{
	struct tls_item *it = item;

	if (!it->cert)	/* "tls:" left empty */
		return ld_fail(ld, at, field, "must name a cert and a key");
	ld->cfg->metrics.tls_cert = it->cert;
	ld->cfg->metrics.tls_key = it->key;
	ld->cfg->metrics.tls_cert_at = tg_pos_of(&pos[0]);
	ld->cfg->metrics.tls_key_at = tg_pos_of(&pos[1]);
	return 0;
}

static const struct section tls_section = {
	tls_keys, sizeof(tls_keys) / sizeof(tls_keys[0]),
	sizeof(struct tls_item), tls_commit,
};

struct metrics_item {
	bool enabled;
	bool anonymous;
	const char *listen;
	__u32 max_series;
	const char *plan;
	const char *plan_region;
};

static const struct key_def metrics_keys[] = {
	{ "enabled", V_BOOL, offsetof(struct metrics_item, enabled), false,
	  NULL },
	{ "listen", V_TEXT, offsetof(struct metrics_item, listen), false,
	  NULL },
	{ "max_series", V_COUNT, offsetof(struct metrics_item, max_series),
	  false, NULL },
	{ "tls", V_MAP, 0, false, &tls_section },
	{ "users", V_LIST, 0, false, &user_section },
	{ "anonymous", V_BOOL, offsetof(struct metrics_item, anonymous), false,
	  NULL },
	{ "plan", V_TEXT, offsetof(struct metrics_item, plan), false, NULL },
	{ "plan_region", V_NAME, offsetof(struct metrics_item, plan_region),
	  false, NULL },
};

static bool plan_is_file(const char *s)
{
	size_t n = strlen(s);

	return (n > 5 && !strcmp(s + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(s + n - 4, ".yml"));
}

static int metrics_commit(struct loader *ld, void *item,
			  const struct ypos *pos, const struct ypos *at,
			  const char *field)
{
	struct metrics_item *it = item;
	struct tg_metrics_conf *m = &ld->cfg->metrics;

	m->disabled = pos[0].line && !it->enabled;
	m->anonymous = it->anonymous;
	/* Where each was set, by its place in metrics_keys[]. */
	m->enabled_at = tg_pos_of(&pos[0]);
	m->listen_at = tg_pos_of(&pos[1]);
	m->users_at = tg_pos_of(&pos[4]);
	m->plan_at = tg_pos_of(&pos[6]);
	m->plan_region_at = tg_pos_of(&pos[7]);
	m->listen = it->listen;
	m->max_series = it->max_series;
	m->plan = it->plan;
	/* A plan file, as plan_load() tells them from built-in names, is
	 * relative to this file's folder like every other path here. */
	if (it->plan && it->plan[0] != '/' && ld->dir[0] &&
	    (strchr(it->plan, '/') || plan_is_file(it->plan))) {
		char full[4096];

		snprintf(full, sizeof(full), "%s/%s", ld->dir, it->plan);
		m->plan = intern(ld->cfg->priv, full, strlen(full));
		if (!m->plan)
			return ld_nomem(ld);
	}
	m->plan_region = it->plan_region;
	return 0;
}

static const struct section metrics_section = {
	metrics_keys, sizeof(metrics_keys) / sizeof(metrics_keys[0]),
	sizeof(struct metrics_item), metrics_commit,
};

struct top_item {
	const char *region;
	const char *provider;
};

static const struct key_def top_keys[] = {
	{ "region", V_NAME, offsetof(struct top_item, region), true, NULL },
	{ "provider", V_NAME, offsetof(struct top_item, provider), true,
	  NULL },
	{ "networks", V_LIST, 0, false, &net_section },
	{ "ranges", V_LIST, 0, false, &range_section },
	{ "services", V_LIST, 0, false, &svc_section },
	{ "backends", V_LIST, 0, false, &be_section },
	{ "tls", V_LIST, 0, false, &tlslib_section },
	{ "metrics", V_MAP, 0, false, &metrics_section },
	{ "known_regions", V_NAMES, offsetof(struct tg_config, known_regions),
	  false, NULL },
	{ "known_providers", V_NAMES,
	  offsetof(struct tg_config, known_providers), false, NULL },
};

static int top_commit(struct loader *ld, void *item, const struct ypos *pos,
		      const struct ypos *at, const char *field)
{
	struct top_item *it = item;

	if (!strcmp(it->provider, TG_PROVIDER_INTERNET))
		return ld_fail(ld, &pos[1], "provider", "'%s' names addresses "
			       "outside every cloud; name the cloud this "
			       "gateway runs in", TG_PROVIDER_INTERNET);
	ld->cfg->region = it->region;
	ld->cfg->provider = it->provider;
	ld->cfg->region_at = tg_pos_of(&pos[0]);
	ld->cfg->provider_at = tg_pos_of(&pos[1]);
	return 0;
}

static const struct section top_section = {
	top_keys, sizeof(top_keys) / sizeof(top_keys[0]),
	sizeof(struct top_item), top_commit,
};

/* --- range files -------------------------------------------------------- */

struct range_ctx {
	struct tg_config *cfg;
	unsigned int source;
};

static int range_add(void *ctx, const struct range_entry *e, const char **why)
{
	struct range_ctx *rc = ctx;
	struct tg_config *cfg = rc->cfg;
	struct tg_range_src *src = &cfg->ranges[rc->source];
	struct tg_config_priv *p = cfg->priv;
	const char *provider = NULL, *region = NULL;
	struct tg_rule *r, *old;
	__u32 *slot;

	if (e->provider)
		provider = intern(p, e->provider, strlen(e->provider));
	else if (src->provider)
		provider = src->provider;
	else {
		*why = "no provider: add a provider column, or a provider "
		       "setting to this ranges entry";
		return -EINVAL;
	}
	if (e->region)
		region = intern(p, e->region, strlen(e->region));
	if (!provider || (e->region && !region))
		return -ENOMEM;
	slot = cidr_table_slot(p->net, &e->prefix);
	if (!slot)
		return -ENOMEM;
	if (*slot != CIDR_NONE) {
		old = &cfg->rules[*slot];
		/* Within one file a regional entry beats a regionless one:
		 * Azure lists its prefixes under global tags too. */
		if (old->origin != TG_ORIGIN_RANGES ||
		    old->source != rc->source || old->region || !region)
			return 0;
		old->region = region;
		old->provider = provider;
		old->network = e->network < 0 ? TG_NET_PUBLIC : e->network;
		old->line = e->line;
		return 0;
	}
	*slot = cfg->nr_rules;
	r = rule_add(cfg);
	if (!r)
		return -ENOMEM;
	r->prefix = e->prefix;
	r->network = e->network < 0 ? TG_NET_PUBLIC : e->network;
	r->origin = TG_ORIGIN_RANGES;
	r->provider = provider;
	r->region = region;
	r->file = src->file;
	r->line = e->line;
	r->source = rc->source;
	src->nr_prefixes++;
	return 0;
}

/* --- loading ------------------------------------------------------------ */

static void yaml_fail(struct loader *ld, yaml_parser_t *parser,
		      const char *buf, size_t len)
{
	unsigned int line = parser->problem_mark.line + 1;
	unsigned int col = parser->problem_mark.column + 1;
	const char *problem = parser->problem ? parser->problem : "error";

	if (parser->error == YAML_READER_ERROR) {
		size_t off = parser->problem_offset, i;

		line = 1;
		col = 1;
		for (i = 0; i < off && i < len; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
	}
	if (parser->context)
		tg_err_set(ld->err, ld->file, line, col, "",
			   "malformed YAML: %s %s (line %zu)", problem,
			   parser->context, parser->context_mark.line + 1);
	else
		tg_err_set(ld->err, ld->file, line, col, "",
			   "malformed YAML: %s", problem);
}

/*
 * Parse @buf into ld->doc (@doc), which the caller deletes with @parser
 * whatever this returns: exactly one YAML document, not empty. Returns 0
 * or -EINVAL / -ENOMEM after saying where.
 */
static int load_document(struct loader *ld, const char *buf, size_t len,
			 yaml_parser_t *parser, yaml_document_t *doc)
{
	struct ypos at = { 1, 1 };
	yaml_document_t extra;
	yaml_node_t *root;

	yaml_parser_set_input_string(parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(parser, doc)) {
		yaml_fail(ld, parser, buf, len);
		memset(doc, 0, sizeof(*doc));
		return -EINVAL;
	}
	ld->doc = doc;
	root = yaml_document_get_root_node(doc);
	if (root) {
		if (!yaml_parser_load(parser, &extra)) {
			yaml_fail(ld, parser, buf, len);
			return -EINVAL;
		}
		if (yaml_document_get_root_node(&extra)) {
			at.line = extra.start_mark.line + 1;
			at.col = extra.start_mark.column + 1;
			yaml_document_delete(&extra);
			return ld_fail(ld, &at, "", "more than one YAML "
				       "document; tollgate reads one");
		}
		yaml_document_delete(&extra);
	}
	ld->nr_nodes = doc->nodes.top - doc->nodes.start;
	ld->seen = calloc(ld->nr_nodes + 1, 1);
	if (!ld->seen)
		return ld_nomem(ld);
	if (!root)
		/* An empty file: say what it lacks. */
		return ld_fail(ld, &at, "region", "missing required setting "
			       "'region' (the file is empty)");
	return 0;
}

/*
 * Read every range file the configuration names into its address table.
 * A file that cannot be read as a whole is a fault where the
 * configuration names it. Returns 0 or -Exxx with ld->err set.
 */
static int load_ranges(struct loader *ld)
{
	struct tg_err *err = ld->err;
	struct range_ctx rc;
	size_t i;
	int ret;

	for (i = 0; i < ld->cfg->nr_ranges; i++) {
		const struct tg_range_src *src = &ld->cfg->ranges[i];

		rc.cfg = ld->cfg;
		rc.source = i;
		ret = ranges_load(src->file, src->format, range_add, &rc, err);
		if (ret && err && !err->line) {
			char f[48], why[sizeof(err->msg)];

			snprintf(f, sizeof(f), "ranges[%zu].file", i);
			snprintf(why, sizeof(why), "%s", err->msg);
			tg_err_set(err, ld->file, src->file_line,
				   src->file_column, f, "'%s': %s", src->file,
				   why);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int config_parse(const char *buf, size_t len, const char *name,
		 unsigned int flags, struct tg_config **out,
		 struct tg_err *err)
{
	struct loader ld = { .file = name, .flags = flags, .err = err };
	struct ypos pos[MAX_KEYS], at;
	struct top_item top = {};
	yaml_document_t doc = {};
	yaml_parser_t parser;
	yaml_node_t *root;
	const char *slash;
	char *dir = NULL;
	int ret;

	*out = NULL;
	ld.cfg = config_new();
	if (!ld.cfg)
		return ld_nomem(&ld);
	ld.cfg->path = intern(ld.cfg->priv, name, strlen(name));
	/* Relative range files start from the configuration's folder. */
	slash = strrchr(name, '/');
	dir = strndup(name, !slash ? 0 : slash == name ? 1 :
			    (size_t)(slash - name));
	if (!ld.cfg->path || !dir) {
		ret = ld_nomem(&ld);
		goto out_cfg;
	}
	ld.dir = dir;
	if (!yaml_parser_initialize(&parser)) {
		ret = ld_nomem(&ld);
		goto out_cfg;
	}
	ret = load_document(&ld, buf, len, &parser, &doc);
	if (ret)
		goto out_doc;
	root = ld_node(&ld, 1, "");
	if (!root) {
		ret = -EINVAL;
		goto out_doc;
	}
	ret = parse_mapping(&ld, root, "", &top_section, &top, pos);
	if (!ret) {
		at = pos_of(root);
		ret = top_section.commit(&ld, &top, pos, &at, "");
	}
	if (!ret && (ret = add_builtin(ld.cfg)))
		ld_nomem(&ld);
	if (!ret && !(flags & TG_CONFIG_NO_RANGES))
		ret = load_ranges(&ld);
	if (!ret && (ret = cidr_table_optimize(ld.cfg->priv->net)))
		ld_nomem(&ld);
	if (!ret && (ret = index_hosts(ld.cfg)))
		ld_nomem(&ld);
	if (!ret) {
		*out = ld.cfg;
		ld.cfg = NULL;
	}
out_doc:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
out_cfg:
	free(ld.seen);
	free(dir);
	config_free(ld.cfg);
	return ret;
}

int config_load(const char *path, struct tg_config **out, struct tg_err *err)
{
	size_t len;
	char *buf;
	int ret;

	*out = NULL;
	ret = ranges_read_file(path, TG_CONFIG_MAX_SIZE, &buf, &len);
	if (ret) {
		tg_err_set(err, path, 0, 0, "", "%s",
			   ret == -EFBIG ? "larger than 16 MiB" :
			   ret == -EINVAL ? "not a regular file" :
			   strerror(-ret));
		return ret;
	}
	ret = config_parse(buf, len, path, 0, out, err);
	free(buf);
	return ret;
}

int config_load_or_default(const char *path, struct tg_config **out,
			   struct tg_err *err)
{
	int ret;

	if (path)
		return config_load(path, out, err);
	ret = config_load(TG_CONFIG_DEFAULT_PATH, out, err);
	if (ret != -ENOENT)
		return ret;
	*out = config_default();
	if (!*out) {
		tg_err_set(err, "", 0, 0, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* --- names that decide a bill ------------------------------------------- */

/* Distinct names of the range files, each with the first rule naming it.
 * Names are interned: equal names are one pointer. */
struct seen {
	const char **v;
	const struct tg_rule **at;
	size_t nr, cap;
};

static int seen_add(struct seen *s, const char *name, const struct tg_rule *r)
{
	size_t i;

	if (!name)
		return 0;
	for (i = s->nr; i > 0; i--)	/* the last one is the likely one */
		if (s->v[i - 1] == name)
			return 0;
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		const char **v = realloc(s->v, cap * sizeof(*v));
		const struct tg_rule **at;

		if (!v)
			return -ENOMEM;
		s->v = v;
		at = realloc(s->at, cap * sizeof(*at));
		if (!at)
			return -ENOMEM;
		s->at = at;
		s->cap = cap;
	}
	s->v[s->nr] = name;
	s->at[s->nr++] = r;
	return 0;
}

static bool listed(const char *name, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] && *v[i] && !strcmp(name, v[i]))
			return true;
	return false;
}

/* The first of @v (@n names) equal to @name but for case, or NULL. */
static const char *other_case(const char *name, const char *const *v,
			      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] && !strcasecmp(name, v[i]) && strcmp(name, v[i]))
			return v[i];
	return NULL;
}

/* What the names of a configuration are checked against. */
struct names_ctx {
	const struct tg_config *cfg;
	const char *plan;
	const char *const *plan_regions, *const *plan_names;
	size_t nr_plan;
	struct seen range_regions, range_providers;
	bool own_regions;	/* a rule of the gateway's provider names a
				 * region */
	char plan_list[80];	/* "jdcloud (cn-north-1, cn-east-2, ...)" */
	struct tg_err *err;
};

static int names_fail(struct names_ctx *c, const char *file,
		      struct tg_pos at, const char *field, const char *fmt,
		      ...) __attribute__((format(printf, 5, 6)));

static int names_fail(struct names_ctx *c, const char *file,
		      struct tg_pos at, const char *field, const char *fmt,
		      ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_err_set(c->err, file, at.line, at.col, field, "%s", msg);
	return -EINVAL;
}

/*
 * What to say of region @name that nothing knows: the name it differs
 * from only in case, or the plan's id of a region it is the plan's name
 * of, into @buf.
 */
static const char *region_hint(struct names_ctx *c, const char *name,
			       char *buf, size_t len)
{
	const struct tg_config *cfg = c->cfg;
	const char *o;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < c->nr_plan; i++) {
		if (c->plan_names[i] && *c->plan_names[i] &&
		    !strcasecmp(name, c->plan_names[i])) {
			snprintf(buf, len, " (the plan's name of '%s': rules "
				 "compare ids)", c->plan_regions[i]);
			return buf;
		}
	}
	o = other_case(name, c->plan_regions, c->nr_plan);
	if (!o)
		o = other_case(name, c->range_regions.v, c->range_regions.nr);
	if (!o)
		o = other_case(name, &cfg->region, 1);
	for (i = 0; !o && i < cfg->nr_rules &&
		    cfg->rules[i].origin == TG_ORIGIN_NETWORKS;
	     i++)
		o = other_case(name, &cfg->rules[i].region, 1);
	if (o)
		snprintf(buf, len, " (did you mean '%s'?)", o);
	return buf;
}

/* A provider written at @file:@at as @field is the gateway's, or
 * internet, in another case. */
static int check_case(struct names_ctx *c, const char *name,
		      const char *file, struct tg_pos at, const char *field,
		      bool region)
{
	const char *own = region ? c->cfg->region : c->cfg->provider;
	const char *o = other_case(name, &own, 1);

	if (!o && !region)
		o = other_case(name, &(const char *){ TG_PROVIDER_INTERNET }, 1);
	if (!o)
		return 0;
	return names_fail(c, file, at, field, "'%s' is %s '%s' written "
			  "otherwise: names are compared exactly, so %s; "
			  "write '%s'", name,
			  o == own ? (region ? "the gateway's region" :
					       "the gateway's provider") :
				     "the provider",
			  o,
			  region ? "these addresses would be in another "
				   "region" :
				   "these addresses would be another cloud's",
			  o);
}

static int check_networks(struct names_ctx *c)
{
	const struct tg_config *cfg = c->cfg;
	const struct tg_config_priv *p = cfg->priv;
	char field[48], hint[160];
	size_t i;
	int err;

	for (i = 0; i < cfg->nr_rules && cfg->rules[i].origin ==
						 TG_ORIGIN_NETWORKS;
	     i++) {
		const struct tg_rule *r = &cfg->rules[i];
		struct tg_pos pat = p->net_at[i][0], rat = p->net_at[i][1];

		if (r->provider) {
			snprintf(field, sizeof(field), "networks[%zu].provider",
				 i);
			err = check_case(c, r->provider, cfg->path, pat, field,
					 false);
			if (err)
				return err;
			if (strcmp(r->provider, cfg->provider) &&
			    strcmp(r->provider, TG_PROVIDER_INTERNET) &&
			    !listed(r->provider, c->range_providers.v,
				    c->range_providers.nr) &&
			    !listed(r->provider, cfg->known_providers.v,
				    cfg->known_providers.nr))
				return names_fail(c, cfg->path, pat, field,
					"'%s' is not the gateway's provider "
					"'%s', internet, nor one of the ranges: "
					"its addresses are another cloud's, "
					"billed; list it in known_providers if "
					"it is meant", r->provider,
					cfg->provider);
		}
		if (!r->region)
			continue;
		snprintf(field, sizeof(field), "networks[%zu].region", i);
		err = check_case(c, r->region, cfg->path, rat, field, true);
		if (err)
			return err;
		/* Another cloud's region never makes traffic free. */
		if (!r->provider || strcmp(r->provider, cfg->provider))
			continue;
		if (!strcmp(r->region, cfg->region) ||
		    listed(r->region, c->plan_regions, c->nr_plan) ||
		    listed(r->region, c->range_regions.v,
			   c->range_regions.nr) ||
		    listed(r->region, cfg->known_regions.v,
			   cfg->known_regions.nr))
			continue;
		return names_fail(c, cfg->path, rat, field,
				  "'%s' is not the gateway's region '%s', nor "
				  "one of a range file or of plan %s%s; "
				  "list it in known_regions if it is meant",
				  r->region, cfg->region, c->plan_list,
				  region_hint(c, r->region, hint,
					      sizeof(hint)));
	}
	return 0;
}

static int check_ranges(struct names_ctx *c)
{
	const struct tg_config *cfg = c->cfg;
	char field[48];
	size_t i;
	int err;

	for (i = 0; i < cfg->nr_ranges; i++) {
		const struct tg_range_src *src = &cfg->ranges[i];

		if (!src->provider)
			continue;
		snprintf(field, sizeof(field), "ranges[%zu].provider", i);
		err = check_case(c, src->provider, cfg->path,
				 (struct tg_pos){ src->line, 0 }, field,
				 false);
		if (err)
			return err;
	}
	/* The range files' own names: one fault per distinct name. */
	for (i = 0; i < c->range_providers.nr; i++) {
		const struct tg_rule *r = c->range_providers.at[i];

		if (!r)		/* a ranges entry's, checked above */
			continue;
		err = check_case(c, c->range_providers.v[i], r->file,
				 (struct tg_pos){ r->line, 0 }, "provider",
				 false);
		if (err)
			return err;
	}
	for (i = 0; i < c->range_regions.nr; i++) {
		const struct tg_rule *r = c->range_regions.at[i];

		err = check_case(c, c->range_regions.v[i], r->file,
				 (struct tg_pos){ r->line, 0 }, "region",
				 true);
		if (err)
			return err;
	}
	return 0;
}

static int check_own_region(struct names_ctx *c)
{
	const struct tg_config *cfg = c->cfg;
	char hint[160];
	size_t i;

	if (listed(cfg->region, c->plan_regions, c->nr_plan) ||
	    listed(cfg->region, c->range_regions.v, c->range_regions.nr) ||
	    listed(cfg->region, cfg->known_regions.v, cfg->known_regions.nr))
		return 0;
	for (i = 0; i < cfg->nr_rules &&
		    cfg->rules[i].origin == TG_ORIGIN_NETWORKS;
	     i++)
		if (cfg->rules[i].region &&
		    !strcmp(cfg->rules[i].region, cfg->region))
			return 0;
	region_hint(c, cfg->region, hint, sizeof(hint));
	if (c->own_regions)
		return names_fail(c, cfg->path, cfg->region_at, "region",
				  "'%s' is a region of no networks entry, range "
				  "file or plan %s: no address is in it%s; list "
				  "it in known_regions if it is meant",
				  cfg->region, c->plan_list, hint);
	/* No rule of our cloud names a region: nothing compares with it
	 * yet, and nothing is billed otherwise for it. Said all the same. */
	names_fail(c, cfg->path, cfg->region_at, "region",
		   "'%s' is a region of no networks entry, range file or plan "
		   "%s%s; unused while no rule of provider %s names a region; "
		   "list it in known_regions if meant",
		   cfg->region, c->plan_list, hint, cfg->provider);
	return 1;
}

int config_check_names(const struct tg_config *cfg, const char *plan,
		       const char *const *plan_regions,
		       const char *const *plan_names, size_t nr,
		       struct tg_err *err)
{
	struct names_ctx c = {
		.cfg = cfg, .plan = plan, .plan_regions = plan_regions,
		.plan_names = plan_names, .nr_plan = nr, .err = err,
	};
	size_t i, n;
	int ret = 0;

	if (!strcmp(cfg->path, TG_BUILTIN))
		return 0;
	for (i = 0; i < cfg->nr_rules && !ret; i++) {
		const struct tg_rule *r = &cfg->rules[i];

		if (r->region && r->provider &&
		    !strcmp(r->provider, cfg->provider))
			c.own_regions = true;
		if (r->origin != TG_ORIGIN_RANGES)
			continue;
		ret = seen_add(&c.range_providers, r->provider, r);
		if (!ret)
			ret = seen_add(&c.range_regions, r->region, r);
	}
	for (i = 0; i < cfg->nr_ranges && !ret; i++)
		if (cfg->ranges[i].provider)
			ret = seen_add(&c.range_providers,
				       cfg->ranges[i].provider, NULL);
	if (ret) {
		tg_err_set(err, cfg->path, 0, 0, "", "out of memory");
		goto out;
	}
	n = snprintf(c.plan_list, sizeof(c.plan_list), "%s (%s", plan,
		     nr ? "" : "no regions");
	for (i = 0; i < nr && n < sizeof(c.plan_list); i++)
		n += snprintf(c.plan_list + n, sizeof(c.plan_list) - n,
			      "%s%s", i ? ", " : "", plan_regions[i]);
	if (n + 1 >= sizeof(c.plan_list))
		strcpy(c.plan_list + sizeof(c.plan_list) - 6, "...)");
	else
		strcat(c.plan_list, ")");
	ret = check_case(&c, cfg->provider, cfg->path, cfg->provider_at,
			 "provider", false);
	if (!ret)
		ret = check_networks(&c);
	if (!ret)
		ret = check_ranges(&c);
	if (!ret)
		ret = check_own_region(&c);
out:
	free(c.range_regions.v);
	free(c.range_regions.at);
	free(c.range_providers.v);
	free(c.range_providers.at);
	return ret;
}
