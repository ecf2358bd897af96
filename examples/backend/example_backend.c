/*
 * example_backend.c: a netfuse backend built outside the tree, against
 * the installed <netfuse/stack/nf_backend.h> only (and, to have a real
 * stack under it, the installed libnfstack.a). It is netfuse's own stack
 * under another name with one change a stack author might make: every
 * TCP socket gets TCP_NODELAY. Load it with
 *
 *   NETFUSE_STACK=/path/to/example_backend.so LD_PRELOAD=.../libhook.so prog
 *
 * Build (tests/vfs/itest_backend.sh does, after `make install`):
 *   cc -shared -fPIC -I$PREFIX/include/netfuse -o example_backend.so \
 *      example_backend.c $PREFIX/lib/netfuse/libnfstack.a
 * -DEXAMPLE_ABI=N builds it for another interface version (refused).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "stack/nf_backend.h"
#include "stack/stack.h"

#ifndef EXAMPLE_ABI
#define EXAMPLE_ABI NF_BACKEND_ABI
#endif

static struct nf_backend table;
static const struct nf_backend *inner;

static int ex_socket(struct nf_be_inst *bi, int family, int type)
{
	int sd = inner->socket(bi, family, type), one = 1;
	if (sd >= 0 && (type & 0xf) == SOCK_STREAM)
		(void)inner->setsockopt(bi, sd, IPPROTO_TCP, TCP_NODELAY, &one,
					sizeof(one));
	return sd;
}

const struct nf_backend *netfuse_backend(void);
const struct nf_backend *netfuse_backend(void)
{
	if (!inner) {
		inner = ns_backend();
		table = *inner;
		table.abi = EXAMPLE_ABI;
		table.name = "example";
		table.socket = ex_socket;
	}
	return &table;
}
