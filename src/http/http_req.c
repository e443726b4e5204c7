#include "http/http_req.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

enum http_method http_method_of(const char *method)
{
	/* Methods are case-sensitive (RFC 9110 9.1). */
	if (strcmp(method, "GET") == 0)
		return HTTP_GET;
	if (strcmp(method, "HEAD") == 0)
		return HTTP_HEAD;
	return HTTP_OTHER;
}

static const char *skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Decimal digits into *v; NULL when there are none or they overflow. */
static const char *parse_u64(const char *s, uint64_t *v)
{
	const char *start = s;

	*v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return NULL;
		*v = *v * 10 + d;
	}
	return s == start ? NULL : s;
}

struct http_range http_range_parse(const char *value, uint64_t size)
{
	const struct http_range none = {HTTP_RANGE_NONE, 0, 0};
	const struct http_range bad = {HTTP_RANGE_UNSATISFIABLE, 0, 0};
	uint64_t first = 0, last = UINT64_MAX;
	bool suffix;
	const char *s;

	if (value == NULL)
		return none;
	s = skip_ows(value);
	if (strncasecmp(s, "bytes", 5) != 0)
		return none;
	s = skip_ows(s + 5);
	if (*s++ != '=')
		return none;
	s = skip_ows(s);
	suffix = *s == '-';
	if (suffix) {
		s = parse_u64(s + 1, &last); /* here: the suffix length */
	} else {
		s = parse_u64(s, &first);
		if (s == NULL || *s++ != '-')
			return none;
		if (*s >= '0' && *s <= '9')
			s = parse_u64(s, &last);
	}
	if (s == NULL || *skip_ows(s) != '\0')
		return none; /* malformed, or several ranges */
	if (suffix) {
		/* The last N bytes (all of them if N is larger): RFC 9110 14.1.3. */
		if (last == 0 || size == 0)
			return bad;
		first = last >= size ? 0 : size - last;
		return (struct http_range){HTTP_RANGE_PARTIAL, first, size - first};
	}
	if (last < first)
		return none; /* invalid, so ignored (14.1.1) */
	if (first >= size)
		return bad;
	if (last >= size)
		last = size - 1;
	return (struct http_range){HTTP_RANGE_PARTIAL, first, last - first + 1};
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t http_unescape(char *s)
{
	size_t in = 0, out = 0;

	while (s[in] != '\0') {
		int hi = s[in] == '%' ? hex_digit(s[in + 1]) : -1;
		int lo = hi >= 0 ? hex_digit(s[in + 2]) : -1;
		if (lo >= 0 && (hi | lo) != 0) {
			s[out++] = (char)(hi << 4 | lo);
			in += 3;
		} else {
			s[out++] = s[in++];
		}
	}
	s[out] = '\0';
	return out;
}

static size_t encode(char *out, size_t room, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (n + (plain ? 1 : 3) >= room)
			return room; /* too long */
		if (plain) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	return n;
}

int http_query_add(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
	size_t n = *len, k, v;

	if (n + 2 >= size)
		return -ENOSPC;
	if (n > 0)
		buf[n++] = '&';
	k = encode(buf + n, size - n, key);
	if (n + k + 1 < size) {
		n += k;
		buf[n++] = '=';
		v = encode(buf + n, size - n, value ? value : "");
		if (n + v < size) {
			buf[n + v] = '\0';
			*len = n + v;
			return 0;
		}
	}
	buf[*len] = '\0'; /* as it was */
	return -ENOSPC;
}

unsigned http_status_of_error(int err)
{
	switch (err) {
	case -ENOENT:
	case -EISDIR:
		return 404;
	case -EACCES:
	case -EXDEV: /* would leave the root */
		return 403;
	case -EINVAL: /* empty or forbidden name (a `..` component) */
		return 400;
	case -ENAMETOOLONG:
		return 414;
	default:
		return 500;
	}
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

const char *http_content_type(const char *name)
{
	size_t n = strlen(name);

	if (ends_with(name, n, ".efi"))
		return "application/efi";
	if (ends_with(name, n, ".iso"))
		return "application/vnd.efi-iso";
	if (ends_with(name, n, ".img"))
		return "application/vnd.efi-img";
	if (ends_with(name, n, ".ipxe") || ends_with(name, n, ".cfg") ||
	    ends_with(name, n, ".txt") || ends_with(name, n, ".conf") ||
	    strstr(name, "pxelinux.cfg/") != NULL)
		return "text/plain";
	return "application/octet-stream";
}
