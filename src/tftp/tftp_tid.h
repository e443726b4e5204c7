/* Which server port (TID) each client port last talked to.
 *
 * RFC 1350 lets a client discard every packet from the TID of a transfer it
 * has ended, and strict firmware does: after a size probe it aborts (ERROR 8)
 * and sends the real RRQ from the same port, and a reply from the probe's
 * server port is stale to it. So a new transfer must never come from the
 * port of the previous transfer to the same client address and port. This
 * remembers, for a while and in fixed memory, the last transfer socket used
 * for each client endpoint: a ring in arrival order (the oldest is
 * forgotten first) indexed by a hash. */
#ifndef HERD_TFTP_TID_H
#define HERD_TFTP_TID_H

#include <stdint.h>

#include "core/clock.h"
#include "core/net.h"

struct tid_entry;

struct tid_memory {
	struct tid_entry *ring;
	uint32_t *heads; /* bucket -> ring index + 1; 0: empty */
	uint32_t size;	 /* ring slots = buckets, a power of two */
	uint32_t next;	 /* ring slot written next */
	mono_t linger;	 /* how long an entry counts */
	uint32_t seed;	 /* of the hash */
};

/* Room for `capacity` client endpoints (rounded up to a power of two).
 * Returns 0 or -ENOMEM. */
int tid_memory_init(struct tid_memory *m, uint32_t capacity, mono_t linger);
void tid_memory_fini(struct tid_memory *m);
/* Bytes tid_memory_init(capacity) allocates. */
uint64_t tid_memory_bytes(uint32_t capacity);

/* Transfer socket `sock` served `peer` until `now`. */
void tid_remember(struct tid_memory *m, const struct netaddr *peer, unsigned sock, mono_t now);

/* The socket `peer` last talked to, if within the linger time; else -1. */
int tid_recall(const struct tid_memory *m, const struct netaddr *peer, mono_t now);

#endif
