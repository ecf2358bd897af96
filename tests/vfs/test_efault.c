/*
 * test_efault.c: every socket call that takes a pointer, given a bad one
 * (the NULL page, the kernel half), on a netfuse socket and on a kernel
 * socket, side by side: the return value must be Linux's (EFAULT, or
 * whatever the kernel answers) and no data may be lost or sent (the
 * bytes queued before the bad call are read intact after it). Pointers
 * Linux never reads on a connected TCP socket (recvfrom's address,
 * recvmsg's name and control) must not fail the call either.
 * Over the in-memory link of tests/vfs/vfs_fixture.h; the kernel's side
 * is a loopback TCP connection made with the raw system calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"

static uint16_t next_port;

static int group_setup(void **state)
{
	(void)state;
	next_port = (uint16_t)(20000 + (getpid() * 229) % 30000);
	return fx_up(NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

typedef long (*call_fn)(long, long, long, long, long, long, long);

/* One side: our connected socket fd, its peer, a listener with one
 * connection waiting. */
struct side {
	int nf;                   /* 1: netfuse (calls through vfs/) */
	call_fn call;
	int fd, peer, lfd, pend;  /* pend: the waiting connection's client */
	char buf[16];             /* what a call read */
};

static long kcall(long nr, long a, long b, long c, long d, long e, long f)
{
	return hook_raw_syscall(nr, a, b, c, d, e, f);
}

#define C(s, nr, a, b, c, d, e, f) \
	(s)->call(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), \
		  (long)(f))

static void side_kernel(struct side *s)
{
	struct sockaddr_in a = fx_sin("127.0.0.1", 0);
	socklen_t l = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(s, 0, sizeof(*s));
	s->call = kcall;
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &l), 0);
	s->peer = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(s->peer, (struct sockaddr *)&a, sizeof(a)), 0);
	s->fd = accept(lfd, NULL, NULL);
	assert_true(s->fd >= 0);
	s->pend = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(s->pend, (struct sockaddr *)&a, sizeof(a)), 0);
	s->lfd = lfd;
}

static void side_netfuse(struct side *s)
{
	uint16_t port = next_port++;
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	int lfd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	memset(s, 0, sizeof(*s));
	s->nf = 1;
	s->call = sys6;
	assert_int_equal(sys(SYS_bind, lfd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, lfd, 4), 0);
	s->peer = peer_connect(port);
	s->fd = (int)sys(SYS_accept, lfd, 0, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(peer_connected(s->peer, 2000), 1);
	s->pend = peer_connect(port);
	assert_int_equal(peer_connected(s->pend, 2000), 1);
	s->lfd = lfd;
}

static void side_down(struct side *s)
{
	if (s->nf) {
		(void)sys(SYS_close, s->fd);
		(void)sys(SYS_close, s->lfd);
		peer_close(s->peer);
		peer_close(s->pend);
	} else {
		close(s->fd);
		close(s->lfd);
		close(s->peer);
		close(s->pend);
	}
}

/* the peer sends n bytes to fd; wait until fd sees them */
static void peer_puts(struct side *s, const char *p, size_t n)
{
	int v = 0;
	if (s->nf)
		assert_int_equal(peer_send_all(s->peer, p, n, 2000), (long)n);
	else
		assert_int_equal(write(s->peer, p, n), (long)n);
	for (int i = 0; i < 2000 && v < (int)n; i++) {
		assert_int_equal(C(s, SYS_ioctl, s->fd, FIONREAD, &v, 0, 0, 0), 0);
		if (v < (int)n)
			usleep(500);
	}
	assert_int_equal(v, (int)n);
}

/* what the peer got within 50 ms (0: nothing) */
static long peer_gets(struct side *s, char *buf, size_t n)
{
	long r;
	usleep(50000);
	if (s->nf)
		return peer_recv_all(s->peer, buf, n, 1);
	r = recv(s->peer, buf, n, MSG_DONTWAIT);
	return r < 0 ? 0 : r;
}

static void *const BAD[] = { (void *)1, (void *)0xffff800000000000ull };

/* One case: the call on both sides; returns must match; then "hello"
 * (queued before the call when reading) must be read intact. */
typedef long (*case_fn)(struct side *s, void *bad);

static long c_read(struct side *s, void *bad)
{ return C(s, SYS_read, s->fd, bad, 5, 0, 0, 0); }
static long c_recvfrom(struct side *s, void *bad)
{ return C(s, SYS_recvfrom, s->fd, bad, 5, 0, 0, 0); }
static long c_readv_iov(struct side *s, void *bad)
{ return C(s, SYS_readv, s->fd, bad, 1, 0, 0, 0); }
static long c_readv_base(struct side *s, void *bad)
{
	struct iovec v = { bad, 5 };
	return C(s, SYS_readv, s->fd, &v, 1, 0, 0, 0);
}
static long c_recvmsg_msg(struct side *s, void *bad)
{ return C(s, SYS_recvmsg, s->fd, bad, 0, 0, 0, 0); }
static long c_recvmsg_iov(struct side *s, void *bad)
{
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = bad;
	m.msg_iovlen = 1;
	return C(s, SYS_recvmsg, s->fd, &m, 0, 0, 0, 0);
}

/* splice from the socket with an offset (sockets have none: ESPIPE
 * before the pointer is looked at, as Linux) */
static long c_splice_off_in(struct side *s, void *bad)
{
	int pp[2];
	long r;
	assert_int_equal(pipe(pp), 0);
	r = C(s, SYS_splice, s->fd, bad, pp[1], 0, 5, SPLICE_F_NONBLOCK);
	close(pp[0]);
	close(pp[1]);
	return r;
}

static const struct { const char *name; case_fn fn; } reads[] = {
	{ "read buf", c_read }, { "recvfrom buf", c_recvfrom },
	{ "readv iov", c_readv_iov }, { "readv iov_base", c_readv_base },
	{ "recvmsg msghdr", c_recvmsg_msg }, { "recvmsg msg_iov", c_recvmsg_iov },
	{ "splice off_in (socket)", c_splice_off_in },
};

static long c_write(struct side *s, void *bad)
{ return C(s, SYS_write, s->fd, bad, 5, 0, 0, 0); }
static long c_sendto(struct side *s, void *bad)
{ return C(s, SYS_sendto, s->fd, bad, 5, MSG_NOSIGNAL, 0, 0); }
static long c_writev_base(struct side *s, void *bad)
{
	struct iovec v = { bad, 5 };
	return C(s, SYS_writev, s->fd, &v, 1, 0, 0, 0);
}
static long c_sendmsg_msg(struct side *s, void *bad)
{ return C(s, SYS_sendmsg, s->fd, bad, 0, 0, 0, 0); }
static long c_sendfile_off(struct side *s, void *bad)
{
	int f = open("/proc/self/exe", O_RDONLY);
	long r = C(s, SYS_sendfile, s->fd, f, bad, 5, 0, 0);
	close(f);
	return r;
}

static long c_sendto_addr(struct side *s, void *bad)
{ return C(s, SYS_sendto, s->fd, "hello", 5, MSG_NOSIGNAL, bad, 16); }
static long c_sendmsg_iov(struct side *s, void *bad)
{
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = bad;
	m.msg_iovlen = 1;
	return C(s, SYS_sendmsg, s->fd, &m, MSG_NOSIGNAL, 0, 0, 0);
}
static long c_sendmsg_name(struct side *s, void *bad)
{
	struct iovec v = { "hello", 5 };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_name = bad;
	m.msg_namelen = 16;
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	return C(s, SYS_sendmsg, s->fd, &m, MSG_NOSIGNAL, 0, 0, 0);
}
static long c_sendmsg_control(struct side *s, void *bad)
{
	struct iovec v = { "hello", 5 };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = bad;
	m.msg_controllen = 64;
	return C(s, SYS_sendmsg, s->fd, &m, MSG_NOSIGNAL, 0, 0, 0);
}
/* splice into the socket with an offset: ESPIPE (no offsets on it) */
static long c_splice_off_out(struct side *s, void *bad)
{
	int pp[2];
	long r;
	assert_int_equal(pipe(pp), 0);
	assert_int_equal(write(pp[1], "hello", 5), 5);
	r = C(s, SYS_splice, pp[0], 0, s->fd, bad, 5, SPLICE_F_NONBLOCK);
	close(pp[0]);
	close(pp[1]);
	return r;
}
/* splice from a file with a bad offset into the socket: EFAULT */
static long c_splice_file_off(struct side *s, void *bad)
{
	int f = open("/proc/self/exe", O_RDONLY), pp[2];
	long r;
	assert_true(f >= 0);
	assert_int_equal(pipe(pp), 0);
	r = C(s, SYS_splice, f, bad, pp[1], 0, 5, SPLICE_F_NONBLOCK);
	if (r > 0) /* (it moved bytes: do not let them reach the socket) */
		r = 1000 + r;
	close(f);
	close(pp[0]);
	close(pp[1]);
	return r;
}

static const struct { const char *name; case_fn fn; } writes[] = {
	{ "write buf", c_write }, { "sendto buf", c_sendto },
	{ "writev iov_base", c_writev_base }, { "sendmsg msghdr", c_sendmsg_msg },
	{ "sendfile offset", c_sendfile_off },
	{ "sendto dest_addr", c_sendto_addr },
	{ "sendmsg msg_iov", c_sendmsg_iov },
	{ "sendmsg msg_name", c_sendmsg_name },
	{ "sendmsg msg_control", c_sendmsg_control },
	{ "splice off_out (socket)", c_splice_off_out },
	{ "splice off_in (file, to a pipe)", c_splice_file_off },
};

static long c_getsockopt_val(struct side *s, void *bad)
{
	socklen_t l = sizeof(int);
	return C(s, SYS_getsockopt, s->fd, SOL_SOCKET, SO_RCVBUF, bad, &l, 0);
}
static long c_getsockopt_len(struct side *s, void *bad)
{
	int v;
	return C(s, SYS_getsockopt, s->fd, SOL_SOCKET, SO_RCVBUF, &v, bad, 0);
}
static long c_setsockopt_val(struct side *s, void *bad)
{ return C(s, SYS_setsockopt, s->fd, SOL_SOCKET, SO_KEEPALIVE, bad, 4, 0); }
static long c_getsockname_addr(struct side *s, void *bad)
{
	socklen_t l = sizeof(struct sockaddr_in);
	return C(s, SYS_getsockname, s->fd, bad, &l, 0, 0, 0);
}
static long c_getpeername_len(struct side *s, void *bad)
{
	struct sockaddr_in a;
	return C(s, SYS_getpeername, s->fd, &a, bad, 0, 0, 0);
}
static long c_ioctl_fionread(struct side *s, void *bad)
{ return C(s, SYS_ioctl, s->fd, FIONREAD, bad, 0, 0, 0); }
static long c_ioctl_siocoutq(struct side *s, void *bad)
{ return C(s, SYS_ioctl, s->fd, TIOCOUTQ, bad, 0, 0, 0); }
static long c_ioctl_fionbio(struct side *s, void *bad)
{ return C(s, SYS_ioctl, s->fd, FIONBIO, bad, 0, 0, 0); }
static long c_poll(struct side *s, void *bad)
{ (void)s; return C(s, SYS_poll, bad, 1, 0, 0, 0, 0); }
static long c_select(struct side *s, void *bad)
{
	struct timeval tv = { 0, 0 };
	return C(s, SYS_select, s->fd + 1, bad, 0, 0, &tv, 0);
}
static long c_epoll_ctl(struct side *s, void *bad)
{
	int ep = (int)C(s, SYS_epoll_create1, 0, 0, 0, 0, 0, 0);
	long r = C(s, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, s->fd, bad, 0, 0);
	(void)C(s, SYS_close, ep, 0, 0, 0, 0, 0);
	return r;
}
static long c_epoll_wait(struct side *s, void *bad)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = (int)C(s, SYS_epoll_create1, 0, 0, 0, 0, 0, 0);
	long r = C(s, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, s->fd, &ev, 0, 0);
	assert_int_equal(r, 0);
	r = C(s, SYS_epoll_wait, ep, bad, 4, 0, 0, 0); /* fd is readable */
	(void)C(s, SYS_close, ep, 0, 0, 0, 0, 0);
	return r;
}

static const struct { const char *name; case_fn fn; } others[] = {
	{ "getsockopt optval", c_getsockopt_val },
	{ "getsockopt optlen", c_getsockopt_len },
	{ "setsockopt optval", c_setsockopt_val },
	{ "getsockname addr", c_getsockname_addr },
	{ "getpeername addrlen", c_getpeername_len },
	{ "ioctl FIONREAD", c_ioctl_fionread },
	{ "ioctl TIOCOUTQ", c_ioctl_siocoutq },
	{ "ioctl FIONBIO", c_ioctl_fionbio },
	{ "poll fds", c_poll }, { "select readfds", c_select },
	{ "epoll_ctl event", c_epoll_ctl },
	{ "epoll_wait events", c_epoll_wait },
};

/* reads, then the "hello" queued before them is still all there */
static void check_reads(struct side *k, struct side *n, case_fn fn,
			const char *name, void *bad)
{
	struct side *s[2] = { k, n };
	long r[2];
	char buf[16];
	for (int i = 0; i < 2; i++) {
		peer_puts(s[i], "hello", 5);
		r[i] = fn(s[i], bad);
		memset(buf, 0, sizeof(buf));
		assert_int_equal(C(s[i], SYS_read, s[i]->fd, buf, sizeof(buf), 0,
				   0, 0), 5);
		assert_memory_equal(buf, "hello", 5);
	}
	if (r[0] != r[1])
		fail_msg("%s (%p): kernel %ld, netfuse %ld", name, bad, r[0], r[1]);
}

static void test_reads(void **state)
{
	struct side k, n;
	(void)state;
	side_kernel(&k);
	side_netfuse(&n);
	for (size_t b = 0; b < 2; b++)
		for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
			check_reads(&k, &n, reads[i].fn, reads[i].name, BAD[b]);
	side_down(&k);
	side_down(&n);
}

static void test_writes(void **state)
{
	struct side k, n;
	struct side *s[2] = { &k, &n };
	char buf[16];
	(void)state;
	side_kernel(&k);
	side_netfuse(&n);
	for (size_t b = 0; b < 2; b++)
		for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
			long r[2];
			for (int j = 0; j < 2; j++) {
				long got;
				r[j] = writes[i].fn(s[j], BAD[b]);
				/* nothing reached the peer */
				got = peer_gets(s[j], buf, sizeof(buf));
				if (got)
					fail_msg("%s (%p): %ld bytes reached "
						 "the %s side's peer (call "
						 "returned %ld)", writes[i].name,
						 BAD[b], got, j ? "netfuse" :
						 "kernel", r[j]);
			}
			if (r[0] != r[1])
				fail_msg("%s (%p): kernel %ld, netfuse %ld",
					 writes[i].name, BAD[b], r[0], r[1]);
		}
	side_down(&k);
	side_down(&n);
}

static void test_others(void **state)
{
	struct side k, n;
	(void)state;
	side_kernel(&k);
	side_netfuse(&n);
	for (size_t b = 0; b < 2; b++)
		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
			check_reads(&k, &n, others[i].fn, others[i].name, BAD[b]);
	side_down(&k);
	side_down(&n);
}

/* Pointers Linux never looks at on a connected TCP socket (its address
 * is not written back: msg_namelen 0; no ancillary data to write): the
 * call reads the data as if they were fine. */
static long c_recvfrom_addr(struct side *s, void *bad)
{
	socklen_t l = 16;
	return C(s, SYS_recvfrom, s->fd, s->buf, 5, 0, bad, &l);
}
static long c_recvmsg_name(struct side *s, void *bad)
{
	struct iovec v = { s->buf, 5 };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_name = bad;
	m.msg_namelen = 16;
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	return C(s, SYS_recvmsg, s->fd, &m, 0, 0, 0, 0);
}
static long c_recvmsg_control(struct side *s, void *bad)
{
	struct iovec v = { s->buf, 5 };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = bad;
	m.msg_controllen = 64;
	return C(s, SYS_recvmsg, s->fd, &m, 0, 0, 0, 0);
}

static const struct { const char *name; case_fn fn; } untouched[] = {
	{ "recvfrom src_addr", c_recvfrom_addr },
	{ "recvmsg msg_name", c_recvmsg_name },
	{ "recvmsg msg_control", c_recvmsg_control },
};

static void test_untouched(void **state)
{
	struct side k, n;
	struct side *s[2] = { &k, &n };
	(void)state;
	side_kernel(&k);
	side_netfuse(&n);
	for (size_t b = 0; b < 2; b++)
		for (size_t i = 0; i < sizeof(untouched) / sizeof(untouched[0]);
		     i++) {
			long r[2];
			for (int j = 0; j < 2; j++) {
				peer_puts(s[j], "hello", 5);
				memset(s[j]->buf, 0, sizeof(s[j]->buf));
				r[j] = untouched[i].fn(s[j], BAD[b]);
			}
			if (r[0] != r[1])
				fail_msg("%s (%p): kernel %ld, netfuse %ld",
					 untouched[i].name, BAD[b], r[0], r[1]);
			assert_int_equal(r[1], 5);
			assert_memory_equal(n.buf, "hello", 5);
		}
	side_down(&k);
	side_down(&n);
}

/* accept, connect, bind with a bad address */
static void test_addresses(void **state)
{
	struct side k, n;
	struct side *s[2] = { &k, &n };
	long r[2][4];
	(void)state;
	side_kernel(&k);
	side_netfuse(&n);
	for (int j = 0; j < 2; j++) {
		socklen_t l = sizeof(struct sockaddr_in);
		int fd = (int)C(s[j], SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
		/* a second accept finds none: EAGAIN, not a hang */
		assert_int_equal(C(s[j], SYS_fcntl, s[j]->lfd, F_SETFL, O_NONBLOCK,
				   0, 0, 0), 0);
		r[j][0] = C(s[j], SYS_accept, s[j]->lfd, BAD[0], &l, 0, 0, 0);
		if (r[j][0] >= 0) /* (a connection came back: close it) */
			(void)C(s[j], SYS_close, r[j][0], 0, 0, 0, 0, 0);
		r[j][1] = C(s[j], SYS_connect, fd, BAD[0], 16, 0, 0, 0);
		r[j][2] = C(s[j], SYS_bind, fd, BAD[1], 16, 0, 0, 0);
		r[j][3] = C(s[j], SYS_accept, s[j]->lfd, BAD[0], BAD[1], 0, 0, 0);
		(void)C(s[j], SYS_close, fd, 0, 0, 0, 0, 0);
	}
	for (int i = 0; i < 4; i++)
		if ((r[0][i] < 0 ? r[0][i] : 0) != (r[1][i] < 0 ? r[1][i] : 0))
			fail_msg("address case %d: kernel %ld, netfuse %ld", i,
				 r[0][i], r[1][i]);
	side_down(&k);
	side_down(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_untouched),
		cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
