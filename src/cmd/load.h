/* Reading what herd serves into one snapshot (boot/policy.h): the
 * configuration file, the paths it names, the inventory and the setup,
 * with every check `herd check` runs. The same function serves `herd
 * check`, `herd serve` at start and each reload (SIGHUP), so a file that
 * passes `herd check` is one serve accepts, and the reverse. */
#ifndef HERD_CMD_LOAD_H
#define HERD_CMD_LOAD_H

#include <stdio.h>

#include "boot/policy.h"
#include "conf/conf.h"

/* Called on the configuration once it is read, before the inventory is
 * checked against it (a reload puts back the running values of the keys
 * that need a restart). */
typedef void (*load_adjust_fn)(struct herd_config *cfg, void *ctx);

struct load_result {
	int problems; /* errors: the snapshot is refused; -1: file unreadable */
	int warnings;
};

/* Problems and warnings go to errs as FILE:LINE: [warning: ]reason; how
 * each loader is classified to `classes` (may be NULL). Returns the new
 * snapshot, or NULL when there is any problem. */
struct policy *load_policy(const char *path, load_adjust_fn adjust, void *ctx, FILE *errs,
			   FILE *classes, struct load_result *res);

#endif
