/*
 * rewrite.c: find every syscall instruction and rewrite it.
 *
 * For each executable mapping (from /proc/self/maps at start-up, or the
 * range an mmap/mprotect just made executable):
 *  1. pre-filter: find 0f 05 / 0f 34 byte pairs (memchr-speed scan);
 *  2. for each candidate, decode the function containing it, from the
 *     function's first instruction (funcs.c gives function starts; a
 *     mapping with no .eh_frame_hdr is decoded from its first byte), so
 *     only real instruction starts are rewritten (disasm.c);
 *  3. rewrite `syscall` (0f 05) and `sysenter` (0f 34) to `call *%rax`
 *     (ff d0), unless the function uses its red zone (the call's return
 *     address would overwrite it): those sites stay as they are and
 *     Syscall User Dispatch (sud.c) routes them to the hook instead.
 *
 * Called at start-up (init.c) and by hook_syscall_kernel() after a call
 * made memory executable. Runs under the guard, with signals blocked and
 * the program's extended state saved (libopcodes and libc use vectors).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <fcntl.h>

#include "hook/hook_priv.h"

struct rw_stats rw_stats;

#define MAX_FN_SITES 64

struct fn_sites {
	uintptr_t at[MAX_FN_SITES];
	int n;
};

static void collect(void *arg, uintptr_t insn)
{
	struct fn_sites *s = arg;
	if (s->n < MAX_FN_SITES)
		s->at[s->n++] = insn;
}

static int is_candidate(const uint8_t *p)
{
	return p[0] == 0x0f && (p[1] == 0x05 || p[1] == 0x34);
}

/* The largest function start <= a, or 0. */
static size_t fn_find(const struct funcs *fs, uintptr_t a, uintptr_t *lo,
		      uintptr_t *hi)
{
	size_t l = 0, h = fs->n;
	while (l < h) {
		size_t m = (l + h) / 2;
		if (fs->start[m] <= a)
			l = m + 1;
		else
			h = m;
	}
	if (l == 0)
		return 0;
	*lo = fs->start[l - 1];
	*hi = l < fs->n ? fs->start[l] : UINTPTR_MAX;
	return l;
}

/* Rewrite one site; the caller made the mapping writable. */
static long patch(uintptr_t site)
{
	volatile uint8_t *p = (volatile uint8_t *)site;
	if (!(p[0] == 0x0f && (p[1] == 0x05 || p[1] == 0x34)))
		return -EAGAIN;
	__atomic_store_n((uint16_t *)site, (uint16_t)0xd0ff, __ATOMIC_RELEASE);
	return sites_add(site + 2);
}

/* Patch the sites the cache remembers for this mapping, if every one of
 * them still holds a syscall instruction. Returns the count, or -1. */
static long from_cache(uintptr_t start, uintptr_t end, const char *path,
		       uint64_t file_off, int prot)
{
	uint32_t *off, nrz;
	size_t off_len;
	long n = cache_lookup(path, file_off, end - start, &off, &off_len,
			      &nrz);
	if (n < 0)
		return -1;
	long r = -1;
	for (long i = 0; i < n; i++)
		if (off[i] + 2 > end - start ||
		    !is_candidate((const uint8_t *)start + off[i]))
			goto out;
	if (n > 0 && RAW(SYS_mprotect, start, end - start, prot | PROT_WRITE,
			 0, 0, 0) < 0)
		goto out;
	r = 0;
	for (long i = 0; i < n; i++)
		if (patch(start + off[i]) == 0)
			r++;
	if (n > 0)
		RAW(SYS_mprotect, start, end - start, prot, 0, 0, 0);
	rw_stats.sites += (uint64_t)r;
	rw_stats.skipped_redzone += nrz;
	rw_stats.cache_hits++;
out:
	raw_free(off, off_len);
	return r;
}

long rewrite_mapping_prot(uintptr_t start, uintptr_t end, const char *path,
			  uint64_t file_off, int prot)
{
	struct funcs fs = { 0, 0, 0, 0 };
	int have_fs = 0;
	long done = 0;
	int added_read = 0;
	int writable = 0;

	rw_stats.regions++;
	if (!(prot & PROT_READ)) {
		if (RAW(SYS_mprotect, start, end - start, prot | PROT_READ, 0,
			0, 0) < 0)
			return -EACCES;
		added_read = 1;
		prot |= PROT_READ;
	}
	int cacheable = path && path[0] == '/';
	if (cacheable) {
		long hit = from_cache(start, end, path, file_off, prot);
		if (hit >= 0) {
			if (added_read)
				RAW(SYS_mprotect, start, end - start,
				    prot & ~PROT_READ, 0, 0, 0);
			return hit;
		}
	}
	/* offsets of what we patch, for the cache */
	size_t keep_cap = 1 << 16, keep_len = keep_cap * 4;
	uint32_t *keep = cacheable ? raw_alloc(keep_len) : 0;
	uint32_t nkeep = 0, nrz = 0;
	const uint8_t *p = (const uint8_t *)start;
	const uint8_t *e = (const uint8_t *)end - 1;
	uintptr_t done_to = start; /* functions before this are decoded */
	while (p < e) {
		p = memchr(p, 0x0f, (size_t)(e - p));
		if (!p)
			break;
		if (!is_candidate(p) || (uintptr_t)p < done_to) {
			p++;
			continue;
		}
		if (!have_fs) {
			have_fs = 1;
			if (path && path[0] == '/')
				(void)funcs_load(&fs, path, start, file_off);
		}
		uintptr_t lo = start, hi = end;
		if (fs.n && fn_find(&fs, (uintptr_t)p, &lo, &hi)) {
			if (lo < start)
				lo = start;
			if (hi > end)
				hi = end;
		} else {
			lo = done_to; /* linear from the last known boundary */
			hi = end;
		}
		/* Decode up to the function's last candidate: every red-zone
		 * use that matters (a live value stored before the call, an
		 * address passed to the kernel) comes before it. */
		uintptr_t last = (uintptr_t)p;
		for (const uint8_t *q = p; q + 1 < (const uint8_t *)hi; q++)
			if (is_candidate(q))
				last = (uintptr_t)q;
		struct fn_sites s;
		struct dis_result dr;
		s.n = 0;
		/* the buffer reaches one maximal instruction (15 bytes) past
		 * the last candidate, so that an instruction covering it is
		 * decoded whole, never cut short into a false "syscall" */
		dis_run(lo, last + 17 <= hi ? last + 17 : hi, (uintptr_t)p,
			last + 1, collect, &s, &dr);
		rw_stats.decoded_insns += dr.ninsns;
		/* count byte pairs in [p, hi) that were not instructions */
		uint64_t cands = 0;
		for (const uint8_t *q = p; q + 1 < (const uint8_t *)hi; q++)
			cands += is_candidate(q);
		rw_stats.false_candidates += cands - (uint64_t)s.n;
		for (int i = 0; i < s.n; i++) {
			if (dr.uses_red_zone) {
				rw_stats.skipped_redzone++;
				nrz++;
				continue;
			}
			if (!writable) {
				/* once per mapping, kept executable: other
				 * threads may be running in it */
				if (RAW(SYS_mprotect, start, end - start,
					prot | PROT_WRITE, 0, 0, 0) < 0) {
					rw_stats.skipped_other++;
					continue;
				}
				writable = 1;
			}
			long r = patch(s.at[i]);
			if (r < 0)
				rw_stats.skipped_other++;
			else {
				rw_stats.sites++;
				done++;
				if (keep && nkeep < keep_cap)
					keep[nkeep++] = (uint32_t)(s.at[i] - start);
			}
		}
		done_to = hi;
		p = (const uint8_t *)hi;
	}
	if (have_fs)
		funcs_free(&fs);
	if (keep) {
		if (nkeep < keep_cap)
			cache_store(path, file_off, end - start, keep, nkeep, nrz);
		raw_free(keep, keep_len);
	}
	if (writable || added_read)
		RAW(SYS_mprotect, start, end - start,
		    added_read ? prot & ~PROT_READ : prot, 0, 0, 0);
	return done;
}

static uintptr_t hexnum(const char **s)
{
	uintptr_t v = 0;
	for (;;) {
		char c = **s;
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v * 16 + (uintptr_t)d;
		(*s)++;
	}
}

/* Walk /proc/self/maps; rewrite executable mappings overlapping
 * [lo, hi). */
static long walk_maps(uintptr_t lo, uintptr_t hi)
{
	size_t cap = 1 << 20;
	char *buf = raw_alloc(cap);
	if (!buf)
		return -ENOMEM;
	long fd = RAW(SYS_openat, AT_FDCWD, "/proc/self/maps",
		      O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0) {
		raw_free(buf, cap);
		return fd;
	}
	size_t len = 0;
	for (;;) {
		long n = RAW(SYS_read, fd, buf + len, cap - 1 - len, 0, 0, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	RAW(SYS_close, fd, 0, 0, 0, 0, 0);
	buf[len] = 0;

	uintptr_t self = (uintptr_t)hook_entry;
	long total = 0;
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		const char *s = line;
		uintptr_t start = hexnum(&s);
		s++;
		uintptr_t end = hexnum(&s);
		s++;
		char perm[4] = { s[0], s[1], s[2], s[3] };
		s += 5;
		uint64_t off = hexnum(&s);
		while (*s && *s != '/' && *s != '[')
			s++;
		const char *path = s;
		int skip = perm[2] != 'x' || end <= lo || start >= hi ||
			   start < HOOK_TRAMP_LEN ||
			   start == (tramp_crash_addr() & ~4095ul) ||
			   (self >= start && self < end) ||
			   strcmp(path, "[vsyscall]") == 0 || strcmp(path, "[vdso]") == 0 ||
			   strstr(path, "/libopcodes") || strstr(path, "/libbfd");
		if (!skip) {
			int prot = PROT_EXEC | (perm[0] == 'r' ? PROT_READ : 0) |
				   (perm[1] == 'w' ? PROT_WRITE : 0);
			long r = rewrite_mapping_prot(start, end, path, off,
						      prot);
			if (r > 0)
				total += r;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	raw_free(buf, cap);
	return total;
}

long rewrite_all(void)
{
	return walk_maps(0, UINTPTR_MAX);
}

long hook_rewrite_region(uintptr_t addr, uintptr_t len)
{
	uint8_t fpu_raw[hook_xstate_size() + 64];
	void *fpu = (void *)(((uintptr_t)fpu_raw + 63) & ~63ul);
	uint64_t all = ~0ull, old;

	hook_xstate_save(fpu);
	RAW(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8, 0, 0);
	hook_guard_enter();
	uint64_t t0 = raw_now_ns();
	long r = walk_maps(addr & ~4095ul, addr + len);
	hook_stats_g.scan_ns += raw_now_ns() - t0;
	hook_guard_leave();
	RAW(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8, 0, 0);
	hook_xstate_restore(fpu);
	return r;
}
