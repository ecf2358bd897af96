/*
 * test_args.c: the command lines of pingpong (apps/pingpong.h) and mcload
 * (apps/mcload.h): defaults, every option, and bad input (unknown options,
 * missing values, out-of-range and malformed numbers) rejected with a
 * message rather than taken half-way. Also the shared number parsers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apps/mcload.h"
#include "apps/pingpong.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_numbers(void **state)
{
	(void)state;
	uint64_t u;
	double d;
	assert_int_equal(app_parse_u64("42", 0, 100, &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(app_parse_u64("18446744073709551615", 0, UINT64_MAX, &u), 0);
	assert_true(u == UINT64_MAX);
	const char *bad_u[] = { "", "-1", " 1", "1 ", "1x", "0x10", "101",
				"18446744073709551616", "+1" };
	for (size_t i = 0; i < sizeof(bad_u) / sizeof(bad_u[0]); i++)
		assert_int_equal(app_parse_u64(bad_u[i], 0, 100, &u), -EINVAL);
	assert_int_equal(app_parse_u64(NULL, 0, 100, &u), -EINVAL);
	assert_int_equal(app_parse_u64("0", 1, 100, &u), -EINVAL);
	assert_int_equal(app_parse_double("2.5", 0, 10, &d), 0);
	assert_true(d == 2.5);
	assert_int_equal(app_parse_double(".5", 0, 10, &d), 0);
	const char *bad_d[] = { "", "-1", "nan", "inf", "1e999", "2.5s", "11" };
	for (size_t i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++)
		assert_int_equal(app_parse_double(bad_d[i], 0, 10, &d), -EINVAL);
	struct in_addr a;
	assert_int_equal(app_parse_addr("198.18.0.2", &a), 0);
	assert_true(a.s_addr == htonl(0xc6120002));
	assert_int_equal(app_parse_addr("198.18.0", &a), -EINVAL);
	assert_int_equal(app_parse_addr("localhost", &a), -EINVAL);
}

static void test_pp_defaults(void **state)
{
	(void)state;
	struct pp_opts o;
	char err[256];
	char *c[] = { "pingpong", "client" };
	assert_int_equal(pp_parse_args(ARGC(c), c, &o, err, sizeof(err)), 0);
	assert_int_equal(o.mode, PP_CLIENT);
	assert_true(o.addr.s_addr == htonl(INADDR_LOOPBACK));
	assert_int_equal(o.port, PP_DEFAULT_PORT);
	assert_int_equal(o.threads, 1);
	assert_int_equal(o.conns, 1);
	assert_int_equal(o.outstanding, 1);
	assert_int_equal(o.size, 1);
	assert_true(o.duration_s == 5 && o.warmup_s == 1);
	assert_true(o.rate == 0);
	assert_null(o.cdf);
	assert_false(o.csv);
	char *s[] = { "pingpong", "server" };
	assert_int_equal(pp_parse_args(ARGC(s), s, &o, err, sizeof(err)), 0);
	assert_int_equal(o.mode, PP_SERVER);
	assert_true(o.addr.s_addr == htonl(INADDR_ANY));
	assert_true(o.duration_s == 0);
	assert_false(o.reuseport);
}

static void test_pp_all_options(void **state)
{
	(void)state;
	struct pp_opts o;
	char err[256];
	char *c[] = { "pingpong", "client", "-a", "198.18.0.2", "-p", "9000",
		      "-t", "4", "-c", "8", "-o", "16", "-s", "64", "-d", "2.5",
		      "-w", "0", "--csv", "--progress", "-r", "50000", "--cdf", "x.csv" };
	assert_int_equal(pp_parse_args(ARGC(c), c, &o, err, sizeof(err)), 0);
	assert_string_equal(o.cdf, "x.csv");
	assert_true(o.rate == 50000);
	assert_true(o.addr.s_addr == htonl(0xc6120002));
	assert_int_equal(o.port, 9000);
	assert_int_equal(o.threads, 4);
	assert_int_equal(o.conns, 8);
	assert_int_equal(o.outstanding, 16);
	assert_int_equal(o.size, 64);
	assert_true(o.duration_s == 2.5 && o.warmup_s == 0);
	assert_true(o.csv && o.progress);
	char *s[] = { "pingpong", "server", "-p", "0", "-t", "2", "--reuseport",
		      "-d", "10", "-a", "127.0.0.1" };
	assert_int_equal(pp_parse_args(ARGC(s), s, &o, err, sizeof(err)), 0);
	assert_int_equal(o.port, 0);
	assert_int_equal(o.threads, 2);
	assert_true(o.reuseport);
	assert_true(o.duration_s == 10);
	char *h[] = { "pingpong", "client", "-h" };
	assert_int_equal(pp_parse_args(ARGC(h), h, &o, err, sizeof(err)), 1);
	char *ch[] = { "pingpong", "--csv-header" };
	assert_int_equal(pp_parse_args(ARGC(ch), ch, &o, err, sizeof(err)), 1);
	assert_true(o.csv);
}

static void test_pp_bad(void **state)
{
	(void)state;
	struct pp_opts o;
	char err[256];
	char *cases[][6] = {
		{ "pingpong" },
		{ "pingpong", "clinet" },
		{ "pingpong", "client", "-x" },
		{ "pingpong", "client", "-c" },                 /* missing value */
		{ "pingpong", "client", "-c", "0" },
		{ "pingpong", "client", "-c", "10001" },
		{ "pingpong", "client", "-t", "-1" },
		{ "pingpong", "client", "-p", "0" },           /* client needs a port */
		{ "pingpong", "client", "-p", "65536" },
		{ "pingpong", "client", "-s", "0" },
		{ "pingpong", "client", "-s", "1k" },
		{ "pingpong", "client", "-d", "0" },
		{ "pingpong", "client", "-a", "1.2.3" },
		{ "pingpong", "client", "--reuseport" },       /* server only */
		{ "pingpong", "server", "-c", "4" },           /* client only */
		{ "pingpong", "server", "--csv" },
		{ "pingpong", "server", "-r", "1000" },         /* client only */
		{ "pingpong", "client", "-r", "-5" },
		{ "pingpong", "client", "-r", "2e9" },
		{ "pingpong", "client", "-o", "1024", "-s", "1048576" }, /* 1 GiB */
		{ "pingpong", "client", "-cc", "4" },
		{ "pingpong", "client", "extra" },
		{ "pingpong", "client", "--cdf" },
		{ "pingpong", "server", "--cdf", "x" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int argc = 0;
		while (argc < 6 && cases[i][argc])
			argc++;
		err[0] = '\0';
		int rc = pp_parse_args(argc, cases[i], &o, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("pingpong case %zu: rc %d, want -EINVAL", i, rc);
		assert_true(err[0] != '\0');                    /* says why */
	}
}

static void test_mcl_defaults(void **state)
{
	(void)state;
	struct mcl_opts o;
	char err[256];
	char *a[] = { "mcload" };
	assert_int_equal(mcl_parse_args(ARGC(a), a, &o, err, sizeof(err)), 0);
	/* the standard small-item workload (issue 6) */
	assert_int_equal(o.get_pct, 90);
	assert_int_equal(o.keys, 1000000);
	assert_int_equal(o.ksize, 8);
	assert_int_equal(o.vsize, 8);
	assert_true(o.theta == 0.99);
	assert_true(o.preload);
	assert_int_equal(o.port, MCL_DEFAULT_PORT);
	assert_true(o.addr.s_addr == htonl(INADDR_LOOPBACK));
	assert_int_equal(o.threads, 1);
	assert_int_equal(o.conns, 1);
	assert_int_equal(o.depth, 1);
}

static void test_mcl_all_options(void **state)
{
	(void)state;
	struct mcl_opts o;
	char err[256];
	char *a[] = { "mcload", "-a", "198.18.0.2", "-p", "1234", "-t", "2", "-c",
		      "16", "-o", "8", "-k", "5000", "-K", "12", "-V", "100", "-g",
		      "50", "-z", "0.5", "--no-preload", "-d", "3", "-w", "0.5",
		      "--seed", "7", "--csv", "--progress", "-r", "1000.5", "--cdf", "y" };
	assert_int_equal(mcl_parse_args(ARGC(a), a, &o, err, sizeof(err)), 0);
	assert_string_equal(o.cdf, "y");
	assert_true(o.rate == 1000.5);
	assert_true(o.addr.s_addr == htonl(0xc6120002));
	assert_int_equal(o.port, 1234);
	assert_int_equal(o.threads, 2);
	assert_int_equal(o.conns, 16);
	assert_int_equal(o.depth, 8);
	assert_int_equal(o.keys, 5000);
	assert_int_equal(o.ksize, 12);
	assert_int_equal(o.vsize, 100);
	assert_int_equal(o.get_pct, 50);
	assert_true(o.theta == 0.5);
	assert_false(o.preload);
	assert_true(o.duration_s == 3 && o.warmup_s == 0.5);
	assert_int_equal(o.seed, 7);
	assert_true(o.csv && o.progress);
	char *u[] = { "mcload", "--uniform" };
	assert_int_equal(mcl_parse_args(ARGC(u), u, &o, err, sizeof(err)), 0);
	assert_true(o.theta == 0);
	char *g[] = { "mcload", "-g", "0" };                /* sets only */
	assert_int_equal(mcl_parse_args(ARGC(g), g, &o, err, sizeof(err)), 0);
	assert_int_equal(o.get_pct, 0);
	char *h[] = { "mcload", "--help" };
	assert_int_equal(mcl_parse_args(ARGC(h), h, &o, err, sizeof(err)), 1);
}

static void test_mcl_bad(void **state)
{
	(void)state;
	struct mcl_opts o;
	char err[256];
	char *cases[][5] = {
		{ "mcload", "-x" },
		{ "mcload", "-k" },
		{ "mcload", "-k", "0" },
		{ "mcload", "-k", "100000001" },
		{ "mcload", "-K", "251" },
		{ "mcload", "-K", "4" },                    /* 1M keys need 5 hex digits */
		{ "mcload", "-k", "65537", "-K", "4" },
		{ "mcload", "-V", "0" },
		{ "mcload", "-g", "101" },
		{ "mcload", "-z", "1" },
		{ "mcload", "-z", "-0.5" },
		{ "mcload", "-o", "0" },
		{ "mcload", "-p", "0" },
		{ "mcload", "-d", "five" },
		{ "mcload", "--seed", "-3" },
		{ "mcload", "server" },
		{ "mcload", "-r", "fast" },
		{ "mcload", "--cdf" },
		{ "mcload", "--cdf", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int argc = 0;
		while (argc < 5 && cases[i][argc])
			argc++;
		err[0] = '\0';
		int rc = mcl_parse_args(argc, cases[i], &o, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("mcload case %zu: rc %d, want -EINVAL", i, rc);
		assert_true(err[0] != '\0');
	}
	char *ok[] = { "mcload", "-k", "65536", "-K", "4" };
	assert_int_equal(mcl_parse_args(ARGC(ok), ok, &o, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pp_defaults),
		cmocka_unit_test(test_pp_all_options),
		cmocka_unit_test(test_pp_bad),
		cmocka_unit_test(test_mcl_defaults),
		cmocka_unit_test(test_mcl_all_options),
		cmocka_unit_test(test_mcl_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
