#include "cmd/explain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_rules.h"

static const struct {
	const char *word;
	enum conf_rule_key key;
} fact_words[] = {
    {"arch", RULE_ARCH},
    {"vendor", RULE_VENDOR_CLASS},
    {"vendor_class", RULE_VENDOR_CLASS},
    {"user_class", RULE_USER_CLASS},
    {"circuit_id", RULE_CIRCUIT_ID},
    {"remote_id", RULE_REMOTE_ID},
    {"nic", RULE_NIC},
    {"manufacturer", RULE_MANUFACTURER},
    {"product", RULE_PRODUCT},
    {"serial", RULE_SERIAL},
    {"uuid", RULE_UUID},
};
#define N_WORDS (sizeof(fact_words) / sizeof(fact_words[0]))

static int fact(const char *arg, struct boot_facts *f, FILE *errs)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : 0;
	char *end;

	for (unsigned i = 0; eq && i < N_WORDS; i++) {
		if (klen != strlen(fact_words[i].word) || strncmp(arg, fact_words[i].word, klen))
			continue;
		enum conf_rule_key k = fact_words[i].key;
		if (k == RULE_ARCH &&
		    (eq[1] == '\0' || strtoul(eq + 1, &end, 10) > 0xffff || *end)) {
			fprintf(errs, "herd check: --explain: arch=%s is not a number 0 to 65535\n",
				eq + 1);
			return -EINVAL;
		}
		boot_fact_set(f, k, eq + 1, strlen(eq + 1));
		if (k >= RULE_FIRST_SMBIOS)
			f->smbios = true;
		return 0;
	}
	fprintf(errs,
		"herd check: --explain: '%s' is not KEY=VALUE with a KEY of arch, vendor, "
		"user_class, circuit_id, remote_id, nic, manufacturer, product, serial, uuid\n",
		arg);
	return -EINVAL;
}

int explain_parse(int argc, char **argv, uint8_t mac[6], struct boot_facts *f, FILE *errs)
{
	memset(f, 0, sizeof(*f));
	if (argc < 1 || mac_parse(argv[0], mac) < 0) {
		fprintf(errs, "herd check: --explain: '%s' is not a MAC address\n",
			argc < 1 ? "" : argv[0]);
		return -EINVAL;
	}
	for (int i = 1; i < argc; i++)
		if (fact(argv[i], f, errs) < 0)
			return -EINVAL;
	return 0;
}

static void print_facts(const struct boot_facts *f, FILE *out)
{
	bool any = false;

	fprintf(out, "  says:      ");
	for (unsigned k = 0; k < RULE_NKEYS; k++) {
		if (f->v[k][0] == '\0')
			continue;
		fprintf(out, "%s%s='%s'", any ? " " : "", conf_rule_key_name(k), f->v[k]);
		any = true;
	}
	fprintf(out, "%s%s\n", any ? "" : "nothing", f->smbios ? "" : " (no SMBIOS report yet)");
}

/* Why the group is what it is. */
static void print_why(const struct policy *p, const struct boot_node *n, const struct boot_facts *f,
		      FILE *out)
{
	const struct herd_config *cfg = policy_config(p);
	const struct conf_dhcp *d = &cfg->dhcp;
	struct rules_choice c;

	if (n->inv)
		fprintf(out, "  who:       %s, %s:%d\n", n->inv->name, d->inventory, n->inv->line);
	else
		fprintf(out, "  who:       not in the inventory: an address from the pool\n");
	if (n->inv && !n->inv->group_auto) {
		fprintf(out,
			"  why:       the inventory line names the group (rules are not asked: "
			"write group auto for that)\n");
		return;
	}
	rules_choose(d, f, &c);
	if (c.pending) {
		fprintf(out,
			"  why:       [rule %s] (%s:%d) looks at SMBIOS, which iPXE has not "
			"reported: until it does, [dhcp] default_group, and iPXE gets a script "
			"that reports to herd/ipxe/report (give product=... to see after)\n",
			c.rule->name, cfg->path, c.rule->line);
		return;
	}
	if (c.rule == NULL) {
		fprintf(out, "  why:       no rule matches%s: [dhcp] default_group\n",
			d->nrules ? "" : " (there are none)");
		return;
	}
	fprintf(out, "  why:       [rule %s] (%s:%d), the first that matches:", c.rule->name,
		cfg->path, c.rule->line);
	bool any = false;
	for (unsigned k = 0; k < RULE_NKEYS; k++) {
		if (c.rule->match[k][0] == '\0')
			continue;
		fprintf(out, " %s '%s' ~ '%s'", conf_rule_key_name(k), c.rule->match[k], f->v[k]);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : " no pattern, so every client");
}

static void print_expanded(const struct boot_node *n, const char *what, const char *tmpl, FILE *out)
{
	char buf[2048];

	if (boot_expand(n, tmpl, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "%s", tmpl);
	fprintf(out, "  %-10s %s\n", what, buf[0] ? buf : "(none)");
}

void explain_print(const struct policy *p, const uint8_t mac[6], const struct boot_facts *f,
		   FILE *out)
{
	struct boot_node n = {0};
	char name[POLICY_NAME_MAX], macs[18], file[256];
	uint16_t arch = f->v[RULE_ARCH][0] ? (uint16_t)atoi(f->v[RULE_ARCH]) : BOOT_ARCH_BIOS;
	bool ipxe = strstr(f->v[RULE_USER_CLASS], "iPXE") != NULL;

	fprintf(out, "\n# explain %s\n", mac_str(mac, ':', macs));
	if (policy_node_facts(p, mac, f, &n, name) < 0 || n.group == NULL) {
		fprintf(out, "  nothing:   not in the inventory, and [dhcp] unknown = ignore\n");
		return;
	}
	print_facts(f, out);
	print_why(p, &n, f, out);
	fprintf(out, "  group:     %s\n", n.group->name);
	fprintf(out, "  name:      %s%s\n", n.name,
		n.inv	       ? " (the inventory's)"
		: n.rule_named ? " (the rule's name)"
			       : " (herd's name for a pool client)");
	if (n.rule_named)
		fprintf(out,
			"             from name = %s; also option 12 and its log file %s.log\n",
			n.rule->node_name, n.name);
	if (boot_file(&n, arch, ipxe, file, sizeof(file)) == 0)
		fprintf(out, "  boot file: %s (arch %u%s)\n", file, arch, ipxe ? ", iPXE" : "");
	else
		fprintf(out, "  boot file: none for arch %u\n", arch);
	if (n.report) {
		fprintf(out, "  script:    herd/ipxe/<mac>.ipxe reports SMBIOS first\n");
		return;
	}
	print_expanded(&n, "kernel:", n.inv && n.inv->kernel ? n.inv->kernel : n.group->kernel,
		       out);
	print_expanded(&n, "initrd:", n.inv && n.inv->initrd ? n.inv->initrd : n.group->initrd,
		       out);
	print_expanded(&n, "cmdline:", n.inv && n.inv->cmdline ? n.inv->cmdline : n.group->cmdline,
		       out);
}
