/* Placeholder until the generator lands. */
#include "image/initramfs.h"

#include <stdio.h>

int initramfs_build(const struct initramfs_spec *s, char *err, size_t errlen)
{
	(void)s;
	snprintf(err, errlen, "the node initramfs generator is not built in");
	return -1;
}

int initramfs_kver(const char *path, char *kver, size_t size, char *err, size_t errlen)
{
	(void)path, (void)kver, (void)size;
	snprintf(err, errlen, "the node initramfs reader is not built in");
	return -1;
}

int initramfs_pci_driver(const char *path, uint16_t vendor, uint16_t device, char *mod,
			 size_t size, char *err, size_t errlen)
{
	(void)path, (void)vendor, (void)device, (void)mod, (void)size;
	snprintf(err, errlen, "the node initramfs reader is not built in");
	return -1;
}
