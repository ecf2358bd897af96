/*
 * exec.c: a connected netfuse socket that survives execve (inetd-style
 * servers: accept, fork, dup2 the connection to 0 and 1, exec a handler).
 *
 * The new image cannot run the shared stack itself: it maps libhook.so
 * and DPDK at other addresses, while the instances' function tables
 * hold the old image's code addresses (docs/DESIGN.md, "Processes"). So
 * before the exec, each connected TCP socket without close-on-exec is
 * handed to a relay: a process forked here (a fork child shares the
 * instances), detached by a double fork so the exec'd program never sees
 * it as its child. The relay copies bytes both ways between the netfuse
 * connection and one end of an AF_UNIX stream socketpair; the other end
 * takes the socket's fd number(s) in the exec'ing process. EOF and
 * shutdown pass through in each direction; the relay exits when both
 * directions are done. The exec'd program reads and writes its fds as
 * before; what it cannot see is the socket's nature (getpeername and
 * TCP options answer for an AF_UNIX socket). Listeners and UDP sockets
 * are not relayed (they reach the new image as their kernel placeholder,
 * as before).
 *
 * The relay is forked inside the program's execve, with raw system calls
 * and no malloc on its path (a multi-threaded program may hold libc's
 * locks at that moment).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "vfs/vfs_priv.h"

#define RELAY_MAX 8
#define RELAY_BUF 65536

struct dir {
	char *buf;
	size_t len, off;
	int src_eof;          /* the source gave EOF (or failed) */
	int shut;             /* the destination was shut down for writing */
};

struct pair {
	struct vfs_sock *s;
	int nf;               /* the netfuse fd the relay keeps */
	int ux;               /* the relay's end of the socketpair */
	int prog;             /* the program's end (closed in the relay) */
	struct dir to_ux, to_nf;
};

static long raw(long nr, long a, long b, long c, long d, long e, long f)
{
	return hook_raw_syscall(nr, a, b, c, d, e, f);
}

/* A netfuse fd's call (through vfs/, as if the program made it) */
static long nf_call(long nr, long a, long b, long c, long d)
{
	struct hook_call hc = { .nr = nr, .arg = { a, b, c, d, 0, 0 } };
	long r = vfs_call(&hc);
	return r == HOOK_PASSTHROUGH ? raw(nr, a, b, c, d, 0, 0) : r;
}

/* one step of a direction: read when empty, write when not */
static void dir_step(struct dir *d, int src, int src_nf, int dst, int dst_nf,
		     short rev_src, short rev_dst)
{
	long k;
	if (!d->len && !d->src_eof && rev_src) {
		k = src_nf ? nf_call(SYS_read, src, (long)d->buf, RELAY_BUF, 0) :
			     raw(SYS_read, src, (long)d->buf, RELAY_BUF, 0, 0, 0);
		if (k > 0) {
			d->len = (size_t)k;
			d->off = 0;
		} else if (k != -EAGAIN && k != -EINTR) {
			d->src_eof = 1;
		}
	}
	if (d->len && rev_dst) {
		k = dst_nf ? nf_call(SYS_write, dst, (long)(d->buf + d->off),
				     (long)(d->len - d->off), 0) :
			     raw(SYS_write, dst, (long)(d->buf + d->off),
				 (long)(d->len - d->off), 0, 0, 0);
		if (k > 0) {
			d->off += (size_t)k;
			if (d->off == d->len)
				d->len = d->off = 0;
		} else if (k != -EAGAIN && k != -EINTR) {
			d->len = d->off = 0; /* the reader is gone */
			d->src_eof = 1;
		}
	}
	if (d->src_eof && !d->len && !d->shut) {
		if (dst_nf)
			(void)nf_call(SYS_shutdown, dst, SHUT_WR, 0, 0);
		else
			(void)raw(SYS_shutdown, dst, SHUT_WR, 0, 0, 0, 0);
		d->shut = 1;
	}
}

static void relay_loop(struct pair *p, int n)
{
	for (;;) {
		struct pollfd pf[2 * RELAY_MAX];
		int i, k = 0, live = 0;
		for (i = 0; i < n; i++) {
			struct pair *q = &p[i];
			short nfev = 0, uxev = 0;
			if (q->to_ux.shut && q->to_nf.shut)
				continue;
			live++;
			if (!q->to_ux.len && !q->to_ux.src_eof)
				nfev |= POLLIN;
			if (q->to_nf.len)
				nfev |= POLLOUT;
			if (!q->to_nf.len && !q->to_nf.src_eof)
				uxev |= POLLIN;
			if (q->to_ux.len)
				uxev |= POLLOUT;
			pf[k].fd = q->nf;
			pf[k].events = nfev;
			pf[k++].revents = 0;
			pf[k].fd = q->ux;
			pf[k].events = uxev;
			pf[k++].revents = 0;
		}
		if (!live)
			return;
		if (nf_call(SYS_ppoll, (long)pf, k, 0, 0) < 0)
			continue; /* EINTR */
		for (i = 0, k = 0; i < n; i++) {
			struct pair *q = &p[i];
			short a, b;
			if (q->to_ux.shut && q->to_nf.shut)
				continue;
			a = pf[k++].revents;
			b = pf[k++].revents;
			/* HUP/ERR count as readable: the read says what */
			dir_step(&q->to_ux, q->nf, 1, q->ux, 0,
				 a & (POLLIN | POLLHUP | POLLERR),
				 b & (POLLOUT | POLLHUP | POLLERR));
			dir_step(&q->to_nf, q->ux, 0, q->nf, 1,
				 b & (POLLIN | POLLHUP | POLLERR),
				 a & (POLLOUT | POLLHUP | POLLERR));
		}
	}
}

static int kept(const struct pair *p, int n, int fd)
{
	int i;
	for (i = 0; i < n; i++)
		if (p[i].nf == fd || p[i].ux == fd)
			return 1;
	return vfs_inst_own_fd(fd);
}

/* In the relay: give back every fd but the relayed sockets, the
 * socketpair ends it uses and the stack's own (tap queues, eventfds) */
static void relay_close_others(const struct pair *p, int n)
{
	char buf[4096];
	long dfd = raw(SYS_open, (long)"/proc/self/fd",
		       O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0, 0);
	int fds[1024], nfds = 0, i;
	if (dfd < 0)
		return;
	for (;;) {
		long got = raw(SYS_getdents64, dfd, (long)buf, sizeof(buf), 0, 0, 0);
		long off = 0;
		if (got <= 0)
			break;
		while (off < got) {
			unsigned short reclen = *(unsigned short *)(buf + off + 16);
			const char *name = buf + off + 19;
			long fd = 0;
			if (name[0] >= '0' && name[0] <= '9') {
				while (*name >= '0' && *name <= '9')
					fd = fd * 10 + (*name++ - '0');
				if (fd != dfd && nfds < 1024)
					fds[nfds++] = (int)fd;
			}
			off += reclen;
		}
	}
	(void)raw(SYS_close, dfd, 0, 0, 0, 0, 0);
	for (i = 0; i < nfds; i++)
		if (!kept(p, n, fds[i]))
			(void)vfs_sys_close(fds[i]);
}

/* Before an execve that is likely to succeed (dispatch.c): relay every
 * connected TCP netfuse socket without close-on-exec. */
void vfs_exec_relay(void)
{
	struct pair p[RELAY_MAX];
	int n = 0, hi = atomic_load(&vfs_fdt.hi), fd, i, sv[2];
	long pid, st;
	char *mem;

	for (fd = 0; fd < hi && n < RELAY_MAX; fd++) {
		struct vfs_obj *o = vfs_fd_peek(fd);
		struct vfs_sock *s = (struct vfs_sock *)o;
		long fl;
		if (!o || o->kind != VFS_K_SOCK || s->route != VFS_R_NETFUSE ||
		    s->type != SOCK_STREAM || s->rsd || s->sd < 0)
			continue;
		fl = raw(SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0);
		if (fl < 0 || (fl & FD_CLOEXEC))
			continue;
		for (i = 0; i < n && p[i].s != s; i++)
			;
		if (i < n)
			continue; /* a dup of one already relayed */
		if (raw(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			(long)sv, 0, 0) < 0)
			break;
		memset(&p[n], 0, sizeof(p[n]));
		p[n].s = s;
		p[n].nf = fd;
		p[n].prog = sv[0];
		p[n].ux = sv[1];
		n++;
	}
	if (!n)
		return;
	mem = (char *)raw(SYS_mmap, 0, 2L * RELAY_BUF * n,
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if ((long)mem < 0 && (long)mem > -4096)
		goto out;
	for (i = 0; i < n; i++) {
		p[i].to_ux.buf = mem + 2L * RELAY_BUF * i;
		p[i].to_nf.buf = p[i].to_ux.buf + RELAY_BUF;
	}
	/* the double fork: the relay becomes init's child, not the exec'd
	 * program's; each fork counts its fds as the program's fork does */
	pid = vfs_fork_raw();
	if (pid == 0) {
		/* no handler of the program runs in the relay; the
		 * synchronous signals stay open (the hook's SIGSYS) */
		sigset_t all;
		vfs_async_signals(&all);
		(void)raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, 8, 0, 0);
		if (vfs_fork_raw() == 0) {
			relay_close_others(p, n);
			for (i = 0; i < n; i++) {
				(void)nf_call(SYS_fcntl, p[i].nf, F_SETFL, O_NONBLOCK, 0);
				(void)raw(SYS_fcntl, p[i].ux, F_SETFL, O_NONBLOCK, 0, 0, 0);
			}
			relay_loop(p, n);
			vfs_exit_close_all();
			(void)raw(SYS_exit_group, 0, 0, 0, 0, 0, 0);
		}
		/* the middle process gives back what the fork counted */
		for (fd = 0; fd < hi; fd++)
			if (vfs_fd_peek(fd))
				(void)vfs_fd_remove(fd);
		(void)raw(SYS_exit_group, 0, 0, 0, 0, 0, 0);
	}
	if (pid > 0)
		(void)raw(SYS_wait4, pid, (long)&st, 0, 0, 0, 0);
	(void)raw(SYS_munmap, (long)mem, 2L * RELAY_BUF * n, 0, 0, 0, 0);
	if (pid > 0) {
		/* every fd naming a relayed socket now names the program's
		 * end of its socketpair (kept across the exec) */
		for (fd = 0; fd < hi; fd++) {
			struct vfs_obj *o = vfs_fd_peek(fd);
			for (i = 0; o && i < n; i++)
				if (o == &p[i].s->h) {
					(void)vfs_fd_remove(fd);
					(void)raw(SYS_dup3, p[i].prog, fd, 0, 0, 0, 0);
					break;
				}
		}
	}
out:
	for (i = 0; i < n; i++) {
		(void)raw(SYS_close, p[i].prog, 0, 0, 0, 0, 0);
		(void)raw(SYS_close, p[i].ux, 0, 0, 0, 0, 0);
	}
}
