/*
 * mc_proto.h: the memcached text protocol as apps/mcload.c speaks it:
 * request builders (get, set), the response parser, and the checked
 * values (what a key holds at a given version).
 *
 * Protocol: memcached's doc/protocol.txt ("Storage commands", "Retrieval
 * command", "Error strings"). Every byte from the server is hostile: the
 * parser reads only inside [buf, buf + len), bounds every line and value,
 * and says "need more bytes" (0) or "malformed" (-EBADMSG), never guesses.
 *
 * Checked values: a key's value at version v is a deterministic function of
 * (key index, v, size): lowercase hex digits of a hash chain, so a value
 * read back can be recomputed and compared byte for byte. The version
 * travels in the item's 32-bit client flags (set's <flags> field, returned
 * by get). mc_check_get() decides whether a get response is a correct
 * answer given the versions that may be stored (see there).
 *
 * Header-only; used by apps/mcload.c and tests/apps/test_mcload.c.
 */
#ifndef APPS_MC_PROTO_H
#define APPS_MC_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MC_MAX_KEY   250          /* protocol.txt: keys are at most 250 bytes */
#define MC_MAX_LINE  1024         /* longest response line we accept */
#define MC_MAX_VALUE (1u << 20)   /* memcached's default item size limit */

/* ---- keys and values --------------------------------------------------- */

static const char mc_hex[] = "0123456789abcdef";

/* key `idx` as `ksize` lowercase hex digits, zero-padded (no NUL) */
static inline void mc_key(char *out, uint64_t idx, unsigned ksize)
{
	for (unsigned i = ksize; i-- > 0; idx >>= 4)
		out[i] = mc_hex[idx & 15];
}

/* smallest key size whose hex space holds n keys */
static inline unsigned mc_key_min_size(uint64_t n)
{
	unsigned k = 1;
	while (k < 16 && (n - 1) >> (4 * k) != 0)
		k++;
	return k;
}

static inline uint64_t mc_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* the value of key `idx` at version `ver`, `size` bytes */
static inline void mc_value(char *out, uint64_t idx, uint32_t ver, size_t size)
{
	uint64_t h = mc_mix(idx * UINT64_C(0x9e3779b97f4a7c15) + ver);
	for (size_t j = 0; j < size; j++) {
		if (j > 0 && j % 16 == 0)
			h = mc_mix(h + j);
		out[j] = mc_hex[(h >> (4 * (j % 16))) & 15];
	}
}

/* true if data[0..size) is the value of key idx at version ver */
static inline bool mc_value_ok(const char *data, size_t size, uint64_t idx,
			       uint32_t ver)
{
	uint64_t h = mc_mix(idx * UINT64_C(0x9e3779b97f4a7c15) + ver);
	for (size_t j = 0; j < size; j++) {
		if (j > 0 && j % 16 == 0)
			h = mc_mix(h + j);
		if (data[j] != mc_hex[(h >> (4 * (j % 16))) & 15])
			return false;
	}
	return true;
}

/* ---- requests --------------------------------------------------------------- */

/* bytes mc_fmt_set writes at most */
#define MC_SET_MAX(ksize, vsize) (32 + (ksize) + (vsize))

/* "get <key>\r\n"; returns bytes written */
static inline size_t mc_fmt_get(char *out, const char *key, unsigned ksize)
{
	memcpy(out, "get ", 4);
	memcpy(out + 4, key, ksize);
	memcpy(out + 4 + ksize, "\r\n", 2);
	return 6 + ksize;
}

static inline size_t mc_fmt_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* "set <key> <ver> 0 <vsize>\r\n<value>\r\n" with the checked value */
static inline size_t mc_fmt_set(char *out, const char *key, unsigned ksize,
				uint64_t idx, uint32_t ver, size_t vsize)
{
	char *p = out;
	memcpy(p, "set ", 4);
	p += 4;
	memcpy(p, key, ksize);
	p += ksize;
	*p++ = ' ';
	p += mc_fmt_u64(p, ver);
	memcpy(p, " 0 ", 3);
	p += 3;
	p += mc_fmt_u64(p, vsize);
	memcpy(p, "\r\n", 2);
	p += 2;
	mc_value(p, idx, ver, vsize);
	p += vsize;
	memcpy(p, "\r\n", 2);
	p += 2;
	return (size_t)(p - out);
}

/* ---- responses ---------------------------------------------------------- */

enum mc_resp_type {
	MC_R_VALUE,          /* VALUE ... END: a hit (single-key get) */
	MC_R_END,            /* END alone: a miss */
	MC_R_STORED,
	MC_R_NOT_STORED,
	MC_R_EXISTS,
	MC_R_NOT_FOUND,
	MC_R_ERROR,          /* ERROR, CLIENT_ERROR ..., SERVER_ERROR ... */
};

struct mc_resp {
	enum mc_resp_type type;
	const char *key;     /* MC_R_VALUE: points into the parsed buffer */
	size_t key_len;
	uint32_t flags;
	const char *data;
	size_t data_len;
	const char *line;    /* MC_R_ERROR: the line, without CRLF */
	size_t line_len;
};

/* decimal digits at p (< end), at least one; value <= max; -1 if not */
static inline int mc_parse_num(const char **pp, const char *end, uint64_t max,
			       uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -1;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

static inline bool mc_line_is(const char *line, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n == w && memcmp(line, word, w) == 0;
}

static inline bool mc_line_starts(const char *line, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n >= w && memcmp(line, word, w) == 0;
}

/*
 * Parses one response (for a single-key get, VALUE line + data + END is
 * one response) at the start of buf[0..len). Returns the bytes it takes
 * (> 0) and fills *r, 0 if more bytes are needed, or -EBADMSG if this is
 * not a valid response (the stream cannot be resynchronised after that).
 */
static inline int mc_parse(const char *buf, size_t len, struct mc_resp *r)
{
	size_t scan = len < MC_MAX_LINE ? len : MC_MAX_LINE;
	const char *nl = NULL;
	for (size_t i = 0; i + 1 < scan; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			nl = buf + i;
			break;
		}
	}
	if (nl == NULL)
		return len >= MC_MAX_LINE ? -EBADMSG : 0;
	size_t n = (size_t)(nl - buf), used = n + 2;
	memset(r, 0, sizeof(*r));
	r->line = buf;
	r->line_len = n;
	if (mc_line_is(buf, n, "END")) {
		r->type = MC_R_END;
		return (int)used;
	}
	if (mc_line_is(buf, n, "STORED"))
		r->type = MC_R_STORED;
	else if (mc_line_is(buf, n, "NOT_STORED"))
		r->type = MC_R_NOT_STORED;
	else if (mc_line_is(buf, n, "EXISTS"))
		r->type = MC_R_EXISTS;
	else if (mc_line_is(buf, n, "NOT_FOUND"))
		r->type = MC_R_NOT_FOUND;
	else if (mc_line_is(buf, n, "ERROR") ||
		 mc_line_starts(buf, n, "CLIENT_ERROR ") ||
		 mc_line_starts(buf, n, "SERVER_ERROR "))
		r->type = MC_R_ERROR;
	else if (!mc_line_starts(buf, n, "VALUE "))
		return -EBADMSG;
	if (r->type != MC_R_VALUE)
		return (int)used;

	/* VALUE <key> <flags> <bytes> [<cas unique>]\r\n<data>\r\nEND\r\n */
	const char *p = buf + 6, *end = buf + n;
	const char *key = p;
	while (p < end && *p != ' ')
		p++;
	size_t klen = (size_t)(p - key);
	if (klen == 0 || klen > MC_MAX_KEY || p >= end)
		return -EBADMSG;
	uint64_t flags, bytes, cas;
	p++;
	if (mc_parse_num(&p, end, UINT32_MAX, &flags) || p >= end || *p != ' ')
		return -EBADMSG;
	p++;
	if (mc_parse_num(&p, end, MC_MAX_VALUE, &bytes))
		return -EBADMSG;
	if (p < end) {
		if (*p != ' ')
			return -EBADMSG;
		p++;
		if (mc_parse_num(&p, end, UINT64_MAX / 10 - 1, &cas) || p != end)
			return -EBADMSG;
	}
	size_t total = used + (size_t)bytes + 2 + 5;
	if (len < total)
		return 0;
	const char *data = buf + used;
	if (memcmp(data + bytes, "\r\n", 2) != 0 ||
	    memcmp(data + bytes + 2, "END\r\n", 5) != 0)
		return -EBADMSG;
	r->key = key;
	r->key_len = klen;
	r->flags = (uint32_t)flags;
	r->data = data;
	r->data_len = (size_t)bytes;
	return (int)total;
}

/* ---- checking ------------------------------------------------------------ */

enum mc_verdict {
	MC_OK_HIT,
	MC_OK_MISS,
	MC_LOST,             /* a miss although a set of this key was acknowledged */
	MC_WRONG,            /* a value that cannot be the answer */
};

/*
 * Is `r` a correct answer to a get of key idx (key bytes key[0..ksize))?
 *   lo: the version acknowledged (STORED) before the get was sent, 0 if
 *       none in this run;
 *   hi: the newest version sent (acknowledged or not) when the response
 *       arrived.
 * Sets of one key are never in flight together (mcload serialises them),
 * so memcached holds a version in [lo, hi] when it answers. With lo = 0
 * the key may also hold an older run's value or nothing: a miss or any
 * value consistent with its own flags is accepted. A value must have the
 * size the run sets (vsize) unless lo = 0.
 */
static inline enum mc_verdict mc_check_get(const struct mc_resp *r,
					   const char *key, unsigned ksize,
					   uint64_t idx, uint32_t lo, uint32_t hi,
					   size_t vsize)
{
	if (r->type == MC_R_END)
		return lo == 0 ? MC_OK_MISS : MC_LOST;
	if (r->type != MC_R_VALUE || r->key_len != ksize ||
	    memcmp(r->key, key, ksize) != 0)
		return MC_WRONG;
	if (!mc_value_ok(r->data, r->data_len, idx, r->flags))
		return MC_WRONG;
	if (lo == 0)
		return MC_OK_HIT;           /* maybe an earlier run's value */
	if (r->flags < lo || r->flags > hi || r->data_len != vsize)
		return MC_WRONG;
	return MC_OK_HIT;
}

#endif /* APPS_MC_PROTO_H */
