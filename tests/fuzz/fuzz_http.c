/* Fuzzes what herd parses of an HTTP request itself (http/http_req.c; the
 * request line and headers are libmicrohttpd's): the first byte picks a
 * file size, the rest is a Range header value and, split at the first
 * newline, a request target to unescape. Whatever the input:
 * - a partial range lies inside the file and is not empty;
 * - an unsatisfiable one only for a start at or past the end, or a zero
 *   suffix or an empty file;
 * - unescaping never lengthens the target, never decodes a NUL, and a
 *   target without '%' is unchanged;
 * - the decoded target, as a query (the iPXE report, boot/rules.c), parses
 *   safely, and as a value encoded by http_query_add reads back whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/rules.h"
#include "http/http_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t sizes[] = {0, 1, 2, 100, 1000, 1048576, UINT64_MAX};

static void check_range(const char *value, uint64_t fsize)
{
	struct http_range r = http_range_parse(value, fsize);

	if (r.kind == HTTP_RANGE_PARTIAL &&
	    (r.len == 0 || r.first >= fsize || r.len > fsize - r.first))
		abort();
	if (r.kind == HTTP_RANGE_UNSATISFIABLE && r.len != 0)
		abort();
}

static void check_unescape(char *s, size_t len)
{
	char *copy = malloc(len + 1);
	size_t out;

	if (copy == NULL)
		return;
	memcpy(copy, s, len + 1);
	out = http_unescape(s);
	if (out > len || s[out] != '\0' || strlen(s) != out)
		abort(); /* a decoded NUL would end the name early */
	if (strchr(copy, '%') == NULL && strcmp(copy, s) != 0)
		abort();
	free(copy);
}

static void check_report(const char *value)
{
	char q[1024] = "mac=02%3A00%3A00%3A00%3A00%3A01";
	size_t len = strlen(q), vlen = strlen(value);
	struct boot_facts f;
	uint8_t mac[6];
	bool text = vlen > 0 && vlen < FACT_MAX;

	rules_report_parse(value, mac, &f);
	if (http_query_add(q, sizeof(q), &len, "product", value) < 0)
		return;
	if (rules_report_parse(q, mac, &f) != 0 || mac[5] != 1)
		abort();
	for (size_t i = 0; i < vlen; i++)
		text = text && (unsigned char)value[i] >= 0x20 && (unsigned char)value[i] <= 0x7e;
	if (text && strcmp(f.v[RULE_PRODUCT], value) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *nl;

	if (size == 0)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	check_range(text, sizes[data[0] % (sizeof(sizes) / sizeof(sizes[0]))]);
	if (nl) {
		check_unescape(nl + 1, strlen(nl + 1));
		check_report(nl + 1);
	}
	free(text);
	return 0;
}
