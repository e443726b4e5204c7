#include "syslog/logrx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "syslog/syslog_wire.h"

/* A token is a millionth of a line, so that refilling is exact in integers:
 * `rate` lines per second is `rate` tokens per microsecond. */
#define LINE_TOKENS UINT64_C(1000000)

/* After a failed open or write, the sender's file is left alone this long:
 * a full disk is not retried for every datagram. */
#define RETRY_DELAY MONO_SEC(1)

/* At most one "N lines dropped" note per sender per interval: under a
 * steady flood every returning token would otherwise bring its own note. */
#define NOTE_INTERVAL MONO_SEC(1)

#define HASH_MIN_BUCKETS 64u

/* Per-sender state: about 140 bytes, up to cfg->max_senders of them. */
struct logrx_sender {
	struct logrx_sender *hnext;		  /* hash chain */
	struct logrx_sender *lru_prev, *lru_next; /* lru_head: most recently heard */
	struct ipaddr ip;
	int fd;					  /* -1: opened at the next write */
	uint64_t size;				  /* bytes in the current file */
	uint64_t tokens;			  /* in LINE_TOKENS per line */
	mono_t refill_at;			  /* when tokens were last topped up */
	mono_t retry_at;			  /* no open before this, after a failure */
	mono_t note_at;				  /* last "lines dropped" note */
	uint32_t dropped;			  /* lines dropped since the last written */
	bool partial;				  /* a short write ended mid-line */
	char name[LOGRX_NAME_MAX + 1];		  /* "" until the file is opened */
};

struct logrx {
	struct conf_logrx cfg;
	int dirfd;
	logrx_namer_fn namer;
	void *namer_ctx;
	bool known_only;
	logrx_wallclock_fn wallclock;

	struct logrx_sender **buckets;
	uint32_t nbuckets; /* a power of two */
	uint32_t hash_seed;
	struct logrx_sender *lru_head, *lru_tail;

	char *line; /* one rendered line: line_cap bytes */
	size_t line_cap;
	char *wbuf; /* lines waiting for one write() */
	size_t wlen, wcap;
	uint64_t wlines; /* lines in wbuf */

	char wall[48]; /* receive time, read once per distinct `now` */
	mono_t wall_at;
	bool wall_valid;

	struct ratelimit err_rl;
	struct logrx_stats stats;
	struct node_events ev; /* the node state's: callbacks may be NULL */
};

/* ---- Hash and LRU ------------------------------------------------------ */

/* murmur3's finaliser, seeded: spoofed source addresses cannot be chosen to
 * land in one chain. */
static uint32_t sender_hash(const struct logrx *rx, const struct ipaddr *ip)
{
	uint32_t h = ipaddr_hash(ip, rx->hash_seed);

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h & (rx->nbuckets - 1);
}

static struct logrx_sender *sender_find(const struct logrx *rx, const struct ipaddr *ip)
{
	struct logrx_sender *s = rx->buckets[sender_hash(rx, ip)];

	while (s != NULL && !ipaddr_eq(&s->ip, ip))
		s = s->hnext;
	return s;
}

/* Doubles the table when it gets as full as it is wide. On allocation
 * failure the table keeps working with longer chains. */
static void hash_grow(struct logrx *rx)
{
	uint32_t old_n = rx->nbuckets;
	struct logrx_sender **old = rx->buckets;
	struct logrx_sender **nb = calloc((size_t)old_n * 2, sizeof(*nb));

	if (nb == NULL)
		return;
	rx->buckets = nb;
	rx->nbuckets = old_n * 2;
	for (uint32_t i = 0; i < old_n; i++) {
		while (old[i] != NULL) {
			struct logrx_sender *s = old[i];
			uint32_t h = sender_hash(rx, &s->ip);
			old[i] = s->hnext;
			s->hnext = nb[h];
			nb[h] = s;
		}
	}
	free(old);
}

static void lru_unlink(struct logrx *rx, struct logrx_sender *s)
{
	if (s->lru_prev != NULL)
		s->lru_prev->lru_next = s->lru_next;
	else
		rx->lru_head = s->lru_next;
	if (s->lru_next != NULL)
		s->lru_next->lru_prev = s->lru_prev;
	else
		rx->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push_head(struct logrx *rx, struct logrx_sender *s)
{
	s->lru_prev = NULL;
	s->lru_next = rx->lru_head;
	if (rx->lru_head != NULL)
		rx->lru_head->lru_prev = s;
	else
		rx->lru_tail = s;
	rx->lru_head = s;
}

static void sender_close(struct logrx_sender *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void sender_evict(struct logrx *rx, struct logrx_sender *s)
{
	struct logrx_sender **pp = &rx->buckets[sender_hash(rx, &s->ip)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	lru_unlink(rx, s);
	sender_close(s);
	free(s);
	rx->stats.senders--;
}

/* Finds the sender or makes it, evicting the least recently heard at the
 * cap; either way it becomes the most recent. NULL when out of memory. */
static struct logrx_sender *sender_get(struct logrx *rx, const struct ipaddr *ip, mono_t now)
{
	struct logrx_sender *s = sender_find(rx, ip);

	if (s != NULL) {
		lru_unlink(rx, s);
		lru_push_head(rx, s);
		return s;
	}
	if (rx->stats.senders >= rx->cfg.max_senders && rx->lru_tail != NULL) {
		sender_evict(rx, rx->lru_tail);
		rx->stats.evictions++;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->ip = *ip;
	s->fd = -1;
	s->tokens = (uint64_t)rx->cfg.burst_lines * LINE_TOKENS;
	s->refill_at = now;
	s->note_at = now - NOTE_INTERVAL;
	if (rx->stats.senders >= rx->nbuckets)
		hash_grow(rx);
	uint32_t h = sender_hash(rx, ip);
	s->hnext = rx->buckets[h];
	rx->buckets[h] = s;
	lru_push_head(rx, s);
	rx->stats.senders++;
	return s;
}

/* ---- Token bucket ------------------------------------------------------ */

static bool bucket_take(const struct logrx *rx, struct logrx_sender *s, mono_t now)
{
	uint64_t cap = (uint64_t)rx->cfg.burst_lines * LINE_TOKENS;
	uint64_t rate = rx->cfg.rate_lines;
	mono_t dt = now - s->refill_at;

	if (dt > 0) {
		/* Full once dt * rate >= cap; below that the product is < cap
		 * (at most 10^12), so it cannot overflow. */
		if ((uint64_t)dt >= cap / rate) {
			s->tokens = cap;
		} else {
			uint64_t gain = (uint64_t)dt * rate;
			s->tokens = gain >= cap - s->tokens ? cap : s->tokens + gain;
		}
	}
	s->refill_at = now;
	if (s->tokens < LINE_TOKENS)
		return false;
	s->tokens -= LINE_TOKENS;
	return true;
}

/* ---- Files ------------------------------------------------------------- */

static bool name_byte_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* The namer's answer comes from an inventory that a node may influence: it
 * is reduced to a plain, non-hidden file name. */
static void sender_name(struct logrx *rx, struct logrx_sender *s)
{
	const char *raw = rx->namer ? rx->namer(rx->namer_ctx, &s->ip) : NULL;
	size_t n = 0;

	for (; raw != NULL && raw[n] != '\0' && n < LOGRX_NAME_MAX; n++)
		s->name[n] = name_byte_ok(raw[n]) ? raw[n] : '_';
	s->name[n] = '\0';
	if (n == 0)
		ipaddr_str(&s->ip, s->name);
	if (s->name[0] == '.')
		s->name[0] = '_';
}

static void report(struct logrx *rx, mono_t now, const char *what, const struct logrx_sender *s,
		   int err)
{
	rx->stats.write_errors++;
	log_limited(&rx->err_rl, now, LOG_LVL_WARN, "log: cannot %s %s.log: %s", what, s->name,
		    strerror(err));
}

/* When out of descriptors, the file of the least recently heard sender is
 * closed (it reopens when that sender speaks again). */
static bool close_idle_file(struct logrx *rx, const struct logrx_sender *keep)
{
	for (struct logrx_sender *s = rx->lru_tail; s != NULL; s = s->lru_prev) {
		if (s != keep && s->fd >= 0) {
			sender_close(s);
			return true;
		}
	}
	return false;
}

/* O_NONBLOCK: a FIFO planted under the name must not block the loop. */
static int open_file(struct logrx *rx, const char *name)
{
	char path[LOGRX_NAME_MAX + 8];

	snprintf(path, sizeof(path), "%s.log", name);
	return openat(rx->dirfd, path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
}

static int sender_open(struct logrx *rx, struct logrx_sender *s, mono_t now)
{
	struct stat st;
	int fd, err;

	if (now < s->retry_at)
		return -EAGAIN;
	if (s->name[0] == '\0')
		sender_name(rx, s);
	fd = open_file(rx, s->name);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && close_idle_file(rx, s))
		fd = open_file(rx, s->name);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	if (fd < 0) {
		err = errno;
		s->retry_at = now + RETRY_DELAY;
		report(rx, now, "open", s, err);
		return -err;
	}
	s->fd = fd;
	s->size = (uint64_t)st.st_size;
	return 0;
}

static int rotate_rename(struct logrx *rx, const char *name, unsigned from, unsigned to)
{
	char a[LOGRX_NAME_MAX + 16], b[LOGRX_NAME_MAX + 16];

	if (from == 0)
		snprintf(a, sizeof(a), "%s.log", name);
	else
		snprintf(a, sizeof(a), "%s.log.%u", name, from);
	snprintf(b, sizeof(b), "%s.log.%u", name, to);
	if (renameat(rx->dirfd, a, rx->dirfd, b) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* NAME.log.(k-1) -> NAME.log.k ... NAME.log -> NAME.log.1, then a fresh
 * NAME.log. If a rename fails, writing goes on in the old file and the next
 * rotation is tried after another max_file_bytes. */
static void sender_rotate(struct logrx *rx, struct logrx_sender *s, mono_t now)
{
	char path[LOGRX_NAME_MAX + 8];
	int err = 0;

	sender_close(s);
	if (rx->cfg.rotate_keep == 0) {
		snprintf(path, sizeof(path), "%s.log", s->name);
		if (unlinkat(rx->dirfd, path, 0) < 0 && errno != ENOENT)
			err = -errno;
	}
	for (unsigned k = rx->cfg.rotate_keep; k >= 1 && err == 0; k--)
		err = rotate_rename(rx, s->name, k - 1, k);
	if (err < 0)
		report(rx, now, "rotate", s, -err);
	else
		rx->stats.rotations++;
	if (sender_open(rx, s, now) == 0 && err < 0)
		s->size = 0;
}

/* Writes the buffered lines in one write(). */
static void sender_flush(struct logrx *rx, struct logrx_sender *s, mono_t now)
{
	struct iovec iov[2] = {{(void *)"\n", 1}, {rx->wbuf, rx->wlen}};
	int skip = s->partial ? 0 : 1;
	size_t total = rx->wlen + (size_t)(1 - skip);
	ssize_t n;

	if (rx->wlen == 0)
		return;
	if (s->fd < 0 && sender_open(rx, s, now) < 0) {
		rx->stats.lost += rx->wlines;
		rx->wlen = rx->wlines = 0;
		return;
	}
	n = writev(s->fd, iov + skip, 2 - skip);
	if (n > 0) {
		s->size += (uint64_t)n;
		rx->stats.bytes += (uint64_t)n;
	}
	if (n == (ssize_t)total) {
		s->partial = false;
		rx->stats.lines += rx->wlines;
	} else {
		/* ENOSPC, EIO, a short write: count the whole batch as lost,
		 * close, and reopen (fresh size) after RETRY_DELAY. */
		int err = n < 0 ? errno : ENOSPC;
		s->partial = s->partial || n > 0;
		rx->stats.lost += rx->wlines;
		report(rx, now, "write", s, err);
		sender_close(s);
		s->retry_at = now + RETRY_DELAY;
	}
	rx->wlen = rx->wlines = 0;
}

/* Queues one rendered line, first flushing and rotating if it would take
 * the file past max_file_bytes (a file always gets at least one line). */
static void sender_put(struct logrx *rx, struct logrx_sender *s, size_t len, mono_t now)
{
	uint64_t pending;

	if (rx->wlen + len > rx->wcap)
		sender_flush(rx, s, now);
	/* Opened before the first line is queued, to learn the file's size. */
	if (s->fd < 0 && rx->wlen == 0)
		sender_open(rx, s, now);
	pending = s->size + rx->wlen;
	if (pending > 0 && pending + len > rx->cfg.max_file_bytes) {
		sender_flush(rx, s, now);
		if (s->fd >= 0)
			sender_rotate(rx, s, now);
	}
	memcpy(rx->wbuf + rx->wlen, rx->line, len);
	rx->wlen += len;
	rx->wlines++;
}

/* ---- Input ------------------------------------------------------------- */

static const char *wall_now(struct logrx *rx, mono_t now)
{
	if (!rx->wall_valid || rx->wall_at != now) {
		size_t n = rx->wallclock(rx->wall, sizeof(rx->wall));
		rx->wall[n < sizeof(rx->wall) ? n : sizeof(rx->wall) - 1] = '\0';
		rx->wall_at = now;
		rx->wall_valid = true;
	}
	return rx->wall;
}

static void put_dropped_note(struct logrx *rx, struct logrx_sender *s, const char *wall, mono_t now)
{
	char text[160];

	snprintf(text, sizeof(text), "%u line%s dropped (rate limit %u lines/s, burst %u)",
		 s->dropped, s->dropped == 1 ? "" : "s", rx->cfg.rate_lines, rx->cfg.burst_lines);
	s->dropped = 0;
	s->note_at = now;
	sender_put(rx, s, syslog_format_note(wall, text, rx->line_cap - 1, rx->line), now);
}

void logrx_input(struct logrx *rx, enum logrx_source src, const struct netaddr *peer,
		 const uint8_t *buf, size_t len, mono_t now)
{
	struct syslog_msg msg;
	struct syslog_span line;
	struct logrx_sender *s;
	size_t pos = 0;
	const char *wall;

	rx->stats.datagrams++;
	/* Before parsing: a flood from strangers costs a lookup each. */
	if (rx->known_only && sender_find(rx, &peer->ip) == NULL &&
	    rx->namer(rx->namer_ctx, &peer->ip) == NULL) {
		rx->stats.unknown_dropped++;
		return;
	}
	if (src == LOGRX_NETCONSOLE)
		syslog_parse_netconsole(buf, len, &msg);
	else
		syslog_parse(buf, len, &msg);
	s = sender_get(rx, &peer->ip, now);
	if (s == NULL)
		return;
	wall = wall_now(rx, now);
	while (syslog_line_next(&msg, &pos, &line)) {
		if (!bucket_take(rx, s, now)) {
			s->dropped += s->dropped < UINT32_MAX;
			rx->stats.rate_dropped++;
			continue;
		}
		if (s->dropped > 0 && now - s->note_at >= NOTE_INTERVAL)
			put_dropped_note(rx, s, wall, now);
		size_t n = syslog_format_line(&msg, &line, wall, rx->line_cap - 1, rx->line);
		/* Before sender_put(), which may reuse rx->line: the line as
		 * filed (tag and text: "herd-init: root: ..." whether it came
		 * by syslog, tag apart, or netconsole). */
		if (rx->ev.log_line)
			rx->ev.log_line(rx->ev.ctx, &peer->ip, (const uint8_t *)rx->line, n, now);
		sender_put(rx, s, n, now);
	}
	sender_flush(rx, s, now);
}

/* ---- Life cycle -------------------------------------------------------- */

struct logrx *logrx_new(const struct conf_logrx *cfg, int dirfd)
{
	struct logrx *rx = calloc(1, sizeof(*rx));

	if (rx == NULL)
		return NULL;
	rx->cfg = *cfg;
	if (rx->cfg.max_senders == 0)
		rx->cfg.max_senders = 1;
	logrx_reconfigure(rx, cfg);
	rx->dirfd = dirfd;
	rx->wallclock = clock_wall_rfc3339;
	rx->err_rl = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	rx->line_cap = (cfg->line_max < SYSLOG_LINE_MIN ? SYSLOG_LINE_MIN : cfg->line_max) + 1;
	rx->wcap = rx->line_cap * 4 > 65536 ? rx->line_cap * 4 : 65536;
	rx->nbuckets = HASH_MIN_BUCKETS;
	if (getrandom(&rx->hash_seed, sizeof(rx->hash_seed), GRND_NONBLOCK) < 0)
		rx->hash_seed = (uint32_t)clock_mono_now();
	rx->buckets = calloc(rx->nbuckets, sizeof(*rx->buckets));
	rx->line = malloc(rx->line_cap);
	rx->wbuf = malloc(rx->wcap);
	if (rx->buckets == NULL || rx->line == NULL || rx->wbuf == NULL) {
		logrx_free(rx);
		return NULL;
	}
	return rx;
}

void logrx_reconfigure(struct logrx *rx, const struct conf_logrx *cfg)
{
	struct conf_logrx *c = &rx->cfg;

	c->max_file_bytes = cfg->max_file_bytes;
	c->rotate_keep = cfg->rotate_keep;
	c->rate_lines = cfg->rate_lines;
	c->burst_lines = cfg->burst_lines;
	/* conf enforces these; a zero from a test or fuzzer must not divide
	 * by zero or rotate after every line (0: no size cap). */
	if (c->rate_lines == 0)
		c->rate_lines = 1;
	if (c->burst_lines == 0)
		c->burst_lines = 1;
	if (c->max_file_bytes == 0)
		c->max_file_bytes = UINT64_MAX;
}

void logrx_free(struct logrx *rx)
{
	if (rx == NULL)
		return;
	while (rx->lru_head != NULL)
		sender_evict(rx, rx->lru_head);
	free(rx->buckets);
	free(rx->line);
	free(rx->wbuf);
	free(rx);
}

void logrx_set_namer(struct logrx *rx, logrx_namer_fn namer, void *ctx, bool known_only)
{
	rx->known_only = known_only && namer != NULL;
	rx->namer = namer;
	rx->namer_ctx = ctx;
}

void logrx_set_events(struct logrx *rx, const struct node_events *ev)
{
	rx->ev = *ev;
}

void logrx_set_wallclock(struct logrx *rx, logrx_wallclock_fn wallclock)
{
	rx->wallclock = wallclock ? wallclock : clock_wall_rfc3339;
	rx->wall_valid = false;
}

void logrx_reopen(struct logrx *rx)
{
	for (struct logrx_sender *s = rx->lru_head; s != NULL; s = s->lru_next) {
		sender_close(s);
		s->name[0] = '\0';
		s->retry_at = 0;
	}
	rx->stats.reopens++;
}

uint64_t logrx_memory(const struct conf_logrx *cfg)
{
	uint64_t senders = cfg->max_senders ? cfg->max_senders : 1;
	uint64_t line = (cfg->line_max < SYSLOG_LINE_MIN ? SYSLOG_LINE_MIN : cfg->line_max) + 1;
	uint64_t wbuf = line * 4 > 65536 ? line * 4 : 65536;
	/* The hash doubles when it is as full as it is wide: at most twice
	 * the senders' power of two, and the old array while it moves. */
	uint64_t buckets = 3 * 2 * mem_pow2(senders, HASH_MIN_BUCKETS) * sizeof(void *);

	return mem_chunk(sizeof(struct logrx)) + senders * mem_chunk(sizeof(struct logrx_sender)) +
	       buckets + mem_chunk(line) + mem_chunk(wbuf);
}

void logrx_stats(const struct logrx *rx, struct logrx_stats *out)
{
	*out = rx->stats;
}
