#include "cmd/reload.h"

#include <string.h>

#include "core/log.h"

static bool listen_eq(const struct conf_listen *a, const struct conf_listen *b)
{
	if (a->count != b->count)
		return false;
	for (unsigned i = 0; i < a->count; i++)
		if (!netaddr_eq(&a->addrs[i], &b->addrs[i]))
			return false;
	return true;
}

static unsigned fixed(const char *path, const char *key)
{
	log_warn("reload: %s: %s changed: needs a restart; herd goes on with the running value",
		 path, key);
	return 1;
}

#define KEEP(key, f)                                                                               \
	if (run->f != next->f)                                                                     \
	n += fixed(run->path, key), next->f = run->f
#define KEEP_STR(key, f)                                                                           \
	if (strcmp(run->f, next->f) != 0)                                                          \
	n += fixed(run->path, key), memcpy(next->f, run->f, sizeof(next->f))
#define KEEP_LISTEN(key, f)                                                                        \
	if (!listen_eq(&run->f, &next->f))                                                         \
	n += fixed(run->path, key), next->f = run->f

/* A subnet's network and pool size the lease table; its other keys are
 * live. Any change to the set of networks keeps all running subnets. */
static unsigned keep_subnets(const struct herd_config *run, struct herd_config *next)
{
	const struct conf_dhcp *r = &run->dhcp;
	struct conf_dhcp *x = &next->dhcp;
	bool same = r->nsubnets == x->nsubnets;

	for (unsigned i = 0; same && i < r->nsubnets; i++) {
		const struct conf_subnet *a = &r->subnets[i], *b = &x->subnets[i];
		same = strcmp(a->name, b->name) == 0 && a->network == b->network &&
		       a->mask == b->mask && a->pool_start == b->pool_start &&
		       a->pool_end == b->pool_end;
	}
	if (same)
		return 0;
	memcpy(x->subnets, r->subnets, sizeof(x->subnets));
	x->nsubnets = r->nsubnets;
	return fixed(run->path, "the [subnet] sections' names, networks or pools (every [subnet] "
				"stays as running)");
}

unsigned reload_keep_fixed(const struct herd_config *run, struct herd_config *next)
{
	unsigned n = 0;

	KEEP_STR("[server] user", server.user);
	KEEP("[server] rcvbuf", server.rcvbuf);
	KEEP("[server] max_open_files", server.max_open_files);
	KEEP("[server] seccomp", server.seccomp);
	KEEP("[tftp] enabled", tftp.enabled);
	KEEP_LISTEN("[tftp] listen", tftp.listen);
	KEEP_STR("[tftp] root", tftp.root);
	KEEP("[tftp] max_transfers", tftp.max_transfers);
	KEEP("[tftp] transfer_sockets", tftp.transfer_sockets);
	KEEP("[tftp] file_cache_ms", tftp.file_cache_ms);
	KEEP("[tftp] link_rate", tftp.link_rate);
	KEEP("[tftp] pacing_burst", tftp.pacing_burst);
	KEEP("[http] enabled", http.enabled);
	KEEP_LISTEN("[http] listen", http.listen);
	KEEP("[http] max_connections", http.max_connections);
	KEEP("[http] source_connections", http.source_connections);
	KEEP("[http] idle_timeout_ms", http.idle_timeout_ms);
	KEEP("[http] request_timeout_ms", http.request_timeout_ms);
	KEEP("[http] header_max", http.header_max);
	/* The ops HTTP listener's sockets are bound before the privilege drop. */
	KEEP_STR("[status] listen", status_http.listen);
	KEEP_STR("[status] metrics", status_http.metrics);
	KEEP_STR("[status] api", status_http.api);
	KEEP_STR("[status] dashboard", status_http.dashboard);
	KEEP("[log] enabled", logrx.enabled);
	KEEP_LISTEN("[log] syslog", logrx.syslog);
	KEEP_LISTEN("[log] netconsole", logrx.netconsole);
	KEEP_STR("[log] dir", logrx.dir);
	KEEP("[log] line_max", logrx.line_max);
	KEEP("[log] max_senders", logrx.max_senders);
	KEEP("[status] enabled", status.enabled);
	KEEP_STR("[status] socket", status.socket);
	KEEP_STR("[status] owner", status.owner);
	KEEP_STR("[status] group", status.group);
	KEEP("[status] max_nodes", status.max_nodes);
	KEEP("[dhcp] enabled", dhcp.enabled);
	KEEP("[dhcp] mode", dhcp.mode); /* port 4011's socket, the lease journal */
	KEEP_LISTEN("[dhcp] listen", dhcp.listen);
	KEEP_STR("[dhcp] interfaces", dhcp.interfaces);
	KEEP_STR("[dhcp] lease_file", dhcp.lease_file);
	KEEP("[dhcp] pin_neighbours", dhcp.pin_neighbours);
	/* The connection, the queue, the seccomp filter's database rules. */
	KEEP_STR("[cluster] database", cluster.database);
	KEEP_STR("[cluster] name", cluster.name);
	KEEP("[cluster] takeover_s", cluster.takeover_s);
	KEEP("[cluster] queue", cluster.queue);
	if (next->dhcp.enabled)
		n += keep_subnets(run, next);
	return n;
}
