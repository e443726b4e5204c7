#include "cluster/cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cluster/pgconn.h"
#include "cluster/schema.h"
#include "core/log.h"
#include "inventory/inventory.h"
#include "ops/nodes.h"

#define TICK MONO_SEC(1)
#define BATCH_MAX 2000	/* records per batch: one statement of arrays */
_Static_assert(2 * BATCH_MAX <= 4096, "batch_size()'s table");
#define POLL_MARGIN 2.0 /* seconds: a transaction that commits late is still seen */
#define REFUSED_HOLD 60 /* s: an address refused to us is taken until a poll says more */
#define MAX_SERVERS 64
#define LOCK_KEY "1751478884" /* "herd": the advisory lock's first key */

/* Binds: one statement for the whole batch, addresses in order (two
 * servers' batches then lock rows in the same order, never in a cycle).
 * An address another MAC holds unexpired is left alone and not returned. */
static const char sql_bind[] =
    "INSERT INTO herd_lease AS l (ip, mac, expires, server, updated) "
    "SELECT u.ip, u.mac, to_timestamp(u.e), $4, now() "
    "FROM unnest($1::inet[], $2::macaddr[], $3::float8[]) AS u(ip, mac, e) ORDER BY u.ip "
    "ON CONFLICT (ip) DO UPDATE SET mac = EXCLUDED.mac, expires = EXCLUDED.expires, "
    "server = EXCLUDED.server, updated = EXCLUDED.updated "
    "WHERE l.mac = EXCLUDED.mac OR l.expires < now() RETURNING host(l.ip)";
static const char sql_release[] =
    "UPDATE herd_lease SET expires = now(), server = $3, updated = now() "
    "WHERE ip = $1::inet AND mac = $2::macaddr";
static const char sql_decline[] =
    "INSERT INTO herd_lease AS l (ip, mac, expires, server, updated) "
    "VALUES ($1::inet, '00:00:00:00:00:00', to_timestamp($2::float8), $3, now()) "
    "ON CONFLICT (ip) DO UPDATE SET mac = EXCLUDED.mac, expires = EXCLUDED.expires, "
    "server = EXCLUDED.server, updated = now() "
    "WHERE l.mac = $4::macaddr OR l.expires < now()";
static const char sql_now[] = "SELECT extract(epoch from now())::float8";
static const char sql_load[] = "SELECT host(ip), mac::text, extract(epoch from expires)::bigint "
			       "FROM herd_lease WHERE expires > now()";
static const char sql_poll[] = "SELECT host(ip), mac::text, extract(epoch from expires)::bigint "
			       "FROM herd_lease WHERE updated > to_timestamp($1::float8) "
			       "AND server <> $2";
/* The node state each second: what changed, one statement. */
static const char sql_nodes[] =
    "INSERT INTO herd_node AS n (mac, name, ip, grp, stage, failed_stage, why, since, bytes, "
    "server, updated) SELECT u.mac, u.name, u.ip, u.grp, u.stage, u.fs, u.why, "
    "now() - make_interval(secs => u.secs), u.bytes, $10, now() FROM unnest($1::macaddr[], "
    "$2::text[], $3::inet[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], "
    "$9::bigint[]) AS u(mac, name, ip, grp, stage, fs, why, secs, bytes) "
    "ON CONFLICT (mac) DO UPDATE SET name = EXCLUDED.name, ip = EXCLUDED.ip, grp = EXCLUDED.grp, "
    "stage = EXCLUDED.stage, failed_stage = EXCLUDED.failed_stage, why = EXCLUDED.why, "
    "since = EXCLUDED.since, bytes = EXCLUDED.bytes, server = EXCLUDED.server, "
    "updated = EXCLUDED.updated";
static const char sql_nodes_poll[] =
    "SELECT mac::text, name, coalesce(host(ip), ''), grp, stage, coalesce(failed_stage, ''), "
    "why, extract(epoch from since)::float8, bytes, server FROM herd_node "
    "WHERE updated > to_timestamp($1::float8)";
static const char sql_lock[] = "SELECT pg_try_advisory_lock(" LOCK_KEY ", hashtext($1))";
static const char sql_heartbeat[] =
    "INSERT INTO herd_server (name, seen, started) VALUES ($1, now(), now()) "
    "ON CONFLICT (name) DO UPDATE SET seen = now()";
/* Alive: a fresh heartbeat, and the session that holds its lock still
 * there (a server killed loses it at once, its connection closed). */
static const char sql_live[] =
    "SELECT s.name FROM herd_server s WHERE s.seen > now() - make_interval(secs => $1::int) "
    "AND EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted "
    "AND k.classid = " LOCK_KEY " AND k.objsubid = 2 "
    "AND k.objid::bigint = (hashtext(s.name)::bigint & 4294967295)) ORDER BY s.name";

/* A lease record waiting for the database. */
struct rec {
	uint32_t ip;
	uint8_t mac[6], owner[6];
	int64_t expires;
	uint64_t seq;
};

/* A node another server boots, as its last row said. */
struct other {
	uint8_t mac[6];
	bool used;
	bool hidden;  /* this server boots it now */
	bool counted; /* in others_in[] unless hidden: a row was read */
	uint8_t stage, failed_stage;
	uint32_t ip;
	double since; /* epoch seconds: when it entered its stage */
	uint64_t bytes;
	char name[CONF_NAME_MAX], group[CONF_NAME_MAX], why[128], server[CONF_NAME_MAX];
};

#define NODE_COLS 9

/* Array literals being built, one per column ("{a,b,c" until closed). */
struct arrays {
	char *v[NODE_COLS];
	size_t len[NODE_COLS], cap[NODE_COLS];
};

/* A server's name: a type of its own, so that lists of them are arrays of
 * structs (compared and copied whole, passed as const). */
struct server_name {
	char s[CONF_NAME_MAX];
};

struct cluster {
	struct timer tick; /* first: the timer hands it back */
	struct loop *loop;
	struct conf_cluster cfg;
	char name[CONF_NAME_MAX];
	struct lease_table *leases;
	struct pgconn *pg;
	int efd;
	/* The queue, a ring: the batch in flight is its first `inflight`. */
	struct rec *q;
	unsigned qcap, qhead, qlen, inflight;
	uint64_t appended, synced, failed, last_seq;
	int error;
	bool group_failed;
	bool batch_unsent; /* a statement of the batch could not be queued */ /* a statement of the group being answered failed */
	uint32_t *returned; /* the addresses the bind statement wrote */
	unsigned nreturned;
	uint64_t *refused; /* a FIFO of refused sequence numbers */
	unsigned nrefused, refused_head, refused_cap;
	bool locked, loaded, setup_busy, tick_busy, said_down, said_lock;
	double now_db, watermark; /* database epoch seconds */
	uint64_t learned_at_setup;
	struct server_name live[MAX_SERVERS];
	unsigned nlive;
	bool mine[256];
	unsigned nmine;
	struct ratelimit rl;
	/* The node state: published (ours), and the others' (a MAC hash). */
	struct nodes *nodes;
	uint64_t nodes_version, nodes_sending;
	struct arrays na;
	unsigned na_rows;
	struct other *others;
	uint32_t others_cap, others_used;
	uint32_t others_in[NODE_NSTAGES]; /* shown (not hidden), per stage */
	struct {
		uint64_t batches, records, refused, failed_batches, lost, learned, takeovers;
	} n;
};

unsigned cluster_bucket(const uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) & 255;
}

bool cluster_mine(const struct cluster *c, const uint8_t mac[6])
{
	return c->mine[cluster_bucket(mac)];
}

const char *cluster_name(const struct cluster *c)
{
	return c->name;
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

static struct rec *rec_at(struct cluster *c, unsigned i)
{
	return &c->q[(c->qhead + i) % c->qcap];
}

static void tell_loop(struct cluster *c)
{
	uint64_t one = 1;

	(void)!write(c->efd, &one, sizeof(one));
}

/* What a row says of an address, in the terms of lease_learn(). */
static void learn_row(struct cluster *c, const PGresult *res, int row, int64_t now)
{
	uint32_t ip;
	uint8_t mac[6];
	static const uint8_t zero[6];
	int64_t expires = strtoll(PQgetvalue(res, row, 2), NULL, 10);

	if (inet_pton(AF_INET, PQgetvalue(res, row, 0), &ip) != 1 ||
	    mac_parse(PQgetvalue(res, row, 1), mac) < 0)
		return;
	if (expires <= now)
		expires = 0;
	else if (memcmp(mac, zero, 6) == 0)
		expires = -expires; /* declined */
	lease_learn(c->leases, ip, mac, expires);
	c->n.learned++;
}

static bool ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* Is a statement's result good? If not, says why (once: the statements
 * after it in its group are only aborted) and marks the group failed: its
 * sync then knows, since a pipeline's Sync arrives after an error too. */
static bool check(struct cluster *c, const PGresult *res, const char *what)
{
	char why[300];

	if (ok(res))
		return true;
	c->group_failed = true;
	if (res != NULL && PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
		log_limited(&c->rl, loop_now(c->loop), LOG_LVL_ERR, "cluster: %s: %s", what,
			    pgconn_error(res, why, sizeof(why)));
	return false;
}

/* At a group's sync: did every statement of the group succeed? */
static bool group_ok(struct cluster *c, const PGresult *res)
{
	bool good = res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC && !c->group_failed;

	c->group_failed = false;
	return good;
}

/* --- lease batches --- */

static void kick(struct cluster *c);

static void on_bind(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	if (!check(c, res, "lease batch"))
		return;
	c->nreturned = 0;
	for (int i = 0; i < PQntuples(res) && c->nreturned < BATCH_MAX; i++)
		if (inet_pton(AF_INET, PQgetvalue(res, i, 0), &c->returned[c->nreturned]) == 1)
			c->nreturned++;
}

static void on_other(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	check(c, res, "lease batch");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Did the bind statement write ip? (returned[] sorted by on_batch_sync) */
static bool was_returned(const struct cluster *c, uint32_t ip)
{
	return bsearch(&ip, c->returned, c->nreturned, sizeof(ip), cmp_u32) != NULL;
}

static void refuse(struct cluster *c, const struct rec *r)
{
	static const uint8_t zero[6];

	if (c->nrefused == c->refused_cap) {
		unsigned cap = c->refused_cap ? c->refused_cap * 2 : 64;
		uint64_t *n = malloc(cap * sizeof(*n));
		if (n == NULL)
			return; /* the ACK leaves; the database still says who holds it */
		for (unsigned i = 0; i < c->nrefused; i++)
			n[i] = c->refused[(c->refused_head + i) % c->refused_cap];
		free(c->refused);
		c->refused = n;
		c->refused_cap = cap;
		c->refused_head = 0;
	}
	c->refused[(c->refused_head + c->nrefused++) % c->refused_cap] = r->seq;
	c->n.refused++;
	/* Someone else's now; the next poll says whose. */
	lease_learn(c->leases, r->ip, zero, wall_now() + REFUSED_HOLD);
}

static bool is_bind(const struct rec *r)
{
	return r->expires > 0 && memcmp(r->mac, r->owner, 6) == 0;
}

/* The batch's commit is known: its ACKs may go (or not). */
static void on_batch_sync(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	if (!group_ok(c, res) || c->batch_unsent) {
		c->failed = c->last_seq;
		c->error = -EIO;
		c->n.failed_batches++;
	} else {
		qsort(c->returned, c->nreturned, sizeof(*c->returned), cmp_u32);
		for (unsigned i = 0; i < c->inflight; i++) {
			struct rec *r = rec_at(c, i);
			if (is_bind(r) && !was_returned(c, r->ip))
				refuse(c, r);
		}
		c->synced = c->last_seq;
		c->n.batches++;
		c->n.records += c->inflight;
	}
	c->qhead = (c->qhead + c->inflight) % c->qcap;
	c->qlen -= c->inflight;
	c->inflight = 0;
	tell_loop(c);
	kick(c);
}

/* Appends an item to the array literal i ("{a,b,c" until closed). */
static bool array_add(struct arrays *a, unsigned i, const char *item)
{
	size_t n = strlen(item);

	if (a->len[i] + n + 3 > a->cap[i]) {
		size_t cap = a->cap[i] ? a->cap[i] * 2 : 4096;
		while (a->len[i] + n + 3 > cap)
			cap *= 2;
		char *b = realloc(a->v[i], cap);
		if (b == NULL)
			return false;
		a->v[i] = b;
		a->cap[i] = cap;
	}
	a->v[i][a->len[i]] = a->len[i] == 0 ? '{' : ',';
	memcpy(a->v[i] + a->len[i] + 1, item, n + 1);
	a->len[i] += n + 1;
	return true;
}

/* An element as a quoted array item: \ and " escaped, and what is not
 * printable ASCII (a log line's bytes) made '?', so that the database's
 * encoding never refuses it. */
static bool array_add_text(struct arrays *a, unsigned i, const char *text)
{
	char q[2 * 256 + 3], *w = q;

	*w++ = '"';
	for (const char *r = text; *r && w < q + sizeof(q) - 3; r++) {
		unsigned char ch = (unsigned char)*r;
		if (ch == '"' || ch == '\\')
			*w++ = '\\';
		*w++ = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	*w++ = '"';
	*w = '\0';
	return array_add(a, i, q);
}

static void arrays_close(struct arrays *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		memcpy(a->v[i] + a->len[i], "}", 2);
}

static void arrays_clear(struct arrays *a)
{
	for (unsigned i = 0; i < NODE_COLS; i++) {
		free(a->v[i]);
		a->v[i] = NULL;
		a->len[i] = a->cap[i] = 0;
	}
}

static int send_other(struct cluster *c, const struct rec *r)
{
	char ip[INET_ADDRSTRLEN], mac[18], until[32];

	inet_ntop(AF_INET, &r->ip, ip, sizeof(ip));
	if (r->expires == 0) {
		const char *p[] = {ip, mac_str(r->owner, ':', mac), c->name};
		return pgconn_query(c->pg, sql_release, 3, p, on_other, NULL);
	}
	snprintf(until, sizeof(until), "%" PRId64, r->expires < 0 ? -r->expires : r->expires);
	const char *p[] = {ip, until, c->name, mac_str(r->owner, ':', mac)};
	return pgconn_query(c->pg, sql_decline, 4, p, on_other, NULL);
}

/* How many records from the head make a batch: at most BATCH_MAX, and
 * each address once (one statement may not write a row twice). */
static unsigned batch_size(struct cluster *c)
{
	uint32_t seen[4096], size = 16, want = c->qlen < BATCH_MAX ? c->qlen : BATCH_MAX;
	unsigned n;

	/* Open addressing at most half full: cleared only as large as the
	 * batch can be (one record, the common case at a low rate: 16). */
	while (size < 2 * want)
		size *= 2;
	memset(seen, 0, size * sizeof(seen[0]));
	for (n = 0; n < want; n++) {
		uint32_t ip = rec_at(c, n)->ip, h = (ip * 2654435761u) & (size - 1);
		while (seen[h] != 0 && seen[h] != ip)
			h = (h + 1) & (size - 1);
		if (seen[h] == ip)
			break;
		seen[h] = ip;
	}
	return n;
}

/* Sends the next batch if none is in flight: the records that came while
 * the last one committed go together (group commit). */
static void kick(struct cluster *c)
{
	struct arrays a = {0};
	unsigned n, binds = 0;
	int err = 0;

	if (c->inflight || c->qlen == 0 || !c->loaded || !pgconn_ready(c->pg))
		return;
	n = batch_size(c);
	for (unsigned i = 0; i < n && err == 0; i++) {
		struct rec *r = rec_at(c, i);
		char ip[INET_ADDRSTRLEN], mac[18], e[24];
		if (!is_bind(r)) {
			err = send_other(c, r);
			continue;
		}
		snprintf(e, sizeof(e), "%" PRId64, r->expires);
		if (!array_add(&a, 0, inet_ntop(AF_INET, &r->ip, ip, sizeof(ip))) ||
		    !array_add(&a, 1, mac_str(r->mac, ':', mac)) || !array_add(&a, 2, e))
			err = -ENOMEM;
		binds++;
	}
	if (err == 0 && binds > 0) {
		arrays_close(&a, 3);
		const char *p[] = {a.v[0], a.v[1], a.v[2], c->name};
		err = pgconn_query(c->pg, sql_bind, 4, p, on_bind, NULL);
	}
	arrays_clear(&a);
	c->inflight = n;
	c->last_seq = rec_at(c, n - 1)->seq;
	c->batch_unsent = err != 0;
	c->nreturned = 0;
	if (pgconn_sync(c->pg, on_batch_sync, NULL) < 0) {
		/* Not connected after all: the records wait for the next time. */
		c->inflight = 0;
	}
}

static int64_t put(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires,
		   const uint8_t owner[6])
{
	struct cluster *c = ctx;
	struct rec *r;

	if (c->qlen == c->qcap)
		return -EAGAIN;
	r = rec_at(c, c->qlen++);
	r->ip = ip;
	memcpy(r->mac, mac, 6);
	memcpy(r->owner, owner, 6);
	r->expires = expires;
	r->seq = ++c->appended;
	kick(c);
	return (int64_t)r->seq;
}

static int store_eventfd(void *ctx)
{
	return ((struct cluster *)ctx)->efd;
}

static uint64_t store_synced(void *ctx)
{
	struct cluster *c = ctx;
	uint64_t n;

	(void)!read(c->efd, &n, sizeof(n));
	return c->synced;
}

static uint64_t store_failed(void *ctx)
{
	return ((struct cluster *)ctx)->failed;
}

static int store_error(void *ctx)
{
	return ((struct cluster *)ctx)->error;
}

static bool store_accepting(void *ctx)
{
	struct cluster *c = ctx;

	return c->loaded && pgconn_ready(c->pg) && c->qlen < c->qcap;
}

static bool store_rejected(void *ctx, uint64_t seq)
{
	struct cluster *c = ctx;

	while (c->nrefused > 0) {
		uint64_t head = c->refused[c->refused_head];
		if (head > seq)
			return false;
		c->refused_head = (c->refused_head + 1) % c->refused_cap;
		c->nrefused--;
		if (head == seq)
			return true;
	}
	return false;
}

/* --- membership --- */

static void set_buckets(struct cluster *c)
{
	int self = -1;

	for (unsigned i = 0; i < c->nlive; i++)
		if (strcmp(c->live[i].s, c->name) == 0)
			self = (int)i;
	c->nmine = 0;
	for (unsigned b = 0; b < 256; b++) {
		c->mine[b] = self >= 0 && b % c->nlive == (unsigned)self;
		c->nmine += c->mine[b];
	}
	if (self >= 0)
		lease_spread(c->leases, (unsigned)self, c->nlive);
}

static bool listed(const struct server_name *names, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(names[i].s, name) == 0)
			return true;
	return false;
}

static void on_live(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	struct server_name live[MAX_SERVERS] = {{{0}}}; /* compared whole */
	unsigned n = 0;
	bool changed;
	(void)arg;

	if (!check(c, res, "live servers"))
		return;
	for (int i = 0; i < PQntuples(res) && n < MAX_SERVERS; i++)
		snprintf(live[n++].s, CONF_NAME_MAX, "%s", PQgetvalue(res, i, 0));
	/* This server is alive whatever the table says yet (its first
	 * heartbeat, or a lock another session of its name holds). */
	if (!listed(live, n, c->name) && n < MAX_SERVERS) {
		unsigned at = 0;
		while (at < n && strcmp(live[at].s, c->name) < 0)
			at++;
		memmove(&live[at + 1], &live[at], (n - at) * sizeof(live[0]));
		snprintf(live[at].s, CONF_NAME_MAX, "%s", c->name);
		n++;
	}
	changed = n != c->nlive || memcmp(live, c->live, n * sizeof(live[0])) != 0;
	if (!changed)
		return;
	for (unsigned i = 0; i < c->nlive; i++)
		if (!listed(live, n, c->live[i].s)) {
			c->n.takeovers++;
			log_warn("cluster: server %s is gone (no heartbeat for %u s, or its "
				 "database session ended): the others answer its clients",
				 c->live[i].s, c->cfg.takeover_s);
		}
	memcpy(c->live, live, n * sizeof(live[0]));
	c->nlive = n;
	set_buckets(c);
	char list[512] = "";
	for (unsigned i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 live[i].s);
	log_info("cluster: servers alive: %s; %s answers %u of 256 buckets", list, c->name,
		 c->nmine);
}

static void on_lock(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	if (!check(c, res, "advisory lock"))
		return;
	c->locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	if (!c->locked && !c->said_lock)
		log_err("cluster: another server named %s is connected to this database; give "
			"each server its own [cluster] name",
			c->name);
	c->said_lock = !c->locked;
}

/* --- polling: what the other servers wrote --- */

static void on_now(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	if (check(c, res, "the database's time") && PQntuples(res) == 1)
		c->now_db = strtod(PQgetvalue(res, 0, 0), NULL);
}

static void on_rows(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	int64_t now = wall_now();
	(void)arg;

	if (!check(c, res, arg ? "loading leases" : "reading leases"))
		return;
	for (int i = 0; i < PQntuples(res); i++)
		learn_row(c, res, i, now);
}

static void on_tick_sync(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	c->tick_busy = false;
	if (group_ok(c, res) && c->now_db > 0) {
		c->watermark = c->now_db - POLL_MARGIN;
		c->nodes_version = c->nodes_sending; /* else published again */
	}
}

static void on_setup_sync(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	(void)arg;

	c->setup_busy = false;
	if (!group_ok(c, res) || c->now_db <= 0)
		return; /* tried again at the next tick */
	c->watermark = c->now_db - POLL_MARGIN;
	c->loaded = true;
	log_info("cluster: %s connected to the database; %" PRIu64 " leases read", c->name,
		 c->n.learned - c->learned_at_setup);
	kick(c);
}

static void on_schema(void *ctx, void *arg, const PGresult *res)
{
	(void)arg;
	check(ctx, res, "creating the tables");
}

static void on_heartbeat(void *ctx, void *arg, const PGresult *res)
{
	(void)arg;
	check(ctx, res, "heartbeat");
}

static void on_nodes_rows(void *ctx, void *arg, const PGresult *res);

/* Makes the tables, takes the lock and loads the leases (and the other
 * servers' nodes), in one group. */
static void setup(struct cluster *c)
{
	const char *name[] = {c->name};
	int err = 0;

	c->setup_busy = true;
	c->now_db = 0;
	c->learned_at_setup = c->n.learned;
	for (size_t i = 0; i < CLUSTER_SCHEMA_N && err == 0; i++)
		err = pgconn_query(c->pg, cluster_schema[i], 0, NULL, on_schema, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_lock, 1, name, on_lock, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_now, 0, NULL, on_now, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_load, 0, NULL, on_rows, c);
	if (err == 0 && c->nodes) {
		const char *all[] = {"0"};
		err = pgconn_query(c->pg, sql_nodes_poll, 1, all, on_nodes_rows, NULL);
	}
	if (err == 0)
		err = pgconn_sync(c->pg, on_setup_sync, NULL);
	if (err < 0)
		c->setup_busy = false;
}

/* --- the node state: ours published, the others' shown --- */

static void collect_node(void *ctx, const struct node_brief *b)
{
	struct cluster *c = ctx;
	struct arrays *a = &c->na;
	char mac[18], ip[INET_ADDRSTRLEN], since[32], bytes[24];
	bool ok_ = true;

	snprintf(since, sizeof(since), "%.3f", b->since_s);
	snprintf(bytes, sizeof(bytes), "%" PRIu64, b->bytes);
	ok_ = array_add(a, 0, mac_str(b->mac, ':', mac)) && array_add_text(a, 1, b->name) &&
	      array_add(a, 2, b->ip ? inet_ntop(AF_INET, &b->ip, ip, sizeof(ip)) : "NULL") &&
	      array_add_text(a, 3, b->group) && array_add(a, 4, node_stage_names[b->stage]) &&
	      array_add(a, 5,
			b->stage == NODE_FAILED ? node_stage_names[b->failed_stage] : "NULL") &&
	      array_add_text(a, 6, b->stage == NODE_FAILED ? b->why : "") &&
	      array_add(a, 7, since) && array_add(a, 8, bytes);
	if (!ok_)
		c->na_rows = UINT32_MAX; /* out of memory: not this time */
	else if (c->na_rows != UINT32_MAX)
		c->na_rows++;
}

/* Queues the nodes changed since the last publication (none: nothing). */
static int publish_nodes(struct cluster *c)
{
	int err = 0;

	if (c->nodes == NULL)
		return 0;
	c->na_rows = 0;
	c->nodes_sending =
	    nodes_changed(c->nodes, c->nodes_version, loop_now(c->loop), collect_node, c);
	if (c->na_rows > 0 && c->na_rows != UINT32_MAX) {
		arrays_close(&c->na, NODE_COLS);
		const char *p[] = {c->na.v[0], c->na.v[1], c->na.v[2], c->na.v[3], c->na.v[4],
				   c->na.v[5], c->na.v[6], c->na.v[7], c->na.v[8], c->name};
		err = pgconn_query(c->pg, sql_nodes, 10, p, on_heartbeat, NULL);
	}
	if (c->na_rows == UINT32_MAX)
		c->nodes_sending = c->nodes_version;
	arrays_clear(&c->na);
	return err;
}

static uint32_t other_slot(const struct cluster *c, const uint8_t mac[6])
{
	uint32_t i = cluster_bucket(mac) * 2654435761u;

	for (i &= c->others_cap - 1;; i = (i + 1) & (c->others_cap - 1))
		if (!c->others[i].used || memcmp(c->others[i].mac, mac, 6) == 0)
			return i;
}

static struct other *other_get(struct cluster *c, const uint8_t mac[6])
{
	if ((c->others_used + 1) * 2 > c->others_cap) {
		uint32_t cap = c->others_cap ? c->others_cap * 2 : 1024;
		struct other *old = c->others;
		uint32_t old_cap = c->others_cap;
		if (cap > (1u << 22) || (c->others = calloc(cap, sizeof(*old))) == NULL) {
			c->others = old;
			return NULL; /* that many: the view stops growing */
		}
		c->others_cap = cap;
		for (uint32_t i = 0; i < old_cap; i++)
			if (old[i].used)
				c->others[other_slot(c, old[i].mac)] = old[i];
		free(old);
	}
	struct other *o = &c->others[other_slot(c, mac)];
	if (!o->used) {
		memset(o, 0, sizeof(*o));
		o->used = true;
		memcpy(o->mac, mac, 6);
		c->others_used++;
	}
	return o;
}

/* A stage as a row writes it (an unknown word: dhcp). */
static uint8_t stage_index(const char *name)
{
	enum node_stage s = node_stage_of(name);

	return (uint8_t)(s == NODE_NSTAGES ? NODE_DHCP : s);
}

static void on_nodes_rows(void *ctx, void *arg, const PGresult *res)
{
	struct cluster *c = ctx;
	uint8_t mac[6];
	(void)arg;

	if (!check(c, res, "reading the node state"))
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		struct other *o;
		if (mac_parse(PQgetvalue(res, i, 0), mac) < 0 || (o = other_get(c, mac)) == NULL)
			continue;
		if (!o->hidden && o->counted)
			c->others_in[o->stage]--;
		snprintf(o->server, sizeof(o->server), "%s", PQgetvalue(res, i, 9));
		o->hidden = strcmp(o->server, c->name) == 0;
		snprintf(o->name, sizeof(o->name), "%s", PQgetvalue(res, i, 1));
		o->ip = 0;
		inet_pton(AF_INET, PQgetvalue(res, i, 2), &o->ip);
		snprintf(o->group, sizeof(o->group), "%s", PQgetvalue(res, i, 3));
		o->stage = stage_index(PQgetvalue(res, i, 4));
		o->failed_stage = stage_index(PQgetvalue(res, i, 5));
		snprintf(o->why, sizeof(o->why), "%s", PQgetvalue(res, i, 6));
		o->since = strtod(PQgetvalue(res, i, 7), NULL);
		o->bytes = strtoull(PQgetvalue(res, i, 8), NULL, 10);
		o->counted = true;
		if (!o->hidden)
			c->others_in[o->stage]++;
	}
}

static bool alive(const struct cluster *c, const char *server)
{
	return listed(c->live, c->nlive, server);
}

static void others_count(void *ctx, uint32_t counts[NODE_NSTAGES])
{
	struct cluster *c = ctx;

	for (int s = 0; s < NODE_NSTAGES; s++)
		counts[s] += c->others_in[s];
}

static void other_json(const struct cluster *c, FILE *f, const struct other *o, bool detail)
{
	char mac[18], ip[INET_ADDRSTRLEN];
	double since = (double)time(NULL) - o->since;

	fputs("{\"name\":", f);
	nodes_json_str(f, o->name);
	fprintf(f, ",\"mac\":\"%s\",\"ip\":", mac_str(o->mac, ':', mac));
	if (o->ip)
		nodes_json_str(f, inet_ntop(AF_INET, &o->ip, ip, sizeof(ip)));
	else
		fputs("null", f);
	fputs(",\"group\":", f);
	nodes_json_str(f, o->group);
	fprintf(f,
		",\"stage\":\"%s\",\"since_s\":%.1f,\"bytes\":%" PRIu64
		",\"retries\":0,\"last_seen_s\":null,\"failed_stage\":",
		node_stage_names[o->stage], since < 0 ? 0.0 : since, o->bytes);
	if (o->stage == NODE_FAILED) {
		fprintf(f, "\"%s\",\"why\":", node_stage_names[o->failed_stage]);
		nodes_json_str(f, o->why);
	} else {
		fputs("null,\"why\":null", f);
	}
	fputs(",\"server\":", f);
	nodes_json_str(f, o->server);
	fprintf(f, ",\"server_alive\":%s", alive(c, o->server) ? "true" : "false");
	if (detail)
		fputs(",\"timeline\":[],\"log_tail\":[]", f);
	fputc('}', f);
}

static unsigned others_json(void *ctx, FILE *f, const char *name, bool first)
{
	struct cluster *c = ctx;
	unsigned n = 0;

	for (uint32_t i = 0; i < c->others_cap; i++) {
		const struct other *o = &c->others[i];
		if (!o->used || o->hidden || (name && strcmp(o->name, name) != 0))
			continue;
		if (!first || n > 0)
			fputc(',', f);
		other_json(c, f, o, name != NULL);
		n++;
		if (name)
			break;
	}
	return n;
}

void cluster_set_nodes(struct cluster *c, struct nodes *n)
{
	c->nodes = n;
	nodes_set_others(n, c->name, &(struct nodes_others){c, others_count, others_json});
}

/* Each second: the heartbeat, who is alive, the others' leases, and the
 * node state both ways. */
static void heartbeat(struct cluster *c)
{
	const char *name[] = {c->name};
	char secs[16], wm[32];
	int err = 0;

	snprintf(secs, sizeof(secs), "%u", c->cfg.takeover_s);
	snprintf(wm, sizeof(wm), "%.6f", c->watermark);
	const char *live_p[] = {secs};
	const char *poll_p[] = {wm, c->name};
	c->tick_busy = true;
	c->now_db = 0;
	if (!c->locked)
		err = pgconn_query(c->pg, sql_lock, 1, name, on_lock, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_heartbeat, 1, name, on_heartbeat, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_live, 1, live_p, on_live, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_now, 0, NULL, on_now, NULL);
	if (err == 0)
		err = pgconn_query(c->pg, sql_poll, 2, poll_p, on_rows, NULL);
	if (err == 0)
		err = publish_nodes(c);
	if (err == 0 && c->nodes)
		err = pgconn_query(c->pg, sql_nodes_poll, 1, poll_p, on_nodes_rows, NULL);
	if (err == 0)
		err = pgconn_sync(c->pg, on_tick_sync, NULL);
	if (err < 0)
		c->tick_busy = false;
}

static void on_tick(struct timer *t, mono_t now)
{
	struct cluster *c = (struct cluster *)t;

	loop_timer_set(c->loop, &c->tick, now + TICK);
	if (!pgconn_ready(c->pg))
		return;
	if (!c->loaded) {
		if (!c->setup_busy)
			setup(c);
		return;
	}
	if (!c->tick_busy)
		heartbeat(c);
	kick(c);
}

static void on_up(void *ctx)
{
	struct cluster *c = ctx;

	if (c->said_down)
		log_info("cluster: the database is back");
	c->said_down = false;
	c->loaded = c->locked = c->setup_busy = c->tick_busy = false;
	setup(c);
}

static void on_down(void *ctx, const char *why)
{
	struct cluster *c = ctx;

	c->n.lost += c->loaded;
	c->loaded = c->locked = false;
	if (!c->said_down)
		log_err("cluster: database: %s; known nodes are answered, new pool leases wait "
			"(at most %u records)",
			why, c->cfg.queue);
	c->said_down = true;
}

void cluster_stats_visit(const struct cluster *c, const struct stat_visitor *v)
{
	stat_gauge(v, "connected", c->loaded, "1 while the database is reachable and read");
	stat_gauge(v, "servers_alive", c->nlive, "servers of the cluster alive");
	stat_gauge(v, "buckets_mine", c->nmine, "client buckets of 256 this server answers");
	stat_gauge(v, "queue", c->qlen, "lease records waiting for the database");
	stat_counter(v, "batches", c->n.batches, "lease batches committed");
	stat_counter(v, "records", c->n.records, "lease records committed");
	stat_counter(v, "refused", c->n.refused,
		     "lease records refused: another client holds the address");
	stat_counter(v, "failed_batches", c->n.failed_batches,
		     "lease batches that failed (their ACKs not sent)");
	stat_counter(v, "connections_lost", c->n.lost, "database connections lost");
	stat_counter(v, "learned", c->n.learned, "lease rows read from the database");
	stat_counter(v, "servers_gone", c->n.takeovers,
		     "servers seen to die (their clients taken over)");
}

struct cluster *cluster_new(struct loop *loop, const struct conf_cluster *cfg,
			    struct lease_table *t)
{
	struct cluster *c = calloc(1, sizeof(*c));
	struct pgconn_ops ops = {.up = on_up, .down = on_down};

	if (c == NULL)
		return NULL;
	c->loop = loop;
	c->cfg = *cfg;
	c->leases = t;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->qcap = cfg->queue;
	c->q = calloc(c->qcap, sizeof(*c->q));
	c->returned = calloc(BATCH_MAX, sizeof(*c->returned));
	if (c->efd < 0 || c->q == NULL || c->returned == NULL) {
		cluster_free(c);
		return NULL;
	}
	if (cfg->name[0])
		snprintf(c->name, sizeof(c->name), "%s", cfg->name);
	else if (gethostname(c->name, sizeof(c->name) - 1) < 0)
		snprintf(c->name, sizeof(c->name), "herd");
	snprintf(c->live[0].s, CONF_NAME_MAX, "%s", c->name);
	c->nlive = 1;
	set_buckets(c);
	c->rl = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	lease_table_set_store(t, &(struct lease_store){.ctx = c,
						       .put = put,
						       .eventfd = store_eventfd,
						       .synced = store_synced,
						       .failed = store_failed,
						       .error = store_error,
						       .accepting = store_accepting,
						       .rejected = store_rejected});
	ops.ctx = c;
	timer_init(&c->tick, on_tick);
	c->pg = pgconn_new(loop, cfg->database, c->name, &ops);
	if (c->pg == NULL) {
		cluster_free(c);
		return NULL;
	}
	loop_timer_set(loop, &c->tick, loop_now(loop) + TICK);
	return c;
}

void cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	if (c->pg) {
		loop_timer_cancel(c->loop, &c->tick);
		pgconn_free(c->pg);
	}
	if (c->efd >= 0)
		close(c->efd);
	free(c->q);
	free(c->returned);
	free(c->refused);
	free(c->others);
	arrays_clear(&c->na);
	free(c);
}
