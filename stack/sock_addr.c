/*
 * sock_addr.c: socket addresses of both families. A program's
 * sockaddr_in / sockaddr_in6 <-> the (address, port) every socket keeps
 * (union ns_in46: IPv4 as ::ffff:a.b.c.d), and the IPv4-only calls
 * (struct sockaddr_in) as the AF_INET case of the ns_*_sa ones in sock.c.
 */
#include "stack/ns_priv.h"

#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>

/* Linux takes an AF_INET6 address without the trailing sin6_scope_id
 * (SIN6_LEN_RFC2133) */
#define NS_SIN6_MIN_LEN 24

int ns_sa_in(uint32_t sf, const union ns_sockaddr *a, socklen_t len,
	     union ns_in46 *ad, uint16_t *port_be)
{
	if (!a)
		return -EINVAL;
	if (!(sf & SF_INET6)) {
		if (len < sizeof(struct sockaddr_in))
			return -EINVAL;
		if (a->sa.sa_family != AF_INET)
			return -EAFNOSUPPORT;
		ns_in46_set4(ad, a->in.sin_addr.s_addr);
		*port_be = a->in.sin_port;
		return 0;
	}
	if (len < NS_SIN6_MIN_LEN)
		return -EINVAL;
	if (a->sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	memcpy(ad->b, &a->in6.sin6_addr, 16);
	*port_be = a->in6.sin6_port;
	return 0;
}

socklen_t ns_sa_out(uint32_t sf, const union ns_in46 *ad, uint16_t port_be,
		    union ns_sockaddr *out)
{
	if (!(sf & SF_INET6)) {
		memset(&out->in, 0, sizeof(out->in));
		out->in.sin_family = AF_INET;
		out->in.sin_addr.s_addr = ad->a4;
		out->in.sin_port = port_be;
		return sizeof(out->in);
	}
	memset(&out->in6, 0, sizeof(out->in6));
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = port_be;
	/* a dual socket's IPv4 wildcard reads as :: (Linux) */
	if (!(ns_in46_is4(ad) && ad->a4 == 0))
		memcpy(&out->in6.sin6_addr, ad->b, 16);
	return sizeof(out->in6);
}

int ns_addr_is_ours(const struct ns_stack *st, const union ns_in46 *a)
{
	if (ns_in46_is4(a))
		return a->a4 == st->ip_be && st->ip_be != 0;
	return ns_ip6_is_ours(st, a->b);
}

/* ---- IPv4 sockets ------------------------------------------------------ */
int ns_bind(struct ns_stack *st, int sd, const struct sockaddr_in *a)
{
	return ns_bind_sa(st, sd, (const union ns_sockaddr *)a,
			  sizeof(*a));
}

int ns_connect(struct ns_stack *st, int sd, const struct sockaddr_in *a)
{
	return ns_connect_sa(st, sd, (const union ns_sockaddr *)a,
			     sizeof(*a));
}

/* copy an AF_INET socket's answer (always a sockaddr_in) out */
static void put_in(struct sockaddr_in *dst, const union ns_sockaddr *u)
{
	if (dst)
		*dst = u->in;
}

int ns_accept(struct ns_stack *st, int sd, struct sockaddr_in *peer)
{
	union ns_sockaddr u;
	int rc = ns_accept_sa(st, sd, peer ? &u : NULL, NULL);
	if (rc >= 0)
		put_in(peer, &u);
	return rc;
}

ssize_t ns_sendmsg(struct ns_stack *st, int sd, const struct iovec *iov,
		   int iovcnt, int flags, const struct sockaddr_in *to)
{
	return ns_sendmsg_sa(st, sd, iov, iovcnt, flags,
			     (const union ns_sockaddr *)to,
			     to ? sizeof(*to) : 0);
}

ssize_t ns_recvmsg(struct ns_stack *st, int sd, const struct iovec *iov,
		   int iovcnt, int flags, struct sockaddr_in *from)
{
	union ns_sockaddr u;
	ssize_t r = ns_recvmsg_sa(st, sd, iov, iovcnt, flags,
				  from ? &u : NULL, NULL);
	if (r >= 0)
		put_in(from, &u);
	return r;
}

int ns_getsockname(struct ns_stack *st, int sd, struct sockaddr_in *a)
{
	union ns_sockaddr u;
	int rc = ns_getsockname_sa(st, sd, &u, NULL);
	if (rc == 0)
		put_in(a, &u);
	return rc;
}

int ns_getpeername(struct ns_stack *st, int sd, struct sockaddr_in *a)
{
	union ns_sockaddr u;
	int rc = ns_getpeername_sa(st, sd, &u, NULL);
	if (rc == 0)
		put_in(a, &u);
	return rc;
}

void ns_addr_str(const union ns_in46 *a, uint16_t port_be, char *buf,
		 size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	if (ns_in46_is4(a)) {
		inet_ntop(AF_INET, &a->a4, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ns_ntohs(port_be));
	} else {
		inet_ntop(AF_INET6, a->b, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ns_ntohs(port_be));
	}
}
