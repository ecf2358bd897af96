/*
 * zipf.h: the random numbers of the load generators: a per-thread PRNG
 * (splitmix64) and the Zipfian generator YCSB uses (its ZipfianGenerator:
 * Gray et al., "Quickly Generating Billion-Record Synthetic Databases",
 * SIGMOD 1994), with zeta(n, theta) precomputed once at start-up so a draw
 * costs one pow().
 *
 * zipf_next() returns a rank in [0, n), rank 0 the most popular, with
 * P(rank = i) ~ 1 / (i + 1)^theta. Ranks 0 and 1 get exactly their Zipf
 * probability; the tail is Gray's closed-form approximation (checked against
 * the exact distribution by tests/apps/test_zipf.c). zipf_scramble() maps
 * ranks to keys by a fixed bijection of [0, n) so the hot keys are spread
 * over the key space (as YCSB's scrambled variant does) without changing
 * the distribution. theta = 0 means uniform.
 *
 * The few exp/log this needs are computed here (zipf_log/zipf_exp, accurate
 * to about 1e-15) rather than taken from libm, so the apps and their unit
 * tests link without -lm.
 *
 * Used by apps/mcload.c. State: struct zipf is read-only after zipf_init
 * and shared by all threads; each thread owns its struct zipf_rng.
 */
#ifndef APPS_ZIPF_H
#define APPS_ZIPF_H

#include <errno.h>
#include <math.h>     /* HUGE_VAL only: nothing here needs libm */
#include <stdint.h>
#include <string.h>

/* ---- PRNG ---------------------------------------------------------------- */

struct zipf_rng {
	uint64_t s;
};

static inline void zipf_rng_seed(struct zipf_rng *r, uint64_t seed)
{
	r->s = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): full period 2^64, passes BigCrush */
static inline uint64_t zipf_rng_next(struct zipf_rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* uniform double in [0, 1) with 53 random bits */
static inline double zipf_rng_double(struct zipf_rng *r)
{
	return (double)(zipf_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform integer in [0, n), n >= 1 (Lemire's multiply-shift; bias < n/2^64) */
static inline uint64_t zipf_rng_below(struct zipf_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)zipf_rng_next(r) * n) >> 64);
}

/* ---- exp/log --------------------------------------------------------------- */

#define ZIPF_LN2_HI 6.93147180369123816490e-01   /* fdlibm's split of ln 2 */
#define ZIPF_LN2_LO 1.90821492927058770002e-10

/* natural log for finite x > 0 (normal numbers); returns -1e300 for x <= 0 */
static inline double zipf_log(double x)
{
	if (!(x > 0.0))
		return -1e300;
	uint64_t bits;
	memcpy(&bits, &x, sizeof(bits));
	int e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & UINT64_C(0x000fffffffffffff)) | (UINT64_C(1023) << 52);
	double m;                                   /* x = m * 2^e, m in [1, 2) */
	memcpy(&m, &bits, sizeof(m));
	if (m > 1.4142135623730951) {               /* m in [sqrt(1/2), sqrt(2)] */
		m *= 0.5;
		e++;
	}
	/* ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.1716 */
	double s = (m - 1.0) / (m + 1.0), s2 = s * s, t = s, sum = 0.0;
	for (int k = 1; k <= 31; k += 2) {
		sum += t / k;
		t *= s2;
	}
	return e * ZIPF_LN2_HI + (2.0 * sum + e * ZIPF_LN2_LO);
}

static inline double zipf_exp(double x)
{
	if (x < -745.0)
		return 0.0;
	if (x > 709.0)
		return HUGE_VAL;
	double kd = x / (ZIPF_LN2_HI + ZIPF_LN2_LO);
	int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
	double r = (x - k * ZIPF_LN2_HI) - k * ZIPF_LN2_LO;   /* |r| <= 0.35 */
	double term = 1.0, sum = 1.0;
	for (int n = 1; n <= 20; n++) {
		term *= r / n;
		sum += term;
	}
	/* sum * 2^k, in two steps when 2^k alone is not a normal double */
	while (k < -1000) {
		sum *= 0x1p-1000;
		k += 1000;
	}
	uint64_t bits = (uint64_t)(k + 1023) << 52;
	double scale;
	memcpy(&scale, &bits, sizeof(scale));
	return sum * scale;
}

/* b^e for b > 0 */
static inline double zipf_pow(double b, double e)
{
	return zipf_exp(e * zipf_log(b));
}

/* ---- Zipf --------------------------------------------------------------- */

struct zipf {
	uint64_t n;          /* number of items */
	double theta;        /* skew, 0 <= theta < 1; 0 = uniform */
	double alpha;        /* 1 / (1 - theta) */
	double zetan;        /* zeta(n, theta) = sum_{i=1..n} 1 / i^theta */
	double eta;
	double half_pow_theta; /* 0.5^theta: the rank-1 threshold */
	uint64_t mult;       /* zipf_scramble: multiplier coprime to n */
};

/* zeta(n, theta) = sum_{i=1..n} i^-theta */
static inline double zipf_zeta(uint64_t n, double theta)
{
	double sum = 0.0;
	for (uint64_t i = n; i >= 1; i--)           /* small terms first */
		sum += zipf_exp(-theta * zipf_log((double)i));
	return sum;
}

static inline uint64_t zipf_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * n items (1 <= n <= 2^32), skew theta in [0, 1). Computes zeta(n, theta):
 * O(n), about 40 ms per million items. 0 or -EINVAL.
 */
static inline int zipf_init(struct zipf *z, uint64_t n, double theta)
{
	if (n < 1 || n > (UINT64_C(1) << 32) || !(theta >= 0.0) || !(theta < 1.0))
		return -EINVAL;
	memset(z, 0, sizeof(*z));
	z->n = n;
	z->theta = theta;
	/* scrambling multiplier: near n * golden ratio, made coprime to n */
	uint64_t m = (uint64_t)((double)n * 0.6180339887498949) | 1;
	while (n > 1 && zipf_gcd(m, n) != 1)
		m += 2;
	z->mult = m % n;
	if (theta == 0.0)
		return 0;
	z->alpha = 1.0 / (1.0 - theta);
	z->zetan = zipf_zeta(n, theta);
	double zeta2 = zipf_zeta(2, theta);
	z->half_pow_theta = zipf_pow(0.5, theta);
	if (n > 2)
		z->eta = (1.0 - zipf_pow(2.0 / (double)n, 1.0 - theta)) /
			 (1.0 - zeta2 / z->zetan);
	return 0;
}

/* a rank in [0, n) for the uniform u in [0, 1) (YCSB ZipfianGenerator) */
static inline uint64_t zipf_rank(const struct zipf *z, double u)
{
	if (z->theta == 0.0) {
		uint64_t r = (uint64_t)(u * (double)z->n);
		return r < z->n ? r : z->n - 1;
	}
	double uz = u * z->zetan;
	if (uz < 1.0 || z->n == 1)
		return 0;
	if (uz < 1.0 + z->half_pow_theta || z->n == 2)
		return 1;
	double r = (double)z->n * zipf_pow(z->eta * u - z->eta + 1.0, z->alpha);
	uint64_t ri = (uint64_t)r;
	return ri < z->n ? ri : z->n - 1;
}

static inline uint64_t zipf_next(const struct zipf *z, struct zipf_rng *r)
{
	return zipf_rank(z, zipf_rng_double(r));
}

/* a fixed bijection of [0, n): rank -> key (n <= 2^32 so no overflow) */
static inline uint64_t zipf_scramble(const struct zipf *z, uint64_t rank)
{
	return (rank * z->mult + z->n / 3) % z->n;
}

#endif /* APPS_ZIPF_H */
