/*
 * test_secure.c: the stack's unpredictable numbers (issue 17, RFC 6528).
 *
 *   - SipHash-2-4 gives the paper's reference output;
 *   - ISN = 4 us clock + SipHash(4-tuple) under a key from the embedder's
 *     secret: two stacks with different secrets started at the same
 *     instant give unrelated ISNs for one 4-tuple; one secret gives the
 *     same; for one 4-tuple the ISN moves with the clock only;
 *   - ISNs of connections to neighbouring ports show no structure: every
 *     bit is set in about half of 4096 neighbours, and no difference
 *     between neighbours repeats more than chance allows.
 *   - bind(0)'s ports are fresh keyed draws (RFC 6056 algorithm 1),
 *     IPv4 IDs outside connections come from keyed per-destination
 *     counters (RFC 7739 5.3).
 * (SYN cookie rotation: tests/stack/test_tcp_open.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/ns_priv.h"
#include "tests/stack/fake_io.h"
#include <sys/socket.h>
#include <netinet/in.h>

static void t_siphash_reference(void **state)
{
	uint8_t key[16], msg[15];
	int i;
	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* SipHash paper, appendix A */
	assert_true(ns_siphash(key, msg, 15) == 0xa129ca6149be45e5ull);
	/* and the empty message, from the reference implementation's
	 * vectors.h (first entry) */
	assert_true(ns_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ull);
}

struct stk {
	struct fio_pool *pool;
	struct fake_io io;
	void *mem;
	struct ns_stack *st;
};

static void stk_up(struct stk *k, const uint8_t secret[16], uint64_t seed,
		   uint64_t now)
{
	struct ns_config c;
	size_t sz;
	ns_config_default(&c);
	c.ip_be = 0x020012c6; /* 198.18.0.2 */
	c.prefix_len = 24;
	c.max_socks = 8;
	c.sndbuf = c.rcvbuf = 4096;
	c.no_garp = 1;
	c.seed = seed;
	memcpy(c.secret, secret, 16);
	k->pool = fio_pool_new(256);
	assert_non_null(k->pool);
	{
		static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
		assert_int_equal(fio_init(&k->io, k->pool, mac, 64), 0);
	}
	sz = ns_stack_size(&c);
	k->mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	assert_non_null(k->mem);
	k->st = ns_stack_init(k->mem, sz, &c, &k->io.ops, now);
	assert_non_null(k->st);
}

static void stk_down(struct stk *k)
{
	ns_stack_fini(k->st);
	fio_fini(&k->io);
	free(k->mem);
	fio_pool_del(k->pool);
}

static const uint32_t LIP = 0x020012c6, RIP = 0x010012c6;

/* the ISN of an IPv4 4-tuple */
static uint32_t iss4(struct ns_stack *st, uint32_t l_be, uint16_t lp_be,
		     uint32_t r_be, uint16_t rp_be)
{
	union ns_in46 l, r;
	ns_in46_set4(&l, l_be);
	ns_in46_set4(&r, r_be);
	return ns_tcp_iss(st, &l, lp_be, &r, rp_be);
}

static void t_isn_keyed(void **state)
{
	uint8_t s1[16], s2[16];
	struct stk a, b, c;
	uint32_t ia, ib, ic, ia2;
	(void)state;
	memset(s1, 0x11, 16);
	memset(s2, 0x11, 16);
	s2[15] = 0x12; /* one bit apart */
	/* the same instant, the same seed (pid and clock): only the
	 * secret differs */
	stk_up(&a, s1, 42, 1000000000ull);
	stk_up(&b, s2, 42, 1000000000ull);
	stk_up(&c, s1, 43, 1000000000ull);
	ia = iss4(a.st, LIP, 0x3412, RIP, 0x5000);
	ib = iss4(b.st, LIP, 0x3412, RIP, 0x5000);
	ic = iss4(c.st, LIP, 0x3412, RIP, 0x5000);
	assert_int_not_equal(ia, ib);
	assert_int_equal(ia, ic); /* the secret decides, not the seed */
	/* later, the same 4-tuple: the clock's advance (4 us ticks) */
	a.st->now += 400000000ull; /* 0.4 s */
	ia2 = iss4(a.st, LIP, 0x3412, RIP, 0x5000);
	assert_int_equal(ia2 - ia, 100000u);
	stk_down(&a);
	stk_down(&b);
	stk_down(&c);
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static void t_isn_neighbours_unstructured(void **state)
{
	enum { N = 4096 };
	uint8_t sec[16];
	struct stk a;
	uint32_t *isn = malloc(N * sizeof(uint32_t)),
		 *d = malloc(N * sizeof(uint32_t));
	int i, bit, run = 1, maxrun = 1;
	(void)state;
	assert_non_null(isn);
	assert_non_null(d);
	for (i = 0; i < 16; i++)
		sec[i] = (uint8_t)(i * 37 + 5);
	stk_up(&a, sec, 1, 5000000000ull);
	for (i = 0; i < N; i++) {
		uint16_t p = (uint16_t)(40000 + i);
		isn[i] = iss4(a.st, LIP, (uint16_t)(p << 8 | p >> 8), RIP,
				    0x5000);
	}
	/* each bit set in about half: 4096 fair coins give 2048 +- 32
	 * (sd); allow 6 sd */
	for (bit = 0; bit < 32; bit++) {
		int ones = 0;
		for (i = 0; i < N; i++)
			ones += (int)(isn[i] >> bit & 1);
		assert_in_range(ones, 2048 - 192, 2048 + 192);
	}
	/* differences between neighbours: as many distinct as random
	 * 32-bit values give (a linear or clock-like ISN repeats one) */
	for (i = 0; i + 1 < N; i++)
		d[i] = isn[i + 1] - isn[i];
	qsort(d, N - 1, sizeof(uint32_t), cmp_u32);
	for (i = 1; i < N - 1; i++) {
		run = d[i] == d[i - 1] ? run + 1 : 1;
		if (run > maxrun)
			maxrun = run;
	}
	assert_true(maxrun <= 2);
	stk_down(&a);
	free(isn);
	free(d);
}

/* RFC 6056 algorithm 3: connect's ports to one destination step by
 * one; to another destination they start somewhere unrelated */
static void t_ports_keyed_per_destination(void **state)
{
	uint8_t sec[16];
	struct stk a;
	struct sockaddr_in d1, d2;
	uint16_t p1[4], p2;
	int i, sd;
	(void)state;
	memset(sec, 0x5a, 16);
	stk_up(&a, sec, 7, 1000000000ull);
	memset(&d1, 0, sizeof(d1));
	d1.sin_family = AF_INET;
	d1.sin_addr.s_addr = RIP;
	d1.sin_port = 0x5000;
	d2 = d1;
	d2.sin_port = 0x5100;
	for (i = 0; i < 4; i++) {
		struct sockaddr_in l;
		sd = ns_socket(a.st, SOCK_STREAM);
		assert_true(sd >= 0);
		(void)ns_connect(a.st, sd, &d1);
		assert_int_equal(ns_getsockname(a.st, sd, &l), 0);
		p1[i] = ns_ntohs(l.sin_port);
		assert_true(p1[i] >= NS_EPHEMERAL_LO && p1[i] <= NS_EPHEMERAL_HI);
		if (i) /* the next port, or round from HI to LO */
			assert_true(p1[i] == p1[i - 1] + 1 ||
				    (p1[i - 1] == NS_EPHEMERAL_HI &&
				     p1[i] == NS_EPHEMERAL_LO));
	}
	{
		struct sockaddr_in l;
		sd = ns_socket(a.st, SOCK_STREAM);
		(void)ns_connect(a.st, sd, &d2);
		assert_int_equal(ns_getsockname(a.st, sd, &l), 0);
		p2 = ns_ntohs(l.sin_port);
	}
	/* not the next in line: another destination's offset (a 1 in
	 * 28232 chance of landing there anyway) */
	assert_int_not_equal(p2, (uint16_t)(p1[3] + 1));
	stk_down(&a);
}

/* the first ephemeral port bind(0) gives on a fresh stack */
static uint16_t first_bind0(const uint8_t sec[16], uint64_t seed)
{
	struct stk a;
	struct sockaddr_in l = { .sin_family = AF_INET };
	uint16_t p;
	int sd;
	stk_up(&a, sec, seed, 1000000000ull);
	sd = ns_socket(a.st, SOCK_DGRAM);
	assert_true(sd >= 0);
	assert_int_equal(ns_bind(a.st, sd, &l), 0);
	assert_int_equal(ns_getsockname(a.st, sd, &l), 0);
	p = ns_ntohs(l.sin_port);
	stk_down(&a);
	return p;
}

/* RFC 6056 algorithm 1 for bind(0) and UDP: each port is a fresh draw
 * from a keyed generator, not the next of a counter; the secret decides
 * (two stacks started with the same seed, as two processes in the same
 * nanosecond with the same pid would have had, differ) */
static void t_bind0_ports_unpredictable(void **state)
{
	enum { N = 64 };
	uint8_t sec[16], s2[16];
	struct stk a;
	uint16_t p[N];
	int i, steps_of_one = 0, sd;
	(void)state;
	memset(sec, 0x33, 16);
	stk_up(&a, sec, 9, 1000000000ull);
	for (i = 0; i < N; i++) {
		struct sockaddr_in l = { .sin_family = AF_INET };
		sd = ns_socket(a.st, i & 1 ? SOCK_STREAM : SOCK_DGRAM);
		assert_true(sd >= 0);
		assert_int_equal(ns_bind(a.st, sd, &l), 0);
		assert_int_equal(ns_getsockname(a.st, sd, &l), 0);
		p[i] = ns_ntohs(l.sin_port);
		assert_true(p[i] >= NS_EPHEMERAL_LO && p[i] <= NS_EPHEMERAL_HI);
		if (i && (uint16_t)(p[i] - p[i - 1]) == 1)
			steps_of_one++;
		if (i && (i & 7) == 7) { /* stay within max_socks (8) */
			int k;
			for (k = 0; k < 8; k++)
				(void)ns_close(a.st, k);
		}
	}
	/* a counter steps by one every time; 63 draws from 28232 ports
	 * land on the next port by chance about 0.002 times */
	assert_true(steps_of_one <= 1);
	stk_down(&a);
	memcpy(s2, sec, 16);
	s2[0] ^= 1;
	assert_int_equal(first_bind0(sec, 9), first_bind0(sec, 77));
	assert_int_not_equal(first_bind0(sec, 9), first_bind0(s2, 9));
}

/* the IPv4 ID of the next datagram to dst (sent and captured) */
static uint16_t udp_id_to(struct stk *k, int sd, uint32_t dst_be)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = 0x3500,
				  .sin_addr.s_addr = dst_be };
	struct iovec v = { (void *)"x", 1 };
	struct nf_buf *b;
	uint16_t id;
	assert_int_equal(ns_sendmsg(k->st, sd, &v, 1, 0, &to), 1);
	b = fio_pop(&k->io);
	assert_non_null(b);
	/* Ethernet 14 + IPv4 ID at 4 */
	id = (uint16_t)(b->data[14 + 4] << 8 | b->data[14 + 5]);
	assert_true(b->data[14 + 16] == (uint8_t)dst_be); /* to dst */
	fio_pool_put(b);
	return id;
}

/* RFC 7739 5.3: IDs of datagrams outside connections come from hashed
 * counters: one destination sees its own IDs step by one however much
 * is sent to others in between (no global counter to read our traffic
 * from), and another destination's IDs start somewhere unrelated */
static void t_ip_ids_per_destination(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	uint8_t sec[16];
	struct stk a;
	uint32_t da = 0x090012c6, db = 0x0a0012c6; /* 198.18.0.9, .10 */
	uint16_t ia0, ia1, ib0;
	int sd, i;
	(void)state;
	memset(sec, 0x44, 16);
	stk_up(&a, sec, 1, 1000000000ull);
	ns_arp_learn(a.st, da, mac);
	ns_arp_learn(a.st, db, mac);
	sd = ns_socket(a.st, SOCK_DGRAM);
	assert_true(sd >= 0);
	ia0 = udp_id_to(&a, sd, da);
	ib0 = udp_id_to(&a, sd, db);
	for (i = 0; i < 20; i++)
		(void)udp_id_to(&a, sd, db);
	ia1 = udp_id_to(&a, sd, da);
	assert_int_equal((uint16_t)(ia1 - ia0), 1);
	/* with this secret the two destinations use different counters
	 * (checked: a shared one would step ia by 22) and offsets */
	assert_true((uint16_t)(ib0 - ia0) > 64 &&
		    (uint16_t)(ia0 - ib0) > 64);
	stk_down(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_siphash_reference),
		cmocka_unit_test(t_isn_keyed),
		cmocka_unit_test(t_isn_neighbours_unstructured),
		cmocka_unit_test(t_ports_keyed_per_destination),
		cmocka_unit_test(t_bind0_ports_unpredictable),
		cmocka_unit_test(t_ip_ids_per_destination),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
