#!/usr/bin/env bash
# Build edgetap and run it on the bundled demo capture (a crafted site with Modbus/TCP,
# BACnet/IP, MQTT, AMQP and OPC-UA traffic): the PDU counts, then the first PDUs as JSON.
# Installs what the build needs on a fresh Debian machine (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
dpkg -s libpcap-dev >/dev/null 2>&1 || need+=(libpcap-dev)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
cargo build --release -p edgetap
bin=target/release/edgetap
demo=pcaps/demo/mixed-site.pcap
echo "== counts over $demo"
"$bin" dissect --format count "$demo" | sed 's/,"detail":.*$/}/'
echo "== first PDUs"
"$bin" dissect "$demo" 2>/dev/null | head -n 8
