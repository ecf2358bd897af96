/*
 * bench_stack.c: two stack instances in one process joined by an
 * in-memory link (tests/stack/fake_io.h; frames move by pointer, no
 * loss). Measures
 *   1. 1-byte ping-pong over 32 connections (TCP_NODELAY): requests/s and
 *      CPU cycles (rdtsc) per request/response round trip through both
 *      instances, app calls included;
 *   2. a 1-connection bulk transfer: Gbit/s of payload.
 * Ends with: RESULT bench-stack rps=.. cycles_per_req=.. bulk_gbps=..
 * Usage: bench_stack [seconds per phase, default 2] [pp|bulk: one phase]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_RDTSC 1
#endif

#include "stack/stack.h"
#include "tests/stack/fake_io.h"

#define NCONN 32

struct node {
	struct fio_pool *pool;
	struct fake_io io;
	void *mem;
	struct ns_stack *st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cycles(void)
{
#ifdef HAVE_RDTSC
	return __rdtsc();
#else
	return now_ns();
#endif
}

static int node_init(struct node *n, int idx, uint32_t bufsz)
{
	const uint8_t mac[6] = {2, 0, 0, 0, 0, (uint8_t)(idx + 1)};
	struct ns_config c;
	size_t sz;

	ns_config_default(&c);
	c.ip_be = htonl(0xc6120001u + (uint32_t)idx); /* 198.18.0.1 / .2 */
	c.prefix_len = 24;
	c.max_socks = 64;
	c.sndbuf = bufsz;
	c.rcvbuf = bufsz;
	c.seed = 42 + (uint64_t)idx;
	sz = ns_stack_size(&c);
	n->pool = fio_pool_new(8192);
	if (!n->pool || fio_init(&n->io, n->pool, mac, 8192))
		return -1;
	n->mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (!n->mem)
		return -1;
	n->st = ns_stack_init(n->mem, sz, &c, &n->io.ops, now_ns());
	return n->st ? 0 : -1;
}

static void node_fini(struct node *n)
{
	ns_stack_fini(n->st);
	fio_fini(&n->io);
	fio_pool_del(n->pool);
	free(n->mem);
}

/* move what `from` sent into `to`, in batches; returns frames moved */
static unsigned pump(struct node *from, struct node *to, uint64_t t)
{
	struct nf_buf *batch[32];
	unsigned total = 0;
	uint16_t n;

	do {
		n = 0;
		while (n < 32 && (batch[n] = fio_pop(&from->io)) != NULL)
			n++;
		if (n || !total)
			ns_stack_poll(to->st, batch, n, t);
		total += n;
	} while (n == 32);
	return total;
}

static void pump_both(struct node *a, struct node *b, uint64_t t)
{
	int i;
	for (i = 0; i < 1000; i++) {
		unsigned m = pump(a, b, t);
		m += pump(b, a, t);
		if (!m)
			break;
	}
}

static int connect_pairs(struct node *a, struct node *b, int n, int *cs,
			 int *ss)
{
	struct sockaddr_in sa;
	int lsd, i, one = 1, got = 0;

	lsd = ns_socket(b->st, SOCK_STREAM);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(9000);
	if (ns_bind(b->st, lsd, &sa) || ns_listen(b->st, lsd, 64))
		return -1;
	sa.sin_addr.s_addr = htonl(0xc6120002u);
	for (i = 0; i < n; i++) {
		cs[i] = ns_socket(a->st, SOCK_STREAM);
		ns_setsockopt(a->st, cs[i], IPPROTO_TCP, TCP_NODELAY, &one,
			      sizeof(one));
		if (ns_connect(a->st, cs[i], &sa) != -EINPROGRESS)
			return -1;
	}
	pump_both(a, b, now_ns());
	while (got < n) {
		int c = ns_accept(b->st, lsd, NULL);
		if (c < 0)
			break;
		ns_setsockopt(b->st, c, IPPROTO_TCP, TCP_NODELAY, &one,
			      sizeof(one));
		ss[got++] = c;
	}
	ns_close(b->st, lsd);
	return got == n ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct node a, b;
	static uint8_t buf[1 << 16];
	int cs[NCONN], ss[NCONN], i, ch[64];
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	uint64_t reqs = 0, t0, t1, c0, c1, bytes = 0, u0, u1;
	double rps = 0, cpr = 0, gbps = 0;
	const char *only = argc > 2 ? argv[2] : "";

	if (secs <= 0)
		secs = 2.0;
	if (node_init(&a, 0, 256 * 1024) || node_init(&b, 1, 256 * 1024)) {
		fprintf(stderr, "bench_stack: init failed\n");
		return 1;
	}
	pump_both(&a, &b, now_ns()); /* gratuitous ARPs */
	if (connect_pairs(&a, &b, NCONN, cs, ss)) {
		fprintf(stderr, "bench_stack: connect failed\n");
		return 1;
	}

	/* ---- 1. ping-pong ---------------------------------------------- */
	if (strcmp(only, "bulk") == 0)
		goto bulk;
	t0 = now_ns();
	c0 = cycles();
	u0 = cpu_ns();
	for (;;) {
		uint64_t t = now_ns();
		int n;
		for (i = 0; i < NCONN; i++)
			if (ns_send(a.st, cs[i], "q", 1, 0) != 1)
				goto fail;
		pump(&a, &b, t);
		/* server: only the sockets that changed (epoll-like) */
		n = ns_stack_changed(b.st, ch, 64);
		for (i = 0; i < n; i++) {
			if (ns_recv(b.st, ch[i], buf, sizeof(buf), 0) == 1 &&
			    ns_send(b.st, ch[i], "r", 1, 0) != 1)
				goto fail;
		}
		pump(&b, &a, t);
		ns_stack_changed(a.st, ch, 64);
		for (i = 0; i < NCONN; i++)
			if (ns_recv(a.st, cs[i], buf, sizeof(buf), 0) != 1)
				goto fail;
		reqs += NCONN;
		if ((reqs & 4095) < NCONN && t - t0 > (uint64_t)(secs * 1e9))
			break;
	}
	c1 = cycles();
	t1 = now_ns();
	u1 = cpu_ns();
	rps = (double)reqs / ((double)(t1 - t0) / 1e9);
	cpr = (double)(c1 - c0) / (double)reqs;
	printf("ping-pong: %d connections, %llu requests in %.2f s\n", NCONN,
	       (unsigned long long)reqs, (double)(t1 - t0) / 1e9);
	printf("  %-24s %12.0f\n", "requests/s", rps);
	printf("  %-24s %12.0f\n", "cycles/request (rdtsc)", cpr);
	/* on a shared machine the thread may be descheduled: the same
	 * figure from the thread's CPU time only */
	printf("  %-24s %12.0f\n", "cycles/request (on-CPU)",
	       cpr * (double)(u1 - u0) / (double)(t1 - t0));
	printf("  %-24s %12.1f%%\n", "on-CPU share",
	       100.0 * (double)(u1 - u0) / (double)(t1 - t0));

	/* ---- 2. bulk --------------------------------------------------- */
bulk:
	if (strcmp(only, "pp") == 0)
		goto done;
	memset(buf, 'b', sizeof(buf));
	t0 = now_ns();
	for (;;) {
		uint64_t t = now_ns();
		ssize_t n;
		while (ns_send(a.st, cs[0], buf, sizeof(buf), 0) > 0)
			;
		pump(&a, &b, t);
		while ((n = ns_recv(b.st, ss[0], buf, sizeof(buf), 0)) > 0)
			bytes += (uint64_t)n;
		pump(&b, &a, t);
		if (t - t0 > (uint64_t)(secs * 1e9))
			break;
	}
	t1 = now_ns();
	gbps = (double)bytes * 8 / ((double)(t1 - t0));
	printf("bulk: 1 connection, %llu bytes in %.2f s\n",
	       (unsigned long long)bytes, (double)(t1 - t0) / 1e9);
	printf("  %-24s %12.2f\n", "Gbit/s", gbps);
done:

	for (i = 0; i < NCONN; i++) {
		ns_close(a.st, cs[i]);
		ns_close(b.st, ss[i]);
	}
	pump_both(&a, &b, now_ns());
	node_fini(&a);
	node_fini(&b);
	printf("RESULT bench-stack rps=%.0f cycles_per_req=%.0f bulk_gbps=%.2f\n",
	       rps, cpr, gbps);
	return 0;
fail:
	fprintf(stderr, "bench_stack: ping-pong failed at request %llu\n",
		(unsigned long long)reqs);
	return 1;
}
