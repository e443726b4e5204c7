#!/usr/bin/env python3
"""Prints a line for every open or read of the given files, until killed.
Used to prove that herd never touches a file outside its TFTP root."""

import ctypes
import os
import signal
import struct
import sys

IN_ACCESS, IN_OPEN = 0x1, 0x20

libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
if fd < 0:
    sys.exit("inotify_init: %s" % os.strerror(ctypes.get_errno()))
names = {}
for path in sys.argv[1:]:
    wd = libc.inotify_add_watch(fd, path.encode(), IN_ACCESS | IN_OPEN)
    if wd < 0:
        sys.exit("inotify_add_watch %s: %s" % (path, os.strerror(ctypes.get_errno())))
    names[wd] = path
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("watching", flush=True)
while True:
    buf = os.read(fd, 4096)
    off = 0
    while off + 16 <= len(buf):
        wd, mask, _cookie, size = struct.unpack_from("iIII", buf, off)
        off += 16 + size
        what = "open" if mask & IN_OPEN else "read"
        print("%s %s" % (what, names.get(wd, "?")), flush=True)
