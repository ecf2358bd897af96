/*
 * test_zipf.c: apps/zipf.h. The libm-free exp/log against reference values
 * (Python's math module), zeta(n, theta) against independently computed
 * sums, the drawn distribution against the Zipf law, the uniform mode, and
 * the rank scrambling being a bijection. Gray's method is exact for ranks 0
 * and 1 and approximates the tail: the draws are checked against the
 * method's own CDF tightly and against the Zipf law within the method's
 * known error (see check_zipf).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "apps/zipf.h"

static void assert_rel(double got, double want, double tol)
{
	double rel = (got - want) / want;
	if (rel < 0)
		rel = -rel;
	if (!(rel <= tol))
		fail_msg("got %.17g, want %.17g (rel err %.3g > %.3g)", got, want,
			 rel, tol);
}

static void test_math(void **state)
{
	(void)state;
	/* reference values from Python 3 math.log / math.exp / ** */
	assert_rel(zipf_log(2.0), 0.6931471805599453, 1e-15);
	assert_rel(zipf_log(10.0), 2.302585092994046, 1e-15);
	assert_rel(zipf_log(0.5), -0.6931471805599453, 1e-15);
	assert_true(zipf_log(1.0) == 0.0);
	assert_rel(zipf_exp(1.0), 2.718281828459045, 1e-15);
	assert_rel(zipf_exp(-700.0), 9.85967654375977e-305, 1e-13);
	assert_rel(zipf_exp(700.0), 1.0142320547350045e+304, 1e-13);
	assert_true(zipf_exp(-800.0) == 0.0);
	assert_true(zipf_exp(0.0) == 1.0);
	assert_rel(zipf_pow(10.0, -0.99), 0.10232929922807542, 1e-14);
	assert_rel(zipf_pow(2.0, 0.5), 1.4142135623730951, 1e-15);
	assert_rel(zipf_pow(0.3, 100.0), 5.153775207320094e-53, 1e-13);
	assert_true(zipf_log(0.0) < -1e299);
	assert_true(zipf_log(-1.0) < -1e299);
	/* round trips over a wide range */
	struct zipf_rng r;
	zipf_rng_seed(&r, 11);
	for (int i = 0; i < 100000; i++) {
		double x = zipf_rng_double(&r) * 600.0 - 300.0;
		assert_rel(zipf_log(zipf_exp(x)) + 1000.0, x + 1000.0, 1e-14);
	}
}

static void test_init_rejects(void **state)
{
	(void)state;
	struct zipf z;
	assert_int_equal(zipf_init(&z, 0, 0.5), -EINVAL);
	assert_int_equal(zipf_init(&z, 10, 1.0), -EINVAL);
	assert_int_equal(zipf_init(&z, 10, 1.5), -EINVAL);
	assert_int_equal(zipf_init(&z, 10, -0.1), -EINVAL);
	assert_int_equal(zipf_init(&z, 10, 0.0 / 0.0), -EINVAL);
	assert_int_equal(zipf_init(&z, (UINT64_C(1) << 32) + 1, 0.5), -EINVAL);
	assert_int_equal(zipf_init(&z, 1, 0.99), 0);
	struct zipf_rng r;
	zipf_rng_seed(&r, 1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(zipf_next(&z, &r), 0);
	assert_int_equal(zipf_scramble(&z, 0), 0);
}

static void test_zeta(void **state)
{
	(void)state;
	/* sum(i ** -0.99 for i in range(1, n + 1)) in Python */
	assert_rel(zipf_zeta(1000, 0.99), 7.728953217284729, 1e-12);
	assert_rel(zipf_zeta(1000000, 0.99), 15.391849746037371, 1e-12);
	assert_rel(zipf_zeta(2, 0.5), 1.0 + 0.7071067811865476, 1e-15);
}

/*
 * CDF at rank k of Gray's method itself (what zipf_rank computes): rank <= k
 * for k >= 2 iff u < (((k+1)/n)^(1/alpha) - 1 + eta) / eta.
 */
static double gray_cdf(const struct zipf *z, uint64_t k)
{
	double lo1 = 1.0 / z->zetan, lo2 = (1.0 + z->half_pow_theta) / z->zetan;
	if (k == 0)
		return lo1;
	if (k == 1 || z->n == 2)
		return lo2;
	double u = (zipf_pow((double)(k + 1) / (double)z->n, 1.0 / z->alpha) - 1.0 +
		    z->eta) / z->eta;
	return u > lo2 ? (u < 1.0 ? u : 1.0) : lo2;
}

/*
 * Draws N ranks for (n, theta) and compares with the exact Zipf law
 * P(i) = (i+1)^-theta / zeta(n, theta):
 *  - ranks 0 and 1 are exact in Gray's method: within 5 standard deviations;
 *  - the empirical CDF matches Gray's own CDF within 0.002 at every rank
 *    (Dvoretzky-Kiefer-Wolfowitz: 0.0014 at 99.9% for N = 2M), so the
 *    generator is what it claims to be;
 *  - Gray's CDF is within max_cdf_err of the exact Zipf CDF: the method's
 *    approximation error (1.6% at n = 1000, theta = 0.99, 1.1% at 1M;
 *    YCSB lives with the same).
 */
static void check_zipf(uint64_t n, double theta, double max_cdf_err)
{
	const uint64_t N = 2000000;
	struct zipf z;
	assert_int_equal(zipf_init(&z, n, theta), 0);
	uint64_t *cnt = calloc(n, sizeof(*cnt));
	assert_non_null(cnt);
	struct zipf_rng r;
	zipf_rng_seed(&r, 42 + n);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t k = zipf_next(&z, &r);
		assert_true(k < n);
		cnt[k]++;
	}
	double zeta = zipf_zeta(n, theta);
	for (uint64_t i = 0; i < 2; i++) {
		double p = zipf_pow((double)(i + 1), -theta) / zeta;
		double mean = p * (double)N;
		/* sqrt(N p (1 - p)) by Newton's method: no libm */
		double var = mean * (1 - p), sd = var > 1 ? var / 2 : 1;
		for (int it = 0; it < 60; it++)
			sd = 0.5 * (sd + var / sd);
		double dev = (double)cnt[i] - mean;
		if (dev < 0)
			dev = -dev;
		if (dev > 5 * sd)
			fail_msg("n=%lu theta=%.2f rank %lu: %lu draws, expected %.0f +- %.0f",
				 (unsigned long)n, theta, (unsigned long)i,
				 (unsigned long)cnt[i], mean, sd);
	}
	double cdf = 0, emp = 0, worst_gray = 0, worst_zipf = 0;
	for (uint64_t i = 0; i < n; i++) {
		cdf += zipf_pow((double)(i + 1), -theta) / zeta;
		emp += (double)cnt[i] / (double)N;
		double g = gray_cdf(&z, i);
		double d1 = emp > g ? emp - g : g - emp;
		double d2 = g > cdf ? g - cdf : cdf - g;
		if (d1 > worst_gray)
			worst_gray = d1;
		if (d2 > worst_zipf)
			worst_zipf = d2;
	}
	if (worst_gray > 0.002)
		fail_msg("n=%lu theta=%.2f: draws off the method's CDF by %.4f",
			 (unsigned long)n, theta, worst_gray);
	if (worst_zipf > max_cdf_err)
		fail_msg("n=%lu theta=%.2f: CDF off the Zipf law by %.4f > %.4f",
			 (unsigned long)n, theta, worst_zipf, max_cdf_err);
	/* monotone popularity: the first ranks are the most drawn */
	assert_true(cnt[0] > cnt[1]);
	assert_true(cnt[1] > cnt[10]);
	assert_true(cnt[10] > cnt[n - 1]);
	free(cnt);
}

static void test_zipf_099(void **state)
{
	(void)state;
	check_zipf(1000, 0.99, 0.017);
	check_zipf(1000000, 0.99, 0.012);
}

static void test_zipf_05(void **state)
{
	(void)state;
	check_zipf(1000, 0.5, 0.004);
}

static void test_uniform(void **state)
{
	(void)state;
	const uint64_t n = 100, N = 1000000;
	struct zipf z;
	assert_int_equal(zipf_init(&z, n, 0.0), 0);
	uint64_t cnt[100] = { 0 };
	struct zipf_rng r;
	zipf_rng_seed(&r, 5);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t k = zipf_next(&z, &r);
		assert_true(k < n);
		cnt[k]++;
	}
	/* chi-square, 99 degrees of freedom: 99.9th percentile is 148.2 */
	double chi = 0, e = (double)N / n;
	for (uint64_t i = 0; i < n; i++)
		chi += ((double)cnt[i] - e) * ((double)cnt[i] - e) / e;
	if (chi > 148.2)
		fail_msg("uniform: chi-square %.1f > 148.2", chi);
	/* edges of the unit interval */
	assert_int_equal(zipf_rank(&z, 0.0), 0);
	assert_int_equal(zipf_rank(&z, 0.9999999999999999), n - 1);
}

static void test_scramble_bijective(void **state)
{
	(void)state;
	const uint64_t ns[] = { 1, 2, 3, 10, 12, 1000, 65536, 1000000, 999983 };
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint64_t n = ns[k];
		struct zipf z;
		assert_int_equal(zipf_init(&z, n, 0.0), 0);
		unsigned char *seen = calloc(n, 1);
		assert_non_null(seen);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t m = zipf_scramble(&z, i);
			assert_true(m < n);
			assert_int_equal(seen[m], 0);
			seen[m] = 1;
		}
		free(seen);
	}
	/* the most popular ranks do not sit next to each other */
	struct zipf z;
	assert_int_equal(zipf_init(&z, 1000000, 0.0), 0);
	uint64_t a = zipf_scramble(&z, 0), b = zipf_scramble(&z, 1);
	assert_true(a > b ? a - b > 1000 : b - a > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_math),
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_zeta),
		cmocka_unit_test(test_zipf_099),
		cmocka_unit_test(test_zipf_05),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_scramble_bijective),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
