/*
 * port.c: bring up the process's one DPDK device: EAL from the NETFUSE_
 * config (io/config.c builds the argv), the port with N rx/tx queue pairs
 * and symmetric RSS, one mempool per NUMA node, offloads and their
 * software fallbacks, wake-up handles (io/wake.c), the kernel side of a
 * net_tap (io/kif.c), capture (io/capture.c) and telemetry
 * (io/telemetry.c). And take it all down again with a buffer leak check.
 *
 * Called once per process by hook/vfs (or a test/benchmark) through
 * io/io.h. Every failure prints one line naming the variable or the fix
 * and returns -errno; the caller then stays on the kernel stack.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <numa.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/io_priv.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>


/* Symmetric Toeplitz key (0x6d5a repeated): hash(a,b) == hash(b,a), so
 * both directions of a flow land on one queue. Longest key we handle. */
#define RSS_KEY_MAX 64

static struct nf_io *the_io;   /* one device per process: EAL is global */
static int eal_started;
static char run_dir[PATH_MAX]; /* EAL runtime dir, removed at exit */
static pid_t run_dir_pid;      /* ... by this process only */

/* Remove the EAL runtime dir (telemetry socket, mp socket, config):
 * --huge-unlink leaves no hugepage files, but EAL never removes this
 * directory. Runs from nf_io_fini() and, if the program exits without
 * it, from atexit (not in a forked child: the dir is the parent's). Only
 * the files directly in our own netfuse-<pid> dir are removed. */
static void dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX + 256];

	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Runtime dirs of netfuse processes that died without cleaning up
 * (SIGKILL, _exit): netfuse-<pid> beside ours whose pid is gone. */
static void stale_dirs_remove(void)
{
	char parent[PATH_MAX], p[PATH_MAX + 256];
	char *slash;
	DIR *d;
	struct dirent *e;

	snprintf(parent, sizeof(parent), "%s", run_dir);
	slash = strrchr(parent, '/');
	if (slash == NULL || slash == parent)
		return;
	*slash = '\0';
	d = opendir(parent);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(e->d_name, "netfuse-", 8) != 0)
			continue;
		pid = strtol(e->d_name + 8, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(p, sizeof(p), "%s/%s", parent, e->d_name);
		dir_remove(p);
	}
	closedir(d);
}

static void run_dir_remove(void)
{
	if (run_dir[0] == '\0' || strstr(run_dir, "/netfuse-") == NULL ||
	    getpid() != run_dir_pid)
		return;
	dir_remove(run_dir);
	run_dir[0] = '\0';
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An mbuf's data room: headroom and the largest frame, in one segment
 * (the stack builds each frame in one buffer): DPDK's default 2 KB up
 * to a 1500 MTU, more for NETFUSE_MTU jumbo frames */
static uint32_t buf_room_for(uint16_t mtu)
{
	uint32_t need = RTE_PKTMBUF_HEADROOM + (uint32_t)mtu +
			RTE_ETHER_HDR_LEN + 4 /* VLAN */ + RTE_ETHER_CRC_LEN;
	if (need <= RTE_MBUF_DEFAULT_BUF_SIZE)
		return RTE_MBUF_DEFAULT_BUF_SIZE;
	return (need + 1023) & ~1023u;
}

/* Bytes of memory one pool of n buffers needs, rounded up, in MB. */
static unsigned pool_mb(const struct nf_io *io, uint32_t n)
{
	uint64_t elt = sizeof(struct rte_mbuf) + NF_IO_PRIV_SIZE +
		       io->buf_room + 64 /* mempool header */;

	return (unsigned)((elt * n) >> 20) + 1;
}

static int numa_socket(uint16_t port)
{
	int s = rte_eth_dev_socket_id(port);
	int cpu;

	if (s >= 0)
		return s;  /* a PCI device knows its node */
	/* virtual device: the node of the CPU we run on (libnuma) */
	cpu = sched_getcpu();
	if (cpu >= 0 && numa_available() >= 0) {
		s = numa_node_of_cpu(cpu);
		if (s >= 0)
			return s;
	}
	return 0;
}

static struct rte_mempool *pool_for(struct nf_io *io, int socket)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;

	if (socket < 0 || socket >= NF_IO_MAX_SOCKETS)
		socket = 0;
	if (io->pools[socket])
		return io->pools[socket];
	snprintf(name, sizeof(name), "nf_pool_s%d", socket);
	mp = rte_pktmbuf_pool_create(name, io->pool_n, NF_IO_CACHE,
				     NF_IO_PRIV_SIZE, (uint16_t)io->buf_room,
				     socket);
	if (mp == NULL)  /* --no-huge memory has no node: take any */
		mp = rte_pktmbuf_pool_create(name, io->pool_n, NF_IO_CACHE,
					     NF_IO_PRIV_SIZE,
					     (uint16_t)io->buf_room,
					     SOCKET_ID_ANY);
	if (mp == NULL) {
		nf_io_log(NF_IO_LOG_ERROR, "cannot allocate %u buffers (%u MB)"
			  " for the packet pool: %s; reserve more hugepages or "
			  "lower NETFUSE_DESC/NETFUSE_QUEUES", io->pool_n,
			  pool_mb(io, io->pool_n), rte_strerror(rte_errno));
		return NULL;
	}
	io->pools[socket] = mp;
	return mp;
}

static void eal_line(struct nf_io *io, const struct nf_io_argv *a)
{
	size_t used = 0;
	int i;

	io->eal_line[0] = '\0';
	for (i = 0; i < a->argc; i++) {
		int w = snprintf(io->eal_line + used,
				 sizeof(io->eal_line) - used, "%s%s",
				 i ? " " : "", a->argv[i]);

		if (w < 0 || (size_t)w >= sizeof(io->eal_line) - used)
			break;
		used += (size_t)w;
	}
}

/* DPDK's own log lines (EAL, drivers) go through NETFUSE_LOG: printed
 * at info and debug; otherwise the last one is kept for the one line
 * netfuse prints when something fails */
static char dpdk_last[200];
static char dpdk_part[200];

static ssize_t dpdk_log_write(void *cookie, const char *buf, size_t n)
{
	size_t i, l;
	(void)cookie;
	if (nf_io_log_level >= NF_IO_LOG_INFO)
		return write(STDERR_FILENO, buf, n) < 0 ? 0 : (ssize_t)n;
	for (i = 0; i < n; i++) {
		l = strlen(dpdk_part);
		if (buf[i] == '\n') {
			if (l)
				memcpy(dpdk_last, dpdk_part, l + 1);
			dpdk_part[0] = '\0';
		} else if (l + 1 < sizeof(dpdk_part)) {
			dpdk_part[l] = buf[i];
			dpdk_part[l + 1] = '\0';
		}
	}
	return (ssize_t)n;
}

static FILE *dpdk_log_stream(void)
{
	static FILE *f;
	cookie_io_functions_t fns = { .write = dpdk_log_write };
	if (!f) {
		f = fopencookie(NULL, "w", fns);
		if (f)
			setvbuf(f, NULL, _IONBF, 0);
	}
	return f ? f : stderr;
}

/* "; DPDK said: ..." with DPDK's last line, or "" */
static const char *dpdk_said(char *buf, size_t len)
{
	if (!dpdk_last[0] || nf_io_log_level >= NF_IO_LOG_INFO)
		return "";
	snprintf(buf, len, " (DPDK: %s)", dpdk_last);
	return buf;
}

/* Does this process hold CAP_NET_ADMIN (root has it)? A tap or a raw
 * packet socket needs it. */
static int has_net_admin(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long cap = 0;
	if (!f)
		return 1; /* cannot tell: do not blame permissions */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	fclose(f);
	return (cap >> 12) & 1; /* CAP_NET_ADMIN */
}

/* The device needs CAP_NET_ADMIN and the process lacks it: say so */
static int no_permission(const struct nf_io_config *c)
{
	if ((!strstr(c->dev, "net_tap") && !strstr(c->dev, "net_af_packet") &&
	     !strstr(c->dev, "net_af_xdp")) || has_net_admin())
		return 0;
	nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_DEV='%s' needs root or "
		  "CAP_NET_ADMIN (a tap or packet socket); run as root or "
		  "`setcap cap_net_admin,cap_sys_admin+ep PROGRAM`; every "
		  "socket stays on the kernel stack", c->dev);
	return 1;
}

static int eal_start(struct nf_io *io, uint32_t pool_n)
{
	struct nf_io_host h;
	struct nf_io_argv *a;
	char err[NF_IO_ERR_MAX];
	uint64_t t0;
	int r, saved;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	/* --no-huge memory: the pool (and 1/8 for the allocator's
	 * rounding), EAL's own needs and each queue's
	 * (a net_tap with 8 queues did not fit in pool + 64 MB) */
	nf_io_host_probe(&h, pool_mb(io, pool_n) + pool_mb(io, pool_n) / 8 + 64 +
			 16u * io->nb_queues);
	r = nf_io_eal_argv(&io->cfg, &h, a, err, sizeof(err));
	if (r < 0) {
		nf_io_log(NF_IO_LOG_ERROR, "%s", err);
		free(a);
		return r;
	}
	if (a->warn_no_huge)
		nf_io_log(NF_IO_LOG_WARN, "no usable 2 MB hugepages (none free "
			  "or /dev/hugepages not writable): running DPDK with "
			  "--no-huge (4 KB pages: more TLB misses, a few %% "
			  "slower, no PCI NICs); reserve some as root: echo 512 "
			  "> /sys/kernel/mm/hugepages/hugepages-2048kB/"
			  "nr_hugepages (NETFUSE_HUGE=off hides this)");
	io->no_huge = a->no_huge;
	eal_line(io, a);
	nf_io_log(NF_IO_LOG_INFO, "EAL args: %s", io->eal_line);

	/* EAL logs go through NETFUSE_LOG (dpdk_log_write), never into
	 * the program's stdout */
	rte_openlog_stream(dpdk_log_stream());
	/* ... and so does its usage text on a bad argument (printf): point
	 * fd 1 at stderr for the call. */
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	nf_io_memif_stale(io->cfg.dev);
	t0 = now_ns();
	eal_started = 1;  /* even a failed rte_eal_init cannot be retried */
	r = rte_eal_init(a->argc, a->argv);
	io->eal_ns = now_ns() - t0;
	if (saved >= 0) {
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	free(a);
	if (r < 0) {
		int e = rte_errno ? rte_errno : EINVAL;

		/* EAL may have made its runtime dir before failing */
		snprintf(run_dir, sizeof(run_dir), "%s",
			 rte_eal_get_runtime_dir());
		run_dir_pid = getpid();
		run_dir_remove();

		if (!no_permission(&io->cfg)) {
			char said[240];
			nf_io_log(NF_IO_LOG_ERROR, "DPDK EAL init failed (%s)%s "
				  "with '%s'; check NETFUSE_DEV and "
				  "NETFUSE_EAL_ARGS%s; every socket stays on the "
				  "kernel stack", rte_strerror(e),
				  dpdk_said(said, sizeof(said)), io->eal_line,
				  io->no_huge || e == ENODEV ? "" :
				  ", or set NETFUSE_HUGE=off");
		}
		return -e;
	}
	snprintf(run_dir, sizeof(run_dir), "%s", rte_eal_get_runtime_dir());
	run_dir_pid = getpid();
	atexit(run_dir_remove);
	stale_dirs_remove();
	return 0;
}

static void sym_key(uint8_t *k, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		k[i] = (i & 1) ? 0x5a : 0x6d;
}

static int port_configure(struct nf_io *io)
{
	const struct nf_io_config *c = &io->cfg;
	struct rte_eth_dev_info *di = &io->info;
	struct rte_eth_conf conf;
	uint8_t key[RSS_KEY_MAX];
	uint64_t rss_hf = 0, want;
	int r;

	memset(&conf, 0, sizeof(conf));
	/* DPDK 22.11's net_tap hands its rx and tx queue fds to secondary
	 * processes in one multi-process message when it starts, written
	 * into a fixed array of RTE_MP_MAX_FD_NUM (8) fds without a bound
	 * check: from 5 queue pairs on, "EAL: Cannot send more than 8 FDs"
	 * and a smashed stack (abort) in rte_eth_dev_start. So at most 4. */
	if (strcmp(di->driver_name, "net_tap") == 0 && di->max_rx_queues > 4)
		di->max_rx_queues = di->max_tx_queues = 4;
	if (io->nb_queues > di->max_rx_queues ||
	    io->nb_queues > di->max_tx_queues) {
		/* fewer instances rather than none */
		uint16_t m = di->max_rx_queues < di->max_tx_queues ?
			     di->max_rx_queues : di->max_tx_queues;
		if (m == 0) {
			nf_io_log(NF_IO_LOG_ERROR, "device %s has no rx/tx "
				  "queue", di->driver_name);
			return -EINVAL;
		}
		if (io->cfg.queues_auto)
			nf_io_log(NF_IO_LOG_INFO, "NETFUSE_QUEUES=auto: %u "
				  "CPUs, device %s has %u queue pairs: using "
				  "%u", io->nb_queues, di->driver_name, m, m);
		else
			nf_io_log(NF_IO_LOG_WARN, "NETFUSE_QUEUES=%u: device "
				  "%s has at most %u queue pairs; using %u (set "
				  "NETFUSE_QUEUES to at most %u)", io->nb_queues,
				  di->driver_name, m, m, m);
		io->nb_queues = m;
		io->pool_n = nf_io_pool_size(m, io->bufs_per_queue,
					     io->nb_desc, NF_IO_CACHE);
	}

	/* RSS over the TCP/UDP 4-tuple of both families, symmetric key
	 * (stack/rss.c computes the same hash to pick source ports) */
	want = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
	       RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
	if (io->nb_queues > 1 && c->ol[NF_IO_OL_RSS] != NF_IO_OL_OFF)
		rss_hf = di->flow_type_rss_offloads & want;
	if (rss_hf) {
		unsigned klen = di->hash_key_size ? di->hash_key_size : 40;

		if (klen > RSS_KEY_MAX)
			klen = RSS_KEY_MAX;
		sym_key(key, klen);
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = key;
		conf.rx_adv_conf.rss_conf.rss_key_len = (uint8_t)klen;
		conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
		if (di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			io->rx_ol |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	} else if (io->nb_queues > 1) {
		/* not a fault: the device (net_tap's flow table, memif's
		 * queue pairs) or vfs/'s handover (vfs/steer.c) steers */
		nf_io_log(NF_IO_LOG_INFO, "device %s has no RSS over TCP/UDP "
			  "(or NETFUSE_OFFLOAD_RSS=0): frames on the wrong "
			  "queue are handed to their instance in software",
			  di->driver_name);
	}
	io->rss_on = rss_hf != 0;

	if (c->ol[NF_IO_OL_RX_CKSUM] == NF_IO_OL_ON)
		io->rx_ol |= di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
	if (c->ol[NF_IO_OL_TX_CKSUM] == NF_IO_OL_ON)
		io->tx_ol |= di->tx_offload_capa &
			     (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			      RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
			      RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
	/* net_tap's "hardware" TSO is DPDK's GSO run inside the driver with
	 * a small private pool; in 22.11 a bulk transfer stalls on it after
	 * a few tens of KB (tx_burst stops taking frames). io/'s own GSO does
	 * the same work without stalling, so net_tap gets that instead. */
	if (c->ol[NF_IO_OL_TSO] == NF_IO_OL_ON &&
	    (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
	    strcmp(di->driver_name, "net_tap") != 0)
		io->tx_ol |= RTE_ETH_TX_OFFLOAD_TCP_TSO |
			     (di->tx_offload_capa &
			      (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			       RTE_ETH_TX_OFFLOAD_TCP_CKSUM));
	if (c->ol[NF_IO_OL_MULTI_SEG] == NF_IO_OL_ON)
		io->tx_ol |= di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* software GSO hands the device two-segment frames */
	if (c->ol[NF_IO_OL_TSO] != NF_IO_OL_OFF)
		io->tx_ol |= di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	conf.rxmode.offloads = io->rx_ol;
	conf.txmode.offloads = io->tx_ol;

	if (c->mtu) {
		/* ethdev also refuses frames past max_rx_pktlen (DPDK
		 * 22.11's net_tap and net_af_packet: 1522 and 1518) */
		uint32_t hi = di->max_mtu, ov = RTE_ETHER_HDR_LEN +
			      RTE_ETHER_CRC_LEN;
		if (di->max_rx_pktlen > ov && di->max_rx_pktlen - ov < hi)
			hi = di->max_rx_pktlen - ov;
		if (c->mtu > hi || c->mtu < di->min_mtu) {
			nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_MTU=%u: device %s "
				  "takes an MTU in %u..%u only; set NETFUSE_MTU "
				  "in that range (or 0 for the device's)", c->mtu,
				  di->driver_name, di->min_mtu, hi);
			return -EINVAL;
		}
		conf.rxmode.mtu = c->mtu;
	}
	conf.intr_conf.rxq = c->ol[NF_IO_OL_RX_INTR] == NF_IO_OL_ON;
	r = rte_eth_dev_configure(io->port, io->nb_queues, io->nb_queues,
				  &conf);
	if (r < 0 && conf.intr_conf.rxq) {
		/* no rx interrupts here: wake.c falls back to a timerfd */
		conf.intr_conf.rxq = 0;
		r = rte_eth_dev_configure(io->port, io->nb_queues,
					  io->nb_queues, &conf);
	}
	if (r < 0) {
		nf_io_log(NF_IO_LOG_ERROR, "cannot configure port %u (%s, %u "
			  "queues): %s; check NETFUSE_DEV/NETFUSE_QUEUES",
			  io->port, di->driver_name, io->nb_queues,
			  rte_strerror(-r));
		return r;
	}
	io->rx_intr = conf.intr_conf.rxq;
	/* configure only records it: set_mtu also reaches the device (a
	 * net_tap's kernel interface takes the same MTU) */
	if (c->mtu && (r = rte_eth_dev_set_mtu(io->port, c->mtu)) < 0) {
		nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_MTU=%u: device %s refuses "
			  "it: %s; set NETFUSE_MTU=0 for the device's", c->mtu,
			  di->driver_name, rte_strerror(-r));
		return r;
	}
	return 0;
}

static uint32_t caps_of(const struct nf_io *io)
{
	const struct nf_io_config *c = &io->cfg;
	uint32_t caps = 0;

	if (io->rx_ol & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
			 RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
			 RTE_ETH_RX_OFFLOAD_UDP_CKSUM))
		caps |= NF_CAP_RX_CKSUM;
	if (c->ol[NF_IO_OL_TX_CKSUM] != NF_IO_OL_OFF)
		caps |= NF_CAP_TX_IP_CKSUM | NF_CAP_TX_L4_CKSUM;
	if (c->ol[NF_IO_OL_MULTI_SEG] != NF_IO_OL_OFF)
		caps |= NF_CAP_MULTI_SEG;
	if (c->ol[NF_IO_OL_TSO] != NF_IO_OL_OFF &&
	    ((io->tx_ol & RTE_ETH_TX_OFFLOAD_TCP_TSO) ||
	     c->ol[NF_IO_OL_MULTI_SEG] != NF_IO_OL_OFF))
		caps |= NF_CAP_TSO;  /* hardware, or librte_gso */
	if (strcmp(io->driver, "net_tap") == 0)
		caps |= NF_CAP_FLOW_FOLLOWS_TX;
	return caps;
}

static int queue_setup(struct nf_io *io, uint16_t qid, uint16_t nb_rxd,
		       uint16_t nb_txd)
{
	struct rte_eth_rxconf rxc = io->info.default_rxconf;
	struct rte_eth_txconf txc = io->info.default_txconf;
	struct nf_io_queue *q;
	int socket = numa_socket(io->port), r;

	q = rte_zmalloc_socket("nf_io_queue", sizeof(*q), RTE_CACHE_LINE_SIZE,
			       socket);
	if (q == NULL)
		q = rte_zmalloc("nf_io_queue", sizeof(*q), RTE_CACHE_LINE_SIZE);
	if (q == NULL)
		return -ENOMEM;
	io->q[qid] = q;
	q->io = io;
	q->port = io->port;
	q->qid = qid;
	q->socket = socket;
	q->intr_fd = q->timer_fd = -1;
	q->mp = pool_for(io, socket);
	if (q->mp == NULL)
		return -ENOMEM;
	rxc.offloads = io->rx_ol;
	txc.offloads = io->tx_ol;
	r = rte_eth_rx_queue_setup(io->port, qid, nb_rxd, socket, &rxc, q->mp);
	if (r == 0)
		r = rte_eth_tx_queue_setup(io->port, qid, nb_txd, socket, &txc);
	if (r < 0) {
		nf_io_log(NF_IO_LOG_ERROR, "cannot set up queue %u of port %u: "
			  "%s; try a smaller NETFUSE_DESC", qid, io->port,
			  rte_strerror(-r));
		return r;
	}
	return nf_io_queue_setup_ops(io, q);
}

/* What tx does in software, per queue (io/queue.c reads these). */
static void queue_offloads(struct nf_io *io, struct nf_io_queue *q)
{
	const struct nf_io_config *c = &io->cfg;

	q->hw_tx_ol = 0;
	if (io->tx_ol & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		q->hw_tx_ol |= RTE_MBUF_F_TX_IP_CKSUM;
	if (io->tx_ol & RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
		q->hw_tx_ol |= RTE_MBUF_F_TX_TCP_CKSUM;
	if (io->tx_ol & RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
		q->hw_tx_ol |= RTE_MBUF_F_TX_UDP_CKSUM;
	if (io->tx_ol & RTE_ETH_TX_OFFLOAD_TCP_TSO)
		q->hw_tx_ol |= RTE_MBUF_F_TX_TCP_SEG;
	/* hardware checksums only when TX_CKSUM=on */
	if (c->ol[NF_IO_OL_TX_CKSUM] != NF_IO_OL_ON)
		q->hw_tx_ol &= ~(RTE_MBUF_F_TX_IP_CKSUM |
				 RTE_MBUF_F_TX_TCP_CKSUM |
				 RTE_MBUF_F_TX_UDP_CKSUM);
	q->sw_cksum_mask = 0;
	if (!(q->hw_tx_ol & RTE_MBUF_F_TX_IP_CKSUM))
		q->sw_cksum_mask |= NF_TX_IP_CKSUM;
	if (!(q->hw_tx_ol & RTE_MBUF_F_TX_TCP_CKSUM))
		q->sw_cksum_mask |= NF_TX_TCP_CKSUM;
	if (!(q->hw_tx_ol & RTE_MBUF_F_TX_UDP_CKSUM))
		q->sw_cksum_mask |= NF_TX_UDP_CKSUM;
	q->sw_gso = c->ol[NF_IO_OL_TSO] != NF_IO_OL_OFF &&
		    !(q->hw_tx_ol & RTE_MBUF_F_TX_TCP_SEG);
	q->sw_linearize = !(io->tx_ol & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
}

static void queue_info(struct nf_io *io, struct nf_io_queue *q,
		       const uint8_t *key, const uint16_t *reta,
		       uint16_t reta_size)
{
	struct rte_ether_addr ea;
	uint16_t mtu = RTE_ETHER_MTU;

	q->ops.queue_id = q->qid;
	q->ops.nb_queues = io->nb_queues;
	q->ops.caps = io->caps;
	if (rte_eth_dev_get_mtu(io->port, &mtu) < 0 || mtu == 0)
		mtu = RTE_ETHER_MTU;
	q->ops.mtu = mtu;
	q->ops.buf_size = io->buf_room - RTE_PKTMBUF_HEADROOM;
	if (rte_eth_macaddr_get(io->port, &ea) == 0)
		memcpy(q->ops.mac, ea.addr_bytes, 6);
	if (io->rss_on) {
		memcpy(q->ops.rss_key, key, sizeof(q->ops.rss_key));
		q->ops.rss_key_len = sizeof(q->ops.rss_key);
		memcpy(q->reta, reta, reta_size * sizeof(*reta));
		q->ops.reta_size = reta_size;
		q->ops.reta = q->reta;
	} else {
		q->ops.rss_key_len = 0;
		q->ops.reta_size = 0;
		q->ops.reta = NULL;
	}
	queue_offloads(io, q);
}

/* The redirection table the device uses (query it; else the default
 * round robin DPDK drivers program). */
static uint16_t reta_get(struct nf_io *io, uint16_t *reta)
{
	struct rte_eth_rss_reta_entry64 conf[RTE_ETH_RSS_RETA_SIZE_512 /
					     RTE_ETH_RETA_GROUP_SIZE];
	uint16_t size = io->info.reta_size, i;

	if (size == 0 || size > RTE_ETH_RSS_RETA_SIZE_512)
		size = size ? RTE_ETH_RSS_RETA_SIZE_512 : 128;
	memset(conf, 0, sizeof(conf));
	for (i = 0; i < size / RTE_ETH_RETA_GROUP_SIZE; i++)
		conf[i].mask = ~0ULL;
	if (io->info.reta_size &&
	    rte_eth_dev_rss_reta_query(io->port, conf, size) == 0) {
		for (i = 0; i < size; i++)
			reta[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE]
				  .reta[i % RTE_ETH_RETA_GROUP_SIZE];
	} else {
		for (i = 0; i < size; i++)
			reta[i] = i % io->nb_queues;
	}
	return size;
}

static void teardown(struct nf_io *io, uint32_t *leaked);

int nf_io_init(struct nf_io **out, const struct nf_io_config *cfg,
	       uint32_t bufs_per_queue)
{
	uint64_t t0 = now_ns();
	struct nf_io *io;
	uint16_t nb_rxd, nb_txd, pid, reta_size, i;
	static uint16_t reta[RTE_ETH_RSS_RETA_SIZE_512];
	uint8_t key[RSS_KEY_MAX];
	int r;

	*out = NULL;
	if (the_io || eal_started) {
		nf_io_log(NF_IO_LOG_ERROR, "DPDK already started in this "
			  "process (EAL cannot start twice)");
		return -EALREADY;
	}
	nf_io_log_level = cfg->log;
	io = calloc(1, sizeof(*io));
	if (io == NULL)
		return -ENOMEM;
	io->cfg = *cfg;
	io->nb_queues = cfg->nb_queues ? cfg->nb_queues : 1;
	io->nb_desc = cfg->nb_desc ? cfg->nb_desc : 1024;
	io->bufs_per_queue = bufs_per_queue;
	io->pool_n = nf_io_pool_size(io->nb_queues, bufs_per_queue,
				     io->nb_desc, NF_IO_CACHE);
	io->buf_room = buf_room_for(cfg->mtu);
	nf_io_capture_init(io);

	/* A second net_tap on an existing interface name would silently
	 * join it as one more queue, and the kernel would spread frames over
	 * both programs. */
	if (cfg->tap_iface[0] && if_nametoindex(cfg->tap_iface) != 0) {
		nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_DEV: interface %s already "
			  "exists (another netfuse program?); give this one "
			  "its own, e.g. NETFUSE_DEV=--vdev=net_tap0,iface=nf1 "
			  "NETFUSE_ADDR=198.18.1.2/24 NETFUSE_TAP_ADDR="
			  "198.18.1.1/24", cfg->tap_iface);
		free(io);
		return -EEXIST;
	}
	r = eal_start(io, io->pool_n);
	if (r < 0) {
		free(io);
		return r;
	}
	io->port = RTE_MAX_ETHPORTS;
	RTE_ETH_FOREACH_DEV(pid) {
		io->port = pid;
		break;
	}
	if (io->port == RTE_MAX_ETHPORTS) {
		char said[240];
		if (!no_permission(cfg))
			nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_DEV='%s' gave no "
				  "ethernet port (driver missing or device "
				  "busy)%s; every socket stays on the kernel "
				  "stack", cfg->dev,
				  dpdk_said(said, sizeof(said)));
		r = -ENODEV;
		goto fail;
	}
	r = rte_eth_dev_info_get(io->port, &io->info);
	if (r < 0)
		goto fail;
	io->driver = io->info.driver_name;
	r = port_configure(io);
	if (r < 0)
		goto fail;
	nb_rxd = nb_txd = io->nb_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(io->port, &nb_rxd, &nb_txd);
	for (i = 0; i < io->nb_queues; i++) {
		r = queue_setup(io, i, nb_rxd, nb_txd);
		if (r < 0)
			goto fail;
	}
	r = rte_eth_dev_start(io->port);
	if (r < 0) {
		nf_io_log(NF_IO_LOG_ERROR, "port %u (%s) failed to start: %s; "
			  "check NETFUSE_DEV", io->port, io->driver,
			  rte_strerror(-r));
		goto fail;
	}
	io->port_started = 1;

	if (cfg->tap_iface[0] && cfg->tap_addr_be &&
	    strcmp(io->driver, "net_tap") == 0) {
		r = nf_io_kif_setup(cfg->tap_iface, cfg->tap_addr_be,
				    cfg->tap_prefix_len);
		if (r < 0)
			nf_io_log(NF_IO_LOG_WARN, "cannot give %s its address "
				  "(NETFUSE_TAP_ADDR): %s; kernel clients will "
				  "not reach the stack", cfg->tap_iface,
				  strerror(-r));
	}
	if (cfg->tap_iface[0] && cfg->tap_prefix6_len &&
	    strcmp(io->driver, "net_tap") == 0) {
		/* after the IPv4 step brought it up; a kernel without IPv6
		 * (disable_ipv6) refuses: IPv4 still works, so only at info */
		r = nf_io_kif_setup6(cfg->tap_iface, cfg->tap_addr6,
				     cfg->tap_prefix6_len);
		if (r < 0)
			nf_io_log(NF_IO_LOG_INFO, "cannot give %s its IPv6 "
				  "address (NETFUSE_TAP_ADDR6): %s; kernel "
				  "clients reach the stack over IPv4 only",
				  cfg->tap_iface, strerror(-r));
	}

	if (strcmp(io->driver, "net_tap") == 0 && cfg->tap_iface[0]) {
		r = nf_io_tapsig_start(cfg->tap_iface);
		if (r <= 0)
			nf_io_log(NF_IO_LOG_WARN, "net_tap's rx signals could not "
				  "be kept from the program's threads (%s): "
				  "blocking calls may see EINTR",
				  r < 0 ? strerror(-r) : "no tun fd found");
		else
			io->tapsig = 1;
	}
	io->caps = caps_of(io);
	sym_key(key, sizeof(key));
	reta_size = io->rss_on ? reta_get(io, reta) : 0;
	for (i = 0; i < io->nb_queues; i++) {
		queue_info(io, io->q[i], key, reta, reta_size);
		r = nf_io_wake_setup(io, io->q[i]);
		if (r < 0) {
			nf_io_log(NF_IO_LOG_ERROR, "queue %u: no wake-up fd: %s",
				  i, strerror(-r));
			goto fail;
		}
	}
	nf_io_capture_open(io);  /* failure logged; capture stays off */
	if (nf_io_tel_register(io) < 0)
		nf_io_log(NF_IO_LOG_WARN, "telemetry commands /netfuse/* not "
			  "registered");
	io->startup_ns = now_ns() - t0;
	nf_io_log(NF_IO_LOG_INFO, "port %u (%s) up: %u queue(s), %u buffers, "
		  "caps 0x%x, wake %s, started in %.1f ms", io->port,
		  io->driver, io->nb_queues, io->pool_n, io->caps,
		  io->q[0]->wake == NF_IO_WAKE_INTR ? "rx-intr" :
		  io->q[0]->wake == NF_IO_WAKE_MEMIF ? "memif-intr" : "timerfd",
		  (double)io->startup_ns / 1e6);
	the_io = io;
	*out = io;
	return 0;
fail:
	teardown(io, NULL);
	return r < 0 ? r : -EIO;
}

struct nf_io_ops *nf_io_queue(struct nf_io *io, uint16_t q)
{
	if (io == NULL || q >= io->nb_queues || io->q[q] == NULL)
		return NULL;
	return &io->q[q]->ops;
}

uint16_t nf_io_nb_queues(const struct nf_io *io)
{
	return io->nb_queues;
}

void nf_io_fork_child(void)
{
	RTE_PER_LCORE(_lcore_id) = LCORE_ID_ANY;
	nf_io_tapsig_forget();
}

int nf_io_takeover(void)
{
	struct nf_io *io = the_io;
	if (io == NULL)
		return -ENODEV;
	/* net_tap's per-frame signal (its rx trigger) now comes here: the
	 * process it went to is gone */
	if (io->tapsig && nf_io_tapsig_start(io->cfg.tap_iface) <= 0)
		return -EAGAIN;
	return 0;
}

int nf_io_link_up(const struct nf_io *io)
{
	struct rte_eth_link l;

	memset(&l, 0, sizeof(l));
	if (rte_eth_link_get_nowait(io->port, &l) < 0)
		return 0;
	return l.link_status == RTE_ETH_LINK_UP;
}

uint64_t nf_io_startup_ns(const struct nf_io *io)
{
	return io->startup_ns;
}

uint64_t nf_io_eal_ns(const struct nf_io *io)
{
	return io->eal_ns;
}

const struct nf_io_config *nf_io_config(const struct nf_io *io)
{
	return &io->cfg;
}

const struct nf_io_qstats *nf_io_queue_stats(const struct nf_io *io,
					     uint16_t q)
{
	if (q >= io->nb_queues || io->q[q] == NULL)
		return NULL;
	return &io->q[q]->st;
}

const char *nf_io_runtime_dir(const struct nf_io *io)
{
	(void)io;
	return rte_eal_get_runtime_dir();
}

uint32_t nf_io_bufs_in_use(struct nf_io *io)
{
	uint32_t n = 0;
	unsigned i;

	for (i = 0; i < io->nb_queues; i++)
		if (io->q[i] && io->q[i]->cache)
			rte_mempool_cache_flush(io->q[i]->cache, io->q[i]->mp);
	for (i = 0; i < NF_IO_MAX_SOCKETS; i++)
		if (io->pools[i])
			n += rte_mempool_in_use_count(io->pools[i]);
	return n;
}

static void teardown(struct nf_io *io, uint32_t *leaked)
{
	uint32_t in_use = 0;
	unsigned i;

	nf_io_tel_unregister(io);
	if (io->port_started) {
		rte_eth_dev_stop(io->port);
		io->port_started = 0;
	}
	for (i = 0; i < io->nb_queues; i++)
		if (io->q[i]) {
			nf_io_wake_release(io->q[i]);
			nf_io_queue_release(io->q[i]);
		}
	if (io->port < RTE_MAX_ETHPORTS)
		rte_eth_dev_close(io->port);  /* drivers free their rings */
	if (io->tapsig)
		nf_io_tapsig_stop();
	nf_io_capture_close(io);
	for (i = 0; i < NF_IO_MAX_SOCKETS; i++)
		if (io->pools[i])
			in_use += rte_mempool_in_use_count(io->pools[i]);
	if (leaked)
		*leaked = in_use;
	if (in_use)
		nf_io_log(NF_IO_LOG_WARN, "%u packet buffers not returned to "
			  "the pool at shutdown", in_use);
	for (i = 0; i < NF_IO_MAX_SOCKETS; i++)
		if (io->pools[i] && in_use == 0)
			rte_mempool_free(io->pools[i]);
	for (i = 0; i < io->nb_queues; i++)
		rte_free(io->q[i]);
	rte_eal_cleanup();
	run_dir_remove();
	free(io);
}

int nf_io_fini(struct nf_io *io, uint32_t *leaked)
{
	uint32_t n = 0;

	if (io == NULL || io != the_io)
		return -EINVAL;
	teardown(io, &n);
	the_io = NULL;
	if (leaked)
		*leaked = n;
	return n ? -EBUSY : 0;
}
