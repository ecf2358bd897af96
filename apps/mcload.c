/*
 * mcload.c: memcached load generator (text protocol) that checks every
 * response. Usage: MCL_USAGE in apps/mcload.h; output as pingpong's
 * (apps/app_common.h); protocol, values and the correctness rule in
 * apps/mc_proto.h; key popularity from apps/zipf.h.
 *
 * Threads: each owns an epoll loop over its connections, its PRNG, counters
 * and histogram. Shared: the read-only options and Zipf table, the run
 * phase (written by the main thread) and the per-key version table below.
 *
 * Per-key state (one _Atomic uint64_t per key, shared by all threads):
 *   bits 0..31  version last acknowledged (STORED), 0 = not set in this run
 *   bit  63     a set of this key is in flight
 * A set is sent only by the thread that moved the key from "idle" to "in
 * flight" (compare-and-swap), so sets of one key are serialised and the
 * value memcached holds when it answers a get lies between the version
 * acknowledged when the get was sent and the newest version sent when its
 * answer arrived (mc_check_get). A draw that hits a key with a set in
 * flight draws again (up to MCL_REDRAW times), then sends a get instead.
 *
 * Phases: connect, preload (every key set once, each connection a share of
 * the keys, MCL_PRELOAD_DEPTH in flight), then the workload: warm-up and
 * the measured window (app_drive). A connection that finished its preload
 * share starts the workload while others are still preloading; only the
 * measured window is reported. Closed loop (default) keeps -o requests in
 * flight per connection; open loop (-r) sends on a Poisson schedule per
 * thread (struct app_sched), started when the thread's preload is done.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "apps/mcload.h"
#include "apps/zipf.h"

#define MCL_EVENTS        256
#define MCL_PRELOAD_DEPTH 64          /* sets in flight per conn in the preload */
#define MCL_REDRAW        8
#define MCL_INFLIGHT      (UINT64_C(1) << 63)
#define MCL_MAX_PRINTED   10          /* errors printed in full, then counted */
#define MCL_STALL_NS      (10 * UINT64_C(1000000000)) /* preload: give up after */

enum { OP_GET, OP_SET };

struct mcl_req {
	uint64_t idx;                 /* key index */
	uint64_t t_send;              /* ns */
	uint32_t ver;                 /* set: version sent; get: acked version then */
	uint8_t op;
};

/* one connection; owned by its thread */
struct mcl_conn {
	int fd;                       /* -1 once dead */
	bool want_out;                /* EPOLLOUT registered */
	bool preloading;
	uint64_t pl_next;             /* next key of this conn's preload share */
	struct mcl_req *q;            /* FIFO of requests sent, qcap entries */
	unsigned qhead, qlen, qcap;
	char *wbuf;                   /* request bytes not yet written: [woff, wlen) */
	size_t wlen, woff, wcap;
	char *rbuf;                   /* response bytes not yet parsed: [0, rlen) */
	size_t rlen, rcap;
};

struct mcl_shared {
	const struct mcl_opts *o;
	struct zipf z;
	_Atomic uint64_t *state;      /* per key, see the top of the file */
	_Atomic int phase;
	_Atomic unsigned preload_left;  /* threads still preloading */
	_Atomic unsigned connecting;  /* threads not yet connected */
	_Atomic unsigned printed;     /* errors printed so far */
};

struct mcl_thread {
	pthread_t tid;
	unsigned id;
	struct mcl_shared *sh;
	const struct mcl_opts *o;
	struct zipf_rng rng;
	int ep;
	struct mcl_conn *conns;
	unsigned pl_conns;            /* conns of this thread still preloading */
	unsigned rr;                  /* open loop: next connection to try */
	struct app_sched sched;       /* open loop: what is due */
	_Atomic uint64_t completed;   /* all phases, for --progress */
	/* measured window only: */
	uint64_t measured, gets, sets, hits, misses;
	struct hist lat;
	/* any phase: */
	uint64_t lost, wrong, srv_errors, proto, conn_errors, failed;
	char pad[64];                /* threads sit in one array: no false sharing */
};

static void mcl_usage_exit(const char *why)
{
	if (why)
		fprintf(stderr, "mcload: %s\n", why);
	fputs(MCL_USAGE, stderr);
	exit(2);
}

static bool mcl_may_print(struct mcl_thread *t)
{
	return atomic_fetch_add(&t->sh->printed, 1) < MCL_MAX_PRINTED;
}

static void mcl_preload_done(struct mcl_thread *t, struct mcl_conn *c)
{
	if (!c->preloading)
		return;
	c->preloading = false;
	if (--t->pl_conns == 0)
		atomic_fetch_sub(&t->sh->preload_left, 1);
}

static void mcl_kill(struct mcl_thread *t, struct mcl_conn *c)
{
	if (c->fd < 0)
		return;
	if (atomic_load_explicit(&t->sh->phase, memory_order_relaxed) != APP_STOP) {
		t->conn_errors++;
		t->failed += c->qlen;
	}
	/* keys whose set was in flight here stay "in flight": never set again */
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	mcl_preload_done(t, c);
}

static void mcl_flush(struct mcl_thread *t, struct mcl_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				mcl_kill(t, c);
				return;
			}
			if (!c->want_out) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
							  .data.ptr = c };
				if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
					mcl_kill(t, c);
					return;
				}
				c->want_out = true;
			}
			return;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	if (c->want_out) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
			mcl_kill(t, c);
		c->want_out = false;
	}
}

/* claims key idx for a set: its next version, or 0 if a set is in flight */
static uint32_t mcl_claim(struct mcl_shared *sh, uint64_t idx)
{
	uint64_t s = atomic_load(&sh->state[idx]);
	while (!(s & MCL_INFLIGHT)) {
		if (atomic_compare_exchange_weak(&sh->state[idx], &s, s | MCL_INFLIGHT)) {
			uint32_t v = (uint32_t)s + 1;
			return v ? v : 1;         /* 2^32 sets of one key: wrap past 0 */
		}
	}
	return 0;
}

/* picks the next request of the workload (not the preload) */
static void mcl_draw(struct mcl_thread *t, struct mcl_req *r)
{
	const struct mcl_opts *o = t->o;
	bool set = zipf_rng_below(&t->rng, 100) >= o->get_pct;
	for (int tries = 0;; tries++) {
		r->idx = zipf_scramble(&t->sh->z, zipf_next(&t->sh->z, &t->rng));
		if (!set)
			break;
		r->ver = mcl_claim(t->sh, r->idx);
		if (r->ver) {
			r->op = OP_SET;
			return;
		}
		if (tries == MCL_REDRAW)
			break;
	}
	r->op = OP_GET;
	r->ver = (uint32_t)atomic_load(&t->sh->state[r->idx]);
}

/* appends request r to c's output (the caller checked qlen < qcap) */
static void mcl_append(struct mcl_thread *t, struct mcl_conn *c,
		       const struct mcl_req *r)
{
	const struct mcl_opts *o = t->o;
	char key[MC_MAX_KEY];
	if (c->woff > 0) {                        /* compact behind a partial write */
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	mc_key(key, r->idx, o->ksize);
	if (r->op == OP_SET)
		c->wlen += mc_fmt_set(c->wbuf + c->wlen, key, o->ksize, r->idx,
				      r->ver, o->vsize);
	else
		c->wlen += mc_fmt_get(c->wbuf + c->wlen, key, o->ksize);
	c->q[(c->qhead + c->qlen) % c->qcap] = *r;
	c->qlen++;
}

/*
 * Queues requests up to the connection's limit, then writes: the preload
 * share while preloading, then (closed loop) the workload; in open loop
 * (-r) the workload is sent by mcl_dispatch instead.
 */
static void mcl_fill(struct mcl_thread *t, struct mcl_conn *c, uint64_t now)
{
	const struct mcl_opts *o = t->o;
	for (;;) {
		if (!c->preloading && o->rate > 0)
			break;
		unsigned limit = c->preloading ? c->qcap : o->depth;
		if (c->qlen >= limit)
			break;
		struct mcl_req r = { .t_send = now };
		if (c->preloading) {
			if (c->pl_next >= o->keys) {
				if (c->qlen > 0)
					break;
				mcl_preload_done(t, c);
				continue;
			}
			r.idx = c->pl_next;
			c->pl_next += (uint64_t)o->threads * o->conns;
			r.ver = mcl_claim(t->sh, r.idx);
			if (r.ver == 0)
				continue;             /* a workload set got there first */
			r.op = OP_SET;
		} else {
			mcl_draw(t, &r);
		}
		mcl_append(t, c, &r);
	}
	if (c->wlen > c->woff)
		mcl_flush(t, c);
}

/* open loop: sends the requests due by now on connections with a free slot */
static void mcl_dispatch(struct mcl_thread *t, uint64_t now)
{
	const struct mcl_opts *o = t->o;
	app_sched_tick(&t->sched, now);
	while (t->sched.qlen > 0) {
		struct mcl_conn *c = NULL;
		for (unsigned k = 0; k < o->conns && c == NULL; k++) {
			struct mcl_conn *x = &t->conns[(t->rr + k) % o->conns];
			if (x->fd >= 0 && !x->preloading && x->qlen < o->depth) {
				c = x;
				t->rr = (t->rr + k + 1) % o->conns;
			}
		}
		if (c == NULL)
			return;                       /* all slots busy: stays due */
		struct mcl_req r = { .t_send = app_sched_pop(&t->sched) };
		mcl_draw(t, &r);
		mcl_append(t, c, &r);
		mcl_flush(t, c);
	}
}

static void mcl_print_wrong(struct mcl_thread *t, const struct mcl_req *q,
			    const struct mc_resp *r, const char *what,
			    uint32_t hi)
{
	if (!mcl_may_print(t))
		return;
	char key[MC_MAX_KEY];
	mc_key(key, q->idx, t->o->ksize);
	size_t show = r->data_len < 64 ? r->data_len : 64;
	fprintf(stderr, "mcload: %s: get %.*s (expected version %u..%u, size %"
		PRIu64 "): got '%.*s'", what, (int)t->o->ksize, key, q->ver, hi,
		t->o->vsize, (int)(r->line_len < 200 ? r->line_len : 200), r->line);
	if (r->type == MC_R_VALUE)
		fprintf(stderr, " data '%.*s'%s", (int)show, r->data,
			show < r->data_len ? "..." : "");
	fputc('\n', stderr);
}

/* one parsed response for request q */
static void mcl_handle(struct mcl_thread *t, const struct mcl_req *q,
		       const struct mc_resp *r, uint64_t now, bool measure)
{
	const struct mcl_opts *o = t->o;
	if (q->op == OP_SET) {
		/* acknowledged or refused, the set is over: clear "in flight" */
		atomic_store(&t->sh->state[q->idx], q->ver);
		if (r->type != MC_R_STORED) {
			t->srv_errors++;
			if (mcl_may_print(t))
				fprintf(stderr, "mcload: set of key %" PRIu64 " answered '%.*s'\n",
					q->idx, (int)(r->line_len < 200 ? r->line_len : 200),
					r->line);
		}
		if (measure)
			t->sets++;
	} else {
		uint64_t s = atomic_load(&t->sh->state[q->idx]);
		uint32_t hi = (uint32_t)s + ((s & MCL_INFLIGHT) ? 1 : 0);
		char key[MC_MAX_KEY];
		mc_key(key, q->idx, o->ksize);
		enum mc_verdict v = mc_check_get(r, key, o->ksize, q->idx, q->ver, hi,
						 o->vsize);
		switch (v) {
		case MC_OK_HIT:
			if (measure)
				t->hits++;
			break;
		case MC_OK_MISS:
			if (measure)
				t->misses++;
			break;
		case MC_LOST:
			t->lost++;
			mcl_print_wrong(t, q, r, "stored key missing (evicted? give memcached more -m)", hi);
			break;
		case MC_WRONG:
			t->wrong++;
			mcl_print_wrong(t, q, r, "wrong answer", hi);
			break;
		}
		if (measure)
			t->gets++;
	}
	if (measure) {
		hist_record(&t->lat, now - q->t_send);
		t->measured++;
	}
	atomic_store_explicit(&t->completed,
		atomic_load_explicit(&t->completed, memory_order_relaxed) + 1,
		memory_order_relaxed);
}

static void mcl_read(struct mcl_thread *t, struct mcl_conn *c)
{
	if (c->rlen == c->rcap) {                 /* a response larger than rbuf */
		size_t ncap = c->rcap * 2;
		char *nb = ncap <= 4 * MC_MAX_VALUE ? realloc(c->rbuf, ncap) : NULL;
		if (nb == NULL) {
			t->proto++;
			mcl_kill(t, c);
			return;
		}
		c->rbuf = nb;
		c->rcap = ncap;
	}
	ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mcl_kill(t, c);
		return;
	}
	c->rlen += (size_t)n;
	uint64_t now = app_now_ns();
	int phase = atomic_load_explicit(&t->sh->phase, memory_order_relaxed);
	size_t off = 0;
	for (;;) {
		struct mc_resp r;
		int rc = mc_parse(c->rbuf + off, c->rlen - off, &r);
		if (rc == 0)
			break;
		if (rc < 0 || c->qlen == 0) {
			t->proto++;
			if (mcl_may_print(t))
				fprintf(stderr, "mcload: %s from server: '%.*s'\n",
					rc < 0 ? "malformed response" : "unexpected response",
					(int)(c->rlen - off < 80 ? c->rlen - off : 80),
					c->rbuf + off);
			mcl_kill(t, c);
			return;
		}
		struct mcl_req q = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		mcl_handle(t, &q, &r, now, phase == APP_MEASURE);
		off += (size_t)rc;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	if (phase != APP_STOP)
		mcl_fill(t, c, now);
}

static int mcl_connect(const struct mcl_opts *o)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(o->port),
				  .sin_addr = o->addr };
	int fl;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	app_set_nodelay(fd);
	return fd;
}

static void *mcl_main(void *arg)
{
	struct mcl_thread *t = arg;
	const struct mcl_opts *o = t->o;
	struct epoll_event evs[MCL_EVENTS];
	uint64_t now = app_now_ns();
	for (unsigned i = 0; i < o->conns; i++) {
		struct mcl_conn *c = &t->conns[i];
		c->fd = mcl_connect(o);
		if (c->fd < 0) {
			if (t->conn_errors++ == 0)
				fprintf(stderr, "mcload: connect %s:%u: %s\n",
					inet_ntoa(o->addr), o->port, strerror(-c->fd));
			c->fd = -1;
			mcl_preload_done(t, c);
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
			close(c->fd);
			c->fd = -1;
			t->conn_errors++;
			mcl_preload_done(t, c);
			continue;
		}
		mcl_fill(t, c, now);
	}
	atomic_fetch_sub(&t->sh->connecting, 1);  /* the warm-up may start */
	bool sched_on = false;
	int ph;
	while ((ph = atomic_load_explicit(&t->sh->phase, memory_order_relaxed)) != APP_STOP) {
		t->sched.counting = ph == APP_MEASURE;
		/* open loop: the schedule starts when this thread's preload ends */
		if (o->rate > 0 && !sched_on && t->pl_conns == 0) {
			app_sched_init(&t->sched, o->rate / o->threads, 0x5eed + t->id,
				       app_now_ns());
			sched_on = true;
		}
		int tmo = sched_on ? app_sched_timeout_ms(&t->sched, app_now_ns(), 10) : 10;
		int n = epoll_wait(t->ep, evs, MCL_EVENTS, tmo);
		for (int i = 0; i < n; i++) {
			struct mcl_conn *c = evs[i].data.ptr;
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				mcl_read(t, c);
			if (c->fd >= 0 && (evs[i].events & EPOLLOUT))
				mcl_fill(t, c, app_now_ns());
		}
		if (sched_on)
			mcl_dispatch(t, app_now_ns());
	}
	for (unsigned i = 0; i < o->conns; i++)
		if (t->conns[i].fd >= 0)
			close(t->conns[i].fd);
	return NULL;
}

static uint64_t mcl_count(void *arg)
{
	struct mcl_thread *ts = arg;
	uint64_t n = 0;
	for (unsigned i = 0; i < ts[0].o->threads; i++)
		n += atomic_load_explicit(&ts[i].completed, memory_order_relaxed);
	return n;
}

static int mcl_setup_thread(struct mcl_thread *t, unsigned id, struct mcl_shared *sh)
{
	const struct mcl_opts *o = sh->o;
	t->id = id;
	t->sh = sh;
	t->o = o;
	zipf_rng_seed(&t->rng, o->seed * 0x100000001b3ull + id);
	hist_init(&t->lat);
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	t->conns = calloc(o->conns, sizeof(*t->conns));
	if (t->ep < 0 || t->conns == NULL)
		return -ENOMEM;
	unsigned qcap = o->depth;
	if (o->preload && qcap < MCL_PRELOAD_DEPTH)
		qcap = MCL_PRELOAD_DEPTH;
	for (unsigned j = 0; j < o->conns; j++) {
		struct mcl_conn *c = &t->conns[j];
		c->fd = -1;
		c->qcap = qcap;
		c->q = calloc(qcap, sizeof(*c->q));
		c->wcap = qcap * MC_SET_MAX(o->ksize, o->vsize);
		c->wbuf = malloc(c->wcap);
		c->rcap = 64 * 1024 + 2 * (MC_MAX_LINE + o->vsize + 16);
		c->rbuf = malloc(c->rcap);
		if (!c->q || !c->wbuf || !c->rbuf)
			return -ENOMEM;
		c->preloading = o->preload;
		c->pl_next = (uint64_t)id * o->conns + j;
	}
	t->pl_conns = o->preload ? o->conns : 0;
	return 0;
}

static int run(const struct mcl_opts *o)
{
	struct mcl_shared sh = { .o = o };
	int rc = zipf_init(&sh.z, o->keys, o->theta);
	if (rc) {
		fprintf(stderr, "mcload: zipf_init: %s\n", strerror(-rc));
		return 1;
	}
	sh.state = calloc(o->keys, sizeof(*sh.state));
	struct mcl_thread *ts = calloc(o->threads, sizeof(*ts));
	if (sh.state == NULL || ts == NULL) {
		fprintf(stderr, "mcload: out of memory\n");
		return 1;
	}
	atomic_store(&sh.phase, APP_WARMUP);
	atomic_store(&sh.preload_left, o->preload ? o->threads : 0);
	atomic_store(&sh.connecting, o->threads);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < o->threads; i++) {
		if (mcl_setup_thread(&ts[i], i, &sh) != 0) {
			fprintf(stderr, "mcload: out of memory\n");
			return 1;
		}
	}
	uint64_t t0 = app_now_ns();
	for (unsigned i = 0; i < o->threads; i++)
		if (pthread_create(&ts[i].tid, NULL, mcl_main, &ts[i]) != 0) {
			fprintf(stderr, "mcload: pthread_create failed\n");
			return 1;
		}
	/* with a preload, its end implies connected; without, wait here */
	double setup_s = app_wait_ready("mcload", &sh.connecting, 60);
	bool stalled = false;
	if (o->preload) {
		uint64_t last = t0, seen = 0, seen_at = t0;
		while (atomic_load(&sh.preload_left) > 0) {
			app_sleep_ns(10 * 1000 * 1000);
			uint64_t now = app_now_ns(), n = mcl_count(ts);
			if (n != seen) {
				seen = n;
				seen_at = now;
			} else if (now - seen_at > MCL_STALL_NS) {
				fprintf(stderr, "mcload: preload stalled: no response for %u s "
					"after %" PRIu64 "\n", (unsigned)(MCL_STALL_NS / 1000000000u), n);
				stalled = true;
				break;
			}
			if (o->progress && now - last >= 1000000000u) {
				last = now;
				fprintf(stderr, "progress preload t=%.0fs sets=%" PRIu64 "\n",
					(double)(last - t0) / 1e9, n);
			}
		}
		double s = (double)(app_now_ns() - t0) / 1e9;
		uint64_t n = mcl_count(ts);
		if (!stalled)
			fprintf(stderr, "mcload: preload of %" PRIu64 " keys done in %.2f s"
				" (%" PRIu64 " responses, %.0f/s)\n", o->keys, s, n,
				(double)n / s);
	}
	double secs = 0;
	if (stalled)
		atomic_store(&sh.phase, APP_STOP);
	else
		secs = app_drive(&sh.phase, o->warmup_s, o->duration_s, o->progress,
				 mcl_count, ts);
	struct hist *all = malloc(sizeof(*all));
	if (all == NULL)
		return 1;
	hist_init(all);
	uint64_t measured = 0, gets = 0, sets = 0, hits = 0, misses = 0, lost = 0,
		 wrong = 0, srv = 0, proto = 0, cerr = 0, failed = 0, unsent = 0,
		 due = 0;
	for (unsigned i = 0; i < o->threads; i++) {
		struct mcl_thread *t = &ts[i];
		pthread_join(t->tid, NULL);
		hist_merge(all, &t->lat);
		measured += t->measured;
		gets += t->gets;
		sets += t->sets;
		hits += t->hits;
		misses += t->misses;
		lost += t->lost;
		wrong += t->wrong;
		srv += t->srv_errors;
		proto += t->proto;
		cerr += t->conn_errors;
		failed += t->failed;
		unsent += t->sched.unsent;
		due += t->sched.due;
	}
	struct app_result r = {
		.app = "mcload", .threads = o->threads, .conns = o->threads * o->conns,
		.depth = o->depth, .size = o->vsize, .duration_s = secs,
		.requests = measured,
		.errors = lost + wrong + srv + proto + cerr + failed + stalled,
		.gets = gets, .sets = sets, .misses = misses, .lat = all,
		.target_rps = o->rate, .unsent = unsent,
	};
	char extra[512];
	snprintf(extra, sizeof(extra),
		 "gets=%" PRIu64 " sets=%" PRIu64 " hits=%" PRIu64 " misses=%" PRIu64
		 " lost=%" PRIu64 " wrong=%" PRIu64 " server_errors=%" PRIu64
		 " proto_errors=%" PRIu64 " conn_errors=%" PRIu64 " failed=%" PRIu64
		 " keys=%" PRIu64 " theta=%.2f get_pct=%u preload=%d due=%" PRIu64
		 " setup_s=%.3f",
		 gets, sets, hits, misses, lost, wrong, srv, proto, cerr, failed,
		 o->keys, o->theta, o->get_pct, o->preload, due, setup_s);
	app_print_summary(o->csv ? stderr : stdout, &r, extra);
	if (o->csv)
		app_print_csv(stdout, &r);
	if (measured == 0 && r.errors == 0)
		fprintf(stderr, "mcload: no request completed\n");
	int ret = r.errors == 0 && measured > 0 ? 0 : 1;
	if (o->cdf) {
		int e = app_write_cdf(o->cdf, all);
		if (e) {
			fprintf(stderr, "mcload: --cdf %s: %s\n", o->cdf, strerror(-e));
			ret = 1;
		}
	}
	for (unsigned i = 0; i < o->threads; i++) {
		for (unsigned j = 0; j < o->conns; j++) {
			free(ts[i].conns[j].q);
			free(ts[i].conns[j].wbuf);
			free(ts[i].conns[j].rbuf);
		}
		free(ts[i].conns);
		close(ts[i].ep);
	}
	free(ts);
	free(all);
	free(sh.state);
	return ret;
}

int main(int argc, char **argv)
{
	struct mcl_opts o;
	char err[256];
	int rc = mcl_parse_args(argc, argv, &o, err, sizeof(err));
	if (rc < 0)
		mcl_usage_exit(err);
	if (rc == 1) {
		if (o.csv)
			puts(APP_CSV_HEADER);
		else
			fputs(MCL_USAGE, stdout);
		return 0;
	}
	return run(&o);
}
