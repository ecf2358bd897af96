/*
 * itest_memif.c: two processes exchange frames over a net_memif pair
 * through io/ (the benchmark link). Needs root (memif control socket and
 * EAL as run by make test); tagged itest so only `make test` runs it.
 *
 * The parent forks a server (NETFUSE_DEV=--vdev=net_memif0,role=server,
 * socket=<abstract name>) and a client (role=client) before either starts
 * EAL. The client sends FRAMES frames: most single-segment with a known
 * pattern, every 8th a two-segment chain of 1514 bytes, every 5th a TCP
 * frame asking io/ for IPv4+TCP checksums (memif has no offloads, so io/'s
 * software fallback fills them). The server echoes everything back. The
 * client checks every echo (count, length, pattern, checksums), and both
 * sides check that every buffer came back to their pools.
 *
 * Frames stay within one memif buffer (2048 bytes): DPDK 22.11's memif
 * rx mangles frames spanning several descriptors (seen here: 3000-byte
 * chains came back duplicated and cut), which a 1500 MTU never needs.
 *
 * Exit 0 on success, 1 on failure, 77 when not root.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"

#define FRAMES 20000
#define WINDOW 256

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int start(const char *role, const char *sock, struct nf_io **io)
{
	struct nf_io_config cfg;
	char dev[256];

	snprintf(dev, sizeof(dev), "--vdev=net_memif0,role=%s,socket=%s",
		 role, sock);
	setenv("NETFUSE_DEV", dev, 1);
	setenv("NETFUSE_HUGE", "off", 1);
	if (nf_io_config_from_env(&cfg) < 0)
		return -1;
	return nf_io_init(io, &cfg, 2048);
}

static int finish(struct nf_io *io, const char *who)
{
	uint32_t leaked = 0;
	int r = nf_io_fini(io, &leaked);

	printf("%s: buffers not returned: %u\n", who, leaked);
	return r == 0 && leaked == 0 ? 0 : 1;
}

/* ---- server: echo until the client says stop (a frame of type 0x88b6
 * with payload "STOP") or 40 s pass ---- */
static int server(const char *sock)
{
	struct nf_io *io;
	struct nf_io_ops *o;
	struct nf_buf *b[64];
	uint64_t end = now_ns() + 40000000000ull, echoed = 0, sleeps = 0;
	unsigned idle = 0;
	int stop = 0;

	if (start("server", sock, &io) < 0)
		return 1;
	o = nf_io_queue(io, 0);
	while (!stop && now_ns() < end) {
		uint16_t n = o->rx_burst(o->q, b, 64), i, sent = 0;

		/* idle: sleep on the queue's wake fd (memif: rx interrupt
		 * eventfd), the protocol of io/io.h */
		if (n == 0 && ++idle >= 64 && o->wake_arm(o->q) == 0) {
			struct pollfd p = { .fd = o->wake_fd, .events = POLLIN };

			n = o->rx_burst(o->q, b, 64);
			if (n == 0) {
				sleeps++;
				poll(&p, 1, 50);
			}
			o->wake_disarm(o->q);
		}
		if (n)
			idle = 0;

		for (i = 0; i < n; i++) {
			if (rd16(b[i]->data + 12) == 0x88b6 &&
			    memcmp(b[i]->data + 14, "STOP", 4) == 0)
				stop = 1;
			b[i]->ol_flags = 0;  /* echo the bytes as they came */
		}
		while (sent < n && now_ns() < end)
			sent = (uint16_t)(sent + o->tx_burst(o->q, b + sent,
							     n - sent));
		for (i = sent; i < n; i++)
			o->free(o->q, b[i]);
		echoed += sent;
	}
	{
		char path[64], link[64] = "?";
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->wake_fd);
		l = readlink(path, link, sizeof(link) - 1);
		link[l > 0 ? l : 0] = '\0';
		printf("server: echoed %lu frames, slept %lu times on wake "
		       "fd %d (%s)\n", (unsigned long)echoed,
		       (unsigned long)sleeps, o->wake_fd, link);
	}
	return finish(io, "server") | !stop | (sleeps == 0);
}

/* ---- client ---- */

static uint32_t frame_len(uint32_t i)
{
	if (i % 8 == 7)
		return 1514;        /* two segments, one Ethernet MTU */
	return 60 + (i * 37) % 1400;
}

/* Build frame i in b (and a second segment for the long ones). */
static int build(struct nf_io_ops *o, uint32_t i, struct nf_buf **out)
{
	struct nf_buf *b = o->alloc(o->q), *s = NULL;
	uint32_t len = frame_len(i), first, k;
	uint8_t *f;

	if (b == NULL)
		return -ENOMEM;
	first = len == 1514 ? 700 : len;
	if (len > first) {
		s = o->alloc(o->q);
		if (s == NULL) {
			o->free(o->q, b);
			return -ENOMEM;
		}
	}
	f = b->data;
	memset(f, 0xff, 6);
	memcpy(f + 6, o->mac, 6);
	if (i % 5 == 4) {
		/* TCP/IPv4, checksums left to io/ */
		uint32_t tot = len - 14;

		wr16(f + 12, 0x0800);
		memset(f + 14, 0, 40);
		f[14] = 0x45;
		wr16(f + 16, (uint16_t)tot);
		f[22] = 64;
		f[23] = 6;
		memcpy(f + 26, "\xc6\x12\x00\x02\xc6\x12\x00\x01", 8);
		wr16(f + 34, 1234);
		wr16(f + 36, 80);
		f[46] = 0x50;
		b->ol_flags = NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;
		b->l2_len = 14;
		b->l3_len = 20;
		b->l4_len = 20;
		k = 54;
	} else {
		wr16(f + 12, 0x88b5);  /* local experimental ethertype */
		k = 14;
	}
	/* sequence number then a pattern */
	for (; k < len; k++) {
		uint8_t v = (uint8_t)(i * 7 + k);

		if (k < first)
			f[k] = v;
		else
			s->data[k - first] = v;
	}
	memcpy(f + (i % 5 == 4 ? 54 : 14), &i, 4);
	b->len = first;
	b->pkt_len = len;
	if (s) {
		s->len = len - first;
		b->seg_next = s;
	}
	*out = b;
	return 0;
}

/* Check an echoed frame; returns its index or -1. */
static long check(struct nf_buf *b)
{
	uint8_t flat[4096];
	uint32_t off = 0, i, k, start;
	struct nf_buf *s;

	for (s = b; s; s = s->seg_next) {
		if (off + s->len > sizeof(flat))
			return -1;
		memcpy(flat + off, s->data, s->len);
		off += s->len;
	}
	if (off != b->pkt_len || off < 60)
		return -1;
	start = rd16(flat + 12) == 0x0800 ? 54 : 14;
	memcpy(&i, flat + start, 4);
	if (i >= FRAMES || off != frame_len(i))
		return -1;
	for (k = start + 4; k < off; k++)
		if (flat[k] != (uint8_t)(i * 7 + k))
			return -1;
	if (start == 54) {
		uint32_t sum, tot = rd16(flat + 16);

		if (nf_io_cksum_fold(nf_io_cksum_add(0, flat + 14, 20)) !=
		    0xffff)
			return -1;
		sum = nf_io_cksum_add(0, flat + 26, 8) + 6 + (tot - 20);
		sum = nf_io_cksum_add(sum, flat + 34, tot - 20);
		if (nf_io_cksum_fold(sum) != 0xffff)
			return -1;
	}
	return (long)i;
}

static int client(const char *sock)
{
	static uint8_t seen[FRAMES];
	struct nf_io *io;
	struct nf_io_ops *o;
	uint64_t end, t0;
	uint32_t next = 0, got = 0, bad = 0, dup = 0;
	struct nf_buf *pend[32];
	uint16_t npend = 0;
	int ok;

	if (start("client", sock, &io) < 0)
		return 1;
	o = nf_io_queue(io, 0);
	end = now_ns() + 10000000000ull;
	while (!nf_io_link_up(io) && now_ns() < end)
		usleep(1000);
	if (!nf_io_link_up(io)) {
		fprintf(stderr, "client: memif link never came up\n");
		finish(io, "client");
		return 1;
	}
	t0 = now_ns();
	end = t0 + 30000000000ull;
	while (got + bad < FRAMES && now_ns() < end) {
		struct nf_buf *rx[64];
		uint16_t n, i, sent;

		/* keep at most WINDOW frames in flight */
		while (npend < 32 && next < FRAMES && next - got - bad < WINDOW) {
			if (build(o, next, &pend[npend]) < 0)
				break;
			npend++;
			next++;
		}
		sent = npend ? o->tx_burst(o->q, pend, npend) : 0;
		memmove(pend, pend + sent, (npend - sent) * sizeof(*pend));
		npend = (uint16_t)(npend - sent);
		n = o->rx_burst(o->q, rx, 64);
		for (i = 0; i < n; i++) {
			long idx = check(rx[i]);

			if (idx < 0) {
				if (bad < 5 && getenv("ITEST_DEBUG"))
					fprintf(stderr, "bad: len %u pkt_len %u "
						"seg %p type %04x\n", rx[i]->len,
						rx[i]->pkt_len,
						(void *)rx[i]->seg_next,
						rd16(rx[i]->data + 12));
				bad++;
			}
			else if (seen[idx]++)
				dup++;
			else
				got++;
			o->free(o->q, rx[i]);
		}
	}
	while (npend)
		o->free(o->q, pend[--npend]);
	printf("client: sent %u, echoed back intact %u, bad %u, dup %u in "
	       "%.1f ms; sw_cksum %lu\n", next, got, bad, dup,
	       (now_ns() - t0) / 1e6,
	       (unsigned long)nf_io_queue_stats(io, 0)->sw_cksum);
	ok = got == FRAMES && bad == 0 && dup == 0 &&
	     nf_io_queue_stats(io, 0)->sw_cksum >= FRAMES / 5;
	/* tell the server to stop */
	{
		struct nf_buf *s = o->alloc(o->q);
		int tries;

		if (s) {
			memset(s->data, 0xff, 12);
			wr16(s->data + 12, 0x88b6);
			memcpy(s->data + 14, "STOP", 4);
			s->len = s->pkt_len = 60;
			for (tries = 0; tries < 1000; tries++)
				if (o->tx_burst(o->q, &s, 1) == 1)
					break;
			if (tries == 1000)
				o->free(o->q, s);
		}
	}
	usleep(100000);
	{  /* drain the echo of STOP */
		struct nf_buf *rx[64];
		uint16_t n = o->rx_burst(o->q, rx, 64), i;

		for (i = 0; i < n; i++)
			o->free(o->q, rx[i]);
	}
	return finish(io, "client") | !ok;
}

int main(void)
{
	char sock[64];
	pid_t srv, cli;
	int st, rc = 0, n_ok = 0, n_bad = 0;
	uint64_t end;

	if (geteuid() != 0) {
		printf("SKIP itest_memif: needs root (make test runs it as "
		       "root)\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);  /* children _exit() */
	snprintf(sock, sizeof(sock), "/netfuse-itest-memif-%d.sock",
		 (int)getpid());
	fflush(stdout);
	srv = fork();
	if (srv == 0) {
		alarm(60);
		_exit(server(sock));
	}
	usleep(200000);  /* let the server listen first */
	cli = fork();
	if (cli == 0) {
		alarm(60);
		_exit(client(sock));
	}
	end = now_ns() + 70000000000ull;
	while (srv > 0 || cli > 0) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p > 0) {
			int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;

			printf("%s %s\n", ok ? "[       OK ]" : "[  FAILED  ]",
			       p == srv ? "server: echoed every frame, slept "
			       "on its wake fd, all buffers back" :
			       "client: 20000 frames (chains, sw checksums) "
			       "echoed intact, all buffers back");
			rc |= !ok;
			n_ok += ok;
			n_bad += !ok;
			if (p == srv)
				srv = 0;
			else
				cli = 0;
			continue;
		}
		if (now_ns() > end) {
			if (srv > 0)
				kill(srv, SIGKILL);
			if (cli > 0)
				kill(cli, SIGKILL);
			rc = 1;
			end = UINT64_MAX;
		}
		usleep(10000);
	}
	printf("[  PASSED  ] %d test(s).\n", n_ok);
	if (n_bad || rc)
		printf("[  FAILED  ] %d test(s), listed above.\n",
		       n_bad ? n_bad : 1);
	return rc;
}
