/*
 * sites.c: the set of rewritten syscall sites.
 *
 * The entry path looks up every call's return address here: a hit is a
 * rewritten `syscall`, a miss is some other call that reached address 0
 * (a call through a NULL pointer), which must still crash. zpoline keeps
 * a bitmap over the whole 47-bit address space (16 TiB of reservation);
 * this is an open-addressing hash set sized to the sites actually
 * rewritten (a few thousand), one multiply and usually one probe.
 *
 * Readers take no lock: the table pointer is published with release
 * order, and a full table is replaced, never resized in place; old tables
 * are kept (readers may still be in them), which costs at most as much
 * as the live one. Writers (the rewriter) serialise on a spinlock.
 */
#include <errno.h>
#include <stdatomic.h>

#include "hook/hook_priv.h"

struct site_tab {
	uint64_t mask;        /* slots - 1, slots a power of two */
	uint64_t used;
	_Atomic uintptr_t slot[];
};

static struct site_tab *_Atomic cur;
static atomic_flag wlock = ATOMIC_FLAG_INIT;

static inline uint64_t site_hash(uintptr_t a)
{
	return (uint64_t)a * 0x9e3779b97f4a7c15ull;
}

static struct site_tab *tab_new(uint64_t slots)
{
	size_t len = sizeof(struct site_tab) + slots * sizeof(uintptr_t);
	struct site_tab *t = raw_alloc(len);
	if (!t)
		return 0;
	t->mask = slots - 1;
	t->used = 0;
	return t; /* raw_alloc memory is zeroed */
}

static void tab_put(struct site_tab *t, uintptr_t a)
{
	uint64_t i = site_hash(a) >> 32;
	for (;; i++) {
		uintptr_t v = atomic_load_explicit(&t->slot[i & t->mask],
						   memory_order_relaxed);
		if (v == a)
			return;
		if (v == 0) {
			atomic_store_explicit(&t->slot[i & t->mask], a,
					      memory_order_release);
			t->used++;
			return;
		}
	}
}

int sites_init(void)
{
	if (atomic_load(&cur))
		return 0;
	struct site_tab *t = tab_new(4096);
	if (!t)
		return -ENOMEM;
	atomic_store(&cur, t);
	return 0;
}

int sites_add(uintptr_t ret_addr)
{
	int r = 0;
	while (atomic_flag_test_and_set_explicit(&wlock, memory_order_acquire))
		;
	struct site_tab *t = atomic_load(&cur);
	if ((t->used + 1) * 2 > t->mask + 1) {
		struct site_tab *n = tab_new((t->mask + 1) * 2);
		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		for (uint64_t i = 0; i <= t->mask; i++) {
			uintptr_t v = atomic_load(&t->slot[i]);
			if (v)
				tab_put(n, v);
		}
		atomic_store_explicit(&cur, n, memory_order_release);
		t = n;
	}
	tab_put(t, ret_addr);
out:
	atomic_flag_clear_explicit(&wlock, memory_order_release);
	return r;
}

int sites_contains(uintptr_t a)
{
	struct site_tab *t = atomic_load_explicit(&cur, memory_order_acquire);
	if (__builtin_expect(!t || a == 0, 0))
		return 0; /* 0 marks an empty slot */
	uint64_t i = site_hash(a) >> 32;
	for (;; i++) {
		uintptr_t v = atomic_load_explicit(&t->slot[i & t->mask],
						   memory_order_acquire);
		if (v == a)
			return 1;
		if (v == 0)
			return 0;
	}
}

uint64_t sites_count(void)
{
	struct site_tab *t = atomic_load(&cur);
	return t ? t->used : 0;
}
