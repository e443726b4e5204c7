#include "conf/conf_boot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void conf_boot_defaults(struct herd_config *cfg)
{
	struct conf_dhcp *d = &cfg->dhcp;

	d->enabled = false;
	netaddr_parse("0.0.0.0", 67, &d->listen.addrs[0]);
	d->listen.count = 1;
	strcpy(d->lease_file, "/var/lib/herd/leases");
	d->unknown = CONF_UNKNOWN_POOL;
	strcpy(d->default_group, "default");
	d->lease_time = 3600;
	d->offer_hold_ms = 30000;
	d->pin_neighbours = true;
}

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

#define ERR(...) (snprintf(err, errsize, __VA_ARGS__), true)

static bool parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return false;
	*ip = in.s_addr;
	return true;
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || *s == '-')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool copy(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	strcpy(dst, v);
	return true;
}

/* A number of seconds; false with err set (in the words of conf.c's key
 * table) if it is not one, or out of range. */
static bool set_secs(const char *name, const char *v, unsigned lo, unsigned hi, unsigned *out,
		     char *err, size_t errsize)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (*v == '\0' || *v == '-' || *v == '+' || *end || errno)
		return !ERR("%s: '%s' is not a number", name, v);
	if (n < lo || n > hi)
		return !ERR("%s: %llu is outside %u..%u", name, n, lo, hi);
	*out = (unsigned)n;
	return true;
}

/* The same words as every other yes/no setting (conf.c). */
static bool set_bool(const char *name, const char *v, bool *out, char *err, size_t errsize)
{
	if (conf_parse_bool(v, out) < 0)
		return !ERR("%s: '%s' is not yes or no", name, v);
	return true;
}

#define TIMER_MAX 100000000u /* as lease_time */

/* renewal_time and rebinding_time, in any section that has them. Returns
 * false if `name` is neither. */
static bool timers_set(struct conf_timers *t, const char *name, const char *v, int lineno,
		       char *err, size_t errsize)
{
	unsigned *field;

	if (strcmp(name, "renewal_time") == 0)
		field = &t->renewal;
	else if (strcmp(name, "rebinding_time") == 0)
		field = &t->rebinding;
	else
		return false;
	if (set_secs(name, v, 1, TIMER_MAX, field, err, errsize))
		t->line = lineno;
	return true;
}

static bool set_network(struct conf_subnet *sn, const char *v)
{
	char buf[32];
	const char *slash = strchr(v, '/');
	unsigned bits;

	if (slash == NULL || (size_t)(slash - v) >= sizeof(buf))
		return false;
	memcpy(buf, v, (size_t)(slash - v));
	buf[slash - v] = '\0';
	if (!parse_ip(buf, &sn->network) || !parse_uint(slash + 1, 1, 32, &bits))
		return false;
	sn->mask = htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits));
	return (sn->network & ~sn->mask) == 0;
}

static bool set_pool(struct conf_subnet *sn, const char *v)
{
	char a[32], b[32];
	uint32_t s, e;

	if (sscanf(v, "%31[0-9.] - %31[0-9.]", a, b) != 2 &&
	    sscanf(v, "%31[0-9.] %31[0-9.]", a, b) != 2)
		return false;
	if (!parse_ip(a, &s) || !parse_ip(b, &e) || ntohl(s) > ntohl(e))
		return false;
	sn->pool_start = ntohl(s);
	sn->pool_end = ntohl(e);
	return true;
}

static bool set_dns(struct conf_subnet *sn, const char *v)
{
	char buf[256], *save = NULL;

	if (!copy(buf, sizeof(buf), v))
		return false;
	sn->ndns = 0;
	for (char *t = strtok_r(buf, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
		if (sn->ndns == CONF_MAX_DNS || !parse_ip(t, &sn->dns[sn->ndns++]))
			return false;
	return true;
}

static bool subnet_set(struct conf_subnet *sn, const char *name, const char *v, int lineno,
		       char *err, size_t errsize)
{
	bool ok, b;

	if (timers_set(&sn->timers, name, v, lineno, err, errsize))
		return true;
	if (strcmp(name, "pool_hostnames") == 0) {
		if (set_bool(name, v, &b, err, errsize))
			sn->pool_hostnames = b;
		return true;
	}
	if (strcmp(name, "lease_time") == 0)
		sn->lease_line = lineno;
	if (strcmp(name, "network") == 0)
		ok = set_network(sn, v);
	else if (strcmp(name, "pool") == 0)
		ok = set_pool(sn, v);
	else if (strcmp(name, "router") == 0)
		ok = parse_ip(v, &sn->router);
	else if (strcmp(name, "dns") == 0)
		ok = set_dns(sn, v);
	else if (strcmp(name, "domain") == 0)
		ok = copy(sn->domain, sizeof(sn->domain), v);
	else if (strcmp(name, "log_server") == 0)
		ok = parse_ip(v, &sn->log_server);
	else if (strcmp(name, "next_server") == 0)
		ok = parse_ip(v, &sn->next_server);
	else if (strcmp(name, "lease_time") == 0)
		ok = parse_uint(v, 60, 100000000, &sn->lease_time);
	else
		return ERR("unknown setting '%s' in [subnet %s]", name, sn->name);
	if (!ok)
		return ERR("%s: '%s' is not valid (network = A.B.C.D/BITS, pool = FIRST - LAST, "
			   "addresses as A.B.C.D)", name, v);
	return true;
}

bool conf_is_url(const char *v)
{
	const char *colon = strstr(v, "://");

	return colon != NULL && colon > v &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+.-") ==
		   (size_t)(colon - v);
}

static bool group_set(struct conf_group *g, const char *name, const char *v, int lineno, char *err,
		      size_t errsize)
{
	static const struct {
		const char *key;
		size_t off, size;
	} keys[] = {
		{"loader_bios", offsetof(struct conf_group, loader_bios), 256},
		{"loader_efi64", offsetof(struct conf_group, loader_efi64), 256},
		{"loader_arm64", offsetof(struct conf_group, loader_arm64), 256},
		{"kernel", offsetof(struct conf_group, kernel), 256},
		{"initrd", offsetof(struct conf_group, initrd), 256},
		{"cmdline", offsetof(struct conf_group, cmdline), 2048},
	};

	if (timers_set(&g->timers, name, v, lineno, err, errsize))
		return true;
	if (strcmp(name, "boot_options") == 0) {
		if (strcmp(v, "pxe") == 0)
			g->boot_options = CONF_BOOT_PXE;
		else if (strcmp(v, "always") == 0)
			g->boot_options = CONF_BOOT_ALWAYS;
		else
			return ERR("boot_options: '%s' is not pxe or always", v);
		return true;
	}
	if ((strcmp(name, "kernel") == 0 || strcmp(name, "initrd") == 0) && conf_is_url(v))
		return ERR("%s: '%s' is a URL, but herd serves boot files by TFTP only (no HTTP "
			   "server): give a path beneath [tftp] root",
			   name, v);
	/* Lines are at most ~200 characters (libinih): a long command line
	 * is written as several `cmdline =` lines, joined with spaces. */
	if (strcmp(name, "cmdline") == 0 && g->cmdline[0]) {
		size_t len = strlen(g->cmdline);
		if (len + 1 + strlen(v) >= sizeof(g->cmdline))
			return ERR("cmdline: longer than %zu characters", sizeof(g->cmdline) - 1);
		g->cmdline[len] = ' ';
		strcpy(g->cmdline + len + 1, v);
		return true;
	}

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(name, keys[i].key) != 0)
			continue;
		if (!copy((char *)g + keys[i].off, keys[i].size, v))
			return ERR("%s: value too long", name);
		if (i < 5)
			g->key_line[i] = lineno;
		return true;
	}
	return ERR("unknown setting '%s' in [group %s]", name, g->name);
}

static bool dhcp_set(struct conf_dhcp *d, const char *name, const char *v, int lineno, char *err,
		     size_t errsize)
{
	bool ok = true;

	if (timers_set(&d->timers, name, v, lineno, err, errsize))
		return true;
	if (strcmp(name, "enabled") == 0)
		set_bool(name, v, &d->enabled, err, errsize);
	else if (strcmp(name, "pin_neighbours") == 0)
		set_bool(name, v, &d->pin_neighbours, err, errsize);
	else if (strcmp(name, "pool_hostnames") == 0)
		set_bool(name, v, &d->pool_hostnames, err, errsize);
	else if (strcmp(name, "listen") == 0) {
		ok = netaddr_parse(v, 67, &d->listen.addrs[0]) == 0;
	} else if (strcmp(name, "interfaces") == 0) {
		ok = copy(d->interfaces, sizeof(d->interfaces), v);
	} else if (strcmp(name, "inventory") == 0) {
		ok = v[0] == '/' && copy(d->inventory, sizeof(d->inventory), v);
	} else if (strcmp(name, "lease_file") == 0) {
		ok = (v[0] == '/' || v[0] == '\0') && copy(d->lease_file, sizeof(d->lease_file), v);
		d->lease_file_line = lineno;
	} else if (strcmp(name, "unknown") == 0) {
		ok = !strcmp(v, "pool") || !strcmp(v, "ignore");
		d->unknown = !strcmp(v, "pool") ? CONF_UNKNOWN_POOL : CONF_UNKNOWN_IGNORE;
	} else if (strcmp(name, "default_group") == 0) {
		ok = copy(d->default_group, sizeof(d->default_group), v);
	} else if (strcmp(name, "lease_time") == 0) {
		ok = parse_uint(v, 60, 100000000, &d->lease_time);
		d->lease_line = lineno;
	} else if (strcmp(name, "offer_hold_ms") == 0) {
		ok = parse_uint(v, 100, 600000, &d->offer_hold_ms);
	} else {
		return ERR("unknown setting '%s' in [dhcp]", name);
	}
	if (!ok)
		return ERR("%s: '%s' is not valid", name, v);
	return true;
}

/* "subnet rack1" -> "rack1". NULL if the section is not of that kind. */
static const char *named(const char *section, const char *kind)
{
	size_t n = strlen(kind);

	if (strncmp(section, kind, n) != 0 || section[n] != ' ')
		return NULL;
	section += n;
	while (*section == ' ')
		section++;
	return section;
}

static bool valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) >= CONF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

bool conf_boot_set(struct herd_config *cfg, const char *section, const char *name,
		   const char *value, int lineno, char *err, size_t errsize)
{
	struct conf_dhcp *d = &cfg->dhcp;
	const char *sub = named(section, "subnet");
	const char *grp = named(section, "group");

	err[0] = '\0';
	if (strcmp(section, "dhcp") == 0)
		return dhcp_set(d, name, value, lineno, err, errsize);
	if (sub == NULL && grp == NULL)
		return false;
	if (!valid_name(sub ? sub : grp))
		return ERR("[%s]: the name may hold letters, digits, '-', '_' and '.'", section);
	if (sub) {
		struct conf_subnet *sn = NULL;
		for (unsigned i = 0; i < d->nsubnets; i++)
			if (strcmp(d->subnets[i].name, sub) == 0)
				sn = &d->subnets[i];
		if (sn == NULL) {
			if (d->nsubnets == CONF_MAX_SUBNETS)
				return ERR("at most %d subnets", CONF_MAX_SUBNETS);
			sn = &d->subnets[d->nsubnets++];
			strcpy(sn->name, sub);
			sn->line = lineno;
			sn->pool_hostnames = -1;
		}
		return subnet_set(sn, name, value, lineno, err, errsize);
	}
	struct conf_group *g = (struct conf_group *)conf_group_find(d, grp);
	if (g == NULL) {
		if (d->ngroups == CONF_MAX_GROUPS)
			return ERR("at most %d groups", CONF_MAX_GROUPS);
		g = &d->groups[d->ngroups++];
		memset(g, 0, sizeof(*g));
		strcpy(g->name, grp);
		strcpy(g->loader_bios, "undionly.kpxe");
		strcpy(g->loader_efi64, "ipxe.efi");
		g->line = lineno;
	}
	return group_set(g, name, value, lineno, err, errsize);
}

typedef void report_fn(void *ctx, int line, const char *reason);

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
		if (sn->mask == 0) {
			snprintf(msg, sizeof(msg), "[subnet %s] has no network = A.B.C.D/BITS",
				 sn->name);
			report(ctx, sn->line, msg);
			continue;
		}
		if (sn->pool_start && ((sn->pool_start & mask) != net || (sn->pool_end & mask) != net)) {
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
	if (d->enabled && d->nsubnets == 0)
		report(ctx, 0, "[dhcp] is enabled but no [subnet NAME] is defined");
	if (d->enabled && d->unknown == CONF_UNKNOWN_POOL &&
	    conf_group_find(d, d->default_group) == NULL && d->ngroups > 0) {
		snprintf(msg, sizeof(msg), "[dhcp] default_group '%s' does not exist",
			 d->default_group);
		report(ctx, 0, msg);
	}
}

/* "key = value", or "key=value" when the value starts like a comment
 * (libinih would take " ;..." after the '=' as an inline comment). */
static void print_str(FILE *out, const char *key, const char *v)
{
	bool tight = v[0] == ';' || v[0] == '#';

	fprintf(out, "%s%s%s\n", key, tight ? "=" : " = ", v);
}

static void print_ip(FILE *out, const char *key, uint32_t ip)
{
	char a[INET_ADDRSTRLEN];

	if (ip)
		fprintf(out, "%s = %s\n", key, inet_ntop(AF_INET, &ip, a, sizeof(a)));
}

static void print_timers(FILE *out, const struct conf_timers *t)
{
	if (t->renewal)
		fprintf(out, "renewal_time = %u\n", t->renewal);
	if (t->rebinding)
		fprintf(out, "rebinding_time = %u\n", t->rebinding);
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

static void print_subnet(FILE *out, const struct conf_dhcp *d, const struct conf_subnet *sn)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	uint32_t s = htonl(sn->pool_start), e = htonl(sn->pool_end);
	int bits = __builtin_popcount(sn->mask);

	fprintf(out, "\n[subnet %s]\nnetwork = %s/%d\n", sn->name,
		inet_ntop(AF_INET, &sn->network, a, sizeof(a)), bits);
	if (sn->pool_start)
		fprintf(out, "pool = %s - %s\n", inet_ntop(AF_INET, &s, a, sizeof(a)),
			inet_ntop(AF_INET, &e, b, sizeof(b)));
	print_ip(out, "router", sn->router);
	if (sn->ndns) {
		fprintf(out, "dns =");
		for (unsigned i = 0; i < sn->ndns; i++)
			fprintf(out, " %s", inet_ntop(AF_INET, &sn->dns[i], a, sizeof(a)));
		fputc('\n', out);
	}
	if (sn->domain[0])
		print_str(out, "domain", sn->domain);
	print_ip(out, "log_server", sn->log_server);
	print_ip(out, "next_server", sn->next_server);
	if (sn->lease_time)
		fprintf(out, "lease_time = %u\n", sn->lease_time);
	print_timers(out, &sn->timers);
	if (sn->pool_hostnames >= 0)
		fprintf(out, "pool_hostnames = %s\n", sn->pool_hostnames ? "yes" : "no");
	print_effective(out, d, sn, NULL);
}

/* Prints a long command line as several lines that read back the same. */
static void print_cmdline(FILE *out, const char *s)
{
	do {
		size_t n = strlen(s);
		if (n > 150) {
			n = 150;
			while (n > 0 && s[n] != ' ')
				n--;
			if (n == 0)
				n = strlen(s);
		}
		/* No spaces around '=': a word that fit on the line it was read
		 * from fits here too. */
		fprintf(out, "cmdline=%.*s\n", (int)n, s);
		s += n;
		while (*s == ' ')
			s++;
	} while (*s);
}

void conf_boot_print(const struct herd_config *cfg, FILE *out)
{
	const struct conf_dhcp *d = &cfg->dhcp;
	char a[NETADDR_STRLEN];

	fprintf(out, "\n[dhcp]\nenabled = %s\nlisten = %s\n", d->enabled ? "yes" : "no",
		netaddr_str(&d->listen.addrs[0], a));
	if (d->interfaces[0])
		print_str(out, "interfaces", d->interfaces);
	if (d->inventory[0])
		print_str(out, "inventory", d->inventory);
	print_str(out, "lease_file", d->lease_file);
	fprintf(out, "unknown = %s\n", d->unknown == CONF_UNKNOWN_POOL ? "pool" : "ignore");
	print_str(out, "default_group", d->default_group);
	fprintf(out, "lease_time = %u\n", d->lease_time);
	print_timers(out, &d->timers);
	print_effective(out, d, NULL, NULL);
	fprintf(out, "pool_hostnames = %s\noffer_hold_ms = %u\npin_neighbours = %s\n",
		d->pool_hostnames ? "yes" : "no", d->offer_hold_ms,
		d->pin_neighbours ? "yes" : "no");
	for (unsigned i = 0; i < d->nsubnets; i++)
		print_subnet(out, d, &d->subnets[i]);
	for (unsigned i = 0; i < d->ngroups; i++) {
		const struct conf_group *g = &d->groups[i];
		fprintf(out, "\n[group %s]\n", g->name);
		print_str(out, "loader_bios", g->loader_bios);
		print_str(out, "loader_efi64", g->loader_efi64);
		if (g->loader_arm64[0])
			print_str(out, "loader_arm64", g->loader_arm64);
		print_str(out, "kernel", g->kernel);
		print_str(out, "initrd", g->initrd);
		print_cmdline(out, g->cmdline);
		fprintf(out, "boot_options = %s\n",
			g->boot_options == CONF_BOOT_ALWAYS ? "always" : "pxe");
		print_timers(out, &g->timers);
		for (unsigned j = 0; g->timers.line && j < d->nsubnets; j++)
			print_effective(out, d, &d->subnets[j], g);
	}
}
