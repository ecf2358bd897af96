/*
 * test_tcp_zerocopy.c: zero-copy receive of the native API
 * (ns_recv_zc / ns_recv_zc_done, stack.h): spans point into the socket's
 * receive ring (two where it wraps), stay valid while more data arrives,
 * consuming opens the window, the recv return values (EOF, -EAGAIN,
 * errors), and use from inside the event callback. Fixture:
 * tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void fill(char *d, uint32_t n, uint32_t salt)
{
	uint32_t i;
	for (i = 0; i < n; i++)
		d[i] = (char)(i * 31 + salt);
}

/* the peer sends n bytes of pattern salt from *seq */
static void peer_send(struct fx *f, uint32_t *seq, const char *d, uint32_t n)
{
	uint32_t o = 0;
	while (o < n) {
		uint32_t k = n - o < 1460 ? n - o : 1460;
		fx_tcp(f, F_ACK, *seq, 1, 65535, d + o, k);
		*seq += k;
		o += k;
	}
}

static void t_zc_span_in_ring(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2];
	int n = -1;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "zerocopy", 8);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 8);
	assert_int_equal(n, 1);
	assert_int_equal(iov[0].iov_len, 8);
	assert_memory_equal(iov[0].iov_base, "zerocopy", 8);
	/* it is the ring itself, not a copy */
	assert_true((uint8_t *)iov[0].iov_base >= fx_tcb(f)->rb);
	assert_true((uint8_t *)iov[0].iov_base < fx_tcb(f)->rb +
		    fx_tcb(f)->rb_mask + 1);
	/* peeking again gives the same */
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 8);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 8), 0);
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), -EAGAIN);
	assert_int_equal(n, 0);
}

static void t_zc_partial_done(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2];
	char b[8];
	int n;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "abcdefgh", 8);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 8);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 3), 0);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 5);
	assert_memory_equal(iov[0].iov_base, "defgh", 5);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 6), -EINVAL);
	/* copying recv and zero-copy mix */
	assert_int_equal(ns_recv(f->st, f->sd, b, 2, 0), 2);
	assert_memory_equal(b, "de", 2);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 3);
	assert_memory_equal(iov[0].iov_base, "fgh", 3);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 0), 0);
	assert_int_equal(fx_tcb(f)->rb_len, 3);
}

static void t_zc_wraps_two_spans(void **state)
{
	struct fx *f = *state;
	static char d1[60000], d2[10000], sink[60000];
	struct iovec iov[2];
	uint32_t seq = 1;
	int n;

	fx_established_passive(f);
	fill(d1, sizeof(d1), 1);
	fill(d2, sizeof(d2), 7);
	peer_send(f, &seq, d1, sizeof(d1));
	assert_int_equal(ns_recv(f->st, f->sd, sink, sizeof(sink), 0), 60000);
	fio_clear(&f->io);
	peer_send(f, &seq, d2, sizeof(d2));   /* 5536 to the end, 4464 wrap */
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 10000);
	assert_int_equal(n, 2);
	assert_int_equal(iov[0].iov_len, 65536 - 60000);
	assert_int_equal(iov[1].iov_len, 10000 - (65536 - 60000));
	assert_ptr_equal(iov[1].iov_base, fx_tcb(f)->rb);
	assert_memory_equal(iov[0].iov_base, d2, iov[0].iov_len);
	assert_memory_equal(iov[1].iov_base, d2 + iov[0].iov_len,
			    iov[1].iov_len);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 10000), 0);
	fio_clear(&f->io);
}

static void t_zc_spans_stable_while_data_arrives(void **state)
{
	struct fx *f = *state;
	static char d[3000];
	struct iovec iov[2], iov2[2];
	uint32_t seq = 1;
	int n, n2;

	fx_established_passive(f);
	fill(d, sizeof(d), 3);
	peer_send(f, &seq, d, 1000);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 1000);
	peer_send(f, &seq, d + 1000, 2000);      /* lands after the span */
	assert_memory_equal(iov[0].iov_base, d, 1000);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov2, &n2), 3000);
	assert_ptr_equal(iov2[0].iov_base, iov[0].iov_base);
	assert_memory_equal(iov2[0].iov_base, d, 3000);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 3000), 0);
	fio_clear(&f->io);
}

static void t_zc_done_opens_window(void **state)
{
	struct fx *f = *state;
	static char d[1460];
	struct iovec iov[2];
	struct seg s;
	uint32_t seq = 1;
	int n, k;

	fx_established_passive(f);
	for (k = 0; k < 44; k++)                  /* 64240 bytes */
		peer_send(f, &seq, d, 1460);
	fx_advance(f, NS_TCP_DELACK_NS);
	fio_clear(&f->io);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 44 * 1460);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 40000), 0);
	/* a window update goes out: the right edge moved a lot */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 1 + 44 * 1460);
	assert_true(s.win >= 40000);
}

static void t_zc_eof_and_errors(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2];
	int n;

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN | F_PSH, 1, 1, 65535, "end", 3);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 3);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 3), 0);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 0);   /* EOF */
	fio_clear(&f->io);
}

static void t_zc_reset_reports_error(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2];
	int n;

	fx_established_passive(f);
	fx_tcp(f, F_RST, 1, 0, 0, NULL, 0);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), -ECONNRESET);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, &n), 0);
}

static void t_zc_api_errors(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2];
	int n, u;

	fx_established_passive(f);
	assert_int_equal(ns_recv_zc(f->st, 999, iov, &n), -EBADF);
	assert_int_equal(ns_recv_zc(f->st, f->sd, NULL, &n), -EFAULT);
	assert_int_equal(ns_recv_zc(f->st, f->sd, iov, NULL), -EFAULT);
	assert_int_equal(ns_recv_zc(f->st, f->lsd, iov, &n), -ENOTCONN);
	assert_int_equal(ns_recv_zc_done(f->st, 999, 1), -EBADF);
	assert_int_equal(ns_recv_zc_done(f->st, f->sd, 1), -EINVAL);
	u = ns_socket(f->st, SOCK_DGRAM);
	assert_int_equal(ns_recv_zc(f->st, u, iov, &n), -EOPNOTSUPP);
	assert_int_equal(ns_recv_zc_done(f->st, u, 0), -EOPNOTSUPP);
	ns_close(f->st, u);
	u = ns_socket(f->st, SOCK_STREAM);
	assert_int_equal(ns_recv_zc(f->st, u, iov, &n), -ENOTCONN);
	ns_close(f->st, u);
}

struct zc_app {
	int calls;
	uint32_t got;
	char data[64];
};

/* a native app: reads what arrived in place, inside the callback */
static void zc_cb(void *arg, struct ns_stack *st, int sd, uint32_t ev)
{
	struct zc_app *a = arg;
	struct iovec iov[2];
	int n, i;
	ssize_t r;

	a->calls++;
	if (!(ev & NS_EV_IN))
		return;
	r = ns_recv_zc(st, sd, iov, &n);
	if (r <= 0)
		return;
	for (i = 0; i < n; i++) {
		size_t k = iov[i].iov_len;
		if (a->got + k > sizeof(a->data))
			k = sizeof(a->data) - a->got;
		memcpy(a->data + a->got, iov[i].iov_base, k);
		a->got += (uint32_t)k;
	}
	ns_recv_zc_done(st, sd, (size_t)r);
}

static void t_zc_from_event_callback(void **state)
{
	struct fx *f = *state;
	struct zc_app a;

	memset(&a, 0, sizeof(a));
	fx_established_passive(f);
	ns_stack_set_event_cb(f->st, zc_cb, &a);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "hello ", 6);
	fx_tcp(f, F_ACK | F_PSH, 7, 1, 65535, "world", 5);
	assert_true(a.calls >= 2);
	assert_int_equal(a.got, 11);
	assert_memory_equal(a.data, "hello world", 11);
	assert_int_equal(fx_tcb(f)->rb_len, 0);
	ns_stack_set_event_cb(f->st, NULL, NULL);
	fio_clear(&f->io);
}

static void t_zc_feeds_autotuning(void **state)
{
	struct fx g;
	struct ns_config c;
	static char d[1460];
	struct iovec iov[2];
	uint32_t seq = 1;
	ssize_t r;
	int i, n;
	(void)state;

	fx_default_cfg(&c);
	c.max_socks = 4;
	c.rcvbuf = 256 * 1024;
	c.rcvbuf_init = 16 * 1024;
	assert_int_equal(fx_setup_cfg(&g, &c), 0);
	fx_established_passive(&g);
	for (i = 0; i < 4; i++) {
		uint32_t lim = g.st->socks[g.sd].tcb.rb_lim, k;
		for (k = 0; k + 1460 <= lim; k += 1460)
			peer_send(&g, &seq, d, 1460);
		g.now += NS_MS;
		fx_poll(&g, NULL);
		r = ns_recv_zc(g.st, g.sd, iov, &n);
		assert_true(r > 0);
		assert_int_equal(ns_recv_zc_done(g.st, g.sd, (size_t)r), 0);
		fio_clear(&g.io);
	}
	assert_true(g.st->socks[g.sd].tcb.rb_lim > 16 * 1024);
	fx_teardown(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_zc_span_in_ring),
		TU(t_zc_partial_done),
		TU(t_zc_wraps_two_spans),
		TU(t_zc_spans_stable_while_data_arrives),
		TU(t_zc_done_opens_window),
		TU(t_zc_eof_and_errors),
		TU(t_zc_reset_reports_error),
		TU(t_zc_api_errors),
		TU(t_zc_from_event_callback),
		TU(t_zc_feeds_autotuning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
