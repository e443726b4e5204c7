/* The control socket (control.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "ops/control.h"

#include "ops/json.h"

/* Admins and scripts, a few at a time: past this a new connection waits
 * in the listen backlog. */
#define CONTROL_CONNS 32
#define CONTROL_LINE_MAX 4096

struct control_conn {
	struct loop_io io; /* first: the loop's callback finds the connection */
	struct control *c;
	bool used;
	uint32_t events;
	char in[CONTROL_LINE_MAX];
	size_t in_len;
	char *out; /* the reply being written, its newline included */
	size_t out_len, out_off;
};

struct control {
	struct loop_io io; /* first: the listening socket */
	struct loop *loop;
	struct control_ops ops;
	struct control_conn conns[CONTROL_CONNS];
	unsigned nconns;
	bool accept_paused;
	dev_t dev; /* the socket file made: removed at close if still ours */
	ino_t ino;
	char path[108];
};

static void conn_close(struct control_conn *cc)
{
	struct control *c = cc->c;

	loop_io_del(c->loop, &cc->io);
	close(cc->io.fd);
	cc->io.fd = -1;
	free(cc->out);
	cc->out = NULL;
	cc->used = false;
	c->nconns--;
	if (c->accept_paused) {
		c->accept_paused = false;
		loop_io_add(c->loop, &c->io, EPOLLIN);
	}
}

static void conn_watch(struct control_conn *cc, uint32_t events)
{
	if (cc->events == events)
		return;
	loop_io_del(cc->c->loop, &cc->io);
	if (loop_io_add(cc->c->loop, &cc->io, events) == 0)
		cc->events = events;
}

/* Writes what it can; true when the whole reply is out. */
static bool conn_flush(struct control_conn *cc)
{
	while (cc->out && cc->out_off < cc->out_len) {
		ssize_t n = write(cc->io.fd, cc->out + cc->out_off, cc->out_len - cc->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0)
			return false; /* the peer went: its EPOLLHUP closes it */
		cc->out_off += (size_t)n;
	}
	free(cc->out);
	cc->out = NULL;
	return true;
}

static void conn_reply(struct control_conn *cc, char *reply, size_t len)
{
	char *r = realloc(reply, len + 1);

	if (r == NULL) {
		free(reply);
		return;
	}
	r[len] = '\n';
	cc->out = r;
	cc->out_len = len + 1;
	cc->out_off = 0;
}

/* Answers each whole line buffered, one at a time: the next waits until
 * the reply before it is written. */
static void conn_serve(struct control_conn *cc, mono_t now)
{
	char *nl;

	while (cc->out == NULL && (nl = memchr(cc->in, '\n', cc->in_len)) != NULL) {
		char *reply = NULL;
		size_t len = 0, used = (size_t)(nl - cc->in) + 1;
		*nl = '\0';
		cc->c->ops.request(cc->c->ops.ctx, cc->in, &reply, &len, now);
		memmove(cc->in, cc->in + used, cc->in_len - used);
		cc->in_len -= used;
		if (reply)
			conn_reply(cc, reply, len);
		conn_flush(cc);
	}
	conn_watch(cc, cc->out ? EPOLLOUT : EPOLLIN);
}

static void on_conn(struct loop_io *io, uint32_t events, mono_t now)
{
	struct control_conn *cc = (struct control_conn *)io;
	ssize_t n;

	if (!cc->used)
		return;
	if ((events & EPOLLOUT) && !conn_flush(cc) && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	if (events & EPOLLIN) {
		n = read(io->fd, cc->in + cc->in_len, sizeof(cc->in) - cc->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(cc);
			return;
		}
		if (n > 0)
			cc->in_len += (size_t)n;
		if (cc->in_len == sizeof(cc->in) && memchr(cc->in, '\n', cc->in_len) == NULL) {
			conn_close(cc); /* no request is this long */
			return;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		conn_close(cc);
		return;
	}
	conn_serve(cc, now);
}

static void on_accept(struct loop_io *io, uint32_t events, mono_t now)
{
	struct control *c = (struct control *)io;
	int fd;

	(void)events, (void)now;
	while (c->nconns < CONTROL_CONNS &&
	       (fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct control_conn *cc = c->conns;
		while (cc->used)
			cc++;
		memset(cc, 0, offsetof(struct control_conn, in));
		cc->c = c;
		cc->io.fd = fd;
		cc->io.fn = on_conn;
		cc->used = true;
		cc->events = EPOLLIN;
		if (loop_io_add(c->loop, &cc->io, EPOLLIN) < 0) {
			close(fd);
			cc->used = false;
			continue;
		}
		c->nconns++;
	}
	if (c->nconns == CONTROL_CONNS && !c->accept_paused) {
		c->accept_paused = true;
		loop_io_del(c->loop, &c->io);
	}
}

bool control_in_use(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;
	bool used;

	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	strcpy(sa.sun_path, path);
	used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return used;
}

static int bind_socket(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	char dir[sizeof(sa.sun_path)];
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* Made here: herd's user may remove its socket when it stops. */
		if (mkdir(dir, 0755) == 0 && geteuid() == 0)
			(void)!chown(dir, uid, -1);
		else if (errno != EEXIST)
			return -errno;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (control_in_use(path))
			return -EADDRINUSE;
		unlink(path); /* left by a herd that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Nobody but the owner and the group, from the first moment. */
	mode_t old = umask(0117);
	int err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err == 0 && geteuid() == 0)
		err = chown(path, uid, gid);
	if (err == 0)
		err = chmod(path, 0660);
	if (err == 0)
		err = listen(fd, 16);
	if (err < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int control_open(struct control **out, const char *path, uid_t uid, gid_t gid)
{
	struct control *c = calloc(1, sizeof(*c));
	int fd;

	if (c == NULL)
		return -ENOMEM;
	fd = bind_socket(path, uid, gid);
	/* Another herd on this host answers there: this one runs without a
	 * control socket rather than take it over. */
	if (fd == -EADDRINUSE) {
		log_warn("control socket %s: another herd listens there; this one has none "
			 "(set [status] socket)",
			 path);
		free(c);
		*out = NULL;
		return 0;
	}
	if (fd < 0) {
		log_err("control socket %s: %s", path, strerror(-fd));
		free(c);
		return fd;
	}
	struct stat st;
	if (lstat(path, &st) == 0)
		c->dev = st.st_dev, c->ino = st.st_ino;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->io.fd = fd;
	c->io.fn = on_accept;
	for (unsigned i = 0; i < CONTROL_CONNS; i++)
		c->conns[i].io.fd = -1;
	*out = c;
	return 0;
}

int control_start(struct control *c, struct loop *loop, const struct control_ops *ops)
{
	c->loop = loop;
	c->ops = *ops;
	return loop_io_add(loop, &c->io, EPOLLIN);
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < CONTROL_CONNS; i++)
		if (c->conns[i].used)
			conn_close(&c->conns[i]);
	if (c->loop && !c->accept_paused)
		loop_io_del(c->loop, &c->io);
	close(c->io.fd);
	/* Still the file this herd made (not a newer herd's): remove it. */
	struct stat st;
	if (c->ino && fstatat(AT_FDCWD, c->path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == c->dev && st.st_ino == c->ino)
		unlinkat(AT_FDCWD, c->path, 0); /* the call the seccomp filter allows */
	free(c);
}

int control_json_str(const char *json, const char *key, char *out, size_t size)
{
	struct json *j = json_parse(json);
	const struct json *v = j ? json_get(j, key) : NULL;
	int r = -ENOENT;

	if (v && v->type == JSON_STR)
		r = snprintf(out, size, "%s", v->str) < (int)size ? 0 : -ENOSPC;
	json_free(j);
	return r;
}

/* The last lines of DIR/NAME.log: its last 16 KiB read (lseek, read: what
 * the seccomp filter allows beneath the log directory's handle). */
unsigned control_log_tail(int dirfd, const char *name, char **out, unsigned max)
{
	char path[80], buf[16384];
	ssize_t n;
	off_t end;
	int fd;

	if (dirfd < 0 || snprintf(path, sizeof(path), "%s.log", name) >= (int)sizeof(path) ||
	    strchr(name, '/') || name[0] == '.')
		return 0;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)sizeof(buf))
		lseek(fd, end - (off_t)sizeof(buf), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return 0;
	/* Forward, remembering the last `max` line starts; a first line cut
	 * by the window is skipped. */
	size_t e = (size_t)n, starts[64], p = 0, count = 0;
	if (max > 64)
		max = 64;
	if (end > (off_t)sizeof(buf)) {
		char *q = memchr(buf, '\n', e);
		p = q ? (size_t)(q - buf) + 1 : e;
	}
	while (p < e) {
		char *q = memchr(buf + p, '\n', e - p);
		starts[count++ % max] = p;
		p = q ? (size_t)(q - buf) + 1 : e;
	}
	unsigned k = 0;
	for (size_t i = count > max ? count - max : 0; i < count; i++) {
		size_t b = starts[i % max];
		char *q = memchr(buf + b, '\n', e - b);
		out[k] = strndup(buf + b, q ? (size_t)(q - (buf + b)) : e - b);
		if (out[k] == NULL)
			break;
		k++;
	}
	return k;
}
