/* DHCPv4/BOOTP wire codec (RFC 951, 2131, 2132, 3396, 4578): parses a
 * datagram into a typed message with its options gathered (option overload
 * and split options resolved), and builds replies. No I/O. */
#ifndef HERD_DHCP_WIRE_H
#define HERD_DHCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire.h"

#define DHCP_FIXED_LEN 236 /* BOOTP header up to the options */
#define DHCP_COOKIE 0x63825363u
#define DHCP_MIN_LEN 300  /* BOOTP's minimum; replies are padded to it */
#define DHCP_MAX_LEN 1472 /* the most herd builds, and the most options it gathers */
#define DHCP_BOOTREQUEST 1
#define DHCP_BOOTREPLY 2
#define DHCP_FLAG_BROADCAST 0x8000
#define DHCP_MAX_HOPS 16

enum dhcp_type {
	DHCP_BOOTP = 0, /* no option 53: a BOOTP client */
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

enum dhcp_opt {
	DHO_PAD = 0,
	DHO_SUBNET_MASK = 1,
	DHO_ROUTER = 3,
	DHO_DNS = 6,
	DHO_LOG_SERVER = 7,
	DHO_HOSTNAME = 12,
	DHO_DOMAIN = 15,
	DHO_BROADCAST = 28,
	DHO_VENDOR = 43,
	DHO_REQUESTED_IP = 50,
	DHO_LEASE_TIME = 51,
	DHO_OVERLOAD = 52,
	DHO_MSG_TYPE = 53,
	DHO_SERVER_ID = 54,
	DHO_PARAM_LIST = 55,
	DHO_MESSAGE = 56,
	DHO_MAX_SIZE = 57,
	DHO_T1 = 58,
	DHO_T2 = 59,
	DHO_VENDOR_CLASS = 60,
	DHO_CLIENT_ID = 61,
	DHO_TFTP_SERVER = 66,
	DHO_BOOTFILE = 67,
	DHO_USER_CLASS = 77,
	DHO_RELAY_AGENT = 82,
	DHO_CLIENT_ARCH = 93,
	DHO_CLIENT_NDI = 94,
	DHO_UUID = 97,
	DHO_IPXE_ENCAP = 175,
	DHO_END = 255,
};

/* One option as gathered from the message: split instances (RFC 3396) are
 * joined in order, from the options field, then `file`, then `sname`. */
struct dhcp_optval {
	uint16_t off; /* into dhcp_msg.optbuf */
	uint16_t len;
	bool present;
};

struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr; /* network byte order */
	uint8_t chaddr[16];
	char sname[65];	 /* NUL-terminated copy ("" when overloaded) */
	char file[129];	 /* NUL-terminated copy ("" when overloaded) */
	bool has_cookie; /* false: plain BOOTP without options */
	enum dhcp_type type;
	struct dhcp_optval opts[256];
	uint16_t optlen;
	uint8_t optbuf[DHCP_MAX_LEN];
};

/* Returns 0, or -EBADMSG (too short, a wrong magic cookie before a vendor
 * area that is not empty, an option running past its field, options
 * longer than DHCP_MAX_LEN in all, a bad option 53). */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m);

/* Typed getters: NULL/false unless present with a valid length. */
const uint8_t *dhcp_opt(const struct dhcp_msg *m, uint8_t code, size_t *len);
bool dhcp_opt_u8(const struct dhcp_msg *m, uint8_t code, uint8_t *v);
bool dhcp_opt_u16(const struct dhcp_msg *m, uint8_t code, uint16_t *v);
bool dhcp_opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *v);
bool dhcp_opt_ip(const struct dhcp_msg *m, uint8_t code, uint32_t *ip_be);
/* True if option `code` is a string starting with `prefix`. */
bool dhcp_opt_prefix(const struct dhcp_msg *m, uint8_t code, const char *prefix);

/* Who is asking, by what the client says of itself: iPXE (user class
 * "iPXE", raw or RFC 3004, or its option 175), UEFI HTTP boot (vendor
 * class "HTTPClient..."), PXE or HTTP boot firmware ("PXEClient..." or
 * "HTTPClient..."). */
bool dhcp_is_ipxe(const struct dhcp_msg *m);
bool dhcp_is_http_boot(const struct dhcp_msg *m);
bool dhcp_is_pxe(const struct dhcp_msg *m);
/* Relay agent information (option 82, RFC 3046): sub-option `sub`
 * (DHCP_RELAY_CIRCUIT_ID, DHCP_RELAY_REMOTE_ID), the first of that code.
 * NULL if absent, or if the sub-options before it overrun the option. */
#define DHCP_RELAY_CIRCUIT_ID 1
#define DHCP_RELAY_REMOTE_ID 2
const uint8_t *dhcp_relay_sub(const struct dhcp_msg *m, uint8_t sub, size_t *len);
/* True if the parameter request list (55) names `code`. */
bool dhcp_wants(const struct dhcp_msg *m, uint8_t code);

/* Building a reply: the fixed header first, then options, then the end. */
struct dhcp_builder {
	struct wire w;
	size_t limit; /* the client's maximum message size */
};

void dhcp_build_start(struct dhcp_builder *b, uint8_t *buf, size_t cap, size_t limit,
		      const struct dhcp_msg *req, enum dhcp_type type, uint32_t yiaddr,
		      uint32_t siaddr, const char *sname, const char *file);
void dhcp_build_opt(struct dhcp_builder *b, uint8_t code, const void *data, size_t len);
void dhcp_build_u8(struct dhcp_builder *b, uint8_t code, uint8_t v);
void dhcp_build_u16(struct dhcp_builder *b, uint8_t code, uint16_t v);
void dhcp_build_u32(struct dhcp_builder *b, uint8_t code, uint32_t v);
void dhcp_build_ip(struct dhcp_builder *b, uint8_t code, uint32_t ip_be);
void dhcp_build_str(struct dhcp_builder *b, uint8_t code, const char *s);
/* Ends the options, pads to DHCP_MIN_LEN. Returns the length, 0 if it did
 * not fit. */
size_t dhcp_build_end(struct dhcp_builder *b);

/* Builds a client request (load generator, tests). */
size_t dhcp_build_request(uint8_t *buf, size_t cap, enum dhcp_type type, uint32_t xid,
			  const uint8_t mac[6], uint32_t ciaddr, uint32_t requested,
			  uint32_t server_id, uint16_t arch, const char *vendor_class,
			  const char *user_class);

const char *dhcp_type_name(enum dhcp_type t);

#endif
