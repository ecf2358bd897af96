/*
 * ip4.c: IPv4 (RFC 791, RFC 1122 3.2). Input validates version, IHL,
 * total length against the frame, the header checksum, TTL and the
 * destination, then hands the payload to tcp_in.c, udp.c or icmp.c.
 * Fragments are reassembled (RFC 815 holes; overlapping fragments drop
 * the whole datagram, as RFC 5722 does for IPv6) for UDP only, with a
 * bounded number of slots and bytes and a timeout; TCP is never
 * fragmented (we send with DF and honour path MTU, RFC 1191).
 * Output fills the header and passes the frame to eth.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

int ns_ip_route(struct ns_stack *st, uint32_t dst_be, uint32_t *nh_be)
{
	if (dst_be == 0 || dst_be == st->ip_be)
		return -ENETUNREACH;
	if (dst_be == 0xffffffffu || (dst_be & st->mask_be) ==
	    (st->ip_be & st->mask_be)) {
		*nh_be = dst_be;
		return 0;
	}
	if (!st->gw_be)
		return -ENETUNREACH;
	*nh_be = st->gw_be;
	return 0;
}

int ns_ip_output(struct ns_stack *st, struct nf_buf *b, uint32_t src_be,
		 uint32_t dst_be, uint8_t proto, uint16_t l4len)
{
	return ns_ip_output_ex(st, b, src_be, dst_be, proto, l4len,
			       ns_ip_id(st, src_be, dst_be, proto), NS_IP4_DF);
}

int ns_ip_output_ex(struct ns_stack *st, struct nf_buf *b, uint32_t src_be,
		    uint32_t dst_be, uint8_t proto, uint16_t l4len,
		    uint16_t id, uint16_t frag)
{
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)(b->data + NS_ETH_HLEN);
	uint32_t nh, tot = NS_IP4_HLEN_MIN + (uint32_t)l4len;

	if (ns_ip_route(st, dst_be, &nh)) {
		NS_CNT(st, drop_ip_noroute);
		ns_buf_free(st, b);
		return -ENETUNREACH;
	}
	if ((!b->seg_next && tot + NS_ETH_HLEN > st->hdr_room) || tot > 65535) {
		NS_CNT(st, drop_ip_too_big);
		ns_buf_free(st, b);
		return -EMSGSIZE;
	}
	ih->ver_ihl = 0x45;
	ih->tos = 0;
	ih->tot_len_be = ns_htons((uint16_t)tot);
	ih->id_be = ns_htons(id);
	ih->frag_be = ns_htons(frag);
	ih->ttl = NS_IP_TTL;
	ih->proto = proto;
	ih->cksum_be = 0;
	ih->src_be = src_be;
	ih->dst_be = dst_be;
	b->l2_len = NS_ETH_HLEN;
	b->l3_len = NS_IP4_HLEN_MIN;
	if (st->io.caps & NF_CAP_TX_IP_CKSUM)
		b->ol_flags |= NF_TX_IP_CKSUM;
	else
		ih->cksum_be = ns_cksum(ih, NS_IP4_HLEN_MIN);
	if (!b->seg_next)
		b->len = NS_ETH_HLEN + tot;  /* a chain's head length is set */
	b->pkt_len = NS_ETH_HLEN + tot;
	ns_eth_output(st, b, nh);
	return 0;
}

static void ip_deliver(struct ns_stack *st, struct nf_buf *b,
		       const struct ns_ip_info *ii)
{
	switch (ii->proto) {
	case NS_IPPROTO_TCP:
		ns_tcp_input(st, b, ii);
		return;
	case NS_IPPROTO_UDP:
		ns_udp_input(st, b, ii);
		return;
	case NS_IPPROTO_ICMP:
		ns_icmp_input(st, b, ii);
		return;
	}
	NS_CNT(st, drop_ip_proto);
	if (!b->seg_next && ii->dst_be == st->ip_be)
		ns_icmp_unreach(st, ii->ih, ii->hlen + ii->plen,
				NS_ICMP_UNREACH_PROTO, 0);
	ns_buf_free(st, b);
}

/* b: whole frame; ih/hlen/tot validated. Consumes b. */
static void reass_input(struct ns_stack *st, struct nf_buf *b,
			const struct ns_ip4_hdr *ih, uint16_t hlen,
			uint16_t tot, uint16_t frag)
{
	uint32_t off = (uint32_t)(frag & NS_IP4_OFFMASK) * 8;
	uint32_t plen = (uint32_t)tot - hlen;
	struct ns_reass_key k;
	struct ns_ip_info ii;
	struct nf_buf *head;
	uint16_t first_hlen;

	if (ih->proto != NS_IPPROTO_UDP) {
		NS_CNT(st, drop_frag_proto);
		ns_buf_free(st, b);
		return;
	}
	memset(&k, 0, sizeof(k));
	ns_in46_set4(&k.src, ih->src_be);
	ns_in46_set4(&k.dst, ih->dst_be);
	k.id = ih->id_be;
	k.proto = ih->proto;
	b->data += NS_ETH_HLEN + hlen;
	head = ns_reass_add(st, b, &k, off, plen, !!(frag & NS_IP4_MF), hlen,
			    &first_hlen);
	if (!head)
		return;
	ii.ih = (const struct ns_ip4_hdr *)(head->data - first_hlen);
	ii.ih6 = NULL;
	ii.src = k.src;
	ii.dst = k.dst;
	ii.v6 = 0;
	ii.hlen = first_hlen;
	ii.plen = (uint16_t)head->pkt_len;
	ii.proto = k.proto;
	ip_deliver(st, head, &ii);
}

void ns_ip_input(struct ns_stack *st, struct nf_buf *b)
{
	const struct ns_ip4_hdr *ih;
	uint16_t hlen, tot, frag;
	struct ns_ip_info ii;

	if (b->len < NS_ETH_HLEN + NS_IP4_HLEN_MIN) {
		NS_CNT(st, drop_ip_short);
		goto drop;
	}
	ih = (const struct ns_ip4_hdr *)(b->data + NS_ETH_HLEN);
	if ((ih->ver_ihl >> 4) != 4) {
		NS_CNT(st, drop_ip_version);
		goto drop;
	}
	hlen = (uint16_t)((ih->ver_ihl & 0xf) * 4);
	if (hlen < NS_IP4_HLEN_MIN || NS_ETH_HLEN + (uint32_t)hlen > b->len) {
		NS_CNT(st, drop_ip_ihl);
		goto drop;
	}
	tot = ns_ntohs(ih->tot_len_be);
	if (tot < hlen || NS_ETH_HLEN + (uint32_t)tot > b->len) {
		NS_CNT(st, drop_ip_len);
		goto drop;
	}
	if (b->ol_flags & NF_RX_IP_CKSUM_BAD) {
		NS_CNT(st, drop_ip_cksum);
		goto drop;
	}
	if (!(b->ol_flags & NF_RX_IP_CKSUM_GOOD) && ns_cksum(ih, hlen) != 0) {
		NS_CNT(st, drop_ip_cksum);
		goto drop;
	}
	if (ih->ttl == 0) {
		NS_CNT(st, drop_ip_ttl);
		goto drop;
	}
	if (ih->dst_be != st->ip_be && ih->dst_be != 0xffffffffu &&
	    ih->dst_be != ((st->ip_be & st->mask_be) | ~st->mask_be)) {
		NS_CNT(st, drop_ip_dst);
		goto drop;
	}
	/* a source that is broadcast or multicast is never legitimate
	 * (RFC 1122 3.2.1.3) */
	if (ih->src_be == 0xffffffffu || (ns_ntohl(ih->src_be) >> 28) == 0xe) {
		NS_CNT(st, drop_ip_dst);
		goto drop;
	}
	frag = ns_ntohs(ih->frag_be);
	if (frag & (NS_IP4_MF | NS_IP4_OFFMASK)) {
		reass_input(st, b, ih, hlen, tot, frag);
		return;
	}
	b->data += NS_ETH_HLEN + hlen;
	b->len = b->pkt_len = (uint32_t)tot - hlen;
	ii.ih = ih;
	ii.ih6 = NULL;
	ns_in46_set4(&ii.src, ih->src_be);
	ns_in46_set4(&ii.dst, ih->dst_be);
	ii.v6 = 0;
	ii.hlen = hlen;
	ii.plen = (uint16_t)(tot - hlen);
	ii.proto = ih->proto;
	ip_deliver(st, b, &ii);
	return;
drop:
	ns_buf_free(st, b);
}
