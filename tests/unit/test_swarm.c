/* The swarm's client state machine driven in-process: a fake sender
 * records every datagram, the clock is a variable, the server is played by
 * the test with tftp_wire's builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/swarm_client.h"
#include "swarm/swarm_profiles.h"
#include "swarm/swarm_report.h"
#include "tftp/tftp_wire.h"

#define SERVER_IP "192.0.2.1"
#define TID 40001
#define RING 32
#define T0 MONO_SEC(100)

struct sent {
	uint16_t port;
	size_t len;
	uint8_t buf[1024];
};

struct fixture {
	struct swarm sw;
	struct swarm_profile prof;
	struct swarm_client c;
	uint8_t *file;
	size_t size;
	struct sent ring[RING];
	unsigned nsent;	    /* every datagram sent */
	unsigned new_ports; /* new_port() calls */
	struct netaddr server_tid;
	mono_t now;
	uint8_t pkt[70000];
};

static int fake_send(void *ctx, struct swarm_client *c, const struct netaddr *to,
		     const uint8_t *buf, size_t len)
{
	struct fixture *f = ctx;
	struct sent *s = &f->ring[f->nsent++ % RING];

	(void)c;
	assert_true(len <= sizeof(s->buf));
	assert_true(ipaddr_eq(&to->ip, &f->sw.server.ip));
	s->port = to->port;
	s->len = len;
	memcpy(s->buf, buf, len);
	return 0;
}

static int fake_new_port(void *ctx, struct swarm_client *c)
{
	struct fixture *f = ctx;

	(void)c;
	f->new_ports++;
	return 0;
}

static void make_file(struct fixture *f, size_t size)
{
	free(f->file);
	f->file = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		f->file[i] = (uint8_t)(i * 7 + i / 251);
	f->size = size;
	f->sw.file = f->file;
	f->sw.file_size = size;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	netaddr_parse(SERVER_IP ":69", 69, &f->sw.server);
	f->sw.remote_name = "boot.bin";
	f->sw.tx.ctx = f;
	f->sw.tx.send = fake_send;
	f->sw.tx.new_port = fake_new_port;
	f->server_tid = (struct netaddr){.ip = f->sw.server.ip, .port = TID};
	make_file(f, 5000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->file);
	free(f);
	return 0;
}

/* Starts a client of profile `name` (after --set style overrides) at T0. */
static void start(struct fixture *f, const char *name, const char *const *sets)
{
	f->prof = *swarm_profile_find(name);
	for (; sets && *sets; sets++)
		assert_int_equal(swarm_profile_set(&f->prof, *sets), 0);
	swarm_client_init(&f->c, &f->prof, 0, T0);
	assert_int_equal(f->c.deadline, T0);
	f->now = T0;
	swarm_client_timeout(&f->sw, &f->c, f->now);
}

static const struct sent *last(const struct fixture *f)
{
	assert_true(f->nsent > 0);
	return &f->ring[(f->nsent - 1) % RING];
}

static struct tftp_pkt last_pkt(const struct fixture *f)
{
	struct tftp_pkt p;

	assert_int_equal(tftp_parse(last(f)->buf, last(f)->len, &p), 0);
	return p;
}

static void assert_last_ack(const struct fixture *f, uint16_t block)
{
	struct tftp_pkt p = last_pkt(f);

	assert_int_equal(p.op, TFTP_ACK);
	assert_int_equal(p.ack.block, block);
	assert_int_equal(last(f)->port, TID);
}

static void fire(struct fixture *f)
{
	assert_true(f->c.deadline != MONO_NEVER);
	f->now = f->c.deadline;
	swarm_client_timeout(&f->sw, &f->c, f->now);
}

static void input_from(struct fixture *f, const struct netaddr *peer, size_t len)
{
	swarm_client_input(&f->sw, &f->c, peer, f->pkt, len, f->now);
}

static void oack(struct fixture *f, const struct tftp_opts *o)
{
	input_from(f, &f->server_tid, tftp_build_oack(f->pkt, sizeof(f->pkt), o));
}

/* DATA `block` carrying the file from byte `off`, as a server would. */
static void data_at(struct fixture *f, uint16_t block, size_t off, size_t blksize)
{
	size_t hdr = tftp_build_data_hdr(f->pkt, sizeof(f->pkt), block);
	size_t len = off >= f->size ? 0 : f->size - off < blksize ? f->size - off : blksize;

	memcpy(f->pkt + hdr, f->file + off, len);
	input_from(f, &f->server_tid, hdr + len);
}

static struct tftp_opts opts_of(uint32_t blksize, uint32_t windowsize, bool tsize, uint64_t size)
{
	struct tftp_opts o = {0};

	if (blksize) {
		o.has_blksize = true;
		o.blksize = blksize;
	}
	if (windowsize) {
		o.has_windowsize = true;
		o.windowsize = windowsize;
	}
	if (tsize) {
		o.has_tsize = true;
		o.tsize = size;
	}
	return o;
}

static void test_client_is_small(void **state)
{
	(void)state;
	assert_true(sizeof(struct swarm_client) < 200);
}

static void test_ipxe_lockstep(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;
	struct tftp_opts o;

	start(f, "ipxe", NULL);
	p = last_pkt(f);
	assert_int_equal(p.op, TFTP_RRQ);
	assert_int_equal(last(f)->port, 69);
	assert_string_equal(p.req.name, "boot.bin");
	assert_true(p.req.opts.has_blksize && p.req.opts.blksize == 1432);
	assert_true(p.req.opts.has_tsize && p.req.opts.tsize == 0);
	assert_false(p.req.opts.has_windowsize || p.req.opts.has_timeout);
	assert_int_equal(f->c.deadline, T0 + MONO_MS(250));

	f->now += MONO_MS(2);
	o = opts_of(1432, 0, true, f->size);
	oack(f, &o);
	assert_last_ack(f, 0);
	assert_int_equal(f->c.t_first_reply - f->c.t_start, MONO_MS(2));
	for (uint16_t b = 1; b <= 4; b++) {
		f->now += MONO_MS(1);
		data_at(f, b, (size_t)(b - 1) * 1432, 1432);
		assert_last_ack(f, b);
	}
	assert_int_equal(f->c.stage, SWARM_DONE); /* 5000 = 3 x 1432 + 704 */
	assert_int_equal(f->sw.n.bytes, 5000);
	assert_int_equal(f->c.deadline, MONO_NEVER);
	assert_int_equal(f->sw.n.retransmits, 0);
	assert_int_equal(f->sw.running, 0);
}

/* iPXE: 0.25 s doubling; the expiry at 15.75 s of silence is fatal. */
static void test_ipxe_gives_up(void **state)
{
	struct fixture *f = *state;
	static const mono_t resend_ms[] = {250, 750, 1750, 3750, 7750};

	start(f, "ipxe", NULL);
	for (unsigned i = 0; i < 5; i++) {
		fire(f);
		assert_int_equal(f->now - T0, MONO_MS(resend_ms[i]));
		assert_int_equal(last_pkt(f).op, TFTP_RRQ);
		assert_int_equal(f->nsent, i + 2);
	}
	fire(f);
	assert_int_equal(f->now - T0, MONO_MS(15750));
	assert_int_equal(f->c.stage, SWARM_FAILED);
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->sw.n.retransmits, 5);
	assert_int_equal(f->nsent, 6);
}

/* iPXE re-ACKs at once on a repeated block, and its timer re-sends the
 * last ACK after a loss. */
static void test_ipxe_loss(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, 5000);

	start(f, "ipxe", NULL);
	oack(f, &o);
	data_at(f, 1, 0, 1432);
	assert_last_ack(f, 1);
	data_at(f, 1, 0, 1432); /* the server did not hear our ACK */
	assert_last_ack(f, 1);
	assert_int_equal(f->sw.n.duplicate_data, 1);
	assert_int_equal(f->sw.n.reacks, 1);
	fire(f); /* nothing more: re-send ACK 1 */
	assert_last_ack(f, 1);
	assert_int_equal(f->sw.n.retransmits, 1);
	data_at(f, 2, 1432, 1432);
	assert_last_ack(f, 2);
	assert_int_equal(f->c.tries, 0);
}

/* The probe's OACK (from TID) is answered with ERROR 8 "User aborted" to
 * that TID, then the real RRQ goes to port 69 (with the same options). */
static void answer_probe(struct fixture *f, const struct tftp_opts *o)
{
	unsigned sent = f->nsent;
	struct tftp_pkt e;
	const struct sent *s;

	assert_int_equal(f->c.stage, SWARM_PROBE);
	assert_int_equal(last_pkt(f).op, TFTP_RRQ);
	assert_true(last_pkt(f).req.opts.has_tsize);
	f->server_tid.port = TID;
	oack(f, o);
	assert_int_equal(f->nsent, sent + 2);
	s = &f->ring[sent % RING];
	assert_int_equal(tftp_parse(s->buf, s->len, &e), 0);
	assert_int_equal(e.op, TFTP_ERROR);
	assert_int_equal(e.error.code, TFTP_EOPTNEG);
	assert_string_equal(e.error.msg, "User aborted");
	assert_int_equal(s->port, TID);
	assert_int_equal(last_pkt(f).op, TFTP_RRQ);
	assert_int_equal(last(f)->port, 69);
	assert_int_equal(f->c.stage, SWARM_RRQ);
	assert_false(f->c.tid_locked);
}

static void test_edk2_probe_then_windows(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;
	struct tftp_opts o;
	unsigned acks;

	make_file(f, 10 * 1468 + 5); /* 11 blocks */
	start(f, "edk2", NULL);
	p = last_pkt(f);
	assert_int_equal(p.op, TFTP_RRQ);
	assert_true(p.req.opts.has_tsize && p.req.opts.has_windowsize);
	assert_true(p.req.opts.windowsize == 4);
	assert_true(p.req.opts.blksize == 1468);
	assert_int_equal(f->c.stage, SWARM_PROBE);

	o = opts_of(1468, 4, true, f->size);
	f->now += MONO_MS(3);
	answer_probe(f, &o);
	/* the real RRQ from the same port: the probe's TID is now stale */
	assert_int_equal(f->new_ports, 0);
	assert_int_equal(f->c.stale_tid, TID);
	assert_int_equal(f->c.t_first_reply - T0, MONO_MS(3));

	f->server_tid.port = TID + 1; /* the new transfer's TID */
	oack(f, &o);
	acks = f->nsent;
	assert_int_equal(last_pkt(f).ack.block, 0);
	assert_int_equal(last(f)->port, TID + 1);
	for (uint16_t b = 1; b <= 3; b++)
		data_at(f, b, (b - 1) * 1468u, 1468);
	assert_int_equal(f->nsent, acks); /* mid-window: silent */
	data_at(f, 4, 3 * 1468, 1468);
	assert_int_equal(last_pkt(f).ack.block, 4);
	/* block 6 lost: 5 in order, then 7 and 8 each draw an ACK of 5 */
	data_at(f, 5, 4 * 1468, 1468);
	acks = f->nsent;
	data_at(f, 7, 6 * 1468, 1468);
	data_at(f, 8, 7 * 1468, 1468);
	assert_int_equal(f->nsent, acks + 2);
	assert_int_equal(last_pkt(f).ack.block, 5);
	assert_int_equal(f->sw.n.out_of_order, 2);
	/* the server goes on from 6: a new window 6..9, then 10, 11 (short) */
	for (uint16_t b = 6; b <= 9; b++)
		data_at(f, b, (b - 1) * 1468u, 1468);
	assert_int_equal(last_pkt(f).ack.block, 9);
	data_at(f, 10, 9 * 1468, 1468);
	data_at(f, 11, 10 * 1468, 1468);
	assert_int_equal(last_pkt(f).ack.block, 11);
	assert_int_equal(f->c.stage, SWARM_DONE);
	assert_int_equal(f->sw.n.bytes, f->size);
}

/* EDK2: a fixed 4 s timer, 6 tries in all, fatal at 24 s. */
static void test_edk2_gives_up(void **state)
{
	struct fixture *f = *state;

	start(f, "edk2", NULL);
	for (unsigned i = 1; i <= 5; i++) {
		fire(f);
		assert_int_equal(f->now - T0, MONO_SEC(4 * i));
		assert_int_equal(f->c.stage, SWARM_PROBE);
	}
	fire(f);
	assert_int_equal(f->now - T0, MONO_SEC(24));
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->nsent, 6);
}

/* A server that answers the real RRQ from the probe's port (issue 8): a
 * strict client takes every packet from there for a stale one of the
 * aborted transfer, never answers it, re-sends its RRQ on its own timer
 * and gives up `giveup` after the real RRQ. */
static void same_port_server_fails(struct fixture *f, const char *profile, uint32_t blksize,
				   uint32_t window, mono_t giveup)
{
	struct tftp_opts o = opts_of(blksize, window, true, f->size);
	mono_t t_rrq;
	unsigned rrqs;

	start(f, profile, NULL);
	f->now += MONO_MS(2);
	answer_probe(f, &o);
	t_rrq = f->now;
	rrqs = f->nsent;
	assert_int_equal(f->new_ports, 0);
	for (unsigned i = 0; f->c.stage != SWARM_FAILED && i < 20; i++) {
		f->now += MONO_MS(1);
		oack(f, &o); /* the new transfer, from the old TID */
		data_at(f, 1, 0, o.blksize);
		assert_int_equal(last_pkt(f).op, TFTP_RRQ); /* never an ACK */
		assert_int_equal(last(f)->port, 69);
		fire(f);
	}
	assert_int_equal(f->c.stage, SWARM_FAILED);
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->now - t_rrq, giveup);
	assert_int_equal(f->sw.n.bytes, 0);
	assert_int_equal(f->sw.n.acks, 0);
	assert_true(f->sw.n.stale_tid >= 2 * (f->nsent - rrqs));
	assert_int_equal(f->sw.n.stale_tid, f->sw.n.unexpected_tid);
	assert_false(f->c.tid_locked);
}

/* strict: 1 s, 3 re-sends: the RRQ at 0, 1, 2, 3 s, fatal at 4 s. */
static void test_strict_same_port_server_fails(void **state)
{
	struct fixture *f = *state;

	same_port_server_fails(f, "strict", 1432, 0, MONO_SEC(4));
	assert_int_equal(f->nsent, 1 + 1 + 4); /* probe, ERROR, 4 RRQs */
	assert_int_equal(f->sw.n.stale_tid, 8);
}

static void test_edk2_same_port_server_fails(void **state)
{
	same_port_server_fails(*state, "edk2", 1468, 4, MONO_SEC(24));
}

/* From a new port, the same client downloads the whole file. */
static void test_strict_new_port_server_succeeds(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, f->size);

	start(f, "strict", NULL);
	answer_probe(f, &o);
	f->server_tid.port = TID + 1;
	oack(f, &o);
	assert_int_equal(last_pkt(f).op, TFTP_ACK);
	assert_int_equal(last(f)->port, TID + 1);
	assert_int_equal(f->c.tid, TID + 1);
	/* a late re-sent OACK of the probe: stale, dropped */
	f->server_tid.port = TID;
	oack(f, &o);
	assert_int_equal(f->sw.n.stale_tid, 1);
	f->server_tid.port = TID + 1;
	for (uint16_t b = 1; b <= 4; b++)
		data_at(f, b, (size_t)(b - 1) * 1432, 1432);
	assert_int_equal(f->c.stage, SWARM_DONE);
	assert_int_equal(f->sw.n.bytes, f->size);
	assert_int_equal(f->sw.n.retransmits, 0);
}

/* probe_same_port=0: the real RRQ from a new port, where the probe's
 * server port is no longer stale (a new client port, a new TID pair);
 * stale_tid_discard=0: the same port, and whatever comes first is taken. */
static void test_probe_lenient_variants(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, f->size);
	static const char *const new_port[] = {"probe_same_port=0", NULL};
	static const char *const no_discard[] = {"stale_tid_discard=0", NULL};
	const char *const *sets[] = {new_port, no_discard};

	for (unsigned k = 0; k < 2; k++) {
		unsigned ports = f->new_ports;
		start(f, "strict", sets[k]);
		answer_probe(f, &o);
		assert_int_equal(f->new_ports, ports + (k == 0));
		assert_int_equal(f->c.stale_tid, 0);
		oack(f, &o); /* from the probe's server port */
		assert_last_ack(f, 0);
		for (uint16_t b = 1; b <= 4; b++)
			data_at(f, b, (size_t)(b - 1) * 1432, 1432);
		assert_int_equal(f->c.stage, SWARM_DONE);
	}
	assert_int_equal(f->sw.n.stale_tid, 0);
}

/* Block numbers wrap 65535 -> 0; the 32-bit count keeps the offset. */
static void test_block_wrap(void **state)
{
	struct fixture *f = *state;
	static const char *const sets[] = {"blksize=8", NULL};
	struct tftp_opts o;
	size_t nblocks;

	make_file(f, 8 * 70000 + 3);
	nblocks = f->size / 8 + 1;
	start(f, "ipxe", sets);
	o = opts_of(8, 0, true, f->size);
	oack(f, &o);
	for (size_t i = 1; i <= nblocks; i++) {
		data_at(f, (uint16_t)i, (i - 1) * 8, 8);
		assert_int_equal(last_pkt(f).ack.block, (uint16_t)i);
	}
	assert_int_equal(f->c.stage, SWARM_DONE);
	assert_int_equal(f->c.blocks, nblocks);
	assert_int_equal(f->sw.n.bytes, f->size);
	assert_int_equal(f->sw.n.duplicate_data, 0);
}

/* A file of whole blocks ends with an empty one. */
static void test_empty_last_block(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, 2 * 1432);

	make_file(f, 2 * 1432);
	start(f, "strict", (const char *const[]){"size_probe=0", NULL});
	oack(f, &o);
	data_at(f, 1, 0, 1432);
	data_at(f, 2, 1432, 1432);
	assert_int_equal(f->c.stage, SWARM_DATA);
	data_at(f, 3, 2 * 1432, 1432);
	assert_last_ack(f, 3);
	assert_int_equal(f->c.stage, SWARM_DONE);
}

/* A server that ignores options answers with 512-byte DATA at once. */
static void test_server_without_options(void **state)
{
	struct fixture *f = *state;

	make_file(f, 1000);
	start(f, "ipxe", NULL);
	data_at(f, 1, 0, 512);
	assert_last_ack(f, 1);
	data_at(f, 2, 512, 512);
	assert_last_ack(f, 2);
	assert_int_equal(f->c.stage, SWARM_DONE);
}

static void test_unexpected_tid(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, 5000);
	struct netaddr other = {.ip = f->sw.server.ip, .port = TID + 7};
	struct netaddr stranger;
	unsigned sent;

	netaddr_parse("192.0.2.99", TID, &stranger);
	start(f, "ipxe", NULL);
	/* an OACK from a stranger before the lock: ignored */
	swarm_client_input(&f->sw, &f->c, &stranger, f->pkt,
			   tftp_build_oack(f->pkt, sizeof(f->pkt), &o), f->now);
	assert_int_equal(f->sw.n.unexpected_tid, 1);
	assert_false(f->c.tid_locked);
	oack(f, &o);
	assert_true(f->c.tid_locked);
	assert_int_equal(f->c.tid, TID);
	sent = f->nsent;
	/* a second transfer (a duplicate RRQ's) talks from another port */
	input_from(f, &other, tftp_build_oack(f->pkt, sizeof(f->pkt), &o));
	assert_int_equal(f->sw.n.unexpected_tid, 2);
	assert_int_equal(f->nsent, sent);
	assert_int_equal(f->c.stage, SWARM_DATA);
}

static void test_error_is_fatal(void **state)
{
	struct fixture *f = *state;

	start(f, "ipxe", NULL);
	input_from(f, &f->server_tid,
		   tftp_build_error(f->pkt, sizeof(f->pkt), TFTP_ENOTFOUND, "not found"));
	assert_int_equal(f->c.stage, SWARM_FAILED);
	assert_int_equal(f->c.fail, SWARM_FAIL_ERROR);
	assert_int_equal(f->c.deadline, MONO_NEVER);
	assert_int_equal(f->sw.n.last_error_code, TFTP_ENOTFOUND);
	assert_string_equal(f->sw.n.last_error, "not found");
	/* what goes into the JSON line stays printable and unquoted */
	start(f, "ipxe", NULL);
	input_from(f, &f->server_tid,
		   tftp_build_error(f->pkt, sizeof(f->pkt), TFTP_EUNDEF, "a \"b\"\n\\"));
	assert_string_equal(f->sw.n.last_error, "a ?b???");
}

static void test_mismatch(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, 5000);

	start(f, "ipxe", NULL);
	oack(f, &o);
	data_at(f, 1, 0, 1432);
	/* block 2 with one bit flipped on the way */
	size_t hdr = tftp_build_data_hdr(f->pkt, sizeof(f->pkt), 2);
	memcpy(f->pkt + hdr, f->file + 1432, 1432);
	f->pkt[hdr + 100] ^= 0x40;
	input_from(f, &f->server_tid, hdr + 1432);
	assert_int_equal(f->c.fail, SWARM_FAIL_MISMATCH);
}

static void test_short_block_is_mismatch(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, 5000);

	start(f, "ipxe", NULL);
	oack(f, &o);
	data_at(f, 1, 0, 1000); /* "last" block, but the file is longer */
	assert_int_equal(f->c.fail, SWARM_FAIL_MISMATCH);
}

static void test_bad_oacks(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o;

	o = opts_of(1432, 0, true, 4999); /* wrong tsize */
	start(f, "ipxe", NULL);
	oack(f, &o);
	assert_int_equal(f->c.fail, SWARM_FAIL_MISMATCH);

	o = opts_of(1432, 8, true, 5000); /* windowsize never asked */
	start(f, "ipxe", NULL);
	oack(f, &o);
	assert_int_equal(f->c.fail, SWARM_FAIL_OACK);

	o = opts_of(1468, 0, true, 5000); /* larger than asked */
	start(f, "ipxe", NULL);
	oack(f, &o);
	assert_int_equal(f->c.fail, SWARM_FAIL_OACK);

	o = opts_of(1468, 0, true, 5000); /* U-Boot: timeout changed */
	o.has_timeout = true;
	o.timeout = 3;
	start(f, "uboot", NULL);
	oack(f, &o);
	assert_int_equal(f->c.fail, SWARM_FAIL_OACK);

	o.timeout = 5; /* unchanged: fine */
	start(f, "uboot", NULL);
	oack(f, &o);
	assert_int_equal(f->c.stage, SWARM_DATA);
}

/* A repeated OACK (our ACK 0 lost) gets ACK 0 again. */
static void test_repeated_oack(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1432, 0, true, 5000);

	start(f, "ipxe", NULL);
	oack(f, &o);
	oack(f, &o);
	assert_last_ack(f, 0);
	assert_int_equal(f->sw.n.acks, 2);
	assert_int_equal(f->sw.n.reacks, 1);
}

/* GRUB: RRQ every 400 + 20 i ms, 40 times, fatal at 31.6 s. */
static void test_grub_open(void **state)
{
	struct fixture *f = *state;
	mono_t at = T0;
	struct tftp_pkt p;

	start(f, "grub", NULL);
	p = last_pkt(f);
	assert_true(p.req.opts.blksize == 1024 && p.req.opts.has_tsize);
	for (unsigned i = 0; i < 39; i++) {
		at += MONO_MS(400 + 20 * i);
		fire(f);
		assert_int_equal(f->now, at);
		assert_int_equal(last_pkt(f).op, TFTP_RRQ);
	}
	fire(f);
	assert_int_equal(f->now - T0, MONO_MS(31600));
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->nsent, 40);
}

/* GRUB never re-sends in the data phase: it answers the server's
 * re-sent block, and gives up after 31.6 s of silence. */
static void test_grub_data_phase(void **state)
{
	struct fixture *f = *state;
	struct tftp_opts o = opts_of(1024, 0, true, 5000);
	unsigned sent;

	start(f, "grub", NULL);
	oack(f, &o);
	data_at(f, 1, 0, 1024);
	sent = f->nsent;
	assert_int_equal(f->c.deadline, f->now + MONO_MS(31600));
	data_at(f, 3, 2048, 1024); /* ahead of a gap: ignored */
	assert_int_equal(f->nsent, sent);
	data_at(f, 1, 0, 1024); /* the server's timer re-sent 1 */
	assert_last_ack(f, 1);
	fire(f);
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->sw.n.retransmits, 0);
}

/* U-Boot: asks timeout 5; 10 re-sends 5 s apart; then one restart from a
 * new port; then fatal. */
static void test_uboot_restart(void **state)
{
	struct fixture *f = *state;
	struct tftp_pkt p;

	start(f, "uboot", NULL);
	p = last_pkt(f);
	assert_true(p.req.opts.has_timeout && p.req.opts.timeout == 5);
	assert_true(p.req.opts.blksize == 1468 && !p.req.opts.has_windowsize);
	for (unsigned i = 0; i < 10; i++)
		fire(f);
	assert_int_equal(f->nsent, 11);
	assert_int_equal(f->new_ports, 0);
	fire(f);
	assert_int_equal(f->now - T0, MONO_SEC(55));
	assert_int_equal(f->new_ports, 1);
	assert_int_equal(f->nsent, 12);
	assert_int_equal(f->c.stage, SWARM_RRQ);
	for (unsigned i = 0; i < 10; i++)
		fire(f);
	fire(f);
	assert_int_equal(f->now - T0, MONO_SEC(110));
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
	assert_int_equal(f->sw.n.restarts, 1);
}

/* U-Boot with a window: a repeated block is ignored, a gap gets one ACK. */
static void test_uboot_window_loss(void **state)
{
	struct fixture *f = *state;
	static const char *const sets[] = {"windowsize=4", NULL};
	struct tftp_opts o = opts_of(1468, 4, true, 10000);
	unsigned sent;

	make_file(f, 10000);
	start(f, "uboot", sets);
	o.has_timeout = true;
	o.timeout = 5;
	oack(f, &o);
	data_at(f, 1, 0, 1468);
	sent = f->nsent;
	data_at(f, 1, 0, 1468);
	assert_int_equal(f->nsent, sent);
	data_at(f, 3, 2 * 1468, 1468);
	data_at(f, 4, 3 * 1468, 1468);
	assert_int_equal(f->nsent, sent + 1);
	assert_last_ack(f, 1);
}

/* pxelinux: 110 ms growing 1.2x to 14 s; gives up after ~131 s. */
static void test_pxelinux_timer(void **state)
{
	struct fixture *f = *state;
	unsigned fires = 0;

	start(f, "pxelinux", NULL);
	assert_int_equal(f->c.deadline - T0, MONO_MS(110));
	fire(f);
	assert_int_equal(f->c.deadline - f->now, MONO_MS(132));
	while (f->c.stage != SWARM_FAILED && fires++ < 100)
		fire(f);
	assert_int_equal(f->now - T0, MONO_SEC(131));
	assert_true(f->c.rto_us == MONO_SEC(14));
	assert_true(f->nsent > 25 && f->nsent < 40);
}

/* The legacy ROM: 1 s, 3 re-sends, fatal at 4 s. */
static void test_strict_timer(void **state)
{
	struct fixture *f = *state;

	start(f, "strict", NULL);
	fire(f);
	fire(f);
	fire(f);
	assert_int_equal(f->nsent, 4);
	fire(f);
	assert_int_equal(f->now - T0, MONO_SEC(4));
	assert_int_equal(f->c.fail, SWARM_FAIL_TIMEOUT);
}

static void test_abandon(void **state)
{
	struct fixture *f = *state;
	struct swarm_client idle;

	start(f, "ipxe", NULL);
	assert_int_equal(f->sw.running, 1);
	swarm_client_abandon(&f->sw, &f->c, f->now);
	assert_int_equal(f->c.fail, SWARM_FAIL_UNFINISHED);
	assert_int_equal(f->sw.running, 0);
	swarm_client_init(&idle, &f->prof, 1, T0 + MONO_SEC(5)); /* never started */
	swarm_client_abandon(&f->sw, &idle, f->now);
	assert_int_equal(idle.fail, SWARM_FAIL_UNFINISHED);
	assert_int_equal(f->sw.running, 0);
}

static void test_profile_set(void **state)
{
	struct swarm_profile p = *swarm_profile_find("ipxe");

	(void)state;
	assert_int_equal(swarm_profile_set(&p, "blksize=1468"), 0);
	assert_int_equal(p.blksize, 1468);
	assert_int_equal(swarm_profile_set(&p, "tsize=0"), 0);
	assert_false(p.tsize);
	assert_int_equal(swarm_profile_set(&p, "backoff=1.5"), 0);
	assert_int_equal(p.backoff_pct, 150);
	assert_int_equal(swarm_profile_set(&p, "giveup_ms=20000"), 0);
	assert_int_equal(p.giveup_ms, 20000);
	assert_false(p.size_probe || p.probe_same_port || p.stale_tid_discard);
	assert_int_equal(swarm_profile_set(&p, "size_probe=1"), 0);
	assert_int_equal(swarm_profile_set(&p, "probe_same_port=1"), 0);
	assert_int_equal(swarm_profile_set(&p, "stale_tid_discard=1"), 0);
	assert_true(p.size_probe && p.probe_same_port && p.stale_tid_discard);
	assert_int_equal(swarm_profile_set(&p, "probe_same_port=0"), 0);
	assert_false(p.probe_same_port);
	assert_int_equal(swarm_profile_set(&p, "size_probe=2"), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "blksize=7"), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "blksize=abc"), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "nosuch=1"), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "retries"), -EINVAL);
	assert_int_equal(swarm_profile_set(&p, "retries=-1"), -EINVAL);
	assert_null(swarm_profile_find("bios"));
	assert_string_equal(swarm_profile_names(),
			    "ipxe, edk2, pxelinux, uboot, grub, strict, busybox");
	p = *swarm_profile_find("strict");
	assert_true(p.size_probe && p.probe_same_port && p.stale_tid_discard);
}

static void test_percentiles_and_rates(void **state)
{
	double v[100], bps;

	(void)state;
	for (int i = 0; i < 100; i++)
		v[i] = i + 1;
	assert_true(swarm_percentile(v, 100, 50) == 50);
	assert_true(swarm_percentile(v, 100, 99) == 99);
	assert_true(swarm_percentile(v, 100, 100) == 100);
	assert_true(swarm_percentile(v, 1, 50) == 1);
	assert_true(swarm_percentile(v, 0, 50) == -1);
	assert_true(swarm_percentile(v, 3, 50) == 2);
	assert_int_equal(swarm_parse_rate("500M", &bps), 0);
	assert_true(bps == 500e6);
	assert_int_equal(swarm_parse_rate("2.5G", &bps), 0);
	assert_true(bps == 2.5e9);
	assert_int_equal(swarm_parse_rate("1x", &bps), -EINVAL);
	assert_int_equal(swarm_parse_rate("G", &bps), -EINVAL);
}

/* A small run through the report: one ok client, one failed. */
static void test_report(void **state)
{
	struct fixture *f = *state;
	struct swarm_report *r = swarm_report_new(2);
	struct swarm_summary s;
	struct swarm_client failed;
	struct tftp_opts o = opts_of(1432, 0, true, 5000);
	char buf[4096];
	FILE *mem;

	start(f, "ipxe", NULL);
	f->now += MONO_MS(10);
	oack(f, &o);
	for (uint16_t b = 1; b <= 4; b++)
		data_at(f, b, (size_t)(b - 1) * 1432, 1432);
	f->now += MONO_MS(990);
	data_at(f, 5, 0, 1432); /* too late: ignored */
	swarm_client_init(&failed, &f->prof, 2, T0);
	swarm_client_abandon(&f->sw, &failed, T0 + MONO_SEC(3));
	swarm_report_add(r, &f->c);
	swarm_report_add(r, &failed);
	swarm_report_finish(r, &f->sw, 7, 1e9, "ipxe", &s);
	assert_int_equal(s.clients, 2);
	assert_int_equal(s.ok, 1);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.fail_by[SWARM_FAIL_UNFINISHED], 1);
	assert_true(s.completion_p50_s > 0.0099 && s.completion_p50_s < 0.0101);
	assert_true(s.first_reply_max_s > 0.0099 && s.first_reply_max_s < 0.0101);
	assert_true(s.makespan_s > 0.0099 && s.makespan_s < 0.0101);
	assert_true(s.goodput_mbps > 3.99 && s.goodput_mbps < 4.01); /* 5000 B in 10 ms */
	assert_true(s.link_share > 0.00399 && s.link_share < 0.00401);
	mem = fmemopen(buf, sizeof(buf), "w");
	swarm_report_json(&s, mem);
	fclose(mem);
	assert_non_null(strstr(buf, "\"clients\":2,"));
	assert_non_null(strstr(buf, "\"rx_drops\":7,"));
	assert_non_null(strstr(buf, "\"profile\":\"ipxe\""));
	assert_non_null(strstr(buf, "\"failed_unfinished\":1,"));
	swarm_report_free(r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_is_small),
		T(test_ipxe_lockstep),
		T(test_ipxe_gives_up),
		T(test_ipxe_loss),
		T(test_edk2_probe_then_windows),
		T(test_edk2_gives_up),
		T(test_strict_same_port_server_fails),
		T(test_edk2_same_port_server_fails),
		T(test_strict_new_port_server_succeeds),
		T(test_probe_lenient_variants),
		T(test_block_wrap),
		T(test_empty_last_block),
		T(test_server_without_options),
		T(test_unexpected_tid),
		T(test_error_is_fatal),
		T(test_mismatch),
		T(test_short_block_is_mismatch),
		T(test_bad_oacks),
		T(test_repeated_oack),
		T(test_grub_open),
		T(test_grub_data_phase),
		T(test_uboot_restart),
		T(test_uboot_window_loss),
		T(test_pxelinux_timer),
		T(test_strict_timer),
		T(test_abandon),
		cmocka_unit_test(test_profile_set),
		cmocka_unit_test(test_percentiles_and_rates),
		T(test_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
