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

mod app;
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
#[path = "../../firmware/src/mps2.rs"]
mod mps2;
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
use embassy_net::{Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_time::Timer;
use static_cell::StaticCell;

use app::{CONNECTIONS, HUB};
use mps2::{GATEWAY, IP};

/// Sockets: the connection tasks', and the relay's client.
const SOCKETS: usize = if cfg!(feature = "relay") { CONNECTIONS + 1 } else { CONNECTIONS };

#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn web_task(stack: Stack<'static>) -> ! {
    app::serve_connections(stack).await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, board::Ethernet>) -> ! {
    runner.run().await
}

#[cfg_attr(feature = "relay", allow(dead_code))]
#[embassy_executor::task]
async fn sensor_task(period_ms: u64) -> ! {
    app::read_sensor(period_ms).await
}

/// Prints the stack's high-water mark when it grows.
#[embassy_executor::task]
async fn stack_task() -> ! {
    loop {
        stack::report("sse firmware (embassy)");
        Timer::after_secs(1).await;
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(peripherals) = cortex_m::Peripherals::take() else { loop {} };
    let (chip, mac) = mps2::lan9118("sse firmware (embassy)");
    board::start_clock(clock::Clock::new(chip.counter()));

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
