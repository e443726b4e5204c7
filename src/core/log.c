#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum log_level current_level = LOG_LVL_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int level_prio[] = {3, 4, 6, 7};

enum { JOURNAL_UNKNOWN = -1 };
static int to_journal = JOURNAL_UNKNOWN;

void log_set_journal(bool on)
{
	to_journal = on;
}

bool log_fd_is_journal(int fd)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;
	int r;

	if (level > current_level)
		return;
	if (to_journal == JOURNAL_UNKNOWN)
		to_journal = log_fd_is_journal(STDERR_FILENO);
	if (to_journal)
		r = snprintf(line, sizeof(line), "<%d>", level_prio[level]);
	else
		r = snprintf(line, sizeof(line), "herd: %s: ", level_names[level]);
	n = (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r < 0)
		return;
	n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	for (char *p = line; p < line + n; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	line[n++] = '\n';
	/* one write: a line is never split between two writers */
	fwrite(line, 1, n, stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_limited(struct ratelimit *rl, mono_t now, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > current_level)
		return;
	if (now - rl->window_start >= rl->interval) {
		if (rl->suppressed)
			log_msg(level, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start = now;
		rl->used = 0;
		rl->suppressed = 0;
	}
	if (rl->used >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->used++;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
