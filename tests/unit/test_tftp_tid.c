/* The memory of each client port's last server port (tftp_tid.c): recalled
 * within the linger time, replaced by a newer transfer, forgotten after the
 * linger time or when the ring needs the room (the oldest first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tftp/tftp_tid.h"

static struct netaddr client(uint32_t i)
{
	struct netaddr a = netaddr_v4(0x0a000000u + i, (uint16_t)(2000 + i % 7));

	return a;
}

static void test_recall_and_replace(void **state)
{
	struct tid_memory m;
	struct netaddr a = client(1), b = client(2);

	(void)state;
	assert_int_equal(tid_memory_init(&m, 16, MONO_SEC(120)), 0);
	assert_int_equal(tid_recall(&m, &a, MONO_SEC(1)), -1);
	tid_remember(&m, &a, 3, MONO_SEC(1));
	tid_remember(&m, &b, 5, MONO_SEC(1));
	assert_int_equal(tid_recall(&m, &a, MONO_SEC(2)), 3);
	assert_int_equal(tid_recall(&m, &b, MONO_SEC(2)), 5);
	tid_remember(&m, &a, 4, MONO_SEC(3)); /* its next transfer */
	assert_int_equal(tid_recall(&m, &a, MONO_SEC(4)), 4);
	/* Past the linger time it no longer counts. */
	assert_int_equal(tid_recall(&m, &b, MONO_SEC(1) + MONO_SEC(121)), -1);
	tid_memory_fini(&m);
}

static void test_oldest_forgotten_first(void **state)
{
	struct tid_memory m;

	(void)state;
	assert_int_equal(tid_memory_init(&m, 64, MONO_SEC(120)), 0);
	for (uint32_t i = 0; i < 64 + 10; i++) {
		struct netaddr a = client(i);
		tid_remember(&m, &a, i % 8, MONO_SEC(1) + i);
	}
	for (uint32_t i = 0; i < 64 + 10; i++) {
		struct netaddr a = client(i);
		assert_int_equal(tid_recall(&m, &a, MONO_SEC(2)), i < 10 ? -1 : (int)(i % 8));
	}
	/* The same client again and again takes one entry, not the ring. */
	for (uint32_t i = 0; i < 1000; i++) {
		struct netaddr a = client(100);
		tid_remember(&m, &a, i % 8, MONO_SEC(3));
	}
	for (uint32_t i = 10 + 1; i < 64 + 10; i++) {
		struct netaddr a = client(i);
		assert_int_equal(tid_recall(&m, &a, MONO_SEC(4)), (int)(i % 8));
	}
	tid_memory_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_recall_and_replace),
	    cmocka_unit_test(test_oldest_forgotten_first),
	};
	return cmocka_run_group_tests_name("tftp_tid", tests, NULL, NULL);
}
