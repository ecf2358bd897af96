/*
 * lw_sock.c: the lwIP backend's socket table and its operations table
 * (netfuse_backend(), the one symbol a backend exports). Sockets are
 * slots 0 .. max_socks - 1 in the instance's memory; each holds its lwIP
 * pcb and what lwIP's callbacks queued on it (lw_tcp.c, lw_udp.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "backends/lwip/lw_priv.h"
#include "lwip/priv/tcp_priv.h"

static struct lw_inst *LI(struct nf_be_inst *bi)
{
	return (struct lw_inst *)(void *)bi;
}

void *lw_arg(int sd)
{
	return (void *)(uintptr_t)(sd + 1);
}

int lw_sd_of(void *arg)
{
	return (int)(uintptr_t)arg - 1;
}

struct lw_sock *lw_sock_get(struct lw_inst *li, int sd)
{
	if (!li || sd < 0 || (uint32_t)sd >= li->max_socks ||
	    !li->socks[sd].used)
		return NULL;
	return &li->socks[sd];
}

void lw_mark(struct lw_inst *li, int sd)
{
	struct lw_sock *s = &li->socks[sd];
	if (s->mark || li->nchg >= li->max_socks)
		return;
	s->mark = 1;
	li->chg[li->nchg++] = sd;
}

int lw_take_err(struct lw_sock *s)
{
	int e = s->err;
	s->err = 0;
	return e;
}

int lw_sock_new(struct lw_inst *li, int family, int tcp)
{
	uint32_t i;
	for (i = 0; i < li->max_socks; i++) {
		struct lw_sock *s = &li->socks[i];
		uint8_t mark;
		if (s->used)
			continue;
		mark = s->mark; /* it may still be on the changed list */
		memset(s, 0, sizeof(*s));
		s->mark = mark;
		s->used = 1;
		s->tcp = (uint8_t)tcp;
		s->family = (uint8_t)family;
		s->listener = -1;
		return (int)i;
	}
	return -ENOBUFS;
}

void lw_sock_free(struct lw_inst *li, int sd)
{
	struct lw_sock *s = &li->socks[sd];
	if (s->tcp)
		lw_tcp_close(li, sd);
	else
		lw_udp_close(li, sd);
	if (s->rxq)
		pbuf_free(s->rxq);
	s->rxq = NULL;
	while (s->dq) {
		struct lw_dgram *d = s->dq;
		s->dq = d->next;
		pbuf_free(d->p);
		free(d);
	}
	free(s->aq);
	s->aq = NULL;
	s->used = 0;
}

static int lw_socket(struct nf_be_inst *bi, int family, int type)
{
	struct lw_inst *li = LI(bi);
	u8_t t = family == AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4;
	int tcp = (type & 0xf) == SOCK_STREAM, sd;
	void *pcb;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if ((type & 0xf) != SOCK_STREAM && (type & 0xf) != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	sd = lw_sock_new(li, family, tcp);
	if (sd < 0)
		return sd;
	pcb = tcp ? (void *)tcp_new_ip_type(t) : (void *)udp_new_ip_type(t);
	if (!pcb) {
		li->socks[sd].used = 0;
		return -ENOMEM;
	}
	if (tcp)
		lw_tcp_attach(li, sd, pcb);
	else
		lw_udp_attach(li, sd, pcb);
	return sd;
}

static int lw_bind(struct nf_be_inst *bi, int sd, const struct sockaddr *a,
		   socklen_t len)
{
	struct lw_inst *li = LI(bi);
	struct lw_sock *s = lw_sock_get(li, sd);
	ip_addr_t ip;
	uint16_t port;
	err_t e;
	int r;
	if (!s)
		return -EBADF;
	r = lw_addr_in(s, a, len, &ip, &port);
	if (r < 0)
		return r;
	if (!s->pcb || s->lport || s->listening || s->connected ||
	    s->connecting)
		return -EINVAL;
	if (!lw_addr_is_any(&ip) && !lw_is_own(li, &ip))
		return -EADDRNOTAVAIL;
	if (s->family == AF_INET6 && lw_addr_is_any(&ip) && !s->v6only)
		ip_addr_copy(ip, *IP_ANY_TYPE); /* dual: IPv4 and IPv6 */
	e = s->tcp ? tcp_bind(s->pcb, &ip, port) :
		     udp_bind(s->pcb, &ip, port);
	if (e == ERR_USE)
		return -EADDRINUSE;
	if (e != ERR_OK)
		return -EINVAL;
	ip_addr_copy(s->lip, ip);
	s->lport = s->tcp ? ((struct tcp_pcb *)s->pcb)->local_port :
			    ((struct udp_pcb *)s->pcb)->local_port;
	return 0;
}

static int lw_listen(struct nf_be_inst *bi, int sd, int backlog)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	if (!s)
		return -EBADF;
	if (!s->tcp)
		return -EOPNOTSUPP;
	return lw_tcp_listen(LI(bi), sd, backlog);
}

static int lw_accept(struct nf_be_inst *bi, int sd, struct sockaddr *peer,
		     socklen_t *len)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	if (!s)
		return -EBADF;
	if (!s->tcp)
		return -EOPNOTSUPP;
	return lw_tcp_accept(LI(bi), sd, peer, len);
}

static int lw_connect(struct nf_be_inst *bi, int sd, const struct sockaddr *a,
		      socklen_t len)
{
	struct lw_inst *li = LI(bi);
	struct lw_sock *s = lw_sock_get(li, sd);
	ip_addr_t ip;
	uint16_t port;
	int r;
	if (!s)
		return -EBADF;
	if (!s->tcp && a && len >= sizeof(sa_family_t) &&
	    a->sa_family == AF_UNSPEC)
		return lw_udp_connect(li, sd, NULL, 0);
	r = lw_addr_in(s, a, len, &ip, &port);
	if (r < 0)
		return r;
	r = s->tcp ? lw_tcp_connect(li, sd, &ip, port) :
		     lw_udp_connect(li, sd, &ip, port);
	lw_flush(li);
	return r;
}

static ssize_t lw_sendmsg(struct nf_be_inst *bi, int sd,
			  const struct iovec *iov, int iovcnt, int flags,
			  const struct sockaddr *to, socklen_t tolen)
{
	struct lw_inst *li = LI(bi);
	struct lw_sock *s = lw_sock_get(li, sd);
	ssize_t r;
	if (!s)
		return -EBADF;
	r = s->tcp ? lw_tcp_send(li, sd, iov, iovcnt, flags) :
		     lw_udp_send(li, sd, iov, iovcnt, flags, to, tolen);
	lw_flush(li);
	return r;
}

static ssize_t lw_recvmsg(struct nf_be_inst *bi, int sd,
			  const struct iovec *iov, int iovcnt, int flags,
			  struct sockaddr *from, socklen_t *fromlen)
{
	struct lw_inst *li = LI(bi);
	struct lw_sock *s = lw_sock_get(li, sd);
	ssize_t r;
	if (!s)
		return -EBADF;
	if (s->tcp) {
		r = lw_tcp_recv(li, sd, iov, iovcnt, flags);
		if (r >= 0 && from && fromlen)
			lw_addr_out(s, &s->rip, s->rport, from, fromlen);
		lw_flush(li); /* a window update */
		return r;
	}
	return lw_udp_recv(li, sd, iov, iovcnt, flags, from, fromlen);
}

static int lw_shutdown(struct nf_be_inst *bi, int sd, int how)
{
	struct lw_inst *li = LI(bi);
	struct lw_sock *s = lw_sock_get(li, sd);
	int r;
	if (!s)
		return -EBADF;
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	if (!s->tcp) {
		if (!s->connected)
			return -ENOTCONN;
		s->rd_shut |= how != SHUT_WR;
		s->wr_shut |= how != SHUT_RD;
		lw_mark(li, sd);
		return 0;
	}
	r = lw_tcp_shutdown(li, sd, how != SHUT_WR, how != SHUT_RD);
	lw_flush(li);
	return r;
}

static int lw_close(struct nf_be_inst *bi, int sd)
{
	struct lw_inst *li = LI(bi);
	if (!lw_sock_get(li, sd))
		return -EBADF;
	lw_sock_free(li, sd);
	lw_flush(li);
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (*len < sizeof(int)) {
		if (*len == 0)
			return -EINVAL;
		memcpy(val, &v, *len); /* Linux: a short int */
		return 0;
	}
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

static int tcp_info_of(const struct lw_sock *s, void *val, socklen_t *len)
{
	static const uint8_t states[] = { /* lwIP's order -> Linux's */
		[CLOSED] = 7, [LISTEN] = 10, [SYN_SENT] = 2,
		[SYN_RCVD] = 3, [ESTABLISHED] = 1, [FIN_WAIT_1] = 4,
		[FIN_WAIT_2] = 5, [CLOSE_WAIT] = 8, [CLOSING] = 11,
		[LAST_ACK] = 9, [TIME_WAIT] = 6,
	};
	const struct tcp_pcb *pcb = s->pcb;
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	ti.tcpi_state = pcb ? states[pcb->state] : 7;
	if (pcb) {
		ti.tcpi_snd_mss = pcb->mss;
		ti.tcpi_rcv_mss = pcb->mss;
		ti.tcpi_rto = (uint32_t)pcb->rto * TCP_SLOW_INTERVAL * 1000;
		ti.tcpi_rtt = (uint32_t)(pcb->sa >> 3) * TCP_SLOW_INTERVAL *
			      1000;
		ti.tcpi_snd_cwnd = pcb->mss ? pcb->cwnd / pcb->mss : 0;
		ti.tcpi_snd_ssthresh = pcb->mss ? pcb->ssthresh / pcb->mss : 0;
		ti.tcpi_unacked = pcb->snd_queuelen;
		ti.tcpi_retransmits = pcb->nrtx;
	}
	if (*len > sizeof(ti))
		*len = sizeof(ti);
	memcpy(val, &ti, *len);
	return 0;
}

static int lw_getsockopt(struct nf_be_inst *bi, int sd, int level, int name,
			 void *val, socklen_t *len)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	struct tcp_pcb *tp;
	if (!s)
		return -EBADF;
	tp = s->tcp ? s->pcb : NULL;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: return put_int(val, len, lw_take_err(s));
		case SO_TYPE:
			return put_int(val, len, s->tcp ? SOCK_STREAM :
						       SOCK_DGRAM);
		case SO_REUSEADDR: return put_int(val, len, s->reuseaddr);
		case SO_REUSEPORT: return put_int(val, len, s->reuseport);
		case SO_KEEPALIVE: return put_int(val, len, s->keepalive);
		case SO_ACCEPTCONN: return put_int(val, len, s->listening);
		case SO_RCVBUF:
			return put_int(val, len, s->rcvbuf ? s->rcvbuf * 2 :
				       s->tcp ? TCP_WND : 212992);
		case SO_SNDBUF:
			return put_int(val, len, s->sndbuf ? s->sndbuf * 2 :
				       s->tcp ? TCP_SND_BUF : 212992);
		case SO_LINGER: {
			struct linger l = { s->linger0, 0 };
			if (*len > sizeof(l))
				*len = sizeof(l);
			memcpy(val, &l, *len);
			return 0;
		}
		}
		return -ENOPROTOOPT;
	}
	if (level == IPPROTO_TCP && s->tcp) {
		switch (name) {
		case TCP_NODELAY: return put_int(val, len, s->nodelay);
		case TCP_MAXSEG:
			return put_int(val, len, tp ? tp->mss : TCP_MSS);
		case TCP_INFO: return tcp_info_of(s, val, len);
		case TCP_KEEPIDLE:
			return put_int(val, len, tp ? (int)(tp->keep_idle /
							   1000) : 7200);
		case TCP_KEEPINTVL:
			return put_int(val, len, tp ? (int)(tp->keep_intvl /
							   1000) : 75);
		case TCP_KEEPCNT:
			return put_int(val, len, tp ? (int)tp->keep_cnt : 9);
		}
		return -ENOPROTOOPT;
	}
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY &&
	    s->family == AF_INET6)
		return put_int(val, len, s->v6only);
	return -ENOPROTOOPT;
}

static int lw_setsockopt(struct nf_be_inst *bi, int sd, int level, int name,
			 const void *val, socklen_t len)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	struct tcp_pcb *tp;
	int v = 0;
	if (!s)
		return -EBADF;
	tp = s->tcp ? s->pcb : NULL;
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (len < sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		s->linger0 = l.l_onoff && !l.l_linger;
		return 0;
	}
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(int));
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT: /* lwIP has one: both allow sharing */
			if (name == SO_REUSEADDR)
				s->reuseaddr = !!v;
			else
				s->reuseport = !!v;
			if (s->pcb && (s->reuseaddr || s->reuseport))
				ip_set_option((struct tcp_pcb *)s->pcb,
					      SOF_REUSEADDR);
			return 0;
		case SO_KEEPALIVE:
			s->keepalive = !!v;
			if (tp && v)
				ip_set_option(tp, SOF_KEEPALIVE);
			else if (tp)
				ip_reset_option(tp, SOF_KEEPALIVE);
			return 0;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (v < 0)
				return -EINVAL;
			*(name == SO_RCVBUF ? &s->rcvbuf : &s->sndbuf) = v;
			return 0;
		}
		return -ENOPROTOOPT;
	}
	if (level == IPPROTO_TCP && s->tcp) {
		switch (name) {
		case TCP_NODELAY:
			s->nodelay = !!v;
			if (tp && v)
				tcp_nagle_disable(tp);
			else if (tp)
				tcp_nagle_enable(tp);
			return 0;
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
			if (v < 1 || v > 32767)
				return -EINVAL;
			if (tp && name == TCP_KEEPIDLE)
				tp->keep_idle = (u32_t)v * 1000;
			else if (tp)
				tp->keep_intvl = (u32_t)v * 1000;
			return 0;
		case TCP_KEEPCNT:
			if (v < 1 || v > 127)
				return -EINVAL;
			if (tp)
				tp->keep_cnt = (u32_t)v;
			return 0;
		}
		return -ENOPROTOOPT;
	}
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY &&
	    s->family == AF_INET6) {
		if (s->lport)
			return -EINVAL; /* Linux: only before bind */
		s->v6only = !!v;
		return 0;
	}
	return -ENOPROTOOPT;
}

static int lw_getsockname(struct nf_be_inst *bi, int sd, struct sockaddr *a,
			  socklen_t *len)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	if (!s)
		return -EBADF;
	if (s->pcb) { /* lwIP chose them at connect or send */
		struct tcp_pcb *tp = s->pcb;
		struct udp_pcb *up = s->pcb;
		if (s->tcp)
			ip_addr_copy(s->lip, tp->local_ip);
		else
			ip_addr_copy(s->lip, up->local_ip);
		s->lport = s->tcp ? tp->local_port : up->local_port;
	}
	lw_addr_out(s, &s->lip, s->lport, a, len);
	return 0;
}

static int lw_getpeername(struct nf_be_inst *bi, int sd, struct sockaddr *a,
			  socklen_t *len)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	if (!s)
		return -EBADF;
	if (!s->connected || (s->tcp && s->dead))
		return -ENOTCONN;
	lw_addr_out(s, &s->rip, s->rport, a, len);
	return 0;
}

static uint32_t lw_events(struct nf_be_inst *bi, int sd)
{
	struct lw_sock *s = lw_sock_get(LI(bi), sd);
	if (!s)
		return 0;
	return s->tcp ? lw_tcp_events(s) : lw_udp_events(s);
}

static int lw_changed(struct nf_be_inst *bi, int *sds, int max)
{
	struct lw_inst *li = LI(bi);
	uint32_t n = li->nchg < (uint32_t)max ? li->nchg : (uint32_t)max, i;
	for (i = 0; i < n; i++) {
		sds[i] = li->chg[i];
		li->socks[sds[i]].mark = 0;
	}
	memmove(li->chg, li->chg + n, (li->nchg - n) * sizeof(int));
	li->nchg -= n;
	return (int)n;
}

static uint32_t lw_max_socks(const struct nf_be_inst *bi)
{
	return ((const struct lw_inst *)(const void *)bi)->max_socks;
}

static int lw_sock_info(const struct nf_be_inst *bi, int sd,
			struct nf_be_sock_info *i)
{
	struct lw_sock *s = lw_sock_get((struct lw_inst *)(uintptr_t)bi, sd);
	const struct tcp_pcb *tp;
	if (!s)
		return -EBADF;
	tp = s->tcp ? s->pcb : NULL;
	memset(i, 0, sizeof(*i));
	i->tcp = s->tcp;
	i->state = !s->tcp ? "UNCONN" : tp ? tcp_debug_state_str(tp->state) :
		   "CLOSED";
	i->v6 = IP_IS_V6_VAL(s->lip) || IP_IS_V6_VAL(s->rip);
	if (i->v6) {
		memcpy(i->lip6, ip_2_ip6(&s->lip)->addr, 16);
		memcpy(i->rip6, ip_2_ip6(&s->rip)->addr, 16);
	} else {
		i->lip_be = ip4_addr_get_u32(ip_2_ip4(&s->lip));
		i->rip_be = ip4_addr_get_u32(ip_2_ip4(&s->rip));
	}
	i->lport_be = htons(s->lport);
	i->rport_be = htons(s->rport);
	i->rq = s->tcp ? s->rx_bytes : s->dq_bytes;
	if (tp) {
		i->sq = tp->snd_lbb - tp->lastack;
		i->cwnd = tp->cwnd;
		i->ssthresh = tp->ssthresh;
		i->snd_wnd = tp->snd_wnd;
		i->mss = tp->mss;
		i->rtt_us = (uint32_t)(tp->sa >> 3) * TCP_SLOW_INTERVAL * 1000;
		i->rttvar_us = (uint32_t)(tp->sv >> 2) * TCP_SLOW_INTERVAL *
			       1000;
		i->rto_ms = (uint32_t)tp->rto * TCP_SLOW_INTERVAL;
		i->retrans = tp->nrtx;
	}
	return 0;
}

/* closed by the program, still sending: lwIP's pcbs without our arg */
static uint32_t lw_closing(const struct nf_be_inst *bi, uint64_t *unacked)
{
	const struct tcp_pcb *p;
	uint32_t n = 0;
	(void)bi;
	if (unacked)
		*unacked = 0;
	for (p = tcp_active_pcbs; p; p = p->next) {
		if (p->callback_arg || (p->state != FIN_WAIT_1 &&
		    p->state != CLOSING && p->state != LAST_ACK))
			continue;
		n++;
		if (unacked)
			*unacked += p->snd_lbb - p->lastack;
	}
	return n;
}

static uint32_t lw_established(const struct nf_be_inst *bi)
{
	const struct tcp_pcb *p;
	uint32_t n = 0;
	(void)bi;
	for (p = tcp_active_pcbs; p; p = p->next)
		n += p->state == ESTABLISHED;
	return n;
}

static const struct nf_backend lwip_backend = {
	.abi = NF_BACKEND_ABI,
	.name = "lwip",
	.flags = NF_BE_F_ONE_INST | NF_BE_F_PRIVATE,
	.inst_size = lw_size,
	.inst_init = lw_init,
	.inst_fini = lw_fini,
	.poll = lw_poll,
	.changed = lw_changed,
	.max_socks = lw_max_socks,
	.socket = lw_socket,
	.bind = lw_bind,
	.listen = lw_listen,
	.accept = lw_accept,
	.connect = lw_connect,
	.sendmsg = lw_sendmsg,
	.recvmsg = lw_recvmsg,
	.shutdown = lw_shutdown,
	.close = lw_close,
	.getsockopt = lw_getsockopt,
	.setsockopt = lw_setsockopt,
	.getsockname = lw_getsockname,
	.getpeername = lw_getpeername,
	.events = lw_events,
	.counters = lw_counters,
	.sock_info = lw_sock_info,
	.closing = lw_closing,
	.established = lw_established,
};

const struct nf_backend *netfuse_backend(void);
const struct nf_backend *netfuse_backend(void)
{
	return &lwip_backend;
}
