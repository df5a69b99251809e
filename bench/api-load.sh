#!/usr/bin/env bash
# API latency under load while capture runs a replay at full speed (issue 6's figure).
#
# A network namespace replays the benchmark's capture (tcpreplay --topspeed, looped) into a veth
# pair; `edgetap run` captures on the root end; bench/api_load.py sends 200 requests/s to the
# API for 30 s and prints p50/p90/p99. Needs root, iproute2, tcpreplay, python3.
# Knobs: RATE (200), SECS (30), PCAP (bench-out/bench-prefix.pcap), LOOPS (50).
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200} SECS=${SECS:-30} PCAP=${PCAP:-bench-out/bench-prefix.pcap} LOOPS=${LOOPS:-50}
[ -f "$PCAP" ] || PACKETS=300000 SKIP_BUILD=1 TSHARK_PACKETS=0 RUNS=1 bench/run.sh >/dev/null
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p edgetap >/dev/null
. scripts/target-dir.sh
ns=etload$$; a=etl$$a; b=etl$$b; state=$(mktemp -d); port=18787
cleanup() { kill "${tr:-}" "${et:-}" 2>/dev/null || true; wait 2>/dev/null || true; ip link del "$a" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
ip netns add "$ns"
ip link add "$a" type veth peer name "$b"
ip link set "$b" netns "$ns"
ip link set "$a" up; ip netns exec "$ns" ip link set "$b" up
"$TARGET_DIR/release/edgetap" run -i "$a" --inbound-only --learn-for 5s --state "$state" \
  --listen 127.0.0.1:$port 2>"$state.log" & et=$!
for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
ip netns exec "$ns" tcpreplay -q --topspeed --loop "$LOOPS" -i "$b" "$PCAP" >/dev/null 2>&1 & tr=$!
sleep 3
echo "== API at $RATE requests/s for $SECS s while tcpreplay floods $a at top speed"
python3 bench/api_load.py 127.0.0.1:$port "$RATE" "$SECS" > "$state.load" 2>&1 || echo "api_load failed: $?"; cat "$state.load"
echo "== capture during the test"
curl -s "127.0.0.1:$port/api/v1/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s.get(k) for k in ("packets","bytes","flows","devices","edges","drops")}))'
