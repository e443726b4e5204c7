/* Fuzzes the DHCP codec and the server's handlers: the input is one
 * datagram, received on a subnet with an inventory, a pool and [rule]s
 * (so option 82's sub-options and the classes are read and remembered);
 * then by a proxy ([dhcp] mode = proxy) on port 67 and on port 4011. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "boot/policy.h"
#include "dhcp/dhcp_facts.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"
#include "inventory/inventory.h"

static struct herd_config *cfg;
static struct inventory *inv;
static struct lease_table *leases;
static struct dhcp_server *srv, *proxy;
static mono_t now = MONO_SEC(1000);

static void sink(void *ctx, const struct dhcp_out *o)
{
	struct dhcp_msg *m = malloc(sizeof(*m));

	(void)ctx;
	/* Whatever herd builds must parse back. */
	if (dhcp_parse(o->buf, o->len, m) != 0)
		abort();
	free(m);
}

/* Neighbour pins: the server's and the proxy's bookkeeping of them runs. */
static void pin_sink(void *ctx, int ifindex, uint32_t ip, const uint8_t mac[6], unsigned secs)
{
	(void)ctx, (void)ifindex, (void)ip, (void)mac, (void)secs;
}

/* HTTP on, so HTTP boot clients get URIs (group c's too long for a boot
 * file: the -ENOSPC path). */
static const char conf_text[] = "[http]\nenabled = yes\nlisten = 0.0.0.0:8080\n"
				"[dhcp]\nenabled = yes\nlease_file =\n"
				"[subnet a]\nnetwork = 10.1.0.0/16\npool = 10.1.2.0 - 10.1.2.20\n"
				"router = 10.1.0.1\ndns = 10.1.0.1 10.1.0.2\ndomain = x.example\n"
				"[group default]\nkernel = k\ninitrd = i\ncmdline = a=%{name} b=%{ip}\n"
				"loader_arm64 = arm64/ipxe.efi\n"
				"[group c]\nloader_bios = pxelinux.0\nloader_efi64 = "
				"very/long/path/to/a/loader/whose/http/url/does/not/fit/the/128/bytes/"
				"of/a/boot/file/field/loader.efi\n"
				"[rule port]\ncircuit_id = p*\nname = r-%{circuit_id}-%{remote_id}\n"
				"group = c\n"
				"[rule efi]\narch = 7 9\nvendor_class = PXEClient*\nuser_class = iPXE\n"
				"group = default\nname = e-%{mac}\n";
static const char proxy_conf[] = "[dhcp]\nenabled = yes\nmode = proxy\nlease_file =\n"
				 "[subnet a]\nnetwork = 10.1.0.0/16\n"
				 "[group default]\nkernel = k\n[group c]\nloader_bios = pxelinux.0\n";
static const char proxy_inv[] = "n1 02:00:00:00:00:01 - default\n"
				"n2 02:00:00:00:00:02 10.1.0.12 c\n";

static const char inv_text[] = "n1 02:00:00:00:00:01 10.1.0.11 default\n"
			       "n2 02:00:00:00:00:02 10.1.0.12 c cmdline=\"x y\"\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dhcp_tx tx = {NULL, sink, pin_sink};
	int err;

	(void)argc, (void)argv;
	cfg = calloc(1, sizeof(*cfg));
	conf_defaults(cfg);
	if (conf_load_string(cfg, "fuzz.conf", conf_text, stderr) != 0 ||
	    inventory_load_string(&inv, "fuzz.tab", inv_text, &cfg->dhcp, stderr) != 0)
		abort();
	leases = lease_table_open(&cfg->dhcp, "", 1000, &err);
	srv = dhcp_server_new(policy_new(cfg, inv), leases, &tx);
	if (srv == NULL)
		abort();
	/* The proxy: unknown clients get the default group, so its table of
	 * learned addresses fills (and evicts) too. */
	struct herd_config *pcfg = calloc(1, sizeof(*pcfg));
	struct inventory *pinv = NULL;
	conf_defaults(pcfg);
	if (conf_load_string(pcfg, "proxy.conf", proxy_conf, stderr) != 0 ||
	    inventory_load_string(&pinv, "proxy.tab", proxy_inv, &pcfg->dhcp, stderr) != 0)
		abort();
	proxy = dhcp_server_new(policy_new(pcfg, pinv), lease_table_open(&pcfg->dhcp, "", 1000, &err),
				&tx);
	if (proxy == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_rx rx = {.ifindex = 2, .peer = {.port = 68}};

	static struct dhcp_msg m;
	struct boot_facts f;

	/* The facts for the rules (option 82's sub-options, 93, 60, 77),
	 * even of a message the server would drop before reading them. */
	if (dhcp_parse(data, size, &m) == 0)
		dhcp_facts(&m, true, &f);
	inet_pton(AF_INET, "10.1.0.1", &rx.local_ip);
	now += MONO_MS(100);
	dhcp_server_input(srv, &rx, data, size, now, 1000 + now / 1000000);
	dhcp_server_input(proxy, &rx, data, size, now, 1000 + now / 1000000);
	rx.local_port = 4011;
	rx.peer.ip = ipaddr_v4(htonl(0x0a010033)); /* 10.1.0.51: a client with its address */
	dhcp_server_input(proxy, &rx, data, size, now, 1000 + now / 1000000);
	char name[CONF_NAME_MAX];
	dhcp_server_name_of(proxy, htonl(0x0a010033), name);
	return 0;
}
