//! Relay mode: the board subscribes to the host's stream at
//! 192.168.70.10:8080 (QEMU forwards that address, and only it, to the
//! host's loopback) with sse-embedded's poll-driven client, and re-serves
//! every event it receives on its own `/events`.
//!
//! Invariant: the client resumes with `Last-Event-ID` after any cut, so
//! the board's stream carries each upstream event once, in order.

use cortex_m_semihosting::hprintln;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use sse_embedded::{ClientConfig, Control, PollClient, Target};
use sse_wire::{Event, MessageEvent};
use static_cell::{ConstStaticCell, StaticCell};

use crate::Dashboard;

/// The upstream stream, as QEMU's guestfwd presents it.
const UPSTREAM: Target<'static> = Target { host: "192.168.70.10", port: 8080, path: "/events" };
const UPSTREAM_ADDR: Ipv4Address = Ipv4Address::new(192, 168, 70, 10);

/// Head and read buffer, event data, type and id capacities.
pub(crate) type Client = PollClient<1024, 1024, 64, 128>;

/// The relay's client on a socket of its own.
pub(crate) fn start(sockets: &mut SocketSet<'static>) -> (&'static mut Client, ClientConfig<'static>) {
    static RELAY_BUFFERS: ConstStaticCell<([u8; 2048], [u8; 512])> =
        ConstStaticCell::new(([0; 2048], [0; 512]));
    let (rx, tx) = RELAY_BUFFERS.take();
    let socket: SocketHandle = sockets
        .add(tcp::Socket::new(tcp::SocketBuffer::new(&mut rx[..]), tcp::SocketBuffer::new(&mut tx[..])));
    let mut config = ClientConfig::new(UPSTREAM);
    // `sse serve` sends a keep-alive comment every 15 s.
    config.read_timeout_ms = Some(40_000);
    config.retry_ms = 1_000;
    config.jitter_seed = crate::host::boot_epoch();
    let remote = IpEndpoint::new(IpAddress::Ipv4(UPSTREAM_ADDR), UPSTREAM.port);
    static RELAY: StaticCell<Client> = StaticCell::new();
    let client = RELAY.init_with(|| PollClient::new(&config, socket, remote));
    (client, config)
}

/// Reports on the semihosting console when the client opened a stream or
/// failed since the last call (`seen`: the streams and failures reported).
pub(crate) fn report(client: &Client, seen: &mut (u32, u32)) {
    let stats = client.stats();
    if (stats.streams, stats.failures) == *seen {
        return;
    }
    if stats.streams != seen.0 {
        hprintln!("sse firmware: relay streaming from {}:{}{}", UPSTREAM.host, UPSTREAM.port, UPSTREAM.path);
    }
    if stats.failures != seen.1
        && let Some(error) = stats.last_error
    {
        hprintln!("sse firmware: relay: {}; again in {} ms", error, stats.last_delay_ms);
    }
    *seen = (stats.streams, stats.failures);
}

/// Re-serves one upstream event (its type and data; the board numbers it
/// in its own history). Text that is not UTF-8 is skipped.
pub(crate) fn forward(server: &mut Dashboard, event: &MessageEvent<'_>) -> Control {
    let (Ok(kind), Ok(data)) = (event.event_type().to_str(), event.data().to_str()) else {
        return Control::Continue;
    };
    let event = Event::new().with_data(data);
    let event = if kind == "message" { Ok(event) } else { event.with_event(kind) };
    if let Ok(event) = event {
        let _ = server.broadcast(&event);
    }
    Control::Continue
}
