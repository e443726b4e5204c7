/* The rules of the boot part of the configuration ([dhcp], [subnet NAME]
 * and [group NAME]) beyond each key's own: the T1/T2 times against the
 * leases they are used with, subnets that overlap, groups that are named. */
#ifndef HERD_CONF_BOOT_H
#define HERD_CONF_BOOT_H

#include <stdio.h>

#include "conf/conf.h"

/* Rules across settings. Calls report(ctx, line, reason) per problem. */
void conf_boot_validate(const struct herd_config *cfg,
			void (*report)(void *ctx, int line, const char *reason), void *ctx);

/* The "# effective: lease ..., renewal (T1) ..." comment after a section:
 * [dhcp] (sn and g NULL), [subnet] (g NULL), or [group] g, once per
 * subnet, if it sets its own times. */
void conf_boot_print_effective(FILE *out, const struct conf_dhcp *d, const struct conf_subnet *sn,
			       const struct conf_group *g);

#endif
