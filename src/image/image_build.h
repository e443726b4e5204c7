/* Making a version of an image (herd image build): a root tree from
 * Debian's packages (mmdebstrap) or from a directory, the kernel found in
 * it, herd's initramfs from that kernel's own modules, then one rename
 * into the store and one into `current`. Nothing is visible to a node
 * before the version is whole. */
#ifndef HERD_IMAGE_BUILD_H
#define HERD_IMAGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>

struct image_build_spec {
	const char *dir;	 /* the store */
	const char *name;
	const char *from;	 /* a root tree to copy; NULL: mmdebstrap */
	const char *suite;	 /* mmdebstrap's suite, e.g. "bookworm" */
	const char *mirror;	 /* NULL: mmdebstrap's default */
	const char *kernel_pkg;	 /* e.g. "linux-image-amd64" */
	const char *include;	 /* more packages, comma separated; NULL: none */
	const char *kver;	 /* the kernel to use when the tree has several; NULL: the only one */
	const char *nic_modules; /* space or comma separated; NULL: the default list */
	const char *customize;	 /* a program run with the root tree's path before the initramfs */
	unsigned keep;		 /* versions kept besides the current one */
	bool no_switch;		 /* leave `current` where it is */
};

/* Prints its steps on stdout; returns the new version (>0), or -errno
 * with one line in err. */
int image_build(const struct image_build_spec *s, char *err, size_t errsize);

/* Runs argv (a NULL-terminated list) and waits: 0 when it exits 0; the
 * failure in err. */
int image_run(char *const argv[], char *err, size_t errsize);

#endif
