#!/usr/bin/env python3
"""Regenerate the MQTT fixtures from real captures (needs tshark).

For each capture: `<name>.segments.tsv` holds every TCP segment with payload of the MQTT
streams (port 1883): frame number, stream index, direction (0 to server, 1 to client), relative
sequence number, payload hex. `<name>.tshark.jsonl` holds what tshark decodes, one line per
MQTT PDU, with the contract fields named as edgetap names them (same extraction as
shared/tools/tshark-agree; frames tshark marks malformed are left out).

    python3 mqtt_fixtures.py OUTDIR PCAP...
"""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys

AGREE = os.environ.get("TSHARK_AGREE", "/work/shared/tools/tshark-agree")


def load_agree():
    loader = importlib.machinery.SourceFileLoader("tshark_agree", AGREE)
    spec = importlib.util.spec_from_loader("tshark_agree", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def segments(pcap):
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-Y", "tcp.len>0 && tcp.port==1883", "-T", "fields",
         "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.dstport", "-e", "tcp.seq",
         "-e", "tcp.payload"],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        frame, stream, dport, seq, payload = line.split("\t")
        rows.append((int(frame), int(stream), 0 if dport == "1883" else 1, int(seq), payload))
    return rows


def main():
    outdir, pcaps = sys.argv[1], sys.argv[2:]
    agree = load_agree()
    for pcap in pcaps:
        name = "mqtt_" + os.path.splitext(os.path.basename(pcap))[0].replace("-", "_")
        with open(os.path.join(outdir, name + ".segments.tsv"), "w") as f:
            for r in segments(pcap):
                f.write("\t".join(map(str, r)) + "\n")
        pdus, malformed, _ = agree.tshark_pdus(pcap, [])
        with open(os.path.join(outdir, name + ".tshark.jsonl"), "w") as f:
            for (frame, proto), lst in sorted(pdus.items()):
                if proto != "mqtt" or frame in malformed:
                    continue
                for fields in lst:
                    f.write(json.dumps({"frame": frame, "mqtt": fields}, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
