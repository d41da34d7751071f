#!/usr/bin/env bash
# Builds the firmware and runs it on QEMU's mps2-an385 (Cortex-M3, LAN9118
# Ethernet), in the foreground until killed. The firmware's port 80 is
# forwarded to 127.0.0.1:PORT only (QEMU user-mode networking, restricted:
# the guest reaches nothing else).
#
#   scripts/qemu-dashboard.sh 8081             # then open http://127.0.0.1:8081/
#   scripts/qemu-dashboard.sh --embassy 8081   # the same firmware on embassy
#
# SENSOR_PERIOD_MS (default 250) sets how often the simulated sensor reads.
set -euo pipefail
crate=firmware
binary=sse-firmware
if [ "${1:-}" = "--embassy" ]; then
    crate=firmware-embassy
    binary=sse-firmware-embassy
    shift
fi
port="${1:?usage: scripts/qemu-dashboard.sh [--embassy] PORT}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/arm-toolchain.sh"
(cd "$root/sse-embedded/$crate" && arm_cargo build --release --locked >&2)
exec qemu-system-arm \
    -machine mps2-an385 -cpu cortex-m3 \
    -nographic -monitor none -serial null \
    -semihosting-config "enable=on,target=native,arg=$binary,arg=period-ms=${SENSOR_PERIOD_MS:-250}" \
    -kernel "$root/sse-embedded/$crate/target/thumbv7m-none-eabi/release/$binary" \
    -nic "user,model=lan9118,restrict=on,net=192.168.70.0/24,host=192.168.70.1,hostfwd=tcp:127.0.0.1:${port}-192.168.70.2:80"
