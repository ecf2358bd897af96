/*
 * vfs.h: the public interface of vfs/, the VFS-like dispatch layer.
 *
 * vfs/ is the policy hook/ calls for every system call of the program
 * (hook.h, hook_set_dispatch()). It keeps an fd table of the sockets it
 * owns, implements socket, epoll, poll and select calls for those on the
 * user-space stack (stack/stack.h) and returns HOOK_PASSTHROUGH for the
 * rest. In libhook.so its constructor installs it (unless NETFUSE_VFS=0)
 * and the stack instance is built on the first socket routed to netfuse
 * by loading libnfio.so (DPDK) lazily.
 *
 * Tests and embedders drive it directly: vfs_setup() with their own
 * configuration, vfs_attach() with a stack instance they built over any
 * struct nf_io_ops (e.g. an in-memory link), then vfs_dispatch() with
 * struct hook_call values.
 */
#ifndef VFS_H
#define VFS_H

#include <stdint.h>

#include "hook/hook.h"
#include "stack/stack.h"

/* The dispatch function (hook_dispatch_fn). ctx is unused (NULL). */
long vfs_dispatch(void *ctx, const struct hook_call *c);

/* getenv() stand-in: the value of `name` or NULL. */
typedef const char *(*vfs_getenv_fn)(void *arg, const char *name);

/* (Re)configure vfs/ from variables (NETFUSE_VFS, NETFUSE_ROUTE,
 * NETFUSE_SPIN_US, NETFUSE_LOG, NETFUSE_ADDR) without installing it.
 * 0, or -EINVAL after logging one line naming the variable. */
int vfs_setup(vfs_getenv_fn get, void *arg);

/* Use this stack instance (queue `ops`, which the stack was built on) as
 * the process's instance, and start its progress thread. ip/prefix name
 * the netfuse interface for routing. 0 or -errno. */
int vfs_attach(struct ns_stack *st, struct nf_io_ops *ops, uint32_t ip_be,
	       uint8_t prefix_len);
/* The same with n instances (n <= 16), st[i] built on queue ops[i]:
 * one per queue pair, as NETFUSE_QUEUES makes them (inst.c). */
int vfs_attach_n(int n, struct ns_stack *const *st,
		 struct nf_io_ops *const *ops, uint32_t ip_be,
		 uint8_t prefix_len);
/* The same for any backend (stack/nf_backend.h): insts[i] are its
 * instances, built on queue ops[i]. */
struct nf_backend;
struct nf_be_inst;
int vfs_attach_be(int n, const struct nf_backend *be,
		  struct nf_be_inst *const *insts,
		  struct nf_io_ops *const *ops, uint32_t ip_be,
		  uint8_t prefix_len);
/* The name of the backend driving the instances ("" before any) */
const char *vfs_backend_name(void);
/* Stop the progress thread and forget the instance (tests). The caller
 * finishes the stack itself. Sockets still open become unusable (EIO). */
void vfs_detach(void);

/* Counters (tests, tools). */
struct vfs_stats {
	uint64_t socks_live;      /* netfuse/dual sockets open */
	uint64_t fallbacks;       /* sockets sent to the kernel, any reason */
	uint64_t fallback_loopback, fallback_rule, fallback_no_instance;
	uint64_t fallback_other_addr;
	uint64_t fallback_ipv6;   /* a real IPv6 address (kernel's stack) */
	uint64_t polls;           /* stack polls by vfs/ */
	uint64_t wakeups;         /* waiter wake-ups sent */
	uint64_t sigpipes;
	uint64_t exit_unacked_conns; /* lost at exit: linger ran out */
	uint64_t exit_unacked_bytes;
	uint64_t sig_deferred;    /* handlers run after the vfs/ call they
				   * interrupted (signal.c) */
	uint64_t ep_checks;       /* epoll items looked at by epoll_wait */
	int objs_sock, objs_epoll;/* objects alive (leak checks) */
};
void vfs_get_stats(struct vfs_stats *s);

#endif
