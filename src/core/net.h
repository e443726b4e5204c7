/* Addresses, endpoints and UDP sockets with batched receive.
 *
 * One address type holds IPv4 or IPv6 (struct ipaddr), and runs through the
 * listen keys, TFTP, the log receiver, the inventory and the boot policy.
 * herd serves IPv4 today (PXE, DHCPv4): sockets are IPv4, and DHCPv4's own
 * fields stay 32-bit. IPv6 service (DHCPv6, TFTP over IPv6) adds a socket
 * family here, not a new address type in every room. */
#ifndef HERD_CORE_NET_H
#define HERD_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/clock.h"

/* An IPv4 or IPv6 address, always 16 bytes in network order: IPv4 in its
 * IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so that one
 * comparison, one hash and one printer serve both families. */
struct ipaddr {
	uint8_t b[16];
};

#define IPADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

/* A constant IPv4 address a.b.c.d, for initialisers. */
#define IPADDR_V4_INIT(a, b, c, d) {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (a), (b), (c), (d)}}

/* An IPv4 address (network order) in the common form. */
static inline struct ipaddr ipaddr_v4(uint32_t ip)
{
	struct ipaddr a = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}};

	memcpy(&a.b[12], &ip, 4);
	return a;
}

static inline bool ipaddr_is_v4(const struct ipaddr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a->b, prefix, 12) == 0;
}

/* The IPv4 address (network order), or 0 for an IPv6 one. */
static inline uint32_t ipaddr_to_v4(const struct ipaddr *a)
{
	uint32_t ip = 0;

	if (ipaddr_is_v4(a))
		memcpy(&ip, &a->b[12], 4);
	return ip;
}

static inline bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

/* 0.0.0.0 or :: (the wildcard of a listen key). */
bool ipaddr_is_any(const struct ipaddr *a);
/* FNV-1a over the 16 bytes, from `seed`. */
uint32_t ipaddr_hash(const struct ipaddr *a, uint32_t seed);
/* Parses an IPv4 ("A.B.C.D") or IPv6 address. Returns 0 or -EINVAL. */
int ipaddr_parse(const char *s, struct ipaddr *out);
/* "A.B.C.D" for IPv4, RFC 5952 text for IPv6. */
const char *ipaddr_str(const struct ipaddr *a, char buf[IPADDR_STRLEN]);

/* An endpoint: an address and a port (host byte order). */
struct netaddr {
	struct ipaddr ip;
	uint16_t port;
};

#define NETADDR_STRLEN 56 /* "[" IPv6 "]:" port */

/* Parses "A.B.C.D", "A.B.C.D:PORT", "[V6]", "[V6]:PORT", a bare IPv6
 * address, "*:PORT" or ":PORT" (the IPv4 wildcard). A missing port is
 * default_port. Returns 0 or -EINVAL. */
int netaddr_parse(const char *s, uint16_t default_port, struct netaddr *out);
static inline struct netaddr netaddr_v4(uint32_t ip, uint16_t port)
{
	struct netaddr a = {.ip = ipaddr_v4(ip), .port = port};

	return a;
}

/* "A.B.C.D:PORT" or "[V6]:PORT". */
const char *netaddr_str(const struct netaddr *a, char buf[NETADDR_STRLEN]);
/* An IPv4 address (network order) as text. */
const char *ip4_str(uint32_t ip, char buf[IPADDR_STRLEN]);

static inline bool netaddr_eq(const struct netaddr *a, const struct netaddr *b)
{
	return ipaddr_eq(&a->ip, &b->ip) && a->port == b->port;
}

/* A well-mixed 32-bit hash of an endpoint (take the low bits), from a
 * seed: a spoofed packet chooses its address and port, and must not be
 * able to choose its hash chain. */
static inline uint32_t netaddr_hash(const struct netaddr *a, uint32_t seed)
{
	uint64_t k = (uint64_t)ipaddr_hash(&a->ip, seed) << 16 ^ a->port;

	k *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(k >> 32);
}

/* Opens a non-blocking UDP socket bound to `bind`, with IP_PKTINFO (so replies
 * leave from the address the client used) and SO_RXQ_OVFL (so receive-buffer
 * drops are counted). rcvbuf > 0 forces that receive buffer size (needs
 * CAP_NET_ADMIN; falls back to SO_RCVBUF). Returns fd or -errno
 * (-EAFNOSUPPORT for an IPv6 address: not served yet). */
int udp_open(const struct netaddr *bind, int rcvbuf);

/* One received datagram. */
struct udp_pkt {
	struct netaddr peer;
	struct ipaddr local_ip; /* destination address of the datagram */
	struct ipaddr iface_ip; /* the receiving interface's address, for broadcasts */
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

/* Sends one datagram made of iov to peer, from src (NULL or the wildcard
 * lets the kernel choose). Returns 0 or -errno. */
int udp_sendv(int fd, const struct netaddr *peer, const struct ipaddr *src,
	      const struct iovec *iov, int iovcnt);

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
int udp_sendq_add(struct udp_sendq *q, const struct netaddr *peer, const struct ipaddr *src,
		  const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t payload_len);
/* Sends what is queued; returns how many datagrams could not be sent. */
unsigned udp_sendq_flush(struct udp_sendq *q);

/* The summed speed, as the kernel reports it, of the interfaces holding
 * any of the n addresses (the wildcard means every interface but
 * loopback), in bits/s; 0 if none reports one. */
uint64_t net_link_speed_bps(const struct ipaddr *ips, unsigned n);

#endif
