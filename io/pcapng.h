/*
 * pcapng.h: the pcapng blocks io/capture.c writes (draft-ietf-opsawg-
 * pcapng): a section header, one Ethernet interface with nanosecond
 * timestamps, and enhanced packet blocks with the direction flag. Plain
 * bytes in host order (the section header's magic tells readers which);
 * no DPDK types, so tests can check the format on its own.
 */
#ifndef NF_IO_PCAPNG_H
#define NF_IO_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

/* section header + interface description: what a file starts with */
#define NF_PCAPNG_HEAD_LEN 60u
/* an enhanced packet block around caplen bytes of frame */
#define NF_PCAPNG_EPB_LEN(caplen) (44u + (((caplen) + 3u) & ~3u))

/* Writes the file's first NF_PCAPNG_HEAD_LEN bytes into out. */
void nf_pcapng_head(uint8_t *out);

/* Writes an enhanced packet block's header for a frame of len bytes, of
 * which caplen follow at out + 28 (the caller copies them there), taken
 * at ts_ns (ns since the epoch), tx: sent (else received); then the
 * padding, options and trailer. Returns the block's length. */
uint32_t nf_pcapng_epb(uint8_t *out, uint32_t caplen, uint32_t len,
		       uint64_t ts_ns, int tx);

#endif
