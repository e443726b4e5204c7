#include "dhcp/dhcp_facts.h"

#include <stdio.h>

unsigned dhcp_facts(const struct dhcp_msg *m, bool booting, struct boot_facts *f)
{
	static const struct {
		uint8_t opt;
		enum conf_rule_key key;
	} classes[] = {{DHO_VENDOR_CLASS, RULE_VENDOR_CLASS}, {DHO_USER_CLASS, RULE_USER_CLASS}};
	unsigned mask = 0;
	uint16_t arch;
	size_t len;
	const uint8_t *v;

	/* The switch port, whenever a relay adds it (RFC 3046). */
	if ((v = dhcp_relay_sub(m, DHCP_RELAY_CIRCUIT_ID, &len)) != NULL) {
		boot_fact_set(f, RULE_CIRCUIT_ID, v, len);
		mask |= 1u << RULE_CIRCUIT_ID;
	}
	if ((v = dhcp_relay_sub(m, DHCP_RELAY_REMOTE_ID, &len)) != NULL) {
		boot_fact_set(f, RULE_REMOTE_ID, v, len);
		mask |= 1u << RULE_REMOTE_ID;
	}
	if (!booting)
		return mask;
	mask |= 1u << RULE_ARCH | 1u << RULE_VENDOR_CLASS | 1u << RULE_USER_CLASS;
	f->v[RULE_ARCH][0] = '\0';
	if (dhcp_opt_u16(m, DHO_CLIENT_ARCH, &arch))
		snprintf(f->v[RULE_ARCH], FACT_MAX, "%u", arch);
	for (unsigned i = 0; i < 2; i++) {
		f->v[classes[i].key][0] = '\0';
		if ((v = dhcp_opt(m, classes[i].opt, &len)) == NULL)
			continue;
		/* RFC 3004 user class: a length byte before the class. */
		if (classes[i].opt == DHO_USER_CLASS && len > 1 && v[0] == len - 1) {
			v++;
			len--;
		}
		boot_fact_set(f, classes[i].key, v, len);
	}
	return mask;
}
