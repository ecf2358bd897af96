/*
 * fdtab.c: the fd table: fd number -> vfs object, and the objects' life.
 *
 * A flat array of atomic pointers indexed by fd, read without locks by
 * vfs_dispatch() on every call that names an fd (one bounds check and one
 * load; NULL means "the kernel's"). Writers (socket, accept, dup, close)
 * take vfs_fdt.lock. The array grows by doubling into a new array; the
 * old one is never freed (a reader may still hold it; the total is at most
 * twice the largest table), and writers only write under the lock into
 * the current array, so no update is lost.
 *
 * Every netfuse fd is also a real kernel fd (DESIGN.md "fds"), so the
 * kernel allocates the numbers and they never collide with the program's
 * files; this table only follows what the kernel did.
 *
 * Called by dispatch.c, sock.c and epoll.c. Objects come from per-kind
 * free lists and never go back to malloc (see vfs_priv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "vfs/vfs_priv.h"

struct vfs_fdtab vfs_fdt = { .lock = PTHREAD_MUTEX_INITIALIZER };


int vfs_fdtab_init(int initial)
{
	_Atomic(struct vfs_obj *) *s;
	if (atomic_load(&vfs_fdt.slots))
		return 0;
	if (initial < 64)
		initial = 64;
	s = vfs_shm_alloc((size_t)initial * sizeof(*s));
	if (!s)
		return -ENOMEM;
	atomic_store(&vfs_fdt.slots, s);
	atomic_store(&vfs_fdt.n, initial);
	vfs_procs_set_table(s, initial);
	return 0;
}

/* lock held */
static int grow(int fd)
{
	int n = atomic_load(&vfs_fdt.n), m = n ? n : 64, i;
	_Atomic(struct vfs_obj *) *old = atomic_load(&vfs_fdt.slots), *s;
	while (m <= fd)
		m *= 2;
	s = vfs_shm_alloc((size_t)m * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		atomic_store(&s[i], atomic_load(&old[i]));
	atomic_store_explicit(&vfs_fdt.slots, s, memory_order_release);
	atomic_store_explicit(&vfs_fdt.n, m, memory_order_release);
	vfs_procs_set_table(s, m);
	return 0;
}

int vfs_obj_tryget(struct vfs_obj *o)
{
	int r = atomic_load(&o->refs);
	while (r > 0)
		if (atomic_compare_exchange_weak(&o->refs, &r, r + 1))
			return 1;
	return 0;
}

void vfs_obj_put(struct vfs_obj *o)
{
	if (atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	vfs_shm_obj_put(o);
}

struct vfs_obj *vfs_fd_get(int fd)
{
	for (;;) {
		struct vfs_obj *o = vfs_fd_peek(fd);
		if (!o)
			return NULL;
		if (vfs_obj_tryget(o)) {
			if (vfs_fd_peek(fd) == o)
				return o;
			vfs_obj_put(o);
		}
	}
}

/* fd_refs reached 0: the last fd is gone; close what the object holds. */
static void obj_last_fd(struct vfs_obj *o)
{
	if (o->kind == VFS_K_SOCK)
		vfs_sock_closed((struct vfs_sock *)o);
	else
		vfs_epoll_closed((struct vfs_epoll *)o);
	vfs_obj_put(o); /* the table's reference */
}

/* lock held; returns the object that was at fd (fd_ref to drop) */
static struct vfs_obj *slot_swap(int fd, struct vfs_obj *o)
{
	_Atomic(struct vfs_obj *) *s = atomic_load(&vfs_fdt.slots);
	return atomic_exchange_explicit(&s[fd], o, memory_order_acq_rel);
}

static int drop_fd_ref(struct vfs_obj *o)
{
	if (o && atomic_fetch_sub(&o->fd_refs, 1) == 1) {
		obj_last_fd(o);
		return 1;
	}
	return 0;
}

int vfs_fd_install(int fd, struct vfs_obj *o)
{
	struct vfs_obj *old;
	if (fd < 0)
		return -EBADF;
	pthread_mutex_lock(&vfs_fdt.lock);
	if (fd >= atomic_load(&vfs_fdt.n) && grow(fd) < 0) {
		pthread_mutex_unlock(&vfs_fdt.lock);
		return -ENOMEM;
	}
	if (atomic_fetch_add(&o->fd_refs, 1) == 0)
		atomic_fetch_add(&o->refs, 1); /* the table's reference */
	old = slot_swap(fd, o);
	if (fd >= atomic_load(&vfs_fdt.hi))
		atomic_store(&vfs_fdt.hi, fd + 1);
	pthread_mutex_unlock(&vfs_fdt.lock);
	drop_fd_ref(old);
	return 0;
}

int vfs_fd_remove(int fd)
{
	return drop_fd_ref(vfs_fd_take(fd));
}

/* Detach fd's entry and hand its fd reference to the caller (NULL if the
 * kernel's). close() takes the entry before the kernel frees the number:
 * once free, another thread's socket() or accept() may get it at once
 * and install its own entry, which a removal after the close would then
 * drop (its next read went to the bare placeholder: ENOTCONN, and its
 * peer got a RST). */
struct vfs_obj *vfs_fd_take(int fd)
{
	struct vfs_obj *old;
	if (fd < 0 || fd >= atomic_load(&vfs_fdt.n))
		return NULL;
	pthread_mutex_lock(&vfs_fdt.lock);
	old = slot_swap(fd, NULL);
	pthread_mutex_unlock(&vfs_fdt.lock);
	return old;
}

/* Drop an fd reference from vfs_fd_take (NULL: nothing) */
void vfs_fd_drop(struct vfs_obj *o)
{
	(void)drop_fd_ref(o);
}

static struct vfs_obj *obj_alloc(int kind, size_t size)
{
	/* from the arena every forked process shares (shm.c), in whole
	 * cache lines: two threads' objects never share one (every call
	 * writes its object's refs) */
	struct vfs_obj *o = vfs_shm_obj_get(kind, (size + 63) & ~(size_t)63);
	if (!o)
		return NULL;
	/* refs stays 0 until published: a stale racer cannot take it; the
	 * creator's reference is set last. */
	o->kind = kind;
	o->free_next = NULL;
	atomic_store(&o->fd_refs, 0);
	atomic_store(&o->refs, 1);
	return o;
}

struct vfs_sock *vfs_sock_new(int type)
{
	struct vfs_sock *s;
	struct vfs_obj *o = obj_alloc(VFS_K_SOCK, sizeof(*s));
	if (!o)
		return NULL;
	s = (struct vfs_sock *)o;
	/* reset everything but the header (racers may touch refs) */
	memset((char *)s + sizeof(s->h), 0, sizeof(*s) - sizeof(s->h));
	s->type = type;
	s->family = AF_INET;
	s->sd = -1;
	s->route = VFS_R_UNDECIDED;
	return s;
}

struct vfs_epoll *vfs_epoll_new(void)
{
	struct vfs_epoll *e;
	struct vfs_obj *o = obj_alloc(VFS_K_EPOLL, sizeof(*e));
	if (!o)
		return NULL;
	e = (struct vfs_epoll *)o;
	if (!e->items) { /* fresh from the arena: set up the locks once */
		vfs_mutex_init(&e->lock);
		vfs_mutex_init(&e->rd_lock);
	}
	e->nitems = 0;
	e->rr = 0;
	e->rd_head = e->rd_tail = NULL;
	e->full_scan = 0;
	e->dead = 0;
	return e;
}

/* fork. The child's table is a copy of this one (the kernel copies the
 * fds), so every object it names gets one more fd reference, taken before
 * the fork under the writers' lock (no close in another thread can bring
 * a count to 0 in between) and given back if the fork fails. The table
 * is in shared memory (a reaper in another process reads a dead one's:
 * procs.c), so the child's copy is made here too, before the fork: a copy
 * made in the child would race with the parent's next close. */
static _Atomic(struct vfs_obj *) *fork_copy;
static size_t fork_copy_len;   /* bytes; set when fork_copy is an mmap */

void vfs_fdtab_fork_prepare(void)
{
	int n, hi, fd;
	_Atomic(struct vfs_obj *) *s;
	pthread_mutex_lock(&vfs_fdt.lock);
	n = atomic_load(&vfs_fdt.n);
	hi = atomic_load(&vfs_fdt.hi);
	fork_copy_len = 0;
	s = n ? vfs_shm_alloc((size_t)n * sizeof(*s)) : NULL;
	if (!s && n) { /* the arena is full: a private copy (not reaped);
			* no malloc here: libc's fork holds its locks */
		long m = hook_raw_syscall(SYS_mmap, 0, (long)n * (long)sizeof(*s),
					  PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m >= 0 || m < -4095) {
			s = (void *)m;
			fork_copy_len = (size_t)n * sizeof(*s);
		}
	}
	fork_copy = s;
	for (fd = 0; fd < hi; fd++) {
		struct vfs_obj *o = vfs_fd_peek(fd);
		if (o)
			atomic_fetch_add(&o->fd_refs, 1);
		if (s)
			atomic_store(&s[fd], o);
	}
}

void vfs_fdtab_fork_parent(int failed)
{
	int n, fd;
	n = atomic_load(&vfs_fdt.hi);
	for (fd = 0; failed && fd < n; fd++) {
		struct vfs_obj *o = vfs_fd_peek(fd);
		if (o) /* never the last: this table still holds it */
			atomic_fetch_sub(&o->fd_refs, 1);
	}
	if (fork_copy_len)
		(void)hook_raw_syscall(SYS_munmap, (long)fork_copy, (long)fork_copy_len,
				       0, 0, 0, 0);
	else if (failed && fork_copy)
		vfs_shm_free(fork_copy);
	fork_copy = NULL;
	pthread_mutex_unlock(&vfs_fdt.lock);
}

/* In the child: the writers' lock is the parent's copy, taken for the
 * fork; the child has only the forking thread. It takes the copy the
 * parent made for it (without one: no fd of the parent's is vfs/'s). */
void vfs_fdtab_fork_child(void)
{
	int n = atomic_load(&vfs_fdt.n);
	pthread_mutex_init(&vfs_fdt.lock, NULL);
	if (!fork_copy) {
		atomic_store(&vfs_fdt.n, 0);
		return;
	}
	atomic_store(&vfs_fdt.slots, fork_copy);
	if (!fork_copy_len)
		vfs_procs_set_table(fork_copy, n);
	fork_copy = NULL;
}

/* A dead process's table (procs.c): give back every fd it held. */
void vfs_fdtab_reap(_Atomic(struct vfs_obj *) *slots, int n)
{
	int i;
	for (i = 0; i < n; i++) {
		struct vfs_obj *o = atomic_exchange(&slots[i], NULL);
		if (o)
			(void)drop_fd_ref(o);
	}
}

int vfs_obj_live(int kind)
{
	if (kind != VFS_K_SOCK && kind != VFS_K_EPOLL)
		return 0;
	return vfs_shm_obj_live(kind);
}
