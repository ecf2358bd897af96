/*
 * ip6.c: IPv6 input and output (RFC 8200). Input checks the header,
 * accepts what is addressed to one of our addresses or to a group we are
 * in (all-nodes, our solicited-node groups), walks the extension headers
 * (hop-by-hop first only, destination options, routing: type 0 refused,
 * RFC 5095; at most NS_IP6_MAX_EXT), and hands the upper layer to
 * icmp6.c. Fragments are counted and dropped (reassembly: not yet), as
 * are TCP and UDP over IPv6 (not yet). Output fills the header and sends
 * through nd6.c (unicast) or straight to the group's MAC (multicast).
 * Called by eth.c and icmp6.c/nd6.c; calls icmp6.c and nd6.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

static int is_multicast(const uint8_t *a) { return a[0] == 0xff; }

static int is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];
	return memcmp(a, zero, 16) == 0;
}

/* fe80::/64 with a stable opaque interface identifier (RFC 8064, 7217
 * in spirit): a keyed hash of the MAC under a fixed key, the same for
 * every instance of a process (they are one interface). Not the
 * modified EUI-64 of RFC 4291: a net_tap's kernel side has the same MAC
 * as the port, so EUI-64 gave the stack the kernel's own link-local
 * address, and the stack's answer to the kernel's duplicate address
 * detection left the kernel without one (dadfailed). */
void ns_ip6_ll_from_mac(const uint8_t mac[6], uint8_t ll[16])
{
	static const uint8_t key[16] = "netfuse-ll6-iid";
	uint64_t iid = ns_siphash(key, mac, 6);
	memset(ll, 0, 16);
	ll[0] = 0xfe;
	ll[1] = 0x80;
	memcpy(ll + 8, &iid, 8);
}

int ns_ip6_is_ours(const struct ns_stack *st, const uint8_t *a)
{
	return memcmp(a, st->ll6, 16) == 0 ||
	       (st->has_ip6 && memcmp(a, st->ip6, 16) == 0);
}

/* ff02::1, or ff02::1:ffXX:XXXX of one of our addresses (RFC 4291 2.7.1) */
static int in_group(const struct ns_stack *st, const uint8_t *a)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t sn[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	if (memcmp(a, all_nodes, 16) == 0)
		return 1;
	if (memcmp(a, sn, 13) != 0)
		return 0;
	return memcmp(a + 13, st->ll6 + 13, 3) == 0 ||
	       (st->has_ip6 && memcmp(a + 13, st->ip6 + 13, 3) == 0);
}

const uint8_t *ns_ip6_src_for(const struct ns_stack *st, const uint8_t *dst)
{
	if (!st->has_ip6 || (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80) ||
	    (is_multicast(dst) && (dst[1] & 0x0f) == 0x02))
		return st->ll6;
	return st->ip6;
}

uint32_t ns_cksum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t nxt,
			  uint32_t len)
{
	uint32_t sum = ns_cksum_add(0, src, 16);
	sum = ns_cksum_add(sum, dst, 16);
	sum += ns_htons((uint16_t)(len >> 16)) + ns_htons((uint16_t)len);
	sum += ns_htons(nxt);
	return sum;
}

uint32_t ns_cksum_pseudo46(const union ns_in46 *src, const union ns_in46 *dst,
			   uint8_t proto, uint32_t len)
{
	if (ns_in46_is4(src))
		return ns_cksum_pseudo(src->a4, dst->a4, proto, (uint16_t)len);
	return ns_cksum_pseudo6(src->b, dst->b, proto, len);
}

/* the options of a hop-by-hop or destination options header: 0 to go
 * on, -1 to drop (an option whose type says "discard" when unknown, or
 * a jumbogram: not supported, RFC 2675) */
static int walk_options(const uint8_t *p, uint32_t len)
{
	uint32_t i = 2;
	while (i < len) {
		uint8_t t = p[i];
		if (t == NS_IP6_OPT_PAD1) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return -1;
		if (t != NS_IP6_OPT_PADN && t != NS_IP6_OPT_RA &&
		    (t >> 6) != 0) /* unknown: 00 skip, else discard */
			return -1;
		i += 2u + p[i + 1];
	}
	return 0;
}

/* what TCP and UDP are told of an IPv6 datagram (header ih, hlen bytes
 * from it to the upper layer, plen bytes of that) */
static void ip_info6(struct ns_ip_info *ii, const struct ns_ip6_hdr *ih,
		     uint32_t hlen, uint32_t plen, uint8_t proto)
{
	ii->ih = NULL;
	ii->ih6 = ih;
	memcpy(ii->src.b, ih->src, 16);
	memcpy(ii->dst.b, ih->dst, 16);
	ii->hlen = (uint16_t)hlen;
	ii->plen = (uint16_t)plen;
	ii->proto = proto;
	ii->v6 = 1;
}

/* a TCP segment or UDP datagram to one of our unicast addresses */
static void deliver(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *i6)
{
	struct ns_ip_info ii;
	ip_info6(&ii, i6->ih, i6->l4off - NS_ETH_HLEN, i6->l4len, i6->nxt);
	b->data += i6->l4off;
	b->len = b->pkt_len = i6->l4len;
	if (ii.proto == NS_IP6_NH_TCP)
		ns_tcp_input(st, b, &ii);
	else
		ns_udp_input(st, b, &ii);
}

/* A fragment (its header at off; the datagram ends at end): into
 * reassembly (reass.c); a complete UDP datagram is delivered. Consumes
 * b. */
static void frag_input(struct ns_stack *st, struct nf_buf *b,
		       const struct ns_ip6_hdr *ih, uint32_t off, uint32_t end)
{
	const uint8_t *e = b->data + off;
	uint16_t ol = ns_ntohs(ns_get16(e + 2)), hlen;
	uint32_t foff = ol & 0xfff8u, plen = end - off - 8;
	struct ns_reass_key k;
	struct ns_ip_info ii;
	struct nf_buf *head;

	if (!ns_ip6_is_ours(st, ih->dst)) {
		NS_CNT(st, drop_ip6_frag); /* to a group */
		goto drop;
	}
	/* RFC 8200 4.5 / RFC 7112: the first fragment holds the upper-layer
	 * header (UDP's 8 bytes; we take no extension header after the
	 * fragment header) */
	if (foff == 0 && (e[0] == NS_IP6_NH_UDP ? plen < NS_UDP_HLEN :
			  e[0] == NS_IP6_NH_TCP ? plen < NS_TCP_HLEN_MIN : 0)) {
		NS_CNT(st, drop_ip6_frag);
		goto drop;
	}
	memset(&k, 0, sizeof(k));
	memcpy(k.src.b, ih->src, 16);
	memcpy(k.dst.b, ih->dst, 16);
	k.id = ns_get32(e + 4);
	k.proto = e[0];
	k.v6 = 1;
	b->data += off + 8;
	head = ns_reass_add(st, b, &k, foff, plen, ol & 1,
			    (uint16_t)(off + 8 - NS_ETH_HLEN), &hlen);
	if (!head)
		return;
	if (k.proto != NS_IP6_NH_UDP) {
		/* TCP sizes its segments; an ICMPv6 message this long is
		 * not one we answer */
		NS_CNT(st, drop_frag_proto);
		ns_buf_free(st, head);
		return;
	}
	ip_info6(&ii, (const struct ns_ip6_hdr *)(head->data - hlen), hlen,
		 head->pkt_len, k.proto);
	ns_udp_input(st, head, &ii);
	return;
drop:
	ns_buf_free(st, b);
}

void ns_ip6_input(struct ns_stack *st, struct nf_buf *b)
{
	const struct ns_ip6_hdr *ih;
	struct ns_ip6_info ii;
	uint32_t len, plen, off, n, nxt_at = 6;
	uint8_t nxt;

	if (b->seg_next || b->len < NS_ETH_HLEN + NS_IP6_HLEN) {
		NS_CNT(st, drop_ip6_short);
		goto drop;
	}
	ih = (const struct ns_ip6_hdr *)(b->data + NS_ETH_HLEN);
	if ((b->data[NS_ETH_HLEN] >> 4) != 6) {
		NS_CNT(st, drop_ip6_version);
		goto drop;
	}
	len = b->len - NS_ETH_HLEN;
	plen = ns_ntohs(ih->plen_be);
	/* 0: a jumbogram (RFC 2675), which needs a hop-by-hop option we do
	 * not take; longer than the frame: truncated */
	if (plen == 0 || NS_IP6_HLEN + plen > len) {
		NS_CNT(st, drop_ip6_len);
		goto drop;
	}
	if (is_multicast(ih->src) || ns_ip6_is_ours(st, ih->src)) {
		NS_CNT(st, drop_ip6_src);
		goto drop;
	}
	if (!ns_ip6_is_ours(st, ih->dst) && !in_group(st, ih->dst)) {
		NS_CNT(st, drop_ip6_dst);
		goto drop;
	}
	off = NS_ETH_HLEN + NS_IP6_HLEN;
	len = NS_ETH_HLEN + NS_IP6_HLEN + plen; /* the end; padding ignored */
	nxt = ih->nxt;
	for (n = 0;; n++) {
		const uint8_t *e = b->data + off;
		uint32_t elen;
		if (nxt != NS_IP6_NH_HOPOPTS && nxt != NS_IP6_NH_DSTOPTS &&
		    nxt != NS_IP6_NH_ROUTING && nxt != NS_IP6_NH_FRAGMENT)
			break;
		if (n == NS_IP6_MAX_EXT || off + 8 > len) {
			NS_CNT(st, drop_ip6_exthdr);
			goto drop;
		}
		if (nxt == NS_IP6_NH_FRAGMENT) {
			uint16_t ol = ns_ntohs(ns_get16(e + 2));
			if ((ol & 0xfff8) == 0 && !(ol & 1)) {
				/* an atomic fragment (RFC 6946): the packet
				 * as it is */
				nxt = e[0];
				nxt_at = off - NS_ETH_HLEN;
				off += 8;
				continue;
			}
			frag_input(st, b, ih, off, len);
			return;
		}
		elen = 8u + 8u * e[1];
		if (off + elen > len ||
		    (nxt == NS_IP6_NH_HOPOPTS && n != 0)) { /* RFC 8200 4.1 */
			NS_CNT(st, drop_ip6_exthdr);
			goto drop;
		}
		if (nxt == NS_IP6_NH_ROUTING && e[3] != 0) {
			/* segments left: we are not a router. Type 0 is
			 * deprecated outright (RFC 5095) */
			if (e[2] == 0)
				NS_CNT(st, drop_ip6_rh0);
			else
				NS_CNT(st, drop_ip6_exthdr);
			goto drop;
		}
		if ((nxt == NS_IP6_NH_HOPOPTS || nxt == NS_IP6_NH_DSTOPTS) &&
		    walk_options(e, elen) < 0) {
			NS_CNT(st, drop_ip6_exthdr);
			goto drop;
		}
		nxt = e[0];
		nxt_at = off - NS_ETH_HLEN; /* where the next one is named */
		off += elen;
	}
	ii.ih = ih;
	ii.src = ih->src;
	ii.dst = ih->dst;
	ii.l4off = off;
	ii.l4len = len - off;
	ii.nxt = nxt;
	ii.hlim = ih->hlim;
	if (nxt == NS_IP6_NH_ICMP6) {
		ns_icmp6_input(st, b, &ii);
		return;
	}
	if ((nxt == NS_IP6_NH_TCP || nxt == NS_IP6_NH_UDP) &&
	    ns_ip6_is_ours(st, ih->dst)) {
		deliver(st, b, &ii);
		return;
	}
	if (nxt != NS_IP6_NH_NONE) {
		NS_CNT(st, drop_ip6_proto);
		/* RFC 8200 4: an unrecognised next header is a parameter
		 * problem (code 1) pointing at the field that named it */
		if (ns_ip6_is_ours(st, ih->dst))
			ns_icmp6_error(st, ih, len - NS_ETH_HLEN,
				       NS_ICMP6_PARAM_PROB, 1, nxt_at);
	}
drop:
	ns_buf_free(st, b);
}

/* on-link: link-local, or in our global prefix */
static int on_link(const struct ns_stack *st, const uint8_t *dst)
{
	uint32_t bits = st->prefix6_len, i;
	if (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80)
		return 1;
	if (!st->has_ip6)
		return 0;
	for (i = 0; i < bits / 8; i++)
		if (dst[i] != st->ip6[i])
			return 0;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));
		if ((dst[i] & m) != (st->ip6[i] & m))
			return 0;
	}
	return 1;
}

int ns_ip6_route(const struct ns_stack *st, const uint8_t *dst)
{
	if (is_multicast(dst) || is_unspecified(dst) ||
	    (!on_link(st, dst) && !st->has_gw6))
		return -ENETUNREACH;
	return 0;
}

int ns_ip6_output(struct ns_stack *st, struct nf_buf *b, const uint8_t *src,
		  const uint8_t *dst, uint8_t nxt, uint16_t l4len,
		  uint8_t hlim)
{
	struct ns_ip6_hdr *ih = (struct ns_ip6_hdr *)(b->data + NS_ETH_HLEN);
	uint32_t tot = NS_IP6_HLEN + (uint32_t)l4len;

	if (tot + NS_ETH_HLEN > st->hdr_room) {
		NS_CNT(st, drop_ip_too_big);
		ns_buf_free(st, b);
		return -EMSGSIZE;
	}
	if (!is_multicast(dst) && !on_link(st, dst) &&
	    (!st->has_gw6 || (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80))) {
		NS_CNT(st, drop_ip_noroute);
		ns_buf_free(st, b);
		return -ENETUNREACH;
	}
	ih->vtcfl_be = ns_htonl(6u << 28);
	ih->plen_be = ns_htons(l4len);
	ih->nxt = nxt;
	ih->hlim = hlim;
	memcpy(ih->src, src, 16);
	memcpy(ih->dst, dst, 16);
	b->l2_len = NS_ETH_HLEN;
	b->l3_len = NS_IP6_HLEN;
	b->len = NS_ETH_HLEN + tot;
	b->pkt_len = b->len;
	if (is_multicast(dst)) {
		uint8_t mac[6] = { 0x33, 0x33, dst[12], dst[13], dst[14],
				   dst[15] };
		ns_eth_fill(st, b, mac, NS_ETHERTYPE_IP6);
		ns_tx(st, b);
		return 0;
	}
	if (is_unspecified(dst)) {
		ns_buf_free(st, b);
		return -EINVAL;
	}
	/* off the link: through the default router */
	ns_nd_output(st, b, on_link(st, dst) ? dst : st->gw6);
	return 0;
}
