/* herd's node initramfs (docs/IMAGES.md): placeholder API, replaced by the
 * generator. */
#ifndef HERD_IMAGE_INITRAMFS_H
#define HERD_IMAGE_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

struct initramfs_spec {
	const char *root;
	const char *kver;
	const char *const *nic_modules;
	size_t n_nic;
	const char *out;
};

int initramfs_build(const struct initramfs_spec *s, char *err, size_t errlen);
int initramfs_kver(const char *path, char *kver, size_t size, char *err, size_t errlen);
int initramfs_pci_driver(const char *path, uint16_t vendor, uint16_t device, char *mod,
			 size_t size, char *err, size_t errlen);

#endif
