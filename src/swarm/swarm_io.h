/* The swarm's sockets and loop glue: one UDP socket per emulated client
 * (its own port, so the server sees N distinct TIDs), one loop timer per
 * client (cancel and re-arm by handle), one shared receive batch; and one
 * DHCP socket for every client (replies find their client by MAC). */
#ifndef HERD_SWARM_IO_H
#define HERD_SWARM_IO_H

#include <stdint.h>

#include "core/loop.h"
#include "swarm/swarm_client.h"

struct swarm_io;

/* Opens n sockets, client i bound to binds[i % nbind] (port 0; nbind 0:
 * the kernel's choice); none with sw->dhcp.only (no TFTP). sw->tx is
 * pointed at this layer. Returns 0 or -errno (EMFILE: raise RLIMIT_NOFILE). */
int swarm_io_open(struct swarm_io **out, struct loop *loop, struct swarm *sw, unsigned n,
		  const uint32_t *binds, unsigned nbind);

/* A relay's helper addresses (ISC dhcrelay takes several). */
#define SWARM_DHCP_SERVERS_MAX 8

/* The DHCP socket, relay mode: bound to sw->dhcp.giaddr port 67 (where the
 * servers' replies come), each request unicast to every one of the n
 * `servers`, as a relay agent forwards it to each helper address. */
int swarm_io_dhcp_relay(struct swarm_io *io, const struct netaddr *servers, unsigned n);
/* The DHCP socket, broadcast mode: port 68 on interface `ifname`,
 * requests to 255.255.255.255:67. */
int swarm_io_dhcp_broadcast(struct swarm_io *io, const char *ifname);

/* The address this host sends from towards `dst` (a relay's giaddr). */
int swarm_io_source_for(uint32_t dst, uint32_t *src);
void swarm_io_close(struct swarm_io *io);

/* Client i, for swarm_client_init() before swarm_io_start(). */
struct swarm_client *swarm_io_client(struct swarm_io *io, unsigned i);
/* Client i's socket now (-1 once it has ended), for tests. */
int swarm_io_fd(const struct swarm_io *io, unsigned i);

/* Arms every client's timer on its deadline. The loop stops by itself
 * once every client is done or failed. */
void swarm_io_start(struct swarm_io *io);

/* Ends every client still running (counted as unfinished). */
void swarm_io_abandon(struct swarm_io *io, mono_t now);

struct swarm_io_counts {
	unsigned ok, failed;
	uint64_t rx_drops; /* receive-buffer drops over every socket (SO_RXQ_OVFL) */
};
void swarm_io_counts(const struct swarm_io *io, struct swarm_io_counts *out);

#endif
