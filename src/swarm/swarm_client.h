/* One emulated network-boot client: its firmware's DHCP exchange (DORA),
 * TFTP request, timers, give-up rule and loss handling, checked byte for
 * byte against the file; with --chain, the three DHCP stages of a power-on.
 *
 * No sockets and no clock: the I/O layer (or a test) hands each datagram in
 * with the loop's `now`, calls swarm_client_timeout() when the client's
 * deadline is reached, and gets every outgoing datagram through struct
 * swarm_tx. Packets are parsed and built with tftp_wire and dhcp_wire only
 * (the DHCP stage lives in swarm_dhcp.c). */
#ifndef HERD_SWARM_CLIENT_H
#define HERD_SWARM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/net.h"
#include "swarm/swarm_http.h"
#include "swarm/swarm_profiles.h"

/* A client's stages, in order. IDLE's timeout starts whatever comes first:
 * the DHCP exchange, or the RRQ. */
enum swarm_stage {
	SWARM_IDLE,	/* waiting for its start time */
	SWARM_DISCOVER, /* DHCPDISCOVER sent, waiting for an OFFER */
	SWARM_REQUEST,	/* DHCPREQUEST sent, waiting for the ACK */
	SWARM_PROBE,	/* the size-probe RRQ (EDK2's) sent, no reply yet */
	SWARM_RRQ,	/* the RRQ sent, no reply yet */
	SWARM_DATA,	/* receiving blocks */
	SWARM_HTTP,	/* the HTTP stage (swarm_http.c has its own steps) */
	SWARM_DONE,	/* the whole file, verified */
	SWARM_FAILED,
};

enum swarm_fail {
	SWARM_FAIL_NONE,
	SWARM_FAIL_TIMEOUT,    /* the firmware's give-up rule */
	SWARM_FAIL_ERROR,      /* the server sent an ERROR */
	SWARM_FAIL_MISMATCH,   /* a block differs from the file, or a wrong size */
	SWARM_FAIL_OACK,       /* an OACK this firmware would refuse */
	SWARM_FAIL_LOCAL,      /* the swarm could not open a socket or send */
	SWARM_FAIL_UNFINISHED, /* still running at --max-time */
	SWARM_FAIL_DHCP,       /* no OFFER or no ACK before the DHCP timer ran out */
	SWARM_FAIL_NAK,	       /* NAKed again and again */
	SWARM_FAIL_NO_FILE,    /* the ACK named no boot file or no TFTP server */
	SWARM_FAIL_HTTP_CONNECT, /* no TCP connection: refused, or not up in time */
	SWARM_FAIL_HTTP_STATUS,	 /* a response other than 2xx */
	SWARM_FAIL_HTTP_CLOSED,	 /* closed or reset before the end of a body */
	SWARM_FAIL_HTTP_PROTO,	 /* a response head iPXE would refuse */
	SWARM_FAIL_HTTP_STALL,	 /* no byte for the stall limit (--set http_stall_ms) */
	SWARM_FAIL_SCRIPT,	 /* the script names nothing the swarm can fetch */
	SWARM_FAIL_DIED,	 /* --die: went silent on purpose */
	SWARM_FAIL_COUNT,
};

/* The boot stages of a power-on (--chain): each starts with a DHCP exchange. */
enum swarm_boot_stage {
	SWARM_BOOT_FIRMWARE, /* PXE ROM: DHCP, then the loader (-f or the boot file) */
	SWARM_BOOT_IPXE,     /* iPXE: DHCP with user class iPXE, then its script */
	SWARM_BOOT_OS,	     /* the initramfs: a plain DHCP client, no download */
	SWARM_BOOT_STAGES,
};

const char *swarm_boot_stage_name(enum swarm_boot_stage s);

/* DHCP counters of one boot stage. */
struct swarm_dhcp_counters {
	uint64_t discovers, requests; /* sent, re-sends included */
	uint64_t retransmits;	      /* DISCOVERs and REQUESTs re-sent by the timer */
	uint64_t offers, acks, naks;  /* received, for the exchange under way */
	uint64_t timeouts;	      /* clients that gave up */
	uint64_t unanswered;	      /* REQUESTs never answered: back to DISCOVER */
	uint64_t stale;		      /* replies for an exchange no longer under way */
};

const char *swarm_fail_name(enum swarm_fail f);

/* Counters over every client (the report adds times and drops). */
struct swarm_counters {
	uint64_t rrqs;		 /* RRQs sent, probes and re-sends included */
	uint64_t retransmits;	 /* RRQs and ACKs re-sent by client timers */
	uint64_t reacks;	 /* ACKs sent on a repeated or out-of-order block */
	uint64_t acks;		 /* ACKs sent in all */
	uint64_t data;		 /* DATA received from the right TID */
	uint64_t duplicate_data; /* ... a block already had */
	uint64_t out_of_order;	 /* ... a block beyond a gap */
	uint64_t unexpected_tid; /* from another address or port: ignored */
	uint64_t stale_tid;	 /* ... of which from an aborted probe's TID */
	uint64_t malformed;	 /* unparsable, or an opcode a server never sends */
	uint64_t bytes;		 /* verified payload bytes */
	uint64_t restarts;	 /* U-Boot's start-overs */
	uint64_t boot_retries;	 /* whole boots started again (--boot-retries) */
	uint64_t rebooted;	 /* clients that started again at least once */
	uint64_t tx_errors;
	/* The last ERROR a server sent, for the report ("" if none). */
	uint16_t last_error_code;
	char last_error[40]; /* printable ASCII only */
};

/* What every client shares: the server, the file, the sender. */
struct swarm_client;
struct swarm_tx {
	void *ctx;
	/* One datagram from the client's socket to `to`. 0 or -errno. */
	int (*send)(void *ctx, struct swarm_client *c, const struct netaddr *to, const uint8_t *buf,
		    size_t len);
	/* Replaces the client's socket with one on a new port. 0 or -errno. */
	int (*new_port)(void *ctx, struct swarm_client *c);
	/* One DHCP request from the swarm's shared DHCP socket to every DHCP
	 * server (relay) or the broadcast address. 0 if one send went out,
	 * else -errno. */
	int (*send_dhcp)(void *ctx, const uint8_t *buf, size_t len);
	/* Client `index`, for a DHCP reply addressed to its MAC. */
	struct swarm_client *(*client)(void *ctx, uint32_t index);
	/* The client's TCP connection (one at a time): opened towards `to`
	 * (swarm_http_connected() says when it is up), a request sent whole,
	 * closed. 0 or -errno. */
	int (*tcp_open)(void *ctx, struct swarm_client *c, const struct netaddr *to,
			uint32_t user_timeout_ms);
	int (*tcp_send)(void *ctx, struct swarm_client *c, const uint8_t *buf, size_t len);
	void (*tcp_close)(void *ctx, struct swarm_client *c);
};

#define SWARM_BOOTNAME_MAX 128 /* a boot file name (BOOTP `file` is 128 bytes) */

/* The DHCP stage's settings and counters. */
struct swarm_dhcp {
	bool on;	     /* clients start with a DHCP exchange */
	bool only;	     /* no TFTP at all (--dhcp-only) */
	bool chain;	     /* three boot stages (--chain) */
	bool broadcast_flag; /* set it on every request (--dhcp-broadcast) */
	uint32_t giaddr;     /* relay mode: the swarm's address; 0: broadcast mode */
	uint32_t mac_base;   /* client i has MAC 02:48:(mac_base + i, 32 bits) */
	uint32_t nclients;
	uint32_t xid_salt;
	/* The DHCP identity, timers and TFTP behaviour of stages 2 and 3 (the
	 * first stage is the client's own profile). */
	const struct swarm_profile *stage_prof[SWARM_BOOT_STAGES];
	/* Per client, the boot file an ACK named (NULL: -f names every one). */
	char (*bootnames)[SWARM_BOOTNAME_MAX];
	struct swarm_dhcp_counters n[SWARM_BOOT_STAGES];
	uint64_t malformed; /* unparsable, or not a reply */
	uint64_t strangers; /* for a MAC that is none of ours */
	uint64_t tx_errors;
};

/* A client's stage transitions, kept for `herd swarm --timeline`: what
 * began or ended, in which boot stage, when (ms after its t_start). */
enum swarm_mark_kind {
	SWARM_MARK_DHCP,   /* DISCOVER: an exchange begins */
	SWARM_MARK_ACKED,  /* its ACK */
	SWARM_MARK_TFTP,   /* the first RRQ of a download */
	SWARM_MARK_HTTP,   /* the HTTP stage begins */
	SWARM_MARK_DONE,   /* all of it, verified */
	SWARM_MARK_FAILED, /* given up: c->fail says why */
	SWARM_MARK_REBOOT, /* failed, boots again after the delay (--boot-retries) */
};
#define SWARM_MARKS 32 /* the last one is kept for the ending */
struct swarm_mark {
	uint32_t ms;
	uint8_t kind;	    /* enum swarm_mark_kind */
	uint8_t boot_stage; /* enum swarm_boot_stage */
	uint8_t why;	    /* REBOOT: enum swarm_fail */
	uint32_t ip, server; /* ACKED: the address and the server id (network order) */
};
struct swarm_marks {
	uint8_t n;
	struct swarm_mark m[SWARM_MARKS];
};
const char *swarm_mark_name(enum swarm_mark_kind k);

struct swarm {
	struct netaddr server;	 /* where RRQs go (ip 0: the server a DHCP ACK names) */
	const char *remote_name; /* -f, or NULL: the boot file a DHCP ACK names */
	const uint8_t *file;	 /* the expected bytes (one shared mapping), or NULL */
	uint64_t file_size;
	struct swarm_tx tx;
	struct swarm_counters n;
	struct swarm_dhcp dhcp;
	struct swarm_http http;
	unsigned running; /* clients started and not yet done or failed */
	uint32_t die;	  /* --die: clients below this index go silent mid-kernel */
	/* per client (by index), for --timeline; NULL: none */
	struct swarm_marks *marks;
	/* --boot-retries: a client that fails (but for a mismatch) boots again
	 * from its firmware's DISCOVER after boot_retry_ms, this many times. */
	uint32_t boot_retries;
	uint32_t boot_retry_ms;
	/* --acks: one line per DHCPACK a client took (NULL: none); times in
	 * ms after t0. */
	FILE *acks;
	mono_t t0;
};

/* One client: about 170 bytes (its socket lives in the I/O layer). */

struct swarm_client {
	const struct swarm_profile *fw;	  /* its firmware (the report's group) */
	const struct swarm_profile *prof; /* the boot stage's (== fw in the first) */
	mono_t deadline;		  /* next call to swarm_client_timeout(), or MONO_NEVER */
	mono_t t_start;			  /* first DISCOVER or RRQ */
	mono_t t_rrq;			  /* the first RRQ of the TFTP stage under way */
	mono_t t_first_reply; /* first OACK or DATA of the first download (0: none yet) */
	mono_t t_done;	      /* last block, or failure */
	mono_t last_progress; /* the give-up clock starts here */
	mono_t timer_start;   /* when the retransmit timer was last started */
	struct swarm_http_client *http; /* HTTP stage state (NULL: none) */
	uint32_t rto_us;      /* the retransmit timer now */
	uint32_t blocks;      /* blocks received in order (32 bits: wraps are counted) */
	/* DHCP (addresses in network order). */
	mono_t dhcp_start; /* the exchange's first DISCOVER */
	mono_t t_last_ack; /* the latest DHCPACK (0: none) */
	uint32_t index;	   /* its number: its MAC, its boot file slot */
	uint32_t xid;
	uint32_t offered;		     /* yiaddr of the OFFER taken */
	uint32_t server_id;		     /* option 54 of that OFFER */
	uint32_t tftp_ip;		     /* the TFTP server of this stage */
	uint32_t dora_us[SWARM_BOOT_STAGES]; /* first DISCOVER to ACK (0: none) */
	uint32_t tftp_us[SWARM_BOOT_STAGES]; /* first RRQ to the last block (0: none) */
	uint32_t http_us;		     /* the HTTP stage, start to end (0: none) */
	uint32_t http_stall_us;		     /* its longest wait for a byte */
	uint32_t http_bytes;		     /* its body bytes */
	uint8_t boot_stage;		     /* enum swarm_boot_stage */
	uint8_t dhcp_sends;		     /* sends of the message under way */
	uint8_t naks;			     /* back to DISCOVER: NAKs, unanswered REQUESTs */
	bool verify;			     /* this download is checked against sw->file */
	uint16_t blksize;		     /* negotiated */
	uint16_t windowsize;		     /* negotiated */
	uint16_t tid;			     /* the server's transfer port, once locked */
	uint16_t stale_tid;		     /* the aborted probe's, dropped (0: none) */
	uint16_t last_block;		     /* wire number of the last in-order block */
	uint16_t win_count;		     /* in-order blocks since the last ACK */
	uint16_t tries;			     /* timeouts in a row */
	uint8_t stage;			     /* enum swarm_stage */
	uint8_t fail;			     /* enum swarm_fail */
	uint8_t restarts;		     /* restarts used */
	uint8_t reboots;		     /* whole boots started again (--boot-retries) */
	uint8_t rtt_backoffs;		     /* iPXE's retry count: expiries not yet paid back */
	bool tid_locked;
	bool gap_acked; /* U-Boot: this loss already has its ACK */
	bool got_oack;
	/* DHCP and TFTP sends again by the timer, every stage */
	uint16_t retries;
	/* DATA payload received, every download */
	uint32_t tftp_bytes;
};

/* Notes a transition (swarm_client.c, swarm_dhcp.c, swarm_http.c). */
void swarm_client_mark(struct swarm *sw, const struct swarm_client *c, enum swarm_mark_kind k,
		       mono_t now);

/* Prepares client number `index` to start at `start`. */
void swarm_client_init(struct swarm_client *c, const struct swarm_profile *prof, uint32_t index,
		       mono_t start);

/* A datagram from `peer` (truncated ones: pass len 0). */
void swarm_client_input(struct swarm *sw, struct swarm_client *c, const struct netaddr *peer,
			const uint8_t *buf, size_t len, mono_t now);

/* A datagram that came to the shared DHCP socket: parsed, matched to its
 * client by MAC and xid and handed to it. Returns the client it changed,
 * or NULL. */
struct swarm_client *swarm_dhcp_input(struct swarm *sw, const uint8_t *buf, size_t len, mono_t now);

/* c->deadline was reached: start, re-send, or give up. */
void swarm_client_timeout(struct swarm *sw, struct swarm_client *c, mono_t now);

/* Ends a client still running (at --max-time). */
void swarm_client_abandon(struct swarm *sw, struct swarm_client *c, mono_t now);

static inline bool swarm_client_finished(const struct swarm_client *c)
{
	return c->stage == SWARM_DONE || c->stage == SWARM_FAILED;
}

#endif
