/*
 * fuzz_frames.c: fuzz harness for stack/. Each input is a sequence of
 * frames, each prefixed by a 2-byte big-endian length (a length of 0
 * advances the fake clock by 100 ms instead). They are fed to an
 * instance that has a listener on port 80, an established connection
 * from 198.18.0.1:40000 (timestamps, SACK, window scale) and a UDP socket
 * on port 53 (both AF_INET6 on [::]: IPv4 and IPv6 reach them), and IPv6
 * addresses 2001:2::2/64 and its link-local one.
 * Buffers must all come back after every input.
 *
 *   libFuzzer: clang-14 -fsanitize=fuzzer,address,undefined -DNS_LIBFUZZER
 *              -I. tests/stack/fuzz_frames.c stack/(*).c
 *   stdin (AFL or by hand): build without NS_LIBFUZZER, run < input.
 *
 * Not a unit test (the name does not start with test_); a seed corpus per
 * protocol is in tests/stack/corpus/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "stack/ns_priv.h"
#include "tests/stack/fake_io.h"
#include "tests/stack/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t us_mac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 1};

static void put_tcp(struct ns_stack *st, struct fio_pool *p, uint8_t flags,
		    uint32_t seq, uint32_t ack, const uint8_t *opt,
		    uint32_t optlen, uint64_t now)
{
	uint8_t fr[200];
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)(fr + 14);
	struct ns_tcp_hdr *th = (struct ns_tcp_hdr *)(fr + 34);
	uint32_t hl = 20 + optlen;
	struct nf_buf *b;

	memset(fr, 0, sizeof(fr));
	memcpy(fr, us_mac, 6);
	memcpy(fr + 6, peer_mac, 6);
	fr[12] = 8;
	ih->ver_ihl = 0x45;
	ih->tot_len_be = htons((uint16_t)(20 + hl));
	ih->ttl = 64;
	ih->proto = 6;
	ih->src_be = htonl(0xc6120001);
	ih->dst_be = htonl(0xc6120002);
	ih->cksum_be = ns_cksum(ih, 20);
	th->sport_be = htons(40000);
	th->dport_be = htons(80);
	th->seq_be = htonl(seq);
	th->ack_be = htonl(ack);
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->win_be = htons(65535);
	if (optlen)
		memcpy(th + 1, opt, optlen);
	th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ih->src_be,
			ih->dst_be, 6, (uint16_t)hl), th, hl));
	b = fio_frame(p, fr, 34 + hl);
	if (b)
		ns_stack_poll(st, &b, 1, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t synopt[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0,
					   1, 0, 0, 0, 0, 1, 3, 3, 7};
	static const uint8_t ackopt[12] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0};
	struct fio_pool *p = pool_once(1024);
	struct fake_io io;
	struct ns_config c;
	struct ns_stack *st;
	union ns_sockaddr a6;
	void *mem;
	size_t sz, off = 0;
	uint64_t now = 1000000000ull;
	int lsd, usd;

	if (!p || fio_init(&io, p, us_mac, 1024))
		abort();
	ns_config_default(&c);
	c.ip_be = htonl(0xc6120002);
	c.ip6[0] = 0x20; /* 2001:2::2/64 */
	c.ip6[1] = 0x01;
	c.ip6[3] = 0x02;
	c.ip6[15] = 0x02;
	c.prefix6_len = 64;
	c.max_socks = 8;
	c.sndbuf = c.rcvbuf = 16384;
	c.no_garp = 1;
	sz = ns_stack_size(&c);
	mem = mem_once(sz);
	st = ns_stack_init(mem, sz, &c, &io.ops, now);
	if (!st)
		abort();
	st->iss_next_set = 1;
	st->iss_next = 0xfffffff0u;
	/* dual-stack sockets on [::]: IPv4 and IPv6 frames reach both */
	lsd = ns_socket_af(st, AF_INET6, SOCK_STREAM);
	memset(&a6, 0, sizeof(a6));
	a6.in6.sin6_family = AF_INET6;
	a6.in6.sin6_port = htons(80);
	ns_bind_sa(st, lsd, &a6, sizeof(a6.in6));
	ns_listen(st, lsd, 4);
	usd = ns_socket_af(st, AF_INET6, SOCK_DGRAM);
	a6.in6.sin6_port = htons(53);
	ns_bind_sa(st, usd, &a6, sizeof(a6.in6));
	/* ARP is learned from the peer's SYN path: teach it first */
	{
		uint8_t fr[60];
		struct ns_arp_hdr *ah = (struct ns_arp_hdr *)(fr + 14);
		struct nf_buf *b;
		memset(fr, 0, sizeof(fr));
		memset(fr, 0xff, 6);
		memcpy(fr + 6, peer_mac, 6);
		fr[12] = 8;
		fr[13] = 6;
		ah->htype_be = htons(1);
		ah->ptype_be = htons(0x0800);
		ah->hlen = 6;
		ah->plen = 4;
		ah->op_be = htons(1);
		memcpy(ah->sha, peer_mac, 6);
		ah->spa_be = htonl(0xc6120001);
		ah->tpa_be = htonl(0xc6120002);
		b = fio_frame(p, fr, 60);
		ns_stack_poll(st, &b, 1, now);
	}
	put_tcp(st, p, NS_TH_SYN, 0x7ffffff0u, 0, synopt, 20, now);
	put_tcp(st, p, NS_TH_ACK, 0x7ffffff1u, 0xfffffff1u, ackopt, 12, now);
	ns_accept(st, lsd, NULL);
	fio_clear(&io);
	while (off + 2 <= size) {
		uint32_t len = (uint32_t)data[off] << 8 | data[off + 1];
		struct nf_buf *b;
		off += 2;
		if (len == 0) {
			now += 100000000ull;
			ns_stack_poll(st, NULL, 0, now);
			continue;
		}
		if (len > size - off)
			len = (uint32_t)(size - off);
		b = fio_frame(p, data + off, len);
		off += len;
		if (b)
			ns_stack_poll(st, &b, 1, now);
		fio_clear(&io);
	}
	fuzz_end(st, c.max_socks, &io, p);
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
