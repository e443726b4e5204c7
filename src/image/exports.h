/* The NFS export list of the image store (docs/IMAGES.md): herd does not
 * serve NFS; it writes what the system's NFS server exports, every
 * version's root tree read-only, for the kernel's nfsd (exports(5)) or
 * for nfs-ganesha (an EXPORT block per root, to %include). */
#ifndef HERD_IMAGE_EXPORTS_H
#define HERD_IMAGE_EXPORTS_H

#include <stddef.h>

enum exports_format { EXPORTS_KERNEL, EXPORTS_GANESHA };

/* Writes the list for every version in the store `dir` to `file`
 * (atomically; "-" is stdout), open to `clients` (exports(5) or ganesha
 * client specs, space separated, e.g. "10.1.0.0/16"; "*": anyone).
 * Returns how many exports, or -errno with the reason in err. */
int exports_write(const char *dir, enum exports_format fmt, const char *file, const char *clients,
		  char *err, size_t errsize);

#endif
