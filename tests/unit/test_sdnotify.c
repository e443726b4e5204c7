/* The service manager's notification protocol (core/sdnotify.c): the
 * messages herd sends at start, reload and stop, a status cut to one line
 * and to the buffer, $NOTIFY_SOCKET's two address forms (a path, '@' for an
 * abstract name), and datagrams really arriving on a socket standing in for
 * the manager's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sdnotify.h"

static void test_format_states(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(sdnotify_format(buf, sizeof(buf), SDNOTIFY_READY, 0, NULL), 7);
	assert_string_equal(buf, "READY=1");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_READY, 0, "serving generation 1, 2 nodes");
	assert_string_equal(buf, "READY=1\nSTATUS=serving generation 1, 2 nodes");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_RELOADING, MONO_SEC(12) + 345, NULL);
	assert_string_equal(buf, "RELOADING=1\nMONOTONIC_USEC=12000345");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_STOPPING, 0, "stopping");
	assert_string_equal(buf, "STOPPING=1\nSTATUS=stopping");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_STATUS, 0, "just this");
	assert_string_equal(buf, "STATUS=just this");
}

static void test_status_one_line_and_cut(void **state)
{
	char buf[24];

	(void)state;
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_STATUS, 0, "first\nsecond");
	assert_string_equal(buf, "STATUS=first");
	/* "READY=1\n" + "STATUS=" leave 8 bytes: 7 characters and the NUL */
	assert_int_equal(sdnotify_format(buf, sizeof(buf), SDNOTIFY_READY, 0,
					 "a status far too long for the buffer"),
			 22);
	assert_string_equal(buf, "READY=1\nSTATUS=a statu");
	assert_int_equal(sdnotify_format(buf, 8, SDNOTIFY_READY, 0, NULL), -ENOSPC);
	assert_int_equal(sdnotify_format(buf, 12, SDNOTIFY_READY, 0, "x"), -ENOSPC);
}

static void test_addresses(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	char longname[200];

	(void)state;
	assert_int_equal(sdnotify_addr("/run/systemd/notify", &sa, &len), 0);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
	assert_int_equal(sdnotify_addr("@herd/notify", &sa, &len), 0);
	assert_int_equal(sa.sun_path[0], '\0');
	assert_memory_equal(sa.sun_path + 1, "herd/notify", 11);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 12);
	assert_int_equal(sdnotify_addr("", &sa, &len), -EINVAL);
	assert_int_equal(sdnotify_addr("@", &sa, &len), -EINVAL);
	assert_int_equal(sdnotify_addr("vsock:2:1234", &sa, &len), -EAFNOSUPPORT);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sdnotify_addr(longname, &sa, &len), -ENAMETOOLONG);
}

/* A datagram socket bound to an abstract name stands in for the manager. */
static int manager_socket(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(sdnotify_addr(name, &sa, &len), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void test_send_to_manager(void **state)
{
	char name[64], got[256];
	struct sdnotify *n;
	int fd;
	ssize_t r;

	(void)state;
	snprintf(name, sizeof(name), "@herd-test-sdnotify-%d", (int)getpid());
	fd = manager_socket(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify_open(&n), 0);
	assert_non_null(n);
	sdnotify_send(n, SDNOTIFY_READY, 0, "serving");
	r = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	assert_int_equal(r, 22);
	got[r] = '\0';
	assert_string_equal(got, "READY=1\nSTATUS=serving");
	sdnotify_send(n, SDNOTIFY_RELOADING, 42, NULL);
	r = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	assert_true(r > 0);
	got[r] = '\0';
	assert_string_equal(got, "RELOADING=1\nMONOTONIC_USEC=42");
	sdnotify_close(n);
	close(fd);

	/* Not under a service manager: no handle, and sending is a no-op. */
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_open(&n), 0);
	assert_null(n);
	sdnotify_send(n, SDNOTIFY_STOPPING, 0, NULL);
	sdnotify_close(n);
	setenv("NOTIFY_SOCKET", "@herd-test-nobody-listens", 1);
	assert_int_equal(sdnotify_open(&n), -ECONNREFUSED);
	assert_null(n);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_states),
	    cmocka_unit_test(test_status_one_line_and_cut),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_send_to_manager),
	};
	return cmocka_run_group_tests_name("sdnotify", tests, NULL, NULL);
}
