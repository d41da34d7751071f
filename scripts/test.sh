#!/usr/bin/env bash
# The one test command (see README.md). Runs on a fresh machine that has
# only the Rust toolchain; installs anything else it needs, idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# The test command builds each thing once: incremental caches would only
# take disk (several GB over the whole run).
export CARGO_INCREMENTAL=0

# Parts that could not run; the script fails at the end, naming them,
# rather than passing without them.
NOT_RUN=()
fail_missing() { echo "MISSING: $*" >&2; exit 1; }

# The oldest toolchain the crates claim (rust-version in Cargo.toml): it
# is built and tested here, so the claim is true. rustup cannot download
# toolchains on this machine: it must be installed, or be the stable one.
MSRV="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
if rustup run "$MSRV.0" rustc --version >/dev/null 2>&1; then
    MSRV_TOOLCHAIN="$MSRV.0"
elif rustc +stable --version 2>/dev/null | grep -q "^rustc $MSRV\."; then
    MSRV_TOOLCHAIN=stable
else
    fail_missing "the Rust $MSRV toolchain (rust-version); install it with rustup"
fi
rustup toolchain list 2>/dev/null | grep -q '^nightly' \
    || fail_missing "the nightly toolchain (cargo-fuzz, docs.rs documentation); install it with rustup"

# Features of sse-wire that build on the host (defmt is checked separately:
# it needs a global logger to link, which only firmware provides).
CORE_FEATURES="embedded-io,embedded-io-async,serde"
# Every server and the client of sse-embedded (nothing is on by default).
EMBEDDED_FEATURES="smoltcp,proto-ipv4,medium-ethernet,async,client,rand_core"

step "tools: curl, Chromium, redis-server, nginx, socat, the Node.js test peers and Python's h2 (installed when missing)"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v chromium >/dev/null || missing+=(chromium)
command -v ip >/dev/null || missing+=(iproute2)
# QEMU's guestfwd runs `socat` for each connection of the relay firmware.
command -v socat >/dev/null || missing+=(socat)
# The Redis tests start their own redis-server on a free loopback port;
# no system service is used.
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || missing+=(nginx)
# The systemd unit example (packaging/sse.service) is checked with it.
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO apt-get update -qq
    # Packages must not start their system services (redis on 6379, nginx
    # on 0.0.0.0:80): tests start their own on loopback.
    no_services=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        no_services=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ -n "$no_services" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi
command -v node >/dev/null || { echo "node is required (it comes with the machine image)"; exit 1; }
# The HTTP/2 abuse probes (tests/h2/probes.py) speak through the `h2` package.
command -v python3 >/dev/null || { echo "python3 is required (it comes with the machine image)"; exit 1; }
python3 -c 'import h2' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'h2==4.4.1'
python3 -c 'import h2' || { echo "the Python h2 package could not be installed"; exit 1; }
# Python clients over `requests`: sseclient-py (tests/python/sseclient_events.py)
# and the Mercure client pymercure (without grequests: its gevent-based async
# publisher is not used).
if ! python3 -c 'import pymercure, sseclient, requests' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check requests 'sseclient-py==1.9.0'
    python3 -m pip install --quiet --disable-pip-version-check --no-deps 'pymercure==0.0.1.0'
fi
python3 -c 'import pymercure, sseclient, requests' || { echo "pymercure could not be installed"; exit 1; }
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

step "format"
cargo fmt --all --check
for crate in no-std-check sse-embedded/firmware sse-embedded/firmware-embassy sse-embedded/picoserve-peer \
    sse-embedded/boards/nucleo-h743zi sse-embedded/boards/esp32c3; do
    (cd "$crate" && cargo fmt --check)
done

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p sse-std --all-targets --all-features --locked -- -D warnings
cargo clippy -p sse-std --no-default-features --locked -- -D warnings
cargo clippy -p sse-wire --all-targets --features "$CORE_FEATURES" --locked -- -D warnings
cargo clippy -p sse-wire --features defmt --locked -- -D warnings
cargo clippy -p sse-embedded --all-targets --features "$EMBEDDED_FEATURES,log" --locked -- -D warnings
cargo clippy -p sse-embedded --no-default-features --locked -- -D warnings
cargo clippy -p sse-embedded --no-default-features --features "$EMBEDDED_FEATURES,defmt" --locked -- -D warnings

step "docs (and as docs.rs builds them: nightly, --cfg docsrs, every feature-gated item labelled)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
RUSTDOCFLAGS="-D warnings" cargo doc -p sse-std --no-deps --all-features --locked
RUSTDOCFLAGS="-D warnings" cargo doc -p sse-wire --no-deps --all-features --locked
RUSTDOCFLAGS="-D warnings" cargo doc -p sse-embedded --no-deps --features "$EMBEDDED_FEATURES" --locked
RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc -p sse-wire --no-deps --features "$CORE_FEATURES" --locked
RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc -p sse-std --no-deps --all-features --locked
RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc -p sse-embedded --no-deps --features "$EMBEDDED_FEATURES,log" --locked

step "MSRV: Rust $MSRV ($MSRV_TOOLCHAIN) builds every crate and runs sse-wire's and sse-std's tests"
cargo "+$MSRV_TOOLCHAIN" check --workspace --all-targets --locked
cargo "+$MSRV_TOOLCHAIN" test -p sse-wire -p sse-std --all-features --locked --quiet

step "packages: each publishable crate packaged and built from its package, in dependency order (cargo publish would take them)"
# Cargo keeps the crates it unpacked from the temporary registry of an
# earlier run (a published version is taken as immutable) and would verify
# against those stale sources: drop this workspace's unpacked copies first.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/sse-{wire,std,embedded,cli}-*
cargo package -p sse-wire -p sse-std -p sse-embedded -p sse-cli --locked --allow-dirty

step "supply chain: licences, bans and sources (cargo-deny; advisories need the network)"
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked --version 0.20.2
cargo deny --locked check licenses bans sources

step "tests"
# sse-cli's tests compare sse-embedded's client (this host example) with `sse cat`.
cargo build -p sse-embedded --features client --example client_cat --locked
cargo test --workspace --locked
# Every feature of sse-std (axum, jwt, redis, json, metrics) with its tests.
cargo test -p sse-std --all-features --locked
cargo test -p sse-wire --features "$CORE_FEATURES" --locked
cargo test -p sse-embedded --features "$EMBEDDED_FEATURES" --locked

step "end to end with third-party peers: npm eventsource, headless Chromium, Python h2"
cargo test -p sse-cli --test cli --locked -- --ignored --nocapture
cargo test -p sse-cli --test no_std_client --locked -- --ignored --nocapture
cargo test -p sse-cli --test tls --locked -- --ignored --nocapture
cargo test -p sse-cli --test browser_time --locked -- --ignored --nocapture
cargo test -p sse-cli --test mercure --locked -- --ignored --nocapture
cargo test -p sse-cli --test redis --locked -- --ignored --nocapture

step "a client that vanishes without a FIN, between two network namespaces (needs root)"
if [ "$(id -u)" = 0 ]; then
    cargo test -p sse-cli --test vanished --locked -- --ignored --nocapture
else
    NOT_RUN+=("the vanished-client test (network namespaces need root)")
fi

step "cross: sse-wire and sse-embedded for Cortex-M0 (thumbv6m) and Cortex-M4F (thumbv7em), Debian's toolchain"
source scripts/arm-toolchain.sh
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    arm_cargo build --release --locked --target "$target" -Zbuild-std=core --target-dir target/cross \
        -p sse-wire -p sse-embedded --no-default-features
    arm_cargo build --release --locked --target "$target" -Zbuild-std=core --target-dir target/cross \
        -p sse-wire --features embedded-io,embedded-io-async,serde
    arm_cargo build --release --locked --target "$target" -Zbuild-std=core --target-dir target/cross \
        -p sse-embedded --features async,client,rand_core
done

step "real boards: the embassy app for a NUCLEO-H743ZI (embassy-stm32, Ethernet) and an ESP32-C3 (esp-hal, Wi-Fi), built only"
bash scripts/boards.sh
# Those builds and the cross builds above are checked and measured, and
# nothing later uses them: a fresh machine's disk may be small.
rm -rf target/cross sse-embedded/boards/*/target

step "firmwares, poll and embassy: footprint and stack marks, then end to end under QEMU (curl, sse cat, headless Chromium; clients that never read, trickling heads, a reboot, idle CPU; the relay across a cut connection)"
bash scripts/footprint.sh
if [ "$(id -u)" = 0 ]; then
    cargo test -p sse-embedded --test qemu --locked -- --ignored --nocapture --test-threads 1
else
    NOT_RUN+=("the firmwares' stall-timeout tests (their network namespace needs root)")
    cargo test -p sse-embedded --test qemu --locked -- --ignored --nocapture --test-threads 1 \
        --skip clients_that_stop_reading_are_closed
fi

step "fuzz: every target for 20 s (needs the nightly toolchain)"
bash scripts/fuzz.sh 20

step "no_std: a #![no_std] #![no_main] binary links sse-wire and runs"
(cd no-std-check && cargo build --release --locked --bin no-std-check && ./target/release/no-std-check)
echo "no-std-check: ok"

step "panic freedom: the panic handler calls an undefined symbol; the link fails if a panicking path survives"
(cd no-std-check && cargo build --release --locked --bin panic_never && ./target/release/panic_never)

if [ "${#NOT_RUN[@]}" -gt 0 ]; then
    printf '\nNOT RUN (the test command fails until they can):\n' >&2
    printf '  - %s\n' "${NOT_RUN[@]}" >&2
    exit 1
fi
echo "all tests passed"
