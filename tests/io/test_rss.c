/*
 * test_rss.c: the RSS facts io/ hands stack/ (nf_io_ops.rss_key: the
 * symmetric key 0x6d5a repeated, reta) are the ones NICs use. Checks
 * DPDK's software Toeplitz (rte_softrss, header-only: no EAL, no device)
 * against the Microsoft RSS verification vectors, then that with io/'s
 * key a flow hashes the same in both directions, so replies to outgoing
 * connections land on the queue that sent them. Pure computation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__clang__) && !defined(GCC_VERSION)
#define GCC_VERSION 0  /* see io/io_priv.h */
#endif
#include <rte_thash.h>

#include "io/io.h"

/* Microsoft's "Verifying the RSS Hash Calculation" key and IPv4 vectors:
 * source address/port, destination address/port, hash of the addresses,
 * hash of addresses + TCP ports. */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static const struct {
	uint8_t src[4];
	uint16_t sport;
	uint8_t dst[4];
	uint16_t dport;
	uint32_t h_ip, h_tcp;
} ms_vec[] = {
	{ { 66, 9, 149, 187 }, 2794, { 161, 142, 100, 80 }, 1766,
	  0x323e8fc2, 0x51ccc178 },
	{ { 199, 92, 111, 2 }, 14230, { 65, 69, 140, 83 }, 4739,
	  0xd718262a, 0xc626b0ea },
	{ { 24, 19, 198, 95 }, 12898, { 12, 22, 207, 184 }, 38024,
	  0xd2d0a5de, 0x5c2b394a },
	{ { 38, 27, 205, 30 }, 48228, { 209, 142, 163, 6 }, 2217,
	  0x82989176, 0xafc7327f },
	{ { 153, 39, 163, 191 }, 44251, { 202, 188, 127, 2 }, 1303,
	  0x5d1809c5, 0x10e828a2 },
};

static uint32_t ip4(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	       (uint32_t)a[2] << 8 | a[3];
}

static uint32_t hash4(uint32_t src, uint32_t dst, uint16_t sport,
		      uint16_t dport, const uint8_t *key)
{
	struct rte_ipv4_tuple t;

	memset(&t, 0, sizeof(t));
	t.src_addr = src;
	t.dst_addr = dst;
	t.sport = sport;
	t.dport = dport;
	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key);
}

static void test_microsoft_vectors(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ms_vec) / sizeof(ms_vec[0]); i++) {
		struct rte_ipv4_tuple t;

		memset(&t, 0, sizeof(t));
		t.src_addr = ip4(ms_vec[i].src);
		t.dst_addr = ip4(ms_vec[i].dst);
		assert_int_equal(rte_softrss((uint32_t *)&t,
					     RTE_THASH_V4_L3_LEN, ms_key),
				 ms_vec[i].h_ip);
		assert_int_equal(hash4(ip4(ms_vec[i].src),
				       ip4(ms_vec[i].dst), ms_vec[i].sport,
				       ms_vec[i].dport, ms_key),
				 ms_vec[i].h_tcp);
	}
}

/* io/'s key (io/port.c sym_key): 0x6d, 0x5a repeated. */
static void sym_key(uint8_t k[40])
{
	unsigned i;

	for (i = 0; i < 40; i++)
		k[i] = (i & 1) ? 0x5a : 0x6d;
}

static void test_symmetric_key(void **state)
{
	uint8_t k[40];
	unsigned i, j, distinct = 0;
	static uint32_t seen[4096];

	(void)state;
	sym_key(k);
	srand(11);
	for (i = 0; i < 100000; i++) {
		uint32_t a = (uint32_t)rand() << 1 ^ (uint32_t)rand();
		uint32_t b = (uint32_t)rand() << 1 ^ (uint32_t)rand();
		uint16_t pa = (uint16_t)rand(), pb = (uint16_t)rand();
		uint32_t h = hash4(a, b, pa, pb, k);

		assert_int_equal(h, hash4(b, a, pb, pa, k));
		/* The price of a key with a 16-bit period: the hash depends
		 * only on the XOR of the tuple's 16-bit words, so swapping
		 * just the ports does not change it either. Fine for
		 * steering; stack/ must not rely on it against collisions. */
		assert_int_equal(h, hash4(a, b, pb, pa, k));
	}
	/* still spreads: 4096 source ports give (nearly) 4096 hashes */
	for (i = 0; i < 4096; i++) {
		uint32_t h = hash4(0xc6120001, 0xc6120002, 80,
				   (uint16_t)(40000 + i), k);

		for (j = 0; j < distinct && seen[j] != h; j++)
			;
		if (j == distinct)
			seen[distinct++] = h;
	}
	assert_true(distinct > 4000);
	/* the MS key is not symmetric: the point of using ours */
	assert_int_not_equal(hash4(ip4(ms_vec[0].src), ip4(ms_vec[0].dst),
				   ms_vec[0].sport, ms_vec[0].dport, ms_key),
			     hash4(ip4(ms_vec[0].dst), ip4(ms_vec[0].src),
				   ms_vec[0].dport, ms_vec[0].sport, ms_key));
}

/* With 4 queues and the default round-robin reta io/ reports when the
 * device cannot be queried (reta[i] = i % nb_queues), source ports that
 * hash home exist for every queue, about one in four. */
static void test_ports_spread_over_queues(void **state)
{
	uint8_t k[40];
	unsigned per_q[4] = { 0 }, p, q;
	uint32_t local = 0xc6120002, remote = 0xc6120001;  /* 198.18.0.x */

	(void)state;
	sym_key(k);
	for (p = 32768; p < 32768 + 4096; p++) {
		uint32_t h = hash4(remote, local, 80, (uint16_t)p, k);

		per_q[(h % 128) % 4]++;
	}
	for (q = 0; q < 4; q++)
		assert_true(per_q[q] > 4096 / 4 - 300 &&
			    per_q[q] < 4096 / 4 + 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_microsoft_vectors),
		cmocka_unit_test(test_symmetric_key),
		cmocka_unit_test(test_ports_spread_over_queues),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
