/* The hardware decides the image: what a client says of itself (its
 * facts: option 93, 60, 77, 82 from DHCP, SMBIOS from iPXE's report),
 * remembered per MAC, and the first [rule] those facts meet.
 *
 * The memory is one table for the process, in fixed memory (RULES_SEEN
 * MACs, the least recently seen replaced), made on first use: only a
 * configuration with rules fills it. It outlives snapshots, so a reload
 * re-judges what clients said against the new rules. */
#ifndef HERD_BOOT_RULES_H
#define HERD_BOOT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define RULES_SEEN 4096
#define FACT_MAX 64 /* longer values are cut (a pattern still sees the first 63 bytes) */

/* A fact per match key, as text: the architecture in decimal, a string
 * option as it came if it is printable ASCII, else in hex; "": not said. */
struct boot_facts {
	char v[RULE_NKEYS][FACT_MAX];
	bool smbios; /* iPXE reported SMBIOS (values may still be empty) */
};

/* Sets fact k from the option's bytes (hex unless printable). */
void boot_fact_set(struct boot_facts *f, enum conf_rule_key k, const void *data, size_t len);

/* The rule the facts meet: the first whose every pattern matches. A rule
 * that looks at SMBIOS before iPXE reported it cannot be judged: if its
 * other patterns match, the choice waits (pending) for the report. */
struct rules_choice {
	const struct conf_rule *rule; /* NULL: none (yet) */
	bool pending;
};
void rules_choose(const struct conf_dhcp *d, const struct boot_facts *f, struct rules_choice *c);

/* The name rule r gives the client with this MAC: its template with the
 * facts put in (bytes other than letters, digits, '-', '_', '.' become
 * '-'). 0, -ENOENT (no template, or a fact it names was not said),
 * -ENOSPC. */
int rules_name(const struct conf_rule *r, const uint8_t mac[6], const struct boot_facts *f,
	       char *out, size_t size);

/* The remembered facts: `mask` (bits 1 << key, and RULES_SEEN_SMBIOS)
 * says which of f to take; the others stay as they were. */
#define RULES_SEEN_SMBIOS (1u << RULE_NKEYS)
void rules_seen_update(const uint8_t mac[6], const struct boot_facts *f, unsigned mask);
/* What the MAC said so far, or NULL. Valid until the next update. */
const struct boot_facts *rules_seen(const uint8_t mac[6]);
/* The table's size once made (herd check's memory bound). */
size_t rules_seen_memory(void);
/* Forgets everything (tests). */
void rules_seen_reset(void);

/* The iPXE report's query ("mac=...&product=...", percent-encoded):
 * the MAC and the SMBIOS facts. 0, or -EINVAL (no valid mac). */
int rules_report_parse(const char *query, uint8_t mac[6], struct boot_facts *f);

#endif
