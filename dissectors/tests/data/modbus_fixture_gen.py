#!/usr/bin/env python3
"""Make a Modbus test fixture from a pcap with tshark: in-order TCP payloads per flow (a tiny
reassembler: retransmitted bytes dropped, holes become gaps) and tshark's Modbus PDUs."""
import subprocess, sys
pcap, out = sys.argv[1], sys.argv[2]
def ts(*a):
    r = subprocess.run(["tshark", "-n", "-r", pcap, *a], capture_output=True, text=True, check=True)
    return [l.split("\t") for l in r.stdout.splitlines() if l]
lines = []
nxt = {}
for fr, st, sp, seq, ln, syn, fin, pl in ts("-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream",
        "-e", "tcp.srcport", "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin", "-e", "tcp.payload"):
    d = 1 if sp == "502" else 0
    key = (st, d)
    seq, ln = int(seq), int(ln)
    if syn in ("1", "True"):
        nxt[key] = (seq + 1) & 0xffffffff
        continue
    if ln == 0:
        continue
    data = bytes.fromhex(pl)
    if key not in nxt:
        nxt[key] = seq
    off = (seq - nxt[key]) & 0xffffffff
    if off >= 0x80000000:  # old data (retransmission / overlap)
        back = 0x100000000 - off
        if back >= ln:
            continue
        data = data[back:]
        seq = nxt[key]
    elif off > 0:
        lines.append(f"G {fr} {st} {d} {off}")
    lines.append(f"D {fr} {st} {d} {data.hex()}")
    nxt[key] = (seq + len(data)) & 0xffffffff
for row in ts("-Y", "mbtcp && !_ws.malformed", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
              "-e", "frame.number", "-e", "mbtcp.trans_id", "-e", "mbtcp.unit_id", "-e", "modbus.func_code", "-e", "modbus.exception_code"):
    fr, tids, units, fcs, excs = (row + [""] * 5)[:5]
    tids, units, fcs = tids.split(","), units.split(","), fcs.split(",")
    # exception codes only appear for exception PDUs: hand them out in order
    excs = [e for e in excs.split(",") if e]
    for i, tid in enumerate(tids):
        fc = int(fcs[i]) if i < len(fcs) and fcs[i] else -1
        exc = "-"
        if fc >= 0 and fc & 0x80 and excs:
            exc = excs.pop(0)
        lines.append(f"E {fr} {tid} {units[i] if i < len(units) else '-'} {fc & 0x7f if fc >= 0 else '-'} {exc}")
open(out, "w").write(f"# {pcap.split('/')[-1]}: D frame stream dir hex | G frame stream dir len | E frame tid unit fc exc (tshark)\n" + "\n".join(lines) + "\n")
