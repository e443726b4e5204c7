/* Syslog and netconsole wire codec: parses one datagram into a typed message
 * and renders it as lines of a per-node log file. No I/O; shared by the log
 * receiver, the tests and the fuzzer.
 *
 * Syslog: RFC 5424 ("<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG"), RFC 3164
 * as real senders write it (with or without timestamp and host), and raw text
 * without a PRI, which RFC 3164 4.3.3 says to treat as user.notice.
 * Netconsole: plain console text, or the extended form the kernel sends with
 * `extended=1` ("level,seq,timestamp,flags;message", optionally preceded by
 * the kernel release when `release=1`).
 *
 * Rendered lines:
 *   <receive time> <facility>.<severity> <app>[<procid>]: <message>
 *   <receive time> kern: <text>                          (plain netconsole)
 *   <receive time> <facility>.<severity>: [sec.usec] <text>  (extended)
 * The "app", "[procid]" parts are left out when the sender gave none. The
 * sender's HOSTNAME, its own timestamp and RFC 5424 structured data are not
 * written: the file already names the node, and the receive time is the one
 * clock all nodes share.
 *
 * Newlines: a message with several lines becomes several log lines, each with
 * the full prefix, so that every line of the file can be grepped on its own.
 * Empty lines and trailing CR/NUL are dropped. Other control bytes, invalid
 * UTF-8 and C1 controls are written as \xHH, so the file is safe to `cat` to
 * a terminal. A line longer than line_max is cut and ends in SYSLOG_CUT_MARK.
 * Datagrams are not reassembled: a console line the kernel sent in pieces
 * (pr_cont, or past netconsole's 1000-byte chunks) gives several lines. */
#ifndef HERD_SYSLOG_WIRE_H
#define HERD_SYSLOG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum syslog_format {
	SYSLOG_FMT_RAW,		   /* no header past an optional PRI: all text */
	SYSLOG_FMT_3164,	   /* BSD syslog, as tolerant as senders need */
	SYSLOG_FMT_5424,	   /* "<PRI>1 ..." */
	SYSLOG_FMT_NETCONSOLE,	   /* plain console text */
	SYSLOG_FMT_NETCONSOLE_EXT, /* "level,seq,timestamp,flags;message" */
};

/* Facilities and severities of RFC 5424 6.2.1. */
#define SYSLOG_FAC_KERN 0
#define SYSLOG_FAC_USER 1
#define SYSLOG_SEV_NOTICE 5
#define SYSLOG_SEV_INFO 6

/* Bytes within the datagram; len 0 means absent (or RFC 5424 nil "-"). */
struct syslog_span {
	const uint8_t *ptr;
	size_t len;
};

struct syslog_msg {
	enum syslog_format format;
	bool has_pri;		      /* false: facility and severity are the defaults */
	uint8_t facility;	      /* 0..23 */
	uint8_t severity;	      /* 0..7 */
	struct syslog_span timestamp; /* the sender's, as sent; not trusted */
	struct syslog_span host;      /* the sender's claim; never a file name */
	struct syslog_span app;	      /* RFC 5424 APP-NAME or RFC 3164 TAG */
	struct syslog_span procid;    /* RFC 5424 PROCID or the TAG's [pid] */
	struct syslog_span msgid;     /* RFC 5424 only */
	struct syslog_span sd;	      /* RFC 5424 structured data, brackets included */
	struct syslog_span msg;	      /* the text, possibly several lines */
	/* Extended netconsole only. */
	uint64_t kern_seq;
	uint64_t kern_usec; /* time since boot */
};

/* Longest app and procid accepted (RFC 5424 6.2.5, 6.2.6). */
#define SYSLOG_APP_MAX 48
#define SYSLOG_PROCID_MAX 128

#define SYSLOG_CUT_MARK " [cut]"
/* Smallest line_max the renderer accepts (conf enforces 64). */
#define SYSLOG_LINE_MIN 64

/* Parses a syslog datagram. Never fails on content: what does not follow a
 * grammar becomes raw text. Returns 0, or -EINVAL if buf is NULL with len. */
int syslog_parse(const uint8_t *buf, size_t len, struct syslog_msg *out);

/* Parses a netconsole datagram (plain or extended). Same contract. */
int syslog_parse_netconsole(const uint8_t *buf, size_t len, struct syslog_msg *out);

const char *syslog_facility_name(unsigned facility);
const char *syslog_severity_name(unsigned severity);

/* Iterates over the lines of msg->msg. Start with *pos = 0; each call stores
 * the next non-empty line in *line (without its newline) and returns true, or
 * returns false when none is left. A syslog message whose text is empty
 * yields one empty line (the event itself is worth a line); a netconsole
 * datagram without text yields none. */
bool syslog_line_next(const struct syslog_msg *msg, size_t *pos, struct syslog_span *line);

/* Renders one line of msg, prefixed by rxtime (a NUL-terminated RFC 3339
 * time of at most 40 bytes), into buf. A line_max below SYSLOG_LINE_MIN is
 * raised to it; buf must hold line_max + 1 bytes. The result is at most
 * line_max bytes plus '\n'. Returns the length including the '\n'. */
size_t syslog_format_line(const struct syslog_msg *msg, const struct syslog_span *line,
			  const char *rxtime, size_t line_max, char *buf);

/* Renders a line of herd's own (a note in a node's file, e.g. about dropped
 * lines): "<rxtime> herd: <text>". Same buffer contract. */
size_t syslog_format_note(const char *rxtime, const char *text, size_t line_max, char *buf);

#endif
