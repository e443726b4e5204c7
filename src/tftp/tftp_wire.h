/* TFTP wire codec (RFC 1350, 2347, 2348, 2349, 7440): parses a datagram into
 * a typed packet and builds replies. No I/O; shared by the server, the load
 * generator and the fuzzers. */
#ifndef HERD_TFTP_WIRE_H
#define HERD_TFTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_op {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

enum tftp_errcode {
	TFTP_EUNDEF = 0,
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,
	TFTP_EBADID = 5,
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8,
};

enum tftp_mode { TFTP_MODE_OCTET, TFTP_MODE_NETASCII, TFTP_MODE_OTHER };

#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN 8
#define TFTP_BLKSIZE_MAX 65464
#define TFTP_HDR 4
/* Longest file name herd considers; longer requests are refused. */
#define TFTP_NAME_MAX 512

/* Options as the client sent them (RFC 2347); has_* false when absent or
 * out of the range its RFC allows (such an option is ignored, not refused). */
struct tftp_opts {
	bool has_blksize, has_tsize, has_timeout, has_windowsize;
	uint32_t blksize;    /* RFC 2348: 8..65464 */
	uint64_t tsize;	     /* RFC 2349 */
	uint32_t timeout;    /* RFC 2349: 1..255 seconds */
	uint32_t windowsize; /* RFC 7440: 1..65535 */
	unsigned unknown;    /* options we do not know (never acknowledged) */
};

static inline bool tftp_opts_any(const struct tftp_opts *o)
{
	return o->has_blksize || o->has_tsize || o->has_timeout || o->has_windowsize;
}

struct tftp_pkt {
	enum tftp_op op;
	union {
		struct {
			const char *name; /* within the datagram, NUL-terminated */
			size_t name_len;
			enum tftp_mode mode;
			struct tftp_opts opts;
		} req; /* RRQ, WRQ */
		struct {
			uint16_t block;
			const uint8_t *data;
			size_t len;
		} data;
		struct {
			uint16_t block;
		} ack;
		struct {
			uint16_t code;
			const char *msg; /* NULL if missing */
			size_t msg_len;
		} error;
		struct tftp_opts oack;
	};
};

/* Returns 0, or -EBADMSG for a malformed datagram, -EPROTO for an unknown
 * opcode. */
int tftp_parse(const uint8_t *buf, size_t len, struct tftp_pkt *out);

/* Builders return the length written, or 0 if cap is too small. */
size_t tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_opts *o);
size_t tftp_build_error(uint8_t *buf, size_t cap, enum tftp_errcode code, const char *msg);
size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
size_t tftp_build_data_hdr(uint8_t *buf, size_t cap, uint16_t block);
size_t tftp_build_rrq(uint8_t *buf, size_t cap, const char *name, enum tftp_mode mode,
		      const struct tftp_opts *o);

#endif
