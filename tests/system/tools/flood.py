#!/usr/bin/env python3
"""Hostile traffic for herd's flood test: spoofed TFTP read requests and a
syslog flood, sent with a raw socket (IP_HDRINCL) so every datagram carries
a source address of our choosing. Only ever sent to --to (herd's address in
the test's own namespaces); herd's answers to the spoofed sources go
nowhere: the test's dead addresses have no owner, and the server namespace
has no route to the others.

  --rrqs N          spoofed RRQs to port 69: each from a random source (a
                    share from --dead, on herd's own segment, the others
                    from 198.18.0.0/15, RFC 2544's benchmarking range), a
                    random port, for an existing (--file) or a missing file,
                    with a random set of options
  --senders N       syslog senders (port 514), none in herd's inventory: N
                    distinct addresses from 198.18.0.0/15 and --dead
  --lines N         lines per flooding sender
  --known IP,...    also a few lines from these (inventory) addresses
  --dhcp N          N DHCPDISCOVERs from one MAC (02:66:00:00:00:01, in no
                    inventory), as relayed from a dead address on the segment
  --seconds S       spread everything evenly over S seconds
  --start-file F    created once the first packets are out

Prints one line of counts when done.
"""
import argparse, os, random, socket, struct, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--to", required=True)
ap.add_argument("--rrqs", type=int, default=100000)
ap.add_argument("--senders", type=int, default=10000)
ap.add_argument("--lines", type=int, default=2)
ap.add_argument("--known", default="")
ap.add_argument("--dhcp", type=int, default=0)
ap.add_argument("--dead", required=True, help="FIRST-LAST on herd's segment")
ap.add_argument("--dead-share", type=float, default=0.3)
ap.add_argument("--file", action="append", default=[])
ap.add_argument("--seconds", type=float, default=10.0)
ap.add_argument("--start-file")
ap.add_argument("--seed", type=int, default=None)
a = ap.parse_args()
rnd = random.Random(a.seed)

dst = socket.inet_aton(a.to)
first, last = (struct.unpack("!I", socket.inet_aton(x))[0] for x in a.dead.split("-"))
dead = [struct.pack("!I", i) for i in range(first, last + 1)]


def bench_addr():
    # 198.18.0.0/15 without its network and broadcast-looking ends
    return struct.pack("!I", 0xC6120000 + rnd.randrange(1, (1 << 17) - 1))


def packet(src, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)  # no UDP checksum
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0, 64, 17, 0, src, dst)
    return ip + udp + payload


def rrq():
    if rnd.random() < 0.5 and a.file:
        name = rnd.choice(a.file)
    else:
        name = "missing/%08x.bin" % rnd.getrandbits(32)
    opts = b""
    if rnd.random() < 0.7:
        opts += b"blksize\0%d\0" % rnd.choice((512, 1408, 1432, 1468))
    if rnd.random() < 0.7:
        opts += b"tsize\0" + b"0\0"
    if rnd.random() < 0.3:
        opts += b"windowsize\0%d\0" % rnd.choice((4, 16, 64))
    return b"\0\1" + name.encode() + b"\0octet\0" + opts


# The syslog senders: distinct addresses, none of them herd's nodes.
senders = set()
for i in range(min(len(dead), a.senders // 10)):
    senders.add(dead[i])
while len(senders) < a.senders:
    senders.add(bench_addr())
senders = list(senders)
known = [socket.inet_aton(x) for x in a.known.split(",") if x]

# Every datagram, in the order sent: RRQs and syslog lines interleaved.
plan = [("rrq", None)] * a.rrqs
for s in senders:
    plan += [("log", s)] * a.lines
plan += [("known", k) for k in known for _ in range(3)]
plan += [("dhcp", dead[-1])] * a.dhcp
rnd.shuffle(plan)

sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
counts = {"rrq": 0, "log": 0, "known": 0, "dhcp": 0, "rrq_dead": 0, "send_errors": 0}


def discover(giaddr):
    # BOOTP header, relayed (hops 1, giaddr), then the cookie and option 53
    hdr = struct.pack("!BBBBIHH", 1, 1, 6, 1, rnd.getrandbits(32), 0, 0) + b"\0" * 12
    hdr += giaddr + bytes([0x02, 0x66, 0, 0, 0, 1]) + b"\0" * 10 + b"\0" * 192
    return hdr + b"\x63\x82\x53\x63" + bytes([53, 1, 1, 255])


t0 = time.monotonic()
per_slot = max(1, len(plan) // max(1, int(a.seconds * 100)))  # 10 ms slots
for i, (kind, src) in enumerate(plan):
    if kind == "rrq":
        if rnd.random() < a.dead_share:
            src = rnd.choice(dead)
            counts["rrq_dead"] += 1
        else:
            src = bench_addr()
        pkt = packet(src, rnd.randrange(1024, 65536), 69, rrq())
    elif kind == "dhcp":
        pkt = packet(src, 67, 67, discover(src))
    else:
        n = counts[kind]
        tag = "flood" if kind == "log" else "node"
        msg = "<13>%s %s herd-%s: line %d from a %s sender" % (
            time.strftime("%b %d %H:%M:%S"), tag, tag, n, tag)
        pkt = packet(src, rnd.randrange(1024, 65536), 514, msg.encode())
    try:
        sock.sendto(pkt, (a.to, 0))
        counts[kind] += 1
    except OSError:
        counts["send_errors"] += 1  # a full send buffer: go on
    if i == 100 and a.start_file:
        open(a.start_file, "w").close()
    if i % per_slot == per_slot - 1:
        due = t0 + (i + 1) / len(plan) * a.seconds
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
print("sent rrqs=%d rrqs_from_dead=%d syslog_lines=%d syslog_senders=%d known_lines=%d "
      "dhcp_discovers=%d send_errors=%d seconds=%.1f" % (
          counts["rrq"], counts["rrq_dead"], counts["log"], len(senders), counts["known"],
          counts["dhcp"], counts["send_errors"], time.monotonic() - t0))
