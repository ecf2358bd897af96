/*
 * capture.c: pcapng capture of the netfuse port (NETFUSE_PCAP=file),
 * through librte_pcapng: every frame received or sent by any queue is
 * copied (rte_pcapng_copy, into a small pool of its own) and written to
 * the file under one lock. Capture costs a copy and a write() per burst;
 * it is for debugging, not for benchmarks.
 *
 * Opened by io/port.c once the port exists (the file's interface blocks
 * name the ports); called from io/queue.c's rx and tx paths.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "io/io_priv.h"

#include <rte_cycles.h>
#include <rte_pcapng.h>

#define PCAP_POOL 1023

int nf_io_capture_open(struct nf_io *io)
{
	int fd;

	rte_spinlock_init(&io->pcap_lock);
	io->pcap_fd = -1;
	if (io->cfg.pcap[0] == '\0')
		return 0;
	fd = open(io->cfg.pcap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		int e = errno;

		nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_PCAP='%s': %s; capture off",
			  io->cfg.pcap, strerror(e));
		return -e;
	}
	io->pcap_mp = rte_pktmbuf_pool_create("nf_pcap", PCAP_POOL, 0, 0,
			rte_pcapng_mbuf_size(RTE_MBUF_DEFAULT_DATAROOM),
			SOCKET_ID_ANY);
	if (io->pcap_mp == NULL) {
		nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_PCAP: no memory for the "
			  "capture pool; capture off");
		close(fd);
		return -ENOMEM;
	}
	io->pcap = rte_pcapng_fdopen(fd, NULL, NULL, "netfuse", NULL);
	if (io->pcap == NULL) {
		nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_PCAP='%s': cannot start "
			  "a pcapng file; capture off", io->cfg.pcap);
		rte_mempool_free(io->pcap_mp);
		io->pcap_mp = NULL;
		close(fd);
		return -EIO;
	}
	io->pcap_fd = fd;
	nf_io_log(NF_IO_LOG_INFO, "capturing port %u to %s", io->port,
		  io->cfg.pcap);
	return 0;
}

void nf_io_capture_copy(struct nf_io *io, uint16_t qid,
			struct rte_mbuf **m, uint16_t n, int tx,
			struct rte_mbuf **cp)
{
	uint64_t now = rte_get_tsc_cycles();
	uint16_t i;

	for (i = 0; i < n; i++)
		cp[i] = rte_pcapng_copy(io->port, qid, m[i], io->pcap_mp,
					UINT32_MAX, now,
					tx ? RTE_PCAPNG_DIRECTION_OUT :
					     RTE_PCAPNG_DIRECTION_IN);
}

void nf_io_capture_write(struct nf_io *io, struct rte_mbuf **cp,
			 uint16_t n, uint16_t keep)
{
	struct rte_mbuf *w[256];
	uint16_t i, k = 0;
	uint64_t drops = 0;

	for (i = 0; i < n; i++) {
		if (cp[i] == NULL) {
			if (i < keep)
				drops++;
			continue;
		}
		if (i < keep && k < RTE_DIM(w)) {
			w[k++] = cp[i];
		} else {
			if (i < keep)
				drops++;
			rte_pktmbuf_free(cp[i]);
		}
	}
	rte_spinlock_lock(&io->pcap_lock);
	io->pcap_drops += drops;
	if (k) {
		if (rte_pcapng_write_packets(io->pcap, w, k) < 0)
			io->pcap_drops += k;
		else
			io->pcap_pkts += k;
	}
	rte_spinlock_unlock(&io->pcap_lock);
}

void nf_io_capture_close(struct nf_io *io)
{
	if (io->pcap) {
		rte_pcapng_close(io->pcap);  /* closes the fd */
		io->pcap = NULL;
		io->pcap_fd = -1;
	}
	if (io->pcap_mp) {
		rte_mempool_free(io->pcap_mp);
		io->pcap_mp = NULL;
	}
}
