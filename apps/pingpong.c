/*
 * pingpong.c: request/response (echo) benchmark, server and client in one
 * binary. The client measures requests/s and latency percentiles, closed
 * loop (-o requests always in flight per connection) or open loop (-r: a
 * Poisson schedule, see apps/app_common.h); the server echoes every byte. Usage and output: PP_USAGE in apps/pingpong.h,
 * output format in apps/app_common.h.
 *
 * Plain POSIX sockets + epoll + pthreads, so the same binary runs on the
 * Linux stack and unmodified under LD_PRELOAD=libhook.so. Each thread owns
 * its epoll instance, connections and histogram (shared nothing); threads
 * share only the run phase (main thread writes) and, in the server without
 * --reuseport, the listening socket.
 *
 * Client stream format: request k of a connection (k = 0, 1, ...) is `size`
 * bytes, byte j being (k + j) mod 256; the server returns the same bytes,
 * and the client checks every byte it gets back against that pattern, so a
 * lost, duplicated, reordered or corrupted byte is an error, not a number.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "apps/pingpong.h"

#define PP_RBUF   (64 * 1024)     /* bytes read per read() */
#define PP_EVENTS 256

static void pp_usage_exit(const char *why)
{
	if (why)
		fprintf(stderr, "pingpong: %s\n", why);
	fputs(PP_USAGE, stderr);
	exit(2);
}

/* ===== server =============================================================== */

/* one accepted connection; owned by the thread whose epoll holds it */
struct srv_conn {
	struct srv_conn *prev, *next; /* the thread's list of open connections */
	int fd;
	size_t wlen, woff;           /* pending echo bytes: buf[woff..wlen) */
	unsigned char buf[PP_RBUF];
};

struct srv_thread {
	pthread_t tid;
	int ep;
	int lfd;                      /* listener (own, or the shared one) */
	const struct pp_opts *o;
	_Atomic int *stop;
	struct srv_conn *conns;       /* open connections, closed at exit */
	uint64_t accepted, bytes, conn_errors;
	int ok;
};

/* the address of -a (IPv4 or IPv6) and port: its length */
static socklen_t pp_sockaddr(const struct pp_opts *o, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (o->v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = o->addr6;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr = o->addr;
	return sizeof(*a);
}

/* -a as text */
static const char *pp_addr_str(const struct pp_opts *o, char *buf, size_t n)
{
	return inet_ntop(o->v6 ? AF_INET6 : AF_INET,
			 o->v6 ? (const void *)&o->addr6 : (const void *)&o->addr,
			 buf, (socklen_t)n);
}

static int srv_listen(const struct pp_opts *o, uint16_t port)
{
	int fd = socket(o->v6 ? AF_INET6 : AF_INET,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	struct sockaddr_storage sa;
	socklen_t sl = pp_sockaddr(o, port, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sl) != 0 || listen(fd, 4096) != 0)
		goto fail;
	return fd;
fail:;
	int e = -errno;
	close(fd);
	return e;
}

static void srv_close(struct srv_thread *t, struct srv_conn *c)
{
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/* write pending bytes; 0 when all written, 1 when some remain, -errno */
static int srv_flush(struct srv_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->buf + c->woff, c->wlen - c->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -errno;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	return 0;
}

static void srv_accept(struct srv_thread *t)
{
	for (;;) {
		int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				t->conn_errors++;   /* EMFILE etc: counted, retried later */
			return;
		}
		struct srv_conn *c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			t->conn_errors++;
			continue;
		}
		c->fd = fd;
		c->wlen = c->woff = 0;
		app_set_nodelay(fd);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			t->conn_errors++;
			continue;
		}
		c->prev = NULL;
		c->next = t->conns;
		if (t->conns)
			t->conns->prev = c;
		t->conns = c;
		t->accepted++;
	}
}

static void srv_event(struct srv_thread *t, struct srv_conn *c, uint32_t events)
{
	int rc;
	if (c->wlen > 0) {                      /* waiting for EPOLLOUT */
		rc = srv_flush(c);
		if (rc < 0)
			goto dead;
		if (rc == 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
			if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
				goto dead;
		}
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = read(c->fd, c->buf, sizeof(c->buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0 && errno != ECONNRESET)
			t->conn_errors++;
		srv_close(t, c);               /* EOF: the client is done */
		return;
	}
	t->bytes += (uint64_t)n;
	c->wlen = (size_t)n;
	rc = srv_flush(c);
	if (rc < 0)
		goto dead;
	if (rc == 1) {                          /* stop reading until flushed */
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
			goto dead;
	}
	return;
dead:
	if (rc != -ECONNRESET && rc != -EPIPE)
		t->conn_errors++;
	srv_close(t, c);
}

static void *srv_main(void *arg)
{
	struct srv_thread *t = arg;
	struct epoll_event evs[PP_EVENTS];
	/* the listener is tagged with a NULL pointer */
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (t->o->threads > 1 && !t->o->reuseport)
		lev.events |= EPOLLEXCLUSIVE;   /* one waiter per new connection */
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->lfd, &lev) != 0) {
		perror("pingpong server: epoll_ctl(listener)");
		return NULL;
	}
	while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
		int n = epoll_wait(t->ep, evs, PP_EVENTS, 100);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				srv_accept(t);
			else
				srv_event(t, evs[i].data.ptr, evs[i].events);
		}
	}
	while (t->conns)
		srv_close(t, t->conns);
	t->ok = 1;
	return NULL;
}

static int run_server(const struct pp_opts *o)
{
	char abuf[INET6_ADDRSTRLEN];
	struct srv_thread *ts = calloc(o->threads, sizeof(*ts));
	_Atomic int stop = 0;
	if (ts == NULL)
		return 1;
	/* the first listener decides the port (-p 0 picks one) */
	int lfd0 = srv_listen(o, o->port);
	if (lfd0 < 0) {
		fprintf(stderr, "pingpong server: listen on %s:%u: %s\n",
			pp_addr_str(o, abuf, sizeof(abuf)), o->port,
			strerror(-lfd0));
		return 1;
	}
	struct sockaddr_in6 sa; /* the port is at the same offset in both */
	socklen_t sl = sizeof(sa);
	if (getsockname(lfd0, (struct sockaddr *)&sa, &sl) != 0) {
		perror("pingpong server: getsockname");
		return 1;
	}
	uint16_t port = ntohs(sa.sin6_port);
	for (unsigned i = 0; i < o->threads; i++) {
		ts[i].o = o;
		ts[i].stop = &stop;
		ts[i].lfd = lfd0;
		if (i > 0 && o->reuseport) {
			ts[i].lfd = srv_listen(o, port);
			if (ts[i].lfd < 0) {
				fprintf(stderr, "pingpong server: listener %u: %s\n", i,
					strerror(-ts[i].lfd));
				return 1;
			}
		}
		ts[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (ts[i].ep < 0) {
			perror("pingpong server: epoll_create1");
			return 1;
		}
	}
	/* workers block SIGINT/SIGTERM; the main thread waits for them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < o->threads; i++) {
		if (pthread_create(&ts[i].tid, NULL, srv_main, &ts[i]) != 0) {
			fprintf(stderr, "pingpong server: pthread_create failed\n");
			return 1;
		}
	}
	printf("pingpong server listening on %s:%u threads=%u%s\n",
	       pp_addr_str(o, abuf, sizeof(abuf)), port, o->threads,
	       o->reuseport ? " reuseport" : "");
	fflush(stdout);
	if (o->duration_s > 0) {
		struct timespec to = { .tv_sec = (time_t)o->duration_s,
			.tv_nsec = (long)((o->duration_s - (double)(time_t)o->duration_s) * 1e9) };
		while (sigtimedwait(&set, NULL, &to) < 0 && errno == EINTR)
			;
	} else {
		int sig;
		sigwait(&set, &sig);
	}
	atomic_store(&stop, 1);
	uint64_t acc = 0, bytes = 0, cerr = 0;
	int ok = 1;
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(ts[i].tid, NULL);
		acc += ts[i].accepted;
		bytes += ts[i].bytes;
		cerr += ts[i].conn_errors;
		ok &= ts[i].ok;
	}
	printf("pingpong server done accepted=%" PRIu64 " bytes=%" PRIu64
	       " conn_errors=%" PRIu64 "\n", acc, bytes, cerr);
	free(ts);
	return ok && cerr == 0 ? 0 : 1;
}

/* ===== client =============================================================== */

/* one client connection; owned by its thread */
struct cli_conn {
	int fd;                      /* -1 once dead */
	unsigned inflight;           /* requests sent, response not complete */
	uint64_t sent;               /* requests queued so far */
	uint64_t done;               /* responses completed so far */
	uint64_t resp_off;           /* bytes of response `done` received */
	uint64_t *ts;                /* send time of request k at [k % o] */
	unsigned char *wbuf;         /* queued request bytes: [woff, wlen) */
	size_t wlen, woff;
	bool want_out;               /* EPOLLOUT registered */
};

struct cli_thread {
	pthread_t tid;
	unsigned id;
	const struct pp_opts *o;
	_Atomic int *phase;
	_Atomic unsigned *connecting; /* threads not yet connected (run_client) */
	_Atomic uint64_t completed;  /* all phases, for --progress */
	uint64_t measured;           /* completed in the measured window */
	uint64_t conn_errors;        /* connects that failed, connections lost */
	uint64_t failed;             /* requests outstanding on a lost connection */
	uint64_t bad;                /* responses with wrong bytes */
	struct hist lat;
	int ep;
	struct cli_conn *conns;
	unsigned rr;                 /* open loop: next connection to try */
	struct app_sched sched;      /* open loop: what is due */
	char pad[64];                /* threads sit in one array: no false sharing */
};

static void cli_kill(struct cli_thread *t, struct cli_conn *c, bool bad)
{
	if (c->fd < 0)
		return;
	if (atomic_load_explicit(t->phase, memory_order_relaxed) != APP_STOP) {
		if (bad)
			t->bad++;
		else
			t->conn_errors++;
		t->failed += c->inflight;
	}
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* writes queued bytes, asking for EPOLLOUT while some remain */
static void cli_flush(struct cli_thread *t, struct cli_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				cli_kill(t, c, false);
				return;
			}
			if (!c->want_out) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
							  .data.ptr = c };
				if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
					cli_kill(t, c, false);
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
			cli_kill(t, c, false);
		c->want_out = false;
	}
}

/* appends request number c->sent, due at ts, to the connection's output */
static void cli_queue(struct cli_thread *t, struct cli_conn *c, uint64_t ts)
{
	const struct pp_opts *o = t->o;
	if (c->woff > 0) {                      /* compact behind a partial write */
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	unsigned char *p = c->wbuf + c->wlen;
	for (uint64_t j = 0; j < o->size; j++)
		p[j] = (unsigned char)(c->sent + j);
	c->ts[c->sent % o->outstanding] = ts;
	c->wlen += o->size;
	c->sent++;
	c->inflight++;
}

/* closed loop: keeps -o requests in flight on c */
static void cli_fill(struct cli_thread *t, struct cli_conn *c, uint64_t now)
{
	while (c->inflight < t->o->outstanding)
		cli_queue(t, c, now);
	if (c->wlen > c->woff)
		cli_flush(t, c);
}

/* open loop: sends the requests due by now on connections with a free slot */
static void cli_dispatch(struct cli_thread *t, uint64_t now)
{
	const struct pp_opts *o = t->o;
	app_sched_tick(&t->sched, now);
	while (t->sched.qlen > 0) {
		struct cli_conn *c = NULL;
		for (unsigned k = 0; k < o->conns && c == NULL; k++) {
			struct cli_conn *x = &t->conns[(t->rr + k) % o->conns];
			if (x->fd >= 0 && x->inflight < o->outstanding) {
				c = x;
				t->rr = (t->rr + k + 1) % o->conns;
			}
		}
		if (c == NULL)
			return;                     /* all slots busy: stays due */
		cli_queue(t, c, app_sched_pop(&t->sched));
		cli_flush(t, c);
	}
}

static void cli_read(struct cli_thread *t, struct cli_conn *c, unsigned char *buf)
{
	const struct pp_opts *o = t->o;
	ssize_t n = read(c->fd, buf, PP_RBUF);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		cli_kill(t, c, false);
		return;
	}
	uint64_t now = app_now_ns();
	int phase = atomic_load_explicit(t->phase, memory_order_relaxed);
	for (ssize_t i = 0; i < n;) {
		if (c->inflight == 0) {         /* bytes nobody asked for */
			cli_kill(t, c, true);
			return;
		}
		uint64_t want = o->size - c->resp_off;
		uint64_t have = (uint64_t)(n - i) < want ? (uint64_t)(n - i) : want;
		for (uint64_t j = 0; j < have; j++) {
			if (buf[i + (ssize_t)j] != (unsigned char)(c->done + c->resp_off + j)) {
				cli_kill(t, c, true);
				return;
			}
		}
		i += (ssize_t)have;
		c->resp_off += have;
		if (c->resp_off == o->size) {
			if (phase == APP_MEASURE) {
				hist_record(&t->lat, now - c->ts[c->done % o->outstanding]);
				t->measured++;
			}
			c->resp_off = 0;
			c->done++;
			c->inflight--;
			atomic_store_explicit(&t->completed,
				atomic_load_explicit(&t->completed, memory_order_relaxed) + 1,
				memory_order_relaxed);
		}
	}
	if (phase != APP_STOP && o->rate == 0)
		cli_fill(t, c, now);
}

static int cli_connect(const struct pp_opts *o)
{
	int fd = socket(o->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_storage sa;
	socklen_t sl = pp_sockaddr(o, o->port, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sl) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	app_set_nodelay(fd);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void *cli_main(void *arg)
{
	struct cli_thread *t = arg;
	const struct pp_opts *o = t->o;
	unsigned char *rbuf = malloc(PP_RBUF);
	struct epoll_event evs[PP_EVENTS];
	if (rbuf == NULL) {
		t->conn_errors += o->conns;
		return NULL;
	}
	uint64_t now = app_now_ns();
	for (unsigned i = 0; i < o->conns; i++) {
		struct cli_conn *c = &t->conns[i];
		c->fd = cli_connect(o);
		if (c->fd < 0) {
			char abuf[INET6_ADDRSTRLEN];
			if (t->conn_errors++ == 0)
				fprintf(stderr, "pingpong client: connect %s:%u: %s\n",
					pp_addr_str(o, abuf, sizeof(abuf)), o->port,
					strerror(-c->fd));
			c->fd = -1;
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
			close(c->fd);
			c->fd = -1;
			t->conn_errors++;
			continue;
		}
		if (o->rate == 0)
			cli_fill(t, c, now);
	}
	atomic_fetch_sub(t->connecting, 1);     /* the warm-up may start */
	app_sched_init(&t->sched, o->rate / o->threads, 0x5eed + t->id, app_now_ns());
	int ph;
	while ((ph = atomic_load_explicit(t->phase, memory_order_relaxed)) != APP_STOP) {
		t->sched.counting = ph == APP_MEASURE;
		int tmo = app_sched_timeout_ms(&t->sched, app_now_ns(), 10);
		int n = epoll_wait(t->ep, evs, PP_EVENTS, tmo);
		for (int i = 0; i < n; i++) {
			struct cli_conn *c = evs[i].data.ptr;
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				cli_read(t, c, rbuf);
			if (c->fd >= 0 && (evs[i].events & EPOLLOUT)) {
				if (o->rate == 0)
					cli_fill(t, c, app_now_ns());
				else
					cli_flush(t, c);
			}
		}
		if (o->rate > 0)
			cli_dispatch(t, app_now_ns());
	}
	for (unsigned i = 0; i < o->conns; i++)
		if (t->conns[i].fd >= 0)
			close(t->conns[i].fd);
	free(rbuf);
	return NULL;
}

static uint64_t cli_count(void *arg)
{
	struct cli_thread *ts = arg;
	uint64_t n = 0;
	for (unsigned i = 0; i < ts[0].o->threads; i++)
		n += atomic_load_explicit(&ts[i].completed, memory_order_relaxed);
	return n;
}

static int run_client(const struct pp_opts *o)
{
	_Atomic int phase = APP_WARMUP;
	_Atomic unsigned connecting = o->threads;
	struct cli_thread *ts = calloc(o->threads, sizeof(*ts));
	if (ts == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < o->threads; i++) {
		struct cli_thread *t = &ts[i];
		t->id = i;
		t->o = o;
		t->phase = &phase;
		t->connecting = &connecting;
		hist_init(&t->lat);
		t->ep = epoll_create1(EPOLL_CLOEXEC);
		t->conns = calloc(o->conns, sizeof(*t->conns));
		if (t->ep < 0 || t->conns == NULL) {
			perror("pingpong client: setup");
			return 1;
		}
		for (unsigned j = 0; j < o->conns; j++) {
			t->conns[j].ts = calloc(o->outstanding, sizeof(uint64_t));
			t->conns[j].wbuf = malloc(o->outstanding * o->size);
			if (!t->conns[j].ts || !t->conns[j].wbuf) {
				perror("pingpong client: setup");
				return 1;
			}
		}
	}
	for (unsigned i = 0; i < o->threads; i++)
		if (pthread_create(&ts[i].tid, NULL, cli_main, &ts[i]) != 0) {
			fprintf(stderr, "pingpong client: pthread_create failed\n");
			return 1;
		}
	double setup_s = app_wait_ready("pingpong client", &connecting, 60);
	double secs = app_drive(&phase, o->warmup_s, o->duration_s, o->progress,
				cli_count, ts);
	struct hist *all = malloc(sizeof(*all));
	if (all == NULL)
		return 1;
	hist_init(all);
	uint64_t measured = 0, cerr = 0, failed = 0, bad = 0, unsent = 0, due = 0;
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(ts[i].tid, NULL);
		hist_merge(all, &ts[i].lat);
		measured += ts[i].measured;
		cerr += ts[i].conn_errors;
		failed += ts[i].failed;
		bad += ts[i].bad;
		unsent += ts[i].sched.unsent;
		due += ts[i].sched.due;
	}
	struct app_result r = {
		.app = "pingpong", .threads = o->threads,
		.conns = o->threads * o->conns, .depth = o->outstanding,
		.size = o->size, .duration_s = secs, .requests = measured,
		.errors = cerr + failed + bad, .lat = all,
		.target_rps = o->rate, .unsent = unsent,
	};
	char extra[192];
	snprintf(extra, sizeof(extra),
		 "conn_errors=%" PRIu64 " failed=%" PRIu64 " bad_responses=%" PRIu64
		 " due=%" PRIu64 " setup_s=%.3f", cerr, failed, bad, due, setup_s);
	app_print_summary(o->csv ? stderr : stdout, &r, extra);
	if (o->csv)
		app_print_csv(stdout, &r);
	int rc = r.errors == 0 && measured > 0 ? 0 : 1;
	if (o->cdf) {
		int e = app_write_cdf(o->cdf, all);
		if (e) {
			fprintf(stderr, "pingpong client: --cdf %s: %s\n", o->cdf, strerror(-e));
			rc = 1;
		}
	}
	if (measured == 0 && r.errors == 0)
		fprintf(stderr, "pingpong client: no request completed\n");
	for (unsigned i = 0; i < o->threads; i++) {
		for (unsigned j = 0; j < o->conns; j++) {
			free(ts[i].conns[j].ts);
			free(ts[i].conns[j].wbuf);
		}
		free(ts[i].conns);
		close(ts[i].ep);
	}
	free(ts);
	free(all);
	return rc;
}

int main(int argc, char **argv)
{
	struct pp_opts o;
	char err[256];
	int rc = pp_parse_args(argc, argv, &o, err, sizeof(err));
	if (rc < 0)
		pp_usage_exit(err);
	if (rc == 1) {
		if (o.csv)
			puts(APP_CSV_HEADER);
		else
			fputs(PP_USAGE, stdout);
		return 0;
	}
	return o.mode == PP_SERVER ? run_server(&o) : run_client(&o);
}
