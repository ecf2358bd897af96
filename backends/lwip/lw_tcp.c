/*
 * lw_tcp.c: TCP sockets over lwIP's raw API. lwIP calls back (received
 * data, acknowledged data, an accepted connection, an error) while
 * poll feeds it frames; the callbacks queue what they bring on the
 * socket and put it on the changed list, and the socket calls take it
 * from there. Received bytes are acknowledged to lwIP (tcp_recved, which
 * opens the window) only when the program reads them, so the peer is
 * held back by the window, not by drops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backends/lwip/lw_priv.h"

static struct lw_sock *sock_of(void *arg, int *sd)
{
	*sd = lw_sd_of(arg);
	return *sd >= 0 ? lw_sock_get(lw_the, *sd) : NULL;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
		     err_t err)
{
	int sd;
	struct lw_sock *s = sock_of(arg, &sd);
	(void)err;
	if (!s || s->pcb != pcb) { /* not ours any more: discard */
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		s->rd_eof = 1;
	} else if (s->rd_shut) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	} else {
		s->rx_bytes += p->tot_len;
		if (s->rxq)
			pbuf_cat(s->rxq, p);
		else
			s->rxq = p;
	}
	lw_mark(lw_the, sd);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	int sd;
	struct lw_sock *s = sock_of(arg, &sd);
	(void)pcb;
	(void)len;
	if (s)
		lw_mark(lw_the, sd);
	return ERR_OK;
}

/* the pcb is gone (lwIP freed it): reset, timeout, or refused */
static void on_err(void *arg, err_t err)
{
	int sd;
	struct lw_sock *s = sock_of(arg, &sd);
	if (!s)
		return;
	s->pcb = NULL;
	s->dead = 1;
	if (s->connecting)
		s->err = err == ERR_RST ? ECONNREFUSED : ETIMEDOUT;
	else if (err == ERR_RST)
		s->err = ECONNRESET;
	else if (err == ERR_ABRT)
		s->err = ETIMEDOUT; /* lwIP's retransmission timeout */
	else
		s->rd_eof = 1;
	s->connecting = 0;
	lw_mark(lw_the, sd);
}

static void keep_names(struct lw_sock *s, const struct tcp_pcb *pcb)
{
	ip_addr_copy(s->lip, pcb->local_ip);
	ip_addr_copy(s->rip, pcb->remote_ip);
	s->lport = pcb->local_port;
	s->rport = pcb->remote_port;
}

void lw_tcp_attach(struct lw_inst *li, int sd, struct tcp_pcb *pcb)
{
	struct lw_sock *s = &li->socks[sd];
	s->pcb = pcb;
	tcp_arg(pcb, lw_arg(sd));
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	if (s->nodelay)
		tcp_nagle_disable(pcb);
	if (s->keepalive)
		ip_set_option(pcb, SOF_KEEPALIVE);
	if (s->reuseaddr)
		ip_set_option(pcb, SOF_REUSEADDR);
}

static err_t on_accept(void *arg, struct tcp_pcb *npcb, err_t err)
{
	int lsd, sd;
	struct lw_sock *ls = sock_of(arg, &lsd), *s;
	if (err != ERR_OK || !npcb)
		return ERR_VAL;
	if (!ls || !ls->listening || ls->aq_len >= ls->aq_max ||
	    (sd = lw_sock_new(lw_the, ls->family, 1)) < 0) {
		lw_the->ctr[LWC_ACCEPT_OVERFLOW]++;
		tcp_abort(npcb);
		return ERR_ABRT;
	}
	s = &lw_the->socks[sd];
	s->connected = s->conn_told = 1;
	s->listener = lsd;
	s->nodelay = ls->nodelay;
	s->keepalive = ls->keepalive;
	s->v6only = ls->v6only;
	s->rcvbuf = ls->rcvbuf;
	s->sndbuf = ls->sndbuf;
	lw_tcp_attach(lw_the, sd, npcb);
	keep_names(s, npcb);
	ls->aq[(ls->aq_head + ls->aq_len) % LW_ACCEPT_MAX] = sd;
	ls->aq_len++;
	lw_mark(lw_the, lsd);
	return ERR_OK;
}

int lw_tcp_listen(struct lw_inst *li, int sd, int backlog)
{
	struct lw_sock *s = &li->socks[sd];
	struct tcp_pcb *pcb = s->pcb, *lp;
	err_t e = ERR_OK;
	if (backlog < 1)
		backlog = 1;
	if (backlog > LW_ACCEPT_MAX)
		backlog = LW_ACCEPT_MAX;
	if (s->listening) { /* Linux: a new backlog */
		s->aq_max = backlog;
		return 0;
	}
	if (!pcb || s->connected || s->connecting || s->dead)
		return -EINVAL;
	if (!pcb->local_port) { /* Linux binds a port of its own choice */
		e = tcp_bind(pcb, s->family == AF_INET6 && !s->v6only ?
			     IP_ANY_TYPE : &pcb->local_ip, 0);
		if (e != ERR_OK)
			return -EADDRINUSE;
	}
	s->aq = malloc(LW_ACCEPT_MAX * sizeof(int));
	if (!s->aq)
		return -ENOMEM;
	lp = tcp_listen_with_backlog_and_err(pcb, 255, &e);
	if (!lp) {
		free(s->aq);
		s->aq = NULL;
		return e == ERR_USE ? -EADDRINUSE : -ENOMEM;
	}
	s->pcb = lp; /* lwIP freed pcb */
	s->listening = 1;
	s->aq_max = backlog;
	s->aq_head = s->aq_len = 0;
	tcp_arg(lp, lw_arg(sd));
	tcp_accept(lp, on_accept);
	keep_names(s, lp);
	return 0;
}

int lw_tcp_accept(struct lw_inst *li, int sd, struct sockaddr *peer,
		  socklen_t *len)
{
	struct lw_sock *s = &li->socks[sd], *n;
	int nsd;
	if (!s->listening)
		return -EINVAL;
	if (!s->aq_len)
		return -EAGAIN;
	nsd = s->aq[s->aq_head];
	s->aq_head = (s->aq_head + 1) % LW_ACCEPT_MAX;
	s->aq_len--;
	n = &li->socks[nsd];
	n->listener = -1;
	if (peer && len)
		lw_addr_out(n, &n->rip, n->rport, peer, len);
	lw_mark(li, sd);
	return nsd;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	int sd;
	struct lw_sock *s = sock_of(arg, &sd);
	(void)err;
	if (!s)
		return ERR_OK;
	s->connecting = 0;
	s->connected = 1;
	keep_names(s, pcb);
	lw_mark(lw_the, sd);
	return ERR_OK;
}

static int map_err(err_t e)
{
	switch (e) {
	case ERR_OK: return 0;
	case ERR_MEM: case ERR_BUF: return -ENOBUFS;
	case ERR_RTE: return -ENETUNREACH;
	case ERR_USE: return -EADDRINUSE;
	case ERR_ISCONN: return -EISCONN;
	case ERR_ALREADY: case ERR_INPROGRESS: return -EALREADY;
	case ERR_CONN: return -ENOTCONN;
	case ERR_RST: return -ECONNRESET;
	case ERR_ABRT: return -ECONNABORTED;
	default: return -EINVAL;
	}
}

int lw_tcp_connect(struct lw_inst *li, int sd, const ip_addr_t *ip,
		   uint16_t port)
{
	struct lw_sock *s = &li->socks[sd];
	struct tcp_pcb *pcb;
	err_t e;
	if (s->listening)
		return -EISCONN;
	if (s->connected) {
		if (!s->conn_told) {
			s->conn_told = 1;
			return 0;
		}
		return -EISCONN;
	}
	if (s->connecting)
		return -EALREADY;
	if (s->dead) { /* after a failed connect: a new attempt */
		if (s->err)
			return -lw_take_err(s);
		pcb = tcp_new_ip_type(s->family == AF_INET6 ? IPADDR_TYPE_ANY :
				      IPADDR_TYPE_V4);
		if (!pcb)
			return -ENOMEM;
		s->dead = s->rd_eof = 0;
		lw_tcp_attach(li, sd, pcb);
	}
	/* lwIP would loop a frame to itself through its tcpip thread,
	 * which this backend does not run (lw_priv.h) */
	if (lw_is_own(li, ip) || lw_addr_is_any(ip))
		return -ENETUNREACH;
	if (port == 0)
		return -ECONNREFUSED;
	e = tcp_connect(s->pcb, ip, port, on_connected);
	if (e != ERR_OK)
		return map_err(e);
	s->connecting = 1;
	keep_names(s, s->pcb);
	return -EINPROGRESS;
}

static int writable(const struct tcp_pcb *pcb)
{
	return tcp_sndbuf(pcb) > TCP_SNDLOWAT &&
	       tcp_sndqueuelen(pcb) < TCP_SNDQUEUELOWAT;
}

ssize_t lw_tcp_send(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags)
{
	struct lw_sock *s = &li->socks[sd];
	struct tcp_pcb *pcb = s->pcb;
	size_t done = 0, room;
	int i, stop = 0;
	if (s->err)
		return -lw_take_err(s);
	if (s->wr_shut || s->dead)
		return -EPIPE;
	if (s->connecting)
		return -EAGAIN;
	if (!s->connected || !pcb)
		return -ENOTCONN;
	room = tcp_sndbuf(pcb);
	for (i = 0; i < iovcnt && !stop && room; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left && room) {
			u16_t n = (u16_t)(left < room ? left : room);
			int last = n == left && i == iovcnt - 1;
			u8_t f = TCP_WRITE_FLAG_COPY;
			if (!last || (flags & MSG_MORE))
				f |= TCP_WRITE_FLAG_MORE;
			if (tcp_write(pcb, p, n, f) != ERR_OK) {
				stop = 1; /* ERR_MEM: its segment queue is full */
				break;
			}
			p += n;
			left -= n;
			room -= n;
			done += n;
		}
	}
	if (!done)
		return -EAGAIN;
	if (!(flags & MSG_MORE))
		tcp_output(pcb);
	return (ssize_t)done;
}

ssize_t lw_tcp_recv(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags)
{
	struct lw_sock *s = &li->socks[sd];
	size_t want = 0, got = 0;
	int i;
	if (s->listening)
		return -ENOTCONN;
	for (i = 0; i < iovcnt; i++)
		want += iov[i].iov_len;
	if (!s->rx_bytes) {
		if (s->err)
			return -lw_take_err(s);
		if (s->rd_eof || s->rd_shut || s->dead)
			return 0;
		return s->connected || s->connecting ? -EAGAIN : -ENOTCONN;
	}
	/* MSG_WAITALL waits for all of it, unless the window is closed
	 * (lwIP's is 64 KiB: what is queued can then be all there is) */
	if ((flags & MSG_WAITALL) && s->rx_bytes < want && !s->rd_eof &&
	    !s->dead && s->rx_bytes < TCP_WND / 2)
		return -EAGAIN;
	for (i = 0; i < iovcnt && got < s->rx_bytes; i++) {
		size_t n = iov[i].iov_len;
		if (n > s->rx_bytes - got)
			n = s->rx_bytes - got;
		if (!(flags & MSG_TRUNC))
			pbuf_copy_partial(s->rxq, iov[i].iov_base, (u16_t)n,
					  (u16_t)got);
		got += n;
	}
	if (!(flags & MSG_PEEK) && got) {
		s->rxq = pbuf_free_header(s->rxq, (u16_t)got);
		s->rx_bytes -= (uint32_t)got;
		if (s->pcb)
			tcp_recved(s->pcb, (u16_t)got);
	}
	return (ssize_t)got;
}

int lw_tcp_shutdown(struct lw_inst *li, int sd, int rd, int wr)
{
	struct lw_sock *s = &li->socks[sd];
	if (s->listening)
		return 0;
	if (!s->connected && !s->connecting)
		return -ENOTCONN;
	if (rd)
		s->rd_shut = 1;
	if (wr && !s->wr_shut) {
		s->wr_shut = 1;
		if (s->pcb && !s->connecting)
			(void)tcp_shutdown(s->pcb, 0, 1);
	}
	lw_mark(li, sd);
	return 0;
}

/* Linux: closing with unread data, or with SO_LINGER 0, resets */
void lw_tcp_close(struct lw_inst *li, int sd)
{
	struct lw_sock *s = &li->socks[sd];
	struct tcp_pcb *pcb = s->pcb;
	while (s->listening && s->aq_len) { /* never accepted: reset */
		int nsd = s->aq[s->aq_head];
		s->aq_head = (s->aq_head + 1) % LW_ACCEPT_MAX;
		s->aq_len--;
		li->socks[nsd].linger0 = 1;
		lw_tcp_close(li, nsd);
		lw_sock_free(li, nsd);
	}
	s->pcb = NULL;
	if (!pcb)
		return;
	tcp_arg(pcb, NULL);
	if (s->listening) {
		tcp_accept(pcb, NULL);
		(void)tcp_close(pcb);
		return;
	}
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (s->rx_bytes || s->linger0 || tcp_close(pcb) != ERR_OK) {
		li->ctr[LWC_TCP_ABORTED]++;
		tcp_abort(pcb);
	}
}

uint32_t lw_tcp_events(const struct lw_sock *s)
{
	uint32_t ev = 0;
	if (s->listening)
		return s->aq_len ? NF_BE_EV_IN | NF_BE_EV_ACCEPT : 0;
	if (s->err)
		ev |= NF_BE_EV_ERR;
	if (s->rx_bytes || s->rd_eof || s->rd_shut || s->dead)
		ev |= NF_BE_EV_IN;
	if (s->rd_eof || s->dead)
		ev |= NF_BE_EV_RDHUP;
	if (s->dead || (s->wr_shut && s->rd_eof) ||
	    (!s->connected && !s->connecting))
		ev |= NF_BE_EV_HUP;
	if (s->dead || s->wr_shut || (!s->connected && !s->connecting) ||
	    (s->connected && s->pcb && writable(s->pcb)))
		ev |= NF_BE_EV_OUT;
	return ev;
}
