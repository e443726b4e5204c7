/* herd image: the store of diskless node images (src/image/image.h,
 * docs/IMAGES.md). An administrator's command, not part of serving: it
 * runs mmdebstrap, cp and depmod, and writes the NFS export list. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "conf/conf.h"
#include "image/exports.h"
#include "image/image.h"
#include "image/image_build.h"

static const char usage[] =
    "usage: herd image [-c FILE | --dir DIR] COMMAND ...\n"
    "  build NAME [--from DIR | [--suite SUITE] [--kernel PKG] [--include PKG,...]\n"
    "             [--mirror URL]] [--kernel-version KVER] [--nic-modules LIST]\n"
    "             [--customize PROGRAM] [--no-switch]\n"
    "                         make a new version (mmdebstrap, or a copy of DIR),\n"
    "                         with herd's initramfs from its own modules; then\n"
    "                         point NAME's current version at it\n"
    "  list                   every image and version\n"
    "  show NAME[/VERSION]    one version (default: the current one)\n"
    "  check [NAME[/VERSION]] the classic diskless mistakes (default: every version)\n"
    "  switch NAME/VERSION    point NAME's current version at VERSION (roll back)\n"
    "  remove NAME[/VERSION]  one version, or the whole image\n"
    "  exports [--format kernel|ganesha] [-o FILE]\n"
    "                         the NFS export list (default: [images] exports_*)\n"
    "The store is [images] dir of FILE (default /var/lib/herd/images).\n";

struct image_cmd {
	struct herd_config cfg;
	bool have_cfg;
};

/* [images] exports_clients: "auto" is the [subnet]s, else anyone. */
static void exports_clients(const struct herd_config *cfg, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	if (strcmp(cfg->images.exports_clients, "auto") != 0) {
		snprintf(out, size, "%s", cfg->images.exports_clients);
		return;
	}
	for (unsigned i = 0; i < cfg->dhcp.nsubnets && len + 40 < size; i++) {
		const struct conf_subnet *sn = &cfg->dhcp.subnets[i];
		char net[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sn->network, net, sizeof(net));
		len += (size_t)snprintf(out + len, size - len, "%s%s/%d", len ? " " : "", net,
					__builtin_popcount(sn->mask));
	}
	if (len == 0)
		snprintf(out, size, "*");
}

/* After a change: the export lists the configuration names. */
static int rewrite_exports(const struct herd_config *cfg)
{
	const char *files[] = {cfg->images.exports_kernel, cfg->images.exports_ganesha};
	char clients[512], err[512];
	int bad = 0;

	exports_clients(cfg, clients, sizeof(clients));
	for (int k = 0; k < 2; k++) {
		if (!files[k][0])
			continue;
		int n = exports_write(cfg->images.dir, k ? EXPORTS_GANESHA : EXPORTS_KERNEL,
				      files[k], clients, err, sizeof(err));
		if (n < 0) {
			fprintf(stderr, "herd image: %s\n", err);
			bad = 1;
		} else {
			printf("image: %s: %d export%s (reload the NFS server: %s)\n", files[k], n,
			       n == 1 ? "" : "s",
			       k ? "systemctl reload nfs-ganesha, or SIGHUP" : "exportfs -ra");
		}
	}
	return bad;
}

static int do_build(struct image_cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},	  {"suite", required_argument, NULL, 's'},
	    {"kernel", required_argument, NULL, 'k'},	  {"include", required_argument, NULL, 'i'},
	    {"mirror", required_argument, NULL, 'm'},	  {"kernel-version", required_argument, NULL, 'K'},
	    {"nic-modules", required_argument, NULL, 'n'}, {"customize", required_argument, NULL, 'C'},
	    {"no-switch", no_argument, NULL, 'N'},	  {NULL, 0, NULL, 0}};
	struct image_build_spec s = {.dir = c->cfg.images.dir, .keep = c->cfg.images.keep};
	char err[1024];
	int o, v;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'f': s.from = optarg; break;
		case 's': s.suite = optarg; break;
		case 'k': s.kernel_pkg = optarg; break;
		case 'i': s.include = optarg; break;
		case 'm': s.mirror = optarg; break;
		case 'K': s.kver = optarg; break;
		case 'n': s.nic_modules = optarg; break;
		case 'C': s.customize = optarg; break;
		case 'N': s.no_switch = true; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	s.name = argv[optind];
	if (s.from && (s.suite || s.kernel_pkg || s.include || s.mirror)) {
		fprintf(stderr, "herd image build: --from copies a tree; --suite, --kernel, "
				"--include and --mirror are for mmdebstrap\n");
		return 2;
	}
	v = image_build(&s, err, sizeof(err));
	if (v < 0) {
		fprintf(stderr, "herd image build %s: %s\n", s.name, err);
		return 1;
	}
	return rewrite_exports(&c->cfg);
}

static int print_info(void *ctx, const struct image_info *info)
{
	(void)ctx;
	printf("%-20s %5u  %-24s %-20s %s\n", info->name, info->version, info->kver,
	       info->created[0] ? info->created : "?", info->current ? "current" : "");
	return 0;
}

static int count_info(void *ctx, const struct image_info *info)
{
	(void)info;
	++*(unsigned *)ctx;
	return 0;
}

static int do_list(struct image_cmd *c)
{
	unsigned n = 0;

	if (image_each(c->cfg.images.dir, count_info, &n) < 0 && errno != ENOENT) {
		fprintf(stderr, "herd image list: %s: %s\n", c->cfg.images.dir, strerror(errno));
		return 1;
	}
	if (n == 0) {
		printf("no images in %s (herd image build NAME)\n", c->cfg.images.dir);
		return 0;
	}
	printf("%-20s %5s  %-24s %-20s %s\n", "NAME", "VER", "KERNEL", "CREATED", "");
	image_each(c->cfg.images.dir, print_info, NULL);
	return 0;
}

/* NAME[/VERSION] -> a version that exists (the current one by default). */
static int resolve(const struct image_cmd *c, const char *arg, struct image_ref *ref)
{
	char err[256];
	int cur;

	if (image_parse_ref(arg, ref, err, sizeof(err)) < 0) {
		fprintf(stderr, "herd image: %s\n", err);
		return -1;
	}
	if (ref->version)
		return 0;
	cur = image_current(c->cfg.images.dir, ref->name);
	if (cur <= 0) {
		fprintf(stderr, "herd image: %s has no current version in %s\n", ref->name,
			c->cfg.images.dir);
		return -1;
	}
	ref->version = (unsigned)cur;
	return 0;
}

static int do_show(struct image_cmd *c, const char *arg)
{
	struct image_ref ref;
	struct image_info info;
	char err[512], path[IMAGE_PATH_MAX];

	if (resolve(c, arg, &ref) < 0)
		return 1;
	if (image_info_load(c->cfg.images.dir, ref.name, ref.version, &info, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "herd image: %s\n", err);
		return 1;
	}
	image_path(c->cfg.images.dir, ref.name, ref.version, NULL, path, sizeof(path));
	printf("image %s/%u%s\n  kernel      %s\n  created     %s\n  source      %s\n"
	       "  nic drivers %s\n  path        %s\n  served as   herd/images/%s/%u/vmlinuz, "
	       "herd/images/%s/%u/initrd.img\n  nfs root    %s/root (read-only)\n",
	       info.name, info.version, info.current ? " (current)" : "", info.kver, info.created,
	       info.source, info.nic_modules, path, ref.name, ref.version, ref.name, ref.version,
	       path);
	return 0;
}

static void say_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

struct check_all {
	const char *dir;
	unsigned problems, versions;
};

static int check_one(void *ctx, const struct image_info *info)
{
	struct check_all *a = ctx;

	a->versions++;
	a->problems += image_check(a->dir, info->name, info->version, say_line, NULL);
	return 0;
}

static int do_check(struct image_cmd *c, const char *arg)
{
	struct check_all a = {.dir = c->cfg.images.dir};
	struct image_ref ref;

	if (arg) {
		if (resolve(c, arg, &ref) < 0)
			return 1;
		a.versions = 1;
		a.problems = image_check(a.dir, ref.name, ref.version, say_line, NULL);
	} else if (image_each(a.dir, check_one, &a) < 0) {
		fprintf(stderr, "herd image: %s: %s\n", a.dir, strerror(errno));
		return 1;
	}
	printf("%u version%s checked, %u problem%s\n", a.versions, a.versions == 1 ? "" : "s",
	       a.problems, a.problems == 1 ? "" : "s");
	return a.problems ? 1 : 0;
}

static int do_exports(struct image_cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'F'},
					     {NULL, 0, NULL, 0}};
	const char *format = NULL, *out = NULL;
	char clients[512], err[512];
	int o, n;

	optind = 1;
	while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (o == 'F')
			format = optarg;
		else if (o == 'o')
			out = optarg;
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!format && !out)
		return rewrite_exports(&c->cfg);
	if (format && strcmp(format, "kernel") != 0 && strcmp(format, "ganesha") != 0) {
		fprintf(stderr, "herd image exports: --format is kernel or ganesha\n");
		return 2;
	}
	exports_clients(&c->cfg, clients, sizeof(clients));
	n = exports_write(c->cfg.images.dir,
			  format && strcmp(format, "ganesha") == 0 ? EXPORTS_GANESHA
								   : EXPORTS_KERNEL,
			  out ? out : "-", clients, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "herd image exports: %s\n", err);
		return 1;
	}
	return 0;
}

static int do_change(struct image_cmd *c, const char *cmd, const char *arg)
{
	struct image_ref ref;
	char err[512];
	int r;

	if (image_parse_ref(arg, &ref, err, sizeof(err)) < 0) {
		fprintf(stderr, "herd image: %s\n", err);
		return 2;
	}
	if (strcmp(cmd, "switch") == 0) {
		if (!ref.version) {
			fprintf(stderr, "herd image switch: say which version: NAME/VERSION\n");
			return 2;
		}
		r = image_switch(c->cfg.images.dir, ref.name, ref.version, err, sizeof(err));
		if (r == 0)
			printf("image: %s/current -> %u\n", ref.name, ref.version);
	} else {
		r = image_remove(c->cfg.images.dir, ref.name, ref.version, false, err,
				 sizeof(err));
		if (r == 0 && ref.version)
			printf("image: removed %s/%u\n", ref.name, ref.version);
		else if (r == 0)
			printf("image: removed %s\n", ref.name);
	}
	if (r < 0) {
		fprintf(stderr, "herd image %s: %s\n", cmd, err);
		return 1;
	}
	return rewrite_exports(&c->cfg);
}

int cmd_image(int argc, char **argv)
{
	struct image_cmd *c = calloc(1, sizeof(*c));
	const char *path = NULL, *dir = NULL;
	int i = 1, rc;

	if (!c)
		return 1;
	conf_defaults(&c->cfg);
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-c") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		else
			break;
	}
	if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
		fputs(usage, i >= argc ? stderr : stdout);
		free(c);
		return i >= argc ? 2 : 0;
	}
	if (path && conf_load(&c->cfg, path, stderr) != 0) {
		free(c);
		return 1;
	}
	if (dir)
		snprintf(c->cfg.images.dir, sizeof(c->cfg.images.dir), "%s", dir);
	const char *cmd = argv[i];
	int rest = argc - i;
	char **rargv = argv + i;
	if (strcmp(cmd, "build") == 0)
		rc = do_build(c, rest, rargv);
	else if (strcmp(cmd, "list") == 0 && rest == 1)
		rc = do_list(c);
	else if (strcmp(cmd, "show") == 0 && rest == 2)
		rc = do_show(c, rargv[1]);
	else if (strcmp(cmd, "check") == 0 && rest <= 2)
		rc = do_check(c, rest == 2 ? rargv[1] : NULL);
	else if ((strcmp(cmd, "switch") == 0 || strcmp(cmd, "remove") == 0) && rest == 2)
		rc = do_change(c, cmd, rargv[1]);
	else if (strcmp(cmd, "exports") == 0)
		rc = do_exports(c, rest, rargv);
	else {
		fputs(usage, stderr);
		rc = 2;
	}
	free(c);
	return rc;
}
