/* The swarm's socket glue on 127.0.0.1: ports handed out in turn, and whole
 * downloads through the real loop from a small stateless TFTP responder
 * living in the same loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/loop.h"
#include "swarm/swarm_io.h"
#include "tftp/tftp_wire.h"

static uint16_t port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* Every socket a client opens has a port no other socket of the run has
 * had: a freed port handed straight back would look like an old client. */
static void test_ports_in_turn(void **state)
{
	struct loop *loop = loop_new();
	struct swarm sw = {0};
	struct swarm_io *io;
	uint32_t ip = htonl(INADDR_LOOPBACK);
	uint16_t seen[40];
	unsigned nseen = 0;

	(void)state;
	assert_non_null(loop);
	assert_int_equal(swarm_io_open(&io, loop, &sw, 3, &ip, 1), 0);
	for (unsigned i = 0; i < 3; i++)
		seen[nseen++] = port_of(swarm_io_fd(io, i));
	for (unsigned k = 0; k < 30; k++) {
		uint16_t p;
		assert_int_equal(sw.tx.new_port(sw.tx.ctx, swarm_io_client(io, k % 3)), 0);
		p = port_of(swarm_io_fd(io, k % 3));
		for (unsigned j = 0; j < nseen; j++)
			assert_int_not_equal(p, seen[j]);
		seen[nseen++] = p;
	}
	swarm_io_close(io);
	loop_free(loop);
}

/* A responder that keeps no state: an RRQ gets an OACK echoing blksize and
 * windowsize with the file's tsize; ACK n gets the window after n. It
 * answers from its port 69 socket, like a server with one shared transfer
 * port, or (fresh_ports) from a new socket per RRQ, like dnsmasq. */
#define MAX_XFER_SOCKS 256

struct responder;
struct xfer_sock {
	struct loop_io io; /* first: the loop hands us &io */
	struct responder *r;
};

struct responder {
	struct loop_io io;
	const uint8_t *file;
	size_t size;
	uint32_t blksize, window;
	unsigned rrqs;
	bool fresh_ports;
	struct loop *loop;
	struct xfer_sock xs[MAX_XFER_SOCKS];
	unsigned nxs;
};

static void reply(int fd, const struct sockaddr_in *to, const uint8_t *buf, size_t len)
{
	assert_int_equal(sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)),
			 (ssize_t)len);
}

static void send_window(struct responder *r, int fd, const struct sockaddr_in *to, uint32_t acked)
{
	uint8_t pkt[TFTP_HDR + 1500];

	for (uint32_t b = acked + 1; b <= acked + r->window; b++) {
		size_t off = (size_t)(b - 1) * r->blksize, len;
		if (off > r->size)
			return;
		len = r->size - off < r->blksize ? r->size - off : r->blksize;
		size_t hdr = tftp_build_data_hdr(pkt, sizeof(pkt), (uint16_t)b);
		memcpy(pkt + hdr, r->file + off, len);
		reply(fd, to, pkt, hdr + len);
	}
}

/* Everything waiting on `fd`: RRQs get an OACK (from `fd`, or from a new
 * socket), ACKs the next window; ERRORs end nothing (no state). */
static void serve(struct responder *r, int fd, loop_io_fn on_xfer)
{
	uint8_t buf[2048], out[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct tftp_pkt p;
	ssize_t n;

	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &flen)) > 0) {
		flen = sizeof(from);
		if (tftp_parse(buf, (size_t)n, &p) < 0)
			continue;
		if (p.op == TFTP_RRQ) {
			struct tftp_opts o = p.req.opts;
			int out_fd = fd;
			r->rrqs++;
			if (r->fresh_ports) {
				struct netaddr any = netaddr_v4(htonl(INADDR_LOOPBACK), 0);
				struct xfer_sock *x = &r->xs[r->nxs++];
				assert_true(r->nxs <= MAX_XFER_SOCKS);
				x->r = r;
				x->io.fd = out_fd = udp_open(&any, 0);
				x->io.fn = on_xfer;
				assert_true(out_fd >= 0);
				assert_int_equal(loop_io_add(r->loop, &x->io, EPOLLIN), 0);
			}
			o.tsize = r->size;
			o.blksize = r->blksize;
			o.windowsize = r->window;
			reply(out_fd, &from, out, tftp_build_oack(out, sizeof(out), &o));
		} else if (p.op == TFTP_ACK) {
			send_window(r, fd, &from, p.ack.block);
		}
	}
}

static void on_xfer(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct xfer_sock *x = (struct xfer_sock *)lio;

	(void)events;
	(void)now;
	serve(x->r, x->io.fd, on_xfer);
}

static void on_request(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct responder *r = (struct responder *)lio;

	(void)events;
	(void)now;
	serve(r, r->io.fd, on_xfer);
}

/* nclients clients of `prof` against the responder, to the end; the
 * counts in *k, the swarm's counters in *n. */
static void run_swarm(const struct swarm_profile *prof, struct responder *r, unsigned nclients,
		      struct swarm_io_counts *k, struct swarm_counters *n)
{
	struct loop *loop = loop_new();
	struct netaddr any = netaddr_v4(htonl(INADDR_LOOPBACK), 0);
	struct swarm sw = {0};
	struct swarm_io *io;
	uint8_t *file = malloc(20000);

	for (size_t i = 0; i < 20000; i++)
		file[i] = (uint8_t)(i * 13 + i / 7);
	r->file = file;
	r->size = 20000;
	r->loop = loop;
	r->io.fd = udp_open(&any, 0);
	assert_true(r->io.fd >= 0);
	r->io.fn = on_request;
	assert_int_equal(loop_io_add(loop, &r->io, EPOLLIN), 0);

	sw.server = netaddr_v4(htonl(INADDR_LOOPBACK), port_of(r->io.fd));
	sw.remote_name = "boot.bin";
	sw.file = file;
	sw.file_size = 20000;
	assert_int_equal(swarm_io_open(&io, loop, &sw, nclients, NULL, 0), 0);
	for (unsigned i = 0; i < nclients; i++)
		swarm_client_init(swarm_io_client(io, i), prof, i,
				  loop_now(loop) + MONO_MS(i % 10));
	swarm_io_start(io);
	assert_int_equal(loop_run(loop), 0);

	swarm_io_counts(io, k);
	*n = sw.n;
	assert_int_equal(sw.running, 0);
	for (unsigned i = 0; i < nclients; i++)
		assert_int_equal(swarm_io_fd(io, i), -1); /* closed once done */
	swarm_io_close(io);
	for (unsigned i = 0; i < r->nxs; i++) {
		loop_io_del(loop, &r->xs[i].io);
		close(r->xs[i].io.fd);
	}
	loop_io_del(loop, &r->io);
	close(r->io.fd);
	loop_free(loop);
	free(file);
}

/* Every client gets the whole file; the responder saw `expect_rrqs`. */
static void run_swarm_ok(const char *profile, struct responder *r, unsigned nclients,
			 unsigned expect_rrqs)
{
	struct swarm_io_counts k;
	struct swarm_counters n;

	run_swarm(swarm_profile_find(profile), r, nclients, &k, &n);
	assert_int_equal(k.ok, nclients);
	assert_int_equal(k.failed, 0);
	assert_int_equal(n.bytes, (uint64_t)nclients * 20000);
	assert_int_equal(r->rrqs, expect_rrqs);
	assert_int_equal(n.stale_tid, 0);
}

static void test_ipxe_downloads(void **state)
{
	struct responder r = {.blksize = 1432, .window = 1};

	(void)state;
	run_swarm_ok("ipxe", &r, 50, 50);
}

/* EDK2: probe, ERROR 8, the real RRQ from the same port, answered from a
 * new server port; windows of 4. */
static void test_edk2_downloads(void **state)
{
	struct responder r = {.blksize = 1468, .window = 4, .fresh_ports = true};

	(void)state;
	run_swarm_ok("edk2", &r, 50, 100);
}

/* The strict ROM against a server that answers every RRQ from one port:
 * the real transfer comes from the probe's TID, so no client accepts a
 * byte (timers shortened: 50 ms, 3 re-sends). */
static void test_strict_one_port_server_fails(void **state)
{
	struct swarm_profile prof = *swarm_profile_find("strict");
	struct responder r = {.blksize = 1432, .window = 1};
	struct swarm_io_counts k;
	struct swarm_counters n;

	(void)state;
	assert_int_equal(swarm_profile_set(&prof, "timeout_ms=50"), 0);
	assert_int_equal(swarm_profile_set(&prof, "max_timeout_ms=50"), 0);
	run_swarm(&prof, &r, 20, &k, &n);
	assert_int_equal(k.ok, 0);
	assert_int_equal(k.failed, 20);
	assert_int_equal(n.bytes, 0);
	assert_int_equal(n.acks, 0);
	assert_true(n.stale_tid >= 20 * 4); /* an OACK for each real RRQ */
	assert_int_equal(r.rrqs, 20 * 5);   /* probe, then the RRQ 4 times */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_in_turn),
		cmocka_unit_test(test_ipxe_downloads),
		cmocka_unit_test(test_edk2_downloads),
		cmocka_unit_test(test_strict_one_port_server_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
