/*
 * cksum.c: the Internet checksum (RFC 1071), the pseudo-header sum for TCP
 * and UDP (RFC 9293 3.1, RFC 768) and incremental update (RFC 1624).
 * Called by ip4.c, icmp.c, udp.c, tcp_*.c. Sums are accumulated over
 * 16-bit words in memory order, so the folded result can be stored as is.
 */
#include "stack/ns_priv.h"

uint32_t ns_cksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	while (len >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		s += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		s += ns_get16(p);
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t last = 0;
		memcpy(&last, p, 1); /* pad with a zero byte (RFC 1071) */
		s += last;
	}
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	/* 32-bit partial sums stay foldable: keep it below 2^32 */
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t ns_cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t ns_cksum_pseudo(uint32_t src_be, uint32_t dst_be, uint8_t proto,
			 uint16_t len)
{
	uint64_t s = (uint64_t)(src_be & 0xffff) + (src_be >> 16) +
		     (dst_be & 0xffff) + (dst_be >> 16) +
		     ns_htons(proto) + ns_htons(len);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t ns_cksum(const void *data, size_t len)
{
	return ns_cksum_fold(ns_cksum_add(0, data, len));
}

uint16_t ns_cksum_update16(uint16_t cksum_be, uint16_t old_be, uint16_t new_be)
{
	/* HC' = ~(~HC + ~m + m') */
	uint32_t s = (uint16_t)~cksum_be;
	s += (uint16_t)~old_be;
	s += new_be;
	return ns_cksum_fold(s);
}

uint32_t ns_cksum_chain(uint32_t sum, const struct nf_buf *b)
{
	/* odd-length segments shift the byte lanes of what follows */
	int odd = 0;
	for (; b; b = b->seg_next) {
		uint32_t s = ns_cksum_add(0, b->data, b->len);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		if (odd)
			s = ((s & 0xff) << 8) | (s >> 8);
		sum += s;
		sum = (sum & 0xffff) + (sum >> 16);
		odd ^= b->len & 1;
	}
	return sum;
}
