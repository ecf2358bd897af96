/*
 * fuzz_reasm.c: libFuzzer harness for IPv4 reassembly in stack/ip4.c
 * (RFC 791 3.2, RFC 815). One instance with a UDP socket on port 53 and
 * few reassembly slots/bytes (so eviction and the memory bound are hit)
 * receives fragments the fuzzer places: which datagram (id, source,
 * protocol), offset, length, MF, DF. Every fragment's bytes are slices of
 * one fixed image per datagram (a UDP header whose length field the input
 * chooses, then a pattern depending on id and offset), so whatever the
 * stack does with overlaps, holes, duplicates, timeouts and evictions, a
 * datagram it delivers must be exactly the image: the oracle checks the
 * length (the UDP length field), the source and every byte, and aborts on
 * a mismatch. Buffers must all come back at the end.
 *
 * Input: 8 bytes = UDP length of datagrams 0..3 (16 bits each), then
 * records of 6 bytes: SEL OFF(2) LEN(2) FL
 *   SEL & 3  datagram, SEL >> 2 & 1 second source, SEL >> 3 & 3 protocol
 *            (UDP, UDP, ICMP, TCP), SEL == 0xff: now += LEN * 10 ms
 *   OFF      offset in 8-byte units (13 bits)
 *   LEN      payload bytes (% 1481)
 *   FL & 1   MF, FL & 2 DF, FL & 4 recv everything queued now
 *
 *   clang-14 -fsanitize=fuzzer,address,undefined -DNS_LIBFUZZER -I.
 *            tests/stack/fuzz_reasm.c stack/(*).c
 * Built and run by tests/rel/itest_fuzz.sh; seeds in
 * tests/stack/corpus_reasm/. Without NS_LIBFUZZER: reads stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "stack/ns_priv.h"
#include "tests/stack/fake_io.h"
#include "tests/stack/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER_IP 0xc6120001u
#define PEER2_IP 0xc6120003u
#define US_IP   0xc6120002u

static const uint8_t us_mac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 1};

/* byte k of datagram dg's IP payload (k >= 8: after the UDP header) */
static uint8_t image(uint32_t dg, uint32_t k)
{
	return (uint8_t)(k * 7 + (k >> 8) + dg * 61 + 1);
}

static void image_slice(uint8_t *out, uint32_t dg, uint16_t ulen,
			uint32_t off, uint32_t len)
{
	uint8_t uh[8] = {0x03, 0xe8, 0, 53, (uint8_t)(ulen >> 8),
			 (uint8_t)ulen, 0, 0};
	uint32_t i;
	for (i = 0; i < len; i++)
		out[i] = off + i < 8 ? uh[off + i] : image(dg, off + i);
}

/* drain the UDP socket; every datagram must be one of the images */
static void drain(struct ns_stack *st, int usd, const uint16_t ulen[4])
{
	static uint8_t buf[65536];
	struct sockaddr_in from;
	struct iovec iov = {buf, sizeof(buf)};
	for (;;) {
		ssize_t n = ns_recvmsg(st, usd, &iov, 1, 0, &from);
		uint32_t dg, k;
		if (n < 0)
			return;
		/* which image: the pattern's first byte names the datagram */
		if (n == 0)
			continue; /* a zero-length datagram: ulen 8 */
		for (dg = 0; dg < 4; dg++)
			if (buf[0] == image(dg, 8))
				break;
		if (dg == 4)
			abort(); /* bytes that no fragment carried */
		if ((size_t)n != (size_t)ulen[dg] - 8)
			abort(); /* wrong length */
		if (from.sin_port != htons(1000) ||
		    (from.sin_addr.s_addr != htonl(PEER_IP) &&
		     from.sin_addr.s_addr != htonl(PEER2_IP)))
			abort();
		for (k = 0; k < (uint32_t)n; k++)
			if (buf[k] != image(dg, k + 8))
				abort(); /* wrong bytes */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t protos[4] = {17, 17, 1, 6};
	struct fio_pool *p;
	struct fake_io io;
	struct ns_config c;
	struct ns_stack *st;
	struct sockaddr_in a;
	uint16_t ulen[4];
	uint8_t fr[14 + 20 + 1480];
	void *mem;
	size_t sz, off = 8;
	uint64_t now = 1000000000ull;
	uint32_t i;
	int usd;

	if (size < 8)
		return 0;
	p = pool_once(512);
	if (!p || fio_init(&io, p, us_mac, 512))
		abort();
	for (i = 0; i < 4; i++)
		ulen[i] = (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
	ns_config_default(&c);
	c.ip_be = htonl(US_IP);
	c.max_socks = 4;
	c.sndbuf = c.rcvbuf = 16384;
	c.reass_slots = 3;
	c.reass_bytes = 32768;
	c.no_garp = 1;
	sz = ns_stack_size(&c);
	mem = mem_once(sz);
	st = ns_stack_init(mem, sz, &c, &io.ops, now);
	if (!st)
		abort();
	usd = ns_socket(st, SOCK_DGRAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(53);
	ns_bind(st, usd, &a);
	/* a large receive queue: reassembled datagrams must not be lost to it */
	{
		int v = 1 << 20;
		ns_setsockopt(st, usd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
	while (off + 6 <= size) {
		const uint8_t *d = data + off;
		uint32_t dg = d[0] & 3, two = d[0] >> 2 & 1;
		uint32_t fo = (uint32_t)(d[1] << 8 | d[2]) & NS_IP4_OFFMASK;
		uint32_t len = (uint32_t)(d[3] << 8 | d[4]) % 1481;
		uint8_t fl = d[5];
		struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)(fr + 14);
		struct nf_buf *b;
		uint16_t frag;

		off += 6;
		if (d[0] == 0xff) {
			now += (uint64_t)(d[3] << 8 | d[4]) * 10 * NS_MS;
			ns_stack_poll(st, NULL, 0, now);
			fio_clear(&io);
			continue;
		}
		memset(fr, 0, 34);
		memcpy(fr, us_mac, 6);
		memcpy(fr + 6, peer_mac, 6);
		fr[12] = 8;
		ih->ver_ihl = 0x45;
		ih->tot_len_be = htons((uint16_t)(20 + len));
		ih->id_be = htons((uint16_t)(0x4000 + dg));
		frag = (uint16_t)fo;
		if (fl & 1)
			frag |= NS_IP4_MF;
		if (fl & 2)
			frag |= NS_IP4_DF;
		ih->frag_be = htons(frag);
		ih->ttl = 64;
		ih->proto = protos[d[0] >> 3 & 3];
		ih->src_be = htonl(two ? PEER2_IP : PEER_IP);
		ih->dst_be = htonl(US_IP);
		ih->cksum_be = ns_cksum(ih, 20);
		image_slice(fr + 34, dg, ulen[dg], fo * 8, len);
		b = fio_frame(p, fr, 34 + len);
		if (b)
			ns_stack_poll(st, &b, 1, now);
		fio_clear(&io);
		if (fl & 4)
			drain(st, usd, ulen);
	}
	drain(st, usd, ulen);
	fuzz_end(st, c.max_socks, &io, p);
	if (st->reass_used != 0)
		abort(); /* bytes still counted after fini */
	fio_fini(&io);
	return 0;
}

#ifndef NS_LIBFUZZER
int main(void)
{
	static uint8_t in[1 << 20];
	size_t n = fread(in, 1, sizeof(in), stdin);
	return LLVMFuzzerTestOneInput(in, n);
}
#endif
