/* What herd decides about an HTTP request, apart from the library that
 * parses it (libmicrohttpd, in http_io): the method, the Range header
 * (RFC 9110 14), and the status a files room error becomes. No sockets,
 * no clock. */
#ifndef HERD_HTTP_REQ_H
#define HERD_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_OTHER, /* 405, with Allow: GET, HEAD */
};

enum http_method http_method_of(const char *method);

enum http_range_kind {
	HTTP_RANGE_NONE,	  /* no Range, or one herd ignores: 200, the whole file */
	HTTP_RANGE_PARTIAL,	  /* 206: bytes [first, first + len) */
	HTTP_RANGE_UNSATISFIABLE, /* 416, with Content-Range: bytes * / size */
};

struct http_range {
	enum http_range_kind kind;
	uint64_t first;
	uint64_t len;
};

/* The Range header `value` (NULL: none) against a file of `size` bytes.
 * One range is served: `bytes=A-B`, `bytes=A-` and `bytes=-N`. Several
 * ranges, another unit or a malformed value are ignored (the whole file,
 * as RFC 9110 14.2 allows): a client always gets its bytes. */
struct http_range http_range_parse(const char *value, uint64_t size);

/* Percent-decodes the request target in place (RFC 3986 2.1) and returns
 * its new length. `%00` and a `%` not followed by two hex digits stay as
 * they are: a name never ends early at a decoded NUL (`vmlinuz%00.txt` is
 * not `vmlinuz`), and `..` written as `%2e%2e` is `..`, which the files
 * room refuses. */
size_t http_unescape(char *s);

/* The Content-Type for a file name: application/efi (and the UEFI
 * specification's ISO and disk image types) for what UEFI HTTP boot loads,
 * text/plain for scripts and configurations herd generates or a site
 * writes (iPXE scripts, pxelinux.cfg/, grub.cfg, .txt), else
 * application/octet-stream. */
const char *http_content_type(const char *name);

/* Appends `key=value` to the query being rebuilt in buf[0..*len) ('&'
 * between pairs), percent-encoding every byte but RFC 3986's unreserved
 * ones: MHD hands the query's arguments decoded, and a generated file that
 * reads them (the iPXE report, boot/policy.h) gets them encoded again, so
 * a '&' inside a value stays inside it. 0, or -ENOSPC (buf unchanged). */
int http_query_add(char *buf, size_t size, size_t *len, const char *key, const char *value);

/* The status for a files_open() error (-ENOENT 404, -EACCES 403, ...). */
unsigned http_status_of_error(int err);

#endif
