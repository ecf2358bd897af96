/*
 * lw_udp.c: UDP sockets over lwIP's raw API. Received datagrams wait
 * on the socket (up to its receive buffer, then they are dropped and
 * counted, as Linux drops); a send builds one pbuf and hands it to lwIP,
 * which fragments what does not fit the MTU.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backends/lwip/lw_priv.h"

#define UDP_MAX_PAYLOAD 65507

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
		    const ip_addr_t *from, u16_t port)
{
	int sd = lw_sd_of(arg);
	struct lw_sock *s = sd >= 0 ? lw_sock_get(lw_the, sd) : NULL;
	struct lw_dgram *d;
	uint32_t lim;
	(void)pcb;
	if (!s) {
		pbuf_free(p);
		return;
	}
	lim = s->rcvbuf ? (uint32_t)s->rcvbuf * 2 : 212992;
	d = s->dq_bytes + p->tot_len <= lim ? malloc(sizeof(*d)) : NULL;
	if (!d) {
		lw_the->ctr[LWC_UDP_RX_DROP]++;
		pbuf_free(p);
		return;
	}
	d->next = NULL;
	d->p = p;
	ip_addr_copy(d->from, *from);
	d->port = port;
	if (s->dq_tail)
		s->dq_tail->next = d;
	else
		s->dq = d;
	s->dq_tail = d;
	s->dq_bytes += p->tot_len;
	lw_mark(lw_the, sd);
}

void lw_udp_attach(struct lw_inst *li, int sd, struct udp_pcb *pcb)
{
	struct lw_sock *s = &li->socks[sd];
	s->pcb = pcb;
	udp_recv(pcb, on_recv, lw_arg(sd));
	if (s->reuseaddr)
		ip_set_option(pcb, SOF_REUSEADDR);
}

int lw_udp_connect(struct lw_inst *li, int sd, const ip_addr_t *ip,
		   uint16_t port)
{
	struct lw_sock *s = &li->socks[sd];
	struct udp_pcb *pcb = s->pcb;
	if (!ip) { /* AF_UNSPEC: dissolve the association */
		udp_disconnect(pcb);
		s->connected = 0;
		return 0;
	}
	if (lw_is_own(li, ip) || lw_addr_is_any(ip))
		return -ENETUNREACH;
	if (udp_connect(pcb, ip, port) != ERR_OK)
		return -EADDRINUSE; /* no local port left */
	s->connected = 1;
	ip_addr_copy(s->rip, *ip);
	s->rport = port;
	return 0;
}

ssize_t lw_udp_send(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags, const struct sockaddr *to,
		    socklen_t tolen)
{
	struct lw_sock *s = &li->socks[sd];
	struct udp_pcb *pcb = s->pcb;
	size_t total = 0, off = 0;
	ip_addr_t ip;
	uint16_t port;
	struct pbuf *p;
	err_t e;
	int i, r;
	(void)flags;
	if (s->err)
		return -lw_take_err(s);
	if (s->wr_shut)
		return -EPIPE;
	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (total > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (to) {
		r = lw_addr_in(s, to, tolen, &ip, &port);
		if (r < 0)
			return r;
		if (!port)
			return -EINVAL;
		if (lw_is_own(li, &ip) || lw_addr_is_any(&ip))
			return -ENETUNREACH;
	} else if (!s->connected) {
		return -EDESTADDRREQ;
	}
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)total, PBUF_RAM);
	if (!p)
		return -ENOBUFS;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			pbuf_take_at(p, iov[i].iov_base, (u16_t)iov[i].iov_len,
				     (u16_t)off);
		off += iov[i].iov_len;
	}
	e = to ? udp_sendto(pcb, p, &ip, port) : udp_send(pcb, p);
	pbuf_free(p);
	if (!s->lport)
		s->lport = pcb->local_port;
	switch (e) {
	case ERR_OK: return (ssize_t)total;
	case ERR_RTE: return -ENETUNREACH;
	case ERR_MEM: case ERR_BUF: return -ENOBUFS;
	default: return -EINVAL;
	}
}

ssize_t lw_udp_recv(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags, struct sockaddr *from,
		    socklen_t *fromlen)
{
	struct lw_sock *s = &li->socks[sd];
	struct lw_dgram *d = s->dq;
	size_t got = 0;
	u16_t len;
	int i;
	if (!d) {
		if (s->err)
			return -lw_take_err(s);
		return s->rd_shut ? 0 : -EAGAIN;
	}
	len = d->p->tot_len;
	for (i = 0; i < iovcnt && got < len; i++) {
		size_t n = iov[i].iov_len < len - got ? iov[i].iov_len :
			   len - got;
		pbuf_copy_partial(d->p, iov[i].iov_base, (u16_t)n, (u16_t)got);
		got += n;
	}
	if (from && fromlen)
		lw_addr_out(s, &d->from, d->port, from, fromlen);
	if (!(flags & MSG_PEEK)) {
		s->dq = d->next;
		if (!s->dq)
			s->dq_tail = NULL;
		s->dq_bytes -= len;
		pbuf_free(d->p);
		free(d);
	}
	return (flags & MSG_TRUNC) ? (ssize_t)len : (ssize_t)got;
}

void lw_udp_close(struct lw_inst *li, int sd)
{
	struct lw_sock *s = &li->socks[sd];
	if (s->pcb)
		udp_remove(s->pcb);
	s->pcb = NULL;
}

uint32_t lw_udp_events(const struct lw_sock *s)
{
	uint32_t ev = NF_BE_EV_OUT;
	if (s->dq || s->rd_shut)
		ev |= NF_BE_EV_IN;
	if (s->err)
		ev |= NF_BE_EV_ERR;
	return ev;
}
