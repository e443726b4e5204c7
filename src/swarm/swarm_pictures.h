/* `herd swarm --timeline FILE.json` and `--chart FILE.svg`: a run's
 * clients as data and as a picture. Times are seconds after the first
 * client started. */
#ifndef HERD_SWARM_PICTURES_H
#define HERD_SWARM_PICTURES_H

#include <stdio.h>

#include "swarm/swarm_client.h"

/* {"clients":N,"ok":N,"failed":N,"timeline":[{"client":i,"mac":..,
 *  "firmware":..,"outcome":"ok"|"failed","why":null|"..","done_s":..,
 *  "bytes":N,"retries":N,"boot_retries":N,"stages":[{"t":s,"stage":
 *  "firmware"|"ipxe"|"os","event":"dhcp"|"acked"|"tftp"|"http"|"done"|"failed"|
 *  "reboot"},...]},...]}; an "acked" event also has "ip" and "server" (its
 *  server id), a "reboot" event "why" (the failure it boots again after). */
void swarm_timeline_write(FILE *out, const struct swarm_client *const *c,
			  const struct swarm_marks *marks, unsigned n, uint32_t mac_base);

/* A hand-written SVG, no external assets: clients done over time (a step
 * curve), and with link_bps > 0 the wire limit: every client's bytes sent
 * back to back at the link rate, as a straight line. */
void swarm_chart_write(FILE *out, const struct swarm_client *const *c, unsigned n, double link_bps,
		       const char *title);

#endif
