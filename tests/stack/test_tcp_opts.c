/*
 * test_tcp_opts.c: TCP options on the wire and their effect: MSS
 * (RFC 9293 3.7.1, RFC 6691), window scale (RFC 7323 2), timestamps and
 * PAWS (RFC 7323 3-5), SACK (RFC 2018) and D-SACK (RFC 2883) in both
 * directions, malformed and unknown options. Fixture:
 * tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void t_mss_clamped_to_ours(void **state)
{
	struct fx *f = *state;

	f->peer_mss = 9000;
	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->mss, 1460);     /* our MTU decides */
	assert_int_equal(fx_tcb(f)->peer_mss, 9000);
}

static void t_mss_small_peer_segments(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->peer_mss = 700;
	fx_established_passive(f);
	assert_int_equal(tu_send_pop(f, 0) , 0);
	{
		static char d[2000];
		assert_int_equal(ns_send(f->st, f->sd, d, 2000, 0), 2000);
	}
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 700);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 700);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 600);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_MAXSEG), 700);
}

static void t_mss_option_ignored_outside_syn(void **state)
{
	struct fx *f = *state;
	uint8_t o[4] = {2, 4, 0x00, 0x40};           /* MSS 64 */

	fx_established_passive(f);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 65535, NULL, 0, o, 4);
	assert_int_equal(fx_tcb(f)->mss, 1460);
}

static void t_mss_with_timestamps(void **state)
{
	struct fx *f = *state;
	struct seg s;
	static char d[3000];

	f->use_ts = 1;
	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->mss, 1448);     /* RFC 6691 */
	assert_int_equal(ns_send(f->st, f->sd, d, 3000, 0), 3000);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1448);
	assert_true(s.has_ts);
}

static void t_ws_clamped_to_14(void **state)
{
	struct fx *f = *state;

	f->use_ws = 1;
	f->peer_ws = 20;                             /* RFC 7323 2.3 */
	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->snd_wscale, 14);
}

static void t_ws_peer_window_scaled(void **state)
{
	struct fx *f = *state;

	f->use_ws = 1;
	f->peer_ws = 4;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 1000, NULL, 0);
	assert_int_equal(fx_tcb(f)->snd_wnd, 16000);
}

static void t_ws_our_window_scaled(void **state)
{
	struct fx *f = *state;
	struct seg s;
	static char d[1000];

	f->use_ws = 1;
	f->peer_ws = 2;
	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->rcv_wscale, 1);
	fx_tcp(f, F_ACK, 1, 1, 65535, d, 1000);
	fx_tcp(f, F_ACK, 1001, 1, 65535, d, 1000);
	assert_true(fx_out(f, &s));
	/* (64 KiB - 2000 unread) >> 1 */
	assert_int_equal(s.win, (65536 - 2000) >> 1);
}

static void t_ws_synack_window_unscaled(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	f->use_ws = 1;
	f->peer_ws = 3;
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_true(s.has_ws);
	assert_int_equal(s.win, 65535);              /* RFC 7323 2.2 */
}

static void t_ts_echo_and_clock(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t v0;

	f->use_ts = 1;
	fx_established_passive(f);
	f->peer_tsval = 5000;
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	v0 = s.tsval;
	assert_int_equal(s.tsecr, 100);              /* the handshake's ACK */
	fx_tcp(f, F_ACK | F_PSH, 1, 2, 65535, "b", 1);
	fx_advance(f, 7 * NS_MS);
	assert_int_equal(ns_send(f->st, f->sd, "c", 1, 0), 1);
	while (fx_out(f, &s))
		;
	assert_int_equal(s.tsecr, 5000);             /* RFC 7323 4.3 */
	assert_int_equal(s.tsval - v0, 7);           /* 1 ms clock */
}

static void t_ts_not_negotiated_not_sent(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_false(s.has_ts);
	assert_false(s.nsack);
}

static void t_paws_rst_accepted_with_old_ts(void **state)
{
	struct fx *f = *state;

	f->use_ts = 1;
	fx_established_passive(f);
	f->peer_tsval = 200;
	fx_tcp(f, F_ACK, 1, 1, 65535, "x", 1);
	f->peer_tsval = 50;                          /* older */
	fx_tcp(f, F_RST, 2, 0, 0, NULL, 0);          /* RFC 7323 5.2 */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
}

static void t_paws_old_data_dropped_acked(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ts = 1;
	fx_established_passive(f);
	f->peer_tsval = 300;
	fx_tcp(f, F_ACK, 1, 1, 65535, "x", 1);
	f->peer_tsval = 299;
	fx_tcp(f, F_ACK, 2, 1, 65535, "y", 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);                 /* "y" not taken */
	assert_int_equal(CNT(f, drop_tcp_paws), 1);
	assert_int_equal(fx_tcb(f)->rb_len, 1);
}

static void t_paws_wrapping_tsval_newer(void **state)
{
	struct fx *f = *state;

	f->use_ts = 1;
	fx_established_passive(f);
	f->peer_tsval = 0x60000000u;                 /* newer than 100 */
	fx_tcp(f, F_ACK, 1, 1, 65535, "x", 1);
	fx_advance(f, NS_TCP_DELACK_NS);             /* ACKed: Last.ACK.sent */
	f->peer_tsval = 0xc0000000u;
	fx_tcp(f, F_ACK, 2, 1, 65535, "y", 1);
	fx_advance(f, NS_TCP_DELACK_NS);
	f->peer_tsval = 5;                           /* newer across 2^32 */
	fx_tcp(f, F_ACK, 3, 1, 65535, "z", 1);
	assert_int_equal(CNT(f, drop_tcp_paws), 0);
	assert_int_equal(fx_tcb(f)->rb_len, 3);
	assert_int_equal(fx_tcb(f)->ts_recent, 5);
	fio_clear(&f->io);
}

static void t_paws_idle_24_days(void **state)
{
	struct fx *f = *state;

	f->use_ts = 1;
	fx_established_passive(f);
	f->peer_tsval = 1000;
	fx_tcp(f, F_ACK, 1, 1, 65535, "a", 1);
	/* RFC 7323 5.5: ts_recent is invalid after 24 days idle */
	f->now += 25ull * 86400 * 1000 * NS_MS;
	f->peer_tsval = 10;
	fx_tcp(f, F_ACK, 2, 1, 65535, "b", 1);
	assert_int_equal(CNT(f, drop_tcp_paws), 0);
	assert_int_equal(fx_tcb(f)->rb_len, 2);
	fio_clear(&f->io);
}

static void t_ts_recent_only_from_in_order(void **state)
{
	struct fx *f = *state;

	f->use_ts = f->use_sack = 1;
	fx_established_passive(f);
	f->peer_tsval = 900;
	/* out of order: RFC 7323 4.3 updates only if SEG.SEQ <= Last.ACK.sent */
	fx_tcp(f, F_ACK, 101, 1, 65535, "q", 1);
	assert_true(fx_tcb(f)->ts_recent != 900);
	fio_clear(&f->io);
}

static void t_sack_permitted_only_if_offered(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);                   /* no SACK_PERM */
	fx_tcp(f, F_ACK, 501, 1, 65535, "x", 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);
	assert_int_equal(s.nsack, 0);
}

static void t_sack_three_blocks_with_ts(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_ts = f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 101, 1, 65535, "a", 1);
	fx_tcp(f, F_ACK, 201, 1, 65535, "b", 1);
	fx_tcp(f, F_ACK, 301, 1, 65535, "c", 1);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 401, 1, 65535, "d", 1);
	assert_true(fx_out(f, &s));
	assert_true(s.has_ts);
	assert_int_equal(s.nsack, 3);                /* 40 - 12 bytes room */
	assert_int_equal(s.sack[0][0], 401);
	assert_int_equal(s.sack[0][1], 402);
}

static void t_sack_four_blocks_without_ts(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 101, 1, 65535, "a", 1);
	fx_tcp(f, F_ACK, 201, 1, 65535, "b", 1);
	fx_tcp(f, F_ACK, 301, 1, 65535, "c", 1);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 401, 1, 65535, "d", 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.nsack, 4);
}

static void t_sack_merge_adjacent(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 101, 1, 65535, "aaaa", 4);
	fx_tcp(f, F_ACK, 105, 1, 65535, "bbbb", 4);
	while (fx_out(f, &s))
		;
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], 101);
	assert_int_equal(s.sack[0][1], 109);
	assert_int_equal(fx_tcb(f)->ooo_n, 1);
}

static void t_dsack_partial_duplicate(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[32];

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, "0123456789", 10);
	fio_clear(&f->io);
	/* 5 old bytes + 5 new: RFC 2883 4.1.1 reports the old part */
	fx_tcp(f, F_ACK, 6, 1, 65535, "56789abcde", 10);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 16);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], 6);
	assert_int_equal(s.sack[0][1], 11);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 15);
	assert_memory_equal(buf + 10, "abcde", 5);
}

static void t_dsack_above_cumulative_ack(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 101, 1, 65535, "0123456789", 10);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 101, 1, 65535, "0123456789", 10); /* again */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);
	/* RFC 2883 4.2.1: the duplicate first, then the block holding it */
	assert_true(s.nsack >= 1);
	assert_int_equal(s.sack[0][0], 101);
	assert_int_equal(s.sack[0][1], 111);
	if (s.nsack >= 2) {
		assert_int_equal(s.sack[1][0], 101);
		assert_int_equal(s.sack[1][1], 111);
	}
}

static void t_dsack_reported_once(void **state)
{
	struct fx *f = *state;
	struct seg s;

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 65535, "abc", 3);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1, 65535, "abc", 3);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.nsack, 1);
	/* the next ACK carries no D-SACK any more */
	assert_int_equal(ns_send(f->st, f->sd, "r", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.nsack, 0);
}

static void t_sack_in_rst_never(void **state)
{
	struct fx *f = *state;
	struct seg s;
	struct linger l = { 1, 0 };

	f->use_sack = 1;
	fx_established_passive(f);
	fx_tcp(f, F_ACK, 101, 1, 65535, "x", 1);
	fio_clear(&f->io);
	ns_setsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	assert_int_equal(ns_close(f->st, f->sd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(s.nsack, 0);
}

static void t_sender_sack_scoreboard(void **state)
{
	struct fx *f = *state;
	uint32_t m, b[2][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 5 * m);
	b[0][0] = 1 + 3 * m; b[0][1] = 1 + 4 * m;
	b[1][0] = 1 + m;     b[1][1] = 1 + 2 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 2);
	assert_int_equal(ns_sack_bytes(fx_tcb(f)), 2 * m);
	/* a cumulative ACK past a block trims it */
	b[0][0] = 1 + 3 * m; b[0][1] = 1 + 4 * m;
	tu_sack(f, 1, 1 + 2 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(ns_sack_bytes(fx_tcb(f)), m);
	fio_clear(&f->io);
}

static void t_sender_dsack_not_in_scoreboard(void **state)
{
	struct fx *f = *state;
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 2 * m);
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	/* D-SACK below the cumulative ACK (RFC 2883): a report of a
	 * duplicate, not a hole */
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(ns_sack_bytes(fx_tcb(f)), 0);
	assert_int_equal(fx_tcb(f)->nsacked, 0);
	assert_int_equal(fx_nout(f), 0);            /* no retransmission */
	fio_clear(&f->io);
}

static void t_sack_blocks_beyond_snd_max_ignored(void **state)
{
	struct fx *f = *state;
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 2 * m);
	b[0][0] = 1 + m; b[0][1] = 1 + 50 * m;      /* past what was sent */
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(ns_sack_bytes(fx_tcb(f)), 0);
	fio_clear(&f->io);
}

static void t_unknown_options_skipped(void **state)
{
	struct fx *f = *state;
	uint8_t o[8] = {30, 4, 0xaa, 0xbb, 253, 4, 1, 2}; /* MPTCP, exp */

	fx_established_passive(f);
	fx_tcp_raw(f, F_ACK | F_PSH, PEER_ISS + 1, OUR_ISS + 1, 65535, "ok", 2,
		   o, 8);
	assert_int_equal(fx_tcb(f)->rb_len, 2);
	assert_int_equal(CNT(f, drop_tcp_opt), 0);
}

static void t_eol_ends_options(void **state)
{
	struct fx *f = *state;
	/* EOL then garbage that would be a bad option */
	uint8_t o[8] = {0, 8, 0, 0, 0, 0, 0, 0};

	fx_established_passive(f);
	fx_tcp_raw(f, F_ACK | F_PSH, PEER_ISS + 1, OUR_ISS + 1, 65535, "ok", 2,
		   o, 8);
	assert_int_equal(fx_tcb(f)->rb_len, 2);
	assert_int_equal(CNT(f, drop_tcp_opt), 0);
}

static void t_bad_option_lengths_dropped(void **state)
{
	struct fx *f = *state;
	uint8_t mss3[4] = {2, 3, 5, 1};              /* MSS with length 3 */
	uint8_t ts9[12] = {1, 1, 8, 9, 0, 0, 0, 1, 0, 0, 0, 0};

	fx_established_passive(f);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 65535, "a", 1, mss3, 4);
	fx_tcp_raw(f, F_ACK, PEER_ISS + 1, OUR_ISS + 1, 65535, "a", 1, ts9, 12);
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	assert_int_equal(CNT(f, drop_tcp_opt), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_mss_clamped_to_ours),
		TU(t_mss_small_peer_segments),
		TU(t_mss_option_ignored_outside_syn),
		TU(t_mss_with_timestamps),
		TU(t_ws_clamped_to_14),
		TU(t_ws_peer_window_scaled),
		TU(t_ws_our_window_scaled),
		TU(t_ws_synack_window_unscaled),
		TU(t_ts_echo_and_clock),
		TU(t_ts_not_negotiated_not_sent),
		TU(t_paws_rst_accepted_with_old_ts),
		TU(t_paws_old_data_dropped_acked),
		TU(t_paws_wrapping_tsval_newer),
		TU(t_paws_idle_24_days),
		TU(t_ts_recent_only_from_in_order),
		TU(t_sack_permitted_only_if_offered),
		TU(t_sack_three_blocks_with_ts),
		TU(t_sack_four_blocks_without_ts),
		TU(t_sack_merge_adjacent),
		TU(t_dsack_partial_duplicate),
		TU(t_dsack_above_cumulative_ack),
		TU(t_dsack_reported_once),
		TU(t_sack_in_rst_never),
		TU(t_sender_sack_scoreboard),
		TU(t_sender_dsack_not_in_scoreboard),
		TU(t_sack_blocks_beyond_snd_max_ignored),
		TU(t_unknown_options_skipped),
		TU(t_eol_ends_options),
		TU(t_bad_option_lengths_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
