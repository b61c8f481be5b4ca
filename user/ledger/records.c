// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * records.c - the ledger's day rows as usage records, JSON lines or CSV,
 * written out and read in (`tollgate ledger export|import`).
 *
 * A record is one day row of a ledger: its key (host, day, tenant,
 * service, backend, traffic_type) and that day's running totals. Shipping
 * a record twice overwrites and never adds, so exports can be re-sent and
 * imports re-run. An import is one transaction: a malformed line is
 * reported as FILE:LINE: field: message, and nothing of the invocation is
 * imported.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "ledger/records.h"
#include "lib/log.h"

#define MAX_REPORTED 20
#define UTF8_BOM "\xef\xbb\xbf"

enum field {
	F_HOST,
	F_DAY,
	F_TENANT,
	F_SERVICE,
	F_BACKEND,
	F_TYPE,
	F_BYTES,
	F_PACKETS,
	F_CALLS,
	F_UNEXPLAINED,
	F_TZ,
	NR_FIELDS
};

/* The record's fields, in the order exports write them. */
static const struct {
	const char *name;
	size_t off;		/* in struct ledger_usage; text fields */
	size_t size;
	bool required;
} fields[NR_FIELDS] = {
#define TEXT(n, m) { n, offsetof(struct ledger_usage, k.m), \
		     sizeof(((struct ledger_key *)0)->m), true }
	[F_HOST] = TEXT("host", host),
	[F_DAY] = TEXT("day", day),
	[F_TENANT] = TEXT("tenant", tenant),
	[F_SERVICE] = TEXT("service", service),
	[F_BACKEND] = TEXT("backend", backend),
	[F_TYPE] = TEXT("traffic_type", traffic_type),
#undef TEXT
	[F_BYTES] = { "bytes", offsetof(struct ledger_usage, bytes), 0, true },
	[F_PACKETS] = { "packets", offsetof(struct ledger_usage, packets), 0,
			true },
	[F_CALLS] = { "calls", offsetof(struct ledger_usage, calls), 0, true },
	[F_UNEXPLAINED] = { "unexplained_bytes",
			    offsetof(struct ledger_usage, unexplained_bytes), 0,
			    false },
	[F_TZ] = { "time_zone", 0, LEDGER_TZ_SIZE, false },
};

static bool is_text(int f)
{
	return f <= F_TYPE || f == F_TZ;
}

static int field_index(const char *name)
{
	int i;

	for (i = 0; i < NR_FIELDS; i++)
		if (!strcmp(name, fields[i].name))
			return i;
	return -1;
}

/* Store text @s (@len bytes) into field @f of @r, or @tz. */
static int set_text(struct ledger_usage *r, char *tz, int f, const char *s,
		    size_t len, char *err, size_t errlen)
{
	char *dst = f == F_TZ ? tz : (char *)r + fields[f].off;
	size_t bad;

	if (len >= fields[f].size) {
		snprintf(err, errlen, "%s: longer than %zu bytes",
			 fields[f].name, fields[f].size - 1);
		return -EINVAL;
	}
	if (memchr(s, '\0', len)) {
		snprintf(err, errlen, "%s: control character in the name",
			 fields[f].name);
		return -EINVAL;
	}
	/* Names go out in JSON (exports, bills), which is UTF-8. */
	if (!utf8_valid(s, len, &bad)) {
		snprintf(err, errlen, "%s: not valid UTF-8 at byte %zu",
			 fields[f].name, bad + 1);
		return -EINVAL;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static void set_count(struct ledger_usage *r, int f, __u64 v)
{
	*(__u64 *)((char *)r + fields[f].off) = v;
}

/* Checks common to both formats, once every field is in. */
static int finish(struct ledger_usage *r, const bool *seen, char *err,
		  size_t errlen)
{
	int i;

	for (i = 0; i < NR_FIELDS; i++) {
		if (fields[i].required && !seen[i]) {
			snprintf(err, errlen, "%s: missing", fields[i].name);
			return -EINVAL;
		}
	}
	if (ledger_key_check(&r->k, err, errlen))
		return -EINVAL;
	/* The unexplained bytes are a part of the bytes. */
	if (r->unexplained_bytes > r->bytes) {
		snprintf(err, errlen,
			 "unexplained_bytes: %llu, more than the %llu bytes",
			 (unsigned long long)r->unexplained_bytes,
			 (unsigned long long)r->bytes);
		return -EINVAL;
	}
	return 0;
}

static int hex4(const char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * Scan the JSON string that starts at the quote @p: its end (the closing
 * quote) into *@end, its text decoded into @name when it is ASCII and
 * fits (else @name is ""), and whether it holds a lone surrogate escape.
 * The text is valid JSON: escapes are well formed.
 */
static void scan_string(const char *p, const char **end, char *name,
			size_t size, bool *nul, bool *lone)
{
	size_t n = 0;
	bool ascii = true;
	int low;

	*nul = *lone = false;
	for (p++; *p != '"'; p++) {
		int c = (unsigned char)*p;

		if (c == '\\') {
			p++;
			if (*p != 'u') {
				/* \b \f \n \r \t are no letters of a
				 * field name; \" \\ \/ stand for themselves */
				c = strchr("bfnrt", *p) ? 0x80 :
							 (unsigned char)*p;
			} else {
				c = hex4(p + 1);
				p += 4;
				low = p[1] == '\\' && p[2] == 'u' ? hex4(p + 3) :
								    0;
				if (c >= 0xd800 && c <= 0xdbff &&
				    low >= 0xdc00 && low <= 0xdfff) {
					p += 6;
					c = 0x10000;	/* not ASCII */
				} else if (c >= 0xd800 && c <= 0xdfff) {
					*lone = true;
				}
				if (!c)
					*nul = true;
			}
		}
		if (c >= 0x80)
			ascii = false;
		else if (n + 1 < size)
			name[n++] = c;
		else
			ascii = false;
	}
	name[ascii ? n : 0] = '\0';
	*end = p;
}

/*
 * json-c keeps the last of two equal keys, cuts a key at an escaped NUL
 * and turns a lone surrogate escape (\ud800) into U+FFFD: each would read
 * a record as something it does not say. So the keys and values of the
 * object are read again from @line, which json-c has accepted as one
 * strict JSON object: a plain scan of it is exact.
 */
static int check_keys(const char *line, size_t len, char *err, size_t errlen)
{
	bool seen[NR_FIELDS] = {}, want_key = false;
	const char *p, *end = line + len;
	char name[32];
	int depth = 0, f = -1;

	for (p = line; p < end; p++) {
		bool nul, lone;

		switch (*p) {
		case '{':
		case '[':
			want_key = ++depth == 1 && *p == '{';
			continue;
		case '}':
		case ']':
			depth--;
			continue;
		case ',':
			want_key = depth == 1;
			continue;
		case '"':
			break;
		default:
			continue;
		}
		scan_string(p, &p, name, sizeof(name), &nul, &lone);
		if (depth != 1)
			continue;
		if (!want_key) {
			if (f >= 0 && lone) {
				snprintf(err, errlen,
					 "%s: not valid UTF-8: a lone "
					 "surrogate escape",
					 fields[f].name);
				return -EINVAL;
			}
			continue;
		}
		want_key = false;
		if (nul) {
			snprintf(err, errlen,
				 "record: a field name holds \\u0000");
			return -EINVAL;
		}
		f = field_index(name);
		if (f >= 0 && seen[f]) {
			snprintf(err, errlen, "%s: field appears twice", name);
			return -EINVAL;
		}
		if (f >= 0)
			seen[f] = true;
	}
	return 0;
}

/* Parse one JSON line; see records.h. */
int record_parse_json(const char *line, size_t len, struct ledger_usage *r,
		      char *tz, char *err, size_t errlen)
{
	bool seen[NR_FIELDS] = {};
	struct json_tokener *tok;
	struct json_object *obj;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	*tz = '\0';
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, line, len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(err, errlen, "record: not JSON: %s",
			 e == json_tokener_continue ?
				 "unexpected end of line" :
				 json_tokener_error_desc(e));
		ret = -EINVAL;
		goto out;
	}
	if (json_tokener_get_parse_end(tok) < len) {
		snprintf(err, errlen, "record: text after the JSON object");
		ret = -EINVAL;
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "record: not a JSON object");
		ret = -EINVAL;
		goto out;
	}
	ret = check_keys(line, len, err, errlen);
	if (ret)
		goto out;
	json_object_object_foreach(obj, key, val)
	{
		int f = field_index(key);

		if (f < 0) {
			snprintf(err, errlen, "%s: unknown field", key);
			ret = -EINVAL;
			break;
		}
		seen[f] = true;
		if (is_text(f)) {
			if (!json_object_is_type(val, json_type_string)) {
				snprintf(err, errlen, "%s: not a string", key);
				ret = -EINVAL;
				break;
			}
			ret = set_text(r, tz, f, json_object_get_string(val),
				       json_object_get_string_len(val), err,
				       errlen);
			if (ret)
				break;
			continue;
		}
		if (!json_object_is_type(val, json_type_int)) {
			snprintf(err, errlen, "%s: not an integer", key);
			ret = -EINVAL;
			break;
		}
		/* json-c keeps large integers unsigned and clamps the
		 * signed view: ask both. */
		if (json_object_get_int64(val) < 0) {
			snprintf(err, errlen, "%s: negative", key);
			ret = -EINVAL;
			break;
		}
		if (json_object_get_uint64(val) > INT64_MAX) {
			snprintf(err, errlen, "%s: larger than %lld", key,
				 (long long)INT64_MAX);
			ret = -EINVAL;
			break;
		}
		set_count(r, f, json_object_get_uint64(val));
	}
	if (!ret)
		ret = finish(r, seen, err, errlen);
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return ret;
}

/* Split a CSV line into at most @max fields (RFC 4180 quoting, no line
 * breaks inside a field), in place. Returns the number of fields or
 * -EINVAL. */
static int csv_split(char *line, char **out, int max)
{
	char *p = line;
	int n = 0;

	for (;;) {
		char *w = p;

		if (n == max)
			return -E2BIG;
		out[n++] = w;
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p)
					return -EINVAL;
				if (*p == '"') {
					if (p[1] != '"')
						break;
					p++;
				}
				*w++ = *p++;
			}
			p++;
			if (*p && *p != ',')
				return -EINVAL;
		} else {
			while (*p && *p != ',') {
				if (*p == '"')
					return -EINVAL;
				*w++ = *p++;
			}
		}
		if (!*p) {
			*w = '\0';
			return n;
		}
		*w = '\0';
		p++;
	}
}

/* Read a CSV header; see records.h. */
int record_csv_header(char *line, struct record_csv *h, char *err,
		      size_t errlen)
{
	char *cols[NR_FIELDS + 1];
	bool seen[NR_FIELDS] = {};
	int n, i;

	n = csv_split(line, cols, NR_FIELDS + 1);
	if (n < 0) {
		snprintf(err, errlen,
			 n == -E2BIG ? "header: more columns than fields" :
				       "header: bad quoting");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		int f = field_index(cols[i]);

		if (f < 0) {
			snprintf(err, errlen, "%s: unknown column", cols[i]);
			return -EINVAL;
		}
		if (seen[f]) {
			snprintf(err, errlen, "%s: column appears twice",
				 cols[i]);
			return -EINVAL;
		}
		seen[f] = true;
		h->col[i] = f;
	}
	for (i = 0; i < NR_FIELDS; i++) {
		if (fields[i].required && !seen[i]) {
			snprintf(err, errlen, "%s: no such column",
				 fields[i].name);
			return -EINVAL;
		}
	}
	h->nr_cols = n;
	return 0;
}

/* Parse one CSV line under header @h; see records.h. */
int record_parse_csv(char *line, const struct record_csv *h,
		     struct ledger_usage *r, char *tz, char *err,
		     size_t errlen)
{
	char *cols[NR_FIELDS + 1];
	bool seen[NR_FIELDS] = {};
	int n, i, ret;

	memset(r, 0, sizeof(*r));
	*tz = '\0';
	n = csv_split(line, cols, NR_FIELDS + 1);
	if (n == -EINVAL) {
		snprintf(err, errlen, "record: bad quoting");
		return -EINVAL;
	}
	if (n != h->nr_cols) {
		snprintf(err, errlen, "record: %s fields, the header has %d",
			 n < 0 ? "too many" : n < h->nr_cols ? "fewer" : "more",
			 h->nr_cols);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		int f = h->col[i];
		__u64 v;

		seen[f] = true;
		if (is_text(f)) {
			ret = set_text(r, tz, f, cols[i], strlen(cols[i]), err,
				       errlen);
			if (ret)
				return ret;
			continue;
		}
		ret = parse_u64(cols[i], 0, INT64_MAX, &v);
		if (ret) {
			snprintf(err, errlen, "%s: %s", fields[f].name,
				 ret == -ERANGE ? "larger than "
						  "9223372036854775807" :
						  "not a non-negative integer");
			return -EINVAL;
		}
		set_count(r, f, v);
	}
	return finish(r, seen, err, errlen);
}

/* Write one record; see records.h. */
void record_write(FILE *f, enum out_format fmt, const struct ledger_usage *r,
		  const char *tz)
{
	int i;

	if (fmt == FMT_CSV) {
		for (i = 0; i < NR_FIELDS; i++) {
			if (i)
				fputc(',', f);
			if (i == F_TZ)
				csv_string(f, tz);
			else if (is_text(i))
				csv_string(f, (const char *)r + fields[i].off);
			else
				fprintf(f, "%llu",
					(unsigned long long)*(
						const __u64 *)((const char *)r +
							       fields[i].off));
		}
		fputc('\n', f);
		return;
	}
	fputc('{', f);
	for (i = 0; i < NR_FIELDS; i++) {
		fprintf(f, "%s\"%s\":", i ? "," : "", fields[i].name);
		if (i == F_TZ)
			json_string(f, tz);
		else if (is_text(i))
			json_string(f, (const char *)r + fields[i].off);
		else
			fprintf(f, "%llu",
				(unsigned long long)*(const __u64 *)((const char *)r +
								     fields[i].off));
	}
	fputs("}\n", f);
}

/* The CSV header line; see records.h. */
void record_csv_head(FILE *f)
{
	int i;

	for (i = 0; i < NR_FIELDS; i++)
		fprintf(f, "%s%s", i ? "," : "", fields[i].name);
	fputc('\n', f);
}

/* `tollgate ledger export` */

struct export_ctx {
	FILE *f;
	enum out_format fmt;
	const char *tz;
	size_t not_utf8;	/* records with a name that is not UTF-8 */
};

static int export_row(const struct ledger_usage *r, void *ctx)
{
	struct export_ctx *x = ctx;
	int i;

	for (i = 0; i <= F_TYPE; i++) {
		const char *s = (const char *)r + fields[i].off;

		if (!utf8_valid(s, strlen(s), NULL)) {
			x->not_utf8++;
			break;
		}
	}
	record_write(x->f, x->fmt, r, x->tz);
	return ferror(x->f) ? -EIO : 0;
}

/* Export the rows of @l that @flt lets through to @f; see records.h. */
int records_export(struct ledger *l, const struct ledger_filter *flt,
		   enum out_format fmt, FILE *f)
{
	struct export_ctx x = { f, fmt, ledger_time_zone(l), 0 };
	int err;

	if (fmt == FMT_CSV)
		record_csv_head(f);
	err = ledger_scan(l, flt, export_row, &x);
	/* Ledgers of older versions may hold such names: JSON cannot carry
	 * them, and import refuses them. */
	if (x.not_utf8)
		pr_warn("ledger '%s': %zu record%s with a name that is not "
			"UTF-8: %s",
			ledger_path(l), x.not_utf8, x.not_utf8 == 1 ? "" : "s",
			fmt == FMT_JSON ?
				"each bad byte is written as U+FFFD" :
				"written as stored, which import refuses");
	return err;
}

/* `tollgate ledger import` */

struct import_file {
	const char *name;
	FILE *f;
	unsigned int line;
	int fmt;		/* FMT_JSON, FMT_CSV, -1: not told yet */
	struct record_csv csv;
	bool have_header;
	bool bad_header;	/* the rest of the file cannot be read */
};

/*
 * Parse the next record of @in into @r. Returns 1 with a record, 0 at the
 * end, -EINVAL for a malformed line (reported), -errno on a read error.
 */
static int next_record(struct import_file *in, const char *ledger_tz,
		       struct ledger_usage *r, char **buf, size_t *cap)
{
	char err[256], tz[LEDGER_TZ_SIZE];
	ssize_t n;
	int ret;

	if (in->bad_header)
		return 0;
	while ((n = getline(buf, cap, in->f)) >= 0) {
		char *line = *buf;
		size_t len = n, i;

		in->line++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		/* A UTF-8 byte order mark (editors on Windows write one) is
		 * no part of the first line. */
		if (in->line == 1 && len >= 3 && !memcmp(line, UTF8_BOM, 3)) {
			line += 3;
			len -= 3;
		}
		for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == len)
			continue;	/* blank */
		/* JSON lines start with '{'; anything else is taken for
		 * CSV. */
		if (in->fmt < 0)
			in->fmt = line[i] == '{' ? FMT_JSON : FMT_CSV;
		if (in->fmt == FMT_CSV && !in->have_header) {
			if (strlen(line) != len) {
				snprintf(err, sizeof(err),
					 "header: NUL character");
				ret = -EINVAL;
			} else {
				ret = record_csv_header(line, &in->csv, err,
							sizeof(err));
			}
			/* Without its header no line of the file can be
			 * read: one error for the file, not one a line. */
			if (ret) {
				in->bad_header = true;
				goto bad;
			}
			in->have_header = true;
			continue;
		}
		if (in->fmt == FMT_JSON) {
			ret = record_parse_json(line, len, r, tz, err,
						sizeof(err));
		} else if (strlen(line) != len) {
			snprintf(err, sizeof(err), "record: NUL character");
			ret = -EINVAL;
		} else {
			ret = record_parse_csv(line, &in->csv, r, tz, err,
					       sizeof(err));
		}
		if (ret == -ENOMEM)
			return ret;
		if (!ret && *tz && strcmp(tz, ledger_tz)) {
			snprintf(err, sizeof(err),
				 "time_zone: the record's day is in %s, the "
				 "ledger's in %s",
				 tz, ledger_tz);
			ret = -EINVAL;
		}
		if (ret)
			goto bad;
		return 1;
	}
	if (ferror(in->f)) {
		pr_warn("%s: cannot read: %s", in->name, strerror(errno));
		return -EIO;
	}
	if (in->fmt == FMT_CSV && !in->have_header && in->line) {
		in->have_header = true;	/* said once: the end stays */
		snprintf(err, sizeof(err), "header: missing");
		ret = -EINVAL;
		goto bad;
	}
	return 0;
bad:
	/* Located messages go bare, as compilers print them, for editors
	 * and grep. */
	pr_bare("%s:%u: %s", in->name, in->line, err);
	return -EINVAL;
}

/* Import records into @l; see records.h. */
int records_import(struct ledger *l, char *const *inputs, int nr,
		   int format, size_t *imported)
{
	size_t cap = 0, count = 0;
	unsigned int bad = 0;
	char *buf = NULL;
	int i, err;

	err = ledger_begin(l);
	if (err)
		return err;
	for (i = 0; i < nr && !err; i++) {
		struct import_file in = { .name = inputs[i] };
		struct ledger_usage r;
		int ret;

		if (!strcmp(inputs[i], "-")) {
			in.f = stdin;
			in.name = "(stdin)";
		} else {
			in.f = fopen(inputs[i], "re");
		}
		if (!in.f) {
			err = -errno;
			pr_warn("%s: cannot open: %s", inputs[i],
				strerror(-err));
			break;
		}
		in.fmt = format;
		while ((ret = next_record(&in, ledger_time_zone(l), &r, &buf,
					  &cap)) != 0) {
			if (ret == -EINVAL) {
				if (++bad == MAX_REPORTED) {
					pr_warn("%s: stopping after %u "
						"malformed lines",
						in.name, bad);
					break;
				}
				continue;
			}
			if (ret < 0) {
				err = ret;
				break;
			}
			/* After a malformed line only parse, to report the
			 * rest; nothing will be committed. */
			if (bad)
				continue;
			err = ledger_put(l, &r, LEDGER_REPLACE);
			if (err)
				break;
			count++;
		}
		if (in.f != stdin)
			fclose(in.f);
		if (bad >= MAX_REPORTED)
			break;
	}
	free(buf);
	if (!err && bad)
		err = -EINVAL;
	if (err) {
		ledger_end(l, false);
		if (bad)
			pr_warn("nothing imported: %u malformed line%s", bad,
				bad == 1 ? "" : "s");
		return err;
	}
	err = ledger_end(l, true);
	if (!err && imported)
		*imported = count;
	return err;
}
