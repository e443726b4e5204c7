/* The swarm's HTTP stage: what iPXE does after its DHCP exchange when the
 * boot file or its script names http:// URLs. One TCP connection per client
 * (the kernel's TCP, through struct swarm_tx), HTTP/1.1 requests as iPXE
 * sends them (Host, User-Agent, Connection: keep-alive; no Range), one at a
 * time and in order, on the same connection while the server keeps it
 * alive. docs/SWARM-HTTP.md says which iPXE behaviour is modelled and why.
 *
 * Two ways in: --url (the bench: every client fetches the same URLs, each
 * checked against a local copy), or the iPXE stage of --chain (the boot file
 * is the script: fetched over HTTP or TFTP, then every kernel, initrd and
 * module line it names, over HTTP or TFTP as its URL says).
 *
 * Like swarm_client.c: no sockets and no clock here. */
#ifndef HERD_SWARM_HTTP_H
#define HERD_SWARM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

struct swarm;
struct swarm_client;

#define SWARM_URL_PATH_MAX 192	/* a path in a URL (herd's are far shorter) */
#define SWARM_HTTP_ITEMS 6	/* the script, the kernel and up to 4 initrds */
#define SWARM_HTTP_HDR_MAX 4096 /* a response's status line and headers */
#define SWARM_SCRIPT_MAX 16384	/* an iPXE script */
#define SWARM_MAX_URLS 4	/* --url */

/* One thing to fetch: http://IP[:PORT]/PATH or tftp://IP/PATH. */
struct swarm_url {
	bool tftp;
	uint32_t ip; /* network order */
	uint16_t port;
	int8_t verify;		       /* index into the --url copies, or -1: not checked */
	char path[SWARM_URL_PATH_MAX]; /* HTTP: "/..." as sent; TFTP: the file name */
};

/* Parses an absolute http:// or tftp:// URL whose host is an IPv4 address
 * (the swarm has no resolver), or one relative to `base` (may be NULL).
 * Returns 0 or -EINVAL. */
int swarm_url_parse(const char *text, const struct swarm_url *base, struct swarm_url *out);

/* The URLs an iPXE script fetches: the first word after `kernel`, `initrd`,
 * `imgfetch`, `module`, `chain` and `imgexec` (their options skipped), in
 * order, resolved against `base`. Returns how many (at most max), or
 * -EINVAL if one is not a URL the swarm can fetch, -ENOENT if there are
 * none. */
int swarm_script_urls(const char *script, size_t len, const struct swarm_url *base,
		      struct swarm_url *out, unsigned max);

/* The response head: status line and headers up to the empty line. */
struct swarm_http_head {
	unsigned status;
	bool keepalive; /* HTTP/1.1 unless `Connection: close` (iPXE's rule) */
	bool has_length;
	bool chunked;	   /* Transfer-Encoding: chunked */
	bool other_coding; /* another Transfer-Encoding: iPXE refuses it */
	uint64_t length;
};

/* Parses a response head of `len` bytes (ending with the empty line).
 * Returns 0 or -EINVAL (not HTTP, a bad status or Content-Length). */
int swarm_http_parse_head(const char *buf, size_t len, struct swarm_http_head *out);

/* Builds iPXE's GET request. Returns its length, or 0 if it does not fit. */
size_t swarm_http_build_get(char *buf, size_t cap, const struct swarm_url *u);

/* Expected contents of --url number i. */
struct swarm_http_copy {
	const uint8_t *data;
	uint64_t size;
};

/* What every client shares, and the HTTP counters. */
struct swarm_http {
	unsigned nurls; /* --url: every client starts straight at these */
	struct swarm_url urls[SWARM_MAX_URLS];
	struct swarm_http_copy copies[SWARM_MAX_URLS];
	bool follow;	       /* --chain: the iPXE stage follows its script */
	uint32_t stall_ms;     /* give up after this long without a byte (0: never, as iPXE) */
	uint64_t connects;     /* connections opened */
	uint64_t connect_fail; /* refused, unreachable, or not up in time */
	uint64_t requests;     /* GETs sent */
	uint64_t reused;       /* ... on a connection kept alive */
	uint64_t responses;    /* complete response heads */
	uint64_t bad_status;   /* ... not 2xx */
	uint64_t closed_early; /* closed or reset before the body ended */
	uint64_t malformed;    /* heads it could not read */
	uint64_t bytes;	       /* body bytes, every download */
	uint64_t wire_in;      /* every byte read from the sockets (heads too) */
	uint64_t tftp_items;   /* script items fetched over TFTP */
};

/* Starts the HTTP stage of c: the --url list, or (bootname != NULL) the
 * iPXE script the DHCP ACK named and what it names. */
void swarm_http_begin(struct swarm *sw, struct swarm_client *c, const char *bootname, mono_t now);

/* A TFTP item of the stage ended well, or not (the client failed):
 * returns true if the stage took over (fetches its next item). */
bool swarm_http_tftp_done(struct swarm *sw, struct swarm_client *c, mono_t now);
/* Bytes of a TFTP item (kept if it is the script). */
void swarm_http_tftp_data(struct swarm_client *c, const uint8_t *data, size_t len);

/* From the I/O layer: the connection is up (err 0) or could not be made;
 * bytes came; the server closed (err 0) or reset it. */
void swarm_http_connected(struct swarm *sw, struct swarm_client *c, int err, mono_t now);
void swarm_http_input(struct swarm *sw, struct swarm_client *c, const uint8_t *buf, size_t len,
		      mono_t now);
void swarm_http_closed(struct swarm *sw, struct swarm_client *c, int err, mono_t now);
void swarm_http_timeout(struct swarm *sw, struct swarm_client *c, mono_t now);

/* Frees c's HTTP state (at a safe point: never inside a call above). */
void swarm_http_release(struct swarm_client *c);

#endif
