/*
 * dispatch.c: the policy hook/ calls for every system call (hook.h), and
 * vfs/'s start-up, configuration, logging and safe user-memory copies.
 *
 * vfs_dispatch() is the hot path for every call of the program. It looks
 * at the syscall number and, for calls naming an fd, at one slot of the
 * fd table (fdtab.c); anything that is not a netfuse object returns
 * HOOK_PASSTHROUGH, so the hook issues the call itself (the cheapest
 * path). That part only does integer work: the program's vector state is
 * live there. Calls that do concern vfs/ go through slow_path(), which
 * saves the program's vector state (hook_fpu_save, hook/fpu.c) around the C
 * code of sock.c / epoll.c / inst.c, which is compiled normally and may
 * use SSE (memcpy, struct copies).
 *
 * Calls: sock.c (sockets), epoll.c (epoll, poll, select), fdtab.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/sched.h>

#include "vfs/vfs_priv.h"

struct vfs_state vfs_g = { .spin_ns = 50000, .log_level = 1, .pid = 0 };

/* ---- logging ------------------------------------------------------------ */
void vfs_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char buf[512];
	va_list ap;
	int n;
	if (level > vfs_g.log_level)
		return;
	n = snprintf(buf, sizeof(buf), "netfuse: vfs %s: ",
		     names[level < 0 ? 0 : level > 3 ? 3 : level]);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)hook_raw_syscall(SYS_write, 2, (long)buf, n, 0, 0, 0);
}

/* ---- user memory ---------------------------------------------------------- */
/* Two grades. vfs_copy_in/out (hot paths: accept, recvfrom, epoll_ctl,
 * name queries) reject what can never be user memory (NULL page, kernel
 * half, wrap-around) with EFAULT and otherwise copy directly: a pointer to
 * unmapped user memory faults as it would in the program itself.
 * vfs_copy_in/out_safe (control calls: bind, connect, get/setsockopt)
 * copy through process_vm_readv/writev on ourselves, so any bad pointer is
 * EFAULT (about 1 us per copy). Data buffers are not checked (README). */
#define USER_TOP 0x800000000000ull

int vfs_user_ok(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	return a >= 4096 && a + n >= a && a + n <= USER_TOP;
}

static int user_range_ok(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	return a >= 4096 && a + n >= a && a + n <= USER_TOP;
}

int vfs_copy_in(void *dst, const void *user_src, size_t n)
{
	if (!n)
		return 0;
	if (!user_range_ok(user_src, n))
		return -EFAULT;
	memcpy(dst, user_src, n);
	return 0;
}

int vfs_copy_out(void *user_dst, const void *src, size_t n)
{
	if (!n)
		return 0;
	if (!user_range_ok(user_dst, n))
		return -EFAULT;
	memcpy(user_dst, src, n);
	return 0;
}

static long self_pid(void)
{
	if (!vfs_g.pid)
		vfs_g.pid = hook_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	return vfs_g.pid;
}

int vfs_copy_in_safe(void *dst, const void *user_src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)user_src, n };
	long k;
	if (!n)
		return 0;
	if (!user_range_ok(user_src, n))
		return -EFAULT;
	k = hook_raw_syscall(SYS_process_vm_readv, self_pid(), (long)&l, 1,
			     (long)&r, 1, 0);
	return k == (long)n ? 0 : -EFAULT;
}

int vfs_copy_out_safe(void *user_dst, const void *src, size_t n)
{
	struct iovec l = { (void *)(uintptr_t)src, n }, r = { user_dst, n };
	long k;
	if (!n)
		return 0;
	if (!user_range_ok(user_dst, n))
		return -EFAULT;
	k = hook_raw_syscall(SYS_process_vm_writev, self_pid(), (long)&l, 1,
			     (long)&r, 1, 0);
	return k == (long)n ? 0 : -EFAULT;
}

/* ---- fork --------------------------------------------------------------- */
/* fork-like calls reach the policy only when they create a new process
 * (hook.c fork_like). We make the call ourselves so the child learns it
 * is one before running any program code. */
static long do_fork(const struct hook_call *c)
{
	long r;
	if (c->nr == SYS_clone && (c->arg[0] & CLONE_VM))
		return HOOK_PASSTHROUGH;
	if (c->nr == SYS_clone3) {
		struct clone_args ca;
		if (c->arg[1] < (long)sizeof(uint64_t) ||
		    vfs_copy_in_safe(&ca, (void *)c->arg[0], sizeof(uint64_t)) < 0)
			return HOOK_PASSTHROUGH;
		if (ca.flags & CLONE_VM)
			return HOOK_PASSTHROUGH;
	}
	vfs_inst_fork_prepare();
	vfs_fdtab_fork_prepare();
	r = hook_raw_syscall(c->nr, c->arg[0], c->arg[1], c->arg[2],
			     c->arg[3], c->arg[4], c->arg[5]);
	if (r == 0) {
		vfs_inst_fork_child();
		vfs_after_fork_child();
	} else {
		vfs_fdtab_fork_parent(r < 0);
		vfs_inst_fork_parent();
	}
	return r;
}

/* fork(2) made by vfs/ itself (exec.c's relay), counted as the
 * program's forks are */
long vfs_fork_raw(void)
{
	struct hook_call c = { .nr = SYS_fork };
	return do_fork(&c);
}

/* ---- the slow path ------------------------------------------------------ */
/* A vfork child (or any CLONE_VM child with its own fd table) runs in our
 * memory: it must not change the fd table (its close(), dup2(), socket()
 * act on its own kernel fds, e.g. posix_spawn's close_range before exec).
 * Checked on the calls that change the table. */
static int foreign_process(void)
{
	return hook_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) != self_pid();
}

static long vfs_slow(const struct hook_call *c)
{
	struct vfs_obj *o;
	long r;

	switch (c->nr) {
	case SYS_socket: case SYS_epoll_create: case SYS_epoll_create1:
	case SYS_dup: case SYS_dup2: case SYS_dup3: case SYS_close:
	case SYS_close_range: case SYS_accept: case SYS_accept4:
	case SYS_rt_sigaction:
		if (foreign_process())
			return HOOK_PASSTHROUGH;
		break;
	case SYS_fcntl:
		if (c->arg[1] == F_DUPFD || c->arg[1] == F_DUPFD_CLOEXEC)
			return foreign_process() ? HOOK_PASSTHROUGH :
			       vfs_sys_fcntl_dupfd(c); /* any object kind */
		break;
	}
	switch (c->nr) {
	case SYS_socket:
		return vfs_sys_socket(c);
	case SYS_rt_sigaction:
		return vfs_sys_rt_sigaction(c);
	case SYS_epoll_create:
	case SYS_epoll_create1:
		return vfs_sys_epoll_create(c);
	case SYS_dup:
	case SYS_dup2:
	case SYS_dup3:
		return vfs_sys_dup(c);
	case SYS_close:
		return vfs_sys_close((int)c->arg[0]);
	case SYS_close_range:
		return vfs_sys_close_range(c);
	case SYS_poll:
	case SYS_ppoll:
		return vfs_sys_poll(c);
	case SYS_select:
	case SYS_pselect6:
		return vfs_sys_select(c);
	case SYS_fork:
	case SYS_clone:
	case SYS_clone3:
		return do_fork(c);
	case SYS_exit_group:
		if (!foreign_process())
			vfs_exit_close_all();
		return HOOK_PASSTHROUGH;
	case SYS_splice:
		return vfs_sys_splice(c);
	case SYS_execve:
	case SYS_execveat:
		/* This image's hold on the stack ends: give back every
		 * netfuse fd as exit does (a socket no other process holds
		 * is closed: FIN, linger), if the exec looks likely to
		 * succeed (execve: the file is executable; a failing exec
		 * keeps the sockets). vfork children (our memory) pass.
		 * See README, "fork, vfork, exec". */
		if (!foreign_process() &&
		    (c->nr == SYS_execveat ||
		     hook_raw_syscall(SYS_faccessat, AT_FDCWD, c->arg[0], X_OK,
				      0, 0, 0) == 0)) {
			vfs_exec_relay(); /* connections kept across it */
			vfs_exit_close_all();
		}
		return HOOK_PASSTHROUGH;
	case SYS_epoll_ctl:
		o = vfs_fd_get((int)c->arg[0]);
		if (!o)
			return HOOK_PASSTHROUGH;
		r = o->kind == VFS_K_EPOLL ?
		    vfs_sys_epoll_ctl(c, (struct vfs_epoll *)o) : -EINVAL;
		vfs_obj_put(o);
		return r;
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		o = vfs_fd_get((int)c->arg[0]);
		if (!o)
			return HOOK_PASSTHROUGH;
		r = o->kind == VFS_K_EPOLL ?
		    vfs_sys_epoll_wait(c, (struct vfs_epoll *)o) : -EINVAL;
		vfs_obj_put(o);
		return r;
	default:
		o = vfs_fd_get((int)c->arg[0]);
		if (!o)
			return HOOK_PASSTHROUGH;
		r = o->kind == VFS_K_SOCK ?
		    vfs_sys_sock_call(c, (struct vfs_sock *)o) :
		    HOOK_PASSTHROUGH;
		vfs_obj_put(o);
		return r;
	}
}

static __attribute__((noinline)) long slow_path(const struct hook_call *c)
{
	unsigned sz = hook_fpu_size();
	void *raw = __builtin_alloca(sz + 64);
	void *buf = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	long r;
	hook_fpu_save(buf);
	vfs_sig_enter();
	r = vfs_slow(c);
	vfs_sig_leave(); /* handlers deferred meanwhile run here */
	hook_fpu_restore(buf);
	return r;
}

/* A call made by vfs/ itself as if the program made it (exec.c) */
long vfs_call(const struct hook_call *c)
{
	return vfs_slow(c);
}

/* The hot path: integer work only (see the header comment). */
long vfs_dispatch(void *ctx, const struct hook_call *c)
{
	(void)ctx;
	switch (c->nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_close: case SYS_fcntl: case SYS_ioctl: case SYS_dup:
	case SYS_bind: case SYS_listen: case SYS_accept: case SYS_accept4:
	case SYS_connect: case SYS_shutdown: case SYS_sendto:
	case SYS_recvfrom: case SYS_sendmsg: case SYS_recvmsg:
	case SYS_sendmmsg: case SYS_recvmmsg: case SYS_getsockopt:
	case SYS_setsockopt: case SYS_getsockname: case SYS_getpeername:
	case SYS_epoll_ctl: case SYS_epoll_wait: case SYS_epoll_pwait:
	case SYS_epoll_pwait2: case SYS_sendfile:
		if (!vfs_fd_peek((int)c->arg[0]))
			return HOOK_PASSTHROUGH;
		break;
	case SYS_dup2: case SYS_dup3:
		if (!vfs_fd_peek((int)c->arg[0]) &&
		    !vfs_fd_peek((int)c->arg[1]))
			return HOOK_PASSTHROUGH;
		break;
	case SYS_splice:
		if (!vfs_fd_peek((int)c->arg[0]) &&
		    !vfs_fd_peek((int)c->arg[2]))
			return HOOK_PASSTHROUGH;
		break;
	case SYS_socket:
		if (c->arg[0] != AF_INET && c->arg[0] != AF_INET6)
			return HOOK_PASSTHROUGH;
		break;
	case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6:
		if (!atomic_load_explicit(&vfs_g.nsocks_live,
					  memory_order_relaxed))
			return HOOK_PASSTHROUGH;
		break;
	case SYS_epoll_create: case SYS_epoll_create1: case SYS_close_range:
	case SYS_fork: case SYS_clone: case SYS_clone3: case SYS_rt_sigaction:
		break;
	case SYS_exit_group: case SYS_execve: case SYS_execveat:
		/* once the stack runs, even with no socket left open: the
		 * program's closed connections may still have data and FINs
		 * to deliver (vfs_exit_close_all lingers for them) */
		if (!atomic_load_explicit(&vfs_g.nsocks_live,
					  memory_order_relaxed) &&
		    atomic_load_explicit(&vfs_g.inst_state,
					 memory_order_acquire) != 1)
			return HOOK_PASSTHROUGH;
		break;
	case SYS_io_uring_setup:
		return -ENOSYS;
	default:
		return HOOK_PASSTHROUGH;
	}
	if (__builtin_expect(hook_tracing(), 0))
		hook_trace_note("vfs"); /* sock.c: "netfuse#K" if a stack's */
	return slow_path(c);
}

/* ---- configuration and start-up ----------------------------------------- */
static const char *env_get(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

int vfs_setup(vfs_getenv_fn get, void *arg)
{
	const char *v;
	char err[160];
	int rc = 0;

	vfs_g.enabled = 1;
	vfs_g.pid = 0;
	(void)self_pid();
	v = get(arg, "NETFUSE_VFS");
	if (v && !strcmp(v, "0"))
		vfs_g.enabled = 0;
	v = get(arg, "NETFUSE_LOG");
	vfs_g.log_level = 1;
	if (v && *v) {
		if (!strcmp(v, "error")) vfs_g.log_level = 0;
		else if (!strcmp(v, "warn")) vfs_g.log_level = 1;
		else if (!strcmp(v, "info")) vfs_g.log_level = 2;
		else if (!strcmp(v, "debug")) vfs_g.log_level = 3;
	}
	vfs_g.spin_ns = 50000;
	vfs_g.spin_fixed = 0;   /* adaptive (vfs/spin.h) unless set */
	v = get(arg, "NETFUSE_SPIN_US");
	if (v && *v) {
		char *end;
		unsigned long us = strtoul(v, &end, 10);
		if (*end || us > 1000000) {
			vfs_log(0, "NETFUSE_SPIN_US='%s' is not a number of "
				"microseconds (0..1000000); spinning adapts "
				"to the load instead", v);
			rc = -EINVAL;
		} else {
			vfs_g.spin_ns = us * 1000ull;
			vfs_g.spin_fixed = 1;
		}
	}
	vfs_g.move_off = 0;
	v = get(arg, "NETFUSE_MOVE");
	if (v && *v) {
		if (!strcmp(v, "0")) {
			vfs_g.move_off = 1;
		} else if (strcmp(v, "1")) {
			vfs_log(0, "NETFUSE_MOVE='%s': want 1 (move accepted "
				"connections to the instance of the thread "
				"using them, the default) or 0; using 1", v);
			rc = -EINVAL;
		}
	}
	vfs_g.exit_linger_ns = 2000000000ull;
	v = get(arg, "NETFUSE_EXIT_LINGER_MS");
	if (v && *v) {
		char *end;
		unsigned long ms = strtoul(v, &end, 10);
		if (*end || ms > 600000) {
			vfs_log(0, "NETFUSE_EXIT_LINGER_MS='%s' is not a number of "
				"milliseconds (0..600000); using 2000", v);
			rc = -EINVAL;
		} else {
			vfs_g.exit_linger_ns = ms * 1000000ull;
		}
	}
	/* the netfuse interface, for routing before the stack exists (io/
	 * parses the same variable when it starts) */
	vfs_g.route.ip_be = htonl(0xc6120002u);
	vfs_g.route.mask_be = htonl(0xffffff00u);
	v = get(arg, "NETFUSE_ADDR");
	if (v && *v) {
		char a[32];
		const char *slash = strchr(v, '/');
		size_t n = slash ? (size_t)(slash - v) : strlen(v);
		unsigned long len = 24;
		struct in_addr ia;
		int ok = n < sizeof(a);
		if (ok) {
			memcpy(a, v, n);
			a[n] = 0;
			ok = inet_pton(AF_INET, a, &ia) == 1;
		}
		if (ok && slash) {
			char *end;
			len = strtoul(slash + 1, &end, 10);
			ok = end != slash + 1 && !*end && len <= 32;
		}
		if (ok) {
			vfs_g.route.ip_be = ia.s_addr;
			vfs_g.route.mask_be = len ? htonl(0xffffffffu <<
							  (32 - len)) : 0;
		} else {
			rc = -EINVAL; /* io/ prints the line when it starts */
		}
	}
	/* and its IPv6 address (io/ parses it too, and reports a bad one) */
	inet_pton(AF_INET6, "2001:2::2", &vfs_g.route.ip6);
	vfs_g.route.prefix6_len = 64;
	vfs_g.route.has_ip6 = 1;
	v = get(arg, "NETFUSE_ADDR6");
	if (v && *v) {
		char a[INET6_ADDRSTRLEN];
		const char *slash = strchr(v, '/');
		size_t n = slash ? (size_t)(slash - v) : strlen(v);
		unsigned long len = 64;
		int ok = n < sizeof(a);
		if (!strcmp(v, "none")) {
			vfs_g.route.has_ip6 = 0;
		} else {
			if (ok) {
				memcpy(a, v, n);
				a[n] = 0;
				ok = inet_pton(AF_INET6, a, &vfs_g.route.ip6) == 1;
			}
			if (ok && slash) {
				char *end;
				len = strtoul(slash + 1, &end, 10);
				ok = end != slash + 1 && !*end && len <= 128;
			}
			if (ok)
				vfs_g.route.prefix6_len = (uint8_t)len;
			else
				vfs_g.route.has_ip6 = 0;
			if (!ok)
				rc = -EINVAL;
		}
	}
	v = get(arg, "NETFUSE_ROUTE");
	if (vfs_route_parse(&vfs_g.route, v, err, sizeof(err)) < 0) {
		vfs_log(0, "%s; ignoring NETFUSE_ROUTE", err);
		vfs_g.route.nrules = 0;
		rc = -EINVAL;
	}
	return rc;
}

void vfs_get_stats(struct vfs_stats *s)
{
	int i;
	memset(s, 0, sizeof(*s));
	s->socks_live = (uint64_t)atomic_load(&vfs_g.nsocks_live);
	for (i = 0; i < VFS_FB_COUNT; i++)
		s->fallbacks += atomic_load(&vfs_g.fallbacks[i]);
	s->fallback_loopback = atomic_load(&vfs_g.fallbacks[VFS_FB_loopback]);
	s->fallback_rule = atomic_load(&vfs_g.fallbacks[VFS_FB_rule]);
	s->fallback_no_instance =
		atomic_load(&vfs_g.fallbacks[VFS_FB_no_instance]);
	s->fallback_other_addr =
		atomic_load(&vfs_g.fallbacks[VFS_FB_other_addr]);
	s->fallback_ipv6 = atomic_load(&vfs_g.fallbacks[VFS_FB_ipv6]);
	s->sig_deferred = vfs_sig_deferred();
	if (vfs_g.inst) {
		vfs_inst_lock(vfs_g.inst);
		s->polls = vfs_g.inst->polls;
		s->wakeups = vfs_g.inst->wakeups_sent;
		s->ep_checks = vfs_g.inst->ep_checks;
		vfs_inst_unlock(vfs_g.inst);
	}
	s->sigpipes = atomic_load(&vfs_g.sigpipes);
	s->exit_unacked_conns = atomic_load(&vfs_g.exit_unacked_conns);
	s->exit_unacked_bytes = atomic_load(&vfs_g.exit_unacked_bytes);
	s->objs_sock = vfs_obj_live(VFS_K_SOCK);
	s->objs_epoll = vfs_obj_live(VFS_K_EPOLL);
}

/* After the hook's constructor (101 or default-ordered ones run later). */
__attribute__((constructor(102))) static void vfs_ctor(void)
{
	struct hook_stats hs;
	struct rlimit rl;
	int n = 1024;

	hook_get_stats(&hs);
	if (!hs.active)
		return; /* tests link us without the hook's constructor */
	hook_guard_enter();
	(void)vfs_setup(env_get, NULL);
	if (!vfs_g.enabled) {
		hook_guard_leave();
		return;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	/* NETFUSE_TRACE wraps this policy (hook/trace.c) */
	if (vfs_fdtab_init(n) == 0)
		hook_set_dispatch(vfs_dispatch, NULL);
	hook_guard_leave();
}
