/* The files room: what herd serves, whatever the protocol (TFTP and
 * HTTP). Files are resolved strictly beneath the root, mapped once and
 * shared by every transfer of the same file; the files herd generates
 * (iPXE scripts, pxelinux configurations: the boot policy renders them)
 * come through the same call.
 *
 * Each request re-resolves its name (openat2 with RESOLVE_BENEATH, so `..`,
 * absolute symlinks and symlinks pointing out of the root all fail), then
 * finds the mapping by (device, inode, size, mtime): a replaced file gets a
 * new mapping while transfers of the old one finish undisturbed. Replace
 * files by rename (install(1), mv), never truncate them in place: a mapped
 * file that shrinks under a transfer faults. */
#ifndef HERD_FILES_H
#define HERD_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/net.h"

struct files;

/* Longest name a client may ask for (TFTP's own limit is 512 too). */
#define FILES_NAME_MAX 512

struct file_view {
	const uint8_t *data; /* NULL when size is 0 */
	size_t size;
};

struct files *files_new(int rootfd, mono_t keep_unused);

/* Files herd makes itself (iPXE scripts, pxelinux configurations): for a
 * name `claims` accepts, `render` makes the content (malloc'd) for the
 * client that asked, through server (herd's address as the client sees
 * it); -ENOENT lets the name fall through
 * to the root. */
struct files_generator {
	void *ctx;
	bool (*claims)(const char *name);
	int (*render)(void *ctx, const char *name, const struct ipaddr *server,
		      const struct ipaddr *client, char **data, size_t *len);
};
void files_set_generator(struct files *files, const struct files_generator *gen);

/* Names beneath IMAGES_PREFIX come from the image store (dirfd, opened by
 * the caller, kept open): herd/images/NAME/VERSION/vmlinuz and initrd.img,
 * its boot/ files (src/image/image.h). */
#define IMAGES_PREFIX "herd/images/"
void files_set_images(struct files *files, int dirfd);
void files_free(struct files *files);

/* Resolves `name` (as sent by the client; a leading '/' is relative to the
 * root) and returns a reference to its shared content. netascii asks for
 * the RFC 764 translation (LF -> CR LF, CR -> CR NUL), made once per file.
 * Errors: -ENOENT, -EACCES, -EISDIR (not a regular file), -ENAMETOOLONG,
 * -EXDEV (would leave the root), -EINVAL (empty or forbidden name),
 * -ENOMEM. */
int files_open(struct files *files, const char *name, size_t name_len, bool netascii,
	       const struct ipaddr *server, const struct ipaddr *client,
	       const struct file_view **out);

/* Drops a reference taken by files_open(). */
void files_put(struct files *files, const struct file_view *f, mono_t now);

/* Unmaps files unused for longer than keep_unused. */
void files_expire(struct files *files, mono_t now);

unsigned files_count(const struct files *files);

#endif
