/* The TFTP protocol logic driven in-process: a fake transmitter records
 * every datagram, the clock is a variable, files live in a temp root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tftp/tftp_server.h"
#include "tftp/tftp_wire.h"

/* "Sent to": unknown (the server answers from the kernel's choice). */
static const struct ipaddr unknown_ip;

#define MAX_SENT 256

struct sent {
	unsigned sock;
	struct netaddr peer;
	uint8_t buf[70000];
	size_t len;
};

struct fixture {
	char root[64];
	char outside[96];
	int rootfd;
	struct herd_config cfg;
	struct files *files;
	struct tftp_server *srv;
	mono_t now;
	struct sent *sent;
	unsigned nsent;
};

static void fake_send(void *ctx, unsigned sock, const struct netaddr *peer, struct ipaddr local_ip,
		      const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t payload_len)
{
	struct fixture *f = ctx;
	struct sent *s;

	(void)local_ip;
	assert_true(f->nsent < MAX_SENT);
	s = &f->sent[f->nsent++];
	s->sock = sock;
	s->peer = *peer;
	memcpy(s->buf, hdr, hdr_len);
	if (payload_len)
		memcpy(s->buf + hdr_len, payload, payload_len);
	s->len = hdr_len + payload_len;
}

static void write_file(struct fixture *f, const char *name, size_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (size_t i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(i * 7 + i / 251);
		assert_int_equal(write(fd, &b, 1), 1);
	}
	close(fd);
}

/* As with DHCP: herd knows the client 10.0.0.1; everyone else is unknown. */
static bool knows_client(void *ctx, const struct ipaddr *ip)
{
	(void)ctx;
	return ipaddr_to_v4(ip) == 0x0100000a;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tftp_tx tx = {0};
	char path[256];

	f->sent = calloc(MAX_SENT, sizeof(*f->sent));
	strcpy(f->root, "/tmp/herd-test-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->outside, sizeof(f->outside), "%s.secret", f->root);
	int fd = open(f->outside, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	close(fd);
	write_file(f, "small", 1000);
	write_file(f, "empty", 0);
	write_file(f, "block", 512);
	snprintf(path, sizeof(path), "%s/dir", f->root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/escape", f->root);
	assert_int_equal(symlink(f->outside, path), 0);
	snprintf(path, sizeof(path), "%s/text", f->root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(fd, "a\nb\rc", 5), 5);
	close(fd);
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY);
	conf_defaults(&f->cfg);
	f->cfg.tftp.retries = 3;
	f->cfg.tftp.max_transfers = 4;
	f->cfg.tftp.link_rate = 0; /* unpaced: every packet leaves at once */
	f->files = files_new(f->rootfd, MONO_SEC(1));
	tx.ctx = f;
	tx.send = fake_send;
	f->srv = tftp_server_new(&f->cfg.tftp, f->files, &tx);
	tftp_server_set_known(f->srv, &(struct tftp_known){NULL, knows_client});
	f->now = MONO_SEC(100);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	tftp_server_free(f->srv, f->now);
	files_free(f->files);
	close(f->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->root, f->outside);
	assert_int_equal(system(cmd), 0);
	free(f->sent);
	free(f);
	return 0;
}

static const struct netaddr client = {IPADDR_V4_INIT(10, 0, 0, 1), 2000};

static void rrq(struct fixture *f, const struct netaddr *peer, const char *name,
		const struct tftp_opts *o)
{
	uint8_t buf[1024];
	size_t n = tftp_build_rrq(buf, sizeof(buf), name, TFTP_MODE_OCTET, o);

	f->nsent = 0;
	tftp_server_request(f->srv, peer, unknown_ip, buf, n, f->now);
}

static void ack(struct fixture *f, unsigned sock, uint16_t block)
{
	uint8_t buf[4];

	f->nsent = 0;
	tftp_build_ack(buf, sizeof(buf), block);
	tftp_server_input(f->srv, sock, &client, unknown_ip, buf, 4, f->now, f->now);
}

static struct tftp_pkt last(struct fixture *f)
{
	struct tftp_pkt p;

	assert_true(f->nsent > 0);
	assert_int_equal(tftp_parse(f->sent[f->nsent - 1].buf, f->sent[f->nsent - 1].len, &p), 0);
	return p;
}

static void test_plain_transfer(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;

	rrq(f, &client, "small", NULL);
	p = last(f);
	assert_int_equal(p.op, TFTP_DATA); /* no options: no OACK */
	assert_int_equal(p.data.block, 1);
	assert_int_equal(p.data.len, 512);
	unsigned sock = f->sent[0].sock;
	f->now += MONO_MS(1);
	ack(f, sock, 1);
	p = last(f);
	assert_int_equal(p.data.block, 2);
	assert_int_equal(p.data.len, 1000 - 512);
	ack(f, sock, 2);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->completed, 1);
	assert_int_equal(tftp_server_stats(f->srv)->active, 0);
}

static void test_exact_block_ends_with_empty(void **state)
{
	struct fixture *f = *state;

	rrq(f, &client, "/block", NULL); /* leading '/' is the root */
	assert_int_equal(last(f).data.len, 512);
	ack(f, f->sent[0].sock, 1);
	assert_int_equal(last(f).data.block, 2);
	assert_int_equal(last(f).data.len, 0);
}

static void test_oack_only_asked_and_capped(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_blksize = true, .blksize = 65464, .has_tsize = true,
			      .has_timeout = true, .timeout = 5};
	struct tftp_pkt p;

	rrq(f, &client, "small", &o);
	p = last(f);
	assert_int_equal(p.op, TFTP_OACK);
	assert_true(p.oack.has_blksize);
	assert_int_equal(p.oack.blksize, 1468);
	assert_int_equal(p.oack.tsize, 1000);
	assert_int_equal(p.oack.timeout, 5); /* echoed unchanged (U-Boot) */
	assert_false(p.oack.has_windowsize);
	ack(f, f->sent[0].sock, 0);
	p = last(f);
	assert_int_equal(p.data.block, 1);
	assert_int_equal(p.data.len, 1000);
}

static void test_timer_retransmits_then_gives_up(void **state)
{
	struct fixture *f = *state;

	rrq(f, &client, "small", NULL);
	for (unsigned i = 0; i < f->cfg.tftp.retries; i++) {
		f->now = tftp_server_next_deadline(f->srv);
		f->nsent = 0;
		tftp_server_tick(f->srv, f->now);
		assert_int_equal(last(f).data.block, 1);
	}
	f->now = tftp_server_next_deadline(f->srv);
	f->nsent = 0;
	tftp_server_tick(f->srv, f->now);
	assert_int_equal(last(f).op, TFTP_ERROR);
	assert_int_equal(tftp_server_stats(f->srv)->timed_out, 1);
	assert_int_equal(tftp_server_stats(f->srv)->active, 0);
}

static void test_repeated_ack_resends_once(void **state)
{
	struct fixture *f = *state;
	unsigned sock;

	rrq(f, &client, "small", NULL);
	sock = f->sent[0].sock;
	f->now += MONO_MS(2);
	ack(f, sock, 1); /* DATA 2 goes out */
	ack(f, sock, 1); /* an echo right away: ignored (Sorcerer's Apprentice) */
	assert_int_equal(f->nsent, 0);
	f->now += MONO_MS(300);
	ack(f, sock, 1); /* the client timed out: one quick resend */
	assert_int_equal(last(f).data.block, 2);
	f->now += MONO_MS(300);
	ack(f, sock, 1); /* and not again until the timer */
	assert_int_equal(f->nsent, 0);
}

static void test_window_restarts_after_gap(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_blksize = true, .blksize = 100, .has_windowsize = true,
			      .windowsize = 4};
	unsigned sock;

	rrq(f, &client, "small", &o);
	sock = f->sent[0].sock;
	ack(f, sock, 0);
	assert_int_equal(f->nsent, 4);
	ack(f, sock, 2); /* block 3 lost: restart from 3 */
	assert_int_equal(f->nsent, 4);
	struct tftp_pkt p;
	tftp_parse(f->sent[0].buf, f->sent[0].len, &p);
	assert_int_equal(p.data.block, 3);
}

static void test_block_numbers_wrap(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_blksize = true, .blksize = 8};
	unsigned sock;
	uint64_t blocks;

	write_file(f, "big", 8 * 70000 + 3);
	rrq(f, &client, "big", &o);
	sock = f->sent[0].sock;
	ack(f, sock, 0);
	for (blocks = 1;; blocks++) {
		struct tftp_pkt p = last(f);
		assert_int_equal(p.data.block, (uint16_t)blocks);
		if (p.data.len < 8)
			break;
		ack(f, sock, p.data.block);
	}
	assert_int_equal(blocks, 70001);
	ack(f, sock, (uint16_t)blocks);
	assert_int_equal(tftp_server_stats(f->srv)->completed, 1);
}

static void expect_refused(struct fixture *f, const char *name, uint16_t code)
{
	rrq(f, &client, name, NULL);
	struct tftp_pkt p = last(f);
	assert_int_equal(p.op, TFTP_ERROR);
	assert_int_equal(p.error.code, code);
	assert_int_equal(tftp_server_stats(f->srv)->active, 0);
}

static void test_escapes_refused(void **state)
{
	struct fixture *f = *state;
	char longname[700];

	expect_refused(f, "../x", TFTP_EACCESS);
	expect_refused(f, "dir/../../x", TFTP_EACCESS);
	expect_refused(f, "/etc/passwd", TFTP_ENOTFOUND);
	expect_refused(f, "escape", TFTP_EACCESS);
	expect_refused(f, "dir", TFTP_EACCESS);
	expect_refused(f, "missing", TFTP_ENOTFOUND);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	expect_refused(f, longname, TFTP_EACCESS);
}

static void test_wrq_and_garbage(void **state)
{
	struct fixture *f = *state;
	static const uint8_t wrq[] = {0, 2, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
	static const uint8_t junk[] = {0, 9, 1};

	f->nsent = 0;
	tftp_server_request(f->srv, &client, unknown_ip, wrq, sizeof(wrq), f->now);
	assert_int_equal(last(f).op, TFTP_ERROR);
	f->nsent = 0;
	tftp_server_request(f->srv, &client, unknown_ip, junk, sizeof(junk), f->now);
	assert_int_equal(last(f).op, TFTP_ERROR);
	assert_int_equal(tftp_server_stats(f->srv)->malformed, 1);
}

static void test_wrong_tid_and_client_error(void **state)
{
	struct fixture *f = *state;
	struct netaddr stranger = {IPADDR_V4_INIT(10, 0, 0, 2), 3000};
	uint8_t buf[64];
	unsigned sock;
	size_t n;

	rrq(f, &client, "small", NULL);
	sock = f->sent[0].sock;
	tftp_build_ack(buf, sizeof(buf), 1);
	f->nsent = 0;
	tftp_server_input(f->srv, sock, &stranger, unknown_ip, buf, 4, f->now, f->now);
	assert_int_equal(last(f).error.code, TFTP_EBADID);
	assert_true(netaddr_eq(&f->sent[0].peer, &stranger));
	ack(f, sock, 1); /* the real transfer goes on */
	assert_int_equal(last(f).data.block, 2);
	n = tftp_build_error(buf, sizeof(buf), TFTP_EOPTNEG, "User aborted");
	f->nsent = 0;
	tftp_server_input(f->srv, sock, &client, unknown_ip, buf, n, f->now, f->now);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->aborted, 1);
	assert_int_equal(tftp_server_stats(f->srv)->active, 0);
}

static void test_repeated_rrq_answered_again(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_tsize = true};

	rrq(f, &client, "small", &o);
	assert_int_equal(last(f).op, TFTP_OACK);
	f->now += MONO_SEC(1);
	rrq(f, &client, "small", &o);
	assert_int_equal(last(f).op, TFTP_OACK);
	assert_int_equal(tftp_server_stats(f->srv)->started, 1);
}

/* EDK2's real RRQ may come from the port of its size probe before the
 * probe's ERROR 8: a different request is a new transfer, not a repeat. */
static void test_new_request_from_same_port(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts probe = {.has_tsize = true, .has_blksize = true, .blksize = 1468,
				  .has_windowsize = true, .windowsize = 4};
	struct tftp_opts real = {.has_blksize = true, .blksize = 1468, .has_windowsize = true,
				 .windowsize = 4};

	rrq(f, &client, "small", &probe);
	assert_int_equal(last(f).op, TFTP_OACK);
	assert_true(last(f).oack.has_tsize);
	rrq(f, &client, "small", &real);
	assert_int_equal(last(f).op, TFTP_OACK);
	assert_false(last(f).oack.has_tsize); /* the new request's answer */
	assert_int_equal(tftp_server_stats(f->srv)->started, 2);
	assert_int_equal(tftp_server_stats(f->srv)->active, 1);
}

/* A strict client probes, aborts with ERROR 8 and asks again from the same
 * port, discarding anything from the probe's server port (RFC 1350 TIDs):
 * the new transfer must come from another port, however many times. */
static void test_next_transfer_new_server_port(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts probe = {.has_tsize = true, .has_blksize = true, .blksize = 1468};
	uint8_t buf[64];
	size_t n = tftp_build_error(buf, sizeof(buf), TFTP_EOPTNEG, "User aborted");
	unsigned prev;

	rrq(f, &client, "small", &probe);
	prev = f->sent[0].sock;
	for (int i = 0; i < 20; i++) {
		f->nsent = 0;
		tftp_server_input(f->srv, prev, &client, unknown_ip, buf, n, f->now, f->now); /* abort */
		f->now += MONO_MS(1);
		rrq(f, &client, "small", &probe);
		assert_int_equal(last(f).op, TFTP_OACK);
		assert_int_not_equal(f->sent[0].sock, prev);
		prev = f->sent[0].sock;
	}
	/* Replaced while still running (the real RRQ before the ERROR 8). */
	rrq(f, &client, "small", NULL);
	assert_int_not_equal(f->sent[0].sock, prev);
}

/* Garbage from the client's own port to its transfer port (a DATA, RRQ or
 * OACK) is ignored: an ERROR would end the boot, and the transfer goes on. */
static void test_stray_packet_from_client_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[600];
	unsigned sock;
	size_t n;

	rrq(f, &client, "small", NULL);
	sock = f->sent[0].sock;
	n = tftp_build_data_hdr(buf, sizeof(buf), 1);
	f->nsent = 0;
	tftp_server_input(f->srv, sock, &client, unknown_ip, buf, n + 10, f->now, f->now);
	n = tftp_build_rrq(buf, sizeof(buf), "small", TFTP_MODE_OCTET, NULL);
	tftp_server_input(f->srv, sock, &client, unknown_ip, buf, n, f->now, f->now);
	assert_int_equal(f->nsent, 0);
	/* A packet of the client's previous transfer, on another port: no ERROR
	 * either (it could end the live one in a careless firmware). */
	tftp_build_ack(buf, sizeof(buf), 1);
	tftp_server_input(f->srv, (sock + 1) % f->cfg.tftp.transfer_sockets, &client, unknown_ip, buf, 4,
			  f->now, f->now);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->stray, 3);
	ack(f, sock, 1);
	assert_int_equal(last(f).data.block, 2);
}

/* A copy of the request arriving once the transfer is under way (sent
 * before our first reply reached the client, late because it waited for
 * admission) is not a new transfer: restarting would move the client to
 * another port mid-download. A transfer stalled for long is restarted. */
static void test_late_copy_of_request_ignored(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_blksize = true, .blksize = 512};
	unsigned sock;

	rrq(f, &client, "small", &o);
	sock = f->sent[0].sock;
	ack(f, sock, 0);
	assert_int_equal(last(f).data.block, 1);
	ack(f, sock, 1);
	rrq(f, &client, "small", &o); /* the late copy */
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->started, 1);
	ack(f, sock, 2);
	assert_int_equal(f->nsent, 0); /* block 2 ended the 1000-byte file */
	assert_int_equal(tftp_server_stats(f->srv)->completed, 1);
	/* Stalled: the client gave up and asks again from the same port. */
	rrq(f, &client, "small", &o);
	sock = f->sent[0].sock;
	ack(f, sock, 0);
	ack(f, sock, 1);
	f->now += MONO_SEC(10);
	rrq(f, &client, "small", &o);
	assert_int_equal(last(f).op, TFTP_OACK);
	assert_int_equal(tftp_server_stats(f->srv)->started, 3);
}

static void test_busy_is_silent(void **state)
{
	struct fixture *f = *state;

	for (uint16_t i = 0; i < 5; i++) {
		struct netaddr p = {client.ip, (uint16_t)(4000 + i)};
		rrq(f, &p, "small", NULL);
		assert_int_equal(f->nsent, i < 4 ? 1 : 0);
	}
	assert_int_equal(tftp_server_stats(f->srv)->busy, 1);
}

static void test_netascii(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];
	size_t n = tftp_build_rrq(buf, sizeof(buf), "text", TFTP_MODE_NETASCII, NULL);

	f->nsent = 0;
	tftp_server_request(f->srv, &client, unknown_ip, buf, n, f->now);
	struct tftp_pkt p = last(f);
	assert_int_equal(p.data.len, 7);
	assert_memory_equal(p.data.data, "a\r\nb\r\0c", 7);
}

static void test_empty_file(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;

	rrq(f, &client, "empty", NULL);
	p = last(f);
	assert_int_equal(p.data.block, 1);
	assert_int_equal(p.data.len, 0);
}


/* ---- Hostile traffic: per-source limits, unknown sources ---------------- */

/* The server again, made with the fixture's settings as they are now. */
static void remake(struct fixture *f, bool with_dhcp)
{
	struct tftp_tx tx = {f, fake_send, NULL};

	tftp_server_free(f->srv, f->now);
	f->srv = tftp_server_new(&f->cfg.tftp, f->files, &tx);
	assert_non_null(f->srv);
	tftp_server_set_known(f->srv, with_dhcp ? &(struct tftp_known){NULL, knows_client} : NULL);
}

static struct netaddr stranger(unsigned i)
{
	struct netaddr a = {ipaddr_v4(0x0000a8c6u + (i << 24)), (uint16_t)(5000 + i)}; /* 198.168.0.i */

	return a;
}

static void test_source_rate(void **state)
{
	struct fixture *f = *state;
	unsigned answered = 0;

	f->cfg.tftp.source_rate = 1;
	f->cfg.tftp.source_burst = 3;
	f->cfg.tftp.max_transfers = 100;
	remake(f, true);
	for (uint16_t i = 0; i < 5; i++) {
		struct netaddr p = {client.ip, (uint16_t)(4000 + i)};
		rrq(f, &p, "small", NULL);
		answered += f->nsent;
	}
	assert_int_equal(answered, 3);
	assert_int_equal(tftp_server_stats(f->srv)->source_limited, 2);
	/* Another address has a bucket of its own. */
	struct netaddr other = {IPADDR_V4_INIT(10, 0, 0, 3), 4000};
	rrq(f, &other, "small", NULL);
	assert_int_equal(f->nsent, 1);
	/* A second later, one more. */
	f->now += MONO_SEC(1);
	struct netaddr p = {client.ip, 4100};
	rrq(f, &p, "small", NULL);
	assert_int_equal(f->nsent, 1);
}

static void test_unknown_within_share_and_rate(void **state)
{
	struct fixture *f = *state;
	struct netaddr a = stranger(1), b = stranger(2), c = stranger(3);

	f->cfg.tftp.max_transfers = 8; /* 25%: two for unknown sources */
	f->cfg.tftp.unknown_rate = 1;
	f->cfg.tftp.unknown_burst = 5;
	remake(f, true);
	rrq(f, &a, "small", NULL);
	assert_int_equal(f->nsent, 1);
	rrq(f, &b, "small", NULL);
	assert_int_equal(f->nsent, 1);
	rrq(f, &c, "small", NULL); /* tokens left, but no share */
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->unknown_limited, 1);
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 2);
	/* A known client is served whatever the unknown ones hold. */
	rrq(f, &client, "small", NULL);
	assert_int_equal(last(f).data.block, 1);
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 2);

	/* The rate: past the burst, unknown requests wait for tokens, one a
	 * second, behind every known one. */
	f->cfg.tftp.max_transfers = 100;
	remake(f, true);
	unsigned answered = 0;
	for (unsigned i = 10; i < 20; i++) {
		struct netaddr s = stranger(i);
		rrq(f, &s, "small", NULL);
		answered += f->nsent;
	}
	assert_int_equal(answered, 5);
	assert_int_equal(tftp_server_stats(f->srv)->pending, 5);
	assert_int_equal(tftp_server_stats(f->srv)->unknown_limited, 0);
	struct netaddr p = {client.ip, 4444};
	rrq(f, &p, "small", NULL); /* a known one does not wait */
	assert_int_equal(f->nsent, 1);
	f->now = tftp_server_next_deadline(f->srv); /* the first retransmissions */
	assert_true(f->now <= MONO_SEC(100) + MONO_SEC(1));
	mono_t token = MONO_SEC(101);
	while (f->now < token) {
		tftp_server_tick(f->srv, f->now);
		f->now = tftp_server_next_deadline(f->srv);
	}
	assert_int_equal(f->now, token); /* woken for the token */
	f->nsent = 0;
	tftp_server_tick(f->srv, f->now);
	assert_int_equal(tftp_server_stats(f->srv)->pending, 4);
}

static void test_unanswered_unknown_ends_quietly(void **state)
{
	struct fixture *f = *state;
	struct netaddr a = stranger(1);

	rrq(f, &a, "small", NULL);
	assert_int_equal(last(f).data.block, 1);
	f->now = tftp_server_next_deadline(f->srv);
	f->nsent = 0;
	tftp_server_tick(f->srv, f->now);
	assert_int_equal(last(f).data.block, 1); /* one retransmission */
	f->now = tftp_server_next_deadline(f->srv);
	f->nsent = 0;
	tftp_server_tick(f->srv, f->now);
	assert_int_equal(f->nsent, 0); /* then nothing, not even an ERROR */
	assert_int_equal(tftp_server_stats(f->srv)->unanswered, 1);
	assert_int_equal(tftp_server_stats(f->srv)->timed_out, 0);
	assert_int_equal(tftp_server_stats(f->srv)->active, 0);
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 0);
}

/* TFTP only: a client that answers becomes known, and the token its
 * admission took comes back. */
static void test_answer_vouches_and_refunds(void **state)
{
	struct fixture *f = *state;
	struct netaddr b = stranger(2);
	unsigned sock;

	f->cfg.tftp.max_transfers = 100;
	f->cfg.tftp.unknown_rate = 1;
	f->cfg.tftp.unknown_burst = 1;
	remake(f, false);
	rrq(f, &client, "small", NULL); /* unknown too, without DHCP */
	sock = f->sent[0].sock;
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 1);
	rrq(f, &b, "small", NULL); /* no token left: it waits */
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->pending, 1);
	f->now += MONO_MS(1);
	ack(f, sock, 1); /* the token comes back, and b goes ahead at once */
	assert_int_equal(tftp_server_stats(f->srv)->pending, 0);
	assert_int_equal(f->nsent, 2);
	assert_true(netaddr_eq(&f->sent[1].peer, &b));
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 1); /* b */
	/* The client that answered is known now: no token needed. */
	struct netaddr p = {client.ip, 4321};
	rrq(f, &p, "block", NULL);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 1);
	assert_int_equal(tftp_server_stats(f->srv)->unknown_limited, 0);
}

/* TFTP only: a probing client (edk2, strict ROMs) ends its size probe with
 * ERROR 8 from the port our OACK went to; that answer vouches for it as an
 * ACK would, so its real request does not wait for an unknown source's
 * token (2000 probing ROMs at once would otherwise wait past their 4 s). */
static void test_probe_abort_vouches(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_tsize = true};
	uint8_t buf[64];
	size_t n;

	f->cfg.tftp.max_transfers = 100;
	f->cfg.tftp.unknown_rate = 1;
	f->cfg.tftp.unknown_burst = 1;
	remake(f, false);
	rrq(f, &client, "small", &o); /* the probe: an OACK, the one token gone */
	assert_int_equal(f->nsent, 1);
	n = tftp_build_error(buf, sizeof(buf), TFTP_EOPTNEG, "User aborted");
	f->nsent = 0;
	tftp_server_input(f->srv, f->sent[0].sock, &client, unknown_ip, buf, n, f->now, f->now);
	rrq(f, &client, "small", NULL); /* the real request: known, served at once */
	assert_int_equal(f->nsent, 1);
	assert_int_equal(tftp_server_stats(f->srv)->pending, 0);
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 0);
}

static void test_known_displaces_waiting_unknown(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = {.has_blksize = true, .blksize = 1468, .has_windowsize = true,
			      .windowsize = 64};
	struct netaddr a = stranger(1);

	write_file(f, "big", 200000);
	f->cfg.tftp.link_rate = 1000000; /* 1 Mbit/s: one window is a long backlog */
	f->cfg.tftp.max_transfers = 4;	 /* one for unknown sources */
	remake(f, true);
	rrq(f, &client, "big", &o);
	ack(f, f->sent[0].sock, 0);
	assert_true(f->nsent > 0);
	rrq(f, &a, "small", NULL); /* waits, in the unknown line */
	assert_int_equal(f->nsent, 0);
	for (uint16_t i = 0; i < 2; i++) { /* known ones wait too: now full */
		struct netaddr p = {client.ip, (uint16_t)(6000 + i)};
		rrq(f, &p, "small", NULL);
	}
	assert_int_equal(tftp_server_stats(f->srv)->pending, 3);
	struct netaddr p = {client.ip, 6002};
	rrq(f, &p, "small", NULL); /* takes the unknown one's place */
	assert_int_equal(tftp_server_stats(f->srv)->displaced, 1);
	assert_int_equal(tftp_server_stats(f->srv)->busy, 0);
	assert_int_equal(tftp_server_stats(f->srv)->unknown, 0);
	rrq(f, &a, "small", NULL); /* an unknown one never takes a known one's */
	assert_int_equal(tftp_server_stats(f->srv)->busy, 1);
	assert_int_equal(tftp_server_stats(f->srv)->pending, 3);
}

static void test_errors_to_unknown_rate_limited(void **state)
{
	struct fixture *f = *state;
	static const uint8_t wrq[] = {0, 2, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
	unsigned errors = 0;

	f->cfg.tftp.unknown_rate = 1;
	f->cfg.tftp.unknown_burst = 2;
	remake(f, true);
	for (unsigned i = 1; i <= 4; i++) {
		struct netaddr s = stranger(i);
		f->nsent = 0;
		tftp_server_request(f->srv, &s, unknown_ip, wrq, sizeof(wrq), f->now);
		errors += f->nsent;
	}
	assert_int_equal(errors, 2);
	assert_int_equal(tftp_server_stats(f->srv)->errors_withheld, 2);
	/* A known client always hears why (pxelinux asks for missing names). */
	for (unsigned i = 0; i < 4; i++) {
		rrq(f, &client, "no-such-file", NULL);
		assert_int_equal(last(f).error.code, TFTP_ENOTFOUND);
	}
}

static void test_long_name_refused_at_once(void **state)
{
	struct fixture *f = *state;
	char name[700];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	rrq(f, &client, name, NULL);
	assert_int_equal(last(f).op, TFTP_ERROR);
	assert_int_equal(tftp_server_stats(f->srv)->pending, 0);
	assert_int_equal(tftp_server_stats(f->srv)->active, 0);
}


/* The five settings are live: a reload changes them under running traffic. */
static void test_limits_follow_a_reload(void **state)
{
	struct fixture *f = *state;
	unsigned answered = 0;

	f->cfg.tftp.max_transfers = 100;
	f->cfg.tftp.source_rate = 1;
	f->cfg.tftp.source_burst = 1;
	remake(f, true);
	for (uint16_t i = 0; i < 3; i++) {
		struct netaddr p = {client.ip, (uint16_t)(7000 + i)};
		rrq(f, &p, "small", NULL);
		answered += f->nsent;
	}
	assert_int_equal(answered, 1);
	f->cfg.tftp.source_rate = 0; /* no limit */
	f->cfg.tftp.unknown_share = 1; /* one unknown transfer */
	tftp_server_reconfigure(f->srv, &f->cfg.tftp);
	for (uint16_t i = 0; i < 3; i++) {
		struct netaddr p = {client.ip, (uint16_t)(7100 + i)};
		rrq(f, &p, "small", NULL);
		answered += f->nsent;
	}
	assert_int_equal(answered, 4);
	struct netaddr a = stranger(1), b = stranger(2);
	rrq(f, &a, "small", NULL);
	assert_int_equal(f->nsent, 1);
	rrq(f, &b, "small", NULL);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(tftp_server_stats(f->srv)->unknown_limited, 1);
}

/* One link budget: another protocol's item (an HTTP response) takes turns
 * in the same pacer, after TFTP's fresh data due sooner, and waits for
 * tokens like a TFTP packet. */
struct foreign {
	struct sched_item item;
	struct fixture *f;
	struct tftp_server *srv;
	unsigned served;
	size_t tftp_sent_then; /* TFTP datagrams out when it was served */
};

static size_t foreign_cost(struct sched_item *it)
{
	(void)it;
	return 10000;
}

static void foreign_serve(struct sched_item *it, mono_t now)
{
	struct foreign *fo = (struct foreign *)it;

	(void)now;
	tftp_server_unpace(fo->srv, it);
	fo->served++;
	fo->tftp_sent_then = fo->f->nsent;
}

static const struct sched_ops foreign_ops = {foreign_cost, foreign_serve};

static void test_foreign_items_share_the_pacer(void **state)
{
	struct fixture *f = *state;
	struct foreign fo = {.f = f};

	f->cfg.tftp.link_rate = 8000000; /* 1 byte per microsecond */
	f->cfg.tftp.pacing_burst = 16384;
	remake(f, false);
	fo.srv = f->srv;
	sched_item_init(&fo.item);
	fo.item.ops = &foreign_ops;
	assert_int_equal(tftp_server_pace_reserve(f->srv, 1), 0);
	tftp_server_flow(f->srv, true, f->now);
	tftp_server_pace(f->srv, &fo.item, f->now + MONO_SEC(5), f->now);
	/* A request's first block is due within a second: it goes first. */
	rrq(f, &client, "small", NULL);
	assert_int_equal(fo.served, 1);
	assert_int_equal(fo.tftp_sent_then, 1);
	/* The next turn needs 10000 bytes of tokens; about 5,800 are left. */
	tftp_server_pace(f->srv, &fo.item, f->now + MONO_SEC(5), f->now);
	tftp_server_tick(f->srv, f->now);
	assert_int_equal(fo.served, 1);
	mono_t start = f->now;
	while (fo.served == 1 && f->now < start + MONO_MS(50)) {
		f->now = tftp_server_next_deadline(f->srv);
		tftp_server_tick(f->srv, f->now);
	}
	assert_int_equal(fo.served, 2);
	assert_true(f->now > start + MONO_MS(4) && f->now < start + MONO_MS(20));
	tftp_server_flow(f->srv, false, f->now);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact_block_ends_with_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oack_only_asked_and_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_retransmits_then_gives_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_repeated_ack_resends_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_restarts_after_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_numbers_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrq_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_tid_and_client_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_rrq_answered_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_request_from_same_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_transfer_new_server_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stray_packet_from_client_ignored, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_late_copy_of_request_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_is_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netascii, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_within_share_and_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_unknown_ends_quietly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_answer_vouches_and_refunds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_abort_vouches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_displaces_waiting_unknown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors_to_unknown_rate_limited, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_name_refused_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_items_share_the_pacer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_follow_a_reload, setup, teardown),
	};
	return cmocka_run_group_tests_name("tftp_server", tests, NULL, NULL);
}
