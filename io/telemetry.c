/*
 * telemetry.c: the DPDK telemetry commands /netfuse/stats,
 * /netfuse/sockets and /netfuse/config, so dpdk-telemetry.py (or any
 * client of the v2 socket in the EAL runtime dir) reads a running
 * program's counters and sockets.
 *
 * Counters and sockets live in stack/ and vfs/, which must not see DPDK
 * types: they hand io/ a callback (nf_io_tel_set_stats/_sockets) that
 * fills a struct nf_io_tel writer, which io/ maps onto rte_tel_data.
 * Callbacks run on DPDK's telemetry thread, concurrently with the queues.
 *
 * One device per process, and DPDK 22.11 cannot unregister a command, so
 * the commands find the device through one file-level pointer (tel_io),
 * set by nf_io_init() and cleared by nf_io_fini() under tel_lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_priv.h"

#include <rte_telemetry.h>


#define TEL_MAX_ENTRIES 250

struct nf_io_tel {
	struct rte_tel_data *d;
	unsigned n;
};

static rte_spinlock_t tel_lock = RTE_SPINLOCK_INITIALIZER;
static struct nf_io *tel_io;
static int tel_registered;

void nf_io_tel_u64(struct nf_io_tel *t, const char *name, uint64_t v)
{
	if (t->n >= TEL_MAX_ENTRIES)
		return;
	if (rte_tel_data_add_dict_u64(t->d, name, v) == 0)
		t->n++;
}

void nf_io_tel_str(struct nf_io_tel *t, const char *name, const char *v)
{
	if (t->n >= TEL_MAX_ENTRIES)
		return;
	if (rte_tel_data_add_dict_string(t->d, name, v) == 0)
		t->n++;
}

struct nf_io_tel *nf_io_tel_obj_begin(struct nf_io_tel *t)
{
	struct nf_io_tel *o;
	if (t->n >= TEL_MAX_ENTRIES)
		return NULL;
	o = malloc(sizeof(*o));
	if (!o)
		return NULL;
	o->d = rte_tel_data_alloc();
	o->n = 0;
	if (!o->d) {
		free(o);
		return NULL;
	}
	rte_tel_data_start_dict(o->d);
	return o;
}

void nf_io_tel_obj_end(struct nf_io_tel *t, const char *name,
		       struct nf_io_tel *o)
{
	if (!o)
		return;
	if (rte_tel_data_add_dict_container(t->d, name, o->d, 0) == 0)
		t->n++;
	else
		rte_tel_data_free(o->d);
	free(o);
}

/* A command's start: its reply a dict, tel_lock held and the port's
 * nf_io returned; NULL (lock released) when there is none */
static struct nf_io *tel_begin(struct rte_tel_data *d)
{
	struct nf_io *io;
	rte_tel_data_start_dict(d);
	rte_spinlock_lock(&tel_lock);
	io = tel_io;
	if (io == NULL)
		rte_spinlock_unlock(&tel_lock);
	return io;
}

static void tel_qstats(struct nf_io_tel *t, const struct nf_io_queue *q)
{
	char k[64];

#define Q(field) do { \
		snprintf(k, sizeof(k), "io_q%u_" #field, q->qid); \
		nf_io_tel_u64(t, k, q->st.field); \
	} while (0)
	Q(rx_pkts); Q(tx_pkts); Q(tx_bytes); Q(tx_full); Q(sw_cksum);
	Q(gso_in); Q(gso_out); Q(linearized); Q(drop_gso);
	Q(drop_bad_offload); Q(drop_linearize); Q(drop_seg_tx);
	Q(alloc_fail); Q(wakes_armed);
#undef Q
}

static int cmd_stats(const char *cmd, const char *params,
		     struct rte_tel_data *d)
{
	struct nf_io_tel t = { .d = d };
	struct rte_eth_stats es;
	struct nf_io *io;
	char k[64];
	unsigned i;
	int r = 0;

	(void)cmd;
	io = tel_begin(d);
	if (io == NULL)
		return -ENODEV;
	if (rte_eth_stats_get(io->port, &es) == 0) {
		nf_io_tel_u64(&t, "port_ipackets", es.ipackets);
		nf_io_tel_u64(&t, "port_opackets", es.opackets);
		nf_io_tel_u64(&t, "port_ibytes", es.ibytes);
		nf_io_tel_u64(&t, "port_obytes", es.obytes);
		nf_io_tel_u64(&t, "port_imissed", es.imissed);
		nf_io_tel_u64(&t, "port_ierrors", es.ierrors);
		nf_io_tel_u64(&t, "port_oerrors", es.oerrors);
		nf_io_tel_u64(&t, "port_rx_nombuf", es.rx_nombuf);
		for (i = 0; i < io->nb_queues &&
			    i < RTE_ETHDEV_QUEUE_STAT_CNTRS; i++) {
			snprintf(k, sizeof(k), "port_q%u_ipackets", i);
			nf_io_tel_u64(&t, k, es.q_ipackets[i]);
			snprintf(k, sizeof(k), "port_q%u_opackets", i);
			nf_io_tel_u64(&t, k, es.q_opackets[i]);
			snprintf(k, sizeof(k), "port_q%u_errors", i);
			nf_io_tel_u64(&t, k, es.q_errors[i]);
		}
	}
	for (i = 0; i < io->nb_queues; i++)
		if (io->q[i])
			tel_qstats(&t, io->q[i]);
	if (io->pcap) {
		nf_io_tel_u64(&t, "pcap_pkts", io->pcap_pkts);
		nf_io_tel_u64(&t, "pcap_drops", io->pcap_drops);
	}
	if (io->tel_stats.fn)
		r = io->tel_stats.fn(io->tel_stats.arg, &t, params);
	rte_spinlock_unlock(&tel_lock);
	return r < 0 ? r : 0;
}

static int cmd_sockets(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	struct nf_io_tel t = { .d = d };
	struct nf_io *io;
	int r = 0;

	(void)cmd;
	io = tel_begin(d);
	if (io == NULL)
		return -ENODEV;
	if (io->tel_sockets.fn)
		r = io->tel_sockets.fn(io->tel_sockets.arg, &t, params);
	else
		nf_io_tel_str(&t, "note", "no socket layer registered");
	rte_spinlock_unlock(&tel_lock);
	return r < 0 ? r : 0;
}

/* One object per stack instance, named by its index: the callback is
 * asked for index "0", "1", ... until it answers -ENOENT. */
static int cmd_instances(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	struct nf_io *io;
	int r = 0, i;

	(void)cmd;
	(void)params;
	io = tel_begin(d);
	if (io == NULL)
		return -ENODEV;
	if (!io->tel_instances.fn) {
		rte_spinlock_unlock(&tel_lock);
		return 0;
	}
	for (i = 0; i < 64; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		struct nf_io_tel t;
		char idx[16];

		if (!c)
			break;
		rte_tel_data_start_dict(c);
		t.d = c;
		t.n = 0;
		snprintf(idx, sizeof(idx), "%d", i);
		r = io->tel_instances.fn(io->tel_instances.arg, &t, idx);
		if (r < 0 || rte_tel_data_add_dict_container(d, idx, c, 0) != 0) {
			rte_tel_data_free(c);
			break;
		}
	}
	rte_spinlock_unlock(&tel_lock);
	return 0;
}

static const char *const ol_mode[] = { "on", "sw", "off" };
static const char *const ol_key[NF_IO_OL_COUNT] = {
	"offload_rx_cksum", "offload_tx_cksum", "offload_tso",
	"offload_multi_seg", "offload_rss", "offload_rx_intr",
};

static int cmd_config(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	struct nf_io_tel t = { .d = d };
	char s[128], a[INET_ADDRSTRLEN];
	struct nf_io *io;
	const struct nf_io_config *c;
	const uint8_t *mac;
	unsigned i;

	(void)cmd;
	(void)params;
	io = tel_begin(d);
	if (io == NULL)
		return -ENODEV;
	c = &io->cfg;
	nf_io_tel_str(&t, "dev", c->dev);
	nf_io_tel_str(&t, "driver", io->driver ? io->driver : "?");
	inet_ntop(AF_INET, &c->addr_be, a, sizeof(a));
	snprintf(s, sizeof(s), "%s/%u", a, c->prefix_len);
	nf_io_tel_str(&t, "addr", s);
	if (c->tap_iface[0] && c->tap_addr_be) {
		inet_ntop(AF_INET, &c->tap_addr_be, a, sizeof(a));
		snprintf(s, sizeof(s), "%s %s/%u", c->tap_iface, a,
			 c->tap_prefix_len);
		nf_io_tel_str(&t, "tap", s);
	}
	nf_io_tel_u64(&t, "port", io->port);
	nf_io_tel_u64(&t, "queues", io->nb_queues);
	nf_io_tel_u64(&t, "desc", io->nb_desc);
	nf_io_tel_u64(&t, "pool_bufs", io->pool_n);
	nf_io_tel_str(&t, "hugepages", io->no_huge ? "no" : "yes");
	nf_io_tel_str(&t, "eal_args", io->eal_line);
	for (i = 0; i < NF_IO_OL_COUNT; i++)
		nf_io_tel_str(&t, ol_key[i], ol_mode[c->ol[i]]);
	nf_io_tel_u64(&t, "caps", io->caps);
	if (io->q[0]) {
		mac = io->q[0]->ops.mac;
		snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x",
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		nf_io_tel_str(&t, "mac", s);
		nf_io_tel_u64(&t, "mtu", io->q[0]->ops.mtu);
		nf_io_tel_u64(&t, "rss_key_len", io->q[0]->ops.rss_key_len);
		nf_io_tel_str(&t, "wake", io->q[0]->wake == NF_IO_WAKE_INTR ?
			      "rx-interrupt" : io->q[0]->wake ==
			      NF_IO_WAKE_TIMER ? "timerfd" : "none");
	}
	nf_io_tel_u64(&t, "startup_ns", io->startup_ns);
	nf_io_tel_u64(&t, "eal_init_ns", io->eal_ns);
	nf_io_tel_str(&t, "pcap", c->pcap[0] ? c->pcap : "off"); /* at start */
	rte_spinlock_unlock(&tel_lock);
	return 0;
}

/* /netfuse/capture[,start COUNT PATH | ,stop]: attach a capture to the
 * running process (COUNT 0: until stopped; PATH absolute, written by
 * this process), stop it; always answers the state: capturing 0/1, file,
 * packets, drops, error (of a start that failed) */
static int cmd_capture(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	struct nf_io_tel t = { .d = d };
	char path[NF_IO_STR_MAX], err[NF_IO_ERR_MAX] = "";
	uint64_t pkts, drops;
	struct nf_io *io;
	int on;

	(void)cmd;
	io = tel_begin(d);
	if (io == NULL)
		return -ENODEV;
	if (params && strncmp(params, "start ", 6) == 0) {
		char *end;
		unsigned long long n = strtoull(params + 6, &end, 10);
		if (end == params + 6 || *end != ' ' || end[1] != '/')
			snprintf(err, sizeof(err), "want 'start COUNT "
				 "/absolute/path'");
		else
			(void)nf_io_capture_start(io, end + 1, n, err,
						  sizeof(err));
	} else if (params && strcmp(params, "stop") == 0) {
		nf_io_capture_stop(io);
	} else if (params && params[0]) {
		snprintf(err, sizeof(err), "want no parameter, 'start COUNT "
			 "PATH' or 'stop'");
	}
	on = nf_io_capture_status(io, path, sizeof(path), &pkts, &drops);
	nf_io_tel_u64(&t, "capturing", (uint64_t)on);
	nf_io_tel_str(&t, "file", path);
	nf_io_tel_u64(&t, "packets", pkts);
	nf_io_tel_u64(&t, "drops", drops);
	nf_io_tel_str(&t, "error", err);
	rte_spinlock_unlock(&tel_lock);
	return 0;
}

int nf_io_tel_register(struct nf_io *io)
{
	int r = 0;

	rte_spinlock_lock(&tel_lock);
	tel_io = io;
	rte_spinlock_unlock(&tel_lock);
	if (tel_registered)
		return 0;
	r |= rte_telemetry_register_cmd("/netfuse/stats", cmd_stats,
		"Port, queue and stack counters. No parameters");
	r |= rte_telemetry_register_cmd("/netfuse/sockets", cmd_sockets,
		"Open netfuse sockets. No parameters");
	r |= rte_telemetry_register_cmd("/netfuse/instances", cmd_instances,
		"One object per stack instance. No parameters");
	r |= rte_telemetry_register_cmd("/netfuse/config", cmd_config,
		"netfuse configuration. No parameters");
	r |= rte_telemetry_register_cmd("/netfuse/capture", cmd_capture,
		"Capture state; 'start COUNT /path' (COUNT 0: until "
		"stopped) or 'stop'");
	tel_registered = 1;
	return r ? -EINVAL : 0;
}

void nf_io_tel_unregister(struct nf_io *io)
{
	rte_spinlock_lock(&tel_lock);
	if (tel_io == io)
		tel_io = NULL;
	rte_spinlock_unlock(&tel_lock);
}

void nf_io_tel_set_stats(struct nf_io *io, nf_io_tel_fn fn, void *arg)
{
	rte_spinlock_lock(&tel_lock);
	io->tel_stats.fn = fn;
	io->tel_stats.arg = arg;
	rte_spinlock_unlock(&tel_lock);
}

void nf_io_tel_set_sockets(struct nf_io *io, nf_io_tel_fn fn, void *arg)
{
	rte_spinlock_lock(&tel_lock);
	io->tel_sockets.fn = fn;
	io->tel_sockets.arg = arg;
	rte_spinlock_unlock(&tel_lock);
}

void nf_io_tel_set_instances(struct nf_io *io, nf_io_tel_fn fn, void *arg)
{
	rte_spinlock_lock(&tel_lock);
	io->tel_instances.fn = fn;
	io->tel_instances.arg = arg;
	rte_spinlock_unlock(&tel_lock);
}
