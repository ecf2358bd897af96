/*
 * hook.c: the C half of the entry path, the policy slot and the guard.
 *
 * entry.S calls hook_entry_c() for every rewritten site. It checks that
 * the call came from a rewritten site (anything else is a call through a
 * NULL pointer and must still crash), sets up the special actions for the
 * calls that cannot return through C frames (clone/clone3 with a new
 * stack, vfork), and otherwise hands the call to the policy.
 *
 * Recursion: the hook's own code makes system calls only through
 * hook_raw_syscall (entry.S), never through libc. Library code that the
 * hook or a policy must call (libopcodes when rewriting, DPDK's start-up
 * for vfs/) runs under hook_guard_enter(): a per-thread depth counter; at
 * depth > 0 every call goes straight to the kernel. The rewriter also
 * blocks signals while it holds the guard, so a program's signal handler
 * never runs with its calls bypassing the policy.
 *
 * Built with -mgeneral-regs-only: this path leaves the program's vector
 * registers, mask registers, MXCSR and x87 state alone.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "hook/hook_priv.h"

#ifndef CLONE_VM
#define CLONE_VM 0x100
#endif
#ifndef CLONE_VFORK
#define CLONE_VFORK 0x4000
#endif

__thread int hook_guard_depth __attribute__((tls_model("initial-exec")));
__thread uintptr_t hook_vfork_ret __attribute__((tls_model("initial-exec"),
						 visibility("hidden")));
struct hook_stats hook_stats_g;

static _Atomic(hook_dispatch_fn) policy_fn;
static void *_Atomic policy_ctx;

void hook_set_dispatch(hook_dispatch_fn fn, void *ctx)
{
	atomic_store(&policy_ctx, ctx);
	atomic_store(&policy_fn, fn);
}

void hook_guard_enter(void)
{
	hook_guard_depth++;
}

void hook_guard_leave(void)
{
	if (hook_guard_depth > 0)
		hook_guard_depth--;
}

/* Copy between our memory and the program's without faulting on a bad
 * pointer: the kernel checks it (-EFAULT), as it would for the real call. */
long safe_copy(void *dst, const void *src, size_t len, int to_prog)
{
	struct iovec l = { to_prog ? (void *)src : dst, len };
	struct iovec r = { to_prog ? dst : (void *)src, len };
	long pid = RAW(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long n = RAW(to_prog ? SYS_process_vm_writev : SYS_process_vm_readv,
		     pid, &l, 1, &r, 1, 0);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* clone(flags, newsp, ptid, ctid, tls): child on a new stack returns to
 * the site from that stack (entry.S .Lclone). */
static long prep_clone(struct hook_frame *f)
{
	unsigned long flags = (unsigned long)f->rdi;
	uintptr_t newsp = (uintptr_t)f->rsi;

	if (newsp == 0) {
		if (flags & (CLONE_VM | CLONE_VFORK)) {
			hook_vfork_ret = f->ret;
			f->action = HOOK_ACT_VFORK;
		}
		return -1; /* fork-like: the ordinary path */
	}
	uintptr_t ret = f->ret;
	if (safe_copy((void *)(newsp - 8), &ret, 8, 1) < 0)
		return -EFAULT;
	f->buf[0] = (long)(newsp - 8);
	f->action = HOOK_ACT_CLONE;
	return 0;
}

/* clone3(args, size): copy the caller's struct (never written), give the
 * child 16 bytes less stack holding its rdi and return address. */
static long prep_clone3(struct hook_frame *f)
{
	size_t size = (size_t)f->rsi;
	uint64_t a[HOOK_CLONE3_MAX / 8];

	if (size < 64 || size > sizeof(a))
		return -1; /* let the kernel answer (EINVAL/E2BIG) */
	if (safe_copy(a, (void *)f->rdi, size, 0) < 0)
		return -EFAULT;
	uint64_t flags = a[0], stack = a[5], stack_size = a[6];
	if (stack == 0) {
		if (flags & (CLONE_VM | CLONE_VFORK)) {
			hook_vfork_ret = f->ret;
			f->action = HOOK_ACT_VFORK;
		}
		return -1;
	}
	if (stack_size < 16)
		return -1;
	uint64_t top[2] = { (uint64_t)f->rdi, (uint64_t)f->ret };
	if (safe_copy((void *)(uintptr_t)(stack + stack_size - 16), top, 16,
		      1) < 0)
		return -EFAULT;
	a[6] = stack_size - 16;
	for (size_t i = 0; i < size / 8; i++)
		f->buf[i] = (long)a[i];
	f->action = HOOK_ACT_CLONE3;
	return 0;
}

long hook_syscall_kernel(const struct hook_call *c)
{
	long r = hook_raw_syscall(c->nr, c->arg[0], c->arg[1], c->arg[2],
				  c->arg[3], c->arg[4], c->arg[5]);
	/* Code made executable later (dlopen, JIT) is rewritten before it
	 * can run: right after the call that made it executable. */
	if (r >= 0 || (c->nr == SYS_mmap && r < -4095)) {
		long prot = -1;
		uintptr_t addr = 0, len = 0;
		if (c->nr == SYS_mmap) {
			prot = c->arg[2]; addr = (uintptr_t)r; len = c->arg[1];
		} else if (c->nr == SYS_mprotect || c->nr == SYS_pkey_mprotect) {
			prot = c->arg[2]; addr = c->arg[0]; len = c->arg[1];
		}
		if (prot >= 0 && (prot & PROT_EXEC) && len > 0)
			(void)hook_rewrite_region(addr, len);
	}
	return r;
}

/* Calls whose result the mechanism must see (code made executable). */
static int needs_follow_up(const struct hook_call *c)
{
	return (c->nr == SYS_mmap || c->nr == SYS_mprotect ||
		c->nr == SYS_pkey_mprotect) && (c->arg[2] & PROT_EXEC);
}

/* fork, and clone/clone3 without a new stack or shared memory: the
 * child returns through these frames (its own copy of them); a child
 * process does not inherit Syscall User Dispatch, so turn it on. The
 * policy sees the call first, as any other. */
static long fork_like(const struct hook_call *c)
{
	hook_dispatch_fn fn = atomic_load_explicit(&policy_fn,
						   memory_order_acquire);
	long r = fn && hook_guard_depth == 0 ?
		 fn(atomic_load_explicit(&policy_ctx, memory_order_relaxed), c) :
		 HOOK_PASSTHROUGH;
	if (r == HOOK_PASSTHROUGH)
		r = hook_raw_syscall(c->nr, c->arg[0], c->arg[1], c->arg[2],
				     c->arg[3], c->arg[4], c->arg[5]);
	if (r == 0 && hook_sud_on)
		(void)sud_enable_thread();
	return r;
}

long hook_entry_c(struct hook_frame *f)
{
	if (__builtin_expect(!sites_contains(f->ret), 0)) {
		f->action = HOOK_ACT_CRASH;
		return 0;
	}
	struct hook_call c = {
		.nr = f->nr,
		.arg = { f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9 },
		.ret_addr = f->ret,
	};
	switch (c.nr) {
	case SYS_clone:
	case SYS_clone3:
	case SYS_vfork: {
		long r = c.nr == SYS_clone ? prep_clone(f) :
			 c.nr == SYS_clone3 ? prep_clone3(f) : 0;
		if (c.nr == SYS_vfork) {
			hook_vfork_ret = f->ret;
			f->action = HOOK_ACT_VFORK;
		}
		if (f->action != HOOK_ACT_RETURN) {
			if (trace_on && hook_guard_depth == 0)
				trace_special(&c);
			return 0;
		}
		if (r != -1)
			return r; /* -EFAULT from the copies */
		return fork_like(&c);
	}
	case SYS_fork:
		return fork_like(&c);
	case SYS_rt_sigaction:
		if (sig_owns((int)c.arg[0]))
			return sig_rt_sigaction(&c);
		break;
	}
	if (hook_guard_depth > 0) {
		hook_stats_g.nested_calls++;
		f->action = HOOK_ACT_KERNEL;
		return 0;
	}
	hook_dispatch_fn fn = atomic_load_explicit(&policy_fn,
						   memory_order_acquire);
	if (__builtin_expect(trace_on, 0))
		return trace_call(fn, atomic_load_explicit(&policy_ctx,
					memory_order_relaxed), &c);
	long r = fn ? fn(atomic_load_explicit(&policy_ctx,
					      memory_order_relaxed), &c)
		    : HOOK_PASSTHROUGH;
	if (r == HOOK_PASSTHROUGH) {
		if (needs_follow_up(&c))
			return hook_syscall_kernel(&c);
		f->action = HOOK_ACT_KERNEL;
	}
	return r;
}

void hook_get_stats(struct hook_stats *st)
{
	*st = hook_stats_g;
	st->sites = rw_stats.sites;
	st->skipped_redzone = rw_stats.skipped_redzone;
	st->skipped_other = rw_stats.skipped_other;
	st->false_candidates = rw_stats.false_candidates;
	st->regions = rw_stats.regions;
	st->decoded_insns = rw_stats.decoded_insns;
	st->cache_hits = rw_stats.cache_hits;
}

int hook_is_site(uintptr_t ret_addr)
{
	return sites_contains(ret_addr);
}

/* The policy, for calls that arrive through a signal (sud.c). */
long hook_dispatch_signal(const struct hook_call *c)
{
	if (hook_guard_depth > 0) {
		hook_stats_g.nested_calls++;
		return hook_raw_syscall(c->nr, c->arg[0], c->arg[1], c->arg[2],
					c->arg[3], c->arg[4], c->arg[5]);
	}
	hook_dispatch_fn fn = atomic_load_explicit(&policy_fn,
						   memory_order_acquire);
	long r = fn ? fn(atomic_load_explicit(&policy_ctx,
					      memory_order_relaxed), c)
		    : HOOK_PASSTHROUGH;
	return r == HOOK_PASSTHROUGH ? hook_syscall_kernel(c) : r;
}
