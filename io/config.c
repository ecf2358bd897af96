/*
 * config.c: NETFUSE_ variables -> struct nf_io_config -> rte_eal_init argv.
 *
 * Pure C on purpose (no rte_*.h, no EAL): the parser reads variables
 * through a getenv-like callback and the argv builder takes the host facts
 * (pid, free hugepages, allowed CPUs) as input, so tests/io/test_config.c
 * checks both without a device. Called by io/port.c (nf_io_init) and by
 * hook/vfs through nf_io_config_from_env().
 *
 * Every bad value yields one line naming the variable and what is wrong,
 * and -EINVAL; nothing here exits or asserts on input.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"

#define DEFAULT_DEV      "--vdev=net_tap0,iface=nf0"
#define DEFAULT_ADDR     "198.18.0.2/24"
#define DEFAULT_TAP_ADDR "198.18.0.1/24"
/* RFC 5180's IPv6 benchmarking range */
#define DEFAULT_ADDR6     "2001:2::2/64"
#define DEFAULT_TAP_ADDR6 "2001:2::1/64"
#define DEFAULT_DESC     1024
#define HUGE_FREE_PATH "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

static const char *const ol_names[NF_IO_OL_COUNT] = {
	[NF_IO_OL_RX_CKSUM] = "NETFUSE_OFFLOAD_RX_CKSUM",
	[NF_IO_OL_TX_CKSUM] = "NETFUSE_OFFLOAD_TX_CKSUM",
	[NF_IO_OL_TSO] = "NETFUSE_OFFLOAD_TSO",
	[NF_IO_OL_MULTI_SEG] = "NETFUSE_OFFLOAD_MULTI_SEG",
	[NF_IO_OL_RSS] = "NETFUSE_OFFLOAD_RSS",
	[NF_IO_OL_RX_INTR] = "NETFUSE_OFFLOAD_RX_INTR",
};

/* offloads that have a software mode */
static const uint8_t ol_has_sw[NF_IO_OL_COUNT] = {
	[NF_IO_OL_TX_CKSUM] = 1, [NF_IO_OL_TSO] = 1,
	[NF_IO_OL_MULTI_SEG] = 1, [NF_IO_OL_RX_INTR] = 1,
};

__attribute__((format(printf, 2, 3)))
static int bad(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, NF_IO_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Copy s into dst (size n); -1 if it does not fit. */
static int copy_str(char *dst, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l >= n)
		return -1;
	memcpy(dst, s, l + 1);
	return 0;
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "a.b.c.d/len" or "a.b.c.d" (then /24); host part must not be all 0/1. */
static int parse_addr(const char *s, uint32_t *addr_be, uint8_t *plen)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long p = 24;
	struct in_addr a;
	uint32_t host, mask;

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return -1;
	if (slash && parse_uint(slash + 1, 1, 30, &p) < 0)
		return -1;
	host = ntohl(a.s_addr);
	mask = p == 0 ? 0 : 0xffffffffu << (32 - p);
	if ((host & ~mask) == 0 || (host & ~mask) == ~mask)
		return -1;  /* network or broadcast address */
	if ((host >> 24) == 0 || (host >> 24) == 127 || (host >> 28) >= 14)
		return -1;  /* 0/8, loopback, multicast, reserved */
	*addr_be = a.s_addr;
	*plen = (uint8_t)p;
	return 0;
}

/* "2001:2::2/64": a unicast global or unique-local IPv6 address (not
 * ::, ::1, multicast, link-local: that one comes from the MAC, or
 * IPv4-mapped) with a prefix length 1..128 (default 64). 0 or -1. */
static int parse_addr6(const char *s, uint8_t a[16], uint8_t *plen)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long p = 64;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[15];

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	if (slash && parse_uint(slash + 1, 1, 128, &p) < 0)
		return -1;
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	    memcmp(a, mapped, 12) == 0 ||
	    (memcmp(a, zero, 15) == 0 && a[15] <= 1))
		return -1;
	*plen = (uint8_t)p;
	return 0;
}

/* A bare PCI address "0000:01:00.0" or "01:00.0". */
static int is_pci_addr(const char *s)
{
	unsigned a, b, c, d;
	char tail;

	if (sscanf(s, "%x:%x:%x.%x%c", &a, &b, &c, &d, &tail) == 4)
		return 1;
	return sscanf(s, "%x:%x.%x%c", &b, &c, &d, &tail) == 3;
}

/* NETFUSE_QUEUES=auto (not the default, see below): one queue pair (one
 * stack instance) per CPU the process may run on (a server pinned to one CPU, as the benchmarks pin
 * theirs, gets one), at most NF_IO_AUTO_QUEUES_MAX; the device may allow
 * fewer (port.c caps it without a word). A memif gets 1: its queue pairs
 * must match its peer's, which a process cannot know; set the number
 * on both sides. */
static uint16_t auto_queues(const struct nf_io_config *c)
{
	cpu_set_t set;
	int n;
	if (strstr(c->dev, "net_memif"))
		return 1;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	if (n < 1)
		n = 1;
	if (n > NF_IO_AUTO_QUEUES_MAX)
		n = NF_IO_AUTO_QUEUES_MAX;
	return (uint16_t)n;
}

/* Normalise NETFUSE_DEV: "net_memif,role=server" -> "--vdev=net_memif,..."
 * and a bare PCI address -> "-a <addr>"; EAL options pass unchanged. */
static int parse_dev(struct nf_io_config *c, const char *s)
{
	const char *p;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return bad(c->err, "NETFUSE_DEV is empty: give EAL device "
			   "arguments, e.g. --vdev=net_tap0,iface=nf0");
	if (strchr(s, '\n') || strchr(s, '\''))
		return bad(c->err, "NETFUSE_DEV='%.64s': newline or quote "
			   "not allowed", s);
	if (s[0] == '-') {
		if (copy_str(c->dev, sizeof(c->dev), s) < 0)
			goto toolong;
	} else if (is_pci_addr(s)) {
		if ((size_t)snprintf(c->dev, sizeof(c->dev), "-a %s", s) >=
		    sizeof(c->dev))
			goto toolong;
	} else if (strncmp(s, "net_", 4) == 0 || strncmp(s, "eth_", 4) == 0) {
		if ((size_t)snprintf(c->dev, sizeof(c->dev), "--vdev=%s", s) >=
		    sizeof(c->dev))
			goto toolong;
	} else {
		return bad(c->err, "NETFUSE_DEV='%.64s': not EAL device "
			   "arguments (want --vdev=net_..., -a <pci>, "
			   "net_... or a PCI address)", s);
	}
	c->has_pci = 0;
	for (p = c->dev; *p; p++) {
		if (p != c->dev && !isspace((unsigned char)p[-1]))
			continue;
		if (strncmp(p, "-a", 2) == 0 || strncmp(p, "--allow", 7) == 0 ||
		    strncmp(p, "-w", 2) == 0 || is_pci_addr(p))
			c->has_pci = 1;
	}
	/* net_tap: learn the kernel interface name (iface=, default the
	 * driver's dtap<N>); we give it NETFUSE_TAP_ADDR. */
	c->tap_iface[0] = '\0';
	p = strstr(c->dev, "net_tap");
	if (p) {
		const char *i = strstr(p, "iface=");

		if (i) {
			size_t n = strcspn(i + 6, ", \t");

			if (n == 0 || n >= sizeof(c->tap_iface))
				return bad(c->err, "NETFUSE_DEV: iface= name "
					   "empty or longer than 15");
			memcpy(c->tap_iface, i + 6, n);
			c->tap_iface[n] = '\0';
		} else {
			snprintf(c->tap_iface, sizeof(c->tap_iface), "dtap0");
		}
	}
	return 0;
toolong:
	return bad(c->err, "NETFUSE_DEV: longer than %d bytes",
		   NF_IO_STR_MAX - 1);
}

static const char *get_or(nf_io_getenv_fn get, void *arg, const char *name,
			  const char *dflt)
{
	const char *v = get(arg, name);

	return v ? v : dflt;
}

int nf_io_config_parse(struct nf_io_config *c, nf_io_getenv_fn get,
		       void *arg)
{
	const char *v;
	unsigned long u;
	int i, r;

	memset(c, 0, sizeof(*c));

	v = get_or(get, arg, "NETFUSE_DEV", DEFAULT_DEV);
	if ((r = parse_dev(c, v)) < 0)
		return r;

	v = get_or(get, arg, "NETFUSE_ADDR", DEFAULT_ADDR);
	if (parse_addr(v, &c->addr_be, &c->prefix_len) < 0)
		return bad(c->err, "NETFUSE_ADDR='%.64s': want a unicast IPv4 "
			   "host address with prefix, e.g. 198.18.0.2/24", v);

	v = get_or(get, arg, "NETFUSE_TAP_ADDR", DEFAULT_TAP_ADDR);
	if (strcmp(v, "none") == 0) {
		c->tap_addr_be = 0;
	} else if (parse_addr(v, &c->tap_addr_be, &c->tap_prefix_len) < 0) {
		return bad(c->err, "NETFUSE_TAP_ADDR='%.64s': want the kernel "
			   "side's IPv4 address/prefix, e.g. 198.18.0.1/24, "
			   "or none", v);
	} else if (c->tap_addr_be == c->addr_be && c->tap_iface[0]) {
		return bad(c->err, "NETFUSE_TAP_ADDR='%.64s': same address as "
			   "NETFUSE_ADDR", v);
	}

	/* a tap whose kernel side is on another subnet reaches nothing */
	if (c->tap_iface[0] && c->tap_addr_be) {
		uint8_t pl = c->tap_prefix_len;
		uint32_t m = pl ? htonl(~0u << (32 - pl)) : 0;
		if ((c->addr_be & m) != (c->tap_addr_be & m)) {
			char a[INET_ADDRSTRLEN], t[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &c->addr_be, a, sizeof(a));
			inet_ntop(AF_INET, &c->tap_addr_be, t, sizeof(t));
			snprintf(c->warn, sizeof(c->warn), "NETFUSE_ADDR %s is "
				 "not in the subnet of the tap's kernel side "
				 "(NETFUSE_TAP_ADDR %s/%u): the kernel cannot "
				 "reach the stack; set NETFUSE_TAP_ADDR to an "
				 "address of NETFUSE_ADDR's subnet (or none)", a,
				 t, pl);
		}
	}

	v = get_or(get, arg, "NETFUSE_ADDR6", DEFAULT_ADDR6);
	if (strcmp(v, "none") != 0 &&
	    parse_addr6(v, c->addr6, &c->prefix6_len) < 0)
		return bad(c->err, "NETFUSE_ADDR6='%.64s': want a global IPv6 "
			   "unicast address with prefix, e.g. 2001:2::2/64, "
			   "or none", v);
	/* default routers: off-subnet destinations go through them */
	v = get_or(get, arg, "NETFUSE_GW", "none");
	if (strcmp(v, "none") != 0) {
		struct in_addr g;
		uint8_t pl = c->prefix_len;
		uint32_t m = pl ? htonl(~0u << (32 - pl)) : 0;
		if (inet_pton(AF_INET, v, &g) != 1 ||
		    (g.s_addr & m) != (c->addr_be & m) || g.s_addr == c->addr_be)
			return bad(c->err, "NETFUSE_GW='%.64s': want the IPv4 "
				   "address of a router in NETFUSE_ADDR's "
				   "subnet, or none", v);
		c->gw_be = g.s_addr;
	}
	v = get_or(get, arg, "NETFUSE_GW6", "none");
	if (strcmp(v, "none") != 0) {
		int ll = 0, ok = inet_pton(AF_INET6, v, c->gw6) == 1;
		unsigned k;
		if (ok)
			ll = c->gw6[0] == 0xfe && (c->gw6[1] & 0xc0) == 0x80;
		/* on the link: link-local, or in NETFUSE_ADDR6's prefix */
		for (k = 0; ok && !ll && k < c->prefix6_len; k++)
			if (((c->gw6[k / 8] ^ c->addr6[k / 8]) >> (7 - k % 8)) & 1)
				ok = 0;
		if (!ok || (!ll && !c->prefix6_len))
			return bad(c->err, "NETFUSE_GW6='%.64s': want the IPv6 "
				   "address of a router on the link (link-local, "
				   "or in NETFUSE_ADDR6's prefix), or none", v);
	}
	v = get_or(get, arg, "NETFUSE_TAP_ADDR6", DEFAULT_TAP_ADDR6);
	if (strcmp(v, "none") != 0 &&
	    parse_addr6(v, c->tap_addr6, &c->tap_prefix6_len) < 0)
		return bad(c->err, "NETFUSE_TAP_ADDR6='%.64s': want a global "
			   "IPv6 unicast address with prefix for the tap's "
			   "kernel side, e.g. 2001:2::1/64, or none", v);

	/* default 1, not auto: with several instances a multi-process
	 * server whose connections go through exec relays stalled (2-6 of
	 * 30 inetd-style connections, itest_procs; 0 with one), and on a
	 * machine whose cores the load generator shares auto cost memcached
	 * -t 2 a quarter (bench/README.md) */
	v = get_or(get, arg, "NETFUSE_QUEUES", "1");
	if (strcmp(v, "auto") == 0) {
		c->queues_auto = 1;
		c->nb_queues = auto_queues(c);
	} else if (parse_uint(v, 1, NF_IO_MAX_QUEUES, &u) < 0) {
		return bad(c->err, "NETFUSE_QUEUES='%.64s': want auto or a "
			   "number of queue pairs in 1..%d", v,
			   NF_IO_MAX_QUEUES);
	} else {
		c->nb_queues = (uint16_t)u;
	}

	v = get_or(get, arg, "NETFUSE_DESC", "1024");
	if (parse_uint(v, 64, 8192, &u) < 0 || (u & (u - 1)))
		return bad(c->err, "NETFUSE_DESC='%.64s': want a power of two "
			   "in 64..8192 (ring descriptors per queue)", v);
	c->nb_desc = (uint16_t)u;

	v = get_or(get, arg, "NETFUSE_MTU", "0");
	if (strcmp(v, "0") != 0 && parse_uint(v, 576, NF_IO_MTU_MAX, &u) < 0)
		return bad(c->err, "NETFUSE_MTU='%.64s': want an IPv4 MTU in "
			   "576..%d (9000 for jumbo frames), or 0 for the "
			   "device's", v, NF_IO_MTU_MAX);
	c->mtu = strcmp(v, "0") == 0 ? 0 : (uint16_t)u;

	v = get_or(get, arg, "NETFUSE_HUGE", "auto");
	if (strcmp(v, "auto") == 0)
		c->huge = NF_IO_HUGE_AUTO;
	else if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
		c->huge = NF_IO_HUGE_ON;
	else if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		c->huge = NF_IO_HUGE_OFF;
	else
		return bad(c->err, "NETFUSE_HUGE='%.64s': want auto, on or off",
			   v);

	v = get_or(get, arg, "NETFUSE_LOG", "warn");
	if (strcmp(v, "error") == 0)
		c->log = NF_IO_LOG_ERROR;
	else if (strcmp(v, "warn") == 0 || strcmp(v, "warning") == 0)
		c->log = NF_IO_LOG_WARN;
	else if (strcmp(v, "info") == 0)
		c->log = NF_IO_LOG_INFO;
	else if (strcmp(v, "debug") == 0)
		c->log = NF_IO_LOG_DEBUG;
	else /* a typo must not cost the stack: warn (the hook says so) */
		c->log = NF_IO_LOG_WARN;

	v = get_or(get, arg, "NETFUSE_EAL_ARGS", "");
	if (strchr(v, '\n') || strchr(v, '\''))
		return bad(c->err, "NETFUSE_EAL_ARGS: newline or quote not "
			   "allowed");
	if (strstr(v, "--no-telemetry"))
		return bad(c->err, "NETFUSE_EAL_ARGS: --no-telemetry would "
			   "break /netfuse/stats; leave it out");
	if (copy_str(c->eal_args, sizeof(c->eal_args), v) < 0)
		return bad(c->err, "NETFUSE_EAL_ARGS: longer than %d bytes",
			   NF_IO_STR_MAX - 1);

	v = get_or(get, arg, "NETFUSE_PCAP", "");
	if (copy_str(c->pcap, sizeof(c->pcap), v) < 0)
		return bad(c->err, "NETFUSE_PCAP: path longer than %d bytes",
			   NF_IO_STR_MAX - 1);

	for (i = 0; i < NF_IO_OL_COUNT; i++) {
		v = get_or(get, arg, ol_names[i], "1");
		if (strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
			c->ol[i] = NF_IO_OL_ON;
		else if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
			c->ol[i] = NF_IO_OL_OFF;
		else if (strcmp(v, "sw") == 0 && ol_has_sw[i])
			c->ol[i] = NF_IO_OL_SW;
		else
			return bad(c->err, "%s='%.32s': want 1 (on), 0 (off)%s",
				   ol_names[i], v,
				   ol_has_sw[i] ? " or sw (software only)" : "");
	}
	return 0;
}

static const char *env_get(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

int nf_io_config_from_env(struct nf_io_config *c)
{
	int r = nf_io_config_parse(c, env_get, NULL);

	if (r < 0)
		fprintf(stderr, "netfuse: %s\n", c->err);
	else if (c->warn[0] && c->log >= NF_IO_LOG_WARN)
		fprintf(stderr, "netfuse: %s\n", c->warn);
	return r;
}

/* ---- EAL argv ----------------------------------------------------------- */

struct argv_b {
	struct nf_io_argv *out;
	size_t used;
	int overflow;
};

static void push(struct argv_b *b, const char *s, size_t n)
{
	struct nf_io_argv *o = b->out;

	if (o->argc >= NF_IO_ARGV_MAX || b->used + n + 1 > sizeof(o->buf)) {
		b->overflow = 1;
		return;
	}
	memcpy(o->buf + b->used, s, n);
	o->buf[b->used + n] = '\0';
	o->argv[o->argc++] = o->buf + b->used;
	o->argv[o->argc] = NULL;
	b->used += n + 1;
}

__attribute__((format(printf, 2, 3)))
static void pushf(struct argv_b *b, const char *fmt, ...)
{
	char tmp[NF_IO_STR_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->overflow = 1;
		return;
	}
	push(b, tmp, (size_t)n);
}

/* Split on white space (no quoting: EAL device args never need it). */
static void push_words(struct argv_b *b, const char *s)
{
	while (*s) {
		size_t n;

		while (isspace((unsigned char)*s))
			s++;
		n = 0;
		while (s[n] && !isspace((unsigned char)s[n]))
			n++;
		if (n)
			push(b, s, n);
		s += n;
	}
}

static int has_word_prefix(const char *s, const char *w)
{
	const char *p = s;
	size_t n = strlen(w);

	while ((p = strstr(p, w)) != NULL) {
		if ((p == s || isspace((unsigned char)p[-1])))
			return 1;
		p += n;
	}
	return 0;
}

static const char *const log_names[] = {
	[NF_IO_LOG_ERROR] = "error", [NF_IO_LOG_WARN] = "warning",
	[NF_IO_LOG_INFO] = "info", [NF_IO_LOG_DEBUG] = "debug",
};

int nf_io_eal_argv(const struct nf_io_config *c, const struct nf_io_host *h,
		   struct nf_io_argv *out, char *err, size_t errlen)
{
	struct argv_b b = { .out = out };
	const char *extra = c->eal_args;

	memset(out, 0, sizeof(*out));
	push(&b, "netfuse", 7);
	/* One file prefix per process: two netfuse programs never share
	 * hugepage files or runtime dirs. */
	if (!has_word_prefix(extra, "--file-prefix"))
		pushf(&b, "--file-prefix=netfuse-%ld", (long)h->pid);
	/* A single lcore (the calling thread, main lcore 0) allowed on every
	 * CPU the program may use: EAL starts no worker threads and does not
	 * re-pin the program's thread. No service cores (-s not given). */
	if (!has_word_prefix(extra, "-l") && !has_word_prefix(extra, "--lcores")
	    && !has_word_prefix(extra, "-c")) {
		if (h->cpus[0])
			pushf(&b, "--lcores=0@(%s)", h->cpus);
		else
			push(&b, "--lcores=0", 10);
		push(&b, "--main-lcore=0", 14);
	}
	if (!c->has_pci && !has_word_prefix(extra, "--no-pci") &&
	    !has_word_prefix(extra, "-a") && !has_word_prefix(extra, "--allow"))
		push(&b, "--no-pci", 8);
	pushf(&b, "--log-level=%s", log_names[c->log]);
	/* net_tap reports missing optional kernel features (multiq qdisc,
	 * flow rules) as errors on every start; keep them for info/debug */
	if (c->log < NF_IO_LOG_INFO && strstr(c->dev, "net_tap"))
		push(&b, "--log-level=pmd.net.tap:critical", 32);
	/* and the telemetry library says "No legacy callbacks, legacy
	 * socket not created" on every start: a normal run prints nothing */
	if (c->log < NF_IO_LOG_INFO)
		push(&b, "--log-level=lib.telemetry:error", 31);

	switch (c->huge) {
	case NF_IO_HUGE_ON:
		if (h->free_hugepages == 0) {
			snprintf(err, errlen, "NETFUSE_HUGE=on but no 2 MB "
				 "hugepages are free; reserve some (echo 512 > "
				 "/sys/kernel/mm/hugepages/hugepages-2048kB/"
				 "nr_hugepages) or set NETFUSE_HUGE=auto");
			return -ENOMEM;
		}
		break;
	case NF_IO_HUGE_AUTO:
		if (h->free_hugepages == 0 &&
		    !has_word_prefix(extra, "--no-huge")) {
			out->no_huge = 1;
			out->warn_no_huge = 1;
		}
		break;
	case NF_IO_HUGE_OFF:
		out->no_huge = 1;
		break;
	}
	if (has_word_prefix(extra, "--no-huge"))
		out->no_huge = 1;
	else if (out->no_huge)
		push(&b, "--no-huge", 9);
	/* Leave no hugepage files behind, even if the program dies: unlink
	 * them once mapped. Not --in-memory / --no-shconf: both turn off
	 * EAL's multi-process channel, without which net_memif refuses to
	 * probe. The runtime dir (config, sockets) is removed by io/port.c
	 * at nf_io_fini() or exit. */
	if (!out->no_huge && !has_word_prefix(extra, "--in-memory") &&
	    !has_word_prefix(extra, "--huge-unlink"))
		push(&b, "--huge-unlink", 13);
	/* --no-huge gets 64 MB by default; size it from the pools. */
	if (out->no_huge && !has_word_prefix(extra, "-m") &&
	    !has_word_prefix(extra, "--socket-mem"))
		pushf(&b, "-m%u", h->mem_mb < 64 ? 64 : h->mem_mb);

	push_words(&b, c->dev);
	push_words(&b, extra);
	if (b.overflow) {
		snprintf(err, errlen, "NETFUSE_DEV + NETFUSE_EAL_ARGS: more "
			 "than %d EAL arguments or %zu bytes", NF_IO_ARGV_MAX,
			 sizeof(out->buf));
		return -E2BIG;
	}
	return 0;
}

/* Allowed CPUs as a list "0-3,6". */
static void cpus_string(char *s, size_t n)
{
	cpu_set_t set;
	size_t used = 0;
	int i, start = -1;

	s[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i <= CPU_SETSIZE; i++) {
		int in = i < CPU_SETSIZE && CPU_ISSET(i, &set);

		if (in && start < 0)
			start = i;
		if (!in && start >= 0) {
			int w = start == i - 1 ?
				snprintf(s + used, n - used, "%s%d",
					 used ? "," : "", start) :
				snprintf(s + used, n - used, "%s%d-%d",
					 used ? "," : "", start, i - 1);
			if (w < 0 || (size_t)w >= n - used) {
				s[0] = '\0';  /* too many ranges: let EAL pick */
				return;
			}
			used += (size_t)w;
			start = -1;
		}
	}
}

void nf_io_host_probe(struct nf_io_host *h, unsigned mem_mb)
{
	FILE *f;

	memset(h, 0, sizeof(*h));
	h->pid = getpid();
	h->mem_mb = mem_mb;
	h->free_hugepages = -1;
	f = fopen(HUGE_FREE_PATH, "re");
	if (f) {
		long v;

		if (fscanf(f, "%ld", &v) == 1)
			h->free_hugepages = v;
		fclose(f);
	} else {
		h->free_hugepages = 0;  /* no 2 MB hugepage support at all */
	}
	/* free pages we may not map (not root, hugetlbfs not writable) are
	 * as good as none: EAL would fail instead of falling back */
	if (h->free_hugepages > 0 && access("/dev/hugepages", W_OK) != 0)
		h->free_hugepages = 0;
	cpus_string(h->cpus, sizeof(h->cpus));
}

uint32_t nf_io_pool_size(uint16_t nb_queues, uint32_t bufs_per_queue,
			 uint16_t nb_desc, uint32_t cache)
{
	/* Per queue: what its stack instance holds, a full rx ring and a
	 * full tx ring in the driver, one burst of GSO segments in flight,
	 * and its own cache (up to 1.5x when full, DPDK's flush threshold).
	 * Plus the per-lcore cache of the main lcore. */
	uint64_t per_q = (uint64_t)bufs_per_queue + 2u * nb_desc + 64 +
			 cache * 3 / 2;
	uint64_t n = per_q * (nb_queues ? nb_queues : 1) + cache * 3 / 2;
	uint64_t p = 1;

	while (p - 1 < n)
		p <<= 1;
	if (p - 1 > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)(p - 1);
}
