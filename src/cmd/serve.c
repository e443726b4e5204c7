/* `herd serve -c FILE`: the daemon, in the foreground, diagnostics on
 * stderr. Start-up reads as the order things happen in: configuration,
 * directories, sockets, confinement, services, loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/policy.h"
#include "cmd/cmd.h"
#include "cmd/confine.h"
#include "cmd/load.h"
#include "cmd/reload.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/sdnotify.h"
#include "dhcp/dhcp_io.h"
#include "cluster/cluster.h"
#include "dhcp/lease.h"
#include "inventory/inventory.h"
#include "syslog/logrx.h"
#include "syslog/logrx_io.h"
#include "files/files.h"
#include "http/http_io.h"
#include "ops/control.h"
#include "ops/nodes.h"
#include "ops/ops_http.h"
#include "tftp/tftp_io.h"

struct serve {
	const char *path;
	struct policy *policy;	      /* what herd serves now (a reference) */
	const struct herd_config *cfg; /* its configuration */
	uid_t uid;
	gid_t gid;
	int rootfd;
	int imagesfd; /* [images] dir, for herd/images/...; -1: none */
	int logdirfd;
	struct loop *loop;
	struct loop_io sig;
	struct files *files;
	struct tftp_io *tftp;
	struct http_io *http;
	struct logrx *logrx;
	struct logrx_io *logrx_io;
	struct lease_table *leases;
	struct cluster *cluster; /* [cluster] database: leases in PostgreSQL */
	struct dhcp_io *dhcp;
	struct nodes *nodes;	  /* [status]: each node's boot state, or NULL */
	struct control *control;  /* [status] socket, or NULL */
	struct timer nodes_timer; /* the node state's stage deadlines */
	struct loop_post nodes_post;
	/* [status]'s HTTP listener; NULL: off */
	struct ops_http *ops;
	unsigned fixed; /* keys a reload could not change */
	char namebuf[CONF_NAME_MAX];
	struct sdnotify *notify; /* the service manager, if one started herd */
};

static const char *name_node(void *ctx, const struct ipaddr *ip);

/* SIGUSR1: one log line per module, "module: name=value ...", every
 * counter each module's visitor lists (the same lists a metrics endpoint
 * will read). */
struct stat_line {
	char buf[2048];
	size_t len;
};

static void add_stat(void *ctx, enum stat_kind kind, const char *name, uint64_t value,
		     const char *help)
{
	struct stat_line *l = ctx;
	int n;

	(void)kind, (void)help;
	if (l->len >= sizeof(l->buf))
		return;
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, " %s=%llu", name,
		     (unsigned long long)value);
	if (n > 0)
		l->len += (size_t)n;
}

static void print_stats(struct serve *s)
{
	struct stat_line line;
	struct stat_visitor v = {&line, add_stat};

	if (s->tftp && tftp_io_server(s->tftp)) {
		line.len = 0, line.buf[0] = '\0';
		tftp_io_stats_visit(s->tftp, &v);
		log_info("tftp:%s", line.buf);
	}
	if (s->dhcp && dhcp_io_server(s->dhcp)) {
		line.len = 0, line.buf[0] = '\0';
		dhcp_io_stats_visit(s->dhcp, &v);
		log_info("dhcp:%s", line.buf);
	}
	if (s->http) {
		line.len = 0, line.buf[0] = '\0';
		http_io_stats_visit(s->http, &v);
		log_info("http:%s", line.buf);
	}
	if (s->logrx_io && s->logrx) {
		line.len = 0, line.buf[0] = '\0';
		logrx_io_stats_visit(s->logrx_io, &v);
		log_info("log:%s", line.buf);
	}
	if (s->nodes) {
		line.len = 0, line.buf[0] = '\0';
		nodes_stats_visit(s->nodes, &v);
		log_info("nodes:%s", line.buf);
	}
	if (s->cluster) {
		line.len = 0, line.buf[0] = '\0';
		cluster_stats_visit(s->cluster, &v);
		log_info("cluster:%s", line.buf);
	}
}

static void nodes_conf(const struct herd_config *cfg, struct nodes_conf *nc)
{
	nc->max_nodes = cfg->status.max_nodes;
	nc->stage_timeout_s = cfg->status.stage_timeout_s;
	snprintf(nc->up_marker, sizeof(nc->up_marker), "%s", cfg->status.up_marker);
}

/* /metrics: the same visitors as SIGUSR1's lines, into one document. */
static void ops_stats(void *ctx, struct metrics *m)
{
	struct serve *s = ctx;

	if (s->tftp && tftp_io_server(s->tftp))
		tftp_io_stats_visit(s->tftp, metrics_module(m, "tftp"));
	if (s->dhcp && dhcp_io_server(s->dhcp))
		dhcp_io_stats_visit(s->dhcp, metrics_module(m, "dhcp"));
	if (s->http)
		http_io_stats_visit(s->http, metrics_module(m, "http"));
	if (s->logrx_io && s->logrx)
		logrx_io_stats_visit(s->logrx_io, metrics_module(m, "log"));
	if (s->nodes)
		nodes_stats_visit(s->nodes, metrics_module(m, "nodes"));
	if (s->cluster)
		cluster_stats_visit(s->cluster, metrics_module(m, "cluster"));
}

/* /api/v1/nodes[/NAME]. */
static int ops_nodes(void *ctx, const char *name, char **out, size_t *len)
{
	struct serve *s = ctx;

	if (s->nodes == NULL)
		return -ENOSYS; /* [status] enabled = no: the API answers 503 */
	return nodes_json(s->nodes, loop_now(s->loop), name, out, len);
}

/* A snapshot is swapped in between two events of the loop: every module
 * takes the new one at once (those that keep pointers into it take a
 * reference), and the old one is freed when its last user lets go. */
static void swap_policy(struct serve *s, struct policy *next)
{
	struct policy *old = s->policy;

	s->policy = next;
	s->cfg = policy_config(next);
	log_set_level(s->cfg->server.log_level);
	if (s->dhcp)
		dhcp_server_set_policy(dhcp_io_server(s->dhcp), next);
	if (s->tftp)
		tftp_server_reconfigure(tftp_io_server(s->tftp), &s->cfg->tftp);
	if (s->logrx) {
		logrx_reconfigure(s->logrx, &s->cfg->logrx);
		logrx_set_namer(s->logrx, name_node, s,
				s->cfg->dhcp.enabled && !s->cfg->logrx.keep_unknown);
	}
	if (s->nodes) {
		struct nodes_conf nc;
		nodes_conf(s->cfg, &nc);
		nodes_reconfigure(s->nodes, &nc);
	}
	policy_unref(old);
}

static void adjust_fixed(struct herd_config *next, void *ctx)
{
	struct serve *s = ctx;

	s->fixed = reload_keep_fixed(s->cfg, next);
}

/* Each line the checks wrote, into the log. */
static void log_lines(char *text, enum log_level level)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		log_msg(level, "reload: %s", l);
}

/* The reply to `herd reload` (and the log's account of any reload). */
static void reload_reply(FILE *reply, bool ok, const char *msg, const char *problems)
{
	char *save = NULL, *copy = problems ? strdup(problems) : NULL;
	bool first = true;

	if (reply == NULL)
		goto out;
	fprintf(reply, "{\"ok\":%s,\"message\":", ok ? "true" : "false");
	nodes_json_str(reply, msg);
	fputs(",\"problems\":[", reply);
	for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		fputs(first ? "" : ",", reply);
		nodes_json_str(reply, l);
		first = false;
	}
	fputs("]}", reply);
out:
	free(copy);
}

/* SIGHUP (and `herd reload`): the configuration and the inventory are read
 * again with every check `herd check` runs. A file with a problem is
 * refused, each problem logged with its line, and the running snapshot
 * goes on serving. The outcome is also written as JSON to `reply` (NULL:
 * none). */
static void reload(struct serve *s, FILE *reply)
{
	struct load_result res;
	struct policy *next;
	char *text = NULL, msg[512];
	size_t len = 0;
	mono_t t0 = clock_mono_now();
	FILE *errs = open_memstream(&text, &len);

	if (errs == NULL) {
		log_err("reload: %s", strerror(errno));
		reload_reply(reply, false, strerror(errno), NULL);
		return;
	}
	s->fixed = 0;
	next = load_policy(s->path, adjust_fixed, s, errs, NULL, &res);
	fclose(errs);
	if (next == NULL) {
		snprintf(msg, sizeof(msg), "%s refused (%d problem%s); still serving generation %u",
			 s->path, res.problems < 0 ? 1 : res.problems, res.problems == 1 ? "" : "s",
			 policy_generation(s->policy));
		reload_reply(reply, false, msg, text);
	}
	if (text)
		log_lines(text, next ? LOG_LVL_WARN : LOG_LVL_ERR);
	free(text);
	if (next == NULL) {
		log_err("reload: %s", msg);
		return;
	}
	swap_policy(s, next);
	/* The loop stood still while the files were read and checked: say
	 * for how long (clients' timers ran meanwhile). */
	snprintf(msg, sizeof(msg),
		 "%s: generation %u serving, %zu node%s, read and checked in %.1f ms%s", s->path,
		 policy_generation(next), inventory_count(policy_inventory(next)),
		 inventory_count(policy_inventory(next)) == 1 ? "" : "s",
		 (double)(clock_mono_now() - t0) / 1e3,
		 s->fixed ? "; some changes need a restart (see the log)" : "");
	log_info("reload: %s", msg);
	reload_reply(reply, true, msg, NULL);
}

/* What the service manager is told (sd_notify: systemd's Type=notify):
 * READY=1 once serving and after each reload (refused or not), RELOADING=1
 * when a reload begins, STOPPING=1 at exit; each with a one-line STATUS=. */
static void notify_manager(struct serve *s, enum sdnotify_state st)
{
	const struct inventory *inv = policy_inventory(s->policy);
	char status[160];

	snprintf(status, sizeof(status), "%s generation %u, %zu node%s",
		 st == SDNOTIFY_STOPPING ? "stopping:" : "serving", policy_generation(s->policy),
		 inventory_count(inv), inventory_count(inv) == 1 ? "" : "s");
	sdnotify_send(s->notify, st, clock_mono_now(),
		      st == SDNOTIFY_RELOADING ? "reloading" : status);
}

static void on_signal(struct loop_io *io, uint32_t events, mono_t now)
{
	struct serve *s = (struct serve *)((char *)io - offsetof(struct serve, sig));
	struct signalfd_siginfo si;

	(void)events;
	(void)now;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			log_info("signal %u: stopping", si.ssi_signo);
			notify_manager(s, SDNOTIFY_STOPPING);
			loop_stop(s->loop);
			break;
		case SIGHUP:
			notify_manager(s, SDNOTIFY_RELOADING);
			if (s->logrx)
				logrx_reopen(s->logrx);
			reload(s, NULL);
			notify_manager(s, SDNOTIFY_READY);
			break;
		case SIGUSR1:
			print_stats(s);
			break;
		}
	}
}

static void handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* Blocked first thing, before any thread exists (the lease writer), so
 * that every thread inherits the mask and only the loop's signalfd sees
 * them. */
static void block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	handled_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static int open_signals(struct serve *s)
{
	sigset_t set;

	handled_signals(&set);
	s->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig.fd < 0)
		return -errno;
	s->sig.fn = on_signal;
	return loop_io_add(s->loop, &s->sig, EPOLLIN);
}

/* The TFTP root is opened as a directory handle: every file is then
 * resolved beneath it, whatever the process's own root is. */
static int open_dirs(struct serve *s)
{
	const struct herd_config *cfg = s->cfg;

	s->rootfd = s->logdirfd = s->imagesfd = -1;
	/* HTTP serves the same root as TFTP. */
	if (cfg->tftp.enabled || cfg->http.enabled) {
		s->rootfd = open(cfg->tftp.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (s->rootfd < 0) {
			log_err("TFTP root %s: %s", cfg->tftp.root, strerror(errno));
			return -errno;
		}
	}
	/* The image store need not exist until a group names an image
	 * (herd check says so then); a missing one serves nothing. */
	if (cfg->tftp.enabled || cfg->http.enabled)
		s->imagesfd = open(cfg->images.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfg->logrx.enabled) {
		if (mkdir(cfg->logrx.dir, 0750) == 0 && geteuid() == 0)
			(void)!chown(cfg->logrx.dir, s->uid, s->gid);
		s->logdirfd = open(cfg->logrx.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->logdirfd < 0) {
			log_err("log directory %s: %s", cfg->logrx.dir, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The lease journal is read (and kept open) before the privilege drop. */
static int open_leases(struct serve *s)
{
	const struct conf_dhcp *d = &s->cfg->dhcp;
	int err;

	if (!d->enabled)
		return 0;
	/* A proxy hands out no address: an empty table, no journal. Nor has
	 * a cluster: its leases are in PostgreSQL (start_services). */
	s->leases = lease_table_open(
	    d, d->mode == CONF_DHCP_PROXY || s->cfg->cluster.database[0] ? "" : d->lease_file,
	    (int64_t)time(NULL), &err);
	if (s->leases == NULL) {
		log_err("lease file %s: %s", d->lease_file, strerror(-err));
		return err;
	}
	return 0;
}

/* [status] socket: owned by [status] owner and group (default: herd's
 * user and its group), mode 0660. */
static int open_control(struct serve *s)
{
	const struct conf_status *st = &s->cfg->status;
	uid_t uid = s->uid;
	gid_t gid = s->gid;
	int err;

	if (!st->enabled || st->socket[0] == '\0')
		return 0;
	if (st->owner[0] && (err = confine_lookup(st->owner, &uid, &gid)) < 0) {
		log_err("[status] owner %s: %s", st->owner,
			err == -ENOENT ? "no such user" : strerror(-err));
		return err;
	}
	if (st->group[0]) {
		struct group *g = getgrnam(st->group);
		if (g == NULL) {
			log_err("[status] group %s: no such group", st->group);
			return -ENOENT;
		}
		gid = g->gr_gid;
	}
	return control_open(&s->control, st->socket, uid, gid);
}

static int open_sockets(struct serve *s)
{
	int err = open_control(s);

	if (err == 0 && s->cfg->dhcp.enabled)
		err = dhcp_io_open(&s->dhcp, &s->cfg->dhcp, s->cfg->server.rcvbuf);
	if (err == 0 && s->cfg->tftp.enabled)
		err = tftp_io_open(&s->tftp, &s->cfg->tftp, s->cfg->server.rcvbuf);
	if (err == 0 && s->cfg->http.enabled)
		err = http_io_open(&s->http, &s->cfg->http);
	if (err == 0 && s->cfg->logrx.enabled)
		err = logrx_io_open(&s->logrx_io, &s->cfg->logrx, s->cfg->server.rcvbuf);
	if (err == 0)
		err = ops_http_open(&s->ops, &s->cfg->status_http);
	return err;
}

/* Generated files come from the snapshot being served at the time. */
static int render_boot_file(void *ctx, const char *name, const struct ipaddr *server,
			    const struct ipaddr *client, char **data, size_t *len)
{
	struct serve *s = ctx;

	return policy_render(s->policy, name, server, client, data, len);
}

/* A log sender's name: what DHCP knows of its address (DHCPv4: an IPv4
 * one). */
static const char *name_node(void *ctx, const struct ipaddr *ip)
{
	struct serve *s = ctx;
	uint32_t v4 = ipaddr_to_v4(ip);

	if (s->dhcp == NULL || v4 == 0)
		return NULL;
	return dhcp_server_name_of(dhcp_io_server(s->dhcp), v4, s->namebuf);
}

/* Whom DHCP knows (DHCPv4: IPv4 addresses only). */
static bool knows_node(void *ctx, const struct ipaddr *ip)
{
	struct serve *s = ctx;
	uint32_t v4 = ipaddr_to_v4(ip);

	return v4 != 0 && dhcp_server_knows(dhcp_io_server(s->dhcp), v4);
}

/* ---- The node state and the control socket ---------------------------- */

static void on_nodes_timer(struct timer *t, mono_t now)
{
	struct serve *s = (struct serve *)((char *)t - offsetof(struct serve, nodes_timer));

	nodes_tick(s->nodes, now);
}

/* Each iteration: the timer follows the oldest node's deadline. */
static void nodes_rearm(struct loop_post *p, mono_t now)
{
	struct serve *s = (struct serve *)((char *)p - offsetof(struct serve, nodes_post));
	mono_t when = nodes_next_deadline(s->nodes);

	(void)now;
	if (when == MONO_NEVER)
		loop_timer_cancel(s->loop, &s->nodes_timer);
	else if (!timer_armed(&s->nodes_timer) || s->nodes_timer.when != when)
		loop_timer_set(s->loop, &s->nodes_timer, when);
}

static unsigned log_tail(void *ctx, const char *name, char **out, unsigned max)
{
	struct serve *s = ctx;

	return control_log_tail(s->logdirfd, name, out, max);
}

static void error_reply(const char *what, char **reply, size_t *len)
{
	FILE *f = open_memstream(reply, len);

	if (f == NULL)
		return;
	fputs("{\"error\":", f);
	nodes_json_str(f, what);
	fputc('}', f);
	fclose(f);
}

/* The reply to {"cmd":"nodes"} or {"cmd":"node","name":...}: NULL, or
 * the error to answer. */
static const char *nodes_reply(struct serve *s, const char *line, bool one, char **reply,
			       size_t *len, mono_t now)
{
	char name[CONF_NAME_MAX];
	int err;

	if (s->nodes == NULL)
		return "[status] enabled = no";
	if (one && control_json_str(line, "name", name, sizeof(name)) < 0)
		return "node: no \"name\"";
	err = nodes_json(s->nodes, now, one ? name : NULL, reply, len);
	return err == -ENOENT ? "no such node" : err < 0 ? strerror(-err) : NULL;
}

/* One request of the control socket (docs/STATUS.md). */
static void on_control(void *ctx, const char *line, char **reply, size_t *len, mono_t now)
{
	struct serve *s = ctx;
	const char *error = "unknown command";
	char cmd[32];
	FILE *f;

	if (control_json_str(line, "cmd", cmd, sizeof(cmd)) < 0) {
		error = "no \"cmd\"";
	} else if (strcmp(cmd, "nodes") == 0 || strcmp(cmd, "node") == 0) {
		error = nodes_reply(s, line, strcmp(cmd, "node") == 0, reply, len, now);
	} else if (strcmp(cmd, "reload") == 0) {
		error = NULL;
		if ((f = open_memstream(reply, len)) == NULL)
			return;
		if (s->logrx)
			logrx_reopen(s->logrx);
		reload(s, f);
		fclose(f);
	}
	if (error)
		error_reply(error, reply, len);
}

static int start_status(struct serve *s)
{
	struct node_events ev;
	struct nodes_conf nc;

	if (!s->cfg->status.enabled)
		return 0;
	nodes_conf(s->cfg, &nc);
	s->nodes = nodes_new(&nc);
	if (s->nodes == NULL)
		return -ENOMEM;
	nodes_set_log_tail(s->nodes, log_tail, s);
	if (s->cluster)
		cluster_set_nodes(s->cluster, s->nodes);
	nodes_events(s->nodes, &ev);
	if (s->dhcp)
		dhcp_server_set_events(dhcp_io_server(s->dhcp), &ev);
	if (s->tftp)
		tftp_server_set_events(tftp_io_server(s->tftp), &ev);
	if (s->http)
		http_io_set_events(s->http, &ev);
	if (s->logrx)
		logrx_set_events(s->logrx, &ev);
	timer_init(&s->nodes_timer, on_nodes_timer);
	s->nodes_post.fn = nodes_rearm;
	loop_post_add(s->loop, &s->nodes_post);
	if (s->control)
		return control_start(s->control, s->loop,
				     &(struct control_ops){s, on_control});
	return 0;
}

static bool is_mine(const void *ctx, const uint8_t mac[6])
{
	return cluster_mine(ctx, mac);
}

static int start_services(struct serve *s)
{
	mono_t keep = MONO_MS(s->cfg->tftp.file_cache_ms);
	int err;

	s->loop = loop_new();
	if (s->loop == NULL)
		return -ENOMEM;
	err = open_signals(s);
	if (err < 0)
		return err;
	if (s->dhcp && s->cfg->cluster.database[0] && s->cfg->dhcp.mode != CONF_DHCP_PROXY) {
		s->cluster = cluster_new(s->loop, &s->cfg->cluster, s->leases);
		if (s->cluster == NULL)
			return -ENOMEM;
	}
	if (s->dhcp) {
		err = dhcp_io_start(s->dhcp, s->loop, s->policy, s->leases);
		if (err < 0)
			return err;
		if (s->cluster)
			dhcp_server_set_share(dhcp_io_server(s->dhcp), is_mine, s->cluster);
	}
	/* One files room for TFTP and HTTP: the same names, the same
	 * mappings, the same generated files. */
	if (s->tftp || s->http) {
		s->files = files_new(s->rootfd, keep);
		if (s->files == NULL)
			return -ENOMEM;
		files_set_images(s->files, s->imagesfd);
		if (s->cfg->dhcp.enabled) {
			struct files_generator gen = {s, boot_is_generated, render_boot_file};
			files_set_generator(s->files, &gen);
		}
	}
	if (s->http) {
		err = http_io_start(s->http, s->loop, s->files);
		if (err < 0)
			return err;
	}
	if (s->tftp) {
		err = tftp_io_start(s->tftp, s->loop, s->files);
		if (err < 0)
			return err;
		/* With DHCP herd knows its nodes: their requests go first. */
		if (s->dhcp)
			tftp_server_set_known(tftp_io_server(s->tftp),
					      &(struct tftp_known){s, knows_node});
		/* One link budget: HTTP's bytes go through TFTP's pacer. */
		if (s->http) {
			err = http_io_set_pacer(s->http, tftp_io_server(s->tftp),
						s->cfg->tftp.pacing_burst);
			if (err < 0)
				return err;
		}
	}
	if (s->logrx_io) {
		s->logrx = logrx_new(&s->cfg->logrx, s->logdirfd);
		if (s->logrx == NULL)
			return -ENOMEM;
		/* With DHCP herd knows its nodes (inventory and leases): only
		 * their logs are kept unless configured otherwise. */
		logrx_set_namer(s->logrx, name_node, s,
				s->cfg->dhcp.enabled && !s->cfg->logrx.keep_unknown);
		err = logrx_io_start(s->logrx_io, s->loop, s->logrx);
	}
	if (err == 0)
		err = start_status(s);
	if (err == 0 && s->ops) {
		struct ops_source src = {s, ops_stats, ops_nodes};
		err = ops_http_start(s->ops, s->loop, &src);
	}
	return err;
}

static void stop_services(struct serve *s)
{
	mono_t now = s->loop ? loop_now(s->loop) : 0;

	print_stats(s);
	ops_http_close(s->ops); /* first: it reads every other module */
	control_close(s->control);
	dhcp_io_close(s->dhcp);
	cluster_free(s->cluster);
	lease_table_close(s->leases);
	http_io_close(s->http); /* its responses hold files and pacer turns */
	tftp_io_close(s->tftp, now);
	files_free(s->files);
	logrx_io_close(s->logrx_io);
	logrx_free(s->logrx);
	if (s->loop && s->nodes)
		loop_timer_cancel(s->loop, &s->nodes_timer);
	nodes_free(s->nodes);
	sdnotify_close(s->notify);
	if (s->loop)
		close(s->sig.fd);
	loop_free(s->loop);
	if (s->rootfd >= 0)
		close(s->rootfd);
	if (s->imagesfd >= 0)
		close(s->imagesfd);
	if (s->logdirfd >= 0)
		close(s->logdirfd);
	policy_unref(s->policy);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: herd serve -c FILE\n"
		     "  Serves TFTP (and HTTP) and receives node logs, in the foreground.\n"
		     "  SIGTERM/SIGINT stop; SIGHUP reopens log files and reloads the\n"
		     "  configuration and the inventory (checked as by herd check; refused,\n"
		     "  with each problem logged, if anything is wrong); SIGUSR1 prints counters.\n");
}

static int serve_run(struct serve *s)
{
	int err = confine_lookup(s->cfg->server.user, &s->uid, &s->gid);

	if (err < 0) {
		log_err("user %s: %s", s->cfg->server.user,
			err == -ENOENT ? "no such user" : strerror(-err));
		return err;
	}
	if ((err = open_dirs(s)) < 0 || (err = open_leases(s)) < 0)
		return err;
	confine_raise_nofile(s->cfg->server.max_open_files);
	if ((err = open_sockets(s)) < 0)
		return err;
	/* Connected now: connect() is not allowed once confined. */
	if ((err = sdnotify_open(&s->notify)) < 0)
		log_warn("NOTIFY_SOCKET: %s (the service manager is not told)", strerror(-err));
	if ((err = confine_drop(s->cfg->server.user, s->uid, s->gid,
				s->cfg->dhcp.enabled && s->cfg->dhcp.pin_neighbours)) < 0)
		return err;
	if ((err = start_services(s)) < 0) {
		log_err("cannot start: %s", strerror(-err));
		return err;
	}
	/* The pacer wakes every few hundred microseconds at gigabit rates:
	 * the default 50 us timer slack would blur it. */
	prctl(PR_SET_TIMERSLACK, 5000UL, 0, 0, 0);
	if (s->cfg->server.seccomp && (err = confine_seccomp(s->cfg->cluster.database[0] != '\0')) < 0)
		return err;
	log_info("herd %s serving (config %s)", HERD_VERSION, s->cfg->path);
	notify_manager(s, SDNOTIFY_READY);
	err = loop_run(s->loop);
	if (err < 0)
		log_err("event loop: %s", strerror(-err));
	return err;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	struct load_result res;
	struct serve *s;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return 1;
	block_signals();
	s->rootfd = s->logdirfd = s->imagesfd = -1;
	s->path = path;
	s->policy = load_policy(path, NULL, NULL, stderr, NULL, &res);
	if (s->policy == NULL) {
		if (res.problems > 1)
			fprintf(stderr, "herd: %s: %d problems\n", path, res.problems);
		free(s);
		return 1;
	}
	s->cfg = policy_config(s->policy);
	log_set_level(s->cfg->server.log_level);
	err = serve_run(s);
	stop_services(s);
	free(s);
	return err < 0 ? 1 : 0;
}
