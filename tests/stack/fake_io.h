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
	struct fio_pool *p = calloc(1, sizeof(*p));
	uint32_t i;
	if (!p)
		return NULL;
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
	memset(b, 0, sizeof(*b));
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

struct fake_io {
	struct nf_io_ops ops;
	struct fio_pool *pool;
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

static inline uint16_t fio_tx_op(void *q, struct nf_buf **bufs, uint16_t n)
{
	struct fake_io *io = q;
	uint16_t i;
	for (i = 0; i < n; i++) {
		if (io->ncap >= io->capmax || (io->tx_refuse && i + io->tx_refuse >= n))
			break;
		io->cap[(io->cap_head + io->ncap) % io->capmax] = bufs[i];
		io->ncap++;
		io->tx_total++;
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
	if (!io->cap)
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
	io->cap = NULL;
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
