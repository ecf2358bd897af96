/*
 * nf_backend.h: the interface between netfuse's socket layer (vfs/) and a
 * TCP/IP stack, a "backend" (docs/DESIGN.md, "Stacks as plug-ins").
 * Installed as <netfuse/stack/nf_backend.h>; a backend is built against it alone
 * (and <netfuse/stack/nf_io.h>, the frames and queues it is given).
 *
 * Version NF_BACKEND_ABI (below). A backend built as a shared object
 * exports one function, `const struct nf_backend *netfuse_backend(void)`,
 * whose table says the version it was built for; vfs/ refuses another
 * version with one line and leaves every socket on the kernel.
 * NETFUSE_STACK picks the backend: `netfuse` (the default, this
 * repository's stack/), a bare name (`lwip`: libnfbe_lwip.so beside
 * libhook.so) or the path of such a shared object.
 *
 * Conformance: tests/vfs/itest_conform.c checks 57 socket behaviours
 * against Linux's own answers (vfs/README.md "Conformance"). netfuse's
 * stack answers all 57 as Linux. lwIP (backends/lwip/) differs in two:
 * TCP_MAXSEG reads 1460 where Linux reads 1448 (no TCP timestamps), and
 * a connected UDP socket whose peer port is closed gets no ECONNREFUSED
 * (lwIP gives UDP no ICMP errors). A backend documents its differences
 * in its README and the suite holds it to that list.
 *
 * What a backend sees: instances (one per NIC queue pair, each driven by
 * one thread at a time: vfs/ holds the instance's lock around every
 * call), frames (struct nf_buf, from and to the queue's struct
 * nf_io_ops), and sockets, small integers ("sd") local to an instance.
 * What it never sees: fds, epoll, signals, blocking, processes, the hook.
 * Every call returns 0, a count, or -errno with Linux's values; nothing
 * blocks (-EAGAIN: vfs/ waits for readiness, from `events` and
 * `changed`); -EINPROGRESS from a TCP connect, then readiness.
 * Addresses are the program's own (sockaddr_in / sockaddr_in6, the
 * socket's family; AF_INET6 sockets dual-stack as in Linux).
 *
 * Threads and processes: an instance lives in the memory vfs/ gives it
 * (`inst_size` bytes, mapped shared), and forked processes call it too,
 * one at a time under the lock; so a backend keeps its state there, no
 * pointers to its own static data that differ between processes, and
 * makes no system call from its socket calls. A backend that cannot
 * (lwIP: globals and malloc) says so in `flags`, and vfs/ keeps its
 * instance to the process that started it. Time comes in `now_ns`
 * (CLOCK_MONOTONIC); `poll` returns when it wants to be called again.
 */
#ifndef NF_BACKEND_H
#define NF_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "stack/nf_io.h"

/* 2: `flags` (NF_BE_F_*) */
#define NF_BACKEND_ABI 2

/* what a backend cannot do (nf_backend.flags) */
#define NF_BE_F_ONE_INST 1u  /* one instance per process (its state is
			      * global: lwIP): vfs/ runs one queue */
#define NF_BE_F_PRIVATE  2u  /* its state is in the process's own memory,
			      * not in `mem`: a forked child cannot use
			      * the instance; its stack sockets fail there
			      * (EBADF, one line) and its new sockets go
			      * to the kernel */

/* readiness bits (the values of EPOLLIN/OUT/ERR/HUP/RDHUP) */
#define NF_BE_EV_IN     0x001u   /* data, EOF, or a pending accept */
#define NF_BE_EV_OUT    0x004u   /* send would take bytes / connected */
#define NF_BE_EV_ERR    0x008u   /* an error is pending (SO_ERROR) */
#define NF_BE_EV_HUP    0x010u   /* both directions closed / reset */
#define NF_BE_EV_RDHUP  0x2000u  /* the peer sent FIN */
#define NF_BE_EV_ACCEPT 0x10000u /* a listener has a connection */

/* what an instance is built with (addresses in network byte order) */
struct nf_backend_conf {
	uint32_t ip_be;           /* IPv4 address (0: none) */
	uint8_t prefix_len;
	uint8_t ip6[16];          /* global IPv6 address (all zero: none) */
	uint8_t prefix6_len;
	uint32_t gw_be;           /* IPv4 default router (0: none) */
	uint8_t gw6[16];          /* IPv6 default router (all zero: none) */
	uint32_t max_socks;       /* sockets, all kinds */
	uint32_t sndbuf, rcvbuf;  /* per-socket buffer ceiling, bytes */
	uint8_t secret[16];       /* key for unpredictable numbers (ISNs,
				   * ports, cookies), from getrandom() */
	uint8_t announce;         /* 1: this instance announces the
				   * addresses (gratuitous ARP, DAD) */
};

/* one socket, for `netfuse ss` (addresses in network byte order) */
struct nf_be_sock_info {
	uint8_t tcp;              /* 1 TCP, 0 UDP */
	uint8_t orphan;           /* closed by the program, still sending */
	uint8_t v6;               /* 1: lip6 / rip6, else lip_be / rip_be */
	const char *state;        /* "ESTABLISHED" ...; "UNCONN" for UDP */
	uint32_t lip_be, rip_be;
	uint8_t lip6[16], rip6[16];
	uint16_t lport_be, rport_be;
	uint32_t rq, sq;          /* bytes to read, to send (unacked) */
	uint32_t cwnd, ssthresh, snd_wnd, mss, rtt_us, rttvar_us, rto_ms;
	uint32_t retrans;
};

struct nf_be_inst;                /* a backend's instance (opaque) */

/* several instances in a process: a frame no socket of this instance
 * wants (1: taken for another), a neighbour this one learnt (ip IPv6 or
 * ::ffff:a.b.c.d) */
typedef int (*nf_be_foreign_fn)(void *arg, struct nf_be_inst *bi,
				struct nf_buf *b);
typedef void (*nf_be_neigh_fn)(void *arg, struct nf_be_inst *bi,
			       const uint8_t ip[16], const uint8_t mac[6]);

struct nf_backend {
	uint32_t abi;             /* NF_BACKEND_ABI */
	const char *name;         /* "netfuse", "lwip", ... */
	uint32_t flags;           /* NF_BE_F_* */

	/* ---- instances ---- */
	/* bytes of memory an instance needs (0: the configuration is
	 * refused) */
	size_t (*inst_size)(const struct nf_backend_conf *c);
	/* build an instance in mem (inst_size bytes, 64-byte aligned) over
	 * queue io (copied); NULL on a refused configuration */
	struct nf_be_inst *(*inst_init)(void *mem, size_t len,
					const struct nf_backend_conf *c,
					const struct nf_io_ops *io,
					uint64_t now_ns);
	/* give back every buffer it holds (mem stays vfs/'s) */
	void (*inst_fini)(struct nf_be_inst *bi);
	/* take n received frames (ownership passes) and run due timers;
	 * the next deadline in ns (UINT64_MAX: none) */
	uint64_t (*poll)(struct nf_be_inst *bi, struct nf_buf **bufs,
			 uint16_t n, uint64_t now_ns);
	/* up to max sds whose readiness may have changed since the last
	 * call (each once) */
	int (*changed)(struct nf_be_inst *bi, int *sds, int max);
	/* sds are 0 .. max_socks - 1 */
	uint32_t (*max_socks)(const struct nf_be_inst *bi);

	/* ---- sockets (Linux's semantics and errno) ---- */
	int (*socket)(struct nf_be_inst *bi, int family, int type);
	int (*bind)(struct nf_be_inst *bi, int sd, const struct sockaddr *a,
		    socklen_t len);
	int (*listen)(struct nf_be_inst *bi, int sd, int backlog);
	/* the new sd, or -EAGAIN; peer may be NULL */
	int (*accept)(struct nf_be_inst *bi, int sd, struct sockaddr *peer,
		      socklen_t *len);
	int (*connect)(struct nf_be_inst *bi, int sd, const struct sockaddr *a,
		       socklen_t len);
	/* flags: MSG_MORE, MSG_PEEK, MSG_WAITALL (-EAGAIN until it can be
	 * met), MSG_TRUNC; MSG_DONTWAIT always implied */
	ssize_t (*sendmsg)(struct nf_be_inst *bi, int sd,
			   const struct iovec *iov, int iovcnt, int flags,
			   const struct sockaddr *to, socklen_t tolen);
	ssize_t (*recvmsg)(struct nf_be_inst *bi, int sd,
			   const struct iovec *iov, int iovcnt, int flags,
			   struct sockaddr *from, socklen_t *fromlen);
	int (*shutdown)(struct nf_be_inst *bi, int sd, int how);
	/* release sd (an orderly close goes on in the background) */
	int (*close)(struct nf_be_inst *bi, int sd);
	int (*getsockopt)(struct nf_be_inst *bi, int sd, int level, int name,
			  void *val, socklen_t *len);
	int (*setsockopt)(struct nf_be_inst *bi, int sd, int level, int name,
			  const void *val, socklen_t len);
	int (*getsockname)(struct nf_be_inst *bi, int sd, struct sockaddr *a,
			   socklen_t *len);
	int (*getpeername)(struct nf_be_inst *bi, int sd, struct sockaddr *a,
			   socklen_t *len);
	/* current readiness (NF_BE_EV_*), 0 for a bad sd */
	uint32_t (*events)(struct nf_be_inst *bi, int sd);

	/* ---- telemetry and exit ---- */
	/* the instance's counters: *names[i] names values[i] */
	const uint64_t *(*counters)(const struct nf_be_inst *bi,
				    const char *const **names, unsigned *n);
	/* sd's description (also orphans); -EBADF for a free slot */
	int (*sock_info)(const struct nf_be_inst *bi, int sd,
			 struct nf_be_sock_info *i);
	/* closed TCP sockets still sending (an exiting process waits for 0);
	 * *unacked: their bytes not yet acknowledged (may be NULL) */
	uint32_t (*closing)(const struct nf_be_inst *bi, uint64_t *unacked);
	uint32_t (*established)(const struct nf_be_inst *bi);

	/* ---- optional (NULL: not supported) ---- */
	/* several instances: see the types above; learn a neighbour
	 * another instance told of */
	void (*set_steer)(struct nf_be_inst *bi, nf_be_foreign_fn foreign,
			  nf_be_neigh_fn neigh, void *arg);
	void (*neigh_learn)(struct nf_be_inst *bi, const uint8_t ip[16],
			    const uint8_t mac[6]);
	/* move accepted connection sd to instance `to` (both held): the new
	 * sd, -EBUSY when it cannot move */
	int (*sock_move)(struct nf_be_inst *from, int sd,
			 struct nf_be_inst *to);
};

/* what a backend shared object exports */
typedef const struct nf_backend *(*nf_backend_entry_fn)(void);
#define NF_BACKEND_ENTRY "netfuse_backend"

#endif
