/* Unit tests for the syslog/netconsole codec (src/syslog/syslog_wire.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "syslog/syslog_wire.h"

#define T "2026-11-23T22:41:07.123Z"

static struct syslog_msg parse(const char *s)
{
	struct syslog_msg m;

	assert_int_equal(syslog_parse((const uint8_t *)s, strlen(s), &m), 0);
	return m;
}

static struct syslog_msg parse_nc(const char *s)
{
	struct syslog_msg m;

	assert_int_equal(syslog_parse_netconsole((const uint8_t *)s, strlen(s), &m), 0);
	return m;
}

static void assert_span(struct syslog_span sp, const char *want)
{
	if (want == NULL) {
		assert_int_equal(sp.len, 0);
		return;
	}
	assert_int_equal(sp.len, strlen(want));
	assert_memory_equal(sp.ptr, want, sp.len);
}

/* Renders every line of a message into one string, lines joined by '\n'. */
static const char *render_all(const struct syslog_msg *m, size_t line_max)
{
	static char out[8192];
	char line[1024];
	struct syslog_span sp;
	size_t pos = 0, len = 0;

	out[0] = '\0';
	while (syslog_line_next(m, &pos, &sp)) {
		size_t n = syslog_format_line(m, &sp, T, line_max, line);
		assert_true(n >= 1 &&
			    n - 1 <= (line_max < SYSLOG_LINE_MIN ? SYSLOG_LINE_MIN : line_max));
		assert_int_equal(line[n - 1], '\n');
		assert_true(len + n < sizeof(out));
		memcpy(out + len, line, n);
		len += n;
	}
	out[len] = '\0';
	return out;
}

static const char *render(const char *dgram, size_t line_max)
{
	struct syslog_msg m = parse(dgram);
	return render_all(&m, line_max);
}

/* RFC 5424 6.5, example 3, plus a BOM before the message. */
static void test_5424_full(void **state)
{
	(void)state;
	struct syslog_msg m =
	    parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
		  "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] "
		  "\xef\xbb\xbf"
		  "An application event");
	assert_int_equal(m.format, SYSLOG_FMT_5424);
	assert_true(m.has_pri);
	assert_int_equal(m.facility, 20);
	assert_int_equal(m.severity, 5);
	assert_span(m.timestamp, "2003-10-11T22:14:15.003Z");
	assert_span(m.host, "mymachine.example.com");
	assert_span(m.app, "evntslog");
	assert_span(m.procid, NULL);
	assert_span(m.msgid, "ID47");
	assert_span(m.sd, "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"]");
	assert_span(m.msg, "An application event");
}

static void test_5424_nil(void **state)
{
	(void)state;
	struct syslog_msg m = parse("<34>1 - - su - - - 'su root' failed");
	assert_int_equal(m.format, SYSLOG_FMT_5424);
	assert_int_equal(m.facility, 4);
	assert_int_equal(m.severity, 2);
	assert_span(m.timestamp, NULL);
	assert_span(m.host, NULL);
	assert_span(m.app, "su");
	assert_span(m.sd, NULL);
	assert_span(m.msg, "'su root' failed");

	m = parse("<14>1 - h a 12 - -");
	assert_int_equal(m.format, SYSLOG_FMT_5424);
	assert_span(m.procid, "12");
	assert_span(m.msg, NULL);
}

/* util-linux logger --rfc5424 -i (the default over UDP). */
static void test_5424_util_linux(void **state)
{
	(void)state;
	struct syslog_msg m =
	    parse("<13>1 2026-11-23T22:41:07.123456+00:00 node1 root 4321 - "
		  "[timeQuality tzKnown=\"1\" isSynced=\"1\" syncAccuracy=\"212000\"] "
		  "hello world");
	assert_int_equal(m.format, SYSLOG_FMT_5424);
	assert_span(m.app, "root");
	assert_span(m.procid, "4321");
	assert_span(m.msg, "hello world");
	assert_string_equal(render_all(&m, 4096), T " user.notice root[4321]: hello world\n");
}

static void test_5424_sd_escapes(void **state)
{
	(void)state;
	struct syslog_msg m =
	    parse("<13>1 - h a - - [id k=\"a\\]b\" q=\"x\\\"]y\"][id2 u=\"]\"] msg");
	assert_int_equal(m.format, SYSLOG_FMT_5424);
	assert_span(m.sd, "[id k=\"a\\]b\" q=\"x\\\"]y\"][id2 u=\"]\"]");
	assert_span(m.msg, "msg");

	/* Unterminated structured data: not RFC 5424; nothing is lost. */
	m = parse("<13>1 - h a - - [id k=\"v\" msg");
	assert_int_not_equal(m.format, SYSLOG_FMT_5424);
	assert_span(m.msg, "1 - h a - - [id k=\"v\" msg");

	/* An over-long APP-NAME breaks the grammar the same way. */
	m = parse("<13>1 - h aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - x");
	assert_int_equal(m.format, SYSLOG_FMT_RAW);
	assert_true(m.has_pri);
}

static void test_3164_forms(void **state)
{
	(void)state;
	/* util-linux logger --rfc3164 */
	struct syslog_msg m = parse("<13>Nov 23 22:41:07 node1 root: hello");
	assert_int_equal(m.format, SYSLOG_FMT_3164);
	assert_span(m.timestamp, "Nov 23 22:41:07");
	assert_span(m.host, "node1");
	assert_span(m.app, "root");
	assert_span(m.procid, NULL);
	assert_span(m.msg, "hello");

	/* busybox logger / syslogd -R: no host. */
	m = parse("<13>Nov 23 22:41:07 root: hello");
	assert_int_equal(m.format, SYSLOG_FMT_3164);
	assert_span(m.host, NULL);
	assert_span(m.app, "root");
	assert_span(m.msg, "hello");

	/* glibc syslog(3): padded day, tag with pid, no host. */
	m = parse("<38>Nov  3 02:41:07 sshd[1234]: Accepted publickey");
	assert_span(m.timestamp, "Nov  3 02:41:07");
	assert_span(m.app, "sshd");
	assert_span(m.procid, "1234");
	assert_span(m.msg, "Accepted publickey");
	assert_int_equal(m.facility, 4);
	assert_int_equal(m.severity, 6);

	m = parse("<30>Nov  3 02:41:07 node7 systemd[1]: Started foo.service.");
	assert_span(m.host, "node7");
	assert_span(m.app, "systemd");
	assert_span(m.procid, "1");

	m = parse("<22>Nov 3 2026 02:41:07.123 node7 postfix/smtpd[77]: connect");
	assert_span(m.timestamp, "Nov 3 2026 02:41:07.123");
	assert_span(m.app, "postfix/smtpd");

	m = parse("<13>2026-11-23T22:41:07.123+00:00 node1 app[1]: x");
	assert_span(m.timestamp, "2026-11-23T22:41:07.123+00:00");
	assert_span(m.host, "node1");
	assert_span(m.app, "app");
	assert_span(m.msg, "x");
}

static void test_3164_ambiguous(void **state)
{
	(void)state;
	/* No tag after a word: the word stays in the message, not lost as a host. */
	struct syslog_msg m = parse("<13>Nov 23 22:41:07 myhost hello world");
	assert_span(m.host, NULL);
	assert_span(m.app, NULL);
	assert_span(m.msg, "myhost hello world");

	/* An IPv6 host is not a "tag:". */
	m = parse("<13>Nov 23 22:41:07 fe80::1 kernel: x");
	assert_span(m.host, "fe80::1");
	assert_span(m.app, "kernel");

	/* No timestamp at all. */
	m = parse("<13>tag: msg");
	assert_int_equal(m.format, SYSLOG_FMT_3164);
	assert_span(m.app, "tag");
	assert_span(m.msg, "msg");

	/* iPXE: "<PRI>[HOST ]ipxe: msg", no timestamp. */
	m = parse("<14>node12.cluster ipxe: Configuring (net0 52:54:00:12:34:56)... ok");
	assert_int_equal(m.format, SYSLOG_FMT_3164);
	assert_span(m.host, "node12.cluster");
	assert_span(m.app, "ipxe");
	assert_span(m.msg, "Configuring (net0 52:54:00:12:34:56)... ok");
	m = parse("<14>ipxe: no hostname");
	assert_span(m.app, "ipxe");

	m = parse("<13>hello world, this is not a tag: at all");
	assert_int_equal(m.format, SYSLOG_FMT_RAW);
	assert_span(m.app, NULL);
	assert_span(m.msg, "hello world, this is not a tag: at all");

	m = parse("<13>Nov 23 22:41:07 app[12] no colon");
	assert_span(m.app, "app");
	assert_span(m.procid, "12");
	assert_span(m.msg, "no colon");
}

static void test_raw_and_bad_pri(void **state)
{
	(void)state;
	struct syslog_msg m = parse("hello world");
	assert_int_equal(m.format, SYSLOG_FMT_RAW);
	assert_false(m.has_pri);
	assert_int_equal(m.facility, 1);
	assert_int_equal(m.severity, 5);
	assert_span(m.msg, "hello world");

	const char *bad[] = {"<192>x", "<abc>x", "<1234>x", "<>x", "<13", "<"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = parse(bad[i]);
		assert_int_equal(m.format, SYSLOG_FMT_RAW);
		assert_false(m.has_pri);
		assert_span(m.msg, bad[i]);
	}
	m = parse("<191>x");
	assert_int_equal(m.facility, 23);
	assert_int_equal(m.severity, 7);

	m = parse("");
	assert_int_equal(m.format, SYSLOG_FMT_RAW);
	assert_span(m.msg, NULL);
	assert_string_equal(render_all(&m, 4096), T " user.notice: \n");
	assert_int_equal(syslog_parse(NULL, 0, &m), 0);
	assert_int_equal(syslog_parse(NULL, 1, &m), -EINVAL);
}

static void test_netconsole(void **state)
{
	(void)state;
	struct syslog_msg m = parse_nc("[    1.234567] e1000: eth0 NIC Link is Up\n");
	assert_int_equal(m.format, SYSLOG_FMT_NETCONSOLE);
	assert_false(m.has_pri);
	assert_string_equal(render_all(&m, 4096),
			    T " kern: [    1.234567] e1000: eth0 NIC Link is Up\n");

	m = parse_nc("6,416,1758426,-;netconsole: network logging started\n");
	assert_int_equal(m.format, SYSLOG_FMT_NETCONSOLE_EXT);
	assert_int_equal(m.facility, 0);
	assert_int_equal(m.severity, 6);
	assert_int_equal(m.kern_seq, 416);
	assert_int_equal(m.kern_usec, 1758426);
	assert_string_equal(render_all(&m, 4096),
			    T " kern.info: [    1.758426] netconsole: network logging started\n");

	/* release=1 puts the kernel release first; dictionary lines follow. */
	m = parse_nc("6.1.0-18-amd64,3,9,2000001,c;ata1: failed\n SUBSYSTEM=scsi\n");
	assert_int_equal(m.format, SYSLOG_FMT_NETCONSOLE_EXT);
	assert_int_equal(m.severity, 3);
	assert_string_equal(render_all(&m, 4096), T " kern.err: [    2.000001] ata1: failed\n" T
						    " kern.err: [    2.000001]  SUBSYSTEM=scsi\n");

	m = parse_nc("14,7,5,-,ncfrag=0/1500;part one");
	assert_int_equal(m.format, SYSLOG_FMT_NETCONSOLE_EXT);
	assert_int_equal(m.facility, 1);
	assert_span(m.msg, "part one");

	/* Not an extended header: plain text. */
	const char *plain[] = {"1,2;x", "a,b,c,d;x", "6,1,2,-\n;x", "6,1,2;x", "999,1,2,-;x"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		m = parse_nc(plain[i]);
		assert_int_equal(m.format, SYSLOG_FMT_NETCONSOLE);
		assert_span(m.msg, plain[i]);
	}

	/* A datagram with no text writes nothing. */
	m = parse_nc("\n");
	assert_string_equal(render_all(&m, 4096), "");
	m = parse_nc("");
	assert_string_equal(render_all(&m, 4096), "");
}

static void test_lines(void **state)
{
	(void)state;
	assert_string_equal(render("<14>a: one\r\ntwo\n\n\nthree\r\n\0", 4096),
			    T " user.info a: one\n" T " user.info a: two\n" T
			      " user.info a: three\n");
	struct syslog_msg m = parse_nc("a\nb\n\0\0");
	assert_string_equal(render_all(&m, 4096), T " kern: a\n" T " kern: b\n");
	/* Trailing NULs some senders add are dropped; a NUL inside is shown. */
	struct syslog_msg z;
	static const uint8_t nul[] = {'<', '1', '4', '>', 'a', 0, 'b', 0, 0};
	syslog_parse(nul, sizeof(nul), &z);
	assert_string_equal(render_all(&z, 4096), T " user.info: a\\x00b\n");
}

static void test_prefixes(void **state)
{
	(void)state;
	assert_string_equal(render("<0>1 - h - 77 - - x", 4096), T " kern.emerg -[77]: x\n");
	assert_string_equal(render("<191>1 - h app - - - x", 4096), T " local7.debug app: x\n");
	assert_string_equal(render("<86>Nov 23 22:41:07 h sudo: x", 4096),
			    T " authpriv.info sudo: x\n");
	assert_string_equal(render("plain", 4096), T " user.notice: plain\n");
	assert_string_equal(syslog_facility_name(99), "unknown");
	assert_string_equal(syslog_severity_name(8), "unknown");
}

static void test_escaping(void **state)
{
	(void)state;
	/* Terminal escapes, DEL, C1 CSI (U+009B), invalid UTF-8 all become \xHH;
	 * tabs and valid UTF-8 stay. */
	assert_string_equal(render("<14>a: \x1b[31mred\x7f\tx", 4096),
			    T " user.info a: \\x1b[31mred\\x7f\tx\n");
	assert_string_equal(render("<14>a: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", 4096),
			    T " user.info a: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\n");
	assert_string_equal(render("<14>a: \xc2\x9b"
				   "1m",
				   4096),
			    T " user.info a: \\xc2\\x9b1m\n");
	assert_string_equal(render("<14>a: \xff\xc0\xaf\xed\xa0\x80\xe2\x82", 4096),
			    T " user.info a: \\xff\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82\n");
	/* Escaping applies to the tag and pid as well. */
	assert_string_equal(render("<14>1 - h a\x01 p\x02 - - x", 4096),
			    T " user.info a\\x01[p\\x02]: x\n");
	char note[128];
	size_t n = syslog_format_note(T, "5 lines \x1b dropped", 4096, note);
	assert_int_equal(n, strlen(T " herd: 5 lines \\x1b dropped\n"));
	assert_memory_equal(note, T " herd: 5 lines \\x1b dropped\n", n);
}

static void test_cut(void **state)
{
	(void)state;
	char msg[300] = "<14>a: ";
	char line[512];
	struct syslog_msg m;
	struct syslog_span sp;
	size_t pos = 0, n;

	memset(msg + 7, 'x', 200);
	msg[207] = '\0';
	m = parse(msg);
	assert_true(syslog_line_next(&m, &pos, &sp));
	n = syslog_format_line(&m, &sp, T, 100, line);
	assert_int_equal(n, 101);
	assert_memory_equal(line + 100 - strlen(SYSLOG_CUT_MARK), SYSLOG_CUT_MARK,
			    strlen(SYSLOG_CUT_MARK));

	/* A line that fits exactly is not cut. */
	size_t prefix = strlen(T " user.info a: ");
	msg[7 + (100 - prefix)] = '\0';
	m = parse(msg);
	pos = 0;
	assert_true(syslog_line_next(&m, &pos, &sp));
	n = syslog_format_line(&m, &sp, T, 100, line);
	assert_int_equal(n, 101);
	assert_int_equal(line[99], 'x');

	/* A cut never splits an escape or a UTF-8 sequence. */
	for (size_t max = 64; max < 90; max++) {
		memset(msg + 7, 0, sizeof(msg) - 7);
		for (size_t i = 0; i < 30; i++)
			memcpy(msg + 7 + i * 3, i % 2 ? "\xe2\x82\xac" : "\x1b\x1b\x1b", 3);
		m = parse(msg);
		pos = 0;
		assert_true(syslog_line_next(&m, &pos, &sp));
		n = syslog_format_line(&m, &sp, T, max, line);
		assert_true(n - 1 <= max);
		line[n - 1] = '\0';
		char *mark = strstr(line, SYSLOG_CUT_MARK);
		assert_non_null(mark);
		assert_ptr_equal(mark + strlen(SYSLOG_CUT_MARK), line + n - 1);
		char *before = mark;
		/* Ends after a whole "\x1b" or a whole euro sign. */
		assert_true(memcmp(before - 4, "\\x1b", 4) == 0 ||
			    memcmp(before - 3, "\xe2\x82\xac", 3) == 0 ||
			    memcmp(before - 2, ": ", 2) == 0);
	}

	/* line_max below the minimum is raised to it. */
	n = syslog_format_line(&m, &sp, T, 10, line);
	assert_true(n > 32 && n <= SYSLOG_LINE_MIN + 1);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5424_full),
		cmocka_unit_test(test_5424_nil),
		cmocka_unit_test(test_5424_util_linux),
		cmocka_unit_test(test_5424_sd_escapes),
		cmocka_unit_test(test_3164_forms),
		cmocka_unit_test(test_3164_ambiguous),
		cmocka_unit_test(test_raw_and_bad_pri),
		cmocka_unit_test(test_netconsole),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_cut),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
