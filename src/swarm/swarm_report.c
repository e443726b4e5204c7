#include "swarm/swarm_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sample {
	double v;
	unsigned group;
};

struct swarm_report {
	struct sample *completion; /* seconds, clients that finished OK */
	double *first_reply;	   /* seconds, clients that had a reply */
	double *dora[SWARM_BOOT_STAGES], *tftp[SWARM_BOOT_STAGES]; /* seconds */
	unsigned ndora[SWARM_BOOT_STAGES], ntftp[SWARM_BOOT_STAGES];
	double *http_stage, *http_stall; /* seconds */
	unsigned nhttp, nstall, stalled_5s;
	mono_t first_discover, last_ack;
	unsigned ncompletion, nfirst, cap;
	unsigned clients, ok, failed;
	unsigned fail_by[SWARM_FAIL_COUNT];
	mono_t first_start, last_done;
	unsigned ngroups;
	struct swarm_group groups[SWARM_REPORT_GROUPS];
};

struct swarm_report *swarm_report_new(unsigned nclients)
{
	struct swarm_report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cap = nclients ? nclients : 1;
	r->completion = calloc(r->cap, sizeof(*r->completion));
	r->first_reply = calloc(r->cap, sizeof(*r->first_reply));
	r->http_stage = calloc(r->cap, sizeof(double));
	r->http_stall = calloc(r->cap, sizeof(double));
	if (r->completion == NULL || r->first_reply == NULL || r->http_stage == NULL ||
	    r->http_stall == NULL) {
		swarm_report_free(r);
		return NULL;
	}
	for (int s = 0; s < SWARM_BOOT_STAGES; s++) {
		r->dora[s] = calloc(r->cap, sizeof(double));
		r->tftp[s] = calloc(r->cap, sizeof(double));
		if (r->dora[s] == NULL || r->tftp[s] == NULL) {
			swarm_report_free(r);
			return NULL;
		}
	}
	r->first_start = MONO_NEVER;
	r->first_discover = MONO_NEVER;
	return r;
}

void swarm_report_free(struct swarm_report *r)
{
	if (r == NULL)
		return;
	free(r->completion);
	free(r->first_reply);
	free(r->http_stage);
	free(r->http_stall);
	for (int s = 0; s < SWARM_BOOT_STAGES; s++) {
		free(r->dora[s]);
		free(r->tftp[s]);
	}
	free(r);
}

static unsigned group_of(struct swarm_report *r, const struct swarm_profile *prof)
{
	for (unsigned i = 0; i < r->ngroups; i++)
		if (r->groups[i].prof == prof)
			return i;
	if (r->ngroups == SWARM_REPORT_GROUPS)
		return SWARM_REPORT_GROUPS - 1; /* cannot happen: a mix names each profile once */
	r->groups[r->ngroups].prof = prof;
	return r->ngroups++;
}

static double seconds(mono_t us)
{
	return (double)us / 1e6;
}

/* The DHCP and download times of each boot stage. A client that started
 * with DHCP started with its first DISCOVER (it has an xid). */
static void add_stages(struct swarm_report *r, const struct swarm_client *c)
{
	for (int s = 0; s < SWARM_BOOT_STAGES; s++) {
		if (c->dora_us[s])
			r->dora[s][r->ndora[s]++] = seconds(c->dora_us[s]);
		if (c->tftp_us[s])
			r->tftp[s][r->ntftp[s]++] = seconds(c->tftp_us[s]);
	}
	if (c->xid != 0 && c->t_start < r->first_discover)
		r->first_discover = c->t_start;
	if (c->t_last_ack > r->last_ack)
		r->last_ack = c->t_last_ack;
	if (c->http_us)
		r->http_stage[r->nhttp++] = seconds(c->http_us);
	if (c->http_us || c->http_bytes || c->http_stall_us) {
		r->http_stall[r->nstall++] = seconds(c->http_stall_us);
		r->stalled_5s += c->http_stall_us >= MONO_SEC(5);
	}
}

void swarm_report_add(struct swarm_report *r, const struct swarm_client *c)
{
	unsigned g = group_of(r, c->fw);

	if (r->clients == r->cap)
		return;
	r->clients++;
	r->groups[g].clients++;
	if (c->t_start != 0 && c->t_start < r->first_start) /* 0: never started */
		r->first_start = c->t_start;
	/* From the first RRQ: after DHCP, that is when the first ACK came. A
	 * client that booted again has the DORA of its last boot only: no
	 * sample. */
	if (c->t_first_reply && c->reboots == 0)
		r->first_reply[r->nfirst++] =
			seconds(c->t_first_reply - c->t_start - c->dora_us[SWARM_BOOT_FIRMWARE]);
	add_stages(r, c);
	if (c->stage == SWARM_DONE) {
		r->ok++;
		r->groups[g].ok++;
		r->completion[r->ncompletion++] =
			(struct sample){seconds(c->t_done - c->t_start), g};
		if (c->t_done > r->last_done)
			r->last_done = c->t_done;
	} else {
		r->failed++;
		r->groups[g].failed++;
		r->fail_by[c->fail < SWARM_FAIL_COUNT ? c->fail : SWARM_FAIL_UNFINISHED]++;
	}
}

double swarm_percentile(const double *sorted, size_t n, double pct)
{
	double x = pct / 100.0 * (double)n;
	size_t rank = (size_t)x;

	if (n == 0)
		return -1;
	if ((double)rank < x) /* ceil() without libm */
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_sample(const void *a, const void *b)
{
	return cmp_double(&((const struct sample *)a)->v, &((const struct sample *)b)->v);
}

/* Percentiles of one group's completions, from the sorted samples. */
static void group_percentiles(struct swarm_report *r, unsigned g, double *scratch)
{
	size_t n = 0;

	for (unsigned i = 0; i < r->ncompletion; i++)
		if (r->completion[i].group == g)
			scratch[n++] = r->completion[i].v;
	r->groups[g].completion_p50_s = swarm_percentile(scratch, n, 50);
	r->groups[g].completion_p99_s = swarm_percentile(scratch, n, 99);
}

static void dhcp_summary(struct swarm_report *r, const struct swarm *sw,
			 struct swarm_dhcp_summary *d)
{
	d->on = sw->dhcp.on;
	if (!d->on)
		return;
	d->mode = sw->dhcp.giaddr ? "relay" : "broadcast";
	d->nstages = sw->dhcp.chain ? SWARM_BOOT_STAGES : 1;
	for (unsigned s = 0; s < SWARM_BOOT_STAGES; s++) {
		struct swarm_dhcp_stage *st = &d->stage[s];
		st->n = sw->dhcp.n[s];
		qsort(r->dora[s], r->ndora[s], sizeof(double), cmp_double);
		qsort(r->tftp[s], r->ntftp[s], sizeof(double), cmp_double);
		st->doras = r->ndora[s];
		st->dora_p50_s = swarm_percentile(r->dora[s], r->ndora[s], 50);
		st->dora_p99_s = swarm_percentile(r->dora[s], r->ndora[s], 99);
		st->dora_max_s = swarm_percentile(r->dora[s], r->ndora[s], 100);
		st->downloads = r->ntftp[s];
		st->tftp_p50_s = swarm_percentile(r->tftp[s], r->ntftp[s], 50);
		st->tftp_p99_s = swarm_percentile(r->tftp[s], r->ntftp[s], 99);
		st->tftp_max_s = swarm_percentile(r->tftp[s], r->ntftp[s], 100);
		d->exchanges += st->n.acks;
		d->naks += st->n.naks;
		d->timeouts += st->n.timeouts;
		d->unanswered += st->n.unanswered;
		d->retransmits += st->n.retransmits;
	}
	d->malformed = sw->dhcp.malformed;
	d->strangers = sw->dhcp.strangers;
	d->tx_errors = sw->dhcp.tx_errors;
	if (r->first_discover != MONO_NEVER && r->last_ack > r->first_discover)
		d->span_s = seconds(r->last_ack - r->first_discover);
	if (d->span_s > 0)
		d->dora_per_s = (double)d->exchanges / d->span_s;
}

static void http_summary(struct swarm_report *r, const struct swarm *sw,
			 struct swarm_http_summary *h)
{
	h->on = sw->http.nurls || sw->http.follow;
	h->n = sw->http;
	qsort(r->http_stage, r->nhttp, sizeof(double), cmp_double);
	qsort(r->http_stall, r->nstall, sizeof(double), cmp_double);
	h->stages = r->nhttp;
	h->stage_p50_s = swarm_percentile(r->http_stage, r->nhttp, 50);
	h->stage_p99_s = swarm_percentile(r->http_stage, r->nhttp, 99);
	h->stage_max_s = swarm_percentile(r->http_stage, r->nhttp, 100);
	h->stall_p50_s = swarm_percentile(r->http_stall, r->nstall, 50);
	h->stall_p99_s = swarm_percentile(r->http_stall, r->nstall, 99);
	h->stall_max_s = swarm_percentile(r->http_stall, r->nstall, 100);
	h->stalled_5s = r->stalled_5s;
}

void swarm_report_finish(struct swarm_report *r, const struct swarm *sw, uint64_t rx_drops,
			 double link_bps, const char *profile, struct swarm_summary *out)
{
	double *v = calloc(r->cap, sizeof(*v));
	size_t n = r->ncompletion;

	memset(out, 0, sizeof(*out));
	out->profile = profile;
	out->clients = r->clients;
	out->ok = r->ok;
	out->failed = r->failed;
	memcpy(out->fail_by, r->fail_by, sizeof(out->fail_by));
	out->n = sw->n;
	out->rx_drops = rx_drops;

	qsort(r->completion, n, sizeof(*r->completion), cmp_sample);
	for (size_t i = 0; v && i < n; i++)
		v[i] = r->completion[i].v;
	if (v == NULL)
		n = 0;
	out->completion_p50_s = swarm_percentile(v, n, 50);
	out->completion_p90_s = swarm_percentile(v, n, 90);
	out->completion_p99_s = swarm_percentile(v, n, 99);
	out->completion_max_s = swarm_percentile(v, n, 100);

	qsort(r->first_reply, r->nfirst, sizeof(double), cmp_double);
	out->first_reply_p50_s = swarm_percentile(r->first_reply, r->nfirst, 50);
	out->first_reply_p99_s = swarm_percentile(r->first_reply, r->nfirst, 99);
	out->first_reply_max_s = swarm_percentile(r->first_reply, r->nfirst, 100);

	if (r->ok && r->last_done > r->first_start)
		out->makespan_s = seconds(r->last_done - r->first_start);
	if (out->makespan_s > 0)
		out->goodput_mbps = (double)sw->n.bytes * 8 / out->makespan_s / 1e6;
	out->link_bps = link_bps;
	out->link_share = link_bps > 0 ? out->goodput_mbps * 1e6 / link_bps : -1;

	for (unsigned g = 0; v && g < r->ngroups; g++)
		group_percentiles(r, g, v);
	out->ngroups = r->ngroups;
	memcpy(out->groups, r->groups, sizeof(out->groups));
	dhcp_summary(r, sw, &out->dhcp);
	http_summary(r, sw, &out->http);
	free(v);
}

static void print_secs(FILE *out, const char *label, double s)
{
	if (s < 0)
		fprintf(out, "  %s -", label);
	else
		fprintf(out, "  %s %.3f", label, s);
}

static void print_rate(FILE *out, double bps)
{
	if (bps >= 1e9)
		fprintf(out, "%g Gbit/s", bps / 1e9);
	else
		fprintf(out, "%g Mbit/s", bps / 1e6);
}

static void print_dhcp(const struct swarm_dhcp_summary *d, FILE *out)
{
	fprintf(out, "%-26s %" PRIu64 " DORAs in %.3f s (first DISCOVER to last ACK): %.0f DORA/s\n",
		d->mode[0] == 'r' ? "dhcp (relay)" : "dhcp (broadcast)", d->exchanges, d->span_s,
		d->dora_per_s);
	fprintf(out,
		"%-26s %" PRIu64 " NAKs, %" PRIu64 " timeouts, %" PRIu64 " re-sent, %" PRIu64
		" REQUESTs unanswered, %" PRIu64 " malformed, %" PRIu64 " for unknown MACs, %" PRIu64
		" send errors\n",
		"dhcp trouble", d->naks, d->timeouts, d->retransmits, d->unanswered, d->malformed,
		d->strangers, d->tx_errors);
	for (unsigned i = 0; i < d->nstages; i++) {
		const struct swarm_dhcp_stage *st = &d->stage[i];
		fprintf(out, "  %-24s %u DORAs", swarm_boot_stage_name((enum swarm_boot_stage)i),
			st->doras);
		print_secs(out, "p50", st->dora_p50_s);
		print_secs(out, "p99", st->dora_p99_s);
		print_secs(out, "max", st->dora_max_s);
		fprintf(out,
			"  (sent %" PRIu64 " DISCOVER %" PRIu64 " REQUEST, %" PRIu64
			" re-sent; got %" PRIu64 " OFFER %" PRIu64 " ACK %" PRIu64 " NAK, %" PRIu64
			" stale)\n",
			st->n.discovers, st->n.requests, st->n.retransmits, st->n.offers, st->n.acks,
			st->n.naks, st->n.stale);
		if (st->downloads) {
			fprintf(out, "  %-24s %u downloads", "", st->downloads);
			print_secs(out, "p50", st->tftp_p50_s);
			print_secs(out, "p99", st->tftp_p99_s);
			print_secs(out, "max", st->tftp_max_s);
			fputc('\n', out);
		}
	}
}

static void print_http(const struct swarm_http_summary *h, FILE *out)
{
	const struct swarm_http *n = &h->n;

	fprintf(out,
		"%-26s %u stages done, %" PRIu64 " connections (%" PRIu64 " failed), %" PRIu64
		" requests (%" PRIu64 " kept-alive), %" PRIu64 " responses\n",
		"http", h->stages, n->connects, n->connect_fail, n->requests, n->reused,
		n->responses);
	fprintf(out,
		"%-26s %" PRIu64 " body bytes, %" PRIu64 " read in all; %" PRIu64 " not 2xx, %" PRIu64
		" closed early, %" PRIu64 " malformed, %" PRIu64 " items over TFTP\n",
		"http bytes", n->bytes, n->wire_in, n->bad_status, n->closed_early, n->malformed,
		n->tftp_items);
	fprintf(out, "%-26s", "http stage (s)");
	print_secs(out, "p50", h->stage_p50_s);
	print_secs(out, "p99", h->stage_p99_s);
	print_secs(out, "max", h->stage_max_s);
	fprintf(out, "\n%-26s", "http longest wait (s)");
	print_secs(out, "p50", h->stall_p50_s);
	print_secs(out, "p99", h->stall_p99_s);
	print_secs(out, "max", h->stall_max_s);
	fprintf(out, "  (%u clients waited 5 s or more)\n", h->stalled_5s);
}

/* The TFTP counters (none with --url: the HTTP lines say it all). */
static void print_tftp(const struct swarm_counters *n, FILE *out)
{
	fprintf(out, "%-26s %" PRIu64 "  (of %" PRIu64 " RRQs and %" PRIu64 " ACKs sent)\n",
		"client retransmissions", n->retransmits, n->rrqs, n->acks);
	fprintf(out, "%-26s %" PRIu64 "\n", "re-ACKs on loss", n->reacks);
	fprintf(out, "%-26s %" PRIu64 "  (out of order: %" PRIu64 ")\n", "duplicate DATA",
		n->duplicate_data, n->out_of_order);
	fprintf(out, "%-26s %" PRIu64, "unexpected-TID packets", n->unexpected_tid);
	if (n->stale_tid)
		fprintf(out, "  (%" PRIu64 " from an aborted probe's TID: stale)", n->stale_tid);
	fputc('\n', out);
	if (n->malformed || n->restarts || n->tx_errors)
		fprintf(out, "%-26s %" PRIu64 " malformed, %" PRIu64 " restarts, %" PRIu64
			     " send errors\n",
			"other", n->malformed, n->restarts, n->tx_errors);
}

void swarm_report_print(const struct swarm_summary *s, FILE *out)
{
	const struct swarm_counters *n = &s->n;

	fprintf(out, "%-26s %s\n", "profile", s->profile);
	fprintf(out, "%-26s %u\n", "clients", s->clients);
	fprintf(out, "%-26s %u\n", "ok", s->ok);
	fprintf(out, "%-26s %u", "failed", s->failed);
	if (s->failed) {
		const char *sep = "  (";
		for (int f = SWARM_FAIL_TIMEOUT; f < SWARM_FAIL_COUNT; f++) {
			if (s->fail_by[f] == 0)
				continue;
			fprintf(out, "%s%s %u", sep, swarm_fail_name((enum swarm_fail)f),
				s->fail_by[f]);
			sep = ", ";
		}
		fputc(')', out);
	}
	fputc('\n', out);
	if (n->boot_retries)
		fprintf(out, "%-26s %" PRIu64 "  (%" PRIu64 " clients booted again)\n", "boot retries",
			n->boot_retries, n->rebooted);
	if (s->fail_by[SWARM_FAIL_ERROR] || s->fail_by[SWARM_FAIL_HTTP_STATUS] ||
	    s->fail_by[SWARM_FAIL_HTTP_CLOSED])
		fprintf(out, "%-26s %u \"%s\"\n", "last server ERROR", n->last_error_code,
			n->last_error);
	if (s->dhcp.on)
		print_dhcp(&s->dhcp, out);
	if (s->http.on)
		print_http(&s->http, out);
	if (s->dhcp.on && n->rrqs == 0 && !s->http.on) { /* --dhcp-only */
		fprintf(out, "%-26s", "completion (s)");
		print_secs(out, "p50", s->completion_p50_s);
		print_secs(out, "p99", s->completion_p99_s);
		print_secs(out, "max", s->completion_max_s);
		fprintf(out, "\n%-26s %" PRIu64 "\n", "swarm rx drops", s->rx_drops);
		return;
	}
	if (n->rrqs || !s->http.on)
		print_tftp(n, out);
	fprintf(out, "%-26s", "completion (s)");
	print_secs(out, "p50", s->completion_p50_s);
	print_secs(out, "p90", s->completion_p90_s);
	print_secs(out, "p99", s->completion_p99_s);
	print_secs(out, "max", s->completion_max_s);
	if (n->rrqs || !s->http.on) {
		fprintf(out, "\n%-26s", "first reply (s)");
		print_secs(out, "p50", s->first_reply_p50_s);
		print_secs(out, "p99", s->first_reply_p99_s);
		print_secs(out, "max", s->first_reply_max_s);
	}
	fprintf(out, "\n%-26s %.3f\n", "makespan (s)", s->makespan_s);
	fprintf(out, "%-26s %" PRIu64 "\n", "bytes", n->bytes);
	fprintf(out, "%-26s %.1f Mbit/s", "goodput", s->goodput_mbps);
	if (s->link_share >= 0) {
		fprintf(out, "  (%.1f%% of a ", s->link_share * 100);
		print_rate(out, s->link_bps);
		fprintf(out, " link)");
	}
	fprintf(out, "\n%-26s %" PRIu64 "\n", "swarm rx drops", s->rx_drops);
	if (s->ngroups > 1) {
		for (unsigned g = 0; g < s->ngroups; g++) {
			const struct swarm_group *gr = &s->groups[g];
			fprintf(out, "  %-24s %u clients, %u ok, %u failed,", gr->prof->name,
				gr->clients, gr->ok, gr->failed);
			print_secs(out, "p50", gr->completion_p50_s);
			print_secs(out, "p99", gr->completion_p99_s);
			fputc('\n', out);
		}
	}
}

static void json_num(FILE *out, const char *key, double v)
{
	if (v < 0)
		fprintf(out, ",\"%s\":null", key);
	else
		fprintf(out, ",\"%s\":%.6f", key, v);
}

static void json_u64(FILE *out, const char *key, uint64_t v)
{
	fprintf(out, ",\"%s\":%" PRIu64, key, v);
}

static void json_dhcp(const struct swarm_dhcp_summary *d, FILE *out)
{
	fprintf(out, ",\"dhcp\":{\"mode\":\"%s\"", d->mode);
	json_u64(out, "exchanges", d->exchanges);
	json_num(out, "span_s", d->span_s);
	json_num(out, "dora_per_s", d->dora_per_s);
	json_u64(out, "naks", d->naks);
	json_u64(out, "timeouts", d->timeouts);
	json_u64(out, "unanswered", d->unanswered);
	json_u64(out, "retransmits", d->retransmits);
	json_u64(out, "malformed", d->malformed);
	json_u64(out, "strangers", d->strangers);
	json_u64(out, "tx_errors", d->tx_errors);
	fprintf(out, ",\"stages\":{");
	for (unsigned i = 0; i < d->nstages; i++) {
		const struct swarm_dhcp_stage *st = &d->stage[i];
		fprintf(out, "%s\"%s\":{\"doras\":%u", i ? "," : "",
			swarm_boot_stage_name((enum swarm_boot_stage)i), st->doras);
		json_u64(out, "discovers", st->n.discovers);
		json_u64(out, "requests", st->n.requests);
		json_u64(out, "retransmits", st->n.retransmits);
		json_u64(out, "offers", st->n.offers);
		json_u64(out, "acks", st->n.acks);
		json_u64(out, "naks", st->n.naks);
		json_u64(out, "timeouts", st->n.timeouts);
		json_u64(out, "stale", st->n.stale);
		json_num(out, "dora_p50_s", st->dora_p50_s);
		json_num(out, "dora_p99_s", st->dora_p99_s);
		json_num(out, "dora_max_s", st->dora_max_s);
		fprintf(out, ",\"downloads\":%u", st->downloads);
		json_num(out, "tftp_p50_s", st->tftp_p50_s);
		json_num(out, "tftp_p99_s", st->tftp_p99_s);
		json_num(out, "tftp_max_s", st->tftp_max_s);
		fputc('}', out);
	}
	fprintf(out, "}}");
}

static void json_http(const struct swarm_http_summary *h, FILE *out)
{
	const struct swarm_http *n = &h->n;

	fprintf(out, ",\"http\":{\"stages\":%u", h->stages);
	json_u64(out, "connects", n->connects);
	json_u64(out, "connect_failures", n->connect_fail);
	json_u64(out, "requests", n->requests);
	json_u64(out, "kept_alive", n->reused);
	json_u64(out, "responses", n->responses);
	json_u64(out, "bad_status", n->bad_status);
	json_u64(out, "closed_early", n->closed_early);
	json_u64(out, "malformed", n->malformed);
	json_u64(out, "bytes", n->bytes);
	json_u64(out, "wire_in", n->wire_in);
	json_u64(out, "tftp_items", n->tftp_items);
	json_num(out, "stage_p50_s", h->stage_p50_s);
	json_num(out, "stage_p99_s", h->stage_p99_s);
	json_num(out, "stage_max_s", h->stage_max_s);
	json_num(out, "stall_p50_s", h->stall_p50_s);
	json_num(out, "stall_p99_s", h->stall_p99_s);
	json_num(out, "stall_max_s", h->stall_max_s);
	fprintf(out, ",\"stalled_5s\":%u}", h->stalled_5s);
}

/* Profile names and the mix text are [a-z0-9:,] (checked by the CLI). */
void swarm_report_json(const struct swarm_summary *s, FILE *out)
{
	const struct swarm_counters *n = &s->n;

	fprintf(out, "{\"profile\":\"%s\"", s->profile);
	json_u64(out, "clients", s->clients);
	json_u64(out, "ok", s->ok);
	json_u64(out, "failed", s->failed);
	for (int f = SWARM_FAIL_TIMEOUT; f < SWARM_FAIL_COUNT; f++) {
		char key[32];
		snprintf(key, sizeof(key), "failed_%s", swarm_fail_name((enum swarm_fail)f));
		json_u64(out, key, s->fail_by[f]);
	}
	json_u64(out, "client_retransmits", n->retransmits);
	json_u64(out, "reacks", n->reacks);
	json_u64(out, "rrqs", n->rrqs);
	json_u64(out, "acks", n->acks);
	json_u64(out, "duplicate_data", n->duplicate_data);
	json_u64(out, "out_of_order_data", n->out_of_order);
	json_u64(out, "unexpected_tid", n->unexpected_tid);
	json_u64(out, "stale_tid", n->stale_tid);
	json_u64(out, "malformed", n->malformed);
	json_u64(out, "restarts", n->restarts);
	json_u64(out, "boot_retries", n->boot_retries);
	json_u64(out, "rebooted", n->rebooted);
	json_u64(out, "tx_errors", n->tx_errors);
	fprintf(out, ",\"last_error\":\"%s\"", n->last_error); /* printable, no quotes */
	json_num(out, "completion_p50_s", s->completion_p50_s);
	json_num(out, "completion_p90_s", s->completion_p90_s);
	json_num(out, "completion_p99_s", s->completion_p99_s);
	json_num(out, "completion_max_s", s->completion_max_s);
	json_num(out, "first_reply_p50_s", s->first_reply_p50_s);
	json_num(out, "first_reply_p99_s", s->first_reply_p99_s);
	json_num(out, "first_reply_max_s", s->first_reply_max_s);
	json_num(out, "makespan_s", s->makespan_s);
	json_u64(out, "bytes", n->bytes);
	json_num(out, "goodput_mbps", s->goodput_mbps);
	json_num(out, "link_share", s->link_share);
	json_u64(out, "rx_drops", s->rx_drops);
	fprintf(out, ",\"profiles\":{");
	for (unsigned g = 0; g < s->ngroups; g++) {
		const struct swarm_group *gr = &s->groups[g];
		fprintf(out, "%s\"%s\":{\"clients\":%u,\"ok\":%u,\"failed\":%u", g ? "," : "",
			gr->prof->name, gr->clients, gr->ok, gr->failed);
		json_num(out, "completion_p50_s", gr->completion_p50_s);
		json_num(out, "completion_p99_s", gr->completion_p99_s);
		fputc('}', out);
	}
	fputc('}', out);
	if (s->dhcp.on)
		json_dhcp(&s->dhcp, out);
	if (s->http.on)
		json_http(&s->http, out);
	fprintf(out, "}\n");
}

int swarm_parse_rate(const char *s, double *bps)
{
	char *end;
	double v, mul = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtod(s, &end);
	switch (*end) {
	case 'k': case 'K': mul = 1e3; end++; break;
	case 'm': case 'M': mul = 1e6; end++; break;
	case 'g': case 'G': mul = 1e9; end++; break;
	case 't': case 'T': mul = 1e12; end++; break;
	}
	if (*end != '\0' || v <= 0 || !isfinite(v))
		return -EINVAL;
	*bps = v * mul;
	return 0;
}
