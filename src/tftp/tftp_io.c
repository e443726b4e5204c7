#include "tftp/tftp_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "tftp/tftp_sched.h"

/* Large enough for any request a client sends; longer ones are truncated
 * and refused as malformed. */
#define TFTP_RX_BUF 4096

/* Batches of requests read per readiness before the loop gets its turn
 * (timers, the pacer's wake-up, the other sockets): a flood on port 69
 * must not starve the transfers under way. epoll is level-triggered, so
 * the loop comes back for the rest. */
#define TFTP_BATCHES_PER_WAKE 16

struct tftp_sock {
	struct loop_io io; /* first: the loop hands us &io */
	struct tftp_io *owner;
	int index;	   /* transfer socket index, or -1 for a listening socket */
	struct ipaddr bound_ip; /* the address it is bound to (or the wildcard) */
	struct udp_batch batch;
	struct udp_sendq *out; /* transfer sockets: batched sends */
};

struct tftp_io {
	struct conf_tftp cfg; /* as opened: sockets are not reopened by a reload */
	struct loop *loop;
	struct tftp_server *srv;
	struct tftp_sock *listen;
	unsigned nlisten;
	/* Transfer sockets: `transfer_sockets` of them per listen address (one
	 * set if any listen address is the wildcard), set after set. */
	struct tftp_sock *xfer;
	unsigned nxfer;
	unsigned nsets;
	struct ipaddr set_ips[CONF_MAX_LISTEN];
	struct timer timer;
	struct loop_post post;
	uint64_t tx_errors;
	struct ratelimit rl_tx;
};

static int sock_open(struct tftp_sock *s, struct tftp_io *io, int index,
		     const struct netaddr *addr, int rcvbuf)
{
	char a[NETADDR_STRLEN];
	int fd = udp_open(addr, rcvbuf);

	if (fd < 0) {
		log_err("cannot bind TFTP %s %s: %s", index < 0 ? "port" : "transfer port",
			netaddr_str(addr, a), strerror(-fd));
		return fd;
	}
	s->io.fd = fd;
	s->owner = io;
	s->index = index;
	s->bound_ip = addr->ip;
	if (udp_batch_init(&s->batch, TFTP_RX_BUF) < 0 ||
	    (index >= 0 && (s->out = malloc(sizeof(*s->out))) == NULL)) {
		udp_batch_fini(&s->batch);
		close(fd);
		s->io.fd = -1;
		return -ENOMEM;
	}
	if (s->out) {
		/* Room for an unpaced burst of windows without EAGAIN. */
		int sndbuf = 4 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		udp_sendq_init(s->out, fd);
	}
	return 0;
}

/* The addresses transfer sockets bind to: each listen address, or only the
 * wildcard if one of them is (then every address is served anyway). */
static unsigned transfer_sets(const struct conf_tftp *cfg, struct ipaddr ips[CONF_MAX_LISTEN])
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->listen.count; i++) {
		struct ipaddr ip = cfg->listen.addrs[i].ip;
		bool seen = false;
		if (ipaddr_is_any(&ip)) {
			ips[0] = ip;
			return 1;
		}
		for (unsigned j = 0; j < n; j++)
			seen = seen || ipaddr_eq(&ips[j], &ip);
		if (!seen)
			ips[n++] = ip;
	}
	return n;
}

int tftp_io_open(struct tftp_io **out, const struct conf_tftp *cfg, int rcvbuf)
{
	struct tftp_io *io = calloc(1, sizeof(*io));
	int err = -ENOMEM;

	if (io == NULL)
		return -ENOMEM;
	io->cfg = *cfg;
	io->nsets = transfer_sets(cfg, io->set_ips);
	io->listen = calloc(cfg->listen.count, sizeof(*io->listen));
	io->xfer = calloc((size_t)io->nsets * cfg->transfer_sockets, sizeof(*io->xfer));
	if (io->listen == NULL || io->xfer == NULL)
		goto fail;
	for (unsigned i = 0; i < cfg->listen.count; i++, io->nlisten++) {
		err = sock_open(&io->listen[i], io, -1, &cfg->listen.addrs[i], rcvbuf);
		if (err < 0)
			goto fail;
	}
	/* Transfer ports are kernel-chosen ports on the listen addresses only;
	 * replies leave from the address the request came to (IP_PKTINFO). */
	for (unsigned set = 0; set < io->nsets; set++) {
		struct netaddr addr = {.ip = io->set_ips[set], .port = 0};
		for (unsigned i = 0; i < cfg->transfer_sockets; i++, io->nxfer++) {
			err = sock_open(&io->xfer[io->nxfer], io, (int)i, &addr, rcvbuf);
			if (err < 0)
				goto fail;
		}
	}
	io->rl_tx = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	*out = io;
	return 0;
fail:
	tftp_io_close(io, 0);
	return err;
}

/* Transfer socket `sock` of the set bound to local_ip. */
static struct tftp_sock *xfer_sock(struct tftp_io *io, unsigned sock, struct ipaddr local_ip)
{
	unsigned set = 0;

	for (unsigned i = 0; i < io->nsets; i++)
		if (ipaddr_eq(&io->xfer[i * io->cfg.transfer_sockets].bound_ip, &local_ip))
			set = i;
	if (sock >= io->cfg.transfer_sockets)
		sock = 0;
	return &io->xfer[set * io->cfg.transfer_sockets + sock];
}

/* Datagrams are gathered per transfer socket and leave in one sendmmsg()
 * when the server's entry point returns (tx_flush). */
static void tx_send(void *ctx, unsigned sock, const struct netaddr *peer, struct ipaddr local_ip,
		    const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t payload_len)
{
	struct tftp_io *io = ctx;
	struct tftp_sock *s = xfer_sock(io, sock, local_ip);

	if (udp_sendq_add(s->out, peer, &local_ip, hdr, hdr_len, payload, payload_len) < 0)
		io->tx_errors++;
}

static void tx_flush(void *ctx)
{
	struct tftp_io *io = ctx;

	for (unsigned i = 0; i < io->nxfer; i++) {
		struct udp_sendq *q = io->xfer[i].out;
		if (q->n == 0)
			continue;
		unsigned failed = udp_sendq_flush(q);
		if (failed) {
			io->tx_errors += failed;
			log_limited(&io->rl_tx, loop_now(io->loop), LOG_LVL_WARN,
				    "tftp: %u datagrams not sent: %s", failed,
				    strerror(-q->last_error));
		}
	}
}

/* Hands the n datagrams of s's batch to the server. */
static void handle_batch(struct tftp_io *io, struct tftp_sock *s, int n)
{
	/* Round trips on a LAN are tens of microseconds: a batch is handled as
	 * of when it was read, not when the loop iteration began (the pacer's
	 * send times come from the same clock), and round trips end when the
	 * kernel received the ACK, not when a busy herd got round to it. */
	mono_t now = s->batch.read_at;

	for (int i = 0; i < n; i++) {
		struct udp_pkt *p = &s->batch.pkts[i];
		size_t len = p->truncated ? 0 : p->len;
		if (s->index < 0)
			tftp_server_request(io->srv, &p->peer, p->local_ip, p->data, len, now);
		else
			tftp_server_input(io->srv, (unsigned)s->index, &p->peer, p->local_ip,
					  p->data, len, p->arrived, now);
	}
	if (n > 0)
		tx_flush(io); /* the replies to this batch, in one sendmmsg per socket */
}

static void receive(struct tftp_io *io, struct tftp_sock *s)
{
	int n;

	do {
		n = udp_recv_batch(s->io.fd, &s->batch);
		handle_batch(io, s, n);
	} while (n == UDP_BATCH);
}

static void on_readable(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct tftp_sock *s = (struct tftp_sock *)lio;
	struct tftp_io *io = s->owner;
	int n, round = 0;

	(void)events, (void)now;
	if (s->index >= 0) {
		receive(io, s);
		return;
	}
	/* A batch of requests is read, then everything already waiting on the
	 * transfer ports is handled, then the requests: a client that aborts
	 * its size probe (ERROR 8 to the transfer port) and at once sends the
	 * very same RRQ again must have its abort seen first, or the request
	 * looks like a repeat of the probe's. The abort was sent first, so it
	 * is queued by the time its RRQ has been read. */
	do {
		n = udp_recv_batch(s->io.fd, &s->batch);
		if (n <= 0)
			break;
		for (unsigned i = 0; i < io->nxfer; i++)
			receive(io, &io->xfer[i]);
		handle_batch(io, s, n);
	} while (n == UDP_BATCH && ++round < TFTP_BATCHES_PER_WAKE);
}

static void on_timer(struct timer *t, mono_t now)
{
	struct tftp_io *io = (struct tftp_io *)((char *)t - offsetof(struct tftp_io, timer));

	tftp_server_tick(io->srv, now);
}

/* After every loop iteration: keep the loop's timer on the server's next
 * deadline. */
static void on_post(struct loop_post *p, mono_t now)
{
	struct tftp_io *io = (struct tftp_io *)((char *)p - offsetof(struct tftp_io, post));
	mono_t next = tftp_server_next_deadline(io->srv);

	(void)now;
	tx_flush(io); /* what timers and the pacer sent this iteration */
	if (next == MONO_NEVER)
		loop_timer_cancel(io->loop, &io->timer);
	else if (!timer_armed(&io->timer) || io->timer.when != next)
		loop_timer_set(io->loop, &io->timer, next);
}

int tftp_io_start(struct tftp_io *io, struct loop *loop, struct files *files)
{
	struct tftp_tx tx = {io, tx_send, tx_flush};
	int err;

	io->loop = loop;
	io->srv = tftp_server_new(&io->cfg, files, &tx);
	if (io->srv == NULL)
		return -ENOMEM;
	if (io->cfg.link_rate == SCHED_RATE_AUTO) {
		uint64_t speed = net_link_speed_bps(io->set_ips, io->nsets);
		char mbps[32] = "unknown";
		if (speed)
			snprintf(mbps, sizeof(mbps), "%llu Mbit/s", (unsigned long long)(speed / 1000000));
		log_info("tftp: link_rate = auto: learning the rate, interface speed %s", mbps);
		tftp_server_set_link_speed(io->srv, speed);
	}
	for (unsigned i = 0; i < io->nlisten + io->nxfer; i++) {
		struct tftp_sock *s = i < io->nlisten ? &io->listen[i] : &io->xfer[i - io->nlisten];
		s->io.fn = on_readable;
		err = loop_io_add(loop, &s->io, EPOLLIN);
		if (err < 0)
			return err;
	}
	timer_init(&io->timer, on_timer);
	io->post.fn = on_post;
	loop_post_add(loop, &io->post);
	return 0;
}

struct tftp_server *tftp_io_server(struct tftp_io *io)
{
	return io->srv;
}

uint64_t tftp_io_rx_drops(const struct tftp_io *io)
{
	uint64_t drops = 0;

	for (unsigned i = 0; i < io->nlisten; i++)
		drops += io->listen[i].batch.drops;
	for (unsigned i = 0; i < io->nxfer; i++)
		drops += io->xfer[i].batch.drops;
	return drops;
}

void tftp_io_stats_visit(const struct tftp_io *io, const struct stat_visitor *v)
{
	tftp_server_stats_visit(io->srv, v);
	stat_counter(v, "rx_drops", tftp_io_rx_drops(io), "datagrams lost to full receive buffers");
	stat_counter(v, "tx_errors", io->tx_errors, "datagrams the kernel refused to send");
}

uint64_t tftp_io_memory(const struct conf_tftp *cfg)
{
	struct ipaddr ips[CONF_MAX_LISTEN];
	uint64_t xfer_socks = (uint64_t)transfer_sets(cfg, ips) * cfg->transfer_sockets;
	uint64_t rx = mem_chunk((uint64_t)TFTP_RX_BUF * UDP_BATCH);

	return mem_chunk(sizeof(struct tftp_io)) + (cfg->listen.count + xfer_socks) * rx +
	       xfer_socks * mem_chunk(sizeof(struct udp_sendq)) + tftp_server_memory(cfg);
}

uint64_t tftp_io_tx_errors(const struct tftp_io *io)
{
	return io->tx_errors;
}

static void sock_close(struct tftp_io *io, struct tftp_sock *s)
{
	if (s->owner == NULL)
		return;
	if (io->loop)
		loop_io_del(io->loop, &s->io);
	close(s->io.fd);
	udp_batch_fini(&s->batch);
	free(s->out);
}

void tftp_io_close(struct tftp_io *io, mono_t now)
{
	if (io == NULL)
		return;
	if (io->loop)
		loop_timer_cancel(io->loop, &io->timer);
	tftp_server_free(io->srv, now);
	for (unsigned i = 0; i < io->nlisten; i++)
		sock_close(io, &io->listen[i]);
	for (unsigned i = 0; i < io->nxfer; i++)
		sock_close(io, &io->xfer[i]);
	free(io->listen);
	free(io->xfer);
	free(io);
}
