/*
 * trampoline.c: the code at virtual address 0.
 *
 * A rewritten site executes `call *%rax` with the syscall number in rax,
 * so it lands at address nr. Page 0 is a nop sled ending, at its last 5
 * bytes, in `jmp rel32` to a second page (the stage-2 stub), which jumps
 * to hook_entry (entry.S):
 *
 *   0x000 .. 0xffa   nop x 4091        numbers 0..4090 slide down
 *   0xffb            e9 48 48 48 48    jmp stage2 (number 4091 lands here)
 *   0x1000 ..        not mapped
 *   stage2 = 0x1000 + 0x48484848 (page 0x48485000): movabs $hook_entry,%r11; jmp *%r11; hlt
 *
 * The rel32 bytes are chosen to be REX prefixes: a number that lands
 * inside the jmp (4092..4095) decodes prefixes up to the unmapped page
 * and faults there with rip == rax, exactly like a number past the page
 * (>= 4096, negative, x32's bit 30, non-canonical). sud.c emulates all of
 * those, so every number gets the kernel's own answer (ENOSYS), never a
 * crash and never a jump into the middle of an instruction (zpoline's
 * sled ends in a 13-byte movabs/jmp that numbers 512..524 land inside).
 *
 * Page 0 needs vm.mmap_min_addr = 0; the caller (init.c) reports a
 * refusal in one line and runs the program unhooked. Pages are made
 * PROT_EXEC only after they are written (execute-only where the CPU has
 * protection keys, so NULL data pointers still fault on read).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"

uintptr_t hook_crash_target __attribute__((visibility("hidden")));

#define JMP_AT    (4096u - 5u)
#define REL_BYTE  0x48u

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
		stage2 = 4096u + rel;
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
	memset(base, 0x90, JMP_AT);
	base[JMP_AT] = 0xe9;
	memcpy(base + JMP_AT + 1, &rel, 4);
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
