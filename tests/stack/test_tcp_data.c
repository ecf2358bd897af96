/*
 * test_tcp_data.c: data transfer in ESTABLISHED (RFC 9293 3.10.7.4):
 * trimming to the window, out-of-order queueing and reassembly, URG,
 * the send window and its updates (SND.WL1/WL2), the send and receive
 * rings across their wrap, recv flags (PEEK, WAITALL, iovecs) and the
 * readiness bits. Fixture: tests/stack/tcp_util.h; teardown checks for
 * leaks.
 */
#include "tests/stack/tcp_util.h"

static void pattern(char *d, uint32_t n, uint32_t salt)
{
	uint32_t i;
	for (i = 0; i < n; i++)
		d[i] = (char)(i * 7 + salt);
}

static void t_trim_right_to_window(void **state)
{
	struct fx *f = *state;
	static char d[2000];
	struct seg s;

	/* the buffer is set before the handshake: 10000 from the start */
	fx_tcp_base(f);
	tu_listen(f, 4);
	assert_int_equal(tu_setint(f, f->lsd, SOL_SOCKET, SO_RCVBUF, 5000), 0);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, 10000);
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, d, 1000);
	fx_advance(f, NS_TCP_DELACK_NS);             /* ACK, window 9000 */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, 10000 - 1000);
	/* 9000 more fit; a segment crossing the edge is cut there */
	fx_tcp(f, F_ACK, 1001, 1, 65535, d, 1460);
	fx_tcp(f, F_ACK, 2461, 1, 65535, d, 1460);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 3921, 1, 65535, d, 1460);
	fx_tcp(f, F_ACK, 5381, 1, 65535, d, 1460);
	fx_tcp(f, F_ACK, 6841, 1, 65535, d, 1460);
	fx_tcp(f, F_ACK, 8301, 1, 65535, d, 1460);
	fx_tcp(f, F_ACK, 9761, 1, 65535, d, 1460);  /* 1220 over the edge */
	while (fx_out(f, &s))
		;
	assert_int_equal(s.arel, 10001);
	assert_int_equal(fx_tcb(f)->rb_len, 10000);
	assert_int_equal(s.win, 0);
}

static void t_rcvbuf_shrink_keeps_advertised_edge(void **state)
{
	struct fx *f = *state;
	static char d[1460];
	struct seg s;
	uint32_t seq = 1;
	int i;

	fx_established_passive(f);                   /* 64 KiB advertised */
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_RCVBUF, 1024), 0);
	/* the peer may still fill what we offered (RFC 9293 3.8.6.2.2) */
	for (i = 0; i < 10; i++) {
		fx_tcp(f, F_ACK, seq, 1, 65535, d, 1460);
		seq += 1460;
	}
	assert_int_equal(fx_tcb(f)->rb_len, 14600);
	while (fx_out(f, &s))
		;
	/* and the edge does not move left */
	assert_int_equal(s.arel + (s.win << fx_tcb(f)->rcv_wscale) -
			 (fx_tcb(f)->rcv_adv - PEER_ISS), 0);
	assert_true(s.win > 0);
}

static void t_trim_left_with_fin(void **state)
{
	struct fx *f = *state;
	char buf[16];

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, "abcd", 4);
	fx_tcp(f, F_ACK | F_FIN, 3, 1, 65535, "cdef", 4);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(fx_tcb(f)->rcv_nxt, PEER_ISS + 8);
	fio_clear(&f->io);
}

static void t_zero_window_takes_ack_not_data(void **state)
{
	struct fx *f = *state;
	static char d[1460];
	struct seg s;
	uint32_t seq = 1;

	fx_established_passive(f);
	tu_send_pop(f, 10);
	/* fill the whole 64 KiB buffer (the last segment is cut) */
	while (fx_tcb(f)->rb_len < fx_tcb(f)->rb_lim) {
		fx_tcp(f, F_ACK, seq, 1, 65535, d, 1460);
		seq = fx_tcb(f)->rcv_nxt - PEER_ISS;
	}
	fio_clear(&f->io);
	assert_int_equal(fx_tcb(f)->rb_len, 65536);
	/* window 0: a segment at RCV.NXT has its ACK used, data dropped */
	fx_tcp(f, F_ACK, 65537, 11, 65535, "zz", 2);
	assert_int_equal(fx_tcb(f)->snd_una, OUR_ISS + 11);
	assert_int_equal(fx_tcb(f)->rb_len, 65536);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 65537);
	assert_int_equal(s.win, 0);
}

static void t_ooo_three_ranges_reassembled(void **state)
{
	struct fx *f = *state;
	static char d[5000], buf[5000];

	fx_established_passive(f);
	pattern(d, sizeof(d), 5);
	fx_tcp(f, F_ACK, 1 + 4000, 1, 65535, d + 4000, 1000);
	fx_tcp(f, F_ACK, 1 + 2000, 1, 65535, d + 2000, 1000);
	fx_tcp(f, F_ACK, 1 + 1000, 1, 65535, d + 1000, 1000);
	assert_int_equal(fx_tcb(f)->ooo_n, 2);        /* 1000-3000, 4000-5000 */
	fx_tcp(f, F_ACK, 1 + 3000, 1, 65535, d + 3000, 1000);
	assert_int_equal(fx_tcb(f)->ooo_n, 1);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), -EAGAIN);
	fx_tcp(f, F_ACK, 1, 1, 65535, d, 1000);
	assert_int_equal(fx_tcb(f)->ooo_n, 0);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 5000);
	assert_memory_equal(buf, d, 5000);
	fio_clear(&f->io);
}

static void t_ooo_overlaps_merge(void **state)
{
	struct fx *f = *state;
	static char d[3000], buf[3000];

	fx_established_passive(f);
	pattern(d, sizeof(d), 9);
	fx_tcp(f, F_ACK, 1 + 1000, 1, 65535, d + 1000, 800);
	fx_tcp(f, F_ACK, 1 + 1500, 1, 65535, d + 1500, 1000); /* overlaps */
	fx_tcp(f, F_ACK, 1 + 900, 1, 65535, d + 900, 200);    /* overlaps */
	assert_int_equal(fx_tcb(f)->ooo_n, 1);
	assert_int_equal(fx_tcb(f)->ooo[0].start, PEER_ISS + 1 + 900);
	assert_int_equal(fx_tcb(f)->ooo[0].end, PEER_ISS + 1 + 2500);
	fx_tcp(f, F_ACK, 1, 1, 65535, d, 900);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 2500);
	assert_memory_equal(buf, d, 2500);
	fio_clear(&f->io);
}

static void t_ooo_beyond_window_dropped(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 70000, 1, 65535, "far", 3);
	assert_true(fx_out(f, &s));                   /* ACK, nothing kept */
	assert_int_equal(s.arel, 1);
	assert_int_equal(fx_tcb(f)->ooo_n, 0);
	assert_true(CNT(f, drop_tcp_seq) >= 1);
}

static void t_ooo_dup_ack_each(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i;

	fx_established_passive(f);
	for (i = 0; i < 3; i++) {
		fx_tcp(f, F_ACK, 101 + 10 * (uint32_t)i, 1, 65535, "x", 1);
		assert_true(fx_out(f, &s));           /* RFC 5681 4.2 */
		assert_int_equal(s.arel, 1);
	}
}

/* out-of-order segments arriving in one receive burst are each answered
 * by their own duplicate ACK (a non-SACK sender counts them), while
 * in-order data in a burst is still acknowledged once */
static void t_ooo_dup_ack_each_in_one_burst(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i, n = 0;

	fx_established_passive(f);
	fx_batch_begin(f);
	for (i = 0; i < 5; i++)
		fx_tcp(f, F_ACK, 101 + 10 * (uint32_t)i, 1, 65535, "x", 1);
	fx_batch_end(f);
	while (fx_out(f, &s)) {
		assert_int_equal(s.arel, 1);
		assert_int_equal(s.len, 0);
		n++;
	}
	assert_int_equal(n, 5);
	fx_batch_begin(f);
	for (i = 0; i < 4; i++)
		fx_tcp(f, F_ACK, 1 + 10 * (uint32_t)i, 1, 65535, "0123456789", 10);
	fx_batch_end(f);
	n = 0;
	while (fx_out(f, &s))
		n++;
	assert_int_equal(n, 1);                       /* one cumulative ACK */
	assert_int_equal(s.arel, 41);
}

static void t_urg_data_inline(void **state)
{
	struct fx *f = *state;
	uint8_t fr[200];
	struct ns_tcp_hdr *th;
	uint32_t o;
	char buf[8];

	fx_established_passive(f);
	/* URG with an urgent pointer far past the data (hostile) */
	o = mk_eth(fr, us_mac, peer_mac, 0x0800);
	o += mk_ip(fr + o, ip_be(PEER_IP), ip_be(US_IP), 6, 20 + 3, 1, 0, 64, 0);
	th = (struct ns_tcp_hdr *)(fr + o);
	memset(th, 0, 20);
	th->sport_be = htons(f->pport);
	th->dport_be = htons(f->lport);
	th->seq_be = htonl(PEER_ISS + 1);
	th->ack_be = htonl(OUR_ISS + 1);
	th->off = 5 << 4;
	th->flags = F_ACK | NS_TH_URG;
	th->win_be = htons(65535);
	th->urp_be = htons(60000);
	memcpy(fr + o + 20, "urg", 3);
	th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ip_be(PEER_IP),
			ip_be(US_IP), 6, 23), th, 23));
	fx_inject(f, fr, o + 23);
	assert_true(CNT(f, tcp_urg_ignored) >= 1);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "urg", 3);
	fio_clear(&f->io);
}

static void t_send_window_wl_rule(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 30000, "a", 1);
	assert_int_equal(fx_tcb(f)->snd_wnd, 30000);
	/* an older segment (lower SEG.SEQ) must not update the window */
	fx_tcp(f, F_ACK, 1, 1, 100, NULL, 0);
	assert_int_equal(fx_tcb(f)->snd_wnd, 30000);
	fx_tcp(f, F_ACK, 2, 1, 20000, NULL, 0);
	assert_int_equal(fx_tcb(f)->snd_wnd, 20000);
	fio_clear(&f->io);
}

static void t_peer_shrinks_window(void **state)
{
	struct fx *f = *state;
	static char d[20000];
	struct seg s;
	uint32_t hi = 0;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 4000, NULL, 0);
	assert_int_equal(ns_send(f->st, f->sd, d, 20000, 0), 20000);
	while (fx_out(f, &s))
		hi = s.srel + s.len;
	assert_true(hi <= 4001);
	/* ACK 1000 with window 1000: right edge 2001 moved left */
	fx_tcp(f, F_ACK, 1, 1001, 1000, NULL, 0);
	while (fx_out(f, &s))
		assert_true(s.srel + s.len <= hi);     /* nothing new */
	fx_tcp(f, F_ACK, 1, hi, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, hi);
	fio_clear(&f->io);
}

static void t_old_ack_in_window_ignored(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 3 * m);
	fx_tcp(f, F_ACK, 1, 1 + 2 * m, 65535, NULL, 0);
	/* below SND.UNA but inside MAX.SND.WND: ignored, no challenge */
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->snd_una, OUR_ISS + 1 + 2 * m);
	assert_int_equal(CNT(f, tcp_challenge_acks), 0);
	assert_int_equal(fx_nout(f), 0);
}

static void t_send_ring_wrap(void **state)
{
	struct fx *f = *state;
	static char a[60000], b[10000];
	struct seg s;
	uint32_t got = 0, acked = 1;

	f->use_ws = 1;
	f->peer_ws = 4;
	fx_established_passive(f);
	pattern(a, sizeof(a), 1);
	pattern(b, sizeof(b), 77);
	assert_int_equal(ns_send(f->st, f->sd, a, sizeof(a), 0), 60000);
	while (acked < 60001) {                  /* ACK all of it */
		while (fx_out(f, &s))
			acked = s.srel + s.len;
		fx_tcp(f, F_ACK, 1, acked, 65535, NULL, 0);
	}
	fio_clear(&f->io);
	assert_int_equal(fx_tcb(f)->sb_len, 0);
	/* the ring is 64 KiB: these 10000 bytes wrap after 5536 */
	assert_int_equal(ns_send(f->st, f->sd, b, sizeof(b), 0), 10000);
	while (got < 10000 && fx_out(f, &s)) {
		assert_int_equal(s.srel, 60001 + got);
		assert_memory_equal(s.data, b + got, s.len);
		got += s.len;
		if (!fx_nout(f))
			fx_tcp(f, F_ACK, 1, 60001 + got, 65535, NULL, 0);
	}
	assert_int_equal(got, 10000);
}

static void t_send_zero_and_bad_args(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "", 0, 0), 0);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(ns_sendmsg(f->st, f->sd, NULL, 1, 0, NULL), -EINVAL);
	assert_int_equal(ns_send(f->st, f->lsd, "x", 1, 0), -ENOTCONN);
}

static void t_recv_scatter_iov(void **state)
{
	struct fx *f = *state;
	char a[3], b[4], c[10];
	struct iovec v[3] = { { a, 3 }, { b, 4 }, { c, 10 } };

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "0123456789", 10);
	assert_int_equal(ns_recvmsg(f->st, f->sd, v, 3, 0, NULL), 10);
	assert_memory_equal(a, "012", 3);
	assert_memory_equal(b, "3456", 4);
	assert_memory_equal(c, "789", 3);
	fio_clear(&f->io);
}

static void t_recv_peek_keeps_window(void **state)
{
	struct fx *f = *state;
	char buf[8];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "peek", 4);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 2, MSG_PEEK), 2);
	assert_int_equal(fx_tcb(f)->rb_len, 4);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 8, 0), 4);
	assert_memory_equal(buf, "peek", 4);
	fio_clear(&f->io);
}

static void t_recv_waitall_short_at_eof(void **state)
{
	struct fx *f = *state;
	char buf[16];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "abc", 3);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 10, MSG_WAITALL), -EAGAIN);
	fx_tcp(f, F_ACK | F_FIN, 4, 1, 65535, NULL, 0);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 10, MSG_WAITALL), 3);
	fio_clear(&f->io);
}

static void t_events_follow_buffers(void **state)
{
	struct fx *f = *state;
	static char d[70000];
	char buf[8];

	fx_established_passive(f);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_IN);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "x", 1);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_IN);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 8, 0), 1);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_IN);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	fx_tcp(f, F_ACK, 2, 1, 0, NULL, 0);           /* peer window 0 */
	assert_int_equal(ns_send(f->st, f->sd, d, sizeof(d), 0), 65536);
	assert_false(ns_sock_events(f->st, f->sd) & NS_EV_OUT);
	assert_int_equal(ns_send(f->st, f->sd, d, 1, 0), -EAGAIN);
	fio_clear(&f->io);
}

static void t_psh_on_last_segment_only(void **state)
{
	struct fx *f = *state;
	static char d[3000];
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, d, 3000, 0), 3000);
	assert_true(fx_out(f, &s));
	assert_false(s.flags & F_PSH);
	assert_true(fx_out(f, &s));
	assert_false(s.flags & F_PSH);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_PSH);
}

static void t_data_in_syn_received_after_accept_queue(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[8];

	fx_tcp_base(f);
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	/* data before accept() is kept for the accepting program */
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "early", 5);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_IN);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 5);
	fio_clear(&f->io);
}

static void t_bulk_receive_integrity(void **state)
{
	struct fx *f = *state;
	static char d[200000], buf[200000];
	uint32_t seq = 1, got = 0;
	ssize_t r;

	fx_established_passive(f);
	pattern(d, sizeof(d), 42);
	while (seq - 1 < sizeof(d)) {
		uint32_t k = (uint32_t)sizeof(d) - (seq - 1);
		if (k > 1460)
			k = 1460;
		if (fx_tcb(f)->rb_len + k > fx_tcb(f)->rb_lim) {
			r = ns_recv(f->st, f->sd, buf + got, sizeof(buf) - got, 0);
			assert_true(r > 0);
			got += (uint32_t)r;
		}
		fx_tcp(f, F_ACK, seq, 1, 65535, d + seq - 1, k);
		seq += k;
		fio_clear(&f->io);
	}
	while ((r = ns_recv(f->st, f->sd, buf + got, sizeof(buf) - got, 0)) > 0)
		got += (uint32_t)r;
	assert_int_equal(got, sizeof(d));
	assert_memory_equal(buf, d, sizeof(d));
	assert_int_equal(fx_tcb(f)->bytes_received, sizeof(d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_trim_right_to_window),
		TU(t_rcvbuf_shrink_keeps_advertised_edge),
		TU(t_trim_left_with_fin),
		TU(t_zero_window_takes_ack_not_data),
		TU(t_ooo_three_ranges_reassembled),
		TU(t_ooo_overlaps_merge),
		TU(t_ooo_beyond_window_dropped),
		TU(t_ooo_dup_ack_each),
		TU(t_ooo_dup_ack_each_in_one_burst),
		TU(t_urg_data_inline),
		TU(t_send_window_wl_rule),
		TU(t_peer_shrinks_window),
		TU(t_old_ack_in_window_ignored),
		TU(t_send_ring_wrap),
		TU(t_send_zero_and_bad_args),
		TU(t_recv_scatter_iov),
		TU(t_recv_peek_keeps_window),
		TU(t_recv_waitall_short_at_eof),
		TU(t_events_follow_buffers),
		TU(t_psh_on_last_segment_only),
		TU(t_data_in_syn_received_after_accept_queue),
		TU(t_bulk_receive_integrity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
