/*
 * test_signal.c: signal handlers that make netfuse calls while their
 * thread is inside one (vfs/signal.c). A fast interval timer's handler
 * sends on one connection, receives on another and closes a third while
 * the main thread streams 4 MiB through a fourth with blocking writes
 * (which sleep when the window is full, so signals land both in vfs/'s
 * locked sections and in its sleeps). Every byte is checked at both
 * ends. Before signal.c, the handler's call deadlocked on the instance
 * lock its own thread held (the watchdog fails the test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "tests/vfs/vfs_fixture.h"

static uint16_t next_port;

static int group_setup(void **state)
{
	sigset_t s;
	(void)state;
	next_port = (uint16_t)(20000 + (getpid() * 227) % 30000);
	/* the fixture's threads inherit SIGALRM and SIGUSR1 blocked: the
	 * signals go to the main thread only */
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	return fx_up(NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	fx_down();
	return 0;
}

/* vfs side fd and peer sd of a fresh connection */
static void conn(int *vfd, int *psd)
{
	uint16_t port = next_port++;
	struct sockaddr_in a = fx_sin(VFS_IP, port);
	int lfd = (int)sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sys(SYS_bind, lfd, &a, sizeof(a)), 0);
	assert_int_equal(sys(SYS_listen, lfd, 4), 0);
	*psd = peer_connect(port);
	*vfd = (int)sys(SYS_accept, lfd, 0, 0);
	assert_true(*vfd >= 0);
	assert_int_equal(peer_connected(*psd, 2000), 1);
	assert_int_equal(sys(SYS_close, lfd), 0);
}

#define A_LEN (4u << 20)
#define B_LEN (64u << 10)
#define C_LEN (64u << 10)
static uint8_t a_pat[A_LEN], a_got[A_LEN], b_pat[B_LEN], b_got[B_LEN];
static uint8_t c_pat[C_LEN], c_got[C_LEN];
static int fd_b, fd_c, fd_d;
static volatile sig_atomic_t ticks, b_err, c_err, d_closed = 1, d_ret = 1;
static volatile size_t b_sent, c_got_n;

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	long r;
	size_t k;
	(void)sig; (void)si; (void)uc;
	ticks++;
	k = B_LEN - b_sent < 64 ? B_LEN - b_sent : 64;
	if (k) {
		r = sys(SYS_sendto, fd_b, b_pat + b_sent, k, MSG_DONTWAIT, 0, 0);
		if (r > 0)
			b_sent += (size_t)r;
		else if (r != -EAGAIN)
			b_err = (int)r;
	}
	if (c_got_n < C_LEN) {
		r = sys(SYS_recvfrom, fd_c, c_got + c_got_n, C_LEN - c_got_n,
			MSG_DONTWAIT, 0, 0);
		if (r > 0)
			c_got_n += (size_t)r;
		else if (r != -EAGAIN)
			c_err = r ? (int)r : -1; /* 0: EOF too early */
	}
	if (ticks == 300 && !d_closed) {
		d_ret = (int)sys(SYS_close, fd_d);
		d_closed = 1;
	}
}

static struct {
	int a, b, c, d;
	size_t a_n, b_n, c_n;
	int d_eof;
	atomic_int stop;
} pr;

static long peer_recv_some(int sd, void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	long r;
	pthread_mutex_lock(&g_peer.lock);
	r = ns_recvmsg(g_peer.st, sd, &iov, 1, 0, NULL);
	pthread_mutex_unlock(&g_peer.lock);
	return r;
}

static void *peer_side(void *arg)
{
	uint8_t junk[64];
	(void)arg;
	while (!atomic_load(&pr.stop)) {
		long r;
		int idle = 1;
		if (pr.a_n < A_LEN &&
		    (r = peer_recv_some(pr.a, a_got + pr.a_n, A_LEN - pr.a_n)) > 0)
			pr.a_n += (size_t)r, idle = 0;
		if (pr.b_n < B_LEN &&
		    (r = peer_recv_some(pr.b, b_got + pr.b_n, B_LEN - pr.b_n)) > 0)
			pr.b_n += (size_t)r, idle = 0;
		if (!pr.d_eof && peer_recv_some(pr.d, junk, sizeof(junk)) == 0)
			pr.d_eof = 1;
		if (pr.c_n < C_LEN) {
			struct iovec iov = { c_pat + pr.c_n, 1024 };
			pthread_mutex_lock(&g_peer.lock);
			r = ns_sendmsg(g_peer.st, pr.c, &iov, 1, 0, NULL);
			pthread_mutex_unlock(&g_peer.lock);
			if (r > 0)
				pr.c_n += (size_t)r, idle = 0;
		}
		if (idle)
			usleep(50);
	}
	return NULL;
}

static void test_handler_calls_while_streaming(void **state)
{
	int fd_a;
	struct vfs_stats st0, st;
	struct sigaction sa, libc_act;
	struct { void *h; unsigned long flags; void *restorer; uint64_t mask; } ka;
	struct itimerval it = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	sigset_t s;
	pthread_t th;
	size_t sent = 0;
	(void)state;
	fx_pattern(a_pat, A_LEN, 11);
	fx_pattern(b_pat, B_LEN, 12);
	fx_pattern(c_pat, C_LEN, 13);
	conn(&fd_a, &pr.a);
	conn(&fd_b, &pr.b);
	conn(&fd_c, &pr.c);
	conn(&fd_d, &pr.d);
	d_closed = 0;
	vfs_get_stats(&st0);
	/* the handler goes in through vfs/ as a hooked program's would:
	 * the kernel's struct with libc's restorer (read back from libc) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_tick;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(hook_raw_syscall(SYS_rt_sigaction, SIGALRM, 0,
					  (long)&ka, 8, 0, 0), 0);
	assert_int_equal(sys(SYS_rt_sigaction, SIGALRM, &ka, 0, 8), 0);
	/* reading it back gives the program's handler, not vfs/'s */
	assert_int_equal(sigaction(SIGALRM, NULL, &libc_act), 0);
	assert_ptr_not_equal(libc_act.sa_sigaction, on_tick); /* the kernel's */
	memset(&ka, 0, sizeof(ka));
	assert_int_equal(sys(SYS_rt_sigaction, SIGALRM, 0, &ka, 8), 0);
	assert_ptr_equal(ka.h, (void *)on_tick);
	assert_true(ka.flags & SA_RESTART);

	assert_int_equal(pthread_create(&th, NULL, peer_side, NULL), 0);
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	while (sent < A_LEN) {
		size_t k = A_LEN - sent < 65536 ? A_LEN - sent : 65536;
		long r = sys(SYS_write, fd_a, a_pat + sent, k); /* blocking */
		assert_true(r > 0); /* SA_RESTART: never EINTR here */
		sent += (size_t)r;
	}
	/* let the handler finish B, C and D (bounded) */
	for (int i = 0; i < 5000 && (b_sent < B_LEN || c_got_n < C_LEN ||
				     !d_closed); i++)
		usleep(1000);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	for (int i = 0; i < 5000 && (pr.a_n < A_LEN || pr.b_n < b_sent ||
				     !pr.d_eof); i++)
		usleep(1000);
	atomic_store(&pr.stop, 1);
	pthread_join(th, NULL);

	vfs_get_stats(&st);
	print_message("ticks %d, deferred %llu, b %zu, c %zu\n", (int)ticks,
		      (unsigned long long)(st.sig_deferred - st0.sig_deferred),
		      (size_t)b_sent, (size_t)c_got_n);
	assert_int_equal(b_err, 0);
	assert_int_equal(c_err, 0);
	assert_int_equal(pr.a_n, A_LEN);
	assert_memory_equal(a_got, a_pat, A_LEN);
	assert_int_equal(b_sent, B_LEN);
	assert_int_equal(pr.b_n, B_LEN);
	assert_memory_equal(b_got, b_pat, B_LEN);
	assert_int_equal(c_got_n, C_LEN);
	assert_memory_equal(c_got, c_pat, C_LEN);
	assert_int_equal(d_ret, 0);
	assert_int_equal(pr.d_eof, 1);
	/* the path under test ran: some ticks landed inside vfs/ */
	assert_true(st.sig_deferred > st0.sig_deferred);
	assert_int_equal(sys(SYS_close, fd_a), 0);
	assert_int_equal(sys(SYS_close, fd_b), 0);
	assert_int_equal(sys(SYS_close, fd_c), 0);
	peer_close(pr.a);
	peer_close(pr.b);
	peer_close(pr.c);
	peer_close(pr.d);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
}

/* A deferred signal without SA_RESTART ends a blocking call with EINTR,
 * after its handler ran; one that arrives while the call sleeps too. */
static volatile sig_atomic_t usr1;
static void on_usr1(int sig) { (void)sig; usr1++; }

static void *kick_later(void *arg)
{
	usleep(100000);
	kill(getpid(), SIGUSR1);
	(void)arg;
	return NULL;
}

static void test_eintr_without_restart(void **state)
{
	int vfd, psd;
	struct sigaction sa;
	struct { void *h; unsigned long flags; void *restorer; uint64_t mask; } ka;
	char buf[8];
	pthread_t th;
	sigset_t s;
	(void)state;
	conn(&vfd, &psd);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL); /* the kicker inherits it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	assert_int_equal(hook_raw_syscall(SYS_rt_sigaction, SIGUSR1, 0,
					  (long)&ka, 8, 0, 0), 0);
	assert_int_equal(sys(SYS_rt_sigaction, SIGUSR1, &ka, 0, 8), 0);
	assert_int_equal(pthread_create(&th, NULL, kick_later, NULL), 0);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	assert_int_equal(sys(SYS_read, vfd, buf, sizeof(buf)), -EINTR);
	assert_int_equal(usr1, 1);
	pthread_join(th, NULL);
	sa.sa_handler = SIG_DFL;
	assert_int_equal(sys(SYS_close, vfd), 0);
	peer_close(psd);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}

static void *watchdog(void *arg)
{
	(void)arg;
	sleep(60);
	fprintf(stderr, "test_signal: watchdog: still running after 60 s "
		"(a handler's netfuse call deadlocked?)\n");
	printf("[  FAILED  ] 1 test(s)\n");
	fflush(NULL);
	_exit(1);
}

int main(void)
{
	pthread_t wd;
	sigset_t s;
	sigfillset(&s);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_create(&wd, NULL, watchdog, NULL);
	pthread_detach(wd);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handler_calls_while_streaming),
		cmocka_unit_test(test_eintr_without_restart),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
