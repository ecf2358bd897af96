/*
 * test_proto.c: fixed-byte tests for checksums, RSS hashing, Ethernet,
 * ARP, IPv4 (validation and reassembly), ICMP and UDP: good, truncated
 * and hostile frames, each checked through what the stack sends and the
 * named drop counters; teardown checks that no buffer leaked.
 */
#include "tests/stack/fixture.h"

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_setup(f))
		return -1;
	fx_arp_learn(f);
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

/* pop the next frame the stack sent (caller frees) */
static struct nf_buf *out_frame(struct fx *f)
{
	return fio_pop(&f->io);
}

/* ---- checksums and hashing --------------------------------------------- */
static void t_cksum_rfc1071(void **state)
{
	static const uint8_t d[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint16_t c = ns_cksum(d, 8);
	const uint8_t *p = (const uint8_t *)&c;
	(void)state;
	/* RFC 1071 1.3: the sum is 0xddf2, its complement 0x220d */
	assert_int_equal(p[0], 0x22);
	assert_int_equal(p[1], 0x0d);
	/* odd length pads with zero */
	assert_int_equal(ns_cksum("\x01", 1), ns_cksum("\x01\x00", 2));
}

static void t_cksum_incremental(void **state)
{
	uint8_t h[20];
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)h;
	uint16_t old;
	(void)state;
	mk_ip(h, ip_be(PEER_IP), ip_be(US_IP), 17, 100, 1234, 0, 64, 0);
	old = ih->tot_len_be;
	ih->tot_len_be = htons(999);
	ih->cksum_be = ns_cksum_update16(ih->cksum_be, old, ih->tot_len_be);
	assert_int_equal(ns_cksum(h, 20), 0);
}

static void t_cksum_chain_odd(void **state)
{
	uint8_t d[101];
	struct nf_buf a, b, c;
	uint32_t i;
	(void)state;
	for (i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 37 + 1);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	a.data = d; a.len = 33; a.seg_next = &b;
	b.data = d + 33; b.len = 41; b.seg_next = &c;
	c.data = d + 74; c.len = 27;
	assert_int_equal(ns_cksum_fold(ns_cksum_chain(0, &a)), ns_cksum(d, 101));
}

static void t_toeplitz_vector(void **state)
{
	/* Microsoft RSS verification suite, IPv4 with TCP ports */
	static const uint8_t key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
		0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
		0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
		0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
	uint8_t in[12] = {66, 9, 149, 187, 161, 142, 100, 80,
			  2794 >> 8, 2794 & 0xff, 1766 >> 8, 1766 & 0xff};
	uint8_t in2[8] = {66, 9, 149, 187, 161, 142, 100, 80};
	(void)state;
	assert_int_equal(ns_toeplitz(key, 40, in, 12), 0x51ccc178);
	assert_int_equal(ns_toeplitz(key, 40, in2, 8), 0x323e8fc2);
}

/* ---- Ethernet ---------------------------------------------------------- */
static void t_eth_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t fr[64];

	memset(fr, 0, sizeof(fr));
	fx_inject(f, fr, 10);                            /* truncated */
	assert_int_equal(CNT(f, drop_eth_short), 1);
	mk_eth(fr, (const uint8_t *)"\x02\x00\x00\x00\x00\x99", peer_mac, 0x0800);
	fx_inject(f, fr, 60);                            /* not our MAC */
	assert_int_equal(CNT(f, drop_eth_dst), 1);
	mk_eth(fr, us_mac, peer_mac, 0x88b5);            /* unknown type */
	fx_inject(f, fr, 60);
	assert_int_equal(CNT(f, drop_eth_type), 1);
	mk_eth(fr, us_mac, peer_mac, 0x86dd);            /* IPv6, version 0 */
	fx_inject(f, fr, 60);
	assert_int_equal(CNT(f, drop_ip6_version), 1);
	/* an IPv6 group MAC (33:33:...) carrying IPv4: not for us */
	mk_eth(fr, (const uint8_t *)"\x33\x33\x00\x00\x00\x01", peer_mac, 0x0800);
	fx_inject(f, fr, 60);
	assert_int_equal(CNT(f, drop_eth_dst), 2);
	assert_int_equal(fx_nout(f), 0);
}

/* ---- ARP --------------------------------------------------------------- */
static uint32_t mk_arp(uint8_t *fr, uint16_t op, uint32_t spa, uint32_t tpa,
		       const uint8_t *dst)
{
	struct ns_arp_hdr *ah;
	memset(fr, 0, 60);
	mk_eth(fr, dst, peer_mac, 0x0806);
	ah = (struct ns_arp_hdr *)(fr + 14);
	ah->htype_be = htons(1);
	ah->ptype_be = htons(0x0800);
	ah->hlen = 6;
	ah->plen = 4;
	ah->op_be = htons(op);
	memcpy(ah->sha, peer_mac, 6);
	ah->spa_be = spa;
	ah->tpa_be = tpa;
	return 60;
}

static void t_arp_reply(void **state)
{
	struct fx *f = *state;
	uint8_t fr[60];
	struct nf_buf *b;
	const struct ns_arp_hdr *ah;
	uint8_t mac[6];

	mk_arp(fr, 1, ip_be("198.18.0.7"), ip_be(US_IP),
	       (const uint8_t *)"\xff\xff\xff\xff\xff\xff");
	fx_inject(f, fr, 60);
	b = out_frame(f);
	assert_non_null(b);
	assert_memory_equal(b->data, peer_mac, 6);
	ah = (const struct ns_arp_hdr *)(b->data + 14);
	assert_int_equal(ntohs(ah->op_be), 2);
	assert_memory_equal(ah->sha, us_mac, 6);
	assert_int_equal(ah->spa_be, ip_be(US_IP));
	assert_int_equal(ah->tpa_be, ip_be("198.18.0.7"));
	assert_memory_equal(ah->tha, peer_mac, 6);
	fio_pool_put(b);
	assert_int_equal(ns_arp_lookup(f->st, ip_be("198.18.0.7"), mac), 0);
	assert_memory_equal(mac, peer_mac, 6);
	assert_int_equal(CNT(f, arp_replies_sent), 2);
}

static void t_arp_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t fr[60];
	struct ns_arp_hdr *ah = (struct ns_arp_hdr *)(fr + 14);

	mk_arp(fr, 1, ip_be("198.18.0.7"), ip_be(US_IP), us_mac);
	fx_inject(f, fr, 14 + 20);                       /* truncated */
	mk_arp(fr, 1, ip_be("198.18.0.7"), ip_be(US_IP), us_mac);
	ah->hlen = 8;                                    /* bad hlen */
	fx_inject(f, fr, 60);
	mk_arp(fr, 9, ip_be("198.18.0.7"), ip_be(US_IP), us_mac);
	fx_inject(f, fr, 60);                            /* bad op */
	assert_int_equal(CNT(f, drop_arp_bad), 3);
	mk_arp(fr, 1, ip_be("198.18.0.7"), ip_be("198.18.0.9"), us_mac);
	fx_inject(f, fr, 60);                            /* not for us */
	assert_int_equal(CNT(f, drop_arp_other), 1);
	assert_int_equal(fx_nout(f), 0);
}

static void t_garp_at_start(void **state)
{
	struct fx g;
	struct ns_config c;
	struct nf_buf *b;
	const struct ns_arp_hdr *ah;
	(void)state;
	fx_default_cfg(&c);
	c.no_garp = 0;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	b = fio_pop(&g.io);
	assert_non_null(b);
	ah = (const struct ns_arp_hdr *)(b->data + 14);
	assert_int_equal(ntohs(ah->op_be), 1);
	assert_int_equal(ah->spa_be, ip_be(US_IP));
	assert_int_equal(ah->tpa_be, ip_be(US_IP));
	fio_pool_put(b);
	fx_teardown(&g);
}

static void t_arp_queue_resolve_and_timeout(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in to;
	uint8_t fr[60];
	struct nf_buf *b;
	int sd = ns_socket(f->st, SOCK_DGRAM), i;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(9);
	to.sin_addr.s_addr = ip_be("198.18.0.50");
	assert_int_equal(ns_sendmsg(f->st, sd, &(struct iovec){"x", 1}, 1, 0, &to), 1);
	b = out_frame(f);                                /* ARP request */
	assert_non_null(b);
	assert_int_equal(b->data[13], 0x06);
	fio_pool_put(b);
	assert_int_equal(fx_nout(f), 0);                 /* datagram waits */
	mk_arp(fr, 2, ip_be("198.18.0.50"), ip_be(US_IP), us_mac);
	fx_inject(f, fr, 60);
	b = out_frame(f);                                /* now it goes */
	assert_non_null(b);
	assert_int_equal(b->data[13], 0x00);
	assert_memory_equal(b->data, peer_mac, 6);
	fio_pool_put(b);
	/* an address that never answers: retries, then the frame drops */
	to.sin_addr.s_addr = ip_be("198.18.0.51");
	ns_sendmsg(f->st, sd, &(struct iovec){"y", 1}, 1, 0, &to);
	for (i = 0; i < 5; i++)
		fx_advance(f, NS_ARP_RETRY_NS);
	assert_int_equal(CNT(f, drop_arp_noreply), 1);
	assert_int_equal(CNT(f, arp_requests_sent), 2 + NS_ARP_RETRIES - 1);
	fio_clear(&f->io);
	ns_close(f->st, sd);
}

static void t_arp_queue_bounded(void **state)
{
	struct fx g;
	struct ns_config c;
	struct sockaddr_in to;
	int sd, i;
	(void)state;
	fx_default_cfg(&c);
	c.arp_queue = 2;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	sd = ns_socket(g.st, SOCK_DGRAM);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(9);
	to.sin_addr.s_addr = ip_be("198.18.0.60");
	for (i = 0; i < 4; i++)
		ns_sendmsg(g.st, sd, &(struct iovec){"z", 1}, 1, 0, &to);
	assert_int_equal(fx_cnt(&g, offsetof(struct ns_counters,
					     drop_arp_queue_full)), 2);
	fx_teardown(&g);                                 /* frees the queue */
}

/* ---- IPv4 -------------------------------------------------------------- */
static uint32_t udp_to_us(uint8_t *fr, uint16_t dport, const char *s)
{
	return mk_udp_frame(fr, ip_be(PEER_IP), ip_be(US_IP), 5000, dport, s,
			    (uint32_t)strlen(s));
}

static void t_ip_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)(fr + 14);
	uint32_t len;

	len = udp_to_us(fr, 53, "hello");
	fx_inject(f, fr, 14 + 10);                       /* truncated */
	assert_int_equal(CNT(f, drop_ip_short), 1);
	ih->ver_ihl = 0x65;                              /* version 6 */
	fx_inject(f, fr, len);
	assert_int_equal(CNT(f, drop_ip_version), 1);
	ih->ver_ihl = 0x44;                              /* IHL < 5 */
	fx_inject(f, fr, len);
	ih->ver_ihl = 0x4f;                              /* IHL past frame */
	fx_inject(f, fr, 14 + 40);
	assert_int_equal(CNT(f, drop_ip_ihl), 2);
	len = udp_to_us(fr, 53, "hello");
	ih->tot_len_be = htons(500);                     /* past the frame */
	fx_inject(f, fr, len);
	ih->tot_len_be = htons(10);                      /* below IHL */
	fx_inject(f, fr, len);
	assert_int_equal(CNT(f, drop_ip_len), 2);
	len = udp_to_us(fr, 53, "hello");
	ih->cksum_be ^= 0x0101;
	fx_inject(f, fr, len);
	assert_int_equal(CNT(f, drop_ip_cksum), 1);
	mk_ip(fr + 14, ip_be(PEER_IP), ip_be(US_IP), 17, 13, 1, 0, 0, 0);
	fx_inject(f, fr, len);                           /* TTL 0 */
	assert_int_equal(CNT(f, drop_ip_ttl), 1);
	mk_ip(fr + 14, ip_be(PEER_IP), ip_be("198.18.0.99"), 17, 13, 1, 0, 64, 0);
	fx_inject(f, fr, len);                           /* not ours */
	assert_int_equal(CNT(f, drop_ip_dst), 1);
	assert_int_equal(fx_nout(f), 0);
}

static void t_ip_options_and_padding(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200], pl[5] = "howdy";
	struct ns_udp_hdr *uh;
	uint32_t o;
	char buf[16];
	struct sockaddr_in a;
	int sd = ns_socket(f->st, SOCK_DGRAM);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	assert_int_equal(ns_bind(f->st, sd, &a), 0);
	/* 8 bytes of IP options (NOPs/zeros) and a frame padded past the
	 * IP total length */
	memset(fr, 0, sizeof(fr));
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 17, 13, 1, 0, 64, 8);
	uh = (struct ns_udp_hdr *)(fr + o);
	uh->sport_be = htons(5000);
	uh->dport_be = htons(53);
	uh->len_be = htons(13);
	memcpy(fr + o + 8, pl, 5);
	uh->cksum_be = 0;                                /* no checksum */
	fx_inject(f, fr, o + 13 + 20);
	assert_int_equal(ns_recv(f->st, sd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "howdy", 5);
	ns_close(f->st, sd);
}

static void t_ip_unknown_proto(void **state)
{
	struct fx *f = *state;
	uint8_t fr[100];
	struct nf_buf *b;
	const struct ns_icmp_hdr *ic;

	memset(fr, 0, sizeof(fr));
	mk_eth(fr, us_mac, peer_mac, 0x0800);
	mk_ip(fr + 14, ip_be(PEER_IP), ip_be(US_IP), 99, 16, 1, 0, 64, 0);
	fx_inject(f, fr, 14 + 36);
	assert_int_equal(CNT(f, drop_ip_proto), 1);
	b = out_frame(f);
	assert_non_null(b);
	ic = (const struct ns_icmp_hdr *)(b->data + 34);
	assert_int_equal(ic->type, 3);
	assert_int_equal(ic->code, 2);
	assert_int_equal(ns_cksum(ic, b->len - 34), 0);
	fio_pool_put(b);
}

/* ---- fragments --------------------------------------------------------- */
static uint32_t mk_frag(uint8_t *fr, uint16_t id, uint16_t off8, int mf,
			const uint8_t *payload, uint32_t len, uint8_t proto)
{
	uint32_t o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), proto, len, id,
		   (uint16_t)(off8 | (mf ? NS_IP4_MF : 0)), 64, 0);
	memcpy(fr + o, payload, len);
	return o + len;
}

/* a UDP datagram of n payload bytes, as IP payload (UDP header first) */
static void mk_udp_payload(uint8_t *p, uint32_t n, uint16_t dport)
{
	struct ns_udp_hdr *uh = (struct ns_udp_hdr *)p;
	uint32_t i;
	for (i = 0; i < n; i++)
		p[8 + i] = (uint8_t)(i * 13);
	uh->sport_be = htons(5000);
	uh->dport_be = htons(dport);
	uh->len_be = htons((uint16_t)(8 + n));
	uh->cksum_be = 0;
	uh->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ip_be(PEER_IP),
			ip_be(US_IP), 17, (uint16_t)(8 + n)), p, 8 + n));
}

static void t_frag_reassembly(void **state)
{
	struct fx *f = *state;
	static uint8_t dg[3008], fr[2000], buf[4000];
	struct sockaddr_in a, from;
	int sd = ns_socket(f->st, SOCK_DGRAM);
	uint32_t i;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7);
	ns_bind(f->st, sd, &a);
	mk_udp_payload(dg, 3000, 7);
	/* three fragments, delivered last, first, middle */
	fx_inject(f, fr, mk_frag(fr, 77, 2000 / 8, 0, dg + 2000, 1008, 17));
	fx_inject(f, fr, mk_frag(fr, 77, 0, 1, dg, 1000, 17));
	assert_int_equal(ns_recv(f->st, sd, buf, sizeof(buf), 0), -EAGAIN);
	fx_inject(f, fr, mk_frag(fr, 77, 1000 / 8, 1, dg + 1000, 1000, 17));
	assert_int_equal(CNT(f, frag_reassembled), 1);
	assert_int_equal(ns_recvmsg(f->st, sd, &(struct iovec){buf, sizeof(buf)},
				    1, 0, &from), 3000);
	for (i = 0; i < 3000; i++)
		assert_int_equal(buf[i], (uint8_t)(i * 13));
	assert_int_equal(ntohs(from.sin_port), 5000);
	assert_int_equal(f->st->reass_used, 0);
	ns_close(f->st, sd);
}

static void t_frag_hostile(void **state)
{
	struct fx *f = *state;
	static uint8_t dg[3008], fr[2000];
	int sd = ns_socket(f->st, SOCK_DGRAM);
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7);
	ns_bind(f->st, sd, &a);
	mk_udp_payload(dg, 3000, 7);
	/* overlapping fragments drop the whole datagram */
	fx_inject(f, fr, mk_frag(fr, 1, 0, 1, dg, 1000, 17));
	fx_inject(f, fr, mk_frag(fr, 1, 992 / 8, 1, dg + 992, 1000, 17));
	assert_int_equal(CNT(f, drop_frag_overlap), 1);
	assert_int_equal(f->st->reass_used, 0);
	/* offset + length past 64 KiB */
	fx_inject(f, fr, mk_frag(fr, 2, 0x1fff, 0, dg, 1000, 17));
	assert_int_equal(CNT(f, drop_frag_too_big), 1);
	/* non-final fragment not a multiple of 8 */
	fx_inject(f, fr, mk_frag(fr, 3, 0, 1, dg, 1001, 17));
	assert_int_equal(CNT(f, drop_ip_len), 1);
	/* TCP fragments are not reassembled */
	fx_inject(f, fr, mk_frag(fr, 4, 0, 1, dg, 1000, 6));
	assert_int_equal(CNT(f, drop_frag_proto), 1);
	/* a last fragment that ends before data already held */
	fx_inject(f, fr, mk_frag(fr, 5, 1000 / 8, 1, dg + 1000, 1000, 17));
	fx_inject(f, fr, mk_frag(fr, 5, 504 / 8, 0, dg + 504, 200, 17));
	assert_int_equal(CNT(f, drop_frag_overlap), 2);
	/* an incomplete datagram times out and frees its buffers */
	fx_inject(f, fr, mk_frag(fr, 6, 0, 1, dg, 1000, 17));
	assert_true(f->st->reass_used > 0);
	fx_advance(f, NS_REASS_TIMEOUT_NS + 1);
	assert_int_equal(CNT(f, drop_frag_timeout), 1);
	assert_int_equal(f->st->reass_used, 0);
	assert_int_equal(fx_nout(f), 0);
	ns_close(f->st, sd);
}

static void t_frag_memory_bound(void **state)
{
	struct fx g;
	struct ns_config c;
	static uint8_t dg[3008], fr[2000];
	uint16_t id;
	(void)state;
	fx_default_cfg(&c);
	c.reass_bytes = 4000;
	c.reass_slots = 2;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	mk_udp_payload(dg, 3000, 7);
	for (id = 10; id < 20; id++)
		fx_inject(&g, fr, mk_frag(fr, id, 0, 1, dg, 1000, 17));
	assert_true(g.st->reass_used <= 4000);
	assert_true(fx_cnt(&g, offsetof(struct ns_counters, drop_frag_nomem)) >= 8);
	fx_teardown(&g);
}

/* ---- ICMP -------------------------------------------------------------- */
static void t_icmp_echo(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	struct ns_icmp_hdr *ic;
	struct nf_buf *b;
	const struct ns_ip4_hdr *ih;
	uint32_t o = mk_eth(fr, us_mac, peer_mac, 0x0800);

	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 8 + 32, 9, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 40);
	ic->type = 8;
	ic->u.echo.id_be = htons(0x1234);
	ic->u.echo.seq_be = htons(7);
	memcpy((uint8_t *)ic + 8, "abcdefghijklmnopqrstuvwxyz012345", 32);
	ic->cksum_be = ns_cksum(ic, 40);
	fx_inject(f, fr, o + 40);
	b = out_frame(f);
	assert_non_null(b);
	ih = (const struct ns_ip4_hdr *)(b->data + 14);
	assert_int_equal(ih->dst_be, ip_be(PEER_IP));
	assert_int_equal(ih->src_be, ip_be(US_IP));
	assert_int_equal(ns_cksum(ih, 20), 0);
	ic = (struct ns_icmp_hdr *)(b->data + 34);
	assert_int_equal(ic->type, 0);
	assert_int_equal(ntohs(ic->u.echo.id_be), 0x1234);
	assert_int_equal(ntohs(ic->u.echo.seq_be), 7);
	assert_memory_equal((uint8_t *)ic + 8, "abcdefghijklmnopqrstuvwxyz012345", 32);
	assert_int_equal(ns_cksum(ic, 40), 0);
	fio_pool_put(b);
	assert_int_equal(CNT(f, icmp_echo_replied), 1);
	/* bad checksum, truncated */
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 8, 9, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 8);
	ic->type = 8;
	ic->cksum_be = 0x5555;
	fx_inject(f, fr, o + 8);
	assert_int_equal(CNT(f, drop_icmp_cksum), 1);
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 4, 9, 0, 64, 0);
	fx_inject(f, fr, o + 4);
	assert_int_equal(CNT(f, drop_icmp_short), 1);
	assert_int_equal(fx_nout(f), 0);
}

/* ---- UDP --------------------------------------------------------------- */
static void t_udp_recv_send(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	char buf[64];
	struct sockaddr_in a, from;
	struct nf_buf *b;
	const struct ns_udp_hdr *uh;
	const struct ns_ip4_hdr *ih;
	int sd = ns_socket(f->st, SOCK_DGRAM);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	assert_int_equal(ns_bind(f->st, sd, &a), 0);
	assert_false(ns_sock_events(f->st, sd) & NS_EV_IN);
	fx_inject(f, fr, udp_to_us(fr, 53, "query"));
	assert_true(ns_sock_events(f->st, sd) & NS_EV_IN);
	assert_int_equal(ns_recvmsg(f->st, sd, &(struct iovec){buf, 3}, 1,
				    MSG_PEEK | MSG_TRUNC, &from), 5);
	assert_int_equal(ns_recvmsg(f->st, sd, &(struct iovec){buf, 64}, 1, 0,
				    &from), 5);
	assert_memory_equal(buf, "query", 5);
	assert_int_equal(from.sin_addr.s_addr, ip_be(PEER_IP));
	assert_int_equal(ntohs(from.sin_port), 5000);
	assert_int_equal(ns_recv(f->st, sd, buf, 64, 0), -EAGAIN);
	assert_int_equal(ns_sendmsg(f->st, sd, &(struct iovec){"answer", 6}, 1, 0,
				    &from), 6);
	b = out_frame(f);
	assert_non_null(b);
	ih = (const struct ns_ip4_hdr *)(b->data + 14);
	uh = (const struct ns_udp_hdr *)(b->data + 34);
	assert_int_equal(ntohs(uh->sport_be), 53);
	assert_int_equal(ntohs(uh->dport_be), 5000);
	assert_int_equal(ntohs(uh->len_be), 14);
	assert_int_equal(ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ih->src_be,
			ih->dst_be, 17, 14), uh, 14)), 0);
	assert_memory_equal(b->data + 42, "answer", 6);
	fio_pool_put(b);
	assert_int_equal(ns_send(f->st, sd, "x", 1, 0), -EDESTADDRREQ);
	ns_close(f->st, sd);
}

static void t_udp_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	struct ns_udp_hdr *uh = (struct ns_udp_hdr *)(fr + 34);
	uint32_t len;
	int sd = ns_socket(f->st, SOCK_DGRAM);
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	ns_bind(f->st, sd, &a);
	len = udp_to_us(fr, 53, "data");
	uh->cksum_be ^= 0xff;
	fx_inject(f, fr, len);
	assert_int_equal(CNT(f, drop_udp_cksum), 1);
	len = udp_to_us(fr, 53, "data");
	uh->len_be = htons(200);                         /* past the datagram */
	fx_inject(f, fr, len);
	uh->len_be = htons(4);                           /* below the header */
	fx_inject(f, fr, len);
	assert_int_equal(CNT(f, drop_udp_short), 2);
	/* IP payload shorter than a UDP header */
	mk_ip(fr + 14, ip_be(PEER_IP), ip_be(US_IP), 17, 4, 1, 0, 64, 0);
	fx_inject(f, fr, 14 + 24);
	assert_int_equal(CNT(f, drop_udp_short), 3);
	assert_int_equal(ns_recv(f->st, sd, fr, 10, 0), -EAGAIN);
	ns_close(f->st, sd);
}

static void t_udp_port_unreachable(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	struct nf_buf *b;
	const struct ns_icmp_hdr *ic;

	fx_inject(f, fr, udp_to_us(fr, 4444, "nobody"));
	assert_int_equal(CNT(f, drop_udp_noport), 1);
	b = out_frame(f);
	assert_non_null(b);
	ic = (const struct ns_icmp_hdr *)(b->data + 34);
	assert_int_equal(ic->type, 3);
	assert_int_equal(ic->code, 3);
	/* quotes our header + 8 bytes */
	assert_int_equal(b->len, 34 + 8 + 20 + 8);
	assert_memory_equal((const uint8_t *)ic + 8, fr + 14, 28);
	fio_pool_put(b);
}

static void t_udp_connected_filter_and_error(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	char buf[16];
	struct sockaddr_in a;
	struct nf_buf *b;
	struct ns_icmp_hdr *ic;
	uint32_t o;
	int sd = ns_socket(f->st, SOCK_DGRAM);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(5000);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, sd, &a), 0);
	ns_getsockname(f->st, sd, &a);
	/* from the peer: accepted; from elsewhere: dropped */
	fx_inject(f, fr, udp_to_us(fr, ntohs(a.sin_port), "ok"));
	mk_udp_frame(fr, ip_be("198.18.0.77"), ip_be(US_IP), 5000,
		     ntohs(a.sin_port), "no", 2);
	fx_inject(f, fr, 14 + 20 + 8 + 2);
	fio_clear(&f->io);
	assert_int_equal(ns_recv(f->st, sd, buf, 16, 0), 2);
	assert_int_equal(ns_recv(f->st, sd, buf, 16, 0), -EAGAIN);
	/* our datagram bounces: ICMP port unreachable -> ECONNREFUSED */
	assert_int_equal(ns_send(f->st, sd, "ping", 4, 0), 4);
	b = out_frame(f);
	assert_non_null(b);
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 8 + 28, 1, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 8);
	ic->type = 3;
	ic->code = 3;
	memcpy(fr + o + 8, b->data + 14, 28);
	ic->cksum_be = ns_cksum(ic, 36);
	fio_pool_put(b);
	fx_inject(f, fr, o + 36);
	assert_true(ns_sock_events(f->st, sd) & NS_EV_ERR);
	assert_int_equal(ns_recv(f->st, sd, buf, 16, 0), -ECONNREFUSED);
	ns_close(f->st, sd);
}

static void t_udp_rcvbuf_limit(void **state)
{
	struct fx g;
	struct ns_config c;
	uint8_t fr[200];
	struct sockaddr_in a;
	int sd, i;
	(void)state;
	fx_default_cfg(&c);
	c.udp_rcvbuf = 100;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	fx_arp_learn(&g);
	sd = ns_socket(g.st, SOCK_DGRAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	ns_bind(g.st, sd, &a);
	for (i = 0; i < 10; i++)
		fx_inject(&g, fr, udp_to_us(fr, 53, "0123456789012345678901234567890"));
	assert_int_equal(fx_cnt(&g, offsetof(struct ns_counters, drop_udp_rcvbuf)), 8);
	fx_teardown(&g);                                 /* frees the queue */
}

static void t_udp_send_fragments(void **state)
{
	struct fx *f = *state;
	static uint8_t big[70000], re[4000];
	struct sockaddr_in a;
	struct nf_buf *b;
	uint32_t i, got = 0, nfr = 0, total = 0;
	uint16_t id = 0;
	int sd = ns_socket(f->st, SOCK_DGRAM);

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(5000);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_sendmsg(f->st, sd, &(struct iovec){big, 65508}, 1, 0,
				    &a), -EMSGSIZE);
	assert_int_equal(ns_sendmsg(f->st, sd, &(struct iovec){big, 3000}, 1, 0,
				    &a), 3000);
	while ((b = fio_pop(&f->io)) != NULL) {
		const struct ns_ip4_hdr *ih = (const struct ns_ip4_hdr *)(b->data + 14);
		uint16_t fr = ntohs(ih->frag_be);
		uint32_t off = (uint32_t)(fr & NS_IP4_OFFMASK) * 8;
		uint32_t n = ntohs(ih->tot_len_be) - 20u;
		assert_int_equal(ns_cksum(ih, 20), 0);
		assert_true(b->len <= 1514);
		if (nfr++ == 0)
			id = ih->id_be;
		assert_int_equal(ih->id_be, id);
		assert_false(fr & NS_IP4_DF);
		if (!(fr & NS_IP4_MF))
			total = off + n;
		assert_true(off + n <= sizeof(re));
		memcpy(re + off, b->data + 34, n);
		got += n;
		fio_pool_put(b);
	}
	assert_int_equal(nfr, 3);
	assert_int_equal(total, 3008);
	assert_int_equal(got, 3008);
	assert_memory_equal(re + 8, big, 3000);
	assert_int_equal(ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ip_be(US_IP),
			ip_be(PEER_IP), 17, 3008), re, 3008)), 0);
	assert_int_equal(ns_sendmsg(f->st, sd, &(struct iovec){big, 1472}, 1, 0,
				    &a), 1472);
	b = fio_pop(&f->io);
	assert_non_null(b);
	assert_int_equal(b->len, 1514);
	fio_pool_put(b);
	ns_close(f->st, sd);
}

static void t_counter_names(void **state)
{
	struct fx *f = *state;
	unsigned i;
	assert_int_equal(ns_counter_count * sizeof(uint64_t),
			 sizeof(struct ns_counters));
	for (i = 0; i < ns_counter_count; i++)
		assert_true(strlen(ns_counter_names[i]) > 0);
	assert_string_equal(ns_counter_names[0], "rx_frames");
	assert_true(CNT(f, rx_frames) >= 1);
}

static void t_init_rejects_bad_config(void **state)
{
	struct ns_config c;
	(void)state;
	fx_default_cfg(&c);
	c.sndbuf = 3000;                                 /* not a power of 2 */
	assert_int_equal(ns_stack_size(&c), 0);
	fx_default_cfg(&c);
	c.max_socks = 0;
	assert_int_equal(ns_stack_size(&c), 0);
	fx_default_cfg(&c);
	assert_true(ns_stack_size(&c) > 16 * 128 * 1024);
	assert_null(ns_stack_init(NULL, 0, &c, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(t_cksum_rfc1071),
		T(t_cksum_incremental),
		T(t_cksum_chain_odd),
		T(t_toeplitz_vector),
		T(t_eth_hostile),
		T(t_arp_reply),
		T(t_arp_hostile),
		T(t_garp_at_start),
		T(t_arp_queue_resolve_and_timeout),
		T(t_arp_queue_bounded),
		T(t_ip_hostile),
		T(t_ip_options_and_padding),
		T(t_ip_unknown_proto),
		T(t_frag_reassembly),
		T(t_frag_hostile),
		T(t_frag_memory_bound),
		T(t_icmp_echo),
		T(t_udp_recv_send),
		T(t_udp_hostile),
		T(t_udp_port_unreachable),
		T(t_udp_connected_filter_and_error),
		T(t_udp_rcvbuf_limit),
		T(t_udp_send_fragments),
		T(t_counter_names),
		T(t_init_rejects_bad_config),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
