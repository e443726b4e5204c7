/* What a DHCP request says of its client, as facts for the [rule]s
 * (boot/rules.h): the relay's option 82 (circuit-id, remote-id), and from
 * a client that boots its architecture (93), vendor class (60) and user
 * class (77). No I/O. */
#ifndef HERD_DHCP_FACTS_H
#define HERD_DHCP_FACTS_H

#include <stdbool.h>

#include "boot/rules.h"
#include "dhcp/dhcp_wire.h"

/* Fills f and returns the mask of the facts set (rules_seen_update).
 * `booting`: the client boots (PXE, iPXE, HTTP boot, option 93, BOOTP);
 * only then are option 93, 60 and 77 taken, so an OS's DHCP client
 * (udhcpc's own vendor class) does not undo the firmware's choice. */
unsigned dhcp_facts(const struct dhcp_msg *m, bool booting, struct boot_facts *f);

#endif
