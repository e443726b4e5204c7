/* Fuzzes what herd swarm parses of a server (swarm/swarm_http.c): the first
 * byte picks the parser, the rest is its input: a response head, an iPXE
 * script (against an http:// or a tftp:// base), or a URL. Whatever the
 * input:
 * - a parsed head has a three-digit status;
 * - a script gives at most the room asked for, and every URL in it is
 *   well formed: an HTTP path starts with '/', a TFTP one does not, no
 *   path holds a space or a control byte, every address is non-zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/swarm_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_url(const struct swarm_url *u)
{
	size_t len = strnlen(u->path, sizeof(u->path));

	if (len == sizeof(u->path) || u->ip == 0 || u->port == 0)
		abort();
	if (u->tftp ? (len == 0 || u->path[0] == '/') : u->path[0] != '/')
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)u->path[i] <= ' ' || u->path[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct swarm_url base, urls[4];
	struct swarm_http_head h;
	char *text;
	int n;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		if (swarm_http_parse_head(text, size - 1, &h) == 0 && (h.status < 100 || h.status > 999))
			abort();
		break;
	case 1:
	case 2:
		swarm_url_parse(data[0] % 4 == 1 ? "http://10.0.0.1:8080/boot/s.ipxe"
						 : "tftp://10.0.0.1/herd/ipxe/a.ipxe",
				NULL, &base);
		n = swarm_script_urls(text, size - 1, &base, urls, 4);
		if (n > 4)
			abort();
		for (int i = 0; i < n; i++)
			check_url(&urls[i]);
		break;
	default:
		if (swarm_url_parse(text, NULL, &base) == 0)
			check_url(&base);
		break;
	}
	free(text);
	return 0;
}
