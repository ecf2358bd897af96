/*
 * trace.c: tracing (NETFUSE_TRACE=1), the mechanism. It wraps whatever
 * policy is installed (none, or vfs/'s): the call goes to the policy, a
 * pass-through is made here in C so its result is known, and the tracer
 * gets the call, the result and where it went. The default tracer prints
 *     [tid] name(arg1, ..., arg6) = result <where>
 * with raw numbers; trace/strace.c replaces it with strace's format (it
 * knows the system calls' arguments; hook/ does not). Calls the kernel
 * does not return from in the usual way (clone with a new stack, vfork,
 * exit, execve) are handed to the tracer before they run.
 * Formats with raw.c only: no libc, no vector registers.
 */
#include <stdatomic.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"
#include "hook/sysnames.h"

int trace_on;
int trace_fd = 2;
static __thread const char *trace_where
	__attribute__((tls_model("initial-exec")));
/* inside the policy: its own calls (a futex of its locks) are not the
 * program's and are not printed */
static __thread int trace_depth __attribute__((tls_model("initial-exec")));

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

/* the default tracer: raw numbers */
static void raw_tracer(const struct hook_call *c, long r, const char *where,
		       int before)
{
	char b[300], num[24];
	size_t n = head(b, c);
	if (before) {
		n = put(b, n, " ...\n");
		b[n] = 0;
		raw_write_str(trace_fd, b);
		return;
	}
	n = put(b, n, " = ");
	if (r > 65535)
		raw_fmt_hex(num, (uint64_t)r);
	else
		raw_fmt_i64(num, r);
	n = put(b, n, num);
	n = put(b, n, " <");
	n = put(b, n, where);
	n = put(b, n, ">\n");
	b[n] = 0;
	raw_write_str(trace_fd, b);
}

static _Atomic(hook_tracer_fn) tracer = raw_tracer;

void hook_set_tracer(hook_tracer_fn fn)
{
	atomic_store(&tracer, fn ? fn : raw_tracer);
}

int hook_tracing(void)
{
	return trace_on;
}

int hook_trace_fd(void)
{
	return trace_fd;
}

void hook_trace_note(const char *where)
{
	trace_where = where;
}

void trace_special(const struct hook_call *c)
{
	atomic_load(&tracer)(c, 0, "kernel", 1);
}

long trace_call(hook_dispatch_fn fn, void *ctx, const struct hook_call *c)
{
	hook_tracer_fn t = atomic_load(&tracer);
	const char *where, *outer = trace_where;
	long r;
	if (trace_depth) { /* the policy's own call */
		r = fn ? fn(ctx, c) : HOOK_PASSTHROUGH;
		return r == HOOK_PASSTHROUGH ? hook_syscall_kernel(c) : r;
	}
	if (c->nr == SYS_exit || c->nr == SYS_exit_group ||
	    c->nr == SYS_execve || c->nr == SYS_execveat)
		t(c, 0, "kernel", 1);
	trace_where = 0;
	trace_depth++;
	r = fn ? fn(ctx, c) : HOOK_PASSTHROUGH;
	trace_depth--;
	if (r == HOOK_PASSTHROUGH) {
		r = hook_syscall_kernel(c);
		where = "kernel";
	} else {
		where = trace_where ? trace_where : "policy";
	}
	trace_where = outer;
	t(c, r, where, 0);
	return r;
}
