#include "dhcp/dhcp_wire.h"

#include <errno.h>
#include <string.h>

/* Appends one option instance to the gathered value of its code. Instances
 * of one code are joined (RFC 3396); the joined bytes live in m->optbuf. */
static int gather(struct dhcp_msg *m, uint8_t code, struct wire *val)
{
	struct dhcp_optval *o = &m->opts[code];
	size_t len = wire_left(val);

	if (o->present && o->off + o->len != m->optlen) {
		/* Not the last one gathered: move it to the end first. */
		if (m->optlen + o->len + len > sizeof(m->optbuf))
			return -EBADMSG;
		memmove(m->optbuf + m->optlen, m->optbuf + o->off, o->len);
		o->off = m->optlen;
		m->optlen += o->len;
	}
	if (m->optlen + len > sizeof(m->optbuf))
		return -EBADMSG;
	if (!o->present) {
		o->present = true;
		o->off = m->optlen;
		o->len = 0;
	}
	wire_read(val, m->optbuf + m->optlen, len);
	m->optlen += (uint16_t)len;
	o->len += (uint16_t)len;
	return 0;
}

/* Walks one options field. An option overrunning its field fails the
 * message; a missing END is tolerated (common in the wild). */
static int parse_field(struct dhcp_msg *m, struct wire *w, bool main_field, uint8_t *overload)
{
	while (wire_left(w) > 0) {
		uint8_t code = wire_u8(w);
		if (code == DHO_PAD)
			continue;
		if (code == DHO_END)
			return 0;
		uint8_t len = wire_u8(w);
		struct wire val = wire_sub(w, len);
		if (!wire_ok(w))
			return -EBADMSG;
		if (code == DHO_OVERLOAD) {
			/* Only honoured in the options field: no overload loops. */
			if (main_field && len == 1)
				*overload = wire_u8(&val);
			continue;
		}
		if (gather(m, code, &val) < 0)
			return -EBADMSG;
	}
	return 0;
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int parse_options(struct dhcp_msg *m, struct wire *w, const uint8_t *sname,
			 const uint8_t *file)
{
	uint8_t overload = 0;
	int err = parse_field(m, w, true, &overload);

	if (err == 0 && (overload & 1)) {
		struct wire f = wire_reader(file, 128);
		err = parse_field(m, &f, false, &overload);
		m->file[0] = '\0';
	}
	if (err == 0 && (overload & 2)) {
		struct wire s = wire_reader(sname, 64);
		err = parse_field(m, &s, false, &overload);
		m->sname[0] = '\0';
	}
	return err;
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	struct wire w = wire_reader(buf, len);
	const uint8_t *sname, *file;

	memset(m, 0, offsetof(struct dhcp_msg, optbuf));
	m->op = wire_u8(&w);
	m->htype = wire_u8(&w);
	m->hlen = wire_u8(&w);
	m->hops = wire_u8(&w);
	m->xid = wire_u32(&w);
	m->secs = wire_u16(&w);
	m->flags = wire_u16(&w);
	wire_read(&w, &m->ciaddr, 4);
	wire_read(&w, &m->yiaddr, 4);
	wire_read(&w, &m->siaddr, 4);
	wire_read(&w, &m->giaddr, 4);
	wire_read(&w, m->chaddr, 16);
	sname = wire_peek(&w);
	wire_skip(&w, 64);
	file = wire_peek(&w);
	wire_skip(&w, 128);
	if (!wire_ok(&w) || m->hlen > 16)
		return -EBADMSG;
	copy_str(m->sname, sname, strnlen((const char *)sname, 64));
	copy_str(m->file, file, strnlen((const char *)file, 128));
	if (wire_left(&w) < 4)
		return 0; /* BOOTP without a vendor area */
	if (wire_u32(&w) != DHCP_COOKIE) {
		/* An empty (zeroed) vendor area is BOOTP; anything else with a
		 * wrong cookie is not a message we can read safely. */
		const uint8_t *v = wire_peek(&w) - 4;
		for (size_t i = 0; i < wire_left(&w) + 4; i++)
			if (v[i] != 0)
				return -EBADMSG;
		return 0;
	}
	m->has_cookie = true;
	if (parse_options(m, &w, sname, file) < 0)
		return -EBADMSG;
	if (m->opts[DHO_MSG_TYPE].present) {
		uint8_t t;
		if (!dhcp_opt_u8(m, DHO_MSG_TYPE, &t) || t < DHCPDISCOVER || t > DHCPINFORM)
			return -EBADMSG;
		m->type = (enum dhcp_type)t;
	}
	return 0;
}

const uint8_t *dhcp_opt(const struct dhcp_msg *m, uint8_t code, size_t *len)
{
	const struct dhcp_optval *o = &m->opts[code];

	if (!o->present)
		return NULL;
	*len = o->len;
	return m->optbuf + o->off;
}

static bool opt_exact(const struct dhcp_msg *m, uint8_t code, size_t want, void *out)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, code, &len);

	if (p == NULL || len != want)
		return false;
	memcpy(out, p, want);
	return true;
}

bool dhcp_opt_u8(const struct dhcp_msg *m, uint8_t code, uint8_t *v)
{
	return opt_exact(m, code, 1, v);
}

bool dhcp_opt_u16(const struct dhcp_msg *m, uint8_t code, uint16_t *v)
{
	uint8_t b[2];

	if (!opt_exact(m, code, 2, b))
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

bool dhcp_opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *v)
{
	uint8_t b[4];

	if (!opt_exact(m, code, 4, b))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

bool dhcp_opt_ip(const struct dhcp_msg *m, uint8_t code, uint32_t *ip_be)
{
	return opt_exact(m, code, 4, ip_be);
}

bool dhcp_opt_prefix(const struct dhcp_msg *m, uint8_t code, const char *prefix)
{
	size_t len, plen = strlen(prefix);
	const uint8_t *p = dhcp_opt(m, code, &len);

	return p != NULL && len >= plen && memcmp(p, prefix, plen) == 0;
}

const uint8_t *dhcp_relay_sub(const struct dhcp_msg *m, uint8_t sub, size_t *len)
{
	size_t optlen;
	const uint8_t *opt = dhcp_opt(m, DHO_RELAY_AGENT, &optlen);
	struct wire w = wire_reader(opt, opt ? optlen : 0);

	while (wire_left(&w) >= 2) {
		uint8_t code = wire_u8(&w), sublen = wire_u8(&w);
		struct wire val = wire_sub(&w, sublen);
		if (!wire_ok(&w))
			return NULL;
		if (code == sub) {
			*len = sublen;
			return wire_peek(&val);
		}
	}
	return NULL;
}

bool dhcp_wants(const struct dhcp_msg *m, uint8_t code)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, DHO_PARAM_LIST, &len);

	return p != NULL && memchr(p, code, len) != NULL;
}

void dhcp_build_start(struct dhcp_builder *b, uint8_t *buf, size_t cap, size_t limit,
		      const struct dhcp_msg *req, enum dhcp_type type, uint32_t yiaddr,
		      uint32_t siaddr, const char *sname, const char *file)
{
	uint8_t name[64] = {0}, path[128] = {0};

	b->w = wire_writer(buf, cap);
	b->limit = limit < cap ? limit : cap;
	wire_put_u8(&b->w, DHCP_BOOTREPLY);
	wire_put_u8(&b->w, req->htype);
	wire_put_u8(&b->w, req->hlen);
	wire_put_u8(&b->w, 0);
	wire_put_u32(&b->w, req->xid);
	wire_put_u16(&b->w, 0);
	wire_put_u16(&b->w, req->flags);
	wire_put(&b->w, type == DHCPINFORM ? &req->ciaddr : &(uint32_t){0}, 4); /* ciaddr */
	wire_put(&b->w, &yiaddr, 4);
	wire_put(&b->w, &siaddr, 4);
	wire_put(&b->w, &req->giaddr, 4);
	wire_put(&b->w, req->chaddr, 16);
	if (sname)
		strncpy((char *)name, sname, sizeof(name) - 1);
	if (file)
		strncpy((char *)path, file, sizeof(path) - 1);
	wire_put(&b->w, name, sizeof(name));
	wire_put(&b->w, path, sizeof(path));
	wire_put_u32(&b->w, DHCP_COOKIE);
	if (type != DHCP_BOOTP)
		dhcp_build_u8(b, DHO_MSG_TYPE, (uint8_t)type);
}

void dhcp_build_opt(struct dhcp_builder *b, uint8_t code, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* Longer than 255 bytes: split into instances (RFC 3396). Keep room
	 * for the END option within the client's limit. */
	do {
		size_t n = len > 255 ? 255 : len;
		if (wire_pos(&b->w) + 2 + n + 1 > b->limit) {
			wire_fail(&b->w);
			return;
		}
		wire_put_u8(&b->w, code);
		wire_put_u8(&b->w, (uint8_t)n);
		wire_put(&b->w, p, n);
		p += n;
		len -= n;
	} while (len > 0);
}

void dhcp_build_u8(struct dhcp_builder *b, uint8_t code, uint8_t v)
{
	dhcp_build_opt(b, code, &v, 1);
}

void dhcp_build_u16(struct dhcp_builder *b, uint8_t code, uint16_t v)
{
	uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	dhcp_build_opt(b, code, d, 2);
}

void dhcp_build_u32(struct dhcp_builder *b, uint8_t code, uint32_t v)
{
	uint8_t d[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	dhcp_build_opt(b, code, d, 4);
}

void dhcp_build_ip(struct dhcp_builder *b, uint8_t code, uint32_t ip_be)
{
	dhcp_build_opt(b, code, &ip_be, 4);
}

void dhcp_build_str(struct dhcp_builder *b, uint8_t code, const char *s)
{
	dhcp_build_opt(b, code, s, strlen(s));
}

size_t dhcp_build_end(struct dhcp_builder *b)
{
	wire_put_u8(&b->w, DHO_END);
	while (wire_ok(&b->w) && wire_pos(&b->w) < DHCP_MIN_LEN)
		wire_put_u8(&b->w, DHO_PAD);
	return wire_ok(&b->w) ? wire_pos(&b->w) : 0;
}

size_t dhcp_build_request(uint8_t *buf, size_t cap, enum dhcp_type type, uint32_t xid,
			  const uint8_t mac[6], uint32_t ciaddr, uint32_t requested,
			  uint32_t server_id, uint16_t arch, const char *vendor_class,
			  const char *user_class)
{
	struct dhcp_builder b;
	struct dhcp_msg req;
	static const uint8_t params[] = {1, 3, 6, 7, 12, 15, 28, 43, 60, 66, 67};

	memset(&req, 0, offsetof(struct dhcp_msg, optbuf));
	req.htype = 1;
	req.hlen = 6;
	req.xid = xid;
	req.ciaddr = ciaddr;
	memcpy(req.chaddr, mac, 6);
	dhcp_build_start(&b, buf, cap, cap, &req, type, 0, 0, NULL, NULL);
	buf[0] = DHCP_BOOTREQUEST;
	memcpy(buf + 12, &ciaddr, 4);
	if (requested)
		dhcp_build_ip(&b, DHO_REQUESTED_IP, requested);
	if (server_id)
		dhcp_build_ip(&b, DHO_SERVER_ID, server_id);
	dhcp_build_opt(&b, DHO_PARAM_LIST, params, sizeof(params));
	if (arch != 0xffff) {
		dhcp_build_u16(&b, DHO_CLIENT_ARCH, arch);
		dhcp_build_opt(&b, DHO_CLIENT_NDI, (const uint8_t[]){1, 2, 1}, 3);
	}
	if (vendor_class)
		dhcp_build_str(&b, DHO_VENDOR_CLASS, vendor_class);
	if (user_class)
		dhcp_build_str(&b, DHO_USER_CLASS, user_class);
	return dhcp_build_end(&b);
}

const char *dhcp_type_name(enum dhcp_type t)
{
	static const char *const names[] = {"BOOTP", "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
					    "ACK",   "NAK",	 "RELEASE", "INFORM"};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

bool dhcp_is_ipxe(const struct dhcp_msg *m)
{
	size_t len;
	const uint8_t *uc = dhcp_opt(m, DHO_USER_CLASS, &len);

	if (m->opts[DHO_IPXE_ENCAP].present)
		return true;
	/* Raw "iPXE", or the RFC 3004 form with a length byte before it. */
	return uc != NULL && memmem(uc, len, "iPXE", 4) != NULL;
}

bool dhcp_is_http_boot(const struct dhcp_msg *m)
{
	return dhcp_opt_prefix(m, DHO_VENDOR_CLASS, "HTTPClient");
}

bool dhcp_is_pxe(const struct dhcp_msg *m)
{
	return dhcp_opt_prefix(m, DHO_VENDOR_CLASS, "PXEClient") || dhcp_is_http_boot(m);
}
