/* proxyDHCP ([dhcp] mode = proxy): a site DHCP server hands out the
 * addresses, herd answers only the boot part (PXE 2.1, section 2.2).
 *
 * Port 67: to a DISCOVER from a PXE or HTTP boot client (option 60) herd
 * knows, an OFFER with no address (yiaddr 0): option 60 "PXEClient",
 * option 54 herd's address, the client's UUID (97) echoed, next server and
 * boot file. No option 43: EDK2 takes such an offer as a "BINL" proxy offer
 * and asks for its boot file again on port 4011; iPXE does the same after
 * its DHCP ACK. Every other message on port 67 is the site server's
 * business: never answered (no address, no NAK, no lease), but a REQUEST
 * names the address the client is about to have (50, or ciaddr), which
 * herd notes (and pins, for a firmware: iPXE finds its boot file in the
 * proxy OFFER and downloads at once, without asking on 4011).
 *
 * Port 4011: to a REQUEST (unicast, from the client's new address) an ACK
 * with the boot file, sent back to where the request came from. The
 * request's ciaddr (or its source) is the client's address: herd notes it
 * and pins it in the neighbour table before the download starts.
 *
 * An address claimed is believed only if it is not herd's, inside a
 * [subnet] network when any is configured, and (4011) where the request
 * came from.
 *
 * What herd notes (MAC -> address, the last one seen) names a node's log
 * file and makes its TFTP requests known; a fixed table, the least recently
 * heard forgotten first when full. */
#ifndef HERD_DHCP_PROXY_H
#define HERD_DHCP_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/log.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"

#define DHCP_PXE_PORT 4011  /* PXE boot server (and proxyDHCP) requests */
#define PROXY_SEEN_MAX 8192 /* clients whose address herd remembers */

struct dhcp_proxy;
struct policy;

/* What a proxy reply needs of the server it belongs to. */
struct dhcp_proxy_env {
	struct policy *policy;
	const struct dhcp_tx *tx;
	struct dhcp_stats *stats;
	struct ratelimit *rl_info;
};

struct dhcp_proxy *dhcp_proxy_new(void);
void dhcp_proxy_free(struct dhcp_proxy *px);

/* Answers (or notes) one parsed, sane request; rx->local_port tells port
 * 4011 from 67. */
void dhcp_proxy_input(struct dhcp_proxy *px, const struct dhcp_proxy_env *env,
		      const struct dhcp_rx *rx, const struct dhcp_msg *m, mono_t now);

/* The client last seen at ip (network order): true and its MAC, or false. */
bool dhcp_proxy_mac_of(const struct dhcp_proxy *px, uint32_t ip, uint8_t mac[6]);
/* The address last seen for mac (network order), 0 if none. */
uint32_t dhcp_proxy_ip_of(const struct dhcp_proxy *px, const uint8_t mac[6]);
unsigned dhcp_proxy_count(const struct dhcp_proxy *px);
/* The bytes its table takes. */
uint64_t dhcp_proxy_memory(void);

#endif
