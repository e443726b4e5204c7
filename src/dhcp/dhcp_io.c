#include "dhcp/dhcp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/neigh.h"
#include "core/srclimit.h"
#include "dhcp/pins.h"
#include "core/wire.h"
#include "dhcp/dhcp_wire.h"
#include "dhcp/proxy.h"

#define DHCP_RX_BUF 4096
#define MAX_IFACES 16

/* Per client (its MAC, as relayed requests all come from the relay's
 * address): a firmware sends a handful of requests per boot stage, a
 * chain of three stages a dozen; beyond 64 back to back, or 16 a second,
 * it is a broken or hostile client, and its requests are dropped. The
 * table forgets the least recently heard first (core/srclimit.h). */
#define CLIENT_RATE 16
#define CLIENT_BURST 64
#define CLIENT_TABLE 8192

/* Batches read per readiness before the loop gets its turn. */
#define DHCP_BATCHES_PER_WAKE 16

struct dhcp_io {
	struct loop_io io; /* first: the loop hands us &io */
	struct loop_io commit; /* the lease journal's group commit */
	struct loop_io nlio;   /* the neighbour table's answers */
	struct loop_io pxe;    /* port 4011, proxy mode only (fd -1 otherwise) */
	struct neigh *neigh;
	struct pins *pins;
	struct timer sweep;
	uint64_t pin_errors;
	struct lease_table *leases;
	struct loop *loop;
	struct dhcp_server *srv;
	int linkfd;
	struct udp_batch batch;
	struct srclimit clients; /* each MAC's request rate */
	uint64_t client_limited;
	int ifindexes[MAX_IFACES];
	unsigned nifaces; /* 0: every interface */
	uint64_t tx_errors;
	struct ratelimit rl_tx;
};

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

size_t dhcp_udp_frame(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, uint16_t sport,
		      uint16_t dport, const uint8_t *payload, size_t len)
{
	struct wire w = wire_writer(buf, cap);
	uint16_t udp_len = (uint16_t)(8 + len);
	uint32_t sum;

	if (len > 65535 - 28)
		return 0;
	wire_put_u8(&w, 0x45);
	wire_put_u8(&w, 0x10); /* DSCP: low delay, as DHCP servers do */
	wire_put_u16(&w, (uint16_t)(20 + udp_len));
	wire_put_u16(&w, 0);	  /* id */
	wire_put_u16(&w, 0x4000); /* don't fragment */
	wire_put_u8(&w, 64);
	wire_put_u8(&w, IPPROTO_UDP);
	wire_put_u16(&w, 0); /* checksum, below */
	wire_put(&w, &src, 4);
	wire_put(&w, &dst, 4);
	wire_put_u16(&w, sport);
	wire_put_u16(&w, dport);
	wire_put_u16(&w, udp_len);
	wire_put_u16(&w, 0);
	wire_put(&w, payload, len);
	if (!wire_ok(&w))
		return 0;
	uint16_t ipsum = csum_fold(csum_add(0, buf, 20));
	buf[10] = (uint8_t)(ipsum >> 8);
	buf[11] = (uint8_t)ipsum;
	/* UDP checksum over the pseudo-header and the datagram. */
	sum = csum_add(0, buf + 12, 8);
	sum += IPPROTO_UDP + udp_len;
	uint16_t udpsum = csum_fold(csum_add(sum, buf + 20, udp_len));
	if (udpsum == 0)
		udpsum = 0xffff;
	buf[26] = (uint8_t)(udpsum >> 8);
	buf[27] = (uint8_t)udpsum;
	return wire_pos(&w);
}

static int send_link(struct dhcp_io *io, const struct dhcp_out *o)
{
	uint8_t frame[DHCP_MAX_LEN + 28];
	size_t n = dhcp_udp_frame(frame, sizeof(frame), o->src_ip, o->dst_ip,
				  o->src_port ? o->src_port : 67, o->dst_port, o->buf, o->len);
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = o->ifindex,
		.sll_halen = 6,
	};

	if (n == 0)
		return -EMSGSIZE;
	memcpy(sll.sll_addr, o->mac, 6);
	if (sendto(io->linkfd, frame, n, MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

static void tx_send(void *ctx, const struct dhcp_out *o)
{
	struct dhcp_io *io = ctx;
	struct netaddr dst = {.ip = ipaddr_v4(o->dst_ip), .port = o->dst_port};
	struct ipaddr src = ipaddr_v4(o->src_ip);
	struct iovec iov = {(void *)o->buf, o->len};
	int err;

	if (o->via_link)
		err = send_link(io, o);
	else
		err = udp_sendv(o->src_port == DHCP_PXE_PORT ? io->pxe.fd : io->io.fd, &dst,
				o->src_ip ? &src : NULL, &iov, 1);
	if (err < 0) {
		char a[NETADDR_STRLEN];
		io->tx_errors++;
		log_limited(&io->rl_tx, loop_now(io->loop), LOG_LVL_WARN, "dhcp: send to %s: %s",
			    netaddr_str(&dst, a), strerror(-err));
	}
}

static void tx_pin(void *ctx, int ifindex, uint32_t ip, const uint8_t mac[6], unsigned secs)
{
	struct dhcp_io *io = ctx;

	pins_set(io->pins, ifindex, ip, mac, secs, loop_now(io->loop));
}

static void on_neigh(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct dhcp_io *io = (struct dhcp_io *)((char *)lio - offsetof(struct dhcp_io, nlio));
	int err = 0;
	unsigned n = neigh_drain(io->neigh, &err);

	(void)events;
	if (n) {
		io->pin_errors += n;
		log_limited(&io->rl_tx, now, LOG_LVL_WARN, "dhcp: neighbour table: %s",
			    strerror(-err));
	}
}

static void on_sweep(struct timer *t, mono_t now)
{
	struct dhcp_io *io = (struct dhcp_io *)((char *)t - offsetof(struct dhcp_io, sweep));

	pins_sweep(io->pins, now);
	loop_timer_set(io->loop, &io->sweep, now + MONO_SEC(10));
}

static bool iface_served(const struct dhcp_io *io, int ifindex)
{
	if (io->nifaces == 0)
		return true;
	for (unsigned i = 0; i < io->nifaces; i++)
		if (io->ifindexes[i] == ifindex)
			return true;
	return false;
}

/* The client hardware address (chaddr) of a BOOTP datagram, as a key;
 * 0 if there is none: the server counts that one as malformed. */
static uint64_t client_key(const uint8_t *data, size_t len)
{
	struct wire r = wire_reader(data, len);
	uint64_t key = 0;

	wire_skip(&r, 28);
	for (int i = 0; i < 6; i++)
		key = key << 8 | wire_u8(&r);
	return wire_ok(&r) ? key : 0;
}

static void drain(struct dhcp_io *io, int fd, uint16_t port, mono_t now)
{
	int64_t wall = (int64_t)time(NULL);
	int n, round = 0;

	while (round++ < DHCP_BATCHES_PER_WAKE && (n = udp_recv_batch(fd, &io->batch)) > 0) {
		for (int i = 0; i < n; i++) {
			struct udp_pkt *p = &io->batch.pkts[i];
			uint64_t key;
			if (!iface_served(io, p->ifindex))
				continue;
			key = p->truncated ? 0 : client_key(p->data, p->len);
			if (key != 0 && !srclimit_take(&io->clients, key, now)) {
				io->client_limited++;
				continue;
			}
			/* DHCPv4: the addresses are IPv4 (the socket is). */
			uint32_t local = ipaddr_to_v4(&p->local_ip);
			struct dhcp_rx rx = {p->ifindex, ipaddr_to_v4(&p->iface_ip), p->peer, port};
			/* A unicast (renewal, relay) names our address itself. */
			if (local != INADDR_BROADCAST)
				rx.local_ip = local;
			/* A datagram larger than the buffer is cut: counted as
			 * malformed by the server, like any unreadable one. */
			dhcp_server_input(io->srv, &rx, p->data, p->truncated ? 0 : p->len, now, wall);
		}
		if (n < UDP_BATCH)
			break;
	}
}

static void on_readable(struct loop_io *lio, uint32_t events, mono_t now)
{
	(void)events;
	drain((struct dhcp_io *)lio, lio->fd, 67, now);
}

static void on_pxe_readable(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct dhcp_io *io = (struct dhcp_io *)((char *)lio - offsetof(struct dhcp_io, pxe));

	(void)events;
	drain(io, lio->fd, DHCP_PXE_PORT, now);
}

static int parse_ifaces(struct dhcp_io *io, const struct conf_dhcp *cfg)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", cfg->interfaces);
	for (char *t = strtok_r(buf, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		unsigned idx = if_nametoindex(t);
		if (idx == 0) {
			log_err("dhcp: interface %s: %s", t, strerror(errno));
			return -ENODEV;
		}
		if (io->nifaces < MAX_IFACES)
			io->ifindexes[io->nifaces++] = (int)idx;
	}
	return 0;
}

int dhcp_io_open(struct dhcp_io **out, const struct conf_dhcp *cfg, int rcvbuf)
{
	struct dhcp_io *io = calloc(1, sizeof(*io));
	char a[NETADDR_STRLEN];
	int one = 1, err;

	if (io == NULL)
		return -ENOMEM;
	io->io.fd = io->linkfd = io->pxe.fd = -1;
	if ((err = parse_ifaces(io, cfg)) < 0)
		goto fail;
	io->io.fd = udp_open(&cfg->listen.addrs[0], rcvbuf);
	if (io->io.fd < 0) {
		err = io->io.fd;
		log_err("cannot bind DHCP %s: %s", netaddr_str(&cfg->listen.addrs[0], a),
			strerror(-err));
		goto fail;
	}
	setsockopt(io->io.fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (cfg->mode == CONF_DHCP_PROXY) {
		/* PXE clients ask a proxy for their boot file on port 4011. */
		struct netaddr pxe = cfg->listen.addrs[0];
		pxe.port = DHCP_PXE_PORT;
		io->pxe.fd = udp_open(&pxe, rcvbuf);
		if (io->pxe.fd < 0) {
			err = io->pxe.fd;
			log_err("cannot bind proxyDHCP %s: %s", netaddr_str(&pxe, a),
				strerror(-err));
			goto fail;
		}
	}
	/* Protocol 0: this socket only sends; it receives nothing. */
	io->linkfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (io->linkfd < 0) {
		err = -errno;
		log_err("dhcp: cannot open a packet socket (needs CAP_NET_RAW): %s",
			strerror(errno));
		goto fail;
	}
	if ((err = udp_batch_init(&io->batch, DHCP_RX_BUF)) < 0 ||
	    (err = srclimit_init(&io->clients, CLIENT_TABLE, CLIENT_RATE, CLIENT_BURST)) < 0)
		goto fail;
	if (cfg->pin_neighbours) {
		io->neigh = neigh_open(&err);
		if (io->neigh == NULL) {
			log_err("dhcp: cannot open rtnetlink for neighbour pinning: %s",
				strerror(-err));
			goto fail;
		}
	}
	io->rl_tx = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	*out = io;
	return 0;
fail:
	dhcp_io_close(io);
	return err;
}

/* Lease records reached the disk: the ACKs waiting for them may leave. */
static void on_committed(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct dhcp_io *io = (struct dhcp_io *)((char *)lio - offsetof(struct dhcp_io, commit));
	uint64_t synced = lease_synced(io->leases); /* first: see lease_failed() */
	uint64_t failed = lease_failed(io->leases);

	(void)events;
	dhcp_server_release(io->srv, synced, failed, lease_error(io->leases), now);
}

int dhcp_io_start(struct dhcp_io *io, struct loop *loop, struct policy *policy,
		  struct lease_table *leases)
{
	struct dhcp_tx tx = {io, tx_send, NULL};
	int err;

	io->loop = loop;
	io->leases = leases;
	if (io->neigh) {
		io->pins = pins_new(io->neigh);
		if (io->pins == NULL)
			return -ENOMEM;
		tx.pin = tx_pin;
		io->nlio.fd = neigh_fd(io->neigh);
		io->nlio.fn = on_neigh;
		if ((err = loop_io_add(loop, &io->nlio, EPOLLIN)) < 0)
			return err;
		timer_init(&io->sweep, on_sweep);
		loop_timer_set(loop, &io->sweep, loop_now(loop) + MONO_SEC(10));
	}
	io->srv = dhcp_server_new(policy, leases, &tx);
	if (io->srv == NULL)
		return -ENOMEM;
	io->io.fn = on_readable;
	err = loop_io_add(loop, &io->io, EPOLLIN);
	if (err == 0 && io->pxe.fd >= 0) {
		io->pxe.fn = on_pxe_readable;
		err = loop_io_add(loop, &io->pxe, EPOLLIN);
	}
	if (err == 0 && leases && lease_eventfd(leases) >= 0) {
		io->commit.fd = lease_eventfd(leases);
		io->commit.fn = on_committed;
		err = loop_io_add(loop, &io->commit, EPOLLIN);
	}
	return err;
}

struct dhcp_server *dhcp_io_server(struct dhcp_io *io)
{
	return io->srv;
}

void dhcp_io_stats_visit(const struct dhcp_io *io, const struct stat_visitor *v)
{
	const struct dhcp_stats *d = dhcp_server_stats(io->srv);

	stat_counter(v, "received", d->received, "requests received");
	stat_counter(v, "offers", d->offers, "OFFERs sent");
	stat_counter(v, "acks", d->acks, "ACKs sent");
	stat_counter(v, "naks", d->naks, "NAKs sent");
	stat_counter(v, "declines", d->declines, "DECLINEs received");
	stat_counter(v, "releases", d->releases, "RELEASEs received");
	stat_counter(v, "informs", d->informs, "INFORMs answered");
	stat_counter(v, "bootp", d->bootp, "BOOTP requests answered");
	stat_counter(v, "malformed", d->malformed, "unparsable datagrams");
	stat_counter(v, "ignored", d->ignored, "requests not for this server");
	stat_counter(v, "no_subnet", d->no_subnet, "requests from no configured subnet");
	stat_counter(v, "unknown_ignored", d->unknown_ignored, "unknown clients ignored");
	stat_counter(v, "pool_exhausted", d->pool_exhausted, "requests with no free address");
	stat_counter(v, "proxy_offers", d->proxy_offers, "proxyDHCP OFFERs sent (port 67)");
	stat_counter(v, "proxy_acks", d->proxy_acks, "proxyDHCP ACKs sent (port 4011)");
	stat_counter(v, "proxy_learned", d->proxy_learned,
		     "client addresses learned from requests to the site server or port 4011");
	stat_counter(v, "lease_write_errors", d->lease_write_errors,
		     "lease records the journal failed to write");
	stat_counter(v, "lease_synced", lease_synced_seen(io->leases),
		     "lease records made durable");
	stat_counter(v, "not_mine", d->not_mine, "clients of another server's share ([cluster])");
	stat_counter(v, "pool_waiting", d->pool_waiting,
		     "new pool leases not offered: the database cannot take them now");
	stat_counter(v, "lease_conflicts", d->lease_conflicts,
		     "ACKs not sent: the database gave the address to another client");
	stat_counter(v, "tx_errors", io->tx_errors, "replies the kernel refused to send");
	stat_counter(v, "pin_errors", io->pin_errors, "neighbour entries that could not be set");
	stat_counter(v, "rx_drops", dhcp_io_rx_drops(io), "datagrams lost to full receive buffers");
	stat_counter(v, "client_limited", io->client_limited,
		     "requests over their client's (MAC's) rate, ignored");
	stat_histogram(v, "lease_commit_seconds", &d->commit_latency,
		       "time from an ACK held for its lease record to the record durable");
}

uint64_t dhcp_io_memory(const struct conf_dhcp *cfg)
{
	return mem_chunk(sizeof(struct dhcp_io)) + mem_chunk((uint64_t)DHCP_RX_BUF * UDP_BATCH) +
	       srclimit_bytes(CLIENT_TABLE) + lease_table_memory(cfg) +
	       (cfg->mode == CONF_DHCP_PROXY ? mem_chunk(dhcp_proxy_memory()) : 0);
}

uint64_t dhcp_io_rx_drops(const struct dhcp_io *io)
{
	return io->batch.drops;
}

void dhcp_io_close(struct dhcp_io *io)
{
	if (io == NULL)
		return;
	if (io->loop && io->io.fd >= 0)
		loop_io_del(io->loop, &io->io);
	if (io->loop && io->pxe.fn)
		loop_io_del(io->loop, &io->pxe);
	if (io->loop && io->commit.fn)
		loop_io_del(io->loop, &io->commit);
	if (io->loop && io->nlio.fn) {
		loop_io_del(io->loop, &io->nlio);
		loop_timer_cancel(io->loop, &io->sweep);
	}
	pins_free(io->pins); /* lets go of every pinned entry */
	neigh_close(io->neigh);
	if (io->io.fd >= 0)
		close(io->io.fd);
	if (io->linkfd >= 0)
		close(io->linkfd);
	if (io->pxe.fd >= 0)
		close(io->pxe.fd);
	udp_batch_fini(&io->batch);
	srclimit_fini(&io->clients);
	dhcp_server_free(io->srv);
	free(io);
}
