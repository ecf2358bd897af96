/*
 * addr.c: the program's socket addresses, read and written.
 *
 * The stack's sockets have the program's family, so an address goes to
 * it as the program gave it: sockaddr_in, or sockaddr_in6 for an
 * AF_INET6 socket, which is dual-stack as in Linux (IPV6_V6ONLY off,
 * the default): IPv4 peers and local addresses are IPv4-mapped,
 * ::ffff:a.b.c.d (RFC 4291 2.5.5.2, RFC 3493 3.7), and binding :: is
 * binding the IPv4 wildcard too. Routing (route.c) looks at the IPv4
 * address or the IPv6 one vfs_addr_in picks out (vfs/README.md,
 * "AF_INET6 sockets").
 *
 * Called by sock.c; uses dispatch.c's user-memory copies.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/syscall.h>

#include "vfs/vfs_priv.h"

/* SIN6_LEN_RFC2133: Linux accepts an AF_INET6 address without the
 * trailing sin6_scope_id (the RFC 2133 layout) */
#define SIN6_MIN_LEN 24

int vfs_addr_in(int fam, int v6only, int is_bind, struct vfs_addr *a,
		long uaddr, long len)
{
	struct sockaddr_in6 *a6 = &a->sa.in6;
	memset(a, 0, sizeof(*a));
	if (!uaddr)
		return VFS_A_KERNEL;
	if (fam != AF_INET6) {
		if (len < (long)sizeof(a->sa.in))
			return VFS_A_KERNEL;
		if (vfs_copy_in_safe(&a->sa.in, (void *)uaddr,
				     sizeof(a->sa.in)) < 0)
			return -EFAULT;
		if (a->sa.in.sin_family != AF_INET)
			return VFS_A_KERNEL;
		a->len = sizeof(a->sa.in);
		a->v4_be = a->sa.in.sin_addr.s_addr;
		a->port_be = a->sa.in.sin_port;
		return a->kind = VFS_A_V4;
	}
	if (len < SIN6_MIN_LEN)
		return VFS_A_KERNEL; /* EINVAL from the kernel */
	if (vfs_copy_in_safe(a6, (void *)uaddr, len < (long)sizeof(*a6) ?
			     (size_t)len : sizeof(*a6)) < 0)
		return -EFAULT;
	if (a6->sin6_family != AF_INET6)
		return VFS_A_KERNEL; /* AF_INET on an AF_INET6 socket, ... */
	a->len = sizeof(*a6);
	a->port_be = a6->sin6_port;
	a->v6 = a6->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		/* IPV6_V6ONLY: Linux refuses mapped addresses (bind EINVAL,
		 * connect ENETUNREACH); the kernel says which */
		if (v6only)
			return VFS_A_KERNEL;
		memcpy(&a->v4_be, &a6->sin6_addr.s6_addr[12], 4);
		return a->kind = VFS_A_V4;
	}
	/* bind(::) is the IPv4 wildcard too; connect(::) means ::1 in Linux */
	if (is_bind && !v6only && IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr))
		return a->kind = VFS_A_V4; /* both families' wildcard */
	return a->kind = VFS_A_V6;
}

void vfs_addr_wild(int fam, uint16_t port_be, struct vfs_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->port_be = port_be;
	a->kind = VFS_A_V4;
	if (fam == AF_INET6) {
		a->sa.in6.sin6_family = AF_INET6;
		a->sa.in6.sin6_port = port_be;
		a->len = sizeof(a->sa.in6);
	} else {
		a->sa.in.sin_family = AF_INET;
		a->sa.in.sin_port = port_be;
		a->len = sizeof(a->sa.in);
	}
}

int vfs_addr_refused(int fam, long len)
{
	long min = fam == AF_INET6 ? SIN6_MIN_LEN :
		   (long)sizeof(struct sockaddr_in);
	return len < min ? -EINVAL : -EAFNOSUPPORT;
}

int vfs_addr_out(long uaddr, long ulen, const union ns_sockaddr *sa,
		 socklen_t alen, int have)
{
	int len;
	if (!uaddr || !ulen)
		return 0;
	if (vfs_copy_in(&len, (void *)ulen, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (!have) {
		len = 0;
		return vfs_copy_out((void *)ulen, &len, sizeof(len));
	}
	/* Linux's way: copy what fits, report the full length */
	if (vfs_copy_out((void *)uaddr, sa, (size_t)len < alen ?
			 (size_t)len : alen) < 0)
		return -EFAULT;
	len = (int)alen;
	return vfs_copy_out((void *)ulen, &len, sizeof(len));
}

int vfs_addr_v6only(int fam, int fd)
{
	int v = 0;
	socklen_t ol = sizeof(v);
	if (fam != AF_INET6)
		return 0;
	if (hook_raw_syscall(SYS_getsockopt, fd, IPPROTO_IPV6, IPV6_V6ONLY,
			     (long)&v, (long)&ol, 0) < 0)
		return 1; /* unknown: leave the socket to the kernel */
	return v != 0;
}

int vfs_addr_wild_port(int fam, int fd, uint16_t *port_be)
{
	union ns_sockaddr b;
	socklen_t bl = sizeof(b);
	memset(&b, 0, sizeof(b));
	if (hook_raw_syscall(SYS_getsockname, fd, (long)&b, (long)&bl, 0, 0,
			     0) < 0)
		return 0;
	*port_be = b.in.sin_port; /* the same offset in both */
	if (fam != AF_INET6)
		return b.in.sin_family == AF_INET &&
		       b.in.sin_addr.s_addr == htonl(INADDR_ANY);
	/* [::], v6-only or not: the stack's half takes what the kernel's
	 * would (IPv6, and IPv4 unless v6-only) */
	return b.in6.sin6_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&b.in6.sin6_addr);
}
