/* What `herd leases export` and `import` are built on: the read-only replay
 * of a journal (lease_table_read: the file is left byte for byte, a line
 * being written is neither read nor reported, nothing is ever written) and
 * the CSV rows (dhcp/lease_csv.h: what format writes, parse reads back;
 * each kind of bad line has its reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dhcp/lease.h"
#include "dhcp/lease_csv.h"

#define NOW 1000

static const char conf_text[] = "[dhcp]\nenabled = yes\nunknown = pool\n"
				"[subnet a]\nnetwork = 10.1.0.0/24\n"
				"pool = 10.1.0.100 - 10.1.0.109\n"
				"[group default]\nkernel = vmlinuz\n";

struct fixture {
	struct herd_config cfg;
	char dir[64], path[96];
};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* CRC-32 (IEEE) written out again: the test checks the format. */
static uint32_t crc32(const char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= (uint8_t)*p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void append_record(FILE *f, const char *addr, const char *mac, int64_t expires)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "L %s %s %" PRId64, addr, mac, expires);

	fprintf(f, "%s %08x\n", line, crc32(line, (size_t)n));
}

static char *slurp(const char *path, size_t *len)
{
	static char text[8192];
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	*len = fread(text, 1, sizeof(text), f);
	fclose(f);
	return text;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	conf_defaults(&f->cfg);
	assert_int_equal(conf_load_string(&f->cfg, "t.conf", conf_text, stderr), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/herd-lexport-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/leases", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[128];

	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

struct seen {
	int n;
	uint32_t ip[8];
	int64_t expires[8];
};

static void note(void *ctx, uint32_t addr, const uint8_t mac[6], int64_t expires)
{
	struct seen *s = ctx;

	(void)mac;
	if (s->n < 8) {
		s->ip[s->n] = addr;
		s->expires[s->n] = expires;
	}
	s->n++;
}

static void test_read_leaves_the_journal_alone(void **state)
{
	struct fixture *f = *state;
	FILE *out = fopen(f->path, "w");
	char before[8192], *after;
	size_t len, len2;
	struct stat st1, st2;
	struct seen seen = {0};
	int err;

	assert_non_null(out);
	append_record(out, "10.1.0.100", "02:00:00:00:00:01", 2000);
	append_record(out, "10.1.0.101", "02:00:00:00:00:02", 500);   /* expired */
	append_record(out, "10.1.0.102", "00:00:00:00:00:00", -3000); /* declined */
	append_record(out, "10.1.0.100", "02:00:00:00:00:01", 2500);  /* renewed */
	append_record(out, "10.1.0.103", "02:00:00:00:00:03", 2000);
	append_record(out, "10.1.0.103", "02:00:00:00:00:03", 0); /* released */
	fputs("L 10.1.0.104 02:00:00:00:00:04 20", out);	  /* being written */
	assert_int_equal(fclose(out), 0);
	after = slurp(f->path, &len);
	memcpy(before, after, len);
	assert_int_equal(stat(f->path, &st1), 0);

	struct lease_table *t = lease_table_read(&f->cfg.dhcp, f->path, NOW, &err);
	assert_non_null(t);
	assert_int_equal(err, 0);
	lease_each(t, NOW, note, &seen);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ip[0], ip("10.1.0.100"));
	assert_int_equal(seen.expires[0], 2500);
	assert_int_equal(seen.ip[1], ip("10.1.0.102"));
	assert_int_equal(seen.expires[1], -3000);
	/* A table read so records nothing, even when asked to. */
	static const uint8_t mac9[6] = {2, 0, 0, 0, 0, 9};
	assert_int_equal(lease_put(t, ip("10.1.0.105"), mac9, 4000), 0);
	lease_table_close(t);

	after = slurp(f->path, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(after, before, len);
	assert_int_equal(stat(f->path, &st2), 0);
	assert_int_equal(st2.st_ino, st1.st_ino);
	assert_int_equal(access(f->dir, F_OK), 0);
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_read_missing_journal(void **state)
{
	struct fixture *f = *state;
	int err = 0;

	assert_null(lease_table_read(&f->cfg.dhcp, f->path, NOW, &err));
	assert_int_equal(err, -ENOENT);
	assert_int_equal(access(f->path, F_OK), -1); /* not created either */
}

static void test_read_empty_journal(void **state)
{
	struct fixture *f = *state;
	FILE *out = fopen(f->path, "w");
	struct seen seen = {0};
	int err;

	assert_non_null(out);
	fclose(out);
	struct lease_table *t = lease_table_read(&f->cfg.dhcp, f->path, NOW, &err);
	assert_non_null(t);
	lease_each(t, NOW, note, &seen);
	assert_int_equal(seen.n, 0);
	lease_table_close(t);
}

static void test_csv_round_trip(void **state)
{
	(void)state;
	struct lease_csv_row r = {
	    .ip = ip("10.1.0.7"), .mac = {0x52, 0x54, 0, 0x12, 0x34, 0xab}, .expires = 1796000000};
	struct lease_csv_row back;
	const char *why;
	char line[64];

	lease_csv_format(line, sizeof(line), &r);
	assert_string_equal(line, "10.1.0.7,52:54:00:12:34:ab,1796000000,bound\n");
	assert_int_equal(lease_csv_parse(line, &back, &why), 0);
	assert_memory_equal(&back, &r, sizeof(r));

	r.declined = true;
	lease_csv_format(line, sizeof(line), &r);
	assert_string_equal(line, "10.1.0.7,00:00:00:00:00:00,1796000000,declined\n");
	assert_int_equal(lease_csv_parse(line, &back, &why), 0);
	assert_true(back.declined);
	assert_int_equal(back.expires, 1796000000);

	/* Windows line ends, a header with them. */
	assert_int_equal(lease_csv_parse("10.1.0.7,52-54-00-12-34-AB,5,bound\r\n", &back, &why), 0);
	assert_int_equal(back.mac[5], 0xab);
	assert_true(lease_csv_is_header("ip,mac,expires,state\r\n"));
	assert_true(lease_csv_is_header(LEASE_CSV_HEADER));
	assert_false(lease_csv_is_header("ip,mac,expires\n"));
}

static void test_csv_bad_lines(void **state)
{
	(void)state;
	static const struct {
		const char *line, *why;
	} bad[] = {
	    {"10.1.0.7,52:54:00:12:34:ab,5", "expected 4 fields"},
	    {"10.1.0.7,52:54:00:12:34:ab,5,bound,x", "expected 4 fields"},
	    {"10.1.0.300,52:54:00:12:34:ab,5,bound", "not an IPv4 address"},
	    {"fe80::1,52:54:00:12:34:ab,5,bound", "not an IPv4 address"},
	    {"10.1.0.7,52:54:00:12:34,5,bound", "not a MAC address"},
	    {"10.1.0.7,52:54:00:12:34:ab,-5,bound", "expires is not unix seconds"},
	    {"10.1.0.7,52:54:00:12:34:ab,0,bound", "expires is not unix seconds"},
	    {"10.1.0.7,52:54:00:12:34:ab,99999999999999999999,bound", "expires is not unix"},
	    {"10.1.0.7,52:54:00:12:34:ab,,bound", "expires is not unix seconds"},
	    {"10.1.0.7,52:54:00:12:34:ab,5,offered", "state is neither"},
	    {"10.1.0.7,00:00:00:00:00:00,5,bound", "a bound lease needs a client's MAC"},
	};
	struct lease_csv_row r;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lease_csv_parse(bad[i].line, &r, &why), -EINVAL);
		assert_non_null(why);
		assert_non_null(strstr(why, bad[i].why));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_read_leaves_the_journal_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_missing_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_empty_journal, setup, teardown),
	    cmocka_unit_test(test_csv_round_trip),
	    cmocka_unit_test(test_csv_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
