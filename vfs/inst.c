/*
 * inst.c: the process's stack instances, their locks, their progress
 * threads, and how program threads wait on them.
 *
 * One instance per queue pair (NETFUSE_QUEUES, default 1), each with its
 * own stack, lock, progress thread and waiters; every stack call made
 * under the owning instance's lock (DESIGN.md rule 2, "reached under the
 * owner's lock"). A thread is bound to one instance (vfs_inst_mine: the
 * one of the CPU it first ran a netfuse call on), where its new sockets
 * go; a socket is owned by the instance its flow lands on. The lock is
 * uncontended while one program thread per instance does network work;
 * the progress thread takes it only when a frame arrived or a timer is
 * due. Frames that land on the wrong queue are handed over (steer.c).
 *
 * Progress (rule 3): a thread that sleeps on the queue's wake fd (io.h
 * wake protocol) and on the stack's next deadline, polls the stack, and
 * wakes program threads whose sockets may have become ready. Program
 * threads that make calls which can arm a timer ask the stack for its new
 * deadline and kick the progress thread (ctl_fd) when it is earlier than
 * the one it sleeps on, so timers fire on time while the program is
 * blocked elsewhere or busy.
 *
 * Waiting (rule 4): a blocking call spins for its budget (vfs/spin.h:
 * adaptive, or NETFUSE_SPIN_US) polling the
 * stack itself, then registers a waiter (its thread's eventfd) under the
 * lock, re-checks, and sleeps in ppoll on that eventfd (plus the kernel
 * fds of the same wait, for poll/select/epoll, and the queue's wake fd).
 * Every readiness change reported by ns_stack_changed() writes the
 * eventfd of the waiters it concerns (concerns(): the socket's own
 * waiters, the waiters of the epoll set it belongs to, all poll/select
 * waiters), at most once per sleep.
 *
 * The instance comes from libnfio.so (DPDK), loaded with dlopen under the
 * hook's guard on the first socket routed to netfuse (vfs_inst_get), or
 * from the caller (vfs_attach: tests, in-memory links).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "io/io.h"
#include "vfs/spin.h"
#include "vfs/vfs_priv.h"

#define RX_BATCH 32

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
/* in the arena (shm.c): every forked process uses the same instances */
static struct vfs_inst *the_insts;
static __thread struct vfs_inst *tls_inst;
static __thread pid_t tls_inst_pid;
static __thread unsigned tls_inst_gen;
static atomic_uint inst_gen = 1; /* bumped by every attach (tests) */
static __thread int tls_evfd = -1;
static void (*p_io_fork_child)(void); /* io/'s nf_io_fork_child */
static __thread pid_t tls_evfd_pid;

static long raw3(long nr, long a, long b, long c)
{
	return hook_raw_syscall(nr, a, b, c, 0, 0, 0);
}

uint64_t vfs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void evfd_signal(int fd)
{
	uint64_t one = 1;
	(void)raw3(SYS_write, fd, (long)&one, 8);
}

static void evfd_drain(int fd)
{
	uint64_t v;
	(void)raw3(SYS_read, fd, (long)&v, 8);
}

/* ---- readiness changes ------------------------------------------------ */
static void wake(struct vfs_inst *in, struct vfs_waiter *w)
{
	if (atomic_load_explicit(&w->woken, memory_order_relaxed) ||
	    atomic_exchange(&w->woken, 1))
		return;
	if (vfs_procs_mine(w))
		evfd_signal(w->evfd);
	else
		vfs_procs_kick(w); /* a thread of another process */
	in->wakeups_sent++;
}

static void wake_all_locked(struct vfs_inst *in)
{
	struct vfs_waiter *w;
	for (w = in->waiters; w; w = w->next[in->idx])
		wake(in, w);
}

void vfs_inst_wake_all_locked(struct vfs_inst *in)
{
	wake_all_locked(in);
}

void vfs_inst_wake_ep_locked(struct vfs_inst *in, struct vfs_epoll *ep)
{
	struct vfs_waiter *w;
	for (w = in->waiters; w; w = w->next[in->idx])
		if (w->ep == ep || (!w->ep && !w->sock))
			wake(in, w);
}

/* Does a readiness change of s concern w? */
static int concerns(const struct vfs_waiter *w, const struct vfs_sock *s)
{
	if (w->sock)
		return w->sock == s;
	if (w->ep)
		return s->ep_owner == w->ep || s->ep_owner == VFS_EP_MANY;
	/* poll/select waiters are woken together (not per waiter yet) */
	return s->npoll > 0; /* poll/select: a socket some poll waits on */
}

static void notify_locked(struct vfs_inst *in)
{
	int sds[64], n, i;
	while ((n = vfs_be_changed(in, sds, 64)) > 0) {
		for (i = 0; i < n; i++) {
			struct vfs_sock *s;
			struct vfs_waiter *w;
			if ((unsigned)sds[i] >= in->max_socks)
				continue;
			s = in->by_sd[sds[i]];
			if (!s)
				continue;
			atomic_fetch_add(&s->ev_seq, 1);
			vfs_ep_mark_locked(s);
			for (w = in->waiters; w; w = w->next[in->idx])
				if (concerns(w, s))
					wake(in, w);
		}
	}
}

/* Contention is counted (telemetry, bench-scale): a failed trylock
 * costs what the lock's own first attempt would */
void vfs_inst_lock(struct vfs_inst *in)
{
	if (vfs_mutex_trylock(&in->lock) == 0)
		return;
	atomic_fetch_add_explicit(&in->contended, 1, memory_order_relaxed);
	vfs_mutex_lock(&in->lock);
}

/* The thread's instance, chosen at its first netfuse call and kept for
 * its life: a thread pinned to one CPU (sched_setaffinity, taskset -c N
 * per thread, the usual kernel-bypass deployment) gets that CPU's
 * instance; others take the instances in turn, in the order of their
 * first call (memcached -t 2: the listener thread 0, the workers 1, 0;
 * two client threads 0 and 1), since where an unpinned thread runs at
 * that moment says little (two threads started together often share a
 * CPU for their first microseconds). One system call per thread. */
static atomic_uint inst_rr;

struct vfs_inst *vfs_inst_mine(void)
{
	int n = vfs_g.ninst;
	pid_t pid = (pid_t)vfs_g.pid;

	if (tls_inst && tls_inst_pid == pid &&
	    tls_inst_gen == atomic_load_explicit(&inst_gen,
						 memory_order_relaxed))
		return tls_inst;
	tls_inst_gen = atomic_load(&inst_gen);
	if (n <= 1) {
		tls_inst = vfs_g.inst;
	} else {
		cpu_set_t set;
		int k = -1, c;
		CPU_ZERO(&set);
		if (raw3(SYS_sched_getaffinity, 0, sizeof(set), (long)&set) > 0 &&
		    CPU_COUNT(&set) == 1)
			for (c = 0; c < CPU_SETSIZE && k < 0; c++)
				if (CPU_ISSET(c, &set))
					k = c % n;
		if (k < 0)
			k = (int)(atomic_fetch_add(&inst_rr, 1) % (unsigned)n);
		tls_inst = vfs_g.insts[k];
	}
	tls_inst_pid = pid;
	return tls_inst;
}

void vfs_inst_unlock(struct vfs_inst *in)
{
	notify_locked(in);
	pthread_mutex_unlock(&in->lock);
}

/* lock held; returns frames received */
static unsigned poll_rx_locked(struct vfs_inst *in)
{
	struct nf_buf *bufs[RX_BATCH];
	unsigned total = 0;
	uint64_t now = vfs_now_ns();
	uint16_t n;
	int rounds = 0;
	if (__builtin_expect(atomic_load_explicit(&vfs_g.inst_state,
			     memory_order_relaxed) == VFS_STACK_PARENTS, 0))
		return 0; /* a fork child's copy of a private backend */
	if (atomic_load_explicit(&in->inbox.pending, memory_order_relaxed))
		total += vfs_steer_drain_locked(in, now);
	do {
		n = in->ops->rx_burst ? in->ops->rx_burst(in->ops->q, bufs,
							  RX_BATCH) : 0;
		in->next_deadline = vfs_be_poll(in, bufs, n, now);
		total += n;
	} while (n == RX_BATCH && ++rounds < 8);
	in->polls++;
	return total;
}

/* Several threads spinning on one instance only take the lock from each
 * other and, when they share a core (memcached -t 4 on 2 cores), each
 * other's time slices: one spins, polling for all; the others sleep and
 * are woken through their eventfds by the spinner's polls. The right to
 * spin is a lease that ends with the spinner's own budget, so a spinner
 * that leaves (work found, or blocked elsewhere) hands it on within
 * NETFUSE_SPIN_US without a release step. Two threads claiming at once
 * both spin for one round; the later claim wins. */
static __thread char tls_me;

/* The calling thread, told apart from the threads of other processes
 * (a fork child's thread has its parent's TLS address) */
static uintptr_t me_token(void)
{
	return (uintptr_t)&tls_me ^ ((uintptr_t)vfs_g.pid << 47);
}

int vfs_spin_ok(struct vfs_inst *in, uint64_t now, uint64_t t0,
		uint64_t budget)
{
	uintptr_t me = me_token();
	if (atomic_load_explicit(&in->spin_owner, memory_order_relaxed) != me) {
		if (now < atomic_load_explicit(&in->spin_until,
					       memory_order_relaxed))
			return 0;
		atomic_store_explicit(&in->spin_owner, me, memory_order_relaxed);
	}
	atomic_store_explicit(&in->spin_until, t0 + budget,
			      memory_order_relaxed);
	return 1;
}

/* A net_memif client's link comes up when DPDK's control thread has
 * reached the server's socket, in the background after start-up; frames
 * sent before are lost, and a first connect then paid the 1 s ARP/SYN
 * retransmission (half of the netfuse pingpong runs). Servers do not
 * wait: they send nothing before a client reaches them. */
void vfs_inst_link_wait(struct vfs_inst *in)
{
	uint64_t end;
	if (!in->link_up || atomic_load_explicit(&in->link_seen,
						 memory_order_relaxed))
		return;
	end = vfs_now_ns() + 1000000000ull;
	while (!in->link_up(in->io) && vfs_now_ns() < end) {
		struct timespec ts = { 0, 1000000 };
		vfs_inst_poll_try(in);
		(void)raw3(SYS_nanosleep, (long)&ts, 0, 0);
	}
	atomic_store(&in->link_seen, 1);
}

static void disarm_locked(struct vfs_inst *in)
{
	if (in->q_armed) {
		in->ops->wake_disarm(in->ops->q);
		in->q_armed = 0;
	}
}

#define VFS_ACTIVE_NS 1000000ull

/* A program thread polls: it counts as active for 1 ms (or its spin
 * budget, if longer) from now: it will likely poll again, or sleep and
 * arm the queue itself. A window as short as a light-load budget (2 us)
 * had the progress thread arm, be disarmed and kicked, for every
 * request: a futex and an eventfd write each time. Rule 3 bounds it: a
 * program gone elsewhere leaves the queue to the progress thread within
 * 1 ms. While it is active the progress thread does not arm the queue;
 * if the progress thread had armed it, disarm it (a polling thread would
 * pay the peer's signal and its read per frame) and let the progress
 * thread look again (it may sleep long, counting on that arm). */
void vfs_inst_poll_try(struct vfs_inst *in)
{
	uint64_t b = vfs_spin_budget(),
		 until = vfs_now_ns() + (b > VFS_ACTIVE_NS ? b : VFS_ACTIVE_NS);

	atomic_store_explicit(&in->active_owner, me_token(),
			      memory_order_relaxed);
	if (until > atomic_load_explicit(&in->active_until,
					 memory_order_relaxed))
		atomic_store_explicit(&in->active_until, until,
				      memory_order_relaxed);
	if (vfs_mutex_trylock(&in->lock) != 0)
		return;
	if (in->q_armed && !in->prog_arms && in->wake_prog_arm) {
		disarm_locked(in);
		evfd_signal(in->ctl_fd);
	}
	(void)poll_rx_locked(in);
	vfs_inst_unlock(in);
}

void vfs_inst_bind(struct vfs_inst *in)
{
	tls_inst = in;
	tls_inst_pid = (pid_t)vfs_g.pid;
	tls_inst_gen = atomic_load(&inst_gen);
}

/* ---- the progress thread ---------------------------------------------- */
void vfs_inst_timer_check(struct vfs_inst *in)
{
	uint64_t d = vfs_be_poll(in, NULL, 0, vfs_now_ns());
	in->next_deadline = d;
	if (d < in->sleep_until) {
		in->sleep_until = 0;
		evfd_signal(in->ctl_fd);
	}
}

/* Every signal but the synchronous ones: the hook's SIGSYS (Syscall
 * User Dispatch) and SIGSEGV must still reach it, and a fault with its
 * signal blocked kills the process. */
void vfs_async_signals(sigset_t *s)
{
	sigfillset(s);
	sigdelset(s, SIGSYS);
	sigdelset(s, SIGSEGV);
	sigdelset(s, SIGBUS);
	sigdelset(s, SIGILL);
	sigdelset(s, SIGFPE);
	sigdelset(s, SIGTRAP);
}

static void *progress_main(void *arg)
{
	struct vfs_inst *in = arg;
	uint64_t last_reap = 0;
	sigset_t all;
	vfs_async_signals(&all);
	/* but the signal arming raises on this thread (net_tap's: blocked,
	 * it stays pending and the driver's rx trigger never moves) */
	if (in->ops && in->ops->wake_signal > 0)
		sigdelset(&all, in->ops->wake_signal);
	/* the program's handlers never run here; our calls bypass the
	 * policy. SETMASK: it was started with every async signal blocked */
	(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0,
			       8, 0, 0);
	/* its timed sleeps end when a spinner's lease does: 1 us of slack
	 * instead of the default 50 */
	(void)raw3(SYS_prctl, PR_SET_TIMERSLACK, 1000, 0);
	in->thr_tid = (int)raw3(SYS_gettid, 0, 0, 0);
	hook_guard_enter();
	while (!atomic_load(&in->stop)) {
		struct pollfd pf[2];
		int npf = 0, armed = 0, wfd;
		uint64_t now, dl, lease;
		unsigned got;

		/* what processes that died still held (procs.c) */
		now = vfs_now_ns();
		if (in->idx == 0 && now - last_reap >= 500000000ull) {
			last_reap = now;
			vfs_procs_reap();
		}

		/* A program thread polled in the last 1 ms (or its spin
		 * budget): its polls run the queue, the timers and the
		 * inbox, so leave the lock to it and look again when its
		 * lease ends (taking the lock now and then only made it
		 * wait: bench-scale's contended acquisitions). A program
		 * thread that sleeps with the queue armed (memif) still
		 * leaves it to this thread within 1 ms (rule 3). */
		now = vfs_now_ns();
		lease = atomic_load_explicit(&in->active_until,
					     memory_order_relaxed);
		if (lease > now + 20000) {
			struct timespec ts = { 0, (long)(lease - now) };
			pf[0].fd = in->ctl_fd;
			pf[0].events = POLLIN;
			pf[0].revents = 0;
			if (hook_raw_syscall(SYS_ppoll, (long)pf, 1, (long)&ts,
					     0, 8, 0) > 0)
				evfd_drain(in->ctl_fd);
			continue;
		}
		vfs_mutex_lock(&in->lock);
		/* Who watches the queue while this thread sleeps:
		 * - a program thread asleep that armed it (prog_arms): it
		 *   wakes on the next frame; look again within 1 ms in case
		 *   it woke and went to work elsewhere (rule 3);
		 * - a program thread that polls (spinning, or working
		 *   between waits) until 1 ms after its last poll
		 *   (active_until): arming now would make the peer signal,
		 *   and this thread wake on the program's core, for every
		 *   frame; sleep until then;
		 * - else this thread: arm, sleep on the wake fd. */
		now = vfs_now_ns();
		lease = atomic_load_explicit(&in->active_until,
					     memory_order_relaxed);
		if (!in->prog_arms && !in->q_armed && lease <= now &&
		    in->ops->wake_fd >= 0 && in->ops->wake_arm &&
		    in->ops->wake_arm(in->ops->q) == 0)
			armed = in->q_armed = 1;
		wfd = in->ops->wake_fd; /* may change on arming (memif) */
		got = poll_rx_locked(in); /* also catches what raced the arming */
		dl = in->next_deadline;
		now = vfs_now_ns();
		if (!got && dl > now) {
			/* without a wake fd, look at the queue every 1 ms */
			uint64_t cap = armed ? 1000000000ull : 1000000ull;
			if (!armed && !in->prog_arms && lease > now &&
			    lease - now < cap)
				cap = lease - now;
			in->sleep_until = dl - now > cap ? now + cap : dl;
		} else {
			in->sleep_until = 0;
		}
		dl = in->sleep_until;
		notify_locked(in);
		pthread_mutex_unlock(&in->lock);

		if (dl) {
			struct timespec ts;
			uint64_t t = dl > now ? dl - now : 0;
			ts.tv_sec = (time_t)(t / 1000000000ull);
			ts.tv_nsec = (long)(t % 1000000000ull);
			pf[npf].fd = in->ctl_fd;
			pf[npf++].events = POLLIN;
			if (armed) {
				pf[npf].fd = wfd;
				pf[npf++].events = POLLIN;
			}
			(void)hook_raw_syscall(SYS_ppoll, (long)pf, npf, (long)&ts,
					       0, 8, 0);
			if (pf[0].revents & POLLIN)
				evfd_drain(in->ctl_fd);
		}
		if (armed) {
			vfs_mutex_lock(&in->lock);
			if (!in->prog_arms)
				disarm_locked(in); /* unless a program did */
			pthread_mutex_unlock(&in->lock);
		}
	}
	hook_guard_leave();
	return NULL;
}

/* Progress threads this process runs for instances whose process is
 * gone (vfs_inst_takeover) */
static pthread_t taken_thr[VFS_MAX_INST];
static int (*p_io_takeover)(void); /* io/'s nf_io_takeover */

void vfs_inst_takeover(void)
{
	int i, took = 0, me = (int)vfs_g.pid;
	sigset_t all, old;
	if (atomic_load(&vfs_g.inst_state) != 1 || !me)
		return;
	for (i = 0; i < vfs_g.ninst; i++) {
		struct vfs_inst *in = vfs_g.insts[i];
		int pid = atomic_load(&in->prog_pid);
		if (!pid || pid == me || !vfs_procs_dead(pid) ||
		    !atomic_compare_exchange_strong(&in->prog_pid, &pid, me))
			continue;
		vfs_async_signals(&all);
		(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all,
				       (long)&old, 8, 0, 0);
		hook_guard_enter();
		if (pthread_create(&taken_thr[i], NULL, progress_main, in) == 0)
			took++;
		else
			atomic_store(&in->prog_pid, pid); /* another may */
		hook_guard_leave();
		(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK,
				       (long)&old, 0, 8, 0, 0);
	}
	if (took) {
		if (p_io_takeover)
			(void)p_io_takeover();
		vfs_log(2, "the process that ran the stack's progress is gone: "
			"pid %d runs it for %d instance(s)", me, took);
	}
}

int vfs_inst_start(struct vfs_inst *in)
{
	int r;
	in->ctl_fd = (int)raw3(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0);
	if (in->ctl_fd < 0)
		return in->ctl_fd;
	atomic_store(&in->stop, 0);
	hook_guard_enter();
	r = pthread_create(&in->thr, NULL, progress_main, in);
	hook_guard_leave();
	if (r) {
		(void)raw3(SYS_close, in->ctl_fd, 0, 0);
		return -r;
	}
	in->thr_started = 1;
	atomic_store(&in->prog_pid, (int)(vfs_g.pid ? vfs_g.pid :
					  raw3(SYS_getpid, 0, 0, 0)));
	return 0;
}

void vfs_inst_stop(struct vfs_inst *in)
{
	if (!in->thr_started)
		return;
	atomic_store(&in->stop, 1);
	evfd_signal(in->ctl_fd);
	pthread_join(in->thr, NULL);
	in->thr_started = 0;
	(void)raw3(SYS_close, in->ctl_fd, 0, 0);
	in->ctl_fd = -1;
}

/* The instances' memory, in the shared arena (made once) */
static int insts_mem(void)
{
	if (!the_insts)
		the_insts = vfs_shm_alloc(sizeof(*the_insts) * VFS_MAX_INST);
	return the_insts ? 0 : -ENOMEM;
}

static int inst_setup(struct vfs_inst *in, const struct nf_backend *be,
		      struct nf_be_inst *st, struct nf_io_ops *ops,
		      uint32_t ip_be, uint8_t plen, int idx)
{
	memset(in, 0, sizeof(*in));
	in->idx = idx;
	snprintf(in->label, sizeof(in->label), "netfuse#%d", idx);
	in->ctl_fd = -1;
	/* robust: a process killed holding one (a worker SIGKILLed in a
	 * call) must not stall every other process on the instance. They
	 * were not robust for a while because DPDK's telemetry thread then
	 * waited seconds behind spinning threads; telemetry no longer
	 * waits for the lock (tel_hold) */
	vfs_mutex_init(&in->lock);
	vfs_mutex_init(&in->inbox.m);
	in->be = be;
	in->st = st;
	in->ops = ops;
	in->max_socks = be->max_socks(st);
	in->by_sd = vfs_shm_alloc(in->max_socks * sizeof(*in->by_sd));
	if (!in->by_sd)
		return -ENOMEM;
	in->waiters = NULL;
	in->nwaiters = 0;
	in->next_deadline = 0;
	in->wake_is_timer = !!(ops->wake_flags & NF_IO_WF_TIMER);
	in->wake_prog_arm = !!(ops->wake_flags & NF_IO_WF_ANY);
	in->ip_be = ip_be;
	in->mask_be = plen ? htonl(0xffffffffu << (32 - plen)) : 0;
	vfs_g.route.ip_be = ip_be;
	vfs_g.route.mask_be = in->mask_be;
	return 0;
}

/* Publish n set-up instances and start their progress threads */
static int insts_start(int n)
{
	int i, r = 0;
	for (i = 0; i < n; i++)
		vfs_g.insts[i] = &the_insts[i];
	vfs_g.ninst = n;
	vfs_steer_setup();
	for (i = 0; i < n && r == 0; i++)
		r = vfs_inst_start(&the_insts[i]);
	if (r < 0) {
		while (--i >= 0)
			vfs_inst_stop(&the_insts[i]);
		vfs_g.ninst = 0;
		return r;
	}
	vfs_g.inst = &the_insts[0];
	atomic_fetch_add(&inst_gen, 1);
	return 0;
}

int vfs_attach_be(int n, const struct nf_backend *be,
		  struct nf_be_inst *const *insts,
		  struct nf_io_ops *const *ops, uint32_t ip_be,
		  uint8_t prefix_len)
{
	int r = 0, i;
	if (n < 1 || n > VFS_MAX_INST || !be)
		return -EINVAL;
	if (atomic_load(&vfs_g.inst_state) == 1)
		return -EBUSY;
	if (vfs_fdtab_init(1024) < 0 || insts_mem() < 0)
		return -ENOMEM;
	vfs_g.be_netfuse = ns_backend();
	for (i = 0; i < n && r == 0; i++)
		r = inst_setup(&the_insts[i], be, insts[i], ops[i], ip_be,
			       prefix_len, i);
	if (r == 0)
		r = insts_start(n);
	if (r < 0)
		return r;
	atomic_store(&vfs_g.inst_state, 1);
	return 0;
}

int vfs_attach_n(int n, struct ns_stack *const *st,
		 struct nf_io_ops *const *ops, uint32_t ip_be,
		 uint8_t prefix_len)
{
	struct nf_be_inst *bi[VFS_MAX_INST];
	int i;
	if (n < 1 || n > VFS_MAX_INST)
		return -EINVAL;
	for (i = 0; i < n; i++)
		bi[i] = (struct nf_be_inst *)(void *)st[i];
	return vfs_attach_be(n, ns_backend(), bi, ops, ip_be, prefix_len);
}

int vfs_attach(struct ns_stack *st, struct nf_io_ops *ops, uint32_t ip_be,
	       uint8_t prefix_len)
{
	return vfs_attach_n(1, &st, &ops, ip_be, prefix_len);
}

void vfs_detach(void)
{
	int i;
	if (atomic_load(&vfs_g.inst_state) != 1)
		return;
	for (i = 0; i < vfs_g.ninst; i++)
		vfs_inst_stop(vfs_g.insts[i]);
	atomic_store(&vfs_g.inst_state, 0);
	vfs_g.inst = NULL;
	for (i = 0; i < vfs_g.ninst; i++) {
		struct vfs_inst *in = vfs_g.insts[i];
		vfs_shm_free(in->by_sd);
		in->by_sd = NULL;
		pthread_mutex_destroy(&in->lock);
		vfs_g.insts[i] = NULL;
	}
	vfs_g.ninst = 0;
}

/* ---- telemetry (/netfuse/stats, /netfuse/sockets through io/) ---------- */
typedef void (*tel_u64_fn)(struct nf_io_tel *, const char *, uint64_t);
typedef void (*tel_str_fn)(struct nf_io_tel *, const char *, const char *);
typedef void (*tel_set_fn)(struct nf_io *, nf_io_tel_fn, void *);
typedef struct nf_io_tel *(*tel_obj_begin_fn)(struct nf_io_tel *);
typedef void (*tel_obj_end_fn)(struct nf_io_tel *, const char *,
			       struct nf_io_tel *);
static tel_u64_fn p_tel_u64;
static tel_str_fn p_tel_str;
static tel_obj_begin_fn p_tel_obj_begin;
static tel_obj_end_fn p_tel_obj_end;

/* The telemetry thread's hold on an instance for reading its counters:
 * the lock if it comes within about 2 ms, else none. Threads spinning on
 * a busy instance take and release its lock back to back, and a mutex
 * waiter asleep on it could wait for seconds (itest_queues.sh's samples
 * came after the load had ended). Counters are 64-bit words each written
 * by the lock's holder: read without it they are each whole, only not
 * a snapshot of one instant. 1 if the lock is held (to release). */
static int tel_hold(struct vfs_inst *in)
{
	struct timespec ts = { 0, 20000 };
	int i;
	for (i = 0; i < 100; i++) {
		if (pthread_mutex_trylock(&in->lock) == 0)
			return 1;
		(void)hook_raw_syscall(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
	}
	return 0;
}

/* Runs on DPDK's telemetry thread (tel_hold). The stack counters are the
 * sum over the instances. */
static int tel_stats(void *arg, struct nf_io_tel *t, const char *params)
{
	enum { MAXC = 150 };
	uint64_t sv[MAXC], polls = 0, wakeups = 0;
	const char *const *names = NULL;
	unsigned i, n = 0;
	int k;
	(void)params;
	(void)arg;
	memset(sv, 0, sizeof(sv));
	for (k = 0; k < vfs_g.ninst; k++) {
		struct vfs_inst *in = vfs_g.insts[k];
		int held = tel_hold(in);
		const uint64_t *v = in->be->counters(in->st, &names, &n);
		if (n > MAXC)
			n = MAXC;
		for (i = 0; i < n; i++)
			sv[i] += v[i];
		polls += in->polls;
		wakeups += in->wakeups_sent;
		if (held)
			pthread_mutex_unlock(&in->lock);
	}
	for (i = 0; i < n && names; i++)
		p_tel_u64(t, names[i], sv[i]);
	p_tel_u64(t, "vfs_socks_live",
		  (uint64_t)atomic_load(&vfs_g.nsocks_live));
	for (k = 0; k < VFS_FB_COUNT; k++) {
		char name[48];
		snprintf(name, sizeof(name), "vfs_fallback_%s",
			 vfs_fallback_names[k]);
		p_tel_u64(t, name, atomic_load(&vfs_g.fallbacks[k]));
	}
	p_tel_u64(t, "vfs_polls", polls);
	p_tel_u64(t, "vfs_wakeups", wakeups);
	p_tel_u64(t, "vfs_sigpipes", atomic_load(&vfs_g.sigpipes));
	p_tel_u64(t, "vfs_exit_unacked_conns",
		  atomic_load(&vfs_g.exit_unacked_conns));
	p_tel_u64(t, "vfs_exit_unacked_bytes",
		  atomic_load(&vfs_g.exit_unacked_bytes));
	p_tel_u64(t, "vfs_instances", (uint64_t)vfs_g.ninst);
	return 0;
}

/* The fd the program holds each (instance, sd) by (its lowest; -1: none,
 * e.g. a connection not yet accepted), listener replicas included */
static int *tel_fd_map(uint32_t max)
{
	int *m = malloc(sizeof(int) * (size_t)vfs_g.ninst * max);
	int fd, hi = atomic_load(&vfs_fdt.hi), i;
	if (!m)
		return NULL;
	for (i = 0; i < vfs_g.ninst * (int)max; i++)
		m[i] = -1;
	for (fd = 0; fd < hi; fd++) {
		struct vfs_obj *o = vfs_fd_get(fd);
		struct vfs_sock *s = (struct vfs_sock *)o;
		struct vfs_inst *in;
		if (!o)
			continue;
		in = o->kind == VFS_K_SOCK ? vfs_sock_inst(s) : NULL;
		if (in && s->sd >= 0 && (uint32_t)s->sd < max &&
		    m[in->idx * (int)max + s->sd] < 0)
			m[in->idx * (int)max + s->sd] = fd;
		if (in && s->rsd)
			for (i = 0; i < vfs_g.ninst; i++)
				if (s->rsd[i] >= 0 && (uint32_t)s->rsd[i] < max &&
				    m[i * (int)max + s->rsd[i]] < 0)
					m[i * (int)max + s->rsd[i]] = fd;
		vfs_obj_put(o);
	}
	return m;
}

static void tel_addr(struct nf_io_tel *t, const char *name, int v6,
		     uint32_t a_be, const uint8_t *a6, uint16_t p_be)
{
	char s[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];
	if (v6 && inet_ntop(AF_INET6, a6, ip, sizeof(ip)))
		snprintf(s, sizeof(s), "[%s]:%u", ip, ntohs(p_be));
	else if (!v6 && inet_ntop(AF_INET, &a_be, ip, sizeof(ip)))
		snprintf(s, sizeof(s), "%s:%u", ip, ntohs(p_be));
	else
		snprintf(s, sizeof(s), "?");
	p_tel_str(t, name, s);
}

/* Sockets of every instance, one object each named INSTANCE_SD: fd,
 * state, addresses, queues, and for TCP what `ss -i` shows */
static int tel_sockets(void *arg, struct nf_io_tel *t, const char *params)
{
	uint32_t sd, n = 0, max = vfs_g.ninst ? vfs_g.insts[0]->max_socks : 0;
	int k, *fds;
	(void)params;
	(void)arg;
	if (!p_tel_obj_begin || !p_tel_obj_end || !max)
		return 0;
	fds = tel_fd_map(max);
	for (k = 0; k < vfs_g.ninst; k++) {
		struct vfs_inst *in = vfs_g.insts[k];
		for (sd = 0; sd < max && n < 250; sd++) {
			struct nf_be_sock_info si;
			struct nf_io_tel *o;
			char name[24];
			int r;
			vfs_mutex_lock(&in->lock);
			r = in->be->sock_info(in->st, (int)sd, &si);
			pthread_mutex_unlock(&in->lock);
			if (r < 0 || !(o = p_tel_obj_begin(t)))
				continue;
			snprintf(name, sizeof(name), "%d_%u", k, sd); /* DPDK: [A-Za-z0-9_/] */
			if (fds && fds[k * (int)max + (int)sd] >= 0) /* else none */
				p_tel_u64(o, "fd", (uint64_t)fds[k * (int)max +
							      (int)sd]);
			p_tel_u64(o, "instance", (uint64_t)k);
			p_tel_u64(o, "sd", sd);
			p_tel_str(o, "proto", si.tcp ? "tcp" : "udp");
			p_tel_str(o, "state", si.state);
			p_tel_u64(o, "orphan", si.orphan);
			tel_addr(o, "local", si.v6, si.lip_be, si.lip6,
				 si.lport_be);
			tel_addr(o, "peer", si.v6, si.rip_be, si.rip6,
				 si.rport_be);
			p_tel_u64(o, "recv_q", si.rq);
			p_tel_u64(o, "send_q", si.sq);
			if (si.tcp) {
				p_tel_u64(o, "cwnd", si.cwnd);
				p_tel_u64(o, "ssthresh", si.ssthresh);
				p_tel_u64(o, "snd_wnd", si.snd_wnd);
				p_tel_u64(o, "mss", si.mss);
				p_tel_u64(o, "rtt_us", si.rtt_us);
				p_tel_u64(o, "rttvar_us", si.rttvar_us);
				p_tel_u64(o, "rto_ms", si.rto_ms);
				p_tel_u64(o, "retrans", si.retrans);
			}
			p_tel_obj_end(t, name, o);
			n++;
		}
	}
	free(fds);
	return 0;
}

/* One instance (params: its index): /netfuse/instances */
static int tel_instance(void *arg, struct nf_io_tel *t, const char *params)
{
	int k = atoi(params);
	struct vfs_inst *in;
	uint64_t polls, steered_in, steered_out, full, conns;
	uint64_t rx = 0, tx = 0, shared = 0;
	int held;
	(void)arg;
	if (k < 0 || k >= vfs_g.ninst)
		return -ENOENT;
	in = vfs_g.insts[k];
	held = tel_hold(in);
	{
		const char *const *names;
		unsigned n, i;
		const uint64_t *v = in->be->counters(in->st, &names, &n);
		for (i = 0; i < n; i++) {
			if (!strcmp(names[i], "rx_frames"))
				rx = v[i];
			else if (!strcmp(names[i], "tx_frames"))
				tx = v[i];
			else if (!strcmp(names[i], "arp_shared_in"))
				shared = v[i];
		}
	}
	polls = in->polls;
	steered_in = in->steered_in;
	steered_out = in->steered_out;
	full = in->steer_full;
	conns = in->be->established(in->st); /* reads each slot's state */
	if (held)
		pthread_mutex_unlock(&in->lock);
	if (p_tel_str)
		p_tel_str(t, "backend", in->be->name);
	p_tel_u64(t, "queue", (uint64_t)in->ops->queue_id);
	p_tel_u64(t, "conns", conns);
	p_tel_u64(t, "rx_packets", rx);
	p_tel_u64(t, "tx_packets", tx);
	p_tel_u64(t, "steered_in", steered_in);
	p_tel_u64(t, "steered_out", steered_out);
	p_tel_u64(t, "steer_ring_full", full);
	p_tel_u64(t, "arp_shared_in", shared);
	p_tel_u64(t, "cross_instance_calls",
		  atomic_load(&in->foreign_calls));
	p_tel_u64(t, "moved_in", atomic_load(&in->moved_in));
	p_tel_u64(t, "moved_out", atomic_load(&in->moved_out));
	p_tel_u64(t, "move_failed", atomic_load(&in->move_failed));
	p_tel_u64(t, "lock_contentions", atomic_load(&in->contended));
	p_tel_u64(t, "polls", polls);
	p_tel_u64(t, "progress_thread_tid", (uint64_t)in->thr_tid);
	return 0;
}

/* ---- lazy loading of libnfio.so (DPDK) --------------------------------- */
typedef int (*cfg_fn)(struct nf_io_config *);
typedef int (*init_fn)(struct nf_io **, const struct nf_io_config *, uint32_t);
typedef struct nf_io_ops *(*queue_fn)(struct nf_io *, uint16_t);

static int load_nfio(void)
{
	static struct nf_io_config cfg; /* large: keep off the program's stack */
	char path[4096];
	Dl_info di;
	void *h;
	cfg_fn f_cfg;
	init_fn f_init;
	queue_fn f_queue;
	struct nf_io *io = NULL;
	struct nf_io_ops *ops;
	uint16_t (*f_nbq)(const struct nf_io *);
	int nq, q;
	struct nf_backend_conf sc;
	const struct nf_backend *be;
	struct nf_be_inst *st;
	size_t sz;
	void *mem;
	char *slash;
	const char *env = getenv("NETFUSE_NFIO");
	int r;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		if (!dladdr((void *)vfs_inst_get, &di) || !di.dli_fname)
			return -ENOENT;
		snprintf(path, sizeof(path), "%s", di.dli_fname);
		slash = strrchr(path, '/');
		if (slash)
			snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path),
				 "libnfio.so");
		else
			snprintf(path, sizeof(path), "libnfio.so");
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		vfs_log(0, "cannot load %s (%s): build it with `make` or set "
			"NETFUSE_NFIO; every socket stays on the kernel stack",
			path, dlerror());
		return -ENOENT;
	}
	f_cfg = (cfg_fn)(uintptr_t)dlsym(h, "nf_io_config_from_env");
	f_init = (init_fn)(uintptr_t)dlsym(h, "nf_io_init");
	f_queue = (queue_fn)(uintptr_t)dlsym(h, "nf_io_queue");
	f_nbq = (uint16_t (*)(const struct nf_io *))(uintptr_t)dlsym(h,
		"nf_io_nb_queues");
	if (!f_cfg || !f_init || !f_queue) {
		vfs_log(0, "%s lacks the io.h API: rebuild with `make`; every "
			"socket stays on the kernel stack", path);
		return -ENOENT;
	}
	if (f_cfg(&cfg) < 0) /* printed its one line */
		return -EINVAL;
	be = vfs_backend_get();
	if (!be)
		return -ENOENT; /* vfs_backend_get printed its one line */
	if ((be->flags & NF_BE_F_ONE_INST) && cfg.nb_queues > 1) {
		if (!cfg.queues_auto)
			vfs_log(0, "NETFUSE_QUEUES=%u: the %s backend runs one instance "
			"per process; using 1 (NETFUSE_STACK=netfuse runs one "
			"per queue)", cfg.nb_queues, be->name);
		cfg.nb_queues = 1;
		cfg.queues_auto = 0;
	}
	r = f_init(&io, &cfg, 4096);
	if (r < 0) { /* io/ printed its one line naming the fix */
		vfs_log(r == -ENOMEM ? 0 : 2, "DPDK start-up failed (%d): "
			"every socket stays on the kernel stack", r);
		return r;
	}
	nq = f_nbq ? f_nbq(io) : 1;
	if (nq < 1)
		nq = 1;
	if (nq > VFS_MAX_INST) {
		vfs_log(0, "NETFUSE_QUEUES=%d: at most %d stack instances; "
			"using %d", nq, VFS_MAX_INST, VFS_MAX_INST);
		nq = VFS_MAX_INST;
	}
	memset(&sc, 0, sizeof(sc));
	sc.ip_be = cfg.addr_be;
	sc.prefix_len = cfg.prefix_len;
	memcpy(sc.ip6, cfg.addr6, 16);
	sc.prefix6_len = cfg.prefix6_len;
	sc.gw_be = cfg.gw_be;
	memcpy(sc.gw6, cfg.gw6, 16);
	{
		const char *ms = getenv("NETFUSE_MAX_SOCKS");
		if (ms && atoi(ms) > 0)
			sc.max_socks = (uint32_t)atoi(ms);
		else
			sc.max_socks = 1024;
	}
	{
		/* per-socket ring size; sockets start at 64 KiB and grow
		 * (auto-tuning) up to it. Untouched ring pages cost no RSS
		 * (the memory is mapped MAP_NORESERVE below), so the default
		 * is as large as 2 GiB of address space for all rings
		 * allows, at most 1 MiB (a 100 Mbit/s path with 80 ms RTT
		 * needs 1 MB in flight), at least 64 KiB: 1 MiB with the
		 * default 1024 sockets, 64 KiB from 8192 sockets on. */
		const char *sb = getenv("NETFUSE_SOCKBUF_KB");
		uint64_t per = (1ull << 30) / sc.max_socks;
		uint32_t ring = 1u << 20;
		while (ring > (64u << 10) && ring > per)
			ring >>= 1;
		sc.sndbuf = sc.rcvbuf = ring;
		if (sb && *sb) {
			char *end;
			unsigned long kb = strtoul(sb, &end, 10);
			if (*end || kb < 4 || kb > 65536 || (kb & (kb - 1)))
				vfs_log(0, "NETFUSE_SOCKBUF_KB='%s' is not a power "
					"of two from 4 to 65536; using %u", sb,
					sc.rcvbuf / 1024);
			else
				sc.sndbuf = sc.rcvbuf = (uint32_t)kb * 1024;
		}
	}
	/* one stack per queue pair, each in its own mapping (no line
	 * shared between two instances' state) */
	if (insts_mem() < 0)
		return -ENOMEM;
	for (q = 0; q < nq; q++) {
		ops = f_queue(io, (uint16_t)q);
		if (!ops)
			return -ENODEV;
		/* the key of every number the stack must not let anyone
		 * guess (ISNs, SYN cookies, timestamp offsets, ports, IP
		 * IDs: RFC 6528, 6056, 7739): from the kernel's CSPRNG,
		 * never from the clock or pid (sc.seed stays 0: it is used
		 * only without a secret); stack/ makes no system call */
		if (raw3(SYS_getrandom, (long)sc.secret, sizeof(sc.secret), 0) !=
		    (long)sizeof(sc.secret)) {
			vfs_log(0, "getrandom failed: the stack's sequence "
				"numbers would be guessable; every socket stays "
				"on the kernel stack");
			return -EIO;
		}
		/* only the first instance announces the address */
		sc.announce = q == 0;
		sz = be->inst_size(&sc);
		/* NORESERVE: the rings are address space until a
		 * connection writes them (overcommit's heuristic would
		 * refuse 2 GiB on a small machine otherwise);
		 * page-aligned, so 64-byte aligned; shared, so the
		 * processes this one forks use the same stack (DESIGN.md,
		 * "Processes") */
		mem = sz ? mmap(NULL, sz, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0) : MAP_FAILED;
		if (mem == MAP_FAILED) {
			vfs_log(0, "cannot map %zu MiB for the stack "
				"(NETFUSE_MAX_SOCKS x 2 x NETFUSE_SOCKBUF_KB): "
				"every socket stays on the kernel stack",
				sz >> 20);
			return -ENOMEM;
		}
		st = be->inst_init(mem, sz, &sc, ops, vfs_now_ns());
		if (!st) {
			vfs_log(0, "stack configuration rejected (NETFUSE_ADDR "
				"/ NETFUSE_MAX_SOCKS): every socket stays on "
				"the kernel stack");
			munmap(mem, sz);
			return -EINVAL;
		}
		r = inst_setup(&the_insts[q], be, st, ops, cfg.addr_be,
			       cfg.prefix_len, q);
		if (r < 0)
			return r;
		the_insts[q].link_up = (int (*)(const void *))(uintptr_t)
			dlsym(h, "nf_io_link_up");
		the_insts[q].io = io;
	}
	p_io_fork_child = (void (*)(void))(uintptr_t)dlsym(h,
		"nf_io_fork_child");
	p_io_takeover = (int (*)(void))(uintptr_t)dlsym(h, "nf_io_takeover");
	r = insts_start(nq);
	if (r < 0)
		return r;
	{
		tel_set_fn f_stats = (tel_set_fn)(uintptr_t)dlsym(h,
			"nf_io_tel_set_stats");
		tel_set_fn f_socks = (tel_set_fn)(uintptr_t)dlsym(h,
			"nf_io_tel_set_sockets");
		p_tel_u64 = (tel_u64_fn)(uintptr_t)dlsym(h, "nf_io_tel_u64");
		p_tel_str = (tel_str_fn)(uintptr_t)dlsym(h, "nf_io_tel_str");
		p_tel_obj_begin = (tel_obj_begin_fn)(uintptr_t)dlsym(h,
			"nf_io_tel_obj_begin");
		p_tel_obj_end = (tel_obj_end_fn)(uintptr_t)dlsym(h,
			"nf_io_tel_obj_end");
		tel_set_fn f_insts = (tel_set_fn)(uintptr_t)dlsym(h,
			"nf_io_tel_set_instances");
		if (f_stats && f_socks && p_tel_u64 && p_tel_str) {
			f_stats(io, tel_stats, NULL);
			f_socks(io, tel_sockets, NULL);
			if (f_insts)
				f_insts(io, tel_instance, NULL);
		}
	}
	vfs_log(2, "user-space stack up: %d instance(s), one per queue", nq);
	return 0;
}

/* The fds opened while the stack starts (DPDK's tap queues, memfds,
 * config file, telemetry socket, eventfds, our progress thread's fds) are
 * ours, not the program's: make them close-on-exec, so a program it execs
 * (or a fork + exec child: CGI, posix_spawn helpers) does not keep the tap,
 * and with it the interface, alive after we are gone. Found with
 * tests/vfs/itest_servers.sh (exec case). A bitmap of the fds open before
 * the start, from /proc/self/fd; fds another program thread opens during
 * the start would be marked too (rare: start-up is the first socket). */
#define FDSNAP_MAX 65536
static uint64_t *fds_snapshot(void)
{
	uint64_t *bits = calloc(FDSNAP_MAX / 64, sizeof(uint64_t));
	DIR *d;
	struct dirent *e;
	if (!bits)
		return NULL;
	d = opendir("/proc/self/fd");
	if (!d) {
		free(bits);
		return NULL;
	}
	while ((e = readdir(d))) {
		long fd = strtol(e->d_name, NULL, 10);
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd >= 0 &&
		    fd < FDSNAP_MAX && fd != dirfd(d)) /* not our own, reused */
			bits[fd / 64] |= 1ull << (fd % 64);
	}
	closedir(d);
	return bits;
}

/* the fds the start opened (exec.c's relay keeps them) */
static uint64_t own_fds[FDSNAP_MAX / 64];

int vfs_inst_own_fd(int fd)
{
	return fd >= 0 && fd < FDSNAP_MAX &&
	       (own_fds[fd / 64] & (1ull << (fd % 64)));
}

static void fds_mark_new_cloexec(const uint64_t *before)
{
	DIR *d;
	struct dirent *e;
	if (!before)
		return;
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((e = readdir(d))) {
		long fd = strtol(e->d_name, NULL, 10), fl;
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < 0 ||
		    fd >= FDSNAP_MAX || fd == dirfd(d) ||
		    (before[fd / 64] & (1ull << (fd % 64))))
			continue; /* the program's, or beyond the snapshot */
		own_fds[fd / 64] |= 1ull << (fd % 64);
		fl = raw3(SYS_fcntl, fd, F_GETFD, 0);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			(void)raw3(SYS_fcntl, fd, F_SETFD, fl | FD_CLOEXEC);
	}
	closedir(d);
}

int vfs_inst_get(struct vfs_inst **out)
{
	int s = atomic_load_explicit(&vfs_g.inst_state, memory_order_acquire);
	sigset_t all, old;
	if (s == 1) {
		*out = vfs_inst_mine(); /* new sockets: the thread's own */
		return 0;
	}
	if (s < 0)
		return -ENETDOWN;
	vfs_async_signals(&all);
	/* threads started meanwhile (DPDK's, our progress threads) inherit
	 * every signal blocked: a program's handler never runs on them
	 * (their calls bypass vfs/: it would act on placeholders) */
	(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all,
			       (long)&old, 8, 0, 0);
	hook_guard_enter();
	pthread_mutex_lock(&load_lock);
	s = atomic_load(&vfs_g.inst_state);
	if (s == 0) {
		uint64_t *before = fds_snapshot(); /* NULL: mark none */
		s = load_nfio() == 0 ? 1 : -1;
		fds_mark_new_cloexec(before);
		free(before);
		atomic_store_explicit(&vfs_g.inst_state, s,
				      memory_order_release);
	}
	pthread_mutex_unlock(&load_lock);
	hook_guard_leave();
	(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0,
			       8, 0, 0);
	if (s != 1)
		return -ENETDOWN;
	*out = vfs_inst_mine();
	return 0;
}

/* fork. The child shares the instances (their state is in shared
 * memory: shm.c, the stacks' mappings, DPDK's), so it goes on using every
 * socket it inherited, and new sockets it makes join the same instances
 * (docs/DESIGN.md, "Processes"). A process that forks before its stack
 * started (daemon(3), memcached -d) gives its child nothing to share
 * yet: the child starts the stack at its first socket. The start-up lock
 * is held across the fork so the child never inherits a start half done
 * by another thread. In the child, DPDK's per-thread lcore id goes: the
 * forking thread may be the parent's EAL main lcore, whose mempool cache
 * the parent's copy of that thread keeps using. */
void vfs_inst_fork_prepare(void)
{
	pthread_mutex_lock(&load_lock);
}

void vfs_inst_fork_parent(void)
{
	pthread_mutex_unlock(&load_lock);
}

void vfs_inst_fork_child(void)
{
	pthread_mutex_init(&load_lock, NULL);
	/* a backend whose state is this process's own memory (lwIP):
	 * the child has a copy, which must never run (nf_backend.h) */
	if (atomic_load(&vfs_g.inst_state) == 1 && vfs_g.ninst > 0 &&
	    (vfs_g.insts[0]->be->flags & NF_BE_F_PRIVATE)) {
		atomic_store(&vfs_g.inst_state, VFS_STACK_PARENTS);
		vfs_g.stack_owner = vfs_g.pid;
	}
	if (p_io_fork_child)
		p_io_fork_child();
}

/* ---- waiting ------------------------------------------------------------ */
/* Each thread that ever sleeps gets an eventfd, closed when the thread
 * exits (thread-per-connection servers must not leak one per thread). */
static pthread_key_t evfd_key;
static pthread_once_t evfd_once = PTHREAD_ONCE_INIT;

static void evfd_dtor(void *p)
{
	long fd = (long)(uintptr_t)p - 1;
	if (fd >= 0 && fd == tls_evfd)
		(void)raw3(SYS_close, fd, 0, 0);
	tls_evfd = -1;
}

static void evfd_key_init(void)
{
	(void)pthread_key_create(&evfd_key, evfd_dtor);
}

int vfs_tls_evfd(void)
{
	/* no system call on this path, taken by every sleep: the pid as
	 * vfs/ keeps it (refreshed in a fork child); a program that closed
	 * our eventfd (close-all loops) shows as POLLNVAL in vfs_sleep,
	 * which forgets it (the F_GETFD check that stood here cost a system
	 * call per sleep and could not see a reused number either) */
	pid_t pid = vfs_g.pid ? (pid_t)vfs_g.pid :
				 (pid_t)raw3(SYS_getpid, 0, 0, 0);
	if (tls_evfd >= 0 && tls_evfd_pid == pid)
		return tls_evfd;
	tls_evfd = (int)raw3(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0);
	tls_evfd_pid = pid;
	if (tls_evfd >= 0) {
		(void)pthread_once(&evfd_once, evfd_key_init);
		(void)pthread_setspecific(evfd_key,
					  (void *)(uintptr_t)(tls_evfd + 1));
	}
	return tls_evfd;
}

/* in's lock held; w->woken is the caller's to clear (once, before it
 * registers with its first instance) */
void vfs_waiter_add(struct vfs_inst *in, struct vfs_waiter *w)
{
	int i = in->idx;
	w->prev[i] = NULL;
	w->next[i] = in->waiters;
	if (in->waiters)
		in->waiters->prev[i] = w;
	in->waiters = w;
	in->nwaiters++;
}

void vfs_waiter_del(struct vfs_inst *in, struct vfs_waiter *w)
{
	int i = in->idx;
	if (w->prev[i])
		w->prev[i]->next[i] = w->next[i];
	else
		in->waiters = w->next[i];
	if (w->next[i])
		w->next[i]->prev[i] = w->prev[i];
	in->nwaiters--;
}

/* Register w with every instance (epoll, poll/select and listener
 * waits: their sockets may live in any); then with none. */
void vfs_waiter_add_all(struct vfs_waiter *w)
{
	int i;
	atomic_store(&w->woken, 0);
	for (i = 0; i < vfs_g.ninst; i++) {
		vfs_inst_lock(vfs_g.insts[i]);
		vfs_waiter_add(vfs_g.insts[i], w);
		vfs_inst_unlock(vfs_g.insts[i]);
	}
}

void vfs_waiter_del_all(struct vfs_waiter *w)
{
	int i;
	for (i = 0; i < vfs_g.ninst; i++) {
		vfs_inst_lock(vfs_g.insts[i]);
		vfs_waiter_del(vfs_g.insts[i], w);
		vfs_inst_unlock(vfs_g.insts[i]);
	}
}

/* Arm the queue's wake-up for a program thread about to sleep, unless
 * another program thread is active (it polls, and its polls wake us
 * through our eventfd: memcached's idle listener must not make its
 * worker pay the peer's signal per frame). The fd to sleep on if this
 * thread holds the arm, else -1. */
static int sleeper_arm(struct vfs_inst *in)
{
	uint64_t now = vfs_now_ns();
	int fd = -1;

	if (atomic_load_explicit(&in->active_until, memory_order_relaxed) >
	    now && atomic_load_explicit(&in->active_owner,
					memory_order_relaxed) !=
	    me_token())
		return -1;
	vfs_inst_lock(in);
	if (!in->q_armed && in->ops->wake_arm(in->ops->q) == 0)
		in->q_armed = 1;
	if (in->q_armed) {
		in->prog_arms++;
		fd = in->ops->wake_fd; /* this link's (memif) */
		(void)poll_rx_locked(in); /* what raced the arming */
	}
	vfs_inst_unlock(in);
	return fd;
}

static void sleeper_disarm(struct vfs_inst *in)
{
	vfs_inst_lock(in);
	if (--in->prog_arms == 0)
		disarm_locked(in);
	vfs_inst_unlock(in);
}

void vfs_wake_self(void)
{
	if (tls_evfd >= 0)
		evfd_signal(tls_evfd);
}

long vfs_sleep(struct vfs_inst *in, struct pollfd *fds, int nfds,
	       uint64_t deadline, const void *sigmask, int evfd, int *use_wake)
{
	struct timespec ts, *tp = NULL;
	int wi = -1, held = 0;
	long r;
	/* a handler deferred meanwhile (signal.c): the call ends or
	 * restarts after running it, as a signal would interrupt ppoll */
	if (vfs_sig_pending())
		return -EINTR;
	if (deadline != UINT64_MAX) {
		uint64_t now = vfs_now_ns(), t = deadline > now ? deadline - now : 0;
		ts.tv_sec = (time_t)(t / 1000000000ull);
		ts.tv_nsec = (long)(t % 1000000000ull);
		tp = &ts;
	}
	/* the queue's rx interrupt fd too: a frame wakes the sleeper
	 * directly (it then polls the stack itself) instead of through the
	 * progress thread. Not a timerfd: it says nothing about frames.
	 * Where program threads may arm it (memif), the sleeper arms it
	 * itself and disarms it on waking; elsewhere (tap) it is armed by
	 * the progress thread, which alone drains it. */
	int wfd = in ? in->ops->wake_fd : -1;
	if (in && wfd >= 0 && in->wake_prog_arm) {
		wfd = sleeper_arm(in);
		held = wfd >= 0;
	}
	if (in && wfd >= 0 && !in->wake_is_timer &&
	    (held || (!in->wake_prog_arm && *use_wake))) {
		wi = nfds;
		fds[nfds].fd = wfd;
		fds[nfds].events = POLLIN;
		fds[nfds].revents = 0;
		nfds++;
	}
	r = hook_raw_syscall(SYS_ppoll, (long)fds, nfds, (long)tp,
			     (long)sigmask, sigmask ? 8 : 0, 0);
	if (held)
		sleeper_disarm(in);
	if (wi >= 0 && r > 0 && fds[wi].revents) {
		if (!held)
			*use_wake = 0;
		vfs_inst_poll_try(in);
	}
	/* drain our eventfd only when it fired (a read that finds nothing
	 * is a system call too: ~1 us per sleep here); one written after
	 * ppoll returned only makes the next sleep return at once */
	if (evfd >= 0 && r > 0) {
		int i;
		for (i = 0; i < nfds; i++)
			if (fds[i].fd == evfd && fds[i].revents) {
				if (fds[i].revents & POLLNVAL)
					tls_evfd = -1; /* closed by the program */
				else
					evfd_drain(evfd);
				break;
			}
	}
	if (r >= 0 && vfs_sig_pending())
		r = -EINTR;
	return r;
}

/* After EINTR: would Linux restart the call? It does when the handler
 * of the signal has SA_RESTART. We do not know which signal it was, so:
 * restart only if every caught signal's handler has SA_RESTART (the hook's
 * own SIGSEGV/SIGSYS excluded). Only on the EINTR path (64 rt_sigaction
 * calls, ~10 us). */
int vfs_sig_restart(void)
{
	struct { unsigned long handler, flags, restorer, mask; } ka;
	int sig, restart;
	if (vfs_sig_restart_pending(&restart)) /* signal.c knows which */
		return restart;
	for (sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV ||
		    sig == SIGSYS)
			continue;
		if (hook_raw_syscall(SYS_rt_sigaction, sig, 0, (long)&ka, 8, 0, 0) < 0)
			continue;
		if (ka.handler == (unsigned long)SIG_DFL ||
		    ka.handler == (unsigned long)SIG_IGN)
			continue;
		if (!(ka.flags & SA_RESTART))
			return 0;
	}
	return 1;
}

/* The events s has now, or with seq0, want if its readiness changed */
static uint32_t events_now(struct vfs_sock *s, uint32_t want,
			   const unsigned *seq0)
{
	struct vfs_inst *held = NULL;
	uint32_t ev = vfs_sock_events_sw(s, &held);
	if (seq0 && s->sd >= 0) /* a change, not a level (MSG_WAITALL) */
		ev = atomic_load(&s->ev_seq) != *seq0 ? want : 0;
	vfs_inst_switch(&held, NULL);
	return ev;
}

/* Poll the instances s lives in (a listener: all) if their lock is free */
static void poll_for(struct vfs_inst *in, const struct vfs_sock *s)
{
	int i;
	vfs_inst_poll_try(in);
	if (s->rsd)
		for (i = 0; i < vfs_g.ninst; i++)
			if (vfs_g.insts[i] != in && s->rsd[i] >= 0)
				vfs_inst_poll_try(vfs_g.insts[i]);
}

static int wait_sock(struct vfs_inst *in, struct vfs_sock *s, uint32_t want,
		     uint64_t deadline, int kfd, const unsigned *seq0)
{
	uint64_t t0 = vfs_now_ns(), now = t0, budget = vfs_spin_budget();
	struct vfs_waiter *w;
	struct pollfd pf[3];
	uint32_t ev;
	long r;
	int err;

	want |= NS_EV_ERR | NS_EV_HUP;
	while (now - t0 < budget && now < deadline &&
	       vfs_spin_ok(in, now, t0, budget)) {
		poll_for(in, s);
		ev = events_now(s, want, seq0);
		if (s->sd < 0)
			return -EBADF;
		if (ev & want)
			return 0;
		if (kfd >= 0) {
			struct pollfd k = { .fd = kfd,
				.events = (short)(want & (POLLIN | POLLOUT)) };
			struct timespec z = { 0, 0 };
			if (hook_raw_syscall(SYS_ppoll, (long)&k, 1, (long)&z,
					     0, 8, 0) > 0)
				return 0;
		}
		__builtin_ia32_pause();
		now = vfs_now_ns();
	}
	if (now >= deadline)
		return -EAGAIN;
	w = vfs_waiter_get(&err);
	if (!w)
		return err;
	w->sock = s;
	w->ep = NULL;
	if (s->rsd) {
		vfs_waiter_add_all(w);
	} else {
		atomic_store(&w->woken, 0);
		vfs_inst_lock(in);
		vfs_waiter_add(in, w);
		vfs_inst_unlock(in);
	}
	ev = s->sd < 0 ? NS_EV_HUP : events_now(s, want, seq0);
	r = 1;
	if (!(ev & want)) {
		poll_for(in, s); /* what arrived while we registered */
		pf[0].fd = w->evfd;
		pf[0].events = POLLIN;
		pf[0].revents = 0;
		/* a dual socket's kernel half wakes us too */
		pf[1].fd = kfd;
		pf[1].events = (short)(want & (POLLIN | POLLOUT));
		pf[1].revents = 0;
		int use_wake = 1;
		r = vfs_sleep(in, pf, kfd >= 0 ? 2 : 1, deadline, NULL, w->evfd,
			      &use_wake);
	}
	if (s->rsd) {
		vfs_waiter_del_all(w);
	} else {
		vfs_inst_lock(in);
		vfs_waiter_del(in, w);
		vfs_inst_unlock(in);
	}
	if (r == -EINTR)
		return -EINTR;
	if (s->sd < 0)
		return -EBADF;
	if (r == 0 && vfs_now_ns() >= deadline)
		return -EAGAIN;
	return 0;
}

int vfs_wait_sock(struct vfs_inst *in, struct vfs_sock *s, uint32_t want,
		  uint64_t deadline, int kfd, const unsigned *seq0)
{
	uint64_t t0 = vfs_now_ns();
	int r = wait_sock(in, s, want, deadline, kfd, seq0);

	vfs_spin_done(t0);
	return r;
}
