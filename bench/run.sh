#!/usr/bin/env bash
# edgetap throughput benchmark: floor vs edgetap vs tshark on a deterministic capture.
# See bench/README.md. Environment knobs (defaults in brackets):
#   PACKETS [3000000]  FLOWS [20000]  SEED [1]     size / shape of bench-out/bench.pcap
#   TSHARK_PACKETS [300000]   tshark runs on this prefix of the same capture (0 = skip tshark)
#   RUNS [2]           runs per tool, best time kept
#   SKIP_BUILD         set to use the binaries already built
#   OUT_DIR [bench-out]  CARGO_TARGET_DIR [target]  PCAPGEN / EDGETAP  binary overrides
#   STRICT             set to exit 1 when a target is missed
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT_DIR:-$ROOT/bench-out}
PACKETS=${PACKETS:-3000000}
FLOWS=${FLOWS:-20000}
SEED=${SEED:-1}
TSHARK_PACKETS=${TSHARK_PACKETS:-300000}
RUNS=${RUNS:-2}
TARGET=$(cd "$ROOT" && . scripts/target-dir.sh && echo "$TARGET_DIR")
PCAPGEN=${PCAPGEN:-$TARGET/release/pcapgen}
EDGETAP=${EDGETAP:-$TARGET/release/edgetap}
TIME=/usr/bin/time

die() { echo "bench: $*" >&2; exit 2; }
[ -x "$TIME" ] || die "/usr/bin/time not found (Debian/Ubuntu: apt-get install time)"
mkdir -p "$OUT"

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release)"
    if ! (cd "$ROOT" && nice cargo build --release -p edgetap -p pcapgen); then
        echo "bench: building edgetap failed; building pcapgen alone" >&2
        (cd "$ROOT" && nice cargo build --release -p pcapgen) || die "cannot build pcapgen"
    fi
fi
[ -x "$PCAPGEN" ] || die "$PCAPGEN missing (build with: cargo build --release -p pcapgen)"

# gen FILE N: the benchmark capture with N packets (regenerated when the parameters change).
gen() {
    local file=$1 n=$2 params="packets=$2 flows=$FLOWS seed=$SEED"
    if [ -s "$file" ] && [ "$(cat "$file.params" 2>/dev/null)" = "$params" ]; then
        echo "== reusing $file ($params)"
        return
    fi
    echo "== generating $file ($params)"
    "$PCAPGEN" bench --packets "$n" --flows "$FLOWS" --seed "$SEED" --out "$file.tmp" 2> "$file.stats.tmp" \
        || { cat "$file.stats.tmp" >&2; die "pcapgen bench failed"; }
    mv "$file.tmp" "$file"
    head -1 "$file.stats.tmp" > "$file.stats.json"
    tail -1 "$file.stats.tmp"
    rm -f "$file.stats.tmp"
    echo "$params" > "$file.params"
}

CAP=$OUT/bench.pcap
gen "$CAP" "$PACKETS"

RESULTS=$OUT/results.tsv
: > "$RESULTS"

# measure NAME PACKETS_HINT CMD...: run RUNS times; keep the fastest run's wall time and the
# largest peak RSS. The packet count comes from the tool's JSON ("packets") when it prints one,
# else from PACKETS_HINT.
measure() {
    local name=$1 hint=$2; shift 2
    local best="" rss=0 pk="$hint" i t0 t1 secs kb out
    for i in $(seq 1 "$RUNS"); do
        out=$OUT/$name.out
        t0=$(date +%s%N)
        if ! "$TIME" -f "%M" -o "$OUT/$name.time" "$@" > "$out" 2> "$OUT/$name.err"; then
            echo "bench: $name failed:" >&2
            tail -5 "$OUT/$name.err" >&2
            return 1
        fi
        t1=$(date +%s%N)
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        kb=$(tail -1 "$OUT/$name.time")
        [ "$kb" -gt "$rss" ] && rss=$kb
        if [ -z "$best" ] || awk -v s="$secs" -v b="$best" 'BEGIN { exit !(s < b) }'; then best=$secs; fi
        local j
        j=$(grep -o '"packets": *[0-9]*' "$out" | head -1 | grep -o '[0-9]*$' || true)
        [ -n "$j" ] && pk=$j
        echo "   $name run $i: ${secs}s, peak RSS $((kb / 1024)) MB"
    done
    printf '%s\t%s\t%s\t%s\n' "$name" "$pk" "$best" "$rss" >> "$RESULTS"
}

echo "== floor (pcap-parser + etherparse slicing)"
measure floor "$PACKETS" "$PCAPGEN" floor "$CAP"
echo "   $(cat "$OUT/floor.out")"

echo "== edgetap dissect --format count"
if [ -x "$EDGETAP" ]; then
    if measure edgetap "$PACKETS" "$EDGETAP" dissect --format count "$CAP"; then
        echo "   $(head -c 2000 "$OUT/edgetap.out")"
    fi
else
    echo "   edgetap binary not found at $EDGETAP: not measured (build: cargo build --release -p edgetap)"
fi

if [ "$TSHARK_PACKETS" != 0 ] && command -v tshark > /dev/null; then
    TCAP=$CAP
    if [ "$TSHARK_PACKETS" -lt "$PACKETS" ]; then
        TCAP=$OUT/bench-prefix.pcap
        gen "$TCAP" "$TSHARK_PACKETS"
    fi
    tp=$(( TSHARK_PACKETS < PACKETS ? TSHARK_PACKETS : PACKETS ))
    echo "== tshark -n -q -z io,phs on the first $tp packets"
    measure tshark "$tp" tshark -n -r "$TCAP" -q -z io,phs
else
    echo "== tshark: skipped (not installed or TSHARK_PACKETS=0)"
fi

echo
awk -F'\t' -v strict="${STRICT:-}" '
{ name[NR] = $1; pk[NR] = $2; s[NR] = $3; rss[NR] = $4 / 1024; pps[NR] = ($3 > 0) ? $2 / $3 : 0; idx[$1] = NR }
END {
    printf "%-10s %12s %10s %14s %14s\n", "tool", "packets", "seconds", "packets/s", "peak RSS MB"
    for (i = 1; i <= NR; i++) printf "%-10s %12d %10.3f %14.0f %14.1f\n", name[i], pk[i], s[i], pps[i], rss[i]
    fail = 0
    if ("edgetap" in idx) {
        e = idx["edgetap"]; print ""
        if ("floor" in idx) {
            r = pps[e] / pps[idx["floor"]]
            printf "edgetap/floor  = %.3f  (target >= 0.25) %s\n", r, (r >= 0.25 ? "OK" : "MISSED")
            if (r < 0.25) fail = 1
        }
        if ("tshark" in idx) {
            r = pps[e] / pps[idx["tshark"]]
            printf "edgetap/tshark = %.1fx  (target >= 30x)  %s\n", r, (r >= 30 ? "OK" : "MISSED")
            if (r < 30) fail = 1
        }
        printf "edgetap peak RSS = %.1f MB (target < 100 MB) %s\n", rss[e], (rss[e] < 100 ? "OK" : "MISSED")
        if (rss[e] >= 100) fail = 1
    } else {
        print "\n(edgetap not measured: no ratios)"
    }
    if (strict != "" && fail) exit 1
}' "$RESULTS"
