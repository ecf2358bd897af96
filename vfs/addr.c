/*
 * addr.c: the program's socket addresses <-> the stack's.
 *
 * The stack speaks IPv4 (struct sockaddr_in). A program's AF_INET6 socket
 * reaches it as a dual-stack socket (IPV6_V6ONLY off, Linux's default):
 * IPv4 peers and local addresses appear as IPv4-mapped IPv6 addresses,
 * ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2; RFC 3493 section 3.7), and
 * binding :: is binding the IPv4 wildcard too. A real IPv6 address (and
 * every address of an IPV6_V6ONLY socket) stays on the kernel's stack
 * until stack/ speaks IPv6 (see vfs/README.md, "AF_INET6 sockets").
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

int vfs_addr_in(int fam, int v6only, int is_bind, struct sockaddr_in *a,
		long uaddr, long len, struct in6_addr *a6_out)
{
	struct sockaddr_in6 a6;
	if (!uaddr)
		return VFS_A_KERNEL;
	if (fam != AF_INET6) {
		if (len < (long)sizeof(*a))
			return VFS_A_KERNEL;
		if (vfs_copy_in_safe(a, (void *)uaddr, sizeof(*a)) < 0)
			return -EFAULT;
		return a->sin_family == AF_INET ? VFS_A_V4 : VFS_A_KERNEL;
	}
	if (len < SIN6_MIN_LEN)
		return VFS_A_KERNEL; /* EINVAL from the kernel */
	memset(&a6, 0, sizeof(a6));
	if (vfs_copy_in_safe(&a6, (void *)uaddr, len < (long)sizeof(a6) ?
			     (size_t)len : sizeof(a6)) < 0)
		return -EFAULT;
	if (a6.sin6_family != AF_INET6)
		return VFS_A_KERNEL; /* AF_INET on an AF_INET6 socket, ... */
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = a6.sin6_port;
	if (a6_out)
		*a6_out = a6.sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
		/* IPV6_V6ONLY: Linux refuses mapped addresses (bind EINVAL,
		 * connect ENETUNREACH); the kernel says which */
		if (v6only)
			return VFS_A_KERNEL;
		memcpy(&a->sin_addr, &a6.sin6_addr.s6_addr[12], 4);
		return VFS_A_V4;
	}
	/* bind(::) is the IPv4 wildcard too; connect(::) means ::1 in Linux */
	if (is_bind && !v6only && IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr))
		return VFS_A_V4; /* 0.0.0.0 */
	return VFS_A_V6;
}

int vfs_addr_refused(int fam, long len)
{
	long min = fam == AF_INET6 ? SIN6_MIN_LEN :
		   (long)sizeof(struct sockaddr_in);
	return len < min ? -EINVAL : -EAFNOSUPPORT;
}

socklen_t vfs_addr_make(int fam, const struct sockaddr_in *a,
			union vfs_sa *out)
{
	if (fam != AF_INET6) {
		out->v4 = *a;
		return sizeof(out->v4);
	}
	memset(&out->v6, 0, sizeof(out->v6));
	out->v6.sin6_family = AF_INET6;
	out->v6.sin6_port = a->sin_port;
	if (a->sin_addr.s_addr != htonl(INADDR_ANY)) { /* else :: */
		out->v6.sin6_addr.s6_addr[10] = 0xff;
		out->v6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->v6.sin6_addr.s6_addr[12], &a->sin_addr, 4);
	}
	return sizeof(out->v6);
}

int vfs_addr_out(int fam, long uaddr, long ulen, const struct sockaddr_in *a,
		 int have)
{
	union vfs_sa sa;
	socklen_t full;
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
	full = vfs_addr_make(fam, a, &sa);
	/* Linux's way: copy what fits, report the full length */
	if (vfs_copy_out((void *)uaddr, &sa, (size_t)len < full ?
			 (size_t)len : full) < 0)
		return -EFAULT;
	len = (int)full;
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
	union vfs_sa b;
	socklen_t bl = sizeof(b);
	memset(&b, 0, sizeof(b));
	if (hook_raw_syscall(SYS_getsockname, fd, (long)&b, (long)&bl, 0, 0,
			     0) < 0)
		return 0;
	*port_be = b.v4.sin_port; /* the same offset in both */
	if (fam != AF_INET6)
		return b.v4.sin_family == AF_INET &&
		       b.v4.sin_addr.s_addr == htonl(INADDR_ANY);
	return b.v6.sin6_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&b.v6.sin6_addr) &&
	       !vfs_addr_v6only(fam, fd);
}
