/*
 * responder.h: a tiny ARP + ICMP echo responder over one io/ queue, for
 * the io/ integration tests (stack/ is not used: these tests check io/
 * alone). Header-only so each itest binary stays one file.
 *
 * resp_run() polls the queue, sleeping on its wake fd (io/wake.c) when
 * idle, until *stop is set or the deadline passes. kernel_ping() sends one
 * echo request from the kernel's side (raw ICMP socket) and waits for the
 * reply. Frames that are not
 * ARP requests or echo requests for `addr_be` are freed (and counted).
 * Needs root: the itests that use it create network namespaces.
 */
#ifndef TESTS_IO_RESPONDER_H
#define TESTS_IO_RESPONDER_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "io/io.h"

struct resp_stats {
	uint64_t rx, arp_replies, echo_replies, other, tx_fail, sleeps;
	uint64_t rx_ip_good;  /* echo requests io/ flagged IP checksum good */
};

static inline uint64_t resp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint16_t resp_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void resp_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Turn b into the answer in place; 1 if it is to be sent. */
static inline int resp_answer(const struct nf_io_ops *ops, uint32_t addr_be,
			      struct nf_buf *b, struct resp_stats *st)
{
	uint8_t *f = b->data, tmp[6];
	uint32_t len = b->len;

	if (len < 14 || b->seg_next)
		return 0;
	if (resp_rd16(f + 12) == 0x0806 && len >= 42) {
		uint8_t *a = f + 14;

		/* RFC 826: Ethernet/IPv4 request for our address */
		if (resp_rd16(a) != 1 || resp_rd16(a + 2) != 0x0800 ||
		    a[4] != 6 || a[5] != 4 || resp_rd16(a + 6) != 1 ||
		    memcmp(a + 24, &addr_be, 4) != 0)
			return 0;
		resp_wr16(a + 6, 2);
		memcpy(a + 18, a + 8, 6);      /* tha = sha */
		memcpy(a + 24, a + 14, 4);     /* tpa = spa */
		memcpy(a + 8, ops->mac, 6);    /* sha = us */
		memcpy(a + 14, &addr_be, 4);   /* spa = us */
		memcpy(f, f + 6, 6);
		memcpy(f + 6, ops->mac, 6);
		b->len = b->pkt_len = 42;
		b->ol_flags = 0;
		st->arp_replies++;
		return 1;
	}
	if (resp_rd16(f + 12) == 0x0800 && len >= 14 + 20 + 8) {
		uint8_t *ip = f + 14, *ic;
		unsigned ihl = (ip[0] & 0xfu) * 4u, tot = resp_rd16(ip + 2);

		if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl + 8 ||
		    14u + tot > len || ip[9] != 1 ||
		    memcmp(ip + 16, &addr_be, 4) != 0)
			return 0;
		ic = ip + ihl;
		if (ic[0] != 8)
			return 0;
		if (b->ol_flags & NF_RX_IP_CKSUM_GOOD)
			st->rx_ip_good++;
		/* RFC 792: echo reply = request with type 0, addresses
		 * swapped; the IP checksum is left to io/ (NF_TX_IP_CKSUM,
		 * hardware or io/'s software fallback). */
		ic[0] = 0;
		resp_wr16(ic + 2, 0);
		resp_wr16(ic + 2, (uint16_t)~nf_io_cksum_fold(
			nf_io_cksum_add(0, ic, tot - ihl)));
		memcpy(ip + 16, ip + 12, 4);
		memcpy(ip + 12, &addr_be, 4);
		ip[8] = 64;
		resp_wr16(ip + 10, 0xdead);  /* garbage: io/ must fix it */
		memcpy(tmp, f, 6);
		memcpy(f, f + 6, 6);
		memcpy(f + 6, ops->mac, 6);
		(void)tmp;
		b->len = b->pkt_len = 14 + tot;
		b->ol_flags = NF_TX_IP_CKSUM;
		b->l2_len = 14;
		b->l3_len = (uint8_t)ihl;
		st->echo_replies++;
		return 1;
	}
	return 0;
}

/* Answer or free one burst; returns how many frames it had. */
static inline uint16_t resp_burst(struct nf_io_ops *ops, uint32_t addr_be,
				  struct nf_buf **rx, uint16_t n,
				  struct resp_stats *st)
{
	struct nf_buf *tx[32];
	uint16_t i, nt = 0, sent;

	st->rx += n;
	for (i = 0; i < n; i++) {
		if (resp_answer(ops, addr_be, rx[i], st)) {
			tx[nt++] = rx[i];
		} else {
			st->other++;
			ops->free(ops->q, rx[i]);
		}
	}
	sent = nt ? ops->tx_burst(ops->q, tx, nt) : 0;
	for (i = sent; i < nt; i++) {
		st->tx_fail++;
		ops->free(ops->q, tx[i]);
	}
	return n;
}

/* Poll ops until *stop or deadline_ns; sleep on the wake fd when idle. */
static inline void resp_run(struct nf_io_ops *ops, uint32_t addr_be,
			    atomic_int *stop, uint64_t deadline_ns,
			    struct resp_stats *st)
{
	struct nf_buf *rx[32];
	unsigned idle = 0;

	while (!atomic_load(stop) && resp_now_ns() < deadline_ns) {
		uint16_t n = ops->rx_burst(ops->q, rx, 32);

		if (n) {
			resp_burst(ops, addr_be, rx, n, st);
			idle = 0;
			continue;
		}
		if (++idle < 64 || ops->wake_fd < 0)
			continue;
		/* the wake protocol of io/io.h */
		if (ops->wake_arm(ops->q) == 0) {
			struct pollfd p = { .fd = ops->wake_fd,
					    .events = POLLIN };

			n = ops->rx_burst(ops->q, rx, 32);
			if (n == 0) {
				st->sleeps++;
				poll(&p, 1, 100);
			}
			ops->wake_disarm(ops->q);
			if (n)
				resp_burst(ops, addr_be, rx, n, st);
		}
	}
}

/* One echo request from the kernel stack; 0 if the reply came back. */
static inline int kernel_ping(int fd, uint32_t dst_be, uint16_t seq)
{
	uint8_t pkt[64], buf[256];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint64_t end = resp_now_ns() + 1000000000ull;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 8;
	resp_wr16(pkt + 4, 0x4e46);
	resp_wr16(pkt + 6, seq);
	memcpy(pkt + 8, "netfuse io/ itest_tap payload", 29);
	resp_wr16(pkt + 2, (uint16_t)~nf_io_cksum_fold(
		nf_io_cksum_add(0, pkt, sizeof(pkt))));
	sa.sin_addr.s_addr = dst_be;
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	while (resp_now_ns() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		unsigned ihl;

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		ihl = (buf[0] & 0xfu) * 4u;
		if ((size_t)n < ihl + 8 || memcmp(buf + 12, &dst_be, 4))
			continue;
		/* raw sockets see our own request too: want type 0 */
		if (buf[ihl] == 0 && resp_rd16(buf + ihl + 6) == seq &&
		    (size_t)n == ihl + sizeof(pkt) &&
		    memcmp(buf + ihl + 8, pkt + 8, sizeof(pkt) - 8) == 0 &&
		    nf_io_cksum_fold(nf_io_cksum_add(0, buf, ihl)) == 0xffff)
			return 0;
	}
	return -ETIMEDOUT;
}

#endif
