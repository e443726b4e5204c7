#!/usr/bin/env python3
"""The comparison chart of a bench/tftp-rack.sh or bench/http-rack.sh run, as SVG.

  rack-chart.py [--run ID] [-o FILE.svg] FILE.jsonl

Without --run, the latest run in FILE. One panel per scenario variant
(tftp-rack) or mode (http-rack); in each, a bar per server from its clients'
median to their 99th percentile completion time, a tick at its makespan, and
the wire limit (every payload byte at the link rate, headers left out) as a
dashed line. Servers with failed clients are marked. Hand-written SVG, no
external assets, like `herd swarm --chart`: open it in a browser.
"""
import argparse
import json
import sys
from xml.sax.saxutils import escape

ORDER = ["herd", "herd-default", "dnsmasq", "tftpd-hpa", "atftpd", "nginx", "dnsmasq+nginx"]
W = 860
ROW = 22
LEFT = 140
RIGHT = 40
COLORS = {"herd": "#1f6fb4", "herd-default": "#5fa2dd"}


def load(path, run):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rec = json.loads(line)
                if "run_id" in rec and "swarm" in rec:
                    recs.append(rec)
    if run is None and recs:
        run = recs[-1]["run_id"]
    return run, [r for r in recs if r["run_id"] == run]


def panel_key(r):
    if "mode" in r:
        return r["mode"]
    return f'{r["scenario"]}/{r["variant"]}'


def payload_bytes(r):
    if "file_bytes" in r:
        return r["n"] * r["file_bytes"]
    return r["n"] * (r.get("kernel_bytes", 0) + r.get("initrd_bytes", 0))


def secs(v):
    return v if isinstance(v, (int, float)) and v >= 0 else None


def panels(recs):
    out = {}
    for r in recs:
        out.setdefault(panel_key(r), []).append(r)
    for rows in out.values():
        rows.sort(key=lambda r: ORDER.index(r["server"]) if r["server"] in ORDER else 99)
    return out


def nice_step(tmax):
    """1, 2 or 5 times a power of ten: 4 to 10 ticks."""
    p = 1.0
    while p * 10 <= tmax:
        p *= 10
    while p > tmax:
        p /= 10
    r = tmax / p
    return 2 * p if r > 5 else p if r > 2 else p / 2 if r > 1 else p / 5


def draw_panel(svg, y, title, rows):
    """Appends one panel at y; returns the y below it."""
    rate = rows[0].get("rate_bps") or 0
    wire = payload_bytes(rows[0]) * 8 / rate if rate else None
    tmax = max([wire or 0] + [secs(r["swarm"].get("makespan_s")) or 0 for r in rows]
               + [secs(r["swarm"].get("completion_p99_s")) or 0 for r in rows]) * 1.08 or 1
    x = lambda t: LEFT + (W - LEFT - RIGHT) * t / tmax  # noqa: E731
    r0 = rows[0]
    svg.append(f'<text x="10" y="{y + 14}" font-size="14" font-weight="bold">'
               f'{escape(title)}: {r0["n"]} clients</text>')
    y += 24
    top = y
    for r in rows:
        s = r["swarm"]
        p50, p99, ms = (secs(s.get(k)) for k in ("completion_p50_s", "completion_p99_s",
                                                  "makespan_s"))
        failed = s.get("failed", 0)
        label = r["server"] + (f" ({failed} failed)" if failed else "")
        svg.append(f'<text x="{LEFT - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
                   f'{escape(label)}</text>')
        color = COLORS.get(r["server"], "#888")
        if p50 is not None and p99 is not None:
            svg.append(f'<rect x="{x(p50):.1f}" y="{y + 4}" width="{max(x(p99) - x(p50), 1):.1f}"'
                       f' height="{ROW - 8}" fill="{color}"/>')
        if ms is not None:
            svg.append(f'<line x1="{x(ms):.1f}" y1="{y + 2}" x2="{x(ms):.1f}" y2="{y + ROW - 2}"'
                       f' stroke="#222" stroke-width="2"/>')
        y += ROW
    if wire:
        svg.append(f'<line x1="{x(wire):.1f}" y1="{top - 4}" x2="{x(wire):.1f}" y2="{y + 2}" '
                   f'stroke="#c0392b" stroke-dasharray="6 4" stroke-width="1.5"/>')
        svg.append(f'<text x="{x(wire) + 4:.1f}" y="{top + 6}" font-size="11" fill="#c0392b">'
                   f'wire limit {wire:.2f} s</text>')
    svg.append(f'<line x1="{LEFT}" y1="{y + 2}" x2="{W - RIGHT}" y2="{y + 2}" stroke="#333"/>')
    step = nice_step(tmax)
    for i in range(int(tmax / step) + 1):
        t = i * step
        svg.append(f'<text x="{x(t):.1f}" y="{y + 16}" text-anchor="middle" font-size="11">'
                   f'{t:g}</text>')
    return y + 34


def chart(run, recs):
    svg = []
    y = 40
    for title, rows in panels(recs).items():
        y = draw_panel(svg, y, title, rows)
    legend = ('<text x="10" y="22" font-size="12">bars: clients\' completion p50 to p99; '
              'black tick: makespan (seconds); dashed: the wire limit</text>')
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{y + 10}" '
            f'viewBox="0 0 {W} {y + 10}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<title>{escape(str(run))}</title>\n{legend}\n')
    return head + "\n".join(svg) + "\n</svg>\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run")
    ap.add_argument("-o", "--output")
    ap.add_argument("file")
    a = ap.parse_args()
    run, recs = load(a.file, a.run)
    if not recs:
        print(f"rack-chart.py: no records in {a.file}", file=sys.stderr)
        return 1
    text = chart(run, recs)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
