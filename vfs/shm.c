/*
 * shm.c: the memory a netfuse process shares with the processes it forks,
 * and the locks that live in it (docs/DESIGN.md, "Processes").
 *
 * Everything vfs/ keeps about a socket or an epoll set that another
 * process may use after fork (vfs objects, listener replica tables, epoll
 * interest lists, the instances with their sd tables, the waiters) comes
 * from one arena: an anonymous MAP_SHARED mapping made before the first
 * object, so a fork child sees it at the same address, and both see each
 * other's writes. The stacks' own memory is MAP_SHARED too (inst.c), and
 * DPDK's (hugepages, or --no-huge's memfd) already is. What stays private
 * is what is per process in Linux too: the fd table (fdtab.c), thread
 * state, the counters of vfs_g.
 *
 * The arena is address space until used (MAP_NORESERVE): a bump
 * allocator with one free list per power-of-two size class; a block's
 * first 64 bytes hold its class, so blocks stay 64-byte aligned. Its lock
 * and every lock in it are process-shared and robust: a process killed
 * while holding one (SIGKILL in the middle of a call) hands it to the next
 * taker with EOWNERDEAD, which marks it consistent and goes on (the state
 * it guards may be half updated by the dead process; the other processes
 * keep serving, which is what the issue asks of a crash).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vfs/vfs_priv.h"

#define ARENA_SIZE (1ull << 30)
#define HDR 64u
#define NCLASS 32

struct arena {
	pthread_mutex_t lock;
	size_t used;              /* bump offset from the arena's start */
	void *free[NCLASS];       /* per class: blocks given back */
	int live[3];              /* vfs objects per kind (tests, stats) */
	void *free_obj[3];        /* type-stable vfs objects (fdtab.c) */
};

static struct arena *arena;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

void vfs_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

void vfs_mutex_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) == EOWNERDEAD)
		pthread_mutex_consistent(m);
}

int vfs_mutex_trylock(pthread_mutex_t *m)
{
	int r = pthread_mutex_trylock(m);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(m);
		r = 0;
	}
	return r;
}

static void arena_make(void)
{
	void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		vfs_log(0, "cannot map %llu MiB of shared address space for "
			"vfs/'s objects: every socket stays on the kernel stack",
			ARENA_SIZE >> 20);
		return;
	}
	arena = p;
	vfs_mutex_init(&arena->lock);
	arena->used = (sizeof(*arena) + HDR - 1) & ~(size_t)(HDR - 1);
}

static struct arena *get_arena(void)
{
	(void)pthread_once(&arena_once, arena_make);
	return arena;
}

int vfs_shm_ready(void)
{
	return get_arena() != NULL;
}

static unsigned size_class(size_t n)
{
	unsigned c = 6; /* 64 bytes */
	while (((size_t)1 << c) < n + HDR && c < NCLASS - 1)
		c++;
	return c;
}

void *vfs_shm_alloc(size_t n)
{
	struct arena *a = get_arena();
	unsigned c;
	char *b;
	size_t sz;
	if (!a || n > ARENA_SIZE / 4)
		return NULL;
	c = size_class(n);
	sz = (size_t)1 << c;
	int fresh = 0;
	vfs_mutex_lock(&a->lock);
	b = a->free[c];
	if (b) {
		a->free[c] = *(void **)(b + HDR);
	} else if (a->used + sz <= ARENA_SIZE) {
		b = (char *)a + a->used;
		a->used += sz;
		fresh = 1; /* never used: zero, and no page touched yet */
	}
	vfs_mutex_unlock(&a->lock);
	if (!b)
		return NULL;
	*(unsigned *)b = c;
	if (!fresh)
		memset(b + HDR, 0, sz - HDR);
	return b + HDR;
}

void vfs_shm_free(void *p)
{
	struct arena *a = arena;
	char *b;
	unsigned c;
	if (!p || !a)
		return;
	b = (char *)p - HDR;
	c = *(unsigned *)b;
	vfs_mutex_lock(&a->lock);
	*(void **)p = a->free[c];
	a->free[c] = b;
	vfs_mutex_unlock(&a->lock);
}

/* Type-stable vfs objects: a racing lookup that lost against a close may
 * still touch an object's counter, so they go back to a list of their
 * kind, never to the size classes. */
struct vfs_obj *vfs_shm_obj_get(int kind, size_t size)
{
	struct arena *a = get_arena();
	struct vfs_obj *o;
	if (!a)
		return NULL;
	vfs_mutex_lock(&a->lock);
	o = a->free_obj[kind];
	if (o)
		a->free_obj[kind] = o->free_next;
	a->live[kind]++;
	vfs_mutex_unlock(&a->lock);
	if (!o) {
		o = vfs_shm_alloc(size); /* zeroed, whole cache lines */
		if (!o) {
			vfs_mutex_lock(&a->lock);
			a->live[kind]--;
			vfs_mutex_unlock(&a->lock);
		}
	}
	return o;
}

void vfs_shm_obj_put(struct vfs_obj *o)
{
	struct arena *a = arena;
	vfs_mutex_lock(&a->lock);
	o->free_next = a->free_obj[o->kind];
	a->free_obj[o->kind] = o;
	a->live[o->kind]--;
	vfs_mutex_unlock(&a->lock);
}

int vfs_shm_obj_live(int kind)
{
	struct arena *a = get_arena();
	int n;
	if (!a)
		return 0;
	vfs_mutex_lock(&a->lock);
	n = a->live[kind];
	vfs_mutex_unlock(&a->lock);
	return n;
}
