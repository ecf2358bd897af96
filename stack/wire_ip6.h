/*
 * wire_ip6.h: IPv6 header (RFC 8200 3) and extension headers (4), wire
 * format only. Multi-byte fields in network byte order, named *_be.
 */
#ifndef NS_WIRE_IP6_H
#define NS_WIRE_IP6_H

#include <stdint.h>

#define NS_ETHERTYPE_IP6   0x86DD
#define NS_IP6_HLEN        40
#define NS_IP6_ALEN        16
#define NS_IP6_MIN_MTU     1280     /* RFC 8200 5 */

/* next header values (IANA protocol numbers) */
#define NS_IP6_NH_HOPOPTS  0
#define NS_IP6_NH_TCP      6
#define NS_IP6_NH_UDP      17
#define NS_IP6_NH_ROUTING  43
#define NS_IP6_NH_FRAGMENT 44
#define NS_IP6_NH_ICMP6    58
#define NS_IP6_NH_NONE     59
#define NS_IP6_NH_DSTOPTS  60

struct ns_ip6_hdr {
	uint32_t vtcfl_be;  /* version 4 bits, traffic class 8, flow label 20 */
	uint16_t plen_be;   /* payload length (after this header) */
	uint8_t nxt;        /* next header */
	uint8_t hlim;       /* hop limit */
	uint8_t src[NS_IP6_ALEN];
	uint8_t dst[NS_IP6_ALEN];
} __attribute__((packed));

/* hop-by-hop, destination options and routing headers begin with this;
 * len: 8-octet units after the first 8 */
struct ns_ip6_ext {
	uint8_t nxt;
	uint8_t len;
} __attribute__((packed));

/* options in hop-by-hop / destination options headers (RFC 8200 4.2) */
#define NS_IP6_OPT_PAD1    0
#define NS_IP6_OPT_PADN    1
#define NS_IP6_OPT_JUMBO   0xc2     /* RFC 2675 */
#define NS_IP6_OPT_RA      0x05     /* router alert, RFC 2711 */

struct ns_ip6_frag {
	uint8_t nxt;
	uint8_t rsv;
	uint16_t off_be;    /* offset in 8-octet units << 3 | M flag */
	uint32_t id_be;
} __attribute__((packed));

#endif
