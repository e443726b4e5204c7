/* `herd serve -c FILE`: the daemon, in the foreground, diagnostics on
 * stderr. Start-up reads as the order things happen in: configuration,
 * directories, sockets, confinement, services, loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include "cmd/cmd.h"
#include "cmd/confine.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "boot/boot.h"
#include "dhcp/dhcp_io.h"
#include "dhcp/lease.h"
#include "inventory/inventory.h"
#include "syslog/logrx.h"
#include "syslog/logrx_io.h"
#include "tftp/tftp_files.h"
#include "tftp/tftp_io.h"

struct serve {
	struct herd_config cfg;
	uid_t uid;
	gid_t gid;
	int rootfd;
	int logdirfd;
	struct loop *loop;
	struct loop_io sig;
	struct tftp_files *files;
	struct tftp_io *tftp;
	struct logrx *logrx;
	struct logrx_io *logrx_io;
	struct inventory *inventory;
	struct lease_table *leases;
	struct dhcp_io *dhcp;
	char namebuf[32];
};

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
	if (s->logrx_io && s->logrx) {
		line.len = 0, line.buf[0] = '\0';
		logrx_io_stats_visit(s->logrx_io, &v);
		log_info("log:%s", line.buf);
	}
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
			loop_stop(s->loop);
			break;
		case SIGHUP:
			if (s->logrx)
				logrx_reopen(s->logrx);
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
	const struct herd_config *cfg = &s->cfg;

	s->rootfd = s->logdirfd = -1;
	if (cfg->tftp.enabled) {
		s->rootfd = open(cfg->tftp.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (s->rootfd < 0) {
			log_err("TFTP root %s: %s", cfg->tftp.root, strerror(errno));
			return -errno;
		}
	}
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

/* The inventory and the lease journal are read (and the journal kept open)
 * before the privilege drop. */
static int open_boot(struct serve *s)
{
	const struct conf_dhcp *d = &s->cfg.dhcp;
	int err;

	if (!d->enabled)
		return 0;
	if (d->inventory[0]) {
		err = inventory_load(&s->inventory, d->inventory, d, stderr);
		if (err != 0)
			return err < 0 ? err : -EINVAL;
	}
	s->leases = lease_table_open(d, d->lease_file, (int64_t)time(NULL), &err);
	if (s->leases == NULL) {
		log_err("lease file %s: %s", d->lease_file, strerror(-err));
		return err;
	}
	return 0;
}

static int open_sockets(struct serve *s)
{
	int err = 0;

	if (s->cfg.dhcp.enabled)
		err = dhcp_io_open(&s->dhcp, &s->cfg.dhcp, s->cfg.server.rcvbuf);
	if (err == 0 && s->cfg.tftp.enabled)
		err = tftp_io_open(&s->tftp, &s->cfg.tftp, s->cfg.server.rcvbuf);
	if (err == 0 && s->cfg.logrx.enabled)
		err = logrx_io_open(&s->logrx_io, &s->cfg.logrx, s->cfg.server.rcvbuf);
	return err;
}

/* The node a generated boot file is for: from the inventory, else a pool
 * client of the default group. */
static int render_boot_file(void *ctx, const char *name, uint32_t server_ip, uint32_t client_ip,
			    char **data, size_t *len)
{
	struct serve *s = ctx;
	struct boot_node bn = {.server = server_ip, .ip = client_ip};
	char pool[32];

	if (boot_generated_mac(name, bn.mac) < 0)
		return -ENOENT;
	bn.inv = inventory_by_mac(s->inventory, bn.mac);
	if (bn.inv) {
		bn.name = bn.inv->name;
		bn.ip = bn.inv->ip;
		bn.group = bn.inv->group;
	} else if (s->cfg.dhcp.unknown == CONF_UNKNOWN_POOL) {
		snprintf(pool, sizeof(pool), "node-%02x%02x%02x%02x%02x%02x", bn.mac[0], bn.mac[1],
			 bn.mac[2], bn.mac[3], bn.mac[4], bn.mac[5]);
		bn.name = pool;
		bn.group = conf_group_find(&s->cfg.dhcp, s->cfg.dhcp.default_group);
	}
	if (bn.group == NULL)
		return -ENOENT;
	return boot_render(&bn, name, data, len);
}

static const char *name_node(void *ctx, uint32_t ip)
{
	struct serve *s = ctx;

	return s->dhcp ? dhcp_server_name_of(dhcp_io_server(s->dhcp), ip, s->namebuf) : NULL;
}

static bool knows_node(void *ctx, uint32_t ip)
{
	struct serve *s = ctx;

	return dhcp_server_knows(dhcp_io_server(s->dhcp), ip);
}

static int start_services(struct serve *s)
{
	mono_t keep = MONO_MS(s->cfg.tftp.file_cache_ms);
	int err;

	s->loop = loop_new();
	if (s->loop == NULL)
		return -ENOMEM;
	err = open_signals(s);
	if (err < 0)
		return err;
	if (s->dhcp) {
		err = dhcp_io_start(s->dhcp, s->loop, s->inventory, s->leases);
		if (err < 0)
			return err;
	}
	if (s->tftp) {
		s->files = tftp_files_new(s->rootfd, keep);
		if (s->files == NULL)
			return -ENOMEM;
		if (s->cfg.dhcp.enabled) {
			struct tftp_generator gen = {s, boot_is_generated, render_boot_file};
			tftp_files_set_generator(s->files, &gen);
		}
		err = tftp_io_start(s->tftp, s->loop, s->files);
		if (err < 0)
			return err;
		/* With DHCP herd knows its nodes: their requests go first. */
		if (s->dhcp)
			tftp_server_set_known(tftp_io_server(s->tftp),
					      &(struct tftp_known){s, knows_node});
	}
	if (s->logrx_io) {
		s->logrx = logrx_new(&s->cfg.logrx, s->logdirfd);
		if (s->logrx == NULL)
			return -ENOMEM;
		/* With DHCP herd knows its nodes (inventory and leases): only
		 * their logs are kept unless configured otherwise. */
		logrx_set_namer(s->logrx, name_node, s,
				s->cfg.dhcp.enabled && !s->cfg.logrx.keep_unknown);
		err = logrx_io_start(s->logrx_io, s->loop, s->logrx);
	}
	return err;
}

static void stop_services(struct serve *s)
{
	mono_t now = s->loop ? loop_now(s->loop) : 0;

	print_stats(s);
	dhcp_io_close(s->dhcp);
	lease_table_close(s->leases);
	inventory_free(s->inventory);
	tftp_io_close(s->tftp, now);
	tftp_files_free(s->files);
	logrx_io_close(s->logrx_io);
	logrx_free(s->logrx);
	if (s->loop)
		close(s->sig.fd);
	loop_free(s->loop);
	if (s->rootfd >= 0)
		close(s->rootfd);
	if (s->logdirfd >= 0)
		close(s->logdirfd);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: herd serve -c FILE\n"
		     "  Serves TFTP and receives node logs, in the foreground.\n"
		     "  SIGTERM/SIGINT stop, SIGHUP reopens log files, SIGUSR1 prints counters.\n");
}

static int serve_run(struct serve *s)
{
	int err = confine_lookup(s->cfg.server.user, &s->uid, &s->gid);

	if (err < 0) {
		log_err("user %s: %s", s->cfg.server.user,
			err == -ENOENT ? "no such user" : strerror(-err));
		return err;
	}
	if ((err = open_dirs(s)) < 0 || (err = open_boot(s)) < 0)
		return err;
	confine_raise_nofile(s->cfg.server.max_open_files);
	if ((err = open_sockets(s)) < 0)
		return err;
	if ((err = confine_drop(s->cfg.server.user, s->uid, s->gid,
				s->cfg.dhcp.enabled && s->cfg.dhcp.pin_neighbours)) < 0)
		return err;
	if ((err = start_services(s)) < 0) {
		log_err("cannot start: %s", strerror(-err));
		return err;
	}
	/* The pacer wakes every few hundred microseconds at gigabit rates:
	 * the default 50 us timer slack would blur it. */
	prctl(PR_SET_TIMERSLACK, 5000UL, 0, 0, 0);
	log_info("herd %s serving (config %s)", HERD_VERSION, s->cfg.path);
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
	s->rootfd = s->logdirfd = -1;
	if (cmd_load_config(&s->cfg, path, false) != 0) {
		free(s);
		return 1;
	}
	log_set_level(s->cfg.server.log_level);
	err = serve_run(s);
	stop_services(s);
	free(s);
	return err < 0 ? 1 : 0;
}
