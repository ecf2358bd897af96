/*
 * tcp_subr.c: TCB life cycle. Initialisation, ISN choice (RFC 6528
 * flavour: a 4 us clock plus per-instance randomness), the one function
 * every state change goes through, active open, user close/shutdown and
 * abort, dropping a connection, timer bookkeeping, RTT estimation
 * (RFC 6298 2) and the receive window. Called by sock.c and the other
 * tcp_*.c files.
 */
#include "stack/ns_priv.h"

#include <errno.h>

const char *const ns_tcp_state_names[NS_TCPS_COUNT] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
	"CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2",
	"TIME_WAIT",
};

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4 us clock, F SipHash-2-4 under a key from the
 * embedder's secret: unpredictable off path, and increasing for one
 * 4-tuple across incarnations (TIME_WAIT reuse, RFC 6191). */
uint32_t ns_tcp_iss(struct ns_stack *st, const union ns_in46 *l,
		    uint16_t lport_be, const union ns_in46 *r,
		    uint16_t rport_be)
{
	if (st->iss_next_set) {
		/* tests pin the ISN (e.g. just below 2^32) */
		return st->iss_next;
	}
	return (uint32_t)(st->now / 4000) +
	       (uint32_t)ns_secure_flow(st->key_isn, l, lport_be, r, rport_be,
					0);
}

/* RFC 7323 7.1: a timestamp offset per connection, keyed by its 4-tuple
 * (no clock shared across connections for an observer to read) */
static uint32_t ts_offset_of(struct ns_stack *st, const struct ns_sock *so)
{
	return (uint32_t)ns_secure_flow(st->key_ts, &so->laddr, so->lport_be,
					&so->raddr, so->rport_be, 0);
}

void ns_tcp_secure_init(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	tp->iss = ns_tcp_iss(st, &so->laddr, so->lport_be, &so->raddr,
			     so->rport_be);
	tp->ts_offset = ts_offset_of(st, so);
	/* IDs per connection from a keyed start, as Linux's inet_id; only
	 * a DF datagram's ID (RFC 6864 4.1: no meaning, but not a counter
	 * an observer could read our other traffic from) */
	tp->ip_id = (uint16_t)(ns_secure_flow(st->key_ipid, &so->laddr,
					      so->lport_be, &so->raddr,
					      so->rport_be, 0) >> 32);
}

void ns_tcp_init_tcb(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint32_t w = st->cfg.rcvbuf;

	tp->state = NS_TCPS_CLOSED;
	tp->sb_mask = st->cfg.sndbuf - 1;
	tp->rb_mask = st->cfg.rcvbuf - 1;
	/* auto-tuning starts at *buf_init and grows to the ring */
	tp->sb_lim = st->cfg.sndbuf_init && st->cfg.sndbuf_init < st->cfg.sndbuf ?
		     st->cfg.sndbuf_init : st->cfg.sndbuf;
	tp->rb_lim = st->cfg.rcvbuf_init && st->cfg.rcvbuf_init < st->cfg.rcvbuf ?
		     st->cfg.rcvbuf_init : st->cfg.rcvbuf;
	if (tp->sb_lim < 2048)
		tp->sb_lim = st->cfg.sndbuf < 2048 ? st->cfg.sndbuf : 2048;
	if (tp->rb_lim < 2048)
		tp->rb_lim = st->cfg.rcvbuf < 2048 ? st->cfg.rcvbuf : 2048;
	tp->mss = NS_TCP_MSS_DEFAULT;
	tp->peer_mss = NS_TCP_MSS_DEFAULT;
	tp->rcv_mss = st->mss_max;
	tp->rcv_wscale = 0;
	while ((w >> tp->rcv_wscale) > 65535 && tp->rcv_wscale < 14)
		tp->rcv_wscale++;
	tp->rto_ns = NS_TCP_RTO_INIT_NS;
	tp->keepidle_s = NS_TCP_KEEPIDLE_S;
	tp->keepintvl_s = NS_TCP_KEEPINTVL_S;
	tp->keepcnt = NS_TCP_KEEPCNT;
	tp->cc_algo = NS_CC_CUBIC;
	tp->ts_offset = 0; /* keyed by the 4-tuple at ns_tcp_secure_init */
	tp->persist_ns = NS_TCP_PERSIST_MIN_NS;
}

void ns_tcp_act_insert(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t sd = ns_sd(st, so);
	if (so->sf & SF_ACTIVE)
		return;
	so->act_prev = NS_NONE;
	so->act_next = st->act_head;
	if (st->act_head != NS_NONE)
		st->socks[st->act_head].act_prev = sd;
	st->act_head = sd;
	so->sf |= SF_ACTIVE;
}

void ns_tcp_set_state(struct ns_stack *st, struct ns_sock *so, int state)
{
	struct ns_tcb *tp = &so->tcb;
	int old = tp->state;

	if (old == state)
		return;
	tp->state = (uint8_t)state;
	if (st->state_hook)
		st->state_hook(st, ns_sd(st, so), old, state);
	switch (state) {
	case NS_TCPS_SYN_SENT:
	case NS_TCPS_SYN_RECEIVED:
		ns_tcp_act_insert(st, so);
		break;
	case NS_TCPS_ESTABLISHED:
		so->sf |= SF_WASCONN;
		if (old == NS_TCPS_SYN_SENT)
			NS_CNT(st, tcp_conn_active);
		else
			NS_CNT(st, tcp_conn_passive);
		tp->last_rcv_ns = st->now;
		if (so->sf & SF_KEEPALIVE)
			ns_tcp_timer_set(st, so, &tp->t_keep, st->now +
				(uint64_t)tp->keepidle_s * 1000 * NS_MS);
		break;
	case NS_TCPS_TIME_WAIT:
		/* RFC 9293 3.6.1: wait 2*MSL; nothing else is pending */
		tp->t_rexmt = tp->t_persist = tp->t_delack = tp->t_keep = 0;
		tp->t_reo = tp->t_tlp = 0;
		ns_tcp_timer_set(st, so, &tp->t_2msl, st->now +
				 (uint64_t)st->cfg.time_wait_ms * NS_MS);
		break;
	case NS_TCPS_FIN_WAIT_2:
		if (so->sf & SF_ORPHAN)
			ns_tcp_timer_set(st, so, &tp->t_2msl,
					 st->now + NS_TCP_FIN_WAIT2_NS);
		break;
	case NS_TCPS_CLOSED:
		tp->t_rexmt = tp->t_persist = tp->t_delack = tp->t_keep = 0;
		tp->t_2msl = tp->t_next = tp->t_reo = tp->t_tlp = 0;
		break;
	default:
		break;
	}
	ns_sock_event(st, so);
	if (so->parent != NS_NONE && state == NS_TCPS_ESTABLISHED) {
		/* an embryonic connection completed: to the accept queue */
		struct ns_sock *l = &st->socks[so->parent];
		uint32_t sd = ns_sd(st, so);
		so->sf |= SF_ACCEPTQ;
		so->aq_next = NS_NONE;
		if (l->aq_tail != NS_NONE)
			st->socks[l->aq_tail].aq_next = sd;
		else
			l->aq_head = sd;
		l->aq_tail = sd;
		ns_sock_event(st, l);
	}
}

void ns_tcp_timer_set(struct ns_stack *st, struct ns_sock *so, uint64_t *t,
		      uint64_t deadline)
{
	struct ns_tcb *tp = &so->tcb;
	uint64_t m = 0;

	*t = deadline;
	if (tp->t_rexmt)
		m = tp->t_rexmt;
	if (tp->t_persist && (!m || tp->t_persist < m))
		m = tp->t_persist;
	if (tp->t_delack && (!m || tp->t_delack < m))
		m = tp->t_delack;
	if (tp->t_keep && (!m || tp->t_keep < m))
		m = tp->t_keep;
	if (tp->t_2msl && (!m || tp->t_2msl < m))
		m = tp->t_2msl;
	if (tp->t_reo && (!m || tp->t_reo < m))
		m = tp->t_reo;
	if (tp->t_tlp && (!m || tp->t_tlp < m))
		m = tp->t_tlp;
	tp->t_next = m;
	ns_timer_note(st, m);
}

void ns_tcp_rexmt_arm(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint64_t rto = tp->rto_ns << (tp->rxt_shift > 12 ? 12 : tp->rxt_shift);
	if (rto > NS_TCP_RTO_MAX_NS)
		rto = NS_TCP_RTO_MAX_NS;
	ns_tcp_timer_set(st, so, &tp->t_rexmt, st->now + rto);
}

/* RFC 6298 2.2 and 2.3, with K = 4, G = 1 ms */
void ns_tcp_rtt_sample(struct ns_tcb *tp, uint64_t rtt_ns)
{
	uint64_t us = rtt_ns / 1000, rto;
	uint32_t r = us > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)us;
	uint32_t g = 1000;

	if (tp->srtt_us == 0) {
		tp->srtt_us = r ? r : 1;
		tp->rttvar_us = r / 2;
	} else {
		uint32_t d = tp->srtt_us > r ? tp->srtt_us - r : r - tp->srtt_us;
		tp->rttvar_us = (3 * tp->rttvar_us + d) / 4;
		tp->srtt_us = (7 * tp->srtt_us + r) / 8;
		if (!tp->srtt_us)
			tp->srtt_us = 1;
	}
	rto = (uint64_t)tp->srtt_us +
	      (4ull * tp->rttvar_us > g ? 4ull * tp->rttvar_us : g);
	rto *= 1000;
	if (rto < NS_TCP_RTO_MIN_NS)
		rto = NS_TCP_RTO_MIN_NS;
	if (rto > NS_TCP_RTO_MAX_NS)
		rto = NS_TCP_RTO_MAX_NS;
	tp->rto_ns = rto;
}

uint32_t ns_tcp_ts_now(const struct ns_stack *st, const struct ns_tcb *tp)
{
	return st->now_ms + tp->ts_offset;
}

uint32_t ns_tcp_rcv_window(const struct ns_tcb *tp)
{
	return tp->rb_lim > tp->rb_len ? tp->rb_lim - tp->rb_len : 0;
}

/* a receiver RTT sample in us; win_dep: the time one window took to
 * arrive, an upper bound, so it may only lower the estimate */
static void rcv_rtt_sample(struct ns_tcb *tp, uint32_t us, int win_dep)
{
	if (!tp->rcv_rtt_us || us < tp->rcv_rtt_us)
		tp->rcv_rtt_us = us;           /* a lower sample wins */
	else if (!win_dep)
		tp->rcv_rtt_us = tp->rcv_rtt_us - tp->rcv_rtt_us / 8 + us / 8;
}

/* The receiver's RTT from the echo of our timestamp on a data segment
 * (Linux tcp_rcv_rtt_measure_ts): a sender's data comes back one RTT
 * after the ACK it answers. ms resolution, so 0 reads as 1 ms. */
void ns_tcp_rcv_rtt_ts(struct ns_stack *st, struct ns_tcb *tp,
		       uint32_t tsecr)
{
	uint32_t d = ns_tcp_ts_now(st, tp) - tsecr;

	if (!tsecr || d > 60000)
		return; /* no echo, or from the future / too old */
	rcv_rtt_sample(tp, d ? d * 1000 : 1000, 0);
}

/* Without timestamps (Linux tcp_rcv_rtt_measure): the time until the
 * data filling the window we offered has arrived. Called by tcp_in.c
 * when rcv_nxt advanced. */
void ns_tcp_rcv_rtt_win(struct ns_stack *st, struct ns_tcb *tp)
{
	uint64_t d;

	if (tp->rrt_time && SEQ_LT(tp->rcv_nxt, tp->rrt_seq))
		return;
	if (tp->rrt_time) {
		d = (st->now - tp->rrt_time) / 1000;
		if (d)
			rcv_rtt_sample(tp, d > 60000000 ? 60000000 : (uint32_t)d,
				       1);
	}
	tp->rrt_seq = tp->rcv_nxt + ns_tcp_rcv_window(tp);
	tp->rrt_time = st->now;
}

/* Receive-buffer auto-tuning (Linux tcp_rcv_space_adjust, "dynamic
 * right-sizing"): once per receiver RTT, if the user drained more than
 * ever before, let the window grow to twice that plus 16 segments, so a
 * fast reader is never window-limited and a slow one never pins more
 * than it reads. Bounded by the preallocated ring; off after SO_RCVBUF.
 * Called by sock.c after the user consumed n bytes. */
void ns_tcp_rcvbuf_adjust(struct ns_stack *st, struct ns_sock *so, uint32_t n)
{
	struct ns_tcb *tp = &so->tcb;
	uint32_t ring = tp->rb_mask + 1, copied, want;
	uint64_t rtt_ns;

	tp->rq_copied += n;
	if ((tp->tf & TF_RCVBUF_LOCK) || tp->rb_lim >= ring)
		return;
	if (!tp->rq_space) {
		/* the first read starts the first measurement */
		tp->rq_space = NS_TCP_INIT_CWND_SEGS * (uint32_t)tp->rcv_mss;
		tp->rq_time = st->now;
		tp->rq_mark = tp->rq_copied - n;
	}
	rtt_ns = (uint64_t)(tp->rcv_rtt_us ? tp->rcv_rtt_us :
			    tp->srtt_us ? tp->srtt_us : NS_TCP_RCV_RTT_DEF_US) * 1000;
	if (st->now - tp->rq_time < rtt_ns)
		return;
	copied = tp->rq_copied - tp->rq_mark;
	tp->rq_mark = tp->rq_copied;
	tp->rq_time = st->now;
	if (copied <= tp->rq_space)
		return;
	tp->rq_space = copied;
	want = copied > ring ? ring : 2 * copied + 16 * (uint32_t)tp->rcv_mss;
	if (want > ring)
		want = ring;
	if (want > tp->rb_lim) {
		tp->rb_lim = want;
		NS_CNT(st, tcp_rcvbuf_grown);
	}
}

/* Send-buffer growth with cwnd (Linux tcp_sndbuf_expand): room for two
 * congestion windows, so the user can keep the pipe full while the
 * previous window is being acknowledged. Bounded by the ring; off after
 * SO_SNDBUF. Called by tcp_cc.c when cwnd grew. */
void ns_tcp_sndbuf_expand(struct ns_stack *st, struct ns_tcb *tp)
{
	uint32_t ring = tp->sb_mask + 1;
	uint64_t want = 2ull * tp->cwnd;

	if ((tp->tf & TF_SNDBUF_LOCK) || tp->sb_lim >= ring ||
	    want <= tp->sb_lim)
		return;
	tp->sb_lim = want > ring ? ring : (uint32_t)want;
	NS_CNT(st, tcp_sndbuf_grown);
}

uint32_t ns_tcp_flight(const struct ns_tcb *tp)
{
	return tp->snd_max - tp->snd_una;
}

int ns_tcp_connect(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	ns_tcp_secure_init(st, so);
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_sml = tp->iss;
	tp->sb_seq = tp->iss + 1;
	tp->recover = tp->iss;
	tp->mss = (uint16_t)(ns_tcp_mss_max(st, so) < NS_TCP_MSS_DEFAULT ?
			     ns_tcp_mss_max(st, so) : NS_TCP_MSS_DEFAULT);
	tp->rcv_mss = ns_tcp_mss_max(st, so);
	ns_cc_init(st, tp);
	ns_tcp_set_state(st, so, NS_TCPS_SYN_SENT);
	ns_sock_want_output(st, so);
	return 0;
}

/* everything after the connection is gone */
void ns_tcp_close_done(struct ns_stack *st, struct ns_sock *so)
{
	if (so->tcb.state != NS_TCPS_CLOSED)
		ns_tcp_set_state(st, so, NS_TCPS_CLOSED);
	if (so->sf & SF_HASHED)
		ns_conn_remove(st, so);
	if (so->parent != NS_NONE && !(so->sf & SF_ACCEPTQ)) {
		/* embryonic: it was only ever the listener's */
		st->socks[so->parent].qlen--;
		so->parent = NS_NONE;
		ns_sock_free(st, so);
		return;
	}
	if (so->sf & SF_ORPHAN)
		ns_sock_free(st, so);
}

void ns_tcp_drop(struct ns_stack *st, struct ns_sock *so, int err)
{
	if (err)
		so->so_error = err;
	if (err == ETIMEDOUT)
		NS_CNT(st, tcp_conn_timeout);
	else if (err == ECONNRESET || err == ECONNREFUSED)
		NS_CNT(st, tcp_conn_reset);
	ns_tcp_close_done(st, so);
}

void ns_tcp_abort(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	/* RFC 9293 3.10.5 ABORT: RST in synchronized states */
	if (tp->state == NS_TCPS_SYN_RECEIVED ||
	    (NS_TCPS_HAVEESTABLISHED(tp->state) &&
	     tp->state != NS_TCPS_TIME_WAIT))
		ns_tcp_respond(st, so, tp->snd_max, tp->rcv_nxt,
			       NS_TH_RST | NS_TH_ACK);
	ns_tcp_close_done(st, so);
}

void ns_tcp_usr_shutdown_wr(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	/* RFC 9293 3.10.4 CLOSE: queue a FIN after the data */
	switch (tp->state) {
	case NS_TCPS_SYN_RECEIVED:
	case NS_TCPS_ESTABLISHED:
		tp->tf |= TF_FIN_QUEUED;
		ns_tcp_set_state(st, so, NS_TCPS_FIN_WAIT_1);
		break;
	case NS_TCPS_CLOSE_WAIT:
		tp->tf |= TF_FIN_QUEUED;
		ns_tcp_set_state(st, so, NS_TCPS_LAST_ACK);
		break;
	default:
		return;
	}
	ns_sock_want_output(st, so);
}

void ns_tcp_usr_close(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	switch (tp->state) {
	case NS_TCPS_CLOSED:
	case NS_TCPS_LISTEN:
	case NS_TCPS_SYN_SENT:
		ns_tcp_close_done(st, so);
		return;
	case NS_TCPS_FIN_WAIT_2:
		ns_tcp_timer_set(st, so, &tp->t_2msl,
				 st->now + NS_TCP_FIN_WAIT2_NS);
		return;
	default:
		ns_tcp_usr_shutdown_wr(st, so);
		return;
	}
}
