/* The DHCP stage of the swarm's client state machine, driven in-process: a
 * fake sender records every request, the clock is a variable, and the test
 * plays the DHCP server with dhcp_wire's builder (and a TFTP server with
 * tftp_wire's, for the downloads between the stages of --chain). */
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

#include "dhcp/dhcp_wire.h"
#include "swarm/swarm_client.h"
#include "swarm/swarm_profiles.h"
#include "swarm/swarm_report.h"
#include "tftp/tftp_wire.h"

#define T0 MONO_SEC(100)
#define NCLIENTS 4
#define RING 16

struct sent {
	size_t len;
	struct netaddr to; /* TFTP only */
	uint8_t buf[DHCP_MAX_LEN];
};

struct fixture {
	struct swarm sw;
	struct swarm_profile prof, stage[SWARM_BOOT_STAGES];
	struct swarm_client c[NCLIENTS];
	char names[NCLIENTS][SWARM_BOOTNAME_MAX];
	struct sent dhcp[RING], tftp[RING];
	unsigned ndhcp, ntftp, new_ports;
	uint32_t server_ip, giaddr, yiaddr, next_server;
	uint32_t lease_s; /* option 51 in OFFERs and ACKs (0: none) */
	mono_t now;
	struct dhcp_msg req; /* the last request, parsed */
	uint8_t pkt[2048];
};

static int fake_send(void *ctx, struct swarm_client *c, const struct netaddr *to,
		     const uint8_t *buf, size_t len)
{
	struct fixture *f = ctx;
	struct sent *s = &f->tftp[f->ntftp++ % RING];

	(void)c;
	assert_true(len <= sizeof(s->buf));
	s->to = *to;
	s->len = len;
	memcpy(s->buf, buf, len);
	return 0;
}

static int fake_send_dhcp(void *ctx, const uint8_t *buf, size_t len)
{
	struct fixture *f = ctx;
	struct sent *s = &f->dhcp[f->ndhcp++ % RING];

	assert_true(len <= sizeof(s->buf));
	s->len = len;
	memcpy(s->buf, buf, len);
	return 0;
}

static int fake_new_port(void *ctx, struct swarm_client *c)
{
	struct fixture *f = ctx;

	(void)c;
	f->new_ports++;
	return 0;
}

static struct swarm_client *fake_client(void *ctx, uint32_t index)
{
	struct fixture *f = ctx;

	return index < NCLIENTS ? &f->c[index] : NULL;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->sw.tx = (struct swarm_tx){f, fake_send, fake_new_port, fake_send_dhcp, fake_client};
	f->sw.server.port = 69;
	f->sw.dhcp.on = true;
	f->sw.dhcp.only = true;
	f->sw.dhcp.nclients = NCLIENTS;
	f->sw.dhcp.mac_base = 0x100;
	f->sw.dhcp.xid_salt = 0x5eed;
	f->server_ip = ip("192.0.2.1");
	f->giaddr = ip("198.51.100.1");
	f->yiaddr = ip("198.51.100.20");
	f->next_server = ip("192.0.2.9");
	f->sw.dhcp.giaddr = f->giaddr;
	f->stage[SWARM_BOOT_IPXE] = *swarm_profile_find("ipxe");
	f->stage[SWARM_BOOT_OS] = *swarm_profile_find("busybox");
	for (int k = 1; k < SWARM_BOOT_STAGES; k++)
		f->sw.dhcp.stage_prof[k] = &f->stage[k];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Client 0 (or i) of profile `name`, started at T0. */
static void start_n(struct fixture *f, unsigned i, const char *name, const char *set)
{
	f->prof = *swarm_profile_find(name);
	if (set)
		assert_int_equal(swarm_profile_set(&f->prof, set), 0);
	swarm_client_init(&f->c[i], &f->prof, i, T0);
	f->now = T0;
	swarm_client_timeout(&f->sw, &f->c[i], f->now);
}

static void start(struct fixture *f, const char *name)
{
	start_n(f, 0, name, NULL);
}

/* The last DHCP request, parsed into f->req; checks it is one. */
static const struct dhcp_msg *last_req(struct fixture *f, enum dhcp_type type)
{
	const struct sent *s = &f->dhcp[(f->ndhcp - 1) % RING];

	assert_true(f->ndhcp > 0);
	assert_int_equal(dhcp_parse(s->buf, s->len, &f->req), 0);
	assert_int_equal(f->req.op, DHCP_BOOTREQUEST);
	assert_int_equal(f->req.type, type);
	return &f->req;
}

static void fire(struct fixture *f, unsigned i)
{
	assert_true(f->c[i].deadline != MONO_NEVER);
	f->now = f->c[i].deadline;
	swarm_client_timeout(&f->sw, &f->c[i], f->now);
}

/* The server's answer to f->req, as herd would build it. */
static size_t answer(struct fixture *f, enum dhcp_type type, const char *file)
{
	struct dhcp_builder b;

	dhcp_build_start(&b, f->pkt, sizeof(f->pkt), sizeof(f->pkt), &f->req, type,
			 type == DHCPNAK ? 0 : f->yiaddr, type == DHCPNAK ? 0 : f->next_server,
			 NULL, NULL);
	dhcp_build_ip(&b, DHO_SERVER_ID, f->server_ip);
	if (f->lease_s && type != DHCPNAK)
		dhcp_build_u32(&b, DHO_LEASE_TIME, f->lease_s);
	if (file)
		dhcp_build_str(&b, DHO_BOOTFILE, file);
	return dhcp_build_end(&b);
}

static struct swarm_client *reply(struct fixture *f, enum dhcp_type type, const char *file)
{
	size_t len = answer(f, type, file);

	assert_true(len > 0);
	return swarm_dhcp_input(&f->sw, f->pkt, len, f->now);
}

/* DISCOVER -> OFFER -> REQUEST -> ACK, `ms` milliseconds per reply. */
static void dora(struct fixture *f, unsigned ms, const char *file)
{
	last_req(f, DHCPDISCOVER);
	f->now += MONO_MS(ms);
	reply(f, DHCPOFFER, NULL);
	last_req(f, DHCPREQUEST);
	f->now += MONO_MS(ms);
	reply(f, DHCPACK, file);
}

static void test_client_is_small(void **state)
{
	(void)state;
	assert_true(sizeof(struct swarm_client) < 200);
}

/* iPXE's DISCOVER through a relay: its MAC, the relay's giaddr and hops,
 * iPXE's classes and client id; the REQUEST names the offer; the ACK ends
 * a --dhcp-only client, with the DORA's time. */
static void test_ipxe_dora(void **state)
{
	struct fixture *f = *state;
	const struct dhcp_msg *m;
	uint8_t mac[6] = {0x02, 0x48, 0, 0, 0x01, 0x02}; /* mac_base 0x100 + client 2 */
	uint32_t v, xid;
	size_t len;
	const uint8_t *cid;

	start_n(f, 2, "ipxe", NULL);
	m = last_req(f, DHCPDISCOVER);
	assert_memory_equal(m->chaddr, mac, 6);
	assert_int_equal(m->giaddr, f->giaddr);
	assert_int_equal(m->hops, 1);
	assert_int_equal(m->flags & DHCP_FLAG_BROADCAST, 0);
	assert_true(dhcp_opt_prefix(m, DHO_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001"));
	assert_true(dhcp_opt_prefix(m, DHO_USER_CLASS, "iPXE"));
	assert_true(dhcp_opt_u16(m, DHO_CLIENT_ARCH, &(uint16_t){0}));
	cid = dhcp_opt(m, DHO_CLIENT_ID, &len);
	assert_non_null(cid);
	assert_int_equal(len, 7);
	assert_int_equal(cid[0], 1);
	assert_memory_equal(cid + 1, mac, 6);
	xid = m->xid;

	f->now += MONO_MS(3);
	assert_ptr_equal(reply(f, DHCPOFFER, NULL), &f->c[2]);
	m = last_req(f, DHCPREQUEST);
	assert_int_equal(m->xid, xid);
	assert_true(dhcp_opt_ip(m, DHO_REQUESTED_IP, &v));
	assert_int_equal(v, f->yiaddr);
	assert_true(dhcp_opt_ip(m, DHO_SERVER_ID, &v));
	assert_int_equal(v, f->server_ip);

	f->now += MONO_MS(2);
	reply(f, DHCPACK, NULL);
	assert_int_equal(f->c[2].stage, SWARM_DONE);
	assert_int_equal(f->c[2].dora_us[SWARM_BOOT_FIRMWARE], 5000);
	assert_int_equal(f->c[2].t_last_ack, T0 + MONO_MS(5));
	assert_int_equal(f->sw.dhcp.n[0].acks, 1);
	assert_int_equal(f->sw.dhcp.n[0].discovers, 1);
	assert_int_equal(f->sw.dhcp.n[0].requests, 1);
	assert_int_equal(f->sw.running, 0);
	assert_int_equal(f->ntftp, 0);
}

/* OVMF: its class, arch 7, no client id, the broadcast flag. */
static void test_edk2_identity(void **state)
{
	struct fixture *f = *state;
	const struct dhcp_msg *m;
	uint16_t arch = 0;
	size_t len;

	start(f, "edk2");
	m = last_req(f, DHCPDISCOVER);
	assert_true(dhcp_opt_prefix(m, DHO_VENDOR_CLASS, "PXEClient:Arch:00007:UNDI:003000"));
	assert_null(dhcp_opt(m, DHO_USER_CLASS, &len));
	assert_null(dhcp_opt(m, DHO_CLIENT_ID, &len));
	assert_true(dhcp_opt_u16(m, DHO_CLIENT_ARCH, &arch));
	assert_int_equal(arch, 7);
	assert_int_equal(m->flags & DHCP_FLAG_BROADCAST, DHCP_FLAG_BROADCAST);
}

/* Each DISCOVER waits its turn of the firmware's table; after the last, the
 * client fails. Returns when it failed. */
static mono_t run_out(struct fixture *f, const uint32_t *waits_ms, unsigned n)
{
	mono_t t = T0;

	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(f->c[0].stage, SWARM_DISCOVER);
		assert_int_equal(f->sw.dhcp.n[0].discovers, i + 1);
		t += MONO_MS(waits_ms[i]);
		assert_int_equal(f->c[0].deadline, t);
		fire(f, 0);
	}
	assert_int_equal(f->c[0].stage, SWARM_FAILED);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_DHCP);
	assert_int_equal(f->sw.dhcp.n[0].timeouts, 1);
	assert_int_equal(f->sw.dhcp.n[0].retransmits, n - 1);
	return f->now;
}

static void test_pxe_timers(void **state)
{
	struct fixture *f = *state;
	static const uint32_t waits[] = {4000, 8000, 16000, 32000};

	start(f, "edk2");
	assert_int_equal(run_out(f, waits, 4) - T0, MONO_SEC(60));
}

static void test_ipxe_timers(void **state)
{
	struct fixture *f = *state;
	static const uint32_t waits[] = {1000, 2000, 4000, 8000};

	start(f, "ipxe");
	assert_int_equal(run_out(f, waits, 4) - T0, MONO_SEC(15));
}

static void test_timers_override(void **state)
{
	struct fixture *f = *state;
	static const uint32_t waits[] = {500, 250};
	struct swarm_profile p = *swarm_profile_find("ipxe");

	assert_int_equal(swarm_profile_set(&p, "dhcp_timeouts=1,x"), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "dhcp_timeouts="), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "dhcp_id=nosuch"), -EINVAL);
	assert_int_equal(p.ndhcp_timeouts, 4);
	start_n(f, 0, "ipxe", "dhcp_timeouts=0.5,0.25");
	run_out(f, waits, 2);
}

/* A REQUEST re-sent on its own timer keeps the xid; the OFFER answering
 * the first DISCOVER after a re-send is stale. */
static void test_request_resend_and_stale(void **state)
{
	struct fixture *f = *state;
	struct dhcp_msg first;

	start(f, "ipxe");
	fire(f, 0); /* second DISCOVER, same xid */
	first = *last_req(f, DHCPDISCOVER);
	assert_int_equal(f->sw.dhcp.n[0].discovers, 2);
	reply(f, DHCPOFFER, NULL);
	last_req(f, DHCPREQUEST);
	reply(f, DHCPOFFER, NULL); /* the answer to the other DISCOVER */
	assert_int_equal(f->sw.dhcp.n[0].stale, 1);
	assert_int_equal(f->c[0].deadline, f->now + MONO_SEC(1));
	fire(f, 0);
	assert_int_equal(last_req(f, DHCPREQUEST)->xid, first.xid);
	assert_int_equal(f->sw.dhcp.n[0].requests, 2);
	reply(f, DHCPACK, NULL);
	assert_int_equal(f->c[0].stage, SWARM_DONE);
	reply(f, DHCPACK, NULL); /* the answer to the other REQUEST */
	assert_int_equal(f->sw.dhcp.n[0].stale, 2);
}

/* Replies for nobody, with another xid, unreadable, or not replies. */
static void test_strangers(void **state)
{
	struct fixture *f = *state;
	size_t len;

	start(f, "ipxe");
	last_req(f, DHCPDISCOVER);
	f->req.chaddr[5] = 9; /* client 9 is not ours: there are 4 */
	len = answer(f, DHCPOFFER, NULL);
	assert_null(swarm_dhcp_input(&f->sw, f->pkt, len, f->now));
	f->req.chaddr[0] = 0x52; /* not the swarm's prefix */
	len = answer(f, DHCPOFFER, NULL);
	assert_null(swarm_dhcp_input(&f->sw, f->pkt, len, f->now));
	assert_int_equal(f->sw.dhcp.strangers, 2);

	last_req(f, DHCPDISCOVER);
	f->req.xid ^= 1;
	len = answer(f, DHCPOFFER, NULL);
	assert_null(swarm_dhcp_input(&f->sw, f->pkt, len, f->now));
	assert_int_equal(f->sw.dhcp.n[0].stale, 1);

	assert_null(swarm_dhcp_input(&f->sw, f->pkt, 10, f->now));
	assert_null(swarm_dhcp_input(&f->sw, f->pkt, 0, f->now));
	/* Our own DISCOVER coming back (a broadcast we hear): not a reply. */
	assert_null(swarm_dhcp_input(&f->sw, f->dhcp[0].buf, f->dhcp[0].len, f->now));
	assert_int_equal(f->sw.dhcp.malformed, 3);
	assert_int_equal(f->c[0].stage, SWARM_DISCOVER);
	assert_int_equal(f->sw.dhcp.n[0].offers, 0);
}

/* A NAK starts over at DISCOVER with a new xid; the third one is fatal. */
static void test_nak(void **state)
{
	struct fixture *f = *state;
	uint32_t xid;

	start(f, "ipxe");
	for (int i = 0; i < 3; i++) {
		xid = last_req(f, DHCPDISCOVER)->xid;
		reply(f, DHCPOFFER, NULL);
		last_req(f, DHCPREQUEST);
		reply(f, DHCPNAK, NULL);
		if (i < 2) {
			assert_int_equal(f->c[0].stage, SWARM_DISCOVER);
			assert_int_not_equal(last_req(f, DHCPDISCOVER)->xid, xid);
		}
	}
	assert_int_equal(f->c[0].stage, SWARM_FAILED);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_NAK);
	assert_int_equal(f->sw.dhcp.n[0].naks, 3);
}

/* After the ACK, the download: from next-server, of the file option 67
 * names. An ACK naming none fails the client. */
static void test_ack_names_the_download(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;
	const struct sent *s;

	f->sw.dhcp.only = false;
	f->sw.dhcp.bootnames = f->names;
	start(f, "ipxe");
	dora(f, 1, "herd/ipxe/02-48-00-00-01-00.ipxe");
	assert_int_equal(f->c[0].stage, SWARM_RRQ);
	s = &f->tftp[0];
	assert_int_equal(f->ntftp, 1);
	assert_int_equal(ipaddr_to_v4(&s->to.ip), f->next_server);
	assert_int_equal(s->to.port, 69);
	assert_int_equal(tftp_parse(s->buf, s->len, &p), 0);
	assert_int_equal(p.op, TFTP_RRQ);
	assert_string_equal(p.req.name, "herd/ipxe/02-48-00-00-01-00.ipxe");
	assert_int_equal(f->new_ports, 0); /* the first download uses the first socket */

	start_n(f, 1, "ipxe", NULL);
	dora(f, 1, NULL);
	assert_int_equal(f->c[1].stage, SWARM_FAILED);
	assert_int_equal(f->c[1].fail, SWARM_FAIL_NO_FILE);
}

/* -f wins over the boot file; -s over next-server. */
static void test_file_and_server_given(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;

	f->sw.dhcp.only = false;
	f->sw.remote_name = "loader.efi";
	f->sw.server.ip = ipaddr_v4(ip("192.0.2.77"));
	start(f, "edk2");
	dora(f, 1, "other.efi");
	assert_int_equal(f->c[0].stage, SWARM_PROBE);
	assert_int_equal(ipaddr_to_v4(&f->tftp[0].to.ip), ip("192.0.2.77"));
	assert_int_equal(tftp_parse(f->tftp[0].buf, f->tftp[0].len, &p), 0);
	assert_string_equal(p.req.name, "loader.efi");
}

/* --chain --dhcp-only: three DORAs, each stage's identity. */
static void test_chain_dhcp_only(void **state)
{
	struct fixture *f = *state;
	const struct dhcp_msg *m;
	uint32_t xids[3];

	f->sw.dhcp.chain = true;
	start(f, "edk2");
	for (int s = 0; s < SWARM_BOOT_STAGES; s++) {
		m = last_req(f, DHCPDISCOVER);
		xids[s] = m->xid;
		assert_int_equal(f->c[0].boot_stage, s);
		if (s == SWARM_BOOT_FIRMWARE)
			assert_true(dhcp_opt_prefix(m, DHO_VENDOR_CLASS,
						    "PXEClient:Arch:00007:UNDI:003000"));
		if (s == SWARM_BOOT_IPXE) { /* after UEFI firmware: ipxe.efi */
			assert_true(dhcp_opt_prefix(m, DHO_VENDOR_CLASS,
						    "PXEClient:Arch:00007:UNDI:003010"));
			assert_true(dhcp_opt_prefix(m, DHO_USER_CLASS, "iPXE"));
		}
		if (s == SWARM_BOOT_OS) {
			assert_true(dhcp_opt_prefix(m, DHO_VENDOR_CLASS, "udhcp"));
			assert_false(m->opts[DHO_CLIENT_ARCH].present);
		}
		dora(f, 2 + s, NULL);
	}
	assert_int_not_equal(xids[0], xids[1]);
	assert_int_not_equal(xids[1], xids[2]);
	assert_int_equal(f->c[0].stage, SWARM_DONE);
	for (int s = 0; s < SWARM_BOOT_STAGES; s++) {
		assert_int_equal(f->c[0].dora_us[s], (2 + s) * 2000);
		assert_int_equal(f->sw.dhcp.n[s].acks, 1);
	}
	assert_int_equal(f->c[0].t_done - T0, MONO_MS(18));
}

/* Acknowledges the RRQ just sent with DATA blocks (no options) until a
 * short block ends the file. */
static void serve_file(struct fixture *f, size_t size)
{
	uint8_t data[512 + TFTP_HDR];
	struct netaddr from = netaddr_v4(f->next_server, (uint16_t)(50000 + f->ntftp));
	uint16_t block = 1;

	memset(data, 'x', sizeof(data));
	for (size_t off = 0;; off += 512, block++) {
		size_t n = size - off < 512 ? size - off : 512;
		size_t hdr = tftp_build_data_hdr(data, sizeof(data), block);
		f->now += MONO_MS(1);
		swarm_client_input(&f->sw, &f->c[0], &from, data, hdr + n, f->now);
		if (n < 512)
			break;
	}
}

/* --chain with downloads: loader, DHCP as iPXE, the script from a new
 * port, DHCP as the initramfs, done. Downloads other than the first are
 * not verified (a generated script). */
static void test_chain_with_downloads(void **state)
{
	struct fixture *f = *state;
	static uint8_t loader[1000];
	struct tftp_pkt p;

	memset(loader, 'x', sizeof(loader));
	f->sw.dhcp.only = false;
	f->sw.dhcp.chain = true;
	f->sw.dhcp.bootnames = f->names;
	f->sw.file = loader;
	f->sw.file_size = sizeof(loader);
	f->sw.remote_name = "undionly.kpxe";
	start_n(f, 0, "strict", "size_probe=0"); /* serve_file() answers the RRQ */
	dora(f, 1, "undionly.kpxe");
	assert_true(f->c[0].verify);
	serve_file(f, sizeof(loader));
	assert_int_equal(f->c[0].tftp_us[SWARM_BOOT_FIRMWARE], 2000);
	assert_int_equal(f->c[0].boot_stage, SWARM_BOOT_IPXE);
	assert_int_equal(f->c[0].stage, SWARM_DISCOVER);

	dora(f, 1, "herd/ipxe/02-48-00-00-01-00.ipxe");
	assert_int_equal(f->new_ports, 1);
	assert_int_equal(
	    tftp_parse(f->tftp[(f->ntftp - 1) % RING].buf, f->tftp[(f->ntftp - 1) % RING].len, &p),
	    0);
	assert_string_equal(p.req.name, "herd/ipxe/02-48-00-00-01-00.ipxe");
	assert_false(f->c[0].verify);
	serve_file(f, 700); /* not the loader's bytes: not checked */
	assert_int_equal(f->c[0].boot_stage, SWARM_BOOT_OS);

	dora(f, 1, NULL);
	assert_int_equal(f->c[0].stage, SWARM_DONE);
	assert_int_equal(f->sw.n.bytes, 1700);
	assert_int_equal(f->c[0].tftp_us[SWARM_BOOT_OS], 0);
}

/* The report: DORA percentiles per stage, first DISCOVER to last ACK. */
static void test_report_dhcp(void **state)
{
	struct fixture *f = *state;
	struct swarm_report *r = swarm_report_new(NCLIENTS);
	struct swarm_summary s;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	for (unsigned i = 0; i < 3; i++) {
		start_n(f, i, "ipxe", NULL);
		last_req(f, DHCPDISCOVER);
		f->now = T0 + MONO_MS(10 * i);
		reply(f, DHCPOFFER, NULL);
		last_req(f, DHCPREQUEST);
		reply(f, DHCPACK, NULL);
	}
	start_n(f, 3, "ipxe", "dhcp_timeouts=1");
	fire(f, 3);
	for (unsigned i = 0; i < NCLIENTS; i++)
		swarm_report_add(r, &f->c[i]);
	swarm_report_finish(r, &f->sw, 0, 0, "ipxe", &s);
	assert_true(s.dhcp.on);
	assert_string_equal(s.dhcp.mode, "relay");
	assert_int_equal(s.dhcp.exchanges, 3);
	assert_int_equal(s.dhcp.timeouts, 1);
	assert_int_equal(s.dhcp.stage[0].doras, 3);
	assert_true(s.dhcp.stage[0].dora_p50_s > 0.0099 && s.dhcp.stage[0].dora_p50_s < 0.0101);
	assert_true(s.dhcp.stage[0].dora_max_s > 0.0199 && s.dhcp.stage[0].dora_max_s < 0.0201);
	assert_true(s.dhcp.span_s > 0.0199 && s.dhcp.span_s < 0.0201);
	assert_true(s.dhcp.dora_per_s > 149 && s.dhcp.dora_per_s < 151);
	assert_int_equal(s.fail_by[SWARM_FAIL_DHCP], 1);
	swarm_report_print(&s, out);
	swarm_report_json(&s, out);
	fclose(out);
	assert_non_null(strstr(text, "dhcp (relay)"));
	assert_non_null(strstr(text, "\"dhcp\":{\"mode\":\"relay\",\"exchanges\":3"));
	assert_non_null(strstr(text, "\"failed_dhcp_timeout\":1"));
	free(text);
	swarm_report_free(r);
}


/* ---- booting again (--boot-retries), REQUEST fallback, --acks ---------- */

/* Fires client 0's timer until its stage is `stage` (at most 100 times). */
static void fire_until(struct fixture *f, enum swarm_stage stage)
{
	for (int i = 0; i < 100 && f->c[0].stage != stage; i++)
		fire(f, 0);
	assert_int_equal(f->c[0].stage, stage);
}

/* DHCP gives up: the client waits the delay, boots again with a new xid,
 * and only fails once its retries are spent. t_start stays the first. */
static void test_boot_retry_after_dhcp(void **state)
{
	struct fixture *f = *state;
	uint32_t xid;
	mono_t failed_at;

	f->sw.boot_retries = 2;
	f->sw.boot_retry_ms = 5000;
	start_n(f, 0, "ipxe", "dhcp_timeouts=1");
	for (unsigned r = 1; r <= 2; r++) {
		xid = last_req(f, DHCPDISCOVER)->xid;
		fire(f, 0); /* DHCP gave up */
		failed_at = f->now;
		assert_int_equal(f->c[0].stage, SWARM_IDLE);
		assert_int_equal(f->c[0].reboots, r);
		assert_int_equal(f->c[0].deadline, failed_at + MONO_SEC(5));
		assert_int_equal(f->sw.running, 1);
		assert_int_equal(f->sw.n.boot_retries, r);
		fire(f, 0); /* the boot again */
		assert_int_equal(f->c[0].stage, SWARM_DISCOVER);
		assert_int_not_equal(last_req(f, DHCPDISCOVER)->xid, xid);
		assert_int_equal(f->c[0].t_start, T0);
	}
	fire(f, 0);
	assert_int_equal(f->c[0].stage, SWARM_FAILED);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_DHCP);
	assert_int_equal(f->sw.running, 0);
	assert_int_equal(f->sw.n.boot_retries, 2);
	assert_int_equal(f->sw.n.rebooted, 1);
	assert_int_equal(f->sw.dhcp.n[0].discovers, 3);
	assert_int_equal(f->sw.dhcp.n[0].timeouts, 3);
}

/* The TFTP server vanished mid-download: the firmware's give-up rule, then
 * a boot again from DISCOVER with a new port; this time the file comes and
 * the client is done. The report counts the retry. */
static void test_boot_retry_after_tftp(void **state)
{
	struct fixture *f = *state;
	static uint8_t loader[3000];
	struct swarm_report *r = swarm_report_new(1);
	struct swarm_summary s;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	struct netaddr from = netaddr_v4(f->next_server, 40000);
	uint8_t data[512 + TFTP_HDR];
	size_t hdr;

	memset(loader, 'x', sizeof(loader));
	memset(data, 'x', sizeof(data));
	f->sw.dhcp.only = false;
	f->sw.dhcp.nclients = 1;
	f->sw.file = loader;
	f->sw.file_size = sizeof(loader);
	f->sw.remote_name = "undionly.kpxe";
	f->sw.boot_retries = 1;
	f->sw.boot_retry_ms = 2000;
	start(f, "ipxe");
	dora(f, 1, NULL);
	assert_int_equal(f->c[0].stage, SWARM_RRQ);
	hdr = tftp_build_data_hdr(data, sizeof(data), 1); /* one block, then silence */
	swarm_client_input(&f->sw, &f->c[0], &from, data, hdr + 512, f->now);
	assert_int_equal(f->c[0].stage, SWARM_DATA);
	fire_until(f, SWARM_IDLE);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->new_ports, 0);
	/* a late block of the lost transfer is nobody's now */
	swarm_client_input(&f->sw, &f->c[0], &from, data, hdr + 512, f->now);
	assert_int_equal(f->c[0].stage, SWARM_IDLE);
	fire(f, 0);
	assert_int_equal(f->new_ports, 1);
	assert_int_equal(f->c[0].boot_stage, SWARM_BOOT_FIRMWARE);
	dora(f, 1, NULL);
	serve_file(f, sizeof(loader));
	assert_int_equal(f->c[0].stage, SWARM_DONE);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_NONE);
	assert_int_equal(f->sw.running, 0);
	assert_int_equal(f->c[0].tftp_bytes, 512 + sizeof(loader));

	swarm_report_add(r, &f->c[0]);
	swarm_report_finish(r, &f->sw, 0, 0, "ipxe", &s);
	assert_int_equal(s.ok, 1);
	swarm_report_print(&s, out);
	swarm_report_json(&s, out);
	fclose(out);
	assert_non_null(strstr(text, "boot retries               1  (1 clients booted again)"));
	assert_non_null(strstr(text, "\"boot_retries\":1,\"rebooted\":1"));
	free(text);
	swarm_report_free(r);
}

/* The server went silent after one block: each firmware waits by its own
 * rule before it gives up (REFERENCE.md), then boots again. */
static void test_silence_per_profile(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		uint32_t ms;	     /* from the block to the reboot */
		unsigned new_ports; /* U-Boot restarts its download once first */
	} want[] = {
	    {"ipxe", 15750, 0},	    /* ~15.75 s of silence */
	    {"edk2", 24000, 0},	    /* 6 tries of 4 s */
	    {"pxelinux", 131000, 0}, /* its table, ~131 s */
	    {"uboot", 110000, 1},    /* 11 timeouts of 5 s, a new RRQ, 11 more */
	    {"grub", 31600, 0},	    /* no re-send: its give-up clock only */
	};
	uint8_t data[512 + TFTP_HDR];
	struct netaddr from = netaddr_v4(f->next_server, 40000);

	memset(data, 'x', sizeof(data));
	f->sw.dhcp.only = false;
	f->sw.remote_name = "loader";
	f->sw.boot_retries = 1;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t hdr = tftp_build_data_hdr(data, sizeof(data), 1);
		mono_t t_data;

		f->new_ports = 0;
		start_n(f, 0, want[i].name, "size_probe=0");
		dora(f, 1, NULL);
		assert_int_equal(f->c[0].stage, SWARM_RRQ);
		f->now += MONO_MS(1);
		t_data = f->now;
		swarm_client_input(&f->sw, &f->c[0], &from, data, hdr + 512, f->now);
		assert_int_equal(f->c[0].stage, SWARM_DATA);
		fire_until(f, SWARM_IDLE);
		assert_int_equal(f->c[0].fail, SWARM_FAIL_TIMEOUT);
		assert_int_equal(f->now - t_data, MONO_MS(want[i].ms));
		assert_int_equal(f->new_ports, want[i].new_ports);
		fire(f, 0); /* boots again: DISCOVER from a new port */
		assert_int_equal(f->c[0].stage, SWARM_DISCOVER);
		assert_int_equal(f->new_ports, want[i].new_ports + 1);
	}
}

/* A block that differs from the file fails the client at once: booting
 * again would fetch the same bytes. So does --max-time. */
static void test_no_boot_retry_on_mismatch(void **state)
{
	struct fixture *f = *state;
	static uint8_t loader[1000];

	memset(loader, 'y', sizeof(loader)); /* serve_file() sends 'x' */
	f->sw.dhcp.only = false;
	f->sw.file = loader;
	f->sw.file_size = sizeof(loader);
	f->sw.remote_name = "undionly.kpxe";
	f->sw.boot_retries = 3;
	start_n(f, 0, "strict", "size_probe=0");
	dora(f, 1, NULL);
	serve_file(f, sizeof(loader));
	assert_int_equal(f->c[0].stage, SWARM_FAILED);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_MISMATCH);
	assert_int_equal(f->sw.n.boot_retries, 0);

	start_n(f, 1, "ipxe", NULL);
	swarm_client_abandon(&f->sw, &f->c[1], f->now);
	assert_int_equal(f->c[1].fail, SWARM_FAIL_UNFINISHED);
	assert_int_equal(f->sw.n.boot_retries, 0);
}

/* A client abandoned while it waits to boot again is no longer running. */
static void test_abandon_while_rebooting(void **state)
{
	struct fixture *f = *state;

	f->sw.boot_retries = 1;
	start_n(f, 0, "ipxe", "dhcp_timeouts=1");
	fire(f, 0);
	assert_int_equal(f->c[0].stage, SWARM_IDLE);
	assert_int_equal(f->sw.running, 1);
	swarm_client_abandon(&f->sw, &f->c[0], f->now);
	assert_int_equal(f->c[0].stage, SWARM_FAILED);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_UNFINISHED);
	assert_int_equal(f->sw.running, 0);
}

/* The server that OFFERed died before its ACK: after the firmware's
 * REQUEST re-sends, SELECTING again with a new xid (RFC 2131 4.4.1). */
static void test_unanswered_request(void **state)
{
	struct fixture *f = *state;
	uint32_t xid;

	start_n(f, 0, "ipxe", "request_fallback=1"); /* RFC 2131 4.4.1, as udhcpc */
	xid = last_req(f, DHCPDISCOVER)->xid;
	reply(f, DHCPOFFER, NULL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f->c[0].stage, SWARM_REQUEST);
		last_req(f, DHCPREQUEST);
		fire(f, 0);
	}
	assert_int_equal(f->c[0].stage, SWARM_DISCOVER);
	assert_int_not_equal(last_req(f, DHCPDISCOVER)->xid, xid);
	assert_int_equal(f->sw.dhcp.n[0].unanswered, 1);
	assert_int_equal(f->sw.dhcp.n[0].timeouts, 0);
	dora(f, 1, NULL);
	assert_int_equal(f->c[0].stage, SWARM_DONE);
}

/* EDK2's and iPXE's own rule, their profiles' default: the unanswered
 * REQUEST ends the DHCP; with --boot-retries the node boots again. */
static void test_request_no_fallback(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(swarm_profile_set(&f->prof, "request_fallback=2"), -EINVAL);
	f->sw.boot_retries = 1;
	start(f, "ipxe");
	last_req(f, DHCPDISCOVER);
	reply(f, DHCPOFFER, NULL);
	fire_until(f, SWARM_IDLE);
	assert_int_equal(f->c[0].fail, SWARM_FAIL_DHCP);
	assert_int_equal(f->sw.dhcp.n[0].unanswered, 0);
	assert_int_equal(f->sw.dhcp.n[0].requests, 4);
	fire(f, 0);
	dora(f, 1, NULL);
	assert_int_equal(f->c[0].stage, SWARM_DONE);
}

/* Two servers answer (a relay's two helper addresses): the first OFFER is
 * taken, the second is stale; an ACK from the server not chosen is not
 * taken, the chosen one's is. */
static void test_two_servers(void **state)
{
	struct fixture *f = *state;
	uint32_t v;

	start(f, "ipxe");
	last_req(f, DHCPDISCOVER);
	reply(f, DHCPOFFER, NULL);
	f->server_ip = ip("192.0.2.2");
	reply(f, DHCPOFFER, NULL);
	assert_int_equal(f->sw.dhcp.n[0].stale, 1);
	assert_true(dhcp_opt_ip(last_req(f, DHCPREQUEST), DHO_SERVER_ID, &v));
	assert_int_equal(v, ip("192.0.2.1"));
	reply(f, DHCPACK, NULL); /* from 192.0.2.2 */
	assert_int_equal(f->c[0].stage, SWARM_REQUEST);
	assert_int_equal(f->sw.dhcp.n[0].stale, 2);
	f->server_ip = ip("192.0.2.1");
	reply(f, DHCPACK, NULL);
	assert_int_equal(f->c[0].stage, SWARM_DONE);
}

/* --acks: a line per ACK taken, every stage; the timeline's ACK event
 * holds the address and the server. */
static void test_acks_file(void **state)
{
	struct fixture *f = *state;
	struct swarm_marks marks[NCLIENTS] = {0};
	char *text = NULL;
	size_t size = 0;

	f->sw.acks = open_memstream(&text, &size);
	f->sw.marks = marks;
	f->sw.t0 = T0 - MONO_MS(250);
	f->sw.dhcp.chain = true;
	f->lease_s = 3600;
	start_n(f, 1, "edk2", NULL);
	for (int s = 0; s < SWARM_BOOT_STAGES; s++) {
		last_req(f, DHCPDISCOVER);
		f->now += MONO_MS(1);
		swarm_dhcp_input(&f->sw, f->pkt, answer(f, DHCPOFFER, NULL), f->now);
		last_req(f, DHCPREQUEST);
		f->now += MONO_MS(1);
		if (s == 0) /* a stale ACK (another xid) is not taken */
			f->req.xid ^= 1;
		swarm_dhcp_input(&f->sw, f->pkt, answer(f, DHCPACK, NULL), f->now);
		if (s == 0) {
			f->req.xid ^= 1;
			swarm_dhcp_input(&f->sw, f->pkt, answer(f, DHCPACK, NULL), f->now);
		}
	}
	assert_int_equal(f->c[1].stage, SWARM_DONE);
	fclose(f->sw.acks);
	f->sw.acks = NULL;
	assert_string_equal(text, "252 02:48:00:00:01:01 198.51.100.20 192.0.2.1 3600 firmware\n"
				  "254 02:48:00:00:01:01 198.51.100.20 192.0.2.1 3600 ipxe\n"
				  "256 02:48:00:00:01:01 198.51.100.20 192.0.2.1 3600 os\n");
	free(text);
	assert_int_equal(marks[1].m[1].kind, SWARM_MARK_ACKED);
	assert_int_equal(marks[1].m[1].ip, f->yiaddr);
	assert_int_equal(marks[1].m[1].server, f->server_ip);
	assert_int_equal(marks[1].n, 7);
	f->sw.marks = NULL;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_is_small),
	    T(test_ipxe_dora),
	    T(test_edk2_identity),
	    T(test_pxe_timers),
	    T(test_ipxe_timers),
	    T(test_timers_override),
	    T(test_request_resend_and_stale),
	    T(test_strangers),
	    T(test_nak),
	    T(test_ack_names_the_download),
	    T(test_file_and_server_given),
	    T(test_chain_dhcp_only),
	    T(test_chain_with_downloads),
	    T(test_report_dhcp),
	    T(test_boot_retry_after_dhcp),
	    T(test_boot_retry_after_tftp),
	    T(test_silence_per_profile),
	    T(test_no_boot_retry_on_mismatch),
	    T(test_abandon_while_rebooting),
	    T(test_unanswered_request),
	    T(test_request_no_fallback),
	    T(test_two_servers),
	    T(test_acks_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
