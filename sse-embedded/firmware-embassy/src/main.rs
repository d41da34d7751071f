//! `sse-firmware` on embassy: the same board (QEMU's mps2-an385), LAN9118
//! driver, simulated sensor, dashboard page, stream, limits and boot-epoch
//! ids, built on embassy-executor, embassy-time and embassy-net, served by
//! sse-embedded's async [`Broadcaster`]: a sensor task publishes into one
//! static history, and each connection task accepts a TCP connection and
//! serves it, in a loop. All memory is static; there is no heap.
//!
//! Run it with `scripts/qemu-dashboard.sh --embassy PORT` from the
//! repository root. With the `relay` feature it subscribes to the host's
//! stream with the async client instead of reading the sensor, and
//! re-serves every event it receives (`scripts/qemu-relay.sh --embassy
//! HOST_PORT PORT`).
//!
//! Invariant: the only `unsafe` is the LAN9118's register window, the
//! semihosting requests (`host`), and what embassy links against
//! (`board`).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod board;
#[path = "../../firmware/src/clock.rs"]
mod clock;
#[cfg_attr(feature = "relay", allow(dead_code))]
#[path = "../../firmware/src/host.rs"]
mod host;
// The driver's sleep helpers are the poll firmware's; this one sleeps in
// `board::run`.
#[allow(dead_code)]
#[path = "../../firmware/src/lan9118.rs"]
mod lan9118;
#[cfg(feature = "relay")]
mod relay;
#[path = "../../firmware/src/sensor.rs"]
mod sensor;
#[path = "../../firmware/src/stack.rs"]
mod stack;
#[path = "../../firmware/src/wake.rs"]
mod wake;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::raw::Executor;
use embassy_net::tcp::TcpSocket;
use embassy_net::{Ipv4Address, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_time::{Delay, Duration, Timer, with_timeout};
use sse_embedded::{Broadcaster, Config, Limits, Page, Served};
use sse_wire::{Event, History, HistoryEntry};
use static_cell::StaticCell;

/// The LAN9118's register window on the mps2-an385.
const LAN9118_BASE: usize = 0x4020_0000;
const IP: Ipv4Address = Ipv4Address::new(192, 168, 70, 2);
const GATEWAY: Ipv4Address = Ipv4Address::new(192, 168, 70, 1);

/// The same self-contained dashboard `sse serve` shows.
const DASHBOARD: &[u8] = include_bytes!("../../../sse-cli/src/dashboard.html");
const PAGES: &[Page<'static>] =
    &[Page { path: "/", content_type: "text/html; charset=utf-8", body: DASHBOARD }];

/// Connection tasks, and each one's buffers, as in the poll firmware (and,
/// as there, one more with the `one-more-slot` feature).
const CONNECTIONS: usize = if cfg!(feature = "one-more-slot") { 5 } else { 4 };
/// Sockets: the connection tasks', and the relay's client.
const SOCKETS: usize = if cfg!(feature = "relay") { CONNECTIONS + 1 } else { CONNECTIONS };
/// Request heads (browsers send 600 to 900 bytes), then outgoing frames.
const HEAD: usize = 2048;
const RX: usize = 1024;
const TX: usize = 4096;

/// The poll firmware's settings: pages, `retry: 2000`, 10 s keep-alives
/// and stall timeout, the rest the defaults (one slot kept for pages, the
/// stalest stream closed for a newcomer).
const CONFIG: Config<'static> = {
    let mut config = Config::new();
    config.pages = PAGES;
    config.retry_ms = Some(2000);
    config
};
const LIMITS: Limits =
    Limits { keep_alive_ms: Some(10_000), stall_timeout_ms: Some(10_000), ..Limits::new() };

/// The stream: the last 32 events (4 KiB) for replay, shared by every task.
pub(crate) static HUB: Broadcaster<'static, [HistoryEntry; 32], [u8; 4096], CONNECTIONS> =
    Broadcaster::new(CONFIG, LIMITS, History::new());

#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn web_task(stack: Stack<'static>) -> ! {
    let mut rx = [0u8; RX];
    let mut tx = [0u8; TX];
    let mut buf = [0u8; HEAD];
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        // A client that vanished without a FIN gives its slot back.
        socket.set_timeout(LIMITS.tcp_timeout_ms.map(|ms| Duration::from_millis(ms.into())));
        socket.set_keep_alive(LIMITS.tcp_keep_alive_ms.map(|ms| Duration::from_millis(ms.into())));
        if socket.accept(80).await.is_err() {
            continue;
        }
        match HUB.serve(&mut socket, &mut buf, &mut Delay).await {
            // A page or an error: close after it, within the request timeout.
            Ok(Served::Page | Served::Status(_)) => {
                socket.close();
                let timeout = Duration::from_millis(LIMITS.request_timeout_ms.into());
                let _ = with_timeout(timeout, socket.flush()).await;
            }
            // A stream that ended (purged, stalled, too slow), a client
            // that left or timed out, a failed connection: reset it.
            _ => {}
        }
        socket.abort();
        let _ = with_timeout(Duration::from_millis(100), socket.flush()).await;
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, board::Ethernet>) -> ! {
    runner.run().await
}

#[cfg_attr(feature = "relay", allow(dead_code))]
#[embassy_executor::task]
async fn sensor_task(period_ms: u64) -> ! {
    let mut sensor = sensor::Sensor::new();
    loop {
        let (temperature, humidity) = sensor.next();
        let data = format_args!("{{\"temperature\":{temperature:.2},\"humidity\":{humidity:.2}}}");
        if let Ok(event) = Event::new().with_event("sensor") {
            let _ = HUB.publish(&event.with_data_fmt(&data));
        }
        Timer::after_millis(period_ms).await;
    }
}

/// Prints the stack's high-water mark when it grows.
#[embassy_executor::task]
async fn stack_task() -> ! {
    loop {
        stack::report("sse firmware (embassy)");
        Timer::after_secs(1).await;
    }
}

fn fail(what: &str, error: impl core::fmt::Debug) -> ! {
    hprintln!("sse firmware (embassy): {}: {:?}", what, error);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(peripherals) = cortex_m::Peripherals::take() else { loop {} };
    // SAFETY: 0x4020_0000 is the LAN9118's register window on the
    // mps2-an385, device memory, and this is the only driver made for it.
    #[allow(unsafe_code)]
    let chip = unsafe { lan9118::Lan9118::new(LAN9118_BASE) };
    let chip = chip.unwrap_or_else(|e| fail("no LAN9118", e));
    static CHIP: StaticCell<lan9118::Lan9118> = StaticCell::new();
    let chip = CHIP.init(chip);
    board::start_clock(clock::Clock::new(chip.counter()));
    let mac = chip.mac_address().unwrap_or_else(|e| fail("LAN9118", e));

    let epoch = host::boot_epoch();
    HUB.set_epoch(epoch);
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(IP, 24),
        gateway: Some(GATEWAY),
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        board::Ethernet { chip, mac },
        config,
        RESOURCES.init(StackResources::new()),
        u64::from(epoch),
    );

    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    let executor: &'static Executor = EXECUTOR.init(Executor::new(core::ptr::null_mut()));
    let spawner = executor.spawner();
    spawner.must_spawn(net_task(runner));
    #[cfg(feature = "relay")]
    spawner.must_spawn(relay::relay_task(stack, epoch));
    #[cfg(not(feature = "relay"))]
    spawner.must_spawn(sensor_task(host::sensor_period_ms()));
    for _ in 0..CONNECTIONS {
        spawner.must_spawn(web_task(stack));
    }
    spawner.must_spawn(stack_task());
    let [a, b, c, d, e, f] = mac;
    hprintln!(
        "sse firmware (embassy): serving http://{}/ (MAC {:02x}-{:02x}-{:02x}-{:02x}-{:02x}-{:02x}, ids {:08x}-<n>)",
        IP,
        a,
        b,
        c,
        d,
        e,
        f,
        epoch
    );
    board::run(executor, wake::Wake::new(peripherals.SYST))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("sse firmware (embassy): {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
