/* `herd leases export` and `herd leases import`: the pool leases moved
 * between the local journal ([dhcp] lease_file) and PostgreSQL ([cluster]
 * database) through a CSV file (dhcp/lease_csv.h), both ways
 * (docs/CLUSTER-MIGRATION.md). A command, not the server: libpq is used
 * blocking here. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/pgconn.h"
#include "cluster/schema.h"
#include "cmd/cmd.h"
#include "conf/conf.h"
#include "dhcp/lease.h"
#include "dhcp/lease_csv.h"
#include "inventory/inventory.h"
#include "ops/control.h"

#define SHOW_SKIPPED 10 /* addresses outside the pools named one by one */

enum store { STORE_DEFAULT, STORE_JOURNAL, STORE_DATABASE };

struct rows {
	struct lease_csv_row *v;
	unsigned *line; /* import: where each row was read */
	size_t n, cap;
	bool oom; /* a row was dropped for lack of memory */
};

static int rows_add(struct rows *r, const struct lease_csv_row *row, unsigned line)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct lease_csv_row *v = realloc(r->v, cap * sizeof(*v));
		unsigned *l = v ? realloc(r->line, cap * sizeof(*l)) : NULL;
		if (v)
			r->v = v;
		if (l == NULL)
			return -ENOMEM;
		r->line = l;
		r->cap = cap;
	}
	r->v[r->n] = *row;
	r->line[r->n++] = line;
	return 0;
}

static void rows_free(struct rows *r)
{
	free(r->v);
	free(r->line);
}

static const char *store_name(enum store s)
{
	return s == STORE_DATABASE ? "database" : "journal";
}

/* ---- PostgreSQL ----------------------------------------------------------- */

/* Where a connection goes, for messages: host, port, database and user as
 * libpq resolved them, never the password. */
static void describe(PGconn *db, char *buf, size_t size)
{
	static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user"};
	PQconninfoOption *opts = db ? PQconninfo(db) : NULL;
	size_t n = 0;

	buf[0] = '\0';
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
			if (strcmp(o->keyword, shown[i]) != 0 || o->val == NULL ||
			    o->val[0] == '\0')
				continue;
			int w = snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "", o->keyword,
					 o->val);
			if (w > 0 && (size_t)w < size - n)
				n += (size_t)w;
		}
	}
	PQconninfoFree(opts);
}

static PGconn *db_connect(const char *conninfo, char *where, size_t size)
{
	/* Ours first: the user's string (expanded from dbname) overrides them. */
	const char *keys[] = {"application_name", "connect_timeout", "dbname", NULL};
	const char *vals[] = {"herd leases", "10", conninfo, NULL};
	PGconn *db = PQconnectdbParams(keys, vals, 1);
	char err[512];

	describe(db, where, size);
	if (db == NULL || PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "herd: cannot connect to PostgreSQL (%s): %s\n", where,
			pgconn_one_line(db ? PQerrorMessage(db) : "out of memory", err, sizeof(err)));
		PQfinish(db);
		return NULL;
	}
	pgconn_no_notices(db);
	return db;
}

/* Runs one statement; false (reported) unless it returned `want`. */
static bool db_exec(PGconn *db, const char *where, const char *sql, ExecStatusType want,
		    PGresult **out)
{
	PGresult *res = PQexec(db, sql);
	char err[512];

	if (res && PQresultStatus(res) == want) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return true;
	}
	fprintf(stderr, "herd: PostgreSQL (%s): %s\n", where,
		pgconn_one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db), err, sizeof(err)));
	PQclear(res);
	return false;
}

static int read_database(const char *conninfo, struct rows *rows, char *where, size_t size)
{
	static const uint8_t none[6];
	PGconn *db = db_connect(conninfo, where, size);
	PGresult *res = NULL;
	int err = 0;

	if (db == NULL)
		return -1;
	if (!db_exec(db, where, "SELECT to_regclass('herd_lease') IS NOT NULL", PGRES_TUPLES_OK,
		     &res))
		goto fail;
	bool have = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	res = NULL;
	/* No table yet: no herd server ever connected, nothing leased. */
	if (have &&
	    !db_exec(db, where,
		     "SELECT host(ip), mac::text, floor(extract(epoch from expires))::bigint "
		     "FROM herd_lease WHERE expires > now() AND family(ip) = 4 ORDER BY ip",
		     PGRES_TUPLES_OK, &res))
		goto fail;
	for (int i = 0; res && i < PQntuples(res) && err == 0; i++) {
		struct lease_csv_row r = {.expires = strtoll(PQgetvalue(res, i, 2), NULL, 10)};
		if (inet_pton(AF_INET, PQgetvalue(res, i, 0), &r.ip) != 1 ||
		    mac_parse(PQgetvalue(res, i, 1), r.mac) < 0 || r.expires <= 0)
			continue;
		r.declined = memcmp(r.mac, none, 6) == 0;
		err = rows_add(rows, &r, 0);
	}
	PQclear(res);
	PQfinish(db);
	if (err < 0)
		fprintf(stderr, "herd: %s\n", strerror(-err));
	return err;
fail:
	PQfinish(db);
	return -1;
}

/* One transaction: the rows go into a temporary table by COPY, then into
 * herd_lease where the database holds nothing later for the address.
 * *applied: how many rows changed herd_lease. */
static int write_database(const char *conninfo, const struct rows *rows, char *where, size_t size,
			  size_t *applied)
{
	PGconn *db = db_connect(conninfo, where, size);
	PGresult *res = NULL;
	char line[96], a[INET_ADDRSTRLEN], m[18], err[512];

	if (db == NULL)
		return -1;
	if (!db_exec(db, where, "BEGIN", PGRES_COMMAND_OK, NULL))
		goto fail;
	for (size_t i = 0; i < CLUSTER_SCHEMA_N; i++)
		if (!db_exec(db, where, cluster_schema[i],
			     strncmp(cluster_schema[i], "SELECT", 6) == 0 ? PGRES_TUPLES_OK
								 : PGRES_COMMAND_OK,
			     NULL))
			goto fail;
	if (!db_exec(
		db, where,
		"CREATE TEMP TABLE herd_import (ip inet, mac macaddr, e float8) ON COMMIT DROP",
		PGRES_COMMAND_OK, NULL) ||
	    !db_exec(db, where, "COPY herd_import FROM STDIN", PGRES_COPY_IN, NULL))
		goto fail;
	bool sent = true;
	for (size_t i = 0; i < rows->n && sent; i++) {
		const struct lease_csv_row *r = &rows->v[i];
		int n = snprintf(line, sizeof(line), "%s\t%s\t%lld\n",
				 inet_ntop(AF_INET, &r->ip, a, sizeof(a)), mac_str(r->mac, ':', m),
				 (long long)r->expires);
		sent = PQputCopyData(db, line, n) == 1;
	}
	/* A COPY cut short must fail, not commit what it got. */
	if (PQputCopyEnd(db, sent ? NULL : "not every row was sent") != 1) {
		fprintf(stderr, "herd: PostgreSQL (%s): %s\n", where,
			pgconn_one_line(PQerrorMessage(db), err, sizeof(err)));
		goto fail;
	}
	res = PQgetResult(db);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "herd: PostgreSQL (%s): %s\n", where,
			pgconn_one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db), err,
				 sizeof(err)));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	while ((res = PQgetResult(db)) != NULL)
		PQclear(res);
	/* server = 'import' says where a row came from. */
	if (!db_exec(
		db, where,
		"INSERT INTO herd_lease AS l (ip, mac, expires, server, updated) "
		"SELECT ip, mac, to_timestamp(e), 'import', now() FROM herd_import ORDER BY ip "
		"ON CONFLICT (ip) DO UPDATE SET mac = EXCLUDED.mac, expires = EXCLUDED.expires, "
		"server = EXCLUDED.server, updated = EXCLUDED.updated "
		"WHERE l.expires < EXCLUDED.expires",
		PGRES_COMMAND_OK, &res))
		goto fail;
	*applied = strtoul(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (!db_exec(db, where, "COMMIT", PGRES_COMMAND_OK, NULL))
		goto fail;
	PQfinish(db);
	return 0;
fail:
	PQfinish(db); /* an open transaction is rolled back */
	return -1;
}

/* ---- The journal ---------------------------------------------------------- */

static void collect(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires)
{
	struct rows *rows = ctx;
	struct lease_csv_row r = {
	    .ip = ip, .expires = expires < 0 ? -expires : expires, .declined = expires < 0};

	memcpy(r.mac, mac, 6);
	if (rows_add(rows, &r, 0) < 0)
		rows->oom = true;
}

static int read_journal(const struct herd_config *cfg, struct rows *rows, int64_t now)
{
	int err;
	struct lease_table *t = lease_table_read(&cfg->dhcp, cfg->dhcp.lease_file, now, &err);

	if (t == NULL) {
		fprintf(stderr, "herd: %s: %s\n", cfg->dhcp.lease_file, strerror(-err));
		return -1;
	}
	lease_each(t, now, collect, rows);
	lease_table_close(t);
	return 0;
}

/* Does a herd server answer on the control socket of this configuration? */
static bool server_running(const struct herd_config *cfg)
{
	return cfg->status.enabled && control_in_use(cfg->status.socket);
}

/* Waits until the writer has synced everything up to `last`. */
static int journal_sync(struct lease_table *t, int64_t last)
{
	struct pollfd p = {.fd = lease_eventfd(t), .events = POLLIN};

	while (last > 0 && lease_synced(t) < (uint64_t)last)
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return -errno;
	if (lease_failed(t))
		return lease_error(t) ? lease_error(t) : -EIO;
	return 0;
}

static const char *dir_of(const char *path, char buf[CONF_PATH_MAX])
{
	char *slash;

	snprintf(buf, CONF_PATH_MAX, "%s", path);
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return ".";
	slash[slash == buf] = '\0'; /* "/leases": the directory is "/" */
	return buf;
}

/* The journal as herd serve would write it, owned as before: herd opens it
 * after dropping to [server] user, and this command runs as root. */
static int write_journal(const struct herd_config *cfg, const struct rows *rows, int64_t now,
			 size_t *applied)
{
	const char *path = cfg->dhcp.lease_file;
	struct stat st;
	/* The file's owner, or for a new file the directory's. */
	bool owner_known =
	    stat(path, &st) == 0 || stat(dir_of(path, (char[CONF_PATH_MAX]){0}), &st) == 0;
	int64_t seq, last = 0;
	int err = 0;
	struct lease_table *t;

	if (server_running(cfg)) {
		fprintf(stderr,
			"herd: a herd server answers on %s: stop it before importing into its "
			"journal %s\n",
			cfg->status.socket, path);
		return -1;
	}
	t = lease_table_open(&cfg->dhcp, path, now, &err);
	if (t == NULL) {
		fprintf(stderr, "herd: %s: %s\n", path, strerror(-err));
		return -1;
	}
	for (size_t i = 0; i < rows->n && err == 0; i++) {
		const struct lease_csv_row *r = &rows->v[i];
		struct lease *l = lease_at(t, r->ip);
		/* The same rule as the database's: the later lease wins. */
		if (l && (l->state == LEASE_BOUND || l->state == LEASE_DECLINED) &&
		    l->expires >= r->expires)
			continue;
		seq = lease_put(t, r->ip, r->mac, r->declined ? -r->expires : r->expires);
		if (seq < 0)
			err = (int)seq;
		else if (seq > 0)
			last = seq;
		(*applied)++;
	}
	if (err == 0)
		err = journal_sync(t, last);
	lease_table_close(t);
	if (err < 0) {
		fprintf(stderr, "herd: %s: %s\n", path, strerror(-err));
		return -1;
	}
	/* Imported all the same: only whoever reads it may now be refused. */
	if (owner_known && chown(path, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "herd: warning: %s: cannot give it back to uid %u: %s\n", path,
			(unsigned)st.st_uid, strerror(errno));
	return 0;
}

/* ---- Commands -------------------------------------------------------------- */

struct leases_opts {
	const char *config, *file; /* file: -o or -i; NULL = stdout, stdin */
	enum store store;
};

static int parse_store(const char *s, enum store *out)
{
	if (strcmp(s, "journal") == 0)
		*out = STORE_JOURNAL;
	else if (strcmp(s, "database") == 0)
		*out = STORE_DATABASE;
	else
		return -EINVAL;
	return 0;
}

/* Reads the configuration and settles the store; false if unusable. */
static bool load(struct herd_config *cfg, struct leases_opts *o)
{
	conf_defaults(cfg);
	if (conf_load(cfg, o->config, stderr) != 0)
		return false;
	if (o->store == STORE_DEFAULT)
		o->store = cfg->cluster.database[0] ? STORE_DATABASE : STORE_JOURNAL;
	if (o->store == STORE_DATABASE && cfg->cluster.database[0] == '\0') {
		fprintf(stderr, "herd: %s: no [cluster] database\n", o->config);
		return false;
	}
	if (o->store == STORE_JOURNAL && cfg->dhcp.lease_file[0] == '\0') {
		fprintf(stderr, "herd: %s: no [dhcp] lease_file\n", o->config);
		return false;
	}
	return true;
}

/* To stdout, or to path through a new file renamed over it once complete:
 * a failed export leaves no half file that an import would take whole. */
static int write_csv(const struct rows *rows, const char *path)
{
	char *tmp = NULL;
	FILE *out = stdout;
	char line[96];
	bool ok;

	if (path && (asprintf(&tmp, "%s.tmp", path) < 0 || (out = fopen(tmp, "we")) == NULL)) {
		fprintf(stderr, "herd: %s: %s\n", tmp ? tmp : path, strerror(errno));
		free(tmp);
		return -1;
	}
	fputs(LEASE_CSV_HEADER "\n", out);
	for (size_t i = 0; i < rows->n; i++) {
		lease_csv_format(line, sizeof(line), &rows->v[i]);
		fputs(line, out);
	}
	ok = fflush(out) == 0 && !ferror(out);
	if (path && fclose(out) != 0)
		ok = false;
	if (ok && path && rename(tmp, path) < 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "herd: %s: %s\n", path ? path : "stdout", strerror(errno));
		if (path)
			unlink(tmp);
	}
	free(tmp);
	return ok ? 0 : -1;
}

static int do_export(struct leases_opts *o)
{
	static struct herd_config cfg;
	struct rows rows = {0};
	char where[CONF_PATH_MAX + 600];
	int64_t now = time(NULL);
	int rc;

	if (!load(&cfg, o))
		return 1;
	if (o->store == STORE_JOURNAL) {
		rc = read_journal(&cfg, &rows, now);
		snprintf(where, sizeof(where), "the journal %s", cfg.dhcp.lease_file);
	} else {
		char db[512];
		rc = read_database(cfg.cluster.database, &rows, db, sizeof(db));
		snprintf(where, sizeof(where), "the database (%s)", db);
	}
	if (rc == 0 && rows.oom) {
		fprintf(stderr, "herd: %s\n", strerror(ENOMEM));
		rc = -1;
	}
	if (rc == 0)
		rc = write_csv(&rows, o->file);
	if (rc == 0)
		fprintf(stderr, "herd: exported %zu lease%s from %s\n", rows.n,
			rows.n == 1 ? "" : "s", where);
	rows_free(&rows);
	return rc == 0 ? 0 : 1;
}

static int by_ip(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct lease_csv_row *)a)->ip);
	uint32_t y = ntohl(((const struct lease_csv_row *)b)->ip);

	return x < y ? -1 : x > y;
}

/* Every line parsed; each bad one reported as IN:LINE: reason. The number
 * of bad lines, or -1 if the file cannot be read. */
static int read_csv(FILE *in, const char *name, struct rows *rows)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;
	int bad = 0;

	while (getline(&line, &cap, in) >= 0) {
		struct lease_csv_row r;
		const char *why;
		no++;
		if (no == 1) {
			if (!lease_csv_is_header(line)) {
				fprintf(stderr, "%s:1: expected the header %s\n", name,
					LEASE_CSV_HEADER);
				bad++;
			}
			continue;
		}
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (lease_csv_parse(line, &r, &why) < 0) {
			fprintf(stderr, "%s:%u: %s\n", name, no, why);
			bad++;
		} else if (rows_add(rows, &r, no) < 0) {
			fprintf(stderr, "herd: %s\n", strerror(ENOMEM));
			bad = -1;
			break;
		}
	}
	if (bad >= 0 && ferror(in)) {
		fprintf(stderr, "herd: %s: %s\n", name, strerror(errno));
		bad = -1;
	}
	if (bad >= 0 && no == 0) {
		fprintf(stderr, "%s:1: expected the header %s\n", name, LEASE_CSV_HEADER);
		bad++;
	}
	free(line);
	return bad;
}

/* Two rows of one address: which one is meant? Rows sorted by address;
 * the line arrays travel with them. */
static int find_duplicates(struct rows *rows, const char *name)
{
	struct {
		struct lease_csv_row r;
		unsigned line;
	} *v = malloc(rows->n * sizeof(*v) + 1);
	char a[INET_ADDRSTRLEN];
	int bad = 0;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < rows->n; i++) {
		v[i].r = rows->v[i];
		v[i].line = rows->line[i];
	}
	/* by_ip looks at the first member only: the row. */
	qsort(v, rows->n, sizeof(*v), by_ip);
	for (size_t i = 0; i < rows->n; i++) {
		rows->v[i] = v[i].r;
		rows->line[i] = v[i].line;
		if (i > 0 && v[i].r.ip == v[i - 1].r.ip) {
			fprintf(stderr, "%s:%u: %s again (line %u)\n", name, v[i].line,
				inet_ntop(AF_INET, &v[i].r.ip, a, sizeof(a)), v[i - 1].line);
			bad++;
		}
	}
	free(v);
	return bad;
}

static bool in_a_pool(const struct conf_dhcp *d, uint32_t ip_be)
{
	uint32_t ip = ntohl(ip_be);

	for (unsigned i = 0; i < d->nsubnets; i++)
		if (d->subnets[i].pool_start && ip >= d->subnets[i].pool_start &&
		    ip <= d->subnets[i].pool_end)
			return true;
	return false;
}

/* Drops expired rows and those outside every pool (each of the first few
 * reported); counts both. */
static void filter(struct rows *rows, const struct conf_dhcp *d, const char *name, int64_t now,
		   size_t *expired, size_t *outside)
{
	char a[INET_ADDRSTRLEN];
	size_t k = 0;

	for (size_t i = 0; i < rows->n; i++) {
		const struct lease_csv_row *r = &rows->v[i];
		if (r->expires <= now) {
			(*expired)++;
			continue;
		}
		if (!in_a_pool(d, r->ip)) {
			if ((*outside)++ < SHOW_SKIPPED)
				fprintf(stderr,
					"%s:%u: warning: %s is outside every [subnet] pool: "
					"skipped\n",
					name, rows->line[i],
					inet_ntop(AF_INET, &r->ip, a, sizeof(a)));
			continue;
		}
		rows->v[k] = *r;
		rows->line[k++] = rows->line[i];
	}
	rows->n = k;
}

static int do_import(struct leases_opts *o)
{
	static struct herd_config cfg;
	struct rows rows = {0};
	const char *name = o->file ? o->file : "stdin";
	FILE *in;
	char where[CONF_PATH_MAX + 600];
	size_t expired = 0, outside = 0, applied = 0;
	int64_t now = time(NULL);
	int bad, rc;

	if (!load(&cfg, o))
		return 1;
	in = o->file ? fopen(o->file, "re") : stdin;
	if (in == NULL) {
		fprintf(stderr, "herd: %s: %s\n", o->file, strerror(errno));
		return 1;
	}
	bad = read_csv(in, name, &rows);
	if (o->file)
		fclose(in);
	if (bad >= 0) {
		int dup = find_duplicates(&rows, name);
		bad = dup < 0 ? -1 : bad + dup;
	}
	if (bad != 0) {
		if (bad > 0)
			fprintf(stderr, "herd: %s: %d bad line%s: nothing imported\n", name, bad,
				bad == 1 ? "" : "s");
		rows_free(&rows);
		return 1;
	}
	filter(&rows, &cfg.dhcp, name, now, &expired, &outside);
	if (o->store == STORE_JOURNAL) {
		rc = write_journal(&cfg, &rows, now, &applied);
		snprintf(where, sizeof(where), "the journal %s", cfg.dhcp.lease_file);
	} else {
		char db[512];
		rc = write_database(cfg.cluster.database, &rows, db, sizeof(db), &applied);
		snprintf(where, sizeof(where), "the database (%s)", db);
	}
	if (rc == 0) {
		fprintf(stderr, "herd: imported %zu lease%s into %s", applied,
			applied == 1 ? "" : "s", where);
		if (rows.n > applied)
			fprintf(stderr, ", %zu unchanged: the %s holds the same or a later lease",
				rows.n - applied, store_name(o->store));
		if (outside)
			fprintf(stderr, ", %zu skipped: outside the pools", outside);
		if (expired)
			fprintf(stderr, ", %zu skipped: expired", expired);
		fputc('\n', stderr);
	}
	rows_free(&rows);
	return rc == 0 ? 0 : 1;
}

int cmd_leases(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"output", required_argument, NULL, 'o'},
	    {"input", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char usage[] =
	    "usage: herd leases export -c FILE [--from journal|database] [-o OUT]\n"
	    "       herd leases import -c FILE [--to journal|database] [-i IN]\n"
	    "The live pool leases as CSV (ip,mac,expires,state); the store defaults to\n"
	    "[cluster] database when it is set, else the journal ([dhcp] lease_file).\n";
	struct leases_opts o = {.store = STORE_DEFAULT};
	bool export;
	int opt;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "export") != 0 && strcmp(argv[1], "import") != 0) {
		fprintf(stderr, "herd leases: unknown command '%s'\n%s", argv[1], usage);
		return 2;
	}
	export = strcmp(argv[1], "export") == 0;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "c:o:i:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o.config = optarg;
			break;
		case 'f':
		case 't':
			if ((opt == 'f') != export || parse_store(optarg, &o.store) < 0) {
				fputs(usage, stderr);
				return 2;
			}
			break;
		case 'o':
		case 'i':
			if ((opt == 'o') != export) {
				fputs(usage, stderr);
				return 2;
			}
			o.file = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (o.config == NULL || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	return export ? do_export(&o) : do_import(&o);
}
