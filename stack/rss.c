/*
 * rss.c: the Toeplitz hash NICs use for receive-side scaling (Microsoft
 * RSS specification), so connect() can pick a source port whose return
 * traffic the NIC steers to this instance's queue. Called by sock.c.
 */
#include "stack/ns_priv.h"

uint32_t ns_toeplitz(const uint8_t *key, unsigned key_len,
		     const uint8_t *data, unsigned len)
{
	uint32_t h = 0, v;
	unsigned i, bit;

	if (key_len < 4)
		return 0;
	v = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
	    (uint32_t)key[2] << 8 | key[3];
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			if (data[i] & (0x80u >> bit))
				h ^= v;
			v <<= 1;
			/* shift in the next key bit */
			unsigned kb = (i + 4) * 8 + bit;
			if (kb / 8 < key_len && (key[kb / 8] & (0x80u >> (kb % 8))))
				v |= 1;
		}
	}
	return h;
}

uint16_t ns_rss_queue(const struct nf_io_ops *io, uint32_t rip_be,
		      uint32_t lip_be, uint16_t rport_be, uint16_t lport_be)
{
	uint8_t in[12];
	uint32_t h;

	if (io->rss_key_len == 0 || io->reta_size == 0 || io->reta == NULL)
		return io->queue_id;
	/* input order for IPv4/TCP: src addr, dst addr, src port, dst port
	 * of the frame the NIC receives (remote -> local) */
	memcpy(in, &rip_be, 4);
	memcpy(in + 4, &lip_be, 4);
	memcpy(in + 8, &rport_be, 2);
	memcpy(in + 10, &lport_be, 2);
	h = ns_toeplitz(io->rss_key, io->rss_key_len, in, sizeof(in));
	return io->reta[h % io->reta_size];
}

uint16_t ns_rss_queue46(const struct nf_io_ops *io, const union ns_in46 *r,
			const union ns_in46 *l, uint16_t rport_be,
			uint16_t lport_be)
{
	uint8_t in[36];
	uint32_t h;

	if (ns_in46_is4(r))
		return ns_rss_queue(io, r->a4, l->a4, rport_be, lport_be);
	if (io->rss_key_len == 0 || io->reta_size == 0 || io->reta == NULL)
		return io->queue_id;
	/* IPv6/TCP: src addr, dst addr, src port, dst port (Microsoft's
	 * RSS specification, as NICs do it) */
	memcpy(in, r->b, 16);
	memcpy(in + 16, l->b, 16);
	memcpy(in + 32, &rport_be, 2);
	memcpy(in + 34, &lport_be, 2);
	h = ns_toeplitz(io->rss_key, io->rss_key_len, in, sizeof(in));
	return io->reta[h % io->reta_size];
}
