/*
 * bench_hook.c: what the hook costs (make bench-hook).
 *
 * For syscall numbers 39 (getpid) and 500 (ENOSYS), pinned to one core,
 * rdtsc around a loop of N inline `syscall` instructions, the empty loop
 * subtracted, median of 5 runs per process; raw and hooked processes
 * alternate for 3 rounds and each keeps its best (the load drifts):
 *   raw       the same binary without the hook
 *   hooked    under LD_PRELOAD=libhook.so, default pass-through policy
 *   self      a policy that answers the call itself (trampoline, entry,
 *             site check, policy call: the hook's own cost)
 *   guard     pass-through with the recursion guard raised (the path a
 *             nested call takes)
 *   zpoline   when ZPOLINE_LIB names a libzpoline.so (built from
 *             zpoline's public source, outside this repository): the same
 *             loop under zpoline with a pass-through hook
 *             (build/bench/libzphook_pass.so), alternating with the others
 * and the start-up time of /bin/true with and without the hook (mean of
 * 40 fork+exec+wait, best of 3), with the rewrite cache warm and with
 * NETFUSE_CACHE=0 (every start decodes). Ends with the RESULT line (DESIGN.md conventions).
 */
#include <dlfcn.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook/hook.h"

#define N     200000
#define RUNS  5

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static double tsc_ghz(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t t0 = rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) <
	       100000000L);
	uint64_t t1 = rdtsc();
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 +
		    (double)(b.tv_nsec - a.tv_nsec);
	return (double)(t1 - t0) / ns;
}

static uint64_t loop_syscall(long nr)
{
	uint64_t t0 = rdtsc();
	for (int i = 0; i < N; i++) {
		long r = nr;
		__asm__ volatile("syscall" : "+a"(r) : :
				 "rcx", "r11", "memory",
				 /* zpoline's path does not keep them */
				 "rdi", "rsi", "rdx", "r10", "r8", "r9");
	}
	return rdtsc() - t0;
}

static uint64_t loop_empty(void)
{
	uint64_t t0 = rdtsc();
	for (int i = 0; i < N; i++) {
		long r = 0;
		__asm__ volatile("" : "+a"(r) : : "rcx", "r11", "memory");
	}
	return rdtsc() - t0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_ns(long nr, double ghz)
{
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		uint64_t e = loop_empty();
		uint64_t s = loop_syscall(nr);
		v[r] = (double)(s > e ? s - e : 0) / N / ghz;
	}
	qsort(v, RUNS, sizeof(v[0]), cmp_d);
	return v[RUNS / 2];
}

static long (*p_kernel)(const struct hook_call *);
static long self_policy(void *ctx, const struct hook_call *c)
{
	(void)ctx;
	if (c->nr == 39 || c->nr == 500)
		return 0;
	return p_kernel(c);
}

static double startup_ms(const char *preload, int cache)
{
	struct timespec a, b;
	int runs = 40;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < runs; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (!cache)
				setenv("NETFUSE_CACHE", "0", 1);
			if (preload)
				setenv("LD_PRELOAD", preload, 1);
			else
				unsetenv("LD_PRELOAD");
			execl("/bin/true", "true", (char *)0);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e3 +
		(double)(b.tv_nsec - a.tv_nsec) / 1e6) / runs;
}

/* child mode: print "key value" lines */
static int measure(const char *mode)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	double ghz = tsc_ghz();
	if (!strcmp(mode, "raw") || !strcmp(mode, "zpoline")) {
		printf("%s39 %.1f\n%s500 %.1f\n", mode, median_ns(39, ghz),
		       mode, median_ns(500, ghz));
		return 0;
	}
	void (*get)(struct hook_stats *) = dlsym(RTLD_DEFAULT, "hook_get_stats");
	void (*set_d)(hook_dispatch_fn, void *) =
		dlsym(RTLD_DEFAULT, "hook_set_dispatch");
	void (*g_in)(void) = dlsym(RTLD_DEFAULT, "hook_guard_enter");
	void (*g_out)(void) = dlsym(RTLD_DEFAULT, "hook_guard_leave");
	p_kernel = dlsym(RTLD_DEFAULT, "hook_syscall_kernel");
	struct hook_stats st;
	if (!get || !set_d || !g_in || !g_out || !p_kernel ||
	    (get(&st), !st.active)) {
		fprintf(stderr, "bench_hook: the hook is not active\n");
		return 1;
	}
	printf("hooked39 %.1f\nhooked500 %.1f\n", median_ns(39, ghz),
	       median_ns(500, ghz));
	set_d(self_policy, 0);
	printf("self %.1f\n", median_ns(500, ghz));
	set_d(0, 0);
	g_in();
	printf("guard39 %.1f\n", median_ns(39, ghz));
	g_out();
	return 0;
}

static double get(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	return p ? atof(p + strlen(key) + 1) : -1;
}

static void run_child(const char *self, const char *mode, const char *preload,
		      char *out, size_t cap)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "%s%s%s BENCH_HOOK_MODE=%s %s",
		 preload ? "LD_PRELOAD=" : "", preload ? preload : "",
		 preload ? "" : "env -u LD_PRELOAD", mode, self);
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, cap - 1, f) : 0;
	out[n] = 0;
	if (f)
		pclose(f);
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *mode = getenv("BENCH_HOOK_MODE");
	if (mode)
		return measure(mode);
	char self[4096], lib[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	snprintf(lib, sizeof(lib), "%s", argv[1] ? argv[1] : "build/libhook.so");
	if (lib[0] != '/') {
		char cwd[2048];
		if (!getcwd(cwd, sizeof(cwd)))
			return 1;
		char tmp[8192];
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, lib);
		snprintf(lib, sizeof(lib), "%.4199s", tmp);
	}
	/* raw and hooked children alternate, 3 rounds: the machine's load
	 * drifts, so each side keeps its best round */
	char raw[1024], hooked[1024], zp[1024], zpre[8192 + 64];
	double r39 = 1e9, r500 = 1e9, h39 = 1e9, h500 = 1e9, self_ns = 1e9,
	       g39 = 1e9, z39 = 1e9, z500 = 1e9;
	const char *zlib = getenv("ZPOLINE_LIB");
	if (zlib) {
		/* LD_PRELOAD=<zpoline> LIBZPHOOK=<our pass-through hook> */
		char dir[8192];
		snprintf(dir, sizeof(dir), "%s", self);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		snprintf(zpre, sizeof(zpre), "%s LIBZPHOOK=%s/libzphook_pass.so",
			 zlib, dir);
	}
	for (int round = 0; round < 3; round++) {
		run_child(self, "raw", 0, raw, sizeof(raw));
		run_child(self, "hooked", lib, hooked, sizeof(hooked));
		if (zlib)
			run_child(self, "zpoline", zpre, zp, sizeof(zp));
#define BEST(v, out, key) do { double x_ = get(out, key); \
		if (x_ < 0) v = -1; else if (v >= 0 && x_ < v) v = x_; } while (0)
		BEST(r39, raw, "raw39");
		BEST(r500, raw, "raw500");
		BEST(h39, hooked, "hooked39");
		BEST(h500, hooked, "hooked500");
		BEST(self_ns, hooked, "self");
		BEST(g39, hooked, "guard39");
		if (zlib) {
			BEST(z39, zp, "zpoline39");
			BEST(z500, zp, "zpoline500");
		}
	}
	if (r39 < 0 || h39 < 0 || self_ns < 0) {
		fprintf(stderr, "bench_hook: a measurement failed\n%s%s", raw,
			hooked);
		return 1;
	}
	/* best of 3 rounds of 40, each configuration */
	double s0 = 1e9, s1 = 1e9, s2 = 1e9;
	for (int i = 0; i < 3; i++) {
		double a = startup_ms(0, 1), b = startup_ms(lib, 1),
		       c = startup_ms(lib, 0);
		s0 = a < s0 ? a : s0;
		s1 = b < s1 ? b : s1;
		s2 = c < s2 ? c : s2;
	}
	printf("| call | raw ns | hooked ns | added ns |\n");
	printf("|---|---|---|---|\n");
	printf("| getpid (39) | %.1f | %.1f | %.1f |\n", r39, h39, h39 - r39);
	printf("| ENOSYS (500) | %.1f | %.1f | %.1f |\n", r500, h500,
	       h500 - r500);
	printf("| hook answers itself (500) | - | %.1f | - |\n", self_ns);
	if (zlib && z39 > 0 && z39 < 1e9) {
		printf("| zpoline pass-through, getpid (39) | %.1f | %.1f | %.1f |\n",
		       r39, z39, z39 - r39);
		printf("| zpoline pass-through, ENOSYS (500) | %.1f | %.1f | %.1f |\n",
		       r500, z500, z500 - r500);
	}
	printf("| getpid under the guard | %.1f | %.1f | %.1f |\n", r39, g39,
	       g39 - r39);
	printf("| /bin/true start-up, cache warm (ms) | %.2f | %.2f | %.2f |\n",
	       s0, s1, s1 - s0);
	printf("| /bin/true start-up, no cache (ms) | %.2f | %.2f | %.2f |\n",
	       s0, s2, s2 - s0);
	printf("RESULT bench-hook raw39_ns=%.1f hooked39_ns=%.1f raw500_ns=%.1f "
	       "hooked500_ns=%.1f self_ns=%.1f guard39_ns=%.1f "
	       "startup_added_ms=%.2f startup_nocache_added_ms=%.2f",
	       r39, h39, r500, h500, self_ns, g39, s1 - s0, s2 - s0);
	if (zlib && z39 > 0 && z39 < 1e9)
		printf(" zpoline39_ns=%.1f zpoline500_ns=%.1f", z39, z500);
	printf("\n");
	return 0;
}
