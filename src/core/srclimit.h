/* Rate limits for traffic nobody vouches for: a token bucket, and a table
 * of one per source in fixed memory.
 *
 * The table (in the spirit of chrony's clientlog) holds `entries` sources
 * (an IPv4 address, a MAC: any 64-bit key) in sets of SRCLIMIT_WAYS, found
 * by a hash seeded at random, so spoofed keys cannot be chosen to collide.
 * A source not in the table takes the place of the least recently seen
 * entry of its set, one never marked verified first. A forgotten source
 * starts again with a full bucket: when more sources are active than the
 * table holds, the limit only gets looser, never stricter, so a table too
 * small cannot hurt a client; it only lets a heavy sender through sooner.
 * Memory: entries x sizeof(struct srclimit_entry) (24 bytes), allocated
 * once. */
#ifndef HERD_CORE_SRCLIMIT_H
#define HERD_CORE_SRCLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

/* A token bucket: `rate` tokens a second, at most `burst` held. Tokens are
 * counted in thousandths, so refilling is exact in integers. rate 0 (or
 * burst 0) means no limit. */
struct token_bucket {
	uint32_t rate, burst;
	uint64_t milli; /* tokens held, x1000 */
	mono_t at;	/* when milli was last brought up to date */
};

void token_bucket_init(struct token_bucket *b, uint32_t rate, uint32_t burst, mono_t now);
/* Takes one token if there is one at `now`. */
bool token_bucket_take(struct token_bucket *b, mono_t now);
/* Gives one token back (up to the burst): what it paid for turned out fine. */
void token_bucket_give(struct token_bucket *b);
/* When the bucket will next hold a token (now or earlier if it holds one;
 * MONO_NEVER without a limit). */
mono_t token_bucket_ready(const struct token_bucket *b);

#define SRCLIMIT_WAYS 8

struct srclimit_entry {
	uint64_t key;
	mono_t seen;	/* last request; also the bucket's refill time */
	uint32_t milli; /* tokens held, x1000 */
	uint16_t used;
	uint16_t verified; /* the source answered: it is no spoofed address */
};

struct srclimit {
	struct srclimit_entry *e;
	uint32_t nsets; /* a power of two */
	uint32_t rate, burst;
	uint64_t seed;
	uint32_t count;	   /* entries in use */
	uint64_t replaced; /* entries given to another source */
};

/* Room for at least `entries` sources (rounded up to a power of two and to
 * whole sets). rate 0 or burst 0: srclimit_take always allows, but the
 * table still keeps `verified`. Returns 0 or -ENOMEM. */
int srclimit_init(struct srclimit *t, uint32_t entries, uint32_t rate, uint32_t burst);
void srclimit_fini(struct srclimit *t);
/* A new rate and burst for every source (a reload); the table stays. */
void srclimit_set_rate(struct srclimit *t, uint32_t rate, uint32_t burst);

/* One request from `key` at `now`: true if its bucket held a token (the
 * source is entered in the table if it was not). */
bool srclimit_take(struct srclimit *t, uint64_t key, mono_t now);
/* The source answered from where it said it was (a TFTP ACK on the right
 * port): it is kept in preference to the others. */
void srclimit_verify(struct srclimit *t, uint64_t key, mono_t now);
bool srclimit_verified(const struct srclimit *t, uint64_t key);

/* Bytes a table made for `entries` holds. */
uint64_t srclimit_bytes(uint32_t entries);

#endif
