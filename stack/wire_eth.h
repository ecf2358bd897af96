/*
 * wire_eth.h: Ethernet II frame header (wire format only).
 * Packed structs and constants; no code. Multi-byte fields are in network
 * byte order and named *_be.
 */
#ifndef NS_WIRE_ETH_H
#define NS_WIRE_ETH_H

#include <stdint.h>

#define NS_ETH_ALEN      6
#define NS_ETH_HLEN      14
#define NS_ETHERTYPE_IP4 0x0800
#define NS_ETHERTYPE_ARP 0x0806

struct ns_eth_hdr {
	uint8_t dst[NS_ETH_ALEN];
	uint8_t src[NS_ETH_ALEN];
	uint16_t type_be;
} __attribute__((packed));

#endif
