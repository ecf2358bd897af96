/*
 * itest_tap.c: io/ over the default net_tap device (kernel side nf0,
 * 198.18.0.1/24), answering ARP and ICMP echo for 198.18.0.2 with the
 * test's own responder (tests/io/responder.h), then checking that every
 * buffer came back to the pool. Needs root (tap device, netns).
 *
 *   itest_tap               self-contained: unshare a new network
 *                           namespace, start io/ with --no-huge, ping
 *                           198.18.0.2 five times from the kernel side
 *                           through a raw ICMP socket, check the replies;
 *                           before that, send one TSO frame through io/
 *                           and check the kernel side gets 4 valid
 *                           segments (AF_PACKET on nf0).
 *   itest_tap --ping A N    N echo requests to A from the kernel stack
 *                           (ping(8) stand-in for itest_tap.sh).
 *   itest_tap --respond S   responder only, for S seconds or until
 *                           SIGTERM/SIGINT (tests/io/itest_tap.sh pings
 *                           from outside with ping(8)); prints stats.
 *
 * Exit 0 on success, 1 on failure, 77 when not root (skipped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "io/io.h"
#include "tests/io/responder.h"

static atomic_int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

struct resp_arg {
	struct nf_io_ops *ops;
	uint32_t addr_be;
	uint64_t deadline;
	struct resp_stats st;
};

static void *resp_thread(void *p)
{
	struct resp_arg *a = p;

	resp_run(a->ops, a->addr_be, &stop_flag, a->deadline, &a->st);
	return NULL;
}

/* A UDP frame with NF_TX_IP_CKSUM | NF_TX_UDP_CKSUM and garbage in both
 * checksum fields reaches the kernel side with valid checksums. */
static int udp_check(struct nf_io_ops *o, int fd, uint32_t src_be,
		     uint32_t dst_be)
{
	struct nf_buf *b = o->alloc(o->q);
	uint8_t *f, buf[2048];
	uint64_t end;
	unsigned i;

	if (b == NULL)
		return -1;
	f = b->data;
	memset(f, 0xff, 6);
	memcpy(f + 6, o->mac, 6);
	resp_wr16(f + 12, 0x0800);
	memset(f + 14, 0, 28);
	f[14] = 0x45;
	resp_wr16(f + 16, 28 + 333);
	f[22] = 64;
	f[23] = 17;
	resp_wr16(f + 24, 0x1234);
	memcpy(f + 26, &src_be, 4);
	memcpy(f + 30, &dst_be, 4);
	resp_wr16(f + 34, 9);
	resp_wr16(f + 36, 9);
	resp_wr16(f + 38, 8 + 333);
	resp_wr16(f + 40, 0x5678);
	for (i = 0; i < 333; i++)
		f[42 + i] = (uint8_t)(i * 5);
	b->len = b->pkt_len = 42 + 333;
	b->ol_flags = NF_TX_IP_CKSUM | NF_TX_UDP_CKSUM;
	b->l2_len = 14;
	b->l3_len = 20;
	b->l4_len = 8;
	if (o->tx_burst(o->q, &b, 1) != 1) {
		o->free(o->q, b);
		return -1;
	}
	end = resp_now_ns() + 2000000000ull;
	while (resp_now_ns() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint32_t sum;

		if (n < 28 + 333 || buf[9] != 17 || memcmp(buf + 12, &src_be, 4))
			continue;
		sum = nf_io_cksum_add(0, buf + 12, 8) + 17 + (8 + 333);
		sum = nf_io_cksum_add(sum, buf + 20, 8 + 333);
		if (nf_io_cksum_fold(nf_io_cksum_add(0, buf, 20)) != 0xffff ||
		    nf_io_cksum_fold(sum) != 0xffff || buf[28 + 100] != 0xf4) {
			fprintf(stderr, "udp: bad checksum or payload\n");
			return -1;
		}
		printf("udp: checksums valid\n");
		return 0;
	}
	fprintf(stderr, "udp: frame not seen\n");
	return -1;
}

/* TSO through the device: send one 4000-byte TCP frame with
 * NF_TX_TCP_SEG (tso_segsz 1000) from io/ and read what the kernel side
 * of the tap receives with an AF_PACKET socket: 4 segments, contiguous
 * sequence numbers, valid IPv4 and TCP checksums. 0 on success. */
static int tso_check(struct nf_io *io, struct nf_io_ops *o,
		     const char *ifname, uint32_t src_be, uint32_t dst_be)
{
	const struct nf_io_qstats *st = nf_io_queue_stats(io, 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct timeval tv = { .tv_usec = 200000 };
	struct nf_buf *h, *p;
	uint8_t *f, buf[2048];
	uint32_t off = 0, i;
	uint64_t end;
	int fd, segs = 0, r = -1;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (fd < 0)
		return -1;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	h = o->alloc(o->q);
	p = o->alloc(o->q);
	if (!h || !p)
		goto out;
	f = h->data;
	memset(f, 0xff, 6);
	memcpy(f + 6, o->mac, 6);
	resp_wr16(f + 12, 0x0800);
	memset(f + 14, 0, 40);
	f[14] = 0x45;
	resp_wr16(f + 16, 40 + 4000);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, &src_be, 4);
	memcpy(f + 30, &dst_be, 4);
	resp_wr16(f + 34, 9);      /* discard port, from nowhere */
	resp_wr16(f + 36, 9);
	f[38] = 0x77;
	f[46] = 0x50;
	f[47] = 0x18;
	resp_wr16(f + 48, 1000);
	for (i = 0; i < 1994; i++)  /* head: headers + 1994 payload bytes */
		f[54 + i] = (uint8_t)i;
	h->len = 54 + 1994;
	for (i = 0; i < 2006; i++)
		p->data[i] = (uint8_t)(1994 + i);
	p->len = 2006;
	h->seg_next = p;
	h->pkt_len = 54 + 4000;
	h->ol_flags = NF_TX_TCP_SEG | NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;
	h->l2_len = 14;
	h->l3_len = 20;
	h->l4_len = 20;
	h->tso_segsz = 1000;
	if (o->tx_burst(o->q, &h, 1) != 1) {
		o->free(o->q, h);
		goto out;
	}
	end = resp_now_ns() + 2000000000ull;
	while (segs < 4 && resp_now_ns() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		unsigned tot, pay;
		uint32_t sum, seq;

		if (n < 40 || buf[9] != 6 || memcmp(buf + 12, &src_be, 4))
			continue;  /* not ours (AF_PACKET/ETH_P_IP: from L3) */
		tot = resp_rd16(buf + 2);
		if ((size_t)n < tot || tot < 40)
			continue;
		pay = tot - 40;
		seq = (uint32_t)buf[24] << 24 | (uint32_t)buf[25] << 16 |
		      (uint32_t)buf[26] << 8 | buf[27];
		sum = nf_io_cksum_add(0, buf + 12, 8) + 6 + (tot - 20);
		sum = nf_io_cksum_add(sum, buf + 20, tot - 20);
		if (nf_io_cksum_fold(nf_io_cksum_add(0, buf, 20)) != 0xffff ||
		    nf_io_cksum_fold(sum) != 0xffff ||
		    seq != 0x77000000u + off || pay > 1000) {
			fprintf(stderr, "tso: bad segment (len %u seq %x)\n",
				tot, seq);
			goto out;
		}
		for (i = 0; i < pay; i++)
			if (buf[40 + i] != (uint8_t)(off + i)) {
				fprintf(stderr, "tso: payload differs\n");
				goto out;
			}
		off += pay;
		segs++;
	}
	printf("tso: %d segments, %u payload bytes, checksums valid "
	       "(io: gso_out %lu sw_cksum %lu tx_pkts %lu drops %lu)\n",
	       segs, off, (unsigned long)st->gso_out,
	       (unsigned long)st->sw_cksum, (unsigned long)st->tx_pkts,
	       (unsigned long)(st->drop_bad_offload + st->drop_linearize +
			       st->drop_gso));
	r = segs == 4 && off == 4000 ? 0 : -1;
	if (r == 0)
		r = udp_check(o, fd, src_be, dst_be);
out:
	close(fd);
	return r;
}

/* --ping ADDR N: ping(8) stand-in for itest_tap.sh (raw ICMP socket, so
 * the kernel stack sends the requests); prints "N received". */
static int ping_main(const char *addr, int count)
{
	struct timeval tv = { .tv_sec = 1 };
	struct in_addr a;
	int fd, i, good = 0;

	if (inet_pton(AF_INET, addr, &a) != 1 || count <= 0 || count > 100)
		return 2;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < count; i++) {
		int r = kernel_ping(fd, a.s_addr, (uint16_t)(i + 1));

		printf("seq %d: %s\n", i + 1, r == 0 ? "reply" : strerror(-r));
		good += r == 0;
	}
	close(fd);
	printf("%d packets transmitted, %d received\n", count, good);
	return good == count ? 0 : 1;
}

static int n_pass, n_fail;

/* One counted check, reported the way tests/run.sh counts cmocka. */
static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "[       OK ]" : "[  FAILED  ]", what);
	if (cond)
		n_pass++;
	else
		n_fail++;
}

static int summary(void)
{
	printf("[==========] itest_tap: %d check(s) run.\n", n_pass + n_fail);
	printf("[  PASSED  ] %d test(s).\n", n_pass);
	if (n_fail)
		printf("[  FAILED  ] %d test(s), listed above.\n", n_fail);
	return n_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct nf_io_config cfg;
	struct nf_io *io;
	struct resp_arg ra;
	pthread_t th;
	int respond = argc >= 3 && strcmp(argv[1], "--respond") == 0;
	unsigned secs = respond ? (unsigned)atoi(argv[2]) : 20;
	uint32_t leaked = 0;
	int r, i, fd = -1, good = 0;

	if (geteuid() != 0) {
		printf("SKIP itest_tap: needs root (make test runs it as "
		       "root)\n");
		return 77;
	}
	if (argc >= 4 && strcmp(argv[1], "--ping") == 0)
		return ping_main(argv[2], atoi(argv[3]));
	if (secs == 0 || secs > 120)
		secs = 20;
	alarm(secs + 30);  /* bounded whatever happens */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (!respond && unshare(CLONE_NEWNET) < 0) {
		printf("SKIP itest_tap: unshare(CLONE_NEWNET): %s\n",
		       strerror(errno));
		return 77;
	}
	setenv("NETFUSE_HUGE", "off", 0);
	if (nf_io_config_from_env(&cfg) < 0)
		return 1;
	r = nf_io_init(&io, &cfg, 1024);
	{
		char what[NF_IO_STR_MAX + 32];

		snprintf(what, sizeof(what), "nf_io_init with %s", cfg.dev);
		check(r == 0, what);
	}
	if (r < 0)
		return summary();
	printf("io up in %.1f ms (EAL %.1f ms), wake_fd %d\n",
	       nf_io_startup_ns(io) / 1e6, nf_io_eal_ns(io) / 1e6,
	       nf_io_queue(io, 0)->wake_fd);
	memset(&ra, 0, sizeof(ra));
	ra.ops = nf_io_queue(io, 0);
	ra.addr_be = cfg.addr_be;
	ra.deadline = resp_now_ns() + (uint64_t)secs * 1000000000ull;
	if (respond) {
		printf("RUNDIR %s\nREADY\n", nf_io_runtime_dir(io));
		fflush(stdout);
		resp_thread(&ra);
	} else {
		struct timeval tv = { .tv_sec = 1 };

		check(tso_check(io, ra.ops, cfg.tap_iface, cfg.addr_be,
				cfg.tap_addr_be) == 0,
		      "TSO and UDP checksum offload reach the kernel valid");
		if (pthread_create(&th, NULL, resp_thread, &ra) != 0)
			return 1;
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				   sizeof(tv));
			for (i = 0; i < 5; i++) {
				r = kernel_ping(fd, cfg.addr_be,
						(uint16_t)(i + 1));
				printf("ping seq %d: %s\n", i + 1,
				       r == 0 ? "reply" : strerror(-r));
				good += r == 0;
			}
			close(fd);
		}
		atomic_store(&stop_flag, 1);
		pthread_join(th, NULL);
		check(good == 5, "5 of 5 kernel pings answered");
	}
	printf("responder: rx %lu arp %lu echo %lu (ip cksum flagged good "
	       "%lu) other %lu tx_fail %lu sleeps %lu sw_cksum %lu\n",
	       (unsigned long)ra.st.rx, (unsigned long)ra.st.arp_replies,
	       (unsigned long)ra.st.echo_replies,
	       (unsigned long)ra.st.rx_ip_good, (unsigned long)ra.st.other,
	       (unsigned long)ra.st.tx_fail, (unsigned long)ra.st.sleeps,
	       (unsigned long)nf_io_queue_stats(io, 0)->sw_cksum);
	check(!(ra.ops->caps & NF_CAP_RX_CKSUM) ||
	      ra.st.rx_ip_good == ra.st.echo_replies,
	      "rx checksum offload flags set on every echo request");
	check(ra.st.arp_replies > 0, "ARP request answered");
	check(ra.st.echo_replies > 0, "ICMP echo answered");
	check(ra.st.tx_fail == 0, "every reply taken by tx_burst");
	r = nf_io_fini(io, &leaked);
	printf("buffers not returned: %u\n", leaked);
	check(r == 0 && leaked == 0, "every buffer back in the pool");
	return summary();
}
