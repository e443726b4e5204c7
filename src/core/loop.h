/* The event loop: epoll for sockets, a timer heap, and post-iteration hooks.
 *
 * One iteration: wait (epoll_pwait2, microsecond timeout up to the earliest
 * timer) -> read the monotonic clock once -> dispatch ready descriptors ->
 * fire due timers -> run post hooks (flush batched sends, free what was
 * retired during the iteration). Every callback of an iteration sees the same
 * `now`. */
#ifndef HERD_CORE_LOOP_H
#define HERD_CORE_LOOP_H

#include <stdint.h>

#include "core/clock.h"
#include "core/timerq.h"

struct loop;
struct loop_io;

typedef void (*loop_io_fn)(struct loop_io *io, uint32_t events, mono_t now);

struct loop_io {
	int fd;
	loop_io_fn fn;
};

struct loop_post;
typedef void (*loop_post_fn)(struct loop_post *p, mono_t now);

struct loop_post {
	loop_post_fn fn;
	struct loop_post *next;
};

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Watches io->fd for `events` (EPOLLIN, ...). Returns 0 or -errno. */
int loop_io_add(struct loop *loop, struct loop_io *io, uint32_t events);
/* Watches io->fd for other events. */
int loop_io_mod(struct loop *loop, struct loop_io *io, uint32_t events);
void loop_io_del(struct loop *loop, struct loop_io *io);

int loop_timer_set(struct loop *loop, struct timer *t, mono_t when);
void loop_timer_cancel(struct loop *loop, struct timer *t);

/* Registers a hook run at the end of every iteration. */
void loop_post_add(struct loop *loop, struct loop_post *p);

mono_t loop_now(const struct loop *loop);

/* Runs until loop_stop(). Returns 0, or -errno if epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
