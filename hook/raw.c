/*
 * raw.c: what the hook needs from an operating system, without libc.
 *
 * The hook must not call libc for anything that makes a system call
 * (libc's calls are rewritten and would come back to the hook), so it
 * logs, allocates and reads the clock here, through hook_raw_syscall.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "hook/hook_priv.h"

static size_t raw_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void raw_write_str(int fd, const char *s)
{
	size_t n = raw_strlen(s);
	while (n > 0) {
		long w = RAW(SYS_write, fd, s, n, 0, 0, 0);
		if (w == -4 /* EINTR */)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

size_t raw_fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return n;
}

size_t raw_fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + raw_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return raw_fmt_u64(out, (uint64_t)v);
}

size_t raw_fmt_hex(char *out, uint64_t v)
{
	static const char dig[] = "0123456789abcdef";
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = dig[v & 15];
		v >>= 4;
	} while (v);
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		out[2 + i] = tmp[n - 1 - i];
	out[2 + n] = 0;
	return 2 + n;
}

/* One line on stderr: "netfuse: hook: <msg1><msg2>\n". */
void hook_log(const char *msg1, const char *msg2)
{
	char buf[512];
	size_t n = 0;
	const char *parts[3] = { "netfuse: hook: ", msg1, msg2 };
	for (int p = 0; p < 3; p++)
		for (const char *s = parts[p]; s && *s && n < sizeof(buf) - 2;)
			buf[n++] = *s++;
	buf[n++] = '\n';
	buf[n] = 0;
	raw_write_str(2, buf);
}

void *raw_alloc(size_t len)
{
	long p = RAW(SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return (p < 0 && p > -4096) ? 0 : (void *)p;
}

void raw_free(void *p, size_t len)
{
	if (p)
		RAW(SYS_munmap, p, len, 0, 0, 0, 0);
}

uint64_t raw_now_ns(void)
{
	struct timespec ts;
	RAW(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0, 0, 0, 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
