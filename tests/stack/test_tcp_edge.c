/*
 * test_tcp_edge.c: TCP corner cases across states: crossing FINs that
 * carry data, a connection reset while on the accept queue, RST in
 * SYN_RECEIVED of an active (simultaneous) open, data with RST, huge
 * window scales, backlog 0, several connections on one listener, and
 * close() with unread data in CLOSE_WAIT, ICMP errors about a connection
 * (RFC 1122 4.2.3.9 soft errors, RFC 1191 / 5927 PMTU checks). Fixture: tests/stack/tcp_util.h;
 * teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void t_simultaneous_close_with_data(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[8];

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "ours", 4, 0), 4);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_WR), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 5);                  /* our FIN */
	/* the peer's data + FIN cross ours, acking only our data */
	fx_tcp(f, F_ACK | F_FIN | F_PSH, 1, 5, 65535, "them", 4);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSING);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 6);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "them", 4);
	fx_tcp(f, F_ACK, 6, 6, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
}

static void t_reset_on_accept_queue(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char b[4];
	int c;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	fx_tcp(f, F_RST, 1, 0, 0, NULL, 0);           /* gone before accept */
	c = ns_accept(f->st, f->lsd, NULL);
	/* either not offered at all, or offered and reporting the reset
	 * (Linux offers it: the first read gives ECONNRESET) */
	if (c >= 0) {
		ssize_t r = ns_recv(f->st, c, b, sizeof(b), 0);
		assert_true(r == -ECONNRESET || r == 0);
		assert_int_equal(ns_close(f->st, c), 0);
	} else {
		assert_int_equal(c, -EAGAIN);
	}
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
}

static void t_rst_in_syn_received_active(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;
	int e;
	socklen_t l = sizeof(e);

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(6101);
	assert_int_equal(ns_bind(f->st, f->sd, &a), 0);
	a.sin_port = htons(6102);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EINPROGRESS);
	assert_true(fx_out(f, &s));
	f->lport = 6101;
	f->pport = 6102;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);       /* simultaneous open */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_RECEIVED);
	fio_clear(&f->io);
	fx_tcp(f, F_RST, 1, 0, 0, NULL, 0);
	/* RFC 9293 3.10.7.4: an active open is refused */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_ERROR, &e,
				       &l), 0);
	assert_int_equal(e, ECONNREFUSED);
}

static void t_rst_carrying_data(void **state)
{
	struct fx *f = *state;
	char b[8];

	fx_established_passive(f);
	fx_tcp(f, F_RST | F_ACK, 1, 1, 0, "diag", 4);  /* RFC 1122 4.2.2.12 */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_recv(f->st, f->sd, b, sizeof(b), 0), -ECONNRESET);
	assert_int_equal(fx_nout(f), 0);
}

static void t_huge_window_scale(void **state)
{
	struct fx *f = *state;
	static char d[100000];
	struct seg s;
	uint32_t sent = 0;

	f->use_ws = 1;
	f->peer_ws = 14;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->snd_wnd, 65535u << 14); /* ~1 GiB */
	assert_int_equal(ns_send(f->st, f->sd, d, sizeof(d), 0), 65536);
	while (fx_out(f, &s))
		sent += s.len;
	assert_int_equal(sent, fx_tcb(f)->cwnd);       /* cwnd limits */
}

static void t_backlog_zero_accepts_one(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->lsd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	assert_int_equal(ns_bind(f->st, f->lsd, &a), 0);
	assert_int_equal(ns_listen(f->st, f->lsd, 0), 0);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);      /* as Linux: room for 1 */
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_true(ns_accept(f->st, f->lsd, NULL) >= 0);
}

static void t_many_connections_one_listener(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd[4], i;
	char b[8];

	fx_tcp_base(f);
	tu_listen(f, 8);
	for (i = 0; i < 4; i++) {
		f->pport = (uint16_t)(41000 + i);
		f->st->iss_next = OUR_ISS + 1000u * (uint32_t)i;
		f->our_iss = OUR_ISS + 1000u * (uint32_t)i;
		fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
		assert_true(fx_out(f, &s));
		fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
		sd[i] = ns_accept(f->st, f->lsd, NULL);
		assert_true(sd[i] >= 0);
	}
	/* data for connection 2 reaches only connection 2 */
	f->pport = 41002;
	f->our_iss = OUR_ISS + 2000;
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "two", 3);
	for (i = 0; i < 4; i++)
		assert_int_equal(ns_recv(f->st, sd[i], b, sizeof(b), 0),
				 i == 2 ? 3 : -EAGAIN);
	fio_clear(&f->io);
}

static void t_close_unread_in_close_wait_rst(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN | F_PSH, 1, 1, 65535, "unread", 6);
	fio_clear(&f->io);
	sd = f->sd;
	/* RFC 2525 2.17 / Linux: unread data on close -> RST, not FIN */
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(tu_state(f, sd), -1);
}

static void t_send_after_refused(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	fx_tcp(f, F_RST | F_ACK, 0, 1, 0, NULL, 0);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_ERR);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), -ECONNREFUSED);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), -EPIPE);
}

static void t_ack_of_fin_only_in_fin_wait_1_with_data(void **state)
{
	struct fx *f = *state;
	static char d[3000];
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, d, 3000, 0), 3000);
	fio_clear(&f->io);
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_WR), 0);
	while (fx_out(f, &s))
		;
	/* partial ACK of the data: still FIN_WAIT_1, rest retransmitted
	 * by the timer, FIN included at its end */
	fx_tcp(f, F_ACK, 1, 1461, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_1);
	fx_advance(f, fx_tcb(f)->t_rexmt - f->now);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1461);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 3002, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
}

static void t_keepalive_in_close_wait(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_close_wait(f);
	tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, 5);
	tu_setint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE, 1);
	fx_advance(f, 5000 * NS_MS);
	assert_true(fx_out(f, &s));                   /* still probed */
	assert_int_equal(s.srel, 0);
	assert_int_equal(s.arel, 2);
}

static void t_time_wait_no_keepalive(void **state)
{
	struct fx *f = *state;

	tu_time_wait(f);
	tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, 1);
	tu_setint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE, 1);
	fx_advance(f, 900 * NS_MS);
	fx_advance(f, 90 * NS_MS);
	assert_int_equal(CNT(f, tcp_keepalive_sent), 0);
}

/* an ICMP error from the path about our segment at relative seq */
static void icmp_about(struct fx *f, uint8_t type, uint8_t code,
		       uint16_t mtu, uint32_t seq_rel)
{
	uint8_t fr[200];
	struct ns_icmp_hdr *ic;
	uint32_t o;
	uint8_t *t;
	uint16_t sp = htons(f->lport), dp = htons(f->pport);
	uint32_t sq = htonl(f->our_iss + seq_rel);

	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 8 + 28, 1, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 8);
	ic->type = type;
	ic->code = code;
	ic->u.frag.mtu_be = htons(mtu);
	mk_ip(fr + o + 8, ip_be(US_IP), ip_be(PEER_IP), 6, 1480, 1, 0x4000, 64, 0);
	t = fr + o + 28;
	memcpy(t, &sp, 2);
	memcpy(t + 2, &dp, 2);
	memcpy(t + 4, &sq, 4);
	ic->cksum_be = ns_cksum(ic, 36);
	fx_inject(f, fr, o + 36);
}

static void t_icmp_port_unreach_soft_when_established(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	tu_send_pop(f, 100);
	icmp_about(f, 3, 3, 0, 1);                    /* RFC 1122 4.2.3.9 */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_ERR);
}

static void t_icmp_pmtu_bogus_values_ignored(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	tu_send_pop(f, 3000);
	icmp_about(f, 3, 4, 1500, 1);                 /* not smaller */
	icmp_about(f, 3, 4, 1000, 50000);             /* not in flight */
	assert_int_equal(fx_tcb(f)->mss, 1460);
	assert_int_equal(CNT(f, icmp_pmtu_updates), 0);
	assert_int_equal(CNT(f, drop_icmp_unmatched), 2);
	fio_clear(&f->io);
}

/* a forged "fragmentation needed, MTU 60" (or 68) must not cut every
 * segment to a few bytes: the path MTU stops at Linux's min_pmtu, 552 */
static void t_icmp_pmtu_floor(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	tu_send_pop(f, 3000);
	icmp_about(f, 3, 4, 60, 1);
	assert_int_equal(fx_tcb(f)->mss, 552 - 40);
	assert_int_equal(CNT(f, icmp_pmtu_updates), 1);
	icmp_about(f, 3, 4, 68, 1);                   /* no lower */
	assert_int_equal(fx_tcb(f)->mss, 552 - 40);
	assert_int_equal(CNT(f, icmp_pmtu_updates), 1);
	fio_clear(&f->io);
}

static void t_icmp_pmtu_with_timestamps(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ts = 1;
	fx_established_passive(f);
	tu_send_pop(f, 3000);
	icmp_about(f, 3, 4, 1200, 1);
	/* 1200 - 40 - 12 bytes of timestamp option */
	assert_int_equal(fx_tcb(f)->mss, 1148);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, 1148);
	fio_clear(&f->io);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_simultaneous_close_with_data),
		TU(t_reset_on_accept_queue),
		TU(t_rst_in_syn_received_active),
		TU(t_rst_carrying_data),
		TU(t_huge_window_scale),
		TU(t_backlog_zero_accepts_one),
		TU(t_many_connections_one_listener),
		TU(t_close_unread_in_close_wait_rst),
		TU(t_send_after_refused),
		TU(t_ack_of_fin_only_in_fin_wait_1_with_data),
		TU(t_keepalive_in_close_wait),
		TU(t_time_wait_no_keepalive),
		TU(t_icmp_port_unreach_soft_when_established),
		TU(t_icmp_pmtu_bogus_values_ignored),
		TU(t_icmp_pmtu_floor),
		TU(t_icmp_pmtu_with_timestamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
