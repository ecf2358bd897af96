/*
 * udp.c: UDP (RFC 768, RFC 1122 4.1): input demultiplexing to bound
 * sockets (connected sockets only take datagrams from their peer), the
 * checksum both ways, a per-socket queue of received datagrams bounded in
 * bytes, sends that fit one frame, and ICMP errors for connected sockets.
 * Called by ip4.c, icmp.c and sock.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>

int ns_sock_autobind(struct ns_stack *st, struct ns_sock *so);

void ns_udp_input(struct ns_stack *st, struct nf_buf *b,
		  const struct ns_ip_info *ii)
{
	const struct ns_udp_hdr *uh;
	struct ns_sock *so;
	uint32_t ulen;

	if (b->pkt_len < NS_UDP_HLEN || b->len < NS_UDP_HLEN) {
		NS_CNT(st, drop_udp_short);
		goto drop;
	}
	uh = (const struct ns_udp_hdr *)b->data;
	ulen = ns_ntohs(uh->len_be);
	if (ulen < NS_UDP_HLEN || ulen > b->pkt_len ||
	    (b->seg_next && ulen != b->pkt_len)) {
		NS_CNT(st, drop_udp_short);
		goto drop;
	}
	if (!b->seg_next)
		b->len = b->pkt_len = ulen;
	if (uh->cksum_be == 0 && ii->v6) {
		/* RFC 8200 8.1: IPv6 receivers discard a zero checksum */
		NS_CNT(st, drop_udp_cksum);
		goto drop;
	}
	if (uh->cksum_be != 0 && !(b->ol_flags & NF_RX_L4_CKSUM_GOOD)) {
		uint32_t s = ns_cksum_pseudo46(&ii->src, &ii->dst,
					       NS_IPPROTO_UDP, ulen);
		if ((b->ol_flags & NF_RX_L4_CKSUM_BAD) ||
		    ns_cksum_fold(ns_cksum_chain(s, b)) != 0) {
			NS_CNT(st, drop_udp_cksum);
			goto drop;
		}
	}
	so = ns_bind_lookup(st, NS_SOCK_UDP, &ii->dst, uh->dport_be);
	if (!so || ((so->sf & SF_CONNECTED) &&
		    (!ns_in46_eq(&so->raddr, &ii->src) ||
		     so->rport_be != uh->sport_be))) {
		int ours = ns_addr_is_ours(st, &ii->dst);
		if (ours && ns_steer_foreign(st, b))
			return; /* another instance's socket */
		NS_CNT(st, drop_udp_noport);
		if (!b->seg_next && ours && !ii->v6)
			ns_icmp_unreach(st, ii->ih, ii->hlen + ulen,
					NS_ICMP_UNREACH_PORT, 0);
		else if (ours && ii->v6)
			ns_icmp6_error(st, ii->ih6, ii->hlen + ulen,
				       NS_ICMP6_DST_UNREACH, 4, 0);
		goto drop;
	}
	if (so->uq_bytes + ulen > st->cfg.udp_rcvbuf ||
	    (so->sf & SF_SHUT_RD)) {
		NS_CNT(st, drop_udp_rcvbuf);
		goto drop;
	}
	b->data += NS_UDP_HLEN;
	if (ii->v6) /* the source stays in the frame, before the payload */
		b->user = NS_UQ_IP6 | (uint64_t)uh->sport_be << 32 |
			  (uint64_t)(b->data - ii->ih6->src);
	else
		b->user = (uint64_t)ii->src_be | (uint64_t)uh->sport_be << 32;
	b->len -= NS_UDP_HLEN;
	b->pkt_len = ulen - NS_UDP_HLEN;
	b->q_next = NULL;
	if (so->uq_tail)
		so->uq_tail->q_next = b;
	else
		so->uq_head = b;
	so->uq_tail = b;
	so->uq_bytes += ulen;
	ns_sock_event(st, so);
	return;
drop:
	ns_buf_free(st, b);
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t t = 0;
	int i;
	for (i = 0; i < iovcnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* the UDP header at uh (checksum 0) and the payload after it; the
 * datagram's length */
static uint32_t udp_fill(struct ns_udp_hdr *uh, const struct ns_sock *so,
			 const struct iovec *iov, int iovcnt, size_t len,
			 uint16_t dport_be)
{
	uint8_t *p = (uint8_t *)(uh + 1);
	int i;
	for (i = 0; i < iovcnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	uh->sport_be = so->lport_be;
	uh->dport_be = dport_be;
	uh->len_be = ns_htons((uint16_t)(len + NS_UDP_HLEN));
	uh->cksum_be = 0;
	return (uint32_t)len + NS_UDP_HLEN;
}

/* the checksum of the n-byte datagram at uh from pseudo-header sum s;
 * a computed zero is sent as all ones (RFC 768; never 0 over IPv6,
 * RFC 8200 8.1) */
static void udp_sum(struct ns_udp_hdr *uh, uint32_t n, uint32_t s)
{
	uint16_t c = ns_cksum_fold(ns_cksum_add(s, uh, n));
	uh->cksum_be = c ? c : 0xffff;
}

/* the largest IP packet a fragment may make */
static uint32_t frag_room(const struct ns_stack *st)
{
	uint32_t room = st->hdr_room - NS_ETH_HLEN;
	return room > st->io.mtu ? st->io.mtu : room;
}

/* a datagram larger than the MTU leaves in fragments (RFC 791 2.3; only
 * UDP does this, TCP sizes its segments to the path MTU) */
static ssize_t udp_send_frags(struct ns_stack *st, struct ns_sock *so,
			      const struct iovec *iov, int iovcnt, size_t len,
			      uint32_t src_be, uint32_t dst_be,
			      uint16_t dport_be)
{
	uint8_t *p = st->scratch;
	struct ns_udp_hdr *uh = (struct ns_udp_hdr *)p;
	uint32_t total = udp_fill(uh, so, iov, iovcnt, len, dport_be), off;
	uint32_t fs = (frag_room(st) - NS_IP4_HLEN_MIN) & ~7u;
	uint16_t id = ns_ip_id(st, src_be, dst_be, NS_IPPROTO_UDP);

	udp_sum(uh, total, ns_cksum_pseudo(src_be, dst_be, NS_IPPROTO_UDP,
					   (uint16_t)total));
	for (off = 0; off < total; off += fs) {
		uint32_t n = total - off < fs ? total - off : fs;
		struct nf_buf *b = ns_buf_alloc(st);
		uint16_t frag = (uint16_t)(off / 8);
		int rc;
		if (!b)
			return off ? (ssize_t)len : -ENOBUFS;
		memcpy(b->data + NS_ETH_HLEN + NS_IP4_HLEN_MIN, p + off, n);
		if (off + n < total)
			frag |= NS_IP4_MF;
		rc = ns_ip_output_ex(st, b, src_be, dst_be, NS_IPPROTO_UDP,
				     (uint16_t)n, id, frag);
		if (rc && !off)
			return rc;
	}
	return (ssize_t)len;
}

/* a datagram larger than the MTU over IPv6: fragments with a fragment
 * header (RFC 8200 4.5), each within the MTU, the UDP checksum over the
 * whole datagram */
static ssize_t udp_send6_frags(struct ns_stack *st, struct ns_sock *so,
			       const struct iovec *iov, int iovcnt,
			       size_t len, const union ns_in46 *src,
			       const union ns_in46 *dst, uint16_t dport_be)
{
	uint8_t *p = st->scratch;
	struct ns_udp_hdr *uh = (struct ns_udp_hdr *)p;
	uint32_t total = udp_fill(uh, so, iov, iovcnt, len, dport_be), off;
	uint32_t fs = (frag_room(st) - NS_IP6_HLEN - 8) & ~7u;
	uint32_t id = (uint32_t)ns_rand(st);

	udp_sum(uh, total, ns_cksum_pseudo46(src, dst, NS_IPPROTO_UDP, total));
	for (off = 0; off < total; off += fs) {
		uint32_t n = total - off < fs ? total - off : fs;
		struct nf_buf *b = ns_buf_alloc(st);
		uint8_t *fh;
		int rc;
		if (!b)
			return off ? (ssize_t)len : -ENOBUFS;
		fh = b->data + NS_ETH_HLEN + NS_IP6_HLEN;
		fh[0] = NS_IP6_NH_UDP;
		fh[1] = 0;
		ns_put16(fh + 2, ns_htons((uint16_t)(off | (off + n < total))));
		memcpy(fh + 4, &id, 4);
		memcpy(fh + 8, p + off, n);
		rc = ns_ip6_output(st, b, src->b, dst->b, NS_IP6_NH_FRAGMENT,
				   (uint16_t)(8 + n), NS_IP6_HLIM);
		if (rc && !off)
			return rc;
	}
	return (ssize_t)len;
}

/* one frame's datagram over IPv6, or fragments */
static ssize_t udp_send6(struct ns_stack *st, struct ns_sock *so,
			 const struct iovec *iov, int iovcnt, size_t len,
			 const union ns_in46 *src, const union ns_in46 *dst,
			 uint16_t dport_be)
{
	uint32_t l4 = (uint32_t)len + NS_UDP_HLEN;
	struct ns_udp_hdr *uh;
	struct nf_buf *b;
	int rc;

	if (l4 + NS_IP6_HLEN > st->io.mtu ||
	    l4 + NS_IP6_HLEN + NS_ETH_HLEN > st->hdr_room)
		return udp_send6_frags(st, so, iov, iovcnt, len, src, dst,
				       dport_be);
	b = ns_buf_alloc(st);
	if (!b)
		return -ENOBUFS;
	uh = (struct ns_udp_hdr *)(b->data + NS_ETH_HLEN + NS_IP6_HLEN);
	udp_fill(uh, so, iov, iovcnt, len, dport_be);
	udp_sum(uh, l4, ns_cksum_pseudo46(src, dst, NS_IPPROTO_UDP, l4));
	rc = ns_ip6_output(st, b, src->b, dst->b, NS_IPPROTO_UDP,
			   (uint16_t)l4, NS_IP6_HLIM);
	return rc ? rc : (ssize_t)len;
}

ssize_t ns_udp_send(struct ns_stack *st, struct ns_sock *so,
		    const struct iovec *iov, int iovcnt,
		    const union ns_in46 *to, uint16_t to_port_be)
{
	uint32_t dst_be, src_be, nh;
	uint16_t dport_be;
	size_t len = iov_total(iov, iovcnt);
	struct nf_buf *b;
	struct ns_udp_hdr *uh;
	union ns_in46 dst;
	int rc;

	if (to) {
		dst = *to;
		dport_be = to_port_be;
		if (dport_be == 0)
			return -EINVAL;
	} else if (so->sf & SF_CONNECTED) {
		dst = so->raddr;
		dport_be = so->rport_be;
	} else {
		return -EDESTADDRREQ;
	}
	if (so->sf & SF_SHUT_WR)
		return -EPIPE;
	if (!ns_in46_is_any(&so->laddr) &&
	    ns_in46_is4(&so->laddr) != ns_in46_is4(&dst))
		return -ENETUNREACH; /* bound to the other family */
	if (!ns_in46_is4(&dst)) {
		union ns_in46 src;
		if (len > 65535 - NS_UDP_HLEN)
			return -EMSGSIZE;
		if (ns_ip6_route(st, dst.b))
			return -ENETUNREACH;
		if (!(so->sf & SF_BOUND) && (rc = ns_sock_autobind(st, so)))
			return rc;
		if (ns_in46_is_any(&so->laddr))
			memcpy(src.b, ns_ip6_src_for(st, dst.b), 16);
		else
			src = so->laddr;
		return udp_send6(st, so, iov, iovcnt, len, &src, &dst,
				 dport_be);
	}
	dst_be = dst.a4;
	if (len > 65535 - NS_UDP_HLEN - NS_IP4_HLEN_MIN)
		return -EMSGSIZE;
	if (ns_ip_route(st, dst_be, &nh))
		return -ENETUNREACH;
	if (!(so->sf & SF_BOUND)) {
		rc = ns_sock_autobind(st, so);
		if (rc)
			return rc;
	}
	src_be = so->lip_be ? so->lip_be : st->ip_be;
	if (len + NS_UDP_HLEN + NS_IP4_HLEN_MIN > st->io.mtu ||
	    len + NS_UDP_HLEN + NS_IP4_HLEN_MIN + NS_ETH_HLEN > st->hdr_room)
		return udp_send_frags(st, so, iov, iovcnt, len, src_be, dst_be,
				      dport_be);
	b = ns_buf_alloc(st);
	if (!b)
		return -ENOBUFS;
	uh = (struct ns_udp_hdr *)(b->data + NS_ETH_HLEN + NS_IP4_HLEN_MIN);
	udp_fill(uh, so, iov, iovcnt, len, dport_be);
	{
		uint32_t s = ns_cksum_pseudo(src_be, dst_be, NS_IPPROTO_UDP,
					     (uint16_t)(len + NS_UDP_HLEN));
		if (st->io.caps & NF_CAP_TX_L4_CKSUM) {
			uh->cksum_be = (uint16_t)~ns_cksum_fold(s);
			b->ol_flags |= NF_TX_UDP_CKSUM;
			b->l4_len = NS_UDP_HLEN;
		} else {
			udp_sum(uh, (uint32_t)len + NS_UDP_HLEN, s);
		}
	}
	rc = ns_ip_output(st, b, src_be, dst_be, NS_IPPROTO_UDP,
			  (uint16_t)(len + NS_UDP_HLEN));
	if (rc)
		return rc;
	return (ssize_t)len;
}

ssize_t ns_udp_recv(struct ns_stack *st, struct ns_sock *so,
		    const struct iovec *iov, int iovcnt, int flags,
		    union ns_in46 *from, uint16_t *from_port_be)
{
	struct nf_buf *b = so->uq_head, *s;
	size_t want = iov_total(iov, iovcnt), done = 0, soff = 0;
	int i = 0;
	size_t ioff = 0;

	if (!b) {
		if (so->so_error) {
			int e = so->so_error;
			so->so_error = 0;
			return -e;
		}
		if (so->sf & SF_SHUT_RD)
			return 0;
		return -EAGAIN;
	}
	s = b;
	while (s && done < want && i < iovcnt) {
		size_t n = s->len - soff, room = iov[i].iov_len - ioff;
		if (n > room)
			n = room;
		if (n > want - done)
			n = want - done;
		memcpy((uint8_t *)iov[i].iov_base + ioff, s->data + soff, n);
		done += n;
		soff += n;
		ioff += n;
		if (soff == s->len) {
			s = s->seg_next;
			soff = 0;
		}
		if (ioff == iov[i].iov_len) {
			i++;
			ioff = 0;
		}
	}
	if (b->user & NS_UQ_IP6)
		memcpy(from->b, b->data - (uint16_t)b->user, 16);
	else
		ns_in46_set4(from, (uint32_t)b->user);
	*from_port_be = (uint16_t)(b->user >> 32);
	{
		size_t full = b->pkt_len;
		if (!(flags & MSG_PEEK)) {
			so->uq_head = b->q_next;
			if (!so->uq_head)
				so->uq_tail = NULL;
			so->uq_bytes -= (uint32_t)full + NS_UDP_HLEN;
			b->q_next = NULL;
			ns_buf_free(st, b);
		}
		if (flags & MSG_TRUNC)
			return (ssize_t)full;
	}
	return (ssize_t)done;
}

void ns_udp_flush(struct ns_stack *st, struct ns_sock *so)
{
	struct nf_buf *b, *n;
	for (b = so->uq_head; b; b = n) {
		n = b->q_next;
		b->q_next = NULL;
		ns_buf_free(st, b);
	}
	so->uq_head = so->uq_tail = NULL;
	so->uq_bytes = 0;
}

void ns_udp_ctlinput(struct ns_stack *st, const struct ns_ip4_hdr *ih,
		     uint32_t avail, int err)
{
	uint32_t hlen = (uint32_t)(ih->ver_ihl & 0xf) * 4;
	const struct ns_udp_hdr *uh;
	struct ns_sock *so;
	union ns_in46 l;

	if (avail < hlen + NS_UDP_HLEN)
		return;
	uh = (const struct ns_udp_hdr *)((const uint8_t *)ih + hlen);
	ns_in46_set4(&l, ih->src_be);
	so = ns_bind_lookup(st, NS_SOCK_UDP, &l, uh->sport_be);
	/* only connected sockets learn of errors (Linux, RFC 1122 4.1.3.3) */
	if (!so || !(so->sf & SF_CONNECTED) || !ns_in46_is4(&so->raddr) ||
	    so->rip_be != ih->dst_be || so->rport_be != uh->dport_be)
		return;
	so->so_error = err;
	ns_sock_event(st, so);
}

void ns_udp_ctlinput6(struct ns_stack *st, const struct ns_ip6_hdr *ih,
		      int err)
{
	const struct ns_udp_hdr *uh = (const struct ns_udp_hdr *)(ih + 1);
	union ns_in46 l, r;
	struct ns_sock *so;

	memcpy(l.b, ih->src, 16);
	memcpy(r.b, ih->dst, 16);
	so = ns_bind_lookup(st, NS_SOCK_UDP, &l, uh->sport_be);
	/* only connected sockets learn of errors (Linux, RFC 1122 4.1.3.3) */
	if (!so || !(so->sf & SF_CONNECTED) || !ns_in46_eq(&so->raddr, &r) ||
	    so->rport_be != uh->dport_be)
		return;
	so->so_error = err;
	ns_sock_event(st, so);
}
