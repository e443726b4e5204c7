/* What herd decides about an HTTP request (http/http_req.c): the method,
 * one Range against the file's size (RFC 9110 14), and the status of a
 * files room error. The protocol itself is libmicrohttpd's; the system
 * test (tests/system/test_http.sh) runs both with curl. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/http_req.h"

static void expect_range(const char *value, uint64_t size, enum http_range_kind kind,
			 uint64_t first, uint64_t len)
{
	struct http_range r = http_range_parse(value, size);

	if (r.kind != kind || (kind == HTTP_RANGE_PARTIAL && (r.first != first || r.len != len)))
		fail_msg("Range '%s' of %llu bytes: kind %d [%llu, +%llu), want %d [%llu, +%llu)",
			 value ? value : "(none)", (unsigned long long)size, r.kind,
			 (unsigned long long)r.first, (unsigned long long)r.len, kind,
			 (unsigned long long)first, (unsigned long long)len);
}

static void test_methods(void **state)
{
	(void)state;
	assert_int_equal(http_method_of("GET"), HTTP_GET);
	assert_int_equal(http_method_of("HEAD"), HTTP_HEAD);
	/* Case-sensitive (RFC 9110 9.1). */
	assert_int_equal(http_method_of("get"), HTTP_OTHER);
	assert_int_equal(http_method_of("POST"), HTTP_OTHER);
	assert_int_equal(http_method_of("GETX"), HTTP_OTHER);
	assert_int_equal(http_method_of(""), HTTP_OTHER);
}

static void test_range_single(void **state)
{
	(void)state;
	expect_range(NULL, 1000, HTTP_RANGE_NONE, 0, 0);
	expect_range("bytes=0-99", 1000, HTTP_RANGE_PARTIAL, 0, 100);
	expect_range("bytes=100-199", 1000, HTTP_RANGE_PARTIAL, 100, 100);
	expect_range("bytes=999-999", 1000, HTTP_RANGE_PARTIAL, 999, 1);
	expect_range("bytes=500-", 1000, HTTP_RANGE_PARTIAL, 500, 500);
	/* A last position past the end is cut to the end (14.1.2). */
	expect_range("bytes=900-5000", 1000, HTTP_RANGE_PARTIAL, 900, 100);
	/* Suffixes: the last N bytes, all of them if N is larger. */
	expect_range("bytes=-10", 1000, HTTP_RANGE_PARTIAL, 990, 10);
	expect_range("bytes=-5000", 1000, HTTP_RANGE_PARTIAL, 0, 1000);
	/* Optional whitespace, and the unit in any case. */
	expect_range(" Bytes = 1-2 ", 1000, HTTP_RANGE_PARTIAL, 1, 2);
	expect_range("BYTES=\t3-", 10, HTTP_RANGE_PARTIAL, 3, 7);
}

static void test_range_unsatisfiable(void **state)
{
	(void)state;
	expect_range("bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0);
	expect_range("bytes=2000-3000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0);
	expect_range("bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0);
	/* Nothing of an empty file can be satisfied. */
	expect_range("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0);
	expect_range("bytes=-1", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0);
}

/* Anything else is ignored: the whole file (14.2 allows it), so a client
 * always gets its bytes. */
static void test_range_ignored(void **state)
{
	static const char *const ignored[] = {
	    "",
	    "bytes",
	    "bytes=",
	    "bytes=-",
	    "bytes=a-b",
	    "bytes=5-4",		   /* last before first: invalid */
	    "bytes=0-1,5-6",		   /* several ranges */
	    "bytes=0-1, 5-",		   /* several ranges */
	    "items=0-1",		   /* another unit */
	    "bytesx=0-1",		   /* not the unit */
	    "bytes=0-1x",		   /* trailing garbage */
	    "bytes=1 2-3",		   /* digits then space */
	    "bytes=--1",		   /* a negative suffix */
	    "bytes=+1-2",		   /* a sign */
	    "bytes=99999999999999999999-", /* overflows 64 bits */
	    "bytes=0-99999999999999999999",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		expect_range(ignored[i], 1000, HTTP_RANGE_NONE, 0, 0);
	/* The largest value that fits is a position, not an error. */
	expect_range("bytes=0-18446744073709551615", 1000, HTTP_RANGE_PARTIAL, 0, 1000);
	expect_range("bytes=18446744073709551615-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0);
}

static void expect_unescape(const char *in, const char *want)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s", in);
	assert_int_equal(http_unescape(buf), strlen(want));
	assert_string_equal(buf, want);
}

static void test_unescape(void **state)
{
	(void)state;
	expect_unescape("/vmlinuz", "/vmlinuz");
	expect_unescape("/%2e%2e/secret", "/../secret");
	expect_unescape("/%2E%2E%2Fsecret", "/../secret");
	expect_unescape("/herd/ipxe/02%3A48%3a00.ipxe", "/herd/ipxe/02:48:00.ipxe");
	expect_unescape("%41%42", "AB");
	/* A NUL is never decoded: the name does not end early. */
	expect_unescape("/vmlinuz%00.txt", "/vmlinuz%00.txt");
	/* Not an escape: kept as it is. */
	expect_unescape("/a%zz", "/a%zz");
	expect_unescape("/a%4", "/a%4");
	expect_unescape("/a%", "/a%");
	expect_unescape("%%41", "%A");
	expect_unescape("", "");
}

static void test_status_of_error(void **state)
{
	(void)state;
	assert_int_equal(http_status_of_error(-ENOENT), 404);
	assert_int_equal(http_status_of_error(-EISDIR), 404);
	assert_int_equal(http_status_of_error(-EACCES), 403);
	assert_int_equal(http_status_of_error(-EXDEV), 403);
	assert_int_equal(http_status_of_error(-EINVAL), 400);
	assert_int_equal(http_status_of_error(-ENAMETOOLONG), 414);
	assert_int_equal(http_status_of_error(-ENOMEM), 500);
}

static void test_content_type(void **state)
{
	(void)state;
	assert_string_equal(http_content_type("/ipxe.efi"), "application/efi");
	assert_string_equal(http_content_type("/BOOTX64.EFI"), "application/efi");
	assert_string_equal(http_content_type("/live.iso"), "application/vnd.efi-iso");
	assert_string_equal(http_content_type("/herd/ipxe/02-00-00-00-00-01.ipxe"), "text/plain");
	assert_string_equal(http_content_type("/pxelinux.cfg/01-02-00-00-00-00-01"), "text/plain");
	assert_string_equal(http_content_type("/vmlinuz"), "application/octet-stream");
	assert_string_equal(http_content_type(""), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_range_single),
	    cmocka_unit_test(test_range_unsatisfiable),
	    cmocka_unit_test(test_range_ignored),
	    cmocka_unit_test(test_unescape),
	    cmocka_unit_test(test_status_of_error),
	    cmocka_unit_test(test_content_type),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
