/*
 * fixture.h: test fixture for stack/ unit tests. One instance ("us",
 * 198.18.0.2) on a fake io; the test plays the peer (198.18.0.1). Frame
 * builders for every protocol, a parser for what the stack sent, a fake
 * clock, and a TCP fixture that puts a connection in a given state with
 * sequence numbers relative to ISNs just below 2^32.
 */
#ifndef NS_TEST_FIXTURE_H
#define NS_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include "stack/ns_priv.h"
#include "tests/stack/fake_io.h"

#define US_IP   "198.18.0.2"
#define PEER_IP "198.18.0.1"
static const uint8_t us_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

#define OUR_ISS  0xfffffff0u   /* just below 2^32: wraps after 16 bytes */
#define PEER_ISS 0xfffffffau

static inline uint32_t ip_be(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

struct fx {
	struct fio_pool *pool;
	struct fake_io io;
	void *mem;
	struct ns_stack *st;
	struct ns_config cfg;
	uint64_t now;
	/* TCP */
	int lsd, sd;
	uint16_t lport, pport;        /* host order */
	uint32_t our_iss, peer_iss;
	int use_ts, use_ws, use_sack;
	uint8_t peer_ws;
	uint16_t peer_mss;
	uint32_t peer_tsval;
	uint32_t last_tsval;          /* our last TSval seen */
	/* fx_batch_begin() .. fx_batch_end(): frames injected in between
	 * reach the stack in one ns_stack_poll(), as one rx burst would */
	int batching;
	uint16_t nheld;
	struct nf_buf *held[32];
};

static inline int fx_setup_cfg(struct fx *f, const struct ns_config *c)
{
	size_t sz;
	memset(f, 0, sizeof(*f));
	f->pool = fio_pool_new(4096);
	if (!f->pool)
		return -1;
	if (fio_init(&f->io, f->pool, us_mac, 4096))
		return -1;
	f->cfg = *c;
	sz = ns_stack_size(c);
	if (!sz)
		return -1;
	f->mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (!f->mem)
		return -1;
	f->now = 1000 * NS_MS;
	f->st = ns_stack_init(f->mem, sz, c, &f->io.ops, f->now);
	if (!f->st)
		return -1;
	f->lsd = f->sd = -1;
	return 0;
}

static inline void fx_default_cfg(struct ns_config *c)
{
	ns_config_default(c);
	c->ip_be = ip_be(US_IP);
	c->prefix_len = 24;
	c->max_socks = 16;
	c->sndbuf = 64 * 1024;
	c->rcvbuf = 64 * 1024;
	c->no_garp = 1;
	c->time_wait_ms = 1000;
}

static inline int fx_setup(struct fx *f)
{
	struct ns_config c;
	fx_default_cfg(&c);
	return fx_setup_cfg(f, &c);
}

/* teardown with the buffer-leak check */
static inline void fx_teardown(struct fx *f)
{
	uint32_t i;
	if (f->st) {
		/* release every socket so held buffers return */
		for (i = 0; i < f->cfg.max_socks; i++) {
			struct ns_sock *so = &f->st->socks[i];
			if (so->type != NS_SOCK_FREE) {
				so->sf &= ~SF_ORPHAN;
				so->parent = NS_NONE;
				ns_sock_free(f->st, so);
			}
		}
		ns_stack_fini(f->st);
	}
	fio_clear(&f->io);
	assert_int_equal(f->pool->nfree, f->pool->n); /* no leaked buffer */
	fio_fini(&f->io);
	fio_pool_del(f->pool);
	free(f->mem);
}

static inline uint64_t fx_poll(struct fx *f, struct nf_buf *b)
{
	return ns_stack_poll(f->st, b ? &b : NULL, b ? 1 : 0, f->now);
}

static inline void fx_advance(struct fx *f, uint64_t ns)
{
	f->now += ns;
	fx_poll(f, NULL);
}

static inline uint64_t fx_cnt(struct fx *f, size_t off)
{
	return *(const uint64_t *)((const uint8_t *)ns_stack_counters(f->st) + off);
}
#define CNT(f, name) fx_cnt(f, offsetof(struct ns_counters, name))

/* ---- frame builders ---------------------------------------------------- */
static inline uint32_t mk_eth(uint8_t *p, const uint8_t *dst,
			      const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = (uint8_t)(type >> 8);
	p[13] = (uint8_t)type;
	return 14;
}

/* IPv4 header (20 bytes + optlen of zeros) with checksum */
static inline uint32_t mk_ip(uint8_t *p, uint32_t src, uint32_t dst,
			     uint8_t proto, uint32_t l4len, uint16_t id,
			     uint16_t frag, uint8_t ttl, uint32_t optlen)
{
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)p;
	uint32_t hl = 20 + optlen;
	memset(p, 0, hl);
	ih->ver_ihl = (uint8_t)(0x40 | (hl / 4));
	ih->tot_len_be = htons((uint16_t)(hl + l4len));
	ih->id_be = htons(id);
	ih->frag_be = htons(frag);
	ih->ttl = ttl;
	ih->proto = proto;
	ih->src_be = src;
	ih->dst_be = dst;
	ih->cksum_be = ns_cksum(ih, hl);
	return hl;
}

/* whole UDP frame; returns its length */
static inline uint32_t mk_udp_frame(uint8_t *f, uint32_t src, uint32_t dst,
				    uint16_t sport, uint16_t dport,
				    const void *data, uint32_t len)
{
	uint32_t o = mk_eth(f, us_mac, peer_mac, 0x0800);
	struct ns_udp_hdr *uh;
	o += mk_ip(f + o, src, dst, 17, 8 + len, 1, 0, 64, 0);
	uh = (struct ns_udp_hdr *)(f + o);
	uh->sport_be = htons(sport);
	uh->dport_be = htons(dport);
	uh->len_be = htons((uint16_t)(8 + len));
	uh->cksum_be = 0;
	memcpy(f + o + 8, data, len);
	uh->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(src, dst, 17,
			(uint16_t)(8 + len)), uh, 8 + len));
	if (!uh->cksum_be)
		uh->cksum_be = 0xffff;
	return o + 8 + len;
}

static inline void fx_inject(struct fx *f, const void *bytes, uint32_t len)
{
	struct nf_buf *b = fio_frame(f->pool, bytes, len);
	assert_non_null(b);
	if (f->batching) {
		assert_true(f->nheld < 32);
		f->held[f->nheld++] = b;
		return;
	}
	fx_poll(f, b);
}

static inline void fx_batch_begin(struct fx *f)
{
	f->batching = 1;
	f->nheld = 0;
}

static inline void fx_batch_end(struct fx *f)
{
	f->batching = 0;
	ns_stack_poll(f->st, f->held, f->nheld, f->now);
	f->nheld = 0;
}

/* teach the stack the peer's MAC (an ARP request for us) and drop the
 * reply it sends */
static inline void fx_arp_learn(struct fx *f)
{
	uint8_t fr[60];
	struct ns_arp_hdr *ah;
	memset(fr, 0, sizeof(fr));
	mk_eth(fr, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", peer_mac, 0x0806);
	ah = (struct ns_arp_hdr *)(fr + 14);
	ah->htype_be = htons(1);
	ah->ptype_be = htons(0x0800);
	ah->hlen = 6;
	ah->plen = 4;
	ah->op_be = htons(1);
	memcpy(ah->sha, peer_mac, 6);
	ah->spa_be = ip_be(PEER_IP);
	ah->tpa_be = ip_be(US_IP);
	fx_inject(f, fr, sizeof(fr));
	fio_clear(&f->io);
}

/* ---- TCP segments ------------------------------------------------------ */
struct seg {
	uint8_t flags;
	uint32_t seq, ack;           /* absolute */
	uint32_t srel, arel;         /* relative: seq - our_iss, ack - peer_iss */
	uint32_t win;                /* raw field */
	uint32_t len;
	uint8_t data[2048];
	uint16_t mss;
	int has_mss, has_ws, sack_ok, has_ts;
	uint8_t ws;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];         /* relative to peer_iss */
	uint16_t sport, dport;
	uint32_t src, dst;
};

/* build and inject a TCP segment from the peer. seq relative to the peer
 * ISN, ack relative to our ISN. opts: extra option bytes (may be NULL). */
static inline void fx_tcp_raw(struct fx *f, uint8_t flags, uint32_t seq,
			      uint32_t ack, uint16_t win, const void *data,
			      uint32_t len, const uint8_t *opts, uint32_t optlen)
{
	uint8_t fr[2048];
	uint32_t o = mk_eth(fr, us_mac, peer_mac, 0x0800), ipo = o;
	struct ns_tcp_hdr *th;
	uint32_t hl = 20 + ((optlen + 3) & ~3u);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 6, hl + len, 7, 0x4000,
		   64, 0);
	th = (struct ns_tcp_hdr *)(fr + o);
	memset(th, 0, hl);
	th->sport_be = htons(f->pport);
	th->dport_be = htons(f->lport);
	th->seq_be = htonl(seq);
	th->ack_be = htonl(ack);
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->win_be = htons(win);
	if (optlen)
		memcpy(th + 1, opts, optlen);
	if (len)
		memcpy((uint8_t *)th + hl, data, len);
	th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(
		ip_be(PEER_IP), ip_be(US_IP), 6, (uint16_t)(hl + len)), th, hl + len));
	(void)ipo;
	fx_inject(f, fr, o + hl + len);
}

/* a segment with the options the fixture negotiated (timestamps) */
static inline void fx_tcp(struct fx *f, uint8_t flags, uint32_t seq_rel,
			  uint32_t ack_rel, uint16_t win, const void *data,
			  uint32_t len)
{
	uint8_t o[40];
	uint32_t n = 0;
	if (flags & NS_TH_SYN) {
		o[n++] = 2; o[n++] = 4;
		o[n++] = (uint8_t)(f->peer_mss >> 8); o[n++] = (uint8_t)f->peer_mss;
		if (f->use_sack) { o[n++] = 4; o[n++] = 2; }
		if (f->use_ws) { o[n++] = 1; o[n++] = 3; o[n++] = 3; o[n++] = f->peer_ws; }
	}
	if (f->use_ts) {
		uint32_t v = htonl(f->peer_tsval), e = htonl(f->last_tsval);
		o[n++] = 1; o[n++] = 1; o[n++] = 8; o[n++] = 10;
		memcpy(o + n, &v, 4);
		memcpy(o + n + 4, &e, 4);
		n += 8;
	}
	while (n & 3)
		o[n++] = 0;
	fx_tcp_raw(f, flags, f->peer_iss + seq_rel, f->our_iss + ack_rel, win,
		   data, len, o, n);
}

/* pop what the stack sent; 1 if a TCP segment was parsed into *s */
static inline int fx_out(struct fx *f, struct seg *s)
{
	struct nf_buf *b;
	while ((b = fio_pop(&f->io)) != NULL) {
		const uint8_t *p = b->data;
		const struct ns_ip4_hdr *ih;
		const struct ns_tcp_hdr *th;
		uint32_t hl, tl, tot, i;
		if (b->len < 14 + 20 || p[12] != 0x08 || p[13] != 0x00) {
			fio_pool_put(b);
			continue;
		}
		ih = (const struct ns_ip4_hdr *)(p + 14);
		hl = (uint32_t)(ih->ver_ihl & 0xf) * 4;
		if (ih->proto != 6) {
			fio_pool_put(b);
			continue;
		}
		tot = ntohs(ih->tot_len_be);
		assert_int_equal(ns_cksum(ih, hl), 0);
		th = (const struct ns_tcp_hdr *)(p + 14 + hl);
		tl = (uint32_t)(th->off >> 4) * 4;
		/* the checksum the stack computed must verify */
		assert_int_equal(ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(
			ih->src_be, ih->dst_be, 6, (uint16_t)(tot - hl)), th,
			tot - hl)), 0);
		memset(s, 0, sizeof(*s));
		s->flags = th->flags;
		s->seq = ntohl(th->seq_be);
		s->ack = ntohl(th->ack_be);
		s->srel = s->seq - f->our_iss;
		s->arel = s->ack - f->peer_iss;
		s->win = ntohs(th->win_be);
		s->len = tot - hl - tl;
		s->sport = ntohs(th->sport_be);
		s->dport = ntohs(th->dport_be);
		s->src = ih->src_be;
		s->dst = ih->dst_be;
		memcpy(s->data, (const uint8_t *)th + tl, s->len);
		for (i = 20; i < tl;) {
			const uint8_t *o = (const uint8_t *)th + i;
			if (o[0] == 0)
				break;
			if (o[0] == 1) {
				i++;
				continue;
			}
			if (o[0] == 2) { s->has_mss = 1; s->mss = (uint16_t)(o[2] << 8 | o[3]); }
			if (o[0] == 3) { s->has_ws = 1; s->ws = o[2]; }
			if (o[0] == 4) s->sack_ok = 1;
			if (o[0] == 8) {
				uint32_t v, e;
				memcpy(&v, o + 2, 4);
				memcpy(&e, o + 6, 4);
				s->has_ts = 1;
				s->tsval = ntohl(v);
				s->tsecr = ntohl(e);
				f->last_tsval = s->tsval;
			}
			if (o[0] == 5) {
				int k;
				s->nsack = (o[1] - 2) / 8;
				for (k = 0; k < s->nsack && k < 4; k++) {
					uint32_t a, z;
					memcpy(&a, o + 2 + 8 * k, 4);
					memcpy(&z, o + 6 + 8 * k, 4);
					s->sack[k][0] = ntohl(a) - f->peer_iss;
					s->sack[k][1] = ntohl(z) - f->peer_iss;
				}
			}
			i += o[1];
		}
		fio_pool_put(b);
		return 1;
	}
	return 0;
}

static inline int fx_nout(struct fx *f)
{
	return (int)f->io.ncap;
}

#define F_SYN NS_TH_SYN
#define F_ACK NS_TH_ACK
#define F_FIN NS_TH_FIN
#define F_RST NS_TH_RST
#define F_PSH NS_TH_PSH

static inline void fx_tcp_base(struct fx *f)
{
	f->lport = 80;
	f->pport = 40000;
	f->our_iss = OUR_ISS;
	f->peer_iss = PEER_ISS;
	if (!f->peer_mss)
		f->peer_mss = 1460;
	f->peer_tsval = 100;
	f->st->iss_next_set = 1;
	f->st->iss_next = OUR_ISS;
	fx_arp_learn(f);
}

/* passive open up to ESTABLISHED; f->sd is the accepted socket */
static inline void fx_established_passive(struct fx *f)
{
	struct sockaddr_in a;
	struct seg s;
	fx_tcp_base(f);
	f->lsd = ns_socket(f->st, SOCK_STREAM);
	assert_true(f->lsd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(f->lport);
	assert_int_equal(ns_bind(f->st, f->lsd, &a), 0);
	assert_int_equal(ns_listen(f->st, f->lsd, 8), 0);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.seq, f->our_iss);
	assert_int_equal(s.arel, 1);
	fx_tcp(f, F_ACK, 1, 1, 65535 >> (f->use_ws ? f->peer_ws : 0), NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_int_equal(f->st->socks[f->sd].tcb.state, NS_TCPS_ESTABLISHED);
	assert_int_equal(fx_nout(f), 0);
}

/* active open up to ESTABLISHED; f->sd is the connecting socket */
static inline void fx_established_active(struct fx *f)
{
	struct sockaddr_in a;
	struct seg s;
	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	assert_true(f->sd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(f->lport);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EINPROGRESS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN);
	assert_int_equal(s.seq, f->our_iss);
	/* the peer's view: swap ports */
	f->pport = f->lport;
	f->lport = s.sport;
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 1);
	assert_int_equal(f->st->socks[f->sd].tcb.state, NS_TCPS_ESTABLISHED);
	assert_int_equal(ns_connect(f->st, f->sd, &a), 0);
}

static inline struct ns_tcb *fx_tcb(struct fx *f)
{
	return &f->st->socks[f->sd].tcb;
}

#endif
