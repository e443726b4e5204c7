/* Unit tests for the configuration parser (conf/conf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "conf/conf_keys.h"

/* The result of one parse: the configuration and what was reported. */
struct parsed {
	struct herd_config cfg;
	int problems;
	char *errs; /* every reported line */
	size_t errs_len;
};

/* Parses size bytes, NUL bytes included, as conf_load parses a file. */
static struct parsed *parse_mem(const char *data, size_t size)
{
	struct parsed *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	FILE *errs = open_memstream(&r->errs, &r->errs_len);
	assert_non_null(errs);
	conf_defaults(&r->cfg);
	r->problems = conf_load_mem(&r->cfg, "t.conf", data, size, errs);
	assert_int_equal(fclose(errs), 0);
	return r;
}

static struct parsed *parse(const char *text)
{
	return parse_mem(text, strlen(text));
}

static struct herd_config *new_config(void)
{
	/* Configurations are large (every DHCP group is in them): not on the stack. */
	struct herd_config *cfg = calloc(1, sizeof(*cfg));
	assert_non_null(cfg);
	return cfg;
}

static void parsed_free(struct parsed *r)
{
	free(r->errs);
	free(r);
}

/* Parses text that must be valid. */
static struct parsed *parse_ok(const char *text)
{
	struct parsed *r = parse(text);
	if (r->problems != 0)
		fail_msg("unexpected problems:\n%s", r->errs);
	return r;
}

/* Asserts that exactly `problems` were reported and that the report
 * contains `want` (a "t.conf:LINE: reason" fragment). */
static void expect_error(const char *text, int problems, const char *want)
{
	struct parsed *r = parse(text);
	if (r->problems != problems || strstr(r->errs, want) == NULL)
		fail_msg("want %d problem(s) with \"%s\", got %d:\n%s", problems, want, r->problems,
			 r->errs);
	/* One line per problem, each naming the file. */
	unsigned lines = 0;
	for (const char *s = r->errs; (s = strstr(s, "t.conf:")) != NULL; s++)
		lines++;
	assert_int_equal(lines, problems);
	parsed_free(r);
}

static uint32_t ip(const char *dotted)
{
	struct in_addr in;
	assert_int_equal(inet_pton(AF_INET, dotted, &in), 1);
	return in.s_addr;
}

static void assert_listen_equal(const struct conf_listen *a, const struct conf_listen *b)
{
	assert_int_equal(a->count, b->count);
	for (unsigned i = 0; i < a->count; i++) {
		assert_true(ipaddr_eq(&a->addrs[i].ip, &b->addrs[i].ip));
		assert_int_equal(a->addrs[i].port, b->addrs[i].port);
	}
}

/* Field by field: the structs may differ in padding and in the bytes after
 * a string's NUL. */
static void assert_conf_equal(const struct herd_config *a, const struct herd_config *b)
{
	assert_string_equal(a->server.user, b->server.user);
	assert_int_equal(a->server.log_level, b->server.log_level);
	assert_int_equal(a->server.rcvbuf, b->server.rcvbuf);
	assert_int_equal(a->server.max_open_files, b->server.max_open_files);
	assert_int_equal(a->server.seccomp, b->server.seccomp);

	assert_int_equal(a->tftp.enabled, b->tftp.enabled);
	assert_listen_equal(&a->tftp.listen, &b->tftp.listen);
	assert_string_equal(a->tftp.root, b->tftp.root);
	assert_int_equal(a->tftp.max_transfers, b->tftp.max_transfers);
	assert_int_equal(a->tftp.blksize_max, b->tftp.blksize_max);
	assert_int_equal(a->tftp.windowsize_max, b->tftp.windowsize_max);
	assert_int_equal(a->tftp.retries, b->tftp.retries);
	assert_int_equal(a->tftp.rto_min_ms, b->tftp.rto_min_ms);
	assert_int_equal(a->tftp.rto_max_ms, b->tftp.rto_max_ms);
	assert_int_equal(a->tftp.rto_initial_ms, b->tftp.rto_initial_ms);
	assert_int_equal(a->tftp.transfer_sockets, b->tftp.transfer_sockets);
	assert_int_equal(a->tftp.file_cache_ms, b->tftp.file_cache_ms);
	assert_true(a->tftp.link_rate == b->tftp.link_rate);
	assert_int_equal(a->tftp.pacing_burst, b->tftp.pacing_burst);
	assert_int_equal(a->tftp.client_timeout_ms, b->tftp.client_timeout_ms);
	assert_int_equal(a->tftp.source_rate, b->tftp.source_rate);
	assert_int_equal(a->tftp.source_burst, b->tftp.source_burst);
	assert_int_equal(a->tftp.unknown_rate, b->tftp.unknown_rate);
	assert_int_equal(a->tftp.unknown_burst, b->tftp.unknown_burst);
	assert_int_equal(a->tftp.unknown_share, b->tftp.unknown_share);

	assert_int_equal(a->logrx.enabled, b->logrx.enabled);
	assert_listen_equal(&a->logrx.syslog, &b->logrx.syslog);
	assert_listen_equal(&a->logrx.netconsole, &b->logrx.netconsole);
	assert_string_equal(a->logrx.dir, b->logrx.dir);
	assert_int_equal(a->logrx.max_file_bytes, b->logrx.max_file_bytes);
	assert_int_equal(a->logrx.rotate_keep, b->logrx.rotate_keep);
	assert_int_equal(a->logrx.line_max, b->logrx.line_max);
	assert_int_equal(a->logrx.rate_lines, b->logrx.rate_lines);
	assert_int_equal(a->logrx.burst_lines, b->logrx.burst_lines);
	assert_int_equal(a->logrx.max_senders, b->logrx.max_senders);

	assert_int_equal(a->dhcp.nrules, b->dhcp.nrules);
	for (unsigned i = 0; i < a->dhcp.nrules; i++) {
		const struct conf_rule *x = &a->dhcp.rules[i], *y = &b->dhcp.rules[i];
		assert_string_equal(x->name, y->name);
		for (unsigned k = 0; k < RULE_NKEYS; k++)
			assert_string_equal(x->match[k], y->match[k]);
		assert_string_equal(x->group, y->group);
		assert_string_equal(x->node_name, y->node_name);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	struct herd_config *d = new_config();

	conf_defaults(d);
	assert_string_equal(d->server.user, "");
	assert_int_equal(d->server.log_level, LOG_LVL_INFO);
	assert_int_equal(d->server.rcvbuf, 8 << 20);
	assert_true(d->server.seccomp);
	assert_true(d->tftp.enabled);
	assert_int_equal(d->tftp.listen.count, 1);
	assert_int_equal(ipaddr_to_v4(&d->tftp.listen.addrs[0].ip), 0);
	assert_int_equal(d->tftp.listen.addrs[0].port, 69);
	assert_string_equal(d->tftp.root, "/srv/herd/tftp");
	assert_int_equal(d->tftp.blksize_max, 1468);
	assert_true(d->tftp.rto_min_ms <= d->tftp.rto_initial_ms);
	assert_true(d->tftp.rto_initial_ms <= d->tftp.rto_max_ms);
	assert_true(d->logrx.enabled);
	assert_int_equal(d->logrx.syslog.addrs[0].port, 514);
	assert_int_equal(d->logrx.netconsole.addrs[0].port, 6666);
	assert_int_equal(d->logrx.max_file_bytes, 64u << 20);

	/* An empty file, or one of comments, leaves the defaults. */
	struct parsed *r = parse_ok("");
	assert_conf_equal(&r->cfg, d);
	assert_string_equal(r->cfg.path, "t.conf");
	parsed_free(r);
	r = parse_ok("; nothing\n# here\n\n[tftp]\n");
	assert_conf_equal(&r->cfg, d);
	parsed_free(r);
	free(d);
}

/* The shipped example must load cleanly and match the built-in defaults
 * wherever it sets something the defaults also set. */
static void test_example_file(void **state)
{
	(void)state;
	const char *path = "etc/herd.conf.example";

	if (access(path, R_OK) != 0) {
		print_message("%s not found (run from the source tree); skipped\n", path);
		skip();
	}
	struct herd_config *cfg = new_config(), *d = new_config();
	conf_defaults(cfg);
	assert_int_equal(conf_load(cfg, path, stderr), 0);
	assert_string_equal(cfg->path, path);
	conf_defaults(d);
	assert_string_equal(cfg->server.user, "herd");
	strcpy(d->server.user, "herd");
	assert_conf_equal(cfg, d);
	free(cfg);
	free(d);
}

static void test_bool(void **state)
{
	(void)state;
	static const char *const yes[] = {"yes", "YES", "true", "True", "on", "1"};
	static const char *const no[] = {"no", "No", "false", "FALSE", "off", "0"};
	char text[128];

	for (unsigned i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "[tftp]\nenabled = %s\n[log]\nenabled=%s\n", no[i],
			 yes[i]);
		struct parsed *r = parse_ok(text);
		assert_false(r->cfg.tftp.enabled);
		assert_true(r->cfg.logrx.enabled);
		parsed_free(r);
	}
	expect_error("[tftp]\nenabled = maybe\n", 1, "t.conf:2: enabled: 'maybe' is not yes or no");
	expect_error("[tftp]\nenabled =\n", 1, "t.conf:2: enabled:");
}

static void test_uint(void **state)
{
	(void)state;
	struct parsed *r = parse_ok("[tftp]\nmax_transfers = 1\nblksize_max=65464\nretries : 100\n"
				    "file_cache_ms = 0\n[server]\nmax_open_files = 1048576\n");
	assert_int_equal(r->cfg.tftp.max_transfers, 1);
	assert_int_equal(r->cfg.tftp.blksize_max, 65464);
	assert_int_equal(r->cfg.tftp.retries, 100);
	assert_int_equal(r->cfg.tftp.file_cache_ms, 0);
	assert_int_equal(r->cfg.server.max_open_files, 1048576);
	parsed_free(r);

	expect_error("[tftp]\nblksize_max = 511\n", 1,
		     "t.conf:2: blksize_max: 511 is outside 512..65464");
	expect_error("[tftp]\nblksize_max = 65465\n", 1, "outside 512..65464");
	expect_error("[tftp]\nretries = -1\n", 1, "t.conf:2: retries: '-1' is not a number");
	expect_error("[tftp]\nretries = +1\n", 1, "is not a number");
	expect_error("[tftp]\nretries = 0x10\n", 1, "is not a number");
	expect_error("[tftp]\nretries = 5 tries\n", 1, "is not a number");
	expect_error("[tftp]\nretries = 4K\n", 1, "is not a number"); /* no suffix on counts */
	expect_error("[tftp]\nretries =\n", 1, "is not a number");
	expect_error("[tftp]\nmax_transfers = 99999999999999999999999\n", 1, "max_transfers:");
	/* 2^32 + 1 must not wrap into range. */
	expect_error("[tftp]\nretries = 4294967297\n", 1, "outside 1..100");
}

static void test_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {
	    {"4096", 4096},
	    {"64K", 64u << 10},
	    {"64k", 64u << 10},
	    {"8M", 8u << 20},
	    {"3m", 3u << 20},
	    {"1G", 1u << 30},
	    {"4G", UINT64_C(4) << 30}, /* past 32 bits */
	    {"1024G", UINT64_C(1) << 40},
	};
	char text[128];

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[log]\nmax_file_size = %s\n", cases[i].text);
		struct parsed *r = parse_ok(text);
		assert_int_equal(r->cfg.logrx.max_file_bytes, cases[i].bytes);
		parsed_free(r);
	}
	struct parsed *r = parse_ok("[server]\nrcvbuf = 64K\n");
	assert_int_equal(r->cfg.server.rcvbuf, 65536);
	parsed_free(r);
	r = parse_ok("[server]\nrcvbuf = 1G\n");
	assert_int_equal(r->cfg.server.rcvbuf, 1 << 30);
	parsed_free(r);

	expect_error("[server]\nrcvbuf = 2G\n", 1, "t.conf:2: rcvbuf: 2147483648 is outside");
	expect_error("[server]\nrcvbuf = 63K\n", 1, "outside 65536..");
	expect_error("[log]\nmax_file_size = 1025G\n", 1,
		     "max_file_size: 1100585369600 is outside");
	expect_error("[log]\nmax_file_size = 1T\n", 1, "is not a size");
	expect_error("[log]\nmax_file_size = 64KB\n", 1, "is not a size");
	expect_error("[log]\nmax_file_size = K\n", 1, "is not a size");
	expect_error("[log]\nmax_file_size = -1M\n", 1, "is not a size");
	/* The shift must not overflow into a small number. */
	expect_error("[log]\nmax_file_size = 17179869184G\n", 1, "max_file_size:");
}

static void test_strings(void **state)
{
	(void)state;
	struct parsed *r = parse_ok("[server]\nuser = nobody\n[tftp]\nroot = /var/lib/tftp boot\n"
				    "[log]\ndir=/x ; a comment\n");
	assert_string_equal(r->cfg.server.user, "nobody");
	assert_string_equal(r->cfg.tftp.root, "/var/lib/tftp boot");
	assert_string_equal(r->cfg.logrx.dir, "/x");
	parsed_free(r);

	r = parse_ok("[server]\nuser =\n"); /* empty: stay as we are */
	assert_string_equal(r->cfg.server.user, "");
	parsed_free(r);

	expect_error("[tftp]\nroot = srv/tftp\n", 1,
		     "t.conf:2: root: 'srv/tftp' must be an absolute path");
	expect_error("[log]\ndir =\n", 1, "dir: '' must be an absolute path");
	expect_error("[server]\nuser = a b\n", 1, "t.conf:2: user: 'a b' is not a user name");
	expect_error("[server]\nuser = ../root\n", 1, "is not a user name");
	expect_error("[server]\nuser = "
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		     1, "is not a user name");
}

static void test_log_level(void **state)
{
	(void)state;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const enum log_level levels[] = {LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO,
						LOG_LVL_DEBUG};
	char text[64];

	for (unsigned i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "[server]\nlog_level = %s\n", names[i]);
		struct parsed *r = parse_ok(text);
		assert_int_equal(r->cfg.server.log_level, levels[i]);
		parsed_free(r);
	}
	expect_error("[server]\nlog_level = verbose\n", 1,
		     "t.conf:2: log_level: 'verbose' is not one of error, warning, info, debug");
}

static void test_listen(void **state)
{
	(void)state;
	struct parsed *r = parse_ok("[tftp]\nlisten = 10.0.0.1, 10.0.0.2:6969\t*:1069 :7069\n"
				    "[log]\nsyslog = 192.168.1.1\nnetconsole =\n");
	const struct conf_listen *l = &r->cfg.tftp.listen;
	assert_int_equal(l->count, 4);
	assert_int_equal(ipaddr_to_v4(&l->addrs[0].ip), ip("10.0.0.1"));
	assert_int_equal(l->addrs[0].port, 69); /* the setting's default port */
	assert_int_equal(ipaddr_to_v4(&l->addrs[1].ip), ip("10.0.0.2"));
	assert_int_equal(l->addrs[1].port, 6969);
	assert_int_equal(ipaddr_to_v4(&l->addrs[2].ip), 0);
	assert_int_equal(l->addrs[2].port, 1069);
	assert_int_equal(ipaddr_to_v4(&l->addrs[3].ip), 0);
	assert_int_equal(l->addrs[3].port, 7069);
	assert_int_equal(r->cfg.logrx.syslog.count, 1);
	assert_int_equal(r->cfg.logrx.syslog.addrs[0].port, 514);
	assert_int_equal(r->cfg.logrx.netconsole.count, 0); /* syslog alone is enough */
	parsed_free(r);

	r = parse_ok(
	    "[tftp]\nlisten = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8\n");
	assert_int_equal(r->cfg.tftp.listen.count, CONF_MAX_LISTEN);
	parsed_free(r);
}

/* [status]: listen off or an address; endpoints yes, no or their own
 * address, each resolved by conf_status_where(). */
static void test_status_listener(void **state)
{
	(void)state;
	struct netaddr a;
	char buf[NETADDR_STRLEN];
	struct parsed *r = parse_ok("[status]\nlisten = 127.0.0.1\nmetrics = 10.0.0.1:9100\n"
				    "api = no\ndashboard = no\n");
	const struct conf_status_http *st = &r->cfg.status_http;

	assert_int_equal(conf_status_where(st->listen, st->metrics, &a), 1);
	assert_string_equal(netaddr_str(&a, buf), "10.0.0.1:9100");
	assert_int_equal(conf_status_where(st->listen, st->api, &a), 0);
	assert_int_equal(conf_status_where(st->listen, "yes", &a), 1);
	assert_string_equal(netaddr_str(&a, buf), "127.0.0.1:9180");
	assert_int_equal(conf_status_where("off", "yes", &a), 0);
	assert_int_equal(conf_status_where("off", "10.0.0.2:1", &a), 1);
	parsed_free(r);
	expect_error("[status]\nlisten = nowhere\n", 1,
		     "t.conf:2: [status] listen: 'nowhere' is not off or an IPv4 ADDR[:PORT]");
	expect_error("[status]\n\nmetrics = maybe\n", 1,
		     "t.conf:3: [status] metrics: 'maybe' is not yes, no or an IPv4 ADDR[:PORT]");
	/* The page fetches the API from where it was loaded. */
	expect_error("[status]\napi = no\n", 1,
		     "t.conf:2: [status] dashboard: the page reads the node API from its own "
		     "address: serve api there too, or set dashboard = no");
	expect_error("[status]\napi = 127.0.0.1:1\ndashboard = 127.0.0.1:2\n", 1,
		     "t.conf:3: [status] dashboard: the page reads");
	r = parse_ok("[status]\nlisten = off\napi = 10.0.0.1:1\ndashboard = 10.0.0.1:1\n");
	parsed_free(r);
}

static void test_bad_listen(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "1.2.3.256", "localhost", "1.2.3.4:0",     "1.2.3.4:65536", "1.2.3.4:",   "1.2.3.4:x",
	    "1.2.3",	 "[::1",      "1.2.3.4:69:69", "[1.2.3.4]:69",	"1.2.3.4:-1",
	};
	char text[128], want[128];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[tftp]\n\nlisten = 10.0.0.1 %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "t.conf:3: listen: '%s' is not an IPv4 address with an optional :port",
			 bad[i]);
		/* One problem: a rejected list leaves the old one, so there is no
		 * second complaint that listen is empty. */
		expect_error(text, 1, want);
	}
	/* IPv6 addresses parse (the address type holds them) but are not
	 * served yet: said as such. */
	expect_error("[tftp]\nlisten = ::1\n", 1,
		     "t.conf:2: listen: '::1': herd does not serve IPv6 yet");
	expect_error("[log]\nsyslog = [fe80::1]:514\n", 1,
		     "t.conf:2: syslog: '[fe80::1]:514': herd does not serve IPv6 yet");
	struct parsed *r = parse("[tftp]\nlisten = 10.9.9.9:99 bogus\n");
	assert_int_equal(r->cfg.tftp.listen.count, 1);
	assert_int_equal(r->cfg.tftp.listen.addrs[0].port, 69); /* the default kept */
	parsed_free(r);

	expect_error("[tftp]\nlisten = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 "
		     "1.1.1.8 1.1.1.9\n",
		     1, "t.conf:2: listen: at most 8 addresses");
}

static void test_unknown_names(void **state)
{
	(void)state;
	expect_error("[tftp]\nroot = /srv\n\n; comment\nfrobnicate = 3\n", 1,
		     "t.conf:5: unknown setting 'frobnicate' in [tftp]");
	/* A section is reported at its header, once, and its keys not at all. */
	expect_error("[server]\nuser = herd\n[dhcpx]\nrange = 1\nbogus = 2\n", 1,
		     "t.conf:3: unknown section [dhcpx]");
	expect_error("[log]\n[nosuch]\n", 1, "t.conf:2: unknown section [nosuch]");
	/* A key from another section is unknown where it stands. */
	expect_error("[log]\nroot = /srv\n", 1, "t.conf:2: unknown setting 'root' in [log]");
	/* Names are case-sensitive. */
	expect_error("[TFTP]\nroot = /srv\n", 1, "t.conf:1: unknown section [TFTP]");
	expect_error("retries = 3\n[tftp]\n", 1, "t.conf:1: 'retries' is set before any [section]");
	/* Every problem is reported, not just the first. */
	expect_error("[tftp]\na = 1\nb = 2\n[x]\nc = 3\n", 3, "t.conf:4: unknown section [x]");
	/* A section after a bad one is read. */
	expect_error("[x]\na = 1\n[tftp]\nb = 2\n", 2, "t.conf:4: unknown setting 'b' in [tftp]");

	/* [subnet NAME] and [group NAME] need a name that can be a file name. */
	expect_error("[subnet]\nnetwork = 10.0.0.0/8\nrouter = 10.0.0.1\n", 1,
		     "t.conf:1: [subnet] needs a name: [subnet NAME]");
	expect_error("[group a/b]\nkernel = k\ninitrd = i\n", 1,
		     "t.conf:1: [group a/b]: the name may hold letters, digits, '-', '_' and '.'");
	expect_error("[groupx a]\nkernel = k\n", 1, "t.conf:1: unknown section [groupx a]");
	/* Past what inih keeps of a section name (49 characters): read whole. */
	struct parsed *r =
	    parse_ok("[group aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1]\n"
		     "[group aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2]\n"
		     "kernel = k\n");
	assert_int_equal(r->cfg.dhcp.ngroups, 2);
	assert_string_equal(r->cfg.dhcp.groups[0].kernel, "");
	assert_string_equal(r->cfg.dhcp.groups[1].kernel, "k");
	assert_int_equal(strlen(r->cfg.dhcp.groups[1].name), 54);
	parsed_free(r);

	/* A section with no keys exists, with its defaults. */
	r = parse_ok("[group g]\n[subnet s]\nnetwork = 10.0.0.0/8\n[group h] ; comment\n");
	assert_int_equal(r->cfg.dhcp.ngroups, 2);
	assert_string_equal(conf_group_find(&r->cfg.dhcp, "g")->loader_bios, "undionly.kpxe");
	assert_int_equal(conf_group_find(&r->cfg.dhcp, "h")->line, 4);
	parsed_free(r);

	/* At most CONF_MAX_SUBNETS: the one past is reported once. */
	char text[2048] = "";
	for (unsigned i = 0; i <= CONF_MAX_SUBNETS; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "[subnet s%u]\nnetwork = 10.%u.0.0/16\nrouter = 10.%u.0.1\n", i, i, i);
	expect_error(text, 1, "t.conf:49: at most 16 subnets");
}

static void test_duplicate(void **state)
{
	(void)state;
	expect_error("[tftp]\nretries = 3\nroot = /a\nretries = 4\n", 1,
		     "t.conf:4: retries: set twice in [tftp] (first on line 2)");
	/* Reopening a section is fine; setting a key twice through it is not. */
	struct parsed *r = parse_ok("[tftp]\nretries = 3\n[log]\ndir = /l\n[tftp]\nroot = /r\n");
	assert_int_equal(r->cfg.tftp.retries, 3);
	assert_string_equal(r->cfg.tftp.root, "/r");
	parsed_free(r);
	expect_error("[tftp]\nretries = 3\n[log]\n[tftp]\nretries = 3\n", 1,
		     "t.conf:5: retries: set twice");
	/* The same name in two sections is two settings. */
	r = parse_ok("[tftp]\nenabled = no\n[log]\nenabled = no\n");
	parsed_free(r);
	/* The boot sections report it the same way; cmdline may be given on
	 * several lines (joined), and two subnets are two sections. */
	expect_error("[dhcp]\nlease_time = 600\nlease_time = 700\n", 1,
		     "t.conf:3: lease_time: set twice in [dhcp] (first on line 2)");
	expect_error("[subnet a]\nnetwork = 10.0.0.0/24\nrouter = 10.0.0.1\n"
		     "router = 10.0.0.2\n",
		     1, "t.conf:4: router: set twice in [subnet a] (first on line 3)");
	expect_error("[group g]\nkernel = k1\ncmdline = a\ncmdline = b\nkernel = k2\n", 1,
		     "t.conf:5: kernel: set twice in [group g] (first on line 2)");
	r = parse_ok("[subnet a]\nnetwork = 10.0.0.0/24\nrouter = 10.0.0.1\n"
		     "[subnet b]\nnetwork = 10.0.1.0/24\nrouter = 10.0.1.1\n");
	parsed_free(r);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("[tftp]\nretries = 3\nthis is not a setting\nroot = /srv\n", 1,
		     "t.conf:3: expected 'name = value' or '[section]'");
	expect_error("[tftp]\nretries ; = 3\n", 1, "t.conf:2: expected 'name = value'");
	/* A broken header is reported once, not again for every key under it. */
	expect_error("[server]\nuser = herd\n[tftp\nretries = 3\nroot = /x\n", 1,
		     "t.conf:3: expected 'name = value' or '[section]'");
	expect_error("[tftp ; ]\nretries = 3\n", 1, "t.conf:1: expected");
	/* Later sections are read normally again. */
	expect_error("[tftp\nretries = 3\n[log]\nbogus = 1\n", 2,
		     "t.conf:4: unknown setting 'bogus'");
	/* Several syntax errors: each one has its own line. */
	struct parsed *r = parse("oops\n[tftp]\nalso oops\n");
	assert_int_equal(r->problems, 2);
	assert_non_null(strstr(r->errs, "t.conf:1: expected"));
	assert_non_null(strstr(r->errs, "t.conf:3: expected"));
	parsed_free(r);
}

static void test_layout(void **state)
{
	(void)state;
	/* Indented keys are keys, not continuations of the previous value. */
	struct parsed *r = parse_ok("  [tftp]\n\tlisten = 10.0.0.1\n    root = /srv/tftp\n"
				    "\tretries = 5\n   ; indented comment\n");
	assert_int_equal(r->cfg.tftp.listen.count, 1);
	assert_string_equal(r->cfg.tftp.root, "/srv/tftp");
	assert_int_equal(r->cfg.tftp.retries, 5);
	parsed_free(r);

	/* CRLF line ends, a UTF-8 byte order mark, ':' as separator, inline
	 * comments, and a last line without a newline. */
	r = parse_ok("\xef\xbb\xbf[server]\r\nuser: herd ; the service user\r\n\r\n"
		     "[tftp]\r\nretries=7");
	assert_string_equal(r->cfg.server.user, "herd");
	assert_int_equal(r->cfg.tftp.retries, 7);
	parsed_free(r);

	expect_error("\xef\xbb\xbf[tftp]\nbogus = 1\n", 1, "t.conf:2: unknown setting 'bogus'");
	/* A ';' inside a value, not after whitespace, is part of the value. */
	r = parse_ok("[tftp]\nroot = /a;b\n");
	assert_string_equal(r->cfg.tftp.root, "/a;b");
	parsed_free(r);
}

static void test_overlong_line(void **state)
{
	(void)state;
	char text[1024];
	char path[512];

	/* "root = /aaa...": 198 characters is the longest line read. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[198 - 7] = '\0';
	snprintf(text, sizeof(text), "[tftp]\nroot = %s\nretries = 2\n", path);
	struct parsed *r = parse_ok(text);
	assert_int_equal(strlen(r->cfg.tftp.root), 198 - 7);
	parsed_free(r);

	path[198 - 7] = 'a';
	path[199 - 7] = '\0';
	snprintf(text, sizeof(text), "[tftp]\nroot = %s\nretries = 2\nbogus = 1\n", path);
	/* Reported on its own line; later lines keep their numbers. */
	expect_error(text, 2, "t.conf:2: line longer than 198 characters");
	expect_error(text, 2, "t.conf:4: unknown setting 'bogus'");
	r = parse(text);
	assert_string_equal(r->cfg.tftp.root, "/srv/herd/tftp"); /* not half-read */
	assert_int_equal(r->cfg.tftp.retries, 2);
	parsed_free(r);

	/* A very long line is one problem, not one per buffer-full. */
	char *huge = malloc(100000);
	assert_non_null(huge);
	strcpy(huge, "[tftp]\n");
	memset(huge + 7, 'x', 90000);
	strcpy(huge + 7 + 90000, "\nretries = 2\n");
	expect_error(huge, 1, "t.conf:2: line longer than");
	free(huge);
}

/* A NUL byte is a problem of its line, which is not read; the lines after
 * it are (inih alone would end the line, and the file, at the NUL). */
static void test_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "[tftp]\nretries = 5\0junk\nroot = /r\nbogus = 1\n";
	struct parsed *r = parse_mem(text, sizeof(text) - 1);

	assert_int_equal(r->problems, 2);
	assert_non_null(strstr(r->errs, "t.conf:2: NUL byte in the line\n"));
	assert_non_null(strstr(r->errs, "t.conf:4: unknown setting 'bogus' in [tftp]\n"));
	assert_int_equal(r->cfg.tftp.retries, 8); /* not half-read */
	assert_string_equal(r->cfg.tftp.root, "/r");
	parsed_free(r);

	/* On the last line, without a newline; alone on its line. */
	r = parse_mem("[tftp]\nretries = 5\0", 20);
	assert_int_equal(r->problems, 1);
	assert_non_null(strstr(r->errs, "t.conf:2: NUL byte"));
	parsed_free(r);
	r = parse_mem("\0\n[tftp]\nretries = 5\n", 20);
	assert_int_equal(r->problems, 1);
	assert_non_null(strstr(r->errs, "t.conf:1: NUL byte"));
	assert_int_equal(r->cfg.tftp.retries, 5);
	parsed_free(r);

	/* The keys under a header that was not read belong to no section: not
	 * to the one before it, and not reported once each. */
	static const char header[] = "[log]\nenabled = no\n[tf\0tp]\nenabled = no\nretries = 1\n";
	r = parse_mem(header, sizeof(header) - 1);
	assert_int_equal(r->problems, 1);
	assert_non_null(strstr(r->errs, "t.conf:3: NUL byte"));
	assert_true(r->cfg.tftp.enabled);
	parsed_free(r);
}

/* conf_load reads the file whole: a NUL byte in it is reported, not the end. */
static void test_load_file_nul(void **state)
{
	(void)state;
	struct herd_config *cfg = new_config();
	char path[] = "/tmp/herd-test-conf-XXXXXX", want[128], *errs = NULL;
	static const char text[] = "[tftp]\nroot = /r\0\nretries = 9\nbogus = 1\n";
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	FILE *f = open_memstream(&errs, &len);
	conf_defaults(cfg);
	assert_int_equal(conf_load(cfg, path, f), 2);
	fclose(f);
	snprintf(want, sizeof(want), "%s:2: NUL byte in the line\n%s:4: unknown setting", path,
		 path);
	if (strstr(errs, want) == NULL)
		fail_msg("want \"%s\", got:\n%s", want, errs);
	assert_int_equal(cfg->tftp.retries, 9);
	free(errs);
	unlink(path);

	/* A directory cannot be read: one line, and -errno. */
	errs = NULL;
	f = open_memstream(&errs, &len);
	assert_int_equal(conf_load(cfg, "/tmp", f), -EISDIR);
	fclose(f);
	assert_non_null(strstr(errs, "/tmp: cannot read: "));
	free(errs);
	free(cfg);
}

static void test_rto_bounds(void **state)
{
	(void)state;
	expect_error("[tftp]\nrto_min_ms = 5000\n\nrto_max_ms = 1000\n", 1,
		     "t.conf:4: [tftp] rto_min_ms (5000) is above rto_max_ms (1000)");
	/* Against the default maximum (8000): reported on the line that set it. */
	expect_error("[tftp]\nretries = 3\nrto_min_ms = 9000\n", 1,
		     "t.conf:3: [tftp] rto_min_ms (9000) is above rto_max_ms (8000)");
	struct parsed *r = parse_ok("[tftp]\nrto_min_ms = 700\nrto_max_ms = 700\n");
	assert_int_equal(r->cfg.tftp.rto_min_ms, 700);
	parsed_free(r);
}

static void test_cross_checks(void **state)
{
	(void)state;
	expect_error("[tftp]\nlisten =\n", 1, "t.conf:2: [tftp] listen is empty");
	struct parsed *r = parse_ok("[tftp]\nlisten =\nenabled = no\n");
	assert_int_equal(r->cfg.tftp.listen.count, 0);
	parsed_free(r);
	expect_error("[log]\nsyslog =\nnetconsole =\n", 1,
		     "t.conf:3: [log] has neither syslog nor netconsole addresses");
	r = parse_ok("[log]\nsyslog =\nnetconsole =\nenabled = no\n");
	parsed_free(r);
}

static void test_load_file(void **state)
{
	(void)state;
	struct herd_config *cfg = new_config();
	char *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);

	conf_defaults(cfg);
	assert_int_equal(conf_load(cfg, "/nonexistent/herd.conf", f), -ENOENT);
	fclose(f);
	assert_non_null(strstr(errs, "/nonexistent/herd.conf: cannot open"));
	free(errs);

	char path[] = "/tmp/herd-test-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "[tftp]\nretries = 9\nbogus = 1\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	errs = NULL;
	f = open_memstream(&errs, &len);
	assert_int_equal(conf_load(cfg, path, f), 1);
	fclose(f);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: unknown setting 'bogus' in [tftp]", path);
	assert_non_null(strstr(errs, want));
	assert_int_equal(cfg->tftp.retries, 9);
	assert_string_equal(cfg->path, path);
	free(errs);
	unlink(path);
	free(cfg);
}

static void test_check_paths(void **state)
{
	(void)state;
	struct herd_config *cfg = new_config();
	char dir[] = "/tmp/herd-test-root-XXXXXX";
	FILE *devnull = fopen("/dev/null", "w");

	assert_non_null(mkdtemp(dir));
	conf_defaults(cfg);
	strcpy(cfg->tftp.root, dir);
	assert_int_equal(conf_check_paths(cfg, devnull), 0);
	strcpy(cfg->tftp.root, "/nonexistent/root");
	assert_int_equal(conf_check_paths(cfg, devnull), 1);
	cfg->tftp.enabled = false; /* not serving: not checked */
	assert_int_equal(conf_check_paths(cfg, devnull), 0);
	cfg->tftp.enabled = true;
	strcpy(cfg->tftp.root, "/dev/null");
	assert_int_equal(conf_check_paths(cfg, devnull), 1);
	rmdir(dir);
	fclose(devnull);
	free(cfg);
}

static char *print_to_string(const struct herd_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	conf_print(cfg, out);
	assert_int_equal(fclose(out), 0);
	return text;
}

/* The keys of the table in section `kind`, in order, one per line. */
static void table_keys(const char *kind, char *buf, size_t size)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_section_names[conf_keys[i].section], kind) == 0)
			snprintf(buf + strlen(buf), size - strlen(buf), "%s\n", conf_keys[i].name);
}

/* Every section printed holds every key of its kind, in the table's order,
 * each once (cmdline may take several lines); no line is too long for
 * libinih. Returns the number of sections. */
static unsigned assert_every_key(const char *text)
{
	char want[2048], got[2048] = "", kind[32] = "", prev[64] = "";
	unsigned sections = 0;

	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		size_t len = strcspn(line, "\n");
		assert_true(len <= 198);
		if (line[0] == '[' || line[len] == '\0') {
			if (kind[0]) {
				table_keys(kind, want, sizeof(want));
				if (strcmp(want, got) != 0)
					fail_msg("[%s] printed keys:\n%s\nnot:\n%s", kind, got,
						 want);
			}
			if (line[len] == '\0')
				break;
			sscanf(line, "[%31[a-z]", kind);
			got[0] = prev[0] = '\0';
			sections++;
		} else if (len > 0 && line[0] != '#') {
			char name[64];
			assert_int_equal(sscanf(line, "%63[a-z0-9_]", name), 1);
			if (strcmp(name, prev) != 0) /* a joined value's lines */
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s\n",
					 name);
			snprintf(prev, sizeof(prev), "%s", name);
		}
	}
	return sections;
}

/* conf_print() writes every key, as text that loads back without a problem
 * into the same configuration, and prints the same again. */
static void assert_round_trip(const struct herd_config *cfg)
{
	char *text = print_to_string(cfg);
	struct parsed *r = parse(text);

	if (r->problems != 0)
		fail_msg("printed configuration does not load:\n%s\n%s", text, r->errs);
	/* [server] [tftp] [log] [dhcp] [http] [images] [status] [cluster], then the named ones. */
	assert_int_equal(assert_every_key(text),
			 8 + cfg->dhcp.nsubnets + cfg->dhcp.ngroups + cfg->dhcp.nrules);
	assert_conf_equal(&r->cfg, cfg);
	char *again = print_to_string(&r->cfg);
	/* The same but for the first line, "# effective configuration of PATH". */
	assert_string_equal(strchr(again, '\n'), strchr(text, '\n'));
	free(again);
	parsed_free(r);
	free(text);
}

static void test_print_round_trip(void **state)
{
	(void)state;
	struct herd_config *cfg = new_config();

	conf_defaults(cfg);
	assert_round_trip(cfg);

	/* Every setting away from its default. */
	struct parsed *r =
	    parse_ok("[server]\nuser = svc\nlog_level = debug\nrcvbuf = 1G\n"
		     "max_open_files = 1024\nseccomp = no\n"
		     "[tftp]\nenabled = no\nlisten = 10.0.0.1:1069 *:2069 10.1.2.3\n"
		     "root = /export/boot dir\nmax_transfers = 7\nblksize_max = 512\n"
		     "windowsize_max = 1\nretries = 1\nrto_min_ms = 1\nrto_max_ms = 2\n"
		     "rto_initial_ms = 255000\ntransfer_sockets = 256\n"
		     "file_cache_ms = 0\nlink_rate = 950M\npacing_burst = 1500\n"
		     "client_timeout_ms = 50\nsource_rate = 0\nsource_burst = 1\n"
		     "unknown_rate = 1000000\nunknown_burst = 0\nunknown_share = 100\n"
		     "[log]\nenabled = no\nsyslog =\nnetconsole = 127.0.0.1:1\n"
		     "dir = /l\nmax_file_size = 1024G\nrotate_keep = 0\n"
		     "line_max = 64\nrate_lines = 1000000\nburst_lines = 1\n"
		     "max_senders = 1\nkeep_unknown = yes\n"
		     "[dhcp]\nenabled = yes\nlisten = 10.1.0.1:1067\ninterfaces = eth0 eth1\n"
		     "inventory = /etc/nodes\nlease_file =\nunknown = ignore\n"
		     "default_group = g\nlease_time = 600\nrenewal_time = 100\n"
		     "rebinding_time = 500\npool_hostnames = yes\noffer_hold_ms = 100\n"
		     "pin_neighbours = no\n"
		     "[http]\nenabled = yes\nlisten = 10.1.0.1:8080\nmax_connections = 1\n"
		     "source_connections = 0\nidle_timeout_ms = 3600000\n"
		     "request_timeout_ms = 1000\nheader_max = 1M\n"
		     "[status]\nlisten = off\nmetrics = 10.0.0.9:9100\napi = 10.0.0.9:80\n"
		     "dashboard = 10.0.0.9:80\n"
		     "[subnet a]\nnetwork = 10.1.0.0/16\npool = 10.1.2.0-10.1.2.9\n"
		     "router = 10.1.0.1\ndns = 10.1.0.2, 10.1.0.3\ndomain = a.example\n"
		     "log_server = 10.1.0.4\nnext_server = 10.1.0.5\nlease_time = 300\n"
		     "renewal_time = 30\nrebinding_time = 60\npool_hostnames = no\n"
		     "[subnet b]\nnetwork = 192.168.0.0/24\n"
		     "[group g]\nloader_bios = pxelinux.0\nloader_efi64 = grubx64.efi\n"
		     "loader_arm64 = grubaa64.efi\nkernel = vmlinuz-%{group}\n"
		     "initrd = initrd.img\ncmdline = console=ttyS0\ncmdline = ip=dhcp\n"
		     "boot_options = always\nrenewal_time = 20\nrebinding_time = 40\n"
		     "[group h]\n"
		     "[rule r1]\narch = 0 7\nvendor_class = PXE*\nuser_class = iPXE\n"
		     "circuit_id = p[0-9]\nremote_id = sw?\nmanufacturer = M\nproduct = P*\n"
		     "serial = S\nuuid = U\ngroup = g\nname = n-%{mac}\n"
		     "[rule r2]\ngroup = h\n");
	assert_int_equal(r->cfg.dhcp.nrules, 2);
	assert_round_trip(&r->cfg);

	/* Sizes are printed as plain numbers, which the size keys accept. */
	r->cfg.logrx.max_file_bytes = 4097;
	r->cfg.server.rcvbuf = 65537;
	assert_round_trip(&r->cfg);
	parsed_free(r);

	/* The example file survives too. */
	conf_defaults(cfg);
	if (conf_load(cfg, "etc/herd.conf.example", NULL) == 0)
		assert_round_trip(cfg);
	free(cfg);
}

/* Defaults and `auto` are printed like any value, and read back. */
static void test_print_defaults(void **state)
{
	(void)state;
	struct parsed *r = parse_ok("[subnet a]\nnetwork = 10.1.0.0/24\n[group g]\n");
	char *text = print_to_string(&r->cfg);
	static const char *const want[] = {
	    "\nuser =\n",
	    "\nlink_rate = auto\n",
	    "\ninterfaces =\n",
	    "\ninventory =\n",
	    "\nrenewal_time = auto\n",
	    "\npool =\n",
	    "\nrouter =\n",
	    "\ndns =\n",
	    "\nlog_server = auto\n",
	    "\nlease_time = auto\n",
	    "\npool_hostnames = auto\n",
	    "\nloader_arm64 =\n",
	    "\ncmdline =\n",
	    "\nboot_options = pxe\n",
	    "\nlisten = 0.0.0.0:67\n",
	};

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(text, want[i]) == NULL)
			fail_msg("no '%s' in:\n%s", want[i] + 1, text);
	free(text);
	parsed_free(r);
}

/* A long command line is printed on several lines that join back to the
 * same text: cut at single spaces only, before a word that starts with ';'
 * (after a space it would be a comment), each line short enough. */
static void test_print_cmdline(void **state)
{
	(void)state;
	char text[4096], word[200];
	struct parsed *r;

	memset(word, 'w', 189);
	word[189] = '\0';
	snprintf(text, sizeof(text),
		 "[group g]\ncmdline=%s\ncmdline =\ncmdline=;x  two  spaces\n"
		 "cmdline = a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i "
		 "j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w "
		 "x y z\ncmdline=;y\n"
		 "cmdline=#z\n",
		 word);
	r = parse_ok(text);
	const char *cmdline = r->cfg.dhcp.groups[0].cmdline;
	assert_int_equal(strncmp(cmdline, word, 189), 0);
	assert_non_null(
	    strstr(cmdline, "w ;x  two  spaces a b c")); /* the empty line added nothing */
	assert_non_null(strstr(cmdline, "y z ;y #z"));
	assert_round_trip(&r->cfg);
	parsed_free(r);

	/* A word starting with ';' past the width: the cut before the width
	 * comes first (not one line up to that word, too long to read). */
	memset(word, 'x', 100);
	word[100] = '\0';
	snprintf(text, sizeof(text), "[group g]\ncmdline=%s\ncmdline=%s\ncmdline=;z\n", word, word);
	r = parse_ok(text);
	assert_round_trip(&r->cfg);
	parsed_free(r);

	/* Empty lines add nothing, first or not. */
	r = parse_ok("[group g]\ncmdline =\ncmdline = a\ncmdline =\ncmdline = b\n");
	assert_string_equal(r->cfg.dhcp.groups[0].cmdline, "a b");
	assert_round_trip(&r->cfg);
	parsed_free(r);

	/* A long value of one line: written without spaces around '=' if that
	 * is what fits. */
	memset(word, 'k', 191);
	word[191] = '\0';
	snprintf(text, sizeof(text), "[group g]\nkernel=%s\n", word);
	r = parse_ok(text);
	assert_string_equal(r->cfg.dhcp.groups[0].kernel, word);
	assert_round_trip(&r->cfg);
	parsed_free(r);
}

/* The table itself: what the parser and the printer rely on. */
static void test_key_table(void **state)
{
	(void)state;
	enum conf_section last = CONF_SEC_SERVER;

	assert_true(conf_nkeys <= CONF_MAX_KEYS);
	for (unsigned i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		/* Grouped by section, in the printed order. */
		assert_true(k->section >= last && k->section < CONF_NSECTIONS);
		last = k->section;
		/* Unique, so found as itself. */
		assert_int_equal(conf_key_find(k->section, k->name), (int)i);
		switch (k->type) {
		case T_UINT:
		case T_SIZE:
			/* Typed by the field: 32 or 64 bits, and the range fits. */
			assert_true(k->size == 4 || k->size == 8);
			assert_true(k->min <= k->max);
			assert_true(k->size == 8 || k->max <= UINT_MAX);
			assert_true(!(k->flags & K_AUTO) || k->min > 0); /* 0 is auto */
			break;
		case T_RATE:
			assert_int_equal(k->size, 8);
			break;
		case T_BOOL:
			assert_int_equal(k->size, k->flags & K_AUTO ? sizeof(int) : sizeof(bool));
			break;
		case T_ENUM:
			assert_non_null(k->words);
			assert_int_equal(k->size, sizeof(int));
			break;
		case T_IP:
			assert_int_equal(k->size, 4);
			break;
		case T_LISTEN:
		case T_IPLIST:
			assert_true(k->max >= 1);
			break;
		default:
			break;
		}
		/* Every key has a default, but a subnet's network and a rule's group. */
		assert_true(k->def != NULL || strcmp(k->name, "network") == 0 ||
			    (k->section == CONF_SEC_RULE && strcmp(k->name, "group") == 0));
	}
}

/* [dhcp], [subnet] and [group] keys are typed like every other: the same
 * words, the same reports, a bad value leaves the old one. */
static void test_dhcp_values(void **state)
{
	(void)state;
	struct parsed *r =
	    parse_ok("[dhcp]\nlisten = 10.0.0.1\ninventory =\n"
		     "[subnet a]\nnetwork = 10.1.0.0/16\npool = 10.1.2.0-10.1.2.9\nrouter =\n"
		     "dns = 10.1.0.2, 10.1.0.3\t10.1.0.4\nlog_server = auto\n"
		     "next_server = 10.1.0.5\nlease_time = auto\npool_hostnames = auto\n"
		     "[subnet b]\nnetwork = 10.2.0.0/24\npool = 10.2.0.5 10.2.0.6\n"
		     "lease_time = 60\npool_hostnames = on\n");
	const struct conf_dhcp *d = &r->cfg.dhcp;
	const struct conf_subnet *a = &d->subnets[0], *b = &d->subnets[1];

	assert_int_equal(d->listen.count, 1);
	assert_int_equal(ipaddr_to_v4(&d->listen.addrs[0].ip), ip("10.0.0.1"));
	assert_int_equal(d->listen.addrs[0].port, 67);
	assert_string_equal(d->inventory, "");
	assert_int_equal(a->network, ip("10.1.0.0"));
	assert_int_equal(a->mask, ip("255.255.0.0"));
	assert_int_equal(a->pool_start, ntohl(ip("10.1.2.0")));
	assert_int_equal(a->pool_end, ntohl(ip("10.1.2.9")));
	assert_int_equal(a->router, 0);
	assert_int_equal(a->ndns, 3);
	assert_int_equal(a->dns[2], ip("10.1.0.4"));
	assert_int_equal(a->log_server, 0);
	assert_int_equal(a->next_server, ip("10.1.0.5"));
	assert_int_equal(a->lease_time, 0);
	assert_int_equal(a->pool_hostnames, -1);
	assert_int_equal(b->pool_start, ntohl(ip("10.2.0.5")));
	assert_int_equal(b->lease_time, 60);
	assert_int_equal(b->pool_hostnames, 1);
	parsed_free(r);

	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"[dhcp]\nlisten = 10.0.0.1 10.0.0.2\n", "t.conf:2: listen: at most 1 address"},
	    {"[dhcp]\nlisten = 10.0.0.1:x\n", "listen: '10.0.0.1:x' is not an IPv4 address"},
	    {"[dhcp]\nlease_time = 59\n", "t.conf:2: lease_time: 59 is outside 60..100000000"},
	    {"[dhcp]\nlease_time = 1h\n", "lease_time: '1h' is not a number"},
	    {"[dhcp]\nlease_time = auto\n", "lease_time: 'auto' is not a number\n"},
	    {"[dhcp]\noffer_hold_ms = -5\n", "offer_hold_ms: '-5' is not a number"},
	    {"[dhcp]\nunknown = drop\n", "unknown: 'drop' is not ignore or pool"},
	    {"[dhcp]\ninventory = nodes.tab\n", "inventory: 'nodes.tab' must be an absolute path"},
	    {"[subnet a]\nnetwork = 10.1.0.1/16\n",
	     "network: '10.1.0.1/16' has host bits set (the network is 10.1.0.0/16)"},
	    {"[subnet a]\nnetwork = 10.1.0.0\n", "network: '10.1.0.0' is not A.B.C.D/BITS"},
	    {"[subnet a]\nnetwork = 10.1.0.0/33\n", "is not A.B.C.D/BITS"},
	    {"[subnet a]\nnetwork = 0.0.0.0/0\n", "is not A.B.C.D/BITS"},
	    {"[subnet a]\nnetwork = 10.1.0.0/+8\n", "is not A.B.C.D/BITS"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\npool = 10.0.0.9 - 10.0.0.1\n",
	     "t.conf:3: pool: '10.0.0.9 - 10.0.0.1' is not FIRST - LAST"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\npool = 10.0.0.1 x - 10.0.0.9\n", "pool:"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\npool = 10.0.0.1\n", "pool:"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\npool = 10.0.0.1 - 10.0.0.9 - 10.0.0.10\n", "pool:"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\nrouter = 0.0.0.0\n",
	     "router: '0.0.0.0' is not an IPv4 address A.B.C.D\n"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\nlog_server = 10.0.0\n",
	     "log_server: '10.0.0' is not an IPv4 address A.B.C.D or auto"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\nnext_server =\n", "next_server: '' is not"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\ndns = 1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5\n",
	     "dns: '1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5' is not a list of at most 4"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\ndns = 1.1.1.1 ns1\n", "dns:"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\nlease_time = soon\n",
	     "lease_time: 'soon' is not a number or auto"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\npool_hostnames = maybe\n",
	     "pool_hostnames: 'maybe' is not yes, no or auto"},
	    {"[group g]\nrenewal_time = 0\n", "renewal_time: 0 is outside 1..100000000"},
	    {"[subnet a]\nnetwork = 10.0.0.0/8\ndomain = "
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	     "xxx"
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	     "t.conf:3: domain: longer than 127 characters"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].text, 1, bad[i].want);

	/* A subnet needs its network: said once, at its header. */
	expect_error("[dhcp]\n[subnet a]\nrouter = 10.0.0.1\ndns = 10.0.0.1\n", 1,
		     "t.conf:2: [subnet a] has no network\n");
	/* An enabled service listens somewhere, DHCP as TFTP. */
	expect_error("[dhcp]\nenabled = yes\nlisten =\n[subnet a]\nnetwork = 10.0.0.0/8\n", 1,
		     "t.conf:3: [dhcp] listen is empty; set enabled = no instead");
	/* A bad value leaves the one before. */
	r = parse("[subnet a]\nnetwork = 10.0.0.0/8\ndns = 10.0.0.1\ndns = 10.0.0.2 x\n");
	assert_int_equal(r->problems, 2); /* set twice, and not a list */
	assert_int_equal(r->cfg.dhcp.subnets[0].ndns, 1);
	parsed_free(r);
}

/* A rate is digits, maybe a point, and a k, M or G (x1000); or auto. */
static void test_rate(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t bps;
	} ok[] = {
	    {"0", 0},
	    {"950M", 950000000},
	    {"1G", 1000000000},
	    {"2.5g", 2500000000},
	    {"100k", 100000},
	    {"auto", CONF_AUTO},
	    {"400G", UINT64_C(400000000000)},
	};
	static const char *const bad[] = {"-1", "1e9", "0x10", "nan",  "inf",  "1..5",
					  ".",	"G",   "1T",   "Auto", "401G", ""};
	char text[64];

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[tftp]\nlink_rate = %s\n", ok[i].text);
		struct parsed *r = parse_ok(text);
		assert_true(r->cfg.tftp.link_rate == ok[i].bps);
		parsed_free(r);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[tftp]\nlink_rate = %s\n", bad[i]);
		expect_error(text, 1, "t.conf:2: link_rate:");
	}
}

/* T1/T2: the most specific section that sets either supplies both; the
 * other keeps the default proportions. */
static void test_dhcp_timers(void **state)
{
	(void)state;
	unsigned t1, t2;
	struct parsed *r = parse_ok("[dhcp]\nlease_time = 3600\n");
	const struct conf_dhcp *d = &r->cfg.dhcp;

	conf_dhcp_timers(d, NULL, NULL, 3600, &t1, &t2);
	assert_int_equal(t1, 1800);
	assert_int_equal(t2, 3150);
	parsed_free(r);

	r = parse_ok("[dhcp]\nrenewal_time = 600\n");
	conf_dhcp_timers(&r->cfg.dhcp, NULL, NULL, 3600, &t1, &t2);
	assert_int_equal(t1, 600);
	assert_int_equal(t2, 600 + 3000 * 3 / 4);
	parsed_free(r);

	r = parse_ok("[dhcp]\nrebinding_time = 3150\n");
	conf_dhcp_timers(&r->cfg.dhcp, NULL, NULL, 3600, &t1, &t2);
	assert_int_equal(t1, 1800);
	assert_int_equal(t2, 3150);
	parsed_free(r);

	/* group over subnet over [dhcp] */
	r = parse_ok("[dhcp]\nlease_time = 600\nrenewal_time = 100\n"
		     "[subnet a]\nnetwork = 10.1.0.0/24\nlease_time = 60\nrenewal_time = 10\n"
		     "[subnet b]\nnetwork = 10.2.0.0/24\n"
		     "[group g]\nrebinding_time = 50\n[group h]\nkernel = k\n");
	d = &r->cfg.dhcp;
	const struct conf_subnet *a = conf_subnet_of(d, ip("10.1.0.1"));
	const struct conf_subnet *b = conf_subnet_of(d, ip("10.2.0.1"));
	const struct conf_group *g = conf_group_find(d, "g"), *h = conf_group_find(d, "h");
	conf_dhcp_timers(d, a, h, 60, &t1, &t2);
	assert_int_equal(t1, 10);
	assert_int_equal(t2, 10 + 50 * 3 / 4);
	conf_dhcp_timers(d, a, g, 60, &t1, &t2);
	assert_int_equal(t1, 50 * 4 / 7);
	assert_int_equal(t2, 50);
	conf_dhcp_timers(d, b, NULL, 600, &t1, &t2);
	assert_int_equal(t1, 100);
	assert_int_equal(t2, 100 + 500 * 3 / 4);
	parsed_free(r);
}

static void test_dhcp_timer_errors(void **state)
{
	(void)state;

	expect_error("[dhcp]\nrenewal_time = soon\n", 1,
		     "t.conf:2: renewal_time: 'soon' is not a number");
	expect_error("[dhcp]\nrebinding_time = 0\n", 1,
		     "t.conf:2: rebinding_time: 0 is outside 1..100000000");
	expect_error(
	    "[dhcp]\nrenewal_time = 3000\nrebinding_time = 2000\n", 1,
	    "t.conf:3: [dhcp] renewal_time (3000 s) must be below rebinding_time (2000 s)");
	expect_error("[dhcp]\nrebinding_time = 3600\n", 1,
		     "t.conf:2: [dhcp] rebinding_time (3600 s) must be below the lease time "
		     "(3600 s, [dhcp] lease_time)");
	/* Reported where the rule broke: at the later line, here lease_time. */
	expect_error("[dhcp]\nrenewal_time = 100\n[subnet a]\nnetwork = 10.1.0.0/24\n"
		     "lease_time = 90\n",
		     1,
		     "t.conf:5: [dhcp] renewal_time (100 s) must be below the lease time (90 s, "
		     "lease_time of [subnet a])");
	/* Only one set: the derived one is validated too. */
	expect_error("[subnet a]\nnetwork = 10.1.0.0/24\nlease_time = 60\nrenewal_time = 59\n", 1,
		     "t.conf:4: [subnet a] renewal_time (59 s) must be below rebinding_time "
		     "(derived) (59 s)");
	expect_error("[dhcp]\nrebinding_time = 1\n", 1,
		     "t.conf:2: [dhcp] renewal_time works out at 0 s");
	/* A group's times hold in every subnet. */
	expect_error("[group g]\nrenewal_time = 100\n[subnet a]\nnetwork = 10.1.0.0/24\n"
		     "[subnet b]\nnetwork = 10.2.0.0/24\nlease_time = 60\n",
		     1,
		     "t.conf:7: [group g] renewal_time (100 s) must be below the lease time (60 s, "
		     "lease_time of [subnet b])");
	struct parsed *r = parse_ok("[subnet a]\nnetwork = 10.1.0.0/24\nlease_time = 60\n"
				    "renewal_time = 10\n");
	parsed_free(r);
}

static void test_dhcp_boot_keys(void **state)
{
	(void)state;
	struct parsed *r =
	    parse_ok("[dhcp]\nenabled = on\npool_hostnames = yes\n"
		     "[subnet a]\nnetwork = 10.1.0.0/24\npool_hostnames = off\n"
		     "[subnet b]\nnetwork = 10.2.0.0/24\n"
		     "[group default]\nboot_options = always\n[group x]\nkernel = k\n");
	const struct conf_dhcp *d = &r->cfg.dhcp;

	assert_true(d->enabled);
	assert_true(d->pool_hostnames);
	assert_int_equal(conf_subnet_of(d, ip("10.1.0.1"))->pool_hostnames, 0);
	assert_int_equal(conf_subnet_of(d, ip("10.2.0.1"))->pool_hostnames, -1);
	assert_int_equal(conf_group_find(d, "default")->boot_options, CONF_BOOT_ALWAYS);
	assert_int_equal(conf_group_find(d, "x")->boot_options, CONF_BOOT_PXE);
	parsed_free(r);
	expect_error("[dhcp]\npool_hostnames = maybe\n", 1,
		     "t.conf:2: pool_hostnames: 'maybe' is not yes or no");
	expect_error("[dhcp]\nenabled = si\n", 1, "t.conf:2: enabled: 'si' is not yes or no");
	expect_error("[group g]\nboot_options = sometimes\n", 1,
		     "t.conf:2: boot_options: 'sometimes' is not pxe or always");
	/* A group fetching by TFTP: a URL would be rendered tftp://SERVER/http://... */
	expect_error("[group g]\nkernel = vmlinuz\ninitrd = http://10.0.0.1/initrd.img\n", 1,
		     "t.conf:3: [group g] initrd 'http://10.0.0.1/initrd.img' is a URL, but this "
		     "group's iPXE fetches by TFTP (ipxe_fetch = auto and [http] is off)");
	expect_error("[group g]\nkernel = https://boot/vmlinuz\n", 1,
		     "t.conf:2: kernel: 'https://boot/vmlinuz': the only URLs herd passes on are "
		     "http://");
	r = parse_ok("[group g]\nkernel = images/v5.10://odd-but-a-path\n");
	parsed_free(r);
}

/* ipxe_fetch: auto follows [http]; http needs it; URLs only where iPXE
 * fetches over HTTP and no pxelinux loads the group; loaders never URLs. */
static void test_group_fetch(void **state)
{
	(void)state;
	struct parsed *r =
	    parse_ok("[http]\nenabled = yes\n[group a]\n[group t]\nipxe_fetch = tftp\n"
		     "[group h]\nipxe_fetch = http\nkernel = http://%{server}:8080/k\n"
		     "initrd = http://images/i\n");
	const struct conf_dhcp *d = &r->cfg.dhcp;

	assert_true(conf_group_http(&r->cfg, conf_group_find(d, "a")));
	assert_false(conf_group_http(&r->cfg, conf_group_find(d, "t")));
	assert_true(conf_group_http(&r->cfg, conf_group_find(d, "h")));
	assert_string_equal(conf_group_find(d, "h")->kernel, "http://%{server}:8080/k");
	parsed_free(r);
	r = parse_ok("[group a]\n");
	assert_int_equal(conf_group_find(&r->cfg.dhcp, "a")->ipxe_fetch, CONF_FETCH_AUTO);
	assert_false(conf_group_http(&r->cfg, conf_group_find(&r->cfg.dhcp, "a")));
	parsed_free(r);
	expect_error("[group g]\nipxe_fetch = ftp\n", 1,
		     "t.conf:2: ipxe_fetch: 'ftp' is not one of auto, tftp, http");
	expect_error("[http]\nenabled = no\n[group g]\nkernel = k\nipxe_fetch = http\n", 1,
		     "t.conf:5: [group g] ipxe_fetch = http, but [http] is not enabled");
	expect_error("[http]\nenabled = yes\n[group g]\nipxe_fetch = tftp\nkernel = http://h/k\n",
		     1,
		     "t.conf:5: [group g] kernel 'http://h/k' is a URL, but this group's iPXE "
		     "fetches by TFTP (ipxe_fetch = tftp)");
	expect_error("[http]\nenabled = yes\n[group g]\nloader_bios = pxelinux.0\n"
		     "kernel = http://h/k\n",
		     1,
		     "t.conf:5: [group g] kernel 'http://h/k' is a URL, but the group's loader "
		     "pxelinux.0 is pxelinux, which fetches by TFTP only");
	expect_error(
	    "[group g]\nloader_efi64 = http://h/ipxe.efi\n", 1,
	    "t.conf:2: loader_efi64: 'http://h/ipxe.efi' is a URL, but a loader is a path");
	expect_error("[group g]\nkernel = http://\n", 1, "t.conf:2: kernel: 'http://'");
	/* herd check says what auto is. */
	r = parse_ok("[http]\nenabled = yes\n[group a]\n");
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	conf_print(&r->cfg, out);
	fclose(out);
	assert_non_null(strstr(text, "ipxe_fetch = auto\n"));
	assert_non_null(strstr(text, "# effective: ipxe_fetch http ([http] is enabled)\n"));
	free(text);
	parsed_free(r);
}

/* The DHCP settings read back as printed. */
static void test_dhcp_print_round_trip(void **state)
{
	(void)state;
	struct parsed *r = parse_ok("[dhcp]\nlease_time = 600\nrebinding_time = 500\n"
				    "pool_hostnames = yes\n"
				    "[subnet a]\nnetwork = 10.1.0.0/24\nlease_time = 60\n"
				    "renewal_time = 10\npool_hostnames = no\n"
				    "[group g]\nboot_options = always\nrenewal_time = 20\n"
				    "rebinding_time = 40\n");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	conf_print(&r->cfg, out);
	fclose(out);
	assert_non_null(
	    strstr(text, "# effective: lease 60 s, renewal (T1) 10 s, rebinding (T2) 47 s"));
	assert_non_null(strstr(text, "# effective in [subnet a]: lease 60 s, renewal (T1) 20 s"));
	struct parsed *back = parse_ok(text);
	const struct conf_dhcp *a = &r->cfg.dhcp, *b = &back->cfg.dhcp;
	assert_int_equal(a->timers.renewal, b->timers.renewal);
	assert_int_equal(a->timers.rebinding, b->timers.rebinding);
	assert_int_equal(a->pool_hostnames, b->pool_hostnames);
	assert_int_equal(a->subnets[0].timers.renewal, b->subnets[0].timers.renewal);
	assert_int_equal(a->subnets[0].timers.rebinding, b->subnets[0].timers.rebinding);
	assert_int_equal(a->subnets[0].pool_hostnames, b->subnets[0].pool_hostnames);
	assert_int_equal(a->groups[0].boot_options, b->groups[0].boot_options);
	assert_int_equal(a->groups[0].timers.renewal, b->groups[0].timers.renewal);
	assert_int_equal(a->groups[0].timers.rebinding, b->groups[0].timers.rebinding);
	parsed_free(back);
	parsed_free(r);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_example_file),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_uint),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_log_level),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_bad_listen),
	    cmocka_unit_test(test_status_listener),
	    cmocka_unit_test(test_unknown_names),
	    cmocka_unit_test(test_duplicate),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_overlong_line),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_load_file_nul),
	    cmocka_unit_test(test_rto_bounds),
	    cmocka_unit_test(test_cross_checks),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_check_paths),
	    cmocka_unit_test(test_print_round_trip),
	    cmocka_unit_test(test_print_defaults),
	    cmocka_unit_test(test_print_cmdline),
	    cmocka_unit_test(test_key_table),
	    cmocka_unit_test(test_dhcp_values),
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_dhcp_timers),
	    cmocka_unit_test(test_dhcp_timer_errors),
	    cmocka_unit_test(test_dhcp_boot_keys),
	    cmocka_unit_test(test_dhcp_print_round_trip),
	    cmocka_unit_test(test_group_fetch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
