/* The Prometheus exposition writer (ops/metrics.c): one HELP and TYPE per
 * family whatever module its members come from, members told apart by
 * labels, escaping of HELP text and label values, histogram buckets
 * cumulative up to +Inf with _sum and _count, names the table does not
 * know still shown, scaled values (bits to bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ops/metrics.h"

static char *render(struct metrics *m)
{
	char *text;
	size_t len;

	assert_int_equal(metrics_render(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_families_across_modules(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();

	stat_counter(metrics_module(m, "tftp"), "rx_drops", 3, "lost");
	stat_counter(metrics_module(m, "tftp"), "requests", 7, "RRQs");
	stat_counter(metrics_module(m, "dhcp"), "rx_drops", 4, "lost");
	stat_counter(metrics_module(m, "log"), "rx_drops", 5, "lost");
	char *t = render(m);
	assert_int_equal(count(t, "# TYPE herd_rx_drops_total counter\n"), 1);
	assert_int_equal(count(t, "# HELP herd_rx_drops_total "), 1);
	/* The members follow their TYPE line, together. */
	const char *fam = strstr(t, "# TYPE herd_rx_drops_total");
	assert_non_null(strstr(fam, "\nherd_rx_drops_total{protocol=\"tftp\"} 3\n"
				    "herd_rx_drops_total{protocol=\"dhcp\"} 4\n"
				    "herd_rx_drops_total{protocol=\"log\"} 5\n"));
	assert_non_null(strstr(t, "herd_requests_total{protocol=\"tftp\",type=\"rrq\"} 7\n"));
	free(t);
	metrics_free(m);
}

static void test_escaping(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();

	/* A name the table does not know keeps its own help, escaped. */
	stat_gauge(metrics_module(m, "tftp"), "new_thing", 1, "a \\ back\nslash");
	/* A prefix rule puts the rest of the name in a label value. */
	stat_gauge(metrics_module(m, "nodes"), "nodes_we\"ird\\x\ny", 2, "h");
	char *t = render(m);
	assert_non_null(strstr(t, "# HELP herd_tftp_new_thing a \\\\ back\\nslash\n"
				  "# TYPE herd_tftp_new_thing gauge\nherd_tftp_new_thing 1\n"));
	assert_non_null(strstr(t, "herd_nodes{stage=\"we\\\"ird\\\\x\\ny\"} 2\n"));
	free(t);
	metrics_free(m);
}

static void test_histogram(void **state)
{
	(void)state;
	static const double bounds[] = {0.001, 0.01, 0.1};
	struct metrics *m = metrics_new();
	struct stat_hist h;

	stat_hist_init(&h, bounds, 3);
	stat_hist_observe(&h, 0.0005);
	stat_hist_observe(&h, 0.001); /* on a bound: that bucket (le) */
	stat_hist_observe(&h, 0.05);
	stat_hist_observe(&h, 7);
	stat_histogram(metrics_module(m, "dhcp"), "lease_commit_seconds", &h, "latency");
	char *t = render(m);
	assert_non_null(strstr(t, "# TYPE herd_dhcp_lease_commit_seconds histogram\n"
				  "herd_dhcp_lease_commit_seconds_bucket{le=\"0.001\"} 2\n"
				  "herd_dhcp_lease_commit_seconds_bucket{le=\"0.01\"} 2\n"
				  "herd_dhcp_lease_commit_seconds_bucket{le=\"0.1\"} 3\n"
				  "herd_dhcp_lease_commit_seconds_bucket{le=\"+Inf\"} 4\n"
				  "herd_dhcp_lease_commit_seconds_sum 7.0515\n"
				  "herd_dhcp_lease_commit_seconds_count 4\n"));
	free(t);
	metrics_free(m);
}

static void test_labelled_histogram_and_scale(void **state)
{
	(void)state;
	static const double bounds[] = {1, 10};
	struct metrics *m = metrics_new();
	struct stat_hist h;

	stat_hist_init(&h, bounds, 2);
	stat_hist_observe(&h, 3);
	stat_histogram(metrics_module(m, "nodes"), "stage_seconds_kernel", &h, "x");
	stat_gauge(metrics_module(m, "tftp"), "rate_bps", 8000, "bits");
	stat_counter(metrics_module(m, "http"), "requests", 2, "r");
	char *t = render(m);
	assert_non_null(strstr(t, "herd_node_stage_seconds_bucket{stage=\"kernel\",le=\"1\"} 0\n"
				  "herd_node_stage_seconds_bucket{stage=\"kernel\",le=\"10\"} 1\n"
				  "herd_node_stage_seconds_bucket{stage=\"kernel\",le=\"+Inf\"} 1\n"
				  "herd_node_stage_seconds_sum{stage=\"kernel\"} 3\n"
				  "herd_node_stage_seconds_count{stage=\"kernel\"} 1\n"));
	assert_non_null(strstr(t, "# TYPE herd_pacer_rate_bytes_per_second gauge\n"
				  "herd_pacer_rate_bytes_per_second 1000\n"));
	assert_non_null(strstr(t, "herd_requests_total{protocol=\"http\",type=\"request\"} 2\n"));
	free(t);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_families_across_modules),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_labelled_histogram_and_scale),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
