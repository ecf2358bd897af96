/*
 * out.c: building trace lines without libc (see out.h).
 */
#include <sys/syscall.h>
#include <sys/uio.h>

#include "hook/hook.h"
#include "trace/out.h"

void out_c(struct out *o, char c)
{
	if (o->n + 1 < OUT_MAX)
		o->b[o->n++] = c;
}

void out_s(struct out *o, const char *s)
{
	while (*s)
		out_c(o, *s++);
}

void out_u(struct out *o, unsigned long v)
{
	char t[24];
	int i = 0;
	do {
		t[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		out_c(o, t[--i]);
}

void out_d(struct out *o, long v)
{
	if (v < 0) {
		out_c(o, '-');
		out_u(o, -(unsigned long)v);
	} else {
		out_u(o, (unsigned long)v);
	}
}

void out_x(struct out *o, unsigned long v)
{
	char t[24];
	int i = 0;
	out_s(o, "0x");
	do {
		t[i++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (i)
		out_c(o, t[--i]);
}

void out_o(struct out *o, unsigned long v)
{
	char t[24];
	int i = 0;
	out_c(o, '0');
	while (v) {
		t[i++] = (char)('0' + (v & 7));
		v >>= 3;
	}
	while (i)
		out_c(o, t[--i]);
}

void out_ptr(struct out *o, long p)
{
	if (!p)
		out_s(o, "NULL");
	else
		out_x(o, (unsigned long)p);
}

int user_read(void *dst, long src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)src, n };
	long pid = hook_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	if (!src)
		return -14;
	return hook_raw_syscall(SYS_process_vm_readv, pid, (long)&l, 1,
				(long)&r, 1, 0) == (long)n ? 0 : -14;
}

static void quoted(struct out *o, const unsigned char *s, size_t n, int more)
{
	size_t i;
	out_c(o, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		switch (c) {
		case '"': out_s(o, "\\\""); break;
		case '\\': out_s(o, "\\\\"); break;
		case '\n': out_s(o, "\\n"); break;
		case '\t': out_s(o, "\\t"); break;
		case '\r': out_s(o, "\\r"); break;
		case '\f': out_s(o, "\\f"); break;
		case '\v': out_s(o, "\\v"); break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				out_c(o, (char)c);
			} else { /* strace: octal, 3 digits if a digit follows */
				int full = i + 1 < n && s[i + 1] >= '0' &&
					   s[i + 1] <= '7';
				out_c(o, '\\');
				if (full || c >= 0100)
					out_c(o, (char)('0' + (c >> 6)));
				if (full || c >= 010)
					out_c(o, (char)('0' + ((c >> 3) & 7)));
				out_c(o, (char)('0' + (c & 7)));
			}
		}
	}
	out_c(o, '"');
	if (more)
		out_s(o, "...");
}

void out_buf(struct out *o, long p, long n)
{
	unsigned char t[32];
	size_t k = n < 0 ? 0 : (size_t)n > sizeof(t) ? sizeof(t) : (size_t)n;
	if (k && user_read(t, p, k) < 0) {
		out_ptr(o, p);
		return;
	}
	quoted(o, t, k, (size_t)n > k);
}

void out_str(struct out *o, long p)
{
	unsigned char t[33];
	size_t k;
	if (!p) {
		out_s(o, "NULL");
		return;
	}
	/* byte by byte up to 32 (a string may end just before a bad page) */
	for (k = 0; k < 33; k++)
		if (user_read(t + k, p + (long)k, 1) < 0 || !t[k])
			break;
	if (k == 0 && user_read(t, p, 1) < 0) {
		out_ptr(o, p);
		return;
	}
	quoted(o, t, k > 32 ? 32 : k, k > 32);
}
