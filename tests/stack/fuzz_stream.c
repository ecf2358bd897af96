/*
 * fuzz_stream.c: libFuzzer harness for the TCP state machine of stack/.
 * The input is a program of operations run against one instance that
 * already has a listener on port 80 (backlog 4), an established passive
 * connection from 198.18.0.1:40000 (timestamps, SACK, window scale) and an
 * active connection to 198.18.0.1:8080 still in SYN_SENT. Segments are
 * built by the harness with valid checksums and with sequence and
 * acknowledgment numbers *relative* to what the stack expects (rcv_nxt,
 * snd_una of the matching TCB), so the fuzzer reaches deep states (data,
 * recovery, FIN_WAIT, CLOSING, TIME_WAIT, persist, keepalive) instead of
 * being dropped by the window check. Virtual time advances by fuzzed
 * steps (10 ms .. 2.5 s, or 2 min to fire keepalive and 2MSL timers).
 *
 * Operations (first byte % 9, then its arguments):
 *   0 step T        now += (T + 1) * 10 ms, run timers
 *   1 long step     now += 120 s
 *   2 segment P F DS(2) DA(2) W(2) LEN O OLEN OPT[OLEN]
 *                   peer P % 4 (40000->80, 8080->ours, 40001->80,
 *                   40002->80), flags F, seq = rcv_nxt + DS, ack =
 *                   snd_una + DA (int16), window W, LEN * 6 % 1441 payload bytes,
 *                   OLEN % 41 option bytes
 *   3 send S N      send N * 64 bytes (MSG_MORE if N & 1) on sd S
 *   4 recv S N      recv up to N * 64 bytes (MSG_PEEK if N & 1)
 *   5 shutdown S H  SHUT_RD / WR / RDWR
 *   6 close S A     close (abort if A & 1)
 *   7 accept / setsockopt S O V: keepalive, TCP_USER_TIMEOUT, NODELAY,
 *                   CORK, KEEPIDLE/INTVL/CNT, SO_LINGER {1,0}
 *   8 raw L(2) ...  a raw frame of L bytes (as fuzz_frames.c)
 * After every operation the TCB invariants are checked (abort on a
 * violation: una <= nxt <= max, ring lengths within their rings); after
 * the program every socket is freed and every buffer must be back.
 *
 *   clang-14 -fsanitize=fuzzer,address,undefined -DNS_LIBFUZZER -I.
 *            tests/stack/fuzz_stream.c stack/(*).c
 * Built and run by tests/rel/itest_fuzz.sh; seeds in
 * tests/stack/corpus_stream/. Without NS_LIBFUZZER: reads stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "stack/ns_priv.h"
#include "stack/tcp_seq.h"
#include "tests/stack/fake_io.h"
#include "tests/stack/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER_IP 0xc6120001u
#define US_IP   0xc6120002u
#define NSOCKS  12

static const uint8_t us_mac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 1};

/* one remote end: its port, the port it talks to, its own ISN guess */
struct peer {
	uint16_t rport, lport;
	uint32_t iss;
};

/* the harness's state for one input (nothing survives between inputs) */
struct run {
	struct ns_stack *st;
	struct fio_pool *p;
	struct fake_io *io;
	uint64_t now;
	struct peer peers[4];
	uint8_t payload[1500];
};

static void feed(struct run *r, struct nf_buf *b)
{
	if (b)
		ns_stack_poll(r->st, &b, 1, r->now);
	fio_clear(r->io);
}

static void put_tcp(struct run *r, uint16_t sport, uint16_t dport,
		    uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		    const uint8_t *opt, uint32_t optlen, uint32_t len)
{
	uint8_t fr[14 + 20 + 60 + 1500];
	struct ns_ip4_hdr *ih = (struct ns_ip4_hdr *)(fr + 14);
	struct ns_tcp_hdr *th = (struct ns_tcp_hdr *)(fr + 34);
	uint32_t hl = 20 + ((optlen + 3) & ~3u);

	memset(fr, 0, 14 + hl);
	memcpy(fr, us_mac, 6);
	memcpy(fr + 6, peer_mac, 6);
	fr[12] = 8;
	ih->ver_ihl = 0x45;
	ih->tot_len_be = htons((uint16_t)(20 + hl + len));
	ih->ttl = 64;
	ih->proto = 6;
	ih->frag_be = htons(NS_IP4_DF);
	ih->src_be = htonl(PEER_IP);
	ih->dst_be = htonl(US_IP);
	ih->cksum_be = ns_cksum(ih, 20);
	th->sport_be = htons(sport);
	th->dport_be = htons(dport);
	th->seq_be = htonl(seq);
	th->ack_be = htonl(ack);
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->win_be = htons(win);
	if (optlen)
		memcpy(th + 1, opt, optlen);
	memcpy(fr + 34 + hl, r->payload, len);
	th->cksum_be = ns_cksum_fold(ns_cksum_add(ns_cksum_pseudo(ih->src_be,
			ih->dst_be, 6, (uint16_t)(hl + len)), th, hl + len));
	feed(r, fio_frame(r->p, fr, 34 + hl + len));
}

/* the non-listening TCB talking to this peer, if any */
static struct ns_sock *find_conn(struct run *r, const struct peer *pe)
{
	uint32_t i;
	for (i = 0; i < r->st->cfg.max_socks; i++) {
		struct ns_sock *s = &r->st->socks[i];
		if (s->type == NS_SOCK_TCP && !(s->sf & SF_LISTEN) &&
		    s->rport_be == htons(pe->rport) &&
		    s->lport_be == htons(pe->lport) &&
		    s->tcb.state != NS_TCPS_CLOSED)
			return s;
	}
	return NULL;
}

static void check_invariants(struct run *r)
{
	uint32_t i;
	for (i = 0; i < r->st->cfg.max_socks; i++) {
		const struct ns_sock *s = &r->st->socks[i];
		const struct ns_tcb *t = &s->tcb;
		if (s->type != NS_SOCK_TCP || (s->sf & SF_LISTEN) ||
		    t->state == NS_TCPS_CLOSED || t->state == NS_TCPS_SYN_SENT)
			continue;
		if (SEQ_GT(t->snd_una, t->snd_max) ||
		    SEQ_GT(t->snd_nxt, t->snd_max) ||
		    SEQ_LT(t->snd_nxt, t->snd_una))
			abort(); /* send sequence space out of order */
		if (t->sb && t->sb_len > t->sb_mask + 1)
			abort(); /* send ring overflow */
		if (t->rb && t->rb_len > t->rb_mask + 1)
			abort(); /* receive ring overflow */
		if (t->ooo_n > NS_TCP_OOO_RANGES ||
		    t->nsacked > NS_TCP_SACK_RANGES)
			abort();
	}
}

static void setup(struct run *r)
{
	static const uint8_t synopt[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0,
					   0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
	static const uint8_t ackopt[12] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0};
	struct sockaddr_in a;
	uint8_t fr[60];
	struct ns_arp_hdr *ah = (struct ns_arp_hdr *)(fr + 14);
	int lsd, csd;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	lsd = ns_socket(r->st, SOCK_STREAM);
	ns_bind(r->st, lsd, &a);
	ns_listen(r->st, lsd, 4);
	/* the peer's MAC, so nothing waits on ARP */
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
	ah->spa_be = htonl(PEER_IP);
	ah->tpa_be = htonl(US_IP);
	feed(r, fio_frame(r->p, fr, 60));
	/* passive: 40000 -> 80, established and accepted */
	r->peers[0] = (struct peer){40000, 80, 0x7ffffff0u};
	put_tcp(r, 40000, 80, NS_TH_SYN, 0x7ffffff0u, 0, 65535, synopt, 20, 0);
	put_tcp(r, 40000, 80, NS_TH_ACK, 0x7ffffff1u, 0xfffffff1u, 65535,
		ackopt, 12, 0);
	ns_accept(r->st, lsd, NULL);
	/* active: ours -> 8080, left in SYN_SENT for the fuzzer */
	csd = ns_socket(r->st, SOCK_STREAM);
	a.sin_port = htons(8080);
	a.sin_addr.s_addr = htonl(PEER_IP);
	ns_connect(r->st, csd, &a);
	fio_clear(r->io);
	memset(&a, 0, sizeof(a));
	ns_getsockname(r->st, csd, &a);
	r->peers[1] = (struct peer){8080, ntohs(a.sin_port), 0x10000000u};
	r->peers[2] = (struct peer){40001, 80, 0xfffff000u};
	r->peers[3] = (struct peer){40002, 80, 0x00000100u};
}

/* one operation; returns bytes of input consumed (>= 1) */
static size_t op(struct run *r, const uint8_t *d, size_t n)
{
	static uint8_t buf[65536];
	uint8_t code = d[0] % 9;
#define ARG(i) ((i) < n ? d[i] : 0)
	switch (code) {
	case 0:
		r->now += (uint64_t)(ARG(1) + 1) * 10 * NS_MS;
		feed(r, NULL);
		return 2;
	case 1:
		r->now += 120000 * NS_MS;
		feed(r, NULL);
		return 1;
	case 2: {
		const struct peer *pe = &r->peers[ARG(1) & 3];
		struct ns_sock *s = find_conn(r, pe);
		int16_t ds = (int16_t)(ARG(3) << 8 | ARG(4));
		int16_t da = (int16_t)(ARG(5) << 8 | ARG(6));
		uint16_t w = (uint16_t)(ARG(7) << 8 | ARG(8));
		uint32_t len = (uint32_t)ARG(9) * 6 % 1441, olen = ARG(10) % 41;
		uint32_t seq = s ? s->tcb.rcv_nxt : pe->iss;
		uint32_t ack = s ? s->tcb.snd_una : 0;
		uint8_t opt[44];
		size_t used = 11;
		memset(opt, 0, sizeof(opt));
		if (olen > n - (used < n ? used : n))
			olen = (uint32_t)(n - (used < n ? used : n));
		memcpy(opt, d + (used < n ? used : n), olen);
		used += olen;
		put_tcp(r, pe->rport, pe->lport, ARG(2), seq + (uint32_t)ds,
			ack + (uint32_t)da, w, opt, olen, len);
		return used;
	}
	case 3: {
		int sd = ARG(1) % NSOCKS, fl = ARG(2) & 1 ? MSG_MORE : 0;
		size_t len = (size_t)ARG(2) * 64;
		memset(buf, 'a' + (int)(r->now & 15), len);
		ns_send(r->st, sd, buf, len, fl);
		fio_clear(r->io);
		return 3;
	}
	case 4: {
		int sd = ARG(1) % NSOCKS, fl = ARG(2) & 1 ? MSG_PEEK : 0;
		ns_recv(r->st, sd, buf, (size_t)ARG(2) * 64 + 1, fl);
		fio_clear(r->io);
		return 3;
	}
	case 5:
		ns_shutdown(r->st, ARG(1) % NSOCKS, ARG(2) % 3);
		fio_clear(r->io);
		return 3;
	case 6:
		if (ARG(2) & 1)
			ns_abort(r->st, ARG(1) % NSOCKS);
		else
			ns_close(r->st, ARG(1) % NSOCKS);
		fio_clear(r->io);
		return 3;
	case 7: {
		int sd = ARG(1) % NSOCKS, v = ARG(3), one = 1;
		struct linger lg = {1, 0};
		switch (ARG(2) % 9) {
		case 0: ns_accept(r->st, sd, NULL); break;
		case 1: ns_setsockopt(r->st, sd, SOL_SOCKET, SO_KEEPALIVE,
				      &one, sizeof(one)); break;
		case 2: v *= 100;
			ns_setsockopt(r->st, sd, IPPROTO_TCP, TCP_USER_TIMEOUT,
				      &v, sizeof(v)); break;
		case 3: v &= 1;
			ns_setsockopt(r->st, sd, IPPROTO_TCP, TCP_NODELAY,
				      &v, sizeof(v)); break;
		case 4: v &= 1;
			ns_setsockopt(r->st, sd, IPPROTO_TCP, TCP_CORK,
				      &v, sizeof(v)); break;
		case 5: ns_setsockopt(r->st, sd, IPPROTO_TCP, TCP_KEEPIDLE,
				      &v, sizeof(v)); break;
		case 6: ns_setsockopt(r->st, sd, IPPROTO_TCP, TCP_KEEPINTVL,
				      &v, sizeof(v)); break;
		case 7: ns_setsockopt(r->st, sd, IPPROTO_TCP, TCP_KEEPCNT,
				      &v, sizeof(v)); break;
		default: ns_setsockopt(r->st, sd, SOL_SOCKET, SO_LINGER,
				       &lg, sizeof(lg)); break;
		}
		fio_clear(r->io);
		return 4;
	}
	default: {
		uint32_t len = (uint32_t)(ARG(1) << 8 | ARG(2));
		size_t at = n < 3 ? n : 3;
		if (len > n - at)
			len = (uint32_t)(n - at);
		if (len)
			feed(r, fio_frame(r->p, d + at, len));
		return at + len;
	}
	}
#undef ARG
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fio_pool *p = pool_once(1024);
	struct fake_io io;
	struct ns_config c;
	struct run r;
	void *mem;
	size_t sz, off = 0;
	uint32_t i;

	if (!p || fio_init(&io, p, us_mac, 1024))
		abort();
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(r.payload); i++)
		r.payload[i] = (uint8_t)(i * 7 + 3);
	ns_config_default(&c);
	c.ip_be = htonl(US_IP);
	c.max_socks = NSOCKS;
	c.sndbuf = c.rcvbuf = 16384;
	c.no_garp = 1;
	sz = ns_stack_size(&c);
	mem = mem_once(sz);
	r.now = 1000000000ull;
	r.st = ns_stack_init(mem, sz, &c, &io.ops, r.now);
	if (!r.st)
		abort();
	r.p = p;
	r.io = &io;
	r.st->iss_next_set = 1;
	r.st->iss_next = 0xfffffff0u;
	setup(&r);
	while (off < size) {
		off += op(&r, data + off, size - off);
		check_invariants(&r);
	}
	fuzz_end(r.st, c.max_socks, &io, p);
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
