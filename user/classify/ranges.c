// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ranges.c - the classify stage's range files: readers of cloud IP-range files
 * (AWS, Google Cloud, Azure JSON and a generic CSV). json-c checks and decodes
 * the JSON; the js_* scanner below walks the same text, already known to be
 * valid, only to find where a value starts, so that an error can name its line
 * and column. The scanner trusts nothing either: on text it does not expect it
 * gives up and the error points at the enclosing value instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "classify/ranges.h"

#define JS_NONE SIZE_MAX

static const char *const format_names[TG_NR_RANGE_FORMATS] = {
	[TG_RANGES_AWS] = "aws",
	[TG_RANGES_GCP] = "gcp",
	[TG_RANGES_AZURE] = "azure",
	[TG_RANGES_CSV] = "csv",
};

const char *ranges_format_name(enum tg_range_format fmt)
{
	if ((unsigned int)fmt >= TG_NR_RANGE_FORMATS)
		return NULL;
	return format_names[fmt];
}

int ranges_format_parse(const char *s, enum tg_range_format *out)
{
	int i;

	for (i = 0; i < TG_NR_RANGE_FORMATS; i++) {
		if (!strcmp(s, format_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *network_name(enum tg_network net)
{
	return net == TG_NET_INTRANET ? "intranet" : "public";
}

int network_parse(const char *s, enum tg_network *out)
{
	if (!strcmp(s, "intranet"))
		*out = TG_NET_INTRANET;
	else if (!strcmp(s, "public"))
		*out = TG_NET_PUBLIC;
	else
		return -EINVAL;
	return 0;
}

bool ranges_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 127 || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* State of one reader: the text, where errors go, and a cursor that turns
 * byte offsets into lines and columns without rescanning from the start. */
struct rparse {
	const char *buf;
	size_t len;
	const char *name;
	range_add_fn add;
	void *ctx;
	struct tg_err *err;
	size_t lp_off;		/* cursor: offset ... */
	unsigned int lp_line;	/* ... on this line ... */
	size_t lp_bol;		/* ... which starts here */
};

static void rp_pos(struct rparse *rp, size_t off, unsigned int *line,
		   unsigned int *col)
{
	if (off > rp->len)
		off = rp->len;
	if (off < rp->lp_off) {
		rp->lp_off = 0;
		rp->lp_line = 1;
		rp->lp_bol = 0;
	}
	for (; rp->lp_off < off; rp->lp_off++) {
		if (rp->buf[rp->lp_off] == '\n') {
			rp->lp_line++;
			rp->lp_bol = rp->lp_off + 1;
		}
	}
	*line = rp->lp_line;
	*col = off - rp->lp_bol + 1;
}

__attribute__((format(printf, 4, 5)))
static int rp_fail(struct rparse *rp, size_t off, const char *field,
		   const char *fmt, ...)
{
	unsigned int line, col;
	char msg[sizeof(rp->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp_pos(rp, off, &line, &col);
	tg_err_set(rp->err, rp->name, line, col, field, "%s", msg);
	return -EINVAL;
}

/* Check and hand on one prefix found at @off. @family: 4, 6 or 0 (any). */
static int rp_add(struct rparse *rp, const char *text, size_t off,
		  const char *field, int family, const char *region,
		  const char *provider, int network)
{
	struct range_entry e = { .network = network };
	const char *why = NULL;
	char buf[CIDR_STRLEN];
	int err;

	err = cidr_parse(text, &e.prefix);
	if (err == -EDOM)
		return rp_fail(rp, off, field, "host bits set in '%.64s', "
			       "did you mean %s", text,
			       cidr_format(&e.prefix, buf, sizeof(buf)));
	if (err)
		return rp_fail(rp, off, field, "not an address prefix: '%.64s'",
			       text);
	if (family == 4 && !cidr_is_v4(&e.prefix))
		return rp_fail(rp, off, field, "not an IPv4 prefix: '%.64s'",
			       text);
	if (family == 6 && cidr_is_v4(&e.prefix))
		return rp_fail(rp, off, field, "not an IPv6 prefix: '%.64s'",
			       text);
	e.region = region && *region ? region : NULL;
	e.provider = provider && *provider ? provider : NULL;
	rp_pos(rp, off, &e.line, &(unsigned int){ 0 });
	err = rp->add(rp->ctx, &e, &why);
	if (err < 0) {
		unsigned int line, col;

		rp_pos(rp, off, &line, &col);
		if (why)
			tg_err_set(rp->err, rp->name, line, col, field, "%s",
				   why);
		else
			tg_err_set(rp->err, rp->name, line, col, field,
				   "cannot add prefix %s: %s", text,
				   strerror(-err));
	}
	return err < 0 ? err : 0;
}

/* --- where JSON values start ------------------------------------------ */

static size_t js_ws(const char *b, size_t n, size_t i)
{
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' ||
			 b[i] == '\r'))
		i++;
	return i;
}

/* Past the string that starts at @i (on its opening quote). */
static size_t js_skip_string(const char *b, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (b[i] == '\\')
			i++;
		else if (b[i] == '"')
			return i + 1;
	}
	return n;
}

/* Past the value that starts at @i. */
static size_t js_skip(const char *b, size_t n, size_t i)
{
	size_t depth = 0;

	if (i >= n)
		return n;
	if (b[i] == '"')
		return js_skip_string(b, n, i);
	if (b[i] != '{' && b[i] != '[') {
		while (i < n && !strchr(",:]} \t\r\n", b[i]))
			i++;
		return i;
	}
	while (i < n) {
		if (b[i] == '"') {
			i = js_skip_string(b, n, i);
			continue;
		}
		if (b[i] == '{' || b[i] == '[') {
			depth++;
		} else if (b[i] == '}' || b[i] == ']') {
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return n;
}

/* Where the value of the last member @key of the object at @obj starts
 * (json-c, too, keeps the last of duplicate keys); JS_NONE if not found. */
static size_t js_member(const char *b, size_t n, size_t obj, const char *key)
{
	size_t klen = strlen(key), found = JS_NONE, i, k, kend;

	if (obj >= n || b[obj] != '{')
		return JS_NONE;
	i = js_ws(b, n, obj + 1);
	while (i < n && b[i] == '"') {
		k = i + 1;
		kend = js_skip_string(b, n, i);
		i = js_ws(b, n, kend);
		if (i >= n || b[i] != ':')
			return found;
		i = js_ws(b, n, i + 1);
		if (kend - 1 - k == klen && !memcmp(b + k, key, klen))
			found = i;
		i = js_ws(b, n, js_skip(b, n, i));
		if (i >= n || b[i] != ',')
			break;
		i = js_ws(b, n, i + 1);
	}
	return found;
}

/* First element of the array at @arr, or JS_NONE. */
static size_t js_first(const char *b, size_t n, size_t arr)
{
	size_t i;

	if (arr >= n || b[arr] != '[')
		return JS_NONE;
	i = js_ws(b, n, arr + 1);
	return i < n && b[i] != ']' ? i : JS_NONE;
}

/* The element after the one at @el, or JS_NONE. */
static size_t js_next(const char *b, size_t n, size_t el)
{
	size_t i;

	if (el == JS_NONE)
		return JS_NONE;
	i = js_ws(b, n, js_skip(b, n, el));
	if (i >= n || b[i] != ',')
		return JS_NONE;
	return js_ws(b, n, i + 1);
}

/* --- JSON formats ------------------------------------------------------ */

static const char *json_type_desc(enum json_type t)
{
	switch (t) {
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	default:
		return "a value";
	}
}

/*
 * The member @key of @obj (which starts at @off, path @path), of type
 * @type. Missing: an error when @required, else *@out = NULL.
 */
static int js_get(struct rparse *rp, json_object *obj, size_t off,
		  const char *path, const char *key, enum json_type type,
		  bool required, json_object **out, size_t *voff)
{
	char field[128];
	size_t at;

	snprintf(field, sizeof(field), "%s%s%s", path, *path ? "." : "", key);
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, out)) {
		if (!required)
			return 0;
		return rp_fail(rp, off, field, "missing field '%s'", key);
	}
	at = js_member(rp->buf, rp->len, off, key);
	*voff = at == JS_NONE ? off : at;
	if (!json_object_is_type(*out, type))
		return rp_fail(rp, *voff, field, "must be %s",
			       json_type_desc(type));
	return 0;
}

static int js_region(struct rparse *rp, const char *region, size_t off,
		     const char *field)
{
	if (*region && !ranges_name_ok(region))
		return rp_fail(rp, off, field, "bad region name '%.64s'",
			       region);
	return 0;
}

/* aws: prefixes[].{ip_prefix,region}, ipv6_prefixes[].{ipv6_prefix,...} */
static int parse_aws(struct rparse *rp, json_object *root, size_t roff)
{
	static const struct {
		const char *list;
		const char *key;
		int family;
		bool required;
	} parts[] = {
		{ "prefixes", "ip_prefix", 4, true },
		{ "ipv6_prefixes", "ipv6_prefix", 6, false },
	};
	size_t p, i, n, aoff, el, off, roff2;
	json_object *arr, *ent, *pfx, *reg;
	char path[96];
	int err;

	for (p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		err = js_get(rp, root, roff, "", parts[p].list,
			     json_type_array, parts[p].required, &arr, &aoff);
		if (err)
			return err;
		if (!arr)
			continue;
		n = json_object_array_length(arr);
		el = js_first(rp->buf, rp->len, aoff);
		for (i = 0; i < n; i++, el = js_next(rp->buf, rp->len, el)) {
			off = el == JS_NONE ? aoff : el;
			snprintf(path, sizeof(path), "%s[%zu]", parts[p].list,
				 i);
			ent = json_object_array_get_idx(arr, i);
			if (!json_object_is_type(ent, json_type_object))
				return rp_fail(rp, off, path,
					       "must be an object");
			err = js_get(rp, ent, off, path, parts[p].key,
				     json_type_string, true, &pfx, &off);
			if (err)
				return err;
			err = js_get(rp, ent, el == JS_NONE ? aoff : el, path,
				     "region", json_type_string, true, &reg,
				     &roff2);
			if (err)
				return err;
			snprintf(path + strlen(path),
				 sizeof(path) - strlen(path), ".region");
			err = js_region(rp, json_object_get_string(reg), roff2,
					path);
			if (err)
				return err;
			snprintf(path, sizeof(path), "%s[%zu].%s",
				 parts[p].list, i, parts[p].key);
			err = rp_add(rp, json_object_get_string(pfx), off, path,
				     parts[p].family,
				     json_object_get_string(reg), NULL, -1);
			if (err)
				return err;
		}
	}
	return 0;
}

/* gcp: prefixes[].{ipv4Prefix|ipv6Prefix, scope} */
static int parse_gcp(struct rparse *rp, json_object *root, size_t roff)
{
	json_object *arr, *ent, *v4, *v6, *scope;
	size_t i, n, aoff, el, off, poff = 0, soff;
	char path[96], field[128];
	int err;

	err = js_get(rp, root, roff, "", "prefixes", json_type_array, true,
		     &arr, &aoff);
	if (err)
		return err;
	n = json_object_array_length(arr);
	el = js_first(rp->buf, rp->len, aoff);
	for (i = 0; i < n; i++, el = js_next(rp->buf, rp->len, el)) {
		off = el == JS_NONE ? aoff : el;
		snprintf(path, sizeof(path), "prefixes[%zu]", i);
		ent = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(ent, json_type_object))
			return rp_fail(rp, off, path, "must be an object");
		err = js_get(rp, ent, off, path, "ipv4Prefix",
			     json_type_string, false, &v4, &poff);
		if (!err)
			err = js_get(rp, ent, off, path, "ipv6Prefix",
				     json_type_string, false, &v6,
				     v4 ? &soff : &poff);
		if (!err)
			err = js_get(rp, ent, off, path, "scope",
				     json_type_string, true, &scope, &soff);
		if (err)
			return err;
		if (!v4 == !v6)
			return rp_fail(rp, off, path, "needs exactly one of "
				       "ipv4Prefix and ipv6Prefix");
		snprintf(field, sizeof(field), "%s.scope", path);
		err = js_region(rp, json_object_get_string(scope), soff, field);
		if (err)
			return err;
		snprintf(field, sizeof(field), "%s.%s", path,
			 v4 ? "ipv4Prefix" : "ipv6Prefix");
		err = rp_add(rp, json_object_get_string(v4 ? v4 : v6), poff,
			     field, v4 ? 4 : 6, json_object_get_string(scope),
			     NULL, -1);
		if (err)
			return err;
	}
	return 0;
}

/* azure: values[].properties.{region, addressPrefixes[]} */
static int parse_azure(struct rparse *rp, json_object *root, size_t roff)
{
	json_object *arr, *ent, *props, *reg, *pfxs, *pfx;
	size_t i, j, n, m, aoff, el, off, poff, goff, poff2, pel;
	char path[96], field[160];
	const char *region;
	int err;

	err = js_get(rp, root, roff, "", "values", json_type_array, true,
		     &arr, &aoff);
	if (err)
		return err;
	n = json_object_array_length(arr);
	el = js_first(rp->buf, rp->len, aoff);
	for (i = 0; i < n; i++, el = js_next(rp->buf, rp->len, el)) {
		off = el == JS_NONE ? aoff : el;
		snprintf(path, sizeof(path), "values[%zu]", i);
		ent = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(ent, json_type_object))
			return rp_fail(rp, off, path, "must be an object");
		err = js_get(rp, ent, off, path, "properties",
			     json_type_object, true, &props, &poff);
		if (err)
			return err;
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 ".properties");
		err = js_get(rp, props, poff, path, "region", json_type_string,
			     false, &reg, &goff);
		if (err)
			return err;
		region = reg ? json_object_get_string(reg) : "";
		snprintf(field, sizeof(field), "%s.region", path);
		if (reg && (err = js_region(rp, region, goff, field)))
			return err;
		err = js_get(rp, props, poff, path, "addressPrefixes",
			     json_type_array, true, &pfxs, &poff2);
		if (err)
			return err;
		m = json_object_array_length(pfxs);
		pel = js_first(rp->buf, rp->len, poff2);
		for (j = 0; j < m; j++, pel = js_next(rp->buf, rp->len, pel)) {
			snprintf(field, sizeof(field), "%s.addressPrefixes[%zu]",
				 path, j);
			pfx = json_object_array_get_idx(pfxs, j);
			if (!json_object_is_type(pfx, json_type_string))
				return rp_fail(rp, pel == JS_NONE ? poff2 : pel,
					       field, "must be a string");
			err = rp_add(rp, json_object_get_string(pfx),
				     pel == JS_NONE ? poff2 : pel, field, 0,
				     region, NULL, -1);
			if (err)
				return err;
		}
	}
	return 0;
}

static int parse_json(struct rparse *rp, enum tg_range_format fmt)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *root;
	size_t roff;
	char *text;
	int err;

	if (rp->len > INT32_MAX - 1)
		return rp_fail(rp, 0, "", "file too large");
	tok = json_tokener_new();
	if (!tok) {
		tg_err_set(rp->err, rp->name, 0, 0, "", "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* json-c wants the final NUL counted, or a top-level number stays
	 * "to be continued"; the caller's buffer need not have one. There is
	 * none inside: ranges_parse() checked. */
	text = malloc(rp->len + 1);
	if (!text) {
		json_tokener_free(tok);
		tg_err_set(rp->err, rp->name, 0, 0, "", "out of memory");
		return -ENOMEM;
	}
	memcpy(text, rp->buf, rp->len);
	text[rp->len] = '\0';
	root = json_tokener_parse_ex(tok, text, rp->len + 1);
	free(text);
	jerr = json_tokener_get_error(tok);
	if (!root && jerr == json_tokener_continue) {
		err = rp_fail(rp, rp->len, "", "truncated JSON: the file ends "
			      "inside a value");
		json_tokener_free(tok);
		return err;
	}
	if (!root || jerr != json_tokener_success) {
		err = rp_fail(rp, json_tokener_get_parse_end(tok), "",
			      "malformed JSON: %s",
			      json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		json_object_put(root);
		return err;
	}
	roff = js_ws(rp->buf, rp->len, json_tokener_get_parse_end(tok));
	json_tokener_free(tok);
	if (roff < rp->len) {
		json_object_put(root);
		return rp_fail(rp, roff, "", "trailing text after the JSON "
			       "document");
	}
	roff = js_ws(rp->buf, rp->len, 0);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return rp_fail(rp, roff, "", "must be a JSON object");
	}
	switch (fmt) {
	case TG_RANGES_AWS:
		err = parse_aws(rp, root, roff);
		break;
	case TG_RANGES_GCP:
		err = parse_gcp(rp, root, roff);
		break;
	default:
		err = parse_azure(rp, root, roff);
		break;
	}
	json_object_put(root);
	return err;
}

/* --- CSV ---------------------------------------------------------------- */

static const char *const csv_fields[] = { "cidr", "region", "provider",
					  "network" };

static int parse_csv(struct rparse *rp)
{
	size_t bol = 0, eol, i, nf, start[4], flen[4];
	char f[4][128];
	enum tg_network net;
	const char *p, *end;
	int err, network;

	while (bol < rp->len) {
		p = memchr(rp->buf + bol, '\n', rp->len - bol);
		eol = p ? (size_t)(p - rp->buf) : rp->len;
		end = memchr(rp->buf + bol, '#', eol - bol);
		i = end ? (size_t)(end - rp->buf) : eol;
		/* Split [bol, i) at commas; trim each field. */
		nf = 0;
		for (size_t s = bol; ; ) {
			size_t e = s, a, z;

			while (e < i && rp->buf[e] != ',')
				e++;
			a = s;
			z = e;
			while (a < z && strchr(" \t\r", rp->buf[a]))
				a++;
			while (z > a && strchr(" \t\r", rp->buf[z - 1]))
				z--;
			if (nf == 4)
				return rp_fail(rp, s, "", "more than 4 fields; "
					       "the format is cidr,region"
					       "[,provider[,network]]");
			start[nf] = a;
			flen[nf] = z - a;
			nf++;
			if (e >= i)
				break;
			s = e + 1;
		}
		if (nf == 1 && !flen[0]) {	/* blank or comment only */
			bol = eol + 1;
			continue;
		}
		for (i = 0; i < nf; i++) {
			if (flen[i] >= sizeof(f[i]))
				return rp_fail(rp, start[i], csv_fields[i],
					       "longer than %zu bytes",
					       sizeof(f[i]) - 1);
			memcpy(f[i], rp->buf + start[i], flen[i]);
			f[i][flen[i]] = '\0';
		}
		if (nf < 2)
			return rp_fail(rp, start[0], "region", "missing; the "
				       "format is cidr,region[,provider"
				       "[,network]]");
		if (f[1][0] && !ranges_name_ok(f[1]))
			return rp_fail(rp, start[1], "region",
				       "bad region name '%s'", f[1]);
		if (nf > 2 && f[2][0] && !ranges_name_ok(f[2]))
			return rp_fail(rp, start[2], "provider",
				       "bad provider name '%s'", f[2]);
		network = -1;
		if (nf > 3 && f[3][0]) {
			if (network_parse(f[3], &net))
				return rp_fail(rp, start[3], "network",
					       "must be intranet or public, "
					       "not '%s'", f[3]);
			network = net;
		}
		err = rp_add(rp, f[0], start[0], "cidr", 0, f[1],
			     nf > 2 ? f[2] : NULL, network);
		if (err)
			return err;
		bol = eol + 1;
	}
	return 0;
}

int ranges_parse(const char *buf, size_t len, const char *name,
		 enum tg_range_format fmt, range_add_fn add, void *ctx,
		 struct tg_err *err)
{
	struct rparse rp = {
		.buf = buf, .len = len, .name = name, .add = add, .ctx = ctx,
		.err = err, .lp_line = 1,
	};
	const char *nul = memchr(buf, '\0', len);

	if ((unsigned int)fmt >= TG_NR_RANGE_FORMATS) {
		tg_err_set(err, name, 0, 0, "format", "unknown format %d",
			   fmt);
		return -EINVAL;
	}
	if (nul)
		return rp_fail(&rp, nul - buf, "", "NUL byte: not a text file");
	if (fmt == TG_RANGES_CSV)
		return parse_csv(&rp);
	return parse_json(&rp, fmt);
}

int ranges_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;
	char *b;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	err = -EINVAL;
	if (!S_ISREG(st.st_mode))
		goto out;
	err = -EFBIG;
	if ((__u64)st.st_size > max)
		goto out;
	err = -ENOMEM;
	b = malloc(st.st_size + 1);
	if (!b)
		goto out;
	/* The file may change under us: read what is there, up to max. */
	while (n < (size_t)st.st_size) {
		r = read(fd, b + n, st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			free(b);
			goto out;
		}
		if (!r)
			break;
		n += r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	err = 0;
out:
	close(fd);
	return err;
}

int ranges_load(const char *path, enum tg_range_format fmt, range_add_fn add,
		void *ctx, struct tg_err *err)
{
	size_t len;
	char *buf;
	int ret;

	ret = ranges_read_file(path, TG_RANGES_MAX_SIZE, &buf, &len);
	if (ret == -EFBIG) {
		tg_err_set(err, path, 0, 0, "", "larger than %u MiB",
			   TG_RANGES_MAX_SIZE >> 20);
		return ret;
	}
	if (ret == -EINVAL) {
		tg_err_set(err, path, 0, 0, "", "not a regular file");
		return ret;
	}
	if (ret) {
		tg_err_set(err, path, 0, 0, "", "cannot read: %s",
			   strerror(-ret));
		return ret;
	}
	ret = ranges_parse(buf, len, path, fmt, add, ctx, err);
	free(buf);
	return ret;
}
