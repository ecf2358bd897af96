/*
 * itest_load.c: helper of tests/rel/itest_load.sh and itest_procfault.sh
 * (issue 7, "Load and scale", "Process-level faults"). Plain POSIX
 * sockets + epoll: the server runs unmodified under LD_PRELOAD=libhook.so,
 * the clients on the kernel stack in the peer namespace.
 *
 *   server PORT KEEPIDLE_S USER_TIMEOUT_MS
 *       epoll echo server. Every accepted connection gets SO_KEEPALIVE
 *       (idle KEEPIDLE_S, interval 1 s, 3 probes) if KEEPIDLE_S > 0, and
 *       TCP_USER_TIMEOUT on odd-numbered connections if > 0. A request
 *       starting with 'C' is echoed and then closed by the server (server
 *       first: TIME_WAIT on the server's side). SIGUSR1 prints
 *       "STATS cur= acc= eof= etimedout= reset= other= accerr=" (errors
 *       by errno, from read/write/SO_ERROR); SIGUSR2 writes 1000 bytes to
 *       every open connection (so TCP_USER_TIMEOUT applies); SIGTERM
 *       closes every connection, prints "TERM closed=N" and exits 0
 *       (with ITEST_TERM_NOCLOSE set: _exit(0) at once, sockets open).
 *   hold ADDR PORT N NSRC HOLD_S
 *       N concurrent connections, source addresses 198.19.20.10 ..
 *       10+NSRC-1, at most 512 connecting at once; one 8-byte echo each;
 *       "CONNECTED ok= err= s="; hold HOLD_S seconds (HOLD_S < 0: until
 *       killed, for the half-open sweep), a second echo on every
 *       connection, "HELD ok= err="; close all. Exit 0 if no error.
 *   seq ADDR PORT N NSRC
 *       N sequential connections: connect, one 8-byte request, read the
 *       echo, close; every other request asks the server to close first.
 *       "SEQ ok= err= s= first_errno=". Exit 0 if no error.
 *   loop ADDR PORT SECONDS
 *       connect (10 s limit), one echo, close, in a loop for SECONDS from
 *       198.19.20.9: "LOOP ok= fail=". Exit 0.
 *   stream ADDR PORT GOFILE
 *       make the socket, bound to 198.19.20.2 (so the stack and its tap
 *       exist: "SOCKET"), wait
 *       for GOFILE, connect, then send until SIGTERM (SIGKILL/SIGTERM
 *       mid-transfer): "STREAMING" once connected; on SIGTERM closes
 *       and prints "SENT n", exit 0.
 *   sink PORT
 *       accept one connection, read until EOF or error, print
 *       "SINK bytes=N end=EOF|errno" and exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 70000

static volatile sig_atomic_t got_usr1, got_usr2, got_term;

static void on_sig(int s)
{
	if (s == SIGUSR1)
		got_usr1 = 1;
	else if (s == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void addr_of(struct sockaddr_in *a, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (ip)
		inet_pton(AF_INET, ip, &a->sin_addr);
}

/* ---- server --------------------------------------------------------- */

struct sstats {
	long cur, acc, eof, etimedout, reset, other, accerr;
};

static void count_err(struct sstats *s, int e)
{
	if (e == ETIMEDOUT)
		s->etimedout++;
	else if (e == ECONNRESET || e == EPIPE)
		s->reset++;
	else
		s->other++;
}

static int server(int port, int keepidle, int uto)
{
	static unsigned char open_fd[MAXFD];
	struct sstats s = {0};
	struct sockaddr_in a;
	struct epoll_event ev, evs[256];
	struct sigaction sa;
	char buf[4096], big[1000];
	int ls, ep, one = 1, i, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(big, 'x', sizeof(big));
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr_of(&a, NULL, port);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ls, 4096) < 0) {
		perror("server: listen");
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	printf("READY\n");
	fflush(stdout);
	while (!got_term) {
		int n = epoll_wait(ep, evs, 256, 200);
		if (got_usr1) {
			got_usr1 = 0;
			printf("STATS cur=%ld acc=%ld eof=%ld etimedout=%ld reset=%ld "
			       "other=%ld accerr=%ld\n", s.cur, s.acc, s.eof,
			       s.etimedout, s.reset, s.other, s.accerr);
			fflush(stdout);
		}
		if (got_usr2) {
			got_usr2 = 0;
			for (fd = 0; fd < MAXFD; fd++)
				if (open_fd[fd] && write(fd, big, sizeof(big)) < 0 &&
				    errno != EAGAIN) {
					count_err(&s, errno);
					close(fd);
					open_fd[fd] = 0;
					s.cur--;
				}
		}
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == ls) {
				for (;;) {
					int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
					if (c < 0) {
						if (errno != EAGAIN && errno != EINTR)
							s.accerr++;
						break;
					}
					if (c >= MAXFD) {
						close(c);
						s.accerr++;
						continue;
					}
					s.acc++;
					if (keepidle > 0) {
						int intvl = 1, cnt = 3;
						setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
						setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &keepidle, sizeof(keepidle));
						setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
						setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
					}
					if (uto > 0 && (s.acc & 1))
						setsockopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
					open_fd[c] = 1;
					s.cur++;
				}
				continue;
			}
			if (!open_fd[fd])
				continue;
			{
				ssize_t r = read(fd, buf, sizeof(buf));
				int e = 0, closeit = 0;
				socklen_t el = sizeof(e);
				if (r > 0) {
					if (write(fd, buf, (size_t)r) < 0 && errno != EAGAIN) {
						count_err(&s, errno);
						closeit = 1;
					} else if (buf[0] == 'C') {
						closeit = 1;
					}
				} else if (r == 0) {
					s.eof++;
					closeit = 1;
				} else if (errno != EAGAIN && errno != EINTR) {
					count_err(&s, errno);
					closeit = 1;
				} else if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
					getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
					count_err(&s, e);
					closeit = 1;
				}
				if (closeit) {
					close(fd);
					open_fd[fd] = 0;
					s.cur--;
				}
			}
		}
	}
	if (getenv("ITEST_TERM_NOCLOSE")) {
		/* leave every socket to the exit path (vfs/ closes them) */
		printf("TERM closed=0 (exit without close)\n");
		fflush(stdout);
		_exit(0);
	}
	{
		long closed = 0;
		for (fd = 0; fd < MAXFD; fd++)
			if (open_fd[fd]) {
				close(fd);
				closed++;
			}
		close(ls);
		printf("TERM closed=%ld\n", closed);
		fflush(stdout);
	}
	return 0;
}

/* ---- clients ---------------------------------------------------------- */

static void src_of(struct sockaddr_in *a, int i, int nsrc)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "198.19.20.%d", 10 + i % nsrc);
	addr_of(a, ip, 0);
}

/* one echo of 8 bytes on a blocking socket; 0 or errno */
static int echo8(int fd, char tag)
{
	char m[8] = {tag, 'e', 'l', 'l', 'o', '1', '2', '\n'}, r[8];
	size_t got = 0;
	if (write(fd, m, 8) != 8)
		return errno ? errno : EIO;
	while (got < 8) {
		ssize_t n = read(fd, r + got, 8 - got);
		if (n <= 0)
			return n == 0 ? ENODATA : errno; /* ENODATA: EOF */
		got += (size_t)n;
	}
	return memcmp(m, r, 8) ? EBADMSG : 0;
}

static void set_timeouts(int fd, int sec)
{
	struct timeval tv = {sec, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int hold(const char *ip, int port, int n, int nsrc, int hold_s)
{
	int *fds = calloc((size_t)n, sizeof(int));
	struct sockaddr_in dst, src;
	struct epoll_event ev, evs[256];
	int ep = epoll_create1(0), i, started = 0, pending = 0, ok = 0, err = 0;
	int first_err = 0;
	double t0 = now_s();

	if (!fds || ep < 0)
		return 1;
	addr_of(&dst, ip, port);
	/* phase 1: connect, at most 512 in flight */
	while (ok + err < n) {
		while (started < n && pending < 512) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			int one = 1;
			fds[started] = fd;
			if (fd < 0) {
				if (!first_err)
					first_err = errno;
				err++;
				started++;
				continue;
			}
			setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
			src_of(&src, started, nsrc);
			if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
			    (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
			     errno != EINPROGRESS)) {
				if (!first_err)
					first_err = errno;
				err++;
				close(fd);
				fds[started] = -1;
				started++;
				continue;
			}
			ev.events = EPOLLOUT;
			ev.data.u32 = (uint32_t)started;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			started++;
			pending++;
		}
		{
			int m = epoll_wait(ep, evs, 256, 10000), k;
			if (m <= 0) {
				fprintf(stderr, "hold: no progress in 10 s (%d pending)\n", pending);
				break;
			}
			for (k = 0; k < m; k++) {
				int idx = (int)evs[k].data.u32, fd = fds[idx], e = 0;
				socklen_t el = sizeof(e);
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				pending--;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
				if (!e) {
					fcntl(fd, F_SETFL, 0);
					set_timeouts(fd, 10);
					e = echo8(fd, 'h');
				}
				if (e) {
					if (!first_err)
						first_err = e;
					err++;
					close(fd);
					fds[idx] = -1;
				} else {
					ok++;
				}
			}
		}
	}
	printf("CONNECTED ok=%d err=%d s=%.2f first_errno=%d\n", ok, err,
	       now_s() - t0, first_err);
	fflush(stdout);
	if (hold_s < 0)
		for (;;)
			pause();
	sleep((unsigned)hold_s);
	ok = 0;
	for (i = 0; i < n; i++) {
		int e;
		if (fds[i] < 0)
			continue;
		e = echo8(fds[i], 'h');
		if (e) {
			if (!first_err)
				first_err = e;
			err++;
		} else {
			ok++;
		}
	}
	printf("HELD ok=%d err=%d first_errno=%d\n", ok, err, first_err);
	fflush(stdout);
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return err ? 1 : 0;
}

static int seq(const char *ip, int port, int n, int nsrc)
{
	struct sockaddr_in dst, src;
	int i, ok = 0, err = 0, first_err = 0;
	double t0 = now_s();

	addr_of(&dst, ip, port);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), e = 0, one = 1;
		if (fd < 0) {
			e = errno;
		} else {
			set_timeouts(fd, 5);
			setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
			src_of(&src, i, nsrc);
			if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
			    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
				e = errno;
			else
				e = echo8(fd, i & 1 ? 'C' : 's');
			close(fd);
		}
		if (e) {
			if (!first_err) {
				first_err = e;
				fprintf(stderr, "seq: connection %d: %s\n", i, strerror(e));
			}
			err++;
		} else {
			ok++;
		}
	}
	printf("SEQ ok=%d err=%d s=%.2f first_errno=%d\n", ok, err, now_s() - t0,
	       first_err);
	return err ? 1 : 0;
}

static int loop(const char *ip, int port, int secs)
{
	struct sockaddr_in dst, src;
	double end = now_s() + secs;
	int ok = 0, fail = 0;

	addr_of(&dst, ip, port);
	addr_of(&src, "198.19.20.9", 0);
	while (now_s() < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), e;
		/* A connect that succeeds after SYN retransmissions succeeds:
		 * under --flood on 2 cores the tap itself drops frames (the
		 * kernel's queue, before any stack sees them), and the
		 * kernel retries a lost SYN after 1, 3 and 7 s. 10 s covers
		 * two lost retries; a connect the server refuses or resets
		 * still fails at once. */
		set_timeouts(fd, 10);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
		    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			e = errno;
		else
			e = echo8(fd, 'l');
		close(fd);
		if (e) {
			fail++;
			if (fail < 5)
				fprintf(stderr, "loop: %s (attempt %d, at %.1f s)\n",
					strerror(e), ok + fail, now_s() - (end - secs));
		} else {
			ok++;
		}
		usleep(20000);
	}
	printf("LOOP ok=%d fail=%d\n", ok, fail);
	return 0;
}

static int stream(const char *ip, int port, const char *go)
{
	static char buf[65536];
	struct sockaddr_in dst;
	struct sigaction sa;
	long long sent = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 's', sizeof(buf));
	/* binding the netfuse address routes the socket to the user stack
	 * now (vfs/README.md "Routing"): the instance and its tap exist */
	addr_of(&dst, "198.19.20.2", 0);
	if (bind(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("stream: bind 198.19.20.2");
		return 1;
	}
	addr_of(&dst, ip, port);
	printf("SOCKET\n");
	fflush(stdout);
	while (access(go, F_OK) != 0)
		usleep(20000);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("stream: connect");
		return 1;
	}
	printf("STREAMING\n");
	fflush(stdout);
	while (!got_term) {
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			sent += n;
	}
	close(fd);
	printf("SENT %lld\n", sent);
	return 0;
}

static int sink(int port)
{
	static char buf[65536];
	struct sockaddr_in a;
	long long got = 0;
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0), c;
	ssize_t n;

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr_of(&a, NULL, port);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0) {
		perror("sink: listen");
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	c = accept(ls, NULL, NULL);
	while ((n = read(c, buf, sizeof(buf))) > 0)
		got += n;
	printf("SINK bytes=%lld end=%s\n", got, n == 0 ? "EOF" : strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "server") && argc == 5)
		return server(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(m, "hold") && argc == 7)
		return hold(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
			    atoi(argv[6]));
	if (!strcmp(m, "seq") && argc == 6)
		return seq(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(m, "loop") && argc == 5)
		return loop(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(m, "stream") && argc == 5)
		return stream(argv[2], atoi(argv[3]), argv[4]);
	if (!strcmp(m, "sink") && argc == 3)
		return sink(atoi(argv[2]));
	fprintf(stderr, "usage: see tests/rel/itest_load.c\n");
	return 2;
}
