/* `herd swarm`: emulates N network-boot clients downloading one file over
 * TFTP from any server, each with its own socket and its firmware's timers,
 * verifies every block, and reports completion times and goodput.
 *
 * Start-up order: options, profiles, the file to verify against, the
 * descriptor limit, sockets, clients, signals, timers, loop, report. */
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
#include "swarm/swarm_report.h"
#include "tftp/tftp_wire.h"

#define SWARM_MAX_CLIENTS 100000
#define SWARM_MAX_BINDS 64
#define SWARM_MAX_SETS 32
#define SWARM_MAX_MIX 6

static const char usage_text[] =
	"usage: herd swarm -s SERVER[:PORT] -f REMOTE_NAME --verify LOCAL_FILE -n CLIENTS\n"
	"           [--profile NAME | --mix ipxe:50,edk2:30,strict:20]\n"
	"           [--spread SECONDS] [--bind IP[,IP...]] [--link-rate RATE]\n"
	"           [--set KEY=VALUE ...] [--max-time SECONDS] [--json] [--quiet]\n"
	"\n"
	"Emulates CLIENTS network-boot clients, each with its own UDP socket, downloading\n"
	"REMOTE_NAME over TFTP with its firmware's options, timers and give-up rule, and\n"
	"compares every block with LOCAL_FILE.\n"
	"\n"
	"  -s, --server ADDR[:PORT]  the TFTP server (port 69 by default)\n"
	"  -f, --file NAME           the file to ask for\n"
	"      --verify FILE         the same file, locally: every block is checked\n"
	"  -n, --clients N           how many clients\n"
	"      --profile NAME        ipxe (default), edk2, pxelinux, uboot, grub, strict\n"
	"      --mix NAME:PCT,...    several firmwares, percentages adding up to 100\n"
	"      --spread SECONDS      start all at once (0, default) or evenly over SECONDS\n"
	"      --bind IP[,IP...]     client source addresses, round-robin\n"
	"      --link-rate RATE      e.g. 500M, 1G (bit/s): goodput as a share of the link\n"
	"      --set KEY=VALUE       override a profile number (in every profile of a mix):\n"
	"                            blksize, windowsize, timeout_ms, max_timeout_ms, retries,\n"
	"                            giveup_ms, tsize=0/1, backoff (factor), step_ms,\n"
	"                            timeout (RFC 2349 seconds), restarts; 0 = not asked/no limit\n"
	"      --max-time SECONDS    hard stop (default 300): clients still running fail\n"
	"      --json                also print one JSON line (the last line of stdout)\n"
	"      --quiet               no progress line\n"
	"\n"
	"Exit status: 0 if every client got the whole file, 1 otherwise, 2 on usage errors.\n";

struct swarm_opts {
	const char *server, *remote, *verify, *mix_text, *bind_text;
	unsigned clients;
	double spread_s, max_time_s, link_bps;
	bool json, quiet;
	const char *sets[SWARM_MAX_SETS];
	unsigned nsets;
	struct swarm_profile profiles[SWARM_MAX_MIX];
	unsigned weights[SWARM_MAX_MIX];
	unsigned nprofiles;
	uint32_t binds[SWARM_MAX_BINDS];
	unsigned nbinds;
	char label[128];
};

struct swarm_run {
	struct swarm_opts *o;
	struct loop *loop;
	struct swarm sw;
	struct swarm_io *io;
	struct loop_io sig;
	struct timer stop_timer, progress_timer;
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
	char buf[SWARM_MAX_BINDS * 16], *save = NULL, *item;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct netaddr a;
		if (o->nbinds == SWARM_MAX_BINDS || strchr(item, ':') ||
		    netaddr_parse(item, 0, &a) < 0)
			return -EINVAL;
		o->binds[o->nbinds++] = a.ip;
	}
	return o->nbinds ? 0 : -EINVAL;
}

/* The profiles (one, or a mix) with every --set applied, and the binds. */
static int check_args(struct swarm_opts *o, const char *profile)
{
	if (!o->server || !o->remote || !o->verify || !o->clients)
		return usage_error("%s", "-s, -f, --verify and -n are required");
	if (strlen(o->remote) == 0 || strlen(o->remote) > TFTP_NAME_MAX)
		return usage_error("-f: '%s' is empty or too long", o->remote);
	if (profile && o->mix_text)
		return usage_error("%s", "--profile and --mix exclude each other");
	if (o->mix_text) {
		if (parse_mix(o, o->mix_text) < 0)
			return usage_error("--mix: '%s' is not NAME:PCT,... adding up to 100 "
					   "(names: ipxe, edk2, pxelinux, uboot, grub, strict)",
					   o->mix_text);
		snprintf(o->label, sizeof(o->label), "%s", o->mix_text);
	} else {
		const struct swarm_profile *p = swarm_profile_find(profile ? profile : "ipxe");
		if (p == NULL)
			return usage_error("--profile: no profile '%s' (ipxe, edk2, pxelinux, "
					   "uboot, grub, strict)",
					   profile);
		o->profiles[0] = *p;
		o->weights[0] = 100;
		o->nprofiles = 1;
		snprintf(o->label, sizeof(o->label), "%s", p->name);
	}
	for (unsigned i = 0; i < o->nsets; i++)
		for (unsigned k = 0; k < o->nprofiles; k++)
			if (swarm_profile_set(&o->profiles[k], o->sets[i]) < 0)
				return usage_error("--set: '%s' is not KEY=VALUE with a known key "
						   "and a value in range",
						   o->sets[i]);
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

/* Returns 0, 2 on a usage error, or -1 after --help. */
static int parse_args(struct swarm_opts *o, int argc, char **argv)
{
	enum { O_VERIFY = 256, O_PROFILE, O_MIX, O_SPREAD, O_BIND, O_LINK, O_SET, O_MAXT, O_JSON,
	       O_QUIET };
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *profile = NULL;
	int opt;

	o->max_time_s = 300;
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
		swarm_client_init(swarm_io_client(r->io, i), &o->profiles[best], start);
	}
}

static void progress_line(struct swarm_run *r, mono_t now, bool last)
{
	struct swarm_io_counts k;
	double secs = (double)(now - r->t0) / 1e6;
	mono_t span = now - r->last_tick;
	double mbps = span > 0 ? (double)(r->sw.n.bytes - r->last_bytes) * 8 / (double)span : 0;

	swarm_io_counts(r->io, &k);
	r->last_bytes = r->sw.n.bytes;
	r->last_tick = now;
	fprintf(stderr,
		"%s[%5.1fs] running %u  ok %u  failed %u  %.0f Mbit/s  retx %llu  dup %llu  "
		"drops %llu%s",
		r->tty ? "\r" : "", secs, r->sw.running, k.ok, k.failed, mbps,
		(unsigned long long)r->sw.n.retransmits, (unsigned long long)r->sw.n.duplicate_data,
		(unsigned long long)k.rx_drops, r->tty && !last ? "   " : "\n");
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

/* One descriptor per client, plus a few for the loop, signals, stdio. */
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
	printf("herd swarm: %u clients, %s from %s (%llu bytes)\n", o->clients, o->remote, server,
	       (unsigned long long)r->sw.file_size);
	swarm_report_print(&s, stdout);
	if (o->json)
		swarm_report_json(&s, stdout);
	fflush(stdout);
	swarm_report_free(rep);
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
	r->t0 = clock_mono_now();
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
	if (netaddr_parse(o.server, 69, &r.sw.server) < 0 || r.sw.server.ip == 0)
		return usage_error("-s: '%s' is not ADDRESS[:PORT]", o.server);
	r.sw.remote_name = o.remote;
	err = map_file(o.verify, &r.sw.file, &r.sw.file_size);
	if (err < 0) {
		fprintf(stderr, "herd swarm: --verify %s: %s\n", o.verify, strerror(-err));
		return 2;
	}
	rc = 1;
	if (raise_nofile(o.clients) < 0)
		goto out;
	r.loop = loop_new();
	if (r.loop == NULL) {
		fprintf(stderr, "herd swarm: cannot create the event loop\n");
		goto out;
	}
	if (run(&r) == 0) {
		struct swarm_io_counts k;
		report(&r, netaddr_str(&r.sw.server, addr));
		swarm_io_counts(r.io, &k);
		rc = k.ok == o.clients ? 0 : 1;
	}
out:
	swarm_io_close(r.io);
	if (r.sig.fd >= 0)
		close(r.sig.fd);
	loop_free(r.loop);
	if (r.sw.file)
		munmap((void *)r.sw.file, (size_t)r.sw.file_size);
	return rc;
}
