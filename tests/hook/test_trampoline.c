/*
 * test_trampoline.c: every landing address of page 0 is safe.
 *
 * Decodes the trampoline page (tramp_fill, the bytes the hook maps at
 * address 0) with libopcodes from every address a `call *%rax` can land
 * on, and checks: addresses 0..512 reach the jmp at 512 exactly, through
 * instructions that only write rcx/ecx (lea), or do nothing; addresses
 * 513..4095 decode to hlt (privileged: the fault the hook emulates).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <dis-asm.h>
#include <cmocka.h>

#include "hook/hook_priv.h"

static char txt[256];
static size_t tl;

static int sty(void *s, enum disassembler_style st, const char *fmt, ...)
{
	(void)s;
	(void)st;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(txt + tl, sizeof(txt) - tl, fmt, ap);
	va_end(ap);
	if (n > 0 && tl + (size_t)n < sizeof(txt))
		tl += (size_t)n;
	return 0;
}

static int pl(void *s, const char *fmt, ...)
{
	(void)s;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(txt + tl, sizeof(txt) - tl, fmt, ap);
	va_end(ap);
	if (n > 0 && tl + (size_t)n < sizeof(txt))
		tl += (size_t)n;
	return 0;
}

static void no_addr(bfd_vma a, struct disassemble_info *i)
{
	(void)a;
	(void)i;
}

static int harmless(const char *t)
{
	if (strstr(t, "bad"))
		return 0;
	if (!strncmp(t, "lea", 3))
		return strstr(t, ",%ecx") || strstr(t, ",%rcx");
	return !strcmp(t, "nop") || !strcmp(t, "rex.W nop");
}

static void test_every_landing_address(void **state)
{
	(void)state;
	static uint8_t page[4096];
	tramp_fill(page, 0x48484848u);
	struct disassemble_info info;
	init_disassemble_info(&info, 0, pl, sty);
	info.arch = bfd_arch_i386;
	info.mach = bfd_mach_x86_64;
	info.buffer = page;
	info.buffer_vma = 0;
	info.buffer_length = sizeof(page);
	info.read_memory_func = buffer_read_memory;
	info.print_address_func = no_addr;
	disassemble_init_for_target(&info);
	disassembler_ftype dis = disassembler(bfd_arch_i386, 0,
					      bfd_mach_x86_64, NULL);
	assert_non_null(dis);

	int max_insns = 0;
	for (unsigned s = 0; s <= 512; s++) {
		unsigned pc = s;
		int n = 0;
		while (pc < 512) {
			tl = 0;
			txt[0] = 0;
			int k = dis(pc, &info);
			if (k <= 0 || !harmless(txt))
				fprintf(stderr, "landing %u: at %u: '%s'\n", s,
					pc, txt);
			assert_true(k > 0);
			assert_true(harmless(txt));
			pc += (unsigned)k;
			n++;
		}
		assert_int_equal(pc, 512);
		if (n > max_insns)
			max_insns = n;
	}
	tl = 0;
	txt[0] = 0;
	assert_int_equal(dis(512, &info), 5);
	assert_non_null(strstr(txt, "jmp"));
	/* 4 bytes per instruction: 512 bytes in at most 130 instructions */
	assert_true(max_insns <= 130);
	/* 513..516 land on the jmp's REX bytes: prefixes the CPU folds into
	 * the hlt that follows (libopcodes prints each as "rex.W") */
	for (unsigned s = 513; s < 4096; s++) {
		unsigned pc = s;
		for (;;) {
			tl = 0;
			txt[0] = 0;
			int k = dis(pc, &info);
			assert_true(k > 0);
			if (strstr(txt, "hlt"))
				break;
			assert_string_equal(txt, "rex.W");
			pc += (unsigned)k;
			assert_true(pc < 517);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_landing_address),
	};
	return cmocka_run_group_tests_name("trampoline", tests, 0, 0);
}
