/* TFTP sockets: the well-known port(s) and the shared transfer ports, wired
 * to the protocol logic and the event loop. */
#ifndef HERD_TFTP_IO_H
#define HERD_TFTP_IO_H

#include <stdint.h>

#include "conf/conf.h"
#include "core/stats.h"
#include "core/loop.h"
#include "tftp/tftp_server.h"

struct tftp_io;

/* Binds every socket (before privileges are dropped). On failure logs one
 * line saying which address and why, and returns -errno. */
int tftp_io_open(struct tftp_io **out, const struct conf_tftp *cfg, int rcvbuf);

/* Creates the server on top of the sockets and starts serving. */
int tftp_io_start(struct tftp_io *io, struct loop *loop, struct files *files);

struct tftp_server *tftp_io_server(struct tftp_io *io);
uint64_t tftp_io_rx_drops(const struct tftp_io *io); /* datagrams lost to full buffers */
uint64_t tftp_io_tx_errors(const struct tftp_io *io);
/* Every TFTP counter: the server's, the pacer's and the sockets'. */
void tftp_io_stats_visit(const struct tftp_io *io, const struct stat_visitor *v);
void tftp_io_close(struct tftp_io *io, mono_t now);
/* The most memory TFTP can take with this configuration: the server's
 * state (tftp_server_memory) and the sockets' buffers. */
uint64_t tftp_io_memory(const struct conf_tftp *cfg);

#endif
