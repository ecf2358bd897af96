/*
 * lw_addr.c: the program's addresses (sockaddr_in, sockaddr_in6 in the
 * socket's family) to lwIP's ip_addr_t and back. An AF_INET6 socket
 * takes ::ffff:a.b.c.d as IPv4 and shows IPv4 peers so, as Linux does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "backends/lwip/lw_priv.h"

static const uint8_t mapped_pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0xff, 0xff };

int lw_addr_in(const struct lw_sock *s, const struct sockaddr *a,
	       socklen_t len, ip_addr_t *ip, uint16_t *port)
{
	if (!a)
		return -EFAULT;
	if (s->family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)a;
		if (len < (socklen_t)sizeof(*sin))
			return -EINVAL;
		if (sin->sin_family != AF_INET)
			return -EAFNOSUPPORT;
		ip_addr_set_ip4_u32_val(*ip, sin->sin_addr.s_addr);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	{
		const struct sockaddr_in6 *s6 = (const void *)a;
		const uint8_t *b = s6->sin6_addr.s6_addr;
		uint32_t w[4];
		if (len < (socklen_t)sizeof(*s6))
			return -EINVAL;
		if (s6->sin6_family != AF_INET6)
			return -EAFNOSUPPORT;
		*port = ntohs(s6->sin6_port);
		if (!memcmp(b, mapped_pfx, 12)) {
			uint32_t v4;
			if (s->v6only)
				return -EINVAL;
			memcpy(&v4, b + 12, 4);
			ip_addr_set_ip4_u32_val(*ip, v4);
			return 0;
		}
		memcpy(w, b, 16);
		IP_ADDR6(ip, w[0], w[1], w[2], w[3]);
		return 0;
	}
}

void lw_addr_out(const struct lw_sock *s, const ip_addr_t *ip,
		 uint16_t port, struct sockaddr *a, socklen_t *len)
{
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t n;
	memset(&u, 0, sizeof(u));
	if (s->family == AF_INET) {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons(port);
		u.in.sin_addr.s_addr = ip && IP_IS_V4(ip) ?
				       ip4_addr_get_u32(ip_2_ip4(ip)) : 0;
		n = sizeof(u.in);
	} else {
		uint8_t *b = u.in6.sin6_addr.s6_addr;
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons(port);
		if (ip && IP_IS_V6_VAL(*ip)) {
			memcpy(b, ip_2_ip6(ip)->addr, 16);
		} else if (ip && !lw_addr_is_any(ip)) {
			uint32_t v4 = ip4_addr_get_u32(ip_2_ip4(ip));
			memcpy(b, mapped_pfx, 12);
			memcpy(b + 12, &v4, 4);
		}
		n = sizeof(u.in6);
	}
	if (a && len) {
		memcpy(a, &u, *len < n ? *len : n);
		*len = n;
	}
}

int lw_addr_is_any(const ip_addr_t *ip)
{
	if (IP_IS_V6_VAL(*ip))
		return ip6_addr_isany(ip_2_ip6(ip));
	return ip4_addr_get_u32(ip_2_ip4(ip)) == 0;
}
