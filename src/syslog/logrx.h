/* The log receiver: one log file per sending node, fed by syslog and
 * netconsole datagrams. Protocol logic only: it is handed bytes, the sender
 * and the loop's `now`; the sockets live in logrx_io.
 *
 * Files are NAME.log under the log directory, NAME being the node's name
 * from the namer, or the sender's dotted address. Every line starts with the
 * receive time (see syslog_wire.h for the line format). Per sender: a token
 * bucket (cfg->rate_lines per second, cfg->burst_lines deep), so one noisy
 * node cannot starve the others (when it resumes, a line "herd: N lines
 * dropped ..." comes first, at most one such note a second), and a size cap
 * with rotation (NAME.log -> NAME.log.1 -> ... NAME.log.<rotate_keep>).
 * At most cfg->max_senders senders have state (and an open file); the least
 * recently heard is forgotten first. Write errors are counted and reported
 * (rate-limited); the lines are lost, the sender's state stays valid and a
 * later datagram (after 1 s) tries again. Nothing is fsync'ed. */
#ifndef HERD_SYSLOG_LOGRX_H
#define HERD_SYSLOG_LOGRX_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/clock.h"
#include "core/net.h"
#include "core/node_events.h"

enum logrx_source { LOGRX_SYSLOG, LOGRX_NETCONSOLE };

struct logrx_stats {
	uint64_t datagrams;    /* handed to logrx_input() */
	uint64_t lines;	       /* lines written, herd's own notes included */
	uint64_t bytes;	       /* bytes written */
	uint64_t rate_dropped; /* lines dropped by a sender's token bucket */
	uint64_t lost;	       /* lines lost to open or write errors */
	uint64_t write_errors; /* failed open/write/rename calls */
	uint64_t rotations;    /* size-cap rotations */
	uint64_t reopens;      /* logrx_reopen() calls */
	uint64_t evictions;    /* senders forgotten to stay within max_senders */
	uint64_t unknown_dropped; /* datagrams from senders herd does not know, dropped */
	uint32_t senders;      /* senders with state now */
};

/* Longest file base name (without ".log"); longer names are cut. */
#define LOGRX_NAME_MAX 64

/* Maps a sender (IPv4, network order) to a node name; NULL means unknown
 * (the dotted address is used). The answer is sanitised to [A-Za-z0-9._-]
 * and never starts with '.'; it is asked when a sender's file is opened. */
typedef const char *(*logrx_namer_fn)(void *ctx, const struct ipaddr *ip);

/* Writes the current wall time as RFC 3339 into buf (size >= 40 bytes) and
 * returns its length. clock_wall_rfc3339 unless a test replaces it. */
typedef size_t (*logrx_wallclock_fn)(char *buf, size_t size);

/* dirfd: an O_DIRECTORY descriptor of cfg->dir, opened before privileges are
 * dropped. It stays the caller's: keep it open until logrx_free(), then
 * close it. cfg is copied. Returns NULL when out of memory. */
struct logrx *logrx_new(const struct conf_logrx *cfg, int dirfd);
/* A reload: rotation (max_file_bytes, rotate_keep) and the per-sender
 * rate (rate_lines, burst_lines) take effect now; the listen addresses,
 * the directory, line_max and max_senders are fixed while herd runs. */
void logrx_reconfigure(struct logrx *rx, const struct conf_logrx *cfg);
void logrx_free(struct logrx *rx);

/* With `known_only`, a datagram from a sender the namer does not know is
 * dropped and counted before any state or file is made for it: a flood
 * from spoofed or foreign addresses costs no memory and no files. */
void logrx_set_namer(struct logrx *rx, logrx_namer_fn namer, void *ctx, bool known_only);
/* The node state hears of every line filed (not those dropped), as it is
 * written in the file (receive time, facility.severity, tag, text). */
void logrx_set_events(struct logrx *rx, const struct node_events *ev);
void logrx_set_wallclock(struct logrx *rx, logrx_wallclock_fn wallclock);

/* One datagram from peer. Each line it holds is rate-limited, formatted and
 * appended to the sender's file, in one write() when the lines fit in the
 * write buffer. The wall time is read once per distinct `now`. */
void logrx_input(struct logrx *rx, enum logrx_source src, const struct netaddr *peer,
		 const uint8_t *buf, size_t len, mono_t now);

/* On SIGHUP, after logrotate moved the files: closes every file; each is
 * reopened (under the name the namer gives then) at its sender's next line. */
void logrx_reopen(struct logrx *rx);

void logrx_stats(const struct logrx *rx, struct logrx_stats *out);

/* The most memory the receiver's state can take with this configuration
 * (max_senders senders, their hash, the buffers). */
uint64_t logrx_memory(const struct conf_logrx *cfg);

#endif
