/*
 * stack.c: the instance. Sizes and carves the preallocated memory, runs
 * the poll loop (received frames -> eth.c, due timers -> tcp_timer.c,
 * ARP and reassembly aging), batches transmitted frames into tx_burst,
 * and keeps the per-instance counters. Called by vfs/, apps, tests and
 * benchmarks through stack.h; calls every protocol file.
 */
#include "stack/ns_priv.h"

#include <errno.h>

const char *const ns_counter_names[] = {
#define NS_X_NAME(n) #n,
	NS_COUNTERS(NS_X_NAME)
#undef NS_X_NAME
};
const unsigned ns_counter_count =
	sizeof(ns_counter_names) / sizeof(ns_counter_names[0]);

void ns_config_default(struct ns_config *c)
{
	memset(c, 0, sizeof(*c));
	c->prefix_len = 24;
	/* 1024 sockets x (64 + 64) KiB rings = 128 MiB per instance */
	c->max_socks = 1024;
	c->sndbuf = 64 * 1024;
	c->rcvbuf = 64 * 1024;
	c->udp_rcvbuf = 256 * 1024;
	c->arp_entries = 64;
	c->arp_queue = 64;
	c->reass_slots = 16;
	c->reass_bytes = 256 * 1024;
	c->time_wait_ms = 60000;
	c->seed = 0x6e657466757365ull;
	c->syncookies = 1;
	/* Linux's initial windows (tcp_rmem[1] gives a 64 KiB window) */
	c->rcvbuf_init = 64 * 1024;
	c->sndbuf_init = 64 * 1024;
}

#define NS_ALIGN(x) (((x) + 63) & ~(size_t)63)

static int pow2(uint32_t x) { return x && !(x & (x - 1)); }

static uint32_t hash_size(uint32_t n)
{
	uint32_t h = 16;
	while (h < 2 * n && h < (1u << 24))
		h <<= 1;
	return h;
}

struct layout {
	size_t arp, reass, socks, chash, bhash, scratch, sb, rb, total;
};

static int layout(const struct ns_config *c, struct layout *l)
{
	size_t off;

	if (!c || c->max_socks == 0 || c->max_socks > (1u << 22) ||
	    !pow2(c->sndbuf) || !pow2(c->rcvbuf) || c->sndbuf < 1024 ||
	    c->rcvbuf < 1024 || c->rcvbuf > (1u << 30) ||
	    c->sndbuf > (1u << 30) || c->arp_entries == 0 ||
	    c->prefix_len > 32)
		return -EINVAL;
	off = NS_ALIGN(sizeof(struct ns_stack));
	l->arp = off;
	off += NS_ALIGN(sizeof(struct ns_arp_ent) * c->arp_entries);
	l->reass = off;
	off += NS_ALIGN(sizeof(struct ns_reass) * (c->reass_slots + 1));
	l->socks = off;
	off += NS_ALIGN(sizeof(struct ns_sock) * c->max_socks);
	l->chash = off;
	off += NS_ALIGN(sizeof(uint32_t) * hash_size(c->max_socks));
	l->bhash = off;
	off += NS_ALIGN(sizeof(uint32_t) * hash_size(c->max_socks));
	l->scratch = off;
	off += 65536;
	l->sb = off;
	off += (size_t)c->sndbuf * c->max_socks;
	l->rb = off;
	off += (size_t)c->rcvbuf * c->max_socks;
	l->total = off;
	return 0;
}

size_t ns_stack_size(const struct ns_config *c)
{
	struct layout l;
	if (layout(c, &l))
		return 0;
	return l.total;
}

/* splitmix64: only to stretch a test's seed into a secret */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random numbers (bind(0)'s ports, ...): SipHash of a counter under a
 * key from the secret; no output tells anything of the next without
 * the key (splitmix64's output function is invertible). */
uint64_t ns_rand(struct ns_stack *st)
{
	uint64_t n = st->rng++;
	return ns_siphash(st->key_rng, &n, sizeof(n));
}

/* IPv4 IDs of datagrams that belong to no connection (UDP, ICMP, RSTs):
 * RFC 7739 5.3's hashed counters. The destination picks one of
 * NS_IP_ID_BUCKETS counters and a keyed offset, so an observer of one
 * destination's IDs learns neither another destination's IDs nor how
 * much we send elsewhere (no global counter, RFC 6274 3.5.1). */
uint16_t ns_ip_id(struct ns_stack *st, uint32_t src_be, uint32_t dst_be,
		  uint8_t proto)
{
	uint64_t h = ns_secure_tuple(st->key_ipid, src_be, 0, dst_be, 0,
				     proto);
	return (uint16_t)((uint16_t)(h >> 16) +
			  st->ip_id_ctr[h % NS_IP_ID_BUCKETS]++);
}

struct ns_stack *ns_stack_init(void *mem, size_t len,
			       const struct ns_config *c,
			       const struct nf_io_ops *io, uint64_t now_ns)
{
	struct layout l;
	struct ns_stack *st = mem;
	uint8_t *m = mem;
	uint32_t i, hs;

	if (!mem || !io || layout(c, &l) || len < l.total ||
	    ((uintptr_t)mem & 63) || !io->alloc || !io->free ||
	    !io->tx_burst)
		return NULL;
	if (io->buf_size < 128 || io->mtu < 576 - 0)
		return NULL;
	memset(st, 0, sizeof(*st));
	st->io = *io;
	st->cfg = *c;
	st->ip_be = c->ip_be;
	st->mask_be = c->prefix_len ? ns_htonl(~0u << (32 - c->prefix_len)) : 0;
	/* IPv6: the link-local address (ip6.c ns_ip6_ll_from_mac) */
	ns_ip6_ll_from_mac(io->mac, st->ll6);
	memcpy(st->ip6, c->ip6, 16);
	{
		static const uint8_t zero[16];
		st->has_ip6 = memcmp(c->ip6, zero, 16) != 0;
	}
	st->prefix6_len = c->prefix6_len > 128 ? 128 : c->prefix6_len;
	memset(st->nd, 0, sizeof(st->nd));
	st->gw_be = c->gw_be;
	memcpy(st->gw6, c->gw6, 16);
	{
		static const uint8_t none[16];
		st->has_gw6 = memcmp(c->gw6, none, 16) != 0;
	}
	st->now = now_ns;
	st->now_ms = (uint32_t)(now_ns / NS_MS);
	{
		/* one key from the secret per purpose */
		static const char tag[6] = { 'i', 'c', 't', 'p', 'r', 'd' };
		uint8_t *keys[6] = { st->key_isn, st->key_cookie, st->key_ts,
				     st->key_port, st->key_rng, st->key_ipid };
		uint8_t sec[16], zero[16] = { 0 };
		uint64_t x = c->seed;
		int k, j;
		memcpy(sec, c->secret, 16);
		if (!memcmp(sec, zero, 16)) /* tests: a secret from the seed */
			for (j = 0; j < 16; j += 8) {
				uint64_t r = splitmix(&x);
				memcpy(sec + j, &r, 8);
			}
		for (k = 0; k < 6; k++) {
			uint8_t m0[2] = { (uint8_t)tag[k], 0 },
				m1[2] = { (uint8_t)tag[k], 1 };
			uint64_t a = ns_siphash(sec, m0, 2),
				 b = ns_siphash(sec, m1, 2);
			memcpy(keys[k], &a, 8);
			memcpy(keys[k] + 8, &b, 8);
		}
	}
	{
		uint32_t room = io->buf_size;
		uint32_t l3 = io->mtu;
		if (room > 65535)
			room = 65535;
		if (l3 + NS_ETH_HLEN > room)
			l3 = room - NS_ETH_HLEN;
		st->hdr_room = (uint16_t)room;
		/* payload = L3 MTU - IP - TCP (+ options accounted per conn) */
		st->mss_max = (uint16_t)(l3 - NS_IP4_HLEN_MIN - NS_TCP_HLEN_MIN);
	}
	st->arp = (struct ns_arp_ent *)(m + l.arp);
	memset(st->arp, 0, sizeof(struct ns_arp_ent) * c->arp_entries);
	st->reass = (struct ns_reass *)(m + l.reass);
	memset(st->reass, 0, sizeof(struct ns_reass) * (c->reass_slots + 1));
	st->scratch = m + l.scratch;
	st->socks = (struct ns_sock *)(m + l.socks);
	memset(st->socks, 0, sizeof(struct ns_sock) * c->max_socks);
	hs = hash_size(c->max_socks);
	st->conn_hash = (uint32_t *)(m + l.chash);
	st->bind_hash = (uint32_t *)(m + l.bhash);
	st->conn_mask = hs - 1;
	st->bind_mask = hs - 1;
	for (i = 0; i < hs; i++)
		st->conn_hash[i] = st->bind_hash[i] = NS_NONE;
	for (i = 0; i < c->max_socks; i++) {
		struct ns_sock *so = &st->socks[i];
		so->hnext = i + 1 < c->max_socks ? i + 1 : NS_NONE;
		so->tcb.sb = m + l.sb + (size_t)i * c->sndbuf;
		so->tcb.rb = m + l.rb + (size_t)i * c->rcvbuf;
	}
	st->free_head = 0;
	st->act_head = st->chg_head = st->chg_tail = st->out_head = NS_NONE;
	st->timer_due = UINT64_MAX;
	st->aging_due = UINT64_MAX;
	/* instances sharing a secret draw different numbers */
	st->rng = (uint64_t)io->queue_id << 48;
	st->port_counter = (uint32_t)ns_rand(st);
	if (!c->no_garp && st->ip_be) {
		/* gratuitous ARP (RFC 5227 3): announce our address */
		ns_arp_send_request(st, st->ip_be, 1);
		ns_tx_flush(st);
	}
	if (!c->no_garp) {
		ns_nd_dad_start(st);
		ns_tx_flush(st);
	}
	return st;
}

void ns_stack_fini(struct ns_stack *st)
{
	uint32_t i;
	struct nf_buf *b, *n;

	if (!st)
		return;
	ns_tx_flush(st);
	for (i = 0; i < st->cfg.max_socks; i++) {
		struct ns_sock *so = &st->socks[i];
		if (so->type == NS_SOCK_UDP)
			ns_udp_flush(st, so);
	}
	for (b = st->arpq_head; b; b = n) {
		n = b->q_next;
		ns_buf_free(st, b);
	}
	st->arpq_head = st->arpq_tail = NULL;
	st->arpq_len = 0;
	ns_reass_fini(st);
	ns_nd_fini(st);
	/* whatever tx_burst refused was freed by ns_tx_flush */
}

const struct ns_counters *ns_stack_counters(const struct ns_stack *st)
{
	return &st->cnt;
}

struct nf_buf *ns_buf_alloc(struct ns_stack *st)
{
	struct nf_buf *b = st->io.alloc(st->io.q);
	if (!b) {
		NS_CNT(st, drop_tx_nobuf);
		return NULL;
	}
	b->len = b->pkt_len = 0;
	b->ol_flags = 0;
	b->seg_next = b->q_next = NULL;
	b->user = 0;
	return b;
}

void ns_buf_free(struct ns_stack *st, struct nf_buf *b)
{
	while (b) {
		struct nf_buf *n = b->seg_next;
		b->seg_next = NULL;
		st->io.free(st->io.q, b);
		b = n;
	}
}

void ns_tx_flush(struct ns_stack *st)
{
	uint16_t sent, i;

	if (!st->txn)
		return;
	sent = st->io.tx_burst(st->io.q, st->txq, st->txn);
	if (sent > st->txn)
		sent = st->txn;
	st->cnt.tx_frames += sent;
	for (i = sent; i < st->txn; i++) {
		NS_CNT(st, drop_tx_full);
		ns_buf_free(st, st->txq[i]);
	}
	st->txn = 0;
}

void ns_tx(struct ns_stack *st, struct nf_buf *b)
{
	st->cnt.tx_bytes += b->pkt_len;
	st->txq[st->txn++] = b;
	if (st->txn == NS_TX_BATCH)
		ns_tx_flush(st);
}

void ns_timer_note(struct ns_stack *st, uint64_t deadline)
{
	if (deadline && deadline < st->timer_due)
		st->timer_due = deadline;
}

static void run_timers(struct ns_stack *st)
{
	uint32_t i, next;

	st->timer_due = UINT64_MAX;
	for (i = st->act_head; i != NS_NONE; i = next) {
		struct ns_sock *so = &st->socks[i];
		next = so->act_next;
		if (so->tcb.t_next && so->tcb.t_next <= st->now) {
			ns_tcp_timers(st, so);
			/* so may be gone; a freed socket is off the list */
			if (so->type == NS_SOCK_TCP && (so->sf & SF_ACTIVE))
				ns_timer_note(st, so->tcb.t_next);
		} else {
			ns_timer_note(st, so->tcb.t_next);
		}
	}
}

void ns_api_end(struct ns_stack *st)
{
	if (st->in_api)
		return;
	ns_sock_run_output(st);
	ns_tx_flush(st);
}

void ns_stack_set_steer_cb(struct ns_stack *st, ns_foreign_fn foreign,
			   ns_neigh_fn neigh, void *arg)
{
	st->foreign_fn = foreign;
	st->neigh_fn = neigh;
	st->steer_arg = arg;
}

/* A segment or datagram no socket here wants: does another instance
 * take the frame? (stack.h) 1 if it was taken. */
int ns_steer_foreign(struct ns_stack *st, struct nf_buf *b)
{
	uint8_t *data = b->data;
	uint32_t len = b->len, pkt_len = b->pkt_len;

	if (!st->foreign_fn || b->seg_next || !st->rx_frame_data)
		return 0;
	b->data = st->rx_frame_data;
	b->len = st->rx_frame_len;
	b->pkt_len = st->rx_frame_pkt_len;
	if (st->foreign_fn(st->steer_arg, st, b)) {
		NS_CNT(st, rx_steered_out);
		return 1;
	}
	b->data = data; /* not taken: the caller goes on with it */
	b->len = len;
	b->pkt_len = pkt_len;
	return 0;
}

void ns_stack_set_event_cb(struct ns_stack *st, ns_event_fn fn, void *arg)
{
	st->event_fn = fn;
	st->event_arg = arg;
}

static void run_callbacks(struct ns_stack *st)
{
	int sds[32], n, i, rounds;

	/* bounded: callbacks may make more sockets change */
	for (rounds = 0; rounds < 64; rounds++) {
		n = ns_stack_changed(st, sds, 32);
		if (n == 0)
			break;
		for (i = 0; i < n && st->event_fn; i++)
			st->event_fn(st->event_arg, st, sds[i],
				     ns_sock_events(st, sds[i]));
	}
}

uint64_t ns_stack_poll(struct ns_stack *st, struct nf_buf **bufs, uint16_t n,
		       uint64_t now_ns)
{
	uint16_t i;
	uint64_t d;

	if (now_ns > st->now) {
		st->now = now_ns;
		st->now_ms = (uint32_t)(now_ns / NS_MS);
	}
	st->in_api++;
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			__builtin_prefetch(bufs[i + 1]->data);
		st->cnt.rx_frames++;
		st->cnt.rx_bytes += bufs[i]->pkt_len;
		st->rx_frame_data = bufs[i]->data;
		st->rx_frame_len = bufs[i]->len;
		st->rx_frame_pkt_len = bufs[i]->pkt_len;
		ns_eth_input(st, bufs[i]);
	}
	if (st->now >= st->timer_due)
		run_timers(st);
	if (st->now >= st->aging_due) {
		st->aging_due = UINT64_MAX;
		ns_arp_age(st);
		ns_nd_age(st);
		ns_reass_age(st);
	}
	ns_sock_run_output(st);
	st->in_api--;
	ns_tx_flush(st);
	if (st->event_fn)
		run_callbacks(st);
	d = st->timer_due;
	if (st->aging_due < d)
		d = st->aging_due;
	return d;
}

uint64_t ns_stack_deadline(const struct ns_stack *st)
{
	return st->timer_due < st->aging_due ? st->timer_due : st->aging_due;
}

uint64_t ns_stack_rx_poll(struct ns_stack *st, uint64_t now_ns)
{
	struct nf_buf *bufs[NS_TX_BATCH];
	uint16_t n = 0;

	if (st->io.rx_burst)
		n = st->io.rx_burst(st->io.q, bufs, NS_TX_BATCH);
	return ns_stack_poll(st, bufs, n, now_ns);
}
