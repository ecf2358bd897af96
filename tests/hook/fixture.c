/*
 * fixture.c: a library with a syscall instruction of its own, loaded by
 * itest_hook.c with dlopen to check that code loaded later is rewritten
 * before it runs. Built as build/tests/hook/libfixture.so.
 */
#include <stdint.h>

long fixture_getpid(void);
extern char fixture_site_label[];

__asm__(".text\n"
	".globl fixture_getpid\n"
	".type fixture_getpid,@function\n"
	"fixture_getpid:\n"
	".cfi_startproc\n"
	"  mov $39, %eax\n"
	"  syscall\n"
	".globl fixture_site_label\n"
	"fixture_site_label:\n"
	"  ret\n"
	".cfi_endproc\n"
	".size fixture_getpid, .-fixture_getpid\n");

uintptr_t fixture_site = (uintptr_t)fixture_site_label;
