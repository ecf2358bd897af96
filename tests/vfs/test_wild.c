/*
 * test_wild.c: a wildcard bind or listen takes both halves of a dual
 * socket (the kernel's port and the user-space stack's) or neither, with
 * Linux's errno (issue 17): a port the stack holds on the netfuse address
 * refuses the wildcard as Linux does, the kernel never keeps a half that
 * listens alone, and a failed bind leaves the socket unbound. Over the
 * in-memory link of tests/vfs/vfs_fixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"

static uint16_t next_port;

static int group_setup(void **state)
{
	(void)state;
	next_port = (uint16_t)(20000 + (getpid() * 227) % 30000);
	return fx_up(NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

static long sbind(int fd, const char *ip, uint16_t port)
{
	struct sockaddr_in a = fx_sin(ip, port);
	return sys(SYS_bind, fd, &a, sizeof(a));
}

/* the kernel's idea of the socket's port (an undecided socket passes
 * getsockname through) */
static uint16_t kport(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	assert_int_equal(sys(SYS_getsockname, fd, &a, &l), 0);
	return ntohs(a.sin_port);
}

/* a kernel client on loopback: 0 connected, else errno */
static int lo_connect(uint16_t port)
{
	struct sockaddr_in lo = fx_sin("127.0.0.1", port);
	int k = socket(AF_INET, SOCK_STREAM, 0), r;
	assert_true(k >= 0);
	r = connect(k, (struct sockaddr *)&lo, sizeof(lo)) ? errno : 0;
	close(k);
	return r;
}

/* the netfuse address holds the port (TCP listener, UDP socket): a
 * wildcard bind of the same port fails with EADDRINUSE, as in Linux,
 * and leaves the socket unbound (the kernel's half was never bound) */
static void test_stack_port_refuses_wildcard(void **state)
{
	static const int types[2] = { SOCK_STREAM, SOCK_DGRAM };
	int t;
	(void)state;
	for (t = 0; t < 2; t++) {
		uint16_t port = next_port++;
		int own = (int)sys(SYS_socket, AF_INET, types[t], 0),
		    w = (int)sys(SYS_socket, AF_INET, types[t], 0);
		struct vfs_stats s0, s1;
		assert_true(own >= 0 && w >= 0);
		assert_int_equal(sbind(own, VFS_IP, port), 0);
		if (types[t] == SOCK_STREAM)
			assert_int_equal(sys(SYS_listen, own, 8), 0);
		vfs_get_stats(&s0);
		assert_int_equal(sbind(w, "0.0.0.0", port), -EADDRINUSE);
		assert_int_equal(kport(w), 0);
		/* the kernel's port stayed free: a kernel socket takes it */
		{
			int k = socket(AF_INET, types[t], 0);
			struct sockaddr_in a = fx_sin("0.0.0.0", port);
			assert_int_equal(bind(k, (struct sockaddr *)&a,
					      sizeof(a)), 0);
			close(k);
		}
		vfs_get_stats(&s1);
		assert_int_equal(s1.socks_live, s0.socks_live);
		/* once the holder is gone the same socket binds and is
		 * dual (counted live) */
		assert_int_equal(sys(SYS_close, own), 0);
		assert_int_equal(sbind(w, "0.0.0.0", port), 0);
		if (types[t] == SOCK_STREAM)
			assert_int_equal(sys(SYS_listen, w, 8), 0);
		vfs_get_stats(&s1);
		assert_int_equal(s1.socks_live, s0.socks_live);
		assert_int_equal(kport(w), port);
		assert_int_equal(sys(SYS_close, w), 0);
	}
}

/* a kernel socket of another holder has the kernel's port: EADDRINUSE
 * (Linux's answer), and nothing is left on the stack */
static void test_kernel_port_refuses_wildcard(void **state)
{
	uint16_t port = next_port++;
	struct sockaddr_in a = fx_sin("0.0.0.0", port);
	int k = socket(AF_INET, SOCK_STREAM, 0),
	    w = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0), own;
	(void)state;
	assert_int_equal(bind(k, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(k, 8), 0);
	assert_int_equal(sbind(w, "0.0.0.0", port), -EADDRINUSE);
	/* the stack's port is free: the netfuse address binds it */
	own = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sbind(own, VFS_IP, port), 0);
	assert_int_equal(sys(SYS_listen, own, 8), 0);
	assert_int_equal(sys(SYS_close, own), 0);
	assert_int_equal(sys(SYS_close, w), 0);
	close(k);
}

/* the stack's half is taken between bind and listen (a socket of this
 * process bound the netfuse address meanwhile): listen fails with
 * EADDRINUSE and the kernel's half does not listen either (a loopback
 * client is refused); once the other goes, listen succeeds on both */
static void test_listen_fails_both_halves(void **state)
{
	uint16_t port = next_port++;
	int w = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0),
	    own = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0), psd, a;
	struct vfs_stats s0, s1;
	(void)state;
	assert_int_equal(sbind(w, "0.0.0.0", port), 0);
	assert_int_equal(sbind(own, VFS_IP, port), 0);
	assert_int_equal(sys(SYS_listen, own, 8), 0);
	vfs_get_stats(&s0);
	assert_int_equal(sys(SYS_listen, w, 8), -EADDRINUSE);
	assert_int_equal(lo_connect(port), ECONNREFUSED);
	vfs_get_stats(&s1);
	assert_int_equal(s1.socks_live, s0.socks_live);
	assert_int_equal(kport(w), port); /* still bound, as before */
	assert_int_equal(sys(SYS_close, own), 0);
	assert_int_equal(sys(SYS_listen, w, 8), 0);
	assert_int_equal(lo_connect(port), 0);
	psd = peer_connect(port);
	assert_int_equal(peer_connected(psd, 2000), 1);
	/* the loopback connection first, then the stack's */
	a = (int)sys(SYS_accept, w, 0, 0);
	assert_true(a >= 0);
	assert_int_equal(sys(SYS_close, a), 0);
	a = (int)sys(SYS_accept, w, 0, 0);
	assert_true(a >= 0);
	assert_int_equal(sys(SYS_close, a), 0);
	peer_close(psd);
	assert_int_equal(sys(SYS_close, w), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_port_refuses_wildcard),
		cmocka_unit_test(test_kernel_port_refuses_wildcard),
		cmocka_unit_test(test_listen_fails_both_halves),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
