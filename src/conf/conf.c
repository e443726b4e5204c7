#include "conf/conf.h"
#include "conf/conf_boot.h"
#include "conf/conf_keys.h"
#include "conf/conf_rules.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Where a line of the key table is kept for each section: the unnamed
 * sections share slot 0 (their keys differ), then one slot per subnet,
 * per group and per rule. */
#define SLOT_SUBNET 1
#define SLOT_GROUP (SLOT_SUBNET + CONF_MAX_SUBNETS)
#define SLOT_RULE (SLOT_GROUP + CONF_MAX_GROUPS)
#define N_SLOTS (SLOT_RULE + CONF_MAX_RULES)

/* A section of the file. */
struct open_section {
	enum conf_section kind;
	void *base; /* the struct its keys' offsets are in */
	unsigned slot;
	char title[CONF_NAME_MAX + 8]; /* "tftp", "subnet rack1" */
};

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
	struct open_section section; /* the one being read */
	bool in_section;	     /* after a [section] line */
	bool in_bad_section;	     /* after a [section] line that is not read */
	/* Where each key of each section was first set; 0: not in this file. */
	int lines[N_SLOTS][CONF_MAX_KEYS];
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

/* Sets every key of the section `kind` at `base` to its default. */
static void apply_defaults(enum conf_section kind, void *base)
{
	char err[256];

	for (unsigned i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (k->def == NULL || k->section != kind)
			continue;
		if (conf_key_set(k, base, k->def, false, err, sizeof(err)) < 0) {
			/* The table is wrong: no configuration could be trusted. */
			fprintf(stderr, "herd: built-in default of [%s] %s\n",
				conf_section_names[kind], err);
			abort();
		}
	}
}

void conf_defaults(struct herd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (enum conf_section sec = 0; sec < CONF_NSECTIONS; sec++)
		if (!CONF_SEC_NAMED(sec))
			apply_defaults(sec, cfg);
}

static bool valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) >= CONF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* The named sections of a kind: where they are, how many, the most. */
struct named_kind {
	void *first;
	size_t size;
	unsigned *count, max, slot;
};

/* Non-const: parsing fills them; printing only reads. */
static struct named_kind named_kind(const struct conf_dhcp *cd, enum conf_section kind)
{
	struct conf_dhcp *d = (struct conf_dhcp *)cd;

	switch (kind) {
	case CONF_SEC_SUBNET:
		return (struct named_kind){d->subnets, sizeof(d->subnets[0]), &d->nsubnets,
					   CONF_MAX_SUBNETS, SLOT_SUBNET};
	case CONF_SEC_GROUP:
		return (struct named_kind){d->groups, sizeof(d->groups[0]), &d->ngroups,
					   CONF_MAX_GROUPS, SLOT_GROUP};
	default:
		return (struct named_kind){d->rules, sizeof(d->rules[0]), &d->nrules,
					   CONF_MAX_RULES, SLOT_RULE};
	}
}

/* Each named section's struct starts with its name and line. */
_Static_assert(offsetof(struct conf_subnet, line) == CONF_NAME_MAX &&
		   offsetof(struct conf_group, line) == CONF_NAME_MAX &&
		   offsetof(struct conf_rule, line) == CONF_NAME_MAX,
	       "name, then line");

static char *named_at(const struct named_kind *k, unsigned i)
{
	return (char *)k->first + i * k->size;
}

/* [subnet NAME], [group NAME] or [rule NAME]: the one of that name, made
 * (with its defaults) when first seen. */
static int named_open(struct conf_parse *p, enum conf_section kind, const char *name,
		      struct open_section *s)
{
	struct named_kind k = named_kind(&p->cfg->dhcp, kind);
	unsigned i;

	for (i = 0; i < *k.count; i++)
		if (strcmp(named_at(&k, i), name) == 0)
			break;
	if (i == *k.count) {
		if (*k.count == k.max) {
			problem(p, "at most %u %ss", k.max, conf_section_names[kind]);
			return -1;
		}
		(*k.count)++;
		memset(named_at(&k, i), 0, k.size);
		strcpy(named_at(&k, i), name);
		*(int *)(named_at(&k, i) + CONF_NAME_MAX) = p->lineno;
		apply_defaults(kind, named_at(&k, i));
	}
	s->kind = kind;
	s->base = named_at(&k, i);
	s->slot = k.slot + i;
	snprintf(s->title, sizeof(s->title), "%s %s", conf_section_names[kind], name);
	return 0;
}

/* The section named in a [section] line; reports it (and returns -1) if
 * there is no such section. */
static int section_open(struct conf_parse *p, const char *section, struct open_section *s)
{
	for (enum conf_section kind = 0; kind < CONF_NSECTIONS; kind++) {
		const char *kind_name = conf_section_names[kind];
		size_t n = strlen(kind_name);
		if (strncmp(section, kind_name, n) != 0)
			continue;
		if (!CONF_SEC_NAMED(kind) && section[n] == '\0') {
			s->kind = kind;
			s->base = p->cfg;
			s->slot = 0;
			snprintf(s->title, sizeof(s->title), "%s", kind_name);
			return 0;
		}
		if (CONF_SEC_NAMED(kind) && section[n] == '\0') {
			problem(p, "[%s] needs a name: [%s NAME]", section, section);
			return -1;
		}
		if (CONF_SEC_NAMED(kind) && section[n] == ' ') {
			const char *name = section + n + strspn(section + n, " ");
			if (valid_name(name))
				return named_open(p, kind, name, s);
			problem(p, "[%s]: the name may hold letters, digits, '-', '_' and '.'",
				section);
			return -1;
		}
	}
	problem(p, "unknown section [%s]", section);
	return -1;
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

/* A [section] line: the section the keys after it go to, or none (said
 * here, once). The name is taken as inih takes it, but whole: inih would
 * cut it at 49 characters. */
static void section_header(struct conf_parse *p, const char *line)
{
	const char *end = find_before_comment(line + 1, "]");
	char name[INI_MAX_LINE];

	snprintf(name, sizeof(name), "%.*s", (int)(end - line - 1), line + 1);
	p->in_bad_section = section_open(p, name, &p->section) < 0;
	p->in_section = true;
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
		section_header(p, str);
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

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = user;
	struct open_section *s = &p->section;
	char err[512];
	int i, *line;

	(void)section; /* read whole by section_header() */
	if (p->in_bad_section)
		return 1;
	if (!p->in_section) {
		problem(p, "'%s' is set before any [section]", name);
		return 1;
	}
	i = conf_key_find(s->kind, name);
	if (i < 0) {
		problem(p, "unknown setting '%s' in [%s]", name, s->title);
		return 1;
	}
	line = &p->lines[s->slot][i];
	if (*line != 0 && !(conf_keys[i].flags & K_JOIN))
		problem(p, "%s: set twice in [%s] (first on line %d)", name, s->title, *line);
	if (conf_key_set(&conf_keys[i], s->base, value, *line != 0, err, sizeof(err)) < 0)
		problem(p, "%s", err);
	if (*line == 0)
		*line = p->lineno;
	return 1; /* reported ourselves; keep going to find every problem */
}

/* The line the key `name` of `section` was set on in `slot` (0: not in
 * the file). */
static int line_of(const struct conf_parse *p, unsigned slot, enum conf_section section,
		   const char *name)
{
	int i = conf_key_find(section, name);

	return i < 0 ? 0 : p->lines[slot][i];
}

/* The later of two lines, so that a rule between two settings is reported
 * where it was broken. */
static int later(int a, int b)
{
	return a > b ? a : b;
}

/* A section sets the T1/T2 times if it gives either a value (auto: no). */
static void timers_line(const struct conf_parse *p, unsigned slot, enum conf_section section,
			struct conf_timers *t)
{
	t->line = later(t->renewal ? line_of(p, slot, section, "renewal_time") : 0,
			t->rebinding ? line_of(p, slot, section, "rebinding_time") : 0);
}

/* The lines the rest of herd names in its own reports. */
static void note_lines(const struct conf_parse *p)
{
	static const char *const group_keys[] = {"loader_bios", "loader_efi64", "loader_arm64",
						 "kernel", "initrd", "ipxe_fetch"};
	struct herd_config *cfg = p->cfg;
	struct conf_dhcp *d = &cfg->dhcp;

	cfg->tftp_root_line = line_of(p, 0, CONF_SEC_TFTP, "root");
	cfg->user_line = line_of(p, 0, CONF_SEC_SERVER, "user");
	cfg->log_dir_line = line_of(p, 0, CONF_SEC_LOG, "dir");
	d->lease_line = line_of(p, 0, CONF_SEC_DHCP, "lease_time");
	d->lease_file_line = line_of(p, 0, CONF_SEC_DHCP, "lease_file");
	d->mode_line = line_of(p, 0, CONF_SEC_DHCP, "mode");
	timers_line(p, 0, CONF_SEC_DHCP, &d->timers);
	for (unsigned i = 0; i < d->nsubnets; i++) {
		d->subnets[i].lease_line =
		    line_of(p, SLOT_SUBNET + i, CONF_SEC_SUBNET, "lease_time");
		timers_line(p, SLOT_SUBNET + i, CONF_SEC_SUBNET, &d->subnets[i].timers);
	}
	for (unsigned i = 0; i < d->ngroups; i++) {
		for (unsigned k = 0; k < 6; k++)
			d->groups[i].key_line[k] =
			    line_of(p, SLOT_GROUP + i, CONF_SEC_GROUP, group_keys[k]);
		d->groups[i].image_line = line_of(p, SLOT_GROUP + i, CONF_SEC_GROUP, "image");
		timers_line(p, SLOT_GROUP + i, CONF_SEC_GROUP, &d->groups[i].timers);
	}
	for (unsigned i = 0; i < d->nrules; i++) {
		struct conf_rule *r = &d->rules[i];
		for (unsigned k = 0; k < RULE_NKEYS; k++)
			r->match_line[k] = r->match[k][0] ? p->lines[SLOT_RULE + i]
								     [conf_key_find(CONF_SEC_RULE,
										    conf_rule_key_name(k))]
							  : 0;
		r->group_line = line_of(p, SLOT_RULE + i, CONF_SEC_RULE, "group");
		r->name_line = line_of(p, SLOT_RULE + i, CONF_SEC_RULE, "name");
	}
}

static void report_at(void *ctx, int line, const char *reason)
{
	struct conf_parse *p = ctx;

	p->lineno = line;
	problem(p, "%s", reason);
}

/* A key without a default must be given in each section of its kind
 * (the network of a subnet), and is reported once, at the header. */
static void check_required(struct conf_parse *p)
{
	for (unsigned i = 0; i < conf_nkeys; i++) {
		const struct conf_key *key = &conf_keys[i];
		if (key->def != NULL)
			continue;
		struct named_kind k = named_kind(&p->cfg->dhcp, key->section);
		for (unsigned j = 0; j < *k.count; j++) {
			if (p->lines[k.slot + j][i] != 0)
				continue;
			p->lineno = *(int *)(named_at(&k, j) + CONF_NAME_MAX);
			problem(p, "[%s %s] has no %s", conf_section_names[key->section],
				named_at(&k, j), key->name);
		}
	}
}

/* A service that is enabled listens somewhere. */
static void check_listen(struct conf_parse *p, enum conf_section section, const char *key,
			 bool enabled, const struct conf_listen *l)
{
	p->lineno = later(line_of(p, 0, section, key), line_of(p, 0, section, "enabled"));
	if (enabled && l->count == 0)
		problem(p, "[%s] %s is empty; set enabled = no instead",
			conf_section_names[section], key);
}

int conf_status_where(const char *listen, const char *value, struct netaddr *out)
{
	bool on;

	if (conf_parse_bool(value, &on) == 0) {
		if (!on || strcmp(listen, "off") == 0)
			return 0;
		value = listen;
	}
	if (netaddr_parse(value, CONF_STATUS_PORT, out) < 0 || !ipaddr_is_v4(&out->ip))
		return -EINVAL;
	return 1;
}

/* The dashboard page reads api/v1/nodes relative to itself. */
static void check_dashboard(struct conf_parse *p, const struct conf_status_http *st)
{
	struct netaddr d, a;

	if (conf_status_where(st->listen, st->dashboard, &d) != 1)
		return;
	if (conf_status_where(st->listen, st->api, &a) == 1 && netaddr_eq(&a, &d))
		return;
	p->lineno = later(line_of(p, 0, CONF_SEC_STATUS, "dashboard"),
			  line_of(p, 0, CONF_SEC_STATUS, "api"));
	problem(p, "[status] dashboard: the page reads the node API from its own address: "
		   "serve api there too, or set dashboard = no");
}

/* [status]: listen is off or an address; each endpoint yes, no or one. */
static void check_status(struct conf_parse *p)
{
	static const char *const keys[] = {"listen", "metrics", "api", "dashboard"};
	const struct conf_status_http *st = &p->cfg->status_http;
	const char *values[] = {st->listen, st->metrics, st->api, st->dashboard};
	struct netaddr a;
	bool b;

	for (unsigned i = 0; i < 4; i++) {
		const char *v = values[i];
		bool word = i == 0 ? strcmp(v, "off") == 0 : conf_parse_bool(v, &b) == 0;
		if (word || (netaddr_parse(v, CONF_STATUS_PORT, &a) == 0 && ipaddr_is_v4(&a.ip)))
			continue;
		p->lineno = line_of(p, 0, CONF_SEC_STATUS, keys[i]);
		problem(p, "[status] %s: '%s' is not %s", keys[i], v,
			i == 0 ? "off or an IPv4 ADDR[:PORT]" : "yes, no or an IPv4 ADDR[:PORT]");
		return;
	}
	check_dashboard(p, st);
}

/* [cluster]: a connection string libpq can read, a name that fits a log
 * line and a table cell, and something to share. */
static void check_cluster(struct conf_parse *p)
{
	const struct herd_config *cfg = p->cfg;
	const struct conf_cluster *c = &cfg->cluster;
	char *err = NULL;
	PQconninfoOption *opts;

	p->lineno = line_of(p, 0, CONF_SEC_CLUSTER, "name");
	if (c->name[0] && !valid_name(c->name))
		problem(p, "[cluster] name: '%s': letters, digits, '-', '_' and '.' only", c->name);
	if (c->database[0] == '\0')
		return;
	p->lineno = line_of(p, 0, CONF_SEC_CLUSTER, "database");
	opts = PQconninfoParse(c->database, &err);
	if (opts == NULL) {
		size_t n = err ? strlen(err) : 0;
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		problem(p, "[cluster] database: %s", err ? err : "out of memory");
	} else if (!cfg->dhcp.enabled || cfg->dhcp.mode == CONF_DHCP_PROXY) {
		problem(p, "[cluster] database: the servers share DHCP leases, and this one %s",
			cfg->dhcp.enabled ? "is a proxy (it hands out no address)"
					  : "has no DHCP ([dhcp] enabled = no)");
	}
	PQconninfoFree(opts);
	PQfreemem(err);
}

static void conf_validate(struct conf_parse *p)
{
	const struct herd_config *cfg = p->cfg;
	const struct conf_tftp *t = &cfg->tftp;

	p->lineno = later(line_of(p, 0, CONF_SEC_TFTP, "rto_min_ms"),
			  line_of(p, 0, CONF_SEC_TFTP, "rto_max_ms"));
	if (t->rto_min_ms > t->rto_max_ms)
		problem(p, "[tftp] rto_min_ms (%u) is above rto_max_ms (%u)", t->rto_min_ms,
			t->rto_max_ms);
	check_listen(p, CONF_SEC_TFTP, "listen", t->enabled, &t->listen);
	p->lineno =
	    later(line_of(p, 0, CONF_SEC_LOG, "syslog"), line_of(p, 0, CONF_SEC_LOG, "netconsole"));
	if (cfg->logrx.enabled && cfg->logrx.syslog.count + cfg->logrx.netconsole.count == 0)
		problem(p, "[log] has neither syslog nor netconsole addresses");
	check_listen(p, CONF_SEC_DHCP, "listen", cfg->dhcp.enabled, &cfg->dhcp.listen);
	check_listen(p, CONF_SEC_HTTP, "listen", cfg->http.enabled, &cfg->http.listen);
	check_status(p);
	check_cluster(p);
	check_required(p);
	conf_boot_validate(cfg, report_at, p);
	conf_rules_validate(cfg, report_at, p);
}

int conf_load_mem(struct herd_config *cfg, const char *name, const void *data, size_t size,
		  FILE *errs)
{
	struct conf_parse *p = calloc(1, sizeof(*p));
	int rc;

	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	if (p == NULL) {
		if (errs)
			fprintf(errs, "%s: %s\n", name, strerror(ENOMEM));
		return -ENOMEM;
	}
	*p =
	    (struct conf_parse){.cfg = cfg, .name = name, .errs = errs, .text = data, .size = size};
	rc = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (rc > 0 && p->problems == 0) {
		p->lineno = rc;
		problem(p, "syntax error");
	}
	note_lines(p);
	conf_validate(p);
	rc = p->problems;
	free(p);
	return rc;
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
		problems +=
		    check_dir(cfg->path, cfg->tftp_root_line, "[tftp] root", cfg->tftp.root, errs);
	return problems;
}

/* [title] and every key of the section kind, from the struct at base. */
static void print_section(FILE *out, enum conf_section kind, const char *title, const void *base)
{
	fprintf(out, "\n[%s]\n", title);
	for (unsigned i = 0; i < conf_nkeys; i++)
		if (conf_keys[i].section == kind)
			conf_key_print(&conf_keys[i], base, out);
}

void conf_print(const struct herd_config *cfg, FILE *out)
{
	const struct conf_dhcp *d = &cfg->dhcp;
	char title[CONF_NAME_MAX + 8];

	fprintf(out, "# effective configuration of %s\n", cfg->path);
	for (enum conf_section sec = 0; sec < CONF_NSECTIONS; sec++) {
		if (!CONF_SEC_NAMED(sec)) {
			print_section(out, sec, conf_section_names[sec], cfg);
			if (sec == CONF_SEC_DHCP)
				conf_boot_print_effective(out, d, NULL, NULL);
			continue;
		}
		struct named_kind k = named_kind(d, sec);
		for (unsigned j = 0; j < *k.count; j++) {
			const char *base = named_at(&k, j);
			snprintf(title, sizeof(title), "%s %s", conf_section_names[sec], base);
			print_section(out, sec, title, base);
			if (sec == CONF_SEC_SUBNET)
				conf_boot_print_effective(out, d, (const void *)base, NULL);
			else if (sec == CONF_SEC_GROUP) {
				const struct conf_group *g = (const void *)base;
				conf_boot_print_effective(out, d, NULL, g);
				if (g->ipxe_fetch == CONF_FETCH_AUTO)
					fprintf(out, "# effective: ipxe_fetch %s ([http] is %s)\n",
						conf_group_http(cfg, g) ? "http" : "tftp",
						cfg->http.enabled ? "enabled" : "off");
			}
		}
	}
	if (d->nrules)
		fprintf(out, "# rules are tried in the order above; the first that matches wins\n");
}
