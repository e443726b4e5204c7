#include "tftp/tftp_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/srclimit.h"
#include "core/timerq.h"
#include "tftp/tftp_sched.h"
#include "tftp/tftp_tid.h"
#include "tftp/tftp_wire.h"

/* How long a client port's last server port is remembered: longer than any
 * firmware takes to go from one download to the next. */
#define TID_LINGER MONO_SEC(120)

/* Timer retransmissions of a transfer to an unknown source whose first
 * packet (the OACK or block 1) was never acknowledged. A spoofed request's
 * transfer goes to an address that will never answer; a real client that
 * missed our packet asks again, and that request is answered at once. So
 * one retransmission: a dead transfer holds its place 3 initial RTOs. */
#define UNKNOWN_RETRIES 1

/* The per-source table has room for at least this many addresses. */
#define SOURCES_MIN 4096

/* PENDING: admitted later, when the link has room (the request is kept). */
enum xfer_state { XS_PENDING, XS_OACK, XS_DATA };

/* A read request, parsed once: what a transfer starts from, now or when a
 * deferred one is admitted (then `name` is a copy the transfer owns). */
struct rrq {
	const char *name;
	size_t name_len;
	enum tftp_mode mode;
	struct tftp_opts opts;
	uint32_t hash; /* of the whole datagram: tells a repeat from a new request */
	bool unknown;  /* from an unknown source (see tftp_server_set_known) */
};

/* One transfer. Small on purpose: the file content is shared. */
struct tftp_xfer {
	struct netaddr peer;
	struct ipaddr local_ip;
	uint8_t sock;
	uint8_t state;
	bool rexmitted;	  /* the outstanding window was resent: no RTT sample (Karn) */
	bool quick_spent; /* the one quick resend for this window was used */
	uint16_t blksize;
	uint16_t window;
	uint16_t tries;
	bool unknown; /* its source is not known, and it has acknowledged nothing yet */
	uint8_t node_kind; /* what the file is to the node state (node_events): 0 nothing */
	uint32_t request_hash; /* of the RRQ that started it: tells a repeat from a new one */
	const struct file_view *file;
	uint64_t nblocks; /* blocks in the file: size / blksize + 1 */
	uint64_t acked;	  /* blocks acknowledged (unwrapped) */
	uint64_t sent;	  /* highest block sent (unwrapped) */
	uint64_t owe_next, owe_end; /* blocks queued for the pacer (owe_next > owe_end: none) */
	bool owe_oack;		    /* the OACK is queued */
	mono_t sent_at;	  /* when the outstanding window (or OACK) went out */
	mono_t progress_at; /* when the client last acknowledged something new */
	mono_t rto, srtt, rttvar;
	mono_t client_timeout; /* when the client retries if it hears nothing */
	struct tftp_opts oack; /* what the OACK said, to resend it */
	struct timer timer;
	struct sched_item sched;
	struct rrq *pending; /* PENDING: the request, started on admission */
	mono_t requested_at;
	struct tftp_xfer *pending_next;
	struct tftp_server *srv;
	struct tftp_xfer *hnext;
	struct tftp_xfer *retired_next;
};

struct tftp_server {
	struct conf_tftp cfg; /* a copy: a reload changes the live keys only */
	struct files *files;
	struct tftp_tx tx;
	struct timerq timers;
	struct tftp_xfer **buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t hash_seed;
	struct tftp_xfer *retired;
	struct tftp_xfer *pending_head, **pending_tail; /* admission FIFO */
	/* Requests of unknown sources wait in a FIFO of their own, admitted
	 * only when no known one waits. */
	struct tftp_xfer *upending_head, **upending_tail;
	struct tftp_known known;
	struct node_events ev; /* the node state's: callbacks may be NULL */
	struct srclimit sources;     /* each address's request rate, and who answered */
	struct token_bucket unknown; /* new transfers and ERRORs for unknown sources */
	uint32_t unknown_max;	     /* transfers and waiting requests they may hold */
	struct tftp_sched sched;
	struct tid_memory tids; /* each client port's last server port */
	unsigned next_sock;	/* transfer sockets are handed out in turn */
	mono_t admit_limit; /* most queueing delay a new transfer may add */
	mono_t next_adapt;  /* the pacer's rate: next adaptation */
	unsigned flows;	    /* other protocols' transfers under way (HTTP) */
	struct tftp_stats stats;
	struct ratelimit rl_refuse;
	struct ratelimit rl_bad;
	struct ratelimit rl_giveup;
	mono_t next_expire;
};

static struct tftp_xfer **bucket(struct tftp_server *srv, const struct netaddr *p)
{
	return &srv->buckets[netaddr_hash(p, srv->hash_seed) & (srv->nbuckets - 1)];
}

static struct tftp_xfer *xfer_find(struct tftp_server *srv, const struct netaddr *p)
{
	for (struct tftp_xfer *x = *bucket(srv, p); x; x = x->hnext)
		if (netaddr_eq(&x->peer, p))
			return x;
	return NULL;
}

static void xfer_unlink(struct tftp_server *srv, struct tftp_xfer *x)
{
	for (struct tftp_xfer **pp = bucket(srv, &x->peer); *pp; pp = &(*pp)->hnext) {
		if (*pp == x) {
			*pp = x->hnext;
			return;
		}
	}
}

static size_t block_cost(const struct tftp_xfer *x)
{
	return sched_wire_cost(TFTP_HDR + x->blksize);
}

/* Bytes still queued for the pacer (an estimate: full blocks). */
static uint64_t owed_bytes(const struct tftp_xfer *x)
{
	uint64_t n = x->owe_next <= x->owe_end ? x->owe_end - x->owe_next + 1 : 0;

	return n * block_cost(x) + (x->owe_oack ? sched_wire_cost(64) : 0);
}

static void pending_unlink(struct tftp_server *srv, struct tftp_xfer *x)
{
	struct tftp_xfer **head = x->unknown ? &srv->upending_head : &srv->pending_head;
	struct tftp_xfer ***tail = x->unknown ? &srv->upending_tail : &srv->pending_tail;

	for (struct tftp_xfer **pp = head; *pp; pp = &(*pp)->pending_next) {
		if (*pp == x) {
			*pp = x->pending_next;
			if (*tail == &x->pending_next)
				*tail = pp;
			return;
		}
	}
}

/* Ends a transfer now; its memory is freed at the end of the tick or input,
 * never inside the code still using it. */
static void flush(struct tftp_server *srv)
{
	if (srv->tx.flush)
		srv->tx.flush(srv->tx.ctx);
}

static void xfer_retire(struct tftp_xfer *x, mono_t now)
{
	struct tftp_server *srv = x->srv;

	/* Batched datagrams may still point into this transfer's file (a
	 * generated file dies with its last transfer): send them first. */
	flush(srv);
	timerq_cancel(&srv->timers, &x->timer);
	sched_remove(&srv->sched, &x->sched);
	x->owe_next = x->owe_end + 1;
	xfer_unlink(srv, x);
	if (x->unknown)
		srv->stats.unknown--;
	if (x->state == XS_PENDING) {
		pending_unlink(srv, x);
		srv->stats.pending--;
		x->retired_next = srv->retired;
		srv->retired = x;
		return;
	}
	tid_remember(&srv->tids, &x->peer, x->sock, now);
	files_put(srv->files, x->file, now);
	if (srv->next_expire == MONO_NEVER)
		srv->next_expire = now + MONO_SEC(1);
	x->retired_next = srv->retired;
	srv->retired = x;
	srv->stats.active--;
}

static void reap(struct tftp_server *srv)
{
	while (srv->retired) {
		struct tftp_xfer *x = srv->retired;
		srv->retired = x->retired_next;
		if (x->pending)
			free((char *)x->pending->name);
		free(x->pending);
		free(x);
	}
}


static void send_error(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
		       struct ipaddr local_ip, enum tftp_errcode code, const char *msg)
{
	uint8_t buf[128];
	size_t n = tftp_build_error(buf, sizeof(buf), code, msg);

	srv->tx.send(srv->tx.ctx, sock, peer, local_ip, buf, n, NULL, 0);
}

/* An ERROR to a source herd does not know may be to a spoofed address:
 * those are sent within the unknown sources' rate. */
static void reply_error(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
			struct ipaddr local_ip, enum tftp_errcode code, const char *msg, bool unknown,
			mono_t now)
{
	if (unknown && !token_bucket_take(&srv->unknown, now)) {
		srv->stats.errors_withheld++;
		return;
	}
	send_error(srv, sock, peer, local_ip, code, msg);
}

/* An address as a key of the per-source table: an IPv4 address itself, an
 * IPv6 one by its /64, the least a site hands one host (an attacker with a
 * /64 has 2^64 addresses to send from). */
static uint64_t source_key(const struct ipaddr *ip)
{
	uint64_t k = 0;

	if (ipaddr_is_v4(ip))
		return ipaddr_to_v4(ip);
	for (int i = 0; i < 8; i++)
		k = k << 8 | ip->b[i];
	return k;
}

/* With DHCP, herd's nodes and lease holders. Without (TFTP only), those
 * that acknowledged a transfer from where they say they are: the only sign
 * of a real client there is. An attacker who can see herd's transfer ports
 * could forge that for a spoofed address; with DHCP, DHCP alone decides. */
static bool source_known(const struct tftp_server *srv, const struct ipaddr *ip)
{
	if (srv->known.is_known)
		return srv->known.is_known(srv->known.ctx, ip);
	return srclimit_verified(&srv->sources, source_key(ip));
}

/* The transfer's client acknowledged something: it is at the address it
 * claims, so it and its next requests are known. Its admission token goes
 * back: the bucket only drains for sources that never answer. */
static void vouch(struct tftp_xfer *x, mono_t now)
{
	struct tftp_server *srv = x->srv;

	if (!x->unknown)
		return;
	x->unknown = false;
	srv->stats.unknown--;
	token_bucket_give(&srv->unknown);
	srclimit_verify(&srv->sources, source_key(&x->peer.ip), now);
}

static void send_block(struct tftp_xfer *x, uint64_t block)
{
	struct tftp_server *srv = x->srv;
	uint8_t hdr[TFTP_HDR];
	uint64_t off = (block - 1) * x->blksize;
	size_t len = 0;

	if (off < x->file->size)
		len = x->file->size - off < x->blksize ? x->file->size - off : x->blksize;
	/* Block numbers wrap 65535 -> 0, as every client expects. */
	tftp_build_data_hdr(hdr, sizeof(hdr), (uint16_t)block);
	srv->tx.send(srv->tx.ctx, x->sock, &x->peer, x->local_ip, hdr, sizeof(hdr),
		     len ? x->file->data + off : NULL, len);
	srv->stats.data_sent++;
	srv->stats.bytes_sent += len;
}

static void arm(struct tftp_xfer *x, mono_t now)
{
	x->sent_at = now;
	timerq_set(&x->srv->timers, &x->timer, now + x->rto);
}

/* Hands what a transfer owes to the pacer: a client that retried (or whose
 * packet we know was lost) goes to the retry queue, ahead of all fresh
 * data; fresh data is ordered by when its client's timer would fire. */
static void enqueue(struct tftp_xfer *x, bool retry, mono_t now)
{
	struct tftp_server *srv = x->srv;

	timerq_cancel(&srv->timers, &x->timer);
	sched_owe(&srv->sched, &x->sched, owed_bytes(x));
	sched_push(&srv->sched, &x->sched, retry, now + x->client_timeout);
}

/* Queues blocks acked+1 .. acked+window (RFC 7440; window 1 is RFC 1350). */
static void send_window(struct tftp_xfer *x, bool retry, mono_t now)
{
	uint64_t last = x->acked + x->window;

	if (last > x->nblocks)
		last = x->nblocks;
	x->owe_next = x->acked + 1;
	x->owe_end = last;
	enqueue(x, retry, now);
}

static void send_first(struct tftp_xfer *x, bool retry, mono_t now)
{
	if (x->state == XS_OACK) {
		x->owe_oack = true;
		enqueue(x, retry, now);
	} else {
		send_window(x, retry, now);
	}
}

static size_t next_cost(const struct tftp_xfer *x)
{
	if (x->owe_oack)
		return sched_wire_cost(64);
	uint64_t off = (x->owe_next - 1) * x->blksize;
	size_t len = off < x->file->size ? x->file->size - off : 0;

	return sched_wire_cost(TFTP_HDR + (len < x->blksize ? len : x->blksize));
}

/* Sends the transfer's next owed packet; when its window is out, starts the
 * retransmit timer (from when the last packet actually left). */
static void send_next(struct tftp_xfer *x, mono_t now)
{
	struct tftp_server *srv = x->srv;

	if (x->owe_oack) {
		uint8_t buf[128];
		size_t n = tftp_build_oack(buf, sizeof(buf), &x->oack);
		x->owe_oack = false;
		srv->tx.send(srv->tx.ctx, x->sock, &x->peer, x->local_ip, buf, n, NULL, 0);
	} else {
		send_block(x, x->owe_next);
		if (x->owe_next > x->sent)
			x->sent = x->owe_next;
		x->owe_next++;
	}
	sched_owe(&srv->sched, &x->sched, owed_bytes(x));
	if (!x->owe_oack && x->owe_next > x->owe_end) {
		sched_remove(&srv->sched, &x->sched);
		arm(x, now);
	}
}

static bool admit_pending(struct tftp_server *srv, mono_t now);

/* The pacer: one packet at a time, while the token bucket allows. What it
 * admits from the waiting lines is sent in the same turn: nothing else may
 * come to wake it for them. */
static void pacer_run(struct tftp_server *srv, mono_t now)
{
	struct sched_item *it;

	do {
		while ((it = sched_peek(&srv->sched)) != NULL) {
			struct tftp_xfer *x = (struct tftp_xfer *)((char *)it -
								   offsetof(struct tftp_xfer, sched));
			if (it->ops) { /* another protocol's turn (HTTP) */
				if (!sched_take(&srv->sched, it->ops->cost(it), now))
					break;
				it->ops->serve(it, now);
				continue;
			}
			if (!sched_take(&srv->sched, next_cost(x), now))
				break;
			send_next(x, now);
		}
	} while (admit_pending(srv, now));
}

/* Jacobson/Karels, RFC 6298: rto = srtt + 4 rttvar, within the bounds. */
static void rtt_sample(struct tftp_xfer *x, mono_t rtt, mono_t now)
{
	const struct conf_tftp *cfg = &x->srv->cfg;
	mono_t lo = MONO_MS(cfg->rto_min_ms), hi = MONO_MS(cfg->rto_max_ms);

	sched_on_rtt(&x->srv->sched, rtt, now);
	if (x->srtt == 0) {
		x->srtt = rtt;
		x->rttvar = rtt / 2;
	} else {
		mono_t err = rtt > x->srtt ? rtt - x->srtt : x->srtt - rtt;
		x->rttvar += (err - x->rttvar) / 4;
		x->srtt += (rtt - x->srtt) / 8;
	}
	x->rto = x->srtt + 4 * x->rttvar;
	x->rto = x->rto < lo ? lo : x->rto > hi ? hi : x->rto;
}

static void xfer_timeout(struct timer *t, mono_t now)
{
	struct tftp_xfer *x = (struct tftp_xfer *)((char *)t - offsetof(struct tftp_xfer, timer));
	struct tftp_server *srv = x->srv;
	mono_t hi = MONO_MS(srv->cfg.rto_max_ms);

	if (x->unknown && x->tries >= UNKNOWN_RETRIES) {
		/* Most likely a spoofed request: nobody to tell, nothing to log. */
		srv->stats.unanswered++;
		xfer_retire(x, now);
		return;
	}
	if (x->tries >= srv->cfg.retries) {
		char peer[NETADDR_STRLEN];
		log_limited(&srv->rl_giveup, now, LOG_LVL_INFO,
			    "tftp: %s: no answer after %u tries, giving up at block %llu of %llu",
			    netaddr_str(&x->peer, peer), x->tries, (unsigned long long)x->acked,
			    (unsigned long long)x->nblocks);
		send_error(srv, x->sock, &x->peer, x->local_ip, TFTP_EUNDEF, "timeout");
		srv->stats.timed_out++;
		if (x->node_kind)
			srv->ev.xfer(srv->ev.ctx, NODE_XFER_ABANDON, x->node_kind, &x->peer.ip,
				     x->acked * x->blksize, now);
		xfer_retire(x, now);
		return;
	}
	x->tries++;
	x->rto = x->rto * 2 > hi ? hi : x->rto * 2;
	x->rexmitted = true;
	srv->stats.retransmits++;
	if (x->node_kind)
		srv->ev.xfer(srv->ev.ctx, NODE_XFER_RETRY, x->node_kind, &x->peer.ip, 0, now);
	sched_on_loss(&srv->sched);
	send_first(x, true, now);
}

/* Picks the options the OACK answers: only those asked, never larger than
 * asked, `timeout` unchanged (U-Boot fails otherwise). */
static void negotiate(const struct tftp_server *srv, const struct tftp_opts *ask,
		      uint64_t size, struct tftp_opts *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (ask->has_blksize) {
		ans->has_blksize = true;
		ans->blksize = ask->blksize < srv->cfg.blksize_max ? ask->blksize
								     : srv->cfg.blksize_max;
	}
	if (ask->has_tsize) {
		ans->has_tsize = true;
		ans->tsize = size;
	}
	if (ask->has_timeout) {
		ans->has_timeout = true;
		ans->timeout = ask->timeout;
	}
	if (ask->has_windowsize) {
		ans->has_windowsize = true;
		ans->windowsize = ask->windowsize < srv->cfg.windowsize_max
					  ? ask->windowsize
					  : srv->cfg.windowsize_max;
	}
}

/* Transfer sockets in turn, but never the one this client port's previous
 * transfer used (tftp_tid.h): to a strict client its packets are stale. */
static unsigned pick_sock(struct tftp_server *srv, const struct netaddr *peer, mono_t now)
{
	unsigned n = srv->cfg.transfer_sockets;
	unsigned sock = srv->next_sock++ % n;

	if (n > 1 && tid_recall(&srv->tids, peer, now) == (int)sock)
		sock = (sock + 1) % n;
	return sock;
}

static struct tftp_xfer *xfer_new(struct tftp_server *srv, const struct netaddr *peer,
				  struct ipaddr local_ip, const struct file_view *f,
				  const struct tftp_opts *ask, bool unknown, mono_t now)
{
	struct tftp_xfer *x = calloc(1, sizeof(*x));
	mono_t rto = MONO_MS(srv->cfg.rto_initial_ms);

	if (x == NULL)
		return NULL;
	x->srv = srv;
	x->peer = *peer;
	x->local_ip = local_ip;
	x->unknown = unknown;
	srv->stats.unknown += unknown;
	x->sock = (uint8_t)pick_sock(srv, peer, now);
	x->file = f;
	negotiate(srv, ask, f->size, &x->oack);
	x->state = tftp_opts_any(ask) ? XS_OACK : XS_DATA;
	x->blksize = x->oack.has_blksize ? (uint16_t)x->oack.blksize : TFTP_BLKSIZE_DEFAULT;
	x->window = x->oack.has_windowsize ? (uint16_t)x->oack.windowsize : 1;
	x->nblocks = f->size / x->blksize + 1;
	/* The client's own timeout (RFC 2349) bounds our first guess, and
	 * tells the scheduler when that client would retry. */
	if (ask->has_timeout && MONO_SEC(ask->timeout) < rto)
		rto = MONO_SEC(ask->timeout);
	x->rto = rto;
	x->client_timeout = ask->has_timeout ? MONO_SEC(ask->timeout)
					     : MONO_MS(srv->cfg.client_timeout_ms);
	x->owe_next = 1;
	timer_init(&x->timer, xfer_timeout);
	sched_item_init(&x->sched);
	x->hnext = *bucket(srv, peer);
	*bucket(srv, peer) = x;
	srv->stats.active++;
	srv->stats.started++;
	return x;
}

/* `charge`: the ERROR is for an unknown source whose request has not been
 * paid for by its admission. */
static void refuse_open(struct tftp_server *srv, const struct netaddr *peer, struct ipaddr local_ip,
			const char *name, int err, bool charge, mono_t now)
{
	char p[NETADDR_STRLEN];
	enum tftp_errcode code = TFTP_EACCESS;
	const char *msg;

	switch (err) {
	case -ENOENT: code = TFTP_ENOTFOUND; msg = "file not found"; break;
	case -EACCES: msg = "permission denied"; break;
	case -EISDIR: msg = "not a regular file"; break;
	case -ENAMETOOLONG: msg = "file name too long"; break;
	case -EXDEV: msg = "outside the TFTP root"; break;
	case -EINVAL: msg = "invalid file name"; break;
	default: code = TFTP_EUNDEF; msg = "cannot read file"; break;
	}
	srv->stats.refused++;
	log_limited(&srv->rl_refuse, now, LOG_LVL_INFO, "tftp: %s: refused '%.64s': %s",
		    netaddr_str(peer, p), name, msg);
	reply_error(srv, 0, peer, local_ip, code, msg, charge, now);
}

/* A repeated RRQ from the same client port means our first reply was lost
 * or is late: answer it again, once per round trip. Anything else from that
 * port is a new transfer replacing the old one. */
static uint32_t request_hash(const uint8_t *buf, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 16777619u;
	return h;
}

static bool repeated_request(struct tftp_xfer *x, uint32_t hash, mono_t now)
{
	mono_t stalled = 4 * x->rto > MONO_SEC(2) ? 4 * x->rto : MONO_SEC(2);

	/* A different request from the same port (EDK2's real RRQ after its
	 * size probe, before the probe's ERROR 8 arrived) is a new transfer. */
	if (hash != x->request_hash)
		return false;
	if (x->acked == 0 && !(x->state == XS_DATA && x->sent > 1)) {
		if (now - x->sent_at >= (x->srtt ? x->srtt : MONO_MS(x->srv->cfg.rto_min_ms))) {
			x->srv->stats.quick_resends++;
			send_first(x, true, now);
		}
		return true;
	}
	/* Under way: a copy the client sent before our first reply reached it,
	 * arriving late (its request waited for admission, or we were busy).
	 * Starting over would move the client to another port mid-download,
	 * and a strict one would never hear from us again. Only a transfer
	 * stalled for long is one the client gave up and now asks again. */
	if (now - x->progress_at < stalled) {
		x->srv->stats.stray++;
		return true;
	}
	return false;
}

/* The node state hears of a transfer's start once, and of its end or
 * retransmissions only if the file is one it follows. */
static uint8_t node_start(struct tftp_server *srv, const struct netaddr *peer, const struct rrq *r,
			  uint64_t size, mono_t now)
{
	char name[256];
	size_t n = r->name_len < sizeof(name) - 1 ? r->name_len : sizeof(name) - 1;

	memcpy(name, r->name, n);
	name[n] = '\0';
	return srv->ev.xfer_start(srv->ev.ctx, NODE_TFTP, &peer->ip, name, size, now);
}

static void start_transfer(struct tftp_server *srv, const struct netaddr *peer,
			   struct ipaddr local_ip, const struct rrq *r, mono_t now)
{
	const struct file_view *f;
	struct tftp_xfer *x;
	int err;

	err = files_open(srv->files, r->name, r->name_len, r->mode == TFTP_MODE_NETASCII,
			      &local_ip, &peer->ip, &f);
	if (err < 0) {
		refuse_open(srv, peer, local_ip, r->name, err, false, now);
		return;
	}
	x = xfer_new(srv, peer, local_ip, f, &r->opts, r->unknown, now);
	if (x == NULL) {
		files_put(srv->files, f, now);
		send_error(srv, 0, peer, local_ip, TFTP_EUNDEF, "out of memory");
		return;
	}
	x->request_hash = r->hash;
	x->progress_at = now;
	if (srv->ev.xfer_start)
		x->node_kind = node_start(srv, peer, r, f->size, now);
	if (srv->next_adapt == MONO_NEVER && srv->cfg.link_rate != 0)
		srv->next_adapt = now;
	if (log_get_level() >= LOG_LVL_DEBUG) {
		char p[NETADDR_STRLEN];
		log_debug("tftp: %s: sending '%.*s' (%zu bytes, blksize %u, window %u)",
			  netaddr_str(peer, p), (int)r->name_len, r->name,
			  f->size, x->blksize, x->window);
	}
	send_first(x, false, now);
}

/* Admission (docs/SCHEDULER.md): a new transfer starts only while the
 * data already queued drains within half a client timeout, so every
 * admitted client keeps meeting its deadline. The others wait, unanswered,
 * in arrival order: an unanswered RRQ costs a client a cheap retry, a
 * stalled transfer costs it the boot. */
static bool must_defer(const struct tftp_server *srv, bool unknown)
{
	/* A known request never waits behind an unknown one. */
	return srv->pending_head != NULL || (unknown && srv->upending_head != NULL) ||
	       sched_backlog_time(&srv->sched) > srv->admit_limit;
}

static void defer(struct tftp_server *srv, const struct netaddr *peer, struct ipaddr local_ip,
		  const struct rrq *r, mono_t now)
{
	struct tftp_xfer *x = calloc(1, sizeof(*x));
	struct rrq *kept = malloc(sizeof(*kept));
	char *name = malloc(r->name_len + 1);

	if (x == NULL || kept == NULL || name == NULL) {
		free(x), free(kept), free(name);
		srv->stats.busy++;
		return;
	}
	memcpy(name, r->name, r->name_len);
	name[r->name_len] = '\0';
	*kept = *r;
	kept->name = name;
	x->pending = kept;
	x->srv = srv;
	x->peer = *peer;
	x->local_ip = local_ip;
	x->state = XS_PENDING;
	x->unknown = r->unknown;
	x->requested_at = now;
	timer_init(&x->timer, xfer_timeout);
	sched_item_init(&x->sched);
	x->hnext = *bucket(srv, peer);
	*bucket(srv, peer) = x;
	if (r->unknown) {
		*srv->upending_tail = x;
		srv->upending_tail = &x->pending_next;
		srv->stats.unknown++;
	} else {
		*srv->pending_tail = x;
		srv->pending_tail = &x->pending_next;
	}
	srv->stats.pending++;
	srv->stats.deferred++;
}

/* Known requests first; an unknown one also needs a token (a client that
 * answers gives its token back, so without a flood the line moves at the
 * speed of round trips). */
static bool admit_pending(struct tftp_server *srv, mono_t now)
{
	struct tftp_xfer *x;
	bool admitted = false;

	while (sched_backlog_time(&srv->sched) <= srv->admit_limit) {
		x = srv->pending_head ? srv->pending_head : srv->upending_head;
		if (x == NULL)
			break;
		/* Known meanwhile (its address answered in another transfer):
		 * no token needed. */
		if (x->unknown && source_known(srv, &x->peer.ip))
			x->pending->unknown = false;
		else if (x->unknown && !token_bucket_take(&srv->unknown, now))
			break;
		xfer_retire(x, now); /* unlinks it; freed at the safe point */
		start_transfer(srv, &x->peer, x->local_ip, x->pending, now);
		admitted = true;
	}
	return admitted;
}

/* Room for one more transfer. A known request may take the place of the
 * unknown one that has waited longest; an unknown one must fit in its
 * share, and never takes a known one's place. */
static bool admit(struct tftp_server *srv, bool unknown, mono_t now)
{
	bool full = srv->stats.active + srv->stats.pending >= srv->cfg.max_transfers;

	if (full && !unknown && srv->upending_head != NULL) {
		srv->stats.displaced++;
		xfer_retire(srv->upending_head, now);
		full = false;
	}
	if (full) {
		/* Silence, not an ERROR: a PXE ROM retries a silent request but
		 * gives up for good on an error. */
		srv->stats.busy++;
		return false;
	}
	if (unknown && srv->stats.unknown >= srv->unknown_max) {
		/* The share is full. Under a flood of spoofed requests the line
		 * is theirs whatever we do; the one that waited longest makes
		 * room, so the line holds the most recent requests, and a
		 * client's is as likely as any to be admitted. */
		srv->stats.unknown_limited++;
		if (srv->upending_head == NULL)
			return false;
		xfer_retire(srv->upending_head, now);
	}
	return true;
}

static void handle_rrq(struct tftp_server *srv, const struct netaddr *peer, struct ipaddr local_ip,
		       const struct tftp_pkt *pkt, const uint8_t *buf, size_t len, mono_t now)
{
	struct tftp_xfer *x = xfer_find(srv, peer);
	struct rrq r = {pkt->req.name, pkt->req.name_len, pkt->req.mode, pkt->req.opts,
			request_hash(buf, len), !source_known(srv, &peer->ip)};

	srv->stats.requests++;
	if (x != NULL) {
		if (x->state == XS_PENDING || repeated_request(x, r.hash, now))
			return;
		xfer_retire(x, now);
	}
	if (pkt->req.mode == TFTP_MODE_OTHER) {
		srv->stats.refused++;
		reply_error(srv, 0, peer, local_ip, TFTP_EBADOP, "only octet and netascii modes",
			    r.unknown, now);
		return;
	}
	if (r.name_len > TFTP_NAME_MAX) { /* refused now: a waiting request keeps its name */
		refuse_open(srv, peer, local_ip, r.name, -ENAMETOOLONG, r.unknown, now);
		return;
	}
	if (!admit(srv, r.unknown, now))
		return;
	/* An unknown request without a token waits for one: tokens come back
	 * as admitted clients answer. */
	if (must_defer(srv, r.unknown) || (r.unknown && !token_bucket_take(&srv->unknown, now)))
		defer(srv, peer, local_ip, &r, now);
	else
		start_transfer(srv, peer, local_ip, &r, now);
}

static void request(struct tftp_server *srv, const struct netaddr *peer, struct ipaddr local_ip,
		    const uint8_t *buf, size_t len, mono_t now)
{
	struct tftp_pkt pkt;
	char p[NETADDR_STRLEN];

	/* Every datagram here costs its address a token: one address cannot
	 * take more than its share, whatever it sends. */
	if (!srclimit_take(&srv->sources, source_key(&peer->ip), now)) {
		srv->stats.source_limited++;
		return;
	}
	if (tftp_parse(buf, len, &pkt) < 0 || (pkt.op != TFTP_RRQ && pkt.op != TFTP_WRQ)) {
		srv->stats.malformed++;
		log_limited(&srv->rl_bad, now, LOG_LVL_INFO, "tftp: %s: malformed request",
			    netaddr_str(peer, p));
		if (len >= 2 && !(len >= 2 && buf[0] == 0 && buf[1] == TFTP_ERROR))
			reply_error(srv, 0, peer, local_ip, TFTP_EBADOP, "malformed request",
				    !source_known(srv, &peer->ip), now);
		return;
	}
	if (pkt.op == TFTP_WRQ) {
		srv->stats.refused++;
		reply_error(srv, 0, peer, local_ip, TFTP_EACCESS, "this server is read-only",
			    !source_known(srv, &peer->ip), now);
		return;
	}
	handle_rrq(srv, peer, local_ip, &pkt, buf, len, now);
}

/* Every entry point ends the same way: the pacer sends what the tokens
 * allow, retired transfers are freed. */
static void finish(struct tftp_server *srv, mono_t now)
{
	pacer_run(srv, now);
	reap(srv);
}

void tftp_server_request(struct tftp_server *srv, const struct netaddr *peer, struct ipaddr local_ip,
			 const uint8_t *buf, size_t len, mono_t now)
{
	request(srv, peer, local_ip, buf, len, now);
	finish(srv, now);
}

/* Maps a 16-bit ACK onto the unwrapped block range [acked, sent]. */
static bool ack_to_block(const struct tftp_xfer *x, uint16_t ack, uint64_t *block)
{
	uint64_t b = x->acked + (uint16_t)(ack - (uint16_t)x->acked);

	if (b > x->sent)
		return false;
	*block = b;
	return true;
}

static void handle_data_ack(struct tftp_xfer *x, uint16_t ack, mono_t arrived, mono_t now)
{
	struct tftp_server *srv = x->srv;
	uint64_t b;

	if (!ack_to_block(x, ack, &b))
		return; /* stale, or from a previous wrap */
	if (b == x->acked) {
		/* A repeated ACK: the client saw a gap or timed out. Resend once
		 * per window, and only if the ACK cannot be an echo of an older
		 * packet (RFC 1123 4.2.3.1, Sorcerer's Apprentice). */
		mono_t guard = x->srtt ? x->srtt : MONO_MS(srv->cfg.rto_min_ms);
		if (!x->quick_spent && now - x->sent_at >= guard && x->sent > x->acked) {
			srv->stats.quick_resends++;
			sched_on_loss(&srv->sched);
			x->rexmitted = true;
			send_window(x, true, now);
			x->quick_spent = true;
		}
		return;
	}
	vouch(x, now);
	if (b == x->sent && !x->rexmitted)
		rtt_sample(x, arrived - x->sent_at, now);
	sched_on_acked(&srv->sched, (size_t)(b - x->acked) * block_cost(x));
	if (b < x->sent)
		sched_on_loss(&srv->sched); /* the window stopped short: a gap */
	x->acked = b;
	x->progress_at = now;
	x->tries = 0;
	x->rexmitted = false;
	x->quick_spent = false;
	if (x->acked == x->nblocks) {
		srv->stats.completed++;
		if (x->node_kind)
			srv->ev.xfer(srv->ev.ctx, NODE_XFER_DONE, x->node_kind, &x->peer.ip,
				     x->file->size, now);
		xfer_retire(x, now);
		return;
	}
	/* Either the window is done, or the client acknowledged up to a gap
	 * and the window restarts after it (RFC 7440): a loss, so served
	 * ahead of fresh data. */
	send_window(x, b < x->sent, now);
}

static void handle_ack(struct tftp_xfer *x, uint16_t ack, mono_t arrived, mono_t now)
{
	if (x->state == XS_OACK) {
		if (ack != 0)
			return;
		vouch(x, now);
		if (!x->rexmitted)
			rtt_sample(x, arrived - x->sent_at, now);
		sched_on_acked(&x->srv->sched, sched_wire_cost(64));
		x->progress_at = now;
		x->state = XS_DATA;
		x->tries = 0;
		x->rexmitted = false;
		send_window(x, false, now);
		return;
	}
	handle_data_ack(x, ack, arrived, now);
}

static void input(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
		  struct ipaddr local_ip, const uint8_t *buf, size_t len, mono_t arrived, mono_t now)
{
	struct tftp_xfer *x = xfer_find(srv, peer);
	struct tftp_pkt pkt;

	if (tftp_parse(buf, len, &pkt) < 0) {
		srv->stats.malformed++;
		return;
	}
	if (x != NULL && (x->state == XS_PENDING || x->sock != sock || !ipaddr_eq(&x->local_ip, &local_ip))) {
		/* The client's live (or waiting) transfer talks through another
		 * port: this is a late packet of its previous one. An ERROR here
		 * could end the live one in firmware that does not check the
		 * source port. */
		srv->stats.stray++;
		return;
	}
	if (x == NULL) {
		/* RFC 1350: a wrong TID gets ERROR 5; the real transfer goes on. */
		srv->stats.unknown_tid++;
		if (pkt.op != TFTP_ERROR)
			reply_error(srv, sock, peer, local_ip, TFTP_EBADID, "unknown transfer ID",
				    !source_known(srv, &peer->ip), now);
		return;
	}
	switch (pkt.op) {
	case TFTP_ACK:
		handle_ack(x, pkt.ack.block, arrived, now);
		break;
	case TFTP_ERROR:
		/* EDK2 ends its size probe with ERROR 8: normal, not noise. The
		 * client answered from where it said it was, to the port our
		 * OACK came from, as surely as with an ACK: its real request,
		 * next, is a known one. */
		srv->stats.aborted++;
		vouch(x, now);
		xfer_retire(x, now);
		break;
	default:
		/* A DATA, RRQ, WRQ or OACK from the client's own port: garbage,
		 * not a reason to end the boot. An ERROR is fatal to PXE firmware,
		 * so the transfer goes on and says nothing. */
		srv->stats.stray++;
		break;
	}
}

void tftp_server_input(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
		       struct ipaddr local_ip, const uint8_t *buf, size_t len, mono_t arrived,
		       mono_t now)
{
	input(srv, sock, peer, local_ip, buf, len, arrived < now ? arrived : now, now);
	finish(srv, now);
}

void tftp_server_tick(struct tftp_server *srv, mono_t now)
{
	timerq_run(&srv->timers, now);
	if (now >= srv->next_adapt)
		srv->next_adapt =
		    sched_adapt(&srv->sched, srv->stats.active == 0 && srv->flows == 0, now);
	if (now >= srv->next_expire) {
		files_expire(srv->files, now);
		srv->next_expire = files_count(srv->files) ? now + MONO_SEC(1) : MONO_NEVER;
	}
	finish(srv, now);
}

mono_t tftp_server_next_deadline(const struct tftp_server *srv)
{
	mono_t t = timerq_next(&srv->timers);
	mono_t w = sched_wake(&srv->sched);

	if (w < t)
		t = w;
	/* Unknown requests waiting only for a token: when it comes. */
	if (srv->upending_head && !srv->pending_head &&
	    sched_backlog_time(&srv->sched) <= srv->admit_limit) {
		w = token_bucket_ready(&srv->unknown);
		if (w < t)
			t = w;
	}
	if (srv->next_adapt < t)
		t = srv->next_adapt;
	return t < srv->next_expire ? t : srv->next_expire;
}

int tftp_server_pace_reserve(struct tftp_server *srv, uint32_t items)
{
	return sched_reserve(&srv->sched, items);
}

void tftp_server_pace(struct tftp_server *srv, struct sched_item *it, mono_t deadline, mono_t now)
{
	sched_push(&srv->sched, it, false, deadline);
	sched_kick(&srv->sched, now);
}

void tftp_server_unpace(struct tftp_server *srv, struct sched_item *it)
{
	sched_remove(&srv->sched, it);
}

void tftp_server_flow(struct tftp_server *srv, bool start, mono_t now)
{
	if (start) {
		/* The learned rate wakes from idle as for a TFTP transfer. */
		if (srv->flows++ == 0 && srv->stats.active == 0)
			srv->next_adapt = now;
	} else if (srv->flows > 0) {
		srv->flows--;
	}
}

void tftp_server_delivered(struct tftp_server *srv, uint64_t wire_bytes, mono_t rtt, mono_t now)
{
	if (wire_bytes)
		sched_on_acked(&srv->sched, wire_bytes);
	if (rtt)
		sched_on_rtt(&srv->sched, rtt, now);
}

void tftp_server_set_link_speed(struct tftp_server *srv, uint64_t bps)
{
	sched_set_ceiling(&srv->sched, bps);
}

uint64_t tftp_server_rate(const struct tftp_server *srv)
{
	return sched_rate_bps(&srv->sched);
}

const struct tftp_stats *tftp_server_stats(const struct tftp_server *srv)
{
	return &srv->stats;
}

void tftp_server_stats_visit(const struct tftp_server *srv, const struct stat_visitor *v)
{
	const struct tftp_stats *t = &srv->stats;

	stat_counter(v, "requests", t->requests, "RRQs seen");
	stat_counter(v, "started", t->started, "transfers begun");
	stat_counter(v, "completed", t->completed, "transfers whose last block was acknowledged");
	stat_counter(v, "timed_out", t->timed_out, "transfers given up after the retries");
	stat_counter(v, "aborted", t->aborted, "transfers the client ended with an ERROR");
	stat_counter(v, "refused", t->refused, "requests answered with an ERROR");
	stat_counter(v, "busy", t->busy, "requests ignored at max_transfers");
	stat_counter(v, "malformed", t->malformed, "unparsable datagrams");
	stat_counter(v, "unknown_tid", t->unknown_tid, "datagrams for no transfer (ERROR 5)");
	stat_counter(v, "stray", t->stray, "stray packets and late request copies, ignored");
	stat_counter(v, "deferred", t->deferred, "requests held back by admission control");
	stat_counter(v, "source_limited", t->source_limited,
		     "datagrams to port 69 over their address's rate, ignored");
	stat_counter(v, "unknown_limited", t->unknown_limited,
		     "requests of unknown sources over their share or rate, ignored");
	stat_counter(v, "displaced", t->displaced,
		     "waiting requests of unknown sources dropped for a known one");
	stat_counter(v, "errors_withheld", t->errors_withheld,
		     "ERRORs to unknown sources not sent (over their rate)");
	stat_counter(v, "unanswered", t->unanswered,
		     "transfers to unknown sources that never answered, ended quietly");
	stat_counter(v, "data_sent", t->data_sent, "DATA datagrams, retransmissions included");
	stat_counter(v, "bytes_sent", t->bytes_sent, "payload bytes sent");
	stat_counter(v, "retransmits", t->retransmits, "DATA or OACK resent by the timer");
	stat_counter(v, "quick_resends", t->quick_resends, "windows resent on a repeated ACK");
	stat_gauge(v, "active", t->active, "transfers under way");
	stat_gauge(v, "pending", t->pending, "requests waiting for admission");
	stat_gauge(v, "unknown", t->unknown, "transfers and waiting requests of unknown sources");
	stat_gauge(v, "sources", srv->sources.count, "addresses in the per-source table");
	stat_gauge(v, "rate_bps", sched_rate_bps(&srv->sched), "the pacer's rate, bits/s");
	stat_gauge(v, "backlog_bytes", srv->sched.backlog, "wire bytes owed to the pacer");
}

/* Transfers and waiting requests unknown sources may hold. */
static uint32_t unknown_max(const struct conf_tftp *cfg)
{
	uint32_t n = (uint32_t)((uint64_t)cfg->max_transfers * cfg->unknown_share / 100);

	return n ? n : 1;
}

struct tftp_server *tftp_server_new(const struct conf_tftp *cfg, struct files *files,
				    const struct tftp_tx *tx)
{
	struct tftp_server *srv = calloc(1, sizeof(*srv));
	uint32_t n = 64;

	if (srv == NULL)
		return NULL;
	while (n < cfg->max_transfers && n < (1u << 24))
		n <<= 1;
	srv->nbuckets = n;
	if (getrandom(&srv->hash_seed, sizeof(srv->hash_seed), GRND_NONBLOCK) < 0)
		srv->hash_seed = (uint32_t)clock_mono_now();
	srv->cfg = *cfg;
	srv->files = files;
	srv->tx = *tx;
	srv->rl_refuse = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 20);
	srv->rl_bad = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	srv->rl_giveup = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 20);
	srv->next_expire = MONO_NEVER;
	srv->pending_tail = &srv->pending_head;
	srv->upending_tail = &srv->upending_head;
	srv->unknown_max = unknown_max(cfg);
	token_bucket_init(&srv->unknown, cfg->unknown_rate, cfg->unknown_burst, 0);
	timerq_init(&srv->timers);
	/* Room for every transfer's timer and place in the pacer's queues up
	 * front: arming a timer or queueing a window never fails later, so no
	 * transfer is ever left stalled without one. */
	srv->buckets = calloc(n, sizeof(*srv->buckets));
	if (srv->buckets == NULL ||
	    tid_memory_init(&srv->tids, 2 * cfg->max_transfers, TID_LINGER) < 0 ||
	    srclimit_init(&srv->sources,
			  cfg->max_transfers > SOURCES_MIN ? cfg->max_transfers : SOURCES_MIN,
			  cfg->source_rate, cfg->source_burst) < 0 ||
	    timerq_reserve(&srv->timers, cfg->max_transfers) < 0 ||
	    sched_init(&srv->sched, cfg->link_rate, cfg->pacing_burst, cfg->max_transfers) < 0) {
		tftp_server_free(srv, 0);
		return NULL;
	}
	srv->admit_limit = MONO_MS(cfg->client_timeout_ms) / 2;
	srv->next_adapt = cfg->link_rate != 0 ? 0 : MONO_NEVER;
	return srv;
}

void tftp_server_reconfigure(struct tftp_server *srv, const struct conf_tftp *cfg)
{
	struct conf_tftp *c = &srv->cfg;

	c->blksize_max = cfg->blksize_max;
	c->windowsize_max = cfg->windowsize_max;
	c->retries = cfg->retries;
	c->rto_min_ms = cfg->rto_min_ms;
	c->rto_max_ms = cfg->rto_max_ms;
	c->rto_initial_ms = cfg->rto_initial_ms;
	c->client_timeout_ms = cfg->client_timeout_ms;
	srv->admit_limit = MONO_MS(c->client_timeout_ms) / 2;
	c->source_rate = cfg->source_rate;
	c->source_burst = cfg->source_burst;
	c->unknown_rate = cfg->unknown_rate;
	c->unknown_burst = cfg->unknown_burst;
	c->unknown_share = cfg->unknown_share;
	srclimit_set_rate(&srv->sources, c->source_rate, c->source_burst);
	srv->unknown.rate = c->unknown_rate;
	srv->unknown.burst = c->unknown_burst;
	srv->unknown_max = unknown_max(c);
}

void tftp_server_free(struct tftp_server *srv, mono_t now)
{
	if (srv == NULL)
		return;
	for (uint32_t i = 0; srv->buckets && i < srv->nbuckets; i++)
		while (srv->buckets[i])
			xfer_retire(srv->buckets[i], now);
	reap(srv);
	timerq_fini(&srv->timers);
	sched_fini(&srv->sched);
	tid_memory_fini(&srv->tids);
	srclimit_fini(&srv->sources);
	free(srv->buckets);
	free(srv);
}

uint64_t tftp_server_memory(const struct conf_tftp *cfg)
{
	uint64_t m = cfg->max_transfers;
	/* Each slot at its largest: a waiting request, with the longest name. */
	uint64_t slot = mem_chunk(sizeof(struct tftp_xfer)) + mem_chunk(sizeof(struct rrq)) +
			mem_chunk(TFTP_NAME_MAX + 1);

	return mem_chunk(sizeof(struct tftp_server)) + m * slot +
	       mem_pow2(m, 64) * sizeof(struct tftp_xfer *) + /* buckets */
	       2 * m * sizeof(struct timer *) +		      /* timer and pacer heaps */
	       tid_memory_bytes((uint32_t)(2 * m)) +
	       srclimit_bytes(m > SOURCES_MIN ? (uint32_t)m : SOURCES_MIN);
}

void tftp_server_set_events(struct tftp_server *srv, const struct node_events *ev)
{
	srv->ev = *ev;
}

void tftp_server_set_known(struct tftp_server *srv, const struct tftp_known *known)
{
	srv->known = known ? *known : (struct tftp_known){0};
}
