/* DHCP sockets: a UDP socket on port 67 for requests and for replies to
 * relays and configured clients, and a packet socket (opened while still
 * privileged) that sends replies as link-layer frames to clients that have
 * no address yet, so the kernel never ARPs for them. */
#ifndef HERD_DHCP_IO_H
#define HERD_DHCP_IO_H

#include "conf/conf.h"
#include "core/loop.h"
#include "core/stats.h"
#include "dhcp/dhcp_server.h"

struct dhcp_io;

/* Binds (as root); cfg is not kept. On failure logs one clear line and returns -errno. */
int dhcp_io_open(struct dhcp_io **out, const struct conf_dhcp *cfg, int rcvbuf);
/* The server answers from `policy` (a reference is taken) until
 * dhcp_server_set_policy(dhcp_io_server(io), ...) swaps it. */
int dhcp_io_start(struct dhcp_io *io, struct loop *loop, struct policy *policy,
		  struct lease_table *leases);
struct dhcp_server *dhcp_io_server(struct dhcp_io *io);
uint64_t dhcp_io_rx_drops(const struct dhcp_io *io);
/* Every DHCP counter: the server's, the socket's, neighbour pinning's and
 * the lease journal's. */
void dhcp_io_stats_visit(const struct dhcp_io *io, const struct stat_visitor *v);
void dhcp_io_close(struct dhcp_io *io);
/* The most memory DHCP's tables and buffers take with this configuration:
 * the per-client table, the receive batch, the lease table. Not counted:
 * the inventory (as loaded) and ACKs waiting for one fsync of the journal. */
uint64_t dhcp_io_memory(const struct conf_dhcp *cfg);

/* Builds IPv4 + UDP headers in front of a payload (the packet socket's
 * frame body). Returns the total length, or 0 if cap is too small. */
size_t dhcp_udp_frame(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, uint16_t sport,
		      uint16_t dport, const uint8_t *payload, size_t len);

#endif
