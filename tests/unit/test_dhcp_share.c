/* The DHCP server as one of several ([cluster]): a lease store that can
 * refuse a record (another server's client holds the address) or take no
 * new lease (the database away), and a share of the clients. The store
 * here is a fake with the interface of cluster/cluster.c; the real one
 * runs in tests/system/test_cluster.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "boot/policy.h"
#include "cluster/cluster.h"
#include "conf/conf.h"
#include "dhcp/dhcp_server.h"
#include "dhcp/dhcp_wire.h"
#include "inventory/inventory.h"

#define WALL 1000

struct fake_store {
	uint64_t appended, synced;
	uint64_t refused; /* the one record refused, 0: none */
	bool accepting;
};

struct fixture {
	struct policy *policy;
	struct lease_table *leases;
	struct dhcp_server *srv;
	struct fake_store store;
	struct dhcp_msg reply;
	unsigned nout;
	uint8_t not_mine[6]; /* the client of another server's share */
};

static const char conf_text[] = "[dhcp]\nenabled = yes\nunknown = pool\n"
				"[subnet a]\nnetwork = 10.1.0.0/24\n"
				"pool = 10.1.0.100 - 10.1.0.103\n"
				"[group default]\nkernel = vmlinuz\n";
static const char inv_text[] = "n1 02:00:00:00:00:01 10.1.0.11 default\n";
static const uint8_t node_mac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac8[6] = {2, 0, 0, 0, 0, 8};
static const uint8_t mac9[6] = {2, 0, 0, 0, 0, 9};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static int64_t fake_put(void *ctx, uint32_t a, const uint8_t mac[6], int64_t expires,
			const uint8_t owner[6])
{
	struct fake_store *s = ctx;

	(void)a, (void)mac, (void)expires, (void)owner;
	return (int64_t)++s->appended;
}

static int fake_eventfd(void *ctx)
{
	(void)ctx;
	return -1;
}

static uint64_t fake_synced(void *ctx)
{
	return ((struct fake_store *)ctx)->synced;
}

static uint64_t fake_failed(void *ctx)
{
	(void)ctx;
	return 0;
}

static int fake_error(void *ctx)
{
	(void)ctx;
	return 0;
}

static bool fake_accepting(void *ctx)
{
	return ((struct fake_store *)ctx)->accepting;
}

static bool fake_rejected(void *ctx, uint64_t seq)
{
	return ((struct fake_store *)ctx)->refused == seq;
}

static bool share(const void *ctx, const uint8_t mac[6])
{
	const struct fixture *f = ctx;

	return memcmp(mac, f->not_mine, 6) != 0;
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
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	struct inventory *inv;
	struct dhcp_tx tx = {f, capture, NULL};
	int err;

	conf_defaults(cfg);
	assert_int_equal(conf_load_string(cfg, "t.conf", conf_text, stderr), 0);
	assert_int_equal(inventory_load_string(&inv, "t.tab", inv_text, &cfg->dhcp, stderr), 0);
	f->leases = lease_table_open(&cfg->dhcp, "", WALL, &err);
	assert_non_null(f->leases);
	f->store.accepting = true;
	lease_table_set_store(f->leases, &(struct lease_store){.ctx = &f->store,
							       .put = fake_put,
							       .eventfd = fake_eventfd,
							       .synced = fake_synced,
							       .failed = fake_failed,
							       .error = fake_error,
							       .accepting = fake_accepting,
							       .rejected = fake_rejected});
	f->policy = policy_new(cfg, inv);
	f->srv = dhcp_server_new(f->policy, f->leases, &tx);
	dhcp_server_set_share(f->srv, share, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dhcp_server_free(f->srv);
	lease_table_close(f->leases);
	policy_unref(f->policy);
	free(f);
	return 0;
}

/* A request from mac: requested address, server ID, ciaddr (0: none). */
static void send_req(struct fixture *f, enum dhcp_type t, const uint8_t mac[6], uint32_t requested,
		     uint32_t server_id, uint32_t ciaddr)
{
	uint8_t buf[DHCP_MAX_LEN];
	size_t n = dhcp_build_request(buf, sizeof(buf), t, 42, mac, ciaddr, requested, server_id,
				      0xffff, NULL, NULL);
	struct dhcp_rx rx = {.ifindex = 3, .local_ip = ip("10.1.0.1"), .peer = {.port = 68}};

	f->nout = 0;
	dhcp_server_input(f->srv, &rx, buf, n, MONO_SEC(10), WALL);
}

static uint8_t reply_type(struct fixture *f)
{
	uint8_t t = 0;

	assert_int_equal(f->nout, 1);
	dhcp_opt_u8(&f->reply, DHO_MSG_TYPE, &t);
	return t;
}

static void release(struct fixture *f, uint64_t synced)
{
	f->store.synced = synced;
	f->nout = 0;
	dhcp_server_release(f->srv, synced, 0, 0, MONO_SEC(10));
}

/* The database gave the address to another server's client: the ACK
 * never leaves, the client's next REQUEST is refused, and its DISCOVER
 * gets another address. */
static void test_refused_record_never_acked(void **state)
{
	struct fixture *f = *state;
	static const uint8_t nobody[6];

	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.100"));
	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"), ip("10.1.0.1"), 0);
	assert_int_equal(f->nout, 0); /* held: record 1 */
	f->store.refused = 1;
	/* What the store does on a refusal: the address is someone else's. */
	lease_learn(f->leases, ip("10.1.0.100"), nobody, WALL + 60);
	release(f, 1);
	assert_int_equal(f->nout, 0);
	assert_int_equal(dhcp_server_stats(f->srv)->lease_conflicts, 1);

	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"), ip("10.1.0.1"), 0);
	assert_int_equal(reply_type(f), DHCPNAK);
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_not_equal(f->reply.yiaddr, ip("10.1.0.100"));

	/* Another record, not refused: its ACK leaves once committed. */
	send_req(f, DHCPREQUEST, mac9, f->reply.yiaddr, ip("10.1.0.1"), 0);
	assert_int_equal(f->nout, 0);
	release(f, 2);
	assert_int_equal(reply_type(f), DHCPACK);
}

/* The database away: no new pool address is offered; known nodes are
 * answered; a client that holds a lease still renews (its ACK waits). */
static void test_no_new_lease_while_the_store_waits(void **state)
{
	struct fixture *f = *state;

	send_req(f, DHCPDISCOVER, mac8, 0, 0, 0);
	assert_int_equal(reply_type(f), DHCPOFFER);
	send_req(f, DHCPREQUEST, mac8, ip("10.1.0.100"), ip("10.1.0.1"), 0);
	release(f, 1);
	assert_int_equal(reply_type(f), DHCPACK);

	f->store.accepting = false;
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0);
	assert_int_equal(f->nout, 0);
	assert_int_equal(dhcp_server_stats(f->srv)->pool_waiting, 1);
	send_req(f, DHCPDISCOVER, node_mac, 0, 0, 0);
	assert_int_equal(reply_type(f), DHCPOFFER);
	assert_int_equal(f->reply.yiaddr, ip("10.1.0.11"));
	send_req(f, DHCPREQUEST, mac8, 0, 0, ip("10.1.0.100")); /* renewing */
	assert_int_equal(f->nout, 0);				/* held for its record */
	release(f, 2);
	assert_int_equal(reply_type(f), DHCPACK);
}

/* Another server's client: its DISCOVER and INIT-REBOOT are not ours; a
 * REQUEST naming this server, or renewing from its address, is. */
static void test_share_of_the_clients(void **state)
{
	struct fixture *f = *state;

	memcpy(f->not_mine, mac9, 6);
	send_req(f, DHCPDISCOVER, mac9, 0, 0, 0);
	assert_int_equal(f->nout, 0);
	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"), 0, 0); /* INIT-REBOOT */
	assert_int_equal(f->nout, 0);
	assert_int_equal(dhcp_server_stats(f->srv)->not_mine, 2);
	send_req(f, DHCPREQUEST, mac9, ip("10.1.0.100"), ip("10.1.0.1"), 0);
	assert_int_equal(dhcp_server_stats(f->srv)->not_mine, 2); /* answered: NAK or held */
	send_req(f, DHCPREQUEST, mac9, 0, 0, ip("10.1.0.102"));
	assert_int_equal(dhcp_server_stats(f->srv)->not_mine, 2);
	/* Everyone else is ours. */
	send_req(f, DHCPDISCOVER, mac8, 0, 0, 0);
	assert_int_equal(reply_type(f), DHCPOFFER);
}

/* 256 buckets, evenly filled by consecutive MACs (a rack's), and split in
 * halves between two servers. */
static void test_buckets_are_even(void **state)
{
	unsigned n[256] = {0}, lo = ~0u, hi = 0, even = 0;

	(void)state;
	for (uint32_t i = 0; i < 25600; i++) {
		uint8_t mac[6] = {0x52, 0x54, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				  (uint8_t)(i >> 8), (uint8_t)i};
		unsigned b = cluster_bucket(mac);
		assert_true(b < 256);
		n[b]++;
		even += b % 2 == 0;
	}
	for (unsigned b = 0; b < 256; b++) {
		lo = n[b] < lo ? n[b] : lo;
		hi = n[b] > hi ? n[b] : hi;
	}
	print_message("bucket sizes %u..%u (mean 100); server 0 of 2: %u of 25600\n", lo, hi,
		      even);
	assert_true(lo >= 60 && hi <= 140);
	assert_true(even > 12800 - 640 && even < 12800 + 640);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refused_record_never_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_new_lease_while_the_store_waits, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_share_of_the_clients, setup, teardown),
	    cmocka_unit_test(test_buckets_are_even),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
