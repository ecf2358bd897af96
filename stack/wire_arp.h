/*
 * wire_arp.h: ARP for IPv4 over Ethernet (RFC 826), wire format only.
 */
#ifndef NS_WIRE_ARP_H
#define NS_WIRE_ARP_H

#include <stdint.h>

#define NS_ARP_HTYPE_ETH 1
#define NS_ARP_OP_REQUEST 1
#define NS_ARP_OP_REPLY   2
#define NS_ARP_LEN       28

struct ns_arp_hdr {
	uint16_t htype_be;
	uint16_t ptype_be;
	uint8_t hlen;
	uint8_t plen;
	uint16_t op_be;
	uint8_t sha[6];
	uint32_t spa_be;
	uint8_t tha[6];
	uint32_t tpa_be;
} __attribute__((packed));

#endif
