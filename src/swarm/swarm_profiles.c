#include "swarm/swarm_profiles.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The firmware table. Sources are the clients' own code, as summarised in
 * REFERENCE.md; where a row needs a reading of that code, the comment says
 * which. */
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
	 .gap_ack = SWARM_GAP_EVERY},
	/* EDK2 Mtftp4Dxe via PxeBcDxe: a size probe first; a fixed 4 s timer,
	 * 6 tries (the first send and 5 re-sends), then fatal (~24 s). */
	{.name = "edk2",
	 .blksize = 1468,
	 .windowsize = 4,
	 .tsize = true,
	 .size_probe = true,
	 .timeout_ms = 4000,
	 .max_timeout_ms = 4000,
	 .backoff_pct = 100,
	 .data_resend = true,
	 .retries = 5,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_EVERY},
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
	 .gap_ack = SWARM_GAP_EVERY},
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
	 .gap_ack = SWARM_GAP_ONCE},
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
	 .gap_ack = SWARM_GAP_IGNORE},
	/* A legacy ROM with the least patience of all: 1 s, 3 re-sends. */
	{.name = "strict",
	 .blksize = 1432,
	 .tsize = true,
	 .timeout_ms = 1000,
	 .max_timeout_ms = 1000,
	 .backoff_pct = 100,
	 .data_resend = true,
	 .retries = 3,
	 .dup_ack = true,
	 .gap_ack = SWARM_GAP_EVERY},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct swarm_profile *swarm_profile_find(const char *name)
{
	for (size_t i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const char *swarm_profile_names(void)
{
	return "ipxe, edk2, pxelinux, uboot, grub, strict";
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
	if (strcmp(key, "tsize") == 0) {
		if (parse_uint(val, 0, 1, &v) < 0)
			return -EINVAL;
		p->tsize = v != 0;
		return 0;
	}
	return -EINVAL;
}
