/*
 * test_route.c: vfs/route.c on its own: NETFUSE_ROUTE parsing (good and
 * bad rules, the one-line error), and the routing decision for bind and
 * connect (loopback fixed, rules first match, defaults).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "vfs/vfs_priv.h"

static struct vfs_route_cfg rc;

static int setup(void **state)
{
	(void)state;
	memset(&rc, 0, sizeof(rc));
	rc.ip_be = inet_addr("198.18.0.2");
	rc.mask_be = inet_addr("255.255.255.0");
	return 0;
}

static int decide(const char *ip, uint16_t port, int is_bind, int *why)
{
	return vfs_route_decide(&rc, inet_addr(ip), htons(port), is_bind, why);
}

static void test_defaults(void **state)
{
	int why;
	(void)state;
	assert_int_equal(decide("0.0.0.0", 80, 1, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("198.18.0.2", 80, 1, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("10.1.2.3", 80, 1, &why), VFS_TO_KERNEL);
	assert_int_equal(why, VFS_FB_other_addr);
	assert_int_equal(decide("127.0.0.1", 80, 1, &why), VFS_TO_KERNEL);
	assert_int_equal(why, VFS_FB_loopback);
	assert_int_equal(decide("127.9.9.9", 80, 0, &why), VFS_TO_KERNEL);
	assert_int_equal(why, VFS_FB_loopback);
	assert_int_equal(decide("198.18.0.1", 80, 0, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("198.18.0.200", 9, 0, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("198.18.1.1", 80, 0, &why), VFS_TO_KERNEL);
	assert_int_equal(why, VFS_FB_other_addr);
	assert_int_equal(decide("0.0.0.0", 80, 0, &why), VFS_TO_KERNEL);
}

static void test_rules(void **state)
{
	char err[160] = "";
	int why;
	(void)state;
	assert_int_equal(vfs_route_parse(&rc, "kernel:port=22,kernel:port=6000-6010"
					 "+addr=198.18.0.0/24,netfuse:addr=10.9.0.0/16",
					 err, sizeof(err)), 0);
	assert_int_equal(rc.nrules, 3);
	assert_int_equal(decide("0.0.0.0", 22, 1, &why), VFS_TO_KERNEL);
	assert_int_equal(why, VFS_FB_rule);
	assert_int_equal(decide("0.0.0.0", 23, 1, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("198.18.0.1", 6005, 0, &why), VFS_TO_KERNEL);
	assert_int_equal(decide("198.18.0.1", 6011, 0, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("10.9.200.1", 80, 0, &why), VFS_TO_NETFUSE);
	assert_int_equal(decide("10.8.0.1", 80, 0, &why), VFS_TO_KERNEL);
	/* loopback is not overridable */
	assert_int_equal(vfs_route_parse(&rc, "netfuse:all", err, sizeof(err)), 0);
	assert_int_equal(decide("127.0.0.1", 80, 0, &why), VFS_TO_KERNEL);
	assert_int_equal(decide("8.8.8.8", 53, 0, &why), VFS_TO_NETFUSE);
	/* empty: no rules */
	assert_int_equal(vfs_route_parse(&rc, "", err, sizeof(err)), 0);
	assert_int_equal(rc.nrules, 0);
	assert_int_equal(vfs_route_parse(&rc, NULL, err, sizeof(err)), 0);
}

static void test_bad_rules(void **state)
{
	static const char *const bad[] = {
		"kernel", "kern:port=1", "kernel:", "kernel:port=", "kernel:port=x",
		"kernel:port=70000", "kernel:port=9-3", "kernel:addr=1.2.3",
		"kernel:addr=1.2.3.4/33", "kernel:foo=1", "netfuse:port=1-",
		"kernel:port=1,kernel:port=2,kernel:port=3,kernel:port=4,"
		"kernel:port=5,kernel:port=6,kernel:port=7,kernel:port=8,"
		"kernel:port=9,kernel:port=10,kernel:port=11,kernel:port=12,"
		"kernel:port=13,kernel:port=14,kernel:port=15,kernel:port=16,"
		"kernel:port=17",
	};
	char err[160];
	unsigned i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(vfs_route_parse(&rc, bad[i], err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "NETFUSE_ROUTE"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_rules, setup),
		cmocka_unit_test_setup(test_bad_rules, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
