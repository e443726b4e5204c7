#include "inventory/inventory.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct inventory {
	struct inv_node *nodes;
	size_t count, cap;
	uint32_t *by_mac; /* index + 1 into nodes; open addressing */
	uint32_t *by_ip;
	uint32_t *by_name;
	uint32_t nslots; /* power of two, at least twice count */
};

int mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		char hex[3] = {s[0], s[1], 0};
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 2;
		if (i < 5 && *s != ':' && *s != '-')
			return -EINVAL;
		if (i < 5)
			s++;
	}
	return *s == '\0' ? 0 : -EINVAL;
}

const char *mac_str(const uint8_t mac[6], char sep, char buf[18])
{
	snprintf(buf, 18, "%02x%c%02x%c%02x%c%02x%c%02x%c%02x", mac[0], sep, mac[1], sep, mac[2],
		 sep, mac[3], sep, mac[4], sep, mac[5]);
	return buf;
}

static uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static const struct inv_node *probe(const struct inventory *inv, const uint32_t *table,
				    const void *key, size_t klen, size_t koff)
{
	if (inv == NULL || inv->nslots == 0)
		return NULL;
	for (uint32_t i = hash_bytes(key, klen) & (inv->nslots - 1);;
	     i = (i + 1) & (inv->nslots - 1)) {
		if (table[i] == 0)
			return NULL;
		const struct inv_node *n = &inv->nodes[table[i] - 1];
		if (memcmp((const char *)n + koff, key, klen) == 0)
			return n;
	}
}

const struct inv_node *inventory_by_mac(const struct inventory *inv, const uint8_t mac[6])
{
	return inv ? probe(inv, inv->by_mac, mac, 6, offsetof(struct inv_node, mac)) : NULL;
}

const struct inv_node *inventory_by_ip(const struct inventory *inv, const struct ipaddr *ip)
{
	return inv ? probe(inv, inv->by_ip, ip, sizeof(*ip), offsetof(struct inv_node, ip)) : NULL;
}

const struct inv_node *inventory_by_name(const struct inventory *inv, const char *name)
{
	size_t len = strlen(name) + 1;

	if (inv == NULL || len > CONF_NAME_MAX)
		return NULL;
	return probe(inv, inv->by_name, name, len, offsetof(struct inv_node, name));
}

size_t inventory_count(const struct inventory *inv)
{
	return inv ? inv->count : 0;
}

const struct inv_node *inventory_node(const struct inventory *inv, size_t i)
{
	return &inv->nodes[i];
}

struct inv_parse {
	struct inventory *inv;
	const struct conf_dhcp *cfg;
	const char *name;
	FILE *errs;
	int lineno;
	int problems;
};

__attribute__((format(printf, 2, 3))) static void problem(struct inv_parse *p, const char *fmt, ...)
{
	va_list ap;

	p->problems++;
	if (p->errs == NULL)
		return;
	fprintf(p->errs, "%s:%d: ", p->name, p->lineno);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

/* Splits a line into tokens at whitespace; "..." groups a value with
 * spaces (after key=). Returns the count, or -1 on an unclosed quote. */
static int tokenize(char *line, char **tok, int max)
{
	int n = 0;
	char *s = line;

	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		if (n == max)
			return n + 1;
		tok[n++] = s;
		char *d = s;
		bool quoted = false;
		for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
			if (*s == '"')
				quoted = !quoted;
			else
				*d++ = *s;
		}
		if (quoted)
			return -1;
		if (*s)
			s++;
		*d = '\0';
	}
	return n;
}

static bool valid_name(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) >= CONF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static int set_override(struct inv_parse *p, struct inv_node *n, const char *kv)
{
	static const char *const keys[] = {"loader", "loader_efi64", "loader_arm64",
					   "kernel", "initrd", "cmdline"};
	char **fields[] = {&n->loader, &n->loader_efi64, &n->loader_arm64,
			   &n->kernel, &n->initrd, &n->cmdline};
	const char *eq = strchr(kv, '=');

	for (unsigned i = 0; eq && i < 6; i++) {
		if (strncmp(kv, keys[i], (size_t)(eq - kv)) == 0 &&
		    strlen(keys[i]) == (size_t)(eq - kv)) {
			/* An http:// kernel or initrd is checked against the
			 * group's ipxe_fetch by herd check (check_setup.c). */
			bool loader = i <= 2, cmdline = i == 5;
			if (conf_is_url(eq + 1) &&
			    (loader || cmdline || !conf_is_http_url(eq + 1))) {
				problem(
				    p, "%s: '%s' is a URL, but %s: give a path beneath [tftp] root",
				    keys[i], eq + 1,
				    loader    ? "a loader is loaded by TFTP"
				    : cmdline ? "cmdline is not a file"
					      : "the only URLs herd passes on are http:// ones");
				return -EINVAL;
			}
			free(*fields[i]);
			*fields[i] = strdup(eq + 1);
			return *fields[i] ? 0 : -ENOMEM;
		}
	}
	problem(p,
		"'%s' is not one of loader=, loader_efi64=, loader_arm64=, kernel=, initrd=, "
		"cmdline=",
		kv);
	return -EINVAL;
}

static struct inv_node *append(struct inventory *inv)
{
	if (inv->count == inv->cap) {
		size_t cap = inv->cap ? inv->cap * 2 : 256;
		struct inv_node *nodes = realloc(inv->nodes, cap * sizeof(*nodes));
		if (nodes == NULL)
			return NULL;
		memset(nodes + inv->cap, 0, (cap - inv->cap) * sizeof(*nodes));
		inv->nodes = nodes;
		inv->cap = cap;
	}
	/* The slot may hold what a rejected line left. */
	struct inv_node *n = &inv->nodes[inv->count];
	free(n->loader);
	free(n->loader_efi64);
	free(n->loader_arm64);
	free(n->kernel);
	free(n->initrd);
	free(n->cmdline);
	memset(n, 0, sizeof(*n));
	return n;
}

static void parse_line(struct inv_parse *p, char *line)
{
	char *tok[16];
	int ntok = tokenize(line, tok, 16);
	struct inv_node *n;

	if (ntok == 0)
		return;
	if (ntok < 0 || ntok < 4 || ntok > 16) {
		problem(p, ntok < 0    ? "unclosed quote"
			   : ntok > 16 ? "too many fields"
				       : "expected: name mac ip group [key=value ...]");
		return;
	}
	n = append(p->inv);
	if (n == NULL) {
		problem(p, "out of memory");
		return;
	}
	n->line = p->lineno;
	if (!valid_name(tok[0])) {
		problem(p, "'%s' is not a valid node name (letters, digits, '-', '_', '.')",
			tok[0]);
		return;
	}
	strcpy(n->name, tok[0]);
	if (mac_parse(tok[1], n->mac) < 0) {
		problem(p, "'%s' is not a MAC address", tok[1]);
		return;
	}
	/* A proxy learns each node's address from the site's DHCP server:
	 * "-" leaves it out of the table. */
	bool proxy = p->cfg->mode == CONF_DHCP_PROXY;
	if (proxy && strcmp(tok[2], "-") == 0) {
		n->ip = ipaddr_v4(0);
	} else if (ipaddr_parse(tok[2], &n->ip) < 0) {
		problem(p, "'%s' is not an IP address%s", tok[2],
			strcmp(tok[2], "-") == 0 ? " ('-' only with [dhcp] mode = proxy)" : "");
		return;
	} else if (!ipaddr_is_v4(&n->ip)) {
		problem(p, "%s: an IPv6 address needs DHCPv6, which herd does not serve yet",
			tok[2]);
		return;
	}
	if (!proxy && conf_subnet_of(p->cfg, ipaddr_to_v4(&n->ip)) == NULL) {
		problem(p, "%s is outside every [subnet]", tok[2]);
		return;
	}
	/* auto: the rules choose, else [dhcp] default_group, as for a
	 * client herd does not know. */
	n->group_auto = strcmp(tok[3], "auto") == 0;
	n->group = conf_group_find(p->cfg, n->group_auto ? p->cfg->default_group : tok[3]);
	if (n->group == NULL && n->group_auto) {
		problem(p, "group auto: [dhcp] default_group '%s' does not exist",
			p->cfg->default_group);
		return;
	}
	if (n->group == NULL) {
		problem(p, "group '%s' does not exist", tok[3]);
		return;
	}
	for (int i = 4; i < ntok; i++)
		if (set_override(p, n, tok[i]) < 0)
			return;
	p->inv->count++;
}

/* Adds node idx to table under key, or returns the node already there. */
static const struct inv_node *index_add(struct inventory *inv, uint32_t *table, const void *key,
					size_t klen, size_t koff, uint32_t idx)
{
	const struct inv_node *other = probe(inv, table, key, klen, koff);
	uint32_t mask = inv->nslots - 1, i = hash_bytes(key, klen) & mask;

	if (other != NULL)
		return other;
	while (table[i])
		i = (i + 1) & mask;
	table[i] = idx + 1;
	return NULL;
}

static void index_node(struct inv_parse *p, uint32_t idx)
{
	struct inventory *inv = p->inv;
	const struct inv_node *n = &inv->nodes[idx], *other;
	char ip[IPADDR_STRLEN];

	p->lineno = n->line;
	other = index_add(inv, inv->by_mac, n->mac, 6, offsetof(struct inv_node, mac), idx);
	if (other != NULL)
		problem(p, "MAC %s is also on line %d", mac_str(n->mac, ':', (char[18]){0}),
			other->line);
	other = ipaddr_to_v4(&n->ip) == 0 ? NULL
					   : index_add(inv, inv->by_ip, &n->ip, sizeof(n->ip),
						       offsetof(struct inv_node, ip), idx);
	if (other != NULL)
		problem(p, "address %s is also on line %d", ipaddr_str(&n->ip, ip), other->line);
	/* The name is the node's log file and its DHCP host name: two nodes
	 * with one name would write into one file and boot as one host. */
	other = index_add(inv, inv->by_name, n->name, strlen(n->name) + 1,
			  offsetof(struct inv_node, name), idx);
	if (other != NULL)
		problem(p, "name %s is also on line %d", n->name, other->line);
}

static int build_index(struct inv_parse *p)
{
	struct inventory *inv = p->inv;
	uint32_t slots = 16;

	while (slots < inv->count * 2)
		slots <<= 1;
	inv->by_mac = calloc(slots, sizeof(uint32_t));
	inv->by_ip = calloc(slots, sizeof(uint32_t));
	inv->by_name = calloc(slots, sizeof(uint32_t));
	if (inv->by_mac == NULL || inv->by_ip == NULL || inv->by_name == NULL)
		return -ENOMEM;
	inv->nslots = slots;
	for (uint32_t i = 0; i < inv->count; i++)
		index_node(p, i);
	return 0;
}

int inventory_load_mem(struct inventory **out, const char *name, const void *data, size_t size,
		       const struct conf_dhcp *cfg, FILE *errs)
{
	struct inv_parse p = {.cfg = cfg, .name = name, .errs = errs};
	const char *text = data, *end = text + size;
	char line[4096];

	p.inv = calloc(1, sizeof(*p.inv));
	*out = p.inv;
	if (p.inv == NULL)
		return -ENOMEM;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t len = nl ? (size_t)(nl - text) : (size_t)(end - text);
		p.lineno++;
		if (len >= sizeof(line)) {
			problem(&p, "line longer than %zu characters", sizeof(line) - 1);
		} else if (memchr(text, '\0', len) != NULL) {
			/* Said, not skipped: a table that is not text is a mistake. */
			problem(&p, "NUL byte in the line");
		} else {
			memcpy(line, text, len);
			line[len] = '\0';
			parse_line(&p, line);
		}
		text += len + (nl != NULL);
	}
	if (build_index(&p) < 0)
		return -ENOMEM;
	return p.problems;
}

int inventory_load_string(struct inventory **out, const char *name, const char *text,
			  const struct conf_dhcp *cfg, FILE *errs)
{
	return inventory_load_mem(out, name, text, strlen(text), cfg, errs);
}

int inventory_load(struct inventory **out, const char *path, const struct conf_dhcp *cfg,
		   FILE *errs)
{
	FILE *f = fopen(path, "re");
	char *text = NULL, chunk[4096];
	size_t size = 0, n;
	int rc;

	*out = NULL;
	if (f == NULL) {
		rc = -errno;
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		return rc;
	}
	/* Read it whole, NUL bytes included, and tell a read error (a directory:
	 * EISDIR) from an empty table. */
	FILE *mem = open_memstream(&text, &size);
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
	rc = inventory_load_mem(out, path, text, size, cfg, errs);
	free(text);
	return rc;
}

void inventory_free(struct inventory *inv)
{
	if (inv == NULL)
		return;
	for (size_t i = 0; i < inv->cap; i++) {
		free(inv->nodes[i].loader);
		free(inv->nodes[i].loader_efi64);
		free(inv->nodes[i].loader_arm64);
		free(inv->nodes[i].kernel);
		free(inv->nodes[i].initrd);
		free(inv->nodes[i].cmdline);
	}
	free(inv->nodes);
	free(inv->by_mac);
	free(inv->by_ip);
	free(inv->by_name);
	free(inv);
}
