/*
 * icmp.c: ICMPv4 (RFC 792, RFC 1122 3.2.2): echo replies, destination
 * unreachable (protocol, port) for datagrams nobody takes, and incoming
 * errors handed to tcp (path MTU, RFC 1191) and udp (ECONNREFUSED).
 * Called by ip4.c and udp.c; calls ip4.c, tcp_in.c, udp.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

static int owns_quoted(struct ns_stack *st, const struct ns_ip4_hdr *inner);

void ns_icmp_input(struct ns_stack *st, struct nf_buf *b,
		   const struct ns_ip_info *ii)
{
	struct ns_icmp_hdr *ic;
	const struct ns_ip4_hdr *inner;
	uint32_t ihl;

	if (b->seg_next || b->len < NS_ICMP_HLEN) {
		NS_CNT(st, drop_icmp_short);
		goto drop;
	}
	if (ns_cksum(b->data, b->len) != 0) {
		NS_CNT(st, drop_icmp_cksum);
		goto drop;
	}
	ic = (struct ns_icmp_hdr *)b->data;
	switch (ic->type) {
	case NS_ICMP_ECHO:
		if (ii->dst_be != st->ip_be) {
			/* no replies to broadcast echo (RFC 1122 3.2.2.6) */
			NS_CNT(st, drop_icmp_type);
			goto drop;
		}
		{
			uint16_t len = (uint16_t)b->len;
			ic->type = NS_ICMP_ECHO_REPLY;
			ic->cksum_be = 0;
			ic->cksum_be = ns_cksum(ic, len);
			b->data -= NS_ETH_HLEN + NS_IP4_HLEN_MIN;
			b->ol_flags = 0;
			NS_CNT(st, icmp_echo_replied);
			ns_ip_output(st, b, st->ip_be, ii->src_be,
				     NS_IPPROTO_ICMP, len);
		}
		return;
	case NS_ICMP_UNREACH:
	case NS_ICMP_TIME_EXCEEDED:
		if (b->len < NS_ICMP_HLEN + NS_IP4_HLEN_MIN + 8) {
			NS_CNT(st, drop_icmp_short);
			goto drop;
		}
		inner = (const struct ns_ip4_hdr *)(b->data + NS_ICMP_HLEN);
		ihl = (uint32_t)(inner->ver_ihl & 0xf) * 4;
		if ((inner->ver_ihl >> 4) != 4 || ihl < NS_IP4_HLEN_MIN ||
		    NS_ICMP_HLEN + ihl + 8 > b->len ||
		    inner->src_be != st->ip_be) {
			NS_CNT(st, drop_icmp_short);
			goto drop;
		}
		/* about another instance's flow (the device steered the
		 * ICMP message by its own addresses): that one takes it */
		if (!owns_quoted(st, inner) && ns_steer_foreign(st, b))
			return;
		if (inner->proto == NS_IPPROTO_TCP)
			ns_tcp_ctlinput(st, inner, b->len - NS_ICMP_HLEN,
					ic->type, ic->code,
					ns_ntohs(ic->u.frag.mtu_be));
		else if (inner->proto == NS_IPPROTO_UDP &&
			 ic->type == NS_ICMP_UNREACH)
			ns_udp_ctlinput(st, inner, b->len - NS_ICMP_HLEN,
					ic->code == NS_ICMP_UNREACH_PORT ?
					ECONNREFUSED : EHOSTUNREACH);
		ns_buf_free(st, b);
		return;
	default:
		NS_CNT(st, drop_icmp_type);
		goto drop;
	}
drop:
	ns_buf_free(st, b);
}

/* Has this instance the socket an ICMP error quotes (inner: our
 * datagram's IP header, at least 8 bytes of its payload after it)? */
static int owns_quoted(struct ns_stack *st, const struct ns_ip4_hdr *inner)
{
	const uint8_t *l4 = (const uint8_t *)inner +
			    (uint32_t)(inner->ver_ihl & 0xf) * 4;
	uint16_t sport_be = ns_get16(l4), dport_be = ns_get16(l4 + 2);
	union ns_in46 l, r;

	ns_in46_set4(&l, inner->src_be);
	ns_in46_set4(&r, inner->dst_be);
	if (inner->proto == NS_IPPROTO_TCP)
		return ns_conn_lookup(st, &l, sport_be, &r, dport_be) != NULL;
	if (inner->proto == NS_IPPROTO_UDP)
		return ns_bind_lookup(st, NS_SOCK_UDP, &l, sport_be) != NULL;
	return 1;
}

void ns_icmp_unreach(struct ns_stack *st, const struct ns_ip4_hdr *ih,
		     uint32_t avail, uint8_t code, uint16_t mtu)
{
	struct nf_buf *b;
	struct ns_icmp_hdr *ic;
	uint32_t hlen = (uint32_t)(ih->ver_ihl & 0xf) * 4, n;

	/* RFC 1122 3.2.2: never about ICMP errors, broadcasts or
	 * non-initial fragments */
	if (ih->dst_be != st->ip_be ||
	    (ns_ntohs(ih->frag_be) & NS_IP4_OFFMASK) ||
	    ih->proto == NS_IPPROTO_ICMP)
		return;
	n = hlen + 8;
	if (n > avail)
		n = avail;
	b = ns_buf_alloc(st);
	if (!b)
		return;
	ic = (struct ns_icmp_hdr *)(b->data + NS_ETH_HLEN + NS_IP4_HLEN_MIN);
	ic->type = NS_ICMP_UNREACH;
	ic->code = code;
	ic->cksum_be = 0;
	ic->u.frag.unused_be = 0;
	ic->u.frag.mtu_be = ns_htons(mtu);
	memcpy((uint8_t *)ic + NS_ICMP_HLEN, ih, n);
	ic->cksum_be = ns_cksum(ic, NS_ICMP_HLEN + n);
	NS_CNT(st, icmp_unreach_sent);
	ns_ip_output(st, b, st->ip_be, ih->src_be, NS_IPPROTO_ICMP,
		     (uint16_t)(NS_ICMP_HLEN + n));
}
