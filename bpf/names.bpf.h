/* SPDX-License-Identifier: GPL-2.0 */
/*
 * names.bpf.h - the count stage, in the kernel: the service a client
 * connection names, and where its bytes and calls go because of it.
 *
 * The receive program reads the names (include/names.h) as it counts
 * requests (calls.bpf.h); this file looks them up and acts on them:
 *
 * - Lookup. tg_names maps the hash of every configured host (exact, or a
 *   wildcard's suffix of N labels), on a port or on any, to its service
 *   id; entries of kind TG_NAME_PORT say which ports have hosts and which
 *   have an entry without one. A name is looked up in the configuration's
 *   order of precedence (classify/hosts.h): exact on the port, wildcards
 *   on the port from the longest, the port alone, exact on any port,
 *   wildcards on any port. A connection's requests mostly repeat one
 *   name: the last name and its service are kept in the socket's name
 *   storage, valid while tg_name_cfg.gen holds.
 *
 * - Calls. Each request is counted on the peer key of its own service
 *   (the connection's SNI's when it names none; an HTTP/2 request whose
 *   :authority could not be followed, the connection's).
 *
 * - Bytes. A socket counts its bytes under its service (tg_sock.svc, in
 *   the peer key). Until the connection's first name is read (the SNI, or
 *   the first request's head), its bytes wait in tg_sock.pend, and the
 *   packets of its TCP handshake, which the listener sees before the
 *   connection exists, in a tg_stash slot that the accepted socket takes
 *   over; both go to the named service's slot at once when the name comes
 *   (names_settle()), or to the port's service when it cannot come (no
 *   HTTP, no SNI) or the socket closes first (sock_ops, state callback).
 *   Moving them is exchange-based: a packet that adds to pend while the
 *   first name settles sees the socket no longer waiting and moves what
 *   it added itself, so every byte lands in exactly one slot. A later
 *   request that names another service moves the socket to it: the
 *   packets after that request's head was read go there; the cached peer
 *   of the old service no longer matches, and the next packet looks its
 *   peer up again.
 *
 * - Names that match no host are listed in tg_unmatched (an LRU hash, a
 *   list for the operator, never a billing record) and counted in
 *   TG_STAT_NAME_UNMATCHED; their requests and bytes take service id 0,
 *   the port's entry without a host.
 */
#ifndef TOLLGATE_NAMES_BPF_H
#define TOLLGATE_NAMES_BPF_H

#include "maps.bpf.h"
#include "names.h"
#include "parse.bpf.h"
#include "slots.bpf.h"

#ifndef AF_INET
#define AF_INET 2
#endif

#define BPF_TCP_CLOSE_STATE 7	/* TCP_CLOSE */

static __always_inline struct tg_names_cfg *names_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_name_cfg, &zero);
}

/*
 * Whether the names of connections accepted on local port @port are read:
 * the port has hosts, or hosts of any port exist and the port has no entry
 * of its own without a host (which would take every name first).
 */
static __always_inline bool names_on_port(__u16 port)
{
	struct tg_name_key k = { .port = port, .kind = TG_NAME_PORT };
	struct tg_names_cfg *c = names_cfg();
	struct tg_name_val *v;

	if (!c || !c->gen)
		return false;
	v = bpf_map_lookup_elem(&tg_names, &k);
	if (v && (v->flags & TG_PORT_HOSTS))
		return true;
	return (c->flags & TG_NAMES_ANY_PORT) &&
	       !(v && (v->flags & TG_PORT_ALONE));
}

/* Exact name or wildcards (longest first) of @n on @k->port: the service
 * id into *@svc. Returns true when one matched. */
static __always_inline bool names_match(const struct tg_name *n,
					struct tg_name_key *k, __u32 max_wild,
					__u32 *svc)
{
	struct tg_name_val *v;
	int i;

	k->kind = TG_NAME_EXACT;
	k->labels = 0;
	k->hash = n->hash;
	v = bpf_map_lookup_elem(&tg_names, k);
	if (v) {
		*svc = v->svc;
		return true;
	}
	for (i = TG_NAME_LABELS; i >= 1; i--) {
		if (i > max_wild || i >= n->nlab)
			continue;
		k->kind = TG_NAME_WILD;
		k->labels = i;
		k->hash = tg_name_suffix(n, i);
		v = bpf_map_lookup_elem(&tg_names, k);
		if (v) {
			*svc = v->svc;
			return true;
		}
	}
	return false;
}

/*
 * The service id of name @n read on local port @port, in the order of
 * precedence; 0 for the port alone, and for a name no host matches.
 * Returns whether a host matched.
 */
static __noinline bool names_lookup(const struct tg_name *n, __u16 port,
				    __u32 *svc)
{
	struct tg_name_key k = {};
	struct tg_names_cfg *c = names_cfg();
	struct tg_name_val *v;
	__u32 max_wild;

	*svc = 0;
	if (!c || !n->len || (n->st & (TG_NAME_BAD | TG_NAME_BRACKET)))
		return false;
	max_wild = c->max_wild;
	k.port = port;
	if (names_match(n, &k, max_wild, svc))
		return true;
	k.kind = TG_NAME_PORT;
	k.labels = 0;
	k.hash = 0;
	v = bpf_map_lookup_elem(&tg_names, &k);
	if (v && (v->flags & TG_PORT_ALONE))
		return false;
	if (!(c->flags & TG_NAMES_ANY_PORT))
		return false;
	k.port = 0;
	return names_match(n, &k, max_wild, svc);
}

static const struct tg_unmatched zero_unmatched = {};

/* List name @n, read on @port, among the unmatched ones. */
static __noinline void names_unmatched(const struct tg_name *n, __u16 port,
				       __u8 flags)
{
	struct tg_unmatched_key k = { .hash = n->hash, .port = port };
	struct tg_unmatched *u;

	stat_inc(TG_STAT_NAME_UNMATCHED);
	u = bpf_map_lookup_elem(&tg_unmatched, &k);
	if (!u) {
		bpf_map_update_elem(&tg_unmatched, &k, &zero_unmatched,
				    BPF_NOEXIST);
		u = bpf_map_lookup_elem(&tg_unmatched, &k);
		if (!u)
			return;
		__builtin_memcpy(u->name, n->buf, TG_NAME_BUF);
		u->len = n->nbuf;
		u->port = port;
		u->flags = flags;
		if (n->st & TG_NAME_LONG)
			u->flags |= TG_UNM_LONG;
		if (n->st & (TG_NAME_BAD | TG_NAME_BRACKET))
			u->flags |= TG_UNM_BAD;
	}
	__sync_fetch_and_add(&u->count, 1);
	u->last_ns = bpf_ktime_get_ns();
}

/*
 * The service of the name just read into @ns (an event TG_HTTP_EV_NAME),
 * on a socket of local port @port: from the storage's last lookup when it
 * is the same name under the same table, else looked up. Unmatched names
 * are listed. An empty name names nothing: returns false then. Unused
 * where only the byte path is built (the benchmark's programs).
 */
static __noinline __attribute__((unused)) bool
names_found(struct tg_name_sk *ns, __u16 port, __u8 unm_flags, __u32 *svc)
{
	struct tg_name *n = &ns->p.n;
	struct tg_names_cfg *c;
	__u32 gen;

	if (!n->len)
		return false;
	c = names_cfg();
	gen = c ? c->gen : 0;
	if (ns->last_gen == gen && ns->last_hash == n->hash &&
	    !(n->st & (TG_NAME_BAD | TG_NAME_BRACKET))) {
		*svc = ns->last_svc;
		if (!*svc)
			names_unmatched(n, port, unm_flags);
		return true;
	}
	if (!names_lookup(n, port, svc))
		names_unmatched(n, port, unm_flags);
	ns->last_gen = gen;
	ns->last_hash = n->hash;
	ns->last_svc = *svc;
	return true;
}

/* --- bytes that wait for the first name ---------------------------------- */

/* Add a packet to what waits in @p. */
static __always_inline void pend_add(struct tg_pend *p, bool out, __u64 bytes,
				     __u64 packets)
{
	if (out) {
		__sync_fetch_and_add(&p->bytes_out, bytes);
		__sync_fetch_and_add(&p->packets_out, packets);
	} else {
		__sync_fetch_and_add(&p->bytes_in, bytes);
		__sync_fetch_and_add(&p->packets_in, packets);
	}
}

/* Take everything out of @p, into @to (not atomic: @to is the caller's). */
static __always_inline bool pend_take(struct tg_pend *p, struct tg_pend *to)
{
	to->bytes_in = __sync_lock_test_and_set(&p->bytes_in, 0);
	to->packets_in = __sync_lock_test_and_set(&p->packets_in, 0);
	to->bytes_out = __sync_lock_test_and_set(&p->bytes_out, 0);
	to->packets_out = __sync_lock_test_and_set(&p->packets_out, 0);
	return to->bytes_in | to->packets_in | to->bytes_out | to->packets_out;
}

/* Count @c into @key's slot (made if need be) or bucket, today. @now_ns:
 * the caller's clock (tracing programs may not read the coarse one). */
static __always_inline void pend_count(const struct tg_peer_key *key,
				       const struct tg_pend *c, __u64 now_ns)
{
	struct tg_banked *v;
	struct tg_counters *b;
	struct tg_now n;

	now_at(&n, now_ns);
	v = peer_counters(peer_slot_at(key, now_ns), key);
	if (!v)
		return;
	b = bank_of(v, n.bank);
	count(b, false, c->bytes_in, c->packets_in);
	count(b, true, c->bytes_out, c->packets_out);
}

/* Move what waits in @st's pend to its service's slot. */
static __noinline void names_sweep(struct tg_sock *st, __u64 now_ns)
{
	struct tg_peer_key key = st->peer;
	struct tg_pend c;

	if (!pend_take(&st->pend, &c))
		return;
	key.svc = st->svc;
	pend_count(&key, &c, now_ns);
}

/*
 * The connection of @st has its first name: service @svc. Its bytes
 * counted until now go there, and later ones are counted as any. Only the
 * first call settles; later ones do nothing.
 */
static __always_inline void names_settle(struct tg_sock *st, __u32 svc,
					 __u64 now_ns)
{
	if (!st->wait)
		return;
	st->svc = svc;
	if (__sync_lock_test_and_set(&st->wait, 0))
		names_sweep(st, now_ns);
}

/*
 * A packet of a socket whose first name is awaited: counted on the socket,
 * held in its pend. Returns false when the socket no longer waits (the
 * caller counts the packet as any).
 */
static __always_inline bool names_wait_packet(struct tg_sock *st, bool out,
					      __u64 bytes, __u32 packets)
{
	if (!st->wait)
		return false;
	count(&st->c, out, bytes, packets);
	pend_add(&st->pend, out, bytes, packets);
	/* Settled in between: what was just added is this packet's to
	 * move. */
	if (!TG_READ_ONCE(st->wait))
		names_sweep(st, bpf_ktime_get_coarse_ns());
	return true;
}

/* --- the handshake, on the listener -------------------------------------- */

static __always_inline __u32 stash_index(const __u8 addr[16], __u16 cport,
					 __u16 lport)
{
	__u32 a[4], h;

	__builtin_memcpy(a, addr, 16);
	h = (a[0] ^ a[1] ^ a[2] ^ a[3]) * 0x9e3779b1u;
	h ^= ((__u32)cport << 16 | lport) * 0x85ebca6bu;
	return h ^ (h >> 15);
}

static __always_inline bool stash_is(const struct tg_stash *s,
				     const __u8 addr[16], __u16 cport,
				     __u16 lport)
{
	const __u32 *x = (const __u32 *)s->addr, *y = (const __u32 *)addr;

	return s->cport == cport && s->lport == lport && x[0] == y[0] &&
	       x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* Two slots a handshake may take. */
#define TG_STASH_WAYS 2

/*
 * A packet of the TCP handshake of client @key->addr port @cport on the
 * listener of @key->port: held in the handshake's stash slot, found or
 * claimed. Returns false when no slot could hold it (the caller counts it
 * on the port's service at once).
 */
static __noinline bool stash_add(const struct tg_peer_key *key, __u16 cport,
				 bool out, __u64 bytes, __u64 packets)
{
	__u32 h = stash_index(key->addr, cport, key->port), i, idx;
	__u64 now = bpf_ktime_get_coarse_ns();
	struct tg_stash *s;
	struct tg_pend c;

	for (i = 0; i < TG_STASH_WAYS; i++) {
		idx = (h + i) & (TG_STASH_SLOTS - 1);
		s = bpf_map_lookup_elem(&tg_stash, &idx);
		if (!s)
			return false;
		if (s->state == TG_STASH_USED &&
		    stash_is(s, key->addr, cport, key->port)) {
			pend_add(&s->c, out, bytes, packets);
			s->last_ns = now;
			/* Taken in between, perhaps by another handshake
			 * since: what was just added is this packet's to
			 * count, on the port's service. */
			if (TG_READ_ONCE(s->state) != TG_STASH_USED ||
			    !stash_is(s, key->addr, cport, key->port)) {
				if (pend_take(&s->c, &c))
					pend_count(key, &c, now);
			}
			return true;
		}
	}
	for (i = 0; i < TG_STASH_WAYS; i++) {
		idx = (h + i) & (TG_STASH_SLOTS - 1);
		s = bpf_map_lookup_elem(&tg_stash, &idx);
		if (!s)
			return false;
		if (s->state != TG_STASH_FREE ||
		    __sync_val_compare_and_swap(&s->state, TG_STASH_FREE,
						TG_STASH_CLAIM) != TG_STASH_FREE)
			continue;
		__builtin_memcpy(s->addr, key->addr, 16);
		s->cport = cport;
		s->lport = key->port;
		s->last_ns = now;
		pend_add(&s->c, out, bytes, packets);
		__sync_lock_test_and_set(&s->state, TG_STASH_USED);
		return true;
	}
	stat_inc(TG_STAT_STASH_FULL);
	return false;
}

/* Empty the stash slot @s of handshake (@addr, @cport, @lport) into @to,
 * when it is that handshake's; free it. Returns whether it was. */
static __always_inline bool stash_take(struct tg_stash *s, const __u8 *addr,
				       __u16 cport, __u16 lport,
				       struct tg_pend *to)
{
	if (s->state != TG_STASH_USED || !stash_is(s, addr, cport, lport) ||
	    __sync_val_compare_and_swap(&s->state, TG_STASH_USED,
					TG_STASH_TAKE) != TG_STASH_USED)
		return false;
	pend_take(&s->c, to);
	__sync_lock_test_and_set(&s->state, TG_STASH_FREE);
	return true;
}

/* The accepted socket @st takes over the packets of its handshake. */
static __always_inline void stash_claim(struct tg_sock *st, __u16 cport)
{
	__u32 h = stash_index(st->peer.addr, cport, st->peer.port), i, idx;
	struct tg_stash *s;
	struct tg_pend c;

	for (i = 0; i < TG_STASH_WAYS; i++) {
		idx = (h + i) & (TG_STASH_SLOTS - 1);
		s = bpf_map_lookup_elem(&tg_stash, &idx);
		if (!s)
			return;
		if (!stash_take(s, st->peer.addr, cport, st->peer.port, &c))
			continue;
		__sync_fetch_and_add(&st->pend.bytes_in, c.bytes_in);
		__sync_fetch_and_add(&st->pend.packets_in, c.packets_in);
		__sync_fetch_and_add(&st->pend.bytes_out, c.bytes_out);
		__sync_fetch_and_add(&st->pend.packets_out, c.packets_out);
		return;
	}
}

/* --- sock_ops ------------------------------------------------------------ */

/*
 * A connection accepted on a port whose names are read: it waits for its
 * first name, with its handshake's packets, and closes through the state
 * callback, where what still waits is counted on its service.
 */
static __always_inline void names_accept(struct bpf_sock_ops *skops,
					 struct tg_sock *st)
{
	__u16 lport = skops->local_port, cport;

	if (!names_on_port(lport))
		return;
	st->flags |= TG_SOCK_NAMES;
	__builtin_memset(&st->peer, 0, sizeof(st->peer));
	if (skops->family == AF_INET) {
		tg_map_v4(st->peer.addr, skops->remote_ip4);
	} else {
		__u32 a[4] = { skops->remote_ip6[0], skops->remote_ip6[1],
			       skops->remote_ip6[2], skops->remote_ip6[3] };

		__builtin_memcpy(st->peer.addr, a, 16);
	}
	st->peer.port = lport;
	st->peer.proto = IPPROTO_TCP;
	st->peer.role = TG_ROLE_CLIENT;
	st->peer_slot = 0;
	st->svc = 0;
	/* Without the state callback nothing would count what waits
	 * should the connection close before it names anything. */
	if (bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						     BPF_SOCK_OPS_STATE_CB_FLAG))
		return;
	/* The port in network order, in the field's upper half on a
	 * little-endian host: bpf_ntohl(), not bpf_ntohs(). */
	cport = (__u16)bpf_ntohl(skops->remote_port);
	__sync_lock_test_and_set(&st->wait, 1);
	stash_claim(st, cport);
}

/* The connection of @skops closes: what waits goes to its service. */
static __always_inline void names_close(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk;
	struct tg_sock *st;

	if (skops->args[1] != BPF_TCP_CLOSE_STATE)
		return;
	sk = skops->sk;
	if (!sk)
		return;
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (st)
		names_settle(st, st->svc, bpf_ktime_get_coarse_ns());
}

#endif /* TOLLGATE_NAMES_BPF_H */
