#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine (run as root), then run the whole
# test suite. Real peers (mosquitto, RabbitMQ, qpid-proton, pymodbus, bacpypes3, asyncua) and
# tshark are started or used by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(libpcap-dev tshark tcpdump iproute2 time curl chromium chromium-driver mosquitto mosquitto-clients rabbitmq-server
      python3-pika python3-qpid-proton libqpid-proton11-dev-examples python3-pymodbus)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts services on install; the tests start their own on private ports.
  systemctl stop rabbitmq-server mosquitto >/dev/null 2>&1 || service rabbitmq-server stop >/dev/null 2>&1 || true
fi
for mod in bacpypes3 asyncua jsonschema schemathesis; do
  python3 -c "import $mod" 2>/dev/null || pip install -q "$mod"
done
cargo test --workspace --no-fail-fast
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
