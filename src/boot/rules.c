#include "boot/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_rules.h"
#include "inventory/inventory.h"

void boot_fact_set(struct boot_facts *f, enum conf_rule_key k, const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = f->v[k];
	bool text = len > 0;

	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			text = false;
	if (text) {
		if (len > FACT_MAX - 1)
			len = FACT_MAX - 1;
		memcpy(out, p, len);
		out[len] = '\0';
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < len && 2 * i + 2 < FACT_MAX; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* -1: the rule does not match; 0: it does; 1: it would, but needs SMBIOS. */
static int rule_meets(const struct conf_rule *r, const struct boot_facts *f)
{
	bool wait = false;

	for (unsigned k = 0; k < RULE_NKEYS; k++) {
		const char *pat = r->match[k];
		if (pat[0] == '\0')
			continue;
		if (k >= RULE_FIRST_SMBIOS && !f->smbios) {
			wait = true;
			continue;
		}
		/* A pattern asks for the fact to have been said. */
		if (f->v[k][0] == '\0')
			return -1;
		if (k == RULE_ARCH ? !conf_arch_match(pat, (uint16_t)atoi(f->v[k]))
				   : !conf_pattern_match(pat, f->v[k]))
			return -1;
	}
	return wait ? 1 : 0;
}

void rules_choose(const struct conf_dhcp *d, const struct boot_facts *f, struct rules_choice *c)
{
	c->rule = NULL;
	c->pending = false;
	for (unsigned i = 0; i < d->nrules; i++) {
		int m = rule_meets(&d->rules[i], f);
		if (m < 0)
			continue;
		c->pending = m > 0;
		c->rule = &d->rules[i];
		return;
	}
}

/* The fact a %{word} of a name stands for, or NULL. */
static const char *name_word(const char *word, size_t len, const uint8_t mac[6],
			     const struct boot_facts *f, char macbuf[18])
{
	static const struct {
		const char *word;
		int key; /* -1: the MAC */
	} words[] = {{"mac", -1},
		     {"circuit_id", RULE_CIRCUIT_ID},
		     {"remote_id", RULE_REMOTE_ID},
		     {"serial", RULE_SERIAL},
		     {"uuid", RULE_UUID},
		     {"product", RULE_PRODUCT},
		     {"manufacturer", RULE_MANUFACTURER},
		     {"nic", RULE_NIC}};

	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (len == strlen(words[i].word) && strncmp(word, words[i].word, len) == 0)
			return words[i].key < 0 ? mac_str(mac, '-', macbuf) : f->v[words[i].key];
	return NULL;
}

/* Appends v[0..n) to out, anything but letters, digits, '-', '_', '.' as
 * '-' (a fact may hold '/', spaces...; a name is a file name). */
static int put_name(char *out, size_t size, size_t *len, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		if (*len + 1 >= size)
			return -ENOSPC;
		out[(*len)++] = ok ? c : '-';
	}
	return 0;
}

int rules_name(const struct conf_rule *r, const uint8_t mac[6], const struct boot_facts *f,
	       char *out, size_t size)
{
	size_t len = 0;
	char macbuf[18];

	if (r == NULL || r->node_name[0] == '\0')
		return -ENOENT;
	for (const char *s = r->node_name; *s; s++) {
		const char *end = s[0] == '%' && s[1] == '{' ? strchr(s, '}') : NULL;
		if (end == NULL) {
			if (put_name(out, size, &len, s, 1) < 0)
				return -ENOSPC;
			continue;
		}
		const char *v = name_word(s + 2, (size_t)(end - s - 2), mac, f, macbuf);
		if (v == NULL || v[0] == '\0')
			return -ENOENT; /* a fact it names was not said */
		if (put_name(out, size, &len, v, strlen(v)) < 0)
			return -ENOSPC;
		s = end;
	}
	out[len] = '\0';
	return len ? 0 : -ENOENT;
}

/* --- the memory: sets of 8 MACs, the least recently seen replaced --- */

#define SET_WAYS 8
struct seen {
	uint8_t mac[6];
	bool used;
	uint32_t tick;
	struct boot_facts facts;
};
static struct seen *seen_table;
static uint32_t seen_tick;

static struct seen *seen_set(const uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return &seen_table[(h % (RULES_SEEN / SET_WAYS)) * SET_WAYS];
}

static struct seen *seen_find(const uint8_t mac[6])
{
	struct seen *set;

	if (seen_table == NULL)
		return NULL;
	set = seen_set(mac);
	for (int i = 0; i < SET_WAYS; i++)
		if (set[i].used && memcmp(set[i].mac, mac, 6) == 0)
			return &set[i];
	return NULL;
}

void rules_seen_update(const uint8_t mac[6], const struct boot_facts *f, unsigned mask)
{
	struct seen *e = seen_find(mac);

	if (e == NULL) {
		if (seen_table == NULL && (seen_table = calloc(RULES_SEEN, sizeof(*e))) == NULL)
			return; /* the client is judged on what it says now */
		struct seen *set = seen_set(mac);
		e = &set[0];
		for (int i = 1; i < SET_WAYS && e->used; i++)
			if (!set[i].used || set[i].tick < e->tick)
				e = &set[i];
		memset(e, 0, sizeof(*e));
		memcpy(e->mac, mac, 6);
		e->used = true;
	}
	e->tick = ++seen_tick;
	for (unsigned k = 0; k < RULE_NKEYS; k++)
		if (mask & (1u << k))
			memcpy(e->facts.v[k], f->v[k], FACT_MAX);
	if (mask & RULES_SEEN_SMBIOS)
		e->facts.smbios = f->smbios;
}

const struct boot_facts *rules_seen(const uint8_t mac[6])
{
	const struct seen *e = seen_find(mac);

	return e ? &e->facts : NULL;
}

size_t rules_seen_memory(void)
{
	return RULES_SEEN * sizeof(struct seen);
}

void rules_seen_reset(void)
{
	free(seen_table);
	seen_table = NULL;
	seen_tick = 0;
}

/* --- the report's query --- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes value[0..len) (percent-encoding, '+' as a space) into out. */
static size_t decode(const char *v, size_t len, uint8_t *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n < size; i++) {
		if (v[i] == '%' && i + 2 < len && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
			out[n++] = (uint8_t)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
			i += 2;
		} else {
			out[n++] = v[i] == '+' ? ' ' : (uint8_t)v[i];
		}
	}
	return n;
}

int rules_report_parse(const char *query, uint8_t mac[6], struct boot_facts *f)
{
	static const struct {
		const char *key;
		enum conf_rule_key k;
	} keys[] = {{"manufacturer", RULE_MANUFACTURER},
		    {"product", RULE_PRODUCT},
		    {"serial", RULE_SERIAL},
		    {"uuid", RULE_UUID}};
	bool have_mac = false;

	memset(f, 0, sizeof(*f));
	f->smbios = true;
	for (const char *s = query; *s;) {
		size_t plen = strcspn(s, "&"), klen = strcspn(s, "=&");
		const char *v = s + klen + (s[klen] == '=');
		size_t vlen = klen < plen ? plen - klen - 1 : 0;
		uint8_t buf[FACT_MAX * 3];
		size_t n = decode(v, vlen, buf, sizeof(buf));

		if (klen == 3 && strncmp(s, "mac", 3) == 0 && n < 18) {
			char m[18];
			memcpy(m, buf, n);
			m[n] = '\0';
			have_mac = mac_parse(m, mac) == 0;
		}
		for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (klen == strlen(keys[i].key) && strncmp(s, keys[i].key, klen) == 0)
				boot_fact_set(f, keys[i].k, buf, n);
		s += plen + (s[plen] == '&');
	}
	return have_mac ? 0 : -EINVAL;
}
