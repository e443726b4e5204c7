/* Unit tests for the image store (image/image.c, image/exports.c) and the
 * command line a node of an image group boots with (boot/boot.c). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "conf/conf.h"
#include "image/exports.h"
#include "image/image.h"

static char store[64];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A bzImage's first bytes: the setup header says where the version is. */
static void fake_bzimage(const char *path, const char *version)
{
	unsigned char img[0x400] = {0};
	memcpy(img + 0x202, "HdrS", 4);
	img[0x20e] = 0x00; /* version at 0x100 + 0x200 */
	img[0x20f] = 0x01;
	snprintf((char *)img + 0x300, 0x100, "%s (debian-kernel@lists.debian.org) #1 SMP", version);
	write_file(path, img, sizeof(img));
}

static void mkdirs(const char *fmt, ...)
{
	char path[512], *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (s = path + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	mkdir(path, 0755);
}

/* An image version: kernel kver, modules of mods (NULL: none). */
static void fake_version(const char *name, unsigned v, const char *kver, const char *mods)
{
	char path[512], ini[512];
	int n;

	mkdirs("%s/%s/%u/boot", store, name, v);
	mkdirs("%s/%s/%u/root", store, name, v);
	snprintf(path, sizeof(path), "%s/%s/%u/boot/vmlinuz", store, name, v);
	fake_bzimage(path, kver);
	if (mods) {
		mkdirs("%s/%s/%u/root/lib/modules/%s", store, name, v, mods);
		snprintf(path, sizeof(path), "%s/%s/%u/root/lib/modules/%s/modules.dep", store, name,
			 v, mods);
		write_file(path, "", 0);
	}
	n = snprintf(ini, sizeof(ini), "[image]\nname = %s\nversion = %u\nkernel_version = %s\n",
		     name, v, kver);
	snprintf(path, sizeof(path), "%s/%s/%u/image.ini", store, name, v);
	write_file(path, ini, (size_t)n);
}

static int setup(void **state)
{
	(void)state;
	snprintf(store, sizeof(store), "/tmp/herd-image-test-XXXXXX");
	assert_non_null(mkdtemp(store));
	chmod(store, 0755);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", store);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_refs(void **state)
{
	struct image_ref r;
	char err[256];
	(void)state;

	assert_int_equal(image_parse_ref("deb12", &r, err, sizeof(err)), 0);
	assert_string_equal(r.name, "deb12");
	assert_int_equal(r.version, 0);
	assert_int_equal(image_parse_ref("deb12-cloud/17", &r, err, sizeof(err)), 0);
	assert_int_equal(r.version, 17);
	assert_int_equal(image_parse_ref("../etc", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(image_parse_ref("Deb", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(image_parse_ref("a/0", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(image_parse_ref("a/1x", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(image_parse_ref("", &r, err, sizeof(err)), -EINVAL);
}

static void test_kernel_version(void **state)
{
	char path[512], kver[128];
	(void)state;

	snprintf(path, sizeof(path), "%s/vmlinuz", store);
	fake_bzimage(path, "6.1.0-50-amd64");
	assert_int_equal(image_kernel_version(path, kver, sizeof(kver)), 0);
	assert_string_equal(kver, "6.1.0-50-amd64");
	write_file(path, "not a kernel", 12);
	assert_int_equal(image_kernel_version(path, kver, sizeof(kver)), -ENOEXEC);
}

static void test_switch_and_remove(void **state)
{
	char err[256];
	(void)state;

	fake_version("a", 1, "6.1.0-1-amd64", "6.1.0-1-amd64");
	fake_version("a", 2, "6.1.0-2-amd64", "6.1.0-2-amd64");
	assert_int_equal(image_current(store, "a"), -ENOENT);
	assert_int_equal(image_latest(store, "a"), 2);
	assert_int_equal(image_switch(store, "a", 2, err, sizeof(err)), 0);
	assert_int_equal(image_current(store, "a"), 2);
	assert_int_equal(image_switch(store, "a", 3, err, sizeof(err)), -ENOENT);
	assert_int_equal(image_current(store, "a"), 2);
	/* The current version stays until another is current. */
	assert_int_equal(image_remove(store, "a", 2, false, err, sizeof(err)), -EBUSY);
	assert_int_equal(image_switch(store, "a", 1, err, sizeof(err)), 0);
	assert_int_equal(image_remove(store, "a", 2, false, err, sizeof(err)), 0);
	assert_int_equal(image_latest(store, "a"), 1);
	assert_int_equal(image_remove(store, "a", 0, false, err, sizeof(err)), 0);
	assert_int_equal(image_current(store, "a"), -ENOENT);
}

struct lines {
	char text[4096];
	unsigned n;
};

static void collect(void *ctx, const char *line)
{
	struct lines *l = ctx;
	size_t len = strlen(l->text);
	snprintf(l->text + len, sizeof(l->text) - len, "%s\n", line);
	l->n++;
}

/* The classic mistake: a kernel whose version has no modules tree. One
 * line says which kernel, what is missing and what is there. */
static void test_check_mismatch(void **state)
{
	struct lines l = {"", 0};
	(void)state;

	fake_version("bad", 1, "6.1.0-50-amd64", "6.1.0-49-amd64");
	image_check(store, "bad", 1, collect, &l);
	assert_non_null(strstr(l.text, "bad/1: kernel 6.1.0-50-amd64 has no modules tree in the "
				       "image"));
	assert_non_null(strstr(l.text, "modules there: 6.1.0-49-amd64"));

	/* No modules.dep: say how to make one. */
	memset(&l, 0, sizeof(l));
	char path[512];
	fake_version("nodep", 1, "6.1.0-50-amd64", "6.1.0-50-amd64");
	snprintf(path, sizeof(path), "%s/nodep/1/root/lib/modules/6.1.0-50-amd64/modules.dep",
		 store);
	unlink(path);
	image_check(store, "nodep", 1, collect, &l);
	assert_non_null(strstr(l.text, "no modules.dep for kernel 6.1.0-50-amd64"));

	/* image.ini and the kernel disagree. */
	memset(&l, 0, sizeof(l));
	fake_version("liar", 1, "6.1.0-50-amd64", "6.1.0-50-amd64");
	snprintf(path, sizeof(path), "%s/liar/1/boot/vmlinuz", store);
	fake_bzimage(path, "6.1.0-51-amd64");
	image_check(store, "liar", 1, collect, &l);
	assert_non_null(strstr(l.text, "the kernel is 6.1.0-51-amd64, but image.ini says"));

	/* A root the nodes (nobody, through NFS) cannot read. */
	memset(&l, 0, sizeof(l));
	snprintf(path, sizeof(path), "%s/liar/1/root", store);
	chmod(path, 0700);
	image_check(store, "liar", 1, collect, &l);
	assert_non_null(strstr(l.text, "is not readable by the nodes (mode 700"));
}

static void test_exports(void **state)
{
	char err[256], path[512], buf[4096];
	FILE *f;
	size_t n;
	(void)state;

	fake_version("a", 1, "k1", "k1");
	fake_version("b", 3, "k3", "k3");
	snprintf(path, sizeof(path), "%s/exports", store);
	assert_int_equal(exports_write(store, EXPORTS_KERNEL, path, "10.0.0.0/16", err,
				       sizeof(err)),
			 2);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char want[512];
	snprintf(want, sizeof(want), "%s/b/3/root 10.0.0.0/16(ro,root_squash,no_subtree_check,fsid=",
		 store);
	assert_non_null(strstr(buf, want));
	assert_int_equal(exports_write(store, EXPORTS_GANESHA, path, "*", err, sizeof(err)), 2);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "Access_Type = RO;"));
	assert_non_null(strstr(buf, "FSAL { Name = VFS; }"));
	snprintf(want, sizeof(want), "Path = \"%s/a/1/root\";", store);
	assert_non_null(strstr(buf, want));
}

/* A node of an image group boots the current version, with a command line
 * that mounts its root over NFS from herd, before the group's own. */
static void test_boot_files(void **state)
{
	struct herd_config cfg;
	struct boot_files bf;
	char err[256];
	(void)state;

	conf_defaults(&cfg);
	snprintf(cfg.images.dir, sizeof(cfg.images.dir), "%s", store);
	struct conf_group g = {.name = "compute", .cmdline = "console=ttyS0 %{name}",
			       .image = "deb12", .on_failure = CONF_FAIL_POWEROFF};
	struct boot_node n = {.name = "node07", .group = &g, .images = &cfg.images};
	n.server = ipaddr_v4(htonl(0x0a630701));
	n.images_fd = open(store, O_PATH | O_DIRECTORY);
	assert_true(n.images_fd >= 0);
	assert_int_equal(boot_files(&n, &bf), -ENOENT); /* no current version yet */
	fake_version("deb12", 4, "k", "k");
	assert_int_equal(image_switch(store, "deb12", 4, err, sizeof(err)), 0);
	assert_int_equal(boot_files(&n, &bf), 0);
	assert_string_equal(bf.kernel, "herd/images/deb12/4/vmlinuz");
	assert_string_equal(bf.initrd, "herd/images/deb12/4/initrd.img");
	char want[1024];
	snprintf(want, sizeof(want),
		 "root=/dev/nfs nfsroot=10.99.7.1:%s/deb12/4/root,ro ip=dhcp herd.image=deb12/4 "
		 "herd.node=node07 herd.fail=poweroff console=ttyS0 node07",
		 store);
	assert_string_equal(bf.cmdline, want);
	close(n.images_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs),
	    cmocka_unit_test_setup_teardown(test_kernel_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_switch_and_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
