/*
 * eth.c: Ethernet II (input demultiplexing, output framing) and ARP
 * (RFC 826): the neighbour table with timeouts, a bounded queue of frames
 * waiting for resolution, replies, and the gratuitous ARP sent at start
 * (RFC 5227 3). Called by stack.c (input, aging) and ip4.c (output);
 * calls ip4.c for IPv4 frames.
 */
#include "stack/ns_priv.h"

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void ns_eth_input(struct ns_stack *st, struct nf_buf *b)
{
	const struct ns_eth_hdr *eh;
	uint16_t type;

	if (b->len < NS_ETH_HLEN) {
		NS_CNT(st, drop_eth_short);
		goto drop;
	}
	eh = (const struct ns_eth_hdr *)b->data;
	type = ns_ntohs(eh->type_be);
	/* ours, broadcast, or IPv6 multicast (33:33 + the group's low 32
	 * bits, RFC 2464 7; ip6.c checks the group) */
	if (memcmp(eh->dst, st->io.mac, 6) != 0 &&
	    memcmp(eh->dst, bcast_mac, 6) != 0 &&
	    !(eh->dst[0] == 0x33 && eh->dst[1] == 0x33 &&
	      type == NS_ETHERTYPE_IP6)) {
		NS_CNT(st, drop_eth_dst);
		goto drop;
	}
	if (type == NS_ETHERTYPE_IP4) {
		ns_ip_input(st, b);
		return;
	}
	if (type == NS_ETHERTYPE_IP6) {
		ns_ip6_input(st, b);
		return;
	}
	if (type == NS_ETHERTYPE_ARP) {
		ns_arp_input(st, b);
		return;
	}
	NS_CNT(st, drop_eth_type);
drop:
	ns_buf_free(st, b);
}

static struct ns_arp_ent *arp_find(struct ns_stack *st, uint32_t ip_be)
{
	uint32_t i;
	for (i = 0; i < st->cfg.arp_entries; i++)
		if (st->arp[i].state && st->arp[i].ip_be == ip_be)
			return &st->arp[i];
	return NULL;
}

/* a free entry, else the resolved one that expires first */
static struct ns_arp_ent *arp_new(struct ns_stack *st, uint32_t ip_be)
{
	struct ns_arp_ent *victim = NULL;
	uint32_t i;

	for (i = 0; i < st->cfg.arp_entries; i++) {
		struct ns_arp_ent *e = &st->arp[i];
		if (!e->state) {
			victim = e;
			break;
		}
		if (e->state == 2 && (!victim || e->expire_ns < victim->expire_ns))
			victim = e;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->ip_be = ip_be;
	return victim;
}

void ns_eth_fill(struct ns_stack *st, struct nf_buf *b, const uint8_t *dst,
		 uint16_t type)
{
	struct ns_eth_hdr *eh = (struct ns_eth_hdr *)b->data;
	memcpy(eh->dst, dst, 6);
	memcpy(eh->src, st->io.mac, 6);
	eh->type_be = ns_htons(type);
}

void ns_arp_send_request(struct ns_stack *st, uint32_t tpa_be, int garp)
{
	struct nf_buf *b = ns_buf_alloc(st);
	struct ns_arp_hdr *ah;

	if (!b)
		return;
	ns_eth_fill(st, b, bcast_mac, NS_ETHERTYPE_ARP);
	ah = (struct ns_arp_hdr *)(b->data + NS_ETH_HLEN);
	ah->htype_be = ns_htons(NS_ARP_HTYPE_ETH);
	ah->ptype_be = ns_htons(NS_ETHERTYPE_IP4);
	ah->hlen = 6;
	ah->plen = 4;
	ah->op_be = ns_htons(NS_ARP_OP_REQUEST);
	memcpy(ah->sha, st->io.mac, 6);
	ah->spa_be = st->ip_be;
	memset(ah->tha, 0, 6);
	ah->tpa_be = garp ? st->ip_be : tpa_be;
	b->len = b->pkt_len = 60; /* minimum frame without FCS */
	memset(b->data + NS_ETH_HLEN + NS_ARP_LEN, 0,
	       60 - NS_ETH_HLEN - NS_ARP_LEN);
	NS_CNT(st, arp_requests_sent);
	ns_tx(st, b);
}

static void arpq_flush(struct ns_stack *st, const struct ns_arp_ent *e)
{
	struct nf_buf **pp = &st->arpq_head, *b;

	st->arpq_tail = NULL;
	while ((b = *pp) != NULL) {
		if ((uint32_t)b->user == e->ip_be) {
			*pp = b->q_next;
			b->q_next = NULL;
			st->arpq_len--;
			ns_eth_fill(st, b, e->mac, NS_ETHERTYPE_IP4);
			ns_tx(st, b);
		} else {
			st->arpq_tail = b;
			pp = &b->q_next;
		}
	}
}

static void arpq_drop(struct ns_stack *st, uint32_t ip_be)
{
	struct nf_buf **pp = &st->arpq_head, *b;

	st->arpq_tail = NULL;
	while ((b = *pp) != NULL) {
		if ((uint32_t)b->user == ip_be) {
			*pp = b->q_next;
			b->q_next = NULL;
			st->arpq_len--;
			NS_CNT(st, drop_arp_noreply);
			ns_buf_free(st, b);
		} else {
			st->arpq_tail = b;
			pp = &b->q_next;
		}
	}
}

static void arp_resolved(struct ns_stack *st, struct ns_arp_ent *e,
			 const uint8_t *mac)
{
	memcpy(e->mac, mac, 6);
	e->state = 2;
	e->tries = 0;
	e->expire_ns = st->now + NS_ARP_TIMEOUT_NS;
	arpq_flush(st, e);
}

/* learnt from the wire: the other instances learn it too (stack.h) */
static void arp_learnt(struct ns_stack *st, struct ns_arp_ent *e,
		       const uint8_t *mac)
{
	arp_resolved(st, e, mac);
	if (st->neigh_fn) {
		union ns_in46 a;
		ns_in46_set4(&a, e->ip_be);
		st->neigh_fn(st->steer_arg, st, a.b, mac);
	}
}

void ns_neigh_learn(struct ns_stack *st, const uint8_t ip[16],
		    const uint8_t mac[6])
{
	union ns_in46 a;
	memcpy(a.b, ip, 16);
	if (ns_in46_is4(&a))
		ns_arp_learn(st, a.a4, mac);
	else
		ns_nd_learn_shared(st, ip, mac);
}

void ns_arp_learn(struct ns_stack *st, uint32_t ip_be, const uint8_t mac[6])
{
	struct ns_arp_ent *e;

	if (!ip_be || ip_be == st->ip_be || (mac[0] & 1))
		return;
	e = arp_find(st, ip_be);
	if (!e)
		e = arp_new(st, ip_be);
	if (!e)
		return;
	st->in_api++;
	arp_resolved(st, e, mac);
	NS_CNT(st, arp_shared_in);
	st->in_api--;
	ns_tx_flush(st);
}

void ns_arp_input(struct ns_stack *st, struct nf_buf *b)
{
	struct ns_arp_hdr *ah;
	struct ns_eth_hdr *eh;
	struct ns_arp_ent *e;
	uint16_t op;
	int merged = 0;

	if (b->len < NS_ETH_HLEN + NS_ARP_LEN) {
		NS_CNT(st, drop_arp_bad);
		goto drop;
	}
	ah = (struct ns_arp_hdr *)(b->data + NS_ETH_HLEN);
	op = ns_ntohs(ah->op_be);
	if (ns_ntohs(ah->htype_be) != NS_ARP_HTYPE_ETH ||
	    ns_ntohs(ah->ptype_be) != NS_ETHERTYPE_IP4 || ah->hlen != 6 ||
	    ah->plen != 4 || (op != NS_ARP_OP_REQUEST && op != NS_ARP_OP_REPLY) ||
	    (ah->sha[0] & 1)) {
		NS_CNT(st, drop_arp_bad);
		goto drop;
	}
	if (ah->spa_be == st->ip_be && ah->spa_be) {
		/* someone else claims our address; nothing to learn */
		NS_CNT(st, drop_arp_other);
		goto drop;
	}
	/* RFC 826 "Packet Reception": merge if we know the sender */
	if (ah->spa_be && (e = arp_find(st, ah->spa_be)) != NULL) {
		arp_learnt(st, e, ah->sha);
		merged = 1;
	}
	if (ah->tpa_be != st->ip_be || !st->ip_be) {
		if (!merged)
			NS_CNT(st, drop_arp_other);
		goto drop;
	}
	if (!merged && ah->spa_be && (e = arp_new(st, ah->spa_be)) != NULL)
		arp_learnt(st, e, ah->sha);
	if (op != NS_ARP_OP_REQUEST)
		goto drop;
	/* reply in place */
	ah->op_be = ns_htons(NS_ARP_OP_REPLY);
	memcpy(ah->tha, ah->sha, 6);
	ah->tpa_be = ah->spa_be;
	memcpy(ah->sha, st->io.mac, 6);
	ah->spa_be = st->ip_be;
	eh = (struct ns_eth_hdr *)b->data;
	memcpy(eh->dst, ah->tha, 6);
	memcpy(eh->src, st->io.mac, 6);
	b->len = b->pkt_len = NS_ETH_HLEN + NS_ARP_LEN;
	b->ol_flags = 0;
	NS_CNT(st, arp_replies_sent);
	ns_tx(st, b);
	return;
drop:
	ns_buf_free(st, b);
}

int ns_arp_lookup(struct ns_stack *st, uint32_t ip_be, uint8_t mac[6])
{
	struct ns_arp_ent *e = arp_find(st, ip_be);
	if (!e || e->state != 2)
		return -1;
	memcpy(mac, e->mac, 6);
	return 0;
}

void ns_aging_at(struct ns_stack *st, uint64_t t)
{
	if (t < st->aging_due)
		st->aging_due = t;
}

static void arp_aging_at(struct ns_stack *st, uint64_t t)
{
	if (t < st->aging_due)
		st->aging_due = t;
}

void ns_eth_output(struct ns_stack *st, struct nf_buf *b, uint32_t nh_be)
{
	struct ns_arp_ent *e;

	if (nh_be == 0xffffffffu ||
	    (st->mask_be != 0xffffffffu &&
	     nh_be == ((st->ip_be & st->mask_be) | ~st->mask_be))) {
		ns_eth_fill(st, b, bcast_mac, NS_ETHERTYPE_IP4);
		ns_tx(st, b);
		return;
	}
	e = arp_find(st, nh_be);
	if (e && e->state == 2) {
		if (st->now >= e->expire_ns) {
			/* stale: keep using it while we re-ask */
			if (e->tries++ >= NS_ARP_RETRIES) {
				e->state = 1;
				e->tries = 1;
				e->expire_ns = st->now + NS_ARP_RETRY_NS;
				arp_aging_at(st, e->expire_ns);
				ns_arp_send_request(st, nh_be, 0);
				goto queue;
			}
			e->expire_ns = st->now + NS_ARP_RETRY_NS;
			ns_arp_send_request(st, nh_be, 0);
		}
		ns_eth_fill(st, b, e->mac, NS_ETHERTYPE_IP4);
		ns_tx(st, b);
		return;
	}
	if (!e) {
		e = arp_new(st, nh_be);
		if (!e) {
			NS_CNT(st, drop_arp_queue_full);
			ns_buf_free(st, b);
			return;
		}
		e->state = 1;
		e->tries = 1;
		e->expire_ns = st->now + NS_ARP_RETRY_NS;
		arp_aging_at(st, e->expire_ns);
		ns_arp_send_request(st, nh_be, 0);
	}
queue:
	if (st->arpq_len >= st->cfg.arp_queue) {
		NS_CNT(st, drop_arp_queue_full);
		ns_buf_free(st, b);
		return;
	}
	b->user = nh_be;
	b->q_next = NULL;
	if (st->arpq_tail)
		st->arpq_tail->q_next = b;
	else
		st->arpq_head = b;
	st->arpq_tail = b;
	st->arpq_len++;
}

void ns_arp_age(struct ns_stack *st)
{
	uint32_t i;

	for (i = 0; i < st->cfg.arp_entries; i++) {
		struct ns_arp_ent *e = &st->arp[i];
		if (e->state != 1)
			continue;
		if (st->now >= e->expire_ns) {
			if (e->tries >= NS_ARP_RETRIES) {
				arpq_drop(st, e->ip_be);
				e->state = 0;
				continue;
			}
			e->tries++;
			e->expire_ns = st->now + NS_ARP_RETRY_NS;
			ns_arp_send_request(st, e->ip_be, 0);
		}
		arp_aging_at(st, e->expire_ns);
	}
}
