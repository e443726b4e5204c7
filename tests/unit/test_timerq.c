/* Unit tests for the timer heap (core/timerq.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/timerq.h"

/* A timer with an owner, as timers are used: embedded in a struct. */
struct probe {
	struct timer timer;
	unsigned id;
	unsigned fired;
	mono_t fired_at;
};

#define MAX_FIRED 20000

/* What the callbacks saw, in firing order. */
static struct {
	struct timerq *q;
	unsigned ids[MAX_FIRED];
	mono_t whens[MAX_FIRED];
	unsigned count;
	struct probe *victim; /* cancelled by cancel_victim_fn */
	mono_t period;	      /* for periodic_fn */
} seen;

#define PROBE(t) ((struct probe *)((char *)(t)-offsetof(struct probe, timer)))

static void record_fn(struct timer *t, mono_t now)
{
	struct probe *p = PROBE(t);

	assert_false(timer_armed(t)); /* disarmed before its callback runs */
	assert_true(t->when <= now);
	assert_true(seen.count < MAX_FIRED);
	seen.ids[seen.count] = p->id;
	seen.whens[seen.count] = t->when;
	seen.count++;
	p->fired++;
	p->fired_at = now;
}

static int reset_seen(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	return 0;
}

/* Checks the heap invariant and that every slot points back at its timer. */
static void check_heap(const struct timerq *q)
{
	for (uint32_t i = 0; i < q->count; i++) {
		assert_int_equal(q->heap[i]->slot, i + 1);
		if (i > 0)
			assert_true(q->heap[(i - 1) / 2]->when <= q->heap[i]->when);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static void test_empty(void **state)
{
	(void)state;
	struct timerq q;

	timerq_init(&q);
	assert_true(timerq_next(&q) == MONO_NEVER);
	assert_int_equal(timerq_run(&q, MONO_SEC(1000)), 0);
	timerq_fini(&q);
}

static void test_fires_in_order(void **state)
{
	(void)state;
	static const mono_t deadlines[] = {50, 10, 90, 30, 70, 20, 80, 60, 40, 100, 30, 10};
	enum { N = sizeof(deadlines) / sizeof(deadlines[0]) };
	struct probe probes[N];
	struct timerq q;

	timerq_init(&q);
	for (unsigned i = 0; i < N; i++) {
		probes[i] = (struct probe){.id = i};
		timer_init(&probes[i].timer, record_fn);
		assert_false(timer_armed(&probes[i].timer));
		assert_int_equal(timerq_set(&q, &probes[i].timer, MONO_MS(deadlines[i])), 0);
		assert_true(timer_armed(&probes[i].timer));
		check_heap(&q);
	}
	assert_true(timerq_next(&q) == MONO_MS(10));

	/* Nothing is due before the first deadline. */
	assert_int_equal(timerq_run(&q, MONO_MS(10) - 1), 0);
	/* Due means at or before now. */
	assert_int_equal(timerq_run(&q, MONO_MS(30)), 5);
	assert_true(timerq_next(&q) == MONO_MS(40));
	assert_int_equal(timerq_run(&q, MONO_MS(1000)), N - 5);
	assert_true(timerq_next(&q) == MONO_NEVER);

	assert_int_equal(seen.count, N);
	for (unsigned i = 1; i < N; i++)
		assert_true(seen.whens[i - 1] <= seen.whens[i]);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(probes[i].fired, 1);
		assert_false(timer_armed(&probes[i].timer));
	}
	timerq_fini(&q);
}

static void test_cancel_from_middle(void **state)
{
	(void)state;
	enum { N = 200 };
	struct probe probes[N];
	struct timerq q;

	timerq_init(&q);
	for (unsigned i = 0; i < N; i++) {
		probes[i] = (struct probe){.id = i};
		timer_init(&probes[i].timer, record_fn);
		/* interleaved so that heap positions differ from ids */
		timerq_set(&q, &probes[i].timer, MONO_MS((i * 37) % N + 1));
	}
	check_heap(&q);

	/* Cancel whatever sits in the middle of the heap, a leaf, and the root,
	 * by handle, until half are gone. */
	unsigned cancelled = 0;
	while (q.count > N / 2) {
		uint32_t pick = cancelled % 3 == 0   ? q.count / 2
				: cancelled % 3 == 1 ? q.count - 1
						     : 0;
		struct timer *t = q.heap[pick];
		timerq_cancel(&q, t);
		assert_false(timer_armed(t));
		timerq_cancel(&q, t); /* cancelling twice is harmless */
		cancelled++;
		check_heap(&q);
	}
	/* Cancelling a timer that was never armed is harmless too. */
	struct probe idle = {.id = 999};
	timer_init(&idle.timer, record_fn);
	timerq_cancel(&q, &idle.timer);
	assert_int_equal(q.count, N / 2);

	assert_int_equal(timerq_run(&q, MONO_NEVER - 1), N / 2);
	unsigned fired = 0;
	for (unsigned i = 0; i < N; i++)
		fired += probes[i].fired;
	assert_int_equal(fired, N / 2);
	for (unsigned i = 1; i < seen.count; i++)
		assert_true(seen.whens[i - 1] <= seen.whens[i]);
	timerq_fini(&q);
}

static void test_rearm(void **state)
{
	(void)state;
	struct probe a = {.id = 0}, b = {.id = 1}, c = {.id = 2}, d = {.id = 3};
	struct timerq q;

	timerq_init(&q);
	timer_init(&a.timer, record_fn);
	timer_init(&b.timer, record_fn);
	timer_init(&c.timer, record_fn);
	timer_init(&d.timer, record_fn);
	timerq_set(&q, &a.timer, MONO_MS(10));
	timerq_set(&q, &b.timer, MONO_MS(20));
	timerq_set(&q, &c.timer, MONO_MS(30));
	timerq_set(&q, &d.timer, MONO_MS(40));

	timerq_set(&q, &c.timer, MONO_MS(5));  /* earlier: now first */
	timerq_set(&q, &a.timer, MONO_MS(50)); /* later: now last */
	timerq_set(&q, &b.timer, MONO_MS(20)); /* same: no change */
	check_heap(&q);
	assert_int_equal(q.count, 4); /* re-arming never adds a second entry */
	assert_true(timerq_next(&q) == MONO_MS(5));

	assert_int_equal(timerq_run(&q, MONO_MS(100)), 4);
	const unsigned want[] = {2, 1, 3, 0};
	assert_int_equal(seen.count, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(seen.ids[i], want[i]);
	assert_true(seen.whens[0] == MONO_MS(5));
	assert_true(seen.whens[3] == MONO_MS(50));

	/* A fired timer can be armed again. */
	timerq_set(&q, &a.timer, MONO_MS(200));
	assert_int_equal(timerq_run(&q, MONO_MS(199)), 0);
	assert_int_equal(timerq_run(&q, MONO_MS(200)), 1);
	assert_int_equal(a.fired, 2);
	timerq_fini(&q);
}

static void periodic_fn(struct timer *t, mono_t now)
{
	record_fn(t, now);
	assert_int_equal(timerq_set(seen.q, t, now + seen.period), 0);
}

static void test_callback_rearms_itself(void **state)
{
	(void)state;
	struct probe p = {.id = 7};
	struct timerq q;

	timerq_init(&q);
	seen.q = &q;
	seen.period = MONO_MS(10);
	timer_init(&p.timer, periodic_fn);
	timerq_set(&q, &p.timer, MONO_MS(10));

	assert_int_equal(timerq_run(&q, MONO_MS(5)), 0);
	assert_int_equal(timerq_run(&q, MONO_MS(10)), 1);
	assert_true(timer_armed(&p.timer));
	assert_true(timerq_next(&q) == MONO_MS(20));
	assert_int_equal(timerq_run(&q, MONO_MS(25)), 1);
	assert_true(timerq_next(&q) == MONO_MS(35));
	for (mono_t now = MONO_MS(35); now <= MONO_MS(1000); now += MONO_MS(10))
		assert_int_equal(timerq_run(&q, now), 1);
	assert_int_equal(p.fired, 2 + 97);
	assert_int_equal(q.count, 1);

	timerq_cancel(&q, &p.timer);
	assert_int_equal(timerq_run(&q, MONO_SEC(10)), 0);
	timerq_fini(&q);
}

static void cancel_victim_fn(struct timer *t, mono_t now)
{
	record_fn(t, now);
	timerq_cancel(seen.q, &seen.victim->timer);
}

static void test_callback_cancels_other(void **state)
{
	(void)state;
	struct probe killer = {.id = 1}, victim = {.id = 2}, late = {.id = 3};
	struct timerq q;

	timerq_init(&q);
	seen.q = &q;
	seen.victim = &victim;
	timer_init(&killer.timer, cancel_victim_fn);
	timer_init(&victim.timer, record_fn);
	timer_init(&late.timer, record_fn);
	timerq_set(&q, &killer.timer, MONO_MS(10));
	timerq_set(&q, &victim.timer, MONO_MS(10)); /* due in the same run */
	timerq_set(&q, &late.timer, MONO_MS(11));

	/* killer and victim share a deadline; whichever the heap picks first,
	 * a cancelled victim must not fire afterwards. */
	unsigned fired = timerq_run(&q, MONO_MS(11));
	assert_int_equal(killer.fired, 1);
	assert_int_equal(late.fired, 1);
	assert_int_equal(fired, 2 + victim.fired);
	assert_false(timer_armed(&victim.timer));
	timerq_fini(&q);
}

static void test_fini_disarms(void **state)
{
	(void)state;
	struct probe p[3];
	struct timerq q;

	timerq_init(&q);
	for (unsigned i = 0; i < 3; i++) {
		timer_init(&p[i].timer, record_fn);
		timerq_set(&q, &p[i].timer, MONO_MS(i));
	}
	timerq_fini(&q);
	for (unsigned i = 0; i < 3; i++)
		assert_false(timer_armed(&p[i].timer));
	assert_true(timerq_next(&q) == MONO_NEVER);
	/* The queue is usable again after fini. */
	timerq_set(&q, &p[0].timer, MONO_MS(1));
	assert_int_equal(timerq_run(&q, MONO_MS(1)), 1);
	timerq_fini(&q);
}

/* Many timers armed, re-armed and cancelled at random; at every step the
 * timers that fire must be exactly those a plain array says are due, in
 * deadline order. */
static void test_random_against_reference(void **state)
{
	(void)state;
	enum { N = 3000, STEPS = 400 };
	struct probe *probes = calloc(N, sizeof(*probes));
	mono_t *expect = calloc(N, sizeof(*expect)); /* MONO_NEVER: not armed */
	mono_t *due = calloc(N, sizeof(*due));
	struct timerq q;
	mono_t now = 0;

	assert_non_null(probes);
	assert_non_null(expect);
	assert_non_null(due);
	timerq_init(&q);
	for (unsigned i = 0; i < N; i++) {
		probes[i].id = i;
		timer_init(&probes[i].timer, record_fn);
		expect[i] = MONO_NEVER;
	}
	for (unsigned step = 0; step < STEPS; step++) {
		/* A burst of random operations. */
		for (unsigned op = 0; op < 50; op++) {
			unsigned i = (unsigned)(rng_next() % N);
			uint64_t r = rng_next();
			if (r % 4 == 0) {
				timerq_cancel(&q, &probes[i].timer);
				expect[i] = MONO_NEVER;
			} else {
				/* deadlines collide often, to exercise ties */
				mono_t when = now + (mono_t)(r >> 8) % MONO_MS(50);
				assert_int_equal(timerq_set(&q, &probes[i].timer, when), 0);
				expect[i] = when;
			}
		}
		check_heap(&q);

		mono_t want_next = MONO_NEVER;
		uint32_t armed = 0;
		for (unsigned i = 0; i < N; i++) {
			if (expect[i] < want_next)
				want_next = expect[i];
			armed += expect[i] != MONO_NEVER;
		}
		assert_int_equal(q.count, armed);
		assert_true(timerq_next(&q) == want_next);

		now += (mono_t)(rng_next() % MONO_MS(20));
		unsigned want_fired = 0;
		for (unsigned i = 0; i < N; i++)
			if (expect[i] <= now)
				due[want_fired++] = expect[i];

		seen.count = 0;
		assert_int_equal(timerq_run(&q, now), want_fired);
		assert_int_equal(seen.count, want_fired);
		for (unsigned k = 0; k < seen.count; k++) {
			unsigned id = seen.ids[k];
			assert_true(expect[id] == seen.whens[k]);
			assert_true(expect[id] <= now);
			if (k > 0)
				assert_true(seen.whens[k - 1] <= seen.whens[k]);
			expect[id] = MONO_NEVER; /* fired, so no longer armed */
		}
		for (unsigned i = 0; i < N; i++) {
			assert_true(expect[i] > now);
			assert_int_equal(timer_armed(&probes[i].timer), expect[i] != MONO_NEVER);
		}
	}
	timerq_fini(&q);
	free(due);
	free(expect);
	free(probes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_empty, reset_seen),
	    cmocka_unit_test_setup(test_fires_in_order, reset_seen),
	    cmocka_unit_test_setup(test_cancel_from_middle, reset_seen),
	    cmocka_unit_test_setup(test_rearm, reset_seen),
	    cmocka_unit_test_setup(test_callback_rearms_itself, reset_seen),
	    cmocka_unit_test_setup(test_callback_cancels_other, reset_seen),
	    cmocka_unit_test_setup(test_fini_disarms, reset_seen),
	    cmocka_unit_test_setup(test_random_against_reference, reset_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
