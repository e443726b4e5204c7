/* Group commit for an append-only file: the loop appends records (a copy
 * into memory, never a disk wait), a writer thread writes what has
 * accumulated and makes it durable with one fdatasync per batch, then
 * signals an eventfd. The loop holds whatever must not leave before its
 * record is on disk (a DHCP ACK) until gcommit_synced() covers it. */
#ifndef HERD_CORE_GCOMMIT_H
#define HERD_CORE_GCOMMIT_H

#include <stddef.h>
#include <stdint.h>

struct gcommit;

/* Starts the writer on fd (which it then owns). NULL on failure. */
struct gcommit *gcommit_start(int fd);
/* Queues a record; returns its sequence number (> 0), or 0 if out of
 * memory. Records are written in order. */
uint64_t gcommit_append(struct gcommit *g, const void *data, size_t len);
/* Readable when more records became durable; read it, then ask. */
int gcommit_eventfd(const struct gcommit *g);
/* Reads the eventfd and returns the highest durable sequence number. */
uint64_t gcommit_synced(struct gcommit *g);
/* 0, or the -errno of the write or sync that failed (sticky: nothing after
 * a failure is reported durable). */
int gcommit_error(const struct gcommit *g);
/* Writes and syncs what is queued, stops the thread, closes the file. */
void gcommit_stop(struct gcommit *g);

#endif
