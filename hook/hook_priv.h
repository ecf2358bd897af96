/*
 * hook_priv.h: internals of hook/. Not for use outside this folder.
 */
#ifndef HOOK_PRIV_H
#define HOOK_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include "hook/hook.h"

/* Trampoline geometry (trampoline.c): page 0 only. */
#define HOOK_SLED_LEN     513u /* numbers 0..512 reach the jump */
#define HOOK_TRAMP_LEN    4096u

/* Actions hook_entry_c asks entry.S to carry out (frame->action). */
#define HOOK_ACT_RETURN   0 /* rax holds the result */
#define HOOK_ACT_CRASH    1 /* not a rewritten site: a call through NULL */
#define HOOK_ACT_CLONE    2 /* clone with a new stack: buf[0] = newsp - 8 */
#define HOOK_ACT_CLONE3   3 /* clone3 with a new stack: buf holds the copy */
#define HOOK_ACT_VFORK    4 /* child shares our stack: return via TLS */
#define HOOK_ACT_KERNEL   5 /* make the call from the stub, then return */

#define HOOK_CLONE3_MAX   120 /* bytes of struct clone_args we copy */

/* The frame entry.S builds on the program's stack, lowest address first.
 * Offsets are used by entry.S; keep both in sync. */
struct hook_frame {
	long action;            /*   0 (C writes) */
	long buf[16];           /*   8 scratch for clone/clone3 (C writes) */
	long rbx;               /* 136 */
	long nr;                /* 144 */
	long r9, r8, r10, rdx, rsi, rdi; /* 152..192 */
	long rflags;            /* 200 */
	char red_zone[120];     /* 208: the program's red zone, untouched */
	uintptr_t ret;          /* 328: pushed by `call *%rax` */
};                              /* 336: the program's %rsp at the syscall */

_Static_assert(offsetof(struct hook_frame, rbx) == 136, "entry.S");
_Static_assert(offsetof(struct hook_frame, rflags) == 200, "entry.S");
_Static_assert(offsetof(struct hook_frame, ret) == 328, "entry.S");

long hook_entry_c(struct hook_frame *f);
/* Copy to (to_prog) or from the program's memory; -EFAULT on a bad
 * pointer instead of a crash, as the kernel would answer. */
long safe_copy(void *dst, const void *src, size_t len, int to_prog);
long hook_dispatch_signal(const struct hook_call *c);

/* entry.S */
void hook_entry(void);
void hook_restore_rt(void);
extern char __start_hook_gate[], __stop_hook_gate[];

/* trampoline.c */
int tramp_map(void);
void tramp_fill(uint8_t *page, uint32_t rel);
uintptr_t tramp_crash_addr(void);

/* sites.c: the set of rewritten sites, keyed by the return address. */
int sites_init(void);
int sites_add(uintptr_t ret_addr);
int sites_contains(uintptr_t ret_addr);
uint64_t sites_count(void);

/* rewrite.c */
struct rw_stats {
	uint64_t sites, skipped_redzone, skipped_other, false_candidates;
	uint64_t regions, decoded_insns, cache_hits;
};
long rewrite_all(void);
long rewrite_mapping_prot(uintptr_t start, uintptr_t end, const char *path,
			  uint64_t file_off, int prot);
extern struct rw_stats rw_stats;

/* cache.c: remembered rewrite results */
void cache_init(const char *env_dir, const char *env_on);
long cache_lookup(const char *path, uint64_t off, uint64_t len,
		  uint32_t **sites, size_t *sites_len, uint32_t *nredzone);
void cache_store(const char *path, uint64_t off, uint64_t len,
		 const uint32_t *sites, uint32_t nsites, uint32_t nredzone);

/* disasm.c: libopcodes wrapper. Decodes [start, end) as a run of
 * instructions; for each instruction boundary that is a candidate site
 * records it; reports whether the run uses the red zone. */
struct dis_result {
	int uses_red_zone;
	uint32_t ninsns;
};
typedef void (*dis_site_fn)(void *arg, uintptr_t insn);
int dis_init(void);
int dis_run(uintptr_t start, uintptr_t end, uintptr_t want_lo,
	    uintptr_t want_hi, dis_site_fn fn, void *arg,
	    struct dis_result *res);

/* funcs.c: function boundaries from .eh_frame_hdr of an ELF file. */
struct funcs {
	uintptr_t *start;  /* sorted run-time addresses */
	size_t n;
	void *map;         /* backing memory (raw mmap) */
	size_t map_len;
};
int funcs_load(struct funcs *fs, const char *path, uintptr_t map_start,
	       uint64_t map_off);
void funcs_free(struct funcs *fs);

/* sud.c: Syscall User Dispatch and the fault fallbacks. */
int sud_init(void);
int sud_enable_thread(void);
long sig_rt_sigaction(const struct hook_call *c);
int sig_owns(int signo);
extern int hook_sud_on;

/* raw helpers (raw.c): printing and memory without libc. */
void raw_write_str(int fd, const char *s);
size_t raw_fmt_u64(char *out, uint64_t v);
size_t raw_fmt_hex(char *out, uint64_t v);
size_t raw_fmt_i64(char *out, int64_t v);
void hook_log(const char *msg1, const char *msg2);
void *raw_alloc(size_t len);
void raw_free(void *p, size_t len);
uint64_t raw_now_ns(void);

/* trace.c */
long trace_call(hook_dispatch_fn fn, void *ctx, const struct hook_call *c);
void trace_special(const struct hook_call *c);
extern int trace_on;

extern __thread int hook_guard_depth __attribute__((tls_model("initial-exec")));
extern struct hook_stats hook_stats_g;

#define RAW(nr, a, b, c, d, e, f) \
	hook_raw_syscall((nr), (long)(a), (long)(b), (long)(c), (long)(d), \
			 (long)(e), (long)(f))

#endif
