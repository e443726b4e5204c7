/* [rule NAME] sections: their patterns, how one rule's patterns cover
 * another's, and the checks `herd check` runs on them (a group that does
 * not exist, a bad pattern or name template, a rule no client can reach).
 * What a client says of itself, and which rule it meets, is boot/rules. */
#ifndef HERD_CONF_RULES_H
#define HERD_CONF_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* The key of the table ("vendor_class") for a match key. */
const char *conf_rule_key_name(enum conf_rule_key k);

/* Does `value` match the shell glob `pattern` ('*', '?', [...], '\')? */
bool conf_pattern_match(const char *pattern, const char *value);
/* Does an arch list ("0 7, 9") hold arch? */
bool conf_arch_match(const char *list, uint16_t arch);

/* Does every client rule b matches also match rule a (so a, before b,
 * leaves b nothing)? Judged from the patterns alone: true only when sure. */
bool conf_rule_covers(const struct conf_rule *a, const struct conf_rule *b);

/* Does the rule look at what iPXE reports (SMBIOS), which herd learns
 * only from its report over HTTP? */
bool conf_rule_needs_smbios(const struct conf_rule *r);

/* The rules' checks; report(ctx, line, reason) per problem. */
void conf_rules_validate(const struct herd_config *cfg,
			 void (*report)(void *ctx, int line, const char *reason), void *ctx);

#endif
