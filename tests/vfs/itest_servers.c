/*
 * itest_servers.c: small, unmodified POSIX servers and clients for
 * itest_servers.sh (one binary, one mode per program).
 *
 * Nothing here knows about netfuse: the script runs the server modes under
 * LD_PRELOAD=libhook.so (user-space stack) and the client modes on the
 * kernel side of the tap (or the other way round for "client"), and every
 * mode also runs on the plain Linux kernel. Every byte is checked: a
 * client connection c sends a pseudo-random stream (xorshift seeded by c)
 * in chunks of varying sizes and checks the echo byte for byte.
 *
 * Server modes (PORT N: serve N TCP connections to their end, then exit 0;
 * any error prints a line on stderr and exits 1; "READY" on stdout once
 * listening):
 *   epoll PORT N    non-blocking, edge-triggered epoll echo
 *   poll PORT N     non-blocking poll echo
 *   select PORT N   non-blocking select echo
 *   threads PORT N  blocking, one thread per connection
 *   handoff PORT N  accepts on the main thread, serves on 2 worker threads
 *                   (fd passed through a pipe into the worker's own epoll
 *                   set, memcached-style)
 *   udp PORT        UDP echo until a "QUIT" datagram
 *   fork PORT N     serves connection A, forks a child that closes the
 *                   listener and A and exits; the parent then keeps using
 *                   A and serves N more connections
 *   mixed PORT N    level-triggered epoll echo with a pipe (fed by a
 *                   thread, checked byte-exact) and a timerfd in the set
 *   exec PORT       accepts A (SOCK_CLOEXEC), sends "hello", tries to exec
 *                   a missing file (ENOENT; A must still work: "still"),
 *                   then execs /bin/sleep 30 without closing A
 * Client modes:
 *   client HOST PORT SIZES   SIZES is a comma list; one connection per
 *                   size, all at once (half of them connect non-blocking)
 *   forkc HOST PORT BULK     the peer of "fork": connection A survives the
 *                   child's close with no EOF or RST, BULK bytes echoed
 *   udpc HOST PORT N         N datagrams echoed byte-exact
 *   execc HOST PORT          the peer of "exec": "hellostill" then EOF
 *   burst PORT SIZE          (server) reads 1 byte, writes SIZE bytes,
 *                            closes everything and exits at once: what
 *                            is still queued must be delivered
 *   slowc HOST PORT SIZE     the peer of "burst": small SO_RCVBUF, reads
 *                            only after 0.5 s, checks SIZE bytes + EOF
 *   splice PORT SIZE         (server) sends SIZE bytes (the "burst"
 *                            stream, peer: slowc) from a temporary file
 *                            with splice file -> pipe -> non-blocking
 *                            socket, polling for POLLOUT on EAGAIN
 *   splicerecv PORT SIZE     (server) receives SIZE bytes of the "burst"
 *                            stream with splice socket -> pipe -> file,
 *                            checks the file, answers "OK"
 *   sendc HOST PORT SIZE     the peer of "splicerecv"
 *   sink PORT                accepts one connection, reads nothing for
 *                            1 s, then reads it to EOF
 *   outq HOST PORT           fills the send queue towards a sink: checks
 *                            ioctl SIOCOUTQ/SIOCOUTQNSD, then SIOCOUTQ
 *                            falling to 0 as the sink drains; EINVAL on a
 *                            listener
 */
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64
#define BUFSZ 65536

static void die(const char *what)
{
	fprintf(stderr, "itest_servers: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "itest_servers: %s\n", what);
	exit(1);
}

/* ---- the byte stream ---------------------------------------------- */

struct gen {
	uint32_t s;
};

static void gen_init(struct gen *g, unsigned c)
{
	g->s = (c + 1) * 2654435761u;
	if (!g->s)
		g->s = 1;
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

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl O_NONBLOCK");
}

static int listen_on(int port, int type, int nonblock)
{
	struct sockaddr_in a;
	int one = 1;
	int fd = socket(AF_INET, type | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR");
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		die("listen");
	printf("READY\n");
	fflush(stdout);
	return fd;
}

/* ---- a non-blocking echo connection --------------------------------- */

struct conn {
	int fd;
	size_t off, len;
	int eof;
	char buf[BUFSZ];
};

enum { C_WANT_IN, C_WANT_OUT, C_DONE };

/* Moves data until the connection would block; says what it waits for.
 * Correct for edge- and level-triggered callers alike. */
static int conn_progress(struct conn *c)
{
	ssize_t r;

	for (;;) {
		if (c->len > c->off) {
			r = write(c->fd, c->buf + c->off, c->len - c->off);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return C_WANT_OUT;
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				die("server write");
			c->off += (size_t)r;
			continue;
		}
		if (c->eof)
			return C_DONE;
		r = read(c->fd, c->buf, sizeof(c->buf));
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return C_WANT_IN;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("server read");
		if (r == 0)
			c->eof = 1;
		c->off = 0;
		c->len = (size_t)r;
	}
}

static struct conn *conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		fail("out of memory");
	c->fd = fd;
	return c;
}

static void conn_free(struct conn *c)
{
	if (close(c->fd) < 0)
		die("close");
	free(c);
}

static int accept_nb(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR && errno != ECONNABORTED)
		die("accept4");
	return fd;
}

/* ---- epoll (edge-triggered) --------------------------------------- */

static int srv_epoll(int port, int n)
{
	struct epoll_event ev, evs[16];
	int lfd = listen_on(port, SOCK_STREAM, 1), ep, done = 0, i, k;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll_ctl listener");
	while (done < n) {
		k = epoll_wait(ep, evs, 16, 30000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail(k ? "epoll_wait failed" : "epoll_wait: 30 s idle");
		for (i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			int fd;

			if (!c) {
				while ((fd = accept_nb(lfd)) >= 0) {
					c = conn_new(fd);
					ev.events = EPOLLIN | EPOLLOUT | EPOLLET |
						    EPOLLRDHUP;
					ev.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd,
						      &ev) < 0)
						die("epoll_ctl ADD");
					/* an edge may have come before ADD */
					if (conn_progress(c) == C_DONE) {
						conn_free(c);
						done++;
					}
				}
				continue;
			}
			if (conn_progress(c) == C_DONE) {
				if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL) < 0)
					die("epoll_ctl DEL");
				conn_free(c);
				done++;
			}
		}
	}
	close(ep);
	close(lfd);
	return 0;
}

/* ---- poll --------------------------------------------------------- */

static int srv_poll(int port, int n)
{
	struct pollfd p[MAXC + 1];
	struct conn *cs[MAXC + 1];
	int lfd = listen_on(port, SOCK_STREAM, 1), np = 1, done = 0, i, k;

	p[0].fd = lfd;
	p[0].events = POLLIN;
	while (done < n) {
		k = poll(p, (nfds_t)np, 30000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail(k ? "poll failed" : "poll: 30 s idle");
		for (i = np - 1; i >= 1; i--) {
			int st;

			if (!p[i].revents)
				continue;
			st = conn_progress(cs[i]);
			if (st == C_DONE) {
				conn_free(cs[i]);
				done++;
				np--;
				p[i] = p[np];
				cs[i] = cs[np];
				continue;
			}
			p[i].events = st == C_WANT_OUT ? POLLOUT : POLLIN;
		}
		if (p[0].revents & POLLIN) {
			int fd;

			while (np <= MAXC && (fd = accept_nb(lfd)) >= 0) {
				cs[np] = conn_new(fd);
				p[np].fd = fd;
				p[np].events = POLLIN;
				p[np].revents = 0;
				np++;
			}
		}
	}
	close(lfd);
	return 0;
}

/* ---- select ------------------------------------------------------- */

static int srv_select(int port, int n)
{
	struct conn *cs[MAXC];
	int want[MAXC];
	int lfd = listen_on(port, SOCK_STREAM, 1), nc = 0, done = 0, i, k;

	while (done < n) {
		fd_set rd, wr;
		struct timeval tv = { 30, 0 };
		int maxfd = lfd;

		FD_ZERO(&rd);
		FD_ZERO(&wr);
		FD_SET(lfd, &rd);
		for (i = 0; i < nc; i++) {
			if (cs[i]->fd >= FD_SETSIZE)
				fail("fd beyond FD_SETSIZE");
			FD_SET(cs[i]->fd, want[i] == C_WANT_OUT ? &wr : &rd);
			if (cs[i]->fd > maxfd)
				maxfd = cs[i]->fd;
		}
		k = select(maxfd + 1, &rd, &wr, NULL, &tv);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail(k ? "select failed" : "select: 30 s idle");
		for (i = nc - 1; i >= 0; i--) {
			if (!FD_ISSET(cs[i]->fd, &rd) && !FD_ISSET(cs[i]->fd, &wr))
				continue;
			want[i] = conn_progress(cs[i]);
			if (want[i] == C_DONE) {
				conn_free(cs[i]);
				done++;
				nc--;
				cs[i] = cs[nc];
				want[i] = want[nc];
			}
		}
		if (FD_ISSET(lfd, &rd)) {
			int fd;

			while (nc < MAXC && (fd = accept_nb(lfd)) >= 0) {
				cs[nc] = conn_new(fd);
				want[nc++] = C_WANT_IN;
			}
		}
	}
	close(lfd);
	return 0;
}

/* ---- blocking, thread per connection -------------------------------- */

static void *serve_blocking(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(BUFSZ);
	ssize_t r, w, off;

	if (!buf)
		fail("out of memory");
	for (;;) {
		r = read(fd, buf, BUFSZ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("blocking read");
		if (r == 0)
			break;
		for (off = 0; off < r; off += w) {
			w = write(fd, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				die("blocking write");
		}
	}
	free(buf);
	if (close(fd) < 0)
		die("close");
	return NULL;
}

static int srv_threads(int port, int n)
{
	pthread_t th[MAXC];
	int lfd = listen_on(port, SOCK_STREAM, 0), i;

	if (n > MAXC)
		fail("too many connections");
	for (i = 0; i < n; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (fd < 0)
			die("accept");
		if (pthread_create(&th[i], NULL, serve_blocking,
				   (void *)(intptr_t)fd))
			fail("pthread_create");
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	close(lfd);
	return 0;
}

/* ---- accept on one thread, serve on others (memcached's shape) ------ */

struct worker {
	pthread_t th;
	int notify[2]; /* the accept thread writes fds here */
	int served;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev, evs[16];
	int ep = epoll_create1(0), i, k, open_ = 0, closing = 0;

	if (ep < 0)
		die("worker epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, w->notify[0], &ev) < 0)
		die("worker epoll_ctl pipe");
	while (!closing || open_ > 0) {
		k = epoll_wait(ep, evs, 16, 30000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail(k ? "worker epoll_wait" : "worker: 30 s idle");
		for (i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			int st, fd;

			if (!c) {
				ssize_t r = read(w->notify[0], &fd, sizeof(fd));

				if (r == 0) {
					closing = 1;
					if (epoll_ctl(ep, EPOLL_CTL_DEL,
						      w->notify[0], NULL) < 0)
						die("worker DEL pipe");
					continue;
				}
				if (r != sizeof(fd))
					die("worker pipe read");
				set_nonblock(fd);
				c = conn_new(fd);
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
					die("worker epoll_ctl ADD");
				open_++;
				continue;
			}
			st = conn_progress(c);
			if (st == C_DONE) {
				if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL) < 0)
					die("worker DEL");
				conn_free(c);
				open_--;
				w->served++;
				continue;
			}
			ev.events = st == C_WANT_OUT ? EPOLLOUT : EPOLLIN;
			ev.data.ptr = c;
			if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
				die("worker epoll_ctl MOD");
		}
	}
	close(ep);
	close(w->notify[0]);
	return NULL;
}

static int srv_handoff(int port, int n)
{
	struct worker w[2];
	int lfd = listen_on(port, SOCK_STREAM, 0), i, total = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 2; i++) {
		if (pipe(w[i].notify) < 0)
			die("pipe");
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]))
			fail("pthread_create");
	}
	for (i = 0; i < n; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (fd < 0)
			die("accept");
		if (write(w[i % 2].notify[1], &fd, sizeof(fd)) != sizeof(fd))
			die("pipe write");
	}
	for (i = 0; i < 2; i++) {
		close(w[i].notify[1]);
		pthread_join(w[i].th, NULL);
		total += w[i].served;
	}
	close(lfd);
	if (total != n || (n >= 2 && (!w[0].served || !w[1].served)))
		fail("handoff: connections not spread over both workers");
	return 0;
}

/* ---- UDP echo ----------------------------------------------------- */

static int srv_udp(int port)
{
	int fd = listen_on(port, SOCK_DGRAM, 0), n = 0;
	char buf[2048];

	for (;;) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&a, &al);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("recvfrom");
		if (r == 4 && memcmp(buf, "QUIT", 4) == 0)
			break;
		if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&a, al) != r)
			die("sendto");
		n++;
	}
	close(fd);
	fprintf(stderr, "udp: %d datagrams echoed\n", n);
	return n > 0 ? 0 : 1;
}

/* ---- fork: the child closes the listener and a live connection ------ */

static void echo_blocking_fd(int fd)
{
	serve_blocking((void *)(intptr_t)fd);
}

static int srv_fork(int port, int n)
{
	int lfd = listen_on(port, SOCK_STREAM, 0), a, st, i;
	char ch;
	pid_t pid;

	a = accept(lfd, NULL, NULL);
	if (a < 0)
		die("accept A");
	if (read(a, &ch, 1) != 1 || ch != 'F')
		fail("fork: expected 'F' on A");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* like redis' BGSAVE child: close what it does not need */
		if (close(lfd) < 0 || close(a) < 0)
			_exit(2);
		exit(0); /* atexit handlers and exit_group, as a real child */
	}
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("fork: child failed");
	if (write(a, "K", 1) != 1)
		die("write K");
	echo_blocking_fd(a); /* the bulk phase on A, then close */
	for (i = 0; i < n; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			die("accept");
		echo_blocking_fd(fd);
	}
	close(lfd);
	sleep(1); /* the script's sniffer reads nf0 until the tap goes */
	return 0;
}

/* ---- mixed: sockets, a pipe and a timerfd in one epoll set ------------ */

#define PIPE_MSGS 200

static void *pipe_feeder(void *arg)
{
	int fd = (int)(intptr_t)arg, i, j;
	struct gen g;
	uint8_t m[300];
	struct timespec ts = { 0, 2000000 };

	gen_init(&g, 999);
	for (i = 0; i < PIPE_MSGS; i++) {
		int len = 1 + (i * 37) % 300;

		for (j = 0; j < len; j++)
			m[j] = gen_byte(&g);
		if (write(fd, m, (size_t)len) != len)
			die("feeder write");
		if (i % 10 == 0)
			nanosleep(&ts, NULL);
	}
	close(fd);
	return NULL;
}

static int srv_mixed(int port, int n)
{
	struct epoll_event ev, evs[16];
	struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } };
	struct gen g;
	pthread_t th;
	uint64_t ticks = 0, expiries;
	size_t pipe_bytes = 0, want_bytes = 0;
	int lfd = listen_on(port, SOCK_STREAM, 1), ep, pfd[2], tfd;
	int done = 0, pipe_eof = 0, i, k;
	static const int TAG_L = 1, TAG_P = 2, TAG_T = 3;

	for (i = 0; i < PIPE_MSGS; i++)
		want_bytes += (size_t)(1 + (i * 37) % 300);
	gen_init(&g, 999);
	ep = epoll_create1(0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (ep < 0 || tfd < 0 || pipe2(pfd, O_NONBLOCK) < 0)
		die("epoll/timerfd/pipe");
	if (timerfd_settime(tfd, 0, &its, NULL) < 0)
		die("timerfd_settime");
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)TAG_L;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("ADD listener");
	ev.data.u64 = (uint64_t)TAG_P;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) < 0)
		die("ADD pipe");
	ev.data.u64 = (uint64_t)TAG_T;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
		die("ADD timerfd");
	if (pthread_create(&th, NULL, pipe_feeder, (void *)(intptr_t)pfd[1]))
		fail("pthread_create");
	while (done < n || !pipe_eof || ticks < 3) {
		k = epoll_wait(ep, evs, 16, 30000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail(k ? "epoll_wait" : "mixed: 30 s idle");
		for (i = 0; i < k; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == (uint64_t)TAG_T) {
				if (read(tfd, &expiries, 8) == 8)
					ticks += expiries;
			} else if (tag == (uint64_t)TAG_P) {
				uint8_t b[512];
				ssize_t r, j;

				while ((r = read(pfd[0], b, sizeof(b))) > 0)
					for (j = 0; j < r; j++)
						if (b[j] != gen_byte(&g))
							fail("pipe data differs");
						else
							pipe_bytes++;
				if (r == 0) {
					pipe_eof = 1;
					if (epoll_ctl(ep, EPOLL_CTL_DEL, pfd[0],
						      NULL) < 0)
						die("DEL pipe");
				}
			} else if (tag == (uint64_t)TAG_L) {
				int fd;

				while ((fd = accept_nb(lfd)) >= 0) {
					ev.events = EPOLLIN;
					ev.data.ptr = conn_new(fd);
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd,
						      &ev) < 0)
						die("ADD conn");
				}
			} else {
				struct conn *c = evs[i].data.ptr;
				int st = conn_progress(c);

				if (st == C_DONE) {
					if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd,
						      NULL) < 0)
						die("DEL conn");
					conn_free(c);
					done++;
					continue;
				}
				ev.events = st == C_WANT_OUT ? EPOLLOUT : EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
					die("MOD conn");
			}
		}
	}
	pthread_join(th, NULL);
	if (pipe_bytes != want_bytes)
		fail("pipe: wrong byte count");
	fprintf(stderr, "mixed: %d conns, %zu pipe bytes, %llu timer ticks\n",
		done, pipe_bytes, (unsigned long long)ticks);
	close(pfd[0]);
	close(tfd);
	close(ep);
	close(lfd);
	return 0;
}

/* ---- exec with a live connection ------------------------------------- */

static int srv_exec(int port)
{
	int lfd = listen_on(port, SOCK_STREAM, 0), a;

	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC); /* Linux: FIN at exec */
	if (a < 0)
		die("accept");
	if (write(a, "hello", 5) != 5)
		die("write hello");
	if (execl("/nonexistent/netfuse-itest", "x", (char *)NULL) == 0 ||
	    errno != ENOENT)
		fail("exec of a missing file: want ENOENT");
	if (write(a, "still", 5) != 5)
		die("write after a failed exec");
	execl("/bin/sleep", "sleep", "30", (char *)NULL);
	die("execl /bin/sleep");
	return 1;
}

/* ---- clients ------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sa_of(struct sockaddr_in *a, const char *host, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		fail("bad host address");
}

struct cconn {
	int fd, connecting, wr_shut, done;
	size_t size, sent, got;
	struct gen tx, rx, chunk;
};

static int cli_tcp(const char *host, int port, const char *sizes)
{
	struct cconn cs[MAXC];
	struct pollfd p[MAXC];
	struct sockaddr_in a;
	const char *s = sizes;
	static uint8_t buf[BUFSZ];
	int nc = 0, left, i;
	double deadline = now_s() + 40;
	size_t total = 0;

	sa_of(&a, host, port);
	while (*s && nc < MAXC) {
		struct cconn *c = &cs[nc];

		memset(c, 0, sizeof(*c));
		c->size = strtoul(s, (char **)&s, 10);
		if (*s == ',')
			s++;
		gen_init(&c->tx, (unsigned)nc);
		gen_init(&c->rx, (unsigned)nc);
		gen_init(&c->chunk, (unsigned)nc + 100);
		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c->fd < 0)
			die("socket");
		if (nc % 2) { /* non-blocking connect, then SO_ERROR */
			set_nonblock(c->fd);
			if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0)
				c->connecting = 0;
			else if (errno == EINPROGRESS)
				c->connecting = 1;
			else
				die("connect (non-blocking)");
		} else {
			if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
				die("connect");
			set_nonblock(c->fd);
		}
		total += c->size;
		nc++;
	}
	left = nc;
	while (left > 0) {
		int k, t = (int)((deadline - now_s()) * 1000);

		if (t <= 0)
			fail("client: 40 s deadline");
		for (i = 0; i < nc; i++) {
			struct cconn *c = &cs[i];

			p[i].fd = c->done ? -1 : c->fd;
			p[i].events = POLLIN;
			if (c->connecting || c->sent < c->size)
				p[i].events |= POLLOUT;
			p[i].revents = 0;
		}
		k = poll(p, (nfds_t)nc, t);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("client poll");
		for (i = 0; i < nc; i++) {
			struct cconn *c = &cs[i];
			ssize_t r;

			if (c->done || !p[i].revents)
				continue;
			if (c->connecting) {
				int err = 0;
				socklen_t el = sizeof(err);

				if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
					       &el) < 0)
					die("SO_ERROR");
				if (err) {
					errno = err;
					die("non-blocking connect");
				}
				if (!(p[i].revents & POLLOUT))
					continue;
				c->connecting = 0;
			}
			while (c->sent < c->size) {
				size_t n = 1 + (gen_byte(&c->chunk) *
						(size_t)gen_byte(&c->chunk)) %
						       BUFSZ, j;
				struct gen save = c->tx;

				if (n > c->size - c->sent)
					n = c->size - c->sent;
				for (j = 0; j < n; j++)
					buf[j] = gen_byte(&c->tx);
				r = send(c->fd, buf, n, MSG_NOSIGNAL);
				if (r < 0 && (errno == EAGAIN ||
					      errno == EWOULDBLOCK)) {
					c->tx = save;
					break;
				}
				if (r <= 0)
					die("client send");
				/* rewind the stream past what was not taken */
				c->tx = save;
				for (j = 0; j < (size_t)r; j++)
					(void)gen_byte(&c->tx);
				c->sent += (size_t)r;
			}
			if (c->sent == c->size && !c->wr_shut) {
				if (shutdown(c->fd, SHUT_WR) < 0)
					die("shutdown");
				c->wr_shut = 1;
			}
			for (;;) {
				ssize_t j;

				r = recv(c->fd, buf, sizeof(buf), 0);
				if (r < 0 && (errno == EAGAIN ||
					      errno == EWOULDBLOCK))
					break;
				if (r < 0)
					die("client recv");
				if (r == 0) {
					if (c->got != c->size) {
						fprintf(stderr, "conn %d: EOF "
							"after %zu of %zu\n", i,
							c->got, c->size);
						exit(1);
					}
					c->done = 1;
					close(c->fd);
					left--;
					break;
				}
				for (j = 0; j < r; j++)
					if (buf[j] != gen_byte(&c->rx)) {
						fprintf(stderr, "conn %d: byte "
							"%zu differs\n", i,
							c->got + (size_t)j);
						exit(1);
					}
				c->got += (size_t)r;
				if (c->got > c->size)
					fail("client: more bytes than sent");
			}
		}
	}
	printf("OK %d connections, %zu bytes echoed byte-exact\n", nc, total);
	return 0;
}

static int connect_to(const char *host, int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa_of(&a, host, port);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

static int cli_fork_bulk(const char *host, int port, size_t bulk)
{
	struct timeval tv = { 10, 0 };
	struct gen tx, rx;
	int fd = connect_to(host, port);
	uint8_t *b = malloc(BUFSZ);
	size_t sent = 0, got = 0, j;
	ssize_t r;
	char ch = 0;

	if (!b)
		fail("out of memory");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	if (write(fd, "F", 1) != 1)
		die("write F");
	r = read(fd, &ch, 1);
	if (r < 0)
		die("read K (RST from the child's close?)");
	if (r == 0)
		fail("EOF instead of K: the child's close sent a FIN");
	if (ch != 'K')
		fail("wrong byte instead of K");
	printf("A survived the child: K received\n");
	fflush(stdout);
	gen_init(&tx, 7);
	gen_init(&rx, 7);
	/* lock-step in 16 KB pieces: never more in flight than buffers hold */
	while (sent < bulk) {
		size_t n = bulk - sent < 16384 ? bulk - sent : 16384, k;

		for (j = 0; j < n; j++)
			b[j] = gen_byte(&tx);
		if (write(fd, b, n) != (ssize_t)n)
			die("bulk write");
		sent += n;
		for (k = 0; k < n; k += (size_t)r) {
			r = read(fd, b, n - k);
			if (r <= 0)
				fail("bulk: EOF, timeout or error on A");
			for (j = 0; j < (size_t)r; j++)
				if (b[j] != gen_byte(&rx))
					fail("bulk: byte differs on A");
		}
		got += n;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	r = read(fd, b, 1);
	if (r != 0)
		fail("bulk: no EOF after the echo");
	close(fd);
	free(b);
	printf("OK A: %zu bytes echoed after the child exited\n", got);
	return 0;
}

static int cli_exec(const char *host, int port)
{
	struct timeval tv = { 15, 0 };
	int fd = connect_to(host, port);
	char buf[64];
	size_t got = 0;
	ssize_t r;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	while ((r = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)r;
	if (r < 0)
		die("execc: read (no FIN at exec?)");
	close(fd);
	if (got != 10 || memcmp(buf, "hellostill", 10) != 0)
		fail("execc: wrong data before EOF");
	printf("OK hellostill then EOF\n");
	return 0;
}

static int srv_burst(int port, size_t size)
{
	int lfd = listen_on(port, SOCK_STREAM, 0), a;
	uint8_t *b = malloc(size ? size : 1);
	struct gen g;
	size_t off, j;
	ssize_t r;
	char ch;

	if (!b)
		fail("out of memory");
	gen_init(&g, 5);
	for (j = 0; j < size; j++)
		b[j] = gen_byte(&g);
	a = accept(lfd, NULL, NULL);
	if (a < 0)
		die("accept");
	if (read(a, &ch, 1) != 1)
		die("burst read");
	for (off = 0; off < size; off += (size_t)r) {
		r = write(a, b + off, size - off);
		if (r <= 0)
			die("burst write");
	}
	if (close(a) < 0 || close(lfd) < 0)
		die("close");
	_exit(0); /* no socket open: the queued bytes must still leave */
}

static int cli_slow(const char *host, int port, size_t size)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	struct timespec ts = { 0, 500000000 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), rb = 32768;
	uint8_t b[4096];
	struct gen g;
	size_t got = 0;
	ssize_t r, j;

	sa_of(&a, host, port);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("setsockopt");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	if (write(fd, "g", 1) != 1)
		die("write");
	nanosleep(&ts, NULL);
	gen_init(&g, 5);
	while ((r = read(fd, b, sizeof(b))) > 0) {
		for (j = 0; j < r; j++)
			if (b[j] != gen_byte(&g))
				fail("slowc: byte differs");
		got += (size_t)r;
	}
	if (r < 0 || got != size) {
		fprintf(stderr, "slowc: %zu of %zu bytes, then %s\n", got, size,
			r < 0 ? strerror(errno) : "EOF");
		return 1;
	}
	close(fd);
	printf("OK %zu bytes, then EOF\n", got);
	return 0;
}

static int srv_splice(int port, size_t size)
{
	char path[] = "/tmp/nf-itest-splice.XXXXXX";
	int lfd, a, tf = mkstemp(path), p[2];
	uint8_t *b = malloc(size ? size : 1);
	struct gen g;
	size_t j, done = 0, inpipe = 0;
	ssize_t r;
	char ch;

	if (tf < 0 || !b || pipe(p) < 0)
		die("mkstemp/pipe");
	unlink(path);
	gen_init(&g, 5);
	for (j = 0; j < size; j++)
		b[j] = gen_byte(&g);
	if (write(tf, b, size) != (ssize_t)size || lseek(tf, 0, SEEK_SET) != 0)
		die("temporary file");
	free(b);
	lfd = listen_on(port, SOCK_STREAM, 0);
	a = accept(lfd, NULL, NULL);
	if (a < 0)
		die("accept");
	if (read(a, &ch, 1) != 1)
		die("read");
	set_nonblock(a);
	while (done < size) {
		if (!inpipe) {
			r = splice(tf, NULL, p[1], NULL, 65536, SPLICE_F_MOVE);
			if (r <= 0)
				die("splice file -> pipe");
			inpipe = (size_t)r;
		}
		r = splice(p[0], NULL, a, NULL, inpipe,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (r < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = a, .events = POLLOUT };

			if (poll(&pf, 1, 10000) <= 0)
				fail("splice: socket never writable");
			continue;
		}
		if (r <= 0)
			die("splice pipe -> socket");
		inpipe -= (size_t)r;
		done += (size_t)r;
	}
	if (close(a) < 0 || close(lfd) < 0)
		die("close");
	close(tf);
	fprintf(stderr, "splice: %zu bytes\n", done);
	return 0;
}

static int srv_splicerecv(int port, size_t size)
{
	char path[] = "/tmp/nf-itest-splice.XXXXXX";
	int lfd, a, tf = mkstemp(path), p[2];
	uint8_t *b = malloc(BUFSZ);
	struct gen g;
	size_t done = 0, j;
	ssize_t r, w;

	if (tf < 0 || !b || pipe(p) < 0)
		die("mkstemp/pipe");
	unlink(path);
	lfd = listen_on(port, SOCK_STREAM, 0);
	a = accept(lfd, NULL, NULL);
	if (a < 0)
		die("accept");
	for (;;) {
		r = splice(a, NULL, p[1], NULL, 65536, SPLICE_F_MOVE);
		if (r < 0)
			die("splice socket -> pipe");
		if (r == 0)
			break; /* EOF */
		while (r > 0) {
			w = splice(p[0], NULL, tf, NULL, (size_t)r, SPLICE_F_MOVE);
			if (w <= 0)
				die("splice pipe -> file");
			r -= w;
			done += (size_t)w;
		}
	}
	if (done != size || lseek(tf, 0, SEEK_SET) != 0)
		fail("splicerecv: wrong byte count");
	gen_init(&g, 5);
	while ((r = read(tf, b, BUFSZ)) > 0)
		for (j = 0; j < (size_t)r; j++)
			if (b[j] != gen_byte(&g))
				fail("splicerecv: file differs");
	if (write(a, "OK", 2) != 2 || close(a) < 0 || close(lfd) < 0)
		die("answer");
	close(tf);
	free(b);
	fprintf(stderr, "splicerecv: %zu bytes\n", done);
	return 0;
}

static int cli_send(const char *host, int port, size_t size)
{
	int fd = connect_to(host, port);
	uint8_t *b = malloc(size ? size : 1);
	struct gen g;
	size_t off, j;
	ssize_t r;
	char ans[8];

	if (!b)
		fail("out of memory");
	gen_init(&g, 5);
	for (j = 0; j < size; j++)
		b[j] = gen_byte(&g);
	for (off = 0; off < size; off += (size_t)r) {
		r = write(fd, b + off, size - off);
		if (r <= 0)
			die("sendc write");
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	for (off = 0; (r = read(fd, ans + off, sizeof(ans) - off)) > 0;)
		off += (size_t)r;
	close(fd);
	free(b);
	if (off != 2 || memcmp(ans, "OK", 2) != 0)
		fail("sendc: no OK from the server");
	printf("OK %zu bytes received byte-exact by the server\n", size);
	return 0;
}

static int srv_sink(int port)
{
	int lfd = listen_on(port, SOCK_STREAM, 0), a;
	char *b = malloc(BUFSZ);
	size_t got = 0;
	ssize_t r;

	if (!b)
		fail("out of memory");
	a = accept(lfd, NULL, NULL);
	if (a < 0)
		die("accept");
	sleep(1);
	while ((r = read(a, b, BUFSZ)) > 0)
		got += (size_t)r;
	if (r < 0)
		die("sink read");
	fprintf(stderr, "sink: %zu bytes\n", got);
	close(a);
	close(lfd);
	free(b);
	return 0;
}

static int cli_outq(const char *host, int port)
{
	static char b[BUFSZ];
	int fd = connect_to(host, port), lfd, q = -1, nsd = -1, i;
	size_t sent = 0;
	ssize_t r;

	set_nonblock(fd);
	memset(b, 'q', sizeof(b));
	while (sent < (8u << 20)) {
		r = send(fd, b, sizeof(b), MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0)
			die("outq send");
		sent += (size_t)r;
	}
	if (ioctl(fd, SIOCOUTQ, &q) < 0 || ioctl(fd, SIOCOUTQNSD, &nsd) < 0)
		die("ioctl SIOCOUTQ");
	if (q <= 0 || (size_t)q > sent || nsd < 0 || nsd > q) {
		fprintf(stderr, "outq: sent %zu, SIOCOUTQ %d, SIOCOUTQNSD %d\n",
			sent, q, nsd);
		return 1;
	}
	printf("queued %zu bytes: SIOCOUTQ %d, SIOCOUTQNSD %d\n", sent, q, nsd);
	for (i = 0; i < 1000; i++) { /* the sink drains after 1 s */
		int q2 = -1;
		struct timespec ts = { 0, 10000000 };

		if (ioctl(fd, SIOCOUTQ, &q2) < 0)
			die("ioctl SIOCOUTQ");
		if (q2 == 0)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == 1000)
		fail("outq: SIOCOUTQ never fell to 0");
	close(fd);
	lfd = listen_on(0, SOCK_STREAM, 0);
	if (ioctl(lfd, SIOCOUTQ, &q) == 0 || errno != EINVAL)
		fail("outq: SIOCOUTQ on a listener: want EINVAL");
	close(lfd);
	printf("OK SIOCOUTQ then 0; EINVAL on a listener\n");
	return 0;
}

static int cli_udp(const char *host, int port, int n)
{
	struct sockaddr_in a;
	struct timeval tv = { 1, 0 };
	uint8_t m[1500], r[2048];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), i, j, tries, good = 0;

	sa_of(&a, host, port);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	for (i = 0; i < n; i++) {
		int len = 5 + (i * 97) % 1400;
		struct gen g;

		gen_init(&g, (unsigned)i);
		for (j = 0; j < len; j++)
			m[j] = gen_byte(&g);
		memcpy(m, &i, sizeof(i));
		for (tries = 0; tries < 5; tries++) {
			ssize_t k;

			if (sendto(fd, m, (size_t)len, 0, (struct sockaddr *)&a,
				   sizeof(a)) != len)
				die("sendto");
			k = recv(fd, r, sizeof(r), 0);
			while (k >= 4 && memcmp(r, &i, 4) != 0) /* late dup */
				k = recv(fd, r, sizeof(r), 0);
			if (k < 0)
				continue;
			if (k == len && memcmp(r, m, (size_t)len) == 0)
				good++;
			break;
		}
	}
	for (i = 0; i < 3; i++)
		(void)sendto(fd, "QUIT", 4, 0, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	if (good != n) {
		fprintf(stderr, "udpc: %d of %d echoed\n", good, n);
		return 1;
	}
	printf("OK %d datagrams echoed byte-exact\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	int port = argc > 2 ? atoi(argv[2]) : 0;
	int n = argc > 3 ? atoi(argv[3]) : 1;

	alarm(90); /* never outlive the script */
	if (!strcmp(m, "epoll"))
		return srv_epoll(port, n);
	if (!strcmp(m, "poll"))
		return srv_poll(port, n);
	if (!strcmp(m, "select"))
		return srv_select(port, n);
	if (!strcmp(m, "threads"))
		return srv_threads(port, n);
	if (!strcmp(m, "handoff"))
		return srv_handoff(port, n);
	if (!strcmp(m, "udp"))
		return srv_udp(port);
	if (!strcmp(m, "fork"))
		return srv_fork(port, n);
	if (!strcmp(m, "mixed"))
		return srv_mixed(port, n);
	if (!strcmp(m, "exec"))
		return srv_exec(port);
	if (!strcmp(m, "sink"))
		return srv_sink(port);
	if (!strcmp(m, "splicerecv"))
		return srv_splicerecv(port, strtoul(argc > 3 ? argv[3] : "0",
						    NULL, 10));
	if (argc > 4 && !strcmp(m, "sendc"))
		return cli_send(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 10));
	if (!strcmp(m, "splice"))
		return srv_splice(port, strtoul(argc > 3 ? argv[3] : "0", NULL, 10));
	if (!strcmp(m, "burst"))
		return srv_burst(port, strtoul(argc > 3 ? argv[3] : "0", NULL, 10));
	if (argc > 4 && !strcmp(m, "slowc"))
		return cli_slow(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 10));
	if (argc > 3 && !strcmp(m, "outq"))
		return cli_outq(argv[2], atoi(argv[3]));
	if (argc > 3 && !strcmp(m, "execc"))
		return cli_exec(argv[2], atoi(argv[3]));
	if (argc > 4 && !strcmp(m, "client"))
		return cli_tcp(argv[2], atoi(argv[3]), argv[4]);
	if (argc > 4 && !strcmp(m, "forkc"))
		return cli_fork_bulk(argv[2], atoi(argv[3]),
				     strtoul(argv[4], NULL, 10));
	if (argc > 4 && !strcmp(m, "udpc"))
		return cli_udp(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: see the header of tests/vfs/itest_servers.c\n");
	return 2;
}
