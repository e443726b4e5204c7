#include "conf/conf_boot.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"

const struct conf_group *conf_group_find(const struct conf_dhcp *d, const char *name)
{
	for (unsigned i = 0; i < d->ngroups; i++)
		if (strcmp(d->groups[i].name, name) == 0)
			return &d->groups[i];
	return NULL;
}

const struct conf_subnet *conf_subnet_of(const struct conf_dhcp *d, uint32_t ip)
{
	for (unsigned i = 0; i < d->nsubnets; i++)
		if ((ip & d->subnets[i].mask) == d->subnets[i].network)
			return &d->subnets[i];
	return NULL;
}

typedef void report_fn(void *ctx, int line, const char *reason);

bool conf_group_http(const struct herd_config *cfg, const struct conf_group *g)
{
	return g->ipxe_fetch == CONF_FETCH_HTTP ||
	       (g->ipxe_fetch == CONF_FETCH_AUTO && cfg->http.enabled);
}

/* How a group's iPXE fetches, and http:// kernels and initrds against it:
 * a URL is passed on as it is, so it needs a group fetching over HTTP
 * (with TFTP it would become tftp://SERVER/http://...), and no pxelinux
 * among the group's loaders (pxelinux.0 speaks TFTP only). */
static void fetch_validate(const struct herd_config *cfg, const struct conf_group *g,
			   report_fn *report, void *ctx)
{
	const char *val[] = {g->kernel, g->initrd};
	const char *loaders[] = {g->loader_bios, g->loader_efi64, g->loader_arm64};
	const char *pxelinux = NULL;
	char msg[640];

	if (g->ipxe_fetch == CONF_FETCH_HTTP && !cfg->http.enabled) {
		snprintf(msg, sizeof(msg),
			 "[group %s] ipxe_fetch = http, but [http] is not enabled: enable it, or "
			 "fetch by tftp (or auto)",
			 g->name);
		report(ctx, g->key_line[5] ? g->key_line[5] : g->line, msg);
	}
	for (unsigned i = 0; i < 3; i++)
		if (strcasestr(loaders[i], "pxelinux"))
			pxelinux = loaders[i];
	for (unsigned k = 0; k < 2; k++) {
		if (!conf_is_url(val[k]))
			continue;
		int line = g->key_line[3 + k] ? g->key_line[3 + k] : g->line;
		if (!conf_group_http(cfg, g))
			snprintf(msg, sizeof(msg),
				 "[group %s] %s '%s' is a URL, but this group's iPXE fetches by "
				 "TFTP (ipxe_fetch = %s%s): set ipxe_fetch = http, or give a path "
				 "beneath [tftp] root",
				 g->name, k ? "initrd" : "kernel", val[k],
				 g->ipxe_fetch == CONF_FETCH_TFTP ? "tftp" : "auto",
				 g->ipxe_fetch == CONF_FETCH_TFTP ? "" : " and [http] is off");
		else if (pxelinux)
			snprintf(msg, sizeof(msg),
				 "[group %s] %s '%s' is a URL, but the group's loader %s is "
				 "pxelinux, which fetches by TFTP only: give a path beneath [tftp] "
				 "root",
				 g->name, k ? "initrd" : "kernel", val[k], pxelinux);
		else
			continue;
		report(ctx, line, msg);
	}
}

/* A group that names an image takes kernel and initrd from it: a loose
 * kernel or initrd beside it would say two things. */
static void image_validate(const struct conf_group *g, report_fn *report, void *ctx)
{
	char msg[320];

	if (!g->image[0])
		return;
	if (!image_name_ok(g->image)) {
		snprintf(msg, sizeof(msg),
			 "[group %s] image '%s' is not an image name ([a-z0-9][a-z0-9._-]*, as "
			 "`herd image list` shows them)",
			 g->name, g->image);
		report(ctx, g->image_line, msg);
	}
	for (unsigned k = 0; k < 2; k++)
		if ((k ? g->initrd : g->kernel)[0]) {
			snprintf(msg, sizeof(msg),
				 "[group %s] sets both image and %s: an image brings its own "
				 "kernel and initramfs; remove %s",
				 g->name, k ? "initrd" : "kernel", k ? "initrd" : "kernel");
			int line = g->key_line[3 + k];
			report(ctx, line > g->image_line ? line : g->image_line, msg);
		}
}

/* The pair from the one section that sets it (t), for a lease of `lease`
 * seconds; what it leaves out keeps the default proportions. */
static void timers_derive(const struct conf_timers *t, unsigned lease, unsigned *t1, unsigned *t2)
{
	uint64_t r = t ? t->renewal : 0, b = t ? t->rebinding : 0;

	if (r == 0 && b == 0) {
		r = lease / 2;
		b = lease / 8 * 7;
	} else if (b == 0) {
		b = r < lease ? r + ((uint64_t)lease - r) * 3 / 4 : r;
	} else if (r == 0) {
		r = b * 4 / 7;
	}
	*t1 = (unsigned)r;
	*t2 = (unsigned)b;
}

void conf_dhcp_timers(const struct conf_dhcp *d, const struct conf_subnet *sn,
		      const struct conf_group *g, unsigned lease, unsigned *t1, unsigned *t2)
{
	const struct conf_timers *t = NULL;

	if (g && g->timers.line)
		t = &g->timers;
	else if (sn && sn->timers.line)
		t = &sn->timers;
	else if (d->timers.line)
		t = &d->timers;
	timers_derive(t, lease, t1, t2);
}

/* RFC 2131 4.4.5: T1 < T2 < lease. Checks the times `t` (set in section
 * `what`) for a lease of `lease` s (from `lease_from`, set on `lease_line`);
 * reports at the later of the lines involved. Returns false after a report. */
static bool timers_check(const struct conf_timers *t, const char *what, unsigned lease,
			 const char *lease_from, int lease_line, report_fn *report, void *ctx)
{
	unsigned t1, t2;
	char msg[320];
	const char *d1 = t->renewal ? "" : " (derived)", *d2 = t->rebinding ? "" : " (derived)";

	timers_derive(t, lease, &t1, &t2);
	if (t1 == 0)
		snprintf(msg, sizeof(msg),
			 "%s renewal_time works out at 0 s (4/7 of rebinding_time %u)", what, t2);
	else if (t1 >= lease)
		snprintf(msg, sizeof(msg),
			 "%s renewal_time%s (%u s) must be below the lease time (%u s, %s)", what,
			 d1, t1, lease, lease_from);
	else if (t1 >= t2)
		snprintf(msg, sizeof(msg),
			 "%s renewal_time%s (%u s) must be below rebinding_time%s (%u s)", what, d1,
			 t1, d2, t2);
	else if (t2 >= lease)
		snprintf(msg, sizeof(msg),
			 "%s rebinding_time%s (%u s) must be below the lease time (%u s, %s)", what,
			 d2, t2, lease, lease_from);
	else
		return true;
	report(ctx, t->line > lease_line ? t->line : lease_line, msg);
	return false;
}

/* The lease a client of subnet sn gets, where it is set and how to name it. */
static unsigned lease_of(const struct conf_dhcp *d, const struct conf_subnet *sn, int *line,
			 char *from, size_t size)
{
	if (sn && sn->lease_time) {
		snprintf(from, size, "lease_time of [subnet %s]", sn->name);
		*line = sn->lease_line;
		return sn->lease_time;
	}
	snprintf(from, size, "[dhcp] lease_time");
	*line = d->lease_line;
	return d->lease_time;
}

/* Every lease the times of a section may be used with: a subnet's own;
 * for [dhcp], that of every subnet without times of its own; for a group,
 * that of every subnet (its nodes may be on any). One report per section. */
static void timers_validate(const struct conf_dhcp *d, report_fn *report, void *ctx)
{
	char what[CONF_NAME_MAX + 16], from[CONF_NAME_MAX + 32];
	bool dhcp_ok = true;
	unsigned lease;
	int line;

	for (unsigned i = 0; i < d->nsubnets; i++) {
		const struct conf_subnet *sn = &d->subnets[i];
		lease = lease_of(d, sn, &line, from, sizeof(from));
		snprintf(what, sizeof(what), "[subnet %s]", sn->name);
		if (sn->timers.line)
			timers_check(&sn->timers, what, lease, from, line, report, ctx);
		else if (d->timers.line && dhcp_ok)
			dhcp_ok =
			    timers_check(&d->timers, "[dhcp]", lease, from, line, report, ctx);
	}
	if (d->timers.line && d->nsubnets == 0) {
		lease = lease_of(d, NULL, &line, from, sizeof(from));
		timers_check(&d->timers, "[dhcp]", lease, from, line, report, ctx);
	}
	for (unsigned j = 0; j < d->ngroups; j++) {
		const struct conf_group *g = &d->groups[j];
		if (g->timers.line == 0)
			continue;
		snprintf(what, sizeof(what), "[group %s]", g->name);
		for (unsigned i = 0; i == 0 || i < d->nsubnets; i++) {
			lease = lease_of(d, d->nsubnets ? &d->subnets[i] : NULL, &line, from,
					 sizeof(from));
			if (!timers_check(&g->timers, what, lease, from, line, report, ctx))
				break;
		}
	}
}

void conf_boot_validate(const struct herd_config *cfg,
			void (*report)(void *ctx, int line, const char *reason), void *ctx)
{
	const struct conf_dhcp *d = &cfg->dhcp;
	char msg[256];

	for (unsigned i = 0; i < d->nsubnets; i++) {
		const struct conf_subnet *sn = &d->subnets[i];
		uint32_t net = ntohl(sn->network), mask = ntohl(sn->mask);
		if (sn->mask == 0)
			continue; /* no network: reported as a key that is required */
		if (sn->pool_start &&
		    ((sn->pool_start & mask) != net || (sn->pool_end & mask) != net)) {
			snprintf(msg, sizeof(msg), "[subnet %s] pool is outside its network",
				 sn->name);
			report(ctx, sn->line, msg);
		}
		for (unsigned j = 0; j < i; j++) {
			const struct conf_subnet *o = &d->subnets[j];
			uint32_t m = sn->mask & o->mask;
			if ((sn->network & m) == (o->network & m)) {
				snprintf(msg, sizeof(msg), "[subnet %s] overlaps [subnet %s]",
					 sn->name, o->name);
				report(ctx, sn->line, msg);
			}
		}
	}
	timers_validate(d, report, ctx);
	for (unsigned i = 0; i < d->ngroups; i++) {
		fetch_validate(cfg, &d->groups[i], report, ctx);
		image_validate(&d->groups[i], report, ctx);
	}
	/* A proxy hands out no address: it needs no network of its own. */
	if (d->enabled && d->mode == CONF_DHCP_SERVER && d->nsubnets == 0)
		report(ctx, 0, "[dhcp] is enabled but no [subnet NAME] is defined");
	if (d->enabled && d->unknown == CONF_UNKNOWN_POOL &&
	    conf_group_find(d, d->default_group) == NULL && d->ngroups > 0) {
		snprintf(msg, sizeof(msg), "[dhcp] default_group '%s' does not exist",
			 d->default_group);
		report(ctx, 0, msg);
	}
}

/* What a client is told, as a comment: the times are derived per lease. */
static void print_effective(FILE *out, const struct conf_dhcp *d, const struct conf_subnet *sn,
			    const struct conf_group *g)
{
	char from[CONF_NAME_MAX + 32];
	int line;
	unsigned lease = lease_of(d, sn, &line, from, sizeof(from)), t1, t2;

	conf_dhcp_timers(d, sn, g, lease, &t1, &t2);
	fprintf(out, "# effective%s%s%s: lease %u s, renewal (T1) %u s, rebinding (T2) %u s\n",
		g && sn ? " in [subnet " : "", g && sn ? sn->name : "", g && sn ? "]" : "", lease,
		t1, t2);
}

void conf_boot_print_effective(FILE *out, const struct conf_dhcp *d, const struct conf_subnet *sn,
			       const struct conf_group *g)
{
	if (g == NULL) {
		print_effective(out, d, sn, NULL);
		return;
	}
	for (unsigned j = 0; g->timers.line && j < d->nsubnets; j++)
		print_effective(out, d, &d->subnets[j], g);
}
