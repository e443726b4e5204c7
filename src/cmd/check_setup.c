/* What `herd check` looks at beyond the file itself: the mistakes of a new
 * setup that the syntax cannot show. The user herd drops to must exist and
 * be able to do, with its own uid and primary gid (serve drops the
 * supplementary groups), what herd does after the drop: look up files
 * beneath the TFTP root, read the loaders and images, create and rename
 * files in the log directory. Loaders are told apart by name: say how each
 * was classified, and warn where a name misleads. */
#include "cmd/check_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/boot.h"
#include "cmd/confine.h"
#include "image/image.h"
#include "image/initramfs.h"

/* One thing the user must be able to do, tested in a child that has taken
 * the user's identity (faccessat: the kernel's own rules, ACLs included). */
struct need {
	int dirfd;		  /* opened by us, before taking the user's identity */
	char name[CONF_PATH_MAX]; /* beneath dirfd; "." for the directory itself */
	int mode;		  /* R_OK, W_OK, X_OK */
	bool error;		  /* false: a warning */
	const char *file;	  /* where to report */
	int line;
	char msg[512];	 /* what to say if it cannot */
	const char *why; /* said after the owner and mode, or NULL */
};

struct check {
	FILE *errs;
	const struct herd_config *cfg;
	const struct inventory *inv;
	const char *user; /* the configured user, or the one running herd check */
	struct need *needs;
	size_t nneeds, cap;
	int errors, warnings;
};

__attribute__((format(printf, 5, 6))) static void say(struct check *c, bool error, const char *file,
						      int line, const char *fmt, ...)
{
	va_list ap;

	if (error)
		c->errors++;
	else
		c->warnings++;
	if (line > 0)
		fprintf(c->errs, "%s:%d: %s", file, line, error ? "" : "warning: ");
	else
		fprintf(c->errs, "%s: %s", file, error ? "" : "warning: ");
	va_start(ap, fmt);
	vfprintf(c->errs, fmt, ap);
	va_end(ap);
	fputc('\n', c->errs);
}

/* Adds a need; NULL if out of memory (it is then not checked). */
__attribute__((format(printf, 8, 9))) static struct need *need(struct check *c, int dirfd,
							       const char *name, int mode,
							       bool error, const char *file,
							       int line, const char *fmt, ...)
{
	va_list ap;
	struct need *n;

	if (c->nneeds == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct need *more = realloc(c->needs, cap * sizeof(*more));
		if (more == NULL)
			return NULL;
		c->needs = more;
		c->cap = cap;
	}
	n = &c->needs[c->nneeds++];
	n->dirfd = dirfd;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->mode = mode;
	n->error = error;
	n->file = file;
	n->line = line;
	n->why = NULL;
	va_start(ap, fmt);
	vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
	va_end(ap);
	return n;
}

/* "owner root, mode 0755": what the administrator needs to fix it. */
static const char *owner_mode(int dirfd, const char *name, char *buf, size_t size)
{
	struct stat st;
	struct passwd *pw;

	if (fstatat(dirfd, name, &st, 0) < 0)
		return "";
	pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(buf, size, " (owner %s, mode %04o)", pw->pw_name, st.st_mode & 07777);
	else
		snprintf(buf, size, " (owner %u, mode %04o)", (unsigned)st.st_uid,
			 st.st_mode & 07777);
	return buf;
}

/* Runs every faccessat as uid:gid (no supplementary groups, as serve).
 * denied[i] is set for each need the user cannot meet. 0 or -errno. */
static int test_needs(struct check *c, uid_t uid, gid_t gid, bool drop, bool *denied)
{
	int pfd[2], status;
	pid_t pid;
	size_t got = 0;

	if (c->nneeds == 0)
		return 0;
	/* Already that user (a running herd reloading): no child needed,
	 * and a confined herd may not fork. */
	if (!drop) {
		for (size_t i = 0; i < c->nneeds; i++)
			denied[i] = faccessat(c->needs[i].dirfd, c->needs[i].name, c->needs[i].mode,
					      0) != 0;
		return 0;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (drop && (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0))
			_exit(2);
		for (size_t i = 0; i < c->nneeds; i++) {
			const struct need *n = &c->needs[i];
			char r = faccessat(n->dirfd, n->name, n->mode, 0) == 0 ? 0 : 1;
			if (write(pfd[1], &r, 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(pfd[1]);
	while (got < c->nneeds) {
		char r;
		if (read(pfd[0], &r, 1) != 1)
			break;
		denied[got++] = r != 0;
	}
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return got == c->nneeds ? 0 : -EPERM;
}

/* The TFTP root must let the user look names up beneath it. */
static int need_tftp_root(struct check *c)
{
	const struct herd_config *cfg = c->cfg;
	int fd = open(cfg->tftp.root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1; /* conf_check_paths has said why */
	need(c, fd, ".", X_OK, true, cfg->path, cfg->tftp_root_line,
	     "[tftp] root %s: user %s cannot look up files in it", cfg->tftp.root, c->user);
	return fd;
}

/* The log directory: the user creates and renames node files in it; serve
 * creates it (one level) and gives it to the user if it is missing. */
static int need_log_dir(struct check *c)
{
	const struct herd_config *cfg = c->cfg;
	char parent[CONF_PATH_MAX];
	struct stat st;
	int fd;

	if (stat(cfg->logrx.dir, &st) < 0) {
		int err = errno;
		snprintf(parent, sizeof(parent), "%s", cfg->logrx.dir);
		if (err == ENOENT && stat(dirname(parent), &st) == 0 && S_ISDIR(st.st_mode))
			return -1; /* herd serve creates it for the user */
		say(c, true, cfg->path, cfg->log_dir_line, "[log] dir %s: %s%s", cfg->logrx.dir,
		    strerror(err),
		    err == ENOENT ? ", and herd creates only the last component" : "");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		say(c, true, cfg->path, cfg->log_dir_line, "[log] dir %s: not a directory",
		    cfg->logrx.dir);
		return -1;
	}
	fd = open(cfg->logrx.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		need(c, fd, ".", W_OK | X_OK, true, cfg->path, cfg->log_dir_line,
		     "[log] dir %s: user %s cannot create files in it", cfg->logrx.dir, c->user);
	return fd;
}

/* The lease journal is opened and rewritten by serve before it drops
 * privileges, so only its directory's existence is an error; a directory
 * the user cannot write is worth a warning (herd started as that user
 * could not keep leases). */
static int later_line(int a, int b)
{
	return a > b ? a : b;
}

/* In proxy mode the site's DHCP server hands out addresses and network
 * options: what only an address server uses is said to be unused. */
static void warn_proxy_unused(struct check *c)
{
	const struct conf_dhcp *d = &c->cfg->dhcp;
	const char *path = c->cfg->path;

	if (d->lease_file_line)
		say(c, false, path, d->lease_file_line,
		    "[dhcp] lease_file is not used with mode = proxy (herd records no lease)");
	if (d->lease_line || d->timers.line)
		say(c, false, path, later_line(d->lease_line, d->timers.line),
		    "[dhcp] lease and renewal times are not used with mode = proxy");
	for (unsigned i = 0; i < d->nsubnets; i++) {
		const struct conf_subnet *sn = &d->subnets[i];
		char keys[96] = "";
		if (sn->pool_start)
			strcat(keys, " pool");
		if (sn->router)
			strcat(keys, " router");
		if (sn->ndns)
			strcat(keys, " dns");
		if (sn->domain[0])
			strcat(keys, " domain");
		if (sn->lease_line || sn->timers.line)
			strcat(keys, " lease_time/renewal_time/rebinding_time");
		if (keys[0])
			say(c, false, path, sn->line,
			    "[subnet %s]:%s not used with [dhcp] mode = proxy (the site's DHCP "
			    "server hands out addresses and these options)",
			    sn->name, keys);
	}
}

static int need_lease_dir(struct check *c)
{
	const struct conf_dhcp *d = &c->cfg->dhcp;
	char buf[CONF_PATH_MAX];
	const char *dir;
	struct stat st;
	struct need *n;
	int fd, err;

	snprintf(buf, sizeof(buf), "%s", d->lease_file);
	dir = dirname(buf);
	err = stat(dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (err == ENOENT) {
		say(c, true, c->cfg->path, d->lease_file_line,
		    "[dhcp] lease_file %s: directory %s does not exist", d->lease_file, dir);
		return -1;
	}
	if (err) {
		say(c, true, c->cfg->path, d->lease_file_line, "[dhcp] lease_file %s: %s: %s",
		    d->lease_file, dir, strerror(err));
		return -1;
	}
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (n = need(c, fd, ".", W_OK | X_OK, false, c->cfg->path, d->lease_file_line,
				 "[dhcp] lease_file %s: user %s cannot write in %s", d->lease_file,
				 c->user, dir)))
		n->why = "; fine while herd starts as root (it opens the journal before dropping "
			 "privileges), not if it starts as that user";
	return fd;
}

/* What a file's bytes say it is: iPXE's EFI images carry "ipxe.org" in
 * clear (its BIOS images are compressed), pxelinux says "PXELINUX". */
struct sniff {
	bool ipxe, pxelinux, grub;
};

static struct sniff sniff_file(int rootfd, const char *name)
{
	struct sniff s = {false, false, false};
	struct stat st;
	int fd = openat(rootfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	void *p;

	if (fd < 0)
		return s;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size < (64 << 20)) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			s.ipxe = memmem(p, (size_t)st.st_size, "ipxe.org", 8) != NULL;
			s.pxelinux = memmem(p, (size_t)st.st_size, "PXELINUX", 8) != NULL;
			s.grub = memmem(p, (size_t)st.st_size, "GNU GRUB", 8) != NULL;
			munmap(p, (size_t)st.st_size);
		}
	}
	close(fd);
	return s;
}

static bool seen(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* A file a client will ask for: present beneath the root (a warning if
 * not: it may be copied there later), readable by the user (an error). */
static void need_boot_file(struct check *c, int rootfd, const char *what, const char *name,
			   const char *file, int line)
{
	struct stat st;

	while (*name == '/')
		name++;
	if (rootfd < 0 || *name == '\0' || strstr(name, "%{") || conf_is_url(name))
		return;
	if (fstatat(rootfd, name, &st, 0) < 0) {
		say(c, false, file, line, "%s %s: not found beneath [tftp] root %s", what, name,
		    c->cfg->tftp.root);
		return;
	}
	need(c, rootfd, name, R_OK, true, file, line, "%s %s: user %s cannot read it", what, name,
	     c->user);
}

/* How herd takes a loader, and where its name or bytes say otherwise. */
static void check_loader(struct check *c, int rootfd, uint16_t arch, const char *what,
			 const char *loader, const char *file, int line)
{
	enum boot_loader_kind kind = boot_loader_kind(loader);
	const char *doubt = boot_loader_doubt(arch, loader);
	struct sniff s = {false, false, false};
	const char *name = loader;

	while (*name == '/')
		name++;
	if (doubt)
		say(c, false, file, line, "%s %s: %s", what, loader, doubt);
	if (rootfd >= 0)
		s = sniff_file(rootfd, name);
	if (s.ipxe && kind != BOOT_LOADER_IPXE)
		say(c, false, file, line,
		    "%s %s: its bytes say iPXE, but herd tells loaders by name and takes it for "
		    "%s: an iPXE client asking would be given it again, a chainload loop; give it "
		    "a name with 'ipxe' in it",
		    what, loader, kind == BOOT_LOADER_PXELINUX ? "pxelinux" : "another loader");
	else if (s.grub && !s.ipxe && kind == BOOT_LOADER_OTHER)
		say(c, false, file, line,
		    "%s %s: its bytes say GRUB, but herd tells loaders by name and takes it for "
		    "another loader: herd generates no grub.cfg for it; give it a name with "
		    "'grub' in it",
		    what, loader);
	else if (!s.ipxe && (s.pxelinux || s.grub) && kind == BOOT_LOADER_IPXE)
		say(c, false, file, line,
		    "%s %s: named like iPXE, but its bytes say %s: iPXE clients get their script "
		    "instead of it",
		    what, loader, s.pxelinux ? "pxelinux" : "GRUB");
}

static void check_groups(struct check *c, int rootfd, FILE *classes)
{
	static const char *const slot[] = {"loader_bios", "loader_efi64", "loader_arm64", "kernel",
					   "initrd"};
	static const uint16_t arch[] = {BOOT_ARCH_BIOS, BOOT_ARCH_EFI_X64, BOOT_ARCH_EFI_ARM64};
	const struct conf_dhcp *d = &c->cfg->dhcp;
	const char *done[5 * CONF_MAX_GROUPS]; /* files looked for already */
	size_t ndone = 0;
	char what[CONF_NAME_MAX + 32];

	for (unsigned i = 0; i < d->ngroups; i++) {
		const struct conf_group *g = &d->groups[i];
		const char *val[] = {g->loader_bios, g->loader_efi64, g->loader_arm64, g->kernel,
				     g->initrd};
		for (unsigned k = 0; k < 5; k++) {
			int line = g->key_line[k] ? g->key_line[k] : g->line;
			if (val[k][0] == '\0')
				continue;
			snprintf(what, sizeof(what), "[group %s] %s", g->name, slot[k]);
			if (k < 3) {
				check_loader(c, rootfd, arch[k], what, val[k], c->cfg->path, line);
				if (classes)
					fprintf(classes, "#   %s = %s: %s\n", what, val[k],
						boot_loader_kind_str(boot_loader_kind(val[k])));
			}
			if (!seen(done, ndone, val[k])) {
				done[ndone++] = val[k];
				need_boot_file(c, rootfd, what, val[k], c->cfg->path, line);
			}
		}
	}
}

/* Per-node loader= is the BIOS loader only (boot_file): say so once per
 * distinct loader, at its first line, with how many lines share it. */
#define DISTINCT_MAX 64

struct loader_use {
	const struct inv_node *first;
	size_t count;
};

/* Per-node loader_efi64= and loader_arm64=: checked like a group's, once
 * per distinct name (the first DISTINCT_MAX of them). */
static void check_inventory_uefi(struct check *c, int rootfd, FILE *classes)
{
	const char *path = c->cfg->dhcp.inventory;
	const char *done[DISTINCT_MAX];
	size_t ndone = 0, n = inventory_count(c->inv);

	for (size_t i = 0; i < n; i++) {
		const struct inv_node *node = inventory_node(c->inv, i);
		const char *val[] = {node->loader_efi64, node->loader_arm64};
		static const char *const key[] = {"loader_efi64", "loader_arm64"};
		static const uint16_t arch[] = {BOOT_ARCH_EFI_X64, BOOT_ARCH_EFI_ARM64};
		for (unsigned k = 0; k < 2; k++) {
			if (val[k] == NULL || ndone == DISTINCT_MAX || seen(done, ndone, val[k]))
				continue;
			done[ndone++] = val[k];
			check_loader(c, rootfd, arch[k], key[k], val[k], path, node->line);
			need_boot_file(c, rootfd, key[k], val[k], path, node->line);
			if (classes)
				fprintf(classes, "#   %s:%d %s=%s: %s\n", path, node->line, key[k],
					val[k], boot_loader_kind_str(boot_loader_kind(val[k])));
		}
	}
}

/* A node's http:// kernel or initrd is passed on as it is: only where its
 * group's iPXE fetches over HTTP, and not to pxelinux (TFTP only). */
static void check_node_urls(struct check *c, const struct inv_node *node)
{
	const char *val[] = {node->kernel, node->initrd};
	const struct conf_group *g = node->group;
	bool pxelinux;

	if (g == NULL)
		return; /* group auto with no default group: the rules' group is checked */
	pxelinux = node->loader ? boot_loader_kind(node->loader) == BOOT_LOADER_PXELINUX
				: boot_loader_kind(g->loader_bios) == BOOT_LOADER_PXELINUX;

	for (unsigned k = 0; k < 2; k++) {
		if (val[k] == NULL || !conf_is_url(val[k]))
			continue;
		if (!conf_group_http(c->cfg, g))
			say(c, true, c->cfg->dhcp.inventory, node->line,
			    "%s=%s is a URL, but the iPXE of [group %s] fetches by TFTP "
			    "(ipxe_fetch = %s%s): set ipxe_fetch = http there, or give a path",
			    k ? "initrd" : "kernel", val[k], g->name,
			    g->ipxe_fetch == CONF_FETCH_TFTP ? "tftp" : "auto",
			    g->ipxe_fetch == CONF_FETCH_TFTP ? "" : " and [http] is off");
		else if (pxelinux)
			say(c, true, c->cfg->dhcp.inventory, node->line,
			    "%s=%s is a URL, but %s boots with pxelinux, which fetches by TFTP "
			    "only: give a path",
			    k ? "initrd" : "kernel", val[k], node->name);
	}
}

static void check_inventory(struct check *c, int rootfd, FILE *classes)
{
	const char *path = c->cfg->dhcp.inventory;
	struct loader_use seen_loaders[DISTINCT_MAX];
	size_t nseen = 0, n = inventory_count(c->inv);

	for (size_t i = 0; i < n; i++) {
		const struct inv_node *node = inventory_node(c->inv, i);
		size_t j = 0;
		check_node_urls(c, node);
		if (node->loader == NULL)
			continue;
		while (j < nseen && strcmp(seen_loaders[j].first->loader, node->loader) != 0)
			j++;
		if (j < nseen)
			seen_loaders[j].count++;
		else if (nseen < DISTINCT_MAX)
			seen_loaders[nseen++] = (struct loader_use){node, 1};
	}
	for (size_t j = 0; j < nseen; j++) {
		const struct inv_node *node = seen_loaders[j].first;
		const struct conf_group *g = node->group;
		if (node->loader_efi64 == NULL)
			say(c, false, path, node->line,
			    "loader=%s applies to BIOS clients only; UEFI clients of %s%s get "
			    "[group %s] loader_efi64 (%s), or a line's loader_efi64=",
			    node->loader, node->name,
			    seen_loaders[j].count > 1 ? " (and of the later lines with this loader)"
						      : "",
			    g->name, g->loader_efi64[0] ? g->loader_efi64 : "none");
		check_loader(c, rootfd, BOOT_ARCH_BIOS, "loader", node->loader, path, node->line);
		need_boot_file(c, rootfd, "loader", node->loader, path, node->line);
		if (classes)
			fprintf(classes, "#   %s:%d loader=%s (BIOS only, %zu node%s): %s\n", path,
				node->line, node->loader, seen_loaders[j].count,
				seen_loaders[j].count == 1 ? "" : "s",
				boot_loader_kind_str(boot_loader_kind(node->loader)));
	}
	check_inventory_uefi(c, rootfd, classes);
}

/* The user herd drops to; false (after an error) if there is none. */
static bool lookup_user(struct check *c, uid_t *uid, gid_t *gid)
{
	const struct herd_config *cfg = c->cfg;
	int err = confine_lookup(cfg->server.user, uid, gid);

	if (err == -ENOENT)
		say(c, true, cfg->path, cfg->user_line, "[server] user '%s' does not exist",
		    cfg->server.user);
	else if (err < 0)
		say(c, true, cfg->path, cfg->user_line, "[server] user '%s': %s", cfg->server.user,
		    strerror(-err));
	return err == 0;
}

static void report_needs(struct check *c, uid_t uid, gid_t gid)
{
	bool drop = geteuid() == 0 && uid != 0;
	bool *denied = calloc(c->nneeds + 1, sizeof(bool));
	char om[128];

	if (denied == NULL)
		return;
	if (!drop && uid != geteuid()) {
		say(c, false, c->cfg->path, c->cfg->user_line,
		    "not run as root: what user %s may read and write is not checked", c->user);
	} else if (test_needs(c, uid, gid, drop, denied) < 0) {
		say(c, false, c->cfg->path, c->cfg->user_line,
		    "cannot take the identity of user %s to check its access", c->user);
	} else {
		for (size_t i = 0; i < c->nneeds; i++) {
			const struct need *n = &c->needs[i];
			if (denied[i])
				say(c, n->error, n->file, n->line, "%s%s%s", n->msg,
				    owner_mode(n->dirfd, n->name, om, sizeof(om)),
				    n->why ? n->why : "");
		}
	}
	free(denied);
}

struct image_report {
	struct check *c;
	int line;
};

static void image_problem(void *ctx, const char *line)
{
	struct image_report *r = ctx;
	say(r->c, true, r->c->cfg->path, r->line, "%s", line);
}

/* When herd writes an export list, the current version must be in it (a
 * list edited by hand, or not rewritten after a build without -c). */
static void check_exported(struct check *c, const struct conf_group *g, unsigned v)
{
	const char *files[] = {c->cfg->images.exports_kernel, c->cfg->images.exports_ganesha};
	char root[IMAGE_PATH_MAX];

	image_path(c->cfg->images.dir, g->image, v, "root", root, sizeof(root));
	for (unsigned k = 0; k < 2; k++) {
		FILE *f = files[k][0] ? fopen(files[k], "r") : NULL;
		char line[IMAGE_PATH_MAX + 64];
		bool found = false;
		if (!files[k][0])
			continue;
		while (f && !found && fgets(line, sizeof(line), f)) {
			char *at = strstr(line, root);
			size_t n = strlen(root);
			found = at && (at[n] == ' ' || at[n] == '"' || at[n] == '\t');
		}
		if (f)
			fclose(f);
		if (!found)
			say(c, true, c->cfg->path, g->image_line,
			    "[group %s] image %s/%u: %s does not export %s to the nodes "
			    "(herd image -c %s exports, then reload the NFS server)",
			    g->name, g->image, v, files[k], root, c->cfg->path);
	}
}

/* A group's image: it has a current version, and that version has none of
 * the classic diskless mistakes (image_check). Each image once. */
/* Versions that passed image_check in this process. A version never
 * changes once made (image.h), so a reload inside herd serve's loop does
 * not read an unchanged version's initramfs again (~50-80 ms each). */
#define CHECKED_MAX 64
static struct {
	char dir[CONF_PATH_MAX];
	char name[IMAGE_NAME_MAX];
	unsigned version;
} checked[CHECKED_MAX];
static unsigned nchecked;

static bool checked_before(const char *dir, const char *name, unsigned v)
{
	for (unsigned i = 0; i < nchecked && i < CHECKED_MAX; i++)
		if (checked[i].version == v && strcmp(checked[i].name, name) == 0 &&
		    strcmp(checked[i].dir, dir) == 0)
			return true;
	return false;
}

static void checked_add(const char *dir, const char *name, unsigned v)
{
	unsigned i = nchecked++ % CHECKED_MAX;

	snprintf(checked[i].dir, sizeof(checked[i].dir), "%s", dir);
	snprintf(checked[i].name, sizeof(checked[i].name), "%s", name);
	checked[i].version = v;
}

static void check_images(struct check *c)
{
	const struct conf_dhcp *d = &c->cfg->dhcp;
	const char *dir = c->cfg->images.dir;

	for (unsigned i = 0; i < d->ngroups; i++) {
		const struct conf_group *g = &d->groups[i];
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			seen = seen || strcmp(d->groups[j].image, g->image) == 0;
		if (!g->image[0] || seen || !image_name_ok(g->image))
			continue;
		int v = image_current(dir, g->image);
		if (v <= 0) {
			say(c, true, c->cfg->path, g->image_line,
			    "[group %s] image %s: no current version in %s (herd image list; "
			    "herd image build %s ...)",
			    g->name, g->image, dir, g->image);
			continue;
		}
		struct image_report r = {c, g->image_line};
		if (!checked_before(dir, g->image, (unsigned)v) &&
		    image_check(dir, g->image, (unsigned)v, image_problem, &r) == 0)
			checked_add(dir, g->image, (unsigned)v);
		check_exported(c, g, (unsigned)v);
	}
}

/* A rule that picks a group by its NIC (nic = vvvv:dddd, no glob) gives
 * those nodes the group's image: its initramfs must drive that NIC, or
 * the nodes stop at the initramfs's first step. */
static void check_rule_nics(struct check *c)
{
	const struct conf_dhcp *d = &c->cfg->dhcp;

	for (unsigned i = 0; i < d->nrules; i++) {
		const struct conf_rule *r = &d->rules[i];
		const struct conf_group *g = conf_group_find(
		    d, strcmp(r->group, "default") == 0 ? d->default_group : r->group);
		unsigned vendor, device;
		char end, path[IMAGE_PATH_MAX], mod[64], err[256];
		if (!g || !g->image[0] ||
		    sscanf(r->match[RULE_NIC], "%4x:%4x%c", &vendor, &device, &end) != 2)
			continue;
		int v = image_current(c->cfg->images.dir, g->image);
		if (v <= 0 || image_path(c->cfg->images.dir, g->image, (unsigned)v,
					 "boot/initrd.img", path, sizeof(path)) < 0)
			continue;
		if (initramfs_pci_driver(path, (uint16_t)vendor, (uint16_t)device, mod, sizeof(mod),
					 err, sizeof(err)) == 0)
			say(c, true, c->cfg->path, r->match_line[RULE_NIC],
			    "[rule %s] nic %s chooses [group %s], whose image %s/%d has no driver "
			    "for that NIC in its initramfs (herd image build --nic-modules)",
			    r->name, r->match[RULE_NIC], g->name, g->image, v);
	}
}

int check_setup(const struct herd_config *cfg, const struct inventory *inv, FILE *errs,
		FILE *classes, int *warnings)
{
	struct check c = {.errs = errs, .cfg = cfg, .inv = inv, .user = cfg->server.user};
	int fds[3] = {-1, -1, -1};
	uid_t uid;
	gid_t gid;
	bool have_user = lookup_user(&c, &uid, &gid);

	if (c.user[0] == '\0') {
		const struct passwd *pw = getpwuid(geteuid());
		c.user = pw ? pw->pw_name : "(the current user)";
	}
	if (cfg->tftp.enabled)
		fds[0] = need_tftp_root(&c);
	if (cfg->logrx.enabled)
		fds[1] = need_log_dir(&c);
	if (cfg->dhcp.enabled && cfg->dhcp.mode == CONF_DHCP_PROXY)
		warn_proxy_unused(&c);
	else if (cfg->dhcp.enabled && cfg->cluster.database[0] && cfg->dhcp.lease_file_line)
		say(&c, false, cfg->path, cfg->dhcp.lease_file_line,
		    "[dhcp] lease_file is not used with [cluster] database (the leases are in "
		    "PostgreSQL)");
	else if (cfg->dhcp.enabled && cfg->dhcp.lease_file[0] && !cfg->cluster.database[0])
		fds[2] = need_lease_dir(&c);
	if (cfg->dhcp.enabled) {
		if (classes)
			fprintf(classes, "# loaders, as herd classifies them by name:\n");
		check_groups(&c, cfg->tftp.enabled ? fds[0] : -1, classes);
		check_inventory(&c, cfg->tftp.enabled ? fds[0] : -1, classes);
		check_images(&c);
		check_rule_nics(&c);
	}
	if (have_user)
		report_needs(&c, uid, gid);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(c.needs);
	*warnings = c.warnings;
	return c.errors;
}
