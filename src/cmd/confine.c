#include "cmd/confine.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
