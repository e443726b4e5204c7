/* The DHCP/PXE server's protocol logic: a request is parsed into a typed
 * message, then one handler per message type decides the address, the
 * options and where the reply goes. No sockets, no clock: the I/O layer (or
 * a test) passes the receiving interface, the bytes and the time, and gets
 * every reply through struct dhcp_tx. */
#ifndef HERD_DHCP_SERVER_H
#define HERD_DHCP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/clock.h"
#include "core/net.h"
#include "core/node_events.h"
#include "core/stats.h"
#include "dhcp/lease.h"
#include "inventory/inventory.h"

/* Where a request came in. */
struct dhcp_rx {
	int ifindex;
	uint32_t local_ip; /* herd's address on that interface (network order) */
	struct netaddr peer;
	uint16_t local_port; /* 4011: a PXE boot server request (proxy mode); 0 or 67 */
};

/* One reply out. via_link: send as a link-layer frame to `mac` on ifindex
 * (a client without an address cannot answer ARP); otherwise a normal UDP
 * datagram to dst_ip:dst_port. */
struct dhcp_out {
	int ifindex;
	uint32_t src_ip, dst_ip; /* network order */
	uint16_t dst_port;
	uint16_t src_port; /* 0: 67; 4011 for a proxy's ACK to a boot server request */
	bool via_link;
	uint8_t mac[6];
	const uint8_t *buf;
	size_t len;
};

struct dhcp_tx {
	void *ctx;
	void (*send)(void *ctx, const struct dhcp_out *out);
	/* Optional: keep (ip, mac) in the neighbour table of ifindex for
	 * `secs` (the lease); secs == 0 lets it go. */
	void (*pin)(void *ctx, int ifindex, uint32_t ip, const uint8_t mac[6], unsigned secs);
};

/* Tells the boot chain which node an address belongs to (logs, files). */
struct dhcp_bound {
	uint32_t ip;
	uint8_t mac[6];
	const char *name;
};

struct dhcp_stats {
	uint64_t received, malformed, ignored, no_subnet, unknown_ignored, pool_exhausted;
	uint64_t offers, acks, naks, declines, releases, informs, bootp;
	uint64_t lease_write_errors;
	/* [cluster]: clients of another server's share; new pool leases not
	 * offered while the database cannot take them; ACKs not sent because
	 * the database said another client holds the address. */
	uint64_t not_mine, pool_waiting, lease_conflicts;
	uint64_t proxy_offers, proxy_acks, proxy_learned; /* [dhcp] mode = proxy */
	/* From an ACK held for its lease record to the record durable (sent
	 * or dropped). */
	struct stat_hist commit_latency;
};

struct dhcp_server;

struct policy;

/* The server takes a reference to p (its configuration and inventory). */
struct dhcp_server *dhcp_server_new(struct policy *p, struct lease_table *leases,
				    const struct dhcp_tx *tx);
/* A new snapshot: each request from now on is answered from it (a node
 * added, removed, moved or given a new MAC takes effect at its next
 * request); leases and held replies are kept. */
void dhcp_server_set_policy(struct dhcp_server *srv, struct policy *p);
void dhcp_server_free(struct dhcp_server *srv);
/* The node state hears of every OFFER and ACK (after the reply is built:
 * name, group, boot file) and DECLINE; the firmware's and the loaders'
 * requests are told apart from an OS's DHCP client (`booting`). Proxy
 * mode tells nothing yet. */
void dhcp_server_set_events(struct dhcp_server *srv, const struct node_events *ev);

/* Several servers: `mine` says whether this one answers a client (see
 * answers() in dhcp_server.c); NULL: every client. */
void dhcp_server_set_share(struct dhcp_server *srv,
			   bool (*mine)(const void *ctx, const uint8_t mac[6]), const void *ctx);

void dhcp_server_input(struct dhcp_server *srv, const struct dhcp_rx *rx, const uint8_t *buf,
		       size_t len, mono_t now, int64_t wall_now);

/* Sends the ACKs held for lease records up to `synced`, now on disk, and
 * drops (counts, logs) those up to `failed`, whose records did not get
 * there (error: why). From lease_synced(), then lease_failed(). */
void dhcp_server_release(struct dhcp_server *srv, uint64_t synced, uint64_t failed, int error,
			 mono_t now);

const struct dhcp_stats *dhcp_server_stats(const struct dhcp_server *srv);

/* The name herd knows a client address by: the inventory's node name, or
 * its rule's name or "node-<mac>" for a pool lease; NULL if unknown. buf
 * holds CONF_NAME_MAX bytes. */
const char *dhcp_server_name_of(struct dhcp_server *srv, uint32_t ip, char buf[CONF_NAME_MAX]);
/* Is ip an inventory node's address or a bound lease? (Cheap: asked for
 * every TFTP request.) */
bool dhcp_server_knows(struct dhcp_server *srv, uint32_t ip);

#endif
