/*
 * test_inst.c: two stack instances in one process (NETFUSE_QUEUES=2),
 * over the in-memory link of vfs_fixture.h with a second vfs queue.
 *
 *   - a connection owned by instance 1 whose every frame lands on
 *     instance 0's queue (a device that cannot steer it) works: the
 *     frames are handed over (steered_out/in counted), and instance 1
 *     learnt the peer's MAC from the ARP reply that reached instance 0;
 *   - a listener exists in both instances: with the peer's frames spread
 *     by a flow hash, connections are accepted in both, by one accepting
 *     thread, and each echoes its bytes;
 *   - sockets of both instances used by four threads at once (each thread
 *     bound to one instance, half its calls on the other's sockets):
 *     every byte checked;
 *   - a segment nobody owns goes round and is answered (RST) where it
 *     arrived;
 *   - connections accepted by one thread and handed to workers of the
 *     other instance move there (move.c) with the bytes already received,
 *     and a move tried while other threads write to the connection keeps
 *     every record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"
#include "vfs/vfs_priv.h"

static uint16_t next_port;

/* ---- the peer: an echo server on its own thread ------------------------ */
#define ECHO_MAX 64
static struct {
	pthread_t thr;
	volatile int stop;
	int lsd, sds[ECHO_MAX], n;
} echo;

static void *echo_main(void *arg)
{
	char buf[4096];
	(void)arg;
	while (!echo.stop) {
		int i, busy = 0;
		pthread_mutex_lock(&g_peer.lock);
		for (;;) {
			struct sockaddr_in a;
			int sd = ns_accept(g_peer.st, echo.lsd, &a);
			if (sd < 0 || echo.n == ECHO_MAX) {
				if (sd >= 0)
					ns_close(g_peer.st, sd);
				break;
			}
			echo.sds[echo.n++] = sd;
		}
		for (i = 0; i < echo.n; i++) {
			ssize_t r = ns_recv(g_peer.st, echo.sds[i], buf,
					    sizeof(buf), 0);
			if (r > 0) {
				ssize_t w = ns_send(g_peer.st, echo.sds[i], buf,
						    (size_t)r, 0);
				/* the test keeps < 64 KiB in flight: fits */
				assert_int_equal(w, r);
				busy = 1;
			} else if (r == 0) {
				ns_close(g_peer.st, echo.sds[i]);
				echo.sds[i--] = echo.sds[--echo.n];
			}
		}
		pthread_mutex_unlock(&g_peer.lock);
		if (!busy)
			usleep(100);
	}
	return NULL;
}

static void echo_start(uint16_t port)
{
	echo.stop = 0;
	echo.n = 0;
	echo.lsd = peer_listen(port);
	assert_true(echo.lsd >= 0);
	assert_int_equal(pthread_create(&echo.thr, NULL, echo_main, NULL), 0);
}

static void echo_stop(void)
{
	int i;
	echo.stop = 1;
	pthread_join(echo.thr, NULL);
	for (i = 0; i < echo.n; i++)
		peer_close(echo.sds[i]);
	peer_close(echo.lsd);
}

/* ---- helpers -------------------------------------------------------------- */
static struct vfs_sock *sock_of(int fd)
{
	struct vfs_obj *o = vfs_fd_peek(fd);
	assert_non_null(o);
	assert_int_equal(o->kind, VFS_K_SOCK);
	return (struct vfs_sock *)o;
}

/* a blocking netfuse connect to the peer from the calling thread */
static int connect_peer(uint16_t port)
{
	struct sockaddr_in a = fx_sin(PEER_IP, port);
	int fd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(sys(SYS_connect, fd, &a, sizeof(a)), 0);
	return fd;
}

/* send n pattern bytes and read them back, in chunks */
static void echo_check(int fd, size_t n, uint32_t seed)
{
	uint8_t *tx = malloc(n), *rx = malloc(n);
	size_t off = 0;
	assert_non_null(tx);
	assert_non_null(rx);
	fx_pattern(tx, n, seed);
	while (off < n) {
		size_t c = n - off < 16384 ? n - off : 16384, got = 0;
		assert_int_equal(sys(SYS_write, fd, tx + off, c), (long)c);
		while (got < c) {
			long r = sys(SYS_read, fd, rx + off + got, c - got);
			assert_true(r > 0);
			got += (size_t)r;
		}
		off += c;
	}
	assert_memory_equal(tx, rx, n);
	free(tx);
	free(rx);
}

static int up(int mode)
{
	if (!next_port)
		next_port = (uint16_t)(21000 + (getpid() * 211) % 30000);
	return fx_up_n(NULL, 2, mode);
}
static int up_all0(void **state)
{
	(void)state;
	return up(FX_STEER_ALL0);
}
static int up_hash(void **state)
{
	(void)state;
	return up(FX_STEER_HASH);
}
static int up_follow(void **state)
{
	(void)state;
	return up(FX_STEER_FOLLOW);
}
static int down(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

/* ---- the tests -------------------------------------------------------------- */
static void test_two_instances(void **state)
{
	(void)state;
	assert_int_equal(vfs_g.ninst, 2);
	assert_int_equal(vfs_g.insts[0]->idx, 0);
	assert_int_equal(vfs_g.insts[1]->idx, 1);
	assert_ptr_equal(vfs_g.insts[1]->st, g_peer.vst2);
}

/* Instance 1 connects; the device puts every frame on queue 0 */
static void test_wrong_queue_handed_over(void **state)
{
	uint16_t port = next_port++;
	struct vfs_inst *i0 = vfs_g.insts[0], *i1 = vfs_g.insts[1];
	uint64_t out0, in1;
	int fd;
	(void)state;
	echo_start(port);
	vfs_inst_bind(i1);
	fd = connect_peer(port);
	assert_ptr_equal(vfs_sock_inst(sock_of(fd)), i1);
	echo_check(fd, 200000, 7);
	assert_int_equal(sys(SYS_close, fd), 0);
	vfs_inst_lock(i0);
	out0 = i0->steered_out;
	vfs_inst_unlock(i0);
	vfs_inst_lock(i1);
	in1 = i1->steered_in;
	vfs_inst_unlock(i1);
	/* nothing of instance 1's flow reached its own queue */
	assert_int_equal(g_link.landed[1], 0);
	assert_true(out0 > 0);
	assert_true(in1 >= out0 - 1 && in1 <= out0);
	/* the ARP reply went to instance 0; instance 1 learnt it */
	assert_true(ns_stack_counters(g_peer.vst2)->arp_shared_in >= 1);
	echo_stop();
	vfs_inst_bind(i0);
}

/* A SYN to a port nobody listens on, landing on instance 0: it goes
 * round and comes back; instance 0 answers RST (the peer sees refused) */
static void test_unowned_segment_answered(void **state)
{
	uint16_t port = next_port++;
	uint64_t rst0 = ns_stack_counters(g_peer.vst)->tcp_rst_sent;
	int sd;
	(void)state;
	sd = peer_connect(port);
	assert_true(sd >= 0);
	assert_int_equal(peer_connected(sd, 2000), -1);
	assert_int_equal(ns_stack_counters(g_peer.vst)->tcp_rst_sent, rst0 + 1);
	assert_int_equal(ns_stack_counters(g_peer.vst2)->tcp_rst_sent, 0);
	peer_close(sd);
}

/* Flows spread over both queues by hash: one thread accepts them all,
 * each is owned by the instance its SYN reached */
static void test_listener_in_every_instance(void **state)
{
	uint16_t port = next_port++;
	int lfd, sds[16], fds[16], i, owned[2] = { 0, 0 };
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	(void)state;
	vfs_inst_bind(vfs_g.insts[0]);
	lfd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(sys(SYS_bind, lfd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, lfd, 64), 0);
	assert_non_null(sock_of(lfd)->rsd);
	assert_true(sock_of(lfd)->rsd[0] >= 0);
	assert_true(sock_of(lfd)->rsd[1] >= 0);
	for (i = 0; i < 16; i++) {
		sds[i] = peer_connect(port);
		assert_true(sds[i] >= 0);
	}
	for (i = 0; i < 16; i++) {
		struct vfs_inst *in;
		fds[i] = (int)sys(SYS_accept, lfd, NULL, NULL); /* blocking */
		assert_true(fds[i] >= 0);
		in = vfs_sock_inst(sock_of(fds[i]));
		owned[in->idx]++;
	}
	assert_int_equal(owned[0] + owned[1], 16);
	/* 16 flows, a symmetric hash over their ports: both get some */
	assert_true(owned[0] > 0);
	assert_true(owned[1] > 0);
	/* each peer connection says who it is; the accepted sockets (in
	 * whatever order accept gave them) echo it back */
	for (i = 0; i < 16; i++) {
		char b[16];
		assert_int_equal(peer_connected(sds[i], 2000), 1);
		snprintf(b, sizeof(b), "conn %02d", i);
		assert_int_equal(peer_send_all(sds[i], b, 7, 2000), 7);
	}
	for (i = 0; i < 16; i++) {
		char r[16];
		assert_int_equal(sys(SYS_read, fds[i], r, 7), 7);
		assert_int_equal(sys(SYS_write, fds[i], r, 7), 7);
	}
	for (i = 0; i < 16; i++) {
		char b[16], r[16];
		snprintf(b, sizeof(b), "conn %02d", i);
		assert_int_equal(peer_recv_all(sds[i], r, 7, 2000), 7);
		assert_memory_equal(b, r, 7);
		assert_int_equal(sys(SYS_close, fds[i]), 0);
		peer_close(sds[i]);
	}
	/* the listener's replicas go with it */
	assert_int_equal(sys(SYS_close, lfd), 0);
	assert_true(peer_connected(peer_connect(port), 2000) == -1);
}

/* Two SO_REUSEPORT wildcard listeners (one per thread, as pingpong -t 2
 * and nginx's reuseport do) with replicas in both instances: the second
 * binds and listens (its replicas and the first's carry SO_REUSEPORT;
 * the first's did not, and the second's bind failed with EADDRINUSE) */
static void test_reuseport_listeners(void **state)
{
	uint16_t port = next_port++;
	struct sockaddr_in a = fx_sin("0.0.0.0", port);
	int one = 1, fd[2], i, psd, c;
	(void)state;
	for (i = 0; i < 2; i++) {
		vfs_inst_bind(vfs_g.insts[i]);
		fd[i] = (int)sys(SYS_socket, AF_INET,
				 SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fd[i] >= 0);
		assert_int_equal(sys(SYS_setsockopt, fd[i], SOL_SOCKET,
				     SO_REUSEPORT, &one, sizeof(one)), 0);
		assert_int_equal(sys(SYS_bind, fd[i], &a, sizeof(a)), 0);
		assert_int_equal(sys(SYS_listen, fd[i], 16), 0);
		assert_non_null(sock_of(fd[i])->rsd);
	}
	/* a client of the stack reaches one of them */
	psd = peer_connect(port);
	assert_int_equal(peer_connected(psd, 2000), 1);
	c = -1;
	for (i = 0; i < 200 && c < 0; i++) {
		c = (int)sys(SYS_accept4, fd[i & 1], NULL, NULL, 0);
		if (c < 0)
			usleep(5000);
	}
	assert_true(c >= 0);
	assert_int_equal(sys(SYS_close, c), 0);
	peer_close(psd);
	for (i = 0; i < 2; i++)
		assert_int_equal(sys(SYS_close, fd[i]), 0);
}

/* Established flows whose frames then land on the other instance's
 * queue (a tap's flow entry expires after 3 s idle): that instance has
 * a replica of the listener on the same port, and its LISTEN answer to
 * an ACK (RST) killed the connection; now the segment goes on to the
 * owner first */
static void test_established_flow_on_wrong_queue(void **state)
{
	uint16_t port = next_port++;
	int lfd, sds[4], fds[4], i;
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	uint64_t out0 = vfs_g.insts[0]->steered_out +
			vfs_g.insts[1]->steered_out;
	(void)state;
	vfs_inst_bind(vfs_g.insts[0]);
	lfd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sys(SYS_bind, lfd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, lfd, 16), 0);
	for (i = 0; i < 4; i++)
		assert_true((sds[i] = peer_connect(port)) >= 0);
	for (i = 0; i < 4; i++) {
		struct timeval tv = { 3, 0 }; /* a lost segment: fail, not hang */
		assert_true((fds[i] = (int)sys(SYS_accept, lfd, NULL, NULL)) >= 0);
		assert_int_equal(sys(SYS_setsockopt, fds[i], SOL_SOCKET,
				     SO_RCVTIMEO, &tv, sizeof(tv)), 0);
		assert_int_equal(peer_connected(sds[i], 2000), 1);
	}
	g_link.mode = FX_STEER_FLIP; /* every flow now lands wrong */
	for (i = 0; i < 4; i++) {
		char b[8];
		snprintf(b, sizeof(b), "late %d", i);
		assert_int_equal(peer_send_all(sds[i], b, 6, 2000), 6);
	}
	for (i = 0; i < 4; i++) {
		char r[8];
		assert_int_equal(sys(SYS_read, fds[i], r, 6), 6);
		assert_int_equal(sys(SYS_write, fds[i], r, 6), 6);
	}
	for (i = 0; i < 4; i++) {
		char b[8], r[8];
		snprintf(b, sizeof(b), "late %d", i);
		assert_int_equal(peer_recv_all(sds[i], r, 6, 2000), 6);
		assert_memory_equal(b, r, 6);
	}
	g_link.mode = FX_STEER_HASH;
	assert_true(vfs_g.insts[0]->steered_out + vfs_g.insts[1]->steered_out >
		    out0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(sys(SYS_close, fds[i]), 0);
		peer_close(sds[i]);
	}
	assert_int_equal(sys(SYS_close, lfd), 0);
}

/* ---- four threads, sockets of both instances ---------------------------- */
struct worker {
	pthread_t t;
	int idx, fds[2];
	int failed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t tx[3000], rx[3000];
	int round, k;
	vfs_inst_bind(vfs_g.insts[w->idx % 2]);
	for (round = 0; round < 300 && !w->failed; round++) {
		for (k = 0; k < 2 && !w->failed; k++) {
			size_t n = 1 + (size_t)((round * 131 + k * 17 + w->idx) %
						 sizeof(tx)), got = 0;
			fx_pattern(tx, n, (uint32_t)(w->idx * 1000 + round * 2 + k));
			if (sys(SYS_write, w->fds[k], tx, n) != (long)n) {
				w->failed = 1;
				break;
			}
			while (got < n) {
				long r = sys(SYS_read, w->fds[k], rx + got, n - got);
				if (r <= 0) {
					w->failed = 2;
					break;
				}
				got += (size_t)r;
			}
			if (!w->failed && memcmp(tx, rx, n))
				w->failed = 3;
		}
	}
	return NULL;
}

static void test_threads_on_both_instances(void **state)
{
	uint16_t port = next_port++;
	struct worker w[4];
	uint64_t foreign0, foreign1;
	int i, k;
	(void)state;
	echo_start(port);
	foreign0 = atomic_load(&vfs_g.insts[0]->foreign_calls);
	foreign1 = atomic_load(&vfs_g.insts[1]->foreign_calls);
	for (i = 0; i < 4; i++) {
		w[i].idx = i;
		w[i].failed = 0;
		for (k = 0; k < 2; k++) {
			vfs_inst_bind(vfs_g.insts[k]); /* one socket in each */
			w[i].fds[k] = connect_peer(port);
			assert_int_equal(vfs_sock_inst(sock_of(w[i].fds[k]))->idx, k);
		}
	}
	vfs_inst_bind(vfs_g.insts[0]);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&w[i].t, NULL, worker_main,
						&w[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(w[i].t, NULL);
		if (w[i].failed)
			print_error("worker %d failed: %d\n", i, w[i].failed);
		assert_int_equal(w[i].failed, 0);
		for (k = 0; k < 2; k++)
			assert_int_equal(sys(SYS_close, w[i].fds[k]), 0);
	}
	/* each instance served calls of threads bound to the other */
	assert_true(atomic_load(&vfs_g.insts[0]->foreign_calls) > foreign0);
	assert_true(atomic_load(&vfs_g.insts[1]->foreign_calls) > foreign1);
	echo_stop();
}


/* ---- accepted connections handed to workers (move.c) --------------------- */
struct handed {
	pthread_t t;
	int fd, inst, failed;
};

/* a worker bound to its instance reads what the peer sent and echoes it
 * (the peer checks the bytes: accept's order is not connect's) */
static void *handed_main(void *arg)
{
	struct handed *h = arg;
	uint8_t rx[20000];
	size_t got = 0;
	vfs_inst_bind(vfs_g.insts[h->inst]);
	while (got < sizeof(rx)) {
		long r = sys(SYS_read, h->fd, rx + got, sizeof(rx) - got);
		if (r <= 0) {
			h->failed = 1;
			return NULL;
		}
		got += (size_t)r;
	}
	if (sys(SYS_write, h->fd, rx, sizeof(rx)) != (long)sizeof(rx))
		h->failed = 3;
	return NULL;
}

/* One thread (on instance 0) accepts connections that landed on both
 * instances and hands each to a worker on the instance it did not land
 * on. Where the device's flows follow what we send (FX_STEER_FOLLOW, a
 * tap), the worker's first call moves it there, with the bytes that
 * already arrived, and the acceptor's own calls do not; where they do not
 * (HASH: memif, fixed RSS), it stays and is served under its owner's
 * lock */
static void test_accepted_moves_to_user(void **state)
{
	uint16_t port = next_port++;
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	struct handed h[8];
	int lfd, sds[8], i, stay_fd, psd;
	uint64_t in0 = atomic_load(&vfs_g.insts[0]->moved_in);
	uint64_t in1 = atomic_load(&vfs_g.insts[1]->moved_in);
	uint64_t moved = 0;
	int follow = g_link.mode == FX_STEER_FOLLOW;
	(void)state;
	vfs_inst_bind(vfs_g.insts[0]);
	lfd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sys(SYS_bind, lfd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, lfd, 16), 0);
	for (i = 0; i < 8; i++)
		assert_true((sds[i] = peer_connect(port)) >= 0);
	for (i = 0; i < 8; i++) {
		int one = 1;
		h[i].fd = (int)sys(SYS_accept, lfd, NULL, NULL);
		assert_true(h[i].fd >= 0);
		/* the acceptor's own call brings it to the acceptor's
		 * instance (0): a single-threaded server's case */
		h[i].inst = vfs_sock_inst(sock_of(h[i].fd))->idx;
		assert_int_equal(sys(SYS_setsockopt, h[i].fd, IPPROTO_TCP,
				     TCP_NODELAY, &one, sizeof(one)), 0);
		assert_int_equal(vfs_sock_inst(sock_of(h[i].fd))->idx,
				 follow ? 0 : h[i].inst);
		moved += (uint64_t)(follow && h[i].inst == 1);
		/* the worker: on the instance it did not land on */
		h[i].inst = 1 - h[i].inst;
		moved += (uint64_t)(follow && h[i].inst == 1);
		h[i].failed = 0;
	}
	/* bytes arrive before the hand-off: they move with the connection */
	for (i = 0; i < 8; i++) {
		uint8_t tx[20000];
		assert_int_equal(peer_connected(sds[i], 2000), 1);
		fx_pattern(tx, sizeof(tx), 900u + (uint32_t)i);
		assert_int_equal(peer_send_all(sds[i], tx, sizeof(tx), 2000),
				 (long)sizeof(tx));
	}
	usleep(20000);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&h[i].t, NULL, handed_main,
						&h[i]), 0);
	for (i = 0; i < 8; i++) {
		uint8_t exp[20000], rx[20000];
		fx_pattern(exp, sizeof(exp), 900u + (uint32_t)i);
		assert_int_equal(peer_recv_all(sds[i], rx, sizeof(rx), 3000),
				 (long)sizeof(rx));
		assert_memory_equal(exp, rx, sizeof(rx));
	}
	for (i = 0; i < 8; i++) {
		pthread_join(h[i].t, NULL);
		assert_int_equal(h[i].failed, 0);
		/* owned by its worker's instance now (or still the one its
		 * flow lands on) */
		assert_int_equal(vfs_sock_inst(sock_of(h[i].fd))->idx,
				 follow ? h[i].inst : 1 - h[i].inst);
	}
	assert_int_equal(atomic_load(&vfs_g.insts[0]->moved_in) - in0 +
			 atomic_load(&vfs_g.insts[1]->moved_in) - in1, moved);
	/* it closes cleanly from its new instance: the peer sees EOF */
	for (i = 0; i < 8; i++) {
		char b;
		assert_int_equal(sys(SYS_close, h[i].fd), 0);
		assert_int_equal(peer_recv_all(sds[i], &b, 1, 2000), 0);
		peer_close(sds[i]);
	}
	/* threads of both instances taking turns on one connection: it
	 * moves at most twice, then stays (no moving to and fro) */
	psd = peer_connect(port);
	stay_fd = (int)sys(SYS_accept, lfd, NULL, NULL);
	assert_true(stay_fd >= 0);
	assert_int_equal(peer_connected(psd, 2000), 1);
	{
		uint64_t m0 = atomic_load(&vfs_g.insts[0]->moved_in) +
			      atomic_load(&vfs_g.insts[1]->moved_in);
		char b = 'x';
		int k;
		for (k = 0; k < 6; k++) {
			vfs_inst_bind(vfs_g.insts[k & 1]);
			assert_int_equal(sys(SYS_write, stay_fd, &b, 1), 1);
			assert_int_equal(peer_recv_all(psd, &b, 1, 2000), 1);
		}
		vfs_inst_bind(vfs_g.insts[0]);
		assert_true(atomic_load(&vfs_g.insts[0]->moved_in) +
			    atomic_load(&vfs_g.insts[1]->moved_in) - m0 <=
			    (follow ? 2u : 0u));
	}
	assert_int_equal(sys(SYS_close, stay_fd), 0);
	peer_close(psd);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

/* Threads of both instances write to one accepted connection from its
 * first call on: the move is tried while other calls are in progress
 * (it then gives up, or they wait for it); every record arrives once,
 * in each thread's order */
struct racer {
	pthread_t t;
	int fd, inst, id, failed;
	pthread_barrier_t *go;
};

#define RACE_RECS 500
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	int k;
	vfs_inst_bind(vfs_g.insts[r->inst]);
	pthread_barrier_wait(r->go);
	for (k = 0; k < RACE_RECS && !r->failed; k++) {
		uint32_t rec[2] = { (uint32_t)r->id, (uint32_t)k };
		if (sys(SYS_write, r->fd, rec, sizeof(rec)) != (long)sizeof(rec))
			r->failed = 1;
	}
	return NULL;
}

static void test_move_races_with_calls(void **state)
{
	uint16_t port = next_port++;
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	struct racer r[4];
	pthread_barrier_t go;
	uint32_t next[4] = { 0, 0, 0, 0 }, rec[2];
	int lfd, psd, fd, i, round;
	uint64_t tries = 0;
	(void)state;
	for (i = 0; i < 2; i++)
		tries -= atomic_load(&vfs_g.insts[i]->moved_in) +
			 atomic_load(&vfs_g.insts[i]->move_failed);
	vfs_inst_bind(vfs_g.insts[0]);
	lfd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sys(SYS_bind, lfd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, lfd, 16), 0);
	for (round = 0; round < 6; round++) {
		psd = peer_connect(port);
		fd = (int)sys(SYS_accept, lfd, NULL, NULL);
		assert_true(fd >= 0);
		assert_int_equal(peer_connected(psd, 2000), 1);
		pthread_barrier_init(&go, NULL, 4);
		for (i = 0; i < 4; i++) {
			r[i].fd = fd;
			r[i].inst = i % 2;
			r[i].id = i;
			r[i].failed = 0;
			r[i].go = &go;
			next[i] = 0;
			assert_int_equal(pthread_create(&r[i].t, NULL,
							racer_main, &r[i]), 0);
		}
		for (i = 0; i < 4 * RACE_RECS; i++) {
			assert_int_equal(peer_recv_all(psd, rec, sizeof(rec),
						       3000), (long)sizeof(rec));
			assert_true(rec[0] < 4);
			assert_int_equal(rec[1], next[rec[0]]);
			next[rec[0]]++;
		}
		for (i = 0; i < 4; i++) {
			pthread_join(r[i].t, NULL);
			assert_int_equal(r[i].failed, 0);
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(sys(SYS_close, fd), 0);
		peer_close(psd);
	}
	/* tries, moved or given up (none where flows do not follow) */
	for (i = 0; i < 2; i++)
		tries += atomic_load(&vfs_g.insts[i]->moved_in) +
			 atomic_load(&vfs_g.insts[i]->move_failed);
	print_message("6 connections: %llu moved, %llu given up\n",
		      (unsigned long long)(atomic_load(&vfs_g.insts[0]->moved_in) +
					   atomic_load(&vfs_g.insts[1]->moved_in)),
		      (unsigned long long)(atomic_load(&vfs_g.insts[0]->move_failed) +
					   atomic_load(&vfs_g.insts[1]->move_failed)));
	/* a try each by the first threads of both instances (the
	 * accepting thread made no call): one or two per connection */
	if (g_link.mode == FX_STEER_FOLLOW)
		assert_true(tries >= 6 && tries <= 12);
	else
		assert_int_equal(tries, 0);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

int main(void)
{
	const struct CMUnitTest all0[] = {
		cmocka_unit_test(test_two_instances),
		cmocka_unit_test(test_wrong_queue_handed_over),
		cmocka_unit_test(test_unowned_segment_answered),
		cmocka_unit_test(test_threads_on_both_instances),
	};
	const struct CMUnitTest hash[] = {
		cmocka_unit_test(test_listener_in_every_instance),
		cmocka_unit_test(test_reuseport_listeners),
		cmocka_unit_test(test_established_flow_on_wrong_queue),
		cmocka_unit_test(test_threads_on_both_instances),
		cmocka_unit_test(test_accepted_moves_to_user),
		cmocka_unit_test(test_move_races_with_calls),
	};
	const struct CMUnitTest follow[] = {
		cmocka_unit_test(test_listener_in_every_instance),
		cmocka_unit_test(test_accepted_moves_to_user),
		cmocka_unit_test(test_move_races_with_calls),
		cmocka_unit_test(test_threads_on_both_instances),
	};
	int r;
	r = cmocka_run_group_tests_name("all frames on queue 0", all0,
					up_all0, down);
	r += cmocka_run_group_tests_name("frames spread by flow hash", hash,
					 up_hash, down);
	r += cmocka_run_group_tests_name("flows follow the queue sent on",
					 follow, up_follow, down);
	return r;
}
