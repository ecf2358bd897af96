/*
 * test_cksum.c: io/'s software checksum fallback (io/cksum.c) on fixed
 * bytes: a textbook IPv4 header, fixed TCP and UDP frames whose sums were
 * checked with DPDK's rte_ipv4_udptcp_cksum (an independent
 * implementation, header-only: no EAL), chains split at odd offsets, and
 * hostile frames (truncated, bad IHL, fragments, wrong protocol).
 */
#include <errno.h>
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
#include <rte_ip.h>

#include "io/io.h"

/* Wikipedia's IPv4 header example: checksum 0xb861 */
static const uint8_t ip_hdr_example[20] = {
	0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
};

/* Ethernet + IPv4 198.18.0.2 -> 198.18.0.1 + TCP 80 -> 40000, SYN|ACK
 * with MSS option, and 5 payload bytes (odd length). */
static const uint8_t tcp_frame[14 + 20 + 24 + 5] = {
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x31, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
	0xaa, 0xbb, /* garbage checksum: must be overwritten */
	198, 18, 0, 2, 198, 18, 0, 1,
	0x00, 0x50, 0x9c, 0x40, 0x00, 0x00, 0x10, 0x00,
	0x00, 0x00, 0x20, 0x01, 0x60, 0x12, 0xfa, 0xf0,
	0x12, 0x34, /* pseudo-header sum or garbage: ignored */
	0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
	'h', 'e', 'l', 'l', 'o',
};

/* Ethernet + IPv4 + UDP 53 -> 5353, 4 payload bytes */
static const uint8_t udp_frame[14 + 20 + 8 + 4] = {
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11,
	0x00, 0x00, 198, 18, 0, 2, 198, 19, 255, 254,
	0x00, 0x35, 0x14, 0xe9, 0x00, 0x0c, 0xff, 0xff,
	0xde, 0xad, 0xbe, 0xef,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* DPDK's answer for the L4 checksum of a single-buffer frame. */
static uint16_t dpdk_l4(uint8_t *f)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
	unsigned ihl = (f[14] & 0xf) * 4u;
	uint8_t *l4 = f + 14 + ihl;
	uint8_t save[2];
	unsigned off = f[14 + 9] == 6 ? 16 : 6;
	uint16_t c;

	memcpy(save, l4 + off, 2);
	memset(l4 + off, 0, 2);
	c = rte_ipv4_udptcp_cksum(ip, l4);  /* network order in memory */
	memcpy(l4 + off, save, 2);
	return rte_be_to_cpu_16(c);
}

/* DPDK's answer for the IPv4 header checksum (field taken as zero). */
static uint16_t dpdk_ip(const uint8_t *f)
{
	struct rte_ipv4_hdr h;

	memcpy(&h, f + 14, sizeof(h));
	h.hdr_checksum = 0;
	return rte_be_to_cpu_16(rte_ipv4_cksum(&h));
}

static void test_ip_header_example(void **state)
{
	uint8_t f[14 + 20];
	struct nf_io_seg s = { f, sizeof(f) };

	(void)state;
	memset(f, 0, 14);
	memcpy(f + 14, ip_hdr_example, 20);
	/* only the header: total length says 0x73, frame too short */
	assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_IP_CKSUM, 14), -EINVAL);
	{
		uint8_t big[14 + 0x73];

		memset(big, 0, sizeof(big));
		memcpy(big + 14, ip_hdr_example, 20);
		s.data = big;
		s.len = sizeof(big);
		assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_IP_CKSUM, 14), 0);
		assert_int_equal(rd16(big + 14 + 10), 0xb861);
	}
}

static void test_tcp_fixed(void **state)
{
	uint8_t f[sizeof(tcp_frame)];
	struct nf_io_seg s = { f, sizeof(f) };

	(void)state;
	memcpy(f, tcp_frame, sizeof(f));
	assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_IP_CKSUM |
					NF_TX_TCP_CKSUM, 14), 0);
	/* the header checksums to all-ones, and matches DPDK */
	assert_int_equal(nf_io_cksum_fold(nf_io_cksum_add(0, f + 14, 20)),
			 0xffff);
	assert_int_equal(rd16(f + 24), dpdk_ip(f));
	assert_int_equal(rd16(f + 34 + 16), dpdk_l4(f));
	/* a receiver's verification: pseudo-header + segment = 0xffff */
	{
		uint32_t sum = nf_io_cksum_add(0, f + 26, 8) + 6 + 29;

		sum = nf_io_cksum_add(sum, f + 34, 29);
		assert_int_equal(nf_io_cksum_fold(sum), 0xffff);
	}
	/* the fixed expected values (computed once, cross-checked above) */
	assert_int_equal(rd16(f + 24), 0x9c6b);
	assert_int_equal(rd16(f + 34 + 16), 0x0095);
}

static void test_udp_fixed(void **state)
{
	uint8_t f[sizeof(udp_frame)];
	struct nf_io_seg s = { f, sizeof(f) };

	(void)state;
	memcpy(f, udp_frame, sizeof(f));
	assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_UDP_CKSUM, 14), 0);
	assert_int_equal(rd16(f + 24), 0);  /* IP sum not asked for */
	assert_int_equal(rd16(f + 34 + 6), dpdk_l4(f));
	assert_int_not_equal(rd16(f + 34 + 6), 0);
}

/* UDP: a sum of zero is sent as 0xffff (RFC 768). Find a payload that
 * sums to zero by adjusting two bytes. */
static void test_udp_zero_becomes_ffff(void **state)
{
	uint8_t f[sizeof(udp_frame)];
	struct nf_io_seg s = { f, sizeof(f) };
	unsigned v;

	(void)state;
	for (v = 0; v < 0x10000; v++) {
		memcpy(f, udp_frame, sizeof(f));
		f[42] = (uint8_t)(v >> 8);
		f[43] = (uint8_t)v;
		if (dpdk_l4(f) == 0xffff || dpdk_l4(f) == 0)
			break;
	}
	assert_true(v < 0x10000);
	assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_UDP_CKSUM, 14), 0);
	assert_int_equal(rd16(f + 40), 0xffff);
}

/* Chains: every split point, including odd ones inside the L4 area,
 * gives the single-buffer answer. */
static void test_tcp_chain_splits(void **state)
{
	uint8_t want[sizeof(tcp_frame)];
	struct nf_io_seg one = { want, sizeof(want) };
	unsigned cut, cut2;

	(void)state;
	memcpy(want, tcp_frame, sizeof(want));
	assert_int_equal(nf_io_sw_cksum(&one, 1, NF_TX_IP_CKSUM |
					NF_TX_TCP_CKSUM, 14), 0);
	for (cut = 14 + 20 + 20; cut < sizeof(tcp_frame); cut++) {
		for (cut2 = cut; cut2 <= sizeof(tcp_frame); cut2++) {
			uint8_t a[64], b[64], c[64];
			struct nf_io_seg s[3] = {
				{ a, cut },
				{ b, cut2 - cut },
				{ c, (uint32_t)sizeof(tcp_frame) - cut2 },
			};

			memcpy(a, tcp_frame, cut);
			memcpy(b, tcp_frame + cut, cut2 - cut);
			memcpy(c, tcp_frame + cut2, sizeof(tcp_frame) - cut2);
			assert_int_equal(nf_io_sw_cksum(s, 3, NF_TX_IP_CKSUM |
							NF_TX_TCP_CKSUM, 14), 0);
			assert_memory_equal(a, want, cut);
		}
	}
}

/* Random frames against DPDK, including trailing Ethernet padding. */
static void test_random_vs_dpdk(void **state)
{
	unsigned i;

	(void)state;
	srand(7);
	for (i = 0; i < 2000; i++) {
		uint8_t f[14 + 20 + 20 + 300 + 8];
		unsigned pay = (unsigned)rand() % 300, j;
		int tcp = rand() & 1;
		unsigned l4h = tcp ? 20 : 8, tot = 20 + l4h + pay;
		struct nf_io_seg s = { f, 14 + tot + (unsigned)(rand() % 8) };

		for (j = 0; j < sizeof(f); j++)
			f[j] = (uint8_t)rand();
		f[12] = 0x08;
		f[13] = 0x00;
		f[14] = 0x45;
		f[16] = (uint8_t)(tot >> 8);
		f[17] = (uint8_t)tot;
		f[20] = 0x40;  /* DF, offset 0 */
		f[21] = 0;
		f[23] = tcp ? 6 : 17;
		if (!tcp) {
			f[38] = (uint8_t)((8 + pay) >> 8);
			f[39] = (uint8_t)(8 + pay);
		}
		assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_IP_CKSUM |
				 (tcp ? NF_TX_TCP_CKSUM : NF_TX_UDP_CKSUM),
				 14), 0);
		assert_int_equal(rd16(f + 24), dpdk_ip(f));
		if (tcp || dpdk_l4(f) != 0)
			assert_int_equal(rd16(f + 34 + (tcp ? 16 : 6)),
					 dpdk_l4(f));
	}
}

static void test_hostile(void **state)
{
	uint8_t f[sizeof(tcp_frame)];
	struct nf_io_seg s = { f, sizeof(f) };
	const uint32_t both = NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;

	(void)state;
	/* truncated below Ethernet + IPv4 */
	memcpy(f, tcp_frame, sizeof(f));
	s.len = 30;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* IHL 4 (16 bytes) */
	s.len = sizeof(f);
	f[14] = 0x44;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* IHL 15 runs past the data */
	f[14] = 0x4f;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* IPv6 version nibble */
	f[14] = 0x65;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* total length larger than the frame */
	memcpy(f, tcp_frame, sizeof(f));
	f[16] = 0x05;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* total length smaller than IP + TCP headers */
	memcpy(f, tcp_frame, sizeof(f));
	f[17] = 30;
	f[16] = 0;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* UDP asked for a TCP frame */
	memcpy(f, tcp_frame, sizeof(f));
	assert_int_equal(nf_io_sw_cksum(&s, 1, NF_TX_UDP_CKSUM, 14), -EINVAL);
	/* a fragment has no L4 checksum to fill */
	f[20] = 0x20;  /* MF */
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* no segments, NULL data */
	assert_int_equal(nf_io_sw_cksum(&s, 0, both, 14), -EINVAL);
	s.data = NULL;
	assert_int_equal(nf_io_sw_cksum(&s, 1, both, 14), -EINVAL);
	/* TCP header not in the first segment */
	{
		uint8_t a[40], b[64];
		struct nf_io_seg two[2] = { { a, 40 },
			{ b, (uint32_t)sizeof(tcp_frame) - 40 } };

		memcpy(a, tcp_frame, 40);
		memcpy(b, tcp_frame + 40, sizeof(tcp_frame) - 40);
		assert_int_equal(nf_io_sw_cksum(two, 2, both, 14), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_header_example),
		cmocka_unit_test(test_tcp_fixed),
		cmocka_unit_test(test_udp_fixed),
		cmocka_unit_test(test_udp_zero_becomes_ffff),
		cmocka_unit_test(test_tcp_chain_splits),
		cmocka_unit_test(test_random_vs_dpdk),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
