/*
 * test_fuzz.c: a seeded mutation run over the whole input path. An
 * instance with a listener, an established connection (timestamps, SACK,
 * window scale) and a bound UDP socket receives many frames made from
 * valid templates (TCP with options, UDP, ICMP echo and errors, ARP, IP
 * fragments) with random bytes flipped, lengths changed and frames cut;
 * half get their checksums fixed afterwards so the mutation reaches the
 * deeper code. Nothing may crash (run it under ASan/UBSan), every buffer
 * must come back, and the connection must still work afterwards.
 */
#include "tests/stack/fixture.h"

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* recompute IPv4 and L4 checksums of whatever the frame now says */
static void fix_cksums(uint8_t *fr, uint32_t len)
{
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)(fr + 14);
	uint32_t hl, tot;

	if (len < 34 || fr[12] != 0x08 || fr[13] != 0x00)
		return;
	hl = (uint32_t)(ih->ver_ihl & 0xf) * 4;
	if (hl < 20 || 14 + hl > len)
		return;
	ih->cksum_be = 0;
	ih->cksum_be = ns_cksum(ih, hl);
	tot = ntohs(ih->tot_len_be);
	if (tot < hl || 14 + tot > len)
		return;
	if (ntohs(ih->frag_be) & (NS_IP4_MF | NS_IP4_OFFMASK))
		return;
	{
		uint8_t *l4 = fr + 14 + hl;
		uint32_t l4len = tot - hl;
		int off = -1;
		uint16_t c;
		if (ih->proto == 6 && l4len >= 20)
			off = 16;
		else if (ih->proto == 17 && l4len >= 8)
			off = 6;
		else if (ih->proto == 1 && l4len >= 8)
			off = 2;
		if (off < 0)
			return;
		memset(l4 + off, 0, 2);
		if (ih->proto == 1)
			c = ns_cksum(l4, l4len);
		else
			c = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ih->src_be,
				ih->dst_be, ih->proto, (uint16_t)l4len), l4, l4len));
		memcpy(l4 + off, &c, 2);
	}
}

struct tmpl {
	uint8_t b[1600];
	uint32_t len;
};

static uint32_t mk_tcp_tmpl(struct fx *f, uint8_t *fr, uint8_t flags,
			    uint32_t seq, uint32_t ack, const uint8_t *opt,
			    uint32_t optlen, uint32_t dlen)
{
	uint32_t o = mk_eth(fr, us_mac, peer_mac, 0x0800), hl = 20 + optlen;
	struct ns_tcp_hdr *th;
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 6, hl + dlen, 3, 0x4000,
		   64, 0);
	th = (struct ns_tcp_hdr *)(fr + o);
	memset(th, 0, hl + dlen);
	th->sport_be = htons(f->pport);
	th->dport_be = htons(f->lport);
	th->seq_be = htonl(seq);
	th->ack_be = htonl(ack);
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->win_be = htons(1000);
	if (optlen)
		memcpy(th + 1, opt, optlen);
	memset((uint8_t *)th + hl, 'd', dlen);
	return o + hl + dlen;
}

static void t_fuzz(void **state)
{
	static struct tmpl t[10];
	static const uint8_t tsopt[12] = {1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0};
	static const uint8_t sackopt[12] = {1, 1, 5, 10, 0xff, 0xff, 0xff, 0xff,
					    0, 0, 0, 9};
	static const uint8_t synopt[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0,
					   1, 0, 0, 0, 0, 1, 3, 3, 7};
	struct fx *f = *state;
	struct sockaddr_in a;
	uint8_t fr[1600];
	int usd, i, nt = 0;
	char buf[4096];
	struct seg s;

	f->use_ts = f->use_ws = f->use_sack = 1;
	fx_established_passive(f);
	usd = ns_socket(f->st, SOCK_DGRAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	assert_int_equal(ns_bind(f->st, usd, &a), 0);
	/* templates */
	t[nt].len = mk_tcp_tmpl(f, t[nt].b, F_ACK, PEER_ISS + 1, OUR_ISS + 1,
				tsopt, 12, 100); nt++;
	t[nt].len = mk_tcp_tmpl(f, t[nt].b, F_ACK, PEER_ISS + 200, OUR_ISS + 1,
				sackopt, 12, 50); nt++;
	t[nt].len = mk_tcp_tmpl(f, t[nt].b, F_SYN, 12345, 0, synopt, 20, 0); nt++;
	t[nt].len = mk_tcp_tmpl(f, t[nt].b, F_RST | F_ACK, PEER_ISS + 1,
				OUR_ISS + 1, NULL, 0, 0); nt++;
	t[nt].len = mk_tcp_tmpl(f, t[nt].b, F_FIN | F_ACK | NS_TH_URG,
				PEER_ISS + 1, OUR_ISS + 1, tsopt, 12, 10); nt++;
	t[nt].len = mk_udp_frame(t[nt].b, ip_be(PEER_IP), ip_be(US_IP), 9, 53,
				 "abcdefghij", 10); nt++;
	{       /* ICMP echo */
		uint32_t o = mk_eth(t[nt].b, us_mac, peer_mac, 0x0800);
		o += mk_ip(t[nt].b + o, ip_be(PEER_IP), ip_be(US_IP), 1, 24, 1, 0,
			   64, 0);
		memset(t[nt].b + o, 0, 24);
		t[nt].b[o] = 8;
		t[nt].len = o + 24;
		fix_cksums(t[nt].b, t[nt].len);
		nt++;
	}
	{       /* ICMP frag needed quoting our TCP connection */
		uint32_t o = mk_eth(t[nt].b, us_mac, peer_mac, 0x0800);
		uint8_t *p;
		o += mk_ip(t[nt].b + o, ip_be(PEER_IP), ip_be(US_IP), 1, 36, 1, 0,
			   64, 0);
		p = t[nt].b + o;
		memset(p, 0, 36);
		p[0] = 3;
		p[1] = 4;
		p[7] = 0x40;
		mk_ip(p + 8, ip_be(US_IP), ip_be(PEER_IP), 6, 40, 1, 0x4000, 64, 0);
		p[28] = 0; p[29] = 80;
		p[30] = 40000 >> 8; p[31] = 40000 & 0xff;
		t[nt].len = o + 36;
		fix_cksums(t[nt].b, t[nt].len);
		nt++;
	}
	{       /* ARP request */
		struct ns_arp_hdr *ah;
		memset(t[nt].b, 0, 60);
		mk_eth(t[nt].b, us_mac, peer_mac, 0x0806);
		ah = (struct ns_arp_hdr *)(t[nt].b + 14);
		ah->htype_be = htons(1);
		ah->ptype_be = htons(0x0800);
		ah->hlen = 6;
		ah->plen = 4;
		ah->op_be = htons(1);
		memcpy(ah->sha, peer_mac, 6);
		ah->spa_be = ip_be(PEER_IP);
		ah->tpa_be = ip_be(US_IP);
		t[nt].len = 60;
		nt++;
	}
	{       /* UDP first fragment */
		uint32_t o = mk_eth(t[nt].b, us_mac, peer_mac, 0x0800);
		o += mk_ip(t[nt].b + o, ip_be(PEER_IP), ip_be(US_IP), 17, 64, 9,
			   NS_IP4_MF, 64, 0);
		memset(t[nt].b + o, 7, 64);
		t[nt].len = o + 64;
		nt++;
	}
	rng = 0x1234567887654321ull;
	for (i = 0; i < 1000000; i++) {
		const struct tmpl *tp = &t[rnd() % (uint64_t)nt];
		uint32_t len = tp->len, k, nm = 1 + (uint32_t)(rnd() % 4);
		memcpy(fr, tp->b, len);
		for (k = 0; k < nm; k++) {
			uint64_t r = rnd();
			uint32_t pos = (uint32_t)(r >> 8) % len;
			switch (r % 5) {
			case 0: fr[pos] ^= (uint8_t)(1u << (r >> 40) % 8); break;
			case 1: fr[pos] = (uint8_t)(r >> 32); break;
			case 2: len = pos > 0 ? pos : 1; break;     /* cut */
			case 3: if (pos >= 14) fr[pos] = 0; break;
			default: fr[pos] = 0xff; break;
			}
		}
		if (rnd() & 1)
			fix_cksums(fr, len);
		fx_inject(f, fr, len);
		if ((i & 1023) == 0) {
			fx_advance(f, 50 * NS_MS);
			fio_clear(&f->io);
			while (ns_recv(f->st, f->sd, buf, sizeof(buf), 0) > 0)
				;
			while (ns_recv(f->st, usd, buf, sizeof(buf), 0) >= 0)
				;
		}
		if (f->io.ncap > 1000)
			fio_clear(&f->io);
	}
	fio_clear(&f->io);
	/* the instance still works: a fresh connection end to end */
	f->pport = 41000;
	f->use_ts = f->use_ws = f->use_sack = 0;
	f->st->iss_next = OUR_ISS;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	print_message("fuzz: %llu frames in, drops: ip_cksum %llu tcp_cksum %llu "
		      "tcp_opt %llu tcp_off %llu rst_sent %llu\n",
		      (unsigned long long)CNT(f, rx_frames),
		      (unsigned long long)CNT(f, drop_ip_cksum),
		      (unsigned long long)CNT(f, drop_tcp_cksum),
		      (unsigned long long)CNT(f, drop_tcp_opt),
		      (unsigned long long)CNT(f, drop_tcp_off),
		      (unsigned long long)CNT(f, tcp_rst_sent));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_setup(f))
		return -1;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_fuzz, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
