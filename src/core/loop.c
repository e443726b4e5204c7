#include "core/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

struct loop {
	int epfd;
	bool running;
	mono_t now;
	struct timerq timers;
	struct loop_post *posts;
};

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	timerq_init(&loop->timers);
	loop->now = clock_mono_now();
	return loop;
}

void loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	timerq_fini(&loop->timers);
	free(loop);
}

int loop_io_add(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_io_del(struct loop *loop, struct loop_io *io)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

int loop_timer_set(struct loop *loop, struct timer *t, mono_t when)
{
	return timerq_set(&loop->timers, t, when);
}

void loop_timer_cancel(struct loop *loop, struct timer *t)
{
	timerq_cancel(&loop->timers, t);
}

void loop_post_add(struct loop *loop, struct loop_post *p)
{
	p->next = loop->posts;
	loop->posts = p;
}

mono_t loop_now(const struct loop *loop)
{
	return loop->now;
}

void loop_stop(struct loop *loop)
{
	loop->running = false;
}

static int loop_wait(struct loop *loop, struct epoll_event *events)
{
	mono_t next = timerq_next(&loop->timers);
	struct timespec ts, *tsp = NULL;

	if (next != MONO_NEVER) {
		mono_t wait = next - clock_mono_now();
		if (wait < 0)
			wait = 0;
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (wait % 1000000) * 1000;
		tsp = &ts;
	}
	return epoll_pwait2(loop->epfd, events, LOOP_MAX_EVENTS, tsp, NULL);
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	loop->running = true;
	while (loop->running) {
		int n = loop_wait(loop, events);
		if (n < 0 && errno != EINTR)
			return -errno;
		loop->now = clock_mono_now();
		for (int i = 0; i < n; i++) {
			struct loop_io *io = events[i].data.ptr;
			io->fn(io, events[i].events, loop->now);
		}
		timerq_run(&loop->timers, loop->now);
		for (struct loop_post *p = loop->posts; p != NULL; p = p->next)
			p->fn(p, loop->now);
	}
	return 0;
}

int loop_io_mod(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	return 0;
}
