/*
 * itest_procs.c: multi-process servers of our own for itest_procs.sh,
 * run under LD_PRELOAD=libhook.so. Every connection gets one line first,
 * "<pid>\n" of the process serving it, then its bytes echoed until EOF.
 *
 *   prefork ADDR PORT W        listen, fork W workers; each accepts
 *                              (blocking) and serves, forever
 *   prefork-epoll ADDR PORT W  the same, each worker with its own epoll
 *                              set over the inherited non-blocking
 *                              listener (nginx's pattern)
 *   reuseport ADDR PORT W      fork W workers; each opens its own
 *                              SO_REUSEPORT listener on PORT and serves
 *   forkconn ADDR PORT N       accept in the parent, fork a child per
 *                              connection (the parent closes its copy at
 *                              once), N connections, then wait and exit
 *   inetd ADDR PORT N          accept, fork; the child dup2s the
 *                              connection to 0 and 1 and execs /bin/cat
 *                              (no pid line); N connections
 *
 * Exit status 0 when the parent's part went as planned; the workers
 * run until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

static void die(const char *what)
{
	fprintf(stderr, "itest_procs: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("address");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(fd, 64) < 0)
		die("listen");
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* the pid line, then echo until EOF */
static void serve(int c)
{
	char buf[65536];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write_all(c, buf, (size_t)n) < 0)
		return;
	for (;;) {
		ssize_t k = read(c, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || write_all(c, buf, (size_t)k) < 0)
			return;
	}
}

static void worker_blocking(int l)
{
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		serve(c);
		close(c);
	}
}

static void worker_epoll(int l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		die("epoll");
	for (;;) {
		struct epoll_event got[4];
		int n = epoll_wait(ep, got, 4, -1), c;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		/* every worker is woken; one gets the connection */
		c = accept4(l, NULL, NULL, 0);
		if (c < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				continue;
			die("accept4");
		}
		serve(c);
		close(c);
	}
}

static int prefork(const char *addr, int port, int w, int use_epoll)
{
	int l = listen_on(addr, port), i;
	if (use_epoll && fcntl(l, F_SETFL, O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	for (i = 0; i < w; i++) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			if (use_epoll)
				worker_epoll(l);
			else
				worker_blocking(l);
			_exit(0);
		}
	}
	printf("ready\n");
	fflush(stdout);
	/* the master keeps the listener, as nginx's does */
	for (;;)
		pause();
	return 0;
}

/* each worker opens its own SO_REUSEPORT listener after the fork */
static int reuseport(const char *addr, int port, int w)
{
	struct sockaddr_in u = { .sin_family = AF_INET };
	int i, us = socket(AF_INET, SOCK_DGRAM, 0);
	/* the master's own socket starts the stack the workers share (a
	 * process that forks before it has one gives its children nothing
	 * to share: each would start its own) */
	if (us < 0 || inet_pton(AF_INET, addr, &u.sin_addr) != 1 ||
	    bind(us, (struct sockaddr *)&u, sizeof(u)) < 0)
		die("master's socket");
	for (i = 0; i < w; i++) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			struct sockaddr_in a = { .sin_family = AF_INET,
				.sin_port = htons((uint16_t)port) };
			int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
			if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one,
						sizeof(one)) < 0)
				die("SO_REUSEPORT");
			if (inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
			    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
			    listen(l, 64) < 0)
				die("bind/listen");
			worker_blocking(l);
			_exit(0);
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static int forkconn(const char *addr, int port, int n, int inetd)
{
	int l = listen_on(addr, port), i, bad = 0;
	printf("ready\n");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		int c = accept(l, NULL, NULL);
		pid_t p;
		if (c < 0)
			die("accept");
		p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			close(l);
			if (inetd) {
				if (dup2(c, 0) < 0 || dup2(c, 1) < 0)
					_exit(3);
				close(c);
				execl("/bin/cat", "cat", (char *)NULL);
				_exit(4);
			}
			serve(c);
			close(c);
			_exit(0);
		}
		/* the child serves it; ours goes now (the connection stays
		 * open while the child holds it, as with kernel sockets) */
		close(c);
	}
	close(l);
	for (i = 0; i < n; i++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: itest_procs MODE ADDR PORT N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "prefork"))
		return prefork(argv[2], atoi(argv[3]), atoi(argv[4]), 0);
	if (!strcmp(argv[1], "prefork-epoll"))
		return prefork(argv[2], atoi(argv[3]), atoi(argv[4]), 1);
	if (!strcmp(argv[1], "reuseport"))
		return reuseport(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(argv[1], "forkconn"))
		return forkconn(argv[2], atoi(argv[3]), atoi(argv[4]), 0);
	if (!strcmp(argv[1], "inetd"))
		return forkconn(argv[2], atoi(argv[3]), atoi(argv[4]), 1);
	fprintf(stderr, "itest_procs: unknown mode %s\n", argv[1]);
	return 2;
}
