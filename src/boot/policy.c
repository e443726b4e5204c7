#include "boot/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct policy {
	unsigned refs;
	unsigned generation;
	struct herd_config *cfg;
	struct inventory *inv;
	int images_fd; /* [images] dir, when a group names an image; else -1 */
};

/* herd's loop is one thread: the counts need no atomics. */
static unsigned generations, live;

struct policy *policy_new(struct herd_config *cfg, struct inventory *inv)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		free(cfg);
		inventory_free(inv);
		return NULL;
	}
	p->refs = 1;
	p->generation = ++generations;
	p->cfg = cfg;
	p->inv = inv;
	p->images_fd = -1;
	for (unsigned i = 0; i < cfg->dhcp.ngroups; i++)
		if (cfg->dhcp.groups[i].image[0]) {
			p->images_fd = open(cfg->images.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			break;
		}
	live++;
	return p;
}

struct policy *policy_ref(struct policy *p)
{
	if (p)
		p->refs++;
	return p;
}

void policy_unref(struct policy *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	inventory_free(p->inv);
	if (p->images_fd >= 0)
		close(p->images_fd);
	free(p->cfg);
	free(p);
	live--;
}

const struct herd_config *policy_config(const struct policy *p)
{
	return p->cfg;
}

const struct inventory *policy_inventory(const struct policy *p)
{
	return p->inv;
}

unsigned policy_generation(const struct policy *p)
{
	return p->generation;
}

unsigned policy_live(void)
{
	return live;
}

void policy_pool_name(const uint8_t mac[6], char buf[POLICY_NAME_MAX])
{
	snprintf(buf, POLICY_NAME_MAX, "node-%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}

void policy_observe(const struct policy *p, const uint8_t mac[6], const struct boot_facts *f,
		    unsigned mask)
{
	if (p->cfg->dhcp.nrules > 0 && mask != 0)
		rules_seen_update(mac, f, mask);
}

int policy_node_facts(const struct policy *p, const uint8_t mac[6], const struct boot_facts *f,
		      struct boot_node *n, char namebuf[POLICY_NAME_MAX])
{
	static const struct boot_facts none;
	const struct conf_dhcp *d = &p->cfg->dhcp;
	const struct inv_node *inv = inventory_by_mac(p->inv, mac);
	struct rules_choice c = {NULL, false};

	memcpy(n->mac, mac, 6);
	n->inv = inv;
	n->rule = NULL;
	n->rule_named = n->report = false;
	n->images = &p->cfg->images;
	n->images_fd = p->images_fd;
	if (inv == NULL && d->unknown != CONF_UNKNOWN_POOL)
		return -ENOENT;
	/* An inventory node's explicit group wins; `auto` asks the rules. */
	if ((inv == NULL || inv->group_auto) && d->nrules > 0)
		rules_choose(d, f ? f : &none, &c);
	if (c.pending) {
		n->report = true; /* the default group until iPXE reports */
		c.rule = NULL;
	}
	n->rule = c.rule;
	if (inv) {
		n->name = inv->name;
		n->ip = inv->ip;
		n->group = c.rule ? conf_group_find(d, c.rule->group) : inv->group;
		return 0;
	}
	n->group = conf_group_find(d, c.rule ? c.rule->group : d->default_group);
	n->rule_named = rules_name(c.rule, mac, f ? f : &none, namebuf, POLICY_NAME_MAX) == 0;
	if (!n->rule_named)
		policy_pool_name(mac, namebuf);
	n->name = namebuf;
	return 0;
}

/* Does a group (or a node's loader...=) boot GRUB? Only then is grub.cfg
 * herd's: otherwise a grub.cfg in the root is served as it is. */
static bool policy_boots_grub(const struct policy *p)
{
	const struct conf_dhcp *d = &p->cfg->dhcp;

	for (unsigned i = 0; i < d->ngroups; i++) {
		const struct conf_group *g = &d->groups[i];
		if (boot_loader_kind(g->loader_bios) == BOOT_LOADER_GRUB ||
		    boot_loader_kind(g->loader_efi64) == BOOT_LOADER_GRUB ||
		    boot_loader_kind(g->loader_arm64) == BOOT_LOADER_GRUB)
			return true;
	}
	for (size_t i = 0; i < inventory_count(p->inv); i++) {
		const struct inv_node *node = inventory_node(p->inv, i);
		const char *per_node[] = {node->loader, node->loader_efi64, node->loader_arm64};
		for (unsigned k = 0; k < 3; k++)
			if (per_node[k] && boot_loader_kind(per_node[k]) == BOOT_LOADER_GRUB)
				return true;
	}
	return false;
}

int policy_node(const struct policy *p, const uint8_t mac[6], struct boot_node *n,
		char namebuf[POLICY_NAME_MAX])
{
	return policy_node_facts(p, mac, p->cfg->dhcp.nrules ? rules_seen(mac) : NULL, n, namebuf);
}

#define REPORT_NAME "herd/ipxe/report"

/* Where a node reports its SMBIOS: herd's HTTP address as the node sees
 * herd (the listen address, unless it is 0.0.0.0). */
static void report_url(const struct policy *p, const struct ipaddr *server, char *out,
		       size_t size)
{
	const struct conf_listen *l = &p->cfg->http.listen;
	const struct ipaddr *host = server;
	uint16_t port = 80;
	char ip[IPADDR_STRLEN];

	if (l->count > 0) {
		port = l->addrs[0].port;
		if (!ipaddr_is_any(&l->addrs[0].ip))
			host = &l->addrs[0].ip;
	}
	ipaddr_str(host, ip);
	if (port == 80)
		snprintf(out, size, "http://%s/" REPORT_NAME, ip);
	else
		snprintf(out, size, "http://%s:%u/" REPORT_NAME, ip, port);
}

/* The iPXE report: remember what it says, answer with the real script. */
static int render_report(const struct policy *p, const char *query, struct boot_node *n,
			 char **data, size_t *len)
{
	struct boot_facts f;
	const struct boot_facts *seen;
	char name[POLICY_NAME_MAX], file[64], macbuf[18];
	unsigned mask = RULES_SEEN_SMBIOS;
	uint8_t mac[6];

	if (rules_report_parse(query, mac, &f) < 0)
		return -ENOENT;
	for (unsigned k = RULE_FIRST_SMBIOS; k < RULE_NKEYS; k++)
		mask |= 1u << k;
	policy_observe(p, mac, &f, mask);
	/* What DHCP said of it too; only the report if nothing is kept. */
	seen = p->cfg->dhcp.nrules ? rules_seen(mac) : NULL;
	if (policy_node_facts(p, mac, seen ? seen : &f, n, name) < 0 || n->group == NULL)
		return -ENOENT;
	n->report = false; /* reported: never ask again */
	snprintf(file, sizeof(file), "herd/ipxe/%s.ipxe", mac_str(mac, '-', macbuf));
	return boot_render(n, file, data, len);
}

int policy_render(const struct policy *p, const char *name, const struct ipaddr *server,
		  const struct ipaddr *client, char **data, size_t *len)
{
	struct boot_node n = {.server = *server, .ip = *client};
	uint8_t mac[6];
	char pool[POLICY_NAME_MAX], url[128];

	while (*name == '/')
		name++;
	if (strncmp(name, REPORT_NAME "?", strlen(REPORT_NAME) + 1) == 0)
		return render_report(p, name + strlen(REPORT_NAME) + 1, &n, data, len);
	if (boot_is_grub_cfg(name))
		return policy_boots_grub(p) ? boot_render_grub_cfg(data, len) : -ENOENT;
	if (boot_generated_mac(name, mac) < 0 || policy_node(p, mac, &n, pool) < 0 ||
	    n.group == NULL)
		return -ENOENT;
	n.http = policy_http(p);
	if (n.report && strncmp(name, "herd/ipxe/", 10) == 0) {
		report_url(p, server, url, sizeof(url));
		return boot_render_report(&n, url, data, len);
	}
	return boot_render(&n, name, data, len);
}

const struct conf_http *policy_http(const struct policy *p)
{
	return p->cfg->http.enabled ? &p->cfg->http : NULL;
}

int policy_http_boot_file(const struct policy *p, const uint8_t mac[6], uint16_t arch,
			  const struct ipaddr *server, char *out, size_t size)
{
	struct boot_node n = {.server = *server};
	char pool[POLICY_NAME_MAX];

	out[0] = '\0';
	if (policy_node(p, mac, &n, pool) < 0 || n.group == NULL)
		return -ENOENT;
	n.http = policy_http(p);
	return boot_http_file(&n, arch, out, size);
}

int policy_boot_file(const struct policy *p, const uint8_t mac[6], uint16_t arch, bool ipxe,
		     char *out, size_t size)
{
	struct boot_node n = {0};
	char pool[POLICY_NAME_MAX];

	out[0] = '\0';
	if (policy_node(p, mac, &n, pool) < 0 || n.group == NULL)
		return -ENOENT;
	return boot_file(&n, arch, ipxe, out, size);
}
