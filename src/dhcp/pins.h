/* The neighbour entries herd pinned for booting clients, so each is let go
 * when its lease ends or is released, and all of them when herd stops. */
#ifndef HERD_DHCP_PINS_H
#define HERD_DHCP_PINS_H

#include <stdint.h>

#include "core/clock.h"
#include "core/neigh.h"

struct pins;

struct pins *pins_new(struct neigh *nl);
/* Pins (secs > 0) for secs seconds from now, or lets go (secs == 0). */
void pins_set(struct pins *p, int ifindex, uint32_t ip, const uint8_t mac[6], unsigned secs,
	      mono_t now);
/* Lets go of the expired ones. */
void pins_sweep(struct pins *p, mono_t now);
unsigned pins_count(const struct pins *p);
/* Lets go of every pin and frees the table. */
void pins_free(struct pins *p);

#endif
