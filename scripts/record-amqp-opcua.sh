#!/usr/bin/env bash
# Records the real-peer AMQP and OPC UA captures, with the same peers as tests/live_amqp.rs and
# tests/live_opcua.rs (scripts in tests/peers/):
#
#   pcaps/amqp/rabbitmq-pika.pcap   RabbitMQ (Debian rabbitmq-server) + pika (python3-pika), AMQP
#                                   0-9-1 on 127.0.0.1:$AMQP_PORT (default 5672): declare/bind,
#                                   3 publishes, consume + ack, then a wrong password (close 403)
#   pcaps/amqp/proton-broker.pcap   qpid-proton example broker + qpid-proton client, AMQP 1.0 on
#                                   127.0.0.1:$PROTON_PORT (default 5673): open/begin/attach/flow/
#                                   transfer/disposition/detach/end/close
#   pcaps/opcua/asyncua-live.pcap   asyncua server + client, OPC UA on 127.0.0.1:$OPCUA_PORT
#                                   (default 4840), SecurityPolicy None: GetEndpoints, anonymous
#                                   session (Browse/Read/Write/Call/CreateSubscription), a refused
#                                   password, operator/secret session
#   pcaps/opcua/asyncua-buildinfo.pcap  asyncua server with its BuildInfo set + asyncua client
#                                   (tests/peers/opcua_buildinfo.py), OPC UA from 127.0.0.1 to
#                                   127.0.0.2:$OPCUA_BUILDINFO_PORT (default 4840; two addresses,
#                                   two devices), SecurityPolicy None, anonymous: reads
#                                   ServerStatus (i=2256), BuildInfo (i=2260) and BuildInfo's
#                                   children (i=2261..2265)
#
#   sudo scripts/record-amqp-opcua.sh [rabbitmq|proton|opcua|opcua-buildinfo]...
#                                   # default: rabbitmq, proton, opcua
#
# tshark decodes 5672 (amqp) and 4840 (opcua) by itself; 5673 needs `-d tcp.port==5673,amqp`.
# Needs root (tcpdump on lo), tcpdump, ss (iproute2); Debian's /usr/bin/python3 with python3-pika
# and python3-qpid-proton, rabbitmq-server, libqpid-proton11-dev-examples; asyncua for the
# `python3` on PATH. Like ../shared/pcaps/peers/lib.sh: listeners are awaited with `ss` (no probe
# connection in the capture) and tcpdump is stopped with SIGINT after a 1 s pause.
# RabbitMQ runs as a node of its own (own node name, HOME/cookie, config, data dirs, dist and epmd
# ports), is stopped with `rabbitmqctl shutdown`, and the epmd it started is killed by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
AMQP_PORT=${AMQP_PORT:-5672}
PROTON_PORT=${PROTON_PORT:-5673}
OPCUA_PORT=${OPCUA_PORT:-4840}
OPCUA_BUILDINFO_PORT=${OPCUA_BUILDINFO_PORT:-4840}
DEBPY=/usr/bin/python3
WHAT=("$@"); [ ${#WHAT[@]} -gt 0 ] || WHAT=(rabbitmq proton opcua)

[ "$(id -u)" = 0 ] || { echo "record-amqp-opcua.sh: needs root (tcpdump on lo)" >&2; exit 1; }
TMP=$(mktemp -d)
SRVPID= CAPPID= RABBIT_NODE= EPMD_PORT=
rabbit_env() {
    export HOME="$TMP/rabbit" RABBITMQ_NODENAME="$RABBIT_NODE" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EPMD_PORT" \
        RABBITMQ_CONF_ENV_FILE="$TMP/rabbit/no-env.conf" RABBITMQ_CONFIG_FILE="$TMP/rabbit/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$TMP/rabbit/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$TMP/rabbit/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$TMP/rabbit/mnesia" RABBITMQ_LOG_BASE="$TMP/rabbit/log" \
        RABBITMQ_PLUGINS_EXPAND_DIR="$TMP/rabbit/plugins-expand" RABBITMQ_PID_FILE="$TMP/rabbit/rabbitmq.pid"
}
rabbit_stop() {
    [ -n "$RABBIT_NODE" ] || return 0
    local epmd
    epmd=$(ss -Hltnp "sport = :$EPMD_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
    (rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" shutdown > /dev/null 2>&1) || true
    [ -n "$epmd" ] && kill -TERM "$epmd" 2>/dev/null || true
    RABBIT_NODE=
}
cleanup() {
    [ -n "$CAPPID" ] && kill -INT "$CAPPID" 2>/dev/null || true
    rabbit_stop
    [ -n "$SRVPID" ] && kill -TERM "$SRVPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

waitport() { # PORT SECONDS: poll ss until a TCP listener is there (no connection)
    for _ in $(seq 1 $(($2 * 20))); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    echo "record-amqp-opcua.sh: nothing listens on port $1 after $2 s" >&2; return 1
}
freeport() { # PORT: fail unless nothing listens on it
    if ss -Hltn "sport = :$1" | grep -q .; then echo "record-amqp-opcua.sh: port $1 is already in use" >&2; exit 1; fi
}
cap_start() { # FILTER
    tcpdump -i lo -U -s 0 -w "$TMP/cap.pcap" "$1" > "$TMP/tcpdump.log" 2>&1 & CAPPID=$!
    for _ in $(seq 1 100); do grep -q listening "$TMP/tcpdump.log" && break; sleep 0.05; done
}
cap_stop() { # OUT
    sleep 1
    kill -INT "$CAPPID"; wait "$CAPPID" || true; CAPPID=
    grep -E "captured|dropped" "$TMP/tcpdump.log" >&2 || true
    mkdir -p "$(dirname "$1")"
    mv "$TMP/cap.pcap" "$1"
    echo "record-amqp-opcua.sh: wrote $1 ($(stat -c %s "$1") bytes)" >&2
}
unused_port() { # a free TCP port (for RabbitMQ's distribution and epmd listeners)
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

record_rabbitmq() {
    freeport "$AMQP_PORT"
    mkdir -p "$TMP/rabbit"
    echo '[rabbitmq_amqp1_0].' > "$TMP/rabbit/enabled_plugins"
    printf 'listeners.tcp.default = 127.0.0.1:%s\ndefault_user = edgetap\ndefault_pass = Edg3tap-good-pw\nloopback_users = none\n' \
        "$AMQP_PORT" > "$TMP/rabbit/rabbitmq.conf"
    RABBIT_NODE="edgetap-rec-$$@localhost" EPMD_PORT=$(unused_port)
    local dist; dist=$(unused_port)
    (rabbit_env; cd "$TMP/rabbit"; RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$dist" \
        exec /usr/lib/rabbitmq/bin/rabbitmq-server > "$TMP/rabbit/server.log" 2>&1) & SRVPID=$!
    waitport "$AMQP_PORT" 90 || { tail -20 "$TMP/rabbit/server.log" >&2; exit 1; }
    cap_start "tcp port $AMQP_PORT"
    "$DEBPY" tests/peers/amqp_pika_session.py "$AMQP_PORT" edgetap Edg3tap-good-pw Wr0ng-edgetap-pw
    cap_stop pcaps/amqp/rabbitmq-pika.pcap
    rabbit_stop
    wait "$SRVPID" || true; SRVPID=
}

record_proton() {
    freeport "$PROTON_PORT"
    "$DEBPY" /usr/share/proton/examples/python/broker.py -a "127.0.0.1:$PROTON_PORT" & SRVPID=$!
    waitport "$PROTON_PORT" 30
    cap_start "tcp port $PROTON_PORT"
    "$DEBPY" tests/peers/amqp_proton_session.py "amqp://127.0.0.1:$PROTON_PORT" examples
    cap_stop pcaps/amqp/proton-broker.pcap
    kill -TERM "$SRVPID"; wait "$SRVPID" || true; SRVPID=
}

record_opcua() {
    freeport "$OPCUA_PORT"
    python3 tests/peers/opcua_server.py "$OPCUA_PORT" > "$TMP/opcua-server.log" 2>&1 & SRVPID=$!
    waitport "$OPCUA_PORT" 60 || { tail -20 "$TMP/opcua-server.log" >&2; exit 1; }
    cap_start "tcp port $OPCUA_PORT"
    python3 tests/peers/opcua_client.py "$OPCUA_PORT" 2> "$TMP/opcua-client.log" || { cat "$TMP/opcua-client.log" >&2; exit 1; }
    cap_stop pcaps/opcua/asyncua-live.pcap
    kill -TERM "$SRVPID"; wait "$SRVPID" || true; SRVPID=
}

record_opcua_buildinfo() {
    freeport "$OPCUA_BUILDINFO_PORT"
    python3 tests/peers/opcua_buildinfo.py server "$OPCUA_BUILDINFO_PORT" 127.0.0.2 > "$TMP/opcua-server.log" 2>&1 & SRVPID=$!
    waitport "$OPCUA_BUILDINFO_PORT" 60 || { tail -20 "$TMP/opcua-server.log" >&2; exit 1; }
    cap_start "tcp port $OPCUA_BUILDINFO_PORT"
    python3 tests/peers/opcua_buildinfo.py client "$OPCUA_BUILDINFO_PORT" 127.0.0.2 2> "$TMP/opcua-client.log" \
        || { cat "$TMP/opcua-client.log" >&2; exit 1; }
    cap_stop pcaps/opcua/asyncua-buildinfo.pcap
    kill -TERM "$SRVPID"; wait "$SRVPID" || true; SRVPID=
}

for w in "${WHAT[@]}"; do
    case "$w" in
        rabbitmq) record_rabbitmq ;;
        proton) record_proton ;;
        opcua) record_opcua ;;
        opcua-buildinfo) record_opcua_buildinfo ;;
        *) echo "record-amqp-opcua.sh: unknown capture '$w' (rabbitmq, proton, opcua, opcua-buildinfo)" >&2; exit 2 ;;
    esac
done
