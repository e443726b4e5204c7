#include "core/gcommit.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <unistd.h>

struct gcommit {
	int fd, efd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	char *buf; /* appended, not yet taken by the writer */
	size_t len, cap;
	uint64_t appended;	 /* sequence of the last record in buf */
	bool running;		 /* the writer is past its thread start-up */
	bool stopping;
	off_t durable;		 /* writer only: the file's end at the last sync */
	bool stuck;		 /* writer only: cannot cut a failed batch off */
	_Atomic uint64_t synced; /* highest sequence durable on disk */
	_Atomic uint64_t failed; /* highest sequence of a batch that failed */
	_Atomic int error;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Cuts a failed batch off the file, so that the next one follows the last
 * durable record and not a torn line (or, after a failed fdatasync, pages
 * the kernel may since have dropped). */
static int drop_batch(struct gcommit *g)
{
	if (g->durable < 0 || ftruncate(g->fd, g->durable) < 0 ||
	    lseek(g->fd, g->durable, SEEK_SET) < 0)
		return -1;
	return 0;
}

static void *writer(void *arg)
{
	struct gcommit *g = arg;
	char *mine = NULL;
	size_t mine_cap = 0;

	pthread_mutex_lock(&g->lock);
	g->running = true;
	pthread_cond_signal(&g->wake); /* gcommit_start() waits for it */
	for (;;) {
		while (g->len == 0 && !g->stopping)
			pthread_cond_wait(&g->wake, &g->lock);
		if (g->len == 0 && g->stopping)
			break;
		/* Take the whole batch: swap buffers, write outside the lock. */
		char *batch = g->buf;
		size_t n = g->len, batch_cap = g->cap;
		uint64_t upto = g->appended;
		g->buf = mine;
		g->cap = mine_cap;
		g->len = 0;
		pthread_mutex_unlock(&g->lock);
		int err = g->stuck ? atomic_load(&g->error) : 0;
		if (err == 0)
			err = write_all(g->fd, batch, n);
		if (err == 0 && fdatasync(g->fd) < 0)
			err = -errno;
		if (err == 0) {
			g->durable += (off_t)n;
			atomic_store(&g->synced, upto);
		} else {
			atomic_store(&g->error, err);
			atomic_store(&g->failed, upto);
			if (!g->stuck && drop_batch(g) < 0)
				g->stuck = true;
		}
		/* Either way the loop has news: ACKs to send or to drop. */
		uint64_t one = 1;
		(void)!write(g->efd, &one, sizeof(one));
		mine = batch;
		mine_cap = batch_cap;
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	free(mine);
	return NULL;
}

struct gcommit *gcommit_start(int fd)
{
	struct gcommit *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->fd = fd;
	g->durable = lseek(fd, 0, SEEK_CUR); /* -1: cannot cut a failed batch off */
	g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (g->efd < 0 || pthread_create(&g->thread, NULL, writer, g) != 0) {
		if (g->efd >= 0)
			close(g->efd);
		free(g);
		return NULL;
	}
	/* A thread still starting makes calls (rseq, set_robust_list, the
	 * sanitizers' own) that the seccomp filter installed once serving
	 * refuses: return only once the writer runs its own code. */
	pthread_mutex_lock(&g->lock);
	while (!g->running)
		pthread_cond_wait(&g->wake, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return g;
}

uint64_t gcommit_append(struct gcommit *g, const void *data, size_t len)
{
	uint64_t seq = 0;

	pthread_mutex_lock(&g->lock);
	if (g->len + len > g->cap) {
		size_t cap = g->cap ? g->cap : 4096;
		while (cap < g->len + len)
			cap *= 2;
		char *buf = realloc(g->buf, cap);
		if (buf == NULL)
			goto out;
		g->buf = buf;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, data, len);
	g->len += len;
	seq = ++g->appended;
	pthread_cond_signal(&g->wake);
out:
	pthread_mutex_unlock(&g->lock);
	return seq;
}

int gcommit_eventfd(const struct gcommit *g)
{
	return g->efd;
}

uint64_t gcommit_synced(struct gcommit *g)
{
	uint64_t n;

	(void)!read(g->efd, &n, sizeof(n));
	return atomic_load(&g->synced);
}

uint64_t gcommit_failed(const struct gcommit *g)
{
	return atomic_load(&g->failed);
}

int gcommit_error(const struct gcommit *g)
{
	return atomic_load(&g->error);
}

void gcommit_stop(struct gcommit *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
	close(g->fd);
	close(g->efd);
	free(g->buf);
	free(g);
}
