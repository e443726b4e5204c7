/* The lease exchange format of `herd leases export` and `import`
 * (docs/CLUSTER-MIGRATION.md): CSV with the header line
 *   ip,mac,expires,state
 * then one lease a line, e.g. `10.0.1.7,52:54:00:12:34:56,1796000000,bound`;
 * expires in unix seconds, state bound or declined (a declined address has
 * no client: its MAC is written as 00:00:00:00:00:00). */
#ifndef HERD_DHCP_LEASE_CSV_H
#define HERD_DHCP_LEASE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_CSV_HEADER "ip,mac,expires,state"

struct lease_csv_row {
	uint32_t ip; /* network order */
	uint8_t mac[6];
	int64_t expires; /* unix seconds, > 0 */
	bool declined;
};

/* One line, with its newline, into buf (64 bytes are enough). The length
 * written, as snprintf. */
int lease_csv_format(char *buf, size_t size, const struct lease_csv_row *r);
/* One line (a trailing "\n" or "\r\n" allowed). 0, or -EINVAL with *why
 * set to a short reason. */
int lease_csv_parse(const char *line, struct lease_csv_row *r, const char **why);
/* Is line the header (a trailing newline allowed)? */
bool lease_csv_is_header(const char *line);

#endif
