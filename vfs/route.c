/*
 * route.c: which AF_INET / AF_INET6 sockets go to the user-space stack.
 *
 * DESIGN.md "What goes to the user-space stack". A socket is decided when
 * its address becomes known: at bind (local address) or at connect /
 * first sendto (destination). Until then it is an ordinary kernel socket.
 *
 * IPv6 (vfs_route_decide6) the same way: ::1 and fe80::/10 -> kernel,
 * port rules, then :: / NETFUSE_ADDR6 at bind and its prefix at connect.
 *
 * Fixed: 127.0.0.0/8 -> kernel (not overridable). Then the NETFUSE_ROUTE
 * rules, first match wins. Then the default:
 *   bind    INADDR_ANY            -> netfuse (made dual: user stack + kernel)
 *           the netfuse address   -> netfuse
 *           any other address     -> kernel (it is a kernel interface's)
 *   connect in the netfuse subnet -> netfuse, else kernel
 *
 * NETFUSE_ROUTE syntax: rules separated by ',' ; each is
 *   ACTION:MATCH[+MATCH...]
 * ACTION is `kernel` or `netfuse`; MATCH is `all`, `port=N`, `port=N-M`
 * (the local port at bind, the remote port at connect/sendto) or
 * `addr=A.B.C.D[/LEN]` (the bound address or the destination). Example:
 *   NETFUSE_ROUTE=kernel:port=22,netfuse:addr=198.19.0.0/16
 *
 * Every socket sent to the kernel for a reason other than "it was never
 * an AF_INET TCP/UDP socket" bumps vfs_g.fallbacks[reason]; the first of
 * each reason is logged at warn level, every one at info level.
 * Called by sock.c; pure except for vfs_fallback_note().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "vfs/vfs_priv.h"

const char *const vfs_fallback_names[] = {
#define VFS_X_NAME(n) #n,
	VFS_FALLBACKS(VFS_X_NAME)
#undef VFS_X_NAME
};

static uint32_t prefix_mask_be(unsigned len)
{
	return len == 0 ? 0 : htonl(0xffffffffu << (32 - len));
}

static int parse_match(struct vfs_route_rule *r, const char *m, size_t n,
		       char *err, size_t errlen)
{
	char buf[64];
	if (n >= sizeof(buf))
		goto bad;
	memcpy(buf, m, n);
	buf[n] = 0;
	if (!strcmp(buf, "all"))
		return 0;
	if (!strncmp(buf, "port=", 5)) {
		char *end;
		unsigned long lo = strtoul(buf + 5, &end, 10), hi = lo;
		if (end == buf + 5)
			goto bad;
		if (*end == '-') {
			char *e2;
			hi = strtoul(end + 1, &e2, 10);
			if (e2 == end + 1 || *e2)
				goto bad;
		} else if (*end) {
			goto bad;
		}
		if (lo > 65535 || hi > 65535 || lo > hi)
			goto bad;
		r->port_lo = (uint16_t)lo;
		r->port_hi = (uint16_t)hi;
		return 0;
	}
	if (!strncmp(buf, "addr=", 5)) {
		char *slash = strchr(buf + 5, '/');
		unsigned long len = 32;
		struct in_addr a;
		if (slash) {
			char *end;
			*slash = 0;
			len = strtoul(slash + 1, &end, 10);
			if (end == slash + 1 || *end || len > 32)
				goto bad;
		}
		if (inet_pton(AF_INET, buf + 5, &a) != 1)
			goto bad;
		r->mask_be = prefix_mask_be((unsigned)len);
		r->net_be = a.s_addr & r->mask_be;
		if (!r->mask_be)
			r->net_be = 0;
		return 0;
	}
bad:
	snprintf(err, errlen, "NETFUSE_ROUTE: bad match '%.*s' (want all, "
		 "port=N[-M] or addr=A.B.C.D[/LEN])", (int)(n > 40 ? 40 : n), m);
	return -EINVAL;
}

int vfs_route_parse(struct vfs_route_cfg *rc, const char *spec, char *err,
		    size_t errlen)
{
	const char *p = spec;
	rc->nrules = 0;
	if (!spec || !*spec)
		return 0;
	while (*p) {
		const char *end = strchr(p, ','), *colon, *m;
		struct vfs_route_rule *r;
		size_t n;
		if (!end)
			end = p + strlen(p);
		if (end == p) {
			p++;
			continue;
		}
		if (rc->nrules == VFS_ROUTE_MAX) {
			snprintf(err, errlen, "NETFUSE_ROUTE: more than %d rules",
				 VFS_ROUTE_MAX);
			return -EINVAL;
		}
		r = &rc->rules[rc->nrules];
		memset(r, 0, sizeof(*r));
		r->port_hi = 65535;
		colon = memchr(p, ':', (size_t)(end - p));
		n = colon ? (size_t)(colon - p) : 0;
		if (colon && n == 6 && !strncmp(p, "kernel", 6))
			r->action = VFS_TO_KERNEL;
		else if (colon && n == 7 && !strncmp(p, "netfuse", 7))
			r->action = VFS_TO_NETFUSE;
		else {
			snprintf(err, errlen, "NETFUSE_ROUTE: rule '%.*s' must "
				 "start with kernel: or netfuse:",
				 (int)((end - p) > 40 ? 40 : (end - p)), p);
			return -EINVAL;
		}
		m = colon + 1;
		while (m < end) {
			const char *plus = memchr(m, '+', (size_t)(end - m));
			const char *me = plus ? plus : end;
			int e = parse_match(r, m, (size_t)(me - m), err, errlen);
			if (e < 0)
				return e;
			m = me + (plus ? 1 : 0);
		}
		if (m == colon + 1) {
			snprintf(err, errlen, "NETFUSE_ROUTE: rule with no match "
				 "(use all)");
			return -EINVAL;
		}
		rc->nrules++;
		p = *end ? end + 1 : end;
	}
	return 0;
}

int vfs_route_decide(const struct vfs_route_cfg *rc, uint32_t addr_be,
		     uint16_t port_be, int is_bind, int *why)
{
	uint16_t port = ntohs(port_be);
	int i;
	*why = -1;
	if ((ntohl(addr_be) >> 24) == 127) {
		*why = VFS_FB_loopback;
		return VFS_TO_KERNEL;
	}
	for (i = 0; i < rc->nrules; i++) {
		const struct vfs_route_rule *r = &rc->rules[i];
		if ((addr_be & r->mask_be) != r->net_be)
			continue;
		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (r->action == VFS_TO_KERNEL)
			*why = VFS_FB_rule;
		return r->action;
	}
	if (is_bind) {
		if (addr_be == htonl(INADDR_ANY) || addr_be == rc->ip_be)
			return VFS_TO_NETFUSE;
	} else if (rc->mask_be && (addr_be & rc->mask_be) ==
		   (rc->ip_be & rc->mask_be) && addr_be != rc->ip_be) {
		return VFS_TO_NETFUSE;
	}
	*why = VFS_FB_other_addr;
	return VFS_TO_KERNEL;
}

/* a6 in prefix (p, len)? */
static int in_prefix6(const struct in6_addr *a6, const struct in6_addr *p,
		      unsigned len)
{
	unsigned i;
	for (i = 0; i < len / 8; i++)
		if (a6->s6_addr[i] != p->s6_addr[i])
			return 0;
	if (len % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - len % 8));
		return (a6->s6_addr[i] & m) == (p->s6_addr[i] & m);
	}
	return 1;
}

int vfs_route_decide6(const struct vfs_route_cfg *rc,
		      const struct in6_addr *a6, uint16_t port_be,
		      int is_bind, int *why)
{
	uint16_t port = ntohs(port_be);
	int i;
	*why = -1;
	if (IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_LINKLOCAL(a6) ||
	    (!is_bind && IN6_IS_ADDR_UNSPECIFIED(a6))) {
		*why = VFS_FB_loopback; /* connect(::) is ::1 in Linux */
		return VFS_TO_KERNEL;
	}
	for (i = 0; i < rc->nrules; i++) {
		const struct vfs_route_rule *r = &rc->rules[i];
		if (r->mask_be)
			continue; /* an IPv4 address rule */
		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (r->action == VFS_TO_KERNEL)
			*why = VFS_FB_rule;
		return r->action;
	}
	if (!rc->has_ip6) {
		*why = VFS_FB_ipv6; /* NETFUSE_ADDR6=none */
		return VFS_TO_KERNEL;
	}
	if (is_bind) {
		if (IN6_IS_ADDR_UNSPECIFIED(a6) ||
		    !memcmp(a6, &rc->ip6, sizeof(*a6)))
			return VFS_TO_NETFUSE;
	} else if (in_prefix6(a6, &rc->ip6, rc->prefix6_len) &&
		   memcmp(a6, &rc->ip6, sizeof(*a6))) {
		return VFS_TO_NETFUSE;
	}
	*why = VFS_FB_other_addr;
	return VFS_TO_KERNEL;
}

int vfs_route_decide_addr(const struct vfs_route_cfg *rc,
			  const struct vfs_addr *a, int is_bind, int *why)
{
	if (a->kind == VFS_A_V6)
		return vfs_route_decide6(rc, &a->v6, a->port_be, is_bind, why);
	return vfs_route_decide(rc, a->v4_be, a->port_be, is_bind, why);
}

/* quiet: never a warning (an expected fallback: the routing rule) */
static void note(int why, int fd, const char *a, uint16_t port_be, int quiet)
{
	unsigned long long n = atomic_fetch_add(&vfs_g.fallbacks[why], 1);
	int first = n == 0 && !quiet;
	vfs_log(first ? 1 : 2, "fd %d (%s:%u) uses the kernel stack: %s%s",
		fd, a, ntohs(port_be), vfs_fallback_names[why],
		first ? " (later ones at NETFUSE_LOG=info)" : "");
}

void vfs_fallback_note(int why, int fd, uint32_t addr_be, uint16_t port_be)
{
	char a[INET_ADDRSTRLEN] = "?";
	if (why < 0 || why >= VFS_FB_COUNT)
		why = VFS_FB_unsupported;
	inet_ntop(AF_INET, &addr_be, a, sizeof(a));
	/* where the routing rule sends a socket (loopback, another
	 * network, a NETFUSE_ROUTE rule) is normal: info level, so a normal
	 * run prints nothing; a failure to put it on the stack warns */
	note(why, fd, a, port_be, why == VFS_FB_loopback ||
	     why == VFS_FB_other_addr || why == VFS_FB_rule ||
	     why == VFS_FB_no_instance /* its cause had its own line */);
}

void vfs_fallback_note6(int why, int fd, const struct in6_addr *a6,
			uint16_t port_be)
{
	char a[INET6_ADDRSTRLEN + 2] = "[?]";
	if (why < 0 || why >= VFS_FB_COUNT)
		why = VFS_FB_unsupported;
	if (inet_ntop(AF_INET6, a6, a + 1, INET6_ADDRSTRLEN)) {
		a[0] = '[';
		strcat(a, "]");
	}
	note(why, fd, a, port_be, why == VFS_FB_loopback ||
	     why == VFS_FB_other_addr || why == VFS_FB_rule ||
	     why == VFS_FB_ipv6 || why == VFS_FB_no_instance);
}
