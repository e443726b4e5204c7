#include "conf/conf_keys.h"
#include "conf/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY(st, sec, nm, ty, field, ...)                                                           \
	{                                                                                          \
		.section = sec, .name = nm, .type = ty, .offset = offsetof(st, field),             \
		.size = sizeof(((st *)0)->field), __VA_ARGS__                                      \
	}
#define CFG(sec, nm, ty, field, ...)                                                               \
	KEY(struct herd_config, CONF_SEC_##sec, nm, ty, field, __VA_ARGS__)
#define SUBNET(nm, ty, field, ...)                                                                 \
	KEY(struct conf_subnet, CONF_SEC_SUBNET, nm, ty, field, __VA_ARGS__)
#define GROUP(nm, ty, field, ...) KEY(struct conf_group, CONF_SEC_GROUP, nm, ty, field, __VA_ARGS__)
#define RULE(nm, ty, field, ...) KEY(struct conf_rule, CONF_SEC_RULE, nm, ty, field, __VA_ARGS__)
#define SUBNET2(field) .offset2 = offsetof(struct conf_subnet, field)

#define LEASE_MAX 100000000u /* seconds, for lease_time and the T1/T2 times */

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const unknown_words[] = {"ignore", "pool", NULL};
static const char *const boot_words[] = {"pxe", "always", NULL};
static const char *const mode_words[] = {"server", "proxy", NULL};
static const char *const fetch_words[] = {"auto", "tftp", "http", NULL};
static const char *const failure_words[] = {"reboot", "poweroff", "shell", NULL};

_Static_assert(LOG_LVL_ERR == 0 && LOG_LVL_WARN == 1 && LOG_LVL_INFO == 2 && LOG_LVL_DEBUG == 3,
	       "log_levels[] is in the enum's order");
_Static_assert(CONF_UNKNOWN_IGNORE == 0 && CONF_UNKNOWN_POOL == 1, "unknown_words[]");
_Static_assert(CONF_BOOT_PXE == 0 && CONF_BOOT_ALWAYS == 1, "boot_words[]");
_Static_assert(CONF_DHCP_SERVER == 0 && CONF_DHCP_PROXY == 1, "mode_words[]");
_Static_assert(CONF_FAIL_REBOOT == 0 && CONF_FAIL_POWEROFF == 1 && CONF_FAIL_SHELL == 2,
	       "failure_words[]");
_Static_assert(CONF_FETCH_AUTO == 0 && CONF_FETCH_TFTP == 1 && CONF_FETCH_HTTP == 2,
	       "fetch_words[]");

const char *const conf_section_names[CONF_NSECTIONS] = {
    "server", "tftp", "log", "dhcp", "http", "images", "status", "cluster", "subnet", "group", "rule"};

/* In the order `herd check` prints them. */
const struct conf_key conf_keys[] = {
    CFG(SERVER, "user", T_USER, server.user, .def = ""),
    CFG(SERVER, "log_level", T_ENUM, server.log_level, .words = log_levels, .def = "info"),
    CFG(SERVER, "rcvbuf", T_SIZE, server.rcvbuf, .min = 65536, .max = 1u << 30, .def = "8M"),
    CFG(SERVER, "max_open_files", T_UINT, server.max_open_files, .min = 256, .max = 1u << 20,
	.def = "65536"),
    /* Once serving, refuse every system call serving does not need. */
    CFG(SERVER, "seccomp", T_BOOL, server.seccomp, .def = "yes"),

    CFG(TFTP, "enabled", T_BOOL, tftp.enabled, .def = "yes"),
    CFG(TFTP, "listen", T_LISTEN, tftp.listen, .max = CONF_MAX_LISTEN, .port = 69,
	.def = "0.0.0.0"),
    CFG(TFTP, "root", T_PATH, tftp.root, .def = "/srv/herd/tftp"),
    CFG(TFTP, "max_transfers", T_UINT, tftp.max_transfers, .min = 1, .max = 1000000,
	.def = "20000"),
    CFG(TFTP, "blksize_max", T_UINT, tftp.blksize_max, .min = 512, .max = 65464, .def = "1468"),
    CFG(TFTP, "windowsize_max", T_UINT, tftp.windowsize_max, .min = 1, .max = 256, .def = "64"),
    CFG(TFTP, "retries", T_UINT, tftp.retries, .min = 1, .max = 100, .def = "8"),
    CFG(TFTP, "rto_min_ms", T_UINT, tftp.rto_min_ms, .min = 1, .max = 60000, .def = "100"),
    CFG(TFTP, "rto_max_ms", T_UINT, tftp.rto_max_ms, .min = 1, .max = 255000, .def = "8000"),
    CFG(TFTP, "rto_initial_ms", T_UINT, tftp.rto_initial_ms, .min = 1, .max = 255000,
	.def = "1000"),
    CFG(TFTP, "transfer_sockets", T_UINT, tftp.transfer_sockets, .min = 2, .max = 256, .def = "8"),
    CFG(TFTP, "file_cache_ms", T_UINT, tftp.file_cache_ms, .min = 0, .max = 3600000,
	.def = "30000"),
    CFG(TFTP, "link_rate", T_RATE, tftp.link_rate, .max = UINT64_C(400000000000), .def = "auto"),
    CFG(TFTP, "pacing_burst", T_SIZE, tftp.pacing_burst, .min = 1500, .max = 16u << 20,
	.def = "16K"),
    CFG(TFTP, "client_timeout_ms", T_UINT, tftp.client_timeout_ms, .min = 50, .max = 60000,
	.def = "1000"),
    /* Hostile traffic (tftp_server.h): per source address, and for sources
     * herd does not know; a rate or burst of 0: no limit. pxelinux asks ~10
     * config names at once, a whole boot chain about 30 files: one address
     * needs far less than this. */
    CFG(TFTP, "source_rate", T_UINT, tftp.source_rate, .min = 0, .max = 1000000, .def = "10"),
    CFG(TFTP, "source_burst", T_UINT, tftp.source_burst, .min = 0, .max = 1000000, .def = "100"),
    CFG(TFTP, "unknown_rate", T_UINT, tftp.unknown_rate, .min = 0, .max = 1000000, .def = "100"),
    CFG(TFTP, "unknown_burst", T_UINT, tftp.unknown_burst, .min = 0, .max = 1000000, .def = "500"),
    CFG(TFTP, "unknown_share", T_UINT, tftp.unknown_share, .min = 1, .max = 100, .def = "25"),

    CFG(LOG, "enabled", T_BOOL, logrx.enabled, .def = "yes"),
    CFG(LOG, "syslog", T_LISTEN, logrx.syslog, .max = CONF_MAX_LISTEN, .port = 514,
	.def = "0.0.0.0"),
    CFG(LOG, "netconsole", T_LISTEN, logrx.netconsole, .max = CONF_MAX_LISTEN, .port = 6666,
	.def = "0.0.0.0"),
    CFG(LOG, "dir", T_PATH, logrx.dir, .def = "/var/log/herd/nodes"),
    CFG(LOG, "max_file_size", T_SIZE, logrx.max_file_bytes, .min = 4096, .max = UINT64_C(1) << 40,
	.def = "64M"),
    CFG(LOG, "rotate_keep", T_UINT, logrx.rotate_keep, .min = 0, .max = 100, .def = "3"),
    CFG(LOG, "line_max", T_UINT, logrx.line_max, .min = 64, .max = 65536, .def = "4096"),
    CFG(LOG, "rate_lines", T_UINT, logrx.rate_lines, .min = 1, .max = 1000000, .def = "500"),
    CFG(LOG, "burst_lines", T_UINT, logrx.burst_lines, .min = 1, .max = 1000000, .def = "5000"),
    CFG(LOG, "max_senders", T_UINT, logrx.max_senders, .min = 1, .max = 1000000, .def = "8192"),
    CFG(LOG, "keep_unknown", T_BOOL, logrx.keep_unknown, .def = "no"),

    CFG(DHCP, "enabled", T_BOOL, dhcp.enabled, .def = "no"),
    CFG(DHCP, "mode", T_ENUM, dhcp.mode, .words = mode_words, .def = "server"),
    CFG(DHCP, "listen", T_LISTEN, dhcp.listen, .max = 1, .port = 67, .def = "0.0.0.0"),
    CFG(DHCP, "interfaces", T_STRING, dhcp.interfaces, .def = ""),
    CFG(DHCP, "inventory", T_PATH, dhcp.inventory, .flags = K_EMPTY, .def = ""),
    CFG(DHCP, "lease_file", T_PATH, dhcp.lease_file, .flags = K_EMPTY,
	.def = "/var/lib/herd/leases"),
    CFG(DHCP, "unknown", T_ENUM, dhcp.unknown, .words = unknown_words, .def = "pool"),
    CFG(DHCP, "default_group", T_STRING, dhcp.default_group, .def = "default"),
    CFG(DHCP, "lease_time", T_UINT, dhcp.lease_time, .min = 60, .max = LEASE_MAX, .def = "3600"),
    CFG(DHCP, "renewal_time", T_UINT, dhcp.timers.renewal, .flags = K_AUTO, .min = 1,
	.max = LEASE_MAX, .def = "auto"),
    CFG(DHCP, "rebinding_time", T_UINT, dhcp.timers.rebinding, .flags = K_AUTO, .min = 1,
	.max = LEASE_MAX, .def = "auto"),
    CFG(DHCP, "pool_hostnames", T_BOOL, dhcp.pool_hostnames, .def = "no"),
    CFG(DHCP, "offer_hold_ms", T_UINT, dhcp.offer_hold_ms, .min = 100, .max = 600000,
	.def = "30000"),
    CFG(DHCP, "pin_neighbours", T_BOOL, dhcp.pin_neighbours, .def = "yes"),

    /* Off until the second stage is wired to it (issue 10). */
    CFG(HTTP, "enabled", T_BOOL, http.enabled, .def = "no"),
    CFG(HTTP, "listen", T_LISTEN, http.listen, .max = 1, .port = 80, .def = "0.0.0.0"),
    CFG(HTTP, "max_connections", T_UINT, http.max_connections, .min = 1, .max = 1000000,
	.def = "4096"),
    CFG(HTTP, "source_connections", T_UINT, http.source_connections, .min = 0, .max = 1000000,
	.def = "32"),
    CFG(HTTP, "idle_timeout_ms", T_UINT, http.idle_timeout_ms, .min = 1000, .max = 3600000,
	.def = "30000"),
    CFG(HTTP, "request_timeout_ms", T_UINT, http.request_timeout_ms, .min = 1000, .max = 3600000,
	.def = "10000"),
    CFG(HTTP, "header_max", T_SIZE, http.header_max, .min = 4096, .max = 1u << 20, .def = "8K"),
    /* HTTP clients wait out a pause (TCP keeps the connection): TFTP's
     * firmware deadlines come first until a response has waited this long. */
    CFG(HTTP, "deadline_ms", T_UINT, http.deadline_ms, .min = 100, .max = 600000,
	.def = "5000"),

    CFG(IMAGES, "dir", T_PATH, images.dir, .def = "/var/lib/herd/images"),
    /* auto: herd's own address as each node sees it (the seed's "same server"). */
    CFG(IMAGES, "nfs_server", T_IP, images.nfs_server, .flags = K_AUTO, .def = "auto"),
    CFG(IMAGES, "nfs_options", T_STRING, images.nfs_options, .def = ""),
    /* auto: the [subnet] networks, else anyone. */
    CFG(IMAGES, "exports_clients", T_STRING, images.exports_clients, .def = "auto"),
    CFG(IMAGES, "exports_ganesha", T_PATH, images.exports_ganesha, .flags = K_EMPTY, .def = ""),
    CFG(IMAGES, "exports_kernel", T_PATH, images.exports_kernel, .flags = K_EMPTY, .def = ""),
    CFG(IMAGES, "keep", T_UINT, images.keep, .min = 0, .max = 1000, .def = "2"),

    /* Node state and the control socket (src/ops, herd status). */
    CFG(STATUS, "enabled", T_BOOL, status.enabled, .def = "yes"),
    CFG(STATUS, "socket", T_PATH, status.socket, .flags = K_EMPTY, .def = "/run/herd/herd.sock"),
    /* "": [server] user, and that user's group. */
    CFG(STATUS, "owner", T_USER, status.owner, .def = ""),
    CFG(STATUS, "group", T_USER, status.group, .def = ""),
    CFG(STATUS, "max_nodes", T_UINT, status.max_nodes, .min = 1, .max = 4000000, .def = "65536"),
    CFG(STATUS, "stage_timeout_s", T_UINT, status.stage_timeout_s, .min = 0, .max = 86400,
	.def = "300"),
    /* herd's initramfs says this once the root is mounted (docs/IMAGES.md). */
    CFG(STATUS, "up_marker", T_STRING, status.up_marker, .def = "herd-init: root: mounted"),

    /* The ops HTTP listener (ops/ops_http.c): read-only, loopback by
     * default; each endpoint on it ("yes"), off ("no") or on its own
     * ADDR:PORT. Checked by conf_status_where(). */
    CFG(STATUS, "listen", T_STRING, status_http.listen, .def = "127.0.0.1:9180"),
    CFG(STATUS, "metrics", T_STRING, status_http.metrics, .def = "yes"),
    CFG(STATUS, "api", T_STRING, status_http.api, .def = "yes"),
    CFG(STATUS, "dashboard", T_STRING, status_http.dashboard, .def = "yes"),

    /* Several herd servers sharing PostgreSQL (docs/CLUSTER.md): no
     * database, no cluster (the lease journal of [dhcp] lease_file). */
    CFG(CLUSTER, "database", T_STRING, cluster.database, .def = ""),
    /* "": the host name. Unique among the servers of one database. */
    CFG(CLUSTER, "name", T_STRING, cluster.name, .def = ""),
    CFG(CLUSTER, "takeover_s", T_UINT, cluster.takeover_s, .min = 1, .max = 3600, .def = "5"),
    CFG(CLUSTER, "queue", T_UINT, cluster.queue, .min = 16, .max = 1000000, .def = "20000"),

    SUBNET("network", T_NETWORK, network, SUBNET2(mask), .def = NULL),
    SUBNET("pool", T_POOL, pool_start, SUBNET2(pool_end), .def = ""),
    SUBNET("router", T_IP, router, .flags = K_EMPTY, .def = ""),
    SUBNET("dns", T_IPLIST, dns, SUBNET2(ndns), .max = CONF_MAX_DNS, .def = ""),
    SUBNET("domain", T_STRING, domain, .def = ""),
    SUBNET("log_server", T_IP, log_server, .flags = K_AUTO, .def = "auto"),
    SUBNET("next_server", T_IP, next_server, .flags = K_AUTO, .def = "auto"),
    SUBNET("lease_time", T_UINT, lease_time, .flags = K_AUTO, .min = 60, .max = LEASE_MAX,
	   .def = "auto"),
    SUBNET("renewal_time", T_UINT, timers.renewal, .flags = K_AUTO, .min = 1, .max = LEASE_MAX,
	   .def = "auto"),
    SUBNET("rebinding_time", T_UINT, timers.rebinding, .flags = K_AUTO, .min = 1, .max = LEASE_MAX,
	   .def = "auto"),
    SUBNET("pool_hostnames", T_BOOL, pool_hostnames, .flags = K_AUTO, .def = "auto"),

    GROUP("loader_bios", T_STRING, loader_bios, .flags = K_NO_URL, .def = "undionly.kpxe"),
    GROUP("loader_efi64", T_STRING, loader_efi64, .flags = K_NO_URL, .def = "ipxe.efi"),
    GROUP("loader_arm64", T_STRING, loader_arm64, .flags = K_NO_URL, .def = ""),
    /* A path beneath the root, or an http:// URL (conf_boot.c: only in a
     * group whose iPXE fetches over HTTP). */
    GROUP("kernel", T_STRING, kernel, .flags = K_HTTP_URL, .def = ""),
    GROUP("initrd", T_STRING, initrd, .flags = K_HTTP_URL, .def = ""),
    /* Lines are at most ~200 characters (libinih): a long command line
     * is written as several `cmdline =` lines. */
    GROUP("cmdline", T_STRING, cmdline, .flags = K_JOIN, .def = ""),
    GROUP("boot_options", T_ENUM, boot_options, .words = boot_words, .def = "pxe"),
    /* How iPXE fetches kernel and initrd: auto is http when [http] is
     * enabled, else tftp. */
    GROUP("ipxe_fetch", T_ENUM, ipxe_fetch, .words = fetch_words, .def = "auto"),
    /* An image of [images] dir: kernel, initrd, NFS root and command line. */
    GROUP("image", T_STRING, image, .def = ""),
    GROUP("init", T_STRING, init, .def = ""),
    GROUP("on_failure", T_ENUM, on_failure, .words = failure_words, .def = "reboot"),
    GROUP("nfs_server", T_IP, nfs_server, .flags = K_EMPTY, .def = ""),
    GROUP("renewal_time", T_UINT, timers.renewal, .flags = K_AUTO, .min = 1, .max = LEASE_MAX,
	  .def = "auto"),
    GROUP("rebinding_time", T_UINT, timers.rebinding, .flags = K_AUTO, .min = 1, .max = LEASE_MAX,
	  .def = "auto"),

    /* Patterns are shell globs (fnmatch); empty: anything. */
    RULE("arch", T_STRING, match[RULE_ARCH], .def = ""),
    RULE("vendor_class", T_STRING, match[RULE_VENDOR_CLASS], .def = ""),
    RULE("user_class", T_STRING, match[RULE_USER_CLASS], .def = ""),
    RULE("circuit_id", T_STRING, match[RULE_CIRCUIT_ID], .def = ""),
    RULE("remote_id", T_STRING, match[RULE_REMOTE_ID], .def = ""),
    /* the boot NIC's PCI vendor:device ("8086:1572"), as iPXE reports it */
    RULE("nic", T_STRING, match[RULE_NIC], .def = ""),
    RULE("manufacturer", T_STRING, match[RULE_MANUFACTURER], .def = ""),
    RULE("product", T_STRING, match[RULE_PRODUCT], .def = ""),
    RULE("serial", T_STRING, match[RULE_SERIAL], .def = ""),
    RULE("uuid", T_STRING, match[RULE_UUID], .def = ""),
    RULE("group", T_STRING, group, .def = NULL),
    /* %{circuit_id}, %{remote_id}, %{mac}, %{serial}...: see boot/rules.h */
    RULE("name", T_STRING, node_name, .def = ""),
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(N_KEYS <= CONF_MAX_KEYS, "raise CONF_MAX_KEYS");
const unsigned conf_nkeys = N_KEYS;

int conf_key_find(enum conf_section section, const char *name)
{
	for (unsigned i = 0; i < N_KEYS; i++)
		if (conf_keys[i].section == section && conf_keys[i].name[0] == name[0] &&
		    strcmp(conf_keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errsize, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int conf_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (unsigned i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Decimal, with a K, M or G suffix (x1024) if `size_suffix`. */
static int parse_uint(const char *v, uint64_t *out, bool size_suffix)
{
	char *end;
	unsigned long long n;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	if (size_suffix && *end) {
		unsigned shift = 0;
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
		if (n > (ULLONG_MAX >> shift))
			return -ERANGE;
		n <<= shift;
	}
	if (*end != '\0')
		return -EINVAL;
	*out = n;
	return 0;
}

/* A rate in bits/s with a decimal suffix: 950M, 1G, 10g, 100k; or auto. */
static int parse_rate(const char *v, uint64_t *out)
{
	char *end;
	double n;
	double mult = 1;
	size_t digits;

	if (strcmp(v, "auto") == 0) {
		*out = CONF_AUTO;
		return 0;
	}
	/* Digits and a point only: strtod would also take -1, 1e3, 0x10, nan. */
	digits = strspn(v, "0123456789.");
	if (digits == 0)
		return -EINVAL;
	errno = 0;
	n = strtod(v, &end);
	if (errno || end != v + digits)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		mult = 1e3;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1e6;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1e9;
		end++;
		break;
	}
	if (*end != '\0' || n * mult > 1e15)
		return -EINVAL;
	*out = (uint64_t)(n * mult);
	return 0;
}

/* A host address: A.B.C.D, not 0.0.0.0 (which stands for none or auto). */
static int parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1 || in.s_addr == 0)
		return -EINVAL;
	*ip = in.s_addr;
	return 0;
}

/* Splits a copy of v at spaces, tabs and commas into at most max words;
 * returns their number, or -1 if there are more or v is too long. */
static int split_words(const char *v, char *buf, size_t size, char **words, unsigned max)
{
	char *save = NULL;
	int n = 0;

	if (strlen(v) >= size)
		return -1;
	strcpy(buf, v);
	for (char *w = strtok_r(buf, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save)) {
		if ((unsigned)n == max)
			return -1;
		words[n++] = w;
	}
	return n;
}

static int set_listen(const struct conf_key *k, struct conf_listen *l, const char *v, char *err,
		      size_t errsize)
{
	char buf[256], *words[CONF_MAX_LISTEN];
	struct conf_listen parsed = {.count = 0};
	int n = split_words(v, buf, sizeof(buf), words, (unsigned)k->max);

	if (n < 0)
		return fail(err, errsize, "%s: at most %u address%s", k->name, (unsigned)k->max,
			    k->max == 1 ? "" : "es");
	for (; parsed.count < (unsigned)n; parsed.count++) {
		const char *word = words[parsed.count];
		struct netaddr *a = &parsed.addrs[parsed.count];
		if (netaddr_parse(word, k->port, a) < 0)
			return fail(err, errsize,
				    "%s: '%s' is not an IPv4 address with an optional :port",
				    k->name, word);
		if (!ipaddr_is_v4(&a->ip))
			return fail(err, errsize, "%s: '%s': herd does not serve IPv6 yet", k->name,
				    word);
	}
	/* Only a valid list replaces the old one, as with every other type, so
	 * a typo is reported once and not again as "listen is empty". */
	*l = parsed;
	return 0;
}

static int set_iplist(const struct conf_key *k, void *base, const char *v, char *err,
		      size_t errsize)
{
	char buf[256], *words[CONF_MAX_DNS];
	uint32_t ips[CONF_MAX_DNS];
	int n = split_words(v, buf, sizeof(buf), words, (unsigned)k->max);

	for (int i = 0; i < n; i++)
		if (parse_ip(words[i], &ips[i]) < 0)
			n = -1;
	if (n < 0)
		return fail(err, errsize, "%s: '%s' is not a list of at most %u IPv4 addresses",
			    k->name, v, (unsigned)k->max);
	memcpy((char *)base + k->offset, ips, (size_t)n * sizeof(ips[0]));
	*(unsigned *)((char *)base + k->offset2) = (unsigned)n;
	return 0;
}

static int set_network(const struct conf_key *k, void *base, const char *v, char *err,
		       size_t errsize)
{
	char buf[32];
	const char *slash = strchr(v, '/');
	uint64_t bits = 0;
	uint32_t net, mask;

	if (slash && (size_t)(slash - v) < sizeof(buf)) {
		memcpy(buf, v, (size_t)(slash - v));
		buf[slash - v] = '\0';
		if (inet_pton(AF_INET, buf, &net) != 1 || parse_uint(slash + 1, &bits, false) < 0)
			bits = 0;
	}
	if (bits < 1 || bits > 32)
		return fail(err, errsize, "%s: '%s' is not A.B.C.D/BITS (BITS 1 to 32)", k->name,
			    v);
	mask = htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits));
	if ((net & ~mask) != 0) {
		net &= mask;
		return fail(err, errsize, "%s: '%s' has host bits set (the network is %s/%u)",
			    k->name, v, inet_ntop(AF_INET, &net, buf, sizeof(buf)), (unsigned)bits);
	}
	*(uint32_t *)((char *)base + k->offset) = net;
	*(uint32_t *)((char *)base + k->offset2) = mask;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* "FIRST - LAST" or "FIRST LAST"; empty: no pool. */
static int set_pool(const struct conf_key *k, void *base, const char *v, char *err, size_t errsize)
{
	char buf[64], *sep;
	uint32_t a = 0, b = 0;

	if (*v && strlen(v) < sizeof(buf)) {
		strcpy(buf, v);
		sep = strchr(buf, '-');
		if (sep == NULL)
			sep = buf + strcspn(buf, " \t");
		if (*sep == '\0' || (*sep = '\0', parse_ip(trim(buf), &a) < 0) ||
		    parse_ip(trim(sep + 1), &b) < 0 || ntohl(a) > ntohl(b))
			a = 0;
	}
	if (*v && a == 0)
		return fail(err, errsize,
			    "%s: '%s' is not FIRST - LAST (A.B.C.D - A.B.C.D, in order)", k->name,
			    v);
	*(uint32_t *)((char *)base + k->offset) = ntohl(a);
	*(uint32_t *)((char *)base + k->offset2) = ntohl(b);
	return 0;
}

bool conf_is_url(const char *v)
{
	const char *colon = strstr(v, "://");

	return colon != NULL && colon > v &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+.-") ==
		   (size_t)(colon - v);
}

bool conf_is_http_url(const char *v)
{
	return strncasecmp(v, "http://", 7) == 0 && v[7] != '\0' && v[7] != '/';
}

static int set_string(const struct conf_key *k, char *field, const char *v, bool again, char *err,
		      size_t errsize)
{
	size_t len = strlen(v);

	if ((k->flags & K_NO_URL) && conf_is_url(v))
		return fail(err, errsize,
			    "%s: '%s' is a URL, but a loader is a path beneath [tftp] root (PXE "
			    "firmware loads it by TFTP; an HTTP boot client gets herd's own "
			    "http:// URL for it)",
			    k->name, v);
	if ((k->flags & K_HTTP_URL) && conf_is_url(v) && !conf_is_http_url(v))
		return fail(err, errsize,
			    "%s: '%s': the only URLs herd passes on are http://HOST/... (iPXE "
			    "fetches them as given; herd cannot tell whether the iPXE build "
			    "speaks another scheme): give an http:// URL or a path beneath "
			    "[tftp] root",
			    k->name, v);
	if ((k->flags & K_JOIN) && again && field[0] != '\0') {
		size_t have = strlen(field);
		if (len == 0)
			return 0; /* an empty line adds nothing */
		if (have + 1 + len >= k->size)
			return fail(err, errsize, "%s: longer than %zu characters", k->name,
				    k->size - 1);
		field[have] = ' ';
		memcpy(field + have + 1, v, len + 1);
		return 0;
	}
	if (len >= k->size)
		return fail(err, errsize, "%s: longer than %zu characters", k->name, k->size - 1);
	memcpy(field, v, len + 1);
	return 0;
}

static int set_enum(const struct conf_key *k, int *field, const char *v, char *err, size_t errsize)
{
	char list[128] = "";
	unsigned n = 0;

	for (; k->words[n]; n++) {
		if (strcmp(v, k->words[n]) == 0) {
			*field = (int)n;
			return 0;
		}
	}
	/* "pxe or always"; "one of error, warning, info, debug" */
	for (unsigned i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i == 0	 ? (n > 2 ? "one of " : "")
			 : n > 2 ? ", "
				 : " or ",
			 k->words[i]);
	return fail(err, errsize, "%s: '%s' is not %s", k->name, v, list);
}

static void store_uint(const struct conf_key *k, void *field, uint64_t n)
{
	if (k->size == sizeof(uint64_t))
		*(uint64_t *)field = n;
	else
		*(unsigned *)field = (unsigned)n;
}

static uint64_t load_uint(const struct conf_key *k, const void *field)
{
	return k->size == sizeof(uint64_t) ? *(const uint64_t *)field : *(const unsigned *)field;
}

int conf_key_set(const struct conf_key *k, void *base, const char *v, bool again, char *err,
		 size_t errsize)
{
	void *field = (char *)base + k->offset;
	const char *or_auto = k->flags & K_AUTO ? " or auto" : "";
	uint64_t n;
	bool b;

	if ((k->flags & K_AUTO) && strcmp(v, "auto") == 0) {
		if (k->type == T_BOOL)
			*(int *)field = -1;
		else if (k->type == T_IP)
			*(uint32_t *)field = 0;
		else
			store_uint(k, field, 0);
		return 0;
	}
	switch (k->type) {
	case T_BOOL:
		if (conf_parse_bool(v, &b) < 0)
			return fail(err, errsize, "%s: '%s' is not yes%s no%s", k->name, v,
				    *or_auto ? "," : " or", or_auto);
		if (k->flags & K_AUTO)
			*(int *)field = b;
		else
			*(bool *)field = b;
		return 0;
	case T_UINT:
	case T_SIZE:
		if (parse_uint(v, &n, k->type == T_SIZE) < 0)
			return fail(err, errsize, "%s: '%s' is not a %s%s", k->name, v,
				    k->type == T_SIZE ? "size (like 512, 64K, 8M, 1G)" : "number",
				    or_auto);
		if (n < k->min || n > k->max)
			return fail(err, errsize, "%s: %llu is outside %llu..%llu", k->name,
				    (unsigned long long)n, (unsigned long long)k->min,
				    (unsigned long long)k->max);
		store_uint(k, field, n);
		return 0;
	case T_RATE:
		if (parse_rate(v, &n) < 0)
			return fail(
			    err, errsize,
			    "%s: '%s' is not a rate in bits/s (like 0, 950M, 1G, 10G) or auto",
			    k->name, v);
		if (n > k->max && n != CONF_AUTO)
			return fail(err, errsize, "%s: %s is above %llu", k->name, v,
				    (unsigned long long)k->max);
		*(uint64_t *)field = n;
		return 0;
	case T_ENUM:
		return set_enum(k, field, v, err, errsize);
	case T_STRING:
		return set_string(k, field, v, again, err, errsize);
	case T_PATH:
		if (v[0] != '/' && !(v[0] == '\0' && (k->flags & K_EMPTY)))
			return fail(err, errsize, "%s: '%s' must be an absolute path", k->name, v);
		if (strlen(v) >= k->size)
			return fail(err, errsize, "%s: path too long", k->name);
		strcpy(field, v);
		return 0;
	case T_USER:
		if (strlen(v) >= k->size || strpbrk(v, " /:\t") != NULL || v[0] == ';' ||
		    v[0] == '#')
			return fail(err, errsize, "%s: '%s' is not a user name", k->name, v);
		strcpy(field, v);
		return 0;
	case T_LISTEN:
		return set_listen(k, field, v, err, errsize);
	case T_IP:
		if (v[0] == '\0' && (k->flags & K_EMPTY)) {
			*(uint32_t *)field = 0;
			return 0;
		}
		if (parse_ip(v, field) < 0)
			return fail(err, errsize, "%s: '%s' is not an IPv4 address A.B.C.D%s",
				    k->name, v, or_auto);
		return 0;
	case T_IPLIST:
		return set_iplist(k, base, v, err, errsize);
	case T_NETWORK:
		return set_network(k, base, v, err, errsize);
	case T_POOL:
		return set_pool(k, base, v, err, errsize);
	}
	return fail(err, errsize, "%s: no such type", k->name);
}

/* Where `herd check` breaks a joined value (cmdline) into lines: at the
 * last single space before `width`, or the first after it if there is
 * none; always before a word that starts with ';' (after a space, it
 * would start a comment). 0: the rest fits on one line. Each part was
 * read from one line, so is no longer than a line. */
static size_t join_cut(const char *s, size_t width)
{
	size_t cut = 0, i;

	if (s[0] == '\0')
		return 0;
	for (i = 1; s[i] && s[i + 1]; i++) {
		if (s[i] != ' ' || isspace((unsigned char)s[i - 1]) ||
		    isspace((unsigned char)s[i + 1]))
			continue;
		if (i > width && cut != 0)
			return cut;
		if (s[i + 1] == ';' || i > width)
			return i;
		cut = i;
	}
	return i + 1 > width ? cut : 0;
}

/* "name = value"; "name=value" when the value starts like a comment (libinih
 * would take " ;..." after the '=' as one) or the line would be too long. */
static void print_line(FILE *out, const char *name, const char *v, size_t len)
{
	if (len == 0)
		fprintf(out, "%s =\n", name);
	else if (v[0] == ';' || v[0] == '#' || strlen(name) + 3 + len > INI_MAX_LINE - 2)
		fprintf(out, "%s=%.*s\n", name, (int)len, v);
	else
		fprintf(out, "%s = %.*s\n", name, (int)len, v);
}

static void print_joined(FILE *out, const char *name, const char *v)
{
	size_t cut;

	while ((cut = join_cut(v, 150)) != 0) {
		print_line(out, name, v, cut);
		v += cut + 1;
	}
	print_line(out, name, v, strlen(v));
}

static void print_ips(char *buf, size_t size, const uint32_t *ips, unsigned n)
{
	char a[INET_ADDRSTRLEN];

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? " " : "",
			 inet_ntop(AF_INET, &ips[i], a, sizeof(a)));
}

void conf_key_print(const struct conf_key *k, const void *base, FILE *out)
{
	const void *field = (const char *)base + k->offset;
	const void *field2 = (const char *)base + k->offset2;
	char buf[256], a[NETADDR_STRLEN];
	uint64_t n;
	int tri;

	switch (k->type) {
	case T_BOOL:
		tri = k->flags & K_AUTO ? *(const int *)field : *(const bool *)field;
		snprintf(buf, sizeof(buf), "%s", tri < 0 ? "auto" : tri ? "yes" : "no");
		break;
	case T_UINT:
	case T_SIZE:
		n = load_uint(k, field);
		if ((k->flags & K_AUTO) && n == 0)
			snprintf(buf, sizeof(buf), "auto");
		else
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
		break;
	case T_RATE:
		n = *(const uint64_t *)field;
		if (n == CONF_AUTO)
			snprintf(buf, sizeof(buf), "auto");
		else
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
		break;
	case T_ENUM:
		snprintf(buf, sizeof(buf), "%s", k->words[*(const int *)field]);
		break;
	case T_STRING:
	case T_PATH:
	case T_USER:
		if (k->flags & K_JOIN)
			print_joined(out, k->name, field);
		else
			print_line(out, k->name, field, strlen(field));
		return;
	case T_LISTEN: {
		const struct conf_listen *l = field;
		buf[0] = '\0';
		for (unsigned i = 0; i < l->count; i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "",
				 netaddr_str(&l->addrs[i], a));
		break;
	}
	case T_IP:
		if (*(const uint32_t *)field == 0)
			snprintf(buf, sizeof(buf), "%s", k->flags & K_AUTO ? "auto" : "");
		else
			print_ips(buf, sizeof(buf), field, 1);
		break;
	case T_IPLIST:
		print_ips(buf, sizeof(buf), field, *(const unsigned *)field2);
		break;
	case T_NETWORK:
		print_ips(buf, sizeof(buf), field, 1);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%d",
			 __builtin_popcount(*(const uint32_t *)field2));
		break;
	case T_POOL: {
		uint32_t first = htonl(*(const uint32_t *)field),
			 last = htonl(*(const uint32_t *)field2);
		char b[INET_ADDRSTRLEN];
		buf[0] = '\0';
		if (first)
			snprintf(buf, sizeof(buf), "%s - %s",
				 inet_ntop(AF_INET, &first, a, sizeof(a)),
				 inet_ntop(AF_INET, &last, b, sizeof(b)));
		break;
	}
	}
	print_line(out, k->name, buf, strlen(buf));
}
