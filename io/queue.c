/*
 * queue.c: the data path of one queue pair, i.e. the nf_io_ops that
 * stack/ calls: rx_burst, tx_burst, alloc, free.
 *
 * An nf_buf is the private area of its rte_mbuf; at this boundary the
 * nf_buf fields are written from the mbuf (rx, alloc) or the mbuf fields
 * from the nf_buf (tx, free): data <-> data_off, len <-> data_len,
 * pkt_len, seg_next <-> next/nb_segs, ol_flags <-> NF_RX_* / NF_TX_*.
 *
 * tx applies the software fallbacks the device lacks, in this order:
 * GSO (librte_gso) for NF_TX_TCP_SEG, checksums (io/cksum.c), linearizing
 * a chain for a single-segment device. A frame that GSO or linearizing
 * replaced starts a new device burst, so that when the device takes only
 * part of a burst the frames handed back to the caller are still the
 * caller's own, untouched buffers (DPDK's rule: the caller keeps what
 * tx_burst did not take).
 *
 * Called by stack/ through the ops table; set up by io/port.c.
 */
#include <errno.h>
#include <string.h>

#include "io/io_priv.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>


#define GSO_MAX_SEGS 128  /* a 64 KB TSO frame down to MSS 512 */
#define TX_OUT_MAX   (NF_IO_BURST + GSO_MAX_SEGS)
_Static_assert(TX_OUT_MAX <= NF_IO_BURST_MAX, "a tx burst fits one capture copy");

/* ---- rx ----------------------------------------------------------------- */

static uint32_t rx_flags(uint64_t f)
{
	uint32_t o = 0;

	switch (f & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
	case RTE_MBUF_F_RX_IP_CKSUM_GOOD: o |= NF_RX_IP_CKSUM_GOOD; break;
	case RTE_MBUF_F_RX_IP_CKSUM_BAD: o |= NF_RX_IP_CKSUM_BAD; break;
	default: break;
	}
	switch (f & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
	case RTE_MBUF_F_RX_L4_CKSUM_GOOD: o |= NF_RX_L4_CKSUM_GOOD; break;
	case RTE_MBUF_F_RX_L4_CKSUM_BAD: o |= NF_RX_L4_CKSUM_BAD; break;
	default: break;
	}
	if (f & RTE_MBUF_F_RX_RSS_HASH)
		o |= NF_RX_RSS_HASH;
	return o;
}

/* mbuf -> nf_buf for every segment of m. */
static struct nf_buf *to_nf(struct rte_mbuf *m, uint32_t ol_mask)
{
	uint32_t ol = rx_flags(m->ol_flags) & ol_mask;
	uint32_t pkt_len = m->pkt_len;
	uint32_t hash = m->hash.rss;
	struct rte_mbuf *s;

	for (s = m; s; s = s->next) {
		struct nf_buf *b = nf_io_buf(s);

		b->data = rte_pktmbuf_mtod(s, uint8_t *);
		b->len = s->data_len;
		b->pkt_len = pkt_len;
		b->headroom = rte_pktmbuf_headroom(s);
		b->tailroom = rte_pktmbuf_tailroom(s);
		b->ol_flags = ol;
		b->rss_hash = (ol & NF_RX_RSS_HASH) ? hash : 0;
		b->tso_segsz = 0;
		b->l2_len = b->l3_len = b->l4_len = 0;
		b->seg_next = s->next ? nf_io_buf(s->next) : NULL;
		b->q_next = NULL;
		b->user = 0;
		b->io_priv = s;
	}
	return nf_io_buf(m);
}

static uint16_t q_rx_burst(void *qv, struct nf_buf **bufs, uint16_t n)
{
	struct nf_io_queue *q = qv;
	/* same pointer size: receive into the caller's array, convert in
	 * place */
	struct rte_mbuf **m = (struct rte_mbuf **)(void *)bufs;
	uint32_t ol_mask = q->ops.caps & NF_CAP_RX_CKSUM ? ~0u :
			   ~(uint32_t)(NF_RX_IP_CKSUM_GOOD | NF_RX_L4_CKSUM_GOOD |
				       NF_RX_IP_CKSUM_BAD | NF_RX_L4_CKSUM_BAD);
	uint16_t i, got;

	got = rte_eth_rx_burst(q->port, q->qid, m, n);
	if (got == 0) {
		/* net_tap can leave a frame unread until the next one
		 * arrives (io/wake.c); a poller kicks it now and then */
		if (unlikely(q->tap_sig) && ++q->empty_polls >= 4096) {
			q->empty_polls = 0;
			nf_io_wake_kick(q);
		}
		return 0;
	}
	q->empty_polls = 0;
	if (unlikely(__atomic_load_n(&q->io->pcap, __ATOMIC_RELAXED) !=
		     NULL)) {
		uint16_t off;

		for (off = 0; off < got; off += NF_IO_BURST) {
			uint16_t k = RTE_MIN(got - off, NF_IO_BURST);

			nf_io_capture_write(q->io,
				nf_io_capture_copy(m + off, k, 0), k);
		}
	}
	for (i = 0; i < got; i++)
		bufs[i] = to_nf(m[i], ol_mask);
	q->st.rx_pkts += got;
	return got;
}

/* ---- alloc / free --------------------------------------------------------- */

/* The cache for alloc/free: the queue's own. Not the lcore's: program
 * threads are not EAL lcores (no cache there), and finding it costs a
 * __tls_get_addr call per buffer from a shared librte_eal (measured: 3.7%
 * of an alloc+tx loop). */
static inline struct rte_mempool_cache *q_cache(struct nf_io_queue *q)
{
	return q->cache;
}

static void nf_reset(struct rte_mbuf *m)
{
	struct nf_buf *b = nf_io_buf(m);

	b->data = rte_pktmbuf_mtod(m, uint8_t *);
	b->len = 0;
	b->pkt_len = 0;
	b->headroom = rte_pktmbuf_headroom(m);
	b->tailroom = rte_pktmbuf_tailroom(m);
	b->ol_flags = 0;
	b->rss_hash = 0;
	b->tso_segsz = 0;
	b->l2_len = b->l3_len = b->l4_len = 0;
	b->seg_next = NULL;
	b->q_next = NULL;
	b->user = 0;
	b->io_priv = m;
}

static struct nf_buf *q_alloc(void *qv)
{
	struct nf_io_queue *q = qv;
	void *obj;
	struct rte_mbuf *m;

	if (unlikely(rte_mempool_generic_get(q->mp, &obj, 1,
					     q_cache(q)) < 0)) {
		q->st.alloc_fail++;
		return NULL;
	}
	m = obj;
	rte_pktmbuf_reset(m);
	nf_reset(m);
	return nf_io_buf(m);
}

/* Return one segment (already unlinked) to its pool through the queue's
 * cache when it is ours. */
static void free_seg(struct nf_io_queue *q, struct rte_mbuf *s)
{
	s = rte_pktmbuf_prefree_seg(s);
	if (s == NULL)
		return;  /* still referenced (e.g. by GSO segments) */
	if (s->pool == q->mp)
		rte_mempool_generic_put(q->mp, (void **)&s, 1, q_cache(q));
	else
		rte_mempool_put(s->pool, s);
}

/* free: b and everything along b->seg_next (the stack's view of the
 * chain wins over mbuf->next). */
static void q_free(void *qv, struct nf_buf *b)
{
	struct nf_io_queue *q = qv;

	while (b) {
		struct nf_buf *next = b->seg_next;
		struct rte_mbuf *s = nf_io_mbuf(b);

		s->next = NULL;
		free_seg(q, s);
		b = next;
	}
}

/* Free an mbuf chain we built (mbuf->next is authoritative). */
static void free_chain(struct nf_io_queue *q, struct rte_mbuf *m)
{
	while (m) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		free_seg(q, m);
		m = next;
	}
}

/* ---- tx ----------------------------------------------------------------- */

/* nf_buf chain -> mbuf chain; -EINVAL if a segment's data lies outside its
 * buffer. */
static int to_mbuf(struct nf_buf *b, struct rte_mbuf **out)
{
	struct rte_mbuf *head = nf_io_mbuf(b), *prev = NULL;
	uint32_t pkt_len = 0;
	uint16_t nb = 0;
	struct nf_buf *s;

	for (s = b; s; s = s->seg_next) {
		struct rte_mbuf *ms = nf_io_mbuf(s);
		uint8_t *start = ms->buf_addr;

		if (s->data < start ||
		    s->data + s->len > start + ms->buf_len || nb == UINT16_MAX)
			return -EINVAL;
		ms->data_off = (uint16_t)(s->data - start);
		ms->data_len = (uint16_t)s->len;
		if (prev)
			prev->next = ms;
		prev = ms;
		pkt_len += s->len;
		nb++;
	}
	prev->next = NULL;
	head->nb_segs = nb;
	head->pkt_len = pkt_len;
	head->ol_flags = 0;
	/* tx_offload (l2/l3/l4_len, tso_segsz) only matters with offload
	 * flags; tx_prep writes it then, in one store: field by field, the
	 * bitfield read-modify-writes stalled on store forwarding (perf:
	 * 38% of tx_burst). */
	*out = head;
	return 0;
}

static unsigned seg_view(struct rte_mbuf *m, struct nf_io_seg *v,
			 unsigned max)
{
	unsigned n = 0;

	for (; m && n < max; m = m->next, n++) {
		v[n].data = rte_pktmbuf_mtod(m, uint8_t *);
		v[n].len = m->data_len;
	}
	return m ? 0 : n;
}

static int sw_cksum(struct nf_io_queue *q, struct rte_mbuf *m, uint32_t f)
{
	struct nf_io_seg v[32];
	unsigned n = seg_view(m, v, RTE_DIM(v));

	if (n == 0 || nf_io_sw_cksum(v, n, f, m->l2_len) < 0)
		return -EINVAL;
	q->st.sw_cksum++;
	return 0;
}

/* Hardware L4 checksum / TSO: the device wants the pseudo-header sum in
 * the checksum field (length left out for TSO); write it ourselves so the
 * stack's value cannot be wrong. */
static int hw_prepare(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip;
	uint8_t *l4, *csum;
	uint16_t ph;
	unsigned ihl;

	if (m->data_len < m->l2_len + sizeof(*ip))
		return -EINVAL;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	ihl = (ip->version_ihl & 0xf) * 4u;
	if ((ip->version_ihl >> 4) != 4 || ihl < 20 ||
	    m->data_len < m->l2_len + ihl)
		return -EINVAL;
	m->l3_len = ihl;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4;
	if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)
		ip->hdr_checksum = 0;  /* NICs add to what is there */
	l4 = (uint8_t *)ip + ihl;
	if (ip->next_proto_id == IPPROTO_TCP &&
	    (m->ol_flags & (RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG))) {
		if (m->data_len < m->l2_len + ihl + 20u)
			return -EINVAL;
		csum = l4 + 16;
		m->l4_len = (l4[12] >> 4) * 4u;
		if (m->l4_len < 20 || m->data_len < m->l2_len + ihl + m->l4_len)
			return -EINVAL;
		if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && m->tso_segsz == 0)
			return -EINVAL;
	} else if (ip->next_proto_id == IPPROTO_UDP &&
		   (m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM)) {
		if (m->data_len < m->l2_len + ihl + 8u)
			return -EINVAL;
		csum = l4 + 6;
		m->l4_len = 8;
	} else {
		/* an L4 request that does not match the protocol */
		return (m->ol_flags & (RTE_MBUF_F_TX_L4_MASK |
				       RTE_MBUF_F_TX_TCP_SEG)) ? -EINVAL : 0;
	}
	ph = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	memcpy(csum, &ph, sizeof(ph));
	return 0;
}

/* Copy a chain into one fresh buffer. */
static struct rte_mbuf *linearize(struct nf_io_queue *q, struct rte_mbuf *m)
{
	struct nf_buf *nb = q_alloc(q);
	struct rte_mbuf *c, *s;
	uint8_t *dst;

	if (nb == NULL)
		return NULL;
	c = nf_io_mbuf(nb);
	if (m->pkt_len > rte_pktmbuf_tailroom(c)) {
		free_seg(q, c);
		return NULL;
	}
	dst = rte_pktmbuf_mtod(c, uint8_t *);
	for (s = m; s; s = s->next) {
		memcpy(dst, rte_pktmbuf_mtod(s, void *), s->data_len);
		dst += s->data_len;
	}
	c->data_len = (uint16_t)m->pkt_len;
	c->pkt_len = m->pkt_len;
	c->ol_flags = m->ol_flags;
	c->tx_offload = m->tx_offload;
	q->st.linearized++;
	return c;
}

/* Prepare one frame. Plain: *out[0] = the caller's own mbuf, returns 1.
 * Replaced (GSO, linearized): the original is freed, the frames are in
 * out[], returns their number with *replaced = 1. 0: dropped (counted). */
static unsigned tx_prep(struct nf_io_queue *q, struct nf_buf *b,
			struct rte_mbuf **out, unsigned room, int *replaced)
{
	uint32_t f = b->ol_flags & (NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM |
				    NF_TX_UDP_CKSUM | NF_TX_TCP_SEG);
	struct rte_mbuf *m;
	uint32_t sw;

	*replaced = 0;
	if (to_mbuf(b, &m) < 0) {
		q->st.drop_bad_offload++;
		q_free(q, b);
		return 0;
	}
	if (f == 0)
		goto plain;  /* the common case: nothing to offload */
	m->tx_offload = rte_mbuf_tx_offload(
		b->l2_len ? b->l2_len : RTE_ETHER_HDR_LEN, b->l3_len,
		b->l4_len, b->tso_segsz, 0, 0, 0);
	if ((f & NF_TX_TCP_SEG) &&
	    m->pkt_len <= (uint32_t)m->l2_len + b->l3_len + b->l4_len +
			   b->tso_segsz)
		f &= ~(uint32_t)NF_TX_TCP_SEG;  /* fits one segment */
	if (f & NF_TX_TCP_SEG) {
		f |= NF_TX_IP_CKSUM | NF_TX_TCP_CKSUM;
		if (q->hw_tx_ol & RTE_MBUF_F_TX_TCP_SEG) {
			m->ol_flags = RTE_MBUF_F_TX_TCP_SEG |
				      RTE_MBUF_F_TX_IP_CKSUM;
			if (hw_prepare(m) < 0)
				goto bad;
			goto plain;
		}
		if (q->sw_gso) {
			struct nf_io_seg v[4];
			int i, n;

			m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4;
			if (hw_prepare(m) < 0)
				goto bad;
			q->gso.gso_size = (uint16_t)(m->l2_len + m->l3_len +
						     m->l4_len + m->tso_segsz);
			n = rte_gso_segment(m, &q->gso, out,
					    (uint16_t)(room < GSO_MAX_SEGS ?
						       room : GSO_MAX_SEGS));
			if (n == 0) {  /* GSO found nothing to do */
				m->ol_flags = 0;
				f &= ~(uint32_t)NF_TX_TCP_SEG;
				goto cksum;
			}
			if (n < 0) {
				q->st.drop_gso++;
				free_chain(q, m);
				return 0;
			}
			free_chain(q, m);  /* segments keep references */
			q->st.gso_in++;
			q->st.gso_out += (uint64_t)n;
			/* GSO does not checksum (rte_gso.h): do it here; the
			 * header mbuf of each segment holds Eth+IP+TCP. */
			for (i = 0; i < n; i++) {
				unsigned nv = seg_view(out[i], v, RTE_DIM(v));

				out[i]->ol_flags = 0;
				if (nv == 0 ||
				    nf_io_sw_cksum(v, nv, NF_TX_IP_CKSUM |
						   NF_TX_TCP_CKSUM,
						   out[i]->l2_len) < 0)
					q->st.drop_bad_offload++;
				else
					q->st.sw_cksum++;
			}
			if (q->sw_linearize) {  /* single-segment device */
				int j = 0;

				for (i = 0; i < n; i++) {
					struct rte_mbuf *c = linearize(q, out[i]);

					free_chain(q, out[i]);
					if (c == NULL)
						q->st.drop_linearize++;
					else
						out[j++] = c;
				}
				n = j;
			}
			*replaced = 1;
			return (unsigned)n;
		}
		goto bad;  /* TSO asked for but not offered */
	}

cksum:
	/* checksums: the device does what it can, io/ the rest */
	sw = f & q->sw_cksum_mask;
	if (f & ~sw) {
		if (f & ~sw & NF_TX_IP_CKSUM)
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
		if (f & ~sw & NF_TX_TCP_CKSUM)
			m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
		if (f & ~sw & NF_TX_UDP_CKSUM)
			m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
		if (hw_prepare(m) < 0)
			goto bad;
	}
	if (sw && sw_cksum(q, m, sw) < 0)
		goto bad;
plain:
	if (m->nb_segs > 1 && q->sw_linearize) {
		struct rte_mbuf *c = linearize(q, m);

		free_chain(q, m);
		if (c == NULL) {
			q->st.drop_linearize++;
			return 0;
		}
		out[0] = c;
		*replaced = 1;
		return 1;
	}
	out[0] = m;
	return 1;
bad:
	q->st.drop_bad_offload++;
	free_chain(q, m);
	return 0;
}

/* Send out[0..no); returns how many the device took, capturing those. */
static uint16_t dev_tx(struct nf_io_queue *q, struct rte_mbuf **out,
		       uint16_t no)
{
	void *cp = NULL;
	int capture;
	uint64_t bytes = 0;
	uint16_t sent, i;

	for (i = 0; i < no; i++)
		bytes += out[i]->pkt_len;
	capture = __atomic_load_n(&q->io->pcap, __ATOMIC_RELAXED) != NULL;
	if (unlikely(capture))
		cp = nf_io_capture_copy(out, no, 1);
	sent = rte_eth_tx_burst(q->port, q->qid, out, no);
	if (unlikely(capture))
		nf_io_capture_write(q->io, cp, sent);
	for (i = sent; i < no; i++)  /* unsent ones are still ours */
		bytes -= out[i]->pkt_len;
	q->st.tx_pkts += sent;
	q->st.tx_bytes += bytes;
	return sent;
}

static uint16_t q_tx_burst(void *qv, struct nf_buf **bufs, uint16_t n)
{
	struct nf_io_queue *q = qv;
	struct rte_mbuf *out[TX_OUT_MAX];
	uint16_t owner[TX_OUT_MAX];
	uint8_t repl[TX_OUT_MAX];
	uint16_t i = 0;

	while (i < n) {
		uint16_t no = 0, sent;

		/* Fill one device burst. A replaced frame (GSO/linearized)
		 * may only start a burst. */
		while (i < n && no + GSO_MAX_SEGS <= TX_OUT_MAX) {
			int replaced;
			unsigned k, j;

			if (unlikely(bufs[i] == NULL)) {  /* misuse: skip */
				q->st.drop_bad_offload++;
				i++;
				continue;
			}

			if (no > 0 && (bufs[i]->ol_flags & NF_TX_TCP_SEG) &&
			    q->sw_gso)
				break;
			if (no > 0 && bufs[i]->seg_next && q->sw_linearize)
				break;
			k = tx_prep(q, bufs[i], out + no,
				    TX_OUT_MAX - no, &replaced);
			for (j = 0; j < k; j++) {
				owner[no + j] = i;
				repl[no + j] = (uint8_t)replaced;
			}
			no = (uint16_t)(no + k);
			i++;
			if (replaced && k > 0)
				break;
		}
		if (no == 0)
			continue;  /* all dropped: taken */
		sent = dev_tx(q, out, no);
		if (sent == no)
			continue;
		/* Partial: the first unsent frame's owner and the rest. */
		q->st.tx_full += (uint64_t)(no - sent);
		if (repl[sent]) {
			uint16_t j;

			/* a replaced frame is ours now: drop its rest */
			for (j = sent; j < no; j++) {
				free_chain(q, out[j]);
				q->st.drop_seg_tx++;
			}
			return owner[sent] + 1;
		}
		return owner[sent];
	}
	return n;
}

/* ---- setup ------------------------------------------------------------- */

int nf_io_queue_setup_ops(struct nf_io *io, struct nf_io_queue *q)
{
	q->ops.q = q;
	q->ops.rx_burst = q_rx_burst;
	q->ops.tx_burst = q_tx_burst;
	q->ops.alloc = q_alloc;
	q->ops.free = q_free;
	q->cache = rte_mempool_cache_create(NF_IO_CACHE, q->socket);
	if (q->cache == NULL)
		return -ENOMEM;
	memset(&q->gso, 0, sizeof(q->gso));
	q->gso.direct_pool = q->mp;
	q->gso.indirect_pool = q->mp;
	q->gso.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO;
	q->gso.flag = 0;
	(void)io;
	return 0;
}

void nf_io_queue_release(struct nf_io_queue *q)
{
	if (q->cache) {
		rte_mempool_cache_flush(q->cache, q->mp);
		rte_mempool_cache_free(q->cache);
		q->cache = NULL;
	}
}
