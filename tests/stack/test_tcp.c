/*
 * test_tcp.c: TCP unit tests (RFC 9293 state machine, RFC 5961, 7323,
 * 2018, 6298, 5681/6582). Each test builds a connection with the fixture
 * (tests/stack/fixture.h) at ISNs just below 2^32, feeds segments built
 * relative to the ISNs, advances a fake clock, and checks what the stack
 * sent and its counters; teardown checks that no buffer leaked.
 */
#include "tests/stack/fixture.h"

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_setup(f))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fx_teardown(f);
	free(f);
	return 0;
}

static void listen80(struct fx *f, int backlog)
{
	struct sockaddr_in a;
	f->lsd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	assert_int_equal(ns_bind(f->st, f->lsd, &a), 0);
	assert_int_equal(ns_listen(f->st, f->lsd, backlog), 0);
}

static void t_passive_open_options(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->use_ts = f->use_ws = f->use_sack = 1;
	f->peer_ws = 7;
	f->lsd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	assert_int_equal(ns_bind(f->st, f->lsd, &a), 0);
	assert_int_equal(ns_listen(f->st, f->lsd, 4), 0);
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.seq, OUR_ISS);
	assert_int_equal(s.arel, 1);
	assert_true(s.has_mss);
	assert_int_equal(s.mss, 1460);
	assert_true(s.has_ws);
	assert_int_equal(s.ws, 1);     /* 64 KiB buffer needs a shift of 1 */
	assert_true(s.sack_ok);
	assert_true(s.has_ts);
	assert_int_equal(s.tsecr, 100);
	f->peer_tsval++;
	fx_tcp(f, F_ACK, 1, 1, 512, NULL, 0);
	assert_true(ns_sock_events(f->st, f->lsd) & NS_EV_ACCEPT);
	f->sd = ns_accept(f->st, f->lsd, &a);
	assert_true(f->sd >= 0);
	assert_int_equal(a.sin_addr.s_addr, ip_be(PEER_IP));
	assert_int_equal(ntohs(a.sin_port), 40000);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_int_equal(fx_tcb(f)->snd_wnd, 512u << 7);
	assert_int_equal(fx_tcb(f)->mss, 1460 - 12);
	assert_true(fx_tcb(f)->tf & TF_SACK_OK);
	assert_int_equal(CNT(f, tcp_conn_passive), 1);
}

static void t_active_open(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_active(f);
	assert_int_equal(CNT(f, tcp_conn_active), 1);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	(void)s;
}

static void t_syn_options_sent(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EINPROGRESS);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EALREADY);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN);
	assert_true(s.has_mss && s.has_ws && s.sack_ok && s.has_ts);
	assert_true(s.sport >= NS_EPHEMERAL_LO && s.sport <= NS_EPHEMERAL_HI);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
}

static void t_recv_in_order_wraps(void **state)
{
	struct fx *f = *state;
	char buf[256], data[100];
	struct seg s;
	int i;

	fx_established_passive(f);
	for (i = 0; i < 100; i++)
		data[i] = (char)i;
	/* PEER_ISS + 1 + 100 crosses 2^32 */
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, data, 100);
	assert_int_equal(fx_nout(f), 0);      /* delayed */
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_IN);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), MSG_PEEK), 100);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 100);
	assert_memory_equal(buf, data, 100);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), -EAGAIN);
	fx_advance(f, NS_TCP_DELACK_NS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 101);
	assert_int_equal(fx_tcb(f)->rcv_nxt, PEER_ISS + 101);
}

static void t_ack_every_second_segment(void **state)
{
	struct fx *f = *state;
	char data[1000];
	struct seg s;
	struct nf_buf *b[2];

	fx_established_passive(f);
	memset(data, 'x', sizeof(data));
	fx_tcp(f, F_ACK, 1, 1, 65535, data, 1000);
	assert_int_equal(fx_nout(f), 0);
	fx_tcp(f, F_ACK, 1001, 1, 65535, data, 1000);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2001);
	assert_int_equal(fx_nout(f), 0);
	(void)b;
}

static void t_send_segments_and_ack(void **state)
{
	struct fx *f = *state;
	static char data[4000];
	struct seg s;
	int i;

	fx_established_passive(f);
	for (i = 0; i < 4000; i++)
		data[i] = (char)(i * 7);
	assert_int_equal(ns_send(f->st, f->sd, data, 4000, 0), 4000);
	for (i = 0; i < 3; i++) {
		assert_true(fx_out(f, &s));
		assert_int_equal(s.srel, 1 + 1460u * (uint32_t)i);
		assert_int_equal(s.len, i < 2 ? 1460 : 1080);
		assert_memory_equal(s.data, data + 1460 * i, s.len);
	}
	assert_true(s.flags & F_PSH);
	assert_int_equal(fx_tcb(f)->sb_len, 4000);
	fx_tcp(f, F_ACK, 1, 2921, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->sb_len, 1080);
	fx_tcp(f, F_ACK, 1, 4001, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->sb_len, 0);
	assert_int_equal(fx_tcb(f)->t_rexmt, 0);
	assert_int_equal(fx_tcb(f)->bytes_acked, 4000);
}

static void t_ooo_sack_and_fill(void **state)
{
	struct fx *f = *state;
	char d1[500], d2[500], buf[1000];
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	memset(d1, 'a', 500);
	memset(d2, 'b', 500);
	fx_tcp(f, F_ACK, 501, 1, 65535, d2, 500);
	assert_true(fx_out(f, &s));                 /* immediate dup ACK */
	assert_int_equal(s.arel, 1);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], 501);
	assert_int_equal(s.sack[0][1], 1001);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 1000, 0), -EAGAIN);
	fx_tcp(f, F_ACK, 1, 1, 65535, d1, 500);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1001);
	assert_int_equal(s.nsack, 0);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 1000, 0), 1000);
	assert_memory_equal(buf, d1, 500);
	assert_memory_equal(buf + 500, d2, 500);
	assert_int_equal(CNT(f, tcp_ooo_segs), 1);
}

static void t_dup_data_acked(void **state)
{
	struct fx *f = *state;
	char d[100], buf[300];
	struct seg s;

	fx_established_passive(f);
	memset(d, 'q', 100);
	fx_tcp(f, F_ACK, 1, 1, 65535, d, 100);
	fx_tcp(f, F_ACK, 1, 1, 65535, d, 100);      /* duplicate */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 101);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 300, 0), 100);
	/* overlapping: 50 old + 50 new */
	fx_tcp(f, F_ACK, 51, 1, 65535, d, 100);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 300, 0), 50);
	assert_true(CNT(f, tcp_dup_segs) >= 2);
}

static void t_rst_exact_resets(void **state)
{
	struct fx *f = *state;
	char buf[10];

	fx_established_passive(f);
	fx_tcp(f, F_RST, 1, 0, 0, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_true(ns_sock_events(f->st, f->sd) & (NS_EV_ERR | NS_EV_HUP));
	assert_int_equal(ns_recv(f->st, f->sd, buf, 10, 0), -ECONNRESET);
	/* as Linux: then EOF on reads, EPIPE on writes */
	assert_int_equal(ns_recv(f->st, f->sd, buf, 10, 0), 0);
	assert_int_equal(ns_send(f->st, f->sd, buf, 10, 0), -EPIPE);
	assert_int_equal(fx_nout(f), 0);
}

static void t_rst_in_window_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_RST, 100, 0, 0, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);             /* challenge ACK */
	assert_int_equal(s.arel, 1);
	assert_int_equal(CNT(f, tcp_challenge_acks), 1);
	/* out of window: silently dropped */
	fx_tcp(f, F_RST, 1000000, 0, 0, NULL, 0);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void t_syn_in_established_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_SYN, 5, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 1);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void t_ack_too_new_dropped(void **state)
{
	struct fx *f = *state;
	char d[10] = "0123456789";
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 5000, 65535, d, 10);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);                  /* data not taken */
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	assert_int_equal(CNT(f, drop_tcp_ack), 1);
}

static void t_passive_close(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[4];
	int sd;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_RDHUP);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 4, 0), 0);
	assert_int_equal(ns_send(f->st, f->sd, "hi", 2, 0), 2);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 2);
	sd = f->sd;
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 3);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_LAST_ACK);
	fx_tcp(f, F_ACK, 2, 4, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
	assert_int_equal(ns_recv(f->st, sd, buf, 4, 0), -EBADF);
}

static void t_active_close_time_wait(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_active(f);
	sd = f->sd;
	assert_int_equal(ns_shutdown(f->st, sd, SHUT_WR), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_FIN_WAIT_1);
	assert_int_equal(ns_send(f->st, sd, "x", 1, 0), -EPIPE);
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_FIN_WAIT_2);
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	assert_true(ns_sock_events(f->st, sd) & NS_EV_HUP);
	assert_int_equal(ns_close(f->st, sd), 0);
	/* a retransmitted FIN is ACKed again */
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	fx_advance(f, 999 * NS_MS);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_TCP);
	fx_advance(f, 2 * NS_MS);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_simultaneous_close(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	/* the peer's FIN crosses ours, not acking it */
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_CLOSING);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	fx_tcp(f, F_ACK, 2, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
	fx_advance(f, 1001 * NS_MS);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_fin_and_ack_together(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	ns_close(f->st, sd);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
}

static void t_simultaneous_open(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(5001);
	assert_int_equal(ns_bind(f->st, f->sd, &a), 0);
	a.sin_port = htons(5002);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EINPROGRESS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.sport, 5001);
	f->lport = 5001;
	f->pport = 5002;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);          /* crossing SYN */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_RECEIVED);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.seq, OUR_ISS);
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 65535, NULL, 0);
	/* SYN,ACK in SYN_RECEIVED: acceptable ACK -> ESTABLISHED */
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void fx_tcp_sack(struct fx *f, uint32_t ack_rel, const uint32_t (*blk)[2],
			int n)
{
	uint8_t o[40];
	uint32_t k = 0;
	int i;
	o[k++] = 1; o[k++] = 1; o[k++] = 5; o[k++] = (uint8_t)(2 + 8 * n);
	for (i = 0; i < n; i++) {
		uint32_t a = htonl(f->our_iss + blk[i][0]);
		uint32_t z = htonl(f->our_iss + blk[i][1]);
		memcpy(o + k, &a, 4);
		memcpy(o + k + 4, &z, 4);
		k += 8;
	}
	fx_tcp_raw(f, F_ACK, f->peer_iss + 1, f->our_iss + ack_rel, 65535, NULL,
		   0, o, k);
}

static void t_sack_recovery_two_holes(void **state)
{
	struct fx *f = *state;
	static char data[1460 * 8];
	uint32_t m, b1[1][2], b2[2][2], b3[2][2];
	struct seg s;
	int i;

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	assert_int_equal(ns_send(f->st, f->sd, data, 8 * m, 0), (ssize_t)(8 * m));
	for (i = 0; i < 8; i++)
		assert_true(fx_out(f, &s));
	/* segments 1 and 3 lost; SACKs for 2, then 4..6 */
	b1[0][0] = 1 + m; b1[0][1] = 1 + 2 * m;
	fx_tcp_sack(f, 1, b1, 1);
	assert_int_equal(fx_nout(f), 0);                /* not yet lost */
	b2[0][0] = 1 + 3 * m; b2[0][1] = 1 + 6 * m;
	b2[1][0] = 1 + m; b2[1][1] = 1 + 2 * m;
	fx_tcp_sack(f, 1, b2, 2);
	/* 4 segments SACKed above the first hole: both holes go now */
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1 + 2 * m);
	assert_int_equal(fx_tcb(f)->nsacked, 2);
	/* partial ACK up to the second hole, more SACKed */
	b3[0][0] = 1 + 3 * m; b3[0][1] = 1 + 7 * m;
	fx_tcp_sack(f, 1 + 2 * m, b3, 1);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1 + 8 * m, 65535, NULL, 0);   /* all acked */
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	assert_int_equal(fx_tcb(f)->nsacked, 0);
	assert_int_equal(fx_tcb(f)->sb_len, 0);
}

static void t_sack_ignores_bogus_blocks(void **state)
{
	struct fx *f = *state;
	uint32_t b[3][2];

	f->use_sack = 1;
	fx_established_passive(f);
	ns_send(f->st, f->sd, "abcdefgh", 8, 0);
	fio_clear(&f->io);
	b[0][0] = 5; b[0][1] = 3;          /* reversed */
	b[1][0] = 4; b[1][1] = 100000;     /* past snd_max */
	b[2][0] = 0; b[2][1] = 1;          /* below snd_una (D-SACK) */
	fx_tcp_sack(f, 1, b, 3);
	assert_int_equal(fx_tcb(f)->nsacked, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}


static void t_rst_in_close_wait(void **state)
{
	struct fx *f = *state;
	char b[4];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	fx_tcp(f, F_RST, 2, 0, 0, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_recv(f->st, f->sd, b, 4, 0), -ECONNRESET);
	assert_int_equal(CNT(f, tcp_conn_reset), 1);
}

static void t_rst_in_syn_received(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	listen80(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(f->st->socks[f->lsd].qlen, 1);
	fx_tcp(f, F_RST, 1, 0, 0, NULL, 0);
	/* back to LISTEN: the embryonic connection is gone */
	assert_int_equal(f->st->socks[f->lsd].qlen, 0);
	assert_int_equal(ns_accept(f->st, f->lsd, NULL), -EAGAIN);
	assert_int_equal(fx_nout(f), 0);
}

static void t_rst_in_time_wait(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	ns_close(f->st, sd);
	fx_out(f, &s);
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
	fx_tcp(f, F_RST, 2, 0, 0, NULL, 0);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_fin_with_data(void **state)
{
	struct fx *f = *state;
	char b[16];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN | F_PSH, 1, 1, 65535, "last words", 10);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_int_equal(ns_recv(f->st, f->sd, b, 16, 0), 10);
	assert_memory_equal(b, "last words", 10);
	assert_int_equal(ns_recv(f->st, f->sd, b, 16, 0), 0);
	assert_int_equal(fx_tcb(f)->rcv_nxt, PEER_ISS + 12);
}

static void t_fin_out_of_order(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char b[16];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN, 6, 1, 65535, "world", 5);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);
	fx_tcp(f, F_ACK, 1, 1, 65535, "hello", 5);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 12);
	assert_int_equal(ns_recv(f->st, f->sd, b, 16, 0), 10);
	assert_memory_equal(b, "helloworld", 10);
	assert_int_equal(ns_recv(f->st, f->sd, b, 16, 0), 0);
}

static void t_half_close_receive(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char b[16];

	fx_established_active(f);
	ns_shutdown(f->st, f->sd, SHUT_WR);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
	/* the peer keeps sending; we keep reading */
	fx_tcp(f, F_ACK, 1, 2, 65535, "more", 4);
	assert_int_equal(ns_recv(f->st, f->sd, b, 16, 0), 4);
	fx_tcp(f, F_ACK | F_FIN, 5, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
	assert_int_equal(ns_recv(f->st, f->sd, b, 16, 0), 0);
}

static void t_data_after_close_resets(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	ns_close(f->st, sd);
	assert_true(fx_out(f, &s));                     /* FIN */
	fx_tcp(f, F_ACK, 1, 2, 65535, "late", 4);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_window_scale_advertised(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ws = 1;
	f->peer_ws = 2;
	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->rcv_wscale, 1);
	assert_int_equal(fx_tcb(f)->snd_wscale, 2);
	fx_tcp(f, F_ACK, 1, 1, 1000, "ab", 2);
	assert_int_equal(fx_tcb(f)->snd_wnd, 4000);
	fx_advance(f, NS_TCP_DELACK_NS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, (65536 - 2) >> 1);
}

static void t_peer_mss_respected(void **state)
{
	struct fx *f = *state;
	static char data[2000];
	struct seg s;

	f->peer_mss = 536;
	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->mss, 536);
	ns_send(f->st, f->sd, data, 2000, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 536);
}

static void t_syn_sent_bad_ack_resets(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	ns_connect(f->st, f->sd, &a);
	assert_true(fx_out(f, &s));
	f->pport = 80;
	f->lport = s.sport;
	fx_tcp(f, F_SYN | F_ACK, 0, 500, 65535, NULL, 0); /* acks the future */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.srel, 500);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
	fx_tcp(f, F_RST, 0, 0, 0, NULL, 0);             /* RST without ACK */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
	fx_tcp(f, F_ACK, 0, 1, 65535, NULL, 0);         /* ACK without SYN */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
}

static void t_rtt_estimate(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i;

	fx_established_passive(f);
	for (i = 0; i < 20; i++) {
		ns_send(f->st, f->sd, "x", 1, 0);
		assert_true(fx_out(f, &s));
		f->now += 300 * NS_MS;
		fx_tcp(f, F_ACK, 1, 2 + (uint32_t)i, 65535, NULL, 0);
	}
	/* RFC 6298: srtt converges on 300 ms, rto = srtt + 4 rttvar */
	assert_true(fx_tcb(f)->srtt_us > 250000 && fx_tcb(f)->srtt_us <= 300000);
	assert_true(fx_tcb(f)->rto_ns >= 300 * NS_MS);
	assert_true(fx_tcb(f)->rto_ns < 1000 * NS_MS);
}

static void t_slow_start_and_reno_ca(void **state)
{
	struct fx *f = *state;
	static char data[65536];
	struct seg s;
	uint32_t m, cw;

	fx_established_passive(f);
	fx_tcb(f)->cc_algo = NS_CC_RENO;
	m = fx_tcb(f)->mss;
	cw = fx_tcb(f)->cwnd;
	ns_send(f->st, f->sd, data, 4 * m, 0);
	while (fx_out(f, &s))
		;
	fx_tcp(f, F_ACK, 1, 1 + 2 * m, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->cwnd, cw + 2 * m);  /* slow start */
	/* congestion avoidance: one MSS per window of ACKed data */
	fx_tcb(f)->ssthresh = fx_tcb(f)->cwnd;
	cw = fx_tcb(f)->cwnd;
	fx_tcp(f, F_ACK, 1, 1 + 4 * m, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->cwnd, cw);
	assert_int_equal(fx_tcb(f)->cc_acked, 2 * m);
}

static void t_cubic_grows_after_loss(void **state)
{
	struct fx *f = *state;
	static char data[65536];
	struct seg s;
	uint32_t m, cw0, acked = 1;
	int i;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	ns_send(f->st, f->sd, data, 40 * m, 0);
	while (fx_out(f, &s))
		;
	ns_cc_loss(f->st, fx_tcb(f));
	fx_tcb(f)->cwnd = fx_tcb(f)->ssthresh;
	cw0 = fx_tcb(f)->cwnd;
	assert_int_equal(fx_tcb(f)->cc_algo, NS_CC_CUBIC);
	for (i = 0; i < 10; i++) {
		f->now += 100 * NS_MS;
		acked += m;
		fx_tcp(f, F_ACK, 1, acked, 65535, NULL, 0);
		while (fx_out(f, &s))
			;
	}
	assert_true(fx_tcb(f)->cwnd > cw0);
	assert_true(fx_tcb(f)->cu_wmax > 0);
}

static void t_names_after_accept(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;

	fx_established_passive(f);
	assert_int_equal(ns_getsockname(f->st, f->sd, &a), 0);
	assert_int_equal(a.sin_addr.s_addr, ip_be(US_IP));
	assert_int_equal(ntohs(a.sin_port), 80);
	assert_int_equal(ns_getpeername(f->st, f->sd, &a), 0);
	assert_int_equal(a.sin_addr.s_addr, ip_be(PEER_IP));
	assert_int_equal(ntohs(a.sin_port), 40000);
}

static void t_persist_backoff(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint64_t p1, p2;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);
	ns_send(f->st, f->sd, "q", 1, 0);
	p1 = fx_tcb(f)->persist_ns;
	fx_advance(f, p1);
	assert_true(fx_out(f, &s));
	p2 = fx_tcb(f)->persist_ns;
	assert_int_equal(p2, 2 * p1);
	fx_advance(f, p2 - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(CNT(f, tcp_zwp_sent), 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void t_receiver_sws(void **state)
{
	struct fx *f = *state;
	static char data[1460];
	char b[8];
	uint32_t off = 1;
	int i;

	fx_established_passive(f);
	for (i = 0; i < 40; i++) {
		fx_tcp(f, F_ACK, off, 1, 65535, data, 1460);
		off += 1460;
	}
	fio_clear(&f->io);
	/* tiny reads do not produce window updates */
	for (i = 0; i < 10; i++)
		assert_int_equal(ns_recv(f->st, f->sd, b, 8, 0), 8);
	assert_int_equal(fx_nout(f), 0);
}

static void t_challenge_ack_rate_limit(void **state)
{
	struct fx *f = *state;
	int i;

	fx_established_passive(f);
	for (i = 0; i < NS_TCP_CHALLENGE_PER_S + 50; i++)
		fx_tcp(f, F_RST, 100, 0, 0, NULL, 0);
	assert_int_equal(CNT(f, tcp_challenge_acks), NS_TCP_CHALLENGE_PER_S);
	fio_clear(&f->io);
	fx_advance(f, 1000 * NS_MS);
	fx_tcp(f, F_RST, 100, 0, 0, NULL, 0);
	assert_int_equal(CNT(f, tcp_challenge_acks), NS_TCP_CHALLENGE_PER_S + 1);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void t_old_ack_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	/* max_sndwnd is 65535: an ACK 100000 behind snd_una is too old */
	fx_tcp(f, F_ACK, 1, (uint32_t)-100000, 65535, "zz", 2);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	assert_int_equal(CNT(f, tcp_challenge_acks), 1);
}

static void t_send_buffer_full(void **state)
{
	struct fx *f = *state;
	static char data[70000];

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);            /* peer window 0 */
	assert_int_equal(ns_send(f->st, f->sd, data, sizeof(data), 0), 65536);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	assert_int_equal(ns_send(f->st, f->sd, data, 10, MSG_DONTWAIT), -EAGAIN);
	fio_clear(&f->io);
}

static void t_shutdown_rd(void **state)
{
	struct fx *f = *state;
	char b[4];

	fx_established_passive(f);
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_RD), 0);
	assert_int_equal(ns_recv(f->st, f->sd, b, 4, 0), 0);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_IN);
	assert_int_equal(ns_send(f->st, f->sd, "ok", 2, 0), 2);
	fio_clear(&f->io);
}

static void t_syn_data_not_taken(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	listen80(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, "early", 5);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);                    /* data not acked */
}

static void t_two_peers_same_port(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int a, b;

	fx_tcp_base(f);
	listen80(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->pport = 40001;
	f->st->iss_next = OUR_ISS + 1000;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	f->our_iss = OUR_ISS + 1000;
	fx_tcp(f, F_ACK, 1, 1, 65535, "2nd", 3);
	a = ns_accept(f->st, f->lsd, NULL);
	b = ns_accept(f->st, f->lsd, NULL);
	assert_true(a >= 0 && b >= 0 && a != b);
	assert_int_equal(f->st->socks[a].tcb.rb_len, 0);
	assert_int_equal(f->st->socks[b].tcb.rb_len, 3);
	fio_clear(&f->io);
}

static void t_listener_events(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int one = 1, v;
	socklen_t l = sizeof(v);

	fx_tcp_base(f);
	listen80(f, 4);
	assert_int_equal(ns_getsockopt(f->st, f->lsd, SOL_SOCKET, SO_ACCEPTCONN,
				       &v, &l), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ns_sock_events(f->st, f->lsd), 0);
	assert_int_equal(ns_setsockopt(f->st, f->lsd, IPPROTO_TCP, TCP_NODELAY,
				       &one, sizeof(one)), 0);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_sock_events(f->st, f->lsd), 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_int_equal(ns_sock_events(f->st, f->lsd), NS_EV_IN | NS_EV_ACCEPT);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	/* options are inherited */
	assert_true(fx_tcb(f)->tf & TF_NODELAY);
	assert_int_equal(ns_sock_events(f->st, f->lsd), 0);
}

static void t_default_close_sends_fin(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	ns_send(f->st, f->sd, "bye", 3, 0);
	assert_true(fx_out(f, &s));
	ns_close(f->st, f->sd);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 4);
	/* the unacked data and FIN are retransmitted on the timer */
	fx_advance(f, NS_TCP_RTO_MIN_NS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, 3);
	assert_true(s.flags & F_FIN);
}

static void t_so_rcvbuf_sndbuf(void **state)
{
	struct fx *f = *state;
	static char data[20000];
	int v = 4096, got;
	socklen_t l = sizeof(got);
	struct seg s;

	fx_tcp_base(f);
	listen80(f, 4);
	assert_int_equal(ns_setsockopt(f->st, f->lsd, SOL_SOCKET, SO_RCVBUF, &v,
				       sizeof(v)), 0);
	assert_int_equal(ns_setsockopt(f->st, f->lsd, SOL_SOCKET, SO_SNDBUF, &v,
				       sizeof(v)), 0);
	assert_int_equal(ns_getsockopt(f->st, f->lsd, SOL_SOCKET, SO_RCVBUF, &got,
				       &l), 0);
	assert_int_equal(got, 8192);                    /* doubled, as Linux */
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, 8192);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_int_equal(ns_send(f->st, f->sd, data, sizeof(data), 0), 8192);
	fio_clear(&f->io);
}

static void t_describe(void **state)
{
	struct fx *f = *state;
	char line[256];

	fx_established_passive(f);
	assert_true(ns_sock_describe(f->st, f->sd, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "ESTABLISHED"));
	assert_non_null(strstr(line, "198.18.0.2:80 -> 198.18.0.1:40000"));
	assert_true(ns_sock_describe(f->st, f->lsd, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "LISTEN"));
	assert_int_equal(ns_sock_describe(f->st, 15, line, sizeof(line)), -EBADF);
	assert_int_equal(ns_stack_max_socks(f->st), 16);
}

static void t_api_misc(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct linger l = { 1, 5 }, l2;
	socklen_t ll = sizeof(l2);
	char b[4];
	int u, one = 1, v;
	socklen_t vl = sizeof(v);

	fx_established_active(f);
	/* connect again: already connected */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EISCONN);
	assert_int_equal(ns_setsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &l,
				       sizeof(l)), 0);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &l2,
				       &ll), 0);
	assert_int_equal(l2.l_onoff, 1);
	assert_int_equal(l2.l_linger, 5);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_NODELAY,
				       &one, sizeof(one)), 0);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_NODELAY, &v,
				       &vl), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_MAXSEG, &v,
				       &vl), 0);
	assert_int_equal(v, 1460);
	/* UDP: listen is not supported, AF_UNSPEC disconnects */
	u = ns_socket(f->st, SOCK_DGRAM);
	assert_int_equal(ns_listen(f->st, u, 1), -EOPNOTSUPP);
	a.sin_port = htons(9);
	assert_int_equal(ns_connect(f->st, u, &a), 0);
	assert_int_equal(ns_getpeername(f->st, u, &a), 0);
	a.sin_family = AF_UNSPEC;
	assert_int_equal(ns_connect(f->st, u, &a), 0);
	assert_int_equal(ns_getpeername(f->st, u, &a), -ENOTCONN);
	assert_int_equal(ns_getsockopt(f->st, u, IPPROTO_TCP, TCP_NODELAY, &v,
				       &vl), -ENOPROTOOPT);
	assert_int_equal(ns_close(f->st, u), 0);
	assert_int_equal(ns_recv(f->st, f->sd, b, 4, 0), -EAGAIN);
	assert_int_equal(ns_sock_events(f->st, 12345), 0);
}

static void t_reuseaddr_over_time_wait(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;
	int sd, n, one = 1;

	fx_tcp_base(f);
	/* an active close from a bound port leaves it in TIME_WAIT */
	sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7777);
	assert_int_equal(ns_bind(f->st, sd, &a), 0);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	a.sin_port = htons(80);
	f->sd = sd;
	assert_int_equal(ns_connect(f->st, sd, &a), -EINPROGRESS);
	assert_true(fx_out(f, &s));
	f->pport = 80;
	f->lport = 7777;
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 65535, NULL, 0);
	ns_close(f->st, sd);
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
	fio_clear(&f->io);
	n = ns_socket(f->st, SOCK_STREAM);
	a.sin_addr.s_addr = 0;
	a.sin_port = htons(7777);
	assert_int_equal(ns_bind(f->st, n, &a), -EADDRINUSE);
	assert_int_equal(ns_setsockopt(f->st, n, SOL_SOCKET, SO_REUSEADDR, &one,
				       sizeof(one)), 0);
	assert_int_equal(ns_bind(f->st, n, &a), 0);
	assert_int_equal(ns_listen(f->st, n, 4), 0);
}

static void t_arp_refresh_keeps_sending(void **state)
{
	struct fx *f = *state;
	struct seg s;
	struct nf_buf *b;
	int arps = 0, tcps = 0;

	fx_established_passive(f);
	/* past the entry's lifetime the stack keeps using it while it asks */
	fx_advance(f, NS_ARP_TIMEOUT_NS + 1);
	ns_send(f->st, f->sd, "x", 1, 0);
	while ((b = fio_pop(&f->io)) != NULL) {
		if (b->data[13] == 0x06)
			arps++;
		else
			tcps++;
		fio_pool_put(b);
	}
	assert_int_equal(arps, 1);
	assert_int_equal(tcps, 1);
	(void)s;
}

static void t_delack_cancelled_by_reply(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char b[8];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "req", 3);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(ns_recv(f->st, f->sd, b, 8, 0), 3);
	assert_int_equal(ns_send(f->st, f->sd, "resp", 4, 0), 4);
	assert_true(fx_out(f, &s));                     /* ACK rides along */
	assert_int_equal(s.arel, 4);
	assert_int_equal(s.len, 4);
	fx_advance(f, NS_TCP_DELACK_NS * 2);
	assert_int_equal(fx_nout(f), 0);                /* no extra ACK */
}

static void t_ooo_ranges_full(void **state)
{
	struct fx *f = *state;
	int i;

	f->use_sack = 1;
	fx_established_passive(f);
	/* 8 separate holes fill the range table; a 9th is dropped */
	for (i = 0; i < NS_TCP_OOO_RANGES + 1; i++)
		fx_tcp(f, F_ACK, 1 + 20 * (uint32_t)(i + 1), 1, 65535, "0123456789", 10);
	assert_int_equal(fx_tcb(f)->ooo_n, NS_TCP_OOO_RANGES);
	assert_int_equal(CNT(f, drop_tcp_ooo_full), 1);
	/* a segment that extends an existing range still fits */
	fx_tcp(f, F_ACK, 31, 1, 65535, "abcde", 5);
	assert_int_equal(CNT(f, drop_tcp_ooo_full), 1);
	fio_clear(&f->io);
}

static void t_sack_blocks_recent_first(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 101, 1, 65535, "aaaaaaaaaa", 10);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 301, 1, 65535, "bbbbbbbbbb", 10);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.nsack, 2);
	assert_int_equal(s.sack[0][0], 301);            /* the newest first */
	assert_int_equal(s.sack[1][0], 101);
	fx_tcp(f, F_ACK, 111, 1, 65535, "cccccccccc", 10); /* extends 1st */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.sack[0][0], 101);
	assert_int_equal(s.sack[0][1], 121);
}

static void t_icmp_unreach_in_syn_sent(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;
	uint8_t fr[200];
	struct ns_icmp_hdr *ic;
	uint32_t o;

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(81);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	ns_connect(f->st, f->sd, &a);
	assert_true(fx_out(f, &s));
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 36, 1, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 8);
	ic->type = 3;
	ic->code = 3;
	mk_ip(fr + o + 8, ip_be(US_IP), ip_be(PEER_IP), 6, 40, 1, 0x4000, 64, 0);
	{
		uint16_t sp = htons(s.sport), dp = htons(81);
		uint32_t sq = htonl(OUR_ISS);
		memcpy(fr + o + 28, &sp, 2);
		memcpy(fr + o + 30, &dp, 2);
		memcpy(fr + o + 32, &sq, 4);
	}
	ic->cksum_be = ns_cksum(ic, 36);
	fx_inject(f, fr, o + 36);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -ECONNREFUSED);
}

static void t_icmp_bad_seq_ignored(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	struct ns_icmp_hdr *ic;
	uint32_t o;

	fx_established_passive(f);
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 36, 1, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 8);
	ic->type = 3;
	ic->code = 4;
	ic->u.frag.mtu_be = htons(600);
	mk_ip(fr + o + 8, ip_be(US_IP), ip_be(PEER_IP), 6, 40, 1, 0x4000, 64, 0);
	{
		uint16_t sp = htons(80), dp = htons(40000);
		uint32_t sq = htonl(OUR_ISS + 99999);   /* not in flight */
		memcpy(fr + o + 28, &sp, 2);
		memcpy(fr + o + 30, &dp, 2);
		memcpy(fr + o + 32, &sq, 4);
	}
	ic->cksum_be = ns_cksum(ic, 36);
	fx_inject(f, fr, o + 36);
	assert_int_equal(fx_tcb(f)->mss, 1460);        /* RFC 5927 check */
	assert_int_equal(CNT(f, icmp_pmtu_updates), 0);
}

static void t_zero_window_probe_answered(void **state)
{
	struct fx *f = *state;
	static char data[1460];
	struct seg s;
	uint32_t off = 1;
	int i;

	fx_established_passive(f);
	for (i = 0; i < 45; i++) {
		fx_tcp(f, F_ACK, off, 1, 65535, data, 1460);
		off += 1460;
	}
	fio_clear(&f->io);
	off = 1 + 65536;
	assert_int_equal(ns_tcp_rcv_window(fx_tcb(f)), 0);
	/* a 1-byte probe into the closed window: ACK with window 0 */
	fx_tcp(f, F_ACK, off, 1, 65535, "p", 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, off);
	assert_int_equal(s.win, 0);
	/* the keepalive-style probe (seq - 1) gets the same answer */
	fx_tcp(f, F_ACK, off - 1, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, off);
}

static void t_quickack(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int one = 1, v;
	socklen_t l = sizeof(v);

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, "a", 1);
	assert_int_equal(fx_nout(f), 0);                /* delayed */
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_QUICKACK,
				       &one, sizeof(one)), 0);
	assert_true(fx_out(f, &s));                     /* owed ACK goes now */
	assert_int_equal(s.arel, 2);
	fx_tcp(f, F_ACK, 2, 1, 65535, "b", 1);
	assert_true(fx_out(f, &s));                     /* and every time */
	assert_int_equal(s.arel, 3);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_QUICKACK,
				       &v, &l), 0);
	assert_int_equal(v, 1);
}

static void t_rto_backoff_and_give_up(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint64_t rto;
	int i;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "hello", 5, 0), 5);
	assert_true(fx_out(f, &s));
	rto = fx_tcb(f)->rto_ns;
	assert_true(ns_stack_deadline(f->st) <= f->now + rto);
	assert_int_equal(rto, NS_TCP_RTO_MIN_NS);
	fx_advance(f, rto - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, 5);
	assert_int_equal(fx_tcb(f)->rxt_shift, 1);
	assert_int_equal(fx_tcb(f)->cwnd, fx_tcb(f)->mss);
	/* the next one waits twice as long */
	fx_advance(f, 2 * rto - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(fx_tcb(f)->rxt_shift, 2);
	for (i = 0; i < 40 && fx_tcb(f)->state != NS_TCPS_CLOSED; i++) {
		fx_advance(f, NS_TCP_RTO_MAX_NS);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), -ETIMEDOUT);
	assert_int_equal(CNT(f, tcp_conn_timeout), 1);
}

static void t_rto_ack_restarts(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	ns_send(f->st, f->sd, "abcdef", 6, 0);
	fx_out(f, &s);
	fx_advance(f, NS_TCP_RTO_MIN_NS);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 7, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->rxt_shift, 0);
	assert_int_equal(fx_tcb(f)->t_rexmt, 0);
	assert_int_equal(fx_tcb(f)->sb_len, 0);
}

static void t_fast_retransmit_newreno(void **state)
{
	struct fx *f = *state;
	static char data[1460 * 6];
	struct seg s;
	uint32_t mss;
	int i;

	fx_established_passive(f);
	mss = fx_tcb(f)->mss;
	fx_tcb(f)->cc_algo = NS_CC_RENO;
	assert_int_equal(ns_send(f->st, f->sd, data, 6 * mss, 0), (ssize_t)(6 * mss));
	for (i = 0; i < 6; i++)
		assert_true(fx_out(f, &s));
	/* segment 1 lost: three duplicate ACKs */
	for (i = 0; i < 2; i++)
		fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_nout(f), 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, mss);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	assert_int_equal(CNT(f, tcp_fast_retransmits), 1);
	/* partial ACK (segment 3 lost too): retransmit it at once */
	fx_tcp(f, F_ACK, 1, 1 + 2 * mss, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1 + 2 * mss);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	/* full ACK ends recovery */
	fx_tcp(f, F_ACK, 1, 1 + 6 * mss, 65535, NULL, 0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	assert_true(fx_tcb(f)->cwnd <= fx_tcb(f)->ssthresh);
	assert_int_equal(fx_tcb(f)->sb_len, 0);
}

static void t_zero_window_probe(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);            /* window closes */
	assert_int_equal(fx_tcb(f)->snd_wnd, 0);
	assert_int_equal(ns_send(f->st, f->sd, "data", 4, 0), 4);
	assert_int_equal(fx_nout(f), 0);
	assert_true(fx_tcb(f)->t_persist != 0);
	fx_advance(f, fx_tcb(f)->persist_ns);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 0);                    /* snd_una - 1 */
	assert_int_equal(s.len, 0);
	assert_int_equal(CNT(f, tcp_zwp_sent), 1);
	fx_tcp(f, F_ACK, 1, 1, 1000, NULL, 0);         /* window opens */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 4);
	assert_int_equal(fx_tcb(f)->t_persist, 0);
}

static void t_keepalive(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int one = 1, idle = 10, intvl = 2, cnt = 3, i;

	fx_established_passive(f);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_KEEPIDLE,
				       &idle, sizeof(idle)), 0);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_KEEPINTVL,
				       &intvl, sizeof(intvl)), 0);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_KEEPCNT,
				       &cnt, sizeof(cnt)), 0);
	assert_int_equal(ns_setsockopt(f->st, f->sd, SOL_SOCKET, SO_KEEPALIVE,
				       &one, sizeof(one)), 0);
	fx_advance(f, 9999 * NS_MS);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1 * NS_MS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 0);
	assert_int_equal(s.arel, 1);
	/* an answer resets the count */
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->keep_sent, 0);
	for (i = 0; i < 10 && fx_tcb(f)->state != NS_TCPS_CLOSED; i++) {
		fx_advance(f, 10000 * NS_MS);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(CNT(f, tcp_keepalive_sent), 1 + 3);
	assert_int_equal(ns_recv(f->st, f->sd, &s, 1, 0), -ETIMEDOUT);
}

static void t_linger_zero_rst(void **state)
{
	struct fx *f = *state;
	struct linger l = { 1, 0 };
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	assert_int_equal(ns_setsockopt(f->st, sd, SOL_SOCKET, SO_LINGER, &l,
				       sizeof(l)), 0);
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(s.srel, 1);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_close_unread_rst(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	fx_tcp(f, F_ACK, 1, 1, 65535, "unread", 6);
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(s.arel, 7);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_nagle_and_nodelay(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int one = 1;

	fx_established_passive(f);
	ns_send(f->st, f->sd, "a", 1, 0);
	assert_true(fx_out(f, &s));
	ns_send(f->st, f->sd, "b", 1, 0);
	assert_int_equal(fx_nout(f), 0);               /* held: 'a' unacked */
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1);
	assert_int_equal(s.data[0], 'b');
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_NODELAY,
				       &one, sizeof(one)), 0);
	ns_send(f->st, f->sd, "c", 1, 0);
	ns_send(f->st, f->sd, "d", 1, 0);
	assert_true(fx_out(f, &s));
	assert_true(fx_out(f, &s));
	assert_int_equal(s.data[0], 'd');
}

static void t_cork_and_msg_more(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int one = 1, zero = 0;

	fx_established_passive(f);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_CORK,
				       &one, sizeof(one)), 0);
	ns_send(f->st, f->sd, "abc", 3, 0);
	ns_send(f->st, f->sd, "def", 3, 0);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_CORK,
				       &zero, sizeof(zero)), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 6);
	fx_tcp(f, F_ACK, 1, 7, 65535, NULL, 0);
	ns_send(f->st, f->sd, "gh", 2, MSG_MORE);
	assert_int_equal(fx_nout(f), 0);
	ns_send(f->st, f->sd, "ij", 2, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 4);
	assert_memory_equal(s.data, "ghij", 4);
}

static void t_paws_drops_old(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ts = 1;
	fx_established_passive(f);
	f->peer_tsval = 50;                             /* older than 100 */
	fx_tcp(f, F_ACK, 1, 1, 65535, "old", 3);
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	assert_int_equal(CNT(f, drop_tcp_paws), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);
	f->peer_tsval = 200;
	fx_tcp(f, F_ACK, 1, 1, 65535, "new", 3);
	assert_int_equal(fx_tcb(f)->rb_len, 3);
	assert_int_equal(fx_tcb(f)->ts_recent, 200);
}

static void t_backlog_full(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	f->st->cfg.syncookies = 0;
	listen80(f, 1);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	f->pport = 40001;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(CNT(f, drop_tcp_backlog), 1);
	/* closing the listener resets the embryonic connection */
	assert_int_equal(ns_close(f->st, f->lsd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
}

static void t_syncookies(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t cookie;
	int c1, c2;

	fx_tcp_base(f);
	f->use_ts = f->use_ws = f->use_sack = 1;
	listen80(f, 1);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);        /* queued, qlen 1 */
	f->pport = 40001;
	f->use_ts = 0;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));                     /* stateless SYN,ACK */
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.arel, 1);
	assert_true(s.has_mss);
	assert_false(s.has_ws || s.has_ts || s.sack_ok);
	assert_int_equal(CNT(f, tcp_syncookies_sent), 1);
	cookie = s.seq;
	c1 = ns_accept(f->st, f->lsd, NULL);            /* room again */
	assert_true(c1 >= 0);
	/* a forged ACK is reset */
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 77, 65535, NULL, 0, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);
	/* the real one, carrying data, completes the connection */
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 1, 65535, "hey", 3, NULL, 0);
	assert_int_equal(CNT(f, tcp_syncookies_ok), 1);
	c2 = ns_accept(f->st, f->lsd, NULL);
	assert_true(c2 >= 0);
	assert_int_equal(f->st->socks[c2].tcb.state, NS_TCPS_ESTABLISHED);
	assert_int_equal(f->st->socks[c2].tcb.mss, 1460);
	assert_int_equal(ns_recv(f->st, c2, &s, 3, 0), 3);
	assert_int_equal(ns_send(f->st, c2, "yo", 2, 0), 2);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.seq, cookie + 1);
	assert_int_equal(s.arel, 4);
}

/* A good cookie whose ACK finds the accept queue full is dropped, not
 * reset (the peer retransmits; Linux: listen overflow, no RST without
 * tcp_abort_on_overflow); its retransmission after an accept completes
 * the connection. A slow acceptor (a server that forks per connection)
 * made its clients see RSTs. */
static void t_syncookie_accept_queue_full(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t cookie;
	int c1, c2;

	fx_tcp_base(f);
	listen80(f, 1);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);        /* accept queue: 1 */
	f->pport = 40001;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));                     /* no room: cookie */
	assert_int_equal(CNT(f, tcp_syncookies_sent), 1);
	cookie = s.seq;
	/* the good ACK: the accept queue is still full */
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 1, 65535, NULL, 0, NULL, 0);
	assert_int_equal(fx_nout(f), 0);                /* no RST */
	assert_int_equal(CNT(f, drop_tcp_syncookie), 1);
	assert_int_equal(CNT(f, tcp_rst_sent), 0);
	c1 = ns_accept(f->st, f->lsd, NULL);
	assert_true(c1 >= 0);
	/* its retransmission (with data) finds room */
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, cookie + 1, 65535, "hey", 3, NULL, 0);
	assert_int_equal(CNT(f, tcp_syncookies_ok), 1);
	c2 = ns_accept(f->st, f->lsd, NULL);
	assert_true(c2 >= 0);
	assert_int_equal(ns_recv(f->st, c2, &s, 3, 0), 3);
}

static void t_dsack(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, "0123456789", 10);
	fx_advance(f, NS_TCP_DELACK_NS);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1, 65535, "0123456789", 10); /* duplicate */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 11);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], 1);               /* RFC 2883 D-SACK */
	assert_int_equal(s.sack[0][1], 11);
	fx_tcp(f, F_ACK, 1, 1, 65535, "0123456789", 10);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.nsack, 1);
	fx_tcp(f, F_ACK, 21, 1, 65535, "x", 1);         /* out of order */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], 21);
}

static void t_time_wait_reclaimed_when_full(void **state)
{
	struct fx g;
	struct ns_config c;
	struct seg s;
	int i, sd;
	(void)state;
	fx_default_cfg(&c);
	c.max_socks = 2;
	c.time_wait_ms = 60000;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	fx_established_passive(&g);                     /* 2 sockets used */
	sd = g.sd;
	ns_close(g.st, sd);
	fx_out(&g, &s);
	fx_tcp(&g, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(g.st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
	fio_clear(&g.io);
	/* the table is full: a new connection takes the TIME_WAIT slot */
	g.pport = 40002;
	g.st->iss_next = OUR_ISS + 5000;
	fx_tcp(&g, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(&g, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(fx_cnt(&g, offsetof(struct ns_counters, tcp_tw_reclaimed)), 1);
	for (i = 0; i < 2; i++)
		fio_clear(&g.io);
	fx_teardown(&g);
}

static void t_rst_for_no_listener(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.seq, 0);
	assert_int_equal(s.arel, 1);
	fx_tcp(f, F_ACK, 1, 77, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.srel, 77);
	fx_tcp(f, F_RST, 1, 77, 65535, NULL, 0);       /* never answer a RST */
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(CNT(f, drop_tcp_noport), 3);
}

static void t_time_wait_reuse(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	ns_close(f->st, sd);
	fx_out(f, &s);
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_TIME_WAIT);
	fio_clear(&f->io);
	f->st->iss_next = OUR_ISS + 100000;
	fx_tcp(f, F_SYN, 1000, 0, 65535, NULL, 0);     /* higher seq */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.arel, 1001);
}

static void t_hostile_headers(void **state)
{
	struct fx *f = *state;
	uint8_t opt_zero[4] = {8, 0, 1, 1};      /* zero-length option */
	uint8_t opt_past[4] = {1, 1, 2, 8};      /* length runs past */
	uint8_t opt_lenbyte[4] = {1, 1, 1, 2};   /* kind with no length */
	uint8_t fr[200];
	struct ns_tcp_hdr *th;
	uint32_t o;

	fx_established_passive(f);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 100, "z", 1,
		   opt_zero, 4);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 100, "z", 1,
		   opt_past, 4);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 100, "z", 1,
		   opt_lenbyte, 4);
	assert_int_equal(CNT(f, drop_tcp_opt), 3);
	/* data offset < 5 and data offset past the segment */
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 6, 20, 1, 0, 64, 0);
	th = (struct ns_tcp_hdr *)(fr + o);
	memset(th, 0, 20);
	th->sport_be = htons(f->pport);
	th->dport_be = htons(f->lport);
	th->off = 4 << 4;
	th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ip_be(PEER_IP),
			ip_be(US_IP), 6, 20), th, 20));
	fx_inject(f, fr, o + 20);
	th->off = 6 << 4;
	th->cksum_be = 0;
	th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ip_be(PEER_IP),
			ip_be(US_IP), 6, 20), th, 20));
	fx_inject(f, fr, o + 20);
	assert_int_equal(CNT(f, drop_tcp_off), 2);
	/* truncated: IP says 10 bytes of TCP */
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 6, 10, 1, 0, 64, 0);
	fx_inject(f, fr, o + 10);
	assert_int_equal(CNT(f, drop_tcp_short), 1);
	/* bad checksum */
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 6, 20, 1, 0, 64, 0);
	th = (struct ns_tcp_hdr *)(fr + o);
	memset(th, 0, 20);
	th->off = 5 << 4;
	th->cksum_be = 0x1234;
	fx_inject(f, fr, o + 20);
	assert_int_equal(CNT(f, drop_tcp_cksum), 1);
	/* urgent pointer past the data: counted, data still delivered */
	{
		uint8_t fr2[200];
		uint32_t p = mk_eth(fr2, us_mac, peer_mac, 0x0800);
		p += mk_ip(fr2 + p, ip_be(PEER_IP), ip_be(US_IP), 6, 22, 1, 0, 64, 0);
		th = (struct ns_tcp_hdr *)(fr2 + p);
		memset(th, 0, 22);
		th->sport_be = htons(f->pport);
		th->dport_be = htons(f->lport);
		th->seq_be = htonl(PEER_ISS + 1);
		th->ack_be = htonl(OUR_ISS + 1);
		th->off = 5 << 4;
		th->flags = F_ACK | NS_TH_URG;
		th->win_be = htons(1000);
		th->urp_be = htons(5000);
		memcpy((uint8_t *)th + 20, "ok", 2);
		th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(
			ip_be(PEER_IP), ip_be(US_IP), 6, 22), th, 22));
		fx_inject(f, fr2, p + 22);
		assert_true(CNT(f, tcp_urg_ignored) >= 1);
		assert_int_equal(fx_tcb(f)->rb_len, 2);
	}
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void t_icmp_frag_needed_lowers_mss(void **state)
{
	struct fx *f = *state;
	static char data[3000];
	uint8_t fr[200];
	struct ns_icmp_hdr *ic;
	struct seg s;
	uint32_t o;

	fx_established_passive(f);
	ns_send(f->st, f->sd, data, 3000, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1460);
	fio_clear(&f->io);
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 1, 8 + 28, 1, 0, 64, 0);
	ic = (struct ns_icmp_hdr *)(fr + o);
	memset(ic, 0, 8);
	ic->type = 3;
	ic->code = 4;
	ic->u.frag.mtu_be = htons(1000);
	/* embedded: our header + 8 bytes of TCP */
	mk_ip(fr + o + 8, ip_be(US_IP), ip_be(PEER_IP), 6, 1480, 1, 0x4000, 64, 0);
	{
		uint8_t *t = fr + o + 28;
		uint16_t sp = htons(f->lport), dp = htons(f->pport);
		uint32_t sq = htonl(OUR_ISS + 1);
		memcpy(t, &sp, 2);
		memcpy(t + 2, &dp, 2);
		memcpy(t + 4, &sq, 4);
	}
	ic->cksum_be = ns_cksum(ic, 36);
	fx_inject(f, fr, o + 36);
	assert_int_equal(fx_tcb(f)->mss, 1000 - 40);
	assert_int_equal(CNT(f, icmp_pmtu_updates), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, 960);
}

static void t_rss_port_choice(void **state)
{
	struct fx *f = *state;
	static const uint8_t key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
		0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
		0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
		0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
	static const uint16_t reta[8] = {0, 1, 2, 3, 0, 1, 2, 3};
	struct sockaddr_in a, me;
	int i;

	fx_tcp_base(f);
	memcpy(f->st->io.rss_key, key, 40);
	f->st->io.rss_key_len = 40;
	f->st->io.reta = reta;
	f->st->io.reta_size = 8;
	f->st->io.queue_id = 2;
	f->st->io.nb_queues = 4;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = ip_be(PEER_IP);
	for (i = 0; i < 4; i++) {
		int sd = ns_socket(f->st, SOCK_STREAM);
		a.sin_port = htons((uint16_t)(80 + i));
		assert_int_equal(ns_connect(f->st, sd, &a), -EINPROGRESS);
		ns_getsockname(f->st, sd, &me);
		assert_int_equal(ns_rss_queue(&f->st->io, a.sin_addr.s_addr,
					      me.sin_addr.s_addr, a.sin_port,
					      me.sin_port), 2);
	}
	fio_clear(&f->io);
}

static void t_syn_retries_timeout(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	int i, syns = 0;
	struct seg s;

	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	ns_connect(f->st, f->sd, &a);
	for (i = 0; i < 200 && fx_tcb(f)->state != NS_TCPS_CLOSED; i++) {
		while (fx_out(f, &s)) {
			assert_int_equal(s.flags, F_SYN);
			assert_int_equal(s.seq, OUR_ISS);
			syns++;
		}
		fx_advance(f, 1000 * NS_MS);
	}
	assert_int_equal(syns, 1 + NS_TCP_SYN_RETRIES);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_ERR);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -ETIMEDOUT);
}

static void t_connect_refused(void **state)
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
	a.sin_port = htons(80);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	ns_connect(f->st, f->sd, &a);
	assert_true(fx_out(f, &s));
	f->pport = 80;
	f->lport = s.sport;
	fx_tcp(f, F_RST | F_ACK, 0, 1, 0, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_ERROR, &e,
				       &l), 0);
	assert_int_equal(e, ECONNREFUSED);
}

static void t_user_timeout(void **state)
{
	struct fx *f = *state;
	int ms = 500;

	fx_established_passive(f);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_USER_TIMEOUT, &ms, sizeof(ms)), 0);
	ns_send(f->st, f->sd, "x", 1, 0);
	fx_advance(f, 200 * NS_MS);
	fx_advance(f, 400 * NS_MS);
	fx_advance(f, 800 * NS_MS);
	fio_clear(&f->io);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), -ETIMEDOUT);
}

static void t_tcp_info_and_opts(void **state)
{
	struct fx *f = *state;
	struct ns_tcp_info ti;
	socklen_t l = sizeof(ti);
	char cc[16];
	int v;

	fx_established_passive(f);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO, &ti,
				       &l), 0);
	assert_int_equal(ti.tcpi_state, 1);             /* TCP_ESTABLISHED */
	assert_int_equal(ti.tcpi_snd_mss, 1460);
	assert_int_equal(ti.tcpi_snd_cwnd, 10);
	assert_int_equal(ti.tcpi_snd_wnd, 65535);
	assert_int_equal(l, sizeof(ti));
	assert_int_equal(offsetof(struct ns_tcp_info, tcpi_total_retrans), 100);
	assert_int_equal(offsetof(struct ns_tcp_info, tcpi_bytes_acked), 120);
	l = sizeof(cc);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_CONGESTION,
				       cc, &l), 0);
	assert_string_equal(cc, "cubic");
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_CONGESTION,
				       "reno", 4), 0);
	assert_int_equal(fx_tcb(f)->cc_algo, NS_CC_RENO);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_CONGESTION,
				       "bbr", 3), -ENOENT);
	l = sizeof(v);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_TYPE, &v, &l), 0);
	assert_int_equal(v, SOCK_STREAM);
	assert_int_equal(ns_setsockopt(f->st, f->sd, SOL_SOCKET, 9999, &v,
				       sizeof(v)), -ENOPROTOOPT);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_KEEPCNT,
				       &v, 1), -EINVAL);
}

static void t_api_errors(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	char b[4];
	int s1, s2;

	fx_tcp_base(f);
	assert_int_equal(ns_socket(f->st, SOCK_RAW), -EPROTONOSUPPORT);
	assert_int_equal(ns_send(f->st, 99, b, 1, 0), -EBADF);
	assert_int_equal(ns_send(f->st, -1, b, 1, 0), -EBADF);
	s1 = ns_socket(f->st, SOCK_STREAM);
	s2 = ns_socket(f->st, SOCK_STREAM);
	assert_int_equal(ns_send(f->st, s1, b, 1, 0), -ENOTCONN);
	assert_int_equal(ns_recv(f->st, s1, b, 1, 0), -ENOTCONN);
	assert_int_equal(ns_accept(f->st, s1, NULL), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(8080);
	assert_int_equal(ns_bind(f->st, s1, &a), 0);
	assert_int_equal(ns_bind(f->st, s1, &a), -EINVAL);
	assert_int_equal(ns_bind(f->st, s2, &a), -EADDRINUSE);
	a.sin_addr.s_addr = ip_be("198.18.5.5");
	assert_int_equal(ns_bind(f->st, s2, &a), -EADDRNOTAVAIL);
	a.sin_family = AF_INET6;
	assert_int_equal(ns_bind(f->st, s2, &a), -EAFNOSUPPORT);
	assert_int_equal(ns_listen(f->st, s1, 0), 0);
	assert_int_equal(ns_getpeername(f->st, s1, &a), -ENOTCONN);
	assert_int_equal(ns_shutdown(f->st, s2, SHUT_WR), -ENOTCONN);
	assert_int_equal(ns_shutdown(f->st, s2, 7), -EINVAL);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = ip_be("203.0.113.1");   /* off-link, no gateway */
	a.sin_port = htons(1);
	assert_int_equal(ns_connect(f->st, s2, &a), -ENETUNREACH);
	assert_int_equal(ns_close(f->st, s1), 0);
	assert_int_equal(ns_close(f->st, s1), -EBADF);
	assert_int_equal(ns_close(f->st, s2), 0);
}

static void t_changed_list(void **state)
{
	struct fx *f = *state;
	int sds[8], n, i, seen = 0;

	fx_established_passive(f);
	ns_stack_changed(f->st, sds, 8);               /* drain */
	assert_int_equal(ns_stack_changed(f->st, sds, 8), 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, "hi", 2);
	n = ns_stack_changed(f->st, sds, 8);
	for (i = 0; i < n; i++)
		if (sds[i] == f->sd)
			seen = 1;
	assert_true(seen);
	assert_int_equal(ns_stack_changed(f->st, sds, 8), 0);
}

static void t_window_full_and_update(void **state)
{
	struct fx *f = *state;
	static char data[1460];
	static char buf[70000];
	struct seg s;
	uint32_t off = 1;
	int i;

	fx_established_passive(f);
	/* fill the 64 KiB receive buffer */
	for (i = 0; i < 44; i++) {
		fx_tcp(f, F_ACK, off, 1, 65535, data, 1460);
		off += 1460;
	}
	fio_clear(&f->io);
	assert_int_equal(ns_tcp_rcv_window(fx_tcb(f)), 65536 - 44 * 1460);
	fx_tcp(f, F_ACK, off, 1, 65535, data, 1460);   /* beyond the window */
	assert_int_equal(fx_tcb(f)->rb_len, 65536);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, 0);
	/* reading opens the window: an update goes out */
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 65536);
	assert_true(fx_out(f, &s));
	assert_true(s.win > 0);
}

static void t_waitall(void **state)
{
	struct fx *f = *state;
	char buf[10];

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, "abcde", 5);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 10, MSG_WAITALL), -EAGAIN);
	fx_tcp(f, F_ACK, 6, 1, 65535, "fghij", 5);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 10, MSG_WAITALL), 10);
	assert_memory_equal(buf, "abcdefghij", 10);
}

static void t_sendmsg_iov(void **state)
{
	struct fx *f = *state;
	struct iovec v[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
	struct iovec r[2];
	char b1[2], b2[8];
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_sendmsg(f->st, f->sd, v, 3, MSG_NOSIGNAL, NULL), 5);
	assert_true(fx_out(f, &s));
	assert_memory_equal(s.data, "abcde", 5);
	fx_tcp(f, F_ACK, 1, 6, 65535, "vwxyz", 5);
	r[0].iov_base = b1;
	r[0].iov_len = 2;
	r[1].iov_base = b2;
	r[1].iov_len = 8;
	assert_int_equal(ns_recvmsg(f->st, f->sd, r, 2, 0, NULL), 5);
	assert_memory_equal(b1, "vw", 2);
	assert_memory_equal(b2, "xyz", 3);
}

static void t_orphan_fin_wait2_timeout(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	ns_close(f->st, sd);
	fx_out(f, &s);
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(f->st->socks[sd].tcb.state, NS_TCPS_FIN_WAIT_2);
	fx_advance(f, NS_TCP_FIN_WAIT2_NS);
	assert_int_equal(f->st->socks[sd].type, NS_SOCK_FREE);
}

static void t_syn_ack_retransmit(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct seg s;

	fx_tcp_base(f);
	f->lsd = ns_socket(f->st, SOCK_STREAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	ns_bind(f->st, f->lsd, &a);
	ns_listen(f->st, f->lsd, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	/* the peer retransmits its SYN: our SYN,ACK goes again */
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.seq, OUR_ISS);
	/* and on the timer */
	fx_advance(f, NS_TCP_RTO_INIT_NS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	/* a bad ACK in SYN_RECEIVED gets a RST */
	fx_tcp(f, F_ACK, 1, 99, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_RST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(t_passive_open_options),
		T(t_active_open),
		T(t_syn_options_sent),
		T(t_recv_in_order_wraps),
		T(t_ack_every_second_segment),
		T(t_send_segments_and_ack),
		T(t_ooo_sack_and_fill),
		T(t_dup_data_acked),
		T(t_rst_exact_resets),
		T(t_rst_in_window_challenged),
		T(t_syn_in_established_challenged),
		T(t_ack_too_new_dropped),
		T(t_passive_close),
		T(t_active_close_time_wait),
		T(t_simultaneous_close),
		T(t_fin_and_ack_together),
		T(t_simultaneous_open),
		T(t_rto_backoff_and_give_up),
		T(t_rto_ack_restarts),
		T(t_fast_retransmit_newreno),
		T(t_sack_recovery_two_holes),
		T(t_sack_ignores_bogus_blocks),
		T(t_zero_window_probe),
		T(t_keepalive),
		T(t_linger_zero_rst),
		T(t_close_unread_rst),
		T(t_nagle_and_nodelay),
		T(t_cork_and_msg_more),
		T(t_paws_drops_old),
		T(t_backlog_full),
		T(t_syncookies),
		T(t_syncookie_accept_queue_full),
		T(t_dsack),
		T(t_time_wait_reclaimed_when_full),
		T(t_rst_for_no_listener),
		T(t_time_wait_reuse),
		T(t_hostile_headers),
		T(t_icmp_frag_needed_lowers_mss),
		T(t_rss_port_choice),
		T(t_syn_retries_timeout),
		T(t_connect_refused),
		T(t_user_timeout),
		T(t_tcp_info_and_opts),
		T(t_api_errors),
		T(t_changed_list),
		T(t_window_full_and_update),
		T(t_waitall),
		T(t_sendmsg_iov),
		T(t_orphan_fin_wait2_timeout),
		T(t_syn_ack_retransmit),
		T(t_rst_in_close_wait),
		T(t_rst_in_syn_received),
		T(t_rst_in_time_wait),
		T(t_fin_with_data),
		T(t_fin_out_of_order),
		T(t_half_close_receive),
		T(t_data_after_close_resets),
		T(t_window_scale_advertised),
		T(t_peer_mss_respected),
		T(t_syn_sent_bad_ack_resets),
		T(t_rtt_estimate),
		T(t_slow_start_and_reno_ca),
		T(t_cubic_grows_after_loss),
		T(t_names_after_accept),
		T(t_persist_backoff),
		T(t_receiver_sws),
		T(t_challenge_ack_rate_limit),
		T(t_old_ack_challenged),
		T(t_send_buffer_full),
		T(t_shutdown_rd),
		T(t_syn_data_not_taken),
		T(t_two_peers_same_port),
		T(t_listener_events),
		T(t_default_close_sends_fin),
		T(t_so_rcvbuf_sndbuf),
		T(t_describe),
		T(t_api_misc),
		T(t_reuseaddr_over_time_wait),
		T(t_arp_refresh_keeps_sending),
		T(t_delack_cancelled_by_reply),
		T(t_ooo_ranges_full),
		T(t_sack_blocks_recent_first),
		T(t_icmp_unreach_in_syn_sent),
		T(t_icmp_bad_seq_ignored),
		T(t_zero_window_probe_answered),
		T(t_quickack),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
