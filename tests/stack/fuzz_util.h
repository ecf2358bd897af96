/*
 * fuzz_util.h: what every libFuzzer harness of stack/ (tests/stack/fuzz_*.c)
 * shares: a buffer pool and instance memory kept across inputs, the end
 * of an input, and the check that every buffer came back exactly once.
 */
#ifndef NF_TESTS_FUZZ_UTIL_H
#define NF_TESTS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/ns_priv.h"
#include "tests/stack/fake_io.h"

/* The buffer pool and the instance's memory are allocated once and reused
 * by every input (each input still starts from ns_stack_init and must give
 * every buffer back): per-input mmaps of a few MB under ASan made inputs
 * hit -timeout=1 on a loaded machine. */
static inline struct fio_pool *pool_once(uint32_t n)
{
	static struct fio_pool *p;
	if (!p)
		p = fio_pool_new(n);
	return p;
}

/* every buffer back exactly once: a double free shows as a duplicate in
 * the free list (and would hand one buffer out twice in the next input) */
static inline void pool_check(const struct fio_pool *p)
{
	static uint8_t seen[4096];
	uint32_t i;
	if (p->nfree != p->n || p->n > sizeof(seen))
		abort(); /* a buffer leaked */
	memset(seen, 0, p->n);
	for (i = 0; i < p->n; i++) {
		uint32_t k = (uint32_t)(p->free[i] - p->bufs);
		if (k >= p->n || seen[k]++)
			abort(); /* a buffer freed twice */
	}
}

static inline void *mem_once(size_t sz)
{
	static void *m;
	static size_t msz;
	if (!m || msz < sz) {
		free(m);
		msz = (sz + 63) & ~(size_t)63;
		m = aligned_alloc(64, msz);
	}
	return m;
}

/* the end of an input: every socket still open freed (orphans and
 * embryonic children too), the instance finished, every buffer back */
static inline void fuzz_end(struct ns_stack *st, uint32_t max_socks,
			    struct fake_io *io, const struct fio_pool *p)
{
	uint32_t i;
	for (i = 0; i < max_socks; i++)
		if (st->socks[i].type != NS_SOCK_FREE) {
			st->socks[i].sf &= ~SF_ORPHAN;
			st->socks[i].parent = NS_NONE;
			ns_sock_free(st, &st->socks[i]);
		}
	ns_stack_fini(st);
	fio_clear(io);
	pool_check(p);
}

#endif
