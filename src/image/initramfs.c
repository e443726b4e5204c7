/* Building herd's node initramfs from an image root (see initramfs.h).
 *
 * Everything is read from the image's tree, through RESOLVE_IN_ROOT so that
 * the image's absolute symlinks (bin -> usr/bin, ...) resolve inside it and
 * never on the host; no host tool runs. */
#include "image/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The node's /init, embedded from src/image/node_init.sh by the Makefile. */
extern const unsigned char initramfs_node_init[];
extern const size_t initramfs_node_init_len;

const char *const initramfs_default_nics[] = {INITRAMFS_DEFAULT_NICS};
const size_t initramfs_n_default_nics =
    sizeof(initramfs_default_nics) / sizeof(initramfs_default_nics[0]);

/* What /init needs besides the NIC drivers; "optional" ones may be built in
 * or absent (af_packet is built into Debian's kernels; without netconsole
 * /init streams through klogd). */
static const struct {
	const char *name;
	bool optional;
} extra_modules[] = {
    {"netconsole", true}, {"nfs", false}, {"nfsv4", false}, {"overlay", false}, {"af_packet", true},
};

/* The busybox applets /init calls (links in bin/). */
static const char *const applets[] = {
    "[",       "awk",	   "cat",	  "cttyhack", "cut",	 "dmesg",    "echo",
    "grep",    "hostname", "insmod",	  "ip",	      "kill",	 "killall",  "klogd",
    "logger",  "logread",  "ls",	  "lsmod",    "mkdir",	 "modprobe", "mount",
    "ping",    "poweroff", "printf",	  "reboot",   "rm",	 "sed",	     "setsid",
    "sh",      "sleep",	   "switch_root", "sync",     "syslogd", "tee",	     "test",
    "timeout", "tr",	   "udhcpc",	  "umount",   "uname",	 "wc",
};

#define MAX_TEXT (64u << 20) /* modules.dep and modules.alias of any kernel */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Opens NAME inside the image root: absolute symlinks stay in the image. */
static int open_in_root(int rootfd, const char *name, int flags)
{
	struct open_how how = {
	    .flags = (unsigned)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, name, &how, sizeof(how));

	return fd < 0 ? -1 : (int)fd;
}

/* Reads a whole text file of the image into a NUL-terminated buffer. */
static char *slurp_in_root(int rootfd, const char *name, size_t *len)
{
	int fd = open_in_root(rootfd, name, O_RDONLY);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_TEXT)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (len)
		*len = got;
out:
	close(fd);
	return buf;
}

/* --- the kernel's modules ------------------------------------------------ */

struct kmod {
	const char *path; /* as in modules.dep (relative to lib/modules/<kver>) */
	const char *deps; /* the rest of its modules.dep line */
	char name[64];	  /* module name: file name without .ko*, '-' as '_' */
	bool want;
};

struct modtab {
	struct kmod *v;
	size_t n;
	char *dep_text;
	char *builtin_text; /* modules.builtin, may be NULL */
};

static void mod_name(const char *path, size_t len, char *name, size_t size)
{
	const char *base = path, *p;
	size_t n = 0;

	for (p = path; p < path + len; p++)
		if (*p == '/')
			base = p + 1;
	for (p = base; p < path + len && n + 1 < size; p++) {
		if (p[0] == '.' && p[1] == 'k' && p[2] == 'o' &&
		    (p[3] == '\0' || p[3] == '.' || p[3] == ':' || p[3] == ' ' || p[3] == '\n'))
			break;
		name[n++] = *p == '-' ? '_' : *p;
	}
	name[n] = '\0';
}

/* Splits modules.dep ("path: dep dep ...") into the table, in place. */
static int modtab_parse(struct modtab *t)
{
	size_t cap = 0;
	char *line = t->dep_text, *next;

	for (; line && *line; line = next) {
		char *colon;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (!colon || line[0] == '#')
			continue;
		*colon = '\0';
		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct kmod *v = realloc(t->v, ncap * sizeof(*v));
			if (!v)
				return -1;
			t->v = v;
			cap = ncap;
		}
		struct kmod *m = &t->v[t->n++];
		m->path = line;
		m->deps = colon + 1 + (colon[1] == ' ');
		m->want = false;
		mod_name(line, strlen(line), m->name, sizeof(m->name));
	}
	return 0;
}

static struct kmod *modtab_find(struct modtab *t, const char *name)
{
	char norm[64];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(norm); i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	norm[i] = '\0';
	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, norm))
			return &t->v[i];
	return NULL;
}

static bool modtab_builtin(const struct modtab *t, const char *name)
{
	const char *line = t->builtin_text;
	char n[64];

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		mod_name(line, len, n, sizeof(n));
		if (!strcmp(n, name))
			return true;
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* Marks M and everything it depends on (modules.dep lists the whole
 * closure already; following it again costs nothing and tolerates a
 * modules.dep that lists direct dependencies only). */
static int modtab_want(struct modtab *t, struct kmod *m, char *err, size_t errlen)
{
	const char *p = m->deps;

	if (m->want)
		return 0;
	/* the path becomes an archive member name: nothing that climbs out */
	if (!strncmp(m->path, "../", 3) || strstr(m->path, "/../"))
		return fail(err, errlen, "modules.dep: unsafe path %s", m->path);
	m->want = true;
	while (*p) {
		const char *end;
		size_t i, len;

		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, " \t");
		len = (size_t)(end - p);
		if (!len)
			break;
		for (i = 0; i < t->n; i++)
			if (strlen(t->v[i].path) == len && !strncmp(t->v[i].path, p, len))
				break;
		if (i == t->n)
			return fail(err, errlen,
				    "modules.dep: %s depends on %.*s, which has no line", m->name,
				    (int)len, p);
		if (modtab_want(t, &t->v[i], err, errlen) < 0)
			return -1;
		p = end;
	}
	return 0;
}

static void modtab_free(struct modtab *t)
{
	free(t->v);
	free(t->dep_text);
	free(t->builtin_text);
}

/* Chooses the modules: the NICs (named, or the default list), virtio_pci
 * beside virtio_net (the bus driver of a virtio NIC), and extra_modules. */
static int choose_modules(struct modtab *t, const struct initramfs_spec *s, const char *moddir,
			  char *err, size_t errlen)
{
	const char *const *nics = s->nic_modules ? s->nic_modules : initramfs_default_nics;
	size_t n = s->nic_modules ? s->n_nic : initramfs_n_default_nics, i, found = 0;
	struct kmod *m;

	for (i = 0; i < n; i++) {
		m = modtab_find(t, nics[i]);
		if (!m) {
			if (!s->nic_modules || modtab_builtin(t, nics[i]))
				continue;
			return fail(err, errlen, "NIC module %s is not in %s/modules.dep", nics[i],
				    moddir);
		}
		if (modtab_want(t, m, err, errlen) < 0)
			return -1;
		found++;
	}
	if (!found && n)
		return fail(err, errlen, "none of the NIC modules is in %s/modules.dep", moddir);
	if ((m = modtab_find(t, "virtio_net")) && m->want && (m = modtab_find(t, "virtio_pci")))
		if (modtab_want(t, m, err, errlen) < 0)
			return -1;
	for (i = 0; i < sizeof(extra_modules) / sizeof(extra_modules[0]); i++) {
		m = modtab_find(t, extra_modules[i].name);
		if (!m) {
			if (extra_modules[i].optional || modtab_builtin(t, extra_modules[i].name))
				continue;
			return fail(err, errlen,
				    "module %s is not in %s/modules.dep (the node needs it)",
				    extra_modules[i].name, moddir);
		}
		if (modtab_want(t, m, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* --- ELF: is busybox static? ----------------------------------------------- */

static uint64_t elf_get(const unsigned char *p, size_t n, bool be)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

/* 1 static (no PT_INTERP), 0 dynamic, -1 not an ELF file. A dynamic busybox
 * would need the image's libc in the initramfs, which it does not carry. */
static int elf_fd_is_static(int fd, char *err, size_t errlen)
{
	unsigned char eh[64], ph[56];
	bool is64, be;
	uint64_t phoff;
	unsigned phentsize, phnum, i;

	if (pread(fd, eh, sizeof(eh), 0) < 52 || memcmp(eh, "\177ELF", 4) || eh[4] < 1 ||
	    eh[4] > 2 || eh[5] < 1 || eh[5] > 2)
		return fail(err, errlen, "not an ELF file");
	is64 = eh[4] == 2;
	be = eh[5] == 2;
	phoff = is64 ? elf_get(eh + 0x20, 8, be) : elf_get(eh + 0x1c, 4, be);
	phentsize = (unsigned)elf_get(eh + (is64 ? 0x36 : 0x2a), 2, be);
	phnum = (unsigned)elf_get(eh + (is64 ? 0x38 : 0x2c), 2, be);
	if (phentsize < 4 || phentsize > sizeof(ph) || phnum > 4096)
		return fail(err, errlen, "ELF file with bad program headers");
	for (i = 0; i < phnum; i++) {
		if (pread(fd, ph, phentsize, (off_t)(phoff + (uint64_t)i * phentsize)) !=
		    (ssize_t)phentsize)
			return fail(err, errlen, "ELF file with truncated program headers");
		if (elf_get(ph, 4, be) == 3) /* PT_INTERP: a dynamic loader */
			return 0;
	}
	return 1;
}

int initramfs_elf_is_static(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	rc = elf_fd_is_static(fd, err, errlen);
	close(fd);
	return rc;
}

/* --- the archive --------------------------------------------------------- */

struct writer {
	struct archive *a;
	char *err;
	size_t errlen;
	char **dirs; /* directories already written */
	size_t n_dirs;
	unsigned ino;
};

/* One entry header: a file of SIZE bytes, a directory, a symlink to LINK,
 * or a character device RDEV (major, minor). */
static int w_entry(struct writer *w, const char *path, unsigned type, unsigned perm, size_t size,
		   const char *link, const unsigned rdev[2])
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return fail(w->err, w->errlen, "out of memory");
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_ino(e, ++w->ino);
	archive_entry_set_nlink(e, type == AE_IFDIR ? 2 : 1);
	if (link)
		archive_entry_set_symlink(e, link);
	if (rdev) {
		archive_entry_set_rdevmajor(e, rdev[0]);
		archive_entry_set_rdevminor(e, rdev[1]);
	}
	r = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return fail(w->err, w->errlen, "writing %s: %s", path, archive_error_string(w->a));
	return 0;
}

static int w_header(struct writer *w, const char *path, unsigned type, unsigned perm, size_t size,
		    const char *link)
{
	return w_entry(w, path, type, perm, size, link, NULL);
}

static int w_chardev(struct writer *w, const char *path, unsigned perm, unsigned major,
		     unsigned minor)
{
	const unsigned rdev[2] = {major, minor};

	return w_entry(w, path, AE_IFCHR, perm, 0, NULL, rdev);
}

/* Writes the directory PATH and its parents, each once. */
static int w_dir(struct writer *w, const char *path)
{
	char buf[4096];
	size_t i;
	char *slash, **dirs;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fail(w->err, w->errlen, "path too long: %s", path);
	for (i = 0; i < w->n_dirs; i++)
		if (!strcmp(w->dirs[i], buf))
			return 0;
	slash = strrchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (w_dir(w, buf) < 0)
			return -1;
		*slash = '/';
	}
	dirs = realloc(w->dirs, (w->n_dirs + 1) * sizeof(*dirs));
	if (!dirs || !(dirs[w->n_dirs] = strdup(buf))) {
		if (dirs)
			w->dirs = dirs;
		return fail(w->err, w->errlen, "out of memory");
	}
	w->dirs = dirs;
	w->n_dirs++;
	return w_header(w, buf, AE_IFDIR, 0755, 0, NULL);
}

static int w_parent(struct writer *w, const char *path)
{
	char buf[4096];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	return w_dir(w, buf);
}

static int w_data(struct writer *w, const char *path, const void *data, size_t len)
{
	if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return fail(w->err, w->errlen, "writing %s: %s", path, archive_error_string(w->a));
	return 0;
}

static int w_mem(struct writer *w, const char *path, unsigned perm, const void *data, size_t len)
{
	if (w_parent(w, path) < 0 || w_header(w, path, AE_IFREG, perm, len, NULL) < 0)
		return -1;
	return w_data(w, path, data, len);
}

/* Copies SRC (inside the image root) to the archive as PATH. */
static int w_copy(struct writer *w, int rootfd, const char *src, const char *path, unsigned perm)
{
	int fd = open_in_root(rootfd, src, O_RDONLY);
	struct stat st;
	char buf[65536];
	size_t left;
	int rc = -1;

	if (fd < 0)
		return fail(w->err, w->errlen, "cannot open %s in the image: %s", src,
			    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fail(w->err, w->errlen, "%s in the image is not a regular file", src);
		goto out;
	}
	if (w_parent(w, path) < 0 ||
	    w_header(w, path, AE_IFREG, perm, (size_t)st.st_size, NULL) < 0)
		goto out;
	for (left = (size_t)st.st_size; left;) {
		ssize_t r = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (r <= 0) {
			fail(w->err, w->errlen, "reading %s in the image: %s", src,
			     r < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		if (w_data(w, path, buf, (size_t)r) < 0)
			goto out;
		left -= (size_t)r;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* A growing text buffer for the generated files. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;
		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->s, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* The "alias PATTERN MODULE" lines of modules.alias whose module is in. */
static void trim_alias(struct modtab *t, const char *alias, struct text *out)
{
	const char *line = alias;

	text_str(out, "# Aliases of the modules in herd's node initramfs.\n");
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *mod = line + len;
		struct kmod *m;
		char name[64];

		while (mod > line && mod[-1] != ' ')
			mod--;
		if (!strncmp(line, "alias ", 6) && mod > line + 6 &&
		    (size_t)(line + len - mod) < sizeof(name)) {
			memcpy(name, mod, (size_t)(line + len - mod));
			name[line + len - mod] = '\0';
			if ((m = modtab_find(t, name)) && m->want) {
				text_add(out, line, len);
				text_str(out, "\n");
			}
		}
		line = end ? end + 1 : NULL;
	}
}

/* The archive name of a module: relative paths are under lib/modules/<kver>. */
static void module_entry(const char *kver, const char *path, char *buf, size_t size)
{
	if (path[0] == '/')
		snprintf(buf, size, "%s", path + 1);
	else
		snprintf(buf, size, "lib/modules/%s/%s", kver, path);
}

static int write_modules(struct writer *w, int rootfd, const struct initramfs_spec *s,
			 struct modtab *t, const char *alias)
{
	struct text dep = {0}, al = {0}, info = {0};
	char entry[4096], moddir[512];
	size_t i;
	int rc = -1;

	snprintf(moddir, sizeof(moddir), "lib/modules/%s", s->kver);
	text_str(&info, "# herd node initramfs\nkver=");
	text_str(&info, s->kver);
	text_str(&info, "\nmodules=");
	for (i = 0; i < t->n; i++) {
		struct kmod *m = &t->v[i];
		if (!m->want)
			continue;
		module_entry(s->kver, m->path, entry, sizeof(entry));
		if (w_copy(w, rootfd, entry, entry, 0644) < 0)
			goto out;
		text_str(&dep, m->path);
		text_str(&dep, ": ");
		text_str(&dep, m->deps);
		text_str(&dep, "\n");
		text_str(&info, m->name);
		text_str(&info, " ");
	}
	text_str(&info, "\n");
	trim_alias(t, alias, &al);
	if (dep.oom || al.oom || info.oom) {
		fail(w->err, w->errlen, "out of memory");
		goto out;
	}
	snprintf(entry, sizeof(entry), "%s/modules.dep", moddir);
	if (w_mem(w, entry, 0644, dep.s, dep.len) < 0)
		goto out;
	snprintf(entry, sizeof(entry), "%s/modules.alias", moddir);
	if (w_mem(w, entry, 0644, al.s, al.len) < 0)
		goto out;
	rc = w_mem(w, "etc/herd-initramfs", 0644, info.s, info.len);
out:
	free(dep.s);
	free(al.s);
	free(info.s);
	return rc;
}

static int write_base(struct writer *w, int rootfd, const char *root)
{
	static const char *const dirs[] = {"bin", "dev", "etc", "proc",
					   "sys", "run", "tmp", "newroot"};
	char link[64];
	size_t i;
	int fd, st;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (w_dir(w, dirs[i]) < 0)
			return -1;
	/* the kernel opens /dev/console before /init mounts devtmpfs */
	if (w_chardev(w, "dev/console", 0600, 5, 1) < 0 || w_chardev(w, "dev/null", 0666, 1, 3) < 0)
		return -1;
	if (w_mem(w, "init", 0755, initramfs_node_init, initramfs_node_init_len) < 0)
		return -1;
	fd = open_in_root(rootfd, "bin/busybox", O_RDONLY);
	if (fd < 0)
		return fail(w->err, w->errlen,
			    "no %s/bin/busybox: install busybox-static in the image", root);
	st = elf_fd_is_static(fd, w->err, w->errlen);
	close(fd);
	if (st < 0)
		return fail(w->err, w->errlen, "%s/bin/busybox: not an ELF file", root);
	if (st == 0)
		return fail(w->err, w->errlen,
			    "%s/bin/busybox is not statically linked: install busybox-static in "
			    "the image",
			    root);
	if (w_copy(w, rootfd, "bin/busybox", "bin/busybox", 0755) < 0)
		return -1;
	for (i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(link, sizeof(link), "bin/%s", applets[i]);
		if (w_header(w, link, AE_IFLNK, 0777, 0, "busybox") < 0)
			return -1;
	}
	return 0;
}

static int write_archive(int fd, int rootfd, const struct initramfs_spec *s, struct modtab *t,
			 const char *alias, char *err, size_t errlen)
{
	struct writer w = {.err = err, .errlen = errlen};
	int rc = -1;
	size_t i;

	w.a = archive_write_new();
	if (!w.a)
		return fail(err, errlen, "out of memory");
	if (archive_write_set_format_cpio_newc(w.a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(w.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
		fail(err, errlen, "libarchive: %s", archive_error_string(w.a));
		goto out;
	}
	if (write_base(&w, rootfd, s->root) < 0 || write_modules(&w, rootfd, s, t, alias) < 0)
		goto out;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		fail(err, errlen, "libarchive: %s", archive_error_string(w.a));
		goto out;
	}
	rc = 0;
out:
	archive_write_free(w.a);
	for (i = 0; i < w.n_dirs; i++)
		free(w.dirs[i]);
	free(w.dirs);
	return rc;
}

static bool kver_ok(const char *kver)
{
	return kver && *kver && strlen(kver) < 128 && !strchr(kver, '/') && strcmp(kver, ".") &&
	       strcmp(kver, "..");
}

int initramfs_build(const struct initramfs_spec *s, char *err, size_t errlen)
{
	struct modtab t = {0};
	char moddir[4200], name[512], tmp[4200];
	char *alias = NULL;
	int rootfd, fd = -1, rc = -1;

	if (!s->root || !s->out)
		return fail(err, errlen, "no image root or no output file");
	if (!kver_ok(s->kver))
		return fail(err, errlen, "bad kernel version '%s'", s->kver ? s->kver : "");
	rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail(err, errlen, "cannot open image root %s: %s", s->root, strerror(errno));
	snprintf(moddir, sizeof(moddir), "%s/lib/modules/%s", s->root, s->kver);
	snprintf(name, sizeof(name), "lib/modules/%s", s->kver);
	fd = open_in_root(rootfd, name, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		fail(err, errlen, "no modules for kernel %s: %s is missing", s->kver, moddir);
		goto out;
	}
	close(fd);
	fd = -1;
	snprintf(name, sizeof(name), "lib/modules/%s/modules.dep", s->kver);
	if (!(t.dep_text = slurp_in_root(rootfd, name, NULL))) {
		fail(err, errlen, "no modules.dep in %s: run depmod", moddir);
		goto out;
	}
	snprintf(name, sizeof(name), "lib/modules/%s/modules.alias", s->kver);
	if (!(alias = slurp_in_root(rootfd, name, NULL))) {
		fail(err, errlen, "no modules.alias in %s: run depmod", moddir);
		goto out;
	}
	snprintf(name, sizeof(name), "lib/modules/%s/modules.builtin", s->kver);
	t.builtin_text = slurp_in_root(rootfd, name, NULL);
	if (modtab_parse(&t) < 0) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	if (choose_modules(&t, s, moddir, err, errlen) < 0)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", s->out) >= (int)sizeof(tmp)) {
		fail(err, errlen, "output path too long");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		fail(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_archive(fd, rootfd, s, &t, alias, err, errlen) < 0)
		goto out_unlink;
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, s->out) < 0) {
		fail(err, errlen, "cannot write %s: %s", s->out, strerror(errno));
		goto out_unlink;
	}
	rc = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	close(rootfd);
	free(alias);
	modtab_free(&t);
	return rc;
}
