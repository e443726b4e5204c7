/* Fuzzes the configuration parser: any bytes (fed to conf_load_mem as
 * conf_load feeds a file read whole) must be parsed without a memory
 * error, and a configuration that loads cleanly must survive conf_print():
 * printing it and parsing the printed text gives no problems and prints
 * the same text again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "we");
	return 0;
}

/* Prints cfg into a malloc'd string. */
static char *print_to_string(const struct herd_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (mem == NULL)
		abort();
	conf_print(cfg, mem);
	if (fclose(mem) != 0)
		abort();
	return text;
}

static void check_round_trip(const struct herd_config *cfg)
{
	static struct herd_config again;
	char *printed = print_to_string(cfg);

	conf_defaults(&again);
	if (conf_load_string(&again, "fuzz.conf", printed, devnull) != 0) {
		fprintf(stderr, "printed configuration does not load:\n%s---\n", printed);
		conf_load_string(&again, "printed", printed, stderr);
		abort();
	}
	char *reprinted = print_to_string(&again);
	if (strcmp(printed, reprinted) != 0) {
		fprintf(stderr, "round trip changed the configuration:\n%s---\n%s", printed,
			reprinted);
		abort();
	}
	free(reprinted);
	free(printed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct herd_config cfg;

	if (size > 65536)
		return 0;
	/* The bytes as conf_load reads a file: NUL bytes included. */
	conf_defaults(&cfg);
	if (conf_load_mem(&cfg, "fuzz.conf", data, size, devnull) == 0)
		check_round_trip(&cfg);
	return 0;
}
