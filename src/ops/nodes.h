/* The boot state of every node, from what herd itself sees: the DHCP
 * reply, the stage-1 loader, the kernel and initrd transfers, the first
 * line of its log, a marker line ([status] up_marker) -- or a failure,
 * with the stage where it stopped and why.
 *
 * Fixed memory: [status] max_nodes entries allocated at start, found by
 * MAC through a hash, and by IPv4 address through a second one (TFTP, HTTP
 * and syslog know only the address). Nodes in a stage with a deadline are
 * kept in one list ordered by when they entered it: the same timeout for
 * every stage means the oldest is the first to expire, so nodes_tick()
 * looks only at the head. Protocol logic never reads a clock: every call
 * takes `now`; wall times in the JSON are derived from `now` and the wall
 * clock read when the JSON is made.
 *
 * The rooms report through struct node_events (core/node_events.h):
 * nodes_events() fills one that feeds this table. */
#ifndef HERD_OPS_NODES_H
#define HERD_OPS_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/node_events.h"
#include "core/stats.h"

enum node_stage {
	NODE_DHCP,
	NODE_LOADER,
	NODE_KERNEL,
	NODE_INITRD,
	NODE_LOGGING,
	NODE_UP,
	NODE_FAILED,
	NODE_NSTAGES
};

extern const char *const node_stage_names[NODE_NSTAGES];
/* The stage of that name, or NODE_NSTAGES if none is. */
enum node_stage node_stage_of(const char *name);

/* What a file is to a node (struct node_events' xfer_start code). */
enum node_file {
	NODE_FILE_OTHER = 0, /* a script or a configuration: not followed */
	NODE_FILE_LOADER,
	NODE_FILE_KERNEL,
	NODE_FILE_INITRD,
};

struct nodes_conf {
	uint32_t max_nodes;
	unsigned stage_timeout_s; /* 0: no deadline */
	char up_marker[128];	  /* a substring of a log line; "": none */
};

struct nodes;

struct nodes *nodes_new(const struct nodes_conf *conf);
void nodes_free(struct nodes *n);
/* A reload: the timeout and the marker take effect now; max_nodes is
 * fixed. */
void nodes_reconfigure(struct nodes *n, const struct nodes_conf *conf);

/* A struct node_events that feeds n. */
void nodes_events(struct nodes *n, struct node_events *ev);

/* The per-stage deadline: nodes past it fail ("timeout"). Called from a
 * loop timer at nodes_next_deadline(). */
void nodes_tick(struct nodes *n, mono_t now);
mono_t nodes_next_deadline(const struct nodes *n);

/* The last lines of a node's log, for the one-node JSON: writes up to
 * `max` lines into `out` (each malloc'd) and returns how many. */
typedef unsigned (*nodes_log_tail_fn)(void *ctx, const char *name, char **out, unsigned max);
void nodes_set_log_tail(struct nodes *n, nodes_log_tail_fn fn, void *ctx);

/* The JSON of every node (name NULL) or of one (with its timeline and log
 * tail), as docs/STATUS.md says: malloc'd into *out (*len bytes, NUL
 * terminated). 0, -ENOENT (no node of that name) or -ENOMEM. */
int nodes_json(const struct nodes *n, mono_t now, const char *name_or_NULL, char **out,
	       size_t *len);

/* Several servers ([cluster]): what this table publishes, and the nodes
 * the other servers boot, shown beside its own. */
struct node_brief {
	uint8_t mac[6];
	uint32_t ip; /* network order; 0: none */
	enum node_stage stage, failed_stage;
	const char *name, *group, *why;
	double since_s; /* in this stage for so long */
	uint64_t bytes;
};
/* Calls fn for every node changed (a stage, a name, an address) since
 * the version `since` (what was published: the nodes it covers are
 * forgotten, the others kept for the next call); returns the version now
 * (0 at start). */
uint64_t nodes_changed(struct nodes *n, uint64_t since, mono_t now,
		       void (*fn)(void *ctx, const struct node_brief *b), void *ctx);
struct nodes_others {
	void *ctx;
	/* Adds the other servers' nodes to counts. */
	void (*count)(void *ctx, uint32_t counts[NODE_NSTAGES]);
	/* Writes their nodes as JSON objects into f (name: only that one,
	 * with an empty timeline and log tail: its log is on its server),
	 * each preceded by a comma unless `first`; returns how many. */
	unsigned (*json)(void *ctx, FILE *f, const char *name_or_NULL, bool first);
};
/* Every node of this table is then said to be booted by `server`. */
void nodes_set_others(struct nodes *n, const char *server, const struct nodes_others *o);

/* Writes s as a JSON string (quoted, escaped). */
void nodes_json_str(FILE *f, const char *s);

/* Gauges nodes_<stage> per stage, histograms stage_seconds_<stage> (the
 * time a node spent in each stage before up), and counters. */
void nodes_stats_visit(const struct nodes *n, const struct stat_visitor *v);

/* How many nodes are in stage s. */
uint32_t nodes_count(const struct nodes *n, enum node_stage s);

/* The most memory the table takes with this configuration. */
uint64_t nodes_memory(const struct nodes_conf *conf);

/* What a file is to a node whose DHCP boot file was `loader`: the loader
 * if its base name is the boot file's, then a kernel or an initrd by its
 * base name (vmlinuz*, vmlinux*, bzImage*, linux*, kernel*; initrd*,
 * initramfs*; not *.c32, *.0, *.efi, *.kpxe, *.cfg, *.ipxe), else
 * nothing followed. TODO(A): ask boot policy (boot_files()) for the
 * node's own kernel and initrd, for names that say nothing. */
enum node_file nodes_classify_name(const char *loader, const char *file);

#endif
