#!/usr/bin/env bash
# Makes sure Debian's rustc-web toolchain (with its standard-library
# sources), rust-lld and QEMU are installed; idempotent. rustup's compilers
# cannot build for ARM here (no targets, no rust-src), so ARM builds use
# this toolchain explicitly: source this file, then call `arm_cargo`.
set -euo pipefail

need=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.9[6-9]' || need+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library/core ] || need+=(rust-web-src)
[ -x /usr/bin/llvm-size ] || need+=(rust-web-llvm)
command -v ld.lld-22 >/dev/null 2>&1 || [ -x /usr/lib/llvm-22/bin/lld ] || need+=(lld-22)
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    echo "installing ${need[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rustc-web cargo-web rust-web-src rust-web-llvm lld-22 qemu-system-arm >/dev/null
fi

# cargo and rustc 1.96 from Debian, with -Zbuild-std for the thumb targets.
arm_cargo() {
    PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo "$@"
}
