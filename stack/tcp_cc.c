/*
 * tcp_cc.c: congestion control. Initial window (RFC 6928), slow start and
 * congestion avoidance (RFC 5681 3.1, with RFC 3465 L = 2), the loss
 * response for fast retransmit and RTO, and CUBIC (RFC 9438, the default;
 * NewReno selectable per socket with TCP_CONGESTION). Fast recovery
 * itself (RFC 6582) lives in tcp_in.c. Called by tcp_in.c, tcp_timer.c.
 * Floating point is used for CUBIC's cubic function only; cube roots by
 * Newton's method so no libm is needed.
 */
#include "stack/ns_priv.h"

#define CUBIC_C    0.4   /* RFC 9438 4.2 */
#define CUBIC_BETA 0.7   /* RFC 9438 4.6 */

static uint32_t cwnd_cap(const struct ns_tcb *tp)
{
	/* no use growing past twice what the send buffer can hold */
	return 2 * (tp->sb_mask + 1);
}

void ns_cc_init(struct ns_stack *st, struct ns_tcb *tp)
{
	uint32_t mss = tp->mss, w = 2 * mss > 14600 ? 2 * mss : 14600;
	(void)st;
	/* RFC 6928 2: min(10*MSS, max(2*MSS, 14600)) */
	tp->cwnd = NS_TCP_INIT_CWND_SEGS * mss < w ?
		   NS_TCP_INIT_CWND_SEGS * mss : w;
	tp->ssthresh = UINT32_MAX / 2;
	tp->cc_acked = 0;
	tp->cu_wmax = 0;
	tp->cu_epoch_ns = 0;
}

static double ns_cbrt(double x)
{
	double r = x > 1 ? x / 3 : 1;
	int i;
	if (x <= 0)
		return 0;
	for (i = 0; i < 60; i++) {
		double n = r - (r * r * r - x) / (3 * r * r);
		if (n == r)
			break;
		r = n;
	}
	return r;
}

static void cubic_ack(struct ns_stack *st, struct ns_tcb *tp, uint32_t acked)
{
	double mss = tp->mss, cwnd = tp->cwnd / mss, wmax, t, target, west;

	if (!tp->cu_epoch_ns) {
		/* RFC 9438 4.2: a new congestion avoidance epoch */
		tp->cu_epoch_ns = st->now;
		if (tp->cu_wmax < tp->cwnd) {
			tp->cu_wmax = tp->cwnd;
			tp->cu_k_ms = 0;
		} else {
			tp->cu_k_ms = (uint32_t)(ns_cbrt(((tp->cu_wmax -
				tp->cwnd) / mss) / CUBIC_C) * 1000.0);
		}
		tp->cu_west = tp->cwnd;
	}
	wmax = tp->cu_wmax / mss;
	t = (double)(st->now - tp->cu_epoch_ns) / 1e9 +
	    (double)tp->srtt_us / 1e6;
	t -= tp->cu_k_ms / 1000.0;
	target = CUBIC_C * t * t * t + wmax; /* eq. 1 at t + RTT */
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;            /* RFC 9438 4.4 */
	/* Reno-friendly region, eq. 4: alpha = 3(1-b)/(1+b) */
	west = tp->cu_west / mss;
	west += 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * (acked / mss) / cwnd;
	tp->cu_west = (uint32_t)(west * mss);
	if (target < west) {
		if (tp->cu_west > tp->cwnd)
			tp->cwnd = tp->cu_west;
	} else if (target > cwnd) {
		double inc = (target - cwnd) / cwnd * (acked / mss) * mss;
		tp->cwnd += (uint32_t)(inc + 0.5) ? (uint32_t)(inc + 0.5) : 1;
	} else {
		/* plateau: grow very slowly (RFC 9438 4.3) */
		tp->cc_acked += acked;
		if (tp->cc_acked >= 100 * tp->cwnd / tp->mss) {
			tp->cc_acked = 0;
			tp->cwnd += 1;
		}
	}
}

void ns_cc_ack(struct ns_stack *st, struct ns_tcb *tp, uint32_t acked)
{
	if (tp->cwnd < tp->ssthresh) {
		/* slow start, RFC 5681 3.1 eq. 2 with RFC 3465 L = 2 */
		uint32_t inc = acked < 2u * tp->mss ? acked : 2u * tp->mss;
		tp->cwnd += inc;
	} else if (tp->cc_algo == NS_CC_CUBIC) {
		cubic_ack(st, tp, acked);
	} else {
		/* congestion avoidance: one MSS per cwnd acked (eq. 3) */
		tp->cc_acked += acked;
		if (tp->cc_acked >= tp->cwnd) {
			tp->cc_acked -= tp->cwnd;
			tp->cwnd += tp->mss;
		}
	}
	if (tp->cwnd > cwnd_cap(tp))
		tp->cwnd = cwnd_cap(tp);
	if (2ull * tp->cwnd > tp->sb_lim)
		ns_tcp_sndbuf_expand(st, tp);
}

static void reduce(struct ns_tcb *tp)
{
	uint32_t flight = ns_tcp_flight(tp), base, ss;

	if (tp->cc_algo == NS_CC_CUBIC) {
		/* RFC 9438 4.7 fast convergence */
		if (tp->cwnd < tp->cu_wmax)
			tp->cu_wmax = (uint32_t)(tp->cwnd * (1 + CUBIC_BETA) / 2);
		else
			tp->cu_wmax = tp->cwnd;
		base = tp->cwnd < flight ? tp->cwnd : flight;
		if (base < tp->cwnd)
			base = tp->cwnd;
		ss = (uint32_t)(base * CUBIC_BETA);
		tp->cu_epoch_ns = 0;
	} else {
		ss = flight / 2; /* RFC 5681 eq. 4 */
	}
	if (ss < 2u * tp->mss)
		ss = 2u * tp->mss;
	tp->ssthresh = ss;
	tp->cc_acked = 0;
}

/* a reduction starts an episode that D-SACKs may prove spurious; one
 * that comes before the previous episode's data is all acked (an RTO
 * during recovery) continues it, as Linux keeps its undo_marker */
static void undo_mark(struct ns_tcb *tp)
{
	if (tp->prior_cwnd && SEQ_LT(tp->snd_una, tp->undo_high))
		return;
	tp->prior_cwnd = tp->cwnd;
	tp->prior_ssthresh = tp->ssthresh;
	tp->undo_retrans = 0;
	tp->undo_marker = tp->snd_una;
	tp->undo_high = tp->snd_max;
	tp->undo_rxt_hi = tp->snd_una;
	tp->undo_tsval = 0;
}

/* RFC 2883 5 / RFC 3708: every retransmission of the episode came back
 * as a D-SACK, so nothing was lost: restore the window (as Linux
 * tcp_try_undo_dsack / tcp_undo_cwnd_reduction). Only D-SACKs of
 * ranges this episode retransmitted count (Linux checks the skb's
 * RETRANS mark; here: inside [undo_marker, undo_rxt_hi)), one segment
 * per block. */
static void undo(struct ns_stack *st, struct ns_tcb *tp)
{
	if (tp->cwnd < tp->prior_cwnd)
		tp->cwnd = tp->prior_cwnd;
	if (tp->ssthresh < tp->prior_ssthresh)
		tp->ssthresh = tp->prior_ssthresh;
	if (tp->cc_algo == NS_CC_CUBIC)
		tp->cu_epoch_ns = 0;
	tp->prior_cwnd = 0;
	/* back to open: no deflation at the end of a recovery that was
	 * not one (Linux sets TCP_CA_Open after the undo) */
	tp->tf &= ~TF_RECOVERY;
	tp->dupacks = 0;
	tp->undo_tsval = 0;
	NS_CNT(st, tcp_undo);
}

int ns_cc_dsack(struct ns_stack *st, struct ns_tcb *tp, uint32_t start,
		uint32_t end)
{
	if (!tp->prior_cwnd || !tp->undo_retrans ||
	    SEQ_LT(start, tp->undo_marker) || SEQ_GT(end, tp->undo_rxt_hi))
		return 0;
	if (--tp->undo_retrans)
		return 0;
	undo(st, tp);
	return 1;
}

int ns_cc_eifel(struct ns_stack *st, struct ns_tcb *tp, uint32_t ack,
		uint32_t tsecr)
{
	if (!tp->prior_cwnd || !tp->undo_tsval || !tsecr ||
	    !SEQ_GT(ack, tp->undo_rxt_lo) || !SEQ_LT(tsecr, tp->undo_tsval))
		return 0;
	undo(st, tp);
	NS_CNT(st, tcp_undo_eifel);
	return 1;
}

void ns_cc_undo_note(struct ns_tcb *tp, uint32_t seq, uint32_t len,
		     uint32_t smss, uint32_t tsval)
{
	if (!tp->prior_cwnd)
		return;
	if (!tp->undo_retrans && !tp->undo_tsval && (tp->tf & TF_TS_OK)) {
		tp->undo_tsval = tsval ? tsval : 1;
		tp->undo_rxt_lo = seq;
	}
	tp->undo_retrans += len > smss && smss ? (len + smss - 1) / smss : 1;
	if (SEQ_GT(seq + len, tp->undo_rxt_hi))
		tp->undo_rxt_hi = seq + len;
}

void ns_cc_loss(struct ns_stack *st, struct ns_tcb *tp)
{
	(void)st;
	undo_mark(tp);
	reduce(tp);
	/* RFC 6582 3.2 step 2: cwnd = ssthresh + 3*SMSS */
	tp->cwnd = tp->ssthresh + 3u * tp->mss;
}

void ns_cc_rto(struct ns_stack *st, struct ns_tcb *tp)
{
	(void)st;
	if (tp->rxt_shift <= 1) {
		/* only the first timeout of a series (RFC 5681 eq. 4) */
		undo_mark(tp);
		reduce(tp);
	}
	tp->cwnd = tp->mss; /* loss window, RFC 5681 3.1 */
}
