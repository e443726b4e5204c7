/* `herd check -c FILE`: validates the configuration and prints the
 * effective settings, or every problem as FILE:LINE: reason. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "conf/conf.h"
#include "inventory/inventory.h"

int cmd_load_config(struct herd_config *cfg, const char *path, bool summary)
{
	int problems;

	conf_defaults(cfg);
	problems = conf_load(cfg, path, stderr);
	if (problems < 0)
		return 1;
	if (problems == 0)
		problems = conf_check_paths(cfg, stderr);
	if (problems == 0 && cfg->dhcp.inventory[0]) {
		struct inventory *inv;
		problems = inventory_load(&inv, cfg->dhcp.inventory, &cfg->dhcp, stderr);
		if (problems < 0)
			problems = 1;
		inventory_free(inv);
	}
	if (problems > 1 || (problems > 0 && summary))
		fprintf(stderr, "herd: %s: %d problem%s\n", path, problems,
			problems == 1 ? "" : "s");
	return problems ? 1 : 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	struct herd_config cfg;
	const char *path = NULL;
	int opt, quiet = 0;

	while ((opt = getopt_long(argc, argv, "c:q", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'q': quiet = 1; break;
		default: fprintf(stderr, "usage: herd check -c FILE [-q]\n"); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		fprintf(stderr, "usage: herd check -c FILE [-q]\n");
		return 2;
	}
	if (cmd_load_config(&cfg, path, true) != 0)
		return 1;
	if (!quiet)
		conf_print(&cfg, stdout);
	return 0;
}
