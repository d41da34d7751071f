//! The benchmark peer of `sse-firmware`: the same board (QEMU's
//! mps2-an385), the same LAN9118 driver, clock and simulated sensor, the
//! same dashboard page and the same stream (a `sensor` event with JSON data
//! four times a second, keep-alive after 10 s of silence), served by
//! picoserve's SSE support on embassy-net instead of sse-embedded on
//! smoltcp. The per-connection budget matches the firmware's: 4 connections,
//! each with a 2 KiB request buffer, 1 KiB of TCP receive and 4 KiB of TCP
//! send buffer.
//!
//! It exists to be measured (`scripts/footprint.sh`): flash, static RAM,
//! and RAM per connection (one web task's future, buffers included). Like
//! the firmware it runs under `qemu-system-arm -M mps2-an385`, at
//! 192.168.70.2.
//!
//! It runs on the same board support as `sse-firmware-embassy` (its
//! `board` module: time driver, embassy-net driver, the executor loop that
//! sleeps in WFI), so that the two differ only in the server.
//!
//! Invariant: the only `unsafe` is `board`'s (what embassy links against)
//! and the register accesses of the shared LAN9118 driver.

#![no_std]
#![no_main]
#![deny(unsafe_code)]
// picoserve's response futures nest deeply (its own examples raise it too).
#![recursion_limit = "256"]

#[path = "../../firmware-embassy/src/board.rs"]
mod board;
#[path = "../../firmware/src/clock.rs"]
mod clock;
#[allow(dead_code)]
#[path = "../../firmware/src/lan9118.rs"]
mod lan9118;
#[path = "../../firmware/src/mps2.rs"]
mod mps2;
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
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::watch::{DynReceiver, Watch};
use embassy_time::{Duration, Timer};
use picoserve::response::sse::{EventSource, EventWriter};
use picoserve::response::{EventStream, File};
use picoserve::routing::{PathRouter, get, get_service};
use picoserve::{Config, Router};
use static_cell::StaticCell;

use mps2::{GATEWAY, IP};

/// The page `sse-firmware` and `sse serve` show.
const DASHBOARD: &str = include_str!("../../../sse-cli/src/dashboard.html");

/// Connections served at once, and each one's buffers, as in the firmware
/// (and, as there, one more with the `one-more-slot` feature).
const CONNECTIONS: usize = if cfg!(feature = "one-more-slot") { 5 } else { 4 };
const HEAD: usize = 2048;
const RX: usize = 1024;
const TX: usize = 4096;

/// The latest reading, watched by every open stream.
static READING: Watch<CriticalSectionRawMutex, (f32, f32), CONNECTIONS> = Watch::new();

/// One open stream: a `sensor` event per reading, a keep-alive comment
/// after 10 s without one.
struct Readings(DynReceiver<'static, (f32, f32)>);

impl EventSource for Readings {
    async fn write_events<W: picoserve::io::Write>(
        mut self,
        mut writer: EventWriter<'_, W>,
    ) -> Result<(), W::Error> {
        loop {
            match embassy_time::with_timeout(Duration::from_secs(10), self.0.changed()).await {
                Ok((temperature, humidity)) => {
                    let data =
                        format_args!("{{\"temperature\":{temperature:.2},\"humidity\":{humidity:.2}}}");
                    writer.write_event("sensor", data).await?;
                }
                Err(embassy_time::TimeoutError) => writer.write_keepalive().await?,
            }
        }
    }
}

fn app() -> Router<impl PathRouter> {
    Router::new().route("/", get_service(File::html(DASHBOARD))).route(
        "/events",
        get(|| async {
            READING
                .dyn_receiver()
                .map(|receiver| EventStream(Readings(receiver)))
                .ok_or((picoserve::response::StatusCode::SERVICE_UNAVAILABLE, "too many clients"))
        }),
    )
}

/// picoserve's default timeouts, connections kept alive (as in its SSE
/// example).
static CONFIG: Config = Config::const_default().keep_connection_alive();

#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn web_task(id: usize, stack: Stack<'static>) -> ! {
    let app = app();
    let mut rx = [0u8; RX];
    let mut tx = [0u8; TX];
    let mut head = [0u8; HEAD];
    loop {
        let _ = picoserve::Server::new(&app, &CONFIG, &mut head)
            .listen_and_serve(id, stack, 80, &mut rx, &mut tx)
            .await;
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, board::Ethernet>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn sensor_task() -> ! {
    let sender = READING.sender();
    let mut sensor = sensor::Sensor::new();
    loop {
        sender.send(sensor.next());
        Timer::after_millis(250).await;
    }
}

/// Prints the stack's high-water mark when it grows.
#[embassy_executor::task]
async fn stack_task() -> ! {
    loop {
        stack::report("picoserve peer");
        Timer::after_secs(1).await;
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(peripherals) = cortex_m::Peripherals::take() else { loop {} };
    let (chip, mac) = mps2::lan9118("picoserve peer");
    board::start_clock(clock::Clock::new(chip.counter()));

    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(IP, 24),
        gateway: Some(GATEWAY),
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<CONNECTIONS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        board::Ethernet { chip, mac },
        config,
        RESOURCES.init(StackResources::new()),
        0x5eed,
    );

    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    let executor: &'static Executor = EXECUTOR.init(Executor::new(core::ptr::null_mut()));
    let spawner = executor.spawner();
    hprintln!("picoserve peer: serving http://{}/", IP);
    spawner.must_spawn(net_task(runner));
    spawner.must_spawn(sensor_task());
    for id in 0..CONNECTIONS {
        spawner.must_spawn(web_task(id, stack));
    }
    spawner.must_spawn(stack_task());
    board::run(executor, wake::Wake::new(peripherals.SYST))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("picoserve peer: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
