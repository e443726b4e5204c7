/* IPv4 endpoints and UDP sockets with batched receive.
 *
 * herd serves IPv4 (PXE, DHCPv4); an endpoint is an address in network byte
 * order and a port in host byte order, small enough to key hash tables. */
#ifndef HERD_CORE_NET_H
#define HERD_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/clock.h"

struct netaddr {
	uint32_t ip;   /* network byte order */
	uint16_t port; /* host byte order */
};

#define NETADDR_STRLEN 24

/* Parses "A.B.C.D", "A.B.C.D:PORT", "*:PORT" or ":PORT" (wildcard address).
 * A missing port is default_port. Returns 0 or -EINVAL. */
int netaddr_parse(const char *s, uint16_t default_port, struct netaddr *out);
const char *netaddr_str(const struct netaddr *a, char buf[NETADDR_STRLEN]);
const char *ip4_str(uint32_t ip, char buf[NETADDR_STRLEN]);

static inline bool netaddr_eq(const struct netaddr *a, const struct netaddr *b)
{
	return a->ip == b->ip && a->port == b->port;
}

/* Opens a non-blocking UDP socket bound to `bind`, with IP_PKTINFO (so replies
 * leave from the address the client used) and SO_RXQ_OVFL (so receive-buffer
 * drops are counted). rcvbuf > 0 forces that receive buffer size (needs
 * CAP_NET_ADMIN; falls back to SO_RCVBUF). Returns fd or -errno. */
int udp_open(const struct netaddr *bind, int rcvbuf);

/* One received datagram. */
struct udp_pkt {
	struct netaddr peer;
	uint32_t local_ip; /* destination address of the datagram (network order) */
	uint32_t iface_ip; /* the receiving interface's address, for broadcasts */
	int ifindex;
	size_t len;
	uint8_t *data;
	bool truncated;
	mono_t arrived; /* when the kernel received it (not when we read it) */
};

#define UDP_BATCH 32

/* Buffers for one recvmmsg() call: UDP_BATCH datagrams of up to `bufsize`. */
struct udp_batch {
	size_t bufsize;
	uint8_t *bufs;
	struct udp_pkt pkts[UDP_BATCH];
	uint32_t kernel_drops; /* last SO_RXQ_OVFL counter seen */
	mono_t read_at;	       /* when the last batch was read */
	uint64_t drops;        /* drops counted since the socket opened */
};

int udp_batch_init(struct udp_batch *b, size_t bufsize);
void udp_batch_fini(struct udp_batch *b);

/* Receives up to UDP_BATCH datagrams without blocking. Returns the count
 * (0 when nothing is waiting) or -errno. Updates b->drops. */
int udp_recv_batch(int fd, struct udp_batch *b);

/* Sends one datagram made of iov to peer, from src_ip (network order; 0 lets
 * the kernel choose). Returns 0 or -errno. */
int udp_sendv(int fd, const struct netaddr *peer, uint32_t src_ip, const struct iovec *iov,
	      int iovcnt);

/* Outgoing datagrams gathered for one sendmmsg(): each a small header
 * (copied) and a payload that must stay valid until the flush. */
#define UDP_SENDQ 64
#define UDP_SENDQ_HDR 128

struct udp_sendq {
	int fd;
	unsigned n;
	uint64_t sent, errors;
	int last_error; /* -errno of the last failure */
	struct mmsghdr msgs[UDP_SENDQ];
	struct iovec iov[UDP_SENDQ][2];
	struct sockaddr_in addrs[UDP_SENDQ];
	union {
		char buf[64];
		struct cmsghdr align;
	} ctrl[UDP_SENDQ];
	uint8_t hdrs[UDP_SENDQ][UDP_SENDQ_HDR];
};

void udp_sendq_init(struct udp_sendq *q, int fd);
/* Queues one datagram (flushing first if the queue is full). hdr_len must
 * be at most UDP_SENDQ_HDR. Returns 0 or -EMSGSIZE. */
int udp_sendq_add(struct udp_sendq *q, const struct netaddr *peer, uint32_t src_ip,
		  const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t payload_len);
/* Sends what is queued; returns how many datagrams could not be sent. */
unsigned udp_sendq_flush(struct udp_sendq *q);

/* The summed speed, as the kernel reports it, of the interfaces holding
 * any of the n addresses (network order; 0 means every interface but
 * loopback), in bits/s; 0 if none reports one. */
uint64_t net_link_speed_bps(const uint32_t *ips, unsigned n);

#endif
