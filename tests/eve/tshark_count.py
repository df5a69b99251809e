"""Count Modbus and MQTT transactions in edgetap's EVE records against tshark.

usage: tshark_count.py EVE_FILE PCAP [-d tcp.port==N,proto ...]

Every Modbus PDU tshark decodes (by function code, exception bit cleared) must appear once as
a `modbus.request` or `modbus.response` object, and every MQTT control packet (by type) once
under its type's key of an `mqtt` record. MQTT 5 AUTH packets and the reserved type 0 have no
object in Suricata's schema and are left out of both counts. Prints `ok modbus=N mqtt=N`; exit 1 on a difference.
"""
import collections
import json
import subprocess
import sys

eve, pcap = sys.argv[1], sys.argv[2]
decode_as = []
args = sys.argv[3:]
while args:
    if args[0] == "-d" and len(args) > 1:
        decode_as += ["-d", args[1]]
        args = args[2:]
    else:
        args = args[1:]

MQTT_TYPES = ["connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
              "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp",
              "disconnect"]

ours = collections.Counter()
for line in open(eve):
    r = json.loads(line)
    if r.get("event_type") == "modbus":
        for side in ("request", "response"):
            if side in r["modbus"]:
                ours[("modbus", r["modbus"][side]["function_raw"] & 0x7F)] += 1
    elif r.get("event_type") == "mqtt":
        for k in r["mqtt"]:
            ours[("mqtt", MQTT_TYPES.index(k) + 1)] += 1

cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
       "-e", "modbus.func_code", "-e", "mqtt.msgtype"] + decode_as
out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
theirs = collections.Counter()
for row in out.splitlines():
    mb, mq = (row.split("\t") + ["", ""])[:2]
    for fc in filter(None, mb.split(",")):
        theirs[("modbus", int(fc) & 0x7F)] += 1
    for t in filter(None, mq.split(",")):
        if 1 <= int(t) <= 14:
            theirs[("mqtt", int(t))] += 1
if ours != theirs:
    diff = {str(k): (ours.get(k, 0), theirs.get(k, 0)) for k in set(ours) | set(theirs)
            if ours.get(k, 0) != theirs.get(k, 0)}
    print("DIFFER (ours, tshark):", json.dumps(diff, sort_keys=True))
    sys.exit(1)
n = lambda p: sum(v for k, v in ours.items() if k[0] == p)
print("ok modbus=%d mqtt=%d" % (n("modbus"), n("mqtt")))
