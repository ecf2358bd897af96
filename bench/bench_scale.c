/*
 * bench_scale.c: does throughput grow with instances? (make bench-scale)
 *
 * vfs/ with one stack instance driven by one thread on one core, then
 * with two instances (NETFUSE_QUEUES=2) driven by two threads on two
 * cores, in one process. Each instance has its own in-memory link to its
 * own peer stack (no DPDK: the device is not what is measured), and its
 * own thread, pinned to its core and bound to it, running a 1-byte
 * ping-pong: the peer sends (ns_send), the program side reads and
 * writes back through vfs_dispatch() exactly as a hooked program's
 * read()/write() arrive (blocking socket), the peer receives. Same work
 * per request in both runs; nothing shared between the pairs but vfs/'s
 * global tables (the fd table, read lock-free).
 *
 * Prints requests/s of each run, the ratio, and per request: lock
 * acquisitions that found an instance lock taken (contended) and calls
 * by a thread on another instance's socket (cross-instance). Ends with
 *   RESULT bench-scale scale2=X rps1=... rps2=... contended_per_req=...
 *          cross_per_req=...
 * (goal: X >= 1.9, the shared-nothing limit being 2.0; 0 contended).
 * Beside it: the two-instance run with each thread bound to the other
 * instance than its socket's (every call a cross-instance call: the
 * owner's lock taken by a foreign thread; accepted-then-handed-off
 * sockets are not migrated), the same one-instance run in two processes
 * at once, and a private-memory loop on the same CPUs (the machine's
 * own ceiling: a VM's two vCPUs may be one core's hyperthreads).
 * NETFUSE_BENCH_SECONDS (default 3) per run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hook/hook.h"
#include "stack/stack.h"
#include "tests/stack/fake_io.h"
#include "vfs/vfs.h"
#include "vfs/vfs_priv.h"

#define VFS_IP "198.18.0.2"
#define PEER_IP "198.18.0.1"
#define RING 4096

/* single producer, single consumer (each end under one lock or thread) */
struct ring {
	_Atomic unsigned head, tail;
	struct nf_buf *b[RING];
};

struct pair {
	struct ring to_vfs, to_peer;
	pthread_mutex_t pool_m;
	struct fio_pool *pool;
	struct nf_io_ops vops, pops;
	struct ns_stack *vst, *pst;
	void *vmem, *pmem;
	pthread_t t;
	int cpu, idx;
	uint16_t port;
	_Atomic uint64_t reqs;    /* requests done so far */
	int err;
} __attribute__((aligned(64)));

static volatile int g_stop;
static int g_cpu0; /* the first pair's CPU */
static int g_cross; /* threads bound to the other instance after accept */

static uint16_t ring_rx(struct ring *r, struct nf_buf **b, uint16_t n)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed),
		 t = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint16_t k = 0;
	while (k < n && h != t)
		b[k++] = r->b[h++ % RING];
	atomic_store_explicit(&r->head, h, memory_order_release);
	return k;
}

static uint16_t ring_tx(struct ring *r, struct nf_buf **b, uint16_t n)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed),
		 h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint16_t k = 0;
	while (k < n && t - h < RING)
		r->b[t++ % RING] = b[k++];
	atomic_store_explicit(&r->tail, t, memory_order_release);
	return k;
}

#define PAIR_OF(q, field) \
	((struct pair *)((char *)(q) - offsetof(struct pair, field)))
static uint16_t v_rx(void *q, struct nf_buf **b, uint16_t n)
{
	return ring_rx(&PAIR_OF(q, vops)->to_vfs, b, n);
}
static uint16_t v_tx(void *q, struct nf_buf **b, uint16_t n)
{
	return ring_tx(&PAIR_OF(q, vops)->to_peer, b, n);
}
static uint16_t p_rx(void *q, struct nf_buf **b, uint16_t n)
{
	return ring_rx(&PAIR_OF(q, pops)->to_peer, b, n);
}
static uint16_t p_tx(void *q, struct nf_buf **b, uint16_t n)
{
	return ring_tx(&PAIR_OF(q, pops)->to_vfs, b, n);
}
static struct nf_buf *pool_alloc(struct pair *p)
{
	struct nf_buf *b;
	pthread_mutex_lock(&p->pool_m);
	b = fio_pool_get(p->pool);
	pthread_mutex_unlock(&p->pool_m);
	return b;
}
static void pool_free(struct pair *p, struct nf_buf *b)
{
	pthread_mutex_lock(&p->pool_m);
	fio_pool_put(b);
	pthread_mutex_unlock(&p->pool_m);
}
static struct nf_buf *v_alloc(void *q) { return pool_alloc(PAIR_OF(q, vops)); }
static struct nf_buf *p_alloc(void *q) { return pool_alloc(PAIR_OF(q, pops)); }
static void v_free(void *q, struct nf_buf *b) { pool_free(PAIR_OF(q, vops), b); }
static void p_free(void *q, struct nf_buf *b) { pool_free(PAIR_OF(q, pops), b); }

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct ns_stack *mk_stack(const char *ip, struct nf_io_ops *ops,
				 void **mem, uint64_t seed)
{
	struct ns_config c;
	size_t sz;
	ns_config_default(&c);
	c.ip_be = inet_addr(ip);
	c.prefix_len = 24;
	c.max_socks = 64;
	c.sndbuf = c.rcvbuf = 64 * 1024;
	c.seed = seed;
	c.no_garp = 1;
	sz = ns_stack_size(&c);
	*mem = aligned_alloc(4096, (sz + 4095) & ~(size_t)4095);
	return *mem ? ns_stack_init(*mem, sz, &c, ops, now_ns()) : NULL;
}

static void ops_init(struct nf_io_ops *o, struct pair *p, int vfs_side)
{
	static const uint8_t vmac[6] = {2, 0, 0, 0, 0, 2}, pmac[6] = {2, 0, 0, 0, 0, 1};
	memset(o, 0, sizeof(*o));
	o->q = o;
	o->rx_burst = vfs_side ? v_rx : p_rx;
	o->tx_burst = vfs_side ? v_tx : p_tx;
	o->alloc = vfs_side ? v_alloc : p_alloc;
	o->free = vfs_side ? v_free : p_free;
	o->wake_fd = -1;
	o->mtu = 1500;
	o->buf_size = FIO_BUF_SIZE - FIO_HEADROOM;
	o->queue_id = (uint16_t)p->idx;
	memcpy(o->mac, vfs_side ? vmac : pmac, 6);
}

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	struct hook_call hc = { .nr = nr, .arg = { a, b, c, d, e, f } };
	long r = vfs_dispatch(NULL, &hc);
	if (r == HOOK_PASSTHROUGH)
		r = hook_raw_syscall(nr, a, b, c, d, e, f);
	return r;
}

static void peer_poll(struct pair *p)
{
	(void)ns_stack_rx_poll(p->pst, now_ns());
}

static void *pair_main(void *arg)
{
	struct pair *p = arg;
	struct sockaddr_in a;
	cpu_set_t cs;
	int lfd, fd = -1, sd, k;
	uint64_t n = 0;
	char c = 'x', r;

	CPU_ZERO(&cs);
	CPU_SET(p->cpu, &cs);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	vfs_inst_bind(vfs_g.insts[p->idx]);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = inet_addr(VFS_IP);
	a.sin_port = htons(p->port);
	lfd = (int)sys6(SYS_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, 0,
			0, 0);
	if (lfd < 0 || sys6(SYS_bind, lfd, (long)&a, sizeof(a), 0, 0, 0) ||
	    sys6(SYS_listen, lfd, 8, 0, 0, 0, 0)) {
		p->err = 1;
		return NULL;
	}
	a.sin_port = htons(p->port);
	sd = ns_socket(p->pst, SOCK_STREAM);
	k = sd < 0 ? sd : ns_connect(p->pst, sd, &a);
	if (k < 0 && k != -EINPROGRESS) {
		p->err = 6;
		return NULL;
	}
	/* the handshake: the peer and the program side in turn */
	for (int i = 0; i < 100000 && fd < 0; i++) {
		struct sockaddr_in pa;
		socklen_t pl = sizeof(pa);
		peer_poll(p);
		fd = (int)sys6(SYS_accept4, lfd, (long)&pa, (long)&pl,
			       SOCK_NONBLOCK, 0, 0);
		if (fd < 0 && fd != -EAGAIN) {
			p->err = 2;
			return NULL;
		}
	}
	if (fd < 0) {
		p->err = 3;
		return NULL;
	}
	(void)sys6(SYS_fcntl, fd, F_SETFL, 0, 0, 0, 0); /* blocking */
	if (g_cross) /* every call then takes the other instance's lock */
		vfs_inst_bind(vfs_g.insts[(p->idx + 1) % vfs_g.ninst]);
	while (!(ns_sock_events(p->pst, sd) & NS_EV_OUT))
		peer_poll(p);
	while (!g_stop) {
		if (ns_send(p->pst, sd, &c, 1, 0) != 1) {
			peer_poll(p);
			continue;
		}
		if (sys6(SYS_read, fd, (long)&r, 1, 0, 0, 0) != 1 ||
		    sys6(SYS_write, fd, (long)&r, 1, 0, 0, 0) != 1) {
			p->err = 4;
			break;
		}
		for (;;) {
			ssize_t got = ns_recv(p->pst, sd, &r, 1, 0);
			if (got == 1)
				break;
			if (got != -EAGAIN) {
				p->err = 5;
				break;
			}
			peer_poll(p);
		}
		if (p->err)
			break;
		atomic_store_explicit(&p->reqs, ++n, memory_order_relaxed);
	}
	(void)sys6(SYS_close, fd, 0, 0, 0, 0, 0);
	(void)sys6(SYS_close, lfd, 0, 0, 0, 0, 0);
	ns_close(p->pst, sd);
	return NULL;
}

struct run_out {
	double rps;
	uint64_t reqs, contended, cross;
};

static int run(int k, double secs, struct run_out *o)
{
	struct pair *ps = aligned_alloc(64, sizeof(*ps) * (size_t)k);
	struct ns_stack *sts[2];
	struct nf_io_ops *ops[2];
	uint64_t t0, t1, base[2], c0[2], x0[2];
	int i;
	if (!ps)
		return -1;
	memset(ps, 0, sizeof(*ps) * (size_t)k);
	for (i = 0; i < k; i++) {
		struct pair *p = &ps[i];
		p->idx = i;
		p->cpu = i + g_cpu0;
		p->port = (uint16_t)(7000 + i);
		pthread_mutex_init(&p->pool_m, NULL);
		p->pool = fio_pool_new(8192);
		ops_init(&p->vops, p, 1);
		ops_init(&p->pops, p, 0);
		p->vst = mk_stack(VFS_IP, &p->vops, &p->vmem, 11 + (uint64_t)i);
		p->pst = mk_stack(PEER_IP, &p->pops, &p->pmem, 99 + (uint64_t)i);
		if (!p->pool || !p->vst || !p->pst)
			return -1;
		sts[i] = p->vst;
		ops[i] = &p->vops;
	}
	if (vfs_attach_n(k, sts, ops, inet_addr(VFS_IP), 24) < 0)
		return -1;
	g_stop = 0;
	for (i = 0; i < k; i++)
		pthread_create(&ps[i].t, NULL, pair_main, &ps[i]);
	usleep(300000); /* handshakes, warm-up */
	memset(o, 0, sizeof(*o));
	for (i = 0; i < k; i++) {
		base[i] = atomic_load(&ps[i].reqs);
		c0[i] = atomic_load(&vfs_g.insts[i]->contended);
		x0[i] = atomic_load(&vfs_g.insts[i]->foreign_calls);
	}
	t0 = now_ns();
	usleep((useconds_t)(secs * 1e6));
	for (i = 0; i < k; i++) {
		o->reqs += atomic_load(&ps[i].reqs) - base[i];
		o->contended += atomic_load(&vfs_g.insts[i]->contended) - c0[i];
		o->cross += atomic_load(&vfs_g.insts[i]->foreign_calls) - x0[i];
	}
	t1 = now_ns();
	g_stop = 1;
	for (i = 0; i < k; i++)
		pthread_join(ps[i].t, NULL);
	for (i = 0; i < k; i++)
		if (ps[i].err) {
			fprintf(stderr, "bench-scale: pair %d failed (%d)\n", i,
				ps[i].err);
			return -1;
		}
	o->rps = (double)o->reqs / ((double)(t1 - t0) / 1e9);
	vfs_detach();
	for (i = 0; i < k; i++) {
		ns_stack_fini(ps[i].vst);
		ns_stack_fini(ps[i].pst);
		free(ps[i].vmem);
		free(ps[i].pmem);
	}
	return 0;
}

/* The machine's own ceiling: a loop over private memory (a 16 KiB
 * buffer hashed again and again, nothing shared), one thread vs two on
 * the same CPUs. Two vCPUs that are one physical core's hyperthreads, or
 * a busy host, show here as less than 2. */
struct ref_arg {
	int cpu;
	uint64_t iters;
};

static void *ref_main(void *arg)
{
	struct ref_arg *a = arg;
	static _Thread_local uint8_t buf[16384];
	uint64_t h = 1469598103934665603ull, n = 0, end;
	cpu_set_t cs;
	size_t i;
	CPU_ZERO(&cs);
	CPU_SET(a->cpu, &cs);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	end = now_ns() + 1000000000ull;
	while (now_ns() < end) {
		for (i = 0; i < sizeof(buf); i += 8)
			h = (h ^ buf[i]) * 1099511628211ull;
		buf[h % sizeof(buf)] ^= (uint8_t)h;
		n++;
	}
	a->iters = n;
	return NULL;
}

static double ref_scale(void)
{
	struct ref_arg a[2] = { { 0, 0 }, { 1, 0 } };
	pthread_t t[2];
	double one;
	pthread_create(&t[0], NULL, ref_main, &a[0]);
	pthread_join(t[0], NULL);
	one = (double)a[0].iters;
	pthread_create(&t[0], NULL, ref_main, &a[0]);
	pthread_create(&t[1], NULL, ref_main, &a[1]);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	return (double)(a[0].iters + a[1].iters) / one;
}

static const char *env_get(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

/* The same one-instance run in two processes at once, on CPU 0 and
 * CPU 1: what two cores give when nothing at all is shared (not even
 * the address space). Sum of their requests/s, or < 0. */
static double two_procs(double secs)
{
	int fds[2][2], i;
	pid_t pid[2];
	double sum = 0;
	for (i = 0; i < 2; i++) {
		if (pipe(fds[i]) < 0)
			return -1;
		pid[i] = fork();
		if (pid[i] < 0)
			return -1;
		if (pid[i] == 0) {
			struct run_out o;
			double v = -1;
			g_cpu0 = i;
			if (vfs_setup(env_get, NULL) == 0 &&
			    run(1, secs, &o) == 0)
				v = o.rps;
			if (write(fds[i][1], &v, sizeof(v)) != sizeof(v))
				_exit(1);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < 2; i++) {
		double v = -1;
		if (read(fds[i][0], &v, sizeof(v)) != sizeof(v) || v < 0)
			sum = -1e30;
		sum += v;
		close(fds[i][0]);
		waitpid(pid[i], NULL, 0);
	}
	return sum;
}


int main(void)
{
	const char *s = getenv("NETFUSE_BENCH_SECONDS");
	double secs = s && atof(s) > 0 ? atof(s) : 3;
	struct run_out r1, r2, rx;
	double ref, procs;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 2) {
		printf("bench-scale: needs 2 CPUs (have %ld)\n", ncpu);
		return 1;
	}
	ref = ref_scale();
	procs = two_procs(secs); /* before this process's vfs/ starts */
	if (procs < 0 || vfs_setup(env_get, NULL) < 0 ||
	    run(1, secs, &r1) < 0 || run(2, secs, &r2) < 0)
		return 1;
	g_cross = 1;
	if (run(2, secs, &rx) < 0)
		return 1;
	printf("one instance, one thread on cpu 0:     %10.0f requests/s\n",
	       r1.rps);
	printf("two instances, two threads, cpus 0-1:  %10.0f requests/s "
	       "(%.0f per instance)\n", r2.rps, r2.rps / 2);
	printf("two instances, each thread on the other's socket: %10.0f "
	       "requests/s (%.2f cross-instance calls per request)\n",
	       rx.rps, (double)rx.cross / (double)(rx.reqs ? rx.reqs : 1));
	printf("two processes, one instance each:      %10.0f requests/s "
	       "(%.2f x one)\n", procs, procs / r1.rps);
	printf("scale2 = %.2f (shared-nothing limit 2.00; this machine's own "
	       "ceiling, a private-memory loop on the same two CPUs: %.2f)\n",
	       r2.rps / r1.rps, ref);
	printf("per request, 2 instances: %.5f contended lock acquisitions, "
	       "%.5f cross-instance calls\n",
	       (double)r2.contended / (double)(r2.reqs ? r2.reqs : 1),
	       (double)r2.cross / (double)(r2.reqs ? r2.reqs : 1));
	printf("RESULT bench-scale scale2=%.2f rps1=%.0f rps2=%.0f "
	       "contended_per_req=%.5f cross_per_req=%.5f cpu_ref2=%.2f "
	       "procs2=%.2f rps2_cross=%.0f\n",
	       r2.rps / r1.rps, r1.rps, r2.rps,
	       (double)r2.contended / (double)(r2.reqs ? r2.reqs : 1),
	       (double)r2.cross / (double)(r2.reqs ? r2.reqs : 1), ref,
	       procs / r1.rps, rx.rps);
	return 0;
}
