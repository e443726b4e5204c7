/* Unit tests for reading the node table (inventory/inventory.c): what the
 * file loader does with bytes the string tests in test_dhcp.c cannot hold. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "inventory/inventory.h"

static struct herd_config cfg;

static int setup(void **state)
{
	(void)state;
	conf_defaults(&cfg);
	return conf_load_string(&cfg, "t.conf",
				"[dhcp]\nenabled = yes\nlease_file =\n"
				"[subnet a]\nnetwork = 10.0.0.0/16\n[group default]\nkernel = k\n",
				stderr);
}

/* Loads path; returns the problems and leaves their report in *report. */
static int load_file(struct inventory **inv, const char *path, char **report)
{
	size_t len = 0;
	FILE *errs = open_memstream(report, &len);

	assert_non_null(errs);
	int rc = inventory_load(inv, path, &cfg.dhcp, errs);
	fclose(errs);
	return rc;
}

static void test_nul_byte_is_a_problem(void **state)
{
	static const char table[] = "a 02:00:00:00:00:01 10.0.0.1 default\n"
				    "\0b 02:00:00:00:00:02 10.0.0.2 default\n"
				    "c 02:00:00:00:00:03 10.0.0.3 default\n";
	char path[] = "/tmp/herd-test-inventory-XXXXXX", *report = NULL;
	struct inventory *inv;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, table, sizeof(table) - 1), sizeof(table) - 1);
	close(fd);
	/* Before, reading stopped at the NUL: line 3 vanished, no problem. */
	assert_int_equal(load_file(&inv, path, &report), 1);
	assert_non_null(strstr(report, ":2: NUL byte in the line"));
	assert_int_equal(inventory_count(inv), 2);
	assert_non_null(inventory_by_name(inv, "c"));
	inventory_free(inv);
	free(report);
	unlink(path);
}

static void test_directory_is_not_an_empty_table(void **state)
{
	char *report = NULL;
	struct inventory *inv;

	(void)state;
	assert_int_equal(load_file(&inv, "/", &report), -EISDIR);
	assert_non_null(strstr(report, "/: cannot read:"));
	inventory_free(inv);
	free(report);
}

static void test_duplicate_name(void **state)
{
	char *report = NULL;
	size_t len = 0;
	struct inventory *inv;
	FILE *errs = open_memstream(&report, &len);

	(void)state;
	assert_int_equal(inventory_load_string(&inv, "n.tab",
					       "a 02:00:00:00:00:01 10.0.0.1 default\n"
					       "b 02:00:00:00:00:02 10.0.0.2 default\n"
					       "a 02:00:00:00:00:03 10.0.0.3 default\n",
					       &cfg.dhcp, errs),
			 1);
	fclose(errs);
	assert_non_null(strstr(report, "n.tab:3: name a is also on line 1"));
	assert_int_equal(inventory_by_name(inv, "a")->line, 1);
	assert_int_equal(inventory_by_name(inv, "b")->line, 2);
	assert_null(inventory_by_name(inv, "c"));
	inventory_free(inv);
	free(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nul_byte_is_a_problem),
	    cmocka_unit_test(test_directory_is_not_an_empty_table),
	    cmocka_unit_test(test_duplicate_name),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
