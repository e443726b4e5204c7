/* The swarm's results: per-client times gathered into percentiles, the
 * counters, goodput; printed as a table and as one JSON line. */
#ifndef HERD_SWARM_REPORT_H
#define HERD_SWARM_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "swarm/swarm_client.h"

#define SWARM_REPORT_GROUPS 8 /* profiles told apart in a mix */

struct swarm_group {
	const struct swarm_profile *prof;
	unsigned clients, ok, failed;
	double completion_p50_s, completion_p99_s; /* -1: no sample */
};

/* One boot stage's DHCP: the counters and the per-client DORA times (first
 * DISCOVER to ACK) and download times (first RRQ to last block). */
struct swarm_dhcp_stage {
	struct swarm_dhcp_counters n;
	unsigned doras;				   /* clients with a DORA in this stage */
	double dora_p50_s, dora_p99_s, dora_max_s; /* -1: no sample */
	unsigned downloads;
	double tftp_p50_s, tftp_p99_s, tftp_max_s;
};

struct swarm_dhcp_summary {
	bool on;
	const char *mode; /* "relay" or "broadcast" */
	unsigned nstages; /* 1, or 3 with --chain */
	struct swarm_dhcp_stage stage[SWARM_BOOT_STAGES];
	uint64_t exchanges; /* DORAs completed, all stages */
	uint64_t naks, timeouts, retransmits, unanswered, malformed, strangers, tx_errors;
	double span_s;	   /* first DISCOVER to the last ACK; 0: none */
	double dora_per_s; /* exchanges / span_s */
};

/* The HTTP stage: its counters, and per client the stage's time (first
 * connect to the last byte of the last item) and its longest wait for a
 * byte. */
struct swarm_http_summary {
	bool on;
	struct swarm_http n;
	unsigned stages; /* clients whose HTTP stage ended well */
	double stage_p50_s, stage_p99_s, stage_max_s; /* -1: no sample */
	double stall_p50_s, stall_p99_s, stall_max_s;
	unsigned stalled_5s; /* clients that waited 5 s or more for a byte (EDK2 would fail) */
};

struct swarm_summary {
	const char *profile; /* "ipxe", or the --mix text */
	unsigned clients, ok, failed;
	unsigned fail_by[SWARM_FAIL_COUNT];
	struct swarm_counters n;
	uint64_t rx_drops;
	/* Seconds; -1 when there is no sample. */
	double completion_p50_s, completion_p90_s, completion_p99_s, completion_max_s;
	double first_reply_p50_s, first_reply_p99_s, first_reply_max_s;
	double makespan_s;
	double goodput_mbps;
	double link_bps;   /* 0: not given */
	double link_share; /* goodput / link rate, 0..1; -1 without a link rate */
	unsigned ngroups;
	struct swarm_group groups[SWARM_REPORT_GROUPS];
	struct swarm_dhcp_summary dhcp;
	struct swarm_http_summary http;
};

struct swarm_report;

struct swarm_report *swarm_report_new(unsigned nclients);
void swarm_report_free(struct swarm_report *r);

/* Records one finished (or abandoned) client. */
void swarm_report_add(struct swarm_report *r, const struct swarm_client *c);

void swarm_report_finish(struct swarm_report *r, const struct swarm *sw, uint64_t rx_drops,
			 double link_bps, const char *profile, struct swarm_summary *out);

void swarm_report_print(const struct swarm_summary *s, FILE *out);
/* One line, no newline inside. */
void swarm_report_json(const struct swarm_summary *s, FILE *out);

/* Nearest-rank percentile (0 < pct <= 100) of n sorted values; -1 if n is 0. */
double swarm_percentile(const double *sorted, size_t n, double pct);

/* Parses "500M", "1G", "2.5G", "100000k" (bits per second). 0 or -EINVAL. */
int swarm_parse_rate(const char *s, double *bps);

#endif
