/* Images of diskless nodes: a named, versioned set of a kernel, the
 * modules tree of exactly that kernel, herd's node initramfs made from
 * those modules, and the root file system tree the nodes mount over NFS
 * (docs/IMAGES.md). The store is a directory:
 *
 *   DIR/NAME/VERSION/image.ini    what the version is (kernel version, source, NIC drivers)
 *   DIR/NAME/VERSION/boot/vmlinuz, boot/initrd.img   what TFTP and HTTP serve
 *   DIR/NAME/VERSION/root/        the root tree, exported read-only
 *   DIR/NAME/current -> VERSION   a symlink, replaced by rename(2)
 *
 * A version never changes once made: a new build is a new version, and
 * switching is one rename, so a node that is booting keeps a consistent
 * set (its script names the version it started with). */
#ifndef HERD_IMAGE_H
#define HERD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#define IMAGE_NAME_MAX 64
#define IMAGE_KVER_MAX 128
#define IMAGE_PATH_MAX 4096

struct image_ref {
	char name[IMAGE_NAME_MAX];
	unsigned version; /* 0: the current one */
};

/* What image.ini says of a version. */
struct image_info {
	char name[IMAGE_NAME_MAX];
	unsigned version;
	char kver[IMAGE_KVER_MAX]; /* uname -r of its kernel */
	char created[32];	   /* UTC, ISO 8601 */
	char source[512];	   /* how it was made: "mmdebstrap bookworm ...", "from DIR" */
	char nic_modules[1024];	   /* the NIC drivers in its initramfs, space separated */
	bool current;
};

/* A name is [a-z0-9][a-z0-9._-]*, at most IMAGE_NAME_MAX - 1. */
bool image_name_ok(const char *name);
/* "NAME" or "NAME/VERSION" into ref; -EINVAL with the reason in err. */
int image_parse_ref(const char *s, struct image_ref *ref, char *err, size_t errsize);

/* The version `current` points at, through dirfd (the store opened
 * O_PATH or O_DIRECTORY): >0, or -errno (-ENOENT: no such image). */
int image_current_at(int dirfd, const char *name);
int image_current(const char *dir, const char *name);
/* Points `current` at version (which must exist), atomically. */
int image_switch(const char *dir, const char *name, unsigned version, char *err, size_t errsize);
/* The highest version present (0: none). */
unsigned image_latest(const char *dir, const char *name);

/* snprintf for paths: -ENAMETOOLONG when out is too small (out holds
 * the truncated path, never used). */
__attribute__((format(printf, 3, 4))) int image_pathf(char *out, size_t size, const char *fmt,
						      ...);
/* DIR/NAME/VERSION[/sub] into out; -ENAMETOOLONG. */
int image_path(const char *dir, const char *name, unsigned version, const char *sub, char *out,
	       size_t size);

int image_info_load(const char *dir, const char *name, unsigned version, struct image_info *info,
		    char *err, size_t errsize);
/* Writes vdir/image.ini (a version's directory, or a build's stage)
 * durably: a temporary file, fsync, rename. */
int image_info_write(const char *vdir, const struct image_info *info, char *err,
		     size_t errsize);

/* Calls fn for every version of every image (name order, then version
 * order); stops and returns fn's value when it is not 0. */
int image_each(const char *dir, int (*fn)(void *ctx, const struct image_info *info), void *ctx);

/* The kernel version a bzImage says it is (its setup header's version
 * string, the first word); -ENOEXEC when the file is no bzImage (arm64's
 * Image has none: then image.ini is all there is). */
int image_kernel_version(const char *vmlinuz, char *kver, size_t size);

/* The classic diskless mistakes in one version (docs/IMAGES.md): calls
 * report(ctx, line) for each; returns how many. */
unsigned image_check(const char *dir, const char *name, unsigned version,
		     void (*report)(void *ctx, const char *line), void *ctx);

/* rm -r of parent/name, without following symlinks: 0 or -errno. */
int image_remove_tree(const char *parent, const char *name);

/* Removes a version (not the current one unless `force`), or with version
 * 0 every version and the image. */
int image_remove(const char *dir, const char *name, unsigned version, bool force, char *err,
		 size_t errsize);

#endif
