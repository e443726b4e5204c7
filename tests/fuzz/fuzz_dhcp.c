/* Fuzzes the DHCP codec and the server's handlers: the input is one
 * datagram, received on a subnet with an inventory and a pool. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "boot/policy.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"
#include "inventory/inventory.h"

static struct herd_config *cfg;
static struct inventory *inv;
static struct lease_table *leases;
static struct dhcp_server *srv;
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
				"of/a/boot/file/field/loader.efi\n";
static const char inv_text[] = "n1 02:00:00:00:00:01 10.1.0.11 default\n"
			       "n2 02:00:00:00:00:02 10.1.0.12 c cmdline=\"x y\"\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dhcp_tx tx = {NULL, sink};
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
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_rx rx = {.ifindex = 2, .peer = {.port = 68}};

	inet_pton(AF_INET, "10.1.0.1", &rx.local_ip);
	now += MONO_MS(100);
	dhcp_server_input(srv, &rx, data, size, now, 1000 + now / 1000000);
	return 0;
}
