#!/usr/bin/env python3
"""Writes the seed corpus of the DHCP fuzz target (tests/fuzz/fuzz_dhcp.c).

    python3 tests/fuzz/corpus/dhcp/make_seeds.py [DIR]

Each seed is one raw DHCP/BOOTP request datagram (the UDP payload), written
to DIR (default: this script's directory), one file per name below. The
output is deterministic, so the files can be committed and regenerated.

The addresses match the fuzz target's configuration: herd at 10.1.0.1 on
10.1.0.0/16, pool 10.1.2.0 - 10.1.2.20, inventory nodes n1
(02:00:00:00:00:01, 10.1.0.11) and n2 (02:00:00:00:00:02, 10.1.0.12);
0200000000aa is an unknown MAC (pool). The seeds look like what real clients
send (PXE ROMs, iPXE, OVMF, UEFI HTTP boot, udhcpc, a relay agent, BOOTP),
plus the malformed datagrams herd must drop (tests/system/test_dhcp_malformed.sh
sends the same kinds over a network).
"""
import os
import socket
import struct
import sys

COOKIE = b"\x63\x82\x53\x63"
SERVER = "10.1.0.1"
N1 = bytes.fromhex("020000000001")
N2 = bytes.fromhex("020000000002")
POOLMAC = bytes.fromhex("0200000000aa")
UUID = bytes([0]) + bytes(range(0x10, 0x20))  # option 97: type 0 + 16 bytes
BROADCAST = 0x8000


def ip(s):
    return socket.inet_aton(s)


def header(mac, op=1, htype=1, hlen=6, hops=0, xid=0x2a5f1c03, secs=0, flags=0,
           ciaddr="0.0.0.0", giaddr="0.0.0.0", sname=b"", file=b""):
    return struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, htype, hlen, hops, xid, secs, flags,
                       ip(ciaddr), ip("0.0.0.0"), ip("0.0.0.0"), ip(giaddr),
                       mac.ljust(16, b"\0"), sname.ljust(64, b"\0"), file.ljust(128, b"\0"))


def opt(code, data):
    return bytes([code, len(data)]) + data


def u16(v):
    return struct.pack("!H", v)


def msg(mac, opts, size=300, end=True, cookie=COOKIE, **hdr):
    """A request: header, cookie, options, END, zero padding to `size`."""
    d = header(mac, **hdr) + cookie + opts + (b"\xff" if end else b"")
    return d.ljust(size, b"\0")


# --- what real clients send -------------------------------------------------

PXE_PARAMS = bytes([1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 67,
                    128, 129, 130, 131, 132, 133, 134, 135])


def pxe(t, arch, undi, extra=b""):
    """A PXE ROM (PXE 2.1): message type, max size, arch, NDI, UUID, class."""
    cls = b"PXEClient:Arch:%05d:UNDI:%06d" % (arch, undi)
    return (opt(53, bytes([t])) + opt(57, u16(1260)) + opt(93, u16(arch)) +
            opt(94, bytes([1, undi // 1000 % 1000, undi % 1000])) + opt(97, UUID) +
            extra + opt(55, PXE_PARAMS) + opt(60, cls))


IPXE_PARAMS = bytes([1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131,
                     132, 133, 134, 135, 175, 203])
# iPXE's feature indicators (option 175): PXE ext, iSCSI, AoE, HTTP, HTTPS,
# TFTP, DNS, bzImage, menu, EFI... and its version (235 = 1.21.1).
IPXE_FEATURES = b"".join(opt(c, b"\x01") for c in (16, 17, 18, 19, 20, 21, 23, 24, 25, 33,
                                                     34, 36, 39)) + opt(235, b"\x01\x15\x01")


def ipxe(t, extra=b""):
    return (opt(53, bytes([t])) + opt(57, u16(1472)) + opt(93, u16(0)) +
            opt(94, b"\x01\x02\x01") + opt(97, UUID) + extra + opt(55, IPXE_PARAMS) +
            opt(175, IPXE_FEATURES) + opt(61, b"\x01" + N1) +
            opt(60, b"PXEClient:Arch:00000:UNDI:002001") + opt(77, b"iPXE"))


UDHCPC_PARAMS = bytes([1, 3, 6, 12, 15, 28, 42, 7])


def udhcpc(t, mac, extra=b""):
    """busybox udhcpc 1.35 (with -O 7)."""
    return (opt(53, bytes([t])) + opt(61, b"\x01" + mac) + extra + opt(57, u16(576)) +
            opt(55, UDHCPC_PARAMS) + opt(60, b"udhcp 1.35.0"))


def seeds():
    s = {}
    # PXE ROM (BIOS, UNDI 2.1), inventory node n1: DISCOVER, then SELECTING
    s["discover_pxe"] = msg(N1, pxe(1, 0, 2001), size=548, flags=BROADCAST, secs=4)
    s["request_pxe"] = msg(N1, pxe(3, 0, 2001, opt(50, ip("10.1.0.11")) + opt(54, ip(SERVER))),
                           size=548, flags=BROADCAST, secs=4)
    # iPXE chainloaded on n1 (user class iPXE, option 175)
    s["discover_ipxe"] = msg(N1, ipxe(1), size=400)
    s["request_ipxe"] = msg(N1, ipxe(3, opt(50, ip("10.1.0.11")) + opt(54, ip(SERVER))),
                            size=400)
    # OVMF (UEFI x64, arch 7), unknown MAC, broadcast flag
    s["discover_ovmf"] = msg(POOLMAC, pxe(1, 7, 3000), size=548, flags=BROADCAST)
    # UEFI HTTP boot (arch 16), node n2
    s["discover_efi_http"] = msg(
        N2, opt(53, b"\x01") + opt(57, u16(1472)) + opt(93, u16(16)) +
        opt(94, b"\x01\x03\x01") + opt(97, UUID) + opt(55, PXE_PARAMS) +
        opt(60, b"HTTPClient:Arch:00016:UNDI:003001"), size=548, flags=BROADCAST)
    # busybox udhcpc, unknown MAC: DISCOVER, SELECTING the first pool address
    s["discover_udhcpc"] = msg(POOLMAC, udhcpc(1, POOLMAC))
    s["request_pool"] = msg(POOLMAC, udhcpc(3, POOLMAC, opt(50, ip("10.1.2.0")) +
                                            opt(54, ip(SERVER))))
    # udhcpc on n1: SELECTING, RENEWING (ciaddr, unicast), another server chosen
    s["request_select"] = msg(N1, udhcpc(3, N1, opt(50, ip("10.1.0.11")) + opt(54, ip(SERVER))))
    s["request_renew"] = msg(N1, udhcpc(3, N1), ciaddr="10.1.0.11")
    s["request_other_server"] = msg(POOLMAC, udhcpc(3, POOLMAC, opt(50, ip("10.1.2.0")) +
                                                    opt(54, ip("10.1.0.2"))))
    # proxyDHCP: OVMF's request for its boot file on port 4011 (unicast,
    # ciaddr from the site server), iPXE's ProxyDHCP request, and n1's
    # firmware SELECTING the site server's offer (read for the address)
    s["request_binl"] = msg(N1, pxe(3, 7, 3000), size=548, ciaddr="10.1.0.51")
    s["request_proxy_ipxe"] = msg(N1, ipxe(3, opt(54, ip(SERVER))), size=400,
                                  ciaddr="10.1.0.51")
    s["request_site"] = msg(N1, pxe(3, 7, 3000, opt(50, ip("10.1.0.51")) +
                                opt(54, ip("10.1.0.2"))), size=548, flags=BROADCAST)
    # INIT-REBOOT for an address of another network (NAK)
    s["request_wrong_net"] = msg(N2, udhcpc(3, N2, opt(50, ip("192.168.1.50"))))
    # INFORM (an address configured by hand), RELEASE, DECLINE (dhclient-like)
    s["inform"] = msg(N1, opt(53, b"\x08") + opt(55, bytes([1, 3, 6, 7, 15, 66, 67])),
                      ciaddr="10.1.0.50")
    s["release"] = msg(POOLMAC, opt(53, b"\x07") + opt(54, ip(SERVER)), ciaddr="10.1.2.0")
    s["decline"] = msg(POOLMAC, opt(53, b"\x04") + opt(50, ip("10.1.2.1")) + opt(54, ip(SERVER)))
    # through a relay agent: giaddr in herd's network, option 82
    s["relayed"] = msg(POOLMAC, udhcpc(1, POOLMAC) +
                       opt(82, opt(1, b"Gi1/0/7") + opt(2, b"\x00\x1b\x21\x3c\x4d\x5e")),
                       giaddr="10.1.5.1", hops=1)
    # BOOTP (RFC 951): no options, the 64-byte vendor area zeroed
    s["bootp"] = header(N2) + bytes(64)
    # option overload 3: options in `file` and `sname` too
    s["overload"] = msg(N1, opt(53, b"\x01") + opt(52, b"\x03") + opt(57, u16(576)),
                        file=opt(55, PXE_PARAMS) + opt(60, b"PXEClient:Arch:00000:UNDI:002001") +
                        b"\xff",
                        sname=opt(12, b"n1-sname") + opt(93, u16(0)) + b"\xff")
    # split options (RFC 3396): the same code twice, joined in order
    s["split"] = msg(N1, opt(53, b"\x01") + opt(55, PXE_PARAMS[:10]) + opt(60, b"PXEClient:Ar") +
                     opt(55, PXE_PARAMS[10:]) + opt(60, b"ch:00000:UNDI:002001") +
                     opt(61, b"\x01") + opt(61, N1))

    # --- malformed: herd must drop these -----------------------------------
    good = msg(N1, udhcpc(1, N1))
    s["empty"] = b""
    s["truncated"] = good[:100]
    s["optlen_past_end"] = header(N1) + COOKIE + udhcpc(1, N1) + b"\x0c\xc8hello"
    # option 52 inside `file` and `sname` (an overload loop, if honoured)
    s["overload_loop"] = msg(N1, opt(53, b"\x01") + opt(52, b"\x03"),
                             file=opt(52, b"\x03") + opt(12, b"loop") + b"\xff",
                             sname=opt(52, b"\x03") + opt(52, b"\x01") + b"\xff")
    s["zero_length_options"] = msg(POOLMAC, opt(53, b"\x01") + opt(12, b"") + opt(55, b"") +
                                   opt(60, b"") + opt(61, b"") + opt(77, b"") + opt(93, b"") +
                                   opt(97, b""))
    s["duplicated_53"] = msg(N1, opt(53, b"\x01") + opt(53, b"\x03") + opt(55, UDHCPC_PARAMS))
    s["bad_cookie"] = msg(N1, udhcpc(1, N1), cookie=b"\x63\x82\x53\x64")
    s["hops"] = msg(N1, udhcpc(1, N1), hops=200)
    s["op_reply"] = msg(N1, opt(53, b"\x02") + opt(54, ip(SERVER)), op=2)
    s["hlen_99"] = msg(N1, udhcpc(1, N1), hlen=99)
    # longer than what herd builds (1472 bytes); herd still parses it
    s["oversize"] = msg(POOLMAC, udhcpc(1, POOLMAC) + opt(43, b"v" * 255) * 5, size=1600)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-22s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
