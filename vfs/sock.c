/*
 * sock.c: socket calls on netfuse sockets, with Linux's semantics.
 *
 * socket(AF_INET, SOCK_STREAM|SOCK_DGRAM) makes a real kernel socket at
 * once (the program gets its fd number from the kernel) and an undecided
 * vfs_sock beside it. The socket is routed when its address is known
 * (route.c): at bind, listen, connect or the first sendto. Then it either
 * leaves the table (kernel: every later call passes through untouched) or
 * gets a stack socket (netfuse: the kernel socket stays as the fd's
 * placeholder, unbound, O_NONBLOCK), or both (dual: a wildcard listener or
 * UDP socket lives on the user stack and in the kernel).
 *
 * Every stack call is made under the instance lock (inst.c); blocking is
 * done here by retrying the non-blocking stack call after
 * vfs_wait_sock(). Called by dispatch.c; calls stack/ and inst.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/close_range.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <sys/uio.h>

#include "vfs/vfs_priv.h"

#define IOV_STACK 16

static long raw(long nr, long a, long b, long c, long d, long e, long f)
{
	return hook_raw_syscall(nr, a, b, c, d, e, f);
}

static uint64_t deadline_of(uint64_t timeo_ns)
{
	return timeo_ns ? vfs_now_ns() + timeo_ns : UINT64_MAX;
}

/* ---- creation and routing ----------------------------------------------- */
long vfs_sys_socket(const struct hook_call *c)
{
	int type = (int)c->arg[1], base = type & 0xf, proto = (int)c->arg[2];
	struct vfs_sock *s;
	long fd = raw(SYS_socket, c->arg[0], c->arg[1], c->arg[2], 0, 0, 0);

	if (fd < 0 || !vfs_g.enabled)
		return fd;
	if (c->arg[0] != AF_INET && c->arg[0] != AF_INET6)
		return fd;
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return fd;
	if (proto && proto != (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return fd;
	s = vfs_sock_new(base);
	if (!s)
		return fd; /* kernel socket: still correct */
	s->family = (int)c->arg[0];
	if (vfs_fd_install((int)fd, &s->h) < 0)
		vfs_fd_remove((int)fd);
	vfs_obj_put(&s->h);
	return fd;
}

/* The socket is netfuse/dual from now on: the kernel placeholder becomes
 * O_NONBLOCK; the program's view of the flag lives in s->nonblock. */
static void take_over_flags(struct vfs_sock *s, int fd)
{
	long fl = raw(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	if (fl < 0)
		fl = 0;
	atomic_store(&s->nonblock, (fl & O_NONBLOCK) ? 1 : 0);
	(void)raw(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK, 0, 0, 0);
	atomic_fetch_add(&vfs_g.nsocks_live, 1);
}

/* A new stack sd with the options the program set (lock held) */
static int new_sd_locked(struct vfs_inst *in, const struct vfs_sock *s)
{
	int sd = in->be->socket(in->st, s->family, s->type), i, one = 1;
	if (sd >= 0 && s->v6only)
		(void)in->be->setsockopt(in->st, sd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &one, sizeof(one));
	for (i = 0; sd >= 0 && i < s->nopts; i++)
		(void)in->be->setsockopt(in->st, sd, s->opts[i].level,
				    s->opts[i].name, &s->opts[i].val,
				    (socklen_t)s->opts[i].len);
	return sd;
}

/* Give the socket a stack sd (lock held). 0 or -errno. */
static int attach_sd_locked(struct vfs_inst *in, struct vfs_sock *s)
{
	int sd = new_sd_locked(in, s);
	if (sd < 0)
		return sd;
	if ((unsigned)sd < in->max_socks)
		in->by_sd[sd] = s;
	s->sd = sd;
	atomic_store_explicit(&s->in, in, memory_order_release);
	return 0;
}

static void detach_sd_locked(struct vfs_inst *in, struct vfs_sock *s)
{
	if (s->sd < 0)
		return;
	if ((unsigned)s->sd < in->max_socks && in->by_sd[s->sd] == s)
		in->by_sd[s->sd] = NULL;
	(void)in->be->close(in->st, s->sd);
	s->sd = -1;
}

/* Leave the table: the socket is the kernel's from now on. */
static long to_kernel(int fd, int why, uint32_t addr_be, uint16_t port_be)
{
	vfs_fallback_note(why, fd, addr_be, port_be);
	vfs_fd_remove(fd);
	return HOOK_PASSTHROUGH;
}

/* The same for an address of either family */
static long to_kernel_addr(int fd, int why, const struct vfs_addr *a)
{
	if (a->kind == VFS_A_V6) {
		vfs_fallback_note6(why, fd, &a->v6, a->port_be);
		vfs_fd_remove(fd);
		return HOOK_PASSTHROUGH;
	}
	return to_kernel(fd, why, a->v4_be, a->port_be);
}

static void listen_replicas(struct vfs_sock *s, int backlog);

/* Would the running stack take a wildcard bind of port_be for s, with
 * its options? 0, or -EADDRINUSE (a socket of this process holds the
 * port on the netfuse address, where Linux refuses the wildcard too).
 * A probe: nothing stays bound. No stack running yet: nothing holds it. */
static int stack_wild_port_free(const struct vfs_sock *s, uint16_t port_be)
{
	struct vfs_addr a;
	int i, r = 0;
	if (!port_be || atomic_load_explicit(&vfs_g.inst_state,
					     memory_order_acquire) != 1)
		return 0;
	vfs_addr_wild(s->family, port_be, &a);
	for (i = 0; i < vfs_g.ninst && r != -EADDRINUSE; i++) {
		struct vfs_inst *in = vfs_g.insts[i];
		int sd;
		vfs_inst_lock(in);
		sd = new_sd_locked(in, s);
		if (sd >= 0) {
			r = in->be->bind(in->st, sd, &a.sa.sa, a.len);
			(void)in->be->close(in->st, sd);
		}
		vfs_inst_unlock(in);
	}
	return r == -EADDRINUSE ? r : 0;
}

/* Wildcard: a stack socket on the same port beside the bound (TCP:
 * listening) kernel socket. 0: dual; -EADDRINUSE: the stack holds the
 * port (nothing changed: the caller fails both halves together, as
 * Linux refuses one listener); 1: any other failure left a kernel-only
 * socket (logged). */
static int make_dual(struct vfs_sock *s, int fd, uint16_t port_be,
		     int backlog)
{
	struct vfs_inst *in;
	struct vfs_addr a;
	int r;
	if (vfs_inst_get(&in) < 0) {
		(void)to_kernel(fd, VFS_FB_no_instance, 0, port_be);
		return 1;
	}
	vfs_addr_wild(s->family, port_be, &a);
	vfs_inst_lock(in);
	r = attach_sd_locked(in, s);
	if (r == 0)
		r = in->be->bind(in->st, s->sd, &a.sa.sa, a.len);
	if (r == 0 && s->type == SOCK_STREAM)
		r = in->be->listen(in->st, s->sd, backlog);
	if (r < 0)
		detach_sd_locked(in, s);
	else
		s->route = VFS_R_DUAL;
	vfs_inst_unlock(in);
	if (r == -EADDRINUSE)
		return r;
	if (r < 0) {
		vfs_log(1, "fd %d: user-stack half of the wildcard socket on "
			"port %u failed (%d)", fd, ntohs(port_be), r);
		(void)to_kernel(fd, VFS_FB_ns_error, 0, port_be);
		return 1;
	}
	if (s->type == SOCK_STREAM)
		listen_replicas(s, backlog);
	take_over_flags(s, fd);
	return 0;
}

/* The kernel refused a wildcard bind: say once why that can differ
 * from a run without netfuse (the program may skip the address
 * silently, as memcached does) */
static void note_kernel_port_busy(int fd, uint16_t port_be)
{
	static atomic_int said;
	if (atomic_exchange(&said, 1))
		return;
	vfs_log(1, "fd %d: bind to the wildcard address, port %u: EADDRINUSE "
		"from the kernel: another process holds the kernel's port (a "
		"netfuse wildcard listener holds it too, for loopback "
		"clients); to run two netfuse servers on one port, bind each "
		"to its own NETFUSE_ADDR", fd, ntohs(port_be));
}

static long undecided_bind(const struct hook_call *c, struct vfs_sock *s,
			   int fd)
{
	struct vfs_addr a;
	struct vfs_inst *in;
	int why, r;
	s->v6only = vfs_addr_v6only(s->family, fd);
	r = vfs_addr_in(s->family, s->v6only, 1, &a, c->arg[1], c->arg[2]);
	if (r < 0)
		return r;
	if (r == VFS_A_KERNEL)
		return HOOK_PASSTHROUGH;
	if (vfs_route_decide_addr(&vfs_g.route, &a, 1, &why) == VFS_TO_KERNEL)
		return to_kernel_addr(fd, why, &a);
	if (a.kind == VFS_A_V4 ? a.v4_be == htonl(INADDR_ANY) :
	    IN6_IS_ADDR_UNSPECIFIED(&a.v6)) {
		long k;
		uint16_t port_be;
		/* both halves or neither: the stack's half first (the
		 * kernel's cannot be unbound) */
		r = stack_wild_port_free(s, a.port_be);
		if (r < 0)
			return r;
		k = raw(SYS_bind, fd, c->arg[1], c->arg[2], 0, 0, 0);
		if (k == -EADDRINUSE)
			note_kernel_port_busy(fd, a.port_be);
		if (k < 0)
			return k;
		if (!vfs_addr_wild_port(s->family, fd, &port_be))
			return 0;
		s->wild_bound = 1;
		s->bound_port_be = port_be;
		/* port 0: the kernel chose one; should the stack hold it,
		 * the socket stays the kernel's (logged) */
		if (s->type == SOCK_DGRAM &&
		    make_dual(s, fd, port_be, 0) == -EADDRINUSE)
			(void)to_kernel(fd, VFS_FB_ns_error, 0, port_be);
		return 0;
	}
	/* the netfuse address: the kernel does not own it */
	if (vfs_inst_get(&in) < 0)
		return to_kernel_addr(fd, VFS_FB_no_instance, &a);
	vfs_inst_lock(in);
	r = attach_sd_locked(in, s);
	if (r == 0) {
		r = in->be->bind(in->st, s->sd, &a.sa.sa, a.len);
		if (r < 0)
			detach_sd_locked(in, s);
		else
			s->route = VFS_R_NETFUSE;
	}
	vfs_inst_unlock(in);
	if (r < 0)
		return r;
	take_over_flags(s, fd);
	return 0;
}

static long undecided_listen(const struct hook_call *c, struct vfs_sock *s,
			     int fd)
{
	uint16_t port_be;
	long k;
	int why;
	if (s->type != SOCK_STREAM)
		return HOOK_PASSTHROUGH; /* EOPNOTSUPP from the kernel */
	k = raw(SYS_listen, fd, c->arg[1], 0, 0, 0, 0);
	if (k < 0)
		return k;
	s->v6only = vfs_addr_v6only(s->family, fd);
	if (!vfs_addr_wild_port(s->family, fd, &port_be))
		return 0; /* bound to another (kernel) address */
	if ((s->family == AF_INET6 && s->v6only ?
	     vfs_route_decide6(&vfs_g.route, &in6addr_any, port_be, 1, &why) :
	     vfs_route_decide(&vfs_g.route, 0, port_be, 1, &why)) ==
	    VFS_TO_KERNEL) {
		(void)to_kernel(fd, why, 0, port_be);
		return 0;
	}
	if (make_dual(s, fd, port_be, (int)c->arg[1]) == -EADDRINUSE) {
		/* the stack's half is taken (since bind): stop the kernel's
		 * listen (AF_UNSPEC connect: back to bound, not listening)
		 * so neither half listens, and say so as Linux would */
		struct sockaddr sa = { .sa_family = AF_UNSPEC };
		(void)raw(SYS_connect, fd, (long)&sa, sizeof(sa), 0, 0, 0);
		return -EADDRINUSE;
	}
	return 0;
}

/* Decide an undecided socket by destination (connect, sendto). Returns
 * 0 when it became netfuse, HOOK_PASSTHROUGH when it went to the kernel,
 * or -errno. */
static long decide_by_dest(struct vfs_sock *s, int fd,
			   const struct vfs_addr *a)
{
	struct vfs_inst *in;
	int why, r;
	if (vfs_route_decide_addr(&vfs_g.route, a, 0, &why) == VFS_TO_KERNEL)
		return to_kernel_addr(fd, why, a);
	if (vfs_inst_get(&in) < 0)
		return to_kernel_addr(fd, VFS_FB_no_instance, a);
	vfs_inst_lock(in);
	r = attach_sd_locked(in, s);
	if (r == 0 && s->wild_bound) {
		struct vfs_addr b;
		vfs_addr_wild(s->family, s->bound_port_be, &b);
		r = in->be->bind(in->st, s->sd, &b.sa.sa, b.len);
		if (r < 0)
			detach_sd_locked(in, s);
	}
	if (r == 0)
		s->route = VFS_R_NETFUSE;
	vfs_inst_unlock(in);
	if (r < 0)
		return to_kernel_addr(fd, VFS_FB_ns_error, a);
	take_over_flags(s, fd);
	return 0;
}

/* ---- netfuse calls --------------------------------------------------------- */
static long nf_connect(struct vfs_inst *in, struct vfs_sock *s,
		       const struct vfs_addr *a)
{
	long r;
	int err;
	socklen_t el = sizeof(err);
	vfs_inst_link_wait(in);
	vfs_inst_lock(in);
	r = s->sd < 0 ? -EBADF : in->be->connect(in->st, s->sd, &a->sa.sa, a->len);
	vfs_inst_timer_check(in);
	vfs_inst_unlock(in);
	if (r != -EINPROGRESS || s->type != SOCK_STREAM)
		return r;
	if (atomic_load(&s->nonblock))
		return -EINPROGRESS;
	r = vfs_wait_sock(in, s, NS_EV_OUT, deadline_of(s->sndtimeo_ns), -1,
			  NULL);
	while (r == 0) {
		uint32_t ev;
		vfs_inst_lock(in);
		ev = vfs_sock_events(in, s);
		if (ev & (NS_EV_OUT | NS_EV_ERR | NS_EV_HUP)) {
			err = 0;
			el = sizeof(err);
			(void)in->be->getsockopt(in->st, s->sd, SOL_SOCKET, SO_ERROR,
					    &err, &el);
			if (!err) /* done: a later connect is EISCONN */
				(void)in->be->connect(in->st, s->sd, &a->sa.sa,
						    a->len);
			vfs_inst_unlock(in);
			return err ? -err : 0;
		}
		vfs_inst_unlock(in);
		r = vfs_wait_sock(in, s, NS_EV_OUT, deadline_of(s->sndtimeo_ns),
				  -1, NULL);
	}
	return r == -EAGAIN ? -EINPROGRESS : r;
}

static void sigpipe(void)
{
	long pid = raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long tid = raw(SYS_gettid, 0, 0, 0, 0, 0, 0);
	atomic_fetch_add(&vfs_g.sigpipes, 1);
	(void)raw(SYS_tgkill, pid, tid, SIGPIPE, 0, 0, 0);
}

/* Data pointers are used directly (README); at least NULL-page and
 * kernel-half pointers give EFAULT, as in Linux. */
static int iov_bad(const struct iovec *iov, int n)
{
	int i;
	for (i = 0; i < n; i++)
		if (iov[i].iov_len && !vfs_user_ok(iov[i].iov_base, 1))
			return 1;
	return 0;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	int i;
	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Send from iov (copied: we advance it on partial sends). */
static long nf_send(struct vfs_inst *in, struct vfs_sock *s, int fd,
		    const struct iovec *uiov, int iovcnt, int flags,
		    const struct vfs_addr *to)
{
	struct iovec stack_iov[IOV_STACK], *iov = stack_iov;
	int nonblock = atomic_load(&s->nonblock) || (flags & MSG_DONTWAIT);
	uint64_t dl = 0;
	size_t total, sent = 0;
	long r;

	(void)fd;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (iovcnt > IOV_STACK) {
		iov = malloc(sizeof(*iov) * (size_t)iovcnt);
		if (!iov)
			return -ENOMEM;
	}
	memcpy(iov, uiov, sizeof(*iov) * (size_t)iovcnt);
	total = iov_total(iov, iovcnt);
	if (iov_bad(iov, iovcnt)) {
		if (iov != stack_iov)
			free(iov);
		return -EFAULT;
	}
	for (;;) {
		int i;
		vfs_inst_lock(in);
		r = s->sd < 0 ? -EBADF :
		    vfs_be_sendmsg(in, s->sd, iov, iovcnt, flags,
				  to ? &to->sa.sa : NULL, to ? to->len : 0);
		if (r > 0)
			s->tx_bytes += (uint64_t)r; /* SIOCOUTQ */
		vfs_inst_timer_check(in);
		vfs_inst_unlock(in);
		if (r > 0) {
			size_t k = (size_t)r;
			sent += k;
			if (sent >= total || s->type != SOCK_STREAM || nonblock)
				break;
			for (i = 0; i < iovcnt && k; i++) { /* advance */
				size_t t = k < iov[i].iov_len ? k : iov[i].iov_len;
				iov[i].iov_base = (char *)iov[i].iov_base + t;
				iov[i].iov_len -= t;
				k -= t;
			}
			continue;
		}
		if (r == 0 && total == 0)
			break;
		if (r != -EAGAIN || nonblock)
			break;
		if (!dl)
			dl = deadline_of(s->sndtimeo_ns);
		r = vfs_wait_sock(in, s, NS_EV_OUT, dl, -1, NULL);
		if (r == -EINTR && !sent && !s->sndtimeo_ns && vfs_sig_restart())
			continue; /* SA_RESTART */
		if (r < 0)
			break;
	}
	if (iov != stack_iov)
		free(iov);
	if (sent)
		return (long)sent;
	if (r == -EPIPE && s->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL))
		sigpipe();
	return r;
}

/* Receive into iov. from: UDP source (may be NULL). For a dual UDP
 * socket the kernel half is tried too (kmsg: the program's msghdr shape
 * rebuilt over the same buffers). */
static long nf_recv(struct vfs_inst *in, struct vfs_sock *s, int fd,
		    const struct iovec *iov, int iovcnt, int flags,
		    struct vfs_addr *from, int *from_kernel,
		    struct msghdr *kmsg)
{
	int nonblock = atomic_load(&s->nonblock) || (flags & MSG_DONTWAIT);
	uint64_t dl = 0;
	unsigned seq;
	long r;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (iov_bad(iov, iovcnt))
		return -EFAULT;
	if (from_kernel)
		*from_kernel = 0;
	for (;;) {
		vfs_inst_lock(in);
		seq = atomic_load(&s->ev_seq);
		if (from)
			from->len = sizeof(from->sa);
		r = s->sd < 0 ? -EBADF : !from ?
		    vfs_be_recv(in, s->sd, iov, iovcnt, flags) :
		    in->be->recvmsg(in->st, s->sd, iov, iovcnt, flags,
				    &from->sa.sa, &from->len);
		if (r >= 0)
			vfs_inst_timer_check(in);
		vfs_inst_unlock(in);
		if (r != -EAGAIN)
			return r;
		if (s->route == VFS_R_DUAL && kmsg) {
			r = raw(SYS_recvmsg, fd, (long)kmsg, flags | MSG_DONTWAIT,
				0, 0, 0);
			if (r != -EAGAIN) {
				if (from_kernel)
					*from_kernel = 1;
				return r;
			}
		}
		if (nonblock)
			return -EAGAIN;
		if (!dl)
			dl = deadline_of(s->rcvtimeo_ns);
		/* MSG_WAITALL: readable but not enough yet; wait for a change */
		r = vfs_wait_sock(in, s, NS_EV_IN, dl,
				  s->route == VFS_R_DUAL ? fd : -1,
				  (flags & MSG_WAITALL) ? &seq : NULL);
		if (r == -EINTR && !s->rcvtimeo_ns && vfs_sig_restart())
			continue; /* SA_RESTART */
		if (r < 0)
			return r;
	}
}

/* Options a listener's connections inherit, copied to its replicas */
static const int inherit_opts[][2] = {
	/* the replicas of two SO_REUSEPORT listeners must not refuse each
	 * other (nor a later wildcard bind's probe, sock.c) */
	{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_REUSEPORT },
	{ SOL_SOCKET, SO_RCVBUF }, { SOL_SOCKET, SO_SNDBUF },
	{ SOL_SOCKET, SO_KEEPALIVE }, { IPPROTO_TCP, TCP_NODELAY },
	{ IPPROTO_TCP, TCP_KEEPIDLE }, { IPPROTO_TCP, TCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_KEEPCNT }, { IPPROTO_TCP, TCP_MAXSEG },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT },
};

/* The value to set so a replica has what getsockopt read (Linux
 * reports twice the SO_RCVBUF/SO_SNDBUF asked for) */
static int inherit_val(int level, int name, int v)
{
	if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
		return v / 2;
	return v;
}

/* s listens in its owner (lock not held): listen in every other instance
 * too, on the same address and port, with its inheritable options, so a
 * connection is accepted by the instance whose queue its SYN reached
 * (as an SO_REUSEPORT group in Linux). An instance that cannot (its port
 * taken by a connection of its own) has no replica: SYNs that land there
 * are handed on (steer.c). */
static void listen_replicas(struct vfs_sock *s, int backlog)
{
	struct vfs_inst *own = vfs_sock_inst(s);
	union ns_sockaddr a;
	socklen_t alen = sizeof(a);
	int vals[sizeof(inherit_opts) / sizeof(inherit_opts[0])], i, k, r;
	int *rsd;

	if (vfs_g.ninst < 2 || s->rsd)
		return;
	rsd = malloc(sizeof(int) * VFS_MAX_INST);
	if (!rsd)
		return;
	for (i = 0; i < VFS_MAX_INST; i++)
		rsd[i] = -1;
	vfs_inst_lock(own);
	r = s->sd < 0 ? -EBADF : own->be->getsockname(own->st, s->sd, &a.sa, &alen);
	for (k = 0; r == 0 && k < (int)(sizeof(vals) / sizeof(vals[0])); k++) {
		socklen_t l = sizeof(int);
		vals[k] = -1;
		(void)own->be->getsockopt(own->st, s->sd, inherit_opts[k][0],
				    inherit_opts[k][1], &vals[k], &l);
	}
	rsd[own->idx] = s->sd;
	vfs_inst_unlock(own);
	if (r < 0) {
		free(rsd);
		return;
	}
	s->rsd = rsd; /* before the replicas exist: events walk it */
	for (i = 0; i < vfs_g.ninst; i++) {
		struct vfs_inst *in = vfs_g.insts[i];
		int sd;
		if (in == own)
			continue;
		vfs_inst_lock(in);
		sd = in->be->socket(in->st, s->family, SOCK_STREAM);
		r = sd;
		if (sd >= 0 && s->v6only) {
			int one = 1;
			(void)in->be->setsockopt(in->st, sd, IPPROTO_IPV6,
					    IPV6_V6ONLY, &one, sizeof(one));
		}
		for (k = 0; sd >= 0 && k < (int)(sizeof(vals) / sizeof(vals[0]));
		     k++)
			if (vals[k] >= 0) {
				int v = inherit_val(inherit_opts[k][0],
						    inherit_opts[k][1], vals[k]);
				(void)in->be->setsockopt(in->st, sd, inherit_opts[k][0],
						    inherit_opts[k][1], &v,
						    sizeof(int));
			}
		if (sd >= 0)
			r = in->be->bind(in->st, sd, &a.sa, alen);
		if (r >= 0)
			r = in->be->listen(in->st, sd, backlog);
		if (r >= 0) {
			rsd[i] = sd;
			if ((unsigned)sd < in->max_socks)
				in->by_sd[sd] = s;
		} else if (sd >= 0) {
			(void)in->be->close(in->st, sd);
		}
		vfs_inst_unlock(in);
		if (r < 0)
			vfs_log(2, "listener on port %u: no replica in instance "
				"%d (%d); its SYNs are handed on",
				ntohs(a.in.sin_port), i, r);
	}
}

/* An option set on a listener after listen(): its replicas follow */
static void replicas_setopt(struct vfs_sock *s, int level, int name)
{
	struct vfs_inst *own = vfs_sock_inst(s);
	socklen_t l = sizeof(int);
	int v, i, k, known = 0;
	for (k = 0; k < (int)(sizeof(inherit_opts) / sizeof(inherit_opts[0]));
	     k++)
		known |= inherit_opts[k][0] == level && inherit_opts[k][1] == name;
	if (!known)
		return;
	vfs_inst_lock(own);
	k = s->sd < 0 ? -EBADF : own->be->getsockopt(own->st, s->sd, level, name,
					       &v, &l);
	vfs_inst_unlock(own);
	v = inherit_val(level, name, v);
	for (i = 0; k == 0 && i < vfs_g.ninst; i++) {
		struct vfs_inst *in = vfs_g.insts[i];
		if (in == own || s->rsd[i] < 0)
			continue;
		vfs_inst_lock(in);
		if (s->rsd[i] >= 0)
			(void)in->be->setsockopt(in->st, s->rsd[i], level, name, &v,
					    sizeof(v));
		vfs_inst_unlock(in);
	}
}

/* Close a listener's replicas (s's owner already closed its sd) */
static void close_replicas(struct vfs_sock *s)
{
	int i;
	for (i = 0; s->rsd && i < vfs_g.ninst; i++) {
		struct vfs_inst *in = vfs_g.insts[i];
		if (in == vfs_sock_inst(s) || s->rsd[i] < 0)
			continue;
		vfs_inst_lock(in);
		if ((unsigned)s->rsd[i] < in->max_socks &&
		    in->by_sd[s->rsd[i]] == s)
			in->by_sd[s->rsd[i]] = NULL;
		(void)in->be->close(in->st, s->rsd[i]);
		s->rsd[i] = -1;
		vfs_inst_wake_all_locked(in);
		vfs_inst_unlock(in);
	}
}

uint32_t vfs_sock_events_sw(struct vfs_sock *s, struct vfs_inst **held)
{
	struct vfs_inst *own = vfs_sock_inst(s);
	uint32_t ev = 0;
	int i;
	if (!own)
		return 0;
	if (!s->rsd) {
		own = vfs_sock_switch(held, s);
		return vfs_sock_events(own, s);
	}
	for (i = 0; i < vfs_g.ninst; i++) {
		if (s->rsd[i] < 0)
			continue;
		vfs_inst_switch(held, vfs_g.insts[i]);
		if (s->sd < 0)
			return NS_EV_HUP | NS_EV_ERR;
		if (s->rsd[i] >= 0)
			ev |= vfs_be_events(vfs_g.insts[i], s->rsd[i]);
	}
	return ev;
}

/* One accept from any of s's instances, the calling thread's first:
 * ns's sd and owner are set; -EAGAIN if none has a connection. */
static long accept_any(struct vfs_inst *in, struct vfs_sock *s,
		       struct vfs_sock *ns, struct vfs_addr *peer)
{
	int n = s->rsd ? vfs_g.ninst : 1, k, first = 0;
	long r = -EAGAIN;
	if (s->rsd) {
		struct vfs_inst *me = vfs_inst_mine();
		first = me ? me->idx : 0;
	}
	for (k = 0; k < n; k++) {
		struct vfs_inst *j = s->rsd ? vfs_g.insts[(first + k) % n] : in;
		int lsd;
		vfs_inst_lock(j);
		lsd = s->rsd ? s->rsd[j->idx] : s->sd;
		if (s->sd < 0)
			r = -EBADF;
		else if (lsd >= 0) {
			peer->len = sizeof(peer->sa);
			r = j->be->accept(j->st, lsd, &peer->sa.sa, &peer->len);
		}
		if (r >= 0) {
			ns->sd = (int)r;
			ns->route = VFS_R_NETFUSE;
			/* it may move where the device then sends its flow
			 * (move.c): to its acceptor, then to a worker */
			atomic_store(&ns->may_move, vfs_g.ninst > 1 && j->ops &&
				     (j->ops->caps & NF_CAP_FLOW_FOLLOWS_TX) ?
				     2 : 0);
			atomic_store_explicit(&ns->in, j, memory_order_release);
			if ((unsigned)r < j->max_socks)
				j->by_sd[r] = ns;
		}
		vfs_inst_unlock(j);
		if (r != -EAGAIN)
			return r;
	}
	return r;
}

static long nf_accept(struct vfs_inst *in, struct vfs_sock *s, int fd,
		      const struct hook_call *c)
{
	int flags = c->nr == SYS_accept4 ? (int)c->arg[3] : 0;
	int nonblock = atomic_load(&s->nonblock);
	uint64_t dl = 0;
	struct vfs_sock *ns;
	struct vfs_addr peer;
	long r, pfd;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (s->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	ns = vfs_sock_new(SOCK_STREAM);
	if (!ns)
		return -ENOMEM;
	ns->family = s->family;
	for (;;) {
		r = accept_any(in, s, ns, &peer);
		if (r >= 0)
			break;
		if (r != -EAGAIN)
			goto out;
		if (s->route == VFS_R_DUAL) {
			r = raw(SYS_accept4, fd, c->arg[1], c->arg[2], flags, 0, 0);
			if (r != -EAGAIN)
				goto out;
		}
		if (nonblock) {
			r = -EAGAIN;
			goto out;
		}
		if (!dl)
			dl = deadline_of(s->rcvtimeo_ns);
		r = vfs_wait_sock(in, s, NS_EV_IN, dl,
				  s->route == VFS_R_DUAL ? fd : -1, NULL);
		if (r == -EINTR && !s->rcvtimeo_ns && vfs_sig_restart())
			continue; /* SA_RESTART */
		if (r < 0)
			goto out;
	}
	/* the placeholder: a real (unconnected) kernel TCP socket */
	pfd = raw(SYS_socket, s->family, SOCK_STREAM | SOCK_NONBLOCK |
		  (flags & SOCK_CLOEXEC), 0, 0, 0, 0);
	if (pfd < 0 || vfs_fd_install((int)pfd, &ns->h) < 0) {
		struct vfs_inst *nin = vfs_sock_inst(ns);
		vfs_inst_lock(nin);
		detach_sd_locked(nin, ns);
		vfs_inst_unlock(nin);
		if (pfd >= 0)
			(void)raw(SYS_close, pfd, 0, 0, 0, 0, 0);
		r = pfd < 0 ? pfd : -ENOMEM;
		goto out;
	}
	atomic_store(&ns->nonblock, (flags & SOCK_NONBLOCK) ? 1 : 0);
	atomic_fetch_add(&vfs_g.nsocks_live, 1);
	vfs_obj_put(&ns->h);
	if (vfs_addr_out(c->arg[1], c->arg[2], &peer.sa, peer.len, 1) < 0) {
		/* Linux: the connection is taken, then dropped, and the
		 * program gets EFAULT (no fd) */
		(void)vfs_sys_close((int)pfd);
		return -EFAULT;
	}
	return pfd;
out:
	vfs_obj_put(&ns->h);
	return r;
}

static long nf_getsockopt(struct vfs_inst *in, struct vfs_sock *s,
			  const struct hook_call *c)
{
	int level = (int)c->arg[1], name = (int)c->arg[2];
	unsigned char buf[256];
	socklen_t len;
	int ulen, v;
	long r;

	if (!c->arg[4] || vfs_copy_in_safe(&ulen, (void *)c->arg[4], sizeof(ulen)) < 0)
		return -EFAULT;
	if (ulen < 0)
		return -EINVAL;
	len = (socklen_t)ulen > sizeof(buf) ? sizeof(buf) : (socklen_t)ulen;
	memset(buf, 0, sizeof(buf));
	r = 1;
	if (level == SOL_SOCKET) {
		struct timeval tv;
		uint64_t t;
		switch (name) {
		case SO_RCVTIMEO:
		case SO_SNDTIMEO:
			t = name == SO_RCVTIMEO ? s->rcvtimeo_ns : s->sndtimeo_ns;
			tv.tv_sec = (time_t)(t / 1000000000ull);
			tv.tv_usec = (suseconds_t)(t % 1000000000ull / 1000);
			if (len > sizeof(tv))
				len = sizeof(tv);
			memcpy(buf, &tv, len);
			r = 0;
			break;
		case SO_DOMAIN:
		case SO_PROTOCOL:
		case SO_INCOMING_CPU:
			v = name == SO_DOMAIN ? s->family :
			    name == SO_PROTOCOL ? (s->type == SOCK_STREAM ?
						   IPPROTO_TCP : IPPROTO_UDP) : 0;
			if (len > sizeof(v))
				len = sizeof(v);
			memcpy(buf, &v, len);
			r = 0;
			break;
		}
	}
	if (r) {
		vfs_inst_lock(in);
		r = s->sd < 0 ? -EBADF :
		    in->be->getsockopt(in->st, s->sd, level, name, buf, &len);
		vfs_inst_unlock(in);
		if (r < 0)
			return r;
	}
	if (c->arg[3] && vfs_copy_out_safe((void *)c->arg[3], buf, len) < 0)
		return -EFAULT;
	ulen = (int)len;
	if (vfs_copy_out_safe((void *)c->arg[4], &ulen, sizeof(ulen)) < 0)
		return -EFAULT;
	return 0;
}

static int timeo_from_user(const unsigned char *buf, long len, uint64_t *out)
{
	struct timeval tv;
	if (len < (long)sizeof(tv))
		return -EINVAL;
	memcpy(&tv, buf, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0) {
		*out = 0; /* Linux: negative means "no timeout" */
		return 0;
	}
	*out = (uint64_t)tv.tv_sec * 1000000000ull +
	       (uint64_t)tv.tv_usec * 1000ull;
	return 0;
}

static long nf_setsockopt(struct vfs_inst *in, struct vfs_sock *s, int fd,
			  const struct hook_call *c)
{
	int level = (int)c->arg[1], name = (int)c->arg[2];
	long len = c->arg[4];
	unsigned char buf[256];
	long r;
	if (len < 0)
		return -EINVAL;
	if (len > (long)sizeof(buf))
		len = sizeof(buf);
	if (len && (!c->arg[3] || vfs_copy_in_safe(buf, (void *)c->arg[3],
					      (size_t)len) < 0))
		return -EFAULT;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		uint64_t t;
		r = timeo_from_user(buf, len, &t);
		if (r < 0)
			return r;
		if (name == SO_RCVTIMEO)
			s->rcvtimeo_ns = t;
		else
			s->sndtimeo_ns = t;
		if (s->route == VFS_R_DUAL)
			(void)raw(SYS_setsockopt, fd, level, name, c->arg[3],
				  c->arg[4], 0);
		return 0;
	}
	vfs_inst_lock(in);
	r = s->sd < 0 ? -EBADF :
	    in->be->setsockopt(in->st, s->sd, level, name, buf, (socklen_t)len);
	vfs_inst_timer_check(in);
	vfs_inst_unlock(in);
	if (r == 0 && s->route == VFS_R_DUAL)
		(void)raw(SYS_setsockopt, fd, level, name, c->arg[3], c->arg[4],
			  0);
	return r;
}

/* undecided: the kernel applies it; keep int options for the stack */
static long undecided_setsockopt(struct vfs_sock *s, int fd,
				 const struct hook_call *c)
{
	long r = raw(SYS_setsockopt, fd, c->arg[1], c->arg[2], c->arg[3],
		     c->arg[4], 0);
	int level = (int)c->arg[1], name = (int)c->arg[2];
	if (r < 0)
		return r;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		unsigned char buf[sizeof(struct timeval)];
		uint64_t t;
		if (vfs_copy_in_safe(buf, (void *)c->arg[3], sizeof(buf)) == 0 &&
		    timeo_from_user(buf, c->arg[4], &t) == 0) {
			if (name == SO_RCVTIMEO)
				s->rcvtimeo_ns = t;
			else
				s->sndtimeo_ns = t;
		}
		return 0;
	}
	if (c->arg[4] == sizeof(int) && s->nopts < VFS_SAVED_OPTS) {
		struct vfs_saved_opt *o = &s->opts[s->nopts];
		int i;
		if (vfs_copy_in_safe(&o->val, (void *)c->arg[3], sizeof(int)) < 0)
			return 0;
		for (i = 0; i < s->nopts; i++) /* replace an earlier value */
			if (s->opts[i].level == level && s->opts[i].name == name) {
				s->opts[i].val = o->val;
				return 0;
			}
		o->level = level;
		o->name = name;
		o->len = sizeof(int);
		s->nopts++;
	}
	return 0;
}

static long nf_ioctl(struct vfs_inst *in, struct vfs_sock *s,
		     const struct hook_call *c)
{
	unsigned long req = (unsigned long)c->arg[1];
	int v;
	long r;
	if (req == FIONBIO) {
		if (vfs_copy_in(&v, (void *)c->arg[2], sizeof(v)) < 0)
			return -EFAULT;
		atomic_store(&s->nonblock, v ? 1 : 0);
		return 0;
	}
	if (req == SIOCOUTQ || req == SIOCOUTQNSD) {
		/* Linux: unacknowledged + unsent bytes (SIOCOUTQ), unsent
		 * only (SIOCOUTQNSD); EINVAL on a listener; UDP leaves at
		 * once here (0). */
		struct ns_tcp_info ti;
		socklen_t tl = sizeof(ti), al = sizeof(v);
		int acc = 0;
		uint64_t tx;
		vfs_inst_lock(in);
		if (s->sd < 0) {
			vfs_inst_unlock(in);
			return -EBADF;
		}
		(void)in->be->getsockopt(in->st, s->sd, SOL_SOCKET, SO_ACCEPTCONN,
				    &acc, &al);
		memset(&ti, 0, sizeof(ti));
		r = s->type == SOCK_STREAM ?
		    in->be->getsockopt(in->st, s->sd, IPPROTO_TCP, TCP_INFO, &ti, &tl) :
		    0;
		tx = s->tx_bytes;
		vfs_inst_unlock(in);
		if (acc)
			return -EINVAL;
		if (r < 0)
			return r;
		if (s->type != SOCK_STREAM)
			v = 0;
		else if (req == SIOCOUTQNSD)
			v = (int)ti.tcpi_notsent_bytes;
		else
			v = tx > ti.tcpi_bytes_acked ?
			    (int)(tx - ti.tcpi_bytes_acked) : 0;
		return vfs_copy_out((void *)c->arg[2], &v, sizeof(v));
	}
	if (req == FIONREAD) { /* == SIOCINQ */
		int bufsz = 0;
		socklen_t bl = sizeof(bufsz);
		struct iovec iov;
		void *tmp;
		vfs_inst_lock(in);
		if (s->sd < 0) {
			vfs_inst_unlock(in);
			return -EBADF;
		}
		if (vfs_be_events(in, s->sd) & NS_EV_ACCEPT) {
			vfs_inst_unlock(in);
			return -EINVAL; /* a listener, as Linux */
		}
		(void)in->be->getsockopt(in->st, s->sd, SOL_SOCKET, SO_RCVBUF,
				    &bufsz, &bl);
		if (bufsz <= 0 || bufsz > (64 << 20))
			bufsz = 1 << 20;
		tmp = malloc((size_t)bufsz);
		if (!tmp) {
			vfs_inst_unlock(in);
			return -ENOMEM;
		}
		iov.iov_base = tmp;
		iov.iov_len = (size_t)bufsz;
		r = in->be->recvmsg(in->st, s->sd, &iov, 1, MSG_PEEK |
				    MSG_DONTWAIT | (s->type == SOCK_DGRAM ?
						    MSG_TRUNC : 0), NULL, NULL);
		vfs_inst_unlock(in);
		free(tmp);
		v = r > 0 ? (int)r : 0;
		if (r < 0 && r != -EAGAIN && r != -ENOTCONN)
			return r;
		return vfs_copy_out((void *)c->arg[2], &v, sizeof(v));
	}
	return HOOK_PASSTHROUGH; /* the placeholder answers */
}

static long nf_fcntl(struct vfs_sock *s, int fd, const struct hook_call *c)
{
	long r;
	switch ((int)c->arg[1]) {
	case F_GETFL:
		r = raw(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
		if (r < 0)
			return r;
		return (r & ~O_NONBLOCK) |
		       (atomic_load(&s->nonblock) ? O_NONBLOCK : 0);
	case F_SETFL:
		r = raw(SYS_fcntl, fd, F_SETFL, c->arg[2] | O_NONBLOCK, 0, 0, 0);
		if (r == 0)
			atomic_store(&s->nonblock,
				     (c->arg[2] & O_NONBLOCK) ? 1 : 0);
		return r;
	}
	return HOOK_PASSTHROUGH;
}

static long dup_into(int oldfd, long newfd)
{
	struct vfs_obj *o;
	if (newfd < 0)
		return newfd;
	o = vfs_fd_get(oldfd);
	if (o) {
		if (vfs_fd_install((int)newfd, o) < 0)
			vfs_fd_remove((int)newfd);
		vfs_obj_put(o);
	} else {
		vfs_fd_remove((int)newfd);
	}
	return newfd;
}

long vfs_sys_fcntl_dupfd(const struct hook_call *c)
{
	return dup_into((int)c->arg[0], raw(SYS_fcntl, c->arg[0], c->arg[1],
					    c->arg[2], 0, 0, 0));
}

long vfs_sys_dup(const struct hook_call *c)
{
	long r = raw(c->nr, c->arg[0], c->arg[1], c->arg[2], 0, 0, 0);
	if (r < 0 || (c->nr != SYS_dup && c->arg[0] == c->arg[1]))
		return r;
	return dup_into((int)c->arg[0], r);
}

long vfs_sys_close(int fd)
{
	/* the entry goes before the number is free (vfs_fd_take); Linux
	 * frees the number whatever close returns (EINTR, EIO), and
	 * -EBADF means there was no number to free */
	struct vfs_obj *o = vfs_fd_take(fd);
	long r = raw(SYS_close, fd, 0, 0, 0, 0, 0);
	vfs_fd_drop(o);
	return r;
}

long vfs_sys_close_range(const struct hook_call *c)
{
	unsigned lo = (unsigned)c->arg[0], hi = (unsigned)c->arg[1], fd;
	unsigned n = (unsigned)atomic_load(&vfs_fdt.hi), cnt = 0, k = 0, i;
	struct { int fd; struct vfs_obj *o; } *taken = NULL;
	long r;
	if ((c->arg[2] & CLOSE_RANGE_CLOEXEC) || lo > hi)
		return raw(SYS_close_range, c->arg[0], c->arg[1], c->arg[2],
			   0, 0, 0);
	/* as close(): the entries go before the numbers are free */
	for (fd = lo; fd <= hi && fd < n; fd++)
		cnt += vfs_fd_peek((int)fd) != NULL;
	if (cnt && !(taken = calloc(cnt, sizeof(*taken))))
		return -ENOMEM;
	for (fd = lo; fd <= hi && fd < n && k < cnt; fd++)
		if (vfs_fd_peek((int)fd)) {
			taken[k].fd = (int)fd;
			taken[k++].o = vfs_fd_take((int)fd);
		}
	r = raw(SYS_close_range, c->arg[0], c->arg[1], c->arg[2], 0, 0, 0);
	for (i = 0; i < k; i++) {
		if (r < 0 && taken[i].o) /* nothing closed: put it back */
			(void)vfs_fd_install(taken[i].fd, taken[i].o);
		vfs_fd_drop(taken[i].o);
	}
	free(taken);
	return r;
}

/* Last fd of a socket closed (fdtab.c). */
void vfs_sock_closed(struct vfs_sock *s)
{
	struct vfs_inst *in = vfs_g.inst;
	if (s->route != VFS_R_UNDECIDED)
		atomic_fetch_sub(&vfs_g.nsocks_live, 1);
	if (!in || atomic_load(&vfs_g.inst_state) == VFS_STACK_PARENTS) {
		s->sd = -1;
		return;
	}
	if (vfs_sock_inst(s))
		in = vfs_sock_inst(s);
	vfs_inst_lock(in);
	vfs_ep_mark_locked(s); /* its epoll item goes */
	if (s->sd >= 0) {
		vfs_g.closed_here = 1; /* exit waits for what it queued */
		detach_sd_locked(in, s);
		vfs_inst_wake_all_locked(in); /* waiters on it return EBADF */
		vfs_inst_timer_check(in);
	}
	vfs_inst_unlock(in);
	if (s->rsd) {
		close_replicas(s);
		free(s->rsd);
		s->rsd = NULL;
	}
}

uint32_t vfs_sock_events(struct vfs_inst *in, struct vfs_sock *s)
{
	if (s->sd < 0)
		return NS_EV_HUP | NS_EV_ERR;
	return vfs_be_events(in, s->sd);
}

void vfs_exit_close_all(void)
{
	struct vfs_inst *in = vfs_g.inst;
	int n = atomic_load(&vfs_fdt.hi), fd;
	uint64_t end;
	if (!in)
		return;
	for (fd = 0; fd < n; fd++) {
		struct vfs_obj *o = vfs_fd_peek(fd);
		if (o && o->kind == VFS_K_SOCK &&
		    ((struct vfs_sock *)o)->route != VFS_R_UNDECIDED)
			vfs_fd_remove(fd); /* the kernel closes the fd itself */
	}
	/* Sockets other processes still hold (a fork child's exit, a
	 * parent leaving its workers) stay open. A process that never
	 * closed a socket itself (now or before) has nothing queued to
	 * wait for: a BGSAVE child's exit must not wait on the parent's
	 * connections */
	if (!vfs_g.closed_here)
		return;
	/* The kernel would go on delivering a closed socket's data after
	 * exit; the stack dies with the process. So wait, polling (the
	 * progress thread runs too), until every closed connection's data
	 * and FIN are acknowledged, or NETFUSE_EXIT_LINGER_MS (2 s) passes;
	 * nothing pending: no wait. What is left is logged. */
	end = vfs_now_ns() + vfs_g.exit_linger_ns;
	for (;;) {
		struct timespec ts = { 0, 1000000 };
		uint32_t left = 0;
		uint64_t bytes = 0;
		int i;
		for (i = 0; i < vfs_g.ninst; i++) {
			uint64_t b;
			in = vfs_g.insts[i];
			vfs_inst_poll_try(in);
			vfs_inst_lock(in);
			left += in->be->closing(in->st, &b);
			vfs_inst_unlock(in);
			bytes += b;
		}
		if (!left)
			break;
		if (vfs_now_ns() >= end) {
			atomic_fetch_add(&vfs_g.exit_unacked_conns, left);
			atomic_fetch_add(&vfs_g.exit_unacked_bytes, bytes);
			vfs_log(1, "exit: %u connection(s) with %llu byte(s) of "
				"data (and their FINs) not acknowledged after "
				"NETFUSE_EXIT_LINGER_MS (%llu ms): lost; their "
				"peers will see them time out. A slow reader "
				"needs a longer NETFUSE_EXIT_LINGER_MS", left,
				(unsigned long long)bytes,
				(unsigned long long)(vfs_g.exit_linger_ns /
						     1000000));
			break;
		}
		(void)raw(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
	}
}

/* In a fork child, inside the fork call (no malloc: glibc holds its
 * locks until the call returns). The child shares every socket, epoll set
 * and instance with its parent (shm.c); only this process's own state is
 * made new here. */
void vfs_after_fork_child(void)
{
	vfs_g.pid = raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
	vfs_g.closed_here = 0;
	vfs_procs_fork_child();
	vfs_fdtab_fork_child();
}

/* sendfile(out = netfuse socket, in = kernel file): read in chunks and
 * send; the file offset (or position) advances by what was sent. */
static long nf_sendfile(struct vfs_inst *in, struct vfs_sock *s, int fd,
			const struct hook_call *c)
{
	int in_fd = (int)c->arg[1];
	long count = c->arg[3], done = 0, r = 0;
	size_t cap = count < 65536 ? (size_t)(count > 0 ? count : 1) : 65536;
	off_t off = 0;
	char *buf;
	if (count < 0)
		return -EINVAL;
	if (c->arg[2] && vfs_copy_in(&off, (void *)c->arg[2], sizeof(off)) < 0)
		return -EFAULT;
	if (c->arg[2] && off < 0)
		return -EINVAL;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	while (done < count) {
		size_t want = (size_t)(count - done) < cap ?
			      (size_t)(count - done) : cap;
		struct iovec iov;
		long n = c->arg[2] ?
			 raw(SYS_pread64, in_fd, (long)buf, (long)want, off, 0, 0) :
			 raw(SYS_read, in_fd, (long)buf, (long)want, 0, 0, 0);
		if (n <= 0) {
			r = n;
			break;
		}
		iov.iov_base = buf;
		iov.iov_len = (size_t)n;
		r = nf_send(in, s, fd, &iov, 1, 0, NULL);
		if (r > 0) {
			done += r;
			off += r;
		}
		if (r < n) { /* give back what was read but not sent */
			if (!c->arg[2])
				(void)raw(SYS_lseek, in_fd, -(n - (r > 0 ? r : 0)),
					  SEEK_CUR, 0, 0, 0);
			break;
		}
	}
	free(buf);
	if (c->arg[2])
		(void)vfs_copy_out((void *)c->arg[2], &off, sizeof(off));
	return done ? done : r;
}

/* splice(fd_in = a kernel pipe, fd_out = netfuse stream socket). Linux
 * needs a pipe on one side (a file goes file -> pipe in the kernel, then
 * pipe -> socket here). Bytes read from the pipe cannot be put back, so
 * only what the send buffer has room for now is read (SO_SNDBUF limit
 * minus the bytes queued: tx_bytes - TCP_INFO's bytes_acked), and all of
 * it is then sent, waiting for room if the estimate was short (never
 * losing data, at the price of a short wait on a non-blocking socket). */
static long nf_splice(struct vfs_inst *in, struct vfs_sock *s, int fd,
		      const struct hook_call *c)
{
	int in_fd = (int)c->arg[0];
	size_t len = (size_t)c->arg[4];
	unsigned flags = (unsigned)c->arg[5];
	int nonblock = atomic_load(&s->nonblock) || (flags & SPLICE_F_NONBLOCK);
	struct stat st;
	struct ns_tcp_info ti;
	socklen_t tl = sizeof(ti), bl;
	int limit = 0;
	size_t room, chunk, sent = 0;
	uint64_t queued;
	uint32_t ev;
	char *buf;
	long n, r;
	if (c->arg[3])
		return -ESPIPE; /* no offset on a socket */
	r = raw(SYS_fstat, in_fd, (long)&st, 0, 0, 0, 0);
	if (r < 0)
		return r;
	if (!S_ISFIFO(st.st_mode))
		return -EINVAL; /* as Linux: one end must be a pipe */
	if (c->arg[1])
		return -ESPIPE;
	if (s->type != SOCK_STREAM)
		return -EINVAL;
	if (len == 0)
		return 0;
	for (;;) { /* room in the socket first */
		vfs_inst_lock(in);
		ev = s->sd < 0 ? NS_EV_HUP : vfs_be_events(in, s->sd);
		vfs_inst_unlock(in);
		if (ev & (NS_EV_OUT | NS_EV_ERR | NS_EV_HUP))
			break;
		if (nonblock)
			return -EAGAIN;
		r = vfs_wait_sock(in, s, NS_EV_OUT, 0, -1, NULL);
		if (r < 0)
			return r;
	}
	memset(&ti, 0, sizeof(ti));
	vfs_inst_lock(in);
	if (s->sd >= 0) {
		bl = sizeof(limit);
		(void)in->be->getsockopt(in->st, s->sd, SOL_SOCKET, SO_SNDBUF, &limit,
				    &bl);
		(void)in->be->getsockopt(in->st, s->sd, IPPROTO_TCP, TCP_INFO, &ti,
				    &tl);
	}
	queued = s->tx_bytes > ti.tcpi_bytes_acked ?
		 s->tx_bytes - ti.tcpi_bytes_acked : 0;
	vfs_inst_unlock(in);
	room = limit > 0 && (uint64_t)limit > queued ?
	       (size_t)((uint64_t)limit - queued) : 1;
	chunk = len < room ? len : room;
	if (chunk > 65536)
		chunk = 65536;
	if (flags & SPLICE_F_NONBLOCK) {
		struct pollfd p = { .fd = in_fd, .events = POLLIN };
		struct timespec z = { 0, 0 };
		r = raw(SYS_ppoll, (long)&p, 1, (long)&z, 0, 8, 0);
		if (r == 0)
			return -EAGAIN;
	}
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	n = raw(SYS_read, in_fd, (long)buf, (long)chunk, 0, 0, 0);
	while (n > 0 && sent < (size_t)n) {
		struct iovec iov = { buf + sent, (size_t)n - sent };
		r = nf_send(in, s, fd, &iov, 1, MSG_DONTWAIT |
			    ((flags & SPLICE_F_MORE) ? MSG_MORE : 0), NULL);
		if (r > 0) {
			sent += (size_t)r;
			continue;
		}
		if (r != -EAGAIN)
			break; /* the connection is gone: so are the bytes */
		r = vfs_wait_sock(in, s, NS_EV_OUT, 0, -1, NULL);
		if (r < 0 && r != -EINTR)
			break;
	}
	free(buf);
	if (n <= 0)
		return n; /* 0: the pipe's writers are gone */
	return sent ? (long)sent : r;
}

/* splice(fd_in = netfuse stream socket, fd_out = kernel pipe): peek at
 * most what the pipe has room for (blocking as the socket's O_NONBLOCK
 * says, like Linux's tcp_splice_read), write it into the pipe, then
 * consume from the socket exactly what the pipe took: nothing is lost if
 * the pipe takes less. */
static long nf_splice_out(struct vfs_inst *in, struct vfs_sock *s, int fd,
			  const struct hook_call *c)
{
	int out_fd = (int)c->arg[2], inpipe = 0;
	size_t len = (size_t)c->arg[4], chunk;
	unsigned flags = (unsigned)c->arg[5];
	struct stat st;
	struct iovec iov;
	long r, w, room;
	char *buf;
	if (c->arg[1])
		return -ESPIPE; /* no offset on a socket */
	r = raw(SYS_fstat, out_fd, (long)&st, 0, 0, 0, 0);
	if (r < 0)
		return r;
	if (!S_ISFIFO(st.st_mode))
		return -EINVAL; /* as Linux: one end must be a pipe */
	if (c->arg[3])
		return -ESPIPE;
	if (s->type != SOCK_STREAM)
		return -EINVAL;
	if (len == 0)
		return 0;
	room = raw(SYS_fcntl, out_fd, F_GETPIPE_SZ, 0, 0, 0, 0);
	if (room <= 0)
		room = 65536;
	if (raw(SYS_ioctl, out_fd, FIONREAD, (long)&inpipe, 0, 0, 0) == 0 &&
	    inpipe > 0)
		room -= inpipe;
	if (room <= 0) { /* full pipe */
		if (flags & SPLICE_F_NONBLOCK)
			return -EAGAIN;
		room = PIPE_BUF; /* a blocking write this small waits, whole */
	}
	chunk = len < (size_t)room ? len : (size_t)room;
	if (chunk > 65536)
		chunk = 65536;
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	iov.iov_base = buf;
	iov.iov_len = chunk;
	r = nf_recv(in, s, fd, &iov, 1, MSG_PEEK, NULL, NULL, NULL);
	if (r <= 0) { /* 0: EOF */
		free(buf);
		return r;
	}
	w = raw(SYS_write, out_fd, (long)buf, r, 0, 0, 0);
	if (w > 0) { /* take from the socket what the pipe took */
		iov.iov_len = (size_t)w;
		(void)nf_recv(in, s, fd, &iov, 1, MSG_DONTWAIT, NULL, NULL,
			      NULL);
	}
	free(buf);
	return w;
}

static int is_pipe(int fd)
{
	struct stat st;
	return raw(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) == 0 &&
	       S_ISFIFO(st.st_mode);
}

/* splice's offsets in Linux's order (__do_splice): one on a pipe is
 * ESPIPE, then both are read (EFAULT), then one on the socket is ESPIPE
 * (no FMODE_PREAD/PWRITE); 0 when the call may go on */
static long splice_offsets(const struct hook_call *c)
{
	uint64_t off;
	if ((c->arg[1] && is_pipe((int)c->arg[0])) ||
	    (c->arg[3] && is_pipe((int)c->arg[2])))
		return -ESPIPE;
	if ((c->arg[3] && vfs_copy_in(&off, (void *)c->arg[3], 8) < 0) ||
	    (c->arg[1] && vfs_copy_in(&off, (void *)c->arg[1], 8) < 0))
		return -EFAULT;
	return 0;
}

/* splice() naming a netfuse socket on either side (from the hot path). */
long vfs_sys_splice(const struct hook_call *c)
{
	struct vfs_obj *oi = vfs_fd_get((int)c->arg[0]);
	struct vfs_obj *oo = vfs_fd_get((int)c->arg[2]);
	struct vfs_sock *s = oo && oo->kind == VFS_K_SOCK ?
			     (struct vfs_sock *)oo : NULL;
	long r = HOOK_PASSTHROUGH;
	int nf_in = oi && oi->kind == VFS_K_SOCK &&
		    ((struct vfs_sock *)oi)->route == VFS_R_NETFUSE;
	long e = 0;
	if ((nf_in || (s && s->route == VFS_R_NETFUSE)) &&
	    (c->arg[1] || c->arg[3]))
		e = splice_offsets(c);
	if (e < 0)
		r = e;
	else if (nf_in)
		r = !vfs_sock_inst((struct vfs_sock *)oi) ?
		    -EIO : nf_splice_out(vfs_sock_inst((struct vfs_sock *)oi),
				     (struct vfs_sock *)oi,
				  (int)c->arg[0], c);
	else if (s && s->route == VFS_R_NETFUSE)
		r = !vfs_sock_inst(s) ? -EIO :
		    nf_splice(vfs_sock_inst(s), s, (int)c->arg[2], c);
	if (oi)
		vfs_obj_put(oi);
	if (oo)
		vfs_obj_put(oo);
	return r;
}

/* A destination (sendto, sendmsg) of a decided UDP socket: 0 with *a
 * for the stack; HOOK_PASSTHROUGH: the kernel half of a dual socket
 * sends it (an address routed to the kernel, IPv6); or -errno. */
static long dest_of(struct vfs_sock *s, struct vfs_addr *a, long uaddr,
		    long len)
{
	int why, kind = vfs_addr_in(s->family, s->v6only, 0, a, uaddr, len);
	if (kind < 0)
		return kind;
	if (kind == VFS_A_KERNEL)
		return s->route == VFS_R_DUAL ? HOOK_PASSTHROUGH :
		       vfs_addr_refused(s->family, len);
	if (s->route == VFS_R_DUAL &&
	    vfs_route_decide_addr(&vfs_g.route, a, 0, &why) == VFS_TO_KERNEL)
		return HOOK_PASSTHROUGH;
	return 0;
}

/* An undecided socket's destination (connect, sendto): 0 with *a;
 * HOOK_PASSTHROUGH when the kernel takes the call; -EFAULT */
static long undecided_dest(struct vfs_sock *s, int fd, struct vfs_addr *a,
			   long uaddr, long len)
{
	int kind;
	s->v6only = vfs_addr_v6only(s->family, fd);
	kind = vfs_addr_in(s->family, s->v6only, 0, a, uaddr, len);
	if (kind == VFS_A_KERNEL)
		return HOOK_PASSTHROUGH;
	return kind < 0 ? kind : 0;
}

/* ---- msghdr helpers ------------------------------------------------------- */
/* A destination address Linux copies in before it looks at the socket
 * (move_addr_to_kernel), even where TCP then ignores it: 0, -EINVAL for
 * a length past sockaddr_storage, -EFAULT for memory not readable */
static long addr_readable(long uaddr, long len)
{
	if ((int)len < 0 || (unsigned long)(int)len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	if (len && !vfs_user_ok((const void *)uaddr, (size_t)len))
		return -EFAULT;
	return 0;
}

static long do_sendmsg(struct vfs_inst *in, struct vfs_sock *s, int fd,
		       const struct msghdr *m, int flags)
{
	struct vfs_addr to;
	const struct vfs_addr *top = NULL;
	if (!vfs_user_ok(m, sizeof(*m)))
		return -EFAULT;
	if (m->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	if (m->msg_name && m->msg_namelen) {
		if (s->type == SOCK_STREAM) {
			/* Linux reads it, then ignores it on TCP */
			long r = addr_readable((long)m->msg_name,
					       (long)m->msg_namelen);
			if (r < 0)
				return r;
			top = NULL;
		} else {
			long r = dest_of(s, &to, (long)m->msg_name,
					 (long)m->msg_namelen);
			if (r == HOOK_PASSTHROUGH)
				return raw(SYS_sendmsg, fd, (long)m, flags,
					   0, 0, 0);
			if (r < 0)
				return r;
			top = &to; /* a dual socket's kernel-routed ones
				    * went to its kernel half (dest_of) */
		}
	}
	if (m->msg_iovlen && !vfs_user_ok(m->msg_iov,
					  m->msg_iovlen * sizeof(struct iovec)))
		return -EFAULT;
	/* ancillary data: Linux copies it in whole before sending */
	if (m->msg_controllen > INT_MAX)
		return -ENOBUFS;
	if (m->msg_controllen && !vfs_user_ok(m->msg_control,
					      m->msg_controllen))
		return -EFAULT;
	return nf_send(in, s, fd, m->msg_iov, (int)m->msg_iovlen, flags, top);
}

static long do_recvmsg(struct vfs_inst *in, struct vfs_sock *s, int fd,
		       struct msghdr *m, int flags)
{
	struct vfs_addr from;
	int fk = 0;
	long r;
	size_t nl;
	if (!vfs_user_ok(m, sizeof(*m)))
		return -EFAULT;
	if (m->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	if (m->msg_iovlen && !vfs_user_ok(m->msg_iov,
					  m->msg_iovlen * sizeof(struct iovec)))
		return -EFAULT;
	memset(&from, 0, sizeof(from));
	r = nf_recv(in, s, fd, m->msg_iov, (int)m->msg_iovlen, flags,
		    s->type == SOCK_DGRAM ? &from : NULL, &fk, m);
	if (r < 0 || fk)
		return r;
	m->msg_controllen = 0;
	m->msg_flags = 0;
	if (s->type == SOCK_DGRAM && m->msg_name) {
		socklen_t full = from.len;
		nl = m->msg_namelen < full ? m->msg_namelen : full;
		memcpy(m->msg_name, &from.sa, nl);
		m->msg_namelen = full;
	} else {
		m->msg_namelen = 0;
	}
	return r;
}

/* ---- the entry ----------------------------------------------------------- */
/* a stack socket in a fork child of a process whose backend keeps its
 * state in its own memory (NF_BE_F_PRIVATE, lwIP) */
static long parents_socket(void)
{
	static int told;
	if (!told++)
		vfs_log(0, "NETFUSE_STACK=%s: this backend's sockets stay in "
			"the process that made them (pid %ld); fork child %ld "
			"cannot use them (EBADF). NETFUSE_STACK=netfuse "
			"shares them with fork children", vfs_backend_name(),
			vfs_g.stack_owner, vfs_g.pid);
	return -EBADF;
}

static long sock_call(const struct hook_call *c, struct vfs_sock *s)
{
	int fd = (int)c->arg[0];
	struct vfs_inst *in;
	struct iovec iov;
	struct vfs_addr a;
	long r;

	if (s->route == VFS_R_UNDECIDED) {
		switch (c->nr) {
		case SYS_bind:
			return undecided_bind(c, s, fd);
		case SYS_listen:
			return undecided_listen(c, s, fd);
		case SYS_setsockopt:
			return undecided_setsockopt(s, fd, c);
		case SYS_connect:
			r = undecided_dest(s, fd, &a, c->arg[1], c->arg[2]);
			if (r)
				return r;
			r = decide_by_dest(s, fd, &a);
			if (r)
				return r;
			break; /* now netfuse: connect below */
		case SYS_sendto:
			if (s->type != SOCK_DGRAM || !c->arg[4])
				return HOOK_PASSTHROUGH;
			r = undecided_dest(s, fd, &a, c->arg[4], c->arg[5]);
			if (r)
				return r;
			r = decide_by_dest(s, fd, &a);
			if (r)
				return r;
			break;
		default:
			return HOOK_PASSTHROUGH;
		}
	}
	in = vfs_sock_inst(s);
	if (!in)
		return -EIO;
	if (__builtin_expect(atomic_load_explicit(&vfs_g.inst_state,
			     memory_order_relaxed) == VFS_STACK_PARENTS, 0))
		return parents_socket();
	if (__builtin_expect(hook_tracing(), 0))
		hook_trace_note(in->label);
	if (vfs_g.ninst > 1 && in != vfs_inst_mine())
		atomic_fetch_add_explicit(&in->foreign_calls, 1,
					  memory_order_relaxed);

	switch (c->nr) {
	case SYS_read:
		iov.iov_base = (void *)c->arg[1];
		iov.iov_len = (size_t)c->arg[2];
		return nf_recv(in, s, fd, &iov, 1, 0, NULL, NULL, NULL);
	case SYS_readv:
		if (c->arg[2] > 0 && c->arg[2] <= IOV_MAX &&
		    !vfs_user_ok((void *)c->arg[1],
				 (size_t)c->arg[2] * sizeof(struct iovec)))
			return -EFAULT;
		return nf_recv(in, s, fd, (const struct iovec *)c->arg[1],
			       (int)c->arg[2], 0, NULL, NULL, NULL);
	case SYS_recvfrom: {
		struct vfs_addr from;
		struct msghdr km;
		int fk = 0;
		iov.iov_base = (void *)c->arg[1];
		iov.iov_len = (size_t)c->arg[2];
		memset(&km, 0, sizeof(km));
		km.msg_iov = &iov;
		km.msg_iovlen = 1;
		if (c->arg[4] && c->arg[5]) {
			int l;
			if (vfs_copy_in(&l, (void *)c->arg[5], sizeof(l)) < 0)
				return -EFAULT;
			km.msg_name = (void *)c->arg[4];
			km.msg_namelen = (socklen_t)l;
		}
		memset(&from, 0, sizeof(from));
		r = nf_recv(in, s, fd, &iov, 1, (int)c->arg[3],
			    s->type == SOCK_DGRAM ? &from : NULL, &fk, &km);
		if (r < 0)
			return r;
		if (fk) {
			int l = (int)km.msg_namelen;
			if (c->arg[5])
				(void)vfs_copy_out((void *)c->arg[5], &l, sizeof(l));
			return r;
		}
		if (vfs_addr_out(c->arg[4], c->arg[5], &from.sa, from.len,
				 s->type == SOCK_DGRAM) < 0)
			return -EFAULT;
		return r;
	}
	case SYS_recvmsg:
		return do_recvmsg(in, s, fd, (struct msghdr *)c->arg[1],
				  (int)c->arg[2]);
	case SYS_recvmmsg: {
		struct mmsghdr *v = (struct mmsghdr *)c->arg[1];
		unsigned n = (unsigned)c->arg[2], i;
		int flags = (int)c->arg[3];
		if (n > 1024)
			n = 1024;
		for (i = 0; i < n; i++) {
			r = do_recvmsg(in, s, fd, &v[i].msg_hdr, flags);
			if (r < 0)
				return i ? (long)i : r;
			v[i].msg_len = (unsigned)r;
			flags |= MSG_DONTWAIT;
		}
		return (long)i;
	}
	case SYS_write:
		iov.iov_base = (void *)c->arg[1];
		iov.iov_len = (size_t)c->arg[2];
		return nf_send(in, s, fd, &iov, 1, 0, NULL);
	case SYS_writev:
		if (c->arg[2] > 0 && c->arg[2] <= IOV_MAX &&
		    !vfs_user_ok((void *)c->arg[1],
				 (size_t)c->arg[2] * sizeof(struct iovec)))
			return -EFAULT;
		return nf_send(in, s, fd, (const struct iovec *)c->arg[1],
			       (int)c->arg[2], 0, NULL);
	case SYS_sendto: {
		const struct vfs_addr *top = NULL;
		iov.iov_base = (void *)c->arg[1];
		iov.iov_len = (size_t)c->arg[2];
		if (c->arg[4] && s->type == SOCK_STREAM) {
			/* read (EFAULT, EINVAL), then ignored, as Linux */
			r = addr_readable(c->arg[4], c->arg[5]);
			if (r < 0)
				return r;
		} else if (c->arg[4] && s->type == SOCK_DGRAM) {
			r = dest_of(s, &a, c->arg[4], c->arg[5]);
			if (r == HOOK_PASSTHROUGH)
				return hook_syscall_kernel(c);
			if (r < 0)
				return r;
			top = &a;
		}
		return nf_send(in, s, fd, &iov, 1, (int)c->arg[3], top);
	}
	case SYS_sendmsg:
		return do_sendmsg(in, s, fd, (const struct msghdr *)c->arg[1],
				  (int)c->arg[2]);
	case SYS_sendmmsg: {
		struct mmsghdr *v = (struct mmsghdr *)c->arg[1];
		unsigned n = (unsigned)c->arg[2], i;
		if (n > 1024)
			n = 1024;
		for (i = 0; i < n; i++) {
			r = do_sendmsg(in, s, fd, &v[i].msg_hdr, (int)c->arg[3]);
			if (r < 0)
				return i ? (long)i : r;
			v[i].msg_len = (unsigned)r;
		}
		return (long)i;
	}
	case SYS_connect: {
		int kind = vfs_addr_in(s->family, s->v6only, 0, &a, c->arg[1],
				       c->arg[2]), why;
		if (kind < 0)
			return kind;
		if (kind == VFS_A_KERNEL)
			return vfs_addr_refused(s->family, c->arg[2]);
		if (s->route == VFS_R_DUAL && s->type == SOCK_DGRAM) {
			/* a connected UDP socket has one peer: keep one half */
			if (vfs_route_decide_addr(&vfs_g.route, &a, 0, &why) ==
			    VFS_TO_KERNEL) {
				r = raw(SYS_connect, fd, c->arg[1], c->arg[2],
					0, 0, 0);
				if (r == 0) {
					long fl = raw(SYS_fcntl, fd, F_GETFL, 0,
						      0, 0, 0);
					if (fl >= 0) /* the program's view back */
						(void)raw(SYS_fcntl, fd, F_SETFL,
							  (fl & ~O_NONBLOCK) |
							  (atomic_load(&s->nonblock) ?
							   O_NONBLOCK : 0), 0, 0, 0);
					vfs_fd_remove(fd); /* kernel only now */
				}
				return r;
			}
			r = nf_connect(in, s, &a);
			if (r == 0)
				s->route = VFS_R_NETFUSE;
			return r;
		}
		return nf_connect(in, s, &a);
	}
	case SYS_bind:
		return -EINVAL; /* already bound */
	case SYS_listen:
		if (s->type != SOCK_STREAM)
			return -EOPNOTSUPP;
		vfs_inst_lock(in);
		r = s->sd < 0 ? -EBADF : in->be->listen(in->st, s->sd, (int)c->arg[1]);
		vfs_inst_unlock(in);
		if (r == 0)
			listen_replicas(s, (int)c->arg[1]);
		return r;
	case SYS_accept:
	case SYS_accept4:
		return nf_accept(in, s, fd, c);
	case SYS_shutdown:
		if (c->arg[1] < SHUT_RD || c->arg[1] > SHUT_RDWR)
			return -EINVAL;
		vfs_inst_lock(in);
		r = s->sd < 0 ? -EBADF :
		    in->be->shutdown(in->st, s->sd, (int)c->arg[1]);
		vfs_inst_timer_check(in);
		vfs_inst_unlock(in);
		if (s->route == VFS_R_DUAL)
			(void)raw(SYS_shutdown, fd, c->arg[1], 0, 0, 0, 0);
		return r;
	case SYS_getsockname:
	case SYS_getpeername:
		vfs_inst_lock(in);
		a.len = sizeof(a.sa);
		r = s->sd < 0 ? -EBADF : c->nr == SYS_getsockname ?
		    in->be->getsockname(in->st, s->sd, &a.sa.sa, &a.len) :
		    in->be->getpeername(in->st, s->sd, &a.sa.sa, &a.len);
		vfs_inst_unlock(in);
		if (r < 0)
			return r;
		return vfs_addr_out(c->arg[1], c->arg[2], &a.sa, a.len, 1);
	case SYS_getsockopt:
		if (s->family == AF_INET6 && c->arg[1] == IPPROTO_IPV6)
			return HOOK_PASSTHROUGH; /* the AF_INET6 placeholder's */
		return nf_getsockopt(in, s, c);
	case SYS_setsockopt:
		if (s->family == AF_INET6 && c->arg[1] == IPPROTO_IPV6)
			return HOOK_PASSTHROUGH;
		r = nf_setsockopt(in, s, fd, c);
		if (r == 0 && s->rsd)
			replicas_setopt(s, (int)c->arg[1], (int)c->arg[2]);
		return r;
	case SYS_ioctl:
		return nf_ioctl(in, s, c);
	case SYS_fcntl:
		return nf_fcntl(s, fd, c);
	case SYS_sendfile:
		return nf_sendfile(in, s, fd, c);
	}
	return HOOK_PASSTHROUGH;
}

/* A call on a socket of ours. While the socket may still move (with
 * several instances, an accepted connection with moves left, or a move
 * under way) the call is counted in s->users for its length, and the
 * socket may first move to the caller's instance (move.c); once it
 * cannot, calls go straight on (no atomic write). */
long vfs_sys_sock_call(const struct hook_call *c, struct vfs_sock *s)
{
	long r;
	if (vfs_g.ninst < 2 || (atomic_load(&s->may_move) == 0 &&
				atomic_load(&s->moving) == 0))
		return sock_call(c, s);
	atomic_fetch_add(&s->users, 1);
	while (atomic_load(&s->moving)) /* a few microseconds */
		(void)raw(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	if (atomic_load_explicit(&s->may_move, memory_order_relaxed) &&
	    vfs_sock_inst(s) != vfs_inst_mine())
		vfs_sock_move_try(s);
	r = sock_call(c, s);
	atomic_fetch_sub(&s->users, 1);
	return r;
}
