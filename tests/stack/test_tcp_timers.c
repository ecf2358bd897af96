/*
 * test_tcp_timers.c: TCP timers on a fake clock: retransmission timeout
 * (RFC 6298: initial value, estimator, 1 ms granularity, back-off, cap,
 * Karn), delayed ACK and quick-ACK (RFC 1122 4.2.3.2, RFC 5681 4.2),
 * persist / zero-window probes (RFC 9293 3.8.6.1), keep-alive
 * (RFC 1122 4.2.3.6), TIME_WAIT and orphaned FIN_WAIT_2, TCP_USER_TIMEOUT
 * (RFC 5482), and the deadline the instance reports. Fixture:
 * tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void t_rto_initial_and_deadline(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_syn_sent(f, &s);
	assert_int_equal(fx_tcb(f)->rto_ns, NS_TCP_RTO_INIT_NS);  /* 2.1 */
	assert_int_equal(fx_tcb(f)->t_rexmt, f->now + NS_TCP_RTO_INIT_NS);
	assert_int_equal(ns_stack_deadline(f->st), f->now + NS_TCP_RTO_INIT_NS);
}

/* the fixture's handshake took 0 ns and gave a sample: forget it so a
 * test sees the estimator from its first measurement (RFC 6298 2.2) */
static void forget_rtt(struct fx *f)
{
	fx_tcb(f)->srtt_us = fx_tcb(f)->rttvar_us = 0;
}

static void t_rto_from_first_sample(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	forget_rtt(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	f->now += 300 * NS_MS;                       /* RTT 300 ms */
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	/* RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR */
	assert_int_equal(fx_tcb(f)->srtt_us, 300000);
	assert_int_equal(fx_tcb(f)->rttvar_us, 150000);
	assert_int_equal(fx_tcb(f)->rto_ns, 900 * NS_MS);
}

static void t_rto_second_sample_smoothed(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	forget_rtt(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	f->now += 400 * NS_MS;
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(ns_send(f->st, f->sd, "b", 1, 0), 1);
	assert_true(fx_out(f, &s));
	f->now += 200 * NS_MS;
	fx_tcp(f, F_ACK, 1, 3, 65535, NULL, 0);
	/* 2.3: RTTVAR = 3/4 200000 + 1/4 |400000 - 200000|, SRTT = 7/8 ...*/
	assert_int_equal(fx_tcb(f)->rttvar_us, 200000);
	assert_int_equal(fx_tcb(f)->srtt_us, 375000);
	assert_int_equal(fx_tcb(f)->rto_ns, (375000ull + 800000) * 1000);
}

static void t_rto_min_applies(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	forget_rtt(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	f->now += 3 * NS_MS;
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->srtt_us, 3000);
	assert_int_equal(fx_tcb(f)->rto_ns, NS_TCP_RTO_MIN_NS);
}

static void t_rto_sub_ms_rtt_granularity(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	forget_rtt(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	f->now += 250 * 1000;                        /* 250 us */
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	/* timers are kept in ns; the estimator sees the 250 us exactly */
	assert_int_equal(fx_tcb(f)->srtt_us, 250);
	assert_int_equal(fx_tcb(f)->rttvar_us, 125);
}

static void t_rto_timer_exact_ns(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_advance(f, 123457);                       /* not a ms multiple */
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(fx_tcb(f)->t_rexmt, f->now + fx_tcb(f)->rto_ns);
	fx_advance(f, fx_tcb(f)->rto_ns - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1);
}

static void t_rto_backoff_capped(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	for (i = 0; i < 12; i++) {
		fx_arp_learn(f);     /* the peer's ARP entry outlives minutes */
		fx_advance(f, fx_tcb(f)->t_rexmt - f->now);
		assert_true(fx_out(f, &s));
	}
	/* 200 ms << 12 is far past the 120 s cap (RFC 6298 2.5) */
	assert_true(fx_tcb(f)->t_rexmt - f->now <= NS_TCP_RTO_MAX_NS);
	assert_int_equal(fx_tcb(f)->t_rexmt - f->now, NS_TCP_RTO_MAX_NS);
}

static void t_rto_karn_no_sample(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	forget_rtt(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));                  /* retransmitted */
	f->now += 5 * NS_MS;
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	/* Karn: an ACK of a retransmission gives no sample */
	assert_int_equal(fx_tcb(f)->srtt_us, 0);
}

static void t_rto_restart_on_partial_ack(void **state)
{
	struct fx *f = *state;
	uint64_t t0;
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 3 * m);
	t0 = fx_tcb(f)->t_rexmt;
	f->now += 50 * NS_MS;
	fx_tcp(f, F_ACK, 1, 1 + m, 65535, NULL, 0);
	/* RFC 6298 5.3: restarted from now */
	assert_int_equal(fx_tcb(f)->t_rexmt, f->now + fx_tcb(f)->rto_ns);
	assert_true(fx_tcb(f)->t_rexmt > t0);
	fx_tcp(f, F_ACK, 1, 1 + 3 * m, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->t_rexmt, 0);    /* 5.2 */
}

static void t_rto_retransmits_one_segment(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t m;

	fx_established_passive(f);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, "reno", 4), 0);
	m = fx_tcb(f)->mss;
	tu_send_pop(f, 4 * m);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.len, m);
	assert_int_equal(fx_nout(f), 0);             /* cwnd = 1 MSS */
	assert_int_equal(fx_tcb(f)->cwnd, m);
	assert_int_equal(fx_tcb(f)->ssthresh, 2 * m); /* max(flight/2, 2MSS) */
}

static void t_delack_timer_fires(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "a", 1);
	assert_int_equal(fx_tcb(f)->t_delack, f->now + NS_TCP_DELACK_NS);
	fx_advance(f, NS_TCP_DELACK_NS - 1);
	assert_int_equal(fx_nout(f), 0);
	fx_advance(f, 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->t_delack, 0);
}

static void t_delack_piggybacked(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "q", 1);
	assert_int_equal(ns_send(f->st, f->sd, "r", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1);
	assert_int_equal(s.arel, 2);                 /* ACK rides on data */
	fx_advance(f, NS_TCP_DELACK_NS);
	assert_int_equal(fx_nout(f), 0);             /* nothing more owed */
}

static void t_quickack_ooo_and_fill(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 11, 1, 65535, "b", 1);      /* ooo: ACK at once */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 1);
	fx_tcp(f, F_ACK, 1, 1, 65535, "aaaaaaaaaa", 10); /* fills the hole */
	assert_true(fx_out(f, &s));                  /* at once too */
	assert_int_equal(s.arel, 12);
}

static void t_quickack_option_every_segment(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_QUICKACK, 1), 0);
	fx_tcp(f, F_ACK, 1, 1, 65535, "a", 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_QUICKACK, 0), 0);
	fx_tcp(f, F_ACK, 2, 1, 65535, "b", 1);
	assert_int_equal(fx_nout(f), 0);             /* delayed again */
	fio_clear(&f->io);
}

static void t_persist_probe_answered_keeps_probing(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);
	assert_int_equal(ns_send(f->st, f->sd, "abc", 3, 0), 3);
	for (i = 0; i < 20; i++) {
		assert_true(fx_tcb(f)->t_persist != 0);
		fx_arp_learn(f);
		fx_advance(f, fx_tcb(f)->t_persist - f->now);
		assert_true(fx_out(f, &s));
		fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);   /* still zero */
	}
	/* RFC 9293 3.8.6.1: never give up while probes are answered */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
	assert_true(fx_tcb(f)->persist_ns <= NS_TCP_PERSIST_MAX_NS);
}

static void t_persist_unanswered_gives_up(void **state)
{
	struct fx *f = *state;
	int i;
	char b[4];

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);
	assert_int_equal(ns_send(f->st, f->sd, "abc", 3, 0), 3);
	/* the peer vanished: unanswered probes end it like lost data
	 * (Linux tcp_probe_timer: tcp_retries2 probes) */
	for (i = 0; i < 100 && fx_tcb(f)->state != NS_TCPS_CLOSED; i++) {
		fx_advance(f, NS_TCP_PERSIST_MAX_NS);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_recv(f->st, f->sd, b, 4, 0), -ETIMEDOUT);
}

static void t_persist_user_timeout(void **state)
{
	struct fx *f = *state;
	int i;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT,
				   3000), 0);
	fx_tcp(f, F_ACK, 1, 1, 0, NULL, 0);
	assert_int_equal(ns_send(f->st, f->sd, "abc", 3, 0), 3);
	for (i = 0; i < 20 && fx_tcb(f)->state != NS_TCPS_CLOSED; i++) {
		fx_advance(f, 1000 * NS_MS);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_true(i <= 6);                          /* ~3 s, not minutes */
}

static void t_keepalive_off_by_default(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	fx_advance(f, (uint64_t)(NS_TCP_KEEPIDLE_S + 10) * 1000 * NS_MS);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(CNT(f, tcp_keepalive_sent), 0);
}

static void t_keepalive_default_idle(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	assert_int_equal(fx_tcb(f)->t_keep,
			 f->now + (uint64_t)NS_TCP_KEEPIDLE_S * 1000 * NS_MS);
	fx_advance(f, (uint64_t)NS_TCP_KEEPIDLE_S * 1000 * NS_MS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 0);                 /* SND.NXT - 1 */
	assert_int_equal(s.len, 0);
}

static void t_keepalive_data_defers(void **state)
{
	struct fx *f = *state;
	int idle = 10;

	fx_established_passive(f);
	tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, idle);
	tu_setint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE, 1);
	fx_advance(f, 8000 * NS_MS);
	fx_tcp(f, F_ACK, 1, 1, 65535, "x", 1);       /* traffic */
	fio_clear(&f->io);
	fx_advance(f, 4000 * NS_MS);                 /* 12 s total, 4 idle */
	assert_int_equal(CNT(f, tcp_keepalive_sent), 0);
	fio_clear(&f->io);
	fx_advance(f, 6000 * NS_MS);
	assert_int_equal(CNT(f, tcp_keepalive_sent), 1);
	fio_clear(&f->io);
}

static void t_keepalive_disable_stops(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, 5);
	tu_setint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE, 1);
	tu_setint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE, 0);
	fx_advance(f, 10000 * NS_MS);
	assert_int_equal(CNT(f, tcp_keepalive_sent), 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE), 0);
}

static void t_user_timeout_zero_means_default(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT,
				   0), 0);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	fx_advance(f, 30000 * NS_MS);
	fio_clear(&f->io);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_ESTABLISHED);
}

static void t_user_timeout_short(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int i;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT,
				   500), 0);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	for (i = 0; i < 10 && fx_tcb(f)->state != NS_TCPS_CLOSED; i++) {
		fx_advance(f, 200 * NS_MS);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), -ETIMEDOUT);
}

static void t_time_wait_uses_config(void **state)
{
	struct fx g;
	struct ns_config c;
	int sd;
	(void)state;

	fx_default_cfg(&c);
	c.time_wait_ms = 5000;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	tu_time_wait(&g);
	sd = g.sd;
	ns_close(g.st, sd);
	fx_advance(&g, 4999 * NS_MS);
	assert_int_equal(tu_state(&g, sd), NS_TCPS_TIME_WAIT);
	fx_advance(&g, 1 * NS_MS);
	assert_int_equal(tu_state(&g, sd), -1);
	fx_teardown(&g);
}

static void t_fin_wait_2_not_orphan_stays(void **state)
{
	struct fx *f = *state;

	tu_fin_wait_2(f);
	/* still owned by the user (shutdown, not close): no timeout */
	fx_advance(f, NS_TCP_FIN_WAIT2_NS + 1000 * NS_MS);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
}

static void t_deadline_none_when_idle(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	fx_advance(f, 1000 * NS_MS);
	assert_int_equal(ns_stack_deadline(f->st), UINT64_MAX);
}

static void t_deadline_is_earliest(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "a", 1);   /* delack 10 ms */
	assert_int_equal(ns_send(f->st, f->sd, "b", 1, 0), 1); /* rto 200 ms */
	assert_true(fx_out(f, &s));
	/* the instance may wake early (a stale timer), never late */
	assert_true(ns_stack_deadline(f->st) <= fx_tcb(f)->t_rexmt);
	assert_true(ns_stack_deadline(f->st) > f->now);
	fx_tcp(f, F_ACK | F_PSH, 2, 1, 65535, "c", 1);
	assert_true(ns_stack_deadline(f->st) <= f->now + NS_TCP_DELACK_NS);
	fx_advance(f, ns_stack_deadline(f->st) - f->now);
	fx_advance(f, ns_stack_deadline(f->st) - f->now);
	assert_true(fx_out(f, &s));                  /* the delayed ACK */
	assert_int_equal(s.arel, 3);
	fio_clear(&f->io);
}

static void t_syn_retries_then_etimedout(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int n = 0, i;

	tu_syn_sent(f, &s);
	for (i = 0; i < 20 && fx_tcb(f)->state == NS_TCPS_SYN_SENT; i++) {
		fx_advance(f, fx_tcb(f)->t_rexmt - f->now);
		while (fx_out(f, &s))
			if (s.flags == F_SYN)
				n++;
	}
	assert_int_equal(n, NS_TCP_SYN_RETRIES);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_rto_initial_and_deadline),
		TU(t_rto_from_first_sample),
		TU(t_rto_second_sample_smoothed),
		TU(t_rto_min_applies),
		TU(t_rto_sub_ms_rtt_granularity),
		TU(t_rto_timer_exact_ns),
		TU(t_rto_backoff_capped),
		TU(t_rto_karn_no_sample),
		TU(t_rto_restart_on_partial_ack),
		TU(t_rto_retransmits_one_segment),
		TU(t_delack_timer_fires),
		TU(t_delack_piggybacked),
		TU(t_quickack_ooo_and_fill),
		TU(t_quickack_option_every_segment),
		TU(t_persist_probe_answered_keeps_probing),
		TU(t_persist_unanswered_gives_up),
		TU(t_persist_user_timeout),
		TU(t_keepalive_off_by_default),
		TU(t_keepalive_default_idle),
		TU(t_keepalive_data_defers),
		TU(t_keepalive_disable_stops),
		TU(t_user_timeout_zero_means_default),
		TU(t_user_timeout_short),
		TU(t_time_wait_uses_config),
		TU(t_fin_wait_2_not_orphan_stays),
		TU(t_deadline_none_when_idle),
		TU(t_deadline_is_earliest),
		TU(t_syn_retries_then_etimedout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
