/*
 * test_hist.c: apps/hist.h. Bucket geometry (every value lands in a bucket
 * that contains it, buckets are contiguous and at most 1/128 wide), and
 * percentiles of known distributions (uniform, exponential, a heavy tail)
 * against the exact order statistics of the same samples, which must agree
 * within the stated bound HIST_REL_ERR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "apps/app_common.h"  /* app_write_cdf */
#include "apps/hist.h"
#include "apps/zipf.h"     /* PRNG and zipf_log for the test distributions */

static void check_bucket(uint64_t v)
{
	unsigned i = hist_index(v);
	assert_true(i < HIST_NBUCKETS);
	uint64_t lo = hist_bucket_lo(i), hi = hist_bucket_hi(i);
	assert_true(lo <= v);
	assert_true(v <= hi);
	/* width relative to the lower bound: at most 1/HIST_SUB */
	assert_true((double)(hi - lo) <= (double)lo / HIST_SUB);
}

static void test_geometry(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 70000; v++)
		check_bucket(v);
	for (unsigned e = 0; e < 64; e++) {
		uint64_t p = UINT64_C(1) << e;
		check_bucket(p);
		check_bucket(p - 1);
		check_bucket(p + 1);
	}
	check_bucket(UINT64_MAX);
	assert_int_equal(hist_index(UINT64_MAX), HIST_NBUCKETS - 1);
	/* contiguous: each bucket starts right after the previous one ends */
	for (unsigned i = 1; i < HIST_NBUCKETS; i++) {
		assert_true(hist_bucket_lo(i) == hist_bucket_hi(i - 1) + 1);
		assert_int_equal(hist_index(hist_bucket_lo(i)), i);
		assert_int_equal(hist_index(hist_bucket_hi(i)), i);
	}
	struct zipf_rng r;
	zipf_rng_seed(&r, 7);
	for (int k = 0; k < 100000; k++)
		check_bucket(zipf_rng_next(&r) >> (k % 64));
}

static void test_small_exact(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	assert_true(hist_percentile(&h, 50) == 0.0);
	assert_true(hist_mean(&h) == 0.0);
	for (uint64_t v = 1; v <= 100; v++)
		hist_record(&h, v);
	assert_int_equal(h.total, 100);
	assert_true(hist_percentile(&h, 50) == 50.0);
	assert_true(hist_percentile(&h, 99) == 99.0);
	assert_true(hist_percentile(&h, 99.9) == 100.0);
	assert_true(hist_percentile(&h, 100) == 100.0);
	assert_true(hist_percentile(&h, 0) == 1.0);
	assert_true(hist_percentile(&h, 1) == 1.0);
	assert_true(hist_mean(&h) == 50.5);
	assert_int_equal(h.min, 1);
	assert_int_equal(h.max, 100);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

enum dist { UNIFORM, EXPONENTIAL, PARETO };

static uint64_t draw(enum dist d, struct zipf_rng *r)
{
	double u = zipf_rng_double(r);
	switch (d) {
	case UNIFORM:            /* 1 us .. 1 ms */
		return 1000 + (uint64_t)(u * 999000.0);
	case EXPONENTIAL:        /* mean 100 us */
		return (uint64_t)(-100000.0 * zipf_log(1.0 - u));
	case PARETO:             /* alpha 1.2, from 20 us: heavy tail */
		return (uint64_t)(20000.0 * zipf_pow(1.0 - u, -1.0 / 1.2));
	}
	return 0;
}

/* exact percentile by the same definition: rank ceil(p/100 n), 1-based */
static uint64_t exact(const uint64_t *sorted, size_t n, double p)
{
	double r = p / 100.0 * (double)n;
	size_t rank = (size_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static void check_dist(enum dist d, uint64_t seed)
{
	const size_t n = 1000000;
	uint64_t *v = malloc(n * sizeof(*v));
	struct hist *h = malloc(sizeof(*h)), *parts = malloc(4 * sizeof(*parts));
	assert_non_null(v);
	assert_non_null(h);
	assert_non_null(parts);
	hist_init(h);
	for (int i = 0; i < 4; i++)
		hist_init(&parts[i]);
	struct zipf_rng r;
	zipf_rng_seed(&r, seed);
	long double sum = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = draw(d, &r);
		sum += v[i];
		hist_record(h, v[i]);
		hist_record(&parts[i % 4], v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	const double ps[] = { 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99 };
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		double want = (double)exact(v, n, ps[k]);
		double got = hist_percentile(h, ps[k]);
		double rel = (got - want) / want;
		if (rel < 0)
			rel = -rel;
		if (rel > HIST_REL_ERR)
			fail_msg("dist %d p%.2f: got %.1f, exact %.1f (rel err %.5f > %.5f)",
				 d, ps[k], got, want, rel, HIST_REL_ERR);
	}
	assert_true(hist_percentile(h, 100) == (double)v[n - 1]);
	assert_true(h->min == v[0]);
	double mean = (double)(sum / n);
	assert_true(hist_mean(h) > mean * 0.999999 && hist_mean(h) < mean * 1.000001);

	/* four threads' histograms merged equal the one histogram */
	struct hist *m = malloc(sizeof(*m));
	assert_non_null(m);
	hist_init(m);
	for (int i = 0; i < 4; i++)
		hist_merge(m, &parts[i]);
	assert_memory_equal(m, h, sizeof(*h));
	free(m);
	free(parts);
	free(h);
	free(v);
}

static void test_uniform(void **state)
{
	(void)state;
	check_dist(UNIFORM, 1);
}

static void test_exponential(void **state)
{
	(void)state;
	check_dist(EXPONENTIAL, 2);
}

static void test_pareto(void **state)
{
	(void)state;
	check_dist(PARETO, 3);
}

static void test_extremes(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	hist_record(&h, 0);
	hist_record(&h, UINT64_MAX);
	assert_true(hist_percentile(&h, 50) == 0.0);
	assert_true(hist_percentile(&h, 100) == (double)UINT64_MAX);
	/* p99 of two samples is the larger one, clamped to the recorded max */
	assert_true(hist_percentile(&h, 99) <= (double)UINT64_MAX);
	assert_true(hist_percentile(&h, 99) >= (double)UINT64_MAX * (1 - HIST_REL_ERR));
}

/* the --cdf file: one line per non-empty bucket, rising to exactly 1 */
static void test_cdf_file(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	for (int i = 0; i < 50; i++)
		hist_record(&h, 1000);        /* 1 us */
	for (int i = 0; i < 50; i++)
		hist_record(&h, 2000000);     /* 2 ms */
	char path[] = "/tmp/test_hist_cdf.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(app_write_cdf(path, &h), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[128];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "latency_us,fraction\n");
	double us[3], fr[3];
	int n = 0;
	while (n < 3 && fscanf(f, "%lf,%lf", &us[n], &fr[n]) == 2)
		n++;
	fclose(f);
	unlink(path);
	assert_int_equal(n, 2);
	assert_true(us[0] > 0.99 && us[0] < 1.01);
	assert_true(fr[0] == 0.5);
	assert_true(us[1] > 2000 * (1 - HIST_REL_ERR) && us[1] < 2000 * (1 + HIST_REL_ERR));
	assert_true(fr[1] == 1.0);
	assert_int_equal(app_write_cdf("/nonexistent-dir/x.csv", &h), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_small_exact),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_exponential),
		cmocka_unit_test(test_pareto),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_cdf_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
