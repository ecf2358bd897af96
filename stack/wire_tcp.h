/*
 * wire_tcp.h: TCP header and options (RFC 9293, 7323, 2018), wire format.
 */
#ifndef NS_WIRE_TCP_H
#define NS_WIRE_TCP_H

#include <stdint.h>

#define NS_TCP_HLEN_MIN 20
#define NS_TCP_HLEN_MAX 60

#define NS_TH_FIN 0x01
#define NS_TH_SYN 0x02
#define NS_TH_RST 0x04
#define NS_TH_PSH 0x08
#define NS_TH_ACK 0x10
#define NS_TH_URG 0x20
#define NS_TH_ECE 0x40
#define NS_TH_CWR 0x80

#define NS_TCPOPT_EOL     0
#define NS_TCPOPT_NOP     1
#define NS_TCPOPT_MSS     2  /* len 4 */
#define NS_TCPOPT_WSCALE  3  /* len 3, RFC 7323 section 2 */
#define NS_TCPOPT_SACK_OK 4  /* len 2, RFC 2018 */
#define NS_TCPOPT_SACK    5  /* len 2 + 8n */
#define NS_TCPOPT_TS      8  /* len 10, RFC 7323 section 3 */

struct ns_tcp_hdr {
	uint16_t sport_be;
	uint16_t dport_be;
	uint32_t seq_be;
	uint32_t ack_be;
	uint8_t off;      /* data offset in 32-bit words << 4 */
	uint8_t flags;    /* NS_TH_* */
	uint16_t win_be;
	uint16_t cksum_be;
	uint16_t urp_be;
} __attribute__((packed));

#endif
