/* What a reload (SIGHUP) can change in a running herd, and what it cannot.
 *
 * Live: the inventory, groups, boot files and command lines, the subnets'
 * options and lease times, TFTP's per-transfer limits and timers, the log
 * receiver's rotation and rates, the log level. Fixed while herd runs:
 * anything behind an open socket, a directory handle, a table sized at
 * start or the privilege drop (listen addresses, roots, max_transfers,
 * the pacer's rate, the user, subnets' networks and pools, ...). */
#ifndef HERD_CMD_RELOAD_H
#define HERD_CMD_RELOAD_H

#include "conf/conf.h"

/* Puts back in `next` the running value of every fixed key the file
 * changed, logging each as "needs restart" (never silently ignored).
 * Returns how many. */
unsigned reload_keep_fixed(const struct herd_config *run, struct herd_config *next);

#endif
