/* `herd check -c FILE --explain MAC [key=value ...]`: which group, name,
 * boot files, kernel, initrd and command line a client would get, and
 * why (its inventory line, the rule it meets, or the defaults). */
#ifndef HERD_CMD_EXPLAIN_H
#define HERD_CMD_EXPLAIN_H

#include <stdio.h>

#include "boot/policy.h"

/* Reads the MAC and the facts (arch=7 vendor=... user_class=iPXE
 * circuit_id=... remote_id=... manufacturer=... product=... serial=...
 * uuid=...). 0, or -EINVAL with the reason on errs. */
int explain_parse(int argc, char **argv, uint8_t mac[6], struct boot_facts *f, FILE *errs);

/* Writes the explanation. */
void explain_print(const struct policy *p, const uint8_t mac[6], const struct boot_facts *f,
		   FILE *out);

#endif
