#!/usr/bin/env bash
# Measures the firmware's flash and static RAM, and the part of it that
# sse-core, sse-embedded and smoltcp take, on thumbv7m-none-eabi (the
# QEMU board) and thumbv7em-none-eabihf (Cortex-M4F). Prints Markdown.
#
#   scripts/footprint.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/arm-toolchain.sh"
cd "$root/sse-embedded/firmware"

echo "| target | flash (text + data) | static RAM (data + bss) | sse-core code | sse-embedded code | smoltcp code |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for target in thumbv7m-none-eabi thumbv7em-none-eabihf; do
    arm_cargo build --release --locked --target "$target" >&2
    elf="target/$target/release/sse-firmware"
    read -r text data bss _ < <(llvm-size "$elf" | tail -1)
    # Code and read-only data by crate, from the symbol table (demangled).
    sizes=$(llvm-nm --print-size --size-sort --radix=d -C "$elf" | awk '
        $3 ~ /^[TtRr]$/ {
            name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
            if (name ~ /sse_core::/) core += $2
            else if (name ~ /sse_embedded::/) emb += $2
            else if (name ~ /smoltcp::/) smol += $2
        }
        END { printf "%d %d %d", core, emb, smol }')
    read -r core emb smol <<<"$sizes"
    printf '| %s | %d B | %d B | %d B | %d B | %d B |\n' "$target" $((text + data)) $((data + bss)) "$core" "$emb" "$smol"
done
echo
echo "Firmware: 4 slots (2 KiB request buffer, 1 KiB RX, 4 KiB TX each), History<32, 4096>, the LAN9118 driver's two frame buffers, the 7 KiB dashboard page; everything static; opt-level \"s\", fat LTO."
echo "Crate columns count the functions and constants whose symbols name the crate (generic code instantiated by the firmware included; code inlined into other crates' functions not)."
