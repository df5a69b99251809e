#!/usr/bin/env bash
# Records pcaps/modbus/tokio-modbus-peer.pcap: the modbus-peer server (tokio-modbus 0.17) and
# its scripted client (see tools/modbus-peer/src/main.rs) talking over the loopback interface.
#
#   sudo scripts/record-modbus.sh [PORT] [OUT]     # defaults: 5502, pcaps/modbus/tokio-modbus-peer.pcap
#
# The committed capture was recorded with PORT 502 (`scripts/record-modbus.sh 502`): tshark
# decodes it with no options. On 5502 (the default, clear of other peers on 502) tshark needs
# `-d tcp.port==5502,mbtcp` and cannot tell queries from responses; edgetap decodes either.
# Needs root (tcpdump on lo), tcpdump, ss (iproute2) and cargo. Like the shared peer captures
# (../shared/pcaps/peers/lib.sh): the listener is awaited with `ss` (no probe connection in the
# capture) and tcpdump is stopped with SIGINT after a 1 s pause, not killed at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-5502}
OUT=${2:-pcaps/modbus/tokio-modbus-peer.pcap}
. scripts/target-dir.sh
PEER=${MODBUS_PEER:-$TARGET_DIR/debug/modbus-peer}

[ "$(id -u)" = 0 ] || { echo "record-modbus.sh: needs root (tcpdump on lo)" >&2; exit 1; }
if [ -z "${MODBUS_PEER:-}" ]; then nice cargo build -q -p modbus-peer --bin modbus-peer; fi
mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp -d)
SRVPID= CAPPID=
cleanup() {
    [ -n "$CAPPID" ] && kill -INT "$CAPPID" 2>/dev/null || true
    [ -n "$SRVPID" ] && kill -TERM "$SRVPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

waitport() { # PORT: poll ss until a TCP listener is there (no connection)
    for _ in $(seq 1 600); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    echo "record-modbus.sh: nothing listens on port $1 after 30 s" >&2; return 1
}

if ss -Hltn "sport = :$PORT" | grep -q .; then echo "record-modbus.sh: port $PORT is already in use" >&2; exit 1; fi
"$PEER" server --listen "127.0.0.1:$PORT" 2> "$TMP/server.log" & SRVPID=$!
waitport "$PORT"

tcpdump -i lo -U -s 0 -w "$TMP/cap.pcap" "tcp port $PORT" > "$TMP/tcpdump.log" 2>&1 & CAPPID=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/tcpdump.log" && break; sleep 0.05; done

"$PEER" client --connect "127.0.0.1:$PORT"

sleep 1
kill -INT "$CAPPID"; wait "$CAPPID" || true; CAPPID=
kill -TERM "$SRVPID"; wait "$SRVPID" || true; SRVPID=
grep -E "captured|dropped" "$TMP/tcpdump.log" >&2 || true
mv "$TMP/cap.pcap" "$OUT"
echo "record-modbus.sh: wrote $OUT ($(stat -c %s "$OUT") bytes)" >&2
