/*
 * backend.c: which stack drives the instances (NETFUSE_STACK): this
 * repository's (`netfuse`, the default), a backend built with netfuse
 * named by its name (`lwip`: libnfbe_lwip.so beside libhook.so), or a
 * backend shared object named by its path; either exports
 * netfuse_backend() (stack/nf_backend.h). A
 * backend built for another interface version, or missing an operation
 * every backend must have, is refused with one line; every socket then
 * stays on the kernel's stack.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vfs/vfs_priv.h"

/* 0 if every operation vfs/ calls without checking is there */
static int complete(const struct nf_backend *b)
{
	return b->inst_size && b->inst_init && b->poll && b->changed &&
	       b->max_socks && b->socket && b->bind && b->listen &&
	       b->accept && b->connect && b->sendmsg && b->recvmsg &&
	       b->shutdown && b->close && b->getsockopt && b->setsockopt &&
	       b->getsockname && b->getpeername && b->events && b->counters &&
	       b->sock_info && b->closing && b->established ? 0 : -1;
}

/* a backend built with netfuse: libnfbe_NAME.so in libhook.so's folder;
 * -1 if the name is not a plain word or there is no such file */
static int named_path(const char *name, char *path, size_t cap)
{
	Dl_info di;
	const char *p, *slash;
	int n;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return -1;
	if (p - name > 32 || !dladdr((void *)vfs_backend_load, &di) ||
	    !di.dli_fname || !(slash = strrchr(di.dli_fname, '/')))
		return -1;
	n = snprintf(path, cap, "%.*s/libnfbe_%s.so",
		     (int)(slash - di.dli_fname), di.dli_fname, name);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return access(path, R_OK) == 0 ? 0 : -1;
}

const struct nf_backend *vfs_backend_load(const char *spec)
{
	const struct nf_backend *b;
	nf_backend_entry_fn entry;
	char path[4096];
	void *h;

	if (!spec || !*spec || !strcmp(spec, "netfuse"))
		return ns_backend();
	if (!strchr(spec, '/')) {
		if (named_path(spec, path, sizeof(path)) < 0) {
			vfs_log(0, "NETFUSE_STACK='%.64s': want netfuse, lwip or "
				"the path of a backend shared object (e.g. "
				"/usr/lib/x/backend.so); every socket stays on "
				"the kernel stack", spec);
			return NULL;
		}
		spec = path;
	}
	hook_guard_enter();
	h = dlopen(spec, RTLD_NOW | RTLD_LOCAL);
	hook_guard_leave();
	if (!h) {
		vfs_log(0, "NETFUSE_STACK='%.64s' cannot be loaded (%s); every "
			"socket stays on the kernel stack", spec, dlerror());
		return NULL;
	}
	entry = (nf_backend_entry_fn)(uintptr_t)dlsym(h, NF_BACKEND_ENTRY);
	b = entry ? entry() : NULL;
	if (!b) {
		vfs_log(0, "NETFUSE_STACK='%.64s' exports no %s(); every socket "
			"stays on the kernel stack", spec, NF_BACKEND_ENTRY);
		return NULL;
	}
	if (b->abi != NF_BACKEND_ABI) {
		vfs_log(0, "NETFUSE_STACK='%.64s' is built for backend interface "
			"version %u, this netfuse speaks %u: rebuild it against "
			"this <netfuse/stack/nf_backend.h>; every socket stays on the "
			"kernel stack", spec, b->abi, NF_BACKEND_ABI);
		return NULL;
	}
	if (complete(b) < 0) {
		vfs_log(0, "NETFUSE_STACK='%.64s' lacks operations every backend "
			"must have (stack/nf_backend.h); every socket stays on "
			"the kernel stack", spec);
		return NULL;
	}
	return b;
}

const struct nf_backend *vfs_backend_get(void)
{
	static const struct nf_backend *chosen;
	vfs_g.be_netfuse = ns_backend();
	if (!chosen)
		chosen = vfs_backend_load(getenv("NETFUSE_STACK"));
	return chosen;
}

const char *vfs_backend_name(void)
{
	return vfs_g.ninst > 0 && vfs_g.insts[0] && vfs_g.insts[0]->be ?
	       vfs_g.insts[0]->be->name : "";
}
