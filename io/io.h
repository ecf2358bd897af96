/*
 * io.h: the public API of io/, NIC queues through DPDK.
 *
 * io/ is the only part of netfuse that includes rte_*.h; this header names
 * no DPDK type, so hook/, vfs/, tests and benchmarks include it freely.
 *
 * Life cycle (one device per process, EAL can start only once):
 *
 *   struct nf_io_config cfg;
 *   if (nf_io_config_from_env(&cfg) < 0) -> one line printed, run on kernel
 *   struct nf_io *io;
 *   nf_io_init(&io, &cfg, bufs_per_queue)   EAL + port + pools + queues
 *   struct nf_io_ops *ops = nf_io_queue(io, q)   one per stack instance
 *   ... ops->rx_burst / tx_burst / alloc / free / wake_arm ...
 *   nf_io_fini(io)                           stop, leak check, EAL cleanup
 *
 * The configuration parser and the EAL argument builder are pure C (no
 * EAL, no device) so tests/io/test_config.c checks them directly.
 *
 * Sleeping on a queue (the wake protocol):
 *   if (ops->wake_arm(ops->q) == 0) {
 *       n = ops->rx_burst(...);          // catch what raced the arming
 *       if (n == 0) poll(ops->wake_fd, POLLIN, timeout);
 *       ops->wake_disarm(ops->q);        // also drains the fd
 *   }
 * wake_fd is the queue's rx interrupt fd where the device has one (net_tap,
 * PCI NICs); for net_memif the ring's interrupt eventfd of the current
 * link, set by each wake_arm (io/memif_wake.c: DPDK 22.11's PMD has no rx
 * interrupt op, the memif protocol has one; wake_flags NF_IO_WF_ANY:
 * any thread may arm and disarm cheaply, read wake_fd after arming); else
 * (net_null, af_packet) a timerfd that fires 500 us after wake_arm, so a
 * sleeper wakes within 1 ms (NF_IO_WF_TIMER). Except for
 * NF_IO_WF_ANY, wake_fd does not change while the device is up.
 *
 * Threads io/ leaves running, all blocked in the kernel (never spinning):
 * EAL's interrupt, multi-process and telemetry threads, and with net_tap
 * "netfuse-tapsig", which takes the driver's per-frame signal so that the
 * program's threads never see it (io/tapsig.c). EAL starts no lcore
 * worker and does not re-pin the calling thread (--lcores 0@<its CPUs>).
 *
 * Threads: one thread at a time per queue (alloc/free go through the
 * queue's own mempool cache). A buffer may be freed through any queue of
 * the device. nf_io_init/fini are not thread-safe and run once.
 *
 * tx_burst takes a prefix of the array (DPDK's rule). A frame io/ cannot
 * send as asked (data outside its buffer, offload request that does not
 * match the headers, TSO beyond 128 segments in software) is dropped,
 * counted in nf_io_qstats and still counts as taken. For hardware L4
 * checksums and TSO io/ writes the pseudo-header sum itself; what stack/
 * leaves in checksum fields is never trusted.
 */
#ifndef NF_IO_IO_H
#define NF_IO_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stack/nf_io.h"

/* ---- configuration (io/config.c) -------------------------------------- */

#define NF_IO_MAX_QUEUES   64
/* NETFUSE_QUEUES=auto takes at most this many (vfs/'s instance limit) */
#define NF_IO_AUTO_QUEUES_MAX 16
#define NF_IO_MTU_MAX      9000   /* NETFUSE_MTU's largest (jumbo) */
#define NF_IO_STR_MAX      512
#define NF_IO_ERR_MAX      256

enum nf_io_huge {
	NF_IO_HUGE_AUTO = 0, /* hugepages if any are free, else --no-huge */
	NF_IO_HUGE_ON,       /* hugepages only; fail if none */
	NF_IO_HUGE_OFF,      /* always --no-huge, no warning */
};

enum nf_io_log_level {
	NF_IO_LOG_ERROR = 0,
	NF_IO_LOG_WARN,
	NF_IO_LOG_INFO,
	NF_IO_LOG_DEBUG,
};

/* One offload's mode (NETFUSE_OFFLOAD_<NAME>): 1/on = hardware where the
 * device has it, else io/'s software fallback; sw = software fallback even
 * if the device could (for comparison); 0/off = not offered to stack/. */
enum nf_io_ol_mode {
	NF_IO_OL_ON = 0,
	NF_IO_OL_SW,
	NF_IO_OL_OFF,
};

enum nf_io_offload {
	NF_IO_OL_RX_CKSUM = 0, /* NETFUSE_OFFLOAD_RX_CKSUM (no sw mode) */
	NF_IO_OL_TX_CKSUM,     /* NETFUSE_OFFLOAD_TX_CKSUM: IPv4+TCP+UDP */
	NF_IO_OL_TSO,          /* NETFUSE_OFFLOAD_TSO: sw = librte_gso */
	NF_IO_OL_MULTI_SEG,    /* NETFUSE_OFFLOAD_MULTI_SEG: sw = linearize */
	NF_IO_OL_RSS,          /* NETFUSE_OFFLOAD_RSS (no sw mode) */
	NF_IO_OL_RX_INTR,      /* NETFUSE_OFFLOAD_RX_INTR: sw = timerfd */
	NF_IO_OL_COUNT,
};

/* Written by nf_io_config_parse(); read-only afterwards. */
struct nf_io_config {
	char dev[NF_IO_STR_MAX];      /* NETFUSE_DEV, EAL device arguments */
	uint32_t addr_be;             /* NETFUSE_ADDR: the stack's address */
	uint8_t prefix_len;
	uint8_t tap_prefix_len;
	uint32_t tap_addr_be;         /* NETFUSE_TAP_ADDR; 0 = leave alone */
	char tap_iface[16];           /* iface= of a net_tap dev, else "" */
	uint32_t gw_be;               /* NETFUSE_GW (0: none) */
	uint8_t gw6[16];              /* NETFUSE_GW6 (all zero: none) */
	uint8_t addr6[16];            /* NETFUSE_ADDR6 (all zero: none) */
	uint8_t prefix6_len;
	uint8_t tap_addr6[16];        /* NETFUSE_TAP_ADDR6 (zero: leave) */
	uint8_t tap_prefix6_len;
	uint16_t nb_queues;           /* NETFUSE_QUEUES, 1..NF_IO_MAX_QUEUES */
	int queues_auto;              /* NETFUSE_QUEUES=auto: nb_queues
				       * from the CPUs; the device's limit
				       * caps it quietly */
	uint16_t nb_desc;             /* NETFUSE_DESC: rx/tx ring size */
	uint16_t mtu;                 /* NETFUSE_MTU; 0 = the device's */
	enum nf_io_huge huge;         /* NETFUSE_HUGE: auto | on | off */
	enum nf_io_log_level log;     /* NETFUSE_LOG */
	char eal_args[NF_IO_STR_MAX]; /* NETFUSE_EAL_ARGS, appended */
	char pcap[NF_IO_STR_MAX];     /* NETFUSE_PCAP: pcapng file or "" */
	uint8_t ol[NF_IO_OL_COUNT];   /* enum nf_io_ol_mode per offload */
	int has_pci;                  /* dev names a PCI device */
	char err[NF_IO_ERR_MAX];      /* the one-line error, if parse failed */
	char warn[NF_IO_ERR_MAX];     /* a one-line warning (parse succeeded) */
};

/* getenv() stand-in for tests: returns the value of `name` or NULL. */
typedef const char *(*nf_io_getenv_fn)(void *arg, const char *name);

/* Fill *c from the variables; 0, or -EINVAL with c->err naming the
 * variable and what is wrong. Prints nothing. */
int nf_io_config_parse(struct nf_io_config *c, nf_io_getenv_fn get,
		       void *arg);
/* nf_io_config_parse() over getenv(); prints c->err as one line. */
int nf_io_config_from_env(struct nf_io_config *c);

/* Facts about the host that the EAL arguments depend on. */
struct nf_io_host {
	pid_t pid;
	long free_hugepages;  /* 2 MB pages free; <0 unknown */
	char cpus[256];       /* the process's allowed CPUs, "0-3,6" */
	unsigned mem_mb;      /* memory the pools need (used with --no-huge) */
};

#define NF_IO_ARGV_MAX 64
struct nf_io_argv {
	int argc;
	char *argv[NF_IO_ARGV_MAX + 1];
	char buf[4 * NF_IO_STR_MAX];
	int no_huge;          /* --no-huge was chosen */
	int warn_no_huge;     /* ... because none were free: warn once */
};

/* Build the rte_eal_init() argv. 0, -EINVAL (c->err-like text in *err)
 * or -E2BIG. Pure: no EAL, no files. */
int nf_io_eal_argv(const struct nf_io_config *c, const struct nf_io_host *h,
		   struct nf_io_argv *out, char *err, size_t errlen);

/* Read the host facts (pid, /sys hugepages, sched_getaffinity). */
void nf_io_host_probe(struct nf_io_host *h, unsigned mem_mb);

/* Mempool sizing: buffers one pool needs for `nb_queues` queues whose
 * stack instances each hold up to `bufs_per_queue` buffers, with rings of
 * `nb_desc` descriptors and per-core caches of `cache` buffers. Rounded up
 * to 2^k - 1 (the best size for a ring-backed mempool). */
uint32_t nf_io_pool_size(uint16_t nb_queues, uint32_t bufs_per_queue,
			 uint16_t nb_desc, uint32_t cache);

/* ---- software checksum (io/cksum.c), pure C ---------------------------- */

struct nf_io_seg {
	uint8_t *data;
	uint32_t len;
};

/* Fill the IPv4 header checksum (NF_TX_IP_CKSUM) and/or the TCP/UDP
 * checksum (NF_TX_TCP_CKSUM / NF_TX_UDP_CKSUM) of the Ethernet frame held
 * in segs[0..nseg). The Ethernet+IPv4 headers and the L4 checksum field
 * must lie in segs[0]. Whatever the stack left in the checksum fields
 * (e.g. the pseudo-header sum) is ignored: the sums are computed afresh.
 * 0, or -EINVAL for a frame whose lengths do not add up. */
int nf_io_sw_cksum(const struct nf_io_seg *segs, unsigned nseg,
		   uint32_t flags, unsigned l2_len);

/* RFC 1071 one's complement sum of len bytes, folded to 16 bits (not
 * inverted), starting from `sum`. Byte order: network. */
uint32_t nf_io_cksum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t nf_io_cksum_fold(uint32_t sum);

/* ---- the device (io/port.c) -------------------------------------------- */

struct nf_io;

/* Start EAL from the config, bring the port up with cfg->nb_queues queue
 * pairs and pools for bufs_per_queue stack buffers per queue, set up the
 * kernel side of a net_tap. 0, or -errno after printing one line naming
 * the variable or the fix (the caller then runs on the kernel stack). */
int nf_io_init(struct nf_io **io, const struct nf_io_config *cfg,
	       uint32_t bufs_per_queue);

/* Queue q's ops table, valid until nf_io_fini(); NULL if q is out of
 * range. One thread at a time per queue. */
struct nf_io_ops *nf_io_queue(struct nf_io *io, uint16_t q);
uint16_t nf_io_nb_queues(const struct nf_io *io);

/* 1 if the port's link is up (memif: the peer connected), else 0. */
int nf_io_link_up(const struct nf_io *io);
/* In a fork child, inside the fork call: the calling thread stops being
 * an EAL lcore (its mempool caches stay the parent's thread's); the
 * queues are then used from the child like from any non-EAL thread,
 * under the caller's per-queue lock. Everything DPDK shares (hugepage
 * or --no-huge memfd memory, the devices' fds) is shared with the
 * parent; DPDK's own threads (telemetry, interrupts) stay the parent's. */
void nf_io_fork_child(void);
/* In a process forked from the one that started io/ (which is gone): the
 * device's per-process duties (net_tap's rx signal) move to this one.
 * 0 or -errno. */
int nf_io_takeover(void);

/* Nanoseconds nf_io_init() took, from the call to a started port, and
 * the part of it spent in rte_eal_init(). */
uint64_t nf_io_startup_ns(const struct nf_io *io);
uint64_t nf_io_eal_ns(const struct nf_io *io);

/* Buffers of io/'s pools not in the pools (held by stack/, by the driver
 * rings, or leaked). Flushes the per-queue caches first, so call it only
 * while no queue is in use. */
uint32_t nf_io_bufs_in_use(struct nf_io *io);

/* Per-queue io/ counters (written by the queue's thread only). */
struct nf_io_qstats {
	uint64_t rx_pkts, tx_pkts, tx_bytes;
	uint64_t tx_full;         /* not taken by the device: caller keeps */
	uint64_t sw_cksum;        /* frames checksummed in software */
	uint64_t gso_in, gso_out; /* frames segmented / segments produced */
	uint64_t linearized;      /* chains copied for a single-seg device */
	uint64_t drop_gso;        /* frames dropped: GSO failed */
	uint64_t drop_bad_offload;/* frames dropped: bad lengths for offload */
	uint64_t drop_linearize;  /* frames dropped: could not linearize */
	uint64_t drop_seg_tx;     /* GSO segments the device did not take */
	uint64_t alloc_fail;
	uint64_t wakes_armed;
};
const struct nf_io_qstats *nf_io_queue_stats(const struct nf_io *io,
					     uint16_t q);

/* Stop the port, check every buffer came back (prints the count if not),
 * free pools, rte_eal_cleanup(). 0, or -EBUSY when buffers leaked (their
 * number in *leaked if not NULL). The process cannot start EAL again. */
int nf_io_fini(struct nf_io *io, uint32_t *leaked);

/* The config in use (for /netfuse/config and for the stack's address). */
const struct nf_io_config *nf_io_config(const struct nf_io *io);

/* ---- observability (io/telemetry.c, io/capture.c) ---------------------- */

/* A writer handed to telemetry callbacks; names up to 63 bytes, strings up
 * to 127 (longer ones are cut). At most 250 entries per command. */
struct nf_io_tel;
void nf_io_tel_u64(struct nf_io_tel *t, const char *name, uint64_t v);
void nf_io_tel_str(struct nf_io_tel *t, const char *name, const char *v);
/* A nested object: fill the writer _begin returns (NULL: no memory),
 * then _end adds it to t under name (and frees the writer). */
struct nf_io_tel *nf_io_tel_obj_begin(struct nf_io_tel *t);
void nf_io_tel_obj_end(struct nf_io_tel *t, const char *name,
		       struct nf_io_tel *obj);

/* Fill t for one telemetry request; 0 or -errno. Called on DPDK's
 * telemetry thread, concurrently with the data path: read counters only. */
typedef int (*nf_io_tel_fn)(void *arg, struct nf_io_tel *t,
			    const char *params);

/* Set the callbacks behind /netfuse/stats (after io/'s port and queue
 * counters) and /netfuse/sockets. Either may be NULL. The commands
 * themselves are registered by nf_io_init(). */
void nf_io_tel_set_stats(struct nf_io *io, nf_io_tel_fn fn, void *arg);
void nf_io_tel_set_sockets(struct nf_io *io, nf_io_tel_fn fn, void *arg);
/* /netfuse/instances: fn is called with params "0", "1", ... and fills
 * one object per stack instance until it returns -ENOENT. */
void nf_io_tel_set_instances(struct nf_io *io, nf_io_tel_fn fn, void *arg);

/* Where the telemetry socket is (the EAL runtime dir), for tools. */
const char *nf_io_runtime_dir(const struct nf_io *io);

#endif
