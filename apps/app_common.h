/*
 * app_common.h: what pingpong and mcload share: strict number parsing for
 * their command lines, the clock, the run phases (warm-up, measure, stop)
 * driven by the main thread, socket helpers, and the one output format
 * both print (a key=value summary line and a CSV line for the harness).
 *
 * Header-only (static inline) so each app stays one .c file built with
 * plain `cc app.c -lpthread`. Only POSIX sockets, epoll and pthreads: the
 * apps run on Linux unchanged and unmodified under LD_PRELOAD=libhook.so.
 *
 * Output format (both apps; bench/ parses it):
 *   summary (stdout, or stderr with --csv):
 *     <app> rps=.. p50_us=.. p90_us=.. p99_us=.. p999_us=.. mean_us=..
 *           max_us=.. requests=.. errors=.. [app-specific key=value ...]
 *   CSV (stdout, with --csv; no header, `--csv-header` prints it):
 *     APP_CSV_HEADER below; latencies in microseconds; for pingpong
 *     gets/sets/misses are 0, size_bytes is the payload, depth the
 *     outstanding requests per connection; for mcload size_bytes is the
 *     value size and depth the pipeline depth; target_rps is the offered
 *     rate of an open-loop run (-r), 0 for closed loop, and unsent the
 *     scheduled requests dropped because the backlog overflowed.
 *   progress (stderr, with --progress): "progress t=<s>s rps=<n>" a second.
 *   latency CDF (with --cdf FILE): app_write_cdf below.
 *
 * Exit status: 0 when every request succeeded (and at least one did), 1
 * otherwise, 2 for bad arguments (the usage message goes to stderr).
 *
 * Open loop (-r rate): each thread sends requests at exponentially
 * distributed intervals (a Poisson process at rate/threads) whatever the
 * server does, on any of its connections with a free slot (fewer than -o
 * in flight); a request due while all slots are busy waits in a backlog.
 * Latency is measured from the time a request was due, not sent, so a
 * slow server is charged for the queueing it causes (no coordinated
 * omission, as in wrk2). Both apps add `due=` to the summary: requests that
 * fell due in the measured window (the offered load, to compare with
 * requests=), and `setup_s=`: how long the workers took to connect, which
 * the warm-up waits for (app_wait_ready).
 */
#ifndef APPS_APP_COMMON_H
#define APPS_APP_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "apps/hist.h"
#include "apps/zipf.h"     /* PRNG and log for the open-loop schedule */

#define APP_CSV_HEADER                                                     \
	"app,threads,conns,depth,size_bytes,duration_s,requests,rps,"      \
	"mean_us,p50_us,p90_us,p99_us,p999_us,max_us,errors,gets,sets,misses," \
	"target_rps,unsent"

/* ---- parsing -------------------------------------------------------------- */

/* decimal unsigned integer in [min, max], nothing else; 0 or -EINVAL */
static inline int app_parse_u64(const char *s, uint64_t min, uint64_t max,
				uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;                 /* also rejects "", "-1", " 1" */
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* decimal number (e.g. "2", "0.5") in [min, max]; 0 or -EINVAL */
static inline int app_parse_double(const char *s, double min, double max,
				   double *out)
{
	if (s == NULL || ((*s < '0' || *s > '9') && *s != '.'))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= min) || !(v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

/* dotted IPv4 address; 0 or -EINVAL */
static inline int app_parse_addr(const char *s, struct in_addr *out)
{
	if (s == NULL || inet_pton(AF_INET, s, out) != 1)
		return -EINVAL;
	return 0;
}

/* ---- time ------------------------------------------------------------------ */

static inline uint64_t app_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void app_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- run phases --------------------------------------------------------- */

enum app_phase {
	APP_WARMUP = 0,   /* requests run, nothing is recorded */
	APP_MEASURE = 1,  /* responses arriving now are counted and timed */
	APP_STOP = 2,     /* workers finish and return */
};

/*
 * Run by the main thread while the workers run: warm-up, then the measured
 * window, then stop. With progress, prints one line per second to stderr
 * with the requests/s of that second (count() sums the workers' counters).
 * Returns the length of the measured window in seconds.
 */
static inline double app_drive(_Atomic int *phase, double warmup_s,
			       double duration_s, bool progress,
			       uint64_t (*count)(void *), void *arg)
{
	app_sleep_ns((uint64_t)(warmup_s * 1e9));
	uint64_t t0 = app_now_ns();
	atomic_store(phase, APP_MEASURE);
	uint64_t end = t0 + (uint64_t)(duration_s * 1e9);
	uint64_t last_t = t0, last_n = count(arg);
	for (;;) {
		uint64_t now = app_now_ns();
		if (now >= end)
			break;
		uint64_t step = end - now < 1000000000u ? end - now : 1000000000u;
		app_sleep_ns(step);
		if (progress) {
			uint64_t t = app_now_ns(), n = count(arg);
			fprintf(stderr, "progress t=%.0fs rps=%.0f\n",
				(double)(t - t0) / 1e9,
				(double)(n - last_n) * 1e9 / (double)(t - last_t));
			last_t = t;
			last_n = n;
		}
	}
	uint64_t t1 = app_now_ns();
	atomic_store(phase, APP_STOP);
	return (double)(t1 - t0) / 1e9;
}

/*
 * Run by the main thread before app_drive: waits until *left (worker
 * threads still connecting, each decrements it once its connections are
 * up or have failed) is 0, at most max_s seconds. The warm-up must not
 * start earlier: under netfuse the first connect() starts the stack
 * (DPDK EAL init, 150-200 ms) and often took 1.2 s in all, so a warm-up
 * timed from thread creation ended before the workers sent anything, the
 * measured window began with the set-up, and an open-loop schedule
 * started inside the window (the "unsent 7%" of bench-latency: 3 s
 * windows holding 2.76 s of requests). Returns the seconds waited; prints a line to stderr
 * when it gives up.
 */
static inline double app_wait_ready(const char *app, _Atomic unsigned *left,
				    double max_s)
{
	uint64_t t0 = app_now_ns(), now = t0;
	while (atomic_load(left) > 0) {
		if ((double)(now - t0) / 1e9 >= max_s) {
			fprintf(stderr, "%s: %u thread(s) still connecting after %.1f s; "
				"starting anyway\n", app, atomic_load(left), max_s);
			break;
		}
		app_sleep_ns(1000000);
		now = app_now_ns();
	}
	return (double)(app_now_ns() - t0) / 1e9;
}

/* ---- open-loop schedule (one per client thread) --------------------------- */

#define APP_SCHED_BACKLOG 65536   /* due requests waiting for a free slot */

struct app_sched {
	double gap_ns;                /* mean interval; 0 = closed loop */
	uint64_t next_due;            /* ns */
	uint64_t q[APP_SCHED_BACKLOG]; /* due times not yet sent, FIFO */
	unsigned qhead, qlen;
	uint64_t unsent;              /* due requests dropped: backlog full */
	bool counting;                /* set by the owner in the measured window */
	uint64_t due;                 /* requests that fell due while counting:
					 the load offered in the window */
	struct zipf_rng rng;
};

/* rate: requests/s for this thread (0 = closed loop) */
static inline void app_sched_init(struct app_sched *s, double rate, uint64_t seed,
				  uint64_t now)
{
	memset(s, 0, sizeof(*s));
	s->gap_ns = rate > 0 ? 1e9 / rate : 0;
	s->next_due = now;
	zipf_rng_seed(&s->rng, seed);
}

/* moves every request due by `now` into the backlog */
static inline void app_sched_tick(struct app_sched *s, uint64_t now)
{
	while (s->gap_ns > 0 && s->next_due <= now) {
		s->due += s->counting;
		if (s->qlen < APP_SCHED_BACKLOG)
			s->q[(s->qhead + s->qlen++) % APP_SCHED_BACKLOG] = s->next_due;
		else
			s->unsent++;
		/* exponential interval: -ln(1 - u) * mean */
		double g = -zipf_log(1.0 - zipf_rng_double(&s->rng)) * s->gap_ns;
		s->next_due += (uint64_t)g + 1;
	}
}

static inline uint64_t app_sched_pop(struct app_sched *s)
{
	uint64_t t = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % APP_SCHED_BACKLOG;
	s->qlen--;
	return t;
}

/* epoll_wait timeout: 0 (poll) when the next request is due within 1 ms */
static inline int app_sched_timeout_ms(const struct app_sched *s, uint64_t now,
				       int idle_ms)
{
	if (s->gap_ns <= 0)
		return idle_ms;
	if (s->qlen > 0 || s->next_due <= now + 1000000u)
		return 0;
	uint64_t ms = (s->next_due - now) / 1000000u;
	return ms < (uint64_t)idle_ms ? (int)ms : idle_ms;
}

/* ---- sockets -------------------------------------------------------------- */

static inline int app_set_nodelay(int fd)
{
	int one = 1;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ? -errno : 0;
}

/* ---- output ---------------------------------------------------------------- */

struct app_result {
	const char *app;
	unsigned threads, conns, depth;  /* conns: total over all threads */
	uint64_t size;
	double duration_s;               /* measured window */
	uint64_t requests;               /* completed in the window */
	uint64_t errors;
	uint64_t gets, sets, misses;     /* mcload only */
	double target_rps;               /* open loop: offered rate; 0 = closed */
	uint64_t unsent;                 /* open loop: dropped, backlog full */
	const struct hist *lat;          /* latencies in ns */
};

static inline double app_rps(const struct app_result *r)
{
	return r->duration_s > 0 ? (double)r->requests / r->duration_s : 0.0;
}

/* the key=value summary; `extra` (may be "") is appended as is */
static inline void app_print_summary(FILE *f, const struct app_result *r,
				     const char *extra)
{
	fprintf(f, "%s rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
		"p999_us=%.1f mean_us=%.1f max_us=%.1f requests=%" PRIu64
		" errors=%" PRIu64 " threads=%u conns=%u depth=%u size=%" PRIu64
		" duration_s=%.2f target_rps=%.0f unsent=%" PRIu64 "%s%s\n",
		r->app, app_rps(r),
		hist_percentile(r->lat, 50) / 1e3, hist_percentile(r->lat, 90) / 1e3,
		hist_percentile(r->lat, 99) / 1e3, hist_percentile(r->lat, 99.9) / 1e3,
		hist_mean(r->lat) / 1e3,
		(r->lat->total ? (double)r->lat->max : 0.0) / 1e3,
		r->requests, r->errors, r->threads, r->conns, r->depth, r->size,
		r->duration_s, r->target_rps, r->unsent, *extra ? " " : "", extra);
}

/*
 * The latency distribution for plots (--cdf FILE): a header line
 * "latency_us,fraction", then for every non-empty bucket its middle in
 * microseconds and the fraction of samples at or below it. 0 or -errno.
 */
static inline int app_write_cdf(const char *path, const struct hist *h)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "latency_us,fraction\n");
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_NBUCKETS && h->total; i++) {
		if (h->count[i] == 0)
			continue;
		seen += h->count[i];
		uint64_t lo = hist_bucket_lo(i), hi = hist_bucket_hi(i);
		fprintf(f, "%.3f,%.6f\n", ((double)lo + (double)(hi - lo) / 2) / 1e3,
			(double)seen / (double)h->total);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static inline void app_print_csv(FILE *f, const struct app_result *r)
{
	fprintf(f, "%s,%u,%u,%u,%" PRIu64 ",%.3f,%" PRIu64 ",%.0f,%.1f,%.1f,%.1f,"
		"%.1f,%.1f,%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		",%.0f,%" PRIu64 "\n",
		r->app, r->threads, r->conns, r->depth, r->size, r->duration_s,
		r->requests, app_rps(r), hist_mean(r->lat) / 1e3,
		hist_percentile(r->lat, 50) / 1e3, hist_percentile(r->lat, 90) / 1e3,
		hist_percentile(r->lat, 99) / 1e3, hist_percentile(r->lat, 99.9) / 1e3,
		(r->lat->total ? (double)r->lat->max : 0.0) / 1e3,
		r->errors, r->gets, r->sets, r->misses, r->target_rps, r->unsent);
}

#endif /* APPS_APP_COMMON_H */
