/* Visitor samples in, Prometheus text out. Samples are collected first
 * (a family's members may come from several modules: rx_drops of tftp,
 * dhcp and log are one family), then written family by family in the
 * order each first appeared. */
#include "ops/metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line per visitor name herd has: (module, name) -> family and the
 * labels that tell its members apart. A name ending in '*' matches every
 * name with that prefix; the rest becomes the value of label `key`
 * (nodes_up -> herd_nodes{stage="up"}). help NULL: the visitor's. */
struct family_map {
	const char *module, *name;
	const char *family;
	const char *labels; /* constant label text, as written; NULL: none */
	const char *help;
	const char *key; /* prefix rules: the label the rest of the name goes to */
	double scale;	 /* 0: as it is */
};

#define REQ_HELP "requests received, by protocol and type"
#define XFER_HELP "TFTP transfers, by what happened to them"
#define DROP_HELP "datagrams lost to full receive buffers"
#define TXERR_HELP "datagrams or replies the kernel refused to send"
#define SENT_HELP "payload bytes handed to the network"
#define MALF_HELP "unparsable datagrams"

static const struct family_map family_table[] = {
    {"tftp", "requests", "requests_total", "protocol=\"tftp\",type=\"rrq\"", REQ_HELP},
    {"tftp", "started", "tftp_transfers_total", "event=\"started\"", XFER_HELP},
    {"tftp", "completed", "tftp_transfers_total", "event=\"completed\"", XFER_HELP},
    {"tftp", "timed_out", "tftp_transfers_total", "event=\"timed_out\"", XFER_HELP},
    {"tftp", "aborted", "tftp_transfers_total", "event=\"aborted\"", XFER_HELP},
    {"tftp", "unanswered", "tftp_transfers_total", "event=\"unanswered\"", XFER_HELP},
    {"tftp", "refused", "tftp_requests_not_served_total", "reason=\"refused\"",
     "TFTP requests not served, by why"},
    {"tftp", "busy", "tftp_requests_not_served_total", "reason=\"busy\""},
    {"tftp", "source_limited", "tftp_requests_not_served_total", "reason=\"source_rate\""},
    {"tftp", "unknown_limited", "tftp_requests_not_served_total", "reason=\"unknown_share\""},
    {"tftp", "displaced", "tftp_requests_not_served_total", "reason=\"displaced\""},
    {"tftp", "deferred", "tftp_requests_deferred_total", NULL},
    {"tftp", "malformed", "malformed_total", "protocol=\"tftp\"", MALF_HELP},
    {"tftp", "unknown_tid", "tftp_stray_datagrams_total", "kind=\"unknown_tid\"",
     "TFTP datagrams for no transfer, ignored or answered with ERROR 5"},
    {"tftp", "stray", "tftp_stray_datagrams_total", "kind=\"stray\""},
    {"tftp", "errors_withheld", "tftp_errors_withheld_total", NULL},
    {"tftp", "data_sent", "tftp_data_datagrams_total", NULL},
    {"tftp", "bytes_sent", "sent_bytes_total", "protocol=\"tftp\"", SENT_HELP},
    {"tftp", "retransmits", "tftp_retransmits_total", "kind=\"timer\"",
     "TFTP windows resent: by the timer, or at once on a repeated ACK"},
    {"tftp", "quick_resends", "tftp_retransmits_total", "kind=\"repeated_ack\""},
    {"tftp", "active", "active_transfers", "protocol=\"tftp\"", "transfers under way"},
    {"tftp", "pending", "tftp_pending_requests", NULL},
    {"tftp", "unknown", "tftp_unknown_sources_held", NULL},
    {"tftp", "sources", "tftp_sources", NULL},
    {"tftp", "rate_bps", "pacer_rate_bytes_per_second", NULL,
     "the pacer's rate (TFTP and HTTP share it)", NULL, 1.0 / 8},
    {"tftp", "backlog_bytes", "pacer_backlog_bytes", NULL},
    {"tftp", "rx_drops", "rx_drops_total", "protocol=\"tftp\"", DROP_HELP},
    {"tftp", "tx_errors", "tx_errors_total", "protocol=\"tftp\"", TXERR_HELP},

    {"dhcp", "received", "dhcp_received_total", NULL},
    {"dhcp", "offers", "dhcp_replies_total", "type=\"offer\"", "DHCP replies sent, by type"},
    {"dhcp", "acks", "dhcp_replies_total", "type=\"ack\""},
    {"dhcp", "naks", "dhcp_replies_total", "type=\"nak\""},
    {"dhcp", "informs", "dhcp_replies_total", "type=\"inform\""},
    {"dhcp", "bootp", "dhcp_replies_total", "type=\"bootp\""},
    {"dhcp", "proxy_offers", "dhcp_replies_total", "type=\"proxy_offer\""},
    {"dhcp", "proxy_acks", "dhcp_replies_total", "type=\"proxy_ack\""},
    {"dhcp", "declines", "requests_total", "protocol=\"dhcp\",type=\"decline\"", REQ_HELP},
    {"dhcp", "releases", "requests_total", "protocol=\"dhcp\",type=\"release\"", REQ_HELP},
    {"dhcp", "malformed", "malformed_total", "protocol=\"dhcp\"", MALF_HELP},
    {"dhcp", "ignored", "dhcp_unanswered_total", "reason=\"not_for_us\"",
     "DHCP requests not answered, by why"},
    {"dhcp", "no_subnet", "dhcp_unanswered_total", "reason=\"no_subnet\""},
    {"dhcp", "unknown_ignored", "dhcp_unanswered_total", "reason=\"unknown_client\""},
    {"dhcp", "pool_exhausted", "dhcp_unanswered_total", "reason=\"pool_exhausted\""},
    {"dhcp", "client_limited", "dhcp_unanswered_total", "reason=\"client_rate\""},
    {"dhcp", "not_mine", "dhcp_unanswered_total", "reason=\"other_server\""},
    {"dhcp", "pool_waiting", "dhcp_unanswered_total", "reason=\"database_waiting\""},
    {"dhcp", "proxy_learned", "dhcp_proxy_learned_total", NULL},
    {"dhcp", "lease_conflicts", "dhcp_lease_conflicts_total", NULL},
    {"dhcp", "lease_write_errors", "dhcp_lease_write_errors_total", NULL},
    {"dhcp", "lease_synced", "dhcp_lease_commits_total", NULL},
    {"dhcp", "lease_commit_seconds", "dhcp_lease_commit_seconds", NULL},
    {"dhcp", "pin_errors", "dhcp_pin_errors_total", NULL},
    {"dhcp", "rx_drops", "rx_drops_total", "protocol=\"dhcp\"", DROP_HELP},
    {"dhcp", "tx_errors", "tx_errors_total", "protocol=\"dhcp\"", TXERR_HELP},

    {"http", "connections", "http_connections", NULL},
    {"http", "connections_total", "http_connections_accepted_total", NULL},
    {"http", "request_timeouts", "http_connections_cut_total", "reason=\"request_timeout\"",
     "HTTP connections closed by herd, by why"},
    {"http", "evicted", "http_connections_cut_total", "reason=\"evicted\""},
    {"http", "refused", "http_connections_cut_total", "reason=\"refused\""},
    {"http", "requests", "requests_total", "protocol=\"http\",type=\"request\"", REQ_HELP},
    {"http", "ok", "http_responses_total", "code=\"200\"", "HTTP responses, by status"},
    {"http", "partial", "http_responses_total", "code=\"206\""},
    {"http", "errors_4xx", "http_responses_total", "code=\"4xx\""},
    {"http", "errors_5xx", "http_responses_total", "code=\"5xx\""},
    {"http", "bytes_queued", "http_body_queued_bytes_total", NULL},
    {"http", "bytes_given", "sent_bytes_total", "protocol=\"http\"", SENT_HELP},
    {"http", "turns", "http_pacer_turns_total", NULL},
    {"http", "paced_waiting", "http_paced_waiting", NULL},
    {"http", "active", "active_transfers", "protocol=\"http\"", "transfers under way"},

    {"log", "datagrams", "log_datagrams_total", NULL},
    {"log", "lines", "log_lines_total", NULL},
    {"log", "bytes", "log_written_bytes_total", NULL},
    {"log", "rate_dropped", "log_lines_dropped_total", "reason=\"rate\"",
     "node log lines not written, by why"},
    {"log", "lost", "log_lines_dropped_total", "reason=\"write_error\""},
    {"log", "unknown_dropped", "log_datagrams_unknown_dropped_total", NULL},
    {"log", "write_errors", "log_write_errors_total", NULL},
    {"log", "rotations", "log_rotations_total", NULL},
    {"log", "reopens", "log_reopens_total", NULL},
    {"log", "evictions", "log_sender_evictions_total", NULL},
    {"log", "senders", "log_senders", NULL},
    {"log", "rx_drops", "rx_drops_total", "protocol=\"log\"", DROP_HELP},

    /* helper A's nodes_stats_visit(): gauges nodes_<stage>. */
    {"nodes", "nodes_*", "nodes", NULL, "nodes in each boot stage now", "stage"},
    {"nodes", "stage_seconds_*", "node_stage_seconds", NULL, "time nodes spent in each boot stage",
     "stage"},
};

struct sample {
	const char *family; /* NULL: herd_<module>_<name>, in own */
	const char *help;
	const struct family_map *map;
	enum stat_kind kind;
	uint64_t value;
	struct stat_hist hist;
	char own[96];	  /* a family name made here */
	char labels[160]; /* escaped */
};

struct metrics {
	struct stat_visitor v;
	const char *module;
	struct sample *s;
	size_t n, cap;
	int err;
};

/* Label values escape \, " and newline; HELP text \ and newline. */
static void escape(char *out, size_t size, const char *in, bool quote)
{
	size_t o = 0;

	for (; *in && o + 3 < size; in++) {
		if (*in == '\\' || *in == '\n' || (quote && *in == '"')) {
			out[o++] = '\\';
			out[o++] = *in == '\n' ? 'n' : *in;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static const struct family_map *find_map(const char *module, const char *name)
{
	for (size_t i = 0; i < sizeof(family_table) / sizeof(family_table[0]); i++) {
		const struct family_map *f = &family_table[i];
		size_t n = strlen(f->name);
		if (strcmp(f->module, module) != 0)
			continue;
		if (f->name[n - 1] == '*' ? strncmp(f->name, name, n - 1) == 0
					  : strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

static struct sample *add_sample(struct metrics *m, enum stat_kind kind, const char *name,
				 const char *help)
{
	const struct family_map *f = find_map(m->module, name);
	struct sample *s;

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 128;
		struct sample *ns = realloc(m->s, cap * sizeof(*ns));
		if (ns == NULL) {
			m->err = -ENOMEM;
			return NULL;
		}
		m->s = ns, m->cap = cap;
	}
	s = &m->s[m->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->map = f;
	s->help = f && f->help ? f->help : help;
	if (f) {
		s->family = f->family;
		if (f->key) {
			char v[64];
			escape(v, sizeof(v), name + strlen(f->name) - 1, true);
			snprintf(s->labels, sizeof(s->labels), "%s=\"%s\"", f->key, v);
		} else if (f->labels) {
			snprintf(s->labels, sizeof(s->labels), "%s", f->labels);
		}
	} else {
		snprintf(s->own, sizeof(s->own), "%s_%s%s", m->module, name,
			 kind == STAT_COUNTER ? "_total" : "");
		s->family = s->own;
	}
	return s;
}

static void on_value(void *ctx, enum stat_kind kind, const char *name, uint64_t value,
		     const char *help)
{
	struct sample *s = add_sample(ctx, kind, name, help);

	if (s)
		s->value = value;
}

static void on_hist(void *ctx, const char *name, const struct stat_hist *h, const char *help)
{
	struct sample *s = add_sample(ctx, STAT_HISTOGRAM, name, help);

	if (s)
		s->hist = *h;
}

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->v = (struct stat_visitor){m, on_value, on_hist};
	return m;
}

const struct stat_visitor *metrics_module(struct metrics *m, const char *module)
{
	m->module = module;
	return &m->v;
}

static const char *type_name(enum stat_kind k)
{
	return k == STAT_COUNTER ? "counter" : k == STAT_GAUGE ? "gauge" : "histogram";
}

/* name{labels[,extra]} or name{extra} or name. */
static void write_name(FILE *f, const char *family, const char *suffix, const char *labels,
		       const char *extra)
{
	bool a = labels[0] != '\0', b = extra != NULL;

	fprintf(f, "herd_%s%s%s%s%s%s%s ", family, suffix, a || b ? "{" : "", labels,
		a && b ? "," : "", b ? extra : "", a || b ? "}" : "");
}

static void write_hist(FILE *f, const struct sample *s)
{
	const struct stat_hist *h = &s->hist;
	uint64_t cum = 0;
	char le[48];

	for (unsigned i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		snprintf(le, sizeof(le), "le=\"%g\"", h->bounds[i]);
		write_name(f, s->family, "_bucket", s->labels, le);
		fprintf(f, "%llu\n", (unsigned long long)cum);
	}
	write_name(f, s->family, "_bucket", s->labels, "le=\"+Inf\"");
	fprintf(f, "%llu\n", (unsigned long long)h->count);
	write_name(f, s->family, "_sum", s->labels, NULL);
	fprintf(f, "%.9g\n", h->sum);
	write_name(f, s->family, "_count", s->labels, NULL);
	fprintf(f, "%llu\n", (unsigned long long)h->count);
}

static void write_sample(FILE *f, const struct sample *s)
{
	if (s->kind == STAT_HISTOGRAM) {
		write_hist(f, s);
		return;
	}
	write_name(f, s->family, "", s->labels, NULL);
	if (s->map && s->map->scale != 0)
		fprintf(f, "%.17g\n", (double)s->value * s->map->scale);
	else
		fprintf(f, "%llu\n", (unsigned long long)s->value);
}

static void write_family(FILE *f, const struct metrics *m, size_t first, bool *done)
{
	const struct sample *s = &m->s[first];
	char help[512];

	escape(help, sizeof(help), s->help ? s->help : "", false);
	fprintf(f, "# HELP herd_%s %s\n# TYPE herd_%s %s\n", s->family, help, s->family,
		type_name(s->kind));
	for (size_t i = first; i < m->n; i++) {
		if (!done[i] && strcmp(m->s[i].family, s->family) == 0) {
			done[i] = true;
			write_sample(f, &m->s[i]);
		}
	}
}

int metrics_render(const struct metrics *m, char **out, size_t *len)
{
	bool *done;
	FILE *f;

	if (m->err < 0)
		return m->err;
	done = calloc(m->n + 1, sizeof(*done));
	if (done == NULL)
		return -ENOMEM;
	*out = NULL;
	f = open_memstream(out, len);
	if (f == NULL) {
		free(done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n; i++)
		if (!done[i])
			write_family(f, m, i, done);
	free(done);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->s);
	free(m);
}
