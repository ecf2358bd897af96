/*
 * funcs.c: where functions start, from an ELF file's .eh_frame_hdr.
 *
 * The rewriter must decode from a real instruction boundary to know that
 * a 0f 05 byte pair is a `syscall` and not the inside of another
 * instruction. Decoding a whole library (libc: ~450k instructions) costs
 * tens of milliseconds with libopcodes, so it decodes only the functions
 * that contain candidate byte pairs, from their first instruction. The
 * unwinder's binary-search table (.eh_frame_hdr, present in every x86-64
 * object built by gcc or clang) lists every function start, sorted.
 *
 * The table is read from the file behind the mapping (pread with raw
 * system calls), so it also works for a library that ld.so is mapping
 * right now (dlopen), before dl_iterate_phdr knows of it.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include "hook/hook_priv.h"

static long pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	long n = RAW(SYS_pread64, fd, buf, len, off, 0, 0);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

int funcs_load(struct funcs *fs, const char *path, uintptr_t map_start,
	       uint64_t map_off)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	int ret = -ENOENT;

	fs->start = 0;
	fs->n = 0;
	fs->map = 0;
	fs->map_len = 0;
	long fd = RAW(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	if (pread_all((int)fd, &eh, sizeof(eh), 0) < 0 ||
	    eh.e_ident[0] != 0x7f || eh.e_ident[1] != 'E' ||
	    eh.e_ident[2] != 'L' || eh.e_ident[3] != 'F' ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64) {
		ret = -ENOEXEC;
		goto out;
	}
	if (pread_all((int)fd, ph, eh.e_phnum * sizeof(Elf64_Phdr),
		      eh.e_phoff) < 0) {
		ret = -EIO;
		goto out;
	}
	/* The load bias: which PT_LOAD this mapping shows. */
	int have_bias = 0;
	uintptr_t bias = 0;
	const Elf64_Phdr *hdr = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_GNU_EH_FRAME)
			hdr = p;
		if (p->p_type != PT_LOAD || have_bias)
			continue;
		uint64_t off_a = p->p_offset & ~4095ull;
		if (map_off >= off_a && map_off < p->p_offset + p->p_filesz) {
			uint64_t vaddr_a = p->p_vaddr & ~4095ull;
			bias = map_start - (vaddr_a + (map_off - off_a));
			have_bias = 1;
		}
	}
	if (!have_bias || !hdr || hdr->p_filesz < 12 ||
	    hdr->p_filesz > (64u << 20)) {
		ret = -ENOENT;
		goto out;
	}
	size_t len = (hdr->p_filesz + 4095) & ~4095ull;
	uint8_t *b = raw_alloc(len);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread_all((int)fd, b, hdr->p_filesz, hdr->p_offset) < 0)
		goto bad;
	/* version 1; eh_frame_ptr pcrel|sdata4; fde_count udata4; table
	 * datarel|sdata4: what gcc, clang and ld/lld/gold emit. */
	if (b[0] != 1 || b[1] != 0x1b || b[2] != 0x03 || b[3] != 0x3b)
		goto bad;
	uint32_t count;
	__builtin_memcpy(&count, b + 8, 4);
	if (12 + (uint64_t)count * 8 > hdr->p_filesz)
		goto bad;
	/* Reuse the buffer: entry i becomes a run-time address. 8 bytes of
	 * input per entry, 8 bytes of output: convert in place, in order. */
	uintptr_t *out = (uintptr_t *)b;
	uintptr_t hdr_rt = bias + hdr->p_vaddr;
	for (uint32_t i = 0; i < count; i++) {
		int32_t loc;
		__builtin_memcpy(&loc, b + 12 + (size_t)i * 8, 4);
		out[i] = hdr_rt + (intptr_t)loc;
	}
	fs->start = out;
	fs->n = count;
	fs->map = b;
	fs->map_len = len;
	ret = 0;
	goto out;
bad:
	raw_free(b, len);
	ret = -ENOEXEC;
out:
	RAW(SYS_close, fd, 0, 0, 0, 0, 0);
	return ret;
}

void funcs_free(struct funcs *fs)
{
	raw_free(fs->map, fs->map_len);
	fs->map = 0;
	fs->start = 0;
	fs->n = 0;
}
