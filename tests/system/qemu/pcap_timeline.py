#!/usr/bin/env python3
"""Prints the boot exchange seen in a pcap (tcpdump -w on the test bridge) as
a timeline: every DHCP packet with the options that matter, every TFTP
request, OACK and error, one summary line per TFTP transfer, IPv6 router
solicitations/advertisements, and the syslog traffic per sender.

    pcap_timeline.py FILE.pcap [--t0 EPOCH] [--mac MAC] [--syslog-grep TEXT]

Times are seconds since --t0 (default: the first packet). --mac keeps what
that MAC sent or was sent. Standard library only; Ethernet captures only.
"""
import argparse
import struct
import sys

DHCP_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK",
              6: "NAK", 7: "RELEASE", 8: "INFORM"}
TFTP_OPS = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}


def read_pcap(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        else:
            endian = ">"
            magic = struct.unpack(">I", hdr[:4])[0]
        nano = magic == 0xA1B23C4D
        linktype = struct.unpack(endian + "I", hdr[20:24])[0]
        if linktype != 1:
            sys.exit("pcap_timeline: link type %d is not Ethernet" % linktype)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(endian + "IIII", rec)
            data = f.read(incl)
            yield sec + frac / (1e9 if nano else 1e6), data


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def ip_str(b):
    return ".".join(str(x) for x in b)


def dhcp_options(opts):
    out = {}
    order = []
    i = 0
    while i < len(opts):
        code = opts[i]
        if code == 0:
            i += 1
            continue
        if code == 255 or i + 1 >= len(opts):
            break
        ln = opts[i + 1]
        val = opts[i + 2:i + 2 + ln]
        if code in out:
            out[code] += val  # RFC 3396 concatenation
        else:
            out[code] = val
            order.append(code)
        i += 2 + ln
    return out, order


def printable(b):
    s = b.rstrip(b"\0").decode("latin-1")
    if all(32 <= ord(c) < 127 for c in s):
        return s
    return b.hex()


def fmt_opt(code, val):
    if code in (1, 3, 6, 7, 28, 54, 50) and len(val) % 4 == 0 and val:
        return ",".join(ip_str(val[j:j + 4]) for j in range(0, len(val), 4))
    if code in (51, 58, 59) and len(val) == 4:
        return str(struct.unpack("!I", val)[0])
    if code == 53 and val:
        return DHCP_TYPES.get(val[0], str(val[0]))
    if code == 55:
        return ",".join(str(x) for x in val)
    if code == 57 and len(val) == 2:
        return str(struct.unpack("!H", val)[0])
    if code == 93:
        return ",".join(str(struct.unpack("!H", val[j:j + 2])[0]) for j in range(0, len(val) - 1, 2))
    if code == 94 and len(val) == 3:
        return "type %d v%d.%d" % (val[0], val[1], val[2])
    if code == 97:
        return val.hex()
    if code == 61:
        return val.hex(":")
    if code == 77:
        # RFC 3004 (length-prefixed) or plain text as iPXE sends it
        return printable(val)
    if code == 43 or code == 175 or code == 125 or code == 60 and not val.isascii():
        return val.hex()
    return printable(val)


def dhcp_line(t, src_mac, dst_ip, udp):
    d = udp
    if len(d) < 240:
        return "DHCP (truncated)"
    op, _htype, _hlen, _hops = d[0], d[1], d[2], d[3]
    xid = d[4:8].hex()
    secs, flags = struct.unpack("!HH", d[8:12])
    ciaddr, yiaddr, siaddr, giaddr = d[12:16], d[16:20], d[20:24], d[24:28]
    chaddr = d[28:34]
    sname = printable(d[44:108])
    fname = printable(d[108:236])
    opts, order = dhcp_options(d[240:])
    mtype = DHCP_TYPES.get(opts.get(53, b"\0")[0], "BOOTP")
    parts = ["DHCP%s" % mtype, "xid=%s" % xid, "chaddr=%s" % mac_str(chaddr)]
    if flags & 0x8000:
        parts.append("flags=BROADCAST")
    if secs:
        parts.append("secs=%d" % secs)
    if op == 2:
        parts.append("to=%s" % dst_ip)
    for name, val in (("ciaddr", ciaddr), ("yiaddr", yiaddr), ("siaddr", siaddr), ("giaddr", giaddr)):
        if val != b"\0\0\0\0":
            parts.append("%s=%s" % (name, ip_str(val)))
    if sname:
        parts.append("sname=%r" % sname)
    if fname:
        parts.append("file=%r" % fname)
    for code in order:
        if code == 53:
            continue
        parts.append("%d=%s" % (code, fmt_opt(code, opts[code])))
    return " ".join(parts)


def tftp_opts(payload):
    fields = payload.split(b"\0")
    return [f.decode("latin-1") for f in fields]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--t0", type=float)
    ap.add_argument("--mac")
    ap.add_argument("--syslog-grep", default="HERD-BOOT-MARKER")
    a = ap.parse_args()

    t0 = a.t0
    transfers = {}  # (client ip, client port, server port) -> dict
    syslog = {}  # sender -> [first, last, count, marker time]
    events = []

    def ev(t, text):
        events.append((t, text))

    for t, pkt in read_pcap(a.pcap):
        if t0 is None:
            t0 = t
        if len(pkt) < 14:
            continue
        dst_mac, src_mac = pkt[0:6], pkt[6:12]
        etype = struct.unpack("!H", pkt[12:14])[0]
        off = 14
        if etype == 0x8100:
            etype = struct.unpack("!H", pkt[16:18])[0]
            off = 18
        if a.mac and a.mac.lower() not in (mac_str(src_mac), mac_str(dst_mac)) and \
                mac_str(dst_mac) != "ff:ff:ff:ff:ff:ff" and not mac_str(dst_mac).startswith("33:33:"):
            continue
        if etype == 0x86DD:
            ip6 = pkt[off:]
            if len(ip6) >= 41 and ip6[6] == 58:
                icmp_type = ip6[40]
                if icmp_type in (133, 134):
                    ev(t, "%s ICMPv6 %s" % (mac_str(src_mac),
                                            "router solicitation" if icmp_type == 133 else "router advertisement"))
            continue
        if etype != 0x0800:
            continue
        ip = pkt[off:]
        ihl = (ip[0] & 15) * 4
        proto = ip[9]
        src_ip, dst_ip = ip_str(ip[12:16]), ip_str(ip[16:20])
        if proto != 17:
            continue
        udp = ip[ihl:]
        sport, dport = struct.unpack("!HH", udp[0:4])
        payload = udp[8:]
        who = mac_str(src_mac)
        if sport in (67, 68) and dport in (67, 68):
            if a.mac and mac_str(src_mac) != a.mac.lower():
                # a reply: keep it only if it is for our MAC
                if len(payload) >= 34 and mac_str(payload[28:34]) != a.mac.lower():
                    continue
            ev(t, "%s %s" % (who, dhcp_line(t, src_mac, dst_ip, payload)))
        elif dport == 69 and len(payload) >= 2:
            op = struct.unpack("!H", payload[:2])[0]
            f = tftp_opts(payload[2:])
            name, mode, rest = f[0], f[1] if len(f) > 1 else "", f[2:]
            opts = " ".join("%s=%s" % (rest[j], rest[j + 1]) for j in range(0, len(rest) - 1, 2))
            ev(t, "%s TFTP %s %r %s %s (from %s:%d)" % (who, TFTP_OPS.get(op, op), name, mode, opts, src_ip, sport))
            transfers[(src_ip, sport)] = {"file": name, "start": t, "blocks": 0, "bytes": 0, "last": t,
                                          "acks": 0, "errors": [], "server_port": None, "maxblk": 0,
                                          "rexmit": 0, "seen": set()}
        elif len(payload) >= 4 and ((dst_ip, dport) in transfers or (src_ip, sport) in transfers):
            key = (dst_ip, dport) if (dst_ip, dport) in transfers else (src_ip, sport)
            tr = transfers[key]
            op = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 0
            from_server = key == (dst_ip, dport)
            if op == 3 and from_server:
                blk = struct.unpack("!H", payload[2:4])[0]
                n = len(payload) - 4
                tr["blocks"] += 1
                if blk in tr["seen"] and blk != 0:
                    tr["rexmit"] += 1
                tr["seen"].add(blk)
                tr["bytes"] += n
                tr["maxblk"] = max(tr["maxblk"], n)
                tr["last"] = t
            elif op == 4 and not from_server:
                tr["acks"] += 1
                tr["last"] = max(tr["last"], t)
            elif op == 6 and from_server:
                ev(t, "%s TFTP OACK %s to %s:%d" % (who, " ".join(tftp_opts(payload[2:])).strip(), dst_ip, dport))
            elif op == 5:
                code = struct.unpack("!H", payload[2:4])[0]
                msg = payload[4:].split(b"\0")[0].decode("latin-1")
                ev(t, "%s TFTP ERROR %d %r (%s -> %s)" % (who, code, msg, src_ip, dst_ip))
        elif dport == 514:
            s = syslog.setdefault(src_ip, [t, t, 0, None])
            s[1] = t
            s[2] += 1
            if a.syslog_grep.encode() in payload and s[3] is None:
                s[3] = t
                ev(t, "%s SYSLOG %s" % (who, payload.decode("latin-1").strip()))

    for (cip, cport), tr in transfers.items():
        if tr["blocks"]:
            dur = tr["last"] - tr["start"]
            ev(tr["last"], "TFTP done %r to %s:%d: %d bytes, %d DATA (%d resent), blksize %d, %.2f s, %.1f MB/s" % (
                tr["file"], cip, cport, tr["bytes"], tr["blocks"], tr["rexmit"], tr["maxblk"], dur,
                tr["bytes"] / dur / 1e6 if dur > 0 else 0))
    for src, (first, last, count, marker) in syslog.items():
        ev(last, "SYSLOG from %s: %d datagrams, %.2f..%.2f" % (src, count, first - t0, last - t0))
    events.sort(key=lambda e: e[0])
    for t, text in events:
        print("%+8.2f %s" % (t - t0, text))


if __name__ == "__main__":
    main()
