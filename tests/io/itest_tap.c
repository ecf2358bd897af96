/*
 * itest_tap.c: io/ over the default net_tap device (kernel side nf0,
 * 198.18.0.1/24), answering ARP and ICMP echo for 198.18.0.2 with the
 * test's own responder (tests/io/responder.h), then checking that every
 * buffer came back to the pool. Needs root (tap device, netns).
 *
 *   itest_tap               self-contained: unshare a new network
 *                           namespace, start io/ with --no-huge, ping
 *                           198.18.0.2 five times from the kernel side
 *                           through a raw ICMP socket, check the replies.
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

/* One echo request from the kernel stack; 0 if the reply came back. */
static int kernel_ping(int fd, uint32_t dst_be, uint16_t seq)
{
	uint8_t pkt[64], buf[256];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint64_t end = resp_now_ns() + 1000000000ull;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 8;
	resp_wr16(pkt + 4, 0x4e46);
	resp_wr16(pkt + 6, seq);
	memcpy(pkt + 8, "netfuse io/ itest_tap payload", 29);
	resp_wr16(pkt + 2, (uint16_t)~nf_io_cksum_fold(
		nf_io_cksum_add(0, pkt, sizeof(pkt))));
	sa.sin_addr.s_addr = dst_be;
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	while (resp_now_ns() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		unsigned ihl;

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		ihl = (buf[0] & 0xfu) * 4u;
		if ((size_t)n < ihl + 8 || memcmp(buf + 12, &dst_be, 4))
			continue;
		/* raw sockets see our own request too: want type 0 */
		if (buf[ihl] == 0 && resp_rd16(buf + ihl + 6) == seq &&
		    (size_t)n == ihl + sizeof(pkt) &&
		    memcmp(buf + ihl + 8, pkt + 8, sizeof(pkt) - 8) == 0 &&
		    nf_io_cksum_fold(nf_io_cksum_add(0, buf, ihl)) == 0xffff)
			return 0;
	}
	return -ETIMEDOUT;
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

int main(int argc, char **argv)
{
	struct nf_io_config cfg;
	struct nf_io *io;
	struct resp_arg ra;
	pthread_t th;
	int respond = argc >= 3 && strcmp(argv[1], "--respond") == 0;
	unsigned secs = respond ? (unsigned)atoi(argv[2]) : 20;
	uint32_t leaked = 0;
	int r, ok = 1, i, fd = -1, good = 0;

	if (geteuid() != 0) {
		printf("SKIP itest_tap: needs root\n");
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
	if (r < 0) {
		fprintf(stderr, "FAIL nf_io_init: %s\n", strerror(-r));
		return 1;
	}
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

		if (pthread_create(&th, NULL, resp_thread, &ra) != 0)
			return 1;
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (fd < 0) {
			perror("FAIL socket");
			ok = 0;
		} else {
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
		if (good < 4) {
			fprintf(stderr, "FAIL only %d of 5 pings answered\n",
				good);
			ok = 0;
		}
	}
	printf("responder: rx %lu arp %lu echo %lu other %lu tx_fail %lu "
	       "sleeps %lu sw_cksum %lu\n",
	       (unsigned long)ra.st.rx, (unsigned long)ra.st.arp_replies,
	       (unsigned long)ra.st.echo_replies, (unsigned long)ra.st.other,
	       (unsigned long)ra.st.tx_fail, (unsigned long)ra.st.sleeps,
	       (unsigned long)nf_io_queue_stats(io, 0)->sw_cksum);
	if (ra.st.arp_replies == 0 || ra.st.echo_replies == 0) {
		fprintf(stderr, "FAIL no ARP or no echo answered\n");
		ok = 0;
	}
	r = nf_io_fini(io, &leaked);
	printf("buffers not returned: %u\n", leaked);
	if (r < 0 || leaked) {
		fprintf(stderr, "FAIL %u buffers leaked\n", leaked);
		ok = 0;
	}
	printf("%s itest_tap\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
