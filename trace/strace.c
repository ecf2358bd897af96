/*
 * strace.c: NETFUSE_TRACE's lines in strace's format, with where each
 * call went:
 *     openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3 <kernel>
 *     connect(5, {sa_family=AF_INET, sin_port=htons(80), sin_addr=
 *         inet_addr("198.18.0.1")}, 16) = -1 EINPROGRESS (Operation now
 *         in progress) <netfuse#0>
 * Installed as the hook's tracer (hook_set_tracer) at load when
 * NETFUSE_TRACE is on; runs inside the hook (no libc, general registers
 * only: built with the hook's flags). The system calls servers use are
 * decoded (table below); others print their six arguments as numbers.
 * Threads other than the main one are prefixed "[pid TID]" as strace -f.
 */
#include <sys/syscall.h>

#include "hook/hook.h"
#include "hook/sysnames.h"
#include "trace/args.h"
#include "trace/errnames.h"

/* argument kinds: d int, u unsigned, x hex, p pointer, s string, D dirfd,
 * O open flags (and the mode after it when creating), W buffer in (length
 * next), R buffer out (length: the result), A sockaddr in (length next),
 * a sockaddr out (length pointer next), l int pointer, F family, T socket
 * type, P protocol, M MSG_ flags, L option level, N option name, V option
 * value in (length next), v option value out, H shutdown how, K SOCK_
 * flags, E string array, e environment (count) */
static const struct sc { int nr; const char *k; } tab[] = {
	{ SYS_read, "dRu" }, { SYS_write, "dWu" }, { SYS_pread64, "dRud" },
	{ SYS_pwrite64, "dWud" }, { SYS_open, "sO" }, { SYS_openat, "DsO" },
	{ SYS_close, "d" }, { SYS_lseek, "ddd" }, { SYS_dup, "d" },
	{ SYS_dup2, "dd" }, { SYS_dup3, "ddO" }, { SYS_unlink, "s" },
	{ SYS_unlinkat, "Dsd" }, { SYS_access, "sd" }, { SYS_chdir, "s" },
	{ SYS_socket, "FTP" }, { SYS_bind, "dAu" }, { SYS_connect, "dAu" },
	{ SYS_listen, "dd" }, { SYS_accept, "dal" }, { SYS_accept4, "dalK" },
	{ SYS_getsockname, "dal" }, { SYS_getpeername, "dal" },
	{ SYS_sendto, "dWuMAu" }, { SYS_recvfrom, "dRuMal" },
	{ SYS_setsockopt, "dLNVu" }, { SYS_getsockopt, "dLNvl" },
	{ SYS_shutdown, "dH" }, { SYS_getpid, "" }, { SYS_gettid, "" },
	{ SYS_getppid, "" }, { SYS_getuid, "" }, { SYS_geteuid, "" },
	{ SYS_getgid, "" }, { SYS_getegid, "" }, { SYS_exit, "d" },
	{ SYS_exit_group, "d" }, { SYS_execve, "sEe" }, { SYS_kill, "dd" },
	{ SYS_epoll_create1, "d" }, { SYS_epoll_wait, "dpdd" },
	{ SYS_epoll_pwait, "dpddpu" }, { SYS_munmap, "pu" },
	{ SYS_brk, "p" }, { SYS_sched_yield, "" }, { SYS_pause, "" },
	{ SYS_rmdir, "s" },
};

static const struct sc *lookup(long nr)
{
	size_t i;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].nr == nr)
			return &tab[i];
	return 0;
}

static void str_array(struct out *o, long p)
{
	long v;
	int i;
	if (!p || user_read(&v, p, sizeof(v)) < 0) {
		out_ptr(o, p);
		return;
	}
	out_c(o, '[');
	for (i = 0; i < 32; i++) {
		if (user_read(&v, p + i * (long)sizeof(long), sizeof(v)) < 0 || !v)
			break;
		if (i)
			out_s(o, ", ");
		out_str(o, v);
	}
	if (i == 32)
		out_s(o, ", ...");
	out_c(o, ']');
}

static void env_count(struct out *o, long p)
{
	long v;
	int n = 0;
	out_ptr(o, p);
	if (!p)
		return;
	while (n < 100000 && user_read(&v, p + n * (long)sizeof(long),
				       sizeof(v)) == 0 && v)
		n++;
	out_s(o, " /* ");
	out_d(o, n);
	out_s(o, " vars */");
}

static void args(struct out *o, const struct sc *s, const struct hook_call *c,
		 long r, int done)
{
	int i, a = 0;
	const long *v = c->arg;
	for (i = 0; s->k[i] && a < 6; i++, a++) {
		char k = s->k[i];
		if (a)
			out_s(o, ", ");
		switch (k) {
		case 'd': out_d(o, (int)v[a]); break;
		case 'u': out_u(o, (unsigned long)v[a]); break;
		case 'x': out_x(o, (unsigned long)v[a]); break;
		case 'p': out_ptr(o, v[a]); break;
		case 's': out_str(o, v[a]); break;
		case 'D':
			if ((int)v[a] == -100)
				out_s(o, "AT_FDCWD");
			else
				out_d(o, (int)v[a]);
			break;
		case 'O':
			arg_open_flags(o, v[a]);
			if ((v[a] & 0100) || (v[a] & 020200000) == 020200000) {
				out_s(o, ", ");
				out_o(o, (unsigned long)v[a + 1]);
			}
			break;
		case 'W': out_buf(o, v[a], (long)v[a + 1]); break;
		case 'R':
			if (done && r >= 0)
				out_buf(o, v[a], r);
			else
				out_ptr(o, v[a]);
			break;
		case 'A': arg_sockaddr(o, v[a], v[a + 1]); break;
		case 'a': {
			int len = 0;
			if (done && r >= 0 && v[a] && v[a + 1] &&
			    user_read(&len, v[a + 1], sizeof(len)) == 0)
				arg_sockaddr(o, v[a], len);
			else
				out_ptr(o, v[a]);
			break;
		}
		case 'l': arg_int_ptr(o, v[a]); break;
		case 'F': arg_family(o, v[a]); break;
		case 'T': arg_sock_type(o, v[a]); break;
		case 'P': arg_protocol(o, v[0], v[a]); break;
		case 'M': arg_msg_flags(o, v[a]); break;
		case 'L': arg_level(o, v[a]); break;
		case 'N': arg_optname(o, v[a - 1], v[a]); break;
		case 'V':
			if (v[a + 1] == 4)
				arg_int_ptr(o, v[a]);
			else
				out_ptr(o, v[a]);
			break;
		case 'v': {
			int len = 0;
			if (done && r == 0 && v[a + 1] &&
			    user_read(&len, v[a + 1], sizeof(len)) == 0 && len == 4)
				arg_int_ptr(o, v[a]);
			else
				out_ptr(o, v[a]);
			break;
		}
		case 'H': arg_shutdown(o, v[a]); break;
		case 'K': arg_sock_flags(o, v[a]); break;
		case 'E': str_array(o, v[a]); break;
		case 'e': env_count(o, v[a]); break;
		default: out_x(o, (unsigned long)v[a]); break;
		}
	}
}

static void result(struct out *o, long nr, long r)
{
	if (r < 0 && r >= -4095) {
		const char *msg, *name = err_name((int)-r, &msg);
		out_s(o, "-1 ");
		if (name) {
			out_s(o, name);
			out_s(o, " (");
			out_s(o, msg);
			out_c(o, ')');
		} else {
			out_s(o, "E");
			out_d(o, -r);
		}
	} else if (nr == SYS_mmap || nr == SYS_brk || nr == SYS_mremap) {
		out_x(o, (unsigned long)r);
	} else {
		out_d(o, r);
	}
}

static void strace_line(const struct hook_call *c, long r, const char *where,
			int before)
{
	struct out o;
	const struct sc *s = lookup(c->nr);
	unsigned long nr = (unsigned long)c->nr;
	long tid = hook_raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	o.n = 0;
	if (tid != hook_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0)) {
		out_s(&o, "[pid ");
		out_d(&o, tid);
		out_s(&o, "] ");
	}
	if (nr < sizeof(sys_names) / sizeof(sys_names[0]) && sys_names[nr]) {
		out_s(&o, sys_names[nr]);
	} else {
		out_s(&o, "syscall_");
		out_x(&o, nr);
	}
	out_c(&o, '(');
	if (s) {
		args(&o, s, c, r, !before);
	} else {
		int i;
		for (i = 0; i < 6; i++) {
			if (i)
				out_s(&o, ", ");
			if (c->arg[i] > -4096 && c->arg[i] < 65536)
				out_d(&o, c->arg[i]);
			else
				out_x(&o, (unsigned long)c->arg[i]);
		}
	}
	out_s(&o, ") = ");
	if (before)
		out_c(&o, '?');
	else
		result(&o, c->nr, r);
	out_s(&o, " <");
	out_s(&o, where);
	out_s(&o, ">\n");
	hook_raw_syscall(SYS_write, hook_trace_fd(), (long)o.b, (long)o.n, 0,
			 0, 0);
}

/* after libhook's own constructor (101), which reads NETFUSE_TRACE */
__attribute__((constructor(102))) static void strace_init(void)
{
	if (hook_tracing())
		hook_set_tracer(strace_line);
}
