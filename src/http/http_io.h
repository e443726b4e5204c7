/* The HTTP server: libmicrohttpd driven by herd's loop (its epoll handle
 * is one more descriptor of the loop, its timeout one more timer; no thread
 * of its own), serving the files room. */
#ifndef HERD_HTTP_IO_H
#define HERD_HTTP_IO_H

#include "conf/conf.h"
#include "core/loop.h"
#include "core/node_events.h"
#include "core/stats.h"
#include "files/files.h"

struct http_io;

/* Binds and listens (before privileges are dropped). On failure logs one
 * line saying which address and why, and returns -errno. */
int http_io_open(struct http_io **out, const struct conf_http *cfg);

/* Starts serving `files` on the loop. */
int http_io_start(struct http_io *io, struct loop *loop, struct files *files);

/* One link budget (docs/SCHEDULER.md): response bodies go out in turns
 * of TFTP's pacer (bursts of `burst` wire bytes at most), ordered with
 * TFTP's fresh data by deadline (deadline_ms). Without it (TFTP off)
 * responses are sent as fast as TCP allows. 0 or -ENOMEM. */
struct tftp_server;
int http_io_set_pacer(struct http_io *io, struct tftp_server *pacer, size_t burst);

/* The node state hears of each GET's start, and of a followed response's
 * end: the whole body sent (done) or not (abandoned). */
void http_io_set_events(struct http_io *io, const struct node_events *ev);

void http_io_stats_visit(const struct http_io *io, const struct stat_visitor *v);

/* The most memory HTTP can take with this configuration: per connection,
 * libmicrohttpd's pool (header_max: request, headers, response headers),
 * its connection state and herd's. File contents are the files room's. */
uint64_t http_io_memory(const struct conf_http *cfg);

/* Closes every connection and the socket; drops every file reference. */
void http_io_close(struct http_io *io);

#endif
