/* herd's subcommands. Each takes the arguments after its own name. */
#ifndef HERD_CMD_H
#define HERD_CMD_H

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_swarm(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_leases(int argc, char **argv);

#endif
