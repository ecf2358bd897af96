/*
 * itest_signals.c: a server whose signal handler uses its sockets, for
 * itest_signals.sh. Plain POSIX, knows nothing of netfuse.
 *
 *   server PORT SECS   accepts three connections, each naming itself with
 *       its first byte (A, B, C). The main thread streams A (stream 1)
 *       with blocking 16 KiB writes for SECS seconds while a 500 us
 *       interval timer's SIGALRM handler (SA_RESTART) sends stream 2 on B
 *       (MSG_DONTWAIT, 64 bytes a tick), receives stream 3 from B and
 *       checks it byte for byte, and closes C at its 100th tick. Then
 *       (timer still running) it waits for all of stream 3, stops the
 *       timer and shuts A and B down. Prints "SERVER ticks T a A b2 N
 *       b3 M bad K errs E nested X" and exits 0 when K, E and X are 0
 *       (X: handler runs inside a running handler, which the kernel
 *       never does without SA_NODEFER).
 *   client HOST PORT   connects A, B, C; checks stream 1 on A and stream
 *       2 on B to their EOF, sends B3_LEN bytes of stream 3 on B, and
 *       expects EOF (no data) on C. Prints "OK a N b M" or a reason.
 *
 * Streams: xorshift32 bytes, seeded by the stream number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define B3_LEN (128u << 10)

struct gen {
	uint32_t s;
};

static void gen_init(struct gen *g, unsigned seed)
{
	g->s = (seed + 1) * 2654435761u;
}

static uint8_t gen_byte(struct gen *g)
{
	uint32_t x = g->s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	g->s = x;
	return (uint8_t)(x >> 11);
}

static void die(const char *what)
{
	fprintf(stderr, "itest_signals: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- server ------------------------------------------------------------- */
static int fd_b = -1, fd_c = -1;
static struct gen g2, g3;
static volatile sig_atomic_t ticks, bad, errs, c_closed;
static volatile size_t b2_sent, b3_got;

static volatile sig_atomic_t in_handler, nested;

static void on_alarm(int sig)
{
	uint8_t buf[4096];
	ssize_t r;
	int saved = errno, i;
	(void)sig;
	if (in_handler) { /* the kernel never runs it inside itself */
		nested++;
		return;
	}
	in_handler = 1;
	ticks++;
	{
		struct gen g = g2; /* send from a copy: advance what went */
		uint8_t out[64];
		for (i = 0; i < 64; i++)
			out[i] = gen_byte(&g);
		r = send(fd_b, out, sizeof(out), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			for (i = 0; i < r; i++)
				(void)gen_byte(&g2);
			b2_sent += (size_t)r;
		} else if (r < 0 && errno != EAGAIN) {
			errs++;
		}
	}
	r = recv(fd_b, buf, sizeof(buf), MSG_DONTWAIT);
	if (r > 0) {
		for (i = 0; i < r; i++)
			if (buf[i] != gen_byte(&g3))
				bad++;
		b3_got += (size_t)r;
	} else if (r == 0 || errno != EAGAIN) {
		errs++;
	}
	if (ticks == 100 && !c_closed) {
		if (close(fd_c) != 0)
			errs++;
		c_closed = 1;
	}
	in_handler = 0;
	errno = saved;
}

static int server(int port, double secs)
{
	struct sockaddr_in a;
	struct sigaction sa;
	struct itimerval it = { { 0, 500 }, { 0, 500 } }, off;
	int lfd, one = 1, fd_a = -1, i;
	uint8_t chunk[16384];
	struct gen g1;
	size_t a_sent = 0;
	double t0;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 8))
		die("bind/listen");
	printf("READY\n");
	fflush(stdout);
	for (i = 0; i < 3; i++) {
		int fd = accept(lfd, NULL, NULL);
		char who;
		if (fd < 0 || read(fd, &who, 1) != 1)
			die("accept/read name");
		if (who == 'A')
			fd_a = fd;
		else if (who == 'B')
			fd_b = fd;
		else
			fd_c = fd;
	}
	if (fd_a < 0 || fd_b < 0 || fd_c < 0) {
		fprintf(stderr, "itest_signals: connections not named A, B, C\n");
		return 1;
	}
	gen_init(&g1, 1);
	gen_init(&g2, 2);
	gen_init(&g3, 3);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		die("sigaction/setitimer");
	t0 = now_s();
	while (now_s() - t0 < secs) {
		size_t off_ = 0;
		for (i = 0; i < (int)sizeof(chunk); i++)
			chunk[i] = gen_byte(&g1);
		while (off_ < sizeof(chunk)) { /* blocking; SA_RESTART */
			ssize_t w = write(fd_a, chunk + off_, sizeof(chunk) - off_);
			if (w < 0)
				die("write A (EINTR with SA_RESTART?)");
			off_ += (size_t)w;
		}
		a_sent += sizeof(chunk);
	}
	for (i = 0; i < 1000 && (b3_got < B3_LEN || !c_closed); i++)
		usleep(5000); /* the handler takes the rest of stream 3 */
	memset(&off, 0, sizeof(off));
	setitimer(ITIMER_REAL, &off, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
	shutdown(fd_a, SHUT_WR);
	shutdown(fd_b, SHUT_WR);
	printf("SERVER ticks %d a %zu b2 %zu b3 %zu bad %d errs %d nested %d\n", (int)ticks,
	       a_sent, (size_t)b2_sent, (size_t)b3_got, (int)bad, (int)errs, (int)nested);
	fflush(stdout);
	{	/* until the client has read everything and closed */
		char x;
		while (read(fd_a, &x, 1) > 0 || read(fd_b, &x, 1) > 0)
			;
	}
	return bad || errs || nested || b3_got != B3_LEN || !c_closed;
}

/* ---- client ------------------------------------------------------------- */
static int connect_named(const char *host, int port, char who)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, &who, 1) != 1)
		die("connect");
	return fd;
}

static int client(const char *host, int port)
{
	int fa = connect_named(host, port, 'A');
	int fb = connect_named(host, port, 'B');
	int fc = connect_named(host, port, 'C');
	struct gen c1, c2, c3;
	size_t a_n = 0, b_n = 0, b3_sent = 0;
	int a_eof = 0, b_eof = 0, c_eof = 0, i;
	uint8_t buf[65536], out[4096];
	double t0 = now_s();

	gen_init(&c1, 1);
	gen_init(&c2, 2);
	gen_init(&c3, 3);
	fcntl(fb, F_SETFL, O_NONBLOCK);
	while (!(a_eof && b_eof && c_eof)) {
		struct pollfd p[3] = {
			{ fa, a_eof ? 0 : POLLIN, 0 },
			{ fb, (short)((b_eof ? 0 : POLLIN) |
				      (b3_sent < B3_LEN ? POLLOUT : 0)), 0 },
			{ fc, c_eof ? 0 : POLLIN, 0 },
		};
		ssize_t r;
		if (now_s() - t0 > 60) {
			printf("TIMEOUT a %zu b %zu b3 %zu eof %d%d%d\n", a_n, b_n,
			       b3_sent, a_eof, b_eof, c_eof);
			return 1;
		}
		if (poll(p, 3, 1000) < 0)
			die("poll");
		if (p[0].revents) {
			r = read(fa, buf, sizeof(buf));
			if (r < 0)
				die("read A");
			if (r == 0)
				a_eof = 1;
			for (i = 0; i < r; i++)
				if (buf[i] != gen_byte(&c1)) {
					printf("BAD A at %zu\n", a_n + (size_t)i);
					return 1;
				}
			a_n += (size_t)(r > 0 ? r : 0);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(fb, buf, sizeof(buf));
			if (r < 0 && errno != EAGAIN)
				die("read B");
			if (r == 0)
				b_eof = 1;
			for (i = 0; i < r; i++)
				if (buf[i] != gen_byte(&c2)) {
					printf("BAD B at %zu\n", b_n + (size_t)i);
					return 1;
				}
			b_n += (size_t)(r > 0 ? r : 0);
		}
		if ((p[1].revents & POLLOUT) && b3_sent < B3_LEN) {
			/* paced: 4 KiB per round, so the handler's recvs
			 * find data many times over */
			struct gen g = c3;
			size_t k = B3_LEN - b3_sent < sizeof(out) ?
				   B3_LEN - b3_sent : sizeof(out);
			for (i = 0; i < (int)k; i++)
				out[i] = gen_byte(&g);
			r = write(fb, out, k);
			if (r < 0 && errno != EAGAIN)
				die("write B");
			for (i = 0; i < r; i++)
				(void)gen_byte(&c3);
			b3_sent += (size_t)(r > 0 ? r : 0);
			usleep(2000);
		}
		if (p[2].revents) {
			r = read(fc, buf, sizeof(buf));
			if (r > 0) {
				printf("BAD C: data\n");
				return 1;
			}
			c_eof = 1;
		}
	}
	printf("OK a %zu b %zu b3 %zu\n", a_n, b_n, b3_sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), atof(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: itest_signals server PORT SECS | "
		"client HOST PORT\n");
	return 2;
}
