/*
 * lw_priv.h: lwIP (Debian's liblwip, 2.1) as a netfuse backend
 * (stack/nf_backend.h): what the files of backends/lwip/ share.
 *
 *   lw_inst.c   the instance: lwIP's one netif over an io/ queue, frames
 *               in and out, timers, counters
 *   lw_sock.c   the socket table: socket, bind, options, names,
 *               readiness, close, the operations table
 *   lw_tcp.c    TCP over lwIP's raw API (callbacks, connect, accept,
 *               send and receive queues)
 *   lw_udp.c    UDP
 *   lw_addr.c   sockaddr <-> ip_addr_t
 *
 * lwIP keeps its state in globals and in malloc'd memory (Debian builds
 * it with MEM_LIBC_MALLOC), so this backend declares NF_BE_F_ONE_INST
 * and NF_BE_F_PRIVATE: one instance per process, which a forked child
 * cannot use. vfs/ holds the instance's lock around every call, which is
 * also lwIP's "core lock"; nothing here starts lwIP's tcpip thread.
 */
#ifndef LW_PRIV_H
#define LW_PRIV_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* lwIP's def.h would define htons() & co. as macros over its own */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1
#include "lwip/opt.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "stack/nf_backend.h"

#define LW_TX_BATCH 32
#define LW_ACCEPT_MAX 1024   /* a listener's queue, at most */

/* counters, in this order (lw_inst.c names them) */
enum lw_ctr {
	LWC_RX_FRAMES, LWC_TX_FRAMES, LWC_RX_NOMEM, LWC_RX_DROP_INPUT,
	LWC_TX_NOBUF, LWC_TX_FULL, LWC_TX_TOOBIG, LWC_ACCEPT_OVERFLOW,
	LWC_UDP_RX_DROP, LWC_TCP_ABORTED, LWC_COUNT
};

struct lw_dgram {                 /* one UDP datagram waiting */
	struct lw_dgram *next;
	struct pbuf *p;
	ip_addr_t from;
	uint16_t port;
};

struct lw_sock {
	uint8_t used, tcp, family;    /* family: AF_INET or AF_INET6 */
	uint8_t v6only, listening, connecting, connected;
	uint8_t conn_told;            /* connect() returned 0 once */
	uint8_t rd_eof;               /* the peer's FIN */
	uint8_t rd_shut, wr_shut;     /* shutdown() */
	uint8_t dead;                 /* the pcb is gone (reset, abort) */
	uint8_t mark;                 /* on the changed list */
	uint8_t nodelay, keepalive, reuseaddr, reuseport;
	uint8_t linger0;              /* SO_LINGER on with 0 s: close resets */
	int err;                      /* pending SO_ERROR (errno) */
	int rcvbuf, sndbuf;           /* as set (getsockopt doubles) */
	void *pcb;                    /* struct tcp_pcb / udp_pcb, or NULL */
	/* TCP: received bytes not yet read */
	struct pbuf *rxq;
	uint32_t rx_bytes;
	/* UDP: datagrams not yet read */
	struct lw_dgram *dq, *dq_tail;
	uint32_t dq_bytes;
	/* listener: accepted sds not yet taken */
	int *aq;
	int aq_head, aq_len, aq_max;
	int listener;                 /* accepted, not yet taken: its
				       * listener's sd; else -1 */
	/* the names, kept for after the pcb is gone */
	ip_addr_t lip, rip;
	uint16_t lport, rport;
};

struct lw_inst {
	struct nf_io_ops io;
	struct netif netif;
	uint32_t max_socks;
	struct lw_sock *socks;        /* max_socks */
	int *chg;                     /* changed sds, max_socks */
	uint32_t nchg;
	struct nf_buf *tx[LW_TX_BATCH];
	unsigned ntx;
	uint32_t ip_be;
	uint8_t ip6[16];
	uint64_t ctr[LWC_COUNT];
};

extern struct lw_inst *lw_the;    /* the one instance (lwIP is global) */

/* lw_inst.c: the instance's operations */
size_t lw_size(const struct nf_backend_conf *c);
struct nf_be_inst *lw_init(void *mem, size_t len,
			   const struct nf_backend_conf *c,
			   const struct nf_io_ops *io, uint64_t now);
void lw_fini(struct nf_be_inst *bi);
uint64_t lw_poll(struct nf_be_inst *bi, struct nf_buf **bufs, uint16_t n,
		 uint64_t now);
const uint64_t *lw_counters(const struct nf_be_inst *bi,
			    const char *const **names, unsigned *n);
void lw_flush(struct lw_inst *li);
int lw_is_own(const struct lw_inst *li, const ip_addr_t *a);

/* lw_sock.c */
struct lw_sock *lw_sock_get(struct lw_inst *li, int sd);
int lw_sock_new(struct lw_inst *li, int family, int tcp);
void lw_sock_free(struct lw_inst *li, int sd);
void lw_mark(struct lw_inst *li, int sd);
int lw_take_err(struct lw_sock *s);
void *lw_arg(int sd);
int lw_sd_of(void *arg);

/* lw_addr.c: -errno, or 0 */
int lw_addr_in(const struct lw_sock *s, const struct sockaddr *a,
	       socklen_t len, ip_addr_t *ip, uint16_t *port);
void lw_addr_out(const struct lw_sock *s, const ip_addr_t *ip,
		 uint16_t port, struct sockaddr *a, socklen_t *len);
int lw_addr_is_any(const ip_addr_t *ip);

/* lw_tcp.c */
void lw_tcp_attach(struct lw_inst *li, int sd, struct tcp_pcb *pcb);
int lw_tcp_listen(struct lw_inst *li, int sd, int backlog);
int lw_tcp_accept(struct lw_inst *li, int sd, struct sockaddr *peer,
		  socklen_t *len);
int lw_tcp_connect(struct lw_inst *li, int sd, const ip_addr_t *ip,
		   uint16_t port);
ssize_t lw_tcp_send(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags);
ssize_t lw_tcp_recv(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags);
int lw_tcp_shutdown(struct lw_inst *li, int sd, int rd, int wr);
void lw_tcp_close(struct lw_inst *li, int sd);
uint32_t lw_tcp_events(const struct lw_sock *s);

/* lw_udp.c */
void lw_udp_attach(struct lw_inst *li, int sd, struct udp_pcb *pcb);
int lw_udp_connect(struct lw_inst *li, int sd, const ip_addr_t *ip,
		   uint16_t port);
ssize_t lw_udp_send(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags, const struct sockaddr *to,
		    socklen_t tolen);
ssize_t lw_udp_recv(struct lw_inst *li, int sd, const struct iovec *iov,
		    int iovcnt, int flags, struct sockaddr *from,
		    socklen_t *fromlen);
void lw_udp_close(struct lw_inst *li, int sd);
uint32_t lw_udp_events(const struct lw_sock *s);

#endif
