#!/usr/bin/env python3
"""Regenerate the BACnet real-capture fixtures (bacnet_*.tsv) from pcaps, with tshark as the oracle.

    python3 dissectors/tests/data/bacnet_gen.py /work/shared/pcaps/public/bacnet/*.pcap /work/shared/pcaps/peers/bacnet/*.pcap

For each pcap writes bacnet_<stem>.tsv: one line per distinct (UDP payload, expected fields), with
    count <TAB> first frame <TAB> payload hex <TAB> expected JSON (or "malformed") <TAB> extra JSON
Distinct datagrams are thinned to at most 3 per shape (fields present, payload length, service)
unless BACNET_FULL=1 is set (the full set of the two large captures is ~1.5 MB).
The expected fields are exactly what ../shared/tools/tshark-agree extracts from tshark; the extra
ones are further fields tshark shows (routing, object, property, error/reject/abort reasons,
segmentation), checked too.
"""
import importlib.machinery, importlib.util, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
AGREE = os.environ.get("TSHARK_AGREE", "/work/shared/tools/tshark-agree")
loader = importlib.machinery.SourceFileLoader("tshark_agree", AGREE)
spec = importlib.util.spec_from_loader("tshark_agree", loader)
ta = importlib.util.module_from_spec(spec)
loader.exec_module(ta)

for pcap in sys.argv[1:]:
    stem = os.path.splitext(os.path.basename(pcap))[0].replace("-", "_")
    if stem.startswith("bacnet_"):
        stem = stem[len("bacnet_"):]
    pdus, malformed, _ = ta.tshark_pdus(pcap, [])
    res = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", "bvlc", "-T", "fields",
                          "-e", "frame.number", "-e", "udp.payload"], capture_output=True, text=True, check=True)
    EXTRA = [("frame.number", None), ("bacnet.dnet", "dnet"), ("bacnet.snet", "snet"), ("bacnet.hopc", "hop_count"),
             ("bacapp.type", None), ("bacapp.confirmed_service", None), ("bacnet.mesgtyp", None),
             ("bacapp.objectType", "object_type"), ("bacapp.instance_number", "object_instance"),
             ("bacapp.property_identifier", "property_id"), ("bacapp.error_class", "error_class"),
             ("bacapp.error_code", "error_code"), ("bacapp.reject_reason", "reject_reason"),
             ("bacapp.abort_reason", "abort_reason"), ("bacapp.vendor_identifier", "vendor_id"),
             ("bacapp.sequence_number", "sequence_number"), ("bacapp.window_size", "window_size")]
    cmd = ["tshark", "-n", "-r", pcap, "-Y", "bvlc", "-T", "fields", "-E", "occurrence=f"]
    for f, _ in EXTRA:
        cmd += ["-e", f]
    extra = {}
    for line in subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines():
        vals = line.split("\t")
        row = dict(zip([n or f for f, n in EXTRA], vals))
        typ, svc = row.get("bacapp.type", ""), row.get("bacapp.confirmed_service", "")
        keep = {"dnet", "snet", "hop_count", "error_class", "error_code", "reject_reason", "abort_reason",
                "sequence_number", "window_size"}
        if row.get("bacnet.mesgtyp", ""):
            keep.discard("dnet")  # tshark shows network-message network lists as bacnet.dnet
        if typ in ("0", "3") and svc in ("12", "15"):
            keep |= {"object_type", "object_instance", "property_id"}
        extra[int(vals[0])] = {k: ta.norm(v) for k, v in row.items() if k in keep and v != ""}
    rows = {}
    order = []
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1]:
            continue
        frame, payload = int(parts[0]), parts[1].split(",")[0]
        want = pdus.get((frame, "bacnet"))
        if frame in malformed:
            exp = "malformed"
        elif not want:
            continue
        else:
            exp = json.dumps(want[0], sort_keys=True, separators=(",", ":"))
        key = (payload, exp, json.dumps(extra.get(frame, {}), sort_keys=True, separators=(",", ":")))
        if key not in rows:
            rows[key] = [0, frame]
            order.append(key)
        rows[key][0] += 1
    if os.environ.get("BACNET_FULL") != "1":
        shapes = {}
        kept = []
        for key in order:
            payload, exp, ext = key
            e = {} if exp == "malformed" else json.loads(exp)
            shape = (len(payload), e.get("bvlc_function"), e.get("network_message"), e.get("apdu_type"),
                     e.get("service"), tuple(sorted(e)), tuple(sorted(json.loads(ext))))
            shapes[shape] = shapes.get(shape, 0) + 1
            if shapes[shape] <= 3:
                kept.append(key)
        order = kept
    out = os.path.join(HERE, f"bacnet_{stem}.tsv")
    with open(out, "w") as f:
        for key in order:
            c, fr = rows[key]
            f.write(f"{c}\t{fr}\t{key[0]}\t{key[1]}\t{key[2]}\n")
    print(out, len(order), "distinct of", sum(r[0] for r in rows.values()))
