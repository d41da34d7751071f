#!/usr/bin/env bash
# Runs the encode and parse benchmarks (criterion), each next to its peers
# in the same run, and prints a table of ratios to each named peer.
# These machines are shared and noisy: read ratios, not absolute times.
#
#   scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), $(rustc --version)"
echo
echo "### Encode and parse"
echo
cargo bench -p sse-tests --bench codec --locked -- --noplot >&2
python3 - <<'PY'
import json, os

def mean_ns(group, name):
    base = os.path.join("target", "criterion", group, name)
    runs = [d for d in os.listdir(base) if d != "report"]
    with open(os.path.join(base, runs[0], "new", "estimates.json")) as f:
        return json.load(f)["mean"]["point_estimate"]

def bench_bytes(group, name):
    base = os.path.join("target", "criterion", group, name)
    run = [d for d in os.listdir(base) if d != "report"][0]
    with open(os.path.join(base, run, "new", "benchmark.json")) as f:
        return json.load(f)["throughput"]["Bytes"]

rows = []
for size, goal in [("small", "≥ 5× axum"), ("medium", ""), ("large", "within 2× of memcpy")]:
    g = f"encode_{size}"
    ours, axum, memcpy = (mean_ns(g, n) for n in ("sse-wire", "axum", "memcpy"))
    n = bench_bytes(g, "sse-wire")
    rows.append((f"encode {size} ({n} B/event)", f"{1e9/ours/1e6:.2f} M events/s, {n/ours:.2f} GB/s",
                 f"{axum/ours:.2f}× axum::response::sse::Event", f"{ours/memcpy:.1f}× the memcpy time", goal))
# The measuring pass of the large encode, on its own.
ours, memcpy = (mean_ns("encode_large", n) for n in ("encoded_len", "memcpy"))
rows.append(("of which the measuring pass (`encoded_len`)", f"{ours/1e3:.2f} µs", "",
             f"{ours/memcpy:.1f}× the memcpy time", ""))
g = "encode_large_cold"
ours, memcpy = (mean_ns(g, n) for n in ("sse-wire", "memcpy"))
n = bench_bytes(g, "sse-wire")
rows.append((f"encode large into a cold arena ({n} B/event)", f"{1e9/ours/1e6:.2f} M events/s, {n/ours:.2f} GB/s",
             "", f"{ours/memcpy:.1f}× the memcpy time (same arena)", "within 2× of memcpy"))
for kind, goal in [("small", "≥ 10× fastest peer"), ("large", "≥ 5× peer, within 2× of memchr2")]:
    g = f"parse_{kind}"
    ours, peer, scan = (mean_ns(g, n) for n in ("sse-wire", "eventsource-stream", "memchr2"))
    n = bench_bytes(g, "sse-wire")
    rows.append((f"parse {kind} ({n} B stream)", f"{n/ours*1e3:.0f} MB/s",
                 f"{peer/ours:.2f}× eventsource-stream", f"{ours/scan:.1f}× the memchr2 scan time", goal))

print("| benchmark | sse-wire | vs peer | vs physical limit | goal |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY

echo
echo "### Fan-out on 127.0.0.1"
echo
# 10 000 clients and 10 000 server connections: raise the fd limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release --locked -p sse-tests --example fanout_server >&2
# The server alone on core 0, the load client on the others.
cpus=$(nproc)
run_fanout() {
    if [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
        FANOUT_SERVER_CPU=0 taskset -c "1-$((cpus - 1))" cargo bench -p sse-tests --bench fanout --locked 2>/dev/null | grep -v '^$\|Running\|Finished'
    else
        cargo bench -p sse-tests --bench fanout --locked 2>/dev/null | grep -v '^$\|Running\|Finished'
    fi
}
run_fanout

echo
echo "### Topics next to nginx + nchan"
echo
# Debian's nchan module (its nginx comes with it); no system service is
# started: the harness runs its own nginx on loopback.
if [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libnginx-mod-nchan >/dev/null
        $SUDO rm -f /usr/sbin/policy-rc.d
    else
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libnginx-mod-nchan >/dev/null
    fi
fi
cargo build --release --locked -p sse-cli >&2
if [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
    TOPICS_SERVER_CPU=0 taskset -c "1-$((cpus - 1))" cargo bench -p sse-tests --bench topics --locked 2>/dev/null | grep -v '^$\|Running\|Finished'
else
    cargo bench -p sse-tests --bench topics --locked 2>/dev/null | grep -v '^$\|Running\|Finished'
fi

echo
echo "### Fan-out floors: one send per delivery, nothing else"
echo
# The same harness at unsaturated rates, next to two floors: one loop
# writing each event to every socket, with write(2) and with io_uring.
FANOUT_SERVERS=ours,axum,floor,floor-uring FANOUT_ONLY=20000,40000 FANOUT_WRITE_INTERVAL_MS=0 run_fanout

echo
echo "### What a send costs: write(2) next to io_uring"
echo
if [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
    taskset -c 0 cargo bench -p sse-tests --bench sends --locked 2>/dev/null | grep -v '^$\|Running\|Finished'
else
    cargo bench -p sse-tests --bench sends --locked 2>/dev/null | grep -v '^$\|Running\|Finished'
fi

echo
echo "### Through Redis (two instances) next to one in-memory hub"
echo
command -v redis-server >/dev/null || { echo "redis-server is required (scripts/test.sh installs it)"; exit 1; }
cargo build --release --locked -p sse-cli >&2
cargo bench -p sse-tests --bench redis --locked 2>/dev/null | grep -v '^$\|Running\|Finished'

echo
echo "### Embedded footprint"
echo
bash scripts/footprint.sh 2>/dev/null
