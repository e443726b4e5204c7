#include "dhcp/lease.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gcommit.h"
#include "core/log.h"
#include "inventory/inventory.h"

struct pool {
	uint32_t start, end; /* host order */
	uint32_t cursor;     /* next index to try */
	struct lease *slots;
};

struct lease_table {
	struct pool pools[CONF_MAX_SUBNETS];
	unsigned npools;
	char path[CONF_PATH_MAX];
	int fd;		    /* while compacting at start */
	struct gcommit *gc; /* afterwards: group commit by the writer thread */
	struct lease_store store; /* or this, when store.put is set */
	uint64_t synced_seen;	  /* what lease_synced() last said */
	/* MAC -> the address it last held (network order), open addressing.
	 * Entries may be stale (the slot since went to another MAC): every
	 * lookup checks the slot. Rebuilt from the slots when it fills. */
	struct mac_ref {
		uint8_t mac[6];
		uint32_t ip;
	} *by_mac;
	uint32_t nby_mac, by_mac_used;
};

static uint32_t mac_hash(const uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h;
}

static struct mac_ref *mac_slot(struct lease_table *t, const uint8_t mac[6])
{
	uint32_t i = mac_hash(mac) & (t->nby_mac - 1);

	while (t->by_mac[i].ip != 0 && memcmp(t->by_mac[i].mac, mac, 6) != 0)
		i = (i + 1) & (t->nby_mac - 1);
	return &t->by_mac[i];
}

static void remember_all(struct lease_table *t);

static void remember(struct lease_table *t, const uint8_t mac[6], uint32_t ip)
{
	struct mac_ref *r;

	if ((t->by_mac_used + 1) * 2 > t->nby_mac)
		remember_all(t); /* drops the stale entries */
	r = mac_slot(t, mac);
	if (r->ip == 0)
		t->by_mac_used++;
	memcpy(r->mac, mac, 6);
	r->ip = ip;
}

static uint32_t crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static struct pool *pool_of(struct lease_table *t, uint32_t ip_be, uint32_t *index)
{
	uint32_t ip = ntohl(ip_be);

	for (unsigned i = 0; i < t->npools; i++) {
		struct pool *p = &t->pools[i];
		if (ip >= p->start && ip <= p->end) {
			*index = ip - p->start;
			return p;
		}
	}
	return NULL;
}

struct lease *lease_at(struct lease_table *t, uint32_t ip)
{
	uint32_t i;
	struct pool *p = pool_of(t, ip, &i);

	return p ? &p->slots[i] : NULL;
}

static bool lease_live(const struct lease *l, int64_t wall_now, mono_t now)
{
	switch (l->state) {
	case LEASE_OFFERED: return l->hold_until > now;
	case LEASE_BOUND:
	case LEASE_DECLINED: return l->expires > wall_now;
	}
	return false;
}

/* The slot this MAC last held, if it still holds it (in any state). */
static struct lease *last_of(struct lease_table *t, const uint8_t mac[6], uint32_t *ip)
{
	struct mac_ref *r = t->nby_mac ? mac_slot(t, mac) : NULL;
	struct lease *l = r && r->ip ? lease_at(t, r->ip) : NULL;

	if (l == NULL || memcmp(l->mac, mac, 6) != 0)
		return NULL;
	*ip = r->ip;
	return l;
}

uint32_t lease_find_mac(struct lease_table *t, const uint8_t mac[6], int64_t wall_now,
			mono_t now)
{
	uint32_t ip;
	struct lease *l = last_of(t, mac, &ip);

	if (l && l->state != LEASE_FREE && l->state != LEASE_DECLINED &&
	    lease_live(l, wall_now, now))
		return ip;
	return 0;
}

uint32_t lease_pick(struct lease_table *t, const struct conf_subnet *sn, const uint8_t mac[6],
		    int64_t wall_now, mono_t now)
{
	uint32_t idx;
	struct pool *p = sn->pool_start ? pool_of(t, htonl(sn->pool_start), &idx) : NULL;
	uint32_t size;

	if (p == NULL)
		return 0;
	/* An expired lease of the same MAC is handed back to it. */
	uint32_t ip;
	struct lease *l = last_of(t, mac, &ip);
	if (l && !lease_live(l, wall_now, now) && l->state != LEASE_DECLINED &&
	    pool_of(t, ip, &idx) == p)
		return ip;
	size = p->end - p->start + 1;
	for (uint32_t n = 0; n < size; n++) {
		uint32_t j = (p->cursor + n) % size;
		if (!lease_live(&p->slots[j], wall_now, now)) {
			p->cursor = (j + 1) % size;
			return htonl(p->start + j);
		}
	}
	return 0;
}

void lease_offer(struct lease_table *t, uint32_t ip, const uint8_t mac[6], mono_t until)
{
	struct lease *l = lease_at(t, ip);

	if (l == NULL)
		return;
	/* A bound client that asks again (a DISCOVER after a reboot) keeps its
	 * lease: an offer must not turn it back into a short hold. */
	if (l->state == LEASE_BOUND && memcmp(l->mac, mac, 6) == 0)
		return;
	memcpy(l->mac, mac, 6);
	l->state = LEASE_OFFERED;
	l->hold_until = until;
	remember(t, mac, ip);
}

/* Records a change. Returns the commit sequence to wait for (> 0), 0 if it
 * is already as durable as it will be, or -errno. */
static int64_t journal(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires,
		       const uint8_t owner[6])
{
	char line[128], a[INET_ADDRSTRLEN], m[18];
	int n;
	uint64_t seq;

	if (t->store.put)
		return t->store.put(t->store.ctx, ip, mac, expires, owner);
	if (t->fd < 0 && t->gc == NULL)
		return 0;
	n = snprintf(line, sizeof(line), "L %s %s %" PRId64,
		     inet_ntop(AF_INET, &ip, a, sizeof(a)), mac_str(mac, ':', m), expires);
	n += snprintf(line + n, sizeof(line) - (size_t)n, " %08x\n", crc32(line, (size_t)n));
	if (t->gc == NULL) {
		if (write(t->fd, line, (size_t)n) != n)
			return errno ? -errno : -EIO;
		return 0;
	}
	seq = gcommit_append(t->gc, line, (size_t)n);
	return seq ? (int64_t)seq : -ENOMEM;
}

int64_t lease_bind(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires)
{
	struct lease *l = lease_at(t, ip);
	int64_t seq;

	if (l == NULL)
		return -EINVAL;
	seq = journal(t, ip, mac, expires, mac);
	if (seq < 0)
		return seq;
	memcpy(l->mac, mac, 6);
	l->state = LEASE_BOUND;
	l->expires = expires;
	remember(t, mac, ip);
	return seq;
}

void lease_learn(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires)
{
	static const uint8_t zero[6];
	struct lease *l = lease_at(t, ip);

	if (l == NULL)
		return;
	/* An offer of ours stands until the store refuses its ACK. */
	if (l->state == LEASE_OFFERED && expires == 0)
		return;
	memcpy(l->mac, mac, 6);
	l->state = expires > 0 ? LEASE_BOUND : expires < 0 ? LEASE_DECLINED : LEASE_FREE;
	l->expires = expires < 0 ? -expires : expires;
	if (memcmp(mac, zero, 6) != 0)
		remember(t, mac, ip);
}

int64_t lease_put(struct lease_table *t, uint32_t ip, const uint8_t mac[6], int64_t expires)
{
	static const uint8_t none[6];
	int64_t seq;

	if (lease_at(t, ip) == NULL)
		return -EINVAL;
	seq = journal(t, ip, expires < 0 ? none : mac, expires, mac);
	if (seq >= 0)
		lease_learn(t, ip, expires < 0 ? none : mac, expires);
	return seq;
}

void lease_each(struct lease_table *t, int64_t wall_now,
		void (*fn)(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires), void *ctx)
{
	for (unsigned i = 0; i < t->npools; i++) {
		struct pool *p = &t->pools[i];
		for (uint32_t j = 0; j <= p->end - p->start; j++) {
			struct lease *l = &p->slots[j];
			if (l->expires <= wall_now)
				continue;
			if (l->state == LEASE_BOUND)
				fn(ctx, htonl(p->start + j), l->mac, l->expires);
			else if (l->state == LEASE_DECLINED)
				fn(ctx, htonl(p->start + j), l->mac, -l->expires);
		}
	}
}

void lease_spread(struct lease_table *t, unsigned k, unsigned n)
{
	for (unsigned i = 0; n > 0 && i < t->npools; i++) {
		struct pool *p = &t->pools[i];
		uint64_t size = (uint64_t)p->end - p->start + 1;
		p->cursor = (uint32_t)(size * k / n);
	}
}

void lease_table_set_store(struct lease_table *t, const struct lease_store *store)
{
	t->store = *store;
}

bool lease_accepting(struct lease_table *t)
{
	return t->store.accepting == NULL || t->store.accepting(t->store.ctx);
}

bool lease_rejected(struct lease_table *t, uint64_t seq)
{
	return t->store.rejected && t->store.rejected(t->store.ctx, seq);
}

int lease_eventfd(const struct lease_table *t)
{
	if (t->store.put)
		return t->store.eventfd(t->store.ctx);
	return t->gc ? gcommit_eventfd(t->gc) : -1;
}

uint64_t lease_synced(struct lease_table *t)
{
	if (t->store.put)
		t->synced_seen = t->store.synced(t->store.ctx);
	else
		t->synced_seen = t->gc ? gcommit_synced(t->gc) : 0;
	return t->synced_seen;
}

uint64_t lease_synced_seen(const struct lease_table *t)
{
	return t->synced_seen;
}

uint64_t lease_failed(const struct lease_table *t)
{
	if (t->store.put)
		return t->store.failed(t->store.ctx);
	return t->gc ? gcommit_failed(t->gc) : 0;
}

int lease_error(const struct lease_table *t)
{
	if (t->store.put)
		return t->store.error(t->store.ctx);
	return t->gc ? gcommit_error(t->gc) : 0;
}

int lease_release(struct lease_table *t, uint32_t ip)
{
	struct lease *l = lease_at(t, ip);

	if (l == NULL)
		return -EINVAL;
	l->state = LEASE_FREE;
	l->expires = 0;
	return journal(t, ip, l->mac, 0, l->mac) < 0 ? -EIO : 0;
}

int lease_decline(struct lease_table *t, uint32_t ip, int64_t until)
{
	struct lease *l = lease_at(t, ip);
	static const uint8_t none[6];
	uint8_t owner[6];

	if (l == NULL)
		return -EINVAL;
	memcpy(owner, l->mac, 6);
	memset(l->mac, 0, 6);
	l->state = LEASE_DECLINED;
	l->expires = until;
	return journal(t, ip, none, -until, owner) < 0 ? -EIO : 0; /* negative: declined until */
}

/* Applies one journal line; false if it is damaged. A record that gives an
 * address another client still held (no release or decline between them)
 * means a clock stepped back or a file written by two servers: the later
 * record wins, as everywhere in the journal, and *conflicts counts it. */
static bool replay_line(struct lease_table *t, char *line, int64_t wall_now, unsigned *conflicts)
{
	char ip_s[32], mac_s[32];
	int64_t expires;
	unsigned crc;
	int body;
	uint32_t ip;
	uint8_t mac[6];

	if (sscanf(line, "L %31s %31s %" SCNd64 "%n %x", ip_s, mac_s, &expires, &body, &crc) != 4)
		return false;
	if (crc32(line, (size_t)body) != crc || inet_pton(AF_INET, ip_s, &ip) != 1 ||
	    mac_parse(mac_s, mac) < 0)
		return false;
	struct lease *l = lease_at(t, ip);
	if (l == NULL)
		return true; /* the pool shrank: forget it */
	if (expires > 0 && l->state == LEASE_BOUND && l->expires > wall_now &&
	    memcmp(l->mac, mac, 6) != 0)
		(*conflicts)++;
	lease_learn(t, ip, mac, expires);
	return true;
}

/* A read error is not the end of the journal: compacting what was read
 * would throw the rest away. */
static int replay(struct lease_table *t, FILE *f, int64_t wall_now)
{
	char line[256];
	unsigned bad = 0, conflicts = 0;

	while (fgets(line, sizeof(line), f))
		if (!replay_line(t, line, wall_now, &conflicts))
			bad++;
	if (ferror(f))
		return errno ? -errno : -EIO;
	if (bad)
		log_warn("%s: skipped %u damaged lease record%s", t->path, bad, bad == 1 ? "" : "s");
	if (conflicts)
		log_warn("%s: %u record%s gave a leased address to another client; the later one "
			 "is kept",
			 t->path, conflicts, conflicts == 1 ? "" : "s");
	return 0;
}

/* Makes a rename durable: sync the directory that holds the file. */
static int sync_dir(const char *path)
{
	char dir[CONF_PATH_MAX];
	char *slash;
	int fd, err = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

struct compacting {
	struct lease_table *t;
	int err;
};

static void compact_one(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires)
{
	struct compacting *c = ctx;

	if (c->err == 0)
		c->err = (int)journal(c->t, ip, mac, expires, mac);
}

/* Rewrites the journal with only the live leases, atomically. */
static int compact(struct lease_table *t, int64_t wall_now)
{
	char tmp[CONF_PATH_MAX + 8];
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", t->path);
	t->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (t->fd < 0)
		return -errno;
	/* A declined address stays out of the pool across a restart. */
	struct compacting c = {t, 0};
	lease_each(t, wall_now, compact_one, &c);
	err = c.err;
	if (err == 0 && fsync(t->fd) < 0)
		err = -errno;
	if (err == 0 && rename(tmp, t->path) < 0)
		err = -errno;
	if (err == 0)
		err = sync_dir(t->path);
	if (err == 0) {
		t->gc = gcommit_start(t->fd);
		err = t->gc ? 0 : -ENOMEM;
	}
	if (err < 0)
		close(t->fd);
	t->fd = -1;
	return err;
}

/* Rebuilds the MAC index from the slots (the truth), at twice the size
 * needed. */
static void remember_all(struct lease_table *t)
{
	uint32_t n = 64, used = 0;
	struct mac_ref *old = t->by_mac;

	for (unsigned i = 0; i < t->npools; i++)
		used += t->pools[i].end - t->pools[i].start + 1;
	while (n < used * 4 + 64)
		n <<= 1;
	t->by_mac = calloc(n, sizeof(*t->by_mac));
	if (t->by_mac == NULL) {
		t->by_mac = old; /* keep the old index; lookups stay correct */
		return;
	}
	free(old);
	t->nby_mac = n;
	t->by_mac_used = 0;
	for (unsigned i = 0; i < t->npools; i++) {
		struct pool *p = &t->pools[i];
		for (uint32_t j = 0; j <= p->end - p->start; j++) {
			static const uint8_t zero[6];
			if (memcmp(p->slots[j].mac, zero, 6) == 0)
				continue;
			struct mac_ref *r = mac_slot(t, p->slots[j].mac);
			if (r->ip == 0)
				t->by_mac_used++;
			memcpy(r->mac, p->slots[j].mac, 6);
			r->ip = htonl(p->start + j);
		}
	}
}

uint64_t lease_table_memory(const struct conf_dhcp *cfg)
{
	uint64_t slots = 0, n = 64;

	for (unsigned i = 0; i < cfg->nsubnets; i++)
		if (cfg->subnets[i].pool_start != 0)
			slots += (uint64_t)cfg->subnets[i].pool_end - cfg->subnets[i].pool_start + 1;
	while (n < slots * 4 + 64) /* as remember_all() sizes the MAC index */
		n <<= 1;
	return sizeof(struct lease_table) + slots * sizeof(struct lease) +
	       n * sizeof(struct mac_ref);
}

struct lease_table *lease_table_open(const struct conf_dhcp *cfg, const char *path,
				     int64_t wall_now, int *err)
{
	struct lease_table *t = calloc(1, sizeof(*t));

	*err = -ENOMEM;
	if (t == NULL)
		return NULL;
	t->fd = -1;
	for (unsigned i = 0; i < cfg->nsubnets; i++) {
		const struct conf_subnet *sn = &cfg->subnets[i];
		if (sn->pool_start == 0)
			continue;
		struct pool *p = &t->pools[t->npools++];
		p->start = sn->pool_start;
		p->end = sn->pool_end;
		p->slots = calloc(p->end - p->start + 1, sizeof(*p->slots));
		if (p->slots == NULL)
			goto fail;
	}
	remember_all(t);
	if (t->by_mac == NULL)
		goto fail;
	snprintf(t->path, sizeof(t->path), "%s", path);
	if (path[0] == '\0')
		return t;
	FILE *f = fopen(path, "re");
	if (f) {
		*err = replay(t, f, wall_now);
		fclose(f);
		if (*err < 0)
			goto fail;
	} else if (errno != ENOENT) {
		*err = -errno;
		goto fail;
	}
	*err = compact(t, wall_now);
	if (*err < 0)
		goto fail;
	return t;
fail:
	lease_table_close(t);
	return NULL;
}

void lease_table_close(struct lease_table *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	gcommit_stop(t->gc);
	for (unsigned i = 0; i < t->npools; i++)
		free(t->pools[i].slots);
	free(t->by_mac);
	free(t);
}

static void dump_one(void *ctx, uint32_t ip, const uint8_t mac[6], int64_t expires)
{
	char a[INET_ADDRSTRLEN], m[18];

	if (expires > 0) /* bound, not declined */
		fprintf(ctx, "%s %s %" PRId64 "\n", inet_ntop(AF_INET, &ip, a, sizeof(a)),
			mac_str(mac, ':', m), expires);
}

void lease_dump(struct lease_table *t, FILE *out, int64_t wall_now)
{
	lease_each(t, wall_now, dump_one, out);
}

/* The journal's complete lines: a running herd may be half-way through
 * writing the last one, which is not damage. malloc'd, in *len. */
static char *read_complete_lines(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, *nl;
	size_t cap = 0;

	*err = 0;
	if (f == NULL) {
		*err = -errno;
		return NULL;
	}
	FILE *mem = open_memstream(&buf, &cap);
	char chunk[65536];
	size_t n;

	while (mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fwrite(chunk, 1, n, mem) != n)
			break;
	if (ferror(f))
		*err = errno ? -errno : -EIO;
	fclose(f);
	if (mem == NULL || fclose(mem) != 0) {
		free(buf);
		*err = -ENOMEM;
		return NULL;
	}
	nl = cap ? memrchr(buf, '\n', cap) : NULL;
	*len = nl ? (size_t)(nl - buf) + 1 : 0;
	if (*err < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct lease_table *lease_table_read(const struct conf_dhcp *cfg, const char *path,
				     int64_t wall_now, int *err)
{
	/* Opened without a journal, nothing is ever written. */
	struct lease_table *t = lease_table_open(cfg, "", wall_now, err);
	size_t len = 0;
	char *text;
	FILE *f;

	if (t == NULL)
		return NULL;
	snprintf(t->path, sizeof(t->path), "%s", path);
	text = read_complete_lines(path, &len, err);
	f = text && len ? fmemopen(text, len, "r") : NULL;
	if (text && len && f == NULL)
		*err = -errno;
	if (f) {
		*err = replay(t, f, wall_now);
		fclose(f);
	}
	free(text);
	if (*err < 0) {
		lease_table_close(t);
		return NULL;
	}
	return t;
}
