/* A stand-in for `herd image build` until it exists: drives src/image's
 * initramfs API from the command line (tests/system/qemu/initramfs-direct.sh).
 *
 *   mkinitramfs build ROOT KVER OUT [NIC...]   (no NIC: the default list)
 *   mkinitramfs kver FILE
 *   mkinitramfs pci FILE VVVV:DDDD             (exit 0 found, 1 none, 2 error) */
#include "image/initramfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: mkinitramfs build ROOT KVER OUT [NIC...]\n"
			"       mkinitramfs kver FILE\n"
			"       mkinitramfs pci FILE VVVV:DDDD\n");
	return 2;
}

int main(int argc, char **argv)
{
	char err[512], buf[128];
	unsigned v, d;
	int r;

	if (argc >= 5 && !strcmp(argv[1], "build")) {
		struct initramfs_spec s = {
		    .root = argv[2],
		    .kver = argv[3],
		    .out = argv[4],
		    .nic_modules = argc > 5 ? (const char *const *)argv + 5 : NULL,
		    .n_nic = argc > 5 ? (size_t)(argc - 5) : 0,
		};
		if (initramfs_build(&s, err, sizeof(err)) < 0) {
			fprintf(stderr, "mkinitramfs: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "kver")) {
		if (initramfs_kver(argv[2], buf, sizeof(buf), err, sizeof(err)) < 0) {
			fprintf(stderr, "mkinitramfs: %s\n", err);
			return 1;
		}
		printf("%s\n", buf);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "pci") && sscanf(argv[3], "%x:%x", &v, &d) == 2) {
		r = initramfs_pci_driver(argv[2], (uint16_t)v, (uint16_t)d, buf, sizeof(buf), err,
					 sizeof(err));
		if (r < 0) {
			fprintf(stderr, "mkinitramfs: %s\n", err);
			return 2;
		}
		printf("%s\n", r ? buf : "(none)");
		return r ? 0 : 1;
	}
	return usage();
}
