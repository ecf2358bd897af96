/*
 * test_sched.c: apps/app_common.h's open-loop schedule and start-up wait.
 * The schedule's count of requests due in the measured window (`due`, what
 * bench-latency compares the delivered rate with), its backlog overflow
 * count (`unsent`), the Poisson mean, and app_wait_ready: the warm-up of
 * both clients starts only once every worker has connected (the cause of
 * the "unsent 7%" of bench-latency under netfuse, where connecting took
 * longer than the 1 s warm-up), and gives up after its limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <cmocka.h>

#include "apps/app_common.h"

#define MS 1000000u

/* requests due in 1 s at 100 K/s: close to 100,000 (Poisson, sd ~316) */
static void test_rate(void **state)
{
	(void)state;
	struct app_sched *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	app_sched_init(s, 100000, 42, 1000);
	s->counting = true;
	uint64_t popped = 0;
	for (uint64_t t = 1000; t <= 1000 + 1000 * MS; t += MS) {
		app_sched_tick(s, t);
		while (s->qlen > 0) {
			uint64_t due = app_sched_pop(s);
			assert_true(due <= t);      /* never handed out early */
			popped++;
		}
	}
	assert_true(s->due >= 98000 && s->due <= 102000);
	assert_int_equal(popped, s->due);
	assert_int_equal(s->unsent, 0);
	free(s);
}

/* due counts only while counting is set; the backlog keeps the rest */
static void test_due_window(void **state)
{
	(void)state;
	struct app_sched *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	app_sched_init(s, 1e6, 7, 0);           /* one per us on average */
	app_sched_tick(s, 1 * MS);              /* warm-up: not counted */
	assert_int_equal(s->due, 0);
	unsigned warm = s->qlen;
	assert_true(warm > 800 && warm < 1200);
	s->counting = true;
	app_sched_tick(s, 2 * MS);
	assert_true(s->due > 800 && s->due < 1200);
	assert_int_equal(s->qlen, warm + s->due);
	s->counting = false;
	uint64_t d = s->due;
	app_sched_tick(s, 3 * MS);
	assert_int_equal(s->due, d);
	free(s);
}

/* more due than the backlog holds: the excess is counted unsent */
static void test_overflow(void **state)
{
	(void)state;
	struct app_sched *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	app_sched_init(s, 1e9, 3, 0);           /* a step of ~2 ns (+1 ns each) */
	s->counting = true;
	app_sched_tick(s, 400000);              /* ~2e5 due */
	assert_int_equal(s->qlen, APP_SCHED_BACKLOG);
	assert_true(s->unsent > 0);
	assert_int_equal(s->unsent + s->qlen, s->due);
	/* the oldest stay first */
	uint64_t prev = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t t = app_sched_pop(s);
		assert_true(t >= prev);
		prev = t;
	}
	free(s);
}

/* the epoll timeout: poll while something is due soon, sleep otherwise */
static void test_timeout(void **state)
{
	(void)state;
	struct app_sched *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	app_sched_init(s, 0, 1, 0);
	assert_int_equal(app_sched_timeout_ms(s, 0, 10), 10);   /* closed loop */
	app_sched_init(s, 10, 1, 0);            /* one per 100 ms on average */
	app_sched_tick(s, 0);                   /* the first is due at once */
	assert_int_equal(s->qlen, 1);
	assert_int_equal(app_sched_timeout_ms(s, 0, 10), 0);
	app_sched_pop(s);
	uint64_t next = s->next_due;
	assert_true(next > 0);
	if (next > 20 * MS)
		assert_int_equal(app_sched_timeout_ms(s, 0, 10), 10);
	assert_int_equal(app_sched_timeout_ms(s, next - MS / 2, 10), 0);
	free(s);
}

static void *late_ready(void *arg)
{
	app_sleep_ns(50 * MS);
	atomic_fetch_sub((_Atomic unsigned *)arg, 1);
	return NULL;
}

static void test_wait_ready(void **state)
{
	(void)state;
	_Atomic unsigned left = 0;
	double w = app_wait_ready("test", &left, 5);
	assert_true(w >= 0 && w < 0.5);
	/* one worker connects after 50 ms: the wait covers it */
	atomic_store(&left, 1);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, late_ready, (void *)&left), 0);
	w = app_wait_ready("test", &left, 5);
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&left), 0);
	assert_true(w >= 0.045 && w < 5);
	/* nobody ever connects: gives up after its limit */
	atomic_store(&left, 2);
	w = app_wait_ready("test", &left, 0.1);
	assert_true(w >= 0.1 && w < 5);
	assert_int_equal(atomic_load(&left), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_due_window),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_wait_ready),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
