/* libmicrohttpd in herd's loop: MHD_USE_EPOLL without a thread, its epoll
 * handle watched by the loop, MHD_run() when it is readable or its timeout
 * is due. MHD parses requests, keeps connections alive and sends; herd
 * decides what each request gets (http_req) from the files room. */
#include "http/http_io.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timerq.h"
#include "http/http_req.h"
#include "tftp/tftp_server.h"

/* One per open connection: the deadline for its next request's headers
 * (a client that trickles them, slowloris, is cut at request_timeout_ms
 * however often it sends a byte; MHD's own timeout only sees silence). */
struct http_conn {
	struct timer timer; /* first: the timer callback finds the connection */
	struct http_io *io;
	struct http_conn *prev, *next; /* in the waiting list, oldest first */
	int fd;
	bool waiting;	/* for a request's headers (timer armed, in the list) */
	bool in_flight; /* in the flight list: bytes not yet acknowledged */
	struct http_conn *fprev, *fnext;
	uint64_t acked; /* the kernel's count of bytes the client acknowledged */
};

/* Past max_connections a new connection takes the slot of the one that
 * has waited longest for its request's headers (idle or trickling: a
 * slowloris holds no slot a real client needs). MHD itself stops
 * accepting this many beyond max_connections, while the cut ones close. */
#define HTTP_CONN_SLACK 64

/* One response with a body (GET, 200 or 206). With the pacer, its bytes
 * go out in turns the pacer grants (docs/SCHEDULER.md): the request waits,
 * its connection suspended, for a first turn (the headers and a chunk),
 * and each time MHD has sent what was granted, for the next. */
struct http_xfer {
	struct sched_item item; /* first: the pacer's callbacks find the xfer */
	struct http_io *io;
	struct MHD_Connection *c;
	struct http_conn *conn;
	struct http_xfer *prev, *next; /* every live response */
	const struct file_view *view;
	uint64_t first, len; /* the body: bytes [first, first + len) of the file */
	uint64_t given;	     /* body bytes handed to MHD */
	uint64_t credit;     /* granted, not yet handed */
	mono_t due_from;     /* the request, then the last turn: + deadline */
	unsigned status;
	bool queued;	/* its response is queued with MHD */
	bool suspended; /* its connection waits for a turn */
	bool flow;	/* counted as a flow of the pacer */
	const char *content_type;
	char content_range[80];
	struct ipaddr client;
	uint8_t node_kind; /* what the file is to the node state (node_events): 0 nothing */
};

/* MHD's buffer for a response's body, per response. */
#define HTTP_COPY_BUF (16 * 1024)

/* A marker for a request whose headers are in but not yet its body. */
static char request_seen;

struct http_io {
	struct conf_http cfg;
	int listen_fd;
	struct MHD_Daemon *mhd;
	struct loop *loop;
	struct loop_io io;     /* MHD's epoll handle */
	struct timer timer;    /* the earliest of MHD's timeout and timerq */
	struct loop_post post; /* re-arms timer */
	struct timerq timerq;  /* request deadlines, one per connection */
	mono_t next_expire;    /* unmap files unused for file_cache_ms */
	struct http_conn *waiting_head, *waiting_tail;
	struct files *files;
	struct tftp_server *pacer; /* NULL: responses are not paced */
	size_t chunk;		   /* body bytes per turn */
	struct http_xfer *xfers;   /* every live response */
	struct ratelimit rl;
	uint64_t connections, connections_total, request_timeouts, evicted, refused;
	uint64_t requests, ok, partial, errors_4xx, errors_5xx;
	uint64_t bytes_queued, bytes_given, turns;
	unsigned paced_waiting; /* responses waiting for a turn */
	bool run_pending;	/* MHD must run: a connection was resumed */
	struct http_conn *flight; /* connections with bytes not yet acknowledged */
	struct node_events ev;	  /* the node state's: callbacks may be NULL */
	mono_t poll_at;		  /* next look at them */
};


static mono_t io_now(const struct http_io *io)
{
	return io->loop ? loop_now(io->loop) : 0;
}

static void sockaddr_to_ipaddr(const struct sockaddr *sa, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET)
		*out = ipaddr_v4(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
	else if (sa->sa_family == AF_INET6)
		memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

int http_io_open(struct http_io **out, const struct conf_http *cfg)
{
	const struct netaddr *a = &cfg->listen.addrs[0];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(a->port)};
	char buf[NETADDR_STRLEN];
	struct http_io *io;
	int one = 1, err;

	if (!ipaddr_is_v4(&a->ip)) {
		log_err("HTTP listen %s: IPv6 is not served yet", netaddr_str(a, buf));
		return -EAFNOSUPPORT;
	}
	io = calloc(1, sizeof(*io));
	if (io == NULL)
		return -ENOMEM;
	io->cfg = *cfg;
	io->io.fd = -1;
	sin.sin_addr.s_addr = ipaddr_to_v4(&a->ip);
	io->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (io->listen_fd < 0 ||
	    setsockopt(io->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(io->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(io->listen_fd, 4096) < 0) {
		err = -errno;
		log_err("HTTP listen %s: %s", netaddr_str(a, buf), strerror(-err));
		if (io->listen_fd >= 0)
			close(io->listen_fd);
		free(io);
		return err;
	}
	*out = io;
	return 0;
}

/* --- responses -------------------------------------------------------- */

static enum MHD_Result reply_status(struct http_io *io, struct MHD_Connection *c, unsigned status,
				    const char *extra_name, const char *extra_value)
{
	char body[64];
	struct MHD_Response *r;
	enum MHD_Result ret;
	int n;

	if (status >= 500)
		io->errors_5xx++;
	else
		io->errors_4xx++;
	n = snprintf(body, sizeof(body), "%u\n", status);
	r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	if (extra_name)
		MHD_add_response_header(r, extra_name, extra_value);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Addresses as files_open() wants them: who asked, and herd's address
 * as that client sees it (generated scripts name it). */
static int conn_addresses(struct MHD_Connection *c, struct ipaddr *server, struct ipaddr *client)
{
	const union MHD_ConnectionInfo *ci;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return -EINVAL;
	sockaddr_to_ipaddr(ci->client_addr, client);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &len) < 0)
		return -EINVAL;
	sockaddr_to_ipaddr((const struct sockaddr *)&ss, server);
	return 0;
}

static struct http_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* --- paced responses --------------------------------------------------- */

static uint64_t xfer_left(const struct http_xfer *x)
{
	return x->len - x->given - x->credit;
}

/* The wire cost of the next turn: the headers (the first time) and up to
 * a chunk of the body. */
static size_t xfer_cost(struct sched_item *it)
{
	struct http_xfer *x = (struct http_xfer *)it;
	uint64_t left = xfer_left(x);
	size_t n = left < x->io->chunk ? (size_t)left : x->io->chunk;

	return sched_tcp_cost(n + (x->queued ? 0 : 256));
}

/* The learned rate needs what clients acknowledged, as it happens: every
 * round (HTTP_POLL) herd reads the kernel's count for each connection with
 * bytes in flight, and reports the sum and the round's smallest round trip. */
#define HTTP_POLL MONO_MS(2)

static void flight_add(struct http_io *io, struct http_conn *conn)
{
	if (conn->in_flight)
		return;
	conn->in_flight = true;
	conn->fprev = NULL, conn->fnext = io->flight;
	if (io->flight)
		io->flight->fprev = conn;
	io->flight = conn;
}

static void flight_del(struct http_io *io, struct http_conn *conn)
{
	if (!conn->in_flight)
		return;
	conn->in_flight = false;
	if (conn->fprev)
		conn->fprev->fnext = conn->fnext;
	else
		io->flight = conn->fnext;
	if (conn->fnext)
		conn->fnext->fprev = conn->fprev;
}

static void flight_poll(struct http_io *io, mono_t now)
{
	uint64_t sum = 0;
	mono_t rtt = 0;
	struct http_conn *next;

	for (struct http_conn *conn = io->flight; conn; conn = next) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		next = conn->fnext;
		if (getsockopt(conn->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
		    len < offsetof(struct tcp_info, tcpi_notsent_bytes) + sizeof(ti.tcpi_notsent_bytes)) {
			/* Without it the learned rate hears nothing from HTTP. */
			log_limited(&io->rl, now, LOG_LVL_WARN,
				    "http: TCP_INFO: %s: the learned rate cannot follow HTTP",
				    strerror(errno));
			flight_del(io, conn);
			continue;
		}
		if (ti.tcpi_bytes_acked > conn->acked) {
			sum += ti.tcpi_bytes_acked - conn->acked;
			conn->acked = ti.tcpi_bytes_acked;
			if (ti.tcpi_rtt && (rtt == 0 || MONO_US(ti.tcpi_rtt) < rtt))
				rtt = MONO_US(ti.tcpi_rtt);
		}
		if (ti.tcpi_unacked == 0 && ti.tcpi_notsent_bytes == 0)
			flight_del(io, conn);
	}
	if (io->pacer && (sum || rtt))
		tftp_server_delivered(io->pacer, sum ? sched_tcp_cost((size_t)sum) : 0, rtt, now);
	io->poll_at = io->flight ? now + HTTP_POLL : MONO_NEVER;
}

/* The pacer's turn: a chunk of credit, and the connection goes on. */
static void xfer_serve(struct sched_item *it, mono_t now)
{
	struct http_xfer *x = (struct http_xfer *)it;
	struct http_io *io = x->io;
	uint64_t left = xfer_left(x);

	tftp_server_unpace(io->pacer, it);
	x->credit += left < io->chunk ? left : io->chunk;
	x->due_from = now;
	io->turns++;
	if (x->suspended) {
		x->suspended = false;
		io->paced_waiting--;
		MHD_resume_connection(x->c);
		/* MHD takes up a resumed connection in its next run; nothing
		 * else may come to make it run (its epoll handle need not wake). */
		if (!io->run_pending) {
			io->run_pending = true;
			loop_timer_set(io->loop, &io->timer, now);
		}
	}
}

static const struct sched_ops xfer_ops = {xfer_cost, xfer_serve};

/* Waits for the next turn, ordered by when the client should have its
 * next bytes (deadline_ms after the request, or after the last turn). */
static void xfer_wait(struct http_xfer *x)
{
	struct http_io *io = x->io;
	mono_t now = io_now(io);

	tftp_server_pace(io->pacer, &x->item, x->due_from + MONO_MS(io->cfg.deadline_ms), now);
	if (!x->suspended) {
		x->suspended = true;
		io->paced_waiting++;
		MHD_suspend_connection(x->c);
	}
}

/* MHD asks for body bytes at offset `pos`: what the pacer granted. */
static ssize_t xfer_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_xfer *x = cls;
	uint64_t n = x->credit;

	if (n == 0) {
		xfer_wait(x);
		return 0;
	}
	if (n > max)
		n = max;
	if (n > x->len - pos)
		n = x->len - pos;
	memcpy(buf, x->view->data + x->first + pos, (size_t)n);
	if (x->conn && x->io->pacer) {
		flight_add(x->io, x->conn);
		if (x->io->poll_at == MONO_NEVER)
			x->io->poll_at = io_now(x->io) + HTTP_POLL;
	}
	x->credit -= n;
	x->given += n;
	x->io->bytes_given += n;
	return (ssize_t)n;
}

static void xfer_free(struct http_xfer *x)
{
	struct http_io *io = x->io;

	if (io->pacer) {
		tftp_server_unpace(io->pacer, &x->item);
		if (x->flow)
			tftp_server_flow(io->pacer, false, io_now(io));
	}
	if (x->suspended)
		io->paced_waiting--;
	if (x->prev)
		x->prev->next = x->next;
	else
		io->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	files_put(io->files, x->view, io_now(io));
	free(x);
}

/* The response for a file (or a range of it): its headers now, its body
 * as MHD asks for it (xfer_read). */
static enum MHD_Result xfer_queue(struct http_xfer *x)
{
	struct http_io *io = x->io;
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* MHD's copy buffer: at most a turn's chunk is given at once. */
	r = MHD_create_response_from_callback(x->len, HTTP_COPY_BUF, xfer_read, x, NULL);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, x->content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (x->status == MHD_HTTP_PARTIAL_CONTENT)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, x->content_range);
	ret = MHD_queue_response(x->c, x->status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES) {
		x->queued = true;
		if (x->status == MHD_HTTP_OK)
			io->ok++;
		else
			io->partial++;
		io->bytes_queued += x->len;
	}
	return ret;
}

/* A GET or HEAD of an open file: the range, then the response, at once
 * when unpaced (or nothing to pace), else at the first turn. */
static enum MHD_Result reply_file(struct http_io *io, struct MHD_Connection *c, const char *url,
				  const struct ipaddr *client, bool head,
				  const struct file_view *view, void **req_cls)
{
	const char *range_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
	struct http_range range = http_range_parse(range_hdr, view->size);
	struct http_xfer *x;
	char cr[80];

	/* herd sends no validators (ETag, Last-Modified), so no If-Range can
	 * match: the whole file (RFC 9110 13.1.5). */
	if (range.kind != HTTP_RANGE_NONE &&
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range") != NULL)
		range.kind = HTTP_RANGE_NONE;
	if (range.kind == HTTP_RANGE_UNSATISFIABLE) {
		files_put(io->files, view, io_now(io));
		snprintf(cr, sizeof(cr), "bytes */%zu", view->size);
		return reply_status(io, c, MHD_HTTP_RANGE_NOT_SATISFIABLE,
				    MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		files_put(io->files, view, io_now(io));
		return reply_status(io, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL);
	}
	x->io = io, x->c = c, x->conn = conn_of(c), x->view = view;
	x->content_type = http_content_type(url);
	x->status = MHD_HTTP_OK;
	x->len = view->size;
	if (range.kind == HTTP_RANGE_PARTIAL) {
		x->first = range.first, x->len = range.len;
		x->status = MHD_HTTP_PARTIAL_CONTENT;
		snprintf(x->content_range, sizeof(x->content_range), "bytes %llu-%llu/%zu",
			 (unsigned long long)x->first, (unsigned long long)(x->first + x->len - 1),
			 view->size);
	}
	x->due_from = io_now(io);
	x->client = *client;
	if (!head && io->ev.xfer_start)
		x->node_kind =
		    io->ev.xfer_start(io->ev.ctx, NODE_HTTP, client, url, view->size, io_now(io));
	sched_item_init(&x->item);
	x->item.ops = &xfer_ops;
	x->next = io->xfers;
	if (io->xfers)
		io->xfers->prev = x;
	io->xfers = x;
	*req_cls = x;
	/* HEAD sends no body; unpaced, the body goes as fast as TCP allows. */
	if (head || io->pacer == NULL || x->len == 0) {
		x->credit = x->len;
		return xfer_queue(x);
	}
	x->flow = true;
	tftp_server_flow(io->pacer, true, io_now(io));
	xfer_wait(x);
	return MHD_YES;
}

/* A connection waits for a request's headers from when it opens, and
 * again from the end of each response, until request_timeout_ms. */
static void wait_start(struct http_io *io, struct http_conn *conn)
{
	timerq_set(&io->timerq, &conn->timer, io_now(io) + MONO_MS(io->cfg.request_timeout_ms));
	conn->waiting = true;
	conn->prev = io->waiting_tail, conn->next = NULL;
	if (io->waiting_tail)
		io->waiting_tail->next = conn;
	else
		io->waiting_head = conn;
	io->waiting_tail = conn;
}

static void wait_end(struct http_io *io, struct http_conn *conn)
{
	/* The timer is no longer armed when it is the one that fired. */
	if (!conn->waiting)
		return;
	conn->waiting = false;
	timerq_cancel(&io->timerq, &conn->timer);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		io->waiting_head = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	else
		io->waiting_tail = conn->prev;
	conn->prev = conn->next = NULL;
}

/* MHD sees the end of the stream at its next turn and closes the
 * connection (and tells on_connection). */
static void cut(struct http_io *io, struct http_conn *conn)
{
	wait_end(io, conn);
	shutdown(conn->fd, SHUT_RDWR);
}

/* On the first call: a method other than GET or HEAD, or a body (GET and
 * HEAD carry none; herd reads none) is answered at once. */
static enum MHD_Result refuse(struct http_io *io, struct MHD_Connection *c, const char *method)
{
	const char *cl;

	if (http_method_of(method) == HTTP_OTHER)
		return reply_status(io, c, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW,
				    "GET, HEAD");
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if ((cl && strcmp(cl, "0") != 0) ||
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return reply_status(io, c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, NULL);
	return MHD_YES;
}

struct query_build {
	char *buf;
	size_t size, len;
	int err;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct query_build *q = cls;

	(void)kind;
	if (http_query_add(q->buf, q->size, &q->len, key, value) < 0)
		q->err = -ENAMETOOLONG;
	return q->err ? MHD_NO : MHD_YES;
}

/* A generated file (under herd/) that is asked with a query gets it, as
 * `name?query` (the iPXE report, boot/policy.h); other files never see
 * one. 0, 1 (nothing to add), -ENAMETOOLONG. */
static int with_query(struct MHD_Connection *c, const char *url, char *out, size_t size)
{
	struct query_build q = {out, size, 0, 0};
	int n = snprintf(out, size, "%s?", url);

	if (strncmp(url, "/herd/", 6) != 0 ||
	    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0)
		return 1;
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	q.buf = out + n, q.size = size - (size_t)n;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	return q.err;
}

/* Called once the request line and headers are in, then again when the
 * (empty) body is: a response queued on the first call would close the
 * connection (MHD cannot know the client sent no body), so refusals go
 * then and files on the second call. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http_io *io = cls;
	struct http_conn *conn = conn_of(c);
	const struct file_view *view;
	struct ipaddr server, client;
	char target[FILES_NAME_MAX + 1];
	char addr[IPADDR_STRLEN];
	int err;

	(void)version, (void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = &request_seen;
		io->requests++;
		if (conn)
			wait_end(io, conn);
		return refuse(io, c, method);
	}
	if (*req_cls != &request_seen) /* resumed: its first turn */
		return xfer_queue(*req_cls);
	if (*upload_data_size != 0)
		return MHD_NO; /* a body after all (refused above): drop the connection */
	if (conn_addresses(c, &server, &client) < 0)
		return reply_status(io, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL);
	/* The path comes percent-decoded (http_unescape), without the query:
	 * `%2e%2e` arrives as `..` and is refused like the literal one. */
	const char *name = url;
	err = with_query(c, url, target, sizeof(target));
	if (err == 0)
		name = target;
	err = err < 0 ? err : files_open(io->files, name, strlen(name), false, &server, &client, &view);
	if (err < 0)
		return reply_status(io, c, http_status_of_error(err), NULL, NULL);
	/* A file that exists beneath the root: its name is safe to log. */
	log_debug("http: %s: %s '%s' (%zu bytes)", ipaddr_str(&client, addr), method, url,
		  view->size);
	/* The Content-Type goes by the path (the report answers a script). */
	return reply_file(io, c, url, &client, http_method_of(method) == HTTP_HEAD, view, req_cls);
}

/* A response is done (or the connection went): the next request's
 * headers have request_timeout_ms from now. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_io *io = cls;
	struct http_conn *conn = conn_of(c);

	if (*req_cls != NULL && *req_cls != &request_seen) {
		struct http_xfer *x = *req_cls;
		/* The whole body went out, or the client (or a deadline) ended it. */
		if (x->node_kind) {
			bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && x->given == x->len;
			io->ev.xfer(io->ev.ctx, done ? NODE_XFER_DONE : NODE_XFER_ABANDON,
				    x->node_kind, &x->client, x->given, io_now(io));
		}
		xfer_free(x);
	}
	*req_cls = NULL;
	if (conn && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !conn->waiting)
		wait_start(io, conn);
}

static void on_request_timeout(struct timer *t, mono_t now)
{
	struct http_conn *conn = (struct http_conn *)t;

	(void)now;
	conn->io->request_timeouts++;
	cut(conn->io, conn);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_io *io = cls;
	struct http_conn *conn = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (conn) {
			wait_end(io, conn);
			flight_del(io, conn);
			free(conn);
			*socket_context = NULL;
		}
		io->connections--;
		return;
	}
	io->connections++;
	io->connections_total++;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	conn = malloc(sizeof(*conn));
	if (conn == NULL || ci == NULL) {
		free(conn);
		return; /* served without a header deadline; MHD's idle one holds */
	}
	*conn = (struct http_conn){.io = io, .fd = ci->connect_fd};
	timer_init(&conn->timer, on_request_timeout);
	*socket_context = conn;
	if (io->connections > io->cfg.max_connections) {
		if (io->waiting_head == NULL) {
			/* Every slot is sending: the newcomer goes. */
			io->refused++;
			shutdown(conn->fd, SHUT_RDWR);
			return;
		}
		io->evicted++;
		cut(io, io->waiting_head);
	}
	wait_start(io, conn);
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls, (void)c;
	return http_unescape(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_io *io = cls;
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_limited(&io->rl, io_now(io), LOG_LVL_WARN, "http: %s", line);
}

/* --- the loop --------------------------------------------------------- */

static void on_ready(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct http_io *io = (struct http_io *)((char *)lio - offsetof(struct http_io, io));

	(void)events, (void)now;
	MHD_run(io->mhd);
}

static void on_timer(struct timer *t, mono_t now)
{
	struct http_io *io = (struct http_io *)((char *)t - offsetof(struct http_io, timer));

	io->run_pending = false;
	timerq_run(&io->timerq, now);
	MHD_run(io->mhd);
	if (now >= io->poll_at)
		flight_poll(io, now);
	/* The files HTTP opened expire even when TFTP is idle or off. */
	if (now >= io->next_expire) {
		files_expire(io->files, now);
		io->next_expire = MONO_NEVER;
	}
}

static void rearm(struct loop_post *p, mono_t now)
{
	struct http_io *io = (struct http_io *)((char *)p - offsetof(struct http_io, post));
	MHD_UNSIGNED_LONG_LONG ms;
	mono_t next = io->run_pending ? now : timerq_next(&io->timerq);

	if (io->poll_at < next)
		next = io->poll_at;

	if (io->next_expire == MONO_NEVER && files_count(io->files) > 0)
		io->next_expire = now + MONO_SEC(1);
	if (io->next_expire < next)
		next = io->next_expire;

	if (MHD_get_timeout(io->mhd, &ms) == MHD_YES) {
		mono_t at = ms > (MHD_UNSIGNED_LONG_LONG)INT32_MAX
				? now + MONO_SEC(INT32_MAX / 1000)
				: now + MONO_MS((int64_t)ms);
		if (at < next)
			next = at;
	}
	if (next == MONO_NEVER)
		loop_timer_cancel(io->loop, &io->timer);
	else if (!timer_armed(&io->timer) || io->timer.when != next)
		loop_timer_set(io->loop, &io->timer, next);
}

int http_io_start(struct http_io *io, struct loop *loop, struct files *files)
{
	const union MHD_DaemonInfo *di;
	/* MHD's idle timeout counts whole seconds. */
	unsigned idle_s = (io->cfg.idle_timeout_ms + 999) / 1000;
	int err;

	io->loop = loop;
	io->files = files;
	io->rl = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	io->next_expire = MONO_NEVER;
	io->poll_at = MONO_NEVER;
	timerq_init(&io->timerq);
	if (timerq_reserve(&io->timerq, io->cfg.max_connections + HTTP_CONN_SLACK) < 0)
		return -ENOMEM;
	/* The logger first: MHD logs while it reads the options after it. */
	io->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, io,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, io, MHD_OPTION_LISTEN_SOCKET, io->listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, io->cfg.max_connections + HTTP_CONN_SLACK,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, io->cfg.source_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)io->cfg.header_max, MHD_OPTION_NOTIFY_COMPLETED, on_completed, io,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, io, MHD_OPTION_UNESCAPE_CALLBACK,
	    on_unescape, io, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
	if (io->mhd == NULL) {
		log_err("HTTP: cannot start the server (libmicrohttpd)");
		return -EINVAL;
	}
	io->listen_fd = -1; /* MHD's now: it closes it */
	di = MHD_get_daemon_info(io->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL)
		return -EINVAL;
	io->io.fd = di->epoll_fd;
	io->io.fn = on_ready;
	err = loop_io_add(loop, &io->io, EPOLLIN);
	if (err < 0)
		return err;
	timer_init(&io->timer, on_timer);
	io->post.fn = rearm;
	loop_post_add(loop, &io->post);
	return 0;
}

int http_io_set_pacer(struct http_io *io, struct tftp_server *pacer, size_t burst)
{
	/* Half the bucket: the pacer wakes when half of it has refilled, and
	 * the other half absorbs a late wake-up (a turn the size of the whole
	 * bucket would find it capped, and the link idle, after every delay). */
	size_t segs = burst / 2 / (SCHED_TCP_MSS + SCHED_TCP_OVERHEAD);
	int err = tftp_server_pace_reserve(pacer, io->cfg.max_connections + HTTP_CONN_SLACK);

	if (err < 0)
		return err;
	/* A turn fits TCP's initial window (10 segments), so the kernel sends
	 * it at once, after idle too: the pacer, not the ACK clock, sets when
	 * bytes leave. */
	segs = segs < 1 ? 1 : segs > 10 ? 10 : segs;
	io->chunk = segs * SCHED_TCP_MSS - 256;
	io->pacer = pacer;
	return 0;
}

void http_io_set_events(struct http_io *io, const struct node_events *ev)
{
	io->ev = *ev;
}

/* Walked at a scrape, not kept on the response path. */
static uint64_t live_responses(const struct http_io *io)
{
	uint64_t n = 0;

	for (const struct http_xfer *x = io->xfers; x; x = x->next)
		n++;
	return n;
}

void http_io_stats_visit(const struct http_io *io, const struct stat_visitor *v)
{
	stat_gauge(v, "connections", io->connections, "connections open");
	stat_counter(v, "connections_total", io->connections_total, "connections accepted");
	stat_counter(v, "request_timeouts", io->request_timeouts,
		     "connections cut: headers not complete in time");
	stat_counter(v, "evicted", io->evicted,
		     "connections cut past max_connections: the longest waiting for headers");
	stat_counter(v, "refused", io->refused,
		     "connections cut past max_connections: every slot was sending");
	stat_counter(v, "requests", io->requests, "requests answered");
	stat_counter(v, "ok", io->ok, "200 responses (whole files)");
	stat_counter(v, "partial", io->partial, "206 responses (a range)");
	stat_counter(v, "errors_4xx", io->errors_4xx, "4xx responses");
	stat_counter(v, "errors_5xx", io->errors_5xx, "5xx responses");
	stat_counter(v, "bytes_queued", io->bytes_queued, "body bytes of 200 and 206 responses");
	stat_counter(v, "bytes_given", io->bytes_given, "body bytes handed to the sockets");
	stat_counter(v, "turns", io->turns, "turns the pacer gave responses");
	stat_gauge(v, "paced_waiting", io->paced_waiting, "responses waiting for the pacer");
	stat_gauge(v, "active", live_responses(io), "responses with a body under way");
}

/* MHD's own state per connection (struct MHD_Connection is private:
 * about 1 KiB in 0.9.75; counted at twice that). */
#define HTTP_MHD_CONN_BYTES 2048

uint64_t http_io_memory(const struct conf_http *cfg)
{
	/* A response: its state, MHD's copy buffer, a slot in the pacer. */
	uint64_t per = cfg->header_max + HTTP_MHD_CONN_BYTES + sizeof(struct http_conn) +
		       sizeof(struct http_xfer) + HTTP_COPY_BUF + 2 * sizeof(struct timer *);

	return ((uint64_t)cfg->max_connections + HTTP_CONN_SLACK) * per;
}

void http_io_close(struct http_io *io)
{
	if (io == NULL)
		return;
	if (io->mhd) {
		/* MHD stops only with every connection resumed; no response
		 * waits in the pacer any more. */
		for (struct http_xfer *x = io->xfers; x; x = x->next) {
			if (io->pacer)
				tftp_server_unpace(io->pacer, &x->item);
			if (x->suspended) {
				x->suspended = false;
				io->paced_waiting--;
				MHD_resume_connection(x->c);
			}
		}
		io->pacer = NULL;
		if (io->io.fd >= 0)
			loop_io_del(io->loop, &io->io);
		if (timer_armed(&io->timer))
			loop_timer_cancel(io->loop, &io->timer);
		MHD_stop_daemon(io->mhd); /* frees every response: files_put */
		timerq_fini(&io->timerq);
	}
	if (io->listen_fd >= 0)
		close(io->listen_fd);
	free(io);
}
