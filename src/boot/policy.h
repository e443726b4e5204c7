/* What herd serves, as one immutable snapshot: the configuration and the
 * inventory read and checked together. `herd serve` holds the current one;
 * SIGHUP builds a new one and swaps it in between two events of the loop.
 * A module that keeps a pointer into a snapshot (a group, a node, a
 * subnet) holds a reference, so a snapshot outlives every user of it and
 * nothing long-lived ever points into a freed one.
 *
 * Resolving who a client is (its node, name and group) and which boot
 * file it gets lives here, for DHCP and the generated files TFTP and HTTP serve. */
#ifndef HERD_BOOT_POLICY_H
#define HERD_BOOT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "boot/rules.h"
#include "conf/conf.h"
#include "inventory/inventory.h"

struct policy;

/* Takes ownership of cfg (malloc'd) and inv (may be NULL). The new
 * snapshot has one reference and the next generation number. NULL (and
 * cfg, inv freed) on allocation failure. */
struct policy *policy_new(struct herd_config *cfg, struct inventory *inv);
struct policy *policy_ref(struct policy *p);
/* Drops a reference; the last one frees the snapshot. NULL is a no-op. */
void policy_unref(struct policy *p);

const struct herd_config *policy_config(const struct policy *p);
const struct inventory *policy_inventory(const struct policy *p);
/* 1 for the snapshot herd started with, +1 for each one swapped in. */
unsigned policy_generation(const struct policy *p);
/* Live snapshots (those not yet freed), for tests and leak checks. */
unsigned policy_live(void);

#define POLICY_NAME_MAX CONF_NAME_MAX

/* Who the client with this MAC is: its inventory node (name, address,
 * group, overrides), else, when unknown clients get pool addresses, a
 * pool client of [dhcp] default_group. With [rule]s, a client not in the
 * inventory (or one whose inventory group is `auto`) takes the group of
 * the first rule its remembered facts meet, and a client not in the
 * inventory the rule's name, else "node-<mac>". n->name points into the
 * snapshot or into namebuf. n->ip and n->server are left as they were for
 * pool clients (the caller knows the lease). Returns 0, or -ENOENT: herd
 * has nothing for this MAC. */
int policy_node(const struct policy *p, const uint8_t mac[6], struct boot_node *n,
		char namebuf[POLICY_NAME_MAX]);
/* Same, judged on the facts f (NULL: none) instead of those remembered
 * (herd check --explain). */
int policy_node_facts(const struct policy *p, const uint8_t mac[6], const struct boot_facts *f,
		      struct boot_node *n, char namebuf[POLICY_NAME_MAX]);
/* Remembers what a client says of itself (the keys in `mask`, see
 * rules_seen_update); nothing without [rule]s. */
void policy_observe(const struct policy *p, const uint8_t mac[6], const struct boot_facts *f,
		    unsigned mask);

/* The boot file this MAC's client gets: its node's (else, for a pool
 * client, the default group's) loader for the client architecture arch
 * (option 93), or, when iPXE asks, its generated script. 0, or -ENOENT:
 * nothing for this MAC, or no loader for that architecture. */
int policy_boot_file(const struct policy *p, const uint8_t mac[6], uint16_t arch, bool ipxe,
		     char *out, size_t size);

/* A UEFI HTTP boot client's boot file URI (boot_http_file), herd's HTTP
 * server seen through `server`. 0, or -ENOENT (nothing for this MAC, no
 * loader for that architecture), -EOPNOTSUPP ([http] is off), -ENOSPC. */
int policy_http_boot_file(const struct policy *p, const uint8_t mac[6], uint16_t arch,
			  const struct ipaddr *server, char *out, size_t size);

/* herd's HTTP server settings while it serves HTTP; else NULL. */
const struct conf_http *policy_http(const struct policy *p);

/* Renders generated file `name` (herd/ipxe/<mac>.ipxe,
 * pxelinux.cfg/01-<mac>) for the node its MAC names, as seen through
 * `server` by `client`. A node whose rule waits for SMBIOS gets, as its
 * iPXE script, one that reports to herd/ipxe/report?mac=...&product=...;
 * that name (with its query) records the report and renders the node's
 * real script. 0, or -ENOENT (not a generated name, or nothing
 * for that MAC), -ENOMEM. */
int policy_render(const struct policy *p, const char *name, const struct ipaddr *server,
		  const struct ipaddr *client, char **data, size_t *len);

/* The name herd gives a pool client: "node-<mac>". */
void policy_pool_name(const uint8_t mac[6], char buf[POLICY_NAME_MAX]);

#endif
