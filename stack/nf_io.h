/*
 * nf_io.h: the boundary between stack/ and io/.
 *
 * stack/ sends and receives Ethernet frames only through the ops table of
 * one queue pair (struct nf_io_ops). io/ implements it on DPDK (net_tap,
 * net_memif, PCI NICs); tests implement it in memory. Nothing here names a
 * DPDK type: a frame is a struct nf_buf, which io/ keeps in the private
 * area of its own buffer (an rte_mbuf's priv area) and converts by pointer
 * arithmetic, so no copy and no lookup happens at the boundary.
 *
 * Ownership (DPDK's rules):
 *  - rx_burst hands the caller ownership of every buffer it returns.
 *  - tx_burst takes ownership of the first `ret` buffers; the caller still
 *    owns (and must send again or free) the rest.
 *  - alloc returns NULL when the pool is empty; free takes any buffer the
 *    caller owns, including whole segment chains.
 */
#ifndef NF_IO_H
#define NF_IO_H

#include <stdint.h>

/* rx offload results (io/ -> stack/), in nf_buf.ol_flags */
#define NF_RX_IP_CKSUM_GOOD  (1u << 0) /* IPv4 header checksum verified */
#define NF_RX_L4_CKSUM_GOOD  (1u << 1) /* TCP/UDP checksum verified */
#define NF_RX_IP_CKSUM_BAD   (1u << 2)
#define NF_RX_L4_CKSUM_BAD   (1u << 3)
#define NF_RX_RSS_HASH       (1u << 4) /* nf_buf.rss_hash is valid */

/* tx offload requests (stack/ -> io/), in nf_buf.ol_flags */
#define NF_TX_IP_CKSUM       (1u << 8)  /* io/ fills the IPv4 checksum */
#define NF_TX_TCP_CKSUM      (1u << 9)  /* pseudo-header sum is in place */
#define NF_TX_UDP_CKSUM      (1u << 10) /* pseudo-header sum is in place */
#define NF_TX_TCP_SEG        (1u << 11) /* TSO: segment by tso_segsz */

/* device capabilities (io/ -> stack/), in nf_io_ops.caps */
#define NF_CAP_RX_CKSUM      (1u << 0)
#define NF_CAP_TX_IP_CKSUM   (1u << 1)
#define NF_CAP_TX_L4_CKSUM   (1u << 2)
#define NF_CAP_TSO           (1u << 3) /* hardware or io/'s software GSO */
#define NF_CAP_MULTI_SEG     (1u << 4) /* tx accepts seg_next chains */
/* a flow's incoming frames go to the queue its frames were last sent on
 * (Linux's multi-queue tap: its flow table learns from what each queue
 * sends), so a connection moved to another queue's instance takes its
 * flow with it (vfs/move.c) */
#define NF_CAP_FLOW_FOLLOWS_TX (1u << 5)

struct nf_buf {
	uint8_t *data;           /* (io,stack) first byte of the frame */
	uint32_t len;            /* (io,stack) bytes in this segment */
	uint32_t pkt_len;        /* (io,stack) bytes in the whole chain */
	uint16_t headroom;       /* (io) bytes free before data */
	uint16_t tailroom;       /* (io) bytes free after data + len */
	uint32_t ol_flags;       /* NF_RX_* on rx, NF_TX_* on tx */
	uint32_t rss_hash;       /* (io) valid if NF_RX_RSS_HASH */
	uint16_t tso_segsz;      /* (stack) payload bytes per TSO segment */
	uint8_t l2_len;          /* (stack) header lengths for tx offloads */
	uint8_t l3_len;
	uint8_t l4_len;
	uint8_t pad_[3];
	struct nf_buf *seg_next; /* (stack) next segment of one frame */
	struct nf_buf *q_next;   /* (stack) free for the owner's queues */
	uint64_t user;           /* (stack) free for the owner */
	void *io_priv;           /* (io) io's handle; stack never reads it */
};

/* wake_flags: NF_IO_WF_ANY: arming and disarming are cheap and safe
 * from any thread (a flag in shared memory, memif), and wake_arm may
 * change wake_fd (a new link's eventfd); NF_IO_WF_TIMER: wake_fd is a
 * timer that says nothing about frames. */
#define NF_IO_WF_ANY 1u
#define NF_IO_WF_TIMER 2u

struct nf_io_ops {
	void *q; /* first argument of every op */
	uint16_t (*rx_burst)(void *q, struct nf_buf **bufs, uint16_t n);
	uint16_t (*tx_burst)(void *q, struct nf_buf **bufs, uint16_t n);
	struct nf_buf *(*alloc)(void *q);
	void (*free)(void *q, struct nf_buf *b);
	/* Arm the rx wake-up: after it returns 0, wake_fd becomes readable
	 * when a frame arrives. -errno if the queue cannot wake (then the
	 * caller polls with a timer of at most 1 ms). */
	int (*wake_arm)(void *q);
	void (*wake_disarm)(void *q);
	int wake_fd;             /* -1 if none; read it after wake_arm
				  * where wake_flags has NF_IO_WF_ANY */
	uint32_t wake_flags;     /* NF_IO_WAKE_* */
	uint32_t caps;           /* NF_CAP_* */
	uint16_t mtu;            /* L3 MTU, e.g. 1500 */
	uint16_t buf_size;       /* data bytes one nf_buf can hold */
	uint8_t mac[6];
	/* RSS: the Toeplitz key and redirection table the NIC uses, so that
	 * connect() picks a source port that hashes to this queue. */
	uint16_t queue_id;
	uint16_t nb_queues;
	uint8_t rss_key[40];
	uint8_t rss_key_len;     /* 0: no RSS, every flow lands here */
	uint16_t reta_size;
	const uint16_t *reta;    /* reta_size entries of queue ids */
	/* A signal wake_arm raises on the calling thread (net_tap's rx
	 * signal, io/wake.c): a thread that arms must not block it; 0 none */
	int wake_signal;
};

#endif
