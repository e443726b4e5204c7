#include "image/exports.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"

#define MAX_EXPORTS 4096

struct writer {
	const char *dir;
	enum exports_format fmt;
	const char *clients;
	FILE *out;
	uint16_t used[MAX_EXPORTS];
	unsigned n;
};

/* A stable number per NAME/VERSION (ganesha's Export_Id, nfsd's fsid): an
 * export keeps its number while others come and go. */
static uint16_t export_id(struct writer *w, const struct image_info *info)
{
	char key[IMAGE_NAME_MAX + 16];
	uint32_t h = 2166136261u;
	uint16_t id;
	bool taken;

	snprintf(key, sizeof(key), "%s/%u", info->name, info->version);
	for (const char *s = key; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	id = (uint16_t)(100 + h % 60000);
	do {
		taken = false;
		for (unsigned i = 0; i < w->n; i++)
			if (w->used[i] == id) {
				taken = true;
				id = (uint16_t)(id + 1 >= 60100 ? 100 : id + 1);
				break;
			}
	} while (taken);
	return id;
}

static void ganesha_export(struct writer *w, const char *root, uint16_t id)
{
	bool anyone = strcmp(w->clients, "*") == 0;

	fprintf(w->out,
		"EXPORT {\n\tExport_Id = %u;\n\tPath = \"%s\";\n\tPseudo = \"%s\";\n"
		"\tAccess_Type = %s;\n\tSquash = root_squash;\n\tProtocols = 4;\n"
		"\tTransports = TCP;\n\tSecType = sys;\n\tFSAL { Name = VFS; }\n",
		id, root, root, anyone ? "RO" : "None");
	if (!anyone) {
		char list[1024];
		snprintf(list, sizeof(list), "%s", w->clients);
		fprintf(w->out, "\tCLIENT {\n\t\tClients = ");
		bool first = true;
		for (char *c = strtok(list, " ,"); c; c = strtok(NULL, " ,")) {
			fprintf(w->out, "%s%s", first ? "" : ", ", c);
			first = false;
		}
		fprintf(w->out, ";\n\t\tAccess_Type = RO;\n\t}\n");
	}
	fprintf(w->out, "}\n");
}

static void kernel_export(struct writer *w, const char *root, uint16_t id)
{
	char list[1024];

	snprintf(list, sizeof(list), "%s", w->clients);
	fprintf(w->out, "%s", root);
	for (char *c = strtok(list, " ,"); c; c = strtok(NULL, " ,"))
		fprintf(w->out, " %s(ro,root_squash,no_subtree_check,fsid=%u)", c, id);
	fprintf(w->out, "\n");
}

static int one(void *ctx, const struct image_info *info)
{
	struct writer *w = ctx;
	char root[IMAGE_PATH_MAX];
	uint16_t id;

	if (w->n >= MAX_EXPORTS || image_path(w->dir, info->name, info->version, "root", root,
					      sizeof(root)) < 0)
		return 0;
	id = export_id(w, info);
	w->used[w->n++] = id;
	fprintf(w->out, "# %s/%u, kernel %s%s\n", info->name, info->version, info->kver,
		info->current ? " (current)" : "");
	if (w->fmt == EXPORTS_GANESHA)
		ganesha_export(w, root, id);
	else
		kernel_export(w, root, id);
	return 0;
}

int exports_write(const char *dir, enum exports_format fmt, const char *file, const char *clients,
		  char *err, size_t errsize)
{
	struct writer w = {.dir = dir, .fmt = fmt, .clients = clients && *clients ? clients : "*"};
	char tmp[IMAGE_PATH_MAX + 16];
	bool to_stdout = strcmp(file, "-") == 0;
	int r;

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", file, (int)getpid());
	w.out = to_stdout ? stdout : fopen(tmp, "w");
	if (!w.out) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	fprintf(w.out, "# Written by herd image exports from %s: the root tree of every image "
		       "version, read-only.\n# Do not edit: herd rewrites it on every build, "
		       "switch and remove.\n",
		dir);
	r = image_each(dir, one, &w);
	if (to_stdout)
		return r < 0 && r != -ENOENT ? r : (int)w.n;
	if (fflush(w.out) != 0 || fsync(fileno(w.out)) != 0 || fclose(w.out) != 0 ||
	    rename(tmp, file) < 0) {
		snprintf(err, errsize, "%s: %s", file, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return (int)w.n;
}
