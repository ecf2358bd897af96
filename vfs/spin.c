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
	uint64_t gap = t1 > t0 ? t1 - t0 : 0, busy = 0, err, util;

	if (gap > VFS_SPIN_SAMPLE_MAX)
		gap = VFS_SPIN_SAMPLE_MAX;
	if (e->last_end && t0 > e->last_end)
		busy = t0 - e->last_end;
	if (busy > VFS_SPIN_SAMPLE_MAX)
		busy = VFS_SPIN_SAMPLE_MAX;
	e->last_end = t1;
	/* share of the time spent working, per mille, smoothed over ~64
	 * waits: what tells a loaded thread from a lightly loaded one
	 * (a loaded one's single long wait must not make it sleep) */
	util = busy + gap ? busy * 1000 / (busy + gap) : 0;
	e->util = e->util - e->util / 64 + util / 64;
	if (!e->samples++) {
		/* RFC 6298 2.2: first measurement */
		e->gap = gap;
		e->dev = gap / 2;
		e->util = util;
		return;
	}
	/* RFC 6298 2.3: alpha 1/8, beta 1/4 */
	err = gap > e->gap ? gap - e->gap : e->gap - gap;
	e->dev = e->dev - e->dev / 4 + err / 4;
	e->gap = e->gap - e->gap / 8 + gap / 8;
}

uint64_t vfs_spin_budget_of(const struct vfs_spin_est *e)
{
	uint64_t want;

	if (!e->samples)
		return VFS_SPIN_SLEEP_NS;
	if (e->gap > VFS_SPIN_CAP_NS)
		return VFS_SPIN_FLOOR_NS;          /* idle: sleep at once */
	/* loaded: waits are bimodal (a few us while a burst arrives, the
	 * peer's whole turn between bursts, stretched by whatever else runs
	 * on its core); a missed turn costs a wake-up's latency and makes
	 * the peer wait too, so spin the whole cap. memcached -t 1 over
	 * memif: 2 x the longest recent wait gave 297 K req/s, 4 x 312 K,
	 * the cap 378 K (a fixed 1 ms: 383 K) */
	if (e->util >= VFS_SPIN_LOADED_PERMILLE)
		return VFS_SPIN_CAP_NS;
	/* light load: spin only when work almost surely comes within what
	 * a sleep costs; else sleep at once. Spinning up to that cost and
	 * then sleeping (the worst-case-optimal rule) is the worst choice
	 * for Poisson arrivals with a longer mean: pingpong at 70 K req/s
	 * over 32 connections took 0.80 CPU on the server that way, against
	 * Linux's 0.70 */
	want = e->gap + 4 * e->dev;
	if (want > VFS_SPIN_SLEEP_NS)
		return VFS_SPIN_FLOOR_NS;
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
