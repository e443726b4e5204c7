/* Several herd servers on one PostgreSQL database ([cluster], docs/CLUSTER.md).
 *
 * What is shared lives in the database, and nothing else is: the pool
 * leases (table herd_lease; each server's lease table in memory is a
 * cache of it) and which servers are alive (herd_server: a heartbeat each
 * second, and a session advisory lock that dies with the server's
 * connection). The clients are split among the live servers by a hash of
 * the MAC into 256 buckets (RFC 3074's scheme): each server answers its
 * buckets, and those of a server that died are answered by the others
 * from the next heartbeat on.
 *
 * Lease records go to PostgreSQL in batches, one statement and one commit
 * per batch, pipelined on herd's loop (cluster/pgconn.h): an ACK leaves
 * once its batch has committed, as with the journal. The database keeps
 * addresses unique: a record for an address another client holds is
 * refused, and that ACK never leaves. */
#ifndef HERD_CLUSTER_CLUSTER_H
#define HERD_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "core/stats.h"
#include "dhcp/lease.h"

struct cluster;

/* Connects (in the background) and takes over the lease records of t,
 * which must have been opened without a journal. NULL if out of memory. */
struct cluster *cluster_new(struct loop *loop, const struct conf_cluster *cfg,
			    struct lease_table *t);
void cluster_free(struct cluster *c);

/* This server's name in the cluster ([cluster] name, or the host name). */
const char *cluster_name(const struct cluster *c);
/* Does this server answer the client `mac` now? */
bool cluster_mine(const struct cluster *c, const uint8_t mac[6]);
/* The bucket of a MAC, 0..255. */
unsigned cluster_bucket(const uint8_t mac[6]);

struct nodes;
/* Publishes the node state of this server (table herd_node, each second,
 * what changed) and shows the other servers' nodes in its JSON, each with
 * the server that boots it: `herd status` and the dashboard on any server
 * show the whole cluster. */
void cluster_set_nodes(struct cluster *c, struct nodes *n);

void cluster_stats_visit(const struct cluster *c, const struct stat_visitor *v);

#endif
