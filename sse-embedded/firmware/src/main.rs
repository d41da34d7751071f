//! Firmware for QEMU's `mps2-an385` board (Cortex-M3 with an SMSC LAN9118
//! Ethernet controller): sse-embedded serves a live dashboard at `/` and a
//! stream of simulated sensor readings at `/events` from 192.168.70.2.
//! All memory is static (`static_cell`); there is no heap.
//!
//! Run it with `scripts/qemu-dashboard.sh PORT` from the repository root.
//! With the `relay` feature it subscribes to the host's stream instead of
//! reading the sensor, and re-serves every event it receives
//! (`scripts/qemu-relay.sh HOST_PORT PORT`).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod clock;
mod dashboard;
mod host;
mod lan9118;
mod mps2;
mod phy;
#[cfg(feature = "relay")]
mod relay;
mod sensor;
mod stack;
mod wake;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::Duration;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use sse_embedded::Server;
use sse_wire::{Event, History, HistoryEntry};
use static_cell::ConstStaticCell;

use dashboard::{CONFIG, CONNECTIONS as SLOTS, HEAD, HISTORY_BYTES, HISTORY_EVENTS, LIMITS, RX, TX};
use mps2::{GATEWAY, IP};

/// Sockets: the server's slots, and the relay's client.
const SOCKET_COUNT: usize = if cfg!(feature = "relay") { SLOTS + 1 } else { SLOTS };

type Dashboard = Server<'static, [HistoryEntry; HISTORY_EVENTS], [u8; HISTORY_BYTES], SLOTS, HEAD>;

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(peripherals) = cortex_m::Peripherals::take() else { loop {} };
    let (device, mac) = mps2::lan9118("sse firmware");
    let clock = clock::Clock::new(device.counter());
    let time = || smoltcp::time::Instant::from_micros(clock.micros() as i64);
    let mac = smoltcp::wire::EthernetAddress(mac);
    let start = time();
    let mut iface = Interface::new(IfaceConfig::new(HardwareAddress::Ethernet(mac)), device, start);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(IP), 24));
    });
    let _ = iface.routes_mut().add_default_ipv4_route(GATEWAY);

    // Built in their static places, not on the stack.
    static SOCKETS: ConstStaticCell<[SocketStorage<'static>; SOCKET_COUNT]> =
        ConstStaticCell::new([SocketStorage::EMPTY; SOCKET_COUNT]);
    static TCP_BUFFERS: ConstStaticCell<[([u8; RX], [u8; TX]); SLOTS]> =
        ConstStaticCell::new([([0; RX], [0; TX]); SLOTS]);
    let storage = SOCKETS.take();
    let buffers = TCP_BUFFERS.take();
    let mut sockets = SocketSet::new(&mut storage[..]);
    let mut handles: [Option<SocketHandle>; SLOTS] = [None; SLOTS];
    for (handle, (rx, tx)) in handles.iter_mut().zip(buffers.iter_mut()) {
        let socket =
            tcp::Socket::new(tcp::SocketBuffer::new(&mut rx[..]), tcp::SocketBuffer::new(&mut tx[..]));
        *handle = Some(sockets.add(socket));
    }
    let handles = handles.map(|h| h.unwrap());

    let epoch = host::boot_epoch();
    // Built at compile time in its static place (13 KiB: the slots'
    // buffers and the history), never on the stack; sockets and the boot
    // epoch come now.
    static SERVER: ConstStaticCell<Dashboard> =
        ConstStaticCell::new(Server::unattached(CONFIG, LIMITS, History::new()));
    let server: &'static mut Dashboard = SERVER.take();
    server.attach(handles);
    server.set_epoch(epoch);

    hprintln!("sse firmware: serving http://{}/ (MAC {}, ids {:08x}-<n>)", IP, mac, epoch);

    #[cfg(feature = "relay")]
    let (upstream, upstream_config) = relay::start(&mut sockets);
    #[cfg(feature = "relay")]
    let mut reported = (0, 0);

    let mut wake = wake::Wake::new(peripherals.SYST);
    let period_ms = host::sensor_period_ms();
    let mut sensor = sensor::Sensor::new();
    let mut next_reading = time();
    let mut next_mark = time();
    loop {
        let now = time();
        if now >= next_mark {
            stack::report("sse firmware");
            next_mark = now + Duration::from_secs(1);
        }
        if !cfg!(feature = "relay") && now >= next_reading {
            let (temperature, humidity) = sensor.next();
            let data = format_args!("{{\"temperature\":{temperature:.2},\"humidity\":{humidity:.2}}}");
            if let Ok(event) = Event::new().with_event("sensor") {
                let _ = server.broadcast(&event.with_data_fmt(&data));
            }
            next_reading = now + Duration::from_millis(period_ms);
        }
        device.regs.ack_interrupt();
        iface.poll(now, device, &mut sockets);
        server.poll(now, &mut sockets);
        #[cfg(feature = "relay")]
        {
            upstream
                .poll(now, &mut iface, &mut sockets, &upstream_config, |event| relay::forward(server, event));
            relay::report(upstream, &mut reported);
        }
        iface.poll(now, device, &mut sockets);
        // Sleep until the next reading, what smoltcp, the server (or the
        // relay's client) have due, or a frame.
        #[cfg(feature = "relay")]
        let (client_due, next_reading) = (upstream.poll_at(), now + Duration::from_secs(60));
        #[cfg(not(feature = "relay"))]
        let client_due = None;
        let due = [iface.poll_at(now, &sockets), server.poll_at(), client_due]
            .into_iter()
            .flatten()
            .fold(next_reading.min(next_mark), smoltcp::time::Instant::min);
        let now = time();
        if due > now && !device.regs.rx_pending() {
            wake.sleep((due - now).total_micros());
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("sse firmware: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
