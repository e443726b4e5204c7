#include "core/neigh.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct neigh {
	struct mnl_socket *nl;
	uint32_t seq;
};

struct neigh *neigh_open(int *err)
{
	struct neigh *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	n->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (n->nl == NULL || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		*err = -errno;
		if (n->nl)
			mnl_socket_close(n->nl);
		free(n);
		return NULL;
	}
	n->seq = (uint32_t)time(NULL);
	return n;
}

void neigh_close(struct neigh *n)
{
	if (n == NULL)
		return;
	mnl_socket_close(n->nl);
	free(n);
}

int neigh_fd(const struct neigh *n)
{
	return mnl_socket_get_fd(n->nl);
}

static int neigh_send(struct neigh *n, uint16_t type, uint16_t flags, int ifindex, uint32_t ip,
		      const uint8_t *mac)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = type;
	/* NLM_F_ACK: errors (and only errors matter) come back to neigh_drain. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++n->seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	nd->ndm_type = RTN_UNICAST;
	mnl_attr_put(nlh, NDA_DST, 4, &ip);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

int neigh_pin(struct neigh *n, int ifindex, uint32_t ip, const uint8_t mac[6])
{
	return neigh_send(n, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, ip, mac);
}

int neigh_unpin(struct neigh *n, int ifindex, uint32_t ip)
{
	return neigh_send(n, RTM_DELNEIGH, 0, ifindex, ip, NULL);
}

unsigned neigh_drain(struct neigh *n, int *last_error)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned errors = 0;
	ssize_t len;

	while ((len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf))) > 0) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int left = (int)len;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (e->error != 0) {
				errors++;
				*last_error = e->error;
			}
		}
	}
	return errors;
}
