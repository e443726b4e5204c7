#include "tftp/tftp_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "core/wire.h"

/* Reads a decimal option value; false for empty, signs, junk or overflow. */
static bool parse_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Records one option; the first occurrence of a name wins. */
static void opts_set(struct tftp_opts *o, const char *name, const char *val, size_t val_len)
{
	uint64_t v = 0;
	bool num = parse_decimal(val, val_len, &v);

	if (strcasecmp(name, "blksize") == 0) {
		if (!o->has_blksize && num && v >= TFTP_BLKSIZE_MIN && v <= TFTP_BLKSIZE_MAX) {
			o->has_blksize = true;
			o->blksize = (uint32_t)v;
		}
	} else if (strcasecmp(name, "tsize") == 0) {
		if (!o->has_tsize && num) {
			o->has_tsize = true;
			o->tsize = v;
		}
	} else if (strcasecmp(name, "timeout") == 0) {
		if (!o->has_timeout && num && v >= 1 && v <= 255) {
			o->has_timeout = true;
			o->timeout = (uint32_t)v;
		}
	} else if (strcasecmp(name, "windowsize") == 0) {
		if (!o->has_windowsize && num && v >= 1 && v <= 65535) {
			o->has_windowsize = true;
			o->windowsize = (uint32_t)v;
		}
	} else {
		o->unknown++;
	}
}

/* Reads name/value pairs to the end. Clients differ in what they leave at
 * the end (a stray NUL, a name without value): an incomplete tail is
 * ignored rather than failing the whole request. */
static void parse_opts(struct wire *w, struct tftp_opts *o)
{
	while (wire_left(w) > 0) {
		size_t nlen, vlen;
		const char *name = wire_cstr(w, &nlen);
		const char *val = wire_cstr(w, &vlen);
		if (name == NULL || val == NULL)
			return;
		if (nlen > 0)
			opts_set(o, name, val, vlen);
	}
}

static int parse_req(struct wire *w, struct tftp_pkt *out)
{
	size_t mlen;
	const char *mode;

	out->req.name = wire_cstr(w, &out->req.name_len);
	mode = wire_cstr(w, &mlen);
	if (!wire_ok(w))
		return -EBADMSG;
	if (strcasecmp(mode, "octet") == 0)
		out->req.mode = TFTP_MODE_OCTET;
	else if (strcasecmp(mode, "netascii") == 0)
		out->req.mode = TFTP_MODE_NETASCII;
	else
		out->req.mode = TFTP_MODE_OTHER;
	parse_opts(w, &out->req.opts);
	return 0;
}

int tftp_parse(const uint8_t *buf, size_t len, struct tftp_pkt *out)
{
	struct wire w = wire_reader(buf, len);

	memset(out, 0, sizeof(*out));
	out->op = (enum tftp_op)wire_u16(&w);
	if (!wire_ok(&w))
		return -EBADMSG;
	switch (out->op) {
	case TFTP_RRQ:
	case TFTP_WRQ:
		return parse_req(&w, out);
	case TFTP_DATA:
		out->data.block = wire_u16(&w);
		out->data.len = wire_left(&w);
		out->data.data = wire_peek(&w);
		return wire_ok(&w) ? 0 : -EBADMSG;
	case TFTP_ACK:
		/* Some clients pad ACKs; the block number is all that counts. */
		out->ack.block = wire_u16(&w);
		return wire_ok(&w) ? 0 : -EBADMSG;
	case TFTP_ERROR:
		out->error.code = wire_u16(&w);
		if (!wire_ok(&w))
			return -EBADMSG;
		out->error.msg = wire_cstr(&w, &out->error.msg_len);
		return 0; /* a missing message is tolerated */
	case TFTP_OACK:
		parse_opts(&w, &out->oack);
		return 0;
	}
	return -EPROTO;
}

static void put_opt(struct wire *w, const char *name, uint64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, value);
	wire_put_cstr(w, name);
	wire_put_cstr(w, num);
}

static void put_opts(struct wire *w, const struct tftp_opts *o)
{
	if (o->has_blksize)
		put_opt(w, "blksize", o->blksize);
	if (o->has_tsize)
		put_opt(w, "tsize", o->tsize);
	if (o->has_timeout)
		put_opt(w, "timeout", o->timeout);
	if (o->has_windowsize)
		put_opt(w, "windowsize", o->windowsize);
}

size_t tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_opts *o)
{
	struct wire w = wire_writer(buf, cap);

	wire_put_u16(&w, TFTP_OACK);
	put_opts(&w, o);
	return wire_ok(&w) ? wire_pos(&w) : 0;
}

size_t tftp_build_error(uint8_t *buf, size_t cap, enum tftp_errcode code, const char *msg)
{
	struct wire w = wire_writer(buf, cap);

	wire_put_u16(&w, TFTP_ERROR);
	wire_put_u16(&w, (uint16_t)code);
	wire_put_cstr(&w, msg);
	return wire_ok(&w) ? wire_pos(&w) : 0;
}

size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	struct wire w = wire_writer(buf, cap);

	wire_put_u16(&w, TFTP_ACK);
	wire_put_u16(&w, block);
	return wire_ok(&w) ? wire_pos(&w) : 0;
}

size_t tftp_build_data_hdr(uint8_t *buf, size_t cap, uint16_t block)
{
	struct wire w = wire_writer(buf, cap);

	wire_put_u16(&w, TFTP_DATA);
	wire_put_u16(&w, block);
	return wire_ok(&w) ? wire_pos(&w) : 0;
}

size_t tftp_build_rrq(uint8_t *buf, size_t cap, const char *name, enum tftp_mode mode,
		      const struct tftp_opts *o)
{
	struct wire w = wire_writer(buf, cap);

	wire_put_u16(&w, TFTP_RRQ);
	wire_put_cstr(&w, name);
	wire_put_cstr(&w, mode == TFTP_MODE_NETASCII ? "netascii" : "octet");
	if (o)
		put_opts(&w, o);
	return wire_ok(&w) ? wire_pos(&w) : 0;
}
