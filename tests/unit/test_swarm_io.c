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
 * windowsize with the file's tsize; ACK n gets the window after n. */
struct responder {
	struct loop_io io;
	const uint8_t *file;
	size_t size;
	uint32_t blksize, window;
	unsigned rrqs;
};

static void reply(int fd, const struct sockaddr_in *to, const uint8_t *buf, size_t len)
{
	assert_int_equal(sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)),
			 (ssize_t)len);
}

static void send_window(struct responder *r, const struct sockaddr_in *to, uint32_t acked)
{
	uint8_t pkt[TFTP_HDR + 1500];

	for (uint32_t b = acked + 1; b <= acked + r->window; b++) {
		size_t off = (size_t)(b - 1) * r->blksize, len;
		if (off > r->size)
			return;
		len = r->size - off < r->blksize ? r->size - off : r->blksize;
		size_t hdr = tftp_build_data_hdr(pkt, sizeof(pkt), (uint16_t)b);
		memcpy(pkt + hdr, r->file + off, len);
		reply(r->io.fd, to, pkt, hdr + len);
	}
}

static void on_request(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct responder *r = (struct responder *)lio;
	uint8_t buf[2048], out[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct tftp_pkt p;
	ssize_t n;

	(void)events;
	(void)now;
	while ((n = recvfrom(r->io.fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &flen)) > 0) {
		if (tftp_parse(buf, (size_t)n, &p) < 0)
			continue;
		if (p.op == TFTP_RRQ) {
			struct tftp_opts o = p.req.opts;
			r->rrqs++;
			o.tsize = r->size;
			o.blksize = r->blksize;
			o.windowsize = r->window;
			reply(r->io.fd, &from, out, tftp_build_oack(out, sizeof(out), &o));
		} else if (p.op == TFTP_ACK) {
			send_window(r, &from, p.ack.block);
		}
		flen = sizeof(from);
	}
}

static void run_swarm(const char *profile, uint32_t blksize, uint32_t window, unsigned nclients,
		      unsigned expect_rrqs)
{
	struct loop *loop = loop_new();
	struct responder r = {.blksize = blksize, .window = window};
	struct netaddr any = {htonl(INADDR_LOOPBACK), 0};
	struct swarm sw = {0};
	struct swarm_io *io;
	struct swarm_io_counts k;
	uint8_t *file = malloc(20000);

	for (size_t i = 0; i < 20000; i++)
		file[i] = (uint8_t)(i * 13 + i / 7);
	r.file = file;
	r.size = 20000;
	r.io.fd = udp_open(&any, 0);
	assert_true(r.io.fd >= 0);
	r.io.fn = on_request;
	assert_int_equal(loop_io_add(loop, &r.io, EPOLLIN), 0);

	sw.server = (struct netaddr){htonl(INADDR_LOOPBACK), port_of(r.io.fd)};
	sw.remote_name = "boot.bin";
	sw.file = file;
	sw.file_size = 20000;
	assert_int_equal(swarm_io_open(&io, loop, &sw, nclients, NULL, 0), 0);
	for (unsigned i = 0; i < nclients; i++)
		swarm_client_init(swarm_io_client(io, i), swarm_profile_find(profile), i,
				  loop_now(loop) + MONO_MS(i % 10));
	swarm_io_start(io);
	assert_int_equal(loop_run(loop), 0);

	swarm_io_counts(io, &k);
	assert_int_equal(k.ok, nclients);
	assert_int_equal(k.failed, 0);
	assert_int_equal(sw.n.bytes, (uint64_t)nclients * 20000);
	assert_int_equal(r.rrqs, expect_rrqs);
	assert_int_equal(sw.running, 0);
	for (unsigned i = 0; i < nclients; i++)
		assert_int_equal(swarm_io_fd(io, i), -1); /* closed once done */
	swarm_io_close(io);
	close(r.io.fd);
	loop_free(loop);
	free(file);
}

static void test_ipxe_downloads(void **state)
{
	(void)state;
	run_swarm("ipxe", 1432, 1, 50, 50);
}

/* EDK2: probe, ERROR 8, the real RRQ from a new port, windows of 4. */
static void test_edk2_downloads(void **state)
{
	(void)state;
	run_swarm("edk2", 1468, 4, 50, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_in_turn),
		cmocka_unit_test(test_ipxe_downloads),
		cmocka_unit_test(test_edk2_downloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
