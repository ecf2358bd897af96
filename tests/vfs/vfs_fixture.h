/*
 * vfs_fixture.h: vfs/ driven directly with struct hook_call values (no
 * LD_PRELOAD), its stack instance joined by an in-memory link to a second
 * instance, "the peer", that the test drives itself from a thread of its
 * own (no DPDK, no root).
 *
 *   vfs side: 198.18.0.2/24, attached with vfs_attach(); vfs/'s progress
 *             thread polls it and sleeps on the link's wake eventfd.
 *             fx_up_n() attaches two instances instead (two queues, as
 *             NETFUSE_QUEUES=2), and a steering mode says which queue
 *             the peer's frames land on (FX_STEER_*).
 *   peer:     198.18.0.1/24, polled every 200 us (or on a frame) by the
 *             peer thread, under peer_lock for the test's own calls.
 *
 * Buffers: one fake_io pool (tests/stack/fake_io.h, shared with
 * tests/stack) shared by both sides behind a mutex, since frames cross
 * threads. sys() makes a call the way the hook would: vfs_dispatch(), and
 * the kernel when it answers HOOK_PASSTHROUGH.
 */
#ifndef VFS_TEST_FIXTURE_H
#define VFS_TEST_FIXTURE_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "hook/hook.h"
#include "stack/stack.h"
#include "vfs/vfs.h"
#include "stack/nf_backend.h"
#include "tests/stack/fake_io.h"

#define LQ_CAP 4096
#define VFS_IP "198.18.0.2"
#define PEER_IP "198.18.0.1"

struct lq {
	struct nf_buf *q[LQ_CAP];
	unsigned h, n;
	int evfd;
	int armed;
};

/* Which vfs queue the peer's frames land on with two instances */
enum {
	FX_STEER_ALL0 = 0,   /* every frame on instance 0's queue */
	FX_STEER_HASH = 1,   /* TCP/UDP by a symmetric hash of the 4-tuple
			      * (as RSS or a tap's flow table), the rest 0 */
	FX_STEER_FLIP = 2,   /* TCP/UDP on the other queue than HASH's (a
			      * tap's flow entry that expired) */
	FX_STEER_FOLLOW = 3, /* HASH's until the vfs side sends on a flow:
			      * then the queue it sent on (Linux's multi-
			      * queue tap; NF_CAP_FLOW_FOLLOWS_TX) */
};

struct link {
	pthread_mutex_t m;        /* queues and the pool */
	struct fio_pool *pool;
	/* q[0]: towards vfs instance 0, q[1]: towards the peer, q[2]:
	 * towards vfs instance 1 (fx_up_n) */
	struct lq q[3];
	struct nf_io_ops ops[3];
	int nvfs, mode;
	uint64_t drops;
	uint64_t landed[2];       /* peer frames per vfs queue */
	uint8_t flow[4096];       /* FOLLOW: 1 + the queue a flow (by its
				   * hash) was last sent on, 0 none */
};

static struct link g_link;

static inline uint16_t lk_rx(void *q, struct nf_buf **b, uint16_t n)
{
	struct lq *l = q;
	uint16_t k = 0;
	pthread_mutex_lock(&g_link.m);
	while (k < n && l->n) {
		b[k++] = l->q[l->h];
		l->h = (l->h + 1) % LQ_CAP;
		l->n--;
	}
	pthread_mutex_unlock(&g_link.m);
	return k;
}

static inline uint16_t lk_tx_to(struct lq *l, struct nf_buf **b, uint16_t n)
{
	uint16_t k = 0;
	uint64_t one = 1;
	int wake;
	pthread_mutex_lock(&g_link.m);
	while (k < n && l->n < LQ_CAP) {
		l->q[(l->h + l->n) % LQ_CAP] = b[k++];
		l->n++;
	}
	wake = l->armed && k;
	pthread_mutex_unlock(&g_link.m);
	if (wake)
		(void)!write(l->evfd, &one, 8);
	return k;
}

static inline uint32_t lk_flow_hash(const struct nf_buf *b);

static inline uint16_t lk_tx0(void *q, struct nf_buf **b, uint16_t n)
{
	uint16_t k;
	if (g_link.mode == FX_STEER_FOLLOW) /* the tap's flow table learns */
		for (k = 0; k < n; k++) {
			uint32_t h = lk_flow_hash(b[k]);
			if (h)
				__atomic_store_n(&g_link.flow[h % 4096],
						 q == &g_link.q[2] ? 2 : 1,
						 __ATOMIC_RELAXED);
		}
	return lk_tx_to(&g_link.q[1], b, n);
}

/* a TCP/UDP frame's symmetric flow hash (the same both ways), 0 other */
static inline uint32_t lk_flow_hash(const struct nf_buf *b)
{
	const uint8_t *p = b->data;
	uint32_t h;
	unsigned ihl;
	if (b->len < 34 || p[12] != 0x08 || p[13] != 0x00 ||
	    (p[23] != 6 && p[23] != 17))
		return 0;
	ihl = (p[14] & 15u) * 4;
	if (b->len < 14 + ihl + 4)
		return 0;
	h = ((uint32_t)p[26] << 24 | p[27] << 16 | p[28] << 8 | p[29]) ^
	    ((uint32_t)p[30] << 24 | p[31] << 16 | p[32] << 8 | p[33]) ^
	    ((uint32_t)(p[14 + ihl] << 8 | p[15 + ihl]) ^
	     (uint32_t)(p[16 + ihl] << 8 | p[17 + ihl]));
	h ^= h >> 16;
	h ^= h >> 8;
	return h | 0x10000u;
}

/* the vfs queue a frame from the peer lands on (g_link.mode) */
static inline int lk_steer(const struct nf_buf *b)
{
	uint32_t h = lk_flow_hash(b);
	if (g_link.nvfs < 2 || g_link.mode == FX_STEER_ALL0 || !h)
		return 0;
	if (g_link.mode == FX_STEER_FOLLOW) {
		uint8_t f = __atomic_load_n(&g_link.flow[h % 4096],
					    __ATOMIC_RELAXED);
		if (f)
			return f - 1;
	}
	return (int)(h & 1) ^ (g_link.mode == FX_STEER_FLIP);
}

static inline uint16_t lk_tx1(void *q, struct nf_buf **b, uint16_t n)
{
	uint16_t k;
	(void)q;
	if (g_link.nvfs < 2)
		return lk_tx_to(&g_link.q[0], b, n);
	for (k = 0; k < n; k++) {
		int t = lk_steer(b[k]);
		if (lk_tx_to(&g_link.q[t ? 2 : 0], &b[k], 1) != 1)
			break;
		__atomic_fetch_add(&g_link.landed[t], 1, __ATOMIC_RELAXED);
	}
	return k;
}

static inline struct nf_buf *lk_alloc(void *q)
{
	struct nf_buf *b;
	(void)q;
	pthread_mutex_lock(&g_link.m);
	b = fio_pool_get(g_link.pool);
	pthread_mutex_unlock(&g_link.m);
	return b;
}

static inline void lk_free(void *q, struct nf_buf *b)
{
	(void)q;
	pthread_mutex_lock(&g_link.m);
	fio_pool_put(b);
	pthread_mutex_unlock(&g_link.m);
}

static inline int lk_arm(void *q)
{
	struct lq *l = q;
	pthread_mutex_lock(&g_link.m);
	l->armed = 1;
	pthread_mutex_unlock(&g_link.m);
	return 0;
}

static inline void lk_disarm(void *q)
{
	struct lq *l = q;
	uint64_t v;
	pthread_mutex_lock(&g_link.m);
	l->armed = 0;
	pthread_mutex_unlock(&g_link.m);
	(void)!read(l->evfd, &v, 8);
}

/* ---- the peer ------------------------------------------------------------ */
struct peer {
	pthread_mutex_t lock;
	struct ns_stack *st;
	void *mem;
	pthread_t thr;
	volatile int stop;
	struct ns_stack *vst;     /* the vfs side's instance */
	void *vmem;
	struct ns_stack *vst2;    /* its second instance (fx_up_n) */
	void *vmem2;
};

static struct peer g_peer;

static inline uint64_t fx_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void *peer_main(void *arg)
{
	(void)arg;
	while (!g_peer.stop) {
		struct pollfd p = { .fd = g_link.q[1].evfd, .events = POLLIN };
		pthread_mutex_lock(&g_peer.lock);
		lk_arm(&g_link.q[1]);
		(void)ns_stack_rx_poll(g_peer.st, fx_now());
		pthread_mutex_unlock(&g_peer.lock);
		(void)poll(&p, 1, 1);
		lk_disarm(&g_link.q[1]);
	}
	return NULL;
}

static inline struct ns_stack *fx_stack(const char *ip, struct nf_io_ops *ops,
					void **mem, uint64_t seed)
{
	struct ns_config c;
	size_t sz;
	ns_config_default(&c);
	c.ip_be = inet_addr(ip);
	c.prefix_len = 24;
	c.max_socks = 64;
	c.sndbuf = 64 * 1024;
	c.rcvbuf = 64 * 1024;
	c.udp_rcvbuf = 64 * 1024;
	c.time_wait_ms = 200;
	c.seed = seed;
	c.no_garp = 1;
	sz = ns_stack_size(&c);
	*mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (!*mem)
		return NULL;
	return ns_stack_init(*mem, sz, &c, ops, fx_now());
}

static inline const char *fx_env(void *arg, const char *name)
{
	const char *const *kv = arg;
	for (; kv && kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

/* Bring both sides up, the vfs side with nvfs instances (1 or 2) and
 * the peer's frames steered by mode. env: NULL-terminated name/value
 * pairs for vfs_setup (NULL: defaults). 0 on success. */
static inline int fx_up_n(const char *const *env, int nvfs, int mode)
{
	static const uint8_t mac[3][6] = {{2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1},
					  {2, 0, 0, 0, 0, 2}};
	int i, nq = nvfs > 1 ? 3 : 2;
	memset(&g_link, 0, sizeof(g_link));
	pthread_mutex_init(&g_link.m, NULL);
	g_link.nvfs = nvfs;
	g_link.mode = mode;
	g_link.pool = fio_pool_new(8192);
	if (!g_link.pool)
		return -1;
	for (i = 0; i < nq; i++) {
		struct nf_io_ops *o = &g_link.ops[i];
		g_link.q[i].evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		o->q = &g_link.q[i];
		o->rx_burst = lk_rx;
		o->tx_burst = i == 1 ? lk_tx1 : lk_tx0;
		o->queue_id = i == 2 ? 1 : 0;
		o->nb_queues = i == 1 ? 1 : (uint16_t)nvfs;
		o->alloc = lk_alloc;
		o->free = lk_free;
		o->wake_arm = lk_arm;
		o->wake_disarm = lk_disarm;
		o->wake_fd = g_link.q[i].evfd;
		o->mtu = 1500;
		o->buf_size = FIO_BUF_SIZE - FIO_HEADROOM;
		if (mode == FX_STEER_FOLLOW && i != 1)
			o->caps |= NF_CAP_FLOW_FOLLOWS_TX;
		memcpy(o->mac, mac[i], 6);
	}
	memset(&g_peer, 0, sizeof(g_peer));
	pthread_mutex_init(&g_peer.lock, NULL);
	g_peer.vst = fx_stack(VFS_IP, &g_link.ops[0], &g_peer.vmem, 11);
	g_peer.st = fx_stack(PEER_IP, &g_link.ops[1], &g_peer.mem, 22);
	if (!g_peer.vst || !g_peer.st)
		return -1;
	if (vfs_setup(fx_env, (void *)env) < 0)
		return -1;
	{
		/* FX_TABLE=1 in the environment: the stack behind a copy of
		 * its backend table, so vfs/ takes the path every backend
		 * but the default one takes (no direct calls; the
		 * conformance run, tests/vfs/itest_table.sh) */
		static struct nf_backend copy;
		const struct nf_backend *be = ns_backend();
		struct nf_be_inst *bi[2];
		struct nf_io_ops *ops[2] = { &g_link.ops[0], &g_link.ops[2] };
		if (getenv("FX_TABLE") && !strcmp(getenv("FX_TABLE"), "1")) {
			copy = *be;
			copy.name = "netfuse-table";
			be = &copy;
		}
		if (nvfs > 1) {
			g_peer.vst2 = fx_stack(VFS_IP, &g_link.ops[2],
					       &g_peer.vmem2, 33);
			if (!g_peer.vst2)
				return -1;
		}
		bi[0] = (struct nf_be_inst *)(void *)g_peer.vst;
		bi[1] = (struct nf_be_inst *)(void *)g_peer.vst2;
		if (vfs_attach_be(nvfs > 1 ? 2 : 1, be, bi, ops,
				  inet_addr(VFS_IP), 24) < 0)
			return -1;
		if (strcmp(vfs_backend_name(), be->name) != 0)
			return -1; /* the table asked for is the one used */
	}
	if (pthread_create(&g_peer.thr, NULL, peer_main, NULL))
		return -1;
	return 0;
}

static inline int fx_up(const char *const *env)
{
	return fx_up_n(env, 1, FX_STEER_ALL0);
}

static inline void fx_down(void)
{
	int i;
	g_peer.stop = 1;
	pthread_join(g_peer.thr, NULL);
	vfs_detach();
	ns_stack_fini(g_peer.vst);
	ns_stack_fini(g_peer.st);
	if (g_peer.vst2)
		ns_stack_fini(g_peer.vst2);
	for (i = 0; i < (g_link.nvfs > 1 ? 3 : 2); i++) {
		struct nf_buf *b[64];
		uint16_t n;
		while ((n = lk_rx(&g_link.q[i], b, 64)) > 0)
			while (n)
				lk_free(NULL, b[--n]);
		close(g_link.q[i].evfd);
	}
	free(g_peer.mem);
	free(g_peer.vmem);
	free(g_peer.vmem2);
	fio_pool_del(g_link.pool);
}

/* ---- calls ---------------------------------------------------------------- */
static inline long sys6(long nr, long a, long b, long c, long d, long e,
			long f)
{
	struct hook_call hc = { .nr = nr, .arg = { a, b, c, d, e, f } };
	long r = vfs_dispatch(NULL, &hc);
	if (r == HOOK_PASSTHROUGH)
		r = hook_raw_syscall(nr, a, b, c, d, e, f);
	return r;
}
#define sys(nr, ...) sys_n(nr, __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define sys_n(nr, a, b, c, d, e, f, ...) \
	sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline struct sockaddr_in fx_sin(const char *ip, uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = inet_addr(ip);
	a.sin_port = htons(port);
	return a;
}

/* ---- peer helpers (take the peer lock) ------------------------------------ */
static inline int peer_call_socket(int type)
{
	int r;
	pthread_mutex_lock(&g_peer.lock);
	r = ns_socket(g_peer.st, type);
	pthread_mutex_unlock(&g_peer.lock);
	return r;
}

static inline int peer_listen(uint16_t port)
{
	struct sockaddr_in a = fx_sin(PEER_IP, port);
	int sd, r;
	pthread_mutex_lock(&g_peer.lock);
	sd = ns_socket(g_peer.st, SOCK_STREAM);
	r = sd < 0 ? sd : ns_bind(g_peer.st, sd, &a);
	if (r == 0)
		r = ns_listen(g_peer.st, sd, 16);
	pthread_mutex_unlock(&g_peer.lock);
	return r < 0 ? r : sd;
}

/* Wait up to ms for fn to return something other than -EAGAIN. */
#define PEER_WAIT(ms, expr) ({ \
	uint64_t end_ = fx_now() + (uint64_t)(ms) * 1000000ull; \
	long r_; \
	for (;;) { \
		pthread_mutex_lock(&g_peer.lock); \
		r_ = (expr); \
		pthread_mutex_unlock(&g_peer.lock); \
		if (r_ != -EAGAIN || fx_now() > end_) \
			break; \
		usleep(200); \
	} \
	r_; })

static inline int peer_connect(uint16_t port)
{
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	int sd, r;
	pthread_mutex_lock(&g_peer.lock);
	sd = ns_socket(g_peer.st, SOCK_STREAM);
	r = sd < 0 ? sd : ns_connect(g_peer.st, sd, &a);
	pthread_mutex_unlock(&g_peer.lock);
	if (r < 0 && r != -EINPROGRESS)
		return r;
	return sd;
}

static inline int peer_connected(int sd, int ms)
{
	uint64_t end = fx_now() + (uint64_t)ms * 1000000ull;
	for (;;) {
		uint32_t ev;
		pthread_mutex_lock(&g_peer.lock);
		ev = ns_sock_events(g_peer.st, sd);
		pthread_mutex_unlock(&g_peer.lock);
		if (ev & (NS_EV_ERR | NS_EV_HUP))
			return -1;
		if (ev & NS_EV_OUT)
			return 1;
		if (fx_now() > end)
			return 0;
		usleep(200);
	}
}

/* send all of buf, waiting for room; bytes sent */
static inline long peer_send_all(int sd, const void *buf, size_t len, int ms)
{
	uint64_t end = fx_now() + (uint64_t)ms * 1000000ull;
	size_t off = 0;
	while (off < len && fx_now() < end) {
		long r;
		pthread_mutex_lock(&g_peer.lock);
		r = ns_send(g_peer.st, sd, (const char *)buf + off, len - off, 0);
		pthread_mutex_unlock(&g_peer.lock);
		if (r > 0)
			off += (size_t)r;
		else if (r != -EAGAIN)
			return r;
		else
			usleep(200);
	}
	return (long)off;
}

/* receive exactly len bytes (or until EOF/timeout); bytes received */
static inline long peer_recv_all(int sd, void *buf, size_t len, int ms)
{
	uint64_t end = fx_now() + (uint64_t)ms * 1000000ull;
	size_t off = 0;
	while (off < len && fx_now() < end) {
		long r;
		pthread_mutex_lock(&g_peer.lock);
		r = ns_recv(g_peer.st, sd, (char *)buf + off, len - off, 0);
		pthread_mutex_unlock(&g_peer.lock);
		if (r > 0)
			off += (size_t)r;
		else if (r == 0)
			break;
		else if (r != -EAGAIN)
			return r;
		else
			usleep(200);
	}
	return (long)off;
}

static inline void peer_close(int sd)
{
	pthread_mutex_lock(&g_peer.lock);
	(void)ns_close(g_peer.st, sd);
	pthread_mutex_unlock(&g_peer.lock);
}

static inline void fx_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

#endif
