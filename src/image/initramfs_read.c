/* Reading a node initramfs back: which kernel it was built for, and whether
 * it drives a given PCI network card (for herd check). */
#include "image/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALIAS (16u << 20)

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static struct archive *open_initramfs(const char *path, char *err, size_t errlen)
{
	struct archive *a = archive_read_new();

	if (!a) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		fail(err, errlen, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* The entry's name without a leading "./" or "/". */
static const char *entry_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);

	if (!n)
		return "";
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	while (n[0] == '/')
		n++;
	return n;
}

/* If NAME is lib/modules/<kver>/FILE, copies kver. */
static bool modules_file(const char *name, const char *file, char *kver, size_t size)
{
	const char *p, *slash;
	size_t n;

	if (strncmp(name, "lib/modules/", 12))
		return false;
	p = name + 12;
	slash = strchr(p, '/');
	if (!slash || strcmp(slash + 1, file))
		return false;
	n = (size_t)(slash - p);
	if (!n || n >= size)
		return false;
	memcpy(kver, p, n);
	kver[n] = '\0';
	return true;
}

int initramfs_kver(const char *path, char *kver, size_t size, char *err, size_t errlen)
{
	struct archive *a = open_initramfs(path, err, errlen);
	struct archive_entry *e;
	int r, rc = -1;

	if (!a)
		return -1;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (modules_file(entry_name(e), "modules.dep", kver, size)) {
			rc = 0;
			break;
		}
	if (rc < 0) {
		if (r == ARCHIVE_EOF)
			fail(err, errlen, "%s has no lib/modules/<version>/modules.dep", path);
		else
			fail(err, errlen, "%s: %s", path, archive_error_string(a));
	}
	archive_read_free(a);
	return rc;
}

/* The initramfs's modules.alias, NUL-terminated; NULL with err set. */
static char *read_alias(const char *path, char *err, size_t errlen)
{
	struct archive *a = open_initramfs(path, err, errlen);
	struct archive_entry *e;
	char kver[128], *buf = NULL;
	int r;

	if (!a)
		return NULL;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		la_int64_t size = archive_entry_size(e);
		if (!modules_file(entry_name(e), "modules.alias", kver, sizeof(kver)))
			continue;
		if (size < 0 || (uint64_t)size > MAX_ALIAS || !(buf = malloc((size_t)size + 1))) {
			fail(err, errlen, "%s: modules.alias too large", path);
			break;
		}
		if (archive_read_data(a, buf, (size_t)size) != (la_ssize_t)size) {
			fail(err, errlen, "%s: %s", path, archive_error_string(a));
			free(buf);
			buf = NULL;
			break;
		}
		buf[size] = '\0';
		break;
	}
	if (!buf && r == ARCHIVE_EOF)
		fail(err, errlen, "%s has no lib/modules/<version>/modules.alias", path);
	else if (!buf && r != ARCHIVE_OK)
		fail(err, errlen, "%s: %s", path, archive_error_string(a));
	archive_read_free(a);
	return buf;
}

/* The module whose alias pattern matches MODALIAS; a pattern that names the
 * device exactly (no wildcard before "sv") wins over a wildcard one. */
static int match_alias(const char *alias, const char *modalias, char *mod, size_t size)
{
	const char *line = alias;
	int best = 0; /* 1 wildcard match, 2 exact */

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[512], *pat, *name, *sv;
		int quality;

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
		} else {
			buf[0] = '\0';
		}
		line = end ? end + 1 : NULL;
		if (strncmp(buf, "alias ", 6))
			continue;
		pat = buf + 6;
		name = strchr(pat, ' ');
		if (!name)
			continue;
		*name++ = '\0';
		if (fnmatch(pat, modalias, 0))
			continue;
		sv = strstr(pat, "sv");
		quality = sv && !memchr(pat, '*', (size_t)(sv - pat)) ? 2 : 1;
		if (quality > best) {
			snprintf(mod, size, "%s", name);
			best = quality;
		}
	}
	return best ? 1 : 0;
}

/* The virtio device id behind a virtio PCI device id (virtio 1.1, 4.1.2):
 * 0x1040 + id for modern devices; legacy transitional ids by table. */
static unsigned virtio_id(uint16_t device)
{
	static const unsigned legacy[] = {1, 2, 5, 3, 8, 4, 0, 0, 9}; /* 0x1000 .. 0x1008 */

	if (device >= 0x1040 && device <= 0x107f)
		return device - 0x1040u;
	if (device >= 0x1000 && device < 0x1000 + sizeof(legacy) / sizeof(legacy[0]))
		return legacy[device - 0x1000];
	return 0;
}

int initramfs_pci_driver(const char *path, uint16_t vendor, uint16_t device, char *mod, size_t size,
			 char *err, size_t errlen)
{
	char modalias[128], bus[64];
	char *alias = read_alias(path, err, errlen);
	int found;

	if (!alias)
		return -1;
	/* Subsystem ids are unknown: "*" matches only patterns that leave them
	 * open; the class is a network controller's (02/00). */
	snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08Xsv*sd*bc02sc00i00", vendor, device);
	found = match_alias(alias, modalias, bus, sizeof(bus));
	if (found && vendor == 0x1af4 && !strcmp(bus, "virtio_pci")) {
		/* virtio_pci only finds the device; the driver is on the virtio bus */
		unsigned id = virtio_id(device);
		snprintf(modalias, sizeof(modalias), "virtio:d%08Xv%08X", id, vendor);
		found = id ? match_alias(alias, modalias, bus, sizeof(bus)) : 0;
	}
	if (found)
		snprintf(mod, size, "%s", bus);
	free(alias);
	return found;
}
