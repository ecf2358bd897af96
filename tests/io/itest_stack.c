/*
 * itest_stack.c: io/ and the real stack/ together over the default net_tap
 * device, with the Linux kernel as the peer. Needs root.
 *
 * In a network namespace of its own (unshare), io/ brings up net_tap nf0
 * (kernel side 198.18.0.1/24) and one ns_stack instance takes
 * 198.18.0.2/24 on queue 0, driven by a thread the way vfs/ will drive it:
 * rx_burst -> ns_stack_poll, socket calls, and sleeping on the queue's
 * wake fd until the next frame or the stack's deadline. The main thread,
 * through the kernel's own sockets, then checks:
 *   - ping: 5 ICMP echo requests answered (ARP resolved by the stack)
 *   - UDP: 20 datagrams to port 7 echoed back by a stack UDP socket
 *   - TCP: connect to port 80, 256 KB sent and echoed back intact by a
 *     stack TCP socket, orderly close
 * and at the end that every io/ buffer came back to the pool after
 * ns_stack_fini(). Output is counted like cmocka by tests/run.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/io.h"
#include "stack/stack.h"
#include "tests/io/responder.h"

#define TCP_BYTES (256 * 1024)

static atomic_int stop_flag;
static int n_pass, n_fail;

static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "[       OK ]" : "[  FAILED  ]", what);
	if (cond)
		n_pass++;
	else
		n_fail++;
}

struct drv {
	struct nf_io_ops *ops;
	struct ns_stack *st;
	int usd, lsd, csd;            /* UDP echo, TCP listener, TCP conn */
	uint8_t tcp_buf[64 * 1024];   /* received, not yet echoed */
	size_t tcp_have;
	int tcp_eof;
	uint64_t udp_echoed, tcp_echoed, sleeps;
};

/* Echo servers on the stack's sockets (called after every poll). */
static void serve(struct drv *d)
{
	struct ns_stack *st = d->st;
	uint8_t buf[2048];
	struct sockaddr_in from;
	ssize_t r;

	for (;;) {  /* UDP echo (RFC 862) */
		struct iovec iov = { buf, sizeof(buf) };

		r = ns_recvmsg(st, d->usd, &iov, 1, 0, &from);
		if (r < 0)
			break;
		iov.iov_len = (size_t)r;
		if (ns_sendmsg(st, d->usd, &iov, 1, 0, &from) == r)
			d->udp_echoed++;
	}
	if (d->csd < 0) {
		d->csd = ns_accept(st, d->lsd, NULL);
		if (d->csd < 0)
			d->csd = -1;
	}
	if (d->csd < 0)
		return;
	for (;;) {  /* TCP echo: read what fits, write what the stack takes */
		if (d->tcp_have < sizeof(d->tcp_buf) && !d->tcp_eof) {
			r = ns_recv(st, d->csd, d->tcp_buf + d->tcp_have,
				    sizeof(d->tcp_buf) - d->tcp_have, 0);
			if (r > 0)
				d->tcp_have += (size_t)r;
			else if (r == 0)
				d->tcp_eof = 1;
		}
		if (d->tcp_have == 0)
			break;
		r = ns_send(st, d->csd, d->tcp_buf, d->tcp_have, 0);
		if (r <= 0)
			break;
		memmove(d->tcp_buf, d->tcp_buf + r, d->tcp_have - (size_t)r);
		d->tcp_have -= (size_t)r;
		d->tcp_echoed += (uint64_t)r;
	}
	if (d->tcp_eof && d->tcp_have == 0) {
		ns_close(st, d->csd);
		d->csd = -1;
		d->tcp_eof = 0;
	}
}

static void *drive(void *p)
{
	struct drv *d = p;
	struct nf_buf *b[32];
	unsigned idle = 0;

	while (!atomic_load(&stop_flag)) {
		uint64_t now = resp_now_ns(), deadline;
		uint16_t n = d->ops->rx_burst(d->ops->q, b, 32);

		deadline = ns_stack_poll(d->st, b, n, now);
		serve(d);
		if (n) {
			idle = 0;
			continue;
		}
		if (++idle < 64)
			continue;
		/* sleep until a frame or the stack's next deadline (max
		 * 10 ms): the wake protocol of io/io.h */
		if (d->ops->wake_arm(d->ops->q) == 0) {
			struct pollfd pf = { .fd = d->ops->wake_fd,
					     .events = POLLIN };
			uint64_t ms = deadline > now ?
				      (deadline - now) / 1000000 : 0;

			n = d->ops->rx_burst(d->ops->q, b, 32);
			if (n == 0 && ms > 0) {
				d->sleeps++;
				poll(&pf, 1, ms > 10 ? 10 : (int)ms);
			}
			d->ops->wake_disarm(d->ops->q);
			if (n) {
				ns_stack_poll(d->st, b, n, resp_now_ns());
				serve(d);
			}
		}
	}
	return NULL;
}

static int udp_check(uint32_t dst_be)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7) };
	struct timeval tv = { .tv_sec = 1 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), i, good = 0;

	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = dst_be;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < 20; i++) {
		char out[64], in[128];
		int len = snprintf(out, sizeof(out), "netfuse udp echo %d", i);
		ssize_t r;

		if (sendto(fd, out, (size_t)len, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) != len)
			continue;
		r = recv(fd, in, sizeof(in), 0);
		good += r == len && memcmp(in, out, (size_t)len) == 0;
	}
	close(fd);
	printf("udp: %d of 20 datagrams echoed\n", good);
	return good;
}

/* 256 KB through the stack's TCP echo; 0 if it all came back intact. */
static int tcp_check(uint32_t dst_be)
{
	static uint8_t out[TCP_BYTES], in[TCP_BYTES];
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(80) };
	struct timeval tv = { .tv_sec = 5 };
	size_t sent = 0, got = 0, i;
	uint64_t t0 = resp_now_ns();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 131 + (i >> 10));
	sa.sin_addr.s_addr = dst_be;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("tcp: connect: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	while (got < sizeof(in)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (sent < sizeof(out))
			pf.events |= POLLOUT;
		if (poll(&pf, 1, 5000) <= 0)
			break;
		if ((pf.revents & POLLOUT) && sent < sizeof(out)) {
			r = send(fd, out + sent, sizeof(out) - sent,
				 MSG_DONTWAIT);
			if (r > 0)
				sent += (size_t)r;
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = recv(fd, in + got, sizeof(in) - got, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				break;
			if (r > 0)
				got += (size_t)r;
		}
	}
	shutdown(fd, SHUT_WR);
	{
		char c;
		ssize_t r = recv(fd, &c, 1, 0);  /* the stack's FIN */

		printf("tcp: %zu bytes sent, %zu echoed in %.1f ms, close: %s\n",
		       sent, got, (resp_now_ns() - t0) / 1e6,
		       r == 0 ? "orderly" : "no FIN");
		close(fd);
		return got == sizeof(in) && memcmp(in, out, sizeof(in)) == 0 &&
		       r == 0 ? 0 : -1;
	}
}

int main(void)
{
	struct nf_io_config cfg;
	struct ns_config sc;
	struct nf_io *io;
	static struct drv d;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 1 };
	pthread_t th;
	uint32_t leaked = 1;
	void *mem;
	size_t sz;
	int r, i, fd, good = 0;

	if (geteuid() != 0) {
		printf("SKIP itest_stack: needs root (make test runs it as "
		       "root)\n");
		return 77;
	}
	alarm(90);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP itest_stack: unshare: %s\n", strerror(errno));
		return 77;
	}
	setenv("NETFUSE_HUGE", "off", 0);
	setenv("NETFUSE_QUEUES", "1", 0); /* it polls queue 0 only */
	if (nf_io_config_from_env(&cfg) < 0)
		return 1;
	r = nf_io_init(&io, &cfg, 4096);
	check(r == 0, "nf_io_init on net_tap nf0");
	if (r < 0)
		goto out;
	d.ops = nf_io_queue(io, 0);
	ns_config_default(&sc);
	sc.ip_be = cfg.addr_be;
	sc.prefix_len = cfg.prefix_len;
	sc.seed = 42;
	sz = ns_stack_size(&sc);
	mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	d.st = mem ? ns_stack_init(mem, sz, &sc, d.ops, resp_now_ns()) : NULL;
	check(d.st != NULL, "ns_stack_init on io/'s queue 0");
	if (d.st == NULL) {
		nf_io_fini(io, NULL);
		goto out;
	}
	d.usd = ns_socket(d.st, SOCK_DGRAM);
	d.lsd = ns_socket(d.st, SOCK_STREAM);
	d.csd = -1;
	a.sin_port = htons(7);
	r = ns_bind(d.st, d.usd, &a);
	a.sin_port = htons(80);
	if (r == 0)
		r = ns_bind(d.st, d.lsd, &a);
	if (r == 0)
		r = ns_listen(d.st, d.lsd, 16);
	check(r == 0, "stack sockets: UDP 7 bound, TCP 80 listening");
	if (pthread_create(&th, NULL, drive, &d) != 0)
		return 1;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (i = 0; i < 5; i++)
			good += kernel_ping(fd, cfg.addr_be, (uint16_t)(i + 1))
				== 0;
		close(fd);
	}
	printf("ping: %d of 5 answered by the stack\n", good);
	check(good == 5, "kernel ping answered by stack/ through io/");
	check(udp_check(cfg.addr_be) == 20, "UDP echo through stack/ and io/");
	check(tcp_check(cfg.addr_be) == 0,
	      "TCP 256 KB echoed intact through stack/ and io/, orderly close");

	usleep(200000);  /* let the stack finish its close */
	atomic_store(&stop_flag, 1);
	pthread_join(th, NULL);
	{
		const struct ns_counters *c = ns_stack_counters(d.st);
		const struct nf_io_qstats *q = nf_io_queue_stats(io, 0);

		printf("stack: rx %lu tx %lu echo %lu arp_replies %lu "
		       "tcp_rexmit %lu; io: tx %lu sw_cksum %lu gso_out %lu; "
		       "driver slept %lu times\n",
		       (unsigned long)c->rx_frames, (unsigned long)c->tx_frames,
		       (unsigned long)c->icmp_echo_replied,
		       (unsigned long)c->arp_replies_sent,
		       (unsigned long)c->tcp_retransmits,
		       (unsigned long)q->tx_pkts, (unsigned long)q->sw_cksum,
		       (unsigned long)q->gso_out, (unsigned long)d.sleeps);
	}
	ns_stack_fini(d.st);
	r = nf_io_fini(io, &leaked);
	printf("buffers not returned: %u\n", leaked);
	check(r == 0 && leaked == 0, "every buffer back in the pool");
	free(mem);
out:
	printf("[  PASSED  ] %d test(s).\n", n_pass);
	if (n_fail)
		printf("[  FAILED  ] %d test(s), listed above.\n", n_fail);
	return n_fail ? 1 : 0;
}
