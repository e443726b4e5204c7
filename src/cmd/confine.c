#include "cmd/confine.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

int confine_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (user[0] == '\0') {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL)
		return errno ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int confine_raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

int confine_drop(const char *user, uid_t uid, gid_t gid, bool keep_net_admin)
{
	if (geteuid() == 0 && user[0] == '\0')
		log_warn("running as root: set [server] user to drop privileges");
	if (geteuid() == 0 && user[0] != '\0') {
		capng_clear(CAPNG_SELECT_BOTH);
		/* rtnetlink checks the sender's CAP_NET_ADMIN on every request,
		 * so neighbour pinning needs it kept (and nothing else). */
		if (keep_net_admin)
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
		if (capng_change_id((int)uid, (int)gid,
				    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
			log_err("cannot drop privileges to user %s", user);
			return -EPERM;
		}
	} else if (user[0] != '\0' && geteuid() != uid) {
		log_err("cannot become user %s: not running as root", user);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* What serving needs once every socket, directory handle and thread
 * exists: the loop, packets on the sockets already bound, files beneath
 * the handles already open, memory, and the lease writer's journal. No
 * socket(), bind(), execve(), clone(), ptrace(), setuid()... */
/* clang-format off */
static const int seccomp_allowed[] = {
	/* the loop: epoll, the signalfd and eventfds; the clock (a system
	 * call only where the clock source has no vDSO) */
	SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl), SCMP_SYS(read), SCMP_SYS(write),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	/* packets: batched UDP, the DHCP packet socket, rtnetlink pinning */
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(sendto),
	/* The control socket ([status] socket, src/ops/control.c) needs
	 * nothing more: accept4 on the Unix socket bound at start, read and
	 * write on its connections, openat/lseek/read of a node's log beneath
	 * the log directory's handle (its tail), and at stop newfstatat and
	 * unlinkat of its own socket file.
	 * HTTP (libmicrohttpd on the loop): its own epoll handle polled
	 * without waiting, connections accepted on the socket bound at start,
	 * their options, addresses (the generated files name herd's), ends,
	 * and TCP_INFO (what clients acknowledged, for the pacer's rate) */
	SCMP_SYS(epoll_wait), SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	/* boot files beneath the TFTP root, node logs and their rotation (with
	 * the variants a libc may pick: fstat or newfstatat, renameat or 2) */
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(close), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(writev), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(unlinkat),
	/* a reload (SIGHUP) checks the files as `herd check` does, as the
	 * user herd already is: who am I, may I read or write this */
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	/* an image's current version (its `current` symlink) at each render,
	 * and the directories of its check at a reload */
	SCMP_SYS(readlinkat), SCMP_SYS(getdents64),
	/* the lease journal's writer thread (ftruncate, lseek: a failed batch) */
	SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(lseek), SCMP_SYS(futex),
	/* memory (mmap and mprotect without PROT_EXEC: below) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* stopping: joining the writer, a thread's and the process's exit;
	 * a signal interrupting a call */
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid),
};
/* clang-format on */

#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer build (the one the system tests run; never installed)
 * checks for leaks at exit: a tracer task, cloned without CLONE_THREAD,
 * makes the process dumpable again, stops every thread with ptrace and
 * reads /proc. */
static int sanitizer_rules(scmp_filter_ctx ctx)
{
	/* clang-format off */
	static const int calls[] = {
		SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(prctl), SCMP_SYS(sched_yield),
		SCMP_SYS(open), SCMP_SYS(getdents), SCMP_SYS(getdents64), SCMP_SYS(getppid),
		SCMP_SYS(gettid), SCMP_SYS(rt_sigaction),
		/* a thread's exit, and its reports name the executable and check
		 * for a terminal */
		SCMP_SYS(sigaltstack), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(fcntl),
		SCMP_SYS(ioctl),
	};
	/* clang-format on */
	int err = 0;

	for (size_t i = 0; err == 0 && i < sizeof(calls) / sizeof(calls[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	if (err == 0)
		err = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_EQ, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED));
	return err;
}
#else
static int sanitizer_rules(scmp_filter_ctx ctx)
{
	(void)ctx;
	return 0;
}
#endif

/* libpq connecting while herd serves ([cluster]): a TCP or Unix stream
 * socket (and a datagram one for a name lookup, when the database is
 * named by host name), made non-blocking by fcntl, connected; the user
 * name from the password database (a file, or nscd's socket); random
 * bytes for SCRAM. */
static int database_rules(scmp_filter_ctx ctx)
{
	static const int calls[] = {SCMP_SYS(connect), SCMP_SYS(fcntl), SCMP_SYS(getpeername),
				    SCMP_SYS(getrandom), SCMP_SYS(poll), SCMP_SYS(ppoll)};
	static const int domains[] = {AF_INET, AF_INET6, AF_UNIX};
	int err = 0;

	for (size_t i = 0; err == 0 && i < sizeof(calls) / sizeof(calls[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	for (size_t i = 0; err == 0 && i < sizeof(domains) / sizeof(domains[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]));
	return err;
}

static int seccomp_rules(scmp_filter_ctx ctx, bool database)
{
	int err = 0;

	for (size_t i = 0; err == 0 && i < sizeof(seccomp_allowed) / sizeof(seccomp_allowed[0]);
	     i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_allowed[i], 0);
	/* No new executable memory: file mappings and heap only. */
	if (err == 0)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (err == 0)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* abort() signals the process itself, and nothing else. */
	if (err == 0)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (err == 0)
		err = sanitizer_rules(ctx);
	if (err == 0 && database)
		err = database_rules(ctx);
	return err;
}

int confine_seccomp(bool database)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int err;

	if (ctx == NULL)
		return -ENOMEM;
	/* Every thread, the lease writer too; refused calls are logged to
	 * the audit log where the kernel can (4.14 and later). */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (err == 0)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* A call of another ABI (i386, x32) is never a path we missed. */
	if (err == 0)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (err == 0) {
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
		/* A binary tree: the filter runs on every packet's syscalls. */
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
		err = seccomp_rules(ctx, database);
	}
	if (err == 0)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err != 0)
		log_err("seccomp filter: %s ([server] seccomp = no runs without)", strerror(-err));
	return err;
}
