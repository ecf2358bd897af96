/*
 * tcp_seq.h: TCP sequence number comparisons (RFC 9293 section 3.4).
 *
 * Sequence numbers live in a 32-bit circle: a is "before" b when the signed
 * 32-bit difference a - b is negative, which is correct as long as the two
 * are less than 2^31 apart (windows are far smaller). Every comparison of
 * sequence or timestamp values goes through these macros, never `<`.
 */
#ifndef NS_TCP_SEQ_H
#define NS_TCP_SEQ_H

#include <stdint.h>

#define SEQ_DIFF(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)))
#define SEQ_LT(a, b)   (SEQ_DIFF(a, b) < 0)
#define SEQ_LEQ(a, b)  (SEQ_DIFF(a, b) <= 0)
#define SEQ_GT(a, b)   (SEQ_DIFF(a, b) > 0)
#define SEQ_GEQ(a, b)  (SEQ_DIFF(a, b) >= 0)
#define SEQ_MIN(a, b)  (SEQ_LT(a, b) ? (a) : (b))
#define SEQ_MAX(a, b)  (SEQ_GT(a, b) ? (a) : (b))
/* a <= x < b on the circle */
#define SEQ_IN(x, a, b) (SEQ_GEQ(x, a) && SEQ_LT(x, b))

#endif
