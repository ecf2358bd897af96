/*
 * tcp_sack.c: the sender side of SACK (RFC 2018) and SACK-based loss
 * recovery (RFC 6675, simplified): a scoreboard of up to
 * NS_TCP_SACK_RANGES ranges the peer holds above snd_una, the pipe
 * estimate, and retransmission of what RACK (tcp_rack.c) found lost
 * while pipe < cwnd. Called by tcp_in.c (ACK processing), tcp_out.c
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

/* RFC 6675 pipe: what is in flight, neither SACKed nor lost; which
 * bytes are lost is RACK's verdict (tcp_rack.c) */
uint32_t ns_sack_pipe(const struct ns_tcb *tp)
{
	return ns_rack_pipe(tp);
}

/* RFC 6675 5 (C): retransmit lost data while pipe < cwnd */
void ns_sack_output(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	int iter;

	for (iter = 0; iter < 64; iter++) {
		uint32_t s, e;

		if (ns_sack_pipe(tp) >= tp->cwnd ||
		    !ns_rack_first_lost(tp, &s, &e) ||
		    !ns_tcp_rexmit_at(st, so, s, e - s))
			break;
	}
}
