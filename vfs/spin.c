/*
 * spin.c: the adaptive spin budget (spin.h has the rule and why), and the
 * per-thread estimate vfs/ keeps. Called by epoll.c (epoll_wait, poll,
 * select) and inst.c (blocking socket calls) at the start and the end of
 * every wait that may sleep.
 */
#include "vfs/spin.h"
#include "vfs/vfs_priv.h"

static __thread struct vfs_spin_est tls_est;

void vfs_spin_record(struct vfs_spin_est *e, uint64_t t0, uint64_t t1)
{
	uint64_t gap = t1 > t0 ? t1 - t0 : 0, busy = 0, err;

	if (gap > VFS_SPIN_SAMPLE_MAX)
		gap = VFS_SPIN_SAMPLE_MAX;
	if (e->last_end && t0 > e->last_end)
		busy = t0 - e->last_end;
	if (busy > VFS_SPIN_SAMPLE_MAX)
		busy = VFS_SPIN_SAMPLE_MAX;
	e->last_end = t1;
	if (!e->samples++) {
		/* RFC 6298 2.2: first measurement */
		e->gap = gap;
		e->dev = gap / 2;
		e->busy = busy;
		e->peak = gap;
		return;
	}
	/* the longest recent wait, forgetting 1/256 of it per wait */
	e->peak = gap > e->peak - e->peak / 256 ? gap :
		  e->peak - e->peak / 256;
	/* RFC 6298 2.3: alpha 1/8, beta 1/4 */
	err = gap > e->gap ? gap - e->gap : e->gap - gap;
	e->dev = e->dev - e->dev / 4 + err / 4;
	e->gap = e->gap - e->gap / 8 + gap / 8;
	e->busy = e->busy - e->busy / 8 + busy / 8;
}

uint64_t vfs_spin_budget_of(const struct vfs_spin_est *e)
{
	uint64_t want, lim;

	if (!e->samples)
		return VFS_SPIN_SLEEP_NS;
	if (e->gap > VFS_SPIN_CAP_NS)
		return VFS_SPIN_FLOOR_NS;          /* idle: sleep at once */
	want = e->gap + 4 * e->dev;
	if (e->busy * 4 >= e->gap) {
		/* loaded: waits are often bimodal (a few us while a burst
		 * arrives, a peer's whole turn between bursts); a missed
		 * turn costs a wake-up's latency, so cover the longest */
		lim = VFS_SPIN_CAP_NS;
		if (want < 2 * e->peak)
			want = 2 * e->peak;
	} else {
		lim = VFS_SPIN_SLEEP_NS;
	}
	if (want > lim)
		want = lim;
	return want < VFS_SPIN_FLOOR_NS ? VFS_SPIN_FLOOR_NS : want;
}

uint64_t vfs_spin_budget(void)
{
	return vfs_g.spin_fixed ? vfs_g.spin_ns : vfs_spin_budget_of(&tls_est);
}

void vfs_spin_done(uint64_t t0)
{
	vfs_spin_record(&tls_est, t0, vfs_now_ns());
}
