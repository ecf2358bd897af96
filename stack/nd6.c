/*
 * nd6.c: Neighbor Discovery (RFC 4861) for our IPv6 addresses: the
 * neighbour cache (INCOMPLETE with one waiting frame, REACHABLE, STALE),
 * answers to solicitations for our addresses (NA with our MAC), learning
 * from solicitations and advertisements, and our own solicitations to a
 * neighbour's solicited-node group, retransmitted NS_ND_RETRIES times.
 * Every ND message must come with hop limit 255 (7.1.1: nothing off-link
 * can forge it) and pass the other 7.1 checks; what fails is counted
 * (drop_nd_bad). A solicitation from :: for one of our addresses is
 * another node's duplicate address detection: it is answered to all
 * nodes, and counted (nd_dad_conflict) when an advertisement claims our
 * address. With several instances (one per queue), each keeps its own
 * cache; a solicited advertisement that reaches an instance without the
 * entry is handed on to the others (stack.c ns_steer_foreign), since a
 * device steers it by its own addresses, not those of the solicitation.
 * Called by icmp6.c and ip6.c; calls ip6.c and eth.c.
 */
#include "stack/ns_priv.h"

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };

/* neighbour states (RFC 4861 7.3.2); 0 is a free entry */
enum { ND_INCOMPLETE = 1, ND_REACHABLE, ND_STALE, ND_DELAY, ND_PROBE };

static struct ns_nd_ent *nd_find(struct ns_stack *st, const uint8_t *ip6)
{
	unsigned i;
	for (i = 0; i < NS_ND_ENTRIES; i++)
		if (st->nd[i].state && memcmp(st->nd[i].ip6, ip6, 16) == 0)
			return &st->nd[i];
	return NULL;
}

static void pending_free(struct ns_stack *st, struct ns_nd_ent *e)
{
	struct nf_buf *b, *n;
	for (b = e->pending; b; b = n) {
		n = b->q_next;
		b->q_next = NULL;
		ns_buf_free(st, b);
	}
	e->pending = NULL;
	e->npending = 0;
}

/* a free entry, else the STALE/REACHABLE one that expires first */
static struct ns_nd_ent *nd_new(struct ns_stack *st, const uint8_t *ip6)
{
	struct ns_nd_ent *victim = NULL;
	unsigned i;
	for (i = 0; i < NS_ND_ENTRIES; i++) {
		struct ns_nd_ent *e = &st->nd[i];
		if (!e->state) {
			victim = e;
			break;
		}
		if (e->state != ND_INCOMPLETE &&
		    (!victim || e->expire_ns < victim->expire_ns))
			victim = e;
	}
	if (!victim)
		return NULL;
	pending_free(st, victim);
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->ip6, ip6, 16);
	return victim;
}

/* the frames that waited for e's MAC, in the order they came */
static void send_to(struct ns_stack *st, struct ns_nd_ent *e)
{
	struct nf_buf *b = e->pending, *n;
	e->pending = NULL;
	e->npending = 0;
	for (; b; b = n) {
		n = b->q_next;
		b->q_next = NULL;
		ns_eth_fill(st, b, e->mac, NS_ETHERTYPE_IP6);
		ns_tx(st, b);
	}
}

/* ip6 is at mac: the entry (made if there is none and create),
 * REACHABLE or STALE; what waited for it goes out. Or NULL. */
static struct ns_nd_ent *nd_set(struct ns_stack *st, const uint8_t *ip6,
				const uint8_t *mac, int create, int reachable)
{
	struct ns_nd_ent *e = nd_find(st, ip6);
	if (!e && !create)
		return NULL;
	if (!e && !(e = nd_new(st, ip6)))
		return NULL;
	memcpy(e->mac, mac, 6);
	e->state = reachable ? ND_REACHABLE : ND_STALE;
	e->tries = 0;
	e->expire_ns = st->now + NS_ND_REACHABLE_NS;
	send_to(st, e);
	return e;
}

/* learnt from the wire: a reachable neighbour is told to the other
 * instances too (an answer may land on any queue; stack.h, neigh) */
static void nd_learn(struct ns_stack *st, const uint8_t *ip6,
		     const uint8_t *mac, int create, int reachable)
{
	if (nd_set(st, ip6, mac, create, reachable) && reachable &&
	    st->neigh_fn)
		st->neigh_fn(st->steer_arg, st, ip6, mac);
}

void ns_nd_learn_shared(struct ns_stack *st, const uint8_t *ip6,
			const uint8_t mac[6])
{
	if (mac[0] & 1)
		return;
	st->in_api++;
	if (nd_set(st, ip6, mac, 1, 1))
		NS_CNT(st, arp_shared_in);
	st->in_api--;
	ns_tx_flush(st);
}

int ns_nd_lookup(struct ns_stack *st, const uint8_t *ip6, uint8_t mac[6])
{
	struct ns_nd_ent *e = nd_find(st, ip6);
	if (!e || e->state == ND_INCOMPLETE)
		return -1;
	memcpy(mac, e->mac, 6);
	return 0;
}

/* the link-layer address option of type t in an ND message's options
 * [p, p + len): 0 and *mac, 1 none, -1 malformed (a zero length) */
static int opt_lla(const uint8_t *p, uint32_t len, uint8_t t,
		   const uint8_t **mac)
{
	int found = 1;
	while (len >= 2) {
		uint32_t ol = 8u * p[1];
		if (ol == 0 || ol > len)
			return -1;
		if (p[0] == t && ol >= 8) {
			*mac = p + 2;
			found = 0;
		}
		p += ol;
		len -= ol;
	}
	return found;
}

/* an NA (solicited: to the asker; else to all nodes) or an NS (target) */
static void nd_send(struct ns_stack *st, uint8_t type, const uint8_t *src,
		    const uint8_t *dst, const uint8_t *target, uint32_t flags)
{
	static const uint8_t zero[16];
	struct nf_buf *b = ns_buf_alloc(st);
	struct ns_nd_msg *m;
	uint8_t *opt;
	/* a DAD probe (from ::) carries no link-layer address (7.1.1) */
	int dad = memcmp(src, zero, 16) == 0;
	uint32_t len = sizeof(*m) + (dad ? 0 : 8), sum;
	if (!b)
		return;
	m = (struct ns_nd_msg *)(b->data + NS_ETH_HLEN + NS_IP6_HLEN);
	memset(m, 0, len);
	m->h.type = type;
	m->h.word_be = ns_htonl(flags);
	memcpy(m->target, target, 16);
	opt = (uint8_t *)(m + 1);
	if (!dad) {
		opt[0] = type == NS_ND_NEIGHBOR_ADVERT ? NS_ND_OPT_TLLA :
							 NS_ND_OPT_SLLA;
		opt[1] = 1;
		memcpy(opt + 2, st->io.mac, 6);
	}
	sum = ns_cksum_pseudo6(src, dst, NS_IP6_NH_ICMP6, len);
	sum = ns_cksum_add(sum, m, len);
	m->h.cksum_be = ns_cksum_fold(sum);
	if (type == NS_ND_NEIGHBOR_ADVERT)
		NS_CNT(st, nd_na_sent);
	else
		NS_CNT(st, nd_ns_sent);
	(void)ns_ip6_output(st, b, src, dst, NS_IP6_NH_ICMP6, (uint16_t)len,
			    NS_ND_HOP_LIMIT);
}

/* an NS for target to its solicited-node group, from src */
static void solicit_from(struct ns_stack *st, const uint8_t *src,
			 const uint8_t *target)
{
	uint8_t sn[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	memcpy(sn + 13, target + 13, 3);
	nd_send(st, NS_ND_NEIGHBOR_SOLICIT, src, sn, target, 0);
}

static void solicit(struct ns_stack *st, const uint8_t *target)
{
	solicit_from(st, ns_ip6_src_for(st, target), target);
}

void ns_nd_dad_start(struct ns_stack *st)
{
	static const uint8_t zero[16];
	/* RFC 4862 5.4 with RFC 4429's optimistic addresses: one probe for
	 * each address (DupAddrDetectTransmits 1), usable at once; a
	 * conflict within RetransTimer takes the global one out of use */
	solicit_from(st, zero, st->ll6);
	if (st->has_ip6)
		solicit_from(st, zero, st->ip6);
	st->dad_until = st->now + NS_ND_RETRANS_NS;
}

/* another node has target, one of our addresses, while we probe it */
static void dad_failed(struct ns_stack *st, const uint8_t *target)
{
	NS_CNT(st, nd_dad_failed);
	if (st->has_ip6 && memcmp(target, st->ip6, 16) == 0)
		st->has_ip6 = 0; /* the link-local one stays: one link */
}

/* RFC 4861 7.1.1/7.1.2 checks common to NS and NA; the target */
static const uint8_t *nd_valid(struct ns_stack *st, struct nf_buf *b,
			       const struct ns_ip6_info *ii)
{
	const struct ns_nd_msg *m =
		(const struct ns_nd_msg *)(b->data + ii->l4off);
	if (ii->hlim != NS_ND_HOP_LIMIT || m->h.code != 0 ||
	    ii->l4len < sizeof(*m) || m->target[0] == 0xff) {
		NS_CNT(st, drop_nd_bad);
		return NULL;
	}
	return m->target;
}

void ns_nd_input_ns(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *ii)
{
	static const uint8_t zero[16];
	const uint8_t *target = nd_valid(st, b, ii), *mac = NULL;
	const uint8_t *opts = b->data + ii->l4off + sizeof(struct ns_nd_msg);
	int dad = memcmp(ii->src, zero, 16) == 0, r;

	if (!target)
		goto drop;
	r = opt_lla(opts, ii->l4len - (uint32_t)sizeof(struct ns_nd_msg),
		    NS_ND_OPT_SLLA, &mac);
	/* 7.1.1: a DAD probe (from ::) goes to a solicited-node group and
	 * carries no source link-layer address */
	if (r < 0 || (dad && (r == 0 || ii->dst[0] != 0xff))) {
		NS_CNT(st, drop_nd_bad);
		goto drop;
	}
	if (!ns_ip6_is_ours(st, target)) {
		NS_CNT(st, drop_nd_target);
		goto drop;
	}
	if (dad && st->now < st->dad_until) {
		/* RFC 4862 5.4.3: another node probes the address we are
		 * probing: a duplicate */
		dad_failed(st, target);
		goto drop;
	}
	if (dad) { /* 7.2.4: answer all nodes, not solicited */
		nd_send(st, NS_ND_NEIGHBOR_ADVERT, target, all_nodes, target,
			NS_ND_NA_OVERRIDE);
		goto drop;
	}
	if (r == 0) /* 7.2.3: the asker's address, as STALE */
		nd_learn(st, ii->src, mac, 1, 0);
	nd_send(st, NS_ND_NEIGHBOR_ADVERT, target, ii->src, target,
		NS_ND_NA_SOLICITED | NS_ND_NA_OVERRIDE);
drop:
	ns_buf_free(st, b);
}

void ns_nd_input_na(struct ns_stack *st, struct nf_buf *b,
		    const struct ns_ip6_info *ii)
{
	const uint8_t *target = nd_valid(st, b, ii), *mac = NULL;
	const uint8_t *opts = b->data + ii->l4off + sizeof(struct ns_nd_msg);
	uint32_t flags;
	int r;

	if (!target)
		goto drop;
	flags = ns_ntohl(((const struct ns_nd_msg *)(b->data + ii->l4off))->
			 h.word_be);
	r = opt_lla(opts, ii->l4len - (uint32_t)sizeof(struct ns_nd_msg),
		    NS_ND_OPT_TLLA, &mac);
	/* 7.1.2: solicited advertisements are never sent to a group */
	if (r < 0 || ((flags & NS_ND_NA_SOLICITED) && ii->dst[0] == 0xff)) {
		NS_CNT(st, drop_nd_bad);
		goto drop;
	}
	if (ns_ip6_is_ours(st, target)) { /* someone else claims it */
		NS_CNT(st, nd_dad_conflict);
		if (st->now < st->dad_until)
			dad_failed(st, target); /* RFC 4862 5.4.4 */
		goto drop;
	}
	/* an answer to another instance's solicitation (the device put it
	 * on our queue: its addresses are not the solicitation's) goes on
	 * to the others; the one that asked has the entry */
	if (!nd_find(st, target) && (flags & NS_ND_NA_SOLICITED) &&
	    ns_steer_foreign(st, b))
		return;
	/* 7.2.5: only an entry we have; without a link-layer address an
	 * advertisement tells nothing we can use */
	if (r == 0)
		nd_learn(st, target, mac, 0,
			 (flags & NS_ND_NA_SOLICITED) != 0);
drop:
	ns_buf_free(st, b);
}

void ns_nd_output(struct ns_stack *st, struct nf_buf *b, const uint8_t *nh)
{
	struct ns_nd_ent *e = nd_find(st, nh);

	if (e && e->state != ND_INCOMPLETE) {
		/* RFC 4861 7.3.3: REACHABLE turns STALE after ReachableTime;
		 * a STALE entry used waits DELAY_FIRST_PROBE_TIME, then is
		 * probed (nd_age) */
		if (e->state == ND_REACHABLE && st->now >= e->expire_ns)
			e->state = ND_STALE;
		if (e->state == ND_STALE) {
			e->state = ND_DELAY;
			e->expire_ns = st->now + NS_ND_DELAY_NS;
			ns_aging_at(st, e->expire_ns);
		}
		ns_eth_fill(st, b, e->mac, NS_ETHERTYPE_IP6);
		ns_tx(st, b);
		return;
	}
	if (!e) {
		e = nd_new(st, nh);
		if (!e) {
			NS_CNT(st, drop_nd_queue);
			ns_buf_free(st, b);
			return;
		}
		e->state = ND_INCOMPLETE;
		e->tries = 1;
		e->expire_ns = st->now + NS_ND_RETRANS_NS;
		ns_aging_at(st, e->expire_ns);
		solicit(st, nh);
	}
	if (e->npending >= NS_ND_QUEUE) { /* 7.2.2: the oldest gives way */
		struct nf_buf *old = e->pending;
		NS_CNT(st, drop_nd_queue);
		e->pending = old->q_next;
		old->q_next = NULL;
		ns_buf_free(st, old);
		e->npending--;
	}
	b->q_next = NULL;
	if (e->pending) {
		struct nf_buf *t = e->pending;
		while (t->q_next)
			t = t->q_next;
		t->q_next = b;
	} else {
		e->pending = b;
	}
	e->npending++;
}

void ns_nd_age(struct ns_stack *st)
{
	unsigned i;
	for (i = 0; i < NS_ND_ENTRIES; i++) {
		struct ns_nd_ent *e = &st->nd[i];
		if (e->state != ND_INCOMPLETE && e->state != ND_DELAY &&
		    e->state != ND_PROBE)
			continue;
		if (st->now < e->expire_ns) {
			ns_aging_at(st, e->expire_ns);
			continue;
		}
		if (e->state == ND_DELAY) { /* 7.3.3: on to unicast probes */
			e->state = ND_PROBE;
			e->tries = 0;
		}
		if (e->tries >= NS_ND_RETRIES) { /* unreachable */
			st->cnt.drop_nd_queue += e->npending;
			if (e->state == ND_PROBE)
				NS_CNT(st, nd_unreachable);
			pending_free(st, e);
			memset(e, 0, sizeof(*e));
			continue;
		}
		e->tries++;
		e->expire_ns = st->now + NS_ND_RETRANS_NS;
		ns_aging_at(st, e->expire_ns);
		if (e->state == ND_PROBE) /* to its cached address */
			nd_send(st, NS_ND_NEIGHBOR_SOLICIT,
				ns_ip6_src_for(st, e->ip6), e->ip6, e->ip6, 0);
		else
			solicit(st, e->ip6);
	}
}

void ns_nd_fini(struct ns_stack *st)
{
	unsigned i;
	for (i = 0; i < NS_ND_ENTRIES; i++)
		pending_free(st, &st->nd[i]);
}
