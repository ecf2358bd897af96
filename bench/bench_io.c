/*
 * bench_io.c: packets per second through io/ alone, one way, 64-byte
 * frames, over a net_memif pair between two processes (one core each):
 *
 *   sender (memif client, CPU 0): alloc -> write 60 bytes -> tx_burst
 *   receiver (memif server, CPU 1): rx_burst -> free
 *
 * Both go through the nf_io_ops table exactly as stack/ would, so this is
 * io/'s cost plus DPDK's memif copy. First, in a process of its own, io/'s
 * cost per frame on net_null (one core, no peer: steadier than the pair
 * on a shared machine). Needs root (EAL, memif socket).
 *
 *   bench_io [seconds=5] [burst=32]
 *
 * Then the same link with stack/ on both sides: a UDP socket sending
 * 18-byte datagrams (60-byte frames) through ns_sendmsg, received through
 * ns_stack_poll + ns_recv on the other side (datagrams/s at the receiving
 * application).
 *
 * Ends with: RESULT bench-io rx_pps=... tx_pps=... rx_mpps=...
 * stack_udp_rx_pps=... burst=... null_rx_ns=... null_tx_ns=...
 * startup_ms=... ok=...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"
#include "stack/stack.h"

#define WARMUP_NS 1000000000ull

struct shared {
	volatile int rx_ready, tx_ready, go;
	volatile uint64_t rx_pkts, rx_ns, tx_pkts, tx_ns, tx_full;
	volatile uint64_t rx_startup_ns, tx_startup_ns;
	volatile int rx_ok, tx_ok;
	volatile uint64_t null_rx_ns, null_tx_ns;  /* per 1000 frames */
	/* phase 3: UDP through stack/ on both sides */
	volatile int srx_ready, stx_ready, sgo, srx_ok, stx_ok;
	volatile uint64_t srx_dgrams, srx_ns, stx_dgrams, stx_ns;
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
	setenv("NETFUSE_QUEUES", "1", 1); /* one queue measured */
	if (nf_io_config_from_env(&cfg) < 0)
		return NULL;
	if (nf_io_init(&io, &cfg, 4096) < 0) {
		fprintf(stderr, "bench_io %s: io/ did not start\n", role);
		return NULL;
	}
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

/* Single core, no peer: io/'s own cost per frame on net_null (which makes
 * up rx frames and drops tx frames at almost no cost). */
static int null_costs(struct shared *sh)
{
	struct nf_io_config cfg;
	struct nf_io *io;
	struct nf_io_ops *o;
	struct nf_buf *b[32];
	uint64_t t0, n = 0, i;
	uint16_t k, j;

	pin(1);
	setenv("NETFUSE_DEV", "--vdev=net_null0", 1);
	setenv("NETFUSE_QUEUES", "1", 1); /* one queue measured */
	if (nf_io_config_from_env(&cfg) < 0 || nf_io_init(&io, &cfg, 1024) < 0)
		return 1;
	o = nf_io_queue(io, 0);
	for (i = 0; i < 2; i++) {  /* second round measured */
		t0 = now_ns();
		for (n = 0; n < 20000000;) {
			k = o->rx_burst(o->q, b, 32);
			for (j = 0; j < k; j++)
				o->free(o->q, b[j]);
			n += k;
		}
		sh->null_rx_ns = (now_ns() - t0) * 1000 / n;
		t0 = now_ns();
		for (n = 0; n < 20000000;) {
			for (k = 0; k < 32; k++) {
				b[k] = o->alloc(o->q);
				b[k]->len = b[k]->pkt_len = 60;
			}
			k = o->tx_burst(o->q, b, 32);
			for (j = k; j < 32; j++)
				o->free(o->q, b[j]);
			n += 32;
		}
		sh->null_tx_ns = (now_ns() - t0) * 1000 / n;
	}
	return nf_io_fini(io, NULL) == 0 ? 0 : 1;
}

/* ---- phase 3: the same link with stack/ on both sides ------------------
 * sender app -> ns_sendmsg (UDP, 18-byte payload: 60-byte frames) ->
 * stack tx -> io/ -> memif -> io/ -> stack rx (ns_stack_poll) -> ns_recv.
 * Datagrams the receiving application got, per second. */

static struct ns_stack *stack_up(struct nf_io_ops *o, const char *ip,
				 void **mem)
{
	struct ns_config sc;
	size_t sz;

	ns_config_default(&sc);
	sc.ip_be = inet_addr(ip);
	sc.prefix_len = 24;
	sc.seed = 7;
	sc.udp_rcvbuf = 4u << 20;
	sz = ns_stack_size(&sc);
	*mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (*mem == NULL)
		return NULL;
	return ns_stack_init(*mem, sz, &sc, o, now_ns());
}

static int stack_udp(struct ns_stack *st, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int sd = ns_socket(st, SOCK_DGRAM);

	a.sin_port = htons(port);
	if (sd < 0 || ns_bind(st, sd, &a) < 0)
		return -1;
	return sd;
}

static int stack_receiver(struct shared *sh, const char *sock,
			  uint64_t run_ns)
{
	struct nf_io *io;
	struct nf_io_ops *o;
	struct ns_stack *st;
	struct nf_buf *b[64];
	uint64_t t_start, t_meas = 0, n_meas = 0, t, polls = 0;
	uint32_t leaked = 0;
	uint8_t buf[2048];
	void *mem;
	int sd;

	pin(1);
	io = start("server", sock);
	if (io == NULL)
		return 1;
	o = nf_io_queue(io, 0);
	st = stack_up(o, "198.18.0.2", &mem);
	sd = st ? stack_udp(st, 9) : -1;
	if (sd < 0) {
		fprintf(stderr, "bench_io: receiver: stack/ did not start\n");
		nf_io_fini(io, NULL);
		return 1;
	}
	sh->srx_ready = 1;
	while (!sh->sgo)
		ns_stack_rx_poll(st, now_ns());  /* answer the sender's ARP */
	t_start = now_ns();
	for (;;) {
		uint16_t n = o->rx_burst(o->q, b, 64);

		t = now_ns();
		ns_stack_poll(st, b, n, t);
		while (ns_recv(st, sd, buf, sizeof(buf), 0) >= 0)
			n_meas++;
		if (!t_meas && t - t_start >= WARMUP_NS) {
			t_meas = t;
			n_meas = 0;
		} else if (t_meas && t - t_meas >= run_ns) {
			sh->srx_dgrams = n_meas;
			sh->srx_ns = t - t_meas;
			break;
		}
		if (t - t_start > WARMUP_NS + run_ns + 2000000000ull)
			break;
		polls++;
	}
	t = now_ns();
	while (now_ns() - t < 300000000ull) {
		ns_stack_rx_poll(st, now_ns());
		while (ns_recv(st, sd, buf, sizeof(buf), 0) >= 0)
			;
	}
	ns_stack_fini(st);
	free(mem);
	sh->srx_ok = nf_io_fini(io, &leaked) == 0 && leaked == 0;
	if (leaked)
		fprintf(stderr, "bench_io: stack receiver: %u buffers not "
			"returned\n", leaked);
	(void)polls;
	return sh->srx_ok ? 0 : 1;
}

static int stack_sender(struct shared *sh, const char *sock,
			uint64_t run_ns)
{
	struct nf_io *io;
	struct nf_io_ops *o;
	struct ns_stack *st;
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t payload[18] = "netfuse bench-io";
	struct iovec iov = { payload, sizeof(payload) };
	uint64_t t_start, t_end, sent = 0;
	uint32_t leaked = 0;
	void *mem;
	int sd, k;

	pin(0);
	io = start("client", sock);
	if (io == NULL)
		return 1;
	o = nf_io_queue(io, 0);
	st = stack_up(o, "198.18.0.1", &mem);
	sd = st ? stack_udp(st, 5000) : -1;
	if (sd < 0) {
		fprintf(stderr, "bench_io: sender: stack/ did not start\n");
		nf_io_fini(io, NULL);
		return 1;
	}
	to.sin_addr.s_addr = inet_addr("198.18.0.2");
	to.sin_port = htons(9);
	sh->stx_ready = 1;
	while (!sh->sgo)
		ns_stack_rx_poll(st, now_ns());
	/* resolve the receiver's MAC first (the stack queues meanwhile) */
	ns_sendmsg(st, sd, &iov, 1, 0, &to);
	t_end = now_ns() + 1000000000ull;
	while (now_ns() < t_end && ns_stack_counters(st)->arp_requests_sent &&
	       ns_stack_counters(st)->tx_frames < 2)
		ns_stack_rx_poll(st, now_ns());
	t_start = now_ns();
	t_end = t_start + WARMUP_NS + run_ns + 100000000ull;
	while (now_ns() < t_end) {
		for (k = 0; k < 64; k++)
			if (ns_sendmsg(st, sd, &iov, 1, 0, &to) > 0)
				sent++;
		ns_stack_rx_poll(st, now_ns());
	}
	sh->stx_dgrams = sent;
	sh->stx_ns = now_ns() - t_start;
	t_end = now_ns() + 400000000ull;
	while (now_ns() < t_end)
		ns_stack_rx_poll(st, now_ns());
	ns_stack_fini(st);
	free(mem);
	sh->stx_ok = nf_io_fini(io, &leaked) == 0 && leaked == 0;
	if (leaked)
		fprintf(stderr, "bench_io: stack sender: %u buffers not "
			"returned\n", leaked);
	return sh->stx_ok ? 0 : 1;
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
		alarm(60);
		_exit(null_costs(sh));
	}
	if (waitpid(rx, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		rc = 1;
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

	/* phase 3: stack/ on both sides */
	snprintf(sock, sizeof(sock), "/netfuse-bench-io-s%d.sock",
		 (int)getpid());
	rx = fork();
	if (rx == 0) {
		alarm(secs + 40);
		_exit(stack_receiver(sh, sock, run_ns));
	}
	usleep(200000);
	tx = fork();
	if (tx == 0) {
		alarm(secs + 40);
		_exit(stack_sender(sh, sock, run_ns));
	}
	{
		uint64_t end = now_ns() + 30000000000ull;

		while ((!sh->srx_ready || !sh->stx_ready) && now_ns() < end)
			usleep(1000);
	}
	if (!sh->srx_ready || !sh->stx_ready) {
		fprintf(stderr, "bench_io: stack sides did not start\n");
		kill(rx, SIGKILL);
		kill(tx, SIGKILL);
		rc = 1;
	}
	sh->sgo = 1;
	while (waitpid(-1, &st, 0) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	rx_pps = sh->rx_ns ? (double)sh->rx_pkts * 1e9 / (double)sh->rx_ns : 0;
	tx_pps = sh->tx_ns ? (double)sh->tx_pkts * 1e9 / (double)sh->tx_ns : 0;
	printf("%-34s %12s\n", "io/ over net_memif, 64 B frames", "pps");
	printf("%-34s %12.0f\n", "sender tx_burst (incl. warm-up)", tx_pps);
	printf("%-34s %12.0f\n", "receiver rx_burst (measured)", rx_pps);
	printf("%-34s %12.1f\n", "io/ rx_burst+free on net_null, ns",
	       sh->null_rx_ns / 1000.0);
	printf("%-34s %12.1f\n", "io/ alloc+tx_burst on net_null, ns",
	       sh->null_tx_ns / 1000.0);
	printf("%-34s %12.0f\n", "with stack/: UDP datagrams received",
	       sh->srx_ns ? (double)sh->srx_dgrams * 1e9 /
			    (double)sh->srx_ns : 0.0);
	printf("%-34s %12.0f\n", "with stack/: UDP datagrams sent",
	       sh->stx_ns ? (double)sh->stx_dgrams * 1e9 /
			    (double)sh->stx_ns : 0.0);
	printf("sender bursts not fully taken: %lu\n",
	       (unsigned long)sh->tx_full);
	printf("start-up: receiver %.1f ms, sender %.1f ms\n",
	       sh->rx_startup_ns / 1e6, sh->tx_startup_ns / 1e6);
	printf("buffers returned: receiver %s, sender %s\n",
	       sh->rx_ok ? "all" : "NOT ALL", sh->tx_ok ? "all" : "NOT ALL");
	printf("buffers returned with stack/: receiver %s, sender %s\n",
	       sh->srx_ok ? "all" : "NOT ALL", sh->stx_ok ? "all" : "NOT ALL");
	printf("RESULT bench-io rx_pps=%.0f tx_pps=%.0f rx_mpps=%.2f "
	       "stack_udp_rx_pps=%.0f burst=%u frame_bytes=64 "
	       "null_rx_ns=%.1f null_tx_ns=%.1f startup_ms=%.1f ok=%d\n",
	       rx_pps, tx_pps, rx_pps / 1e6,
	       sh->srx_ns ? (double)sh->srx_dgrams * 1e9 /
			    (double)sh->srx_ns : 0.0,
	       burst, sh->null_rx_ns / 1000.0, sh->null_tx_ns / 1000.0,
	       sh->rx_startup_ns / 1e6, !rc);
	return rc;
}
