/* Leases of pool addresses: an in-memory table per pool, and a journal on
 * disk so they survive a restart.
 *
 * The journal is a text file, one record per change:
 *   L <ip> <mac> <expires-unix-seconds> <crc32-hex>
 * replayed at start (the last record of an address wins; a bad checksum or a
 * torn last line is skipped), then compacted by writing the live leases to a
 * new file and renaming it over the old one. Afterwards records go through a
 * group commit (core/gcommit.h): one fdatasync per batch, off the reply
 * path; an ACK waits for its record. Inventory nodes have fixed addresses
 * and no leases. */
#ifndef HERD_DHCP_LEASE_H
#define HERD_DHCP_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "core/clock.h"

enum lease_state { LEASE_FREE, LEASE_OFFERED, LEASE_BOUND, LEASE_DECLINED };

struct lease {
	uint8_t mac[6];
	uint8_t state;
	int64_t expires; /* wall clock, unix seconds (BOUND, DECLINED) */
	mono_t hold_until; /* monotonic (OFFERED) */
};

struct lease_table;

/* Creates the table for the pools of cfg and replays `path` ("" = no
 * journal: leases live in memory only). Returns NULL with *err set. */
struct lease_table *lease_table_open(const struct conf_dhcp *cfg, const char *path,
				     int64_t wall_now, int *err);
void lease_table_close(struct lease_table *t);
/* Bytes the table for cfg's pools holds (fixed at start). */
uint64_t lease_table_memory(const struct conf_dhcp *cfg);

/* The lease of ip (network order), or NULL if ip is in no pool. */
struct lease *lease_at(struct lease_table *t, uint32_t ip);
/* The pool address leased or offered to mac, or 0. */
uint32_t lease_find_mac(struct lease_table *t, const uint8_t mac[6], int64_t wall_now,
			mono_t now);
/* A free address of the subnet's pool for mac: its previous one if free,
 * else the next free one. 0 if the pool is exhausted. */
uint32_t lease_pick(struct lease_table *t, const struct conf_subnet *sn, const uint8_t mac[6],
		    int64_t wall_now, mono_t now);

void lease_offer(struct lease_table *t, uint32_t ip, const uint8_t mac[6], mono_t until);
/* Binds ip to mac until `expires` and journals it. Returns the commit
 * sequence the lease is durable at once lease_synced() reaches it (> 0),
 * 0 if there is nothing to wait for (no journal), or -errno (the lease is
 * then not durable, and must not be acknowledged). */
int64_t lease_bind(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires);

/* Group commit: readable when more records reached the disk; -1 if none. */
int lease_eventfd(const struct lease_table *t);
/* Reads the eventfd; the highest durable commit sequence. */
uint64_t lease_synced(struct lease_table *t);
/* What lease_synced() last said, without reading the eventfd (a counter
 * for the stats: reading it there would swallow the loop's wake-up, and
 * the ACKs it holds would wait for the next commit). */
uint64_t lease_synced_seen(const struct lease_table *t);
/* The highest commit sequence that failed to reach the disk, 0 if none;
 * ask after lease_synced(). What waits for it or an earlier one must not
 * leave. Later records are written again (a full disk that is freed). */
uint64_t lease_failed(const struct lease_table *t);
/* 0, or the -errno of the last failure. */
int lease_error(const struct lease_table *t);
int lease_release(struct lease_table *t, uint32_t ip);
int lease_decline(struct lease_table *t, uint32_t ip, int64_t until);

/* Another store than the journal: PostgreSQL, shared by several servers
 * (cluster/cluster.h). It takes every record instead of the journal
 * (lease_table_open() with path ""), and answers for durability through
 * its eventfd as the journal's group commit does. */
struct lease_store {
	void *ctx;
	/* A record as the journal writes it (expires > 0: bound; 0: released;
	 * < 0: declined until -expires); `owner` is the MAC that must hold the
	 * address for it to apply. The commit sequence (> 0), or -errno. */
	int64_t (*put)(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires,
		       const uint8_t owner[6]);
	int (*eventfd)(void *ctx);
	uint64_t (*synced)(void *ctx);
	uint64_t (*failed)(void *ctx);
	int (*error)(void *ctx);
	/* May a new pool address be offered now (connected, leases loaded,
	 * room in the queue)? */
	bool (*accepting)(void *ctx);
	/* Was the record `seq` (durable) refused because another client holds
	 * the address? Asked once per held reply, in increasing seq order. */
	bool (*rejected)(void *ctx, uint64_t seq);
};
void lease_table_set_store(struct lease_table *t, const struct lease_store *store);
/* See lease_store.accepting; always true with the journal. */
bool lease_accepting(struct lease_table *t);
bool lease_rejected(struct lease_table *t, uint64_t seq);
/* What the shared store says of ip (another server's record, or the
 * truth after a refused one): the same meaning of `expires` as put. */
void lease_learn(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires);
/* Server k of n sharing the pools: each starts looking for free addresses
 * at its own share of every pool, so that two servers rarely pick the
 * same one (the database would refuse one of them). */
void lease_spread(struct lease_table *t, unsigned k, unsigned n);
/* Calls fn for every bound or declined lease (a migration, a store's
 * first fill): expires < 0 for a declined one. */
void lease_each(struct lease_table *t, int64_t wall_now,
		void (*fn)(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires), void *ctx);
/* Records a lease as it stands (migration): like lease_bind, with the
 * meaning of `expires` of put. */
int64_t lease_put(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires);

/* Writes every bound lease as "ip mac expires" lines (tests, status). */
void lease_dump(struct lease_table *t, FILE *out, int64_t wall_now);

/* The journal at `path` replayed read-only (a migration reads the file a
 * running herd appends to): never compacted, no writer, and the table so
 * opened records nothing (lease_bind and the like change memory only).
 * NULL with *err set, -ENOENT if there is no such file. */
struct lease_table *lease_table_read(const struct conf_dhcp *cfg, const char *path,
				     int64_t wall_now, int *err);

#endif
