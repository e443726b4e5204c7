/* The key table: every setting of every section, with its type, where it
 * is stored, its range and its default as written in a file. The parser,
 * the defaults and the printer (conf.c) go through it, and nothing else,
 * so every section reads and prints its values the same way. */
#ifndef HERD_CONF_KEYS_H
#define HERD_CONF_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
	T_BOOL,	   /* bool: the words of conf_parse_bool */
	T_UINT,	   /* unsigned or uint64_t (by the field's size): decimal */
	T_SIZE,	   /* same, with a K, M or G suffix */
	T_RATE,	   /* uint64_t bits/s: decimal with k, M or G (x1000) */
	T_ENUM,	   /* an enum: one of `words`, in the enum's order */
	T_STRING,  /* char[]: any text that fits */
	T_PATH,	   /* char[]: an absolute path */
	T_USER,	   /* char[]: a user name */
	T_LISTEN,  /* struct conf_listen: A.B.C.D[:PORT] ..., at most `max` */
	T_IP,	   /* uint32_t, network order: A.B.C.D */
	T_IPLIST,  /* uint32_t[`max`] with its count (unsigned) at offset2 */
	T_NETWORK, /* uint32_t network at offset, its mask at offset2: A.B.C.D/BITS */
	T_POOL,	   /* uint32_t first at offset, last at offset2, host order: A - B */
};

/* Flags. Where a key may have no value (K_EMPTY) or herd decides (K_AUTO),
 * the field holds: "" or 0 for none; for auto, 0 in a number or an address
 * (derived, as the enclosing section, or herd's own address) and -1 in a
 * yes/no (then an int). A rate takes `auto` always: CONF_AUTO. */
#define K_EMPTY 1u     /* "" is a value: none (T_PATH, T_IP) */
#define K_AUTO 2u      /* `auto` is a value (T_UINT, T_IP, T_BOOL) */
#define K_JOIN 4u      /* T_STRING: may be given on several lines, joined with a space */
#define K_NO_URL 8u    /* T_STRING: not a URL (a loader: a path beneath the root) */
#define K_HTTP_URL 16u /* T_STRING: a path, or an http:// URL (kernel, initrd) */

/* The sections, in the order `herd check` prints them. The named ones are
 * written [subnet NAME], [group NAME] and [rule NAME], once per name. */
enum conf_section {
	CONF_SEC_SERVER,
	CONF_SEC_TFTP,
	CONF_SEC_LOG,
	CONF_SEC_DHCP,
	CONF_SEC_HTTP,
	CONF_SEC_IMAGES,
	CONF_SEC_STATUS,
	CONF_SEC_CLUSTER,
	CONF_SEC_SUBNET,
	CONF_SEC_GROUP,
	CONF_SEC_RULE,
	CONF_NSECTIONS
};
#define CONF_SEC_NAMED(sec) ((sec) >= CONF_SEC_SUBNET)
extern const char *const conf_section_names[CONF_NSECTIONS];

struct conf_key {
	enum conf_section section;
	const char *name;
	enum conf_type type;
	unsigned flags;
	size_t offset, size;	  /* the field in its section's struct */
	size_t offset2;		  /* T_IPLIST, T_NETWORK, T_POOL: see above */
	uint64_t min, max;	  /* T_UINT, T_SIZE, T_RATE; max of T_LISTEN, T_IPLIST */
	uint16_t port;		  /* T_LISTEN: when an address has none */
	const char *const *words; /* T_ENUM */
	const char *def;	  /* the default as in a file; NULL: required */
};

extern const struct conf_key conf_keys[];
extern const unsigned conf_nkeys;
/* Enough for every key of the table (checked where it is defined). */
#define CONF_MAX_KEYS 128

/* The index of the key `name` of `section` in conf_keys, or -1. */
int conf_key_find(enum conf_section section, const char *name);

/* Sets the field of k in the section struct at `base` from v; `again`: it
 * was set before in this section (K_JOIN appends). 0, or -EINVAL with the
 * reason in err ("name: 'v' is not ..."). A bad value leaves the field. */
int conf_key_set(const struct conf_key *k, void *base, const char *v, bool again, char *err,
		 size_t errsize);

/* Writes "name = value" line(s) that read back as the same value. */
void conf_key_print(const struct conf_key *k, const void *base, FILE *out);

#endif
