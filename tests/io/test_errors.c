/*
 * test_errors.c: nf_io_init() on bad setups fails with -errno and one
 * line, never a crash, and leaves nothing behind: a net_tap interface name
 * already in use (caught before EAL starts), a device EAL cannot create,
 * a second start in the same process. No root, no device needed.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"

static int config(struct nf_io_config *c, const char *dev)
{
	setenv("NETFUSE_DEV", dev, 1);
	setenv("NETFUSE_HUGE", "off", 1);
	setenv("NETFUSE_LOG", "error", 1);
	return nf_io_config_from_env(c);
}

static void test_tap_name_in_use(void **state)
{
	struct nf_io_config c;
	struct nf_io *io = (struct nf_io *)&c;

	(void)state;
	/* "lo" always exists: a tap on it would join someone else's
	 * interface; refused before EAL starts, so EAL can still start */
	assert_int_equal(config(&c, "--vdev=net_tap0,iface=lo"), 0);
	assert_string_equal(c.tap_iface, "lo");
	assert_int_equal(nf_io_init(&io, &c, 256), -EEXIST);
	assert_null(io);
}

static void test_bad_device_then_again(void **state)
{
	struct nf_io_config c;
	struct nf_io *io = (struct nf_io *)&c;
	char dir[PATH_MAX];
	struct stat sb;
	int r;

	(void)state;
	assert_int_equal(config(&c, "--vdev=net_nosuchdriver0"), 0);
	r = nf_io_init(&io, &c, 256);
	assert_true(r < 0);
	assert_int_not_equal(r, -EALREADY);
	assert_null(io);
	/* EAL cannot start twice in a process: a clear error, not a crash */
	assert_int_equal(config(&c, "--vdev=net_null0"), 0);
	assert_int_equal(nf_io_init(&io, &c, 256), -EALREADY);
	assert_null(io);
	/* no EAL runtime dir left behind */
	snprintf(dir, sizeof(dir), "/var/run/dpdk/netfuse-%d", (int)getpid());
	assert_int_not_equal(stat(dir, &sb), 0);
	snprintf(dir, sizeof(dir), "/tmp/dpdk/netfuse-%d", (int)getpid());
	assert_int_not_equal(stat(dir, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_name_in_use),
		cmocka_unit_test(test_bad_device_then_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
