/* libFuzzer target for the syslog/netconsole codec and the log receiver.
 *
 * Each input is one datagram. It is parsed both as syslog and as netconsole,
 * every line is rendered at two line_max values and checked (length, final
 * newline, no control byte but tab), then fed to a log receiver writing into
 * a temporary directory made once, with small limits so that rotation,
 * eviction, rate limiting and the namer's sanitising all run. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include "core/log.h"
#include "syslog/logrx.h"
#include "syslog/syslog_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];
static int fuzz_dirfd = -1;
static struct logrx *fuzz_rx;
static char fuzz_name[80]; /* the namer's answer: bytes of the current input */
static mono_t fuzz_now;

static void check_line(const char *line, size_t n, size_t line_max)
{
	if (line_max < SYSLOG_LINE_MIN)
		line_max = SYSLOG_LINE_MIN;
	if (n == 0 || n > line_max + 1 || line[n - 1] != '\n')
		__builtin_trap();
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			__builtin_trap();
	}
}

static void render(const struct syslog_msg *m, size_t line_max)
{
	static char line[4097];
	struct syslog_span sp;
	size_t pos = 0;
	unsigned count = 0;

	while (syslog_line_next(m, &pos, &sp)) {
		check_line(line,
			   syslog_format_line(m, &sp, "2026-11-23T22:41:07.123Z", line_max, line),
			   line_max);
		if (++count > 70000) /* more lines than bytes: a loop that never ends */
			__builtin_trap();
	}
}

static const char *fuzz_namer(void *ctx, const struct ipaddr *ip)
{
	(void)ctx;
	return (ipaddr_to_v4(ip) & 0xff000000u) ? fuzz_name : NULL;
}

static void fuzz_cleanup(void)
{
	DIR *d;
	struct dirent *e;

	logrx_free(fuzz_rx);
	d = fdopendir(fuzz_dirfd);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (e->d_name[1] != '\0' && e->d_name[1] != '.'))
			unlinkat(fuzz_dirfd, e->d_name, 0);
	closedir(d);
	rmdir(fuzz_dir);
}

static void fuzz_init(void)
{
	struct conf_logrx cfg = {
	    .enabled = true,
	    .max_file_bytes = 4096,
	    .rotate_keep = 2,
	    .line_max = 128,
	    .rate_lines = 100,
	    .burst_lines = 50,
	    .max_senders = 2,
	};

	log_set_level(LOG_LVL_ERR); /* write warnings are expected here */
	strcpy(fuzz_dir, "/tmp/herd-fuzz-syslog-XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	fuzz_dirfd = open(fuzz_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fuzz_rx = logrx_new(&cfg, fuzz_dirfd);
	if (fuzz_dirfd < 0 || fuzz_rx == NULL)
		abort();
	logrx_set_namer(fuzz_rx, fuzz_namer, NULL, false);
	atexit(fuzz_cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_msg m;
	struct netaddr peer = {.port = 514};

	if (fuzz_rx == NULL)
		fuzz_init();
	if (syslog_parse(data, size, &m) != 0)
		__builtin_trap();
	render(&m, 64);
	render(&m, 4096);
	if (syslog_parse_netconsole(data, size, &m) != 0)
		__builtin_trap();
	render(&m, 100);

	size_t n = size < sizeof(fuzz_name) - 1 ? size : sizeof(fuzz_name) - 1;
	memcpy(fuzz_name, data, n);
	fuzz_name[n] = '\0';
	/* Four senders for two slots; half of them named by the input. */
	peer.ip = ipaddr_v4((uint32_t)(size & 3) << 24 | 0x0a);
	fuzz_now += MONO_MS(7);
	logrx_input(fuzz_rx, (size & 4) ? LOGRX_NETCONSOLE : LOGRX_SYSLOG, &peer, data, size,
		    fuzz_now);
	return 0;
}
