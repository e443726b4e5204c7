/* The TFTP scheduler: one pacer for every transfer.
 *
 * Transfers that owe packets wait in two queues: the retry queue (a client
 * that has just retried, or whose packet we know was lost: served first, in
 * arrival order) and the fresh queue (new data, earliest client deadline
 * first). A token bucket at the link rate releases one packet at a time, so
 * a window is paced out rather than burst into a switch's buffer. The
 * scheduler owns no transfer: it orders `struct sched_item`s embedded in
 * them and tells the caller when tokens allow the next packet. */
#ifndef HERD_TFTP_SCHED_H
#define HERD_TFTP_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/clock.h"
#include "core/timerq.h"
#include "tftp/tftp_rate.h"

enum sched_queue { SCHED_NONE, SCHED_RETRY, SCHED_FRESH };

struct sched_item;

/* An item that is not a TFTP transfer (an HTTP response) tells the pacer
 * what its next turn costs and takes that turn itself. serve() must take
 * the item out of the queues or push it again. */
struct sched_ops {
	size_t (*cost)(struct sched_item *it);
	void (*serve)(struct sched_item *it, mono_t now);
};

struct sched_item {
	struct timer node;		/* fresh queue: keyed by deadline */
	struct sched_item *prev, *next; /* retry queue */
	uint64_t owed;			/* wire bytes its owner still has to send */
	uint8_t queue;
	const struct sched_ops *ops; /* NULL: a TFTP transfer */
};

struct tftp_sched {
	double bytes_per_us; /* 0: unpaced */
	double burst;	     /* bucket depth, bytes */
	double tokens;
	mono_t last;
	struct timerq fresh;
	struct sched_item retry; /* sentinel of a circular list */
	uint64_t backlog;	 /* bytes owed by all items (the sum of their `owed`) */
	mono_t wake;		 /* when tokens will allow the next packet */
	bool learning; /* paced: the rate comes from est (learned, or configured and guarded) */
	struct rate_est est;
};

/* Learned rate (tftp_rate.h): each acknowledgement (wire bytes), round-trip
 * sample and loss signal, and a periodic update. */
void sched_on_acked(struct tftp_sched *s, size_t wire_bytes);
void sched_on_rtt(struct tftp_sched *s, mono_t rtt, mono_t now);
void sched_on_loss(struct tftp_sched *s);
/* Adapts the learned rate; returns the next time to call (MONO_NEVER when
 * not learning, or `idle`). */
mono_t sched_adapt(struct tftp_sched *s, bool idle, mono_t now);
/* The interface's speed, the learned rate's ceiling (0: unknown). */
void sched_set_ceiling(struct tftp_sched *s, uint64_t bps);
uint64_t sched_rate_bps(const struct tftp_sched *s);

#define SCHED_RATE_AUTO CONF_AUTO

/* `items`: the most items ever queued at once (room is made for them, so
 * queueing never fails). Returns 0 or -ENOMEM. */
int sched_init(struct tftp_sched *s, uint64_t rate_bps, size_t burst, uint32_t items);
void sched_fini(struct tftp_sched *s);
/* Room for `more` items beyond those of sched_init. 0 or -ENOMEM. */
int sched_reserve(struct tftp_sched *s, uint32_t more);

void sched_item_init(struct sched_item *it);
/* Queues it (moving it if already queued); the retry queue wins. */
void sched_push(struct tftp_sched *s, struct sched_item *it, bool retry, mono_t deadline);
/* Takes it out of the queues; it owes nothing any more. */
void sched_remove(struct tftp_sched *s, struct sched_item *it);
/* What it owes now, in wire bytes (the backlog admission control reads). */
void sched_owe(struct tftp_sched *s, struct sched_item *it, uint64_t bytes);
/* The item to serve next, or NULL. */
struct sched_item *sched_peek(const struct tftp_sched *s);

/* Takes `cost` bytes of tokens if the bucket holds them at `now`; otherwise
 * records when it will (sched_wake) and returns false. */
bool sched_take(struct tftp_sched *s, size_t cost, mono_t now);
/* When the pacer must run again: MONO_NEVER if nothing waits. */
mono_t sched_wake(const struct tftp_sched *s);
/* Something was queued outside a pacer turn: run the pacer by `now`. */
void sched_kick(struct tftp_sched *s, mono_t now);

/* Time for the backlog to drain at the link rate (0 when unpaced). */
mono_t sched_backlog_time(const struct tftp_sched *s);

/* Bytes a packet occupies on an Ethernet link: the UDP payload plus UDP,
 * IPv4 and Ethernet headers (what a switch port's buffer and tbf count). */
static inline size_t sched_wire_cost(size_t udp_payload)
{
	return udp_payload + 8 + 20 + 14;
}

/* TCP payload per segment (1500-byte MTU, IPv4, TCP timestamps) and the
 * headers a segment adds on the wire: TCP with options, IPv4, Ethernet. */
#define SCHED_TCP_MSS 1448
#define SCHED_TCP_OVERHEAD (32 + 20 + 14)

/* Bytes `n` bytes of a TCP stream occupy on an Ethernet link. */
static inline size_t sched_tcp_cost(size_t n)
{
	size_t segs = (n + SCHED_TCP_MSS - 1) / SCHED_TCP_MSS;

	return n + (segs ? segs : 1) * SCHED_TCP_OVERHEAD;
}

#endif
