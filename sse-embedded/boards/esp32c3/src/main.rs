//! The embassy app on an ESP32-C3 over Wi-Fi: esp-hal, esp-rtos's
//! embassy executor, esp-radio's station interface under embassy-net with
//! DHCP, and the same dashboard, hub, connection tasks and (simulated)
//! sensor as the QEMU firmware (`app`, shared). The network to join is
//! `SSID` / `PASSWORD` at build time; the boot epoch comes from the RNG.
//!
//! Built in CI for riscv32imc-unknown-none-elf (`scripts/boards.sh`);
//! flash it with `espflash flash --monitor`. It has not run on silicon in
//! this repository's tests: QEMU has no model of this board's radio.
//!
//! The Wi-Fi driver (esp-radio) needs a heap, which this build gives it
//! (`esp_alloc`, 72 KiB); sse-embedded itself allocates nothing.
//!
//! Invariant: no `unsafe` in this file; every static is built in place.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[path = "../../../firmware-embassy/src/app.rs"]
mod app;
#[path = "../../../firmware/src/sensor.rs"]
mod sensor;

use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_time::{Duration, Timer};
use esp_hal::clock::CpuClock;
use esp_hal::interrupt::software::SoftwareInterruptControl;
use esp_hal::rng::Rng;
use esp_hal::timer::timg::TimerGroup;
use esp_radio::wifi::{ClientConfig, ModeConfig, WifiController, WifiDevice, WifiEvent};
use static_cell::StaticCell;

use app::{CONNECTIONS, HUB};

esp_bootloader_esp_idf::esp_app_desc!();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn web_task(stack: embassy_net::Stack<'static>) -> ! {
    app::serve_connections(stack).await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, WifiDevice<'static>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn sensor_task() -> ! {
    app::read_sensor(250).await
}

/// Joins the network, and joins it again whenever the link drops.
#[embassy_executor::task]
async fn wifi_task(mut controller: WifiController<'static>) -> ! {
    let config = ModeConfig::Client(
        ClientConfig::default().with_ssid(env!("SSID").into()).with_password(env!("PASSWORD").into()),
    );
    loop {
        if matches!(controller.is_connected(), Ok(true)) {
            controller.wait_for_event(WifiEvent::StaDisconnected).await;
            Timer::after(Duration::from_secs(1)).await;
        }
        if !matches!(controller.is_started(), Ok(true)) {
            let _ = controller.set_config(&config);
            let _ = controller.start_async().await;
        }
        if controller.connect_async().await.is_err() {
            Timer::after(Duration::from_secs(5)).await;
        }
    }
}

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    esp_alloc::heap_allocator!(size: 72 * 1024);
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    let software_interrupt = SoftwareInterruptControl::new(peripherals.SW_INTERRUPT);
    esp_rtos::start(timg0.timer0, software_interrupt.software_interrupt0);

    let rng = Rng::new();
    let seed = u64::from(rng.random()) << 32 | u64::from(rng.random());
    // A new epoch on every boot: a browser resuming across a reboot gets
    // `missed`, not unrelated events with the same numbers.
    HUB.set_epoch(seed as u32);

    static RADIO: StaticCell<esp_radio::Controller<'static>> = StaticCell::new();
    let radio = RADIO.init(esp_radio::init().expect("esp-radio"));
    let (controller, interfaces) =
        esp_radio::wifi::new(radio, peripherals.WIFI, Default::default()).expect("Wi-Fi");

    static RESOURCES: StaticCell<StackResources<CONNECTIONS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        interfaces.sta,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.must_spawn(wifi_task(controller));
    spawner.must_spawn(net_task(runner));
    spawner.must_spawn(sensor_task());
    for _ in 0..CONNECTIONS {
        spawner.must_spawn(web_task(stack));
    }
    loop {
        Timer::after(Duration::from_secs(3600)).await;
    }
}
