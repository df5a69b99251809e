#!/usr/bin/env bash
# Build seed corpora for the fuzz targets from the real captures.
#
#   fuzz/seed.sh [PCAP_DIR...]      (default: the shared captures beside the repository, ../shared/pcaps/{public,peers})
#
# Needs tshark, editcap and python3. Writes fuzz/corpus/<target>/ (gitignored); existing
# files are kept, seeds are named by content hash so re-running adds nothing twice.
#   <proto>_pdu     one file per TCP/UDP payload (per packet, either direction)
#   <proto>_stream  one file per TCP conversation (per UDP pair for BACnet): the payloads in
#                   capture order, each chunk `flags(dir) data`, chunks joined by the separator
#   capture_file    small captures whole; the first packets of larger ones (pcap and pcapng)
#   decode_frames   frames of every capture in the decode_frames format, also re-wrapped as
#                   raw IP, BSD null, Linux SLL and SLL2 so every link decoder gets seeds
#   stream_segments none (the target generates its own Modbus/TCP; it starts from nothing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/corpus"
if [ $# -eq 0 ]; then shared="$(cd "$(dirname "$0")/../../shared" && pwd)"; set -- "$shared/pcaps/public" "$shared/pcaps/peers"; fi
for t in tshark editcap python3; do
    command -v "$t" >/dev/null || { echo "seed.sh: $t not found" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$corpus"

# capture_file: whole small captures, and the first 30 packets of big ones in both formats.
mkdir -p "$corpus/capture_file"
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    size=$(stat -c %s "$f")
    if [ "$size" -le 65536 ]; then
        cp "$f" "$corpus/capture_file/$(sha1sum "$f" | cut -c1-16)"
    else
        for fmt in pcap pcapng; do
            out="$tmp/head.$fmt"
            if editcap -F "$fmt" -r "$f" "$out" 1-30 2>/dev/null; then
                cp "$out" "$corpus/capture_file/$(sha1sum "$out" | cut -c1-16)"
            fi
        done
    fi
done < <(find "$@" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
echo "capture_file: $(ls "$corpus/capture_file" | wc -l) seeds from $n captures"

# Payload fields of every capture (legacy pcap copies for python's frame reader).
while IFS= read -r -d '' f; do
    base="$(basename "$f")"; base="${base%.*}"
    # The protocol is the capture's directory (public/<proto>/, peers/<proto>/); others: none.
    proto="$(basename "$(dirname "$f")")"
    key="$proto--$base"
    editcap -F pcap "$f" "$tmp/$key.pcap" 2>/dev/null || continue
    tshark -r "$f" -Y 'tcp.len > 0 || udp.length > 8' -T fields -E separator=/t \
        -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.payload \
        -e udp.srcport -e udp.dstport -e udp.payload > "$tmp/$key.tsv" 2>/dev/null || true
done < <(find "$@" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)

python3 - "$tmp" "$corpus" <<'PY'
import hashlib, os, struct, sys
tmp, corpus = sys.argv[1], sys.argv[2]
PROTOS = {"modbus", "mqtt", "bacnet", "amqp", "opcua"}
SERVER_PORTS = {502, 1883, 8883, 5672, 4840, 47808}
SEP = bytes([0x01, 0xD5, 0xCA, 0x7A])
PDU_MAX, STREAM_MAX, PER_CAPTURE_PDUS = 4096, 2048, 400

def put(target, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def to_server(sport, dport):
    if dport in SERVER_PORTS: return True
    if sport in SERVER_PORTS: return False
    return dport < sport

# Payload seeds.
for name in sorted(os.listdir(tmp)):
    if not name.endswith(".tsv"): continue
    proto = name.split("--")[0]
    if proto not in PROTOS: continue
    streams, seen = {}, 0
    for line in open(os.path.join(tmp, name)):
        f = line.rstrip("\n").split("\t")
        if len(f) < 7: continue
        stream, tsp, tdp, tpl, usp, udp_, upl = f[:7]
        try:
            if tpl:
                sp, dp, payload, key = int(tsp), int(tdp), bytes.fromhex(tpl.replace(":", "")), ("t", stream)
            elif upl:
                sp, dp, payload = int(usp), int(udp_), bytes.fromhex(upl.replace(":", ""))
                key = ("u",) + tuple(sorted([sp, dp]))
            else:
                continue
        except ValueError:
            continue
        if not payload: continue
        if seen < PER_CAPTURE_PDUS and len(payload) <= PDU_MAX:
            put(proto + "_pdu", payload)
            seen += 1
        streams.setdefault(key, []).append((0 if to_server(sp, dp) else 1, payload))
    for chunks in streams.values():
        out = b""
        for i, (d, p) in enumerate(chunks):
            piece = (SEP if i else b"") + bytes([d]) + p
            if out and len(out) + len(piece) > STREAM_MAX:
                put(proto + "_stream", out)
                out = bytes([d]) + p
            else:
                out += piece
        if out: put(proto + "_stream", out)

# decode_frames seeds: legacy pcap frames, re-wrapped for each link type.
SEL = {1: 0, 113: 1, 276: 2, 101: 3, 0: 4}
def frames(path):
    b = open(path, "rb").read()
    if len(b) < 24: return None, []
    magic = b[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", b[20:24])[0] & 0xFFFF
    out, off = [], 24
    while off + 16 <= len(b):
        s, frac, incl, _orig = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        out.append((s * 10**9 + (frac if nano else frac * 1000), b[off:off + incl]))
        off += incl
    return link, out

def rewrap(frame, link):
    """An Ethernet frame as another link type (None if it does not carry IP)."""
    if len(frame) < 14: return None
    et = frame[12:14]
    if et not in (b"\x08\x00", b"\x86\xdd"): return None
    ip = frame[14:]
    if link == 101: return ip
    if link == 0: return struct.pack("<I", 2 if et == b"\x08\x00" else 30) + ip
    if link == 113: return struct.pack(">HHH", 0, 1, 6) + frame[6:12] + b"\0\0" + et + ip
    if link == 276: return et + b"\0\0" + struct.pack(">IHBB", 1, 1, 0, 6) + frame[6:12] + b"\0\0" + ip
    return None

for name in sorted(os.listdir(tmp)):
    if not name.endswith(".pcap"): continue
    link, fr = frames(os.path.join(tmp, name))
    if link not in SEL or not fr: continue
    # Up to 8 seeds of up to 32 frames from each capture, at spread-out positions.
    step = max(32, len(fr) // 8)
    for start in range(0, len(fr), step):
        group = fr[start:start + 32]
        variants = [(link, [f for _, f in group])]
        if link == 1 and start == 0:
            for l2 in (101, 0, 113, 276):
                variants.append((l2, [rewrap(f, l2) for _, f in group]))
        for l, fs in variants:
            out, prev = bytes([SEL[l]]), group[0][0]
            for (ts, _), f in zip(group, fs):
                if f is None: continue
                dt = min(255, max(0, (ts - prev) // 50_000_000))
                prev = ts
                out += struct.pack("<HB", len(f), dt) + f
            put("decode_frames", out)
            put("site_frames", out)

for t in sorted(os.listdir(corpus)):
    print(f"{t}: {len(os.listdir(os.path.join(corpus, t)))} seeds")
PY
