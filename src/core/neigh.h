/* Neighbour pinning: permanent ARP entries (rtnetlink RTM_NEWNEIGH,
 * NUD_PERMANENT) for booting clients, made from the MAC in their DHCP
 * request, so the kernel never ARPs a node mid-download (some PXE ROMs do
 * not answer ARP while they wait for TFTP data). Permanent entries are not
 * garbage-collected, and since Linux 4.19 they do not count towards
 * gc_thresh3 either, so 2000 of them fit a default neighbour table.
 *
 * The netlink socket is opened before the privilege drop; the kernel checks
 * the opener's CAP_NET_ADMIN, so herd keeps no capability afterwards.
 * Requests are sent without waiting; failures come back as error messages,
 * counted by neigh_drain(). */
#ifndef HERD_CORE_NEIGH_H
#define HERD_CORE_NEIGH_H

#include <stdint.h>

struct neigh;

/* Returns NULL with *err = -errno on failure. */
struct neigh *neigh_open(int *err);
void neigh_close(struct neigh *n);
int neigh_fd(const struct neigh *n);

/* ip in network order. Return 0 or -errno (send errors only). */
int neigh_pin(struct neigh *n, int ifindex, uint32_t ip, const uint8_t mac[6]);
int neigh_unpin(struct neigh *n, int ifindex, uint32_t ip);

/* Reads the kernel's answers; returns how many reported an error. */
unsigned neigh_drain(struct neigh *n, int *last_error);

#endif
