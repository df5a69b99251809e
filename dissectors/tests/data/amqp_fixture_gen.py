#!/usr/bin/env python3
"""Make an AMQP test fixture from a capture, with tshark as the reference.

    amqp_fixture_gen.py PCAP OUT [-d tcp.port==5673,amqp]

OUT lines:
  D frame stream dir hex   in-order TCP payload of a flow (dir 0 = to server, 1 = to client);
                           retransmitted bytes removed
  G frame stream dir len   bytes missing from the flow (a hole in the capture)
  E frame 0-9-1 channel class method   a 0-9-1 method frame tshark decodes in that frame
  E frame 1.0 performative             a 1.0 performative tshark decodes in that frame
Frames tshark marks malformed are left out of the E lines (as shared/tools/tshark-agree does).
"""
import json
import subprocess
import sys


def occ(v):
    return v if isinstance(v, list) else [v]


def hook(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            if not (isinstance(out[k], list) and getattr(out[k], "_m", False)):
                m = _M([out[k]])
                out[k] = m
            out[k].append(v)
        else:
            out[k] = v
    return out


class _M(list):
    _m = True


def find_all(tree, key):
    found = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            for item in (v if isinstance(v, _M) else [v]):
                if k == key and not isinstance(item, dict):
                    found.append(item)
                else:
                    found.extend(find_all(item, key))
    elif isinstance(tree, list):
        for item in tree:
            found.extend(find_all(item, key))
    return found


def first(tree, key):
    v = find_all(tree, key)
    return v[0] if v else None


def num(v):
    s = str(v)
    return int(s, 16) if s.lower().startswith("0x") else int(s)


def main():
    pcap, out = sys.argv[1], sys.argv[2]
    extra = sys.argv[3:]
    # Payloads.
    cmd = ["tshark", "-n", "-r", pcap, "-Y", "tcp", "-T", "fields", "-E", "separator=;",
           "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport",
           "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.seq", "-e", "tcp.len",
           "-e", "tcp.payload"] + extra
    rows = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    server = {}
    for row in rows:
        fr, st, sp, dp, syn, ack, seq, ln, pl = row.split(";")
        if st not in server and syn in ("1", "True") and ack in ("0", "False"):
            server[st] = dp
    lines = []
    nxt = {}
    for row in rows:
        fr, st, sp, dp, syn, ack, seq, ln, pl = row.split(";")
        if st not in server:
            server[st] = dp if int(dp) in (5672, 5673) or int(dp) < int(sp) else sp
        d = 0 if dp == server[st] else 1
        seq, ln = int(seq), int(ln)
        if syn in ("1", "True"):
            nxt[(st, d)] = seq + 1
            continue
        if ln == 0:
            continue
        data = bytes.fromhex(pl)
        key = (st, d)
        if key not in nxt:
            nxt[key] = seq
        if seq + ln <= nxt[key]:
            continue
        if seq < nxt[key]:
            data = data[nxt[key] - seq:]
            seq = nxt[key]
        if seq > nxt[key]:
            lines.append(f"G {fr} {st} {d} {seq - nxt[key]}")
        lines.append(f"D {fr} {st} {d} {data.hex()}")
        nxt[key] = seq + len(data)
    # What tshark decodes.
    cmd = ["tshark", "-n", "-r", pcap, "-T", "json", "-J", "frame amqp _ws.malformed", "-Y", "amqp"] + extra
    pkts = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout or "[]",
                      object_pairs_hook=hook)
    for p in pkts:
        layers = p["_source"]["layers"]
        fr = int(first(layers["frame"], "frame.number"))
        if "_ws.malformed" in layers:
            continue
        a_layers = layers.get("amqp", [])
        for a in (a_layers if isinstance(a_layers, _M) else [a_layers]):
            if not isinstance(a, dict):
                continue
            perf = first(a, "amqp.performative")
            cls = first(a, "amqp.method.class")
            if perf is not None:
                lines.append(f"E {fr} 1.0 {num(perf)}")
            elif cls is not None:
                lines.append(f"E {fr} 0-9-1 {num(first(a, 'amqp.channel'))} {num(cls)} "
                             f"{num(first(a, 'amqp.method.method'))}")
    lines.sort(key=lambda l: (int(l.split(" ")[1]), l[0] == "E"))
    with open(out, "w") as f:
        f.write(f"# {pcap.split('/')[-1]} (tshark {tshark_version()})\n")
        f.write("\n".join(lines) + "\n")


def tshark_version():
    v = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return v.split(" ")[2] if len(v.split(" ")) > 2 else "?"


if __name__ == "__main__":
    main()
