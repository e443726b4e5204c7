#!/usr/bin/env python3
"""Lists the network drivers inside an OVMF firmware image.

OVMF_CODE.fd keeps its DXE drivers in one LZMA-compressed firmware volume
(a GUID-defined section, EE4E5898-3914-4259-9D6E-DC7BD79403CF). This
finds each such section, decompresses it and looks for each driver's
FILE_GUID and its UI name (UTF-16), enough to tell whether a build carries
UEFI HTTP boot (HttpBootDxe) without booting it.

    python3 ovmf_modules.py /usr/share/OVMF/OVMF_CODE.fd
"""
import lzma
import sys
import uuid

LZMA_SECTION = uuid.UUID("ee4e5898-3914-4259-9d6e-dc7bd79403cf").bytes_le
DRIVERS = {
    "HttpBootDxe": "ecebcb00-d9c8-11e4-af3d-8cdcd426c973",
    "HttpDxe": "2366c20f-e15a-11e3-8bf1-e4115b28bc50",
    "UefiPxeBcDxe": "b95e9fda-26de-48d2-8807-1f9107ac5e3a",
}
NAMES = ["HttpBootDxe", "HttpDxe", "HttpUtilitiesDxe", "DnsDxe", "TlsDxe", "PxeBcDxe",
         "Ip4Dxe", "Ip6Dxe", "VirtioNetDxe"]


def volumes(data):
    at = data.find(LZMA_SECTION)
    while at >= 0:
        # the GUID follows the 4-byte section header; then DataOffset (2)
        # and Attributes (2), and the data at DataOffset from the header
        start = at - 4
        offset = int.from_bytes(data[at + 16:at + 18], "little")
        try:
            yield lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(
                data[start + offset:])
        except lzma.LZMAError:
            pass
        at = data.find(LZMA_SECTION, at + 16)


def main():
    data = open(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/OVMF/OVMF_CODE.fd",
                "rb").read()
    found = set()
    for vol in volumes(data):
        for name in NAMES:
            if name.encode("utf-16-le") in vol:
                found.add(name)
        for name, guid in DRIVERS.items():
            if uuid.UUID(guid).bytes_le in vol:
                found.add(name + " (FILE_GUID)")
    for name in NAMES + [n + " (FILE_GUID)" for n in DRIVERS]:
        print("%-26s %s" % (name, "yes" if name in found else "no"))
    return 0 if "HttpBootDxe" in found else 1


if __name__ == "__main__":
    sys.exit(main())
