/*
 * tcp_timer.c: the per-connection timers, run by stack.c when due.
 * Retransmission (RFC 6298 5, back-off 5.5, give up after R2 or
 * TCP_USER_TIMEOUT, RFC 1122 4.2.3.5), persist / zero-window probes
 * (RFC 9293 3.8.6.1), delayed ACK (RFC 1122 4.2.3.2), keep-alive
 * (RFC 1122 4.2.3.6) and 2*MSL / orphaned FIN_WAIT_2. Calls tcp_out.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

static void rexmt_fire(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	int syn = tp->state == NS_TCPS_SYN_SENT ||
		  tp->state == NS_TCPS_SYN_RECEIVED;

	if (tp->snd_max == tp->snd_una)
		return;
	if (!tp->first_rxt_ns)
		tp->first_rxt_ns = st->now;
	if ((syn && tp->rxt_shift >= NS_TCP_SYN_RETRIES) ||
	    tp->rxt_shift >= NS_TCP_RETRIES2 ||
	    (tp->user_timeout_ms && st->now - tp->first_rxt_ns >=
	     (uint64_t)tp->user_timeout_ms * NS_MS)) {
		if (syn && tp->state == NS_TCPS_SYN_RECEIVED)
			ns_tcp_respond(st, so, tp->snd_max, tp->rcv_nxt,
				       NS_TH_RST | NS_TH_ACK);
		ns_tcp_drop(st, so, ETIMEDOUT);
		return;
	}
	tp->rxt_shift++;
	NS_CNT(st, tcp_rto_timeouts);
	if (!syn)
		ns_cc_rto(st, tp);
	/* RFC 6582 4.1: no fast recovery for what was sent before the RTO */
	tp->recover = tp->snd_max;
	tp->tf &= ~(TF_RECOVERY | TF_RTT_TIMING); /* Karn */
	tp->dupacks = 0;
	ns_sack_clear(tp); /* RFC 6675 5.1: the peer may renege */
	ns_rack_reset(tp); /* and its timers */
	tp->snd_nxt = tp->snd_una; /* go back N */
	ns_tcp_rexmt_arm(st, so);
	tp->tf |= TF_FORCE;
	ns_tcp_output(st, so);
}

static void persist_fire(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	if (tp->snd_wnd == 0) {
		/* RFC 9293 3.8.6.1 keeps probing while the peer answers; a
		 * peer that stopped answering is dropped after R2 probes,
		 * and TCP_USER_TIMEOUT bounds the whole stall even if
		 * answered (both as Linux tcp_probe_timer) */
		if (!tp->probe_start_ns)
			tp->probe_start_ns = st->now;
		if (tp->probes >= NS_TCP_RETRIES2 ||
		    (tp->user_timeout_ms && st->now - tp->probe_start_ns >=
		     (uint64_t)tp->user_timeout_ms * NS_MS)) {
			ns_tcp_drop(st, so, ETIMEDOUT);
			return;
		}
		tp->probes++;
		/* zero-window probe: an old sequence number elicits an ACK
		 * carrying the current window */
		NS_CNT(st, tcp_zwp_sent);
		ns_tcp_respond(st, so, tp->snd_una - 1, tp->rcv_nxt, NS_TH_ACK);
		tp->persist_ns *= 2;
		if (tp->persist_ns > NS_TCP_PERSIST_MAX_NS)
			tp->persist_ns = NS_TCP_PERSIST_MAX_NS;
		ns_tcp_timer_set(st, so, &tp->t_persist,
				 st->now + tp->persist_ns);
		return;
	}
	/* a small usable window or a cork held data: send it now */
	tp->tf |= TF_FORCE;
	ns_tcp_output(st, so);
	tp->tf &= ~TF_FORCE;
}

static void keep_fire(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint64_t idle = (uint64_t)tp->keepidle_s * 1000 * NS_MS;
	uint64_t intvl = (uint64_t)tp->keepintvl_s * 1000 * NS_MS;

	if (!(so->sf & SF_KEEPALIVE) || !NS_TCPS_HAVEESTABLISHED(tp->state) ||
	    tp->state == NS_TCPS_TIME_WAIT)
		return;
	if (st->now - tp->last_rcv_ns < idle && !tp->keep_sent) {
		ns_tcp_timer_set(st, so, &tp->t_keep, tp->last_rcv_ns + idle);
		return;
	}
	if (tp->keep_sent >= tp->keepcnt) {
		ns_tcp_drop(st, so, ETIMEDOUT);
		return;
	}
	tp->keep_sent++;
	NS_CNT(st, tcp_keepalive_sent);
	ns_tcp_respond(st, so, tp->snd_una - 1, tp->rcv_nxt, NS_TH_ACK);
	ns_tcp_timer_set(st, so, &tp->t_keep, st->now + intvl);
}

void ns_tcp_timers(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint64_t now = st->now;

	if (tp->t_2msl && tp->t_2msl <= now) {
		tp->t_2msl = 0;
		if (tp->state == NS_TCPS_TIME_WAIT) {
			ns_tcp_close_done(st, so);
			return;
		}
		if (tp->state == NS_TCPS_FIN_WAIT_2 && (so->sf & SF_ORPHAN)) {
			ns_tcp_drop(st, so, ETIMEDOUT);
			return;
		}
	}
	if (tp->t_rexmt && tp->t_rexmt <= now) {
		tp->t_rexmt = 0;
		rexmt_fire(st, so);
		if (so->type != NS_SOCK_TCP || tp->state == NS_TCPS_CLOSED)
			return;
	}
	if (tp->t_persist && tp->t_persist <= now) {
		tp->t_persist = 0;
		persist_fire(st, so);
	}
	if (tp->t_keep && tp->t_keep <= now) {
		tp->t_keep = 0;
		keep_fire(st, so);
		if (so->type != NS_SOCK_TCP || tp->state == NS_TCPS_CLOSED)
			return;
	}
	if (tp->t_reo && tp->t_reo <= now) {
		tp->t_reo = 0;
		ns_tcp_rack_timeout(st, so);
	}
	if (tp->t_tlp && tp->t_tlp <= now) {
		tp->t_tlp = 0;
		ns_tlp_fire(st, so);
	}
	if (tp->t_delack && tp->t_delack <= now) {
		tp->t_delack = 0;
		if (tp->tf & TF_DELACK) {
			tp->tf |= TF_ACKNOW;
			ns_tcp_output(st, so);
		}
	}
	ns_tcp_timer_set(st, so, &tp->t_delack, tp->t_delack);
}
