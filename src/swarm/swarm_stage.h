/* Inside the swarm's client state machine: the calls between its DHCP
 * stage (swarm_dhcp.c) and its TFTP stage and flow (swarm_client.c). The
 * I/O layer and the command use swarm_client.h only. */
#ifndef HERD_SWARM_STAGE_H
#define HERD_SWARM_STAGE_H

#include <stdbool.h>

#include "swarm/swarm_client.h"

/* Starts the DHCP exchange of c's boot stage (c->prof says how). */
void swarm_dhcp_begin(struct swarm *sw, struct swarm_client *c, mono_t now);
/* c's DHCP timer ran out: re-send, or give up. */
void swarm_dhcp_timeout(struct swarm *sw, struct swarm_client *c, mono_t now);

/* c's DHCP exchange (after_dhcp) or download of this boot stage ended
 * well: starts what comes next, or ends the client. */
void swarm_client_advance(struct swarm *sw, struct swarm_client *c, bool after_dhcp, mono_t now);
void swarm_client_fail(struct swarm *sw, struct swarm_client *c, enum swarm_fail why, mono_t now);

/* A TFTP download for the HTTP stage's item (c->tftp_ip and the client's
 * boot name set): from a new port, with the boot stage's profile. */
void swarm_tftp_fetch(struct swarm *sw, struct swarm_client *c, mono_t now);

static inline bool swarm_client_in_dhcp(const struct swarm_client *c)
{
	return c->stage == SWARM_DISCOVER || c->stage == SWARM_REQUEST;
}

#endif
