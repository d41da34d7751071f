//! The firmware's code path on a host: sse-embedded over smoltcp on a TAP
//! device, serving a small dashboard page and a counter/sensor stream.
//! (std is used for this example only: for the TAP device and the clock.)
//!
//! ```sh
//! # as root, in a network namespace of your own (the end-to-end test
//! # does exactly this):
//! ip netns add sse-demo
//! ip netns exec sse-demo cargo run -p sse-embedded --example tap_demo -- tap0 192.168.69.1
//! ip netns exec sse-demo ip link set tap0 up
//! ip netns exec sse-demo ip addr add 192.168.69.100/24 dev tap0
//! ip netns exec sse-demo curl -N http://192.168.69.1/events
//! ```

use std::os::unix::io::AsRawFd;
use std::time::Instant as StdInstant;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Medium, TunTapInterface, wait};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};
use sse_embedded::{Config, Limits, Page, Server};
use sse_wire::{Event, History};

const DASHBOARD: &[u8] = br#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>device</title>
<style>body{font:16px system-ui;margin:2em;background:#111;color:#eee}b{font-size:2em}</style>
<h1>device dashboard</h1><p>counter <b id="n">-</b></p><p>temperature <b id="t">-</b> &deg;C</p>
<script>
const s = new EventSource("/events");
s.addEventListener("sensor", e => { const d = JSON.parse(e.data); n.textContent = d.n; t.textContent = d.t.toFixed(2); });
</script>"#;

const PAGES: &[Page<'static>] =
    &[Page { path: "/", content_type: "text/html; charset=utf-8", body: DASHBOARD }];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tap = args.next().unwrap_or_else(|| "tap0".to_owned());
    let ip: Ipv4Address = args.next().unwrap_or_else(|| "192.168.69.1".to_owned()).parse()?;

    let mut device = TunTapInterface::new(&tap, Medium::Ethernet)?;
    let fd = device.as_raw_fd();
    let mut iface = Interface::new(
        IfaceConfig::new(EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]).into()),
        &mut device,
        Instant::now(),
    );
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(ip), 24));
    });

    let mut sockets = SocketSet::new(Vec::new());
    let handles: [SocketHandle; 4] = core::array::from_fn(|_| {
        sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; 1024]),
            tcp::SocketBuffer::new(vec![0u8; 4096]),
        ))
    });
    let mut config = Config::new();
    config.pages = PAGES;
    config.retry_ms = Some(1000);
    let limits = Limits { keep_alive_ms: Some(5000), ..Limits::default() };
    let mut server: Server<'_, _, _, 4, 1024> =
        Server::new(config, limits, handles, History::<32, 8192>::new());
    println!("tap_demo: serving http://{ip}/ on {tap}");

    let started = StdInstant::now();
    let mut next_tick = Instant::now();
    let mut counter = 0u64;
    loop {
        let now = Instant::now();
        if now >= next_tick {
            let t = 21.0 + (started.elapsed().as_secs_f64() / 3.0).sin();
            let data = format!("{{\"n\":{counter},\"t\":{t:.3}}}");
            server.broadcast(&Event::new().with_event("sensor")?.with_data(&data))?;
            counter += 1;
            next_tick = now + Duration::from_millis(500);
        }
        iface.poll(now, &mut device, &mut sockets);
        server.poll(now, &mut sockets);
        iface.poll(now, &mut device, &mut sockets);
        let deadline =
            [iface.poll_at(now, &sockets), server.poll_at(), Some(next_tick)].into_iter().flatten().min();
        let timeout = deadline.map(|d| if d > now { d - now } else { Duration::ZERO });
        wait(fd, timeout)?;
    }
}
