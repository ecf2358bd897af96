/*
 * hist.h: a log-linear latency histogram with bounded relative error
 * (HdrHistogram's layout, fixed precision, no per-sample storage).
 *
 * Values are unsigned 64-bit integers (the apps record nanoseconds). Values
 * below 2 * HIST_SUB (256) get one bucket each and are exact. Above, every
 * power-of-two range [2^e, 2^(e+1)) is split into HIST_SUB (128) equal
 * buckets, so a bucket's width is at most 1/128 of its lower bound. A
 * percentile is reported as the middle of its bucket (clamped to the
 * recorded min and max), so it is within HIST_REL_ERR = 1/256 (0.39%) of
 * the exact sample at that rank. The whole 64-bit range is covered
 * (7,424 counters, 58 KiB): nothing is clamped or dropped.
 *
 * Used by apps/pingpong.c and apps/mcload.c: one histogram per client
 * thread, written only by that thread, merged by the main thread after the
 * workers have been joined (hist_merge). Header-only (static inline) so each
 * app stays a single-file program; tested by tests/apps/test_hist.c.
 */
#ifndef APPS_HIST_H
#define APPS_HIST_H

#include <stdint.h>
#include <string.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)             /* buckets per octave */
/* indices 0..2*HIST_SUB-1 are exact; then (63 - HIST_SUB_BITS) octaves */
#define HIST_NBUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)
#define HIST_REL_ERR  (1.0 / (2.0 * HIST_SUB))          /* 0.39% */

struct hist {
	uint64_t count[HIST_NBUCKETS];
	uint64_t total;   /* number of samples */
	uint64_t min;     /* UINT64_MAX when empty */
	uint64_t max;
	uint64_t sum;     /* wraps after 584 years of summed ns; not a concern */
};

static inline void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* floor(log2(v)) for v > 0 */
static inline unsigned hist_log2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static inline unsigned hist_index(uint64_t v)
{
	if (v < 2u * HIST_SUB)
		return (unsigned)v;
	unsigned e = hist_log2(v);            /* >= HIST_SUB_BITS + 1 */
	unsigned shift = e - HIST_SUB_BITS;   /* v >> shift in [SUB, 2 SUB) */
	return (shift + 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* smallest value that maps to bucket idx (idx < HIST_NBUCKETS) */
static inline uint64_t hist_bucket_lo(unsigned idx)
{
	if (idx < 2u * HIST_SUB)
		return idx;
	unsigned shift = idx / HIST_SUB - 1;
	uint64_t sub = HIST_SUB + idx % HIST_SUB;
	return sub << shift;
}

/* largest value that maps to bucket idx */
static inline uint64_t hist_bucket_hi(unsigned idx)
{
	if (idx < 2u * HIST_SUB)
		return idx;
	unsigned shift = idx / HIST_SUB - 1;
	return hist_bucket_lo(idx) + ((UINT64_C(1) << shift) - 1);
}

static inline void hist_record(struct hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->total++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* dst += src */
static inline void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < HIST_NBUCKETS; i++)
		dst->count[i] += src->count[i];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/*
 * The value at percentile p (0 <= p <= 100): the sample of rank
 * ceil(p/100 * total) (at least 1) in sorted order, reported as the middle
 * of its bucket, within HIST_REL_ERR of the exact sample. 0 when empty.
 */
static inline double hist_percentile(const struct hist *h, double p)
{
	if (h->total == 0)
		return 0.0;
	if (!(p > 0.0))            /* also catches NaN */
		return (double)h->min;
	if (p >= 100.0)
		return (double)h->max;
	double r = p / 100.0 * (double)h->total;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			uint64_t lo = hist_bucket_lo(i), hi = hist_bucket_hi(i);
			double mid = (double)lo + (double)(hi - lo) / 2.0;
			if (mid < (double)h->min)
				mid = (double)h->min;
			if (mid > (double)h->max)
				mid = (double)h->max;
			return mid;
		}
	}
	return (double)h->max;   /* unreachable when counts add up to total */
}

static inline double hist_mean(const struct hist *h)
{
	return h->total ? (double)h->sum / (double)h->total : 0.0;
}

#endif /* APPS_HIST_H */
