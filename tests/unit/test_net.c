/* Unit tests for the address type (core/net.c): one form for IPv4 and
 * IPv6, parsed and printed the way the listen keys, the inventory and the
 * boot policy use it. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "core/net.h"
#include "inventory/inventory.h"

static void test_ipaddr_forms(void **state)
{
	struct ipaddr a, b;
	char buf[IPADDR_STRLEN];

	(void)state;
	assert_int_equal(ipaddr_parse("10.1.2.3", &a), 0);
	assert_true(ipaddr_is_v4(&a));
	assert_int_equal(ipaddr_to_v4(&a), inet_addr("10.1.2.3"));
	assert_string_equal(ipaddr_str(&a, buf), "10.1.2.3");
	/* The IPv4-mapped IPv6 text is the same address. */
	assert_int_equal(ipaddr_parse("::ffff:10.1.2.3", &b), 0);
	assert_true(ipaddr_eq(&a, &b));
	assert_int_equal(ipaddr_hash(&a, 7), ipaddr_hash(&b, 7));

	assert_int_equal(ipaddr_parse("2001:db8::1", &a), 0);
	assert_false(ipaddr_is_v4(&a));
	assert_int_equal(ipaddr_to_v4(&a), 0);
	assert_string_equal(ipaddr_str(&a, buf), "2001:db8::1");
	assert_int_not_equal(ipaddr_hash(&a, 0), ipaddr_hash(&b, 0));

	assert_int_equal(ipaddr_parse("10.1.2", &a), -EINVAL);
	assert_int_equal(ipaddr_parse("fe80::1%eth0", &a), -EINVAL);
	a = ipaddr_v4(0);
	assert_true(ipaddr_is_any(&a));
	memset(&a, 0, sizeof(a));
	assert_true(ipaddr_is_any(&a));
}

static void test_netaddr_forms(void **state)
{
	struct netaddr a;
	char buf[NETADDR_STRLEN];

	(void)state;
	assert_int_equal(netaddr_parse("10.0.0.1", 69, &a), 0);
	assert_string_equal(netaddr_str(&a, buf), "10.0.0.1:69");
	assert_int_equal(netaddr_parse("*:514", 69, &a), 0);
	assert_true(ipaddr_is_v4(&a.ip) && ipaddr_is_any(&a.ip) && a.port == 514);
	assert_int_equal(netaddr_parse("[2001:db8::2]:6969", 69, &a), 0);
	assert_string_equal(netaddr_str(&a, buf), "[2001:db8::2]:6969");
	assert_int_equal(netaddr_parse("2001:db8::2", 69, &a), 0);
	assert_string_equal(netaddr_str(&a, buf), "[2001:db8::2]:69");
	assert_int_equal(netaddr_parse("[10.0.0.1]:69", 69, &a), -EINVAL);
	assert_int_equal(netaddr_parse("[2001:db8::2]69", 69, &a), -EINVAL);
	assert_int_equal(netaddr_parse("[2001:db8::2]:0", 69, &a), -EINVAL);
}

/* The boot policy prints whatever family it is given: an IPv6 server is
 * bracketed in the script's URLs. */
static void test_boot_expand_v6(void **state)
{
	struct conf_group g = {
	    .name = "g", .kernel = "vmlinuz", .cmdline = "ip=%{ip} srv=%{server}"};
	struct boot_node n = {.name = "n1", .group = &g};
	char out[256], *script;
	size_t len;

	(void)state;
	assert_int_equal(ipaddr_parse("2001:db8::10", &n.ip), 0);
	assert_int_equal(ipaddr_parse("2001:db8::1", &n.server), 0);
	assert_true(boot_expand(&n, g.cmdline, out, sizeof(out)) > 0);
	assert_string_equal(out, "ip=2001:db8::10 srv=2001:db8::1");
	assert_int_equal(boot_render(&n, "herd/ipxe/02-00-00-00-00-01.ipxe", &script, &len), 0);
	assert_non_null(strstr(script, "kernel tftp://[2001:db8::1]/vmlinuz"));
	free(script);
}

/* The inventory holds the type, and says why an IPv6 address cannot be
 * used yet. */
static void test_inventory_v6_refused(void **state)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv;
	char *report = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&report, &len);

	(void)state;
	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf",
					  "[dhcp]\nenabled = yes\nlease_file =\n"
					  "[subnet a]\nnetwork = 10.0.0.0/16\n"
					  "[group default]\nkernel = k\n",
					  stderr),
			 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab",
					       "n1 02:00:00:00:00:01 10.0.0.5 default\n"
					       "n2 02:00:00:00:00:02 2001:db8::5 default\n",
					       &cfg->dhcp, errs),
			 1);
	fclose(errs);
	assert_non_null(strstr(report, "t.tab:2: 2001:db8::5: an IPv6 address needs DHCPv6"));
	struct ipaddr a = ipaddr_v4(inet_addr("10.0.0.5"));
	assert_non_null(inventory_by_ip(inv, &a));
	free(report);
	inventory_free(inv);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipaddr_forms),
	    cmocka_unit_test(test_netaddr_forms),
	    cmocka_unit_test(test_boot_expand_v6),
	    cmocka_unit_test(test_inventory_v6_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
