/* herd's own diagnostics, to stderr (the service manager keeps them), one
 * line per event: "herd: LEVEL: message". When stderr is the journal
 * (systemd sets $JOURNAL_STREAM to its device:inode), each line starts with
 * its syslog priority instead, "<3>message" (sd-daemon(3)), so journald
 * keeps the level (journalctl -p warning). A newline inside a message
 * becomes a space: one event, one line.
 *
 * Per-packet warnings go through a struct ratelimit so a flood of bad packets
 * cannot flood the log: at most `burst` lines per interval, then one line
 * saying how many were suppressed. */
#ifndef HERD_CORE_LOG_H
#define HERD_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warning", "info", "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Whether stderr is the journal: decided at the first line logged, from
 * $JOURNAL_STREAM and stderr's device and inode; tests set it. */
void log_set_journal(bool on);
/* True if $JOURNAL_STREAM names fd's device and inode ("DEV:INO"). */
bool log_fd_is_journal(int fd);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LVL_DEBUG)                                              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

struct ratelimit {
	mono_t window_start;
	mono_t interval;
	uint32_t burst;
	uint32_t used;
	uint32_t suppressed;
};

#define RATELIMIT_INIT(interval_us, burst_n)                                                       \
	{                                                                                          \
		0, (interval_us), (burst_n), 0, 0                                                  \
	}

/* Logs at `level` unless the limit is spent; `now` is the loop's time. */
void log_limited(struct ratelimit *rl, mono_t now, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
