#!/usr/bin/env bash
# Builds the firmware in relay mode and runs it on QEMU's mps2-an385, in
# the foreground until killed: it subscribes to the host's stream at
# 127.0.0.1:HOST_PORT/events (which QEMU presents to the guest, and only
# it, as 192.168.70.10:8080 through guestfwd; QEMU refuses a forward on its
# own gateway address; each connection the guest opens there runs `socat`
# to 127.0.0.1:HOST_PORT, which also passes the host closing it on to the
# guest) and re-serves every event on its own /events, forwarded to
# 127.0.0.1:PORT.
#
#   sse serve --listen 127.0.0.1:8080 &
#   scripts/qemu-relay.sh 8080 8081   # then: sse cat http://127.0.0.1:8081/events
#   scripts/qemu-relay.sh --embassy 8080 8081   # the embassy firmware's relay
set -euo pipefail
crate=firmware
binary=sse-firmware
if [ "${1:-}" = "--embassy" ]; then
    crate=firmware-embassy
    binary=sse-firmware-embassy
    shift
fi
usage="usage: scripts/qemu-relay.sh [--embassy] HOST_PORT PORT"
host_port="${1:?$usage}"
port="${2:?$usage}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/arm-toolchain.sh"
(cd "$root/sse-embedded/$crate" && arm_cargo build --release --locked --features relay --target-dir target/relay >&2)
exec qemu-system-arm \
    -machine mps2-an385 -cpu cortex-m3 \
    -nographic -monitor none -serial null \
    -semihosting-config "enable=on,target=native,arg=$binary" \
    -kernel "$root/sse-embedded/$crate/target/relay/thumbv7m-none-eabi/release/$binary" \
    -nic "user,model=lan9118,restrict=on,net=192.168.70.0/24,host=192.168.70.1,hostfwd=tcp:127.0.0.1:${port}-192.168.70.2:80,guestfwd=tcp:192.168.70.10:8080-cmd:socat - TCP:127.0.0.1:${host_port}"
