/* Fuzzes the configuration parser: any text must be parsed without a memory
 * error, and a configuration that loads cleanly must survive conf_print():
 * printing it and parsing the printed text gives no problems and prints the
 * same text again. */
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
	struct herd_config *again = malloc(sizeof(*again));
	char *printed = print_to_string(cfg);

	if (again == NULL)
		abort();
	conf_defaults(again);
	if (conf_load_string(again, "fuzz.conf", printed, devnull) != 0) {
		fprintf(stderr, "printed configuration does not load:\n%s", printed);
		abort();
	}
	char *reprinted = print_to_string(again);
	if (strcmp(printed, reprinted) != 0) {
		fprintf(stderr, "round trip changed the configuration:\n%s---\n%s", printed,
			reprinted);
		abort();
	}
	free(reprinted);
	free(printed);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	struct herd_config *cfg = malloc(sizeof(*cfg));
	if (text == NULL || cfg == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	conf_defaults(cfg);
	if (conf_load_string(cfg, "fuzz.conf", text, devnull) == 0)
		check_round_trip(cfg);
	free(cfg);
	free(text);
	return 0;
}
