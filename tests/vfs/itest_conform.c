/*
 * itest_conform.c: the backend conformance suite (docs/DESIGN.md,
 * "Stacks as plug-ins"). One plain program asks the socket questions
 * whose answers a program depends on, and compares each answer with
 * Linux's. tests/vfs/itest_conform.sh runs it three times over the same
 * addresses: without the hook (the kernel: the reference, which must
 * answer every check as written here), and under libhook.so with
 * NETFUSE_STACK=netfuse and =lwip. The far end is conform_peer.py on the
 * kernel's stack, driven over a control connection.
 *
 *   itest_conform SELF PEER CTLPORT
 *
 * One line per check: "ok NAME" or "diff NAME: got X, Linux Y"; then
 * "conform: N ok, M diff". Exit 0 when it ran to the end (diffs are
 * results, not failures: the script decides what each backend must meet).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *self_s, *peer_s;
static struct in_addr self_a, peer_a;
static FILE *ctl_r, *ctl_w;
static int n_ok, n_diff;
static int next_port = 7600;

/* ---- results ---- */
static void check(const char *name, const char *got, const char *linux_)
{
	if (!strcmp(got, linux_)) {
		printf("ok %s\n", name);
		n_ok++;
	} else {
		printf("diff %s: got %s, Linux %s\n", name, got, linux_);
		n_diff++;
	}
	fflush(stdout);
}

/* an errno (or 0) as its name */
static const char *en(int e)
{
	static char b[8][24];
	static int k;
	char *s = b[k++ & 7];
	switch (e) {
#define E(x) case x: return #x;
	E(EAGAIN) E(EINPROGRESS) E(ECONNREFUSED) E(ECONNRESET) E(EPIPE)
	E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENOTCONN) E(EISCONN) E(EALREADY)
	E(EINVAL) E(EMSGSIZE) E(EDESTADDRREQ) E(ETIMEDOUT) E(EOPNOTSUPP)
	E(ENETUNREACH) E(EBADF)
#undef E
	case 0: return "0";
	}
	snprintf(s, 24, "errno%d", e);
	return s;
}

/* a call's result: its value, or the errno's name */
static const char *rv(long r)
{
	static char b[8][24];
	static int k;
	char *s = b[k++ & 7];
	if (r < 0)
		return en(errno);
	snprintf(s, 24, "%ld", r);
	return s;
}

/* ---- the peer ---- */
static char reply[70000];

static const char *peer(const char *fmt, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, fmt);
	vfprintf(ctl_w, fmt, ap);
	va_end(ap);
	fputc('\n', ctl_w);
	fflush(ctl_w);
	if (!fgets(reply, sizeof(reply), ctl_r)) {
		fprintf(stderr, "conform: the peer went away\n");
		exit(2);
	}
	n = strlen(reply);
	while (n && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		reply[--n] = 0;
	return reply;
}

static struct sockaddr_in sin_of(struct in_addr a, int port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr = a;
	s.sin_port = htons((uint16_t)port);
	return s;
}

static int tcp(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

/* a connection to a peer listener in `mode` (-1: failed) */
static int to_peer(const char *mode)
{
	int port = next_port++, fd = tcp();
	struct sockaddr_in a = sin_of(peer_a, port);
	peer("L %d %s", port, mode);
	if (connect(fd, (void *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int wait_ev(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

/* a listener on SELF (its port in *port) */
static int listener(int *port)
{
	int fd = tcp(), one = 1;
	struct sockaddr_in a;
	*port = next_port++;
	a = sin_of(self_a, *port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* the peer connects (as id) to a new listener; the accepted fd */
static int from_peer(const char *id, int *lfd)
{
	int port, c;
	*lfd = listener(&port);
	if (*lfd < 0 || strcmp(peer("C %s %d", id, port), "ok"))
		return -1;
	if (!(wait_ev(*lfd, POLLIN, 3000) & POLLIN))
		return -1;
	c = accept(*lfd, NULL, NULL);
	return c;
}

/* ---- TCP as a client ---- */
static void client_checks(void)
{
	struct sockaddr_in a, b;
	socklen_t l;
	char buf[16384];
	int fd, r, e, v;

	fd = tcp();
	a = sin_of(peer_a, 9); /* nothing listens */
	r = connect(fd, (void *)&a, sizeof(a));
	check("tcp_connect_refused", rv(r), "ECONNREFUSED");
	close(fd);

	fd = tcp();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	r = connect(fd, (void *)&a, sizeof(a));
	check("tcp_nb_connect_refused_einprogress", rv(r), "EINPROGRESS");
	wait_ev(fd, POLLOUT, 3000);
	e = -1;
	l = sizeof(e);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
	check("tcp_nb_connect_refused_so_error", en(e), "ECONNREFUSED");
	close(fd);

	{
		int port = next_port++;
		peer("L %d echo", port);
		fd = tcp();
		fcntl(fd, F_SETFL, O_NONBLOCK);
		a = sin_of(peer_a, port);
		r = connect(fd, (void *)&a, sizeof(a));
		check("tcp_nb_connect_einprogress", rv(r), "EINPROGRESS");
		v = wait_ev(fd, POLLOUT, 3000);
		check("tcp_nb_connect_pollout", (v & POLLOUT) ? "POLLOUT" : "none",
		      "POLLOUT");
		e = -1;
		l = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
		check("tcp_nb_connect_so_error", en(e), "0");
		r = connect(fd, (void *)&a, sizeof(a));
		check("tcp_connect_again", rv(r), "0");
		r = connect(fd, (void *)&a, sizeof(a));
		check("tcp_connect_third", rv(r), "EISCONN");
		fcntl(fd, F_SETFL, 0);
		l = sizeof(b);
		getsockname(fd, (void *)&b, &l);
		check("tcp_getsockname_addr", b.sin_addr.s_addr ==
		      self_a.s_addr && b.sin_port ? "SELF:port" : "other",
		      "SELF:port");
		l = sizeof(b);
		r = getpeername(fd, (void *)&b, &l);
		check("tcp_getpeername", !r && b.sin_addr.s_addr == peer_a.s_addr &&
		      b.sin_port == a.sin_port ? "PEER:port" : "other",
		      "PEER:port");
		{ /* 100 KB there and back */
			static char out[100000], in[100000];
			size_t got = 0;
			ssize_t k;
			for (k = 0; k < (ssize_t)sizeof(out); k++)
				out[k] = (char)(k * 7);
			k = send(fd, out, sizeof(out), 0);
			while (got < sizeof(in) && wait_ev(fd, POLLIN, 3000) &&
			       (k = recv(fd, in + got, sizeof(in) - got, 0)) > 0)
				got += (size_t)k;
			check("tcp_echo_100k", got == sizeof(in) &&
			      !memcmp(in, out, sizeof(in)) ? "exact" : "short",
			      "exact");
		}
		r = send(fd, "abc", 3, 0);
		shutdown(fd, SHUT_WR);
		r = send(fd, "x", 1, MSG_NOSIGNAL);
		check("tcp_send_after_shut_wr", rv(r), "EPIPE");
		wait_ev(fd, POLLIN, 3000);
		r = (int)recv(fd, buf, sizeof(buf), 0);
		check("tcp_shut_wr_still_reads", rv(r), "3");
		wait_ev(fd, POLLIN, 3000);
		r = (int)recv(fd, buf, sizeof(buf), 0);
		check("tcp_shut_wr_then_eof", rv(r), "0");
		close(fd);
	}

	fd = to_peer("close");
	v = wait_ev(fd, POLLIN | POLLRDHUP, 3000);
	check("tcp_peer_close_poll", (v & (POLLIN | POLLRDHUP)) ==
	      (POLLIN | POLLRDHUP) ? "POLLIN|POLLRDHUP" : "other",
	      "POLLIN|POLLRDHUP");
	r = (int)recv(fd, buf, sizeof(buf), 0);
	check("tcp_peer_close_recv", rv(r), "0");
	close(fd);

	fd = to_peer("rst");
	usleep(200000);
	v = wait_ev(fd, POLLIN, 3000);
	check("tcp_peer_rst_poll", (v & (POLLERR | POLLHUP)) ? "POLLERR|HUP" :
	      "other", "POLLERR|HUP");
	r = (int)recv(fd, buf, sizeof(buf), 0);
	check("tcp_peer_rst_recv", rv(r), "ECONNRESET");
	r = (int)send(fd, "x", 1, MSG_NOSIGNAL);
	check("tcp_peer_rst_then_send", rv(r), "EPIPE");
	close(fd);

	fd = to_peer("hello");
	wait_ev(fd, POLLIN, 3000);
	usleep(50000);
	r = ioctl(fd, FIONREAD, &v) < 0 ? -1 : v;
	check("tcp_fionread", rv(r), "5");
	r = (int)recv(fd, buf, sizeof(buf), MSG_PEEK);
	check("tcp_peek", rv(r), "5");
	{
		struct tcp_info ti;
		l = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
		check("tcp_info_state", r < 0 ? rv(r) :
		      ti.tcpi_state == 1 ? "ESTABLISHED" : "other",
		      "ESTABLISHED");
	}
	l = sizeof(v);
	r = getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &l);
	check("tcp_maxseg", r < 0 ? rv(r) : rv(v), "1448");
	v = 65536;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	l = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l);
	check("so_rcvbuf_doubled", rv(v), "131072");
	r = (int)recv(fd, buf, sizeof(buf), 0);
	check("tcp_after_peek", r == 5 && !memcmp(buf, "hello", 5) ? "hello" :
	      rv(r), "hello");
	r = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	check("tcp_recv_empty_nonblock", rv(r), "EAGAIN");
	{
		struct sockaddr_in lst;
		r = connect(fd, (void *)&lst, 0);
		check("tcp_connect_short_addr", rv(r), "EINVAL");
	}
	close(fd);

	fd = to_peer("trickle");
	r = (int)recv(fd, buf, 10000, MSG_WAITALL);
	check("tcp_waitall", rv(r), "10000");
	close(fd);

	fd = to_peer("hold");
	v = 1;
	r = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
	v = 0;
	l = sizeof(v);
	getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	check("tcp_nodelay", rv(v), "1");
	v = 1;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
	v = 0;
	l = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
	check("so_keepalive", rv(v), "1");
	v = 0;
	l = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l);
	check("so_type", v == SOCK_STREAM ? "SOCK_STREAM" : rv(v),
	      "SOCK_STREAM");
	close(fd);
}

/* ---- TCP as a server ---- */
static void server_checks(void)
{
	struct sockaddr_in a, b;
	socklen_t l;
	char buf[4096];
	int lfd, lfd2, fd, r, v, port, ep;

	lfd = listener(&port);
	a = sin_of(self_a, port);
	fd = tcp();
	r = bind(fd, (void *)&a, sizeof(a));
	check("tcp_bind_in_use", rv(r), "EADDRINUSE");
	close(fd);
	fd = tcp();
	{
		struct in_addr other;
		inet_pton(AF_INET, "198.19.99.99", &other);
		b = sin_of(other, 0);
	}
	r = bind(fd, (void *)&b, sizeof(b));
	check("tcp_bind_foreign", rv(r), "EADDRNOTAVAIL");
	close(fd);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	r = accept(lfd, NULL, NULL);
	check("tcp_accept_empty", rv(r), "EAGAIN");
	v = 0;
	l = sizeof(v);
	getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
	check("so_acceptconn", rv(v), "1");
	l = sizeof(b);
	r = getpeername(lfd, (void *)&b, &l);
	check("tcp_getpeername_listener", rv(r), "ENOTCONN");
	r = (int)recv(lfd, buf, 1, 0);
	check("tcp_recv_listener", rv(r), "ENOTCONN");
	close(lfd);

	fd = from_peer("s1", &lfd);
	l = sizeof(b);
	r = getpeername(fd, (void *)&b, &l);
	check("tcp_accept_peer", !r && b.sin_addr.s_addr == peer_a.s_addr ?
	      "PEER" : "other", "PEER");
	peer("S s1 %s", "7879");
	peer("W s1");
	wait_ev(fd, POLLIN, 3000);
	usleep(50000);
	r = (int)recv(fd, buf, sizeof(buf), 0);
	check("tcp_server_reads", rv(r), "2");
	r = (int)recv(fd, buf, sizeof(buf), 0);
	check("tcp_server_eof", rv(r), "0");
	r = (int)send(fd, "bye", 3, 0);
	check("tcp_send_after_peer_fin", rv(r), "3");
	check("tcp_peer_gets_after_fin", peer("R s1 3 2000"), "data 627965");
	close(fd);
	close(lfd);

	fd = from_peer("s2", &lfd);
	peer("S s2 41");
	wait_ev(fd, POLLIN, 3000);
	usleep(50000);
	close(fd); /* unread data: Linux resets */
	check("tcp_close_unread_resets", peer("R s2 1 2000"),
	      "err ECONNRESET");
	close(lfd);

	fd = from_peer("s5", &lfd);
	{
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	check("tcp_linger0_resets", peer("R s5 1 2000"), "err ECONNRESET");
	close(lfd);

	fd = from_peer("s3", &lfd);
	ep = epoll_create1(0);
	{
		struct epoll_event e = { .events = EPOLLIN | EPOLLET };
		struct epoll_event out[4];
		int n1, n2, n3;
		e.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
		peer("S s3 61");
		n1 = epoll_wait(ep, out, 4, 2000);
		n2 = epoll_wait(ep, out, 4, 200);
		peer("S s3 62");
		n3 = epoll_wait(ep, out, 4, 2000);
		snprintf(buf, sizeof(buf), "%d,%d,%d", n1, n2, n3);
		check("epoll_edge_triggered", buf, "1,0,1");
	}
	close(ep);
	close(fd);
	close(lfd);

	lfd2 = socket(AF_INET6, SOCK_STREAM, 0);
	{
		struct sockaddr_in6 s6;
		int one = 1;
		port = next_port++;
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		setsockopt(lfd2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd2, (void *)&s6, sizeof(s6)) == 0 &&
		    listen(lfd2, 4) == 0 &&
		    !strcmp(peer("C s4 %d", port), "ok") &&
		    (wait_ev(lfd2, POLLIN, 3000) & POLLIN)) {
			char txt[64];
			socklen_t sl = sizeof(s6);
			fd = accept(lfd2, (void *)&s6, &sl);
			inet_ntop(AF_INET6, &s6.sin6_addr, txt, sizeof(txt));
			check("tcp_dual_listener_v4_peer",
			      !strncmp(txt, "::ffff:", 7) &&
			      !strcmp(txt + 7, peer_s) ? "::ffff:PEER" : txt,
			      "::ffff:PEER");
			close(fd);
		} else {
			check("tcp_dual_listener_v4_peer", "no connection",
			      "::ffff:PEER");
		}
	}
	close(lfd2);
}

/* ---- UDP ---- */
static void udp_checks(void)
{
	struct sockaddr_in a, from;
	socklen_t l;
	char buf[256];
	static char big[70000];
	int fd, r, port = next_port++, eport = next_port++;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	a = sin_of(self_a, port);
	bind(fd, (void *)&a, sizeof(a));
	peer("E %d", eport);
	a = sin_of(peer_a, eport);
	r = (int)sendto(fd, "ping", 4, 0, (void *)&a, sizeof(a));
	check("udp_sendto", rv(r), "4");
	wait_ev(fd, POLLIN, 3000);
	l = sizeof(from);
	r = (int)recvfrom(fd, buf, sizeof(buf), 0, (void *)&from, &l);
	check("udp_echo_from", r == 4 && from.sin_addr.s_addr == peer_a.s_addr &&
	      from.sin_port == a.sin_port ? "ping from PEER:port" : rv(r),
	      "ping from PEER:port");
	r = (int)send(fd, "x", 1, 0);
	check("udp_send_unconnected", rv(r), "EDESTADDRREQ");
	r = (int)sendto(fd, big, sizeof(big), 0, (void *)&a, sizeof(a));
	check("udp_too_big", rv(r), "EMSGSIZE");
	peer("U %d 100", port);
	wait_ev(fd, POLLIN, 3000);
	r = (int)recv(fd, buf, 10, MSG_TRUNC);
	check("udp_msg_trunc_len", rv(r), "100");
	r = (int)recv(fd, buf, 10, MSG_DONTWAIT);
	check("udp_empty_nonblock", rv(r), "EAGAIN");
	r = connect(fd, (void *)&a, sizeof(a));
	check("udp_connect", rv(r), "0");
	l = sizeof(from);
	r = getpeername(fd, (void *)&from, &l);
	check("udp_getpeername", !r && from.sin_port == a.sin_port ?
	      "PEER:port" : rv(r), "PEER:port");
	r = (int)send(fd, "pong", 4, 0);
	wait_ev(fd, POLLIN, 3000);
	r = (int)recv(fd, buf, sizeof(buf), 0);
	check("udp_connected_roundtrip", rv(r), "4");
	close(fd);

	/* autobind at the first sendto; a connected socket hears of
	 * the peer's ICMP port unreachable */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	a = sin_of(peer_a, 9);
	r = (int)sendto(fd, "z", 1, 0, (void *)&a, sizeof(a));
	l = sizeof(from);
	getsockname(fd, (void *)&from, &l);
	check("udp_autobind_port", r == 1 && from.sin_port ? "port" : rv(r),
	      "port");
	connect(fd, (void *)&a, sizeof(a));
	send(fd, "z", 1, 0);
	wait_ev(fd, POLLIN, 1000);
	r = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	check("udp_connected_port_unreachable", rv(r), "ECONNREFUSED");
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	int c;
	if (argc != 4) {
		fprintf(stderr, "usage: itest_conform SELF PEER CTLPORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	self_s = argv[1];
	peer_s = argv[2];
	if (inet_pton(AF_INET, self_s, &self_a) != 1 ||
	    inet_pton(AF_INET, peer_s, &peer_a) != 1)
		return 2;
	/* the peer can listen only once the stack's first socket has
	 * brought the tap up: try for 20 s */
	a = sin_of(peer_a, atoi(argv[3]));
	for (c = 0; c < 200; c++) {
		int fd = tcp();
		if (connect(fd, (void *)&a, sizeof(a)) == 0) {
			c = fd;
			break;
		}
		close(fd);
		usleep(100000);
	}
	if (c == 200) {
		perror("conform: control connection");
		return 2;
	}
	ctl_r = fdopen(c, "r");
	ctl_w = fdopen(dup(c), "w");
	client_checks();
	server_checks();
	udp_checks();
	fprintf(ctl_w, "BYE\n");
	fflush(ctl_w);
	printf("conform: %d ok, %d diff\n", n_ok, n_diff);
	return 0;
}
