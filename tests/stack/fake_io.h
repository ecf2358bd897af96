/*
 * fake_io.h: an in-memory implementation of struct nf_io_ops for tests
 * and benchmarks (no DPDK). A pool of fixed-size buffers counts what is
 * outstanding (the leak check), tx_burst captures frames in a FIFO the
 * test reads (or a link forwards), and helpers inject raw frames.
 * Header-only (static inline) so tests and bench/ can both include it.
 */
#ifndef NS_TEST_FAKE_IO_H
#define NS_TEST_FAKE_IO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/nf_io.h"

#define FIO_BUF_SIZE 2048
#define FIO_HEADROOM 128

struct fio_pool {
	uint32_t n, nfree;
	struct nf_buf *bufs;
	uint8_t *mem;
	struct nf_buf **free;
};

static inline struct fio_pool *fio_pool_new(uint32_t n)
{
	/* a line of its own: pools of two threads (bench-scale) must not
	 * share their free counts' line */
	struct fio_pool *p = aligned_alloc(64, 64);
	uint32_t i;
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->n = n;
	p->bufs = calloc(n, sizeof(struct nf_buf));
	p->mem = malloc((size_t)n * FIO_BUF_SIZE);
	p->free = calloc(n, sizeof(struct nf_buf *));
	if (!p->bufs || !p->mem || !p->free) {
		free(p->bufs);
		free(p->mem);
		free(p->free);
		free(p);
		return NULL;
	}
	for (i = 0; i < n; i++)
		p->free[i] = &p->bufs[n - 1 - i];
	p->nfree = n;
	return p;
}

static inline void fio_pool_del(struct fio_pool *p)
{
	if (!p)
		return;
	free(p->bufs);
	free(p->mem);
	free(p->free);
	free(p);
}

static inline struct nf_buf *fio_pool_get(struct fio_pool *p)
{
	struct nf_buf *b;
	uint32_t i;
	if (!p->nfree)
		return NULL;
	b = p->free[--p->nfree];
	i = (uint32_t)(b - p->bufs);
	b->len = b->pkt_len = 0;
	b->ol_flags = 0;
	b->rss_hash = 0;
	b->seg_next = b->q_next = NULL;
	b->user = 0;
	b->data = p->mem + (size_t)i * FIO_BUF_SIZE + FIO_HEADROOM;
	b->headroom = FIO_HEADROOM;
	b->tailroom = FIO_BUF_SIZE - FIO_HEADROOM;
	b->io_priv = p;
	return b;
}

static inline void fio_pool_put(struct nf_buf *b)
{
	while (b) {
		struct fio_pool *p = b->io_priv;
		struct nf_buf *n = b->seg_next;
		b->seg_next = NULL;
		if (p && p->nfree < p->n)
			p->free[p->nfree++] = b;
		b = n;
	}
}

/* RFC 1071 sum over bytes, big-endian words; independent of stack/ */
static inline uint32_t fio_sum(uint32_t s, const uint8_t *p, uint32_t n)
{
	uint32_t i;
	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* fill IPv4 and TCP/UDP checksums of a linear frame (offload emulation) */
static inline void fio_fill_cksums(uint8_t *f, uint32_t len, uint32_t flags)
{
	uint8_t *ip = f + 14, *l4;
	uint32_t ihl, tot, s, l4len;
	uint16_t c;
	int at;

	if (len < 34)
		return;
	ihl = (uint32_t)(ip[0] & 0xf) * 4;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	if (14 + tot > len || tot < ihl)
		return;
	if (flags & NF_TX_IP_CKSUM) {
		ip[10] = ip[11] = 0;
		c = (uint16_t)~fio_sum(0, ip, ihl);
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	l4 = ip + ihl;
	l4len = tot - ihl;
	if ((flags & NF_TX_TCP_CKSUM) && ip[9] == 6 && l4len >= 20)
		at = 16;
	else if ((flags & NF_TX_UDP_CKSUM) && ip[9] == 17 && l4len >= 8)
		at = 6;
	else
		return;
	l4[at] = l4[at + 1] = 0;
	s = fio_sum(0, ip + 12, 8) + ip[9] + l4len;
	c = (uint16_t)~fio_sum(s, l4, l4len);
	if (ip[9] == 17 && c == 0)
		c = 0xffff;
	l4[at] = (uint8_t)(c >> 8);
	l4[at + 1] = (uint8_t)c;
}

struct fake_io {
	struct nf_io_ops ops;
	struct fio_pool *pool;
	uint8_t *lin;            /* 64 KiB + headers: GSO linearization */
	uint64_t gso_in, gso_out;
	struct nf_buf **cap;     /* captured tx frames, FIFO */
	uint32_t cap_head, ncap, capmax;
	uint32_t tx_refuse;      /* refuse this many frames per burst (0) */
	uint64_t tx_total;
};

static inline struct nf_buf *fio_alloc_op(void *q)
{
	struct fake_io *io = q;
	return fio_pool_get(io->pool);
}

static inline void fio_free_op(void *q, struct nf_buf *b)
{
	(void)q;
	fio_pool_put(b);
}

static inline void fio_capture(struct fake_io *io, struct nf_buf *b)
{
	io->cap[(io->cap_head + io->ncap) % io->capmax] = b;
	io->ncap++;
	io->tx_total++;
}

/* software GSO, as io/ does for NF_TX_TCP_SEG: cut the chain into
 * tso_segsz-sized TCP segments with fixed-up headers and checksums */
static inline void fio_gso(struct fake_io *io, struct nf_buf *b)
{
	uint32_t tot = 0, hl, off, mss = b->tso_segsz, pay, id;
	uint32_t seq0;
	struct nf_buf *s;
	uint8_t *f = io->lin, fl;

	for (s = b; s; s = s->seg_next) {
		memcpy(f + tot, s->data, s->len);
		tot += s->len;
	}
	fio_pool_put(b);
	hl = 14 + (uint32_t)(f[14] & 0xf) * 4 + (uint32_t)(f[14 + 20 + 12] >> 4) * 4;
	if (tot <= hl || !mss)
		return;
	pay = tot - hl;
	id = (uint32_t)f[18] << 8 | f[19];
	seq0 = (uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 |
	       (uint32_t)f[40] << 8 | f[41];
	fl = f[47];
	io->gso_in++;
	for (off = 0; off < pay; off += mss) {
		uint32_t n = pay - off < mss ? pay - off : mss, seq = seq0 + off;
		uint32_t iplen = hl - 14 + n;
		struct nf_buf *c = fio_pool_get(io->pool);
		uint8_t *d;
		if (!c)
			return;
		d = c->data;
		memcpy(d, f, hl);
		memcpy(d + hl, f + hl + off, n);
		d[16] = (uint8_t)(iplen >> 8);
		d[17] = (uint8_t)iplen;
		d[18] = (uint8_t)((id + off / mss) >> 8);
		d[19] = (uint8_t)(id + off / mss);
		d[38] = (uint8_t)(seq >> 24);
		d[39] = (uint8_t)(seq >> 16);
		d[40] = (uint8_t)(seq >> 8);
		d[41] = (uint8_t)seq;
		if (off + n < pay)
			d[47] = (uint8_t)(fl & ~0x09); /* FIN, PSH: last only */
		c->len = c->pkt_len = hl + n;
		fio_fill_cksums(d, c->len, NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM);
		if (io->ncap < io->capmax)
			fio_capture(io, c);
		else
			fio_pool_put(c);
		io->gso_out++;
	}
}

static inline uint16_t fio_tx_op(void *q, struct nf_buf **bufs, uint16_t n)
{
	struct fake_io *io = q;
	uint16_t i;
	for (i = 0; i < n; i++) {
		struct nf_buf *b = bufs[i];
		if (io->ncap >= io->capmax || (io->tx_refuse && i + io->tx_refuse >= n))
			break;
		if ((b->ol_flags & NF_TX_TCP_SEG) && (io->ops.caps & NF_CAP_TSO)) {
			if (io->capmax - io->ncap < 64)
				break;
			fio_gso(io, b);
			continue;
		}
		if (b->ol_flags & (NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM |
				   NF_TX_UDP_CKSUM))
			fio_fill_cksums(b->data, b->len, b->ol_flags);
		b->ol_flags = 0;
		fio_capture(io, b);
	}
	return i;
}

static inline int fio_init(struct fake_io *io, struct fio_pool *p,
			   const uint8_t mac[6], uint32_t capmax)
{
	memset(io, 0, sizeof(*io));
	io->pool = p;
	io->capmax = capmax;
	io->cap = calloc(capmax, sizeof(struct nf_buf *));
	io->lin = malloc(65536 + 256);
	if (!io->cap || !io->lin)
		return -1;
	io->ops.q = io;
	io->ops.tx_burst = fio_tx_op;
	io->ops.alloc = fio_alloc_op;
	io->ops.free = fio_free_op;
	io->ops.wake_fd = -1;
	io->ops.mtu = 1500;
	io->ops.buf_size = FIO_BUF_SIZE - FIO_HEADROOM;
	memcpy(io->ops.mac, mac, 6);
	return 0;
}

/* oldest captured frame (caller owns it), or NULL */
static inline struct nf_buf *fio_pop(struct fake_io *io)
{
	struct nf_buf *b;
	if (!io->ncap)
		return NULL;
	b = io->cap[io->cap_head];
	io->cap_head = (io->cap_head + 1) % io->capmax;
	io->ncap--;
	return b;
}

static inline void fio_clear(struct fake_io *io)
{
	struct nf_buf *b;
	while ((b = fio_pop(io)) != NULL)
		fio_pool_put(b);
}

static inline void fio_fini(struct fake_io *io)
{
	fio_clear(io);
	free(io->cap);
	free(io->lin);
	io->cap = NULL;
	io->lin = NULL;
}

/* a buffer holding a copy of bytes (for injection) */
static inline struct nf_buf *fio_frame(struct fio_pool *p, const void *bytes,
				       uint32_t len)
{
	struct nf_buf *b = fio_pool_get(p);
	if (!b || len > FIO_BUF_SIZE - FIO_HEADROOM) {
		fio_pool_put(b);
		return NULL;
	}
	memcpy(b->data, bytes, len);
	b->len = b->pkt_len = len;
	return b;
}

#endif
