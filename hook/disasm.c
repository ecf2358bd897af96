/*
 * disasm.c: libopcodes as the rewriter's decoder.
 *
 * dis_run() decodes a run of instructions (one function, from its first
 * byte, until the first boundary at or past want_hi) and reports, for
 * each instruction boundary in [want_lo, want_hi),
 * whether it is a `syscall` (0f 05) or `sysenter` (0f 34) instruction;
 * byte pairs inside other instructions are never reported.
 *
 * It also decides whether the function uses its red zone, from operand
 * information the disassembler gives: binutils >= 2.39 hands operands out
 * as styled tokens (register, immediate, address offset), which this file
 * reads instead of matching text (zpoline's text match finds nothing
 * once styling is on). A function uses its red zone if it addresses
 * memory below %rsp (negative displacement from %rsp), or addresses more
 * below %rbp than it allocated with `sub $n,%rsp` and pushes (gcc -O0
 * leaf functions). Such sites are left to sud.c: the `call` of a
 * rewritten site would overwrite the 8 bytes below %rsp.
 *
 * Tokens are not formatted: the common "%s" / "%.*s" cases are read
 * directly, so decoding costs what libopcodes costs, no more.
 */
#include <dis-asm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hook/hook_priv.h"

struct tokstate {
	int last_style;
	char mnem[16];
	int paren;              /* "(" seen in this operand */
	int have_off;
	int neg;                /* a lone "-" token came before the number */
	long off;               /* last address offset */
	long imm;               /* last immediate */
	int have_imm;
	int base_rsp_neg;       /* this insn: memory below rsp */
	long base_rbp_neg;      /* this insn: bytes below rbp addressed */
	int dst_rsp;            /* last register token was %rsp */
	int push_other;         /* push of a register other than rbp */
	int nreg;
};

static disassembler_ftype print_insn;

static long parse_num(const char *s, size_t n)
{
	int neg = 0;
	long v = 0;
	size_t i = 0;
	if (i < n && s[i] == '$')
		i++;
	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i + 1 < n && s[i] == '0' && s[i + 1] == 'x') {
		for (i += 2; i < n; i++) {
			char c = s[i];
			int d = c >= '0' && c <= '9' ? c - '0' :
				c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				break;
			v = v * 16 + d;
		}
	} else {
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			v = v * 10 + (s[i] - '0');
	}
	return neg ? -v : v;
}

static void on_token(struct tokstate *t, int style, const char *s, size_t n)
{
	switch (style) {
	case dis_style_mnemonic:
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n >= sizeof(t->mnem))
			n = sizeof(t->mnem) - 1;
		memcpy(t->mnem, s, n);
		t->mnem[n] = 0;
		break;
	/* binutils 2.40 hands "-0x18" out as "-" then "0x18", and "$0x8"
	 * as "$" then "0x8". */
	case dis_style_address_offset:
	case dis_style_immediate:
		if (n == 1 && (s[0] == '-' || s[0] == '$')) {
			if (s[0] == '-')
				t->neg = 1;
			break;
		}
		if (style == dis_style_immediate) {
			t->have_imm = 1;
			t->imm = t->neg ? -parse_num(s, n) : parse_num(s, n);
		} else {
			t->have_off = 1;
			t->off = t->neg ? -parse_num(s, n) : parse_num(s, n);
		}
		t->neg = 0;
		break;
	case dis_style_register:
		t->nreg++;
		t->dst_rsp = (n == 4 && memcmp(s, "%rsp", 4) == 0);
		if (t->paren) {
			long off = t->have_off ? t->off : 0;
			if (t->dst_rsp && off < 0)
				t->base_rsp_neg = 1;
			if (n == 4 && memcmp(s, "%rbp", 4) == 0 && off < 0 &&
			    -off > t->base_rbp_neg)
				t->base_rbp_neg = -off;
			t->paren = 0;
			t->have_off = 0;
		} else if (strcmp(t->mnem, "push") == 0 &&
			   !(n == 4 && memcmp(s, "%rbp", 4) == 0)) {
			t->push_other = 1;
		}
		break;
	default:
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '(')
				t->paren = 1;
			else if (s[i] == ',' || s[i] == ')') {
				if (s[i] == ',')
					t->have_off = 0;
				t->paren = 0;
			}
		}
		break;
	}
}

static int tok_styled(void *stream, enum disassembler_style style,
		      const char *fmt, ...)
{
	struct tokstate *t = stream;
	va_list ap;
	va_start(ap, fmt);
	if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == 0) {
		const char *s = va_arg(ap, const char *);
		on_token(t, style, s, strlen(s));
	} else if (strcmp(fmt, "%.*s") == 0) {
		int n = va_arg(ap, int);
		const char *s = va_arg(ap, const char *);
		on_token(t, style, s, (size_t)n);
	} else {
		char buf[64];
		int n = vsnprintf(buf, sizeof(buf), fmt, ap);
		if (n > 0)
			on_token(t, style, buf,
				 (size_t)n < sizeof(buf) ? (size_t)n :
				 sizeof(buf) - 1);
	}
	va_end(ap);
	return 0;
}

static int tok_plain(void *stream, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		on_token(stream, dis_style_text, buf,
			 (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return 0;
}

static void no_addr(bfd_vma addr, struct disassemble_info *info)
{
	(void)addr;
	(void)info;
}

int dis_init(void)
{
	if (print_insn)
		return 0;
	print_insn = disassembler(bfd_arch_i386, 0, bfd_mach_x86_64, NULL);
	return print_insn ? 0 : -1;
}

int dis_run(uintptr_t start, uintptr_t end, uintptr_t want_lo,
	    uintptr_t want_hi, dis_site_fn fn, void *arg,
	    struct dis_result *res)
{
	struct disassemble_info info;
	struct tokstate t;
	long rbp_neg = 0, alloc = 0;
	int rsp_neg = 0;

	res->uses_red_zone = 0;
	res->ninsns = 0;
	if (dis_init() < 0)
		return -1;
	init_disassemble_info(&info, &t, tok_plain, tok_styled);
	info.arch = bfd_arch_i386;
	info.mach = bfd_mach_x86_64;
	info.buffer = (bfd_byte *)start;
	info.buffer_vma = start;
	info.buffer_length = end - start;
	info.read_memory_func = buffer_read_memory;
	info.print_address_func = no_addr;
	disassemble_init_for_target(&info);

	uintptr_t pc = start;
	while (pc < end && pc < want_hi) {
		memset(&t, 0, sizeof(t));
		int n = print_insn(pc, &info);
		if (n <= 0 || pc + (uintptr_t)n > end)
			break; /* undecodable, or cut short by the buffer */
		res->ninsns++;
		if (t.base_rsp_neg)
			rsp_neg = 1;
		if (t.base_rbp_neg > rbp_neg)
			rbp_neg = t.base_rbp_neg;
		if (strcmp(t.mnem, "sub") == 0 && t.dst_rsp && t.have_imm &&
		    t.imm > 0)
			alloc += t.imm;
		if (strcmp(t.mnem, "add") == 0 && t.dst_rsp && t.have_imm &&
		    t.imm < 0)
			alloc += -t.imm;
		if (t.push_other)
			alloc += 8;
		const uint8_t *p = (const uint8_t *)pc;
		if (n == 2 && pc >= want_lo && pc < want_hi && p[0] == 0x0f &&
		    (p[1] == 0x05 || p[1] == 0x34))
			fn(arg, pc);
		pc += (uintptr_t)n;
	}
	res->uses_red_zone = rsp_neg || rbp_neg > alloc;
	return 0;
}
