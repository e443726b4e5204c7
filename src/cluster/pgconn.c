#include "cluster/pgconn.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/log.h"

#define CONNECT_TIMEOUT MONO_SEC(5)
#define BACKOFF_MIN MONO_MS(250)
#define BACKOFF_MAX MONO_SEC(2)

/* A statement or a sync sent and not yet answered, in the order sent. */
struct pending {
	bool sync;
	bool answered; /* a statement: its result was delivered */
	pgconn_fn cb;
	void *arg;
	struct pending *next;
};

enum pg_state { PG_WAITING, PG_CONNECTING, PG_READY };

struct pgconn {
	struct loop_io io; /* first: the loop hands it back */
	struct timer timer; /* connect timeout, or the next attempt */
	struct loop *loop;
	PGconn *conn;
	bool watched;
	uint32_t events;
	enum pg_state state;
	mono_t backoff;
	struct pgconn_ops ops;
	char *conninfo;
	char app_name[96];
	struct pending *head, **tail;
	unsigned npending;
};

static struct pgconn *of_timer(struct timer *t)
{
	return (struct pgconn *)((char *)t - offsetof(struct pgconn, timer));
}

static void on_io(struct loop_io *io, uint32_t events, mono_t now);
static void start(struct pgconn *c, mono_t now);

const char *pgconn_one_line(const char *msg, char *buf, size_t size)
{
	char *w = buf;

	snprintf(buf, size, "%s", msg && msg[0] ? msg : "no error text");
	/* libpq's lines joined into one, runs of blanks made one space. */
	for (const char *r = buf; *r; r++) {
		bool blank = *r == '\n' || *r == '\t' || *r == ' ';
		if (!blank)
			*w++ = *r;
		else if (w > buf && w[-1] != ' ')
			*w++ = ' ';
	}
	while (w > buf && w[-1] == ' ')
		w--;
	*w = '\0';
	return buf;
}

const char *pgconn_error(const PGresult *res, char *buf, size_t size)
{
	return pgconn_one_line(res ? PQresultErrorMessage(res) : NULL, buf, size);
}

/* libpq's own text of a connection's last error, one line. */
static const char *conn_error(PGconn *conn, char *buf, size_t size)
{
	return pgconn_one_line(conn ? PQerrorMessage(conn) : "out of memory", buf, size);
}

static void watch(struct pgconn *c, uint32_t events)
{
	int fd = c->conn ? PQsocket(c->conn) : -1;

	/* libpq may change its socket while connecting (another address). */
	if (c->watched && (fd != c->io.fd || fd < 0)) {
		loop_io_del(c->loop, &c->io);
		c->watched = false;
	}
	if (fd < 0)
		return;
	if (!c->watched) {
		c->io.fd = fd;
		if (loop_io_add(c->loop, &c->io, events) == 0) {
			c->watched = true;
			c->events = events;
		}
	} else if (events != c->events && loop_io_mod(c->loop, &c->io, events) == 0) {
		c->events = events;
	}
}

/* Answers everything sent with NULL: it never ran, or nobody will know. */
static void fail_pending(struct pgconn *c)
{
	while (c->head) {
		struct pending *p = c->head;
		c->head = p->next;
		c->npending--;
		if (p->cb && !p->answered)
			p->cb(c->ops.ctx, p->arg, NULL);
		free(p);
	}
	c->tail = &c->head;
}

/* Drops the connection, tells the owner, and tries again later. */
static void lost(struct pgconn *c, const char *why, mono_t now)
{
	bool was_ready = c->state == PG_READY;

	if (c->watched)
		loop_io_del(c->loop, &c->io);
	c->watched = false;
	PQfinish(c->conn);
	c->conn = NULL;
	c->state = PG_WAITING;
	fail_pending(c);
	if (c->ops.down)
		c->ops.down(c->ops.ctx, why);
	if (was_ready)
		c->backoff = BACKOFF_MIN;
	loop_timer_set(c->loop, &c->timer, now + c->backoff);
	c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
}

static void lost_conn(struct pgconn *c, mono_t now)
{
	char why[256];

	lost(c, conn_error(c->conn, why, sizeof(why)), now);
}

static void on_timer(struct timer *t, mono_t now)
{
	struct pgconn *c = of_timer(t);

	if (c->state == PG_CONNECTING)
		lost(c, "no connection within 5 s", now);
	else if (c->state == PG_WAITING)
		start(c, now);
}

/* Sends what libpq buffered; watches for writability while some is left. */
static void flush(struct pgconn *c, mono_t now)
{
	int r = PQflush(c->conn);

	if (r < 0) {
		lost_conn(c, now);
		return;
	}
	watch(c, EPOLLIN | (r > 0 ? EPOLLOUT : 0));
}

static void became_ready(struct pgconn *c, mono_t now)
{
	loop_timer_cancel(c->loop, &c->timer);
	if (PQsetnonblocking(c->conn, 1) != 0 || PQenterPipelineMode(c->conn) != 1) {
		lost_conn(c, now);
		return;
	}
	c->state = PG_READY;
	c->backoff = BACKOFF_MIN;
	watch(c, EPOLLIN);
	if (c->ops.up)
		c->ops.up(c->ops.ctx);
}

static void poll_connect(struct pgconn *c, mono_t now)
{
	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_READING:
		watch(c, EPOLLIN);
		break;
	case PGRES_POLLING_WRITING:
		watch(c, EPOLLOUT);
		break;
	case PGRES_POLLING_OK:
		became_ready(c, now);
		break;
	default:
		lost_conn(c, now);
		break;
	}
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

void pgconn_no_notices(PGconn *conn)
{
	PQsetNoticeProcessor(conn, quiet, NULL);
}

static void start(struct pgconn *c, mono_t now)
{
	/* Ours first: the user's string (expanded from dbname) overrides
	 * them. A peer that vanishes without a word (a cut cable) is noticed
	 * in ~10 s instead of the kernel's 15 minutes. */
	const char *keys[] = {"application_name", "tcp_user_timeout", "keepalives_idle",
			      "keepalives_interval", "keepalives_count", "dbname", NULL};
	const char *vals[] = {c->app_name, "10000", "5", "2", "3", c->conninfo, NULL};

	c->conn = PQconnectStartParams(keys, vals, 1);
	if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD) {
		lost_conn(c, now);
		return;
	}
	pgconn_no_notices(c->conn);
	c->state = PG_CONNECTING;
	loop_timer_set(c->loop, &c->timer, now + CONNECT_TIMEOUT);
	poll_connect(c, now);
}

/* Hands each complete result to its statement, in order. */
static void read_results(struct pgconn *c, mono_t now)
{
	while (c->head && !PQisBusy(c->conn)) {
		struct pending *p = c->head;
		PGresult *res = PQgetResult(c->conn);
		bool done;

		if (p->sync) {
			/* A sync's result is one PGRES_PIPELINE_SYNC, no NULL after it. */
			if (res == NULL)
				continue;
			done = true;
		} else if (res == NULL) {
			done = true; /* the end of this statement's results */
		} else {
			done = false;
		}
		if (res && !p->answered) {
			p->answered = true;
			if (p->cb)
				p->cb(c->ops.ctx, p->arg, res);
		}
		PQclear(res);
		if (done) {
			c->head = p->next;
			if (c->head == NULL)
				c->tail = &c->head;
			c->npending--;
			free(p);
		}
		if (c->state != PG_READY)
			return; /* a callback gave up on the connection */
	}
	if (PQstatus(c->conn) == CONNECTION_BAD)
		lost_conn(c, now);
}

static void on_io(struct loop_io *io, uint32_t events, mono_t now)
{
	struct pgconn *c = (struct pgconn *)io;

	if (c->state == PG_CONNECTING) {
		poll_connect(c, now);
		return;
	}
	if (c->state != PG_READY)
		return;
	if (events & EPOLLOUT) {
		flush(c, now);
		if (c->state != PG_READY)
			return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (PQconsumeInput(c->conn) != 1) {
			lost_conn(c, now);
			return;
		}
		read_results(c, now);
	}
}

static int enqueue(struct pgconn *c, bool sync, pgconn_fn cb, void *arg)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->sync = sync;
	p->cb = cb;
	p->arg = arg;
	*c->tail = p;
	c->tail = &p->next;
	c->npending++;
	return 0;
}

int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
		 pgconn_fn cb, void *arg)
{
	if (c->state != PG_READY)
		return -ENOTCONN;
	if (PQsendQueryParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0) != 1)
		return -EIO;
	return enqueue(c, false, cb, arg);
}

int pgconn_sync(struct pgconn *c, pgconn_fn cb, void *arg)
{
	if (c->state != PG_READY)
		return -ENOTCONN;
	if (PQpipelineSync(c->conn) != 1)
		return -EIO;
	/* Sent from on_io() once the socket is writable (the next loop
	 * iteration): a callback is never called from inside this one. */
	watch(c, EPOLLIN | EPOLLOUT);
	return enqueue(c, true, cb, arg);
}

bool pgconn_ready(const struct pgconn *c)
{
	return c->state == PG_READY;
}

unsigned pgconn_pending(const struct pgconn *c)
{
	return c->npending;
}

struct pgconn *pgconn_new(struct loop *loop, const char *conninfo, const char *name,
			  const struct pgconn_ops *ops)
{
	struct pgconn *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->conninfo = strdup(conninfo)) == NULL) {
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->ops = *ops;
	c->io.fd = -1;
	c->io.fn = on_io;
	c->tail = &c->head;
	c->backoff = BACKOFF_MIN;
	snprintf(c->app_name, sizeof(c->app_name), "herd %s", name);
	timer_init(&c->timer, on_timer);
	start(c, loop_now(loop));
	return c;
}

void pgconn_free(struct pgconn *c)
{
	if (c == NULL)
		return;
	loop_timer_cancel(c->loop, &c->timer);
	if (c->watched)
		loop_io_del(c->loop, &c->io);
	c->ops.down = NULL;
	c->state = PG_WAITING; /* the callbacks below may not queue more */
	fail_pending(c);
	PQfinish(c->conn);
	free(c->conninfo);
	free(c);
}
