/*
 * wire_ip4.h: IPv4 header (RFC 791), wire format only.
 */
#ifndef NS_WIRE_IP4_H
#define NS_WIRE_IP4_H

#include <stdint.h>

#define NS_IP4_HLEN_MIN  20
#define NS_IP4_DF        0x4000 /* in host-order frag field */
#define NS_IP4_MF        0x2000
#define NS_IP4_OFFMASK   0x1fff
#define NS_IPPROTO_ICMP  1
#define NS_IPPROTO_TCP   6
#define NS_IPPROTO_UDP   17

struct ns_ip4_hdr {
	uint8_t ver_ihl;   /* version << 4 | header length in 32-bit words */
	uint8_t tos;
	uint16_t tot_len_be;
	uint16_t id_be;
	uint16_t frag_be;  /* flags (DF, MF) | offset in 8-byte units */
	uint8_t ttl;
	uint8_t proto;
	uint16_t cksum_be;
	uint32_t src_be;
	uint32_t dst_be;
} __attribute__((packed));

#endif
