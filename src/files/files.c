#include "files/files.h"

#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct file_entry {
	struct file_view octet;	   /* the mapping, as stored */
	struct file_view netascii; /* translated copy, made on first use */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	uint32_t refs;
	bool generated; /* octet.data is malloc'd, not mapped; never shared */
	mono_t unused_since;
	struct file_entry *next;
};

struct files {
	int rootfd;
	int imagesfd; /* the image store ([images] dir), or -1 */
	mono_t keep_unused;
	unsigned count;
	struct file_entry *head; /* few distinct boot files: a list is enough */
	struct files_generator gen;
};

void files_set_generator(struct files *files, const struct files_generator *gen)
{
	files->gen = *gen;
}

struct files *files_new(int rootfd, mono_t keep_unused)
{
	struct files *files = calloc(1, sizeof(*files));

	if (files == NULL)
		return NULL;
	files->rootfd = rootfd;
	files->imagesfd = -1;
	files->keep_unused = keep_unused;
	return files;
}

static void entry_free(struct file_entry *e)
{
	if (e->generated)
		free((void *)e->octet.data);
	else if (e->octet.data)
		munmap((void *)e->octet.data, e->octet.size);
	free((void *)e->netascii.data);
	free(e);
}

void files_free(struct files *files)
{
	if (files == NULL)
		return;
	while (files->head) {
		struct file_entry *e = files->head;
		files->head = e->next;
		entry_free(e);
	}
	free(files);
}

/* Rejects names no boot client needs and every '..' component, before the
 * kernel's RESOLVE_BENEATH check (which alone would allow "a/../b"). */
static int check_name(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > FILES_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		bool at_start = i == 0 || name[i - 1] == '/';
		if (at_start && name[i] == '.' && i + 1 < len && name[i + 1] == '.' &&
		    (i + 2 == len || name[i + 2] == '/'))
			return -EXDEV;
		if ((unsigned char)name[i] < 0x20)
			return -EINVAL;
	}
	return 0;
}

static int open_beneath(int rootfd, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static struct file_entry *find(struct files *files, const struct stat *st)
{
	for (struct file_entry *e = files->head; e; e = e->next) {
		if (!e->generated && e->dev == st->st_dev && e->ino == st->st_ino &&
		    e->octet.size == (size_t)st->st_size &&
		    e->mtime.tv_sec == st->st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return e;
	}
	return NULL;
}

static struct file_entry *map_new(struct files *files, int fd, const struct stat *st)
{
	struct file_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->mtime = st->st_mtim;
	e->octet.size = (size_t)st->st_size;
	if (e->octet.size > 0) {
		void *p = mmap(NULL, e->octet.size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			free(e);
			return NULL;
		}
		madvise(p, e->octet.size, MADV_WILLNEED);
		e->octet.data = p;
	}
	e->next = files->head;
	files->head = e;
	files->count++;
	return e;
}

/* RFC 764 NVT ASCII: LF -> CR LF, a bare CR -> CR NUL. */
static int make_netascii(struct file_entry *e)
{
	const uint8_t *src = e->octet.data;
	size_t n = e->octet.size, out_len = n;
	uint8_t *dst;

	for (size_t i = 0; i < n; i++)
		out_len += src[i] == '\n' || src[i] == '\r';
	dst = malloc(out_len ? out_len : 1);
	if (dst == NULL)
		return -ENOMEM;
	for (size_t i = 0, j = 0; i < n; i++) {
		if (src[i] == '\n') {
			dst[j++] = '\r';
			dst[j++] = '\n';
		} else if (src[i] == '\r') {
			dst[j++] = '\r';
			dst[j++] = '\0';
		} else {
			dst[j++] = src[i];
		}
	}
	e->netascii.data = dst;
	e->netascii.size = out_len;
	return 0;
}

void files_set_images(struct files *files, int dirfd)
{
	files->imagesfd = dirfd;
}

/* herd/images/NAME/VERSION/FILE is the store's NAME/VERSION/boot/FILE:
 * only what a version gives to boot (kernel, initramfs), never its root
 * tree, which NFS serves. -ENOENT for any other name. */
static int image_name(const char *name, char *out, size_t size)
{
	const char *rest = name + strlen(IMAGES_PREFIX);
	const char *slash1 = strchr(rest, '/'), *slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
	char iname[IMAGE_NAME_MAX];
	size_t nlen = slash1 ? (size_t)(slash1 - rest) : 0;

	if (!slash2 || nlen == 0 || nlen >= sizeof(iname) || strchr(slash2 + 1, '/'))
		return -ENOENT;
	memcpy(iname, rest, nlen);
	iname[nlen] = '\0';
	if (!image_name_ok(iname) || slash2 == slash1 + 1)
		return -ENOENT;
	for (const char *v = slash1 + 1; v < slash2; v++)
		if (*v < '0' || *v > '9')
			return -ENOENT;
	if (strcmp(slash2 + 1, "vmlinuz") != 0 && strcmp(slash2 + 1, "initrd.img") != 0)
		return -ENOENT;
	int n = snprintf(out, size, "%s/%.*s/boot/%s", iname, (int)(slash2 - slash1 - 1),
			 slash1 + 1, slash2 + 1);
	return n > 0 && (size_t)n < size ? 0 : -ENOENT;
}

static int lookup(struct files *files, const char *name, struct file_entry **out)
{
	struct stat st;
	char iname[FILES_NAME_MAX + 16];
	int fd;

	if (strncmp(name, IMAGES_PREFIX, strlen(IMAGES_PREFIX)) == 0 && files->imagesfd >= 0) {
		if (image_name(name, iname, sizeof(iname)) < 0)
			return -ENOENT;
		fd = open_beneath(files->imagesfd, iname);
	} else {
		fd = open_beneath(files->rootfd, name);
	}

	if (fd < 0)
		return fd == -ELOOP ? -EXDEV : fd;
	if (fstat(fd, &st) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	*out = find(files, &st);
	if (*out == NULL)
		*out = map_new(files, fd, &st);
	close(fd);
	return *out ? 0 : -ENOMEM;
}

/* A generated file gets an entry of its own, freed once its transfer ends. */
static int generate(struct files *files, const char *name, const struct ipaddr *server,
		    const struct ipaddr *client, struct file_entry **out)
{
	struct file_entry *e;
	char *data;
	size_t len;
	int err = files->gen.render(files->gen.ctx, name, server, client, &data, &len);

	if (err < 0)
		return err;
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		free(data);
		return -ENOMEM;
	}
	e->generated = true;
	e->octet.data = (const uint8_t *)data;
	e->octet.size = len;
	e->next = files->head;
	files->head = e;
	files->count++;
	*out = e;
	return 0;
}

int files_open(struct files *files, const char *name, size_t name_len, bool netascii,
	       const struct ipaddr *server, const struct ipaddr *client,
	       const struct file_view **out)
{
	struct file_entry *e = NULL;
	int err;

	/* Clients ask for "/pxelinux.0" as often as "pxelinux.0": the root is
	 * the client's "/", as with tftpd-hpa -s. */
	while (name_len > 0 && name[0] == '/') {
		name++;
		name_len--;
	}
	err = check_name(name, name_len);
	if (err < 0)
		return err;
	err = -ENOENT;
	if (files->gen.claims && files->gen.claims(name))
		err = generate(files, name, server, client, &e);
	if (err == -ENOENT)
		err = lookup(files, name, &e);
	if (err < 0)
		return err;
	if (netascii && e->netascii.data == NULL && e->octet.size > 0) {
		err = make_netascii(e);
		if (err < 0)
			return err;
	}
	e->refs++;
	*out = netascii ? &e->netascii : &e->octet;
	return 0;
}

static struct file_entry *owner(struct files *files, const struct file_view *f)
{
	for (struct file_entry *e = files->head; e; e = e->next)
		if (f == &e->octet || f == &e->netascii)
			return e;
	return NULL;
}

static void unlink_entry(struct files *files, struct file_entry *e)
{
	for (struct file_entry **pp = &files->head; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			files->count--;
			entry_free(e);
			return;
		}
	}
}

void files_put(struct files *files, const struct file_view *f, mono_t now)
{
	struct file_entry *e = owner(files, f);

	if (e == NULL || --e->refs > 0)
		return;
	e->unused_since = now;
	if (e->generated)
		unlink_entry(files, e); /* made for one client: nothing to share */
}

void files_expire(struct files *files, mono_t now)
{
	struct file_entry **pp = &files->head;

	while (*pp) {
		struct file_entry *e = *pp;
		if (e->refs == 0 && now - e->unused_since >= files->keep_unused) {
			*pp = e->next;
			files->count--;
			entry_free(e);
		} else {
			pp = &e->next;
		}
	}
}

unsigned files_count(const struct files *files)
{
	return files->count;
}
