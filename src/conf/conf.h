/* herd's configuration: one INI file (read by libinih), validated into typed
 * settings. Every error names the file and line it comes from. */
#ifndef HERD_CONF_CONF_H
#define HERD_CONF_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "core/net.h"

#define CONF_MAX_LISTEN 8
#define CONF_PATH_MAX 1024

struct conf_listen {
	struct netaddr addrs[CONF_MAX_LISTEN];
	unsigned count;
};

struct conf_server {
	char user[64];	     /* empty: stay as we are */
	enum log_level log_level;
	int rcvbuf;	     /* bytes, for every listening socket */
	unsigned max_open_files;
};

struct conf_tftp {
	bool enabled;
	struct conf_listen listen;
	char root[CONF_PATH_MAX];
	unsigned max_transfers;
	unsigned blksize_max;	    /* cap on a client's blksize (RFC 2348) */
	unsigned windowsize_max;    /* cap on a client's windowsize (RFC 7440) */
	unsigned retries;	    /* server retransmissions before giving up */
	unsigned rto_min_ms;	    /* adaptive retransmit timer bounds */
	unsigned rto_max_ms;
	unsigned rto_initial_ms;
	unsigned transfer_sockets;  /* server ports shared by transfers (TIDs) */
	unsigned file_cache_ms;	    /* keep an unused mapping this long */
};

struct conf_logrx {
	bool enabled;
	struct conf_listen syslog;     /* RFC 3164 / 5424 over UDP */
	struct conf_listen netconsole; /* plain UDP lines */
	char dir[CONF_PATH_MAX];
	uint64_t max_file_bytes; /* rotate past this */
	unsigned rotate_keep;	 /* rotated files kept: NAME.log.1 .. .N */
	unsigned line_max;	 /* longer lines are cut */
	unsigned rate_lines;	 /* per sender, lines per second (token refill) */
	unsigned burst_lines;	 /* per sender, token bucket depth */
	unsigned max_senders;	 /* per-sender state entries */
};

struct herd_config {
	char path[CONF_PATH_MAX];
	struct conf_server server;
	struct conf_tftp tftp;
	struct conf_logrx logrx;
};

/* Fills cfg with built-in defaults. */
void conf_defaults(struct herd_config *cfg);

/* Reads and validates `path` over the defaults. Each problem is written to
 * errs as "path:line: reason". Returns the number of problems (0 = usable),
 * or -errno if the file cannot be read (also reported to errs). */
int conf_load(struct herd_config *cfg, const char *path, FILE *errs);

/* Same, from a string (tests, fuzzing); `name` stands for the file name. */
int conf_load_string(struct herd_config *cfg, const char *name, const char *text, FILE *errs);

/* Checks that referenced paths exist and are usable. Same reporting. */
int conf_check_paths(const struct herd_config *cfg, FILE *errs);

/* Writes the effective configuration in the file's own format. */
void conf_print(const struct herd_config *cfg, FILE *out);

#endif
