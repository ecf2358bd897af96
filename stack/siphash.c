/*
 * siphash.c: SipHash-2-4 (Aumasson and Bernstein, 2012), 64-bit output,
 * 128-bit key: the keyed function behind the stack's unpredictable
 * numbers (RFC 6528 ISNs, SYN cookies, timestamp offsets; tcp_subr.c).
 * As Linux uses it for the same (net/core/secure_seq.c). Written from
 * the paper's description; checked against its reference vector in
 * tests/stack/test_secure.c.
 */
#include "stack/ns_priv.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

uint64_t ns_siphash(const uint8_t key[16], const void *msg, size_t len)
{
	const uint8_t *m = msg;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, w;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		w = le64(m + i);
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	switch (left) {
	case 7: b |= (uint64_t)m[i + 6] << 48; /* fall through */
	case 6: b |= (uint64_t)m[i + 5] << 40; /* fall through */
	case 5: b |= (uint64_t)m[i + 4] << 32; /* fall through */
	case 4: b |= (uint64_t)m[i + 3] << 24; /* fall through */
	case 3: b |= (uint64_t)m[i + 2] << 16; /* fall through */
	case 2: b |= (uint64_t)m[i + 1] << 8; /* fall through */
	case 1: b |= (uint64_t)m[i]; break;
	default: break;
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The keyed hash of a connection's 4-tuple (addresses and ports as on the
 * wire) and a 32-bit extra word (a purpose tag, a cookie's slot...) */
uint64_t ns_secure_tuple(const uint8_t key[16], uint32_t laddr_be,
			 uint16_t lport_be, uint32_t raddr_be,
			 uint16_t rport_be, uint64_t extra)
{
	uint8_t m[20];
	memcpy(m, &laddr_be, 4);
	memcpy(m + 4, &raddr_be, 4);
	memcpy(m + 8, &lport_be, 2);
	memcpy(m + 10, &rport_be, 2);
	memcpy(m + 12, &extra, 8);
	return ns_siphash(key, m, sizeof(m));
}

/* The same for either family: IPv4 flows (both addresses mapped) hash as
 * ns_secure_tuple() does; IPv6 ones over the full addresses */
uint64_t ns_secure_flow(const uint8_t key[16], const union ns_in46 *l,
			uint16_t lport_be, const union ns_in46 *r,
			uint16_t rport_be, uint64_t extra)
{
	uint8_t m[44];
	if (ns_in46_is4(l) && ns_in46_is4(r))
		return ns_secure_tuple(key, l->a4, lport_be, r->a4, rport_be,
				       extra);
	memcpy(m, l->b, 16);
	memcpy(m + 16, r->b, 16);
	memcpy(m + 32, &lport_be, 2);
	memcpy(m + 34, &rport_be, 2);
	memcpy(m + 36, &extra, 8);
	return ns_siphash(key, m, sizeof(m));
}
