/* One PostgreSQL connection on herd's loop, never blocking it: connected
 * with PQconnectStartParams/PQconnectPoll, then non-blocking and in
 * pipeline mode. Statements are queued with pgconn_query() and sent at
 * once; pgconn_sync() ends a group (a Sync: an implicit transaction ends
 * there unless the group opened its own). Each statement's callback gets
 * its one result, in order; a statement that never ran (the connection
 * was lost first, or an earlier statement of its group failed) gets NULL
 * or a PGRES_PIPELINE_ABORTED result.
 *
 * A lost connection is made again with backoff (0.25 s doubling to 2 s);
 * `up` is called each time it is ready, after which the owner queues its
 * setup again. Everything queued before is answered (NULL) first. */
#ifndef HERD_CLUSTER_PGCONN_H
#define HERD_CLUSTER_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/loop.h"

struct pgconn;

/* res: the statement's result (PGRES_TUPLES_OK, PGRES_COMMAND_OK, an
 * error, PGRES_PIPELINE_ABORTED), or NULL if it never ran. Owned by the
 * connection: do not PQclear it. For a sync: PGRES_PIPELINE_SYNC or
 * NULL. */
typedef void (*pgconn_fn)(void *ctx, void *arg, const PGresult *res);

struct pgconn_ops {
	void *ctx;
	void (*up)(void *ctx);			 /* connected (again) */
	void (*down)(void *ctx, const char *why); /* lost, or a connection attempt failed */
};

/* Starts connecting to `conninfo` (a libpq connection string or URI, as
 * a user writes it); `name` goes into application_name. NULL if out of
 * memory. */
struct pgconn *pgconn_new(struct loop *loop, const char *conninfo, const char *name,
			  const struct pgconn_ops *ops);
void pgconn_free(struct pgconn *c);

bool pgconn_ready(const struct pgconn *c);
/* Statements sent and not yet answered (syncs included). */
unsigned pgconn_pending(const struct pgconn *c);

/* Queues one statement with text parameters (copied by libpq). 0, or
 * -ENOTCONN (not ready: nothing queued, cb not called), or -EIO. */
int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
		 pgconn_fn cb, void *arg);
/* Ends the group; cb (may be NULL) hears when the server got there. */
int pgconn_sync(struct pgconn *c, pgconn_fn cb, void *arg);

/* libpq's text (several lines, a trailing newline) made one line into
 * buf; "no error text" if there is none. */
const char *pgconn_one_line(const char *msg, char *buf, size_t size);
/* The server's error text of a result, one line, into buf. */
const char *pgconn_error(const PGresult *res, char *buf, size_t size);
/* "relation already exists, skipping" and the like: not for herd's log. */
void pgconn_no_notices(PGconn *conn);

#endif
