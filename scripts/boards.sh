#!/usr/bin/env bash
# Cross-builds the embassy app for real boards (Debian's rustc-web with
# -Zbuild-std, like the QEMU firmwares) and prints each build's flash and
# static RAM as Markdown. These builds are checked by the compiler only:
# nothing here runs them (QEMU has no model of these boards).
#
#   scripts/boards.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/arm-toolchain.sh"

echo "| board | target | flash (text + data) | static RAM (data + bss) | RAM per connection |"
echo "| --- | --- | ---: | ---: | ---: |"
for board in nucleo-h743zi esp32c3; do
    dir="$root/sse-embedded/boards/$board"
    bin="sse-board-$board"
    target="$(sed -n 's/^target = "\(.*\)"/\1/p' "$dir/.cargo/config.toml")"
    (cd "$dir" && arm_cargo build --release --locked --features one-more-slot >&2)
    read -r _ _ ram_plus_one < <(llvm-size "$dir/target/$target/release/$bin" | tail -1 | awk '{print $1+$2, $1+$2, $2+$3}')
    (cd "$dir" && arm_cargo build --release --locked >&2)
    read -r flash ram < <(llvm-size "$dir/target/$target/release/$bin" | tail -1 | awk '{print $1+$2, $2+$3}')
    printf '| %s | %s | %d B | %d B | %d B |\n' "$board" "$target" "$flash" "$ram" "$((ram_plus_one - ram))"
done
