#!/usr/bin/env bash
# Records pcaps/mqtt/sparkplug-mosquitto.pcap: Sparkplug B over a real broker (mosquitto) with
# mosquitto_pub/mosquitto_sub as the host application and the edge node:
# The host application's clients bind 127.0.0.3 and the edge node's 127.0.0.2, so each is a
# device of its own; the broker listens on 127.0.0.1.
#   - host application `scada-host` publishes its retained STATE (spBv1.0/STATE/scada-host) and
#     subscribes to spBv1.0/Plant1/#;
#   - edge node `edge-gw-01` (group Plant1) connects with its NDEATH as will, publishes NBIRTH,
#     DBIRTH and DDATA for the device pump-3;
#   - the host sends an NCMD (rebirth) to the edge node.
# Payloads are Sparkplug B protobuf messages written byte by byte below (timestamp, one metric,
# seq); the broker does not read them and edgetap only reads the topic namespace.
# Needs root (tcpdump on lo), tcpdump, mosquitto, mosquitto-clients. Port: MQTT_PORT
# (default 1885), 127.0.0.1 only; tcpdump is stopped with SIGINT 1 s after the last client.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MQTT_PORT="${MQTT_PORT:-1885}"
OUT="$ROOT/pcaps/mqtt/sparkplug-mosquitto.pcap"
[ "$(id -u)" = 0 ] || { echo "record-sparkplug.sh: needs root (tcpdump on lo)" >&2; exit 1; }
TMP="$(mktemp -d)"
chmod 755 "$TMP"
BROKER="" CAPPID="" SUBPID=""
cleanup() {
    [ -n "$CAPPID" ] && kill -INT "$CAPPID" 2>/dev/null || true
    [ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null || true
    [ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
waitport() { for _ in $(seq 1 400); do ss -Hlnt "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "nothing on port $1" >&2; return 1; }
ss -Hlnt "sport = :$MQTT_PORT" | grep -q . && { echo "tcp port $MQTT_PORT is in use; set MQTT_PORT" >&2; exit 1; }

# Sparkplug B payload: timestamp (field 1), one metric (field 2: name, datatype, int value),
# seq (field 3). Protobuf varints by hand: all values here are below 128 except the timestamp.
payload() { # FILE METRIC VALUE SEQ
    python3 - "$@" <<'PY'
import sys, time
path, name, value, seq = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)
metric = b"\x0a" + varint(len(name)) + name + b"\x20\x03" + b"\x50" + varint(value)  # Int32
msg = b"\x08" + varint(int(time.time() * 1000)) + b"\x12" + varint(len(metric)) + metric + b"\x18" + varint(seq)
open(path, "wb").write(msg)
PY
}

mosquitto_passwd -c -b "$TMP/passwd" alice secret
sed -e "s|@PORT@|$MQTT_PORT|" -e "s|@PASSWD@|$TMP/passwd|" "$ROOT/tests/peers/mosquitto.conf" >"$TMP/mosquitto.conf"
mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 & BROKER=$!
waitport "$MQTT_PORT" || { cat "$TMP/mosquitto.log" >&2; exit 1; }
tcpdump -i lo -U -s 0 -w "$TMP/sp.pcap" "tcp port $MQTT_PORT" >"$TMP/tcpdump.log" 2>&1 & CAPPID=$!
for _ in $(seq 1 200); do grep -q listening "$TMP/tcpdump.log" && break; sleep 0.05; done

H=(-h 127.0.0.1 -p "$MQTT_PORT" -u alice -P secret -q 1)
payload "$TMP/nbirth" "bdSeq" 0 0
payload "$TMP/dbirth" "Pump/Speed" 1450 1
payload "$TMP/ddata" "Pump/Speed" 1460 2
payload "$TMP/ncmd" "Node Control/Rebirth" 1 0
payload "$TMP/ndeath" "bdSeq" 0 0

# Host application: retained STATE, then a subscription to the group (waits for 4 messages).
mosquitto_pub "${H[@]}" -A 127.0.0.3 -V mqttv311 -i scada-host -t spBv1.0/STATE/scada-host -r -m '{"online":true,"timestamp":0}'
mosquitto_sub "${H[@]}" -A 127.0.0.3 -V mqttv311 -i scada-host-sub -t 'spBv1.0/Plant1/#' -C 4 -W 20 >"$TMP/sub.out" & SUBPID=$!
for _ in $(seq 1 400); do grep -q "Sending SUBACK to scada-host-sub" "$TMP/mosquitto.log" && break; sleep 0.05; done
# Edge node: each publish on a connection of its own, each with the NDEATH will.
W=(--will-topic spBv1.0/Plant1/NDEATH/edge-gw-01 --will-qos 1 --will-payload "$(cat "$TMP/ndeath" | base64 -w0)")
mosquitto_pub "${H[@]}" -A 127.0.0.2 -V mqttv311 -i edge-gw-01 "${W[@]}" -t spBv1.0/Plant1/NBIRTH/edge-gw-01 -f "$TMP/nbirth"
mosquitto_pub "${H[@]}" -A 127.0.0.2 -V mqttv311 -i edge-gw-01 "${W[@]}" -t spBv1.0/Plant1/DBIRTH/edge-gw-01/pump-3 -f "$TMP/dbirth"
mosquitto_pub "${H[@]}" -A 127.0.0.2 -V mqttv311 -i edge-gw-01 "${W[@]}" -t spBv1.0/Plant1/DDATA/edge-gw-01/pump-3 -f "$TMP/ddata"
# Host application: rebirth command to the edge node.
mosquitto_pub "${H[@]}" -A 127.0.0.3 -V mqttv311 -i scada-host -t spBv1.0/Plant1/NCMD/edge-gw-01 -f "$TMP/ncmd"
wait "$SUBPID" || true; SUBPID=""
sleep 1; kill -INT "$CAPPID"; wait "$CAPPID" || true; CAPPID=""
grep captured "$TMP/tcpdump.log"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/sp.pcap" "$OUT"
echo "wrote $OUT ($(mosquitto -h 2>&1 | head -1))"
