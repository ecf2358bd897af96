/*
 * mcload.h: the command line of apps/mcload.c (options, defaults, limits,
 * parsing), apart from the program so tests/apps/test_args.c can check it.
 * Static inline: mcload stays a single-file program.
 */
#ifndef APPS_MCLOAD_H
#define APPS_MCLOAD_H

#include <stdarg.h>

#include "apps/app_common.h"
#include "apps/mc_proto.h"

#define MCL_DEFAULT_PORT 11211
#define MCL_MAX_THREADS  256
#define MCL_MAX_CONNS    10000               /* per thread */
#define MCL_MAX_DEPTH    1024
#define MCL_MAX_KEYS     100000000u          /* 8 bytes of state per key */
#define MCL_MAX_VSIZE    (512u * 1024)

struct mcl_opts {
	struct in_addr addr;
	uint16_t port;
	unsigned threads;
	unsigned conns;          /* per thread */
	unsigned depth;          /* pipelined requests per connection */
	uint64_t keys;
	unsigned ksize;
	uint64_t vsize;
	unsigned get_pct;        /* the rest are sets */
	double theta;            /* Zipf skew; 0 = uniform */
	bool preload;
	double duration_s, warmup_s;
	double rate;             /* open-loop requests/s; 0 = closed loop */
	uint64_t seed;
	bool csv, progress;
	const char *cdf;         /* latency CDF file (--cdf), or NULL */
};

#define MCL_USAGE                                                             \
	"usage: mcload [-a addr] [-p port] [-t threads] [-c conns-per-thread]\n"  \
	"              [-o pipeline-depth] [-k keys] [-K key-bytes]\n"            \
	"              [-V value-bytes] [-g get-percent] [-z theta | --uniform]\n"\
	"              [--no-preload] [-d seconds] [-w warmup-seconds]\n"         \
	"              [-r requests-per-s] [--seed n] [--progress] [--csv]\n"     \
	"              [--cdf file]\n"                                            \
	"       mcload --csv-header\n"                                            \
	"memcached text-protocol load: each connection keeps -o requests in\n"    \
	"  flight, -g percent gets and the rest sets, keys drawn Zipfian (theta -z) or\n"\
	"  uniformly from -k keys. First every key is set (the preload; skip\n"   \
	"  with --no-preload); once it is done and every connection is up, -w\n" \
	"  seconds of warm-up, then -d seconds measured (setup_s in the summary:\n"\
	"  the connecting time). Every response is checked: a get must return\n"  \
	"  the value last stored for its key (values are derived from key and\n"  \
	"  version); a wrong value, a lost key, or an error reply is an error.\n" \
	"  Sets of one key are never in flight together: a set drawn for a key\n" \
	"  with a set in flight redraws the key, and after 8 tries is a get.\n"  \
	"  Output as pingpong's: one summary line (stderr with --csv) and, with\n"\
	"  --csv, one CSV line on stdout (columns: --csv-header).\n"              \
	"  -r: open loop as pingpong's: requests due as a Poisson process at\n"  \
	"  this total rate, latency from when each was due (default: closed\n"  \
	"  loop, -o always in flight).\n"                                        \
	"  --cdf: write the latency CDF as CSV (latency_us,fraction) to file.\n" \
	"defaults: -a 127.0.0.1 -p 11211 -t 1 -c 1 -o 1 -k 1000000 -K 8 -V 8\n"   \
	"  -g 90 -z 0.99 -d 5 -w 1; give memcached memory for all keys (-m).\n"   \
	"exit status: 0 if every response was right, 1 if not, 2 on bad\n"       \
	"  arguments.\n"

static inline int mcl_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int mcl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* 0 and *o filled, 1 for --help / --csv-header (o->csv set), or -EINVAL */
static inline int mcl_parse_args(int argc, char **argv, struct mcl_opts *o,
				 char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->addr.s_addr = htonl(INADDR_LOOPBACK);
	o->port = MCL_DEFAULT_PORT;
	o->threads = o->conns = o->depth = 1;
	o->keys = 1000000;
	o->ksize = 8;
	o->vsize = 8;
	o->get_pct = 90;
	o->theta = 0.99;
	o->preload = true;
	o->duration_s = 5;
	o->warmup_s = 1;
	o->seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (!strcmp(a, "--csv-header")) {
			o->csv = true;
			return 1;
		}
		if (!strcmp(a, "--csv")) {
			o->csv = true;
			continue;
		}
		if (!strcmp(a, "--progress")) {
			o->progress = true;
			continue;
		}
		if (!strcmp(a, "--no-preload")) {
			o->preload = false;
			continue;
		}
		if (!strcmp(a, "--cdf")) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return mcl_err(err, errlen, "option --cdf needs a file name");
			o->cdf = argv[++i];
			continue;
		}
		if (!strcmp(a, "--uniform")) {
			o->theta = 0;
			continue;
		}
		char opt;
		if (!strcmp(a, "--seed"))
			opt = 'S';
		else if (a[0] == '-' && a[1] != '\0' && a[2] == '\0' &&
			 strchr("aptcokKVgzdwr", a[1]) != NULL)
			opt = a[1];
		else
			return mcl_err(err, errlen, "unknown option '%s'", a);
		if (i + 1 >= argc)
			return mcl_err(err, errlen, "option %s needs a value", a);
		const char *v = argv[++i];
		uint64_t u = 0;
		int rc = 0;
		switch (opt) {
		case 'a':
			rc = app_parse_addr(v, &o->addr);
			break;
		case 'p':
			rc = app_parse_u64(v, 1, 65535, &u);
			o->port = (uint16_t)u;
			break;
		case 't':
			rc = app_parse_u64(v, 1, MCL_MAX_THREADS, &u);
			o->threads = (unsigned)u;
			break;
		case 'c':
			rc = app_parse_u64(v, 1, MCL_MAX_CONNS, &u);
			o->conns = (unsigned)u;
			break;
		case 'o':
			rc = app_parse_u64(v, 1, MCL_MAX_DEPTH, &u);
			o->depth = (unsigned)u;
			break;
		case 'k':
			rc = app_parse_u64(v, 1, MCL_MAX_KEYS, &o->keys);
			break;
		case 'K':
			rc = app_parse_u64(v, 1, MC_MAX_KEY, &u);
			o->ksize = (unsigned)u;
			break;
		case 'V':
			rc = app_parse_u64(v, 1, MCL_MAX_VSIZE, &o->vsize);
			break;
		case 'g':
			rc = app_parse_u64(v, 0, 100, &u);
			o->get_pct = (unsigned)u;
			break;
		case 'z':
			rc = app_parse_double(v, 0, 0.999999, &o->theta);
			break;
		case 'd':
			rc = app_parse_double(v, 0.01, 86400, &o->duration_s);
			break;
		case 'w':
			rc = app_parse_double(v, 0, 3600, &o->warmup_s);
			break;
		case 'r':
			rc = app_parse_double(v, 0, 1e9, &o->rate);
			break;
		case 'S':
			rc = app_parse_u64(v, 0, UINT64_MAX, &o->seed);
			break;
		}
		if (rc)
			return mcl_err(err, errlen, "bad value '%s' for %s", v, a);
	}
	if (o->ksize < mc_key_min_size(o->keys))
		return mcl_err(err, errlen, "-K %u is too short for %" PRIu64
			       " keys (hex keys need %u bytes)", o->ksize, o->keys,
			       mc_key_min_size(o->keys));
	return 0;
}

#endif /* APPS_MCLOAD_H */
