/* herd's subcommands. Each takes the arguments after its own name. */
#ifndef HERD_CMD_H
#define HERD_CMD_H

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_swarm(int argc, char **argv);

/* Loads `path` over the defaults; reports problems on stderr (and, with
 * summary or several problems, a count). Returns 0 if the configuration is
 * usable. Shared by serve and check. */
#include <stdbool.h>
struct herd_config;
int cmd_load_config(struct herd_config *cfg, const char *path, bool summary);

#endif
