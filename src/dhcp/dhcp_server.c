#include "dhcp/dhcp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/policy.h"
#include "core/log.h"
#include "dhcp/dhcp_facts.h"
#include "dhcp/dhcp_wire.h"
#include "dhcp/proxy.h"

#define DECLINE_HOLD_SEC 600
#define BOOTP_LEASE_SEC (365 * 24 * 3600)

/* Lease commit latency buckets, seconds: one fdatasync is ~0.1-10 ms on
 * SSDs, tens of ms on disks; a batch waits for the one before it. */
static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				       0.05,   0.1,   0.25,   0.5,   1,	   2.5};

/* A reply waiting for its lease record to reach the disk. */
struct held_reply {
	uint64_t seq;
	mono_t held_at; /* for the commit latency histogram */
	struct dhcp_out out;
	struct held_reply *next;
	uint8_t buf[];
};

struct dhcp_server {
	struct policy *policy;	     /* a reference: what herd serves now */
	const struct conf_dhcp *cfg; /* its [dhcp], [subnet] and [group] */
	struct held_reply *held, **held_tail;
	struct lease_table *leases;
	struct dhcp_tx tx;
	struct dhcp_stats stats;
	struct ratelimit rl_info, rl_bad;
	bool http_boot_told; /* an HTTP boot client met [http] off: logged once */
	struct dhcp_msg msg; /* the request being handled: one at a time, no malloc per packet */
	struct dhcp_proxy *proxy; /* [dhcp] mode = proxy (a restart changes it): else NULL */
	struct node_events ev;	  /* the node state's (ops/nodes): callbacks may be NULL */
	/* [cluster]: does this server answer a client? NULL: every one. */
	bool (*mine)(const void *ctx, const uint8_t mac[6]);
	const void *mine_ctx;
};

/* Everything a handler needs about the request being answered. */
struct dhcp_req {
	const struct dhcp_rx *rx;
	const struct dhcp_msg *m;
	const struct conf_subnet *subnet;
	const struct inv_node *node; /* NULL: not in the inventory */
	uint32_t server_ip;	     /* our address towards the client */
	mono_t now;
	int64_t wall_now;
};

/* Is this client booting from the network, so that a boot file, a next
 * server and PXE options mean something to it? Firmware and loaders say so
 * (PXE and HTTP boot vendor classes, iPXE, a client architecture, RFC
 * 4578, which only boot clients send; BOOTP, whose reply is a boot
 * answer); an OS's DHCP client (udhcpc, dhclient, dhcpcd) does not, and
 * would only log a boot file it will never load. A group may ask for the
 * boot options for every client (boot_options = always). */
static bool is_booting(const struct dhcp_req *r, const struct conf_group *g)
{
	const struct dhcp_msg *m = r->m;

	if (g && g->boot_options == CONF_BOOT_ALWAYS)
		return true;
	return m->type == DHCP_BOOTP || dhcp_is_pxe(m) || dhcp_is_ipxe(m) ||
	       m->opts[DHO_CLIENT_ARCH].present;
}

/* The node's address; the inventory only holds IPv4 ones today. */
static uint32_t node_ip(const struct dhcp_req *r)
{
	return ipaddr_to_v4(&r->node->ip);
}

static unsigned lease_secs(const struct dhcp_server *srv, const struct dhcp_req *r)
{
	if (r->m->type == DHCP_BOOTP)
		return BOOTP_LEASE_SEC;
	return r->subnet->lease_time ? r->subnet->lease_time : srv->cfg->lease_time;
}

/* The address this client gets: the inventory's, or one from the pool. */
static uint32_t address_for(struct dhcp_server *srv, const struct dhcp_req *r)
{
	const uint8_t *mac = r->m->chaddr;
	uint32_t ip;

	if (r->node)
		return conf_subnet_of(srv->cfg, node_ip(r)) == r->subnet ? node_ip(r) : 0;
	if (srv->cfg->unknown != CONF_UNKNOWN_POOL || srv->leases == NULL)
		return 0;
	ip = lease_find_mac(srv->leases, mac, r->wall_now, r->now);
	if (ip && conf_subnet_of(srv->cfg, ip) == r->subnet)
		return ip;
	/* A shared store that cannot take a new lease now (the database
	 * away, its queue full): no new address; the client asks again. */
	if (!lease_accepting(srv->leases)) {
		srv->stats.pool_waiting++;
		return 0;
	}
	ip = lease_pick(srv->leases, r->subnet, mac, r->wall_now, r->now);
	if (ip == 0)
		srv->stats.pool_exhausted++;
	return ip;
}

/* UEFI HTTP boot (UEFI 2.x, "HTTP Boot"): the client says HTTPClient in
 * option 60 and an HTTP architecture in option 93 (16 x64, 19 arm64,
 * ...). Its boot file is a URI, http://herd/<the loader of the base
 * architecture>, and add_pxe_opts() answers "HTTPClient", which the spec
 * requires beside it. No other client ever gets a URL. Without [http] it
 * gets no boot file (a PXE path would be useless to it); said once. */
static void http_boot_file(struct dhcp_server *srv, const struct dhcp_req *r, uint16_t arch,
			   char *file, size_t size)
{
	struct ipaddr server = ipaddr_v4(r->server_ip);
	int err = policy_http_boot_file(srv->policy, r->m->chaddr, arch, &server, file, size);
	char mac[18];

	if (err == -EOPNOTSUPP && !srv->http_boot_told) {
		srv->http_boot_told = true;
		log_warn("dhcp: %s asks for UEFI HTTP boot (arch %u): no boot file, [http] is "
			 "not enabled (said once)",
			 mac_str(r->m->chaddr, ':', mac), arch);
	} else if (err == -ENOENT || err == -ENOSPC) {
		log_limited(&srv->rl_info, r->now, LOG_LVL_INFO,
			    "dhcp: %s asks for UEFI HTTP boot (arch %u): %s",
			    mac_str(r->m->chaddr, ':', mac), arch,
			    err == -ENOSPC ? "its URL is longer than a boot file can be"
					   : "no loader of its group for that architecture");
	}
	if (err < 0)
		file[0] = '\0';
}

/* The boot file: the policy's choice for this MAC, its architecture
 * (option 93) and whether iPXE asks. */
static void add_boot(struct dhcp_server *srv, const struct dhcp_req *r, char *file, size_t size)
{
	uint16_t arch = BOOT_ARCH_BIOS;

	dhcp_opt_u16(r->m, DHO_CLIENT_ARCH, &arch);
	if (boot_arch_http_base(arch) >= 0 || dhcp_is_http_boot(r->m)) {
		http_boot_file(srv, r, arch, file, size);
		return;
	}
	if (policy_boot_file(srv->policy, r->m->chaddr, arch, dhcp_is_ipxe(r->m), file, size) < 0)
		file[0] = '\0';
}

static uint32_t mask_bcast(const struct conf_subnet *sn)
{
	return sn->network | ~sn->mask;
}

static void add_network_opts(struct dhcp_server *srv, const struct dhcp_req *r,
			     struct dhcp_builder *b, uint32_t ip)
{
	const struct conf_subnet *sn = r->subnet;
	struct boot_node bn = {0};
	char name[POLICY_NAME_MAX];

	dhcp_build_ip(b, DHO_SUBNET_MASK, sn->mask);
	if (sn->router)
		dhcp_build_ip(b, DHO_ROUTER, sn->router);
	if (sn->ndns)
		dhcp_build_opt(b, DHO_DNS, sn->dns, 4 * sn->ndns);
	/* The log host is herd itself unless configured: the seed's
	 * "DHCP for loghost, dump kernel message". */
	dhcp_build_ip(b, DHO_LOG_SERVER, sn->log_server ? sn->log_server : r->server_ip);
	/* A node's name is the inventory's or its rule's (a rack named from
	 * its switch ports); a pool client's "node-<mac>" is only ours, and
	 * would rename a host that did not ask for it. */
	if (r->node) {
		dhcp_build_str(b, DHO_HOSTNAME, r->node->name);
	} else if (policy_node(srv->policy, r->m->chaddr, &bn, name) == 0 && bn.rule_named) {
		dhcp_build_str(b, DHO_HOSTNAME, name);
	} else if (ip &&
		   (sn->pool_hostnames >= 0 ? sn->pool_hostnames : srv->cfg->pool_hostnames)) {
		policy_pool_name(r->m->chaddr, name);
		dhcp_build_str(b, DHO_HOSTNAME, name);
	}
	if (sn->domain[0])
		dhcp_build_str(b, DHO_DOMAIN, sn->domain);
	dhcp_build_ip(b, DHO_BROADCAST, mask_bcast(sn));
}

/* PXE 2.1: echo the class, the UUID, and tell the client to skip boot
 * server discovery (option 43, sub-option 6 = 8) so it loads `file` at once
 * instead of waiting for ProxyDHCP offers. */
static void add_pxe_opts(const struct dhcp_req *r, struct dhcp_builder *b)
{
	static const uint8_t discovery[] = {6, 1, 8, 255};
	size_t len;
	const uint8_t *uuid = dhcp_opt(r->m, DHO_UUID, &len);

	if (!dhcp_is_pxe(r->m))
		return;
	dhcp_build_str(b, DHO_VENDOR_CLASS, dhcp_is_http_boot(r->m) ? "HTTPClient" : "PXEClient");
	/* iPXE too: without it, it waits ~3 s for ProxyDHCP offers. */
	dhcp_build_opt(b, DHO_VENDOR, discovery, sizeof(discovery));
	if (uuid != NULL && len == 17)
		dhcp_build_opt(b, DHO_UUID, uuid, len);
}

/* RFC 3046 2.2: the relay's option 82, echoed whole in every reply, as
 * the last option (the relay strips it before the client sees it). */
static void add_relay_agent(const struct dhcp_req *r, struct dhcp_builder *b)
{
	size_t len;
	const uint8_t *opt = dhcp_opt(r->m, DHO_RELAY_AGENT, &len);

	if (opt != NULL && r->m->giaddr != 0)
		dhcp_build_opt(b, DHO_RELAY_AGENT, opt, len);
}

/* What the client says of itself, remembered for the [rule]s. */
static void observe(struct dhcp_server *srv, const struct dhcp_req *r)
{
	struct boot_facts f;
	unsigned mask;

	if (srv->cfg->nrules > 0) {
		mask = dhcp_facts(r->m, is_booting(r, NULL), &f);
		policy_observe(srv->policy, r->m->chaddr, &f, mask);
	}
}

/* Where a reply goes, RFC 2131 4.1. */
static void hold(struct dhcp_server *srv, const struct dhcp_out *o, uint64_t seq, mono_t now)
{
	struct held_reply *h = malloc(sizeof(*h) + o->len);

	if (h == NULL)
		return; /* the client will ask again */
	h->seq = seq;
	h->held_at = now;
	h->out = *o;
	memcpy(h->buf, o->buf, o->len);
	h->out.buf = h->buf;
	h->next = NULL;
	*srv->held_tail = h;
	srv->held_tail = &h->next;
}

static void send_reply(struct dhcp_server *srv, const struct dhcp_req *r, const uint8_t *buf,
		       size_t len, uint32_t yiaddr, enum dhcp_type type, int64_t seq)
{
	const struct dhcp_msg *m = r->m;
	struct dhcp_out o = {.ifindex = r->rx->ifindex,
			     .src_ip = r->server_ip,
			     .buf = buf,
			     .len = len,
			     .dst_port = 68};

	if (m->giaddr) {
		o.dst_ip = m->giaddr;
		o.dst_port = 67;
	} else if (type == DHCPNAK || (m->flags & DHCP_FLAG_BROADCAST) ||
		   (m->ciaddr == 0 && yiaddr == 0)) {
		o.dst_ip = INADDR_BROADCAST;
		o.via_link = true;
		memset(o.mac, 0xff, 6);
	} else if (m->ciaddr) {
		o.dst_ip = m->ciaddr;
	} else {
		/* Unicast to an address the client does not have yet: as a
		 * frame to its MAC, so no ARP is needed. */
		o.dst_ip = yiaddr;
		o.via_link = true;
		memcpy(o.mac, m->chaddr, 6);
	}
	if (seq > 0)
		hold(srv, &o, (uint64_t)seq, r->now);
	else
		srv->tx.send(srv->tx.ctx, &o);
}

static void reply_after(struct dhcp_server *srv, const struct dhcp_req *r, enum dhcp_type type,
			uint32_t yiaddr, int64_t seq);

static void reply(struct dhcp_server *srv, const struct dhcp_req *r, enum dhcp_type type,
		  uint32_t yiaddr)
{
	reply_after(srv, r, type, yiaddr, 0);
}

/* Sends now, or (seq > 0) once the lease record `seq` is on disk. */
static void reply_after(struct dhcp_server *srv, const struct dhcp_req *r, enum dhcp_type type,
			uint32_t yiaddr, int64_t seq)
{
	uint8_t buf[DHCP_MAX_LEN];
	struct dhcp_builder b;
	char file[128] = "";
	uint16_t maxsize = 576;
	const struct conf_subnet *sn = r->subnet;
	struct boot_node bn = {0};
	char name[POLICY_NAME_MAX];
	const struct conf_group *g =
	    policy_node(srv->policy, r->m->chaddr, &bn, name) == 0 ? bn.group : NULL;
	bool booting = type != DHCPNAK && is_booting(r, g);
	/* siaddr is "the next server to use in bootstrap" (RFC 2131): none for
	 * a client that does not boot. */
	uint32_t next = !booting ? 0 : sn->next_server ? sn->next_server : r->server_ip;
	char next_s[INET_ADDRSTRLEN];

	dhcp_opt_u16(r->m, DHO_MAX_SIZE, &maxsize);
	if (maxsize < 576)
		maxsize = 576;
	if (booting)
		add_boot(srv, r, file, sizeof(file));
	/* UDP and IP headers come off the client's maximum message size. */
	dhcp_build_start(&b, buf, sizeof(buf), (size_t)maxsize - 28, r->m, type, yiaddr, next, NULL,
			 file);
	dhcp_build_ip(&b, DHO_SERVER_ID, r->server_ip);
	if (type == DHCPOFFER || type == DHCPACK) {
		unsigned secs = lease_secs(srv, r), t1, t2;
		if (yiaddr) {
			conf_dhcp_timers(srv->cfg, sn, g, secs, &t1, &t2);
			dhcp_build_u32(&b, DHO_LEASE_TIME, secs);
			dhcp_build_u32(&b, DHO_T1, t1);
			dhcp_build_u32(&b, DHO_T2, t2);
		}
		add_network_opts(srv, r, &b, yiaddr);
		if (file[0]) {
			dhcp_build_str(&b, DHO_TFTP_SERVER,
				       inet_ntop(AF_INET, &next, next_s, sizeof(next_s)));
			dhcp_build_str(&b, DHO_BOOTFILE, file);
		}
		if (booting)
			add_pxe_opts(r, &b);
	} else if (type == DHCP_BOOTP) {
		add_network_opts(srv, r, &b, yiaddr);
	}
	add_relay_agent(r, &b);
	size_t len = dhcp_build_end(&b);
	if (len == 0) {
		log_limited(&srv->rl_bad, r->now, LOG_LVL_WARN,
			    "dhcp: reply does not fit the client's %u bytes", maxsize);
		return;
	}
	send_reply(srv, r, buf, len, yiaddr, type, seq);
	if (srv->ev.dhcp && (type == DHCPOFFER || type == DHCPACK))
		srv->ev.dhcp(srv->ev.ctx, type == DHCPOFFER ? NODE_DHCP_OFFER : NODE_DHCP_ACK,
			     r->m->chaddr, yiaddr, bn.name, g ? g->name : NULL, file,
			     is_booting(r, NULL),
			     r->now);
}

static void log_reply(struct dhcp_server *srv, const struct dhcp_req *r, const char *what,
		      uint32_t ip)
{
	char mac[18], a[INET_ADDRSTRLEN];

	log_limited(&srv->rl_info, r->now, LOG_LVL_INFO, "dhcp: %s %s to %s%s%s", what,
		    inet_ntop(AF_INET, &ip, a, sizeof(a)), mac_str(r->m->chaddr, ':', mac),
		    r->node ? " " : "", r->node ? r->node->name : "");
}

static void handle_discover(struct dhcp_server *srv, const struct dhcp_req *r)
{
	uint32_t ip = address_for(srv, r);

	if (ip == 0) {
		srv->stats.unknown_ignored++;
		return;
	}
	if (r->node == NULL)
		lease_offer(srv->leases, ip, r->m->chaddr,
			    r->now + MONO_MS(srv->cfg->offer_hold_ms));
	srv->stats.offers++;
	reply(srv, r, DHCPOFFER, ip);
}

/* Records a pool address; the ACK may leave once the returned commit
 * sequence is durable (0: at once). -errno: no ACK at all. */
static int64_t commit(struct dhcp_server *srv, const struct dhcp_req *r, uint32_t ip)
{
	int64_t seq;

	if (r->node)
		return 0; /* fixed address: nothing to remember */
	seq = lease_bind(srv->leases, ip, r->m->chaddr, r->wall_now + lease_secs(srv, r));
	if (seq < 0) {
		srv->stats.lease_write_errors++;
		log_limited(&srv->rl_bad, r->now, LOG_LVL_ERR,
			    "dhcp: cannot record lease, not acknowledging: %s",
			    strerror((int)-seq));
	}
	return seq;
}

/* A client on one of our own segments is about to download: its address
 * and MAC go into the neighbour table now, so no ARP is ever needed. */
static void pin(struct dhcp_server *srv, const struct dhcp_req *r, uint32_t ip, unsigned secs)
{
	if (srv->tx.pin && r->m->giaddr == 0 && r->rx->ifindex > 0)
		srv->tx.pin(srv->tx.ctx, r->rx->ifindex, ip, r->m->chaddr, secs);
}

static void ack(struct dhcp_server *srv, const struct dhcp_req *r, uint32_t ip)
{
	int64_t seq = commit(srv, r, ip);

	if (seq < 0)
		return;
	pin(srv, r, ip, lease_secs(srv, r));
	srv->stats.acks++;
	log_reply(srv, r, "ACK", ip);
	reply_after(srv, r, DHCPACK, ip, seq);
}

static void nak(struct dhcp_server *srv, const struct dhcp_req *r)
{
	srv->stats.naks++;
	reply(srv, r, DHCPNAK, 0);
}

/* RFC 2131 4.3.2: SELECTING (server id), INIT-REBOOT (requested address,
 * no ciaddr), RENEWING/REBINDING (ciaddr). */
static void handle_request(struct dhcp_server *srv, const struct dhcp_req *r)
{
	const struct dhcp_msg *m = r->m;
	uint32_t server_id = 0, requested = 0, ip, want;
	bool has_sid = dhcp_opt_ip(m, DHO_SERVER_ID, &server_id);

	dhcp_opt_ip(m, DHO_REQUESTED_IP, &requested);
	if (has_sid && server_id != r->server_ip) {
		/* The client chose another server: release our offer. */
		struct lease *l = srv->leases ? lease_at(srv->leases, requested) : NULL;
		if (l && l->state == LEASE_OFFERED && memcmp(l->mac, m->chaddr, 6) == 0)
			l->state = LEASE_FREE;
		srv->stats.ignored++;
		return;
	}
	want = m->ciaddr ? m->ciaddr : requested;
	if (want == 0) {
		srv->stats.ignored++;
		return;
	}
	ip = address_for(srv, r);
	if (ip == want) {
		ack(srv, r, ip);
	} else if (has_sid || r->node || ip != 0 || conf_subnet_of(srv->cfg, want) != r->subnet) {
		/* We know this client, or the address is wrong for its network. */
		nak(srv, r);
	} else {
		srv->stats.ignored++; /* not ours to judge: stay silent */
	}
}

static void handle_decline(struct dhcp_server *srv, const struct dhcp_req *r)
{
	uint32_t ip = 0;
	char a[INET_ADDRSTRLEN], mac[18];

	srv->stats.declines++;
	if (!dhcp_opt_ip(r->m, DHO_REQUESTED_IP, &ip))
		return;
	if (srv->ev.dhcp)
		srv->ev.dhcp(srv->ev.ctx, NODE_DHCP_DECLINE, r->m->chaddr, 0, NULL, NULL, NULL, false,
			     r->now);
	log_limited(&srv->rl_bad, r->now, LOG_LVL_WARN,
		    "dhcp: %s declined %s: the address is in use by another host",
		    mac_str(r->m->chaddr, ':', mac), inet_ntop(AF_INET, &ip, a, sizeof(a)));
	/* Only the client the address was offered or bound to may decline it:
	 * a forged DECLINE must not take another client's lease away. */
	struct lease *l = srv->leases ? lease_at(srv->leases, ip) : NULL;
	if (r->node == NULL && l && l->state != LEASE_FREE && memcmp(l->mac, r->m->chaddr, 6) == 0)
		lease_decline(srv->leases, ip, r->wall_now + DECLINE_HOLD_SEC);
}

static void handle_release(struct dhcp_server *srv, const struct dhcp_req *r)
{
	struct lease *l = srv->leases ? lease_at(srv->leases, r->m->ciaddr) : NULL;

	srv->stats.releases++;
	if (l && l->state == LEASE_BOUND && memcmp(l->mac, r->m->chaddr, 6) == 0)
		lease_release(srv->leases, r->m->ciaddr);
	if (r->node ? node_ip(r) == r->m->ciaddr : l != NULL)
		pin(srv, r, r->m->ciaddr, 0);
}

static void handle_inform(struct dhcp_server *srv, const struct dhcp_req *r)
{
	srv->stats.informs++;
	if (r->m->ciaddr == 0)
		return;
	reply(srv, r, DHCPACK, 0);
}

static void handle_bootp(struct dhcp_server *srv, const struct dhcp_req *r)
{
	uint32_t ip = address_for(srv, r);

	int64_t seq;

	srv->stats.bootp++;
	if (ip == 0 || (seq = commit(srv, r, ip)) < 0)
		return;
	reply_after(srv, r, DHCP_BOOTP, ip, seq);
}

/* Which of our subnets a request is for: the relay's (giaddr), else the
 * receiving interface's. */
static const struct conf_subnet *subnet_for(const struct dhcp_server *srv, const struct dhcp_rx *rx,
					    const struct dhcp_msg *m)
{
	return conf_subnet_of(srv->cfg, m->giaddr ? m->giaddr : rx->local_ip);
}

static bool sane(const struct dhcp_msg *m)
{
	static const uint8_t zero[6];

	return m->op == DHCP_BOOTREQUEST && m->htype == 1 && m->hlen == 6 &&
	       m->hops <= DHCP_MAX_HOPS && memcmp(m->chaddr, zero, 6) != 0;
}

/* With several servers ([cluster]), each answers its share of the clients
 * that may ask any: DISCOVER, BOOTP and INIT-REBOOT (a REQUEST with
 * neither a server ID nor ciaddr). A REQUEST naming a server, or renewing
 * from its address, goes to the server that gave the lease. */
static bool answers(const struct dhcp_server *srv, const struct dhcp_msg *m)
{
	uint32_t sid;

	if (srv->mine == NULL || srv->mine(srv->mine_ctx, m->chaddr))
		return true;
	if (m->type == DHCPDISCOVER || m->type == DHCP_BOOTP)
		return false;
	if (m->type == DHCPREQUEST)
		return dhcp_opt_ip(m, DHO_SERVER_ID, &sid) || m->ciaddr != 0;
	return true;
}

void dhcp_server_set_share(struct dhcp_server *srv,
			   bool (*mine)(const void *ctx, const uint8_t mac[6]), const void *ctx)
{
	srv->mine = mine;
	srv->mine_ctx = ctx;
}

void dhcp_server_input(struct dhcp_server *srv, const struct dhcp_rx *rx, const uint8_t *buf,
		       size_t len, mono_t now, int64_t wall_now)
{
	struct dhcp_msg *m = &srv->msg;
	struct dhcp_req r = {.rx = rx, .m = m, .now = now, .wall_now = wall_now};
	char peer[NETADDR_STRLEN];

	srv->stats.received++;
	if (dhcp_parse(buf, len, m) < 0 || !sane(m)) {
		srv->stats.malformed++;
		log_limited(&srv->rl_bad, now, LOG_LVL_INFO, "dhcp: %s: malformed request dropped",
			    netaddr_str(&rx->peer, peer));
		return;
	}
	if (srv->proxy) {
		dhcp_proxy_input(
		    srv->proxy,
		    &(struct dhcp_proxy_env){srv->policy, &srv->tx, &srv->stats, &srv->rl_info}, rx,
		    m, now);
		return;
	}
	r.subnet = subnet_for(srv, rx, m);
	if (r.subnet == NULL) {
		srv->stats.no_subnet++;
		return;
	}
	r.server_ip = rx->local_ip;
	if (!answers(srv, m)) {
		srv->stats.not_mine++;
		return;
	}
	r.node = inventory_by_mac(policy_inventory(srv->policy), m->chaddr);
	observe(srv, &r);
	switch (m->type) {
	case DHCPDISCOVER:
		handle_discover(srv, &r);
		break;
	case DHCPREQUEST:
		handle_request(srv, &r);
		break;
	case DHCPDECLINE:
		handle_decline(srv, &r);
		break;
	case DHCPRELEASE:
		handle_release(srv, &r);
		break;
	case DHCPINFORM:
		handle_inform(srv, &r);
		break;
	case DHCP_BOOTP:
		handle_bootp(srv, &r);
		break;
	default:
		srv->stats.ignored++;
		break;
	}
}

const char *dhcp_server_name_of(struct dhcp_server *srv, uint32_t ip, char buf[CONF_NAME_MAX])
{
	struct ipaddr a = ipaddr_v4(ip);
	const struct inv_node *n = inventory_by_ip(policy_inventory(srv->policy), &a);
	struct lease *l;
	struct boot_node pn = {0};
	uint8_t mac[6];

	/* A proxy's clients are where the site server put them. */
	if (srv->proxy && dhcp_proxy_mac_of(srv->proxy, ip, mac) &&
	    policy_node(srv->policy, mac, &pn, buf) == 0)
		return pn.name;
	if (n)
		return n->name;
	l = srv->leases ? lease_at(srv->leases, ip) : NULL;
	if (l && l->state == LEASE_BOUND) {
		struct boot_node bn = {0};
		if (policy_node(srv->policy, l->mac, &bn, buf) < 0)
			policy_pool_name(l->mac, buf); /* unknown = ignore since */
		return buf;
	}
	return NULL;
}

bool dhcp_server_knows(struct dhcp_server *srv, uint32_t ip)
{
	struct ipaddr a = ipaddr_v4(ip);
	struct lease *l;
	uint8_t mac[6];

	if (srv->proxy && dhcp_proxy_mac_of(srv->proxy, ip, mac))
		return true;
	if (inventory_by_ip(policy_inventory(srv->policy), &a))
		return true;
	l = srv->leases ? lease_at(srv->leases, ip) : NULL;
	return l && l->state == LEASE_BOUND;
}

void dhcp_server_release(struct dhcp_server *srv, uint64_t synced, uint64_t failed, int error,
			 mono_t now)
{
	unsigned dropped = 0;

	while (srv->held && (srv->held->seq <= synced || srv->held->seq <= failed)) {
		struct held_reply *h = srv->held;
		srv->held = h->next;
		if (srv->held == NULL)
			srv->held_tail = &srv->held;
		if (h->seq <= failed)
			dropped++;
		else if (lease_rejected(srv->leases, h->seq))
			srv->stats.lease_conflicts++; /* another server's client holds it */
		else
			srv->tx.send(srv->tx.ctx, &h->out);
		stat_hist_observe(&srv->stats.commit_latency, (double)(now - h->held_at) / 1e6);
		free(h);
	}
	srv->stats.lease_write_errors += dropped;
	if (dropped)
		log_limited(&srv->rl_bad, now, LOG_LVL_ERR,
			    "dhcp: lease journal failed (%s): %u ACK%s not sent", strerror(-error),
			    dropped, dropped == 1 ? "" : "s");
}

const struct dhcp_stats *dhcp_server_stats(const struct dhcp_server *srv)
{
	return &srv->stats;
}

void dhcp_server_set_events(struct dhcp_server *srv, const struct node_events *ev)
{
	srv->ev = *ev;
}

void dhcp_server_set_policy(struct dhcp_server *srv, struct policy *p)
{
	struct policy *old = srv->policy;

	srv->policy = policy_ref(p);
	srv->cfg = &policy_config(p)->dhcp;
	policy_unref(old);
}

struct dhcp_server *dhcp_server_new(struct policy *p, struct lease_table *leases,
				    const struct dhcp_tx *tx)
{
	struct dhcp_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	dhcp_server_set_policy(srv, p);
	srv->leases = leases;
	srv->tx = *tx;
	srv->held_tail = &srv->held;
	stat_hist_init(&srv->stats.commit_latency, commit_bounds,
		       sizeof(commit_bounds) / sizeof(commit_bounds[0]));
	if (srv->cfg->mode == CONF_DHCP_PROXY && (srv->proxy = dhcp_proxy_new()) == NULL) {
		dhcp_server_free(srv);
		return NULL;
	}
	srv->rl_info = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(1), 50);
	srv->rl_bad = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	return srv;
}

void dhcp_server_free(struct dhcp_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->held) {
		struct held_reply *h = srv->held;
		srv->held = h->next;
		free(h);
	}
	dhcp_proxy_free(srv->proxy);
	policy_unref(srv->policy);
	free(srv);
}
