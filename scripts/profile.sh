#!/usr/bin/env bash
# Counts the instructions of one codec hot path with callgrind (repeatable
# on a shared machine, unlike times) and prints them per round and by
# function. Installs valgrind when missing.
#
#   scripts/profile.sh (encode-small|encode-large|parse-small|parse-large) [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:?usage: scripts/profile.sh (encode-small|encode-large|parse-small|parse-large) [ROUNDS]}"
rounds="${2:-100}"
if ! command -v valgrind >/dev/null; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind >/dev/null
fi
cargo build --profile profiling --locked -p sse-tests --example profile_codec >&2
case "$which" in encode-*) collect='*encode_once*' ;; *) collect='*parse_once*' ;; esac
out="target/callgrind.$which.out"
valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$collect" \
    target/profiling/examples/profile_codec "$which" "$rounds" 2>&1 | grep -E 'Collected' |
    awk -v r="$rounds" '{ gsub(",", "", $4); printf "%s: %d instructions per round\n", "'"$which"'", $4 / r }'
# Exclusive instructions by function, across source lines.
callgrind_annotate --inclusive=no --auto=no "$out" 2>/dev/null | awk -v r="$rounds" '
    /^ *[0-9,]+ \(/ && /:/ {
        n = $1; gsub(",", "", n)
        f = $0; sub(/^[^:]*:/, "", f); sub(/ \[.*/, "", f); sub(/ \([0-9]+x\)$/, "", f)
        sum[f] += n; total += n
    }
    END { for (f in sum) if (sum[f] * 50 >= total) printf "%12d  %5.1f %%  %s\n", sum[f] / r, 100 * sum[f] / total, f }' |
    sort -rn
