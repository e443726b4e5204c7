/* herd's node initramfs: built from an image's own root tree (its busybox,
 * its kernel's modules), so that the drivers always match the kernel.
 *
 * Contents: /init (src/image/node_init.sh), a static /bin/busybox and the
 * applet links /init uses, the chosen NIC modules plus netconsole, nfs,
 * nfsv4 and overlay with their dependency closure (from the image's
 * modules.dep), a modules.dep and modules.alias trimmed to those modules,
 * /dev/console and /dev/null, and /etc/herd-initramfs (kernel version,
 * module list). A gzip'd newc cpio, as the kernel unpacks it. */
#ifndef HERD_IMAGE_INITRAMFS_H
#define HERD_IMAGE_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

/* Common server and virtual NICs. Those the image's kernel lacks are
 * dropped silently; a module an administrator names that is missing is an
 * error. */
#define INITRAMFS_DEFAULT_NICS                                                                     \
	"virtio_net", "e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "bnxt_en", "tg3",   \
	    "bnx2", "bnx2x", "mlx4_en", "mlx5_core", "r8169", "vmxnet3"

extern const char *const initramfs_default_nics[];
extern const size_t initramfs_n_default_nics;

struct initramfs_spec {
	const char *root;		/* image root: lib/modules/<kver>, bin/busybox */
	const char *kver;		/* kernel version, e.g. "6.1.0-50-amd64" */
	const char *const *nic_modules; /* NULL: INITRAMFS_DEFAULT_NICS */
	size_t n_nic;
	const char *out; /* written atomically (temporary file + rename) */
};

/* 0, or -1 with one line in err (e.g. "no modules.dep in ROOT/lib/modules/KVER:
 * run depmod"). */
int initramfs_build(const struct initramfs_spec *s, char *err, size_t errlen);

/* The kernel version an initramfs was built for (its lib/modules/<kver>). */
int initramfs_kver(const char *path, char *kver, size_t size, char *err, size_t errlen);

/* Whether the initramfs has a driver for PCI device vendor:device (its
 * modules.alias): 1 found (the module in mod), 0 none, -1 error. A virtio
 * PCI device is answered with the driver of its virtio device (virtio_net
 * for a network card), found through virtio_pci. */
int initramfs_pci_driver(const char *path, uint16_t vendor, uint16_t device, char *mod, size_t size,
			 char *err, size_t errlen);

/* Whether an ELF file is statically linked (has no PT_INTERP): 1 yes, 0 no
 * (dynamic), -1 not an ELF file or unreadable (err says which). */
int initramfs_elf_is_static(const char *path, char *err, size_t errlen);

#endif
