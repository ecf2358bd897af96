/*
 * bench_io.c: packets per second through io/ alone, one way, 64-byte
 * frames, over a net_memif pair between two processes (one core each):
 *
 *   sender (memif client, CPU 0): alloc -> write 60 bytes -> tx_burst
 *   receiver (memif server, CPU 1): rx_burst -> free
 *
 * Both go through the nf_io_ops table exactly as stack/ would, so this is
 * io/'s cost plus DPDK's memif copy. Needs root (EAL, memif socket).
 *
 *   bench_io [seconds=5] [burst=32]
 *
 * Ends with: RESULT bench-io rx_pps=... tx_pps=... rx_mpps=... burst=...
 * startup_ms=...
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"

#define WARMUP_NS 1000000000ull

struct shared {
	volatile int rx_ready, tx_ready, go;
	volatile uint64_t rx_pkts, rx_ns, tx_pkts, tx_ns, tx_full;
	volatile uint64_t rx_startup_ns, tx_startup_ns;
	volatile int rx_ok, tx_ok;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("sched_setaffinity");
}

static struct nf_io *start(const char *role, const char *sock)
{
	struct nf_io_config cfg;
	struct nf_io *io;
	char dev[256];
	uint64_t end;

	snprintf(dev, sizeof(dev),
		 "--vdev=net_memif0,role=%s,socket=%s,rsize=11", role, sock);
	setenv("NETFUSE_DEV", dev, 1);
	if (nf_io_config_from_env(&cfg) < 0)
		return NULL;
	if (nf_io_init(&io, &cfg, 4096) < 0)
		return NULL;
	end = now_ns() + 10000000000ull;
	while (!nf_io_link_up(io) && now_ns() < end)
		usleep(1000);
	if (!nf_io_link_up(io)) {
		fprintf(stderr, "bench_io %s: memif link did not come up\n",
			role);
		nf_io_fini(io, NULL);
		return NULL;
	}
	return io;
}

static int receiver(struct shared *sh, const char *sock, uint64_t run_ns)
{
	struct nf_io *io;
	struct nf_io_ops *o;
	struct nf_buf *b[64];
	uint64_t t_start, t_meas = 0, n_meas = 0, t_end, t;
	uint32_t leaked = 0;

	pin(1);
	io = start("server", sock);
	if (io == NULL)
		return 1;
	o = nf_io_queue(io, 0);
	sh->rx_startup_ns = nf_io_startup_ns(io);
	sh->rx_ready = 1;
	while (!sh->go)
		;
	t_start = now_ns();
	t_end = t_start + WARMUP_NS + run_ns + 200000000ull;
	for (;;) {
		uint16_t n = o->rx_burst(o->q, b, 64), i;

		for (i = 0; i < n; i++)
			o->free(o->q, b[i]);
		if (t_meas) {
			n_meas += n;
		}
		/* check the clock every so often, not per burst */
		if ((n_meas & 0xff) == 0 || n == 0) {
			t = now_ns();
			if (!t_meas && t - t_start >= WARMUP_NS) {
				t_meas = t;
				n_meas = 0;
			} else if (t_meas && t - t_meas >= run_ns) {
				sh->rx_pkts = n_meas;
				sh->rx_ns = t - t_meas;
				break;
			}
			if (t > t_end)
				break;
		}
	}
	/* drain what is still coming, then check buffers */
	t = now_ns();
	while (now_ns() - t < 300000000ull) {
		uint16_t n = o->rx_burst(o->q, b, 64), i;

		for (i = 0; i < n; i++)
			o->free(o->q, b[i]);
	}
	sh->rx_ok = nf_io_fini(io, &leaked) == 0 && leaked == 0;
	return sh->rx_ok ? 0 : 1;
}

static int sender(struct shared *sh, const char *sock, uint64_t run_ns,
		  uint16_t burst)
{
	struct nf_io *io;
	struct nf_io_ops *o;
	struct nf_buf *b[64];
	uint64_t t_start, t_end, sent = 0, full = 0;
	uint32_t leaked = 0;
	uint16_t i, have = 0;

	pin(0);
	io = start("client", sock);
	if (io == NULL)
		return 1;
	o = nf_io_queue(io, 0);
	sh->tx_startup_ns = nf_io_startup_ns(io);
	sh->tx_ready = 1;
	while (!sh->go)
		;
	t_start = now_ns();
	t_end = t_start + WARMUP_NS + run_ns + 100000000ull;
	while (now_ns() < t_end) {
		unsigned k;

		for (k = 0; k < 64; k++) {
			uint16_t n;

			while (have < burst) {
				struct nf_buf *x = o->alloc(o->q);
				uint8_t *f;

				if (x == NULL)
					break;
				f = x->data;
				memset(f, 0xff, 6);
				memcpy(f + 6, o->mac, 6);
				f[12] = 0x88;
				f[13] = 0xb5;
				memset(f + 14, 0, 46);
				x->len = x->pkt_len = 60;  /* 64 with the FCS */
				b[have++] = x;
			}
			n = o->tx_burst(o->q, b, have);
			sent += n;
			if (n < have) {
				full++;
				memmove(b, b + n, (have - n) * sizeof(*b));
			}
			have = (uint16_t)(have - n);
		}
	}
	sh->tx_pkts = sent;
	sh->tx_ns = now_ns() - t_start;
	sh->tx_full = full;
	for (i = 0; i < have; i++)
		o->free(o->q, b[i]);
	usleep(400000);  /* let the receiver drain before the link goes */
	sh->tx_ok = nf_io_fini(io, &leaked) == 0 && leaked == 0;
	return sh->tx_ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
	unsigned burst = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
	struct shared *sh;
	char sock[64];
	pid_t rx, tx;
	int st, rc = 0;
	double rx_pps, tx_pps;
	uint64_t run_ns;

	if (geteuid() != 0) {
		printf("bench_io: needs root (EAL, memif)\n");
		return 77;
	}
	if (secs == 0 || secs > 60)
		secs = 5;
	if (burst == 0 || burst > 64)
		burst = 32;
	run_ns = (uint64_t)secs * 1000000000ull;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	snprintf(sock, sizeof(sock), "/netfuse-bench-io-%d.sock", (int)getpid());
	setenv("NETFUSE_LOG", "error", 0);
	fflush(stdout);
	rx = fork();
	if (rx == 0) {
		alarm(secs + 40);
		_exit(receiver(sh, sock, run_ns));
	}
	usleep(200000);
	tx = fork();
	if (tx == 0) {
		alarm(secs + 40);
		_exit(sender(sh, sock, run_ns, (uint16_t)burst));
	}
	{
		uint64_t end = now_ns() + 30000000000ull;

		while ((!sh->rx_ready || !sh->tx_ready) && now_ns() < end)
			usleep(1000);
	}
	if (!sh->rx_ready || !sh->tx_ready) {
		fprintf(stderr, "bench_io: sides did not start\n");
		kill(rx, SIGKILL);
		kill(tx, SIGKILL);
		rc = 1;
	}
	sh->go = 1;
	while (waitpid(-1, &st, 0) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	rx_pps = sh->rx_ns ? (double)sh->rx_pkts * 1e9 / (double)sh->rx_ns : 0;
	tx_pps = sh->tx_ns ? (double)sh->tx_pkts * 1e9 / (double)sh->tx_ns : 0;
	printf("%-34s %12s\n", "io/ over net_memif, 64 B frames", "pps");
	printf("%-34s %12.0f\n", "sender tx_burst (incl. warm-up)", tx_pps);
	printf("%-34s %12.0f\n", "receiver rx_burst (measured)", rx_pps);
	printf("sender bursts not fully taken: %lu\n",
	       (unsigned long)sh->tx_full);
	printf("start-up: receiver %.1f ms, sender %.1f ms\n",
	       sh->rx_startup_ns / 1e6, sh->tx_startup_ns / 1e6);
	printf("buffers returned: receiver %s, sender %s\n",
	       sh->rx_ok ? "all" : "NOT ALL", sh->tx_ok ? "all" : "NOT ALL");
	printf("RESULT bench-io rx_pps=%.0f tx_pps=%.0f rx_mpps=%.2f "
	       "burst=%u frame_bytes=64 startup_ms=%.1f ok=%d\n", rx_pps,
	       tx_pps, rx_pps / 1e6, burst, sh->rx_startup_ns / 1e6, !rc);
	return rc;
}
