#!/usr/bin/env bash
# Records the real-peer MQTT and BACnet exchanges of tests/live_mqtt.rs and tests/live_bacnet.rs
# into committed captures for golden tests:
#   pcaps/mqtt/mosquitto-live.pcap     mosquitto broker + mosquitto_pub/mosquitto_sub (3.1.1 and 5.0)
#   pcaps/bacnet/bacpypes3-live.pcap   bacpypes3 device + client (tests/peers/bacnet_pair.py)
# Needs root, tcpdump, mosquitto, mosquitto-clients, and bacpypes3 for the PATH python3
# (`pip install bacpypes3`). Ports: MQTT_PORT (default 1883), BACNET_PORT (device, default
# 47808; client = BACNET_PORT+1). All traffic on 127.0.0.1 (lo). tcpdump is stopped with SIGINT
# 1 s after the last client is done (see /work/shared/pcaps/peers/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MQTT_PORT="${MQTT_PORT:-1883}"
BACNET_PORT="${BACNET_PORT:-47808}"
BACNET_CLI=$((BACNET_PORT + 1))
OUT_MQTT="$ROOT/pcaps/mqtt/mosquitto-live.pcap"
OUT_BACNET="$ROOT/pcaps/bacnet/bacpypes3-live.pcap"
mkdir -p "$(dirname "$OUT_MQTT")" "$(dirname "$OUT_BACNET")"
TMP="$(mktemp -d)"
chmod 755 "$TMP"  # mosquitto started as root reads its files as user mosquitto
BROKER=""
CAPPID=""
cleanup() {
    [ -n "$CAPPID" ] && kill -INT "$CAPPID" 2>/dev/null || true
    [ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# waitport PORT t|u: poll ss until something listens (no probe connection in the capture).
waitport() { for _ in $(seq 1 400); do ss -Hln"$2" "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "nothing on port $1" >&2; return 1; }
busy() { ss -Hln"$2" "sport = :$1" | grep -q .; }
cap_start() { tcpdump -i lo -U -s 0 -w "$1" "$2" >"$TMP/tcpdump.log" 2>&1 & CAPPID=$!
              for _ in $(seq 1 200); do grep -q listening "$TMP/tcpdump.log" && return 0; sleep 0.05; done; echo "tcpdump did not start" >&2; return 1; }
cap_stop() { sleep 1; kill -INT "$CAPPID"; wait "$CAPPID" || true; CAPPID=""; grep captured "$TMP/tcpdump.log"; }

for p in "$MQTT_PORT"; do busy "$p" t && { echo "tcp port $p is in use; set MQTT_PORT" >&2; exit 1; }; done
for p in "$BACNET_PORT" "$BACNET_CLI"; do busy "$p" u && { echo "udp port $p is in use; set BACNET_PORT" >&2; exit 1; }; done

# ---- MQTT ----
mosquitto_passwd -c -b "$TMP/passwd" alice secret
sed -e "s|@PORT@|$MQTT_PORT|" -e "s|@PASSWD@|$TMP/passwd|" "$ROOT/tests/peers/mosquitto.conf" >"$TMP/mosquitto.conf"
mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 & BROKER=$!
waitport "$MQTT_PORT" t || { cat "$TMP/mosquitto.log" >&2; exit 1; }
cap_start "$TMP/mqtt.pcap" "tcp port $MQTT_PORT"
H=(-h 127.0.0.1 -p "$MQTT_PORT")
OK=(-u alice -P secret)
# subscriber ID ARGS...: start mosquitto_sub -C 1 and wait for the broker's SUBACK to it.
subscriber() { local id=$1; shift
    mosquitto_sub "${H[@]}" "${OK[@]}" -i "$id" -C 1 -W 20 "$@" >"$TMP/$id.out" & SUBPID=$!
    for _ in $(seq 1 400); do grep -q "Sending SUBACK to $id" "$TMP/mosquitto.log" && return 0; sleep 0.05; done
    echo "no SUBACK to $id" >&2; return 1; }
! mosquitto_pub "${H[@]}" -V mqttv311 -u alice -P wrong -i bad311 -t t/x -m x
! mosquitto_pub "${H[@]}" -V mqttv5 -u alice -P wrong -i bad5 -t t/x -m x
subscriber sub311 -V mqttv311 -t 'plant/+/temp' -q 2
mosquitto_pub "${H[@]}" -V mqttv311 "${OK[@]}" -i pub311q0 -t plant/line1/temp -m 21.5 -q 0
wait "$SUBPID"
mosquitto_pub "${H[@]}" -V mqttv311 "${OK[@]}" -i pub311q1 -t plant/line1/temp -m 21.6 -q 1
mosquitto_pub "${H[@]}" -V mqttv311 "${OK[@]}" -i pub311q2 -t plant/line2/temp -m 22.0 -q 2 -r
subscriber sub5 -V mqttv5 -t 'plant/line3/#' -q 1
mosquitto_pub "${H[@]}" -V mqttv5 "${OK[@]}" -i pub5q1 -t plant/line3/temp -m 23.0 -q 1 -D PUBLISH user-property site edge1
wait "$SUBPID"
mosquitto_pub "${H[@]}" -V mqttv5 "${OK[@]}" -i pub5q2 -t plant/line3/cmd -m '{"sp":5}' -q 2
subscriber subret5 -V mqttv5 -t plant/line2/temp
wait "$SUBPID"
cap_stop "$TMP/mqtt.pcap"
kill "$BROKER"; wait "$BROKER" || true; BROKER=""
cp "$TMP/mqtt.pcap" "$OUT_MQTT"

# ---- BACnet ----
cap_start "$TMP/bacnet.pcap" "udp portrange $BACNET_PORT-$BACNET_CLI"
python3 "$ROOT/tests/peers/bacnet_pair.py" "$BACNET_PORT" "$BACNET_CLI" 599
cap_stop "$TMP/bacnet.pcap"
cp "$TMP/bacnet.pcap" "$OUT_BACNET"

echo "wrote $OUT_MQTT ($(mosquitto -h 2>&1 | head -1)) and $OUT_BACNET (bacpypes3 $(python3 -c 'import bacpypes3; print(bacpypes3.__version__)'))"
