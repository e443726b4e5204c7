/* What the protocol rooms tell of a node's boot, as it happens: one small
 * callback interface, handed to each room at start (like struct
 * sched_ops), so that DHCP, TFTP, HTTP and the log receiver never call the
 * node state (src/ops/nodes) directly. Every callback is optional (NULL:
 * not told), O(1) and allocates nothing: it runs on the packet path, but
 * only at a transfer's start and end, a DHCP reply, a retransmission or a
 * log line, never per data packet. */
#ifndef HERD_CORE_NODE_EVENTS_H
#define HERD_CORE_NODE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/net.h"

enum node_dhcp_ev {
	NODE_DHCP_OFFER,
	NODE_DHCP_ACK,
	NODE_DHCP_DECLINE,
};

enum node_xfer_ev {
	NODE_XFER_DONE,	   /* the whole file was delivered */
	NODE_XFER_ABANDON, /* the client stopped answering (timeout), or went away */
	NODE_XFER_RETRY,   /* a retransmission */
};

enum node_proto { NODE_TFTP, NODE_HTTP };

struct node_events {
	void *ctx;
	/* A reply to (or a DECLINE from) `mac`. `booting`: a firmware or boot
	 * loader asked (PXE, iPXE, HTTP boot), not an OS's DHCP client.
	 * name and group may be NULL; boot_file: what the reply names ("" or
	 * NULL: none). */
	void (*dhcp)(void *ctx, enum node_dhcp_ev ev, const uint8_t mac[6], uint32_t ip,
		     const char *name, const char *group, const char *boot_file, bool booting,
		     mono_t now);
	/* A transfer of `file` (size bytes) to ip begins. Returns what the
	 * file is to that node (a small code, 0: nothing the node state
	 * follows); the caller keeps it with the transfer and hands it back
	 * with the transfer's later events, which it skips when it is 0. */
	uint8_t (*xfer_start)(void *ctx, enum node_proto proto, const struct ipaddr *ip,
			      const char *file, uint64_t size, mono_t now);
	void (*xfer)(void *ctx, enum node_xfer_ev ev, uint8_t kind, const struct ipaddr *ip,
		     uint64_t bytes, mono_t now);
	/* A line filed for the node at ip (its text, without the
	 * receive-time prefix). */
	void (*log_line)(void *ctx, const struct ipaddr *ip, const uint8_t *line, size_t len,
			 mono_t now);
};

#endif
