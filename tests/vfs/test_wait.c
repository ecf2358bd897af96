/*
 * test_wait.c: how program threads wait, measured by the CPU they burn.
 *
 * A server thread idle in epoll_wait (or poll) on a listener must sleep
 * while another thread of the same process moves data: the queue's rx
 * interrupt fd is readable after every frame and only the progress
 * thread drains it, so a sleeper that kept watching it woke again at
 * once, in a loop (memcached's listener thread burned 2/3 of the core its
 * worker needed: 8 ms p99). The assertions are on the idle thread's CPU
 * time (CLOCK_THREAD_CPUTIME_ID), not on wall time: a busy loop uses
 * nearly all of the transfer's duration, a sleeper a few percent.
 *
 * And the last wait of all: exit_group closes every netfuse socket and
 * waits until the peers acknowledged their data and FINs (the kernel
 * would deliver them after exit; the stack dies with the process), and
 * what a peer has not acknowledged when NETFUSE_EXIT_LINGER_MS runs out
 * is counted and reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"
#include "vfs/vfs_priv.h"

static uint16_t next_port;

static int group_setup(void **state)
{
	(void)state;
	next_port = (uint16_t)(20000 + (getpid() * 307) % 30000);
	return fx_up(NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

static int nf_listener(uint16_t port)
{
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	int fd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(sys(SYS_bind, fd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, fd, 16), 0);
	return fd;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct idler {
	int fd;          /* a listener nobody connects to */
	int use_poll;    /* poll() instead of epoll_wait() */
	int timeout_ms;
	long ret;
	uint64_t cpu_ns, wall_ns;
};

static void *idle_main(void *arg)
{
	struct idler *id = arg;
	uint64_t c0 = thread_cpu_ns(), w0 = fx_now();
	if (id->use_poll) {
		struct pollfd p = { .fd = id->fd, .events = POLLIN };
		id->ret = sys(SYS_poll, &p, 1, id->timeout_ms);
	} else {
		struct epoll_event ev = { .events = EPOLLIN }, out[4];
		int ep = (int)sys(SYS_epoll_create1, 0);
		ev.data.fd = id->fd;
		if (ep < 0 || sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, id->fd, &ev)) {
			id->ret = -1000;
			return NULL;
		}
		c0 = thread_cpu_ns();
		w0 = fx_now();
		id->ret = sys(SYS_epoll_wait, ep, out, 4, id->timeout_ms);
		sys(SYS_close, ep);
	}
	id->cpu_ns = thread_cpu_ns() - c0;
	id->wall_ns = fx_now() - w0;
	return NULL;
}

/* Stream from the peer to a connection of this process for ~`ms` while
 * the idler waits; returns bytes moved. */
static size_t stream_for(int ms)
{
	static uint8_t buf[16384], in[16384];
	uint16_t port = next_port++;
	int lfd = nf_listener(port), psd, c;
	uint64_t end;
	size_t moved = 0;
	psd = peer_connect(port);
	assert_int_equal(peer_connected(psd, 2000), 1);
	c = (int)sys(SYS_accept, lfd, 0, 0);
	assert_true(c >= 0);
	fx_pattern(buf, sizeof(buf), 7);
	end = fx_now() + (uint64_t)ms * 1000000ull;
	while (fx_now() < end) {
		assert_int_equal(peer_send_all(psd, buf, sizeof(buf), 2000),
				 (long)sizeof(buf));
		assert_int_equal(sys(SYS_recvfrom, c, in, sizeof(in),
				     MSG_WAITALL, 0, 0), (long)sizeof(in));
		assert_memory_equal(in, buf, sizeof(in));
		moved += sizeof(in);
	}
	assert_int_equal(sys(SYS_close, c), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
	peer_close(psd);
	return moved;
}

static void idle_while_busy(int use_poll)
{
	struct idler id = { .use_poll = use_poll, .timeout_ms = 1500 };
	pthread_t t;
	size_t moved;
	id.fd = nf_listener(next_port++);
	assert_int_equal(pthread_create(&t, NULL, idle_main, &id), 0);
	usleep(20000); /* past its spin budget: asleep */
	moved = stream_for(1000);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sys(SYS_close, id.fd), 0);
	print_message("  idle %s thread: %.1f ms CPU in %.1f ms while %zu "
		      "bytes moved\n", use_poll ? "poll" : "epoll",
		      id.cpu_ns / 1e6, id.wall_ns / 1e6, moved);
	assert_int_equal(id.ret, 0);                 /* timed out, nothing ready */
	assert_true(id.wall_ns >= 1400000000ull);
	assert_true(moved >= 10 * 16384);            /* the transfer ran */
	/* a sleeper: well under 10% of the wait (a busy loop is ~100%) */
	assert_true(id.cpu_ns < id.wall_ns / 10);
}

static void test_idle_epoll_sleeps_while_busy(void **state)
{
	(void)state;
	idle_while_busy(0);
}

static void test_idle_poll_sleeps_while_busy(void **state)
{
	(void)state;
	idle_while_busy(1);
}


/* ---- epoll's ready list ----------------------------------------------------
 * epoll_wait looks at the sockets whose readiness changed, not at every
 * item (Linux's ready list): with 40 idle connections and one busy one
 * in a set, a wait looks at a few items, not 41. Counted by vfs/ itself
 * (vfs_stats.ep_checks). */
#define IDLE_N 40
static void test_epoll_looks_at_changes_only(void **state)
{
	uint16_t port = next_port++;
	int lfd = nf_listener(port), ep, i, psd[IDLE_N + 1], fd[IDLE_N + 1];
	struct vfs_stats st0, st1;
	const int rounds = 200;
	(void)state;
	ep = (int)sys(SYS_epoll_create1, 0);
	assert_true(ep >= 0);
	for (i = 0; i <= IDLE_N; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		psd[i] = peer_connect(port);
		assert_int_equal(peer_connected(psd[i], 2000), 1);
		fd[i] = (int)sys(SYS_accept, lfd, 0, 0);
		assert_true(fd[i] >= 0);
		ev.data.u64 = (uint64_t)i;
		assert_int_equal(sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd[i],
				     &ev), 0);
	}
	vfs_get_stats(&st0);
	for (i = 0; i < rounds; i++) {
		struct epoll_event out[8];
		char b = (char)i, r = 0;
		assert_int_equal(peer_send_all(psd[IDLE_N], &b, 1, 2000), 1);
		assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
		assert_int_equal(out[0].data.u64, IDLE_N);
		assert_int_equal(sys(SYS_read, fd[IDLE_N], &r, 1), 1);
		assert_int_equal(r, b);
	}
	vfs_get_stats(&st1);
	print_message("  %d waits over %d items looked at %llu items\n",
		      rounds, IDLE_N + 1,
		      (unsigned long long)(st1.ep_checks - st0.ep_checks));
	/* a scan of every item would be rounds * 41 = 8,200 */
	assert_true(st1.ep_checks - st0.ep_checks < (uint64_t)rounds * 5);
	/* closing an fd drops its item (Linux forgets it) */
	assert_int_equal(sys(SYS_close, fd[0]), 0);
	{
		struct epoll_event out[8];
		char b = 'x';
		assert_int_equal(peer_send_all(psd[0], &b, 1, 2000), 1);
		assert_int_equal(peer_send_all(psd[1], &b, 1, 2000), 1);
		assert_int_equal(sys(SYS_epoll_wait, ep, out, 8, 2000), 1);
		assert_int_equal(out[0].data.u64, 1);
	}
	for (i = 1; i <= IDLE_N; i++)
		assert_int_equal(sys(SYS_close, fd[i]), 0);
	for (i = 0; i <= IDLE_N; i++)
		peer_close(psd[i]);
	assert_int_equal(sys(SYS_close, ep), 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

/* ---- exit ------------------------------------------------------------------ */
#define EXIT_BYTES (128 * 1024)
struct slow_reader {
	int sd;
	uint8_t buf[EXIT_BYTES + 1];
	long got;
	int eof;
};

static void *slow_reader_main(void *arg)
{
	struct slow_reader *r = arg;
	uint64_t end = fx_now() + 10000000000ull;
	while (fx_now() < end && r->got < EXIT_BYTES + 1) {
		long n;
		pthread_mutex_lock(&g_peer.lock);
		n = ns_recv(g_peer.st, r->sd, r->buf + r->got,
			    r->got + 8192 > EXIT_BYTES + 1 ?
			    (size_t)(EXIT_BYTES + 1 - r->got) : 8192, 0);
		pthread_mutex_unlock(&g_peer.lock);
		if (n == 0) {
			r->eof = 1;
			break;
		}
		if (n > 0)
			r->got += n;
		usleep(n > 0 ? 40000 : 1000); /* ~200 KB/s */
	}
	return NULL;
}

/* Runs last: vfs_exit_close_all() takes every netfuse fd away. */
static void test_exit_delivers_unsent(void **state)
{
	static uint8_t out[EXIT_BYTES];
	static struct slow_reader rd;
	uint16_t port = next_port++;
	int lfd = nf_listener(port), c;
	size_t off = 0;
	uint64_t end = fx_now() + 5000000000ull, t0;
	pthread_t t;
	uint32_t left;
	(void)state;
	rd.sd = peer_connect(port);
	assert_int_equal(peer_connected(rd.sd, 2000), 1);
	c = (int)sys(SYS_accept4, lfd, 0, 0, SOCK_NONBLOCK);
	assert_true(c >= 0);
	fx_pattern(out, sizeof(out), 11);
	assert_int_equal(pthread_create(&t, NULL, slow_reader_main, &rd), 0);
	while (off < sizeof(out) && fx_now() < end) {
		long n = sys(SYS_sendto, c, out + off, sizeof(out) - off, 0, 0, 0);
		if (n > 0)
			off += (size_t)n;
		else
			usleep(500);
	}
	assert_int_equal(off, sizeof(out));
	/* the program exits now, most of its data still unacknowledged */
	t0 = fx_now();
	vfs_exit_close_all();
	vfs_inst_lock(vfs_g.inst);
	left = vfs_g.inst->be->closing(vfs_g.inst->st, NULL);
	vfs_inst_unlock(vfs_g.inst);
	print_message("  exit waited %.0f ms; %ld bytes read by then\n",
		      (fx_now() - t0) / 1e6, rd.got);
	assert_int_equal(left, 0); /* all data and the FIN acknowledged */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rd.got, EXIT_BYTES);
	assert_int_equal(rd.eof, 1);
	assert_memory_equal(rd.buf, out, EXIT_BYTES);
	peer_close(rd.sd);
}

/* Runs after it: a peer that never reads. Exit waits the linger out,
 * then counts the connection and its unacknowledged bytes and says so
 * in one line (they are lost, as nothing will send them after exit). */
static void test_exit_reports_unacked(void **state)
{
	static uint8_t out[1 << 20];
	uint16_t port = next_port++;
	int lfd = nf_listener(port), c, sd;
	size_t off = 0;
	uint64_t end = fx_now() + 3000000000ull, t0, saved;
	struct vfs_stats s0, s1;
	(void)state;
	sd = peer_connect(port);
	assert_int_equal(peer_connected(sd, 2000), 1);
	c = (int)sys(SYS_accept4, lfd, 0, 0, SOCK_NONBLOCK);
	assert_true(c >= 0);
	/* until our send buffer is full: the peer's window closed */
	while (fx_now() < end) {
		long n = sys(SYS_sendto, c, out, sizeof(out), 0, 0, 0);
		if (n > 0) {
			off += (size_t)n;
			end = fx_now() + 300000000ull; /* 0.3 s quiet: full */
		} else {
			usleep(1000);
		}
	}
	assert_true(off > 0);
	vfs_get_stats(&s0);
	saved = vfs_g.exit_linger_ns;
	vfs_g.exit_linger_ns = 200000000ull;
	t0 = fx_now();
	vfs_exit_close_all();
	vfs_g.exit_linger_ns = saved;
	vfs_get_stats(&s1);
	assert_true(fx_now() - t0 >= 200000000ull);
	assert_int_equal(s1.exit_unacked_conns, s0.exit_unacked_conns + 1);
	/* what the peer's stack did not take (its buffer holds the rest) */
	assert_true(s1.exit_unacked_bytes > s0.exit_unacked_bytes);
	assert_true(s1.exit_unacked_bytes - s0.exit_unacked_bytes <= off);
	peer_close(sd); /* unread data: RST, which frees our orphan */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_epoll_sleeps_while_busy),
		cmocka_unit_test(test_idle_poll_sleeps_while_busy),
		cmocka_unit_test(test_epoll_looks_at_changes_only),
		cmocka_unit_test(test_exit_delivers_unsent), /* last two */
		cmocka_unit_test(test_exit_reports_unacked),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
