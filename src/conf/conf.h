/* herd's configuration: one INI file (read by libinih), validated into typed
 * settings. Every error names the file and line it comes from. */
#ifndef HERD_CONF_CONF_H
#define HERD_CONF_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "core/net.h"

#define CONF_MAX_LISTEN 8
/* A rate written as `auto`: herd decides (learns it). Settings that are
 * not rates keep `auto` as their "not set" value (see conf_keys.h). */
#define CONF_AUTO UINT64_MAX
#define CONF_PATH_MAX 1024

struct conf_listen {
	struct netaddr addrs[CONF_MAX_LISTEN];
	unsigned count;
};

struct conf_server {
	char user[64];	     /* empty: stay as we are */
	enum log_level log_level;
	unsigned rcvbuf;     /* bytes, for every listening socket */
	unsigned max_open_files;
	bool seccomp;	     /* allow-list filter once serving */
};

struct conf_tftp {
	bool enabled;
	struct conf_listen listen;
	char root[CONF_PATH_MAX];
	unsigned max_transfers;
	unsigned blksize_max;	    /* cap on a client's blksize (RFC 2348) */
	unsigned windowsize_max;    /* cap on a client's windowsize (RFC 7440) */
	unsigned retries;	    /* server retransmissions before giving up */
	unsigned rto_min_ms;	    /* adaptive retransmit timer bounds */
	unsigned rto_max_ms;
	unsigned rto_initial_ms;
	unsigned transfer_sockets;  /* server ports shared by transfers (TIDs) */
	unsigned file_cache_ms;	    /* keep an unused mapping this long */
	uint64_t link_rate;	    /* bits/s the pacer sends at; 0 = unpaced; CONF_AUTO = learned */
	uint64_t pacing_burst;	    /* token bucket depth, bytes */
	unsigned client_timeout_ms; /* a client's retry timer, when it does not say */
	/* Hostile traffic (tftp_server.h): per source address, and for
	 * sources herd does not know; 0 rate or burst: no limit. */
	unsigned source_rate;	/* datagrams a second to port 69 from one address */
	unsigned source_burst;
	unsigned unknown_rate;	/* new transfers and ERRORs a second, all unknown sources */
	unsigned unknown_burst;
	unsigned unknown_share; /* percent of max_transfers they may hold */
};

/* HTTP/1.1 for the second stage (iPXE scripts, kernels, initrds): the
 * same root and generated files as TFTP (src/http/). */
struct conf_http {
	bool enabled;
	struct conf_listen listen;
	unsigned max_connections;    /* open at once, every client together */
	unsigned source_connections; /* open at once from one address; 0 = no limit */
	unsigned idle_timeout_ms;    /* a connection with no traffic is closed */
	unsigned request_timeout_ms; /* a request's headers must have arrived by then */
	uint64_t header_max;	     /* request line + headers, bytes */
	unsigned deadline_ms;	     /* a response's next bytes are due this long after the last */
};

/* [images]: the store of diskless node images (src/image/image.h,
 * docs/IMAGES.md) and the NFS export list written from it. */
struct conf_images {
	char dir[CONF_PATH_MAX];
	uint32_t nfs_server;		 /* network order; 0 = herd's address as the node sees it */
	char nfs_options[256];		 /* more NFS mount options for the node's root */
	char exports_clients[512];	 /* who may mount: "auto" = the [subnet]s */
	char exports_ganesha[CONF_PATH_MAX]; /* written on build, switch, remove; "" = not */
	char exports_kernel[CONF_PATH_MAX];
	unsigned keep; /* versions kept besides the current one */
};

/* [status]: the node state and the control socket (src/ops). */
struct conf_status {
	bool enabled;
	char socket[CONF_PATH_MAX]; /* "": no control socket */
	char owner[64];		    /* "": [server] user */
	char group[64];		    /* "": the owner's group */
	unsigned max_nodes;
	unsigned stage_timeout_s; /* 0: no deadline */
	char up_marker[128];
};

/* [status], the ops HTTP listener (helper C's keys; ops/ops_http.c):
 * `listen` is "off" or ADDR[:PORT]; each endpoint is "yes" (on listen),
 * "no", or its own ADDR[:PORT]. */
#define CONF_STATUS_PORT 9180
struct conf_status_http {
	char listen[64];
	char metrics[64];
	char api[64];
	char dashboard[64];
};

/* Where an endpoint of [status] is served: 1 with *out set, 0 if it is
 * off, -EINVAL if `value` (or `listen`, for "yes") is not one of the
 * forms above. */
int conf_status_where(const char *listen, const char *value, struct netaddr *out);

struct conf_logrx {
	bool enabled;
	struct conf_listen syslog;     /* RFC 3164 / 5424 over UDP */
	struct conf_listen netconsole; /* plain UDP lines */
	char dir[CONF_PATH_MAX];
	uint64_t max_file_bytes; /* rotate past this */
	unsigned rotate_keep;	 /* rotated files kept: NAME.log.1 .. .N */
	unsigned line_max;	 /* longer lines are cut */
	unsigned rate_lines;	 /* per sender, lines per second (token refill) */
	unsigned burst_lines;	 /* per sender, token bucket depth */
	unsigned max_senders;	 /* per-sender state entries */
	bool keep_unknown;	 /* a file for senders herd does not know (see logrx.h) */
};

#define CONF_MAX_SUBNETS 16
#define CONF_MAX_GROUPS 32
#define CONF_NAME_MAX 64

/* [cluster]: several servers on one PostgreSQL database. */
struct conf_cluster {
	char database[512]; /* a libpq connection string; "" = no cluster */
	char name[CONF_NAME_MAX]; /* "" = the host name */
	unsigned takeover_s; /* a server silent this long is dead */
	unsigned queue;	     /* lease records waiting for the database, at most */
};

#define CONF_MAX_DNS 4

/* renewal_time (T1, option 58) and rebinding_time (T2, option 59) as set
 * in one section; 0 = not set there. */
struct conf_timers {
	unsigned renewal, rebinding;
	int line; /* the later line of the two; 0 = neither is set */
};

/* Who gets the boot file, next-server and the PXE options. */
enum conf_boot_options {
	CONF_BOOT_PXE,	  /* only clients that say they boot (PXE, iPXE, HTTP boot) */
	CONF_BOOT_ALWAYS, /* every client of the group */
};

/* [subnet NAME]: a segment herd hands addresses on. */
struct conf_subnet {
	char name[CONF_NAME_MAX];
	int line;
	uint32_t network, mask; /* network byte order */
	uint32_t pool_start, pool_end; /* host order, inclusive; 0 = no pool */
	uint32_t router;	       /* 0 = none */
	uint32_t dns[CONF_MAX_DNS];
	unsigned ndns;
	char domain[128];
	uint32_t log_server;  /* 0 = herd's own address */
	uint32_t next_server; /* 0 = herd's own address */
	unsigned lease_time;  /* seconds; 0 = [dhcp] lease_time */
	int lease_line;	      /* where lease_time was set; 0 = not here */
	struct conf_timers timers;
	int pool_hostnames; /* -1: as [dhcp]; else 0 or 1 */
};

/* How iPXE fetches a group's kernel and initrd (its generated script's
 * URLs); auto: HTTP when [http] is enabled, else TFTP. pxelinux always
 * fetches by TFTP. */
enum conf_fetch { CONF_FETCH_AUTO, CONF_FETCH_TFTP, CONF_FETCH_HTTP };
/* What herd's node initramfs does when a step fails (herd.fail=). */
enum conf_on_failure { CONF_FAIL_REBOOT, CONF_FAIL_POWEROFF, CONF_FAIL_SHELL };

/* [group NAME]: what a kind of node boots. Strings may hold %{name},
 * %{ip}, %{mac}, %{server}, %{group}, substituted per node. */
struct conf_group {
	char name[CONF_NAME_MAX];
	int line;
	char loader_bios[256];	/* client arch 0 */
	char loader_efi64[256]; /* client arch 7, 9 */
	char loader_arm64[256]; /* client arch 11 */
	char kernel[256];	/* a path beneath the root, or an http:// URL */
	char initrd[256];
	char cmdline[2048]; /* several cmdline lines are joined with a space */
	enum conf_fetch ipxe_fetch;
	char image[CONF_NAME_MAX]; /* an [images] image: kernel, initrd and root from it */
	char init[256];		   /* what the node's initramfs hands over to; "" = /sbin/init */
	enum conf_on_failure on_failure;
	uint32_t nfs_server; /* network order; 0: [images] nfs_server */
	int image_line;
	/* where loader_bios, _efi64, _arm64, kernel, initrd, ipxe_fetch were set */
	int key_line[6];
	struct conf_timers timers;
	enum conf_boot_options boot_options;
};

/* [rule NAME]: what a client says of its hardware chooses its group
 * (docs/DECISIONS.md, "The hardware decides the image"). A rule matches a
 * client when every pattern it gives matches (shell globs, fnmatch(3); arch
 * is a list of numbers); rules are tried in file order, the first that
 * matches wins. */
#define CONF_MAX_RULES 64
#define CONF_PATTERN_MAX 128
enum conf_rule_key {
	RULE_ARCH,	   /* option 93: numbers, "0 7 9" */
	RULE_VENDOR_CLASS, /* option 60 */
	RULE_USER_CLASS,   /* option 77 */
	RULE_CIRCUIT_ID,   /* option 82, sub-option 1: the switch port */
	RULE_REMOTE_ID,	   /* option 82, sub-option 2: the switch */
	RULE_NIC,	   /* iPXE's option 175 bus id: the boot NIC's PCI "vvvv:dddd" */
	RULE_MANUFACTURER, /* SMBIOS, as iPXE reports it */
	RULE_PRODUCT,
	RULE_SERIAL,
	RULE_UUID,
	RULE_NKEYS
};
#define RULE_FIRST_SMBIOS RULE_MANUFACTURER

struct conf_rule {
	char name[CONF_NAME_MAX];
	int line;
	char match[RULE_NKEYS][CONF_PATTERN_MAX]; /* "" = anything */
	int match_line[RULE_NKEYS];		  /* where each was set; 0 = not set */
	char group[CONF_NAME_MAX];		  /* a [group], or "default": [dhcp] default_group */
	char node_name[CONF_NAME_MAX];		  /* template for clients not in the inventory */
	int group_line, name_line;
};

enum conf_unknown { CONF_UNKNOWN_IGNORE, CONF_UNKNOWN_POOL };

/* server: herd hands out addresses. proxy: a site DHCP server does, and
 * herd answers only the boot part (proxyDHCP, PXE 2.1: ports 67 and 4011;
 * src/dhcp/proxy.h): no address, no lease, no NAK. */
enum conf_dhcp_mode { CONF_DHCP_SERVER, CONF_DHCP_PROXY };

struct conf_dhcp {
	bool enabled;
	enum conf_dhcp_mode mode;
	int mode_line;		   /* where mode was set; 0 = the default */
	struct conf_listen listen; /* usually 0.0.0.0:67 */
	char interfaces[256];	   /* names, space separated; empty = all */
	char inventory[CONF_PATH_MAX];
	char lease_file[CONF_PATH_MAX];
	enum conf_unknown unknown;
	char default_group[CONF_NAME_MAX];
	unsigned lease_time; /* seconds */
	int lease_line;	     /* where lease_time was set; 0 = the default */
	struct conf_timers timers;
	bool pool_hostnames;	/* option 12 "node-<mac>" to pool clients too */
	int lease_file_line;	/* where lease_file was set; 0 = the default */
	unsigned offer_hold_ms; /* an offered pool address is held this long */
	bool pin_neighbours;	/* permanent ARP entries for booting clients */
	struct conf_subnet subnets[CONF_MAX_SUBNETS];
	unsigned nsubnets;
	struct conf_group groups[CONF_MAX_GROUPS];
	unsigned ngroups;
	struct conf_rule rules[CONF_MAX_RULES]; /* in file order */
	unsigned nrules;
};

struct herd_config {
	char path[CONF_PATH_MAX];
	int tftp_root_line; /* where [tftp] root was set; 0 = the default */
	int user_line;	    /* where [server] user was set */
	int log_dir_line;   /* where [log] dir was set */
	struct conf_server server;
	struct conf_tftp tftp;
	struct conf_http http;
	struct conf_images images;
	struct conf_status status;
	struct conf_status_http status_http;
	struct conf_logrx logrx;
	struct conf_cluster cluster;
	struct conf_dhcp dhcp;
};

const struct conf_group *conf_group_find(const struct conf_dhcp *d, const char *name);
/* The subnet containing ip (network order), or NULL. */
const struct conf_subnet *conf_subnet_of(const struct conf_dhcp *d, uint32_t ip);

/* The renewal (T1) and rebinding (T2) times of a lease of `lease` seconds
 * to a client of group g (NULL: none) in subnet sn (NULL: none). The most
 * specific of g, sn and [dhcp] that sets either time supplies both; one it
 * leaves out keeps the default proportions (T1 = lease/2, T2 = 7/8 lease):
 * T2 = T1 + 3/4 of what is left of the lease, T1 = 4/7 of T2. */
void conf_dhcp_timers(const struct conf_dhcp *d, const struct conf_subnet *sn,
		      const struct conf_group *g, unsigned lease, unsigned *t1, unsigned *t2);

/* Is v a URL (scheme://...)? A kernel or initrd may be an http:// one
 * (used as it is by a group whose iPXE fetches over HTTP); a loader may
 * not (PXE firmware loads it by TFTP, an HTTP boot client gets herd's
 * own URL for it). */
bool conf_is_url(const char *v);
bool conf_is_http_url(const char *v);

/* Does iPXE fetch group g's kernel and initrd over HTTP (ipxe_fetch, or
 * auto with [http] enabled)? */
bool conf_group_http(const struct herd_config *cfg, const struct conf_group *g);

/* The boolean words of every yes/no setting. 0 or -EINVAL. */
int conf_parse_bool(const char *v, bool *out);

/* Fills cfg with built-in defaults (the key table's, conf_keys.c). */
void conf_defaults(struct herd_config *cfg);

/* Reads and validates `path` over the defaults. Each problem is written to
 * errs as "path:line: reason". Returns the number of problems (0 = usable),
 * or -errno if the file cannot be read (also reported to errs). */
int conf_load(struct herd_config *cfg, const char *path, FILE *errs);

/* Same from the bytes of a file read whole (what conf_load parses, and what
 * the fuzzer feeds); `name` stands for the file name. A NUL byte is a
 * problem of its line. */
int conf_load_mem(struct herd_config *cfg, const char *name, const void *data, size_t size,
		  FILE *errs);
/* Same from a string, for tests. */
int conf_load_string(struct herd_config *cfg, const char *name, const char *text, FILE *errs);

/* Checks that referenced paths exist and are usable. Same reporting. */
int conf_check_paths(const struct herd_config *cfg, FILE *errs);

/* Writes the effective configuration in the file's own format: every key
 * of every section, defaults and `auto` included, as a file that loads
 * back into the same configuration (and prints the same). */
void conf_print(const struct herd_config *cfg, FILE *out);

#endif
