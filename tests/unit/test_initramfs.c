/* Unit tests for herd's node initramfs (src/image/initramfs*.c): built from a
 * small fake image root in a temp dir, read back with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/initramfs.h"

extern const unsigned char initramfs_node_init[];
extern const size_t initramfs_node_init_len;

#define KVER "6.1.0-test"
#define MODDIR "lib/modules/" KVER

/* modules.dep as depmod writes it, except that a_nic lists only its direct
 * dependency: the closure must follow b_dep to c_base itself. */
static const char modules_dep[] =
    "kernel/drivers/net/a-nic.ko: kernel/lib/b_dep.ko\n"
    "kernel/lib/b_dep.ko: kernel/lib/c_base.ko\n"
    "kernel/lib/c_base.ko:\n"
    "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst:\n"
    "kernel/drivers/virtio/virtio.ko:\n"
    "kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/net/sunrpc/sunrpc.ko:\n"
    "kernel/fs/nfs/nfs.ko: kernel/net/sunrpc/sunrpc.ko\n"
    "kernel/fs/nfs/nfsv4.ko: kernel/fs/nfs/nfs.ko kernel/net/sunrpc/sunrpc.ko\n"
    "kernel/fs/overlayfs/overlay.ko:\n"
    "kernel/fs/configfs/configfs.ko:\n"
    "kernel/drivers/net/netconsole.ko: kernel/fs/configfs/configfs.ko\n"
    "kernel/drivers/gpu/big.ko: kernel/lib/c_base.ko\n"
    "kernel/drivers/net/dummy.ko:\n";

static const char modules_alias[] = "# Aliases extracted from modules themselves.\n"
				    "alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n"
				    "alias pci:v00001234d*sv*sd*bc*sc*i* a_nic\n"
				    "alias pci:v*d*sv*sd*bc03sc*i* big\n"
				    "alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\n"
				    "alias virtio:d00000001v* virtio_net\n"
				    "alias rtnl-link-dummy dummy\n"
				    "alias fs-nfs4 nfsv4\n";

static const char *const all_modules[] = {
    "kernel/drivers/net/a-nic.ko",
    "kernel/lib/b_dep.ko",
    "kernel/lib/c_base.ko",
    "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/net/virtio_net.ko.xz",
    "kernel/net/sunrpc/sunrpc.ko",
    "kernel/fs/nfs/nfs.ko",
    "kernel/fs/nfs/nfsv4.ko",
    "kernel/fs/overlayfs/overlay.ko",
    "kernel/fs/configfs/configfs.ko",
    "kernel/drivers/net/netconsole.ko",
    "kernel/drivers/gpu/big.ko",
    "kernel/drivers/net/dummy.ko",
};

struct fixture {
	char dir[64];
	char root[96];
	char out[128];
};

static void put(const char *root, const char *path, const void *data, size_t len)
{
	char buf[512], *slash;
	int fd;

	snprintf(buf, sizeof(buf), "%s/%s", root, path);
	for (slash = strchr(buf + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(buf, 0755);
		*slash = '/';
	}
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_str(const char *root, const char *path, const char *s)
{
	put(root, path, s, strlen(s));
}

/* A minimal x86-64 ELF header with one program header: PT_LOAD (static) or
 * PT_INTERP (dynamic). Enough for the check, which reads headers only. */
static void put_elf(const char *root, const char *path, int dynamic)
{
	unsigned char f[64 + 56] = {0x7f, 'E', 'L', 'F', 2, 1, 1};

	f[16] = 2;		 /* ET_EXEC */
	f[18] = 62;		 /* EM_X86_64 */
	f[0x20] = 64;		 /* e_phoff */
	f[0x34] = 64;		 /* e_ehsize */
	f[0x36] = 56;		 /* e_phentsize */
	f[0x38] = 1;		 /* e_phnum */
	f[64] = dynamic ? 3 : 1; /* p_type: PT_INTERP or PT_LOAD */
	put(root, path, f, sizeof(f));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[256];
	size_t i;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/herd-test-initramfs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/initrd.img", f->dir);
	mkdir(f->root, 0755);
	for (i = 0; i < sizeof(all_modules) / sizeof(all_modules[0]); i++) {
		snprintf(path, sizeof(path), MODDIR "/%s", all_modules[i]);
		put_str(f->root, path, all_modules[i]); /* content: its own name */
	}
	put_str(f->root, MODDIR "/modules.dep", modules_dep);
	put_str(f->root, MODDIR "/modules.alias", modules_alias);
	put_str(f->root, MODDIR "/modules.builtin", "kernel/net/packet/af_packet.ko\n");
	/* usrmerge with an absolute link: it must resolve inside the image,
	 * not to the host's (dynamic) /usr/bin/busybox */
	put_elf(f->root, "usr/bin/busybox", 0);
	snprintf(path, sizeof(path), "%s/bin", f->root);
	assert_int_equal(symlink("/usr/bin", path), 0);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* --- reading the archive back ---------------------------------------------- */

struct entry {
	char name[256];
	unsigned type, perm, major, minor;
	char link[64];
	char *data;
	size_t size;
};

struct contents {
	struct entry e[256];
	size_t n;
};

static struct contents *read_back(const char *path)
{
	struct contents *c = calloc(1, sizeof(*c));
	struct archive *a = archive_read_new();
	struct archive_entry *ae;

	assert_non_null(c);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_cpio(a);
	assert_int_equal(archive_read_open_filename(a, path, 16384), ARCHIVE_OK);
	assert_string_equal(archive_filter_name(a, 0), "gzip");
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		struct entry *e = &c->e[c->n++];
		assert_true(c->n < 256);
		snprintf(e->name, sizeof(e->name), "%s", archive_entry_pathname(ae));
		e->type = archive_entry_filetype(ae);
		e->perm = archive_entry_perm(ae);
		e->major = (unsigned)archive_entry_rdevmajor(ae);
		e->minor = (unsigned)archive_entry_rdevminor(ae);
		if (archive_entry_symlink(ae))
			snprintf(e->link, sizeof(e->link), "%s", archive_entry_symlink(ae));
		e->size = e->type == AE_IFREG ? (size_t)archive_entry_size(ae) : 0;
		e->data = calloc(1, e->size + 1);
		assert_non_null(e->data);
		if (e->size)
			assert_int_equal(archive_read_data(a, e->data, e->size),
					 (la_ssize_t)e->size);
	}
	assert_int_equal(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC); /* newc */
	archive_read_free(a);
	return c;
}

static void free_contents(struct contents *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->e[i].data);
	free(c);
}

static const struct entry *find(const struct contents *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].name, name))
			return &c->e[i];
	return NULL;
}

static int build(struct fixture *f, const char *const *nics, size_t n, char *err, size_t errlen)
{
	struct initramfs_spec s = {
	    .root = f->root, .kver = KVER, .nic_modules = nics, .n_nic = n, .out = f->out};

	err[0] = '\0';
	return initramfs_build(&s, err, errlen);
}

/* --- tests ----------------------------------------------------------------- */

static void test_contents(void **state)
{
	struct fixture *f = *state;
	static const char *const nics[] = {"a-nic", "e1000e", "virtio_net"};
	static const char *const in[] = {
	    "kernel/drivers/net/a-nic.ko",
	    "kernel/lib/b_dep.ko",
	    "kernel/lib/c_base.ko",
	    "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst",
	    "kernel/drivers/net/virtio_net.ko.xz",
	    "kernel/drivers/virtio/virtio_pci.ko",
	    "kernel/drivers/virtio/virtio_ring.ko",
	    "kernel/drivers/virtio/virtio.ko",
	    "kernel/fs/nfs/nfsv4.ko",
	    "kernel/fs/nfs/nfs.ko",
	    "kernel/net/sunrpc/sunrpc.ko",
	    "kernel/fs/overlayfs/overlay.ko",
	    "kernel/drivers/net/netconsole.ko",
	    "kernel/fs/configfs/configfs.ko",
	};
	char err[256], name[256];
	const struct entry *e;
	struct contents *c;
	size_t i, lines;

	assert_int_equal(build(f, nics, 3, err, sizeof(err)), 0);
	c = read_back(f->out);

	e = find(c, "init");
	assert_non_null(e);
	assert_int_equal(e->type, AE_IFREG);
	assert_int_equal(e->perm, 0755);
	assert_int_equal(e->size, initramfs_node_init_len);
	assert_memory_equal(e->data, initramfs_node_init, e->size);
	assert_memory_equal(e->data, "#!/bin/sh\n", 10);

	e = find(c, "bin/busybox");
	assert_non_null(e);
	assert_int_equal(e->size, 64 + 56); /* the image's, not the host's */
	e = find(c, "bin/sh");
	assert_non_null(e);
	assert_int_equal(e->type, AE_IFLNK);
	assert_string_equal(e->link, "busybox");
	assert_non_null(find(c, "bin/udhcpc"));
	assert_non_null(find(c, "bin/switch_root"));
	e = find(c, "dev/console");
	assert_non_null(e);
	assert_int_equal(e->type, AE_IFCHR);
	assert_int_equal(e->major, 5);
	assert_int_equal(e->minor, 1);
	e = find(c, "dev/null");
	assert_non_null(e);
	assert_int_equal(e->major, 1);
	assert_int_equal(e->minor, 3);
	assert_non_null(find(c, "newroot"));
	assert_non_null(find(c, "proc"));

	/* the closure: named NICs, their dependencies (a_nic -> b_dep -> c_base),
	 * virtio_pci beside virtio_net, and what /init needs */
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		snprintf(name, sizeof(name), MODDIR "/%s", in[i]);
		e = find(c, name);
		assert_non_null(e);
		assert_string_equal(e->data, in[i]);
		assert_non_null(find(c, MODDIR)); /* parents written as directories */
	}
	assert_null(find(c, MODDIR "/kernel/drivers/gpu/big.ko"));
	assert_null(find(c, MODDIR "/kernel/drivers/net/dummy.ko"));

	e = find(c, MODDIR "/modules.dep");
	assert_non_null(e);
	assert_non_null(strstr(e->data, "kernel/drivers/net/a-nic.ko: kernel/lib/b_dep.ko\n"));
	assert_non_null(strstr(e->data, "kernel/fs/nfs/nfsv4.ko: kernel/fs/nfs/nfs.ko"));
	assert_null(strstr(e->data, "big.ko"));
	assert_null(strstr(e->data, "dummy.ko"));
	for (i = 0, lines = 0; e->data[i]; i++)
		lines += e->data[i] == '\n';
	assert_int_equal(lines, 14);

	e = find(c, MODDIR "/modules.alias");
	assert_non_null(e);
	assert_non_null(strstr(e->data, "alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n"));
	assert_non_null(strstr(e->data, "alias pci:v00001234d*sv*sd*bc*sc*i* a_nic\n"));
	assert_non_null(strstr(e->data, "alias virtio:d00000001v* virtio_net\n"));
	assert_non_null(strstr(e->data, "alias fs-nfs4 nfsv4\n"));
	assert_null(strstr(e->data, " big\n"));
	assert_null(strstr(e->data, " dummy\n"));

	e = find(c, "etc/herd-initramfs");
	assert_non_null(e);
	assert_non_null(strstr(e->data, "kver=" KVER "\n"));
	assert_non_null(strstr(e->data, "\nmodules=a_nic b_dep c_base "));
	free_contents(c);
}

static void test_kver_and_pci(void **state)
{
	struct fixture *f = *state;
	static const char *const nics[] = {"a_nic", "e1000e", "virtio_net"};
	char err[256], buf[64];

	assert_int_equal(build(f, nics, 3, err, sizeof(err)), 0);
	assert_int_equal(initramfs_kver(f->out, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, KVER);

	assert_int_equal(
	    initramfs_pci_driver(f->out, 0x8086, 0x10d3, buf, sizeof(buf), err, sizeof(err)), 1);
	assert_string_equal(buf, "e1000e");
	assert_int_equal(
	    initramfs_pci_driver(f->out, 0x1234, 0x0042, buf, sizeof(buf), err, sizeof(err)), 1);
	assert_string_equal(buf, "a_nic");
	/* a virtio network card: virtio_pci finds it, virtio_net drives it */
	assert_int_equal(
	    initramfs_pci_driver(f->out, 0x1af4, 0x1000, buf, sizeof(buf), err, sizeof(err)), 1);
	assert_string_equal(buf, "virtio_net");
	assert_int_equal(
	    initramfs_pci_driver(f->out, 0x1af4, 0x1041, buf, sizeof(buf), err, sizeof(err)), 1);
	/* a virtio block device, a Realtek card: no driver here */
	assert_int_equal(
	    initramfs_pci_driver(f->out, 0x1af4, 0x1001, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_int_equal(
	    initramfs_pci_driver(f->out, 0x10ec, 0x8168, buf, sizeof(buf), err, sizeof(err)), 0);
	/* not an initramfs */
	assert_int_equal(initramfs_kver(f->root, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_int_equal(
	    initramfs_pci_driver("/nonexistent", 1, 2, buf, sizeof(buf), err, sizeof(err)), -1);
}

/* The default NIC list: the ones the kernel lacks (igb, mlx5_core, ...) are
 * dropped without a word. */
static void test_default_nics(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct contents *c;

	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), 0);
	c = read_back(f->out);
	assert_non_null(find(c, MODDIR "/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst"));
	assert_non_null(find(c, MODDIR "/kernel/drivers/net/virtio_net.ko.xz"));
	assert_null(find(c, MODDIR "/kernel/drivers/net/a-nic.ko"));
	free_contents(c);
}

/* Whether a temporary file (initrd.img.tmp.XXXXXX) was left behind. */
static int leftovers(const struct fixture *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		found |= strstr(e->d_name, ".tmp") != NULL;
	closedir(d);
	return found;
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	static const char *const igb[] = {"e1000e", "igb"};
	static const char *const af_packet[] = {"e1000e", "af_packet"};
	char err[256], path[256];

	/* a module the administrator named that the kernel lacks */
	assert_int_equal(build(f, igb, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "igb"));
	assert_non_null(strstr(err, "modules.dep"));
	/* named but built into the kernel: fine */
	assert_int_equal(build(f, af_packet, 2, err, sizeof(err)), 0);
	unlink(f->out);

	/* a dynamic busybox */
	snprintf(path, sizeof(path), "%s/usr/bin/busybox", f->root);
	unlink(path);
	put_elf(f->root, "usr/bin/busybox", 1);
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bin/busybox is not statically linked"));
	assert_non_null(strstr(err, "busybox-static"));
	put_str(f->root, "usr/bin/busybox", "#!/bin/sh\n");
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an ELF file"));
	unlink(path);
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no "));
	assert_non_null(strstr(err, "bin/busybox"));
	put_elf(f->root, "usr/bin/busybox", 0);

	/* a kernel version without modules, a tree without modules.dep */
	{
		struct initramfs_spec s = {.root = f->root, .kver = "6.1.0-other", .out = f->out};
		assert_int_equal(initramfs_build(&s, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "6.1.0-other"));
		s.kver = "../../etc";
		assert_int_equal(initramfs_build(&s, err, sizeof(err)), -1);
	}
	snprintf(path, sizeof(path), "%s/" MODDIR "/modules.dep", f->root);
	unlink(path);
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no modules.dep in "));
	assert_non_null(strstr(err, MODDIR ": run depmod"));

	/* nothing written, no temporary file left behind */
	assert_int_equal(access(f->out, F_OK), -1);
	assert_false(leftovers(f));
}

static void test_missing_nfs(void **state)
{
	struct fixture *f = *state;
	char err[256];

	put_str(f->root, MODDIR "/modules.dep",
		"kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst:\n"
		"kernel/fs/overlayfs/overlay.ko:\nkernel/fs/nfs/nfs.ko:\n");
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nfsv4"));
}

static void test_unsafe_path(void **state)
{
	struct fixture *f = *state;
	char err[256];

	put_str(f->root, MODDIR "/modules.dep",
		"kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst: ../../../etc/shadow.ko\n"
		"../../../etc/shadow.ko:\n");
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unsafe path ../../../etc/shadow.ko"));
}

static void test_elf(void **state)
{
	struct fixture *f = *state;
	char err[256], path[256];

	snprintf(path, sizeof(path), "%s/usr/bin/busybox", f->root);
	assert_int_equal(initramfs_elf_is_static(path, err, sizeof(err)), 1);
	/* the host's own programs are dynamic */
	assert_int_equal(initramfs_elf_is_static("/bin/true", err, sizeof(err)), 0);
	assert_int_equal(initramfs_elf_is_static("/etc/passwd", err, sizeof(err)), -1);
}

/* A rebuild replaces the file atomically: an open reader keeps the old one. */
static void test_atomic_replace(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct stat a, b;

	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(f->out, &a), 0);
	assert_int_equal(build(f, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(f->out, &b), 0);
	assert_int_not_equal(a.st_ino, b.st_ino);
	assert_int_equal(b.st_mode & 0777, 0644);
	assert_false(leftovers(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_contents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kver_and_pci, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_nics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_nfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_elf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
