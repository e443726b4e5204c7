/* The service manager's notification protocol (sd_notify(3)), spoken
 * without libsystemd: one datagram per state change to the socket named by
 * $NOTIFY_SOCKET (a path, or '@' for an abstract name).
 *
 * herd serve opens the socket before it confines itself (connect() is not
 * on the seccomp allow-list; the datagrams then go out with sendto() on the
 * connected socket, which is). Every call takes a NULL handle: not started
 * by a service manager, nothing is sent. */
#ifndef HERD_CORE_SDNOTIFY_H
#define HERD_CORE_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/clock.h"

enum sdnotify_state {
	SDNOTIFY_READY,	    /* serving (after start and after each reload) */
	SDNOTIFY_RELOADING, /* a reload began (with the monotonic time) */
	SDNOTIFY_STOPPING,  /* shutting down */
	SDNOTIFY_STATUS,    /* the status line only */
};

struct sdnotify;

/* Opens and connects a datagram socket to $NOTIFY_SOCKET. *out is NULL
 * (and 0 returned) when the variable is unset or empty. Returns 0 or
 * -errno (-EAFNOSUPPORT: an address kind herd does not speak, e.g. vsock). */
int sdnotify_open(struct sdnotify **out);
void sdnotify_close(struct sdnotify *n);

/* Sends one state, with a one-line STATUS= if status is not NULL. `now`
 * is CLOCK_MONOTONIC in microseconds (clock_mono_now()), used by
 * RELOADING. Errors are ignored: the manager is told what it can be. */
void sdnotify_send(struct sdnotify *n, enum sdnotify_state st, mono_t now, const char *status);

/* The message: "READY=1\nSTATUS=...", "RELOADING=1\nMONOTONIC_USEC=N\n...",
 * "STOPPING=1\n...". A status is cut at its first newline. Returns its
 * length, or -ENOSPC if it does not fit `size`. */
int sdnotify_format(char *buf, size_t size, enum sdnotify_state st, mono_t now, const char *status);

/* $NOTIFY_SOCKET's value as a socket address: "/path" or "@abstract".
 * Returns 0 or -EINVAL / -ENAMETOOLONG / -EAFNOSUPPORT. */
int sdnotify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len);

#endif
