/* Boot policy: which file a client loads at each stage, and the per-node
 * files herd generates (iPXE scripts, pxelinux configurations).
 *
 * Stage 1 (PXE firmware): the group's loader for the client architecture
 * (option 93). Stage 2 (iPXE, recognised by user class "iPXE" or option
 * 175): the node's generated script, so iPXE never loads itself again;
 * unless the node's loader is not an iPXE image (pxelinux.0, say): iPXE
 * then chainloads that. pxelinux asks for pxelinux.cfg/01-<mac>, which herd
 * also generates, and so does U-Boot's `pxe get`. GRUB reads grub.cfg
 * beside its image (its prefix, /grub for Debian's grubnetx64.efi): herd's
 * is the same for every client and hands over to the node's own
 * grub.cfg-01-<mac>, which GRUB 2.12 also asks for by itself. */
#ifndef HERD_BOOT_H
#define HERD_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/net.h"
#include "inventory/inventory.h"

/* What herd knows of a node when it chooses or renders. */
struct boot_node {
	const char *name;
	uint8_t mac[6];
	struct ipaddr ip;
	struct ipaddr server; /* herd's address as the node sees it */
	const struct conf_group *group;
	const struct inv_node *inv; /* per-node overrides, or NULL */
	const struct conf_rule *rule; /* the [rule] that chose the group, or NULL */
	bool rule_named;	      /* the name is the rule's (not in the inventory) */
	bool report;		      /* a rule waits for iPXE's SMBIOS report */
	const struct conf_http *http;  /* herd's HTTP server; NULL: none */
	const struct conf_images *images; /* the image store, for groups naming an image */
	int images_fd;			  /* it, opened; -1: not open */
};

/* What a node boots: kernel, initrd (paths beneath the root, or URLs) and
 * the command line, %{...} substituted. From its group's image when it
 * names one: herd/images/NAME/VERSION/{vmlinuz,initrd.img} of the image's
 * current version, and a command line that mounts that version's root
 * over NFS (root=/dev/nfs nfsroot=SERVER:PATH ip=dhcp herd.*), before the
 * group's own. 0; -ENOENT: the image has no current version; -ENOSPC. */
struct boot_files {
	char kernel[CONF_PATH_MAX];
	char initrd[CONF_PATH_MAX];
	char cmdline[4096];
	unsigned image_version; /* 0: no image */
};
int boot_files(const struct boot_node *n, struct boot_files *f);

/* Client architectures, RFC 4578 and the IANA registry. */
#define BOOT_ARCH_BIOS 0
#define BOOT_ARCH_EFI_IA32 6
#define BOOT_ARCH_EFI_X64 7
#define BOOT_ARCH_EFI_BC 9
#define BOOT_ARCH_EFI_ARM64 11
#define BOOT_ARCH_EFI_X64_HTTP 16
#define BOOT_ARCH_UBOOT_ARM32 21
#define BOOT_ARCH_UBOOT_ARM64 22
#define BOOT_ARCH_EFI_ARM64_HTTP 19

/* UEFI HTTP boot (UEFI 2.x, "HTTP Boot"; the IANA registry gives each
 * firmware architecture an HTTP twin): the architecture an HTTP one
 * boots the images of (16 x64 HTTP -> 7 x64), or -1 if arch is not an
 * HTTP architecture. */
int boot_arch_http_base(uint16_t arch);
/* How herd tells loaders apart, by name only (it never reads them): an
 * iPXE image is not handed to iPXE again (it gets its script instead), a
 * pxelinux gets a generated pxelinux.cfg, a GRUB a generated grub.cfg,
 * anything else is chainloaded. */
enum boot_loader_kind {
	BOOT_LOADER_IPXE,
	BOOT_LOADER_PXELINUX,
	BOOT_LOADER_GRUB,
	BOOT_LOADER_OTHER
};

enum boot_loader_kind boot_loader_kind(const char *loader);
/* "iPXE", "pxelinux", "other", with what herd does with each. */
const char *boot_loader_kind_str(enum boot_loader_kind kind);
/* Why a loader's name looks wrong for the architecture of its slot (or
 * why the name is ambiguous); NULL if it does not. */
const char *boot_loader_doubt(uint16_t arch, const char *loader);

/* Chooses the boot file name. Returns 0, or -ENOENT when the group has no
 * loader for this architecture. */
int boot_file(const struct boot_node *n, uint16_t arch, bool ipxe, char *out, size_t size);

/* The boot file URI of a UEFI HTTP boot client of architecture `arch`
 * (16, 19, ...; boot_arch_http_base): http://SERVER[:PORT]/LOADER, the
 * group's loader for the base architecture served by herd's HTTP server.
 * 0; -EOPNOTSUPP without HTTP (n->http NULL); -ENOENT: no loader for that
 * architecture; -ENOSPC. */
int boot_http_file(const struct boot_node *n, uint16_t arch, char *out, size_t size);

/* http://SERVER[:PORT]/path on herd's HTTP server as node n reaches it
 * (its listen address, else n->server; the port if not 80). 0, -ENOSPC. */
int boot_http_url(const struct boot_node *n, const char *path, char *out, size_t size);

/* Is `name` a file herd generates? (herd/..., pxelinux.cfg/01-...,
 * [DIR/]grub.cfg, [DIR/]grub.cfg-01-...) */
bool boot_is_generated(const char *name);
/* Is `name` GRUB's first configuration, [DIR/]grub.cfg: the same for every
 * client (it names no node)? */
bool boot_is_grub_cfg(const char *name);
/* Renders that grub.cfg into a malloc'd buffer: 0 or -ENOMEM. */
int boot_render_grub_cfg(char **data, size_t *len);
/* The MAC a generated file name is for; 0 or -EINVAL. */
int boot_generated_mac(const char *name, uint8_t mac[6]);
/* Renders generated file `name` for node n into a malloc'd buffer. Returns
 * 0 or -ENOENT / -ENOMEM. */
int boot_render(const struct boot_node *n, const char *name, char **data, size_t *len);

/* The first-stage iPXE script of a node whose group waits for SMBIOS:
 * it asks `url` (http://SERVER[:PORT]/herd/ipxe/report) with the node's
 * MAC and iPXE's ${manufacturer} ${product} ${serial} ${uuid}, and herd
 * answers with the node's real script. */
int boot_render_report(const struct boot_node *n, const char *url, char **data, size_t *len);

/* Substitutes %{name}, %{ip}, %{mac}, %{server}, %{group} in tmpl. Returns
 * the length, or -ENOSPC. */
int boot_expand(const struct boot_node *n, const char *tmpl, char *out, size_t size);

#endif
