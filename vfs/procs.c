/*
 * procs.c: the processes that share the stack instances, and how a
 * thread of one wakes a sleeping thread of another (docs/DESIGN.md,
 * "Processes").
 *
 * A sleeping thread waits in ppoll on its own eventfd (inst.c, vfs_sleep).
 * Its waiter record lives in the shared arena, so a thread of any process
 * that changes a socket finds it under the instance's lock; but an
 * eventfd's number means something only in the process that opened it.
 * So each process has a record here with a doorbell: a futex word in
 * shared memory. A waker in another process marks the waiter (kick) and
 * rings the owner's doorbell (one FUTEX_WAKE); the owner's doorbell thread,
 * asleep on that word, writes the eventfds of its marked waiters. A wake
 * within the process costs what it did (one eventfd write).
 *
 * The doorbell thread starts with the process's stack (the process that
 * loaded it) and, in a fork child, before its first thread sleeps: no
 * waiter of a process is ever registered while no thread of it can be
 * rung. A process's waiters are one per thread, taken at its first sleep
 * and given back when the thread exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "vfs/vfs_priv.h"

#define MAX_PROC 1024

struct vfs_proc {
	atomic_int pid;           /* 0: a free record */
	atomic_uint bell;         /* futex word; bumped by remote wakers */
	pthread_mutex_t lock;     /* wlist */
	struct vfs_waiter *wlist; /* waiters of this process's threads */
	int bell_started;         /* (this process) its doorbell thread runs */
	/* its fd table (fdtab.c, in shared memory): what a reaper gives
	 * back when the process died without doing so itself */
	_Atomic(struct vfs_obj *) *fdt;
	int fdt_n;
	atomic_int reaping;
};

struct procs {
	pthread_mutex_t lock;
	struct vfs_proc p[MAX_PROC];
};

static struct procs *procs;
static struct vfs_proc *self;       /* this process's record */
static __thread struct vfs_waiter *tls_w;
static __thread long tls_w_pid;
static pthread_key_t w_key;
static pthread_once_t w_once = PTHREAD_ONCE_INIT;

static long raw3(long nr, long a, long b, long c)
{
	return hook_raw_syscall(nr, a, b, c, 0, 0, 0);
}

static struct vfs_proc *proc_take(long pid, int may_reap)
{
	int i;
	if (!procs) {
		procs = vfs_shm_alloc(sizeof(*procs));
		if (!procs)
			return NULL;
		vfs_mutex_init(&procs->lock);
	}
	vfs_mutex_lock(&procs->lock);
	for (i = 0; i < MAX_PROC; i++) {
		struct vfs_proc *p = &procs->p[i];
		if (atomic_load(&p->pid) == 0) {
			memset(p, 0, sizeof(*p));
			vfs_mutex_init(&p->lock);
			atomic_store(&p->pid, (int)pid);
			vfs_mutex_unlock(&procs->lock);
			return p;
		}
	}
	vfs_mutex_unlock(&procs->lock);
	if (may_reap) { /* the records of the dead, then once more */
		vfs_procs_reap();
		return proc_take(pid, 0);
	}
	return NULL;
}

/* The calling process's record (made at its first use). NULL when more
 * than MAX_PROC processes share the arena. */
static struct vfs_proc *proc_self_reap(int may_reap)
{
	long pid = vfs_g.pid ? vfs_g.pid : raw3(SYS_getpid, 0, 0, 0);
	if (self && atomic_load_explicit(&self->pid, memory_order_relaxed) ==
		    (int)pid)
		return self;
	self = proc_take(pid, may_reap);
	return self;
}

static struct vfs_proc *proc_self(void)
{
	return proc_self_reap(1);
}

/* In a fork child, from the fork call itself, before anything else of
 * procs.c: nothing here is ours yet (the parent's record, waiters and
 * doorbell stay the parent's; a record of our own comes with the pid). */
void vfs_procs_fork_child(void)
{
	tls_w = NULL;
}

void vfs_procs_set_table(_Atomic(struct vfs_obj *) *slots, int n)
{
	/* no reaping from here: the fork child's path (inside fork) */
	struct vfs_proc *p = proc_self_reap(0);
	if (!p)
		return;
	p->fdt_n = 0;
	p->fdt = slots;
	p->fdt_n = n;
}

/* Is pid gone: no such process, or a zombie (dead, not yet waited for
 * by its parent: a prefork master that never waits) */
int vfs_procs_dead(int pid)
{
	char path[40], buf[512], *p;
	long fd, n;
	if (raw3(SYS_kill, pid, 0, 0) == -ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = raw3(SYS_open, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd == -ENOENT;
	n = raw3(SYS_read, fd, (long)buf, sizeof(buf) - 1);
	(void)raw3(SYS_close, fd, 0, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* A process that died (kill(pid, 0): ESRCH, or a zombie) without giving back what it
 * held, e.g. SIGKILLed, or whose threads slept when it exited: its fds
 * go (a socket no other process holds is closed, as the kernel closes a
 * dead process's files), its waiters leave every instance, its record is
 * free again. Run by the first instance's progress thread about every
 * 0.5 s, and by a process that finds no free record. */
void vfs_procs_reap(void)
{
	int i, k;
	if (!procs)
		return;
	for (i = 0; i < MAX_PROC; i++) {
		struct vfs_proc *p = &procs->p[i];
		struct vfs_waiter *w, *next;
		int pid = atomic_load(&p->pid), zero = 0;
		if (!pid || pid == (int)vfs_g.pid || !vfs_procs_dead(pid))
			continue;
		if (!atomic_compare_exchange_strong(&p->reaping, &zero, 1))
			continue; /* another reaper has it */
		if (atomic_load(&p->pid) != pid) {
			atomic_store(&p->reaping, 0);
			continue;
		}
		if (p->fdt) {
			vfs_fdtab_reap(p->fdt, p->fdt_n);
			vfs_shm_free(p->fdt); /* an arena block, now unused */
			p->fdt = NULL;
		}
		for (k = 0; k < vfs_g.ninst; k++) {
			struct vfs_inst *in = vfs_g.insts[k];
			vfs_inst_lock(in);
			for (w = in->waiters; w; w = next) {
				next = w->next[in->idx];
				if (w->proc == p)
					vfs_waiter_del(in, w);
			}
			vfs_inst_unlock(in);
		}
		vfs_mutex_lock(&p->lock);
		w = p->wlist;
		p->wlist = NULL;
		pthread_mutex_unlock(&p->lock);
		for (; w; w = next) {
			next = w->pnext;
			vfs_shm_free(w);
		}
		vfs_mutex_lock(&procs->lock);
		atomic_store(&p->pid, 0);
		vfs_mutex_unlock(&procs->lock);
	}
}

static void *bell_main(void *arg)
{
	struct vfs_proc *p = arg;
	struct timespec sec = { 1, 0 };
	sigset_t all;
	vfs_async_signals(&all);
	(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0,
			       8, 0, 0);
	hook_guard_enter();
	for (;;) {
		unsigned v = atomic_load(&p->bell);
		struct vfs_waiter *w;
		vfs_mutex_lock(&p->lock);
		for (w = p->wlist; w; w = w->pnext)
			if (atomic_load_explicit(&w->kick, memory_order_relaxed) &&
			    atomic_exchange(&w->kick, 0)) {
				uint64_t one = 1;
				(void)raw3(SYS_write, w->evfd, (long)&one, 8);
			}
		pthread_mutex_unlock(&p->lock);
		(void)hook_raw_syscall(SYS_futex, (long)&p->bell, FUTEX_WAIT, v,
				       (long)&sec, 0, 0);
		/* the process serving the instances' progress may be gone
		 * (a daemonizing nginx: the parent that started the stack
		 * exits, its children serve) */
		vfs_inst_takeover();
	}
	return NULL;
}

/* Start the calling process's doorbell thread if it has none (0, or
 * -errno: then remote wakes of this process's threads cannot happen and
 * its threads must not sleep on shared sockets). */
int vfs_procs_bell_start(void)
{
	struct vfs_proc *p = proc_self();
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;
	int r;
	if (!p)
		return -EMFILE;
	if (p->bell_started)
		return 0;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	/* born with the program's signals blocked: none of its handlers
	 * runs there before bell_main sets its own mask */
	vfs_async_signals(&all);
	(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all,
			       (long)&old, 8, 0, 0);
	hook_guard_enter();
	r = pthread_create(&t, &a, bell_main, p);
	hook_guard_leave();
	(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0,
			       8, 0, 0);
	pthread_attr_destroy(&a);
	if (r)
		return -r;
	p->bell_started = 1;
	return 0;
}

/* Wake w, a waiter of another process: its doorbell writes its eventfd */
void vfs_procs_kick(struct vfs_waiter *w)
{
	struct vfs_proc *p = w->proc;
	atomic_store(&w->kick, 1);
	atomic_fetch_add(&p->bell, 1);
	(void)hook_raw_syscall(SYS_futex, (long)&p->bell, FUTEX_WAKE, 1, 0, 0,
			       0);
}

/* 1 if w belongs to the calling process */
int vfs_procs_mine(const struct vfs_waiter *w)
{
	return w->proc == self && self;
}

static void w_dtor(void *arg)
{
	struct vfs_waiter *w = arg, **pp;
	struct vfs_proc *p;
	if (!w || w != tls_w)
		return;
	p = w->proc;
	vfs_mutex_lock(&p->lock);
	for (pp = &p->wlist; *pp; pp = &(*pp)->pnext)
		if (*pp == w) {
			*pp = w->pnext;
			break;
		}
	pthread_mutex_unlock(&p->lock);
	tls_w = NULL;
	vfs_shm_free(w);
}

static void w_key_init(void)
{
	(void)pthread_key_create(&w_key, w_dtor);
}

/* The calling thread's waiter, with its eventfd (NULL: -errno in *err).
 * One per thread; a wait never nests inside another in one thread. */
struct vfs_waiter *vfs_waiter_get(int *err)
{
	struct vfs_proc *p;
	struct vfs_waiter *w = tls_w;
	long pid = vfs_g.pid ? vfs_g.pid : raw3(SYS_getpid, 0, 0, 0);
	int evfd = vfs_tls_evfd();
	if (evfd < 0) {
		*err = evfd;
		return NULL;
	}
	if (w && tls_w_pid == pid) {
		w->evfd = evfd;
		return w;
	}
	p = proc_self();
	if (!p || vfs_procs_bell_start() < 0 ||
	    !(w = vfs_shm_alloc(sizeof(*w)))) {
		*err = -ENOMEM;
		return NULL;
	}
	w->proc = p;
	w->evfd = evfd;
	vfs_mutex_lock(&p->lock);
	w->pnext = p->wlist;
	p->wlist = w;
	pthread_mutex_unlock(&p->lock);
	tls_w = w;
	tls_w_pid = pid;
	(void)pthread_once(&w_once, w_key_init);
	(void)pthread_setspecific(w_key, w);
	return w;
}
