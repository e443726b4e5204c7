/* The node state (ops/nodes.c) through the events the rooms send: a whole
 * boot's stages in order, a new boot resetting the timeline, an OS's DHCP
 * client changing nothing, failures (an abandoned transfer, a DECLINE, the
 * initramfs's FAILED line, a stage deadline) with their stage and reason,
 * a table that never grows past max_nodes, the file classes, and the JSON
 * (read back by ops/json, the same reader `herd status` uses). Also the
 * control socket's request reader. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ops/control.h"
#include "ops/json.h"
#include "ops/nodes.h"

struct fixture {
	struct nodes *n;
	struct node_events ev;
};

static const uint8_t MAC1[6] = {0x02, 0x48, 0, 0, 0, 1};

static struct fixture *setup(uint32_t max, unsigned timeout_s)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct nodes_conf c = {.max_nodes = max, .stage_timeout_s = timeout_s};

	strcpy(c.up_marker, "herd-init: root: mounted");
	f->n = nodes_new(&c);
	assert_non_null(f->n);
	nodes_events(f->n, &f->ev);
	return f;
}

static void teardown(struct fixture *f)
{
	nodes_free(f->n);
	free(f);
}

static uint32_t ip4(unsigned last)
{
	return htonl(0x0a000000u | last);
}

static void dhcp(struct fixture *f, const uint8_t *mac, unsigned last, bool booting, mono_t now)
{
	f->ev.dhcp(f->ev.ctx, NODE_DHCP_ACK, mac, ip4(last), "n1", "rack1", "undionly.kpxe",
		   booting, now);
}

static uint8_t xfer(struct fixture *f, unsigned last, const char *file, mono_t now)
{
	struct ipaddr a = ipaddr_v4(ip4(last));

	return f->ev.xfer_start(f->ev.ctx, NODE_TFTP, &a, file, 1000, now);
}

static void xfer_end(struct fixture *f, unsigned last, uint8_t kind, enum node_xfer_ev e,
		     uint64_t bytes, mono_t now)
{
	struct ipaddr a = ipaddr_v4(ip4(last));

	f->ev.xfer(f->ev.ctx, e, kind, &a, bytes, now);
}

static void log_line(struct fixture *f, unsigned last, const char *text, mono_t now)
{
	struct ipaddr a = ipaddr_v4(ip4(last));

	f->ev.log_line(f->ev.ctx, &a, (const uint8_t *)text, strlen(text), now);
}

/* The JSON of node `name` (or all), parsed. */
static struct json *json_of(struct fixture *f, const char *name, mono_t now)
{
	char *out = NULL;
	size_t len = 0;
	struct json *j;

	assert_int_equal(nodes_json(f->n, now, name, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	j = json_parse(out);
	if (j == NULL)
		fail_msg("not JSON: %s", out);
	free(out);
	return j;
}

static const struct json *first_node(const struct json *j)
{
	const struct json *nodes = json_get(j, "nodes");

	assert_non_null(nodes);
	assert_true(nodes->nkids >= 1);
	return &nodes->kids[0];
}

static void test_whole_boot(void **state)
{
	struct fixture *f = setup(16, 300);
	mono_t t = MONO_SEC(1000);
	uint8_t k;

	(void)state;
	dhcp(f, MAC1, 5, true, t);
	assert_int_equal(nodes_count(f->n, NODE_DHCP), 1);
	k = xfer(f, 5, "undionly.kpxe", t + 1);
	assert_int_equal(k, NODE_FILE_LOADER);
	assert_int_equal(nodes_count(f->n, NODE_DHCP), 1); /* until it is complete */
	xfer_end(f, 5, k, NODE_XFER_RETRY, 0, t + 2);
	xfer_end(f, 5, k, NODE_XFER_DONE, 70000, t + 3);
	assert_int_equal(nodes_count(f->n, NODE_LOADER), 1);
	/* iPXE's own DHCP and its script: the same boot. */
	dhcp(f, MAC1, 5, true, t + 4);
	assert_int_equal(xfer(f, 5, "herd/ipxe/02-48-00-00-00-01.ipxe", t + 5), NODE_FILE_OTHER);
	assert_int_equal(nodes_count(f->n, NODE_LOADER), 1);
	k = xfer(f, 5, "/vmlinuz", t + 6);
	assert_int_equal(nodes_count(f->n, NODE_KERNEL), 1);
	xfer_end(f, 5, k, NODE_XFER_DONE, 3000000, t + 7);
	k = xfer(f, 5, "initrd.img", t + 8);
	assert_int_equal(nodes_count(f->n, NODE_INITRD), 1);
	xfer_end(f, 5, k, NODE_XFER_DONE, 700000, t + 9);
	/* The initramfs's udhcpc: not a new boot. */
	dhcp(f, MAC1, 5, false, t + 10);
	assert_int_equal(nodes_count(f->n, NODE_INITRD), 1);
	log_line(f, 5, "Linux version 6.1", t + 11);
	assert_int_equal(nodes_count(f->n, NODE_LOGGING), 1);
	log_line(f, 5, "herd-init: root: mounted 10.0.0.1:/img read-only", t + MONO_SEC(20));
	assert_int_equal(nodes_count(f->n, NODE_UP), 1);

	struct json *j = json_of(f, NULL, t + MONO_SEC(30));
	const struct json *nd = first_node(j);
	assert_string_equal(json_get_str(nd, "name"), "n1");
	assert_string_equal(json_get_str(nd, "group"), "rack1");
	assert_string_equal(json_get_str(nd, "ip"), "10.0.0.5");
	assert_string_equal(json_get_str(nd, "mac"), "02:48:00:00:00:01");
	assert_string_equal(json_get_str(nd, "stage"), "up");
	assert_int_equal((int)json_get_num(nd, "bytes"), 3770000);
	assert_int_equal((int)json_get_num(nd, "retries"), 1);
	assert_true(json_get_num(nd, "since_s") > 9.9 && json_get_num(nd, "since_s") < 10.1);
	assert_int_equal(json_get(nd, "failed_stage")->type, JSON_NULL);
	assert_int_equal((int)json_get_num(json_get(j, "counts"), "up"), 1);
	json_free(j);

	/* One node: every stage in the timeline, the log tail (none here). */
	j = json_of(f, "n1", t + MONO_SEC(30));
	nd = first_node(j);
	assert_int_equal(json_get(nd, "timeline")->nkids, 6);
	assert_string_equal(json_get_str(&json_get(nd, "timeline")->kids[5], "stage"), "up");
	assert_int_equal(json_get(nd, "log_tail")->nkids, 0);
	json_free(j);
	char *out = NULL;
	size_t len;
	assert_int_equal(nodes_json(f->n, t, "nobody", &out, &len), -ENOENT);

	/* The firmware again, after the kernel: a new boot. */
	dhcp(f, MAC1, 5, true, t + MONO_SEC(40));
	assert_int_equal(nodes_count(f->n, NODE_UP), 0);
	assert_int_equal(nodes_count(f->n, NODE_DHCP), 1);
	j = json_of(f, "n1", t + MONO_SEC(40));
	assert_int_equal(json_get(first_node(j), "timeline")->nkids, 1);
	assert_int_equal((int)json_get_num(first_node(j), "bytes"), 0);
	json_free(j);
	teardown(f);
}

static void assert_failed(struct fixture *f, const char *at, const char *why_part, mono_t now)
{
	struct json *j = json_of(f, NULL, now);
	const struct json *nd = first_node(j);

	assert_string_equal(json_get_str(nd, "stage"), "failed");
	assert_string_equal(json_get_str(nd, "failed_stage"), at);
	if (strstr(json_get_str(nd, "why"), why_part) == NULL)
		fail_msg("why: '%s', not '%s'", json_get_str(nd, "why"), why_part);
	json_free(j);
}

static void test_failures(void **state)
{
	struct fixture *f = setup(16, 0);
	mono_t t = MONO_SEC(1);
	uint8_t k;

	(void)state;
	/* The kernel transfer abandoned by the client. */
	dhcp(f, MAC1, 5, true, t);
	k = xfer(f, 5, "undionly.kpxe", t);
	xfer_end(f, 5, k, NODE_XFER_DONE, 100, t);
	k = xfer(f, 5, "vmlinuz-6.1", t);
	xfer_end(f, 5, k, NODE_XFER_ABANDON, 4096, t + 1);
	assert_int_equal(nodes_count(f->n, NODE_FAILED), 1);
	assert_failed(f, "kernel", "abandoned", t + 2);
	/* The firmware retries: the node goes on (a new boot). */
	dhcp(f, MAC1, 5, true, t + 3);
	assert_int_equal(nodes_count(f->n, NODE_FAILED), 0);
	/* The loader abandoned: failed at loader. */
	k = xfer(f, 5, "undionly.kpxe", t + 4);
	xfer_end(f, 5, k, NODE_XFER_ABANDON, 0, t + 5);
	assert_failed(f, "loader", "loader transfer abandoned", t + 5);
	/* A DECLINE. */
	dhcp(f, MAC1, 5, true, t + 6);
	f->ev.dhcp(f->ev.ctx, NODE_DHCP_DECLINE, MAC1, 0, NULL, NULL, NULL, false, t + 7);
	assert_failed(f, "dhcp", "DECLINE", t + 7);
	/* herd's initramfs reports a failure. */
	dhcp(f, MAC1, 5, true, t + 8);
	k = xfer(f, 5, "initrd.img", t + 9);
	log_line(f, 5, "<3>herd-init: FAILED step=root: mount: connection refused\n", t + 10);
	assert_failed(f, "initrd", "step=root: mount", t + 10);
	/* What it logs next (its rescue shell) does not undo its own word... */
	log_line(f, 5, "herd-init: a shell (herd.fail=shell)", t + 11);
	assert_failed(f, "initrd", "step=root: mount", t + 11);
	/* ...but a node herd gave up on that then logs is alive. */
	dhcp(f, MAC1, 5, true, t + 12);
	k = xfer(f, 5, "vmlinuz", t + 13);
	xfer_end(f, 5, k, NODE_XFER_ABANDON, 10, t + 14);
	assert_failed(f, "kernel", "abandoned", t + 14);
	log_line(f, 5, "Linux version 6.1", t + 15);
	assert_int_equal(nodes_count(f->n, NODE_LOGGING), 1);
	teardown(f);
}

static void test_deadline(void **state)
{
	struct fixture *f = setup(16, 60);
	uint8_t mac2[6] = {0x02, 0x48, 0, 0, 0, 2};
	mono_t t = MONO_SEC(100);

	(void)state;
	assert_int_equal(nodes_next_deadline(f->n), MONO_NEVER);
	dhcp(f, MAC1, 5, true, t);
	dhcp(f, mac2, 6, true, t + MONO_SEC(10));
	assert_int_equal(nodes_next_deadline(f->n), t + MONO_SEC(60));
	/* The first moves on: its deadline starts again, the second's is next. */
	xfer(f, 5, "vmlinuz", t + MONO_SEC(30));
	assert_int_equal(nodes_next_deadline(f->n), t + MONO_SEC(70));
	nodes_tick(f->n, t + MONO_SEC(69));
	assert_int_equal(nodes_count(f->n, NODE_FAILED), 0);
	nodes_tick(f->n, t + MONO_SEC(70));
	assert_int_equal(nodes_count(f->n, NODE_FAILED), 1);
	assert_int_equal(nodes_count(f->n, NODE_KERNEL), 1);
	assert_int_equal(nodes_next_deadline(f->n), t + MONO_SEC(90));
	/* Up: no deadline any more. */
	log_line(f, 5, "herd-init: root: mounted", t + MONO_SEC(80));
	assert_int_equal(nodes_next_deadline(f->n), MONO_NEVER);
	nodes_tick(f->n, t + MONO_SEC(1000));
	assert_int_equal(nodes_count(f->n, NODE_UP), 1);

	struct json *j = json_of(f, NULL, t + MONO_SEC(100));
	const struct json *nodes = json_get(j, "nodes");
	assert_int_equal(nodes->nkids, 2);
	assert_string_equal(json_get_str(&nodes->kids[1], "failed_stage"), "dhcp");
	assert_non_null(strstr(json_get_str(&nodes->kids[1], "why"), "timeout"));
	json_free(j);
	teardown(f);
}

static void count_visit(void *ctx, enum stat_kind kind, const char *name, uint64_t value,
			const char *help)
{
	uint64_t *untracked = ctx;

	(void)kind, (void)help;
	if (strcmp(name, "untracked") == 0)
		*untracked = value;
}

static void test_capacity(void **state)
{
	struct fixture *f = setup(100, 0);
	uint64_t untracked = 0;
	struct stat_visitor v = {&untracked, count_visit};

	(void)state;
	for (unsigned i = 0; i < 150; i++) {
		uint8_t mac[6] = {0x02, 0x48, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		dhcp(f, mac, 10 + i, true, MONO_SEC(1));
	}
	assert_int_equal(nodes_count(f->n, NODE_DHCP), 100);
	nodes_stats_visit(f->n, &v);
	assert_int_equal(untracked, 50);
	/* An address given to another node follows it. */
	uint8_t mac0[6] = {0x02, 0x48, 0, 0, 0, 0};
	uint8_t mac1[6] = {0x02, 0x48, 0, 0, 0, 1};
	dhcp(f, mac1, 10, true, MONO_SEC(2)); /* mac0's address, now mac1's */
	xfer(f, 10, "vmlinuz", MONO_SEC(3));
	assert_int_equal(nodes_count(f->n, NODE_KERNEL), 1);
	(void)mac0;
	/* An OS's DHCP client of a node never seen boot: not tracked. */
	uint8_t other[6] = {0x02, 0x48, 1, 0, 0, 0};
	f->ev.dhcp(f->ev.ctx, NODE_DHCP_ACK, other, ip4(250), NULL, NULL, NULL, false, MONO_SEC(4));
	nodes_stats_visit(f->n, &v);
	assert_int_equal(untracked, 50);
	assert_true(nodes_memory(&(struct nodes_conf){.max_nodes = 65536}) < 64u << 20);
	teardown(f);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(nodes_classify_name("undionly.kpxe", "/undionly.kpxe"), NODE_FILE_LOADER);
	assert_int_equal(nodes_classify_name("", "pxelinux.0"), NODE_FILE_OTHER);
	assert_int_equal(nodes_classify_name("", "ldlinux.c32"), NODE_FILE_OTHER);
	assert_int_equal(nodes_classify_name("", "linux.c32"), NODE_FILE_OTHER);
	assert_int_equal(nodes_classify_name("", "herd/images/x/3/vmlinuz"), NODE_FILE_KERNEL);
	assert_int_equal(nodes_classify_name("", "boot/bzImage"), NODE_FILE_KERNEL);
	assert_int_equal(nodes_classify_name("", "herd/images/x/3/initrd.img"), NODE_FILE_INITRD);
	assert_int_equal(nodes_classify_name("", "initramfs-6.1.img"), NODE_FILE_INITRD);
	assert_int_equal(nodes_classify_name("", "pxelinux.cfg/01-02-48-00-00-00-01"),
			 NODE_FILE_OTHER);
}

static void test_json_escapes_and_requests(void **state)
{
	struct fixture *f = setup(4, 0);
	char out[64];
	struct json *j;

	(void)state;
	f->ev.dhcp(f->ev.ctx, NODE_DHCP_OFFER, MAC1, ip4(5), "a\"b\\c", NULL, "", true, 1);
	j = json_of(f, NULL, 2);
	assert_string_equal(json_get_str(first_node(j), "name"), "a\"b\\c");
	json_free(j);
	teardown(f);

	assert_int_equal(control_json_str("{\"cmd\":\"node\",\"name\":\"n1\"}", "cmd", out, 64), 0);
	assert_string_equal(out, "node");
	assert_int_equal(
	    control_json_str("{\"cmd\" : \"node\", \"name\": \"n\\\"1\"}", "name", out, 64), 0);
	assert_string_equal(out, "n\"1");
	assert_int_equal(control_json_str("{\"xcmd\":\"a\"}", "cmd", out, 64), -ENOENT);
	assert_int_equal(control_json_str("{\"cmd\":\"aaaaaaaa\"}", "cmd", out, 4), -ENOSPC);
	assert_null(json_parse("{\"a\":"));
	assert_null(json_parse("[1,2"));
	assert_null(json_parse("{} x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_boot), cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_deadline),   cmocka_unit_test(test_capacity),
	    cmocka_unit_test(test_classify),   cmocka_unit_test(test_json_escapes_and_requests),
	};
	return cmocka_run_group_tests_name("nodes", tests, NULL, NULL);
}
