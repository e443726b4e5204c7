/* The ops listener: small, read-only, low-traffic. Each address gets its
 * own MHD daemon (MHD_USE_EPOLL, no thread) whose epoll handle the loop
 * watches and whose timeout is a loop timer, as in http/http_io.c. Every
 * answer is built in memory at the request (a scrape reads every module's
 * counters then); nothing is read from disk. */
#include "ops/ops_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timerq.h"

enum {
	EP_METRICS = 1u << 0,
	EP_API = 1u << 1,
	EP_DASHBOARD = 1u << 2,
};
#define OPS_MAX_LISTENERS 3

/* Few operators and scrapers: small limits. */
#define OPS_CONNECTIONS 64
#define OPS_SOURCE_CONNECTIONS 16
#define OPS_IDLE_S 10
#define OPS_MEMORY (32 * 1024)

struct ops_listener {
	struct ops_http *o;
	struct netaddr addr;
	unsigned endpoints;
	int fd;
	struct MHD_Daemon *mhd;
	struct loop_io io;
	struct timer timer; /* MHD's timeout */
};

struct ops_http {
	struct ops_listener l[OPS_MAX_LISTENERS];
	unsigned n;
	struct loop *loop;
	struct loop_post post; /* re-arms the timers */
	struct ops_source src;
	struct ratelimit rl;
};

static char request_seen;

/* src/ops/dashboard.html, built in (the Makefile writes it as bytes). */
extern const unsigned char ops_dashboard_html[];
extern const size_t ops_dashboard_html_len;

static int listen_on(struct ops_listener *l)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(l->addr.port),
				  .sin_addr.s_addr = ipaddr_to_v4(&l->addr.ip)};
	char buf[NETADDR_STRLEN];
	int one = 1, err;

	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd >= 0 && setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(l->fd, 64) == 0)
		return 0;
	err = -errno;
	log_err("[status] listen %s: %s", netaddr_str(&l->addr, buf), strerror(-err));
	return err;
}

/* The listener for addr, added if new. */
static struct ops_listener *listener_for(struct ops_http *o, const struct netaddr *addr)
{
	for (unsigned i = 0; i < o->n; i++)
		if (netaddr_eq(&o->l[i].addr, addr))
			return &o->l[i];
	if (o->n == OPS_MAX_LISTENERS)
		return NULL;
	o->l[o->n] = (struct ops_listener){.o = o, .addr = *addr, .fd = -1};
	o->l[o->n].io.fd = -1;
	return &o->l[o->n++];
}

int ops_http_open(struct ops_http **out, const struct conf_status_http *cfg)
{
	const char *values[] = {cfg->metrics, cfg->api, cfg->dashboard};
	const unsigned bits[] = {EP_METRICS, EP_API, EP_DASHBOARD};
	struct ops_http *o = calloc(1, sizeof(*o));
	int err = 0;

	*out = NULL;
	if (o == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < 3; i++) {
		struct netaddr a;
		struct ops_listener *l;
		int on = conf_status_where(cfg->listen, values[i], &a);
		if (on < 0) {
			err = on; /* herd check says which key */
			goto fail;
		}
		if (on == 0)
			continue;
		if ((l = listener_for(o, &a)) == NULL) {
			err = -EINVAL;
			goto fail;
		}
		l->endpoints |= bits[i];
	}
	for (unsigned i = 0; i < o->n; i++)
		if ((err = listen_on(&o->l[i])) < 0)
			goto fail;
	if (o->n == 0) {
		free(o);
		return 0;
	}
	*out = o;
	return 0;
fail:
	ops_http_close(o);
	return err;
}

/* --- answers ------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text), false);
}

static enum MHD_Result reply_json_error(struct MHD_Connection *c, unsigned status,
					const char *error)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", error);

	return reply(c, status, "application/json", body, (size_t)n, false);
}

static enum MHD_Result serve_metrics(struct ops_http *o, struct MHD_Connection *c)
{
	struct metrics *m = metrics_new();
	char *text = NULL;
	size_t len = 0;
	int err = m ? 0 : -ENOMEM;

	if (m) {
		o->src.stats(o->src.ctx, m);
		err = metrics_render(m, &text, &len);
		metrics_free(m);
	}
	if (err < 0)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, true);
}

/* /api/v1/nodes and /api/v1/nodes/NAME (no further slash). */
static enum MHD_Result serve_nodes(struct ops_http *o, struct MHD_Connection *c, const char *rest)
{
	const char *name = NULL;
	char *json = NULL;
	size_t len = 0;
	int err;

	if (*rest == '/') {
		name = rest + 1;
		if (*name == '\0' || strchr(name, '/'))
			return reply_json_error(c, MHD_HTTP_NOT_FOUND, "no such node");
	} else if (*rest != '\0') {
		return reply_json_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint");
	}
	err = o->src.nodes ? o->src.nodes(o->src.ctx, name, &json, &len) : -ENOSYS;
	if (err == -ENOENT)
		return reply_json_error(c, MHD_HTTP_NOT_FOUND, "no such node");
	if (err == -ENOSYS)
		return reply_json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					"node state is not kept by this herd");
	if (err < 0)
		return reply_json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return reply(c, MHD_HTTP_OK, "application/json", json, len, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct ops_listener *l = cls;
	static const char api[] = "/api/v1/nodes";

	(void)version, (void)upload;
	if (*req_cls == NULL) { /* the headers: wait for the end of the request */
		*req_cls = &request_seen;
		return MHD_YES;
	}
	if (*upload_size) { /* read-only: a body is dropped, then refused */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed\n");
	if ((l->endpoints & EP_METRICS) && strcmp(url, "/metrics") == 0)
		return serve_metrics(l->o, c);
	if ((l->endpoints & EP_API) && strncmp(url, api, sizeof(api) - 1) == 0)
		return serve_nodes(l->o, c, url + sizeof(api) - 1);
	/* The page fetches api/v1/nodes relative to itself: same address. */
	if ((l->endpoints & EP_DASHBOARD) && strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", (char *)ops_dashboard_html,
			     ops_dashboard_html_len, false);
	return reply_text(c, MHD_HTTP_NOT_FOUND, "404 not found\n");
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct ops_listener *l = cls;
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_limited(&l->o->rl, loop_now(l->o->loop), LOG_LVL_WARN, "status http: %s", line);
}

/* --- the loop ------------------------------------------------------------ */

static void on_ready(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct ops_listener *l =
	    (struct ops_listener *)((char *)lio - offsetof(struct ops_listener, io));

	(void)events, (void)now;
	MHD_run(l->mhd);
}

static void on_timer(struct timer *t, mono_t now)
{
	struct ops_listener *l =
	    (struct ops_listener *)((char *)t - offsetof(struct ops_listener, timer));

	(void)now;
	MHD_run(l->mhd);
}

static void rearm(struct loop_post *p, mono_t now)
{
	struct ops_http *o = (struct ops_http *)((char *)p - offsetof(struct ops_http, post));

	for (unsigned i = 0; i < o->n; i++) {
		struct ops_listener *l = &o->l[i];
		MHD_UNSIGNED_LONG_LONG ms;
		mono_t at;

		if (MHD_get_timeout(l->mhd, &ms) != MHD_YES) {
			loop_timer_cancel(o->loop, &l->timer);
			continue;
		}
		at = now + MONO_MS(ms > 3600000 ? 3600000 : (int64_t)ms);
		if (!timer_armed(&l->timer) || l->timer.when != at)
			loop_timer_set(o->loop, &l->timer, at);
	}
}

static int listener_start(struct ops_listener *l, struct loop *loop)
{
	const union MHD_DaemonInfo *di;

	l->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, l,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l, MHD_OPTION_LISTEN_SOCKET, l->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)OPS_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)OPS_SOURCE_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)OPS_IDLE_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)OPS_MEMORY, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
	if (l->mhd == NULL) {
		log_err("[status]: cannot start the HTTP server (libmicrohttpd)");
		return -EINVAL;
	}
	l->fd = -1; /* MHD's now */
	di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL)
		return -EINVAL;
	l->io.fd = di->epoll_fd;
	l->io.fn = on_ready;
	timer_init(&l->timer, on_timer);
	return loop_io_add(loop, &l->io, EPOLLIN);
}

int ops_http_start(struct ops_http *o, struct loop *loop, const struct ops_source *src)
{
	int err;

	o->loop = loop;
	o->src = *src;
	o->rl = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	for (unsigned i = 0; i < o->n; i++)
		if ((err = listener_start(&o->l[i], loop)) < 0)
			return err;
	o->post.fn = rearm;
	loop_post_add(loop, &o->post);
	return 0;
}

void ops_http_close(struct ops_http *o)
{
	if (o == NULL)
		return;
	for (unsigned i = 0; i < o->n; i++) {
		struct ops_listener *l = &o->l[i];
		if (l->io.fd >= 0)
			loop_io_del(o->loop, &l->io);
		if (o->loop && timer_armed(&l->timer))
			loop_timer_cancel(o->loop, &l->timer);
		if (l->mhd)
			MHD_stop_daemon(l->mhd);
		if (l->fd >= 0)
			close(l->fd);
	}
	free(o);
}
