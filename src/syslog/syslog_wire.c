#include "syslog/syslog_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/wire.h"

/* ---- Cursor helpers: look ahead without consuming ---------------------- */

/* The byte i positions ahead, or -1 past the end. */
static int wire_at(const struct wire *w, size_t i)
{
	if (i >= wire_left(w))
		return -1;
	return wire_peek(w)[i];
}

/* Number of bytes before the first `c` (wire_left() if there is none). */
static size_t wire_span_to(const struct wire *w, uint8_t c)
{
	size_t n = wire_left(w), i = 0;

	while (i < n && wire_peek(w)[i] != c)
		i++;
	return i;
}

/* Takes the next n bytes as a span (n <= wire_left()). */
static struct syslog_span wire_take(struct wire *w, size_t n)
{
	struct syslog_span s = {NULL, 0};

	if (n == 0 || !wire_need(w, n))
		return s;
	s.ptr = wire_peek(w);
	s.len = n;
	wire_skip(w, n);
	return s;
}

/* Takes the rest of the datagram. */
static struct syslog_span wire_rest(struct wire *w)
{
	return wire_take(w, wire_left(w));
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Reads 1..max decimal digits; returns how many (0: none, cursor unmoved). */
static size_t read_digits(struct wire *w, size_t max, uint64_t *val)
{
	uint64_t v = 0;
	size_t n = 0;

	while (n < max && is_digit(wire_at(w, 0))) {
		v = v * 10 + (uint64_t)(wire_u8(w) - '0');
		n++;
	}
	if (val)
		*val = v;
	return n;
}

static bool read_char(struct wire *w, uint8_t c)
{
	if (wire_at(w, 0) != c)
		return false;
	wire_skip(w, 1);
	return true;
}

/* ---- PRI (RFC 5424 6.2.1, RFC 3164 4.1.1) ------------------------------ */

static bool parse_pri(struct wire *w, struct syslog_msg *m)
{
	struct wire t = *w;
	uint64_t pri;

	if (!read_char(&t, '<') || read_digits(&t, 3, &pri) == 0 || !read_char(&t, '>'))
		return false;
	if (pri > 191)
		return false;
	m->has_pri = true;
	m->facility = (uint8_t)(pri >> 3);
	m->severity = (uint8_t)(pri & 7);
	*w = t;
	return true;
}

/* ---- RFC 5424 ---------------------------------------------------------- */

/* A header field: 1..max non-space bytes then SP; "-" (nil) gives len 0. */
static bool take_field(struct wire *w, size_t max, struct syslog_span *out)
{
	size_t n = wire_span_to(w, ' ');

	if (n == 0 || n > max || n == wire_left(w))
		return false;
	*out = wire_take(w, n);
	wire_skip(w, 1);
	if (out->len == 1 && out->ptr[0] == '-')
		*out = (struct syslog_span){NULL, 0};
	return true;
}

/* SD-ELEMENTs: "[id name="value" ...]..." (RFC 5424 6.3). A backslash escapes
 * the next byte, so `\]` and `\"` inside values do not end anything; an
 * unescaped `]` inside quotes is tolerated too. */
static bool take_sd(struct wire *w, struct syslog_span *sd)
{
	size_t n = 0, left = wire_left(w);
	const uint8_t *p = wire_peek(w);

	if (wire_at(w, 0) == '-') {
		wire_skip(w, 1);
		*sd = (struct syslog_span){NULL, 0};
		return true;
	}
	while (n < left && p[n] == '[') {
		bool quoted = false;
		for (n++; n < left; n++) {
			if (p[n] == '\\')
				n++;
			else if (p[n] == '"')
				quoted = !quoted;
			else if (p[n] == ']' && !quoted)
				break;
		}
		if (n >= left)
			return false;
		n++;
	}
	if (n == 0)
		return false;
	*sd = wire_take(w, n);
	return true;
}

static const uint8_t utf8_bom[3] = {0xef, 0xbb, 0xbf};

static bool parse_5424(struct wire *w, struct syslog_msg *m)
{
	struct wire t = *w;

	if (!read_char(&t, '1') || !read_char(&t, ' '))
		return false;
	/* Limits of RFC 5424 6.2; a timestamp is at most ~32 bytes. */
	if (!take_field(&t, 64, &m->timestamp) || !take_field(&t, 255, &m->host) ||
	    !take_field(&t, SYSLOG_APP_MAX, &m->app) ||
	    !take_field(&t, SYSLOG_PROCID_MAX, &m->procid) || !take_field(&t, 32, &m->msgid) ||
	    !take_sd(&t, &m->sd)) {
		m->timestamp = m->host = m->app = m->procid = m->msgid = m->sd =
		    (struct syslog_span){NULL, 0};
		return false;
	}
	read_char(&t, ' ');
	if (wire_left(&t) >= 3 && memcmp(wire_peek(&t), utf8_bom, 3) == 0)
		wire_skip(&t, 3);
	m->format = SYSLOG_FMT_5424;
	m->msg = wire_rest(&t);
	*w = t;
	return true;
}

/* ---- RFC 3164 ---------------------------------------------------------- */

static bool read_month(struct wire *w)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	if (wire_left(w) < 3)
		return false;
	for (size_t i = 0; i + 3 <= sizeof(months) - 1; i += 3) {
		if (memcmp(wire_peek(w), &months[i], 3) == 0) {
			wire_skip(w, 3);
			return true;
		}
	}
	return false;
}

/* "hh:mm:ss" with optional ".fraction". */
static bool read_clock(struct wire *w)
{
	if (read_digits(w, 2, NULL) != 2 || !read_char(w, ':') || read_digits(w, 2, NULL) != 2 ||
	    !read_char(w, ':') || read_digits(w, 2, NULL) != 2)
		return false;
	if (read_char(w, '.'))
		read_digits(w, 9, NULL);
	return true;
}

/* "Mmm dd hh:mm:ss" (RFC 3164 4.1.2), tolerating an unpadded day and a year
 * before the clock (some appliances); or an ISO 8601 stamp as rsyslog's
 * high-precision forwarding writes it. Must be followed by SP. */
static bool parse_3164_time(struct wire *w, struct syslog_span *ts)
{
	struct wire t = *w;
	size_t start = wire_pos(&t);

	if (is_digit(wire_at(&t, 0)) && read_digits(&t, 4, NULL) == 4 && read_char(&t, '-')) {
		wire_skip(&t, wire_span_to(&t, ' '));
	} else {
		t = *w;
		if (!read_month(&t) || !read_char(&t, ' '))
			return false;
		read_char(&t, ' ');
		if (read_digits(&t, 2, NULL) == 0 || !read_char(&t, ' '))
			return false;
		struct wire year = t;
		if (read_digits(&year, 4, NULL) == 4 && read_char(&year, ' '))
			t = year;
		if (!read_clock(&t))
			return false;
	}
	if (wire_at(&t, 0) != ' ')
		return false;
	*ts = wire_take(w, wire_pos(&t) - start);
	wire_skip(w, 1);
	return true;
}

static bool is_tag_byte(int c)
{
	return c > ' ' && c < 0x7f && c != '[' && c != ':' && c != ']';
}

/* TAG[PID]: or TAG: (RFC 3164 4.1.3), then an optional SP. The colon must end
 * the token, so that a host like "fe80::1" is not taken for a tag; "TAG[PID]"
 * without a colon is accepted, as some daemons write it. */
static bool parse_tag(struct wire *w, struct syslog_msg *m)
{
	struct wire t = *w;
	size_t n = 0;
	struct syslog_span pid = {NULL, 0};

	while (is_tag_byte(wire_at(&t, n)))
		n++;
	if (n == 0 || n > SYSLOG_APP_MAX)
		return false;
	struct syslog_span tag = wire_take(&t, n);
	if (read_char(&t, '[')) {
		size_t plen = wire_span_to(&t, ']');
		if (plen == 0 || plen > SYSLOG_PROCID_MAX || plen == wire_left(&t))
			return false;
		pid = wire_take(&t, plen);
		wire_skip(&t, 1);
		if (!read_char(&t, ':') && wire_left(&t) > 0 && wire_at(&t, 0) != ' ')
			return false;
	} else if (!read_char(&t, ':')) {
		return false;
	}
	if (wire_left(&t) > 0 && !read_char(&t, ' '))
		return false;
	m->app = tag;
	m->procid = pid;
	*w = t;
	return true;
}

static bool is_host_byte(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
	       c == '-' || c == '_' || c == ':';
}

/* "HOST TAG[PID]:" with HOST a plausible host name or address. */
static bool parse_host_tag(struct wire *w, struct syslog_msg *m)
{
	struct wire t = *w;
	size_t n = 0;

	while (is_host_byte(wire_at(&t, n)))
		n++;
	if (n == 0 || n > 255 || wire_at(&t, n) != ' ')
		return false;
	struct syslog_span host = wire_take(&t, n);
	wire_skip(&t, 1);
	if (!parse_tag(&t, m))
		return false;
	m->host = host;
	*w = t;
	return true;
}

/* HOST is only believed when a tag follows it: busybox and glibc omit it,
 * and a word taken for a host would vanish from the line. iPXE sends
 * "<PRI>HOST ipxe: msg" without a timestamp (src/net/udp/syslog.c). */
static void parse_3164(struct wire *w, struct syslog_msg *m)
{
	bool has_time = parse_3164_time(w, &m->timestamp);

	if (parse_tag(w, m) || parse_host_tag(w, m))
		m->format = SYSLOG_FMT_3164;
	else
		m->format = has_time ? SYSLOG_FMT_3164 : SYSLOG_FMT_RAW;
	m->msg = wire_rest(w);
}

int syslog_parse(const uint8_t *buf, size_t len, struct syslog_msg *out)
{
	struct wire w = wire_reader(buf, len);

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len > 0)
		return -EINVAL;
	/* RFC 3164 4.3.3: no valid PRI means user.notice, all bytes are text. */
	out->facility = SYSLOG_FAC_USER;
	out->severity = SYSLOG_SEV_NOTICE;
	out->format = SYSLOG_FMT_RAW;
	if (!parse_pri(&w, out)) {
		out->msg = wire_rest(&w);
		return 0;
	}
	if (!parse_5424(&w, out))
		parse_3164(&w, out);
	return 0;
}

/* ---- Netconsole -------------------------------------------------------- */

static bool read_number_field(struct wire *h, uint64_t *val)
{
	size_t n = read_digits(h, 19, val);

	return n > 0 && (wire_left(h) == 0 || read_char(h, ','));
}

/* "[release,]level,seq,timestamp,flags[,ncfrag=off/len];" within the first
 * line (Documentation/networking/netconsole.rst). level is a PRI. */
static bool parse_ext_header(struct wire *w, struct syslog_msg *m)
{
	struct wire t = *w;
	size_t n = wire_span_to(&t, ';');
	uint64_t level, seq, usec;

	if (n == 0 || n > 160 || n == wire_left(&t) || wire_span_to(&t, '\n') < n)
		return false;
	struct wire h = wire_sub(&t, n);
	wire_skip(&t, 1);
	size_t first = wire_span_to(&h, ',');
	struct wire digits = h;
	if (read_digits(&digits, 19, NULL) != first) {
		/* A release like "6.1.0-18-amd64" comes first with release=1. */
		wire_skip(&h, first);
		if (!read_char(&h, ','))
			return false;
	}
	if (!read_number_field(&h, &level) || !read_number_field(&h, &seq) ||
	    !read_number_field(&h, &usec) || wire_left(&h) == 0 || level > 191)
		return false;
	m->has_pri = true;
	m->facility = (uint8_t)(level >> 3);
	m->severity = (uint8_t)(level & 7);
	m->kern_seq = seq;
	m->kern_usec = usec;
	m->format = SYSLOG_FMT_NETCONSOLE_EXT;
	*w = t;
	return true;
}

int syslog_parse_netconsole(const uint8_t *buf, size_t len, struct syslog_msg *out)
{
	struct wire w = wire_reader(buf, len);

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len > 0)
		return -EINVAL;
	out->format = SYSLOG_FMT_NETCONSOLE;
	out->facility = SYSLOG_FAC_KERN;
	out->severity = SYSLOG_SEV_INFO;
	parse_ext_header(&w, out);
	out->msg = wire_rest(&w);
	return 0;
}

/* ---- Names ------------------------------------------------------------- */

const char *syslog_facility_name(unsigned facility)
{
	static const char *const names[24] = {
	    "kern",   "user",	"mail",	    "daemon", "auth",	"syslog", "lpr",    "news",
	    "uucp",   "cron",	"authpriv", "ftp",    "ntp",	"audit",  "alert",  "clock",
	    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
	};

	return facility < 24 ? names[facility] : "unknown";
}

const char *syslog_severity_name(unsigned severity)
{
	static const char *const names[8] = {"emerg",	"alert",  "crit", "err",
					     "warning", "notice", "info", "debug"};

	return severity < 8 ? names[severity] : "unknown";
}

/* ---- Lines ------------------------------------------------------------- */

static bool is_line_junk(uint8_t c)
{
	return c == '\r' || c == '\0';
}

bool syslog_line_next(const struct syslog_msg *msg, size_t *pos, struct syslog_span *line)
{
	struct wire w = wire_reader(msg->msg.ptr, msg->msg.len);
	bool first = *pos == 0;

	wire_skip(&w, *pos);
	while (wire_left(&w) > 0) {
		*line = wire_take(&w, wire_span_to(&w, '\n'));
		wire_skip(&w, wire_left(&w) > 0 ? 1 : 0);
		*pos = wire_pos(&w);
		while (line->len > 0 && is_line_junk(line->ptr[line->len - 1]))
			line->len--;
		if (line->len > 0)
			return true;
	}
	if (first && msg->format != SYSLOG_FMT_NETCONSOLE &&
	    msg->format != SYSLOG_FMT_NETCONSOLE_EXT) {
		*line = (struct syslog_span){msg->msg.ptr, 0};
		*pos = msg->msg.len + 1; /* past the end: the next call returns false */
		return true;
	}
	return false;
}

/* ---- Rendering --------------------------------------------------------- */

/* A line under construction. Pieces (a byte, an escape, a UTF-8 sequence) are
 * added whole; `safe` is the last length that still leaves room for the cut
 * mark, so a cut never splits a piece. */
struct line_out {
	char *buf;
	size_t limit;
	size_t len;
	size_t safe;
	bool cut;
};

#define CUT_MARK_LEN (sizeof(SYSLOG_CUT_MARK) - 1)

static void out_piece(struct line_out *o, const void *piece, size_t n)
{
	if (o->cut)
		return;
	if (o->len + n > o->limit) {
		memcpy(o->buf + o->safe, SYSLOG_CUT_MARK, CUT_MARK_LEN);
		o->len = o->safe + CUT_MARK_LEN;
		o->cut = true;
		return;
	}
	memcpy(o->buf + o->len, piece, n);
	o->len += n;
	if (o->len + CUT_MARK_LEN <= o->limit)
		o->safe = o->len;
}

static void out_str(struct line_out *o, const char *s)
{
	for (; *s != '\0'; s++)
		out_piece(o, s, 1);
}

/* Length of the valid, printable UTF-8 sequence at the cursor, or 0. C1
 * controls (U+0080..U+009F) count as invalid: some terminals obey them. */
static size_t utf8_len(const struct wire *w)
{
	int c = wire_at(w, 0);
	size_t len;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = (uint32_t)c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, cp = (uint32_t)c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = (uint32_t)c & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		int cc = wire_at(w, i);
		if (cc < 0 || (cc & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | ((uint32_t)cc & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
		return 0;
	return len;
}

/* Copies text, writing control bytes and invalid UTF-8 as \xHH. Tabs stay. */
static void out_text(struct line_out *o, const struct syslog_span *s)
{
	struct wire w = wire_reader(s->ptr, s->len);

	while (wire_left(&w) > 0 && !o->cut) {
		int c = wire_at(&w, 0);
		size_t n = utf8_len(&w);
		if (n == 0 || (c < 0x20 && c != '\t') || c == 0x7f) {
			char esc[5];
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)c);
			out_piece(o, esc, 4);
			n = 1;
		} else {
			out_piece(o, wire_peek(&w), n);
		}
		wire_skip(&w, n);
	}
}

static struct line_out out_begin(char *buf, size_t line_max, const char *rxtime)
{
	struct line_out o = {buf, line_max < SYSLOG_LINE_MIN ? SYSLOG_LINE_MIN : line_max, 0, 0,
			     false};

	out_str(&o, rxtime);
	return o;
}

static size_t out_end(struct line_out *o)
{
	o->buf[o->len] = '\n';
	return o->len + 1;
}

static void out_pri(struct line_out *o, const struct syslog_msg *m)
{
	out_str(o, " ");
	out_str(o, syslog_facility_name(m->facility));
	out_str(o, ".");
	out_str(o, syslog_severity_name(m->severity));
}

static void out_syslog_prefix(struct line_out *o, const struct syslog_msg *m)
{
	static const struct syslog_span nil = {(const uint8_t *)"-", 1};

	out_pri(o, m);
	if (m->app.len > 0 || m->procid.len > 0) {
		out_str(o, " ");
		out_text(o, m->app.len > 0 ? &m->app : &nil);
	}
	if (m->procid.len > 0) {
		out_str(o, "[");
		out_text(o, &m->procid);
		out_str(o, "]");
	}
	out_str(o, ": ");
}

size_t syslog_format_line(const struct syslog_msg *msg, const struct syslog_span *line,
			  const char *rxtime, size_t line_max, char *buf)
{
	struct line_out o = out_begin(buf, line_max, rxtime);
	char stamp[48];

	switch (msg->format) {
	case SYSLOG_FMT_NETCONSOLE:
		out_str(&o, " kern: ");
		break;
	case SYSLOG_FMT_NETCONSOLE_EXT:
		/* The kernel's own "[%5lu.%06lu]", as plain netconsole shows it. */
		out_pri(&o, msg);
		snprintf(stamp, sizeof(stamp), ": [%5" PRIu64 ".%06" PRIu64 "] ",
			 msg->kern_usec / 1000000, msg->kern_usec % 1000000);
		out_str(&o, stamp);
		break;
	default:
		out_syslog_prefix(&o, msg);
		break;
	}
	out_text(&o, line);
	return out_end(&o);
}

size_t syslog_format_note(const char *rxtime, const char *text, size_t line_max, char *buf)
{
	struct line_out o = out_begin(buf, line_max, rxtime);
	struct syslog_span s = {(const uint8_t *)text, strlen(text)};

	out_str(&o, " herd: ");
	out_text(&o, &s);
	return out_end(&o);
}
