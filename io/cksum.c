/*
 * cksum.c: the software fallback for tx checksum offload.
 *
 * When stack/ asks for NF_TX_IP_CKSUM / NF_TX_TCP_CKSUM / NF_TX_UDP_CKSUM
 * and the device cannot (or NETFUSE_OFFLOAD_TX_CKSUM=sw), io/queue.c calls
 * nf_io_sw_cksum() on the frame's segments just before tx_burst; it also
 * runs on every segment librte_gso produces (GSO does not checksum).
 *
 * Pure C over byte segments, no DPDK type, so tests/io/test_cksum.c checks
 * it against fixed frames. Sums are RFC 1071; the TCP pseudo-header is
 * RFC 793 section 3.1, UDP's RFC 768 (a computed 0 is sent as 0xffff).
 */
#include <errno.h>
#include <string.h>

#include "io/io.h"

#define ETH_HLEN      14
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17

uint32_t nf_io_cksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	size_t i;

	/* RFC 1071 section 4.1: 16-bit big-endian words, carries folded. */
	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t nf_io_cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int nf_io_sw_cksum(const struct nf_io_seg *segs, unsigned nseg,
		   uint32_t flags, unsigned l2_len)
{
	uint8_t *ip, *csum_at;
	unsigned ihl, tot, l4_len, l4_hdr, i;
	uint64_t total = 0;
	uint32_t sum, off, left;
	uint8_t proto;
	int odd;

	if (nseg == 0 || segs[0].data == NULL)
		return -EINVAL;
	if (l2_len == 0)
		l2_len = ETH_HLEN;
	for (i = 0; i < nseg; i++)
		total += segs[i].len;
	if (segs[0].len < l2_len + 20u)
		return -EINVAL;
	ip = segs[0].data + l2_len;
	if ((ip[0] >> 4) != 4)
		return -EINVAL;
	ihl = (ip[0] & 0xfu) * 4u;
	tot = rd16(ip + 2);
	if (ihl < 20 || segs[0].len < l2_len + ihl || tot < ihl ||
	    l2_len + (uint64_t)tot > total)
		return -EINVAL;

	if (flags & NF_TX_IP_CKSUM) {
		/* RFC 791 section 3.1: header checksum over the header only */
		wr16(ip + 10, 0);
		wr16(ip + 10, (uint16_t)~nf_io_cksum_fold(
			nf_io_cksum_add(0, ip, ihl)));
	}
	if (!(flags & (NF_TX_TCP_CKSUM | NF_TX_UDP_CKSUM)))
		return 0;

	proto = ip[9];
	if ((flags & NF_TX_TCP_CKSUM) && proto == IPPROTO_TCP_)
		l4_hdr = 20, csum_at = ip + ihl + 16;
	else if ((flags & NF_TX_UDP_CKSUM) && proto == IPPROTO_UDP_)
		l4_hdr = 8, csum_at = ip + ihl + 6;
	else
		return -EINVAL;  /* asked for the wrong protocol */
	if (rd16(ip + 6) & 0x3fff)
		return -EINVAL;  /* a fragment: no L4 checksum to fill */
	l4_len = tot - ihl;
	if (l4_len < l4_hdr || segs[0].len < l2_len + ihl + l4_hdr)
		return -EINVAL;

	/* Pseudo-header (RFC 793 section 3.1, RFC 768): src, dst, zero,
	 * protocol, L4 length. */
	sum = nf_io_cksum_add(0, ip + 12, 8);
	sum += proto;
	sum += l4_len;
	wr16(csum_at, 0);

	/* L4 header and payload, l4_len bytes from ip + ihl, over segments;
	 * a segment boundary may split a 16-bit word. */
	off = l2_len + ihl;
	left = l4_len;
	odd = 0;
	for (i = 0; i < nseg && left; i++) {
		const uint8_t *p = segs[i].data;
		uint32_t n = segs[i].len;

		if (off >= n) {
			off -= n;
			continue;
		}
		p += off;
		n -= off;
		off = 0;
		if (n > left)
			n = left;
		left -= n;
		if (odd && n) {
			sum += p[0];  /* low byte of the word begun before */
			p++;
			n--;
			odd = 0;
		}
		sum = nf_io_cksum_add(sum, p, n & ~1u);
		if (n & 1) {
			sum += (uint32_t)p[n - 1] << 8;
			odd = 1;
		}
		sum = nf_io_cksum_fold(sum);
	}
	sum = (uint16_t)~nf_io_cksum_fold(sum);
	if (sum == 0 && proto == IPPROTO_UDP_)
		sum = 0xffff;  /* RFC 768: 0 means "no checksum" */
	wr16(csum_at, (uint16_t)sum);
	return 0;
}
