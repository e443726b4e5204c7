/* Group commit for an append-only file: the loop appends records (a copy
 * into memory, never a disk wait), a writer thread writes what has
 * accumulated and makes it durable with one fdatasync per batch, then
 * signals an eventfd. The loop holds whatever must not leave before its
 * record is on disk (a DHCP ACK) until gcommit_synced() covers it, and
 * drops it if gcommit_failed() does. */
#ifndef HERD_CORE_GCOMMIT_H
#define HERD_CORE_GCOMMIT_H

#include <stddef.h>
#include <stdint.h>

struct gcommit;

/* Starts the writer on fd (which it then owns) and returns once it runs.
 * NULL on failure. */
struct gcommit *gcommit_start(int fd);
/* Queues a record; returns its sequence number (> 0), or 0 if out of
 * memory. Records are written in order. */
uint64_t gcommit_append(struct gcommit *g, const void *data, size_t len);
/* Readable when more records became durable; read it, then ask. */
int gcommit_eventfd(const struct gcommit *g);
/* Reads the eventfd and returns the highest durable sequence number. */
uint64_t gcommit_synced(struct gcommit *g);
/* The highest sequence number of a batch whose write or sync failed (0 if
 * none): what waited for it, or for anything before it, must not go out.
 * Read gcommit_synced() first: a sequence above failed and up to synced is
 * durable. The writer cuts a failed batch off the file and goes on with
 * the next one, so a disk that was full and is freed again resumes; only
 * if it cannot cut it off does every later batch fail too. */
uint64_t gcommit_failed(const struct gcommit *g);
/* 0, or the -errno of the last batch that failed. */
int gcommit_error(const struct gcommit *g);
/* Writes and syncs what is queued, stops the thread, closes the file. */
void gcommit_stop(struct gcommit *g);

#endif
