#include "conf/conf.h"
#include "conf/conf_boot.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum conf_type { T_BOOL, T_UINT, T_SIZE, T_RATE, T_PATH, T_NAME, T_LISTEN, T_LOGLEVEL };

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	uint64_t min, max;	/* T_UINT, T_SIZE */
	uint16_t default_port; /* T_LISTEN */
	const char *help;
};

#define K(sec, nm, ty, field, lo, hi, port, help)                                                  \
	{sec, nm, ty, offsetof(struct herd_config, field), lo, hi, port, help}

static const struct conf_key conf_keys[] = {
	K("server", "user", T_NAME, server.user, 0, 0, 0, "drop to this user after binding"),
	K("server", "log_level", T_LOGLEVEL, server.log_level, 0, 0, 0,
	  "error, warning, info or debug"),
	K("server", "rcvbuf", T_SIZE, server.rcvbuf, 65536, 1u << 30, 0,
	  "receive buffer of every listening socket"),
	K("server", "max_open_files", T_UINT, server.max_open_files, 256, 1u << 20, 0,
	  "RLIMIT_NOFILE to ask for"),
	K("server", "seccomp", T_BOOL, server.seccomp, 0, 0, 0,
	  "once serving, refuse every system call serving does not need"),
	K("tftp", "enabled", T_BOOL, tftp.enabled, 0, 0, 0, NULL),
	K("tftp", "listen", T_LISTEN, tftp.listen, 0, 0, 69, "addresses to serve TFTP on"),
	K("tftp", "root", T_PATH, tftp.root, 0, 0, 0, "files are served from beneath here"),
	K("tftp", "max_transfers", T_UINT, tftp.max_transfers, 1, 1000000, 0, NULL),
	K("tftp", "blksize_max", T_UINT, tftp.blksize_max, 512, 65464, 0,
	  "1468 avoids IP fragmentation at MTU 1500"),
	K("tftp", "windowsize_max", T_UINT, tftp.windowsize_max, 1, 256, 0, NULL),
	K("tftp", "retries", T_UINT, tftp.retries, 1, 100, 0, NULL),
	K("tftp", "rto_min_ms", T_UINT, tftp.rto_min_ms, 1, 60000, 0, NULL),
	K("tftp", "rto_max_ms", T_UINT, tftp.rto_max_ms, 1, 255000, 0, NULL),
	K("tftp", "rto_initial_ms", T_UINT, tftp.rto_initial_ms, 1, 255000, 0, NULL),
	K("tftp", "transfer_sockets", T_UINT, tftp.transfer_sockets, 2, 256, 0,
	  "server ports shared by all transfers (a client's next transfer takes another)"),
	K("tftp", "file_cache_ms", T_UINT, tftp.file_cache_ms, 0, 3600000, 0, NULL),
	K("tftp", "link_rate", T_RATE, tftp.link_rate, 0, UINT64_C(400000000000), 0,
	  "bits/s to pace all transfers at (like 1G, 950M); auto = learned; 0 = unpaced"),
	K("tftp", "pacing_burst", T_SIZE, tftp.pacing_burst, 1500, 16u << 20, 0,
	  "most bytes sent back to back; keep well under the switch buffer"),
	K("tftp", "client_timeout_ms", T_UINT, tftp.client_timeout_ms, 50, 60000, 0,
	  "a client's retry timer when it does not send `timeout`"),
	K("tftp", "source_rate", T_UINT, tftp.source_rate, 0, 1000000, 0,
	  "requests a second one address may send to port 69 (0: no limit)"),
	K("tftp", "source_burst", T_UINT, tftp.source_burst, 0, 1000000, 0,
	  "requests one address may send back to back"),
	K("tftp", "unknown_rate", T_UINT, tftp.unknown_rate, 0, 1000000, 0,
	  "transfers a second for addresses herd does not know, all together (0: no limit)"),
	K("tftp", "unknown_burst", T_UINT, tftp.unknown_burst, 0, 1000000, 0, NULL),
	K("tftp", "unknown_share", T_UINT, tftp.unknown_share, 1, 100, 0,
	  "percent of max_transfers addresses herd does not know may hold"),
	K("log", "enabled", T_BOOL, logrx.enabled, 0, 0, 0, NULL),
	K("log", "syslog", T_LISTEN, logrx.syslog, 0, 0, 514, "syslog (RFC 3164/5424) over UDP"),
	K("log", "netconsole", T_LISTEN, logrx.netconsole, 0, 0, 6666,
	  "netconsole (plain UDP lines)"),
	K("log", "dir", T_PATH, logrx.dir, 0, 0, 0, "one log file per node is kept here"),
	K("log", "max_file_size", T_SIZE, logrx.max_file_bytes, 4096, UINT64_C(1) << 40, 0,
	  "rotate a node's log past this size"),
	K("log", "rotate_keep", T_UINT, logrx.rotate_keep, 0, 100, 0, NULL),
	K("log", "line_max", T_UINT, logrx.line_max, 64, 65536, 0, NULL),
	K("log", "rate_lines", T_UINT, logrx.rate_lines, 1, 1000000, 0,
	  "per sender, lines per second"),
	K("log", "burst_lines", T_UINT, logrx.burst_lines, 1, 1000000, 0, NULL),
	K("log", "max_senders", T_UINT, logrx.max_senders, 1, 1000000, 0, NULL),
	K("log", "keep_unknown", T_BOOL, logrx.keep_unknown, 0, 0, 0,
	  "with [dhcp]: also keep logs of senders neither in the inventory nor holding a lease"),
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

void conf_defaults(struct herd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server.log_level = LOG_LVL_INFO;
	cfg->server.rcvbuf = 8 << 20;
	cfg->server.max_open_files = 65536;
	cfg->server.seccomp = true;

	cfg->tftp.enabled = true;
	netaddr_parse("0.0.0.0", 69, &cfg->tftp.listen.addrs[0]);
	cfg->tftp.listen.count = 1;
	strcpy(cfg->tftp.root, "/srv/herd/tftp");
	cfg->tftp.max_transfers = 20000;
	cfg->tftp.blksize_max = 1468;
	cfg->tftp.windowsize_max = 64;
	cfg->tftp.retries = 8;
	cfg->tftp.rto_min_ms = 100;
	cfg->tftp.rto_max_ms = 8000;
	cfg->tftp.rto_initial_ms = 1000;
	cfg->tftp.transfer_sockets = 8;
	cfg->tftp.file_cache_ms = 30000;
	cfg->tftp.link_rate = CONF_AUTO;
	cfg->tftp.pacing_burst = 16384;
	cfg->tftp.client_timeout_ms = 1000;
	/* pxelinux asks ~10 config names at once, a whole boot chain about
	 * 30 files: one address needs far less than this. */
	cfg->tftp.source_rate = 10;
	cfg->tftp.source_burst = 100;
	cfg->tftp.unknown_rate = 100;
	cfg->tftp.unknown_burst = 500;
	cfg->tftp.unknown_share = 25;

	cfg->logrx.enabled = true;
	netaddr_parse("0.0.0.0", 514, &cfg->logrx.syslog.addrs[0]);
	cfg->logrx.syslog.count = 1;
	netaddr_parse("0.0.0.0", 6666, &cfg->logrx.netconsole.addrs[0]);
	cfg->logrx.netconsole.count = 1;
	strcpy(cfg->logrx.dir, "/var/log/herd/nodes");
	cfg->logrx.max_file_bytes = 64u << 20;
	cfg->logrx.rotate_keep = 3;
	cfg->logrx.line_max = 4096;
	cfg->logrx.rate_lines = 500;
	cfg->logrx.burst_lines = 5000;
	cfg->logrx.max_senders = 8192;
	conf_boot_defaults(cfg);
}

/* State of one parse: inih calls our reader once per line, so the reader's
 * count is the line of every handler call that follows it. */
struct conf_parse {
	struct herd_config *cfg;
	const char *name;
	FILE *errs;
	int problems;
	int lineno;
	const char *text; /* the bytes being parsed, text[0..size) */
	size_t size, pos;
	bool in_bad_section;	 /* after a malformed [section] line */
	int set_on_line[N_KEYS]; /* 0: not set in this file */
	/* Settings of [dhcp], [subnet NAME] and [group NAME] seen so far, so
	 * that one set twice is reported as in the other sections. */
	struct boot_seen {
		char section[CONF_NAME_MAX + 8];
		char name[32];
		int line;
	} *seen;
	size_t nseen, seen_cap;
};

__attribute__((format(printf, 2, 3))) static void problem(struct conf_parse *p, const char *fmt,
							   ...)
{
	va_list ap;

	p->problems++;
	if (p->errs == NULL)
		return;
	if (p->lineno > 0)
		fprintf(p->errs, "%s:%d: ", p->name, p->lineno);
	else
		fprintf(p->errs, "%s: ", p->name);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

/* Where inih ends a name or a section name: at one of `chars`, or where an
 * inline comment (';' after whitespace) starts, as its find_chars_or_comment(). */
static const char *find_before_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

enum line_kind { LINE_BLANK, LINE_SECTION, LINE_VALUE, LINE_BAD };

/* Classifies a line without leading whitespace the way inih will read it. */
static enum line_kind line_kind(const char *line)
{
	if (*line == '\0' || *line == ';' || *line == '#')
		return LINE_BLANK;
	if (*line == '[')
		return *find_before_comment(line + 1, "]") == ']' ? LINE_SECTION : LINE_BAD;
	const char *sep = find_before_comment(line, "=:");
	return *sep == '=' || *sep == ':' ? LINE_VALUE : LINE_BAD;
}

/* The line `str` was given instead of one not read: if that was a [section]
 * header, the keys under it belong to no section seen, so are ignored. */
static void skip_line(struct conf_parse *p, const char *line, size_t len, char *str)
{
	while (len > 0 && isspace((unsigned char)*line)) {
		line++;
		len--;
	}
	if (len > 0 && *line == '[')
		p->in_bad_section = true;
	str[0] = '\0';
}

/* fgets-style reader over the bytes p->text[0..size) that counts lines and
 * reports lines that are too long, hold a NUL byte, or are not INI syntax
 * (inih would only give the first one, and stop at a NUL).
 * Leading whitespace is removed, so an indented key is a key and not, as
 * inih would take it, a continuation of the previous value; a UTF-8 BOM is
 * skipped so that the first line is checked like any other. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	const char *start = p->text + p->pos;
	size_t rest = p->size - p->pos, len;
	const char *nl;

	if (rest == 0)
		return NULL;
	nl = memchr(start, '\n', rest);
	len = nl ? (size_t)(nl - start) : rest;
	p->pos += len + (nl != NULL);
	p->lineno++;
	if (p->lineno == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		len -= 3;
	}
	/* num includes the NUL; keep one byte for the newline as fgets would. */
	if (len > (size_t)num - 2) {
		problem(p, "line longer than %d characters", num - 2);
		skip_line(p, start, len, str);
		return str;
	}
	/* Said, not skipped silently: a configuration that is not text is a
	 * mistake (inih would end the line, and the file, there). */
	if (memchr(start, '\0', len) != NULL) {
		problem(p, "NUL byte in the line");
		skip_line(p, start, len, str);
		return str;
	}
	while (len > 0 && isspace((unsigned char)*start)) {
		start++;
		len--;
	}
	memcpy(str, start, len);
	str[len] = '\0';
	switch (line_kind(str)) {
	case LINE_BLANK:
	case LINE_VALUE:
		break;
	case LINE_SECTION:
		p->in_bad_section = false;
		break;
	case LINE_BAD:
		problem(p, "expected 'name = value' or '[section]'");
		/* The keys under a broken header would only repeat the error. */
		if (str[0] == '[')
			p->in_bad_section = true;
		str[0] = '\0';
		break;
	}
	return str;
}

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
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -EINVAL;
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

/* A rate in bits/s with a decimal suffix: 950M, 1G, 10g, 100k. */
static int parse_rate(const char *v, uint64_t *out)
{
	char *end;
	double n;
	double mult = 1;

	if (strcmp(v, "auto") == 0) {
		*out = CONF_AUTO;
		return 0;
	}
	if (*v == '\0' || *v == '-' || *v == '+')
		return -EINVAL;
	errno = 0;
	n = strtod(v, &end);
	if (errno || end == v)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mult = 1e3; end++; break;
	case 'm': case 'M': mult = 1e6; end++; break;
	case 'g': case 'G': mult = 1e9; end++; break;
	}
	if (*end != '\0' || n * mult > 1e15)
		return -EINVAL;
	*out = (uint64_t)(n * mult);
	return 0;
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

static void set_listen(struct conf_parse *p, const struct conf_key *k, const char *v,
		       struct conf_listen *l)
{
	char buf[256];
	char *save = NULL;
	struct conf_listen parsed = {.count = 0};

	if (strlen(v) >= sizeof(buf)) {
		problem(p, "%s: value too long", k->name);
		return;
	}
	strcpy(buf, v);
	for (char *tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if (parsed.count == CONF_MAX_LISTEN) {
			problem(p, "%s: at most %d addresses", k->name, CONF_MAX_LISTEN);
			return;
		}
		if (netaddr_parse(tok, k->default_port, &parsed.addrs[parsed.count]) < 0) {
			problem(p, "%s: '%s' is not an IPv4 address with an optional :port",
				k->name, tok);
			return;
		}
		if (!ipaddr_is_v4(&parsed.addrs[parsed.count].ip)) {
			problem(p, "%s: '%s': herd does not serve IPv6 yet", k->name, tok);
			return;
		}
		parsed.count++;
	}
	/* Only a valid list replaces the old one, as with every other type, so
	 * a typo is reported once and not again as "listen is empty". */
	*l = parsed;
}

static void set_value(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	void *field = (char *)p->cfg + k->offset;
	uint64_t n;

	switch (k->type) {
	case T_BOOL:
		if (conf_parse_bool(v, field) < 0)
			problem(p, "%s: '%s' is not yes or no", k->name, v);
		break;
	case T_UINT:
	case T_SIZE:
		if (parse_uint(v, &n, k->type == T_SIZE) < 0) {
			problem(p, "%s: '%s' is not a %s", k->name, v,
				k->type == T_SIZE ? "size (like 512, 64K, 8M, 1G)" : "number");
		} else if (n < k->min || n > k->max) {
			problem(p, "%s: %llu is outside %llu..%llu", k->name,
				(unsigned long long)n, (unsigned long long)k->min,
				(unsigned long long)k->max);
		} else if (k->offset == offsetof(struct herd_config, server.rcvbuf)) {
			*(int *)field = (int)n;
		} else if (k->type == T_SIZE) {
			*(uint64_t *)field = n;
		} else {
			*(unsigned *)field = (unsigned)n;
		}
		break;
	case T_RATE:
		if (parse_rate(v, &n) < 0)
			problem(p, "%s: '%s' is not a rate in bits/s (like 0, 950M, 1G, 10G)",
				k->name, v);
		else if (n > k->max && n != CONF_AUTO)
			problem(p, "%s: %s is above %llu", k->name, v, (unsigned long long)k->max);
		else
			*(uint64_t *)field = n;
		break;
	case T_PATH:
		if (v[0] != '/')
			problem(p, "%s: '%s' must be an absolute path", k->name, v);
		else if (strlen(v) >= CONF_PATH_MAX)
			problem(p, "%s: path too long", k->name);
		else
			strcpy(field, v);
		break;
	case T_NAME:
		if (strlen(v) >= 64 || strpbrk(v, " /:\t") != NULL || v[0] == ';' || v[0] == '#')
			problem(p, "%s: '%s' is not a user name", k->name, v);
		else
			strcpy(field, v);
		break;
	case T_LISTEN:
		set_listen(p, k, v, field);
		break;
	case T_LOGLEVEL:
		if (log_level_parse(v, field) < 0)
			problem(p, "%s: '%s' is not one of error, warning, info, debug", k->name, v);
		break;
	}
}

/* `cmdline` may be given on several lines (they are joined); any other
 * setting given twice in one section is a mistake: say where it was first. */
static void note_boot_key(struct conf_parse *p, const char *section, const char *name)
{
	struct boot_seen *e;

	if (strcmp(name, "cmdline") == 0)
		return;
	for (size_t i = 0; i < p->nseen; i++) {
		e = &p->seen[i];
		if (strcmp(e->section, section) == 0 && strcmp(e->name, name) == 0) {
			problem(p, "%s: set twice in [%s] (first on line %d)", name, section,
				e->line);
			return;
		}
	}
	if (p->nseen == p->seen_cap) {
		size_t cap = p->seen_cap ? 2 * p->seen_cap : 64;
		struct boot_seen *n = realloc(p->seen, cap * sizeof(*n));
		if (n == NULL)
			return; /* only the duplicate check is lost */
		p->seen = n;
		p->seen_cap = cap;
	}
	e = &p->seen[p->nseen++];
	snprintf(e->section, sizeof(e->section), "%s", section);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->line = p->lineno;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = user;
	bool section_known = false;
	char err[256];

	if (p->in_bad_section)
		return 1;
	if (section[0] == '\0') {
		problem(p, "'%s' is set before any [section]", name);
		return 1;
	}
	if (conf_boot_set(p->cfg, section, name, value, p->lineno, err, sizeof(err))) {
		if (err[0])
			problem(p, "%s", err);
		else
			note_boot_key(p, section, name);
		return 1;
	}
	for (unsigned i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (strcmp(section, k->section) != 0)
			continue;
		section_known = true;
		if (strcmp(name, k->name) != 0)
			continue;
		if (p->set_on_line[i] != 0)
			problem(p, "%s: set twice in [%s] (first on line %d)", name, section,
				p->set_on_line[i]);
		p->set_on_line[i] = p->lineno;
		set_value(p, k, value);
		return 1;
	}
	if (!section_known)
		problem(p, "unknown section [%s]", section);
	else
		problem(p, "unknown setting '%s' in [%s]", name, section);
	return 1; /* reported ourselves; keep going to find every problem */
}

/* The later of the lines that set the settings at these offsets, so that a
 * rule between settings is reported where it was broken (0: all defaults). */
static int last_set_line(const struct conf_parse *p, size_t a, size_t b)
{
	int line = 0;

	for (unsigned i = 0; i < N_KEYS; i++)
		if ((conf_keys[i].offset == a || conf_keys[i].offset == b) &&
		    p->set_on_line[i] > line)
			line = p->set_on_line[i];
	return line;
}

#define CONF_OFF(field) offsetof(struct herd_config, field)

static void report_at(void *ctx, int line, const char *reason)
{
	struct conf_parse *p = ctx;

	p->lineno = line;
	problem(p, "%s", reason);
}

static void conf_validate(struct conf_parse *p)
{
	const struct conf_tftp *t = &p->cfg->tftp;

	p->lineno = last_set_line(p, CONF_OFF(tftp.rto_min_ms), CONF_OFF(tftp.rto_max_ms));
	if (t->rto_min_ms > t->rto_max_ms)
		problem(p, "[tftp] rto_min_ms (%u) is above rto_max_ms (%u)", t->rto_min_ms,
			t->rto_max_ms);
	p->lineno = last_set_line(p, CONF_OFF(tftp.listen), CONF_OFF(tftp.enabled));
	if (t->enabled && t->listen.count == 0)
		problem(p, "[tftp] listen is empty; set enabled = no instead");
	p->lineno = last_set_line(p, CONF_OFF(logrx.syslog), CONF_OFF(logrx.netconsole));
	if (p->cfg->logrx.enabled && p->cfg->logrx.syslog.count + p->cfg->logrx.netconsole.count == 0)
		problem(p, "[log] has neither syslog nor netconsole addresses");
	conf_boot_validate(p->cfg, report_at, p);
}

int conf_load_mem(struct herd_config *cfg, const char *name, const void *data, size_t size,
		  FILE *errs)
{
	struct conf_parse p = {.cfg = cfg, .name = name, .errs = errs, .text = data, .size = size};
	int rc;

	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	rc = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (rc > 0 && p.problems == 0) {
		p.lineno = rc;
		problem(&p, "syntax error");
	}
	conf_validate(&p);
	cfg->tftp_root_line = last_set_line(&p, CONF_OFF(tftp.root), CONF_OFF(tftp.root));
	cfg->user_line = last_set_line(&p, CONF_OFF(server.user), CONF_OFF(server.user));
	cfg->log_dir_line = last_set_line(&p, CONF_OFF(logrx.dir), CONF_OFF(logrx.dir));
	free(p.seen);
	return p.problems;
}

int conf_load_string(struct herd_config *cfg, const char *name, const char *text, FILE *errs)
{
	return conf_load_mem(cfg, name, text, strlen(text), errs);
}

int conf_load(struct herd_config *cfg, const char *path, FILE *errs)
{
	FILE *f = fopen(path, "re");
	char *text = NULL, chunk[4096];
	size_t size = 0, n;
	int rc;

	if (f == NULL) {
		rc = -errno;
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		return rc;
	}
	/* Read it whole, NUL bytes included (each is reported at its line),
	 * and tell a read error (a directory: EISDIR) from an empty file. */
	FILE *mem = open_memstream(&text, &size);
	errno = 0;
	while (mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	rc = ferror(f) ? -(errno ? errno : EIO) : 0;
	fclose(f);
	if (mem == NULL)
		return -ENOMEM;
	if (fclose(mem) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		if (errs)
			fprintf(errs, "%s: cannot read: %s\n", path, strerror(-rc));
		free(text);
		return rc;
	}
	rc = conf_load_mem(cfg, path, text, size, errs);
	free(text);
	return rc;
}

static int check_dir(const char *file, int line, const char *what, const char *path, FILE *errs)
{
	struct stat st;
	const char *why = NULL;
	char where[CONF_PATH_MAX + 16];

	if (stat(path, &st) < 0)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	if (why == NULL)
		return 0;
	if (line > 0)
		snprintf(where, sizeof(where), "%s:%d", file, line);
	else
		snprintf(where, sizeof(where), "%s", file);
	fprintf(errs, "%s: %s %s%s: %s\n", where, what, path, line > 0 ? "" : " (the default)",
		why);
	return 1;
}

int conf_check_paths(const struct herd_config *cfg, FILE *errs)
{
	int problems = 0;

	if (cfg->tftp.enabled)
		problems += check_dir(cfg->path, cfg->tftp_root_line, "[tftp] root", cfg->tftp.root,
				      errs);
	return problems;
}

static void print_listen(FILE *out, const char *name, const struct conf_listen *l)
{
	char buf[NETADDR_STRLEN];

	fprintf(out, "%s =", name);
	for (unsigned i = 0; i < l->count; i++)
		fprintf(out, " %s", netaddr_str(&l->addrs[i], buf));
	fputc('\n', out);
}

void conf_print(const struct herd_config *cfg, FILE *out)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	const char *section = "";

	fprintf(out, "# effective configuration of %s\n", cfg->path);
	for (unsigned i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		const void *field = (const char *)cfg + k->offset;
		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		switch (k->type) {
		case T_BOOL:
			fprintf(out, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no");
			break;
		case T_UINT:
			fprintf(out, "%s = %u\n", k->name, *(const unsigned *)field);
			break;
		case T_SIZE:
			if (k->offset == offsetof(struct herd_config, server.rcvbuf))
				fprintf(out, "%s = %d\n", k->name, *(const int *)field);
			else
				fprintf(out, "%s = %llu\n", k->name,
					(unsigned long long)*(const uint64_t *)field);
			break;
		case T_RATE:
			if (*(const uint64_t *)field == CONF_AUTO)
				fprintf(out, "%s = auto\n", k->name);
			else
				fprintf(out, "%s = %llu\n", k->name,
					(unsigned long long)*(const uint64_t *)field);
			break;
		case T_PATH:
		case T_NAME:
			fprintf(out, "%s = %s\n", k->name, (const char *)field);
			break;
		case T_LISTEN:
			print_listen(out, k->name, field);
			break;
		case T_LOGLEVEL:
			fprintf(out, "%s = %s\n", k->name, levels[*(const enum log_level *)field]);
			break;
		}
	}
	conf_boot_print(cfg, out);
}
