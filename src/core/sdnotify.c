#include "core/sdnotify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sdnotify {
	int fd;
};

int sdnotify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(name);

	if (n == 0)
		return -EINVAL;
	if (name[0] != '/' && name[0] != '@')
		return -EAFNOSUPPORT; /* vsock:..., which herd does not speak */
	if (n < 2)
		return -EINVAL;
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@') {
		/* abstract: a leading NUL, and the length says where it ends */
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

int sdnotify_open(struct sdnotify **out)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	int fd, err;

	*out = NULL;
	if (name == NULL || name[0] == '\0')
		return 0;
	err = sdnotify_addr(name, &sa, &salen);
	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = malloc(sizeof(**out));
	if (*out == NULL) {
		close(fd);
		return -ENOMEM;
	}
	(*out)->fd = fd;
	return 0;
}

void sdnotify_close(struct sdnotify *n)
{
	if (n == NULL)
		return;
	close(n->fd);
	free(n);
}

int sdnotify_format(char *buf, size_t size, enum sdnotify_state st, mono_t now, const char *status)
{
	size_t len = 0;
	int r = 0;

	switch (st) {
	case SDNOTIFY_READY:
		r = snprintf(buf, size, "READY=1\n");
		break;
	case SDNOTIFY_RELOADING:
		r = snprintf(buf, size, "RELOADING=1\nMONOTONIC_USEC=%llu\n",
			     (unsigned long long)now);
		break;
	case SDNOTIFY_STOPPING:
		r = snprintf(buf, size, "STOPPING=1\n");
		break;
	case SDNOTIFY_STATUS:
		r = snprintf(buf, size, "%s", "");
		break;
	}
	if (r < 0 || (size_t)r >= size)
		return -ENOSPC;
	len = (size_t)r;
	if (status) {
		/* one line, cut to what room there is */
		size_t line = strcspn(status, "\n"), room = size - len;

		if (room < sizeof("STATUS=\n"))
			return -ENOSPC;
		if (line > room - sizeof("STATUS=\n"))
			line = room - sizeof("STATUS=\n");
		r = snprintf(buf + len, room, "STATUS=%.*s\n", (int)line, status);
		len += (size_t)r;
	}
	/* No trailing newline: the manager splits on them, one is enough. */
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return (int)len;
}

void sdnotify_send(struct sdnotify *n, enum sdnotify_state st, mono_t now, const char *status)
{
	char msg[512];
	int len;

	if (n == NULL)
		return;
	len = sdnotify_format(msg, sizeof(msg), st, now, status);
	if (len > 0)
		(void)!sendto(n->fd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
}
