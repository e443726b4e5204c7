#!/usr/bin/env python3
"""Answers IPv6 router solicitations on one interface with a router
advertisement that configures nothing (router lifetime 0, no prefix, M=O=0).

Debian's iPXE waits ~16 s for an IPv6 router before it finishes configuring
an interface; any RA ends that wait. Run inside the test namespace only:

    ra.py IFNAME [SECONDS]

Sends one unsolicited RA at start, then one per solicitation (at most one per
0.2 s), for SECONDS (default 3600). Prints one line per RA sent to stdout.
"""
import select
import socket
import struct
import sys
import time

ND_ROUTER_SOLICIT = 133
ND_ROUTER_ADVERT = 134


def main():
    ifname = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3600.0
    ifindex = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    mreq = socket.inet_pton(socket.AF_INET6, "ff02::2") + struct.pack("@I", ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    # type, code, checksum (the kernel fills it in), cur hop limit, flags
    # (M=O=0), router lifetime 0 (not a default router), reachable, retrans
    ra = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 64, 0, 0, 0, 0)
    dest = ("ff02::1", 0, 0, ifindex)
    end = time.monotonic() + secs
    last = 0.0

    def send(why):
        nonlocal last
        try:
            s.sendto(ra, dest)
            last = time.monotonic()
            print("%.3f RA sent (%s)" % (time.time(), why), flush=True)
        except OSError as e:
            print("%.3f RA not sent: %s" % (time.time(), e), flush=True)

    send("start")
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([s], [], [], min(left, 1.0))
        if not r:
            continue
        data, addr = s.recvfrom(1500)
        if data and data[0] == ND_ROUTER_SOLICIT and time.monotonic() - last >= 0.2:
            send("solicited by %s" % addr[0])


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
