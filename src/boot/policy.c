#include "boot/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct policy {
	unsigned refs;
	unsigned generation;
	struct herd_config *cfg;
	struct inventory *inv;
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

void policy_pool_name(const uint8_t mac[6], char buf[32])
{
	snprintf(buf, 32, "node-%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

int policy_node(const struct policy *p, const uint8_t mac[6], struct boot_node *n, char namebuf[32])
{
	const struct conf_dhcp *d = &p->cfg->dhcp;
	const struct inv_node *inv = inventory_by_mac(p->inv, mac);

	memcpy(n->mac, mac, 6);
	n->inv = inv;
	if (inv) {
		n->name = inv->name;
		n->ip = inv->ip;
		n->group = inv->group;
		return 0;
	}
	if (d->unknown != CONF_UNKNOWN_POOL)
		return -ENOENT;
	policy_pool_name(mac, namebuf);
	n->name = namebuf;
	n->group = conf_group_find(d, d->default_group);
	return 0;
}

int policy_render(const struct policy *p, const char *name, const struct ipaddr *server,
		  const struct ipaddr *client, char **data, size_t *len)
{
	struct boot_node n = {.server = *server, .ip = *client};
	uint8_t mac[6];
	char pool[32];

	if (boot_generated_mac(name, mac) < 0 || policy_node(p, mac, &n, pool) < 0 ||
	    n.group == NULL)
		return -ENOENT;
	n.http = policy_http(p);
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
	char pool[32];

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
	char pool[32];

	out[0] = '\0';
	if (policy_node(p, mac, &n, pool) < 0 || n.group == NULL)
		return -ENOENT;
	return boot_file(&n, arch, ipxe, out, size);
}
