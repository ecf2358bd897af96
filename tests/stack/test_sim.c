/*
 * test_sim.c: two instances in one process over a simulated wire with
 * loss, duplication, reordering and delay (tests/stack/sim.h). Each seed
 * opens a connection, moves N bytes each way at the same time, checks
 * every byte against a generator, closes cleanly on both sides (FIN,
 * TIME_WAIT), and checks that no buffer leaked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <cmocka.h>

#include "stack/ns_priv.h"
#include "tests/stack/sim.h"

/* the byte stream: a pseudo-random pattern with a prime period, kept
 * twice over so any window of up to PERIOD bytes is contiguous */
#define PERIOD 65521u
static uint8_t pat[2][2 * PERIOD];

static void pat_init(void)
{
	uint32_t i;
	int d;
	for (d = 0; d < 2; d++)
		for (i = 0; i < PERIOD; i++) {
			uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^
				     (uint64_t)d << 40;
			x ^= x >> 29;
			pat[d][i] = pat[d][i + PERIOD] = (uint8_t)(x ^ (x >> 11));
		}
}

struct app {
	int sd;
	uint64_t sent, rcvd, total;
	int dir;          /* generator for what this side sends */
	int eof, shut, closed;
};

static struct sim *g_sim;

static void dump(void)
{
	int k;
	uint32_t i;
	for (k = 0; k < 2 && g_sim; k++) {
		struct ns_stack *st = g_sim->node[k].st;
		for (i = 0; i < st->cfg.max_socks; i++) {
			struct ns_sock *so = &st->socks[i];
			struct ns_tcb *tp = &so->tcb;
			if (so->type != NS_SOCK_TCP)
				continue;
			print_message("node%d sd%u state %s una %u nxt %u max %u "
				"rcv_nxt %u(abs %u) rb_len %u ooo_n %u ts_recent %u "
				"last_ack_sent %u tf %x wnd %u\n", k, i,
				ns_tcp_state_names[tp->state], tp->snd_una - tp->iss,
				tp->snd_nxt - tp->iss, tp->snd_max - tp->iss,
				tp->rcv_nxt - tp->irs, tp->rcv_nxt, tp->rb_len, tp->ooo_n,
				tp->ts_recent, tp->last_ack_sent, tp->tf, tp->snd_wnd);
		}
	}
}

static void app_io(struct ns_stack *st, struct app *a)
{
	static uint8_t buf[65536];
	ssize_t n;
	if (a->sd < 0 || a->closed)
		return;
	while (a->sent < a->total) {
		uint64_t want = a->total - a->sent;
		if (want > PERIOD)
			want = PERIOD;
		n = ns_send(st, a->sd, pat[a->dir] + a->sent % PERIOD, want, 0);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			dump();
			fail_msg("send: %zd", n);
		}
		a->sent += (uint64_t)n;
	}
	if (a->sent == a->total && !a->shut) {
		assert_int_equal(ns_shutdown(st, a->sd, SHUT_WR), 0);
		a->shut = 1;
	}
	for (;;) {
		n = ns_recv(st, a->sd, buf, PERIOD, 0);
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			a->eof = 1;
			break;
		}
		assert_true(n > 0);
		if (memcmp(buf, pat[1 - a->dir] + a->rcvd % PERIOD, (size_t)n))
			fail_msg("stream differs near byte %llu",
				 (unsigned long long)a->rcvd);
		a->rcvd += (uint64_t)n;
	}
	if (a->eof && a->shut && !a->closed) {
		assert_int_equal(ns_close(st, a->sd), 0);
		a->closed = 1;
	}
}

static uint32_t g_caps;   /* io capabilities for the next run() */
static uint32_t g_max_rb[2]; /* largest receive limit seen per side */

/* the sender's state when a run stalls, to see why */
static void dump_tcb(const char *who, const struct ns_tcb *tp)
{
	unsigned i;
	print_message("%s: state %u una %u nxt %u max %u cwnd %u ssthresh %u "
		      "wnd %u rec %u tf %#x rxt_shift %u nsacked %u ntxl %u\n",
		      who, tp->state, tp->snd_una - tp->iss,
		      tp->snd_nxt - tp->iss, tp->snd_max - tp->iss, tp->cwnd,
		      tp->ssthresh, tp->snd_wnd, tp->recover - tp->iss, tp->tf,
		      tp->rxt_shift, tp->nsacked, tp->ntxl);
	for (i = 0; i < tp->nsacked; i++)
		print_message("  sacked %u-%u\n", tp->sacked[i].start - tp->iss,
			      tp->sacked[i].end - tp->iss);
	for (i = 0; i < tp->ntxl; i++)
		print_message("  rec %u-%u fl %u\n", tp->txl[i].start - tp->iss,
			      tp->txl[i].end - tp->iss, tp->txl[i].fl);
}

static void run(uint64_t seed, uint32_t loss_ppm, uint32_t dup_ppm,
		uint32_t reorder_ppm, uint64_t bytes)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct app a = { .sd = -1, .total = bytes, .dir = 0 };
	struct app b = { .sd = -1, .total = bytes, .dir = 1 };
	struct sockaddr_in sa;
	int lsd, iter;
	uint64_t next;

	assert_non_null(s);
	g_sim = s;
	s->caps = g_caps;
	assert_int_equal(sim_init(s, seed, 8, 256 * 1024, 4096), 0);
	s->loss_ppm = loss_ppm;
	s->dup_ppm = dup_ppm;
	s->reorder_ppm = reorder_ppm;
	s->jitter_ns = (loss_ppm || dup_ppm || reorder_ppm) ? 200000 : 0;
	/* node 1 listens, node 0 connects */
	lsd = ns_socket(s->node[1].st, SOCK_STREAM);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(7000);
	assert_int_equal(ns_bind(s->node[1].st, lsd, &sa), 0);
	assert_int_equal(ns_listen(s->node[1].st, lsd, 4), 0);
	a.sd = ns_socket(s->node[0].st, SOCK_STREAM);
	sa.sin_addr.s_addr = htonl(0xc6120002u);
	assert_int_equal(ns_connect(s->node[0].st, a.sd, &sa), -EINPROGRESS);
	for (iter = 0; iter < 20000000; iter++) {
		next = sim_step(s);
		if (b.sd < 0) {
			int c = ns_accept(s->node[1].st, lsd, NULL);
			if (c >= 0) {
				b.sd = c;
				ns_close(s->node[1].st, lsd);
				lsd = -1;
			}
		}
		if (a.sd >= 0 && !a.closed &&
		    (ns_sock_events(s->node[0].st, a.sd) & NS_EV_OUT))
			app_io(s->node[0].st, &a);
		else if (a.sd >= 0 && !a.closed)
			app_io(s->node[0].st, &a);
		app_io(s->node[1].st, &b);
		if (a.sd >= 0 && !a.closed &&
		    s->node[0].st->socks[a.sd].tcb.rb_lim > g_max_rb[0])
			g_max_rb[0] = s->node[0].st->socks[a.sd].tcb.rb_lim;
		if (b.sd >= 0 && !b.closed &&
		    s->node[1].st->socks[b.sd].tcb.rb_lim > g_max_rb[1])
			g_max_rb[1] = s->node[1].st->socks[b.sd].tcb.rb_lim;
		if (a.closed && b.closed && s->node[0].st->act_head == NS_NONE &&
		    s->node[1].st->act_head == NS_NONE && s->wire[0].n == 0 &&
		    s->wire[1].n == 0)
			break;
		next = sim_step(s);
		if (next > s->now && next != UINT64_MAX)
			s->now = next;
		else if (next == UINT64_MAX)
			s->now += 1000000;
		if (s->now > 4000ull * 1000000000ull) {
			if (b.sd >= 0)
				dump_tcb("b", &s->node[1].st->socks[b.sd].tcb);
			fail_msg("simulated time ran out: a %llu/%llu b %llu/%llu",
				 (unsigned long long)a.rcvd,
				 (unsigned long long)b.rcvd,
				 (unsigned long long)a.sent,
				 (unsigned long long)b.sent);
		}
	}
	assert_int_equal(a.rcvd, bytes);
	assert_int_equal(b.rcvd, bytes);
	assert_int_equal(s->oversize, 0);   /* nothing past the MTU */
	if (s->caps & NF_CAP_TSO) {
		/* most data left as TSO frames of many segments */
		assert_true(s->node[0].io.gso_in > 0 && s->node[1].io.gso_in > 0);
		assert_true(s->node[0].io.gso_out > s->node[0].io.gso_in);
		print_message("tso: %llu frames -> %llu segments\n",
			      (unsigned long long)s->node[0].io.gso_in,
			      (unsigned long long)s->node[0].io.gso_out);
	}
	assert_true(a.eof && b.eof && a.closed && b.closed);
	{
		unsigned k, c;
		for (k = 0; k < 2; k++)
			for (c = 0; c < ns_counter_count; c++) {
				uint64_t v = ((const uint64_t *)ns_stack_counters(s->node[k].st))[c];
				if (v && getenv("SIM_VERBOSE"))
					print_message("  node%u %s=%llu\n", k, ns_counter_names[c], (unsigned long long)v);
			}
	}
	print_message("seed %llu loss %u ppm%s: %.1f s simulated, %llu frames, "
		      "%llu lost, %llu dup, %llu+%llu retransmits\n",
		      (unsigned long long)seed, loss_ppm,
		      s->caps ? " tso" : "",
		      (double)(s->now - 1000000000ull) / 1e9,
		      (unsigned long long)s->delivered,
		      (unsigned long long)s->lost,
		      (unsigned long long)s->duplicated,
		      (unsigned long long)ns_stack_counters(s->node[0].st)->tcp_retransmits,
		      (unsigned long long)ns_stack_counters(s->node[1].st)->tcp_retransmits);
	sim_fini(s);
	assert_int_equal(sim_outstanding(s), 0);
	sim_free(s);
	free(s);
}

#define MB (1024ull * 1024)

static void t_clean_10mb(void **st)
{
	(void)st;
	g_max_rb[0] = g_max_rb[1] = 0;
	run(1, 0, 0, 0, 10 * MB);
	/* 256 KiB rings, sockets start at 64 KiB (ns_config_default): the
	 * readers drain at once, so auto-tuning opens both windows */
	assert_true(g_max_rb[0] > 64 * 1024);
	assert_true(g_max_rb[1] > 64 * 1024);
	assert_true(g_max_rb[0] <= 256 * 1024 && g_max_rb[1] <= 256 * 1024);
}
static void t_loss1_seed2(void **st) { (void)st; run(2, 10000, 0, 0, 10 * MB); }
static void t_loss5_reorder(void **st) { (void)st; run(3, 50000, 0, 50000, 10 * MB); }
static void t_loss10_dup(void **st) { (void)st; run(4, 100000, 20000, 20000, 10 * MB); }
static void t_loss10_seed5(void **st) { (void)st; run(5, 100000, 10000, 100000, 10 * MB); }
static void t_loss2_seed6(void **st) { (void)st; run(6, 20000, 10000, 10000, 10 * MB); }
static void t_dup_reorder(void **st) { (void)st; run(7, 0, 50000, 200000, 10 * MB); }
static void t_loss10_seed8(void **st) { (void)st; run(8, 100000, 0, 0, 10 * MB); }
static void t_loss3_seed9(void **st) { (void)st; run(9, 30000, 30000, 30000, 10 * MB); }


/* UDP datagrams of many sizes (fragmented above the MTU) between the two
 * instances, over a lossy, reordering wire: each arrives whole or not at
 * all, and incomplete reassemblies time out without leaking */
static void udp_run(uint64_t seed, uint32_t loss_ppm)
{
	struct sim *s = calloc(1, sizeof(*s));
	static uint8_t buf[70000];
	struct sockaddr_in sa;
	int u0, u1, i, got = 0, k;
	uint32_t sizes[40];

	assert_non_null(s);
	assert_int_equal(sim_init(s, seed, 8, 64 * 1024, 4096), 0);
	s->loss_ppm = loss_ppm;
	s->reorder_ppm = 100000;
	s->jitter_ns = 100000;
	u1 = ns_socket(s->node[1].st, SOCK_DGRAM);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(53);
	assert_int_equal(ns_bind(s->node[1].st, u1, &sa), 0);
	u0 = ns_socket(s->node[0].st, SOCK_DGRAM);
	sa.sin_addr.s_addr = htonl(0xc6120002u);
	/* resolve ARP first */
	assert_int_equal(ns_sendmsg(s->node[0].st, u0, &(struct iovec){"a", 1},
				    1, 0, &sa), 1);
	for (k = 0; k < 100; k++) {
		s->now += 1000000;
		sim_step(s);
	}
	while (ns_recv(s->node[1].st, u1, buf, sizeof(buf), 0) > 0)
		;
	for (i = 0; i < 40; i++) {
		sizes[i] = 1 + (uint32_t)(sim_rand(s) % 20000);
		assert_int_equal(ns_sendmsg(s->node[0].st, u0,
			&(struct iovec){pat[0] + i, sizes[i]}, 1, 0, &sa),
			(ssize_t)sizes[i]);
		for (k = 0; k < 20; k++) {
			ssize_t n;
			s->now += 200000;
			sim_step(s);
			while ((n = ns_recv(s->node[1].st, u1, buf, sizeof(buf),
					    0)) > 0) {
				int j, match = 0;
				for (j = 0; j <= i; j++)
					if ((uint32_t)n == sizes[j] &&
					    !memcmp(buf, pat[0] + j, (size_t)n))
						match = 1;
				assert_true(match);
				got++;
			}
		}
	}
	for (k = 0; k < 400; k++) {        /* let reassembly time out */
		s->now += 100000000ull;
		sim_step(s);
	}
	if (!loss_ppm)
		assert_int_equal(got, 40);
	else
		assert_true(got > 0);
	assert_int_equal(s->node[1].st->reass_used, 0);
	print_message("udp seed %llu loss %u: %d/40 datagrams, %llu reassembled, "
		      "%llu timed out\n", (unsigned long long)seed, loss_ppm, got,
		      (unsigned long long)ns_stack_counters(s->node[1].st)->frag_reassembled,
		      (unsigned long long)ns_stack_counters(s->node[1].st)->drop_frag_timeout);
	ns_close(s->node[0].st, u0);
	ns_close(s->node[1].st, u1);
	sim_fini(s);
	assert_int_equal(sim_outstanding(s), 0);
	sim_free(s);
	free(s);
}

static void t_udp_frag_clean(void **st) { (void)st; udp_run(11, 0); }
static void t_udp_frag_lossy(void **st) { (void)st; udp_run(12, 50000); }


/* many connections at once over one lossy wire (hash, timers, lists) */
static void run_multi(uint64_t seed, int nconn, uint32_t loss_ppm,
		      uint64_t bytes)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct app *a = calloc((size_t)nconn, sizeof(*a));
	struct app *b = calloc((size_t)nconn, sizeof(*b));
	struct sockaddr_in sa;
	int lsd, i, nb = 0, iter, done;

	assert_true(s && a && b);
	g_sim = s;
	assert_int_equal(sim_init(s, seed, (uint32_t)(2 * nconn + 4), 64 * 1024,
				  8192), 0);
	s->loss_ppm = loss_ppm;
	s->reorder_ppm = 20000;
	s->jitter_ns = 100000;
	lsd = ns_socket(s->node[1].st, SOCK_STREAM);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(8000);
	assert_int_equal(ns_bind(s->node[1].st, lsd, &sa), 0);
	assert_int_equal(ns_listen(s->node[1].st, lsd, nconn), 0);
	sa.sin_addr.s_addr = htonl(0xc6120002u);
	for (i = 0; i < nconn; i++) {
		a[i].sd = ns_socket(s->node[0].st, SOCK_STREAM);
		a[i].total = b[i].total = bytes;
		a[i].dir = 0;
		b[i].dir = 1;
		b[i].sd = -1;
		assert_int_equal(ns_connect(s->node[0].st, a[i].sd, &sa),
				 -EINPROGRESS);
	}
	for (iter = 0; iter < 5000000; iter++) {
		uint64_t next = sim_step(s);
		int c;
		while (nb < nconn && (c = ns_accept(s->node[1].st, lsd, NULL)) >= 0)
			b[nb++].sd = c;
		for (i = 0; i < nconn; i++) {
			app_io(s->node[0].st, &a[i]);
			app_io(s->node[1].st, &b[i]);
		}
		done = 1;
		for (i = 0; i < nconn; i++)
			if (!a[i].closed || !b[i].closed)
				done = 0;
		if (done && s->node[0].st->act_head == NS_NONE &&
		    s->node[1].st->act_head == NS_NONE)
			break;
		next = sim_step(s);
		if (next > s->now && next != UINT64_MAX)
			s->now = next;
		else if (next == UINT64_MAX)
			s->now += 1000000;
		assert_true(s->now < 4000ull * 1000000000ull);
	}
	for (i = 0; i < nconn; i++) {
		assert_int_equal(a[i].rcvd, bytes);
		assert_int_equal(b[i].rcvd, bytes);
	}
	assert_int_equal(s->oversize, 0);
	print_message("multi seed %llu: %d connections, %.1f s simulated, "
		      "%llu frames\n", (unsigned long long)seed, nconn,
		      (double)(s->now - 1000000000ull) / 1e9,
		      (unsigned long long)s->delivered);
	ns_close(s->node[1].st, lsd);
	sim_fini(s);
	assert_int_equal(sim_outstanding(s), 0);
	sim_free(s);
	free(s);
	free(a);
	free(b);
}

static void t_multi_conn(void **st) { (void)st; run_multi(41, 24, 20000, 512 * 1024); }


/* the native callback API: an echo server written only as callbacks */
struct echo_srv {
	int lsd;
	int accepted, closed;
	uint64_t echoed;
};

static void echo_cb(void *arg, struct ns_stack *st, int sd, uint32_t ev)
{
	struct echo_srv *e = arg;
	static uint8_t b[16384];
	ssize_t n;

	if (sd == e->lsd) {
		int c;
		while ((c = ns_accept(st, sd, NULL)) >= 0)
			e->accepted++;
		return;
	}
	if (!(ev & (NS_EV_IN | NS_EV_OUT)))
		return;
	for (;;) {
		ssize_t m;
		n = ns_recv(st, sd, b, 4096, MSG_PEEK);
		if (n == 0) {
			ns_close(st, sd);
			e->closed++;
			return;
		}
		if (n < 0)
			return;
		m = ns_send(st, sd, b, (size_t)n, 0);
		if (m <= 0)
			return;       /* full: the next OUT event resumes */
		assert_int_equal(ns_recv(st, sd, b, (size_t)m, 0), m);
		e->echoed += (uint64_t)m;
	}
}

static void t_callback_echo(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct echo_srv e = { .lsd = -1 };
	static uint8_t rb[65536];
	struct sockaddr_in sa;
	uint64_t sent = 0, rcvd = 0, total = 300000;
	int c, iter, shut = 0, eof = 0;
	(void)state;

	assert_non_null(s);
	assert_int_equal(sim_init(s, 21, 8, 64 * 1024, 4096), 0);
	s->loss_ppm = 20000;
	s->jitter_ns = 100000;
	e.lsd = ns_socket(s->node[1].st, SOCK_STREAM);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(7);
	assert_int_equal(ns_bind(s->node[1].st, e.lsd, &sa), 0);
	assert_int_equal(ns_listen(s->node[1].st, e.lsd, 8), 0);
	ns_stack_set_event_cb(s->node[1].st, echo_cb, &e);
	c = ns_socket(s->node[0].st, SOCK_STREAM);
	sa.sin_addr.s_addr = htonl(0xc6120002u);
	assert_int_equal(ns_connect(s->node[0].st, c, &sa), -EINPROGRESS);
	for (iter = 0; iter < 2000000 && !(eof && e.closed); iter++) {
		uint64_t next = sim_step(s);
		ssize_t n;
		if (ns_sock_events(s->node[0].st, c) & NS_EV_OUT) {
			while (sent < total) {
				uint64_t w = total - sent > 8192 ? 8192 : total - sent;
				n = ns_send(s->node[0].st, c, pat[0] + sent % PERIOD,
					    w, 0);
				if (n <= 0)
					break;
				sent += (uint64_t)n;
			}
			if (sent == total && !shut) {
				ns_shutdown(s->node[0].st, c, SHUT_WR);
				shut = 1;
			}
		}
		while ((n = ns_recv(s->node[0].st, c, rb, sizeof(rb), 0)) > 0) {
			assert_memory_equal(rb, pat[0] + rcvd % PERIOD, (size_t)n);
			rcvd += (uint64_t)n;
		}
		if (n == 0)
			eof = 1;
		next = sim_step(s);
		if (next > s->now && next != UINT64_MAX)
			s->now = next;
		else if (next == UINT64_MAX)
			s->now += 1000000;
	}
	assert_int_equal(e.accepted, 1);
	assert_int_equal(e.closed, 1);
	assert_int_equal(rcvd, total);
	assert_int_equal(e.echoed, total);
	ns_close(s->node[0].st, c);
	for (iter = 0; iter < 100; iter++) {
		s->now += 100000000ull;
		sim_step(s);
	}
	sim_fini(s);
	assert_int_equal(sim_outstanding(s), 0);
	sim_free(s);
	free(s);
}


/* NS_SIM_SEEDS=N runs N more seeds with random impairments (not part of
 * make check; for soak runs) */
static void t_env_seeds(void **state)
{
	const char *e = getenv("NS_SIM_SEEDS");
	long n = e ? atol(e) : 0, i;
	(void)state;
	for (i = 0; i < n; i++) {
		uint64_t seed = 1000 + (uint64_t)i;
		uint64_t x = seed * 0x9e3779b97f4a7c15ull;
		uint32_t loss = (uint32_t)((x >> 8) % 100001);
		uint32_t dup = (uint32_t)((x >> 24) % 50001);
		uint32_t reo = (uint32_t)((x >> 40) % 200001);
		run(seed, loss, dup, reo, (1 + (x >> 56) % 4) * MB);
	}
}


/* io/ offers checksum offload and TSO: the stack hands over 64 KiB
 * frames and io/ (here the fake io's software GSO) cuts them */
#define ALL_OFFLOADS (NF_CAP_TX_IP_CKSUM | NF_CAP_TX_L4_CKSUM | NF_CAP_TSO | \
		      NF_CAP_MULTI_SEG)
static void t_tso_clean(void **st)
{
	(void)st;
	g_caps = ALL_OFFLOADS;
	run(31, 0, 0, 0, 10 * MB);
	g_caps = 0;
}

static void t_tso_lossy(void **st)
{
	(void)st;
	g_caps = ALL_OFFLOADS;
	run(32, 30000, 10000, 30000, 10 * MB);
	g_caps = 0;
}

int main(void)
{
	pat_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_clean_10mb),
		cmocka_unit_test(t_loss1_seed2),
		cmocka_unit_test(t_loss5_reorder),
		cmocka_unit_test(t_loss10_dup),
		cmocka_unit_test(t_loss10_seed5),
		cmocka_unit_test(t_loss2_seed6),
		cmocka_unit_test(t_dup_reorder),
		cmocka_unit_test(t_loss10_seed8),
		cmocka_unit_test(t_loss3_seed9),
		cmocka_unit_test(t_udp_frag_clean),
		cmocka_unit_test(t_udp_frag_lossy),
		cmocka_unit_test(t_callback_echo),
		cmocka_unit_test(t_multi_conn),
		cmocka_unit_test(t_tso_clean),
		cmocka_unit_test(t_tso_lossy),
		cmocka_unit_test(t_env_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
