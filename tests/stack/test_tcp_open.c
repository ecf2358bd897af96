/*
 * test_tcp_open.c: TCP connection establishment (RFC 9293 3.5,
 * 3.10.7.2-3): LISTEN, SYN_SENT and SYN_RECEIVED with every kind of
 * segment, RST and bad ACKs in each, simultaneous open, the listen
 * backlog / SYN queue and SYN cookies when it overflows (RFC 4987),
 * ISNs just below 2^32, and the bind/listen/connect/accept API errors.
 * Fixture: tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void t_listen_state_and_acceptconn(void **state)
{
	struct fx *f = *state;

	fx_tcp_base(f);
	tu_listen(f, 4);
	assert_int_equal(tu_state(f, f->lsd), NS_TCPS_LISTEN);
	assert_int_equal(tu_getint(f, f->lsd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
	assert_false(ns_sock_events(f->st, f->lsd) & NS_EV_IN);
}

static void t_syn_creates_syn_received(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int c;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.srel, 0);
	assert_int_equal(s.arel, 1);
	c = tu_find_state(f, NS_TCPS_SYN_RECEIVED);
	assert_true(c >= 0);
	assert_int_equal(f->st->socks[f->lsd].qlen, 1);
	/* not acceptable before the handshake completes */
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
}

static void t_synack_only_offered_options(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	/* a SYN with no options at all */
	fx_tcp_raw(f, F_SYN, PEER_ISS, 0, 65535, NULL, 0, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_true(s.has_mss);                     /* always sent */
	assert_false(s.has_ws);
	assert_false(s.has_ts);
	assert_false(s.sack_ok);
	assert_true(s.win <= 65535);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 65535, NULL, 0, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_int_equal(fx_tcb(f)->mss, NS_TCP_MSS_DEFAULT); /* RFC 9293 3.7.1 */
	assert_int_equal(fx_tcb(f)->rcv_wscale, 0);
	assert_false(fx_tcb(f)->tf & (TF_TS_OK | TF_SACK_OK | TF_WS_OK));
}

static void t_listener_ack_gets_rst(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_ACK, 1, 1234, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);           /* <SEQ=SEG.ACK><CTL=RST> */
	assert_int_equal(s.srel, 1234);
	assert_int_equal(tu_state(f, f->lsd), NS_TCPS_LISTEN);
}

static void t_listener_rst_ignored(void **state)
{
	struct fx *f = *state;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_RST, 0, 0, 0, NULL, 0);
	fx_tcp(f, F_RST | F_ACK, 0, 5, 0, NULL, 0);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(tu_state(f, f->lsd), NS_TCPS_LISTEN);
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
}

static void t_listener_fin_only_dropped(void **state)
{
	struct fx *f = *state;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_FIN, 0, 0, 65535, NULL, 0);     /* neither SYN nor ACK */
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
}

/* Two SO_REUSEPORT listeners on one port (a group, as in Linux): new
 * flows spread over both by a keyed hash of the 4-tuple, a given flow
 * always reaches the same one (before: every SYN went to the first) */
static void t_reuseport_group_spreads(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	int one = 1, l[2], i, k;
	uint32_t q[2];

	fx_tcp_base(f);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(f->lport);
	for (k = 0; k < 2; k++) {
		l[k] = ns_socket(f->st, SOCK_STREAM);
		assert_true(l[k] >= 0);
		assert_int_equal(ns_setsockopt(f->st, l[k], SOL_SOCKET,
					       SO_REUSEPORT, &one, sizeof(one)), 0);
		assert_int_equal(ns_bind(f->st, l[k], &a), 0);
		assert_int_equal(ns_listen(f->st, l[k], 32), 0);
	}
	for (i = 0; i < 8; i++) { /* (the fixture has 16 sockets) */
		f->pport = (uint16_t)(41000 + i);
		fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
		fio_clear(&f->io);
	}
	q[0] = f->st->socks[l[0]].qlen;
	q[1] = f->st->socks[l[1]].qlen;
	assert_int_equal(q[0] + q[1], 8);
	assert_true(q[0] > 0 && q[1] > 0);
	/* the same flow again (a retransmitted SYN): no new embryo on the
	 * other listener */
	f->pport = 41000;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	fio_clear(&f->io);
	assert_int_equal(f->st->socks[l[0]].qlen + f->st->socks[l[1]].qlen, 8);
}

/* SYN+FIN (a scanner's probe): dropped and counted, as Linux does; no
 * SYN-ACK, no embryonic connection */
static void t_listener_syn_fin_dropped(void **state)
{
	struct fx *f = *state;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN | F_FIN, 0, 0, 65535, NULL, 0);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
	assert_int_equal(CNT(f, drop_tcp_flags), 1);
}

static void t_syn_received_dup_syn_resends_synack(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);     /* SYN retransmitted */
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_ACK);
	assert_int_equal(s.arel, 1);
	assert_int_equal(s.srel, 0);
	assert_int_equal(f->st->socks[f->lsd].qlen, 1); /* no second child */
}

static void t_syn_received_rst_frees_child(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_RST, 1, 0, 0, NULL, 0);
	assert_int_equal(tu_find_state(f, NS_TCPS_SYN_RECEIVED), -1);
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
	assert_int_equal(tu_state(f, f->lsd), NS_TCPS_LISTEN);
}

static void t_syn_received_ack_with_data(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[8];

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "GET", 3);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "GET", 3);
	assert_int_equal(fx_tcb(f)->rcv_nxt, PEER_ISS + 4);
}

static void t_syn_received_ack_with_fin(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[8];

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 0);
}

static void t_syn_received_gives_up(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i, n = 0;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	for (i = 0; i < 20 && tu_find_state(f, NS_TCPS_SYN_RECEIVED) >= 0; i++) {
		fx_advance(f, NS_TCP_RTO_MAX_NS);
		while (fx_out(f, &s)) {
			if (s.flags == (F_SYN | F_ACK))
				n++;
		}
	}
	assert_int_equal(tu_find_state(f, NS_TCPS_SYN_RECEIVED), -1);
	assert_true(n >= 1);
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
}

static void t_syn_sent_rst_without_ack_ignored(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	fx_tcp(f, F_RST, 0, 0, 0, NULL, 0);          /* RFC 9293 3.10.7.3 */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
	assert_int_equal(fx_nout(f), 0);
}

static void t_syn_sent_rst_bad_ack_ignored(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	fx_tcp(f, F_RST | F_ACK, 0, 5, 0, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
	assert_int_equal(fx_nout(f), 0);
}

static void t_syn_sent_ack_without_syn_dropped(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	fx_tcp(f, F_ACK, 0, 1, 65535, NULL, 0);     /* acceptable, no SYN */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
	assert_false(fx_out(f, &s) && !(s.flags & F_RST));
}

static void t_syn_sent_synack_old_ack_reset(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	fx_tcp(f, F_SYN | F_ACK, 0, 0, 65535, NULL, 0); /* acks ISS, not ISS+1 */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.srel, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
}

static void t_syn_sent_retransmit_backoff(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	fx_advance(f, NS_TCP_RTO_INIT_NS - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN);
	assert_int_equal(s.seq, OUR_ISS);
	fx_advance(f, 2 * NS_TCP_RTO_INIT_NS - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN);
	assert_int_equal(fx_tcb(f)->rxt_shift, 2);
}

static void t_syn_sent_synack_options(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ts = f->use_ws = f->use_sack = 1;
	f->peer_ws = 9;
	f->peer_mss = 1000;
	tu_syn_sent(f, &s);
	assert_true(s.has_ts && s.has_ws && s.sack_ok);
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 100, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_true(fx_tcb(f)->tf & TF_TS_OK);
	assert_true(fx_tcb(f)->tf & TF_SACK_OK);
	assert_int_equal(fx_tcb(f)->snd_wscale, 9);
	/* RFC 7323 2.2: the window of a SYN is never scaled */
	assert_int_equal(fx_tcb(f)->snd_wnd, 100);
	assert_int_equal(fx_tcb(f)->mss, 1000 - 12);
	assert_true(s.has_ts);
	assert_int_equal(s.tsecr, f->peer_tsval);
}

static void t_syn_sent_synack_no_ws_no_scaling(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ws = 0;
	tu_syn_sent(f, &s);
	assert_true(s.has_ws);                       /* we offered */
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	/* RFC 7323 1.3: both sides must send WS for either to scale */
	assert_int_equal(fx_tcb(f)->rcv_wscale, 0);
	assert_int_equal(fx_tcb(f)->snd_wscale, 0);
	assert_int_equal(s.win, 65535);
}

static void t_syn_sent_data_on_synack(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char b[8];

	tu_syn_sent(f, &s);
	fx_tcp(f, F_SYN | F_ACK | F_PSH, 0, 1, 65535, "hi", 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 3);
	assert_int_equal(ns_recv(f->st, f->sd, b, sizeof(b), 0), 2);
}

static void t_connect_send_before_established(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), -EAGAIN);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 65535, NULL, 0);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), 1);
}

static void t_simultaneous_open_synack_retransmit(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(6001);
	assert_int_equal(ns_bind(f->st, f->sd, &a), 0);
	a.sin_port = htons(6002);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EINPROGRESS);
	assert_true(fx_out(f, &s));
	f->lport = 6001;
	f->pport = 6002;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_RECEIVED);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	/* the peer's SYN,ACK never comes: our SYN,ACK is retransmitted */
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_SYN);
	assert_int_equal(s.seq, OUR_ISS);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	assert_int_equal(ns_connect(f->st, f->sd, &a), 0);
}

static void t_accept_order_and_names(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;
	int c1, c2;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->pport = 40007;
	f->st->iss_next = OUR_ISS + 1000;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1001, 65535, NULL, 0);
	while (fx_out(f, &s))
		;
	c1 = ns_accept(f->st, f->lsd, &a);
	assert_true(c1 >= 0);
	assert_int_equal(ntohs(a.sin_port), 40000);
	c2 = ns_accept(f->st, f->lsd, &a);
	assert_true(c2 >= 0);
	assert_int_equal(ntohs(a.sin_port), 40007);
	assert_int_equal(ns_getsockname(f->st, c2, &a), 0);
	assert_int_equal(ntohs(a.sin_port), 80);
	assert_int_equal(a.sin_addr.s_addr, ip_be(US_IP));
	assert_int_equal(ns_accept(f->st, f->lsd, &a), -EAGAIN);
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
}

static void t_listener_close_resets_queued(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);     /* on the accept queue */
	fio_clear(&f->io);
	assert_int_equal(ns_close(f->st, f->lsd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(s.srel, 1);
	f->lsd = -1;
	assert_int_equal(tu_find_state(f, NS_TCPS_ESTABLISHED), -1);
}

static void t_syncookie_small_mss_encoded(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t cookie;
	int c;

	fx_tcp_base(f);
	tu_listen(f, 1);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);     /* fills the SYN queue */
	assert_true(fx_out(f, &s));
	f->pport = 40010;
	f->peer_mss = 600;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(CNT(f, tcp_syncookies_sent), 1);
	cookie = s.seq;
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 1, 65535, NULL, 0, NULL, 0);
	assert_int_equal(CNT(f, tcp_syncookies_ok), 1);
	/* the first child is still embryonic: the cookie one is queued */
	c = ns_accept(f->st, f->lsd, NULL);
	assert_true(c >= 0);
	assert_true(f->st->socks[c].tcb.mss <= 600);
	assert_true(f->st->socks[c].tcb.mss >= 500);
	while (fx_out(f, &s))
		;
}

/* The first copy of a SYN got a cookie (SYN queue full); its retransmission
 * found room and made an embryonic child with another ISS; the peer
 * answers the cookie. Linux's tcp_check_req falls back to the cookie
 * check: the connection is made, no RST (this RST reached 1 in ~100
 * legitimate clients during the rel test's SYN flood). */
static void t_syncookie_ack_beats_embryonic_child(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t cookie;
	uint16_t p0;
	int a, c;

	fx_tcp_base(f);
	tu_listen(f, 1);
	p0 = f->pport;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);     /* fills the SYN queue */
	assert_true(fx_out(f, &s));
	f->pport = 40012;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);     /* queue full: a cookie */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(CNT(f, tcp_syncookies_sent), 1);
	/* a well-formed SYN,ACK: no stray option bytes read as data, and a
	 * window the peer can send into */
	assert_int_equal(s.len, 0);
	assert_true(s.win >= 1024);
	assert_true(s.has_mss);
	cookie = s.seq;
	/* the first connection completes and is accepted: room again */
	f->pport = p0;
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	a = ns_accept(f->st, f->lsd, NULL);
	assert_true(a >= 0);
	while (fx_out(f, &s))
		;
	/* the SYN's retransmission makes a real child, another ISS */
	f->pport = 40012;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_true(s.seq != cookie);
	assert_int_equal(CNT(f, tcp_syncookies_sent), 1);
	/* the peer answers the cookie SYN,ACK, with data */
	fx_tcp_raw(f, F_ACK | F_PSH, PEER_ISS + 1, cookie + 1, 65535,
		   (const uint8_t *)"hello", 5, NULL, 0);
	while (fx_out(f, &s))
		assert_false(s.flags & F_RST);
	assert_int_equal(CNT(f, tcp_syncookies_ok), 1);
	c = ns_accept(f->st, f->lsd, NULL);
	assert_true(c >= 0);
	assert_int_equal(f->st->socks[c].tcb.state, NS_TCPS_ESTABLISHED);
	assert_int_equal(f->st->socks[c].tcb.iss, cookie);
	{
		char buf[8];
		assert_int_equal(ns_recv(f->st, c, buf, sizeof(buf), 0), 5);
		assert_memory_equal(buf, "hello", 5);
	}
}

/* A listener with a SYN queue of 1, filled by one SYN: a second SYN from
 * peer port pport is answered with a SYN cookie, returned */
static uint32_t cookie_of_full_queue(struct fx *f, uint16_t pport)
{
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 1);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	f->pport = pport;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	return s.seq;
}

static void t_syncookie_expired_rejected(void **state)
{
	struct fx *f = *state;
	uint32_t cookie;

	cookie = cookie_of_full_queue(f, 40011);
	/* the embryonic child gives up long before; the cookie ages out */
	fx_advance(f, 10 * NS_SYNCOOKIE_SLOT_NS);
	fio_clear(&f->io);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 1, 65535, NULL, 0, NULL, 0);
	assert_int_equal(CNT(f, tcp_syncookies_ok), 0);
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
}

/* The cookie MAC covers the slot's full number, so the key in effect
 * rotates every slot: accepted one slot later, refused two later, and
 * refused 32 slots later, when the 5 bits the cookie carries come round
 * again (the old 5-bit slot in the hash took it) */
static void syncookie_after(void **state, uint64_t slots, int ok)
{
	struct fx *f = *state;
	uint32_t cookie;

	cookie = cookie_of_full_queue(f, 40012);
	/* to the start of the cookie's slot, then on */
	fx_advance(f, NS_SYNCOOKIE_SLOT_NS - f->st->now % NS_SYNCOOKIE_SLOT_NS);
	fx_advance(f, (slots - 1) * NS_SYNCOOKIE_SLOT_NS + 1000);
	fio_clear(&f->io);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 1, 65535, NULL, 0, NULL, 0);
	assert_int_equal(CNT(f, tcp_syncookies_ok), ok);
}

static void t_syncookie_one_slot_later_ok(void **state)
{
	syncookie_after(state, 1, 1);
}

static void t_syncookie_two_slots_later_rejected(void **state)
{
	syncookie_after(state, 2, 0);
}

static void t_syncookie_32_slots_later_rejected(void **state)
{
	syncookie_after(state, 32, 0);
}

static void t_syncookie_wrong_peer_seq_rejected(void **state)
{
	struct fx *f = *state;
	uint32_t cookie;

	cookie = cookie_of_full_queue(f, 40012);
	/* the cookie binds the peer's ISN: another seq fails */
	fx_tcp_raw(f, F_ACK, PEER_ISS + 5001, cookie + 1, 65535, NULL, 0, NULL, 0);
	assert_int_equal(CNT(f, tcp_syncookies_ok), 0);
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
}

static void t_isn_wrap_both_directions(void **state)
{
	struct fx *f = *state;
	static char d[3000];
	char buf[3000];
	struct seg s;
	int n;

	fx_established_passive(f);
	n = tu_send_pop(f, 3000);                    /* crosses 2^32 at +16 */
	assert_int_equal(n, 3);
	fx_tcp(f, F_ACK, 1, 3001, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->snd_una, OUR_ISS + 3001);
	assert_true(fx_tcb(f)->snd_una < OUR_ISS);   /* wrapped */
	assert_int_equal(fx_tcb(f)->sb_len, 0);
	memset(d, 'w', sizeof(d));
	fx_tcp(f, F_ACK, 1, 3001, 65535, d, 1460);
	fx_tcp(f, F_ACK, 1461, 3001, 65535, d, 1460);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2921);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 2920);
}

static void t_bind_errors(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	int s1, s2;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7000);
	s1 = ns_socket(f->st, SOCK_STREAM);
	s2 = ns_socket(f->st, SOCK_STREAM);
	assert_int_equal(ns_bind(f->st, s1, &a), 0);
	assert_int_equal(ns_bind(f->st, s1, &a), -EINVAL);   /* bound already */
	assert_int_equal(ns_listen(f->st, s1, 4), 0);
	assert_int_equal(ns_bind(f->st, s2, &a), -EADDRINUSE);
	a.sin_port = htons(7001);
	a.sin_addr.s_addr = ip_be("198.19.9.9");             /* not ours */
	assert_int_equal(ns_bind(f->st, s2, &a), -EADDRNOTAVAIL);
	assert_int_equal(ns_bind(f->st, 999, &a), -EBADF);
	ns_close(f->st, s1);
	ns_close(f->st, s2);
}

static void t_reuseport_two_listeners(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	int s1, s2;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7002);
	s1 = ns_socket(f->st, SOCK_STREAM);
	s2 = ns_socket(f->st, SOCK_STREAM);
	assert_int_equal(tu_setint(f, s1, SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_int_equal(tu_setint(f, s2, SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_int_equal(ns_bind(f->st, s1, &a), 0);
	assert_int_equal(ns_listen(f->st, s1, 4), 0);
	assert_int_equal(ns_bind(f->st, s2, &a), 0);
	assert_int_equal(ns_listen(f->st, s2, 4), 0);
	ns_close(f->st, s1);
	ns_close(f->st, s2);
}

static void t_connect_errors(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;
	int sd;

	fx_established_active(f);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EISCONN);
	sd = ns_socket(f->st, SOCK_STREAM);
	a.sin_family = AF_INET6;
	assert_int_equal(ns_connect(f->st, sd, &a), -EAFNOSUPPORT);
	a.sin_family = AF_INET;
	a.sin_port = 0;
	assert_true(ns_connect(f->st, sd, &a) < 0 || fx_out(f, &s));
	ns_abort(f->st, sd);
	fio_clear(&f->io);
}

static void t_listen_on_connected_einval(void **state)
{
	struct fx *f = *state;

	fx_established_active(f);
	assert_int_equal(ns_listen(f->st, f->sd, 4), -EINVAL);
	assert_int_equal(ns_accept(f->st, f->sd, NULL), -EINVAL);
}

static void t_accept_on_non_listener(void **state)
{
	struct fx *f = *state;
	int sd = ns_socket(f->st, SOCK_STREAM);

	assert_int_equal(ns_accept(f->st, sd, NULL), -EINVAL);
	assert_int_equal(ns_accept(f->st, 999, NULL), -EBADF);
	ns_close(f->st, sd);
}

static void t_rst_for_closed_port_with_data(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	/* RFC 9293 3.10.7.1: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN> */
	fx_tcp(f, F_PSH, 10, 0, 65535, "abcd", 4);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.seq, 0);
	assert_int_equal(s.arel, 14);
	/* with FIN, the FIN counts too */
	fx_tcp(f, F_FIN, 10, 0, 65535, "abcd", 4);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 15);
}

static void t_conn_lookup_exact_tuple(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	f->pport = 40001;                            /* another peer port */
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.dport, 40001);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_listen_state_and_acceptconn),
		TU(t_syn_creates_syn_received),
		TU(t_synack_only_offered_options),
		TU(t_listener_ack_gets_rst),
		TU(t_listener_rst_ignored),
		TU(t_listener_fin_only_dropped),
		TU(t_listener_syn_fin_dropped),
		TU(t_reuseport_group_spreads),
		TU(t_syn_received_dup_syn_resends_synack),
		TU(t_syn_received_rst_frees_child),
		TU(t_syn_received_ack_with_data),
		TU(t_syn_received_ack_with_fin),
		TU(t_syn_received_gives_up),
		TU(t_syn_sent_rst_without_ack_ignored),
		TU(t_syn_sent_rst_bad_ack_ignored),
		TU(t_syn_sent_ack_without_syn_dropped),
		TU(t_syn_sent_synack_old_ack_reset),
		TU(t_syn_sent_retransmit_backoff),
		TU(t_syn_sent_synack_options),
		TU(t_syn_sent_synack_no_ws_no_scaling),
		TU(t_syn_sent_data_on_synack),
		TU(t_connect_send_before_established),
		TU(t_simultaneous_open_synack_retransmit),
		TU(t_accept_order_and_names),
		TU(t_listener_close_resets_queued),
		TU(t_syncookie_small_mss_encoded),
		TU(t_syncookie_ack_beats_embryonic_child),
		TU(t_syncookie_one_slot_later_ok),
		TU(t_syncookie_two_slots_later_rejected),
		TU(t_syncookie_32_slots_later_rejected),
		TU(t_syncookie_expired_rejected),
		TU(t_syncookie_wrong_peer_seq_rejected),
		TU(t_isn_wrap_both_directions),
		TU(t_bind_errors),
		TU(t_reuseport_two_listeners),
		TU(t_connect_errors),
		TU(t_listen_on_connected_einval),
		TU(t_accept_on_non_listener),
		TU(t_rst_for_closed_port_with_data),
		TU(t_conn_lookup_exact_tuple),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
