#!/usr/bin/env bash
# Measures the firmware (sse-embedded on smoltcp) and its peer (picoserve's
# SSE support on embassy-net, sse-embedded/picoserve-peer: same board,
# driver, page, stream and per-connection buffers) on thumbv7m-none-eabi
# (the QEMU board) and thumbv7em-none-eabihf (Cortex-M4F): flash, static
# RAM, the RAM one more connection costs (a build with the `one-more-slot`
# feature, minus the default build), and the code of the server crates and
# of the network stack. Prints Markdown.
#
#   scripts/footprint.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/arm-toolchain.sh"

# Per-connection TCP buffers of both builds (1 KiB receive, 4 KiB send).
TCP_BUFFERS=5120

# Prints "flash ram" of the ELF $1.
sizes() {
    local text data bss
    read -r text data bss _ < <(llvm-size "$1" | tail -1)
    echo "$((text + data)) $((data + bss))"
}

# Prints the code and read-only data of the ELF $1 that belongs to the
# crates matching the awk regex $2: symbols whose demangled path starts with
# the crate (`<smoltcp::iface::Interface>::poll::<...>` is smoltcp's, whatever
# its generic arguments name).
code_of() {
    llvm-nm --print-size --size-sort --radix=d -C "$1" | awk -v pattern="^($2)$" '
        $3 ~ /^[TtRr]$/ {
            name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
            sub(/^[<&*]+/, "", name); sub(/^(const|mut|dyn) /, "", name)
            crate = name; sub(/::.*/, "", crate)
            if (crate ~ pattern) total += $2
        }
        END { printf "%d", total }'
}

# Prints the code and read-only data of the ELF $1 whose demangled symbol
# paths start with $2 (a module path such as `sse_embedded::client`).
code_under() {
    llvm-nm --print-size --size-sort --radix=d -C "$1" | awk -v prefix="$2" '
        $3 ~ /^[TtRr]$/ {
            name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
            sub(/^[<&*]+/, "", name); sub(/^(const|mut|dyn) /, "", name)
            if (index(name, prefix) == 1) total += $2
        }
        END { printf "%d", total }'
}

echo "| server | target | flash (text + data) | static RAM (data + bss) | RAM per connection | of it, besides the TCP buffers |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
crates=()
clients=()
for target in thumbv7m-none-eabi thumbv7em-none-eabihf; do
    for build in firmware picoserve-peer; do
        dir="$root/sse-embedded/$build"
        case "$build" in
            firmware)
                bin=sse-firmware
                label="sse-embedded + sse-wire on smoltcp 0.14"
                ;;
            picoserve-peer)
                bin=picoserve-peer
                label="picoserve 0.20 on embassy-net 0.9 (smoltcp 0.13)"
                ;;
        esac
        (cd "$dir" && arm_cargo build --release --locked --target "$target" --features one-more-slot >&2)
        read -r _ ram_plus_one < <(sizes "$dir/target/$target/release/$bin")
        (cd "$dir" && arm_cargo build --release --locked --target "$target" >&2)
        elf="$dir/target/$target/release/$bin"
        read -r flash ram < <(sizes "$elf")
        per_connection=$((ram_plus_one - ram))
        printf '| %s | %s | %d B | %d B | %d B | %d B |\n' "$label" "$target" "$flash" "$ram" \
            "$per_connection" "$((per_connection - TCP_BUFFERS))"
        if [ "$build" = firmware ]; then
            crates+=("$(printf '| %s | %d B | %d B | %d B |' "$target" "$(code_of "$elf" sse_wire)" \
                "$(code_of "$elf" sse_embedded)" "$(code_of "$elf" smoltcp)")")
            # The relay build: the same server, plus the client on a socket
            # of its own (and no sensor).
            (cd "$dir" && arm_cargo build --release --locked --target "$target" --features relay \
                --target-dir target/relay >&2)
            relay_elf="$dir/target/relay/$target/release/$bin"
            read -r relay_flash relay_ram < <(sizes "$relay_elf")
            clients+=("$(printf '| %s | %d B | %d B | %+d B | %+d B | %d B |' "$target" "$relay_flash" "$relay_ram" \
                "$((relay_flash - flash))" "$((relay_ram - ram))" "$(code_under "$relay_elf" "sse_embedded::client")")")
        fi
    done
done
echo
echo "Both builds: 4 connections, each with a 2 KiB request buffer, 1 KiB of TCP receive and 4 KiB of TCP send buffer; the LAN9118 driver's two frame buffers; the 8.7 KiB dashboard page; a \`sensor\` event with JSON data 4 times a second; everything static; opt-level \"s\", fat LTO, Debian's rustc $(/usr/bin/rustc --version | cut -d' ' -f2). The firmware also keeps a replay history (History<32, 4096>, 4.5 KiB) that the peer does not have. RAM per connection is the static RAM a fifth connection adds."
echo
echo "The firmware's code by crate:"
echo
echo "| target | sse-wire | sse-embedded | smoltcp |"
echo "| --- | ---: | ---: | ---: |"
printf '%s\n' "${crates[@]}"
echo
echo "Functions and constants whose symbol paths start with the crate (generic code instantiated for the firmware included; code inlined into other crates' functions not)."
echo
echo "The relay firmware (\`--features relay\`: the same server, and the no_std client subscribed to the host's stream on a fifth socket with 2 KiB of receive and 512 B of send buffer, a 1 KiB head/read buffer and 1 KiB of event data; no sensor), next to the default firmware:"
echo
echo "| target | flash | static RAM | flash vs the default firmware | RAM vs the default firmware | code under sse_embedded::client |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${clients[@]}"
