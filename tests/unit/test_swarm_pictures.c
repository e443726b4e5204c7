/* herd swarm's pictures (swarm/swarm_pictures.c): the timeline's clients
 * with their stages, times after the first start, bytes, retries and
 * outcome; the chart's step curve (one step per client done), the wire
 * limit only with a link rate, a title escaped for XML. (test_metrics
 * parses both from a real run with python3's json and xml.etree.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "swarm/swarm_pictures.h"
#include "swarm/swarm_profiles.h"

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Three clients: two done (0.5 s and 1.5 s after the first start), one
 * failed by its firmware's timeout. */
struct three {
	struct swarm_profile prof;
	struct swarm_client c[3];
	const struct swarm_client *p[3];
	struct swarm_marks marks[3];
};

static void three_init(struct three *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->prof.name, sizeof(t->prof.name), "ipxe");
	for (unsigned i = 0; i < 3; i++) {
		struct swarm_client *c = &t->c[i];
		c->fw = &t->prof;
		c->index = i;
		c->t_start = MONO_SEC(10) + MONO_MS(100) * i;
		c->stage = i < 2 ? SWARM_DONE : SWARM_FAILED;
		c->fail = i < 2 ? SWARM_FAIL_NONE : SWARM_FAIL_TIMEOUT;
		c->t_done = MONO_SEC(10) + (i == 0 ? MONO_MS(500) : MONO_MS(1500));
		c->tftp_bytes = 1000;
		c->http_bytes = i == 1 ? 5000 : 0;
		c->retries = (uint16_t)i;
		t->marks[i].m[0] = (struct swarm_mark){0, SWARM_MARK_DHCP, SWARM_BOOT_FIRMWARE};
		t->marks[i].m[1] = (struct swarm_mark){.ms = 20, .kind = SWARM_MARK_ACKED,
						       .ip = htonl(0xc0a80064 + i),
						       .server = htonl(0xc0a80001)};
		t->marks[i].m[2] = (struct swarm_mark){
		    400, i < 2 ? SWARM_MARK_DONE : SWARM_MARK_FAILED, SWARM_BOOT_FIRMWARE};
		t->marks[i].n = 3;
		t->p[i] = c;
	}
}

static char *write_timeline(const struct three *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	swarm_timeline_write(f, t->p, t->marks, 3, 0x01020300);
	fclose(f);
	return text;
}

static void test_timeline(void **state)
{
	(void)state;
	struct three t;

	three_init(&t);
	char *j = write_timeline(&t);
	assert_non_null(strstr(j, "{\"clients\":3,\"ok\":2,\"failed\":1,\"timeline\":["));
	assert_non_null(strstr(j,
			       "{\"client\":1,\"mac\":\"02:48:01:02:03:01\",\"firmware\":\"ipxe\","
			       "\"outcome\":\"ok\",\"why\":null,\"done_s\":1.500000,"
			       "\"bytes\":6000,\"retries\":1,\"boot_retries\":0,\"stages\":["
			       "{\"t\":0.100,\"stage\":\"firmware\",\"event\":\"dhcp\"},"
			       "{\"t\":0.120,\"stage\":\"firmware\",\"event\":\"acked\","
			       "\"ip\":\"192.168.0.101\",\"server\":\"192.168.0.1\"},"
			       "{\"t\":0.500,\"stage\":\"firmware\",\"event\":\"done\"}]}"));
	assert_non_null(strstr(j, "\"outcome\":\"failed\",\"why\":\"timeout\""));
	free(j);

	/* A client that booted again: the reboot event says after what. */
	t.c[2].reboots = 1;
	t.marks[2].m[2] = (struct swarm_mark){.ms = 300, .kind = SWARM_MARK_REBOOT,
					      .why = SWARM_FAIL_DHCP};
	t.marks[2].m[3] = (struct swarm_mark){.ms = 400, .kind = SWARM_MARK_FAILED};
	t.marks[2].n = 4;
	j = write_timeline(&t);
	assert_non_null(strstr(j, "\"boot_retries\":1,"));
	assert_non_null(strstr(j, "{\"t\":0.500,\"stage\":\"firmware\",\"event\":\"reboot\","
				  "\"why\":\"dhcp_timeout\"}"));
	assert_int_equal(count(j, "\"client\":"), 3);
	assert_true(j[strlen(j) - 1] == '\n' && strstr(j, "]}\n") != NULL);
	free(j);

	/* Without marks (no --timeline array): the stages are empty. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	swarm_timeline_write(f, t.p, NULL, 3, 0);
	fclose(f);
	assert_int_equal(count(text, "\"stages\":[]"), 3);
	free(text);
}

static char *write_chart(const struct three *t, double link_bps, const char *title)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	swarm_chart_write(f, t->p, 3, link_bps, title);
	fclose(f);
	return text;
}

static void test_chart(void **state)
{
	(void)state;
	struct three t;

	three_init(&t);
	char *svg = write_chart(&t, 0, "a <b> & \"c\"");
	assert_true(strncmp(svg, "<?xml version=\"1.0\"", 19) == 0);
	assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(svg, "a &lt;b&gt; &amp; &quot;c&quot; (2 of 3 done)"));
	assert_int_equal(count(svg, "<path "), 1);
	assert_int_equal(count(svg, " V"), 2); /* a step per client done */
	assert_int_equal(count(svg, "stroke-dasharray"), 0);
	assert_non_null(strstr(svg, "</svg>\n"));
	assert_int_equal(count(svg, "<g"), count(svg, "</g>"));
	free(svg);

	/* 8000 bytes at 64 kbit/s: 1 s on the wire, drawn and said. */
	svg = write_chart(&t, 64000, "x");
	assert_int_equal(count(svg, "stroke-dasharray"), 2);
	assert_non_null(strstr(svg, "every byte at the link rate (1.00 s)"));
	free(svg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timeline),
	    cmocka_unit_test(test_chart),
	};
	return cmocka_run_group_tests_name("swarm_pictures", tests, NULL, NULL);
}
