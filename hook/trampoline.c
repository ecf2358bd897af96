/*
 * trampoline.c: the code at virtual address 0.
 *
 * A rewritten site executes `call *%rax` with the syscall number in rax,
 * so it lands at address nr. Addresses 0..HOOK_SLED_LEN-1 hold one-byte
 * nops that slide to an absolute jump to hook_entry (entry.S). Numbers
 * past the sled (syscall(5000)), negative numbers and non-canonical ones
 * fault instead and are emulated by sud.c. x32 numbers (bit 30 set) get a
 * second, identical sled at 0x40000000 when nothing else is mapped there.
 *
 * Mapping address 0 needs vm.mmap_min_addr = 0; the caller (init.c)
 * reports a refusal in one line and runs the program unhooked.
 *
 * The pages are made PROT_EXEC only after they are written. Where the CPU
 * has protection keys that makes them execute-only, so a NULL data
 * pointer still faults on read; without them they are readable, as in
 * zpoline.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"

uintptr_t hook_crash_target __attribute__((visibility("hidden")));

static int sled_fill(uint8_t *base, int fixed_noreplace)
{
	/* base may be NULL on purpose: hide that from the optimiser. */
	__asm__ volatile("" : "+r"(base));
	long flags = MAP_PRIVATE | MAP_ANONYMOUS |
		     (fixed_noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED);
	long p = RAW(SYS_mmap, base, HOOK_TRAMP_LEN, PROT_READ | PROT_WRITE,
		     flags, -1, 0);
	if (p < 0 && p > -4096)
		return (int)p;
	if ((uint8_t *)p != base) {
		RAW(SYS_munmap, p, HOOK_TRAMP_LEN, 0, 0, 0, 0);
		return -EEXIST;
	}
	/* nop sled, then: movabs $hook_entry, %r11; jmp *%r11 (r11 is
	 * clobbered by syscall anyway). */
	memset(base, 0x90, HOOK_SLED_LEN);
	uint8_t *j = base + HOOK_SLED_LEN;
	uint64_t target = (uint64_t)(uintptr_t)hook_entry;
	j[0] = 0x49; j[1] = 0xbb;
	memcpy(j + 2, &target, 8);
	j[10] = 0x41; j[11] = 0xff; j[12] = 0xe3;
	memset(j + 13, 0xcc, HOOK_CRASH_OFF - HOOK_SLED_LEN - 13);
	base[HOOK_CRASH_OFF] = 0xf4; /* hlt: #GP in user mode -> SIGSEGV */
	memset(base + HOOK_CRASH_OFF + 1, 0xcc,
	       HOOK_TRAMP_LEN - HOOK_CRASH_OFF - 1);
	long r = RAW(SYS_mprotect, base, HOOK_TRAMP_LEN, PROT_EXEC, 0, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* Map the sleds. 0 or -errno (-EPERM: mmap_min_addr refuses page 0). */
int tramp_map(void)
{
	int r = sled_fill((uint8_t *)0, 0);
	if (r < 0)
		return r;
	hook_crash_target = HOOK_CRASH_OFF;
	/* x32 sled: optional, skip if taken. */
	(void)sled_fill((uint8_t *)HOOK_X32_BASE, 1);
	return 0;
}

uintptr_t tramp_crash_addr(void)
{
	return hook_crash_target;
}
