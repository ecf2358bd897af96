/*
 * test_mc_proto.c: apps/mc_proto.h, the memcached text protocol of mcload.
 * Request bytes, checked values, the response parser against fixed good,
 * truncated and hostile inputs (plus random mutations of good ones), and
 * the get-correctness rule mc_check_get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apps/mc_proto.h"
#include "apps/zipf.h"     /* PRNG for the mutation test */

static void test_keys(void **state)
{
	(void)state;
	char k[16];
	mc_key(k, 0x1a2b, 8);
	assert_memory_equal(k, "00001a2b", 8);
	mc_key(k, 999999, 8);
	assert_memory_equal(k, "000f423f", 8);
	mc_key(k, 0xffffffff, 8);
	assert_memory_equal(k, "ffffffff", 8);
	assert_int_equal(mc_key_min_size(1), 1);
	assert_int_equal(mc_key_min_size(16), 1);
	assert_int_equal(mc_key_min_size(17), 2);
	assert_int_equal(mc_key_min_size(1000000), 5);
	assert_int_equal(mc_key_min_size(UINT64_C(1) << 32), 8);
	assert_int_equal(mc_key_min_size((UINT64_C(1) << 32) + 1), 9);
}

static void test_requests(void **state)
{
	(void)state;
	char buf[256], val[8];
	size_t n = mc_fmt_get(buf, "00000042", 8);
	assert_int_equal(n, 14);
	assert_memory_equal(buf, "get 00000042\r\n", 14);

	n = mc_fmt_set(buf, "00000042", 8, 0x42, 7, 8);
	mc_value(val, 0x42, 7, 8);
	char want[64];
	int w = snprintf(want, sizeof(want), "set 00000042 7 0 8\r\n%.8s\r\n", val);
	assert_int_equal(n, (size_t)w);
	assert_memory_equal(buf, want, n);
	assert_true(n <= MC_SET_MAX(8, 8));

	n = mc_fmt_set(buf, "k", 1, 1, 4294967295u, 100);
	assert_true(n <= MC_SET_MAX(1, 100));
	assert_memory_equal(buf, "set k 4294967295 0 100\r\n", 24);
}

static void test_values(void **state)
{
	(void)state;
	char a[100], b[100];
	mc_value(a, 5, 1, sizeof(a));
	assert_true(mc_value_ok(a, sizeof(a), 5, 1));
	assert_false(mc_value_ok(a, sizeof(a), 5, 2));   /* other version */
	assert_false(mc_value_ok(a, sizeof(a), 6, 1));   /* other key */
	mc_value(b, 5, 2, sizeof(b));
	assert_memory_not_equal(a, b, 8);
	for (size_t i = 0; i < sizeof(a); i++) {        /* printable hex */
		assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
		char c = a[i];
		a[i] = c == '0' ? '1' : '0';
		assert_false(mc_value_ok(a, sizeof(a), 5, 1)); /* every byte counts */
		a[i] = c;
	}
	/* a prefix of a longer value is the shorter value */
	mc_value(b, 5, 1, 8);
	assert_memory_equal(a, b, 8);
}

static int parse_str(const char *s, struct mc_resp *r)
{
	return mc_parse(s, strlen(s), r);
}

static void test_parse_good(void **state)
{
	(void)state;
	struct mc_resp r;
	assert_int_equal(parse_str("END\r\n", &r), 5);
	assert_int_equal(r.type, MC_R_END);
	assert_int_equal(parse_str("STORED\r\n", &r), 8);
	assert_int_equal(r.type, MC_R_STORED);
	assert_int_equal(parse_str("NOT_STORED\r\n", &r), 12);
	assert_int_equal(r.type, MC_R_NOT_STORED);
	assert_int_equal(parse_str("EXISTS\r\n", &r), 8);
	assert_int_equal(r.type, MC_R_EXISTS);
	assert_int_equal(parse_str("NOT_FOUND\r\n", &r), 11);
	assert_int_equal(r.type, MC_R_NOT_FOUND);
	assert_int_equal(parse_str("ERROR\r\n", &r), 7);
	assert_int_equal(r.type, MC_R_ERROR);
	assert_int_equal(parse_str("SERVER_ERROR out of memory storing object\r\n", &r), 43);
	assert_int_equal(r.type, MC_R_ERROR);
	assert_int_equal(r.line_len, 41);
	assert_int_equal(parse_str("CLIENT_ERROR bad data chunk\r\n", &r), 29);
	assert_int_equal(r.type, MC_R_ERROR);

	const char *v = "VALUE 00000042 7 3\r\nabc\r\nEND\r\n";
	assert_int_equal(parse_str(v, &r), (int)strlen(v));
	assert_int_equal(r.type, MC_R_VALUE);
	assert_int_equal(r.key_len, 8);
	assert_memory_equal(r.key, "00000042", 8);
	assert_int_equal(r.flags, 7);
	assert_int_equal(r.data_len, 3);
	assert_memory_equal(r.data, "abc", 3);

	/* with a cas unique (gets), flags at the 32-bit limit, data with CRLF */
	v = "VALUE k 4294967295 4 12345\r\n\r\n\r\n\r\nEND\r\n";
	assert_int_equal(parse_str(v, &r), (int)strlen(v));
	assert_int_equal(r.flags, 4294967295u);
	assert_int_equal(r.data_len, 4);
	assert_memory_equal(r.data, "\r\n\r\n", 4);

	/* an empty value */
	v = "VALUE k 0 0\r\n\r\nEND\r\n";
	assert_int_equal(parse_str(v, &r), (int)strlen(v));
	assert_int_equal(r.data_len, 0);

	/* back-to-back responses are taken one at a time */
	const char *s = "STORED\r\nVALUE a 1 2\r\nxy\r\nEND\r\nEND\r\n";
	size_t len = strlen(s), off = 0;
	int types[3], k = 0;
	while (off < len) {
		int rc = mc_parse(s + off, len - off, &r);
		assert_true(rc > 0);
		assert_true(k < 3);
		types[k++] = r.type;
		off += (size_t)rc;
	}
	assert_int_equal(k, 3);
	assert_int_equal(types[0], MC_R_STORED);
	assert_int_equal(types[1], MC_R_VALUE);
	assert_int_equal(types[2], MC_R_END);
}

static void test_parse_truncated(void **state)
{
	(void)state;
	const char *all[] = {
		"END\r\n", "STORED\r\n", "SERVER_ERROR x\r\n",
		"VALUE 00000042 7 3\r\nabc\r\nEND\r\n",
		"VALUE k 1 10 99\r\n0123456789\r\nEND\r\n",
	};
	struct mc_resp r;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t len = strlen(all[i]);
		/* every strict prefix: need more bytes, no matter where it stops */
		for (size_t n = 0; n < len; n++) {
			char *copy = malloc(n ? n : 1);  /* exact size: ASan-visible */
			assert_non_null(copy);
			memcpy(copy, all[i], n);
			int rc = mc_parse(copy, n, &r);
			if (rc != 0)
				fail_msg("'%s' cut at %zu: %d, want 0", all[i], n, rc);
			free(copy);
		}
		assert_int_equal(mc_parse(all[i], len, &r), (int)len);
	}
}

static void test_parse_hostile(void **state)
{
	(void)state;
	const char *bad[] = {
		"HELLO\r\n",
		"ENDX\r\n",
		"END \r\n",
		"ERRORX\r\n",
		"SERVER_ERROR\r\n",                     /* needs a message */
		"stored\r\n",
		"\r\n",
		"VALUE\r\n",
		"VALUE \r\n",
		"VALUE  1 3\r\nabc\r\nEND\r\n",          /* empty key */
		"VALUE k\r\n",
		"VALUE k 1\r\n",
		"VALUE k 1 \r\n",
		"VALUE k -1 3\r\nabc\r\nEND\r\n",
		"VALUE k 1 -3\r\nabc\r\nEND\r\n",
		"VALUE k 4294967296 3\r\nabc\r\nEND\r\n", /* flags > 32 bits */
		"VALUE k 1 1048577\r\n",                  /* > MC_MAX_VALUE */
		"VALUE k 1 99999999999999999999999\r\n",
		"VALUE k 1 3 x\r\nabc\r\nEND\r\n",       /* bad cas */
		"VALUE k 1 3 5 6\r\nabc\r\nEND\r\n",
		"VALUE k 1 3\r\nabcd\r\nEND\r\n",        /* data longer than said */
		"VALUE k 1 3\r\nab\r\nEND\r\nxx",        /* shorter */
		"VALUE k 1 3\r\nabc\r\nENX\r\n",
		"VALUE k 1 3\r\nabc\r\nVALUE k 1 3\r\n", /* multi-get: not asked for */
		"VALUE k 1x 3\r\nabc\r\nEND\r\n",
	};
	struct mc_resp r;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i], &r);
		if (rc != -EBADMSG)
			fail_msg("hostile #%zu '%s': %d, want -EBADMSG", i, bad[i], rc);
	}
	/* a key longer than the protocol allows */
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "VALUE %0251d 1 1\r\nx\r\nEND\r\n", 0);
	assert_int_equal(mc_parse(buf, (size_t)n, &r), -EBADMSG);
	/* a line that never ends: malformed once it exceeds MC_MAX_LINE */
	char *big = malloc(MC_MAX_LINE + 10);
	assert_non_null(big);
	memset(big, 'A', MC_MAX_LINE + 10);
	assert_int_equal(mc_parse(big, MC_MAX_LINE - 1, &r), 0);
	assert_int_equal(mc_parse(big, MC_MAX_LINE + 10, &r), -EBADMSG);
	free(big);
}

/* random mutations of good responses: never a crash, never past the input */
static void test_parse_mutations(void **state)
{
	(void)state;
	const char *good = "VALUE 00000042 7 8\r\nabcdefgh\r\nEND\r\nSTORED\r\n";
	size_t len = strlen(good);
	struct zipf_rng rng;
	zipf_rng_seed(&rng, 99);
	const char alphabet[] = "0123456789 \r\nVALUEND-x";
	for (int it = 0; it < 200000; it++) {
		size_t n = 1 + zipf_rng_below(&rng, len);
		char *buf = malloc(n);
		assert_non_null(buf);
		memcpy(buf, good, n);
		int muts = 1 + (int)zipf_rng_below(&rng, 3);
		for (int m = 0; m < muts; m++)
			buf[zipf_rng_below(&rng, n)] =
				alphabet[zipf_rng_below(&rng, sizeof(alphabet) - 1)];
		struct mc_resp r;
		int rc = mc_parse(buf, n, &r);
		assert_true(rc == 0 || rc == -EBADMSG || (rc > 0 && (size_t)rc <= n));
		if (rc > 0 && r.type == MC_R_VALUE) {
			assert_true(r.key >= buf && r.key + r.key_len <= buf + n);
			assert_true(r.data >= buf && r.data + r.data_len <= buf + n);
		}
		free(buf);
	}
}

static struct mc_resp value_resp(char *data, const char *key, uint64_t idx,
				 uint32_t ver, size_t size)
{
	mc_value(data, idx, ver, size);
	struct mc_resp r = { .type = MC_R_VALUE, .key = key, .key_len = strlen(key),
			     .flags = ver, .data = data, .data_len = size };
	return r;
}

static void test_check_get(void **state)
{
	(void)state;
	char key[9] = "00000005", data[16];
	struct mc_resp miss = { .type = MC_R_END };
	struct mc_resp err = { .type = MC_R_ERROR };
	struct mc_resp r;

	/* never set in this run: a miss or any self-consistent value is fine */
	assert_int_equal(mc_check_get(&miss, key, 8, 5, 0, 0, 8), MC_OK_MISS);
	r = value_resp(data, key, 5, 77, 16);               /* an older run's */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 0, 0, 8), MC_OK_HIT);
	data[3] ^= 1;                                       /* corrupted */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 0, 0, 8), MC_WRONG);

	/* acknowledged version 3, version 4 in flight: 3 or 4 */
	r = value_resp(data, key, 5, 3, 8);
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_OK_HIT);
	r = value_resp(data, key, 5, 4, 8);
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_OK_HIT);
	r = value_resp(data, key, 5, 2, 8);                 /* stale */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);
	r = value_resp(data, key, 5, 5, 8);                 /* from the future */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);
	r = value_resp(data, key, 5, 3, 7);                 /* wrong size */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);
	r = value_resp(data, key, 6, 3, 8);                 /* another key's value */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);
	r = value_resp(data, "00000006", 5, 3, 8);          /* another key's name */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);
	r = value_resp(data, "0000005", 5, 3, 8);
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);
	r = value_resp(data, key, 5, 3, 8);
	data[7] ^= 1;                                       /* one bit off */
	assert_int_equal(mc_check_get(&r, key, 8, 5, 3, 4, 8), MC_WRONG);

	/* a stored key that is gone, an error reply to a get */
	assert_int_equal(mc_check_get(&miss, key, 8, 5, 3, 3, 8), MC_LOST);
	assert_int_equal(mc_check_get(&err, key, 8, 5, 3, 3, 8), MC_WRONG);
	assert_int_equal(mc_check_get(&err, key, 8, 5, 0, 0, 8), MC_WRONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_check_get),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
