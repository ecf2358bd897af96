/*
 * hook.h: the public interface of hook/, the zpoline-style syscall hook.
 *
 * hook/ rewrites every `syscall`/`sysenter` instruction of the program into
 * `call *%rax`, which lands in a nop sled at address 0 and reaches
 * hook_entry (entry.S). The hook is mechanism only: it hands every call to
 * one dispatch function (the policy) and knows nothing about sockets.
 * vfs/ installs its policy with hook_set_dispatch(); until then the
 * default passes everything to the kernel. NETFUSE_TRACE=1 wraps the
 * policy, whichever it is, with a tracer (hook_set_tracer).
 *
 * Contract for a dispatch function:
 *  - it runs on the program's thread and stack (below the red zone), with
 *    signals as the program had them;
 *  - it returns what the program sees: a value, or -errno (-4095..-1);
 *  - it reaches the kernel only through hook_syscall_kernel() or
 *    hook_raw_syscall() (never through libc, which would call it again);
 *  - the program's vector, mask, MXCSR and x87 state are NOT saved around
 *    it: code that may touch them (memcpy in libc does) must run between
 *    hook_fpu_save() and hook_fpu_restore(), or be built with
 *    -mgeneral-regs-only as hook/ itself is.
 */
#ifndef HOOK_H
#define HOOK_H

#include <stdint.h>

struct hook_call {
	long nr;      /* syscall number, as the program put it in rax */
	long arg[6];  /* rdi, rsi, rdx, r10, r8, r9 */
	uintptr_t ret_addr; /* the program's address after the syscall */
};

typedef long (*hook_dispatch_fn)(void *ctx, const struct hook_call *c);

/* A dispatch function may return this instead of a result: "issue the call
 * in the kernel exactly as the program made it". The hook then makes the
 * call from its entry stub and returns straight to the program, which is
 * the cheapest pass-through (one return after the kernel, as without the
 * hook). Never a real result: no system call returns LONG_MIN. Calls that
 * need the hook's own follow-up (mmap/mprotect making code executable)
 * are made in C instead, so returning it is always correct. */
#define HOOK_PASSTHROUGH ((long)(-0x7fffffffffffffffL - 1))

/* Install the policy (NULL: back to plain pass-through). Thread-safe
 * (atomic). One slot; tracing is not a policy and stays on. */
void hook_set_dispatch(hook_dispatch_fn fn, void *ctx);

/* Tracing (NETFUSE_TRACE=1) wraps whatever policy is installed: after
 * each call the hook hands the tracer the call, its result and where it
 * went ("kernel" when the policy passed it through, else what the policy
 * noted with hook_trace_note(), else "policy"); calls that do not return
 * (exit, execve, clone onto a new stack) are handed over before, with
 * `before` set. The default tracer prints raw numbers; trace/ installs
 * strace's format. hook_trace_note() takes static strings only. */
typedef void (*hook_tracer_fn)(const struct hook_call *c, long result,
			       const char *where, int before);
void hook_set_tracer(hook_tracer_fn fn);
int hook_tracing(void);
int hook_trace_fd(void);  /* NETFUSE_TRACE_FD (2) */
void hook_trace_note(const char *where);

/* Issue a system call in the kernel without re-entering the hook.
 * Returns the kernel's value (-errno on failure). */
long hook_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5,
		      long a6);

/* The default policy's pass-through, plus the mechanism's own work on the
 * result (rewriting code that mmap/mprotect made executable). Policies
 * pass calls they do not handle to this. */
long hook_syscall_kernel(const struct hook_call *c);

/* Save/restore the program's vector state around policy code compiled
 * normally (libc's memcpy uses vector registers): xmm/ymm/zmm 0-31 as the
 * CPU has them, k0-k7, MXCSR, the x87 control word (~150 cycles a pair;
 * hook/fpu.c). Not the x87 register stack or MMX: such code must not use
 * long double. buf: 64-byte aligned, hook_fpu_size() bytes. */
unsigned hook_fpu_size(void);
void hook_fpu_save(void *buf);
void hook_fpu_restore(const void *buf);
/* The same for every enabled XSAVE component (x87 stack included; ~1,000
 * cycles a pair): for rare, heavy work. buf: 64-byte aligned,
 * hook_xstate_size() bytes. */
unsigned hook_xstate_size(void);
void hook_xstate_save(void *buf);
void hook_xstate_restore(const void *buf);

/* Mark the calling thread as inside the hook's own machinery: its system
 * calls go straight to the kernel, bypassing the policy (bounded
 * recursion for library code the hook or a policy calls, e.g. DPDK's EAL
 * start-up). Nestable. */
void hook_guard_enter(void);
void hook_guard_leave(void);

/* State and counters, for tests, benchmarks and tools. */
struct hook_stats {
	int active;             /* 1 if the trampoline is mapped and code rewritten */
	int sud;                /* 1 if Syscall User Dispatch backs up unrewritten sites */
	uint64_t sites;         /* syscall instructions rewritten */
	uint64_t skipped_redzone; /* sites left alone: the function uses its red zone */
	uint64_t skipped_other; /* sites left alone for another reason */
	uint64_t false_candidates; /* 0f 05 / 0f 34 byte pairs that were not instructions */
	uint64_t regions;       /* executable regions scanned */
	uint64_t decoded_insns; /* instructions decoded with libopcodes */
	uint64_t cache_hits;    /* mappings rewritten from the cache (cache.c) */
	uint64_t scan_ns;       /* time spent scanning and rewriting */
	uint64_t sigsys_calls;  /* calls caught by Syscall User Dispatch */
	uint64_t sigsegv_calls; /* out-of-sled numbers emulated after a fault */
	uint64_t nested_calls;  /* calls made inside the guard, sent to the kernel */
};
void hook_get_stats(struct hook_stats *st);

/* Is `ret_addr` the address right after a rewritten syscall site? */
int hook_is_site(uintptr_t ret_addr);

/* Rewrite the syscall instructions in [addr, addr+len) now (the hook does
 * this itself for mmap/mprotect with PROT_EXEC). Returns sites rewritten
 * or -errno. */
long hook_rewrite_region(uintptr_t addr, uintptr_t len);

#endif
