#!/usr/bin/python3
"""Build dissectors/src/oui.{dat,names} (the vendor-from-MAC tables of `oui.rs`) from
Wireshark's copy of the IEEE registry.

    /usr/bin/python3 scripts/gen-oui.py [MANUF]        (default /usr/share/wireshark/manuf)

Debian: `apt-get install libwireshark-data`. The output is deterministic for a given input.

oui.names: every distinct vendor name once, each followed by '\n' (UTF-8, sorted).
oui.dat:   header  b"EOUI" ver:u8=1  pad:3  fnv1a64(MANUF):u64le  n24:u32le n28:u32le n36:u32le
           then three tables of fixed-size records sorted by key, no duplicate keys:
             MA-L /24: key = MAC >> 24 in 3 bytes BE, name offset in oui.names: 3 bytes BE
             MA-M /28: key = MAC >> 20 in 4 bytes BE, offset: 3 bytes BE
             MA-S /36: key = MAC >> 12 in 5 bytes BE, offset: 3 bytes BE
Entries whose first octet has the group (multicast) or locally-administered bit are left out:
`oui::vendor` answers None for those addresses anyway.

Vendor name: the first non-empty field after the short name that is not a '#' comment (the
IEEE organisation name; a few lines have an empty field first), else the short name;
whitespace runs collapsed to one space, cut to 40 characters, then trailing spaces and commas
removed. `dissectors/tests/oui.rs` re-derives the same names from MANUF and compares.
"""
import re
import struct
import sys
from pathlib import Path

MAX_CHARS = 40
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dissectors" / "src"


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def vendor_name(fields):
    name = fields[1] if len(fields) > 1 else ""
    for f in fields[2:]:
        if f.strip() and not f.lstrip().startswith("#"):
            name = f
            break
    name = " ".join(name.split())
    return name[:MAX_CHARS].rstrip(" ,")


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wireshark/manuf")
    raw = src.read_bytes()
    tables = {24: {}, 28: {}, 36: {}}
    skipped = 0
    for line in raw.decode("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        m = re.fullmatch(r"([0-9A-Fa-f:.\-]+)(?:/(\d+))?", fields[0].strip())
        if not m:
            sys.exit(f"unparsed line: {line!r}")
        digits = re.sub(r"[:.\-]", "", m.group(1))
        bits = int(m.group(2)) if m.group(2) else len(digits) * 4
        if bits not in tables:
            sys.exit(f"unexpected prefix length {bits}: {line!r}")
        mac = int(digits.ljust(12, "0"), 16)
        if (mac >> 40) & 0x03:
            skipped += 1
            continue
        key = mac >> (48 - bits)
        name = vendor_name(fields)
        if not name:
            skipped += 1
            continue
        # First line wins, as in Wireshark's own loader.
        tables[bits].setdefault(key, name)

    names = sorted({n for t in tables.values() for n in t.values()})
    pool = bytearray()
    offset = {}
    for n in names:
        offset[n] = len(pool)
        pool += n.encode("utf-8") + b"\n"
    if len(pool) >= 1 << 24:
        sys.exit("name pool too large for 3-byte offsets")

    dat = bytearray(b"EOUI" + bytes([1, 0, 0, 0]))
    dat += struct.pack("<QIII", fnv1a64(raw), len(tables[24]), len(tables[28]), len(tables[36]))
    for bits, key_len in ((24, 3), (28, 4), (36, 5)):
        for key in sorted(tables[bits]):
            dat += key.to_bytes(key_len, "big") + offset[tables[bits][key]].to_bytes(3, "big")

    (OUT / "oui.names").write_bytes(pool)
    (OUT / "oui.dat").write_bytes(dat)
    print(
        f"{src}: MA-L {len(tables[24])}, MA-M {len(tables[28])}, MA-S {len(tables[36])}, "
        f"{len(names)} distinct names ({skipped} group/local or nameless lines left out); "
        f"oui.dat {len(dat)} B, oui.names {len(pool)} B",
    )


if __name__ == "__main__":
    main()
