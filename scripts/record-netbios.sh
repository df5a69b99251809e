#!/usr/bin/env bash
# Records pcaps/discovery/netbios-nmbd.pcap: a real NetBIOS name service exchange. Samba's nmbd
# (Debian: apt-get install samba samba-common-bin) runs alone in a network namespace with its
# own minimal smb.conf (netbios name EDGETAP-HMI, workgroup PLANT, no SMB service, no WINS),
# connected by a veth pair to a second namespace from which nmblookup asks
#   1. for EDGETAP-HMI<00> by broadcast (name query, then the positive response),
#   2. for the group PLANT<00> by broadcast,
#   3. for the node status of 10.77.0.1 (NBSTAT, `nmblookup -A`: the name table).
# Before that the capture holds nmbd's own B-node name registrations (opcode 5, broadcast) of
# its names. tcpdump runs on the server's veth end (udp port 137 or 138) and is stopped with
# SIGINT after a pause; the namespaces are deleted on exit.
#
#   sudo scripts/record-netbios.sh [OUT]     # default: pcaps/discovery/netbios-nmbd.pcap
#
# Needs root (ip netns), iproute2, tcpdump, nmbd and nmblookup.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-pcaps/discovery/netbios-nmbd.pcap}
SRV=etnb-srv CLI=etnb-cli
SRV_IP=10.77.0.1 CLI_IP=10.77.0.2 BCAST=10.77.0.255

[ "$(id -u)" = 0 ] || { echo "record-netbios.sh: needs root (ip netns)" >&2; exit 1; }
for t in ip tcpdump nmbd nmblookup; do
    command -v "$t" >/dev/null || { echo "record-netbios.sh: $t is missing" >&2; exit 1; }
done
mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp -d)
NMBPID= CAPPID=
cleanup() {
    [ -n "$CAPPID" ] && kill -INT "$CAPPID" 2>/dev/null || true
    [ -n "$NMBPID" ] && kill -TERM "$NMBPID" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
    ip netns del "$CLI" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$SRV"
ip netns add "$CLI"
ip link add etnb0 type veth peer name etnb1
ip link set etnb0 netns "$SRV"
ip link set etnb1 netns "$CLI"
ip -n "$SRV" addr add "$SRV_IP/24" broadcast "$BCAST" dev etnb0
ip -n "$CLI" addr add "$CLI_IP/24" broadcast "$BCAST" dev etnb1
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" link set etnb0 up
ip -n "$CLI" link set etnb1 up

# A private Samba tree: nothing of /etc/samba or /var/lib/samba is read or written.
conf() { # NAME IFACE
    mkdir -p "$TMP/$1"/{lock,state,cache,private,pid,log}
    cat > "$TMP/$1/smb.conf" <<EOF
[global]
    netbios name = $3
    workgroup = PLANT
    interfaces = $2
    bind interfaces only = yes
    server role = standalone server
    disable netbios = no
    wins support = no
    dns proxy = no
    local master = no
    domain master = no
    preferred master = no
    load printers = no
    lock directory = $TMP/$1/lock
    state directory = $TMP/$1/state
    cache directory = $TMP/$1/cache
    private dir = $TMP/$1/private
    pid directory = $TMP/$1/pid
    log file = $TMP/$1/log/%m.log
EOF
}
conf srv etnb0 EDGETAP-HMI
conf cli etnb1 EDGETAP-CLI

ip netns exec "$SRV" tcpdump -i etnb0 -U -s 0 -w "$TMP/cap.pcap" "udp port 137 or udp port 138" \
    > "$TMP/tcpdump.log" 2>&1 & CAPPID=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/tcpdump.log" && break; sleep 0.05; done

ip netns exec "$SRV" nmbd --foreground --no-process-group --debug-stdout -d 1 \
    -s "$TMP/srv/smb.conf" > "$TMP/nmbd.log" 2>&1 & NMBPID=$!
# B-node registration: each name is broadcast three times before nmbd owns it.
sleep 6

lookup() { ip netns exec "$CLI" nmblookup -s "$TMP/cli/smb.conf" "$@"; }
lookup -B "$BCAST" EDGETAP-HMI
lookup -B "$BCAST" PLANT
lookup -A "$SRV_IP"

sleep 1
kill -INT "$CAPPID"; wait "$CAPPID" || true; CAPPID=
kill -TERM "$NMBPID"; wait "$NMBPID" || true; NMBPID=
grep -E "captured|dropped" "$TMP/tcpdump.log" >&2 || true
mv "$TMP/cap.pcap" "$OUT"
echo "record-netbios.sh: wrote $OUT" >&2
