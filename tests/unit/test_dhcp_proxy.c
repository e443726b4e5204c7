/* proxyDHCP ([dhcp] mode = proxy): the replies on ports 67 and 4011, what
 * herd never answers, and the addresses it learns (log naming, TFTP's known
 * sources, neighbour pins). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/policy.h"
#include "conf/conf.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"
#include "dhcp/proxy.h"
#include "inventory/inventory.h"

struct fixture {
	struct policy *policy;
	struct lease_table *leases;
	struct dhcp_server *srv;
	struct dhcp_out out;
	uint8_t outbuf[DHCP_MAX_LEN];
	unsigned nout, npins;
	uint32_t pin_ip;
	unsigned pin_secs;
	struct dhcp_msg reply;
	mono_t now;
};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void capture(void *ctx, const struct dhcp_out *o)
{
	struct fixture *f = ctx;

	f->out = *o;
	memcpy(f->outbuf, o->buf, o->len);
	f->out.buf = f->outbuf;
	f->nout++;
	assert_int_equal(dhcp_parse(o->buf, o->len, &f->reply), 0);
}

static void pin(void *ctx, int ifindex, uint32_t a, const uint8_t mac[6], unsigned secs)
{
	struct fixture *f = ctx;

	(void)ifindex, (void)mac;
	f->npins++;
	f->pin_ip = a;
	f->pin_secs = secs;
}

/* No [subnet]: a proxy needs none. */
static const char conf_text[] = "[dhcp]\nenabled = yes\nmode = proxy\nlease_file =\n"
				"unknown = ignore\n"
				"[group default]\nkernel = vmlinuz\ninitrd = initrd.img\n"
				"[group arm]\nloader_arm64 = \n";

static const char inv_text[] = "n1 02:00:00:00:00:01 - default\n"
			       "n2 02:00:00:00:00:02 10.9.0.12 default\n"
			       "n3 02:00:00:00:00:03 - arm\n";

static int setup_with(void **state, const char *conf, const char *inv_src)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dhcp_tx tx = {f, capture, pin};
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv = NULL;
	int err;

	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf", conf, stderr), 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab", inv_src, &cfg->dhcp, stderr), 0);
	f->leases = lease_table_open(&cfg->dhcp, "", 1000, &err);
	assert_non_null(f->leases);
	f->policy = policy_new(cfg, inv);
	f->srv = dhcp_server_new(f->policy, f->leases, &tx);
	assert_non_null(f->srv);
	f->now = MONO_SEC(10);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, conf_text, inv_text);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dhcp_server_free(f->srv);
	lease_table_close(f->leases);
	policy_unref(f->policy);
	free(f);
	return 0;
}

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t mac3[6] = {2, 0, 0, 0, 0, 3};
static const uint8_t mac9[6] = {2, 0, 0, 0, 0, 9};
static const uint8_t uuid[17] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

#define HERD "10.9.0.1"
#define SITE "10.9.0.2"

/* A request as firmware sends it: with the client's UUID (97). */
static size_t build(uint8_t *buf, enum dhcp_type t, const uint8_t mac[6], uint32_t ciaddr,
		    uint32_t requested, uint32_t sid, uint16_t arch, const char *vc, const char *uc)
{
	struct dhcp_builder b;
	struct dhcp_msg req;

	memset(&req, 0, offsetof(struct dhcp_msg, optbuf));
	req.htype = 1;
	req.hlen = 6;
	req.xid = 77;
	memcpy(req.chaddr, mac, 6);
	dhcp_build_start(&b, buf, DHCP_MAX_LEN, DHCP_MAX_LEN, &req, t, 0, 0, NULL, NULL);
	buf[0] = DHCP_BOOTREQUEST;
	memcpy(buf + 12, &ciaddr, 4);
	if (requested)
		dhcp_build_ip(&b, DHO_REQUESTED_IP, requested);
	if (sid)
		dhcp_build_ip(&b, DHO_SERVER_ID, sid);
	if (arch != 0xffff)
		dhcp_build_u16(&b, DHO_CLIENT_ARCH, arch);
	if (vc)
		dhcp_build_str(&b, DHO_VENDOR_CLASS, vc);
	if (uc)
		dhcp_build_str(&b, DHO_USER_CLASS, uc);
	dhcp_build_opt(&b, DHO_UUID, uuid, sizeof(uuid));
	return dhcp_build_end(&b);
}

/* A request to port `port` from `src` (0.0.0.0 before the client has an
 * address) port 68. */
static void send_to(struct fixture *f, uint16_t port, uint32_t src, enum dhcp_type t,
		    const uint8_t mac[6], uint32_t ciaddr, uint32_t requested, uint32_t sid,
		    uint16_t arch, const char *vc, const char *uc)
{
	uint8_t buf[DHCP_MAX_LEN];
	size_t n = build(buf, t, mac, ciaddr, requested, sid, arch, vc, uc);
	struct dhcp_rx rx = {.ifindex = 3,
			     .local_ip = ip(HERD),
			     .peer = {.ip = ipaddr_v4(src), .port = 68},
			     .local_port = port};

	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, n, f->now, 1000);
}

static uint8_t reply_type(struct fixture *f)
{
	uint8_t t = 0;

	assert_int_equal(f->nout, 1);
	dhcp_opt_u8(&f->reply, DHO_MSG_TYPE, &t);
	return t;
}

static void test_pxe_discover_gets_a_proxy_offer(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p;
	size_t len;
	uint32_t v;

	send_to(f, 67, 0, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient:Arch:00000:UNDI:002001", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.yiaddr, 0); /* never an address */
	assert_int_equal(f->reply.siaddr, ip(HERD));
	assert_string_equal(f->reply.file, "undionly.kpxe");
	assert_true(dhcp_opt_ip(&f->reply, DHO_SERVER_ID, &v));
	assert_int_equal(v, ip(HERD));
	p = dhcp_opt(&f->reply, DHO_VENDOR_CLASS, &len);
	assert_int_equal(len, 9);
	assert_memory_equal(p, "PXEClient", 9);
	p = dhcp_opt(&f->reply, DHO_UUID, &len);
	assert_int_equal(len, 17);
	assert_memory_equal(p, uuid, 17);
	/* No 43: EDK2 then asks again on 4011 (a "BINL" proxy offer). */
	assert_false(f->reply.opts[DHO_VENDOR].present);
	/* Nothing of an address server's. */
	assert_false(f->reply.opts[DHO_LEASE_TIME].present);
	assert_false(f->reply.opts[DHO_SUBNET_MASK].present);
	assert_false(f->reply.opts[DHO_ROUTER].present);
	/* The client has no address: a broadcast frame. */
	assert_true(f->out.via_link);
	assert_int_equal(f->out.dst_ip, 0xffffffff);
	assert_int_equal(f->out.dst_port, 68);
	assert_int_equal(f->out.src_port, 0);
	assert_int_equal(dhcp_server_stats(f->srv)->proxy_offers, 1);
	assert_int_equal(dhcp_server_stats(f->srv)->offers, 0);

	/* OVMF: arch 7, its loader. */
	send_to(f, 67, 0, DHCPDISCOVER, mac1, 0, 0, 0, 7, "PXEClient:Arch:00007:UNDI:003000", NULL);
	assert_string_equal(f->reply.file, "ipxe.efi");
	/* iPXE: its script. */
	send_to(f, 67, 0, DHCPDISCOVER, mac1, 0, 0, 0, 7, "PXEClient:Arch:00007:UNDI:003010",
		"iPXE");
	assert_string_equal(f->reply.file, "herd/ipxe/02-00-00-00-00-01.ipxe");
	assert_int_equal(f->npins, 0); /* no address yet: nothing to pin */
}

static void test_never_answered_on_67(void **state)
{
	struct fixture *f = *state;
	const struct dhcp_stats *st = dhcp_server_stats(f->srv);

	/* An OS's DHCP client: not booting, the site server's alone. */
	send_to(f, 67, 0, DHCPDISCOVER, mac1, 0, 0, 0, 0xffff, "udhcp 1.35.0", NULL);
	assert_int_equal(f->nout, 0);
	/* A client herd does not know (unknown = ignore). */
	send_to(f, 67, 0, DHCPDISCOVER, mac9, 0, 0, 0, 0, "PXEClient", NULL);
	assert_int_equal(f->nout, 0);
	assert_int_equal(st->unknown_ignored, 1);
	/* A group with no loader for the architecture: nothing to boot. */
	send_to(f, 67, 0, DHCPDISCOVER, mac3, 0, 0, 0, 11, "PXEClient", NULL);
	assert_int_equal(f->nout, 0);
	/* REQUESTs to the site server, wrong ones included: no ACK, no NAK. */
	send_to(f, 67, 0, DHCPREQUEST, mac1, 0, ip("10.9.0.51"), ip(SITE), 0, "PXEClient", NULL);
	assert_int_equal(f->nout, 0);
	send_to(f, 67, 0, DHCPREQUEST, mac1, 0, ip("192.168.1.1"), 0, 0, NULL, NULL);
	assert_int_equal(f->nout, 0);
	send_to(f, 67, ip("10.9.0.51"), DHCPREQUEST, mac1, ip("10.9.0.51"), 0, 0, 0, NULL, NULL);
	assert_int_equal(f->nout, 0);
	send_to(f, 67, 0, DHCPDECLINE, mac1, 0, ip("10.9.0.51"), ip(SITE), 0, NULL, NULL);
	send_to(f, 67, ip("10.9.0.51"), DHCPRELEASE, mac1, ip("10.9.0.51"), 0, ip(SITE), 0, NULL,
		NULL);
	send_to(f, 67, ip("10.9.0.51"), DHCPINFORM, mac1, ip("10.9.0.51"), 0, 0, 0, NULL, NULL);
	assert_int_equal(f->nout, 0);
	assert_int_equal(st->offers + st->acks + st->naks + st->proxy_offers + st->proxy_acks, 0);
	/* A DISCOVER on 4011 is not PXE's. */
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.51"), DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient",
		NULL);
	assert_int_equal(f->nout, 0);
	/* Nor is a 4011 REQUEST naming another server. */
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.51"), DHCPREQUEST, mac1, ip("10.9.0.51"), 0, ip(SITE),
		0, "PXEClient", NULL);
	assert_int_equal(f->nout, 0);
}

static void test_boot_server_request_on_4011(void **state)
{
	struct fixture *f = *state;
	char buf[CONF_NAME_MAX];
	const char *name;

	/* OVMF after its DHCP ACK from the site: unicast, from its address. */
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.51"), DHCPREQUEST, mac1, ip("10.9.0.51"), 0, 0, 7,
		"PXEClient:Arch:00007:UNDI:003000", NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_int_equal(f->reply.yiaddr, 0);
	assert_string_equal(f->reply.file, "ipxe.efi");
	assert_true(dhcp_opt_prefix(&f->reply, DHO_VENDOR_CLASS, "PXEClient"));
	/* Back where it came from, from port 4011, by UDP. */
	assert_false(f->out.via_link);
	assert_int_equal(f->out.dst_ip, ip("10.9.0.51"));
	assert_int_equal(f->out.dst_port, 68);
	assert_int_equal(f->out.src_port, DHCP_PXE_PORT);
	assert_int_equal(f->out.src_ip, ip(HERD));
	/* Its address is learned: pinned before the download, names it. */
	assert_int_equal(f->npins, 1);
	assert_int_equal(f->pin_ip, ip("10.9.0.51"));
	assert_int_equal(f->pin_secs, 3600);
	name = dhcp_server_name_of(f->srv, ip("10.9.0.51"), buf);
	assert_non_null(name);
	assert_string_equal(name, "n1");
	assert_true(dhcp_server_knows(f->srv, ip("10.9.0.51")));
	assert_int_equal(dhcp_server_stats(f->srv)->proxy_acks, 1);

	/* iPXE's ProxyDHCP request: its script; the same address, pinned once. */
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.51"), DHCPREQUEST, mac1, ip("10.9.0.51"), 0, ip(HERD),
		7, "PXEClient:Arch:00007:UNDI:003010", "iPXE");
	assert_int_equal(reply_type(f), DHCPACK);
	assert_string_equal(f->reply.file, "herd/ipxe/02-00-00-00-00-01.ipxe");
	assert_int_equal(f->npins, 1);
}

static void test_addresses_learned_from_the_site_exchange(void **state)
{
	struct fixture *f = *state;
	char buf[CONF_NAME_MAX];

	assert_null(dhcp_server_name_of(f->srv, ip("10.9.0.60"), buf));
	assert_false(dhcp_server_knows(f->srv, ip("10.9.0.60")));
	/* The initramfs's REQUEST to the site server (option 50). */
	send_to(f, 67, 0, DHCPREQUEST, mac1, 0, ip("10.9.0.60"), ip(SITE), 0xffff, "udhcp", NULL);
	assert_int_equal(f->nout, 0);
	assert_string_equal(dhcp_server_name_of(f->srv, ip("10.9.0.60"), buf), "n1");
	assert_int_equal(f->npins, 0); /* not acknowledged yet: not pinned */
	/* A renewal (ciaddr): the same. */
	send_to(f, 67, ip("10.9.0.60"), DHCPREQUEST, mac1, ip("10.9.0.60"), 0, 0, 0xffff, NULL,
		NULL);
	assert_string_equal(dhcp_server_name_of(f->srv, ip("10.9.0.60"), buf), "n1");
	assert_int_equal(dhcp_server_stats(f->srv)->proxy_learned, 1);

	/* The site gives that address to n2 now: it is n2's, n1 has none. */
	send_to(f, 67, 0, DHCPREQUEST, mac2, 0, ip("10.9.0.60"), ip(SITE), 0xffff, NULL, NULL);
	assert_string_equal(dhcp_server_name_of(f->srv, ip("10.9.0.60"), buf), "n2");
	/* n2's inventory address still names it too. */
	assert_string_equal(dhcp_server_name_of(f->srv, ip("10.9.0.12"), buf), "n2");

	/* n1 moves from a pinned address: the old pin is let go. */
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.61"), DHCPREQUEST, mac1, ip("10.9.0.61"), 0, 0, 0,
		"PXEClient", NULL);
	assert_int_equal(f->npins, 1);
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.62"), DHCPREQUEST, mac1, ip("10.9.0.62"), 0, 0, 0,
		"PXEClient", NULL);
	assert_int_equal(f->npins, 3);
	assert_int_equal(f->pin_ip, ip("10.9.0.62"));
	assert_null(dhcp_server_name_of(f->srv, ip("10.9.0.61"), buf));
	/* iPXE's REQUEST to the site server: it downloads from herd next,
	 * without asking on 4011: pinned at once. */
	send_to(f, 67, 0, DHCPREQUEST, mac2, 0, ip("10.9.0.63"), ip(SITE), 0, "PXEClient", "iPXE");
	assert_int_equal(f->nout, 0);
	assert_int_equal(f->npins, 4);
	assert_int_equal(f->pin_ip, ip("10.9.0.63"));
	/* n1's udhcpc takes 10.9.0.63, pinned to n2: the pin goes. */
	send_to(f, 67, 0, DHCPREQUEST, mac1, 0, ip("10.9.0.63"), ip(SITE), 0xffff, "udhcp", NULL);
	assert_int_equal(f->npins, 6); /* n1's .62 let go, then .63 */
	assert_int_equal(f->pin_ip, ip("10.9.0.63"));
	assert_int_equal(f->pin_secs, 0);
	assert_string_equal(dhcp_server_name_of(f->srv, ip("10.9.0.63"), buf), "n1");
	send_to(f, 67, 0, DHCPREQUEST, mac2, 0, ip("10.9.0.63"), ip(SITE), 0, "PXEClient", "iPXE");
	assert_int_equal(f->npins, 7);
	assert_int_equal(f->pin_secs, 3600);
	/* Claims herd does not believe: its own address, a ciaddr that is not
	 * where the 4011 request came from. */
	send_to(f, 67, 0, DHCPREQUEST, mac2, 0, ip(HERD), ip(SITE), 0, "PXEClient", NULL);
	send_to(f, DHCP_PXE_PORT, ip("10.9.0.64"), DHCPREQUEST, mac2, ip("10.9.0.65"), 0, 0, 0,
		"PXEClient", NULL);
	assert_int_equal(f->nout, 1); /* still its boot file */
	assert_int_equal(f->npins, 7);
	assert_false(dhcp_server_knows(f->srv, ip(HERD)));
	assert_false(dhcp_server_knows(f->srv, ip("10.9.0.65")));
	assert_string_equal(dhcp_server_name_of(f->srv, ip("10.9.0.63"), buf), "n2");
	/* Unknown clients are not learned (unknown = ignore). */
	send_to(f, 67, 0, DHCPREQUEST, mac9, 0, ip("10.9.0.70"), ip(SITE), 0xffff, NULL, NULL);
	assert_false(dhcp_server_knows(f->srv, ip("10.9.0.70")));
}

/* unknown = pool: unknown PXE clients get the default group, named
 * node-<mac>; the table of addresses holds PROXY_SEEN_MAX clients and
 * forgets the least recently heard. */
static int setup_pool(void **state)
{
	return setup_with(state,
			  "[dhcp]\nenabled = yes\nmode = proxy\nlease_file =\nunknown = pool\n"
			  "[group default]\nkernel = k\n",
			  "");
}

static void test_unknown_clients_and_a_full_table(void **state)
{
	struct fixture *f = *state;
	uint8_t mac[6] = {2, 1, 0, 0, 0, 0};
	char buf[CONF_NAME_MAX];
	unsigned n = PROXY_SEEN_MAX + 100;

	send_to(f, 67, 0, DHCPDISCOVER, mac9, 0, 0, 0, 0, "PXEClient", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_string_equal(f->reply.file, "undionly.kpxe");
	for (unsigned i = 0; i < n; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		f->now += MONO_MS(1);
		send_to(f, 67, 0, DHCPREQUEST, mac, 0, htonl(0x0a100000u + i), ip(SITE), 0xffff,
			NULL, NULL);
	}
	/* The first 100 were forgotten, every later one is found. */
	for (unsigned i = 0; i < n; i++) {
		const char *name = dhcp_server_name_of(f->srv, htonl(0x0a100000u + i), buf);
		char want[32];
		if (i < 100) {
			assert_null(name);
			continue;
		}
		snprintf(want, sizeof(want), "node-02010000%02x%02x", (i >> 8) & 0xff, i & 0xff);
		assert_non_null(name);
		assert_string_equal(name, want);
	}
}

/* With a [subnet], learned addresses stay inside its network. */
static int setup_subnet(void **state)
{
	return setup_with(state,
			  "[dhcp]\nenabled = yes\nmode = proxy\nlease_file =\nunknown = ignore\n"
			  "[subnet site]\nnetwork = 10.9.0.0/24\nlog_server = 10.9.0.7\n"
			  "next_server = 10.9.0.8\n[group default]\nkernel = k\n",
			  "n1 02:00:00:00:00:01 - default\n");
}

static void test_subnet_bounds_and_servers(void **state)
{
	struct fixture *f = *state;
	uint32_t v;

	send_to(f, 67, 0, DHCPREQUEST, mac1, 0, ip("10.8.0.5"), ip(SITE), 0, "PXEClient", NULL);
	assert_false(dhcp_server_knows(f->srv, ip("10.8.0.5")));
	send_to(f, 67, 0, DHCPREQUEST, mac1, 0, ip("10.9.0.5"), ip(SITE), 0, "PXEClient", NULL);
	assert_true(dhcp_server_knows(f->srv, ip("10.9.0.5")));
	/* The subnet's next server and log host, as in server mode. */
	send_to(f, 67, 0, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.siaddr, ip("10.9.0.8"));
	assert_true(dhcp_opt_ip(&f->reply, DHO_LOG_SERVER, &v));
	assert_int_equal(v, ip("10.9.0.7"));
	assert_true(dhcp_opt_ip(&f->reply, DHO_SERVER_ID, &v));
	assert_int_equal(v, ip(HERD));
}

static void test_config(void **state)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv = NULL;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *e;

	(void)state;
	/* Server mode still wants a subnet, and an address per node. */
	conf_defaults(cfg);
	e = open_memstream(&errs, &errlen);
	assert_int_equal(
	    conf_load_string(cfg, "s.conf", "[dhcp]\nenabled = yes\nmode = server\n", e), 1);
	fclose(e);
	assert_non_null(strstr(errs, "no [subnet NAME]"));
	free(errs);
	conf_defaults(cfg);
	e = open_memstream(&errs, &errlen);
	assert_int_equal(conf_load_string(cfg, "s.conf", "[dhcp]\nmode = relay\n", e), 1);
	fclose(e);
	assert_non_null(strstr(errs, "s.conf:2:"));
	free(errs);
	conf_defaults(cfg);
	assert_int_equal(
	    conf_load_string(cfg, "s.conf",
			     "[dhcp]\nenabled = yes\n[subnet a]\nnetwork = 10.0.0.0/8\n", stderr),
	    0);
	e = open_memstream(&errs, &errlen);
	assert_int_equal(
	    inventory_load_string(&inv, "t.tab", "n1 02:00:00:00:00:01 - default\n", &cfg->dhcp, e),
	    1);
	fclose(e);
	assert_non_null(
	    strstr(errs, "t.tab:1: '-' is not an IP address ('-' only with [dhcp] mode = proxy)"));
	free(errs);
	inventory_free(inv);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pxe_discover_gets_a_proxy_offer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_answered_on_67, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_server_request_on_4011, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addresses_learned_from_the_site_exchange, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_clients_and_a_full_table, setup_pool,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_subnet_bounds_and_servers, setup_subnet, teardown),
	    cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
