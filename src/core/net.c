#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool ipaddr_is_any(const struct ipaddr *a)
{
	static const struct ipaddr any6;
	struct ipaddr any4 = ipaddr_v4(htonl(INADDR_ANY));

	return ipaddr_eq(a, &any6) || ipaddr_eq(a, &any4);
}

uint32_t ipaddr_hash(const struct ipaddr *a, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;

	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h;
}

int ipaddr_parse(const char *s, struct ipaddr *out)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) == 1) {
		*out = ipaddr_v4(in.s_addr);
		return 0;
	}
	return inet_pton(AF_INET6, s, out->b) == 1 ? 0 : -EINVAL;
}

const char *ipaddr_str(const struct ipaddr *a, char buf[IPADDR_STRLEN])
{
	if (ipaddr_is_v4(a))
		return ip4_str(ipaddr_to_v4(a), buf);
	inet_ntop(AF_INET6, a->b, buf, IPADDR_STRLEN);
	return buf;
}

const char *ip4_str(uint32_t ip, char buf[IPADDR_STRLEN])
{
	struct in_addr in = {.s_addr = ip};

	inet_ntop(AF_INET, &in, buf, IPADDR_STRLEN);
	return buf;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int netaddr_parse(const char *s, uint16_t default_port, struct netaddr *out)
{
	char host[IPADDR_STRLEN];
	const char *port = NULL, *end;
	bool bracketed = s[0] == '[';
	size_t hlen;

	out->port = default_port;
	if (bracketed) { /* [V6] or [V6]:PORT */
		end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -EINVAL;
		hlen = (size_t)(end - s - 1);
		s++;
		port = end[1] == ':' ? end + 2 : NULL;
	} else if (strchr(s, ':') != strrchr(s, ':')) { /* a bare IPv6 address */
		hlen = strlen(s);
	} else {
		end = strchr(s, ':');
		hlen = end ? (size_t)(end - s) : strlen(s);
		port = end ? end + 1 : NULL;
	}
	if (port && parse_port(port, &out->port) < 0)
		return -EINVAL;
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (bracketed) /* brackets are for IPv6 only (RFC 3986) */
		return inet_pton(AF_INET6, host, out->ip.b) == 1 ? 0 : -EINVAL;
	if (hlen == 0 || strcmp(host, "*") == 0) {
		out->ip = ipaddr_v4(htonl(INADDR_ANY));
		return 0;
	}
	return ipaddr_parse(host, &out->ip);
}

const char *netaddr_str(const struct netaddr *a, char buf[NETADDR_STRLEN])
{
	char ip[IPADDR_STRLEN];

	if (ipaddr_is_v4(&a->ip))
		snprintf(buf, NETADDR_STRLEN, "%s:%u", ipaddr_str(&a->ip, ip), a->port);
	else
		snprintf(buf, NETADDR_STRLEN, "[%s]:%u", ipaddr_str(&a->ip, ip), a->port);
	return buf;
}

static void to_sockaddr(const struct netaddr *a, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = ipaddr_to_v4(&a->ip);
	sin->sin_port = htons(a->port);
}

/* The IP_PKTINFO source for a reply; 0 lets the kernel choose. */
static uint32_t src_v4(const struct ipaddr *src)
{
	return src ? ipaddr_to_v4(src) : 0;
}

int udp_open(const struct netaddr *bind_addr, int rcvbuf)
{
	struct sockaddr_in sin;
	int one = 1, err;
	int fd;

	if (!ipaddr_is_v4(&bind_addr->ip))
		return -EAFNOSUPPORT;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		goto fail;
	if (rcvbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	to_sockaddr(bind_addr, &sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int udp_batch_init(struct udp_batch *b, size_t bufsize)
{
	memset(b, 0, sizeof(*b));
	b->bufsize = bufsize;
	b->bufs = malloc(bufsize * UDP_BATCH);
	return b->bufs ? 0 : -ENOMEM;
}

void udp_batch_fini(struct udp_batch *b)
{
	free(b->bufs);
	b->bufs = NULL;
}

#define UDP_CMSG_SPACE                                                                             \
	(CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(uint32_t)) +                    \
	 CMSG_SPACE(sizeof(struct timespec)))

/* `real_to_mono`: the monotonic clock minus the wall clock, in microseconds
 * (the kernel stamps arrivals with the wall clock). */
static void read_cmsgs(struct msghdr *mh, struct udp_pkt *p, struct udp_batch *b,
		       mono_t real_to_mono)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			p->local_ip = ipaddr_v4(pi.ipi_addr.s_addr);
			p->iface_ip = ipaddr_v4(pi.ipi_spec_dst.s_addr);
			p->ifindex = pi.ipi_ifindex;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t total;
			memcpy(&total, CMSG_DATA(c), sizeof(total));
			b->drops += (uint32_t)(total - b->kernel_drops);
			b->kernel_drops = total;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			p->arrived = (mono_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + real_to_mono;
		}
	}
}

int udp_recv_batch(int fd, struct udp_batch *b)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_in peers[UDP_BATCH];
	union {
		char buf[UDP_CMSG_SPACE];
		struct cmsghdr align;
	} ctrl[UDP_BATCH];
	int n;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = b->bufs + (size_t)i * b->bufsize;
		iov[i].iov_len = b->bufsize;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &peers[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
		msgs[i].msg_hdr.msg_control = ctrl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i].buf);
	}
	n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	b->read_at = clock_mono_now();
	struct timespec real;
	clock_gettime(CLOCK_REALTIME, &real);
	mono_t real_to_mono = b->read_at - ((mono_t)real.tv_sec * 1000000 + real.tv_nsec / 1000);
	for (int i = 0; i < n; i++) {
		struct udp_pkt *p = &b->pkts[i];
		memset(p, 0, sizeof(*p));
		p->peer.ip = ipaddr_v4(peers[i].sin_addr.s_addr);
		p->peer.port = ntohs(peers[i].sin_port);
		p->data = iov[i].iov_base;
		p->len = msgs[i].msg_len;
		p->truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		read_cmsgs(&msgs[i].msg_hdr, p, b, real_to_mono);
		/* Never later than now, nor absurdly early (a clock step). */
		if (p->arrived > b->read_at || p->arrived < b->read_at - MONO_SEC(1))
			p->arrived = b->read_at;
	}
	return n;
}

int udp_sendv(int fd, const struct netaddr *peer, const struct ipaddr *src,
	      const struct iovec *iov, int iovcnt)
{
	uint32_t src_ip = src_v4(src);
	struct sockaddr_in sin;
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctrl;
	struct msghdr mh = {
		.msg_name = &sin,
		.msg_namelen = sizeof(sin),
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
	};

	to_sockaddr(peer, &sin);
	if (src_ip != 0) {
		struct in_pktinfo pi = {.ipi_spec_dst.s_addr = src_ip};
		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = sizeof(ctrl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

void udp_sendq_init(struct udp_sendq *q, int fd)
{
	q->fd = fd;
	q->n = 0;
	q->sent = q->errors = 0;
	q->last_error = 0;
}

int udp_sendq_add(struct udp_sendq *q, const struct netaddr *peer, const struct ipaddr *src,
		  const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t payload_len)
{
	uint32_t src_ip = src_v4(src);
	struct msghdr *mh;
	unsigned i;

	if (hdr_len > UDP_SENDQ_HDR)
		return -EMSGSIZE;
	if (q->n == UDP_SENDQ)
		udp_sendq_flush(q);
	i = q->n++;
	memcpy(q->hdrs[i], hdr, hdr_len);
	q->iov[i][0] = (struct iovec){q->hdrs[i], hdr_len};
	q->iov[i][1] = (struct iovec){(void *)payload, payload_len};
	to_sockaddr(peer, &q->addrs[i]);
	mh = &q->msgs[i].msg_hdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &q->addrs[i];
	mh->msg_namelen = sizeof(q->addrs[i]);
	mh->msg_iov = q->iov[i];
	mh->msg_iovlen = payload_len ? 2 : 1;
	if (src_ip != 0) {
		struct in_pktinfo pi = {.ipi_spec_dst.s_addr = src_ip};
		mh->msg_control = q->ctrl[i].buf;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		struct cmsghdr *c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	return 0;
}

unsigned udp_sendq_flush(struct udp_sendq *q)
{
	unsigned done = 0, failed = 0;

	while (done < q->n) {
		int r = sendmmsg(q->fd, q->msgs + done, q->n - done, MSG_DONTWAIT);
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* This datagram cannot go (a full buffer, an unreachable peer):
		 * count it and go on with the rest; retransmission covers it. */
		q->last_error = r < 0 ? -errno : -EIO;
		failed++;
		done++;
	}
	q->sent += q->n - failed;
	q->errors += failed;
	q->n = 0;
	return failed;
}

/* /sys/class/net/IF/speed: Mbit/s, or -1 (or unreadable) when the driver
 * does not know (Wi-Fi, some virtual links, a link that is down). */
static uint64_t iface_speed_bps(const char *name)
{
	char path[64 + IF_NAMESIZE];
	long mbps = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/speed", name);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &mbps) != 1 || mbps <= 0)
		mbps = 0;
	fclose(f);
	return (uint64_t)mbps * 1000000;
}

uint64_t net_link_speed_bps(const struct ipaddr *ips, unsigned n)
{
	struct ifaddrs *list, *a;
	char seen[16][IF_NAMESIZE];
	unsigned nseen = 0;
	uint64_t total = 0;

	if (getifaddrs(&list) < 0)
		return 0;
	for (a = list; a; a = a->ifa_next) {
		bool wanted = false, dup = false;
		if (a->ifa_addr == NULL || a->ifa_addr->sa_family != AF_INET ||
		    (a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP))
			continue;
		struct ipaddr ip = ipaddr_v4(
			((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr.s_addr);
		for (unsigned i = 0; i < n; i++)
			wanted = wanted || ipaddr_is_any(&ips[i]) || ipaddr_eq(&ips[i], &ip);
		for (unsigned i = 0; i < nseen; i++)
			dup = dup || strcmp(seen[i], a->ifa_name) == 0;
		if (!wanted || dup || nseen == 16)
			continue;
		snprintf(seen[nseen++], IF_NAMESIZE, "%s", a->ifa_name);
		total += iface_speed_bps(a->ifa_name);
	}
	freeifaddrs(list);
	return total;
}
