/*
 * test_sock_move.c: an accepted connection moved to another instance
 * (stack/sock_move.c, ns_sock_move).
 *
 * The simulated wire of sim.h joins a client (node 0) and server
 * instance A (node 1); a second server instance B with A's address and
 * MAC shares A's wire the way two queues share a NIC: every frame for the
 * server lands on A, and A's steering callback hands B the frames it has
 * no socket for (as vfs/steer.c does). The connection is accepted on A
 * with bytes unread and bytes unacknowledged, moved to B, and then must
 * carry data both ways byte-exact, through loss, and close cleanly, with
 * no segment (RST) from A about it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <cmocka.h>
#include <netinet/tcp.h>

#include "stack/ns_priv.h"
#include "tests/stack/sim.h"

struct world {
	struct sim s;
	struct sim_node b;          /* server instance B */
	struct nf_buf *handed[256]; /* frames A passed on, for B */
	unsigned nhanded;
	unsigned refused;           /* frames B was offered back */
};

static struct world *W;

/* A's steering callback: a frame A has no socket for goes to B, once */
static int to_b(void *arg, struct ns_stack *st, struct nf_buf *b)
{
	struct world *w = arg;
	(void)st;
	if (w->nhanded == 256) {
		w->refused++;
		return 0;
	}
	w->handed[w->nhanded++] = b;
	return 1;
}

static uint64_t step(struct world *w)
{
	uint64_t next = sim_step(&w->s), d;
	struct nf_buf *b;
	unsigned n = w->nhanded;

	w->nhanded = 0;
	d = ns_stack_poll(w->b.st, w->handed, (uint16_t)n, w->s.now);
	if (d < next)
		next = d;
	while ((b = fio_pop(&w->b.io)) != NULL) { /* B sends on A's wire */
		if (w->s.loss_ppm &&
		    sim_rand(&w->s) % 1000000 < w->s.loss_ppm) {
			fio_pool_put(b);
			w->s.lost++;
			continue;
		}
		sim_wire_put(&w->s, 0, b, w->s.now + w->s.delay_ns);
	}
	d = sim_wire_next(&w->s);
	return d < next ? d : next;
}

/* run until cond() holds or 30 simulated seconds pass */
static int run_until(struct world *w, int (*cond)(struct world *))
{
	uint64_t end = w->s.now + 30000000000ull;
	while (!cond(w) && w->s.now < end) {
		uint64_t next = step(w);
		if (next > w->s.now + 1000000)
			next = w->s.now + 1000000; /* at least every 1 ms */
		w->s.now = next > w->s.now ? next : w->s.now + 1000;
	}
	return cond(w);
}

static struct ns_stack *A(struct world *w) { return w->s.node[1].st; }
static struct ns_stack *C(struct world *w) { return w->s.node[0].st; }

static int g_lsd, g_csd, g_asd;
static int connected(struct world *w)
{
	if (g_asd < 0)
		g_asd = ns_accept(A(w), g_lsd, NULL);
	return g_asd >= 0 && (ns_sock_events(C(w), g_csd) & NS_EV_OUT);
}

static int setup(void **state)
{
	static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 2};
	struct world *w = calloc(1, sizeof(*w));
	struct ns_config c;
	(void)state;
	assert_non_null(w);
	assert_int_equal(sim_init(&w->s, 77, 64, 65536, 4096), 0);
	ns_config_default(&c);
	c.ip_be = htonl(0xc6120002u); /* A's address and MAC */
	c.prefix_len = 24;
	c.max_socks = 64;
	c.sndbuf = 65536;
	c.rcvbuf = 65536;
	c.time_wait_ms = 1000;
	c.seed = 99;
	assert_int_equal(sim_node_init(&w->b, &c, mac_a, 4096, w->s.now, 0), 0);
	ns_stack_set_steer_cb(A(w), to_b, NULL, w);
	W = w;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	ns_stack_fini(w->b.st);
	fio_clear(&w->b.io);
	sim_fini(&w->s);
	fio_fini(&w->b.io);
	fio_pool_del(w->b.pool);
	free(w->b.mem);
	sim_free(&w->s);
	free(w);
	return 0;
}

static void open_conn(struct world *w)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	a.sin_addr.s_addr = htonl(0xc6120002u);
	g_lsd = ns_socket(A(w), SOCK_STREAM);
	assert_true(g_lsd >= 0);
	assert_int_equal(ns_bind(A(w), g_lsd, &a), 0);
	assert_int_equal(ns_listen(A(w), g_lsd, 8), 0);
	g_csd = ns_socket(C(w), SOCK_STREAM);
	assert_true(g_csd >= 0);
	assert_int_equal(ns_connect(C(w), g_csd, &a), -EINPROGRESS);
	g_asd = -1;
	assert_true(run_until(w, connected));
}


static struct sim_flow c2s, s2c;
static int g_bsd, g_bad;
static int both_done(struct world *w)
{
	if (sim_pump(C(w), g_csd, &c2s, &s2c) ||
	    sim_pump(w->b.st, g_bsd, &s2c, &c2s))
		g_bad = 1;
	return g_bad || (c2s.rcvd == c2s.total && s2c.rcvd == s2c.total);
}

static uint64_t cnt(struct ns_stack *st, size_t off)
{
	return *(const uint64_t *)((const char *)ns_stack_counters(st) + off);
}

/* unread and unacknowledged bytes move with the connection; data then
 * flows both ways through 2% loss; FIN both ways ends it on B */
static void t_move_with_data(void **state)
{
	struct world *w = *state;
	uint8_t buf[1000];
	int i;
	open_conn(w);
	memset(&c2s, 0, sizeof(c2s));
	memset(&s2c, 0, sizeof(s2c));
	c2s.total = 2u << 20;
	c2s.dir = 0;
	s2c.total = 2u << 20;
	s2c.dir = 1;
	/* 1000 bytes from the client wait unread on A */
	for (i = 0; i < 1000; i++)
		buf[i] = sim_pat((uint64_t)i, 0);
	assert_int_equal(ns_send(C(w), g_csd, buf, 1000, 0), 1000);
	c2s.sent = 1000;
	for (i = 0; i < 20; i++)
		w->s.now += 1000000, (void)step(w);
	assert_true(ns_sock_events(A(w), g_asd) & NS_EV_IN);
	/* 3000 bytes from A still in flight when it moves */
	for (i = 0; i < 1000; i++)
		buf[i] = sim_pat((uint64_t)i, 1);
	assert_int_equal(ns_send(A(w), g_asd, buf, 1000, 0), 1000);
	for (i = 0; i < 1000; i++)
		buf[i] = sim_pat((uint64_t)i + 1000, 1);
	assert_int_equal(ns_send(A(w), g_asd, buf, 1000, 0), 1000);
	s2c.sent = 2000;

	/* a listener and a free slot do not move */
	assert_int_equal(ns_sock_move(A(w), g_lsd, w->b.st), -EBUSY);
	assert_int_equal(ns_sock_move(A(w), 63, w->b.st), -EBADF);
	assert_int_equal(ns_sock_move(A(w), g_asd, A(w)), -EBADF);

	g_bsd = ns_sock_move(A(w), g_asd, w->b.st);
	assert_true(g_bsd >= 0);
	assert_int_equal(ns_recv(A(w), g_asd, buf, 10, 0), -EBADF);
	assert_true(ns_sock_events(w->b.st, g_bsd) & NS_EV_IN);
	w->s.loss_ppm = 20000;
	g_bad = 0;
	assert_true(run_until(w, both_done));
	assert_int_equal(g_bad, 0);
	assert_int_equal(c2s.rcvd, c2s.total);
	assert_int_equal(s2c.rcvd, s2c.total);
	w->s.loss_ppm = 0;

	assert_int_equal(cnt(A(w), offsetof(struct ns_counters, tcp_moved_out)), 1);
	assert_int_equal(cnt(w->b.st, offsetof(struct ns_counters, tcp_moved_in)), 1);
	assert_true(cnt(A(w), offsetof(struct ns_counters, rx_steered_out)) > 100);
	assert_int_equal(cnt(A(w), offsetof(struct ns_counters, tcp_rst_sent)), 0);
	assert_int_equal(cnt(w->b.st, offsetof(struct ns_counters, tcp_rst_sent)), 0);
	assert_int_equal(w->refused, 0);

	/* orderly close from both ends: the client sees EOF from B */
	assert_int_equal(ns_close(w->b.st, g_bsd), 0);
	for (i = 0; i < 200; i++)
		w->s.now += 1000000, (void)step(w);
	assert_int_equal(ns_recv(C(w), g_csd, buf, sizeof(buf), 0), 0);
	assert_int_equal(ns_close(C(w), g_csd), 0);
	for (i = 0; i < 3000; i++)
		w->s.now += 1000000, (void)step(w);
	assert_int_equal(ns_stack_established(w->b.st), 0);
	assert_int_equal(ns_stack_established(C(w)), 0);
	assert_int_equal(cnt(C(w), offsetof(struct ns_counters, tcp_conn_reset)), 0);
	(void)ns_close(A(w), g_lsd);
}

/* a moved connection's timers go with it: data lost after the move is
 * retransmitted by B, and keepalive set on A keeps probing from B */
static void t_move_keeps_timers(void **state)
{
	struct world *w = *state;
	uint8_t buf[512];
	int on = 1, idle = 1, i;
	open_conn(w);
	assert_int_equal(ns_setsockopt(A(w), g_asd, SOL_SOCKET, SO_KEEPALIVE,
				       &on, sizeof(on)), 0);
	assert_int_equal(ns_setsockopt(A(w), g_asd, IPPROTO_TCP, TCP_KEEPIDLE,
				       &idle, sizeof(idle)), 0);
	g_bsd = ns_sock_move(A(w), g_asd, w->b.st);
	assert_true(g_bsd >= 0);
	memset(buf, 7, sizeof(buf));
	w->s.loss_ppm = 1000000; /* everything B sends now is lost ... */
	assert_int_equal(ns_send(w->b.st, g_bsd, buf, sizeof(buf), 0), 512);
	for (i = 0; i < 5; i++)
		w->s.now += 1000000, (void)step(w);
	w->s.loss_ppm = 0;       /* ... until the retransmission */
	for (i = 0; i < 4000 && ns_recv(C(w), g_csd, buf, sizeof(buf), 0) <= 0; i++)
		w->s.now += 1000000, (void)step(w);
	assert_true(i < 4000);
	assert_true(cnt(w->b.st, offsetof(struct ns_counters, tcp_rto_timeouts)) +
		    cnt(w->b.st, offsetof(struct ns_counters, tcp_tlp_probes)) > 0);
	for (i = 0; i < 2500; i++)
		w->s.now += 1000000, (void)step(w);
	assert_true(cnt(w->b.st, offsetof(struct ns_counters, tcp_keepalive_sent)) > 0);
	assert_int_equal(ns_abort(w->b.st, g_bsd), 0);
	(void)ns_close(A(w), g_lsd);
	for (i = 0; i < 50; i++)
		w->s.now += 1000000, (void)step(w);
	(void)ns_close(C(w), g_csd);
}

/* An ICMP "fragmentation needed" about the moved connection's data
 * lands on A (a device steers ICMP by its own addresses): A has no such
 * connection and hands it on; B lowers the connection's MSS */
static void t_icmp_error_follows_move(void **state)
{
	struct world *w = *state;
	static const uint8_t mac_c[6] = {2, 0, 0, 0, 0, 1};
	static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 2};
	uint8_t f[14 + 20 + 8 + 20 + 8], buf[4000];
	struct ns_ip4_hdr *ip = (struct ns_ip4_hdr *)(f + 14), *in;
	struct ns_icmp_hdr *ic = (struct ns_icmp_hdr *)(f + 34);
	struct nf_buf *b;
	uint16_t mss0;
	int i;
	open_conn(w);
	g_bsd = ns_sock_move(A(w), g_asd, w->b.st);
	assert_true(g_bsd >= 0);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(ns_send(w->b.st, g_bsd, buf, sizeof(buf), 0), 4000);
	(void)step(w); /* sent, not yet acknowledged */
	mss0 = w->b.st->socks[g_bsd].tcb.mss;
	memset(f, 0, sizeof(f));
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_c, 6);
	f[12] = 0x08;
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(20 + 8 + 20 + 8);
	ip->ttl = 64;
	ip->proto = 1;
	ip->src_be = htonl(0xc6120001u);
	ip->dst_be = htonl(0xc6120002u);
	ip->cksum_be = ns_cksum(ip, 20);
	ic->type = 3;
	ic->code = 4;
	ic->u.frag.mtu_be = htons(1000);
	in = (struct ns_ip4_hdr *)(f + 42);
	in->ver_ihl = 0x45;
	in->tot_len_be = htons(1500);
	in->ttl = 64;
	in->proto = 6;
	in->src_be = htonl(0xc6120002u);
	in->dst_be = htonl(0xc6120001u);
	in->cksum_be = ns_cksum(in, 20);
	{
		const struct ns_sock *so = &w->b.st->socks[g_bsd];
		uint32_t seq = htonl(so->tcb.snd_una);
		memcpy(f + 62, &so->lport_be, 2);
		memcpy(f + 64, &so->rport_be, 2);
		memcpy(f + 66, &seq, 4);
	}
	ic->cksum_be = ns_cksum(ic, 8 + 20 + 8);
	b = fio_frame(w->s.node[1].pool, f, sizeof(f));
	assert_non_null(b);
	(void)ns_stack_poll(A(w), &b, 1, w->s.now);
	assert_int_equal(w->nhanded, 1);
	for (i = 0; i < 3; i++)
		w->s.now += 1000000, (void)step(w);
	assert_int_equal(cnt(w->b.st, offsetof(struct ns_counters, icmp_pmtu_updates)), 1);
	assert_int_equal(cnt(A(w), offsetof(struct ns_counters, drop_icmp_unmatched)), 0);
	assert_true(w->b.st->socks[g_bsd].tcb.mss < mss0);
	assert_int_equal(ns_abort(w->b.st, g_bsd), 0);
	(void)ns_close(A(w), g_lsd);
	for (i = 0; i < 50; i++)
		w->s.now += 1000000, (void)step(w);
	(void)ns_close(C(w), g_csd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_move_with_data, setup, teardown),
		cmocka_unit_test_setup_teardown(t_move_keeps_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(t_icmp_error_follows_move, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
