/*
 * zphook_pass.c: a pass-through hook for zpoline (github.com/yasukata/
 * zpoline), so bench-hook can run zpoline's design beside ours in one
 * run: zpoline's libzpoline.so loads LIBZPHOOK and calls its __hook_init
 * with the address of the function pointer every rewritten syscall goes
 * through; this hook leaves that pointer as it is (zpoline's own
 * next_sys_call: the kernel), which is zpoline's pass-through path.
 * Built by `make`, used only when ZPOLINE_LIB names a libzpoline.so
 * built from zpoline's public source (not part of this repository).
 */
int __hook_init(long placeholder, void *sys_call_hook_ptr);

int __hook_init(long placeholder, void *sys_call_hook_ptr)
{
	(void)placeholder;
	(void)sys_call_hook_ptr;
	return 0;
}
