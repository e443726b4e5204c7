#include "boot/boot.h"

#include "image/image.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IPXE_PREFIX "herd/ipxe/"
#define PXELINUX_PREFIX "pxelinux.cfg/01-"
#define GRUB_CFG "grub.cfg"
#define GRUB_NODE_PREFIX "grub.cfg-01-"

static const char *kernel_of(const struct boot_node *n)
{
	return n->inv && n->inv->kernel ? n->inv->kernel : n->group->kernel;
}

static const char *initrd_of(const struct boot_node *n)
{
	return n->inv && n->inv->initrd ? n->inv->initrd : n->group->initrd;
}

static const char *cmdline_of(const struct boot_node *n)
{
	return n->inv && n->inv->cmdline ? n->inv->cmdline : n->group->cmdline;
}

static const char *const failure_words[] = {"reboot", "poweroff", "shell"};

/* The image's part of the command line: the root over NFS from the
 * image's version, and what herd's initramfs reads (herd.*). */
static int image_cmdline(const struct boot_node *n, const char *image, unsigned version,
			 char *out, size_t size)
{
	const struct conf_images *ci = n->images;
	const struct conf_group *g = n->group;
	struct ipaddr nfs = n->server;
	char server[IPADDR_STRLEN];
	int len;

	if (g->nfs_server)
		nfs = ipaddr_v4(g->nfs_server);
	else if (ci->nfs_server)
		nfs = ipaddr_v4(ci->nfs_server);
	len = snprintf(out, size,
		       "root=/dev/nfs nfsroot=%s:%s/%s/%u/root,ro%s%s ip=dhcp herd.image=%s/%u "
		       "herd.node=%s herd.fail=%s%s%s",
		       ipaddr_str(&nfs, server), ci->dir, image, version,
		       ci->nfs_options[0] ? "," : "", ci->nfs_options, image, version, n->name,
		       failure_words[g->on_failure], g->init[0] ? " init=" : "", g->init);
	return len > 0 && (size_t)len < size ? len : -ENOSPC;
}

int boot_files(const struct boot_node *n, struct boot_files *f)
{
	const char *image = n->group->image;
	char cmdline[2048];
	int v, len;

	f->image_version = 0;
	if (boot_expand(n, cmdline_of(n), cmdline, sizeof(cmdline)) < 0)
		return -ENOSPC;
	if (!image[0] || !n->images) {
		if (boot_expand(n, kernel_of(n), f->kernel, sizeof(f->kernel)) < 0 ||
		    boot_expand(n, initrd_of(n), f->initrd, sizeof(f->initrd)) < 0)
			return -ENOSPC;
		snprintf(f->cmdline, sizeof(f->cmdline), "%s", cmdline);
		return 0;
	}
	/* Read once per render: a script names the version it was made
	 * with, so a node keeps one consistent set across a switch. */
	v = n->images_fd >= 0 ? image_current_at(n->images_fd, image) : -ENOENT;
	if (v <= 0)
		return -ENOENT;
	f->image_version = (unsigned)v;
	snprintf(f->kernel, sizeof(f->kernel), "herd/images/%s/%d/vmlinuz", image, v);
	snprintf(f->initrd, sizeof(f->initrd), "herd/images/%s/%d/initrd.img", image, v);
	len = image_cmdline(n, image, (unsigned)v, f->cmdline, sizeof(f->cmdline));
	if (len < 0 || (size_t)len + 2 + strlen(cmdline) > sizeof(f->cmdline))
		return -ENOSPC;
	if (cmdline[0])
		snprintf(f->cmdline + len, sizeof(f->cmdline) - (size_t)len, " %s", cmdline);
	return 0;
}

int boot_expand(const struct boot_node *n, const char *tmpl, char *out, size_t size)
{
	size_t len = 0;

	for (const char *s = tmpl; *s; s++) {
		char val[64];
		const char *v = NULL;
		if (s[0] == '%' && s[1] == '{') {
			const char *end = strchr(s, '}');
			size_t klen = end ? (size_t)(end - s - 2) : 0;
			if (end && klen == 4 && strncmp(s + 2, "name", 4) == 0)
				v = n->name;
			else if (end && klen == 2 && strncmp(s + 2, "ip", 2) == 0)
				v = ipaddr_str(&n->ip, val);
			else if (end && klen == 3 && strncmp(s + 2, "mac", 3) == 0)
				v = mac_str(n->mac, ':', val);
			else if (end && klen == 6 && strncmp(s + 2, "server", 6) == 0)
				v = ipaddr_str(&n->server, val);
			else if (end && klen == 5 && strncmp(s + 2, "group", 5) == 0)
				v = n->group->name;
			if (v)
				s = end;
		}
		size_t vlen = v ? strlen(v) : 1;
		if (len + vlen >= size)
			return -ENOSPC;
		memcpy(out + len, v ? v : s, vlen);
		len += vlen;
	}
	out[len] = '\0';
	return (int)len;
}

/* iPXE images by their Debian names: undionly.kpxe, ipxe.efi, snponly.efi,
 * ipxe.pxe, *.kkpxe ... */
static bool is_ipxe_image(const char *loader)
{
	return strcasestr(loader, "ipxe") || strcasestr(loader, "undionly") ||
	       strcasestr(loader, "snponly") || strcasestr(loader, ".kpxe") ||
	       strcasestr(loader, ".kkpxe");
}

enum boot_loader_kind boot_loader_kind(const char *loader)
{
	if (is_ipxe_image(loader))
		return BOOT_LOADER_IPXE;
	if (strcasestr(loader, "pxelinux"))
		return BOOT_LOADER_PXELINUX;
	/* grubnetx64.efi, grubx64.efi, grubaa64.efi, core.efi is not told */
	if (strcasestr(loader, "grub"))
		return BOOT_LOADER_GRUB;
	return BOOT_LOADER_OTHER;
}

const char *boot_loader_kind_str(enum boot_loader_kind kind)
{
	switch (kind) {
	case BOOT_LOADER_IPXE:
		return "iPXE (an iPXE client gets its script herd/ipxe/<mac>.ipxe instead)";
	case BOOT_LOADER_PXELINUX:
		return "pxelinux (herd generates pxelinux.cfg/01-<mac>; iPXE chainloads it)";
	case BOOT_LOADER_GRUB:
		return "GRUB (herd generates grub.cfg and grub.cfg-01-<mac> beside it; iPXE "
		       "chainloads it)";
	case BOOT_LOADER_OTHER:
		break;
	}
	return "other (iPXE chainloads it)";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Names of BIOS (real mode) images. */
static bool bios_name(const char *loader)
{
	return ends_with(loader, ".kpxe") || ends_with(loader, ".kkpxe") ||
	       ends_with(loader, ".pxe") || ends_with(loader, ".0") || ends_with(loader, ".lkrn") ||
	       ends_with(loader, ".com");
}

const char *boot_loader_doubt(uint16_t arch, const char *loader)
{
	const char *base = strrchr(loader, '/') ? strrchr(loader, '/') + 1 : loader;

	if (strcasestr(base, "ipxe") && (strcasestr(base, "pxelinux") || strcasestr(base, "grub") ||
					 strcasestr(base, "shim") || strcasestr(base, "syslinux")))
		return "the name says iPXE and another loader: herd takes it for iPXE, so an iPXE "
		       "client gets its script, never this file";
	switch (arch) {
	case BOOT_ARCH_BIOS:
		if (ends_with(base, ".efi"))
			return "a UEFI image (.efi) where BIOS clients look";
		break;
	case BOOT_ARCH_EFI_X64:
	case BOOT_ARCH_EFI_BC:
		if (bios_name(base) || boot_loader_kind(base) == BOOT_LOADER_PXELINUX)
			return "a BIOS image where UEFI clients look (pxelinux, *.kpxe, *.pxe and "
			       "*.0 run under BIOS only)";
		if (strcasestr(base, "aa64") || strcasestr(base, "arm64"))
			return "an ARM64 image where x86-64 UEFI clients look";
		break;
	case BOOT_ARCH_EFI_ARM64:
		if (bios_name(base) || boot_loader_kind(base) == BOOT_LOADER_PXELINUX)
			return "a BIOS image where ARM64 UEFI clients look";
		if (strcasestr(base, "x64") || strcasestr(base, "x86_64") ||
		    strcasestr(base, "ia32"))
			return "an x86 image where ARM64 UEFI clients look";
		break;
	}
	return NULL;
}

int boot_file(const struct boot_node *n, uint16_t arch, bool ipxe, char *out, size_t size)
{
	const char *loader;
	char mac[18];

	switch (arch) {
	case BOOT_ARCH_BIOS:
		loader = n->inv && n->inv->loader ? n->inv->loader : n->group->loader_bios;
		break;
	case BOOT_ARCH_EFI_X64:
	case BOOT_ARCH_EFI_BC:
		loader = n->group->loader_efi64;
		break;
	case BOOT_ARCH_EFI_ARM64:
		loader = n->group->loader_arm64;
		break;
	default:
		loader = "";
		break;
	}
	/* A node's own UEFI loader replaces its group's, whichever
	 * architecture led to that slot. */
	if (n->inv && n->inv->loader_efi64 && loader == n->group->loader_efi64)
		loader = n->inv->loader_efi64;
	else if (n->inv && n->inv->loader_arm64 && loader == n->group->loader_arm64)
		loader = n->inv->loader_arm64;
	/* iPXE asking (user class "iPXE") gets its script rather than the iPXE
	 * loader again, which would loop; a node whose loader is something
	 * else (pxelinux.0, a GRUB image) gets that, chainloaded by iPXE. */
	if (ipxe && (loader[0] == '\0' || boot_loader_kind(loader) == BOOT_LOADER_IPXE)) {
		snprintf(out, size, IPXE_PREFIX "%s.ipxe", mac_str(n->mac, '-', mac));
		return 0;
	}
	if (loader[0] == '\0')
		return -ENOENT;
	snprintf(out, size, "%s", loader);
	return 0;
}

/* The last component of a name. */
static const char *base_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash ? slash + 1 : name;
}

bool boot_is_grub_cfg(const char *name)
{
	return strcmp(base_of(name), GRUB_CFG) == 0;
}

/* GRUB looks beside its image (its prefix), so its files are claimed in
 * any directory. */
static bool is_grub_node_cfg(const char *name)
{
	return strncmp(base_of(name), GRUB_NODE_PREFIX, strlen(GRUB_NODE_PREFIX)) == 0;
}

bool boot_is_generated(const char *name)
{
	while (*name == '/')
		name++;
	return strncmp(name, IPXE_PREFIX, strlen(IPXE_PREFIX)) == 0 ||
	       strncmp(name, PXELINUX_PREFIX, strlen(PXELINUX_PREFIX)) == 0 ||
	       boot_is_grub_cfg(name) || is_grub_node_cfg(name);
}

int boot_generated_mac(const char *name, uint8_t mac[6])
{
	char buf[18];

	while (*name == '/')
		name++;
	if (strncmp(name, IPXE_PREFIX, strlen(IPXE_PREFIX)) == 0) {
		name += strlen(IPXE_PREFIX);
		if (strlen(name) != 17 + 5 || strcmp(name + 17, ".ipxe") != 0)
			return -EINVAL;
	} else if (strncmp(name, PXELINUX_PREFIX, strlen(PXELINUX_PREFIX)) == 0) {
		name += strlen(PXELINUX_PREFIX);
		if (strlen(name) != 17)
			return -EINVAL;
	} else if (is_grub_node_cfg(name)) {
		name = base_of(name) + strlen(GRUB_NODE_PREFIX);
		if (strlen(name) != 17)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	memcpy(buf, name, 17);
	buf[17] = '\0';
	return mac_parse(buf, mac);
}

/* An address as the host part of a URL: an IPv6 one in brackets (RFC 3986). */
static void url_host(const struct ipaddr *a, char buf[IPADDR_STRLEN + 2])
{
	char ip[IPADDR_STRLEN];

	snprintf(buf, IPADDR_STRLEN + 2, ipaddr_is_v4(a) ? "%s" : "[%s]", ipaddr_str(a, ip));
}

int boot_http_url(const struct boot_node *n, const char *path, char *out, size_t size)
{
	const struct netaddr *l =
	    n->http && n->http->listen.count ? &n->http->listen.addrs[0] : NULL;
	char host[IPADDR_STRLEN + 2], port[8] = "";
	int len;

	/* Bound to one address: that one; to every address: the one the
	 * node reached herd by. */
	url_host(l && !ipaddr_is_any(&l->ip) ? &l->ip : &n->server, host);
	if (l && l->port != 80)
		snprintf(port, sizeof(port), ":%u", l->port);
	while (*path == '/')
		path++;
	len = snprintf(out, size, "http://%s%s/%s", host, port, path);
	return len >= 0 && (size_t)len < size ? 0 : -ENOSPC;
}

int boot_arch_http_base(uint16_t arch)
{
	/* IANA "Processor Architecture Types": each HTTP architecture and the
	 * one whose images it boots. */
	static const uint8_t twin[][2] = {
	    {15, 6},  /* x86 UEFI HTTP */
	    {16, 7},  /* x64 UEFI HTTP */
	    {17, 9},  /* EBC HTTP */
	    {18, 10}, /* ARM 32-bit UEFI HTTP */
	    {19, 11}, /* ARM 64-bit UEFI HTTP */
	    {20, 0},  /* PC/AT BIOS HTTP */
	    {23, 21}, /* ARM 32-bit U-Boot HTTP */
	    {24, 22}, /* ARM 64-bit U-Boot HTTP */
	    {26, 25}, /* RISC-V 32-bit UEFI HTTP */
	    {28, 27}, /* RISC-V 64-bit UEFI HTTP */
	    {30, 29}, /* RISC-V 128-bit UEFI HTTP */
	    {38, 37}, /* LoongArch 32-bit UEFI HTTP */
	    {40, 39}, /* LoongArch 64-bit UEFI HTTP */
	};

	for (size_t i = 0; i < sizeof(twin) / sizeof(twin[0]); i++)
		if (twin[i][0] == arch)
			return twin[i][1];
	return -1;
}

int boot_http_file(const struct boot_node *n, uint16_t arch, char *out, size_t size)
{
	int base = boot_arch_http_base(arch);
	const char *loader = "";

	if (base < 0)
		base = arch; /* HTTPClient with its base architecture */
	if (n->http == NULL)
		return -EOPNOTSUPP;
	/* Only the UEFI images herd has a slot for. PC/AT BIOS HTTP (20)
	 * gets nothing: loader_bios is a PXE image (undionly.kpxe needs the
	 * PXE stack such a client may not have). */
	if (base == BOOT_ARCH_EFI_X64 || base == BOOT_ARCH_EFI_BC)
		loader = n->group->loader_efi64;
	else if (base == BOOT_ARCH_EFI_ARM64)
		loader = n->group->loader_arm64;
	if (loader[0] == '\0')
		return -ENOENT;
	return boot_http_url(n, loader, out, size);
}

/* Does iPXE fetch this node's kernel and initrd over HTTP? ipxe_fetch =
 * http without a running HTTP server (a reload that enabled it waits for
 * a restart) falls back to TFTP, the one that works. */
static bool fetch_http(const struct boot_node *n)
{
	return n->http && n->group->ipxe_fetch != CONF_FETCH_TFTP;
}

/* Where iPXE fetches `file` from: an http:// URL as it is; else over
 * HTTP from herd, or tftp://SERVER/file. */
static int ipxe_url(const struct boot_node *n, const char *file, char *out, size_t size)
{
	char server[IPADDR_STRLEN + 2];
	int len;

	if (conf_is_url(file)) {
		len = snprintf(out, size, "%s", file);
	} else if (fetch_http(n)) {
		return boot_http_url(n, file, out, size);
	} else {
		url_host(&n->server, server);
		len = snprintf(out, size, "tftp://%s/%s", server, file);
	}
	return len >= 0 && (size_t)len < size ? 0 : -ENOSPC;
}

/* The file name part of a path or URL (iPXE names an initrd by it). */
static const char *base_name(const char *file)
{
	const char *slash = strrchr(file, '/');

	return slash ? slash + 1 : file;
}

static int render_ipxe(const struct boot_node *n, char *out, size_t size)
{
	struct boot_files bf;
	const char *kernel = bf.kernel, *initrd = bf.initrd, *cmdline = bf.cmdline;
	char kurl[CONF_PATH_MAX + 64], iurl[CONF_PATH_MAX + 64];
	int len = boot_files(n, &bf);

	if (len < 0)
		return len;
	if (ipxe_url(n, kernel, kurl, sizeof(kurl)) < 0 ||
	    ipxe_url(n, initrd, iurl, sizeof(iurl)) < 0)
		return -ENOSPC;
	len = snprintf(out, size, "#!ipxe\n# generated by herd for %s\n", n->name);
	if (initrd[0])
		len +=
		    snprintf(out + len, size - (size_t)len, "kernel %s initrd=%s %s\ninitrd %s\n",
			     kurl, base_name(initrd), cmdline, iurl);
	else
		len += snprintf(out + len, size - (size_t)len, "kernel %s %s\n", kurl, cmdline);
	len += snprintf(out + len, size - (size_t)len, "boot\n");
	return (size_t)len < size ? len : -ENOSPC;
}

static int render_pxelinux(const struct boot_node *n, char *out, size_t size)
{
	struct boot_files bf;
	const char *kernel = bf.kernel, *initrd = bf.initrd, *cmdline = bf.cmdline;
	int len = boot_files(n, &bf);

	if (len < 0)
		return len;
	len = snprintf(out, size,
		       "# generated by herd for %s\nDEFAULT herd\nPROMPT 0\nTIMEOUT 0\n"
		       "LABEL herd\n  KERNEL %s\n",
		       n->name, kernel);
	if (initrd[0])
		len += snprintf(out + len, size - (size_t)len, "  INITRD %s\n", initrd);
	len += snprintf(out + len, size - (size_t)len, "  APPEND %s\n", cmdline);
	return (size_t)len < size ? len : -ENOSPC;
}

/* One GRUB script word: single quotes stop all expansion, and a quote
 * inside is closed, escaped and reopened. */
static int grub_quote(const char *word, char *out, size_t size)
{
	size_t len = 0;

	if (size < 3)
		return -ENOSPC;
	out[len++] = '\'';
	for (const char *s = word; *s; s++) {
		const char *piece = *s == '\'' ? "'\\''" : NULL;
		size_t plen = piece ? strlen(piece) : 1;
		if (len + plen + 2 > size)
			return -ENOSPC;
		memcpy(out + len, piece ? piece : s, plen);
		len += plen;
	}
	out[len++] = '\'';
	out[len] = '\0';
	return (int)len;
}

/* A node's grub.cfg-01-<mac>: linux and initrd from herd's TFTP root (GRUB
 * network boot sets root to (tftp,<server>)), the command line as one
 * quoted word, which GRUB passes on as it is. */
static int render_grub(const struct boot_node *n, char *out, size_t size)
{
	struct boot_files bf;
	char kernel[CONF_PATH_MAX + 1], initrd[CONF_PATH_MAX + 1];
	const char *cmdline = bf.cmdline;
	char qkernel[2 * CONF_PATH_MAX], qinitrd[2 * CONF_PATH_MAX], qcmdline[8192], qname[128];
	int len = boot_files(n, &bf);

	if (len < 0)
		return len;
	snprintf(kernel, sizeof(kernel), "/%s", bf.kernel);
	snprintf(initrd, sizeof(initrd), "/%s", bf.initrd);
	if (grub_quote(kernel + (kernel[1] == '/'), qkernel, sizeof(qkernel)) < 0 ||
	    grub_quote(initrd + (initrd[1] == '/'), qinitrd, sizeof(qinitrd)) < 0 ||
	    grub_quote(cmdline, qcmdline, sizeof(qcmdline)) < 0 ||
	    grub_quote(n->name, qname, sizeof(qname)) < 0)
		return -ENOSPC;
	len = snprintf(out, size,
		       "# generated by herd for %s\necho 'herd: booting' %s\nlinux %s %s\n",
		       n->name, qname, qkernel, qcmdline);
	if (initrd[1])
		len += snprintf(out + len, size - (size_t)len, "initrd %s\n", qinitrd);
	len += snprintf(out + len, size - (size_t)len, "boot\n");
	return (size_t)len < size ? len : -ENOSPC;
}

int boot_render_grub_cfg(char **data, size_t *len)
{
	/* GRUB knows its MAC as 52:54:00:..., the node's file is named
	 * 01-52-54-00-... like pxelinux's (and GRUB 2.12's own search). */
	static const char cfg[] =
	    "# generated by herd: the same for every node; each reads its own file\n"
	    "regexp --set=1:m1 --set=2:m2 --set=3:m3 --set=4:m4 --set=5:m5 --set=6:m6 "
	    "'^(..):(..):(..):(..):(..):(..)$' \"$net_default_mac\"\n"
	    "configfile \"$prefix/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6\"\n"
	    "echo \"herd: no grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6 for this node\"\n";

	*data = strdup(cfg);
	if (*data == NULL)
		return -ENOMEM;
	*len = sizeof(cfg) - 1;
	return 0;
}

int boot_render(const struct boot_node *n, const char *name, char **data, size_t *len)
{
	size_t size = 8192;
	char *buf = malloc(size);
	int n_written;

	if (buf == NULL)
		return -ENOMEM;
	while (*name == '/')
		name++;
	if (strncmp(name, IPXE_PREFIX, strlen(IPXE_PREFIX)) == 0)
		n_written = render_ipxe(n, buf, size);
	else if (is_grub_node_cfg(name))
		n_written = render_grub(n, buf, size);
	else
		n_written = render_pxelinux(n, buf, size);
	if (n_written < 0) {
		free(buf);
		return n_written;
	}
	*data = buf;
	*len = (size_t)n_written;
	return 0;
}

int boot_render_report(const struct boot_node *n, const char *url, char **data, size_t *len)
{
	char mac[18];
	int n_written;
	char *buf = malloc(1024);

	if (buf == NULL)
		return -ENOMEM;
	/* uristring: iPXE percent-encodes each value (a product name holds
	 * spaces, '&' or '/'). */
	n_written = snprintf(buf, 1024,
			     "#!ipxe\n# generated by herd for %s: the hardware decides its group\n"
			     "chain %s?mac=%s&manufacturer=${manufacturer:uristring}"
			     "&product=${product:uristring}&serial=${serial:uristring}"
			     "&uuid=${uuid:uristring}\n",
			     n->name, url, mac_str(n->mac, ':', mac));
	if (n_written < 0 || n_written >= 1024) {
		free(buf);
		return -ENOSPC;
	}
	*data = buf;
	*len = (size_t)n_written;
	return 0;
}
