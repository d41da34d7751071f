//! Arbitrary client bytes, disconnects and limits against the sse-embedded
//! server over smoltcp's loopback device: no panic, every response is a
//! well-formed HTTP/1.1 head with a documented status, and afterwards every
//! slot is free again.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr};
use sse_embedded::{Config, Limits, Page, Server};
use sse_wire::{Event, History};

const SLOTS: usize = 2;
const PAGES: &[Page<'static>] = &[Page { path: "/", content_type: "text/html", body: b"<p>x</p>" }];

#[derive(Arbitrary, Debug)]
enum Op {
    Connect,
    Send { client: u8, bytes: Vec<u8> },
    Read { client: u8 },
    Close { client: u8 },
    Abort { client: u8 },
    Wait { ms: u16 },
    Broadcast { data: String },
}

struct Client {
    handle: SocketHandle,
    got: Vec<u8>,
}

fuzz_target!(|ops: Vec<Op>| {
    let mut device = Loopback::new(Medium::Ethernet);
    let mut iface = Interface::new(
        IfaceConfig::new(EthernetAddress([2, 0, 0, 0, 0, 1]).into()),
        &mut device,
        Instant::ZERO,
    );
    iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8)).unwrap());
    let mut sockets = SocketSet::new(Vec::new());
    let handles: [SocketHandle; SLOTS] = core::array::from_fn(|_| {
        sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; 512]),
            tcp::SocketBuffer::new(vec![0u8; 512]),
        ))
    });
    let mut config = Config::new();
    config.pages = PAGES;
    let mut server: Server<'_, _, _, SLOTS, 256> =
        Server::new(config, Limits::default(), handles, History::<4, 512>::new());
    let mut now = Instant::ZERO;
    let mut clients: Vec<Client> = Vec::new();
    let mut port = 40000u16;

    let mut run = |ms: u64,
                   iface: &mut Interface,
                   sockets: &mut SocketSet<'_>,
                   server: &mut Server<'_, _, _, SLOTS, 256>,
                   now: &mut Instant| {
        for _ in 0..ms {
            iface.poll(*now, &mut device, sockets);
            server.poll(*now, sockets);
            iface.poll(*now, &mut device, sockets);
            *now += Duration::from_millis(1);
        }
    };

    for op in ops.into_iter().take(64) {
        match op {
            Op::Connect if clients.len() < 8 => {
                let mut socket = tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0u8; 2048]),
                    tcp::SocketBuffer::new(vec![0u8; 2048]),
                );
                port += 1;
                if socket.connect(iface.context(), (IpAddress::v4(127, 0, 0, 1), 80), port).is_ok() {
                    clients.push(Client { handle: sockets.add(socket), got: Vec::new() });
                }
            }
            Op::Connect => {}
            Op::Send { client, bytes } => {
                if let Some(c) = clients.get(usize::from(client) % clients.len().max(1)) {
                    let _ = sockets.get_mut::<tcp::Socket<'_>>(c.handle).send_slice(&bytes);
                }
            }
            Op::Read { client } => {
                let len = clients.len().max(1);
                if let Some(c) = clients.get_mut(usize::from(client) % len) {
                    read_into(sockets.get_mut::<tcp::Socket<'_>>(c.handle), &mut c.got);
                }
            }
            Op::Close { client } => {
                if let Some(c) = clients.get(usize::from(client) % clients.len().max(1)) {
                    sockets.get_mut::<tcp::Socket<'_>>(c.handle).close();
                }
            }
            Op::Abort { client } => {
                if let Some(c) = clients.get(usize::from(client) % clients.len().max(1)) {
                    sockets.get_mut::<tcp::Socket<'_>>(c.handle).abort();
                }
            }
            Op::Wait { ms } => run(u64::from(ms % 7000), &mut iface, &mut sockets, &mut server, &mut now),
            Op::Broadcast { data } => {
                let _ = server.broadcast(&Event::new().with_data(&data));
            }
        }
        run(5, &mut iface, &mut sockets, &mut server, &mut now);
    }

    // Every response is a well-formed head with a documented status.
    for c in &mut clients {
        read_into(sockets.get_mut::<tcp::Socket<'_>>(c.handle), &mut c.got);
        if c.got.len() >= 13 {
            assert!(c.got.starts_with(b"HTTP/1.1 "), "{:?}", String::from_utf8_lossy(&c.got));
            let status = &c.got[9..13];
            assert!(
                [&b"200 "[..], b"400 ", b"404 ", b"405 ", b"431 ", b"503 "].contains(&status),
                "{:?}",
                String::from_utf8_lossy(&c.got)
            );
        }
    }
    // Everyone leaves; after the timeouts every slot is free again.
    for c in &clients {
        sockets.get_mut::<tcp::Socket<'_>>(c.handle).abort();
    }
    run(6_000, &mut iface, &mut sockets, &mut server, &mut now);
    assert_eq!(server.stats().streams, 0);
    for _ in 0..SLOTS {
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; 4096]),
            tcp::SocketBuffer::new(vec![0u8; 1024]),
        );
        port += 1;
        socket.connect(iface.context(), (IpAddress::v4(127, 0, 0, 1), 80), port).unwrap();
        let handle = sockets.add(socket);
        run(20, &mut iface, &mut sockets, &mut server, &mut now);
        sockets.get_mut::<tcp::Socket<'_>>(handle).send_slice(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        run(30, &mut iface, &mut sockets, &mut server, &mut now);
        let mut got = Vec::new();
        let _ = sockets.get_mut::<tcp::Socket<'_>>(handle).recv(|d| {
            got.extend_from_slice(d);
            (d.len(), ())
        });
        assert!(
            got.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "slot not freed: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
});

fn read_into(socket: &mut tcp::Socket<'_>, got: &mut Vec<u8>) {
    while socket.can_recv() {
        let Ok(n) = socket.recv(|d| {
            got.extend_from_slice(d);
            (d.len(), d.len())
        }) else {
            break;
        };
        if n == 0 {
            break;
        }
    }
}
