/* The swarm's HTTP stage (swarm_http.h): URLs, iPXE scripts, response heads,
 * and the client's steps through its list of downloads. */
#include "swarm/swarm_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "swarm/swarm_client.h"
#include "swarm/swarm_stage.h"

/* iPXE closes a kept-alive connection idle this long (HTTP_CONN_EXPIRY,
 * net/tcp/httpconn.c): the next request opens a new one. */
#define POOL_EXPIRY MONO_SEC(10)

/* What iPXE says it is; servers do not look at it, logs do. */
#define SWARM_USER_AGENT "iPXE/1.21.1+ (herd swarm)"

/* ---- URLs ------------------------------------------------------------- */

static bool path_ok(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* Sets out->path: HTTP keeps the leading '/', TFTP drops it (iPXE sends the
 * URL's path without it as the RRQ's file name). */
static int set_path(struct swarm_url *out, const char *dir, size_t dirlen, const char *name)
{
	char buf[SWARM_URL_PATH_MAX];
	const char *p = buf;
	int n = snprintf(buf, sizeof(buf), "%.*s%s", (int)dirlen, dir, name);

	if (n < 0 || (size_t)n >= sizeof(buf) || !path_ok(buf))
		return -EINVAL;
	if (out->tftp) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return -EINVAL;
	} else if (buf[0] != '/') {
		return -EINVAL;
	}
	memmove(out->path, p, strlen(p) + 1);
	return 0;
}

static int parse_relative(const char *text, const struct swarm_url *base, struct swarm_url *out)
{
	const char *slash;

	if (base == NULL || strstr(text, "${") != NULL)
		return -EINVAL;
	*out = *base;
	out->verify = -1;
	if (text[0] == '/')
		return set_path(out, "/", 0, text);
	slash = strrchr(base->path, '/');
	return set_path(out, base->path, slash ? (size_t)(slash - base->path + 1) : 0, text);
}

int swarm_url_parse(const char *text, const struct swarm_url *base, struct swarm_url *out)
{
	char host[16];
	const char *rest, *end;
	struct in_addr a;
	size_t hl;

	memset(out, 0, sizeof(*out));
	out->verify = -1;
	if (strncasecmp(text, "http://", 7) == 0) {
		out->port = 80;
	} else if (strncasecmp(text, "tftp://", 7) == 0) {
		out->tftp = true;
		out->port = 69;
	} else {
		return strstr(text, "://") ? -EINVAL : parse_relative(text, base, out);
	}
	rest = text + 7;
	end = rest + strcspn(rest, ":/");
	hl = (size_t)(end - rest);
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, rest, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || a.s_addr == 0)
		return -EINVAL;
	out->ip = a.s_addr;
	if (*end == ':') {
		char *pe;
		unsigned long port = strtoul(end + 1, &pe, 10);
		if (pe == end + 1 || port == 0 || port > 65535 || (*pe != '/' && *pe != '\0'))
			return -EINVAL;
		out->port = (uint16_t)port;
		end = pe;
	}
	return set_path(out, "", 0, *end ? end : "/");
}

/* ---- iPXE scripts ----------------------------------------------------- */

/* The commands that download an image, and the options of theirs that
 * take a value as the next word (iPXE's imgfetch: --name, --timeout). */
static bool fetches(const char *cmd, size_t len)
{
	static const char *const cmds[] = {"kernel", "initrd",	"imgfetch", "module",
					   "chain",  "imgexec", "imgload",  "imgselect"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strlen(cmds[i]) == len && memcmp(cmds[i], cmd, len) == 0)
			return true;
	return false;
}

static bool takes_value(const char *opt, size_t len)
{
	return (len == 2 && (memcmp(opt, "-n", 2) == 0 || memcmp(opt, "-t", 2) == 0)) ||
	       (len == 6 && memcmp(opt, "--name", 6) == 0) ||
	       (len == 9 && memcmp(opt, "--timeout", 9) == 0);
}

/* The next word of [*p, end): its start and length (0: none). */
static size_t next_word(const char **p, const char *end, const char **word)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*word = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*p = s;
	return (size_t)(s - *word);
}

/* The URL of one line, if it fetches something: 1, 0 (not a fetch), or
 * -EINVAL. */
static int line_url(const char *line, const char *end, const struct swarm_url *base,
		    struct swarm_url *out)
{
	char text[SWARM_URL_PATH_MAX + 32];
	const char *p = line, *w;
	size_t n = next_word(&p, end, &w);

	if (n == 0 || w[0] == '#' || !fetches(w, n))
		return 0;
	while ((n = next_word(&p, end, &w)) > 0 && w[0] == '-')
		if (takes_value(w, n))
			next_word(&p, end, &w);
	if (n == 0 || n >= sizeof(text))
		return -EINVAL;
	memcpy(text, w, n);
	text[n] = '\0';
	return swarm_url_parse(text, base, out) < 0 ? -EINVAL : 1;
}

int swarm_script_urls(const char *script, size_t len, const struct swarm_url *base,
		      struct swarm_url *out, unsigned max)
{
	const char *p = script, *end = script + len;
	unsigned n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		int r;

		if (le > p && le[-1] == '\r')
			le--;
		r = line_url(p, le, base, n < max ? &out[n] : &out[max - 1]);
		if (r < 0 || (r > 0 && n == max))
			return -EINVAL;
		n += (unsigned)r;
		p = eol ? eol + 1 : end;
	}
	return n ? (int)n : -ENOENT;
}

/* ---- the response head ------------------------------------------------ */

static bool header_is(const char *line, size_t len, const char *name, const char **value,
		      size_t *vlen)
{
	size_t nl = strlen(name);

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return false;
	*value = line + nl + 1;
	*vlen = len - nl - 1;
	while (*vlen && (**value == ' ' || **value == '\t')) {
		(*value)++;
		(*vlen)--;
	}
	while (*vlen && ((*value)[*vlen - 1] == ' ' || (*value)[*vlen - 1] == '\t'))
		(*vlen)--;
	return true;
}

/* iPXE reads the Connection header as tokens: keep-alive sets, close clears. */
static void connection_tokens(const char *v, size_t len, bool *keepalive)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;
		while (i < len && (v[i] == ' ' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ' ' && v[i] != ',')
			i++;
		e = i;
		if (e - s == 10 && strncasecmp(v + s, "keep-alive", 10) == 0)
			*keepalive = true;
		if (e - s == 5 && strncasecmp(v + s, "close", 5) == 0)
			*keepalive = false;
	}
}

static int parse_length(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0;

	if (len == 0 || len > 19)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

static int parse_status(const char *line, size_t len, struct swarm_http_head *h)
{
	unsigned status = 0;

	/* "HTTP/1.1 200 OK": HTTP/0.x and 1.0 are not kept alive by default */
	if (len < 12 || memcmp(line, "HTTP/", 5) != 0 || line[8] != ' ')
		return -EINVAL;
	h->keepalive = !(line[5] == '0' || memcmp(line + 5, "1.0", 3) == 0);
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		status = status * 10 + (unsigned)(line[i] - '0');
	}
	/* RFC 9110 15: three digits, the first one the class */
	if ((len > 12 && line[12] != ' ') || status < 100)
		return -EINVAL;
	h->status = status;
	return 0;
}

static int parse_header(const char *line, size_t len, struct swarm_http_head *h)
{
	const char *v;
	size_t vl;

	if (memchr(line, ':', len) == NULL)
		return -EINVAL; /* iPXE: "Invalid header" */
	if (header_is(line, len, "Connection", &v, &vl)) {
		connection_tokens(v, vl, &h->keepalive);
	} else if (header_is(line, len, "Content-Length", &v, &vl)) {
		if (parse_length(v, vl, &h->length) < 0)
			return -EINVAL;
		h->has_length = true;
	} else if (header_is(line, len, "Transfer-Encoding", &v, &vl)) {
		if (vl == 7 && strncasecmp(v, "chunked", 7) == 0)
			h->chunked = true;
		else if (!(vl == 8 && strncasecmp(v, "identity", 8) == 0))
			h->other_coding = true;
	}
	return 0;
}

int swarm_http_parse_head(const char *buf, size_t len, struct swarm_http_head *out)
{
	const char *p = buf, *end = buf + len;
	bool first = true;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll;
		if (eol == NULL)
			return -EINVAL;
		ll = (size_t)(eol - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			return first ? -EINVAL : 0; /* the empty line ends the head */
		if (first ? parse_status(p, ll, out) < 0 : parse_header(p, ll, out) < 0)
			return -EINVAL;
		first = false;
		p = eol + 1;
	}
	return -EINVAL;
}

size_t swarm_http_build_get(char *buf, size_t cap, const struct swarm_url *u)
{
	char ip[16];
	int n;

	inet_ntop(AF_INET, &u->ip, ip, sizeof(ip));
	if (u->port == 80)
		n = snprintf(buf, cap,
			     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			     "Connection: keep-alive\r\n\r\n",
			     u->path, ip, SWARM_USER_AGENT);
	else
		n = snprintf(buf, cap,
			     "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: %s\r\n"
			     "Connection: keep-alive\r\n\r\n",
			     u->path, ip, u->port, SWARM_USER_AGENT);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- the stage -------------------------------------------------------- */

enum http_step {
	H_NONE,
	H_CONNECTING, /* SYN sent */
	H_HEAD,	      /* GET sent, reading the response head */
	H_BODY,	      /* reading the body */
	H_TFTP,	      /* a tftp:// item: swarm_client.c has the client */
};

struct swarm_http_client {
	uint8_t step; /* enum http_step */
	bool conn;    /* a connection is open or opening */
	bool keepalive;
	bool until_close; /* no Content-Length: the body ends with the connection */
	bool script;	  /* this item is the iPXE script: keep and read it */
	bool reused;	  /* this request went on a kept-alive connection */
	bool reopened;	  /* ... which was closed, and it was sent again */
	bool too_long;	  /* the script came over TFTP, longer than SWARM_SCRIPT_MAX */
	uint8_t nitems, next;
	uint16_t head_len;
	uint32_t conn_ip;
	uint16_t conn_port;
	uint32_t script_len;
	uint64_t body_len, body_got;
	mono_t t_begin, last_rx;
	mono_t idle_since; /* the kept-alive connection's last answer ended */
	char *script_buf;
	struct swarm_url items[SWARM_HTTP_ITEMS];
	char head[SWARM_HTTP_HDR_MAX];
};

static void next_item(struct swarm *sw, struct swarm_client *c, mono_t now);

static void close_conn(struct swarm *sw, struct swarm_client *c)
{
	if (c->http->conn)
		sw->tx.tcp_close(sw->tx.ctx, c);
	c->http->conn = false;
}

static void hfail(struct swarm *sw, struct swarm_client *c, enum swarm_fail why, mono_t now)
{
	close_conn(sw, c);
	c->http->step = H_NONE;
	swarm_client_fail(sw, c, why, now);
}

/* The deadline: the connection's set-up (the profile's give-up time, as
 * iPXE's TCP retry timer), or the stall limit; iPXE itself has no timer
 * while it waits for data (its TCP only retransmits what it sent). */
static void arm(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_http_client *h = c->http;

	c->deadline = MONO_NEVER;
	if (h->step == H_CONNECTING)
		c->deadline = now + MONO_MS(c->prof->giveup_ms ? c->prof->giveup_ms : 15750);
	else if ((h->step == H_HEAD || h->step == H_BODY) && sw->http.stall_ms)
		c->deadline = h->last_rx + MONO_MS(sw->http.stall_ms);
}

static void send_request(struct swarm *sw, struct swarm_client *c, bool reused, mono_t now)
{
	struct swarm_http_client *h = c->http;
	char req[SWARM_URL_PATH_MAX + 160];
	size_t len = swarm_http_build_get(req, sizeof(req), &h->items[h->next]);

	h->step = H_HEAD;
	h->head_len = 0;
	h->body_got = 0;
	h->body_len = 0;
	h->until_close = false;
	h->last_rx = now;
	h->reused = reused;
	sw->http.requests++;
	sw->http.reused += reused;
	if (len == 0 || sw->tx.tcp_send(sw->tx.ctx, c, (const uint8_t *)req, len) < 0) {
		sw->n.tx_errors++;
		hfail(sw, c, SWARM_FAIL_HTTP_CLOSED, now);
		return;
	}
	arm(sw, c, now);
}

static void open_conn(struct swarm *sw, struct swarm_client *c, const struct swarm_url *u,
		      mono_t now)
{
	struct swarm_http_client *h = c->http;
	struct netaddr to = {.ip = ipaddr_v4(u->ip), .port = u->port};
	int err;

	close_conn(sw, c);
	sw->http.connects++;
	err = sw->tx.tcp_open(sw->tx.ctx, c, &to, c->prof->giveup_ms);
	if (err < 0) {
		/* out of descriptors or memory: the swarm's; else the network's */
		bool local = err == -EMFILE || err == -ENFILE || err == -ENOMEM || err == -ENOBUFS;
		sw->http.connect_fail++;
		hfail(sw, c, local ? SWARM_FAIL_LOCAL : SWARM_FAIL_HTTP_CONNECT, now);
		return;
	}
	h->conn = true;
	h->conn_ip = u->ip;
	h->conn_port = u->port;
	h->step = H_CONNECTING;
	arm(sw, c, now);
}

static void stage_done(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_http_client *h = c->http;

	close_conn(sw, c);
	h->step = H_NONE;
	c->stage = SWARM_HTTP;
	c->http_us = now > h->t_begin ? (uint32_t)(now - h->t_begin) : 1;
	swarm_client_advance(sw, c, false, now);
}

/* iPXE fetches one image after the other; a kept-alive connection to the
 * same server carries the next request (its connection pool). */
static void next_item(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_http_client *h = c->http;
	const struct swarm_url *u;

	if (h->next >= h->nitems) {
		stage_done(sw, c, now);
		return;
	}
	u = &h->items[h->next];
	h->script = sw->http.follow && h->next == 0;
	if (u->tftp) {
		if (sw->dhcp.bootnames == NULL) {
			hfail(sw, c, SWARM_FAIL_SCRIPT, now);
			return;
		}
		h->step = H_TFTP;
		sw->http.tftp_items++;
		c->tftp_ip = u->ip;
		snprintf(sw->dhcp.bootnames[c->index], SWARM_BOOTNAME_MAX, "%s", u->path);
		swarm_tftp_fetch(sw, c, now);
		return;
	}
	c->stage = SWARM_HTTP;
	h->reopened = false;
	if (h->conn && h->conn_ip == u->ip && h->conn_port == u->port &&
	    now - h->idle_since < POOL_EXPIRY)
		send_request(sw, c, true, now);
	else
		open_conn(sw, c, u, now);
}

/* The script came whole: what it names joins the list after it. */
static int read_script(struct swarm *sw, struct swarm_client *c)
{
	struct swarm_http_client *h = c->http;
	int n;

	(void)sw;
	/* Not a script (no "#!ipxe"): an image iPXE boots as it is (an EFI
	 * binary, a kernel); nothing more to fetch. */
	if (h->too_long)
		return -EINVAL;
	if (h->script_buf == NULL || h->script_len < 6 || memcmp(h->script_buf, "#!ipxe", 6) != 0)
		return 0;
	n = swarm_script_urls(h->script_buf, h->script_len, &h->items[0], &h->items[h->nitems],
			      (unsigned)(SWARM_HTTP_ITEMS - h->nitems));
	free(h->script_buf);
	h->script_buf = NULL;
	if (n < 0)
		return n;
	h->nitems = (uint8_t)(h->nitems + n);
	return 0;
}

static void item_done(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_http_client *h = c->http;
	const struct swarm_url *u = &h->items[h->next];

	if (u->verify >= 0 && h->step != H_TFTP && h->body_got != sw->http.copies[u->verify].size) {
		hfail(sw, c, SWARM_FAIL_MISMATCH, now);
		return;
	}
	if (h->step != H_TFTP && !h->keepalive)
		close_conn(sw, c);
	if (h->step != H_TFTP)
		h->idle_since = now;
	h->step = H_NONE;
	if (h->script && read_script(sw, c) < 0) {
		hfail(sw, c, SWARM_FAIL_SCRIPT, now);
		return;
	}
	h->script = false;
	h->next++;
	next_item(sw, c, now);
}

void swarm_http_begin(struct swarm *sw, struct swarm_client *c, const char *bootname, mono_t now)
{
	struct swarm_http_client *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		swarm_client_fail(sw, c, SWARM_FAIL_LOCAL, now);
		return;
	}
	c->http = h;
	c->stage = SWARM_HTTP;
	h->t_begin = now;
	swarm_client_mark(sw, c, SWARM_MARK_HTTP, now);
	if (bootname == NULL) {
		memcpy(h->items, sw->http.urls, sw->http.nurls * sizeof(h->items[0]));
		h->nitems = (uint8_t)sw->http.nurls;
	} else {
		/* The boot file: a URL, or a name on the TFTP server the ACK named. */
		struct swarm_url base = {.tftp = true, .ip = c->tftp_ip, .port = 69, .path = "/"};
		if (swarm_url_parse(bootname, strstr(bootname, "://") ? NULL : &base,
				    &h->items[0]) < 0) {
			swarm_client_fail(sw, c, SWARM_FAIL_SCRIPT, now);
			return;
		}
		h->nitems = 1;
	}
	next_item(sw, c, now);
}

bool swarm_http_tftp_done(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	if (c->http == NULL || c->http->step != H_TFTP)
		return false;
	c->stage = SWARM_HTTP;
	item_done(sw, c, now);
	return true;
}

/* Keeps the script's bytes (HTTP or TFTP) for read_script(): the first
 * SWARM_SCRIPT_MAX of them. Past that, a script is too long (false); an
 * image that is no script is only booted, its start is enough. */
static bool keep_script(struct swarm_http_client *h, const uint8_t *data, size_t len)
{
	size_t room, take;

	if (h->script_buf == NULL && (h->script_buf = malloc(SWARM_SCRIPT_MAX)) == NULL)
		return false;
	room = SWARM_SCRIPT_MAX - h->script_len;
	take = len < room ? len : room;
	memcpy(h->script_buf + h->script_len, data, take);
	h->script_len += (uint32_t)take;
	if (take < len)
		return !(h->script_len >= 6 && memcmp(h->script_buf, "#!ipxe", 6) == 0);
	return true;
}

void swarm_http_tftp_data(struct swarm_client *c, const uint8_t *data, size_t len)
{
	struct swarm_http_client *h = c->http;

	if (h != NULL && h->step == H_TFTP && h->script && !keep_script(h, data, len))
		h->too_long = true; /* failed when the download ends */
}

void swarm_http_connected(struct swarm *sw, struct swarm_client *c, int err, mono_t now)
{
	struct swarm_http_client *h = c->http;

	if (h == NULL || c->stage != SWARM_HTTP || h->step != H_CONNECTING)
		return;
	if (err) {
		sw->http.connect_fail++;
		hfail(sw, c, SWARM_FAIL_HTTP_CONNECT, now);
		return;
	}
	send_request(sw, c, false, now);
}

/* A response head, read whole: go on to its body, or stop as iPXE would. */
static void on_head(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_http_client *h = c->http;
	const struct swarm_url *u = &h->items[h->next];
	struct swarm_http_head hd;

	if (swarm_http_parse_head(h->head, h->head_len, &hd) < 0 || hd.other_coding || hd.chunked) {
		/* chunked: iPXE decodes it, the swarm not (no file server
		 * sends a static file that way) */
		sw->http.malformed++;
		hfail(sw, c, SWARM_FAIL_HTTP_PROTO, now);
		return;
	}
	sw->http.responses++;
	if (hd.status < 200 || hd.status > 299) {
		sw->http.bad_status++;
		sw->n.last_error_code = (uint16_t)hd.status;
		snprintf(sw->n.last_error, sizeof(sw->n.last_error), "HTTP %u", hd.status);
		hfail(sw, c, SWARM_FAIL_HTTP_STATUS, now);
		return;
	}
	if (u->verify >= 0 && hd.has_length && hd.length != sw->http.copies[u->verify].size) {
		hfail(sw, c, SWARM_FAIL_MISMATCH, now);
		return;
	}
	h->keepalive = hd.keepalive;
	h->until_close = !hd.has_length;
	h->body_len = hd.length;
	h->step = H_BODY;
	if (hd.has_length && hd.length == 0)
		item_done(sw, c, now);
}

static void on_body(struct swarm *sw, struct swarm_client *c, const uint8_t *data, size_t len,
		    mono_t now)
{
	struct swarm_http_client *h = c->http;
	const struct swarm_url *u = &h->items[h->next];

	if (u->verify >= 0) {
		const struct swarm_http_copy *k = &sw->http.copies[u->verify];
		if (h->body_got + len > k->size || memcmp(k->data + h->body_got, data, len) != 0) {
			hfail(sw, c, SWARM_FAIL_MISMATCH, now);
			return;
		}
	}
	if (h->script && !keep_script(h, data, len)) {
		hfail(sw, c, SWARM_FAIL_SCRIPT, now);
		return;
	}
	h->body_got += len;
	c->http_bytes += (uint32_t)len;
	sw->http.bytes += len;
	sw->n.bytes += len;
	if (!h->until_close && h->body_got == h->body_len)
		item_done(sw, c, now);
}

/* Takes head bytes; returns how many it used (the rest is body). */
static size_t take_head(struct swarm *sw, struct swarm_client *c, const uint8_t *buf, size_t len,
			mono_t now)
{
	struct swarm_http_client *h = c->http;
	size_t old = h->head_len, room = SWARM_HTTP_HDR_MAX - old;
	size_t take = len < room ? len : room, from = old > 3 ? old - 3 : 0;

	memcpy(h->head + old, buf, take);
	h->head_len = (uint16_t)(old + take);
	for (size_t i = from; i + 3 < h->head_len; i++) {
		if (memcmp(h->head + i, "\r\n\r\n", 4) == 0) {
			h->head_len = (uint16_t)(i + 4);
			on_head(sw, c, now);
			return i + 4 - old;
		}
	}
	if (h->head_len == SWARM_HTTP_HDR_MAX) {
		sw->http.malformed++;
		hfail(sw, c, SWARM_FAIL_HTTP_PROTO, now);
	}
	return take;
}

void swarm_http_input(struct swarm *sw, struct swarm_client *c, const uint8_t *buf, size_t len,
		      mono_t now)
{
	struct swarm_http_client *h = c->http;

	if (h == NULL || c->stage != SWARM_HTTP || len == 0)
		return;
	sw->http.wire_in += len;
	if (now > h->last_rx && now - h->last_rx > c->http_stall_us)
		c->http_stall_us = (uint32_t)(now - h->last_rx);
	h->last_rx = now;
	while (len > 0 && c->stage == SWARM_HTTP && !swarm_client_finished(c)) {
		size_t used;
		if (h->step == H_HEAD) {
			used = take_head(sw, c, buf, len, now);
		} else if (h->step == H_BODY) {
			used = h->until_close || len < h->body_len - h->body_got
				   ? len
				   : (size_t)(h->body_len - h->body_got);
			on_body(sw, c, buf, used, now);
		} else {
			/* iPXE: "unsolicited data" closes the transaction */
			sw->http.malformed++;
			hfail(sw, c, SWARM_FAIL_HTTP_PROTO, now);
			return;
		}
		buf += used;
		len -= used;
	}
	if (!swarm_client_finished(c) && c->stage == SWARM_HTTP)
		arm(sw, c, now);
}

/* The server closed (err 0) or reset the connection before the answer's
 * end: the report keeps where, e.g. "body 1200000/8247232 B, errno 104". */
static void closed_early(struct swarm *sw, struct swarm_client *c, int err, mono_t now)
{
	struct swarm_http_client *h = c->http;

	sw->http.closed_early++;
	sw->n.last_error_code = (uint16_t)-err;
	if (h->step == H_BODY)
		snprintf(sw->n.last_error, sizeof(sw->n.last_error), "body %llu/%llu B, errno %d",
			 (unsigned long long)h->body_got, (unsigned long long)h->body_len, -err);
	else
		snprintf(sw->n.last_error, sizeof(sw->n.last_error), "head %u B, errno %d",
			 h->head_len, -err);
	hfail(sw, c, SWARM_FAIL_HTTP_CLOSED, now);
}

void swarm_http_closed(struct swarm *sw, struct swarm_client *c, int err, mono_t now)
{
	struct swarm_http_client *h = c->http;

	if (h == NULL)
		return;
	sw->tx.tcp_close(sw->tx.ctx, c);
	h->conn = false;
	if (c->stage != SWARM_HTTP || swarm_client_finished(c))
		return; /* an idle connection of the pool went away */
	switch (h->step) {
	case H_CONNECTING:
		sw->http.connect_fail++;
		hfail(sw, c, SWARM_FAIL_HTTP_CONNECT, now);
		break;
	case H_BODY:
		if (err == 0 && h->until_close) {
			item_done(sw, c, now);
			break;
		}
		closed_early(sw, c, err, now);
		break;
	case H_HEAD:
		/* A kept-alive connection the server had closed before it saw
		 * the request: iPXE's pool reopens it and asks again, once. */
		if ((err == 0 || err == -ECONNRESET || err == -EPIPE) && h->head_len == 0 &&
		    h->reused && !h->reopened) {
			h->reopened = true;
			open_conn(sw, c, &h->items[h->next], now);
			break;
		}
		closed_early(sw, c, err, now);
		break;
	default:
		break;
	}
}

void swarm_http_timeout(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_http_client *h = c->http;

	if (h == NULL)
		return;
	if (h->step == H_CONNECTING) {
		sw->http.connect_fail++;
		hfail(sw, c, SWARM_FAIL_HTTP_CONNECT, now);
		return;
	}
	if (sw->http.stall_ms && now >= h->last_rx + MONO_MS(sw->http.stall_ms)) {
		if (now - h->last_rx > c->http_stall_us)
			c->http_stall_us = (uint32_t)(now - h->last_rx);
		hfail(sw, c, SWARM_FAIL_HTTP_STALL, now);
		return;
	}
	arm(sw, c, now);
}

void swarm_http_release(struct swarm_client *c)
{
	if (c->http == NULL)
		return;
	free(c->http->script_buf);
	free(c->http);
	c->http = NULL;
}
