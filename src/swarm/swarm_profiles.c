#include "swarm/swarm_profiles.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What each firmware's DHCP client sends. Classes, arch, client id and
 * broadcast flag: REFERENCE.md's table of Debian's firmware under QEMU;
 * parameter lists and maximum sizes from the clients' code (PXE 2.1 spec,
 * EDK2 PxeBcDhcp4.c, iPXE net/udp/dhcp.c, busybox udhcpc, U-Boot
 * net/bootp.c). */
static const uint8_t params_pxe[] = {1,	 2,  3,	 4,  5,	 6,  11, 12, 13, 15, 16, 17, 18,
				     22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60,
				     66, 67, 128, 129, 130, 131, 132, 133, 134, 135};
static const uint8_t params_edk2[] = {1,  2,  3,  4,  5,  6,  12, 13, 15, 17, 18, 22,
				      23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60,
				      66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135};
static const uint8_t params_ipxe[] = {1,   3,	6,   7,	  12,  15,  17,	 26,  43,  60, 66, 67,
				      119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203};
static const uint8_t params_udhcpc[] = {1, 3, 6, 12, 15, 28, 42};
static const uint8_t params_uboot[] = {1, 3, 6, 12, 13, 17};

#define PARAMS(a) .params = a, .nparams = sizeof(a)

static const struct swarm_dhcp_id dhcp_ids[] = {
	/* A BIOS PXE ROM (Intel Boot Agent style, PXE 2.1): no client id. */
	{.name = "pxe-bios",
	 .vendor_class = "PXEClient:Arch:00000:UNDI:002001",
	 .arch = 0,
	 .max_size = 1260,
	 .broadcast = true,
	 PARAMS(params_pxe)},
	/* OVMF's own UEFI PXE: no client id, the broadcast flag set. */
	{.name = "ovmf",
	 .vendor_class = "PXEClient:Arch:00007:UNDI:003000",
	 .arch = 7,
	 .max_size = 1472,
	 .broadcast = true,
	 PARAMS(params_edk2)},
	/* SeaBIOS + iPXE NIC ROM (ipxe-qemu). */
	{.name = "ipxe-bios",
	 .vendor_class = "PXEClient:Arch:00000:UNDI:002001",
	 .user_class = "iPXE",
	 .arch = 0,
	 .max_size = 1472,
	 .client_id = true,
	 PARAMS(params_ipxe)},
	/* ipxe.efi. */
	{.name = "ipxe-efi",
	 .vendor_class = "PXEClient:Arch:00007:UNDI:003010",
	 .user_class = "iPXE",
	 .arch = 7,
	 .max_size = 1472,
	 .client_id = true,
	 PARAMS(params_ipxe)},
	/* busybox udhcpc in an initramfs (vendor class: its default, "udhcp"
	 * and busybox's version, unless -V says otherwise). */
	{.name = "udhcpc",
	 .vendor_class = "udhcp 1.35.0",
	 .arch = -1,
	 .max_size = 576,
	 .client_id = true,
	 PARAMS(params_udhcpc)},
	/* U-Boot on arm64: CONFIG_BOOTP_VCI_STRING, BOOTP_PXE_CLIENTARCH 0x16. */
	{.name = "uboot",
	 .vendor_class = "U-Boot.armv8",
	 .arch = 0x16,
	 .max_size = 576,
	 PARAMS(params_uboot)},
};

#define NDHCP_IDS (sizeof(dhcp_ids) / sizeof(dhcp_ids[0]))

const struct swarm_dhcp_id *swarm_dhcp_id_find(const char *name)
{
	for (size_t i = 0; i < NDHCP_IDS; i++)
		if (strcmp(dhcp_ids[i].name, name) == 0)
			return &dhcp_ids[i];
	return NULL;
}

/* DHCP timers. PXE 2.1 and EDK2: 4 DISCOVERs, waiting 4, 8, 16, 32 s. iPXE
 * (net/udp/dhcp.c, retry.c): 1, 2, 4, 8 s. U-Boot (bootp.c): 250 ms
 * doubling to a 2 s ceiling until 28 s have passed. udhcpc: -t 3 -T 3. */
#define DHCP_PXE .dhcp_timeouts_ms = {4000, 8000, 16000, 32000}, .ndhcp_timeouts = 4
#define DHCP_IPXE .dhcp_timeouts_ms = {1000, 2000, 4000, 8000}, .ndhcp_timeouts = 4
#define DHCP_UBOOT                                                                                 \
	.dhcp_timeouts_ms = {250,  500,	 1000, 2000, 2000, 2000, 2000, 2000, 2000,                  \
			     2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000},                       \
	.ndhcp_timeouts = 17
#define DHCP_UDHCPC .dhcp_timeouts_ms = {3000, 3000, 3000}, .ndhcp_timeouts = 3

/* The firmware table. Sources are the clients' own code, as summarised in
 * REFERENCE.md; where a row needs a reading of that code, the comment says
 * which. A profile's DHCP identity is that of the firmware whose DHCP runs
 * before this download: pxelinux and GRUB are loaded by a PXE ROM and reuse
 * its answer. */
static const struct swarm_profile profiles[] = {
	/* iPXE src/net/udp/tftp.c + src/net/retry.c: the timer starts at
	 * 0.25 s, doubles on each expiry and adapts to the round trip
	 * (t = 7t/8 + rtt/2, Karn's rule). The fatal expiry is the one whose
	 * doubled value would pass 10 s: 0.25+0.5+1+2+4+8 = 15.75 s. */
	{.name = "ipxe",
	 .blksize = 1432,
	 .tsize = true,
	 .timeout_ms = 250,
	 .max_timeout_ms = 10000,
	 .backoff_pct = 200,
	 .adaptive = true,
	 .data_resend = true,
	 .giveup_ms = 15750,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_EVERY,
	 .dhcp_id = &dhcp_ids[2],
	 /* src/net/udp/dhcp.c: a REQUEST nobody answers ends the session
	  * (no DISCOVER again); the boot fails or its script retries. */
	 .no_request_fallback = true,
	 DHCP_IPXE},
	/* EDK2 Mtftp4Dxe via PxeBcDxe: a size probe first; a fixed 4 s timer,
	 * 6 tries (the first send and 5 re-sends), then fatal (~24 s).
	 * Modelled as the strictest client RFC 1350 allows (issue 8): the real
	 * RRQ goes from the probe's port, and whatever comes from the probe's
	 * server port is stale. Real OVMF is more lenient (it boots from a
	 * server that answers from that port); `--set probe_same_port=0` gives
	 * a client that asks again from a new port. */
	{.name = "edk2",
	 .blksize = 1468,
	 .windowsize = 4,
	 .tsize = true,
	 .size_probe = true,
	 .probe_same_port = true,
	 .stale_tid_discard = true,
	 .timeout_ms = 4000,
	 .max_timeout_ms = 4000,
	 .backoff_pct = 100,
	 .data_resend = true,
	 .retries = 5,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_EVERY,
	 .dhcp_id = &dhcp_ids[1],
	 /* Dhcp4Dxe: REQUEST re-sent, then the DHCP process fails. */
	 .no_request_fallback = true,
	 DHCP_PXE},
	/* pxelinux core/fs/pxe/tftp.c: TimeoutTable in 55 ms ticks, 2 2 3 3
	 * 4 5 ... 229 255 255 255 255: ~110 ms growing about 1.2x a step to
	 * ~14 s, ~131 s in all, then fatal. The table restarts per packet. */
	{.name = "pxelinux",
	 .blksize = 1408,
	 .tsize = true,
	 .timeout_ms = 110,
	 .max_timeout_ms = 14000,
	 .backoff_pct = 120,
	 .data_resend = true,
	 .giveup_ms = 131000,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_EVERY,
	 .dhcp_id = &dhcp_ids[0],
	 DHCP_PXE},
	/* U-Boot net/tftp.c: asks `timeout 5`; fixed 5 s; the timeout after
	 * 10 re-sends restarts the download (a new RRQ from a new port); a
	 * repeated block is ignored, a gap gets one ACK. */
	{.name = "uboot",
	 .blksize = 1468,
	 .timeout_opt = 5,
	 .tsize = true,
	 .timeout_ms = 5000,
	 .max_timeout_ms = 5000,
	 .backoff_pct = 100,
	 .data_resend = true,
	 .retries = 10,
	 .restarts = 1,
	 .dup_ack = false,
	 .gap_ack = SWARM_GAP_ONCE,
	 .dhcp_id = &dhcp_ids[5],
	 DHCP_UBOOT},
	/* GRUB grub-core/net/tftp.c: the RRQ is sent 40 times, waiting
	 * 400 + 20 i ms (31.6 s in all). In the data phase it never re-sends
	 * on its own; it ACKs an old block the server re-sent and ignores
	 * blocks ahead of a gap. */
	{.name = "grub",
	 .blksize = 1024,
	 .tsize = true,
	 .timeout_ms = 400,
	 .max_timeout_ms = 60000,
	 .backoff_pct = 100,
	 .step_ms = 20,
	 .data_resend = false,
	 .retries = 39,
	 .giveup_ms = 31600,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_IGNORE,
	 .dhcp_id = &dhcp_ids[1],
	 DHCP_PXE},
	/* A legacy ROM with the least patience of all: 1 s, 3 re-sends; and
	 * as strict about TIDs as edk2: a size probe, the real RRQ from the
	 * same port, the probe's server port taken for stale (a server that
	 * answers from it fails every such client 4 s after the probe). */
	{.name = "strict",
	 .blksize = 1432,
	 .tsize = true,
	 .size_probe = true,
	 .probe_same_port = true,
	 .stale_tid_discard = true,
	 .timeout_ms = 1000,
	 .max_timeout_ms = 1000,
	 .backoff_pct = 100,
	 .data_resend = true,
	 .retries = 3,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_EVERY,
	 .dhcp_id = &dhcp_ids[0],
	 .no_request_fallback = true,
	 DHCP_PXE},
	/* busybox in an initramfs: udhcpc, then busybox tftp (tftp.c: 512-byte
	 * blocks unless -b, 100 ms growing 1.5x to 2 s, 12 timeouts in a row
	 * are fatal; the count starts over on every good block). */
	{.name = "busybox",
	 .tsize = true,
	 .timeout_ms = 100,
	 .max_timeout_ms = 2000,
	 .backoff_pct = 150,
	 .data_resend = true,
	 .retries = 11,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_IGNORE,
	 .dhcp_id = &dhcp_ids[4],
	 DHCP_UDHCPC},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct swarm_profile *swarm_profile_find(const char *name)
{
	for (size_t i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

/* From the table, so a usage message never misses a profile. */
const char *swarm_profile_names(void)
{
	static char names[NPROFILES * (sizeof(profiles[0].name) + 2)];

	if (names[0] == '\0')
		for (size_t i = 0; i < NPROFILES; i++) {
			if (i > 0)
				strcat(names, ", ");
			strcat(names, profiles[i].name);
		}
	return names;
}

static int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* "1.5" -> 150 (percent), between 1.0 and 10.0. */
static int parse_factor(const char *s, uint32_t *pct)
{
	char *end;
	double v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtod(s, &end);
	if (*end != '\0' || v < 1.0 || v > 10.0)
		return -EINVAL;
	*pct = (uint32_t)(v * 100 + 0.5);
	return 0;
}

/* "4,8,16,32" or "0.25,0.5": seconds, each from 1 ms to an hour. The
 * profile changes only if the whole list is good. */
static int parse_timeouts(const char *s, struct swarm_profile *p)
{
	uint32_t ms[SWARM_DHCP_TRIES_MAX];
	uint32_t n = 0;

	for (;;) {
		char *end;
		double v;
		if (*s < '0' || *s > '9' || n == SWARM_DHCP_TRIES_MAX)
			return -EINVAL;
		v = strtod(s, &end);
		if ((*end != ',' && *end != '\0') || v < 0.001 || v > 3600)
			return -EINVAL;
		ms[n++] = (uint32_t)(v * 1000 + 0.5);
		if (*end == '\0')
			break;
		s = end + 1;
	}
	memcpy(p->dhcp_timeouts_ms, ms, n * sizeof(ms[0]));
	p->ndhcp_timeouts = n;
	return 0;
}

/* The yes/no keys: 0 or 1. */
static int set_flag(struct swarm_profile *p, const char *key, const char *val)
{
	static const struct {
		const char *key;
		size_t offset;
	} flags[] = {
		{"tsize", offsetof(struct swarm_profile, tsize)},
		{"size_probe", offsetof(struct swarm_profile, size_probe)},
		{"probe_same_port", offsetof(struct swarm_profile, probe_same_port)},
		{"stale_tid_discard", offsetof(struct swarm_profile, stale_tid_discard)},
	};
	uint32_t v;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(key, flags[i].key) != 0)
			continue;
		if (parse_uint(val, 0, 1, &v) < 0)
			return -EINVAL;
		*(bool *)((char *)p + flags[i].offset) = v != 0;
		return 0;
	}
	return -EINVAL;
}

int swarm_profile_set(struct swarm_profile *p, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char key[32];
	const char *val;
	uint32_t v;
	size_t klen;

	if (eq == NULL || (klen = (size_t)(eq - assignment)) == 0 || klen >= sizeof(key))
		return -EINVAL;
	memcpy(key, assignment, klen);
	key[klen] = '\0';
	val = eq + 1;
	if (strcmp(key, "backoff") == 0)
		return parse_factor(val, &p->backoff_pct);
	if (strcmp(key, "dhcp_timeouts") == 0)
		return parse_timeouts(val, p);
	if (strcmp(key, "request_fallback") == 0) {
		if (parse_uint(val, 0, 1, &v) < 0)
			return -EINVAL;
		p->no_request_fallback = v == 0;
		return 0;
	}
	if (strcmp(key, "dhcp_id") == 0) {
		const struct swarm_dhcp_id *id = swarm_dhcp_id_find(val);
		if (id == NULL)
			return -EINVAL;
		p->dhcp_id = id;
		return 0;
	}

	static const struct {
		const char *key;
		size_t offset;
		uint32_t min, max;
	} keys[] = {
		{"blksize", offsetof(struct swarm_profile, blksize), 8, 65464},
		{"windowsize", offsetof(struct swarm_profile, windowsize), 0, 65535},
		{"timeout", offsetof(struct swarm_profile, timeout_opt), 0, 255},
		{"timeout_ms", offsetof(struct swarm_profile, timeout_ms), 1, 3600000},
		{"max_timeout_ms", offsetof(struct swarm_profile, max_timeout_ms), 1, 3600000},
		{"step_ms", offsetof(struct swarm_profile, step_ms), 0, 3600000},
		{"retries", offsetof(struct swarm_profile, retries), 0, 65535},
		{"giveup_ms", offsetof(struct swarm_profile, giveup_ms), 0, 86400000},
		{"restarts", offsetof(struct swarm_profile, restarts), 0, 255},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key) != 0)
			continue;
		if (parse_uint(val, keys[i].min, keys[i].max, &v) < 0)
			return -EINVAL;
		memcpy((char *)p + keys[i].offset, &v, sizeof(v));
		return 0;
	}
	return set_flag(p, key, val);
}
