/*
 * wake.c: the wake-up handle of a queue (nf_io_ops wake_arm/wake_disarm/
 * wake_fd), so a blocked program thread sleeps in the kernel and wakes on
 * the next frame.
 *
 * Where the device has rx interrupts (net_tap: the queue's tap fd; memif:
 * an eventfd the peer writes), wake_fd is the queue's interrupt fd from
 * rte_eth_dev_rx_intr_ctl_q_get_fd() and arming is
 * rte_eth_dev_rx_intr_enable() (net_tap has no enable op: its fd is
 * readable whenever frames wait; arming there raises the driver's rx
 * signal, see nf_io_wake_kick()). net_memif's PMD has no rx interrupt
 * op, but the memif protocol has interrupts: io/memif_wake.c turns them
 * on for the ring while armed, and wake_arm sets wake_fd to the ring's
 * current eventfd (NF_IO_WF_ANY), or to the timerfd below while the
 * link is down.
 * Elsewhere (net_null, af_packet, or NETFUSE_OFFLOAD_RX_INTR=sw) wake_fd
 * is a timerfd that wake_arm sets to fire once NF_IO_WAKE_NS later, so a
 * sleeper polls again within 1 ms.
 * wake_disarm turns either off and drains the fd (eventfd / timerfd
 * counters; never a tap fd, whose reads are frames).
 *
 * Set up by io/port.c after the port started; called by vfs/ through the
 * ops table from the thread that owns the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "io/io_priv.h"

#include <rte_log.h>

/* Does /proc/self/fd/N read "anon_inode:[KIND]" ("eventfd", "timerfd")? */
int nf_io_fd_is_anon(int fd, const char *kind)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return strstr(link, kind) != NULL;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

/* net_tap reads its queue fd only when its rx trigger moved: a counter
 * bumped by the signal the kernel sends for each frame (O_ASYNC with
 * F_SETSIG, a realtime signal in DPDK 22.11). A frame whose signal was
 * counted before a burst that missed it stays in the fd: the fd polls
 * readable and rx_burst returns 0 until the next frame's signal (seen
 * here as thousands of empty wake-ups and pings answered late). So on
 * arming, raise that signal once: the caller's rx_burst right after
 * wake_arm (the protocol in io/io.h) then drains the fd, and a sleeper
 * wakes only for a frame it can read. Only when a handler (the driver's)
 * is installed (checked once, at setup): the default action of SIGIO and
 * realtime signals kills. io/queue.c also kicks after many empty polls,
 * for threads that never sleep. */
static int tap_kick_signal(int fd)
{
	int sig = fcntl(fd, F_GETSIG);
	struct sigaction sa;

	if (sig <= 0)
		sig = SIGIO;
	if (sigaction(sig, NULL, &sa) < 0)
		return 0;
	if (!(sa.sa_flags & SA_SIGINFO) &&
	    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
		return 0;
	return sig;
}

void nf_io_wake_kick(const struct nf_io_queue *q)
{
	if (q->tap_sig > 0)
		raise(q->tap_sig);
}

static int timer_arm(struct nf_io_queue *q)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = NF_IO_WAKE_NS;
	if (timerfd_settime(q->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	q->timer_armed = 1;
	return 0;
}

static void timer_disarm(struct nf_io_queue *q)
{
	struct itimerspec its;

	/* memif arms it only while its link is down: no system call (two,
	 * with the drain) on every disarm */
	if (!q->timer_armed)
		return;
	q->timer_armed = 0;
	memset(&its, 0, sizeof(its));
	timerfd_settime(q->timer_fd, 0, &its, NULL);
	drain(q->timer_fd);
}

static int q_wake_arm(void *qv)
{
	struct nf_io_queue *q = qv;
	int r;

	switch (q->wake) {
	case NF_IO_WAKE_INTR:
		if (q->intr_noarm) {
			nf_io_wake_kick(q);
		} else if (rte_eth_dev_rx_intr_enable(q->port, q->qid) < 0)
			return -EIO;
		break;
	case NF_IO_WAKE_TIMER:
		r = timer_arm(q);
		if (r < 0)
			return r;
		break;
	case NF_IO_WAKE_MEMIF:
		/* the ring's eventfd; link not connected: the timer */
		r = nf_io_memif_wake_arm(q);
		if (r >= 0) {
			q->ops.wake_fd = r;
		} else {
			r = timer_arm(q);
			if (r < 0)
				return r;
			q->ops.wake_fd = q->timer_fd;
		}
		break;
	default:
		return -ENOTSUP;
	}
	q->armed = 1;
	q->st.wakes_armed++;
	return 0;
}

static void q_wake_disarm(void *qv)
{
	struct nf_io_queue *q = qv;

	if (!q->armed)
		return;
	q->armed = 0;
	switch (q->wake) {
	case NF_IO_WAKE_INTR:
		if (!q->intr_noarm)
			rte_eth_dev_rx_intr_disable(q->port, q->qid);
		if (q->intr_is_eventfd)
			drain(q->intr_fd);
		break;
	case NF_IO_WAKE_TIMER:
		timer_disarm(q);
		break;
	case NF_IO_WAKE_MEMIF:
		nf_io_memif_wake_disarm(q);
		timer_disarm(q);
		break;
	default:
		break;
	}
}

int nf_io_wake_setup(struct nf_io *io, struct nf_io_queue *q)
{
	q->intr_fd = -1;
	q->timer_fd = -1;
	q->mw_efd = -1;
	q->mw_flags = NULL;
	q->wake = NF_IO_WAKE_NONE;
	q->ops.wake_flags = 0;
	q->ops.wake_arm = q_wake_arm;
	q->ops.wake_disarm = q_wake_disarm;
	q->ops.wake_fd = -1;

	if (io->cfg.ol[NF_IO_OL_RX_INTR] == NF_IO_OL_ON && io->rx_intr) {
		uint32_t lvl = rte_log_get_global_level();
		int fd, r;

		/* ethdev logs an error when the device has no interrupt
		 * handle at all (net_null): that is the fallback case */
		rte_log_set_global_level(RTE_LOG_CRIT);
		fd = rte_eth_dev_rx_intr_ctl_q_get_fd(q->port, q->qid);
		rte_log_set_global_level(lvl);
		r = fd >= 0 ? rte_eth_dev_rx_intr_enable(q->port, q->qid) :
			      -ENODEV;

		if (r == 0 || r == -ENOTSUP) {
			/* -ENOTSUP: the fd is live without arming (net_tap's
			 * queue fd is readable while frames wait) */
			if (r == 0)
				rte_eth_dev_rx_intr_disable(q->port, q->qid);
			q->intr_noarm = r != 0;
			q->tap_sig = io->driver &&
				     strcmp(io->driver, "net_tap") == 0 ?
				     tap_kick_signal(fd) : 0;
			q->ops.wake_signal = q->tap_sig;
			q->wake = NF_IO_WAKE_INTR;
			q->intr_fd = fd;
			q->intr_is_eventfd = nf_io_fd_is_anon(fd, "[eventfd]") ||
					    nf_io_fd_is_anon(fd, "[timerfd]");
			q->ops.wake_fd = fd;
			return 0;
		}
	}
	if (io->cfg.ol[NF_IO_OL_RX_INTR] == NF_IO_OL_OFF)
		return 0;  /* no wake-up: the caller polls */
	q->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (q->timer_fd < 0)
		return -errno;
	q->wake = NF_IO_WAKE_TIMER;
	q->ops.wake_fd = q->timer_fd;
	q->ops.wake_flags = NF_IO_WF_TIMER;
	if (io->cfg.ol[NF_IO_OL_RX_INTR] == NF_IO_OL_ON && io->driver &&
	    strcmp(io->driver, "net_memif") == 0 &&
	    nf_io_memif_wake_setup(q) == 0) {
		q->wake = NF_IO_WAKE_MEMIF;
		q->ops.wake_flags = NF_IO_WF_ANY;
	}
	return 0;
}

void nf_io_wake_release(struct nf_io_queue *q)
{
	if (q->armed)
		q_wake_disarm(q);
	if (q->wake == NF_IO_WAKE_MEMIF)
		nf_io_memif_wake_release(q);
	if (q->timer_fd >= 0)
		close(q->timer_fd);
	q->timer_fd = -1;
	q->ops.wake_fd = -1;
	q->wake = NF_IO_WAKE_NONE;
}
