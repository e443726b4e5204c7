/* The control socket: a Unix stream socket on herd's loop, one JSON
 * request per line, one JSON reply line each (docs/STATUS.md). The
 * commands are the caller's (struct control_ops); this file only moves
 * lines: accept, read up to a newline, hand the line over, write the reply
 * back without blocking the loop, next line. */
#ifndef HERD_OPS_CONTROL_H
#define HERD_OPS_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "core/loop.h"

struct control_ops {
	void *ctx;
	/* One request line (NUL terminated, without its newline): a malloc'd
	 * reply (without a newline) in *reply, *len bytes. */
	void (*request)(void *ctx, const char *line, char **reply, size_t *len, mono_t now);
};

struct control;

/* Binds and listens on `path` (before privileges are dropped): a stale
 * socket there is removed first; the socket file gets owner uid, group gid
 * and mode 0660; its directory is made (0755, owned by uid) if missing.
 * When another herd listens on it, logs a warning and returns 0 with *out
 * NULL (no control socket). On failure logs one line and returns -errno.
 * control_close() removes the file if it is still the one made here. */
int control_open(struct control **out, const char *path, uid_t uid, gid_t gid);
int control_start(struct control *c, struct loop *loop, const struct control_ops *ops);
void control_close(struct control *c);
/* Does a server listen on the Unix socket at path? */
bool control_in_use(const char *path);

/* The string value of "key" in a JSON request (ops/json.c reads it), or
 * -ENOENT; -ENOSPC when it does not fit out. */
int control_json_str(const char *json, const char *key, char *out, size_t size);

/* The last (at most `max`) lines of NAME.log beneath dirfd, each malloc'd
 * into out; how many. 0 when there is no such file. */
unsigned control_log_tail(int dirfd, const char *name, char **out, unsigned max);

#endif
