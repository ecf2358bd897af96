/*
 * test_tcp_rack.c: time-based loss detection (RACK, RFC 8985, stack/
 * tcp_rack.c) and Eifel undo (RFC 3522): reordering once seen widens the
 * reordering window so a SACK above a hole waits instead of
 * retransmitting, and the reordering timer retransmits when the window
 * passes; a lost retransmission is found without the RTO; an ACK that
 * echoes a timestamp older than the retransmission undoes the
 * reduction; a SACK recovery ends with cwnd = ssthresh; a tail loss
 * probe (RFC 8985 7) turns a lost tail into SACK recovery. Fixture:
 * tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void reno(struct fx *f)
{
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP,
				       TCP_CONGESTION, "reno", 5), 0);
}

/* established with SACK, Reno, and the SRTT a 20 ms path would have
 * measured (the fixture's handshake takes no time: 1 us, which would
 * put the tail loss probe 2 ms after every send) */
static uint32_t setup20(struct fx *f)
{
	f->use_sack = 1;
	fx_established_passive(f);
	reno(f);
	fx_tcb(f)->srtt_us = 20000;
	fx_tcb(f)->rttvar_us = 5000;
	return fx_tcb(f)->mss;
}

static void sack1(struct fx *f, uint32_t ack_rel, uint32_t s, uint32_t e)
{
	uint32_t b[1][2];
	b[0][0] = s;
	b[0][1] = e;
	tu_sack(f, 1, ack_rel, 65535, (const uint32_t (*)[2])b, 1);
}

/* 1 if the stack sent a segment starting at srel (others are dropped) */
static int sent_at(struct fx *f, uint32_t srel)
{
	struct seg s;
	int hit = 0;
	while (fx_out(f, &s))
		if (s.len && s.srel == srel)
			hit = 1;
	return hit;
}

static void t_rack_first_sack_waits_quarter_rtt(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	m = setup20(f);
	tu_send_pop(f, 10 * m);
	f->now += 20 * NS_MS;
	/* one segment SACKed above a hole: not yet DupThresh, so RACK
	 * waits min_RTT/4 (5 ms) before calling the hole lost */
	sack1(f, 1, 1 + 2 * m, 1 + 3 * m);
	assert_false(sent_at(f, 1));
	assert_true(fx_tcb(f)->t_reo > f->now);
	fx_advance(f, 6 * NS_MS);
	assert_true(sent_at(f, 1));                   /* the timer */
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	assert_int_equal(CNT(f, tcp_rto_timeouts), 0);
}

static void t_rack_reordering_widens_window(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	m = setup20(f);
	tu_send_pop(f, 10 * m);
	f->now += 20 * NS_MS;
	sack1(f, 1, 1 + 2 * m, 1 + 3 * m);
	assert_false(fx_tcb(f)->reo_seen);
	/* segments 1-2 (never retransmitted) arrive after 3: reordering */
	fx_tcp(f, F_ACK, 1, 1 + 3 * m, 65535, NULL, 0);
	assert_true(fx_tcb(f)->reo_seen);
	fio_clear(&f->io);
	/* four segments SACKed above the hole at segment 4: without the
	 * reordering seen that is a loss at once (DupThresh); now RACK
	 * gives it SRTT/4 first */
	sack1(f, 1 + 3 * m, 1 + 4 * m, 1 + 8 * m);
	assert_false(sent_at(f, 1 + 3 * m));
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	/* it arrives within the window: nothing was retransmitted */
	fx_tcp(f, F_ACK, 1, 1 + 8 * m, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->total_retrans, 0);
	/* a real loss still goes: hole at 9 with 10 SACKed, window passed */
	sack1(f, 1 + 8 * m, 1 + 9 * m, 1 + 10 * m);
	fx_advance(f, (uint64_t)fx_tcb(f)->srtt_us * 1000 + NS_MS);
	assert_true(sent_at(f, 1 + 8 * m));
	assert_int_equal(CNT(f, tcp_rto_timeouts), 0);
}

static void t_rack_lost_retransmission_without_rto(void **state)
{
	struct fx *f = *state;
	uint32_t m;
	char more[4096];

	m = setup20(f);
	tu_send_pop(f, 10 * m);
	f->now += 20 * NS_MS;
	sack1(f, 1, 1 + m, 1 + 4 * m);                /* 1 lost: DupThresh */
	assert_true(sent_at(f, 1));
	f->now += 2 * NS_MS;
	/* everything but segment 1 arrives; new data goes out after the
	 * retransmission */
	memset(more, 'x', sizeof(more));
	assert_int_equal(ns_send(f->st, f->sd, more, 2 * m, 0), (ssize_t)(2 * m));
	sack1(f, 1, 1 + m, 1 + 10 * m);
	assert_true(sent_at(f, 1 + 10 * m) || fx_tcb(f)->snd_max ==
		    fx_tcb(f)->iss + 1 + 12 * m);
	f->now += 20 * NS_MS;
	/* the new data is SACKed, segment 1 still missing: its
	 * retransmission was lost too; sent again long before the RTO */
	sack1(f, 1, 1 + m, 1 + 12 * m);
	assert_true(sent_at(f, 1));
	assert_int_equal(CNT(f, tcp_rto_timeouts), 0);
	assert_true(fx_tcb(f)->total_retrans >= 2);
}

static void t_eifel_undo_on_old_echo(void **state)
{
	struct fx *f = *state;
	uint32_t m, c0, ss0, orig_ts;

	f->use_ts = 1;
	m = setup20(f);
	tu_send_pop(f, 10 * m);
	orig_ts = f->last_tsval;
	c0 = fx_tcb(f)->cwnd;
	ss0 = fx_tcb(f)->ssthresh;
	f->now += 20 * NS_MS;
	sack1(f, 1, 1 + m, 1 + 4 * m);
	assert_true(sent_at(f, 1));                   /* fast retransmit */
	assert_true(fx_tcb(f)->cwnd < c0);
	assert_true(f->last_tsval != orig_ts);
	/* the ACK for segment 1 echoes the original's TSval: the original
	 * arrived, the retransmission was spurious */
	f->last_tsval = orig_ts;
	fx_tcp(f, F_ACK, 1, 1 + 4 * m, 65535, NULL, 0);
	assert_int_equal(CNT(f, tcp_undo_eifel), 1);
	assert_int_equal(fx_tcb(f)->ssthresh, ss0);
	assert_true(fx_tcb(f)->cwnd >= c0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	assert_true(fx_tcb(f)->reo_seen);
}

static void t_eifel_no_undo_when_retransmission_echoed(void **state)
{
	struct fx *f = *state;
	uint32_t m, c0;

	f->use_ts = 1;
	m = setup20(f);
	tu_send_pop(f, 10 * m);
	c0 = fx_tcb(f)->cwnd;
	f->now += 20 * NS_MS;
	sack1(f, 1, 1 + m, 1 + 4 * m);
	assert_true(sent_at(f, 1));
	/* the echo is the retransmission's TSval (f->last_tsval): real */
	fx_tcp(f, F_ACK, 1, 1 + 4 * m, 65535, NULL, 0);
	assert_int_equal(CNT(f, tcp_undo_eifel), 0);
	assert_true(fx_tcb(f)->cwnd < c0);
}

static void t_sack_recovery_ends_at_ssthresh(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	m = setup20(f);
	tu_send_pop(f, 10 * m);
	f->now += 20 * NS_MS;
	sack1(f, 1, 1 + m, 1 + 10 * m);
	assert_true(sent_at(f, 1));
	assert_true(fx_tcb(f)->tf & TF_RECOVERY);
	/* full ACK with (almost) nothing in flight: NewReno would deflate
	 * to flight + 1 MSS; with SACK the window stays ssthresh */
	fx_tcp(f, F_ACK, 1, fx_tcb(f)->snd_max - fx_tcb(f)->iss, 65535,
	       NULL, 0);
	assert_false(fx_tcb(f)->tf & TF_RECOVERY);
	assert_int_equal(fx_tcb(f)->cwnd, fx_tcb(f)->ssthresh);
	assert_true(fx_tcb(f)->cwnd > m);
}

/* ---- tail loss probe (RFC 8985 7) -------------------------------------- */
static void tlp_setup(struct fx *f, uint32_t nseg)
{
	setup20(f);
	tu_send_pop(f, nseg * fx_tcb(f)->mss);
	assert_true(fx_tcb(f)->srtt_us > 0);
	assert_true(fx_tcb(f)->t_tlp > f->now);
	assert_true(fx_tcb(f)->t_tlp < fx_tcb(f)->t_rexmt);
}

static void t_tlp_probe_then_rack_repairs_tail(void **state)
{
	struct fx *f = *state;
	uint32_t m;

	tlp_setup(f, 4);
	m = fx_tcb(f)->mss;
	/* the whole flight is lost: no ACK at all; the PTO (2 SRTT) fires
	 * long before the RTO and resends the last segment */
	fx_advance(f, fx_tcb(f)->t_tlp - f->now);
	assert_true(sent_at(f, 1 + 3 * m));
	assert_int_equal(CNT(f, tcp_tlp_probes), 1);
	assert_int_equal(CNT(f, tcp_rto_timeouts), 0);
	/* its SACK shows the hole: RACK retransmits the first three */
	f->now += 5 * NS_MS;
	sack1(f, 1, 1 + 3 * m, 1 + 4 * m);
	fx_advance(f, 20 * NS_MS);
	assert_true(sent_at(f, 1) || fx_tcb(f)->total_retrans >= 2);
	assert_int_equal(CNT(f, tcp_rto_timeouts), 0);
}

static void t_tlp_dsack_means_no_loss(void **state)
{
	struct fx *f = *state;
	uint32_t m, c0, b[2][2];

	tlp_setup(f, 4);
	m = fx_tcb(f)->mss;
	c0 = fx_tcb(f)->cwnd;
	fx_advance(f, fx_tcb(f)->t_tlp - f->now);
	assert_true(sent_at(f, 1 + 3 * m));
	/* everything had arrived (only the ACKs were late): the probe
	 * comes back as a D-SACK; no reduction */
	b[0][0] = 1 + 3 * m; b[0][1] = 1 + 4 * m;
	b[1][0] = 1 + 3 * m; b[1][1] = 1 + 4 * m;
	tu_sack(f, 1, 1 + 4 * m, 65535, (const uint32_t (*)[2])b, 1);
	assert_int_equal(CNT(f, tcp_tlp_recoveries), 0);
	assert_true(fx_tcb(f)->cwnd >= c0);
	assert_false(fx_tcb(f)->tlp_on);
}

static void t_tlp_repair_reduces_cwnd(void **state)
{
	struct fx *f = *state;
	uint32_t m, c0;

	tlp_setup(f, 5);
	m = fx_tcb(f)->mss;
	/* segments 1-3 acked, 4 arrived too but its ACK is lost, 5 lost */
	f->now += 20 * NS_MS;
	fx_tcp(f, F_ACK, 1, 1 + 3 * m, 65535, NULL, 0);
	c0 = fx_tcb(f)->cwnd;
	fio_clear(&f->io);
	fx_advance(f, fx_tcb(f)->t_tlp - f->now);
	assert_true(sent_at(f, 1 + 4 * m));
	/* the probe repaired it: the ACKs up to it and past it (new data
	 * sent meanwhile) bring no D-SACK; a loss all the same */
	assert_int_equal(ns_send(f->st, f->sd, "y", 1, 0), 1);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1 + 5 * m, 65535, NULL, 0);
	assert_true(fx_tcb(f)->tlp_on);               /* not yet known */
	fx_tcp(f, F_ACK, 1, 1 + 5 * m + 1, 65535, NULL, 0);
	assert_int_equal(CNT(f, tcp_tlp_recoveries), 1);
	assert_true(fx_tcb(f)->cwnd < c0);
	assert_int_equal(CNT(f, tcp_rto_timeouts), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_rack_first_sack_waits_quarter_rtt),
		TU(t_rack_reordering_widens_window),
		TU(t_rack_lost_retransmission_without_rto),
		TU(t_eifel_undo_on_old_echo),
		TU(t_eifel_no_undo_when_retransmission_echoed),
		TU(t_sack_recovery_ends_at_ssthresh),
		TU(t_tlp_probe_then_rack_repairs_tail),
		TU(t_tlp_dsack_means_no_loss),
		TU(t_tlp_repair_reduces_cwnd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
