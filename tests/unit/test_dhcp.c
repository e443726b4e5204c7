/* DHCP codec and server handlers, in-process: requests built with the
 * codec's own client builder, replies captured from the fake transmitter. */
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

#include "boot/boot.h"
#include "conf/conf.h"
#include "boot/policy.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"
#include "inventory/inventory.h"

struct fixture {
	struct herd_config *cfg; /* owned by policy */
	struct inventory *inv;	 /* owned by policy */
	struct policy *policy;
	struct lease_table *leases;
	struct dhcp_server *srv;
	struct dhcp_out out;
	uint8_t outbuf[DHCP_MAX_LEN];
	unsigned nout;
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

static const char conf_text[] =
	"[dhcp]\nenabled = yes\nlease_file =\nunknown = pool\n"
	"[subnet a]\nnetwork = 10.1.0.0/24\npool = 10.1.0.100 - 10.1.0.101\nrouter = 10.1.0.1\n"
	"dns = 10.1.0.1\ndomain = lab.example\n"
	"[group default]\nkernel = vmlinuz\ninitrd = initrd.img\ncmdline = ip=dhcp\n"
	"[group nfs]\nloader_bios = pxelinux.0\nkernel = k\nboot_options = always\n"
	"cmdline = root=/dev/nfs nfsroot=%{server}:/srv/%{name}\ncmdline = ip=dhcp\n";

static const char inv_text[] = "# test rack\n"
			       "n1 02:00:00:00:00:01 10.1.0.11 default\n"
			       "n2 02:00:00:00:00:02 10.1.0.12 nfs\n";

static int setup_with(void **state, const char *text, const char *inv)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dhcp_tx tx = {f, capture};
	int err;

	f->cfg = calloc(1, sizeof(*f->cfg));
	conf_defaults(f->cfg);
	assert_int_equal(conf_load_string(f->cfg, "t.conf", text, stderr), 0);
	assert_int_equal(inventory_load_string(&f->inv, "t.tab", inv, &f->cfg->dhcp, stderr), 0);
	f->leases = lease_table_open(&f->cfg->dhcp, "", 1000, &err);
	assert_non_null(f->leases);
	f->policy = policy_new(f->cfg, f->inv);
	f->srv = dhcp_server_new(f->policy, f->leases, &tx);
	f->now = MONO_SEC(10);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, conf_text, inv_text);
}

/* herd's HTTP server on port 8080; an ARM64 loader; a group fetching by
 * TFTP and one whose kernel is elsewhere. */
static const char conf_http_text[] =
    "[http]\nenabled = yes\nlisten = 0.0.0.0:8080\n"
    "[dhcp]\nenabled = yes\nlease_file =\nunknown = pool\n"
    "[subnet a]\nnetwork = 10.1.0.0/24\npool = 10.1.0.100 - 10.1.0.101\n"
    "[group default]\nloader_arm64 = arm64/ipxe.efi\nkernel = vmlinuz\n"
    "initrd = /images/initrd.img\ncmdline = ip=dhcp\n"
    "[group nfs]\nipxe_fetch = tftp\nkernel = k\ncmdline = quiet\n"
    "[group far]\nkernel = http://images.lab/%{group}/vmlinuz\n"
    "initrd = http://images.lab/initrd.img\n";

/* n2 in nfs (TFTP), n9 in far (URLs). */
static const char inv_http_text[] = "n1 02:00:00:00:00:01 10.1.0.11 default\n"
				    "n2 02:00:00:00:00:02 10.1.0.12 nfs\n"
				    "n9 02:00:00:00:00:09 10.1.0.19 far\n";

static int setup_http(void **state)
{
	return setup_with(state, conf_http_text, inv_http_text);
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
static const uint8_t mac9[6] = {2, 0, 0, 0, 0, 9};

static void send_req(struct fixture *f, enum dhcp_type t, const uint8_t mac[6], uint32_t ciaddr,
		     uint32_t requested, uint32_t sid, uint16_t arch, const char *vc,
		     const char *uc)
{
	uint8_t buf[DHCP_MAX_LEN];
	size_t n = dhcp_build_request(buf, sizeof(buf), t, 42, mac, ciaddr, requested, sid, arch,
				      vc, uc);
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1"), .peer = {.port = 68}};

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

static void test_inventory_node_gets_its_address_and_name(void **state)
{
	struct fixture *f = *state;
	size_t len;
	uint32_t v;

	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient:Arch:00000:UNDI:002001", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.11"));
	assert_int_equal(f->reply.siaddr, ip("10.1.0.1"));
	assert_string_equal(f->reply.file, "undionly.kpxe");
	const uint8_t *host = dhcp_opt(&f->reply, DHO_HOSTNAME, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(host, "n1", 2);
	assert_true(dhcp_opt_ip(&f->reply, DHO_LOG_SERVER, &v));
	assert_int_equal(v, ip("10.1.0.1")); /* herd is the log host */
	assert_true(dhcp_opt_prefix(&f->reply, DHO_VENDOR_CLASS, "PXEClient"));
	assert_non_null(dhcp_opt(&f->reply, DHO_VENDOR, &len));
	/* No ARP for a client without an address: a frame to its MAC. */
	assert_true(f->out.via_link);
	assert_memory_equal(f->out.mac, mac1, 6);
	assert_int_equal(f->out.dst_ip, ip("10.1.0.11"));

	send_req(f, DHCPREQUEST, mac1, 0, ip("10.1.0.11"), ip("10.1.0.1"), 0, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_true(dhcp_opt_u32(&f->reply, DHO_LEASE_TIME, &v));
	assert_int_equal(v, 3600);
}

static void test_boot_file_by_arch_and_ipxe(void **state)
{
	struct fixture *f = *state;

	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 7, "PXEClient:Arch:00007:UNDI:003000", NULL);
	assert_string_equal(f->reply.file, "ipxe.efi");
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient", "iPXE");
	assert_string_equal(f->reply.file, "herd/ipxe/02-00-00-00-00-01.ipxe");
	send_req(f, DHCPDISCOVER, mac2, 0, 0, 0, 0, "PXEClient", NULL);
	assert_string_equal(f->reply.file, "pxelinux.0");
	send_req(f, DHCPDISCOVER, mac2, 0, 0, 0, 11, "PXEClient", NULL);
	assert_string_equal(f->reply.file, ""); /* no ARM64 loader in that group */
	/* U-Boot (arm64) names the files it wants itself: an address, no file */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, BOOT_ARCH_UBOOT_ARM64, "U-Boot.armv8", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_string_equal(f->reply.file, "");
}

static void test_pool_and_exhaustion(void **state)
{
	struct fixture *f = *state;
	uint8_t mac[6] = {2, 0, 0, 0, 1, 0};

	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	send_req(f, DHCPREQUEST, mac9, 0, ip("10.1.0.100"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	/* The same MAC asks again: same address. */
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	mac[5] = 1;
	send_req(f, DHCPDISCOVER, mac, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.101"));
	mac[5] = 2;
	send_req(f, DHCPDISCOVER, mac, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->nout, 0); /* the pool of two is spent (one held by an offer) */
	assert_int_equal(dhcp_server_stats(f->srv)->pool_exhausted, 1);
}

static void test_request_for_wrong_address_is_naked(void **state)
{
	struct fixture *f = *state;

	send_req(f, DHCPREQUEST, mac1, 0, ip("10.1.0.50"), 0, 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPNAK);
	assert_true(f->out.via_link);
	assert_int_equal(f->out.dst_ip, 0xffffffff);
}

static void test_renew_unicast_and_other_server(void **state)
{
	struct fixture *f = *state;

	send_req(f, DHCPREQUEST, mac1, ip("10.1.0.11"), 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_false(f->out.via_link);
	assert_int_equal(f->out.dst_ip, ip("10.1.0.11"));
	/* SELECTING another server: herd stays silent. */
	send_req(f, DHCPREQUEST, mac1, 0, ip("10.1.0.11"), ip("10.1.0.2"), 0xffff, NULL, NULL);
	assert_int_equal(f->nout, 0);
}

static void test_release_inform_decline(void **state)
{
	struct fixture *f = *state;
	uint8_t other[6] = {2, 0, 0, 0, 0, 8};

	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	send_req(f, DHCPREQUEST, mac9, 0, ip("10.1.0.100"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	/* A forged RELEASE or DECLINE from another MAC changes nothing. */
	send_req(f, DHCPRELEASE, other, ip("10.1.0.100"), 0, ip("10.1.0.1"), 0xffff, NULL, NULL);
	send_req(f, DHCPDECLINE, other, 0, ip("10.1.0.100"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(lease_at(f->leases, ip("10.1.0.100"))->state, LEASE_BOUND);
	/* A bound client that DISCOVERs again keeps its lease bound. */
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	assert_int_equal(lease_at(f->leases, ip("10.1.0.100"))->state, LEASE_BOUND);
	/* Its own DECLINE (an address conflict it found) takes the address out. */
	send_req(f, DHCPDECLINE, mac9, 0, ip("10.1.0.100"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(lease_at(f->leases, ip("10.1.0.100"))->state, LEASE_DECLINED);
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.101"));
	send_req(f, DHCPREQUEST, mac9, 0, ip("10.1.0.101"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	send_req(f, DHCPRELEASE, mac9, ip("10.1.0.101"), 0, ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(f->nout, 0);
	assert_int_equal(lease_at(f->leases, ip("10.1.0.101"))->state, LEASE_FREE);
	send_req(f, DHCPINFORM, mac9, ip("10.1.0.200"), 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_int_equal(f->reply.yiaddr, 0);
}

static void test_relay_and_broadcast(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[DHCP_MAX_LEN];
	size_t n = dhcp_build_request(buf, sizeof(buf), DHCPDISCOVER, 1, mac1, 0, 0, 0, 0xffff,
				      NULL, NULL);
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.9.9.9"), .peer = {.port = 67}};

	memcpy(buf + 24, &(uint32_t){ip("10.1.0.254")}, 4); /* giaddr */
	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, n, f->now, 1000);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->out.dst_ip, ip("10.1.0.254"));
	assert_int_equal(f->out.dst_port, 67);
	memset(buf + 24, 0, 4);
	buf[10] = 0x80; /* broadcast flag */
	rx.local_ip = ip("10.1.0.1");
	dhcp_server_input(f->srv, &rx, buf, n, f->now, 1000);
	assert_true(f->out.via_link);
	assert_int_equal(f->out.dst_ip, 0xffffffff);
}

static void test_malformed_counted(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[DHCP_MAX_LEN];
	size_t n = dhcp_build_request(buf, sizeof(buf), DHCPDISCOVER, 1, mac1, 0, 0, 0, 0xffff,
				      NULL, NULL);
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1")};
	uint8_t bad[DHCP_MAX_LEN];

	memcpy(bad, buf, n);
	bad[3] = 200; /* hops */
	dhcp_server_input(f->srv, &rx, bad, n, f->now, 1000);
	dhcp_server_input(f->srv, &rx, buf, 100, f->now, 1000); /* truncated */
	memcpy(bad, buf, n);
	bad[240] = 53;
	bad[241] = 200; /* option past the end */
	dhcp_server_input(f->srv, &rx, bad, n, f->now, 1000);
	memcpy(bad, buf, n);
	bad[0] = 2; /* a reply */
	dhcp_server_input(f->srv, &rx, bad, n, f->now, 1000);
	assert_int_equal(dhcp_server_stats(f->srv)->malformed, 4);
	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, n, f->now, 1000);
	assert_int_equal(reply_type(f), DHCPOFFER);
}

static void test_overload_and_split_options(void **state)
{
	uint8_t buf[400] = {1, 1, 6, 0};
	struct dhcp_msg *m = malloc(sizeof(*m));
	size_t len;

	(void)state;
	buf[28] = 2;
	memcpy(buf + 236, "\x63\x82\x53\x63", 4);
	/* options: 53=1, 52=3 (file and sname), 60 split in two parts */
	memcpy(buf + 240, "\x35\x01\x01\x34\x01\x03\x3c\x03PXE\xff", 13);
	memcpy(buf + 108, "\x3c\x06" "Client\xff", 9); /* file */
	memcpy(buf + 44, "\x0c\x02hh\x34\x01\x03\xff", 8); /* sname, with a nested 52 */
	assert_int_equal(dhcp_parse(buf, 300, m), 0);
	const uint8_t *vc = dhcp_opt(m, DHO_VENDOR_CLASS, &len);
	assert_int_equal(len, 9);
	assert_memory_equal(vc, "PXEClient", 9);
	assert_non_null(dhcp_opt(m, DHO_HOSTNAME, &len));
	assert_string_equal(m->file, "");
	free(m);
}

static void test_inventory_errors(void **state)
{
	struct fixture *f = *state;
	struct inventory *inv;
	char *text = NULL;
	size_t size = 0;
	FILE *errs = open_memstream(&text, &size);
	int problems =
	    inventory_load_string(&inv, "n.tab",
				  "a 02:00:00:00:00:01 10.1.0.11 default\n"
				  "b 02:00:00:00:00:01 10.1.0.12 default\n"
				  "c 02:00:00:00:00:03 10.1.0.11 default\n"
				  "d 02:00:00:00:00:04 10.2.0.1 default\n"
				  "e 02:00:00:00:00:05 10.1.0.15 nosuch\n"
				  "f zz:00:00:00:00:06 10.1.0.16 default\n"
				  "g 02:00:00:00:00:07\n"
				  "h 02:00:00:00:00:08 10.1.0.18 nfs kernel=ftp://k\n"
				  "i 02:00:00:00:00:09 10.1.0.19 nfs loader=http://l\n"
				  "j 02:00:00:00:00:0a 10.1.0.20 nfs initrd=http://k/i\n",
				  &f->cfg->dhcp, errs);
	fclose(errs);
	assert_int_equal(problems, 8);
	assert_non_null(strstr(text, "n.tab:2: MAC 02:00:00:00:00:01 is also on line 1"));
	assert_non_null(strstr(text, "n.tab:3: address 10.1.0.11 is also on line 1"));
	assert_non_null(strstr(text, "n.tab:4: 10.2.0.1 is outside every [subnet]"));
	assert_non_null(strstr(text, "n.tab:5: group 'nosuch' does not exist"));
	assert_non_null(strstr(text, "n.tab:6: 'zz:00:00:00:00:06' is not a MAC address"));
	assert_non_null(strstr(text, "n.tab:7: expected: name mac ip group"));
	/* Only http:// kernels and initrds (herd check weighs them against
	 * the group's ipxe_fetch); never a loader. */
	assert_non_null(strstr(text, "n.tab:8: kernel: 'ftp://k' is a URL"));
	assert_non_null(strstr(text, "n.tab:9: loader: 'http://l' is a URL"));
	assert_null(strstr(text, "n.tab:10:"));
	free(text);
	inventory_free(inv);
}

/* The boot options of a reply: BOOTP file, siaddr, 66, 67, 43, 60. */
static bool has_boot_options(struct fixture *f)
{
	size_t len;

	return f->reply.file[0] || f->reply.siaddr || dhcp_opt(&f->reply, DHO_TFTP_SERVER, &len) ||
	       dhcp_opt(&f->reply, DHO_BOOTFILE, &len) || dhcp_opt(&f->reply, DHO_VENDOR, &len) ||
	       dhcp_opt(&f->reply, DHO_VENDOR_CLASS, &len);
}

static void test_boot_options_only_to_booting_clients(void **state)
{
	struct fixture *f = *state;
	uint32_t v;
	size_t len;

	/* An OS's DHCP client (udhcpc's default vendor class, no arch): an
	 * address, its name from the inventory and the log host, nothing to boot. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0xffff, "udhcp 1.35.0", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.11"));
	assert_false(has_boot_options(f));
	assert_non_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len));
	assert_true(dhcp_opt_ip(&f->reply, DHO_LOG_SERVER, &v));
	assert_int_equal(v, ip("10.1.0.1"));
	send_req(f, DHCPREQUEST, mac1, 0, ip("10.1.0.11"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_false(has_boot_options(f));
	assert_true(dhcp_opt_ip(&f->reply, DHO_LOG_SERVER, &v));

	/* PXE firmware: everything. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient:Arch:00000:UNDI:002001", NULL);
	assert_string_equal(f->reply.file, "undionly.kpxe");
	assert_int_equal(f->reply.siaddr, ip("10.1.0.1"));
	assert_non_null(dhcp_opt(&f->reply, DHO_TFTP_SERVER, &len));
	assert_non_null(dhcp_opt(&f->reply, DHO_BOOTFILE, &len));
	assert_non_null(dhcp_opt(&f->reply, DHO_VENDOR, &len));
	/* iPXE by its user class alone. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0xffff, NULL, "iPXE");
	assert_string_equal(f->reply.file, "herd/ipxe/02-00-00-00-00-01.ipxe");
	assert_null(dhcp_opt(&f->reply, DHO_VENDOR, &len)); /* 43 is for PXE clients */
	/* UEFI HTTP boot. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 16, "HTTPClient:Arch:00016:UNDI:003001", NULL);
	assert_true(dhcp_opt_prefix(&f->reply, DHO_VENDOR_CLASS, "HTTPClient"));
	assert_int_equal(f->reply.siaddr, ip("10.1.0.1"));
	assert_string_equal(f->reply.file, ""); /* [http] is off: nothing to fetch */
	assert_null(dhcp_opt(&f->reply, DHO_BOOTFILE, &len));
	/* A client architecture (RFC 4578) without a PXE class: a boot ROM. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0, "U-Boot.armv8", NULL);
	assert_string_equal(f->reply.file, "undionly.kpxe");
	assert_null(dhcp_opt(&f->reply, DHO_VENDOR, &len));

	/* A node of a group with boot_options = always: even a plain client. */
	send_req(f, DHCPDISCOVER, mac2, 0, 0, 0, 0xffff, NULL, NULL);
	assert_string_equal(f->reply.file, "pxelinux.0");
	assert_int_equal(f->reply.siaddr, ip("10.1.0.1"));
	assert_non_null(dhcp_opt(&f->reply, DHO_BOOTFILE, &len));
	assert_null(dhcp_opt(&f->reply, DHO_VENDOR, &len));
}

static void test_bootp_gets_its_boot_file(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[DHCP_MAX_LEN] = {1, 1, 6, 0};
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1"), .peer = {.port = 68}};

	memcpy(buf + 28, mac1, 6);
	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, 300, f->now, 1000);
	assert_int_equal(f->nout, 1);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.11"));
	assert_string_equal(f->reply.file, "undionly.kpxe");
	assert_int_equal(f->reply.siaddr, ip("10.1.0.1"));
}

static void test_pool_hostnames(void **state)
{
	struct fixture *f = *state;
	size_t len;
	const uint8_t *name;

	/* By default a pool client is not renamed. */
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	assert_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len));
	/* [dhcp] pool_hostnames = yes */
	f->cfg->dhcp.pool_hostnames = true;
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	name = dhcp_opt(&f->reply, DHO_HOSTNAME, &len);
	assert_non_null(name);
	assert_int_equal(len, 17);
	assert_memory_equal(name, "node-020000000009", 17);
	/* ... unless the subnet says no. */
	f->cfg->dhcp.subnets[0].pool_hostnames = 0;
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len));
	/* [subnet] pool_hostnames = yes alone. */
	f->cfg->dhcp.pool_hostnames = false;
	f->cfg->dhcp.subnets[0].pool_hostnames = 1;
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	assert_non_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len));
}

static void expect_times(struct fixture *f, const uint8_t mac[6], uint32_t addr, uint32_t lease,
			 uint32_t t1, uint32_t t2)
{
	uint32_t v;

	send_req(f, DHCPREQUEST, mac, addr, 0, 0, 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_true(dhcp_opt_u32(&f->reply, DHO_LEASE_TIME, &v));
	assert_int_equal(v, lease);
	assert_true(dhcp_opt_u32(&f->reply, DHO_T1, &v));
	assert_int_equal(v, t1);
	assert_true(dhcp_opt_u32(&f->reply, DHO_T2, &v));
	assert_int_equal(v, t2);
}

static void test_renewal_times(void **state)
{
	struct fixture *f = *state;
	struct conf_dhcp *d = &f->cfg->dhcp;

	expect_times(f, mac1, ip("10.1.0.11"), 3600, 1800, 3150);
	d->timers = (struct conf_timers){.renewal = 600, .line = 1};
	expect_times(f, mac1, ip("10.1.0.11"), 3600, 600, 600 + 3000 * 3 / 4);
	/* The subnet's own lease and times. */
	d->subnets[0].lease_time = 60;
	d->subnets[0].timers = (struct conf_timers){.renewal = 10, .line = 1};
	expect_times(f, mac1, ip("10.1.0.11"), 60, 10, 47);
	/* n2's group sets its own. */
	d->groups[1].timers = (struct conf_timers){.renewal = 20, .rebinding = 40, .line = 1};
	assert_string_equal(d->groups[1].name, "nfs");
	expect_times(f, mac2, ip("10.1.0.12"), 60, 20, 40);
	expect_times(f, mac1, ip("10.1.0.11"), 60, 10, 47);
}

/* herd tells loaders apart by name: what `herd check` prints and warns. */
/* A new snapshot: n2 moves to group default, n1 leaves the inventory
 * (a pool client now), n9 joins. Each takes effect at the next request;
 * the pool lease granted before the swap is still there; the old
 * snapshot is freed once the server lets go of it. */
static void test_policy_swap(void **state)
{
	struct fixture *f = *state;
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv;
	struct policy *next;
	unsigned live = policy_live();
	size_t len;

	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0xffff, NULL, NULL);
	send_req(f, DHCPREQUEST, mac9, 0, ip("10.1.0.100"), ip("10.1.0.1"), 0xffff, NULL, NULL);
	assert_int_equal(reply_type(f), DHCPACK);

	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf", conf_text, stderr), 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab",
					       "n2 02:00:00:00:00:02 10.1.0.12 default\n"
					       "n9 02:00:00:00:00:09 10.1.0.19 nfs\n",
					       &cfg->dhcp, stderr),
			 0);
	next = policy_new(cfg, inv);
	assert_int_equal(policy_generation(next), policy_generation(f->policy) + 1);
	dhcp_server_set_policy(f->srv, next);
	policy_unref(f->policy); /* the fixture's reference to the old one */
	f->policy = next;
	assert_int_equal(policy_live(), live); /* the old one is gone */

	send_req(f, DHCPDISCOVER, mac2, 0, 0, 0, 0, "PXEClient", NULL);
	assert_string_equal(f->reply.file, "undionly.kpxe"); /* default's, not nfs's pxelinux.0 */
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0, 0, "PXEClient", NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.19"));
	assert_string_equal(f->reply.file, "pxelinux.0");
	assert_memory_equal(dhcp_opt(&f->reply, DHO_HOSTNAME, &len), "n9", 2);
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.101")); /* from the pool now */
	assert_null(dhcp_opt(&f->reply, DHO_HOSTNAME, &len));
}

static void test_loader_classes(void **state)
{
	(void)state;
	assert_int_equal(boot_loader_kind("undionly.kpxe"), BOOT_LOADER_IPXE);
	assert_int_equal(boot_loader_kind("ipxe.efi"), BOOT_LOADER_IPXE);
	assert_int_equal(boot_loader_kind("snponly.efi"), BOOT_LOADER_IPXE);
	assert_int_equal(boot_loader_kind("custom.kkpxe"), BOOT_LOADER_IPXE);
	assert_int_equal(boot_loader_kind("pxelinux.0"), BOOT_LOADER_PXELINUX);
	assert_int_equal(boot_loader_kind("boot/lpxelinux.0"), BOOT_LOADER_PXELINUX);
	assert_int_equal(boot_loader_kind("grubx64.efi"), BOOT_LOADER_GRUB);
	assert_int_equal(boot_loader_kind("grubnetx64.efi"), BOOT_LOADER_GRUB);
	assert_int_equal(boot_loader_kind("boot.efi"), BOOT_LOADER_OTHER);

	assert_null(boot_loader_doubt(BOOT_ARCH_BIOS, "undionly.kpxe"));
	assert_null(boot_loader_doubt(BOOT_ARCH_BIOS, "pxelinux.0"));
	assert_null(boot_loader_doubt(BOOT_ARCH_EFI_X64, "ipxe.efi"));
	assert_null(boot_loader_doubt(BOOT_ARCH_EFI_ARM64, "arm64/ipxe.efi"));
	assert_non_null(boot_loader_doubt(BOOT_ARCH_BIOS, "ipxe.efi"));
	assert_non_null(boot_loader_doubt(BOOT_ARCH_EFI_X64, "undionly.kpxe"));
	assert_non_null(boot_loader_doubt(BOOT_ARCH_EFI_X64, "pxelinux.0"));
	assert_non_null(boot_loader_doubt(BOOT_ARCH_EFI_X64, "grubaa64.efi"));
	assert_non_null(boot_loader_doubt(BOOT_ARCH_EFI_ARM64, "grubx64.efi"));
	/* "ipxe" and another loader's name: herd picks iPXE, which may surprise. */
	assert_non_null(boot_loader_doubt(BOOT_ARCH_BIOS, "grub-ipxe.0"));
}

/* GRUB reads [prefix/]grub.cfg, the same for all, which hands over to the
 * node's grub.cfg-01-<mac>: its words quoted, so a command line cannot
 * become GRUB script. */
static void test_grub_files(void **state)
{
	struct conf_group g = {.name = "g",
			       .kernel = "boot/vmlinuz",
			       .initrd = "/initrd.img",
			       .cmdline = "console=ttyS0 x=$y it's"};
	struct boot_node n = {.name = "n1", .group = &g};
	uint8_t mac[6];
	char *text;
	size_t len;

	(void)state;
	assert_true(boot_is_generated("grub.cfg"));
	assert_true(boot_is_generated("/grub/grub.cfg"));
	assert_true(boot_is_generated("grub/grub.cfg-01-52-54-00-99-07-01"));
	assert_false(boot_is_generated("grub/grub.cfg.orig"));
	assert_false(boot_is_generated("grub/x86_64-efi/command.lst"));
	assert_true(boot_is_grub_cfg("/grub/grub.cfg"));
	assert_false(boot_is_grub_cfg("grub/grub.cfg-01-52-54-00-99-07-01"));
	assert_int_equal(boot_generated_mac("grub/grub.cfg-01-52-54-00-99-07-01", mac), 0);
	assert_int_equal(mac[5], 0x01);
	assert_int_equal(boot_generated_mac("grub/grub.cfg-01-52-54-00", mac), -EINVAL);

	assert_int_equal(boot_render(&n, "grub/grub.cfg-01-52-54-00-99-07-01", &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "\nlinux '/boot/vmlinuz' 'console=ttyS0 x=$y it'\\''s'\n"));
	assert_non_null(strstr(text, "\ninitrd '/initrd.img'\nboot\n"));
	free(text);
	g.initrd[0] = '\0';
	assert_int_equal(boot_render(&n, "grub/grub.cfg-01-52-54-00-99-07-01", &text, &len), 0);
	assert_null(strstr(text, "initrd"));
	free(text);

	assert_int_equal(boot_render_grub_cfg(&text, &len), 0);
	assert_non_null(strstr(text, "configfile \"$prefix/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6\""));
	free(text);
}

/* grub.cfg is herd's only when a group boots GRUB: otherwise a grub.cfg in
 * the root is served as it is. */
static void test_grub_cfg_policy(void **state)
{
	struct fixture *f = *state;
	struct ipaddr srv = ipaddr_v4(ip("10.1.0.1")), cli = ipaddr_v4(ip("10.1.0.11"));
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv;
	struct policy *p;
	char *text;
	size_t len;

	assert_int_equal(policy_render(f->policy, "grub/grub.cfg", &srv, &cli, &text, &len),
			 -ENOENT);
	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf",
					  "[dhcp]\nenabled = yes\nlease_file =\nunknown = ignore\n"
					  "[subnet a]\nnetwork = 10.1.0.0/24\n"
					  "[group default]\nloader_efi64 = grubnetx64.efi\n"
					  "kernel = vmlinuz\n"
					  "initrd = initrd.img\ncmdline = console=ttyS0\n",
					  stderr),
			 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab",
					       "n1 02:00:00:00:00:01 10.1.0.11 default\n", &cfg->dhcp,
					       stderr),
			 0);
	p = policy_new(cfg, inv);
	assert_int_equal(policy_render(p, "/grub/grub.cfg", &srv, &cli, &text, &len), 0);
	assert_non_null(strstr(text, "configfile"));
	free(text);
	assert_int_equal(
	    policy_render(p, "/grub/grub.cfg-01-02-00-00-00-00-01", &srv, &cli, &text, &len), 0);
	assert_non_null(strstr(text, "# generated by herd for n1\n"));
	assert_non_null(strstr(text, "linux '/vmlinuz' 'console=ttyS0'\ninitrd '/initrd.img'\n"));
	free(text);
	/* a MAC herd does not know (unknown = ignore) */
	assert_int_equal(
	    policy_render(p, "/grub/grub.cfg-01-02-00-00-00-00-07", &srv, &cli, &text, &len),
	    -ENOENT);
	policy_unref(p);
}

/* A node's own loader_efi64= (and loader_arm64=) beats its group's, and a
 * per-node GRUB is enough for herd to make grub.cfg. */
static void test_node_uefi_loaders(void **state)
{
	struct ipaddr srv = ipaddr_v4(ip("10.1.0.1")), cli = ipaddr_v4(ip("10.1.0.11"));
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv;
	struct policy *p;
	char file[64], *text;
	size_t len;

	(void)state;
	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf",
					  "[dhcp]\nenabled = yes\nlease_file =\n"
					  "[subnet a]\nnetwork = 10.1.0.0/24\n"
					  "[group default]\nkernel = vmlinuz\n"
					  "loader_arm64 = ipxe-arm64.efi\n",
					  stderr),
			 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab",
					       "n1 02:00:00:00:00:01 10.1.0.11 default "
					       "loader_efi64=grubnetx64.efi "
					       "loader_arm64=grubaa64.efi\n"
					       "n2 02:00:00:00:00:02 10.1.0.12 default\n",
					       &cfg->dhcp, stderr),
			 0);
	p = policy_new(cfg, inv);
	assert_int_equal(policy_boot_file(p, mac1, BOOT_ARCH_EFI_X64, false, file, sizeof(file)),
			 0);
	assert_string_equal(file, "grubnetx64.efi");
	assert_int_equal(policy_boot_file(p, mac1, BOOT_ARCH_EFI_ARM64, false, file, sizeof(file)),
			 0);
	assert_string_equal(file, "grubaa64.efi");
	assert_int_equal(policy_boot_file(p, mac1, BOOT_ARCH_BIOS, false, file, sizeof(file)), 0);
	assert_string_equal(file, "undionly.kpxe");
	assert_int_equal(policy_boot_file(p, mac2, BOOT_ARCH_EFI_X64, false, file, sizeof(file)),
			 0);
	assert_string_equal(file, "ipxe.efi");
	assert_int_equal(policy_boot_file(p, mac2, BOOT_ARCH_EFI_ARM64, false, file, sizeof(file)),
			 0);
	assert_string_equal(file, "ipxe-arm64.efi");
	/* iPXE on n1 chainloads GRUB rather than getting its script */
	assert_int_equal(policy_boot_file(p, mac1, BOOT_ARCH_EFI_X64, true, file, sizeof(file)), 0);
	assert_string_equal(file, "grubnetx64.efi");
	assert_int_equal(policy_render(p, "grub/grub.cfg", &srv, &cli, &text, &len), 0);
	free(text);
	policy_unref(p);
}

/* The boot file option (67) as a string. */
static const char *opt_bootfile(struct fixture *f, char buf[256])
{
	size_t len;
	const uint8_t *v = dhcp_opt(&f->reply, DHO_BOOTFILE, &len);

	snprintf(buf, 256, "%.*s", v ? (int)len : 0, v ? (const char *)v : "");
	return buf;
}

/* UEFI HTTP boot: the URI of the base architecture's loader on herd's
 * HTTP server, with "HTTPClient" back; no other client gets a URL. */
static void test_http_boot(void **state)
{
	struct fixture *f = *state;
	char b[256];

	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 16, "HTTPClient:Arch:00016:UNDI:003001", NULL);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_string_equal(f->reply.file, "http://10.1.0.1:8080/ipxe.efi");
	assert_string_equal(opt_bootfile(f, b), "http://10.1.0.1:8080/ipxe.efi");
	assert_true(dhcp_opt_prefix(&f->reply, DHO_VENDOR_CLASS, "HTTPClient"));
	assert_false(dhcp_opt_prefix(&f->reply, DHO_VENDOR_CLASS, "PXEClient"));
	send_req(f, DHCPREQUEST, mac1, 0, ip("10.1.0.11"), ip("10.1.0.1"), 16,
		 "HTTPClient:Arch:00016:UNDI:003001", NULL);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_string_equal(opt_bootfile(f, b), "http://10.1.0.1:8080/ipxe.efi");
	/* ARM64 HTTP (19): loader_arm64. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 19, "HTTPClient:Arch:00019:UNDI:003001", NULL);
	assert_string_equal(f->reply.file, "http://10.1.0.1:8080/arm64/ipxe.efi");
	/* EBC HTTP (17) boots what EBC (9) does: loader_efi64. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 17, "HTTPClient:Arch:00017:UNDI:003001", NULL);
	assert_string_equal(f->reply.file, "http://10.1.0.1:8080/ipxe.efi");
	/* HTTPClient with a base architecture in option 93. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 7, "HTTPClient:Arch:00007:UNDI:003001", NULL);
	assert_string_equal(f->reply.file, "http://10.1.0.1:8080/ipxe.efi");
	/* HTTP architectures herd has no loader for (x86 UEFI, ARM32, BIOS,
	 * RISC-V): asked for HTTP boot, so no TFTP path either. */
	static const uint16_t none[] = {15, 18, 20, 28};
	for (unsigned i = 0; i < 4; i++) {
		send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, none[i], "HTTPClient", NULL);
		assert_int_equal(reply_type(f), DHCPOFFER);
		assert_string_equal(f->reply.file, "");
		assert_string_equal(opt_bootfile(f, b), "");
	}
	/* An HTTP architecture without the class still asked for HTTP boot. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 16, NULL, NULL);
	assert_string_equal(f->reply.file, "http://10.1.0.1:8080/ipxe.efi");

	/* PXE firmware and iPXE: paths, as without HTTP. */
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 7, "PXEClient:Arch:00007:UNDI:003000", NULL);
	assert_string_equal(f->reply.file, "ipxe.efi");
	assert_string_equal(opt_bootfile(f, b), "ipxe.efi");
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 0, "PXEClient:Arch:00000:UNDI:002001", NULL);
	assert_string_equal(f->reply.file, "undionly.kpxe");
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 11, "PXEClient:Arch:00011:UNDI:003000", NULL);
	assert_string_equal(f->reply.file, "arm64/ipxe.efi");
	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 7, "PXEClient:Arch:00007:UNDI:003010", "iPXE");
	assert_string_equal(f->reply.file, "herd/ipxe/02-00-00-00-00-01.ipxe");
	/* A pool client of the default group too. */
	static const uint8_t mac11[6] = {2, 0, 0, 0, 0, 11};
	send_req(f, DHCPDISCOVER, mac11, 0, 0, 0, 16, "HTTPClient:Arch:00016:UNDI:003001", NULL);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	assert_string_equal(f->reply.file, "http://10.1.0.1:8080/ipxe.efi");
}

static void test_http_arch_twins(void **state)
{
	(void)state;
	assert_int_equal(boot_arch_http_base(16), 7);
	assert_int_equal(boot_arch_http_base(19), 11);
	assert_int_equal(boot_arch_http_base(15), 6);
	assert_int_equal(boot_arch_http_base(17), 9);
	assert_int_equal(boot_arch_http_base(18), 10);
	assert_int_equal(boot_arch_http_base(20), 0);
	assert_int_equal(boot_arch_http_base(24), 22);
	assert_int_equal(boot_arch_http_base(40), 39);
	assert_int_equal(boot_arch_http_base(0), -1);
	assert_int_equal(boot_arch_http_base(7), -1);
	assert_int_equal(boot_arch_http_base(11), -1);
	assert_int_equal(boot_arch_http_base(21), -1);
}

/* The iPXE script's URLs follow the group's ipxe_fetch. */
static char *render(struct fixture *f, const char *name, const char *server)
{
	struct ipaddr srv = ipaddr_v4(ip(server)), cl = ipaddr_v4(ip("10.1.0.11"));
	char *data;
	size_t len;

	assert_int_equal(policy_render(f->policy, name, &srv, &cl, &data, &len), 0);
	data = realloc(data, len + 1);
	data[len] = '\0';
	return data;
}

static void test_ipxe_script_fetch(void **state)
{
	struct fixture *f = *state;
	char *s = render(f, "herd/ipxe/02-00-00-00-00-01.ipxe", "10.1.0.1");

	assert_non_null(strstr(s, "kernel http://10.1.0.1:8080/vmlinuz initrd=initrd.img ip=dhcp\n"
				  "initrd http://10.1.0.1:8080/images/initrd.img\nboot\n"));
	free(s);
	s = render(f, "herd/ipxe/02-00-00-00-00-02.ipxe", "10.1.0.1");
	assert_non_null(strstr(s, "kernel tftp://10.1.0.1/k quiet\nboot\n"));
	free(s);
	s = render(f, "herd/ipxe/02-00-00-00-00-09.ipxe", "10.1.0.1");
	assert_non_null(strstr(s, "kernel http://images.lab/far/vmlinuz initrd=initrd.img \n"
				  "initrd http://images.lab/initrd.img\n"));
	free(s);
	/* pxelinux keeps TFTP paths. */
	s = render(f, "pxelinux.cfg/01-02-00-00-00-00-01", "10.1.0.1");
	assert_non_null(strstr(s, "KERNEL vmlinuz\n  INITRD /images/initrd.img\n"));
	free(s);
}

/* Without [http], the default (auto) is TFTP; with it bound to one
 * address, that address, and no port when it is 80. */
static void test_ipxe_script_fetch_auto(void **state)
{
	struct fixture *f = *state;
	char *s = render(f, "herd/ipxe/02-00-00-00-00-01.ipxe", "10.1.0.1");

	assert_non_null(strstr(s, "kernel tftp://10.1.0.1/vmlinuz initrd=initrd.img ip=dhcp\n"
				  "initrd tftp://10.1.0.1/initrd.img\n"));
	free(s);
}

static void test_http_listen_address(void **state)
{
	struct fixture *f = *state;

	send_req(f, DHCPDISCOVER, mac1, 0, 0, 0, 16, "HTTPClient:Arch:00016:UNDI:003001", NULL);
	assert_string_equal(f->reply.file, "http://10.1.0.5/ipxe.efi");
	char *s = render(f, "herd/ipxe/02-00-00-00-00-01.ipxe", "10.1.0.1");
	assert_non_null(strstr(s, "kernel http://10.1.0.5/vmlinuz "));
	free(s);
}

static int setup_http_80(void **state)
{
	static char text[sizeof(conf_http_text) + 64];

	snprintf(text, sizeof(text), "[http]\nenabled = yes\nlisten = 10.1.0.5\n%s",
		 strstr(conf_http_text, "[dhcp]"));
	return setup_with(state, text, inv_http_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inventory_node_gets_its_address_and_name,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_file_by_arch_and_ipxe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_and_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_for_wrong_address_is_naked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_renew_unicast_and_other_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_release_inform_decline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_and_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_counted, setup, teardown),
		cmocka_unit_test(test_overload_and_split_options),
		cmocka_unit_test_setup_teardown(test_inventory_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_options_only_to_booting_clients, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bootp_gets_its_boot_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_hostnames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renewal_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_swap, setup, teardown),
		cmocka_unit_test(test_loader_classes),
		cmocka_unit_test(test_grub_files),
		cmocka_unit_test_setup_teardown(test_grub_cfg_policy, setup, teardown),
		cmocka_unit_test(test_node_uefi_loaders),
	    cmocka_unit_test_setup_teardown(test_inventory_node_gets_its_address_and_name, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_boot_file_by_arch_and_ipxe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_and_exhaustion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_for_wrong_address_is_naked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_renew_unicast_and_other_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_inform_decline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relay_and_broadcast, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_counted, setup, teardown),
	    cmocka_unit_test(test_overload_and_split_options),
	    cmocka_unit_test_setup_teardown(test_inventory_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_options_only_to_booting_clients, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bootp_gets_its_boot_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_hostnames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renewal_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy_swap, setup, teardown),
	    cmocka_unit_test(test_loader_classes),
	    cmocka_unit_test_setup_teardown(test_http_boot, setup_http, teardown),
	    cmocka_unit_test(test_http_arch_twins),
	    cmocka_unit_test_setup_teardown(test_ipxe_script_fetch, setup_http, teardown),
	    cmocka_unit_test_setup_teardown(test_ipxe_script_fetch_auto, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_http_listen_address, setup_http_80, teardown),
	};
	return cmocka_run_group_tests_name("dhcp", tests, NULL, NULL);
}
