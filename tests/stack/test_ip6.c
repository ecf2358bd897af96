/*
 * test_ip6.c: IPv6 input and output (stack/ip6.c), ICMPv6 echo
 * (icmp6.c) and Neighbor Discovery (nd6.c), with the test as the peer
 * (fe80::1 / 2001:2::1, MAC 02:00:00:00:00:01) and the stack at
 * 2001:2::2/64 with its link-local address from 02:00:00:00:00:02.
 * Every hostile case checks that nothing was sent and that the right
 * counter moved.
 */
#include "tests/stack/fixture.h"

static const uint8_t us6[16] = { 0x20, 0x01, 0, 2, [15] = 2 };
static const uint8_t peer6[16] = { 0x20, 0x01, 0, 2, [15] = 1 };
static const uint8_t peer_ll[16] = { 0xfe, 0x80, [8] = 0, [15] = 1 };
/* the stack's link-local address (set up) */
static uint8_t us_ll[16];
/* what modified EUI-64 would give for 02:00:00:00:00:02 */
static const uint8_t eui64_ll[16] = { 0xfe, 0x80, [11] = 0xff, [12] = 0xfe,
				      [15] = 2 };
static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ns_config c;
	fx_default_cfg(&c);
	memcpy(c.ip6, us6, 16);
	c.prefix6_len = 64;
	assert_int_equal(fx_setup_cfg(f, &c), 0);
	ns_ip6_ll_from_mac(us_mac, us_ll);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fx_teardown(f);
	free(f);
	return 0;
}

/* checksum of an ICMPv6 message under the pseudo-header */
static uint16_t sum6(const uint8_t *src, const uint8_t *dst, const uint8_t *m,
		     uint32_t len)
{
	uint32_t s = ns_cksum_pseudo6(src, dst, NS_IP6_NH_ICMP6, len);
	s = ns_cksum_add(s, m, len);
	return ns_cksum_fold(s);
}

/* a frame: Ethernet, IPv6 (hop limit hlim, payload exth + msg, first
 * next header nh), the message's ICMPv6 checksum filled */
static uint32_t mk6(uint8_t *f, const uint8_t *edst, const uint8_t *src,
		    const uint8_t *dst, uint8_t hlim, uint8_t nh,
		    const uint8_t *exth, uint32_t exlen, uint8_t *msg,
		    uint32_t mlen)
{
	uint32_t o = mk_eth(f, edst, peer_mac, NS_ETHERTYPE_IP6);
	uint8_t *ip = f + o;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = (uint8_t)((exlen + mlen) >> 8);
	ip[5] = (uint8_t)(exlen + mlen);
	ip[6] = nh;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	if (mlen >= 4 && msg[0] >= 128) { /* informational: fill the sum */
		msg[2] = msg[3] = 0;
		{
			uint16_t s = sum6(src, dst, msg, mlen);
			memcpy(msg + 2, &s, 2);
		}
	}
	if (exlen)
		memcpy(ip + 40, exth, exlen);
	memcpy(ip + 40 + exlen, msg, mlen);
	return o + 40 + exlen + mlen;
}

static uint32_t mk_echo(uint8_t *m, uint16_t id, uint16_t seq, uint32_t n)
{
	uint32_t i;
	m[0] = NS_ICMP6_ECHO_REQUEST;
	m[1] = 0;
	m[4] = (uint8_t)(id >> 8);
	m[5] = (uint8_t)id;
	m[6] = (uint8_t)(seq >> 8);
	m[7] = (uint8_t)seq;
	for (i = 0; i < n; i++)
		m[8 + i] = (uint8_t)(i * 7);
	return 8 + n;
}

/* NS for target, with a source link-layer option unless from :: */
static uint32_t mk_ns(uint8_t *m, const uint8_t *target, int slla)
{
	memset(m, 0, 32);
	m[0] = NS_ND_NEIGHBOR_SOLICIT;
	memcpy(m + 8, target, 16);
	if (!slla)
		return 24;
	m[24] = NS_ND_OPT_SLLA;
	m[25] = 1;
	memcpy(m + 26, peer_mac, 6);
	return 32;
}

static uint32_t mk_na(uint8_t *m, const uint8_t *target, uint32_t flags)
{
	memset(m, 0, 32);
	m[0] = NS_ND_NEIGHBOR_ADVERT;
	m[4] = (uint8_t)(flags >> 24);
	memcpy(m + 8, target, 16);
	m[24] = NS_ND_OPT_TLLA;
	m[25] = 1;
	memcpy(m + 26, peer_mac, 6);
	return 32;
}

static struct nf_buf *sent(struct fx *f)
{
	return fio_pop(&f->io);
}

/* the peer's neighbour entry, as a solicitation from it would make it */
static void learn_peer(struct fx *f, const uint8_t *peer)
{
	uint8_t fr[200], m[32];
	struct nf_buf *b;
	uint32_t n = mk6(fr, us_mac, peer, us6, 255, NS_IP6_NH_ICMP6, NULL, 0,
			 m, mk_ns(m, us6, 1));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b); /* the NA */
	fio_pool_put(b);
}

/* ---- the cases --------------------------------------------------------- */

/* fe80::/64 with an interface identifier that is a function of the MAC
 * but not its EUI-64 (a tap's kernel side has our MAC and takes that) */
static void t_link_local_from_mac(void **state)
{
	struct fx *f = *state;
	uint8_t again[16], other[16], mac2[6] = { 2, 0, 0, 0, 0, 3 };
	assert_memory_equal(f->st->ll6, us_ll, 16);
	assert_int_equal(us_ll[0], 0xfe);
	assert_int_equal(us_ll[1], 0x80);
	assert_memory_not_equal(us_ll, eui64_ll, 16);
	ns_ip6_ll_from_mac(us_mac, again);
	assert_memory_equal(again, us_ll, 16); /* stable: every instance */
	ns_ip6_ll_from_mac(mac2, other);
	assert_memory_not_equal(other, us_ll, 16);
	assert_true(ns_ip6_is_ours(f->st, us6));
	assert_true(ns_ip6_is_ours(f->st, us_ll));
	assert_false(ns_ip6_is_ours(f->st, peer6));
}

/* NS for our address to our solicited-node group: a solicited NA back
 * to the asker with our MAC, and the asker is learnt */
static void t_ns_answered(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200], m[32], sn[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff,
					    [15] = 2 };
	uint8_t emac[6] = { 0x33, 0x33, 0xff, 0, 0, 2 }, mac[6];
	struct nf_buf *b;
	const uint8_t *p;
	uint32_t n = mk6(fr, emac, peer6, sn, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
			 mk_ns(m, us6, 1));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	p = b->data;
	assert_memory_equal(p, peer_mac, 6);           /* to the asker */
	assert_int_equal(p[12] << 8 | p[13], NS_ETHERTYPE_IP6);
	assert_int_equal(p[14 + 7], 255);              /* hop limit */
	assert_memory_equal(p + 14 + 8, us6, 16);      /* from the target */
	assert_memory_equal(p + 14 + 24, peer6, 16);
	assert_int_equal(p[54], NS_ND_NEIGHBOR_ADVERT);
	assert_int_equal(p[58] & 0xe0, 0x60);          /* S and O, not R */
	assert_memory_equal(p + 62, us6, 16);          /* target */
	assert_int_equal(p[78], NS_ND_OPT_TLLA);
	assert_memory_equal(p + 80, us_mac, 6);
	assert_int_equal(sum6(p + 22, p + 38, p + 54, b->len - 54), 0);
	fio_pool_put(b);
	assert_null(sent(f));
	assert_int_equal(ns_nd_lookup(f->st, peer6, mac), 0);
	assert_memory_equal(mac, peer_mac, 6);
	assert_int_equal(CNT(f, nd_na_sent), 1);
}

/* echo request: the same data back, from the address asked */
static void t_echo_replied(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], m[1500];
	struct nf_buf *b;
	uint32_t n;
	learn_peer(f, peer6);
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_echo(m, 0x1234, 7, 1000));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data + 14 + 8, us6, 16);
	assert_memory_equal(b->data + 14 + 24, peer6, 16);
	assert_int_equal(b->data[54], NS_ICMP6_ECHO_REPLY);
	assert_memory_equal(b->data + 58, fr + 58, 4 + 1000); /* id, seq, data */
	assert_int_equal(sum6(b->data + 22, b->data + 38, b->data + 54,
			      b->len - 54), 0);
	fio_pool_put(b);
	assert_int_equal(CNT(f, icmp6_echo_replied), 1);
}

/* an echo from a neighbour not yet known: NS to its solicited-node
 * group from our link-local address, the reply waits; the NA sends it */
static void t_reply_waits_for_nd(void **state)
{
	struct fx *f = *state;
	uint8_t fr[300], m[200];
	struct nf_buf *b;
	uint32_t n = mk6(fr, us_mac, peer_ll, us_ll, 64, NS_IP6_NH_ICMP6, NULL,
			 0, m, mk_echo(m, 1, 1, 16));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	assert_int_equal(b->data[0], 0x33);
	assert_int_equal(b->data[2], 0xff);
	assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
	assert_int_equal(b->data[14 + 7], 255);
	assert_memory_equal(b->data + 14 + 8, us_ll, 16);
	assert_memory_equal(b->data + 62, peer_ll, 16);
	fio_pool_put(b);
	assert_null(sent(f));
	n = mk6(fr, us_mac, peer_ll, us_ll, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_na(m, peer_ll, NS_ND_NA_SOLICITED | NS_ND_NA_OVERRIDE));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	assert_memory_equal(b->data, peer_mac, 6);
	assert_int_equal(b->data[54], NS_ICMP6_ECHO_REPLY);
	fio_pool_put(b);
}

/* no answer: three solicitations a second apart, then the frame goes */
static void t_nd_gives_up(void **state)
{
	struct fx *f = *state;
	uint8_t fr[300], m[200];
	struct nf_buf *b;
	int i, ns = 0;
	uint32_t n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0,
			 m, mk_echo(m, 1, 1, 16));
	fx_inject(f, fr, n);
	for (i = 0; i < 50; i++) {
		while ((b = sent(f)) != NULL) {
			assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
			ns++;
			fio_pool_put(b);
		}
		fx_advance(f, 100 * NS_MS);
	}
	assert_int_equal(ns, NS_ND_RETRIES);
	assert_int_equal(CNT(f, drop_nd_queue), 1);
}

/* ND that did not come from this link (hop limit < 255), a solicitation
 * for someone else, a DAD probe with a link-layer address: dropped,
 * nothing sent */
static void t_nd_hostile(void **state)
{
	struct fx *f = *state;
	static const uint8_t zero[16];
	uint8_t fr[200], m[32], other[16] = { 0x20, 0x01, 0, 2, [15] = 9 };
	uint32_t n;
	n = mk6(fr, us_mac, peer6, us6, 254, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, us6, 1));
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_nd_bad), 1);
	n = mk6(fr, us_mac, peer6, us6, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, other, 1));
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_nd_target), 1);
	n = mk6(fr, us_mac, zero, all_nodes, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, us6, 1));
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_nd_bad), 2);
	/* a solicited NA to a group */
	n = mk6(fr, us_mac, peer6, all_nodes, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_na(m, peer6, NS_ND_NA_SOLICITED));
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_nd_bad), 3);
	/* an NA claiming our address */
	n = mk6(fr, us_mac, peer6, all_nodes, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_na(m, us6, NS_ND_NA_OVERRIDE));
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, nd_dad_conflict), 1);
	assert_null(sent(f));
	/* another node's DAD probe for our address: answered to all nodes */
	n = mk6(fr, us_mac, zero, (const uint8_t[16]){ 0xff, 0x02, [11] = 1,
		[12] = 0xff, [15] = 2 }, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, us6, 0));
	fx_inject(f, fr, n);
	{
		struct nf_buf *b = sent(f);
		assert_non_null(b);
		assert_memory_equal(b->data + 14 + 24, all_nodes, 16);
		assert_int_equal(b->data[58] & 0x40, 0); /* not solicited */
		fio_pool_put(b);
	}
}

/* malformed and unwanted datagrams: each dropped and counted */
static void t_ip6_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t fr[400], m[64], ext[64];
	uint32_t n, ml = mk_echo(m, 1, 1, 8);
	static const uint8_t mc_src[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t not_us[16] = { 0x20, 0x01, 0, 3, [15] = 2 };

	learn_peer(f, peer6);
	/* truncated: payload length beyond the frame */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m, ml);
	fx_inject(f, fr, n - 4);
	assert_int_equal(CNT(f, drop_ip6_len), 1);
	/* jumbogram without its hop-by-hop option: payload length 0 */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m, ml);
	fr[18] = fr[19] = 0;
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_len), 2);
	/* shorter than a header */
	fx_inject(f, fr, 14 + 20);
	assert_int_equal(CNT(f, drop_ip6_short), 1);
	/* version 4 in an IPv6 frame */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m, ml);
	fr[14] = 0x40;
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_version), 1);
	/* from a multicast source; to an address not ours */
	n = mk6(fr, us_mac, mc_src, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_src), 1);
	n = mk6(fr, us_mac, peer6, not_us, 64, NS_IP6_NH_ICMP6, NULL, 0, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_dst), 1);
	/* routing header type 0 with segments left (RFC 5095) */
	memset(ext, 0, sizeof(ext));
	ext[0] = NS_IP6_NH_ICMP6;
	ext[1] = 2;  /* 24 bytes */
	ext[2] = 0;  /* type 0 */
	ext[3] = 1;  /* segments left */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ROUTING, ext, 24, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_rh0), 1);
	/* hop-by-hop not first */
	memset(ext, 0, sizeof(ext));
	ext[0] = NS_IP6_NH_HOPOPTS; /* dest options, then hop-by-hop */
	ext[8] = NS_IP6_NH_ICMP6;
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_DSTOPTS, ext, 16, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_exthdr), 1);
	/* a chain of 9 destination options headers */
	{
		int k;
		memset(ext, 0, sizeof(ext));
		for (k = 0; k < 8; k++)
			ext[k * 8] = k < 7 ? NS_IP6_NH_DSTOPTS : NS_IP6_NH_DSTOPTS;
		n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_DSTOPTS, ext, 64,
			m, ml);
		fx_inject(f, fr, n);
		assert_int_equal(CNT(f, drop_ip6_exthdr), 2);
	}
	/* an extension header running past the payload */
	memset(ext, 0, sizeof(ext));
	ext[0] = NS_IP6_NH_ICMP6;
	ext[1] = 200;
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_DSTOPTS, ext, 8, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_exthdr), 3);
	/* an unknown option whose type says discard */
	memset(ext, 0, sizeof(ext));
	ext[0] = NS_IP6_NH_ICMP6;
	ext[2] = 0x80; /* 10xxxxxx: discard, ICMP */
	ext[3] = 4;
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_DSTOPTS, ext, 8, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_exthdr), 4);
	/* an atomic fragment (offset 0, M 0: RFC 6946) is the packet
	 * itself: its echo is answered */
	memset(ext, 0, sizeof(ext));
	ext[0] = NS_IP6_NH_ICMP6;
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_FRAGMENT, ext, 8, m, ml);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, icmp6_echo_replied), 1);
	fio_pool_put(sent(f));
	/* a first fragment too short for the UDP header (RFC 7112) */
	ext[0] = NS_IP6_NH_UDP;
	ext[3] = 1; /* M */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_FRAGMENT, ext, 8, m, 4);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_frag), 1);
	/* overlapping fragments (RFC 5722): the datagram is dropped */
	ext[4] = 9; /* id */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_FRAGMENT, ext, 8, m, 16);
	fx_inject(f, fr, n);
	ext[2] = 0; ext[3] = 8; /* offset 8 bytes, more: inside the first */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_FRAGMENT, ext, 8, m, 16);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_frag_overlap), 1);
	assert_int_equal(CNT(f, frag_reassembled), 0);
	/* a fragment of a datagram past 65535 bytes */
	ext[2] = 0xff; ext[3] = 0xf8 | 1;
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_FRAGMENT, ext, 8, m, 16);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_frag_too_big), 1);
	/* a bad ICMPv6 checksum */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m, ml);
	fr[56] ^= 0xff;
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_icmp6_cksum), 1);
	assert_null(sent(f));
	/* an upper layer the stack does not speak (SCTP): parameter
	 * problem, code 1, pointing at the next header field (RFC 8200 4) */
	n = mk6(fr, us_mac, peer6, us6, 64, 132, NULL, 0, m, 20);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_proto), 1);
	{
		struct nf_buf *ns; /* the error waits for the peer's MAC */
		while ((ns = sent(f)) != NULL)
			fio_pool_put(ns);
	}
	learn_peer(f, peer6);
	fx_inject(f, fr, n);
	assert_int_equal(CNT(f, drop_ip6_proto), 2);
	{
		struct nf_buf *ob = sent(f);
		const uint8_t *o;
		assert_non_null(ob);
		o = ob->data;
		assert_int_equal(o[14 + 6], NS_IP6_NH_ICMP6);
		assert_int_equal(o[54], NS_ICMP6_PARAM_PROB);
		assert_int_equal(o[55], 1);
		assert_int_equal(o[61], 6);        /* pointer */
		assert_memory_equal(o + 62, fr + 14, 40); /* quoted */
		fio_pool_put(ob);
		assert_null(sent(f));
	}
	/* padding options are skipped: an echo behind them is answered */
	memset(ext, 0, sizeof(ext));
	ext[0] = NS_IP6_NH_ICMP6;
	ext[2] = NS_IP6_OPT_PADN;
	ext[3] = 4;
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_HOPOPTS, ext, 8, m, ml);
	fx_inject(f, fr, n);
	{
		struct nf_buf *b = sent(f);
		assert_non_null(b);
		assert_int_equal(b->data[54], NS_ICMP6_ECHO_REPLY);
		fio_pool_put(b);
	}
}

/* duplicate address detection (RFC 4862 5.4, optimistic): at start a
 * probe from :: for each address, no link-layer option; an
 * advertisement for the global address within RetransTimer takes it out
 * of use; after that, a claim is only counted (and a probe defended) */
static void t_dad(void **state)
{
	struct fx g;
	struct ns_config c;
	uint8_t fr[200], m[64];
	struct nf_buf *b;
	uint32_t n, i;
	static const uint8_t zero[16];
	static const uint8_t an_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	uint8_t sn_ll[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	uint8_t sn_mac[6] = { 0x33, 0x33, 0xff };
	(void)state;
	fx_default_cfg(&c);
	memcpy(c.ip6, us6, 16);
	c.prefix6_len = 64;
	c.no_garp = 0;
	memset(&g, 0, sizeof(g));
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	/* the gratuitous ARP, then the two probes */
	b = sent(&g);
	assert_non_null(b);
	assert_int_equal(b->data[12], 0x08);
	fio_pool_put(b);
	for (i = 0; i < 2; i++) {
		b = sent(&g);
		assert_non_null(b);
		assert_int_equal(b->data[12], 0x86);
		assert_int_equal(b->len, 14 + 40 + 24); /* no option */
		assert_memory_equal(b->data + 22, zero, 16); /* from :: */
		assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
		assert_memory_equal(b->data + 62, i ? us6 : us_ll, 16);
		fio_pool_put(b);
	}
	assert_null(sent(&g));
	/* another node answers for the global address: a duplicate */
	n = mk6(fr, an_mac, peer_ll, all_nodes, 255,
		NS_IP6_NH_ICMP6, NULL, 0, m, mk_na(m, us6, 0x20000000u));
	fx_inject(&g, fr, n);
	assert_int_equal(CNT(&g, nd_dad_failed), 1);
	/* the address is out of use: an echo to it is not ours */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_echo(m, 1, 1, 8));
	fx_inject(&g, fr, n);
	assert_int_equal(CNT(&g, drop_ip6_dst), 1);
	assert_null(sent(&g));
	/* later: a probe for the link-local address is defended, a claim
	 * only counted */
	fx_advance(&g, 2000000000ull);
	memcpy(sn_ll + 13, us_ll + 13, 3);
	memcpy(sn_mac + 3, us_ll + 13, 3);
	n = mk6(fr, sn_mac, zero, sn_ll, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, us_ll, 0));
	fx_inject(&g, fr, n);
	b = sent(&g);
	assert_non_null(b);
	assert_int_equal(b->data[54], NS_ND_NEIGHBOR_ADVERT);
	fio_pool_put(b);
	assert_int_equal(CNT(&g, nd_dad_failed), 1);
	fx_teardown(&g);
}

/* neighbour unreachability detection (RFC 4861 7.3): a STALE entry
 * used goes to DELAY, then PROBE: unicast solicitations to the cached
 * MAC; a solicited advertisement makes it REACHABLE, three unanswered
 * probes remove it (the next use asks the group again) */
static void t_nud(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200], m[64];
	struct nf_buf *b;
	uint32_t n, i;
	learn_peer(f, peer6);                       /* STALE */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_echo(m, 1, 1, 8));
	fx_inject(f, fr, n);
	b = sent(f);                                /* the reply, at once */
	assert_non_null(b);
	assert_int_equal(b->data[54], NS_ICMP6_ECHO_REPLY);
	fio_pool_put(b);
	assert_null(sent(f));
	fx_advance(f, 5100000000ull);               /* DELAY -> PROBE */
	b = sent(f);
	assert_non_null(b);
	assert_memory_equal(b->data, peer_mac, 6);  /* unicast */
	assert_memory_equal(b->data + 38, peer6, 16);
	assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
	fio_pool_put(b);
	/* answered: REACHABLE, no more probes */
	n = mk6(fr, us_mac, peer6, us6, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_na(m, peer6, 0x60000000u));
	fx_inject(f, fr, n);
	fx_advance(f, 3000000000ull);
	assert_null(sent(f));
	/* 30 s later it is STALE again; used, then never answered */
	fx_advance(f, 30000000000ull);
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_echo(m, 1, 2, 8));
	fx_inject(f, fr, n);
	fio_pool_put(sent(f));                      /* the reply */
	fx_advance(f, 5100000000ull);
	for (i = 0; i < 3; i++) {
		b = sent(f);
		assert_non_null(b);
		assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
		fio_pool_put(b);
		fx_advance(f, 1100000000ull);
	}
	assert_int_equal(CNT(f, nd_unreachable), 1);
	assert_null(sent(f));
	/* gone: the next reply waits for a multicast solicitation */
	n = mk6(fr, us_mac, peer6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_echo(m, 1, 3, 8));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	assert_int_equal(b->data[0], 0x33);
	assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
	fio_pool_put(b);
}

/* an IPv6 default router: an off-link destination goes through it
 * (its MAC, resolved by ND), the IPv6 destination unchanged; without
 * one, unreachable */
static void t_gateway6(void **state)
{
	struct fx g;
	struct ns_config c;
	uint8_t fr[200], m[64];
	static const uint8_t far6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
	struct nf_buf *b;
	uint32_t n;
	(void)state;
	fx_default_cfg(&c);
	memcpy(c.ip6, us6, 16);
	c.prefix6_len = 64;
	memcpy(c.gw6, peer_ll, 16);
	memset(&g, 0, sizeof(g));
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	learn_peer(&g, peer_ll);
	n = mk6(fr, us_mac, far6, us6, 64, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_echo(m, 1, 1, 8));
	fx_inject(&g, fr, n);
	b = sent(&g);
	assert_non_null(b);
	assert_memory_equal(b->data, peer_mac, 6);     /* the router's MAC */
	assert_memory_equal(b->data + 38, far6, 16);   /* to the far host */
	assert_int_equal(b->data[54], NS_ICMP6_ECHO_REPLY);
	fio_pool_put(b);
	fx_teardown(&g);
	/* no router: the same reply is unroutable */
	memset(c.gw6, 0, 16);
	memset(&g, 0, sizeof(g));
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	fx_inject(&g, fr, n);
	assert_null(sent(&g));
	assert_int_equal(CNT(&g, drop_ip_noroute), 1);
	fx_teardown(&g);
}

/* a stack with no global address answers on its link-local one only */
static void t_link_local_only(void **state)
{
	struct fx g;
	struct ns_config c;
	uint8_t fr[200], m[32];
	struct nf_buf *b;
	uint32_t n;
	(void)state;
	fx_default_cfg(&c);
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	assert_false(ns_ip6_is_ours(g.st, us6));
	n = mk6(fr, us_mac, peer_ll, us_ll, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, us_ll, 1));
	fx_inject(&g, fr, n);
	b = fio_pop(&g.io);
	assert_non_null(b);
	assert_memory_equal(b->data + 14 + 8, us_ll, 16);
	fio_pool_put(b);
	n = mk6(fr, us_mac, peer6, us6, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_ns(m, us6, 1));
	fx_inject(&g, fr, n);
	assert_null(fio_pop(&g.io));
	fx_teardown(&g);
}

/* an echo to all nodes from a neighbour not yet known: NS, then the NA
 * (solicited, unicast to our link-local address) sends the reply */
static void t_group_echo_waits_for_nd(void **state)
{
	struct fx *f = *state;
	uint8_t fr[300], m[200], emac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct nf_buf *b;
	uint32_t n = mk6(fr, emac, peer_ll, all_nodes, 64, NS_IP6_NH_ICMP6,
			 NULL, 0, m, mk_echo(m, 5, 5, 16));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	assert_int_equal(b->data[54], NS_ND_NEIGHBOR_SOLICIT);
	assert_memory_equal(b->data + 14 + 8, us_ll, 16);
	fio_pool_put(b);
	n = mk6(fr, us_mac, peer_ll, us_ll, 255, NS_IP6_NH_ICMP6, NULL, 0, m,
		mk_na(m, peer_ll, NS_ND_NA_SOLICITED | NS_ND_NA_OVERRIDE));
	fx_inject(f, fr, n);
	b = sent(f);
	assert_non_null(b);
	assert_int_equal(b->data[54], NS_ICMP6_ECHO_REPLY);
	assert_memory_equal(b->data + 14 + 8, us_ll, 16);
	assert_memory_equal(b->data + 14 + 24, peer_ll, 16);
	fio_pool_put(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_link_local_from_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(t_ns_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(t_echo_replied, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reply_waits_for_nd, setup, teardown),
		cmocka_unit_test_setup_teardown(t_nd_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(t_group_echo_waits_for_nd, setup, teardown),
		cmocka_unit_test_setup_teardown(t_nd_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(t_ip6_hostile, setup, teardown),
		cmocka_unit_test(t_link_local_only),
		cmocka_unit_test(t_dad),
		cmocka_unit_test(t_gateway6),
		cmocka_unit_test_setup_teardown(t_nud, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
