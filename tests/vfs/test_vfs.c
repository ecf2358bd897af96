/*
 * test_vfs.c: vfs/ through its dispatch function, over an in-memory link
 * to a peer stack (tests/vfs/vfs_fixture.h): fd table and dup/close
 * semantics, errno for bad calls, routing, TCP connect/accept/echo,
 * blocking and non-blocking calls, epoll (LT, ET, ONESHOT), poll and
 * select over a netfuse socket and a pipe, wildcard (dual) listeners,
 * SIGPIPE, EINTR, fork, io_uring_setup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/tcp.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"

/* Ports: wildcard binds use the kernel's port space too, so start from
 * a per-process base: test runs by several people at once do not meet. */
static uint16_t next_port;

static int group_setup(void **state)
{
	(void)state;
	next_port = (uint16_t)(20000 + (getpid() * 211) % 30000);
	return fx_up(NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

static int tcp_socket(int flags)
{
	return (int)sys(SYS_socket, AF_INET, SOCK_STREAM | flags, 0);
}

static long sbind(int fd, const char *ip, uint16_t port)
{
	struct sockaddr_in a = fx_sin(ip, port);
	return sys(SYS_bind, fd, &a, sizeof(a));
}

/* A netfuse listener on 198.18.0.2:port. */
static int nf_listener(uint16_t port, int flags)
{
	int fd = tcp_socket(flags);
	assert_true(fd >= 0);
	assert_int_equal(sbind(fd, VFS_IP, port), 0);
	assert_int_equal(sys(SYS_listen, fd, 16), 0);
	return fd;
}

/* A connection: vfs side accepted fd in *vfd, peer sd returned. */
static int nf_pair(int *lfd_out, int *vfd, int accept_flags)
{
	uint16_t port = next_port++;
	int lfd = nf_listener(port, 0), psd;
	psd = peer_connect(port);
	assert_true(psd >= 0);
	*vfd = (int)sys(SYS_accept4, lfd, 0, 0, accept_flags);
	assert_true(*vfd >= 0);
	assert_int_equal(peer_connected(psd, 2000), 1);
	*lfd_out = lfd;
	return psd;
}

/* ---- fd table ------------------------------------------------------------- */
static void test_fd_dup_close(void **state)
{
	struct vfs_stats st0, st;
	int fd, d1, d2, d3, d4;
	(void)state;
	vfs_get_stats(&st0);
	fd = tcp_socket(0);
	assert_true(fd >= 0);
	assert_int_equal(sbind(fd, VFS_IP, next_port++), 0); /* netfuse */
	vfs_get_stats(&st);
	assert_int_equal(st.socks_live, st0.socks_live + 1);
	d1 = (int)sys(SYS_dup, fd);
	assert_true(d1 > fd);
	d2 = (int)sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 100);
	assert_true(d2 >= 100);
	assert_int_equal(sys(SYS_fcntl, d2, F_GETFD), FD_CLOEXEC);
	assert_int_equal(sys(SYS_fcntl, d1, F_GETFD), 0);
	d3 = 150;
	assert_int_equal(sys(SYS_dup2, fd, d3), d3);
	d4 = 151;
	assert_int_equal(sys(SYS_dup3, fd, d4, O_CLOEXEC), d4);
	assert_int_equal(sys(SYS_dup3, fd, fd, 0), -EINVAL);
	/* all name one socket: getsockname agrees */
	{
		struct sockaddr_in a, b;
		socklen_t al = sizeof(a), bl = sizeof(b);
		assert_int_equal(sys(SYS_getsockname, fd, &a, &al), 0);
		assert_int_equal(sys(SYS_getsockname, d4, &b, &bl), 0);
		assert_int_equal(a.sin_port, b.sin_port);
		assert_int_equal(a.sin_addr.s_addr, inet_addr(VFS_IP));
	}
	/* O_NONBLOCK is shared by dups (file status flag) */
	assert_int_equal(sys(SYS_fcntl, d1, F_SETFL, O_NONBLOCK), 0);
	assert_true(sys(SYS_fcntl, fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(sys(SYS_fcntl, fd, F_SETFL, 0), 0);
	assert_false(sys(SYS_fcntl, d3, F_GETFL) & O_NONBLOCK);
	/* closing all but one keeps the socket */
	assert_int_equal(sys(SYS_close, fd), 0);
	assert_int_equal(sys(SYS_close, d1), 0);
	assert_int_equal(sys(SYS_close, d2), 0);
	assert_int_equal(sys(SYS_close, d3), 0);
	vfs_get_stats(&st);
	assert_int_equal(st.socks_live, st0.socks_live + 1);
	assert_int_equal(sys(SYS_close, fd), -EBADF);
	/* dup2 of a kernel fd over the last one closes the socket */
	{
		int p[2];
		assert_int_equal(pipe(p), 0);
		assert_int_equal(sys(SYS_dup2, p[0], d4), d4);
		vfs_get_stats(&st);
		assert_int_equal(st.socks_live, st0.socks_live);
		assert_int_equal(sys(SYS_close, d4), 0); /* now a pipe */
		close(p[0]);
		close(p[1]);
	}
	vfs_get_stats(&st);
	assert_int_equal(st.objs_sock, st0.objs_sock);
}

static void test_fd_numbers_no_collision(void **state)
{
	int fds[8], i, j, p[2];
	(void)state;
	for (i = 0; i < 8; i++) {
		fds[i] = tcp_socket(0);
		assert_true(fds[i] >= 0);
		assert_int_equal(sbind(fds[i], VFS_IP, next_port++), 0);
	}
	/* the kernel never hands out a number a netfuse socket holds */
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 8; i++) {
		assert_int_not_equal(p[0], fds[i]);
		assert_int_not_equal(p[1], fds[i]);
		for (j = 0; j < i; j++)
			assert_int_not_equal(fds[i], fds[j]);
	}
	close(p[0]);
	close(p[1]);
	/* close_range drops them from the table too (moved to 500..507) */
	{
		struct vfs_stats a, b;
		for (i = 0; i < 8; i++) {
			assert_int_equal(sys(SYS_dup2, fds[i], 500 + i), 500 + i);
			assert_int_equal(sys(SYS_close, fds[i]), 0);
		}
		vfs_get_stats(&a);
		/* a close_range that fails closes nothing: entries stay */
		assert_int_equal(sys(SYS_close_range, 500, 507, 0x40000000),
				 -EINVAL);
		vfs_get_stats(&b);
		assert_int_equal(b.socks_live, a.socks_live);
		{
			struct sockaddr_in sa;
			socklen_t sl = sizeof(sa);
			assert_int_equal(sys(SYS_getsockname, 503, &sa, &sl), 0);
			assert_int_equal(sa.sin_addr.s_addr, inet_addr(VFS_IP));
		}
		assert_int_equal(sys(SYS_close_range, 500, 507, 0), 0);
		vfs_get_stats(&b);
		assert_int_equal(b.socks_live, a.socks_live - 8);
		assert_int_equal(sys(SYS_close, 503), -EBADF);
	}
}

/* Two threads open, bind and close netfuse sockets as fast as they can:
 * the number one thread's close frees is at once another's new socket.
 * close() used to drop the table entry after the kernel freed the
 * number, taking the other thread's new entry with it (its bind then
 * went to the kernel: EADDRNOTAVAIL; in itest_servers a thread's reads
 * went to the bare placeholder: ENOTCONN and a RST to its peer). */
struct churn { int bad, iters; long last; };

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	int i;
	for (i = 0; i < c->iters && !c->bad; i++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int fd = tcp_socket(0);
		long r;
		if (fd < 0) {
			c->bad = 1, c->last = fd;
			break;
		}
		r = sbind(fd, VFS_IP, 0);
		if (r == 0)
			r = sys(SYS_getsockname, fd, &a, &al);
		if (r == 0 && a.sin_addr.s_addr != inet_addr(VFS_IP))
			r = -EXDEV; /* answered by the kernel's placeholder */
		if (r != 0)
			c->bad = 1, c->last = r;
		r = sys(SYS_close, fd);
		if (r != 0 && !c->bad)
			c->bad = 1, c->last = r;
	}
	return NULL;
}

static void test_close_reuse_race(void **state)
{
	struct churn c[2] = { { 0, 3000, 0 }, { 0, 3000, 0 } };
	pthread_t t[2];
	int i;
	(void)state;
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn_main, &c[i]),
				 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		if (c[i].bad)
			print_error("thread %d: %ld\n", i, c[i].last);
		assert_int_equal(c[i].bad, 0);
	}
}

/* ---- errno ------------------------------------------------------------------- */
static void test_errno(void **state)
{
	int fd = tcp_socket(0), p[2], u;
	struct sockaddr_in a = fx_sin(VFS_IP, next_port++);
	int v;
	socklen_t vl = sizeof(v);
	char buf[8];
	(void)state;
	/* undecided: the kernel answers bad arguments */
	assert_int_equal(sys(SYS_bind, fd, &a, 4), -EINVAL);
	assert_int_equal(sys(SYS_bind, fd, (void *)8, sizeof(a)), -EFAULT);
	assert_int_equal(sbind(fd, VFS_IP, ntohs(a.sin_port)), 0);
	/* netfuse now */
	assert_int_equal(sys(SYS_bind, fd, &a, sizeof(a)), -EINVAL);
	assert_int_equal(sys(SYS_accept, fd, 0, 0), -EINVAL); /* not listening */
	assert_int_equal(sys(SYS_shutdown, fd, 7), -EINVAL);
	assert_int_equal(sys(SYS_getsockopt, fd, SOL_SOCKET, 12345, &v, &vl),
			 -ENOPROTOOPT);
	assert_int_equal(sys(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &v,
			     (void *)8), -EFAULT);
	assert_int_equal(sys(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
	assert_int_equal(v, SOCK_STREAM);
	assert_int_equal(sys(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &v, &vl), 0);
	assert_int_equal(v, AF_INET);
	assert_int_equal(sys(SYS_accept4, fd, 0, 0, 0x1234), -EINVAL);
	assert_int_equal(sys(SYS_connect, fd, &a, 3), -EINVAL);
	assert_int_equal(sys(SYS_read, fd, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(sys(SYS_read, fd, (void *)-8192L, 10), -EFAULT);
	assert_int_equal(sys(SYS_write, fd, (void *)-4096L, 10), -EFAULT);
	{
		struct iovec iov = { buf, 1 };
		assert_int_equal(sys(SYS_readv, fd, &iov, 100000), -EINVAL);
	}
	assert_int_equal(sys(SYS_close, fd), 0);
	/* EBADF and ENOTSOCK come from the kernel, untouched */
	assert_int_equal(sys(SYS_read, fd, buf, 1), -EBADF);
	assert_int_equal(sys(SYS_listen, 999, 1), -EBADF);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sys(SYS_bind, p[0], &a, sizeof(a)), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
	/* families vfs/ does not take go to the kernel as they are */
	assert_int_equal(sys(SYS_socket, 12345, SOCK_STREAM, 0), -EAFNOSUPPORT);
	u = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_UDP);
	assert_int_equal(u, -EPROTONOSUPPORT);
	{
		struct sockaddr_in6 a6;
		fd = tcp_socket(0);
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		assert_int_equal(sys(SYS_bind, fd, &a6, sizeof(a6)), -EAFNOSUPPORT);
		assert_int_equal(sys(SYS_close, fd), 0);
	}
	assert_int_equal(sys(SYS_io_uring_setup, 8, 0), -ENOSYS);
}

/* ---- routing ------------------------------------------------------------------- */
static void test_route_rules(void **state)
{
	struct vfs_stats a, b;
	int fd;
	(void)state;
	vfs_get_stats(&a);
	/* loopback: kernel, counted */
	fd = tcp_socket(0);
	assert_int_equal(sbind(fd, "127.0.0.1", 0), 0);
	vfs_get_stats(&b);
	assert_int_equal(b.fallback_loopback, a.fallback_loopback + 1);
	assert_int_equal(b.socks_live, a.socks_live);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* connect to a destination off the netfuse subnet: kernel */
	fd = (int)sys(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	{
		struct sockaddr_in d = fx_sin("127.0.0.1", 9);
		assert_int_equal(sys(SYS_connect, fd, &d, sizeof(d)), 0);
	}
	vfs_get_stats(&b);
	assert_int_equal(b.fallback_loopback, a.fallback_loopback + 2);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* netfuse address: netfuse */
	fd = tcp_socket(0);
	assert_int_equal(sbind(fd, VFS_IP, next_port++), 0);
	vfs_get_stats(&b);
	assert_int_equal(b.socks_live, a.socks_live + 1);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* a NETFUSE_ROUTE rule sends a wildcard listener to the kernel only */
	{
		static char rule[64];
		static const char *env[] = { "NETFUSE_ROUTE", rule, NULL };
		uint16_t port = next_port++;
		snprintf(rule, sizeof(rule), "kernel:port=%u", port);
		assert_int_equal(vfs_setup(fx_env, (void *)env), 0);
		fd = tcp_socket(0);
		assert_int_equal(sbind(fd, "0.0.0.0", port), 0);
		assert_int_equal(sys(SYS_listen, fd, 4), 0);
		vfs_get_stats(&b);
		assert_int_equal(b.fallback_rule, a.fallback_rule + 1);
		assert_int_equal(b.socks_live, a.socks_live);
		assert_int_equal(sys(SYS_close, fd), 0);
		assert_int_equal(vfs_setup(fx_env, NULL), 0);
	}
	/* a bad rule: -EINVAL, one line, ignored */
	{
		static const char *const env[] = { "NETFUSE_ROUTE", "bogus", NULL };
		assert_int_equal(vfs_setup(fx_env, (void *)env), -EINVAL);
		assert_int_equal(vfs_setup(fx_env, NULL), 0);
	}
}

/* ---- TCP through the dispatch layer ------------------------------------------- */
static void test_tcp_accept_echo(void **state)
{
	static uint8_t out[300000], back[300000], in[300000];
	int lfd, vfd, psd;
	long n;
	size_t got = 0;
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	assert_int_equal(sys(SYS_getpeername, vfd, &pa, &pl), 0);
	assert_int_equal(pa.sin_addr.s_addr, inet_addr(PEER_IP));
	assert_int_equal(pl, sizeof(pa));
	fx_pattern(out, sizeof(out), 7);
	/* peer sends 300 KB (more than the 64 KB windows); the vfs side
	 * echoes with blocking read/write; the peer thread only polls */
	{
		/* interleave: send in chunks from this thread, echo in between */
		size_t sent = 0, pgot = 0;
		while (got < sizeof(out)) {
			if (sent < sizeof(out)) {
				size_t k = sizeof(out) - sent < 16384 ?
					   sizeof(out) - sent : 16384;
				long r = peer_send_all(psd, out + sent, k, 5000);
				assert_int_equal(r, (long)k);
				sent += k;
			}
			n = sys(SYS_read, vfd, in + got, sizeof(in) - got);
			assert_true(n > 0);
			assert_int_equal(sys(SYS_write, vfd, in + got, n), n);
			got += (size_t)n;
			/* drain the echo on the peer so windows stay open */
			{
				long r = peer_recv_all(psd, back + pgot, (size_t)n,
						       5000);
				assert_int_equal(r, n);
				pgot += (size_t)r;
			}
		}
	}
	assert_memory_equal(in, out, sizeof(out));
	assert_memory_equal(back, out, sizeof(out));
	/* orderly close from the peer: read returns 0 */
	peer_close(psd);
	assert_int_equal(sys(SYS_read, vfd, in, 10), 0);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

static void test_tcp_connect_out(void **state)
{
	uint16_t port = next_port++;
	int lsd = peer_listen(port), fd, psd;
	struct sockaddr_in a = fx_sin(PEER_IP, port), me;
	socklen_t ml = sizeof(me);
	char buf[64];
	struct msghdr m;
	struct iovec iov[3];
	(void)state;
	assert_true(lsd >= 0);
	fd = tcp_socket(SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sys(SYS_connect, fd, &a, sizeof(a)), 0); /* blocking */
	assert_int_equal(sys(SYS_getsockname, fd, &me, &ml), 0);
	assert_int_equal(me.sin_addr.s_addr, inet_addr(VFS_IP));
	psd = (int)PEER_WAIT(2000, ns_accept(g_peer.st, lsd, NULL));
	assert_true(psd >= 0);
	/* writev + sendmsg gather, peer receives byte-exact */
	iov[0].iov_base = "hel";
	iov[0].iov_len = 3;
	iov[1].iov_base = "lo ";
	iov[1].iov_len = 3;
	iov[2].iov_base = "world";
	iov[2].iov_len = 5;
	assert_int_equal(sys(SYS_writev, fd, iov, 3), 11);
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	assert_int_equal(sys(SYS_sendmsg, fd, &m, MSG_NOSIGNAL), 6);
	assert_int_equal(peer_recv_all(psd, buf, 17, 2000), 17);
	assert_memory_equal(buf, "hello worldhello ", 17);
	/* recvfrom with MSG_PEEK, then recvmsg scatter */
	assert_int_equal(peer_send_all(psd, "abcdef", 6, 2000), 6);
	assert_int_equal(sys(SYS_recvfrom, fd, buf, 6, MSG_PEEK | MSG_WAITALL,
			     0, 0), 6);
	assert_memory_equal(buf, "abcdef", 6);
	iov[0].iov_base = buf;
	iov[0].iov_len = 2;
	iov[1].iov_base = buf + 10;
	iov[1].iov_len = 4;
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	assert_int_equal(sys(SYS_recvmsg, fd, &m, 0), 6);
	assert_memory_equal(buf, "ab", 2);
	assert_memory_equal(buf + 10, "cdef", 4);
	/* FIONREAD */
	{
		int v = -1;
		assert_int_equal(peer_send_all(psd, "xyz", 3, 2000), 3);
		for (int i = 0; i < 200 && v != 3; i++) {
			assert_int_equal(sys(SYS_ioctl, fd, FIONREAD, &v), 0);
			usleep(1000);
		}
		assert_int_equal(v, 3);
		assert_int_equal(sys(SYS_read, fd, buf, 3), 3);
	}
	/* TCP_NODELAY round trip */
	{
		int one = 1, v = 0;
		socklen_t vl = sizeof(v);
		assert_int_equal(sys(SYS_setsockopt, fd, IPPROTO_TCP, TCP_NODELAY,
				     &one, sizeof(one)), 0);
		assert_int_equal(sys(SYS_getsockopt, fd, IPPROTO_TCP, TCP_NODELAY,
				     &v, &vl), 0);
		assert_int_equal(v, 1);
	}
	assert_int_equal(sys(SYS_shutdown, fd, SHUT_WR), 0);
	assert_int_equal(peer_recv_all(psd, buf, 1, 2000), 0); /* EOF */
	peer_close(psd);
	peer_close(lsd);
	assert_int_equal(sys(SYS_close, fd), 0);
}

static void test_connect_nonblocking_and_refused(void **state)
{
	uint16_t port = next_port++;
	int lsd = peer_listen(port), fd, err = -1;
	struct sockaddr_in a = fx_sin(PEER_IP, port);
	struct pollfd p;
	socklen_t el = sizeof(err);
	(void)state;
	fd = tcp_socket(SOCK_NONBLOCK);
	assert_int_equal(sys(SYS_connect, fd, &a, sizeof(a)), -EINPROGRESS);
	p.fd = fd;
	p.events = POLLOUT;
	assert_int_equal(sys(SYS_poll, &p, 1, 2000), 1);
	assert_true(p.revents & POLLOUT);
	assert_int_equal(sys(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	assert_int_equal(err, 0);
	assert_int_equal(sys(SYS_close, fd), 0);
	peer_close(lsd);
	/* nobody listening: RST -> ECONNREFUSED (blocking) */
	fd = tcp_socket(0);
	a = fx_sin(PEER_IP, next_port++);
	assert_int_equal(sys(SYS_connect, fd, &a, sizeof(a)), -ECONNREFUSED);
	assert_int_equal(sys(SYS_close, fd), 0);
}

struct sf_arg {
	int vfd, f;
	off_t *off;
	long count, r;
};

static void *sf_thread(void *p)
{
	struct sf_arg *a = p;
	a->r = sys(SYS_sendfile, a->vfd, a->f, a->off, a->count);
	return NULL;
}

static void test_sendfile(void **state)
{
	static uint8_t data[200000], got[200000];
	char path[] = "/tmp/nf-vfs-sendfile-XXXXXX";
	int lfd, vfd, psd, f;
	off_t off = 1000;
	struct sf_arg a;
	pthread_t t;
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	fx_pattern(data, sizeof(data), 9);
	f = mkstemp(path);
	assert_true(f >= 0);
	unlink(path);
	assert_int_equal(write(f, data, sizeof(data)), (long)sizeof(data));
	/* with an offset: the file position stays (blocking sendfile in a
	 * thread, the peer reading meanwhile) */
	assert_int_equal(lseek(f, 5, SEEK_SET), 5);
	a = (struct sf_arg){ vfd, f, &off, 100000, 0 };
	assert_int_equal(pthread_create(&t, NULL, sf_thread, &a), 0);
	assert_int_equal(peer_recv_all(psd, got, 100000, 5000), 100000);
	pthread_join(t, NULL);
	assert_int_equal(a.r, 100000);
	assert_int_equal(off, 101000);
	assert_int_equal(lseek(f, 0, SEEK_CUR), 5);
	assert_memory_equal(got, data + 1000, 100000);
	/* from the file position, to EOF */
	a = (struct sf_arg){ vfd, f, NULL, 500000, 0 };
	assert_int_equal(pthread_create(&t, NULL, sf_thread, &a), 0);
	assert_int_equal(peer_recv_all(psd, got, sizeof(data) - 5, 5000),
			 (long)sizeof(data) - 5);
	pthread_join(t, NULL);
	assert_int_equal(a.r, (long)sizeof(data) - 5);
	assert_memory_equal(got, data + 5, sizeof(data) - 5);
	close(f);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

struct psend_arg {
	int sd;
	const void *buf;
	size_t len;
	long r;
};

/* the peer sends everything, then closes (FIN) */
static void *psend_thread(void *p)
{
	struct psend_arg *a = p;
	a->r = peer_send_all(a->sd, a->buf, a->len, 10000);
	peer_close(a->sd);
	return NULL;
}

/* ioctl SIOCOUTQ/SIOCOUTQNSD, and splice from a pipe into a netfuse
 * socket and back (itest_servers.sh covers them over net_tap too). */
static void test_siocoutq_splice(void **state)
{
	static uint8_t data[150000], got[150000], junk[65536];
	struct psend_arg ps;
	pthread_t t;
	int lfd, vfd, psd, p[2], q = -1, nsd = -1, i;
	long total = 0, r;
	loff_t off = 0;
	size_t done = 0;
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	assert_int_equal(sys(SYS_ioctl, vfd, SIOCOUTQ, &q), 0);
	assert_int_equal(q, 0);
	assert_int_equal(sys(SYS_ioctl, lfd, SIOCOUTQ, &q), -EINVAL);
	/* fill the peer's window and our send buffer: the peer reads nothing */
	assert_int_equal(sys(SYS_fcntl, vfd, F_SETFL, O_NONBLOCK), 0);
	while ((r = sys(SYS_write, vfd, junk, sizeof(junk))) > 0)
		total += r;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(sys(SYS_ioctl, vfd, SIOCOUTQ, &q), 0);
	assert_int_equal(sys(SYS_ioctl, vfd, SIOCOUTQNSD, &nsd), 0);
	assert_true(q > 0 && q <= total);
	assert_true(nsd >= 0 && nsd <= q);
	assert_int_equal(peer_recv_all(psd, got, (size_t)total < sizeof(got) ?
				       (size_t)total : sizeof(got), 5000),
			 (long)((size_t)total < sizeof(got) ? (size_t)total :
				sizeof(got)));
	if ((size_t)total > sizeof(got))
		assert_int_equal(peer_recv_all(psd, got, (size_t)total -
					       sizeof(got), 5000),
				 total - (long)sizeof(got));
	for (i = 0; i < 500; i++) { /* acknowledged: back to 0 */
		assert_int_equal(sys(SYS_ioctl, vfd, SIOCOUTQ, &q), 0);
		if (q == 0)
			break;
		usleep(2000);
	}
	assert_int_equal(q, 0);
	/* splice: errors as Linux, then pipe -> socket byte-exact */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sys(SYS_splice, p[0], 0, vfd, &off, 10, 0), -ESPIPE);
	assert_int_equal(sys(SYS_splice, lfd, 0, vfd, 0, 10, 0), -EINVAL);
	fx_pattern(data, sizeof(data), 11);
	while (done < sizeof(data)) {
		size_t n = sizeof(data) - done < 40000 ? sizeof(data) - done :
			   40000, in = 0;
		assert_int_equal(write(p[1], data + done, n), (long)n);
		while (in < n) {
			r = sys(SYS_splice, p[0], 0, vfd, 0, n - in,
				SPLICE_F_MOVE);
			if (r == -EAGAIN) { /* non-blocking socket, buffer full */
				usleep(1000);
				continue;
			}
			assert_true(r > 0);
			assert_int_equal(peer_recv_all(psd, got + done + in,
						       (size_t)r, 5000), r);
			in += (size_t)r;
		}
		done += n;
	}
	assert_memory_equal(got, data, sizeof(data));
	/* and the other way: socket -> pipe (non-blocking socket), to EOF */
	assert_int_equal(sys(SYS_splice, vfd, 0, p[1], 0, 100, 0) == -EAGAIN, 1);
	ps = (struct psend_arg){ psd, data, sizeof(data), 0 };
	assert_int_equal(pthread_create(&t, NULL, psend_thread, &ps), 0);
	memset(got, 0, sizeof(got));
	for (done = 0, i = 0; i < 20000; i++) {
		r = sys(SYS_splice, vfd, 0, p[1], 0, 30000, SPLICE_F_NONBLOCK);
		if (r == -EAGAIN) {
			usleep(500);
			continue;
		}
		assert_true(r >= 0);
		if (r == 0)
			break; /* EOF */
		assert_true(done + (size_t)r <= sizeof(got));
		assert_int_equal(read(p[0], got + done, (size_t)r), r);
		done += (size_t)r;
	}
	pthread_join(t, NULL);
	assert_int_equal(ps.r, (long)sizeof(data));
	assert_int_equal(done, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	close(p[0]);
	close(p[1]);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

/* ---- non-blocking, epoll --------------------------------------------------------- */
static void test_nonblock_epoll_lt_et(void **state)
{
	int lfd, vfd, psd, ep, p[2];
	struct epoll_event ev, out[8];
	char buf[256];
	(void)state;
	psd = nf_pair(&lfd, &vfd, SOCK_NONBLOCK);
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), -EAGAIN);
	ep = (int)sys(SYS_epoll_create1, EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	assert_int_equal(pipe(p), 0);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 0xabc;
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, vfd, &ev), 0);
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, vfd, &ev), -EEXIST);
	ev.events = EPOLLIN;
	ev.data.u64 = 0x919;
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 0), 0);
	/* one edge for one arrival */
	assert_int_equal(peer_send_all(psd, "0123456789", 10, 1000), 10);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
	assert_int_equal(out[0].data.u64, 0xabc);
	assert_true(out[0].events & EPOLLIN);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 50), 0); /* no dup */
	/* partial read: still no new edge */
	assert_int_equal(sys(SYS_read, vfd, buf, 4), 4);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 50), 0);
	/* new data: a new edge */
	assert_int_equal(peer_send_all(psd, "ab", 2, 1000), 2);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "456789ab", 8);
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), -EAGAIN);
	/* the pipe beside it (kernel fd in the same set) */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 1000), 1);
	assert_int_equal(out[0].data.u64, 0x919);
	assert_int_equal(read(p[0], buf, 1), 1);
	/* level-triggered: reported while readable */
	ev.events = EPOLLIN;
	ev.data.u64 = 0xdef;
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, vfd, &ev), 0);
	assert_int_equal(peer_send_all(psd, "xyz", 3, 1000), 3);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
	assert_int_equal(out[0].data.u64, 0xdef);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 0), 1);
	assert_int_equal(sys(SYS_read, vfd, buf, 2), 2);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 0), 1);
	assert_int_equal(sys(SYS_read, vfd, buf, 2), 1);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 20), 0);
	/* ONESHOT: once, then nothing until MOD */
	ev.events = EPOLLIN | EPOLLONESHOT;
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, vfd, &ev), 0);
	assert_int_equal(peer_send_all(psd, "q", 1, 1000), 1);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 20), 0);
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, vfd, &ev), 0);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 0), 1);
	assert_int_equal(sys(SYS_read, vfd, buf, 10), 1);
	/* EPOLLRDHUP + EPOLLOUT on peer FIN */
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, vfd, &ev), 0);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 20), 0);
	peer_close(psd);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
	assert_true(out[0].events & EPOLLRDHUP);
	assert_int_equal(sys(SYS_read, vfd, buf, 10), 0);
	/* an epoll fd dup'd with F_DUPFD sees the same netfuse items */
	{
		int ep2 = (int)sys(SYS_fcntl, ep, F_DUPFD_CLOEXEC, 200);
		assert_true(ep2 >= 200);
		ev.events = EPOLLIN;
		assert_int_equal(sys(SYS_epoll_ctl, ep2, EPOLL_CTL_MOD, vfd, &ev), 0);
		assert_int_equal(sys(SYS_epoll_wait, ep2, out, 8, 1000), 1);
		assert_int_equal(sys(SYS_close, ep2), 0);
	}
	/* close removes it from the set */
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[0], NULL), 0);
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 0), 0);
	assert_int_equal(sys(SYS_close, ep), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	close(p[0]);
	close(p[1]);
}

static void test_epoll_listener_wakes(void **state)
{
	uint16_t port = next_port++;
	int lfd = nf_listener(port, SOCK_NONBLOCK), ep, psd, c;
	struct epoll_event ev, out[4];
	(void)state;
	ep = (int)sys(SYS_epoll_create, 1);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, lfd, &ev), 0);
	assert_int_equal(sys(SYS_accept, lfd, 0, 0), -EAGAIN);
	psd = peer_connect(port);
	/* sleeps (past the spin budget), then woken by the progress thread */
	assert_int_equal(sys(SYS_epoll_wait, ep, out, 4, 3000), 1);
	assert_int_equal(out[0].data.fd, lfd);
	c = (int)sys(SYS_accept4, lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(c >= 0);
	assert_int_equal(sys(SYS_fcntl, c, F_GETFD), FD_CLOEXEC);
	assert_true(sys(SYS_fcntl, c, F_GETFL) & O_NONBLOCK);
	assert_int_equal(sys(SYS_accept, lfd, 0, 0), -EAGAIN);
	assert_int_equal(sys(SYS_close, c), 0);
	assert_int_equal(sys(SYS_close, ep), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* a thread asleep in epoll_wait wakes when another thread adds an
 * already-ready socket to its set (as Linux) */
struct epw {
	int ep;
	long r;
	struct epoll_event ev;
};

static void *ep_waiter(void *arg)
{
	struct epw *w = arg;
	w->r = sys(SYS_epoll_wait, w->ep, &w->ev, 1, 3000);
	return NULL;
}

static void test_epoll_add_wakes_waiter(void **state)
{
	int lfd, vfd, psd, vfd2, lfd2, psd2;
	struct epw w;
	struct epoll_event ev;
	pthread_t t;
	uint64_t t0;
	(void)state;
	psd = nf_pair(&lfd, &vfd, SOCK_NONBLOCK);
	psd2 = nf_pair(&lfd2, &vfd2, SOCK_NONBLOCK);
	w.ep = (int)sys(SYS_epoll_create1, 0);
	w.r = -1;
	/* the set holds one idle netfuse socket, so the waiter sleeps in vfs/ */
	ev.events = EPOLLIN;
	ev.data.u64 = 1;
	assert_int_equal(sys(SYS_epoll_ctl, w.ep, EPOLL_CTL_ADD, vfd2, &ev), 0);
	assert_int_equal(peer_send_all(psd, "r", 1, 1000), 1);
	usleep(20000); /* vfd is readable now */
	t0 = fx_now();
	assert_int_equal(pthread_create(&t, NULL, ep_waiter, &w), 0);
	usleep(100000); /* asleep */
	ev.data.u64 = 2;
	assert_int_equal(sys(SYS_epoll_ctl, w.ep, EPOLL_CTL_ADD, vfd, &ev), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.r, 1);
	assert_int_equal(w.ev.data.u64, 2);
	assert_true(fx_now() - t0 < 1000000000ull); /* not the 3 s timeout */
	assert_int_equal(sys(SYS_close, w.ep), 0);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, vfd2), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	assert_int_equal(sys(SYS_close, lfd2), 0);
	peer_close(psd);
	peer_close(psd2);
}

/* ---- poll / select over a netfuse socket and a pipe ------------------------------ */
static void test_poll_select_mixed(void **state)
{
	int lfd, vfd, psd, p[2];
	struct pollfd pf[2];
	fd_set rs;
	struct timeval tv;
	char buf[16];
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	assert_int_equal(pipe(p), 0);
	pf[0].fd = vfd;
	pf[0].events = POLLIN;
	pf[1].fd = p[0];
	pf[1].events = POLLIN;
	assert_int_equal(sys(SYS_poll, pf, 2, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sys(SYS_poll, pf, 2, 1000), 1);
	assert_int_equal(pf[0].revents, 0);
	assert_int_equal(pf[1].revents, POLLIN);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(peer_send_all(psd, "hi", 2, 1000), 2);
	assert_int_equal(sys(SYS_poll, pf, 2, 2000), 1);
	assert_true(pf[0].revents & POLLIN);
	assert_int_equal(pf[1].revents, 0);
	/* select: both readable */
	assert_int_equal(write(p[1], "y", 1), 1);
	FD_ZERO(&rs);
	FD_SET(vfd, &rs);
	FD_SET(p[0], &rs);
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	assert_int_equal(sys(SYS_select, (vfd > p[0] ? vfd : p[0]) + 1, &rs, 0, 0,
			     &tv), 2);
	assert_true(FD_ISSET(vfd, &rs));
	assert_true(FD_ISSET(p[0], &rs));
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), 2);
	assert_int_equal(read(p[0], buf, 1), 1);
	/* select timeout with nothing ready */
	FD_ZERO(&rs);
	FD_SET(vfd, &rs);
	FD_SET(p[0], &rs);
	tv.tv_sec = 0;
	tv.tv_usec = 30000;
	{
		uint64_t t0 = fx_now();
		assert_int_equal(sys(SYS_select, (vfd > p[0] ? vfd : p[0]) + 1, &rs,
				     0, 0, &tv), 0);
		assert_true(fx_now() - t0 >= 29000000ull);
		assert_false(FD_ISSET(vfd, &rs));
	}
	peer_close(psd);
	assert_int_equal(sys(SYS_poll, pf, 2, 2000), 1);
	assert_true(pf[0].revents & POLLIN); /* EOF is readable */
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	close(p[0]);
	close(p[1]);
}

/* ---- blocking: timeouts, wake-ups, EINTR, progress --------------------------------- */
static void *delayed_send(void *arg)
{
	int sd = (int)(intptr_t)arg;
	usleep(100000);
	(void)peer_send_all(sd, "late", 4, 1000);
	return NULL;
}

/* poll and select asleep (past the spin budget), woken by data */
static void test_poll_select_sleep_wake(void **state)
{
	int lfd, vfd, psd, p[2];
	struct pollfd pf[2];
	pthread_t t;
	uint64_t t0;
	fd_set rs;
	char buf[8];
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	assert_int_equal(pipe(p), 0);
	pf[0].fd = p[0];
	pf[0].events = POLLIN;
	pf[1].fd = vfd;
	pf[1].events = POLLIN;
	assert_int_equal(pthread_create(&t, NULL, delayed_send,
					(void *)(intptr_t)psd), 0);
	t0 = fx_now();
	assert_int_equal(sys(SYS_poll, pf, 2, 3000), 1);
	assert_true(fx_now() - t0 >= 80000000ull);
	assert_true(fx_now() - t0 < 2000000000ull);
	assert_true(pf[1].revents & POLLIN);
	pthread_join(t, NULL);
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), 4);
	FD_ZERO(&rs);
	FD_SET(vfd, &rs);
	assert_int_equal(pthread_create(&t, NULL, delayed_send,
					(void *)(intptr_t)psd), 0);
	t0 = fx_now();
	assert_int_equal(sys(SYS_pselect6, vfd + 1, &rs, 0, 0, 0, 0), 1);
	assert_true(fx_now() - t0 >= 80000000ull);
	assert_true(FD_ISSET(vfd, &rs));
	pthread_join(t, NULL);
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), 4);
	close(p[0]);
	close(p[1]);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_blocking_timeouts_eintr(void **state)
{
	int lfd, vfd, psd;
	struct timeval tv = { 0, 50000 };
	char buf[8];
	uint64_t t0;
	pthread_t t;
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	/* a blocking read sleeps and is woken by data */
	assert_int_equal(pthread_create(&t, NULL, delayed_send,
					(void *)(intptr_t)psd), 0);
	t0 = fx_now();
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), 4);
	assert_true(fx_now() - t0 >= 80000000ull);
	pthread_join(t, NULL);
	assert_memory_equal(buf, "late", 4);
	/* SO_RCVTIMEO */
	assert_int_equal(sys(SYS_setsockopt, vfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			     sizeof(tv)), 0);
	t0 = fx_now();
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), -EAGAIN);
	assert_true(fx_now() - t0 >= 45000000ull);
	assert_true(fx_now() - t0 < 1000000000ull);
	{
		struct timeval g;
		socklen_t gl = sizeof(g);
		assert_int_equal(sys(SYS_getsockopt, vfd, SOL_SOCKET, SO_RCVTIMEO,
				     &g, &gl), 0);
		assert_int_equal(g.tv_usec, 50000);
	}
	tv.tv_usec = 0;
	assert_int_equal(sys(SYS_setsockopt, vfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			     sizeof(tv)), 0);
	/* a signal interrupts a blocking read: EINTR */
	{
		struct sigaction sa;
		struct itimerval it;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		memset(&it, 0, sizeof(it));
		it.it_value.tv_usec = 60000;
		setitimer(ITIMER_REAL, &it, NULL);
		assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), -EINTR);
		/* with SA_RESTART the read goes on and gets the data */
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		assert_int_equal(pthread_create(&t, NULL, delayed_send,
						(void *)(intptr_t)psd), 0);
		assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), 4);
		pthread_join(t, NULL);
		assert_memory_equal(buf, "late", 4);
		signal(SIGALRM, SIG_DFL);
	}
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* MSG_WAITALL waiting for the rest sleeps (no spinning on "readable") */
static void *delayed_rest(void *arg)
{
	int sd = (int)(intptr_t)arg;
	usleep(200000);
	(void)peer_send_all(sd, "56789", 5, 1000);
	return NULL;
}

static void test_waitall_sleeps(void **state)
{
	int lfd, vfd, psd;
	char buf[16];
	struct timespec c0, c1;
	pthread_t t;
	uint64_t cpu;
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	assert_int_equal(peer_send_all(psd, "01234", 5, 1000), 5);
	assert_int_equal(pthread_create(&t, NULL, delayed_rest,
					(void *)(intptr_t)psd), 0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	assert_int_equal(sys(SYS_recvfrom, vfd, buf, 10, MSG_WAITALL, 0, 0), 10);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	pthread_join(t, NULL);
	assert_memory_equal(buf, "0123456789", 10);
	cpu = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull +
	      (uint64_t)(c1.tv_nsec - c0.tv_nsec);
	assert_true(cpu < 50000000ull); /* 200 ms wait, < 50 ms of CPU */
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

static void test_progress_without_calls(void **state)
{
	uint16_t port = next_port++;
	int lfd = nf_listener(port, 0), psd, c;
	static uint8_t big[40000], in[40000];
	(void)state;
	/* the program makes no call: the handshake and the ACKs for 40 KB
	 * still happen (progress thread) */
	psd = peer_connect(port);
	assert_int_equal(peer_connected(psd, 2000), 1);
	fx_pattern(big, sizeof(big), 3);
	assert_int_equal(peer_send_all(psd, big, sizeof(big), 2000),
			 (long)sizeof(big));
	usleep(50000);
	{
		struct ns_tcp_info ti;
		socklen_t tl = sizeof(ti);
		pthread_mutex_lock(&g_peer.lock);
		assert_int_equal(ns_getsockopt(g_peer.st, psd, IPPROTO_TCP,
					       TCP_INFO, &ti, &tl), 0);
		pthread_mutex_unlock(&g_peer.lock);
		assert_int_equal(ti.tcpi_unacked, 0); /* all acked */
	}
	c = (int)sys(SYS_accept, lfd, 0, 0);
	assert_true(c >= 0);
	assert_int_equal(sys(SYS_recvfrom, c, in, sizeof(in), MSG_WAITALL, 0, 0),
			 (long)sizeof(in));
	assert_memory_equal(in, big, sizeof(big));
	assert_int_equal(sys(SYS_close, c), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* ---- SIGPIPE / EPIPE ------------------------------------------------------------- */
static volatile sig_atomic_t pipes;
static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

static void test_epipe_sigpipe(void **state)
{
	int lfd, vfd, psd;
	struct sigaction sa;
	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_pipe;
	sigaction(SIGPIPE, &sa, NULL);
	psd = nf_pair(&lfd, &vfd, 0);
	assert_int_equal(sys(SYS_shutdown, vfd, SHUT_WR), 0);
	pipes = 0;
	assert_int_equal(sys(SYS_sendto, vfd, "x", 1, MSG_NOSIGNAL, 0, 0), -EPIPE);
	assert_int_equal(pipes, 0);
	assert_int_equal(sys(SYS_write, vfd, "x", 1), -EPIPE);
	assert_int_equal(pipes, 1);
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* ---- wildcard listener: user stack and kernel ------------------------------------ */
static void test_wildcard_dual(void **state)
{
	uint16_t port = next_port++;
	int fd = tcp_socket(0), kc, a1, a2, psd, one = 1;
	struct sockaddr_in lo = fx_sin("127.0.0.1", port), pa;
	socklen_t pl = sizeof(pa);
	struct vfs_stats st0, st;
	char buf[8];
	(void)state;
	vfs_get_stats(&st0);
	assert_int_equal(sys(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &one,
			     sizeof(one)), 0);
	assert_int_equal(sbind(fd, "0.0.0.0", port), 0);
	assert_int_equal(sys(SYS_listen, fd, 8), 0);
	vfs_get_stats(&st);
	assert_int_equal(st.socks_live, st0.socks_live + 1);
	/* a kernel client on loopback reaches it */
	kc = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(kc, (struct sockaddr *)&lo, sizeof(lo)), 0);
	a1 = (int)sys(SYS_accept, fd, &pa, &pl);
	assert_true(a1 >= 0);
	assert_int_equal(pa.sin_addr.s_addr, inet_addr("127.0.0.1"));
	assert_int_equal(write(kc, "k", 1), 1);
	assert_int_equal(sys(SYS_read, a1, buf, 1), 1); /* a kernel socket */
	/* and a client of the user stack too */
	psd = peer_connect(port);
	a2 = (int)sys(SYS_accept, fd, &pa, &pl);
	assert_true(a2 >= 0);
	assert_int_equal(pa.sin_addr.s_addr, inet_addr(PEER_IP));
	assert_int_equal(sys(SYS_write, a2, "u", 1), 1);
	assert_int_equal(peer_recv_all(psd, buf, 1, 2000), 1);
	assert_int_equal(buf[0], 'u');
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(sys(SYS_poll, &p, 1, 0), 0);
	}
	/* in an epoll set: ready on both halves at once = one event */
	{
		int ep = (int)sys(SYS_epoll_create1, 0), kc2, psd2, x, y;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 }, out[4];
		assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, &ev), 0);
		assert_int_equal(sys(SYS_epoll_wait, ep, out, 4, 0), 0);
		kc2 = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(kc2, (struct sockaddr *)&lo, sizeof(lo)), 0);
		psd2 = peer_connect(port);
		assert_int_equal(peer_connected(psd2, 2000), 1);
		usleep(20000);
		assert_int_equal(sys(SYS_epoll_wait, ep, out, 4, 1000), 1);
		assert_int_equal(out[0].data.u64, 77);
		x = (int)sys(SYS_accept, fd, 0, 0);
		y = (int)sys(SYS_accept, fd, 0, 0);
		assert_true(x >= 0 && y >= 0);
		assert_int_equal(sys(SYS_epoll_wait, ep, out, 4, 0), 0);
		assert_int_equal(sys(SYS_close, x), 0);
		assert_int_equal(sys(SYS_close, y), 0);
		assert_int_equal(sys(SYS_close, ep), 0);
		close(kc2);
		peer_close(psd2);
	}
	close(kc);
	assert_int_equal(sys(SYS_close, a1), 0);
	assert_int_equal(sys(SYS_close, a2), 0);
	assert_int_equal(sys(SYS_close, fd), 0);
	peer_close(psd);
}

static void test_udp(void **state)
{
	uint16_t port = next_port++;
	int fd = (int)sys(SYS_socket, AF_INET, SOCK_DGRAM, 0), psd, r;
	struct sockaddr_in me = fx_sin(VFS_IP, port), from, to;
	socklen_t fl = sizeof(from);
	char buf[64];
	(void)state;
	assert_int_equal(sys(SYS_bind, fd, &me, sizeof(me)), 0);
	psd = peer_call_socket(SOCK_DGRAM);
	to = fx_sin(VFS_IP, port);
	pthread_mutex_lock(&g_peer.lock);
	{
		struct iovec iov = { "dgram", 5 };
		r = (int)ns_sendmsg(g_peer.st, psd, &iov, 1, 0, &to);
	}
	pthread_mutex_unlock(&g_peer.lock);
	assert_int_equal(r, 5);
	assert_int_equal(sys(SYS_recvfrom, fd, buf, sizeof(buf), 0, &from, &fl), 5);
	assert_memory_equal(buf, "dgram", 5);
	assert_int_equal(from.sin_addr.s_addr, inet_addr(PEER_IP));
	assert_int_equal(fl, sizeof(from));
	/* reply to the sender */
	assert_int_equal(sys(SYS_sendto, fd, "back", 4, 0, &from, sizeof(from)), 4);
	{
		struct sockaddr_in src;
		long n = PEER_WAIT(2000, ({
			struct iovec iov = { buf, sizeof(buf) };
			ns_recvmsg(g_peer.st, psd, &iov, 1, 0, &src);
		}));
		assert_int_equal(n, 4);
		assert_memory_equal(buf, "back", 4);
		assert_int_equal(src.sin_port, htons(port));
	}
	peer_close(psd);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* wildcard (dual) UDP sockets: receive from both halves; connect
	 * keeps the half of the peer */
	{
		int k = socket(AF_INET, SOCK_DGRAM, 0), u1, u2;
		struct sockaddr_in kb = fx_sin("127.0.0.1", 0), any, pb;
		socklen_t kl = sizeof(kb);
		struct vfs_stats a, b;
		assert_int_equal(bind(k, (struct sockaddr *)&kb, sizeof(kb)), 0);
		assert_int_equal(getsockname(k, (struct sockaddr *)&kb, &kl), 0);
		vfs_get_stats(&a);
		u1 = (int)sys(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		any = fx_sin("0.0.0.0", next_port++);
		assert_int_equal(sys(SYS_bind, u1, &any, sizeof(any)), 0);
		vfs_get_stats(&b);
		assert_int_equal(b.socks_live, a.socks_live + 1); /* dual */
		/* a kernel datagram to its kernel half (loopback) */
		{
			struct sockaddr_in lo = fx_sin("127.0.0.1", ntohs(any.sin_port));
			assert_int_equal(sendto(k, "kk", 2, 0, (struct sockaddr *)&lo,
						sizeof(lo)), 2);
			assert_int_equal(sys(SYS_recvfrom, u1, buf, sizeof(buf), 0,
					     0, 0), 2);
		}
		assert_int_equal(sys(SYS_connect, u1, &kb, sizeof(kb)), 0);
		vfs_get_stats(&b);
		assert_int_equal(b.socks_live, a.socks_live); /* kernel now */
		assert_int_equal(sys(SYS_write, u1, "to-k", 4), 4);
		assert_int_equal(recv(k, buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, "to-k", 4);
		assert_int_equal(sys(SYS_close, u1), 0);
		/* connect towards the peer: the user-stack half */
		u2 = (int)sys(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		any = fx_sin("0.0.0.0", next_port++);
		assert_int_equal(sys(SYS_bind, u2, &any, sizeof(any)), 0);
		psd = peer_call_socket(SOCK_DGRAM);
		pb = fx_sin(PEER_IP, next_port++);
		pthread_mutex_lock(&g_peer.lock);
		r = ns_bind(g_peer.st, psd, &pb);
		pthread_mutex_unlock(&g_peer.lock);
		assert_int_equal(r, 0);
		assert_int_equal(sys(SYS_connect, u2, &pb, sizeof(pb)), 0);
		assert_int_equal(sys(SYS_write, u2, "to-p", 4), 4);
		{
			long n = PEER_WAIT(2000, ({
				struct iovec iov = { buf, sizeof(buf) };
				ns_recvmsg(g_peer.st, psd, &iov, 1, 0, NULL);
			}));
			assert_int_equal(n, 4);
			assert_memory_equal(buf, "to-p", 4);
		}
		peer_close(psd);
		assert_int_equal(sys(SYS_close, u2), 0);
		close(k);
	}
}

/* ---- fork ------------------------------------------------------------------------ */
static void test_fork_child_closes(void **state)
{
	int lfd, vfd, psd, status = -1;
	long pid;
	char buf[8];
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	fflush(NULL);
	pid = sys(SYS_fork, 0);
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child shares the sockets (their data moves only in
		 * the integration tests: this fixture's link is private
		 * memory): they answer as the parent's do, with nothing
		 * to read yet; its close only gives back its own hold */
		struct sockaddr_in pa;
		socklen_t pl = sizeof(pa);
		int err = -1;
		socklen_t el = sizeof(err);
		int ok = sys(SYS_getpeername, vfd, &pa, &pl) == 0 &&
			 pa.sin_family == AF_INET &&
			 sys(SYS_getsockopt, vfd, SOL_SOCKET, SO_ERROR, &err,
			     &el) == 0 && err == 0 &&
			 sys(SYS_recvfrom, vfd, buf, 1, MSG_DONTWAIT, 0, 0) ==
			 -EAGAIN &&
			 sys(SYS_close, vfd) == 0 &&
			 sys(SYS_close, lfd) == 0;
		_exit(ok ? 0 : 3);
	}
	assert_int_equal(waitpid((pid_t)pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent's connection and listener are untouched: no FIN/RST */
	assert_int_equal(peer_send_all(psd, "par", 3, 1000), 3);
	assert_int_equal(sys(SYS_read, vfd, buf, 3), 3);
	assert_memory_equal(buf, "par", 3);
	assert_int_equal(sys(SYS_write, vfd, "ent", 3), 3);
	assert_int_equal(peer_recv_all(psd, buf, 3, 2000), 3);
	assert_memory_equal(buf, "ent", 3);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* a vfork-style child (CLONE_VM, own fd table) closing everything, as
 * posix_spawn(close_fds) does, must not empty the parent's fd table */
static int vfork_child(void *arg)
{
	int fd = *(int *)arg;
	(void)sys(SYS_close, fd);
	(void)sys(SYS_close_range, 3, ~0u, 0);
	(void)hook_raw_syscall(SYS_exit, 0, 0, 0, 0, 0, 0);
	return 0;
}

static void test_vfork_child_close(void **state)
{
	int lfd, vfd, psd, status;
	struct vfs_stats a, b;
	static char stack[64 * 1024];
	char buf[4];
	pid_t pid;
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	vfs_get_stats(&a);
	pid = clone(vfork_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK |
		    SIGCHLD, &vfd);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	vfs_get_stats(&b);
	assert_int_equal(b.socks_live, a.socks_live);
	assert_int_equal(sys(SYS_write, vfd, "ok", 2), 2);
	assert_int_equal(peer_recv_all(psd, buf, 2, 2000), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* thread per connection: accepted on the main thread, served on others
 * (blocking read/write); threads' wake-up eventfds do not leak */
static int count_fds(void)
{
	int n = 0;
	char buf[32];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		if (access(buf, F_OK) == 0)
			n++;
	}
	return n;
}

static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char b[64];
	long n = sys(SYS_read, fd, b, sizeof(b)); /* sleeps first */
	if (n > 0)
		n = sys(SYS_write, fd, b, n);
	(void)sys(SYS_close, fd);
	return (void *)n;
}

static void test_thread_per_connection(void **state)
{
	enum { N = 8 };
	uint16_t port = next_port++;
	int lfd = nf_listener(port, 0), psd[N], i, before;
	pthread_t t[N];
	char b[16];
	(void)state;
	before = count_fds();
	for (i = 0; i < N; i++) {
		int c;
		psd[i] = peer_connect(port);
		assert_true(psd[i] >= 0);
		c = (int)sys(SYS_accept, lfd, 0, 0);
		assert_true(c >= 0);
		assert_int_equal(pthread_create(&t[i], NULL, serve_one,
						(void *)(intptr_t)c), 0);
	}
	usleep(100000); /* every server thread asleep in read */
	for (i = 0; i < N; i++) {
		snprintf(b, sizeof(b), "conn%02d", i);
		assert_int_equal(peer_send_all(psd[i], b, 6, 1000), 6);
	}
	for (i = 0; i < N; i++) {
		void *r;
		char want[16];
		pthread_join(t[i], &r);
		assert_int_equal((long)r, 6);
		snprintf(want, sizeof(want), "conn%02d", i);
		assert_int_equal(peer_recv_all(psd[i], b, 6, 2000), 6);
		assert_memory_equal(b, want, 6);
		peer_close(psd[i]);
	}
	assert_int_equal(count_fds(), before);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

/* Threads at once: N connections, each served by its own thread with its
 * own epoll set (non-blocking, edge-triggered, read until EAGAIN), while
 * the peer pushes and checks a pattern on all of them. */
enum { ST_N = 4, ST_BYTES = 150000 };

struct st_srv {
	int fd;
	long echoed;
	int err;
};

static void *st_serve(void *arg)
{
	struct st_srv *sv = arg;
	int ep = (int)sys(SYS_epoll_create1, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = sv->fd };
	static __thread char buf[8192];
	uint64_t end = fx_now() + 20000000000ull;
	if (sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, sv->fd, &ev) < 0)
		sv->err = 1;
	while (!sv->err && sv->echoed < ST_BYTES && fx_now() < end) {
		struct epoll_event out[2];
		long n = sys(SYS_epoll_wait, ep, out, 2, 1000);
		if (n < 0) {
			sv->err = 2;
			break;
		}
		for (;;) { /* ET: drain */
			long r = sys(SYS_read, sv->fd, buf, sizeof(buf)), off = 0;
			if (r == -EAGAIN)
				break;
			if (r <= 0) {
				sv->err = 3;
				break;
			}
			while (off < r) { /* echo all (spin on EAGAIN) */
				long w = sys(SYS_write, sv->fd, buf + off, r - off);
				if (w > 0)
					off += w;
				else if (w != -EAGAIN) {
					sv->err = 4;
					break;
				}
			}
			sv->echoed += r;
		}
	}
	(void)sys(SYS_close, ep);
	return NULL;
}

static void test_threads_epoll_et_stress(void **state)
{
	uint16_t port = next_port++;
	int lfd = nf_listener(port, 0), psd[ST_N], i;
	static uint8_t pat[ST_N][ST_BYTES], got[ST_N][ST_BYTES];
	size_t sent[ST_N] = {0}, rcvd[ST_N] = {0};
	struct st_srv sv[ST_N];
	pthread_t t[ST_N];
	uint64_t end;
	(void)state;
	for (i = 0; i < ST_N; i++) {
		psd[i] = peer_connect(port);
		assert_true(psd[i] >= 0);
		sv[i].fd = (int)sys(SYS_accept4, lfd, 0, 0, SOCK_NONBLOCK);
		assert_true(sv[i].fd >= 0);
		sv[i].echoed = 0;
		sv[i].err = 0;
		fx_pattern(pat[i], ST_BYTES, 100 + (uint32_t)i);
		assert_int_equal(pthread_create(&t[i], NULL, st_serve, &sv[i]), 0);
	}
	end = fx_now() + 20000000000ull;
	for (;;) {
		int done = 1;
		for (i = 0; i < ST_N; i++) {
			long r;
			pthread_mutex_lock(&g_peer.lock);
			if (sent[i] < ST_BYTES) {
				size_t k = ST_BYTES - sent[i] < 3000 ?
					   ST_BYTES - sent[i] : 3000;
				r = ns_send(g_peer.st, psd[i], pat[i] + sent[i], k, 0);
				if (r > 0)
					sent[i] += (size_t)r;
			}
			r = ns_recv(g_peer.st, psd[i], got[i] + rcvd[i],
				    ST_BYTES - rcvd[i], 0);
			if (r > 0)
				rcvd[i] += (size_t)r;
			pthread_mutex_unlock(&g_peer.lock);
			if (rcvd[i] < ST_BYTES)
				done = 0;
		}
		if (done || fx_now() > end)
			break;
		usleep(100);
	}
	for (i = 0; i < ST_N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(sv[i].err, 0);
		assert_int_equal(rcvd[i], ST_BYTES);
		assert_memory_equal(got[i], pat[i], ST_BYTES);
		assert_int_equal(sys(SYS_close, sv[i].fd), 0);
		peer_close(psd[i]);
	}
	assert_int_equal(sys(SYS_close, lfd), 0);
}

/* ---- threads: close while another thread waits ---------------------------------- */
struct waitarg {
	int fd;
	long r;
};

static void *blocked_reader(void *arg)
{
	struct waitarg *w = arg;
	char b[4];
	w->r = sys(SYS_read, w->fd, b, sizeof(b));
	return NULL;
}

static void test_close_while_waiting(void **state)
{
	int lfd, vfd, psd;
	pthread_t t;
	struct waitarg w;
	(void)state;
	psd = nf_pair(&lfd, &vfd, 0);
	w.fd = vfd;
	w.r = 1;
	assert_int_equal(pthread_create(&t, NULL, blocked_reader, &w), 0);
	usleep(100000);
	assert_int_equal(sys(SYS_close, vfd), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.r, -EBADF);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
}

/* every test is bounded: a hang is a failure, not a stuck CI */
static void *watchdog(void *arg)
{
	(void)arg;
	sleep(120);
	fprintf(stderr, "test_vfs: watchdog: still running after 120 s\n");
	printf("[  FAILED  ] 1 test(s)\n");
	fflush(NULL);
	_exit(1);
}

int main(void)
{
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog, NULL);
	pthread_detach(wd);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_dup_close),
		cmocka_unit_test(test_fd_numbers_no_collision),
		cmocka_unit_test(test_close_reuse_race),
		cmocka_unit_test(test_errno),
		cmocka_unit_test(test_route_rules),
		cmocka_unit_test(test_tcp_accept_echo),
		cmocka_unit_test(test_tcp_connect_out),
		cmocka_unit_test(test_connect_nonblocking_and_refused),
		cmocka_unit_test(test_sendfile),
		cmocka_unit_test(test_siocoutq_splice),
		cmocka_unit_test(test_nonblock_epoll_lt_et),
		cmocka_unit_test(test_epoll_listener_wakes),
		cmocka_unit_test(test_epoll_add_wakes_waiter),
		cmocka_unit_test(test_poll_select_mixed),
		cmocka_unit_test(test_blocking_timeouts_eintr),
		cmocka_unit_test(test_poll_select_sleep_wake),
		cmocka_unit_test(test_waitall_sleeps),
		cmocka_unit_test(test_progress_without_calls),
		cmocka_unit_test(test_epipe_sigpipe),
		cmocka_unit_test(test_wildcard_dual),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_close_while_waiting),
		cmocka_unit_test(test_thread_per_connection),
		cmocka_unit_test(test_threads_epoll_et_stress),
		cmocka_unit_test(test_fork_child_closes),
		cmocka_unit_test(test_vfork_child_close),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
