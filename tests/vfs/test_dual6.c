/*
 * test_dual6.c: AF_INET6 sockets on the user-space stack as dual-stack
 * sockets (vfs/addr.c): IPv4 peers as ::ffff:a.b.c.d in accept,
 * getpeername, recvfrom and recvmsg; [::] as the IPv4 wildcard (a dual
 * listener, kernel half on [::]); connect and sendto to mapped
 * addresses; an IPV6_V6ONLY [::] listener is dual too (the stack's
 * half IPv6 only), ::1 goes to the kernel. Over the in-memory link of
 * tests/vfs/vfs_fixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/tcp.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"

static uint16_t next_port;

static int group_setup(void **state)
{
	(void)state;
	next_port = (uint16_t)(20000 + (getpid() * 223) % 30000);
	return fx_up(NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

/* ::ffff:ip (NULL: ::) port */
static struct sockaddr_in6 sin6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	if (ip) {
		char m[64];
		snprintf(m, sizeof(m), "::ffff:%s", ip);
		assert_int_equal(inet_pton(AF_INET6, m, &a.sin6_addr), 1);
	}
	return a;
}

static void assert_mapped(const struct sockaddr_in6 *a, const char *ip,
			  uint16_t port)
{
	struct sockaddr_in6 w = sin6(ip, port);
	assert_int_equal(a->sin6_family, AF_INET6);
	assert_int_equal(ntohs(a->sin6_port), port);
	assert_memory_equal(&a->sin6_addr, &w.sin6_addr, 16);
	assert_int_equal(a->sin6_flowinfo, 0);
	assert_int_equal(a->sin6_scope_id, 0);
}

static void test_wildcard_listener_ipv4_peer(void **state)
{
	uint16_t port = next_port++;
	int fd = (int)sys(SYS_socket, AF_INET6, SOCK_STREAM, 0), vfd, psd;
	int one = 1, v = 0;
	struct sockaddr_in6 any = sin6(NULL, port), pa, me;
	socklen_t pl = sizeof(pa), ml = sizeof(me), vl = sizeof(v);
	struct vfs_stats st0, st;
	unsigned char small[16];
	char buf[8];
	(void)state;
	assert_true(fd >= 0);
	vfs_get_stats(&st0);
	assert_int_equal(sys(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &one,
			     sizeof(one)), 0);
	assert_int_equal(sys(SYS_bind, fd, &any, sizeof(any)), 0);
	assert_int_equal(sys(SYS_listen, fd, 8), 0);
	vfs_get_stats(&st);
	assert_int_equal(st.socks_live, st0.socks_live + 1); /* dual */
	assert_int_equal(sys(SYS_getsockname, fd, &me, &ml), 0);
	assert_int_equal(ml, sizeof(me));
	assert_int_equal(me.sin6_family, AF_INET6);
	assert_int_equal(ntohs(me.sin6_port), port);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&me.sin6_addr));
	/* an IPv4 client of the user-space stack */
	psd = peer_connect(port);
	vfd = (int)sys(SYS_accept, fd, &pa, &pl);
	assert_true(vfd >= 0);
	assert_int_equal(pl, sizeof(pa));
	assert_mapped(&pa, PEER_IP, ntohs(pa.sin6_port));
	assert_int_equal(peer_connected(psd, 2000), 1);
	ml = sizeof(me);
	assert_int_equal(sys(SYS_getsockname, vfd, &me, &ml), 0);
	assert_mapped(&me, VFS_IP, port);
	/* a short buffer: truncated, the full length reported (Linux) */
	pl = sizeof(small);
	memset(small, 0xee, sizeof(small));
	assert_int_equal(sys(SYS_getpeername, vfd, small, &pl), 0);
	assert_int_equal(pl, sizeof(struct sockaddr_in6));
	assert_memory_equal(small, &pa, sizeof(small));
	assert_int_equal(sys(SYS_getsockopt, vfd, SOL_SOCKET, SO_DOMAIN, &v,
			     &vl), 0);
	assert_int_equal(v, AF_INET6);
	/* IPPROTO_IPV6 options: the AF_INET6 placeholder answers */
	vl = sizeof(v);
	v = -1;
	assert_int_equal(sys(SYS_getsockopt, vfd, IPPROTO_IPV6, IPV6_V6ONLY,
			     &v, &vl), 0);
	assert_int_equal(v, 0);
	/* data both ways */
	assert_int_equal(peer_send_all(psd, "v4->v6", 6, 2000), 6);
	assert_int_equal(sys(SYS_read, vfd, buf, 6), 6);
	assert_memory_equal(buf, "v4->v6", 6);
	assert_int_equal(sys(SYS_write, vfd, "ok", 2), 2);
	assert_int_equal(peer_recv_all(psd, buf, 2, 2000), 2);
	assert_memory_equal(buf, "ok", 2);
	/* the kernel half: an IPv6 loopback client reaches it */
	{
		int k = socket(AF_INET6, SOCK_STREAM, 0), a;
		struct sockaddr_in6 lo = any;
		lo.sin6_addr = in6addr_loopback;
		assert_int_equal(connect(k, (struct sockaddr *)&lo, sizeof(lo)), 0);
		pl = sizeof(pa);
		a = (int)sys(SYS_accept, fd, &pa, &pl);
		assert_true(a >= 0);
		assert_true(IN6_IS_ADDR_LOOPBACK(&pa.sin6_addr));
		assert_int_equal(sys(SYS_close, a), 0);
		close(k);
	}
	peer_close(psd);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, fd), 0);
}

static void test_bind_mapped_and_connect_out(void **state)
{
	uint16_t port = next_port++;
	int fd = (int)sys(SYS_socket, AF_INET6, SOCK_STREAM, 0), vfd, psd, lsd;
	struct sockaddr_in6 a = sin6(VFS_IP, port), pa, me;
	socklen_t pl = sizeof(pa), ml = sizeof(me);
	char buf[8];
	(void)state;
	/* bind the stack's own address, mapped */
	assert_int_equal(sys(SYS_bind, fd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, fd, 8), 0);
	psd = peer_connect(port);
	vfd = (int)sys(SYS_accept4, fd, &pa, &pl, SOCK_CLOEXEC);
	assert_true(vfd >= 0);
	assert_mapped(&pa, PEER_IP, ntohs(pa.sin6_port));
	peer_close(psd);
	assert_int_equal(sys(SYS_close, vfd), 0);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* connect out to a mapped address of the peer's subnet */
	port = next_port++;
	lsd = peer_listen(port);
	assert_true(lsd >= 0);
	fd = (int)sys(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	a = sin6(PEER_IP, port);
	assert_int_equal(sys(SYS_connect, fd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_getpeername, fd, &pa, &pl), 0);
	assert_mapped(&pa, PEER_IP, port);
	assert_int_equal(sys(SYS_getsockname, fd, &me, &ml), 0);
	assert_mapped(&me, VFS_IP, ntohs(me.sin6_port));
	psd = (int)PEER_WAIT(2000, ns_accept(g_peer.st, lsd, NULL));
	assert_true(psd >= 0);
	assert_int_equal(sys(SYS_write, fd, "hi6", 3), 3);
	assert_int_equal(peer_recv_all(psd, buf, 3, 2000), 3);
	assert_memory_equal(buf, "hi6", 3);
	/* connected: another connect is EISCONN (Linux), whatever the
	 * address */
	{
		struct sockaddr_in6 v6 = sin6(NULL, 9);
		v6.sin6_addr = in6addr_loopback;
		assert_int_equal(sys(SYS_connect, fd, &v6, sizeof(v6)),
				 -EISCONN);
	}
	peer_close(psd);
	peer_close(lsd);
	assert_int_equal(sys(SYS_close, fd), 0);
}

static void test_udp_mapped(void **state)
{
	uint16_t port = next_port++;
	int fd = (int)sys(SYS_socket, AF_INET6, SOCK_DGRAM, 0), psd, r;
	struct sockaddr_in6 any = sin6(NULL, port), from;
	struct sockaddr_in to = fx_sin(VFS_IP, port);
	socklen_t fl = sizeof(from);
	struct vfs_stats st0, st;
	char buf[64];
	(void)state;
	vfs_get_stats(&st0);
	assert_int_equal(sys(SYS_bind, fd, &any, sizeof(any)), 0);
	vfs_get_stats(&st);
	assert_int_equal(st.socks_live, st0.socks_live + 1); /* dual */
	psd = peer_call_socket(SOCK_DGRAM);
	pthread_mutex_lock(&g_peer.lock);
	{
		struct iovec iov = { "dgram6", 6 };
		r = (int)ns_sendmsg(g_peer.st, psd, &iov, 1, 0, &to);
	}
	pthread_mutex_unlock(&g_peer.lock);
	assert_int_equal(r, 6);
	assert_int_equal(sys(SYS_recvfrom, fd, buf, sizeof(buf), 0, &from, &fl),
			 6);
	assert_memory_equal(buf, "dgram6", 6);
	assert_int_equal(fl, sizeof(from));
	assert_mapped(&from, PEER_IP, ntohs(from.sin6_port));
	/* reply with sendto to the mapped source */
	assert_int_equal(sys(SYS_sendto, fd, "back", 4, 0, &from, sizeof(from)),
			 4);
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
	/* recvmsg names the source mapped too; sendmsg to it */
	pthread_mutex_lock(&g_peer.lock);
	{
		struct iovec iov = { "again", 5 };
		r = (int)ns_sendmsg(g_peer.st, psd, &iov, 1, 0, &to);
	}
	pthread_mutex_unlock(&g_peer.lock);
	assert_int_equal(r, 5);
	{
		struct sockaddr_in6 n6;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m;
		memset(&m, 0, sizeof(m));
		m.msg_name = &n6;
		m.msg_namelen = sizeof(n6);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		assert_int_equal(sys(SYS_recvmsg, fd, &m, 0), 5);
		assert_int_equal(m.msg_namelen, sizeof(n6));
		assert_mapped(&n6, PEER_IP, ntohs(from.sin6_port));
		iov.iov_base = "m";
		iov.iov_len = 1;
		assert_int_equal(sys(SYS_sendmsg, fd, &m, 0), 1);
	}
	{
		long n = PEER_WAIT(2000, ({
			struct iovec iov = { buf, sizeof(buf) };
			ns_recvmsg(g_peer.st, psd, &iov, 1, 0, NULL);
		}));
		assert_int_equal(n, 1);
	}
	/* an IPv6 destination: the kernel half sends it */
	{
		int k = socket(AF_INET6, SOCK_DGRAM, 0);
		struct sockaddr_in6 kb = sin6(NULL, 0), lo = sin6(NULL, port);
		socklen_t kl = sizeof(kb);
		kb.sin6_addr = in6addr_loopback;
		lo.sin6_addr = in6addr_loopback;
		assert_int_equal(bind(k, (struct sockaddr *)&kb, sizeof(kb)), 0);
		assert_int_equal(getsockname(k, (struct sockaddr *)&kb, &kl), 0);
		assert_int_equal(sys(SYS_sendto, fd, "k6", 2, 0, &kb, sizeof(kb)),
				 2);
		assert_int_equal(recv(k, buf, sizeof(buf), 0), 2);
		/* and receives from it */
		assert_int_equal(sendto(k, "r6", 2, 0, (struct sockaddr *)&lo,
					sizeof(lo)), 2);
		fl = sizeof(from);
		assert_int_equal(sys(SYS_recvfrom, fd, buf, sizeof(buf), 0, &from,
				     &fl), 2);
		assert_memory_equal(buf, "r6", 2);
		assert_true(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
		close(k);
	}
	peer_close(psd);
	assert_int_equal(sys(SYS_close, fd), 0);
}

static void test_v6only_and_ipv6_to_kernel(void **state)
{
	uint16_t port = next_port++;
	int fd = (int)sys(SYS_socket, AF_INET6, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in6 any = sin6(NULL, port), m = sin6(VFS_IP, port);
	struct vfs_stats st0, st;
	(void)state;
	vfs_get_stats(&st0);
	assert_int_equal(sys(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_V6ONLY,
			     &one, sizeof(one)), 0);
	/* a mapped address on an IPV6_V6ONLY socket: Linux's EINVAL */
	assert_int_equal(sys(SYS_bind, fd, &m, sizeof(m)), -EINVAL);
	assert_int_equal(sys(SYS_bind, fd, &any, sizeof(any)), 0);
	assert_int_equal(sys(SYS_listen, fd, 8), 0);
	vfs_get_stats(&st);
	/* [::] v6-only is dual too: the stack's half takes IPv6 only */
	assert_int_equal(st.socks_live, st0.socks_live + 1);
	assert_int_equal(st.fallback_ipv6, st0.fallback_ipv6);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* ::1: the socket becomes the kernel's (as 127/8) */
	fd = (int)sys(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	any.sin6_addr = in6addr_loopback;
	any.sin6_port = htons(1); /* nobody listens: the kernel refuses */
	assert_int_equal(sys(SYS_connect, fd, &any, sizeof(any)),
			 -ECONNREFUSED);
	vfs_get_stats(&st);
	assert_int_equal(st.fallback_loopback, st0.fallback_loopback + 1);
	assert_int_equal(sys(SYS_close, fd), 0);
	/* a too short AF_INET6 address: the kernel's EINVAL */
	fd = (int)sys(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(sys(SYS_bind, fd, &m, 20), -EINVAL);
	assert_int_equal(sys(SYS_close, fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcard_listener_ipv4_peer),
		cmocka_unit_test(test_bind_mapped_and_connect_out),
		cmocka_unit_test(test_udp_mapped),
		cmocka_unit_test(test_v6only_and_ipv6_to_kernel),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
