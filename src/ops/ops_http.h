/* The ops HTTP listener ([status] listen, metrics, api, dashboard): a
 * read-only HTTP server for operators, apart from the boot HTTP server
 * (own sockets, loopback by default, never a file). libmicrohttpd on
 * herd's loop as in http/http_io.c: one daemon per address, each serving
 * the endpoints bound to it.
 *
 *   GET /metrics                Prometheus text format 0.0.4 (ops/metrics.h)
 *   GET /api/v1/nodes           the node table, JSON (ops-common: nodes_json)
 *   GET /api/v1/nodes/NAME      one node with its timeline and log tail
 *   GET /                       the dashboard (src/ops/dashboard.html, built
 *                               in; it polls api/v1/nodes beside it)
 *
 * Anything but GET or HEAD is 405; an unknown path, or an endpoint not
 * bound to this address, 404. */
#ifndef HERD_OPS_OPS_HTTP_H
#define HERD_OPS_OPS_HTTP_H

#include <stddef.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "ops/metrics.h"

struct ops_http;

/* What the listener reads, from the serving process. */
struct ops_source {
	void *ctx;
	/* Every module's visitor into m (metrics_module()). */
	void (*stats)(void *ctx, struct metrics *m);
	/* nodes_json(): malloc'd JSON; -ENOENT for an unknown name, -ENOSYS
	 * while herd keeps no node state. */
	int (*nodes)(void *ctx, const char *name_or_null, char **out, size_t *len);
};

/* Binds and listens on every address [status] names (before privileges
 * are dropped). *out is NULL when everything is off. On failure logs one
 * line saying which address and why, and returns -errno. */
int ops_http_open(struct ops_http **out, const struct conf_status_http *cfg);

int ops_http_start(struct ops_http *o, struct loop *loop, const struct ops_source *src);

void ops_http_close(struct ops_http *o);

#endif
