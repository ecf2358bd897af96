/*
 * ns_priv.h: internals of stack/ -- not for use outside this folder
 * (tests/stack/ may include it to inspect state).
 *
 * Holds the instance (struct ns_stack), sockets and TCBs, and the
 * prototypes the per-protocol files use to call each other:
 *   stack.c   instance, poll loop, tx batching, timers, counters
 *   eth.c     Ethernet II and ARP         ip4.c   IPv4 + reassembly
 *   icmp.c    ICMP                        udp.c   UDP
 *   tcp_in.c  TCP input (RFC 9293 3.10.7) tcp_out.c TCP output
 *   tcp_timer.c TCP timers                tcp_cc.c  NewReno / CUBIC
 *   tcp_subr.c TCB life cycle, state changes, options
 *   sock.c    socket table, binding, the public socket API
 *   sock_move.c  a connection moved to another instance
 *   cksum.c   Internet checksum           rss.c   Toeplitz hash
 *   ip6.c     IPv6, extension headers     icmp6.c ICMPv6 (echo, errors)
 *   nd6.c     Neighbor Discovery: the neighbour cache, NS/NA
 */
#ifndef NS_PRIV_H
#define NS_PRIV_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "stack/stack.h"
#include "stack/ns_conf.h"
#include "stack/tcp_seq.h"
#include "stack/wire_eth.h"
#include "stack/wire_arp.h"
#include "stack/wire_ip4.h"
#include "stack/wire_icmp.h"
#include "stack/wire_udp.h"
#include "stack/wire_tcp.h"
#include "stack/wire_ip6.h"
#include "stack/wire_icmp6.h"
#include "stack/nf_backend.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ns_htons(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define ns_htonl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))
#else
#define ns_htons(x) ((uint16_t)(x))
#define ns_htonl(x) ((uint32_t)(x))
#endif
#define ns_ntohs(x) ns_htons(x)
#define ns_ntohl(x) ns_htonl(x)

/* An address of either family, as a dual-stack socket sees it: an IPv6
 * address, or an IPv4 one as ::ffff:a.b.c.d (RFC 4291 2.5.5.2) whose
 * last word, a4, is the IPv4 address in network order (FreeBSD's
 * in_dependaddr). Every socket and every delivered datagram carries its
 * addresses this way, so one 16-byte compare serves both families. */
union ns_in46 {
	uint8_t b[16];
	uint32_t w[4];
	struct {
		uint32_t pfx_[3];
		uint32_t a4;
	};
};
static inline void ns_in46_set4(union ns_in46 *u, uint32_t a4_be)
{
	u->w[0] = 0;
	u->w[1] = 0;
	u->w[2] = ns_htonl(0xffffu);
	u->a4 = a4_be;
}
static inline int ns_in46_is4(const union ns_in46 *u)
{
	return u->w[0] == 0 && u->w[1] == 0 && u->w[2] == ns_htonl(0xffffu);
}
static inline int ns_in46_eq(const union ns_in46 *a, const union ns_in46 *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) |
		(a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])) == 0;
}
/* the wildcard of its family: 0.0.0.0 (mapped) or :: */
static inline int ns_in46_is_any(const union ns_in46 *u)
{
	return u->a4 == 0 && u->w[0] == 0 && u->w[1] == 0 &&
	       (u->w[2] == 0 || u->w[2] == ns_htonl(0xffffu));
}

#define NS_NONE UINT32_MAX
#define NS_CNT(st, name) ((st)->cnt.name++)

/* unaligned loads/stores of wire fields */
static inline uint16_t ns_get16(const void *p)
{ uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ns_get32(const void *p)
{ uint32_t v; memcpy(&v, p, 4); return v; }
static inline void ns_put16(void *p, uint16_t v) { memcpy(p, &v, 2); }
/* copy: tiny payloads (1-byte requests) do not pay for a libc call */
static inline void ns_copy(void *dst, const void *src, size_t n)
{
	if (n <= 16) {
		uint8_t *d = dst;
		const uint8_t *s = src;
		while (n--)
			*d++ = *s++;
		return;
	}
	memcpy(dst, src, n);
}
static inline void ns_put32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* ---- TCP states (RFC 9293 3.3.2), in FreeBSD's order ------------------ */
enum ns_tcp_state {
	NS_TCPS_CLOSED = 0,
	NS_TCPS_LISTEN,
	NS_TCPS_SYN_SENT,
	NS_TCPS_SYN_RECEIVED,
	NS_TCPS_ESTABLISHED,
	NS_TCPS_CLOSE_WAIT,
	NS_TCPS_FIN_WAIT_1,
	NS_TCPS_CLOSING,
	NS_TCPS_LAST_ACK,
	NS_TCPS_FIN_WAIT_2,
	NS_TCPS_TIME_WAIT,
	NS_TCPS_COUNT
};
/* synchronized: an ACK of our SYN has been seen */
#define NS_TCPS_HAVEESTABLISHED(s) ((s) >= NS_TCPS_ESTABLISHED)
/* we may still receive data */
#define NS_TCPS_HAVERCVDFIN(s) ((s) == NS_TCPS_CLOSE_WAIT || \
	(s) == NS_TCPS_CLOSING || (s) == NS_TCPS_LAST_ACK || \
	(s) == NS_TCPS_TIME_WAIT)
/* we have sent (or will send) a FIN */
#define NS_TCPS_SENTFIN(s) ((s) > NS_TCPS_CLOSE_WAIT)
extern const char *const ns_tcp_state_names[NS_TCPS_COUNT];

/* tcb.tf flags */
#define TF_ACKNOW      (1u << 0)  /* send an ACK at the next output */
#define TF_DELACK      (1u << 1)  /* an ACK is owed (delayed) */
#define TF_NODELAY     (1u << 2)  /* TCP_NODELAY: no Nagle */
#define TF_CORK        (1u << 3)  /* TCP_CORK */
#define TF_MORE        (1u << 4)  /* MSG_MORE on the last send */
#define TF_TS_OK       (1u << 5)  /* timestamps negotiated (RFC 7323) */
#define TF_WS_OK       (1u << 6)  /* window scale negotiated */
#define TF_SACK_OK     (1u << 7)  /* SACK permitted (RFC 2018) */
#define TF_FIN_QUEUED  (1u << 8)  /* user shut down writing */
#define TF_RCVD_FIN_OOO (1u << 9) /* FIN seen beyond rcv_nxt */
#define TF_RECOVERY    (1u << 10) /* NewReno fast recovery (RFC 6582) */
#define TF_RTT_TIMING  (1u << 11) /* rtt_seq is being timed */
#define TF_FORCE       (1u << 12) /* next output ignores Nagle/window */
#define TF_SENT_ANY    (1u << 13)
#define TF_DSACK       (1u << 14) /* report dsack[] in the next ACK */
#define TF_QUICKACK    (1u << 15) /* TCP_QUICKACK: no delayed ACKs */
#define TF_RCVBUF_LOCK (1u << 16) /* SO_RCVBUF set: no auto-tuning */
#define TF_SNDBUF_LOCK (1u << 17) /* SO_SNDBUF set: no auto-tuning */

enum { NS_CC_CUBIC = 0, NS_CC_RENO = 1 };

struct ns_ooo { uint32_t start, end; }; /* [start, end) sequence range */
/* what was sent when (tcp_rack.c): [start, end) last sent at ts (ns) */
struct ns_txrec { uint32_t start, end; uint64_t ts; uint32_t fl; };

/* Transmission control block (RFC 9293 3.3.1). Written only by tcp_*.c
 * and sock.c, under the instance's single thread. */
struct ns_tcb {
	uint8_t state;          /* enum ns_tcp_state; only via ns_tcp_set_state */
	uint8_t snd_wscale;     /* peer's shift for windows it sends us */
	uint8_t rcv_wscale;     /* our shift */
	uint8_t rxt_shift;      /* RTO backoff count (RFC 6298 5.5) */
	uint8_t dupacks;
	uint8_t cc_algo;        /* NS_CC_* */
	uint8_t keep_sent;      /* keepalive probes without answer */
	uint8_t delack_segs;    /* segments received since our last ACK */
	uint8_t probes;         /* zero-window probes without an ACK */
	uint32_t tf;            /* TF_* */

	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, snd_wl1, snd_wl2, max_sndwnd;
	uint32_t snd_sml;       /* end of the last small segment (Nagle) */
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent;
	uint32_t rcv_fin_seq;   /* valid with TF_RCVD_FIN_OOO */

	uint16_t mss;           /* payload bytes per segment we send */
	uint16_t peer_mss;      /* MSS option the peer sent */
	uint16_t rcv_mss;       /* MSS we advertised */
	uint16_t optlen;        /* bytes of options in every data segment */

	/* send ring: bytes [sb_seq, sb_seq + sb_len) not yet acked,
	 * stored from sb[sb_start] (wrapping at sb_mask + 1) */
	uint8_t *sb;
	uint32_t sb_mask, sb_start, sb_len, sb_seq;
	uint32_t sb_lim;        /* SO_SNDBUF: bytes the user may queue; grows
				 * with cwnd up to sb_mask + 1 unless
				 * TF_SNDBUF_LOCK */
	/* receive ring: rb_len in-order unread bytes from rb[rb_start];
	 * out-of-order data is stored at its offset from rcv_nxt */
	uint8_t *rb;
	uint32_t rb_mask, rb_start, rb_len;
	uint32_t rb_lim;        /* SO_RCVBUF: most we advertise; auto-tuned
				 * up to rb_mask + 1 unless TF_RCVBUF_LOCK */
	/* receive auto-tuning (Linux tcp_rcv_space_adjust, DRS): bytes the
	 * user read in the best measured RTT (0: not started), total read,
	 * mark and time of the current measurement; the receiver's RTT
	 * from TS echoes (0: none yet) */
	uint32_t rq_space, rq_copied, rq_mark;
	uint64_t rq_time;
	uint32_t rcv_rtt_us;
	uint32_t rrt_seq;       /* no TS: the window edge being timed ... */
	uint64_t rrt_time;      /* ... since (0: none) */
	struct ns_ooo ooo[NS_TCP_OOO_RANGES];
	uint8_t ooo_n;          /* ranges in ooo[], sorted by start */
	uint8_t ooo_last;       /* index of the range most recently added */
	uint8_t nsacked;        /* ranges in sacked[] (tcp_sack.c) */
	struct ns_ooo sacked[NS_TCP_SACK_RANGES]; /* peer's SACKs above una */
	/* RACK (RFC 8985, tcp_rack.c), SACK connections only: records in
	 * the transmit log txl[] (at the end); the newest delivered segment (send time, end, RTT); the
	 * highest delivered end; reordering seen, reo_wnd multiplier - 1,
	 * its round (snd_max then) and recoveries since it last grew */
	uint8_t ntxl, reo_seen, reo_mult, reo_recoveries;
	uint8_t rack_fack_ok, reo_round_ok;
	uint64_t rack_ts;
	uint32_t rack_end, rack_rtt_us, rack_fack, reo_round;
	uint32_t min_rtt_us;    /* lowest RTT of an original, RACK's min_RTT */
	/* tail loss probe (RFC 8985 7): probe outstanding up to tlp_end
	 * (tlp_on), and whether it was a retransmission */
	uint8_t tlp_on, tlp_rexmit;
	uint32_t tlp_end;
	struct ns_ooo dsack;    /* duplicate range to report (RFC 2883) */

	/* timestamps (RFC 7323 3, 5) */
	uint32_t ts_recent, ts_offset;
	uint16_t ip_id;         /* next IPv4 ID, from a keyed start (ip4.c) */
	uint64_t ts_recent_ns;

	/* RTT and RTO (RFC 6298) */
	uint32_t srtt_us, rttvar_us; /* 0 srtt: no sample yet */
	uint64_t rto_ns;
	uint32_t rtt_seq;
	uint64_t rtt_start_ns;

	/* congestion control (RFC 5681, 6582, 9438) */
	uint32_t cwnd, ssthresh, recover;
	uint32_t cc_acked;      /* bytes acked in congestion avoidance */
	uint32_t cu_wmax;       /* CUBIC W_max, bytes */
	uint32_t cu_k_ms;       /* CUBIC K, ms */
	uint32_t cu_west;       /* CUBIC Reno-friendly estimate, bytes */
	uint64_t cu_epoch_ns;   /* 0: no epoch */
	/* undo of a spurious reduction (RFC 2883 5, RFC 3708, Linux
	 * undo_marker): cwnd/ssthresh before the episode (0: none open)
	 * and its retransmissions not yet reported as D-SACKed */
	uint32_t prior_cwnd, prior_ssthresh, undo_retrans;
	uint32_t undo_marker;   /* snd_una when the episode began */
	uint32_t undo_high;     /* snd_max then: the episode ends past it */
	uint32_t undo_rxt_hi;   /* end of the highest retransmission */
	uint32_t undo_tsval;    /* TSval of its first retransmission (Eifel,
				 * RFC 3522; 0: none or no timestamps) */
	uint32_t undo_rxt_lo;   /* and that retransmission's sequence */

	/* timers: absolute deadlines in ns, 0 = off */
	uint64_t t_rexmt, t_persist, t_delack, t_keep, t_2msl;
	uint64_t t_reo;         /* RACK reordering timer */
	uint64_t t_tlp;         /* tail loss probe timer (PTO) */
	uint64_t t_next;        /* min of the above */
	uint64_t persist_ns;    /* current probe interval */
	uint64_t last_rcv_ns;   /* keepalive idle reference */
	uint64_t first_rxt_ns;  /* TCP_USER_TIMEOUT reference */
	uint64_t probe_start_ns; /* first zero-window probe of this stall */

	/* options set by the user */
	uint32_t keepidle_s, keepintvl_s, keepcnt;
	uint32_t user_timeout_ms;

	/* statistics (TCP_INFO) */
	uint64_t bytes_acked, bytes_received;
	uint32_t total_retrans;
	uint32_t dsack_dups;    /* D-SACK blocks received */

	/* RACK's transmit log (tcp_rack.c), last: ~1 KiB that the hot
	 * fields above should not be spread around */
	struct ns_txrec txl[NS_TCP_TXLOG];
};

/* sock.sf flags */
#define SF_BOUND      (1u << 0)
#define SF_CONNECTED  (1u << 1)  /* UDP has a default peer */
#define SF_ORPHAN     (1u << 2)  /* closed by the user, stack finishes it */
#define SF_SHUT_RD    (1u << 3)
#define SF_SHUT_WR    (1u << 4)
#define SF_REUSEADDR  (1u << 5)
#define SF_KEEPALIVE  (1u << 6)
#define SF_LINGER     (1u << 7)
#define SF_LISTEN     (1u << 8)
#define SF_ACCEPTQ    (1u << 9)  /* on its listener's accept queue */
#define SF_ACTIVE     (1u << 10) /* on the timer list */
#define SF_HASHED     (1u << 11) /* in the connection hash */
#define SF_CHANGED    (1u << 12) /* on the changed list */
#define SF_OUTPUT     (1u << 13) /* on the output list */
#define SF_REUSEPORT  (1u << 14)
#define SF_CONNECTING (1u << 15) /* active open not yet reported */
#define SF_WASCONN    (1u << 16) /* reached ESTABLISHED once */
#define SF_INET6      (1u << 17) /* made AF_INET6: names are sockaddr_in6 */
#define SF_V6ONLY     (1u << 18) /* IPV6_V6ONLY: :: is not IPv4's wildcard */

enum { NS_SOCK_FREE = 0, NS_SOCK_TCP, NS_SOCK_UDP };

/* One socket. Index in st->socks is the sd. Fields written by sock.c
 * unless noted; the TCB by tcp_*.c. */
struct ns_sock {
	uint8_t type;           /* NS_SOCK_* */
	uint32_t sf;            /* SF_* */
	int so_error;           /* pending error (positive errno) */
	int linger_s;
	/* local and remote address (laddr :: with SF_INET6 and not
	 * SF_V6ONLY: both families' wildcard); lip_be / rip_be are their
	 * IPv4 part (ns_in46.a4). A socket starts as 0.0.0.0 (mapped). */
	union {
		union ns_in46 laddr;
		struct { uint32_t lpfx_[3]; uint32_t lip_be; };
	};
	union {
		union ns_in46 raddr;
		struct { uint32_t rpfx_[3]; uint32_t rip_be; };
	};
	uint16_t lport_be, rport_be;
	uint32_t hnext;         /* connection hash chain / free list */
	uint32_t bnext;         /* bind hash chain */
	uint32_t act_prev, act_next;  /* timer list (TCP) */
	uint32_t chg_next;      /* changed list */
	uint32_t out_next;      /* output list */
	/* listener */
	uint32_t parent;        /* listener of an embryonic/accept-queue sock */
	uint32_t aq_head, aq_tail, aq_next; /* accept queue */
	uint32_t backlog, qlen; /* qlen: children (SYN_RECEIVED + queued) */
	/* UDP: queue of datagrams (chains, data = payload, user = source
	 * ip_be | port_be << 32, or for IPv6 NS_UQ_IP6 | port_be << 32 |
	 * how far before data the source address lies in the frame);
	 * owned by the socket until recv frees it */
#define NS_UQ_IP6 (1ull << 63)
	struct nf_buf *uq_head, *uq_tail;
	uint32_t uq_bytes;
	struct ns_tcb tcb;
};

struct ns_arp_ent {
	uint32_t ip_be;
	uint8_t mac[6];
	uint8_t state;          /* 0 free, 1 pending, 2 resolved */
	uint8_t tries;
	uint64_t expire_ns;     /* resolved: lifetime; pending: next retry */
};

/* a neighbour (RFC 4861 5.1, 7.3): state INCOMPLETE (NS sent, frames
 * waiting), REACHABLE (until expire_ns), STALE, DELAY (used while
 * stale: probed at expire_ns), PROBE (unicast NS, tries of them); nd6.c
 */
struct ns_nd_ent {
	uint8_t ip6[16];
	uint8_t mac[6];
	uint8_t state;
	uint8_t tries;
	uint64_t expire_ns;     /* INCOMPLETE: next NS; REACHABLE: to STALE */
	struct nf_buf *pending; /* INCOMPLETE: frames waiting (q_next) */
	uint32_t npending;      /* at most NS_ND_QUEUE */
};

/* a datagram being reassembled (RFC 791 3.2, RFC 815; IPv6: RFC 8200
 * 4.5), keyed by its addresses, identification, protocol and family */
struct ns_reass_key {
	union ns_in46 src, dst;
	uint32_t id;            /* IPv4: the 16-bit ID; IPv6: 32 bits */
	uint8_t proto;
	uint8_t v6;
};
struct ns_reass {
	uint8_t in_use;
	struct ns_reass_key k;
	uint64_t expire_ns;
	struct nf_buf *frags;   /* sorted by offset (q_next); data = payload,
				 * user = byte offset */
	uint32_t total;         /* payload length, 0 until the last fragment */
	uint32_t have;          /* payload bytes held */
	uint32_t nfrags;
	uint16_t first_hlen;    /* offset-0 fragment: from its IP header to
				 * its payload */
};

/* the IP header of the datagram being delivered to UDP / TCP / ICMP */
struct ns_ip_info {
	const struct ns_ip4_hdr *ih; /* IPv4: header of the (first) fragment */
	const struct ns_ip6_hdr *ih6; /* IPv6: the header */
	/* addresses (IPv4 ones mapped); src_be / dst_be their IPv4 part */
	union {
		union ns_in46 src;
		struct { uint32_t spfx_[3]; uint32_t src_be; };
	};
	union {
		union ns_in46 dst;
		struct { uint32_t dpfx_[3]; uint32_t dst_be; };
	};
	uint16_t hlen;          /* IPv4 header; IPv6: header + extensions */
	uint16_t plen;          /* payload bytes */
	uint8_t proto;
	uint8_t v6;             /* an IPv6 datagram */
};

struct ns_stack {
	struct nf_io_ops io;
	struct ns_config cfg;
	uint32_t ip_be, mask_be, gw_be;
	uint64_t now;           /* time of the current / last poll */
	uint32_t now_ms;        /* now / 1 ms, for TCP timestamps */
	uint64_t rng;           /* ns_rand()'s counter */
	uint16_t mss_max;       /* largest payload per TCP segment */
	uint16_t hdr_room;      /* bytes a frame may hold */
	uint8_t in_api;
	struct ns_counters cnt;

	struct nf_buf *txq[NS_TX_BATCH];
	uint16_t txn;

	struct ns_arp_ent *arp;
	struct nf_buf *arpq_head, *arpq_tail; /* waiting frames, user = nexthop */
	uint32_t arpq_len;

	struct ns_reass *reass;
	uint32_t reass_used;    /* payload bytes held by all slots */

	/* IPv6: the global address (has_ip6) and prefix, the link-local
	 * one, the neighbour cache */
	uint8_t ip6[16], ll6[16];
	uint8_t has_ip6, prefix6_len;
	uint8_t gw6[16], has_gw6; /* the default router */
	uint64_t dad_until;     /* our DAD probes' time (nd6.c) */
	struct ns_nd_ent nd[NS_ND_ENTRIES];

	struct ns_sock *socks;
	uint32_t free_head;
	uint32_t *conn_hash;    /* 4-tuple -> sock chain head */
	uint32_t conn_mask;
	uint32_t *bind_hash;    /* local port -> sock chain head */
	uint32_t bind_mask;
	uint32_t act_head;      /* TCP socks with timers */
	uint32_t chg_head, chg_tail;
	uint32_t out_head;
	uint64_t timer_due;
	uint64_t aging_due;
	uint64_t chal_sec;
	uint32_t chal_cnt;
	uint8_t key_isn[16];     /* RFC 6528 F() (tcp_subr.c) */
	uint8_t key_cookie[16];  /* SYN cookie MAC (tcp_in.c) */
	uint8_t key_ts[16];      /* timestamp offsets (RFC 7323 7.1) */
	uint8_t key_port[16];    /* connect's port offsets (RFC 6056) */
	uint32_t port_counter;   /* RFC 6056 algorithm 3's next_ephemeral */
	uint8_t key_rng[16];     /* ns_rand(): SipHash of a counter */
	uint8_t key_ipid[16];    /* IPv4 IDs per destination (ip4.c) */
	uint16_t ip_id_ctr[NS_IP_ID_BUCKETS];
	uint8_t *scratch;        /* 64 KiB: a UDP datagram being fragmented */
	ns_event_fn event_fn;    /* native callback API (stack.h) */
	void *event_arg;
	/* several instances (stack.h ns_stack_set_steer_cb) */
	ns_foreign_fn foreign_fn;
	ns_neigh_fn neigh_fn;
	void *steer_arg;
	/* the same, as the backend interface gave them (backend.c) */
	nf_be_foreign_fn be_foreign;
	nf_be_neigh_fn be_neigh;
	/* the frame being input, as it came (the foreign callback gets it
	 * back whole) */
	uint8_t *rx_frame_data;
	uint32_t rx_frame_len, rx_frame_pkt_len;
	/* tests: pin the next ISN; observe state changes */
	uint8_t iss_next_set;
	uint32_t iss_next;
	void (*state_hook)(struct ns_stack *st, uint32_t sd, int from, int to);
};

/* ---- stack.c ----------------------------------------------------------- */
struct nf_buf *ns_buf_alloc(struct ns_stack *st);
void ns_buf_free(struct ns_stack *st, struct nf_buf *b);
void ns_tx(struct ns_stack *st, struct nf_buf *b);   /* takes ownership */
void ns_tx_flush(struct ns_stack *st);
uint64_t ns_rand(struct ns_stack *st);
uint16_t ns_ip_id(struct ns_stack *st, uint32_t src_be, uint32_t dst_be,
		  uint8_t proto);
void ns_timer_note(struct ns_stack *st, uint64_t deadline);
void ns_api_end(struct ns_stack *st);

/* ---- cksum.c ----------------------------------------------------------- */
uint32_t ns_cksum_add(uint32_t sum, const void *data, size_t len);
uint16_t ns_cksum_fold(uint32_t sum);           /* ~folded, network order */
uint32_t ns_cksum_pseudo(uint32_t src_be, uint32_t dst_be, uint8_t proto,
			 uint16_t len);
uint16_t ns_cksum(const void *data, size_t len);
/* RFC 1624 eqn 3: new checksum after a 16-bit field changes old -> new */
uint16_t ns_cksum_update16(uint16_t cksum_be, uint16_t old_be,
			   uint16_t new_be);
uint32_t ns_cksum_chain(uint32_t sum, const struct nf_buf *b);

/* ---- rss.c ------------------------------------------------------------- */
uint32_t ns_toeplitz(const uint8_t *key, unsigned key_len,
		     const uint8_t *data, unsigned len);
/* queue the NIC would pick for a frame from rip:rport to lip:lport */
uint16_t ns_rss_queue(const struct nf_io_ops *io, uint32_t rip_be,
		      uint32_t lip_be, uint16_t rport_be, uint16_t lport_be);
/* either family */
uint16_t ns_rss_queue46(const struct nf_io_ops *io, const union ns_in46 *r,
			const union ns_in46 *l, uint16_t rport_be,
			uint16_t lport_be);

/* ---- eth.c ------------------------------------------------------------- */
void ns_eth_input(struct ns_stack *st, struct nf_buf *b);
/* the Ethernet header of frame b: dst, our MAC, type */
void ns_eth_fill(struct ns_stack *st, struct nf_buf *b, const uint8_t *dst,
		 uint16_t type);
void ns_aging_at(struct ns_stack *st, uint64_t t);
/* frame has L3 from data + 14; fill the Ethernet header for nexthop and
 * send, or queue for ARP. Consumes b. */
void ns_eth_output(struct ns_stack *st, struct nf_buf *b, uint32_t nh_be);
void ns_arp_input(struct ns_stack *st, struct nf_buf *b);
void ns_arp_send_request(struct ns_stack *st, uint32_t tpa_be, int garp);
void ns_arp_age(struct ns_stack *st);
int ns_arp_lookup(struct ns_stack *st, uint32_t ip_be, uint8_t mac[6]);
/* stack.c: hand a frame no socket here wants to another instance */
int ns_steer_foreign(struct ns_stack *st, struct nf_buf *b);

/* ---- ip4.c ------------------------------------------------------------- */
void ns_ip_input(struct ns_stack *st, struct nf_buf *b);
/* b->data + 14 + 20 holds l4len bytes of payload; fill the IP header
 * (no options, DF set) and send. Consumes b. 0 or -errno. */
int ns_ip_output(struct ns_stack *st, struct nf_buf *b, uint32_t src_be,
		 uint32_t dst_be, uint8_t proto, uint16_t l4len);
/* the same with an explicit ID and flags/offset field (host order) */
int ns_ip_output_ex(struct ns_stack *st, struct nf_buf *b, uint32_t src_be,
		    uint32_t dst_be, uint8_t proto, uint16_t l4len,
		    uint16_t id, uint16_t frag);
int ns_ip_route(struct ns_stack *st, uint32_t dst_be, uint32_t *nh_be);

/* ---- reass.c ----------------------------------------------------------- */
/* Add fragment b (data: its payload, plen bytes at byte offset off; mf:
 * more follow; hlen: from its IP header to data) to the datagram k. The
 * whole datagram once complete (a chain: seg_next, pkt_len the total;
 * *hlen_out the first fragment's hlen), else NULL. Consumes b; overlaps
 * (RFC 5722), oversize and memory limits drop the datagram, counted. */
struct nf_buf *ns_reass_add(struct ns_stack *st, struct nf_buf *b,
			    const struct ns_reass_key *k, uint32_t off,
			    uint32_t plen, int mf, uint16_t hlen,
			    uint16_t *hlen_out);
void ns_reass_age(struct ns_stack *st);
void ns_reass_fini(struct ns_stack *st);

/* ---- ip6.c, icmp6.c, nd6.c --------------------------------------------- */
/* the IPv6 datagram being delivered */
struct ns_ip6_info {
	const struct ns_ip6_hdr *ih;
	const uint8_t *src, *dst;
	uint32_t l4off;         /* upper-layer header, from the frame start */
	uint32_t l4len;         /* its length with payload */
	uint8_t nxt;            /* upper-layer protocol */
	uint8_t hlim;
};
void ns_ip6_input(struct ns_stack *st, struct nf_buf *b);
/* b->data + 14 + 40 holds l4len bytes of an upper-layer message; fill
 * the IPv6 header and send (multicast straight, unicast through the
 * neighbour cache). Consumes b. 0 or -errno. */
int ns_ip6_output(struct ns_stack *st, struct nf_buf *b, const uint8_t *src,
		  const uint8_t *dst, uint8_t nxt, uint16_t l4len,
		  uint8_t hlim);
int ns_ip6_is_ours(const struct ns_stack *st, const uint8_t *a);
/* 0 if dst can be reached (on-link), else -ENETUNREACH */
int ns_ip6_route(const struct ns_stack *st, const uint8_t *dst);
void ns_ip6_ll_from_mac(const uint8_t mac[6], uint8_t ll[16]);
/* the source address for a destination: link-local for link-local */
const uint8_t *ns_ip6_src_for(const struct ns_stack *st, const uint8_t *dst);
uint32_t ns_cksum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t nxt,
			  uint32_t len);
/* the pseudo-header sum of either family (src's decides) */
uint32_t ns_cksum_pseudo46(const union ns_in46 *src, const union ns_in46 *dst,
			   uint8_t proto, uint32_t len);
void ns_icmp6_input(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *ii);
/* an ICMPv6 error (RFC 4443 2.4) about the datagram whose IPv6 header is
 * ih, avail bytes of it readable: type, code, and the word after the
 * checksum (PTB's MTU, parameter problem's pointer) */
void ns_icmp6_error(struct ns_stack *st, const struct ns_ip6_hdr *ih,
		    uint32_t avail, uint8_t type, uint8_t code, uint32_t word);
void ns_nd_input_ns(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *ii);
void ns_nd_input_na(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *ii);
/* frame b (IPv6 header at data + 14 filled) to on-link neighbour nh:
 * its MAC, or queued while a solicitation goes out. Consumes b. */
void ns_nd_output(struct ns_stack *st, struct nf_buf *b, const uint8_t *nh);
int ns_nd_lookup(struct ns_stack *st, const uint8_t *ip6, uint8_t mac[6]);
/* a neighbour another instance learnt (ns_neigh_learn) */
void ns_nd_learn_shared(struct ns_stack *st, const uint8_t *ip6,
			const uint8_t mac[6]);
/* probe our addresses (duplicate address detection, at start) */
void ns_nd_dad_start(struct ns_stack *st);
void ns_nd_age(struct ns_stack *st);
void ns_nd_fini(struct ns_stack *st);

/* ---- icmp.c ------------------------------------------------------------ */
void ns_icmp_input(struct ns_stack *st, struct nf_buf *b,
		   const struct ns_ip_info *ii);
/* send a destination unreachable about the datagram whose IP header is
 * ih (at least hlen + 8 readable bytes, or fewer if avail says so) */
void ns_icmp_unreach(struct ns_stack *st, const struct ns_ip4_hdr *ih,
		     uint32_t avail, uint8_t code, uint16_t mtu);

/* ---- udp.c ------------------------------------------------------------- */
void ns_udp_input(struct ns_stack *st, struct nf_buf *b,
		  const struct ns_ip_info *ii);
/* to: NULL for the connected peer */
ssize_t ns_udp_send(struct ns_stack *st, struct ns_sock *so,
		    const struct iovec *iov, int iovcnt,
		    const union ns_in46 *to, uint16_t to_port_be);
/* from, from_port: the datagram's source */
ssize_t ns_udp_recv(struct ns_stack *st, struct ns_sock *so,
		    const struct iovec *iov, int iovcnt, int flags,
		    union ns_in46 *from, uint16_t *from_port_be);
void ns_udp_ctlinput(struct ns_stack *st, const struct ns_ip4_hdr *ih,
		     uint32_t avail, int err);
void ns_udp_flush(struct ns_stack *st, struct ns_sock *so);
/* an ICMPv6 error quoting our datagram (ih, 8 bytes of UDP after it) */
void ns_udp_ctlinput6(struct ns_stack *st, const struct ns_ip6_hdr *ih,
		      int err);

/* ---- tcp --------------------------------------------------------------- */
void ns_tcp_input(struct ns_stack *st, struct nf_buf *b,
		  const struct ns_ip_info *ii);
void ns_tcp_output(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_rexmit_una(struct ns_stack *st, struct ns_sock *so);
/* t_reo fired: RACK loss detection, recovery (tcp_in.c) */
void ns_tcp_rack_timeout(struct ns_stack *st, struct ns_sock *so);
/* retransmit up to maxlen bytes (one segment) at seq; bytes of sequence
 * space sent (0 if none) */
uint32_t ns_tcp_rexmit_at(struct ns_stack *st, struct ns_sock *so,
			  uint32_t seq, uint32_t maxlen);
/* tcp_sack.c: the sender's SACK scoreboard and RFC 6675 recovery */
void ns_sack_update(struct ns_tcb *tp, const struct ns_ooo *blk, unsigned n);
void ns_sack_trim(struct ns_tcb *tp);
void ns_sack_clear(struct ns_tcb *tp);
uint32_t ns_sack_bytes(const struct ns_tcb *tp);
uint32_t ns_sack_pipe(const struct ns_tcb *tp);
/* RFC 2883 4: is blk[0] a D-SACK (below ack, or inside blk[1])? */
int ns_sack_is_dsack(const struct ns_tcb *tp, const struct ns_ooo *blk,
		     unsigned n, uint32_t ack);
void ns_sack_output(struct ns_stack *st, struct ns_sock *so);
/* tcp_rack.c: RACK loss detection on the transmit log */
void ns_rack_sent(struct ns_tcb *tp, uint32_t seq, uint32_t len,
		  uint64_t now);
void ns_rack_delivered(struct ns_tcb *tp, uint32_t start, uint32_t end,
		       uint64_t now);
/* the cumulative ACK reached una: deliver and drop what is below */
void ns_rack_acked(struct ns_tcb *tp, uint32_t una, uint64_t now);
/* a retransmission proved spurious (D-SACK, Eifel): reordering */
void ns_rack_dsack(struct ns_tcb *tp);
/* a reduction was undone: nothing is lost after all */
void ns_rack_unmark(struct ns_tcb *tp);
void ns_rack_recovery(struct ns_tcb *tp);
/* an RTO: SACK/loss marks and RACK state cleared, t_reo/t_tlp off */
void ns_rack_reset(struct ns_tcb *tp);
/* mark what is lost now, arm t_reo for the rest; bytes newly lost */
uint32_t ns_rack_detect(struct ns_stack *st, struct ns_sock *so);
uint32_t ns_rack_pipe(const struct ns_tcb *tp);
/* TLP: (re)arm the probe timeout after an ACK or a first send; the
 * PTO fired (retransmit the last segment); an ACK arrived (dsack: it
 * carried a D-SACK): 1 if the probe repaired a loss (reduce cwnd) */
void ns_tlp_arm(struct ns_stack *st, struct ns_sock *so);
void ns_tlp_fire(struct ns_stack *st, struct ns_sock *so);
int ns_tlp_ack(struct ns_tcb *tp, uint32_t ack, int dsack, int dupack);
int ns_rack_first_lost(const struct ns_tcb *tp, uint32_t *start,
		       uint32_t *end);
void ns_rack_mark_lost(struct ns_tcb *tp, uint32_t start, uint32_t end);
void ns_tcp_ctlinput(struct ns_stack *st, const struct ns_ip4_hdr *ih,
		     uint32_t avail, uint8_t type, uint8_t code, uint16_t mtu);
/* an ICMPv6 error quoting our segment (ih: our IPv6 header, 8 bytes of
 * TCP after it); mtu: packet too big's */
void ns_tcp_ctlinput6(struct ns_stack *st, const struct ns_ip6_hdr *ih,
		      uint8_t type, uint8_t code, uint32_t mtu);
void ns_tcp_set_state(struct ns_stack *st, struct ns_sock *so, int state);
/* put a TCP socket on the timer list (SF_ACTIVE) */
void ns_tcp_act_insert(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_init_tcb(struct ns_stack *st, struct ns_sock *so);
uint32_t ns_tcp_iss(struct ns_stack *st, const union ns_in46 *l,
		    uint16_t lport_be, const union ns_in46 *r,
		    uint16_t rport_be);
/* 1 if connection so's segments are IPv6 (its peer's address is not
 * IPv4-mapped) */
static inline int ns_sock_is6(const struct ns_sock *so)
{
	return !ns_in46_is4(&so->raddr);
}
/* the largest MSS for connection so's family (IPv6's header is 20
 * bytes longer) */
static inline uint16_t ns_tcp_mss_max(const struct ns_stack *st,
				      const struct ns_sock *so)
{
	return (uint16_t)(st->mss_max - (ns_sock_is6(so) ?
					 NS_IP6_HLEN - NS_IP4_HLEN_MIN : 0));
}
/* a new connection's ISN and timestamp offset, from its 4-tuple */
void ns_tcp_secure_init(struct ns_stack *st, struct ns_sock *so);
/* siphash.c */
uint64_t ns_siphash(const uint8_t key[16], const void *msg, size_t len);
uint64_t ns_secure_tuple(const uint8_t key[16], uint32_t laddr_be,
			 uint16_t lport_be, uint32_t raddr_be,
			 uint16_t rport_be, uint64_t extra);
uint64_t ns_secure_flow(const uint8_t key[16], const union ns_in46 *l,
			uint16_t lport_be, const union ns_in46 *r,
			uint16_t rport_be, uint64_t extra);
/* free everything and the socket if orphaned; error -> so_error */
void ns_tcp_drop(struct ns_stack *st, struct ns_sock *so, int err);
void ns_tcp_close_done(struct ns_stack *st, struct ns_sock *so);
int ns_tcp_connect(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_usr_close(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_usr_shutdown_wr(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_abort(struct ns_stack *st, struct ns_sock *so);
/* send a bare segment (ACK, RST, probe) with the TCB's addresses */
void ns_tcp_respond(struct ns_stack *st, struct ns_sock *so, uint32_t seq,
		    uint32_t ack, uint8_t flags);
/* RST for a segment with no connection (RFC 9293 3.10.7.1) */
void ns_tcp_reset_noconn(struct ns_stack *st, const struct ns_ip_info *ii,
			 const struct ns_tcp_hdr *th, uint32_t seglen);
uint32_t ns_tcp_rcv_window(const struct ns_tcb *tp);
/* auto-tuning: the user read n bytes (sock.c); cwnd changed (tcp_cc.c);
 * a data segment echoed our timestamp tsecr (tcp_in.c) */
void ns_tcp_rcvbuf_adjust(struct ns_stack *st, struct ns_sock *so,
			  uint32_t n);
void ns_tcp_sndbuf_expand(struct ns_stack *st, struct ns_tcb *tp);
void ns_tcp_rcv_rtt_ts(struct ns_stack *st, struct ns_tcb *tp,
		       uint32_t tsecr);
void ns_tcp_rcv_rtt_win(struct ns_stack *st, struct ns_tcb *tp);
void ns_tcp_window_update(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_timer_set(struct ns_stack *st, struct ns_sock *so,
		      uint64_t *t, uint64_t deadline);
void ns_tcp_timers(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_rexmt_arm(struct ns_stack *st, struct ns_sock *so);
void ns_tcp_rtt_sample(struct ns_tcb *tp, uint64_t rtt_ns);
uint32_t ns_tcp_ts_now(const struct ns_stack *st, const struct ns_tcb *tp);
/* congestion control hooks (tcp_cc.c) */
void ns_cc_init(struct ns_stack *st, struct ns_tcb *tp);
void ns_cc_ack(struct ns_stack *st, struct ns_tcb *tp, uint32_t acked);
void ns_cc_loss(struct ns_stack *st, struct ns_tcb *tp); /* fast rexmt */
void ns_cc_rto(struct ns_stack *st, struct ns_tcb *tp);
/* a D-SACK arrived: maybe undo the last reduction (tcp_cc.c) */
int ns_cc_dsack(struct ns_stack *st, struct ns_tcb *tp, uint32_t start,
		uint32_t end);
/* an ACK of new data echoing tsecr: if it acks the episode's first
 * retransmission and echoes a TSval older than it, the original arrived
 * and the reduction is undone (Eifel detection, RFC 3522; Linux
 * tcp_packet_delayed). 1 if undone. */
int ns_cc_eifel(struct ns_stack *st, struct ns_tcb *tp, uint32_t ack,
		uint32_t tsecr);
/* a retransmission of [seq, seq + len) leaves now with TSval tsval */
void ns_cc_undo_note(struct ns_tcb *tp, uint32_t seq, uint32_t len,
		     uint32_t smss, uint32_t tsval);
uint32_t ns_tcp_flight(const struct ns_tcb *tp);

/* ---- sock_addr.c -------------------------------------------------------- */
/* A program's address for a socket with flags sf: AF_INET sockets take
 * sockaddr_in, AF_INET6 ones sockaddr_in6 (IPv4 as ::ffff:a.b.c.d).
 * 0, -EINVAL (short) or -EAFNOSUPPORT (another family). */
int ns_sa_in(uint32_t sf, const union ns_sockaddr *a, socklen_t len,
	     union ns_in46 *ad, uint16_t *port_be);
/* the address as the socket's family names it; its length */
socklen_t ns_sa_out(uint32_t sf, const union ns_in46 *ad, uint16_t port_be,
		    union ns_sockaddr *out);
/* "a.b.c.d:port" or "[v6]:port" */
#define NS_ADDR_STRLEN 56
void ns_addr_str(const union ns_in46 *a, uint16_t port_be, char *buf,
		 size_t len);
/* a unicast address of this instance (IPv4, IPv6 global or link-local) */
int ns_addr_is_ours(const struct ns_stack *st, const union ns_in46 *a);

/* ---- sock.c ------------------------------------------------------------ */
struct ns_sock *ns_sock_alloc(struct ns_stack *st, int type);
void ns_sock_free(struct ns_stack *st, struct ns_sock *so);
struct ns_sock *ns_conn_lookup(struct ns_stack *st, const union ns_in46 *l,
			       uint16_t lport_be, const union ns_in46 *r,
			       uint16_t rport_be);
void ns_conn_insert(struct ns_stack *st, struct ns_sock *so);
void ns_conn_remove(struct ns_stack *st, struct ns_sock *so);
struct ns_sock *ns_bind_lookup_flow(struct ns_stack *st, int type,
				    const union ns_in46 *l, uint16_t lport_be,
				    const union ns_in46 *r, uint16_t rport_be);
/* the socket bound to l:lport (exact address first, then a wildcard of
 * l's family: 0.0.0.0, or :: unless IPV6_V6ONLY for IPv4) */
struct ns_sock *ns_bind_lookup(struct ns_stack *st, int type,
			       const union ns_in46 *l, uint16_t lport_be);
void ns_sock_event(struct ns_stack *st, struct ns_sock *so);
void ns_sock_want_output(struct ns_stack *st, struct ns_sock *so);
void ns_sock_run_output(struct ns_stack *st);
static inline uint32_t ns_sd(const struct ns_stack *st,
			     const struct ns_sock *so)
{ return (uint32_t)(so - st->socks); }

#endif
