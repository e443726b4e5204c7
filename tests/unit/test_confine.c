/* The seccomp filter `herd serve` installs once serving: in a child
 * process (the filter cannot be removed), calls serving never makes fail
 * with EPERM, on every thread (a thread started before the filter too,
 * like the lease writer), while the calls serving makes still work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/confine.h"

/* A thread started before the filter, like the lease writer: it says it
 * runs (as gcommit_start() waits for), waits for a byte, then tries to
 * open a socket. */
struct early_thread {
	int ready[2], go[2];
	int socket_errno;
};

static void *early_thread_main(void *arg)
{
	struct early_thread *t = arg;
	char c;
	int fd;

	if (write(t->ready[1], "r", 1) != 1 || read(t->go[0], &c, 1) != 1)
		return NULL;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	t->socket_errno = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The child's status when every check held: not 0, which /bin/true would
 * also give if its execve were let through. */
#define CHILD_PASSED 42

/* Returns errno of a call expected to fail (0 if it succeeded). */
#define ERRNO_OF(call) ((call) < 0 ? errno : 0)

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "child: %s:%d: %s (errno %s)\n", __FILE__, __LINE__,       \
				#cond, strerror(errno));                                           \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static int confined_child(void)
{
	static char *const argv[] = {"/bin/true", NULL};
	static char *const envp[] = {NULL};
	struct early_thread t = {.socket_errno = -1};
	pthread_t th;
	int pipefd[2];
	char buf[4];
	pid_t pid;
	void *p;

	EXPECT(pipe(t.ready) == 0 && pipe(t.go) == 0 && pipe(pipefd) == 0);
	EXPECT(pthread_create(&th, NULL, early_thread_main, &t) == 0);
	EXPECT(read(t.ready[0], buf, 1) == 1);

	EXPECT(confine_seccomp(false) == 0);

	/* What serving does keeps working. */
	EXPECT(write(pipefd[1], "ok", 2) == 2);
	EXPECT(read(pipefd[0], buf, sizeof(buf)) == 2 && memcmp(buf, "ok", 2) == 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(p != MAP_FAILED);
	EXPECT(munmap(p, 4096) == 0);

	/* What it never does is refused, not killed. */
	EXPECT(ERRNO_OF(execve(argv[0], argv, envp)) == EPERM);
	EXPECT(ERRNO_OF(socket(AF_INET, SOCK_DGRAM, 0)) == EPERM);
	EXPECT(ERRNO_OF(socket(AF_NETLINK, SOCK_RAW, 0)) == EPERM);
	EXPECT(ERRNO_OF(socket(AF_PACKET, SOCK_DGRAM, 0)) == EPERM);
	pid = fork();
	if (pid == 0)
		_exit(0);
	EXPECT(pid < 0 && errno == EPERM);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(p == MAP_FAILED && errno == EPERM);

	/* The thread that existed before the filter is under it too. */
	EXPECT(write(t.go[1], "x", 1) == 1);
	EXPECT(pthread_join(th, NULL) == 0);
	EXPECT(t.socket_errno == EPERM);
	return CHILD_PASSED;
}

/* [cluster]: libpq may connect again while serving; nothing else opens. */
static int confined_database_child(void)
{
	static char *const argv[] = {"/bin/true", NULL};
	static char *const envp[] = {NULL};
	int fd;

	EXPECT(confine_seccomp(true) == 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	EXPECT(fd >= 0);
	EXPECT(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	EXPECT(fd >= 0);
	close(fd);
	EXPECT(ERRNO_OF(socket(AF_NETLINK, SOCK_RAW, 0)) == EPERM);
	EXPECT(ERRNO_OF(socket(AF_PACKET, SOCK_DGRAM, 0)) == EPERM);
	EXPECT(ERRNO_OF(execve(argv[0], argv, envp)) == EPERM);
	return CHILD_PASSED;
}

static void run_child(int (*child)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_PASSED);
}

static void test_forbidden_calls_fail_with_eperm(void **state)
{
	(void)state;
	run_child(confined_child);
}

static void test_database_calls_allowed(void **state)
{
	(void)state;
	run_child(confined_database_child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forbidden_calls_fail_with_eperm),
	    cmocka_unit_test(test_database_calls_allowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
