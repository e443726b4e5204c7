/* `herd check` beyond the file: the user herd drops to, what that user may
 * read and write, and how herd classifies each loader. */
#ifndef HERD_CMD_CHECK_SETUP_H
#define HERD_CMD_CHECK_SETUP_H

#include <stdio.h>

#include "conf/conf.h"
#include "inventory/inventory.h"

/* Reports each problem on errs as FILE:LINE: reason, and each doubt as
 * FILE:LINE: warning: reason; writes how each loader is classified to
 * `classes` (comment lines; NULL: not written). Returns the number of errors; *warnings gets
 * the number of warnings. inv may be NULL. */
int check_setup(const struct herd_config *cfg, const struct inventory *inv, FILE *errs,
		FILE *classes, int *warnings);

#endif
