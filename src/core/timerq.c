#include "core/timerq.h"

#include <errno.h>
#include <stdlib.h>

void timerq_init(struct timerq *q)
{
	q->heap = NULL;
	q->count = 0;
	q->cap = 0;
}

void timerq_fini(struct timerq *q)
{
	for (uint32_t i = 0; i < q->count; i++)
		q->heap[i]->slot = 0;
	free(q->heap);
	timerq_init(q);
}

static void place(struct timerq *q, uint32_t i, struct timer *t)
{
	q->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct timerq *q, uint32_t i)
{
	struct timer *t = q->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (q->heap[parent]->when <= t->when)
			break;
		place(q, i, q->heap[parent]);
		i = parent;
	}
	place(q, i, t);
}

static void sift_down(struct timerq *q, uint32_t i)
{
	struct timer *t = q->heap[i];

	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= q->count)
			break;
		if (child + 1 < q->count && q->heap[child + 1]->when < q->heap[child]->when)
			child++;
		if (t->when <= q->heap[child]->when)
			break;
		place(q, i, q->heap[child]);
		i = child;
	}
	place(q, i, t);
}

int timerq_reserve(struct timerq *q, uint32_t n)
{
	struct timer **heap;

	if (n <= q->cap)
		return 0;
	heap = realloc(q->heap, n * sizeof(*heap));
	if (heap == NULL)
		return -ENOMEM;
	q->heap = heap;
	q->cap = n;
	return 0;
}

int timerq_set(struct timerq *q, struct timer *t, mono_t when)
{
	if (timer_armed(t)) {
		mono_t old = t->when;
		t->when = when;
		if (when < old)
			sift_up(q, t->slot - 1);
		else
			sift_down(q, t->slot - 1);
		return 0;
	}
	if (q->count == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 64;
		struct timer **heap = realloc(q->heap, cap * sizeof(*heap));
		if (heap == NULL)
			return -ENOMEM;
		q->heap = heap;
		q->cap = cap;
	}
	t->when = when;
	q->heap[q->count] = t;
	sift_up(q, q->count++);
	return 0;
}

void timerq_cancel(struct timerq *q, struct timer *t)
{
	if (!timer_armed(t))
		return;
	uint32_t i = t->slot - 1;
	t->slot = 0;
	q->count--;
	if (i == q->count)
		return;
	struct timer *last = q->heap[q->count];
	place(q, i, last);
	sift_up(q, i);
	sift_down(q, last->slot - 1);
}

mono_t timerq_next(const struct timerq *q)
{
	return q->count ? q->heap[0]->when : MONO_NEVER;
}

unsigned timerq_run(struct timerq *q, mono_t now)
{
	unsigned fired = 0;

	while (q->count > 0 && q->heap[0]->when <= now) {
		struct timer *t = q->heap[0];
		timerq_cancel(q, t);
		fired++;
		t->fn(t, now);
	}
	return fired;
}
