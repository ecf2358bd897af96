/*
 * pcapng.c: pcapng block layout (see pcapng.h). librte_pcapng is not used:
 * DPDK 22.11's conversion of TSC cycles to time put packets in the year
 * 2244, and it can only start with the port; these blocks carry
 * CLOCK_REALTIME nanoseconds taken by io/capture.c.
 */
#include <string.h>

#include "io/pcapng.h"

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

void nf_pcapng_head(uint8_t *out)
{
	uint8_t *p = out;
	int64_t section_len = -1; /* not given */

	/* Section Header Block, 28 bytes */
	put32(p, 0x0A0D0D0A);
	put32(p + 4, 28);
	put32(p + 8, 0x1A2B3C4D);       /* byte-order magic */
	put16(p + 12, 1);               /* version 1.0 */
	put16(p + 14, 0);
	memcpy(p + 16, &section_len, 8);
	put32(p + 24, 28);
	p += 28;
	/* Interface Description Block, 32 bytes: Ethernet, no snap limit,
	 * if_tsresol = 9 (nanoseconds) */
	put32(p, 1);
	put32(p + 4, 32);
	put16(p + 8, 1);                /* LINKTYPE_ETHERNET */
	put16(p + 10, 0);
	put32(p + 12, 0);               /* snaplen: none */
	put16(p + 16, 9);               /* if_tsresol */
	put16(p + 18, 1);
	p[20] = 9;
	p[21] = p[22] = p[23] = 0;
	put16(p + 24, 0);               /* opt_endofopt */
	put16(p + 26, 0);
	put32(p + 28, 32);
}

uint32_t nf_pcapng_epb(uint8_t *out, uint32_t caplen, uint32_t len,
		       uint64_t ts_ns, int tx)
{
	uint32_t padded = (caplen + 3u) & ~3u, total = NF_PCAPNG_EPB_LEN(caplen);
	uint8_t *o = out + 28 + padded;

	put32(out, 6);                  /* Enhanced Packet Block */
	put32(out + 4, total);
	put32(out + 8, 0);              /* interface 0 */
	put32(out + 12, (uint32_t)(ts_ns >> 32));
	put32(out + 16, (uint32_t)ts_ns);
	put32(out + 20, caplen);
	put32(out + 24, len);
	memset(out + 28 + caplen, 0, padded - caplen);
	put16(o, 2);                    /* epb_flags: direction */
	put16(o + 2, 4);
	put32(o + 4, tx ? 2u : 1u);     /* 2 outbound, 1 inbound */
	put16(o + 8, 0);                /* opt_endofopt */
	put16(o + 10, 0);
	put32(o + 12, total);
	return total;
}
