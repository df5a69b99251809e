#!/usr/bin/env bash
# Writes pcaps/fingerprint/tls-hellos.pcap: real TLS handshakes on the loopback interface,
# for the ClientHello / ServerHello / JA4 / p0f tests (dissectors/tests/fingerprint.rs).
#
# The shared captures (/work/shared/pcaps) hold no TLS at all, so this makes some: a Python
# `ssl` server (OpenSSL, self-signed certificate) on port 8883 (MQTT over TLS) of 127.0.0.1
# and ::1, and these clients, one connection each:
#
#   1. Python defaults (TLS 1.2-1.3), SNI plc-7.example.test, ALPN h2, http/1.1  -> TLS 1.3
#   2. TLS 1.2 only, no SNI (an IP address), ALPN mqtt                             -> TLS 1.2
#   3. TLS 1.0 only (security level 0 both sides), SNI old-hmi.example.test        -> TLS 1.0
#   4. TLS 1.1 only, no ALPN, SNI rtu.example.test                                 -> TLS 1.1
#   5. Python defaults over IPv6 (::1), SNI historian.example.test, ALPN mqtt      -> TLS 1.3
#   6. openssl s_client with -max_send_frag 512 and a long SNI and ALPN list: its
#      ClientHello (about 700 bytes) goes out in two TLS records                   -> TLS 1.3
#
# Needs (as root): tcpdump, python3 (ssl), openssl. Run from anywhere:
#   bash dissectors/tests/data/make_tls_hello.sh [OUT.pcap]
set -euo pipefail

repo=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$repo/pcaps/fingerprint/tls-hellos.pcap}
port=8883
work=$(mktemp -d)
trap 'kill "${dump:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in tcpdump python3 openssl; do
  command -v "$tool" >/dev/null || { echo "make_tls_hello.sh: $tool is needed" >&2; exit 2; }
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=plc-7.example.test" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

mkdir -p "$(dirname "$out")"
tcpdump -i lo -U -s 0 -w "$work/raw.pcap" "tcp port $port" 2>"$work/tcpdump.log" &
dump=$!
sleep 1

WORK=$work PORT=$port python3 - <<'PY'
import os, socket, ssl, subprocess, threading, time

work, port = os.environ["WORK"], int(os.environ["PORT"])

def server_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{work}/cert.pem", f"{work}/key.pem")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.set_alpn_protocols(["h2", "mqtt"])
    return ctx

def serve(family, addr, count, ready):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(8)
    ready.set()
    ctx = server_ctx()
    for _ in range(count):
        conn, _ = srv.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(100)
        except (ssl.SSLError, OSError):
            pass
    srv.close()

def client(family, addr, sni, alpn=None, lo=None, hi=None, seclevel0=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if lo: ctx.minimum_version = lo
    if hi: ctx.maximum_version = hi
    if seclevel0: ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if alpn: ctx.set_alpn_protocols(alpn)
    with socket.socket(family, socket.SOCK_STREAM) as raw:
        raw.connect((addr, port))
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            print(f"  {addr} sni={sni} -> {tls.version()} {tls.cipher()[0]} alpn={tls.selected_alpn_protocol()}")
            tls.sendall(b"bye")
    time.sleep(0.2)

r4, r6 = threading.Event(), threading.Event()
t4 = threading.Thread(target=serve, args=(socket.AF_INET, "127.0.0.1", 5, r4))
t6 = threading.Thread(target=serve, args=(socket.AF_INET6, "::1", 1, r6))
t4.start(); t6.start(); r4.wait(); r6.wait()
V = ssl.TLSVersion
client(socket.AF_INET, "127.0.0.1", "plc-7.example.test", ["h2", "http/1.1"])
client(socket.AF_INET, "127.0.0.1", None, ["mqtt"], V.TLSv1_2, V.TLSv1_2)
client(socket.AF_INET, "127.0.0.1", "old-hmi.example.test", ["h2"], V.TLSv1, V.TLSv1, True)
client(socket.AF_INET, "127.0.0.1", "rtu.example.test", None, V.TLSv1_1, V.TLSv1_1, True)
client(socket.AF_INET6, "::1", "historian.example.test", ["mqtt"])
long_sni = "gateway-" + "a" * 180 + ".example.test"
alpn = ",".join(["mqtt", "h2", "http/1.1"] + [f"x-edgetap-{i:02d}-" + "p" * 40 for i in range(8)])
p = subprocess.run(
    ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", long_sni,
     "-alpn", alpn, "-max_send_frag", "512", "-brief"],
    input=b"bye\n", capture_output=True, timeout=20)
print("  s_client:", p.stderr.decode(errors="replace").strip().replace("\n", "; ")[:200])
t4.join(); t6.join()
PY

sleep 1
kill "$dump"
wait "$dump" 2>/dev/null || true
cp "$work/raw.pcap" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
