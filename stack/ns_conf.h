/*
 * ns_conf.h: tunables of the stack, each with its unit and source.
 */
#ifndef NS_CONF_H
#define NS_CONF_H

#define NS_MS                   1000000ull   /* ns per ms */
#define NS_TX_BATCH             32           /* frames per tx_burst */
#define NS_IP_TTL               64           /* RFC 1700 default TTL */
#define NS_ARP_TIMEOUT_NS       (60000 * NS_MS) /* resolved entry lifetime */
#define NS_ARP_RETRY_NS         (1000 * NS_MS)  /* request retransmit */
#define NS_ARP_RETRIES          3
#define NS_REASS_TIMEOUT_NS     (30000 * NS_MS) /* RFC 791: 15 s minimum */
#define NS_REASS_MAX_FRAGS      64           /* fragments per datagram */
#define NS_TCP_MSS_DEFAULT      536          /* RFC 9293 3.7.1 */
#define NS_TCP_RTO_INIT_NS      (1000 * NS_MS)  /* RFC 6298 2.1 */
#define NS_TCP_RTO_MIN_NS       (200 * NS_MS)   /* Linux; RFC 6298 2.4 says 1 s */
#define NS_TCP_RTO_MAX_NS       (120000 * NS_MS) /* RFC 6298 2.5 */
#define NS_TCP_SYN_RETRIES      6
#define NS_TCP_RETRIES2         15           /* RFC 1122 4.2.3.5 R2 */
#define NS_TCP_DELACK_NS        (10 * NS_MS) /* RFC 1122 4.2.3.2: < 500 ms */
#define NS_TCP_PERSIST_MIN_NS   (200 * NS_MS)
#define NS_TCP_PERSIST_MAX_NS   (60000 * NS_MS)
#define NS_TCP_KEEPIDLE_S       7200         /* RFC 1122 4.2.3.6 */
#define NS_TCP_KEEPINTVL_S      75
#define NS_TCP_KEEPCNT          9
#define NS_TCP_FIN_WAIT2_NS     (60000 * NS_MS) /* orphan FIN_WAIT_2 */
#define NS_TCP_INIT_CWND_SEGS   10           /* RFC 6928 */
#define NS_TCP_RCV_RTT_DEF_US   1000         /* auto-tuning RTT before a sample */
#define NS_TCP_OOO_RANGES       8            /* out-of-order ranges kept */
#define NS_TCP_SACK_RANGES      8            /* sender scoreboard ranges */
#define NS_TCP_CHALLENGE_PER_S  1000         /* RFC 5961 10: ACK rate limit */
#define NS_TCP_DUPACK_THRESH    3            /* RFC 5681 3.2 */
#define NS_TCP_TXLOG            48           /* RACK transmit records */
#define NS_SYNCOOKIE_SLOT_NS   (64000 * NS_MS) /* cookie time step, 5 bits */
#define NS_EPHEMERAL_LO         32768        /* Linux ip_local_port_range */
#define NS_EPHEMERAL_HI         60999
#define NS_IP_ID_BUCKETS        64           /* RFC 7739 5.3 hashed counters */
#define NS_PMTU_MIN             552          /* Linux ip_rt_min_pmtu */
#define NS_IP6_HLIM             64           /* Linux hop_limit default */
#define NS_IP6_MAX_EXT          8            /* extension headers walked */
#define NS_ND_ENTRIES           32           /* neighbour cache size */
#define NS_ND_RETRANS_NS        (1000 * NS_MS) /* RFC 4861 10 RETRANS_TIMER */
#define NS_ND_RETRIES           3            /* MAX_MULTICAST_SOLICIT */
#define NS_ND_QUEUE             64           /* frames waiting per neighbour
						* (Linux: unres_qlen_bytes) */
#define NS_ND_REACHABLE_NS      (30000 * NS_MS) /* REACHABLE_TIME */
#define NS_ND_DELAY_NS          (5000 * NS_MS) /* DELAY_FIRST_PROBE_TIME */

#endif
