/*
 * fpu.c: saving the program's vector state around policy code that may
 * use vector registers (libc's memcpy does).
 *
 * Two ways:
 *  - hook_fpu_save/restore, on every slow-path call of a policy (vfs/):
 *    plain moves of exactly the registers compiled C code can change,
 *    xmm/ymm/zmm 0-31 (as the CPU has them), k0-k7, MXCSR and the x87
 *    control word. XSAVE + XRSTOR of every enabled component cost ~850-
 *    1,000 cycles per pair here (AMD EPYC, AVX-512, in a VM; 18% of a
 *    ping-pong server's CPU under perf); the moves ~150.
 *    Not saved: the x87 register stack and MMX, which compiled C uses
 *    only for long double (a policy must not).
 *    The upper halves of ymm/zmm 0-15 are often in their init state
 *    (after vzeroupper): XGETBV(1) tells, and restore then ends with
 *    vzeroupper, so the program does not come back with dirty upper
 *    state it did not have (SSE code would pay for it on Intel CPUs).
 *  - hook_xstate_save/restore: XSAVE/XRSTOR of every enabled component,
 *    for rare, heavy work (the rewriter inside mmap/mprotect, which runs
 *    libopcodes).
 *
 * All of this is inline assembly in a file compiled with
 * -mgeneral-regs-only: gcc never uses a vector register here itself.
 */
#include <stdint.h>

#include "hook/hook.h"

enum { FPU_UNKNOWN, FPU_SSE, FPU_AVX, FPU_AVX512 };

/* layout of a hook_fpu_save buffer */
#define OFF_VEC    0      /* 32 x 64 (zmm), 16 x 32 (ymm) or 16 x 16 (xmm) */
#define OFF_K      2048   /* k0-k7 */
#define OFF_MXCSR  2112
#define OFF_FCW    2116
#define OFF_INUSE  2120   /* XGETBV(1) at save, or all ones */
#define FPU_SIZE   2176

static int fpu_kind;        /* written once, same value by any thread */
static int have_xinuse;
static unsigned xstate_size;
static uint64_t xstate_mask;

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]),
			 "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv(unsigned which)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(which));
	return ((uint64_t)hi << 32) | lo;
}

static void fpu_probe(void)
{
	unsigned r[4];
	uint64_t xcr0 = 0;
	int kind = FPU_SSE;
	cpuid(1, 0, r);
	if (r[2] & (1u << 27)) /* OSXSAVE */
		xcr0 = xgetbv(0);
	if ((xcr0 & 0x6) == 0x6)
		kind = FPU_AVX;
	if ((xcr0 & 0xe6) == 0xe6)
		kind = FPU_AVX512;
	if (xcr0) {
		cpuid(0xd, 1, r);
		have_xinuse = (r[0] >> 2) & 1;
		cpuid(0xd, 0, r);
		xstate_size = r[1];
		xstate_mask = xcr0;
	}
	if (!xstate_size)
		xstate_size = 512 + 64;
	fpu_kind = kind;
}

unsigned hook_fpu_size(void)
{
	if (!fpu_kind)
		fpu_probe();
	return FPU_SIZE;
}

#define ZS(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%0)\n"
#define ZL(n) "vmovdqu64 " #n "*64(%0), %%zmm" #n "\n"
#define YS(n) "vmovdqu %%ymm" #n ", " #n "*32(%0)\n"
#define YL(n) "vmovdqu " #n "*32(%0), %%ymm" #n "\n"
#define XS(n) "movdqu %%xmm" #n ", " #n "*16(%0)\n"
#define XL(n) "movdqu " #n "*16(%0), %%xmm" #n "\n"
#define R16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) \
	M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define R16HI(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) \
	M(24) M(25) M(26) M(27) M(28) M(29) M(30) M(31)

void hook_fpu_save(void *buf)
{
	uint8_t *b = buf;
	uint64_t inuse = ~0ull;
	if (!fpu_kind)
		fpu_probe();
	if (have_xinuse)
		inuse = xgetbv(1);
	*(uint64_t *)(b + OFF_INUSE) = inuse;
	switch (fpu_kind) {
	case FPU_AVX512:
		__asm__ volatile(R16(ZS) R16HI(ZS)
				 "kmovq %%k0, 2048(%0)\n kmovq %%k1, 2056(%0)\n"
				 "kmovq %%k2, 2064(%0)\n kmovq %%k3, 2072(%0)\n"
				 "kmovq %%k4, 2080(%0)\n kmovq %%k5, 2088(%0)\n"
				 "kmovq %%k6, 2096(%0)\n kmovq %%k7, 2104(%0)\n"
				 : : "r"(b) : "memory");
		break;
	case FPU_AVX:
		__asm__ volatile(R16(YS) : : "r"(b) : "memory");
		break;
	default:
		__asm__ volatile(R16(XS) : : "r"(b) : "memory");
		break;
	}
	__asm__ volatile("stmxcsr (%0)\n fnstcw (%1)\n"
			 : : "r"(b + OFF_MXCSR), "r"(b + OFF_FCW) : "memory");
}

void hook_fpu_restore(const void *buf)
{
	const uint8_t *b = buf;
	uint64_t inuse = *(const uint64_t *)(b + OFF_INUSE);
	__asm__ volatile("ldmxcsr (%0)\n fldcw (%1)\n"
			 : : "r"(b + OFF_MXCSR), "r"(b + OFF_FCW) : "memory");
	switch (fpu_kind) {
	case FPU_AVX512:
		__asm__ volatile(R16(ZL) R16HI(ZL)
				 "kmovq 2048(%0), %%k0\n kmovq 2056(%0), %%k1\n"
				 "kmovq 2064(%0), %%k2\n kmovq 2072(%0), %%k3\n"
				 "kmovq 2080(%0), %%k4\n kmovq 2088(%0), %%k5\n"
				 "kmovq 2096(%0), %%k6\n kmovq 2104(%0), %%k7\n"
				 : : "r"(b) : "memory");
		break;
	case FPU_AVX:
		__asm__ volatile(R16(YL) : : "r"(b) : "memory");
		break;
	default:
		__asm__ volatile(R16(XL) : : "r"(b) : "memory");
		return;
	}
	/* upper halves of ymm/zmm 0-15 were in their init state (XINUSE
	 * bits 2 and 6 clear): they are zero in buf; make them init again */
	if (!(inuse & ((1u << 2) | (1u << 6))))
		__asm__ volatile("vzeroupper" : : : "memory");
}

unsigned hook_xstate_size(void)
{
	if (!fpu_kind)
		fpu_probe();
	return xstate_size;
}

void hook_xstate_save(void *buf)
{
	uint8_t *b = buf;
	unsigned i;
	if (!fpu_kind)
		fpu_probe();
	for (i = 512; i < 512 + 64; i++)
		b[i] = 0; /* the XSAVE header must start zeroed */
	if (!xstate_mask) {
		__asm__ volatile("fxsave64 (%0)" : : "r"(buf) : "memory");
		return;
	}
	__asm__ volatile("xsave64 (%0)" : : "r"(buf),
			 "a"((uint32_t)xstate_mask),
			 "d"((uint32_t)(xstate_mask >> 32)) : "memory");
}

void hook_xstate_restore(const void *buf)
{
	if (!xstate_mask) {
		__asm__ volatile("fxrstor64 (%0)" : : "r"(buf) : "memory");
		return;
	}
	__asm__ volatile("xrstor64 (%0)" : : "r"(buf),
			 "a"((uint32_t)xstate_mask),
			 "d"((uint32_t)(xstate_mask >> 32)) : "memory");
}
