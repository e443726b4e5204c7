#include "dhcp/dhcp_facts.h"

#include <stdio.h>

#include "core/wire.h"

#define IPXE_BUSID 177 /* iPXE's encapsulated option: the boot NIC's bus */

/* iPXE's bus id (option 175, encapsulated 177: type 1 = PCI, then the
 * vendor and device, big-endian) as "vvvv:dddd", the form of lspci -n;
 * "" when the client gave none. */
static void nic_fact(const struct dhcp_msg *m, char out[FACT_MAX])
{
	size_t len;
	const uint8_t *v = dhcp_opt(m, DHO_IPXE_ENCAP, &len);
	struct wire r = wire_reader(v, v ? len : 0);

	out[0] = '\0';
	while (wire_left(&r) >= 2) {
		uint8_t code = wire_u8(&r), n = wire_u8(&r);
		struct wire sub = wire_sub(&r, n);
		if (code == IPXE_BUSID && n == 5 && wire_u8(&sub) == 1) {
			uint16_t vendor = wire_u16(&sub), device = wire_u16(&sub);
			if (wire_ok(&sub))
				snprintf(out, FACT_MAX, "%04x:%04x", vendor, device);
			return;
		}
	}
}

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
	mask |= 1u << RULE_ARCH | 1u << RULE_VENDOR_CLASS | 1u << RULE_USER_CLASS | 1u << RULE_NIC;
	nic_fact(m, f->v[RULE_NIC]);
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
