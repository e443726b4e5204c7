/* `herd check -c FILE`: validates the configuration and prints the
 * effective settings, or every problem as FILE:LINE: reason. Beyond the
 * file it checks the setup (check_setup.c): errors fail, warnings
 * (FILE:LINE: warning: reason) are printed and do not. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/check_setup.h"
#include "cmd/cmd.h"
#include "conf/conf.h"
#include "dhcp/dhcp_io.h"
#include "inventory/inventory.h"
#include "syslog/logrx_io.h"
#include "tftp/tftp_io.h"

/* The file, its paths, and the inventory (kept in *inv if asked for). */
static int load(struct herd_config *cfg, const char *path, struct inventory **inv)
{
	int problems;

	conf_defaults(cfg);
	problems = conf_load(cfg, path, stderr);
	if (problems < 0)
		return -1;
	if (problems == 0)
		problems = conf_check_paths(cfg, stderr);
	if (problems == 0 && cfg->dhcp.inventory[0]) {
		struct inventory *loaded;
		problems = inventory_load(&loaded, cfg->dhcp.inventory, &cfg->dhcp, stderr);
		if (problems < 0)
			problems = 1;
		if (problems == 0 && inv)
			*inv = loaded;
		else
			inventory_free(loaded);
	}
	return problems;
}

static void summary(const char *path, int problems, int warnings)
{
	if (problems > 0)
		fprintf(stderr, "herd: %s: %d problem%s", path, problems, problems == 1 ? "" : "s");
	else if (warnings > 0)
		fprintf(stderr, "herd: %s: no problem", path);
	if (warnings > 0)
		fprintf(stderr, ", %d warning%s", warnings, warnings == 1 ? "" : "s");
	if (problems > 0 || warnings > 0)
		fputc('\n', stderr);
}

int cmd_load_config(struct herd_config *cfg, const char *path, bool with_summary)
{
	int problems = load(cfg, path, NULL);

	if (problems < 0)
		return 1;
	if (problems > 1 || (problems > 0 && with_summary))
		summary(path, problems, 0);
	return problems ? 1 : 0;
}

/* The most herd's memory grows beyond its size at start, whatever the
 * traffic (docs/DECISIONS.md, "Hostile traffic"). */
static void print_memory(const struct herd_config *cfg)
{
	uint64_t tftp = cfg->tftp.enabled ? tftp_io_memory(&cfg->tftp) : 0;
	uint64_t log = cfg->logrx.enabled ? logrx_io_memory(&cfg->logrx) : 0;
	uint64_t dhcp = cfg->dhcp.enabled ? dhcp_io_memory(&cfg->dhcp) : 0;

	printf("\n# memory bound: %llu KiB (tftp %llu, log %llu, dhcp %llu) beyond the size at\n"
	       "# start, plus the boot files served in the last file_cache_ms\n",
	       (unsigned long long)((tftp + log + dhcp) >> 10), (unsigned long long)(tftp >> 10),
	       (unsigned long long)(log >> 10), (unsigned long long)(dhcp >> 10));
}

static int check(struct herd_config *cfg, const char *path, bool quiet)
{
	struct inventory *inv = NULL;
	char *classes = NULL;
	size_t len = 0;
	FILE *out;
	int problems = load(cfg, path, &inv), warnings = 0;

	if (problems < 0)
		return 1;
	if (problems == 0) {
		out = open_memstream(&classes, &len);
		if (out == NULL) {
			inventory_free(inv);
			return 1;
		}
		problems = check_setup(cfg, inv, out, &warnings);
		fclose(out);
	}
	summary(path, problems, warnings);
	if (problems == 0 && !quiet) {
		conf_print(cfg, stdout);
		if (len)
			printf("\n%s", classes);
		print_memory(cfg);
	}
	free(classes);
	inventory_free(inv);
	return problems ? 1 : 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	struct herd_config *cfg;
	const char *path = NULL;
	int opt, quiet = 0, rc;

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
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return 1;
	rc = check(cfg, path, quiet);
	free(cfg);
	return rc;
}
