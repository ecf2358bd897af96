/*
 * test_config.c: NETFUSE_ variables -> struct nf_io_config -> EAL argv,
 * and pool sizing (io/config.c). Pure C: no EAL, no device, no root.
 * Variables come from a table (fake getenv), host facts are made up.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "io/io.h"

struct kv {
	const char *k, *v;
};

static const char *tab_get(void *arg, const char *name)
{
	const struct kv *t = arg;

	for (; t && t->k; t++)
		if (strcmp(t->k, name) == 0)
			return t->v;
	return NULL;
}

static uint16_t cpus_allowed(void)
{
	cpu_set_t set;
	int n;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return (uint16_t)(n > NF_IO_AUTO_QUEUES_MAX ? NF_IO_AUTO_QUEUES_MAX : n);
}

static int parse(struct nf_io_config *c, const struct kv *t)
{
	return nf_io_config_parse(c, tab_get, (void *)t);
}

static int has_arg(const struct nf_io_argv *a, const char *s)
{
	int i;

	for (i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], s) == 0)
			return 1;
	return 0;
}

static int count_prefix(const struct nf_io_argv *a, const char *p)
{
	int i, n = 0;

	for (i = 0; i < a->argc; i++)
		n += strncmp(a->argv[i], p, strlen(p)) == 0;
	return n;
}

static void host(struct nf_io_host *h, long free_huge)
{
	memset(h, 0, sizeof(*h));
	h->pid = 4242;
	h->free_hugepages = free_huge;
	snprintf(h->cpus, sizeof(h->cpus), "0-3");
	h->mem_mb = 100;
}

static void test_defaults(void **state)
{
	struct nf_io_config c;
	char a[INET_ADDRSTRLEN];
	int i;

	(void)state;
	assert_int_equal(parse(&c, NULL), 0);
	assert_string_equal(c.dev, "--vdev=net_tap0,iface=nf0");
	assert_string_equal(c.tap_iface, "nf0");
	inet_ntop(AF_INET, &c.addr_be, a, sizeof(a));
	assert_string_equal(a, "198.18.0.2");
	assert_int_equal(c.prefix_len, 24);
	inet_ntop(AF_INET, &c.tap_addr_be, a, sizeof(a));
	assert_string_equal(a, "198.18.0.1");
	assert_int_equal(c.tap_prefix_len, 24);
	assert_int_equal(c.queues_auto, 0); /* 1 unless auto is asked for */
	assert_int_equal(c.nb_queues, 1);
	assert_int_equal(c.nb_desc, 1024);
	assert_int_equal(c.mtu, 0); /* the device's */
	assert_int_equal(c.huge, NF_IO_HUGE_AUTO);
	assert_int_equal(c.log, NF_IO_LOG_WARN);
	assert_int_equal(c.has_pci, 0);
	assert_string_equal(c.pcap, "");
	for (i = 0; i < NF_IO_OL_COUNT; i++)
		assert_int_equal(c.ol[i], NF_IO_OL_ON);
}

/* NETFUSE_QUEUES=auto: the CPUs of the affinity mask (at most 16); a
 * memif 1 (its peer's count is unknown); a number as given */
static void test_queues_auto(void **state)
{
	const struct kv tap1[] = { { "NETFUSE_QUEUES", "auto" }, { NULL, NULL } };
	const struct kv memif[] = {
		{ "NETFUSE_DEV", "net_memif,role=client,socket=/tmp/x.sock" },
		{ "NETFUSE_QUEUES", "auto" }, { NULL, NULL } };
	const struct kv two[] = { { "NETFUSE_QUEUES", "2" }, { NULL, NULL } };
	struct nf_io_config c;
	cpu_set_t old, one;
	(void)state;
	assert_int_equal(parse(&c, tap1), 0);
	assert_int_equal(c.queues_auto, 1);
	assert_int_equal(c.nb_queues, cpus_allowed());
	assert_int_equal(parse(&c, memif), 0);
	assert_int_equal(c.queues_auto, 1);
	assert_int_equal(c.nb_queues, 1);
	assert_int_equal(parse(&c, two), 0);
	assert_int_equal(c.queues_auto, 0);
	assert_int_equal(c.nb_queues, 2);
	/* pinned to one CPU (as the benchmarks pin servers): one */
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(parse(&c, tap1), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	assert_int_equal(c.nb_queues, 1);
}

static void test_values(void **state)
{
	const struct kv t[] = {
		{ "NETFUSE_DEV", "net_memif,role=server,socket=/tmp/x.sock" },
		{ "NETFUSE_ADDR", "198.19.1.10/16" },
		{ "NETFUSE_QUEUES", "4" },
		{ "NETFUSE_HUGE", "off" },
		{ "NETFUSE_LOG", "debug" },
		{ "NETFUSE_PCAP", "/tmp/nf.pcapng" },
		{ "NETFUSE_OFFLOAD_TX_CKSUM", "0" },
		{ "NETFUSE_OFFLOAD_TSO", "sw" },
		{ "NETFUSE_DESC", "512" },
		{ "NETFUSE_MTU", "9000" },
		{ "NETFUSE_GW", "198.19.0.1" },
		{ "NETFUSE_GW6", "fe80::1" },
		{ NULL, NULL },
	};
	struct nf_io_config c;
	char a[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(parse(&c, t), 0);
	assert_string_equal(c.dev,
			    "--vdev=net_memif,role=server,socket=/tmp/x.sock");
	assert_string_equal(c.tap_iface, "");
	inet_ntop(AF_INET, &c.addr_be, a, sizeof(a));
	assert_string_equal(a, "198.19.1.10");
	assert_int_equal(c.prefix_len, 16);
	assert_int_equal(c.nb_queues, 4);
	assert_int_equal(c.nb_desc, 512);
	assert_int_equal(c.mtu, 9000);
	assert_int_equal(c.huge, NF_IO_HUGE_OFF);
	assert_int_equal(c.log, NF_IO_LOG_DEBUG);
	assert_string_equal(c.pcap, "/tmp/nf.pcapng");
	assert_int_equal(c.ol[NF_IO_OL_TX_CKSUM], NF_IO_OL_OFF);
	assert_int_equal(c.ol[NF_IO_OL_TSO], NF_IO_OL_SW);
	assert_int_equal(c.ol[NF_IO_OL_RX_CKSUM], NF_IO_OL_ON);
	inet_ntop(AF_INET, &c.gw_be, a, sizeof(a));
	assert_string_equal(a, "198.19.0.1");
	inet_ntop(AF_INET6, c.gw6, a, sizeof(a));
	assert_string_equal(a, "fe80::1");
}

/* mistakes that must not cost the stack, each with its one line */
static void test_warnings(void **state)
{
	const struct kv logt[] = { { "NETFUSE_LOG", "infoo" }, { NULL, NULL } };
	const struct kv addr[] = { { "NETFUSE_ADDR", "10.9.0.2/24" },
				   { NULL, NULL } };
	struct nf_io_config c;

	(void)state;
	assert_int_equal(parse(&c, NULL), 0);
	assert_string_equal(c.warn, "");
	/* a typo in NETFUSE_LOG: warn level (the hook prints the line) */
	assert_int_equal(parse(&c, logt), 0);
	assert_int_equal(c.log, NF_IO_LOG_WARN);
	/* the stack's address outside the tap's subnet: a warning naming
	 * both variables */
	assert_int_equal(parse(&c, addr), 0);
	assert_non_null(strstr(c.warn, "NETFUSE_ADDR 10.9.0.2"));
	assert_non_null(strstr(c.warn, "NETFUSE_TAP_ADDR 198.18.0.1/24"));
	assert_null(strchr(c.warn, '\n'));
}

static void test_dev_forms(void **state)
{
	struct kv t[] = { { "NETFUSE_DEV", NULL }, { NULL, NULL } };
	struct nf_io_config c;

	(void)state;
	t[0].v = "0000:01:00.0";
	assert_int_equal(parse(&c, t), 0);
	assert_string_equal(c.dev, "-a 0000:01:00.0");
	assert_int_equal(c.has_pci, 1);

	t[0].v = "-a 03:00.1";
	assert_int_equal(parse(&c, t), 0);
	assert_int_equal(c.has_pci, 1);

	t[0].v = "--vdev=net_tap3";
	assert_int_equal(parse(&c, t), 0);
	assert_string_equal(c.tap_iface, "dtap0");  /* driver's default */
	assert_int_equal(c.has_pci, 0);

	t[0].v = "  --vdev=net_af_packet0,iface=veth0";
	assert_int_equal(parse(&c, t), 0);
	assert_string_equal(c.dev, "--vdev=net_af_packet0,iface=veth0");
	assert_string_equal(c.tap_iface, "");
}

/* Every bad value: -EINVAL and one line naming the variable. */
static void test_bad_values(void **state)
{
	static const struct kv bad[] = {
		{ "NETFUSE_DEV", "" },
		{ "NETFUSE_DEV", "hello" },
		{ "NETFUSE_DEV", "--vdev=net_tap0,iface=" },
		{ "NETFUSE_DEV", "--vdev=net_tap0,iface=averyveryverylongname" },
		{ "NETFUSE_ADDR", "198.18.0.300/24" },
		{ "NETFUSE_ADDR", "198.18.0.2/33" },
		{ "NETFUSE_ADDR", "198.18.0.0/24" },    /* network */
		{ "NETFUSE_ADDR", "198.18.0.255/24" },  /* broadcast */
		{ "NETFUSE_ADDR", "127.0.0.2/8" },
		{ "NETFUSE_ADDR", "224.0.0.1/24" },
		{ "NETFUSE_ADDR", "/24" },
		{ "NETFUSE_ADDR", "198.18.0.2/" },
		{ "NETFUSE_TAP_ADDR", "nope" },
		{ "NETFUSE_TAP_ADDR", "198.18.0.2/24" },  /* = NETFUSE_ADDR */
		{ "NETFUSE_GW", "198.19.0.1" },         /* off the subnet */
		{ "NETFUSE_GW", "198.18.0.2" },         /* ourselves */
		{ "NETFUSE_GW", "router" },
		{ "NETFUSE_GW6", "2001:3::1" },         /* off the prefix */
		{ "NETFUSE_GW6", "fe80::1::2" },
		{ "NETFUSE_QUEUES", "0" },
		{ "NETFUSE_QUEUES", "65" },
		{ "NETFUSE_QUEUES", "-1" },
		{ "NETFUSE_QUEUES", "2x" },
		{ "NETFUSE_QUEUES", "" },
		{ "NETFUSE_QUEUES", "99999999999999999999999" },
		{ "NETFUSE_DESC", "1000" },
		{ "NETFUSE_DESC", "32" },
		{ "NETFUSE_MTU", "575" },
		{ "NETFUSE_MTU", "9001" },
		{ "NETFUSE_MTU", "jumbo" },
		{ "NETFUSE_MTU", "" },
		{ "NETFUSE_HUGE", "yes" },
		{ "NETFUSE_EAL_ARGS", "--no-telemetry" },
		{ "NETFUSE_OFFLOAD_TX_CKSUM", "2" },
		{ "NETFUSE_OFFLOAD_RX_CKSUM", "sw" },  /* no software mode */
		{ "NETFUSE_OFFLOAD_RSS", "sw" },
		{ "NETFUSE_OFFLOAD_TSO", "" },
	};
	struct nf_io_config c;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kv t[2] = { bad[i], { NULL, NULL } };

		assert_int_equal(parse(&c, t), -EINVAL);
		if (strstr(c.err, bad[i].k) == NULL)
			fail_msg("error for %s='%s' does not name it: %s",
				 bad[i].k, bad[i].v, c.err);
		assert_null(strchr(c.err, '\n'));
		assert_true(strlen(c.err) > strlen(bad[i].k) + 5);
	}
}

static void test_long_values(void **state)
{
	char big[NF_IO_STR_MAX + 10];
	struct kv t[] = { { NULL, big }, { NULL, NULL } };
	struct nf_io_config c;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "--vdev=net_null0,", 17);
	t[0].k = "NETFUSE_DEV";
	assert_int_equal(parse(&c, t), -EINVAL);
	assert_non_null(strstr(c.err, "NETFUSE_DEV"));
	t[0].k = "NETFUSE_EAL_ARGS";
	assert_int_equal(parse(&c, t), -EINVAL);
	t[0].k = "NETFUSE_PCAP";
	assert_int_equal(parse(&c, t), -EINVAL);
}

static void test_argv_default(void **state)
{
	struct nf_io_config c;
	struct nf_io_host h;
	struct nf_io_argv a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, NULL), 0);
	host(&h, 512);
	assert_int_equal(nf_io_eal_argv(&c, &h, &a, err, sizeof(err)), 0);
	assert_string_equal(a.argv[0], "netfuse");
	assert_null(a.argv[a.argc]);
	assert_true(has_arg(&a, "--file-prefix=netfuse-4242"));
	assert_true(has_arg(&a, "--huge-unlink"));
	assert_false(has_arg(&a, "--in-memory"));  /* memif needs mp */
	assert_true(has_arg(&a, "--lcores=0@(0-3)"));
	assert_true(has_arg(&a, "--main-lcore=0"));
	assert_true(has_arg(&a, "--no-pci"));
	assert_true(has_arg(&a, "--log-level=warning"));
	assert_true(has_arg(&a, "--vdev=net_tap0,iface=nf0"));
	assert_false(has_arg(&a, "--no-huge"));
	assert_false(has_arg(&a, "--no-telemetry"));
	assert_int_equal(count_prefix(&a, "-s"), 0);  /* no service cores */
	assert_int_equal(count_prefix(&a, "-m"), 0);
	assert_int_equal(a.no_huge, 0);
	assert_int_equal(a.warn_no_huge, 0);
}

static void test_argv_no_hugepages(void **state)
{
	struct nf_io_config c;
	struct nf_io_host h;
	struct nf_io_argv a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, NULL), 0);
	host(&h, 0);
	assert_int_equal(nf_io_eal_argv(&c, &h, &a, err, sizeof(err)), 0);
	assert_true(has_arg(&a, "--no-huge"));
	assert_false(has_arg(&a, "--huge-unlink"));
	assert_false(has_arg(&a, "--in-memory"));  /* EAL refuses both */
	assert_true(has_arg(&a, "-m100"));
	assert_int_equal(a.warn_no_huge, 1);

	/* off: --no-huge without the warning */
	c.huge = NF_IO_HUGE_OFF;
	host(&h, 512);
	assert_int_equal(nf_io_eal_argv(&c, &h, &a, err, sizeof(err)), 0);
	assert_true(has_arg(&a, "--no-huge"));
	assert_int_equal(a.warn_no_huge, 0);

	/* on with none free: a clear error, no argv */
	c.huge = NF_IO_HUGE_ON;
	host(&h, 0);
	assert_int_equal(nf_io_eal_argv(&c, &h, &a, err, sizeof(err)),
			 -ENOMEM);
	assert_non_null(strstr(err, "NETFUSE_HUGE"));
	assert_non_null(strstr(err, "nr_hugepages"));
}

static void test_argv_pci_and_extra(void **state)
{
	const struct kv t[] = {
		{ "NETFUSE_DEV", "0000:3b:00.0" },
		{ "NETFUSE_EAL_ARGS", "--file-prefix=mine -l 2 --iova-mode=va" },
		{ NULL, NULL },
	};
	struct nf_io_config c;
	struct nf_io_host h;
	struct nf_io_argv a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, t), 0);
	host(&h, 512);
	assert_int_equal(nf_io_eal_argv(&c, &h, &a, err, sizeof(err)), 0);
	assert_false(has_arg(&a, "--no-pci"));
	assert_true(has_arg(&a, "-a"));
	assert_true(has_arg(&a, "0000:3b:00.0"));
	/* the user's own choices win, and are not doubled */
	assert_true(has_arg(&a, "--file-prefix=mine"));
	assert_int_equal(count_prefix(&a, "--file-prefix"), 1);
	assert_int_equal(count_prefix(&a, "--lcores"), 0);
	assert_true(has_arg(&a, "-l"));
	assert_true(has_arg(&a, "--iova-mode=va"));
}

static void test_argv_too_many(void **state)
{
	char extra[NF_IO_STR_MAX];
	struct kv t[] = { { "NETFUSE_EAL_ARGS", extra }, { NULL, NULL } };
	struct nf_io_config c;
	struct nf_io_host h;
	struct nf_io_argv a;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i + 2 < sizeof(extra); i += 2) {
		extra[i] = 'x';
		extra[i + 1] = ' ';
	}
	extra[i] = '\0';
	assert_int_equal(parse(&c, t), 0);
	host(&h, 512);
	assert_int_equal(nf_io_eal_argv(&c, &h, &a, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "NETFUSE_EAL_ARGS"));
}

static void test_host_probe(void **state)
{
	struct nf_io_host h;

	(void)state;
	nf_io_host_probe(&h, 77);
	assert_true(h.pid > 0);
	assert_int_equal(h.mem_mb, 77);
	assert_true(h.cpus[0] >= '0' && h.cpus[0] <= '9');
}

static void test_pool_size(void **state)
{
	uint32_t n1, n4;

	(void)state;
	n1 = nf_io_pool_size(1, 1024, 1024, 256);
	/* stack + rx ring + tx ring + cache must fit */
	assert_true(n1 >= 1024 + 2 * 1024 + 256);
	assert_int_equal((n1 + 1) & n1, 0);  /* 2^k - 1 */
	n4 = nf_io_pool_size(4, 1024, 1024, 256);
	assert_true(n4 >= 4u * (1024 + 2 * 1024 + 256));
	assert_int_equal((n4 + 1) & n4, 0);
	assert_true(nf_io_pool_size(1, 0, 64, 0) >= 128);
	/* absurd requests saturate instead of wrapping */
	assert_int_equal(nf_io_pool_size(64, UINT32_MAX, 8192, 512),
			 UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_queues_auto),
		cmocka_unit_test(test_dev_forms),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_argv_default),
		cmocka_unit_test(test_argv_no_hugepages),
		cmocka_unit_test(test_argv_pci_and_extra),
		cmocka_unit_test(test_argv_too_many),
		cmocka_unit_test(test_host_probe),
		cmocka_unit_test(test_pool_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
