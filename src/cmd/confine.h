/* Confinement, in a fixed order once every socket is bound and every
 * directory is open: raise the descriptor limit, drop to the configured
 * user, keep no capability (but CAP_NET_ADMIN while neighbour pinning is
 * on: rtnetlink checks it on every request), forbid regaining privileges;
 * then, once every service has started, a seccomp allow-list ([server]
 * seccomp): CAP_NET_ADMIN is kept for rtnetlink requests on the socket
 * already open, while the filter refuses every socket() after start-up. */
#ifndef HERD_CMD_CONFINE_H
#define HERD_CMD_CONFINE_H

#include <stdbool.h>
#include <sys/types.h>

/* Looks up `user` (empty: the current user). Returns 0 or -errno. */
int confine_lookup(const char *user, uid_t *uid, gid_t *gid);
int confine_raise_nofile(unsigned want);
/* Drops to uid/gid with no capability left but CAP_NET_ADMIN if asked
 * (neighbour pinning). Returns 0 or -errno. */
int confine_drop(const char *user, uid_t uid, gid_t gid, bool keep_net_admin);

/* Installs, on every thread, a seccomp filter allowing only the calls that
 * serving needs; any other fails with EPERM (and is audit-logged). Call it
 * once every socket, file handle and thread exists. Logs why it failed;
 * returns 0 or -errno. `database`: [cluster] connects (and connects again)
 * to PostgreSQL while serving, so stream sockets, connect() and what libpq
 * calls around them stay allowed. */
int confine_seccomp(bool database);

#endif
