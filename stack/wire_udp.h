/*
 * wire_udp.h: UDP header (RFC 768), wire format only.
 */
#ifndef NS_WIRE_UDP_H
#define NS_WIRE_UDP_H

#include <stdint.h>

#define NS_UDP_HLEN 8

struct ns_udp_hdr {
	uint16_t sport_be;
	uint16_t dport_be;
	uint16_t len_be;
	uint16_t cksum_be;
} __attribute__((packed));

#endif
