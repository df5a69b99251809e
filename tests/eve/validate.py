"""Validate EVE record files against Suricata 8's schema (../shared/eve-schema.json).

Records of Suricata's own event types are checked against the schema exactly as it is. Records
of edgetap's own event types (bacnet, amqp, opcua) are checked against the same schema with
one property added for their body, from docs/eve/edgetap-eve.schema.json; every other field
of theirs is Suricata's.

usage: validate.py SCHEMA OWN_SCHEMA FILE...   prints `valid N {type: count}`; exit 1 on the
first invalid record.
"""
import copy
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
own = json.load(open(sys.argv[2]))
stock = jsonschema.Draft7Validator(schema)
extended = copy.deepcopy(schema)
for name, body in own["properties"].items():
    extended["properties"][name] = body
extended.setdefault("$defs", {}).update(own.get("$defs", {}))
ours = jsonschema.Draft7Validator(extended)
OWN = set(own["properties"])

counts = {}
n = 0
for path in sys.argv[3:]:
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            et = rec.get("event_type")
            v = ours if et in OWN else stock
            errs = sorted(v.iter_errors(rec), key=lambda e: list(e.path))
            if errs:
                e = errs[0]
                print("INVALID %s: %s at %s: %s" % (path, e.message, list(e.path), line[:400]))
                sys.exit(1)
            if et not in OWN and et not in ("flow", "stats", "anomaly", "arp", "alert"):
                # Suricata's protocol objects must carry the body under their own key.
                assert et in rec, line[:300]
            counts[et] = counts.get(et, 0) + 1
            n += 1
print("valid", n, json.dumps(counts, sort_keys=True))
