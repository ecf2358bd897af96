/*
 * sud.c: the paths into the hook that are not rewritten sites.
 *
 * 1. Syscall User Dispatch (Linux >= 5.11). Every syscall instruction the
 *    rewriter left alone (a function that uses its red zone; code written
 *    into RWX memory after it was mapped; anything missed) raises SIGSYS
 *    instead of entering the kernel; the handler runs the call through
 *    the same policy and puts the result in the interrupted context. The
 *    kernel delivers signals below the red zone, so live values there and
 *    outputs the kernel writes there (glibc's ____longjmp_chk, ld.so's
 *    F_GETOWN_EX) survive. Only section hook_gate (entry.S) may enter the
 *    kernel directly. A few microseconds per call; it is the exception.
 * 2. Numbers past the sled. `call *%rax` with rax >= HOOK_SLED_LEN+1
 *    (x32 numbers, negative and non-canonical ones too) faults; the SIGSEGV handler sees the
 *    return address of a rewritten site and emulates the syscall, which
 *    the kernel answers (ENOSYS) exactly as without the hook.
 *
 * Both need the hook to own SIGSYS and SIGSEGV, so the program's own
 * rt_sigaction calls for these two signals are kept here (virtualised):
 * the program reads back what it set, and a signal that is not the
 * hook's goes to the program's handler, or to the default action.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "hook/hook_priv.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif
#define SA_RESTORER_ 0x04000000

struct kaction {            /* the kernel's struct sigaction (x86-64) */
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static struct kaction prog_act[2];  /* [0] SIGSEGV, [1] SIGSYS */
static int owned[2];
int hook_sud_on __attribute__((visibility("hidden")));

static int sig_idx(int signo)
{
	return signo == SIGSEGV ? 0 : signo == SIGSYS ? 1 : -1;
}

int sig_owns(int signo)
{
	int i = sig_idx(signo);
	return i >= 0 && owned[i];
}

long sig_rt_sigaction(const struct hook_call *c)
{
	int i = sig_idx((int)c->arg[0]);
	const struct kaction *act = (const struct kaction *)c->arg[1];
	struct kaction *old = (struct kaction *)c->arg[2];
	if (c->arg[3] != 8)
		return -EINVAL;
	struct kaction prev = prog_act[i], n;
	if (act && safe_copy(&n, act, sizeof(n), 0) < 0)
		return -EFAULT;
	if (old && safe_copy(old, &prev, sizeof(prev), 1) < 0)
		return -EFAULT;
	if (act)
		prog_act[i] = n;
	return 0;
}

/* Run a call that arrived through a signal; result into the context. */
static void emulate(greg_t *g, uintptr_t ret, int via_policy)
{
	struct hook_call c = {
		.nr = g[REG_RAX],
		.arg = { g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10],
			 g[REG_R8], g[REG_R9] },
		.ret_addr = ret,
	};
	long r;
	if (!via_policy)
		r = hook_raw_syscall(c.nr, c.arg[0], c.arg[1], c.arg[2],
				     c.arg[3], c.arg[4], c.arg[5]);
	else if (c.nr == SYS_rt_sigaction && sig_owns((int)c.arg[0]))
		r = sig_rt_sigaction(&c);
	else
		r = hook_dispatch_signal(&c);
	g[REG_RAX] = r;
	g[REG_RIP] = (greg_t)ret;
	g[REG_RCX] = (greg_t)ret;
	g[REG_R11] = g[REG_EFL];
}

/* Hand a signal that is not ours to what the program asked for. */
static void chain(int i, int sig, siginfo_t *si, void *uc)
{
	struct kaction a = prog_act[i];
	if (a.handler == SIG_DFL || a.handler == SIG_IGN) {
		if (a.handler == SIG_IGN && i == 1)
			return;
		struct kaction dfl = { SIG_DFL, 0, 0, 0 };
		RAW(SYS_rt_sigaction, sig, &dfl, 0, 8, 0, 0);
		owned[i] = 0;
		if (si->si_code <= 0) /* sent, not a fault: send it again */
			RAW(SYS_tgkill, RAW(SYS_getpid, 0, 0, 0, 0, 0, 0),
			    RAW(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
		return; /* a fault happens again, now with the default action */
	}
	uint64_t mask = a.mask, old;
	if (!(a.flags & SA_NODEFER))
		mask |= 1ull << (sig - 1);
	RAW(SYS_rt_sigprocmask, SIG_BLOCK, &mask, &old, 8, 0, 0);
	if (a.flags & SA_RESETHAND)
		prog_act[i].handler = SIG_DFL;
	if (a.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a.handler)(sig, si, uc);
	else
		((void (*)(int))a.handler)(sig);
	/* the mask comes back from the context at sigreturn */
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	if (si->si_code == SYS_USER_DISPATCH) {
		hook_stats_g.sigsys_calls++;
		greg_t *g = uc->uc_mcontext.gregs;
		emulate(g, (uintptr_t)g[REG_RIP], 1);
		return;
	}
	chain(1, sig, si, ucv);
}

static void on_sigsegv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	uintptr_t rip = (uintptr_t)g[REG_RIP];
	uintptr_t rsp = (uintptr_t)g[REG_RSP];
	const uint8_t *ip = (const uint8_t *)rip;

	if (si->si_code > 0) {
		/* The call went through, the fetch at the target faulted. */
		if ((uintptr_t)g[REG_RAX] == rip &&
		    sites_contains(*(const uintptr_t *)rsp)) {
			hook_stats_g.sigsegv_calls++;
			g[REG_RSP] = (greg_t)(rsp + 8);
			emulate(g, *(const uintptr_t *)rsp, 0);
			return;
		}
		/* The call itself faulted (#GP: non-canonical target); the
		 * site table holds only addresses of our own code. */
		if (sites_contains(rip + 2) && ip[0] == 0xff && ip[1] == 0xd0) {
			hook_stats_g.sigsegv_calls++;
			emulate(g, rip + 2, 0);
			return;
		}
	}
	chain(0, sig, si, ucv);
}

static int install(int sig, void (*fn)(int, siginfo_t *, void *), int i)
{
	struct kaction a = {
		(void *)fn,
		SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART | SA_RESTORER_,
		(void *)hook_restore_rt, 0
	};
	long r = RAW(SYS_rt_sigaction, sig, &a, &prog_act[i], 8, 0, 0);
	if (r < 0)
		return (int)r;
	owned[i] = 1;
	return 0;
}

int sud_enable_thread(void)
{
	uintptr_t lo = (uintptr_t)__start_hook_gate;
	uintptr_t hi = (uintptr_t)__stop_hook_gate;
	long r = RAW(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH,
		     PR_SYS_DISPATCH_ON, lo, hi - lo, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* Own SIGSEGV always; SIGSYS and dispatch if the kernel has SUD. */
int sud_init(void)
{
	int r = install(SIGSEGV, on_sigsegv, 0);
	if (r < 0)
		return r;
	r = install(SIGSYS, on_sigsys, 1);
	if (r < 0)
		return r;
	const char *e = getenv("NETFUSE_SUD");
	r = (e && e[0] == '0') ? -ENOSYS : sud_enable_thread();
	if (r < 0) {
		struct kaction old = prog_act[1];
		RAW(SYS_rt_sigaction, SIGSYS, &old, 0, 8, 0, 0);
		owned[1] = 0;
		return r;
	}
	hook_sud_on = 1;
	hook_stats_g.sud = 1;
	return 0;
}
