#include "core/srclimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Tokens (x1000) gained over dt microseconds at `rate` a second, capped at
 * burst. `*at` only moves when a whole thousandth was gained, so frequent
 * calls lose no refill to rounding. */
static uint64_t refill(uint64_t milli, uint32_t rate, uint32_t burst, mono_t *at, mono_t now)
{
	uint64_t cap = (uint64_t)burst * 1000;
	mono_t dt = now - *at;
	uint64_t gain;

	if (dt <= 0 || milli >= cap) {
		if (milli >= cap)
			*at = now;
		return milli < cap ? milli : cap;
	}
	/* Full once dt * rate / 1000 >= cap - milli; the product below stays
	 * under 2^64 because dt is capped first. */
	if ((uint64_t)dt >= (cap - milli) * 1000 / rate + 1) {
		*at = now;
		return cap;
	}
	gain = (uint64_t)dt * rate / 1000;
	if (gain > 0)
		*at = now;
	return milli + gain;
}

void token_bucket_init(struct token_bucket *b, uint32_t rate, uint32_t burst, mono_t now)
{
	b->rate = rate;
	b->burst = burst;
	b->milli = (uint64_t)burst * 1000;
	b->at = now;
}

bool token_bucket_take(struct token_bucket *b, mono_t now)
{
	if (b->rate == 0 || b->burst == 0)
		return true;
	b->milli = refill(b->milli, b->rate, b->burst, &b->at, now);
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

void token_bucket_give(struct token_bucket *b)
{
	uint64_t cap = (uint64_t)b->burst * 1000;

	b->milli = b->milli + 1000 > cap ? cap : b->milli + 1000;
}

mono_t token_bucket_ready(const struct token_bucket *b)
{
	if (b->rate == 0 || b->burst == 0)
		return MONO_NEVER;
	if (b->milli >= 1000)
		return b->at;
	return b->at + (mono_t)(((1000 - b->milli) * 1000 + b->rate - 1) / b->rate);
}

/* splitmix64's finaliser over the seeded key. */
static uint64_t mix(uint64_t k)
{
	k += 0x9e3779b97f4a7c15ull;
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ull;
	k = (k ^ (k >> 27)) * 0x94d049bb133111ebull;
	return k ^ (k >> 31);
}

static struct srclimit_entry *set_of(const struct srclimit *t, uint64_t key)
{
	return &t->e[(mix(key ^ t->seed) & (t->nsets - 1)) * SRCLIMIT_WAYS];
}

static struct srclimit_entry *find(const struct srclimit *t, uint64_t key)
{
	struct srclimit_entry *s = set_of(t, key);

	for (unsigned i = 0; i < SRCLIMIT_WAYS; i++)
		if (s[i].used && s[i].key == key)
			return &s[i];
	return NULL;
}

/* Is a the better entry to give to a new source than b? A free one first,
 * then one that never answered, then the least recently seen. */
static bool better_victim(const struct srclimit_entry *a, const struct srclimit_entry *b)
{
	if (a->used != b->used)
		return !a->used;
	if (a->verified != b->verified)
		return !a->verified;
	return a->seen < b->seen;
}

/* The entry of `key`, found or made in place of its set's best victim. */
static struct srclimit_entry *get(struct srclimit *t, uint64_t key, mono_t now)
{
	struct srclimit_entry *s = set_of(t, key), *victim = &s[0];

	for (unsigned i = 0; i < SRCLIMIT_WAYS; i++) {
		if (s[i].used && s[i].key == key)
			return &s[i];
		if (better_victim(&s[i], victim))
			victim = &s[i];
	}
	if (victim->used)
		t->replaced++;
	else
		t->count++;
	*victim = (struct srclimit_entry){.key = key, .seen = now, .used = 1};
	victim->milli = t->burst * 1000;
	return victim;
}

static uint32_t sets_for(uint32_t entries)
{
	uint32_t nsets = 1;

	while ((uint64_t)nsets * SRCLIMIT_WAYS < entries && nsets < (1u << 24))
		nsets <<= 1;
	return nsets;
}

int srclimit_init(struct srclimit *t, uint32_t entries, uint32_t rate, uint32_t burst)
{
	uint32_t nsets = sets_for(entries);

	memset(t, 0, sizeof(*t));
	t->e = calloc((size_t)nsets * SRCLIMIT_WAYS, sizeof(*t->e));
	if (t->e == NULL)
		return -ENOMEM;
	t->nsets = nsets;
	srclimit_set_rate(t, rate, burst);
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)clock_mono_now() * 0x9e3779b97f4a7c15ull;
	return 0;
}

void srclimit_set_rate(struct srclimit *t, uint32_t rate, uint32_t burst)
{
	/* A bucket is kept in a 32-bit count of thousandths; one holding more
	 * than a new burst is cut back at its next refill. */
	t->rate = rate;
	t->burst = burst > UINT32_MAX / 1000 ? UINT32_MAX / 1000 : burst;
}

void srclimit_fini(struct srclimit *t)
{
	free(t->e);
	t->e = NULL;
	t->nsets = 0;
}

bool srclimit_take(struct srclimit *t, uint64_t key, mono_t now)
{
	struct srclimit_entry *e = get(t, key, now);
	uint64_t milli;

	if (t->rate == 0 || t->burst == 0) {
		e->seen = now;
		return true;
	}
	milli = refill(e->milli, t->rate, t->burst, &e->seen, now);
	/* `seen` is the refill time; it moves with every request that gained
	 * a thousandth, which is every request but those a few microseconds
	 * apart: close enough for choosing whom to forget. */
	if (milli < 1000) {
		e->milli = (uint32_t)milli;
		return false;
	}
	e->milli = (uint32_t)(milli - 1000);
	return true;
}

void srclimit_verify(struct srclimit *t, uint64_t key, mono_t now)
{
	struct srclimit_entry *e = get(t, key, now);

	e->verified = 1;
}

bool srclimit_verified(const struct srclimit *t, uint64_t key)
{
	const struct srclimit_entry *e = find(t, key);

	return e != NULL && e->verified;
}

uint64_t srclimit_bytes(uint32_t entries)
{
	return (uint64_t)sets_for(entries) * SRCLIMIT_WAYS * sizeof(struct srclimit_entry);
}
