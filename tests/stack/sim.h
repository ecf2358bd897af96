/*
 * sim.h: a seeded network simulation of two stack instances in one
 * process (smoltcp's netsim idea). Frames leave each instance through a
 * fake io and cross a simulated wire with loss, duplication, reordering
 * and delay; a fake clock jumps from event to event. Used by test_sim.c
 * and bench/bench_stack.c (there with a perfect wire).
 */
#ifndef NS_TEST_SIM_H
#define NS_TEST_SIM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "stack/stack.h"
#include "tests/stack/fake_io.h"

struct sim_frame {
	struct nf_buf *b;
	uint64_t t;
	uint64_t order;
};

struct sim_wire {
	struct sim_frame *q;
	uint32_t n, cap;
};

struct sim_node {
	struct fio_pool *pool;
	struct fake_io io;
	void *mem;
	struct ns_stack *st;
};

struct sim {
	struct sim_node node[2];
	struct sim_wire wire[2];      /* wire[i]: frames towards node i */
	uint64_t now;
	uint64_t rng;
	uint64_t order;
	/* impairments, in parts per million */
	uint32_t loss_ppm, dup_ppm, reorder_ppm;
	uint64_t delay_ns, jitter_ns;
	uint64_t delivered, lost, duplicated;
	uint64_t oversize;            /* frames past the 1500-byte MTU */
	uint32_t caps;                /* io capabilities, set before sim_init */
	int ip6;                      /* set before sim_init: 2001:2::1, ::2 */
};

static inline uint64_t sim_rand(struct sim *s)
{
	uint64_t x = s->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return x;
}

static inline int sim_node_init(struct sim_node *n, const struct ns_config *c,
				const uint8_t mac[6], uint32_t nbufs,
				uint64_t now, uint32_t caps)
{
	size_t sz = ns_stack_size(c);
	n->pool = fio_pool_new(nbufs);
	if (!n->pool || fio_init(&n->io, n->pool, mac, nbufs) || !sz)
		return -1;
	n->io.ops.caps = caps;
	n->mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (!n->mem)
		return -1;
	n->st = ns_stack_init(n->mem, sz, c, &n->io.ops, now);
	return n->st ? 0 : -1;
}

/* both nodes in 198.18.0.0/24: .1 and .2 */
static inline int sim_init(struct sim *s, uint64_t seed, uint32_t sockets,
			   uint32_t bufsz, uint32_t nbufs)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
	struct ns_config c;
	int i;

	uint32_t caps = s->caps;
	int ip6 = s->ip6;

	memset(s, 0, sizeof(*s));
	s->caps = caps;
	s->ip6 = ip6;
	s->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	s->now = 1000000000ull;
	s->delay_ns = 500000;
	for (i = 0; i < 2; i++) {
		ns_config_default(&c);
		c.ip_be = htonl(0xc6120001u + (uint32_t)i);
		c.prefix_len = 24;
		c.max_socks = sockets;
		c.sndbuf = bufsz;
		c.rcvbuf = bufsz;
		c.time_wait_ms = 1000;
		c.seed = seed * 31 + (uint64_t)i;
		if (ip6) {
			static const uint8_t a6[16] = { 0x20, 0x01, 0, 2 };
			memcpy(c.ip6, a6, 16);
			c.ip6[15] = (uint8_t)(1 + i);
			c.prefix6_len = 64;
		}
		if (sim_node_init(&s->node[i], &c, mac[i], nbufs, s->now,
				  s->caps))
			return -1;
		s->wire[i].cap = nbufs * 2;
		s->wire[i].q = calloc(s->wire[i].cap, sizeof(struct sim_frame));
		if (!s->wire[i].q)
			return -1;
	}
	return 0;
}

static inline int sim_before(const struct sim_frame *a,
			     const struct sim_frame *b)
{
	return a->t < b->t || (a->t == b->t && a->order < b->order);
}

/* the wire is a binary min-heap on (time, order) */
static inline void sim_wire_put(struct sim *s, int to, struct nf_buf *b,
				uint64_t t)
{
	struct sim_wire *w = &s->wire[to];
	uint32_t i;
	if (w->n == w->cap) {
		fio_pool_put(b);
		s->lost++;
		return;
	}
	i = w->n++;
	w->q[i].b = b;
	w->q[i].t = t;
	w->q[i].order = s->order++;
	while (i && sim_before(&w->q[i], &w->q[(i - 1) / 2])) {
		struct sim_frame tmp = w->q[i];
		w->q[i] = w->q[(i - 1) / 2];
		w->q[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static inline struct nf_buf *sim_wire_pop(struct sim_wire *w)
{
	struct nf_buf *b = w->q[0].b;
	uint32_t i = 0;
	w->q[0] = w->q[--w->n];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		struct sim_frame tmp;
		if (l < w->n && sim_before(&w->q[l], &w->q[m]))
			m = l;
		if (r < w->n && sim_before(&w->q[r], &w->q[m]))
			m = r;
		if (m == i)
			break;
		tmp = w->q[i];
		w->q[i] = w->q[m];
		w->q[m] = tmp;
		i = m;
	}
	return b;
}

/* move what each node sent onto the wire, applying impairments */
static inline void sim_collect(struct sim *s)
{
	int i;
	for (i = 0; i < 2; i++) {
		struct nf_buf *b;
		while ((b = fio_pop(&s->node[i].io)) != NULL) {
			uint64_t t = s->now + s->delay_ns;
			if (b->pkt_len > 1514 || b->seg_next)
				s->oversize++;
			if (s->jitter_ns)
				t += sim_rand(s) % s->jitter_ns;
			if (s->loss_ppm && sim_rand(s) % 1000000 < s->loss_ppm) {
				fio_pool_put(b);
				s->lost++;
				continue;
			}
			if (s->reorder_ppm && sim_rand(s) % 1000000 < s->reorder_ppm)
				t += s->delay_ns * 3;
			if (s->dup_ppm && sim_rand(s) % 1000000 < s->dup_ppm) {
				struct nf_buf *d = fio_frame(s->node[i].pool,
							     b->data, b->len);
				if (d) {
					s->duplicated++;
					sim_wire_put(s, 1 - i, d, t + 1000);
				}
			}
			sim_wire_put(s, 1 - i, b, t);
		}
	}
}

/* earliest pending wire delivery */
static inline uint64_t sim_wire_next(struct sim *s)
{
	uint64_t m = UINT64_MAX;
	int k;
	for (k = 0; k < 2; k++)
		if (s->wire[k].n && s->wire[k].q[0].t < m)
			m = s->wire[k].q[0].t;
	return m;
}

/* deliver due frames (in arrival order) and poll both nodes; returns the
 * earliest next event */
static inline uint64_t sim_step(struct sim *s)
{
	uint64_t next = UINT64_MAX, d;
	int k;

	sim_collect(s);
	for (k = 0; k < 2; k++) {
		struct sim_wire *w = &s->wire[k];
		struct nf_buf *batch[32];
		uint16_t n = 0;
		while (n < 32 && w->n && w->q[0].t <= s->now)
			batch[n++] = sim_wire_pop(w);
		s->delivered += n;
		d = ns_stack_poll(s->node[k].st, batch, n, s->now);
		if (d < next)
			next = d;
	}
	sim_collect(s);
	d = sim_wire_next(s);
	if (d < next)
		next = d;
	return next;
}

static inline void sim_fini(struct sim *s)
{
	int k;
	uint32_t i;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < s->wire[k].n; i++)
			fio_pool_put(s->wire[k].q[i].b);
		s->wire[k].n = 0;
		free(s->wire[k].q);
	}
	for (k = 0; k < 2; k++) {
		if (s->node[k].st)
			ns_stack_fini(s->node[k].st);
		fio_clear(&s->node[k].io);
	}
}

/* buffers still out of both pools (0 when nothing leaked) */
static inline uint32_t sim_outstanding(struct sim *s)
{
	return (s->node[0].pool->n - s->node[0].pool->nfree) +
	       (s->node[1].pool->n - s->node[1].pool->nfree);
}

static inline void sim_free(struct sim *s)
{
	int k;
	for (k = 0; k < 2; k++) {
		fio_fini(&s->node[k].io);
		fio_pool_del(s->node[k].pool);
		free(s->node[k].mem);
	}
}

/* ---- a checked byte stream each way (test_sock_move, test_tcp6) ---- */
static inline uint8_t sim_pat(uint64_t i, int dir)
{
	return (uint8_t)((i * 2654435761u) >> (dir ? 13 : 7));
}

struct sim_flow { uint64_t sent, rcvd, total; int dir; };

/* send what tx still has, read and check what came for rx; -1 on a
 * wrong byte */
static inline int sim_pump(struct ns_stack *st, int sd, struct sim_flow *tx,
			   struct sim_flow *rx)
{
	uint8_t buf[8192];
	ssize_t n;
	size_t i, k;
	while (tx->sent < tx->total) {
		size_t want = tx->total - tx->sent < sizeof(buf) ?
			      (size_t)(tx->total - tx->sent) : sizeof(buf);
		for (i = 0; i < want; i++)
			buf[i] = sim_pat(tx->sent + i, tx->dir);
		n = ns_send(st, sd, buf, want, 0);
		if (n <= 0)
			break;
		tx->sent += (uint64_t)n;
	}
	while ((n = ns_recv(st, sd, buf, sizeof(buf), 0)) > 0) {
		for (k = 0; k < (size_t)n; k++)
			if (buf[k] != sim_pat(rx->rcvd + k, rx->dir))
				return -1;
		rx->rcvd += (uint64_t)n;
	}
	return 0;
}

#endif
