/*
 * init.c: start-up of libhook.so.
 *
 * Runs as a constructor when the library is preloaded: maps the
 * trampoline, rewrites every syscall instruction already in memory,
 * turns on the Syscall User Dispatch backstop, and selects the policy
 * (tracing with NETFUSE_TRACE=1, else pass-through until vfs/ installs
 * its own). Every failure gets one line naming the fix, and the program
 * runs unhooked rather than crashing.
 *
 * Variables: NETFUSE_HOOK=0 disables the hook; NETFUSE_TRACE=1 traces;
 * NETFUSE_TRACE_FD=n traces to fd n; NETFUSE_LOG=error|warn|info|debug;
 * NETFUSE_CACHE=0 and NETFUSE_CACHE_DIR (cache.c); NETFUSE_SUD=0 (sud.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"

extern int trace_fd;
static int log_level = 1; /* 0 error, 1 warn, 2 info, 3 debug */

static void read_config(void)
{
	const char *v = getenv("NETFUSE_LOG");
	if (v) {
		if (!strcmp(v, "error")) log_level = 0;
		else if (!strcmp(v, "warn")) log_level = 1;
		else if (!strcmp(v, "info")) log_level = 2;
		else if (!strcmp(v, "debug")) log_level = 3;
		else
			hook_log("NETFUSE_LOG must be error, warn, info or debug; "
				 "using warn, got: ", v);
	}
	v = getenv("NETFUSE_TRACE");
	if (v && strcmp(v, "0") != 0 && v[0])
		trace_on = 1;
	v = getenv("NETFUSE_TRACE_FD");
	if (v && v[0]) {
		char *end;
		long fd = strtol(v, &end, 10);
		if (*end || fd < 0 || fd > 65535)
			hook_log("NETFUSE_TRACE_FD must be a file descriptor "
				 "number; tracing to stderr, got: ", v);
		else
			trace_fd = (int)fd;
	}
}

static void report_mmap0(int err)
{
	char num[24], msg[200];
	long fd = RAW(SYS_openat, -100, "/proc/sys/vm/mmap_min_addr", 0, 0, 0, 0);
	long n = fd >= 0 ? RAW(SYS_read, fd, num, sizeof(num) - 1, 0, 0, 0) : -1;
	if (fd >= 0)
		RAW(SYS_close, fd, 0, 0, 0, 0, 0);
	num[n > 0 ? n : 0] = 0;
	if (n > 0 && num[n - 1] == '\n')
		num[n - 1] = 0;
	size_t k = 0;
	const char *a = "cannot map the trampoline at address 0 (vm.mmap_min_addr=";
	while (*a)
		msg[k++] = *a++;
	for (const char *s = num; *s && k < 80; s++)
		msg[k++] = *s;
	msg[k] = 0;
	if (err != -EPERM && err != -EACCES) {
		char e[24];
		raw_fmt_i64(e, err);
		hook_log("cannot map the trampoline at address 0: error ", e);
		hook_log("running this program unhooked", "");
		return;
	}
	hook_log(msg, "): run `sysctl -w vm.mmap_min_addr=0` as root "
		 "(scripts/setup.sh does); running this program unhooked");
}

__attribute__((constructor(101))) static void hook_init(void)
{
	const char *off = getenv("NETFUSE_HOOK");
	if (off && strcmp(off, "0") == 0)
		return;
	read_config();
	if (sites_init() < 0 || dis_init() < 0) {
		hook_log("out of memory or no x86-64 disassembler in libopcodes; "
			 "running unhooked", "");
		return;
	}
	cache_init(getenv("NETFUSE_CACHE_DIR"), getenv("NETFUSE_CACHE"));
	int r = tramp_map();
	if (r < 0) {
		report_mmap0(r);
		return;
	}
	uint64_t t0 = raw_now_ns();
	hook_guard_enter();
	long n = rewrite_all();
	hook_guard_leave();
	hook_stats_g.scan_ns = raw_now_ns() - t0;
	if (n < 0) {
		hook_log("cannot read /proc/self/maps; running unhooked", "");
		return;
	}
	r = sud_init();
	if (r < 0 && log_level >= 2)
		hook_log("no Syscall User Dispatch (Linux >= 5.11): sites that use "
			 "their red zone go to the kernel directly", "");
	hook_stats_g.active = 1;
	if (log_level >= 2) {
		char msg[256], num[24];
		size_t k = 0;
		const char *parts[] = { "active: ", 0, " sites rewritten, ", 0,
					" left to SUD (red zone), ", 0,
					" instructions decoded, ", 0,
					" mappings from cache, scan ", 0, " us" };
		uint64_t vals[] = { rw_stats.sites, rw_stats.skipped_redzone,
				    rw_stats.decoded_insns, rw_stats.cache_hits,
				    hook_stats_g.scan_ns / 1000 };
		for (int i = 0, v = 0; i < 11; i++) {
			const char *s = parts[i];
			if (!s) {
				raw_fmt_u64(num, vals[v++]);
				s = num;
			}
			while (*s && k < sizeof(msg) - 1)
				msg[k++] = *s++;
		}
		msg[k] = 0;
		hook_log(msg, "");
	}
}
