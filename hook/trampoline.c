/*
 * trampoline.c: the code at virtual address 0.
 *
 * A rewritten site executes `call *%rax` with the syscall number in rax,
 * so it lands at address nr. Page 0 is a sled that carries every landing
 * address 0..512 to a `jmp rel32` at 512, which reaches the stage-2 stub
 * (movabs $hook_entry,%r11; jmp *%r11):
 *
 *   0x000..0x1fd  8d 48 8d 48 ...    the sled (below)
 *   0x1fe..0x1ff  90 90              phase merge
 *   0x200         e9 48 48 48 48     jmp stage2
 *   0x205..0xfff  f4 (hlt)           numbers 517..4095 fault here
 *   stage2 = 0x205 + 0x48484848 (its own page, mapped at run time)
 *
 * The sled: zpoline uses one-byte nops, so getpid walks ~500 of them
 * (~40 ns here; 4000 for a 4 KiB sled). Here a byte pair 8d 48 repeats:
 * landing on 8d decodes `lea -0x73(%rax),%ecx` (3 bytes), landing on 48
 * decodes `rex.W lea -0x73(%rax),%rcx` (4 bytes), and either way every
 * following instruction starts on a 48: four bytes per instruction, no
 * memory access, no flags, only rcx written (which the syscall
 * instruction clobbers anyway). The two nops line up both phases on the
 * jmp. tests/hook/test_trampoline.c decodes every landing address with
 * libopcodes to prove it.
 *
 * Numbers past the sled: the rel32 bytes are REX prefixes and the rest of
 * the page is hlt, so numbers 513..4095 fault (#GP) with rip == rax, as
 * numbers >= 4096, negative, x32 (bit 30) and non-canonical ones do by
 * reaching unmapped memory. sud.c emulates all of them, so every number
 * gets the kernel's own answer (ENOSYS), never a crash, never a jump into
 * the middle of an instruction (zpoline's sled ends in a 13-byte
 * movabs/jmp that numbers 512..524 land inside).
 *
 * Page 0 needs vm.mmap_min_addr = 0; the caller (init.c) reports a
 * refusal in one line and runs the program unhooked. Pages are made
 * PROT_EXEC only after they are written.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"

uintptr_t hook_crash_target __attribute__((visibility("hidden")));

#define JMP_AT    512u
#define REL_BYTE  0x48u

/* Fill page 0's bytes (exported for tests/hook/test_trampoline.c). */
void tramp_fill(uint8_t *page, uint32_t rel)
{
	for (unsigned i = 0; i < JMP_AT - 2; i++)
		page[i] = (i & 1) ? 0x48 : 0x8d;
	page[JMP_AT - 2] = 0x90;
	page[JMP_AT - 1] = 0x90;
	page[JMP_AT] = 0xe9;
	memcpy(page + JMP_AT + 1, &rel, 4);
	memset(page + JMP_AT + 5, 0xf4, 4096 - JMP_AT - 5);
}

static long map_fixed(uintptr_t at, size_t len, int noreplace)
{
	long p = RAW(SYS_mmap, at, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS |
		     (noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED), -1, 0);
	if (p < 0 && p > -4096)
		return p;
	if ((uintptr_t)p != at) {
		RAW(SYS_munmap, p, len, 0, 0, 0, 0);
		return -EEXIST;
	}
	return 0;
}

/* Map the sled and the stage-2 stub. 0 or -errno (-EPERM: mmap_min_addr
 * refuses page 0; -EEXIST: something else already lives there). */
int tramp_map(void)
{
	uint32_t rel = 0;
	uintptr_t stage2 = 0;
	long r = -EEXIST;

	/* stage 2 first: its address decides the rel32 bytes */
	for (uint32_t b = REL_BYTE; b <= 0x4f && r == -EEXIST; b++) {
		rel = b * 0x01010101u;
		stage2 = JMP_AT + 5u + rel;
		r = map_fixed(stage2 & ~4095ul, 4096, 1);
	}
	if (r < 0)
		return (int)r;
	uint8_t *s2 = (uint8_t *)stage2;
	uint64_t target = (uint64_t)(uintptr_t)hook_entry;
	memset((void *)(stage2 & ~4095ul), 0xcc, 4096);
	s2[0] = 0x49; s2[1] = 0xbb;            /* movabs $hook_entry, %r11 */
	memcpy(s2 + 2, &target, 8);
	s2[10] = 0x41; s2[11] = 0xff; s2[12] = 0xe3; /* jmp *%r11 */
	s2[16] = 0xf4;                         /* hlt: #GP -> SIGSEGV */
	RAW(SYS_mprotect, stage2 & ~4095ul, 4096, PROT_EXEC, 0, 0, 0);

	r = map_fixed(0, 4096, 0);
	if (r < 0) {
		RAW(SYS_munmap, stage2 & ~4095ul, 4096, 0, 0, 0, 0);
		return (int)r;
	}
	uint8_t *base = 0;
	__asm__ volatile("" : "+r"(base)); /* NULL on purpose */
	tramp_fill(base, rel);
	r = RAW(SYS_mprotect, 0, 4096, PROT_EXEC, 0, 0, 0);
	if (r < 0)
		return (int)r;
	hook_crash_target = stage2 + 16;
	return 0;
}

uintptr_t tramp_crash_addr(void)
{
	return hook_crash_target;
}
