/* Rate limits for traffic nobody vouches for (core/srclimit.c): the token
 * bucket's burst and exact refill, one bucket per source in a table whose
 * memory never grows, sources that answered kept through a flood of
 * spoofed ones, and a forgotten source starting again with a full bucket
 * (a table too small only ever loosens the limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/srclimit.h"

static unsigned takes(struct token_bucket *b, unsigned n, mono_t now)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += token_bucket_take(b, now);
	return ok;
}

static void test_bucket_burst_and_refill(void **state)
{
	struct token_bucket b;
	mono_t t = MONO_SEC(100);

	(void)state;
	token_bucket_init(&b, 10, 5, t);
	assert_int_equal(takes(&b, 8, t), 5); /* the burst, then nothing */
	assert_int_equal(takes(&b, 1, t + MONO_MS(99)), 0);
	assert_int_equal(takes(&b, 2, t + MONO_MS(100)), 1); /* 10/s: one per 100 ms */
	/* Asked every 10 us for a second: rounding must not eat the refill. */
	t += MONO_MS(100);
	unsigned ok = 0;
	for (mono_t u = 0; u < MONO_SEC(1); u += 10)
		ok += token_bucket_take(&b, t + u);
	assert_in_range(ok, 9, 10);
	/* Refilled up to the burst, never beyond. */
	assert_int_equal(takes(&b, 10, t + MONO_SEC(60)), 5);
	/* A token given back can be taken again, up to the burst. */
	token_bucket_give(&b);
	assert_int_equal(takes(&b, 2, t + MONO_SEC(60)), 1);
	for (int i = 0; i < 100; i++)
		token_bucket_give(&b);
	assert_int_equal(takes(&b, 10, t + MONO_SEC(60)), 5);
}

static void test_bucket_off(void **state)
{
	struct token_bucket b;

	(void)state;
	token_bucket_init(&b, 0, 5, 0);
	assert_int_equal(takes(&b, 1000, 1), 1000);
	token_bucket_init(&b, 5, 0, 0);
	assert_int_equal(takes(&b, 1000, 1), 1000);
}

static void test_one_bucket_per_source(void **state)
{
	struct srclimit t;
	mono_t now = MONO_SEC(10);
	unsigned a = 0, b = 0;

	(void)state;
	assert_int_equal(srclimit_init(&t, 1024, 2, 4), 0);
	for (int i = 0; i < 20; i++)
		a += srclimit_take(&t, 0x0a000001, now);
	b += srclimit_take(&t, 0x0a000002, now);
	assert_int_equal(a, 4);
	assert_int_equal(b, 1);
	/* 2 a second: half a second later, one more. */
	assert_true(srclimit_take(&t, 0x0a000001, now + MONO_MS(500)));
	assert_false(srclimit_take(&t, 0x0a000001, now + MONO_MS(500)));
	assert_int_equal(t.count, 2);
	srclimit_fini(&t);
}

static void test_fixed_memory(void **state)
{
	struct srclimit t;

	(void)state;
	assert_int_equal(srclimit_init(&t, 100, 1, 1), 0);
	assert_int_equal(srclimit_bytes(100), 128 * sizeof(struct srclimit_entry));
	for (uint64_t k = 1; k <= 200000; k++)
		assert_true(srclimit_take(&t, k, MONO_SEC(1) + (mono_t)k));
	assert_int_equal(t.count, 128);
	assert_int_equal(t.replaced, 200000 - 128);
	srclimit_fini(&t);
}

static void test_verified_survive_a_flood(void **state)
{
	struct srclimit t;
	mono_t now = MONO_SEC(1);

	(void)state;
	assert_int_equal(srclimit_init(&t, 256, 10, 100), 0);
	/* 40 real clients answered; then a million spoofed sources, each
	 * once, as a flood with random addresses looks. */
	for (uint64_t k = 1; k <= 40; k++) {
		assert_true(srclimit_take(&t, k, now));
		srclimit_verify(&t, k, now);
	}
	for (uint64_t k = 1000; k < 1000000; k++)
		srclimit_take(&t, k, now + (mono_t)k);
	for (uint64_t k = 1; k <= 40; k++)
		assert_true(srclimit_verified(&t, k));
	assert_false(srclimit_verified(&t, 999999));
	srclimit_fini(&t);
}

static void test_forgotten_source_starts_full(void **state)
{
	struct srclimit t;
	mono_t now = MONO_SEC(1);

	(void)state;
	assert_int_equal(srclimit_init(&t, 8, 1, 3), 0); /* one set */
	for (int i = 0; i < 3; i++)
		assert_true(srclimit_take(&t, 7, now));
	assert_false(srclimit_take(&t, 7, now));
	/* Eight newer sources push it out of its set... */
	for (uint64_t k = 100; k < 108; k++)
		srclimit_take(&t, k, now + MONO_MS(1));
	/* ...and it comes back with a full bucket: looser, never stricter. */
	assert_true(srclimit_take(&t, 7, now + MONO_MS(2)));
	srclimit_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket_burst_and_refill),
	    cmocka_unit_test(test_bucket_off),
	    cmocka_unit_test(test_one_bucket_per_source),
	    cmocka_unit_test(test_fixed_memory),
	    cmocka_unit_test(test_verified_survive_a_flood),
	    cmocka_unit_test(test_forgotten_source_starts_full),
	};
	return cmocka_run_group_tests_name("srclimit", tests, NULL, NULL);
}
