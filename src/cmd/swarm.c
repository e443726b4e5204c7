/* `herd swarm`: emulates N network-boot clients downloading one file over
 * TFTP (or files over HTTP, --url) from any server, each with its own socket and its firmware's timers,
 * verifies every block, and reports completion times and goodput. With
 * --dhcp each first does DHCP (DORA) with its own MAC through one shared
 * socket; --chain runs the three DHCP stages of a power-on, the iPXE stage
 * following its script over HTTP or TFTP; --dhcp-only is a DHCP load test.
 *
 * Start-up order: options, profiles, the file to verify against, the
 * descriptor limit, sockets, the DHCP socket, clients, signals, timers,
 * loop, report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/confine.h"
#include "core/loop.h"
#include "swarm/swarm_io.h"
#include "swarm/swarm_pictures.h"
#include "swarm/swarm_report.h"
#include "tftp/tftp_wire.h"

#define SWARM_MAX_CLIENTS 1000000
/* A rack of 2000 nodes, each with its own address (herd follows nodes by
 * address: test_status.sh). */
#define SWARM_MAX_BINDS 4096
#define SWARM_MAX_SETS 32
#define SWARM_MAX_MIX 6

static const char usage_text[] =
	"usage: herd swarm -s SERVER[:PORT] -f REMOTE_NAME --verify LOCAL_FILE -n CLIENTS\n"
	"           [--profile NAME | --mix ipxe:50,edk2:30,strict:20]\n"
	"           [--spread SECONDS] [--bind IP[,IP...]] [--link-rate RATE]\n"
	"           [--set KEY=VALUE ...] [--max-time SECONDS] [--json] [--quiet]\n"
	"       herd swarm --dhcp-server ADDR[,ADDR...] | --dhcp-broadcast IFACE  -n CLIENTS\n"
	"           [--dhcp-only] [--chain] [-f NAME [--verify FILE]] [-s SERVER]\n"
	"           [--boot-retries N [--boot-retry-delay SECONDS]] [--acks FILE] ...\n"
	"       herd swarm --url URL [--url-verify FILE] [--url URL ...] -n CLIENTS ...\n"
	"\n"
	"Emulates CLIENTS network-boot clients, each with its own UDP socket, downloading\n"
	"REMOTE_NAME over TFTP with its firmware's options, timers and give-up rule, and\n"
	"compares every block with LOCAL_FILE.\n"
	"\n"
	"  -s, --server ADDR[:PORT]  the TFTP server (port 69 by default; with --dhcp: the\n"
	"                            one the DHCP answer names, siaddr or option 66)\n"
	"  -f, --file NAME           the file to ask for (with --dhcp: the boot file the\n"
	"                            answer names, option 67 or `file`)\n"
	"      --verify FILE         the same file, locally: every block is checked\n"
	"  -n, --clients N           how many clients\n"
	"      --profile NAME        ipxe (default), edk2, pxelinux, uboot, grub, strict,\n"
	"                            busybox. edk2 and strict probe first (RRQ with tsize,\n"
	"                            ERROR 8), then ask again from the same port and drop\n"
	"                            anything from the probe's server port as stale: a\n"
	"                            server answering from that port fails them\n"
	"      --mix NAME:PCT,...    several firmwares, percentages adding up to 100\n"
	"      --spread SECONDS      start all at once (0, default) or evenly over SECONDS\n"
	"      --bind IP[,IP...]     client source addresses, round-robin\n"
	"      --link-rate RATE      e.g. 500M, 1G (bit/s): goodput as a share of the link\n"
	"      --set KEY=VALUE       override a profile number (in every profile of a mix):\n"
	"                            blksize, windowsize, timeout_ms, max_timeout_ms, retries,\n"
	"                            giveup_ms, tsize=0/1, backoff (factor), step_ms,\n"
	"                            timeout (RFC 2349 seconds), restarts; 0 = not asked/no limit;\n"
	"                            size_probe=0/1, probe_same_port=0/1 (else a new port),\n"
	"                            stale_tid_discard=0/1 (with probe_same_port);\n"
	"                            dhcp_timeouts=S,S,... (DHCP waits, seconds), dhcp_id=NAME\n"
	"                            (pxe-bios, ovmf, ipxe-bios, ipxe-efi, udhcpc, uboot),\n"
	"                            request_fallback=0/1 (below)\n"
	"      --max-time SECONDS    hard stop (default 300): clients still running fail\n"
	"      --json                also print one JSON line (the last line of stdout)\n"
	"      --quiet               no progress line\n"
	"      --timeline FILE.json  per client: its stage transitions with times, bytes,\n"
	"                            retries and outcome\n"
	"      --chart FILE.svg      clients done over time (with --link-rate, the wire\n"
	"                            limit drawn as a line): open it in a browser\n"
	"\n"
	"DHCP (each client has its own MAC, 02:48 then 32 bits: --mac-base + its number):\n"
	"      --dhcp                each client does DHCP (DORA) first, with its firmware's\n"
	"                            options and timers (PXE ROM, edk2: 4 8 16 32 s; ipxe:\n"
	"                            1 2 4 8 s); needs --dhcp-server or --dhcp-broadcast\n"
	"      --dhcp-server ADDR[,ADDR...]  as a relay agent: requests unicast to ADDR:67\n"
	"                            with giaddr = the first --bind address (else the address\n"
	"                            routed towards the first ADDR); replies come to port 67;\n"
	"                            the server needs a subnet holding giaddr. One socket for\n"
	"                            every client. Several ADDRs (up to 8): every request goes\n"
	"                            to each, as a relay with several helper addresses; the\n"
	"                            first OFFER wins, the ACK must come from its server\n"
	"      --dhcp-broadcast IFACE  broadcast on IFACE with the broadcast flag set (port 68)\n"
	"      --dhcp-only           DORA only, no TFTP: a DHCP load test\n"
	"      --chain               a whole power-on: firmware DHCP + loader (-f or the boot\n"
	"                            file), iPXE DHCP (user class iPXE) + the file it is\n"
	"                            given and, if that is a script, what it names (HTTP,\n"
	"                            below), initramfs DHCP (udhcpc); with --dhcp-only, the\n"
	"                            three DORAs alone\n"
	"      --mac-base N          the first client's MAC number (default 0): runs at once\n"
	"                            or one after the other need different MACs\n"
	"      --boot-retries N      a client that fails (DHCP gave up, a TFTP timeout or\n"
	"                            ERROR, an HTTP failure; not a mismatch) boots again from\n"
	"                            its firmware's DISCOVER (new xid, new ports) after the\n"
	"                            delay, up to N times (default 0: it fails), as a BIOS\n"
	"                            boot-retry, an iPXE retry loop or a watchdog reset does\n"
	"      --boot-retry-delay SECONDS  before each boot again (default 5)\n"
	"      --acks FILE           one line per DHCPACK a client took:\n"
	"                            T_MS MAC IP SERVER_ID LEASE_SECS STAGE (ms after the\n"
	"                            start; STAGE firmware, ipxe or os)\n"
	"      A DHCPREQUEST no ACK answers after the firmware's re-sends ends the DHCP\n"
	"      in the ipxe, edk2 and strict profiles, as EDK2 and iPXE do (then\n"
	"      --boot-retries); the others go back to DISCOVER (RFC 2131 4.4.1, udhcpc),\n"
	"      up to 3 times with the NAKs. --set request_fallback=0/1 chooses.\n"
	"\n"
	"HTTP (iPXE's: HTTP/1.1, one kept-alive connection per client, one request at a\n"
	"time; the connection must come up and what it sends be acknowledged within the\n"
	"profile's giveup_ms, as iPXE's TCP retry timer; no timeout while data is awaited):\n"
	"      --url URL             every client starts straight at its HTTP stage and\n"
	"                            fetches http://IP[:PORT]/PATH (up to 4, in order,\n"
	"                            e.g. a kernel, then an initrd); no DHCP\n"
	"      --url-verify FILE     the local copy of the --url of the same rank\n"
	"      --die N               with --chain, the first N clients go silent in the middle\n"
	"                            of the iPXE stage's first large TFTP download (the\n"
	"                            kernel: after 100 blocks), as a firmware that gives up\n"
	"                            or a node powered off; counted as failed `died`\n"
	"      --http-stall SECONDS  fail a client that waits this long for a byte (0,\n"
	"                            default: never, as iPXE; EDK2's HTTP boot: 5)\n"
	"      With --chain the iPXE stage follows its script: the boot file the iPXE\n"
	"      DHCP ACK names (a name on the TFTP server, or an http:// URL) is the\n"
	"      script (a file not starting with #!ipxe is an image, booted as it is);\n"
	"      every kernel, initrd, module and imgfetch line is fetched in order,\n"
	"      over HTTP for http:// and TFTP for tftp:// URLs. docs/SWARM-HTTP.md.\n"
	"\n"
	"Exit status: 0 if every client got the whole file (every URL with --url, every\n"
	"DORA with --dhcp-only), 1 otherwise, 2 on usage errors.\n";

struct swarm_opts {
	const char *server, *remote, *verify, *mix_text, *bind_text;
	const char *dhcp_server, *dhcp_iface;
	const char *urls[SWARM_MAX_URLS], *url_verify[SWARM_MAX_URLS];
	unsigned nurls, nurl_verify;
	double http_stall_s;
	bool dhcp, dhcp_only, chain;
	uint32_t mac_base;
	uint32_t die; /* --die: clients that go silent mid-kernel */
	uint32_t boot_retries;	   /* --boot-retries */
	double boot_retry_delay_s; /* --boot-retry-delay */
	const char *acks;	   /* --acks FILE */
	unsigned clients;
	double spread_s, max_time_s, link_bps;
	bool json, quiet;
	const char *timeline, *chart; /* --timeline FILE.json, --chart FILE.svg */
	const char *sets[SWARM_MAX_SETS];
	unsigned nsets;
	struct swarm_profile profiles[SWARM_MAX_MIX];
	unsigned weights[SWARM_MAX_MIX];
	unsigned nprofiles;
	uint32_t binds[SWARM_MAX_BINDS];
	unsigned nbinds;
	/* --chain: iPXE and the initramfs, after every --set. */
	struct swarm_profile stage_prof[SWARM_BOOT_STAGES];
	char label[128];
};

struct swarm_run {
	struct swarm_opts *o;
	struct loop *loop;
	struct swarm sw;
	struct swarm_io *io;
	struct loop_io sig;
	struct timer stop_timer, progress_timer;
	struct netaddr dhcp_servers[SWARM_DHCP_SERVERS_MAX]; /* relay mode: ADDR:67 ... */
	unsigned ndhcp_servers;
	mono_t t0;
	mono_t last_tick; /* of the progress line */
	uint64_t last_bytes;
	bool tty;
	bool progress_shown;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "herd swarm: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(herd swarm --help for the usage)\n");
	return 2;
}

/* A usage error about a profile name, with the names there are. */
static int profile_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "herd swarm: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (profiles: %s)\n(herd swarm --help for the usage)\n",
		swarm_profile_names());
	return 2;
}

static int parse_seconds(const char *s, double min, double *out)
{
	char *end;
	double v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtod(s, &end);
	if (*end != '\0' || v < min || v > 86400 * 7)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "ipxe:50,edk2:30,strict:20": each profile once, percentages adding to 100. */
static int parse_mix(struct swarm_opts *o, const char *text)
{
	char buf[128], *save = NULL, *item;
	unsigned total = 0;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':'), *end;
		const struct swarm_profile *p;
		unsigned long pct;

		if (colon == NULL || o->nprofiles == SWARM_MAX_MIX)
			return -EINVAL;
		*colon = '\0';
		p = swarm_profile_find(item);
		pct = strtoul(colon + 1, &end, 10);
		if (p == NULL || colon[1] < '0' || colon[1] > '9' || *end || pct == 0 || pct > 100)
			return -EINVAL;
		for (unsigned i = 0; i < o->nprofiles; i++)
			if (strcmp(o->profiles[i].name, p->name) == 0)
				return -EINVAL;
		o->profiles[o->nprofiles] = *p;
		o->weights[o->nprofiles++] = (unsigned)pct;
		total += (unsigned)pct;
	}
	return total == 100 ? 0 : -EINVAL;
}

static int parse_binds(struct swarm_opts *o, const char *text)
{
	char *buf, *save = NULL, *item;
	int err = 0;

	if (strlen(text) >= SWARM_MAX_BINDS * 16 || (buf = strdup(text)) == NULL)
		return -EINVAL;
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct netaddr a;
		if (o->nbinds == SWARM_MAX_BINDS || strchr(item, ':') ||
		    netaddr_parse(item, 0, &a) < 0 || ipaddr_to_v4(&a.ip) == 0) {
			err = -EINVAL;
			break;
		}
		o->binds[o->nbinds++] = ipaddr_to_v4(&a.ip);
	}
	free(buf);
	return err < 0 || o->nbinds == 0 ? -EINVAL : 0;
}

/* Which options go together: without DHCP a TFTP server, a file and the
 * copy to verify against; with it a way to reach the DHCP server. */
static int check_modes(struct swarm_opts *o)
{
	o->dhcp = o->dhcp || o->dhcp_server || o->dhcp_iface || o->dhcp_only || o->chain;
	if (!o->clients)
		return usage_error("%s", "-n is required");
	if ((o->boot_retries || o->acks) && !o->dhcp)
		return usage_error("%s", "--boot-retries and --acks need DHCP");
	if (o->nurls) {
		if (o->dhcp || o->server || o->remote || o->verify)
			return usage_error("%s", "--url excludes DHCP, -s, -f and --verify");
		if (o->nurl_verify > o->nurls)
			return usage_error("%s", "more --url-verify than --url");
		return 0;
	}
	if (o->nurl_verify)
		return usage_error("%s", "--url-verify needs --url");
	if (!o->dhcp && (!o->server || !o->remote || !o->verify))
		return usage_error("%s", "-s, -f, --verify and -n are required");
	if (o->dhcp && !o->dhcp_server == !o->dhcp_iface)
		return usage_error("%s", "DHCP needs one of --dhcp-server and --dhcp-broadcast");
	if (o->verify && !o->remote && !o->chain)
		return usage_error("%s", "--verify needs -f (the file it is a copy of)");
	if (o->remote && (strlen(o->remote) == 0 || strlen(o->remote) > TFTP_NAME_MAX))
		return usage_error("-f: '%s' is empty or too long", o->remote);
	return 0;
}

/* --chain: the firmware stage is a PXE ROM, even for a client whose later
 * stage is iPXE (an iPXE NIC ROM would get its script at once and skip the
 * loader); then iPXE and the initramfs. Before --set, which applies to all. */
static void chain_profiles(struct swarm_opts *o)
{
	const struct swarm_profile *pxe = swarm_profile_find("strict");

	for (unsigned k = 0; k < o->nprofiles; k++) {
		struct swarm_profile *p = &o->profiles[k];
		if (p->dhcp_id && p->dhcp_id->user_class) {
			p->dhcp_id = pxe->dhcp_id;
			memcpy(p->dhcp_timeouts_ms, pxe->dhcp_timeouts_ms, sizeof(p->dhcp_timeouts_ms));
			p->ndhcp_timeouts = pxe->ndhcp_timeouts;
		}
	}
	o->stage_prof[SWARM_BOOT_IPXE] = *swarm_profile_find("ipxe");
	o->stage_prof[SWARM_BOOT_OS] = *swarm_profile_find("busybox");
}

/* The profiles (one, or a mix) with every --set applied, and the binds. */
static int check_args(struct swarm_opts *o, const char *profile)
{
	int err = check_modes(o);

	if (err)
		return err;
	if (profile && o->mix_text)
		return usage_error("%s", "--profile and --mix exclude each other");
	if (o->mix_text) {
		if (parse_mix(o, o->mix_text) < 0)
			return profile_error("--mix: '%s' is not NAME:PCT,... adding up to 100",
					     o->mix_text);
		snprintf(o->label, sizeof(o->label), "%s", o->mix_text);
	} else {
		const struct swarm_profile *p = swarm_profile_find(profile ? profile : "ipxe");
		if (p == NULL)
			return profile_error("--profile: no profile '%s'", profile);
		o->profiles[0] = *p;
		o->weights[0] = 100;
		o->nprofiles = 1;
		snprintf(o->label, sizeof(o->label), "%s", p->name);
	}
	if (o->chain)
		chain_profiles(o);
	for (unsigned i = 0; i < o->nsets; i++) {
		bool ok = true;
		for (unsigned k = 0; k < o->nprofiles; k++)
			ok = ok && swarm_profile_set(&o->profiles[k], o->sets[i]) == 0;
		for (unsigned k = 1; o->chain && k < SWARM_BOOT_STAGES; k++)
			ok = ok && swarm_profile_set(&o->stage_prof[k], o->sets[i]) == 0;
		if (!ok)
			return usage_error("--set: '%s' is not KEY=VALUE with a known key "
					   "and a value in range",
					   o->sets[i]);
	}
	if (o->bind_text && parse_binds(o, o->bind_text) < 0)
		return usage_error("--bind: '%s' is not a list of IPv4 addresses", o->bind_text);
	return 0;
}

static int parse_clients(struct swarm_opts *o, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (s[0] < '0' || s[0] > '9' || *end || v == 0 || v > SWARM_MAX_CLIENTS)
		return -EINVAL;
	o->clients = (unsigned)v;
	return 0;
}

static int parse_mac_base(struct swarm_opts *o, const char *s)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	o->mac_base = (uint32_t)v;
	return 0;
}

static int parse_count(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Returns 0, 2 on a usage error, or -1 after --help. */
static int parse_args(struct swarm_opts *o, int argc, char **argv)
{
	enum { O_VERIFY = 256, O_PROFILE, O_MIX, O_SPREAD, O_BIND, O_LINK, O_SET, O_MAXT, O_JSON,
	       O_QUIET, O_DHCP, O_DHCP_SERVER, O_DHCP_BCAST, O_DHCP_ONLY, O_CHAIN, O_MAC_BASE,
	       O_URL, O_URL_VERIFY, O_HTTP_STALL, O_DIE, O_TIMELINE, O_CHART, O_BOOT_RETRIES,
	       O_BOOT_RETRY_DELAY, O_ACKS };
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 's'},
		{"file", required_argument, NULL, 'f'},
		{"clients", required_argument, NULL, 'n'},
		{"verify", required_argument, NULL, O_VERIFY},
		{"profile", required_argument, NULL, O_PROFILE},
		{"mix", required_argument, NULL, O_MIX},
		{"spread", required_argument, NULL, O_SPREAD},
		{"bind", required_argument, NULL, O_BIND},
		{"link-rate", required_argument, NULL, O_LINK},
		{"set", required_argument, NULL, O_SET},
		{"max-time", required_argument, NULL, O_MAXT},
		{"json", no_argument, NULL, O_JSON},
		{"quiet", no_argument, NULL, O_QUIET},
		{"dhcp", no_argument, NULL, O_DHCP},
		{"dhcp-server", required_argument, NULL, O_DHCP_SERVER},
		{"dhcp-broadcast", required_argument, NULL, O_DHCP_BCAST},
		{"dhcp-only", no_argument, NULL, O_DHCP_ONLY},
		{"chain", no_argument, NULL, O_CHAIN},
		{"mac-base", required_argument, NULL, O_MAC_BASE},
		{"url", required_argument, NULL, O_URL},
		{"url-verify", required_argument, NULL, O_URL_VERIFY},
		{"http-stall", required_argument, NULL, O_HTTP_STALL},
		{"die", required_argument, NULL, O_DIE},
		{"timeline", required_argument, NULL, O_TIMELINE},
		{"chart", required_argument, NULL, O_CHART},
		{"boot-retries", required_argument, NULL, O_BOOT_RETRIES},
		{"boot-retry-delay", required_argument, NULL, O_BOOT_RETRY_DELAY},
		{"acks", required_argument, NULL, O_ACKS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *profile = NULL;
	int opt;

	o->max_time_s = 300;
	o->boot_retry_delay_s = 5;
	while ((opt = getopt_long(argc, argv, "s:f:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o->server = optarg; break;
		case 'f': o->remote = optarg; break;
		case 'n':
			if (parse_clients(o, optarg) < 0)
				return usage_error("-n: '%s' is not a number of clients", optarg);
			break;
		case O_VERIFY: o->verify = optarg; break;
		case O_PROFILE: profile = optarg; break;
		case O_MIX: o->mix_text = optarg; break;
		case O_SPREAD:
			if (parse_seconds(optarg, 0, &o->spread_s) < 0)
				return usage_error("--spread: '%s' is not a number of seconds",
						   optarg);
			break;
		case O_BIND: o->bind_text = optarg; break;
		case O_LINK:
			if (swarm_parse_rate(optarg, &o->link_bps) < 0)
				return usage_error("--link-rate: '%s' is not a rate (500M, 1G)",
						   optarg);
			break;
		case O_SET:
			if (o->nsets == SWARM_MAX_SETS)
				return usage_error("--set: more than %s", "32");
			o->sets[o->nsets++] = optarg;
			break;
		case O_MAXT:
			if (parse_seconds(optarg, 0.001, &o->max_time_s) < 0)
				return usage_error("--max-time: '%s' is not a number of seconds",
						   optarg);
			break;
		case O_JSON: o->json = true; break;
		case O_QUIET: o->quiet = true; break;
		case O_DHCP: o->dhcp = true; break;
		case O_DHCP_SERVER: o->dhcp_server = optarg; break;
		case O_DHCP_BCAST: o->dhcp_iface = optarg; break;
		case O_DHCP_ONLY: o->dhcp_only = true; break;
		case O_CHAIN: o->chain = true; break;
		case O_MAC_BASE:
			if (parse_mac_base(o, optarg) < 0)
				return usage_error("--mac-base: '%s' is not a number below 2^32",
						   optarg);
			break;
		case O_URL:
			if (o->nurls == SWARM_MAX_URLS)
				return usage_error("--url: more than %s", "4");
			o->urls[o->nurls++] = optarg;
			break;
		case O_URL_VERIFY:
			if (o->nurl_verify == SWARM_MAX_URLS)
				return usage_error("--url-verify: more than %s", "4");
			o->url_verify[o->nurl_verify++] = optarg;
			break;
		case O_HTTP_STALL:
			if (parse_seconds(optarg, 0, &o->http_stall_s) < 0)
				return usage_error("--http-stall: '%s' is not a number of seconds",
						   optarg);
			break;
		case O_DIE: o->die = (uint32_t)strtoul(optarg, NULL, 10); break;
		case O_TIMELINE: o->timeline = optarg; break;
		case O_CHART: o->chart = optarg; break;
		case O_BOOT_RETRIES:
			if (parse_count(optarg, 255, &o->boot_retries) < 0)
				return usage_error("--boot-retries: '%s' is not a number 0-255",
						   optarg);
			break;
		case O_BOOT_RETRY_DELAY:
			if (parse_seconds(optarg, 0, &o->boot_retry_delay_s) < 0)
				return usage_error("--boot-retry-delay: '%s' is not a number of seconds",
						   optarg);
			break;
		case O_ACKS: o->acks = optarg; break;
		case 'h': fputs(usage_text, stdout); return -1;
		default: return usage_error("%s", "bad option");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return check_args(o, profile);
}

/* Maps the file to verify against: one shared, read-only mapping. */
static int map_file(const char *path, const uint8_t **data, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p = NULL;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = fd < 0 ? -errno : -EINVAL;
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			close(fd);
			return -errno;
		}
	}
	close(fd);
	*data = p;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Spreads the profiles of a mix through the clients in their proportions
 * (smooth weighted round-robin), so that a --spread start mixes them too. */
static void assign_clients(struct swarm_run *r)
{
	struct swarm_opts *o = r->o;
	int credit[SWARM_MAX_MIX] = {0};

	for (unsigned i = 0; i < o->clients; i++) {
		unsigned best = 0;
		for (unsigned k = 0; k < o->nprofiles; k++) {
			credit[k] += (int)o->weights[k];
			if (credit[k] > credit[best])
				best = k;
		}
		credit[best] -= 100;
		mono_t start = r->t0 + (mono_t)(o->spread_s * 1e6 * i / o->clients);
		swarm_client_init(swarm_io_client(r->io, i), &o->profiles[best], i, start);
	}
}

static void progress_line(struct swarm_run *r, mono_t now, bool last)
{
	struct swarm_io_counts k;
	double secs = (double)(now - r->t0) / 1e6;
	mono_t span = now - r->last_tick;
	double mbps = span > 0 ? (double)(r->sw.n.bytes - r->last_bytes) * 8 / (double)span : 0;

	uint64_t acks = 0;

	for (int s = 0; s < SWARM_BOOT_STAGES; s++)
		acks += r->sw.dhcp.n[s].acks;
	swarm_io_counts(r->io, &k);
	r->last_bytes = r->sw.n.bytes;
	r->last_tick = now;
	fprintf(stderr,
		"%s[%5.1fs] running %u  ok %u  failed %u  dhcp acks %llu  %.0f Mbit/s  retx %llu  "
		"dup %llu  drops %llu%s",
		r->tty ? "\r" : "", secs, r->sw.running, k.ok, k.failed, (unsigned long long)acks,
		mbps, (unsigned long long)r->sw.n.retransmits,
		(unsigned long long)r->sw.n.duplicate_data, (unsigned long long)k.rx_drops,
		r->tty && !last ? "   " : "\n");
	r->progress_shown = true;
}

static void on_progress(struct timer *t, mono_t now)
{
	struct swarm_run *r = (struct swarm_run *)((char *)t - offsetof(struct swarm_run,
								      progress_timer));

	progress_line(r, now, false);
	loop_timer_set(r->loop, t, t->when + MONO_SEC(1));
}

static void on_stop(struct timer *t, mono_t now)
{
	struct swarm_run *r = (struct swarm_run *)((char *)t - offsetof(struct swarm_run,
								      stop_timer));

	swarm_io_abandon(r->io, now);
	loop_stop(r->loop);
}

static void on_signal(struct loop_io *io, uint32_t events, mono_t now)
{
	struct swarm_run *r = (struct swarm_run *)((char *)io - offsetof(struct swarm_run, sig));
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		swarm_io_abandon(r->io, now);
		loop_stop(r->loop);
	}
}

static int open_signals(struct swarm_run *r)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	r->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sig.fd < 0)
		return -errno;
	r->sig.fn = on_signal;
	return loop_io_add(r->loop, &r->sig, EPOLLIN);
}

/* One descriptor per client (none for --dhcp-only), plus a few for the
 * loop, signals, stdio and the DHCP socket. */
static int raise_nofile(unsigned clients)
{
	struct rlimit rl;
	unsigned want = clients + 32;

	confine_raise_nofile(want);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < want) {
		fprintf(stderr,
			"herd swarm: %u clients need %u descriptors; RLIMIT_NOFILE is %llu "
			"(raise the hard limit, e.g. ulimit -Hn)\n",
			clients, want, (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

/* --timeline and --chart; a file that cannot be written is said, and the
 * run's result stands. */
static void write_pictures(struct swarm_run *r)
{
	struct swarm_opts *o = r->o;
	const struct swarm_client **c;
	FILE *f;

	if (o->timeline == NULL && o->chart == NULL)
		return;
	c = calloc(o->clients, sizeof(*c));
	if (c == NULL)
		return;
	for (unsigned i = 0; i < o->clients; i++)
		c[i] = swarm_io_client(r->io, i);
	if (o->timeline && (f = fopen(o->timeline, "w")) != NULL) {
		swarm_timeline_write(f, c, r->sw.marks, o->clients, r->sw.dhcp.mac_base);
		if (fclose(f) != 0)
			fprintf(stderr, "herd swarm: %s: %s\n", o->timeline, strerror(errno));
	} else if (o->timeline) {
		fprintf(stderr, "herd swarm: %s: %s\n", o->timeline, strerror(errno));
	}
	if (o->chart && (f = fopen(o->chart, "w")) != NULL) {
		char title[200];
		snprintf(title, sizeof(title), "herd swarm: %u clients, %s", o->clients, o->label);
		swarm_chart_write(f, c, o->clients, o->link_bps, title);
		if (fclose(f) != 0)
			fprintf(stderr, "herd swarm: %s: %s\n", o->chart, strerror(errno));
	} else if (o->chart) {
		fprintf(stderr, "herd swarm: %s: %s\n", o->chart, strerror(errno));
	}
	free(c);
}

static void report(struct swarm_run *r, const char *server)
{
	struct swarm_opts *o = r->o;
	struct swarm_report *rep = swarm_report_new(o->clients);
	struct swarm_io_counts k;
	struct swarm_summary s;

	if (rep == NULL) {
		fprintf(stderr, "herd swarm: out of memory for the report\n");
		return;
	}
	for (unsigned i = 0; i < o->clients; i++)
		swarm_report_add(rep, swarm_io_client(r->io, i));
	swarm_io_counts(r->io, &k);
	swarm_report_finish(rep, &r->sw, k.rx_drops, o->link_bps, o->label, &s);
	if (o->nurls)
		printf("herd swarm: %u clients, %u URL%s over HTTP from %s\n", o->clients, o->nurls,
		       o->nurls > 1 ? "s" : "", o->urls[0]);
	else if (o->dhcp_only)
		printf("herd swarm: %u clients, DHCP%s only, server %s\n", o->clients,
		       o->chain ? " (3 stages)" : "", server);
	else if (o->dhcp)
		printf("herd swarm: %u clients, DHCP%s via %s, then %s\n", o->clients,
		       o->chain ? " (3 stages)" : "", server,
		       o->remote ? o->remote : "the boot file it names");
	else
		printf("herd swarm: %u clients, %s from %s (%llu bytes)\n", o->clients, o->remote,
		       server, (unsigned long long)r->sw.file_size);
	swarm_report_print(&s, stdout);
	if (o->json)
		swarm_report_json(&s, stdout);
	fflush(stdout);
	swarm_report_free(rep);
	write_pictures(r);
}

static int open_dhcp(struct swarm_run *r)
{
	struct swarm_opts *o = r->o;
	char a[NETADDR_STRLEN];
	int err;

	if (o->dhcp_iface) {
		err = swarm_io_dhcp_broadcast(r->io, o->dhcp_iface);
		if (err < 0)
			fprintf(stderr, "herd swarm: --dhcp-broadcast %s: port 68: %s\n", o->dhcp_iface,
				strerror(-err));
		return err;
	}
	err = swarm_io_dhcp_relay(r->io, r->dhcp_servers, r->ndhcp_servers);
	if (err < 0)
		fprintf(stderr, "herd swarm: relay socket %s:67: %s\n",
			ip4_str(r->sw.dhcp.giaddr, a), strerror(-err));
	return err;
}

static int run(struct swarm_run *r)
{
	int err;

	err = swarm_io_open(&r->io, r->loop, &r->sw, r->o->clients, r->o->binds, r->o->nbinds);
	if (err < 0) {
		fprintf(stderr, "herd swarm: cannot open %u client sockets: %s\n", r->o->clients,
			strerror(-err));
		return err;
	}
	if (r->sw.dhcp.on) {
		err = open_dhcp(r);
		if (err < 0)
			return err;
	}
	r->t0 = clock_mono_now();
	r->sw.t0 = r->t0;
	r->last_tick = r->t0;
	assign_clients(r);
	err = open_signals(r);
	if (err < 0) {
		fprintf(stderr, "herd swarm: signalfd: %s\n", strerror(-err));
		return err;
	}
	timer_init(&r->stop_timer, on_stop);
	loop_timer_set(r->loop, &r->stop_timer, r->t0 + (mono_t)(r->o->max_time_s * 1e6));
	timer_init(&r->progress_timer, on_progress);
	if (!r->o->quiet)
		loop_timer_set(r->loop, &r->progress_timer, r->t0 + MONO_SEC(1));
	swarm_io_start(r->io);
	err = loop_run(r->loop);
	if (err < 0) {
		fprintf(stderr, "herd swarm: event loop: %s\n", strerror(-err));
		return err;
	}
	if (r->progress_shown)
		progress_line(r, clock_mono_now(), true);
	return 0;
}

/* "A,B:1067": the relay's helper addresses. The emulated clients speak
 * DHCPv4: IPv4 servers. */
static int parse_dhcp_servers(struct swarm_run *r, const char *text)
{
	char buf[SWARM_DHCP_SERVERS_MAX * 24], *save = NULL, *item;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct netaddr *a = &r->dhcp_servers[r->ndhcp_servers];
		if (r->ndhcp_servers == SWARM_DHCP_SERVERS_MAX || netaddr_parse(item, 67, a) < 0 ||
		    ipaddr_to_v4(&a->ip) == 0)
			return -EINVAL;
		r->ndhcp_servers++;
	}
	return r->ndhcp_servers ? 0 : -EINVAL;
}

/* The DHCP settings every client shares: the server or interface, the
 * relay address (giaddr), MACs, xids, the later boot stages, and room for
 * the boot file names the ACKs will give. Returns 0 or 2 (usage). */
static int setup_dhcp(struct swarm_run *r)
{
	struct swarm_opts *o = r->o;
	struct swarm_dhcp *d = &r->sw.dhcp;
	int err;

	d->on = true;
	d->only = o->dhcp_only;
	d->chain = o->chain;
	d->mac_base = o->mac_base;
	d->nclients = o->clients;
	d->xid_salt = (uint32_t)clock_mono_now() ^ (uint32_t)getpid() << 16;
	for (int k = 1; k < SWARM_BOOT_STAGES; k++)
		d->stage_prof[k] = &o->stage_prof[k];
	if (o->dhcp_iface) {
		d->broadcast_flag = true;
	} else {
		if (parse_dhcp_servers(r, o->dhcp_server) < 0)
			return usage_error("--dhcp-server: '%s' is not ADDRESS[:PORT][,...] (up to 8)",
					   o->dhcp_server);
		if (o->nbinds) {
			d->giaddr = o->binds[0];
		} else if ((err = swarm_io_source_for(ipaddr_to_v4(&r->dhcp_servers[0].ip),
						      &d->giaddr)) < 0) {
			fprintf(stderr, "herd swarm: no route to %s: %s\n", o->dhcp_server,
				strerror(-err));
			return 2;
		}
	}
	if (!d->only && (o->remote == NULL || o->chain)) {
		d->bootnames = calloc(o->clients, sizeof(*d->bootnames));
		if (d->bootnames == NULL) {
			fprintf(stderr, "herd swarm: out of memory\n");
			return 2;
		}
	}
	return 0;
}

/* --url: parsed (an http:// URL with an IPv4 address), each with the
 * mapping of its --url-verify copy. Also the iPXE stage's script following
 * (--chain) and the stall limit. Returns 0 or 2. */
static int setup_http(struct swarm_run *r)
{
	struct swarm_opts *o = r->o;
	struct swarm_http *h = &r->sw.http;

	h->follow = o->chain && !o->dhcp_only;
	h->stall_ms = (uint32_t)(o->http_stall_s * 1000);
	for (unsigned i = 0; i < o->nurls; i++) {
		struct swarm_url *u = &h->urls[i];
		if (swarm_url_parse(o->urls[i], NULL, u) < 0 || u->tftp)
			return usage_error("--url: '%s' is not http://IPv4[:PORT]/PATH", o->urls[i]);
		if (i < o->nurl_verify) {
			int err = map_file(o->url_verify[i], &h->copies[i].data, &h->copies[i].size);
			if (err < 0) {
				fprintf(stderr, "herd swarm: --url-verify %s: %s\n", o->url_verify[i],
					strerror(-err));
				return 2;
			}
			u->verify = (int8_t)i;
		}
	}
	h->nurls = o->nurls;
	return 0;
}

int cmd_swarm(int argc, char **argv)
{
	struct swarm_opts o = {0};
	struct swarm_run r = {0};
	int rc = parse_args(&o, argc, argv), err;
	char addr[NETADDR_STRLEN];

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	r.o = &o;
	r.sig.fd = -1;
	r.tty = isatty(STDERR_FILENO);
	r.sw.server.port = 69;
	if (o.server &&
	    (netaddr_parse(o.server, 69, &r.sw.server) < 0 || ipaddr_to_v4(&r.sw.server.ip) == 0))
		return usage_error("-s: '%s' is not ADDRESS[:PORT]", o.server);
	if (o.dhcp && (rc = setup_dhcp(&r)) != 0)
		return rc;
	if ((rc = setup_http(&r)) != 0) {
		free(r.sw.dhcp.bootnames);
		return rc;
	}
	r.sw.remote_name = o.remote;
	r.sw.die = o.die;
	r.sw.boot_retries = o.boot_retries;
	r.sw.boot_retry_ms = (uint32_t)(o.boot_retry_delay_s * 1000);
	if (o.verify) {
		err = map_file(o.verify, &r.sw.file, &r.sw.file_size);
		if (err < 0) {
			fprintf(stderr, "herd swarm: --verify %s: %s\n", o.verify, strerror(-err));
			free(r.sw.dhcp.bootnames);
			return 2;
		}
	}
	rc = 1;
	/* a UDP socket per client (none with --dhcp-only or --url), and a TCP
	 * one in the HTTP stage */
	if (raise_nofile((o.dhcp_only || o.nurls ? 0 : o.clients) +
			 (o.nurls || o.chain ? o.clients : 0)) < 0)
		goto out;
	r.loop = loop_new();
	if (r.loop == NULL) {
		fprintf(stderr, "herd swarm: cannot create the event loop\n");
		goto out;
	}
	if (o.timeline && (r.sw.marks = calloc(o.clients, sizeof(*r.sw.marks))) == NULL) {
		fprintf(stderr, "herd swarm: out of memory for --timeline\n");
		goto out;
	}
	if (o.acks && (r.sw.acks = fopen(o.acks, "we")) == NULL) {
		fprintf(stderr, "herd swarm: --acks %s: %s\n", o.acks, strerror(errno));
		goto out;
	}
	/* A line at a time: a test follows the file while the swarm runs. */
	if (r.sw.acks)
		setvbuf(r.sw.acks, NULL, _IOLBF, 0);
	if (run(&r) == 0) {
		struct swarm_io_counts k;
		report(&r, o.dhcp ? (o.dhcp_iface ? o.dhcp_iface : o.dhcp_server)
				  : netaddr_str(&r.sw.server, addr));
		swarm_io_counts(r.io, &k);
		rc = k.ok == o.clients ? 0 : 1;
	}
out:
	if (r.sw.acks && fclose(r.sw.acks) != 0) {
		fprintf(stderr, "herd swarm: --acks %s: %s\n", o.acks, strerror(errno));
		rc = 1;
	}
	swarm_io_close(r.io);
	free(r.sw.marks);
	if (r.sig.fd >= 0)
		close(r.sig.fd);
	loop_free(r.loop);
	if (r.sw.file)
		munmap((void *)r.sw.file, (size_t)r.sw.file_size);
	for (unsigned i = 0; i < o.nurl_verify; i++)
		if (r.sw.http.copies[i].data)
			munmap((void *)r.sw.http.copies[i].data, (size_t)r.sw.http.copies[i].size);
	free(r.sw.dhcp.bootnames);
	return rc;
}
