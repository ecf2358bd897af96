/*
 * sock.c: the socket table and the socket API vfs/ calls (stack.h).
 * Owns socket allocation, the connection hash (4-tuple -> socket), the
 * bind hash (local port -> bound sockets), ephemeral ports (picked so the
 * NIC's RSS hash lands on this instance, see rss.c), the list of sockets
 * whose readiness changed, and the list of sockets owing output. Calls
 * udp.c and tcp_*.c; called by vfs/, apps and tests.
 */
#include "stack/ns_priv.h"

#include <errno.h>
#include <stdio.h>
#include <netinet/tcp.h>

int ns_sock_autobind(struct ns_stack *st, struct ns_sock *so);

/* ---- allocation -------------------------------------------------------- */

/* The table is full: end the TIME_WAIT that has least time left (Linux
 * does the same past tcp_max_tw_buckets; RFC 9293 3.6.1 allows a new
 * incarnation to take over). 1 if a socket was freed. */
static int reclaim_time_wait(struct ns_stack *st)
{
	struct ns_sock *victim = NULL;
	uint32_t i;

	for (i = st->act_head; i != NS_NONE; i = st->socks[i].act_next) {
		struct ns_sock *so = &st->socks[i];
		if (so->tcb.state == NS_TCPS_TIME_WAIT && (so->sf & SF_ORPHAN) &&
		    (!victim || so->tcb.t_2msl < victim->tcb.t_2msl))
			victim = so;
	}
	if (!victim)
		return 0;
	NS_CNT(st, tcp_tw_reclaimed);
	ns_tcp_close_done(st, victim);
	return st->free_head != NS_NONE;
}

struct ns_sock *ns_sock_alloc(struct ns_stack *st, int type)
{
	struct ns_sock *so;
	uint32_t keep;
	uint8_t *sb, *rb;
	uint32_t chg_next, out_next;

	if (st->free_head == NS_NONE && !reclaim_time_wait(st))
		return NULL;
	so = &st->socks[st->free_head];
	st->free_head = so->hnext;
	keep = so->sf & (SF_CHANGED | SF_OUTPUT);
	chg_next = so->chg_next;
	out_next = so->out_next;
	sb = so->tcb.sb;
	rb = so->tcb.rb;
	memset(so, 0, sizeof(*so));
	so->sf = keep;
	so->chg_next = chg_next;
	so->out_next = out_next;
	so->tcb.sb = sb;
	so->tcb.rb = rb;
	so->type = (uint8_t)type;
	so->hnext = so->bnext = so->act_prev = so->act_next = NS_NONE;
	so->parent = so->aq_head = so->aq_tail = so->aq_next = NS_NONE;
	ns_in46_set4(&so->laddr, 0);
	ns_in46_set4(&so->raddr, 0);
	if (type == NS_SOCK_TCP)
		ns_tcp_init_tcb(st, so);
	return so;
}

static void bind_remove(struct ns_stack *st, struct ns_sock *so);

void ns_sock_free(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t sd = ns_sd(st, so);

	if (so->type == NS_SOCK_FREE)
		return;
	if (so->sf & SF_HASHED)
		ns_conn_remove(st, so);
	if (so->sf & SF_BOUND)
		bind_remove(st, so);
	if (so->sf & SF_ACTIVE) {
		if (so->act_prev != NS_NONE)
			st->socks[so->act_prev].act_next = so->act_next;
		else
			st->act_head = so->act_next;
		if (so->act_next != NS_NONE)
			st->socks[so->act_next].act_prev = so->act_prev;
		so->sf &= ~SF_ACTIVE;
	}
	if (so->type == NS_SOCK_UDP)
		ns_udp_flush(st, so);
	so->type = NS_SOCK_FREE;
	so->sf &= SF_CHANGED | SF_OUTPUT;
	so->hnext = st->free_head;
	st->free_head = sd;
}

static struct ns_sock *sock_get(struct ns_stack *st, int sd)
{
	struct ns_sock *so;
	if (sd < 0 || (uint32_t)sd >= st->cfg.max_socks)
		return NULL;
	so = &st->socks[sd];
	if (so->type == NS_SOCK_FREE || (so->sf & SF_ORPHAN) ||
	    so->parent != NS_NONE)
		return NULL;
	return so;
}

/* ---- hashes ------------------------------------------------------------ */
static uint32_t fold(const union ns_in46 *a)
{
	return a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
}

static uint32_t conn_hash(const struct ns_stack *st, const union ns_in46 *l,
			  uint16_t lport, const union ns_in46 *r, uint16_t rport)
{
	/* multiply-shift on 64 bits: the high bits mix every input bit
	 * (ports in network order vary in their high byte only) */
	uint64_t k = ((uint64_t)fold(l) << 32 | fold(r)) *
		     0x9e3779b97f4a7c15ull;
	k ^= ((uint64_t)lport << 16 | rport) * 0xc2b2ae3d27d4eb4full;
	k *= 0x165667b19e3779f9ull;
	return (uint32_t)(k >> 40) & st->conn_mask;
}

struct ns_sock *ns_conn_lookup(struct ns_stack *st, const union ns_in46 *l,
			       uint16_t lport_be, const union ns_in46 *r,
			       uint16_t rport_be)
{
	uint32_t i = st->conn_hash[conn_hash(st, l, lport_be, r, rport_be)];
	while (i != NS_NONE) {
		struct ns_sock *so = &st->socks[i];
		if (so->lport_be == lport_be && so->rport_be == rport_be &&
		    ns_in46_eq(&so->raddr, r) && ns_in46_eq(&so->laddr, l))
			return so;
		i = so->hnext;
	}
	return NULL;
}

void ns_conn_insert(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t h = conn_hash(st, &so->laddr, so->lport_be, &so->raddr,
			       so->rport_be);
	so->hnext = st->conn_hash[h];
	st->conn_hash[h] = ns_sd(st, so);
	so->sf |= SF_HASHED;
}

void ns_conn_remove(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t h = conn_hash(st, &so->laddr, so->lport_be, &so->raddr,
			       so->rport_be);
	uint32_t *pp = &st->conn_hash[h], sd = ns_sd(st, so);

	while (*pp != NS_NONE) {
		if (*pp == sd) {
			*pp = so->hnext;
			break;
		}
		pp = &st->socks[*pp].hnext;
	}
	so->hnext = NS_NONE;
	so->sf &= ~SF_HASHED;
}

static void bind_insert(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t h = ns_ntohs(so->lport_be) & st->bind_mask;
	so->bnext = st->bind_hash[h];
	st->bind_hash[h] = ns_sd(st, so);
	so->sf |= SF_BOUND;
}

static void bind_remove(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t h = ns_ntohs(so->lport_be) & st->bind_mask;
	uint32_t *pp = &st->bind_hash[h], sd = ns_sd(st, so);

	while (*pp != NS_NONE) {
		if (*pp == sd) {
			*pp = so->bnext;
			break;
		}
		pp = &st->socks[*pp].bnext;
	}
	so->bnext = NS_NONE;
	so->sf &= ~SF_BOUND;
}

/* ---- addresses of both families ---------------------------------------- */
/* The address sets of bound sockets, as Linux's dual-stack sockets see
 * them (RFC 3493 3.7): 0.0.0.0 (mapped) is every IPv4 address; :: is
 * every IPv6 address and, unless IPV6_V6ONLY, every IPv4 one too. */
static int covers4(const union ns_in46 *a, uint32_t sf)
{
	return ns_in46_is4(a) || (ns_in46_is_any(a) && !(sf & SF_V6ONLY));
}

/* 2: so is bound to d itself; 1: to a wildcard that takes d; 0: no */
static int laddr_takes(const struct ns_sock *so, const union ns_in46 *d)
{
	if (ns_in46_eq(&so->laddr, d))
		return 2;
	if (!ns_in46_is_any(&so->laddr))
		return 0;
	if (ns_in46_is4(d))
		return covers4(&so->laddr, so->sf);
	return !ns_in46_is4(&so->laddr);
}

/* do two bound addresses (with their sockets' flags) share an address? */
static int laddr_overlap(const union ns_in46 *a, uint32_t af,
			 const union ns_in46 *b, uint32_t bf)
{
	int a_any = ns_in46_is_any(a), b_any = ns_in46_is_any(b);
	if (covers4(a, af) && covers4(b, bf) &&
	    (a_any || b_any || a->a4 == b->a4))
		return 1;
	return !ns_in46_is4(a) && !ns_in46_is4(b) &&
	       (a_any || b_any || ns_in46_eq(a, b));
}

/* The socket a new flow from r:rport reaches: as ns_bind_lookup(), but
 * among SO_REUSEPORT sockets bound alike (a group, as in Linux) one
 * chosen by a keyed hash of the 4-tuple, so every flow keeps to one and
 * the flows spread over them */
struct ns_sock *ns_bind_lookup_flow(struct ns_stack *st, int type,
				    const union ns_in46 *l, uint16_t lport_be,
				    const union ns_in46 *r, uint16_t rport_be)
{
	struct ns_sock *best = ns_bind_lookup(st, type, l, lport_be), *so;
	uint32_t i, n = 0, pick;
	if (!best || !(best->sf & SF_REUSEPORT))
		return best;
	for (i = st->bind_hash[ns_ntohs(lport_be) & st->bind_mask];
	     i != NS_NONE; i = so->bnext) {
		so = &st->socks[i];
		if (so->type == type && so->lport_be == lport_be &&
		    ns_in46_eq(&so->laddr, &best->laddr) &&
		    (so->sf & SF_REUSEPORT) &&
		    (type != NS_SOCK_TCP || (so->sf & SF_LISTEN)))
			n++;
	}
	if (n < 2)
		return best;
	pick = (uint32_t)(ns_secure_flow(st->key_port, l, lport_be, r,
					 rport_be, 1) % n);
	for (i = st->bind_hash[ns_ntohs(lport_be) & st->bind_mask];
	     i != NS_NONE; i = so->bnext) {
		so = &st->socks[i];
		if (so->type == type && so->lport_be == lport_be &&
		    ns_in46_eq(&so->laddr, &best->laddr) &&
		    (so->sf & SF_REUSEPORT) &&
		    (type != NS_SOCK_TCP || (so->sf & SF_LISTEN)) && !pick--)
			return so;
	}
	return best;
}

struct ns_sock *ns_bind_lookup(struct ns_stack *st, int type,
			       const union ns_in46 *l, uint16_t lport_be)
{
	uint32_t i = st->bind_hash[ns_ntohs(lport_be) & st->bind_mask];
	struct ns_sock *wild = NULL;

	while (i != NS_NONE) {
		struct ns_sock *so = &st->socks[i];
		int m;
		i = so->bnext;
		if (so->type != type || so->lport_be != lport_be)
			continue;
		if (type == NS_SOCK_TCP && !(so->sf & SF_LISTEN))
			continue;
		m = laddr_takes(so, l);
		if (m == 2)
			return so;
		if (m && !wild)
			wild = so;
	}
	return wild;
}

/* another socket of this type holding the port in a conflicting way */
static int port_in_use(struct ns_stack *st, struct ns_sock *me, int type,
		       const union ns_in46 *l, uint16_t lport_be)
{
	uint32_t i = st->bind_hash[ns_ntohs(lport_be) & st->bind_mask];

	while (i != NS_NONE) {
		struct ns_sock *so = &st->socks[i];
		i = so->bnext;
		if (so == me || so->type != type || so->lport_be != lport_be)
			continue;
		if (!laddr_overlap(&so->laddr, so->sf, l, me->sf))
			continue;
		if ((so->sf & SF_REUSEPORT) && (me->sf & SF_REUSEPORT))
			continue;
		if (type == NS_SOCK_TCP && (so->sf & SF_REUSEADDR) &&
		    (me->sf & SF_REUSEADDR) && !(so->sf & SF_LISTEN))
			continue;
		/* Linux: SO_REUSEADDR binds over connections in TIME_WAIT */
		if (type == NS_SOCK_TCP && (me->sf & SF_REUSEADDR) &&
		    so->tcb.state == NS_TCPS_TIME_WAIT)
			continue;
		return 1;
	}
	return 0;
}

/* bind(0), and UDP's implicit bind: RFC 6056 algorithm 1 (Linux's
 * choice for bind(0)): the search starts at a fresh random port each
 * time, so one port tells nothing of the next */
int ns_sock_autobind(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t n, num = NS_EPHEMERAL_HI - NS_EPHEMERAL_LO + 1,
		 start = (uint32_t)(ns_rand(st) % num);
	for (n = 0; n < num; n++) {
		uint16_t p = ns_htons((uint16_t)(NS_EPHEMERAL_LO +
						 (start + n) % num));
		if (!port_in_use(st, so, so->type, &so->laddr, p)) {
			so->lport_be = p;
			bind_insert(st, so);
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/* RSS-aware source port for an active open (DESIGN.md "Shared nothing") */
/* RFC 6056 algorithm 3: the search starts at a keyed hash of the
 * destination plus a counter, so ports to one destination still step
 * (no quick reuse of a 4-tuple) while an observer of one destination's
 * ports learns nothing of another's; then the first port that is free
 * and whose RSS hash lands on this instance's queue. */
static int pick_conn_port(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t n, num = NS_EPHEMERAL_HI - NS_EPHEMERAL_LO + 1,
		 off = (uint32_t)ns_secure_flow(st->key_port, &so->laddr, 0,
						&so->raddr, so->rport_be, 0);

	for (n = 0; n < num; n++) {
		uint16_t p = ns_htons((uint16_t)(NS_EPHEMERAL_LO +
			(off + st->port_counter++) % num));
		if (ns_rss_queue46(&st->io, &so->raddr, &so->laddr,
				   so->rport_be, p) != st->io.queue_id)
			continue;
		if (port_in_use(st, so, NS_SOCK_TCP, &so->laddr, p) ||
		    ns_conn_lookup(st, &so->laddr, p, &so->raddr,
				   so->rport_be))
			continue;
		so->lport_be = p;
		bind_insert(st, so);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* ---- event and output lists -------------------------------------------- */
void ns_sock_event(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t sd = ns_sd(st, so);
	if (so->sf & SF_CHANGED)
		return;
	so->sf |= SF_CHANGED;
	so->chg_next = NS_NONE;
	if (st->chg_tail != NS_NONE)
		st->socks[st->chg_tail].chg_next = sd;
	else
		st->chg_head = sd;
	st->chg_tail = sd;
}

int ns_stack_changed(struct ns_stack *st, int *sds, int max)
{
	int n = 0;
	while (n < max && st->chg_head != NS_NONE) {
		struct ns_sock *so = &st->socks[st->chg_head];
		st->chg_head = so->chg_next;
		if (st->chg_head == NS_NONE)
			st->chg_tail = NS_NONE;
		so->sf &= ~SF_CHANGED;
		if (so->type != NS_SOCK_FREE && !(so->sf & SF_ORPHAN) &&
		    so->parent == NS_NONE)
			sds[n++] = (int)ns_sd(st, so);
	}
	return n;
}

void ns_sock_want_output(struct ns_stack *st, struct ns_sock *so)
{
	if (so->sf & SF_OUTPUT)
		return;
	so->sf |= SF_OUTPUT;
	so->out_next = st->out_head;
	st->out_head = ns_sd(st, so);
}

void ns_sock_run_output(struct ns_stack *st)
{
	while (st->out_head != NS_NONE) {
		struct ns_sock *so = &st->socks[st->out_head];
		st->out_head = so->out_next;
		so->sf &= ~SF_OUTPUT;
		if (so->type == NS_SOCK_TCP)
			ns_tcp_output(st, so);
	}
}

/* ---- the API ----------------------------------------------------------- */
int ns_socket_af(struct ns_stack *st, int family, int type)
{
	struct ns_sock *so;
	int t = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (t != SOCK_STREAM && t != SOCK_DGRAM)
		return -EPROTONOSUPPORT;
	so = ns_sock_alloc(st, t == SOCK_STREAM ? NS_SOCK_TCP : NS_SOCK_UDP);
	if (!so)
		return -EMFILE;
	if (family == AF_INET6) {
		so->sf |= SF_INET6;
		memset(&so->laddr, 0, sizeof(so->laddr)); /* :: */
		memset(&so->raddr, 0, sizeof(so->raddr));
	}
	return (int)ns_sd(st, so);
}

int ns_socket(struct ns_stack *st, int type)
{
	return ns_socket_af(st, AF_INET, type);
}

int ns_bind_sa(struct ns_stack *st, int sd, const union ns_sockaddr *a,
	       socklen_t len)
{
	struct ns_sock *so = sock_get(st, sd);
	union ns_in46 ad;
	uint16_t port;
	int rc;

	if (!so)
		return -EBADF;
	rc = ns_sa_in(so->sf, a, len, &ad, &port);
	if (rc)
		return rc;
	if ((so->sf & SF_BOUND) || (so->type == NS_SOCK_TCP &&
				    so->tcb.state != NS_TCPS_CLOSED))
		return -EINVAL;
	if ((so->sf & SF_V6ONLY) && ns_in46_is4(&ad))
		return -EINVAL; /* Linux: a mapped address on a v6-only socket */
	if (!ns_in46_is_any(&ad) && !ns_addr_is_ours(st, &ad))
		return -EADDRNOTAVAIL;
	so->laddr = ad;
	if (port == 0)
		return ns_sock_autobind(st, so);
	if (port_in_use(st, so, so->type, &so->laddr, port))
		return -EADDRINUSE;
	so->lport_be = port;
	bind_insert(st, so);
	return 0;
}

int ns_listen(struct ns_stack *st, int sd, int backlog)
{
	struct ns_sock *so = sock_get(st, sd);
	int rc;

	if (!so)
		return -EBADF;
	if (so->type != NS_SOCK_TCP)
		return -EOPNOTSUPP;
	if (so->tcb.state != NS_TCPS_CLOSED && so->tcb.state != NS_TCPS_LISTEN)
		return -EINVAL;
	if (!(so->sf & SF_BOUND)) {
		rc = ns_sock_autobind(st, so);
		if (rc)
			return rc;
	}
	if (!(so->sf & SF_LISTEN) && port_in_use(st, so, NS_SOCK_TCP,
						 &so->laddr, so->lport_be))
		return -EADDRINUSE;
	if (backlog < 1)
		backlog = 1;
	if ((uint32_t)backlog > st->cfg.max_socks)
		backlog = (int)st->cfg.max_socks;
	so->backlog = (uint32_t)backlog;
	so->sf |= SF_LISTEN;
	ns_tcp_set_state(st, so, NS_TCPS_LISTEN);
	return 0;
}

int ns_accept_sa(struct ns_stack *st, int sd, union ns_sockaddr *peer,
		 socklen_t *plen)
{
	struct ns_sock *so = sock_get(st, sd), *c;

	if (!so)
		return -EBADF;
	if (so->type != NS_SOCK_TCP || !(so->sf & SF_LISTEN))
		return -EINVAL;
	if (so->aq_head == NS_NONE)
		return -EAGAIN;
	c = &st->socks[so->aq_head];
	so->aq_head = c->aq_next;
	if (so->aq_head == NS_NONE)
		so->aq_tail = NS_NONE;
	so->qlen--;
	c->aq_next = NS_NONE;
	c->parent = NS_NONE;
	c->sf &= ~SF_ACCEPTQ;
	if (peer) {
		socklen_t n = ns_sa_out(c->sf, &c->raddr, c->rport_be, peer);
		if (plen)
			*plen = n;
	}
	/* readiness of the new socket is current; report it once */
	ns_sock_event(st, c);
	return (int)ns_sd(st, c);
}

/* the route to d exists (0) or -ENETUNREACH */
static int route46(struct ns_stack *st, const union ns_in46 *d)
{
	uint32_t nh;
	if (ns_in46_is4(d))
		return ns_ip_route(st, d->a4, &nh) ? -ENETUNREACH : 0;
	return ns_ip6_route(st, d->b);
}

/* the local address a connection to d leaves from: the bound one, or
 * the instance's of d's family; -ENETUNREACH if the families differ */
static int pick_laddr(struct ns_stack *st, struct ns_sock *so,
		      const union ns_in46 *d)
{
	if (!ns_in46_is_any(&so->laddr))
		return ns_in46_is4(&so->laddr) == ns_in46_is4(d) ? 0 :
		       -ENETUNREACH;
	if (ns_in46_is4(d)) {
		if (!ns_in46_is4(&so->laddr) && (so->sf & SF_V6ONLY))
			return -ENETUNREACH;
		ns_in46_set4(&so->laddr, st->ip_be);
	} else {
		if (ns_in46_is4(&so->laddr))
			return -ENETUNREACH; /* bound to 0.0.0.0 */
		memcpy(so->laddr.b, ns_ip6_src_for(st, d->b), 16);
	}
	return 0;
}

int ns_connect_sa(struct ns_stack *st, int sd, const union ns_sockaddr *a,
		  socklen_t len)
{
	struct ns_sock *so = sock_get(st, sd);
	union ns_in46 ad;
	uint16_t port;
	int rc;

	if (!so)
		return -EBADF;
	if (!a)
		return -EINVAL;
	if (so->type == NS_SOCK_UDP && len >= sizeof(a->sa.sa_family) &&
	    a->sa.sa_family == AF_UNSPEC) {
		so->sf &= ~SF_CONNECTED;
		if (so->sf & SF_INET6)
			memset(&so->raddr, 0, sizeof(so->raddr));
		else
			ns_in46_set4(&so->raddr, 0);
		so->rport_be = 0;
		return 0;
	}
	rc = ns_sa_in(so->sf, a, len, &ad, &port);
	if (rc)
		return rc;
	if ((so->sf & SF_V6ONLY) && ns_in46_is4(&ad))
		return -ENETUNREACH;
	if (so->type == NS_SOCK_UDP) {
		if (route46(st, &ad))
			return -ENETUNREACH;
		if (!(so->sf & SF_BOUND) && (rc = ns_sock_autobind(st, so)))
			return rc;
		if (!ns_in46_is_any(&so->laddr) &&
		    ns_in46_is4(&so->laddr) != ns_in46_is4(&ad))
			return -ENETUNREACH;
		so->raddr = ad;
		so->rport_be = port;
		so->sf |= SF_CONNECTED;
		return 0;
	}
	switch (so->tcb.state) {
	case NS_TCPS_CLOSED:
		break;
	case NS_TCPS_SYN_SENT:
	case NS_TCPS_SYN_RECEIVED:
		return -EALREADY;
	case NS_TCPS_LISTEN:
		return -EINVAL;
	default:
		if (so->sf & SF_CONNECTING) {
			so->sf &= ~SF_CONNECTING;
			return 0;
		}
		return -EISCONN;
	}
	if (so->so_error) {
		rc = -so->so_error;
		so->so_error = 0;
		so->sf &= ~SF_CONNECTING;
		return rc;
	}
	if (so->sf & SF_CONNECTING)
		return -ECONNABORTED;
	if (port == 0)
		return -ECONNREFUSED;
	if (route46(st, &ad))
		return -ENETUNREACH;
	if ((rc = pick_laddr(st, so, &ad)) != 0)
		return rc;
	so->raddr = ad;
	so->rport_be = port;
	if (so->sf & SF_BOUND) {
		if (ns_conn_lookup(st, &so->laddr, so->lport_be, &so->raddr,
				   so->rport_be))
			return -EADDRNOTAVAIL;
	} else if ((rc = pick_conn_port(st, so)) != 0) {
		return rc;
	}
	ns_conn_insert(st, so);
	rc = ns_tcp_connect(st, so);
	if (rc)
		return rc;
	so->sf |= SF_CONNECTING;
	ns_api_end(st);
	return -EINPROGRESS;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t t = 0;
	int i;
	for (i = 0; i < iovcnt; i++)
		t += iov[i].iov_len;
	return t;
}

static ssize_t tcp_send(struct ns_stack *st, struct ns_sock *so,
			const struct iovec *iov, int iovcnt, int flags)
{
	struct ns_tcb *tp = &so->tcb;
	size_t want = iov_total(iov, iovcnt), done = 0;
	uint32_t room;
	int i;

	if (so->so_error) {
		int e = so->so_error;
		so->so_error = 0;
		return -e;
	}
	if ((so->sf & SF_SHUT_WR) || (tp->tf & TF_FIN_QUEUED))
		return -EPIPE;
	switch (tp->state) {
	case NS_TCPS_ESTABLISHED:
	case NS_TCPS_CLOSE_WAIT:
		break;
	case NS_TCPS_SYN_SENT:
	case NS_TCPS_SYN_RECEIVED:
		return -EAGAIN;
	case NS_TCPS_CLOSED:
	case NS_TCPS_LISTEN:
		return (so->sf & (SF_CONNECTING | SF_WASCONN)) ? -EPIPE :
		       -ENOTCONN;
	default:
		return -EPIPE;
	}
	room = tp->sb_lim > tp->sb_len ? tp->sb_lim - tp->sb_len : 0;
	if (room == 0)
		return -EAGAIN;
	if (want == 0)
		return 0;
	for (i = 0; i < iovcnt && room; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t n = iov[i].iov_len;
		if (n > room)
			n = room;
		while (n) {
			uint32_t pos = (tp->sb_start + tp->sb_len) & tp->sb_mask;
			uint32_t chunk = tp->sb_mask + 1 - pos;
			if (chunk > n)
				chunk = (uint32_t)n;
			ns_copy(tp->sb + pos, p, chunk);
			tp->sb_len += chunk;
			p += chunk;
			n -= chunk;
			room -= chunk;
			done += chunk;
		}
	}
	if (flags & MSG_MORE)
		tp->tf |= TF_MORE;
	else
		tp->tf &= ~TF_MORE;
	ns_sock_want_output(st, so);
	return (ssize_t)done;
}

ssize_t ns_sendmsg_sa(struct ns_stack *st, int sd, const struct iovec *iov,
		      int iovcnt, int flags, const union ns_sockaddr *to,
		      socklen_t tolen)
{
	struct ns_sock *so = sock_get(st, sd);
	ssize_t r;

	if (!so)
		return -EBADF;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (so->type == NS_SOCK_UDP) {
		union ns_in46 ad;
		uint16_t port = 0;
		if (to && (r = ns_sa_in(so->sf, to, tolen, &ad, &port)) != 0)
			return r;
		if (to && (so->sf & SF_V6ONLY) && ns_in46_is4(&ad))
			return -ENETUNREACH;
		r = ns_udp_send(st, so, iov, iovcnt, to ? &ad : NULL, port);
	} else if (to && so->tcb.state != NS_TCPS_ESTABLISHED &&
		   so->tcb.state != NS_TCPS_CLOSE_WAIT) {
		r = -ENOTCONN;
	} else {
		r = tcp_send(st, so, iov, iovcnt, flags);
	}
	ns_api_end(st);
	return r;
}

ssize_t ns_send(struct ns_stack *st, int sd, const void *buf, size_t len,
		int flags)
{
	struct iovec v = { (void *)(uintptr_t)buf, len };
	return ns_sendmsg(st, sd, &v, 1, flags, NULL);
}

/* nothing to read: what recv returns (EOF 0, a pending error, -EAGAIN) */
static ssize_t tcp_recv_empty(struct ns_sock *so)
{
	struct ns_tcb *tp = &so->tcb;

	if (so->so_error) {
		int e = so->so_error;
		so->so_error = 0;
		return -e;
	}
	if (so->sf & SF_SHUT_RD)
		return 0;
	if (NS_TCPS_HAVERCVDFIN(tp->state))
		return 0;
	if (tp->state == NS_TCPS_CLOSED)
		return (so->sf & (SF_CONNECTING | SF_WASCONN)) ? 0 : -ENOTCONN;
	if (tp->state == NS_TCPS_LISTEN)
		return -ENOTCONN;
	return -EAGAIN;
}

/* the user consumed n bytes from the head of the receive ring */
static void tcp_consume(struct ns_stack *st, struct ns_sock *so, uint32_t n)
{
	struct ns_tcb *tp = &so->tcb;

	tp->rb_start = (tp->rb_start + n) & tp->rb_mask;
	tp->rb_len -= n;
	ns_tcp_rcvbuf_adjust(st, so, n);
	ns_tcp_window_update(st, so);
}

static ssize_t tcp_recv(struct ns_stack *st, struct ns_sock *so,
			const struct iovec *iov, int iovcnt, int flags)
{
	struct ns_tcb *tp = &so->tcb;
	size_t want = iov_total(iov, iovcnt), done = 0;
	uint32_t pos = tp->rb_start, avail = tp->rb_len;
	int i;

	if (avail == 0 || (so->sf & SF_SHUT_RD))
		return tcp_recv_empty(so);
	if (want == 0)
		return 0;
	if ((flags & MSG_WAITALL) && !(flags & MSG_PEEK) && avail < want &&
	    !NS_TCPS_HAVERCVDFIN(tp->state) && !so->so_error &&
	    avail < tp->rb_lim && tp->state != NS_TCPS_CLOSED)
		return -EAGAIN;
	for (i = 0; i < iovcnt && avail; i++) {
		uint8_t *p = iov[i].iov_base;
		size_t n = iov[i].iov_len;
		if (n > avail)
			n = avail;
		while (n) {
			uint32_t chunk = tp->rb_mask + 1 - pos;
			if (chunk > n)
				chunk = (uint32_t)n;
			ns_copy(p, tp->rb + pos, chunk);
			pos = (pos + chunk) & tp->rb_mask;
			p += chunk;
			n -= chunk;
			avail -= chunk;
			done += chunk;
		}
	}
	if (!(flags & MSG_PEEK))
		tcp_consume(st, so, (uint32_t)done);
	return (ssize_t)done;
}

ssize_t ns_recv_zc(struct ns_stack *st, int sd, struct iovec iov[2],
		   int *iovcnt)
{
	struct ns_sock *so = sock_get(st, sd);
	struct ns_tcb *tp;
	uint32_t first;

	if (!so)
		return -EBADF;
	if (!iov || !iovcnt)
		return -EFAULT;
	*iovcnt = 0;
	if (so->type != NS_SOCK_TCP)
		return -EOPNOTSUPP;
	if (so->sf & SF_LISTEN)
		return -ENOTCONN;
	tp = &so->tcb;
	if (tp->rb_len == 0 || (so->sf & SF_SHUT_RD))
		return tcp_recv_empty(so);
	/* in-order bytes are contiguous in the ring but for its wrap */
	first = tp->rb_mask + 1 - tp->rb_start;
	if (first > tp->rb_len)
		first = tp->rb_len;
	iov[0].iov_base = tp->rb + tp->rb_start;
	iov[0].iov_len = first;
	*iovcnt = 1;
	if (first < tp->rb_len) {
		iov[1].iov_base = tp->rb;
		iov[1].iov_len = tp->rb_len - first;
		*iovcnt = 2;
	}
	return (ssize_t)tp->rb_len;
}

int ns_recv_zc_done(struct ns_stack *st, int sd, size_t n)
{
	struct ns_sock *so = sock_get(st, sd);

	if (!so)
		return -EBADF;
	if (so->type != NS_SOCK_TCP)
		return -EOPNOTSUPP;
	if (n > so->tcb.rb_len)
		return -EINVAL;
	if (n) {
		tcp_consume(st, so, (uint32_t)n);
		ns_api_end(st);
	}
	return 0;
}

ssize_t ns_recvmsg_sa(struct ns_stack *st, int sd, const struct iovec *iov,
		      int iovcnt, int flags, union ns_sockaddr *from,
		      socklen_t *fromlen)
{
	struct ns_sock *so = sock_get(st, sd);
	union ns_in46 ad;
	uint16_t port;
	ssize_t r;

	if (!so)
		return -EBADF;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (so->type == NS_SOCK_UDP) {
		r = ns_udp_recv(st, so, iov, iovcnt, flags, &ad, &port);
	} else {
		if (so->sf & SF_LISTEN)
			return -ENOTCONN;
		r = tcp_recv(st, so, iov, iovcnt, flags);
		ad = so->raddr;
		port = so->rport_be;
	}
	if (from && r >= 0) {
		socklen_t n = ns_sa_out(so->sf, &ad, port, from);
		if (fromlen)
			*fromlen = n;
	}
	ns_api_end(st);
	return r;
}

ssize_t ns_recv(struct ns_stack *st, int sd, void *buf, size_t len, int flags)
{
	struct iovec v = { buf, len };
	return ns_recvmsg(st, sd, &v, 1, flags, NULL);
}

int ns_shutdown(struct ns_stack *st, int sd, int how)
{
	struct ns_sock *so = sock_get(st, sd);

	if (!so)
		return -EBADF;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if (so->type == NS_SOCK_TCP) {
		if (so->sf & SF_LISTEN) {
			/* Linux: shutdown of a listener stops it */
			if (how == SHUT_WR)
				return -ENOTCONN;
		} else if (so->tcb.state == NS_TCPS_CLOSED ||
			   so->tcb.state == NS_TCPS_SYN_SENT) {
			return -ENOTCONN;
		}
	} else if (!(so->sf & SF_CONNECTED)) {
		return -ENOTCONN;
	}
	if (how != SHUT_WR)
		so->sf |= SF_SHUT_RD;
	if (how != SHUT_RD && !(so->sf & SF_SHUT_WR)) {
		so->sf |= SF_SHUT_WR;
		if (so->type == NS_SOCK_TCP && !(so->sf & SF_LISTEN))
			ns_tcp_usr_shutdown_wr(st, so);
	}
	ns_sock_event(st, so);
	ns_api_end(st);
	return 0;
}

static void listener_close(struct ns_stack *st, struct ns_sock *so)
{
	uint32_t i;
	/* children: in SYN_RECEIVED (anywhere in the table) or queued */
	for (i = 0; i < st->cfg.max_socks; i++) {
		struct ns_sock *c = &st->socks[i];
		if (c->type == NS_SOCK_TCP && c->parent == ns_sd(st, so)) {
			c->parent = NS_NONE;
			c->sf &= ~SF_ACCEPTQ;
			c->sf |= SF_ORPHAN;
			ns_tcp_abort(st, c);
		}
	}
	so->aq_head = so->aq_tail = NS_NONE;
	so->qlen = 0;
	ns_tcp_set_state(st, so, NS_TCPS_CLOSED);
	ns_sock_free(st, so);
}

int ns_close(struct ns_stack *st, int sd)
{
	struct ns_sock *so = sock_get(st, sd);

	if (!so)
		return -EBADF;
	if (so->type == NS_SOCK_UDP) {
		ns_sock_free(st, so);
	} else if (so->sf & SF_LISTEN) {
		listener_close(st, so);
	} else {
		so->sf |= SF_ORPHAN;
		if (so->tcb.rb_len || ((so->sf & SF_LINGER) && so->linger_s == 0))
			/* RFC 9293 3.6 / RFC 2525 2.17: unread data -> RST */
			ns_tcp_abort(st, so);
		else
			ns_tcp_usr_close(st, so);
	}
	ns_api_end(st);
	return 0;
}

int ns_abort(struct ns_stack *st, int sd)
{
	struct ns_sock *so = sock_get(st, sd);

	if (!so)
		return -EBADF;
	if (so->type == NS_SOCK_UDP) {
		ns_sock_free(st, so);
	} else if (so->sf & SF_LISTEN) {
		listener_close(st, so);
	} else {
		so->sf |= SF_ORPHAN;
		ns_tcp_abort(st, so);
	}
	ns_api_end(st);
	return 0;
}

int ns_getsockname_sa(struct ns_stack *st, int sd, union ns_sockaddr *a,
		      socklen_t *len)
{
	struct ns_sock *so = sock_get(st, sd);
	socklen_t n;
	if (!so)
		return -EBADF;
	n = ns_sa_out(so->sf, &so->laddr, so->lport_be, a);
	if (len)
		*len = n;
	return 0;
}

int ns_getpeername_sa(struct ns_stack *st, int sd, union ns_sockaddr *a,
		      socklen_t *len)
{
	struct ns_sock *so = sock_get(st, sd);
	socklen_t n;
	if (!so)
		return -EBADF;
	if (so->type == NS_SOCK_UDP ? !(so->sf & SF_CONNECTED) :
	    (so->tcb.state == NS_TCPS_CLOSED || so->tcb.state == NS_TCPS_LISTEN ||
	     so->tcb.state == NS_TCPS_SYN_SENT))
		return -ENOTCONN;
	n = ns_sa_out(so->sf, &so->raddr, so->rport_be, a);
	if (len)
		*len = n;
	return 0;
}

uint32_t ns_sock_events(struct ns_stack *st, int sd)
{
	struct ns_sock *so = sock_get(st, sd);
	struct ns_tcb *tp;
	uint32_t ev = 0;

	if (!so)
		return 0;
	if (so->so_error)
		ev |= NS_EV_ERR | NS_EV_IN;
	if (so->type == NS_SOCK_UDP) {
		if (so->uq_head || (so->sf & SF_SHUT_RD))
			ev |= NS_EV_IN;
		if (!(so->sf & SF_SHUT_WR))
			ev |= NS_EV_OUT;
		return ev;
	}
	tp = &so->tcb;
	if (so->sf & SF_LISTEN) {
		if (so->aq_head != NS_NONE)
			ev |= NS_EV_IN | NS_EV_ACCEPT;
		return ev;
	}
	if (tp->rb_len || (so->sf & SF_SHUT_RD))
		ev |= NS_EV_IN;
	if (NS_TCPS_HAVERCVDFIN(tp->state))
		ev |= NS_EV_IN | NS_EV_RDHUP;
	if ((tp->state == NS_TCPS_ESTABLISHED ||
	     tp->state == NS_TCPS_CLOSE_WAIT) &&
	    !(so->sf & SF_SHUT_WR) && tp->sb_len < tp->sb_lim)
		ev |= NS_EV_OUT;
	if (tp->state == NS_TCPS_CLOSED) {
		ev |= NS_EV_HUP | NS_EV_IN | NS_EV_RDHUP;
		if (!(so->sf & SF_CONNECTING) || so->so_error)
			ev |= NS_EV_OUT;
	} else if ((so->sf & SF_SHUT_WR) && NS_TCPS_HAVERCVDFIN(tp->state)) {
		ev |= NS_EV_HUP;
	}
	return ev;
}

static int get_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

int ns_setsockopt(struct ns_stack *st, int sd, int level, int name,
		  const void *val, socklen_t len)
{
	struct ns_sock *so = sock_get(st, sd);
	struct ns_tcb *tp;
	int v = 0, rc;

	if (!so)
		return -EBADF;
	tp = &so->tcb;
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
		if (!(so->sf & SF_INET6))
			return -ENOPROTOOPT;
		if ((rc = get_int(val, len, &v)) != 0)
			return rc;
		if (so->sf & SF_BOUND)
			return -EINVAL; /* Linux: only before bind */
		so->sf = v ? so->sf | SF_V6ONLY : so->sf & ~SF_V6ONLY;
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (!val || len < (socklen_t)sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		if (l.l_onoff)
			so->sf |= SF_LINGER;
		else
			so->sf &= ~SF_LINGER;
		so->linger_s = l.l_linger;
		return 0;
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		if (so->type != NS_SOCK_TCP || !val)
			return -ENOPROTOOPT;
		if (len >= 5 && memcmp(val, "cubic", 5) == 0)
			tp->cc_algo = NS_CC_CUBIC;
		else if ((len >= 4 && memcmp(val, "reno", 4) == 0) ||
			 (len >= 7 && memcmp(val, "newreno", 7) == 0))
			tp->cc_algo = NS_CC_RENO;
		else
			return -ENOENT;
		return 0;
	}
	rc = get_int(val, len, &v);
	if (rc)
		return rc;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
			so->sf = v ? so->sf | SF_REUSEADDR : so->sf & ~SF_REUSEADDR;
			return 0;
		case SO_REUSEPORT:
			so->sf = v ? so->sf | SF_REUSEPORT : so->sf & ~SF_REUSEPORT;
			return 0;
		case SO_KEEPALIVE:
			if (so->type != NS_SOCK_TCP)
				return 0;
			so->sf = v ? so->sf | SF_KEEPALIVE : so->sf & ~SF_KEEPALIVE;
			ns_tcp_timer_set(st, so, &tp->t_keep,
				(v && NS_TCPS_HAVEESTABLISHED(tp->state)) ?
				st->now + (uint64_t)tp->keepidle_s * 1000 * NS_MS : 0);
			return 0;
		case SO_SNDBUF:
		case SO_RCVBUF: {
			/* Linux doubles the value for bookkeeping; the ring
			 * of the instance is the ceiling, 2 KiB the floor */
			uint64_t want = v < 0 ? 0 : 2ull * (uint64_t)v;
			uint32_t ring = name == SO_SNDBUF ? tp->sb_mask + 1 :
					tp->rb_mask + 1;
			if (so->type != NS_SOCK_TCP)
				return 0;
			if (want < 2048)
				want = 2048;
			if (want > ring)
				want = ring;
			/* as Linux SOCK_{SND,RCV}BUF_LOCK: no auto-tuning */
			if (name == SO_SNDBUF) {
				tp->sb_lim = (uint32_t)want;
				tp->tf |= TF_SNDBUF_LOCK;
			} else {
				tp->rb_lim = (uint32_t)want;
				tp->tf |= TF_RCVBUF_LOCK;
			}
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != IPPROTO_TCP || so->type != NS_SOCK_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		tp->tf = v ? tp->tf | TF_NODELAY : tp->tf & ~TF_NODELAY;
		if (v)
			ns_sock_want_output(st, so);
		break;
	case TCP_CORK:
		tp->tf = v ? tp->tf | TF_CORK : tp->tf & ~TF_CORK;
		if (!v) {
			tp->tf |= TF_FORCE; /* push what was held */
			ns_sock_want_output(st, so);
		}
		break;
	case TCP_QUICKACK:
		/* unlike Linux the mode stays until cleared */
		tp->tf = v ? tp->tf | TF_QUICKACK : tp->tf & ~TF_QUICKACK;
		if (v && (tp->tf & TF_DELACK)) {
			tp->tf |= TF_ACKNOW;
			ns_sock_want_output(st, so);
		}
		break;
	case TCP_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepidle_s = (uint32_t)v;
		/* as Linux (tcp_sock_set_keepidle): a running keep-alive
		 * timer follows the new idle time at once */
		if ((so->sf & SF_KEEPALIVE) && !tp->keep_sent &&
		    NS_TCPS_HAVEESTABLISHED(tp->state) &&
		    tp->state != NS_TCPS_TIME_WAIT) {
			uint64_t at = tp->last_rcv_ns +
				      (uint64_t)tp->keepidle_s * 1000 * NS_MS;
			ns_tcp_timer_set(st, so, &tp->t_keep,
					 at > st->now ? at : st->now);
		}
		break;
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepintvl_s = (uint32_t)v;
		break;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->keepcnt = (uint32_t)v;
		break;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tp->user_timeout_ms = (uint32_t)v;
		break;
	case TCP_MAXSEG:
		return 0; /* accepted; path MTU decides */
	default:
		return -ENOPROTOOPT;
	}
	ns_api_end(st);
	return 0;
}

int ns_getsockopt(struct ns_stack *st, int sd, int level, int name,
		  void *val, socklen_t *len)
{
	struct ns_sock *so = sock_get(st, sd);
	struct ns_tcb *tp;

	if (!so)
		return -EBADF;
	if (!val || !len)
		return -EFAULT;
	tp = &so->tcb;
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
		return (so->sf & SF_INET6) ?
		       put_int(val, len, !!(so->sf & SF_V6ONLY)) : -ENOPROTOOPT;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: {
			int e = so->so_error;
			so->so_error = 0;
			return put_int(val, len, e);
		}
		case SO_TYPE:
			return put_int(val, len, so->type == NS_SOCK_TCP ?
				       SOCK_STREAM : SOCK_DGRAM);
		case SO_REUSEADDR:
			return put_int(val, len, !!(so->sf & SF_REUSEADDR));
		case SO_REUSEPORT:
			return put_int(val, len, !!(so->sf & SF_REUSEPORT));
		case SO_KEEPALIVE:
			return put_int(val, len, !!(so->sf & SF_KEEPALIVE));
		case SO_ACCEPTCONN:
			return put_int(val, len, !!(so->sf & SF_LISTEN));
		case SO_SNDBUF:
			return put_int(val, len, (int)tp->sb_lim);
		case SO_RCVBUF:
			return put_int(val, len, so->type == NS_SOCK_TCP ?
				       (int)tp->rb_lim :
				       (int)st->cfg.udp_rcvbuf);
		case SO_LINGER: {
			struct linger l;
			if (*len < (socklen_t)sizeof(l))
				return -EINVAL;
			l.l_onoff = !!(so->sf & SF_LINGER);
			l.l_linger = so->linger_s;
			memcpy(val, &l, sizeof(l));
			*len = sizeof(l);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != IPPROTO_TCP || so->type != NS_SOCK_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		return put_int(val, len, !!(tp->tf & TF_NODELAY));
	case TCP_CORK:
		return put_int(val, len, !!(tp->tf & TF_CORK));
	case TCP_QUICKACK:
		return put_int(val, len, !!(tp->tf & TF_QUICKACK));
	case TCP_MAXSEG:
		return put_int(val, len, tp->mss);
	case TCP_KEEPIDLE:
		return put_int(val, len, (int)tp->keepidle_s);
	case TCP_KEEPINTVL:
		return put_int(val, len, (int)tp->keepintvl_s);
	case TCP_KEEPCNT:
		return put_int(val, len, (int)tp->keepcnt);
	case TCP_USER_TIMEOUT:
		return put_int(val, len, (int)tp->user_timeout_ms);
	case TCP_CONGESTION: {
		const char *n = tp->cc_algo == NS_CC_RENO ? "reno" : "cubic";
		size_t l = strlen(n) + 1;
		if (*len < (socklen_t)l)
			l = *len;
		memcpy(val, n, l);
		*len = (socklen_t)l;
		return 0;
	}
	case TCP_INFO: {
		/* Linux's TCP_* state numbers, in enum ns_tcp_state order */
		static const uint8_t linux_state[NS_TCPS_COUNT] = {
			7, 10, 2, 3, 1, 8, 4, 11, 9, 5, 6};
		struct ns_tcp_info ti;
		uint32_t mss = tp->mss ? tp->mss : 1;
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_state = linux_state[tp->state];
		ti.tcpi_ca_state = (tp->tf & TF_RECOVERY) ? 3 :
				   tp->rxt_shift ? 4 : 0; /* Recovery, Loss */
		ti.tcpi_retransmits = tp->rxt_shift;
		ti.tcpi_backoff = tp->rxt_shift;
		ti.tcpi_options = (uint8_t)(((tp->tf & TF_TS_OK) ? 1 : 0) |
					    ((tp->tf & TF_SACK_OK) ? 2 : 0) |
					    ((tp->tf & TF_WS_OK) ? 4 : 0));
		ti.tcpi_snd_wscale = tp->snd_wscale & 15;
		ti.tcpi_rcv_wscale = tp->rcv_wscale & 15;
		ti.tcpi_rto = (uint32_t)(tp->rto_ns / 1000);
		ti.tcpi_ato = (uint32_t)(NS_TCP_DELACK_NS / 1000);
		ti.tcpi_snd_mss = tp->mss;
		ti.tcpi_rcv_mss = tp->rcv_mss;
		ti.tcpi_unacked = (ns_tcp_flight(tp) + mss - 1) / mss;
		ti.tcpi_sacked = (ns_sack_bytes(tp) + mss - 1) / mss;
		ti.tcpi_pmtu = tp->mss + NS_IP4_HLEN_MIN + NS_TCP_HLEN_MIN;
		ti.tcpi_rtt = tp->srtt_us;
		ti.tcpi_rttvar = tp->rttvar_us;
		ti.tcpi_snd_ssthresh = tp->ssthresh / mss;
		ti.tcpi_snd_cwnd = tp->cwnd / mss;
		ti.tcpi_advmss = tp->rcv_mss;
		ti.tcpi_reordering = NS_TCP_DUPACK_THRESH;
		ti.tcpi_rcv_space = ns_tcp_rcv_window(tp);
		ti.tcpi_total_retrans = tp->total_retrans;
		ti.tcpi_dsack_dups = tp->dsack_dups;
		ti.tcpi_bytes_acked = tp->bytes_acked;
		ti.tcpi_bytes_received = tp->bytes_received;
		ti.tcpi_notsent_bytes = tp->sb_len > ns_tcp_flight(tp) ?
					tp->sb_len - ns_tcp_flight(tp) : 0;
		ti.tcpi_snd_wnd = tp->snd_wnd;
		if (*len < (socklen_t)sizeof(ti)) {
			memcpy(val, &ti, *len);
		} else {
			memcpy(val, &ti, sizeof(ti));
			*len = sizeof(ti);
		}
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}

uint32_t ns_stack_max_socks(const struct ns_stack *st)
{
	return st->cfg.max_socks;
}

uint32_t ns_stack_closing(const struct ns_stack *st, uint64_t *unacked)
{
	uint32_t sd, n = 0;
	if (unacked)
		*unacked = 0;
	for (sd = 0; sd < st->cfg.max_socks; sd++) {
		const struct ns_sock *so = &st->socks[sd];
		if (so->type != NS_SOCK_TCP || !(so->sf & SF_ORPHAN))
			continue;
		switch (so->tcb.state) {
		case NS_TCPS_SYN_RECEIVED:
		case NS_TCPS_ESTABLISHED:
		case NS_TCPS_CLOSE_WAIT:
		case NS_TCPS_FIN_WAIT_1:
		case NS_TCPS_CLOSING:
		case NS_TCPS_LAST_ACK:
			n++;
			if (unacked)
				*unacked += so->tcb.sb_len;
			break;
		default: /* FIN_WAIT_2, TIME_WAIT: our side is delivered */
			break;
		}
	}
	return n;
}

uint32_t ns_stack_established(const struct ns_stack *st)
{
	uint32_t sd, n = 0;
	for (sd = 0; sd < st->cfg.max_socks; sd++)
		n += st->socks[sd].type == NS_SOCK_TCP &&
		     st->socks[sd].tcb.state == NS_TCPS_ESTABLISHED;
	return n;
}

int ns_sock_info(const struct ns_stack *st, int sd, struct ns_sock_info *i)
{
	const struct ns_sock *so;
	const struct ns_tcb *tp;
	if (sd < 0 || (uint32_t)sd >= st->cfg.max_socks)
		return -EBADF;
	so = &st->socks[sd];
	if (so->type == NS_SOCK_FREE)
		return -EBADF;
	tp = &so->tcb;
	memset(i, 0, sizeof(*i));
	i->tcp = so->type == NS_SOCK_TCP;
	i->orphan = !!(so->sf & SF_ORPHAN);
	i->lip_be = so->lip_be;
	i->rip_be = so->rip_be;
	i->v6 = (uint8_t)(!ns_in46_is4(&so->laddr) || !ns_in46_is4(&so->raddr));
	memcpy(i->lip6, so->laddr.b, 16);
	memcpy(i->rip6, so->raddr.b, 16);
	i->lport_be = so->lport_be;
	i->rport_be = so->rport_be;
	if (!i->tcp) {
		i->state = "UNCONN";
		i->rq = so->uq_bytes;
		return 0;
	}
	i->state = ns_tcp_state_names[tp->state];
	i->rq = tp->rb_len;
	i->sq = tp->sb_len;
	i->cwnd = tp->cwnd;
	i->ssthresh = tp->ssthresh;
	i->snd_wnd = tp->snd_wnd;
	i->mss = tp->mss;
	i->rtt_us = tp->srtt_us;
	i->rttvar_us = tp->rttvar_us;
	i->rto_ms = (uint32_t)(tp->rto_ns / NS_MS);
	i->retrans = tp->total_retrans;
	return 0;
}

int ns_sock_describe(struct ns_stack *st, int sd, char *buf, size_t len)
{
	const struct ns_sock *so;
	const struct ns_tcb *tp;
	char l[NS_ADDR_STRLEN], r[NS_ADDR_STRLEN];

	if (sd < 0 || (uint32_t)sd >= st->cfg.max_socks)
		return -EBADF;
	so = &st->socks[sd];
	if (so->type == NS_SOCK_FREE)
		return -EBADF;
	tp = &so->tcb;
	ns_addr_str(&so->laddr, so->lport_be, l, sizeof(l));
	ns_addr_str(&so->raddr, so->rport_be, r, sizeof(r));
	if (so->type == NS_SOCK_UDP)
		return snprintf(buf, len, "sd=%d udp %s -> %s rq=%u", sd, l, r,
				so->uq_bytes);
	return snprintf(buf, len, "sd=%d tcp %s%s %s -> %s rq=%u sq=%u "
			"una=%u nxt=%u cwnd=%u ssthresh=%u wnd=%u rtt_us=%u "
			"rto_ms=%u rexmt=%u",
			sd, ns_tcp_state_names[tp->state],
			(so->sf & SF_ORPHAN) ? "(orphan)" : "", l, r,
			tp->rb_len, tp->sb_len,
			tp->snd_una - tp->iss, tp->snd_nxt - tp->iss, tp->cwnd,
			tp->ssthresh, tp->snd_wnd, tp->srtt_us,
			(uint32_t)(tp->rto_ns / NS_MS), tp->total_retrans);
}
