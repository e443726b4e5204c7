/* Monotonic time for herd: microseconds since an arbitrary origin.
 *
 * Protocol code never reads a clock: it is handed `now` by the loop (or by a
 * simulation), which reads CLOCK_MONOTONIC once per iteration. Wall time is
 * only for log lines and file names (clock_wall_*). */
#ifndef HERD_CORE_CLOCK_H
#define HERD_CORE_CLOCK_H

#include <stdint.h>
#include <stddef.h>

typedef int64_t mono_t; /* monotonic microseconds */

#define MONO_NEVER INT64_MAX
#define MONO_US(x) ((mono_t)(x))
#define MONO_MS(x) ((mono_t)(x) * 1000)
#define MONO_SEC(x) ((mono_t)(x) * 1000000)

mono_t clock_mono_now(void);

/* Formats the current wall-clock time as RFC 3339 UTC with milliseconds
 * ("2026-11-23T22:41:07.123Z") into buf (at least 32 bytes). Returns length. */
size_t clock_wall_rfc3339(char *buf, size_t size);

#endif
