/* The boot state of every node (nodes.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ops/nodes.h"

#define NONE UINT32_MAX
#define NAME_MAX_ 64
#define LOADER_MAX 48
#define WHY_MAX 96
#define LOG_TAIL_LINES 20

const char *const node_stage_names[NODE_NSTAGES] = {"dhcp",    "loader", "kernel", "initrd",
						    "logging", "up",	 "failed"};

enum node_stage node_stage_of(const char *name)
{
	int s = 0;

	while (s < NODE_NSTAGES && strcmp(node_stage_names[s], name) != 0)
		s++;
	return (enum node_stage)s;
}

struct node {
	uint8_t mac[6];
	uint8_t stage;
	uint8_t failed_stage;
	uint8_t seen; /* the stages entered since this boot began, a bit each */
	bool used;
	bool in_deadline; /* in the deadline list */
	bool said_failed; /* the failure is the node's own word (a FAILED line) */
	uint32_t ip;	  /* IPv4, network order; 0: none yet */
	uint32_t mac_next, ip_next;
	uint32_t dl_prev, dl_next;
	uint32_t retries;
	uint64_t bytes;
	mono_t since, last_seen;
	mono_t t[NODE_NSTAGES]; /* when each stage of `seen` was entered */
	char name[NAME_MAX_];
	char group[NAME_MAX_];
	char loader[LOADER_MAX]; /* the base name of the boot file DHCP gave */
	char why[WHY_MAX];
	uint64_t changed; /* the table's version when it last changed */
	bool dirty;	  /* in the dirty list */
};

struct nodes {
	struct nodes_conf conf;
	struct node *v;
	uint32_t used;
	uint32_t *by_mac, *by_ip;  /* bucket heads */
	uint32_t nbuckets;	   /* a power of two */
	uint32_t dl_head, dl_tail; /* oldest first: the next to expire */
	uint32_t counts[NODE_NSTAGES];
	uint64_t full;	    /* nodes not tracked: the table was full */
	uint64_t timeouts;  /* failures by deadline */
	uint64_t abandoned; /* failures by an abandoned transfer */
	nodes_log_tail_fn log_tail;
	void *log_tail_ctx;
	struct stat_hist in_stage[NODE_UP]; /* time spent in each stage before up */
	uint64_t version;		    /* bumped by every change of a node */
	uint32_t *dirty, ndirty;	    /* the nodes changed since the last publication */
	char server[NAME_MAX_];		    /* [cluster]: this server's name; "": none */
	struct nodes_others others;
};

/* Seconds in a stage: firmware timers are seconds, a slow boot minutes. */
static const double stage_bounds[] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600};

/* ---- Hashes ------------------------------------------------------------ */

static uint32_t mix32(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return (uint32_t)k;
}

static uint32_t mac_bucket(const struct nodes *n, const uint8_t mac[6])
{
	uint64_t k = 0;

	memcpy(&k, mac, 6);
	return mix32(k) & (n->nbuckets - 1);
}

static uint32_t ip_bucket(const struct nodes *n, uint32_t ip)
{
	return mix32(ip) & (n->nbuckets - 1);
}

static struct node *find_mac(const struct nodes *n, const uint8_t mac[6])
{
	for (uint32_t i = n->by_mac[mac_bucket(n, mac)]; i != NONE; i = n->v[i].mac_next)
		if (memcmp(n->v[i].mac, mac, 6) == 0)
			return &n->v[i];
	return NULL;
}

static struct node *find_ip(const struct nodes *n, uint32_t ip)
{
	if (ip == 0)
		return NULL;
	for (uint32_t i = n->by_ip[ip_bucket(n, ip)]; i != NONE; i = n->v[i].ip_next)
		if (n->v[i].ip == ip)
			return &n->v[i];
	return NULL;
}

static uint32_t idx(const struct nodes *n, const struct node *nd)
{
	return (uint32_t)(nd - n->v);
}

static void ip_unlink(struct nodes *n, struct node *nd)
{
	if (nd->ip == 0)
		return;
	for (uint32_t *pp = &n->by_ip[ip_bucket(n, nd->ip)]; *pp != NONE; pp = &n->v[*pp].ip_next) {
		if (*pp == idx(n, nd)) {
			*pp = nd->ip_next;
			break;
		}
	}
	nd->ip = 0;
}

/* A node's address changes (a new lease): it moves to another chain. The
 * address's previous holder, if any, loses it. */
static void set_ip(struct nodes *n, struct node *nd, uint32_t ip)
{
	struct node *other;

	if (ip == 0 || nd->ip == ip)
		return;
	ip_unlink(n, nd);
	other = find_ip(n, ip);
	if (other)
		ip_unlink(n, other);
	nd->ip = ip;
	nd->ip_next = n->by_ip[ip_bucket(n, ip)];
	n->by_ip[ip_bucket(n, ip)] = idx(n, nd);
}

/* ---- Stages ------------------------------------------------------------ */

static void deadline_unlink(struct nodes *n, struct node *nd)
{
	if (!nd->in_deadline)
		return;
	if (nd->dl_prev != NONE)
		n->v[nd->dl_prev].dl_next = nd->dl_next;
	else
		n->dl_head = nd->dl_next;
	if (nd->dl_next != NONE)
		n->v[nd->dl_next].dl_prev = nd->dl_prev;
	else
		n->dl_tail = nd->dl_prev;
	nd->in_deadline = false;
}

static void deadline_append(struct nodes *n, struct node *nd)
{
	uint32_t i = idx(n, nd);

	nd->dl_prev = n->dl_tail;
	nd->dl_next = NONE;
	if (n->dl_tail != NONE)
		n->v[n->dl_tail].dl_next = i;
	else
		n->dl_head = i;
	n->dl_tail = i;
	nd->in_deadline = true;
}

/* Every transition goes through here: counts, timeline, deadline. */
/* A change the other servers are told of (nodes_changed). */
static void changed(struct nodes *n, struct node *nd)
{
	nd->changed = ++n->version;
	if (!nd->dirty) {
		nd->dirty = true;
		n->dirty[n->ndirty++] = idx(n, nd);
	}
}

static void enter(struct nodes *n, struct node *nd, enum node_stage s, mono_t now)
{
	if (nd->stage < NODE_UP && s != nd->stage && (nd->seen & (1u << nd->stage)))
		stat_hist_observe(&n->in_stage[nd->stage], (double)(now - nd->since) / 1e6);
	n->counts[nd->stage]--;
	n->counts[s]++;
	nd->stage = (uint8_t)s;
	nd->since = now;
	nd->t[s] = now;
	nd->seen |= (uint8_t)(1u << s);
	deadline_unlink(n, nd);
	if (s < NODE_UP)
		deadline_append(n, nd);
	changed(n, nd);
}

static void fail(struct nodes *n, struct node *nd, enum node_stage at, const char *why, mono_t now)
{
	nd->failed_stage = (uint8_t)at;
	nd->said_failed = false;
	snprintf(nd->why, sizeof(nd->why), "%s", why);
	enter(n, nd, NODE_FAILED, now);
}

/* A new boot of a node: the timeline starts again. */
static void restart(struct nodes *n, struct node *nd, mono_t now)
{
	nd->seen = 0;
	nd->bytes = 0;
	nd->retries = 0;
	nd->why[0] = '\0';
	nd->loader[0] = '\0';
	enter(n, nd, NODE_DHCP, now);
}

static struct node *node_new(struct nodes *n, const uint8_t mac[6], mono_t now)
{
	struct node *nd;
	uint32_t b = mac_bucket(n, mac);

	if (n->used == n->conf.max_nodes) {
		n->full++;
		return NULL;
	}
	nd = &n->v[n->used++];
	memset(nd, 0, sizeof(*nd));
	nd->used = true;
	memcpy(nd->mac, mac, 6);
	nd->ip_next = nd->dl_prev = nd->dl_next = NONE;
	nd->mac_next = n->by_mac[b];
	n->by_mac[b] = idx(n, nd);
	snprintf(nd->name, sizeof(nd->name), "node-%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	nd->stage = NODE_DHCP;
	n->counts[NODE_DHCP]++;
	restart(n, nd, now);
	return nd;
}

/* ---- Events ------------------------------------------------------------ */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

enum node_file nodes_classify_name(const char *loader, const char *file)
{
	static const char *const kernels[] = {"vmlinuz", "vmlinux", "bzimage", "linux", "kernel"};
	static const char *const initrds[] = {"initrd", "initramfs"};
	static const char *const others[] = {".c32", ".0",   ".efi", ".kpxe",
					     ".pxe", ".cfg", ".ipxe"};
	const char *b = base_name(file);

	if (loader && loader[0] && strcmp(b, loader) == 0)
		return NODE_FILE_LOADER;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (ends_with(b, others[i]))
			return NODE_FILE_OTHER;
	for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++)
		if (strncasecmp(b, kernels[i], strlen(kernels[i])) == 0)
			return NODE_FILE_KERNEL;
	for (size_t i = 0; i < sizeof(initrds) / sizeof(initrds[0]); i++)
		if (strncasecmp(b, initrds[i], strlen(initrds[i])) == 0)
			return NODE_FILE_INITRD;
	return NODE_FILE_OTHER;
}

static void on_dhcp(void *ctx, enum node_dhcp_ev ev, const uint8_t mac[6], uint32_t ip,
		    const char *name, const char *group, const char *boot_file, bool booting,
		    mono_t now)
{
	struct nodes *n = ctx;
	struct node *nd = find_mac(n, mac);

	if (nd == NULL && !booting && ev != NODE_DHCP_DECLINE)
		return; /* an OS's DHCP client, of a boot herd did not see */
	if (nd == NULL && (nd = node_new(n, mac, now)) == NULL)
		return;
	if (name && name[0])
		snprintf(nd->name, sizeof(nd->name), "%s", name);
	if (group)
		snprintf(nd->group, sizeof(nd->group), "%s", group);
	if (nd->ip != ip)
		changed(n, nd);
	set_ip(n, nd, ip);
	nd->last_seen = now;
	if (ev == NODE_DHCP_DECLINE) {
		fail(n, nd, nd->stage == NODE_FAILED ? nd->failed_stage : nd->stage,
		     "DHCP DECLINE: the address is in use", now);
		return;
	}
	/* The firmware's DHCP after the kernel came: the node boots again.
	 * Before it (iPXE's DHCP after the PXE ROM's) it is the same boot. */
	if (booting && nd->stage >= NODE_KERNEL)
		restart(n, nd, now);
	if (booting && nd->stage == NODE_DHCP && boot_file && boot_file[0])
		snprintf(nd->loader, sizeof(nd->loader), "%s", base_name(boot_file));
}

/* Progress to s: forward only, or out of a failure. */
static void advance(struct nodes *n, struct node *nd, enum node_stage s, mono_t now)
{
	if (nd->stage < s || nd->stage == NODE_FAILED)
		enter(n, nd, s, now);
}

static uint8_t on_xfer_start(void *ctx, enum node_proto proto, const struct ipaddr *ip,
			     const char *file, uint64_t size, mono_t now)
{
	struct nodes *n = ctx;
	struct node *nd = find_ip(n, ipaddr_to_v4(ip));
	enum node_file kind;

	(void)proto, (void)size;
	if (nd == NULL)
		return NODE_FILE_OTHER;
	nd->last_seen = now;
	kind = nodes_classify_name(nd->loader, file);
	if (kind == NODE_FILE_KERNEL)
		advance(n, nd, NODE_KERNEL, now);
	else if (kind == NODE_FILE_INITRD)
		advance(n, nd, NODE_INITRD, now);
	return (uint8_t)kind;
}

static enum node_stage stage_of(enum node_file kind)
{
	return kind == NODE_FILE_LOADER	  ? NODE_LOADER
	       : kind == NODE_FILE_KERNEL ? NODE_KERNEL
					  : NODE_INITRD;
}

static void on_xfer(void *ctx, enum node_xfer_ev ev, uint8_t kind, const struct ipaddr *ip,
		    uint64_t bytes, mono_t now)
{
	struct nodes *n = ctx;
	struct node *nd = find_ip(n, ipaddr_to_v4(ip));
	enum node_stage s = stage_of((enum node_file)kind);
	char why[WHY_MAX];

	if (nd == NULL || kind == NODE_FILE_OTHER)
		return;
	nd->last_seen = now;
	switch (ev) {
	case NODE_XFER_RETRY:
		nd->retries++;
		break;
	case NODE_XFER_DONE:
		nd->bytes += bytes;
		if (kind == NODE_FILE_LOADER)
			advance(n, nd, NODE_LOADER, now);
		break;
	case NODE_XFER_ABANDON:
		nd->bytes += bytes;
		/* Only the transfer of the stage the node is in (or about to
		 * enter) ends its boot: a stray one after it means nothing. */
		if (nd->stage == NODE_FAILED || nd->stage > s)
			break;
		snprintf(why, sizeof(why), "%s transfer abandoned after %llu bytes",
			 node_stage_names[s], (unsigned long long)bytes);
		n->abandoned++;
		fail(n, nd, s, why, now);
		break;
	}
}

static void on_log_line(void *ctx, const struct ipaddr *ip, const uint8_t *line, size_t len,
			mono_t now)
{
	static const char failed[] = "herd-init: FAILED ";
	struct nodes *n = ctx;
	struct node *nd = find_ip(n, ipaddr_to_v4(ip));
	size_t mlen = strlen(n->conf.up_marker);
	const uint8_t *f;

	if (nd == NULL)
		return;
	nd->last_seen = now;
	f = memmem(line, len, failed, sizeof(failed) - 1);
	if (f) {
		size_t at = (size_t)(f - line) + sizeof(failed) - 1;
		size_t wlen = len - at < WHY_MAX - 1 ? len - at : WHY_MAX - 1;
		char why[WHY_MAX];
		while (wlen > 0 && (line[at + wlen - 1] == '\n' || line[at + wlen - 1] == '\r' ||
				    line[at + wlen - 1] == ' '))
			wlen--;
		memcpy(why, line + at, wlen);
		why[wlen] = '\0';
		fail(n, nd, nd->stage == NODE_FAILED ? nd->failed_stage : nd->stage, why, now);
		nd->said_failed = true;
		return;
	}
	/* A node that logs is alive, whatever herd concluded (a deadline,
	 * a transfer given up); not one that said itself it failed. */
	if (mlen && memmem(line, len, n->conf.up_marker, mlen))
		advance(n, nd, NODE_UP, now);
	else if (nd->stage < NODE_LOGGING || (nd->stage == NODE_FAILED && !nd->said_failed))
		enter(n, nd, NODE_LOGGING, now);
}

void nodes_events(struct nodes *n, struct node_events *ev)
{
	*ev = (struct node_events){n, on_dhcp, on_xfer_start, on_xfer, on_log_line};
}

/* ---- Deadlines --------------------------------------------------------- */

static mono_t timeout(const struct nodes *n)
{
	return MONO_SEC(n->conf.stage_timeout_s);
}

mono_t nodes_next_deadline(const struct nodes *n)
{
	if (n->dl_head == NONE || n->conf.stage_timeout_s == 0)
		return MONO_NEVER;
	return n->v[n->dl_head].since + timeout(n);
}

void nodes_tick(struct nodes *n, mono_t now)
{
	char why[WHY_MAX];

	while (n->conf.stage_timeout_s && n->dl_head != NONE &&
	       n->v[n->dl_head].since + timeout(n) <= now) {
		struct node *nd = &n->v[n->dl_head];
		snprintf(why, sizeof(why), "timeout: %u s in stage %s", n->conf.stage_timeout_s,
			 node_stage_names[nd->stage]);
		n->timeouts++;
		fail(n, nd, nd->stage, why, now);
	}
}

/* ---- Life cycle -------------------------------------------------------- */

static uint32_t buckets_for(uint32_t max)
{
	uint32_t b = 16;

	while (b < max && b < (UINT32_C(1) << 30))
		b <<= 1;
	return b;
}

uint64_t nodes_memory(const struct nodes_conf *conf)
{
	return sizeof(struct nodes) + (uint64_t)conf->max_nodes * sizeof(struct node) +
	       2 * (uint64_t)buckets_for(conf->max_nodes) * sizeof(uint32_t) +
	       (uint64_t)conf->max_nodes * sizeof(uint32_t); /* the dirty list */
}

struct nodes *nodes_new(const struct nodes_conf *conf)
{
	struct nodes *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->conf = *conf;
	if (n->conf.max_nodes == 0)
		n->conf.max_nodes = 1;
	n->nbuckets = buckets_for(n->conf.max_nodes);
	/* calloc: pages of nodes never used are never touched. */
	n->v = calloc(n->conf.max_nodes, sizeof(*n->v));
	n->by_mac = malloc(n->nbuckets * sizeof(uint32_t));
	n->by_ip = malloc(n->nbuckets * sizeof(uint32_t));
	n->dirty = malloc(n->conf.max_nodes * sizeof(uint32_t));
	if (n->v == NULL || n->by_mac == NULL || n->by_ip == NULL || n->dirty == NULL) {
		nodes_free(n);
		return NULL;
	}
	memset(n->by_mac, 0xff, n->nbuckets * sizeof(uint32_t));
	memset(n->by_ip, 0xff, n->nbuckets * sizeof(uint32_t));
	n->dl_head = n->dl_tail = NONE;
	for (int st = 0; st < NODE_UP; st++)
		stat_hist_init(&n->in_stage[st], stage_bounds,
			       sizeof(stage_bounds) / sizeof(stage_bounds[0]));
	return n;
}

void nodes_reconfigure(struct nodes *n, const struct nodes_conf *conf)
{
	n->conf.stage_timeout_s = conf->stage_timeout_s;
	memcpy(n->conf.up_marker, conf->up_marker, sizeof(n->conf.up_marker));
}

void nodes_free(struct nodes *n)
{
	if (n == NULL)
		return;
	free(n->v);
	free(n->by_mac);
	free(n->by_ip);
	free(n->dirty);
	free(n);
}

void nodes_set_log_tail(struct nodes *n, nodes_log_tail_fn fn, void *ctx)
{
	n->log_tail = fn;
	n->log_tail_ctx = ctx;
}

uint32_t nodes_count(const struct nodes *n, enum node_stage s)
{
	return n->counts[s];
}

void nodes_stats_visit(const struct nodes *n, const struct stat_visitor *v)
{
	static const char *const gauges[NODE_NSTAGES] = {
	    "nodes_dhcp",    "nodes_loader", "nodes_kernel", "nodes_initrd",
	    "nodes_logging", "nodes_up",     "nodes_failed"};

	static const char *const hists[NODE_UP] = {
	    "stage_seconds_dhcp", "stage_seconds_loader", "stage_seconds_kernel",
	    "stage_seconds_initrd", "stage_seconds_logging"};

	for (int s = 0; s < NODE_NSTAGES; s++)
		stat_gauge(v, gauges[s], n->counts[s], "nodes in this boot stage");
	/* Not nodes_*: /metrics reads those as herd_nodes{stage=...}. */
	stat_gauge(v, "tracked", n->used, "nodes with a boot state");
	stat_counter(v, "untracked", n->full, "nodes not tracked: max_nodes reached");
	stat_counter(v, "timeouts", n->timeouts, "boots failed by a stage deadline");
	stat_counter(v, "abandoned", n->abandoned, "boots failed by an abandoned transfer");
	for (int s = 0; s < NODE_UP; s++)
		stat_histogram(v, hists[s], &n->in_stage[s], "seconds a node spent in this stage");
}

/* ---- JSON -------------------------------------------------------------- */

static void json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void nodes_json_str(FILE *f, const char *s)
{
	json_str(f, s, strlen(s));
}

static void json_cstr(FILE *f, const char *s)
{
	json_str(f, s, strlen(s));
}

/* Wall time of mono `t`, from the wall and mono clocks read now. */
static void json_wall(FILE *f, int64_t wall_us, mono_t now, mono_t t)
{
	int64_t us = wall_us - (now - t);
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;
	char buf[40];

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "\"%s.%03dZ\"", buf, (int)(us % 1000000 / 1000));
}

static double secs(mono_t d)
{
	return d < 0 ? 0.0 : (double)d / 1e6;
}

static void json_node(FILE *f, const struct node *nd, mono_t now)
{
	char ip[IPADDR_STRLEN];
	struct ipaddr a = ipaddr_v4(nd->ip);

	fputs("{\"name\":", f);
	json_cstr(f, nd->name);
	fprintf(f, ",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"ip\":", nd->mac[0], nd->mac[1],
		nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5]);
	if (nd->ip)
		json_cstr(f, ipaddr_str(&a, ip));
	else
		fputs("null", f);
	fputs(",\"group\":", f);
	json_cstr(f, nd->group);
	fprintf(f,
		",\"stage\":\"%s\",\"since_s\":%.1f,\"bytes\":%llu,\"retries\":%u,"
		"\"last_seen_s\":%.1f,\"failed_stage\":",
		node_stage_names[nd->stage], secs(now - nd->since), (unsigned long long)nd->bytes,
		nd->retries, secs(now - nd->last_seen));
	if (nd->stage == NODE_FAILED) {
		fprintf(f, "\"%s\",\"why\":", node_stage_names[nd->failed_stage]);
		json_cstr(f, nd->why);
	} else {
		fputs("null,\"why\":null", f);
	}
}

/* [cluster]: which server boots it (and holds its log). */
static void json_server(FILE *f, const struct nodes *n)
{
	if (n->server[0]) {
		fputs(",\"server\":", f);
		json_cstr(f, n->server);
	}
}

static void json_detail(FILE *f, const struct nodes *n, const struct node *nd, int64_t wall_us,
			mono_t now)
{
	char *lines[LOG_TAIL_LINES];
	unsigned nl = 0;
	bool first = true;

	fputs(",\"timeline\":[", f);
	for (int s = 0; s < NODE_NSTAGES; s++) {
		if (!(nd->seen & (1u << s)))
			continue;
		fprintf(f, "%s{\"stage\":\"%s\",\"t\":", first ? "" : ",", node_stage_names[s]);
		json_wall(f, wall_us, now, nd->t[s]);
		fputc('}', f);
		first = false;
	}
	fputs("],\"log_tail\":[", f);
	if (n->log_tail)
		nl = n->log_tail(n->log_tail_ctx, nd->name, lines, LOG_TAIL_LINES);
	for (unsigned i = 0; i < nl; i++) {
		if (i)
			fputc(',', f);
		json_cstr(f, lines[i]);
		free(lines[i]);
	}
	fputc(']', f);
}

static int64_t wall_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const struct node *find_name(const struct nodes *n, const char *name)
{
	for (uint32_t i = 0; i < n->used; i++)
		if (strcmp(n->v[i].name, name) == 0)
			return &n->v[i];
	return NULL;
}

int nodes_json(const struct nodes *n, mono_t now, const char *name, char **out, size_t *len)
{
	const struct node *one = name ? find_name(n, name) : NULL;
	int64_t wall_us = wall_now_us();
	uint32_t counts[NODE_NSTAGES];
	unsigned others = 0;
	FILE *f;

	if (name && one == NULL && n->others.json == NULL)
		return -ENOENT;
	f = open_memstream(out, len);
	if (f == NULL)
		return -ENOMEM;
	memcpy(counts, n->counts, sizeof(counts));
	if (n->others.count && name == NULL)
		n->others.count(n->others.ctx, counts);
	fputs("{\"generated\":", f);
	json_wall(f, wall_us, now, now);
	fputs(",\"counts\":{", f);
	for (int s = 0; s < NODE_NSTAGES; s++)
		fprintf(f, "%s\"%s\":%u", s ? "," : "", node_stage_names[s], counts[s]);
	fputs("},\"nodes\":[", f);
	for (uint32_t i = 0; i < n->used && (name == NULL || one); i++) {
		if (one && &n->v[i] != one)
			continue;
		if (!one && i)
			fputc(',', f);
		json_node(f, &n->v[i], now);
		json_server(f, n);
		if (one)
			json_detail(f, n, one, wall_us, now);
		fputc('}', f);
	}
	if (n->others.json && (name == NULL || one == NULL))
		others = n->others.json(n->others.ctx, f, name, name != NULL || n->used == 0);
	fputs("]}", f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	if (name && one == NULL && others == 0) {
		free(*out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

uint64_t nodes_changed(struct nodes *n, uint64_t since, mono_t now,
		       void (*fn)(void *ctx, const struct node_brief *b), void *ctx)
{
	uint32_t kept = 0;

	/* The dirty list, not the table: what `since` covers was published
	 * and leaves it; the rest is told (again, if its last try failed). */
	for (uint32_t i = 0; i < n->ndirty; i++) {
		struct node *nd = &n->v[n->dirty[i]];
		if (nd->changed <= since) {
			nd->dirty = false;
			continue;
		}
		n->dirty[kept++] = n->dirty[i];
		struct node_brief b = {.ip = nd->ip,
				       .stage = nd->stage,
				       .failed_stage = nd->failed_stage,
				       .name = nd->name,
				       .group = nd->group,
				       .why = nd->why,
				       .since_s = secs(now - nd->since),
				       .bytes = nd->bytes};
		memcpy(b.mac, nd->mac, 6);
		fn(ctx, &b);
	}
	n->ndirty = kept;
	return n->version;
}

void nodes_set_others(struct nodes *n, const char *server, const struct nodes_others *o)
{
	snprintf(n->server, sizeof(n->server), "%s", server);
	n->others = *o;
}
