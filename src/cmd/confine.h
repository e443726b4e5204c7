/* Confinement, in a fixed order once every socket is bound and every
 * directory is open: raise the descriptor limit, drop to the configured
 * user, keep no capability (but CAP_NET_ADMIN while neighbour pinning is
 * on: rtnetlink checks it on every request), forbid regaining privileges. */
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

#endif
