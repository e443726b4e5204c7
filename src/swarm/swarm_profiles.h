/* What each emulated firmware asks for and how its timers behave: the one
 * table of client numbers (docs: /work/shared/REFERENCE.md, "What the
 * clients do"). Every number can be overridden by `herd swarm --set`. */
#ifndef HERD_SWARM_PROFILES_H
#define HERD_SWARM_PROFILES_H

#include <stdbool.h>
#include <stdint.h>

/* What a firmware's DHCP client puts in its requests (REFERENCE.md, "What
 * Debian's real firmware sends"). */
struct swarm_dhcp_id {
	const char *name;
	const char *vendor_class; /* option 60; NULL: none */
	const char *user_class;	  /* option 77, raw (as iPXE sends it); NULL: none */
	int32_t arch;		  /* option 93 (with 94 and 97); -1: none */
	uint16_t max_size;	  /* option 57; 0: none */
	bool client_id;		  /* option 61: type 1 + MAC */
	bool broadcast;		  /* sets the broadcast flag */
	const uint8_t *params;	  /* option 55 */
	uint8_t nparams;
};

#define SWARM_DHCP_TRIES_MAX 24

/* What a client does with a DATA block it did not expect. */
enum swarm_gap_ack {
	SWARM_GAP_IGNORE, /* say nothing (GRUB) */
	SWARM_GAP_ONCE,	  /* one ACK of the last good block per loss (U-Boot) */
	SWARM_GAP_EVERY,  /* ACK the last good block on every one (EDK2, iPXE) */
};

struct swarm_profile {
	char name[16];
	/* The request. 0 means "not asked". */
	uint32_t blksize;
	uint32_t windowsize;
	uint32_t timeout_opt; /* RFC 2349 `timeout`, seconds */
	bool tsize;	      /* asks `tsize 0` */
	/* The size probe (EDK2): an RRQ asking tsize, ERROR 8 "User aborted"
	 * to the OACK, then the real RRQ, from a new port unless
	 * probe_same_port. stale_tid_discard (only with probe_same_port): a
	 * packet from the aborted probe's server port (TID) is a stale packet
	 * of that transfer (RFC 1350) and is dropped, so a server that answers
	 * the real RRQ from that port is never heard. */
	bool size_probe;
	bool probe_same_port;
	bool stale_tid_discard;
	/* The retransmit timer. */
	uint32_t timeout_ms;	 /* first timeout, and the floor of an adaptive one */
	uint32_t max_timeout_ms; /* ceiling of the backed-off timer */
	uint32_t backoff_pct;	 /* each timeout multiplies the timer (100: fixed) */
	uint32_t step_ms;	 /* ... and adds this (GRUB: 400 + 20 i ms) */
	bool adaptive;		 /* iPXE: smoothed round-trip estimate (retry.c) */
	bool data_resend;	 /* re-sends its ACK on a timeout in the data phase */
	/* Giving up. 0 means "no such limit". */
	uint32_t retries;   /* re-sends in a row before the next timeout is fatal */
	uint32_t giveup_ms; /* silence (no progress) before giving up */
	uint32_t restarts;  /* U-Boot: instead of failing, start over (new RRQ) */
	/* Loss handling in the data phase. */
	bool dup_ack;		    /* re-ACKs on a block it already has */
	enum swarm_gap_ack gap_ack; /* ... and on a block beyond a gap */
	/* DHCP: what the firmware that ran before this download sends, and
	 * its timer: each DISCOVER (and each REQUEST) is sent up to
	 * ndhcp_timeouts times, waiting dhcp_timeouts_ms[i] after the i-th. */
	const struct swarm_dhcp_id *dhcp_id;
	uint32_t dhcp_timeouts_ms[SWARM_DHCP_TRIES_MAX];
	uint32_t ndhcp_timeouts;
	/* A REQUEST no ACK or NAK answered after every re-send: back to
	 * DISCOVER (RFC 2131 4.4.1, busybox udhcpc), the default; or, as EDK2's
	 * Dhcp4Dxe and iPXE's dhcp.c end the session, the DHCP fails
	 * (`--set request_fallback=0`; --boot-retries then boots again). */
	bool no_request_fallback;
};

/* The built-in profile called `name`, or NULL. */
const struct swarm_profile *swarm_profile_find(const char *name);

/* The built-in profiles' names, comma separated, for usage messages. */
const char *swarm_profile_names(void);

/* A DHCP identity by name (pxe-bios, ovmf, ipxe-bios, ipxe-efi, udhcpc,
 * uboot), or NULL. */
const struct swarm_dhcp_id *swarm_dhcp_id_find(const char *name);

/* Applies "KEY=VALUE" (blksize, windowsize, timeout_ms, max_timeout_ms,
 * retries, giveup_ms, backoff, step_ms, timeout, restarts; 0 or 1 for
 * tsize, size_probe, probe_same_port, stale_tid_discard, request_fallback;
 * dhcp_timeouts=S,S,...
 * in seconds, dhcp_id=NAME) to p. Returns 0 or -EINVAL. */
int swarm_profile_set(struct swarm_profile *p, const char *assignment);

#endif
