/*
 * test_tcp6.c: TCP and UDP over IPv6, and dual-stack (AF_INET6) sockets
 * (stack/sock.c, sock_addr.c, ip6.c, tcp_*.c, udp.c).
 *
 * Two instances on the simulated wire of sim.h, each with an IPv4 and an
 * IPv6 address (198.18.0.1 / 2001:2::1 and .2 / ::2): a connection over
 * IPv6 carries 1 MiB each way byte-exact through loss and closes
 * cleanly; an AF_INET6 listener on :: takes IPv4 clients (as
 * ::ffff:198.18.0.1) and IPv6 ones, an IPV6_V6ONLY one refuses IPv4;
 * bind conflicts across the families are Linux's; UDP datagrams go
 * both ways with their source addresses; a SYN to a closed IPv6 port
 * gets a RST; ICMPv6 port unreachable and packet too big reach UDP and
 * TCP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <cmocka.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include "stack/ns_priv.h"
#include "tests/stack/sim.h"

static struct sim *S;

static struct ns_stack *C(void) { return S->node[0].st; } /* client */
static struct ns_stack *V(void) { return S->node[1].st; } /* server */

static int setup(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	(void)state;
	assert_non_null(s);
	s->ip6 = 1;
	assert_int_equal(sim_init(s, 61, 64, 65536, 4096), 0);
	S = s;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sim_fini(S);
	sim_free(S);
	free(S);
	S = NULL;
	return 0;
}

static union ns_sockaddr sa6(int node_last, uint16_t port)
{
	union ns_sockaddr a;
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	if (node_last >= 0) {
		a.in6.sin6_addr.s6_addr[0] = 0x20;
		a.in6.sin6_addr.s6_addr[1] = 0x01;
		a.in6.sin6_addr.s6_addr[3] = 0x02;
		a.in6.sin6_addr.s6_addr[15] = (uint8_t)node_last;
	}
	return a;
}

static union ns_sockaddr sa4(uint32_t host, uint16_t port)
{
	union ns_sockaddr a;
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	a.in.sin_port = htons(port);
	a.in.sin_addr.s_addr = htonl(host);
	return a;
}

static void run_ms(unsigned ms)
{
	unsigned i;
	for (i = 0; i < ms; i++) {
		(void)sim_step(S);
		S->now += 1000000;
	}
}

static uint64_t cnt(struct ns_stack *st, size_t off)
{
	return *(const uint64_t *)((const char *)ns_stack_counters(st) + off);
}
#define CNT(st, f) cnt(st, offsetof(struct ns_counters, f))

/* connect client socket csd to the server's listener; the accepted sd */
static int accept_within(int lsd, union ns_sockaddr *peer, socklen_t *pl)
{
	int i, asd = -EAGAIN;
	for (i = 0; i < 2000 && asd == -EAGAIN; i++) {
		run_ms(1);
		asd = ns_accept_sa(V(), lsd, peer, pl);
	}
	return asd;
}


/* a connection over IPv6: names, MSS, 1 MiB each way through 1% loss,
 * FIN both ways */
static void t_tcp6_transfer(void **state)
{
	union ns_sockaddr a = sa6(2, 8080), peer, me;
	socklen_t pl = 0, ml = 0;
	struct sim_flow c2s = { 0, 0, 1u << 20, 0 }, s2c = { 0, 0, 1u << 20, 1 };
	int lsd, csd, asd, i, bad = 0;
	uint8_t buf[64];
	(void)state;
	lsd = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_true(lsd >= 0);
	assert_int_equal(ns_bind_sa(V(), lsd, &a, sizeof(a.in6)), 0);
	assert_int_equal(ns_listen(V(), lsd, 8), 0);
	csd = ns_socket_af(C(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_connect_sa(C(), csd, &a, sizeof(a.in6)),
			 -EINPROGRESS);
	asd = accept_within(lsd, &peer, &pl);
	assert_true(asd >= 0);
	assert_int_equal(pl, sizeof(struct sockaddr_in6));
	assert_int_equal(peer.in6.sin6_addr.s6_addr[15], 1);
	assert_int_equal(peer.in6.sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(ns_getsockname_sa(C(), csd, &me, &ml), 0);
	assert_int_equal(me.sa.sa_family, AF_INET6);
	assert_int_equal(me.in6.sin6_port, peer.in6.sin6_port);
	assert_int_equal(ns_getpeername_sa(C(), csd, &me, &ml), 0);
	assert_memory_equal(&me.in6.sin6_addr, &a.in6.sin6_addr, 16);
	/* the MSS leaves room for the 40-byte header (1500 - 60, less
	 * the timestamp option's 12) */
	assert_true(S->node[0].st->socks[csd].tcb.mss <= 1500 - 60);
	assert_true(S->node[0].st->socks[csd].tcb.mss >= 1500 - 60 - 12);

	S->loss_ppm = 10000;
	for (i = 0; i < 60000 && !bad &&
		    (c2s.rcvd < c2s.total || s2c.rcvd < s2c.total); i++) {
		if (sim_pump(C(), csd, &c2s, &s2c) || sim_pump(V(), asd, &s2c, &c2s))
			bad = 1;
		run_ms(1);
	}
	S->loss_ppm = 0;
	assert_int_equal(bad, 0);
	assert_int_equal(c2s.rcvd, c2s.total);
	assert_int_equal(s2c.rcvd, s2c.total);
	assert_true(CNT(C(), tcp_retransmits) > 0); /* loss was seen */
	assert_int_equal(CNT(C(), tcp_conn_reset), 0);
	assert_int_equal(CNT(V(), tcp_conn_reset), 0);
	assert_int_equal(S->oversize, 0);
	/* orderly close both ways */
	assert_int_equal(ns_close(C(), csd), 0);
	run_ms(200);
	assert_int_equal(ns_recv(V(), asd, buf, sizeof(buf), 0), 0);
	assert_int_equal(ns_close(V(), asd), 0);
	run_ms(3000);
	assert_int_equal(ns_stack_established(C()), 0);
	assert_int_equal(ns_stack_established(V()), 0);
	assert_int_equal(CNT(V(), tcp_rst_sent), 0);
	assert_int_equal(ns_close(V(), lsd), 0);
}

/* an AF_INET6 listener on :: takes both families; v6-only takes IPv6
 * only */
static void t_dual_listener(void **state)
{
	union ns_sockaddr any = sa6(-1, 9000), to4 = sa4(0xc6120002u, 9000),
			  to6 = sa6(2, 9000), peer;
	socklen_t pl = 0;
	int lsd, c4, c6, a4, a6, one = 1;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	(void)state;
	lsd = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_bind_sa(V(), lsd, &any, sizeof(any.in6)), 0);
	assert_int_equal(ns_listen(V(), lsd, 8), 0);
	c4 = ns_socket(C(), SOCK_STREAM);
	assert_int_equal(ns_connect_sa(C(), c4, &to4, sizeof(to4.in)),
			 -EINPROGRESS);
	a4 = accept_within(lsd, &peer, &pl);
	assert_true(a4 >= 0);
	assert_int_equal(pl, sizeof(struct sockaddr_in6));
	assert_memory_equal(peer.in6.sin6_addr.s6_addr, mapped, 12);
	assert_int_equal(peer.in6.sin6_addr.s6_addr[15], 1); /* .1 */
	c6 = ns_socket_af(C(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_connect_sa(C(), c6, &to6, sizeof(to6.in6)),
			 -EINPROGRESS);
	a6 = accept_within(lsd, &peer, &pl);
	assert_true(a6 >= 0);
	assert_int_equal(peer.in6.sin6_addr.s6_addr[0], 0x20);
	/* the IPv4 connection is IPv4 on the wire: its local name is the
	 * mapped address */
	assert_int_equal(ns_getsockname_sa(V(), a4, &peer, &pl), 0);
	assert_memory_equal(peer.in6.sin6_addr.s6_addr, mapped, 12);
	assert_int_equal(ns_send(C(), c4, "four", 4, 0), 4);
	assert_int_equal(ns_send(C(), c6, "six", 3, 0), 3);
	run_ms(20);
	{
		char b[8];
		assert_int_equal(ns_recv(V(), a4, b, sizeof(b), 0), 4);
		assert_memory_equal(b, "four", 4);
		assert_int_equal(ns_recv(V(), a6, b, sizeof(b), 0), 3);
		assert_memory_equal(b, "six", 3);
	}
	ns_abort(C(), c4);
	ns_abort(C(), c6);
	ns_abort(V(), a4);
	ns_abort(V(), a6);
	ns_close(V(), lsd);
	run_ms(10);

	/* v6-only: an IPv4 SYN finds no listener (RST: refused) */
	lsd = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_setsockopt(V(), lsd, IPPROTO_IPV6, IPV6_V6ONLY,
				       &one, sizeof(one)), 0);
	assert_int_equal(ns_bind_sa(V(), lsd, &any, sizeof(any.in6)), 0);
	assert_int_equal(ns_setsockopt(V(), lsd, IPPROTO_IPV6, IPV6_V6ONLY,
				       &one, sizeof(one)), -EINVAL);
	assert_int_equal(ns_listen(V(), lsd, 8), 0);
	c4 = ns_socket(C(), SOCK_STREAM);
	assert_int_equal(ns_connect_sa(C(), c4, &to4, sizeof(to4.in)),
			 -EINPROGRESS);
	run_ms(50);
	assert_true(ns_sock_events(C(), c4) & NS_EV_ERR);
	assert_int_equal(ns_connect_sa(C(), c4, &to4, sizeof(to4.in)),
			 -ECONNREFUSED);
	ns_close(C(), c4);
	ns_close(V(), lsd);
}

/* bind: the families' address sets as Linux has them */
static void t_bind_families(void **state)
{
	union ns_sockaddr any6 = sa6(-1, 7000), any4 = sa4(0, 7000),
			  me6 = sa6(2, 7001), other6 = sa6(9, 7001),
			  mapped = sa6(-1, 7002);
	int a = ns_socket(V(), SOCK_STREAM), b, c, one = 1;
	(void)state;
	assert_int_equal(ns_bind_sa(V(), a, &any4, sizeof(any4.in)), 0);
	/* [::] (dual) overlaps 0.0.0.0 */
	b = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_bind_sa(V(), b, &any6, sizeof(any6.in6)),
			 -EADDRINUSE);
	ns_close(V(), b);
	/* [::] v6-only does not */
	b = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_setsockopt(V(), b, IPPROTO_IPV6, IPV6_V6ONLY,
				       &one, sizeof(one)), 0);
	assert_int_equal(ns_bind_sa(V(), b, &any6, sizeof(any6.in6)), 0);
	/* our IPv6 address; not another's */
	c = ns_socket_af(V(), AF_INET6, SOCK_DGRAM);
	assert_int_equal(ns_bind_sa(V(), c, &other6, sizeof(other6.in6)),
			 -EADDRNOTAVAIL);
	assert_int_equal(ns_bind_sa(V(), c, &me6, sizeof(me6.in6)), 0);
	ns_close(V(), c);
	/* a mapped address on a v6-only socket: EINVAL; a short one:
	 * EINVAL; an AF_INET address on an AF_INET6 socket: EAFNOSUPPORT */
	c = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_setsockopt(V(), c, IPPROTO_IPV6, IPV6_V6ONLY,
				       &one, sizeof(one)), 0);
	mapped.in6.sin6_addr.s6_addr[10] = 0xff;
	mapped.in6.sin6_addr.s6_addr[11] = 0xff;
	mapped.in6.sin6_addr.s6_addr[12] = 198;
	mapped.in6.sin6_addr.s6_addr[13] = 18;
	mapped.in6.sin6_addr.s6_addr[15] = 2;
	assert_int_equal(ns_bind_sa(V(), c, &mapped, sizeof(mapped.in6)),
			 -EINVAL);
	assert_int_equal(ns_bind_sa(V(), c, &me6, 20), -EINVAL);
	assert_int_equal(ns_bind_sa(V(), c, &any4, sizeof(any6.in6)),
			 -EAFNOSUPPORT);
	ns_close(V(), c);
	/* an AF_INET socket takes no sockaddr_in6 */
	c = ns_socket(V(), SOCK_DGRAM);
	assert_int_equal(ns_bind_sa(V(), c, &me6, sizeof(me6.in6)),
			 -EAFNOSUPPORT);
	ns_close(V(), c);
	ns_close(V(), a);
	ns_close(V(), b);
}

/* UDP over IPv6 both ways, and to a dual socket from IPv4 */
static void t_udp6(void **state)
{
	union ns_sockaddr srv = sa6(-1, 5353), to6 = sa6(2, 5353),
			  to4 = sa4(0xc6120002u, 5353), from;
	socklen_t fl = 0;
	int s = ns_socket_af(V(), AF_INET6, SOCK_DGRAM);
	int c6 = ns_socket_af(C(), AF_INET6, SOCK_DGRAM);
	int c4 = ns_socket(C(), SOCK_DGRAM);
	struct iovec v;
	char buf[64];
	int i, got = 0;
	(void)state;
	assert_int_equal(ns_bind_sa(V(), s, &srv, sizeof(srv.in6)), 0);
	v.iov_base = "over six";
	v.iov_len = 8;
	assert_int_equal(ns_sendmsg_sa(C(), c6, &v, 1, 0, &to6,
				       sizeof(to6.in6)), 8);
	v.iov_base = "over four";
	v.iov_len = 9;
	assert_int_equal(ns_sendmsg_sa(C(), c4, &v, 1, 0, &to4,
				       sizeof(to4.in)), 9);
	run_ms(10);
	v.iov_base = buf;
	v.iov_len = sizeof(buf);
	/* the IPv6 one waited for neighbour discovery: either order */
	for (i = 0; i < 2; i++) {
		ssize_t n = ns_recvmsg_sa(V(), s, &v, 1, 0, &from, &fl);
		assert_int_equal(fl, sizeof(struct sockaddr_in6));
		assert_int_equal(from.in6.sin6_addr.s6_addr[15], 1);
		if (n == 8) {
			assert_memory_equal(buf, "over six", 8);
			assert_int_equal(from.in6.sin6_addr.s6_addr[0], 0x20);
		} else {
			assert_int_equal(n, 9);
			assert_memory_equal(buf, "over four", 9);
			/* IPv4's source, mapped */
			assert_int_equal(from.in6.sin6_addr.s6_addr[11], 0xff);
		}
		got |= n == 8 ? 1 : 2;
	}
	assert_int_equal(got, 3);
	/* the answer goes back to where the first came from */
	{
		union ns_sockaddr back;
		socklen_t bl = 0;
		v.iov_base = "reply";
		v.iov_len = 5;
		assert_int_equal(ns_getsockname_sa(C(), c6, &back, &bl), 0);
		back.in6.sin6_addr = sa6(1, 0).in6.sin6_addr;
		assert_int_equal(ns_sendmsg_sa(V(), s, &v, 1, 0, &back,
					       sizeof(back.in6)), 5);
		run_ms(10);
		v.iov_base = buf;
		v.iov_len = sizeof(buf);
		assert_int_equal(ns_recvmsg_sa(C(), c6, &v, 1, 0, &from, &fl),
				 5);
		assert_memory_equal(buf, "reply", 5);
	}
	assert_int_equal(CNT(V(), drop_udp_cksum), 0);
	ns_close(C(), c4);
	ns_close(C(), c6);
	ns_close(V(), s);
}

/* a SYN to a closed IPv6 port: RST, the connect is refused */
static void t_rst6(void **state)
{
	union ns_sockaddr to = sa6(2, 1);
	int c = ns_socket_af(C(), AF_INET6, SOCK_STREAM);
	uint64_t rst = CNT(V(), tcp_rst_sent);
	(void)state;
	assert_int_equal(ns_connect_sa(C(), c, &to, sizeof(to.in6)),
			 -EINPROGRESS);
	run_ms(50);
	assert_int_equal(CNT(V(), tcp_rst_sent), rst + 1);
	assert_int_equal(ns_connect_sa(C(), c, &to, sizeof(to.in6)),
			 -ECONNREFUSED);
	ns_close(C(), c);
	/* off-link without a gateway: unreachable at once */
	c = ns_socket_af(C(), AF_INET6, SOCK_STREAM);
	to.in6.sin6_addr.s6_addr[1] = 0x02;
	assert_int_equal(ns_connect_sa(C(), c, &to, sizeof(to.in6)),
			 -ENETUNREACH);
	ns_close(C(), c);
}

/* ICMPv6 errors: a datagram to a closed port gets port unreachable,
 * which a connected UDP socket reports as ECONNREFUSED; a packet too big
 * about a segment in flight lowers the connection's MSS (never below
 * 1280's), one about a sequence number not in flight is ignored */
static void t_icmp6_errors(void **state)
{
	union ns_sockaddr to = sa6(2, 4444), a = sa6(2, 8081);
	int u = ns_socket_af(C(), AF_INET6, SOCK_DGRAM), lsd, csd, asd;
	socklen_t ol = sizeof(int);
	struct ns_ip6_hdr ih;
	uint8_t seg[sizeof(ih) + 8];
	struct ns_tcb *tp;
	int err = 0;
	char big[4000];
	(void)state;
	assert_int_equal(ns_connect_sa(C(), u, &to, sizeof(to.in6)), 0);
	assert_int_equal(ns_send(C(), u, "x", 1, 0), 1);
	run_ms(20);
	assert_int_equal(CNT(V(), icmp6_errors_sent), 1);
	assert_int_equal(ns_getsockopt(C(), u, SOL_SOCKET, SO_ERROR, &err,
				       &ol), 0);
	assert_int_equal(err, ECONNREFUSED);
	ns_close(C(), u);

	lsd = ns_socket_af(V(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_bind_sa(V(), lsd, &a, sizeof(a.in6)), 0);
	assert_int_equal(ns_listen(V(), lsd, 8), 0);
	csd = ns_socket_af(C(), AF_INET6, SOCK_STREAM);
	assert_int_equal(ns_connect_sa(C(), csd, &a, sizeof(a.in6)),
			 -EINPROGRESS);
	asd = accept_within(lsd, NULL, NULL);
	assert_true(asd >= 0);
	tp = &C()->socks[csd].tcb;
	memset(big, 'b', sizeof(big));
	assert_int_equal(ns_send(C(), csd, big, sizeof(big), 0),
			 (ssize_t)sizeof(big));
	/* our segment as a router would quote it */
	memset(&ih, 0, sizeof(ih));
	ih.nxt = NS_IP6_NH_TCP;
	memcpy(ih.src, C()->socks[csd].laddr.b, 16);
	memcpy(ih.dst, C()->socks[csd].raddr.b, 16);
	memcpy(seg, &ih, sizeof(ih));
	memcpy(seg + 40, &C()->socks[csd].lport_be, 2);
	memcpy(seg + 42, &C()->socks[csd].rport_be, 2);
	{
		uint32_t q = htonl(tp->snd_una + 100000); /* not in flight */
		memcpy(seg + 44, &q, 4);
		ns_tcp_ctlinput6(C(), (const struct ns_ip6_hdr *)seg,
				 NS_ICMP6_PKT_TOO_BIG, 0, 1280);
		assert_true(tp->mss > 1400);
		q = htonl(tp->snd_una + 1);
		memcpy(seg + 44, &q, 4);
		ns_tcp_ctlinput6(C(), (const struct ns_ip6_hdr *)seg,
				 NS_ICMP6_PKT_TOO_BIG, 0, 600);
	}
	/* 1280 - 40 - 20 - 12 (timestamps): RFC 8201's floor */
	assert_int_equal(tp->mss, 1280 - 60 - ((tp->tf & TF_TS_OK) ? 12 : 0));
	assert_int_equal(CNT(C(), icmp_pmtu_updates), 1);
	run_ms(100);
	{
		char b[8192];
		ssize_t n, got = 0;
		while ((n = ns_recv(V(), asd, b, sizeof(b), 0)) > 0)
			got += n;
		assert_int_equal(got, (ssize_t)sizeof(big));
	}
	ns_close(C(), csd);
	ns_close(V(), asd);
	ns_close(V(), lsd);
}

/* a UDP datagram larger than the MTU over IPv6: sent in fragments
 * within the MTU, reassembled byte-exact; then through 5% loss: lost
 * fragments lose the datagram, never corrupt one */
static void t_udp6_fragments(void **state)
{
	union ns_sockaddr srv = sa6(-1, 6000), to = sa6(2, 6000), from;
	socklen_t fl = 0;
	int s = ns_socket_af(V(), AF_INET6, SOCK_DGRAM);
	int c = ns_socket_af(C(), AF_INET6, SOCK_DGRAM);
	static uint8_t big[20000], got[20000];
	struct iovec v;
	int i, good = 0;
	ssize_t n;
	(void)state;
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(ns_bind_sa(V(), s, &srv, sizeof(srv.in6)), 0);
	v.iov_base = big;
	v.iov_len = sizeof(big);
	assert_int_equal(ns_sendmsg_sa(C(), c, &v, 1, 0, &to, sizeof(to.in6)),
			 (ssize_t)sizeof(big));
	run_ms(20);
	v.iov_base = got;
	v.iov_len = sizeof(got);
	n = ns_recvmsg_sa(V(), s, &v, 1, 0, &from, &fl);
	assert_int_equal(n, (ssize_t)sizeof(big));
	assert_memory_equal(got, big, sizeof(big));
	assert_int_equal(from.in6.sin6_addr.s6_addr[15], 1);
	assert_int_equal(CNT(V(), frag_reassembled), 1);
	assert_int_equal(S->oversize, 0);
	S->loss_ppm = 50000;
	for (i = 0; i < 50; i++) {
		v.iov_base = big;
		v.iov_len = 3000 + (size_t)i;
		assert_true(ns_sendmsg_sa(C(), c, &v, 1, 0, &to,
					  sizeof(to.in6)) > 0);
		run_ms(2);
	}
	S->loss_ppm = 0;
	run_ms(100);
	v.iov_base = got;
	v.iov_len = sizeof(got);
	while ((n = ns_recvmsg_sa(V(), s, &v, 1, 0, &from, &fl)) > 0) {
		assert_true(n >= 3000 && n < 3050);
		assert_memory_equal(got, big, (size_t)n);
		good++;
	}
	assert_true(good > 30 && good < 50); /* most, not all */
	ns_close(C(), c);
	ns_close(V(), s);
	run_ms(40000); /* what loss left half done times out */
	assert_true(CNT(V(), drop_frag_timeout) > 0);
}

/* the RSS hash of IPv6 tuples (rss.c ns_rss_queue46): Microsoft's
 * IPv6 verification vectors, remote address and port first (the frame
 * the NIC receives) */
static void t_rss6_vectors(void **state)
{
	static const uint8_t key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
		0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
		0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
		0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa };
	static const struct { const char *src, *dst; uint16_t sp, dp;
			      uint32_t h; } v[] = {
		{ "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766,
		  0x40207d3d },
		{ "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739,
		  0xdde51bbf },
		{ "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
		  "fe80::200:f8ff:fe21:67cf", 44251, 38024, 0x02d1feef },
	};
	uint16_t reta[128];
	struct nf_io_ops io;
	unsigned i;
	(void)state;
	for (i = 0; i < 128; i++)
		reta[i] = (uint16_t)(i % 7);
	memset(&io, 0, sizeof(io));
	memcpy(io.rss_key, key, sizeof(key));
	io.rss_key_len = sizeof(key);
	io.reta = reta;
	io.reta_size = 128;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		union ns_in46 r, l;
		uint8_t in[36];
		assert_int_equal(inet_pton(AF_INET6, v[i].src, r.b), 1);
		assert_int_equal(inet_pton(AF_INET6, v[i].dst, l.b), 1);
		memcpy(in, r.b, 16);
		memcpy(in + 16, l.b, 16);
		in[32] = (uint8_t)(v[i].sp >> 8);
		in[33] = (uint8_t)v[i].sp;
		in[34] = (uint8_t)(v[i].dp >> 8);
		in[35] = (uint8_t)v[i].dp;
		assert_int_equal(ns_toeplitz(key, sizeof(key), in, 36), v[i].h);
		assert_int_equal(ns_rss_queue46(&io, &r, &l, htons(v[i].sp),
						htons(v[i].dp)),
				 reta[v[i].h % 128]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_tcp6_transfer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(t_dual_listener, setup,
						teardown),
		cmocka_unit_test_setup_teardown(t_bind_families, setup,
						teardown),
		cmocka_unit_test_setup_teardown(t_udp6, setup, teardown),
		cmocka_unit_test_setup_teardown(t_rst6, setup, teardown),
		cmocka_unit_test_setup_teardown(t_icmp6_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(t_udp6_fragments, setup,
						teardown),
		cmocka_unit_test(t_rss6_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
