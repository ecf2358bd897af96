/*
 * capture.c: pcapng capture of the netfuse port: from the start
 * (NETFUSE_PCAP=file) or attached to a running process (telemetry
 * /netfuse/capture, what `netfuse capture PID -w FILE` sends). Every frame
 * received or sent by any queue is copied, with its CLOCK_REALTIME time
 * and direction, into an enhanced packet block (io/pcapng.c), and a
 * burst's blocks are written with one write() under one lock. Capture
 * costs a copy and a write per burst: for debugging, not benchmarks.
 *
 * Called from io/queue.c's rx and tx paths, which look at io->pcap
 * without the lock; the lock is taken (and capture rechecked) to write,
 * so a capture stopped meanwhile only drops the burst in hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/io_priv.h"
#include "io/pcapng.h"

struct nf_cap {
	int fd;
	uint64_t left;      /* packets still wanted (UINT64_MAX: no limit) */
	char path[NF_IO_STR_MAX];
};

/* a burst copied before the frames go (rx: to the stack, tx: to the
 * device): blocks back to back, off[i] where frame i's block ends */
struct nf_cap_stage {
	uint16_t n;
	uint32_t off[NF_IO_BURST_MAX];
	uint8_t *buf;
};

void nf_io_capture_init(struct nf_io *io)
{
	rte_spinlock_init(&io->pcap_lock);
	io->pcap = NULL;
}

/* lock held */
static void cap_stop_locked(struct nf_io *io)
{
	struct nf_cap *c = io->pcap;
	if (!c)
		return;
	__atomic_store_n(&io->pcap, NULL, __ATOMIC_RELEASE);
	close(c->fd);
	nf_io_log(NF_IO_LOG_INFO, "capture to %s stopped: %llu packets",
		  c->path, (unsigned long long)io->pcap_pkts);
	free(c);
}

int nf_io_capture_start(struct nf_io *io, const char *path, uint64_t count,
			char *err, size_t errlen)
{
	uint8_t head[NF_PCAPNG_HEAD_LEN];
	struct nf_cap *c;
	int fd, e;

	if (!path[0] || strlen(path) >= sizeof(c->path)) {
		snprintf(err, errlen, "capture file name empty or too long");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(c);
		return -e;
	}
	nf_pcapng_head(head);
	if (write(fd, head, sizeof(head)) != (ssize_t)sizeof(head)) {
		e = errno ? errno : EIO;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		free(c);
		return -e;
	}
	c->fd = fd;
	c->left = count ? count : UINT64_MAX;
	snprintf(c->path, sizeof(c->path), "%s", path);
	rte_spinlock_lock(&io->pcap_lock);
	cap_stop_locked(io); /* one capture at a time: the new one wins */
	io->pcap_pkts = io->pcap_drops = 0;
	__atomic_store_n(&io->pcap, c, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&io->pcap_lock);
	nf_io_log(NF_IO_LOG_INFO, "capturing port %u to %s", io->port, path);
	return 0;
}

void nf_io_capture_stop(struct nf_io *io)
{
	rte_spinlock_lock(&io->pcap_lock);
	cap_stop_locked(io);
	rte_spinlock_unlock(&io->pcap_lock);
}

int nf_io_capture_status(struct nf_io *io, char *path, size_t len,
			 uint64_t *pkts, uint64_t *drops)
{
	int on;
	rte_spinlock_lock(&io->pcap_lock);
	on = io->pcap != NULL;
	snprintf(path, len, "%s", on ? ((struct nf_cap *)io->pcap)->path : "");
	*pkts = io->pcap_pkts;
	*drops = io->pcap_drops;
	rte_spinlock_unlock(&io->pcap_lock);
	return on;
}

int nf_io_capture_open(struct nf_io *io)
{
	char err[NF_IO_ERR_MAX];
	int r;
	nf_io_capture_init(io);
	if (io->cfg.pcap[0] == '\0')
		return 0;
	r = nf_io_capture_start(io, io->cfg.pcap, 0, err, sizeof(err));
	if (r < 0)
		nf_io_log(NF_IO_LOG_ERROR, "NETFUSE_PCAP: %s; capture off", err);
	return r;
}

void *nf_io_capture_copy(struct rte_mbuf **m, uint16_t n, int tx)
{
	struct nf_cap_stage *s;
	struct timespec ts;
	uint64_t now;
	size_t total = 0, o = 0;
	uint16_t i;

	if (n > NF_IO_BURST_MAX)
		n = NF_IO_BURST_MAX;
	for (i = 0; i < n; i++)
		total += NF_PCAPNG_EPB_LEN(m[i]->pkt_len);
	s = malloc(sizeof(*s) + total);
	if (!s)
		return NULL;
	s->buf = (uint8_t *)(s + 1);
	s->n = n;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *seg;
		uint8_t *d = s->buf + o + 28;
		for (seg = m[i]; seg; seg = seg->next) {
			memcpy(d, rte_pktmbuf_mtod(seg, const void *),
			       seg->data_len);
			d += seg->data_len;
		}
		o += nf_pcapng_epb(s->buf + o, m[i]->pkt_len, m[i]->pkt_len,
				   now, tx);
		s->off[i] = (uint32_t)o;
	}
	return s;
}

void nf_io_capture_write(struct nf_io *io, void *stage, uint16_t keep)
{
	struct nf_cap_stage *s = stage;
	struct nf_cap *c;

	if (!s) { /* no memory for the copy */
		rte_spinlock_lock(&io->pcap_lock);
		io->pcap_drops += keep;
		rte_spinlock_unlock(&io->pcap_lock);
		return;
	}
	if (keep > s->n)
		keep = s->n;
	rte_spinlock_lock(&io->pcap_lock);
	c = io->pcap;
	if (c && keep) {
		uint64_t k = keep < c->left ? keep : c->left;
		size_t bytes = s->off[k - 1];
		if (write(c->fd, s->buf, bytes) == (ssize_t)bytes)
			io->pcap_pkts += k;
		else
			io->pcap_drops += k;
		c->left -= k;
		if (c->left == 0) /* -c N: done */
			cap_stop_locked(io);
	}
	rte_spinlock_unlock(&io->pcap_lock);
	free(s);
}

void nf_io_capture_close(struct nf_io *io)
{
	nf_io_capture_stop(io);
}
