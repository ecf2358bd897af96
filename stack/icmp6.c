/*
 * icmp6.c: ICMPv6 (RFC 4443): the checksum with the IPv6 pseudo-header,
 * echo replies, the hand-off of Neighbor Discovery messages to nd6.c,
 * errors about our datagrams handed to TCP (packet too big: path MTU;
 * port unreachable during connect) and UDP (connected sockets), and the
 * errors we send (port unreachable, parameter problem). Router
 * advertisements are ignored (addresses come from configuration).
 * Called by ip6.c and udp.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

/* checksum over the pseudo-header and the message (0xffff if good) */
static uint16_t icmp6_sum(const struct ns_ip6_info *ii, const uint8_t *m)
{
	uint32_t sum = ns_cksum_pseudo6(ii->src, ii->dst, NS_IP6_NH_ICMP6,
					ii->l4len);
	sum = ns_cksum_add(sum, m, ii->l4len);
	return (uint16_t)~ns_cksum_fold(sum);
}

static void echo_reply(struct ns_stack *st, const struct ns_ip6_info *ii,
		       const uint8_t *req)
{
	struct nf_buf *b;
	struct ns_icmp6_hdr *ic;
	const uint8_t *src;
	uint32_t sum;

	/* a reply must fit one frame (we send no fragments) */
	if (NS_ETH_HLEN + NS_IP6_HLEN + ii->l4len > st->hdr_room)
		return;
	b = ns_buf_alloc(st);
	if (!b)
		return;
	ic = (struct ns_icmp6_hdr *)(b->data + NS_ETH_HLEN + NS_IP6_HLEN);
	memcpy(ic, req, ii->l4len);
	ic->type = NS_ICMP6_ECHO_REPLY;
	ic->code = 0;
	ic->cksum_be = 0;
	/* to a group (ff02::1): answer from the address that suits */
	src = ns_ip6_is_ours(st, ii->dst) ? ii->dst : ns_ip6_src_for(st, ii->src);
	sum = ns_cksum_pseudo6(src, ii->src, NS_IP6_NH_ICMP6, ii->l4len);
	sum = ns_cksum_add(sum, ic, ii->l4len);
	ic->cksum_be = ns_cksum_fold(sum);
	NS_CNT(st, icmp6_echo_replied);
	(void)ns_ip6_output(st, b, src, ii->src, NS_IP6_NH_ICMP6,
			    (uint16_t)ii->l4len, NS_IP6_HLIM);
}

void ns_icmp6_error(struct ns_stack *st, const struct ns_ip6_hdr *ih,
		    uint32_t avail, uint8_t type, uint8_t code, uint32_t word)
{
	/* RFC 4443 2.4 (c): as much of the invoking packet as fits the
	 * minimum MTU */
	uint32_t max = NS_IP6_MIN_MTU - NS_IP6_HLEN - NS_ICMP6_HLEN, n;
	const uint8_t *src;
	struct ns_icmp6_hdr *ic;
	struct nf_buf *b;
	uint32_t sum;

	/* (e): never about an ICMPv6 error, nor to a group or :: */
	if (ih->dst[0] == 0xff || ih->src[0] == 0xff ||
	    !memcmp(ih->src, (const uint8_t[16]){0}, 16))
		return;
	if (ih->nxt == NS_IP6_NH_ICMP6 && avail > NS_IP6_HLEN &&
	    ((const uint8_t *)(ih + 1))[0] < 128)
		return;
	n = avail < max ? avail : max;
	if (NS_ETH_HLEN + NS_IP6_HLEN + NS_ICMP6_HLEN + n > st->hdr_room)
		n = st->hdr_room - NS_ETH_HLEN - NS_IP6_HLEN - NS_ICMP6_HLEN;
	b = ns_buf_alloc(st);
	if (!b)
		return;
	ic = (struct ns_icmp6_hdr *)(b->data + NS_ETH_HLEN + NS_IP6_HLEN);
	ic->type = type;
	ic->code = code;
	ic->cksum_be = 0;
	ic->word_be = ns_htonl(word);
	memcpy(ic + 1, ih, n);
	src = ns_ip6_is_ours(st, ih->dst) ? ih->dst : ns_ip6_src_for(st, ih->src);
	sum = ns_cksum_pseudo6(src, ih->src, NS_IP6_NH_ICMP6,
			       NS_ICMP6_HLEN + n);
	sum = ns_cksum_add(sum, ic, NS_ICMP6_HLEN + n);
	ic->cksum_be = ns_cksum_fold(sum);
	NS_CNT(st, icmp6_errors_sent);
	(void)ns_ip6_output(st, b, src, ih->src, NS_IP6_NH_ICMP6,
			    (uint16_t)(NS_ICMP6_HLEN + n), NS_IP6_HLIM);
}

/* Has this instance the socket an error quotes? */
static int owns_quoted6(struct ns_stack *st, const struct ns_ip6_hdr *in)
{
	const uint8_t *l4 = (const uint8_t *)(in + 1);
	union ns_in46 l, r;
	memcpy(l.b, in->src, 16);
	memcpy(r.b, in->dst, 16);
	if (in->nxt == NS_IP6_NH_TCP)
		return ns_conn_lookup(st, &l, ns_get16(l4), &r,
				      ns_get16(l4 + 2)) != NULL;
	return ns_bind_lookup(st, NS_SOCK_UDP, &l, ns_get16(l4)) != NULL;
}

/* an error about a datagram of ours: to TCP or UDP (1: b consumed) */
static int error_input(struct ns_stack *st, struct nf_buf *b,
		       const struct ns_ip6_info *ii, const uint8_t *m)
{
	const struct ns_ip6_hdr *in =
		(const struct ns_ip6_hdr *)(m + NS_ICMP6_HLEN);
	uint32_t word = ns_ntohl(ns_get32(m + 4));

	/* our header and 8 bytes of TCP / UDP right after it (we send no
	 * extension headers) */
	if (ii->l4len < NS_ICMP6_HLEN + NS_IP6_HLEN + 8 ||
	    (in->nxt != NS_IP6_NH_TCP && in->nxt != NS_IP6_NH_UDP) ||
	    !ns_ip6_is_ours(st, in->src)) {
		NS_CNT(st, drop_icmp_unmatched);
		return 0;
	}
	/* about another instance's flow: that one takes it */
	if (!owns_quoted6(st, in) && ns_steer_foreign(st, b))
		return 1;
	if (in->nxt == NS_IP6_NH_TCP)
		ns_tcp_ctlinput6(st, in, m[0], m[1], word);
	else if (m[0] == NS_ICMP6_DST_UNREACH)
		ns_udp_ctlinput6(st, in, m[1] == 4 ? ECONNREFUSED :
				 EHOSTUNREACH);
	return 0;
}

void ns_icmp6_input(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *ii)
{
	const uint8_t *m = b->data + ii->l4off;

	if (ii->l4len < NS_ICMP6_HLEN) {
		NS_CNT(st, drop_icmp6_short);
		goto drop;
	}
	if (icmp6_sum(ii, m) != 0xffff) {
		NS_CNT(st, drop_icmp6_cksum);
		goto drop;
	}
	switch (m[0]) {
	case NS_ICMP6_ECHO_REQUEST:
		if (m[1] == 0)
			echo_reply(st, ii, m);
		else
			NS_CNT(st, drop_icmp6_type);
		break;
	case NS_ND_NEIGHBOR_SOLICIT:
		ns_nd_input_ns(st, b, ii);
		return;
	case NS_ND_NEIGHBOR_ADVERT:
		ns_nd_input_na(st, b, ii);
		return;
	case NS_ICMP6_DST_UNREACH:
	case NS_ICMP6_PKT_TOO_BIG:
	case NS_ICMP6_TIME_EXCEEDED:
	case NS_ICMP6_PARAM_PROB:
		if (error_input(st, b, ii, m))
			return;
		break;
	default:
		/* router advertisements (not configured from), anything
		 * else */
		NS_CNT(st, drop_icmp6_type);
		break;
	}
drop:
	ns_buf_free(st, b);
}
