/*
 * tcp_out.c: TCP output (RFC 9293 3.8, RFC 1122 4.2.3). Decides what a
 * connection may send now (window, congestion window, Nagle (RFC 896),
 * TCP_CORK / MSG_MORE, sender SWS avoidance (RFC 1122 4.2.3.4), FIN) and
 * builds segments with their options (MSS, window scale, SACK-permitted
 * and timestamps on SYNs; timestamps and SACK blocks after), copying the
 * payload out of the send ring. Also bare segments: ACKs, RSTs, probes.
 * Called by sock.c (output list), tcp_in.c and tcp_timer.c; calls ip4.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

/* options for a segment; returns their length (multiple of 4) */
static unsigned build_opts(struct ns_stack *st, struct ns_sock *so,
			   uint8_t flags, uint8_t *o)
{
	struct ns_tcb *tp = &so->tcb;
	unsigned n = 0;

	if (flags & NS_TH_SYN) {
		int synack = (flags & NS_TH_ACK) != 0;
		o[n++] = NS_TCPOPT_MSS;
		o[n++] = 4;
		ns_put16(o + n, ns_htons(tp->rcv_mss));
		n += 2;
		if (!synack || (tp->tf & TF_SACK_OK)) {
			o[n++] = NS_TCPOPT_SACK_OK;
			o[n++] = 2;
		} else if (tp->tf & TF_TS_OK) {
			o[n++] = NS_TCPOPT_NOP; /* aligns the timestamps */
			o[n++] = NS_TCPOPT_NOP;
		}
		if (!synack || (tp->tf & TF_TS_OK)) {
			o[n++] = NS_TCPOPT_TS;
			o[n++] = 10;
			ns_put32(o + n, ns_htonl(ns_tcp_ts_now(st, tp)));
			ns_put32(o + n + 4, ns_htonl(tp->ts_recent));
			n += 8;
		}
		if (!synack || (tp->tf & TF_WS_OK)) {
			o[n++] = NS_TCPOPT_NOP;
			o[n++] = NS_TCPOPT_WSCALE;
			o[n++] = 3;
			o[n++] = tp->rcv_wscale;
		}
		/* the header length counts 32-bit words: options end on one,
		 * or their last bytes would be read as data (a SYN,ACK with
		 * SACK_OK and nothing else carried 2 "data" bytes) */
		while (n & 3)
			o[n++] = NS_TCPOPT_NOP;
		return n;
	}
	if (tp->tf & TF_TS_OK) {
		o[n++] = NS_TCPOPT_NOP;
		o[n++] = NS_TCPOPT_NOP;
		o[n++] = NS_TCPOPT_TS;
		o[n++] = 10;
		ns_put32(o + n, ns_htonl(ns_tcp_ts_now(st, tp)));
		ns_put32(o + n + 4, ns_htonl(tp->ts_recent));
		n += 8;
	}
	if ((tp->tf & TF_SACK_OK) && (tp->ooo_n || (tp->tf & TF_DSACK)) &&
	    !(flags & NS_TH_RST)) {
		/* RFC 2018 4: the block with the latest segment first;
		 * RFC 2883: a D-SACK block goes before all of them */
		unsigned max = (40 - n - 4) / 8, k = 0, i;
		uint8_t *hdr = o + n;
		n += 4;
		if (tp->tf & TF_DSACK) {
			ns_put32(o + n, ns_htonl(tp->dsack.start));
			ns_put32(o + n + 4, ns_htonl(tp->dsack.end));
			n += 8;
			k++;
			tp->tf &= ~TF_DSACK;
		}
		for (i = 0; i < tp->ooo_n && k < max; i++) {
			unsigned j = (tp->ooo_last + i) % tp->ooo_n;
			ns_put32(o + n, ns_htonl(tp->ooo[j].start));
			ns_put32(o + n + 4, ns_htonl(tp->ooo[j].end));
			n += 8;
			k++;
		}
		hdr[0] = NS_TCPOPT_NOP;
		hdr[1] = NS_TCPOPT_NOP;
		hdr[2] = NS_TCPOPT_SACK;
		hdr[3] = (uint8_t)(2 + 8 * k);
	}
	return n;
}

static uint16_t adv_window(struct ns_tcb *tp, uint8_t flags)
{
	uint32_t w = ns_tcp_rcv_window(tp);

	/* never shrink the right edge we advertised (RFC 9293 3.8.6.2.2) */
	if (SEQ_GT(tp->rcv_adv, tp->rcv_nxt + w))
		w = tp->rcv_adv - tp->rcv_nxt;
	if (flags & NS_TH_SYN)
		return (uint16_t)(w > 65535 ? 65535 : w); /* RFC 7323 2.2 */
	w >>= tp->rcv_wscale;
	return (uint16_t)(w > 65535 ? 65535 : w);
}

/* payload bytes a data segment may carry now: the MSS (which already
 * leaves room for timestamps) less the SACK blocks our ACK field will
 * carry, so no segment exceeds the path MTU (RFC 6691) */
static uint32_t seg_mss(const struct ns_tcb *tp)
{
	uint32_t k, max;

	if (!(tp->tf & TF_SACK_OK) || !(tp->ooo_n || (tp->tf & TF_DSACK)))
		return tp->mss;
	max = (40 - ((tp->tf & TF_TS_OK) ? 12u : 0u) - 4) / 8;
	k = tp->ooo_n + !!(tp->tf & TF_DSACK);
	if (k > max)
		k = max;
	return tp->mss > 4 + 8 * k + 64 ? tp->mss - 4 - 8 * k : 64;
}

/* copy n bytes starting off bytes past sb_seq out of the send ring */
static void sb_copy(const struct ns_tcb *tp, uint32_t off, uint8_t *dst,
		    uint32_t n)
{
	uint32_t pos = (tp->sb_start + off) & tp->sb_mask;
	uint32_t first = tp->sb_mask + 1 - pos;

	if (!n)
		return;
	if (first > n)
		first = n;
	ns_copy(dst, tp->sb + pos, first);
	if (first < n)
		memcpy(dst + first, tp->sb, n - first);
}

/* Build and send one segment. Data comes from the send ring at seq. */
static int tcp_xmit(struct ns_stack *st, struct ns_sock *so, uint32_t seq,
		    uint32_t ack, uint8_t flags, uint32_t len)
{
	struct ns_tcb *tp = &so->tcb;
	struct nf_buf *b = ns_buf_alloc(st);
	struct ns_tcp_hdr *th;
	unsigned optlen, hlen, l3;
	uint32_t head_room, smss;
	uint16_t win;
	int v6 = ns_sock_is6(so);

	if (!b)
		return -ENOBUFS;
	smss = seg_mss(tp); /* before build_opts clears TF_DSACK */
	l3 = v6 ? NS_IP6_HLEN : NS_IP4_HLEN_MIN;
	th = (struct ns_tcp_hdr *)(b->data + NS_ETH_HLEN + l3);
	optlen = build_opts(st, so, flags, (uint8_t *)(th + 1));
	hlen = NS_TCP_HLEN_MIN + optlen;
	th->sport_be = so->lport_be;
	th->dport_be = so->rport_be;
	th->seq_be = ns_htonl(seq);
	th->ack_be = (flags & NS_TH_ACK) ? ns_htonl(ack) : 0;
	th->off = (uint8_t)((hlen / 4) << 4);
	th->flags = flags;
	win = (flags & NS_TH_RST) ? 0 : adv_window(tp, flags);
	th->win_be = ns_htons(win);
	th->cksum_be = 0;
	th->urp_be = 0;
	head_room = st->hdr_room - NS_ETH_HLEN - l3 - hlen;
	if (len <= head_room) {
		sb_copy(tp, seq - tp->sb_seq, (uint8_t *)th + hlen, len);
	} else {
		/* a TSO frame (tcp output only asks for one when io/ can
		 * segment chains): the payload continues in a chain */
		struct nf_buf *prev = b, *c;
		uint32_t off = head_room;
		sb_copy(tp, seq - tp->sb_seq, (uint8_t *)th + hlen, head_room);
		b->len = NS_ETH_HLEN + l3 + hlen + head_room;
		while (off < len) {
			uint32_t n = len - off < st->hdr_room ? len - off :
				     st->hdr_room;
			c = ns_buf_alloc(st);
			if (!c) {
				ns_buf_free(st, b);
				return -ENOBUFS;
			}
			sb_copy(tp, seq - tp->sb_seq + off, c->data, n);
			c->len = c->pkt_len = n;
			prev->seg_next = c;
			prev = c;
			off += n;
		}
	}
	if (len > smss) {
		/* io/ cuts it into tso_segsz pieces and fills both checksums
		 * (pseudo-header sum without the length, DPDK's TSO rule) */
		th->cksum_be = (uint16_t)~ns_cksum_fold(ns_cksum_pseudo(
			so->lip_be, so->rip_be, NS_IPPROTO_TCP, 0));
		b->ol_flags |= NF_TX_TCP_SEG | NF_TX_TCP_CKSUM | NF_TX_IP_CKSUM;
		b->tso_segsz = (uint16_t)smss;
		b->l4_len = (uint8_t)hlen;
	} else {
		uint32_t l4 = hlen + len;
		uint32_t s = ns_cksum_pseudo46(&so->laddr, &so->raddr,
					       NS_IPPROTO_TCP, l4);
		/* io/'s checksum offload is IPv4's (its mbuf flags) */
		if ((st->io.caps & NF_CAP_TX_L4_CKSUM) && !v6) {
			th->cksum_be = (uint16_t)~ns_cksum_fold(s);
			b->ol_flags |= NF_TX_TCP_CKSUM;
			b->l4_len = (uint8_t)hlen;
		} else {
			th->cksum_be = ns_cksum_fold(ns_cksum_add(s, th, l4));
		}
	}
	if (flags & NS_TH_ACK) {
		tp->last_ack_sent = ack;
		tp->tf &= ~(TF_ACKNOW | TF_DELACK);
		tp->delack_segs = 0;
		tp->t_delack = 0;
		if (!(flags & NS_TH_RST) && !(flags & NS_TH_SYN)) {
			uint32_t edge = ack + ((uint32_t)win << tp->rcv_wscale);
			if (SEQ_GT(edge, tp->rcv_adv))
				tp->rcv_adv = edge;
		} else if (flags & NS_TH_SYN) {
			tp->rcv_adv = ack + win;
		}
	}
	if (flags & NS_TH_RST)
		NS_CNT(st, tcp_rst_sent);
	else if ((tp->tf & TF_SACK_OK) && !(flags & NS_TH_SYN) &&
		 (len || (flags & NS_TH_FIN)))
		ns_rack_sent(tp, seq, len + !!(flags & NS_TH_FIN), st->now);
	if (v6)
		return ns_ip6_output(st, b, so->laddr.b, so->raddr.b,
				     NS_IPPROTO_TCP, (uint16_t)(hlen + len),
				     NS_IP6_HLIM);
	return ns_ip_output_ex(st, b, so->lip_be, so->rip_be, NS_IPPROTO_TCP,
			       (uint16_t)(hlen + len), tp->ip_id++, NS_IP4_DF);
}

void ns_tcp_respond(struct ns_stack *st, struct ns_sock *so, uint32_t seq,
		    uint32_t ack, uint8_t flags)
{
	tcp_xmit(st, so, seq, ack, flags, 0);
}

void ns_tcp_reset_noconn(struct ns_stack *st, const struct ns_ip_info *ii,
			 const struct ns_tcp_hdr *th, uint32_t seglen)
{
	struct nf_buf *b;
	struct ns_tcp_hdr *rh;
	uint32_t s;

	/* RFC 9293 3.10.7.1: never answer a RST; never to broadcast */
	if ((th->flags & NS_TH_RST) || !ns_addr_is_ours(st, &ii->dst))
		return;
	b = ns_buf_alloc(st);
	if (!b)
		return;
	rh = (struct ns_tcp_hdr *)(b->data + NS_ETH_HLEN +
				   (ii->v6 ? NS_IP6_HLEN : NS_IP4_HLEN_MIN));
	memset(rh, 0, sizeof(*rh));
	rh->sport_be = th->dport_be;
	rh->dport_be = th->sport_be;
	if (th->flags & NS_TH_ACK) {
		rh->seq_be = th->ack_be;          /* <SEQ=SEG.ACK><CTL=RST> */
		rh->flags = NS_TH_RST;
	} else {
		rh->ack_be = ns_htonl(ns_ntohl(th->seq_be) + seglen);
		rh->flags = NS_TH_RST | NS_TH_ACK; /* <SEQ=0><ACK=SEG.SEQ+LEN> */
	}
	rh->off = 5 << 4;
	s = ns_cksum_pseudo46(&ii->dst, &ii->src, NS_IPPROTO_TCP,
			      NS_TCP_HLEN_MIN);
	rh->cksum_be = ns_cksum_fold(ns_cksum_add(s, rh, NS_TCP_HLEN_MIN));
	NS_CNT(st, tcp_rst_sent);
	if (ii->v6)
		ns_ip6_output(st, b, ii->dst.b, ii->src.b, NS_IPPROTO_TCP,
			      NS_TCP_HLEN_MIN, NS_IP6_HLIM);
	else
		ns_ip_output(st, b, ii->dst_be, ii->src_be, NS_IPPROTO_TCP,
			     NS_TCP_HLEN_MIN);
}


uint32_t ns_tcp_rexmit_at(struct ns_stack *st, struct ns_sock *so,
			  uint32_t seq, uint32_t maxlen)
{
	struct ns_tcb *tp = &so->tcb;
	uint32_t off, len = 0;
	uint8_t flags = NS_TH_ACK;

	if (SEQ_LT(seq, tp->sb_seq) || !SEQ_LT(seq, tp->snd_max))
		return 0; /* SYN: the timer handles it */
	off = seq - tp->sb_seq;
	if (off < tp->sb_len) {
		len = tp->sb_len - off;
		if (len > maxlen)
			len = maxlen;
		if (len > seg_mss(tp))
			len = seg_mss(tp);
	}
	if (off + len == tp->sb_len && (tp->tf & TF_FIN_QUEUED) &&
	    SEQ_GT(tp->snd_max, tp->sb_seq + tp->sb_len))
		flags |= NS_TH_FIN;
	if (!len && !(flags & NS_TH_FIN))
		return 0;
	tp->tf &= ~TF_RTT_TIMING; /* Karn */
	tp->total_retrans++;
	ns_cc_undo_note(tp, seq, len, tp->mss, ns_tcp_ts_now(st, tp));
	NS_CNT(st, tcp_retransmits);
	if (tcp_xmit(st, so, seq, tp->rcv_nxt, flags | (len ? NS_TH_PSH : 0),
		     len))
		return 0;
	return len + !!(flags & NS_TH_FIN);
}

/* retransmit one segment at snd_una (fast retransmit, partial ACK) */
void ns_tcp_rexmit_una(struct ns_stack *st, struct ns_sock *so)
{
	ns_tcp_rexmit_at(st, so, so->tcb.snd_una, so->tcb.mss);
}

void ns_tcp_output(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint32_t maxseg, smss;
	int iter;

	if (tp->state == NS_TCPS_CLOSED || tp->state == NS_TCPS_LISTEN)
		return;
	smss = seg_mss(tp);
	maxseg = smss;
	if ((st->io.caps & (NF_CAP_TSO | NF_CAP_MULTI_SEG)) ==
	    (NF_CAP_TSO | NF_CAP_MULTI_SEG) && !ns_sock_is6(so)) {
		/* TSO: up to 64 KiB of whole segments per frame */
		uint32_t lim = 65535 - NS_IP4_HLEN_MIN - NS_TCP_HLEN_MAX;
		maxseg = lim - lim % smss;
	}
	for (iter = 0; iter < 1024; iter++) {
		uint8_t flags = NS_TH_ACK;
		uint32_t len = 0, avail = 0, off = 0, usable = 0, win;
		uint32_t inflight = tp->snd_nxt - tp->snd_una;
		int syn = 0, fin = 0, send = 0;

		if ((tp->state == NS_TCPS_SYN_SENT ||
		     tp->state == NS_TCPS_SYN_RECEIVED) &&
		    tp->snd_nxt == tp->iss) {
			syn = 1;
			flags = NS_TH_SYN;
			if (tp->state == NS_TCPS_SYN_RECEIVED)
				flags |= NS_TH_ACK;
			send = 1;
		} else if (tp->state == NS_TCPS_SYN_SENT ||
			   tp->state == NS_TCPS_SYN_RECEIVED) {
			/* no data before the handshake completes */
			if (!(tp->tf & TF_ACKNOW) ||
			    tp->state == NS_TCPS_SYN_SENT)
				break;
			send = 1;
		} else {
			off = tp->snd_nxt - tp->sb_seq;
			if (SEQ_GEQ(tp->snd_nxt, tp->sb_seq) && off < tp->sb_len)
				avail = tp->sb_len - off;
			win = tp->snd_wnd < tp->cwnd ? tp->snd_wnd : tp->cwnd;
			usable = win > inflight ? win - inflight : 0;
			if ((tp->tf & (TF_RECOVERY | TF_SACK_OK)) ==
			    (TF_RECOVERY | TF_SACK_OK)) {
				/* RFC 6675 5: new data while pipe < cwnd */
				uint32_t pipe = ns_sack_pipe(tp);
				uint32_t wl = tp->snd_wnd > inflight ?
					      tp->snd_wnd - inflight : 0;
				usable = tp->cwnd > pipe ? tp->cwnd - pipe : 0;
				if (usable > wl)
					usable = wl;
			}
			len = avail < usable ? avail : usable;
			if (len > maxseg)
				len = maxseg;
			if ((tp->tf & TF_FIN_QUEUED) && len == avail &&
			    SEQ_LEQ(tp->snd_nxt + len, tp->sb_seq + tp->sb_len) &&
			    NS_TCPS_SENTFIN(tp->state))
				fin = 1;
			if (len) {
				/* Nagle with Minshall's change: hold only while
				 * a small segment is unacknowledged */
				int nagle = !(tp->tf & (TF_NODELAY | TF_FORCE)) &&
					SEQ_GT(tp->snd_sml, tp->snd_una);
				int held = (tp->tf & (TF_CORK | TF_MORE)) &&
					!(tp->tf & TF_FORCE);
				if (len >= smss)
					send = 1;
				else if (fin)
					send = 1;
				else if (len == avail && !nagle && !held)
					send = 1; /* RFC 1122 4.2.3.4 (b) */
				else if (tp->max_sndwnd &&
					 len >= tp->max_sndwnd / 2 && !held)
					send = 1; /* (c) */
				else if (tp->tf & TF_FORCE)
					send = 1;
			}
			if (fin)
				send = 1;
			if (tp->tf & TF_ACKNOW)
				send = 1;
			/* window closed with data waiting: probe later
			 * (RFC 9293 3.8.6.1) */
			if (avail && !send && tp->snd_max == tp->snd_una &&
			    !tp->t_persist && !tp->t_rexmt) {
				tp->persist_ns = tp->rto_ns > NS_TCP_PERSIST_MIN_NS ?
					tp->rto_ns : NS_TCP_PERSIST_MIN_NS;
				ns_tcp_timer_set(st, so, &tp->t_persist,
						 st->now + tp->persist_ns);
			}
		}
		if (!send)
			break;
		if (len && off + len == tp->sb_len)
			flags |= NS_TH_PSH;
		if (fin)
			flags |= NS_TH_FIN;
		/* a bare ACK carries snd_max: after a go-back-N rewind,
		 * snd_nxt would fall left of the peer's window and the ACK
		 * would be discarded (FreeBSD tcp_output does the same) */
		if (tcp_xmit(st, so, (len || syn || fin) ? tp->snd_nxt :
			     tp->snd_max, tp->rcv_nxt, flags, len))
			break;
		tp->tf |= TF_SENT_ANY;
		if (len || syn || fin) {
			uint32_t before = tp->snd_nxt;
			if (SEQ_LT(before, tp->snd_max)) {
				tp->total_retrans++;
				ns_cc_undo_note(tp, before, len, smss,
						ns_tcp_ts_now(st, tp));
				NS_CNT(st, tcp_retransmits);
			}
			tp->snd_nxt += len + (uint32_t)syn + (uint32_t)fin;
			if (len % smss)
				tp->snd_sml = tp->snd_nxt;
			if (SEQ_GT(tp->snd_nxt, tp->snd_max)) {
				if (!(tp->tf & TF_RTT_TIMING) &&
				    before == tp->snd_max) {
					tp->tf |= TF_RTT_TIMING;
					tp->rtt_seq = before;
					tp->rtt_start_ns = st->now;
				}
				tp->snd_max = tp->snd_nxt;
			}
			if (!tp->t_rexmt)
				ns_tcp_rexmt_arm(st, so);
			if (tp->t_persist)
				ns_tcp_timer_set(st, so, &tp->t_persist, 0);
		}
		tp->tf &= ~TF_FORCE;
		if (!len && !fin)
			break; /* a bare ACK or SYN: done */
	}
	if (tp->t_delack == 0 && (tp->tf & TF_DELACK))
		ns_tcp_timer_set(st, so, &tp->t_delack,
				 st->now + NS_TCP_DELACK_NS);
	/* a flight began: the tail loss probe timer (ACKs re-arm it) */
	if (!tp->t_tlp && (tp->tf & TF_SACK_OK) && tp->snd_max != tp->snd_una)
		ns_tlp_arm(st, so);
}

void ns_tcp_window_update(struct ns_stack *st, struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;
	uint32_t w = ns_tcp_rcv_window(tp), grow;
	uint32_t wmax = (uint32_t)65535 << tp->rcv_wscale;

	if (!NS_TCPS_HAVEESTABLISHED(tp->state) ||
	    NS_TCPS_HAVERCVDFIN(tp->state))
		return;
	/* what the window field can say: a larger ring must not turn
	 * into "updates" that repeat the same field (without window
	 * scaling, 65535), which a sender counts as duplicate ACKs */
	if (w > wmax)
		w = wmax;
	w &= ~((1u << tp->rcv_wscale) - 1);
	/* RFC 1122 4.2.3.3: only worth an ACK if the edge moves by at
	 * least min(half the buffer, 2 MSS) */
	grow = tp->rcv_nxt + w - tp->rcv_adv;
	if (SEQ_GT(tp->rcv_nxt + w, tp->rcv_adv) &&
	    (grow >= 2u * tp->rcv_mss || grow >= tp->rb_lim / 2)) {
		tp->tf |= TF_ACKNOW;
		ns_sock_want_output(st, so);
	}
}
