/* Fuzzes the node inventory parser with the bytes of a table, as
 * inventory_load() reads one from its file. Whatever the input:
 * - each problem is one line "fuzz.tab:N: ..." and the count returned;
 * - every node kept has a valid name, a group, an address in a subnet,
 *   no URL for kernel/initrd, and lines in increasing order;
 * - lookups by MAC, address and name find a node with that key, and the
 *   node itself when the table loads cleanly;
 * - a clean table printed back as a table loads cleanly into the same nodes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "inventory/inventory.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct herd_config *cfg;

static const char conf_text[] = "[dhcp]\nenabled = yes\nlease_file =\n"
				"[subnet lab]\nnetwork = 10.0.0.0/16\n"
				"[subnet rack2]\nnetwork = 192.168.7.0/24\n"
				"[group default]\nkernel = k\n"
				"[group compute]\nloader_bios = pxelinux.0\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		abort();
	conf_defaults(cfg);
	if (conf_load_string(cfg, "fuzz.conf", conf_text, stderr) != 0)
		abort();
	return 0;
}

static void fail(const char *what, const struct inv_node *n)
{
	fprintf(stderr, "fuzz_inventory: %s (node %s, line %d)\n", what, n ? n->name : "-",
		n ? n->line : 0);
	abort();
}

static size_t count_lines(const char *text, size_t size)
{
	size_t lines = 0;

	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	return lines + (size > 0 && text[size - 1] != '\n');
}

static int load(struct inventory **inv, const void *data, size_t size)
{
	char *errs = NULL;
	size_t errs_len = 0;
	FILE *mem = open_memstream(&errs, &errs_len);

	if (mem == NULL)
		abort();
	int problems = inventory_load_mem(inv, "fuzz.tab", data, size, &cfg->dhcp, mem);
	if (fclose(mem) != 0 || *inv == NULL || problems < 0)
		fail("load failed", NULL);
	/* Tokens hold no newline: each problem is one line of its own. */
	if (count_lines(errs, errs_len) != (size_t)problems ||
	    (errs_len > 0 && (errs[errs_len - 1] != '\n' || strncmp(errs, "fuzz.tab:", 9) != 0))) {
		fprintf(stderr, "%d problems, reported as:\n%s", problems, errs);
		fail("problems and their report differ", NULL);
	}
	free(errs);
	return problems;
}

static bool name_ok(const char *s)
{
	size_t len = strnlen(s, CONF_NAME_MAX);

	if (len == 0 || len == CONF_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static void check_node(const struct inventory *inv, const struct inv_node *n, int last_line,
		       bool clean)
{
	const struct inv_node *m;

	if (!name_ok(n->name))
		fail("bad name", n);
	if (n->group == NULL || conf_group_find(&cfg->dhcp, n->group->name) != n->group)
		fail("no group", n);
	if (!ipaddr_is_v4(&n->ip) || conf_subnet_of(&cfg->dhcp, ipaddr_to_v4(&n->ip)) == NULL)
		fail("address outside every subnet", n);
	/* Only http:// URLs, and only as a kernel or initrd. */
	if ((n->kernel && conf_is_url(n->kernel) && !conf_is_http_url(n->kernel)) ||
	    (n->initrd && conf_is_url(n->initrd) && !conf_is_http_url(n->initrd)) ||
	    (n->loader && conf_is_url(n->loader)) || (n->cmdline && conf_is_url(n->cmdline)))
		fail("URL kept", n);
	if (n->line <= last_line)
		fail("lines out of order", n);
	/* Duplicates stay in the table (reported); the first one is found. */
	m = inventory_by_mac(inv, n->mac);
	if (m == NULL || memcmp(m->mac, n->mac, 6) != 0 || m->line > n->line || (clean && m != n))
		fail("lookup by MAC", n);
	m = inventory_by_ip(inv, &n->ip);
	if (m == NULL || !ipaddr_eq(&m->ip, &n->ip) || m->line > n->line || (clean && m != n))
		fail("lookup by address", n);
	m = inventory_by_name(inv, n->name);
	if (m == NULL || strcmp(m->name, n->name) != 0 || m->line > n->line || (clean && m != n))
		fail("lookup by name", n);
}

static void print_value(FILE *f, const char *key, const char *v)
{
	if (v != NULL)
		fprintf(f, " %s=\"%s\"", key, v);
}

/* The table of inv as an administrator would write it. */
static char *print_table(const struct inventory *inv, size_t *len)
{
	char *text = NULL, mac[18], ip[IPADDR_STRLEN];
	FILE *f = open_memstream(&text, len);

	if (f == NULL)
		abort();
	for (size_t i = 0; i < inventory_count(inv); i++) {
		const struct inv_node *n = inventory_node(inv, i);
		fprintf(f, "%s %s %s %s", n->name, mac_str(n->mac, i % 2 ? '-' : ':', mac),
			ipaddr_str(&n->ip, ip), n->group->name);
		print_value(f, "loader", n->loader);
		print_value(f, "loader_efi64", n->loader_efi64);
		print_value(f, "loader_arm64", n->loader_arm64);
		print_value(f, "kernel", n->kernel);
		print_value(f, "initrd", n->initrd);
		print_value(f, "cmdline", n->cmdline);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		abort();
	return text;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_round_trip(const struct inventory *inv)
{
	struct inventory *again;
	size_t len;
	char *text = print_table(inv, &len);

	if (load(&again, text, len) != 0 || inventory_count(again) != inventory_count(inv)) {
		fprintf(stderr, "printed table:\n%s", text);
		fail("printed table does not load", NULL);
	}
	for (size_t i = 0; i < inventory_count(inv); i++) {
		const struct inv_node *a = inventory_node(inv, i), *b = inventory_node(again, i);
		if (strcmp(a->name, b->name) != 0 || memcmp(a->mac, b->mac, 6) != 0 ||
		    !ipaddr_eq(&a->ip, &b->ip) || a->group != b->group || !same_str(a->loader, b->loader) ||
		    !same_str(a->loader_efi64, b->loader_efi64) ||
		    !same_str(a->loader_arm64, b->loader_arm64) ||
		    !same_str(a->kernel, b->kernel) || !same_str(a->initrd, b->initrd) ||
		    !same_str(a->cmdline, b->cmdline)) {
			fprintf(stderr, "printed table:\n%s", text);
			fail("round trip changed the node", a);
		}
	}
	inventory_free(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv;
	int last_line = 0;

	if (size > 65536)
		return 0;
	int problems = load(&inv, data, size);
	if (inventory_count(inv) > count_lines((const char *)data, size))
		fail("more nodes than lines", NULL);
	for (size_t i = 0; i < inventory_count(inv); i++) {
		const struct inv_node *n = inventory_node(inv, i);
		check_node(inv, n, last_line, problems == 0);
		last_line = n->line;
	}
	if (inventory_by_name(inv, "") != NULL)
		fail("lookup of the empty name", NULL);
	if (problems == 0)
		check_round_trip(inv);
	inventory_free(inv);
	return 0;
}
