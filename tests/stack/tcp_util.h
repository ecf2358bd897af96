/*
 * tcp_util.h: helpers shared by the per-area TCP test files
 * (test_tcp_open.c, test_tcp_close.c, test_tcp_opts.c, test_tcp_timers.c,
 * test_tcp_recovery.c, test_tcp_sockopt.c): cmocka setup/teardown around
 * the fixture (tests/stack/fixture.h, whose teardown is the buffer-leak
 * check), a listener, an active open left in SYN_SENT, segments with SACK
 * blocks, and drivers that put a connection in each closing state.
 * Sequence numbers are relative to the ISNs just below 2^32.
 */
#ifndef NS_TEST_TCP_UTIL_H
#define NS_TEST_TCP_UTIL_H

#include "tests/stack/fixture.h"

static inline int tu_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_setup(f))
		return -1;
	*state = f;
	return 0;
}

static inline int tu_teardown(void **state)
{
	struct fx *f = *state;
	fx_teardown(f);
	free(f);
	return 0;
}

#define TU(x) cmocka_unit_test_setup_teardown(x, tu_setup, tu_teardown)

static inline struct ns_tcb *tu_tcb(struct fx *f, int sd)
{
	return &f->st->socks[sd].tcb;
}

static inline int tu_state(struct fx *f, int sd)
{
	return f->st->socks[sd].type == NS_SOCK_FREE ? -1 :
	       f->st->socks[sd].tcb.state;
}

/* a listener on f->lport (80) after fx_tcp_base() */
static inline void tu_listen(struct fx *f, int backlog)
{
	struct sockaddr_in a;
	f->lsd = ns_socket(f->st, SOCK_STREAM);
	assert_true(f->lsd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(f->lport);
	assert_int_equal(ns_bind(f->st, f->lsd, &a), 0);
	assert_int_equal(ns_listen(f->st, f->lsd, backlog), 0);
}

/* the embryonic child of the listener (SYN_RECEIVED), or -1 */
static inline int tu_find_state(struct fx *f, int state)
{
	uint32_t i;
	for (i = 0; i < f->cfg.max_socks; i++)
		if (f->st->socks[i].type == NS_SOCK_TCP &&
		    f->st->socks[i].tcb.state == state &&
		    (int)i != f->lsd)
			return (int)i;
	return -1;
}

/* active open to PEER:80 left in SYN_SENT; *syn is our SYN. Afterwards
 * f->lport is our port and f->pport the peer's, as the builders want. */
static inline void tu_syn_sent(struct fx *f, struct seg *syn)
{
	struct sockaddr_in a;
	fx_tcp_base(f);
	f->sd = ns_socket(f->st, SOCK_STREAM);
	assert_true(f->sd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(f->lport);
	a.sin_addr.s_addr = ip_be(PEER_IP);
	assert_int_equal(ns_connect(f->st, f->sd, &a), -EINPROGRESS);
	assert_true(fx_out(f, syn));
	assert_int_equal(syn->flags, F_SYN);
	f->pport = f->lport;
	f->lport = syn->sport;
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_SYN_SENT);
}

/* an ACK from the peer with SACK blocks (relative to our ISN) and, if the
 * fixture uses them, timestamps */
static inline void tu_sack(struct fx *f, uint32_t seq_rel, uint32_t ack_rel,
			   uint16_t win, const uint32_t (*blk)[2], int n)
{
	uint8_t o[40];
	uint32_t k = 0;
	int i;
	if (f->use_ts) {
		uint32_t v = htonl(f->peer_tsval), e = htonl(f->last_tsval);
		o[k++] = 1; o[k++] = 1; o[k++] = 8; o[k++] = 10;
		memcpy(o + k, &v, 4);
		memcpy(o + k + 4, &e, 4);
		k += 8;
		if (n > 3)
			n = 3;
	}
	o[k++] = 1; o[k++] = 1; o[k++] = 5; o[k++] = (uint8_t)(2 + 8 * n);
	for (i = 0; i < n; i++) {
		uint32_t a = htonl(f->our_iss + blk[i][0]);
		uint32_t z = htonl(f->our_iss + blk[i][1]);
		memcpy(o + k, &a, 4);
		memcpy(o + k + 4, &z, 4);
		k += 8;
	}
	fx_tcp_raw(f, F_ACK, f->peer_iss + seq_rel, f->our_iss + ack_rel, win,
		   NULL, 0, o, k);
}

/* send n bytes of pattern data and pop the segments; returns how many */
static inline int tu_send_pop(struct fx *f, uint32_t n)
{
	static char buf[65536];
	struct seg s;
	uint32_t i;
	int k = 0;
	for (i = 0; i < n && i < sizeof(buf); i++)
		buf[i] = (char)(i * 13 + 1);
	assert_int_equal(ns_send(f->st, f->sd, buf, n, 0), (ssize_t)n);
	while (fx_out(f, &s))
		k++;
	return k;
}

/* ESTABLISHED (passive) -> FIN_WAIT_1: ns_shutdown(SHUT_WR); our FIN is
 * at relative seq 1 */
static inline void tu_fin_wait_1(struct fx *f)
{
	struct seg s;
	fx_established_passive(f);
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_WR), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 1);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_1);
}

static inline void tu_fin_wait_2(struct fx *f)
{
	tu_fin_wait_1(f);
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
	assert_int_equal(fx_nout(f), 0);
}

static inline void tu_closing(struct fx *f)
{
	struct seg s;
	tu_fin_wait_1(f);
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSING);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
}

static inline void tu_time_wait(struct fx *f)
{
	struct seg s;
	tu_fin_wait_2(f);
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 2);
}

static inline void tu_close_wait(struct fx *f)
{
	struct seg s;
	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
}

/* CLOSE_WAIT -> LAST_ACK via shutdown (the sd stays valid) */
static inline void tu_last_ack(struct fx *f)
{
	struct seg s;
	tu_close_wait(f);
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_WR), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_LAST_ACK);
}

static inline int tu_getint(struct fx *f, int sd, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	assert_int_equal(ns_getsockopt(f->st, sd, level, name, &v, &l), 0);
	assert_int_equal(l, sizeof(int));
	return v;
}

static inline int tu_setint(struct fx *f, int sd, int level, int name, int v)
{
	return ns_setsockopt(f->st, sd, level, name, &v, sizeof(v));
}

#endif
