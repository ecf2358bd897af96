/*
 * test_tcp_recovery.c: loss recovery and congestion control: duplicate
 * ACK rules and fast retransmit (RFC 5681 2-3), NewReno partial ACKs
 * and the recover point (RFC 6582), SACK-based recovery (RFC 6675),
 * RTO recovery (go-back-N, RFC 5681 3.1, RFC 6675 5.1), the initial
 * window (RFC 6928), slow start with ABC (RFC 3465), and CUBIC
 * (RFC 9438) against NewReno through TCP_CONGESTION. Fixture:
 * tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void reno(struct fx *f)
{
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, "reno", 5), 0);
}

static void dupacks(struct fx *f, int n)
{
	int i;
	for (i = 0; i < n; i++)
		fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
}

static void t_iw10(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	assert_int_equal(fx_tcb(f)->cwnd, 10 * m);   /* RFC 6928 */
	assert_int_equal(tu_send_pop(f, 20 * m), 10);
	assert_int_equal(fx_tcb(f)->snd_max - fx_tcb(f)->snd_una, 10 * m);
}

static void t_slow_start_abc_limit(void **state)
{
	struct fx *f = *state;
	uint32_t m, c0;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	c0 = fx_tcb(f)->cwnd;
	fx_tcp(f, F_ACK, 1, 1 + 5 * m, 65535, NULL, 0); /* a stretch ACK */
	assert_int_equal(fx_tcb(f)->cwnd, c0 + 2 * m); /* RFC 3465 L = 2 */
	fio_clear(&f->io);
}

static void t_peer_window_limits_flight(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t sent = 0;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 3000, NULL, 0);
	{
		static char d[10000];
		assert_int_equal(ns_send(f->st, f->sd, d, 10000, 0), 10000);
	}
	while (fx_out(f, &s))
		sent += s.len;
	assert_true(sent <= 3000);
	assert_true(sent >= 2920);
}

static void t_fr_reno_ssthresh_and_inflation(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 8 * m);
	dupacks(f, 3);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	/* RFC 5681 eq. 4 and 3.2 step 4 */
	assert_int_equal(fx_tcb(f)->ssthresh, 4 * m);
	assert_int_equal(fx_tcb(f)->cwnd, 7 * m);
	dupacks(f, 1);
	assert_int_equal(fx_tcb(f)->cwnd, 8 * m);     /* inflation */
	fio_clear(&f->io);
}

static void t_fr_cubic_beta(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, c0;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	c0 = fx_tcb(f)->cwnd;
	dupacks(f, 3);
	assert_true(fx_out(f, &s));
	/* RFC 9438 4.6: beta_cubic = 0.7 (Reno would halve) */
	assert_int_equal(fx_tcb(f)->ssthresh, (uint32_t)(c0 * 0.7));
	assert_int_equal(fx_tcb(f)->cu_wmax, c0);
	fio_clear(&f->io);
}

static void t_dupack_window_change_not_counted(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 6 * m);
	fx_tcp(f, F_ACK, 1, 1, 60000, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1, 61000, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1, 62000, NULL, 0);
	/* RFC 5681 2 (e): the advertised window must not change */
	assert_int_equal(CNT(f, tcp_fast_retransmits), 0);
	assert_int_equal(fx_nout(f), 0);
}

static void t_dupack_with_data_not_counted(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 6 * m);
	fx_tcp(f, F_ACK, 1, 1, 65535, "a", 1);
	fx_tcp(f, F_ACK, 2, 1, 65535, "b", 1);
	fx_tcp(f, F_ACK, 3, 1, 65535, "c", 1);
	fx_tcp(f, F_ACK, 4, 1, 65535, "d", 1);
	assert_int_equal(CNT(f, tcp_fast_retransmits), 0);
	fio_clear(&f->io);
}

static void t_dupacks_reset_by_new_ack(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 8 * m);
	dupacks(f, 2);
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	assert_int_equal(CNT(f, tcp_fast_retransmits), 0);
	assert_int_equal(fx_tcb(f)->dupacks, 2);
	fio_clear(&f->io);
}

static void t_no_dupack_when_nothing_outstanding(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	dupacks(f, 5);
	assert_int_equal(fx_tcb(f)->dupacks, 0);
	assert_int_equal(fx_nout(f), 0);
}

static void t_newreno_partial_ack_deflates(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, c;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 8 * m);
	dupacks(f, 3);
	assert_true(fx_out(f, &s));
	c = fx_tcb(f)->cwnd;
	/* partial ACK of 2 segments: deflate by 2 MSS, add back 1 */
	fx_tcp(f, F_ACK, 1, 1 + 2 * m, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1 + 2 * m);         /* next hole at once */
	assert_int_equal(fx_tcb(f)->cwnd, c - 2 * m + m);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	fio_clear(&f->io);
}

static void t_newreno_full_ack_exit(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 8 * m);
	dupacks(f, 3);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1 + 8 * m, 65535, NULL, 0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	/* RFC 6582 3.2 step 3: min(ssthresh, FlightSize + SMSS) */
	assert_int_equal(fx_tcb(f)->cwnd, m);
	assert_int_equal(fx_tcb(f)->dupacks, 0);
}

static void t_newreno_inflation_sends_new_data(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;
	int i, n = 0;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	assert_int_equal(tu_send_pop(f, 14 * m), 10);  /* 4 MSS held */
	dupacks(f, 3);
	assert_true(fx_out(f, &s));                    /* rexmit of 1 */
	assert_int_equal(fx_nout(f), 0);               /* cwnd 8 < flight 10 */
	for (i = 0; i < 4; i++)
		dupacks(f, 1);
	while (fx_out(f, &s)) {
		assert_true(s.srel >= 1 + 10 * m);     /* new data */
		n++;
	}
	assert_true(n >= 1);
}

static void t_no_fr_below_recover_after_rto(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 6 * m);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));                    /* RTO rexmit */
	/* duplicate ACKs for data sent before the RTO: RFC 6582 4.1 */
	dupacks(f, 4);
	assert_int_equal(CNT(f, tcp_fast_retransmits), 0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	fio_clear(&f->io);
}

static void t_rto_go_back_n(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;
	int n = 0;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 6 * m);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(fx_nout(f), 0);
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	/* slow start again: cwnd 2 MSS, the next two retransmitted */
	while (fx_out(f, &s)) {
		assert_int_equal(s.srel, 1 + m + (uint32_t)n * m);
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(fx_tcb(f)->cwnd, 2 * m);
}

static void t_rto_during_recovery(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 8 * m);
	dupacks(f, 3);
	assert_true(fx_out(f, &s));
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	fx_advance(f, fx_tcb(f)->t_rexmt - f->now);
	assert_true(fx_out(f, &s));
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	assert_int_equal(fx_tcb(f)->cwnd, m);
	assert_int_equal(fx_tcb(f)->recover, fx_tcb(f)->snd_max);
	fio_clear(&f->io);
}

static void t_sack_recovery_on_sacked_bytes(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 8 * m);
	/* one duplicate ACK that SACKs 3 segments: IsLost(1) holds
	 * (RFC 6675 4, DupThresh * SMSS above) */
	b[0][0] = 1 + m; b[0][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, m);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	fio_clear(&f->io);
}

static void t_sack_recovery_no_inflation(void **state)
{
	struct fx *f = *state;
	uint32_t m, b[1][2];
	int i;

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	for (i = 0; i < 3; i++) {
		b[0][0] = 1 + m; b[0][1] = 1 + (2 + (uint32_t)i) * m;
		tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	}
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	assert_int_equal(fx_tcb(f)->cwnd, fx_tcb(f)->ssthresh);
	b[0][0] = 1 + m; b[0][1] = 1 + 5 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(fx_tcb(f)->cwnd, fx_tcb(f)->ssthresh);
	fio_clear(&f->io);
}

static void t_sack_pipe_allows_new_data(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[1][2];
	int newdata = 0;

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	assert_int_equal(tu_send_pop(f, 16 * m), 10);
	/* segments 2..10 SACKed: only the first is missing; pipe is tiny */
	b[0][0] = 1 + m; b[0][1] = 1 + 10 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	while (fx_out(f, &s))
		if (s.srel >= 1 + 10 * m)
			newdata++;
	/* RFC 6675 5 step (C): pipe < cwnd sends new data too */
	assert_true(newdata >= 1);
	assert_true(ns_sack_pipe(fx_tcb(f)) <= fx_tcb(f)->cwnd);
}

static void t_sack_partial_ack_next_hole(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[2][2];

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	/* holes at segments 1 and 5 */
	b[0][0] = 1 + 5 * m; b[0][1] = 1 + 10 * m;
	b[1][0] = 1 + m; b[1][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 2);
	/* both holes are lost (3 MSS SACKed above each): both resent */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1 + 4 * m);
	assert_int_equal(s.len, m);
	fio_clear(&f->io);
	/* the first hole repaired: cumulative ACK to 4 MSS; the second
	 * is not sent a third time */
	b[0][0] = 1 + 5 * m; b[0][1] = 1 + 10 * m;
	tu_sack(f, 1, 1 + 4 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	while (fx_out(f, &s))
		assert_true(s.srel >= 1 + 10 * m);     /* new data only */
	fx_tcp(f, F_ACK, 1, 1 + 10 * m, 65535, NULL, 0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
}

static void t_rto_clears_sack_scoreboard(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 6 * m);
	b[0][0] = 1 + 2 * m; b[0][1] = 1 + 3 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(fx_tcb(f)->nsacked, 1);
	fx_advance(f, fx_tcb(f)->t_rexmt - f->now);
	assert_true(fx_out(f, &s));
	/* RFC 6675 5.1: the receiver may have reneged */
	assert_int_equal(fx_tcb(f)->nsacked, 0);
	fio_clear(&f->io);
}

static void t_congestion_get_set(void **state)
{
	struct fx *f = *state;
	char name[16];
	socklen_t l = sizeof(name);

	fx_established_passive(f);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, name, &l), 0);
	assert_string_equal(name, "cubic");          /* the default */
	reno(f);
	l = sizeof(name);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, name, &l), 0);
	assert_string_equal(name, "reno");
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, "bbr", 3), -ENOENT);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, "cubic", 5), 0);
	assert_int_equal(fx_tcb(f)->cc_algo, NS_CC_CUBIC);
}

static void t_congestion_inherited_from_listener(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	assert_int_equal(ns_setsockopt(f->st, f->lsd, IPPROTO_TCP,
				       TCP_CONGESTION, "reno", 4), 0);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_int_equal(fx_tcb(f)->cc_algo, NS_CC_RENO);
}

static void t_reno_ca_linear(void **state)
{
	struct fx *f = *state;
	uint32_t m, c0, acked = 0;

	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	fx_tcb(f)->ssthresh = 2 * m;                  /* force CA */
	c0 = fx_tcb(f)->cwnd;
	while (acked < c0) {
		tu_send_pop(f, m);
		acked += m;
		fx_tcp(f, F_ACK, 1, 1 + acked, 65535, NULL, 0);
	}
	/* one MSS per cwnd of data acked (RFC 5681 eq. 3) */
	assert_int_equal(fx_tcb(f)->cwnd, c0 + m);
}

static void t_retransmit_counters_and_info(void **state)
{
	struct fx *f = *state;
	struct ns_tcp_info ti;
	socklen_t l = sizeof(ti);
	struct seg s;

	fx_established_passive(f);
	tu_send_pop(f, 100);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_int_equal(CNT(f, tcp_retransmits), 1);
	assert_int_equal(CNT(f, tcp_rto_timeouts), 1);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO,
				       &ti, &l), 0);
	assert_int_equal(ti.tcpi_total_retrans, 1);
	assert_int_equal(ti.tcpi_retransmits, 1);
	assert_int_equal(ti.tcpi_ca_state, 4);        /* TCP_CA_Loss */
	fx_tcp(f, F_ACK, 1, 101, 65535, NULL, 0);
	l = sizeof(ti);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO,
				       &ti, &l), 0);
	assert_int_equal(ti.tcpi_ca_state, 0);
	assert_int_equal(ti.tcpi_bytes_acked, 100);
}

static void t_cubic_concave_toward_wmax(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, wmax, acked;
	int i;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	dupacks(f, 3);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1 + 10 * m, 65535, NULL, 0);
	fio_clear(&f->io);
	wmax = fx_tcb(f)->cu_wmax;
	acked = 10 * m;
	/* ACK a segment every 10 ms for 5 s: cwnd climbs back to W_max
	 * and does not run far past it (RFC 9438 4.2 concave region) */
	for (i = 0; i < 500; i++) {
		fx_arp_learn(f);
		tu_send_pop(f, m);
		f->now += 10 * NS_MS;
		acked += m;
		fx_tcp(f, F_ACK, 1, 1 + acked, 65535, NULL, 0);
		fio_clear(&f->io);
	}
	assert_true(fx_tcb(f)->cwnd >= wmax - m);
}

/* ---- D-SACK on the sender side (RFC 2883 5, RFC 3708) ----------------- */

static void t_dsack_counted_in_info(void **state)
{
	struct fx *f = *state;
	struct ns_tcp_info ti;
	socklen_t l = sizeof(ti);
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 2 * m);
	b[0][0] = 1; b[0][1] = 1 + m;                 /* below the ACK */
	tu_sack(f, 1, 1 + 2 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_dsack_rcvd), 1);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO,
				       &ti, &l), 0);
	assert_int_equal(ti.tcpi_dsack_dups, 1);
	assert_int_equal(CNT(f, tcp_undo), 0);        /* nothing to undo */
}

static void t_dsack_inside_second_block(void **state)
{
	struct fx *f = *state;
	uint32_t m, b[2][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 5 * m);
	/* RFC 2883 4.2: the first block lies inside the second */
	b[0][0] = 1 + 3 * m; b[0][1] = 1 + 4 * m;
	b[1][0] = 1 + 2 * m; b[1][1] = 1 + 5 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 2);
	assert_int_equal(CNT(f, tcp_dsack_rcvd), 1);
	assert_int_equal(ns_sack_bytes(fx_tcb(f)), 3 * m);
	fio_clear(&f->io);
}

static void t_plain_sack_not_dsack(void **state)
{
	struct fx *f = *state;
	uint32_t m, b[2][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 5 * m);
	b[0][0] = 1 + 3 * m; b[0][1] = 1 + 4 * m;
	b[1][0] = 1 + m; b[1][1] = 1 + 2 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 2);
	assert_int_equal(CNT(f, tcp_dsack_rcvd), 0);
	fio_clear(&f->io);
}

static void t_dsack_undo_spurious_fast_retransmit(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, c0, ss0, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	c0 = fx_tcb(f)->cwnd;
	ss0 = fx_tcb(f)->ssthresh;
	/* reordering, not loss: segment 1 arrives late, after 2..4 */
	b[0][0] = 1 + m; b[0][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);                   /* fast retransmit */
	assert_true(fx_tcb(f)->cwnd < c0);
	fio_clear(&f->io);
	/* everything acked, and the retransmission reported duplicate */
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + 10 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_undo), 1);
	assert_int_equal(fx_tcb(f)->ssthresh, ss0);
	assert_true(fx_tcb(f)->cwnd >= c0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
}

static void t_dsack_undo_after_recovery_ended(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, c0, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	c0 = fx_tcb(f)->cwnd;
	b[0][0] = 1 + m; b[0][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_out(f, &s));
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1 + 10 * m, 65535, NULL, 0); /* the original */
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	assert_true(fx_tcb(f)->cwnd < c0);
	/* then the retransmission arrives as a duplicate */
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + 10 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_undo), 1);
	assert_true(fx_tcb(f)->cwnd >= c0);
}

static void t_dsack_undo_spurious_rto(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, c0, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 4 * m);
	c0 = fx_tcb(f)->cwnd;
	fx_advance(f, fx_tcb(f)->rto_ns);             /* the ACKs were slow */
	assert_true(fx_out(f, &s));
	assert_int_equal(fx_tcb(f)->cwnd, m);
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + 4 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_undo), 1);
	assert_true(fx_tcb(f)->cwnd >= c0);
}

static void t_dsack_partial_no_undo(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[1][2];
	int n = 0;

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	/* two holes: 1 and 5; both resent */
	{
		uint32_t bb[2][2] = {{1 + 5 * m, 1 + 10 * m}, {1 + m, 1 + 4 * m}};
		tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])bb, 2);
	}
	while (fx_out(f, &s))
		n++;
	assert_true(n >= 2);
	/* only one of them was a duplicate: a real loss, keep the cut */
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + 10 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_dsack_rcvd), 1);
	assert_int_equal(CNT(f, tcp_undo), 0);
	assert_true(fx_tcb(f)->ssthresh < UINT32_MAX / 2);
	fio_clear(&f->io);
}

static void t_dsack_of_old_data_no_undo(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 2 * m);
	fx_tcp(f, F_ACK, 1, 1 + 2 * m, 65535, NULL, 0);
	tu_send_pop(f, 8 * m);
	b[0][0] = 1 + 3 * m; b[0][1] = 1 + 6 * m;
	tu_sack(f, 1, 1 + 2 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_out(f, &s));                    /* FR of seg 3 */
	fio_clear(&f->io);
	/* a network duplicate of data from before the episode */
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + 2 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_dsack_rcvd), 1);
	assert_int_equal(CNT(f, tcp_undo), 0);
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	fio_clear(&f->io);
}

static void t_dsack_rto_in_recovery_same_episode(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[1][2];

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	b[0][0] = 1 + m; b[0][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_out(f, &s));                    /* FR of segment 1 */
	fio_clear(&f->io);
	/* the RTO fires during recovery: the same episode goes on */
	fx_advance(f, fx_tcb(f)->t_rexmt - f->now);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	fio_clear(&f->io);
	assert_int_equal(fx_tcb(f)->undo_retrans, 2);
	/* one copy of segment 1 was a duplicate, the other was needed */
	b[0][0] = 1; b[0][1] = 1 + m;
	tu_sack(f, 1, 1 + m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_undo), 0);
	assert_int_equal(fx_tcb(f)->cwnd, 2 * m);      /* slow start went on */
	fio_clear(&f->io);
}

static void t_dsack_of_unretransmitted_range_ignored(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m, b[2][2];

	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 10 * m);
	b[0][0] = 1 + m; b[0][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 1);
	assert_true(fx_out(f, &s));                    /* FR of segment 1 */
	fio_clear(&f->io);
	/* a network duplicate of segment 3 (never resent): not evidence */
	b[0][0] = 1 + 2 * m; b[0][1] = 1 + 3 * m;
	b[1][0] = 1 + m; b[1][1] = 1 + 4 * m;
	tu_sack(f, 1, 1, 65535, (const uint32_t (*)[2])b, 2);
	assert_int_equal(CNT(f, tcp_dsack_rcvd), 1);
	assert_int_equal(CNT(f, tcp_undo), 0);
	assert_int_equal(fx_tcb(f)->undo_retrans, 1);
	fio_clear(&f->io);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_iw10),
		TU(t_slow_start_abc_limit),
		TU(t_peer_window_limits_flight),
		TU(t_fr_reno_ssthresh_and_inflation),
		TU(t_fr_cubic_beta),
		TU(t_dupack_window_change_not_counted),
		TU(t_dupack_with_data_not_counted),
		TU(t_dupacks_reset_by_new_ack),
		TU(t_no_dupack_when_nothing_outstanding),
		TU(t_newreno_partial_ack_deflates),
		TU(t_newreno_full_ack_exit),
		TU(t_newreno_inflation_sends_new_data),
		TU(t_no_fr_below_recover_after_rto),
		TU(t_rto_go_back_n),
		TU(t_rto_during_recovery),
		TU(t_sack_recovery_on_sacked_bytes),
		TU(t_sack_recovery_no_inflation),
		TU(t_sack_pipe_allows_new_data),
		TU(t_sack_partial_ack_next_hole),
		TU(t_rto_clears_sack_scoreboard),
		TU(t_congestion_get_set),
		TU(t_congestion_inherited_from_listener),
		TU(t_reno_ca_linear),
		TU(t_retransmit_counters_and_info),
		TU(t_cubic_concave_toward_wmax),
		TU(t_dsack_counted_in_info),
		TU(t_dsack_inside_second_block),
		TU(t_plain_sack_not_dsack),
		TU(t_dsack_undo_spurious_fast_retransmit),
		TU(t_dsack_undo_after_recovery_ended),
		TU(t_dsack_undo_spurious_rto),
		TU(t_dsack_partial_no_undo),
		TU(t_dsack_of_old_data_no_undo),
		TU(t_dsack_rto_in_recovery_same_episode),
		TU(t_dsack_of_unretransmitted_range_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
