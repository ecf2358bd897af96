/*
 * test_null.c: io/'s data path on DPDK's net_null device, which needs no
 * root, no hugepages and no NIC (--no-huge --no-shconf --no-pci; checked
 * to run as nobody). net_null makes up 64-byte frames on rx and frees
 * whatever it is given on tx, and has no offloads, so every software
 * fallback runs: checksums, GSO for TSO, chains. What went out is read
 * back from the pcapng capture (NETFUSE_PCAP), which tests capture too.
 * Teardown proves every buffer came back to the pool.
 *
 * EAL starts once per process, so all cases share one device (group
 * setup/teardown).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"

static struct nf_io *io;
static struct nf_io_ops *ops;
static char pcap_path[64];
static uint32_t base_in_use;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int setup(void **state)
{
	struct nf_io_config cfg;

	(void)state;
	snprintf(pcap_path, sizeof(pcap_path), "/tmp/nf-test-null-%d.pcapng",
		 (int)getpid());
	setenv("NETFUSE_DEV", "--vdev=net_null0", 1);
	setenv("NETFUSE_QUEUES", "1", 1); /* the one-queue table (auto: 1 per CPU) */
	setenv("NETFUSE_HUGE", "off", 1);
	setenv("NETFUSE_PCAP", pcap_path, 1);
	setenv("NETFUSE_LOG", "error", 1);
	if (nf_io_config_from_env(&cfg) < 0)
		return -1;
	if (nf_io_init(&io, &cfg, 512) < 0)
		return -1;
	ops = nf_io_queue(io, 0);
	base_in_use = nf_io_bufs_in_use(io);
	return ops ? 0 : -1;
}

static int teardown(void **state)
{
	uint32_t leaked = 99;
	int r;

	(void)state;
	r = nf_io_fini(io, &leaked);
	unlink(pcap_path);
	if (r != 0 || leaked != 0) {
		fprintf(stderr, "nf_io_fini: %d, %u buffers leaked\n", r,
			leaked);
		return -1;
	}
	return 0;
}

/* ---- reading the capture back ------------------------------------------ */

struct frame {
	uint8_t d[9100];
	uint32_t len;
};

/* All Enhanced Packet Blocks of the pcapng file, in order. */
static unsigned read_capture(struct frame *f, unsigned max)
{
	static uint8_t buf[1 << 20];
	FILE *fp = fopen(pcap_path, "rb");
	size_t n, off = 0;
	unsigned k = 0;

	if (fp == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	while (off + 12 <= n) {
		uint32_t type, blen;

		memcpy(&type, buf + off, 4);
		memcpy(&blen, buf + off + 4, 4);
		if (blen < 12 || off + blen > n)
			break;
		if (type == 6 && k < max && blen >= 28) {  /* EPB */
			uint32_t cap;

			memcpy(&cap, buf + off + 20, 4);
			if (cap <= sizeof(f[k].d) && 28 + cap <= blen) {
				memcpy(f[k].d, buf + off + 28, cap);
				f[k].len = cap;
				k++;
			}
		}
		off += blen;
	}
	return k;
}

/* ---- frames ---------------------------------------------------------- */

/* Eth + IPv4 + TCP (20 bytes) + payload into b; checksums garbage. */
static void build_tcp(struct nf_buf *b, uint32_t payload, uint8_t seed)
{
	uint8_t *f = b->data;
	uint32_t tot = 20 + 20 + payload, i;

	memset(f, 0, 54);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	wr16(f + 12, 0x0800);
	f[14] = 0x45;
	wr16(f + 16, (uint16_t)tot);
	wr16(f + 18, 0x1000);
	f[20] = 0x40;
	f[22] = 64;
	f[23] = 6;
	wr16(f + 24, 0xbeef);
	memcpy(f + 26, "\xc6\x12\x00\x02\xc6\x12\x00\x01", 8);
	wr16(f + 34, 80);
	wr16(f + 36, 40000);
	f[38] = 0x11;  /* seq 0x11000000 */
	f[46] = 0x50;
	f[47] = 0x18;  /* PSH|ACK */
	wr16(f + 48, 65535);
	wr16(f + 50, 0xdead);
	for (i = 0; i < payload; i++)
		f[54 + i] = (uint8_t)(seed + i);
	b->len = b->pkt_len = 54 + payload;
}

/* Checksums of a received/captured frame verify (RFC 1071: all ones). */
static void assert_sums_ok(const uint8_t *f, uint32_t len)
{
	unsigned tot = rd16(f + 16);
	uint32_t sum;

	assert_true(len >= 14 + tot);
	assert_int_equal(nf_io_cksum_fold(nf_io_cksum_add(0, f + 14, 20)),
			 0xffff);
	sum = nf_io_cksum_add(0, f + 26, 8) + f[23] + (tot - 20);
	sum = nf_io_cksum_add(sum, f + 34, tot - 20);
	assert_int_equal(nf_io_cksum_fold(sum), 0xffff);
}

/* ---- cases ------------------------------------------------------------ */

static void test_ops_table(void **state)
{
	(void)state;
	assert_non_null(ops->rx_burst);
	assert_non_null(ops->tx_burst);
	assert_ptr_equal(nf_io_queue(io, 1), NULL);
	assert_int_equal(nf_io_nb_queues(io), 1);
	assert_int_equal(ops->queue_id, 0);
	assert_int_equal(ops->nb_queues, 1);
	assert_int_equal(ops->rss_key_len, 0);  /* one queue: no RSS */
	assert_int_equal(ops->buf_size, 2048);
	assert_true(ops->mtu >= 1500);
	/* net_null offloads nothing: io/'s software does it all */
	assert_int_equal(ops->caps & NF_CAP_RX_CKSUM, 0);
	assert_true(ops->caps & NF_CAP_TX_IP_CKSUM);
	assert_true(ops->caps & NF_CAP_TX_L4_CKSUM);
	assert_true(ops->caps & NF_CAP_TSO);
	assert_true(ops->caps & NF_CAP_MULTI_SEG);
	assert_true(ops->wake_fd >= 0);  /* the timerfd fallback */
	assert_true(nf_io_startup_ns(io) > nf_io_eal_ns(io));
	assert_true(nf_io_eal_ns(io) > 0);
}

static void test_alloc_free_accounting(void **state)
{
	struct nf_buf *b[300];
	unsigned i;

	(void)state;
	for (i = 0; i < 300; i++) {
		b[i] = ops->alloc(ops->q);
		assert_non_null(b[i]);
		assert_int_equal(b[i]->len, 0);
		assert_int_equal(b[i]->headroom, 128);
		assert_int_equal(b[i]->tailroom, 2048);
		assert_null(b[i]->seg_next);
		b[i]->user = i;
	}
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use + 300);
	for (i = 0; i < 300; i++)
		ops->free(ops->q, b[i]);
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use);
}

static void test_rx_fields(void **state)
{
	struct nf_buf *b[32];
	uint16_t n, i;

	(void)state;
	n = ops->rx_burst(ops->q, b, 32);
	assert_true(n > 0);  /* net_null always has frames */
	for (i = 0; i < n; i++) {
		assert_int_equal(b[i]->len, 64);
		assert_int_equal(b[i]->pkt_len, 64);
		assert_null(b[i]->seg_next);
		assert_int_equal(b[i]->ol_flags & (NF_RX_IP_CKSUM_GOOD |
						   NF_RX_L4_CKSUM_GOOD), 0);
		assert_int_equal(b[i]->headroom, 128);
		assert_int_equal(b[i]->headroom + b[i]->len + b[i]->tailroom,
				 128 + ops->buf_size);
	}
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use + n);
	for (i = 0; i < n; i++)
		ops->free(ops->q, b[i]);
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use);
}

static void test_tx_sw_cksum(void **state)
{
	struct frame *cap = calloc(64, sizeof(*cap));
	const struct nf_io_qstats *st = nf_io_queue_stats(io, 0);
	uint64_t sw0 = st->sw_cksum;
	struct nf_buf *b;
	unsigned n;

	(void)state;
	b = ops->alloc(ops->q);
	assert_non_null(b);
	build_tcp(b, 101, 7);
	b->ol_flags = NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;
	b->l2_len = 14;
	b->l3_len = 20;
	b->l4_len = 20;
	assert_int_equal(ops->tx_burst(ops->q, &b, 1), 1);
	assert_int_equal(st->sw_cksum, sw0 + 1);
	n = read_capture(cap, 64);
	assert_true(n >= 1);
	assert_int_equal(cap[n - 1].len, 54 + 101);
	assert_sums_ok(cap[n - 1].d, cap[n - 1].len);
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use);
	free(cap);
}

static void test_tx_chain(void **state)
{
	struct frame *cap = calloc(64, sizeof(*cap));
	struct nf_buf *h, *p;
	unsigned n, i;

	(void)state;
	h = ops->alloc(ops->q);
	p = ops->alloc(ops->q);
	assert_non_null(h);
	assert_non_null(p);
	build_tcp(h, 0, 0);
	/* 301 payload bytes in a second segment, starting mid-buffer */
	p->data += 17;
	for (i = 0; i < 301; i++)
		p->data[i] = (uint8_t)(i * 3);
	p->len = 301;
	wr16(h->data + 16, 20 + 20 + 301);
	h->seg_next = p;
	h->pkt_len = 54 + 301;
	h->ol_flags = NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;
	h->l2_len = 14;
	h->l3_len = 20;
	h->l4_len = 20;
	assert_int_equal(ops->tx_burst(ops->q, &h, 1), 1);
	n = read_capture(cap, 64);
	assert_true(n >= 1);
	assert_int_equal(cap[n - 1].len, 54 + 301);
	assert_sums_ok(cap[n - 1].d, cap[n - 1].len);
	for (i = 0; i < 301; i++)
		assert_int_equal(cap[n - 1].d[54 + i], (uint8_t)(i * 3));
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use);
	free(cap);
}

/* TSO on a device without it: librte_gso cuts, io/ checksums each. */
static void test_tso_software(void **state)
{
	struct frame *cap = calloc(64, sizeof(*cap));
	const struct nf_io_qstats *st = nf_io_queue_stats(io, 0);
	uint64_t in0 = st->gso_in, out0 = st->gso_out;
	struct nf_buf *h, *p;
	unsigned n0, n, i, off = 0;
	uint32_t seq0 = 0x11000000;

	(void)state;
	n0 = read_capture(cap, 64);
	h = ops->alloc(ops->q);
	p = ops->alloc(ops->q);
	build_tcp(h, 1500, 1);     /* 1500 in the head segment */
	for (i = 0; i < 1100; i++)  /* + 1100 in the second */
		p->data[i] = (uint8_t)(1 + 1500 + i);
	p->len = 1100;
	h->seg_next = p;
	h->pkt_len = h->len + p->len;
	wr16(h->data + 16, 20 + 20 + 2600);
	h->ol_flags = NF_TX_TCP_SEG | NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;
	h->l2_len = 14;
	h->l3_len = 20;
	h->l4_len = 20;
	h->tso_segsz = 1000;
	assert_int_equal(ops->tx_burst(ops->q, &h, 1), 1);
	assert_int_equal(st->gso_in, in0 + 1);
	assert_int_equal(st->gso_out, out0 + 3);
	n = read_capture(cap, 64);
	assert_int_equal(n, n0 + 3);
	for (i = n0; i < n; i++) {
		const uint8_t *f = cap[i].d;
		unsigned pay = rd16(f + 16) - 40, j;
		uint32_t seq = (uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 |
			       (uint32_t)f[40] << 8 | f[41];

		assert_int_equal(pay, i + 1 < n ? 1000 : 600);
		assert_int_equal(cap[i].len, 54 + pay);
		assert_int_equal(seq, seq0 + off);
		assert_sums_ok(f, cap[i].len);
		for (j = 0; j < pay; j++)
			assert_int_equal(f[54 + j], (uint8_t)(1 + off + j));
		off += pay;
	}
	assert_int_equal(off, 2600);
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use);
	free(cap);
}

/* A frame whose data lies outside its buffer: dropped, counted, taken. */
static void test_tx_bad_buffer(void **state)
{
	const struct nf_io_qstats *st = nf_io_queue_stats(io, 0);
	uint64_t bad0 = st->drop_bad_offload;
	struct nf_buf *b[2];

	(void)state;
	b[0] = ops->alloc(ops->q);
	b[1] = ops->alloc(ops->q);
	build_tcp(b[0], 10, 0);
	b[0]->data -= 4096;  /* before the buffer */
	build_tcp(b[1], 10, 0);
	b[1]->ol_flags = NF_TX_IP_CKSUM | NF_TX_UDP_CKSUM; /* wrong proto */
	b[1]->l2_len = 14;
	assert_int_equal(ops->tx_burst(ops->q, b, 2), 2);
	assert_int_equal(st->drop_bad_offload, bad0 + 2);
	assert_int_equal(nf_io_bufs_in_use(io), base_in_use);
}

/* Without rx interrupts the wake fd still fires within 1 ms of arming. */
static void test_wake_timer(void **state)
{
	struct pollfd p = { .fd = ops->wake_fd, .events = POLLIN };
	uint64_t t0, worst = 0;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		t0 = now_ns();
		assert_int_equal(ops->wake_arm(ops->q), 0);
		assert_int_equal(poll(&p, 1, 1000), 1);
		if (now_ns() - t0 > worst)
			worst = now_ns() - t0;
		ops->wake_disarm(ops->q);
		/* disarmed and drained: not readable */
		assert_int_equal(poll(&p, 1, 0), 0);
	}
	printf("wake: worst %.3f ms over 20 sleeps\n", (double)worst / 1e6);
	/* 1 ms target; allow scheduling noise on a shared 2-core box */
	assert_true(worst < 5000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_table),
		cmocka_unit_test(test_alloc_free_accounting),
		cmocka_unit_test(test_rx_fields),
		cmocka_unit_test(test_tx_sw_cksum),
		cmocka_unit_test(test_tx_chain),
		cmocka_unit_test(test_tso_software),
		cmocka_unit_test(test_tx_bad_buffer),
		cmocka_unit_test(test_wake_timer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
