/*
 * io_priv.h: io/ internals. Not for use outside io/ (it includes DPDK).
 *
 * struct nf_io is the one device of the process; struct nf_io_queue is a
 * queue pair, whose first member is the nf_io_ops table handed to stack/
 * (ops.q points back at the queue). An nf_buf lives in the private area of
 * its rte_mbuf (mempool priv_size = NF_IO_PRIV_SIZE), so the two convert
 * by pointer arithmetic: nf_io_buf(m) / nf_io_mbuf(b).
 */
#ifndef NF_IO_PRIV_H
#define NF_IO_PRIV_H

#include <stdarg.h>
#include <stdint.h>

/* DPDK's headers test GCC_VERSION, which rte_common.h defines only for
 * gcc; clang -Wundef -Werror would stop there. Include this header before
 * any rte_*.h. */
#if defined(__clang__) && !defined(GCC_VERSION)
#define GCC_VERSION 0
#endif

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_gso.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_spinlock.h>

#include "io/io.h"

#define NF_IO_PRIV_SIZE \
	RTE_ALIGN_CEIL(sizeof(struct nf_buf), RTE_MBUF_PRIV_ALIGN)
#define NF_IO_CACHE      256   /* per-lcore and per-queue cache, buffers */
#define NF_IO_BURST      64    /* largest internal burst */
#define NF_IO_MAX_SOCKETS 8    /* NUMA nodes with their own pool */
#define NF_IO_WAKE_NS    500000 /* timerfd fallback: fire 0.5 ms after arm */

static inline struct nf_buf *nf_io_buf(struct rte_mbuf *m)
{
	return (struct nf_buf *)((char *)m + sizeof(struct rte_mbuf));
}

static inline struct rte_mbuf *nf_io_mbuf(struct nf_buf *b)
{
	return (struct rte_mbuf *)((char *)b - sizeof(struct rte_mbuf));
}

enum nf_io_wake_kind {
	NF_IO_WAKE_NONE = 0,
	NF_IO_WAKE_INTR,       /* rx interrupt fd (tap fd, memif eventfd) */
	NF_IO_WAKE_TIMER,      /* timerfd fallback */
	NF_IO_WAKE_MEMIF,      /* memif ring interrupt (io/memif_wake.c) */
};

/* One queue pair. Written only by the thread that polls it, except
 * setup/teardown (nf_io_init/fini, single-threaded). */
struct nf_io_queue {
	struct nf_io_ops ops;            /* first: ops.q == this */
	struct nf_io *io;
	uint16_t port;
	uint16_t qid;
	int socket;
	struct rte_mempool *mp;          /* pool of this queue's NUMA node */
	struct rte_mempool_cache *cache; /* per-queue cache for alloc/free */
	struct rte_gso_ctx gso;
	/* what tx does in software before tx_burst */
	uint32_t sw_cksum_mask;          /* NF_TX_* done in software */
	uint64_t hw_tx_ol;               /* RTE_MBUF_F_TX_* the device does */
	int sw_gso;
	int sw_linearize;
	/* wake-up */
	enum nf_io_wake_kind wake;
	int intr_fd;                     /* queue's interrupt fd, or -1 */
	int intr_is_eventfd;             /* drain it in wake_disarm */
	int intr_noarm;                  /* fd is live without enable */
	int tap_sig;                     /* net_tap: signal that bumps its
					  * rx trigger (0: not tap) */
	uint32_t empty_polls;            /* rx bursts in a row with none */
	int timer_fd;                    /* timerfd fallback, or -1 */
	int timer_armed;                 /* set since the last disarm */
	int mw_efd;                      /* memif: rx ring's eventfd, or -1 */
	volatile uint16_t *mw_flags;     /* memif: rx ring flags while armed */
	int armed;
	struct nf_io_qstats st;
	uint16_t reta[RTE_ETH_RSS_RETA_SIZE_512];
};

struct nf_io_tel_cb {
	nf_io_tel_fn fn;
	void *arg;
};

/* The process's device. Written by nf_io_init/fini; read by queues and
 * the telemetry thread. */
struct nf_io {
	struct nf_io_config cfg;
	uint16_t port;
	uint16_t nb_queues;
	uint16_t nb_desc;
	struct rte_eth_dev_info info;
	struct rte_mempool *pools[NF_IO_MAX_SOCKETS];
	uint32_t pool_n;                /* buffers per pool */
	uint32_t bufs_per_queue;  /* nf_io_init's, for pool_n */
	uint32_t buf_room;              /* mbuf data room (port.c) */
	struct nf_io_queue *q[NF_IO_MAX_QUEUES];
	uint64_t startup_ns, eal_ns;
	uint32_t caps;                  /* NF_CAP_* offered */
	uint64_t rx_ol, tx_ol;          /* offloads enabled on the port */
	int port_started;
	int rx_intr;                    /* port configured with rxq intr */
	int rss_on;                     /* port spreads flows by RSS */
	int tapsig;                     /* io/tapsig.c thread running */
	const char *driver;
	int no_huge;
	char eal_line[1024];            /* argv as a line, for /netfuse/config */
	/* telemetry (io/telemetry.c) */
	struct nf_io_tel_cb tel_stats, tel_sockets;
	struct nf_io_tel_cb tel_instances;
	/* capture (io/capture.c) */
	void *pcap;                     /* struct nf_cap *: capturing */
	rte_spinlock_t pcap_lock;
	uint64_t pcap_pkts, pcap_drops;
};

/* Everything below is internal to io/: not exported from libnfio.so. */
#pragma GCC visibility push(hidden)

/* io/log.c */
extern enum nf_io_log_level nf_io_log_level;
__attribute__((format(printf, 2, 3)))
void nf_io_log(enum nf_io_log_level lvl, const char *fmt, ...);

/* io/queue.c */
int nf_io_queue_setup_ops(struct nf_io *io, struct nf_io_queue *q);
void nf_io_queue_release(struct nf_io_queue *q);

/* io/wake.c */
int nf_io_wake_setup(struct nf_io *io, struct nf_io_queue *q);
void nf_io_wake_release(struct nf_io_queue *q);
void nf_io_wake_kick(const struct nf_io_queue *q);
int nf_io_fd_is_anon(int fd, const char *kind);

/* io/tapsig.c: net_tap's per-frame signals go to a thread of ours;
 * returns the number of tun fds redirected or -errno */
int nf_io_tapsig_start(const char *ifname);
void nf_io_tapsig_stop(void);
void nf_io_tapsig_forget(void);

/* io/kif.c: the kernel side of a net_tap */
int nf_io_kif_setup(const char *ifname, uint32_t addr_be, uint8_t plen);
int nf_io_kif_setup6(const char *ifname, const uint8_t addr[16], uint8_t plen);
/* io/memif_wake.c: net_memif rx interrupts through the ring's flag */
int nf_io_memif_wake_setup(struct nf_io_queue *q);
int nf_io_memif_wake_arm(struct nf_io_queue *q);
void nf_io_memif_wake_disarm(struct nf_io_queue *q);
void nf_io_memif_wake_release(struct nf_io_queue *q);

/* memif.c: remove a stale net_memif server socket file (dev = EAL args) */
void nf_io_memif_stale(const char *dev);

/* io/telemetry.c */
int nf_io_tel_register(struct nf_io *io);
void nf_io_tel_unregister(struct nf_io *io);

/* io/capture.c */
#define NF_IO_BURST_MAX  256   /* frames one capture copy takes */
void nf_io_capture_init(struct nf_io *io);
int nf_io_capture_open(struct nf_io *io);   /* NETFUSE_PCAP */
void nf_io_capture_close(struct nf_io *io);
/* Start (replacing any running one) writing to path, count packets (0:
 * until stopped); -errno with a line in err. Stop: no-op if none. */
int nf_io_capture_start(struct nf_io *io, const char *path, uint64_t count,
			char *err, size_t errlen);
void nf_io_capture_stop(struct nf_io *io);
/* 1 if capturing (its file in path), 0 if not; counts of the last one */
int nf_io_capture_status(struct nf_io *io, char *path, size_t len,
			 uint64_t *pkts, uint64_t *drops);
/* Copy n frames (at most NF_IO_BURST_MAX) as pcapng blocks before they
 * go; then write the first `keep` of them (the rest were not sent) and
 * free the copy. NULL copy: out of memory, counted as drops. */
void *nf_io_capture_copy(struct rte_mbuf **m, uint16_t n, int tx);
void nf_io_capture_write(struct nf_io *io, void *stage, uint16_t keep);

#pragma GCC visibility pop

#endif
