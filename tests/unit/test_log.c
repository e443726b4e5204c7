/* herd's diagnostics (core/log.c): one line per event, "herd: LEVEL: ..."
 * on a terminal or file, "<PRIO>..." when stderr is the journal (so
 * journald keeps the level), detected from $JOURNAL_STREAM and stderr's
 * device and inode; a newline inside a message never starts a new line;
 * a long message is cut and still ends its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

static char captured[4096];

/* Runs fn with stderr sent to a temporary file; its text in `captured`. */
static void capture(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
}

static void four_levels(void)
{
	log_err("disk %s", "full");
	log_warn("odd packet");
	log_info("serving");
	log_debug("detail %d", 7);
}

static void test_text_levels(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_DEBUG);
	log_set_journal(false);
	capture(four_levels);
	assert_string_equal(captured, "herd: error: disk full\n"
				      "herd: warning: odd packet\n"
				      "herd: info: serving\n"
				      "herd: debug: detail 7\n");
}

static void test_journal_priorities(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_DEBUG);
	log_set_journal(true);
	capture(four_levels);
	assert_string_equal(captured, "<3>disk full\n<4>odd packet\n<6>serving\n<7>detail 7\n");
	/* the level filter still applies */
	log_set_level(LOG_LVL_WARN);
	capture(four_levels);
	assert_string_equal(captured, "<3>disk full\n<4>odd packet\n");
	log_set_level(LOG_LVL_INFO);
	log_set_journal(false);
}

static void multi_line(void)
{
	log_warn("reload: line one\nline two\r");
}

static void test_one_line_per_event(void **state)
{
	(void)state;
	log_set_journal(false);
	capture(multi_line);
	assert_string_equal(captured, "herd: warning: reload: line one line two \n");
}

static void long_line(void)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
}

static void test_long_message_cut(void **state)
{
	size_t n;

	(void)state;
	log_set_journal(false);
	capture(long_line);
	n = strlen(captured);
	assert_int_equal(n, 1023);
	assert_int_equal(captured[n - 1], '\n');
	assert_ptr_equal(strchr(captured, '\n'), captured + n - 1);
}

static void test_journal_stream_detection(void **state)
{
	FILE *tmp = tmpfile();
	struct stat st;
	char env[64];

	(void)state;
	assert_non_null(tmp);
	assert_int_equal(fstat(fileno(tmp), &st), 0);
	unsetenv("JOURNAL_STREAM");
	assert_false(log_fd_is_journal(fileno(tmp)));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_true(log_fd_is_journal(fileno(tmp)));
	/* inherited by a child whose stderr went elsewhere: not the journal */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(log_fd_is_journal(fileno(tmp)));
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(log_fd_is_journal(fileno(tmp)));
	snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(log_fd_is_journal(fileno(tmp)));
	unsetenv("JOURNAL_STREAM");
	fclose(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_levels),
	    cmocka_unit_test(test_journal_priorities),
	    cmocka_unit_test(test_one_line_per_event),
	    cmocka_unit_test(test_long_message_cut),
	    cmocka_unit_test(test_journal_stream_detection),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
