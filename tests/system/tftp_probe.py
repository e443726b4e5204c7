#!/usr/bin/env python3
"""Hand-made TFTP requests against a server, checking each reply exactly.

Run by test_tftp_escape.sh inside a client namespace:

    tftp_probe.py SERVER_IP ROOT SECRET [CHECK...]

ROOT holds inroot.txt, f1M (1 MiB), sub/ and the symlinks made by the test;
SECRET is the content of ../secret, outside ROOT (given as text: the test
watches that no process opens the file). Prints "ok: ..." or "FAIL: ..." per check and
exits 1 if any check failed.
"""

import os
import socket
import struct
import sys
import time

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
OPNAMES = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}

SERVER = sys.argv[1]
ROOT = sys.argv[2]
SECRET = sys.argv[3].encode()
F1M = open(os.path.join(ROOT, "f1M"), "rb").read()
INROOT = open(os.path.join(ROOT, "inroot.txt"), "rb").read()

failures = 0
passes = 0
replies = []  # every datagram the server sent us, for the secret check


def ok(what):
    global passes
    passes += 1
    print("ok: " + what, flush=True)


def fail(what):
    global failures
    failures += 1
    print("FAIL: " + what, flush=True)


def check(cond, what, detail=""):
    if cond:
        ok(what)
    else:
        fail(what + (": " + detail if detail else ""))
    return cond


# --- packets ----------------------------------------------------------------


def request(op, name, mode=b"octet", opts=()):
    pkt = struct.pack("!H", op) + name + b"\0" + mode + b"\0"
    for k, v in opts:
        pkt += k + b"\0" + v + b"\0"
    return pkt


def ack(block):
    return struct.pack("!HH", ACK, block & 0xFFFF)


def error(code, msg=b""):
    return struct.pack("!HH", ERROR, code) + msg + b"\0"


class Reply:
    def __init__(self, data, addr):
        self.raw = data
        self.addr = addr
        self.op = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else -1
        self.block = self.code = None
        self.payload = b""
        self.msg = b""
        self.opts = {}
        if self.op == DATA and len(data) >= 4:
            self.block = struct.unpack("!H", data[2:4])[0]
            self.payload = data[4:]
        elif self.op == ERROR and len(data) >= 4:
            self.code = struct.unpack("!H", data[2:4])[0]
            self.msg = data[4:].split(b"\0")[0]
        elif self.op == OACK:
            parts = data[2:].split(b"\0")
            if parts and parts[-1] == b"":
                parts.pop()
            for i in range(0, len(parts) - 1, 2):
                self.opts[parts[i].lower().decode("latin-1")] = parts[i + 1].decode("latin-1")

    def __str__(self):
        name = OPNAMES.get(self.op, "op %d" % self.op)
        if self.op == DATA:
            return "DATA block %d (%d bytes)" % (self.block, len(self.payload))
        if self.op == ERROR:
            return "ERROR %s '%s'" % (self.code, self.msg.decode("latin-1", "replace"))
        if self.op == OACK:
            return "OACK %s" % self.opts
        return name


class Peer:
    """One client socket (one TID)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("0.0.0.0", 0))
        self.port = self.sock.getsockname()[1]
        self.tid = None  # server's transfer address, from its first reply
        self.stale = set()  # TIDs of transfers we ended: their packets are dropped
        self.stale_seen = 0

    def send69(self, pkt):
        self.sock.sendto(pkt, (SERVER, 69))

    def send(self, pkt, addr=None):
        self.sock.sendto(pkt, addr or self.tid)

    def recv(self, timeout=2.0):
        end = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(end - time.monotonic(), 0.001))
            try:
                data, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                return None
            replies.append(data)
            if addr not in self.stale:
                break
            # RFC 1350: a strict client discards the old transfer's packets
            self.stale_seen += 1
        if self.tid is None:
            self.tid = addr
        return Reply(data, addr)

    def recv_data(self, timeout=2.0):
        """Next packet that is not a repeated OACK: one may cross our ACK 0
        when the host is slow (the server's first RTO is short here)."""
        r = self.recv(timeout)
        while r is not None and r.op == OACK:
            r = self.recv(timeout)
        return r

    def close(self):
        self.sock.close()


def first_reply(pkt, timeout=2.0):
    p = Peer()
    p.send69(pkt)
    r = p.recv(timeout)
    p.close()
    return r


def download(p, first, blksize=512, windowsize=1):
    """Completes a read whose first reply is `first`; returns the bytes or
    raises RuntimeError. Handles OACK, windows and block-number rollover."""
    out = bytearray()
    if first is None:
        raise RuntimeError("no reply to the request")
    if first.op == OACK:
        blksize = int(first.opts.get("blksize", blksize))
        windowsize = int(first.opts.get("windowsize", windowsize))
        p.send(ack(0))
        r = p.recv()
    else:
        r = first
    expect = 1
    in_window = 0
    retries = 0
    while True:
        if r is None:
            retries += 1
            if retries > 5:
                raise RuntimeError("timed out waiting for block %d" % expect)
            p.send(ack(expect - 1))
            in_window = 0
            r = p.recv()
            continue
        if r.addr != p.tid:
            # what a real client does with a stranger (RFC 1350 section 4)
            p.send(error(5, b"Unknown transfer ID"), r.addr)
            r = p.recv()
            continue
        if r.op == ERROR:
            raise RuntimeError("server sent %s" % r)
        if r.op == OACK and expect == 1:
            p.send(ack(0))  # a repeated OACK: our ACK 0 was lost or late
            r = p.recv()
            continue
        if r.op != DATA:
            raise RuntimeError("unexpected %s" % r)
        if r.block == expect & 0xFFFF:
            retries = 0
            out += r.payload
            in_window += 1
            last = len(r.payload) < blksize
            if last or in_window == windowsize:
                p.send(ack(expect))
                in_window = 0
            if last:
                return bytes(out)
            expect += 1
        else:
            # out of order or a retransmission: ask again from what we have
            p.send(ack(expect - 1))
            in_window = 0
        r = p.recv()


def get_file(name, opts=(), blksize=512, windowsize=1):
    p = Peer()
    p.send69(request(RRQ, name, opts=opts))
    try:
        return download(p, p.recv(), blksize, windowsize)
    finally:
        p.close()


# --- checks -----------------------------------------------------------------


def expect_error(what, pkt, code=None):
    r = first_reply(pkt)
    if r is None:
        return fail("%s: no reply (expected ERROR)" % what)
    if r.op != ERROR:
        return fail("%s: got %s, expected ERROR" % (what, r))
    if code is not None and r.code != code:
        return fail("%s: got %s, expected ERROR code %d" % (what, r, code))
    ok("%s -> %s" % (what, r))


def escapes():
    for name in [
        b"../secret",
        b"../../../../../../../../etc/passwd",
        b"/etc/passwd",
        b"sub/../../secret",
        b"sub/../sub/../../secret",
        b"./../secret",
        b"link_out",  # symlink to ../secret
        b"link_abs",  # symlink to the secret's absolute path
        b"sub/link_up",  # symlink to ../../secret
        b"sub",  # a directory
        b".",
        b"/",
        b"",
        b"nonexistent",
        b"noread",  # mode 0600, root's: herd runs as nobody
    ]:
        code = 1 if name in (b"/etc/passwd", b"nonexistent") else None
        expect_error("RRQ '%s'" % name.decode(), request(RRQ, name), code)
    # a NUL inside the name ends it early: what follows is read as the mode
    expect_error("RRQ 'sub<NUL>/../../secret'", request(RRQ, b"sub\0/../../secret"))
    expect_error("RRQ 'inroot.txt<NUL>x' (mode 'x')", request(RRQ, b"inroot.txt\0x"))
    expect_error("RRQ with mode 'mail'", request(RRQ, b"inroot.txt", mode=b"mail"))
    for n in (600, 4000):
        expect_error("RRQ with a %d-byte name" % n, request(RRQ, b"a" * n))
    expect_error("RRQ with a 600-byte '../' name", request(RRQ, b"../" * 198 + b"secret"))
    # tftpd-hpa -s semantics: a leading '/' means the root
    try:
        data = get_file(b"/inroot.txt")
        check(data == INROOT, "RRQ '/inroot.txt' serves ROOT/inroot.txt")
    except RuntimeError as e:
        fail("RRQ '/inroot.txt' (leading '/' is the root): %s" % e)


def write_refused():
    expect_error("WRQ 'upload.bin'", request(WRQ, b"upload.bin"))
    expect_error("WRQ '../upload.bin'", request(WRQ, b"../upload.bin"))


def junk_to_port_69():
    for what, pkt in [
        ("1-byte datagram", b"\x01"),
        ("opcode 9", b"\x00\x09hello\0octet\0"),
        ("ACK to port 69", ack(1)),
        ("DATA to port 69", struct.pack("!HH", DATA, 1) + b"x" * 100),
        ("RRQ without any NUL", struct.pack("!H", RRQ) + b"x" * 2000),
        ("RRQ without mode", struct.pack("!H", RRQ) + b"inroot.txt\0"),
        ("empty datagram", b""),
    ]:
        r = first_reply(pkt, timeout=0.5)
        if r is None or r.op == ERROR:
            ok("%s -> %s" % (what, r or "no reply"))
        else:
            fail("%s: got %s, expected ERROR or nothing" % (what, r))


def no_options():
    r = first_reply(request(RRQ, b"inroot.txt"))
    check(r is not None and r.op == DATA and r.block == 1 and r.payload == INROOT,
          "RRQ without options -> DATA block 1 with the file", str(r))
    # only options the server does not know: the same as none (RFC 2347)
    r = first_reply(request(RRQ, b"inroot.txt", opts=[(b"foo", b"1"), (b"multicast", b"")]))
    check(r is not None and r.op == DATA and r.block == 1,
          "RRQ with only unknown options -> DATA block 1", str(r))


def oack_contents():
    r = first_reply(request(RRQ, b"f1M", opts=[(b"blksize", b"1024")]))
    check(r is not None and r.op == OACK and r.opts == {"blksize": "1024"},
          "blksize 1024 alone -> OACK {blksize: 1024}", str(r))
    r = first_reply(request(RRQ, b"f1M", opts=[(b"timeout", b"3")]))
    check(r is not None and r.op == OACK and r.opts == {"timeout": "3"},
          "timeout 3 alone -> OACK {timeout: 3} (echoed unchanged)", str(r))
    r = first_reply(request(RRQ, b"f1M", opts=[(b"tsize", b"0")]))
    check(r is not None and r.op == OACK and r.opts == {"tsize": str(len(F1M))},
          "tsize 0 -> OACK {tsize: %d}" % len(F1M), str(r))
    r = first_reply(request(RRQ, b"f1M", opts=[(b"foo", b"1"), (b"blksize", b"1024")]))
    check(r is not None and r.op == OACK and r.opts == {"blksize": "1024"},
          "unknown option + blksize -> OACK without the unknown one", str(r))
    r = first_reply(request(RRQ, b"f1M", opts=[(b"BLKSIZE", b"1024"), (b"TSize", b"0")]))
    check(r is not None and r.op == OACK and r.opts == {"blksize": "1024", "tsize": str(len(F1M))},
          "option names are case-insensitive", str(r))
    r = first_reply(request(RRQ, b"f1M", opts=[(b"blksize", b"65464")]))
    bs = int(r.opts.get("blksize", 0)) if r is not None and r.op == OACK else 0
    check(8 <= bs <= 1468, "blksize 65464 -> OACK blksize at most 1468", str(r))
    r = first_reply(request(RRQ, b"f1M", opts=[(b"windowsize", b"1000")]))
    ws = int(r.opts.get("windowsize", 0)) if r is not None and r.op == OACK else 0
    check(1 <= ws <= 64, "windowsize 1000 -> OACK windowsize at most 64", str(r))
    # out of range values are not acknowledged
    r = first_reply(request(RRQ, b"inroot.txt", opts=[(b"blksize", b"7"), (b"timeout", b"0")]))
    check(r is not None and r.op == DATA and r.block == 1,
          "blksize 7 + timeout 0 (both invalid) -> ignored: DATA block 1", str(r))


def capped_blksize_is_used():
    p = Peer()
    p.send69(request(RRQ, b"f1M", opts=[(b"blksize", b"65464")]))
    r = p.recv()
    if r is None or r.op != OACK:
        p.close()
        return fail("blksize 65464: no OACK (%s)" % r)
    bs = int(r.opts.get("blksize", 512))
    p.send(ack(0))
    d = p.recv_data()
    check(d is not None and d.op == DATA and d.block == 1 and len(d.payload) == bs,
          "blksize 65464: DATA 1 carries the negotiated %d bytes" % bs, str(d))
    p.send(error(0, b"done"))
    p.close()


def window_flow():
    p = Peer()
    p.send69(request(RRQ, b"f1M", opts=[(b"blksize", b"512"), (b"windowsize", b"4")]))
    r = p.recv()
    if not check(r is not None and r.op == OACK and r.opts.get("windowsize") == "4",
                 "windowsize 4 -> OACK windowsize 4", str(r)):
        p.close()
        return
    p.send(ack(0))
    got = []
    for _ in range(4):
        d = p.recv_data(1.0)
        if d is None or d.op != DATA:
            break
        got.append(d.block)
    check(got == [1, 2, 3, 4], "windowsize 4: blocks 1-4 sent without waiting for ACKs",
          "got %s" % got)
    d = p.recv(0.05)
    check(d is None or d.block != 5, "windowsize 4: block 5 waits for ACK 4", str(d))
    p.send(ack(4))
    d = p.recv(1.0)
    while d is not None and d.op == DATA and d.block < 5:
        d = p.recv(1.0)  # late retransmissions of the first window
    check(d is not None and d.op == DATA and d.block == 5 and d.payload == F1M[2048:2560],
          "windowsize 4: ACK 4 -> block 5", str(d))
    p.send(error(0, b"done"))
    p.close()


def full_downloads():
    for opts, bs, ws in [
        ([], 512, 1),
        ([(b"blksize", b"1468"), (b"windowsize", b"16")], 512, 1),
        ([(b"blksize", b"1432"), (b"tsize", b"0"), (b"windowsize", b"4")], 512, 1),
    ]:
        what = "download f1M with %s" % (b" ".join(k + b"=" + v for k, v in opts).decode() or
                                          "no options")
        try:
            check(get_file(b"f1M", opts, bs, ws) == F1M, what)
        except RuntimeError as e:
            fail("%s: %s" % (what, e))


def wrong_tid():
    """RFC 1350: a packet from an unknown port gets ERROR 5, and the transfer
    it tried to disturb goes on."""
    p = Peer()
    p.send69(request(RRQ, b"f1M"))
    first = p.recv()
    if first is None or first.op != DATA or first.block != 1:
        p.close()
        return fail("wrong TID: RRQ f1M got %s" % first)
    stray = Peer()
    stray.send(ack(1), p.tid)
    r = stray.recv()
    check(r is not None and r.op == ERROR and r.code == 5 and r.addr == p.tid,
          "ACK from a wrong source port -> ERROR 5 from the transfer port", str(r))
    stray.send(struct.pack("!HH", DATA, 1) + b"x" * 10, p.tid)
    r = stray.recv()
    check(r is not None and r.op == ERROR and r.code == 5, "DATA from a wrong port -> ERROR 5",
          str(r))
    stray.close()
    try:
        rest = download(p, first)
        check(rest == F1M, "transfer disturbed by a wrong TID completes intact")
    except RuntimeError as e:
        fail("transfer disturbed by a wrong TID: %s" % e)
    p.close()


def edk2_probe():
    """EDK2's MTFTP4 asks the size first (tsize 0), then aborts with ERROR 8
    once the OACK arrives, then sends the real RRQ. From the same port, a
    strict client discards every packet from the probe's server port (its
    TID, RFC 1350): the real transfer must come from another one."""
    for same_port in (True, False):
        how = "same port" if same_port else "new port"
        p = Peer()
        opts = [(b"tsize", b"0"), (b"blksize", b"1468"), (b"windowsize", b"4")]
        p.send69(request(RRQ, b"f1M", opts=opts))
        r = p.recv()
        want = {"tsize": str(len(F1M)), "blksize": "1468", "windowsize": "4"}
        check(r is not None and r.op == OACK and r.opts == want,
              "EDK2 size probe (%s) -> OACK %s" % (how, want), str(r))
        if r is None or r.op != OACK:
            p.close()
            continue
        p.send(error(8, b"Option negotiation failed"))  # what EDK2 sends
        # An OACK retransmitted before our ERROR arrived may still come in
        # at once; anything later means the transfer was not dropped.
        sent = time.monotonic()
        late = p.recv(1.5)
        while late is not None and late.op == OACK and time.monotonic() - sent < 0.2:
            late = p.recv(1.5 - (time.monotonic() - sent))
        check(late is None, "EDK2 probe (%s): nothing more after ERROR 8" % how, str(late))
        probe_tid = p.tid
        if same_port:
            p.stale.add(probe_tid)
        else:
            p.close()
            p = Peer()
        p.tid = None
        opts = [(b"blksize", b"1468"), (b"windowsize", b"4")]
        p.send69(request(RRQ, b"f1M", opts=opts))
        try:
            first = p.recv()
            if same_port:
                check(first is not None and p.tid != probe_tid,
                      "EDK2 real RRQ from the probe's port: answered from another server "
                      "port (%s, probe %s)" % (p.tid, probe_tid))
            check(download(p, first) == F1M, "EDK2 real RRQ after the probe (%s)" % how)
        except RuntimeError as e:
            fail("EDK2 real RRQ after the probe (%s): %s" % (how, e))
        p.close()


def probe_many_times():
    """The same client port asks, aborts and asks again, ten times: no
    server port is used twice in immediate succession."""
    p = Peer()
    prev = None
    repeats = 0
    for _ in range(10):
        p.tid = None
        p.send69(request(RRQ, b"f1M", opts=[(b"tsize", b"0")]))
        r = p.recv()
        if r is None or r.op != OACK:
            p.close()
            return fail("probe loop: got %s" % r)
        if p.tid == prev:
            repeats += 1
        prev = p.tid
        p.send(error(8, b"User aborted"))
        p.stale = {prev}
    p.close()
    check(repeats == 0, "10 requests from one port: never the previous server port",
          "%d repeats" % repeats)


def stray_from_client():
    """Garbage from the client's own port to its transfer port (DATA, RRQ,
    OACK) must not end the transfer with an ERROR (fatal to PXE firmware)."""
    p = Peer()
    p.send69(request(RRQ, b"f1M", opts=[(b"blksize", b"1432")]))
    first = p.recv()
    if first is None or first.op != OACK:
        p.close()
        return fail("stray packets: RRQ f1M got %s" % first)
    p.send(struct.pack("!HH", DATA, 1) + b"x" * 10)
    p.send(request(RRQ, b"f1M"))
    p.send(struct.pack("!H", OACK) + b"blksize\0" + b"512\0")
    r = p.recv(0.5)
    check(r is None or r.op == OACK, "DATA, RRQ and OACK from the client to its transfer "
          "port -> no ERROR", str(r))
    try:
        check(download(p, first) == F1M, "the transfer goes on intact after stray packets")
    except RuntimeError as e:
        fail("transfer after stray packets: %s" % e)
    p.close()


def retransmit():
    p = Peer()
    p.send69(request(RRQ, b"f1M"))
    r = p.recv()
    t0 = time.monotonic()
    again = p.recv(3.0)
    dt = time.monotonic() - t0
    check(r is not None and r.op == DATA and again is not None and again.op == DATA and
          again.block == 1, "no ACK -> DATA 1 sent again (after %.2f s)" % dt, str(again))
    p.send(error(0, b"done"))
    p.close()


def duplicate_rrq():
    """A client that repeats its RRQ (its first OACK was slow) must still
    get one clean transfer."""
    p = Peer()
    pkt = request(RRQ, b"f1M", opts=[(b"blksize", b"1432")])
    p.send69(pkt)
    p.send69(pkt)
    try:
        first = p.recv()
        data = download(p, first)
        check(data == F1M, "RRQ sent twice from one port -> one intact transfer")
    except RuntimeError as e:
        fail("RRQ sent twice from one port: %s" % e)
    p.close()


def secret_never_sent():
    leaked = [r for r in replies if SECRET in r]
    check(not leaked, "the secret appears in none of %d replies" % len(replies),
          "%d replies carry it" % len(leaked))


def server_alive():
    r = first_reply(request(RRQ, b"inroot.txt"))
    check(r is not None and r.op == DATA, "server still answers", str(r))


def main():
    groups = sys.argv[4:] or ["escapes", "write_refused", "junk_to_port_69", "no_options",
                              "oack_contents", "capped_blksize_is_used", "window_flow",
                              "full_downloads", "wrong_tid", "edk2_probe", "probe_many_times",
                              "stray_from_client", "retransmit",
                              "duplicate_rrq", "server_alive", "secret_never_sent"]
    for g in groups:
        globals()[g]()
    print("probe: %d passed, %d failed" % (passes, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
