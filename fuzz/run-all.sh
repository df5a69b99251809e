#!/usr/bin/env bash
# Run every fuzz target for MINUTES each, one after the other, and print libFuzzer's run
# count per target.   fuzz/run-all.sh MINUTES [TARGET...]
# Logs: fuzz/logs/<target>.log. Crashes land in fuzz/artifacts/<target>/ (cargo-fuzz's default).
# Extra libFuzzer flags can be passed in FUZZ_ARGS (e.g. FUZZ_ARGS="-rss_limit_mb=1024").
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
minutes="${1:?usage: run-all.sh MINUTES [TARGET...]}"
shift
secs=$((minutes * 60))
cd "$root"
export RUSTC_BOOTSTRAP=1
if [ $# -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
else
    targets=("$@")
fi
mkdir -p "$here/logs"
RUSTC_BOOTSTRAP=1 nice cargo fuzz build || exit 1
printf '%-18s %14s %10s %8s  %s\n' target runs exec/s crashes note > "$here/logs/summary.txt"
for t in "${targets[@]}"; do
    log="$here/logs/$t.log"
    mkdir -p "$here/corpus/$t"
    dict=()
    case "$t" in *_stream) dict=(-dict="$here/dicts/stream.dict") ;; esac
    echo "== $t: ${minutes} min" >&2
    start=$(date +%s)
    # -print_final_stats prints stat::number_of_executed_units (the run count) at the end.
    nice cargo fuzz run "$t" -- -max_total_time="$secs" -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    el=$(( $(date +%s) - start )); [ "$el" -gt 0 ] || el=1
    runs=$(grep -oE 'stat::number_of_executed_(units|runs): *[0-9]+' "$log" | tail -1 | grep -o '[0-9]*$')
    # On a crash libFuzzer prints no final stats: take the last status line's count.
    [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    crashes=$(grep -c 'Test unit written to' "$log")
    note=""; [ "$rc" -eq 0 ] || note="rc=$rc, see $log"
    printf '%-18s %14s %10s %8s  %s\n' "$t" "${runs:-?}" "$(( ${runs:-0} / el ))" "$crashes" "$note" | tee -a "$here/logs/summary.txt"
done
echo; cat "$here/logs/summary.txt"
