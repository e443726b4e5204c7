/* The node inventory: one node per line, in a table an administrator can
 * read, diff and generate for thousands of nodes:
 *
 *   # name     mac                ip           group     [key=value ...]
 *   node0001   52:54:00:12:34:01  10.0.0.101   compute
 *   node0002   52:54:00:12:34:02  10.0.0.102   compute   cmdline="quiet nfsroot=..."
 *
 * Per-node keys override the group: loader (its loader_bios), loader_efi64,
 * loader_arm64, kernel, initrd, cmdline. The group `auto` lets the [rule]s
 * choose (else [dhcp] default_group).
 * Lookups by MAC, address and name are hash lookups; each is unique. */
#ifndef HERD_INVENTORY_H
#define HERD_INVENTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "core/net.h"

struct inv_node {
	char name[CONF_NAME_MAX];
	uint8_t mac[6];
	struct ipaddr ip; /* IPv4 today: herd serves DHCPv4 */
	const struct conf_group *group; /* group auto: [dhcp] default_group's, or NULL */
	bool group_auto;		/* group auto: the [rule]s choose */
	/* NULL: the group's; loader is the BIOS one (loader_bios) */
	char *loader, *loader_efi64, *loader_arm64, *kernel, *initrd, *cmdline;
	int line;
};

struct inventory;

/* Reads `path`, checking each line against the subnets and groups of cfg.
 * Problems go to errs as "path:line: reason"; returns their count (0 =
 * usable), or -errno if the file cannot be read. *out is set either way
 * (free it with inventory_free). */
int inventory_load(struct inventory **out, const char *path, const struct conf_dhcp *cfg,
		   FILE *errs);
/* Same from the bytes of a table read whole (what inventory_load parses,
 * and what the fuzzer feeds): a NUL byte is a problem of its line. */
int inventory_load_mem(struct inventory **out, const char *name, const void *data, size_t size,
		       const struct conf_dhcp *cfg, FILE *errs);
/* Same from a string, for tests. */
int inventory_load_string(struct inventory **out, const char *name, const char *text,
			  const struct conf_dhcp *cfg, FILE *errs);
void inventory_free(struct inventory *inv);

size_t inventory_count(const struct inventory *inv);
const struct inv_node *inventory_node(const struct inventory *inv, size_t i);
const struct inv_node *inventory_by_mac(const struct inventory *inv, const uint8_t mac[6]);
const struct inv_node *inventory_by_ip(const struct inventory *inv, const struct ipaddr *ip);
const struct inv_node *inventory_by_name(const struct inventory *inv, const char *name);

/* Parses "aa:bb:cc:dd:ee:ff" (or with '-'). Returns 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t mac[6]);
/* "aa:bb:cc:dd:ee:ff" with the given separator; buf of 18 bytes. */
const char *mac_str(const uint8_t mac[6], char sep, char buf[18]);

#endif
