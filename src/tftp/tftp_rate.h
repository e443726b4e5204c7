/* The learned link rate (`link_rate = auto`): how fast the pacer may send
 * when nobody said how fast the narrowest link towards the nodes is.
 *
 * In the spirit of BBR (Cardwell et al., 2016), it reads the bottleneck from
 * two measurements and not from losses: the delivery rate (bytes the clients
 * acknowledged per unit of time) and the growth of the round trip over its
 * minimum (a queue building at the bottleneck). Random loss changes neither,
 * so it does not slow the pacer; a queue shows long before the switch's
 * buffer overflows, so the pacer backs off before anything is dropped.
 * docs/SCHEDULER.md tells the whole rule. Pure logic: fed with
 * acknowledged bytes, round-trip samples and the time. */
#ifndef HERD_TFTP_RATE_H
#define HERD_TFTP_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

enum rate_mode { RATE_STARTUP, RATE_CRUISE };

/* The delivery rate is measured over the last few rounds: a round alone is
 * too short to ignore a host that stalled for a few milliseconds. */
#define RATE_WINDOW 8

struct rate_est {
	double rate;	/* what the pacer sends at, bytes per microsecond */
	double ceiling; /* the interface's speed, bytes/us (0: unknown) */
	double start;	/* where a startup begins */
	bool fixed;	/* the rate was configured: the ceiling, no startup */
	uint8_t mode;
	/* The current round. */
	mono_t round_start;
	uint64_t acked;	  /* wire bytes acknowledged in it */
	uint64_t sent;	  /* packets released in it */
	uint64_t losses;  /* loss signals in it */
	bool limited;	  /* the pacer waited for tokens in it (not app-limited) */
	mono_t round_min; /* smallest round trip sampled in it (MONO_NEVER: none) */
	/* The round trip's floor since this power-on began. */
	mono_t min_rtt;
	mono_t last_rtt; /* the last round's smallest sample: the round's length */
	/* Draining a queue: since when, and the smallest round trip meanwhile
	 * (a "queue" that does not drain is a longer path, learned as the new
	 * floor). */
	bool draining;
	mono_t drain_start;
	mono_t drain_rtt;
	double peak; /* the best recent delivery rate, fading */
	uint64_t win_acked[RATE_WINDOW];
	mono_t win_span[RATE_WINDOW];
	unsigned win_pos;
	unsigned lag_rounds;   /* startup: rounds delivery did not keep up */
	unsigned empty_rounds; /* cruise: rounds without a queue */
};

/* `ceiling_bps`: the interface's speed if the kernel reports it, else 0;
 * `fixed`: it is the configured link rate instead. The pacer then sends at
 * it, but still drains a queue that shows (a host that stalled and caught
 * up, a link slower than configured) rather than let the switch drop. */
void rate_init(struct rate_est *r, uint64_t ceiling_bps, bool fixed);
void rate_set_ceiling(struct rate_est *r, uint64_t ceiling_bps);

void rate_on_acked(struct rate_est *r, uint64_t wire_bytes);
void rate_on_rtt(struct rate_est *r, mono_t rtt, mono_t now);
void rate_on_loss(struct rate_est *r);
void rate_on_sent(struct rate_est *r, bool waited);

/* Ends the round if it is long enough and adapts the rate; returns when to
 * call again. `idle`: no transfer is active (the next storm starts over). */
mono_t rate_update(struct rate_est *r, bool idle, mono_t now);

#endif
