#include "conf/conf_rules.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_names[RULE_NKEYS] = {
    "arch",	    "vendor_class", "user_class", "circuit_id", "remote_id", "nic",
    "manufacturer", "product",	    "serial",	  "uuid",
};

/* The words %{...} a rule's name may hold. */
static const char *const name_words[] = {"mac",     "circuit_id",   "remote_id", "serial", "uuid",
					 "product", "manufacturer", "nic",	     NULL};

const char *conf_rule_key_name(enum conf_rule_key k)
{
	return (unsigned)k < RULE_NKEYS ? key_names[k] : "?";
}

bool conf_pattern_match(const char *pattern, const char *value)
{
	return fnmatch(pattern, value, 0) == 0;
}

/* Parses an arch list into at most 32 numbers; -1 if it is not one. */
static int arch_list(const char *list, uint16_t out[32])
{
	int n = 0;

	for (const char *s = list; *s;) {
		char *end;
		if (*s == ' ' || *s == ',' || *s == '\t') {
			s++;
			continue;
		}
		if (*s < '0' || *s > '9' || n == 32)
			return -1;
		unsigned long v = strtoul(s, &end, 10);
		if (v > 0xffff || (*end && *end != ' ' && *end != ',' && *end != '\t'))
			return -1;
		out[n++] = (uint16_t)v;
		s = end;
	}
	return n;
}

bool conf_arch_match(const char *list, uint16_t arch)
{
	uint16_t v[32];
	int n = arch_list(list, v);

	for (int i = 0; i < n; i++)
		if (v[i] == arch)
			return true;
	return false;
}

static bool has_glob(const char *p)
{
	return strpbrk(p, "*?[\\") != NULL;
}

/* Does pattern a match every value pattern b matches? */
static bool pattern_covers(const char *a, const char *b)
{
	if (a[0] == '\0' || strcmp(a, "*") == 0 || strcmp(a, b) == 0)
		return true;
	return b[0] != '\0' && !has_glob(b) && conf_pattern_match(a, b);
}

static bool arch_covers(const char *a, const char *b)
{
	uint16_t vb[32];
	int n;

	if (a[0] == '\0')
		return true;
	n = arch_list(b, vb);
	if (b[0] == '\0' || n <= 0)
		return false;
	for (int i = 0; i < n; i++)
		if (!conf_arch_match(a, vb[i]))
			return false;
	return true;
}

bool conf_rule_covers(const struct conf_rule *a, const struct conf_rule *b)
{
	if (!arch_covers(a->match[RULE_ARCH], b->match[RULE_ARCH]))
		return false;
	for (unsigned k = RULE_ARCH + 1; k < RULE_NKEYS; k++)
		if (!pattern_covers(a->match[k], b->match[k]))
			return false;
	return true;
}

bool conf_rule_needs_smbios(const struct conf_rule *r)
{
	for (unsigned k = RULE_FIRST_SMBIOS; k < RULE_NKEYS; k++)
		if (r->match[k][0])
			return true;
	return false;
}

/* Why a glob is wrong, or NULL: printable ASCII, every '[' closed, no
 * '\' at the end (fnmatch would take either silently as a literal). */
static const char *pattern_doubt(const char *p)
{
	for (const char *s = p; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return "holds a byte that is not printable ASCII";
		if (*s == '\\') {
			if (*++s == '\0')
				return "ends with a lone '\\'";
		} else if (*s == '[') {
			const char *end = s + 1;
			if (*end == '!' || *end == '^')
				end++;
			if (*end == ']')
				end++;
			end = strchr(end, ']');
			if (end == NULL)
				return "has a '[' without its ']'";
			s = end;
		}
	}
	return NULL;
}

/* Why a name template is wrong, or NULL. */
static const char *name_doubt(const char *t, char *buf, size_t size)
{
	for (const char *s = t; *s; s++) {
		if (s[0] == '%' && s[1] == '{') {
			const char *end = strchr(s, '}');
			unsigned i;
			if (end == NULL)
				return "has a '%{' without its '}'";
			for (i = 0; name_words[i]; i++)
				if ((size_t)(end - s - 2) == strlen(name_words[i]) &&
				    strncmp(s + 2, name_words[i], strlen(name_words[i])) == 0)
					break;
			if (name_words[i] == NULL) {
				snprintf(buf, size,
					 "has %.*s: a name may hold %%{mac}, %%{circuit_id}, "
					 "%%{remote_id}, %%{serial}, %%{uuid}, %%{product}, "
					 "%%{manufacturer}",
					 (int)(end - s + 1), s);
				return buf;
			}
			s = end;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return "may hold letters, digits, '-', '_', '.' and %{...} words";
	}
	return NULL;
}

void conf_rules_validate(const struct herd_config *cfg,
			 void (*report)(void *ctx, int line, const char *reason), void *ctx)
{
	const struct conf_dhcp *d = &cfg->dhcp;
	char msg[512], buf[256];
	const char *why;

	if (conf_group_find(d, "auto"))
		report(ctx, conf_group_find(d, "auto")->line,
		       "[group auto]: 'auto' is the inventory's word for a node whose group the "
		       "rules choose; name the group otherwise");
	for (unsigned i = 0; i < d->nrules; i++) {
		const struct conf_rule *r = &d->rules[i];
		if (r->group[0] && conf_group_find(d, r->group) == NULL) {
			snprintf(msg, sizeof(msg), "[rule %s] group '%s' does not exist", r->name,
				 r->group);
			report(ctx, r->group_line, msg);
		}
		if (r->match[RULE_ARCH][0] &&
		    arch_list(r->match[RULE_ARCH], (uint16_t[32]){0}) <= 0) {
			snprintf(msg, sizeof(msg),
				 "[rule %s] arch: '%s' is not a list of client architectures "
				 "(numbers 0 to 65535, option 93)",
				 r->name, r->match[RULE_ARCH]);
			report(ctx, r->match_line[RULE_ARCH], msg);
		}
		for (unsigned k = RULE_ARCH + 1; k < RULE_NKEYS; k++) {
			if ((why = pattern_doubt(r->match[k])) == NULL)
				continue;
			snprintf(msg, sizeof(msg), "[rule %s] %s: the pattern '%s' %s", r->name,
				 key_names[k], r->match[k], why);
			report(ctx, r->match_line[k], msg);
		}
		if ((why = name_doubt(r->node_name, buf, sizeof(buf))) != NULL) {
			snprintf(msg, sizeof(msg), "[rule %s] name: '%s' %s", r->name, r->node_name,
				 why);
			report(ctx, r->name_line, msg);
		}
		for (unsigned k = RULE_FIRST_SMBIOS; k < RULE_NKEYS; k++) {
			if (r->match[k][0] == '\0' || cfg->http.enabled)
				continue;
			snprintf(
			    msg, sizeof(msg),
			    "[rule %s] %s: iPXE reports SMBIOS to herd over HTTP, which is off "
			    "([http] enabled = no)",
			    r->name, key_names[k]);
			report(ctx, r->match_line[k], msg);
			break;
		}
		for (unsigned j = 0; j < i; j++) {
			if (!conf_rule_covers(&d->rules[j], r))
				continue;
			snprintf(
			    msg, sizeof(msg),
			    "[rule %s] is never reached: [rule %s] (line %d), tried before it, "
			    "matches every client it does",
			    r->name, d->rules[j].name, d->rules[j].line);
			report(ctx, r->line, msg);
			break;
		}
	}
}
