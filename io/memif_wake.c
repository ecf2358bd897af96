/*
 * memif_wake.c: rx interrupts for net_memif, which DPDK 22.11's PMD does
 * not offer (its rx_queue_intr_enable is missing; memif_connect masks
 * interrupts on every ring it receives on: "enable polling mode").
 *
 * The memif protocol has them all the same (libmemif, VPP): each ring
 * carries a flags word in shared memory, and a transmitter that finds
 * MEMIF_RING_FLAG_MASK_INT clear in it writes the ring's eventfd after
 * its burst; DPDK's eth_memif_tx does exactly that, and eth_memif_rx
 * reads (consumes) the eventfd while the flag is clear. So a receiver
 * that wants to sleep clears the flag of its own rx ring, re-checks the
 * ring, and sleeps on that eventfd; on waking it sets the flag again.
 * The peer can be any memif implementation that honours the flag.
 *
 * Reaching the ring and the eventfd needs the PMD's private queue struct
 * (drivers/net/memif/rte_eth_memif.h) and the ethdev's process_private
 * pointer (ethdev_driver.h), neither installed: their DPDK 22.11 layouts
 * are mirrored below, and used only after checks that would fail on any
 * other layout (DPDK version string, the device's rx function and queue
 * array equal to the public rte_eth_fp_ops entry, queue's port id, ring
 * cookie, an eventfd behind the handle). Any failed check: the caller
 * keeps the timerfd fallback (one info line says why).
 *
 * The eventfd is created when the memif link connects and replaced on a
 * reconnect (often with the same number: the old one is closed first),
 * so each arm looks it up again and hands it out as the queue's wake_fd
 * (NF_IO_WF_ANY: read wake_fd after arming); while the link is down
 * the caller arms the queue's timerfd instead. (An epoll fd holding the
 * eventfd, stable across links, lost it on a reconnect that reused the
 * number: closing a file drops its epoll registration, and the new
 * eventfd with the same number was never added: sleepers woke only on
 * timers, memcached's latency curve lost every step after the first.)
 *
 * Called by io/wake.c (setup, arm, disarm, release) from the thread that
 * owns the queue.
 */
#define ALLOW_EXPERIMENTAL_API 1 /* rte_intr_fd_get: experimental in 22.11 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/io_priv.h"

#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_version.h>

/* ---- DPDK 22.11 private layouts (checked before use) ------------------ */
#define MW_MEMIF_COOKIE 0x3E31F20u    /* memif.h */
#define MW_MASK_INT 1u                /* MEMIF_RING_FLAG_MASK_INT */
#define MW_MAX_REGIONS 256            /* ETH_MEMIF_MAX_REGION_NUM */

struct mw_region {                     /* struct memif_region */
	void *addr;
	uint64_t region_size;
	int fd;
	uint32_t pkt_buffer_offset;
};

struct mw_proc_private {               /* struct pmd_process_private */
	struct mw_region *regions[MW_MAX_REGIONS];
	uint16_t regions_num;
};

struct mw_queue {                      /* struct memif_queue */
	void *mempool;
	void *pmd;
	int type;                      /* memif_ring_type_t */
	uint16_t region;
	uint16_t in_port;
	uint32_t ring_offset;
	uint16_t last_head;
	uint16_t last_tail;
	void **buffers;
	uint64_t n_pkts;
	uint64_t n_bytes;
	struct rte_intr_handle *intr_handle;
	uint8_t log2_ring_size;
};

struct mw_ring_head {                  /* memif_ring_t, first cache line */
	uint32_t cookie;
	volatile uint16_t flags;
	uint16_t head;
};

struct mw_eth_dev {                    /* struct rte_eth_dev, head only */
	void *rx_pkt_burst;
	void *tx_pkt_burst;
	void *tx_pkt_prepare;
	void *rx_queue_count;
	void *rx_descriptor_status;
	void *tx_descriptor_status;
	void *data;                    /* struct rte_eth_dev_data * */
	void *process_private;
	const void *dev_ops;
	void *device;
	void *intr_handle;
	void *link_intr_cbs[2];
	void *post_rx_burst_cbs[RTE_MAX_QUEUES_PER_PORT];
	void *pre_tx_burst_cbs[RTE_MAX_QUEUES_PER_PORT];
	int state;
	void *security_ctx;
} __rte_cache_aligned;

struct mw_eth_dev_data {               /* struct rte_eth_dev_data, head */
	char name[RTE_ETH_NAME_MAX_LEN];
	void **rx_queues;
};

/* ethdev's device array: exported, but as an INTERNAL symbol */
extern struct mw_eth_dev rte_eth_devices[];

/* The layout checks that do not need a connected link; NULL if they pass,
 * else why not. */
static const char *layout_check(const struct nf_io_queue *q)
{
	const struct rte_eth_fp_ops *fp = &rte_eth_fp_ops[q->port];
	const struct mw_eth_dev *dev = &rte_eth_devices[q->port];
	const struct mw_eth_dev_data *data = dev->data;
	const struct mw_queue *mq;

	if (strncmp(rte_version(), "DPDK 22.11", 10) != 0)
		return "not DPDK 22.11";
	if (dev->rx_pkt_burst != (void *)fp->rx_pkt_burst || data == NULL ||
	    data->rx_queues != fp->rxq.data)
		return "ethdev layout differs";
	if (dev->process_private == NULL)
		return "no process data";
	mq = data->rx_queues[q->qid];
	if (mq == NULL || mq->in_port != q->port || mq->intr_handle == NULL)
		return "queue layout differs";
	return NULL;
}

/* The queue's rx ring and eventfd, when the link is connected: 0, else
 * -ENOTCONN (or -EPROTO when what we find does not look like memif). */
static int resolve(struct nf_io_queue *q, volatile uint16_t **flags,
		   int *efd)
{
	const struct mw_eth_dev *dev = &rte_eth_devices[q->port];
	const struct mw_eth_dev_data *data = dev->data;
	const struct mw_proc_private *pp = dev->process_private;
	const struct mw_queue *mq = data->rx_queues[q->qid];
	const struct mw_region *r;
	struct mw_ring_head *ring;
	struct rte_eth_link link;
	int fd;

	/* the PMD marks the link down before it closes the eventfds and
	 * unmaps the regions (memif_disconnect): a link seen up here leaves
	 * the ring mapped for the few ns we use it, as in the PMD's own rx */
	if (rte_eth_link_get_nowait(q->port, &link) < 0 ||
	    link.link_status != RTE_ETH_LINK_UP)
		return -ENOTCONN;
	if (mq->region >= MW_MAX_REGIONS || mq->region >= pp->regions_num)
		return -EPROTO;
	r = pp->regions[mq->region];
	fd = rte_intr_fd_get(mq->intr_handle);
	if (r == NULL || r->addr == NULL || fd < 0)
		return -ENOTCONN;
	if ((uint64_t)mq->ring_offset + sizeof(*ring) > r->region_size)
		return -EPROTO;
	ring = (struct mw_ring_head *)((char *)r->addr + mq->ring_offset);
	if (ring->cookie != MW_MEMIF_COOKIE)
		return -EPROTO;
	*flags = &ring->flags;
	*efd = fd;
	return 0;
}

int nf_io_memif_wake_setup(struct nf_io_queue *q)
{
	const char *why = layout_check(q);

	q->mw_efd = -1;
	q->mw_flags = NULL;
	if (why) {
		nf_io_log(NF_IO_LOG_INFO, "net_memif rx interrupts off (%s): "
			  "sleepers wake on a timer", why);
		return -ENOTSUP;
	}
	return 0;
}

/* Arm: the eventfd to sleep on (the ring's interrupt is on), or -1 when
 * the link is not connected (the caller arms the timer instead). */
int nf_io_memif_wake_arm(struct nf_io_queue *q)
{
	volatile uint16_t *flags;
	int efd;

	if (resolve(q, &flags, &efd) < 0)
		return -1;
	if (efd != q->mw_efd) {
		if (!nf_io_fd_is_anon(efd, "[eventfd]"))
			return -1;
		q->mw_efd = efd;
	}
	q->mw_flags = flags;
	__atomic_and_fetch(flags, (uint16_t)~MW_MASK_INT, __ATOMIC_SEQ_CST);
	/* the flag store before the caller's ring check (its rx_burst);
	 * the peer stores its head before reading the flag. Its side has
	 * no full fence (DPDK 22.11), so a wake-up can still be missed in
	 * a window of a few ns: the caller's sleep is bounded (vfs/). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return efd;
}

/* Disarm masks the ring's interrupt again and leaves the eventfd as it
 * is: a count left there is read by the PMD's own rx (it "consumes the
 * interrupt" while the flag is clear), i.e. by the rx_burst every armer
 * makes right after arming (io.h protocol), so a stale count costs at
 * most one early wake-up, and a disarm no system call. */
void nf_io_memif_wake_disarm(struct nf_io_queue *q)
{
	volatile uint16_t *flags;
	int efd;

	/* the link may have gone (and its ring been unmapped) while we
	 * slept: mask only the ring we armed, if it is still there; a new
	 * link's rings start masked */
	if (q->mw_flags && resolve(q, &flags, &efd) == 0 &&
	    flags == q->mw_flags)
		__atomic_or_fetch(flags, (uint16_t)MW_MASK_INT,
				  __ATOMIC_RELAXED);
	q->mw_flags = NULL;
}

void nf_io_memif_wake_release(struct nf_io_queue *q)
{
	nf_io_memif_wake_disarm(q);
	q->mw_efd = -1;
}
