/*
 * tapsig.c: keep net_tap's signals away from the program's threads.
 *
 * DPDK's net_tap asks the kernel for a signal (O_ASYNC, F_SETSIG: a
 * realtime signal in 22.11) on every frame, sent to the whole process, to
 * bump its rx trigger. Any program thread can take it, and a thread
 * blocked in poll(), epoll_wait(), nanosleep() or a socket call with a
 * timeout then returns EINTR (seen here: a kernel-side connect() with
 * SO_SNDTIMEO failed with EINTR). An unmodified program must not see
 * signals it never asked for, so io/ starts one thread that does nothing
 * but take them (pause() in a loop: it never spins) and points every tun
 * fd of our interface at it with F_SETOWN_EX/F_OWNER_TID. The handler,
 * net_tap's own, still runs and bumps the trigger; io/'s deliberate kicks
 * (nf_io_wake_kick, raise() on the polling thread itself) are unaffected.
 *
 * Called by io/port.c after the port started (net_tap only) and at
 * teardown.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io/io_priv.h"

static pthread_t sig_thread;
static atomic_int sig_tid;
static int sig_running;

static void *sig_main(void *arg)
{
	sigset_t only;

	/* take net_tap's signal and nothing else: the program's own signals
	 * (SIGTERM for its sigwait() thread, ...) must not land here */
	sigfillset(&only);
	sigdelset(&only, (int)(intptr_t)arg);
	pthread_sigmask(SIG_SETMASK, &only, NULL);
	atomic_store(&sig_tid, (int)syscall(SYS_gettid));
	for (;;)
		pause();  /* a cancellation point: nf_io_tapsig_stop() */
	return NULL;
}

/* Is fd a tun fd attached to ifname? (/proc/self/fdinfo "iff:" line) */
static int tun_of(int fd, const char *ifname)
{
	char path[64], link[64], line[128];
	ssize_t n;
	FILE *f;
	int hit = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	if (strcmp(link, "/dev/net/tun") != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char name[32];

		if (sscanf(line, "iff: %31s", name) == 1 &&
		    strcmp(name, ifname) == 0)
			hit = 1;
	}
	fclose(f);
	return hit;
}

int nf_io_tapsig_start(const char *ifname)
{
	struct f_owner_ex own;
	DIR *d;
	struct dirent *e;
	int fds[64], nfd = 0, moved = 0, tries, i, sig = 0;
	sigset_t all, old;

	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL && nfd < (int)RTE_DIM(fds)) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    fd == dirfd(d) || !tun_of(fd, ifname))
			continue;
		fds[nfd++] = fd;
		if (sig == 0)
			sig = fcntl(fd, F_GETSIG);
	}
	closedir(d);
	if (nfd == 0)
		return 0;
	if (sig <= 0)
		sig = SIGIO;
	if (!sig_running) {
		/* created with everything blocked; it unblocks only sig */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&sig_thread, NULL, sig_main,
				   (void *)(intptr_t)sig) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return -EAGAIN;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_setname_np(sig_thread, "netfuse-tapsig");
		sig_running = 1;
		for (tries = 0; tries < 1000 && atomic_load(&sig_tid) == 0;
		     tries++)
			usleep(1000);
		if (atomic_load(&sig_tid) == 0)
			return -EAGAIN;
	}
	own.type = F_OWNER_TID;
	own.pid = atomic_load(&sig_tid);
	for (i = 0; i < nfd; i++)
		if (fcntl(fds[i], F_SETOWN_EX, &own) == 0)
			moved++;
	return moved;
}

/* In a fork child: the thread is the parent's (not copied by fork) */
void nf_io_tapsig_forget(void)
{
	sig_running = 0;
	atomic_store(&sig_tid, 0);
}

void nf_io_tapsig_stop(void)
{
	if (!sig_running)
		return;
	pthread_cancel(sig_thread);
	pthread_join(sig_thread, NULL);
	sig_running = 0;
	atomic_store(&sig_tid, 0);
}
