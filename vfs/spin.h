/*
 * spin.h: how long a waiting thread spins before it sleeps (adaptive
 * spinning, docs/DESIGN.md rules 4 and 6: "spinning adapts to the load").
 *
 * Each program thread keeps an estimate of its own waits: how long a wait
 * lasted until work came (gap, smoothed as TCP smooths RTT: mean and mean
 * deviation, RFC 6298's gains), and the share of its time it worked
 * between waits (util). The budget of the next wait:
 *   - when the thread works at least 20% of the time, averaged over ~64
 *     waits (a loaded server or client), VFS_SPIN_CAP_NS: loaded waits are bimodal, a
 *     few us within a burst and a peer's whole turn between bursts; each
 *     missed turn costs a wake-up's latency (and the peer's), and the
 *     spin is short beside the work;
 *   - otherwise (light load) gap + 4 * deviation, the time within which
 *     work almost always came so far, if that is at most
 *     VFS_SPIN_SLEEP_NS (the CPU a sleep and a wake-up cost here), else
 *     the floor: spinning for work that comes later than a sleep's cost
 *     costs more CPU than sleeping (for Poisson arrivals with a longer
 *     mean, any spin does);
 *   - never below VFS_SPIN_FLOOR_NS, and when waits are longer than the
 *     cap (idle), just the floor: an idle thread sleeps at once.
 * NETFUSE_SPIN_US fixes the budget instead (vfs_g.spin_fixed).
 *
 * Pure functions over a struct, so tests/vfs/test_spin.c drives them with
 * made-up clocks; vfs/ keeps one estimate per thread (spin.c).
 */
#ifndef NETFUSE_VFS_SPIN_H
#define NETFUSE_VFS_SPIN_H

#include <stdint.h>

#define VFS_SPIN_FLOOR_NS 2000ull     /* catches back-to-back frames */
#define VFS_SPIN_SLEEP_NS 10000ull    /* CPU of one sleep + wake-up here */
#define VFS_SPIN_CAP_NS 500000ull     /* longest spin, loaded */
#define VFS_SPIN_LOADED_PERMILLE 350 /* working >= 35%: loaded */
#define VFS_SPIN_SAMPLE_MAX 10000000ull /* a wait counts as at most 10 ms */

struct vfs_spin_est {
	uint64_t last_end;   /* when the previous wait ended (0: none yet) */
	uint64_t gap;        /* smoothed wait length, ns */
	uint64_t dev;        /* smoothed mean deviation of it, ns */
	uint64_t util;       /* share of time working, per mille, smoothed */
	int samples;
};

/* A wait that started at t0 ended (work found, or its timeout) at t1. */
void vfs_spin_record(struct vfs_spin_est *e, uint64_t t0, uint64_t t1);

/* The spin budget for the next wait, ns. */
uint64_t vfs_spin_budget_of(const struct vfs_spin_est *e);

/* The calling thread's budget (adaptive, or NETFUSE_SPIN_US) and its
 * record of a wait from t0 to now; a wait with a zero timeout is not one
 * (callers skip it). */
uint64_t vfs_spin_budget(void);
void vfs_spin_done(uint64_t t0);

#endif
