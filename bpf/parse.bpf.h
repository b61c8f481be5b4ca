/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parse.bpf.h - the count stage, in the kernel: read the IP and transport
 * headers of a cgroup_skb packet.
 *
 * cgroup_skb programs see the packet from the IP header on, in both
 * directions. The common case (IPv4 without options or IPv6 without
 * extension headers, then TCP or UDP, all in the linear data) is read in
 * place; everything else with bpf_skb_load_bytes(), which copes with
 * non-linear skbs and needs no bounds dance. The parser runs off the
 * per-packet fast path (first packet of a socket, unconnected sockets) and
 * on GSO packets.
 *
 * Nothing here may fail the program: a header that cannot be read leaves
 * pkt->ok clear and the caller falls back to what the socket knows.
 */
#ifndef TOLLGATE_PARSE_BPF_H
#define TOLLGATE_PARSE_BPF_H

#include <bpf/bpf_endian.h>

#define TG_IP_MF	0x2000
#define TG_IP_OFFSET	0x1fff
#define TG_IPV6_FRAG_OFF 0xfff8
#define TG_MAX_EXT_HDRS	6
#define TG_TCP_ACK	0x10	/* in the TCP header's flags byte */

/* IPv6 extension header numbers are macros in UAPI, absent from vmlinux.h. */
#define TG_NEXTHDR_HOP		0
#define TG_NEXTHDR_ROUTING	43
#define TG_NEXTHDR_FRAGMENT	44
#define TG_NEXTHDR_AUTH		51
#define TG_NEXTHDR_DEST		60

struct tg_pkt {
	__u8 saddr[16];		/* IPv4 mapped into IPv6 */
	__u8 daddr[16];
	__u16 sport;		/* host order, valid if has_ports */
	__u16 dport;
	__u8 proto;		/* transport protocol after extension headers */
	__u8 ok;		/* IP header read */
	__u8 has_ports;		/* TCP/UDP header read, first fragment */
	__u8 tcp_flags;		/* TCP: the header's flags byte (TG_TCP_*) */
	__u32 hdr_len;		/* IP + extension + transport header bytes */
};

static __always_inline void tg_map_v4(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

/* Read the transport header at @off; sets ports and the header length. */
static __always_inline void tg_parse_l4(struct __sk_buff *skb, __u32 off,
					struct tg_pkt *pkt)
{
	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
			return;
		pkt->sport = bpf_ntohs(th.source);
		pkt->dport = bpf_ntohs(th.dest);
		pkt->hdr_len += th.doff * 4;
		pkt->tcp_flags = ((const __u8 *)&th)[13];
		pkt->has_ports = 1;
	} else if (pkt->proto == IPPROTO_UDP || pkt->proto == IPPROTO_UDPLITE) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
			return;
		pkt->sport = bpf_ntohs(uh.source);
		pkt->dport = bpf_ntohs(uh.dest);
		pkt->hdr_len += sizeof(uh);
		pkt->has_ports = 1;
	}
}

static __always_inline void tg_parse_v4(struct __sk_buff *skb,
					struct tg_pkt *pkt)
{
	struct iphdr iph;
	__u32 ihl;

	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
		return;
	ihl = iph.ihl * 4;
	if (ihl < sizeof(iph))
		return;
	tg_map_v4(pkt->saddr, iph.saddr);
	tg_map_v4(pkt->daddr, iph.daddr);
	pkt->proto = iph.protocol;
	pkt->hdr_len = ihl;
	pkt->ok = 1;
	/* Only the first fragment carries the transport header. */
	if (iph.frag_off & bpf_htons(TG_IP_OFFSET))
		return;
	tg_parse_l4(skb, ihl, pkt);
}

static __always_inline void tg_parse_v6(struct __sk_buff *skb,
					struct tg_pkt *pkt)
{
	struct ipv6hdr ip6h;
	__u32 off = sizeof(ip6h);
	__u8 nexthdr;
	int i;

	if (bpf_skb_load_bytes(skb, 0, &ip6h, sizeof(ip6h)))
		return;
	__builtin_memcpy(pkt->saddr, &ip6h.saddr, 16);
	__builtin_memcpy(pkt->daddr, &ip6h.daddr, 16);
	nexthdr = ip6h.nexthdr;

	/* Extension headers are repeated in every GSO segment too, so they
	 * belong to hdr_len. A bounded walk: more than TG_MAX_EXT_HDRS is
	 * not a real packet, and the transport header is then unknown. */
	for (i = 0; i < TG_MAX_EXT_HDRS; i++) {
		struct ipv6_opt_hdr opt;

		if (nexthdr != TG_NEXTHDR_HOP && nexthdr != TG_NEXTHDR_ROUTING &&
		    nexthdr != TG_NEXTHDR_DEST && nexthdr != TG_NEXTHDR_FRAGMENT &&
		    nexthdr != TG_NEXTHDR_AUTH)
			break;
		if (bpf_skb_load_bytes(skb, off, &opt, sizeof(opt)))
			goto unknown_l4;
		if (nexthdr == TG_NEXTHDR_FRAGMENT) {
			struct frag_hdr fh;

			if (bpf_skb_load_bytes(skb, off, &fh, sizeof(fh)))
				goto unknown_l4;
			off += sizeof(fh);
			nexthdr = fh.nexthdr;
			if (fh.frag_off & bpf_htons(TG_IPV6_FRAG_OFF)) {
				/* Not the first fragment: no ports. */
				pkt->proto = nexthdr;
				pkt->hdr_len = off;
				pkt->ok = 1;
				return;
			}
			continue;
		}
		if (nexthdr == TG_NEXTHDR_AUTH)
			off += (opt.hdrlen + 2) * 4;
		else
			off += (opt.hdrlen + 1) * 8;
		nexthdr = opt.nexthdr;
	}
	pkt->proto = nexthdr;
	pkt->hdr_len = off;
	pkt->ok = 1;
	tg_parse_l4(skb, off, pkt);
	return;

unknown_l4:
	pkt->proto = nexthdr;
	pkt->hdr_len = off;
	pkt->ok = 1;
}

/* Ports and header length of a TCP or UDP header at @l4, read in place;
 * false, with nothing written, when it is neither or not all there. */
static __always_inline bool tg_direct_l4(void *l4, void *end, __u8 proto,
					 __u32 l3_len, struct tg_pkt *pkt)
{
	__u32 l4_len;
	__u16 *ports = l4;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end)
			return false;
		l4_len = th->doff * 4;
		pkt->tcp_flags = ((const __u8 *)th)[13];
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end)
			return false;
		l4_len = sizeof(*uh);
	} else {
		return false;
	}
	pkt->sport = bpf_ntohs(ports[0]);
	pkt->dport = bpf_ntohs(ports[1]);
	pkt->proto = proto;
	pkt->hdr_len = l3_len + l4_len;
	pkt->has_ports = 1;
	pkt->ok = 1;
	return true;
}

/*
 * The common case, read in place: an IPv4 header without options or an
 * IPv6 header without extension headers, not a fragment, then a TCP or UDP
 * header, all in the skb's linear data (as the stack builds them, and as
 * GRO leaves them). A direct read costs a bounds check, a helper call costs
 * a call and a copy. Returns false, having written nothing, for anything
 * else; tg_parse() then reads it the general way, with the same result.
 */
static __always_inline bool tg_parse_direct(struct __sk_buff *skb,
					    struct tg_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6h = data;
	struct iphdr *iph = data;

	if ((void *)(iph + 1) > end)
		return false;
	if (iph->version == 4) {
		if (iph->ihl != 5 ||
		    (iph->frag_off & bpf_htons(TG_IP_MF | TG_IP_OFFSET)))
			return false;
		if (!tg_direct_l4(iph + 1, end, iph->protocol, sizeof(*iph),
				  pkt))
			return false;
		tg_map_v4(pkt->saddr, iph->saddr);
		tg_map_v4(pkt->daddr, iph->daddr);
		return true;
	}
	if (iph->version != 6 || (void *)(ip6h + 1) > end)
		return false;
	if (!tg_direct_l4(ip6h + 1, end, ip6h->nexthdr, sizeof(*ip6h), pkt))
		return false;
	__builtin_memcpy(pkt->saddr, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->daddr, &ip6h->daddr, 16);
	return true;
}

/* Fill @pkt from the packet; pkt->ok tells whether the IP header was read. */
static __always_inline void tg_parse(struct __sk_buff *skb, struct tg_pkt *pkt)
{
	__u8 vers;

	if (tg_parse_direct(skb, pkt))
		return;
	if (bpf_skb_load_bytes(skb, 0, &vers, 1))
		return;
	if ((vers >> 4) == 4)
		tg_parse_v4(skb, pkt);
	else if ((vers >> 4) == 6)
		tg_parse_v6(skb, pkt);
}

#endif /* TOLLGATE_PARSE_BPF_H */
