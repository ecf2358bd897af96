/*
 * test_tcp_close.c: TCP connection teardown (RFC 9293 3.6, 3.10.7.4):
 * every closing state (FIN_WAIT_1/2, CLOSING, TIME_WAIT, CLOSE_WAIT,
 * LAST_ACK), data and retransmissions in each, RST in each state
 * (RFC 5961 3: exact sequence resets, in-window gets a challenge ACK),
 * TIME_WAIT 2MSL and its reuse rules, close/abort/shutdown through the
 * API. Fixture: tests/stack/tcp_util.h; teardown checks for leaks.
 */
#include "tests/stack/tcp_util.h"

static void t_fin_wait_1_still_receives(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[16];

	tu_fin_wait_1(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 1, 65535, "abc", 3);
	fx_tcp(f, F_ACK | F_PSH, 4, 1, 65535, "def", 3);
	assert_true(fx_out(f, &s));                 /* 2nd segment: ACK now */
	assert_int_equal(s.arel, 7);
	assert_int_equal(s.srel, 2);                /* after our FIN */
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_1);
}

static void t_fin_wait_1_fin_retransmitted(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_fin_wait_1(f);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 1);
	assert_int_equal(CNT(f, tcp_retransmits), 1);
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
	assert_int_equal(fx_tcb(f)->t_rexmt, 0);
}

static void t_fin_wait_1_fin_after_data(void **state)
{
	struct fx *f = *state;
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_send(f->st, f->sd, "12345", 5, 0), 5);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_WR), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 6);                /* FIN after the data */
	assert_int_equal(s.len, 0);
	/* acking only the data keeps FIN_WAIT_1 */
	fx_tcp(f, F_ACK, 1, 6, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_1);
	fx_tcp(f, F_ACK, 1, 7, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
}

static void t_fin_wait_2_data_then_fin(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[8];

	tu_fin_wait_2(f);
	fx_tcp(f, F_ACK | F_PSH, 1, 2, 65535, "xyz", 3);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
	fx_tcp(f, F_ACK | F_FIN, 4, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 5);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 3);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 0);
}

static void t_fin_wait_2_fin_with_data(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[8];

	tu_fin_wait_2(f);
	fx_tcp(f, F_ACK | F_FIN | F_PSH, 1, 2, 65535, "bye", 3);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 5);               /* 3 bytes + FIN */
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "bye", 3);
}

static void t_closing_fin_retransmitted(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_closing(f);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_FIN);
	assert_int_equal(s.srel, 1);
	assert_int_equal(s.arel, 2);
	fx_tcp(f, F_ACK, 2, 2, 65535, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
}

static void t_closing_dup_fin_acked(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_closing(f);
	fx_tcp(f, F_ACK | F_FIN, 1, 1, 65535, NULL, 0); /* retransmitted FIN */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSING);
}

static void t_time_wait_2msl_exact(void **state)
{
	struct fx *f = *state;
	int sd;

	tu_time_wait(f);
	sd = f->sd;
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_int_equal(fx_tcb(f)->t_2msl, f->now + 1000 * NS_MS);
	fx_advance(f, 1000 * NS_MS - 1);
	assert_int_equal(tu_state(f, sd), NS_TCPS_TIME_WAIT);
	fx_advance(f, 1);
	assert_int_equal(tu_state(f, sd), -1);
	assert_int_equal(fx_nout(f), 0);            /* silently */
}

static void t_time_wait_fin_restarts_2msl(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	tu_time_wait(f);
	sd = f->sd;
	ns_close(f->st, sd);
	fx_advance(f, 600 * NS_MS);
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 2);
	fx_advance(f, 600 * NS_MS);                 /* 1.2 s after entry */
	assert_int_equal(tu_state(f, sd), NS_TCPS_TIME_WAIT);
	fx_advance(f, 401 * NS_MS);
	assert_int_equal(tu_state(f, sd), -1);
}

static void t_time_wait_old_dup_acked(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_time_wait(f);
	fx_tcp(f, F_ACK | F_PSH, 0, 2, 65535, "o", 1); /* old duplicate */
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_TIME_WAIT);
}

static void t_time_wait_syn_old_seq_not_reused(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	tu_time_wait(f);
	sd = f->sd;
	ns_close(f->st, sd);
	fio_clear(&f->io);
	/* a SYN at or below rcv_nxt must not open a new incarnation
	 * (RFC 9293 3.6.1 / RFC 1122 4.2.2.13) */
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	if (fx_out(f, &s))
		assert_false(s.flags & F_SYN);
	assert_int_equal(tu_state(f, sd), NS_TCPS_TIME_WAIT);
}

static void t_time_wait_syn_newer_ts_reused(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	f->use_ts = 1;
	tu_time_wait(f);
	sd = f->sd;
	ns_close(f->st, sd);
	fio_clear(&f->io);
	/* RFC 6191: a lower sequence number is fine when the timestamp is
	 * newer than the last one seen */
	f->peer_tsval += 1000;
	f->st->iss_next = OUR_ISS + 77777;
	fx_tcp(f, F_SYN, 0, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.arel, 1);
}

static void t_close_wait_send_and_last_ack(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	tu_close_wait(f);
	sd = f->sd;
	assert_int_equal(ns_send(f->st, sd, "late", 4, 0), 4);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.len, 4);
	assert_int_equal(s.arel, 2);
	assert_int_equal(ns_close(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(s.srel, 5);
	assert_int_equal(tu_state(f, sd), NS_TCPS_LAST_ACK);
	fx_tcp(f, F_ACK, 2, 5, 65535, NULL, 0);     /* data only */
	assert_int_equal(tu_state(f, sd), NS_TCPS_LAST_ACK);
	fx_tcp(f, F_ACK, 2, 6, 65535, NULL, 0);
	assert_int_equal(tu_state(f, sd), -1);
}

static void t_close_wait_events(void **state)
{
	struct fx *f = *state;
	uint32_t ev;

	tu_close_wait(f);
	ev = ns_sock_events(f->st, f->sd);
	assert_true(ev & NS_EV_IN);
	assert_true(ev & NS_EV_RDHUP);
	assert_true(ev & NS_EV_OUT);
	assert_false(ev & NS_EV_HUP);
	assert_false(ev & NS_EV_ERR);
}

static void t_close_wait_data_ignored(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char buf[4];

	tu_close_wait(f);
	/* data beyond the peer's FIN: RFC 9293 3.10.7.4, ignore the text */
	fx_tcp(f, F_ACK, 2, 1, 65535, "zz", 2);
	if (fx_out(f, &s))
		assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->rcv_nxt, PEER_ISS + 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 0);
}

static void t_last_ack_fin_retransmitted(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_last_ack(f);
	fx_advance(f, fx_tcb(f)->rto_ns);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_FIN);
	assert_int_equal(s.srel, 1);
	assert_int_equal(fx_tcb(f)->rxt_shift, 1);
}

static void t_last_ack_done_hup(void **state)
{
	struct fx *f = *state;

	tu_last_ack(f);
	fx_tcp(f, F_ACK, 2, 2, 65535, NULL, 0);
	/* the user still holds sd: CLOSED with HUP */
	assert_int_equal(tu_state(f, f->sd), NS_TCPS_CLOSED);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_HUP);
	assert_int_equal(ns_close(f->st, f->sd), 0);
	assert_int_equal(tu_state(f, f->sd), -1);
}

/* RST with seq == rcv_nxt in each synchronized state resets */
static void rst_exact_in(struct fx *f, uint32_t seq_rel)
{
	int sd = f->sd;
	fio_clear(&f->io);
	fx_tcp(f, F_RST, seq_rel, 0, 0, NULL, 0);
	assert_int_equal(fx_nout(f), 0);
	assert_true(tu_state(f, sd) == NS_TCPS_CLOSED || tu_state(f, sd) == -1);
}

static void t_rst_in_fin_wait_1(void **state)
{
	struct fx *f = *state;
	tu_fin_wait_1(f);
	rst_exact_in(f, 1);
	assert_int_equal(ns_recv(f->st, f->sd, f, 1, 0), -ECONNRESET);
}

static void t_rst_in_fin_wait_2(void **state)
{
	struct fx *f = *state;
	tu_fin_wait_2(f);
	rst_exact_in(f, 1);
	assert_int_equal(CNT(f, tcp_conn_reset), 1);
}

static void t_rst_in_closing(void **state)
{
	struct fx *f = *state;
	tu_closing(f);
	rst_exact_in(f, 2);
}

static void t_rst_in_last_ack(void **state)
{
	struct fx *f = *state;
	tu_last_ack(f);
	rst_exact_in(f, 2);
}

static void t_rst_in_window_fin_wait_2_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_fin_wait_2(f);
	fx_tcp(f, F_RST, 500, 0, 0, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 1);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
	assert_int_equal(CNT(f, tcp_challenge_acks), 1);
}

static void t_rst_in_window_close_wait_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_close_wait(f);
	fx_tcp(f, F_RST, 9, 0, 0, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
}

static void t_rst_out_of_window_ignored_all_states(void **state)
{
	struct fx *f = *state;

	tu_fin_wait_2(f);
	fx_tcp(f, F_RST, 0x40000000u, 0, 0, NULL, 0);
	fx_tcp(f, F_RST, (uint32_t)-5, 0, 0, NULL, 0); /* just left */
	assert_int_equal(fx_nout(f), 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
	assert_true(CNT(f, drop_tcp_rst) >= 2 || CNT(f, drop_tcp_seq) >= 2);
}

static void t_syn_in_fin_wait_2_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_fin_wait_2(f);
	fx_tcp(f, F_SYN, 1, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);          /* RFC 5961 4 */
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_FIN_WAIT_2);
}

static void t_syn_in_close_wait_challenged(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_close_wait(f);
	fx_tcp(f, F_SYN, 2, 0, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.arel, 2);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
}

static void t_abort_sends_rst_at_snd_nxt(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	fx_established_passive(f);
	sd = f->sd;
	assert_int_equal(ns_send(f->st, sd, "abc", 3, 0), 3);
	assert_true(fx_out(f, &s));
	assert_int_equal(ns_abort(f->st, sd), 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(s.srel, 4);
	assert_int_equal(tu_state(f, sd), -1);
	assert_int_equal(ns_send(f->st, sd, "x", 1, 0), -EBADF);
}

static void t_close_syn_sent_silent(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	tu_syn_sent(f, &s);
	sd = f->sd;
	assert_int_equal(ns_close(f->st, sd), 0);
	/* nothing to say: the peer has no state for us yet */
	if (fx_out(f, &s))
		assert_false(s.flags & F_FIN);
	assert_int_equal(tu_state(f, sd), -1);
	/* a late SYN,ACK finds no connection and is reset */
	fx_tcp(f, F_SYN | F_ACK, 0, 1, 65535, NULL, 0);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
}

static void t_shutdown_rdwr_sends_fin(void **state)
{
	struct fx *f = *state;
	struct seg s;
	char b[4];

	fx_established_passive(f);
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_RDWR), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);
	assert_int_equal(ns_recv(f->st, f->sd, b, 4, 0), 0);
	assert_int_equal(ns_send(f->st, f->sd, b, 4, 0), -EPIPE);
}

static void t_shutdown_wr_twice(void **state)
{
	struct fx *f = *state;
	struct seg s;

	tu_fin_wait_1(f);
	assert_int_equal(ns_shutdown(f->st, f->sd, SHUT_WR), 0);
	assert_false(fx_out(f, &s) && (s.flags & F_FIN) && s.srel != 1);
	assert_int_equal(ns_shutdown(f->st, f->sd, 7), -EINVAL);
}

static void t_shutdown_unconnected(void **state)
{
	struct fx *f = *state;
	int sd = ns_socket(f->st, SOCK_STREAM);

	assert_true(sd >= 0);
	assert_int_equal(ns_shutdown(f->st, sd, SHUT_WR), -ENOTCONN);
	assert_int_equal(ns_shutdown(f->st, 999, SHUT_WR), -EBADF);
	assert_int_equal(ns_close(f->st, sd), 0);
}

static void t_close_with_queued_data_fin_follows(void **state)
{
	struct fx *f = *state;
	static char big[8000];
	struct seg s;
	int sd, n = 0;
	uint32_t last_end = 0;

	fx_established_passive(f);
	sd = f->sd;
	fx_tcp(f, F_ACK, 1, 1, 2000, NULL, 0);      /* small peer window */
	assert_int_equal(ns_send(f->st, sd, big, sizeof(big), 0),
			 (ssize_t)sizeof(big));
	assert_int_equal(ns_close(f->st, sd), 0);
	while (fx_out(f, &s)) {
		assert_false(s.flags & F_FIN);     /* data still queued */
		last_end = s.srel + s.len;
		n++;
	}
	assert_true(n >= 1);
	assert_true(last_end <= 2001);
	/* the window opens: the rest, then the FIN right after it */
	fx_tcp(f, F_ACK, 1, last_end, 65535, NULL, 0);
	while (fx_out(f, &s))
		last_end = s.srel + s.len + !!(s.flags & F_FIN);
	assert_int_equal(last_end, 8002);
	assert_int_equal(tu_state(f, sd), NS_TCPS_FIN_WAIT_1);
	fx_tcp(f, F_ACK | F_FIN, 1, 8002, 65535, NULL, 0);
	assert_int_equal(tu_state(f, sd), NS_TCPS_TIME_WAIT);
	fio_clear(&f->io);
}

static void t_linger_nonzero_orderly(void **state)
{
	struct fx *f = *state;
	struct linger l = { 1, 5 };
	struct seg s;

	fx_established_passive(f);
	assert_int_equal(ns_setsockopt(f->st, f->sd, SOL_SOCKET, SO_LINGER, &l,
				       sizeof(l)), 0);
	assert_int_equal(ns_close(f->st, f->sd), 0);
	assert_true(fx_out(f, &s));
	assert_int_equal(s.flags, F_ACK | F_FIN);  /* not a RST */
}

static void t_rst_ack_established_error(void **state)
{
	struct fx *f = *state;
	int e;
	socklen_t l = sizeof(e);

	fx_established_passive(f);
	fx_tcp(f, F_RST | F_ACK, 1, 1, 0, NULL, 0);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSED);
	assert_true(ns_sock_events(f->st, f->sd) & NS_EV_ERR);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_ERROR, &e,
				       &l), 0);
	assert_int_equal(e, ECONNRESET);
	assert_int_equal(ns_getsockopt(f->st, f->sd, SOL_SOCKET, SO_ERROR, &e,
				       &l), 0);
	assert_int_equal(e, 0);                    /* read clears it */
}

static void t_recv_data_then_eof(void **state)
{
	struct fx *f = *state;
	char buf[16];

	fx_established_passive(f);
	fx_tcp(f, F_ACK | F_FIN | F_PSH, 1, 1, 65535, "tail", 4);
	assert_int_equal(fx_tcb(f)->state, NS_TCPS_CLOSE_WAIT);
	assert_int_equal(ns_recv(f->st, f->sd, buf, 2, 0), 2);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "il", 2);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 0);
	assert_int_equal(ns_recv(f->st, f->sd, buf, sizeof(buf), 0), 0);
}

static void t_active_close_full_sequence_counts(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int seen[NS_TCPS_COUNT] = {0}, sd;

	fx_established_active(f);
	sd = f->sd;
	ns_close(f->st, sd);
	seen[tu_state(f, sd)] = 1;
	assert_true(fx_out(f, &s));
	fx_tcp(f, F_ACK, 1, 2, 65535, NULL, 0);
	seen[tu_state(f, sd)] = 1;
	fx_tcp(f, F_ACK | F_FIN, 1, 2, 65535, NULL, 0);
	seen[tu_state(f, sd)] = 1;
	assert_true(seen[NS_TCPS_FIN_WAIT_1]);
	assert_true(seen[NS_TCPS_FIN_WAIT_2]);
	assert_true(seen[NS_TCPS_TIME_WAIT]);
	fx_advance(f, 1001 * NS_MS);
	assert_int_equal(tu_state(f, sd), -1);
	fio_clear(&f->io);
}

static void t_orphan_data_after_close_rst(void **state)
{
	struct fx *f = *state;
	struct seg s;
	int sd;

	tu_fin_wait_2(f);
	sd = f->sd;
	assert_int_equal(ns_close(f->st, sd), 0);
	/* nobody can read it any more: RFC 2525 2.17, reset */
	fx_tcp(f, F_ACK | F_PSH, 1, 2, 65535, "late", 4);
	assert_true(fx_out(f, &s));
	assert_true(s.flags & F_RST);
	assert_int_equal(tu_state(f, sd), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU(t_fin_wait_1_still_receives),
		TU(t_fin_wait_1_fin_retransmitted),
		TU(t_fin_wait_1_fin_after_data),
		TU(t_fin_wait_2_data_then_fin),
		TU(t_fin_wait_2_fin_with_data),
		TU(t_closing_fin_retransmitted),
		TU(t_closing_dup_fin_acked),
		TU(t_time_wait_2msl_exact),
		TU(t_time_wait_fin_restarts_2msl),
		TU(t_time_wait_old_dup_acked),
		TU(t_time_wait_syn_old_seq_not_reused),
		TU(t_time_wait_syn_newer_ts_reused),
		TU(t_close_wait_send_and_last_ack),
		TU(t_close_wait_events),
		TU(t_close_wait_data_ignored),
		TU(t_last_ack_fin_retransmitted),
		TU(t_last_ack_done_hup),
		TU(t_rst_in_fin_wait_1),
		TU(t_rst_in_fin_wait_2),
		TU(t_rst_in_closing),
		TU(t_rst_in_last_ack),
		TU(t_rst_in_window_fin_wait_2_challenged),
		TU(t_rst_in_window_close_wait_challenged),
		TU(t_rst_out_of_window_ignored_all_states),
		TU(t_syn_in_fin_wait_2_challenged),
		TU(t_syn_in_close_wait_challenged),
		TU(t_abort_sends_rst_at_snd_nxt),
		TU(t_close_syn_sent_silent),
		TU(t_shutdown_rdwr_sends_fin),
		TU(t_shutdown_wr_twice),
		TU(t_shutdown_unconnected),
		TU(t_close_with_queued_data_fin_follows),
		TU(t_linger_nonzero_orderly),
		TU(t_rst_ack_established_error),
		TU(t_recv_data_then_eof),
		TU(t_active_close_full_sequence_counts),
		TU(t_orphan_data_after_close_rst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
