/* The tables herd keeps in PostgreSQL, made by whoever connects first: a
 * herd server (cluster.c) or `herd leases import` (cmd/leases.c). Each
 * statement is idempotent, and run in one transaction (a pipeline's group
 * or a BEGIN): the first takes a lock until its end, because CREATE ...
 * IF NOT EXISTS run by two sessions at once fails in one of them. */
#ifndef HERD_CLUSTER_SCHEMA_H
#define HERD_CLUSTER_SCHEMA_H

static const char *const cluster_schema[] = {
    "SELECT pg_advisory_xact_lock(1751478885, 0)",
    "CREATE TABLE IF NOT EXISTS herd_lease (ip inet PRIMARY KEY, mac macaddr NOT NULL, "
    "expires timestamptz NOT NULL, server text NOT NULL, "
    "updated timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX IF NOT EXISTS herd_lease_updated ON herd_lease (updated)",
    "CREATE TABLE IF NOT EXISTS herd_server (name text PRIMARY KEY, seen timestamptz NOT NULL, "
    "started timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS herd_node (mac macaddr PRIMARY KEY, name text NOT NULL, ip inet, "
    "grp text NOT NULL, stage text NOT NULL, failed_stage text, why text NOT NULL, "
    "since timestamptz NOT NULL, bytes bigint NOT NULL, server text NOT NULL, "
    "updated timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS herd_node_updated ON herd_node (updated)",
};
#define CLUSTER_SCHEMA_N (sizeof(cluster_schema) / sizeof(cluster_schema[0]))

#endif
