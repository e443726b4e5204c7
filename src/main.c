/* herd: a network boot server for diskless clusters. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: herd COMMAND [OPTIONS]\n"
		     "commands:\n"
		     "  serve -c FILE   run the server in the foreground\n"
		     "  check -c FILE   validate a configuration and print it\n"
		     "  check -c FILE --explain MAC [key=value ...]\n"
		     "                  what that client would get, and why\n"
		     "  swarm ...       emulate a rack of PXE clients against a server\n"
		     "                  (herd swarm --help)\n"
		     "  image ...       build and manage diskless node images\n"
		     "                  (herd image --help)\n"
		     "  status [NODE]   each node's boot stage, from a running herd\n"
		     "                  (--watch: live; herd status --help)\n"
		     "  reload          reload a running herd's configuration and\n"
		     "                  inventory, and print the outcome\n"
		     "  leases export|import -c FILE\n"
		     "                  pool leases as CSV, from or into the journal\n"
		     "                  or PostgreSQL (herd leases --help)\n"
		     "  --version       print the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("herd %s\n", HERD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "swarm") == 0)
		return cmd_swarm(argc - 1, argv + 1);
	if (strcmp(argv[1], "image") == 0)
		return cmd_image(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "reload") == 0)
		return cmd_reload(argc - 1, argv + 1);
	if (strcmp(argv[1], "leases") == 0)
		return cmd_leases(argc - 1, argv + 1);
	fprintf(stderr, "herd: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
