#include "swarm/swarm_client.h"

#include <string.h>

#include "swarm/swarm_stage.h"
#include "tftp/tftp_wire.h"

/* An RRQ: the name, the mode and four options with their values. */
#define RRQ_BUF (TFTP_NAME_MAX + 128)

const char *swarm_fail_name(enum swarm_fail f)
{
	switch (f) {
	case SWARM_FAIL_NONE: return "none";
	case SWARM_FAIL_TIMEOUT: return "timeout";
	case SWARM_FAIL_ERROR: return "error";
	case SWARM_FAIL_MISMATCH: return "mismatch";
	case SWARM_FAIL_OACK: return "bad_oack";
	case SWARM_FAIL_LOCAL: return "local";
	case SWARM_FAIL_UNFINISHED: return "unfinished";
	case SWARM_FAIL_DHCP: return "dhcp_timeout";
	case SWARM_FAIL_NAK: return "dhcp_nak";
	case SWARM_FAIL_NO_FILE: return "no_bootfile";
	case SWARM_FAIL_HTTP_CONNECT: return "http_connect";
	case SWARM_FAIL_HTTP_STATUS: return "http_status";
	case SWARM_FAIL_HTTP_CLOSED: return "http_closed";
	case SWARM_FAIL_HTTP_PROTO: return "http_proto";
	case SWARM_FAIL_HTTP_STALL: return "http_stall";
	case SWARM_FAIL_SCRIPT: return "bad_script";
	case SWARM_FAIL_DIED: return "died";
	case SWARM_FAIL_COUNT: break;
	}
	return "?";
}

void swarm_client_init(struct swarm_client *c, const struct swarm_profile *prof, uint32_t index,
		       mono_t start)
{
	memset(c, 0, sizeof(*c));
	c->fw = prof;
	c->prof = prof;
	c->index = index;
	c->stage = SWARM_IDLE;
	c->deadline = start;
	c->rto_us = (uint32_t)MONO_MS(prof->timeout_ms);
}

const char *swarm_mark_name(enum swarm_mark_kind k)
{
	static const char *const names[] = {"dhcp", "acked", "tftp", "http", "done", "failed",
					    "reboot"};

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void swarm_client_mark(struct swarm *sw, const struct swarm_client *c, enum swarm_mark_kind k,
		       mono_t now)
{
	struct swarm_marks *m = sw->marks ? &sw->marks[c->index] : NULL;
	bool ending = k == SWARM_MARK_DONE || k == SWARM_MARK_FAILED;
	mono_t since = c->t_start && now > c->t_start ? now - c->t_start : 0;

	struct swarm_mark *mk;

	if (m == NULL || m->n >= SWARM_MARKS - (ending ? 0 : 1))
		return;
	mk = &m->m[m->n++];
	*mk = (struct swarm_mark){.ms = (uint32_t)(since / 1000), .kind = (uint8_t)k,
				  .boot_stage = c->boot_stage};
	if (k == SWARM_MARK_ACKED) {
		mk->ip = c->offered;
		mk->server = c->server_id;
	} else if (k == SWARM_MARK_REBOOT) {
		mk->why = c->fail;
	}
}

/* ---- endings ---------------------------------------------------------- */

static void finish(struct swarm *sw, struct swarm_client *c, enum swarm_stage stage,
		   enum swarm_fail why, mono_t now)
{
	if (swarm_client_finished(c))
		return;
	if (c->stage != SWARM_IDLE || c->reboots) /* waiting to boot again: running */
		sw->running--;
	c->stage = (uint8_t)stage;
	c->fail = (uint8_t)why;
	c->t_done = now;
	swarm_client_mark(sw, c, stage == SWARM_DONE ? SWARM_MARK_DONE : SWARM_MARK_FAILED, now);
	c->deadline = MONO_NEVER;
}

/* Does this failure end the node's boot, or does it boot again? Firmware
 * that lost its server (no DHCP answer, a transfer that timed out or was
 * refused) is reset by a BIOS boot-retry, an iPXE retry loop or a
 * watchdog. A file that differs would differ again; --die and --max-time
 * end a client on purpose, and a local failure is the swarm's own. */
static bool boots_again(const struct swarm *sw, const struct swarm_client *c, enum swarm_fail why)
{
	if (!sw->dhcp.on || c->reboots >= sw->boot_retries || swarm_client_finished(c))
		return false;
	return why != SWARM_FAIL_MISMATCH && why != SWARM_FAIL_UNFINISHED &&
	       why != SWARM_FAIL_DIED && why != SWARM_FAIL_LOCAL && why != SWARM_FAIL_NONE;
}

/* The node goes quiet until the delay is over (stage IDLE: anything that
 * still comes for this boot is dropped), then reboot() starts it again. */
static void reboot_later(struct swarm *sw, struct swarm_client *c, enum swarm_fail why, mono_t now)
{
	if (c->reboots == 0)
		sw->n.rebooted++;
	c->reboots++;
	sw->n.boot_retries++;
	c->fail = (uint8_t)why;
	swarm_client_mark(sw, c, SWARM_MARK_REBOOT, now);
	c->stage = SWARM_IDLE;
	c->deadline = now + MONO_MS(sw->boot_retry_ms);
}

static void fail(struct swarm *sw, struct swarm_client *c, enum swarm_fail why, mono_t now)
{
	if (boots_again(sw, c, why))
		reboot_later(sw, c, why, now);
	else
		finish(sw, c, SWARM_FAILED, why, now);
}

void swarm_client_fail(struct swarm *sw, struct swarm_client *c, enum swarm_fail why, mono_t now)
{
	fail(sw, c, why, now);
}

void swarm_client_abandon(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	fail(sw, c, SWARM_FAIL_UNFINISHED, now);
}

/* ---- timers ----------------------------------------------------------- */

static uint32_t clamp_rto(const struct swarm_profile *p, uint64_t rto)
{
	uint64_t lo = (uint64_t)MONO_MS(p->timeout_ms);
	uint64_t hi = (uint64_t)MONO_MS(p->max_timeout_ms);

	if (hi < lo)
		hi = lo;
	return (uint32_t)(rto < lo ? lo : rto > hi ? hi : rto);
}

/* Sets the next deadline: the retransmit timer (none in GRUB's data
 * phase), or the give-up moment if that comes first. */
static void arm(struct swarm_client *c)
{
	const struct swarm_profile *p = c->prof;
	mono_t d = MONO_NEVER;

	if (c->stage != SWARM_DATA || p->data_resend)
		d = c->timer_start + c->rto_us;
	if (p->giveup_ms && c->last_progress + MONO_MS(p->giveup_ms) < d)
		d = c->last_progress + MONO_MS(p->giveup_ms);
	c->deadline = d;
}

/* A packet was sent in answer to one received: iPXE's stop_timer() +
 * start_timer(): the round trip feeds t = 7t/8 + rtt/2, except that each
 * earlier expiry first cancels one sample (Karn). */
static void timer_restart(struct swarm_client *c, mono_t now)
{
	if (c->prof->adaptive && c->stage == SWARM_DATA) {
		if (c->rtt_backoffs > 0) {
			c->rtt_backoffs--;
		} else {
			uint64_t rtt = (uint64_t)(now - c->timer_start);
			c->rto_us = clamp_rto(c->prof, c->rto_us - c->rto_us / 8 + rtt / 2);
		}
	}
	c->timer_start = now;
	arm(c);
}

/* The transfer moved forward: the give-up clock and the retry count start
 * over; a table-driven timer (pxelinux) starts again from its first entry. */
static void progress(struct swarm_client *c, mono_t now)
{
	c->last_progress = now;
	c->tries = 0;
	if (!c->prof->adaptive)
		c->rto_us = (uint32_t)MONO_MS(c->prof->timeout_ms);
}

static void backoff(struct swarm_client *c)
{
	const struct swarm_profile *p = c->prof;
	uint64_t next = (uint64_t)c->rto_us * p->backoff_pct / 100 + (uint64_t)MONO_MS(p->step_ms);

	c->rto_us = clamp_rto(p, next);
	if (c->rtt_backoffs < UINT8_MAX)
		c->rtt_backoffs++;
}

/* ---- sending ---------------------------------------------------------- */

static void send_pkt(struct swarm *sw, struct swarm_client *c, uint16_t port, const uint8_t *buf,
		     size_t len)
{
	struct netaddr to = {.ip = ipaddr_v4(c->tftp_ip), .port = port};

	/* A failed send is a lost packet: the client's timer deals with it,
	 * as it would on a real wire. */
	if (len == 0 || sw->tx.send(sw->tx.ctx, c, &to, buf, len) < 0)
		sw->n.tx_errors++;
}

/* The file this download asks for: -f in the first boot stage, else the
 * one the DHCP ACK named. */
static const char *remote_name(const struct swarm *sw, const struct swarm_client *c)
{
	if (sw->remote_name && c->boot_stage == SWARM_BOOT_FIRMWARE)
		return sw->remote_name;
	return sw->dhcp.bootnames ? sw->dhcp.bootnames[c->index] : "";
}

/* The options this firmware asks for; the probe always asks tsize. */
static void request_opts(const struct swarm_profile *p, bool probe, struct tftp_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (p->blksize) {
		o->has_blksize = true;
		o->blksize = p->blksize;
	}
	if (p->tsize || probe) {
		o->has_tsize = true;
		o->tsize = 0;
	}
	if (p->timeout_opt && !probe) {
		o->has_timeout = true;
		o->timeout = p->timeout_opt;
	}
	if (p->windowsize) {
		o->has_windowsize = true;
		o->windowsize = p->windowsize;
	}
}

static void send_request(struct swarm *sw, struct swarm_client *c)
{
	uint8_t buf[RRQ_BUF];
	struct tftp_opts o;
	size_t len;

	request_opts(c->prof, c->stage == SWARM_PROBE, &o);
	len = tftp_build_rrq(buf, sizeof(buf), remote_name(sw, c), TFTP_MODE_OCTET, &o);
	sw->n.rrqs++;
	send_pkt(sw, c, sw->server.port, buf, len);
}

static void send_ack(struct swarm *sw, struct swarm_client *c, uint16_t block)
{
	uint8_t buf[TFTP_HDR];

	sw->n.acks++;
	send_pkt(sw, c, c->tid, buf, tftp_build_ack(buf, sizeof(buf), block));
}

/* Sends this stage's first packet and starts its timer afresh. */
static void enter_request(struct swarm *sw, struct swarm_client *c, enum swarm_stage stage,
			  mono_t now)
{
	c->stage = (uint8_t)stage;
	c->tid_locked = false;
	c->stale_tid = 0;
	c->got_oack = false;
	c->blocks = 0;
	c->last_block = 0;
	c->win_count = 0;
	c->rto_us = (uint32_t)MONO_MS(c->prof->timeout_ms);
	c->rtt_backoffs = 0;
	progress(c, now);
	send_request(sw, c);
	c->timer_start = now;
	arm(c);
}

/* The download of this boot stage: the first from the socket the client
 * started with, a later one (iPXE's) from a socket of its own. */
static void tftp_begin(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	c->verify = sw->file != NULL && c->boot_stage == SWARM_BOOT_FIRMWARE;
	if (!ipaddr_is_any(&sw->server.ip))
		c->tftp_ip = ipaddr_to_v4(&sw->server.ip);
	c->t_rrq = now;
	swarm_client_mark(sw, c, SWARM_MARK_TFTP, now);
	if (c->boot_stage != SWARM_BOOT_FIRMWARE && sw->tx.new_port(sw->tx.ctx, c) < 0) {
		fail(sw, c, SWARM_FAIL_LOCAL, now);
		return;
	}
	enter_request(sw, c, c->prof->size_probe ? SWARM_PROBE : SWARM_RRQ, now);
}

void swarm_tftp_fetch(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	tftp_begin(sw, c, now);
}

/* The boot again from the firmware's DHCP, as a reset node: a new xid
 * (next_xid() mixes in the last one), new ports, no HTTP state. What it
 * keeps: who it is, when it first started, its tallies. Called from the
 * client's timer, a safe point to free the HTTP stage. */
static void reboot(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	struct swarm_client old = *c;

	if (c->http) {
		sw->tx.tcp_close(sw->tx.ctx, c);
		swarm_http_release(c);
	}
	swarm_client_init(c, c->fw, c->index, now);
	c->t_start = old.t_start;
	c->t_first_reply = old.t_first_reply;
	c->t_last_ack = old.t_last_ack;
	c->xid = old.xid;
	c->reboots = old.reboots;
	c->retries = old.retries;
	c->tftp_bytes = old.tftp_bytes;
	c->http_bytes = old.http_bytes;
	c->http_stall_us = old.http_stall_us;
	c->restarts = 0;
	if (!sw->dhcp.only && sw->tx.new_port(sw->tx.ctx, c) < 0) {
		finish(sw, c, SWARM_FAILED, SWARM_FAIL_LOCAL, now);
		return;
	}
	swarm_dhcp_begin(sw, c, now);
}

static void start(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	if (c->reboots) {
		reboot(sw, c, now);
		return;
	}
	sw->running++;
	c->t_start = now;
	if (sw->http.nurls)
		swarm_http_begin(sw, c, NULL, now);
	else if (sw->dhcp.on)
		swarm_dhcp_begin(sw, c, now);
	else
		tftp_begin(sw, c, now);
}

/* Firmware: DHCP, loader. iPXE: DHCP, script, and (following it, the
 * HTTP stage) what the script names. Initramfs: DHCP. --dhcp-only leaves
 * the downloads out; without --chain there is only the first stage. */
void swarm_client_advance(struct swarm *sw, struct swarm_client *c, bool after_dhcp, mono_t now)
{
	if (!after_dhcp && swarm_http_tftp_done(sw, c, now))
		return; /* a tftp:// item of the HTTP stage: it goes on */
	if (after_dhcp)
		swarm_client_mark(sw, c, SWARM_MARK_ACKED, now);
	if (after_dhcp && !sw->dhcp.only && c->boot_stage != SWARM_BOOT_OS) {
		if (c->boot_stage == SWARM_BOOT_IPXE && sw->http.follow && sw->dhcp.bootnames)
			swarm_http_begin(sw, c, sw->dhcp.bootnames[c->index], now);
		else
			tftp_begin(sw, c, now);
		return;
	}
	if (sw->dhcp.chain && c->boot_stage + 1 < SWARM_BOOT_STAGES) {
		c->boot_stage++;
		c->prof = sw->dhcp.stage_prof[c->boot_stage];
		swarm_dhcp_begin(sw, c, now);
		return;
	}
	finish(sw, c, SWARM_DONE, SWARM_FAIL_NONE, now);
}

/* The give-up rule struck: U-Boot starts over from a new port while it has
 * restarts left; everyone else fails. */
static void give_up(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	if (c->restarts >= c->prof->restarts) {
		fail(sw, c, SWARM_FAIL_TIMEOUT, now);
		return;
	}
	c->restarts++;
	sw->n.restarts++;
	if (sw->tx.new_port(sw->tx.ctx, c) < 0) {
		fail(sw, c, SWARM_FAIL_LOCAL, now);
		return;
	}
	enter_request(sw, c, SWARM_RRQ, now);
}

void swarm_client_timeout(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	const struct swarm_profile *p = c->prof;

	if (c->stage == SWARM_IDLE) {
		start(sw, c, now);
		return;
	}
	if (swarm_client_finished(c)) {
		c->deadline = MONO_NEVER;
		return;
	}
	if (swarm_client_in_dhcp(c)) {
		swarm_dhcp_timeout(sw, c, now);
		return;
	}
	if (c->stage == SWARM_HTTP) {
		swarm_http_timeout(sw, c, now);
		return;
	}
	if (p->giveup_ms && now >= c->last_progress + MONO_MS(p->giveup_ms)) {
		give_up(sw, c, now);
		return;
	}
	if (c->stage == SWARM_DATA && !p->data_resend) {
		arm(c); /* GRUB: only the give-up clock runs */
		return;
	}
	if (p->retries && c->tries >= p->retries) {
		give_up(sw, c, now);
		return;
	}
	c->tries++;
	backoff(c);
	sw->n.retransmits++;
	c->retries++;
	if (c->stage == SWARM_DATA)
		send_ack(sw, c, c->last_block); /* the ACK 0 of an OACK included */
	else
		send_request(sw, c);
	c->timer_start = now;
	arm(c);
}

/* ---- receiving -------------------------------------------------------- */

static void first_reply(struct swarm_client *c, mono_t now)
{
	if (c->t_first_reply == 0 && c->boot_stage == SWARM_BOOT_FIRMWARE)
		c->t_first_reply = now;
}

/* An OACK names only what was asked, never a larger blksize or windowsize,
 * `timeout` unchanged (U-Boot), tsize the file's size (RFC 2347-2349,
 * 7440). Returns SWARM_FAIL_NONE or why this firmware would stop. */
static enum swarm_fail check_oack(const struct swarm *sw, const struct swarm_client *c,
				  const struct tftp_opts *got)
{
	struct tftp_opts ask;

	request_opts(c->prof, c->stage == SWARM_PROBE, &ask);
	if (got->unknown ||
	    (got->has_blksize && (!ask.has_blksize || got->blksize > ask.blksize)) ||
	    (got->has_windowsize && (!ask.has_windowsize || got->windowsize > ask.windowsize)) ||
	    (got->has_timeout && (!ask.has_timeout || got->timeout != ask.timeout)) ||
	    (got->has_tsize && !ask.has_tsize))
		return SWARM_FAIL_OACK;
	if (got->has_tsize && c->verify && got->tsize != sw->file_size)
		return SWARM_FAIL_MISMATCH;
	return SWARM_FAIL_NONE;
}

static void enter_data(struct swarm_client *c, uint32_t blksize, uint32_t windowsize)
{
	c->stage = SWARM_DATA;
	c->blksize = (uint16_t)blksize;
	c->windowsize = (uint16_t)windowsize;
	c->blocks = 0;
	c->last_block = 0;
	c->win_count = 0;
	c->gap_acked = false;
}

/* The probe told the size: abort it (ERROR 8 to its TID, RFC 2347) and
 * ask again, from a new port or from the same one. On the same port a
 * strict client takes anything from the probe's server port for a stale
 * packet of the aborted transfer (RFC 1350: a TID names one transfer), so
 * a server that answers the new RRQ from that port is never heard. `o` is
 * NULL if the server answered with DATA. */
static void probe_answered(struct swarm *sw, struct swarm_client *c, const struct tftp_opts *o,
			   mono_t now)
{
	const struct swarm_profile *p = c->prof;
	uint8_t buf[64];
	enum swarm_fail why = o ? check_oack(sw, c, o) : SWARM_FAIL_NONE;
	uint16_t probe_tid = c->tid;
	size_t len;

	if (why != SWARM_FAIL_NONE) {
		fail(sw, c, why, now);
		return;
	}
	len = tftp_build_error(buf, sizeof(buf), TFTP_EOPTNEG, "User aborted");
	send_pkt(sw, c, probe_tid, buf, len);
	if (!p->probe_same_port && sw->tx.new_port(sw->tx.ctx, c) < 0) {
		fail(sw, c, SWARM_FAIL_LOCAL, now);
		return;
	}
	enter_request(sw, c, SWARM_RRQ, now);
	if (p->probe_same_port && p->stale_tid_discard)
		c->stale_tid = probe_tid;
}

/* An ACK of the last in-order block, sent because of a block out of place
 * (RFC 7440: the sender goes on from there). */
static void reack(struct swarm *sw, struct swarm_client *c, mono_t now)
{
	sw->n.reacks++;
	c->win_count = 0;
	send_ack(sw, c, c->last_block);
	timer_restart(c, now);
}

static void on_oack(struct swarm *sw, struct swarm_client *c, const struct tftp_opts *o,
		    mono_t now)
{
	enum swarm_fail why;

	first_reply(c, now);
	if (c->stage == SWARM_PROBE) {
		probe_answered(sw, c, o, now);
		return;
	}
	if (c->stage == SWARM_DATA) {
		/* Our ACK 0 was lost and the server re-sent its OACK. */
		if (c->got_oack && c->blocks == 0 && c->prof->dup_ack)
			reack(sw, c, now);
		return;
	}
	why = check_oack(sw, c, o);
	if (why != SWARM_FAIL_NONE) {
		fail(sw, c, why, now);
		return;
	}
	enter_data(c, o->has_blksize ? o->blksize : TFTP_BLKSIZE_DEFAULT,
		   o->has_windowsize ? o->windowsize : 1);
	c->got_oack = true;
	progress(c, now);
	send_ack(sw, c, 0);
	timer_restart(c, now);
}

/* Is this block what the file holds there? A download that is not
 * verified (a generated script, a boot file named by DHCP) only has to
 * keep to the block size. */
static bool block_good(const struct swarm *sw, const struct swarm_client *c, const uint8_t *data,
		       size_t len)
{
	uint64_t off = (uint64_t)c->blocks * c->blksize;

	if (len > c->blksize)
		return false;
	if (!c->verify)
		return true;
	return off + len <= sw->file_size && (len == c->blksize || off + len == sw->file_size) &&
	       (len == 0 || memcmp(sw->file + off, data, len) == 0);
}

/* The next block in order: check it against the file, then ACK it if it
 * ends a window or the file. */
static void in_order(struct swarm *sw, struct swarm_client *c, uint16_t block, const uint8_t *data,
		     size_t len, mono_t now)
{
	bool last = len < c->blksize;

	if (!block_good(sw, c, data, len)) {
		fail(sw, c, SWARM_FAIL_MISMATCH, now);
		return;
	}
	if (c->http)
		swarm_http_tftp_data(c, data, len); /* the script, when it is one */
	c->blocks++;
	/* --die: silent from here on, no ACK, no ERROR (a node powered off). */
	if (c->index < sw->die && c->boot_stage == SWARM_BOOT_IPXE && c->blocks == 100) {
		fail(sw, c, SWARM_FAIL_DIED, now);
		return;
	}
	c->last_block = block;
	c->win_count++;
	c->gap_acked = false;
	c->tftp_bytes += len;
	sw->n.bytes += len;
	progress(c, now);
	if (last || c->win_count >= c->windowsize) {
		c->win_count = 0;
		send_ack(sw, c, block);
		timer_restart(c, now);
	} else {
		arm(c);
	}
	if (last) {
		c->tftp_us[c->boot_stage] = now > c->t_rrq ? (uint32_t)(now - c->t_rrq) : 1;
		swarm_client_advance(sw, c, false, now);
	}
}

static void on_data(struct swarm *sw, struct swarm_client *c, uint16_t block, const uint8_t *data,
		    size_t len, mono_t now)
{
	uint16_t expect;

	first_reply(c, now);
	if (c->stage == SWARM_PROBE) {
		probe_answered(sw, c, NULL, now);
		return;
	}
	if (c->stage == SWARM_RRQ) /* no OACK: the server ignored the options */
		enter_data(c, TFTP_BLKSIZE_DEFAULT, 1);
	sw->n.data++;
	expect = (uint16_t)(c->last_block + 1); /* 65535 -> 0 */
	if (block == expect) {
		in_order(sw, c, block, data, len, now);
	} else if ((uint16_t)(block - expect) < 0x8000) {
		sw->n.out_of_order++;
		if (c->prof->gap_ack == SWARM_GAP_EVERY ||
		    (c->prof->gap_ack == SWARM_GAP_ONCE && !c->gap_acked)) {
			c->gap_acked = true;
			reack(sw, c, now);
		}
	} else {
		sw->n.duplicate_data++;
		if (c->prof->dup_ack)
			reack(sw, c, now);
	}
}

/* Keeps the server's last ERROR for the report, printable only (it goes
 * into a JSON string too). */
static void note_error(struct swarm *sw, uint16_t code, const char *msg, size_t len)
{
	size_t i, n = 0;

	sw->n.last_error_code = code;
	for (i = 0; msg && i < len && n + 1 < sizeof(sw->n.last_error); i++) {
		char ch = msg[i];
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || (ch && strchr(" .,:;_-+/()'", ch));
		sw->n.last_error[n++] = plain ? ch : '?';
	}
	sw->n.last_error[n] = '\0';
}

void swarm_client_input(struct swarm *sw, struct swarm_client *c, const struct netaddr *peer,
			const uint8_t *buf, size_t len, mono_t now)
{
	struct tftp_pkt pkt;
	bool stale, from_server;

	if (c->stage == SWARM_IDLE || swarm_client_finished(c))
		return;
	/* A late datagram of an earlier download or of the aborted probe, or
	 * one from the wrong place. */
	from_server = ipaddr_to_v4(&peer->ip) == c->tftp_ip;
	stale = c->stale_tid != 0 && from_server && peer->port == c->stale_tid;
	if (stale || swarm_client_in_dhcp(c) || c->stage == SWARM_HTTP || !from_server ||
	    (c->tid_locked && peer->port != c->tid)) {
		sw->n.unexpected_tid++;
		sw->n.stale_tid += stale;
		return;
	}
	if (len == 0 || tftp_parse(buf, len, &pkt) < 0 ||
	    (pkt.op != TFTP_OACK && pkt.op != TFTP_DATA && pkt.op != TFTP_ERROR)) {
		sw->n.malformed++;
		return;
	}
	if (!c->tid_locked) { /* the first reply names the server's TID */
		c->tid_locked = true;
		c->tid = peer->port;
	}
	switch (pkt.op) {
	case TFTP_OACK: on_oack(sw, c, &pkt.oack, now); break;
	case TFTP_DATA: on_data(sw, c, pkt.data.block, pkt.data.data, pkt.data.len, now); break;
	default:
		note_error(sw, pkt.error.code, pkt.error.msg, pkt.error.msg_len);
		fail(sw, c, SWARM_FAIL_ERROR, now);
		break;
	}
}
