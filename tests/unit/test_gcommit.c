/* Group commit: records from many appends land in order, the synced
 * sequence only grows, and everything is on disk after stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gcommit.h"

static void test_records_in_order(void **state)
{
	char path[] = "/tmp/herd-gcommit-XXXXXX";
	int fd = mkstemp(path);
	struct gcommit *g;
	uint64_t last = 0, synced = 0;
	char line[200];
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	g = gcommit_start(fd);
	assert_non_null(g);
	for (int i = 0; i < 20000; i++) {
		/* Varying sizes make the writer swap buffers of every capacity. */
		int n = snprintf(line, sizeof(line), "%d %.*s\n", i, i % 97, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		uint64_t seq = gcommit_append(g, line, (size_t)n);
		assert_int_equal(seq, last + 1);
		last = seq;
		/* Let the writer take batches of every size. */
		if (i % (1 + i % 53) == 0)
			usleep(20);
		if (i % 1000 == 0) {
			struct pollfd p = {gcommit_eventfd(g), POLLIN, 0};
			if (poll(&p, 1, 0) > 0) {
				uint64_t s = gcommit_synced(g);
				assert_true(s >= synced && s <= last);
				synced = s;
			}
		}
	}
	struct pollfd p = {gcommit_eventfd(g), POLLIN, 0};
	while (synced < last && poll(&p, 1, 5000) > 0)
		synced = gcommit_synced(g);
	assert_int_equal(synced, last);
	assert_int_equal(gcommit_error(g), 0);
	gcommit_stop(g);
	f = fopen(path, "r");
	for (int i = 0; i < 20000; i++) {
		int v = -1;
		assert_non_null(fgets(line, sizeof(line), f));
		sscanf(line, "%d", &v);
		assert_int_equal(v, i);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_in_order),
	};
	return cmocka_run_group_tests_name("gcommit", tests, NULL, NULL);
}
