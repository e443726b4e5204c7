/* The DHCP stage of an emulated client: DISCOVER, OFFER, REQUEST, ACK with
 * its firmware's options and timers (RFC 2131 4.4.1; timers from the
 * firmware table in swarm_profiles.c). Requests are built and replies read
 * with dhcp_wire only; they go through the swarm's one shared DHCP socket,
 * and a reply finds its client by MAC, then by xid. */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "core/wire.h"
#include "dhcp/dhcp_wire.h"
#include "swarm/swarm_stage.h"

/* A NAK sends the client back to DISCOVER (RFC 2131 3.1.5), and so does a
 * REQUEST that no ACK or NAK answered after every re-send (4.4.1: "reverts
 * to INIT state"); one sent back this often gives up. */
#define NAKS_MAX 3

const char *swarm_boot_stage_name(enum swarm_boot_stage s)
{
	switch (s) {
	case SWARM_BOOT_FIRMWARE:
		return "firmware";
	case SWARM_BOOT_IPXE:
		return "ipxe";
	case SWARM_BOOT_OS:
		return "os";
	case SWARM_BOOT_STAGES:
		break;
	}
	return "?";
}

/* 02:48:xx:xx:xx:xx, locally administered, the last four bytes the client's
 * number (plus --mac-base) so that a reply's chaddr names its client. */
static void mac_of(const struct swarm *sw, const struct swarm_client *c, uint8_t mac[6])
{
	struct wire w = wire_writer(mac, 6);

	wire_put_u8(&w, 0x02);
	wire_put_u8(&w, 0x48);
	wire_put_u32(&w, sw->dhcp.mac_base + c->index);
}

static bool index_of(const struct swarm *sw, const uint8_t chaddr[16], uint32_t *index)
{
	struct wire r = wire_reader(chaddr, 6);
	uint8_t a = wire_u8(&r), b = wire_u8(&r);
	uint32_t i = wire_u32(&r) - sw->dhcp.mac_base;

	if (a != 0x02 || b != 0x48 || i >= sw->dhcp.nclients)
		return false;
	*index = i;
	return true;
}

/* A fresh xid per exchange, different for every client and stage. */
static uint32_t next_xid(const struct swarm *sw, const struct swarm_client *c)
{
	uint32_t x = sw->dhcp.xid_salt ^ (c->index * 0x9e3779b1u) ^
		     ((uint32_t)(c->boot_stage * 8 + c->naks) << 27) ^ (c->xid >> 5);

	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	return x ? x : 1;
}

/* iPXE reports the architecture it was built for: ipxe.efi after UEFI
 * firmware, undionly.kpxe after a BIOS ROM. */
static const struct swarm_dhcp_id *id_of(const struct swarm_client *c)
{
	const struct swarm_dhcp_id *id = c->prof->dhcp_id;
	const struct swarm_dhcp_id *fw = c->fw->dhcp_id;

	if (id == NULL)
		return swarm_dhcp_id_find("udhcpc");
	if (c->boot_stage == SWARM_BOOT_IPXE && fw && (fw->arch == 7 || fw->arch == 9))
		return swarm_dhcp_id_find("ipxe-efi");
	return id;
}

/* dhcp_build_start() writes a reply's fixed header from a template message;
 * a request differs in op, and in hops when it comes through a relay. */
static void request_header(uint8_t *buf, size_t len, uint8_t hops)
{
	struct wire w = wire_writer(buf, len);

	wire_put_u8(&w, DHCP_BOOTREQUEST);
	wire_skip(&w, 2); /* htype, hlen */
	wire_put_u8(&w, hops);
}

static size_t build(const struct swarm *sw, const struct swarm_client *c, enum dhcp_type type,
		    uint8_t *buf, size_t cap)
{
	static const uint8_t ndi[] = {1, 2, 1}; /* UNDI 2.1 */
	const struct swarm_dhcp_id *id = id_of(c);
	struct dhcp_builder b;
	struct dhcp_msg tmpl;
	uint8_t cid[7], uuid[17] = {0};
	size_t len;

	memset(&tmpl, 0, offsetof(struct dhcp_msg, opts));
	tmpl.htype = 1;
	tmpl.hlen = 6;
	tmpl.xid = c->xid;
	tmpl.giaddr = sw->dhcp.giaddr;
	if (id->broadcast || sw->dhcp.broadcast_flag)
		tmpl.flags = DHCP_FLAG_BROADCAST;
	mac_of(sw, c, tmpl.chaddr);
	dhcp_build_start(&b, buf, cap, cap, &tmpl, type, 0, 0, NULL, NULL);
	if (id->client_id) {
		cid[0] = 1; /* hardware type: Ethernet */
		memcpy(cid + 1, tmpl.chaddr, 6);
		dhcp_build_opt(&b, DHO_CLIENT_ID, cid, sizeof(cid));
	}
	if (type == DHCPREQUEST) {
		dhcp_build_ip(&b, DHO_REQUESTED_IP, c->offered);
		dhcp_build_ip(&b, DHO_SERVER_ID, c->server_id);
	}
	if (id->max_size)
		dhcp_build_u16(&b, DHO_MAX_SIZE, id->max_size);
	dhcp_build_opt(&b, DHO_PARAM_LIST, id->params, id->nparams);
	if (id->arch >= 0) {
		/* PXE: architecture, network interface and machine UUID (type 0,
		 * here the MAC in its last bytes). */
		dhcp_build_u16(&b, DHO_CLIENT_ARCH, (uint16_t)id->arch);
		dhcp_build_opt(&b, DHO_CLIENT_NDI, ndi, sizeof(ndi));
		memcpy(uuid + 11, tmpl.chaddr, 6);
		dhcp_build_opt(&b, DHO_UUID, uuid, sizeof(uuid));
	}
	if (id->vendor_class)
		dhcp_build_str(&b, DHO_VENDOR_CLASS, id->vendor_class);
	if (id->user_class)
		dhcp_build_str(&b, DHO_USER_CLASS, id->user_class);
	len = dhcp_build_end(&b);
	if (len)
		request_header(buf, len, sw->dhcp.giaddr ? 1 : 0);
	return len;
}

/* Sends the exchange's message again or for the first time, and waits the
 * firmware's time for that try. */
static void send_timed(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_dhcp_counters *n = &sw->dhcp.n[c->boot_stage];
	enum dhcp_type type = c->stage == SWARM_DISCOVER ? DHCPDISCOVER : DHCPREQUEST;
	const struct swarm_profile *p = c->prof;
	uint8_t buf[DHCP_MAX_LEN];
	size_t len = build(sw, c, type, buf, sizeof(buf));
	uint32_t wait_ms;

	if (type == DHCPDISCOVER)
		n->discovers++;
	else
		n->requests++;
	/* A lost send is a lost packet: the timer deals with it. */
	if (len == 0 || sw->tx.send_dhcp(sw->tx.ctx, buf, len) < 0)
		sw->dhcp.tx_errors++;
	wait_ms = p->ndhcp_timeouts ? p->dhcp_timeouts_ms[c->dhcp_sends] : 4000;
	c->dhcp_sends++;
	c->timer_start = now;
	c->deadline = now + MONO_MS(wait_ms);
}

static void discover(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	c->stage = SWARM_DISCOVER;
	c->xid = next_xid(sw, c);
	c->dhcp_sends = 0;
	c->offered = 0;
	c->server_id = 0;
	send_timed(sw, c, now);
}

void swarm_dhcp_begin(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	c->dhcp_start = now;
	c->naks = 0;
	swarm_client_mark(sw, c, SWARM_MARK_DHCP, now);
	discover(sw, c, now);
}

void swarm_dhcp_timeout(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	uint32_t tries = c->prof->ndhcp_timeouts ? c->prof->ndhcp_timeouts : 1;

	if (c->dhcp_sends >= tries && c->stage == SWARM_REQUEST && !c->prof->no_request_fallback &&
	    ++c->naks < NAKS_MAX) {
		/* The server that OFFERed went away (killed between OFFER and
		 * ACK): SELECTING again, maybe another server. */
		sw->dhcp.n[c->boot_stage].unanswered++;
		discover(sw, c, now);
		return;
	}
	if (c->dhcp_sends >= tries) {
		sw->dhcp.n[c->boot_stage].timeouts++;
		swarm_client_fail(sw, c, SWARM_FAIL_DHCP, now);
		return;
	}
	sw->dhcp.n[c->boot_stage].retransmits++;
	c->retries++;
	send_timed(sw, c, now);
}

/* SELECTING: the first usable OFFER is taken at once. */
static void on_offer(struct swarm *sw, struct swarm_client *c, const struct dhcp_msg *m, mono_t now)
{
	uint32_t sid = 0;

	if (c->stage != SWARM_DISCOVER) { /* an answer to an earlier DISCOVER */
		sw->dhcp.n[c->boot_stage].stale++;
		return;
	}
	if (m->yiaddr == 0 || !dhcp_opt_ip(m, DHO_SERVER_ID, &sid) || sid == 0) {
		sw->dhcp.malformed++;
		return;
	}
	sw->dhcp.n[c->boot_stage].offers++;
	c->offered = m->yiaddr;
	c->server_id = sid;
	c->stage = SWARM_REQUEST;
	c->dhcp_sends = 0;
	send_timed(sw, c, now);
}

/* "192.0.2.1" in option 66; 0 if absent or not an address. */
static uint32_t opt_addr(const struct dhcp_msg *m, uint8_t code)
{
	char text[16];
	size_t len;
	const uint8_t *p = dhcp_opt(m, code, &len);
	struct in_addr a;

	if (p == NULL || len == 0 || len >= sizeof(text))
		return 0;
	memcpy(text, p, len);
	text[len] = '\0';
	return inet_pton(AF_INET, text, &a) == 1 ? a.s_addr : 0;
}

/* Where the download goes and what it asks for: next-server (siaddr), else
 * option 66, else the DHCP server itself; option 67, else `file`. */
static int learn_boot(struct swarm *sw, struct swarm_client *c, const struct dhcp_msg *m)
{
	char *name;
	size_t len = 0;
	const uint8_t *opt;

	c->tftp_ip = m->siaddr ? m->siaddr : opt_addr(m, DHO_TFTP_SERVER);
	if (c->tftp_ip == 0)
		c->tftp_ip = c->server_id;
	if (sw->remote_name && c->boot_stage == SWARM_BOOT_FIRMWARE)
		return 0;
	if (sw->dhcp.bootnames == NULL)
		return -1;
	name = sw->dhcp.bootnames[c->index];
	opt = dhcp_opt(m, DHO_BOOTFILE, &len);
	if (opt == NULL) {
		opt = (const uint8_t *)m->file;
		len = sizeof(m->file);
	}
	len = strnlen((const char *)opt, len); /* some servers count a NUL */
	if (len == 0 || len >= SWARM_BOOTNAME_MAX)
		return -1;
	memcpy(name, opt, len);
	name[len] = '\0';
	return 0;
}

/* --acks: "T_MS MAC IP SERVER_ID LEASE_SECS STAGE", one line per ACK a
 * client took, so that a test can check no address went to two MACs. */
static void note_ack(const struct swarm *sw, const struct swarm_client *c,
		     const struct dhcp_msg *m, mono_t now)
{
	char ip[IPADDR_STRLEN], sid[IPADDR_STRLEN];
	uint32_t lease = 0;
	uint8_t mac[6];

	if (sw->acks == NULL)
		return;
	mac_of(sw, c, mac);
	dhcp_opt_u32(m, DHO_LEASE_TIME, &lease);
	fprintf(sw->acks, "%llu %02x:%02x:%02x:%02x:%02x:%02x %s %s %u %s\n",
		(unsigned long long)(now > sw->t0 ? (now - sw->t0) / 1000 : 0), mac[0], mac[1],
		mac[2], mac[3], mac[4], mac[5], ip4_str(m->yiaddr, ip), ip4_str(c->server_id, sid),
		lease, swarm_boot_stage_name((enum swarm_boot_stage)c->boot_stage));
}

static void on_ack(struct swarm *sw, struct swarm_client *c, const struct dhcp_msg *m, mono_t now)
{
	uint32_t sid = 0;

	if (c->stage != SWARM_REQUEST) {
		sw->dhcp.n[c->boot_stage].stale++;
		return;
	}
	if (m->yiaddr != c->offered) {
		sw->dhcp.malformed++;
		return;
	}
	/* With several servers (a relay's helper addresses), the ACK must come
	 * from the one the REQUEST chose, as iPXE checks. */
	if (dhcp_opt_ip(m, DHO_SERVER_ID, &sid) && sid != c->server_id) {
		sw->dhcp.n[c->boot_stage].stale++;
		return;
	}
	sw->dhcp.n[c->boot_stage].acks++;
	note_ack(sw, c, m, now);
	/* 1 us at least: 0 means "no DORA" (the loop's clock is per iteration). */
	c->dora_us[c->boot_stage] = now > c->dhcp_start ? (uint32_t)(now - c->dhcp_start) : 1;
	c->t_last_ack = now;
	if (!sw->dhcp.only && c->boot_stage != SWARM_BOOT_OS && learn_boot(sw, c, m) < 0) {
		swarm_client_fail(sw, c, SWARM_FAIL_NO_FILE, now);
		return;
	}
	swarm_client_advance(sw, c, true, now);
}

static void on_nak(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	sw->dhcp.n[c->boot_stage].naks++;
	if (++c->naks >= NAKS_MAX) {
		swarm_client_fail(sw, c, SWARM_FAIL_NAK, now);
		return;
	}
	discover(sw, c, now);
}

struct swarm_client *swarm_dhcp_input(struct swarm *sw, const uint8_t *buf, size_t len, mono_t now)
{
	struct dhcp_msg m; /* on the stack: nothing allocated per packet */
	struct swarm_client *c;
	uint32_t index;

	if (len == 0 || dhcp_parse(buf, len, &m) < 0 || m.op != DHCP_BOOTREPLY || m.htype != 1 ||
	    m.hlen != 6) {
		sw->dhcp.malformed++;
		return NULL;
	}
	if (!index_of(sw, m.chaddr, &index) || (c = sw->tx.client(sw->tx.ctx, index)) == NULL) {
		sw->dhcp.strangers++;
		return NULL;
	}
	if (!swarm_client_in_dhcp(c) || m.xid != c->xid) {
		if (c->stage != SWARM_IDLE)
			sw->dhcp.n[c->boot_stage].stale++;
		return NULL;
	}
	switch (m.type) {
	case DHCPOFFER:
		on_offer(sw, c, &m, now);
		break;
	case DHCPACK:
		on_ack(sw, c, &m, now);
		break;
	case DHCPNAK:
		on_nak(sw, c, now);
		break;
	default:
		sw->dhcp.malformed++;
		return NULL;
	}
	return c;
}
