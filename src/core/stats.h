/* Counters reach the outside through a visitor: each module lists its own
 * (name, value, what it counts), and the caller decides what to do with
 * them: one log line per module on SIGUSR1, and /metrics (ops/metrics.c).
 * A module adds a counter by adding a line to its visit function, and every
 * reader sees it. */
#ifndef HERD_CORE_STATS_H
#define HERD_CORE_STATS_H

#include <stdint.h>

enum stat_kind {
	STAT_COUNTER,	/* only grows: events since start */
	STAT_GAUGE,	/* a level now */
	STAT_HISTOGRAM, /* durations in buckets: through visit_hist */
};

/* A distribution of durations: fixed upper bounds in seconds (ascending,
 * at most STAT_HIST_MAX), a count per bucket (not cumulative: the last one
 * is above every bound), their sum in seconds and their number. A module
 * keeps one per thing it times and calls stat_hist_observe(). */
#define STAT_HIST_MAX 16
struct stat_hist {
	const double *bounds;
	unsigned nbounds;
	uint64_t counts[STAT_HIST_MAX + 1];
	double sum;
	uint64_t count;
};

static inline void stat_hist_init(struct stat_hist *h, const double *bounds, unsigned nbounds)
{
	*h = (struct stat_hist){.bounds = bounds,
				.nbounds = nbounds < STAT_HIST_MAX ? nbounds : STAT_HIST_MAX};
}

static inline void stat_hist_observe(struct stat_hist *h, double seconds)
{
	unsigned i = 0;

	while (i < h->nbounds && seconds > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += seconds;
	h->count++;
}

struct stat_visitor {
	void *ctx;
	/* `name` is lower case with underscores, unique within its module;
	 * `help` says what it counts, in a few words. */
	void (*visit)(void *ctx, enum stat_kind kind, const char *name, uint64_t value,
		      const char *help);
	/* Histograms; NULL: the reader skips them (the SIGUSR1 line). */
	void (*visit_hist)(void *ctx, const char *name, const struct stat_hist *h,
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

static inline void stat_histogram(const struct stat_visitor *v, const char *name,
				  const struct stat_hist *h, const char *help)
{
	if (v->visit_hist)
		v->visit_hist(v->ctx, name, h, help);
}

#endif
