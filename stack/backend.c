/*
 * backend.c: this stack as a netfuse backend (stack/nf_backend.h): the
 * table vfs/ drives every stack through. An instance is a struct
 * ns_stack; each operation is the stack.h call of the same name.
 */
#include "stack/ns_priv.h"
#include "stack/nf_backend.h"

#include <errno.h>

_Static_assert(NF_BE_EV_IN == NS_EV_IN && NF_BE_EV_OUT == NS_EV_OUT &&
	       NF_BE_EV_ERR == NS_EV_ERR && NF_BE_EV_HUP == NS_EV_HUP &&
	       NF_BE_EV_RDHUP == NS_EV_RDHUP &&
	       NF_BE_EV_ACCEPT == NS_EV_ACCEPT, "readiness bits differ");

static struct ns_stack *S(struct nf_be_inst *bi)
{
	return (struct ns_stack *)(void *)bi;
}

static const struct ns_stack *CS(const struct nf_be_inst *bi)
{
	return (const struct ns_stack *)(const void *)bi;
}

static void to_config(const struct nf_backend_conf *b, struct ns_config *c)
{
	ns_config_default(c);
	c->ip_be = b->ip_be;
	c->prefix_len = b->prefix_len;
	memcpy(c->ip6, b->ip6, 16);
	c->prefix6_len = b->prefix6_len;
	c->gw_be = b->gw_be;
	memcpy(c->gw6, b->gw6, 16);
	if (b->max_socks)
		c->max_socks = b->max_socks;
	if (b->sndbuf)
		c->sndbuf = b->sndbuf;
	if (b->rcvbuf)
		c->rcvbuf = b->rcvbuf;
	memcpy(c->secret, b->secret, 16);
	c->no_garp = !b->announce;
}

static size_t be_size(const struct nf_backend_conf *b)
{
	struct ns_config c;
	to_config(b, &c);
	return ns_stack_size(&c);
}

static struct nf_be_inst *be_init(void *mem, size_t len,
				  const struct nf_backend_conf *b,
				  const struct nf_io_ops *io, uint64_t now)
{
	struct ns_config c;
	to_config(b, &c);
	return (struct nf_be_inst *)(void *)ns_stack_init(mem, len, &c, io,
							  now);
}

static void be_fini(struct nf_be_inst *bi) { ns_stack_fini(S(bi)); }

static uint64_t be_poll(struct nf_be_inst *bi, struct nf_buf **bufs,
			uint16_t n, uint64_t now)
{
	return ns_stack_poll(S(bi), bufs, n, now);
}

static int be_changed(struct nf_be_inst *bi, int *sds, int max)
{
	return ns_stack_changed(S(bi), sds, max);
}

static uint32_t be_max_socks(const struct nf_be_inst *bi)
{
	return ns_stack_max_socks(CS(bi));
}

static int be_socket(struct nf_be_inst *bi, int family, int type)
{
	return ns_socket_af(S(bi), family, type);
}

static int be_bind(struct nf_be_inst *bi, int sd, const struct sockaddr *a,
		   socklen_t len)
{
	return ns_bind_sa(S(bi), sd, (const union ns_sockaddr *)(const void *)a,
			  len);
}

static int be_listen(struct nf_be_inst *bi, int sd, int backlog)
{
	return ns_listen(S(bi), sd, backlog);
}

/* a stack address out, truncated to *len as Linux does (len in/out) */
static void sa_copy(struct sockaddr *dst, socklen_t *len,
		    const union ns_sockaddr *src, socklen_t n)
{
	if (!dst)
		return;
	if (len) {
		memcpy(dst, src, *len < n ? *len : n);
		*len = n;
	} else {
		memcpy(dst, src, n);
	}
}

static int be_accept(struct nf_be_inst *bi, int sd, struct sockaddr *peer,
		     socklen_t *len)
{
	union ns_sockaddr u;
	socklen_t n = 0;
	int r = ns_accept_sa(S(bi), sd, peer ? &u : NULL, &n);
	if (r >= 0)
		sa_copy(peer, len, &u, n);
	return r;
}

static int be_connect(struct nf_be_inst *bi, int sd, const struct sockaddr *a,
		      socklen_t len)
{
	return ns_connect_sa(S(bi), sd,
			     (const union ns_sockaddr *)(const void *)a, len);
}

static ssize_t be_sendmsg(struct nf_be_inst *bi, int sd,
			  const struct iovec *iov, int iovcnt, int flags,
			  const struct sockaddr *to, socklen_t tolen)
{
	return ns_sendmsg_sa(S(bi), sd, iov, iovcnt, flags,
			     (const union ns_sockaddr *)(const void *)to,
			     tolen);
}

static ssize_t be_recvmsg(struct nf_be_inst *bi, int sd,
			  const struct iovec *iov, int iovcnt, int flags,
			  struct sockaddr *from, socklen_t *fromlen)
{
	union ns_sockaddr u;
	socklen_t n = 0;
	ssize_t r;
	if (!from) /* a stream's read: a tail call */
		return ns_recvmsg_sa(S(bi), sd, iov, iovcnt, flags, NULL, NULL);
	r = ns_recvmsg_sa(S(bi), sd, iov, iovcnt, flags, &u, &n);
	if (r >= 0)
		sa_copy(from, fromlen, &u, n);
	return r;
}

static int be_shutdown(struct nf_be_inst *bi, int sd, int how)
{
	return ns_shutdown(S(bi), sd, how);
}

static int be_close(struct nf_be_inst *bi, int sd)
{
	return ns_close(S(bi), sd);
}

static int be_getsockopt(struct nf_be_inst *bi, int sd, int level, int name,
			 void *val, socklen_t *len)
{
	return ns_getsockopt(S(bi), sd, level, name, val, len);
}

static int be_setsockopt(struct nf_be_inst *bi, int sd, int level, int name,
			 const void *val, socklen_t len)
{
	return ns_setsockopt(S(bi), sd, level, name, val, len);
}

static int be_getsockname(struct nf_be_inst *bi, int sd, struct sockaddr *a,
			  socklen_t *len)
{
	union ns_sockaddr u;
	socklen_t n = 0;
	int r = ns_getsockname_sa(S(bi), sd, &u, &n);
	if (r == 0)
		sa_copy(a, len, &u, n);
	return r;
}

static int be_getpeername(struct nf_be_inst *bi, int sd, struct sockaddr *a,
			  socklen_t *len)
{
	union ns_sockaddr u;
	socklen_t n = 0;
	int r = ns_getpeername_sa(S(bi), sd, &u, &n);
	if (r == 0)
		sa_copy(a, len, &u, n);
	return r;
}

static uint32_t be_events(struct nf_be_inst *bi, int sd)
{
	return ns_sock_events(S(bi), sd);
}

static const uint64_t *be_counters(const struct nf_be_inst *bi,
				   const char *const **names, unsigned *n)
{
	*names = ns_counter_names;
	*n = ns_counter_count;
	return (const uint64_t *)(const void *)ns_stack_counters(CS(bi));
}

static int be_sock_info(const struct nf_be_inst *bi, int sd,
			struct nf_be_sock_info *i)
{
	struct ns_sock_info s;
	int r = ns_sock_info(CS(bi), sd, &s);
	if (r < 0)
		return r;
	memset(i, 0, sizeof(*i));
	i->tcp = s.tcp;
	i->orphan = s.orphan;
	i->v6 = s.v6;
	i->state = s.state;
	i->lip_be = s.lip_be;
	i->rip_be = s.rip_be;
	memcpy(i->lip6, s.lip6, 16);
	memcpy(i->rip6, s.rip6, 16);
	i->lport_be = s.lport_be;
	i->rport_be = s.rport_be;
	i->rq = s.rq;
	i->sq = s.sq;
	i->cwnd = s.cwnd;
	i->ssthresh = s.ssthresh;
	i->snd_wnd = s.snd_wnd;
	i->mss = s.mss;
	i->rtt_us = s.rtt_us;
	i->rttvar_us = s.rttvar_us;
	i->rto_ms = s.rto_ms;
	i->retrans = s.retrans;
	return 0;
}

static uint32_t be_closing(const struct nf_be_inst *bi, uint64_t *unacked)
{
	return ns_stack_closing(CS(bi), unacked);
}

static uint32_t be_established(const struct nf_be_inst *bi)
{
	return ns_stack_established(CS(bi));
}

/* the steering callbacks: the stack's types carry struct ns_stack, the
 * interface's struct nf_be_inst (the same object); the instance keeps
 * the embedder's functions and argument in its own fields */
static int steer_foreign(void *arg, struct ns_stack *st, struct nf_buf *b)
{
	return st->be_foreign((void *)arg, (struct nf_be_inst *)(void *)st,
			      b);
}

static void steer_neigh(void *arg, struct ns_stack *st, const uint8_t ip[16],
			const uint8_t mac[6])
{
	st->be_neigh(arg, (struct nf_be_inst *)(void *)st, ip, mac);
}

static void be_set_steer(struct nf_be_inst *bi, nf_be_foreign_fn foreign,
			 nf_be_neigh_fn neigh, void *arg)
{
	struct ns_stack *st = S(bi);
	st->be_foreign = foreign;
	st->be_neigh = neigh;
	ns_stack_set_steer_cb(st, foreign ? steer_foreign : NULL,
			      neigh ? steer_neigh : NULL, arg);
}

static void be_neigh_learn(struct nf_be_inst *bi, const uint8_t ip[16],
			   const uint8_t mac[6])
{
	ns_neigh_learn(S(bi), ip, mac);
}

static int be_sock_move(struct nf_be_inst *from, int sd, struct nf_be_inst *to)
{
	return ns_sock_move(S(from), sd, S(to));
}

static const struct nf_backend netfuse_stack_backend = {
	.abi = NF_BACKEND_ABI,
	.name = "netfuse",
	.inst_size = be_size,
	.inst_init = be_init,
	.inst_fini = be_fini,
	.poll = be_poll,
	.changed = be_changed,
	.max_socks = be_max_socks,
	.socket = be_socket,
	.bind = be_bind,
	.listen = be_listen,
	.accept = be_accept,
	.connect = be_connect,
	.sendmsg = be_sendmsg,
	.recvmsg = be_recvmsg,
	.shutdown = be_shutdown,
	.close = be_close,
	.getsockopt = be_getsockopt,
	.setsockopt = be_setsockopt,
	.getsockname = be_getsockname,
	.getpeername = be_getpeername,
	.events = be_events,
	.counters = be_counters,
	.sock_info = be_sock_info,
	.closing = be_closing,
	.established = be_established,
	.set_steer = be_set_steer,
	.neigh_learn = be_neigh_learn,
	.sock_move = be_sock_move,
};

const struct nf_backend *ns_backend(void)
{
	return &netfuse_stack_backend;
}
