/*
 * test_tcp_sockopt.c: what the application controls: Nagle and
 * TCP_NODELAY (RFC 1122 4.2.3.4, RFC 896), TCP_CORK and MSG_MORE, sender
 * and receiver silly-window avoidance (RFC 1122 4.2.3.3-4), socket
 * options with their Linux errnos, TCP_INFO, and SO_RCVBUF/SO_SNDBUF
 * with buffer auto-tuning (receive: Linux tcp_rcv_space_adjust / DRS,
 * send: growth with cwnd; an explicit size locks it). Fixture:
 * tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

/* ---- Nagle, NODELAY, CORK, MSG_MORE ------------------------------------ */

static void t_nagle_holds_second_small(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_send(f->st, f->sd, "b", 1, 0), 1);
	assert_int_equal(ns_send(f->st, f->sd, "c", 1, 0), 1);
	assert_int_equal(fx_nout(f), 0);             /* "a" unacked */
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 2);
	assert_int_equal(s.len, 2);                   /* coalesced */
	assert_memory_equal(s.data, "bc", 2);
}

static void t_nagle_full_segment_not_held(void **state)
{
	struct fx *f = *state;
	static char d[2000];
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_send(f->st, f->sd, d, 2000, 0), 2000);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1460);               /* full: goes */
	assert_int_equal(fx_nout(f), 0);             /* the 540 tail waits */
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 540);
}

static void t_nodelay_each_small_goes(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_int_equal(ns_send(f->st, f->sd, "b", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_true(fx_out(f, &s));
	assert_int_equal(s.srel, 2);
}

static void t_nodelay_set_flushes_held(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "a", 1, 0), 1);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_send(f->st, f->sd, "b", 1, 0), 1);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	assert_true(fx_out(f, &s));                  /* as Linux: pushed */
	assert_int_equal(s.srel, 2);
}

static void t_cork_holds_partial(void **state)
{
	struct fx *f = *state;
	static char d[1500];
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_CORK, 1), 0);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_CORK), 1);
	assert_int_equal(ns_send(f->st, f->sd, d, 100, 0), 100);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(ns_send(f->st, f->sd, d, 1400, 0), 1400);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1460);               /* a full segment */
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_CORK, 0), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 40);
}

static void t_cork_released_by_timer(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_CORK, 1), 0);
	assert_int_equal(ns_send(f->st, f->sd, "corked", 6, 0), 6);
	assert_int_equal(fx_nout(f), 0);
	/* as Linux: a corked partial frame leaves after 200 ms */
	fx_advance(f, 200 * NS_MS);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 6);
}

static void t_msg_more_then_plain(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "ab", 2, MSG_MORE), 2);
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(ns_send(f->st, f->sd, "cd", 2, 0), 2);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 4);
	assert_memory_equal(s.data, "abcd", 4);
	assert_true(s.flags & F_PSH);
}

static void t_msg_more_full_segment_goes(void **state)
{
	struct fx *f = *state;
	static char d[3000];
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, d, 3000, MSG_MORE), 3000);
	assert_true(fx_out(f, &s));
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 1460);
	assert_int_equal(fx_nout(f), 0);             /* 80 bytes held */
}

/* ---- silly window syndrome --------------------------------------------- */

static void t_sender_sws_small_window_waits(void **state)
{
	struct fx *f = *state;
	static char d[1000];
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 500, NULL, 0);         /* max_sndwnd 65535 */
	assert_int_equal(ns_send(f->st, f->sd, d, 1000, 0), 1000);
	/* RFC 1122 4.2.3.4: 500 < MSS, < all queued, < max window / 2 */
	assert_int_equal(fx_nout(f), 0);
	assert_true(fx_tcb(f)->t_persist != 0);
	fx_advance(f, fx_tcb(f)->t_persist - f->now); /* override timeout */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 500);
}

static void t_sender_sws_all_queued_fits(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	fx_tcp(f, F_ACK, 1, 1, 500, NULL, 0);
	assert_int_equal(ns_send(f->st, f->sd, "tiny", 4, 0), 4);
	assert_true(fx_out(f, &s));                  /* (b): it all fits */
	assert_int_equal(s.len, 4);
}

static void t_receiver_sws_window_update_threshold(void **state)
{
	struct fx *f = *state;
	static char d[1460];
	char buf[70000];
	struct seg s;
	uint32_t sent = 0;

	fx_established_passive(f);
	/* fill the whole 64 KiB window */
	while (sent + 1460 <= 65535) {
		fx_tcp(f, F_ACK, 1 + sent, 1, 65535, d, 1460);
		sent += 1460;
	}
	fx_tcp(f, F_ACK, 1 + sent, 1, 65535, d, 65535 - sent);
	sent = 65535;
	fio_clear(&f->io);
	fx_advance(f, NS_TCP_DELACK_NS);
	fio_clear(&f->io);
	/* reading a little does not announce a silly window */
	assert_int_equal(ns_recv(f->st, f->sd, buf, 100, 0), 100);
	assert_int_equal(fx_nout(f), 0);
	/* reading 2 MSS does (RFC 1122 4.2.3.3) */
	assert_int_equal(ns_recv(f->st, f->sd, buf, 2 * 1460, 0), 2 * 1460);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_true(s.win >= 2 * 1460);
}

/* ---- options and errnos ------------------------------------------------ */

static void t_opt_bad_sd_and_len(void **state)
{
	struct fx *f = *state;
	int v = 1;
	socklen_t l = 2;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, 999, IPPROTO_TCP, TCP_NODELAY, 1), -EBADF);
	assert_int_equal(ns_getsockopt(f->st, 999, IPPROTO_TCP, TCP_NODELAY,
				       &v, &l), -EBADF);
	assert_int_equal(ns_setsockopt(f->st, f->sd, IPPROTO_TCP, TCP_NODELAY,
				       &v, 2), -EINVAL);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_NODELAY,
				       &v, &l), -EINVAL);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_NODELAY,
				       NULL, &l), -EFAULT);
}

static void t_opt_unknown_enoprotoopt(void **state)
{
	struct fx *f = *state;
	int v = 1;
	socklen_t l = sizeof(v);

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_BROADCAST + 1000, 1),
			 -ENOPROTOOPT);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, 9999, 1), -ENOPROTOOPT);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, 9999, &v, &l),
			 -ENOPROTOOPT);
	assert_int_equal(tu_setint(f, f->sd, 12345, 1, 1), -ENOPROTOOPT);
}

static void t_opt_tcp_level_on_udp(void **state)
{
	struct fx *f = *state;
	int sd = ns_socket(f->st, SOCK_DGRAM);
	int v = 1;
	socklen_t l = sizeof(v);

	assert_true(sd >= 0);
	assert_int_equal(tu_setint(f, sd, IPPROTO_TCP, TCP_NODELAY, 1),
			 -ENOPROTOOPT);
	assert_int_equal(ns_getsockopt(f->st, sd, IPPROTO_TCP, TCP_INFO, &v,
				       &l), -ENOPROTOOPT);
	assert_int_equal(tu_getint(f, sd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	ns_close(f->st, sd);
}

static void t_opt_keepalive_ranges(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, 0),
			 -EINVAL);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, 32768),
			 -EINVAL);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPINTVL, 0),
			 -EINVAL);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPCNT, 0),
			 -EINVAL);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPCNT, 128),
			 -EINVAL);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE, 30), 0);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPINTVL, 5), 0);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_KEEPCNT, 4), 0);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_KEEPCNT), 4);
}

static void t_opt_user_timeout(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT, -1),
			 -EINVAL);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT,
				   1234), 0);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT),
			 1234);
}

static void t_opt_linger_roundtrip(void **state)
{
	struct fx *f = *state;
	struct linger l = { 1, 7 }, g;
	socklen_t gl = sizeof(g);

	fx_established_passive(f);
	assert_int_equal(ns_setsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &l,
				       sizeof(l) - 1), -EINVAL);
	assert_int_equal(ns_setsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &l,
				       sizeof(l)), 0);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &g,
				       &gl), 0);
	assert_int_equal(g.l_onoff, 1);
	assert_int_equal(g.l_linger, 7);
	gl = 1;
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &g,
				       &gl), -EINVAL);
}

static void t_opt_reuseaddr_roundtrip(void **state)
{
	struct fx *f = *state;
	int sd = ns_socket(f->st, SOCK_STREAM);

	assert_int_equal(tu_getint(f, sd, SOL_SOCKET, SO_REUSEADDR), 0);
	assert_int_equal(tu_setint(f, sd, SOL_SOCKET, SO_REUSEADDR, 5), 0);
	assert_int_equal(tu_getint(f, sd, SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(tu_getint(f, sd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	assert_int_equal(tu_getint(f, sd, SOL_SOCKET, SO_ACCEPTCONN), 0);
	assert_int_equal(tu_getint(f, sd, SOL_SOCKET, SO_ERROR), 0);
	ns_close(f->st, sd);
}

static void t_opt_inherited_by_child(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	tu_setint(f, f->lsd, IPPROTO_TCP, TCP_NODELAY, 1);
	tu_setint(f, f->lsd, SOL_SOCKET, SO_KEEPALIVE, 1);
	tu_setint(f, f->lsd, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	tu_setint(f, f->lsd, IPPROTO_TCP, TCP_USER_TIMEOUT, 999);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_true(f->sd >= 0);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_KEEPIDLE), 77);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_USER_TIMEOUT),
			 999);
	/* keep-alive armed from ESTABLISHED */
	assert_int_equal(fx_tcb(f)->t_keep, f->now + 77ull * 1000 * NS_MS);
}

static void t_tcp_info_states(void **state)
{
	struct fx *f = *state;
	struct ns_tcp_info ti;
	socklen_t l;

	tu_fin_wait_1(f);
	l = sizeof(ti);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO,
				       &ti, &l), 0);
	assert_int_equal(ti.tcpi_state, 4);          /* TCP_FIN_WAIT1 */
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	l = sizeof(ti);
	ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	assert_int_equal(ti.tcpi_state, 5);          /* TCP_FIN_WAIT2 */
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	l = sizeof(ti);
	ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	assert_int_equal(ti.tcpi_state, 6);          /* TCP_TIME_WAIT */
	l = sizeof(ti);
	ns_getsockopt(f->st, f->lsd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	assert_int_equal(ti.tcpi_state, 10);         /* TCP_LISTEN */
	fio_clear(&f->io);
}

static void t_tcp_info_counters(void **state)
{
	struct fx *f = *state;
	struct ns_tcp_info ti;
	socklen_t l = sizeof(ti);
	char buf[8];

	f->use_ts = f->use_sack = f->use_ws = 1;
	f->peer_ws = 2;
	fx_established_passive(f);
	tu_send_pop(f, 300);
	fx_tcp(f, F_ACK | F_PSH, 1, 301, 65535, "hello", 5);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 5);
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO,
				       &ti, &l), 0);
	assert_int_equal(ti.tcpi_state, 1);
	assert_int_equal(ti.tcpi_bytes_acked, 300);
	assert_int_equal(ti.tcpi_bytes_received, 5);
	assert_int_equal(ti.tcpi_options & 7, 7);    /* TS | SACK | WSCALE */
	assert_int_equal(ti.tcpi_snd_wscale, 2);
	assert_int_equal(ti.tcpi_snd_mss, 1448);
	assert_int_equal(ti.tcpi_snd_cwnd, fx_tcb(f)->cwnd / 1448);
	assert_int_equal(ti.tcpi_unacked, 0);
	fio_clear(&f->io);
}

static void t_tcp_info_short_len(void **state)
{
	struct fx *f = *state;
	struct ns_tcp_info ti;
	socklen_t l = 8;

	fx_established_passive(f);
	memset(&ti, 0xee, sizeof(ti));
	/* as Linux: copies min(len, sizeof) bytes */
	assert_int_equal(ns_getsockopt(f->st, f->sd, IPPROTO_TCP, TCP_INFO,
				       &ti, &l), 0);
	assert_int_equal(l, 8);
	assert_int_equal(ti.tcpi_state, 1);
	assert_int_equal(((uint8_t *)&ti)[8], 0xee);
}

static void t_maxseg_get(void **state)
{
	struct fx *f = *state;

	f->peer_mss = 1000;
	fx_established_passive(f);
	assert_int_equal(tu_getint(f, f->sd, IPPROTO_TCP, TCP_MAXSEG), 1000);
	assert_int_equal(tu_setint(f, f->sd, IPPROTO_TCP, TCP_MAXSEG, 500), 0);
}

/* ---- SO_RCVBUF / SO_SNDBUF and auto-tuning ----------------------------- */

#define AT_RING (256 * 1024)
#define AT_INIT (16 * 1024)

/* an instance with 256 KiB rings whose sockets start at 16 KiB */
static int at_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ns_config c;
	if (!f)
		return -1;
	fx_default_cfg(&c);
	c.max_socks = 8;
	c.sndbuf = c.rcvbuf = AT_RING;
	c.sndbuf_init = c.rcvbuf_init = AT_INIT;
	if (fx_setup_cfg(f, &c))
		return -1;
	*state = f;
	return 0;
}
#define TA(x) cmocka_unit_test_setup_teardown(x, at_setup, tu_teardown)

/* the peer sends n bytes in MSS segments from *seq (relative) */
static void peer_send(struct fx *f, uint32_t *seq, uint32_t n)
{
	static char d[1460];
	while (n) {
		uint32_t k = n < 1460 ? n : 1460;
		fx_tcp(f, F_ACK, *seq, 1, 65535, d, k);
		*seq += k;
		n -= k;
	}
}

static uint32_t drain(struct fx *f)
{
	static char buf[AT_RING];
	ssize_t r = ns_recv(f->st, f->sd, buf, sizeof(buf), 0);
	return r > 0 ? (uint32_t)r : 0;
}

/* the window in the last segment we sent, unscaled */
static uint32_t last_win(struct fx *f)
{
	struct seg s;
	uint32_t w = 0;
	while (fx_out(f, &s))
		w = s.win << fx_tcb(f)->rcv_wscale;
	return w;
}

static void t_at_initial_limits(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	f->use_ws = 1;
	f->peer_ws = 0;
	tu_listen(f, 4);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, AT_INIT);            /* starts small */
	assert_int_equal(s.ws, 3);                   /* scale for the ring */
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), AT_INIT);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_SNDBUF), AT_INIT);
}

static void t_at_rcv_grows_for_fast_reader(void **state)
{
	struct fx *f = *state;
	uint32_t seq = 1, w;
	int i;

	f->use_ws = 1;
	fx_established_passive(f);
	for (i = 0; i < 3; i++) {
		uint32_t lim = fx_tcb(f)->rb_lim;
		peer_send(f, &seq, lim);                /* a full window */
		fio_clear(&f->io);
		f->now += NS_MS;                        /* one RTT later */
		fx_poll(f, NULL);
		assert_int_equal(drain(f), lim);        /* all of it read */
	}
	assert_true(fx_tcb(f)->rb_lim > AT_INIT);
	assert_true(CNT(f, tcp_rcvbuf_grown) >= 1);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF),
			 (int)fx_tcb(f)->rb_lim);
	/* the larger window is on the wire */
	peer_send(f, &seq, 1000);
	drain(f);
	fx_advance(f, NS_TCP_DELACK_NS);
	w = last_win(f);
	assert_true(w > AT_INIT);
}

static void t_at_rcv_bounded_by_ring(void **state)
{
	struct fx *f = *state;
	uint32_t seq = 1;
	int i;

	f->use_ws = 1;
	fx_established_passive(f);
	for (i = 0; i < 20; i++) {
		peer_send(f, &seq, fx_tcb(f)->rb_lim);
		fio_clear(&f->io);
		f->now += NS_MS;
		fx_poll(f, NULL);
		drain(f);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->rb_lim, AT_RING); /* and no further */
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), AT_RING);
}

static void t_at_rcv_slow_reader_no_growth(void **state)
{
	struct fx *f = *state;
	uint32_t seq = 1;
	int i;

	f->use_ws = 1;
	fx_established_passive(f);
	for (i = 0; i < 10; i++) {
		/* the application reads 1000 bytes per RTT */
		peer_send(f, &seq, 1000);
		f->now += NS_MS;
		fx_poll(f, NULL);
		drain(f);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->rb_lim, AT_INIT);
	assert_int_equal(CNT(f, tcp_rcvbuf_grown), 0);
}

static void t_at_rcv_nonreader_window_closes(void **state)
{
	struct fx *f = *state;
	uint32_t seq = 1;
	struct seg s;

	f->use_ws = 1;
	fx_established_passive(f);
	peer_send(f, &seq, AT_INIT);
	fx_advance(f, NS_TCP_DELACK_NS);
	while (fx_out(f, &s))
		;
	assert_int_equal(s.win, 0);                  /* nothing read */
	assert_int_equal(fx_tcb(f)->rb_lim, AT_INIT);
	/* more is not accepted */
	peer_send(f, &seq, 100);
	assert_int_equal(fx_tcb(f)->rb_len, AT_INIT);
	fio_clear(&f->io);
}

static void t_at_rcvbuf_locks(void **state)
{
	struct fx *f = *state;
	uint32_t seq = 1;
	int i;

	f->use_ws = 1;
	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_RCVBUF, 6000), 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), 12000);
	for (i = 0; i < 10; i++) {
		peer_send(f, &seq, fx_tcb(f)->rb_lim);
		f->now += NS_MS;
		fx_poll(f, NULL);
		drain(f);
		fio_clear(&f->io);
	}
	assert_int_equal(fx_tcb(f)->rb_lim, 12000);  /* SOCK_RCVBUF_LOCK */
	assert_int_equal(CNT(f, tcp_rcvbuf_grown), 0);
}

static void t_at_rcvbuf_clamped(void **state)
{
	struct fx *f = *state;

	fx_established_passive(f);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_RCVBUF, 1 << 30), 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), AT_RING);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_RCVBUF, 1), 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), 2048);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_RCVBUF, -5), 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), 2048);
}

static void t_at_rcvbuf_lock_inherited(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_tcp_base(f);
	tu_listen(f, 4);
	assert_int_equal(tu_setint(f, f->lsd, SOL_SOCKET, SO_RCVBUF, 50000), 0);
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.win, 65535);              /* 100000, capped */
	fx_tcp(f, F_ACK, 1, 1, 65535, NULL, 0);
	f->sd = ns_accept(f->st, f->lsd, NULL);
	assert_int_equal(fx_tcb(f)->rb_lim, 100000);
	assert_true(fx_tcb(f)->tf & TF_RCVBUF_LOCK);
}

static void t_at_rcv_rtt_from_timestamps(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t seq = 1;

	f->use_ts = f->use_ws = 1;
	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "x", 1, 0), 1);
	assert_true(fx_out(f, &s));                  /* last_tsval = ours */
	f->now += 7 * NS_MS;
	fx_poll(f, NULL);
	peer_send(f, &seq, 100);                     /* echoes it */
	assert_int_equal(fx_tcb(f)->rcv_rtt_us, 7000);
	fio_clear(&f->io);
}

static void t_at_rcv_rtt_without_timestamps(void **state)
{
	struct fx *f = *state;
	uint32_t seq = 1;

	f->use_ws = 1;
	fx_established_passive(f);
	/* Linux tcp_rcv_rtt_measure: the time one offered window takes */
	peer_send(f, &seq, 1000);                    /* starts the timing */
	f->now += 3 * NS_MS;
	fx_poll(f, NULL);
	peer_send(f, &seq, fx_tcb(f)->rb_lim - 1000); /* the window filled */
	assert_int_equal(fx_tcb(f)->rcv_rtt_us, 3000);
	drain(f);
	fio_clear(&f->io);
}

static void t_at_snd_grows_with_cwnd(void **state)
{
	struct fx *f = *state;
	static char d[AT_RING];
	uint32_t m, lim0;
	ssize_t n;

	f->use_ws = 1;
	f->peer_ws = 7;
	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	lim0 = fx_tcb(f)->sb_lim;
	assert_int_equal(lim0, AT_INIT);
	n = ns_send(f->st, f->sd, d, sizeof(d), 0);
	assert_int_equal(n, AT_INIT);                /* limited */
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1 + 2 * m, 65535, NULL, 0);
	/* cwnd grew past sb_lim / 2: room for two windows */
	assert_true(fx_tcb(f)->sb_lim >= 2 * fx_tcb(f)->cwnd ||
		    fx_tcb(f)->sb_lim == AT_RING);
	assert_true(fx_tcb(f)->sb_lim > lim0);
	assert_true(CNT(f, tcp_sndbuf_grown) >= 1);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_SNDBUF),
			 (int)fx_tcb(f)->sb_lim);
	assert_true(ns_send(f->st, f->sd, d, sizeof(d), 0) > 2 * (ssize_t)m);
	fio_clear(&f->io);
}

static void t_at_snd_bounded_by_ring(void **state)
{
	struct fx *f = *state;
	static char d[AT_RING];
	uint32_t acked = 1;
	int i;

	f->use_ws = 1;
	f->peer_ws = 7;
	fx_established_passive(f);
	for (i = 0; i < 60; i++) {
		struct seg s;
		ns_send(f->st, f->sd, d, sizeof(d), 0);
		while (fx_out(f, &s))
			acked = s.srel + s.len;
		fx_tcp(f, F_ACK, 1, acked, 65535, NULL, 0);
	}
	assert_int_equal(fx_tcb(f)->sb_lim, AT_RING);
	fio_clear(&f->io);
}

static void t_at_sndbuf_locks(void **state)
{
	struct fx *f = *state;
	static char d[AT_RING];
	uint32_t m;

	fx_established_passive(f);
	m = fx_tcb(f)->mss;
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_SNDBUF, 5000), 0);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_SNDBUF), 10000);
	assert_int_equal(ns_send(f->st, f->sd, d, sizeof(d), 0), 10000);
	fio_clear(&f->io);
	fx_tcp(f, F_ACK, 1, 1 + 6 * m, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->sb_lim, 10000);
	assert_int_equal(CNT(f, tcp_sndbuf_grown), 0);
	fio_clear(&f->io);
}

/* a peer without window scaling sees at most 65535: once the window
 * field says that, reading more from a larger ring sends no "window
 * update" repeating it (the peer would count it as a duplicate ACK) */
static void t_at_no_wscale_no_repeated_update(void **state)
{
	struct fx *f = *state;
	struct seg s;
	uint32_t seq = 1;
	int i;

	fx_established_passive(f);                    /* no WS option */
	assert_int_equal(fx_tcb(f)->rcv_wscale, 0);
	assert_int_equal(tu_setint(f, f->sd, SOL_SOCKET, SO_RCVBUF,
				   AT_RING / 2), 0);
	assert_true(fx_tcb(f)->rb_lim > 65535 + 2 * 1460);
	for (i = 0; i < 4; i++) {
		peer_send(f, &seq, 16 * 1024);
		fio_clear(&f->io);
		drain(f);
		fio_clear(&f->io);
	}
	peer_send(f, &seq, 8 * 1460);
	while (fx_out(f, &s))
		assert_int_equal(s.win, 65535);       /* the field is full */
	assert_true(drain(f) > 0);
	assert_false(fx_out(f, &s));                  /* nothing to say */
}

static void t_at_default_config_is_fixed(void **state)
{
	struct fx *f = *state;           /* 64 KiB rings, init 64 KiB */

	fx_established_passive(f);
	assert_int_equal(fx_tcb(f)->rb_lim, 64 * 1024);
	assert_int_equal(fx_tcb(f)->sb_lim, 64 * 1024);
	assert_int_equal(tu_getint(f, f->sd, SOL_SOCKET, SO_RCVBUF), 65536);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_nagle_holds_second_small),
		TU(t_nagle_full_segment_not_held),
		TU(t_nodelay_each_small_goes),
		TU(t_nodelay_set_flushes_held),
		TU(t_cork_holds_partial),
		TU(t_cork_released_by_timer),
		TU(t_msg_more_then_plain),
		TU(t_msg_more_full_segment_goes),
		TU(t_sender_sws_small_window_waits),
		TU(t_sender_sws_all_queued_fits),
		TU(t_receiver_sws_window_update_threshold),
		TU(t_opt_bad_sd_and_len),
		TU(t_opt_unknown_enoprotoopt),
		TU(t_opt_tcp_level_on_udp),
		TU(t_opt_keepalive_ranges),
		TU(t_opt_user_timeout),
		TU(t_opt_linger_roundtrip),
		TU(t_opt_reuseaddr_roundtrip),
		TU(t_opt_inherited_by_child),
		TU(t_tcp_info_states),
		TU(t_tcp_info_counters),
		TU(t_tcp_info_short_len),
		TU(t_maxseg_get),
		TA(t_at_initial_limits),
		TA(t_at_rcv_grows_for_fast_reader),
		TA(t_at_rcv_bounded_by_ring),
		TA(t_at_rcv_slow_reader_no_growth),
		TA(t_at_rcv_nonreader_window_closes),
		TA(t_at_rcvbuf_locks),
		TA(t_at_rcvbuf_clamped),
		TA(t_at_rcvbuf_lock_inherited),
		TA(t_at_rcv_rtt_from_timestamps),
		TA(t_at_rcv_rtt_without_timestamps),
		TA(t_at_snd_grows_with_cwnd),
		TA(t_at_snd_bounded_by_ring),
		TA(t_at_sndbuf_locks),
		TA(t_at_no_wscale_no_repeated_update),
		TU(t_at_default_config_is_fixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
