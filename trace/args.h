/* args.h: strace's rendering of system call argument kinds (args.c) */
#ifndef NF_TRACE_ARGS_H
#define NF_TRACE_ARGS_H

#include "trace/out.h"

void arg_open_flags(struct out *o, long v);
void arg_family(struct out *o, long v);
void arg_sock_type(struct out *o, long v);
void arg_sock_flags(struct out *o, long v);
void arg_protocol(struct out *o, long family, long v);
void arg_msg_flags(struct out *o, long v);
void arg_level(struct out *o, long v);
void arg_optname(struct out *o, long level, long v);
void arg_shutdown(struct out *o, long v);
void arg_int_ptr(struct out *o, long p);
void arg_sockaddr(struct out *o, long p, long len);

#endif
