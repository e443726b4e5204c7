#!/usr/bin/env python3
"""A burst of DHCP clients (DISCOVER -> OFFER -> REQUEST -> ACK) from one
socket, for tests. Each client is a MAC 02:cb:00:XX:XX:XX; requests carry
the broadcast flag so replies reach this socket. Every ACK received is
appended at once (flushed) to the record file as "mac ip", so what a client
saw survives this process being killed.

usage: dhcp_burst.py IFACE N RECORD_FILE [SECONDS]
"""
import os, random, select, socket, struct, sys, time

iface, n, record = sys.argv[1], int(sys.argv[2]), sys.argv[3]
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
seed = random.randrange(1 << 16)

def mac_of(i):
    return bytes([0x02, 0xcb, (seed >> 8) & 0xff, seed & 0xff, (i >> 8) & 0xff, i & 0xff])

def packet(kind, mac, xid, requested=None, server_id=None):
    hdr = struct.pack("!BBBBIHH", 1, 1, 6, 0, xid, 0, 0x8000) + b"\0" * 16
    hdr += mac + b"\0" * 10 + b"\0" * 192 + b"\x63\x82\x53\x63"
    opts = bytes([53, 1, kind])
    if requested:
        opts += bytes([50, 4]) + requested
    if server_id:
        opts += bytes([54, 4]) + server_id
    return hdr + opts + b"\xff"

def parse(data):
    if len(data) < 240 or data[236:240] != b"\x63\x82\x53\x63":
        return None
    xid = struct.unpack("!I", data[4:8])[0]
    yiaddr, mac = data[16:20], data[28:34]
    i, kind, sid = 240, None, None
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, ln = data[i], data[i + 1]
        val = data[i + 2:i + 2 + ln]
        if code == 53:
            kind = val[0]
        elif code == 54:
            sid = val
        i += 2 + ln
    return xid, mac, yiaddr, kind, sid

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
s.bind(("0.0.0.0", 68))
dest = ("255.255.255.255", 67)
out = open(record, "a", buffering=1)
state = {}  # xid -> [index, stage, last_sent]
for i in range(n):
    xid = (seed << 16) | i
    state[xid] = [i, 1, time.time()]
    s.sendto(packet(1, mac_of(i), xid), dest)
acked = 0
end = time.time() + limit
while acked < n and time.time() < end:
    r, _, _ = select.select([s], [], [], 0.5)
    if not r:
        now = time.time()
        for xid, st in state.items():  # retry whatever is stuck
            if st[1] and now - st[2] > 1.0:
                st[2] = now
                s.sendto(packet(1, mac_of(st[0]), xid), dest)
                st[1] = 1
        continue
    data, _ = s.recvfrom(2048)
    p = parse(data)
    if p is None or p[0] not in state:
        continue
    xid, mac, yiaddr, kind, sid = p
    st = state[xid]
    if kind == 2 and st[1] == 1:
        st[1], st[2] = 3, time.time()
        s.sendto(packet(3, mac, xid, yiaddr, sid), dest)
    elif kind == 5 and st[1] == 3:
        st[1] = 0
        acked += 1
        out.write("%s %s\n" % (":".join("%02x" % b for b in mac), socket.inet_ntoa(yiaddr)))
print("acked %d of %d" % (acked, n))
