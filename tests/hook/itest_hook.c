/*
 * itest_hook.c: the hook's requirements, one test each, run under
 * LD_PRELOAD=build/libhook.so (the program re-executes itself with it).
 * Needs vm.mmap_min_addr=0 (scripts/setup.sh). The exact instruction
 * sequences are in top-level asm below, so what is tested is what runs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include <cmocka.h>

#include "hook/hook.h"

/* ---- the API, found at run time (the binary does not link libhook) --- */
static void (*p_get_stats)(struct hook_stats *);
static int (*p_is_site)(uintptr_t);
static void (*p_set_dispatch)(hook_dispatch_fn, void *);
static long (*p_kernel)(const struct hook_call *);
static long (*p_raw)(long, long, long, long, long, long, long);
static void (*p_fpu_save)(void *);
static void (*p_fpu_restore)(const void *);
static unsigned (*p_fpu_size)(void);
static void (*p_guard_enter)(void);
static void (*p_guard_leave)(void);

static struct hook_stats stats(void)
{
	struct hook_stats s;
	p_get_stats(&s);
	return s;
}

/* ---- assembly under test ---------------------------------------------
 * regs_syscall(in, out): loads rbx rbp rdx rsi rdi r8-r10 r12-r15 (from
 * in[0..12]), xmm/ymm/zmm 0-31 and k1-k7 from a pattern, MXCSR and the x87
 * control word and DF... does getpid by `syscall`, stores everything
 * back to out. Label regs_site marks the address after the syscall. */
__asm__(
	".text\n"
	".globl regs_syscall\n"
	"regs_syscall:\n"
	".cfi_startproc\n"
	"  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"  push %rsi\n"                     /* out */
	"  mov %rdi, %rax\n"
	"  mov 0(%rax), %rbx; mov 8(%rax), %rbp; mov 16(%rax), %rdx\n"
	"  mov 24(%rax), %rsi; mov 40(%rax), %r8; mov 48(%rax), %r9\n"
	"  mov 56(%rax), %r10; mov 64(%rax), %r12; mov 72(%rax), %r13\n"
	"  mov 80(%rax), %r14; mov 88(%rax), %r15; mov 32(%rax), %rdi\n"
	"  mov $39, %eax\n"
	"  syscall\n"
	".globl regs_site\n"
	"regs_site:\n"
	"  xchg %rax, (%rsp)\n"             /* rax = out, result saved */
	"  mov %rbx, 0(%rax); mov %rbp, 8(%rax); mov %rdx, 16(%rax)\n"
	"  mov %rsi, 24(%rax); mov %rdi, 32(%rax); mov %r8, 40(%rax)\n"
	"  mov %r9, 48(%rax); mov %r10, 56(%rax); mov %r12, 64(%rax)\n"
	"  mov %r13, 72(%rax); mov %r14, 80(%rax); mov %r15, 88(%rax)\n"
	"  pop %rax\n"
	"  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"  ret\n"
	".cfi_endproc\n"

	/* vec_syscall(in, out): zmm0-31 from in[0..2047], k1-k7 = in words,
	 * MXCSR = 0x1fa0 | status bits, x87 CW = 0x27f, then syscall; store. */
	/* xmm_syscall(in, out): after vzeroupper, xmm0-15 from in[0..255]
	 * with legacy SSE loads (upper halves stay in their init state),
	 * syscall; store xmm0-15, the upper 128 bits of ymm0 and ymm15, and
	 * XGETBV(1) (XINUSE) at out[256..295]. */
	".globl xmm_syscall\n"
	"xmm_syscall:\n"
	".cfi_startproc\n"
	"  vzeroupper\n"
	"  movdqu 0(%rdi), %xmm0; movdqu 16(%rdi), %xmm1; movdqu 32(%rdi), %xmm2\n"
	"  movdqu 48(%rdi), %xmm3; movdqu 64(%rdi), %xmm4; movdqu 80(%rdi), %xmm5\n"
	"  movdqu 96(%rdi), %xmm6; movdqu 112(%rdi), %xmm7; movdqu 128(%rdi), %xmm8\n"
	"  movdqu 144(%rdi), %xmm9; movdqu 160(%rdi), %xmm10; movdqu 176(%rdi), %xmm11\n"
	"  movdqu 192(%rdi), %xmm12; movdqu 208(%rdi), %xmm13; movdqu 224(%rdi), %xmm14\n"
	"  movdqu 240(%rdi), %xmm15\n"
	"  mov $39, %eax\n"
	"  syscall\n"
	".globl xmm_site\n"
	"xmm_site:\n"
	"  movdqu %xmm0, 0(%rsi); movdqu %xmm1, 16(%rsi); movdqu %xmm2, 32(%rsi)\n"
	"  movdqu %xmm3, 48(%rsi); movdqu %xmm4, 64(%rsi); movdqu %xmm5, 80(%rsi)\n"
	"  movdqu %xmm6, 96(%rsi); movdqu %xmm7, 112(%rsi); movdqu %xmm8, 128(%rsi)\n"
	"  movdqu %xmm9, 144(%rsi); movdqu %xmm10, 160(%rsi); movdqu %xmm11, 176(%rsi)\n"
	"  movdqu %xmm12, 192(%rsi); movdqu %xmm13, 208(%rsi); movdqu %xmm14, 224(%rsi)\n"
	"  movdqu %xmm15, 240(%rsi)\n"
	"  mov $1, %ecx; xgetbv\n"
	"  mov %eax, 256(%rsi); mov %edx, 260(%rsi)\n"
	"  vextracti128 $1, %ymm0, 264(%rsi)\n"
	"  vextracti128 $1, %ymm15, 280(%rsi)\n"
	"  vzeroupper\n"
	"  ret\n"
	".cfi_endproc\n"

	".globl vec_syscall\n"
	"vec_syscall:\n"
	".cfi_startproc\n"
	"  sub $16, %rsp\n"
	"  stmxcsr 8(%rsp); fnstcw 4(%rsp)\n"
	"  movl $0x7f80, (%rsp); ldmxcsr (%rsp)\n"   /* all masked + RZ mode */
	"  movw $0x0e7f, (%rsp); fldcw (%rsp)\n"      /* round up, single prec */
	"  vmovdqu64 0(%rdi), %zmm0;  vmovdqu64 64(%rdi), %zmm1\n"
	"  vmovdqu64 128(%rdi), %zmm2; vmovdqu64 192(%rdi), %zmm3\n"
	"  vmovdqu64 256(%rdi), %zmm4; vmovdqu64 320(%rdi), %zmm5\n"
	"  vmovdqu64 384(%rdi), %zmm6; vmovdqu64 448(%rdi), %zmm7\n"
	"  vmovdqu64 512(%rdi), %zmm8; vmovdqu64 576(%rdi), %zmm9\n"
	"  vmovdqu64 640(%rdi), %zmm10; vmovdqu64 704(%rdi), %zmm11\n"
	"  vmovdqu64 768(%rdi), %zmm12; vmovdqu64 832(%rdi), %zmm13\n"
	"  vmovdqu64 896(%rdi), %zmm14; vmovdqu64 960(%rdi), %zmm15\n"
	"  vmovdqu64 1024(%rdi), %zmm16; vmovdqu64 1088(%rdi), %zmm17\n"
	"  vmovdqu64 1152(%rdi), %zmm18; vmovdqu64 1216(%rdi), %zmm19\n"
	"  vmovdqu64 1280(%rdi), %zmm20; vmovdqu64 1344(%rdi), %zmm21\n"
	"  vmovdqu64 1408(%rdi), %zmm22; vmovdqu64 1472(%rdi), %zmm23\n"
	"  vmovdqu64 1536(%rdi), %zmm24; vmovdqu64 1600(%rdi), %zmm25\n"
	"  vmovdqu64 1664(%rdi), %zmm26; vmovdqu64 1728(%rdi), %zmm27\n"
	"  vmovdqu64 1792(%rdi), %zmm28; vmovdqu64 1856(%rdi), %zmm29\n"
	"  vmovdqu64 1920(%rdi), %zmm30; vmovdqu64 1984(%rdi), %zmm31\n"
	"  kmovq 0(%rdi), %k1; kmovq 8(%rdi), %k2; kmovq 16(%rdi), %k3\n"
	"  kmovq 24(%rdi), %k4; kmovq 32(%rdi), %k5; kmovq 40(%rdi), %k6\n"
	"  kmovq 48(%rdi), %k7\n"
	"  mov %rdi, %r8\n"
	"  mov $39, %eax\n"
	"  std\n"                                    /* DF = 1 across the call */
	"  syscall\n"
	".globl vec_site\n"
	"vec_site:\n"
	"  pushfq; pop %rax; cld\n"
	"  mov %rax, 2168(%rsi)\n"                   /* rflags after */
	"  vmovdqu64 %zmm0, 0(%rsi);  vmovdqu64 %zmm1, 64(%rsi)\n"
	"  vmovdqu64 %zmm2, 128(%rsi); vmovdqu64 %zmm3, 192(%rsi)\n"
	"  vmovdqu64 %zmm4, 256(%rsi); vmovdqu64 %zmm5, 320(%rsi)\n"
	"  vmovdqu64 %zmm6, 384(%rsi); vmovdqu64 %zmm7, 448(%rsi)\n"
	"  vmovdqu64 %zmm8, 512(%rsi); vmovdqu64 %zmm9, 576(%rsi)\n"
	"  vmovdqu64 %zmm10, 640(%rsi); vmovdqu64 %zmm11, 704(%rsi)\n"
	"  vmovdqu64 %zmm12, 768(%rsi); vmovdqu64 %zmm13, 832(%rsi)\n"
	"  vmovdqu64 %zmm14, 896(%rsi); vmovdqu64 %zmm15, 960(%rsi)\n"
	"  vmovdqu64 %zmm16, 1024(%rsi); vmovdqu64 %zmm17, 1088(%rsi)\n"
	"  vmovdqu64 %zmm18, 1152(%rsi); vmovdqu64 %zmm19, 1216(%rsi)\n"
	"  vmovdqu64 %zmm20, 1280(%rsi); vmovdqu64 %zmm21, 1344(%rsi)\n"
	"  vmovdqu64 %zmm22, 1408(%rsi); vmovdqu64 %zmm23, 1472(%rsi)\n"
	"  vmovdqu64 %zmm24, 1536(%rsi); vmovdqu64 %zmm25, 1600(%rsi)\n"
	"  vmovdqu64 %zmm26, 1664(%rsi); vmovdqu64 %zmm27, 1728(%rsi)\n"
	"  vmovdqu64 %zmm28, 1792(%rsi); vmovdqu64 %zmm29, 1856(%rsi)\n"
	"  vmovdqu64 %zmm30, 1920(%rsi); vmovdqu64 %zmm31, 1984(%rsi)\n"
	"  kmovq %k1, 2048(%rsi); kmovq %k2, 2056(%rsi); kmovq %k3, 2064(%rsi)\n"
	"  kmovq %k4, 2072(%rsi); kmovq %k5, 2080(%rsi); kmovq %k6, 2088(%rsi)\n"
	"  kmovq %k7, 2096(%rsi)\n"
	"  stmxcsr 2104(%rsi); fnstcw 2112(%rsi)\n"
	"  ldmxcsr 8(%rsp); fldcw 4(%rsp)\n"
	"  vzeroupper\n"
	"  add $16, %rsp\n"
	"  ret\n"
	".cfi_endproc\n"

	/* rz_live(): leaf; live values in the red zone across getpid.
	 * Returns 0 if they all survived, else the index that did not. */
	".globl rz_live\n"
	"rz_live:\n"
	".cfi_startproc\n"
	"  movq $0x1111, -8(%rsp); movq $0x2222, -16(%rsp)\n"
	"  movq $0x3333, -64(%rsp); movq $0x4444, -120(%rsp)\n"
	"  mov $39, %eax\n"
	"  syscall\n"
	".globl rz_live_site\n"
	"rz_live_site:\n"
	"  mov $1, %eax; cmpq $0x1111, -8(%rsp); jne 1f\n"
	"  mov $2, %eax; cmpq $0x2222, -16(%rsp); jne 1f\n"
	"  mov $3, %eax; cmpq $0x3333, -64(%rsp); jne 1f\n"
	"  mov $4, %eax; cmpq $0x4444, -120(%rsp); jne 1f\n"
	"  xor %eax, %eax\n"
	"1: ret\n"
	".cfi_endproc\n"

	/* rz_out(): as glibc's ____longjmp_chk: sigaltstack(NULL, -0x18(%rsp))
	 * and read the kernel's answer back from the red zone. Returns
	 * ss_flags, which the kernel wrote at -0x10(%rsp). */
	".globl rz_out\n"
	"rz_out:\n"
	".cfi_startproc\n"
	"  movq $-1, -0x10(%rsp)\n"
	"  xor %edi, %edi\n"
	"  lea -0x18(%rsp), %rsi\n"
	"  mov $131, %eax\n"
	"  syscall\n"
	".globl rz_out_site\n"
	"rz_out_site:\n"
	"  test %eax, %eax; jne 1f\n"
	"  mov -0x10(%rsp), %eax\n"
	"1: ret\n"
	".cfi_endproc\n"

	/* raw_nr(nr): syscall with that number, no arguments */
	".globl raw_nr\n"
	"raw_nr:\n"
	".cfi_startproc\n"
	"  mov %rdi, %rax\n"
	"  syscall\n"
	".globl raw_nr_site\n"
	"raw_nr_site:\n"
	"  ret\n"
	".cfi_endproc\n"
);

/* vec_mprotect(in, out, addr, len): zmm0, zmm16, zmm31 and k1 from in,
 * mprotect(addr, len, PROT_READ|PROT_EXEC) by an inline syscall (the hook
 * then rewrites the range with libopcodes, which uses vector registers),
 * the same registers stored to out. */
__asm__(
	".text\n"
	".globl vec_mprotect\n"
	"vec_mprotect:\n"
	".cfi_startproc\n"
	"  push %r12\n"
	"  mov %rsi, %r12\n"
	"  vmovdqu64 0(%rdi), %zmm0\n"
	"  vmovdqu64 64(%rdi), %zmm16\n"
	"  vmovdqu64 128(%rdi), %zmm31\n"
	"  kmovq 192(%rdi), %k1\n"
	"  mov %rdx, %rdi\n"
	"  mov %rcx, %rsi\n"
	"  mov $5, %edx\n"
	"  mov $10, %eax\n"
	"  syscall\n"
	".globl vec_mprotect_site\n"
	"vec_mprotect_site:\n"
	"  vmovdqu64 %zmm0, 0(%r12)\n"
	"  vmovdqu64 %zmm16, 64(%r12)\n"
	"  vmovdqu64 %zmm31, 128(%r12)\n"
	"  kmovq %k1, 192(%r12)\n"
	"  vzeroupper\n"
	"  pop %r12\n"
	"  ret\n"
	".cfi_endproc\n");
long vec_mprotect(const uint8_t *in, uint8_t *out, void *addr, size_t len);
extern char vec_mprotect_site[];

void regs_syscall(const uint64_t *in, uint64_t *out);
void vec_syscall(const uint8_t *in, uint8_t *out);
long rz_live(void);
long rz_out(void);
long raw_nr(long nr);
extern char regs_site[], vec_site[], rz_live_site[], rz_out_site[],
	raw_nr_site[];

/* ---- 1. registers ------------------------------------------------------ */

static void test_gprs_preserved(void **state)
{
	(void)state;
	uint64_t in[12], out[12];
	assert_true(p_is_site((uintptr_t)regs_site));
	for (int i = 0; i < 12; i++)
		in[i] = 0x0123456789abcdefull * (uint64_t)(i + 3) + (uint64_t)i;
	in[3] = 0x5a5a5a5a5a5a5a5aull; /* rsi */
	regs_syscall(in, out);
	for (int i = 0; i < 12; i++)
		assert_int_equal(out[i], in[i]);
}

/* A policy that clobbers vector state the right way (saving it) and
 * checks the hook gave it DF = 0. */
static int policy_saw_df;
static long vec_policy(void *ctx, const struct hook_call *c)
{
	(void)ctx;
	unsigned long fl;
	__asm__ volatile("pushfq; pop %0" : "=r"(fl));
	if (fl & 0x400)
		policy_saw_df = 1;
	uint8_t raw[8192 + 64];
	void *buf = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	p_fpu_save(buf);
	__asm__ volatile("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n"
			 "vpternlogd $0xff, %%zmm17, %%zmm17, %%zmm17\n"
			 "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
			 "kxnorq %%k1, %%k1, %%k1\n"
			 "movl $0x1f80, -4(%%rsp); ldmxcsr -4(%%rsp)\n"
			 ::: "memory");
	p_fpu_restore(buf);
	return p_kernel(c);
}

static int have_avx512(void)
{
	return __builtin_cpu_supports("avx512f");
}

static void run_vec(int with_policy)
{
	static uint8_t in[2048] __attribute__((aligned(64)));
	static uint8_t out[2176] __attribute__((aligned(64)));
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	memset(out, 0, sizeof(out));
	if (with_policy)
		p_set_dispatch(vec_policy, 0);
	vec_syscall(in, out);
	if (with_policy)
		p_set_dispatch(0, 0);
	assert_memory_equal(out, in, 2048);
	for (int k = 0; k < 7; k++) {
		uint64_t want, got;
		memcpy(&want, in + 8 * k, 8);
		memcpy(&got, out + 2048 + 8 * k, 8);
		assert_int_equal(got, want);
	}
	uint32_t mxcsr;
	uint16_t cw;
	uint64_t fl;
	memcpy(&mxcsr, out + 2104, 4);
	memcpy(&cw, out + 2112, 2);
	memcpy(&fl, out + 2168, 8);
	assert_int_equal(mxcsr & 0xffc0, 0x7f80);
	assert_int_equal(cw, 0x0e7f);
	assert_true(fl & 0x400); /* DF still set after the call */
}

static void test_vectors_preserved(void **state)
{
	(void)state;
	if (!have_avx512()) {
		fprintf(stderr, "this CPU has no AVX-512: cannot test zmm/k\n");
		if (!getenv("NETFUSE_ALLOW_SKIP"))
			fail();
		skip();
	}
	assert_true(p_is_site((uintptr_t)vec_site));
	run_vec(0);
	policy_saw_df = 0;
	run_vec(1);
	assert_int_equal(policy_saw_df, 0);
}

/* The upper halves were clean (vzeroupper) when the program made the
 * call: the policy dirtied them; the hook restores the xmm values AND the
 * clean state (XINUSE bits 2 and 6 clear), as the program had it. */
void xmm_syscall(const void *in, void *out);
extern char xmm_site[];
static void test_vectors_clean_upper_state(void **state)
{
	static uint8_t in[256], out[296];
	uint64_t inuse;
	unsigned r[4];
	(void)state;
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]),
			 "=d"(r[3]) : "a"(0xd), "c"(1));
	if (!have_avx512() || !((r[0] >> 2) & 1)) {
		fprintf(stderr, "this CPU has no AVX-512 or no XGETBV(1)\n");
		if (!getenv("NETFUSE_ALLOW_SKIP"))
			fail();
		skip();
	}
	assert_true(p_is_site((uintptr_t)xmm_site));
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 5);
	p_set_dispatch(vec_policy, 0);
	xmm_syscall(in, out);
	p_set_dispatch(0, 0);
	assert_memory_equal(out, in, 256);
	memcpy(&inuse, out + 256, 8);
	assert_int_equal(inuse & ((1u << 2) | (1u << 6)), 0);
	for (int i = 264; i < 296; i++)
		assert_int_equal(out[i], 0);
}

/* ---- 2. red zone ------------------------------------------------------- */

static void test_red_zone_live_values(void **state)
{
	(void)state;
	struct hook_stats a = stats();
	assert_false(p_is_site((uintptr_t)rz_live_site)); /* left alone */
	assert_int_equal(rz_live(), 0);
	struct hook_stats b = stats();
	if (a.sud)
		assert_true(b.sigsys_calls > a.sigsys_calls); /* still hooked */
}

static void test_red_zone_kernel_output(void **state)
{
	(void)state;
	struct hook_stats a = stats();
	assert_false(p_is_site((uintptr_t)rz_out_site));
	assert_int_equal(rz_out(), SS_DISABLE);
	struct hook_stats b = stats();
	if (a.sud)
		assert_true(b.sigsys_calls > a.sigsys_calls);
}

/* Threads and child processes do not inherit Syscall User Dispatch from
 * the kernel; the hook turns it on for them. */
static void *rz_thread(void *arg)
{
	struct hook_stats a = stats();
	long r = rz_live();
	struct hook_stats b = stats();
	*(long *)arg = r == 0 && (!a.sud || b.sigsys_calls > a.sigsys_calls);
	return 0;
}

static void test_red_zone_in_thread_and_child(void **state)
{
	(void)state;
	long ok = 0;
	pthread_t t;
	assert_int_equal(pthread_create(&t, 0, rz_thread, &ok), 0);
	pthread_join(t, 0);
	assert_int_equal(ok, 1);
	pid_t pid = fork();
	if (pid == 0) {
		rz_thread(&ok);
		_exit(ok ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- 3. bad numbers ---------------------------------------------------- */

static void test_bad_numbers(void **state)
{
	(void)state;
	long nrs[] = { 511, 512, 513, 514, 516, 517, 600, 1000, 4095,
		       4096, 5000, 100000, -1, -2, -4096,
		       0x40000000L | 39, 0x40000000L | 1000, 0x7fffffffffffL,
		       (long)0x8000000000000000ull, 0x123456789abcL };
	assert_true(p_is_site((uintptr_t)raw_nr_site));
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		long want = p_raw(nrs[i], 0, 0, 0, 0, 0, 0);
		long got = raw_nr(nrs[i]);
		if (got != want)
			fprintf(stderr, "nr %#lx: hooked %ld, kernel %ld\n",
				nrs[i], got, want);
		assert_int_equal(got, want);
	}
	/* and through libc's syscall(3): -1 with errno */
	errno = 0;
	assert_int_equal(syscall(1000), -1);
	assert_int_equal(errno, ENOSYS);
	errno = 0;
	assert_int_equal(syscall(-1), -1);
	assert_int_equal(errno, ENOSYS);
}

/* ---- 4. threads and processes ----------------------------------------- */

static void *thr_fn(void *arg)
{
	long *v = arg;
	for (int i = 0; i < 100; i++)
		*v += syscall(SYS_gettid) > 0;
	return arg;
}

static void test_pthreads(void **state)
{
	(void)state;
	pthread_t t[8];
	long v[8] = { 0 };
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], 0, thr_fn, &v[i]), 0);
	for (int i = 0; i < 8; i++) {
		void *r;
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_ptr_equal(r, &v[i]);
		assert_int_equal(v[i], 100);
	}
}

static int clone_child(void *arg)
{
	*(volatile long *)arg = syscall(SYS_gettid);
	return 0;
}

static void test_clone_legacy(void **state)
{
	(void)state;
	size_t sz = 256 << 10;
	char *stk = mmap(0, sz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	assert_true(stk != MAP_FAILED);
	volatile long tid = 0;
	int pid = clone(clone_child, stk + sz, CLONE_VM | SIGCHLD, (void *)&tid);
	assert_true(pid > 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(tid, pid);
	munmap(stk, sz);
}

/* clone3 through a raw syscall in this file, child on its own stack; the
 * caller's struct must come back unchanged. */
__asm__(
	".text\n"
	".globl clone3_raw\n"
	"clone3_raw:\n"
	".cfi_startproc\n"           /* (args, size, flagptr) -> tid or 0 */
	"  mov %rdx, %r8\n"
	"  mov $435, %eax\n"
	"  syscall\n"
	".globl clone3_site\n"
	"clone3_site:\n"
	"  test %rax, %rax\n"
	"  jnz 1f\n"
	"  movq $1, (%r8)\n"      /* child: r8 preserved, mark and exit */
	"  mov $60, %eax\n"
	"  xor %edi, %edi\n"
	"  syscall\n"
	"  hlt\n"
	"1: ret\n"
	".cfi_endproc\n");
long clone3_raw(struct clone_args *a, size_t size, volatile long *flag);
extern char clone3_site[];

static void test_clone3(void **state)
{
	(void)state;
	size_t sz = 64 << 10;
	char *stk = mmap(0, sz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(stk != MAP_FAILED);
	static volatile long flag;
	struct clone_args a, copy;
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_VM;
	a.exit_signal = SIGCHLD;
	a.stack = (uintptr_t)stk;
	a.stack_size = sz;
	memcpy(&copy, &a, sizeof(a));
	assert_true(p_is_site((uintptr_t)clone3_site));
	long pid = clone3_raw(&a, sizeof(a), &flag);
	assert_true(pid > 0);
	assert_memory_equal(&a, &copy, sizeof(a));
	int st;
	assert_int_equal(waitpid((int)pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(flag, 1);
	munmap(stk, sz);
}

static void test_vfork(void **state)
{
	(void)state;
	volatile int canary = 1234;
	pid_t pid = vfork();
	if (pid == 0)
		_exit(canary == 1234 ? 7 : 8);
	assert_true(pid > 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	assert_int_equal(canary, 1234);
}

static void test_fork_and_exec(void **state)
{
	(void)state;
	pid_t pid = fork();
	if (pid == 0) {
		/* child: hook still active, then exec a program under it */
		struct hook_stats s = stats();
		if (!s.active)
			_exit(3);
		execl("/bin/sh", "sh", "-c", "exit 5", (char *)0);
		_exit(4);
	}
	assert_true(pid > 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5);
}

/* ---- 5. signals -------------------------------------------------------- */

static volatile long handler_calls, handler_bad;
static void busy_handler(int sig)
{
	(void)sig;
	int saved = errno;
	if (syscall(SYS_getpid) != getpid())
		handler_bad++;
	char c = 'x';
	int fd[2];
	if (pipe(fd) == 0) {
		if (write(fd[1], &c, 1) != 1 || read(fd[0], &c, 1) != 1)
			handler_bad++;
		close(fd[0]);
		close(fd[1]);
	}
	handler_calls++;
	errno = saved;
}

static void test_signal_handler_syscalls(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = busy_handler,
				.sa_flags = SA_RESTART };
	assert_int_equal(sigaction(SIGALRM, &sa, 0), 0);
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	assert_int_equal(setitimer(ITIMER_REAL, &it, 0), 0);
	long pid = getpid();
	for (int i = 0; i < 200000 && handler_calls < 200; i++)
		assert_int_equal(syscall(SYS_getpid), pid);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, 0);
	signal(SIGALRM, SIG_DFL);
	assert_true(handler_calls > 0);
	assert_int_equal(handler_bad, 0);
}

static volatile uintptr_t alt_sp;
static void alt_handler(int sig)
{
	(void)sig;
	int local;
	alt_sp = (uintptr_t)&local;
	if (syscall(SYS_getpid) != getpid())
		handler_bad++;
}

static void test_sigaltstack(void **state)
{
	(void)state;
	static char alt[64 << 10];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };
	assert_int_equal(sigaltstack(&ss, 0), 0);
	struct sigaction sa = { .sa_handler = alt_handler,
				.sa_flags = SA_ONSTACK };
	assert_int_equal(sigaction(SIGUSR1, &sa, 0), 0);
	handler_bad = 0;
	assert_int_equal(raise(SIGUSR1), 0);
	assert_true(alt_sp >= (uintptr_t)alt &&
		    alt_sp < (uintptr_t)alt + sizeof(alt));
	assert_int_equal(handler_bad, 0);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, 0);
	signal(SIGUSR1, SIG_DFL);
}

static void nop_handler(int sig)
{
	(void)sig;
}

static void *late_writer(void *arg)
{
	int *fd = arg;
	usleep(100 * 1000);
	if (write(fd[1], "z", 1) != 1)
		abort();
	return 0;
}

static void read_with_signal(int restart, ssize_t *ret, int *err)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	struct sigaction sa = { .sa_handler = nop_handler,
				.sa_flags = restart ? SA_RESTART : 0 };
	assert_int_equal(sigaction(SIGALRM, &sa, 0), 0);
	struct itimerval it = { { 0, 0 }, { 0, 20 * 1000 } };
	pthread_t t;
	if (restart)
		assert_int_equal(pthread_create(&t, 0, late_writer, fd), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, 0), 0);
	char c;
	errno = 0;
	*ret = read(fd[0], &c, 1);
	*err = errno;
	if (restart)
		pthread_join(t, 0);
	signal(SIGALRM, SIG_DFL);
	close(fd[0]);
	close(fd[1]);
}

static void test_sa_restart_and_eintr(void **state)
{
	(void)state;
	ssize_t r;
	int e;
	read_with_signal(1, &r, &e);
	assert_int_equal(r, 1);          /* restarted, got the late byte */
	read_with_signal(0, &r, &e);
	assert_int_equal(r, -1);
	assert_int_equal(e, EINTR);
}

/* The hook owns SIGSEGV/SIGSYS; the program still sees its own handler. */
static sigjmp_buf segv_jmp;
static void segv_handler(int sig)
{
	(void)sig;
	siglongjmp(segv_jmp, 1);
}

static void test_program_sigsegv_handler(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = segv_handler }, old;
	assert_int_equal(sigaction(SIGSEGV, &sa, 0), 0);
	assert_int_equal(sigaction(SIGSEGV, 0, &old), 0);
	assert_ptr_equal(old.sa_handler, segv_handler);
	volatile int caught = 0;
	volatile int *tramp = (volatile int *)16;
	__asm__ volatile("" : "+r"(tramp));
	if (sigsetjmp(segv_jmp, 1) == 0)
		*tramp = 1; /* the trampoline page is not writable */
	else
		caught = 1;
	assert_int_equal(caught, 1);
	signal(SIGSEGV, SIG_DFL);
	/* a bad pointer gets EFAULT, as from the kernel */
	errno = 0;
	assert_int_equal(syscall(SYS_rt_sigaction, SIGSEGV, (void *)8, 0, 8), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(syscall(SYS_rt_sigaction, SIGSEGV, 0, 0, 4), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- 6. code that appears later --------------------------------------- */

static void test_jit_code(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	uint8_t *p = mmap(0, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	memcpy(p, code, sizeof(code));
	assert_int_equal(mprotect(p, 4096, PROT_READ | PROT_EXEC), 0);
	assert_true(p_is_site((uintptr_t)p + 7));
	assert_int_equal(p[5], 0xff);
	assert_int_equal(((long (*)(void))p)(), getpid());
	munmap(p, 4096);
}

/* The rewrite that mprotect(PROT_EXEC) triggers runs libopcodes and libc
 * (vector code) inside the program's call: its registers must survive. */
static void test_rewrite_keeps_vectors(void **state)
{
	(void)state;
	if (!have_avx512()) {
		fprintf(stderr, "this CPU has no AVX-512\n");
		if (!getenv("NETFUSE_ALLOW_SKIP"))
			fail();
		skip();
	}
	static uint8_t in[256] __attribute__((aligned(64)));
	static uint8_t out[256] __attribute__((aligned(64)));
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 5);
	uint8_t *p = mmap(0, 8192, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	static const uint8_t code[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	memcpy(p + 100, code, sizeof(code));
	assert_true(p_is_site((uintptr_t)vec_mprotect_site));
	assert_int_equal(vec_mprotect(in, out, p, 8192), 0);
	assert_memory_equal(out, in, 200);
	assert_true(p_is_site((uintptr_t)p + 107)); /* the rewrite did run */
	munmap(p, 8192);
}

/* Code written into memory that is already executable (RWX JIT) is not
 * rewritten; Syscall User Dispatch still brings its calls to the hook. */
static void test_rwx_jit_caught_by_sud(void **state)
{
	(void)state;
	struct hook_stats a = stats();
	if (!a.sud) {
		fprintf(stderr, "no Syscall User Dispatch on this kernel\n");
		if (!getenv("NETFUSE_ALLOW_SKIP"))
			fail();
		skip();
	}
	uint8_t *p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	static const uint8_t code[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	memcpy(p, code, sizeof(code));
	assert_int_equal(((long (*)(void))p)(), getpid());
	struct hook_stats b = stats();
	assert_true(b.sigsys_calls > a.sigsys_calls);
	munmap(p, 4096);
}

static void test_dlopen(void **state)
{
	(void)state;
	char path[4096];
	const char *dir = getenv("HOOK_TEST_DIR");
	snprintf(path, sizeof(path), "%s/libfixture.so", dir ? dir : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h)
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
	assert_non_null(h);
	long (*fn)(void) = (long (*)(void))dlsym(h, "fixture_getpid");
	uintptr_t *site = (uintptr_t *)dlsym(h, "fixture_site");
	assert_non_null(fn);
	assert_non_null(site);
	assert_true(p_is_site(*site));
	struct hook_stats a = stats();
	(void)a;
	assert_int_equal(fn(), getpid());
	dlclose(h);
}

/* ---- 7. no self-recursion ----------------------------------------------- */

static volatile long count_policy_calls;
static long counting_policy(void *ctx, const struct hook_call *c)
{
	(void)ctx;
	count_policy_calls++;
	return p_kernel(c);
}

static void test_guard(void **state)
{
	(void)state;
	p_set_dispatch(counting_policy, 0);
	count_policy_calls = 0;
	syscall(SYS_getpid);
	long seen = count_policy_calls;
	struct hook_stats a = stats();
	p_guard_enter();
	syscall(SYS_getpid);
	syscall(SYS_getppid);
	p_guard_leave();
	struct hook_stats b = stats();
	p_set_dispatch(0, 0);
	assert_int_equal(seen, 1);
	assert_int_equal(count_policy_calls, 1); /* guarded calls bypassed it */
	assert_int_equal(b.nested_calls - a.nested_calls, 2);
}

/* ---- 8. NULL calls still crash ---------------------------------------- */

static void test_null_call_crashes(void **state)
{
	(void)state;
	for (int target = 0; target < 2; target++) {
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGSEGV, SIG_DFL);
			void (*volatile fn)(void) =
				(void (*)(void))(uintptr_t)(target ? 0x100 : 0);
			fn();
			_exit(0); /* must not get here */
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
		assert_true(WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGTRAP);
	}
}

/* ---- 9. start-up work is bounded ---------------------------------------
 * Time is measured by bench-hook, not here; this checks the work that
 * makes it fast: only functions holding candidates were decoded, a few
 * tens of thousands of instructions for libc + ld.so + this program,
 * not the ~500,000 a full disassembly costs. */
static void test_startup_work_bounded(void **state)
{
	(void)state;
	struct hook_stats s = stats();
	fprintf(stderr, "start-up: %lu sites, %lu decoded instructions, "
		"%lu regions, %lu us\n", (unsigned long)s.sites,
		(unsigned long)s.decoded_insns, (unsigned long)s.regions,
		(unsigned long)(s.scan_ns / 1000));
	assert_true(s.sites >= 400);   /* libc alone has ~550 */
	assert_true(s.decoded_insns < 60000);
}

/* ---- main: re-exec under the hook -------------------------------------- */

#define FIND(var, name) \
	do { \
		*(void **)&var = dlsym(RTLD_DEFAULT, name); \
		if (!var) { \
			fprintf(stderr, "%s missing\n", name); \
			return 1; \
		} \
	} while (0)

int main(int argc, char **argv)
{
	(void)argc;
	if (!dlsym(RTLD_DEFAULT, "hook_get_stats")) {
		char lib[4200], dir[4096];
		snprintf(dir, sizeof(dir), "%s", argv[0]);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), ".");
		snprintf(lib, sizeof(lib), "%s/../../libhook.so", dir);
		setenv("LD_PRELOAD", lib, 1);
		setenv("HOOK_TEST_DIR", dir, 1);
		execv("/proc/self/exe", argv);
		perror("execv");
		return 1;
	}
	FIND(p_get_stats, "hook_get_stats");
	FIND(p_is_site, "hook_is_site");
	FIND(p_set_dispatch, "hook_set_dispatch");
	FIND(p_kernel, "hook_syscall_kernel");
	FIND(p_raw, "hook_raw_syscall");
	FIND(p_fpu_save, "hook_fpu_save");
	FIND(p_fpu_restore, "hook_fpu_restore");
	FIND(p_fpu_size, "hook_fpu_size");
	FIND(p_guard_enter, "hook_guard_enter");
	FIND(p_guard_leave, "hook_guard_leave");
	struct hook_stats s = stats();
	if (!s.active) {
		fprintf(stderr, "the hook is not active (vm.mmap_min_addr? run "
			"scripts/setup.sh)\n");
		return 1;
	}
	if (p_fpu_size() > 8192) {
		fprintf(stderr, "xsave area larger than the test's buffer\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gprs_preserved),
		cmocka_unit_test(test_vectors_preserved),
		cmocka_unit_test(test_vectors_clean_upper_state),
		cmocka_unit_test(test_red_zone_live_values),
		cmocka_unit_test(test_red_zone_kernel_output),
		cmocka_unit_test(test_red_zone_in_thread_and_child),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_pthreads),
		cmocka_unit_test(test_clone_legacy),
		cmocka_unit_test(test_clone3),
		cmocka_unit_test(test_vfork),
		cmocka_unit_test(test_fork_and_exec),
		cmocka_unit_test(test_signal_handler_syscalls),
		cmocka_unit_test(test_sigaltstack),
		cmocka_unit_test(test_sa_restart_and_eintr),
		cmocka_unit_test(test_program_sigsegv_handler),
		cmocka_unit_test(test_jit_code),
		cmocka_unit_test(test_rewrite_keeps_vectors),
		cmocka_unit_test(test_rwx_jit_caught_by_sud),
		cmocka_unit_test(test_dlopen),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_null_call_crashes),
		cmocka_unit_test(test_startup_work_bounded),
	};
	return cmocka_run_group_tests_name("hook", tests, 0, 0);
}
