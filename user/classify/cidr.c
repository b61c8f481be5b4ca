// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cidr.c - the classify stage's address table: prefix parsing and formatting,
 * and the longest-prefix-match table: a path-compressed binary trie over
 * 128-bit keys. A node holds a whole prefix (key and length), so a run of bits
 * that no prefix branches on costs nothing, notably the 96 bits of ::ffff: in
 * front of every IPv4 prefix. Nodes that only branch carry CIDR_NONE. Node 0
 * is the root, ::/0, and since no node points back at the root, child index 0
 * means "none".
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/cidr.h"

static const __u8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

struct key {
	__u64 hi;
	__u64 lo;
};

struct node {
	struct key key;		/* prefix bits, zero past len */
	__u32 child[2];		/* by the bit at position len; 0: none */
	__u32 value;		/* CIDR_NONE: a branch only */
	__u8 len;		/* 0..128 */
};

/*
 * Where a lookup resumes once it knows the first 16 bits of an IPv4
 * address (or of an IPv6 one): the longest prefix seen above that point,
 * and the first node deeper than those 16 bits.
 */
struct jump {
	__u32 best;		/* node index; NO_NODE: none */
	__u32 start;		/* node index; 0: nothing deeper */
};

#define NO_NODE 0xffffffffu
#define JUMP_BITS 16

struct cidr_table {
	struct node *nodes;
	__u32 nr;
	__u32 cap;
	struct jump *jump4;	/* by IPv4 bits 0..15; NULL: not built */
	struct jump *jump6;	/* by IPv6 bits 0..15 */
};

static inline struct key key_of(const __u8 a[16])
{
	struct key k;
	__u64 hi, lo;

	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	k.hi = be64toh(hi);
	k.lo = be64toh(lo);
	return k;
}

static inline void key_store(struct key k, __u8 a[16])
{
	__u64 hi = htobe64(k.hi), lo = htobe64(k.lo);

	memcpy(a, &hi, 8);
	memcpy(a + 8, &lo, 8);
}

static inline struct key key_mask(unsigned int len)
{
	struct key m;

	m.hi = len >= 64 ? ~0ULL : len ? ~0ULL << (64 - len) : 0;
	m.lo = len >= 128 ? ~0ULL : len > 64 ? ~0ULL << (128 - len) : 0;
	return m;
}

/* Whether @a and @b agree on their first @len bits. */
static inline bool key_match(struct key a, struct key b, unsigned int len)
{
	struct key m = key_mask(len);

	return !(((a.hi ^ b.hi) & m.hi) | ((a.lo ^ b.lo) & m.lo));
}

/* Bit @pos of @k, counted from the most significant; @pos < 128. */
static inline unsigned int key_bit(struct key k, unsigned int pos)
{
	if (pos < 64)
		return (k.hi >> (63 - pos)) & 1;
	return (k.lo >> (127 - pos)) & 1;
}

/* Number of leading bits @a and @b share, at most @max. */
static unsigned int key_common(struct key a, struct key b, unsigned int max)
{
	__u64 x = a.hi ^ b.hi;
	unsigned int n;

	if (x)
		n = __builtin_clzll(x);
	else if ((x = a.lo ^ b.lo))
		n = 64 + __builtin_clzll(x);
	else
		n = 128;
	return n < max ? n : max;
}

void cidr_map_v4(const __u8 v4[4], __u8 out[16])
{
	memcpy(out, v4_mapped, sizeof(v4_mapped));
	memcpy(out + 12, v4, 4);
}

bool cidr_is_v4(const struct cidr *p)
{
	return p->len >= 96 && !memcmp(p->addr, v4_mapped, sizeof(v4_mapped));
}

bool cidr_contains(const struct cidr *p, const __u8 addr[16])
{
	return key_match(key_of(p->addr), key_of(addr), p->len);
}

/* A decimal prefix length in [0, max], no sign, no leading zero. */
static int parse_len(const char *s, unsigned int max, unsigned int *out)
{
	unsigned int v = 0;
	const char *p;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 3)
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cidr_parse(const char *s, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int len;
	struct key k, m;
	__u8 a[16];

	if (!alen || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (strchr(buf, ':')) {
		if (inet_pton(AF_INET6, buf, a) != 1)
			return -EINVAL;
		len = 128;
		if (slash && parse_len(slash + 1, 128, &len))
			return -EINVAL;
	} else {
		__u8 v4[4];

		if (inet_pton(AF_INET, buf, v4) != 1)
			return -EINVAL;
		len = 32;
		if (slash && parse_len(slash + 1, 32, &len))
			return -EINVAL;
		cidr_map_v4(v4, a);
		len += 96;
	}
	k = key_of(a);
	m = key_mask(len);
	out->len = len;
	if ((k.hi & ~m.hi) | (k.lo & ~m.lo)) {
		k.hi &= m.hi;
		k.lo &= m.lo;
		key_store(k, out->addr);
		return -EDOM;
	}
	memcpy(out->addr, a, 16);
	return 0;
}

const char *cidr_format(const struct cidr *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (cidr_is_v4(p)) {
		inet_ntop(AF_INET, p->addr + 12, a, sizeof(a));
		snprintf(buf, len, "%s/%u", a, p->len - 96);
	} else {
		inet_ntop(AF_INET6, p->addr, a, sizeof(a));
		snprintf(buf, len, "%s/%u", a, p->len);
	}
	return buf;
}

struct cidr_table *cidr_table_new(void)
{
	struct cidr_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = 64;
	t->nodes = malloc(t->cap * sizeof(*t->nodes));
	if (!t->nodes) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nodes[0].value = CIDR_NONE;
	t->nr = 1;
	return t;
}

static void jump_drop(struct cidr_table *t)
{
	free(t->jump4);
	free(t->jump6);
	t->jump4 = NULL;
	t->jump6 = NULL;
}

void cidr_table_free(struct cidr_table *t)
{
	if (!t)
		return;
	jump_drop(t);
	free(t->nodes);
	free(t);
}

/* A new node for @k/@len; its index, or 0 when out of memory. */
static __u32 node_new(struct cidr_table *t, struct key k, unsigned int len)
{
	struct node *n;

	if (t->nr == t->cap) {
		__u32 cap = t->cap * 2;

		if (cap <= t->cap) {
			errno = ENOMEM;
			return 0;
		}
		n = realloc(t->nodes, (size_t)cap * sizeof(*n));
		if (!n) {
			errno = ENOMEM;
			return 0;
		}
		t->nodes = n;
		t->cap = cap;
	}
	n = &t->nodes[t->nr];
	memset(n, 0, sizeof(*n));
	n->key = k;
	n->len = len;
	n->value = CIDR_NONE;
	return t->nr++;
}

__u32 *cidr_table_slot(struct cidr_table *t, const struct cidr *p)
{
	struct key k = key_of(p->addr), m = key_mask(p->len);
	unsigned int len = p->len, common, b;
	__u32 idx = 0, c, q, leaf;

	k.hi &= m.hi;
	k.lo &= m.lo;
	jump_drop(t);
	/* Invariant: the prefix of node idx is a prefix of k/len. */
	for (;;) {
		struct node *n = &t->nodes[idx];

		if (n->len == len)
			return &n->value;
		b = key_bit(k, n->len);
		c = n->child[b];
		if (!c) {
			leaf = node_new(t, k, len);
			if (!leaf)
				return NULL;
			t->nodes[idx].child[b] = leaf;
			return &t->nodes[leaf].value;
		}
		common = key_common(k, t->nodes[c].key,
				    len < t->nodes[c].len ? len :
				    t->nodes[c].len);
		if (common == t->nodes[c].len) {
			idx = c;
			continue;
		}
		/* k/len and the child part ways at bit common: split. */
		if (common == len) {
			q = node_new(t, k, len);
			if (!q)
				return NULL;
		} else {
			struct key ck = k;

			m = key_mask(common);
			ck.hi &= m.hi;
			ck.lo &= m.lo;
			q = node_new(t, ck, common);
			if (!q)
				return NULL;
		}
		t->nodes[q].child[key_bit(t->nodes[c].key, common)] = c;
		t->nodes[idx].child[b] = q;
		if (common == len)
			return &t->nodes[q].value;
		leaf = node_new(t, k, len);
		if (!leaf)
			return NULL;
		t->nodes[q].child[key_bit(k, common)] = leaf;
		return &t->nodes[leaf].value;
	}
}

/*
 * Walk from the root down the nodes shorter than @glen that hold the group
 * prefix @g/@glen: they are the same for every address of the group.
 */
static struct jump jump_walk(const struct cidr_table *t, struct key g,
			     unsigned int glen)
{
	struct jump j = { NO_NODE, 0 };
	__u32 idx = 0, c;

	for (;;) {
		const struct node *n = &t->nodes[idx];

		if (!key_match(g, n->key, n->len))
			return j;
		if (n->value != CIDR_NONE)
			j.best = idx;
		c = n->child[key_bit(g, n->len)];
		if (!c)
			return j;
		if (t->nodes[c].len >= glen) {
			j.start = c;
			return j;
		}
		idx = c;
	}
}

/*
 * Renumber the nodes in depth-first order, first child right after its
 * parent, so that a lookup's next node is often on the same cache line
 * or the next one rather than anywhere in the array.
 */
static int relayout(struct cidr_table *t)
{
	struct node *nn = malloc((size_t)t->cap * sizeof(*nn));
	__u32 *stack = malloc((size_t)t->nr * sizeof(*stack));
	__u32 *map = malloc((size_t)t->nr * sizeof(*map));
	__u32 sp = 0, k = 0, old, i, b;

	if (!nn || !stack || !map) {
		free(nn);
		free(stack);
		free(map);
		return -ENOMEM;
	}
	stack[sp++] = 0;
	while (sp) {
		old = stack[--sp];
		map[old] = k;
		nn[k++] = t->nodes[old];
		if (t->nodes[old].child[1])
			stack[sp++] = t->nodes[old].child[1];
		if (t->nodes[old].child[0])
			stack[sp++] = t->nodes[old].child[0];
	}
	for (i = 0; i < k; i++)
		for (b = 0; b < 2; b++)
			if (nn[i].child[b])
				nn[i].child[b] = map[nn[i].child[b]];
	free(t->nodes);
	t->nodes = nn;
	free(stack);
	free(map);
	return 0;
}

int cidr_table_optimize(struct cidr_table *t)
{
	const __u32 groups = 1u << JUMP_BITS;
	struct key g;
	__u32 i;

	jump_drop(t);
	if (relayout(t))
		return -ENOMEM;
	t->jump4 = malloc(groups * sizeof(*t->jump4));
	t->jump6 = malloc(groups * sizeof(*t->jump6));
	if (!t->jump4 || !t->jump6) {
		jump_drop(t);
		return -ENOMEM;
	}
	for (i = 0; i < groups; i++) {
		g.hi = 0;
		g.lo = 0xffffULL << 32 | (__u64)i << (32 - JUMP_BITS);
		t->jump4[i] = jump_walk(t, g, 96 + JUMP_BITS);
		g.hi = (__u64)i << (64 - JUMP_BITS);
		g.lo = 0;
		t->jump6[i] = jump_walk(t, g, JUMP_BITS);
	}
	return 0;
}

__u32 cidr_table_lookup(const struct cidr_table *t, const __u8 addr[16],
			__u8 *plen)
{
	struct key k = key_of(addr);
	__u32 best = NO_NODE, idx = 0, c;
	const struct node *n;

	if (t->jump4) {
		const struct jump *j;

		if (!k.hi && k.lo >> 32 == 0xffff)
			j = &t->jump4[(k.lo & 0xffffffff) >> (32 - JUMP_BITS)];
		else
			j = &t->jump6[k.hi >> (64 - JUMP_BITS)];
		best = j->best;
		idx = j->start;
		if (!idx)
			goto out;
	}
	for (;;) {
		n = &t->nodes[idx];
		if (!key_match(k, n->key, n->len))
			break;
		if (n->value != CIDR_NONE)
			best = idx;
		if (n->len == 128)
			break;
		c = n->child[key_bit(k, n->len)];
		if (!c)
			break;
		idx = c;
	}
out:
	if (best == NO_NODE)
		return CIDR_NONE;
	if (plen)
		*plen = t->nodes[best].len;
	return t->nodes[best].value;
}

size_t cidr_table_count(const struct cidr_table *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->nr; i++)
		n += t->nodes[i].value != CIDR_NONE;
	return n;
}
