/*
 * test_rewriter.c: which byte patterns the rewriter patches.
 *
 * Unit test (no root, no address 0): builds code in anonymous executable
 * memory, runs the rewriter over it (rewrite_mapping_prot with no file,
 * so it decodes linearly from the region's start), and checks exactly
 * which sites became `call *%rax` (ff d0) and which were left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "hook/hook_priv.h"

struct region {
	uint8_t *p;
	size_t len;
};

/* Put `code` at offset `at` of a fresh len-byte region, int3 elsewhere,
 * rewrite it, and return the region (caller unmaps). */
static struct region run(const uint8_t *code, size_t n, size_t at,
			 size_t len, long *patched)
{
	struct region r = { 0, len };
	r.p = mmap(0, len, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(r.p != MAP_FAILED);
	memset(r.p, 0xcc, len);
	memcpy(r.p + at, code, n);
	assert_int_equal(mprotect(r.p, len, PROT_READ | PROT_EXEC), 0);
	*patched = rewrite_mapping_prot((uintptr_t)r.p, (uintptr_t)r.p + len,
					"", 0, PROT_READ | PROT_EXEC);
	return r;
}

static int is_call_rax(const uint8_t *p)
{
	return p[0] == 0xff && p[1] == 0xd0;
}

static int setup(void **state)
{
	(void)state;
	return sites_init() == 0 && dis_init() == 0 ? 0 : -1;
}

static void test_real_syscall_patched(void **state)
{
	(void)state;
	/* mov $39,%eax; syscall; ret */
	static const uint8_t c[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 1);
	assert_true(is_call_rax(r.p + 5));
	assert_true(sites_contains((uintptr_t)r.p + 7));
	assert_false(sites_contains((uintptr_t)r.p + 5));
	munmap(r.p, r.len);
}

static void test_sysenter_patched(void **state)
{
	(void)state;
	static const uint8_t c[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x34, 0xc3 };
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 1);
	assert_true(is_call_rax(r.p + 5));
	munmap(r.p, r.len);
}

static void test_0f05_inside_immediates_untouched(void **state)
{
	(void)state;
	/* mov $0x50f,%eax ; movabs $0x050f050f050f050f,%rax ;
	 * cmpl $0x050f, 0x0f05(%rip) ; ret */
	static const uint8_t c[] = {
		0xb8, 0x0f, 0x05, 0x00, 0x00,
		0x48, 0xb8, 0x0f, 0x05, 0x0f, 0x05, 0x0f, 0x05, 0x0f, 0x05,
		0x81, 0x3d, 0x0f, 0x05, 0x00, 0x00, 0x0f, 0x05, 0x00, 0x00,
		0xc3 };
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 0);
	assert_memory_equal(r.p, c, sizeof(c));
	munmap(r.p, r.len);
}

static void test_mixed_real_and_fake(void **state)
{
	(void)state;
	/* mov $0x50f,%eax; syscall; movabs $..0f05..,%rcx; syscall; ret */
	static const uint8_t c[] = {
		0xb8, 0x0f, 0x05, 0x00, 0x00, 0x0f, 0x05,
		0x48, 0xb9, 0x0f, 0x05, 0, 0, 0, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 2);
	assert_true(is_call_rax(r.p + 5));
	assert_true(r.p[1] == 0x0f && r.p[2] == 0x05);
	assert_true(r.p[9] == 0x0f && r.p[10] == 0x05);
	assert_true(is_call_rax(r.p + 17));
	munmap(r.p, r.len);
}

static void test_site_across_page_end(void **state)
{
	(void)state;
	/* the syscall's two bytes straddle the page boundary */
	uint8_t c[4096 + 3];
	memset(c, 0x90, sizeof(c));
	c[4095] = 0x0f;
	c[4096] = 0x05;
	c[4097] = 0xc3;
	long n;
	struct region r = run(c, 4098, 0, 8192, &n);
	assert_int_equal(n, 1);
	assert_true(is_call_rax(r.p + 4095));
	munmap(r.p, r.len);
}

static void test_candidate_at_region_end_untouched(void **state)
{
	(void)state;
	/* 0f as the region's last byte: the 05 would be outside it */
	uint8_t c[2] = { 0x90, 0x0f };
	long n;
	struct region r = run(c, 2, 4094, 4096, &n);
	assert_int_equal(n, 0);
	assert_int_equal(r.p[4095], 0x0f);
	munmap(r.p, r.len);
}

static void test_red_zone_rsp_left_alone(void **state)
{
	(void)state;
	/* mov %rax,-8(%rsp); mov $39,%eax; syscall; mov -8(%rsp),%rdx; ret */
	static const uint8_t c[] = {
		0x48, 0x89, 0x44, 0x24, 0xf8, 0xb8, 39, 0, 0, 0, 0x0f, 0x05,
		0x48, 0x8b, 0x54, 0x24, 0xf8, 0xc3 };
	uint64_t before = rw_stats.skipped_redzone;
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 0);
	assert_int_equal(r.p[10], 0x0f);
	assert_int_equal(rw_stats.skipped_redzone, before + 1);
	munmap(r.p, r.len);
}

static void test_red_zone_lea_output_left_alone(void **state)
{
	(void)state;
	/* glibc ____longjmp_chk: lea -0x18(%rsp),%rsi; mov $131,%eax; syscall */
	static const uint8_t c[] = {
		0x48, 0x8d, 0x74, 0x24, 0xe8, 0xb8, 0x83, 0, 0, 0, 0x0f, 0x05,
		0xc3 };
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 0);
	munmap(r.p, r.len);
}

static void test_red_zone_rbp_leaf(void **state)
{
	(void)state;
	/* gcc -O0 leaf: push %rbp; mov %rsp,%rbp; mov %edi,-0x14(%rbp);
	 * mov $39,%eax; syscall; pop %rbp; ret */
	static const uint8_t leaf[] = {
		0x55, 0x48, 0x89, 0xe5, 0x89, 0x7d, 0xec,
		0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x5d, 0xc3 };
	long n;
	struct region r = run(leaf, sizeof(leaf), 0, 4096, &n);
	assert_int_equal(n, 0);
	munmap(r.p, r.len);
	/* the same with sub $0x20,%rsp: the locals are above rsp */
	static const uint8_t framed[] = {
		0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x20, 0x89, 0x7d, 0xec,
		0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc9, 0xc3 };
	r = run(framed, sizeof(framed), 0, 4096, &n);
	assert_int_equal(n, 1);
	assert_true(is_call_rax(r.p + 16));
	munmap(r.p, r.len);
}

static void test_positive_rsp_offsets_patched(void **state)
{
	(void)state;
	/* mov %rax,0x8(%rsp); syscall; ret: above rsp, no red zone */
	static const uint8_t c[] = {
		0x48, 0x89, 0x44, 0x24, 0x08, 0x0f, 0x05, 0xc3 };
	long n;
	struct region r = run(c, sizeof(c), 0, 4096, &n);
	assert_int_equal(n, 1);
	munmap(r.p, r.len);
}

static void test_sites_table(void **state)
{
	(void)state;
	/* grows past its first size and finds every key, none extra */
	for (uintptr_t a = 0x100000; a < 0x100000 + 20000 * 16; a += 16)
		assert_int_equal(sites_add(a), 0);
	for (uintptr_t a = 0x100000; a < 0x100000 + 20000 * 16; a += 16) {
		assert_true(sites_contains(a));
		assert_false(sites_contains(a + 1));
	}
	assert_false(sites_contains(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_syscall_patched),
		cmocka_unit_test(test_sysenter_patched),
		cmocka_unit_test(test_0f05_inside_immediates_untouched),
		cmocka_unit_test(test_mixed_real_and_fake),
		cmocka_unit_test(test_site_across_page_end),
		cmocka_unit_test(test_candidate_at_region_end_untouched),
		cmocka_unit_test(test_red_zone_rsp_left_alone),
		cmocka_unit_test(test_red_zone_lea_output_left_alone),
		cmocka_unit_test(test_red_zone_rbp_leaf),
		cmocka_unit_test(test_positive_rsp_offsets_patched),
		cmocka_unit_test(test_sites_table),
	};
	return cmocka_run_group_tests_name("rewriter", tests, setup, 0);
}
