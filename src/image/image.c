#include "image/image.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/initramfs.h"

bool image_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IMAGE_NAME_MAX || !(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool version_ok(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]) || s[0] == '0')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 1000000)
		return false;
	*out = (unsigned)v;
	return true;
}

int image_parse_ref(const char *s, struct image_ref *ref, char *err, size_t errsize)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	memset(ref, 0, sizeof(*ref));
	if (n >= IMAGE_NAME_MAX) {
		snprintf(err, errsize, "'%s': an image name is at most %d characters", s,
			 IMAGE_NAME_MAX - 1);
		return -EINVAL;
	}
	memcpy(ref->name, s, n);
	if (!image_name_ok(ref->name)) {
		snprintf(err, errsize,
			 "'%s': an image name is lower-case letters, digits, '.', '_' and '-', "
			 "starting with a letter or a digit",
			 ref->name);
		return -EINVAL;
	}
	if (slash && !version_ok(slash + 1, &ref->version)) {
		snprintf(err, errsize, "'%s': a version is a number from 1", slash + 1);
		return -EINVAL;
	}
	return 0;
}

int image_pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int image_path(const char *dir, const char *name, unsigned version, const char *sub, char *out,
	       size_t size)
{
	int n = snprintf(out, size, "%s/%s/%u%s%s", dir, name, version, sub ? "/" : "",
			 sub ? sub : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int image_current_at(int dirfd, const char *name)
{
	char link[IMAGE_NAME_MAX + 16], target[32];
	unsigned v;
	ssize_t n;

	if (!image_name_ok(name))
		return -EINVAL;
	snprintf(link, sizeof(link), "%s/current", name);
	n = readlinkat(dirfd, link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (!version_ok(target, &v))
		return -EINVAL;
	return (int)v;
}

int image_current(const char *dir, const char *name)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int v;

	if (fd < 0)
		return -errno;
	v = image_current_at(fd, name);
	close(fd);
	return v;
}

int image_switch(const char *dir, const char *name, unsigned version, char *err, size_t errsize)
{
	char vdir[IMAGE_PATH_MAX], tmp[IMAGE_PATH_MAX], cur[IMAGE_PATH_MAX], target[32];
	struct stat st;

	if (image_path(dir, name, version, NULL, vdir, sizeof(vdir)) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/%s/.current.%d", dir, name, (int)getpid()) >=
		(int)sizeof(tmp) ||
	    snprintf(cur, sizeof(cur), "%s/%s/current", dir, name) >= (int)sizeof(cur)) {
		snprintf(err, errsize, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (stat(vdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "%s/%u: no such version", name, version);
		return -ENOENT;
	}
	snprintf(target, sizeof(target), "%u", version);
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, cur) < 0) {
		int e = errno;
		unlink(tmp);
		snprintf(err, errsize, "%s: cannot switch to version %u: %s", cur, version,
			 strerror(e));
		return -e;
	}
	/* The rename is durable once the directory is. */
	int dfd = open(vdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		char parent[IMAGE_PATH_MAX];
		snprintf(parent, sizeof(parent), "%s/%s", dir, name);
		close(dfd);
		dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

/* Versions of one image, ascending; returns how many (at most max). */
static unsigned versions_of(const char *dir, const char *name, unsigned *out, unsigned max)
{
	char path[IMAGE_PATH_MAX];
	DIR *d;
	struct dirent *e;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		unsigned v;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		if (version_ok(e->d_name, &v))
			out[n++] = v;
	}
	closedir(d);
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && out[j - 1] > out[j]; j--) {
			unsigned t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

unsigned image_latest(const char *dir, const char *name)
{
	unsigned v[1024];
	unsigned n = versions_of(dir, name, v, 1024);
	return n ? v[n - 1] : 0;
}

static int info_key(void *ctx, const char *section, const char *key, const char *value)
{
	struct image_info *info = ctx;
	struct {
		const char *key;
		char *field;
		size_t size;
	} keys[] = {
	    {"name", info->name, sizeof(info->name)},
	    {"kernel_version", info->kver, sizeof(info->kver)},
	    {"created", info->created, sizeof(info->created)},
	    {"source", info->source, sizeof(info->source)},
	    {"nic_modules", info->nic_modules, sizeof(info->nic_modules)},
	};

	if (strcmp(section, "image") != 0)
		return 1;
	if (strcmp(key, "version") == 0)
		return version_ok(value, &info->version);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i].key) == 0) {
			snprintf(keys[i].field, keys[i].size, "%s", value);
			return 1;
		}
	return 1; /* keys of later versions of herd */
}

int image_info_load(const char *dir, const char *name, unsigned version, struct image_info *info,
		    char *err, size_t errsize)
{
	char path[IMAGE_PATH_MAX];
	int r, cur;

	memset(info, 0, sizeof(*info));
	if (image_path(dir, name, version, "image.ini", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = ini_parse(path, info_key, info);
	if (r < 0) {
		snprintf(err, errsize, "%s: cannot read it", path);
		return -ENOENT;
	}
	if (r > 0) {
		snprintf(err, errsize, "%s:%d: not a valid image.ini line", path, r);
		return -EINVAL;
	}
	if (strcmp(info->name, name) != 0 || info->version != version || !info->kver[0]) {
		snprintf(err, errsize, "%s: name, version or kernel_version missing or not %s/%u",
			 path, name, version);
		return -EINVAL;
	}
	cur = image_current(dir, name);
	info->current = cur > 0 && (unsigned)cur == version;
	return 0;
}

int image_info_write(const char *vdir, const struct image_info *info, char *err,
		     size_t errsize)
{
	char path[IMAGE_PATH_MAX], tmp[IMAGE_PATH_MAX + 8];
	FILE *f;

	if (image_pathf(path, sizeof(path), "%s/image.ini", vdir) < 0)
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	fprintf(f,
		"# Written by herd image; a version never changes once made.\n"
		"[image]\nname = %s\nversion = %u\nkernel_version = %s\ncreated = %s\n"
		"source = %s\nnic_modules = %s\n",
		info->name, info->version, info->kver, info->created, info->source,
		info->nic_modules);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_each(const char *dir, int (*fn)(void *ctx, const struct image_info *info), void *ctx)
{
	DIR *d = opendir(dir);
	char *names[1024];
	unsigned n = 0;
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < 1024)
		if (image_name_ok(e->d_name))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (unsigned i = 0; i < n; i++) {
		unsigned v[1024], nv = names[i] ? versions_of(dir, names[i], v, 1024) : 0;
		for (unsigned k = 0; k < nv && r == 0; k++) {
			struct image_info info;
			char err[256];
			if (image_info_load(dir, names[i], v[k], &info, err, sizeof(err)) < 0) {
				/* A version without a readable image.ini is listed
				 * by name and number; check says what is wrong. */
				memset(&info, 0, sizeof(info));
				snprintf(info.name, sizeof(info.name), "%s", names[i]);
				info.version = v[k];
				snprintf(info.kver, sizeof(info.kver), "?");
			}
			r = fn(ctx, &info);
		}
		free(names[i]);
	}
	return r;
}

int image_kernel_version(const char *vmlinuz, char *kver, size_t size)
{
	unsigned char hdr[0x210];
	char buf[256];
	int fd = open(vmlinuz, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned off;

	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	/* Linux's x86 boot protocol: "HdrS" at 0x202, the version string's
	 * offset (less 0x200) at 0x20e. */
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr + 0x202, "HdrS", 4) != 0) {
		close(fd);
		return -ENOEXEC;
	}
	off = (unsigned)hdr[0x20e] | (unsigned)hdr[0x20f] << 8;
	n = pread(fd, buf, sizeof(buf) - 1, (off_t)off + 0x200);
	close(fd);
	if (off == 0 || n <= 0)
		return -ENOEXEC;
	buf[n] = '\0';
	size_t len = strcspn(buf, " \n");
	if (len == 0 || len >= size)
		return -ENOEXEC;
	memcpy(kver, buf, len);
	kver[len] = '\0';
	return 0;
}

/* --- check --------------------------------------------------------------- */

struct checker {
	void (*report)(void *ctx, const char *line);
	void *ctx;
	unsigned count;
};

__attribute__((format(printf, 2, 3))) static void problem(struct checker *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->report(c->ctx, line);
	c->count++;
}

/* The module trees a root has, for the message. */
static void kernels_in(const char *root, char *out, size_t size)
{
	char path[IMAGE_PATH_MAX];
	DIR *d;
	struct dirent *e;
	size_t len = 0;

	out[0] = '\0';
	image_pathf(path, sizeof(path), "%s/lib/modules", root);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && len + strlen(e->d_name) + 2 < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "",
						e->d_name);
	closedir(d);
}

/* Nodes mount the root as nobody (root_squash): every directory from /
 * down to it must let others through, and the root must let them read. */
static void check_readable(struct checker *c, const char *tag, const char *root)
{
	char path[IMAGE_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s", root);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		problem(c, "%s: the root tree %s is missing", tag, root);
		return;
	}
	if ((st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH))
		problem(c,
			"%s: the export %s is not readable by the nodes (mode %03o; NFS maps "
			"their root to nobody): chmod o+rx",
			tag, root, st.st_mode & 0777);
	for (char *s = strrchr(path, '/'); s && s > path; s = strrchr(path, '/')) {
		*s = '\0';
		if (stat(path, &st) == 0 && !(st.st_mode & S_IXOTH))
			problem(c,
				"%s: the export %s is not reachable by the nodes: %s has mode %03o "
				"(needs o+x)",
				tag, root, path, st.st_mode & 0777);
	}
}

unsigned image_check(const char *dir, const char *name, unsigned version,
		     void (*report)(void *ctx, const char *line), void *ctx)
{
	struct checker c = {report, ctx, 0};
	struct image_info info;
	char tag[IMAGE_NAME_MAX + 16], err[512], path[IMAGE_PATH_MAX], root[IMAGE_PATH_MAX];
	char kver[IMAGE_KVER_MAX], have[512];
	struct stat st;

	snprintf(tag, sizeof(tag), "%s/%u", name, version);
	if (image_info_load(dir, name, version, &info, err, sizeof(err)) < 0) {
		problem(&c, "%s: %s", tag, err);
		return c.count;
	}
	image_path(dir, name, version, "root", root, sizeof(root));
	image_path(dir, name, version, "boot/vmlinuz", path, sizeof(path));
	if (stat(path, &st) < 0)
		problem(&c, "%s: no kernel (%s)", tag, path);
	else if (image_kernel_version(path, kver, sizeof(kver)) == 0 &&
		 strcmp(kver, info.kver) != 0)
		problem(&c, "%s: the kernel is %s, but image.ini says %s", tag, kver, info.kver);

	image_pathf(path, sizeof(path), "%s/lib/modules/%s", root, info.kver);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		kernels_in(root, have, sizeof(have));
		problem(&c, "%s: kernel %s has no modules tree in the image (%s is missing; "
			    "modules there: %s)",
			tag, info.kver, path, have[0] ? have : "none");
	} else {
		image_pathf(path, sizeof(path), "%s/lib/modules/%s/modules.dep", root, info.kver);
		if (stat(path, &st) < 0)
			problem(&c, "%s: no modules.dep for kernel %s (%s): run depmod -b %s %s",
				tag, info.kver, path, root, info.kver);
	}

	image_path(dir, name, version, "boot/initrd.img", path, sizeof(path));
	if (stat(path, &st) < 0)
		problem(&c, "%s: no initramfs (%s)", tag, path);
	else if (initramfs_kver(path, kver, sizeof(kver), err, sizeof(err)) < 0)
		problem(&c, "%s: the initramfs: %s", tag, err);
	else if (strcmp(kver, info.kver) != 0)
		problem(&c, "%s: the initramfs was built for kernel %s, the kernel is %s", tag,
			kver, info.kver);
	check_readable(&c, tag, root);
	return c.count;
}

/* rm -r beneath dirfd, without following symlinks. */
static int remove_tree(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fd < 0)
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && r == 0)
			r = remove_tree(dirfd(d), e->d_name);
	closedir(d);
	if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

int image_remove_tree(const char *parent, const char *name)
{
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = remove_tree(fd, name);
	close(fd);
	return r;
}

int image_remove(const char *dir, const char *name, unsigned version, bool force, char *err,
		 size_t errsize)
{
	char idir[IMAGE_PATH_MAX], vname[32];
	int cur = image_current(dir, name), fd, r;

	snprintf(idir, sizeof(idir), "%s/%s", dir, name);
	fd = open(idir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsize, "%s: no such image", name);
		return -ENOENT;
	}
	if (version == 0) {
		close(fd);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? -errno : remove_tree(fd, name);
	} else if (cur > 0 && (unsigned)cur == version && !force) {
		snprintf(err, errsize,
			 "%s/%u is the current version: switch to another first, or remove the "
			 "whole image",
			 name, version);
		r = -EBUSY;
	} else {
		snprintf(vname, sizeof(vname), "%u", version);
		struct stat st;
		if (fstatat(fd, vname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(err, errsize, "%s/%u: no such version", name, version);
			r = -ENOENT;
		} else {
			r = remove_tree(fd, vname);
		}
	}
	if (fd >= 0)
		close(fd);
	if (r < 0 && r != -EBUSY && r != -ENOENT)
		snprintf(err, errsize, "%s: cannot remove: %s", name, strerror(-r));
	return r;
}
