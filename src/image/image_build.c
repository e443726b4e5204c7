#include "image/image_build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "image/initramfs.h"

extern char **environ;

#define MAX_NICS 64

int image_run(char *const argv[], char *err, size_t errsize)
{
	pid_t pid;
	int st, r;

	fflush(stdout);
	r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r != 0) {
		snprintf(err, errsize, "cannot run %s: %s", argv[0], strerror(r));
		return -r;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errsize, "%s: %s", argv[0], strerror(errno));
			return -errno;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		snprintf(err, errsize, "%s failed (exit status %d)", argv[0], WEXITSTATUS(st));
	else
		snprintf(err, errsize, "%s was killed by signal %d", argv[0], WTERMSIG(st));
	return -ECHILD;
}

/* The kernel of the tree: spec's, or the only /boot/vmlinuz-* there is. */
static int find_kernel(const char *root, const char *shown, const char *want, char *kver,
		       size_t size, char *err, size_t errsize)
{
	char path[IMAGE_PATH_MAX], found[512] = "";
	DIR *d;
	struct dirent *e;
	unsigned n = 0;

	image_pathf(path, sizeof(path), "%s/boot", root);
	d = opendir(path);
	if (!d) {
		snprintf(err, errsize, "%s has no /boot, so no kernel", shown);
		return -ENOENT;
	}
	while ((e = readdir(d))) {
		const char *v = e->d_name + strlen("vmlinuz-");
		if (strncmp(e->d_name, "vmlinuz-", 8) != 0 || !*v)
			continue;
		if (want && strcmp(v, want) != 0)
			continue;
		if (n++ == 0)
			snprintf(kver, size, "%s", v);
		size_t len = strlen(found);
		snprintf(found + len, sizeof(found) - len, "%s%s", len ? " " : "", v);
	}
	closedir(d);
	if (n == 1)
		return 0;
	if (n == 0 && want)
		snprintf(err, errsize, "%s has no /boot/vmlinuz-%s", shown, want);
	else if (n == 0)
		snprintf(err, errsize,
			 "%s has no /boot/vmlinuz-*: install a kernel package in the tree", shown);
	else
		snprintf(err, errsize,
			 "%s has several kernels (%s): choose one with --kernel-version", shown,
			 found);
	return n ? -EEXIST : -ENOENT;
}

static int copy_file(const char *from, const char *to, char *err, size_t errsize)
{
	char *argv[] = {"cp", "--", (char *)from, (char *)to, NULL};
	return image_run(argv, err, errsize);
}

/* Splits a list on spaces and commas, in place. */
static size_t split_list(char *s, const char **out, size_t max)
{
	size_t n = 0;
	for (char *tok = strtok(s, " ,\t"); tok && n < max; tok = strtok(NULL, " ,\t"))
		out[n++] = tok;
	return n;
}

static int make_root(const struct image_build_spec *s, const char *root, char *source,
		     size_t ssize, char *err, size_t errsize)
{
	if (s->from) {
		char from[IMAGE_PATH_MAX];
		struct stat st;
		int gone = stat(s->from, &st) < 0 ? errno : 0;
		if (gone || !S_ISDIR(st.st_mode)) {
			snprintf(err, errsize, "--from %s: %s", s->from,
				 gone ? strerror(gone) : "not a directory");
			return -ENOTDIR;
		}
		snprintf(from, sizeof(from), "%s/.", s->from);
		char *argv[] = {"cp", "-a", "--reflink=auto", from, (char *)root, NULL};
		snprintf(source, ssize, "from %s", s->from);
		printf("image: copying %s\n", s->from);
		if (mkdir(root, 0755) < 0) {
			snprintf(err, errsize, "%s: %s", root, strerror(errno));
			return -errno;
		}
		return image_run(argv, err, errsize);
	}
	char include[2048];
	snprintf(include, sizeof(include), "--include=%s,busybox-static,kmod,bsdutils%s%s",
		 s->kernel_pkg ? s->kernel_pkg : "linux-image-amd64", s->include ? "," : "",
		 s->include ? s->include : "");
	char *argv[] = {"mmdebstrap",
			"--variant=minbase",
			include,
			"--dpkgopt=path-exclude=/usr/share/doc/*",
			"--dpkgopt=path-exclude=/usr/share/man/*",
			"--dpkgopt=path-exclude=/usr/share/locale/*",
			(char *)(s->suite ? s->suite : "bookworm"),
			(char *)root,
			(char *)s->mirror,
			NULL};
	image_pathf(source, ssize, "mmdebstrap %s %s", s->suite ? s->suite : "bookworm", include);
	printf("image: mmdebstrap %s into %s\n", s->suite ? s->suite : "bookworm", root);
	return image_run(argv, err, errsize);
}

/* Removes versions older than the `keep` newest, never the current one. */
static void prune(const char *dir, const char *name, unsigned keep)
{
	unsigned latest = image_latest(dir, name);
	int cur = image_current(dir, name);
	char err[256];

	for (unsigned v = 1; latest > keep && v <= latest - keep; v++) {
		char path[IMAGE_PATH_MAX];
		struct stat st;
		if ((int)v == cur || image_path(dir, name, v, NULL, path, sizeof(path)) < 0 ||
		    stat(path, &st) < 0)
			continue;
		if (image_remove(dir, name, v, false, err, sizeof(err)) == 0)
			printf("image: removed %s/%u (keep = %u)\n", name, v, keep);
	}
}

static int build_in(const struct image_build_spec *s, const char *stage, struct image_info *info,
		    char *err, size_t errsize)
{
	char root[IMAGE_PATH_MAX], boot[IMAGE_PATH_MAX], path[IMAGE_PATH_MAX], out[IMAGE_PATH_MAX];
	char nics[sizeof(info->nic_modules)];
	const char *nicv[MAX_NICS];
	size_t nnic = 0;
	int r;

	image_pathf(root, sizeof(root), "%s/root", stage);
	image_pathf(boot, sizeof(boot), "%s/boot", stage);
	r = make_root(s, root, info->source, sizeof(info->source), err, errsize);
	if (r < 0)
		return r;
	chmod(root, 0755);
	r = find_kernel(root, s->from ? s->from : "the new tree", s->kver, info->kver,
			sizeof(info->kver), err, errsize);
	if (r < 0)
		return r;
	image_pathf(path, sizeof(path), "%s/lib/modules/%s/modules.dep", root, info->kver);
	if (access(path, R_OK) < 0) {
		/* A tree unpacked without dpkg (dpkg -x) has no modules.dep. */
		char *argv[] = {"depmod", "-b", root, info->kver, NULL};
		printf("image: depmod -b %s %s\n", root, info->kver);
		if ((r = image_run(argv, err, errsize)) < 0)
			return r;
	}
	if (s->customize) {
		char *argv[] = {(char *)s->customize, root, NULL};
		printf("image: %s %s\n", s->customize, root);
		if ((r = image_run(argv, err, errsize)) < 0)
			return r;
	}
	if (mkdir(boot, 0755) < 0) {
		snprintf(err, errsize, "%s: %s", boot, strerror(errno));
		return -errno;
	}
	image_pathf(path, sizeof(path), "%s/boot/vmlinuz-%s", root, info->kver);
	image_pathf(out, sizeof(out), "%s/vmlinuz", boot);
	if ((r = copy_file(path, out, err, errsize)) < 0)
		return r;
	snprintf(nics, sizeof(nics), "%s", s->nic_modules ? s->nic_modules : "");
	nnic = split_list(nics, nicv, MAX_NICS);
	image_pathf(out, sizeof(out), "%s/initrd.img", boot);
	struct initramfs_spec is = {.root = root,
				    .kver = info->kver,
				    .nic_modules = nnic ? nicv : NULL,
				    .n_nic = nnic,
				    .out = out};
	printf("image: initramfs for %s from the image's own modules\n", info->kver);
	if (initramfs_build(&is, err, errsize) < 0)
		return -EINVAL;
	snprintf(info->nic_modules, sizeof(info->nic_modules), "%s",
		 s->nic_modules ? s->nic_modules : "default");
	return 0;
}

/* Staging directories of builds that died (kill -9, a power cut): their
 * process is gone, so nothing will finish or number them. */
static void remove_stale_builds(const char *idir)
{
	DIR *d = opendir(idir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid;
		if (strncmp(e->d_name, ".build-", 7) != 0)
			continue;
		pid = strtol(e->d_name + 7, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
			printf("image: removing %s/%s, left by a build that did not finish\n", idir,
			       e->d_name);
			image_remove_tree(idir, e->d_name);
		}
	}
	closedir(d);
}

int image_build(const struct image_build_spec *s, char *err, size_t errsize)
{
	char idir[IMAGE_PATH_MAX], stage[IMAGE_PATH_MAX], final[IMAGE_PATH_MAX];
	struct image_info info = {0};
	time_t now = time(NULL);
	struct tm tm;
	int r;

	if (!image_name_ok(s->name)) {
		snprintf(err, errsize, "'%s' is not an image name ([a-z0-9][a-z0-9._-]*)", s->name);
		return -EINVAL;
	}
	snprintf(idir, sizeof(idir), "%s/%s", s->dir, s->name);
	if ((mkdir(s->dir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(idir, 0755) < 0 && errno != EEXIST)) {
		snprintf(err, errsize, "%s: %s", idir, strerror(errno));
		return -errno;
	}
	remove_stale_builds(idir);
	image_pathf(stage, sizeof(stage), "%s/.build-%d", idir, (int)getpid());
	if (mkdir(stage, 0755) < 0) {
		snprintf(err, errsize, "%s: %s", stage, strerror(errno));
		return -errno;
	}
	snprintf(info.name, sizeof(info.name), "%s", s->name);
	gmtime_r(&now, &tm);
	strftime(info.created, sizeof(info.created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = build_in(s, stage, &info, err, errsize);
	if (r == 0) {
		/* Numbered only now: a version appears whole or not at all. */
		info.version = image_latest(s->dir, s->name) + 1;
		image_path(s->dir, s->name, info.version, NULL, final, sizeof(final));
		r = image_info_write(stage, &info, err, errsize);
		if (r == 0 && rename(stage, final) < 0) {
			snprintf(err, errsize, "%s: %s", final, strerror(errno));
			r = -errno;
		}
	}
	if (r < 0) {
		image_remove_tree(idir, strrchr(stage, '/') + 1);
		return r;
	}
	printf("image: made %s/%u (kernel %s)\n", info.name, info.version, info.kver);
	if (!s->no_switch) {
		if ((r = image_switch(s->dir, s->name, info.version, err, errsize)) < 0)
			return r;
		printf("image: %s/current -> %u\n", info.name, info.version);
	}
	prune(s->dir, s->name, s->keep ? s->keep : 1);
	return (int)info.version;
}
