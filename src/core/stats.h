/* Counters reach the outside through a visitor: each module lists its own
 * (name, value, what it counts), and the caller decides what to do with
 * them: one log line per module on SIGUSR1 today, a metrics endpoint later.
 * A module adds a counter by adding a line to its visit function, and every
 * reader sees it. */
#ifndef HERD_CORE_STATS_H
#define HERD_CORE_STATS_H

#include <stdint.h>

enum stat_kind {
	STAT_COUNTER, /* only grows: events since start */
	STAT_GAUGE,   /* a level now */
};

struct stat_visitor {
	void *ctx;
	/* `name` is lower case with underscores, unique within its module;
	 * `help` says what it counts, in a few words. */
	void (*visit)(void *ctx, enum stat_kind kind, const char *name, uint64_t value,
		      const char *help);
};

static inline void stat_counter(const struct stat_visitor *v, const char *name, uint64_t value,
				const char *help)
{
	v->visit(v->ctx, STAT_COUNTER, name, value, help);
}

static inline void stat_gauge(const struct stat_visitor *v, const char *name, uint64_t value,
			      const char *help)
{
	v->visit(v->ctx, STAT_GAUGE, name, value, help);
}

#endif
