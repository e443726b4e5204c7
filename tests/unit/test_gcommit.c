/* Group commit: records from many appends land in order, the synced
 * sequence only grows, and everything is on disk after stop; a batch that
 * cannot be written is reported failed, cut off the file, and the next one
 * lands after the last durable record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* Waits until the writer has dealt with record `seq`, one way or the other. */
static void wait_done(struct gcommit *g, uint64_t seq)
{
	struct pollfd p = {gcommit_eventfd(g), POLLIN, 0};

	while (gcommit_synced(g) < seq && gcommit_failed(g) < seq)
		assert_true(poll(&p, 1, 5000) > 0);
}

static void test_failed_batch_is_cut_off(void **state)
{
	char path[] = "/tmp/herd-gcommit-XXXXXX";
	int fd = mkstemp(path);
	struct gcommit *g;
	struct rlimit old, small;
	char text[128] = "";
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "head\n", 5), 5); /* what compaction wrote */
	g = gcommit_start(fd);
	assert_non_null(g);
	/* A file that may not grow past 15 bytes fails like a full disk: the
	 * record is written in part, then the write fails (EFBIG). Nothing may
	 * write to a file until the limit is lifted again. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small = (struct rlimit){15, old.rlim_max};
	setrlimit(RLIMIT_FSIZE, &small);
	uint64_t seq = gcommit_append(g, "record-1-xxxxxxxxxx\n", 20);
	wait_done(g, seq);
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(seq, 1);
	assert_int_equal(gcommit_synced(g), 0);
	assert_int_equal(gcommit_failed(g), 1);
	assert_int_equal(gcommit_error(g), -EFBIG);

	/* Room again: the next record follows "head", not a torn line. */
	seq = gcommit_append(g, "record-2\n", 9);
	wait_done(g, seq);
	assert_int_equal(gcommit_synced(g), 2);
	assert_int_equal(gcommit_failed(g), 1);
	gcommit_stop(g);
	f = fopen(path, "r");
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	assert_string_equal(text, "head\nrecord-2\n");
	unlink(path);
}

/* /dev/full cannot be cut back: every batch fails from then on, and none is
 * ever reported durable. */
static void test_failure_that_cannot_be_undone_stops(void **state)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct gcommit *g;

	(void)state;
	assert_true(fd >= 0);
	g = gcommit_start(fd);
	assert_non_null(g);
	wait_done(g, gcommit_append(g, "a\n", 2));
	assert_int_equal(gcommit_error(g), -ENOSPC);
	wait_done(g, gcommit_append(g, "b\n", 2));
	assert_int_equal(gcommit_failed(g), 2);
	assert_int_equal(gcommit_synced(g), 0);
	gcommit_stop(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_in_order),
		cmocka_unit_test(test_failed_batch_is_cut_off),
		cmocka_unit_test(test_failure_that_cannot_be_undone_stops),
	};
	return cmocka_run_group_tests_name("gcommit", tests, NULL, NULL);
}
