/*
 * trace.c: the tracing policy (NETFUSE_TRACE=1), strace-like.
 *
 * One line per call on stderr (or NETFUSE_TRACE_FD):
 *     [tid] name(arg1, arg2, ...) = result
 * It passes every call to the kernel; tests use it to see that calls go
 * through the hook. Calls the kernel does not return from in the usual
 * way (clone with a new stack, vfork, exit) are printed before they run.
 * Formats with raw.c only: no libc, no vector registers.
 */
#include <sys/syscall.h>

#include "hook/hook_priv.h"
#include "hook/sysnames.h"

int trace_on;
int trace_fd = 2;

static size_t put(char *b, size_t n, const char *s)
{
	while (*s && n < 200)
		b[n++] = *s++;
	return n;
}

static size_t head(char *b, const struct hook_call *c)
{
	char num[24];
	size_t n = 0;
	b[n++] = '[';
	raw_fmt_u64(num, (uint64_t)RAW(SYS_gettid, 0, 0, 0, 0, 0, 0));
	n = put(b, n, num);
	n = put(b, n, "] ");
	unsigned long nr = (unsigned long)c->nr;
	if (nr < sizeof(sys_names) / sizeof(sys_names[0]) && sys_names[nr]) {
		n = put(b, n, sys_names[nr]);
	} else {
		n = put(b, n, "syscall_");
		raw_fmt_i64(num, c->nr);
		n = put(b, n, num);
	}
	b[n++] = '(';
	for (int i = 0; i < 6; i++) {
		if (i)
			n = put(b, n, ", ");
		long v = c->arg[i];
		if (v > -4096 && v < 65536)
			raw_fmt_i64(num, v);
		else
			raw_fmt_hex(num, (uint64_t)v);
		n = put(b, n, num);
	}
	b[n++] = ')';
	return n;
}

void trace_special(const struct hook_call *c)
{
	char b[256];
	size_t n = head(b, c);
	n = put(b, n, " ...\n");
	b[n] = 0;
	raw_write_str(trace_fd, b);
}

long trace_dispatch(void *ctx, const struct hook_call *c)
{
	(void)ctx;
	if (c->nr == SYS_exit || c->nr == SYS_exit_group ||
	    c->nr == SYS_execve || c->nr == SYS_execveat)
		trace_special(c);
	long r = hook_syscall_kernel(c);
	char b[256], num[24];
	size_t n = head(b, c);
	n = put(b, n, " = ");
	if (r < 0 && r > -4096)
		raw_fmt_i64(num, r);
	else if (r > 65535)
		raw_fmt_hex(num, (uint64_t)r);
	else
		raw_fmt_i64(num, r);
	n = put(b, n, num);
	b[n++] = '\n';
	b[n] = 0;
	raw_write_str(trace_fd, b);
	return r;
}
