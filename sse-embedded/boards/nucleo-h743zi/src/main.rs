//! The embassy app on a NUCLEO-H743ZI: the STM32H743's Ethernet MAC with
//! the board's LAN8742A PHY (RMII), embassy-stm32's time driver and
//! executor, an address from DHCP, and the same dashboard, hub, connection
//! tasks and (simulated) sensor as the QEMU firmware (`app`, shared). The
//! boot epoch of the ids and the network stack's seed come from the chip's
//! RNG.
//!
//! Built in CI for thumbv7em-none-eabihf (`scripts/boards.sh`); flash it
//! with `probe-rs run --chip STM32H743ZITx`. It has not run on silicon in
//! this repository's tests: QEMU has no model of this board.
//!
//! Invariant: no `unsafe`; every static is built in place.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[path = "../../../firmware-embassy/src/app.rs"]
mod app;
#[path = "../../../firmware/src/sensor.rs"]
mod sensor;

use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_stm32::eth::{Ethernet, GenericPhy, PacketQueue};
use embassy_stm32::peripherals::{ETH, RNG};
use embassy_stm32::rng::Rng;
use embassy_stm32::{Config, bind_interrupts, eth, rng};
use panic_halt as _;
use static_cell::StaticCell;

use app::{CONNECTIONS, HUB};

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    RNG => rng::InterruptHandler<RNG>;
});

type Device = Ethernet<'static, ETH, GenericPhy>;

/// A locally administered MAC address (set your own per board).
const MAC: [u8; 6] = [0x02, 0x53, 0x53, 0x45, 0x00, 0x01];

#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn web_task(stack: embassy_net::Stack<'static>) -> ! {
    app::serve_connections(stack).await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn sensor_task() -> ! {
    app::read_sensor(250).await
}

/// 400 MHz from the HSI through PLL1; HSI48 for the RNG.
fn clocks() -> Config {
    use embassy_stm32::rcc::{
        AHBPrescaler, APBPrescaler, HSIPrescaler, Hsi48Config, Pll, PllDiv, PllMul, PllPreDiv, PllSource,
        Sysclk, VoltageScale,
    };
    let mut config = Config::default();
    config.rcc.hsi = Some(HSIPrescaler::DIV1);
    config.rcc.csi = true;
    config.rcc.hsi48 = Some(Hsi48Config { sync_from_usb: false });
    config.rcc.pll1 = Some(Pll {
        source: PllSource::HSI,
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL50,
        divp: Some(PllDiv::DIV2),
        divq: None,
        divr: None,
    });
    config.rcc.sys = Sysclk::PLL1_P;
    config.rcc.ahb_pre = AHBPrescaler::DIV2;
    config.rcc.apb1_pre = APBPrescaler::DIV2;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.apb3_pre = APBPrescaler::DIV2;
    config.rcc.apb4_pre = APBPrescaler::DIV2;
    config.rcc.voltage_scale = VoltageScale::Scale1;
    config
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_stm32::init(clocks());
    let mut rng = Rng::new(p.RNG, Irqs);
    let mut seed = [0u8; 8];
    rng.async_fill_bytes(&mut seed).await.ok();
    let seed = u64::from_le_bytes(seed);
    // A new epoch on every boot: a browser resuming across a reboot gets
    // `missed`, not unrelated events with the same numbers.
    HUB.set_epoch(seed as u32);

    static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    // NUCLEO-H743ZI's RMII pins: REF_CLK PA1, MDIO PA2, MDC PC1, CRS_DV PA7,
    // RXD0 PC4, RXD1 PC5, TXD0 PG13, TXD1 PB13, TX_EN PG11.
    let device = Ethernet::new(
        PACKETS.init(PacketQueue::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA2,
        p.PC1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        GenericPhy::new_auto(),
        MAC,
    );
    static RESOURCES: StaticCell<StackResources<CONNECTIONS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.must_spawn(net_task(runner));
    spawner.must_spawn(sensor_task());
    for _ in 0..CONNECTIONS {
        spawner.must_spawn(web_task(stack));
    }
}
