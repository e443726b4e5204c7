#include "tftp/tftp_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timerq.h"
#include "tftp/tftp_wire.h"

enum xfer_state { XS_OACK, XS_DATA };

/* One transfer. Small on purpose: the file content is shared. */
struct tftp_xfer {
	struct netaddr peer;
	uint32_t local_ip;
	uint8_t sock;
	uint8_t state;
	bool rexmitted;	  /* the outstanding window was resent: no RTT sample (Karn) */
	bool quick_spent; /* the one quick resend for this window was used */
	uint16_t blksize;
	uint16_t window;
	uint16_t tries;
	const struct tftp_file *file;
	uint64_t nblocks; /* blocks in the file: size / blksize + 1 */
	uint64_t acked;	  /* blocks acknowledged (unwrapped) */
	uint64_t sent;	  /* highest block sent (unwrapped) */
	mono_t sent_at;	  /* when the outstanding window (or OACK) went out */
	mono_t rto, srtt, rttvar;
	struct tftp_opts oack; /* what the OACK said, to resend it */
	struct timer timer;
	struct tftp_server *srv;
	struct tftp_xfer *hnext;
	struct tftp_xfer *retired_next;
};

struct tftp_server {
	const struct conf_tftp *cfg;
	struct tftp_files *files;
	struct tftp_tx tx;
	struct timerq timers;
	struct tftp_xfer **buckets;
	uint32_t nbuckets; /* power of two */
	struct tftp_xfer *retired;
	struct tftp_stats stats;
	struct ratelimit rl_refuse;
	struct ratelimit rl_bad;
	mono_t next_expire;
};

static uint32_t peer_hash(const struct netaddr *p)
{
	uint64_t k = (uint64_t)p->ip << 16 | p->port;

	k *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(k >> 32);
}

static struct tftp_xfer **bucket(struct tftp_server *srv, const struct netaddr *p)
{
	return &srv->buckets[peer_hash(p) & (srv->nbuckets - 1)];
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

/* Ends a transfer now; its memory is freed at the end of the tick or input,
 * never inside the code still using it. */
static void xfer_retire(struct tftp_xfer *x, mono_t now)
{
	struct tftp_server *srv = x->srv;

	timerq_cancel(&srv->timers, &x->timer);
	xfer_unlink(srv, x);
	tftp_files_put(srv->files, x->file, now);
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
		free(x);
	}
}

static void send_error(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
		       uint32_t local_ip, enum tftp_errcode code, const char *msg)
{
	uint8_t buf[128];
	size_t n = tftp_build_error(buf, sizeof(buf), code, msg);

	srv->tx.send(srv->tx.ctx, sock, peer, local_ip, buf, n, NULL, 0);
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
	x->quick_spent = false;
	timerq_set(&x->srv->timers, &x->timer, now + x->rto);
}

/* Sends blocks acked+1 .. acked+window (RFC 7440; window 1 is RFC 1350). */
static void send_window(struct tftp_xfer *x, mono_t now)
{
	uint64_t last = x->acked + x->window;

	if (last > x->nblocks)
		last = x->nblocks;
	for (uint64_t b = x->acked + 1; b <= last; b++)
		send_block(x, b);
	x->sent = last;
	arm(x, now);
}

static void send_oack(struct tftp_xfer *x, mono_t now)
{
	uint8_t buf[128];
	size_t n = tftp_build_oack(buf, sizeof(buf), &x->oack);

	x->srv->tx.send(x->srv->tx.ctx, x->sock, &x->peer, x->local_ip, buf, n, NULL, 0);
	arm(x, now);
}

static void send_first(struct tftp_xfer *x, mono_t now)
{
	if (x->state == XS_OACK)
		send_oack(x, now);
	else
		send_window(x, now);
}

/* Jacobson/Karels, RFC 6298: rto = srtt + 4 rttvar, within the bounds. */
static void rtt_sample(struct tftp_xfer *x, mono_t rtt)
{
	const struct conf_tftp *cfg = x->srv->cfg;
	mono_t lo = MONO_MS(cfg->rto_min_ms), hi = MONO_MS(cfg->rto_max_ms);

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
	mono_t hi = MONO_MS(srv->cfg->rto_max_ms);

	if (x->tries >= srv->cfg->retries) {
		char peer[NETADDR_STRLEN];
		log_info("tftp: %s: no answer after %u tries, giving up at block %llu of %llu",
			 netaddr_str(&x->peer, peer), x->tries, (unsigned long long)x->acked,
			 (unsigned long long)x->nblocks);
		send_error(srv, x->sock, &x->peer, x->local_ip, TFTP_EUNDEF, "timeout");
		srv->stats.timed_out++;
		xfer_retire(x, now);
		return;
	}
	x->tries++;
	x->rto = x->rto * 2 > hi ? hi : x->rto * 2;
	x->rexmitted = true;
	srv->stats.retransmits++;
	send_first(x, now);
}

/* Picks the options the OACK answers: only those asked, never larger than
 * asked, `timeout` unchanged (U-Boot fails otherwise). */
static void negotiate(const struct tftp_server *srv, const struct tftp_opts *ask,
		      uint64_t size, struct tftp_opts *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (ask->has_blksize) {
		ans->has_blksize = true;
		ans->blksize = ask->blksize < srv->cfg->blksize_max ? ask->blksize
								     : srv->cfg->blksize_max;
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
		ans->windowsize = ask->windowsize < srv->cfg->windowsize_max
					  ? ask->windowsize
					  : srv->cfg->windowsize_max;
	}
}

static unsigned pick_sock(const struct tftp_server *srv, const struct netaddr *peer)
{
	return (peer_hash(peer) >> 8) % srv->cfg->transfer_sockets;
}

static struct tftp_xfer *xfer_new(struct tftp_server *srv, const struct netaddr *peer,
				  uint32_t local_ip, const struct tftp_file *f,
				  const struct tftp_opts *ask)
{
	struct tftp_xfer *x = calloc(1, sizeof(*x));
	mono_t rto = MONO_MS(srv->cfg->rto_initial_ms);

	if (x == NULL)
		return NULL;
	x->srv = srv;
	x->peer = *peer;
	x->local_ip = local_ip;
	x->sock = (uint8_t)pick_sock(srv, peer);
	x->file = f;
	negotiate(srv, ask, f->size, &x->oack);
	x->state = tftp_opts_any(ask) ? XS_OACK : XS_DATA;
	x->blksize = x->oack.has_blksize ? (uint16_t)x->oack.blksize : TFTP_BLKSIZE_DEFAULT;
	x->window = x->oack.has_windowsize ? (uint16_t)x->oack.windowsize : 1;
	x->nblocks = f->size / x->blksize + 1;
	/* The client's own timeout (RFC 2349) bounds our first guess. */
	if (ask->has_timeout && MONO_SEC(ask->timeout) < rto)
		rto = MONO_SEC(ask->timeout);
	x->rto = rto;
	timer_init(&x->timer, xfer_timeout);
	x->hnext = *bucket(srv, peer);
	*bucket(srv, peer) = x;
	srv->stats.active++;
	srv->stats.started++;
	return x;
}

static void refuse_open(struct tftp_server *srv, const struct netaddr *peer, uint32_t local_ip,
			const char *name, int err, mono_t now)
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
	send_error(srv, 0, peer, local_ip, code, msg);
}

/* A repeated RRQ from the same client port means our first reply was lost
 * or is late: answer it again, once per round trip. Anything else from that
 * port is a new transfer replacing the old one. */
static bool repeated_request(struct tftp_xfer *x, mono_t now)
{
	if (x->acked > 0 || (x->state == XS_DATA && x->sent > 1))
		return false;
	if (now - x->sent_at >= (x->srtt ? x->srtt : MONO_MS(x->srv->cfg->rto_min_ms))) {
		x->srv->stats.quick_resends++;
		send_first(x, now);
	}
	return true;
}

static void handle_rrq(struct tftp_server *srv, const struct netaddr *peer, uint32_t local_ip,
		       const struct tftp_pkt *pkt, mono_t now)
{
	const struct tftp_file *f;
	struct tftp_xfer *x = xfer_find(srv, peer);
	int err;

	srv->stats.requests++;
	if (x != NULL) {
		if (repeated_request(x, now))
			return;
		xfer_retire(x, now);
	}
	if (pkt->req.mode == TFTP_MODE_OTHER) {
		srv->stats.refused++;
		send_error(srv, 0, peer, local_ip, TFTP_EBADOP, "only octet and netascii modes");
		return;
	}
	if (srv->stats.active >= srv->cfg->max_transfers) {
		/* Silence, not an ERROR: a PXE ROM retries a silent request but
		 * gives up for good on an error. */
		srv->stats.busy++;
		return;
	}
	err = tftp_files_open(srv->files, pkt->req.name, pkt->req.name_len,
			      pkt->req.mode == TFTP_MODE_NETASCII, local_ip, peer->ip, &f);
	if (err < 0) {
		refuse_open(srv, peer, local_ip, pkt->req.name, err, now);
		return;
	}
	x = xfer_new(srv, peer, local_ip, f, &pkt->req.opts);
	if (x == NULL) {
		tftp_files_put(srv->files, f, now);
		send_error(srv, 0, peer, local_ip, TFTP_EUNDEF, "out of memory");
		return;
	}
	send_first(x, now);
}

void tftp_server_request(struct tftp_server *srv, const struct netaddr *peer, uint32_t local_ip,
			 const uint8_t *buf, size_t len, mono_t now)
{
	struct tftp_pkt pkt;
	char p[NETADDR_STRLEN];

	if (tftp_parse(buf, len, &pkt) < 0 || (pkt.op != TFTP_RRQ && pkt.op != TFTP_WRQ)) {
		srv->stats.malformed++;
		log_limited(&srv->rl_bad, now, LOG_LVL_INFO, "tftp: %s: malformed request",
			    netaddr_str(peer, p));
		if (len >= 2 && !(len >= 2 && buf[0] == 0 && buf[1] == TFTP_ERROR))
			send_error(srv, 0, peer, local_ip, TFTP_EBADOP, "malformed request");
		return;
	}
	if (pkt.op == TFTP_WRQ) {
		srv->stats.refused++;
		send_error(srv, 0, peer, local_ip, TFTP_EACCESS, "this server is read-only");
		return;
	}
	handle_rrq(srv, peer, local_ip, &pkt, now);
	reap(srv);
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

static void handle_data_ack(struct tftp_xfer *x, uint16_t ack, mono_t now)
{
	struct tftp_server *srv = x->srv;
	uint64_t b;

	if (!ack_to_block(x, ack, &b))
		return; /* stale, or from a previous wrap */
	if (b == x->acked) {
		/* A repeated ACK: the client saw a gap or timed out. Resend once
		 * per window, and only if the ACK cannot be an echo of an older
		 * packet (RFC 1123 4.2.3.1, Sorcerer's Apprentice). */
		mono_t guard = x->srtt ? x->srtt : MONO_MS(srv->cfg->rto_min_ms);
		if (!x->quick_spent && now - x->sent_at >= guard && x->sent > x->acked) {
			srv->stats.quick_resends++;
			x->rexmitted = true;
			send_window(x, now);
			x->quick_spent = true;
		}
		return;
	}
	if (b == x->sent && !x->rexmitted)
		rtt_sample(x, now - x->sent_at);
	x->acked = b;
	x->tries = 0;
	x->rexmitted = false;
	if (x->acked == x->nblocks) {
		srv->stats.completed++;
		xfer_retire(x, now);
		return;
	}
	/* Either the window is done, or the client acknowledged up to a gap
	 * and the window restarts after it (RFC 7440). */
	send_window(x, now);
}

static void handle_ack(struct tftp_xfer *x, uint16_t ack, mono_t now)
{
	if (x->state == XS_OACK) {
		if (ack != 0)
			return;
		if (!x->rexmitted)
			rtt_sample(x, now - x->sent_at);
		x->state = XS_DATA;
		x->tries = 0;
		x->rexmitted = false;
		send_window(x, now);
		return;
	}
	handle_data_ack(x, ack, now);
}

void tftp_server_input(struct tftp_server *srv, unsigned sock, const struct netaddr *peer,
		       const uint8_t *buf, size_t len, mono_t now)
{
	struct tftp_xfer *x = xfer_find(srv, peer);
	struct tftp_pkt pkt;

	if (tftp_parse(buf, len, &pkt) < 0) {
		srv->stats.malformed++;
		return;
	}
	if (x == NULL || x->sock != sock) {
		/* RFC 1350: a wrong TID gets ERROR 5; the real transfer goes on. */
		srv->stats.unknown_tid++;
		if (pkt.op != TFTP_ERROR)
			send_error(srv, sock, peer, x ? x->local_ip : 0, TFTP_EBADID,
				   "unknown transfer ID");
		return;
	}
	switch (pkt.op) {
	case TFTP_ACK:
		handle_ack(x, pkt.ack.block, now);
		break;
	case TFTP_ERROR:
		/* EDK2 ends its size probe with ERROR 8: normal, not noise. */
		srv->stats.aborted++;
		xfer_retire(x, now);
		break;
	default:
		send_error(srv, sock, peer, x->local_ip, TFTP_EBADOP, "unexpected packet");
		break;
	}
	reap(srv);
}

void tftp_server_tick(struct tftp_server *srv, mono_t now)
{
	timerq_run(&srv->timers, now);
	if (now >= srv->next_expire) {
		tftp_files_expire(srv->files, now);
		srv->next_expire = tftp_files_count(srv->files) ? now + MONO_SEC(1) : MONO_NEVER;
	}
	reap(srv);
}

mono_t tftp_server_next_deadline(const struct tftp_server *srv)
{
	mono_t t = timerq_next(&srv->timers);

	return t < srv->next_expire ? t : srv->next_expire;
}

const struct tftp_stats *tftp_server_stats(const struct tftp_server *srv)
{
	return &srv->stats;
}

struct tftp_server *tftp_server_new(const struct conf_tftp *cfg, struct tftp_files *files,
				    const struct tftp_tx *tx)
{
	struct tftp_server *srv = calloc(1, sizeof(*srv));
	uint32_t n = 64;

	if (srv == NULL)
		return NULL;
	while (n < cfg->max_transfers && n < (1u << 24))
		n <<= 1;
	srv->buckets = calloc(n, sizeof(*srv->buckets));
	if (srv->buckets == NULL) {
		free(srv);
		return NULL;
	}
	srv->nbuckets = n;
	srv->cfg = cfg;
	srv->files = files;
	srv->tx = *tx;
	timerq_init(&srv->timers);
	srv->rl_refuse = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 20);
	srv->rl_bad = (struct ratelimit)RATELIMIT_INIT(MONO_SEC(10), 5);
	srv->next_expire = MONO_NEVER;
	return srv;
}

void tftp_server_free(struct tftp_server *srv, mono_t now)
{
	if (srv == NULL)
		return;
	for (uint32_t i = 0; i < srv->nbuckets; i++)
		while (srv->buckets[i])
			xfer_retire(srv->buckets[i], now);
	reap(srv);
	timerq_fini(&srv->timers);
	free(srv->buckets);
	free(srv);
}
