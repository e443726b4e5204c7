#include "tftp/tftp_tid.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

struct tid_entry {
	struct netaddr peer;
	uint8_t sock;
	uint8_t used;
	uint32_t hnext; /* ring index + 1 of the next entry in the bucket; 0: none */
	mono_t at;
};

/* Seeded, as the addresses and ports may be a spoofer's choice. */
static uint32_t tid_hash(const struct tid_memory *m, const struct netaddr *p)
{
	return netaddr_hash(p, m->seed) & (m->size - 1);
}

static uint32_t slots_for(uint32_t capacity)
{
	uint32_t n = 64;

	while (n < capacity && n < (1u << 22))
		n <<= 1;
	return n;
}

uint64_t tid_memory_bytes(uint32_t capacity)
{
	return (uint64_t)slots_for(capacity) * (sizeof(struct tid_entry) + sizeof(uint32_t));
}

int tid_memory_init(struct tid_memory *m, uint32_t capacity, mono_t linger)
{
	uint32_t n = slots_for(capacity);

	m->ring = calloc(n, sizeof(*m->ring));
	m->heads = calloc(n, sizeof(*m->heads));
	if (m->ring == NULL || m->heads == NULL) {
		tid_memory_fini(m);
		return -ENOMEM;
	}
	m->size = n;
	m->next = 0;
	if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) < 0)
		m->seed = (uint32_t)clock_mono_now();
	m->linger = linger;
	return 0;
}

void tid_memory_fini(struct tid_memory *m)
{
	free(m->ring);
	free(m->heads);
	m->ring = NULL;
	m->heads = NULL;
	m->size = 0;
}

static void unlink_entry(struct tid_memory *m, uint32_t idx)
{
	struct tid_entry *e = &m->ring[idx];

	for (uint32_t *pp = &m->heads[tid_hash(m, &e->peer)]; *pp; pp = &m->ring[*pp - 1].hnext) {
		if (*pp == idx + 1) {
			*pp = e->hnext;
			break;
		}
	}
	e->used = 0;
}

static struct tid_entry *find(const struct tid_memory *m, const struct netaddr *peer)
{
	for (uint32_t i = m->heads[tid_hash(m, peer)]; i; i = m->ring[i - 1].hnext)
		if (netaddr_eq(&m->ring[i - 1].peer, peer))
			return &m->ring[i - 1];
	return NULL;
}

void tid_remember(struct tid_memory *m, const struct netaddr *peer, unsigned sock, mono_t now)
{
	struct tid_entry *e = find(m, peer);
	uint32_t idx = m->next;
	uint32_t *head;

	if (e) {			 /* its next transfer: the same entry, so a busy client */
		e->sock = (uint8_t)sock; /* cannot push the others out */
		e->at = now;
		return;
	}
	e = &m->ring[idx];
	if (e->used) /* the oldest entry makes room */
		unlink_entry(m, idx);
	m->next = (idx + 1) & (m->size - 1);
	e->peer = *peer;
	e->sock = (uint8_t)sock;
	e->used = 1;
	e->at = now;
	head = &m->heads[tid_hash(m, peer)];
	e->hnext = *head;
	*head = idx + 1;
}

int tid_recall(const struct tid_memory *m, const struct netaddr *peer, mono_t now)
{
	const struct tid_entry *e = find(m, peer);

	if (e == NULL || now - e->at > m->linger)
		return -1;
	return e->sock;
}
