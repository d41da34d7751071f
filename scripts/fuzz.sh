#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 600), two at a
# time, and fails on any crash. Needs the nightly toolchain (it has the
# sanitizer runtimes); installs cargo-fuzz when missing.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-600}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(parse_chunked roundtrip embedded_server embedded_broadcaster embedded_client std_request std_first_head std_mercure)
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked
fi
cargo +nightly fuzz build
status=0
run() {
    local target="$1"
    # New inputs go to a scratch corpus; the committed seeds stay as they are.
    mkdir -p "target/run/$target"
    if cargo +nightly fuzz run "$target" "target/run/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"target/run/$target.log" 2>&1; then
        echo "fuzz $target: $(grep -E '^stat::number_of_executed_units' "target/run/$target.log" | awk '{print $2}') runs in ${seconds} s, no crash"
    else
        echo "fuzz $target: CRASH"
        grep -E "panicked|ERROR|Test unit written" "target/run/$target.log" | head -20
        return 1
    fi
}
i=0
pids=()
for target in "${targets[@]}"; do
    run "$target" &
    pids+=($!)
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then
        for pid in "${pids[@]}"; do wait "$pid" || status=1; done
        pids=()
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
