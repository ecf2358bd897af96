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
		if (a.closed && b.closed && s->node[0].st->act_head == NS_NONE &&
		    s->node[1].st->act_head == NS_NONE && s->wire[0].n == 0 &&
		    s->wire[1].n == 0)
			break;
		next = sim_step(s);
		if (next > s->now && next != UINT64_MAX)
			s->now = next;
		else if (next == UINT64_MAX)
			s->now += 1000000;
		if (s->now > 4000ull * 1000000000ull)
			fail_msg("simulated time ran out: a %llu/%llu b %llu/%llu",
				 (unsigned long long)a.rcvd,
				 (unsigned long long)b.rcvd,
				 (unsigned long long)a.sent,
				 (unsigned long long)b.sent);
	}
	assert_int_equal(a.rcvd, bytes);
	assert_int_equal(b.rcvd, bytes);
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
	print_message("seed %llu loss %u ppm: %.1f s simulated, %llu frames, "
		      "%llu lost, %llu dup, %llu+%llu retransmits\n",
		      (unsigned long long)seed, loss_ppm,
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

static void t_clean_10mb(void **st) { (void)st; run(1, 0, 0, 0, 10 * MB); }
static void t_loss1_seed2(void **st) { (void)st; run(2, 10000, 0, 0, 10 * MB); }
static void t_loss5_reorder(void **st) { (void)st; run(3, 50000, 0, 50000, 10 * MB); }
static void t_loss10_dup(void **st) { (void)st; run(4, 100000, 20000, 20000, 10 * MB); }
static void t_loss10_seed5(void **st) { (void)st; run(5, 100000, 10000, 100000, 10 * MB); }
static void t_loss2_seed6(void **st) { (void)st; run(6, 20000, 10000, 10000, 10 * MB); }
static void t_dup_reorder(void **st) { (void)st; run(7, 0, 50000, 200000, 10 * MB); }
static void t_loss10_seed8(void **st) { (void)st; run(8, 100000, 0, 0, 10 * MB); }
static void t_loss3_seed9(void **st) { (void)st; run(9, 30000, 30000, 30000, 10 * MB); }

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
