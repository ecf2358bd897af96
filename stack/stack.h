/*
 * stack.h: public API of the netfuse per-core TCP/IP stack (stack/).
 *
 * One struct ns_stack per core / NIC queue pair. The caller (vfs/, apps,
 * tests, benchmarks) drives it: ns_stack_poll() takes a batch of received
 * frames and the current time, processes them and every due timer, sends
 * through the instance's struct nf_io_ops (nf_io.h), and returns the time
 * at which it next wants to be called. Nothing inside reads a clock, makes
 * a system call or allocates memory after ns_stack_init(); an instance is
 * touched by one thread at a time and takes no locks.
 *
 * Sockets are small integers ("sd") local to an instance. Every call
 * returns 0, a count, or -errno with Linux's errno values; nothing blocks
 * (-EAGAIN means "wait for readiness": see ns_sock_events() and
 * ns_stack_changed()). Signals (SIGPIPE) are vfs/'s business: the stack
 * returns -EPIPE and ignores MSG_NOSIGNAL.
 *
 * Frames produced by socket calls made outside ns_stack_poll() are sent
 * before the call returns; they use the time of the last poll.
 */
#ifndef NS_STACK_H
#define NS_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "stack/nf_io.h"

struct ns_stack;
struct nf_backend;

/* This stack as a netfuse backend (stack/nf_backend.h, backend.c): the
 * table vfs/ drives it through; an instance handle is its ns_stack. */
const struct nf_backend *ns_backend(void);

/* Configuration of one instance. Addresses in network byte order. */
struct ns_config {
	uint32_t ip_be;          /* our address */
	uint8_t prefix_len;      /* subnet prefix length (0..32) */
	/* our global IPv6 address (all zero: none; the link-local one,
	 * fe80::/64 from the MAC, RFC 4291 2.5.1, is always there) and its
	 * prefix length (0..128) */
	uint8_t ip6[16];
	uint8_t prefix6_len;
	uint32_t gw_be;          /* default gateway, 0 for none */
	uint8_t gw6[16];         /* IPv6 default router (on the link), all
				  * zero for none */
	uint32_t max_socks;      /* sockets (TCP + UDP, incl. SYN_RECEIVED) */
	uint32_t sndbuf;         /* TCP send buffer bytes (power of 2) */
	uint32_t rcvbuf;         /* TCP receive buffer bytes (power of 2) */
	uint32_t udp_rcvbuf;     /* UDP queued bytes per socket */
	uint32_t arp_entries;    /* ARP table size */
	uint32_t arp_queue;      /* frames waiting for ARP resolution */
	uint32_t reass_slots;    /* datagrams being reassembled at once */
	uint32_t reass_bytes;    /* bytes held by all reassembly slots */
	uint32_t time_wait_ms;   /* 2*MSL (RFC 9293 3.6.1) */
	uint64_t seed;           /* only if secret is all zero (below) */
	/* The key of every unpredictable number the stack makes (RFC 6528
	 * ISNs, SYN cookies, timestamp offsets, ephemeral ports, IPv4 IDs:
	 * SipHash-2-4 under keys derived from it). The embedder fills it
	 * from getrandom() (vfs/ does); all zero: derived from seed
	 * (tests, where reproducible is the point). */
	uint8_t secret[16];
	uint8_t no_garp;         /* 1: do not announce at init (gratuitous
				  * ARP, IPv6 duplicate address detection) */
	uint8_t syncookies;      /* 1 (default): SYN cookies when the SYN
				  * queue of a listener is full */
	/* Buffer auto-tuning (Linux tcp_rmem/tcp_wmem[1]): a TCP socket
	 * starts with these limits (bytes; 0 or more than the ring: the
	 * ring size) and grows them toward sndbuf/rcvbuf, which are the
	 * ceilings (tcp_rmem/wmem[2]): the receive limit by what the
	 * application drained per RTT (DRS), the send limit with cwnd.
	 * An explicit SO_RCVBUF/SO_SNDBUF fixes the size (no tuning). */
	uint32_t rcvbuf_init;
	uint32_t sndbuf_init;
};

/* Fill *c with defaults (addresses left 0): 1024 sockets with 64 KiB
 * send and receive rings each (about 128 MiB per instance, all of it
 * allocated by the caller up front; see ns_stack_size()). Set the io ops'
 * RSS fields before ns_stack_init(): the instance keeps a copy. */
void ns_config_default(struct ns_config *c);
/* Bytes of memory ns_stack_init() needs for this configuration. */
size_t ns_stack_size(const struct ns_config *c);
/* Build an instance in mem (ns_stack_size() bytes, 64-byte aligned).
 * io is copied (it needs alloc, free, tx_burst, buf_size >= 128 and
 * mtu >= 576). Sends a gratuitous ARP unless cfg.no_garp. NULL on bad
 * configuration. */
struct ns_stack *ns_stack_init(void *mem, size_t len,
			       const struct ns_config *c,
			       const struct nf_io_ops *io, uint64_t now_ns);
/* Free every buffer the instance holds (queues, sockets). mem stays the
 * caller's. */
void ns_stack_fini(struct ns_stack *st);

/* Process n received frames (ownership passes to the stack) and the due
 * timers at now_ns; send what results. Returns the next deadline in ns
 * (UINT64_MAX if none). */
uint64_t ns_stack_poll(struct ns_stack *st, struct nf_buf **bufs, uint16_t n,
		       uint64_t now_ns);
/* The next deadline now (socket calls between polls may arm timers). */
uint64_t ns_stack_deadline(const struct ns_stack *st);
/* Convenience: rx_burst from the io ops, then ns_stack_poll(). */
uint64_t ns_stack_rx_poll(struct ns_stack *st, uint64_t now_ns);

/* ---- counters ---------------------------------------------------------- */
#define NS_COUNTERS(X) \
	X(rx_frames) X(tx_frames) X(rx_bytes) X(tx_bytes) \
	X(drop_eth_short) X(drop_eth_type) X(drop_eth_dst) \
	X(drop_arp_bad) X(drop_arp_other) X(drop_arp_noreply) X(drop_arp_queue_full) \
	X(arp_requests_sent) X(arp_replies_sent) \
	X(drop_ip_short) X(drop_ip_version) X(drop_ip_ihl) X(drop_ip_len) \
	X(drop_ip_cksum) X(drop_ip_ttl) X(drop_ip_dst) X(drop_ip_proto) \
	X(drop_ip_noroute) X(drop_ip_too_big) \
	X(drop_frag_overlap) X(drop_frag_too_big) X(drop_frag_nomem) \
	X(drop_frag_timeout) X(drop_frag_proto) X(frag_reassembled) \
	X(drop_icmp_short) X(drop_icmp_cksum) X(drop_icmp_type) \
	X(drop_icmp_unmatched) \
	X(icmp_echo_replied) X(icmp_unreach_sent) X(icmp_pmtu_updates) \
	X(drop_udp_short) X(drop_udp_cksum) X(drop_udp_noport) \
	X(drop_udp_rcvbuf) \
	X(drop_tcp_short) X(drop_tcp_off) X(drop_tcp_cksum) X(drop_tcp_opt) \
	X(drop_tcp_noport) X(drop_tcp_state) X(drop_tcp_seq) \
	X(drop_tcp_ack) X(drop_tcp_paws) X(drop_tcp_rst) X(drop_tcp_syn) \
	X(drop_tcp_backlog) X(drop_tcp_nosock) X(drop_tcp_ooo_full) \
	X(drop_tcp_flags) \
	X(tcp_rst_sent) X(tcp_challenge_acks) X(tcp_retransmits) \
	X(tcp_fast_retransmits) X(tcp_rto_timeouts) X(tcp_zwp_sent) \
	X(tcp_keepalive_sent) X(tcp_conn_active) X(tcp_conn_passive) \
	X(tcp_conn_timeout) X(tcp_conn_reset) X(tcp_ooo_segs) \
	X(tcp_dup_segs) X(tcp_urg_ignored) X(tcp_tw_reclaimed) \
	X(tcp_syncookies_sent) X(tcp_syncookies_ok) X(drop_tcp_syncookie) \
	X(drop_tx_nobuf) X(drop_tx_full) \
	X(tcp_rcvbuf_grown) X(tcp_sndbuf_grown) X(tcp_dsack_rcvd) X(tcp_undo) X(tcp_undo_eifel) X(tcp_tlp_probes) X(tcp_tlp_recoveries) \
	X(rx_steered_out) X(arp_shared_in) X(tcp_moved_out) X(tcp_moved_in) \
	X(drop_ip6_short) X(drop_ip6_version) X(drop_ip6_len) X(drop_ip6_src) \
	X(drop_ip6_dst) X(drop_ip6_exthdr) X(drop_ip6_rh0) X(drop_ip6_frag) \
	X(drop_ip6_proto) X(drop_icmp6_short) X(drop_icmp6_cksum) \
	X(drop_icmp6_type) X(drop_nd_bad) X(drop_nd_target) X(drop_nd_queue) \
	X(nd_ns_sent) X(nd_na_sent) X(nd_dad_conflict) X(icmp6_echo_replied) \
	X(icmp6_errors_sent) X(nd_dad_failed) X(nd_unreachable)

struct ns_counters {
#define NS_X_FIELD(n) uint64_t n;
	NS_COUNTERS(NS_X_FIELD)
#undef NS_X_FIELD
};
/* ns_counter_names[i] names the i-th uint64_t of struct ns_counters. */
extern const char *const ns_counter_names[];
extern const unsigned ns_counter_count;
const struct ns_counters *ns_stack_counters(const struct ns_stack *st);

/* ---- sockets (the interface vfs/ calls) --------------------------------- */
/* Readiness bits (same values as EPOLLIN/OUT/ERR/HUP/RDHUP). */
#define NS_EV_IN     0x001u  /* data, EOF, or a pending accept */
#define NS_EV_OUT    0x004u  /* send would accept bytes / connect done */
#define NS_EV_ERR    0x008u  /* so_error pending */
#define NS_EV_HUP    0x010u  /* both directions closed / reset */
#define NS_EV_RDHUP  0x2000u /* peer sent FIN */
#define NS_EV_ACCEPT 0x10000u /* listener: a connection can be accepted */

/* Socket options supported (level, name as in Linux):
 * SOL_SOCKET: SO_ERROR, SO_TYPE, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE,
 *   SO_LINGER, SO_ACCEPTCONN, SO_SNDBUF / SO_RCVBUF (TCP: as Linux, set
 *   stores twice the value, clamped to [2048, the instance's ring], and
 *   locks the size against auto-tuning; get returns the current limit,
 *   which auto-tuning grows from cfg.*buf_init up to the ring; UDP:
 *   set is accepted and ignored, SO_RCVBUF get returns cfg.udp_rcvbuf)
 * IPPROTO_IPV6: IPV6_V6ONLY (AF_INET6 sockets, set before bind)
 * IPPROTO_TCP: TCP_NODELAY, TCP_CORK, TCP_QUICKACK (stays on until
 *   cleared), TCP_MAXSEG (get; set accepted), TCP_KEEPIDLE,
 *   TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, TCP_CONGESTION
 *   ("cubic", "reno"), TCP_INFO (struct ns_tcp_info)
 */
/* TCP_INFO: the layout of Linux's struct tcp_info (linux/tcp.h, up to
 * tcpi_snd_wnd), so vfs/ can hand it to the program as is. tcpi_state
 * uses Linux's numbering (TCP_ESTABLISHED = 1 ...); times in us; cwnd and
 * ssthresh in segments, as Linux reports them. */
struct ns_tcp_info {
	uint8_t tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes;
	uint8_t tcpi_backoff, tcpi_options;
	uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
	uint8_t tcpi_delivery_rate_app_limited : 1,
		tcpi_fastopen_client_fail : 2;
	uint32_t tcpi_rto, tcpi_ato, tcpi_snd_mss, tcpi_rcv_mss;
	uint32_t tcpi_unacked, tcpi_sacked, tcpi_lost, tcpi_retrans;
	uint32_t tcpi_fackets;
	uint32_t tcpi_last_data_sent, tcpi_last_ack_sent;
	uint32_t tcpi_last_data_recv, tcpi_last_ack_recv;
	uint32_t tcpi_pmtu, tcpi_rcv_ssthresh, tcpi_rtt, tcpi_rttvar;
	uint32_t tcpi_snd_ssthresh, tcpi_snd_cwnd, tcpi_advmss;
	uint32_t tcpi_reordering, tcpi_rcv_rtt, tcpi_rcv_space;
	uint32_t tcpi_total_retrans;
	uint64_t tcpi_pacing_rate, tcpi_max_pacing_rate;
	uint64_t tcpi_bytes_acked, tcpi_bytes_received;
	uint32_t tcpi_segs_out, tcpi_segs_in;
	uint32_t tcpi_notsent_bytes, tcpi_min_rtt;
	uint32_t tcpi_data_segs_in, tcpi_data_segs_out;
	uint64_t tcpi_delivery_rate, tcpi_busy_time, tcpi_rwnd_limited;
	uint64_t tcpi_sndbuf_limited;
	uint32_t tcpi_delivered, tcpi_delivered_ce;
	uint64_t tcpi_bytes_sent, tcpi_bytes_retrans;
	uint32_t tcpi_dsack_dups, tcpi_reord_seen, tcpi_rcv_ooopack;
	uint32_t tcpi_snd_wnd;
};

/* ---- both families --------------------------------------------------
 * A socket is AF_INET or AF_INET6. An AF_INET6 socket is dual-stack as
 * in Linux: with IPV6_V6ONLY off (the default; set it with
 * ns_setsockopt(IPPROTO_IPV6, IPV6_V6ONLY) before bind) :: is IPv4's
 * wildcard too, and IPv4 peers and addresses are ::ffff:a.b.c.d (RFC
 * 4291 2.5.5.2, RFC 3493 3.7). Addresses are given and returned as the
 * socket's family names them (sockaddr_in / sockaddr_in6; a returned
 * address's length through *len, which may be NULL); Linux's errors
 * (a short address -EINVAL, another family -EAFNOSUPPORT, a mapped
 * address on a v6-only socket -EINVAL for bind, -ENETUNREACH to reach).
 * IPv6 link-local addresses work without a scope id (one link). */
union ns_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};
/* family AF_INET / AF_INET6; type SOCK_STREAM / SOCK_DGRAM */
int ns_socket_af(struct ns_stack *st, int family, int type);
int ns_bind_sa(struct ns_stack *st, int sd, const union ns_sockaddr *a,
	       socklen_t len);
int ns_connect_sa(struct ns_stack *st, int sd, const union ns_sockaddr *a,
		  socklen_t len);
int ns_accept_sa(struct ns_stack *st, int sd, union ns_sockaddr *peer,
		 socklen_t *len);
ssize_t ns_sendmsg_sa(struct ns_stack *st, int sd, const struct iovec *iov,
		      int iovcnt, int flags, const union ns_sockaddr *to,
		      socklen_t tolen);
ssize_t ns_recvmsg_sa(struct ns_stack *st, int sd, const struct iovec *iov,
		      int iovcnt, int flags, union ns_sockaddr *from,
		      socklen_t *len);
int ns_getsockname_sa(struct ns_stack *st, int sd, union ns_sockaddr *a,
		      socklen_t *len);
int ns_getpeername_sa(struct ns_stack *st, int sd, union ns_sockaddr *a,
		      socklen_t *len);

/* ---- IPv4 sockets (struct sockaddr_in): the calls above for AF_INET - */
int ns_socket(struct ns_stack *st, int type); /* SOCK_STREAM / SOCK_DGRAM */
int ns_bind(struct ns_stack *st, int sd, const struct sockaddr_in *a);
int ns_listen(struct ns_stack *st, int sd, int backlog);
/* Returns the new sd, or -EAGAIN. peer may be NULL. */
int ns_accept(struct ns_stack *st, int sd, struct sockaddr_in *peer);
/* TCP: -EINPROGRESS then NS_EV_OUT (or NS_EV_ERR); UDP: sets the peer. */
int ns_connect(struct ns_stack *st, int sd, const struct sockaddr_in *a);
/* flags: MSG_MORE (hold a partial segment), MSG_DONTWAIT (always implied),
 * MSG_NOSIGNAL (ignored; -EPIPE is returned either way). */
ssize_t ns_sendmsg(struct ns_stack *st, int sd, const struct iovec *iov,
		   int iovcnt, int flags, const struct sockaddr_in *to);
/* flags: MSG_PEEK, MSG_DONTWAIT (implied), MSG_WAITALL (returns -EAGAIN
 * until the whole request, EOF, an error, or a full receive buffer can be
 * returned; vfs/ waits on NS_EV_IN in between), MSG_TRUNC (UDP). */
ssize_t ns_recvmsg(struct ns_stack *st, int sd, const struct iovec *iov,
		   int iovcnt, int flags, struct sockaddr_in *from);
ssize_t ns_send(struct ns_stack *st, int sd, const void *buf, size_t len,
		int flags);
/* Zero-copy receive (TCP, native API): iov[0..*iovcnt) is set to the
 * unread in-order bytes where they lie in the socket's receive ring (one
 * span, or two where the ring wraps); returns their total, or what recv
 * would (0 at EOF, -EAGAIN, a pending -errno). Nothing is consumed: the
 * spans stay valid and unchanged (new data lands after them) until
 * ns_recv_zc_done() consumes n bytes from their head (opening the window
 * and feeding auto-tuning; -EINVAL if n exceeds what is unread), or the
 * sd is read with ns_recv*, closed or aborted. Also from inside an event
 * callback (ns_stack_set_event_cb). */
ssize_t ns_recv_zc(struct ns_stack *st, int sd, struct iovec iov[2],
		   int *iovcnt);
int ns_recv_zc_done(struct ns_stack *st, int sd, size_t n);
ssize_t ns_recv(struct ns_stack *st, int sd, void *buf, size_t len,
		int flags);
int ns_shutdown(struct ns_stack *st, int sd, int how); /* SHUT_RD/WR/RDWR */
/* Release sd. TCP: orderly close continues in the background (FIN,
 * TIME_WAIT); unread data or SO_LINGER {1,0} sends RST instead. */
int ns_close(struct ns_stack *st, int sd);
/* Drop the connection now with RST and release sd. */
int ns_abort(struct ns_stack *st, int sd);
int ns_getsockopt(struct ns_stack *st, int sd, int level, int name,
		  void *val, socklen_t *len);
int ns_setsockopt(struct ns_stack *st, int sd, int level, int name,
		  const void *val, socklen_t len);
int ns_getsockname(struct ns_stack *st, int sd, struct sockaddr_in *a);
int ns_getpeername(struct ns_stack *st, int sd, struct sockaddr_in *a);
/* Current readiness (NS_EV_*), or 0 for a bad sd. */
uint32_t ns_sock_events(struct ns_stack *st, int sd);
/* One line describing socket sd (also orphaned ones finishing a close,
 * e.g. in TIME_WAIT) for dumps and telemetry: snprintf semantics, or
 * -EBADF for a free slot. Sockets are 0 .. ns_stack_max_socks() - 1. */
int ns_sock_describe(struct ns_stack *st, int sd, char *buf, size_t len);
/* The same as fields (netfuse ss): 0, or -EBADF for a free slot. */
struct ns_sock_info {
	uint8_t tcp;             /* 1 TCP, 0 UDP */
	uint8_t orphan;          /* closed by the program, still delivering */
	const char *state;       /* "ESTABLISHED" ...; "UNCONN" for UDP */
	uint32_t lip_be, rip_be; /* IPv4 (v6 == 0) */
	uint8_t v6;              /* 1: the addresses are lip6 / rip6 */
	uint8_t lip6[16], rip6[16];
	uint16_t lport_be, rport_be;
	uint32_t rq, sq;         /* bytes queued to read, to send (unacked) */
	/* TCP only */
	uint32_t cwnd, ssthresh, snd_wnd, mss, rtt_us, rttvar_us, rto_ms;
	uint32_t retrans;        /* segments retransmitted, all time */
};
int ns_sock_info(const struct ns_stack *st, int sd, struct ns_sock_info *i);
uint32_t ns_stack_max_socks(const struct ns_stack *st);
/* TCP sockets the program closed whose data or FIN the peer has not yet
 * acknowledged (a process about to exit waits for 0; O(max_socks)).
 * unacked (may be NULL): their data bytes not yet acknowledged. */
uint32_t ns_stack_closing(const struct ns_stack *st, uint64_t *unacked);
/* TCP connections in ESTABLISHED (telemetry). */
uint32_t ns_stack_established(const struct ns_stack *st);
/* Native event API for apps that want callbacks instead of the changed
 * list: when set, at the end of every ns_stack_poll() (after its frames
 * are sent) the changed list is drained and fn(arg, st, sd, events) is
 * called once per socket whose readiness may have changed (events as
 * ns_sock_events(); a listener's NS_EV_ACCEPT means accept, NS_EV_IN
 * data or EOF, NS_EV_OUT room to send / connected, NS_EV_HUP|ERR closed).
 * The callback may call any socket function of this instance. NULL fn
 * turns it off. */
typedef void (*ns_event_fn)(void *arg, struct ns_stack *st, int sd,
			    uint32_t events);
void ns_stack_set_event_cb(struct ns_stack *st, ns_event_fn fn, void *arg);
/* Several instances of the stack in one process (one per queue pair;
 * the embedder, vfs/, owns them; the stack never sees another instance).
 * A device cannot always steer a flow to the queue of the instance that
 * owns it (net_tap without RSS, a flow table entry that expired), so:
 *   - foreign: called for a TCP segment that matches no connection and
 *     no listener, or a UDP datagram that matches no socket, before the
 *     RST / ICMP port unreachable. The buffer is the whole frame again
 *     (data at the Ethernet header). Return 1 if the callback took it
 *     (it hands the frame to another instance, which polls it with
 *     ns_stack_poll as if it had come from its own queue); 0 to let this
 *     instance answer it as usual. Not called for a reassembled datagram.
 *   - neigh: called when ARP or Neighbor Discovery taught this
 *     instance a neighbour's MAC (a reply to any instance may land on
 *     any queue); ip is IPv6, or IPv4 as ::ffff:a.b.c.d; the embedder
 *     passes it on to the others with ns_neigh_learn().
 * Both run inside ns_stack_poll, under the caller's lock of this
 * instance: they must not call into this instance. */
typedef int (*ns_foreign_fn)(void *arg, struct ns_stack *st, struct nf_buf *b);
typedef void (*ns_neigh_fn)(void *arg, struct ns_stack *st,
			    const uint8_t ip[16], const uint8_t mac[6]);
void ns_stack_set_steer_cb(struct ns_stack *st, ns_foreign_fn foreign,
			   ns_neigh_fn neigh, void *arg);
/* A neighbour another instance learnt: resolve (or refresh) ip_be and
 * send what waited for it. Ignored if the table has no room. */
void ns_arp_learn(struct ns_stack *st, uint32_t ip_be, const uint8_t mac[6]);
/* The same for either family: ip an IPv6 address or ::ffff:a.b.c.d (what
 * the neigh callback gives) */
void ns_neigh_learn(struct ns_stack *st, const uint8_t ip[16],
		    const uint8_t mac[6]);

/* Up to max sds whose readiness may have changed since the last call
 * (each reported once; the list is then emptied). */
int ns_stack_changed(struct ns_stack *st, int *sds, int max);

/* Move accepted TCP connection sd of instance `from` to instance `to`
 * (same process and configuration; the caller holds both): its TCB,
 * unread and unacknowledged bytes, timers and options go to a new slot of
 * `to`, whose sd is returned; `from`'s slot is freed without a segment
 * sent (output it owed is flushed first). Its readiness is reported
 * under the new sd (ns_stack_changed). -EBUSY when it cannot move (not
 * an accepted connection in ESTABLISHED or CLOSE_WAIT, a listener's,
 * orphaned, rings of other sizes), -ENOBUFS when `to` has no free slot,
 * -EBADF for a bad sd. Segments of its flow that reach `from` afterwards
 * find no socket: the steering callback hands them on (sock_move.c). */
int ns_sock_move(struct ns_stack *from, int sd, struct ns_stack *to);

#endif
