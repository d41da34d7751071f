#!/usr/bin/env bash
# Measures the firmwares (sse-embedded's poll server on smoltcp, its async
# Broadcaster on embassy-net) and their peer (picoserve's SSE support on
# embassy-net, sse-embedded/picoserve-peer: same board, driver, executor
# loop, page, stream and per-connection buffers) on thumbv7m-none-eabi (the
# QEMU board) and thumbv7em-none-eabihf (Cortex-M4F): flash, static RAM,
# the RAM one more connection costs (a build with the `one-more-slot`
# feature, minus the default build), the code of the server crates and of
# the network stack, and each one's stack high-water mark under load in
# QEMU (painted stack). Prints Markdown.
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
    for build in firmware firmware-embassy picoserve-peer; do
        dir="$root/sse-embedded/$build"
        case "$build" in
            firmware)
                bin=sse-firmware
                label="sse-embedded (poll server) + sse-wire on smoltcp 0.14"
                ;;
            firmware-embassy)
                bin=sse-firmware-embassy
                label="sse-embedded (async Broadcaster) + sse-wire on embassy-net 0.9 (smoltcp 0.13)"
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
        if [ "$build" != picoserve-peer ]; then
            crates+=("$(printf '| %s | %s | %d B | %d B | %d B |' "$build" "$target" "$(code_of "$elf" sse_wire)" \
                "$(code_of "$elf" sse_embedded)" "$(code_of "$elf" smoltcp)")")
            # The relay build: the same server, plus the client on a socket
            # of its own (and no sensor).
            (cd "$dir" && arm_cargo build --release --locked --target "$target" --features relay \
                --target-dir target/relay >&2)
            relay_elf="$dir/target/relay/$target/release/$bin"
            read -r relay_flash relay_ram < <(sizes "$relay_elf")
            clients+=("$(printf '| %s | %s | %d B | %d B | %+d B | %+d B | %d B |' "$build" "$target" "$relay_flash" "$relay_ram" \
                "$((relay_flash - flash))" "$((relay_ram - ram))" "$(code_under "$relay_elf" "sse_embedded::client")")")
        fi
    done
done
echo
echo "All three builds: 4 connections, each with a 2 KiB request buffer, 1 KiB of TCP receive and 4 KiB of TCP send buffer; the LAN9118 driver's two frame buffers; the 8.7 KiB dashboard page; a \`sensor\` event with JSON data 4 times a second; everything static; opt-level \"s\", fat LTO, Debian's rustc $(/usr/bin/rustc --version | cut -d' ' -f2). Both sse firmwares also keep a replay history (History<32, 4096>, 4.5 KiB) that the peer does not have. The two embassy builds share the board support (time driver, embassy-net driver, the executor loop). RAM per connection is the static RAM a fifth connection adds."
echo
echo "The firmwares' code by crate:"
echo
echo "| firmware | target | sse-wire | sse-embedded | smoltcp |"
echo "| --- | --- | ---: | ---: | ---: |"
printf '%s\n' "${crates[@]}"
echo
echo "Functions and constants whose symbol paths start with the crate (generic code instantiated for the firmware included; code inlined into other crates' functions not)."
echo
echo "The relay firmwares (\`--features relay\`: the same server, and the no_std client subscribed to the host's stream on a fifth socket with 2 KiB of receive and 512 B of send buffer, a 1 KiB head/read buffer and 1 KiB of event data; no sensor; the poll firmware drives PollClient, the embassy one EventSource over embassy-net's TcpClient), next to the default builds:"
echo
echo "| firmware | target | flash | static RAM | flash vs the default build | RAM vs the default build | code under sse_embedded::client |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${clients[@]}"

# The stack: each thumbv7m build under QEMU, loaded with pages and five
# streams at once (more than the stream slots), reports its high-water mark.
port_base=18470
stack_mark() {
    local dir="$1" bin="$2" port="$3" console
    console="$(mktemp)"
    qemu-system-arm -machine mps2-an385 -cpu cortex-m3 -nographic -monitor none -serial null \
        -semihosting-config "enable=on,target=native,arg=$bin,arg=period-ms=50" \
        -kernel "$dir/target/thumbv7m-none-eabi/release/$bin" \
        -nic "user,model=lan9118,restrict=on,net=192.168.70.0/24,host=192.168.70.1,hostfwd=tcp:127.0.0.1:${port}-192.168.70.2:80" \
        >"$console" 2>&1 &
    local qemu=$!
    for _ in $(seq 100); do
        grep -q "serving http" "$console" && break
        sleep 0.1
    done
    for _ in 1 2 3; do curl -s -m 5 -o /dev/null "http://127.0.0.1:$port/" || true; done
    for _ in 1 2 3 4 5; do curl -s -N -m 3 -o /dev/null "http://127.0.0.1:$port/events" & done
    curl -s -m 5 -o /dev/null "http://127.0.0.1:$port/" || true
    wait_curls=$(jobs -p | grep -v "^$qemu$" || true)
    for job in $wait_curls; do wait "$job" 2>/dev/null || true; done
    sleep 1.5
    kill "$qemu" 2>/dev/null || true
    wait "$qemu" 2>/dev/null || true
    sed -n 's/.*stack high water \([0-9]*\) B.*/\1/p' "$console" | sort -n | tail -1
    rm -f "$console"
}
echo
echo "Stack high-water marks on thumbv7m under QEMU (the stack painted at boot; 3 pages and 5 simultaneous streams, with the sensor read every 50 ms):"
echo
echo "| build | stack high-water mark |"
echo "| --- | ---: |"
for build in firmware firmware-embassy picoserve-peer; do
    case "$build" in
        firmware) bin=sse-firmware ;;
        firmware-embassy) bin=sse-firmware-embassy ;;
        picoserve-peer) bin=picoserve-peer ;;
    esac
    port_base=$((port_base + 1))
    mark="$(stack_mark "$root/sse-embedded/$build" "$bin" "$port_base")"
    printf '| %s | %s B |\n' "$build" "${mark:?no stack mark from $build}"
done
