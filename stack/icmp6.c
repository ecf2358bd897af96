/*
 * icmp6.c: ICMPv6 (RFC 4443): the checksum with the IPv6 pseudo-header,
 * echo replies, and the hand-off of Neighbor Discovery messages to
 * nd6.c. Error messages about our datagrams are counted and dropped (no
 * IPv6 transport yet to tell). Router advertisements are ignored
 * (addresses come from configuration). Called by ip6.c.
 */
#include "stack/ns_priv.h"

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
	default:
		/* errors about our datagrams (no IPv6 transport yet), router
		 * advertisements (not configured from), anything else */
		NS_CNT(st, drop_icmp6_type);
		break;
	}
drop:
	ns_buf_free(st, b);
}
