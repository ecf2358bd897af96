/*
 * args.c: strace's rendering of argument kinds: flag sets (open, socket
 * type, MSG_*), names (address families, protocols, socket option levels
 * and names, shutdown), socket addresses, option values.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "trace/args.h"

struct flag { unsigned long v; const char *name; };

/* names of the bits set in v in table order, then the rest in hex; "0"
 * when nothing is set and zero has no name */
static void flags(struct out *o, unsigned long v, const struct flag *t,
		  size_t n)
{
	int any = 0;
	size_t i;
	for (i = 0; i < n; i++)
		if (t[i].v && (v & t[i].v) == t[i].v) {
			if (any)
				out_c(o, '|');
			out_s(o, t[i].name);
			v &= ~t[i].v;
			any = 1;
		}
	if (v || !any) {
		if (any)
			out_c(o, '|');
		out_x(o, v);
	}
}

static int name_of(struct out *o, long v, const struct flag *t, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if ((long)t[i].v == v) {
			out_s(o, t[i].name);
			return 1;
		}
	return 0;
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

void arg_open_flags(struct out *o, long v)
{
	static const struct flag t[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" },
		{ O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
		{ O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" },
		{ O_SYNC, "O_SYNC" }, { O_DSYNC, "O_DSYNC" },
		{ O_ASYNC, "O_ASYNC" }, { O_DIRECT, "O_DIRECT" },
		{ 0100000, "O_LARGEFILE" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
		{ O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" },
	};
	unsigned long f = (unsigned long)v;
	out_s(o, (f & 3) == 0 ? "O_RDONLY" : (f & 3) == 1 ? "O_WRONLY" :
		 (f & 3) == 2 ? "O_RDWR" : "O_ACCMODE");
	f &= ~3ul;
	if ((f & O_TMPFILE) == O_TMPFILE) {
		out_s(o, "|O_TMPFILE");
		f &= ~(unsigned long)O_TMPFILE;
	}
	if (f) {
		out_c(o, '|');
		flags(o, f, t, N(t));
	}
}

void arg_family(struct out *o, long v)
{
	static const struct flag t[] = {
		{ AF_UNIX, "AF_UNIX" }, { AF_INET, "AF_INET" },
		{ AF_INET6, "AF_INET6" }, { AF_NETLINK, "AF_NETLINK" },
		{ AF_PACKET, "AF_PACKET" }, { AF_UNSPEC, "AF_UNSPEC" },
	};
	if (!name_of(o, v, t, N(t)))
		out_d(o, v);
}

void arg_sock_type(struct out *o, long v)
{
	static const struct flag ty[] = {
		{ SOCK_STREAM, "SOCK_STREAM" }, { SOCK_DGRAM, "SOCK_DGRAM" },
		{ SOCK_RAW, "SOCK_RAW" }, { SOCK_SEQPACKET, "SOCK_SEQPACKET" },
	};
	static const struct flag fl[] = {
		{ SOCK_CLOEXEC, "SOCK_CLOEXEC" },
		{ SOCK_NONBLOCK, "SOCK_NONBLOCK" },
	};
	long base = v & 0xf, rest = v & ~0xfL;
	if (!name_of(o, base, ty, N(ty)))
		out_d(o, base);
	if (rest) {
		out_c(o, '|');
		flags(o, (unsigned long)rest, fl, N(fl));
	}
}

void arg_sock_flags(struct out *o, long v)
{
	static const struct flag fl[] = {
		{ SOCK_CLOEXEC, "SOCK_CLOEXEC" },
		{ SOCK_NONBLOCK, "SOCK_NONBLOCK" },
	};
	flags(o, (unsigned long)v, fl, N(fl));
}

void arg_protocol(struct out *o, long family, long v)
{
	static const struct flag t[] = {
		{ IPPROTO_IP, "IPPROTO_IP" }, { IPPROTO_TCP, "IPPROTO_TCP" },
		{ IPPROTO_UDP, "IPPROTO_UDP" }, { IPPROTO_ICMP, "IPPROTO_ICMP" },
	};
	if ((family != AF_INET && family != AF_INET6) ||
	    !name_of(o, v, t, N(t)))
		out_d(o, v);
}

void arg_msg_flags(struct out *o, long v)
{
	static const struct flag t[] = {
		{ MSG_OOB, "MSG_OOB" }, { MSG_PEEK, "MSG_PEEK" },
		{ MSG_DONTROUTE, "MSG_DONTROUTE" }, { MSG_TRUNC, "MSG_TRUNC" },
		{ MSG_DONTWAIT, "MSG_DONTWAIT" }, { MSG_WAITALL, "MSG_WAITALL" },
		{ MSG_NOSIGNAL, "MSG_NOSIGNAL" }, { MSG_MORE, "MSG_MORE" },
	};
	if (!v)
		out_c(o, '0');
	else
		flags(o, (unsigned long)v, t, N(t));
}

void arg_level(struct out *o, long v)
{
	static const struct flag t[] = {
		{ SOL_SOCKET, "SOL_SOCKET" }, { IPPROTO_TCP, "SOL_TCP" },
		{ IPPROTO_IP, "SOL_IP" }, { IPPROTO_IPV6, "SOL_IPV6" },
		{ IPPROTO_UDP, "SOL_UDP" },
	};
	if (!name_of(o, v, t, N(t)))
		out_d(o, v);
}

void arg_optname(struct out *o, long level, long v)
{
	static const struct flag so[] = {
		{ SO_DEBUG, "SO_DEBUG" }, { SO_REUSEADDR, "SO_REUSEADDR" },
		{ SO_TYPE, "SO_TYPE" }, { SO_ERROR, "SO_ERROR" },
		{ SO_BROADCAST, "SO_BROADCAST" }, { SO_SNDBUF, "SO_SNDBUF" },
		{ SO_RCVBUF, "SO_RCVBUF" }, { SO_KEEPALIVE, "SO_KEEPALIVE" },
		{ SO_LINGER, "SO_LINGER" }, { SO_REUSEPORT, "SO_REUSEPORT" },
		{ SO_RCVLOWAT, "SO_RCVLOWAT" }, { SO_RCVTIMEO, "SO_RCVTIMEO" },
		{ SO_SNDTIMEO, "SO_SNDTIMEO" }, { SO_ACCEPTCONN, "SO_ACCEPTCONN" },
	};
	static const struct flag tcp[] = {
		{ TCP_NODELAY, "TCP_NODELAY" }, { TCP_MAXSEG, "TCP_MAXSEG" },
		{ TCP_CORK, "TCP_CORK" }, { TCP_KEEPIDLE, "TCP_KEEPIDLE" },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL" }, { TCP_KEEPCNT, "TCP_KEEPCNT" },
		{ TCP_INFO, "TCP_INFO" }, { TCP_QUICKACK, "TCP_QUICKACK" },
	};
	static const struct flag v6[] = { { IPV6_V6ONLY, "IPV6_V6ONLY" } };
	int ok = level == SOL_SOCKET ? name_of(o, v, so, N(so)) :
		 level == IPPROTO_TCP ? name_of(o, v, tcp, N(tcp)) :
		 level == IPPROTO_IPV6 ? name_of(o, v, v6, N(v6)) : 0;
	if (!ok)
		out_d(o, v);
}

void arg_shutdown(struct out *o, long v)
{
	static const struct flag t[] = {
		{ SHUT_RD, "SHUT_RD" }, { SHUT_WR, "SHUT_WR" },
		{ SHUT_RDWR, "SHUT_RDWR" },
	};
	if (!name_of(o, v, t, N(t)))
		out_d(o, v);
}

/* an int the program's pointer points at: [1] (or the pointer) */
void arg_int_ptr(struct out *o, long p)
{
	int v;
	if (!p || user_read(&v, p, sizeof(v)) < 0) {
		out_ptr(o, p);
		return;
	}
	out_c(o, '[');
	out_d(o, v);
	out_c(o, ']');
}

static void ip4(struct out *o, const unsigned char *a)
{
	int i;
	for (i = 0; i < 4; i++) {
		if (i)
			out_c(o, '.');
		out_u(o, a[i]);
	}
}

static void ip6(struct out *o, const unsigned char *a)
{
	/* RFC 5952: the longest run of zero groups (2+) as :: */
	unsigned g[8];
	int i, best = -1, blen = 0, cur = -1, clen = 0;
	for (i = 0; i < 8; i++) {
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (!g[i]) {
			if (cur < 0)
				cur = i, clen = 0;
			if (++clen > blen)
				best = cur, blen = clen;
		} else {
			cur = -1;
		}
	}
	if (blen < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			out_s(o, "::");
			i += blen - 1;
			continue;
		}
		if (i && i != best + blen)
			out_c(o, ':');
		{
			char t[5];
			int k = 0;
			unsigned v = g[i];
			do {
				t[k++] = "0123456789abcdef"[v & 15];
				v >>= 4;
			} while (v);
			while (k)
				out_c(o, t[--k]);
		}
	}
}

void arg_sockaddr(struct out *o, long p, long len)
{
	unsigned char a[128];
	unsigned short fam;
	if (!p) {
		out_s(o, "NULL");
		return;
	}
	if (len < 2 || len > (long)sizeof(a) || user_read(a, p, (size_t)len) < 0) {
		out_ptr(o, p);
		return;
	}
	fam = (unsigned short)(a[0] | a[1] << 8);
	out_s(o, "{sa_family=");
	arg_family(o, fam);
	if (fam == AF_INET && len >= 16) {
		out_s(o, ", sin_port=htons(");
		out_u(o, (unsigned)a[2] << 8 | a[3]);
		out_s(o, "), sin_addr=inet_addr(\"");
		ip4(o, a + 4);
		out_s(o, "\")}");
	} else if (fam == AF_INET6 && len >= 28) {
		unsigned long fl = (unsigned long)a[4] << 24 | a[5] << 16 |
				   a[6] << 8 | a[7];
		unsigned long sc = a[24] | a[25] << 8 | a[26] << 16 |
				   (unsigned long)a[27] << 24;
		out_s(o, ", sin6_port=htons(");
		out_u(o, (unsigned)a[2] << 8 | a[3]);
		out_s(o, "), sin6_flowinfo=htonl(");
		out_u(o, fl);
		out_s(o, "), inet_pton(AF_INET6, \"");
		ip6(o, a + 8);
		out_s(o, "\", &sin6_addr), sin6_scope_id=");
		out_u(o, sc);
		out_c(o, '}');
	} else if (fam == AF_UNIX) {
		long k, n = len - 2;
		out_s(o, ", sun_path=");
		for (k = 0; k < n && a[2 + k]; k++)
			;
		out_buf(o, p + 2, k);
		out_c(o, '}');
	} else {
		out_s(o, ", ...}");
	}
}
