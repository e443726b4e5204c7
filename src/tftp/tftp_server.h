/* The TFTP server's protocol logic: requests, transfers, retransmission.
 *
 * No sockets and no clock: the I/O layer (or a simulation) hands in each
 * datagram with the loop's `now`, calls tftp_server_tick() when
 * tftp_server_next_deadline() is reached, and gets every outgoing datagram
 * through struct tftp_tx. Requests arrive on the well-known port; each
 * transfer then talks through one of `transfer_sockets` server ports (its
 * TID), shared by many transfers and told apart by the client's address;
 * a client port's next transfer always gets another server port. */
#ifndef HERD_TFTP_SERVER_H
#define HERD_TFTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/clock.h"
#include "core/net.h"
#include "core/node_events.h"
#include "core/stats.h"
#include "files/files.h"
#include "tftp/tftp_sched.h"

/* One datagram out: a small header (copied by the callee if it keeps it)
 * followed by a payload that stays valid (it points into a shared file). */
struct tftp_tx {
	void *ctx;
	void (*send)(void *ctx, unsigned sock, const struct netaddr *peer, struct ipaddr local_ip,
		     const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
		     size_t payload_len);
	/* Optional, for a callee that batches: payloads handed to send() stay
	 * valid until the next flush. The server flushes before it lets go of
	 * a file a payload may point into; the caller flushes at least once per
	 * loop iteration (or batch of datagrams). */
	void (*flush)(void *ctx);
};

struct tftp_stats {
	uint64_t requests;	/* RRQs seen */
	uint64_t started;	/* transfers begun */
	uint64_t completed;	/* last block acknowledged */
	uint64_t timed_out;	/* gave up after `retries` */
	uint64_t aborted;	/* the client sent an ERROR */
	uint64_t refused;	/* answered with an ERROR */
	uint64_t busy;		/* ignored: max_transfers reached */
	uint64_t malformed;	/* unparsable datagrams */
	uint64_t unknown_tid;	/* datagrams for no transfer (ERROR 5) */
	uint64_t stray;		/* from a transfer's client, not an ACK or ERROR for it, or a
				 * late copy of its request: ignored */
	uint64_t data_sent;	/* DATA datagrams, retransmissions included */
	uint64_t retransmits;	/* DATA or OACK resent by the timer */
	uint64_t quick_resends; /* resent at once on a client's repeated ACK */
	uint64_t bytes_sent;	/* payload bytes */
	uint64_t deferred;	/* requests held back by admission control */
	uint64_t source_limited;  /* datagrams to the well-known port over their address's rate */
	uint64_t unknown_limited; /* requests of unknown sources over their share or rate */
	uint64_t displaced;	  /* waiting requests of unknown sources dropped for a known one */
	uint64_t errors_withheld; /* ERRORs to unknown sources not sent (over their rate) */
	uint64_t unanswered;	  /* transfers to unknown sources whose first packet went
				   * unanswered (spoofed requests): ended quietly */
	uint32_t active;
	uint32_t pending;	/* requests waiting for admission */
	uint32_t unknown;	/* transfers and waiting requests of unknown sources */
};

/* Who herd knows: with DHCP, the inventory's nodes and the holders of a
 * lease. Their requests go ahead of the others'. */
struct tftp_known {
	void *ctx;
	bool (*is_known)(void *ctx, const struct ipaddr *ip);
};

struct tftp_server;

struct tftp_server *tftp_server_new(const struct conf_tftp *cfg, struct files *files,
				    const struct tftp_tx *tx);
void tftp_server_free(struct tftp_server *srv, mono_t now);
/* A reload: the keys that can change under running transfers (blksize_max,
 * windowsize_max, retries, rto_*, client_timeout_ms) take effect now; a
 * transfer keeps the options it agreed. The others are
 * fixed while herd runs (sockets, tables, the pacer). */
void tftp_server_reconfigure(struct tftp_server *srv, const struct conf_tftp *cfg);

/* Hostile traffic (docs/DECISIONS.md). Every datagram to the well-known
 * port is charged to its source address's token bucket (source_rate,
 * source_burst); over it, it is ignored. A source is known if `known`
 * says so or if it has acknowledged a transfer (so it is no spoofed
 * address); an unknown source's request is admitted only within
 * unknown_share of max_transfers and the unknown_rate bucket, never in a
 * known request's place, and waits behind every known one; a known request
 * at max_transfers takes the place of an unknown one still waiting. A
 * transfer to an unknown source that never answers ends after one
 * retransmission, without an ERROR. ERRORs to unknown sources are charged
 * to the same bucket. Without `known` (TFTP only) every client starts
 * unknown and becomes known with its first acknowledgement. */
void tftp_server_set_known(struct tftp_server *srv, const struct tftp_known *known);

/* The node state hears of each transfer's start (xfer_start), and of the
 * followed ones' completion, retransmissions and abandon (the client
 * stopped answering: the timeout path). xfer_start must be set if xfer
 * is. */
void tftp_server_set_events(struct tftp_server *srv, const struct node_events *ev);

/* The most memory the server's state can take with this configuration
 * (every transfer slot taken, by a waiting request with the longest name;
 * every table full), the files it serves aside. */
uint64_t tftp_server_memory(const struct conf_tftp *cfg);

/* A datagram to the well-known port. */
void tftp_server_request(struct tftp_server *srv, const struct netaddr *peer, struct ipaddr local_ip,
			 const uint8_t *buf, size_t len, mono_t now);

/* A datagram to transfer socket `sock`, sent to local_ip. A transfer's TID
 * on the server side is (local_ip, sock). `arrived` is when the kernel got
 * it (round trips are measured to it, not to when we read it), `now` the
 * present. */
void tftp_server_input(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
		       struct ipaddr local_ip, const uint8_t *buf, size_t len, mono_t arrived,
		       mono_t now);

/* Runs the retransmit timers due at `now` and frees finished transfers. */
void tftp_server_tick(struct tftp_server *srv, mono_t now);
mono_t tftp_server_next_deadline(const struct tftp_server *srv);

const struct tftp_stats *tftp_server_stats(const struct tftp_server *srv);
/* The server's and its pacer's counters and levels. */
void tftp_server_stats_visit(const struct tftp_server *srv, const struct stat_visitor *v);
/* One link budget (docs/SCHEDULER.md): another protocol's transfers
 * (HTTP responses) take turns in the same pacer, each item saying what
 * its turn costs and taking it (struct sched_ops). `deadline` orders it
 * among the fresh data of TFTP transfers. Room for `items` more first. */
int tftp_server_pace_reserve(struct tftp_server *srv, uint32_t items);
void tftp_server_pace(struct tftp_server *srv, struct sched_item *it, mono_t deadline, mono_t now);
void tftp_server_unpace(struct tftp_server *srv, struct sched_item *it);
/* A transfer of theirs starts or ends (the learned rate is idle only when
 * no transfer of any protocol is under way). */
void tftp_server_flow(struct tftp_server *srv, bool start, mono_t now);
/* What their clients acknowledged (wire bytes) and a round-trip sample
 * (0: none), for the learned rate. */
void tftp_server_delivered(struct tftp_server *srv, uint64_t wire_bytes, mono_t rtt, mono_t now);

/* The speed of the interface(s) TFTP is served on, as the kernel reports
 * it: the ceiling of a learned rate (0: unknown). */
void tftp_server_set_link_speed(struct tftp_server *srv, uint64_t bps);
/* The rate the pacer sends at now (configured or learned), bits/s. */
uint64_t tftp_server_rate(const struct tftp_server *srv);

#endif
