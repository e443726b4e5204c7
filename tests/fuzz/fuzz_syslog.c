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

static char fuzz_dir[512];
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

/* Removes the files the receiver wrote (its own are closed by then). */
static void empty_dir(void)
{
	int fd = dup(fuzz_dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d); /* the dup shares its offset: at the end since last time */
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (e->d_name[1] != '\0' && e->d_name[1] != '.'))
			unlinkat(fuzz_dirfd, e->d_name, 0);
	closedir(d);
}

static void fuzz_cleanup(void)
{
	logrx_free(fuzz_rx);
	empty_dir();
	close(fuzz_dirfd);
	rmdir(fuzz_dir);
}

static struct logrx *fuzz_logrx(void)
{
	static const struct conf_logrx cfg = {
	    .enabled = true,
	    .max_file_bytes = 4096,
	    .rotate_keep = 2,
	    .line_max = 128,
	    .rate_lines = 100,
	    .burst_lines = 50,
	    .max_senders = 2,
	};
	struct logrx *rx = logrx_new(&cfg, fuzz_dirfd);

	if (rx == NULL)
		abort();
	logrx_set_namer(rx, fuzz_namer, NULL, false);
	return rx;
}

static void fuzz_init(void)
{
	log_set_level(LOG_LVL_ERR); /* write warnings are expected here */
	/* In $TMPDIR if set: libFuzzer ends with _Exit(), so fuzz_cleanup()
	 * does not run after a fuzzing session; run.sh removes it instead. */
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/herd-fuzz-syslog-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	fuzz_dirfd = open(fuzz_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fuzz_dirfd < 0)
		abort();
	fuzz_rx = fuzz_logrx();
	atexit(fuzz_cleanup);
}

/* Each input named by its bytes leaves a file: start afresh now and then,
 * or millions of runs leave millions of files (and slow down as the
 * directory grows). */
static void fuzz_renew(void)
{
	static unsigned inputs;

	if (++inputs % 4096 != 0)
		return;
	logrx_free(fuzz_rx);
	empty_dir();
	fuzz_rx = fuzz_logrx();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_msg m;
	struct netaddr peer = {.port = 514};

	if (fuzz_rx == NULL)
		fuzz_init();
	fuzz_renew();
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
