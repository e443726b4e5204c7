#!/usr/bin/env python3
"""One PXE DISCOVER through a relay, for tests: sent from RELAY_IP:67 to
SERVER:67 with giaddr = RELAY_IP, as a BIOS PXE ROM would (vendor class
PXEClient, client architecture 0). Prints what the OFFER gives:
"yiaddr=A file=F hostname=H" (empty values when absent), or "none".

usage: dhcp_probe.py SERVER RELAY_IP MAC [SECONDS]
"""
import os, select, socket, struct, sys

server, relay, mac_text = sys.argv[1], sys.argv[2], sys.argv[3]
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
mac = bytes(int(b, 16) for b in mac_text.split(":"))
xid = struct.unpack("!I", os.urandom(4))[0]

hdr = struct.pack("!BBBBIHH", 1, 1, 6, 1, xid, 0, 0) + b"\0" * 8
hdr += b"\0" * 4 + socket.inet_aton(relay) + mac + b"\0" * 10 + b"\0" * 192
opts = bytes([53, 1, 1]) + bytes([60, 32]) + b"PXEClient:Arch:00000:UNDI:002001"
opts += bytes([93, 2, 0, 0]) + b"\xff"
pkt = hdr + b"\x63\x82\x53\x63" + opts

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((relay, 67))
s.sendto(pkt, (server, 67))
while select.select([s], [], [], limit)[0]:
    data, _ = s.recvfrom(2048)
    if len(data) < 240 or struct.unpack("!I", data[4:8])[0] != xid:
        continue
    yiaddr = socket.inet_ntoa(data[16:20])
    file = data[108:236].split(b"\0")[0].decode(errors="replace")
    host, i = "", 240
    while i + 1 < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, ln = data[i], data[i + 1]
        if code == 12:
            host = data[i + 2:i + 2 + ln].decode(errors="replace")
        i += 2 + ln
    print("yiaddr=%s file=%s hostname=%s" % (yiaddr, file, host))
    sys.exit(0)
print("none")
sys.exit(1)
