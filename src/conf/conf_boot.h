/* The boot part of the configuration: [dhcp], [subnet NAME] and
 * [group NAME] sections. conf.c hands these sections here. */
#ifndef HERD_CONF_BOOT_H
#define HERD_CONF_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf/conf.h"

void conf_boot_defaults(struct herd_config *cfg);

/* Applies one setting if `section` is one of ours. Returns false if the
 * section is not ours; true otherwise, with err set to a reason ("" = ok). */
bool conf_boot_set(struct herd_config *cfg, const char *section, const char *name,
		   const char *value, int lineno, char *err, size_t errsize);

/* Rules across settings. Calls report(ctx, line, reason) per problem. */
void conf_boot_validate(const struct herd_config *cfg,
			void (*report)(void *ctx, int line, const char *reason), void *ctx);

void conf_boot_print(const struct herd_config *cfg, FILE *out);

#endif
