#!/usr/bin/env python3
"""A tiny UDP syslog catcher for the dnsmasq validation (herd has its own
receiver): writes one line per datagram, "<epoch> <sender> <text>", flushed.

    syslog_catch.py ADDRESS PORT OUTFILE
"""
import socket
import sys
import time


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, port))
    with open(out, "a", buffering=1) as f:
        while True:
            data, src = s.recvfrom(65535)
            text = data.decode("utf-8", "backslashreplace").rstrip("\r\n\0")
            for line in text.split("\n"):
                f.write("%.3f %s %s\n" % (time.time(), src[0], line))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
