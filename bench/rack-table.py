#!/usr/bin/env python3
"""Side-by-side tables of bench/tftp-rack.sh results (JSON lines).

  rack-table.py [--run ID] [--scenario S] [--variant V] [--command CMD] FILE
  rack-table.py [--run ID] --scenario C --p99-ratio loss1:loss0 FILE

Without --run, the latest run in FILE is shown (one table per scenario
variant). A record is one server under one scenario variant: the fields
tftp-rack.sh measured in the rack, plus herd swarm's JSON under "swarm".
"""
import argparse
import json
import sys

ORDER = ["herd", "herd-default", "dnsmasq", "tftpd-hpa", "atftpd"]
HERDS = ("herd", "herd-default")  # configured, and with no tuning key


def load(path, run):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rec = json.loads(line)
                if "run_id" in rec and "swarm" in rec:  # tftp-rack.sh's records only
                    recs.append(rec)
    if run is None and recs:
        run = recs[-1]["run_id"]
    return [r for r in recs if r["run_id"] == run]


def fnum(v, fmt="{:.2f}", none="-"):
    if v is None or (isinstance(v, (int, float)) and v < 0):
        return none
    return fmt.format(v)


def makespan(swarm):
    """First RRQ to the last client done; None if no client finished."""
    return swarm.get("makespan_s") if swarm.get("ok") else None


def si_bytes(b):
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if b >= div:
            return f"{b / div:g} {unit}"
    return f"{b} B"


def table(recs, scenario, variant, command=None, out=sys.stdout):
    rows = [r for r in recs if r["scenario"] == scenario and r["variant"] == variant]
    if not rows:
        return
    rows.sort(key=lambda r: ORDER.index(r["server"]) if r["server"] in ORDER else 99)
    r0 = rows[0]
    rate = r0["rate_bps"]
    total = r0["n"] * r0["file_bytes"]
    ideal = total * 8 / rate
    herd = next((r for r in rows if r["server"] == "herd"), None)
    herd_ms = makespan(herd["swarm"]) if herd else None

    print(file=out)
    print(f"== scenario {scenario}/{variant}: {r0['n']} clients x {si_bytes(r0['file_bytes'])}, "
          f"{rate / 1e6:g} Mbit/s port, {si_bytes(r0['buffer_bytes'])} buffer, "
          f"loss {r0['loss_pct']:g}% each way, profile {r0['profile_arg']}, "
          f"spread {r0['spread_s']:g} s, max-time {r0['max_time_s']} s", file=out)
    print(f"   wire limit = {total} B x 8 / {rate / 1e6:g} Mbit/s = {ideal:.2f} s", file=out)
    if command:
        print(f"   swarm: {command}", file=out)
    hdr = ["server", "ok/fail", "retx", "dupdata", "sw drops (%sent)", "sock drops s/c",
           "rnd loss", "makespan s", "x wire", "herd/peer", "p99 s", "1st p99 s",
           "goodput Mb/s", "share", "srv cpu s", "swarm cpu s", "host busy"]
    lines = [hdr]
    for r in rows:
        s = r["swarm"]
        ms = makespan(s)
        sent = r.get("srv_tx_pkts") or 0
        drops = r.get("sw_dropped", 0)
        pct = 100.0 * drops / sent if sent else 0.0
        ratio = "-"
        if herd_ms and ms and r["server"] not in HERDS:
            # a peer's makespan only counts the clients that finished
            ratio = f"{herd_ms / ms:.2f}" + ("*" if s.get("failed") else "")
        lines.append([
            r["server"],
            f"{s.get('ok', '?')}/{s.get('failed', '?')}",
            str(s.get("client_retransmits", "?")),
            str(s.get("duplicate_data", "?")),
            f"{drops} ({pct:.2f}%)",
            f"{r.get('srv_rcvbuf_errors', 0)}/{r.get('cli_rcvbuf_errors', 0)}",
            str(r.get("loss_down", 0) + r.get("loss_up", 0)),
            fnum(ms, "{:.2f}"),
            fnum(ms / ideal if ms else None, "{:.2f}") + ("*" if ms and s.get("failed") else ""),
            ratio,
            fnum(s.get("completion_p99_s"), "{:.2f}"),
            fnum(s.get("first_reply_p99_s"), "{:.2f}"),
            fnum(s.get("goodput_mbps"), "{:.0f}"),
            fnum(s.get("link_share"), "{:.0%}") if s.get("link_share") is not None else "-",
            fnum(r.get("server_cpu_s"), "{:.1f}"),
            fnum(r.get("swarm_cpu_s"), "{:.1f}"),
            fnum(r.get("host_cpu_busy"), "{:.0%}"),
        ])
    widths = [max(len(l[i]) for l in lines) for i in range(len(hdr))]
    for i, l in enumerate(lines):
        cells = [c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(l)]
        print("| " + " | ".join(cells) + " |", file=out)
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    notes = []
    for r in rows:
        s = r["swarm"]
        if not s:
            notes.append(f"{r['server']}: no result from swarm (exit {r.get('swarm_exit')})")
            continue
        if s.get("failed"):
            why = ", ".join(f"{k[7:]} {v}" for k, v in s.items()
                            if k.startswith("failed_") and v)
            profs = s.get("profiles") or {}
            if len(profs) > 1:  # a mix: which firmwares
                why += "; " + ", ".join(f"{name} {g['failed']} of {g['clients']}"
                                        for name, g in profs.items() if g.get("failed"))
            notes.append(f"{r['server']}: {s['failed']} failed ({why})")
        if s.get("stale_tid"):
            notes.append(f"{r['server']}: {s['stale_tid']} packets from an aborted probe's "
                         "server port dropped by the clients as stale")
    for r in rows:
        extra = [f"{k} {r[k]}" for k in ("srv_tx_dropped", "srv_sndbuf_errors", "sw_tx_dropped")
                 if r.get(k)]
        if extra:
            notes.append(f"{r['server']}: drops outside the switch queue: " + ", ".join(extra))
    if any("*" in c for l in lines[1:] for c in l):
        notes.append("* makespan, x wire and p99 count only the clients that finished "
                     "(x wire: against the wire limit of all of them)")
    for n in notes:
        print(f"   {n}", file=out)
    default_vs_configured(rows, ideal, out)
    sys.stdout.flush()


def default_vs_configured(rows, ideal, out):
    """herd with no tuning key against herd configured, same run: a user who
    configures nothing must get what a configured user gets."""
    conf = next((r for r in rows if r["server"] == "herd"), None)
    dflt = next((r for r in rows if r["server"] == "herd-default"), None)
    if not conf or not dflt or not conf["swarm"] or not dflt["swarm"]:
        return
    c, d = conf["swarm"], dflt["swarm"]
    cm, dm = makespan(c), makespan(d)
    ratio = f"{dm / cm:.2f}x" if cm and dm else "-"
    print(f"   herd default / configured: makespan {fnum(dm)} / {fnum(cm)} s = {ratio}"
          f" (x wire {fnum(dm / ideal if dm else None)} / {fnum(cm / ideal if cm else None)});"
          f" failed {d.get('failed', '?')} / {c.get('failed', '?')};"
          f" switch drops {dflt.get('sw_dropped', 0)} / {conf.get('sw_dropped', 0)};"
          f" client retx {d.get('client_retransmits', '?')} / {c.get('client_retransmits', '?')}",
          file=out)


def p99_ratio(recs, scenario, spec, out=sys.stdout):
    a, b = spec.split(":")
    print(f"\n   p99 completion with loss / without ({scenario}: {a} / {b}):", file=out)
    for srv in ORDER:
        ra = next((r for r in recs if r["scenario"] == scenario and r["variant"] == a
                   and r["server"] == srv), None)
        rb = next((r for r in recs if r["scenario"] == scenario and r["variant"] == b
                   and r["server"] == srv), None)
        if not ra or not rb:
            continue
        pa = ra["swarm"].get("completion_p99_s")
        pb = rb["swarm"].get("completion_p99_s")
        if pa and pb:
            print(f"     {srv:<12} {pa:7.2f} s / {pb:7.2f} s = {pa / pb:5.2f}x", file=out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--run")
    ap.add_argument("--scenario")
    ap.add_argument("--variant")
    ap.add_argument("--command")
    ap.add_argument("--p99-ratio")
    o = ap.parse_args()
    recs = load(o.file, o.run)
    if o.p99_ratio:
        p99_ratio(recs, o.scenario, o.p99_ratio)
        return
    seen = []
    for r in recs:
        key = (r["scenario"], r["variant"])
        if key not in seen:
            seen.append(key)
    for sc, va in seen:
        if (o.scenario is None or sc == o.scenario) and (o.variant is None or va == o.variant):
            table(recs, sc, va, o.command)


if __name__ == "__main__":
    main()
