/*
 * signal.c: signal handlers that make netfuse calls.
 *
 * POSIX lets a handler call send(), recv() and close(). A handler that
 * interrupts its thread while that thread is inside vfs/ (holding an
 * instance lock, half way through a stack call, or in the fd table's
 * writer lock) and then makes a netfuse call itself would deadlock or see
 * half-changed state. So, as Onload does, the handler is not run inside
 * vfs/: its delivery is deferred to the end of the interrupted call.
 *
 * How. The program's rt_sigaction calls for asynchronous signals reach
 * vfs_sys_rt_sigaction(): the program's action is kept here, and the
 * kernel gets sig_tramp() with the same mask and flags (plus SA_SIGINFO).
 * getting the old action back returns the program's. sig_tramp() calls
 * the program's handler at once when its thread is outside vfs/ (depth
 * 0); inside, it records the signal (bit, siginfo, action) and writes the
 * thread's eventfd, so a sleep in progress, or about to start, returns.
 * vfs/ runs the recorded handlers where it holds nothing: when the
 * outermost call ends (vfs_sig_leave) and before it restarts a call
 * after EINTR (vfs_sig_restart, which then knows exactly which signals
 * came and so whether each has SA_RESTART). A deferred handler runs with
 * its sa_mask (and the signal, unless SA_NODEFER) blocked, as the kernel
 * would, on the thread's normal stack (not a sigaltstack), and gets a
 * ucontext from getcontext() rather than the interrupted one.
 *
 * Synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) and the
 * hook's SIGSYS are never deferred: their handlers run where the fault
 * is, as before. vfork children (shared memory, own signal table) pass
 * straight through.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>
#include <sys/syscall.h>

#include "vfs/vfs_priv.h"

/* the kernel's struct sigaction on x86-64 */
struct kact {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define NSIG_K 64
/* the program's action per signal, double-buffered (cur[] says which):
 * sig_tramp reads it from any thread while rt_sigaction changes it */
static struct kact prog[NSIG_K + 1][2];
static _Atomic unsigned char cur[NSIG_K + 1];
static _Atomic unsigned char ours[NSIG_K + 1]; /* kernel has sig_tramp */
static pthread_mutex_t act_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong n_deferred;

static __thread _Atomic int depth;            /* vfs/ calls in progress */
static __thread _Atomic uint64_t pending;     /* bit sig-1 */
#define PEND_SLOTS 8
static __thread struct {
	siginfo_t si;
	struct kact act;
	int sig;                  /* 0: free */
} slot[PEND_SLOTS];

static int deferrable(long sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGSYS: case SIGBUS:
	case SIGILL: case SIGFPE: case SIGTRAP:
		return 0;
	}
	return sig >= 1 && sig <= NSIG_K;
}

static int is_handler(const void *h)
{
	return h != (void *)SIG_DFL && h != (void *)SIG_IGN;
}

static void call_prog(int sig, siginfo_t *si, void *uc, const struct kact *a)
{
	if (a->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a->handler)(sig, si, uc);
	else
		((void (*)(int))a->handler)(sig);
}

static void sig_tramp(int sig, siginfo_t *si, void *uc)
{
	struct kact a;
	uint64_t bit = 1ull << (sig - 1);
	int i, saved = errno;
	if (sig < 1 || sig > NSIG_K)
		return;
	a = prog[sig][atomic_load(&cur[sig])];
	if (a.flags & SA_RESETHAND) { /* the kernel has reset its own */
		atomic_store(&ours[sig], 0);
		prog[sig][atomic_load(&cur[sig])].handler = (void *)SIG_DFL;
	}
	if (!is_handler(a.handler))
		return; /* raced with a change to SIG_DFL/SIG_IGN */
	if (!atomic_load_explicit(&depth, memory_order_relaxed)) {
		errno = saved;
		call_prog(sig, si, uc, &a);
		return;
	}
	/* inside vfs/: later. A signal already recorded merges, as
	 * standard signals do in the kernel. */
	if (!(atomic_load(&pending) & bit)) {
		for (i = 0; i < PEND_SLOTS; i++)
			if (!slot[i].sig) {
				slot[i].si = *si;
				slot[i].act = a;
				slot[i].sig = sig;
				break;
			}
		if (i == PEND_SLOTS) /* 8 kinds at once: keep the signal */
			return; /* (never seen; the handler does not run) */
		atomic_fetch_or(&pending, bit);
		atomic_fetch_add_explicit(&n_deferred, 1, memory_order_relaxed);
	}
	vfs_wake_self(); /* a sleep returns now */
	errno = saved;
}

/* The recorded signals the thread's mask lets through now. A handler
 * that is running blocks its own signal (and its sa_mask): one recorded
 * during a netfuse call of that handler waits until the handler returns,
 * as the kernel would hold it (found by tests/vfs/itest_signals.sh: the
 * handler ran nested inside itself and sent the same bytes twice). */
static uint64_t runnable(void)
{
	uint64_t p = atomic_load(&pending), blocked = 0;
	if (!p)
		return 0;
	if (hook_raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&blocked,
			     8, 0, 0) < 0)
		blocked = 0;
	return p & ~blocked;
}

/* Run what sig_tramp recorded; depth stays as it is, the handlers
 * themselves run at depth 0 (their netfuse calls are ordinary calls). */
static void run_pending(void)
{
	uint64_t p;
	while ((p = runnable())) {
		int sig = __builtin_ctzll(p) + 1, i, d;
		siginfo_t si;
		struct kact a;
		uint64_t m, old;
		ucontext_t uc;
		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		a.handler = (void *)SIG_DFL;
		for (i = 0; i < PEND_SLOTS; i++)
			if (slot[i].sig == sig) {
				si = slot[i].si;
				a = slot[i].act;
				slot[i].sig = 0;
				break;
			}
		atomic_fetch_and(&pending, ~(1ull << (sig - 1)));
		if (!is_handler(a.handler))
			continue;
		m = a.mask | ((a.flags & SA_NODEFER) ? 0 : 1ull << (sig - 1));
		(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&m,
				       (long)&old, 8, 0, 0);
		getcontext(&uc);
		d = atomic_exchange(&depth, 0);
		call_prog(sig, &si, &uc, &a);
		atomic_store(&depth, d);
		(void)hook_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old,
				       0, 8, 0, 0);
	}
}

/* depth is this thread's (and its handlers', which leave it as they
 * found it): plain loads and stores, no locked instruction per call */
void vfs_sig_enter(void)
{
	int d = atomic_load_explicit(&depth, memory_order_relaxed);
	atomic_store_explicit(&depth, d + 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
}

void vfs_sig_leave(void)
{
	int d;
	atomic_signal_fence(memory_order_seq_cst);
	d = atomic_load_explicit(&depth, memory_order_relaxed);
	if (d == 1 && atomic_load_explicit(&pending, memory_order_relaxed))
		run_pending();
	atomic_store_explicit(&depth, d - 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	/* one that landed between the check and the store */
	if (d == 1 && atomic_load_explicit(&pending, memory_order_relaxed)) {
		atomic_store_explicit(&depth, 1, memory_order_relaxed);
		run_pending();
		atomic_store_explicit(&depth, 0, memory_order_relaxed);
	}
}

int vfs_sig_pending(void)
{
	return atomic_load_explicit(&pending, memory_order_relaxed) &&
	       runnable();
}

int vfs_sig_restart_pending(int *restart)
{
	uint64_t p = runnable();
	int i, r = 1;
	if (!p)
		return 0;
	for (i = 0; i < PEND_SLOTS; i++)
		if (slot[i].sig && (p & (1ull << (slot[i].sig - 1))) &&
		    !(slot[i].act.flags & SA_RESTART))
			r = 0;
	run_pending(); /* the callers hold no lock here */
	*restart = r;
	return 1;
}

uint64_t vfs_sig_deferred(void)
{
	return atomic_load_explicit(&n_deferred, memory_order_relaxed);
}

long vfs_sys_rt_sigaction(const struct hook_call *c)
{
	int sig = (int)c->arg[0];
	struct kact na, ka, old, k;
	long r;
	if (!deferrable(c->arg[0]) || c->arg[3] != 8)
		return HOOK_PASSTHROUGH; /* the kernel's answer */
	if (c->arg[1] && vfs_copy_in_safe(&na, (void *)c->arg[1],
					  sizeof(na)) < 0)
		return -EFAULT;
	pthread_mutex_lock(&act_lock);
	r = hook_raw_syscall(SYS_rt_sigaction, sig, 0, (long)&ka, 8, 0, 0);
	if (r < 0)
		goto out;
	old = atomic_load(&ours[sig]) ? prog[sig][atomic_load(&cur[sig])] : ka;
	if (c->arg[1]) {
		if (!is_handler(na.handler)) {
			r = hook_raw_syscall(SYS_rt_sigaction, sig, (long)&na, 0,
					     8, 0, 0);
			if (r == 0)
				atomic_store(&ours[sig], 0);
		} else {
			/* the new action is visible before the kernel can
			 * call sig_tramp for it; put back if refused */
			int n = !atomic_load(&cur[sig]);
			prog[sig][n] = na;
			atomic_store(&cur[sig], (unsigned char)n);
			k = na;
			k.handler = (void *)sig_tramp;
			k.flags |= SA_SIGINFO;
			r = hook_raw_syscall(SYS_rt_sigaction, sig, (long)&k, 0,
					     8, 0, 0);
			if (r == 0)
				atomic_store(&ours[sig], 1);
			else
				atomic_store(&cur[sig], (unsigned char)!n);
		}
	}
out:
	pthread_mutex_unlock(&act_lock);
	if (r == 0 && c->arg[2] &&
	    vfs_copy_out_safe((void *)c->arg[2], &old, sizeof(old)) < 0)
		return -EFAULT;
	return r;
}
