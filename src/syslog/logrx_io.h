/* The log receiver's sockets: every syslog and netconsole address of
 * [log], read in batches by the loop and handed to logrx_input(). */
#ifndef HERD_SYSLOG_LOGRX_IO_H
#define HERD_SYSLOG_LOGRX_IO_H

#include <stdint.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "core/stats.h"
#include "syslog/logrx.h"

struct logrx_io;

/* Binds every address of cfg->syslog and cfg->netconsole (as root, before
 * privileges are dropped). On failure logs one line naming the address,
 * e.g. "cannot bind syslog 0.0.0.0:514: Address already in use", closes
 * what it opened and returns -errno; on success *out is set and 0 returned. */
int logrx_io_open(struct logrx_io **out, const struct conf_logrx *cfg, int rcvbuf);

/* Starts reading: each datagram goes to logrx_input(rx, ...) with the
 * loop's `now`. rx and loop must outlive io. Returns 0 or -errno. */
int logrx_io_start(struct logrx_io *io, struct loop *loop, struct logrx *rx);

/* Datagrams the kernel dropped for lack of receive buffer, all sockets. */
uint64_t logrx_io_drops(const struct logrx_io *io);
/* Every log receiver counter: the receiver's and its sockets'. */
void logrx_io_stats_visit(const struct logrx_io *io, const struct stat_visitor *v);

/* Unregisters from the loop (if started) and closes. NULL is allowed. */
void logrx_io_close(struct logrx_io *io);
/* The most memory the log receiver can take with this configuration: its
 * state (logrx_memory) and the sockets' buffers. */
uint64_t logrx_io_memory(const struct conf_logrx *cfg);

#endif
