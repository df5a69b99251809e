"""Check edgetap's Community IDs against the reference implementation (PyPI `communityid`).

usage: community_id_check.py EVE_FILE PCAP

1. Every flow record's `community_id` equals communityid's hash of the record's own tuple.
2. The set of flow Community IDs equals the set communityid computes from every TCP, UDP,
   ICMP and ICMPv6 packet of the capture as tshark decodes it (outer header, first fragment).
Prints `ok FLOWS tcp=N udp=N icmp=N icmp6=N v6=N`; exits 1 with the differences otherwise.
"""
import json
import subprocess
import sys

import communityid

cid = communityid.CommunityID()
F = communityid.FlowTuple

eve, pcap = sys.argv[1], sys.argv[2]
ours = set()
kinds = {"tcp": 0, "udp": 0, "icmp": 0, "icmp6": 0, "v6": 0}
bad = []
for line in open(eve):
    r = json.loads(line)
    if r.get("event_type") != "flow":
        continue
    p = r["proto"]
    s, d = r["src_ip"], r["dest_ip"]
    if p == "TCP":
        t = F.make_tcp(s, d, r["src_port"], r["dest_port"])
        kinds["tcp"] += 1
    elif p == "UDP":
        t = F.make_udp(s, d, r["src_port"], r["dest_port"])
        kinds["udp"] += 1
    elif p == "ICMP":
        t = F.make_icmp(s, d, r["icmp_type"], r["icmp_code"])
        kinds["icmp"] += 1
    elif p == "IPv6-ICMP":
        t = F.make_icmp6(s, d, r["icmp_type"], r["icmp_code"])
        kinds["icmp6"] += 1
    else:
        continue
    if ":" in s:
        kinds["v6"] += 1
    want = cid.calc(t)
    if want != r["community_id"]:
        bad.append((want, r["community_id"], line[:300]))
    ours.add(r["community_id"])
if bad:
    print("MISMATCH", len(bad), bad[:3])
    sys.exit(1)

fields = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "ip.frag_offset"]
cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
for f in fields:
    cmd += ["-e", f]
out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
ref = set()
for row in out.splitlines():
    v = dict(zip(fields, row.split("\t")))
    src = v["ip.src"] or v["ipv6.src"]
    dst = v["ip.dst"] or v["ipv6.dst"]
    if not src or not dst:
        continue
    if v["ip.frag_offset"] not in ("", "0"):
        continue
    proto = v["ip.proto"] or v["ipv6.nxt"]
    if v["icmp.type"] and proto == "1":
        t = F.make_icmp(src, dst, int(v["icmp.type"]), int(v["icmp.code"] or 0))
    elif v["icmpv6.type"] and proto not in ("6", "17"):
        t = F.make_icmp6(src, dst, int(v["icmpv6.type"]), int(v["icmpv6.code"] or 0))
    elif v["tcp.srcport"]:
        t = F.make_tcp(src, dst, int(v["tcp.srcport"]), int(v["tcp.dstport"]))
    elif v["udp.srcport"]:
        t = F.make_udp(src, dst, int(v["udp.srcport"]), int(v["udp.dstport"]))
    elif v["icmp.type"]:
        t = F.make_icmp(src, dst, int(v["icmp.type"]), int(v["icmp.code"] or 0))
    elif v["icmpv6.type"]:
        t = F.make_icmp6(src, dst, int(v["icmpv6.type"]), int(v["icmpv6.code"] or 0))
    else:
        continue
    ref.add(cid.calc(t))
missing = ref - ours
extra = ours - ref
if missing or extra:
    print("DIFFER missing=%d extra=%d of %d" % (len(missing), len(extra), len(ref)))
    for row in out.splitlines():
        v = dict(zip(fields, row.split("\t")))
        pass
    if "-v" in sys.argv:
        print("missing", sorted(missing)[:5], "extra", sorted(extra)[:5])
    sys.exit(1)
print("ok", len(ours), " ".join("%s=%d" % kv for kv in kinds.items()))
