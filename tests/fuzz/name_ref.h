/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * name_ref.h - the name a field's value gives, read the way names.h's
 * header comment states it, written apart from names.h for the fuzz
 * targets to compare with (fuzz_names: SNI; fuzz_hpack: :authority).
 *
 * The value's leading blanks are skipped; the name ends at a blank or a
 * ':' (the port) or the value's end; it is compared in lower case, one
 * trailing dot dropped. It is empty (names nothing) when it has nothing
 * but dots; it may match a host (NR_OK) when it is at most 253 letters,
 * digits, '-' and '_' in labels that single dots separate; else it is
 * read but never matches (NR_BAD; an IPv6 literal in brackets is one).
 */
#ifndef TOLLGATE_FUZZ_NAME_REF_H
#define TOLLGATE_FUZZ_NAME_REF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "names_feed.h"

enum nr_kind { NR_EMPTY, NR_BAD, NR_OK };

static const char *const nr_kind_name[] = { "empty", "bad", "ok" };

struct name_ref {
	enum nr_kind kind;
	uint64_t hash;		/* NR_OK: FNV-1a 64 of the lower-case name */
};

static inline int nr_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline struct name_ref name_ref(const uint8_t *v, size_t n)
{
	struct name_ref r = { NR_EMPTY, 0 };
	uint8_t low[256];
	size_t i = 0, start, end, k, len;

	while (i < n && nr_blank(v[i]))
		i++;
	if (i < n && v[i] == '[') {
		r.kind = NR_BAD;
		return r;
	}
	start = i;
	while (i < n && !nr_blank(v[i]) && v[i] != ':')
		i++;
	end = i;
	for (k = start; k < end && v[k] == '.'; k++)
		;
	if (k == end)
		return r;		/* nothing but dots */
	r.kind = NR_BAD;
	len = end - start;
	if (v[end - 1] == '.')
		len--;
	if (len > 253)
		return r;
	for (k = 0; k < len; k++) {
		uint8_t c = v[start + k];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == '.') {
			if (k == 0 || k + 1 == len || low[k - 1] == '.')
				return r;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			     c == '-' || c == '_')) {
			return r;
		}
		low[k] = c;
	}
	r.kind = NR_OK;
	r.hash = nf_fnv64(low, len);
	return r;
}

/* The kind of name names.h read into @n. */
static inline enum nr_kind nr_kind_of(const struct nf_name *n)
{
	if (!n->len)
		return NR_EMPTY;
	if (n->st & (TG_NAME_BAD | TG_NAME_BRACKET))
		return NR_BAD;
	return NR_OK;
}

/* Whether names.h's name @n is the reference's @r. */
static inline int nr_same(const struct nf_name *n, struct name_ref r)
{
	return nr_kind_of(n) == r.kind && (r.kind != NR_OK || n->hash == r.hash);
}

/* Print value @v of @n bytes, escaped, after @what. */
static inline void nr_print(const char *what, const uint8_t *v, size_t n)
{
	size_t i;

	fprintf(stderr, "%s '", what);
	for (i = 0; i < n && i < 300; i++)
		fprintf(stderr, v[i] >= 0x20 && v[i] < 0x7f && v[i] != '\'' ?
			"%c" : "\\x%02x", v[i]);
	fprintf(stderr, "'%s\n", i < n ? "..." : "");
}

#endif /* TOLLGATE_FUZZ_NAME_REF_H */
