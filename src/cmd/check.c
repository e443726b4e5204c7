/* `herd check -c FILE`: validates the configuration and prints the
 * effective settings, or every problem as FILE:LINE: reason. Beyond the
 * file it checks the setup (check_setup.c): errors fail, warnings
 * (FILE:LINE: warning: reason) are printed and do not. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "ops/nodes.h"
#include "cmd/explain.h"
#include "boot/rules.h"
#include "cmd/load.h"
#include "dhcp/dhcp_io.h"
#include "http/http_io.h"
#include "syslog/logrx_io.h"
#include "tftp/tftp_io.h"

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

/* The most herd's memory grows beyond its size at start, whatever the
 * traffic (docs/DECISIONS.md, "Hostile traffic"). */
static void print_memory(const struct herd_config *cfg)
{
	uint64_t tftp = cfg->tftp.enabled ? tftp_io_memory(&cfg->tftp) : 0;
	uint64_t log = cfg->logrx.enabled ? logrx_io_memory(&cfg->logrx) : 0;
	uint64_t dhcp = cfg->dhcp.enabled ? dhcp_io_memory(&cfg->dhcp) : 0;

	/* What clients said, remembered per MAC, once there are rules. */
	if (cfg->dhcp.enabled && cfg->dhcp.nrules > 0)
		dhcp += rules_seen_memory();
	uint64_t http = cfg->http.enabled ? http_io_memory(&cfg->http) : 0;
	/* The node table is allocated at start but touched node by node. */
	uint64_t status = cfg->status.enabled ? nodes_memory(&(struct nodes_conf){
						    .max_nodes = cfg->status.max_nodes})
					      : 0;

	printf("\n# memory bound: %llu KiB (tftp %llu, log %llu, dhcp %llu, http %llu, status %llu)\n"
	       "# beyond the size at start, plus the boot files served in the last file_cache_ms\n",
	       (unsigned long long)((tftp + log + dhcp + http + status) >> 10),
	       (unsigned long long)(tftp >> 10), (unsigned long long)(log >> 10),
	       (unsigned long long)(dhcp >> 10), (unsigned long long)(http >> 10),
	       (unsigned long long)(status >> 10));
}

/* --explain MAC [key=value ...]: after the check, what that client gets. */
struct explain_req {
	bool on;
	uint8_t mac[6];
	struct boot_facts facts;
};

static int check(const char *path, bool quiet, const struct explain_req *ex)
{
	struct load_result res;
	struct policy *p;
	char *classes = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&classes, &len);

	if (out == NULL)
		return 1;
	p = load_policy(path, NULL, NULL, stderr, out, &res);
	fclose(out);
	if (res.problems >= 0)
		summary(path, res.problems, res.warnings);
	if (p && ex->on) {
		explain_print(p, ex->mac, &ex->facts, stdout);
	} else if (p && !quiet) {
		conf_print(policy_config(p), stdout);
		if (len)
			printf("\n%s", classes);
		print_memory(policy_config(p));
	}
	free(classes);
	policy_unref(p);
	return p ? 0 : 1;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{"explain", no_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
	    "usage: herd check -c FILE [-q]\n"
	    "       herd check -c FILE --explain MAC [arch=N] [vendor=S] [user_class=S]\n"
	    "                  [circuit_id=S] [remote_id=S] [manufacturer=S] [product=S]\n"
	    "                  [serial=S] [uuid=S]\n";
	struct explain_req ex = {.on = false};
	const char *path = NULL;
	int opt, quiet = 0;

	/* '+': stop at the first word that is not an option (the MAC and
	 * the facts after --explain). */
	while ((opt = getopt_long(argc, argv, "+c:qe", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'q': quiet = 1; break;
		case 'e': ex.on = true; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (path == NULL || (optind != argc && !ex.on)) {
		fputs(usage, stderr);
		return 2;
	}
	if (ex.on && explain_parse(argc - optind, argv + optind, ex.mac, &ex.facts, stderr) < 0)
		return 2;
	return check(path, quiet, &ex);
}
