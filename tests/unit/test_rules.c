/* The hardware decides the image: [rule] sections and their checks, the
 * facts a client says, the rule they meet, the names rules give, the iPXE
 * report, option 82 through the DHCP server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/policy.h"
#include "boot/rules.h"
#include "conf/conf.h"
#include "conf/conf_rules.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_facts.h"
#include "dhcp/dhcp_wire.h"
#include "http/http_req.h"
#include "inventory/inventory.h"

static const char base_conf[] =
    "[http]\nenabled = yes\nlisten = 10.1.0.1:8080\n"
    "[dhcp]\nenabled = yes\nlease_file =\nunknown = pool\n"
    "[subnet a]\nnetwork = 10.1.0.0/24\npool = 10.1.0.100 - 10.1.0.120\n"
    "[subnet rack]\nnetwork = 10.2.0.0/24\npool = 10.2.0.100 - 10.2.0.120\n"
    "[group default]\nkernel = vmlinuz\ncmdline = g=default n=%{name}\n"
    "[group gpu]\nkernel = vmlinuz\ncmdline = g=gpu n=%{name}\n"
    "[group efi]\nkernel = vmlinuz\ncmdline = g=efi\n"
    "[group rack]\nkernel = vmlinuz\ncmdline = g=rack n=%{name}\n";

static const char rules_conf[] = "[rule efi]\narch = 7, 9\nvendor_class = PXEClient:*\n"
				 "group = efi\n"
				 "[rule gpu]\nproduct = GPU-*\ngroup = gpu\nname = gpu-%{serial}\n"
				 "[rule rack]\ncircuit_id = port*\nname = r3-%{circuit_id}\n"
				 "group = rack\n";

/* Loads base_conf + extra; returns the problems, their text in errs. */
static int load(struct herd_config *cfg, const char *extra, char *errs, size_t size)
{
	char text[4096];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int n;

	snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	conf_defaults(cfg);
	n = conf_load_string(cfg, "t.conf", text, f);
	fclose(f);
	snprintf(errs, size, "%s", buf ? buf : "");
	free(buf);
	return n;
}

/* The line number of the first line of base_conf + extra holding `s`. */
static int line_of(const char *extra, const char *s)
{
	char text[4096];
	int line = 1;

	snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	for (const char *p = text; p < strstr(text, s); p++)
		line += *p == '\n';
	return line;
}

static void expect_problem(const char *extra, const char *at, const char *reason)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	char errs[4096], want[512];

	assert_true(load(cfg, extra, errs, sizeof(errs)) > 0);
	snprintf(want, sizeof(want), "t.conf:%d: %s", line_of(extra, at), reason);
	if (strstr(errs, want) == NULL)
		fail_msg("wanted \"%s\" in:\n%s", want, errs);
	free(cfg);
}

static void test_rules_load_in_file_order(void **state)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	char errs[4096];

	(void)state;
	assert_int_equal(load(cfg, rules_conf, errs, sizeof(errs)), 0);
	assert_int_equal(cfg->dhcp.nrules, 3);
	assert_string_equal(cfg->dhcp.rules[0].name, "efi");
	assert_string_equal(cfg->dhcp.rules[1].match[RULE_PRODUCT], "GPU-*");
	assert_string_equal(cfg->dhcp.rules[2].node_name, "r3-%{circuit_id}");
	assert_int_equal(cfg->dhcp.rules[1].match_line[RULE_PRODUCT],
			 line_of(rules_conf, "product = GPU-*"));
	assert_int_equal(cfg->dhcp.rules[0].match_line[RULE_SERIAL], 0);
	free(cfg);
}

static void test_rule_problems(void **state)
{
	(void)state;
	expect_problem("[rule x]\nproduct = a\ngroup = nope\n", "group = nope",
		       "[rule x] group 'nope' does not exist");
	expect_problem("[rule x]\nproduct = a\n", "[rule x]", "[rule x] has no group");
	expect_problem("[rule x]\narch = 7 efi\ngroup = gpu\n", "arch = 7 efi",
		       "[rule x] arch: '7 efi' is not a list of client architectures");
	expect_problem("[rule x]\narch = 70000\ngroup = gpu\n", "arch = 70000",
		       "[rule x] arch: '70000' is not a list");
	expect_problem("[rule x]\nvendor_class = [PXE\ngroup = gpu\n", "vendor_class",
		       "[rule x] vendor_class: the pattern '[PXE' has a '[' without its ']'");
	expect_problem("[rule x]\nserial = ab\\\ngroup = gpu\n", "serial",
		       "[rule x] serial: the pattern 'ab\\' ends with a lone '\\'");
	expect_problem("[rule x]\nname = n-%{port}\ngroup = gpu\n", "name = n-",
		       "[rule x] name: 'n-%{port}' has %{port}");
	expect_problem("[rule x]\nname = a/b\ngroup = gpu\n", "name = a/b",
		       "[rule x] name: 'a/b' may hold letters");
	expect_problem("[rule x]\nproduct = GPU-*\nkernel = k\ngroup = gpu\n", "kernel = k",
		       "unknown setting 'kernel' in [rule x]");
	expect_problem("[group auto]\n", "[group auto]", "[group auto]: 'auto' is the inventory's");
}

static void test_unreachable_rules(void **state)
{
	(void)state;
	/* The same pattern, a wider one, a catch-all, a wider arch list. */
	expect_problem("[rule a]\nproduct = GPU-*\ngroup = gpu\n"
		       "[rule b]\nproduct = GPU-*\nserial = 1\ngroup = efi\n",
		       "[rule b]", "[rule b] is never reached: [rule a] (line");
	expect_problem("[rule a]\nproduct = *\ngroup = gpu\n"
		       "[rule b]\nproduct = GPU-X1\ngroup = efi\n",
		       "[rule b]", "[rule b] is never reached");
	expect_problem("[rule a]\ngroup = gpu\n[rule b]\ncircuit_id = p1\ngroup = efi\n",
		       "[rule b]", "[rule b] is never reached");
	expect_problem("[rule a]\narch = 0 7 9\ngroup = gpu\n[rule b]\narch = 7\ngroup = efi\n",
		       "[rule b]", "[rule b] is never reached");

	/* Narrower first is fine, and globs on both sides are not judged. */
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	char errs[4096];
	assert_int_equal(
	    load(cfg,
		 "[rule a]\nproduct = GPU-X1\ngroup = gpu\n"
		 "[rule b]\nproduct = GPU-*\ngroup = efi\n"
		 "[rule c]\nproduct = *-X1\ngroup = efi\n"
		 "[rule d]\narch = 7\ngroup = gpu\n[rule e]\narch = 7 9\ngroup = efi\n",
		 errs, sizeof(errs)),
	    0);
	free(cfg);
}

static void test_smbios_needs_http(void **state)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	char errs[4096], text[4096];
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	snprintf(text, sizeof(text), "%s%s", base_conf, "[rule x]\nproduct = a\ngroup = gpu\n");
	*strstr(text, "enabled = yes") = '#'; /* [http] enabled is the default: no */
	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf", text, f), 1);
	fclose(f);
	(void)errs;
	free(cfg);
}

static void test_choose_first_match_and_pending(void **state)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct boot_facts f = {0};
	struct rules_choice c;
	char errs[4096];

	(void)state;
	assert_int_equal(load(cfg, rules_conf, errs, sizeof(errs)), 0);
	/* Nothing said: [rule gpu] cannot be judged before the SMBIOS report. */
	rules_choose(&cfg->dhcp, &f, &c);
	assert_true(c.pending);
	assert_string_equal(c.rule->name, "gpu");

	/* UEFI PXE: the first rule, whatever SMBIOS would say. */
	boot_fact_set(&f, RULE_ARCH, "9", 1);
	boot_fact_set(&f, RULE_VENDOR_CLASS, "PXEClient:Arch:00009", 20);
	rules_choose(&cfg->dhcp, &f, &c);
	assert_false(c.pending);
	assert_string_equal(c.rule->name, "efi");
	boot_fact_set(&f, RULE_ARCH, "0", 1);
	rules_choose(&cfg->dhcp, &f, &c);
	assert_true(c.pending);

	/* Reported: a GPU product, then another product on a rack port. */
	f.smbios = true;
	boot_fact_set(&f, RULE_PRODUCT, "GPU-A100", 8);
	rules_choose(&cfg->dhcp, &f, &c);
	assert_string_equal(c.rule->name, "gpu");
	boot_fact_set(&f, RULE_PRODUCT, "Standard PC", 11);
	rules_choose(&cfg->dhcp, &f, &c);
	assert_null(c.rule); /* no circuit id said: a pattern needs its fact */
	boot_fact_set(&f, RULE_CIRCUIT_ID, "port7", 5);
	rules_choose(&cfg->dhcp, &f, &c);
	assert_string_equal(c.rule->name, "rack");
	free(cfg);
}

static void test_facts_text_or_hex(void **state)
{
	struct boot_facts f = {0};
	char big[200];

	(void)state;
	boot_fact_set(&f, RULE_CIRCUIT_ID, "Gi1/0/7", 7);
	assert_string_equal(f.v[RULE_CIRCUIT_ID], "Gi1/0/7");
	/* Binary circuit ids (VLAN, module, port): hex. */
	boot_fact_set(&f, RULE_CIRCUIT_ID, "\x00\x04\x00\x0a\x01\x07", 6);
	assert_string_equal(f.v[RULE_CIRCUIT_ID], "0004000a0107");
	memset(big, 'x', sizeof(big));
	boot_fact_set(&f, RULE_PRODUCT, big, sizeof(big));
	assert_int_equal(strlen(f.v[RULE_PRODUCT]), FACT_MAX - 1);
	big[0] = 1;
	boot_fact_set(&f, RULE_PRODUCT, big, sizeof(big));
	assert_int_equal(strlen(f.v[RULE_PRODUCT]), FACT_MAX - 2);
	boot_fact_set(&f, RULE_PRODUCT, "", 0);
	assert_string_equal(f.v[RULE_PRODUCT], "");
}

static void test_names(void **state)
{
	struct conf_rule r = {.node_name = "r3-%{circuit_id}-%{mac}"};
	struct boot_facts f = {0};
	const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
	char out[64];

	(void)state;
	assert_int_equal(rules_name(&r, mac, &f, out, sizeof(out)), -ENOENT);
	boot_fact_set(&f, RULE_CIRCUIT_ID, "Gi1/0/7", 7);
	assert_int_equal(rules_name(&r, mac, &f, out, sizeof(out)), 0);
	assert_string_equal(out, "r3-Gi1-0-7-52-54-00-01-02-03");
	assert_int_equal(rules_name(&r, mac, &f, out, 10), -ENOSPC);
	strcpy(r.node_name, "");
	assert_int_equal(rules_name(&r, mac, &f, out, sizeof(out)), -ENOENT);
	assert_int_equal(rules_name(NULL, mac, &f, out, sizeof(out)), -ENOENT);
}

static void test_report_query(void **state)
{
	struct boot_facts f;
	uint8_t mac[6];

	(void)state;
	assert_int_equal(
	    rules_report_parse("mac=52%3A54%3A00%3A99%3A07%3A15&manufacturer=Herd%20Labs"
			       "&product=GPU-X1%26Co&serial=SN42&uuid=&junk",
			       mac, &f),
	    0);
	assert_int_equal(mac[5], 0x15);
	assert_true(f.smbios);
	assert_string_equal(f.v[RULE_MANUFACTURER], "Herd Labs");
	assert_string_equal(f.v[RULE_PRODUCT], "GPU-X1&Co");
	assert_string_equal(f.v[RULE_SERIAL], "SN42");
	assert_string_equal(f.v[RULE_UUID], "");
	assert_int_equal(rules_report_parse("product=x", mac, &f), -EINVAL);
	assert_int_equal(rules_report_parse("mac=zz&mac", mac, &f), -EINVAL);
	assert_int_equal(rules_report_parse("", mac, &f), -EINVAL);
	assert_int_equal(rules_report_parse("mac=02:00:00:00:00:01&product=%4", mac, &f), 0);
	assert_string_equal(f.v[RULE_PRODUCT], "%4");
}

static void test_http_query_add(void **state)
{
	char buf[32];
	size_t len = 0;

	(void)state;
	buf[0] = '\0';
	assert_int_equal(http_query_add(buf, sizeof(buf), &len, "mac", "52:54"), 0);
	assert_int_equal(http_query_add(buf, sizeof(buf), &len, "product", "a&b c"), 0);
	assert_string_equal(buf, "mac=52%3A54&product=a%26b%20c");
	assert_int_equal(http_query_add(buf, sizeof(buf), &len, "x", "too long"), -ENOSPC);
	assert_string_equal(buf, "mac=52%3A54&product=a%26b%20c");
	len = 0;
	assert_int_equal(http_query_add(buf, sizeof(buf), &len, "uuid", NULL), 0);
	assert_string_equal(buf, "uuid=");
}

static void test_seen_table(void **state)
{
	struct boot_facts f = {0};
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0};

	(void)state;
	rules_seen_reset();
	assert_null(rules_seen(mac));
	boot_fact_set(&f, RULE_CIRCUIT_ID, "p1", 2);
	boot_fact_set(&f, RULE_VENDOR_CLASS, "v", 1);
	rules_seen_update(mac, &f, 1u << RULE_CIRCUIT_ID);
	assert_string_equal(rules_seen(mac)->v[RULE_CIRCUIT_ID], "p1");
	assert_string_equal(rules_seen(mac)->v[RULE_VENDOR_CLASS], ""); /* not in the mask */
	/* Many more MACs than the table holds: it stays bounded, the most
	 * recently seen are there. */
	for (unsigned i = 1; i <= 3 * RULES_SEEN; i++) {
		mac[4] = (uint8_t)(i >> 8), mac[5] = (uint8_t)i, mac[3] = (uint8_t)(i >> 16);
		rules_seen_update(mac, &f, 1u << RULE_CIRCUIT_ID);
	}
	assert_non_null(rules_seen(mac));
	rules_seen_reset();
}

/* --- through the DHCP server and the generated files --------------------- */

struct fixture {
	struct policy *policy;
	struct lease_table *leases;
	struct dhcp_server *srv;
	struct dhcp_msg reply;
	struct dhcp_out out;
	unsigned nout;
};

/* iPXE's bus id (175 / 177) is the nic fact: "vvvv:dddd"; a short or
 * non-PCI one is none. */
static void test_nic_fact(void **state)
{
	struct dhcp_msg m;
	struct boot_facts f;
	uint8_t buf[DHCP_MAX_LEN];
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 4};
	const uint8_t opts[][12] = {
	    {DHO_IPXE_ENCAP, 10, 177, 5, 1, 0x80, 0x86, 0x15, 0x72, 0xeb, 1, 1},
	    {DHO_IPXE_ENCAP, 10, 177, 5, 2, 0x80, 0x86, 0x15, 0x72, 0xeb, 1, 1},
	    {DHO_IPXE_ENCAP, 6, 177, 9, 1, 0x80, 0x86, 0x15, 0, 0, 0, 0},
	};
	const char *want[] = {"8086:1572", "", ""};

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		size_t n = dhcp_build_request(buf, sizeof(buf), DHCPDISCOVER, 1, mac, 0, 0, 0,
					      0xffff, NULL, NULL);
		n -= 1;
		while (buf[n] == DHO_PAD)
			n--;
		memcpy(buf + n, opts[i], (size_t)opts[i][1] + 2);
		n += (size_t)opts[i][1] + 2;
		buf[n++] = DHO_END;
		assert_int_equal(dhcp_parse(buf, n, &m), 0);
		memset(&f, 0, sizeof(f));
		assert_true(dhcp_facts(&m, true, &f) & 1u << RULE_NIC);
		assert_string_equal(f.v[RULE_NIC], want[i]);
	}
}

static char *render(struct fixture *f, const char *name);

static void capture(void *ctx, const struct dhcp_out *o)
{
	struct fixture *f = ctx;

	f->out = *o;
	f->nout++;
	assert_int_equal(dhcp_parse(o->buf, o->len, &f->reply), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv;
	struct dhcp_tx tx = {f, capture};
	char errs[4096];
	int err;

	rules_seen_reset();
	assert_int_equal(load(cfg, rules_conf, errs, sizeof(errs)), 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab",
					       "n1 02:00:00:00:00:01 10.1.0.11 default\n"
					       "n2 02:00:00:00:00:02 10.1.0.12 auto\n",
					       &cfg->dhcp, stderr),
			 0);
	f->leases = lease_table_open(&cfg->dhcp, "", 1000, &err);
	f->policy = policy_new(cfg, inv);
	f->srv = dhcp_server_new(f->policy, f->leases, &tx);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dhcp_server_free(f->srv);
	lease_table_close(f->leases);
	policy_unref(f->policy);
	rules_seen_reset();
	free(f);
	return 0;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* A request from mac through a relay at 10.2.0.1 whose option 82 says
 * circuit-id `circuit` (NULL: no relay). */
static void relayed(struct fixture *f, enum dhcp_type t, const uint8_t mac[6], uint32_t requested,
		    const char *circuit)
{
	uint8_t buf[DHCP_MAX_LEN], opt82[64];
	size_t n = dhcp_build_request(buf, sizeof(buf), t, 7, mac, 0, requested,
				      requested ? ip("10.1.0.1") : 0, 0, "PXEClient", "iPXE");
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1"), .peer = {.port = 67}};
	size_t clen = circuit ? strlen(circuit) : 0;

	if (circuit) {
		uint32_t gi = ip("10.2.0.1");
		memcpy(buf + 24, &gi, 4);
		/* Before END: replace END with option 82, then END again. */
		n = 240;
		while (buf[n] != DHO_END)
			n += buf[n] == DHO_PAD ? 1 : 2u + buf[n + 1];
		opt82[0] = 1, opt82[1] = (uint8_t)clen;
		memcpy(opt82 + 2, circuit, clen);
		opt82[2 + clen] = 2, opt82[3 + clen] = 3;
		memcpy(opt82 + 4 + clen, "sw1", 3);
		buf[n++] = DHO_RELAY_AGENT;
		buf[n++] = (uint8_t)(clen + 7);
		memcpy(buf + n, opt82, clen + 7);
		n += clen + 7;
		buf[n++] = DHO_END;
	}
	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, n, MONO_SEC(10), 1000);
}

static void test_relay_option_parsed_and_echoed(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x21};
	const uint8_t *v;
	size_t len;
	char name[CONF_NAME_MAX];

	relayed(f, DHCPDISCOVER, mac, 0, "port7");
	assert_int_equal(f->nout, 1);
	assert_int_equal(f->out.dst_ip, ip("10.2.0.1")); /* to the relay */
	assert_int_equal(f->reply.yiaddr & htonl(0xffffff00), ip("10.2.0.0"));
	/* RFC 3046: the whole option back, and it is the last one. */
	v = dhcp_opt(&f->reply, DHO_RELAY_AGENT, &len);
	assert_non_null(v);
	assert_int_equal(len, 5 + 7);
	v = dhcp_relay_sub(&f->reply, DHCP_RELAY_CIRCUIT_ID, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(v, "port7", 5);
	v = dhcp_relay_sub(&f->reply, DHCP_RELAY_REMOTE_ID, &len);
	assert_memory_equal(v, "sw1", 3);
	/* [rule gpu] comes first and waits for SMBIOS: no name yet. */
	assert_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len));
	free(render(f, "herd/ipxe/report?mac=02:00:00:00:00:21&product=Standard%20PC"));

	/* Reported, not a GPU: named from its port (option 12). */
	relayed(f, DHCPDISCOVER, mac, 0, "port7");
	v = dhcp_opt(&f->reply, DHO_HOSTNAME, &len);
	assert_non_null(v);
	assert_int_equal(len, 8);
	assert_memory_equal(v, "r3-port7", 8);

	/* Bound: the log receiver's name for its address is the rule's. */
	relayed(f, DHCPREQUEST, mac, f->reply.yiaddr, "port7");
	assert_int_equal(f->nout, 1);
	assert_string_equal(dhcp_server_name_of(f->srv, f->reply.yiaddr, name), "r3-port7");

	/* The initramfs' DHCP, through the same relay, keeps name and group. */
	struct boot_node n;
	assert_int_equal(policy_node(f->policy, mac, &n, name), 0);
	assert_string_equal(n.group->name, "rack");
}

static void test_no_relay_no_echo(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x22};
	size_t len;

	relayed(f, DHCPDISCOVER, mac, 0, NULL);
	assert_int_equal(f->nout, 1);
	assert_null(dhcp_opt(&f->reply, DHO_RELAY_AGENT, &len));
	assert_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len)); /* pool_hostnames is off */
}

static void test_relay_sub_bounds(void **state)
{
	struct dhcp_msg m;
	uint8_t buf[DHCP_MAX_LEN];
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 3};
	size_t n =
	    dhcp_build_request(buf, sizeof(buf), DHCPDISCOVER, 1, mac, 0, 0, 0, 0xffff, NULL, NULL);
	size_t len = 99;

	(void)state;
	/* A circuit-id that says 9 bytes in an option of 4. */
	n -= 1;
	while (buf[n] == DHO_PAD)
		n--;
	memcpy(buf + n, (const uint8_t[]){DHO_RELAY_AGENT, 4, 1, 9, 'a', 'b', DHO_END}, 7);
	n += 7;
	assert_int_equal(dhcp_parse(buf, n, &m), 0);
	assert_null(dhcp_relay_sub(&m, DHCP_RELAY_CIRCUIT_ID, &len));
	assert_null(dhcp_relay_sub(&m, DHCP_RELAY_REMOTE_ID, &len));
	assert_int_equal(len, 99);
}

static char *render(struct fixture *f, const char *name)
{
	struct ipaddr server = ipaddr_v4(ip("10.1.0.1")), client = ipaddr_v4(ip("10.1.0.100"));
	char *data = NULL, *s;
	size_t len;

	if (policy_render(f->policy, name, &server, &client, &data, &len) < 0)
		return NULL;
	s = strndup(data, len);
	free(data);
	return s;
}

static void test_report_then_real_script(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x23};
	char *s;

	/* iPXE on the local segment, before any report: the report script. */
	relayed(f, DHCPDISCOVER, mac, 0, NULL);
	assert_string_equal(f->reply.file, "herd/ipxe/02-00-00-00-00-23.ipxe");
	s = render(f, "herd/ipxe/02-00-00-00-00-23.ipxe");
	assert_non_null(s);
	assert_non_null(
	    strstr(s, "chain http://10.1.0.1:8080/herd/ipxe/report?mac=02:00:00:00:00:23"
		      "&manufacturer=${manufacturer:uristring}&product=${product:uristring}"));
	free(s);
	/* The report: GPU. The answer is [group gpu]'s script, named by serial. */
	s = render(f,
		   "/herd/ipxe/report?mac=02%3A00%3A00%3A00%3A00%3A23&product=GPU-A100&serial=S9");
	assert_non_null(s);
	assert_non_null(strstr(s, "g=gpu n=gpu-S9"));
	free(s);
	/* Remembered: the script and pxelinux.cfg agree from now on. */
	s = render(f, "herd/ipxe/02-00-00-00-00-23.ipxe");
	assert_non_null(strstr(s, "g=gpu n=gpu-S9"));
	free(s);
	s = render(f, "pxelinux.cfg/01-02-00-00-00-00-23");
	assert_non_null(strstr(s, "g=gpu"));
	free(s);
	/* A report without a MAC names nothing. */
	assert_null(render(f, "herd/ipxe/report?product=GPU-A100"));
}

static void test_inventory_group_wins_unless_auto(void **state)
{
	struct fixture *f = *state;
	const uint8_t n1[6] = {2, 0, 0, 0, 0, 1}, n2[6] = {2, 0, 0, 0, 0, 2};
	struct boot_facts facts = {.smbios = true};
	struct boot_node n;
	char name[CONF_NAME_MAX];

	boot_fact_set(&facts, RULE_PRODUCT, "GPU-1", 5);
	boot_fact_set(&facts, RULE_SERIAL, "S1", 2);
	assert_int_equal(policy_node_facts(f->policy, n1, &facts, &n, name), 0);
	assert_string_equal(n.group->name, "default");
	assert_null(n.rule);
	assert_int_equal(policy_node_facts(f->policy, n2, &facts, &n, name), 0);
	assert_string_equal(n.group->name, "gpu");
	assert_string_equal(n.name, "n2"); /* the inventory's name, not the rule's */
	assert_false(n.rule_named);
	/* auto with no rule met: [dhcp] default_group. */
	boot_fact_set(&facts, RULE_PRODUCT, "other", 5);
	assert_int_equal(policy_node_facts(f->policy, n2, &facts, &n, name), 0);
	assert_string_equal(n.group->name, "default");
}

/* The firmware's classes choose; an OS's DHCP client (udhcpc, its own
 * vendor class, no architecture) does not undo that. */
static void test_only_booting_clients_set_classes(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x31};
	uint8_t buf[DHCP_MAX_LEN];
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1"), .peer = {.port = 68}};
	struct boot_node n;
	char name[CONF_NAME_MAX];
	size_t len;

	len = dhcp_build_request(buf, sizeof(buf), DHCPDISCOVER, 1, mac, 0, 0, 0, 7,
				 "PXEClient:Arch:00007:UNDI:003000", NULL);
	dhcp_server_input(f->srv, &rx, buf, len, MONO_SEC(10), 1000);
	assert_string_equal(f->reply.file, "ipxe.efi");
	assert_int_equal(policy_node(f->policy, mac, &n, name), 0);
	assert_string_equal(n.group->name, "efi");
	len = dhcp_build_request(buf, sizeof(buf), DHCPDISCOVER, 2, mac, 0, 0, 0, 0xffff,
				 "udhcp 1.35.0", NULL);
	dhcp_server_input(f->srv, &rx, buf, len, MONO_SEC(11), 1001);
	assert_int_equal(policy_node(f->policy, mac, &n, name), 0);
	assert_string_equal(n.group->name, "efi");
	assert_string_equal(rules_seen(mac)->v[RULE_VENDOR_CLASS],
			    "PXEClient:Arch:00007:UNDI:003000");
}

/* A reload judges what clients said against the new rules. */
static void test_reload_rejudges(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x32};
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct policy *p2;
	struct boot_node n;
	char name[CONF_NAME_MAX], errs[4096];

	relayed(f, DHCPDISCOVER, mac, 0, "port9");
	free(render(f, "herd/ipxe/report?mac=02:00:00:00:00:32&product=x"));
	assert_int_equal(policy_node(f->policy, mac, &n, name), 0);
	assert_string_equal(n.group->name, "rack");
	assert_string_equal(name, "r3-port9");
	assert_int_equal(load(cfg, "[rule p9]\ncircuit_id = port9\ngroup = gpu\nname = p9\n", errs,
			      sizeof(errs)),
			 0);
	p2 = policy_new(cfg, NULL);
	assert_int_equal(policy_node(p2, mac, &n, name), 0);
	assert_string_equal(n.group->name, "gpu");
	assert_string_equal(n.name, "p9");
	policy_unref(p2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_load_in_file_order),
	    cmocka_unit_test(test_rule_problems),
	    cmocka_unit_test(test_unreachable_rules),
	    cmocka_unit_test(test_smbios_needs_http),
	    cmocka_unit_test(test_choose_first_match_and_pending),
	    cmocka_unit_test(test_facts_text_or_hex),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_report_query),
	    cmocka_unit_test(test_http_query_add),
	    cmocka_unit_test(test_seen_table),
	    cmocka_unit_test(test_relay_sub_bounds),
	    cmocka_unit_test_setup_teardown(test_relay_option_parsed_and_echoed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_relay_no_echo, setup, teardown),
	    cmocka_unit_test(test_nic_fact),
	    cmocka_unit_test_setup_teardown(test_report_then_real_script, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inventory_group_wins_unless_auto, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_booting_clients_set_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_rejudges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
