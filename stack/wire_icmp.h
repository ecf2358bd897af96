/*
 * wire_icmp.h: ICMPv4 header (RFC 792, RFC 1191), wire format only.
 */
#ifndef NS_WIRE_ICMP_H
#define NS_WIRE_ICMP_H

#include <stdint.h>

#define NS_ICMP_HLEN          8
#define NS_ICMP_ECHO_REPLY    0
#define NS_ICMP_UNREACH       3
#define NS_ICMP_ECHO          8
#define NS_ICMP_TIME_EXCEEDED 11
#define NS_ICMP_UNREACH_PROTO     2
#define NS_ICMP_UNREACH_PORT      3
#define NS_ICMP_UNREACH_NEEDFRAG  4 /* RFC 1191: next-hop MTU in mtu_be */

struct ns_icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t cksum_be;
	union {
		struct { uint16_t id_be, seq_be; } echo;
		struct { uint16_t unused_be, mtu_be; } frag;
		uint32_t word_be;
	} u;
} __attribute__((packed));

#endif
