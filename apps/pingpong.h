/*
 * pingpong.h: the command line of apps/pingpong.c (options, defaults,
 * limits, parsing), apart from the program so tests/apps/test_args.c can
 * check it. Static inline: pingpong stays a single-file program.
 */
#ifndef APPS_PINGPONG_H
#define APPS_PINGPONG_H

#include <stdarg.h>

#include "apps/app_common.h"

#define PP_DEFAULT_PORT 7070
#define PP_MAX_THREADS  256
#define PP_MAX_CONNS    10000            /* per thread */
#define PP_MAX_OUTST    1024             /* per connection */
#define PP_MAX_SIZE     (1u << 20)       /* payload bytes */
#define PP_MAX_WBUF     (16u << 20)      /* outstanding * size per connection */

enum pp_mode { PP_SERVER, PP_CLIENT };

struct pp_opts {
	enum pp_mode mode;
	struct in_addr addr;       /* server: bind address; client: server's */
	bool v6;                   /* -a was an IPv6 address: addr6 */
	struct in6_addr addr6;
	uint16_t port;             /* server: 0 picks a free port (printed) */
	unsigned threads;
	unsigned conns;            /* client: per thread */
	unsigned outstanding;      /* client: per connection */
	uint64_t size;             /* client: payload bytes per request */
	double duration_s;         /* client: measured window; server: 0 = forever */
	double warmup_s;           /* client */
	double rate;               /* client: open-loop requests/s; 0 = closed */
	bool reuseport;            /* server */
	bool csv;                  /* client */
	bool progress;             /* client: a line per second on stderr */
	const char *cdf;           /* client: latency CDF file (--cdf), or NULL */
};

#define PP_USAGE                                                              \
	"usage: pingpong server [-a addr] [-p port] [-t threads] [--reuseport]\n" \
	"                       [-d seconds]\n"                                   \
	"       pingpong client [-a addr] [-p port] [-t threads]\n"               \
	"                       [-c conns-per-thread] [-o outstanding-per-conn]\n"\
	"                       [-s payload-bytes] [-d seconds] [-w warmup-s]\n"  \
	"                       [-r requests-per-s] [--progress] [--csv]\n"       \
	"                       [--cdf file]\n"                                   \
	"       pingpong --csv-header\n"                                          \
	"server: echoes every byte back; one epoll loop per thread; one shared\n" \
	"  listener, or one per thread with --reuseport; -p 0 picks a free port;\n"\
	"  prints 'listening on ADDR:PORT' when ready; runs -d seconds\n"         \
	"  (default 0 = until SIGINT/SIGTERM).\n"                                 \
	"client: per thread an epoll loop over -c connections, each keeping -o\n" \
	"  requests of -s bytes outstanding; once every connection is up, -w\n"  \
	"  seconds of warm-up, then times every request for -d seconds and\n"    \
	"  prints one summary line (with --csv on stderr, and one CSV line on\n" \
	"  stdout; columns: --csv-header); its setup_s is the connecting time.\n"\
	"  -r: open loop: requests sent as a Poisson process at this total rate\n"\
	"  on connections with fewer than -o in flight, latency counted from\n"   \
	"  when each was due (default: closed loop, -o always in flight).\n"     \
	"  --cdf: write the latency CDF as CSV (latency_us,fraction) to file.\n" \
	"defaults: -a 0.0.0.0 (server) / 127.0.0.1 (client), -p 7070, -t 1,\n"    \
	"  -c 1, -o 1, -s 1, -d 5 (client), -w 1.\n"                              \
	"exit status: 0 if no request failed, 1 if any did, 2 on bad arguments.\n"

static inline int pp_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int pp_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Parses argv (argv[0] the program, argv[1] the mode). 0 and *o filled,
 * 1 for --help / --csv-header (o->csv set for the latter), or -EINVAL with
 * a one-line reason in err.
 */
static inline int pp_parse_args(int argc, char **argv, struct pp_opts *o,
				char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->port = PP_DEFAULT_PORT;
	o->threads = o->conns = o->outstanding = 1;
	o->size = 1;
	o->warmup_s = 1;
	if (argc < 2)
		return pp_err(err, errlen, "missing mode (server or client)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return 1;
	if (!strcmp(argv[1], "--csv-header")) {
		o->csv = true;
		return 1;
	}
	if (!strcmp(argv[1], "server")) {
		o->mode = PP_SERVER;
		o->addr.s_addr = htonl(INADDR_ANY);
	} else if (!strcmp(argv[1], "client")) {
		o->mode = PP_CLIENT;
		o->addr.s_addr = htonl(INADDR_LOOPBACK);
		o->duration_s = 5;
	} else {
		return pp_err(err, errlen, "unknown mode '%s' (server or client)", argv[1]);
	}
	bool client = o->mode == PP_CLIENT;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (!strcmp(a, "--reuseport") && !client) {
			o->reuseport = true;
			continue;
		}
		if (!strcmp(a, "--csv") && client) {
			o->csv = true;
			continue;
		}
		if (!strcmp(a, "--progress") && client) {
			o->progress = true;
			continue;
		}
		if (!strcmp(a, "--cdf") && client) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return pp_err(err, errlen, "option --cdf needs a file name");
			o->cdf = argv[++i];
			continue;
		}
		bool known = a[0] == '-' && a[1] != '\0' && a[2] == '\0' &&
			     strchr(client ? "aptcosdwr" : "aptd", a[1]) != NULL;
		if (!known)
			return pp_err(err, errlen, "unknown option '%s' for %s mode", a,
				      argv[1]);
		if (i + 1 >= argc)
			return pp_err(err, errlen, "option %s needs a value", a);
		const char *v = argv[++i];
		uint64_t u = 0;
		int rc = 0;
		switch (a[1]) {
		case 'a':
			o->v6 = strchr(v, ':') != NULL;
			rc = o->v6 ? (inet_pton(AF_INET6, v, &o->addr6) == 1 ?
				      0 : -EINVAL) :
			     app_parse_addr(v, &o->addr);
			break;
		case 'p':
			rc = app_parse_u64(v, client ? 1 : 0, 65535, &u);
			o->port = (uint16_t)u;
			break;
		case 't':
			rc = app_parse_u64(v, 1, PP_MAX_THREADS, &u);
			o->threads = (unsigned)u;
			break;
		case 'c':
			rc = app_parse_u64(v, 1, PP_MAX_CONNS, &u);
			o->conns = (unsigned)u;
			break;
		case 'o':
			rc = app_parse_u64(v, 1, PP_MAX_OUTST, &u);
			o->outstanding = (unsigned)u;
			break;
		case 's':
			rc = app_parse_u64(v, 1, PP_MAX_SIZE, &o->size);
			break;
		case 'd':
			rc = app_parse_double(v, client ? 0.01 : 0, 86400, &o->duration_s);
			break;
		case 'w':
			rc = app_parse_double(v, 0, 3600, &o->warmup_s);
			break;
		case 'r':
			rc = app_parse_double(v, 0, 1e9, &o->rate);
			break;
		}
		if (rc)
			return pp_err(err, errlen, "bad value '%s' for %s", v, a);
	}
	if (client && o->size * o->outstanding > PP_MAX_WBUF)
		return pp_err(err, errlen, "-o x -s must be at most %u bytes", PP_MAX_WBUF);
	return 0;
}

#endif /* APPS_PINGPONG_H */
