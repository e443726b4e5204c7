#include "dhcp/proxy.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "boot/boot.h"
#include "boot/policy.h"
#include "inventory/inventory.h"

#define SLOTS (2 * PROXY_SEEN_MAX) /* each index at most half full */
#define SLOT_MASK (SLOTS - 1)

/* One client herd saw: its MAC and the address it was last seen with. */
struct seen {
	uint8_t mac[6];
	bool pinned; /* ip is in the neighbour table */
	uint32_t ip; /* network order; 0: none (another client has it now) */
	mono_t at;
};

/* Entries never move; two open-addressing indexes (entry + 1, 0 = empty)
 * find them by MAC and by address. */
struct dhcp_proxy {
	struct seen *seen;
	uint32_t *by_mac, *by_ip;
	unsigned count;
	uint32_t seed; /* MACs are the client's choice: so is a collision */
};

/* ---- the table of clients seen ------------------------------------------ */

static uint32_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

static uint32_t hash_mac(const struct dhcp_proxy *px, const uint8_t mac[6])
{
	uint64_t k = 0;

	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return mix(k ^ px->seed);
}

static uint32_t hash_ip(const struct dhcp_proxy *px, uint32_t ip)
{
	return mix((uint64_t)ip << 16 ^ px->seed);
}

static uint32_t home(const struct dhcp_proxy *px, bool by_ip, uint32_t e)
{
	return (by_ip ? hash_ip(px, px->seen[e].ip) : hash_mac(px, px->seen[e].mac)) & SLOT_MASK;
}

static void index_add(struct dhcp_proxy *px, bool by_ip, uint32_t e)
{
	uint32_t *t = by_ip ? px->by_ip : px->by_mac, i = home(px, by_ip, e);

	while (t[i])
		i = (i + 1) & SLOT_MASK;
	t[i] = e + 1;
}

/* Is h in the cyclic range (i, j]? */
static bool between(uint32_t h, uint32_t i, uint32_t j)
{
	return i <= j ? h > i && h <= j : h > i || h <= j;
}

/* Removes entry e, then shifts back the entries its slot kept apart from
 * their home (linear probing without tombstones). */
static void index_del(struct dhcp_proxy *px, bool by_ip, uint32_t e)
{
	uint32_t *t = by_ip ? px->by_ip : px->by_mac, i = home(px, by_ip, e), j;

	while (t[i] != e + 1) {
		if (t[i] == 0)
			return;
		i = (i + 1) & SLOT_MASK;
	}
	t[i] = 0;
	for (j = (i + 1) & SLOT_MASK; t[j]; j = (j + 1) & SLOT_MASK) {
		if (between(home(px, by_ip, t[j] - 1), i, j))
			continue;
		t[i] = t[j];
		t[j] = 0;
		i = j;
	}
}

static long find_mac(const struct dhcp_proxy *px, const uint8_t mac[6])
{
	for (uint32_t i = hash_mac(px, mac) & SLOT_MASK; px->by_mac[i]; i = (i + 1) & SLOT_MASK)
		if (memcmp(px->seen[px->by_mac[i] - 1].mac, mac, 6) == 0)
			return (long)px->by_mac[i] - 1;
	return -1;
}

static long find_ip(const struct dhcp_proxy *px, uint32_t ip)
{
	for (uint32_t i = hash_ip(px, ip) & SLOT_MASK; px->by_ip[i]; i = (i + 1) & SLOT_MASK)
		if (px->seen[px->by_ip[i] - 1].ip == ip)
			return (long)px->by_ip[i] - 1;
	return -1;
}

static void forget_ip(struct dhcp_proxy *px, uint32_t e)
{
	if (px->seen[e].ip)
		index_del(px, true, e);
	px->seen[e].ip = 0;
	px->seen[e].pinned = false;
}

/* A free entry; when all are taken, the least recently heard one. */
static uint32_t take_entry(struct dhcp_proxy *px)
{
	uint32_t e = 0;

	if (px->count < PROXY_SEEN_MAX)
		return px->count++;
	for (uint32_t i = 1; i < PROXY_SEEN_MAX; i++)
		if (px->seen[i].at < px->seen[e].at)
			e = i;
	forget_ip(px, e);
	index_del(px, false, e);
	return e;
}

/* Notes that mac is at ip now. Returns its entry; *old: the address it had
 * before if that was pinned (to let go), else 0; *taken: ip was pinned
 * to the client that had it before. */
static struct seen *learn(struct dhcp_proxy *px, const uint8_t mac[6], uint32_t ip, mono_t now,
			  uint32_t *old, bool *taken, bool *changed)
{
	long e = find_mac(px, mac), o;

	*old = 0;
	*taken = false;
	*changed = e < 0 || px->seen[e].ip != ip;
	if (*changed) {
		/* The site server gave that address to this client: whoever had
		 * it before has it no more. */
		if ((o = find_ip(px, ip)) >= 0 && o != e) {
			*taken = px->seen[o].pinned;
			forget_ip(px, (uint32_t)o);
		}
		if (e >= 0) {
			if (px->seen[e].pinned)
				*old = px->seen[e].ip;
			forget_ip(px, (uint32_t)e);
		} else {
			e = take_entry(px);
			memcpy(px->seen[e].mac, mac, 6);
			px->seen[e].ip = 0;
			px->seen[e].pinned = false;
			index_add(px, false, (uint32_t)e);
		}
		px->seen[e].ip = ip;
		index_add(px, true, (uint32_t)e);
	}
	px->seen[e].at = now;
	return &px->seen[e];
}

bool dhcp_proxy_mac_of(const struct dhcp_proxy *px, uint32_t ip, uint8_t mac[6])
{
	long e = ip ? find_ip(px, ip) : -1;

	if (e < 0)
		return false;
	memcpy(mac, px->seen[e].mac, 6);
	return true;
}

uint32_t dhcp_proxy_ip_of(const struct dhcp_proxy *px, const uint8_t mac[6])
{
	long e = find_mac(px, mac);

	return e < 0 ? 0 : px->seen[e].ip;
}

unsigned dhcp_proxy_count(const struct dhcp_proxy *px)
{
	return px->count;
}

uint64_t dhcp_proxy_memory(void)
{
	return sizeof(struct dhcp_proxy) + (uint64_t)PROXY_SEEN_MAX * sizeof(struct seen) +
	       2ull * SLOTS * sizeof(uint32_t);
}

/* ---- replies -------------------------------------------------------------- */

/* A PXE or HTTP boot firmware, or iPXE: a client that loads a boot file. */
static bool booting(const struct dhcp_msg *m)
{
	return dhcp_is_pxe(m) || dhcp_is_ipxe(m);
}

/* Where a reply goes. Port 4011: back to the request's source (the client
 * has its address; its neighbour entry is pinned). Port 67: to the relay,
 * else broadcast as a frame (the client has no address yet). */
static void send_out(const struct dhcp_proxy_env *env, const struct dhcp_rx *rx,
		     const struct dhcp_msg *m, const uint8_t *buf, size_t len)
{
	struct dhcp_out o = {
	    .ifindex = rx->ifindex, .src_ip = rx->local_ip, .buf = buf, .len = len, .dst_port = 68};
	uint32_t peer = ipaddr_to_v4(&rx->peer.ip);

	if (rx->local_port == DHCP_PXE_PORT) {
		o.src_port = DHCP_PXE_PORT;
		o.dst_port = rx->peer.port ? rx->peer.port : 68;
		o.dst_ip = peer ? peer : m->ciaddr;
	} else if (m->giaddr) {
		o.dst_ip = m->giaddr;
		o.dst_port = 67;
	}
	if (o.dst_ip == 0) {
		o.dst_ip = INADDR_BROADCAST;
		o.via_link = true;
		memset(o.mac, 0xff, 6);
	}
	env->tx->send(env->tx->ctx, &o);
}

/* Builds and sends an OFFER (port 67) or ACK (4011) with no address: the
 * boot file of this client's node for its architecture. False: nothing
 * to boot (no loader for that architecture), or no room. */
static bool proxy_reply(const struct dhcp_proxy_env *env, const struct dhcp_rx *rx,
			const struct dhcp_msg *m, enum dhcp_type type, const char *name, mono_t now)
{
	const struct conf_dhcp *d = &policy_config(env->policy)->dhcp;
	const struct conf_subnet *sn = conf_subnet_of(d, rx->local_ip);
	uint8_t buf[DHCP_MAX_LEN];
	struct dhcp_builder b;
	char file[128], next_s[INET_ADDRSTRLEN], macs[18];
	uint16_t arch = BOOT_ARCH_BIOS, maxsize = 576;
	uint32_t next = sn && sn->next_server ? sn->next_server : rx->local_ip;
	size_t len;
	const uint8_t *uuid = dhcp_opt(m, DHO_UUID, &len);

	dhcp_opt_u16(m, DHO_CLIENT_ARCH, &arch);
	if (policy_boot_file(env->policy, m->chaddr, arch, dhcp_is_ipxe(m), file, sizeof(file)) <
		0 ||
	    file[0] == '\0')
		return false;
	dhcp_opt_u16(m, DHO_MAX_SIZE, &maxsize);
	if (maxsize < 576)
		maxsize = 576;
	dhcp_build_start(&b, buf, sizeof(buf), (size_t)maxsize - 28, m, type, 0, next, NULL, file);
	dhcp_build_ip(&b, DHO_SERVER_ID, rx->local_ip);
	dhcp_build_str(&b, DHO_VENDOR_CLASS, dhcp_is_http_boot(m) ? "HTTPClient" : "PXEClient");
	if (uuid != NULL && len == 17)
		dhcp_build_opt(&b, DHO_UUID, uuid, len);
	dhcp_build_str(&b, DHO_TFTP_SERVER, inet_ntop(AF_INET, &next, next_s, sizeof(next_s)));
	dhcp_build_str(&b, DHO_BOOTFILE, file);
	/* iPXE keeps a proxy's options too: its syslog goes to herd. */
	dhcp_build_ip(&b, DHO_LOG_SERVER, sn && sn->log_server ? sn->log_server : rx->local_ip);
	len = dhcp_build_end(&b);
	if (len == 0)
		return false;
	send_out(env, rx, m, buf, len);
	log_limited(env->rl_info, now, LOG_LVL_INFO, "dhcp: proxy %s to %s %s (%s port %u): %s",
		    type == DHCPOFFER ? "OFFER" : "ACK", mac_str(m->chaddr, ':', macs), name,
		    dhcp_is_ipxe(m) ? "iPXE," : "PXE,", rx->local_port == DHCP_PXE_PORT ? 4011 : 67,
		    file);
	return true;
}

/* Anyone on the segment can send DHCP, as in server mode; what a request
 * claims is at least checked against what herd knows: not herd's own
 * address, inside a [subnet] network if any is configured, and on port
 * 4011 the address the request came from. */
static bool plausible(const struct dhcp_proxy_env *env, const struct dhcp_rx *rx,
		      const struct dhcp_msg *m, uint32_t ip)
{
	const struct conf_dhcp *d = &policy_config(env->policy)->dhcp;
	uint32_t src = ipaddr_to_v4(&rx->peer.ip);

	if (ip == 0 || ip == INADDR_BROADCAST || ip == rx->local_ip || (ntohl(ip) >> 24) == 127)
		return false;
	if (rx->local_port == DHCP_PXE_PORT && src && m->giaddr == 0 && src != ip)
		return false;
	return d->nsubnets == 0 || conf_subnet_of(d, ip) != NULL;
}

/* Notes the client's address; pins it when it is about to download. */
static void note(struct dhcp_proxy *px, const struct dhcp_proxy_env *env, const struct dhcp_rx *rx,
		 const struct dhcp_msg *m, uint32_t ip, bool pin, mono_t now)
{
	const struct dhcp_tx *tx = env->tx;
	uint32_t old;
	bool changed, taken;
	struct seen *s;

	if (!plausible(env, rx, m, ip))
		return;
	s = learn(px, m->chaddr, ip, now, &old, &taken, &changed);
	if (changed)
		env->stats->proxy_learned++;
	if (tx->pin == NULL || m->giaddr || rx->ifindex <= 0)
		return;
	if (old)
		tx->pin(tx->ctx, rx->ifindex, old, m->chaddr, 0);
	if (taken && !pin) /* a pin to the previous holder's MAC */
		tx->pin(tx->ctx, rx->ifindex, ip, m->chaddr, 0);
	if (pin && !s->pinned) {
		tx->pin(tx->ctx, rx->ifindex, ip, m->chaddr,
			policy_config(env->policy)->dhcp.lease_time);
		s->pinned = true;
	}
}

void dhcp_proxy_input(struct dhcp_proxy *px, const struct dhcp_proxy_env *env,
		      const struct dhcp_rx *rx, const struct dhcp_msg *m, mono_t now)
{
	bool pxe_port = rx->local_port == DHCP_PXE_PORT;
	struct boot_node bn = {0};
	char namebuf[POLICY_NAME_MAX];
	uint32_t sid = 0, ip = 0;

	if (policy_node(env->policy, m->chaddr, &bn, namebuf) < 0 || bn.group == NULL) {
		env->stats->unknown_ignored++;
		return;
	}
	/* A request naming another server is the site server's. */
	if (dhcp_opt_ip(m, DHO_SERVER_ID, &sid) && sid != rx->local_ip && pxe_port) {
		env->stats->ignored++;
		return;
	}
	if (m->type == DHCPREQUEST && pxe_port) {
		ip = m->ciaddr ? m->ciaddr : ipaddr_to_v4(&rx->peer.ip);
		note(px, env, rx, m, ip, true, now);
		if (booting(m) && proxy_reply(env, rx, m, DHCPACK, bn.name, now)) {
			env->stats->proxy_acks++;
			return;
		}
	} else if (m->type == DHCPREQUEST) {
		/* For the site server: the address the client is taking. A
		 * firmware downloads from herd right after (iPXE takes the
		 * boot file from the proxy OFFER and never asks on 4011): pin. */
		if (!dhcp_opt_ip(m, DHO_REQUESTED_IP, &ip))
			ip = m->ciaddr;
		note(px, env, rx, m, ip, booting(m), now);
	} else if (m->type == DHCPDISCOVER && !pxe_port && booting(m)) {
		if (proxy_reply(env, rx, m, DHCPOFFER, bn.name, now)) {
			env->stats->proxy_offers++;
			return;
		}
	}
	env->stats->ignored++;
}

struct dhcp_proxy *dhcp_proxy_new(void)
{
	struct dhcp_proxy *px = calloc(1, sizeof(*px));

	if (px == NULL)
		return NULL;
	px->seen = calloc(PROXY_SEEN_MAX, sizeof(*px->seen));
	px->by_mac = calloc(SLOTS, sizeof(*px->by_mac));
	px->by_ip = calloc(SLOTS, sizeof(*px->by_ip));
	if (px->seen == NULL || px->by_mac == NULL || px->by_ip == NULL) {
		dhcp_proxy_free(px);
		return NULL;
	}
	if (getrandom(&px->seed, sizeof(px->seed), GRND_NONBLOCK) != sizeof(px->seed))
		px->seed = (uint32_t)(uintptr_t)px;
	return px;
}

void dhcp_proxy_free(struct dhcp_proxy *px)
{
	if (px == NULL)
		return;
	free(px->seen);
	free(px->by_mac);
	free(px->by_ip);
	free(px);
}
