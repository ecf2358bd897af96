/*
 * log.c: io/'s one-line messages ("netfuse: ..." on stderr), filtered by
 * NETFUSE_LOG. Used by every io/ file; the level is set by nf_io_init().
 * The level is process-wide on purpose: io/ has one device per process.
 */
#include <stdarg.h>
#include <stdio.h>

#include "io/io_priv.h"

enum nf_io_log_level nf_io_log_level = NF_IO_LOG_WARN;

void nf_io_log(enum nf_io_log_level lvl, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (lvl > nf_io_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write: lines from several threads do not interleave */
	fprintf(stderr, "netfuse: %s\n", line);
}
