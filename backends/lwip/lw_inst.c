/*
 * lw_inst.c: the lwIP instance. lwIP's one netif sends and receives
 * through the io/ queue vfs/ gives the instance: received frames are
 * copied into pbufs and handed to ethernet_input; lwIP's frames are
 * copied into io/'s buffers and sent in batches at the end of each call.
 * lwIP's timers (TCP's 250 ms, ARP, ND, reassembly) run from poll.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <string.h>

#include "backends/lwip/lw_priv.h"
#include "lwip/init.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

struct lw_inst *lw_the;

static const char *const ctr_names[LWC_COUNT] = {
	[LWC_RX_FRAMES] = "rx_frames",
	[LWC_TX_FRAMES] = "tx_frames",
	[LWC_RX_NOMEM] = "rx_drop_nomem",
	[LWC_RX_DROP_INPUT] = "rx_drop_input",
	[LWC_TX_NOBUF] = "tx_drop_nobuf",
	[LWC_TX_FULL] = "tx_drop_full",
	[LWC_TX_TOOBIG] = "tx_drop_toobig",
	[LWC_ACCEPT_OVERFLOW] = "accept_overflow",
	[LWC_UDP_RX_DROP] = "udp_rx_drop_full",
	[LWC_TCP_ABORTED] = "tcp_aborted",
};

void lw_flush(struct lw_inst *li)
{
	unsigned i, sent;
	if (!li->ntx)
		return;
	sent = li->io.tx_burst(li->io.q, li->tx, (uint16_t)li->ntx);
	li->ctr[LWC_TX_FRAMES] += sent;
	for (i = sent; i < li->ntx; i++) {
		li->io.free(li->io.q, li->tx[i]);
		li->ctr[LWC_TX_FULL]++;
	}
	li->ntx = 0;
}

/* lwIP's frame out: copied into one io/ buffer (LWIP_NETIF_TX_SINGLE_PBUF
 * makes it one pbuf; pbuf_copy_partial takes chains anyway) */
static err_t link_out(struct netif *nif, struct pbuf *p)
{
	struct lw_inst *li = nif->state;
	struct nf_buf *b;
	if (p->tot_len > li->io.buf_size) {
		li->ctr[LWC_TX_TOOBIG]++;
		return ERR_IF;
	}
	b = li->io.alloc(li->io.q);
	if (!b) {
		li->ctr[LWC_TX_NOBUF]++;
		return ERR_MEM;
	}
	b->len = b->pkt_len = pbuf_copy_partial(p, b->data, p->tot_len, 0);
	b->ol_flags = 0;
	b->seg_next = NULL;
	li->tx[li->ntx++] = b;
	if (li->ntx == LW_TX_BATCH)
		lw_flush(li);
	return ERR_OK;
}

static err_t netif_setup(struct netif *nif)
{
	struct lw_inst *li = nif->state;
	nif->name[0] = 'n';
	nif->name[1] = 'f';
	nif->mtu = li->io.mtu ? li->io.mtu : 1500;
#if LWIP_IPV6
	nif->mtu6 = nif->mtu;
#endif
	nif->hwaddr_len = 6;
	memcpy(nif->hwaddr, li->io.mac, 6);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		     NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP |
		     NETIF_FLAG_MLD6 | NETIF_FLAG_IGMP;
	nif->output = etharp_output;
#if LWIP_IPV6
	nif->output_ip6 = ethip6_output;
#endif
	nif->linkoutput = link_out;
	return ERR_OK;
}

size_t lw_size(const struct nf_backend_conf *c)
{
	uint32_t n = c->max_socks ? c->max_socks : 1024;
	return sizeof(struct lw_inst) + n * (sizeof(struct lw_sock) +
					    sizeof(int)) + 64;
}

struct nf_be_inst *lw_init(void *mem, size_t len,
				  const struct nf_backend_conf *c,
				  const struct nf_io_ops *io, uint64_t now)
{
	struct lw_inst *li = mem;
	ip4_addr_t ip, mask, gw;
	uint32_t n = c->max_socks ? c->max_socks : 1024;
	static int lwip_up;
	(void)now;
	if (lw_the || len < lw_size(c) || !c->ip_be)
		return NULL; /* lwIP is global: one instance */
	memset(li, 0, sizeof(*li));
	li->io = *io;
	li->max_socks = n;
	li->socks = (struct lw_sock *)(li + 1);
	li->chg = (int *)(li->socks + n);
	memset(li->socks, 0, n * sizeof(struct lw_sock));
	li->ip_be = c->ip_be;
	memcpy(li->ip6, c->ip6, 16);
	if (!lwip_up) {
		lwip_init();
		lwip_up = 1;
	}
	ip4_addr_set_u32(&ip, c->ip_be);
	ip4_addr_set_u32(&mask, c->prefix_len ?
			 htonl(~0u << (32 - c->prefix_len)) : 0);
	ip4_addr_set_u32(&gw, c->gw_be);
	if (!netif_add(&li->netif, &ip, &mask, &gw, li, netif_setup,
		       ethernet_input))
		return NULL;
	netif_set_default(&li->netif);
#if LWIP_IPV6
	netif_create_ip6_linklocal_address(&li->netif, 1);
	netif_ip6_addr_set_state(&li->netif, 0, IP6_ADDR_PREFERRED);
	{
		static const uint8_t zero[16];
		if (memcmp(c->ip6, zero, 16)) {
			ip6_addr_t a;
			s8_t idx;
			uint32_t w[4];
			memcpy(w, c->ip6, 16);
			IP6_ADDR(&a, w[0], w[1], w[2], w[3]);
			if (netif_add_ip6_address(&li->netif, &a, &idx) ==
			    ERR_OK)
				netif_ip6_addr_set_state(&li->netif, idx,
							 IP6_ADDR_PREFERRED);
		}
	}
#endif
	netif_set_link_up(&li->netif);
	netif_set_up(&li->netif);
	lw_the = li;
	lw_flush(li); /* gratuitous ARP */
	return (struct nf_be_inst *)(void *)li;
}

void lw_fini(struct nf_be_inst *bi)
{
	struct lw_inst *li = (struct lw_inst *)(void *)bi;
	uint32_t i;
	for (i = 0; i < li->max_socks; i++)
		if (li->socks[i].used)
			lw_sock_free(li, (int)i);
	lw_flush(li);
	netif_set_down(&li->netif);
	netif_remove(&li->netif);
	lw_the = NULL;
}

/* one received frame (possibly a chain of segments) into lwIP */
static void rx_one(struct lw_inst *li, struct nf_buf *b)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(b->pkt_len > 0xffff ?
				    0xffff : b->pkt_len), PBUF_RAM);
	struct nf_buf *s;
	uint32_t off = 0;
	li->ctr[LWC_RX_FRAMES]++;
	if (!p) {
		li->ctr[LWC_RX_NOMEM]++;
		li->io.free(li->io.q, b);
		return;
	}
	for (s = b; s && off < p->tot_len; s = s->seg_next) {
		uint32_t n = s->len < p->tot_len - off ? s->len :
			     p->tot_len - off;
		pbuf_take_at(p, s->data, (u16_t)n, (u16_t)off);
		off += n;
	}
	li->io.free(li->io.q, b);
	if (li->netif.input(p, &li->netif) != ERR_OK) {
		li->ctr[LWC_RX_DROP_INPUT]++;
		pbuf_free(p);
	}
}

uint64_t lw_poll(struct nf_be_inst *bi, struct nf_buf **bufs,
			uint16_t n, uint64_t now)
{
	struct lw_inst *li = (struct lw_inst *)(void *)bi;
	uint16_t i;
	u32_t ms;
	for (i = 0; i < n; i++)
		rx_one(li, bufs[i]);
	sys_check_timeouts();
	lw_flush(li);
	ms = sys_timeouts_sleeptime();
	return ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? UINT64_MAX :
	       now + (uint64_t)ms * 1000000ull;
}

const uint64_t *lw_counters(const struct nf_be_inst *bi,
				   const char *const **names, unsigned *n)
{
	const struct lw_inst *li = (const void *)bi;
	*names = ctr_names;
	*n = LWC_COUNT;
	return li->ctr;
}

int lw_is_own(const struct lw_inst *li, const ip_addr_t *a)
{
	if (IP_IS_V6_VAL(*a))
		return !memcmp(ip_2_ip6(a)->addr, li->ip6, 16);
	return ip4_addr_get_u32(ip_2_ip4(a)) == li->ip_be;
}
