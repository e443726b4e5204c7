#include "swarm/swarm_io.h"

#include <errno.h>
#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "swarm/swarm_stage.h"

/* Any UDP datagram fits, so a block larger than asked is seen (and fails
 * the client) rather than truncated. One batch serves every socket. */
#define SWARM_RX_BUF 65536
/* A DHCP reply is at most 1472 bytes; anything longer is cut and counted
 * as malformed. */
#define SWARM_DHCP_RX_BUF 2048
/* The DHCP socket's receive buffer: a burst of 2000 replies (~1 KB of
 * kernel memory each) at once must not overflow it. */
#define SWARM_DHCP_RCVBUF (8 << 20)
/* One read from a TCP socket, and at most this many reads per wake-up, so
 * that one client's backlog does not hold up the others. */
#define SWARM_TCP_READ 65536
#define SWARM_TCP_READS 16
/* iPXE's receive window: TCP_MAX_WINDOW_SIZE, 256 KB (include/ipxe/tcp.h).
 * SO_RCVBUF fixes the socket's buffer (no autotuning); the kernel doubles
 * it for its bookkeeping and advertises about the value asked. */
#define SWARM_TCP_RCVBUF (256 * 1024)

struct swarm_node;

/* A client's TCP connection (the HTTP stage). */
struct swarm_tcp {
	struct loop_io io; /* first: the loop hands us &io */
	struct swarm_node *node;
	uint32_t generation; /* sockets closed so far */
	bool connecting;
};

struct swarm_node {
	struct loop_io io; /* first: the loop hands us &io */
	struct swarm_io *owner;
	struct timer timer;
	struct swarm_client client;
	struct swarm_tcp tcp;
	uint32_t bind_ip;
	uint32_t kernel_drops; /* this socket's SO_RXQ_OVFL counter, last seen */
	uint16_t sockets;      /* sockets opened so far (the fd number may repeat) */
	bool counted;	       /* its ending is in ok/failed */
};

struct swarm_io {
	struct loop *loop;
	struct swarm *sw;
	struct swarm_node *nodes;
	unsigned n;
	unsigned ok, failed;
	struct udp_batch batch;
	uint8_t *tcp_buf; /* SWARM_TCP_READ bytes, every TCP read */
	struct loop_io dhcp;	    /* the shared DHCP socket (fd -1: none) */
	struct udp_batch dhcp_batch;
	struct netaddr dhcp_to[SWARM_DHCP_SERVERS_MAX]; /* where requests go */
	unsigned ndhcp_to;
	uint64_t closed_drops; /* drops on sockets closed before their next datagram */
	uint16_t port_lo, port_hi, port_next;
};

#define NODE_OF_TIMER(t) ((struct swarm_node *)((char *)(t) - offsetof(struct swarm_node, timer)))
#define NODE_OF_CLIENT(c)                                                                          \
	((struct swarm_node *)((char *)(c) - offsetof(struct swarm_node, client)))

static void on_readable(struct loop_io *lio, uint32_t events, mono_t now);

static void tcp_close(struct swarm_io *io, struct swarm_node *n)
{
	if (n->tcp.io.fd < 0)
		return;
	loop_io_del(io->loop, &n->tcp.io);
	close(n->tcp.io.fd);
	n->tcp.io.fd = -1;
	n->tcp.connecting = false;
	n->tcp.generation++;
}

/* Source ports are handed out in turn over the ephemeral range. The
 * swarm's clients share one address (or a few, --bind) where a cluster has
 * one per node: a port the kernel hands straight back after another client
 * freed it would look to the server like that client again, while the
 * server may still hold its transfer. Taking ports in turn puts the longest
 * possible time between two uses of a port. */
static void ports_init(struct swarm_io *io)
{
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (f != NULL) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo < 1024 || hi > 65535 || lo >= hi) {
			lo = 32768;
			hi = 60999;
		}
		fclose(f);
	}
	io->port_lo = (uint16_t)lo;
	io->port_hi = (uint16_t)hi;
	io->port_next = (uint16_t)(lo + (unsigned)clock_mono_now() % (hi - lo + 1));
}

/* A UDP socket on `ip` and the next free port. Returns fd or -errno. */
static int bind_next(struct swarm_io *io, uint32_t ip)
{
	unsigned span = (unsigned)io->port_hi - io->port_lo + 1;
	int fd = -EADDRINUSE;

	for (unsigned i = 0; i < span && fd == -EADDRINUSE; i++) {
		struct netaddr a = {.ip = ipaddr_v4(ip), .port = io->port_next};
		io->port_next = io->port_next == io->port_hi ? io->port_lo : io->port_next + 1;
		fd = udp_open(&a, 0);
	}
	return fd;
}

static int sock_open(struct swarm_io *io, struct swarm_node *n)
{
	int fd = bind_next(io, n->bind_ip);
	int err;

	if (fd < 0)
		return fd;
	n->io.fd = fd;
	n->io.fn = on_readable;
	n->kernel_drops = 0;
	n->sockets++;
	err = loop_io_add(io->loop, &n->io, EPOLLIN);
	if (err < 0) {
		close(fd);
		n->io.fd = -1;
	}
	return err;
}

/* Drops the kernel counted after the last datagram we read carry no
 * SO_RXQ_OVFL message: read the same counter (sk_drops) once more. */
static void sock_close(struct swarm_io *io, struct swarm_node *n)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (n->io.fd < 0)
		return;
	if (getsockopt(n->io.fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(uint32_t))
		io->closed_drops += (uint32_t)(mem[SK_MEMINFO_DROPS] - n->kernel_drops);
	loop_io_del(io->loop, &n->io);
	close(n->io.fd);
	n->io.fd = -1;
}

/* After every call into a client: follow its deadline with the loop timer,
 * and once it has ended, close its socket and count it. */
static void sync_node(struct swarm_io *io, struct swarm_node *n)
{
	struct swarm_client *c = &n->client;

	if (swarm_client_finished(c)) {
		loop_timer_cancel(io->loop, &n->timer);
		sock_close(io, n);
		tcp_close(io, n);
		swarm_http_release(c);
		if (!n->counted) {
			n->counted = true;
			if (c->stage == SWARM_DONE)
				io->ok++;
			else
				io->failed++;
			if (io->ok + io->failed == io->n)
				loop_stop(io->loop);
		}
		return;
	}
	if (c->deadline == MONO_NEVER)
		loop_timer_cancel(io->loop, &n->timer);
	else if (!timer_armed(&n->timer) || n->timer.when != c->deadline)
		loop_timer_set(io->loop, &n->timer, c->deadline);
}

/* Hands everything waiting on the client's socket to the client. */
static void drain(struct swarm_io *io, struct swarm_node *n, mono_t now)
{
	uint16_t generation = n->sockets;
	int fd = n->io.fd, cnt;

	if (fd < 0)
		return;
	io->batch.kernel_drops = n->kernel_drops;
	while ((cnt = udp_recv_batch(fd, &io->batch)) > 0) {
		n->kernel_drops = io->batch.kernel_drops;
		for (int i = 0; i < cnt; i++) {
			struct udp_pkt *p = &io->batch.pkts[i];
			swarm_client_input(io->sw, &n->client, &p->peer, p->data,
					   p->truncated ? 0 : p->len, now);
			/* Ended, or moved to a new port: the rest of this
			 * socket's queue is for nobody. */
			if (n->sockets != generation || swarm_client_finished(&n->client))
				return;
		}
		if (cnt < UDP_BATCH)
			break;
	}
}

static void on_readable(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct swarm_node *n = (struct swarm_node *)lio;

	(void)events;
	drain(n->owner, n, now);
	sync_node(n->owner, n);
}

/* One batch of DHCP replies, each to its client. One only: every client
 * shares this socket, and the loop's `now` (read once per iteration) must
 * stay close to the time a reply came, or a fast server's OFFER and ACK
 * would be read in the iteration that sent the DISCOVER: a DORA of 0 s.
 * The socket stays readable; the next iteration reads on. */
static void dhcp_drain(struct swarm_io *io, mono_t now)
{
	int cnt;

	if (io->dhcp.fd < 0 || (cnt = udp_recv_batch(io->dhcp.fd, &io->dhcp_batch)) <= 0)
		return;
	for (int i = 0; i < cnt; i++) {
		struct udp_pkt *p = &io->dhcp_batch.pkts[i];
		struct swarm_client *c =
			swarm_dhcp_input(io->sw, p->data, p->truncated ? 0 : p->len, now);
		if (c != NULL)
			sync_node(io, NODE_OF_CLIENT(c));
	}
}

static void on_dhcp_readable(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct swarm_io *io = (struct swarm_io *)((char *)lio - offsetof(struct swarm_io, dhcp));

	(void)events;
	dhcp_drain(io, now);
}

/* Everything the connection has for the client, up to SWARM_TCP_READS
 * reads; the end of the stream or an error closes it. */
static void tcp_drain(struct swarm_io *io, struct swarm_node *n, mono_t now)
{
	uint32_t generation = n->tcp.generation;
	int one = 1;

	for (int i = 0; i < SWARM_TCP_READS && n->tcp.io.fd >= 0 && !n->tcp.connecting; i++) {
		ssize_t r = recv(n->tcp.io.fd, io->tcp_buf, SWARM_TCP_READ, 0);
		if (r > 0) {
			/* iPXE has no delayed ACK (it acknowledges what each
			 * poll of its NIC delivered); Linux leaves quick-ACK
			 * mode by itself */
			setsockopt(n->tcp.io.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
			swarm_http_input(io->sw, &n->client, io->tcp_buf, (size_t)r, now);
		} else if (r == 0) {
			swarm_http_closed(io->sw, &n->client, 0, now);
		} else if (errno == EINTR) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			swarm_http_closed(io->sw, &n->client, -errno, now);
		} else {
			return;
		}
		if (r <= 0 || n->tcp.generation != generation || swarm_client_finished(&n->client))
			return;
	}
}

/* The connection came up or failed (connect()'s result is SO_ERROR; with
 * none, getpeername() tells an event of an earlier socket from a real one). */
static void tcp_connect_done(struct swarm_io *io, struct swarm_node *n, mono_t now)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (getsockopt(n->tcp.io.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == 0 && getpeername(n->tcp.io.fd, (struct sockaddr *)&peer, &len) < 0)
		return; /* still connecting */
	n->tcp.connecting = false;
	if (err == 0) {
		loop_io_del(io->loop, &n->tcp.io);
		if (loop_io_add(io->loop, &n->tcp.io, EPOLLIN) < 0)
			err = EBADF;
	}
	swarm_http_connected(io->sw, &n->client, -err, now);
}

static void on_tcp(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct swarm_tcp *t = (struct swarm_tcp *)lio;
	struct swarm_node *n = t->node;

	if (t->connecting) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			tcp_connect_done(n->owner, n, now);
	} else {
		tcp_drain(n->owner, n, now);
	}
	sync_node(n->owner, n);
}

/* A real client polls its NIC before it declares a timeout. The loop hands
 * out at most a few dozen ready sockets per wake-up and fires timers after
 * them, so after the swarm itself was slow a reply may be waiting unread:
 * read it first, or the swarm would blame its own lateness on the server
 * (it did: tens of thousands of false re-sends at 1000 pxelinux clients on a
 * busy host). The price: a reply that came after the deadline, while the
 * swarm was not running, counts as in time. */
static void on_timer(struct timer *t, mono_t now)
{
	struct swarm_node *n = NODE_OF_TIMER(t);
	struct swarm_client *c = &n->client;

	if (swarm_client_in_dhcp(c))
		dhcp_drain(n->owner, now);
	else if (c->stage == SWARM_HTTP)
		tcp_drain(n->owner, n, now);
	else if (c->stage != SWARM_IDLE)
		drain(n->owner, n, now);
	if (!swarm_client_finished(c) && c->deadline <= now)
		swarm_client_timeout(n->owner->sw, c, now);
	sync_node(n->owner, n);
}

static int tx_send(void *ctx, struct swarm_client *c, const struct netaddr *to,
		   const uint8_t *buf, size_t len)
{
	struct swarm_node *n = NODE_OF_CLIENT(c);
	struct iovec iov = {(void *)buf, len};

	(void)ctx;
	if (n->io.fd < 0)
		return -EBADF;
	return udp_sendv(n->io.fd, to, 0, &iov, 1);
}

/* To every server: one send that went out is enough (a relay does not
 * care whether every helper address is reachable). */
static int tx_send_dhcp(void *ctx, const uint8_t *buf, size_t len)
{
	struct swarm_io *io = ctx;
	struct iovec iov = {(void *)buf, len};
	int err = -EBADF, sent = 0;

	if (io->dhcp.fd < 0)
		return -EBADF;
	for (unsigned i = 0; i < io->ndhcp_to; i++) {
		int r = udp_sendv(io->dhcp.fd, &io->dhcp_to[i], 0, &iov, 1);
		if (r < 0)
			err = r;
		else
			sent++;
	}
	return sent ? 0 : err;
}

/* A non-blocking connect from the client's address: the kernel picks the
 * port at connect() (IP_BIND_ADDRESS_NO_PORT), so 250 addresses carry any
 * number of connections. TCP_USER_TIMEOUT: what the client sent (SYN,
 * request) unacknowledged this long ends the connection, as iPXE's TCP
 * retry timer does. */
static int tx_tcp_open(void *ctx, struct swarm_client *c, const struct netaddr *to,
		       uint32_t user_timeout_ms)
{
	struct swarm_io *io = ctx;
	struct swarm_node *n = NODE_OF_CLIENT(c);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(to->port)};
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = n->bind_ip};
	unsigned timeout = user_timeout_ms;
	int one = 1, rcvbuf = SWARM_TCP_RCVBUF, fd, err;

	tcp_close(io, n);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = ipaddr_to_v4(&to->ip);
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if ((n->bind_ip && bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) ||
	    (timeout && setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout)) < 0) ||
	    (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno != EINPROGRESS)) {
		err = -errno;
		close(fd);
		return err;
	}
	n->tcp.io.fd = fd;
	n->tcp.io.fn = on_tcp;
	n->tcp.node = n;
	n->tcp.connecting = true;
	err = loop_io_add(io->loop, &n->tcp.io, EPOLLIN | EPOLLOUT);
	if (err < 0) {
		close(fd);
		n->tcp.io.fd = -1;
	}
	return err;
}

/* A request is a few hundred bytes: it goes whole into an empty send
 * buffer, or the connection is broken. */
static int tx_tcp_send(void *ctx, struct swarm_client *c, const uint8_t *buf, size_t len)
{
	struct swarm_node *n = NODE_OF_CLIENT(c);
	ssize_t r;

	(void)ctx;
	if (n->tcp.io.fd < 0)
		return -EBADF;
	r = send(n->tcp.io.fd, buf, len, MSG_NOSIGNAL);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EAGAIN;
}

static void tx_tcp_close(void *ctx, struct swarm_client *c)
{
	tcp_close(ctx, NODE_OF_CLIENT(c));
}

static struct swarm_client *tx_client(void *ctx, uint32_t index)
{
	struct swarm_io *io = ctx;

	return index < io->n ? &io->nodes[index].client : NULL;
}

/* A new port, as EDK2 takes for its real RRQ and U-Boot for a restart
 * (never the one just left: see ports_init()). */
static int tx_new_port(void *ctx, struct swarm_client *c)
{
	struct swarm_io *io = ctx;
	struct swarm_node *n = NODE_OF_CLIENT(c);

	sock_close(io, n);
	return sock_open(io, n);
}

int swarm_io_open(struct swarm_io **out, struct loop *loop, struct swarm *sw, unsigned n,
		  const uint32_t *binds, unsigned nbind)
{
	struct swarm_io *io = calloc(1, sizeof(*io));
	int err = -ENOMEM;

	if (io == NULL)
		return -ENOMEM;
	io->loop = loop;
	io->sw = sw;
	io->dhcp.fd = -1;
	io->nodes = calloc(n ? n : 1, sizeof(*io->nodes));
	io->tcp_buf = malloc(SWARM_TCP_READ);
	if (io->nodes == NULL || io->tcp_buf == NULL || udp_batch_init(&io->batch, SWARM_RX_BUF) < 0)
		goto fail;
	ports_init(io);
	for (unsigned i = 0; i < n; i++) {
		io->nodes[i].io.fd = -1;
		io->nodes[i].tcp.io.fd = -1;
	}
	for (io->n = 0; io->n < n; io->n++) {
		struct swarm_node *node = &io->nodes[io->n];
		node->owner = io;
		node->bind_ip = nbind ? binds[io->n % nbind] : 0;
		timer_init(&node->timer, on_timer);
		/* --dhcp-only and --url need no UDP socket of their own */
		err = sw->dhcp.only || sw->http.nurls ? 0 : sock_open(io, node);
		if (err < 0)
			goto fail;
	}
	sw->tx.ctx = io;
	sw->tx.send = tx_send;
	sw->tx.new_port = tx_new_port;
	sw->tx.send_dhcp = tx_send_dhcp;
	sw->tx.client = tx_client;
	sw->tx.tcp_open = tx_tcp_open;
	sw->tx.tcp_send = tx_tcp_send;
	sw->tx.tcp_close = tx_tcp_close;
	*out = io;
	return 0;
fail:
	swarm_io_close(io);
	return err;
}

void swarm_io_close(struct swarm_io *io)
{
	if (io == NULL)
		return;
	for (unsigned i = 0; i < io->n; i++) {
		loop_timer_cancel(io->loop, &io->nodes[i].timer);
		sock_close(io, &io->nodes[i]);
		tcp_close(io, &io->nodes[i]);
		swarm_http_release(&io->nodes[i].client);
	}
	if (io->dhcp.fd >= 0) {
		loop_io_del(io->loop, &io->dhcp);
		close(io->dhcp.fd);
	}
	udp_batch_fini(&io->batch);
	udp_batch_fini(&io->dhcp_batch);
	free(io->tcp_buf);
	free(io->nodes);
	free(io);
}

struct swarm_client *swarm_io_client(struct swarm_io *io, unsigned i)
{
	return &io->nodes[i].client;
}

int swarm_io_fd(const struct swarm_io *io, unsigned i)
{
	return io->nodes[i].io.fd;
}

void swarm_io_start(struct swarm_io *io)
{
	for (unsigned i = 0; i < io->n; i++)
		sync_node(io, &io->nodes[i]);
	if (io->n == 0)
		loop_stop(io->loop);
}

void swarm_io_abandon(struct swarm_io *io, mono_t now)
{
	for (unsigned i = 0; i < io->n; i++) {
		swarm_client_abandon(io->sw, &io->nodes[i].client, now);
		sync_node(io, &io->nodes[i]);
	}
}

void swarm_io_counts(const struct swarm_io *io, struct swarm_io_counts *out)
{
	out->ok = io->ok;
	out->failed = io->failed;
	out->rx_drops = io->batch.drops + io->closed_drops + io->dhcp_batch.drops;
}

static int dhcp_attach(struct swarm_io *io, int fd, const struct netaddr *to, unsigned n)
{
	int err = n == 0 || n > SWARM_DHCP_SERVERS_MAX ? -EINVAL
						       : udp_batch_init(&io->dhcp_batch, SWARM_DHCP_RX_BUF);

	if (err == 0) {
		io->dhcp.fd = fd;
		io->dhcp.fn = on_dhcp_readable;
		memcpy(io->dhcp_to, to, n * sizeof(*to));
		io->ndhcp_to = n;
		err = loop_io_add(io->loop, &io->dhcp, EPOLLIN);
		if (err < 0)
			io->dhcp.fd = -1;
	}
	if (err < 0)
		close(fd);
	return err;
}

int swarm_io_dhcp_relay(struct swarm_io *io, const struct netaddr *servers, unsigned n)
{
	struct netaddr local = {.ip = ipaddr_v4(io->sw->dhcp.giaddr), .port = 67};
	int fd = udp_open(&local, SWARM_DHCP_RCVBUF);

	if (fd < 0)
		return fd;
	return dhcp_attach(io, fd, servers, n);
}

/* Port 68 on one interface: a reply broadcast there (the broadcast flag)
 * reaches this socket whatever address the interface has. */
int swarm_io_dhcp_broadcast(struct swarm_io *io, const char *ifname)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(68)};
	struct netaddr to = {.ip = ipaddr_v4(htonl(INADDR_BROADCAST)), .port = 67};
	int one = 1, rcvbuf = SWARM_DHCP_RCVBUF, err;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto fail;
	return dhcp_attach(io, fd, &to, 1);
fail:
	err = -errno;
	close(fd);
	return err;
}

/* connect() on a UDP socket sends nothing: it only asks the routing table. */
int swarm_io_source_for(uint32_t dst, uint32_t *src)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(67)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = dst;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		err = -errno;
	else
		*src = sin.sin_addr.s_addr;
	close(fd);
	return err;
}
