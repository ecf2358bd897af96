/*
 * vfs_priv.h: internals of vfs/ (not for use outside this folder and
 * tests/vfs/).
 *
 * Objects. Every fd vfs/ cares about maps, in the fd table (fdtab.c), to
 * one struct vfs_obj: a socket (struct vfs_sock) or an epoll set (struct
 * vfs_epoll). dup'd fds point to the same object. Objects are reference
 * counted twice:
 *   - fd_refs: fds that name the object; when it reaches 0 the object is
 *     "closed" (netfuse socket released in the stack, epoll set emptied),
 *     as Linux closes a file when its last fd goes;
 *   - refs: memory; held by the fd table (one for all fds), by a call in
 *     flight and by epoll interest items. At 0 the object returns to a
 *     per-kind free list. Objects are never given back to malloc (type
 *     stable memory), so a racing lookup that loses against a close can
 *     touch the counter safely (vfs_obj_tryget()).
 *
 * Locks. One stack instance (struct vfs_inst) per queue pair
 * (NETFUSE_QUEUES, inst.c), every stack call made under the owning
 * instance's lock (DESIGN.md rule 2, "under the owner's lock"); a socket
 * is owned by one instance (vfs_sock.in), a listener has a replica in
 * every instance (vfs_sock.rsd). The fd table is read without locks; its
 * writers take fdtab.lock. An epoll set's interest list has its own
 * mutex, taken before any inst->lock; its ready-candidate list has
 * rd_lock, taken after (a leaf). Never two inst->locks at once.
 */
#ifndef VFS_PRIV_H
#define VFS_PRIV_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "hook/hook.h"
#include "stack/stack.h"
#include "stack/nf_backend.h"
#include "vfs/vfs.h"

/* ---- objects --------------------------------------------------------- */
enum vfs_kind {
	VFS_K_SOCK = 1,
	VFS_K_EPOLL = 2,
};

struct vfs_obj {
	int kind;                 /* (creator) VFS_K_*, fixed for the life */
	atomic_int refs;          /* memory references, see above */
	atomic_int fd_refs;       /* fds naming it (fdtab writers) */
	struct vfs_obj *free_next;/* (pool lock) free list link */
};

/* Where a socket lives. Kernel-only sockets are not in the table. */
enum vfs_route {
	VFS_R_UNDECIDED = 0, /* kernel socket so far; decided at bind/connect */
	VFS_R_NETFUSE,       /* user-space stack; the kernel socket is only a
			      * placeholder fd number */
	VFS_R_DUAL,          /* wildcard: user stack and kernel socket both
			      * live (listener accepts from both, UDP
			      * receives from both) */
};

#define VFS_SAVED_OPTS 8

struct vfs_saved_opt {
	int level, name;
	int val;                  /* int-valued options only */
	int len;
};

#define VFS_MAX_INST 16

struct vfs_inst;

struct vfs_sock {
	struct vfs_obj h;
	int type;                 /* (creator) SOCK_STREAM / SOCK_DGRAM */
	int family;               /* (creator) AF_INET, or AF_INET6 (dual
				   * stack: IPv4 as ::ffff:a.b.c.d, addr.c) */
	/* The owning instance, set with sd. It changes only when an
	 * accepted connection moves to its user's instance (move.c), under
	 * both instances' locks and with no other call in progress: a
	 * reader that locks it reads it again (vfs_sock_switch). */
	struct vfs_inst *_Atomic in;
	/* Calls in progress through vfs_sys_sock_call, and a move under
	 * way (move.c: a call waits for it, then reads `in`) */
	atomic_int users;
	atomic_int moving;
	/* Moves an accepted connection has left (move.c): 2, one to its
	 * acceptor's instance and one to a worker's it is handed to */
	atomic_int may_move;
	/* A listener's replicas: rsd[i] is its sd in instance i (-1 none;
	 * rsd[in->idx] == sd); NULL for every other socket. Set at listen,
	 * under each instance's lock in turn; read under that lock. */
	int *rsd;
	/* Written under inst->lock once decided; read there. */
	int route;                /* enum vfs_route */
	int sd;                   /* stack sd, -1 none or closed */
	/* Program's view of O_NONBLOCK (file status, shared by dups) once
	 * netfuse/dual: the kernel placeholder is then always O_NONBLOCK. */
	atomic_int nonblock;
	int wild_bound;           /* undecided, kernel-bound to INADDR_ANY */
	int v6only;               /* AF_INET6: IPV6_V6ONLY when decided */
	uint16_t bound_port_be;   /* the port of that bind */
	int connecting;           /* netfuse connect in progress */
	uint64_t rcvtimeo_ns, sndtimeo_ns; /* 0 = none */
	/* Stream bytes the stack took from the program (inst->lock):
	 * SIOCOUTQ = tx_bytes - TCP_INFO's bytes_acked. */
	uint64_t tx_bytes;
	/* Readiness changes seen (bumped by vfs_inst_notify for this sd);
	 * edge-triggered epoll items compare against it. */
	atomic_uint ev_seq;
	/* The epoll set it was added to (inst->lock): wake-ups of epoll
	 * waiters are targeted by it; VFS_EP_MANY once in several sets. */
	struct vfs_epoll *ep_owner;
	/* On ep_owner's ready-candidate list (inst->lock; the list holds a
	 * refs reference), and this socket's index in ep_owner's items
	 * (ep_owner->lock; a hint, checked before use). */
	struct vfs_sock *ep_next;
	int ep_queued;
	int ep_remark;            /* marked while an epoll_wait held it */
	int ep_idx;
	int npoll;                /* poll/select waiters on it (inst->lock) */
	/* Options set before the socket was decided, replayed on the stack
	 * socket (under the owner's lock: written only before decision). */
	struct vfs_saved_opt opts[VFS_SAVED_OPTS];
	int nopts;
};

#define VFS_EP_MANY ((struct vfs_epoll *)1)

struct vfs_epitem {
	int fd;                   /* the fd given to EPOLL_CTL_ADD */
	struct vfs_sock *s;       /* holds one refs reference */
	uint32_t events;          /* EPOLL* interest + flags (ET, ONESHOT) */
	uint64_t data;
	unsigned seen_seq;        /* ET: ev_seq at the last report */
	int disabled;             /* ONESHOT fired */
	int in_kernel;            /* also registered in the kernel epoll
				   * (dual sockets) */
};

struct vfs_epoll {
	struct vfs_obj h;
	pthread_mutex_t lock;     /* guards items */
	struct vfs_epitem *items; /* netfuse interest list */
	int nitems, cap;
	unsigned rr;              /* round-robin start for fairness */
	/* Ready candidates (inst->lock): sockets whose readiness changed,
	 * were added/modified, closed, or were reported level-triggered
	 * last time; epoll_wait looks at these only, like Linux's ready
	 * list. full_scan: some socket of this set is also in another set
	 * or twice in this one; then every item is looked at. */
	struct vfs_sock *rd_head, *rd_tail;
	pthread_mutex_t rd_lock;  /* the list, and its sockets' ep_next,
				   * ep_queued, ep_remark (leaf lock) */
	int full_scan;
	int dead;                 /* closed: no more candidates */
};
/* s->in's lock held: put s on its epoll set's ready-candidate list */
void vfs_ep_mark_locked(struct vfs_sock *s);

/* ---- shared memory and locks (shm.c, procs.c) ------------------------- */
/* Memory every process forked from this one sees at the same address
 * (zeroed, 64-byte aligned; NULL when the arena is full). */
int vfs_shm_ready(void);
void *vfs_shm_alloc(size_t n);
void vfs_shm_free(void *p);
struct vfs_obj *vfs_shm_obj_get(int kind, size_t size);
void vfs_shm_obj_put(struct vfs_obj *o);
int vfs_shm_obj_live(int kind);
/* Process-shared robust mutexes: a holder's death hands the lock on. */
void vfs_mutex_init(pthread_mutex_t *m);
void vfs_mutex_lock(pthread_mutex_t *m);
int vfs_mutex_trylock(pthread_mutex_t *m);
static inline void vfs_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}
/* Every signal but the synchronous ones (the hook's SIGSYS, SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGTRAP): what vfs/'s own threads block */
void vfs_async_signals(sigset_t *s);
/* The calling thread's waiter (see procs.c), or NULL with -errno. */
struct vfs_waiter *vfs_waiter_get(int *err);
int vfs_procs_mine(const struct vfs_waiter *w);
void vfs_procs_kick(struct vfs_waiter *w);
int vfs_procs_bell_start(void);
void vfs_procs_fork_child(void);
/* The calling process's fd table (where it is, for procs.c's reaper) */
void vfs_procs_set_table(_Atomic(struct vfs_obj *) *slots, int n);
/* Release what processes that died (SIGKILL) held: their fds (sockets
 * no other process holds are closed), their waiters. No lock held. */
void vfs_procs_reap(void);
/* Is pid gone (no such process, or a zombie)? */
int vfs_procs_dead(int pid);
/* (doorbell thread, about every 1 s) If the process running an
 * instance's progress thread is gone, run it here (inst.c). */
void vfs_inst_takeover(void);

/* ---- fd table (fdtab.c) --------------------------------------------- */
struct vfs_fdtab {
	_Atomic(_Atomic(struct vfs_obj *) *) slots;
	atomic_int n;             /* slots valid in `slots` */
	atomic_int hi;            /* highest fd ever installed + 1 */
	pthread_mutex_t lock;     /* writers */
};

extern struct vfs_fdtab vfs_fdt;

/* Lock-free: the object behind fd or NULL (no reference taken). */
static inline struct vfs_obj *vfs_fd_peek(int fd)
{
	int n = atomic_load_explicit(&vfs_fdt.n, memory_order_acquire);
	_Atomic(struct vfs_obj *) *s;
	if ((unsigned)fd >= (unsigned)n)
		return (struct vfs_obj *)0;
	s = atomic_load_explicit(&vfs_fdt.slots, memory_order_acquire);
	return atomic_load_explicit(&s[fd], memory_order_acquire);
}

int vfs_fdtab_init(int initial);
/* The object behind fd with a refs reference, or NULL. */
struct vfs_obj *vfs_fd_get(int fd);
/* Install o at fd (takes a new fd_ref; the table's refs ref is taken on
 * the first fd). An object already at fd is released first. 0/-ENOMEM. */
int vfs_fd_install(int fd, struct vfs_obj *o);
/* Forget fd (the kernel's number stays or is replaced): releases its
 * fd_ref; 1 if that was the object's last fd (in every process). */
int vfs_fd_remove(int fd);
/* close(): detach fd's entry before the kernel frees the number, then
 * drop the returned reference after (fdtab.c says why). */
struct vfs_obj *vfs_fd_take(int fd);
void vfs_fd_drop(struct vfs_obj *o);
/* Forget fd without touching object state (fork child); same as remove. */
int vfs_obj_tryget(struct vfs_obj *o);
void vfs_obj_put(struct vfs_obj *o);
struct vfs_sock *vfs_sock_new(int type);
struct vfs_epoll *vfs_epoll_new(void);
/* Around fork (dispatch.c): the child's copy of the table holds one more
 * fd reference on every object (shared by both processes). */
void vfs_fdtab_fork_prepare(void);
void vfs_fdtab_fork_parent(int failed);
void vfs_fdtab_fork_child(void);
void vfs_fdtab_reap(_Atomic(struct vfs_obj *) *slots, int n);
/* Counts, for tests: live objects per kind. */
int vfs_obj_live(int kind);

/* ---- the stack instance (inst.c) ------------------------------------- */
/* A sleeping thread (on its stack; in inst->waiters under inst->lock).
 * Woken when a socket it waits for changes: `sock` (one socket), or any
 * socket of epoll set `ep`, or (both NULL: poll, select) any socket with
 * poll waiters (vfs_sock.npoll). */
struct vfs_proc;
struct vfs_waiter {
	int evfd;                 /* the sleeping thread's eventfd (in its
				   * own process) */
	atomic_int woken;         /* evfd written since it registered */
	atomic_int kick;          /* a waker of another process asks the
				   * doorbell to write evfd (procs.c) */
	struct vfs_proc *proc;    /* the sleeping thread's process */
	struct vfs_waiter *pnext; /* (proc->lock) the process's waiters */
	struct vfs_sock *sock;
	struct vfs_epoll *ep;
	/* links in each instance's list (a listener's, epoll's and poll's
	 * waiters are in every instance's) */
	struct vfs_waiter *next[VFS_MAX_INST], *prev[VFS_MAX_INST];
};

/* Frames and neighbours handed to an instance by the others (steer.c):
 * its own lock (a leaf), taken by the producer under the producer's
 * instance lock, and by the owner under its own. */
#define VFS_INBOX_CAP 512
#define VFS_NEIGH_CAP 16
struct vfs_inbox {
	pthread_mutex_t m;
	atomic_int pending;       /* something to take (read without m) */
	unsigned h, n;
	struct { struct nf_buf *b; uint8_t hops; } q[VFS_INBOX_CAP];
	unsigned nn;
	/* neighbours another instance learnt: IPv6, or IPv4 mapped */
	struct { uint8_t ip[16]; uint8_t mac[6]; } neigh[VFS_NEIGH_CAP];
};

/* inst_state in a fork child of a process whose backend is private
 * (NF_BE_F_PRIVATE): the stack is the parent's; its sockets fail here
 * and new sockets go to the kernel */
#define VFS_STACK_PARENTS 2

struct vfs_inst {
	pthread_mutex_t lock;     /* every stack call and the fields below */
	int idx;                  /* in vfs_g.insts[]; = its queue id */
	char label[24];           /* "netfuse#IDX": where a traced call went */
	const struct nf_backend *be; /* the stack driving it (backend.c) */
	struct nf_be_inst *st;    /* its instance */
	struct nf_io_ops *ops;
	struct vfs_sock **by_sd;  /* sd -> socket (for readiness seqs) */
	uint32_t max_socks;
	struct vfs_waiter *waiters;
	int nwaiters;
	uint64_t next_deadline;   /* from the last poll */
	uint64_t sleep_until;     /* the progress thread's wake-up time, 0
				   * while it is awake */
	/* progress thread */
	pthread_t thr;
	int thr_started;
	int thr_tid;              /* its thread id (telemetry) */
	atomic_int stop;
	int ctl_fd;               /* eventfd: kick the progress thread (an fd
				   * of the process that started the stack,
				   * inherited by its fork children) */
	atomic_int prog_pid;      /* the process whose progress thread serves
				   * it; another takes over when it is gone */
	/* the thread spinning on this instance and until when (a lease, no
	 * release needed; vfs_spin_ok) */
	_Atomic uintptr_t spin_owner;
	_Atomic uint64_t spin_until;
	/* until when a program thread counts as active (active_owner): its
	 * last poll plus 1 ms, or its spin budget if longer (inst.c). The
	 * progress thread arms the queue's wake-up only
	 * after it (a polling program would get one wake-up and, on memif,
	 * two system calls per frame), and a program thread's poll disarms
	 * it (under the lock) */
	_Atomic uint64_t active_until;
	_Atomic uintptr_t active_owner;
	int q_armed;              /* the queue's wake-up is armed (lock) */
	int prog_arms;            /* program sleepers that armed it (lock) */
	int wake_prog_arm;        /* program sleepers may arm the queue
				   * (memif's interrupt; not a tap's signal
				   * kick, not a timer) */
	/* io/'s link state (NULL in tests): the first connect waits for the
	 * link, up to 1 s (vfs_inst_link_wait) */
	int (*link_up)(const void *io);
	const void *io;
	atomic_int link_seen;
	int wake_is_timer;        /* ops->wake_fd is io/'s 500 us timerfd
				   * (no rx interrupts): no use to sleepers */
	uint32_t ip_be, mask_be;  /* the netfuse interface */
	uint64_t polls, wakeups_sent;
	uint64_t ep_checks;       /* epoll items looked at (collect) */
	/* steering (steer.c): the hop count of the frames being polled
	 * (0: from its own queue), and counters */
	unsigned rx_hops;
	uint64_t steered_in, steered_out, steer_full;
	atomic_ullong foreign_calls; /* calls by threads of another instance */
	/* connections moved here from another instance and away (move.c),
	 * and moves given up (another call in progress, no room) */
	atomic_ullong moved_in, moved_out, move_failed;
	atomic_ullong contended;     /* lock found taken */
	struct vfs_inbox inbox;
} __attribute__((aligned(64)));

/* The calling thread's instance (chosen at its first use from its CPU);
 * NULL before the instances exist. */
struct vfs_inst *vfs_inst_mine(void);
/* Bind the calling thread to in (tests; threads are bound at first use) */
void vfs_inst_bind(struct vfs_inst *in);

/* ---- moving accepted connections to their user (move.c) ----------------- */
/* The calling thread is about to make a call on s (counted in s->users):
 * if s is an accepted connection of another instance with a move left,
 * move it to this thread's instance (NETFUSE_MOVE, default on). */
void vfs_sock_move_try(struct vfs_sock *s);

/* ---- steering between instances (steer.c) ------------------------------ */
/* Set the stack callbacks of every instance (after they exist). */
void vfs_steer_setup(void);
/* The instance's lock held: take what the others handed it (frames go
 * through ns_stack_poll with their hop count). Returns frames taken. */
unsigned vfs_steer_drain_locked(struct vfs_inst *in, uint64_t now);

/* The calling thread's instance (new sockets go there), loading the
 * stack on first use; -errno if none can be had (then: kernel fallback). */
int vfs_inst_get(struct vfs_inst **out);
/* Take the lock / drop it after reporting readiness changes. */
void vfs_inst_lock(struct vfs_inst *in);
void vfs_inst_unlock(struct vfs_inst *in);
/* Hold at most one instance lock while walking sockets of several:
 * *held is the instance locked now (NULL none); in NULL: unlock. */
static inline void vfs_inst_switch(struct vfs_inst **held,
				   struct vfs_inst *in)
{
	if (*held == in)
		return;
	if (*held)
		vfs_inst_unlock(*held);
	*held = in;
	if (in)
		vfs_inst_lock(in);
}
/* The instance that owns s (its calls take this lock). */
static inline struct vfs_inst *vfs_sock_inst(const struct vfs_sock *s)
{
	return atomic_load_explicit(&s->in, memory_order_acquire);
}
/* Hold the lock of s's owner (switching from *held's) and return it. The
 * owner changes only under both instances' locks (move.c), so it is read
 * again once its lock is held. */
static inline struct vfs_inst *vfs_sock_switch(struct vfs_inst **held,
					       struct vfs_sock *s)
{
	struct vfs_inst *in;
	for (;;) {
		in = vfs_sock_inst(s);
		vfs_inst_switch(held, in);
		if (vfs_sock_inst(s) == in)
			return in;
	}
}
/* May the calling thread spin (poll) in a wait that started at t0? One
 * thread at a time spins on an instance; the others sleep at once and
 * the spinner's polls wake them (their eventfds). */
int vfs_spin_ok(struct vfs_inst *in, uint64_t now, uint64_t t0,
		uint64_t budget);
/* Before the process's first netfuse connect: wait (polling, at most
 * 1 s) until io/ reports the link up. */
void vfs_inst_link_wait(struct vfs_inst *in);
/* Try to poll if the lock is free (spinning waiters). */
void vfs_inst_poll_try(struct vfs_inst *in);
/* Start the progress thread on an instance built by the caller. */
int vfs_inst_start(struct vfs_inst *in);
void vfs_inst_stop(struct vfs_inst *in);
uint64_t vfs_now_ns(void);
/* Around fork (dispatch.c): the start-up lock is held across it. */
void vfs_inst_fork_prepare(void);
void vfs_inst_fork_parent(void);
void vfs_inst_fork_child(void);

/* Waiting: register (lock held), check, then sleep. */
int vfs_tls_evfd(void);
void vfs_waiter_add(struct vfs_inst *in, struct vfs_waiter *w);
void vfs_waiter_del(struct vfs_inst *in, struct vfs_waiter *w);
void vfs_waiter_add_all(struct vfs_waiter *w);
void vfs_waiter_del_all(struct vfs_waiter *w);
/* Sleep in ppoll on fds[0..nfds) (the caller puts its eventfd there) and,
 * while *use_wake (the caller sets it to 1 once per blocking call), the
 * queue's rx interrupt fd, appended at fds[nfds] (room for it is the
 * caller's business), until one is ready, deadline (ns, UINT64_MAX none)
 * or a signal; then drain evfd. When the interrupt fd woke us, poll the
 * stack and clear *use_wake: only the progress thread drains that fd, so
 * a second sleep on it could return at once, again and again (a busy
 * loop that starved the thread doing the work). Returns ppoll's result. */
struct pollfd;
long vfs_sleep(struct vfs_inst *in, struct pollfd *extra, int nextra,
	       uint64_t deadline, const void *sigmask, int evfd,
	       int *use_wake);

/* Wait until sd has one of `want` (or ERR/HUP), or, with seq0, until its
 * readiness-change counter differs from *seq0; or deadline. kfd: a kernel
 * fd to wait on too (dual sockets), -1 none. 0 when it might be ready,
 * -EAGAIN on timeout, -EINTR, -EBADF if closed meanwhile. */
int vfs_wait_sock(struct vfs_inst *in, struct vfs_sock *s, uint32_t want,
		  uint64_t deadline, int kfd, const unsigned *seq0);
/* EINTR: 1 if Linux would restart a restartable call (SA_RESTART). */
int vfs_sig_restart(void);
/* After a program call that may have armed a timer (lock held). */
void vfs_inst_timer_check(struct vfs_inst *in);
/* Wake every registered waiter (lock held), e.g. after a close. */
void vfs_inst_wake_all_locked(struct vfs_inst *in);
/* Wake the waiters sleeping on epoll set ep (lock held): after
 * EPOLL_CTL_ADD/MOD, as Linux wakes epoll_wait for a ready new item. */
void vfs_inst_wake_ep_locked(struct vfs_inst *in, struct vfs_epoll *ep);

/* ---- routing (route.c) ----------------------------------------------- */
enum vfs_dest {
	VFS_TO_KERNEL = 0,
	VFS_TO_NETFUSE = 1,
};
struct vfs_route_rule {
	int action;               /* VFS_TO_* */
	uint32_t net_be, mask_be; /* address match (mask 0 = any) */
	uint16_t port_lo, port_hi;/* host order; 0..65535 = any */
};
#define VFS_ROUTE_MAX 16
struct vfs_route_cfg {
	uint32_t ip_be, mask_be;  /* the netfuse interface */
	struct in6_addr ip6;      /* NETFUSE_ADDR6 (has_ip6), its prefix */
	uint8_t has_ip6, prefix6_len;
	struct vfs_route_rule rules[VFS_ROUTE_MAX];
	int nrules;
};
/* Why a socket went to the kernel (counters + one log line each). */
#define VFS_FALLBACKS(X) \
	X(loopback) X(other_addr) X(rule) X(no_instance) X(ns_error) \
	X(unsupported) X(ipv6)
enum vfs_fallback {
#define VFS_X_ENUM(n) VFS_FB_##n,
	VFS_FALLBACKS(VFS_X_ENUM)
#undef VFS_X_ENUM
	VFS_FB_COUNT
};
extern const char *const vfs_fallback_names[];

int vfs_route_parse(struct vfs_route_cfg *rc, const char *spec, char *err,
		    size_t errlen);
/* Decide for a bind (is_bind) or connect/sendto destination. *why gets
 * the fallback reason when the answer is VFS_TO_KERNEL. A wildcard bind
 * answers VFS_TO_NETFUSE (the caller makes it dual). */
int vfs_route_decide(const struct vfs_route_cfg *rc, uint32_t addr_be,
		     uint16_t port_be, int is_bind, int *why);
/* The same for an IPv6 address: ::1 and link-local addresses go to the
 * kernel (as 127/8), port rules apply, addr= rules (IPv4) never match;
 * then :: and NETFUSE_ADDR6 at bind, its prefix at connect, go to the
 * stack (reason ipv6 when NETFUSE_ADDR6=none) */
int vfs_route_decide6(const struct vfs_route_cfg *rc,
		      const struct in6_addr *a6, uint16_t port_be,
		      int is_bind, int *why);
/* either family */
struct vfs_addr;
int vfs_route_decide_addr(const struct vfs_route_cfg *rc,
			  const struct vfs_addr *a, int is_bind, int *why);
void vfs_fallback_note(int why, int fd, uint32_t addr_be, uint16_t port_be);
/* The same for an IPv6 address */
void vfs_fallback_note6(int why, int fd, const struct in6_addr *a6,
			uint16_t port_be);

/* ---- global state (dispatch.c) --------------------------------------- */
struct vfs_state {
	int enabled;
	uint64_t spin_ns;         /* NETFUSE_SPIN_US, when spin_fixed */
	int spin_fixed;           /* NETFUSE_SPIN_US set: no adaptive spin */
	uint64_t exit_linger_ns;  /* NETFUSE_EXIT_LINGER_MS */
	int move_off;             /* NETFUSE_MOVE=0: connections stay where
				   * they were accepted (move.c) */
	int log_level;            /* 0 error .. 3 debug */
	struct vfs_route_cfg route;
	const struct nf_backend *be_netfuse; /* ns_backend(), for VFS_BE_IS_NETFUSE */
	atomic_int inst_state;    /* 0 not tried, 1 ready, -1 failed,
				   * VFS_STACK_PARENTS */
	long stack_owner;         /* VFS_STACK_PARENTS: the pid whose it is */
	struct vfs_inst *inst;    /* insts[0] */
	struct vfs_inst *insts[VFS_MAX_INST];
	int ninst;
	atomic_int nsocks_live;   /* netfuse/dual sockets open */
	atomic_ullong fallbacks[VFS_FB_COUNT];
	atomic_ullong sigpipes;
	/* exit: connections (and their bytes) the peers had not
	 * acknowledged when NETFUSE_EXIT_LINGER_MS ran out */
	atomic_ullong exit_unacked_conns, exit_unacked_bytes;
	long pid;                 /* getpid(), refreshed in a fork child */
	int closed_here;          /* this process closed a netfuse socket
				   * (exit then waits for its queued data) */
};
extern struct vfs_state vfs_g;

void vfs_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- user memory (dispatch.c): see the grades there --------------------- */
/* 1 if [p, p+n) can be user memory (not NULL page, kernel half, wrap) */
int vfs_user_ok(const void *p, size_t n);
int vfs_copy_in(void *dst, const void *user_src, size_t n);
int vfs_copy_out(void *user_dst, const void *src, size_t n);
int vfs_copy_in_safe(void *dst, const void *user_src, size_t n);
int vfs_copy_out_safe(void *user_dst, const void *src, size_t n);

/* ---- signal handlers (signal.c) ----------------------------------------- */
/* Around every slow-path call: handlers of signals that arrive inside
 * run at the end (or at vfs_sig_restart), never inside vfs/. */
void vfs_sig_enter(void);
void vfs_sig_leave(void);
/* A deferred signal waits: a sleep must return -EINTR. */
int vfs_sig_pending(void);
/* After EINTR, no lock held: 1 if deferred signals came (then they are
 * run now and *restart says whether each had SA_RESTART), else 0. */
int vfs_sig_restart_pending(int *restart);
uint64_t vfs_sig_deferred(void);
long vfs_sys_rt_sigaction(const struct hook_call *c);
/* Async-signal-safe: make the calling thread's sleep return (inst.c) */
void vfs_wake_self(void);

/* ---- the backend (backend.c) ----------------------------------------- */
/* The hottest operations of the default backend (this repository's
 * stack) are called directly, others through the table: Linux's
 * INDIRECT_CALL_1. An indirect call per readiness check, poll, send and
 * receive cost memcached about 5% on this VM (bench/README.md, "The
 * backend table"); a compare of the table's address costs nothing. */
#define VFS_BE_IS_NETFUSE(in) ((in)->be == vfs_g.be_netfuse)
#define VFS_NS(in) ((struct ns_stack *)(void *)(in)->st)
static inline uint32_t vfs_be_events(struct vfs_inst *in, int sd)
{
	return VFS_BE_IS_NETFUSE(in) ? ns_sock_events(VFS_NS(in), sd) :
				       in->be->events(in->st, sd);
}
static inline uint64_t vfs_be_poll(struct vfs_inst *in, struct nf_buf **b,
				   uint16_t n, uint64_t now)
{
	return VFS_BE_IS_NETFUSE(in) ? ns_stack_poll(VFS_NS(in), b, n, now) :
				       in->be->poll(in->st, b, n, now);
}
static inline int vfs_be_changed(struct vfs_inst *in, int *sds, int max)
{
	return VFS_BE_IS_NETFUSE(in) ? ns_stack_changed(VFS_NS(in), sds, max) :
				       in->be->changed(in->st, sds, max);
}
static inline ssize_t vfs_be_sendmsg(struct vfs_inst *in, int sd,
				     const struct iovec *iov, int iovcnt,
				     int flags, const struct sockaddr *to,
				     socklen_t tolen)
{
	if (VFS_BE_IS_NETFUSE(in))
		return ns_sendmsg_sa(VFS_NS(in), sd, iov, iovcnt, flags,
				     (const union ns_sockaddr *)(const void *)to,
				     tolen);
	return in->be->sendmsg(in->st, sd, iov, iovcnt, flags, to, tolen);
}
static inline ssize_t vfs_be_recv(struct vfs_inst *in, int sd,
				  const struct iovec *iov, int iovcnt,
				  int flags)
{
	if (VFS_BE_IS_NETFUSE(in))
		return ns_recvmsg_sa(VFS_NS(in), sd, iov, iovcnt, flags, NULL,
				     NULL);
	return in->be->recvmsg(in->st, sd, iov, iovcnt, flags, NULL, NULL);
}

/* NETFUSE_STACK's backend (loaded once; NULL: refused, one line said
 * why); vfs_backend_load: the same for spec, for tests */
const struct nf_backend *vfs_backend_get(void);
const struct nf_backend *vfs_backend_load(const char *spec);

/* ---- addresses (addr.c) ------------------------------------------------ */
/* A program's address for a socket of family fam, as given (sockaddr_in,
 * or sockaddr_in6 with IPv4 as ::ffff:a.b.c.d), which is what the
 * stack's socket of that family takes, and what routing needs of it. */
enum {
	VFS_A_V4 = 0,      /* IPv4 (or mapped; or a dual socket's :: at bind) */
	VFS_A_KERNEL = 1,  /* let the kernel answer (bad length, family,
			    * mapped address on an IPV6_V6ONLY socket) */
	VFS_A_V6 = 2,      /* IPv6 (:: at bind: a v6-only socket's) */
};
struct vfs_addr {
	union ns_sockaddr sa;
	socklen_t len;
	int kind;          /* VFS_A_V4 / VFS_A_V6 */
	uint32_t v4_be;    /* VFS_A_V4: the IPv4 address (0: wildcard) */
	struct in6_addr v6;/* VFS_A_V6: the IPv6 address */
	uint16_t port_be;
};
/* Read (uaddr, len): VFS_A_* or -EFAULT. is_bind: :: is the wildcard
 * (IPv4's too unless v6only). */
int vfs_addr_in(int fam, int v6only, int is_bind, struct vfs_addr *a,
		long uaddr, long len);
/* The wildcard of family fam on port_be */
void vfs_addr_wild(int fam, uint16_t port_be, struct vfs_addr *a);
/* The errno for an address vfs_addr_in answered VFS_A_KERNEL on a
 * decided socket: too short (EINVAL) or of another family */
int vfs_addr_refused(int fam, long len);
/* Write sa (alen bytes) to (uaddr, *ulen) the Linux way (truncate,
 * report the full length); have 0: report length 0. 0 or -EFAULT /
 * -EINVAL. */
int vfs_addr_out(long uaddr, long ulen, const union ns_sockaddr *sa,
		 socklen_t alen, int have);
/* The kernel socket fd's IPV6_V6ONLY (0 for AF_INET). */
int vfs_addr_v6only(int fam, int fd);
/* Is kernel socket fd bound to its family's wildcard? *port_be: its
 * port. */
int vfs_addr_wild_port(int fam, int fd, uint16_t *port_be);

/* ---- the calls (sock.c, epoll.c) --------------------------------------- */
long vfs_sys_socket(const struct hook_call *c);
long vfs_sys_sock_call(const struct hook_call *c, struct vfs_sock *s);
long vfs_sys_splice(const struct hook_call *c);
long vfs_sys_close(int fd);
long vfs_sys_dup(const struct hook_call *c);
long vfs_sys_fcntl_dupfd(const struct hook_call *c);
long vfs_sys_close_range(const struct hook_call *c);
void vfs_sock_closed(struct vfs_sock *s);
uint32_t vfs_sock_events(struct vfs_inst *in, struct vfs_sock *s);
/* s's events from the instance(s) it lives in (a listener: the OR of its
 * replicas), switching the lock held (*held) as it goes. */
uint32_t vfs_sock_events_sw(struct vfs_sock *s, struct vfs_inst **held);
/* In a fork child (inside the fork call) */
void vfs_after_fork_child(void);
/* execve (exec.c): hand each connected TCP socket without close-on-exec
 * to a relay process, behind an AF_UNIX socketpair at the same fd */
void vfs_exec_relay(void);
/* fork(2) made by vfs/, counted as the program's; a call made by vfs/ as
 * if the program made it (HOOK_PASSTHROUGH: the kernel's fd) */
long vfs_fork_raw(void);
long vfs_call(const struct hook_call *c);
/* 1 if fd is one the stack opened for itself (tap queues, eventfds) */
int vfs_inst_own_fd(int fd);
/* exit_group: close every netfuse socket (FIN now, as the kernel would on
 * exit), then let the stack send what it can for a short while. */
void vfs_exit_close_all(void);

long vfs_sys_epoll_create(const struct hook_call *c);
long vfs_sys_epoll_ctl(const struct hook_call *c, struct vfs_epoll *ep);
long vfs_sys_epoll_wait(const struct hook_call *c, struct vfs_epoll *ep);
long vfs_sys_poll(const struct hook_call *c);
long vfs_sys_select(const struct hook_call *c);
void vfs_epoll_closed(struct vfs_epoll *ep);

#endif
