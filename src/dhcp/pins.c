#include "dhcp/pins.h"

#include <stdlib.h>
#include <string.h>

struct pin {
	uint32_t ip; /* 0: empty slot */
	int ifindex;
	mono_t expires;
};

struct pins {
	struct neigh *nl;
	struct pin *slots;
	uint32_t nslots; /* power of two */
	uint32_t count;
};

struct pins *pins_new(struct neigh *nl)
{
	struct pins *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->nl = nl;
	p->nslots = 1024;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (p->slots == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static uint32_t slot_of(const struct pins *p, uint32_t ip)
{
	uint32_t i = (ip * 2654435761u) & (p->nslots - 1);

	while (p->slots[i].ip != 0 && p->slots[i].ip != ip)
		i = (i + 1) & (p->nslots - 1);
	return i;
}

/* Removal in linear probing: re-place the entries of the run after it. */
static void remove_at(struct pins *p, uint32_t i)
{
	p->slots[i].ip = 0;
	p->count--;
	for (uint32_t j = (i + 1) & (p->nslots - 1); p->slots[j].ip != 0;
	     j = (j + 1) & (p->nslots - 1)) {
		struct pin e = p->slots[j];
		p->slots[j].ip = 0;
		p->slots[slot_of(p, e.ip)] = e;
	}
}

static void grow(struct pins *p)
{
	struct pin *old = p->slots;
	uint32_t n = p->nslots;
	struct pin *slots = calloc(n * 2, sizeof(*slots));

	if (slots == NULL)
		return;
	p->slots = slots;
	p->nslots = n * 2;
	for (uint32_t i = 0; i < n; i++)
		if (old[i].ip)
			p->slots[slot_of(p, old[i].ip)] = old[i];
	free(old);
}

void pins_set(struct pins *p, int ifindex, uint32_t ip, const uint8_t mac[6], unsigned secs,
	      mono_t now)
{
	uint32_t i;

	if (ip == 0)
		return;
	if (secs == 0) {
		i = slot_of(p, ip);
		if (p->slots[i].ip == ip) {
			neigh_unpin(p->nl, p->slots[i].ifindex, ip);
			remove_at(p, i);
		}
		return;
	}
	if ((p->count + 1) * 2 > p->nslots)
		grow(p);
	i = slot_of(p, ip);
	if (p->slots[i].ip == 0)
		p->count++;
	p->slots[i] = (struct pin){ip, ifindex, now + MONO_SEC(secs)};
	neigh_pin(p->nl, ifindex, ip, mac);
}

void pins_sweep(struct pins *p, mono_t now)
{
	for (uint32_t i = 0; i < p->nslots; i++) {
		while (p->slots[i].ip != 0 && p->slots[i].expires <= now) {
			neigh_unpin(p->nl, p->slots[i].ifindex, p->slots[i].ip);
			remove_at(p, i);
		}
	}
}

unsigned pins_count(const struct pins *p)
{
	return p->count;
}

void pins_free(struct pins *p)
{
	if (p == NULL)
		return;
	pins_sweep(p, MONO_NEVER);
	free(p->slots);
	free(p);
}
