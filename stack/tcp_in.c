/*
 * tcp_in.c: TCP input, following RFC 9293 3.10.7 ("SEGMENT ARRIVES") in
 * its order: parse and validate (header length, options, checksum), find
 * the connection (4-tuple, then a listener), then per state: LISTEN
 * (backlog, embryonic connection), SYN_SENT, and the synchronized states:
 * PAWS (RFC 7323 5), sequence acceptability and trimming, RST and SYN
 * with RFC 5961 challenge ACKs, ACK processing (RFC 5961 5.2 bounds, RTT,
 * NewReno fast retransmit and recovery, RFC 5681 / 6582), window update,
 * data (in order into the receive ring, out of order kept as SACK ranges,
 * RFC 2018), FIN and the close states. Also ICMP errors for TCP
 * (RFC 1191 path MTU, RFC 5927 checks). Called by ip4.c and icmp.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

struct tcp_opts {
	uint16_t mss;
	uint8_t ws, has_mss, has_ws, sack_ok, has_ts, nsack;
	uint32_t tsval, tsecr;
	struct ns_ooo sack[4];
};

/* 0 or -EINVAL; never reads past [o, o + len) */
static int parse_opts(const uint8_t *o, unsigned len, struct tcp_opts *to,
		      int syn)
{
	unsigned i = 0;

	to->mss = 0;
	to->ws = to->has_mss = to->has_ws = to->sack_ok = to->has_ts = 0;
	to->nsack = 0;
	to->tsval = to->tsecr = 0;
	while (i < len) {
		uint8_t kind = o[i], olen;
		if (kind == NS_TCPOPT_EOL)
			break;
		if (kind == NS_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL;   /* length byte past the header */
		olen = o[i + 1];
		if (olen < 2 || i + olen > len)
			return -EINVAL;   /* zero-length or past the header */
		switch (kind) {
		case NS_TCPOPT_MSS:
			if (olen != 4)
				return -EINVAL;
			if (syn) {
				to->mss = ns_ntohs(ns_get16(o + i + 2));
				to->has_mss = 1;
			}
			break;
		case NS_TCPOPT_WSCALE:
			if (olen != 3)
				return -EINVAL;
			if (syn) {
				to->ws = o[i + 2] > 14 ? 14 : o[i + 2]; /* 7323 2.3 */
				to->has_ws = 1;
			}
			break;
		case NS_TCPOPT_SACK_OK:
			if (olen != 2)
				return -EINVAL;
			if (syn)
				to->sack_ok = 1;
			break;
		case NS_TCPOPT_TS:
			if (olen != 10)
				return -EINVAL;
			to->has_ts = 1;
			to->tsval = ns_ntohl(ns_get32(o + i + 2));
			to->tsecr = ns_ntohl(ns_get32(o + i + 6));
			break;
		case NS_TCPOPT_SACK:
			if ((olen - 2) % 8)
				return -EINVAL;
			{
				unsigned k, n = (olen - 2u) / 8;
				for (k = 0; k < n && to->nsack < 4; k++) {
					to->sack[to->nsack].start =
						ns_ntohl(ns_get32(o + i + 2 + 8 * k));
					to->sack[to->nsack].end =
						ns_ntohl(ns_get32(o + i + 6 + 8 * k));
					to->nsack++;
				}
			}
			break;
		default:
			break; /* unknown options are skipped (RFC 9293 3.1) */
		}
		i += olen;
	}
	return 0;
}

static void apply_syn_opts(struct ns_stack *st, struct ns_sock *so,
			   const struct tcp_opts *to)
{
	struct ns_tcb *tp = &so->tcb;
	uint16_t mss = to->has_mss ? to->mss : NS_TCP_MSS_DEFAULT;

	tp->peer_mss = mss;
	if (mss > ns_tcp_mss_max(st, so))
		mss = ns_tcp_mss_max(st, so);
	if (mss < 64)
		mss = 64;
	if (to->has_ws) {
		tp->tf |= TF_WS_OK;
		tp->snd_wscale = to->ws;
	} else {
		tp->snd_wscale = 0;
		tp->rcv_wscale = 0;
	}
	if (to->has_ts) {
		tp->tf |= TF_TS_OK;
		tp->ts_recent = to->tsval;
		tp->ts_recent_ns = st->now;
		mss = (uint16_t)(mss - 12); /* RFC 6691: options come out of it */
	}
	if (to->sack_ok)
		tp->tf |= TF_SACK_OK;
	tp->mss = mss;
}

/* ---- receive queue ----------------------------------------------------- */

/* copy data for seq into the ring (offset from rcv_nxt must fit) */
static void rb_put(struct ns_tcb *tp, uint32_t seq, const uint8_t *p,
		   uint32_t len)
{
	uint32_t pos = (tp->rb_start + tp->rb_len + (seq - tp->rcv_nxt)) &
		       tp->rb_mask;
	uint32_t first = tp->rb_mask + 1 - pos;
	if (first > len)
		first = len;
	ns_copy(tp->rb + pos, p, first);
	if (first < len)
		memcpy(tp->rb, p + first, len - first);
}

/* add [s, e) to the out-of-order ranges; -1 if there is no room */
static int ooo_add(struct ns_tcb *tp, uint32_t s, uint32_t e)
{
	unsigned i, j;

	/* merge with every range it touches */
	for (i = 0; i < tp->ooo_n;) {
		struct ns_ooo *r = &tp->ooo[i];
		if (SEQ_LEQ(r->start, e) && SEQ_GEQ(r->end, s)) {
			s = SEQ_MIN(s, r->start);
			e = SEQ_MAX(e, r->end);
			for (j = i; j + 1 < tp->ooo_n; j++)
				tp->ooo[j] = tp->ooo[j + 1];
			tp->ooo_n--;
			continue;
		}
		i++;
	}
	if (tp->ooo_n >= NS_TCP_OOO_RANGES)
		return -1;
	for (i = 0; i < tp->ooo_n && SEQ_LT(tp->ooo[i].start, s); i++)
		;
	for (j = tp->ooo_n; j > i; j--)
		tp->ooo[j] = tp->ooo[j - 1];
	tp->ooo[i].start = s;
	tp->ooo[i].end = e;
	tp->ooo_n++;
	tp->ooo_last = (uint8_t)i;
	return 0;
}

/* would [s, e) fit in the ranges (merging or a free slot)? */
static int ooo_fits(const struct ns_tcb *tp, uint32_t s, uint32_t e)
{
	unsigned i;
	if (tp->ooo_n < NS_TCP_OOO_RANGES)
		return 1;
	for (i = 0; i < tp->ooo_n; i++)
		if (SEQ_LEQ(tp->ooo[i].start, e) && SEQ_GEQ(tp->ooo[i].end, s))
			return 1;
	return 0;
}

/* rcv_nxt moved: absorb ranges now contiguous */
static void ooo_pull(struct ns_tcb *tp)
{
	while (tp->ooo_n && SEQ_LEQ(tp->ooo[0].start, tp->rcv_nxt)) {
		unsigned j;
		if (SEQ_GT(tp->ooo[0].end, tp->rcv_nxt)) {
			uint32_t n = tp->ooo[0].end - tp->rcv_nxt;
			tp->rb_len += n;
			tp->rcv_nxt += n;
			tp->bytes_received += n;
		}
		for (j = 0; j + 1 < tp->ooo_n; j++)
			tp->ooo[j] = tp->ooo[j + 1];
		tp->ooo_n--;
	}
	if (tp->ooo_last >= tp->ooo_n)
		tp->ooo_last = 0;
}

/* RFC 2883: remember a duplicate for the next ACK's first SACK block */
static void dsack_note(struct ns_tcb *tp, uint32_t s, uint32_t e)
{
	if (!(tp->tf & TF_SACK_OK) || !SEQ_LT(s, e))
		return;
	tp->dsack.start = s;
	tp->dsack.end = e;
	tp->tf |= TF_DSACK;
}

static void challenge_ack(struct ns_stack *st, struct ns_sock *so)
{
	uint64_t sec = st->now / (1000 * NS_MS);

	/* RFC 5961 7: rate limit */
	if (sec != st->chal_sec) {
		st->chal_sec = sec;
		st->chal_cnt = 0;
	}
	if (st->chal_cnt++ >= NS_TCP_CHALLENGE_PER_S)
		return;
	NS_CNT(st, tcp_challenge_acks);
	ns_tcp_respond(st, so, so->tcb.snd_max, so->tcb.rcv_nxt, NS_TH_ACK);
}

static void process_fin(struct ns_stack *st, struct ns_sock *so, int finacked)
{
	struct ns_tcb *tp = &so->tcb;

	tp->tf &= ~TF_RCVD_FIN_OOO;
	tp->rcv_nxt++;
	tp->tf |= TF_ACKNOW;
	switch (tp->state) {
	case NS_TCPS_SYN_RECEIVED:
	case NS_TCPS_ESTABLISHED:
		ns_tcp_set_state(st, so, NS_TCPS_CLOSE_WAIT);
		break;
	case NS_TCPS_FIN_WAIT_1:
		/* simultaneous close unless our FIN is acked too */
		ns_tcp_set_state(st, so, finacked ? NS_TCPS_TIME_WAIT :
				 NS_TCPS_CLOSING);
		break;
	case NS_TCPS_FIN_WAIT_2:
		ns_tcp_set_state(st, so, NS_TCPS_TIME_WAIT);
		break;
	default:
		break;
	}
	ns_sock_event(st, so);
}

/* ---- SYN cookies (RFC 4987 3.6) ----------------------------------------- */
/* ISS = slot (5 bits) | MSS index (3 bits) | 24-bit MAC: SipHash-2-4
 * under the stack's cookie key of the 4-tuple, the peer's ISN and the
 * slot's full number (32 s each), so the key in effect rotates every
 * slot: a cookie more than one slot old is refused (RFC 4987 3.6). Cookie
 * connections carry no window scale, timestamps or SACK (nothing is kept
 * to remember them). */
static const uint16_t cookie_mss[8] = {
	216, 536, 1024, 1200, 1360, 1400, 1440, 1460};

static uint32_t cookie_hash(const struct ns_stack *st,
			    const struct ns_ip_info *ii,
			    const struct ns_tcp_hdr *th, uint32_t peer_isn,
			    uint64_t slot)
{
	return (uint32_t)ns_secure_flow(st->key_cookie, &ii->dst, th->dport_be,
					&ii->src, th->sport_be,
					(uint64_t)peer_isn << 32 ^ slot) &
	       0xffffff;
}

static uint32_t cookie_make(struct ns_stack *st, const struct ns_ip_info *ii,
			    const struct ns_tcp_hdr *th, uint16_t mss)
{
	uint64_t slot = st->now / NS_SYNCOOKIE_SLOT_NS;
	uint32_t i;
	for (i = 7; i > 0 && cookie_mss[i] > mss; i--)
		;
	return (uint32_t)(slot & 31) << 27 | i << 24 |
	       cookie_hash(st, ii, th, ns_ntohl(th->seq_be), slot);
}

/* 0 or the MSS the cookie in ack - 1 encodes */
static uint16_t cookie_check(struct ns_stack *st, const struct ns_ip_info *ii,
			     const struct ns_tcp_hdr *th)
{
	uint32_t c = ns_ntohl(th->ack_be) - 1, slot = c >> 27;
	uint64_t cur = st->now / NS_SYNCOOKIE_SLOT_NS;
	uint32_t age = ((uint32_t)cur - slot) & 31;
	if (age > 1 || cur < age)
		return 0; /* older than one or two slots */
	if ((c & 0xffffff) != cookie_hash(st, ii, th, ns_ntohl(th->seq_be) - 1,
					  cur - age))
		return 0;
	return cookie_mss[(c >> 24) & 7];
}

static void cookie_synack(struct ns_stack *st, struct ns_sock *l,
			  const struct ns_ip_info *ii,
			  const struct ns_tcp_hdr *th, const struct tcp_opts *to)
{
	struct ns_sock tmp;
	struct ns_tcb *tp = &tmp.tcb;
	uint16_t mss = to->has_mss ? to->mss : NS_TCP_MSS_DEFAULT;

	memset(&tmp, 0, sizeof(tmp));
	tmp.type = NS_SOCK_TCP;
	tmp.laddr = ii->dst;
	tmp.raddr = ii->src;
	tmp.lport_be = th->dport_be;
	tmp.rport_be = th->sport_be;
	tp->rb = l->tcb.rb;
	tp->rb_mask = l->tcb.rb_mask;
	tp->rcv_mss = ns_tcp_mss_max(st, &tmp);
	tp->state = NS_TCPS_SYN_RECEIVED;
	tp->rcv_nxt = ns_ntohl(th->seq_be) + 1;
	/* the window a cookie connection will have (a zero or garbage one
	 * kept the peer from sending data, and a lost ACK then left only
	 * its window probe, whose seq fails the cookie check: RST) */
	tp->rb_lim = l->tcb.rb_lim;
	tp->rcv_adv = tp->rcv_nxt;
	if (mss > ns_tcp_mss_max(st, &tmp))
		mss = ns_tcp_mss_max(st, &tmp);
	tp->iss = cookie_make(st, ii, th, mss);
	NS_CNT(st, tcp_syncookies_sent);
	ns_tcp_respond(st, &tmp, tp->iss, tp->rcv_nxt, NS_TH_SYN | NS_TH_ACK);
}

static struct ns_sock *child_new(struct ns_stack *st, struct ns_sock *l,
				 const struct ns_ip_info *ii,
				 const struct ns_tcp_hdr *th)
{
	struct ns_sock *c = ns_sock_alloc(st, NS_SOCK_TCP);
	struct ns_tcb *tp;

	if (!c)
		return NULL;
	tp = &c->tcb;
	c->laddr = ii->dst;
	c->lport_be = th->dport_be;
	c->raddr = ii->src;
	c->rport_be = th->sport_be;
	c->parent = ns_sd(st, l);
	c->sf |= l->sf & (SF_KEEPALIVE | SF_LINGER | SF_INET6);
	tp->rcv_mss = ns_tcp_mss_max(st, c);
	c->linger_s = l->linger_s;
	tp->tf |= l->tcb.tf & (TF_NODELAY | TF_CORK | TF_QUICKACK |
			       TF_RCVBUF_LOCK | TF_SNDBUF_LOCK);
	tp->sb_lim = l->tcb.sb_lim;
	tp->rb_lim = l->tcb.rb_lim;
	tp->cc_algo = l->tcb.cc_algo;
	tp->keepidle_s = l->tcb.keepidle_s;
	tp->keepintvl_s = l->tcb.keepintvl_s;
	tp->keepcnt = l->tcb.keepcnt;
	tp->user_timeout_ms = l->tcb.user_timeout_ms;
	l->qlen++;
	ns_conn_insert(st, c);
	return c;
}

/* connections on l's accept queue (bounded by the socket table) */
static uint32_t aq_len(const struct ns_stack *st, const struct ns_sock *l)
{
	uint32_t n = 0, i = l->aq_head;
	while (i != NS_NONE && n < st->cfg.max_socks) {
		n++;
		i = st->socks[i].aq_next;
	}
	return n;
}

/* the send side of a connection a SYN cookie made: our ISN is what the
 * ACK acknowledges less one, no options but the MSS the cookie encodes,
 * the window as the ACK gives it (irs already set) */
static void cookie_tcb(struct ns_stack *st, struct ns_sock *so,
		       const struct ns_tcp_hdr *th, uint16_t mss)
{
	struct ns_tcb *tp = &so->tcb;
	tp->iss = ns_ntohl(th->ack_be) - 1;
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_sml = tp->iss + 1;
	tp->sb_seq = tp->iss + 1;
	tp->recover = tp->iss;
	tp->rcv_wscale = 0;
	tp->snd_wscale = 0;
	tp->peer_mss = mss;
	tp->mss = mss < ns_tcp_mss_max(st, so) ? mss : ns_tcp_mss_max(st, so);
	tp->snd_wnd = tp->max_sndwnd = ns_ntohs(th->win_be);
	tp->snd_wl1 = tp->irs;
	tp->snd_wl2 = tp->iss + 1;
	ns_cc_init(st, tp);
}

/* an ACK for a listener: a returning SYN cookie? The new connection, or
 * NULL: *valid says whether it was a good cookie that found the accept
 * queue full (then the ACK is dropped, no RST: the peer retransmits and
 * finds room once the program accepts, as Linux does without
 * tcp_abort_on_overflow), else the caller answers with RST. */
static struct ns_sock *cookie_accept(struct ns_stack *st, struct ns_sock *l,
				     const struct ns_ip_info *ii,
				     const struct ns_tcp_hdr *th, int *valid)
{
	uint16_t mss;
	struct ns_sock *c;
	struct ns_tcb *tp;

	*valid = 0;
	if ((th->flags & (NS_TH_SYN | NS_TH_RST | NS_TH_FIN)) ||
	    !(th->flags & NS_TH_ACK))
		return NULL;
	mss = cookie_check(st, ii, th);
	if (!mss)
		return NULL;
	*valid = 1;
	/* only the accept queue limits a cookie: the SYN queue being full
	 * of embryonic connections (a SYN flood) is why cookies were sent
	 * (as Linux: sk_acceptq_is_full) */
	if (aq_len(st, l) >= l->backlog || !(c = child_new(st, l, ii, th))) {
		NS_CNT(st, drop_tcp_syncookie);
		return NULL;
	}
	NS_CNT(st, tcp_syncookies_ok);
	tp = &c->tcb;
	tp->irs = ns_ntohl(th->seq_be) - 1;
	tp->rcv_nxt = tp->rcv_adv = tp->last_ack_sent = tp->irs + 1;
	cookie_tcb(st, c, th, mss);
	tp->last_rcv_ns = st->now;
	ns_tcp_set_state(st, c, NS_TCPS_SYN_RECEIVED);
	ns_tcp_set_state(st, c, NS_TCPS_ESTABLISHED);
	return c;
}

/* An ACK that does not match this embryonic child's SYN,ACK may answer a
 * SYN cookie sent for an earlier copy of the same SYN: the SYN queue was
 * full when the first copy came and had room for the retransmission (a
 * flood, a slow server). Linux's tcp_check_req falls back to the cookie
 * check the same way; without it the peer got RST. The child becomes the
 * cookie's connection, with no options (the peer saw none). 1 if so. */
static int cookie_revive(struct ns_stack *st, struct ns_sock *so,
			 const struct ns_tcp_hdr *th)
{
	struct ns_tcb *tp = &so->tcb;
	struct ns_ip_info ii;
	uint16_t mss;

	if (!st->cfg.syncookies || so->parent == NS_NONE ||
	    (th->flags & (NS_TH_SYN | NS_TH_RST)))
		return 0;
	memset(&ii, 0, sizeof(ii));
	ii.src = so->raddr;
	ii.dst = so->laddr;
	ii.v6 = (uint8_t)ns_sock_is6(so);
	mss = cookie_check(st, &ii, th);
	if (!mss)
		return 0;
	NS_CNT(st, tcp_syncookies_ok);
	tp->tf &= ~(TF_TS_OK | TF_WS_OK | TF_SACK_OK | TF_RTT_TIMING);
	cookie_tcb(st, so, th, mss);
	tp->rxt_shift = 0;
	ns_tcp_timer_set(st, so, &tp->t_rexmt, 0);
	tp->last_rcv_ns = st->now;
	ns_tcp_set_state(st, so, NS_TCPS_ESTABLISHED);
	return 1;
}

/* ---- LISTEN (RFC 9293 3.10.7.2) ----------------------------------------- */
/* returns a connection the segment should go on to (a SYN cookie's ACK),
 * or NULL when the segment is done with */
static struct ns_sock *listen_input(struct ns_stack *st, struct ns_sock *l,
				    const struct ns_ip_info *ii,
				    const struct ns_tcp_hdr *th,
				    const struct tcp_opts *to, uint32_t seglen)
{
	struct ns_sock *c;
	struct ns_tcb *tp;
	uint8_t fl = th->flags;

	if (fl & NS_TH_RST) {
		NS_CNT(st, drop_tcp_rst);
		return NULL;
	}
	if (fl & NS_TH_ACK) {
		int valid;
		c = cookie_accept(st, l, ii, th, &valid);
		if (c || valid)
			return c;
		NS_CNT(st, drop_tcp_nosock);
		ns_tcp_reset_noconn(st, ii, th, seglen);
		return NULL;
	}
	if (!(fl & NS_TH_SYN) || !ns_addr_is_ours(st, &ii->dst)) {
		NS_CNT(st, drop_tcp_syn);
		return NULL;
	}
	if (fl & NS_TH_FIN) {
		/* SYN+FIN: no host sends it, scanners do; Linux drops it
		 * (tcp_rcv_state_process, SKB_DROP_REASON_TCP_FLAGS) */
		NS_CNT(st, drop_tcp_flags);
		return NULL;
	}
	/* the SYN queue is bounded by the backlog and by half the socket
	 * table: embryonic connections from a SYN flood must not take every
	 * socket, or the ACKs of valid SYN cookies find none and get RST */
	if (l->qlen >= l->backlog || l->qlen >= st->cfg.max_socks / 2 ||
	    !(c = child_new(st, l, ii, th))) {
		/* SYN queue full: answer statelessly (RFC 4987 3.6) */
		NS_CNT(st, drop_tcp_backlog);
		if (st->cfg.syncookies)
			cookie_synack(st, l, ii, th, to);
		return NULL;
	}
	tp = &c->tcb;
	tp->irs = ns_ntohl(th->seq_be);
	tp->rcv_nxt = tp->irs + 1;
	tp->rcv_adv = tp->rcv_nxt;
	ns_tcp_secure_init(st, c);
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_sml = tp->iss;
	tp->sb_seq = tp->iss + 1;
	tp->recover = tp->iss;
	apply_syn_opts(st, c, to);
	tp->snd_wnd = ns_ntohs(th->win_be); /* never scaled in a SYN */
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = tp->irs;
	tp->snd_wl2 = tp->iss;
	ns_cc_init(st, tp);
	tp->last_rcv_ns = st->now;
	ns_tcp_set_state(st, c, NS_TCPS_SYN_RECEIVED);
	ns_sock_want_output(st, c);
	return NULL;
}

/* ---- SYN_SENT (RFC 9293 3.10.7.3) --------------------------------------- */
static void syn_sent_input(struct ns_stack *st, struct ns_sock *so,
			   const struct ns_ip_info *ii,
			   const struct ns_tcp_hdr *th,
			   const struct tcp_opts *to, uint32_t seglen,
			   const uint8_t *data, uint32_t tlen)
{
	struct ns_tcb *tp = &so->tcb;
	uint8_t fl = th->flags;
	uint32_t seq = ns_ntohl(th->seq_be), ack = ns_ntohl(th->ack_be);

	if (fl & NS_TH_ACK) {
		if (SEQ_LEQ(ack, tp->iss) || SEQ_GT(ack, tp->snd_max)) {
			NS_CNT(st, drop_tcp_ack);
			if (!(fl & NS_TH_RST))
				ns_tcp_reset_noconn(st, ii, th, seglen);
			return;
		}
	}
	if (fl & NS_TH_RST) {
		if (fl & NS_TH_ACK)
			ns_tcp_drop(st, so, ECONNREFUSED);
		else
			NS_CNT(st, drop_tcp_rst);
		return;
	}
	if (!(fl & NS_TH_SYN)) {
		NS_CNT(st, drop_tcp_state);
		return;
	}
	tp->irs = seq;
	tp->rcv_nxt = seq + 1;
	tp->rcv_adv = tp->rcv_nxt;
	apply_syn_opts(st, so, to);
	ns_cc_init(st, tp);
	tp->snd_wnd = ns_ntohs(th->win_be);
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = seq;
	tp->snd_wl2 = ack;
	tp->last_rcv_ns = st->now;
	tp->tf |= TF_ACKNOW;
	if (fl & NS_TH_ACK) {
		tp->snd_una = ack;
		if (tp->nsacked)
			ns_sack_trim(tp);
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		if ((tp->tf & TF_RTT_TIMING) && SEQ_GT(ack, tp->rtt_seq)) {
			ns_tcp_rtt_sample(tp, st->now - tp->rtt_start_ns);
			tp->tf &= ~TF_RTT_TIMING;
		}
		tp->rxt_shift = 0;
		tp->first_rxt_ns = 0;
		ns_tcp_timer_set(st, so, &tp->t_rexmt, 0);
		ns_tcp_set_state(st, so, NS_TCPS_ESTABLISHED);
		/* RFC 9293 3.10.7.3 fourth check: text (and a FIN) on the
		 * SYN,ACK is processed as in ESTABLISHED; what does not fit
		 * the window is left for the peer to retransmit */
		if (tlen) {
			uint32_t w = ns_tcp_rcv_window(tp);
			uint32_t n = tlen < w ? tlen : w;
			rb_put(tp, tp->rcv_nxt, data, n);
			tp->rcv_nxt += n;
			tp->rb_len += n;
			tp->bytes_received += n;
			if (n < tlen)
				fl &= (uint8_t)~NS_TH_FIN;
			ns_sock_event(st, so);
		}
		if (fl & NS_TH_FIN)
			process_fin(st, so, 0);
	} else {
		/* simultaneous open: SYN,ACK with our ISS again */
		tp->snd_nxt = tp->iss;
		ns_tcp_set_state(st, so, NS_TCPS_SYN_RECEIVED);
	}
	ns_sock_want_output(st, so);
}

/* ---- ACK processing (RFC 9293 3.10.7.4 fifth check) --------------------- */
/* returns 1 if the connection is gone */
static void enter_recovery(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	/* RFC 6582 3.2 step 2 / RFC 6675 5 step 4 */
	NS_CNT(st, tcp_fast_retransmits);
	ns_cc_loss(st, tp);
	tp->recover = tp->snd_max;
	tp->tf |= TF_RECOVERY;
	if (tp->tf & TF_SACK_OK) {
		uint32_t s, e;
		tp->cwnd = tp->ssthresh; /* RFC 6675: no inflation */
		ns_rack_recovery(tp);
		if (!ns_rack_first_lost(tp, &s, &e)) {
			/* dup ACKs without SACK blocks: the first segment */
			ns_rack_mark_lost(tp, tp->snd_una, tp->snd_una + tp->mss);
			s = tp->snd_una;
			e = s + tp->mss;
		}
		/* RFC 6675 5 step 4.3: the first retransmission whatever
		 * the pipe, the rest while pipe < cwnd */
		ns_tcp_rexmit_at(st, so, s, SEQ_MIN(e - s, tp->mss));
		ns_sack_output(st, so);
		/* RFC 6675 5 (C) rule 2: new data too while pipe < cwnd */
		ns_sock_want_output(st, so);
	} else {
		ns_tcp_rexmit_una(st, so);
	}
}

/* RACK found data lost: the first loss after the last recovery window
 * begins a recovery (cwnd reduction); otherwise retransmit in the pipe */
static void rack_lost(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	if (!(tp->tf & TF_RECOVERY) && SEQ_GT(tp->snd_una, tp->recover))
		enter_recovery(st, so);
	else
		ns_sack_output(st, so);
	ns_sock_want_output(st, so);
}

void ns_tcp_rack_timeout(struct ns_stack *st, struct ns_sock *so)
{
	if (NS_TCPS_HAVEESTABLISHED(so->tcb.state) &&
	    ns_rack_detect(st, so))
		rack_lost(st, so);
}

/* the SACK blocks to RACK in sequence order: blocks of one ACK arrived
 * together, so the order of the list must not read as reordering */
static void rack_sacked(struct ns_stack *st, struct ns_tcb *tp,
			const struct ns_ooo *blk, unsigned n)
{
	struct ns_ooo b[4];
	unsigned i, j;

	if (n > 4)
		n = 4;
	for (i = 0; i < n; i++) {
		struct ns_ooo x = blk[i];
		for (j = i; j > 0 && SEQ_LT(x.start, b[j - 1].start); j--)
			b[j] = b[j - 1];
		b[j] = x;
	}
	for (i = 0; i < n; i++)
		if (SEQ_GT(b[i].start, tp->snd_una) &&
		    SEQ_LEQ(b[i].end, tp->snd_max))
			ns_rack_delivered(tp, b[i].start, b[i].end, st->now);
}

static int ack_input(struct ns_stack *st, struct ns_sock *so,
		     const struct ns_tcp_hdr *th, const struct tcp_opts *to,
		     uint32_t seq, uint32_t ack, uint32_t tlen, int *finacked)
{
	struct ns_tcb *tp = &so->tcb;
	int sack = (tp->tf & TF_SACK_OK) != 0;
	uint32_t win = (uint32_t)ns_ntohs(th->win_be) << tp->snd_wscale;
	uint32_t bound = tp->snd_una - tp->max_sndwnd;
	int dsack = 0, pure_dup = 0;

	if (SEQ_GT(ack, tp->snd_max)) {
		/* acks something not yet sent: ACK and drop */
		NS_CNT(st, drop_tcp_ack);
		tp->tf |= TF_ACKNOW;
		return -1;
	}
	if (SEQ_LT(ack, bound)) {
		/* RFC 5961 5.2: too old, challenge */
		NS_CNT(st, drop_tcp_ack);
		challenge_ack(st, so);
		return -1;
	}
	/* RACK: the cumulative part first, then the SACK blocks in order
	 * (what one ACK reports must not read as reordering) */
	if (sack && SEQ_GT(ack, tp->snd_una))
		ns_rack_acked(tp, ack, st->now);
	if (sack && to->nsack) {
		unsigned k = 0;
		if (ns_sack_is_dsack(tp, to->sack, to->nsack, ack)) {
			dsack = 1;
			tp->dsack_dups++;
			NS_CNT(st, tcp_dsack_rcvd);
			if (ns_cc_dsack(st, tp, to->sack[0].start,
					to->sack[0].end))
				ns_rack_unmark(tp);
			ns_rack_dsack(tp);
			k = 1;
		}
		ns_sack_update(tp, to->sack, to->nsack);
		rack_sacked(st, tp, to->sack + k, to->nsack - k);
	}
	if (SEQ_LEQ(ack, tp->snd_una)) {
		/* RFC 5681 2 duplicate ACK */
		if (ack == tp->snd_una && tlen == 0 &&
		    !(th->flags & (NS_TH_FIN | NS_TH_SYN)) &&
		    win == tp->snd_wnd && tp->snd_max != tp->snd_una) {
			pure_dup = 1;
			tp->dupacks++;
			if (tp->tf & TF_RECOVERY) {
				if (sack)
					ns_sack_output(st, so);
				else
					tp->cwnd += tp->mss; /* 6582 3.2 st. 3 */
				ns_sock_want_output(st, so);
			} else if (tp->dupacks >= NS_TCP_DUPACK_THRESH &&
				   (!sack || !tp->nsacked) &&
				   SEQ_GT(ack, tp->recover)) {
				/* with SACK blocks, RACK decides (below) */
				enter_recovery(st, so);
			}
		}
	} else {
		uint32_t acked = ack - tp->snd_una, dacked = 0;

		if ((tp->tf & TF_TS_OK) && to->has_ts &&
		    ns_cc_eifel(st, tp, ack, to->tsecr)) {
			ns_rack_unmark(tp);
			ns_rack_dsack(tp); /* reordering, not loss */
		}

		if (SEQ_GT(ack, tp->sb_seq)) {
			dacked = ack - tp->sb_seq;
			if (dacked > tp->sb_len)
				dacked = tp->sb_len;
			tp->sb_start = (tp->sb_start + dacked) & tp->sb_mask;
			tp->sb_len -= dacked;
			tp->sb_seq += dacked;
			tp->bytes_acked += dacked;
			ns_sock_event(st, so);
		}
		if ((tp->tf & TF_FIN_QUEUED) && tp->sb_len == 0 &&
		    SEQ_GT(ack, tp->sb_seq))
			*finacked = 1;
		if ((tp->tf & TF_RTT_TIMING) && SEQ_GT(ack, tp->rtt_seq)) {
			ns_tcp_rtt_sample(tp, st->now - tp->rtt_start_ns);
			tp->tf &= ~TF_RTT_TIMING;
		}
		tp->rxt_shift = 0;
		tp->first_rxt_ns = 0;
		if (tp->tf & TF_RECOVERY) {
			if (SEQ_GEQ(ack, tp->recover)) {
				/* full ACK, RFC 6582 3.2 step 3 */
				uint32_t fl = tp->snd_max - ack;
				tp->tf &= ~TF_RECOVERY;
				/* NewReno deflates to the flight (RFC 6582
				 * 3.2 step 3 option 1); with SACK the pipe
				 * kept the flight at cwnd: ssthresh (Linux
				 * tcp_end_cwnd_reduction) */
				if (sack)
					tp->cwnd = tp->ssthresh;
				else
					tp->cwnd = tp->ssthresh < fl + tp->mss ?
						   tp->ssthresh : fl + tp->mss;
				tp->dupacks = 0;
			} else if (sack) {
				/* RFC 6675: keep filling holes, no deflation */
				tp->snd_una = ack;
				ns_sack_trim(tp);
				ns_sack_output(st, so);
			} else {
				/* partial ACK: retransmit the next hole and
				 * deflate (RFC 6582 3.2 step 4) */
				tp->snd_una = ack;
				ns_tcp_rexmit_una(st, so);
				tp->cwnd = tp->cwnd > acked ? tp->cwnd - acked : 0;
				if (acked >= tp->mss)
					tp->cwnd += tp->mss;
				if (tp->cwnd < tp->mss)
					tp->cwnd = tp->mss;
			}
		} else {
			tp->dupacks = 0;
			if (dacked)
				ns_cc_ack(st, tp, dacked); /* SYN/FIN do not count */
		}
		tp->snd_una = ack;
		if (tp->nsacked)
			ns_sack_trim(tp);
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		if (tp->snd_una == tp->snd_max) {
			/* (t_tlp: no recomputation of t_next for it; at
			 * worst the timer scan finds nothing due) */
			tp->t_tlp = 0;
			ns_tcp_timer_set(st, so, &tp->t_rexmt, 0);
		} else {
			ns_tcp_rexmt_arm(st, so); /* RFC 6298 5.3 */
			ns_tlp_arm(st, so);
		}
		ns_sock_want_output(st, so);
	}
	/* the ACK of a tail loss probe that repaired a loss: the loss
	 * still calls for a reduction (RFC 8985 7.4.2, Linux CWR) */
	if (sack && ns_tlp_ack(tp, ack, dsack, pure_dup) &&
	    !(tp->tf & TF_RECOVERY)) {
		NS_CNT(st, tcp_tlp_recoveries);
		ns_cc_loss(st, tp);
		tp->cwnd = tp->ssthresh;
	}
	/* RACK (RFC 8985 6.2 step 5) on every ACK while there are holes */
	if (sack && tp->ntxl && (tp->nsacked || tp->t_reo) &&
	    ns_rack_detect(st, so))
		rack_lost(st, so);
	tp->probes = 0; /* the peer is alive (Linux icsk_probes_out) */
	/* window update (RFC 9293 3.10.7.4: SND.WL1 / SND.WL2 rule) */
	if (SEQ_LT(tp->snd_wl1, seq) ||
	    (tp->snd_wl1 == seq && SEQ_LEQ(tp->snd_wl2, ack))) {
		if (win > tp->snd_wnd)
			ns_sock_want_output(st, so);
		tp->snd_wnd = win;
		tp->snd_wl1 = seq;
		tp->snd_wl2 = ack;
		if (win > tp->max_sndwnd)
			tp->max_sndwnd = win;
		if (win && tp->t_persist) {
			ns_tcp_timer_set(st, so, &tp->t_persist, 0);
			tp->persist_ns = NS_TCP_PERSIST_MIN_NS;
		}
		if (win)
			tp->probe_start_ns = 0;
	}
	return 0;
}

/* ---- synchronized states ----------------------------------------------- */
static void sync_input(struct ns_stack *st, struct ns_sock *so,
		       const struct ns_tcp_hdr *th, const struct tcp_opts *to,
		       const uint8_t *data, uint32_t tlen)
{
	struct ns_tcb *tp = &so->tcb;
	uint8_t fl = th->flags;
	uint32_t seq = ns_ntohl(th->seq_be), ack = ns_ntohl(th->ack_be);
	uint32_t oseq = seq, seglen, win;
	int finacked = 0, acceptable, dupack = 0;

	/* PAWS, RFC 7323 5.3 R1 */
	if ((tp->tf & TF_TS_OK) && to->has_ts && !(fl & NS_TH_RST) &&
	    SEQ_LT(to->tsval, tp->ts_recent) &&
	    st->now - tp->ts_recent_ns < 24ull * 86400 * 1000 * NS_MS) {
		NS_CNT(st, drop_tcp_paws);
		tp->tf |= TF_ACKNOW;
		goto out;
	}
	/* SYN_RECEIVED: a retransmitted SYN means our SYN,ACK was lost */
	if (tp->state == NS_TCPS_SYN_RECEIVED && (fl & NS_TH_SYN) &&
	    !(fl & NS_TH_ACK) && seq == tp->irs) {
		tp->snd_nxt = tp->iss;
		tp->tf |= TF_ACKNOW;
		goto out;
	}
	/* sequence acceptability, RFC 9293 3.10.7.4 first check */
	seglen = tlen + !!(fl & NS_TH_SYN) + !!(fl & NS_TH_FIN);
	win = ns_tcp_rcv_window(tp);
	/* honour the right edge already advertised even if SO_RCVBUF
	 * lowered the limit since (RFC 9293 3.8.6.2.2: the window is not
	 * shrunk, so what the peer may send must be taken); the ring has
	 * room, as rb_len + (rcv_adv - rcv_nxt) never exceeds it */
	if (SEQ_GT(tp->rcv_adv, tp->rcv_nxt + win))
		win = tp->rcv_adv - tp->rcv_nxt;
	if (seglen == 0)
		acceptable = win == 0 ? seq == tp->rcv_nxt :
			     SEQ_IN(seq, tp->rcv_nxt, tp->rcv_nxt + win);
	else if (win == 0)
		acceptable = seq == tp->rcv_nxt; /* take its ACK, not its data */
	else
		acceptable = SEQ_IN(seq, tp->rcv_nxt, tp->rcv_nxt + win) ||
			     SEQ_IN(seq + seglen - 1, tp->rcv_nxt,
				    tp->rcv_nxt + win);
	if (!acceptable) {
		if (!(fl & NS_TH_RST)) {
			tp->tf |= TF_ACKNOW;
			if (SEQ_LT(seq, tp->rcv_nxt)) {
				NS_CNT(st, tcp_dup_segs);
				if (tlen)
					dsack_note(tp, seq, seq + tlen);
			}
		}
		NS_CNT(st, drop_tcp_seq);
		if (tp->state == NS_TCPS_TIME_WAIT && (fl & NS_TH_FIN))
			ns_tcp_timer_set(st, so, &tp->t_2msl, st->now +
				(uint64_t)st->cfg.time_wait_ms * NS_MS);
		goto out;
	}
	/* RST, RFC 5961 3.2 */
	if (fl & NS_TH_RST) {
		if (oseq != tp->rcv_nxt) {
			challenge_ack(st, so);
			goto out;
		}
		switch (tp->state) {
		case NS_TCPS_SYN_RECEIVED:
			if (so->parent != NS_NONE && !(so->sf & SF_ACCEPTQ)) {
				/* passive open: back to LISTEN */
				ns_tcp_close_done(st, so);
				return;
			}
			ns_tcp_drop(st, so, ECONNREFUSED);
			return;
		case NS_TCPS_CLOSING:
		case NS_TCPS_LAST_ACK:
		case NS_TCPS_TIME_WAIT:
			ns_tcp_close_done(st, so);
			return;
		default:
			ns_tcp_drop(st, so, ECONNRESET);
			return;
		}
	}
	/* SYN in a synchronized state, RFC 5961 4.2 */
	if (fl & NS_TH_SYN) {
		NS_CNT(st, drop_tcp_syn);
		challenge_ack(st, so);
		goto out;
	}
	if (!(fl & NS_TH_ACK)) {
		NS_CNT(st, drop_tcp_ack);
		goto out;
	}
	tp->last_rcv_ns = st->now;
	tp->keep_sent = 0;
	/* trim to the window */
	if (SEQ_LT(seq, tp->rcv_nxt)) {
		uint32_t d = tp->rcv_nxt - seq;
		if (tlen)
			dsack_note(tp, seq, SEQ_MIN(seq + tlen, tp->rcv_nxt));
		if (d >= tlen) {
			if (d > tlen)
				fl &= (uint8_t)~NS_TH_FIN; /* FIN already seen */
			d = tlen;
		}
		data += d;
		tlen -= d;
		seq += d;
		tp->tf |= TF_ACKNOW;
		dupack = tlen == 0; /* wholly old: a dup ACK, D-SACK */
		NS_CNT(st, tcp_dup_segs);
	}
	if (SEQ_GT(seq + tlen, tp->rcv_nxt + win)) {
		uint32_t keep = tp->rcv_nxt + win - seq;
		if (SEQ_LT(tp->rcv_nxt + win, seq))
			keep = 0;
		tlen = keep;
		fl &= (uint8_t)~NS_TH_FIN;
		tp->tf |= TF_ACKNOW;
	}
	/* update ts_recent, RFC 7323 4.3 */
	if ((tp->tf & TF_TS_OK) && to->has_ts &&
	    SEQ_GEQ(to->tsval, tp->ts_recent) &&
	    SEQ_LEQ(oseq, tp->last_ack_sent)) {
		tp->ts_recent = to->tsval;
		tp->ts_recent_ns = st->now;
	}
	/* ACK */
	if (tp->state == NS_TCPS_SYN_RECEIVED) {
		if (SEQ_GT(ack, tp->snd_una) && SEQ_LEQ(ack, tp->snd_max)) {
			tp->snd_wnd = (uint32_t)ns_ntohs(th->win_be)
				      << tp->snd_wscale;
			tp->max_sndwnd = tp->snd_wnd;
			tp->snd_wl1 = seq;
			tp->snd_wl2 = ack;
			ns_tcp_set_state(st, so, NS_TCPS_ESTABLISHED);
		} else if (cookie_revive(st, so, th)) {
			/* ESTABLISHED, snd_una == ack: on with the segment */
		} else {
			struct ns_ip_info ii;
			memset(&ii, 0, sizeof(ii));
			ii.src = so->raddr;
			ii.dst = so->laddr;
			ii.v6 = (uint8_t)ns_sock_is6(so);
			NS_CNT(st, drop_tcp_ack);
			ns_tcp_reset_noconn(st, &ii, th, seglen);
			return;
		}
	}
	if (ack_input(st, so, th, to, seq, ack, tlen, &finacked) < 0)
		goto out;
	switch (tp->state) {
	case NS_TCPS_FIN_WAIT_1:
		if (finacked) {
			ns_tcp_set_state(st, so, NS_TCPS_FIN_WAIT_2);
			ns_tcp_timer_set(st, so, &tp->t_rexmt, 0);
		}
		break;
	case NS_TCPS_CLOSING:
		if (finacked) {
			ns_tcp_set_state(st, so, NS_TCPS_TIME_WAIT);
			goto out;
		}
		break;
	case NS_TCPS_LAST_ACK:
		if (finacked) {
			ns_tcp_close_done(st, so);
			return;
		}
		break;
	case NS_TCPS_TIME_WAIT:
		if (fl & NS_TH_FIN) {
			tp->tf |= TF_ACKNOW;
			ns_tcp_timer_set(st, so, &tp->t_2msl, st->now +
				(uint64_t)st->cfg.time_wait_ms * NS_MS);
		}
		goto out;
	default:
		break;
	}
	/* URG: urgent data is delivered inline; the pointer is ignored */
	if (fl & NS_TH_URG)
		NS_CNT(st, tcp_urg_ignored);
	/* data, RFC 9293 3.10.7.4 seventh check */
	if (tlen && (tp->state == NS_TCPS_ESTABLISHED ||
		     tp->state == NS_TCPS_FIN_WAIT_1 ||
		     tp->state == NS_TCPS_FIN_WAIT_2)) {
		if (so->sf & SF_ORPHAN) {
			/* nobody will read it: abort (RFC 2525 2.17) */
			ns_tcp_respond(st, so, tp->snd_nxt, tp->rcv_nxt,
				       NS_TH_RST | NS_TH_ACK);
			ns_tcp_drop(st, so, 0);
			return;
		}
		if (seq == tp->rcv_nxt) {
			int had_ooo = tp->ooo_n != 0;
			rb_put(tp, seq, data, tlen);
			tp->rcv_nxt += tlen;
			tp->rb_len += tlen;
			tp->bytes_received += tlen;
			if (!(tp->tf & TF_RCVBUF_LOCK)) {
				/* the receiver's RTT, for auto-tuning */
				if ((tp->tf & TF_TS_OK) && to->has_ts)
					ns_tcp_rcv_rtt_ts(st, tp, to->tsecr);
				else
					ns_tcp_rcv_rtt_win(st, tp);
			}
			if (had_ooo) {
				ooo_pull(tp);
				tp->tf |= TF_ACKNOW; /* RFC 5681 4.2: hole filled */
			}
			/* RFC 1122 4.2.3.2: at least every second segment */
			if (++tp->delack_segs >= 2 || (tp->tf & TF_QUICKACK))
				tp->tf |= TF_ACKNOW;
			else
				tp->tf |= TF_DELACK;
			ns_sock_event(st, so);
		} else if (ooo_fits(tp, seq, seq + tlen)) {
			rb_put(tp, seq, data, tlen);
			ooo_add(tp, seq, seq + tlen);
			NS_CNT(st, tcp_ooo_segs);
			tp->tf |= TF_ACKNOW; /* immediate dup ACK, RFC 5681 4.2 */
			dupack = 1;
			if (fl & NS_TH_FIN) {
				tp->tf |= TF_RCVD_FIN_OOO;
				tp->rcv_fin_seq = seq + tlen;
				fl &= (uint8_t)~NS_TH_FIN;
			}
		} else {
			NS_CNT(st, drop_tcp_ooo_full);
			tp->tf |= TF_ACKNOW;
			goto out;
		}
	}
	/* FIN, eighth check */
	if (fl & NS_TH_FIN) {
		if (seq + tlen == tp->rcv_nxt &&
		    !NS_TCPS_HAVERCVDFIN(tp->state))
			process_fin(st, so, finacked);
		else if (SEQ_GT(seq + tlen, tp->rcv_nxt)) {
			tp->tf |= TF_RCVD_FIN_OOO;
			tp->rcv_fin_seq = seq + tlen;
		}
	}
	if ((tp->tf & TF_RCVD_FIN_OOO) && tp->rcv_fin_seq == tp->rcv_nxt &&
	    !NS_TCPS_HAVERCVDFIN(tp->state))
		process_fin(st, so, finacked);
out:
	/* one duplicate ACK per segment, not one per receive burst: a
	 * sender without SACK counts them (RFC 5681 3.2), and Linux raises
	 * its dupthresh ("reordering") up to the flight once it has seen
	 * more dup ACKs than segments out, so a coalesced burst of 45
	 * out-of-order segments answered by 7 ACKs meant an RTO per loss */
	if (dupack && (tp->tf & TF_ACKNOW))
		ns_tcp_output(st, so);
	if (tp->tf & (TF_ACKNOW | TF_DELACK))
		ns_sock_want_output(st, so);
}

void ns_tcp_input(struct ns_stack *st, struct nf_buf *b,
		  const struct ns_ip_info *ii)
{
	const struct ns_tcp_hdr *th;
	struct ns_sock *so;
	struct tcp_opts to;
	uint32_t hlen, tlen, seglen;

	if (b->seg_next) {
		NS_CNT(st, drop_frag_proto);
		goto drop;
	}
	if (b->len < NS_TCP_HLEN_MIN) {
		NS_CNT(st, drop_tcp_short);
		goto drop;
	}
	th = (const struct ns_tcp_hdr *)b->data;
	hlen = (uint32_t)(th->off >> 4) * 4;
	if (hlen < NS_TCP_HLEN_MIN || hlen > b->len) {
		NS_CNT(st, drop_tcp_off);
		goto drop;
	}
	if ((b->ol_flags & NF_RX_L4_CKSUM_BAD) ||
	    (!(b->ol_flags & NF_RX_L4_CKSUM_GOOD) &&
	     ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo46(&ii->src, &ii->dst,
			NS_IPPROTO_TCP, b->len), b->data, b->len)) != 0)) {
		NS_CNT(st, drop_tcp_cksum);
		goto drop;
	}
	if (!ns_addr_is_ours(st, &ii->dst) || th->sport_be == 0 ||
	    th->dport_be == 0) {
		NS_CNT(st, drop_tcp_noport);
		goto drop;
	}
	if (parse_opts((const uint8_t *)(th + 1), hlen - NS_TCP_HLEN_MIN, &to,
		       !!(th->flags & NS_TH_SYN))) {
		NS_CNT(st, drop_tcp_opt);
		goto drop;
	}
	tlen = b->len - hlen;
	seglen = tlen + !!(th->flags & NS_TH_SYN) + !!(th->flags & NS_TH_FIN);
	if ((th->flags & NS_TH_URG) && ns_ntohs(th->urp_be) > tlen)
		NS_CNT(st, tcp_urg_ignored); /* pointer past the data */
	so = ns_conn_lookup(st, &ii->dst, th->dport_be, &ii->src,
			    th->sport_be);
	if (so && so->tcb.state == NS_TCPS_TIME_WAIT &&
	    (th->flags & (NS_TH_SYN | NS_TH_ACK | NS_TH_RST)) == NS_TH_SYN &&
	    (SEQ_GT(ns_ntohl(th->seq_be), so->tcb.rcv_nxt) ||
	     ((so->tcb.tf & TF_TS_OK) && to.has_ts &&
	      SEQ_GT(to.tsval, so->tcb.ts_recent)))) {
		/* RFC 9293 3.6.1 / RFC 6191: a new incarnation may reuse the
		 * pair while we are in TIME_WAIT */
		if (ns_bind_lookup(st, NS_SOCK_TCP, &ii->dst, th->dport_be)) {
			ns_tcp_close_done(st, so);
			so = NULL;
		}
	}
	if (!so) {
		struct ns_sock *l = ns_bind_lookup_flow(st, NS_SOCK_TCP,
							&ii->dst, th->dport_be,
							&ii->src, th->sport_be);
		/* a listener here, but not a SYN: another instance's
		 * connection whose segment landed on our queue (its
		 * listener has a replica in every instance) goes on to
		 * its owner before LISTEN's answer (RST to an ACK) would
		 * kill it; one nobody owns comes back and is answered
		 * here (a SYN cookie's ACK is checked where its SYN was) */
		if (l && (th->flags & (NS_TH_SYN | NS_TH_ACK)) != NS_TH_SYN &&
		    ns_steer_foreign(st, b))
			return;
		if (l) {
			so = listen_input(st, l, ii, th, &to, seglen);
			if (so)
				sync_input(st, so, th, &to, b->data + hlen, tlen);
		} else {
			if (ns_steer_foreign(st, b))
				return; /* another instance's flow */
			NS_CNT(st, drop_tcp_noport);
			ns_tcp_reset_noconn(st, ii, th, seglen);
		}
		goto drop; /* the segment is consumed either way */
	}
	switch (so->tcb.state) {
	case NS_TCPS_CLOSED:
		NS_CNT(st, drop_tcp_state);
		ns_tcp_reset_noconn(st, ii, th, seglen);
		break;
	case NS_TCPS_LISTEN:
		NS_CNT(st, drop_tcp_state);
		break;
	case NS_TCPS_SYN_SENT:
		syn_sent_input(st, so, ii, th, &to, seglen, b->data + hlen,
			       tlen);
		break;
	default:
		sync_input(st, so, th, &to, b->data + hlen, tlen);
		break;
	}
drop:
	ns_buf_free(st, b);
}

/* An ICMP error quoting our segment l:lport -> r:rport with sequence
 * number seq. mtu: a path MTU message's link MTU (0: not one); hlen: our
 * IP header's length; hard: an error that ends a connect. */
static void tcp_ctl(struct ns_stack *st, const union ns_in46 *l,
		    uint16_t lport_be, const union ns_in46 *r,
		    uint16_t rport_be, uint32_t seq, uint32_t mtu,
		    uint32_t min_mtu, uint32_t hlen, int hard)
{
	struct ns_sock *so = ns_conn_lookup(st, l, lport_be, r, rport_be);
	struct ns_tcb *tp;

	/* RFC 5927 4.1: only believe errors about data in flight (an
	 * off-path attacker must guess a sequence number) */
	if (!so || !SEQ_IN(seq, so->tcb.snd_una, so->tcb.snd_max + 1)) {
		NS_CNT(st, drop_icmp_unmatched);
		return;
	}
	tp = &so->tcb;
	if (mtu) {
		/* RFC 1191 / RFC 8201: lower the MSS to fit. Not below the
		 * family's floor: a forged "MTU 68" must not cut every
		 * segment to 28 bytes (RFC 5927 7.3) */
		uint32_t m;
		if (mtu >= st->io.mtu) {
			NS_CNT(st, drop_icmp_unmatched);
			return;
		}
		if (mtu < min_mtu)
			mtu = min_mtu;
		m = mtu - hlen - NS_TCP_HLEN_MIN -
		    ((tp->tf & TF_TS_OK) ? 12 : 0);
		if (m < tp->mss) {
			tp->mss = (uint16_t)m;
			NS_CNT(st, icmp_pmtu_updates);
			/* resend what did not fit */
			tp->snd_nxt = tp->snd_una;
			ns_sock_want_output(st, so);
		}
		return;
	}
	/* other errors are soft (RFC 1122 4.2.3.9) except during connect */
	if (tp->state == NS_TCPS_SYN_SENT && hard)
		ns_tcp_drop(st, so, ECONNREFUSED);
}

void ns_tcp_ctlinput(struct ns_stack *st, const struct ns_ip4_hdr *ih,
		     uint32_t avail, uint8_t type, uint8_t code, uint16_t mtu)
{
	uint32_t hlen = (uint32_t)(ih->ver_ihl & 0xf) * 4;
	const uint8_t *l4 = (const uint8_t *)ih + hlen;
	union ns_in46 l, r;

	if (avail < hlen + 8) {
		NS_CNT(st, drop_icmp_short);
		return;
	}
	ns_in46_set4(&l, ih->src_be);
	ns_in46_set4(&r, ih->dst_be);
	tcp_ctl(st, &l, ns_get16(l4), &r, ns_get16(l4 + 2),
		ns_ntohl(ns_get32(l4 + 4)),
		type == NS_ICMP_UNREACH && code == NS_ICMP_UNREACH_NEEDFRAG ?
		(mtu ? mtu : 1) : 0, NS_PMTU_MIN, NS_IP4_HLEN_MIN,
		type == NS_ICMP_UNREACH && code >= 2 && code <= 3);
}

void ns_tcp_ctlinput6(struct ns_stack *st, const struct ns_ip6_hdr *ih,
		      uint8_t type, uint8_t code, uint32_t mtu)
{
	const uint8_t *l4 = (const uint8_t *)(ih + 1);
	union ns_in46 l, r;

	memcpy(l.b, ih->src, 16);
	memcpy(r.b, ih->dst, 16);
	/* RFC 8201: a packet too big below 1280 leaves the path MTU at
	 * 1280; port unreachable ends a connect (Linux, icmpv6_err_convert) */
	tcp_ctl(st, &l, ns_get16(l4), &r, ns_get16(l4 + 2),
		ns_ntohl(ns_get32(l4 + 4)),
		type == NS_ICMP6_PKT_TOO_BIG ? (mtu ? mtu : 1) : 0,
		NS_IP6_MIN_MTU, NS_IP6_HLEN,
		type == NS_ICMP6_DST_UNREACH && code == 4);
}
