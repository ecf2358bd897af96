/*
 * entry.S: the hook's entry stub and every raw `syscall` of the hook.
 *
 * A rewritten site executes `call *%rax`; the call lands in the sled at
 * address 0 + nr (trampoline.c), slides to the sled's end and jumps here
 * with the return address at (%rsp) and the number in %rax.
 *
 * hook_entry skips the program's 128-byte red zone, saves rflags and the
 * argument registers, calls hook_entry_c (hook.c) on an aligned stack, and
 * restores everything but rax (the result), rcx and r11 (which the kernel
 * clobbers too). hook_entry_c may ask for one of the special actions
 * below, for calls that cannot return through C frames: a thread's child
 * starts on a new stack, a vfork child runs on ours.
 *
 * Everything here lives in section hook_gate, which is the one range
 * Syscall User Dispatch allows to enter the kernel (sud.c).
 */
#define ACT_CRASH  1
#define ACT_CLONE  2
#define ACT_CLONE3 3
#define ACT_VFORK  4
#define ACT_KERNEL 5

#define F_BUF     8
#define F_RBX   136
#define F_NR    144
#define F_R9    152
#define F_R8    160
#define F_R10   168
#define F_RDX   176
#define F_RSI   184
#define F_RDI   192
#define F_FLAGS 200
#define F_SIZE  336

	.hidden hook_entry_c
	.hidden hook_crash_target
	.hidden hook_vfork_ret
	.hidden hook_sud_on


.macro POP_FRAME
	/* rsp = frame: restore the program's registers and flags, leave rsp
	 * at S-128 (flags-neutral: lea and pop only, popfq last) */
	lea	F_RBX(%rsp), %rsp
	pop	%rbx
	lea	8(%rsp), %rsp		/* nr */
	pop	%r9
	pop	%r8
	pop	%r10
	pop	%rdx
	pop	%rsi
	pop	%rdi
	popfq
.endm

/* A new thread does not inherit Syscall User Dispatch: turn it on in the
 * child before it returns to the program, keeping its registers. */
.macro CHILD_SUD
	cmpb	$0, hook_sud_on(%rip)
	je	1f
	push	%rdi
	push	%rsi
	push	%rdx
	push	%r10
	push	%r8
	mov	$157, %eax		/* prctl */
	mov	$59, %edi		/* PR_SET_SYSCALL_USER_DISPATCH */
	mov	$1, %esi		/* PR_SYS_DISPATCH_ON */
	lea	__start_hook_gate(%rip), %rdx
	lea	__stop_hook_gate(%rip), %r10
	sub	%rdx, %r10
	xor	%r8d, %r8d
	syscall
	pop	%r8
	pop	%r10
	pop	%rdx
	pop	%rsi
	pop	%rdi
	xor	%eax, %eax
1:
.endm

	.section hook_gate,"ax",@progbits

	.globl hook_entry
	.type hook_entry,@function
	.p2align 4
hook_entry:
	lea	-120(%rsp), %rsp	/* rsp = S-128: below the red zone */
	pushfq				/* before anything touches the flags */
	cmp	$15, %rax		/* rt_sigreturn: the frame is at S */
	je	.Lsigreturn
	cld				/* C code needs DF = 0 */
	push	%rdi
	push	%rsi
	push	%rdx
	push	%r10
	push	%r8
	push	%r9
	push	%rax
	push	%rbx
	sub	$136, %rsp		/* action + buf */
	movq	$0, (%rsp)
	mov	%rsp, %rbx
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	hook_entry_c
	mov	%rbx, %rsp
	cmpq	$0, (%rsp)
	jne	.Lspecial
.Lrestore:				/* rsp = frame, rax = result */
	POP_FRAME
	lea	120(%rsp), %rsp
	ret

.Lsigreturn:
	lea	136(%rsp), %rsp		/* rsp = S, as the kernel expects */
	syscall
	hlt				/* not reached */

.Lspecial:
	mov	(%rsp), %rax
	cmp	$ACT_KERNEL, %rax
	jne	1f
	/* pass-through: the program's registers, the call, one return */
	mov	F_NR(%rsp), %rax
	POP_FRAME
	lea	120(%rsp), %rsp		/* rsp = S-8: the return address */
	syscall
	/* Not `ret`: the kernel leaves the return stack buffer unusable on
	 * this CPU (AMD, SRSO/RSB filling), so a `ret` right after a syscall
	 * mispredicts (~40 ns here); an indirect jmp is predicted from the
	 * branch target buffer. rcx = site+2 is what the kernel would leave
	 * in rcx after the syscall anyway. */
	pop	%rcx
	jmp	*%rcx
1:	cmp	$ACT_CRASH, %rax
	je	.Lcrash
	cmp	$ACT_VFORK, %rax
	je	.Lvfork
	/* clone / clone3 with a new stack: every register as the program had
	 * it (the child inherits them), rsp stays on our frame. */
	mov	F_RBX(%rsp), %rbx
	mov	F_R9(%rsp), %r9
	mov	F_R8(%rsp), %r8
	mov	F_R10(%rsp), %r10
	mov	F_RDX(%rsp), %rdx
	mov	F_RSI(%rsp), %rsi
	mov	F_RDI(%rsp), %rdi
	cmp	$ACT_CLONE3, %rax
	je	.Lclone3
	mov	F_BUF(%rsp), %rsi	/* newsp - 8, holding the return address */
	pushq	F_FLAGS(%rsp)
	popfq
	mov	F_NR(%rsp), %rax
	syscall
	test	%rax, %rax
	jnz	.Lparent
	CHILD_SUD
	lea	8(%rsp), %rsi		/* child: rsi = newsp, as the program set it */
	ret
.Lclone3:
	lea	F_BUF(%rsp), %rdi	/* our copy: stack_size reduced by 16 */
	pushq	F_FLAGS(%rsp)
	popfq
	mov	F_NR(%rsp), %rax
	syscall
	test	%rax, %rax
	jnz	.Lparent
	CHILD_SUD
	pop	%rdi			/* child: the program's rdi, then return */
	ret
.Lparent:
	mov	F_RSI(%rsp), %rsi
	mov	F_RDI(%rsp), %rdi
	jmp	.Lrestore

.Lvfork:
	/* The child runs on this stack until it execs or exits, so nothing
	 * of ours may stay on it: unwind completely, return through TLS. */
	mov	F_NR(%rsp), %rax
	POP_FRAME
	lea	128(%rsp), %rsp		/* rsp = S */
	syscall
	mov	hook_vfork_ret@gottpoff(%rip), %rcx
	jmp	*%fs:(%rcx)

.Lcrash:
	/* A call to address 0..sled that no rewritten site made: a call
	 * through a NULL (or near-NULL) pointer. Restore the state of that
	 * call, return address on the stack, and fault. */
	mov	F_NR(%rsp), %rax
	POP_FRAME
	lea	120(%rsp), %rsp		/* rsp = S - 8: as after the bad call */
	jmp	*hook_crash_target(%rip)
	.size hook_entry, .-hook_entry

/* long hook_raw_syscall(nr, a1, a2, a3, a4, a5, a6) */
	.globl hook_raw_syscall
	.type hook_raw_syscall,@function
	.p2align 4
hook_raw_syscall:
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	mov	%r8, %r10
	mov	%r9, %r8
	mov	8(%rsp), %r9
	syscall
	ret
	.size hook_raw_syscall, .-hook_raw_syscall

/* sa_restorer for the hook's own signal handlers */
	.globl hook_restore_rt
	.type hook_restore_rt,@function
	.p2align 4
hook_restore_rt:
	mov	$15, %eax
	syscall
	hlt
	.size hook_restore_rt, .-hook_restore_rt

	.section .note.GNU-stack,"",@progbits
