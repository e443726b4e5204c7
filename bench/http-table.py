#!/usr/bin/env python3
"""Side-by-side tables of bench/http-rack.sh results (JSON lines).

  http-table.py [--run ID] [--mode http|chain] [--command CMD] FILE

Without --run, the latest run in FILE. A record is one server in one mode:
what http-rack.sh measured in the rack, plus herd swarm's JSON under "swarm".

The wire limit is every byte the port carries towards the clients at its
rate, as tbf counts them (IP packet + 14-byte Ethernet header), in a run
without loss: TCP segments of 1448 payload bytes (MSS 1460 less 12 of
timestamps) with 66 bytes of headers each, and per connection the SYN-ACK,
the ACK of the request and the FIN (about 70 bytes each); TFTP DATA with 46
bytes of headers per block of 1432 (iPXE's blksize) or 1468; DHCP replies of
about 400 bytes, two per exchange.
"""
import argparse
import json
import math

ORDER = ["herd", "herd-default", "nginx", "dnsmasq+nginx"]
MSS = 1448
TCP_HDR = 66  # Ethernet 14 + IP 20 + TCP 20 + timestamps 12
CTRL = 3 * 70
TFTP_HDR = 46  # Ethernet 14 + IP 20 + UDP 8 + TFTP 4
DHCP_REPLY = 400


def load(path, run):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rec = json.loads(line)
                if "run_id" in rec and "mode" in rec and "swarm" in rec:
                    recs.append(rec)
    if run is None and recs:
        run = recs[-1]["run_id"]
    return [r for r in recs if r["run_id"] == run]


def http_wire(rec):
    """L2 bytes of the HTTP part towards the clients, ideally."""
    n = rec["n"]
    body = rec["kernel_bytes"] + rec["initrd_bytes"]
    http = rec["swarm"].get("http", {})
    heads = 0
    if http.get("responses"):
        heads = (http["wire_in"] - http["bytes"]) / http["responses"]
    else:
        heads = 250
    per_resp = [rec["kernel_bytes"] + heads, rec["initrd_bytes"] + heads]
    segs = sum(math.ceil(b / MSS) for b in per_resp)
    return n * (body + 2 * heads + segs * TCP_HDR + CTRL)


def chain_wire(rec):
    """... and the loader over TFTP and six DHCP replies per client."""
    n = rec["n"]
    loader = rec["loader_bytes"]
    blk = 1432
    tftp = loader + math.ceil((loader + 1) / blk) * TFTP_HDR
    http = rec["swarm"].get("http", {})
    # items of the script fetched over TFTP (herd before its scripts name
    # http:// URLs): the kernel and initrd as TFTP blocks
    if http.get("tftp_items", 0) > n:
        files = rec["kernel_bytes"] + rec["initrd_bytes"]
        tftp += files + math.ceil(files / blk) * TFTP_HDR
        web = 0
    else:
        web = http_wire(rec) / n
    return n * (tftp + web + 6 * DHCP_REPLY)


def fnum(v, fmt="{:.2f}"):
    if v is None or (isinstance(v, (int, float)) and v < 0):
        return "-"
    return fmt.format(v)


def table(recs, mode, command=None):
    rows = [r for r in recs if r["mode"] == mode]
    if not rows:
        return
    rows.sort(key=lambda r: ORDER.index(r["server"]) if r["server"] in ORDER else 99)
    r0 = rows[0]
    rate = r0["rate_bps"]
    print()
    what = "kernel + initrd over HTTP" if mode == "http" else "power-on chain"
    print(f"== {mode}: {r0['n']} clients, {what} ({r0['kernel_bytes']} + {r0['initrd_bytes']} B"
          f"{', loader %d B' % r0['loader_bytes'] if mode == 'chain' else ''}), "
          f"{rate / 1e6:g} Mbit/s port, {r0['buffer_bytes']} B buffer")
    if command:
        print(f"   swarm: {command}")
    if mode == "http":
        hdr = ["server", "ok/fail", "makespan s", "wire limit s", "x wire", "p50 s", "p99 s",
               "TCP retrans", "sw drops", "srv cpu s", "wait p99 s", "conns", "kept-alive"]
    else:
        hdr = ["server", "ok/fail", "DISCOVER..last ACK s", "wire limit s", "x wire",
               "p50 s", "p99 s", "TCP retrans", "sw drops", "srv cpu s", "TFTP items",
               "HTTP reqs"]
    lines = [hdr]
    for r in rows:
        s = r["swarm"]
        http = s.get("http", {})
        if mode == "http":
            limit = http_wire(r) * 8 / rate
            span = s.get("makespan_s") if s.get("ok") else None
        else:
            limit = chain_wire(r) * 8 / rate
            span = s.get("dhcp", {}).get("span_s") if s.get("ok") else None
        fail = s.get("failed")
        fails = ",".join(f"{k[7:]} {v}" for k, v in s.items()
                         if k.startswith("failed_") and v)
        row = [r["server"], f"{s.get('ok', '-')}/{fail if fail is not None else '-'}"
               + (f" ({fails})" if fails else ""),
               fnum(span), fnum(limit), fnum(span / limit if span and limit else None),
               fnum(s.get("completion_p50_s")), fnum(s.get("completion_p99_s")),
               str(r.get("tcp_retrans_segs", "-")), str(r.get("sw_dropped", "-")),
               fnum(r.get("server_cpu_s"))]
        if mode == "http":
            row += [fnum(http.get("stall_p99_s")), str(http.get("connects", "-")),
                    str(http.get("kept_alive", "-"))]
        else:
            row += [str(http.get("tftp_items", "-")), str(http.get("requests", "-"))]
        lines.append(row)
    w = [max(len(l[i]) for l in lines) for i in range(len(hdr))]
    for l in lines:
        print("  " + "  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(l)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run")
    ap.add_argument("--mode")
    ap.add_argument("--command")
    ap.add_argument("file")
    a = ap.parse_args()
    recs = load(a.file, a.run)
    for mode in ([a.mode] if a.mode else ["http", "chain"]):
        table(recs, mode, a.command)


if __name__ == "__main__":
    main()
