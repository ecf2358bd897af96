/*
 * sock_move.c: move an accepted TCP connection from one instance to
 * another of the same process (stack.h ns_sock_move).
 *
 * vfs/ calls it when a thread bound to instance B starts using a
 * connection instance A accepted (memcached's accept thread hands every
 * connection to a worker): from then on the connection's calls take B's
 * lock, which B's own threads hold anyway, instead of A's. The TCB, its
 * rings' contents, timers and options are copied to a fresh slot of B
 * and A's slot is freed without a word on the wire. Segments of the flow
 * that still land on A's queue find no socket there and are handed on
 * (vfs/steer.c); a device that learns a flow from the queue it was last
 * sent on (net_tap) moves it to B's queue by itself.
 *
 * Only what needs no port bookkeeping moves: an accepted connection
 * (not bound: its port is the listener's), synchronized and not yet
 * closing on our side (ESTABLISHED, CLOSE_WAIT), not orphaned. The two
 * instances' receive and send rings must be the same size (one config).
 */
#include "stack/ns_priv.h"

#include <errno.h>

/* copy len bytes of a ring (mask + 1 bytes) from position start */
static void ring_copy(uint8_t *dst, const uint8_t *src, uint32_t mask,
		      uint32_t start, uint32_t len)
{
	uint32_t pos = start & mask, first = mask + 1 - pos;

	if (len > mask + 1)
		len = mask + 1;
	if (first > len)
		first = len;
	memcpy(dst + pos, src + pos, first);
	if (len > first)
		memcpy(dst, src, len - first);
}

static int movable(const struct ns_stack *from, const struct ns_sock *so,
		   const struct ns_stack *to)
{
	if (so->type != NS_SOCK_TCP)
		return 0;
	if (so->sf & (SF_BOUND | SF_LISTEN | SF_ACCEPTQ | SF_ORPHAN |
		      SF_CONNECTING))
		return 0;
	if (so->parent != NS_NONE)
		return 0;
	if (so->tcb.state != NS_TCPS_ESTABLISHED &&
	    so->tcb.state != NS_TCPS_CLOSE_WAIT)
		return 0;
	return from->cfg.sndbuf == to->cfg.sndbuf &&
	       from->cfg.rcvbuf == to->cfg.rcvbuf;
}

int ns_sock_move(struct ns_stack *from, int sd, struct ns_stack *to)
{
	struct ns_sock *so, *n;
	struct ns_tcb *tp;
	uint8_t *sb, *rb;
	uint32_t keep, chg_next, out_next, active, nh;
	uint8_t mac[6], tmac[6];

	if (!from || !to || from == to || sd < 0 ||
	    (uint32_t)sd >= from->cfg.max_socks)
		return -EBADF;
	so = &from->socks[sd];
	if (so->type == NS_SOCK_FREE)
		return -EBADF;
	if (!movable(from, so, to))
		return -EBUSY;
	/* what it owes the wire leaves from where it was built */
	if (!from->in_api) {
		ns_sock_run_output(from);
		ns_tx_flush(from);
	}
	n = ns_sock_alloc(to, NS_SOCK_TCP);
	if (!n)
		return -ENOBUFS;
	tp = &so->tcb;
	/* keep the new slot's own rings and list links */
	sb = n->tcb.sb;
	rb = n->tcb.rb;
	keep = n->sf & (SF_CHANGED | SF_OUTPUT);
	chg_next = n->chg_next;
	out_next = n->out_next;
	ring_copy(sb, tp->sb, tp->sb_mask, tp->sb_start, tp->sb_len);
	if (tp->ooo_n) /* out-of-order data lies beyond rb_len: all of it */
		ring_copy(rb, tp->rb, tp->rb_mask, 0, tp->rb_mask + 1);
	else
		ring_copy(rb, tp->rb, tp->rb_mask, tp->rb_start, tp->rb_len);
	active = so->sf & SF_ACTIVE;
	*n = *so;
	n->tcb.sb = sb;
	n->tcb.rb = rb;
	n->sf = (so->sf & ~(SF_HASHED | SF_ACTIVE | SF_CHANGED | SF_OUTPUT)) |
		keep;
	n->chg_next = chg_next;
	n->out_next = out_next;
	n->hnext = n->bnext = n->act_prev = n->act_next = NS_NONE;
	/* UDP queue pointers are unused on TCP; nothing else is shared */
	n->uq_head = n->uq_tail = NULL;
	n->uq_bytes = 0;

	/* the old slot goes quietly: no RST, no FIN */
	ns_sock_free(from, so);

	/* TCP timestamps come from the instance's clock: never let the new
	 * one's lag behind (the peer's PAWS check would drop our segments) */
	if (to->now < from->now) {
		to->now = from->now;
		to->now_ms = from->now_ms;
	}
	/* and the neighbour it talks through, if `to` has not learnt it */
	if (!ns_sock_is6(n) && ns_ip_route(from, n->rip_be, &nh) == 0 &&
	    ns_arp_lookup(from, nh, mac) == 0 && ns_arp_lookup(to, nh, tmac))
		ns_arp_learn(to, nh, mac);
	ns_conn_insert(to, n);
	if (active)
		ns_tcp_act_insert(to, n);
	ns_timer_note(to, n->tcb.t_next);
	ns_sock_event(to, n); /* its readiness, reported under its new sd */
	NS_CNT(from, tcp_moved_out);
	NS_CNT(to, tcp_moved_in);
	return (int)ns_sd(to, n);
}
