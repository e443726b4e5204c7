/* One emulated network-boot client: its firmware's TFTP request, timers,
 * give-up rule and loss handling, checked byte for byte against the file.
 *
 * No sockets and no clock: the I/O layer (or a test) hands each datagram in
 * with the loop's `now`, calls swarm_client_timeout() when the client's
 * deadline is reached, and gets every outgoing datagram through struct
 * swarm_tx. Packets are parsed and built with tftp_wire only. */
#ifndef HERD_SWARM_CLIENT_H
#define HERD_SWARM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/net.h"
#include "swarm/swarm_profiles.h"

/* A client's stages, in order. A DHCP stage (DORA) will go between IDLE and
 * the first RRQ: IDLE's timeout starts whatever comes first. */
enum swarm_stage {
	SWARM_IDLE,  /* waiting for its start time */
	SWARM_PROBE, /* EDK2's size-probe RRQ sent, no reply yet */
	SWARM_RRQ,   /* the RRQ sent, no reply yet */
	SWARM_DATA,  /* receiving blocks */
	SWARM_DONE,  /* the whole file, verified */
	SWARM_FAILED,
};

enum swarm_fail {
	SWARM_FAIL_NONE,
	SWARM_FAIL_TIMEOUT,    /* the firmware's give-up rule */
	SWARM_FAIL_ERROR,      /* the server sent an ERROR */
	SWARM_FAIL_MISMATCH,   /* a block differs from the file, or a wrong size */
	SWARM_FAIL_OACK,       /* an OACK this firmware would refuse */
	SWARM_FAIL_LOCAL,      /* the swarm could not open a socket or send */
	SWARM_FAIL_UNFINISHED, /* still running at --max-time */
	SWARM_FAIL_COUNT,
};

const char *swarm_fail_name(enum swarm_fail f);

/* Counters over every client (the report adds times and drops). */
struct swarm_counters {
	uint64_t rrqs;		 /* RRQs sent, probes and re-sends included */
	uint64_t retransmits;	 /* RRQs and ACKs re-sent by client timers */
	uint64_t reacks;	 /* ACKs sent on a repeated or out-of-order block */
	uint64_t acks;		 /* ACKs sent in all */
	uint64_t data;		 /* DATA received from the right TID */
	uint64_t duplicate_data; /* ... a block already had */
	uint64_t out_of_order;	 /* ... a block beyond a gap */
	uint64_t unexpected_tid; /* from another address or port: ignored */
	uint64_t malformed;	 /* unparsable, or an opcode a server never sends */
	uint64_t bytes;		 /* verified payload bytes */
	uint64_t restarts;	 /* U-Boot's start-overs */
	uint64_t tx_errors;
	/* The last ERROR a server sent, for the report ("" if none). */
	uint16_t last_error_code;
	char last_error[40]; /* printable ASCII only */
};

/* What every client shares: the server, the file, the sender. */
struct swarm_client;
struct swarm_tx {
	void *ctx;
	/* One datagram from the client's socket to the server at `port`.
	 * Returns 0 or -errno. */
	int (*send)(void *ctx, struct swarm_client *c, uint16_t port, const uint8_t *buf,
		    size_t len);
	/* Replaces the client's socket with one on a new port. 0 or -errno. */
	int (*new_port)(void *ctx, struct swarm_client *c);
};

struct swarm {
	struct netaddr server; /* where RRQs go */
	const char *remote_name;
	const uint8_t *file; /* the expected bytes (one shared mapping) */
	uint64_t file_size;
	struct swarm_tx tx;
	struct swarm_counters n;
	unsigned running; /* clients started and not yet done or failed */
};

/* One client: about 100 bytes (its socket lives in the I/O layer). */
struct swarm_client {
	const struct swarm_profile *prof;
	mono_t deadline;      /* next call to swarm_client_timeout(), or MONO_NEVER */
	mono_t t_start;	      /* first RRQ */
	mono_t t_first_reply; /* first OACK or DATA (0: none yet) */
	mono_t t_done;	      /* last block, or failure */
	mono_t last_progress; /* the give-up clock starts here */
	mono_t timer_start;   /* when the retransmit timer was last started */
	uint32_t rto_us;      /* the retransmit timer now */
	uint32_t blocks;      /* blocks received in order (32 bits: wraps are counted) */
	uint16_t blksize;     /* negotiated */
	uint16_t windowsize;  /* negotiated */
	uint16_t tid;	      /* the server's transfer port, once locked */
	uint16_t last_block;  /* wire number of the last in-order block */
	uint16_t win_count;   /* in-order blocks since the last ACK */
	uint16_t tries;	      /* timeouts in a row */
	uint8_t stage;	      /* enum swarm_stage */
	uint8_t fail;	      /* enum swarm_fail */
	uint8_t restarts;     /* restarts used */
	uint8_t rtt_backoffs; /* iPXE's retry count: expiries not yet paid back */
	bool tid_locked;
	bool gap_acked; /* U-Boot: this loss already has its ACK */
	bool got_oack;
};

/* Prepares c to start at `start`. */
void swarm_client_init(struct swarm_client *c, const struct swarm_profile *prof, mono_t start);

/* A datagram from `peer` (truncated ones: pass len 0). */
void swarm_client_input(struct swarm *sw, struct swarm_client *c, const struct netaddr *peer,
			const uint8_t *buf, size_t len, mono_t now);

/* c->deadline was reached: start, re-send, or give up. */
void swarm_client_timeout(struct swarm *sw, struct swarm_client *c, mono_t now);

/* Ends a client still running (at --max-time). */
void swarm_client_abandon(struct swarm *sw, struct swarm_client *c, mono_t now);

static inline bool swarm_client_finished(const struct swarm_client *c)
{
	return c->stage == SWARM_DONE || c->stage == SWARM_FAILED;
}

#endif
