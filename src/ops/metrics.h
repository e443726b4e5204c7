/* The Prometheus text exposition format (version 0.0.4) of herd's
 * counters, gauges and histograms: every module's stats visitor is read
 * into one document, each visitor name mapped to a family with
 * conventional names and units (herd_ prefix, counters end in _total,
 * bytes in _bytes, seconds in _seconds) and labels where a family has
 * several members (metrics.c's table). A name the table does not know
 * still appears, as herd_<module>_<name>. */
#ifndef HERD_OPS_METRICS_H
#define HERD_OPS_METRICS_H

#include <stddef.h>

#include "core/stats.h"

struct metrics;

struct metrics *metrics_new(void);
/* The visitor to hand module `module` ("tftp", "dhcp", "http", "log",
 * "nodes"); valid until the next call or metrics_free(). `module` must
 * outlive the metrics. */
const struct stat_visitor *metrics_module(struct metrics *m, const char *module);
/* The document: malloc'd text and its length. 0 or -ENOMEM. */
int metrics_render(const struct metrics *m, char **out, size_t *len);
void metrics_free(struct metrics *m);

#endif
