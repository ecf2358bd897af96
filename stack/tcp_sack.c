/*
 * tcp_sack.c: the sender side of SACK (RFC 2018) and SACK-based loss
 * recovery (RFC 6675, simplified): a scoreboard of up to
 * NS_TCP_SACK_RANGES ranges the peer holds above snd_una, the pipe
 * estimate, and retransmission of the holes below the highest SACKed
 * byte while pipe < cwnd. Called by tcp_in.c (ACK processing), tcp_out.c
 * (pipe) and tcp_timer.c (an RTO clears the board, RFC 6675 5.1).
 * D-SACK blocks (RFC 2883) never enter the board; tcp_in.c reports them
 * to tcp_cc.c, which undoes a reduction all of whose retransmissions
 * turn out to have been duplicates.
 */
#include "stack/ns_priv.h"

void ns_sack_clear(struct ns_tcb *tp)
{
	tp->nsacked = 0;
}

int ns_sack_is_dsack(const struct ns_tcb *tp, const struct ns_ooo *blk,
		     unsigned n, uint32_t ack)
{
	if (!n || !SEQ_LT(blk[0].start, blk[0].end) ||
	    SEQ_GT(blk[0].end, tp->snd_max) || !SEQ_GT(blk[0].start, tp->iss))
		return 0;
	if (SEQ_LEQ(blk[0].end, ack))
		return 1;               /* RFC 2883 4.1.1-3 */
	return n > 1 && SEQ_GEQ(blk[0].start, blk[1].start) &&
	       SEQ_LEQ(blk[0].end, blk[1].end); /* 4.2 */
}

void ns_sack_update(struct ns_tcb *tp, const struct ns_ooo *blk, unsigned n)
{
	unsigned k, i, j;

	for (k = 0; k < n; k++) {
		uint32_t s = blk[k].start, e = blk[k].end;
		/* ignore D-SACKs and anything outside what is in flight */
		if (!SEQ_LT(s, e) || SEQ_LEQ(s, tp->snd_una) ||
		    SEQ_GT(e, tp->snd_max))
			continue;
		for (i = 0; i < tp->nsacked;) {
			struct ns_ooo *r = &tp->sacked[i];
			if (SEQ_LEQ(r->start, e) && SEQ_GEQ(r->end, s)) {
				s = SEQ_MIN(s, r->start);
				e = SEQ_MAX(e, r->end);
				for (j = i; j + 1 < tp->nsacked; j++)
					tp->sacked[j] = tp->sacked[j + 1];
				tp->nsacked--;
				continue;
			}
			i++;
		}
		if (tp->nsacked >= NS_TCP_SACK_RANGES)
			continue; /* full: recovery just sees less */
		for (i = 0; i < tp->nsacked && SEQ_LT(tp->sacked[i].start, s); i++)
			;
		for (j = tp->nsacked; j > i; j--)
			tp->sacked[j] = tp->sacked[j - 1];
		tp->sacked[i].start = s;
		tp->sacked[i].end = e;
		tp->nsacked++;
	}
}

void ns_sack_trim(struct ns_tcb *tp)
{
	unsigned i = 0, j;

	while (i < tp->nsacked) {
		struct ns_ooo *r = &tp->sacked[i];
		if (SEQ_LEQ(r->end, tp->snd_una)) {
			for (j = i; j + 1 < tp->nsacked; j++)
				tp->sacked[j] = tp->sacked[j + 1];
			tp->nsacked--;
			continue;
		}
		if (SEQ_LT(r->start, tp->snd_una))
			r->start = tp->snd_una;
		i++;
	}
}

uint32_t ns_sack_bytes(const struct ns_tcb *tp)
{
	uint32_t b = 0;
	unsigned i;
	for (i = 0; i < tp->nsacked; i++)
		b += tp->sacked[i].end - tp->sacked[i].start;
	return b;
}

/* RFC 6675 IsLost(seq): more than (DupThresh - 1) * SMSS bytes SACKed
 * above it */
static int is_lost(const struct ns_tcb *tp, uint32_t seq)
{
	uint32_t above = 0;
	int i;

	for (i = (int)tp->nsacked - 1; i >= 0; i--) {
		const struct ns_ooo *r = &tp->sacked[i];
		if (SEQ_LEQ(r->end, seq))
			break;
		above += r->end - SEQ_MAX(r->start, seq);
	}
	return above > (NS_TCP_DUPACK_THRESH - 1u) * tp->mss;
}

/* lost bytes not yet retransmitted: lost holes in [max(HighRxt, una),
 * highest SACKed) */
static uint32_t lost_unrxt(const struct ns_tcb *tp)
{
	uint32_t seq = SEQ_MAX(tp->high_rxt, tp->snd_una), lost = 0;
	unsigned i;

	for (i = 0; i < tp->nsacked; i++) {
		const struct ns_ooo *r = &tp->sacked[i];
		if (SEQ_LT(seq, r->start)) {
			if (!is_lost(tp, seq))
				break;
			lost += r->start - seq;
		}
		if (SEQ_LT(seq, r->end))
			seq = r->end;
	}
	return lost;
}

uint32_t ns_sack_pipe(const struct ns_tcb *tp)
{
	uint32_t flight = tp->snd_max - tp->snd_una;
	uint32_t out = ns_sack_bytes(tp) + lost_unrxt(tp);
	return flight > out ? flight - out : 0;
}

void ns_sack_output(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	int iter;

	for (iter = 0; iter < 64 && tp->nsacked; iter++) {
		uint32_t seq = SEQ_MAX(tp->high_rxt, tp->snd_una), end, n;
		uint32_t hs = tp->sacked[tp->nsacked - 1].end;
		unsigned i;

		if (ns_sack_pipe(tp) >= tp->cwnd)
			break;
		for (i = 0; i < tp->nsacked; i++)
			if (SEQ_LEQ(tp->sacked[i].start, seq) &&
			    SEQ_LT(seq, tp->sacked[i].end))
				seq = tp->sacked[i].end;
		if (!SEQ_LT(seq, hs) || !is_lost(tp, seq))
			break; /* no lost hole below the highest SACK */
		end = hs;
		for (i = 0; i < tp->nsacked; i++)
			if (SEQ_GT(tp->sacked[i].start, seq)) {
				end = tp->sacked[i].start;
				break;
			}
		n = ns_tcp_rexmit_at(st, so, seq, end - seq);
		if (!n)
			break;
		tp->high_rxt = seq + n;
	}
}
