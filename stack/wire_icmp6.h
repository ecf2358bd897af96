/*
 * wire_icmp6.h: ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861)
 * messages, wire format only.
 */
#ifndef NS_WIRE_ICMP6_H
#define NS_WIRE_ICMP6_H

#include <stdint.h>

#define NS_ICMP6_HLEN          8
#define NS_ICMP6_DST_UNREACH   1
#define NS_ICMP6_PKT_TOO_BIG   2
#define NS_ICMP6_TIME_EXCEEDED 3
#define NS_ICMP6_PARAM_PROB    4
#define NS_ICMP6_ECHO_REQUEST  128
#define NS_ICMP6_ECHO_REPLY    129
#define NS_ND_ROUTER_SOLICIT   133
#define NS_ND_ROUTER_ADVERT    134
#define NS_ND_NEIGHBOR_SOLICIT 135
#define NS_ND_NEIGHBOR_ADVERT  136
#define NS_ND_REDIRECT         137

/* NA flags, in the first word after the header's checksum */
#define NS_ND_NA_ROUTER        0x80000000u
#define NS_ND_NA_SOLICITED     0x40000000u
#define NS_ND_NA_OVERRIDE      0x20000000u

/* ND options (type, length in 8-octet units) */
#define NS_ND_OPT_SLLA         1
#define NS_ND_OPT_TLLA         2

#define NS_ND_HOP_LIMIT        255  /* RFC 4861 7.1.1: off-link if not */

struct ns_icmp6_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t cksum_be;
	uint32_t word_be;   /* echo: id << 16 | seq; NA: flags; PTB: MTU */
} __attribute__((packed));

/* NS and NA: the header, then the target, then options */
struct ns_nd_msg {
	struct ns_icmp6_hdr h;
	uint8_t target[16];
} __attribute__((packed));

#endif
