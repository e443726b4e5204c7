/* A min-heap of timers keyed by monotonic deadline, with cancellation by
 * handle in O(log n). The timer struct is embedded in its owner; the queue
 * holds pointers. It reads no clock: owners pass `now` to timerq_run().
 *
 * The loop owns one for its own timers, and a protocol module may own one
 * so that a simulation can drive it with a fake clock. */
#ifndef HERD_CORE_TIMERQ_H
#define HERD_CORE_TIMERQ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

struct timer;
typedef void (*timer_fn)(struct timer *t, mono_t now);

struct timer {
	mono_t when;
	uint32_t slot; /* index in the heap + 1; 0 when not armed */
	timer_fn fn;
};

struct timerq {
	struct timer **heap;
	uint32_t count;
	uint32_t cap;
};

void timerq_init(struct timerq *q);
void timerq_fini(struct timerq *q);

static inline void timer_init(struct timer *t, timer_fn fn)
{
	t->when = MONO_NEVER;
	t->slot = 0;
	t->fn = fn;
}

static inline bool timer_armed(const struct timer *t)
{
	return t->slot != 0;
}

/* Makes room for n armed timers, so that arming up to n cannot fail.
 * Returns 0 or -ENOMEM. */
int timerq_reserve(struct timerq *q, uint32_t n);

/* Arms (or re-arms) t to fire at `when`. Returns 0 or -ENOMEM (only past
 * the room reserved). */
int timerq_set(struct timerq *q, struct timer *t, mono_t when);
void timerq_cancel(struct timerq *q, struct timer *t);

/* Earliest deadline, or MONO_NEVER. */
mono_t timerq_next(const struct timerq *q);

/* Fires every timer due at or before now, earliest first. A callback may
 * arm or cancel any timer, itself included. Returns the number fired. */
unsigned timerq_run(struct timerq *q, mono_t now);

#endif
