#include "syslog/logrx_io.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/net.h"

/* Large enough for any UDP datagram, so nothing is ever truncated; pages of
 * a slot that no datagram reaches are never touched, so cost no memory. */
#define LOGRX_DGRAM_MAX 65536

/* Batches read per readiness before yielding to other sockets: a flood on
 * one port must not starve the rest of herd (epoll is level-triggered, so
 * the loop comes back). */
#define LOGRX_BATCHES_PER_WAKE 64

struct logrx_sock {
	struct loop_io io; /* the loop hands back &io; see sock_readable() */
	enum logrx_source src;
	struct netaddr addr;
	struct udp_batch batch;
	struct logrx_io *owner;
};

struct logrx_io {
	struct loop *loop; /* NULL until started */
	struct logrx *rx;
	struct ratelimit err_rl;
	unsigned count;
	struct logrx_sock socks[2 * CONF_MAX_LISTEN];
};

static const char *source_name(enum logrx_source src)
{
	return src == LOGRX_NETCONSOLE ? "netconsole" : "syslog";
}

static void sock_readable(struct loop_io *lio, uint32_t events, mono_t now)
{
	struct logrx_sock *sk =
	    (struct logrx_sock *)((char *)lio - offsetof(struct logrx_sock, io));
	struct logrx_io *io = sk->owner;
	char addr[NETADDR_STRLEN];

	(void)events;
	for (int round = 0; round < LOGRX_BATCHES_PER_WAKE; round++) {
		int n = udp_recv_batch(sk->io.fd, &sk->batch);
		if (n < 0)
			log_limited(&io->err_rl, now, LOG_LVL_WARN, "log: receive on %s %s: %s",
				    source_name(sk->src), netaddr_str(&sk->addr, addr),
				    strerror(-n));
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			const struct udp_pkt *p = &sk->batch.pkts[i];
			logrx_input(io->rx, sk->src, &p->peer, p->data, p->len, now);
		}
	}
}

static int sock_open(struct logrx_io *io, enum logrx_source src, const struct netaddr *addr,
		     int rcvbuf)
{
	struct logrx_sock *sk = &io->socks[io->count];
	char str[NETADDR_STRLEN];
	int fd = udp_open(addr, rcvbuf), err;

	if (fd < 0) {
		log_err("cannot bind %s %s: %s", source_name(src), netaddr_str(addr, str),
			strerror(-fd));
		return fd;
	}
	err = udp_batch_init(&sk->batch, LOGRX_DGRAM_MAX);
	if (err < 0) {
		log_err("cannot bind %s %s: %s", source_name(src), netaddr_str(addr, str),
			strerror(-err));
		close(fd);
		return err;
	}
	sk->io.fd = fd;
	sk->io.fn = sock_readable;
	sk->src = src;
	sk->addr = *addr;
	sk->owner = io;
	io->count++;
	return 0;
}

int logrx_io_open(struct logrx_io **out, const struct conf_logrx *cfg, int rcvbuf)
{
	struct logrx_io *io = calloc(1, sizeof(*io));
	int err = 0;

	*out = NULL;
	if (io == NULL) {
		log_err("cannot set up the log receiver: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	io->err_rl = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	for (unsigned i = 0; i < cfg->syslog.count && err == 0; i++)
		err = sock_open(io, LOGRX_SYSLOG, &cfg->syslog.addrs[i], rcvbuf);
	for (unsigned i = 0; i < cfg->netconsole.count && err == 0; i++)
		err = sock_open(io, LOGRX_NETCONSOLE, &cfg->netconsole.addrs[i], rcvbuf);
	if (err < 0) {
		logrx_io_close(io);
		return err;
	}
	*out = io;
	return 0;
}

int logrx_io_start(struct logrx_io *io, struct loop *loop, struct logrx *rx)
{
	io->rx = rx;
	for (unsigned i = 0; i < io->count; i++) {
		int err = loop_io_add(loop, &io->socks[i].io, EPOLLIN);
		if (err < 0) {
			while (i-- > 0)
				loop_io_del(loop, &io->socks[i].io);
			return err;
		}
	}
	io->loop = loop;
	return 0;
}

void logrx_io_stats_visit(const struct logrx_io *io, const struct stat_visitor *v)
{
	struct logrx_stats st;

	if (io->rx == NULL)
		return; /* not started */
	logrx_stats(io->rx, &st);
	stat_counter(v, "datagrams", st.datagrams, "syslog and netconsole datagrams received");
	stat_counter(v, "lines", st.lines, "lines written");
	stat_counter(v, "bytes", st.bytes, "bytes written");
	stat_counter(v, "rate_dropped", st.rate_dropped, "lines dropped by a sender's rate limit");
	stat_counter(v, "lost", st.lost, "lines lost to open or write errors");
	stat_counter(v, "write_errors", st.write_errors, "failed open, write or rename calls");
	stat_counter(v, "rotations", st.rotations, "files rotated at their size cap");
	stat_counter(v, "reopens", st.reopens, "reopens (SIGHUP)");
	stat_counter(v, "evictions", st.evictions, "senders forgotten to stay within max_senders");
	stat_counter(v, "unknown_dropped", st.unknown_dropped,
		     "datagrams from senders neither in the inventory nor holding a lease");
	stat_gauge(v, "senders", st.senders, "senders with state now");
	stat_counter(v, "rx_drops", logrx_io_drops(io), "datagrams lost to full receive buffers");
}

uint64_t logrx_io_drops(const struct logrx_io *io)
{
	uint64_t drops = 0;

	for (unsigned i = 0; i < io->count; i++)
		drops += io->socks[i].batch.drops;
	return drops;
}

uint64_t logrx_io_memory(const struct conf_logrx *cfg)
{
	uint64_t socks = cfg->syslog.count + cfg->netconsole.count;

	/* Each socket's batch buffer is counted whole, though only the pages
	 * datagrams reach are ever touched. */
	return mem_chunk(sizeof(struct logrx_io)) +
	       socks * mem_chunk((uint64_t)LOGRX_DGRAM_MAX * UDP_BATCH) + logrx_memory(cfg);
}

void logrx_io_close(struct logrx_io *io)
{
	if (io == NULL)
		return;
	for (unsigned i = 0; i < io->count; i++) {
		if (io->loop != NULL)
			loop_io_del(io->loop, &io->socks[i].io);
		close(io->socks[i].io.fd);
		udp_batch_fini(&io->socks[i].batch);
	}
	free(io);
}
