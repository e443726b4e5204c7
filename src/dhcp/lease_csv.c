#include "dhcp/lease_csv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "inventory/inventory.h"

int lease_csv_format(char *buf, size_t size, const struct lease_csv_row *r)
{
	static const uint8_t none[6];
	char a[INET_ADDRSTRLEN], m[18];

	return snprintf(buf, size, "%s,%s,%" PRId64 ",%s\n",
			inet_ntop(AF_INET, &r->ip, a, sizeof(a)),
			mac_str(r->declined ? none : r->mac, ':', m), r->expires,
			r->declined ? "declined" : "bound");
}

/* The line without its line end, into buf; false if it does not fit. */
static bool strip(const char *line, char *buf, size_t size)
{
	size_t n = strcspn(line, "\r\n");

	if (n >= size)
		return false;
	memcpy(buf, line, n);
	buf[n] = '\0';
	return true;
}

bool lease_csv_is_header(const char *line)
{
	char buf[64];

	return strip(line, buf, sizeof(buf)) && strcmp(buf, LEASE_CSV_HEADER) == 0;
}

/* Digits only, no sign, no leading blank: what export writes. */
static int parse_seconds(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

int lease_csv_parse(const char *line, struct lease_csv_row *r, const char **why)
{
	static const uint8_t none[6];
	char buf[128], *field[4], *p;
	int n = 0;

	memset(r, 0, sizeof(*r));
	*why = "line too long";
	if (!strip(line, buf, sizeof(buf)))
		return -EINVAL;
	for (p = buf; n < 4; n++) {
		field[n] = p;
		p = strchr(p, ',');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	*why = "expected 4 fields: ip,mac,expires,state";
	if (n != 3)
		return -EINVAL;
	*why = "not an IPv4 address";
	if (inet_pton(AF_INET, field[0], &r->ip) != 1)
		return -EINVAL;
	*why = "not a MAC address (aa:bb:cc:dd:ee:ff)";
	if (mac_parse(field[1], r->mac) < 0)
		return -EINVAL;
	*why = "expires is not unix seconds";
	if (parse_seconds(field[2], &r->expires) < 0 || r->expires == 0)
		return -EINVAL;
	if (strcmp(field[3], "declined") == 0) {
		r->declined = true;
		memset(r->mac, 0, 6);
	} else if (strcmp(field[3], "bound") == 0) {
		*why = "a bound lease needs a client's MAC, not 00:00:00:00:00:00";
		if (memcmp(r->mac, none, 6) == 0)
			return -EINVAL;
	} else {
		*why = "state is neither bound nor declined";
		return -EINVAL;
	}
	*why = NULL;
	return 0;
}
