/*
 * out.h: the line being built by trace/ (no libc: it runs inside the hook,
 * general registers only), and reads of the program's memory that cannot
 * fault (process_vm_readv on ourselves: a bad pointer reads as nothing).
 */
#ifndef NF_TRACE_OUT_H
#define NF_TRACE_OUT_H

#include <stddef.h>
#include <stdint.h>

#define OUT_MAX 1024

struct out {
	char b[OUT_MAX];
	size_t n;
};

void out_s(struct out *o, const char *s);
void out_c(struct out *o, char c);
void out_d(struct out *o, long v);            /* decimal */
void out_u(struct out *o, unsigned long v);
void out_x(struct out *o, unsigned long v);   /* 0x... */
void out_o(struct out *o, unsigned long v);   /* 0... octal */
void out_ptr(struct out *o, long p);          /* NULL or 0x... */
/* n bytes of the program's memory at p as strace quotes them (at most 32,
 * then "..."); a bad pointer prints as the number */
void out_buf(struct out *o, long p, long n);
/* a NUL-terminated string of the program's */
void out_str(struct out *o, long p);
/* copy n bytes of the program's memory; 0 or -EFAULT */
int user_read(void *dst, long src, size_t n);

#endif
