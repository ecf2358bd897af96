/*
 * test_spin.c: vfs/spin.c's adaptive spin budget on its own, with made-up
 * clocks: an idle thread sleeps at once, a loaded one spins long enough
 * to cover its peer's turn, a lightly loaded one never spins longer than
 * a sleep costs, and the estimate follows a change of load both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vfs/spin.h"

#define US 1000ull

/* n waits of `gap` ns each, `busy` ns of work between them */
static uint64_t run(struct vfs_spin_est *e, uint64_t now, int n,
		    uint64_t busy, uint64_t gap)
{
	int i;
	for (i = 0; i < n; i++) {
		now += busy;
		vfs_spin_record(e, now, now + gap);
		now += gap;
	}
	return now;
}

static void t_no_history(void **state)
{
	struct vfs_spin_est e;
	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(vfs_spin_budget_of(&e), VFS_SPIN_SLEEP_NS);
}

/* waits of 100 ms (an idle server): the floor only */
static void t_idle_sleeps_at_once(void **state)
{
	struct vfs_spin_est e;
	(void)state;
	memset(&e, 0, sizeof(e));
	run(&e, 1000 * US, 50, 20 * US, 100000 * US);
	assert_int_equal(vfs_spin_budget_of(&e), VFS_SPIN_FLOOR_NS);
}

/* busy 20 us, waits 30 us (a loaded closed loop): spins past 30 us */
static void t_loaded_covers_the_wait(void **state)
{
	struct vfs_spin_est e;
	uint64_t b;
	(void)state;
	memset(&e, 0, sizeof(e));
	run(&e, 1000 * US, 200, 20 * US, 30 * US);
	b = vfs_spin_budget_of(&e);
	assert_true(b >= 60 * US);
	assert_true(b <= VFS_SPIN_CAP_NS);
}

/* loaded, with every 10th wait a long one (the peer's turn): the long
 * ones are covered too */
static void t_loaded_bimodal_covers_the_long_wait(void **state)
{
	struct vfs_spin_est e;
	uint64_t now = 1000 * US;
	int i;
	(void)state;
	memset(&e, 0, sizeof(e));
	for (i = 0; i < 30; i++) {
		now = run(&e, now, 9, 10 * US, 3 * US);
		now = run(&e, now, 1, 10 * US, 80 * US);
	}
	assert_true(vfs_spin_budget_of(&e) >= 80 * US);
}

/* busy 1.5 us, waits 14 us (10% of peak): longer than a sleep costs,
 * so no spin past the floor */
static void t_light_load_sleeps(void **state)
{
	struct vfs_spin_est e;
	(void)state;
	memset(&e, 0, sizeof(e));
	run(&e, 1000 * US, 200, 1500, 14 * US);
	assert_int_equal(vfs_spin_budget_of(&e), VFS_SPIN_FLOOR_NS);
}

/* light load with very short waits: gap + 4 dev, not the cap */
static void t_light_short_waits(void **state)
{
	struct vfs_spin_est e;
	(void)state;
	memset(&e, 0, sizeof(e));
	run(&e, 1000 * US, 200, 500, 4 * US);
	assert_true(vfs_spin_budget_of(&e) < VFS_SPIN_SLEEP_NS);
	assert_true(vfs_spin_budget_of(&e) >= 4 * US);
}

/* loaded, then idle: back to the floor; idle, then loaded: spins again */
static void t_follows_the_load(void **state)
{
	struct vfs_spin_est e;
	uint64_t now;
	(void)state;
	memset(&e, 0, sizeof(e));
	now = run(&e, 1000 * US, 300, 20 * US, 30 * US);
	assert_true(vfs_spin_budget_of(&e) >= 60 * US);
	now = run(&e, now, 40, 20 * US, 1000000 * US);
	assert_int_equal(vfs_spin_budget_of(&e), VFS_SPIN_FLOOR_NS);
	run(&e, now, 300, 20 * US, 30 * US);
	assert_true(vfs_spin_budget_of(&e) >= 60 * US);
}

/* a clock that goes backwards or waits of hours: no overflow, no hang */
static void t_hostile_clock(void **state)
{
	struct vfs_spin_est e;
	(void)state;
	memset(&e, 0, sizeof(e));
	vfs_spin_record(&e, 5000 * US, 1000 * US);
	vfs_spin_record(&e, 1000 * US, UINT64_MAX);
	vfs_spin_record(&e, UINT64_MAX - 1, UINT64_MAX);
	assert_true(vfs_spin_budget_of(&e) <= VFS_SPIN_CAP_NS);
	assert_true(vfs_spin_budget_of(&e) >= VFS_SPIN_FLOOR_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_no_history),
		cmocka_unit_test(t_idle_sleeps_at_once),
		cmocka_unit_test(t_loaded_covers_the_wait),
		cmocka_unit_test(t_loaded_bimodal_covers_the_long_wait),
		cmocka_unit_test(t_light_load_sleeps),
		cmocka_unit_test(t_light_short_waits),
		cmocka_unit_test(t_follows_the_load),
		cmocka_unit_test(t_hostile_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
