/* Unit tests for the log receiver (src/syslog/logrx.c), on a temp dir. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "syslog/logrx.h"
#include "syslog/syslog_wire.h"

#define T "2026-11-23T22:41:07.000Z"

struct fixture {
	char dir[64];
	int dirfd;
	struct conf_logrx cfg;
	struct logrx *rx;
};

static size_t fixed_wallclock(char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "%s", T);
}

static struct netaddr peer(const char *ip)
{
	struct netaddr a = {.port = 514};

	assert_int_equal(ipaddr_parse(ip, &a.ip), 0);
	return a;
}

static void clean_dir(int dirfd)
{
	DIR *d = fdopendir(dup(dirfd));
	struct dirent *e;

	assert_non_null(d);
	rewinddir(d); /* the dup shares dirfd's offset, which an earlier scan moved */
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) < 0)
			unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static int count_files(int dirfd)
{
	DIR *d = fdopendir(dup(dirfd));
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	rewinddir(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool file_exists(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The whole file as a string (static buffer), "" if it does not exist. */
static const char *slurp(int dirfd, const char *name)
{
	static char buf[1 << 16];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void feed(struct fixture *f, enum logrx_source src, const char *ip, const char *text,
		 mono_t now)
{
	struct netaddr a = peer(ip);

	logrx_input(f->rx, src, &a, (const uint8_t *)text, strlen(text), now);
}

static void start(struct fixture *f)
{
	f->rx = logrx_new(&f->cfg, f->dirfd);
	assert_non_null(f->rx);
	logrx_set_wallclock(f->rx, fixed_wallclock);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/herd-logrx-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	f->cfg = (struct conf_logrx){
	    .enabled = true,
	    .max_file_bytes = 1 << 20,
	    .rotate_keep = 3,
	    .line_max = 4096,
	    .rate_lines = 1000,
	    .burst_lines = 1000,
	    .max_senders = 100,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	logrx_free(f->rx);
	clean_dir(f->dirfd);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_per_sender_files(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;

	start(f);
	feed(f, LOGRX_SYSLOG, "10.0.0.5", "<13>Nov 23 22:41:07 node5 app[1]: five", 1);
	feed(f, LOGRX_SYSLOG, "10.0.0.6", "<13>1 - spoofed.example app - - - six", 1);
	feed(f, LOGRX_SYSLOG, "10.0.0.5", "<13>Nov 23 22:41:07 node5 app[1]: five again", 2);
	assert_string_equal(slurp(f->dirfd, "10.0.0.5.log"),
			    T " user.notice app[1]: five\n" T " user.notice app[1]: five again\n");
	assert_string_equal(slurp(f->dirfd, "10.0.0.6.log"), T " user.notice app: six\n");
	/* The HOST field names no file. */
	assert_int_equal(count_files(f->dirfd), 2);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.datagrams, 3);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.senders, 2);
	assert_int_equal(st.bytes, strlen(slurp(f->dirfd, "10.0.0.5.log")) +
				       strlen(slurp(f->dirfd, "10.0.0.6.log")));
}

static void test_both_sources_one_file(void **state)
{
	struct fixture *f = *state;

	start(f);
	feed(f, LOGRX_NETCONSOLE, "10.0.0.7", "[    1.000000] Linux version 6.1\n", 1);
	feed(f, LOGRX_SYSLOG, "10.0.0.7", "<30>systemd[1]: Started.", 2);
	feed(f, LOGRX_NETCONSOLE, "10.0.0.7", "4,10,3000000,-;eth0: link down\n", 3);
	assert_string_equal(slurp(f->dirfd, "10.0.0.7.log"),
			    T " kern: [    1.000000] Linux version 6.1\n" T
			      " daemon.info systemd[1]: Started.\n" T
			      " kern.warning: [    3.000000] eth0: link down\n");
	/* Appending to an existing file after a restart keeps what is there. */
	logrx_free(f->rx);
	start(f);
	feed(f, LOGRX_SYSLOG, "10.0.0.7", "again", 4);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.7.log")), 4);
}

static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;
	char text[64];

	f->cfg.rate_lines = 10;
	f->cfg.burst_lines = 5;
	start(f);
	/* 20 lines at once, 8 in one datagram: the bucket lets 5 through. */
	for (int i = 0; i < 12; i++) {
		snprintf(text, sizeof(text), "<14>a: line %d", i);
		feed(f, LOGRX_SYSLOG, "10.0.0.8", text, MONO_SEC(10));
	}
	feed(f, LOGRX_SYSLOG, "10.0.0.8", "<14>a: 1\n2\n3\n4\n5\n6\n7\n8", MONO_SEC(10));
	/* Another sender is not affected. */
	feed(f, LOGRX_SYSLOG, "10.0.0.9", "<14>a: other", MONO_SEC(10));
	logrx_stats(f->rx, &st);
	assert_int_equal(st.rate_dropped, 15);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.8.log")), 5);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.9.log")), 1);

	/* 100 ms later one token is back: the note, then the line. */
	feed(f, LOGRX_SYSLOG, "10.0.0.8", "<14>a: resumed", MONO_SEC(10) + MONO_MS(100));
	const char *s = slurp(f->dirfd, "10.0.0.8.log");
	assert_non_null(strstr(s, T " herd: 15 lines dropped (rate limit 10 lines/s, burst 5)\n" T
				    " user.info a: resumed\n"));
	assert_int_equal(count_lines(s), 7);
	feed(f, LOGRX_SYSLOG, "10.0.0.8", "<14>a: too soon", MONO_SEC(10) + MONO_MS(150));
	logrx_stats(f->rx, &st);
	assert_int_equal(st.rate_dropped, 16);
	/* After a long silence the bucket is full again, never more. */
	for (int i = 0; i < 7; i++)
		feed(f, LOGRX_SYSLOG, "10.0.0.8", "<14>a: x", MONO_SEC(3600));
	logrx_stats(f->rx, &st);
	assert_int_equal(st.rate_dropped, 18);
	assert_non_null(strstr(slurp(f->dirfd, "10.0.0.8.log"), " herd: 1 line dropped (rate"));

	/* A steady flood: one note per second, not one per returning token. */
	for (int i = 0; i < 300; i++)
		feed(f, LOGRX_SYSLOG, "10.0.0.10", "<14>a: flood", MONO_SEC(20) + MONO_MS(10 * i));
	s = slurp(f->dirfd, "10.0.0.10.log");
	int notes = 0;
	for (const char *p = s; (p = strstr(p, " herd: ")) != NULL; p++)
		notes++;
	assert_int_equal(count_lines(s) - notes, 5 + 29);
	assert_true(notes >= 2 && notes <= 3);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.8.log")), 7 + 1 + 5);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;
	char text[64];
	struct stat sb;

	f->cfg.max_file_bytes = 4096;
	f->cfg.rotate_keep = 2;
	start(f);
	/* Each line is 64 bytes: 64 lines per file. */
	for (int i = 0; i < 300; i++) {
		snprintf(text, sizeof(text), "<14>a: %025d", i);
		feed(f, LOGRX_SYSLOG, "10.0.0.10", text, i);
	}
	logrx_stats(f->rx, &st);
	assert_int_equal(st.lines, 300);
	assert_int_equal(st.rotations, 4);
	assert_true(file_exists(f->dirfd, "10.0.0.10.log.1"));
	assert_true(file_exists(f->dirfd, "10.0.0.10.log.2"));
	assert_false(file_exists(f->dirfd, "10.0.0.10.log.3"));
	assert_int_equal(fstatat(f->dirfd, "10.0.0.10.log.1", &sb, 0), 0);
	assert_int_equal(sb.st_size, 4096);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.10.log")), 300 - 4 * 64);
	snprintf(text, sizeof(text), "%025d\n", 191); /* .2 holds lines 128..191 */
	assert_non_null(strstr(slurp(f->dirfd, "10.0.0.10.log.2"), text));

	/* A restart picks up the file's size and rotates at the same place. */
	logrx_free(f->rx);
	start(f);
	for (int i = 300; i < 330; i++)
		feed(f, LOGRX_SYSLOG, "10.0.0.10", "<14>a: 0123456789012345678901234", i);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.rotations, 1);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.10.log")), 330 - 5 * 64);

	/* One datagram bigger than the cap still rotates line by line. */
	char big[8192] = "<14>a: ";
	for (int i = 0; i < 200; i++)
		strcat(big, "01234567890123456789012345678\n");
	feed(f, LOGRX_SYSLOG, "10.0.0.11", big, 400);
	assert_int_equal(fstatat(f->dirfd, "10.0.0.11.log.2", &sb, 0), 0);
	assert_true(sb.st_size <= 4096);
	assert_int_equal(fstatat(f->dirfd, "10.0.0.11.log", &sb, 0), 0);
	assert_true(sb.st_size <= 4096);
}

static void test_rotate_keep_zero(void **state)
{
	struct fixture *f = *state;

	f->cfg.max_file_bytes = 4096;
	f->cfg.rotate_keep = 0;
	start(f);
	for (int i = 0; i < 100; i++)
		feed(f, LOGRX_SYSLOG, "10.0.0.12", "<14>a: 0123456789012345678901234", i);
	assert_int_equal(count_files(f->dirfd), 1);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.0.12.log")), 100 - 64);
}

static void test_eviction(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;

	f->cfg.max_senders = 2;
	start(f);
	feed(f, LOGRX_SYSLOG, "10.0.1.1", "one", 1);
	feed(f, LOGRX_SYSLOG, "10.0.1.2", "two", 2);
	feed(f, LOGRX_SYSLOG, "10.0.1.1", "one again", 3); /* 10.0.1.2 is now the oldest */
	feed(f, LOGRX_SYSLOG, "10.0.1.3", "three", 4);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.senders, 2);
	assert_int_equal(st.evictions, 1);
	/* The evicted sender comes back: its file is appended to. */
	feed(f, LOGRX_SYSLOG, "10.0.1.2", "two again", 5);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.1.2.log")), 2);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.1.1.log")), 2);
	assert_int_equal(st.lines, 5);

	/* Many senders through a small table (hash growth, chains, eviction). */
	logrx_free(f->rx);
	f->cfg.max_senders = 300;
	start(f);
	for (int i = 0; i < 1000; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		feed(f, LOGRX_SYSLOG, ip, "x", i);
	}
	logrx_stats(f->rx, &st);
	assert_int_equal(st.senders, 300);
	assert_int_equal(st.evictions, 700);
	assert_int_equal(st.lines, 1000);
}

static const char *hostile_namer(void *ctx, const struct ipaddr *ip)
{
	static const char *const names[] = {
	    "../../etc/passwd",
	    ".hidden",
	    "a b\n\x1b",
	    "",
	    "..",
	    NULL,
	    "node-01.rack_2",
	    "0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	(void)ctx;
	return names[ntohl(ipaddr_to_v4(ip)) & 0xff];
}

static void test_namer_sanitised(void **state)
{
	struct fixture *f = *state;
	char ip[32];

	start(f);
	logrx_set_namer(f->rx, hostile_namer, NULL, false);
	for (int i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "10.0.2.%d", i);
		feed(f, LOGRX_SYSLOG, ip, "x", 1);
	}
	assert_true(file_exists(f->dirfd, "_._.._etc_passwd.log"));
	assert_true(file_exists(f->dirfd, "_hidden.log"));
	assert_true(file_exists(f->dirfd, "a_b__.log"));
	assert_true(file_exists(f->dirfd, "10.0.2.3.log")); /* "" */
	assert_true(file_exists(f->dirfd, "_..log"));	    /* ".." */
	assert_true(file_exists(f->dirfd, "10.0.2.5.log")); /* NULL */
	assert_true(file_exists(f->dirfd, "node-01.rack_2.log"));
	assert_true(file_exists(
	    f->dirfd, "0123456789012345678901234567890123456789012345678901234567890123.log"));
	assert_int_equal(count_files(f->dirfd), 8);
	assert_false(file_exists(AT_FDCWD, "/etc/passwd.log"));
}

/* With DHCP, herd knows its nodes: a sender the namer does not know (not in
 * the inventory, no lease) gets no state and no file, however many there
 * are (a flood from 10,000 foreign or spoofed addresses). */
static const char *inventory_namer(void *ctx, const struct ipaddr *ip)
{
	(void)ctx;
	return ntohl(ipaddr_to_v4(ip)) == 0x0a000401 ? "node01" : NULL;
}

static void test_unknown_senders_dropped(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;
	char ip[32];

	start(f);
	logrx_set_namer(f->rx, inventory_namer, NULL, true);
	for (int i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		feed(f, LOGRX_SYSLOG, ip, "<14>flood: x", 1);
	}
	feed(f, LOGRX_SYSLOG, "10.0.4.1", "<14>kernel: Linux version 6.1", 2);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.unknown_dropped, 10000);
	assert_int_equal(st.senders, 1);
	assert_int_equal(count_files(f->dirfd), 1);
	assert_true(file_exists(f->dirfd, "node01.log"));
}

static void test_line_max(void **state)
{
	struct fixture *f = *state;
	char big[1000] = "<14>a: ";

	f->cfg.line_max = 80;
	start(f);
	memset(big + 7, 'y', 900);
	feed(f, LOGRX_SYSLOG, "10.0.3.1", big, 1);
	feed(f, LOGRX_NETCONSOLE, "10.0.3.1", big, 2);
	const char *s = slurp(f->dirfd, "10.0.3.1.log");
	const char *nl = strchr(s, '\n');
	assert_int_equal(count_lines(s), 2);
	assert_int_equal(nl - s, 80);
	assert_memory_equal(nl - strlen(SYSLOG_CUT_MARK), SYSLOG_CUT_MARK, strlen(SYSLOG_CUT_MARK));
	assert_true(strlen(nl + 1) <= 81);
}

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;

	start(f);
	feed(f, LOGRX_SYSLOG, "10.0.4.1", "before", 1);
	/* logrotate moves the file, then herd gets SIGHUP. */
	assert_int_equal(renameat(f->dirfd, "10.0.4.1.log", f->dirfd, "10.0.4.1.log-old"), 0);
	logrx_reopen(f->rx);
	feed(f, LOGRX_SYSLOG, "10.0.4.1", "after", 2);
	assert_non_null(strstr(slurp(f->dirfd, "10.0.4.1.log-old"), "before"));
	assert_string_equal(slurp(f->dirfd, "10.0.4.1.log"), T " user.notice: after\n");
	logrx_stats(f->rx, &st);
	assert_int_equal(st.reopens, 1);
}

/* A FIFO, a symlink or a directory planted under the name: refused, counted,
 * never blocking; the sender recovers once the obstacle is gone. */
static void test_hostile_files(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;

	start(f);
	assert_int_equal(mkfifoat(f->dirfd, "10.0.5.1.log", 0600), 0);
	assert_int_equal(symlinkat("/etc/passwd", f->dirfd, "10.0.5.2.log"), 0);
	assert_int_equal(mkdirat(f->dirfd, "10.0.5.3.log", 0700), 0);
	feed(f, LOGRX_SYSLOG, "10.0.5.1", "x", 1);
	feed(f, LOGRX_SYSLOG, "10.0.5.2", "x", 1);
	feed(f, LOGRX_SYSLOG, "10.0.5.3", "x", 1);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.write_errors, 3);
	assert_int_equal(st.lost, 3);
	assert_int_equal(st.lines, 0);

	/* Within the retry delay nothing is tried again. */
	feed(f, LOGRX_SYSLOG, "10.0.5.1", "x", 2);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.write_errors, 3);
	assert_int_equal(st.lost, 4);

	unlinkat(f->dirfd, "10.0.5.1.log", 0);
	feed(f, LOGRX_SYSLOG, "10.0.5.1", "back", MONO_SEC(2));
	assert_string_equal(slurp(f->dirfd, "10.0.5.1.log"), T " user.notice: back\n");
}

/* Write errors (EFBIG from RLIMIT_FSIZE stands in for ENOSPC): counted, no
 * crash, and writing resumes, on a fresh line, once there is room again. */
static void test_write_errors(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;
	struct rlimit old, lim;

	start(f);
	feed(f, LOGRX_SYSLOG, "10.0.6.1", "<14>a: first", 1);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 10; i++)
		feed(f, LOGRX_SYSLOG, "10.0.6.1", "<14>a: 0123456789", MONO_SEC(i * 2));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	logrx_stats(f->rx, &st);
	assert_true(st.write_errors >= 2);
	assert_int_equal(st.lines + st.lost, 11);

	feed(f, LOGRX_SYSLOG, "10.0.6.1", "<14>a: recovered", MONO_SEC(30));
	const char *s = slurp(f->dirfd, "10.0.6.1.log");
	assert_int_equal(strlen(s), 100 + 1 + strlen(T " user.info a: recovered\n"));
	assert_string_equal(s + 101, T " user.info a: recovered\n");
	assert_int_equal(s[100], '\n'); /* the cut line was ended */
}

/* Out of descriptors: the least recently heard sender's file is closed. */
static void test_emfile(void **state)
{
	struct fixture *f = *state;
	struct logrx_stats st;
	struct rlimit old, lim;
	char ip[32];
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);

	start(f);
	assert_true(probe >= 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)probe + 4; /* room for ~3 files */
	close(probe);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(ip, sizeof(ip), "10.0.7.%d", i % 10);
		feed(f, LOGRX_SYSLOG, ip, "x", i);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	logrx_stats(f->rx, &st);
	assert_int_equal(st.lines, 20);
	assert_int_equal(st.lost, 0);
	assert_int_equal(count_lines(slurp(f->dirfd, "10.0.7.9.log")), 2);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_per_sender_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_sources_one_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_keep_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_senders_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_namer_sanitised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emfile, setup, teardown),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
