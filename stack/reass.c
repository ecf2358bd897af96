/*
 * reass.c: IP reassembly for both families (RFC 791 3.2, RFC 815; IPv6:
 * RFC 8200 4.5): fragments held per datagram, sorted by offset, in a
 * fixed number of slots and bytes (ns_config.reass_slots / reass_bytes,
 * the oldest datagram giving way when every slot is busy); any overlap
 * drops the whole datagram (RFC 5722, and the same for IPv4); a datagram
 * past 65535 bytes, more than NS_REASS_MAX_FRAGS fragments or one not
 * complete within NS_REASS_TIMEOUT_NS is dropped, counted. Called by
 * ip4.c and ip6.c.
 */
#include "stack/ns_priv.h"

static void reass_free(struct ns_stack *st, struct ns_reass *r)
{
	struct nf_buf *f, *n;

	for (f = r->frags; f; f = n) {
		n = f->q_next;
		f->q_next = NULL;
		ns_buf_free(st, f);
	}
	st->reass_used -= r->have;
	memset(r, 0, sizeof(*r));
}

void ns_reass_fini(struct ns_stack *st)
{
	uint32_t i;
	for (i = 0; i < st->cfg.reass_slots; i++)
		if (st->reass[i].in_use)
			reass_free(st, &st->reass[i]);
}

void ns_reass_age(struct ns_stack *st)
{
	uint32_t i;

	for (i = 0; i < st->cfg.reass_slots; i++) {
		struct ns_reass *r = &st->reass[i];
		if (!r->in_use)
			continue;
		if (st->now >= r->expire_ns) {
			NS_CNT(st, drop_frag_timeout);
			reass_free(st, r);
		} else if (r->expire_ns < st->aging_due) {
			st->aging_due = r->expire_ns;
		}
	}
}

static int key_eq(const struct ns_reass_key *a, const struct ns_reass_key *b)
{
	return a->id == b->id && a->proto == b->proto && a->v6 == b->v6 &&
	       ns_in46_eq(&a->src, &b->src) && ns_in46_eq(&a->dst, &b->dst);
}

struct nf_buf *ns_reass_add(struct ns_stack *st, struct nf_buf *b,
			    const struct ns_reass_key *k, uint32_t off,
			    uint32_t plen, int mf, uint16_t hlen,
			    uint16_t *hlen_out)
{
	uint32_t end = off + plen;
	struct ns_reass *r = NULL, *fr = NULL;
	struct nf_buf **pp, *f;
	uint32_t i;

	if (plen == 0 || (mf && (plen & 7))) {
		NS_CNT(st, drop_ip_len);
		goto drop;
	}
	if (end + (k->v6 ? 0 : hlen) > 65535) {
		/* RFC 791 / RFC 8200 4.5: at most 65535 bytes */
		NS_CNT(st, drop_frag_too_big);
		goto drop;
	}
	for (i = 0; i < st->cfg.reass_slots; i++) {
		struct ns_reass *s = &st->reass[i];
		if (!s->in_use) {
			if (!fr)
				fr = s;
			continue;
		}
		if (key_eq(&s->k, k)) {
			r = s;
			break;
		}
	}
	if (!r) {
		if (!fr) {
			/* every slot busy: the oldest datagram gives way, so
			 * stale fragments cannot block reassembly for the
			 * whole timeout */
			struct ns_reass *old = NULL;
			for (i = 0; i < st->cfg.reass_slots; i++)
				if (!old || st->reass[i].expire_ns < old->expire_ns)
					old = &st->reass[i];
			if (!old) {
				NS_CNT(st, drop_frag_nomem);
				goto drop;
			}
			NS_CNT(st, drop_frag_nomem);
			reass_free(st, old);
			fr = old;
		}
		r = fr;
		r->in_use = 1;
		r->k = *k;
		r->expire_ns = st->now + NS_REASS_TIMEOUT_NS;
		if (r->expire_ns < st->aging_due)
			st->aging_due = r->expire_ns;
	}
	if (st->reass_used + plen > st->cfg.reass_bytes ||
	    r->nfrags >= NS_REASS_MAX_FRAGS) {
		NS_CNT(st, drop_frag_nomem);
		reass_free(st, r);
		goto drop;
	}
	if ((r->total && end > r->total) ||
	    (!mf && r->total && end != r->total)) {
		NS_CNT(st, drop_frag_overlap);
		reass_free(st, r);
		goto drop;
	}
	/* find the insertion point; any overlap kills the datagram */
	for (pp = &r->frags; (f = *pp) != NULL; pp = &f->q_next) {
		uint32_t foff = (uint32_t)f->user, fend = foff + f->len;
		if (off < fend && foff < end) {
			NS_CNT(st, drop_frag_overlap);
			reass_free(st, r);
			goto drop;
		}
		if (end <= foff)
			break;
	}
	if (!mf) {
		/* the last fragment fixes the length; nothing may lie past it */
		struct nf_buf *g;
		for (g = r->frags; g; g = g->q_next)
			if ((uint32_t)g->user + g->len > end) {
				NS_CNT(st, drop_frag_overlap);
				reass_free(st, r);
				goto drop;
			}
		r->total = end;
	}
	if (off == 0)
		r->first_hlen = hlen;
	b->len = plen;
	b->user = off;
	b->q_next = *pp;
	*pp = b;
	r->nfrags++;
	r->have += plen;
	st->reass_used += plen;
	if (!r->total || r->have != r->total)
		return NULL;
	/* complete: no overlaps and have == total means no holes */
	{
		struct nf_buf *head = r->frags;
		for (f = head; f; f = f->q_next)
			f->seg_next = f->q_next;
		for (f = head; f; f = f->seg_next)
			f->q_next = NULL;
		head->pkt_len = r->total;
		*hlen_out = r->first_hlen;
		st->reass_used -= r->have;
		r->frags = NULL;
		r->have = 0;
		memset(r, 0, sizeof(*r));
		NS_CNT(st, frag_reassembled);
		return head;
	}
drop:
	ns_buf_free(st, b);
	return NULL;
}
