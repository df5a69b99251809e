#!/usr/bin/env bash
# Build edgetap and run the main job on the bundled site scenario: learn from a 60-minute
# capture of a normal site, then watch 30 minutes with labelled attacks of every category
# (written by `pcapgen scenario` into pcaps/scenario/ on first use), and print the alerts,
# the inventory and the counts. Installs what the build needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
dpkg -s libpcap-dev >/dev/null 2>&1 || need+=(libpcap-dev)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
cargo build --release -p edgetap -p pcapgen
. scripts/target-dir.sh
bin=$TARGET_DIR/release/edgetap
scen=pcaps/scenario
rm -rf "$scen/state-demo"
if [ ! -f "$scen/attacks.pcap" ]; then
  "$TARGET_DIR/release/pcapgen" scenario --out-dir "$scen" >/dev/null
fi
echo "== PDUs in the demo capture pcaps/demo/mixed-site.pcap"
"$bin" dissect --format count pcaps/demo/mixed-site.pcap 2>/dev/null | sed 's/,"detail":.*$/}/'
echo "== learning from $scen/base.pcap, then protecting $scen/attacks.pcap"
"$bin" replay --learn "$scen/base.pcap" --known "$scen/edgex-devices.json" \
  --site-net 10.20.0.0/16 --state "$scen/state-demo" --inventory "$scen/inventory.json" \
  --alerts "$scen/alerts.jsonl" "$scen/attacks.pcap"
echo "== alerts (EVE JSON in $scen/alerts.jsonl)"
sed -E 's/.*"category":"([^"]*)".*"signature":"([^"]*)".*"timestamp":"([^"]*)".*/\3  \1  \2/' "$scen/alerts.jsonl"
echo "== inventory: $(grep -c '"id"' "$scen/inventory.json") devices (JSON in $scen/inventory.json)"
echo "== the API over the learned state: http://127.0.0.1:8787/ (Ctrl-C to stop)"
exec "$bin" serve --state "$scen/state-demo" --listen 127.0.0.1:8787
