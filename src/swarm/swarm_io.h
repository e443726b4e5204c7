/* The swarm's sockets and loop glue: one UDP socket per emulated client
 * (its own port, so the server sees N distinct TIDs), one loop timer per
 * client (cancel and re-arm by handle), one shared receive batch. */
#ifndef HERD_SWARM_IO_H
#define HERD_SWARM_IO_H

#include <stdint.h>

#include "core/loop.h"
#include "swarm/swarm_client.h"

struct swarm_io;

/* Opens n sockets, client i bound to binds[i % nbind] (port 0; nbind 0:
 * the kernel's choice). sw->tx is pointed at this layer. Returns 0 or
 * -errno (EMFILE: raise RLIMIT_NOFILE). */
int swarm_io_open(struct swarm_io **out, struct loop *loop, struct swarm *sw, unsigned n,
		  const uint32_t *binds, unsigned nbind);
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
