/*
 * tcp_rack.c: time-based loss detection for SACK connections (RACK,
 * RFC 8985 section 6, without TLP). A segment is lost when a segment
 * sent after it has been delivered (cumulatively or SACKed) and more
 * than RACK.rtt + reo_wnd has passed since it was sent. Unlike a count
 * of SACKed segments (RFC 6675 DupThresh) this tolerates reordering once
 * it has been seen (reo_wnd grows with D-SACKs) and finds a lost
 * retransmission without waiting for the RTO.
 *
 * What was sent when is the transmit log tp->txl[]: records covering
 * [snd_una, snd_max) in sequence order, each with the time it was last
 * sent and whether it was retransmitted, SACKed or marked lost. Data sent
 * in one poll shares a record, so the log stays small; when it is full,
 * two neighbours with the same marks merge (the later send time wins:
 * loss detection for the merged part can only come late, never early).
 *
 * reo_wnd (6.2 step 4): 0 before any reordering was seen once DupThresh
 * segments are SACKed or during recovery (the classic rule); min_RTT/4
 * before that; after reordering was seen, mult * SRTT/4 up to SRTT, the
 * multiplier growing by one per round trip with a D-SACK and reset after
 * 16 recoveries without one. (The RFC scales min_RTT/4; over a path
 * where a quarter of the packets skip a 10 ms queue min_RTT is ~0.2 ms
 * and the multiplier would need ~200 D-SACK rounds to cover the
 * reordering, so the base here is SRTT/4, as FreeBSD's RACK.)
 */
#include "stack/ns_priv.h"

#define R_SACKED  1u
#define R_LOST    2u
#define R_RETRANS 4u

static void rec_del(struct ns_tcb *tp, unsigned i)
{
	unsigned j;
	for (j = i; j + 1 < tp->ntxl; j++)
		tp->txl[j] = tp->txl[j + 1];
	tp->ntxl--;
}

/* merge two touching neighbours with the same marks; 0 if none */
static int make_room(struct ns_tcb *tp)
{
	unsigned i;
	for (i = 0; i + 1 < tp->ntxl; i++) {
		struct ns_txrec *a = &tp->txl[i], *b = &tp->txl[i + 1];
		if (a->fl == b->fl && a->end == b->start) {
			a->end = b->end;
			if (b->ts > a->ts)
				a->ts = b->ts;
			rec_del(tp, i + 1);
			return 1;
		}
	}
	return 0;
}

/* a record boundary at seq; 0 on success (or nothing to split), -1 if
 * the log is full */
static int split_at(struct ns_tcb *tp, uint32_t seq)
{
	unsigned i, j;
	for (i = 0; i < tp->ntxl; i++) {
		struct ns_txrec *r = &tp->txl[i];
		if (!SEQ_LT(r->start, seq) || !SEQ_LT(seq, r->end))
			continue;
		if (tp->ntxl >= NS_TCP_TXLOG && !make_room(tp))
			return -1;
		/* make_room may have moved r: find it again */
		for (i = 0; i < tp->ntxl; i++)
			if (SEQ_LT(tp->txl[i].start, seq) &&
			    SEQ_LT(seq, tp->txl[i].end))
				break;
		if (i == tp->ntxl)
			return 0;
		for (j = tp->ntxl; j > i + 1; j--)
			tp->txl[j] = tp->txl[j - 1];
		tp->txl[i + 1] = tp->txl[i];
		tp->txl[i].end = seq;
		tp->txl[i + 1].start = seq;
		tp->ntxl++;
		return 0;
	}
	return 0;
}

void ns_rack_sent(struct ns_tcb *tp, uint32_t seq, uint32_t len,
		  uint64_t now)
{
	uint32_t end = seq + len;
	unsigned i;

	if (!len)
		return;
	if (!tp->ntxl || SEQ_GEQ(seq, tp->txl[tp->ntxl - 1].end)) {
		/* new data */
		struct ns_txrec *l = tp->ntxl ? &tp->txl[tp->ntxl - 1] : NULL;
		if (l && l->end == seq && l->ts == now && l->fl == 0) {
			l->end = end;
			return;
		}
		if (tp->ntxl >= NS_TCP_TXLOG && !make_room(tp)) {
			/* full of distinct marks: fold into the last record,
			 * whose marks are lost (pipe overestimates: safe) */
			l->end = end;
			l->ts = now;
			l->fl &= R_RETRANS;
			return;
		}
		l = &tp->txl[tp->ntxl++];
		l->start = seq;
		l->end = end;
		l->ts = now;
		l->fl = 0;
		return;
	}
	/* a retransmission: [seq, end) gets the new time and mark; if the
	 * log is too full to split, the whole records (later: safe) */
	if (SEQ_GT(end, tp->txl[tp->ntxl - 1].end))
		end = tp->txl[tp->ntxl - 1].end;
	split_at(tp, seq);
	split_at(tp, end);
	for (i = 0; i < tp->ntxl; i++) {
		struct ns_txrec *r = &tp->txl[i];
		if (SEQ_LEQ(r->end, seq) || SEQ_GEQ(r->start, end))
			continue;
		r->ts = now;
		r->fl = (r->fl & ~R_LOST) | R_RETRANS;
	}
}

/* RFC 8985 6.2 step 2: a delivered record advances RACK */
static void rack_update(struct ns_tcb *tp, const struct ns_txrec *r,
			uint64_t now)
{
	uint64_t rtt = now - r->ts;
	uint32_t rtt_us = rtt / 1000 > UINT32_MAX ? UINT32_MAX :
			  (uint32_t)(rtt / 1000);
	int first;

	if (r->fl & R_RETRANS) {
		/* maybe the original was delivered: ambiguous */
		if (tp->min_rtt_us && rtt_us < tp->min_rtt_us)
			return;
	} else {
		if (!tp->min_rtt_us || rtt_us < tp->min_rtt_us)
			tp->min_rtt_us = rtt_us ? rtt_us : 1;
		/* step 3: an original delivered below one sent after it */
		if (tp->rack_fack_ok && SEQ_LT(r->end, tp->rack_fack))
			tp->reo_seen = 1;
	}
	first = !tp->rack_fack_ok;
	if (first || SEQ_GT(r->end, tp->rack_fack)) {
		tp->rack_fack = r->end;
		tp->rack_fack_ok = 1;
	}
	if (first || r->ts > tp->rack_ts ||
	    (r->ts == tp->rack_ts && SEQ_GT(r->end, tp->rack_end))) {
		tp->rack_ts = r->ts;
		tp->rack_end = r->end;
		tp->rack_rtt_us = rtt_us;
	}
}

void ns_rack_delivered(struct ns_tcb *tp, uint32_t start, uint32_t end,
		       uint64_t now)
{
	unsigned i;

	if (!tp->ntxl || !SEQ_LT(start, end))
		return;
	if (SEQ_LT(start, tp->txl[0].start))
		start = tp->txl[0].start;
	split_at(tp, start);
	split_at(tp, end);
	for (i = 0; i < tp->ntxl; i++) {
		struct ns_txrec *r = &tp->txl[i];
		if (SEQ_GEQ(r->start, end))
			break;
		if (SEQ_LT(r->start, start) || SEQ_GT(r->end, end) ||
		    (r->fl & R_SACKED))
			continue; /* partly covered (no room to split): later */
		r->fl = (r->fl & ~R_LOST) | R_SACKED;
		rack_update(tp, r, now);
	}
}

void ns_rack_acked(struct ns_tcb *tp, uint32_t una, uint64_t now)
{
	unsigned k = 0, j;

	/* what the cumulative ACK delivers, oldest first: no splitting
	 * (the common case of every ACK, kept cheap) */
	while (k < tp->ntxl && SEQ_LT(tp->txl[k].start, una)) {
		struct ns_txrec *r = &tp->txl[k];
		if (!(r->fl & R_SACKED)) {
			struct ns_txrec d = *r;
			if (SEQ_GT(d.end, una))
				d.end = una;
			rack_update(tp, &d, now);
		}
		if (SEQ_GT(r->end, una)) {
			r->start = una;
			break;
		}
		k++;
	}
	if (!k)
		return;
	for (j = k; j < tp->ntxl; j++)
		tp->txl[j - k] = tp->txl[j];
	tp->ntxl = (uint8_t)(tp->ntxl - k);
}

void ns_rack_dsack(struct ns_tcb *tp)
{
	tp->reo_seen = 1;
	if (tp->reo_round_ok && SEQ_LT(tp->snd_una, tp->reo_round))
		return; /* once per round trip */
	if (tp->reo_mult < 3)
		tp->reo_mult++;
	tp->reo_round = tp->snd_max;
	tp->reo_round_ok = 1;
	tp->reo_recoveries = 0;
}

void ns_rack_unmark(struct ns_tcb *tp)
{
	unsigned i;
	for (i = 0; i < tp->ntxl; i++)
		tp->txl[i].fl &= ~R_LOST;
	tp->t_reo = 0; /* the next ACK's detection re-arms it */
}

void ns_rack_recovery(struct ns_tcb *tp)
{
	if (++tp->reo_recoveries >= 16) {
		tp->reo_mult = 0;
		tp->reo_recoveries = 0;
	}
}

void ns_rack_reset(struct ns_tcb *tp)
{
	unsigned i;
	for (i = 0; i < tp->ntxl; i++)
		tp->txl[i].fl &= R_RETRANS;
	tp->rack_ts = 0;
	tp->rack_end = tp->snd_una;
	tp->rack_fack_ok = 0;
	tp->t_reo = tp->t_tlp = 0; /* the caller re-arms t_rexmt */
	tp->tlp_on = 0;
}

static uint64_t reo_wnd_ns(const struct ns_tcb *tp)
{
	uint64_t w;

	if (!tp->reo_seen) {
		if ((tp->tf & TF_RECOVERY) ||
		    ns_sack_bytes(tp) >= NS_TCP_DUPACK_THRESH * (uint32_t)tp->mss)
			return 0;
		return (uint64_t)tp->min_rtt_us * 1000 / 4;
	}
	w = (uint64_t)(tp->reo_mult + 1u) * tp->srtt_us * 1000 / 4;
	if (w > (uint64_t)tp->srtt_us * 1000)
		w = (uint64_t)tp->srtt_us * 1000;
	return w;
}

uint32_t ns_rack_detect(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint64_t reo = reo_wnd_ns(tp), rtt = (uint64_t)tp->rack_rtt_us * 1000;
	uint64_t wait = 0;
	uint32_t lost = 0;
	unsigned i;

	if (!tp->rack_fack_ok)
		return 0; /* nothing delivered since the start or an RTO */
	for (i = 0; i < tp->ntxl; i++) {
		struct ns_txrec *r = &tp->txl[i];
		uint64_t due;
		if (r->fl & (R_SACKED | R_LOST))
			continue;
		/* only what was sent before the newest delivered segment
		 * (in one clock tick: in sequence order, originals before
		 * retransmissions) */
		if (r->ts > tp->rack_ts ||
		    (r->ts == tp->rack_ts && ((r->fl & R_RETRANS) ||
					      !SEQ_LT(r->end, tp->rack_end))))
			continue;
		due = r->ts + rtt + reo;
		if (due <= st->now) {
			r->fl |= R_LOST;
			lost += r->end - r->start;
		} else if (due - st->now > wait) {
			wait = due - st->now;
		}
	}
	ns_tcp_timer_set(st, so, &tp->t_reo, wait ? st->now + wait : 0);
	return lost;
}

uint32_t ns_rack_pipe(const struct ns_tcb *tp)
{
	uint32_t pipe = 0;
	unsigned i;
	for (i = 0; i < tp->ntxl; i++)
		if (!(tp->txl[i].fl & (R_SACKED | R_LOST)))
			pipe += tp->txl[i].end - tp->txl[i].start;
	return pipe;
}

int ns_rack_first_lost(const struct ns_tcb *tp, uint32_t *start,
		       uint32_t *end)
{
	unsigned i;
	for (i = 0; i < tp->ntxl; i++)
		if ((tp->txl[i].fl & (R_SACKED | R_LOST)) == R_LOST) {
			*start = tp->txl[i].start;
			*end = tp->txl[i].end;
			return 1;
		}
	return 0;
}

void ns_rack_mark_lost(struct ns_tcb *tp, uint32_t start, uint32_t end)
{
	unsigned i;
	split_at(tp, end);
	for (i = 0; i < tp->ntxl; i++) {
		struct ns_txrec *r = &tp->txl[i];
		if (SEQ_LT(r->start, end) && SEQ_GT(r->end, start) &&
		    !(r->fl & R_SACKED))
			r->fl |= R_LOST;
	}
}

/* ---- tail loss probe (RFC 8985 7) -------------------------------------- */
/* A lost tail (the last segments of a flight, or all of a short one)
 * brings no SACK that RACK could use, only the RTO. Two SRTTs after the
 * last ACK (plus the peer's delayed-ACK allowance when one segment is out)
 * the last segment is sent again: its ACK carries SACK information, and
 * RACK does the rest. Retransmitting the last segment rather than new
 * data keeps the probe inside the data the peer has seen. */
#define TLP_WCDELACK_NS (200 * NS_MS) /* RFC 8985 7.2 WCDelAckT */

void ns_tlp_arm(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint64_t pto;

	if (!(tp->tf & TF_SACK_OK) || tp->tlp_on || tp->rxt_shift ||
	    (tp->tf & TF_RECOVERY) || tp->snd_una == tp->snd_max ||
	    !NS_TCPS_HAVEESTABLISHED(tp->state) || !tp->srtt_us) {
		if (tp->t_tlp)
			ns_tcp_timer_set(st, so, &tp->t_tlp, 0);
		return;
	}
	pto = 2ull * tp->srtt_us * 1000;
	if (tp->snd_max - tp->snd_una <= tp->mss)
		pto += TLP_WCDELACK_NS;
	else
		pto += 2 * NS_MS;
	if (tp->t_rexmt && st->now + pto >= tp->t_rexmt) {
		if (tp->t_tlp)
			ns_tcp_timer_set(st, so, &tp->t_tlp, 0);
		return; /* the RTO comes first */
	}
	ns_tcp_timer_set(st, so, &tp->t_tlp, st->now + pto);
}

void ns_tlp_fire(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint32_t len = tp->snd_max - tp->snd_una, seq;

	if (tp->tlp_on || (tp->tf & TF_RECOVERY) || !len ||
	    !NS_TCPS_HAVEESTABLISHED(tp->state))
		return;
	if (len > tp->mss)
		len = tp->mss;
	seq = tp->snd_max - len;
	if (!ns_tcp_rexmit_at(st, so, seq, len))
		return;
	NS_CNT(st, tcp_tlp_probes);
	tp->tlp_on = 1;
	tp->tlp_rexmit = 1;
	tp->tlp_end = tp->snd_max;
	ns_tcp_rexmt_arm(st, so);
}

int ns_tlp_ack(struct ns_tcb *tp, uint32_t ack, int dsack, int dupack)
{
	if (!tp->tlp_on || SEQ_LT(ack, tp->tlp_end))
		return 0;
	/* Linux tcp_process_tlp_ack: a D-SACK, or a pure duplicate ACK at
	 * the probe's end, means the original and the probe both arrived;
	 * an ACK past it without one means the probe repaired a loss. An
	 * ACK of exactly the probe's end may be the original's, its
	 * D-SACK still on the way: wait, unless nothing is left out. */
	if (dsack || (ack == tp->tlp_end && dupack)) {
		tp->tlp_on = 0;
		return 0;
	}
	if (SEQ_GT(ack, tp->tlp_end)) {
		tp->tlp_on = 0;
		return tp->tlp_rexmit;
	}
	if (ack == tp->snd_max)
		tp->tlp_on = 0;
	return 0;
}
