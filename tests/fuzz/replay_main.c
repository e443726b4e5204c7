/* Replays fuzz inputs through a fuzz target without a fuzzing engine, so
 * that the normal test run (under ASan/UBSan) exercises the committed corpus
 * and crash reproducers.
 *
 * Usage: replay FILE|DIR...  Directories are walked recursively; hidden
 * files (".gitkeep", editor droppings) are skipped. Exits non-zero if an
 * argument cannot be read; a crash aborts through the sanitizers. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned long replayed;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - size < 4096) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *bigger = realloc(data, cap);
			if (bigger == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				free(data);
				fclose(f);
				return -1;
			}
			data = bigger;
		}
		n = fread(data + size, 1, cap - size, f);
		size += n;
	} while (n > 0);
	int err = ferror(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(data);
		return -1;
	}
	/* An exact-size copy, so ASan sees any read past the input's end. */
	uint8_t *exact = malloc(size ? size : 1);
	if (exact == NULL) {
		free(data);
		return -1;
	}
	if (size)
		memcpy(exact, data, size);
	free(data);
	LLVMFuzzerTestOneInput(exact, size);
	free(exact);
	replayed++;
	return 0;
}

static int compare_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	int n, rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	/* Sorted, so that a failure reproduces in the same order. */
	n = scandir(path, &names, NULL, compare_names);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char child[4096];
		int len = snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] == '.') {
			/* hidden: skipped */
		} else if (len < 0 || (size_t)len >= sizeof(child)) {
			fprintf(stderr, "replay: %s/%s: path too long\n", path, names[i]->d_name);
			rc = -1;
		} else if (replay_path(child) < 0) {
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) < 0)
			rc = 1;
	printf("%s: replayed %lu inputs\n", argv[0], replayed);
	return rc;
}
