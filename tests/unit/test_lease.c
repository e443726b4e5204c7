/* The lease journal at start: replay (damage skipped, the last record of an
 * address wins, expired leases and releases leave nothing behind), then
 * compaction into a file that replays to the same state; a journal that
 * cannot be read or rewritten is an error, and is left as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dhcp/lease.h"

#define NOW 1000 /* wall clock of every open, unix seconds */

struct fixture {
	struct herd_config cfg;
	char dir[64];
	char path[96];
	int saved_stderr, log_pipe[2];
};

static const char conf_text[] = "[dhcp]\nenabled = yes\nunknown = pool\n"
				"[subnet a]\nnetwork = 10.1.0.0/24\n"
				"pool = 10.1.0.100 - 10.1.0.109\n"
				"[group default]\nkernel = vmlinuz\n";

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac3[6] = {2, 0, 0, 0, 0, 3};
static const uint8_t mac4[6] = {2, 0, 0, 0, 0, 4};
static const uint8_t mac5[6] = {2, 0, 0, 0, 0, 5};
static const uint8_t mac6[6] = {2, 0, 0, 0, 0, 6};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* The journal's checksum, written out again here so that the test checks
 * the format rather than reusing the code under test: CRC-32 (IEEE). */
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

/* One journal record, as herd writes it. */
static const char *record(const char *addr, const char *mac, int64_t expires)
{
	static char line[128];
	int n = snprintf(line, sizeof(line), "L %s %s %" PRId64, addr, mac, expires);

	snprintf(line + n, sizeof(line) - (size_t)n, " %08x\n", crc32(line, (size_t)n));
	return line;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	static char text[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static char *dump(struct lease_table *t)
{
	static char text[4096];
	FILE *f = fmemopen(text, sizeof(text), "w");

	lease_dump(t, f, NOW);
	fclose(f);
	return text;
}

/* herd logs to stderr: the tests read it from a pipe (a few lines fit). */
static void capture_log(struct fixture *f)
{
	fflush(stderr);
	assert_int_equal(pipe2(f->log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
	f->saved_stderr = dup(2);
	dup2(f->log_pipe[1], 2);
}

static char *captured_log(struct fixture *f)
{
	static char text[8192];
	ssize_t n;

	fflush(stderr);
	n = read(f->log_pipe[0], text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	conf_defaults(&f->cfg);
	assert_int_equal(conf_load_string(&f->cfg, "t.conf", conf_text, stderr), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/herd-lease-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/leases", f->dir);
	f->saved_stderr = -1;
	capture_log(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	/* What a failed test left unread (cmocka's own report among it). */
	const char *rest = captured_log(f);
	dup2(f->saved_stderr, 2);
	close(f->saved_stderr);
	fputs(rest, stderr);
	close(f->log_pipe[0]);
	close(f->log_pipe[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct lease_table *open_ok(struct fixture *f)
{
	int err = 1;
	struct lease_table *t = lease_table_open(&f->cfg.dhcp, f->path, NOW, &err);

	assert_non_null(t);
	assert_int_equal(err, 0);
	return t;
}

static void test_replay_and_compaction(void **state)
{
	struct fixture *f = *state;
	char journal[2048] = "", compacted[2048] = "";
	char line[128];
	struct stat st;

	strcat(journal, record("10.1.0.100", "02:00:00:00:00:01", 5000));
	/* A bad checksum: one bit of the expiry changed after it was written. */
	snprintf(line, sizeof(line), "%s", record("10.1.0.101", "02:00:00:00:00:02", 5000));
	line[strlen("L 10.1.0.101 02:00:00:00:00:02 ")] = '4';
	strcat(journal, line);
	/* Expired before NOW. */
	strcat(journal, record("10.1.0.102", "02:00:00:00:00:03", 900));
	/* One address to two clients: the later record wins, and as mac4 still
	 * held it, the conflict is logged. */
	strcat(journal, record("10.1.0.103", "02:00:00:00:00:04", 5000));
	strcat(journal, record("10.1.0.103", "02:00:00:00:00:05", 6000));
	/* Bound, then released. */
	strcat(journal, record("10.1.0.104", "02:00:00:00:00:06", 5000));
	strcat(journal, record("10.1.0.104", "02:00:00:00:00:06", 0));
	/* Declined (found in use) until 1600. */
	strcat(journal, record("10.1.0.105", "00:00:00:00:00:00", -1600));
	/* A torn last line: the crash came in the middle of a write. */
	snprintf(line, sizeof(line), "%s", record("10.1.0.106", "02:00:00:00:00:07", 5000));
	line[20] = '\0';
	strcat(journal, line);
	write_file(f->path, journal);

	struct lease_table *t = open_ok(f);
	assert_string_equal(dump(t), "10.1.0.100 02:00:00:00:00:01 5000\n"
				     "10.1.0.103 02:00:00:00:00:05 6000\n");
	assert_int_equal(lease_at(t, ip("10.1.0.101"))->state, LEASE_FREE);
	assert_int_equal(lease_at(t, ip("10.1.0.104"))->state, LEASE_FREE);
	assert_int_equal(lease_at(t, ip("10.1.0.105"))->state, LEASE_DECLINED);
	assert_int_equal(lease_at(t, ip("10.1.0.106"))->state, LEASE_FREE);
	assert_int_equal(lease_find_mac(t, mac1, NOW, 0), ip("10.1.0.100"));
	assert_int_equal(lease_find_mac(t, mac5, NOW, 0), ip("10.1.0.103"));
	assert_int_equal(lease_find_mac(t, mac4, NOW, 0), 0);
	assert_int_equal(lease_find_mac(t, mac6, NOW, 0), 0);
	/* An expired lease is no lease, but its client gets the address back. */
	assert_int_equal(lease_find_mac(t, mac3, NOW, 0), 0);
	assert_int_equal(lease_pick(t, &f->cfg.dhcp.subnets[0], mac3, NOW, 0), ip("10.1.0.102"));
	lease_table_close(t);

	const char *log = captured_log(f);
	assert_non_null(strstr(log, "leases: skipped 2 damaged lease records"));
	assert_non_null(strstr(log, "leases: 1 record gave a leased address to another client"));

	/* Compacted: only what is live, renamed over the journal, no leftovers. */
	strcat(compacted, record("10.1.0.100", "02:00:00:00:00:01", 5000));
	strcat(compacted, record("10.1.0.103", "02:00:00:00:00:05", 6000));
	strcat(compacted, record("10.1.0.105", "00:00:00:00:00:00", -1600));
	assert_string_equal(read_file(f->path), compacted);
	snprintf(line, sizeof(line), "%s.new", f->path);
	assert_int_equal(stat(line, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* Replayed again: the same state, the same file, nothing to warn about. */
	t = open_ok(f);
	assert_string_equal(dump(t), "10.1.0.100 02:00:00:00:00:01 5000\n"
				     "10.1.0.103 02:00:00:00:00:05 6000\n");
	assert_int_equal(lease_at(t, ip("10.1.0.105"))->state, LEASE_DECLINED);
	lease_table_close(t);
	assert_string_equal(read_file(f->path), compacted);
	assert_string_equal(captured_log(f), "");
}

/* Leases bound after the start reach the file through the group commit and
 * are there at the next start. */
static void test_bound_leases_survive_a_restart(void **state)
{
	struct fixture *f = *state;
	struct lease_table *t = open_ok(f);

	assert_true(lease_bind(t, ip("10.1.0.107"), mac1, 7000) > 0);
	assert_true(lease_bind(t, ip("10.1.0.108"), mac3, 8000) > 0);
	assert_int_equal(lease_release(t, ip("10.1.0.108")), 0);
	assert_int_equal(lease_decline(t, ip("10.1.0.109"), 1500), 0);
	lease_table_close(t); /* writes and syncs what is queued */

	t = open_ok(f);
	assert_string_equal(dump(t), "10.1.0.107 02:00:00:00:00:01 7000\n");
	assert_int_equal(lease_at(t, ip("10.1.0.108"))->state, LEASE_FREE);
	assert_int_equal(lease_at(t, ip("10.1.0.109"))->state, LEASE_DECLINED);
	lease_table_close(t);
}

/* A read error must not look like the end of the journal: compacting what
 * was read would throw the rest away. /proc/self/mem fails its first read
 * with EIO, and a symlink to it stands for a journal on a failing disk. */
static void test_unreadable_journal_is_an_error(void **state)
{
	struct fixture *f = *state;
	char target[64];
	int err = 0;

	assert_int_equal(symlink("/proc/self/mem", f->path), 0);
	assert_null(lease_table_open(&f->cfg.dhcp, f->path, NOW, &err));
	assert_int_equal(err, -EIO);
	/* Left as it was: not replaced by an empty compacted journal. */
	assert_int_equal(readlink(f->path, target, sizeof(target)), 14);
}

/* The compacted file cannot be created: the error comes back, and the
 * journal is left as it was. */
static void test_unwritable_journal_is_an_error(void **state)
{
	struct fixture *f = *state;
	char tmp[128];
	const char *journal = record("10.1.0.100", "02:00:00:00:00:01", 5000);
	int err = 0;

	write_file(f->path, journal);
	snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_null(lease_table_open(&f->cfg.dhcp, f->path, NOW, &err));
	assert_int_equal(err, -EISDIR);
	assert_string_equal(read_file(f->path), journal);

	/* A directory that does not exist. */
	snprintf(tmp, sizeof(tmp), "%s/nodir/leases", f->dir);
	assert_null(lease_table_open(&f->cfg.dhcp, tmp, NOW, &err));
	assert_int_equal(err, -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replay_and_compaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_leases_survive_a_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_journal_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unwritable_journal_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests_name("lease", tests, NULL, NULL);
}
