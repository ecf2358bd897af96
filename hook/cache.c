/*
 * cache.c: remembered rewrite results, so a program starts fast the
 * second time.
 *
 * Decoding costs ~0.5 us per instruction in libopcodes, ~8-15 ms for a
 * program using libc. The sites of a file's mapping do not change while
 * the file does not, so rewrite.c stores them, keyed by the file's
 * identity (device, inode, size, mtime) and the mapping's offset and
 * length, as offsets from the mapping's start:
 *
 *     $NETFUSE_CACHE_DIR (default /tmp/netfuse-cache-<uid>)/<key>.sites
 *
 * The directory must belong to the user and be closed to others (0700),
 * or it is not used. A hit is still checked byte by byte: each
 * remembered site must hold 0f 05 or 0f 34, else the entry is ignored and
 * the mapping decoded again. NETFUSE_CACHE=0 turns the cache off.
 * Raw system calls only (runs inside the hook).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"

#define CACHE_MAGIC 0x3143534b4f4f484eull /* "NHOOKSC1" */

struct cache_hdr {
	uint64_t magic;
	uint64_t dev, ino, size, mtime_s, mtime_ns;
	uint64_t map_off, map_len;
	uint32_t nsites, nredzone;
};

static char dir[256];
static int enabled;

static size_t cat(char *out, size_t n, size_t cap, const char *s)
{
	while (*s && n + 1 < cap)
		out[n++] = *s++;
	out[n] = 0;
	return n;
}

void cache_init(const char *env_dir, const char *env_on)
{
	if (env_on && env_on[0] == '0')
		return;
	long uid = RAW(SYS_geteuid, 0, 0, 0, 0, 0, 0);
	size_t n = 0;
	if (env_dir && env_dir[0]) {
		n = cat(dir, 0, sizeof(dir), env_dir);
	} else {
		char num[24];
		raw_fmt_u64(num, (uint64_t)uid);
		n = cat(dir, 0, sizeof(dir), "/tmp/netfuse-cache-");
		n = cat(dir, n, sizeof(dir), num);
	}
	(void)n;
	RAW(SYS_mkdir, dir, 0700, 0, 0, 0, 0);
	struct stat st;
	if (RAW(SYS_newfstatat, AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW, 0,
		0) < 0 || !S_ISDIR(st.st_mode) || (long)st.st_uid != uid ||
	    (st.st_mode & 077))
		return; /* not ours, or open to others: do without */
	enabled = 1;
}

static int key_of(const char *path, uint64_t off, uint64_t len,
		  struct cache_hdr *h, char *name, size_t cap)
{
	struct stat st;
	if (!enabled ||
	    RAW(SYS_newfstatat, AT_FDCWD, path, &st, 0, 0, 0) < 0)
		return -1;
	h->magic = CACHE_MAGIC;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->size = (uint64_t)st.st_size;
	h->mtime_s = (uint64_t)st.st_mtim.tv_sec;
	h->mtime_ns = (uint64_t)st.st_mtim.tv_nsec;
	h->map_off = off;
	h->map_len = len;
	uint64_t k = 0xcbf29ce484222325ull;
	const uint64_t *w = &h->dev;
	for (int i = 0; i < 7; i++)
		k = (k ^ w[i]) * 0x100000001b3ull;
	char hex[24];
	size_t n = cat(name, 0, cap, dir);
	n = cat(name, n, cap, "/");
	raw_fmt_hex(hex, k);
	n = cat(name, n, cap, hex);
	cat(name, n, cap, ".sites");
	return 0;
}

/* On a hit, *sites (raw_alloc'ed, *sites_len bytes) holds nsites offsets.
 * Returns nsites, or -1 on a miss. */
long cache_lookup(const char *path, uint64_t off, uint64_t len,
		  uint32_t **sites, size_t *sites_len, uint32_t *nredzone)
{
	struct cache_hdr want, got;
	char name[320];
	if (key_of(path, off, len, &want, name, sizeof(name)) < 0)
		return -1;
	long fd = RAW(SYS_openat, AT_FDCWD, name, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return -1;
	long r = -1;
	if (RAW(SYS_pread64, fd, &got, sizeof(got), 0, 0, 0) != sizeof(got) ||
	    __builtin_memcmp(&got, &want, offsetof(struct cache_hdr, nsites)) ||
	    got.nsites > (1u << 20))
		goto out;
	*sites_len = ((size_t)got.nsites * 4 + 4095) & ~(size_t)4095;
	if (*sites_len == 0)
		*sites_len = 4096;
	*sites = raw_alloc(*sites_len);
	if (!*sites)
		goto out;
	if (RAW(SYS_pread64, fd, *sites, (size_t)got.nsites * 4, sizeof(got),
		0, 0) != (long)got.nsites * 4) {
		raw_free(*sites, *sites_len);
		goto out;
	}
	*nredzone = got.nredzone;
	r = got.nsites;
out:
	RAW(SYS_close, fd, 0, 0, 0, 0, 0);
	return r;
}

void cache_store(const char *path, uint64_t off, uint64_t len,
		 const uint32_t *sites, uint32_t nsites, uint32_t nredzone)
{
	struct cache_hdr h;
	char name[320], tmp[340];
	if (key_of(path, off, len, &h, name, sizeof(name)) < 0)
		return;
	h.nsites = nsites;
	h.nredzone = nredzone;
	char pid[24];
	raw_fmt_u64(pid, (uint64_t)RAW(SYS_getpid, 0, 0, 0, 0, 0, 0));
	size_t n = cat(tmp, 0, sizeof(tmp), name);
	n = cat(tmp, n, sizeof(tmp), ".");
	cat(tmp, n, sizeof(tmp), pid);
	long fd = RAW(SYS_openat, AT_FDCWD, tmp,
		      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, 0, 0);
	if (fd < 0)
		return;
	int ok = RAW(SYS_write, fd, &h, sizeof(h), 0, 0, 0) == sizeof(h) &&
		 RAW(SYS_write, fd, sites, (size_t)nsites * 4, 0, 0, 0) ==
			 (long)nsites * 4;
	RAW(SYS_close, fd, 0, 0, 0, 0, 0);
	if (!ok || RAW(SYS_rename, tmp, name, 0, 0, 0, 0) < 0)
		RAW(SYS_unlink, tmp, 0, 0, 0, 0, 0);
}
