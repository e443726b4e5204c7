/* `herd status` and `herd reload`: clients of a running herd's control
 * socket ([status] socket; docs/STATUS.md). One JSON request line, one
 * JSON reply line; this file only asks and prints. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "conf/conf.h"
#include "ops/json.h"
#include "ops/nodes.h"

#define DEFAULT_SOCKET "/run/herd/herd.sock"

struct status_opts {
	const char *config, *socket, *stage, *group, *sort, *node;
	bool json, watch;
};

/* ---- Asking ------------------------------------------------------------- */

/* Sends one request line, returns the reply line (malloc'd, without its
 * newline) in *out. 0 or -errno. */
static int control_call(const char *path, const char *request, char **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t cap = 65536, n = 0;
	char *buf;
	int fd, err = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request) ||
	    write(fd, "\n", 1) != 1) {
		err = -errno;
		close(fd);
		return err;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : -ECONNRESET;
			break;
		}
		n += (size_t)r;
		if (memchr(buf + n - (size_t)r, '\n', (size_t)r))
			break;
		if (n + 1 == cap) {
			char *g = realloc(buf, cap *= 2);
			if (g == NULL)
				break;
			buf = g;
		}
	}
	close(fd);
	if (buf == NULL)
		return -ENOMEM;
	if (err < 0 && (n == 0 || memchr(buf, '\n', n) == NULL)) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*strchr(buf, '\n') = '\0';
	*out = buf;
	return 0;
}

static const char *socket_path(const struct status_opts *o)
{
	static struct herd_config cfg;

	if (o->socket)
		return o->socket;
	if (o->config) {
		if (conf_load(&cfg, o->config, stderr) != 0)
			return NULL;
		if (!cfg.status.enabled || cfg.status.socket[0] == '\0') {
			fprintf(stderr, "herd: %s: no control socket ([status])\n", o->config);
			return NULL;
		}
		return cfg.status.socket;
	}
	return DEFAULT_SOCKET;
}

/* Asks and parses; prints why not on stderr. */
static struct json *ask(const char *path, const char *request, char **raw)
{
	char *reply = NULL;
	struct json *j;
	int err = control_call(path, request, &reply);

	if (err < 0) {
		fprintf(stderr, "herd: %s: %s\n", path, strerror(-err));
		return NULL;
	}
	j = json_parse(reply);
	if (j == NULL)
		fprintf(stderr, "herd: %s: not a JSON reply: %.200s\n", path, reply);
	else if (json_get(j, "error"))
		fprintf(stderr, "herd: %s\n", json_get_str(j, "error"));
	if (raw)
		*raw = reply;
	else
		free(reply);
	if (j && json_get(j, "error")) {
		json_free(j);
		return NULL;
	}
	return j;
}

/* ---- Printing ----------------------------------------------------------- */

static void fmt_secs(double s, char *buf, size_t size)
{
	if (s < 60)
		snprintf(buf, size, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, size, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, size, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static void fmt_bytes(double b, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (b >= 1024 && u < 3)
		b /= 1024, u++;
	if (u < 0)
		snprintf(buf, size, "%.0f", b);
	else
		snprintf(buf, size, "%.1f%c", b, units[u]);
}

static const char *sort_key;

static int by_key(const void *a, const void *b)
{
	const struct json *x = *(const struct json *const *)a, *y = *(const struct json *const *)b;
	int d = 0;

	if (strcmp(sort_key, "stage") == 0)
		d = (int)node_stage_of(json_get_str(x, "stage")) -
		    (int)node_stage_of(json_get_str(y, "stage"));
	else if (strcmp(sort_key, "since") == 0)
		d = json_get_num(y, "since_s") > json_get_num(x, "since_s")   ? 1
		    : json_get_num(y, "since_s") < json_get_num(x, "since_s") ? -1
									      : 0;
	return d ? d : strcmp(json_get_str(x, "name"), json_get_str(y, "name"));
}

/* [cluster]: the nodes say which server boots them. */
static bool with_server;

/* Another server's node: its log and timeline are on that server. */
static bool elsewhere(const struct json *nd)
{
	return json_get(nd, "server_alive") != NULL;
}

static void print_row(const struct json *nd)
{
	char since[16], seen[16], bytes[16];
	const struct json *alive = json_get(nd, "server_alive");

	fmt_secs(json_get_num(nd, "since_s"), since, sizeof(since));
	if (elsewhere(nd))
		snprintf(seen, sizeof(seen), "-");
	else
		fmt_secs(json_get_num(nd, "last_seen_s"), seen, sizeof(seen));
	fmt_bytes(json_get_num(nd, "bytes"), bytes, sizeof(bytes));
	printf("%-20s %-8s %8s %8s %7.0f %9s", json_get_str(nd, "name"), json_get_str(nd, "stage"),
	       since, bytes, json_get_num(nd, "retries"), seen);
	if (with_server)
		printf(" %s%s", json_get_str(nd, "server"),
		       alive && alive->type == JSON_BOOL && alive->num == 0 ? " (gone)" : "");
	if (strcmp(json_get_str(nd, "stage"), "failed") == 0)
		printf("  %s: %s", json_get_str(nd, "failed_stage"), json_get_str(nd, "why"));
	putchar('\n');
}

/* The nodes the filters keep, sorted; *n of them (an array to free). */
static const struct json **select_nodes(const struct json *j, const struct status_opts *o,
					size_t *n)
{
	const struct json *nodes = json_get(j, "nodes");
	const struct json **v;

	*n = 0;
	if (nodes == NULL || nodes->type != JSON_ARR)
		return NULL;
	v = calloc(nodes->nkids + 1, sizeof(*v));
	for (size_t i = 0; v && i < nodes->nkids; i++) {
		const struct json *nd = &nodes->kids[i];
		if (o->stage && strcmp(json_get_str(nd, "stage"), o->stage) != 0)
			continue;
		if (o->group && strcmp(json_get_str(nd, "group"), o->group) != 0)
			continue;
		v[(*n)++] = nd;
	}
	sort_key = o->sort ? o->sort : "name";
	if (v)
		qsort(v, *n, sizeof(*v), by_key);
	return v;
}

static void print_counts(const struct json *j)
{
	const struct json *c = json_get(j, "counts");

	for (int s = 0; s < NODE_NSTAGES; s++)
		printf("%s%s %.0f", s ? "  " : "", node_stage_names[s],
		       json_get_num(c, node_stage_names[s]));
	putchar('\n');
}

static void print_table(const struct json *j, const struct status_opts *o)
{
	size_t n;
	const struct json **v = select_nodes(j, o, &n);

	print_counts(j);
	with_server = n > 0 && json_get(v[0], "server") != NULL;
	printf("%-20s %-8s %8s %8s %7s %9s%s\n", "NAME", "STAGE", "SINCE", "BYTES", "RETRIES",
	       "LAST-SEEN", with_server ? " SERVER" : "");
	for (size_t i = 0; i < n; i++)
		print_row(v[i]);
	free(v);
}

static void print_node(const struct json *j)
{
	const struct json *nodes = json_get(j, "nodes"), *nd, *tl, *tail;

	if (nodes == NULL || nodes->nkids != 1)
		return;
	nd = &nodes->kids[0];
	printf("%s  mac %s  ip %s  group %s\n", json_get_str(nd, "name"), json_get_str(nd, "mac"),
	       json_get_str(nd, "ip"), json_get_str(nd, "group"));
	with_server = json_get(nd, "server") != NULL;
	print_row(nd);
	if (elsewhere(nd)) {
		printf("booted by server %s: its timeline and log are there (herd status %s, on "
		       "%s)\n",
		       json_get_str(nd, "server"), json_get_str(nd, "name"), json_get_str(nd, "server"));
		return;
	}
	tl = json_get(nd, "timeline");
	printf("timeline:\n");
	for (size_t i = 0; tl && i < tl->nkids; i++)
		printf("  %-24s %s\n", json_get_str(&tl->kids[i], "t"),
		       json_get_str(&tl->kids[i], "stage"));
	tail = json_get(nd, "log_tail");
	printf("log (last %zu lines):\n", tail ? tail->nkids : 0);
	for (size_t i = 0; tail && i < tail->nkids; i++)
		printf("  %s\n", tail->kids[i].str ? tail->kids[i].str : "");
}

/* ---- --watch ------------------------------------------------------------ */

static int term_rows(void)
{
	struct winsize ws;

	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 10 ? ws.ws_row : 24;
}

/* Failed first, then the slowest: the longest in a stage before "up". */
static int by_trouble(const void *a, const void *b)
{
	const struct json *x = *(const struct json *const *)a, *y = *(const struct json *const *)b;
	bool fx = strcmp(json_get_str(x, "stage"), "failed") == 0;
	bool fy = strcmp(json_get_str(y, "stage"), "failed") == 0;
	double sx = json_get_num(x, "since_s"), sy = json_get_num(y, "since_s");

	if (fx != fy)
		return fx ? -1 : 1;
	return sy > sx	 ? 1
	       : sy < sx ? -1
			 : strcmp(json_get_str(x, "name"), json_get_str(y, "name"));
}

static void draw(const struct json *j, const struct status_opts *o)
{
	const struct json *c = json_get(j, "counts");
	size_t n, shown = 0, rows = (size_t)term_rows() - 7, width = 50;
	const struct json **v = select_nodes(j, o, &n);
	double up = json_get_num(c, "up"), failed = json_get_num(c, "failed");
	size_t fill = n ? (size_t)(up * (double)width / (double)n) : 0;

	printf("\033[H\033[2J");
	printf("herd status  %s  %zu node%s\n", json_get_str(j, "generated"), n, n == 1 ? "" : "s");
	print_counts(j);
	printf("[\033[32m");
	for (size_t i = 0; i < width; i++)
		fputs(i < fill ? "#" : "\033[0m.", stdout);
	printf("\033[0m] %.0f/%zu up (%.0f%%)%s\n\n", up, n, n ? 100.0 * up / (double)n : 0.0,
	       failed > 0 ? "  \033[31msome failed\033[0m" : "");
	printf("%-20s %-8s %8s %8s %7s %9s\n", "NAME", "STAGE", "SINCE", "BYTES", "RETRIES",
	       "LAST-SEEN");
	if (v)
		qsort(v, n, sizeof(*v), by_trouble);
	for (size_t i = 0; i < n && shown < rows; i++) {
		if (strcmp(json_get_str(v[i], "stage"), "up") == 0)
			continue;
		print_row(v[i]);
		shown++;
	}
	fflush(stdout);
	free(v);
}

static int watch(const char *path, const struct status_opts *o, long count)
{
	for (long i = 0; count <= 0 || i < count; i++) {
		struct json *j = ask(path, "{\"cmd\":\"nodes\"}", NULL);
		if (j == NULL)
			return 1;
		draw(j, o);
		json_free(j);
		if (count <= 0 || i + 1 < count)
			nanosleep(&(struct timespec){1, 0}, NULL);
	}
	return 0;
}

/* ---- Commands ----------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: herd status [-c FILE | -S SOCKET] [--json] [--stage S] [--group G]\n"
		"                   [--sort name|stage|since] [--watch [--count N]] [NODE]\n"
		"  The boot state of every node a running herd has seen (name, stage, time in\n"
		"  it, bytes sent, retransmissions, last seen); NODE: its timeline and the last\n"
		"  lines of its log. --watch redraws every second: counts per stage, a bar to\n"
		"  \"all up\", the failed and the slowest nodes first. Stages: dhcp loader kernel\n"
		"  initrd logging up failed. The socket: -S, else [status] socket of -c FILE,\n"
		"  else " DEFAULT_SOCKET ".\n"
		"usage: herd reload [-c FILE | -S SOCKET] [--json]\n"
		"  Reloads the configuration and the inventory (as SIGHUP) and prints the\n"
		"  outcome: the new generation, or each problem that refused it.\n");
}

static int parse_opts(int argc, char **argv, struct status_opts *o, long *count)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},	      {"stage", required_argument, NULL, 's'},
	    {"group", required_argument, NULL, 'g'},  {"sort", required_argument, NULL, 'o'},
	    {"watch", no_argument, NULL, 'w'},	      {"count", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:S:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 's':
			o->stage = optarg;
			break;
		case 'g':
			o->group = optarg;
			break;
		case 'o':
			o->sort = optarg;
			break;
		case 'w':
			o->watch = true;
			break;
		case 'n':
			*count = atol(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (o->sort && strcmp(o->sort, "name") && strcmp(o->sort, "stage") &&
	    strcmp(o->sort, "since")) {
		fprintf(stderr, "herd: --sort name, stage or since\n");
		return -1;
	}
	if (o->stage && node_stage_of(o->stage) == NODE_NSTAGES) {
		fprintf(stderr,
			"herd: --stage: one of dhcp loader kernel initrd logging up failed\n");
		return -1;
	}
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct status_opts o = {0};
	long count = 0;
	const char *path;
	char request[256], *raw = NULL;
	struct json *j;

	if (parse_opts(argc, argv, &o, &count) < 0 || argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	o.node = optind < argc ? argv[optind] : NULL;
	if ((path = socket_path(&o)) == NULL)
		return 1;
	if (o.watch)
		return watch(path, &o, count);
	if (o.node && (strchr(o.node, '"') || strchr(o.node, '\\') || strlen(o.node) > 100)) {
		fprintf(stderr, "herd: %s: not a node name\n", o.node);
		return 2;
	}
	if (o.node)
		snprintf(request, sizeof(request), "{\"cmd\":\"node\",\"name\":\"%s\"}", o.node);
	else
		snprintf(request, sizeof(request), "{\"cmd\":\"nodes\"}");
	if ((j = ask(path, request, &raw)) == NULL) {
		free(raw);
		return 1;
	}
	if (o.json)
		puts(raw);
	else if (o.node)
		print_node(j);
	else
		print_table(j, &o);
	free(raw);
	json_free(j);
	return 0;
}

int cmd_reload(int argc, char **argv)
{
	struct status_opts o = {0};
	long count = 0;
	const char *path;
	char *raw = NULL;
	struct json *j;
	const struct json *probs;
	int ok;

	if (parse_opts(argc, argv, &o, &count) < 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((path = socket_path(&o)) == NULL)
		return 1;
	if ((j = ask(path, "{\"cmd\":\"reload\"}", &raw)) == NULL) {
		free(raw);
		return 1;
	}
	ok = json_get_num(j, "ok") != 0;
	if (o.json) {
		puts(raw);
	} else {
		printf("reload %s: %s\n", ok ? "done" : "refused", json_get_str(j, "message"));
		probs = json_get(j, "problems");
		for (size_t i = 0; probs && i < probs->nkids; i++)
			printf("  %s\n", probs->kids[i].str ? probs->kids[i].str : "");
	}
	free(raw);
	json_free(j);
	return ok ? 0 : 1;
}
