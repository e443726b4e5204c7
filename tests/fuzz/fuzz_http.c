/* Fuzzes what herd parses of an HTTP request itself (http/http_req.c; the
 * request line and headers are libmicrohttpd's): the first byte picks a
 * file size, the rest is a Range header value and, split at the first
 * newline, a request target to unescape. Whatever the input:
 * - a partial range lies inside the file and is not empty;
 * - an unsatisfiable one only for a start at or past the end, or a zero
 *   suffix or an empty file;
 * - unescaping never lengthens the target, never decodes a NUL, and a
 *   target without '%' is unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	if (nl)
		check_unescape(nl + 1, strlen(nl + 1));
	free(text);
	return 0;
}
