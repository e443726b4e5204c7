#include "cmd/load.h"

#include <stdlib.h>

#include "cmd/check_setup.h"
#include "inventory/inventory.h"

/* The file and the paths it names; the inventory against them. */
static int read_files(struct herd_config *cfg, const char *path, load_adjust_fn adjust, void *ctx,
		      FILE *errs, struct inventory **inv)
{
	int problems;

	conf_defaults(cfg);
	problems = conf_load(cfg, path, errs);
	if (problems < 0)
		return -1;
	if (problems == 0 && adjust)
		adjust(cfg, ctx);
	if (problems == 0)
		problems = conf_check_paths(cfg, errs);
	if (problems == 0 && cfg->dhcp.inventory[0]) {
		problems = inventory_load(inv, cfg->dhcp.inventory, &cfg->dhcp, errs);
		if (problems < 0)
			problems = 1;
	}
	return problems;
}

struct policy *load_policy(const char *path, load_adjust_fn adjust, void *ctx, FILE *errs,
			   FILE *classes, struct load_result *res)
{
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv = NULL;

	res->problems = 1;
	res->warnings = 0;
	if (cfg == NULL)
		return NULL;
	res->problems = read_files(cfg, path, adjust, ctx, errs, &inv);
	if (res->problems == 0)
		res->problems = check_setup(cfg, inv, errs, classes, &res->warnings);
	if (res->problems != 0) {
		inventory_free(inv);
		free(cfg);
		return NULL;
	}
	return policy_new(cfg, inv);
}
