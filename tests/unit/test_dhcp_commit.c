/* The DHCP server on a real lease journal (group commit, temp file): a pool
 * ACK leaves only once its record is durable; when the journal fails (a
 * file that may not grow, as on a full disk) the held ACK is dropped,
 * counted and logged, and serving goes on: OFFERs, inventory nodes, and
 * ACKs whose records reach the disk later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conf/conf.h"
#include "boot/policy.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"
#include "inventory/inventory.h"

#define WALL 1000

struct fixture {
	struct herd_config *cfg; /* owned by policy */
	struct inventory *inv;	 /* owned by policy */
	struct policy *policy;
	struct lease_table *leases;
	struct dhcp_server *srv;
	char path[64];
	struct dhcp_msg reply;
	unsigned nout;
	mono_t now;
	int saved_stderr, log_pipe[2];
};

static const char conf_text[] = "[dhcp]\nenabled = yes\nunknown = pool\n"
				"[subnet a]\nnetwork = 10.1.0.0/24\n"
				"pool = 10.1.0.100 - 10.1.0.103\n"
				"[group default]\nkernel = vmlinuz\n";

static const char inv_text[] = "n1 02:00:00:00:00:01 10.1.0.11 default\n";

static const uint8_t node_mac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac7[6] = {2, 0, 0, 0, 0, 7};
static const uint8_t mac8[6] = {2, 0, 0, 0, 0, 8};
static const uint8_t mac9[6] = {2, 0, 0, 0, 0, 9};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void capture(void *ctx, const struct dhcp_out *o)
{
	struct fixture *f = ctx;

	f->nout++;
	assert_int_equal(dhcp_parse(o->buf, o->len, &f->reply), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dhcp_tx tx = {f, capture, NULL};
	int fd, err;

	f->cfg = calloc(1, sizeof(*f->cfg));
	conf_defaults(f->cfg);
	assert_int_equal(conf_load_string(f->cfg, "t.conf", conf_text, stderr), 0);
	assert_int_equal(inventory_load_string(&f->inv, "t.tab", inv_text, &f->cfg->dhcp, stderr),
			 0);
	snprintf(f->path, sizeof(f->path), "/tmp/herd-leases-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->leases = lease_table_open(&f->cfg->dhcp, f->path, WALL, &err);
	assert_non_null(f->leases);
	f->policy = policy_new(f->cfg, f->inv);
	f->srv = dhcp_server_new(f->policy, f->leases, &tx);
	f->now = MONO_SEC(10);
	/* herd logs to stderr: read it from a pipe. */
	fflush(stderr);
	assert_int_equal(pipe2(f->log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
	f->saved_stderr = dup(2);
	dup2(f->log_pipe[1], 2);
	*state = f;
	return 0;
}

static char *captured_log(struct fixture *f)
{
	static char text[16384];
	ssize_t n;

	fflush(stderr);
	n = read(f->log_pipe[0], text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *rest = captured_log(f); /* cmocka's report of a failure among it */

	dup2(f->saved_stderr, 2);
	close(f->saved_stderr);
	close(f->log_pipe[0]);
	close(f->log_pipe[1]);
	fputs(rest, stderr);
	dhcp_server_free(f->srv);
	lease_table_close(f->leases);
	policy_unref(f->policy);
	unlink(f->path);
	free(f);
	return 0;
}

static void send_req(struct fixture *f, enum dhcp_type t, const uint8_t mac[6], uint32_t requested)
{
	uint8_t buf[DHCP_MAX_LEN];
	size_t n = dhcp_build_request(buf, sizeof(buf), t, 42, mac, 0, requested,
				      t == DHCPREQUEST ? ip("10.1.0.1") : 0, 0xffff, NULL, NULL);
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1"), .peer = {.port = 68}};

	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, n, f->now, WALL);
}

static uint8_t reply_type(struct fixture *f)
{
	uint8_t t = 0;

	assert_int_equal(f->nout, 1);
	dhcp_opt_u8(&f->reply, DHO_MSG_TYPE, &t);
	return t;
}

/* What the loop does when the commit eventfd is readable, once the writer
 * has dealt with record `seq` (written or failed). */
static void on_committed(struct fixture *f, uint64_t seq)
{
	struct pollfd p = {lease_eventfd(f->leases), POLLIN, 0};
	uint64_t synced, failed;

	for (;;) {
		synced = lease_synced(f->leases);
		failed = lease_failed(f->leases);
		if (synced >= seq || failed >= seq)
			break;
		assert_true(poll(&p, 1, 5000) > 0);
	}
	f->nout = 0;
	dhcp_server_release(f->srv, synced, failed, lease_error(f->leases), f->now);
}

static bool file_has(struct fixture *f, const char *text)
{
	char buf[4096];
	FILE *file = fopen(f->path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, file);

	fclose(file);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void test_ack_waits_for_its_record(void **state)
{
	struct fixture *f = *state;

	send_req(f, DHCPDISCOVER, mac9, 0);
	assert_int_equal(reply_type(f), DHCPOFFER); /* an offer is not journalled */
	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"));
	assert_int_equal(f->nout, 0); /* held: record 1 */
	assert_int_equal(dhcp_server_stats(f->srv)->acks, 1);
	dhcp_server_release(f->srv, 0, 0, 0, f->now);
	assert_int_equal(f->nout, 0);
	/* An inventory node has nothing to record: its ACK leaves at once. */
	send_req(f, DHCPREQUEST, node_mac, ip("10.1.0.11"));
	assert_int_equal(reply_type(f), DHCPACK);

	/* Two more pool clients: records 2 and 3, each ACK on its own record. */
	send_req(f, DHCPREQUEST, mac8, ip("10.1.0.101"));
	send_req(f, DHCPREQUEST, mac7, ip("10.1.0.102"));
	assert_int_equal(f->nout, 0);
	f->nout = 0;
	dhcp_server_release(f->srv, 2, 0, 0, f->now);
	assert_int_equal(f->nout, 2);
	assert_memory_equal(f->reply.chaddr, mac8, 6); /* the last one sent: 1 and 2 */

	/* The real writer: the ACK of record 3 leaves once it is in the file. */
	on_committed(f, 3);
	assert_true(file_has(f, "L 10.1.0.102 02:00:00:00:00:07 4600 "));
	assert_int_equal(reply_type(f), DHCPACK);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.102"));
	assert_memory_equal(f->reply.chaddr, mac7, 6);
	f->nout = 0;
	dhcp_server_release(f->srv, 3, 0, 0, f->now); /* nothing is sent twice */
	assert_int_equal(f->nout, 0);
	assert_int_equal(dhcp_server_stats(f->srv)->lease_write_errors, 0);
}

/* The lease file may not grow (RLIMIT_FSIZE: writes fail with EFBIG, as
 * with ENOSPC on a full disk) until `room`. No test output may go to a
 * file meanwhile. */
static void limit_file_size(bool room)
{
	static struct rlimit old;
	struct rlimit none;

	if (!room) {
		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &old);
		none = (struct rlimit){0, old.rlim_max};
		setrlimit(RLIMIT_FSIZE, &none);
	} else {
		setrlimit(RLIMIT_FSIZE, &old);
	}
}

static void test_journal_failure_drops_the_ack_and_serving_goes_on(void **state)
{
	struct fixture *f = *state;
	unsigned nout;

	send_req(f, DHCPDISCOVER, mac9, 0);
	limit_file_size(false);
	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"));
	nout = f->nout;
	on_committed(f, 1);
	limit_file_size(true);
	assert_int_equal(nout, 0);
	assert_int_equal(f->nout, 0); /* dropped, not sent */
	assert_int_equal(lease_failed(f->leases), 1);
	assert_int_equal(dhcp_server_stats(f->srv)->lease_write_errors, 1);
	assert_non_null(
	    strstr(captured_log(f), "dhcp: lease journal failed (File too large): 1 ACK not sent"));

	/* DISCOVERs and inventory nodes are still answered. */
	send_req(f, DHCPDISCOVER, mac8, 0);
	assert_int_equal(reply_type(f), DHCPOFFER);
	send_req(f, DHCPREQUEST, node_mac, ip("10.1.0.11"));
	assert_int_equal(reply_type(f), DHCPACK);

	/* The disk has room again: the client's retry is recorded and ACKed. */
	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"));
	assert_int_equal(f->nout, 0);
	on_committed(f, 2);
	assert_int_equal(reply_type(f), DHCPACK);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	assert_true(file_has(f, "L 10.1.0.100 02:00:00:00:00:09 4600 "));

	/* A journal that keeps failing: every drop counted, few lines logged. */
	limit_file_size(false);
	for (uint64_t seq = 3; seq < 23; seq++) {
		send_req(f, DHCPREQUEST, mac8, ip("10.1.0.101"));
		on_committed(f, seq);
		if (f->nout != 0)
			break;
	}
	limit_file_size(true);
	assert_int_equal(f->nout, 0);
	assert_int_equal(dhcp_server_stats(f->srv)->lease_write_errors, 21);
	assert_true(count(captured_log(f), "lease journal failed") <= 5);
	lease_table_close(f->leases);

	/* Only the durable lease is in the file, and no torn record. */
	int err;
	f->leases = lease_table_open(&f->cfg->dhcp, f->path, WALL, &err);
	assert_non_null(f->leases);
	char text[256];
	FILE *dump = fmemopen(text, sizeof(text), "w");
	lease_dump(f->leases, dump, WALL);
	fclose(dump);
	assert_string_equal(text, "10.1.0.100 02:00:00:00:00:09 4600\n");
	assert_null(strstr(captured_log(f), "damaged"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ack_waits_for_its_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_failure_drops_the_ack_and_serving_goes_on,
					    setup, teardown),
	};
	return cmocka_run_group_tests_name("dhcp_commit", tests, NULL, NULL);
}
