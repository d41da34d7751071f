//! The smoltcp server in-process, over a loopback device: client sockets
//! in the same interface talk to it, byte for byte, on a simulated clock.
//! The device can silence one client port (drop every packet to or from
//! it), as when a phone leaves Wi-Fi.

use std::collections::VecDeque;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr};
use sse_embedded::{Config, Limits, Page, Server, SlowClient};
use sse_wire::{Event, History, MISSED_EVENTS};

const SLOTS: usize = 3;
const PAGES: &[Page<'static>] =
    &[Page { path: "/", content_type: "text/html; charset=utf-8", body: b"<h1>dashboard</h1>" }];

type TestServer = Server<'static, [sse_wire::HistoryEntry; 8], [u8; 2048], SLOTS, 512>;

/// smoltcp's `Loopback`, plus a port whose packets are dropped.
#[derive(Default)]
struct Wire {
    queue: VecDeque<Vec<u8>>,
    silenced: Option<u16>,
}

struct WireRx(Vec<u8>);

struct WireTx<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
    silenced: Option<u16>,
}

impl phy::RxToken for WireRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for WireTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        // Ethernet (14 bytes), IPv4 (IHL words), then the TCP ports.
        let ports = frame.get(14).map(|b| 14 + usize::from(b & 0x0f) * 4).and_then(|tcp| {
            let port = |at: usize| Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]));
            Some([port(tcp)?, port(tcp + 2)?])
        });
        let dropped = self.silenced.is_some_and(|p| ports.is_some_and(|ports| ports.contains(&p)));
        if !dropped {
            self.queue.push_back(frame);
        }
        result
    }
}

impl Device for Wire {
    type RxToken<'a> = WireRx;
    type TxToken<'a> = WireTx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = 65535;
        caps.medium = Medium::Ethernet;
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _: Instant) -> Option<(WireRx, WireTx<'_>)> {
        let frame = self.queue.pop_front()?;
        Some((WireRx(frame), WireTx { queue: &mut self.queue, silenced: self.silenced }))
    }

    fn transmit(&mut self, _: Instant) -> Option<WireTx<'_>> {
        Some(WireTx { queue: &mut self.queue, silenced: self.silenced })
    }
}

struct Net {
    iface: Interface,
    device: Wire,
    sockets: SocketSet<'static>,
    server: TestServer,
    now: Instant,
    next_port: u16,
}

const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n\r\n";

impl Net {
    fn new(config: Config<'static>, limits: Limits, server_tx: usize) -> Self {
        let mut device = Wire::default();
        let iface_config = IfaceConfig::new(EthernetAddress([0x02, 0, 0, 0, 0, 1]).into());
        let mut iface = Interface::new(iface_config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8)).unwrap());
        let mut sockets = SocketSet::new(Vec::new());
        let handles: [SocketHandle; SLOTS] = core::array::from_fn(|_| {
            sockets.add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0u8; 1024]),
                tcp::SocketBuffer::new(vec![0u8; server_tx]),
            ))
        });
        let server = Server::new(config, limits, handles, History::<8, 2048>::new());
        Self { iface, device, sockets, server, now: Instant::ZERO, next_port: 40000 }
    }

    fn default() -> Self {
        Self::new(
            {
                let mut config = Config::new();
                config.pages = PAGES;
                config
            },
            Limits::default(),
            4096,
        )
    }

    /// Runs the network for `ms` simulated milliseconds.
    fn run(&mut self, ms: u64) {
        for _ in 0..ms {
            self.iface.poll(self.now, &mut self.device, &mut self.sockets);
            self.server.poll(self.now, &mut self.sockets);
            self.iface.poll(self.now, &mut self.device, &mut self.sockets);
            self.now += Duration::from_millis(1);
        }
    }

    /// Runs the network only, as when the server's owner polls late.
    fn run_without_the_server(&mut self, ms: u64) {
        for _ in 0..ms {
            self.iface.poll(self.now, &mut self.device, &mut self.sockets);
            self.now += Duration::from_millis(1);
        }
    }

    /// A client socket connected to the server, with this RX buffer size.
    fn connect(&mut self, rx: usize) -> SocketHandle {
        let mut socket =
            tcp::Socket::new(tcp::SocketBuffer::new(vec![0u8; rx]), tcp::SocketBuffer::new(vec![0u8; 4096]));
        let port = self.next_port;
        self.next_port = if port == 60000 { 40000 } else { port + 1 };
        socket.connect(self.iface.context(), (IpAddress::v4(127, 0, 0, 1), 80), port).unwrap();
        let handle = self.sockets.add(socket);
        self.run(30);
        assert_eq!(self.client(handle).state(), tcp::State::Established);
        handle
    }

    fn client(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(handle)
    }

    fn send(&mut self, handle: SocketHandle, bytes: &[u8]) {
        assert_eq!(self.client(handle).send_slice(bytes).unwrap(), bytes.len());
        self.run(30);
    }

    fn request(&mut self, request: &[u8]) -> SocketHandle {
        let handle = self.connect(65536);
        self.send(handle, request);
        handle
    }

    fn read(&mut self, handle: SocketHandle) -> Vec<u8> {
        let mut out = Vec::new();
        let socket = self.client(handle);
        while socket.can_recv() {
            socket
                .recv(|data| {
                    out.extend_from_slice(data);
                    (data.len(), ())
                })
                .unwrap();
        }
        out
    }

    fn drop_client(&mut self, handle: SocketHandle) {
        self.client(handle).abort();
        self.run(5);
        self.sockets.remove(handle);
    }
}

fn get(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: device\r\n{headers}\r\n").into_bytes()
}

#[test]
fn stream_head_then_broadcast_events_byte_for_byte() {
    let mut net = Net::default();
    let client = net.request(&get("/events", "Accept: text/event-stream\r\n"));
    assert_eq!(net.read(client), HEAD);
    net.server.broadcast(&Event::new().with_event("sensor").unwrap().with_data("{\"t\":21}\r\nx")).unwrap();
    net.server.broadcast(&Event::new().with_id("custom").unwrap().with_data("")).unwrap();
    net.run(30);
    assert_eq!(
        net.read(client),
        b"event: sensor\nid: 0\ndata: {\"t\":21}\ndata: x\n\nid: custom\ndata: \n\n"
    );
    assert_eq!(net.server.stats().streams, 1);
}

#[test]
fn broadcast_reaches_every_stream_and_503_when_full() {
    let mut config = Config::new();
    config.pages = PAGES;
    let mut net = Net::new(config, Limits { purge_stalest: false, ..Limits::default() }, 4096);
    // Two streams (one slot stays free to answer pages and 503).
    let a = net.request(&get("/events", ""));
    let b = net.request(&get("/events", ""));
    let c = net.request(&get("/events", ""));
    assert_eq!(net.read(a), HEAD);
    assert_eq!(net.read(b), HEAD);
    assert_eq!(
        net.read(c),
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\n\
          Cache-Control: no-cache\r\nConnection: close\r\nRetry-After: 5\r\n\r\nService Unavailable\n"
    );
    net.server.broadcast(&Event::new().with_data("all")).unwrap();
    net.run(30);
    assert_eq!(net.read(a), b"id: 0\ndata: all\n\n");
    assert_eq!(net.read(b), b"id: 0\ndata: all\n\n");
    // The refused client closes; its slot serves the page while both
    // streams stay open.
    net.client(c).close();
    net.run(30);
    let page = net.request(&get("/", ""));
    let response = net.read(page);
    assert!(
        response.starts_with(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 18\r\n"
        )
    );
    assert!(response.ends_with(b"\r\n\r\n<h1>dashboard</h1>"));
    assert_eq!(net.server.stats().busy, 1);
}

#[test]
fn error_statuses_for_bad_requests() {
    let mut net = Net::default();
    let cases: &[(&[u8], &[u8])] = &[
        (b"GET /nope HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 Not Found\r\n"),
        (b"POST /events HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed\r\n"),
        (b"DELETE / HTTP/1.1\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed\r\n"),
        (b"GET /events HTTP/1.1\r\nBad Header\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
    ];
    for (request, status) in cases {
        let client = net.request(request);
        let response = net.read(client);
        assert!(response.starts_with(status), "{:?}", String::from_utf8_lossy(&response));
        if status.starts_with(b"HTTP/1.1 405") {
            assert!(response.windows(14).any(|w| w == b"\r\nAllow: GET\r\n"));
        }
        // The server closes after answering.
        net.run(50);
        assert!(!net.client(client).may_recv(), "connection left open");
        net.drop_client(client);
    }
    // A head larger than the slot's 512-byte buffer.
    let big = get("/events", &format!("X-Big: {}\r\n", "x".repeat(600)));
    let client = net.connect(65536);
    net.send(client, &big[..400]);
    net.send(client, &big[400..]);
    net.run(30);
    assert!(net.read(client).starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    // HEAD of a page: head only.
    let client = net.request(b"HEAD / HTTP/1.1\r\n\r\n");
    let response = net.read(client);
    assert!(
        response.ends_with(b"Content-Length: 18\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")
    );
}

#[test]
fn a_request_that_never_completes_is_dropped_and_the_slot_reused() {
    let mut net = Net::default();
    let slow = net.connect(4096);
    net.send(slow, b"GET /events HTTP/1.1\r\nHost: x\r\n");
    net.run(4_000);
    assert!(net.client(slow).is_active(), "dropped before the timeout");
    net.run(1_500);
    assert!(!net.client(slow).is_active(), "still open after the timeout");
    assert_eq!(net.server.stats().timeouts, 1);
    let client = net.request(&get("/events", ""));
    assert_eq!(net.read(client), HEAD);
}

/// A client that half-closes (sends its FIN) before the server first
/// looks at the connection finds the socket in CLOSE-WAIT, never in
/// ESTABLISHED: it must be served all the same, and one that sends
/// nothing must not keep its slot (both held a slot for ever, until no
/// slot listened: the QEMU firmware then refused every connection).
#[test]
fn connections_closed_by_the_client_before_the_server_polls_are_served_and_free_their_slots() {
    let mut net = Net::default();
    for _ in 0..SLOTS {
        // Connected without the server, then closed without a request.
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; 1024]),
            tcp::SocketBuffer::new(vec![0u8; 1024]),
        );
        socket.connect(net.iface.context(), (IpAddress::v4(127, 0, 0, 1), 80), net.next_port).unwrap();
        net.next_port += 1;
        let quiet = net.sockets.add(socket);
        net.run(1);
        net.run_without_the_server(30);
        assert_eq!(net.client(quiet).state(), tcp::State::Established);
        net.client(quiet).close();
        net.run_without_the_server(30);
        net.run(30);
        net.drop_client(quiet);
    }
    // A whole request and the FIN, before the server polls.
    let mut socket =
        tcp::Socket::new(tcp::SocketBuffer::new(vec![0u8; 4096]), tcp::SocketBuffer::new(vec![0u8; 1024]));
    socket.connect(net.iface.context(), (IpAddress::v4(127, 0, 0, 1), 80), net.next_port).unwrap();
    net.next_port += 1;
    let half = net.sockets.add(socket);
    net.run(1);
    net.run_without_the_server(30);
    net.client(half).send_slice(&get("/", "")).unwrap();
    net.client(half).close();
    net.run_without_the_server(30);
    net.run(30);
    assert!(net.read(half).ends_with(b"\r\n\r\n<h1>dashboard</h1>"));
    // Every slot listens again.
    let streams: Vec<_> = (0..SLOTS - 1).map(|_| net.request(&get("/events", ""))).collect();
    for stream in streams {
        assert_eq!(net.read(stream), HEAD);
    }
    let page = net.request(&get("/", ""));
    assert!(net.read(page).starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[test]
fn last_event_id_replays_or_signals_missed() {
    let mut net = Net::default();
    for i in 0..12 {
        net.server.broadcast(&Event::new().with_data(&format!("e{i}"))).unwrap();
    }
    // The history keeps 8: ids 4 to 11.
    let client = net.request(&get("/events", "Last-Event-ID: 9\r\n"));
    net.run(30);
    let got = net.read(client);
    assert_eq!(&got[HEAD.len()..], b"id: 10\ndata: e10\n\nid: 11\ndata: e11\n\n");
    net.drop_client(client);

    let client = net.request(&get("/events", "Last-Event-ID: 2\r\n"));
    net.run(30);
    let got = net.read(client);
    assert_eq!(&got[HEAD.len()..], MISSED_EVENTS);
    net.drop_client(client);

    let client = net.request(&get("/events", "Last-Event-ID: 11\r\n"));
    net.run(30);
    assert_eq!(net.read(client), HEAD);
}

#[test]
fn keep_alive_after_the_idle_period_reset_by_traffic() {
    let mut net = Net::default();
    let client = net.request(&get("/events", ""));
    assert_eq!(net.read(client), HEAD);
    net.run(14_000);
    assert!(net.read(client).is_empty());
    net.run(1_100);
    assert_eq!(net.read(client), b":\n\n");
    // An event at ~15.5 s pushes the next keep-alive to ~30.5 s.
    net.run(400);
    net.server.broadcast(&Event::new().with_data("x")).unwrap();
    net.run(10);
    assert_eq!(net.read(client), b"id: 0\ndata: x\n\n");
    net.run(14_900);
    assert!(net.read(client).is_empty());
    net.run(200);
    assert_eq!(net.read(client), b":\n\n");
}

#[test]
fn retry_and_cors_on_connect() {
    let mut config = Config::new();
    config.retry_ms = Some(2500);
    config.cors_origin = Some("*");
    let mut net = Net::new(config, Limits::default(), 4096);
    let client = net.request(&get("/events", ""));
    let got = net.read(client);
    assert!(got.ends_with(b"X-Accel-Buffering: no\r\nAccess-Control-Allow-Origin: *\r\n\r\nretry: 2500\n\n"));
}

#[test]
fn send_to_reaches_one_client_only() {
    let mut net = Net::default();
    let a = net.request(&get("/events", ""));
    let b = net.request(&get("/events", ""));
    net.read(a);
    net.read(b);
    let first = net.server.streams().next().unwrap();
    net.server.send_to(&mut net.sockets, first, &Event::new().with_data("just one")).unwrap();
    net.run(30);
    let (got_a, got_b) = (net.read(a), net.read(b));
    assert_eq!([got_a.is_empty(), got_b.is_empty()].iter().filter(|e| !**e).count(), 1);
    assert!(got_a == b"data: just one\n\n" || got_b == b"data: just one\n\n");
}

fn stalled_and_fast(policy: SlowClient) -> (Net, SocketHandle, SocketHandle, Vec<u8>) {
    let limits = Limits { slow_client: policy, ..Limits::default() };
    let mut net = Net::new(Config::new(), limits, 1024);
    // The stalled client has a small RX window and never reads.
    let stalled = net.connect(256);
    net.send(stalled, &get("/events", ""));
    let fast = net.request(&get("/events", ""));
    net.run(30);
    let mut fast_got = net.read(fast);
    assert_eq!(fast_got, HEAD);
    fast_got.clear();
    for i in 0..40 {
        let data = format!("event number {i:02} with some padding to fill buffers");
        net.server.broadcast(&Event::new().with_data(&data)).unwrap();
        net.run(20);
        fast_got.extend(net.read(fast));
    }
    (net, stalled, fast, fast_got)
}

#[test]
fn a_stream_request_on_full_slots_closes_the_stream_that_took_bytes_longest_ago() {
    // Two stream slots: a stalled client (data waits for it) and a fast one.
    let (mut net, stalled, fast, _) = stalled_and_fast(SlowClient::CatchUp);
    assert!(net.client(stalled).is_active());
    let newcomer = net.request(&get("/events", ""));
    assert_eq!(net.read(newcomer), HEAD);
    let stats = net.server.stats();
    assert_eq!((stats.purged, stats.busy, stats.streams), (1, 0, 2), "{stats:?}");
    assert!(!net.client(stalled).is_active(), "the stalled client kept its slot");
    assert!(net.client(fast).is_active(), "the client that reads was closed");
    // Both streams go on, and the page slot still serves pages.
    net.server.broadcast(&Event::new().with_data("after")).unwrap();
    net.run(30);
    assert!(net.read(newcomer).ends_with(b"data: after\n\n"));
    assert!(net.read(fast).ends_with(b"data: after\n\n"));
    let page = net.request(&get("/nope", ""));
    assert!(net.read(page).starts_with(b"HTTP/1.1 404"));
}

#[test]
fn when_every_client_reads_the_oldest_stream_makes_room() {
    let mut net = Net::default();
    let first = net.request(&get("/events", ""));
    net.run(10);
    let second = net.request(&get("/events", ""));
    assert_eq!((net.read(first), net.read(second)), (HEAD.to_vec(), HEAD.to_vec()));
    let third = net.request(&get("/events", ""));
    assert_eq!(net.read(third), HEAD);
    assert!(!net.client(first).is_active(), "the oldest stream is still open");
    assert!(net.client(second).is_active());
    // The closed client comes back with its last id, displacing the next
    // oldest, and resumes exactly.
    net.server.broadcast(&Event::new().with_data("a")).unwrap();
    net.run(30);
    assert_eq!(net.read(third), b"id: 0\ndata: a\n\n");
    let back = net.request(&get("/events", "Last-Event-ID: 0\r\n"));
    net.server.broadcast(&Event::new().with_data("b")).unwrap();
    net.run(30);
    assert_eq!(net.read(back), [HEAD, b"id: 1\ndata: b\n\n"].concat());
    assert_eq!(net.server.stats().purged, 2);
    // That stream's slot comes after the newcomer's: its client still got
    // the reset (a slot that listened at once would have forgotten it).
    assert!(!net.client(second).is_active(), "the displaced client never heard of it");
}

#[test]
fn a_keep_alive_due_while_the_tx_buffer_is_full_does_not_spin() {
    let limits = Limits { keep_alive_ms: Some(1_000), stall_timeout_ms: Some(30_000), ..Limits::default() };
    let mut net = Net::new(Config::new(), limits, 1024);
    let stalled = net.connect(256);
    net.send(stalled, &get("/events", ""));
    for i in 0..8 {
        net.server.broadcast(&Event::new().with_data(&format!("{i}{}", "x".repeat(200)))).unwrap();
    }
    // Well past the keep-alive period, with the TX buffer full.
    net.run(3_000);
    assert!(net.client(stalled).is_active());
    let due = net.server.poll_at().expect("a stream has a deadline");
    assert!(due > net.now, "the server asks to be polled at {due}, before now ({})", net.now);
}

#[test]
fn a_client_that_stops_reading_does_not_hold_back_the_others() {
    let (mut net, stalled, _fast, fast_got) = stalled_and_fast(SlowClient::CatchUp);
    // The fast client got all 40 events, in order.
    let text = String::from_utf8(fast_got).unwrap();
    for i in 0..40 {
        assert!(text.contains(&format!("id: {i}\ndata: event number {i:02}")), "missing {i}");
    }
    assert!(!text.contains("missed"));
    let stats = net.server.stats();
    assert!(stats.lagged >= 1 && stats.missed_events > 0, "{stats:?}");
    // When it reads again it is told, then gets the newest events.
    let mut got = Vec::new();
    for _ in 0..50 {
        got.extend(net.read(stalled));
        net.run(20);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("event: missed\ndata: \n\n"), "{text}");
    assert!(text.ends_with("id: 39\ndata: event number 39 with some padding to fill buffers\n\n"), "{text}");
}

#[test]
fn the_close_policy_closes_a_client_that_stops_reading() {
    let (mut net, stalled, _fast, _) = stalled_and_fast(SlowClient::Close);
    net.run(100);
    assert_eq!(net.server.stats().slow_closed, 1);
    assert!(!net.client(stalled).is_active());
    assert_eq!(net.server.stats().streams, 1);
}

#[test]
fn thousands_of_connect_close_cycles_reuse_the_slots() {
    let mut net = Net::default();
    for i in 0..2_000 {
        let client = net.request(&get(if i % 2 == 0 { "/" } else { "/events" }, ""));
        let got = net.read(client);
        assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"), "cycle {i}");
        net.client(client).close();
        net.run(10);
        net.drop_client(client);
    }
    net.run(100);
    assert_eq!(net.server.stats().streams, 0);
    assert_eq!(net.server.stats().responses, 1_000);
    assert_eq!(net.server.stats().streams_opened, 1_000);
    // Every slot still works.
    let a = net.request(&get("/events", ""));
    let b = net.request(&get("/events", ""));
    assert_eq!((net.read(a), net.read(b)), (HEAD.to_vec(), HEAD.to_vec()));
}

#[test]
fn ram_per_slot_is_the_head_buffer_plus_a_small_state() {
    type One = Server<'static, [sse_wire::HistoryEntry; 8], [u8; 2048], 1, 512>;
    type Two = Server<'static, [sse_wire::HistoryEntry; 8], [u8; 2048], 2, 512>;
    let per_slot = core::mem::size_of::<Two>() - core::mem::size_of::<One>();
    println!("RAM per slot with HEAD = 512: {per_slot} bytes (+ the socket's RX and TX buffers)");
    // The README promises HEAD + at most 72 bytes of state (on 64-bit
    // targets; less on 32-bit ones).
    assert!(per_slot <= 512 + 72, "{per_slot}");
    // And 4 words per history entry.
    assert_eq!(core::mem::size_of::<sse_wire::HistoryEntry>(), 4 * core::mem::size_of::<usize>());
}

/// A stream whose client has a 256-byte window and never reads, with
/// three 300-byte events queued for it (the history keeps them, so only
/// the stall timeout can act).
fn stalled_stream(policy: SlowClient) -> (Net, SocketHandle) {
    let limits = Limits {
        slow_client: policy,
        stall_timeout_ms: Some(2000),
        keep_alive_ms: None,
        ..Limits::default()
    };
    let mut net = Net::new(Config::new(), limits, 1024);
    let stalled = net.connect(256);
    net.send(stalled, &get("/events", ""));
    net.run(30);
    for i in 0..3 {
        net.server.broadcast(&Event::new().with_data(&format!("{i}{}", "x".repeat(300)))).unwrap();
    }
    net.run(30);
    assert_eq!(net.server.stats().streams, 1);
    (net, stalled)
}

fn a_stalled_stream_is_closed_after_the_stall_timeout(policy: SlowClient) {
    let (mut net, stalled) = stalled_stream(policy);
    net.run(1_800);
    assert!(net.client(stalled).is_active(), "closed before the stall timeout");
    net.run(500);
    let stats = net.server.stats();
    assert_eq!((stats.stalled, stats.streams, stats.slow_closed), (1, 0, 0), "{stats:?}");
    assert!(!net.client(stalled).is_active(), "the stalled client still holds its slot");
    // Its slot serves a new stream.
    let fresh = net.request(&get("/events", ""));
    assert_eq!(net.read(fresh), HEAD);
}

#[test]
fn a_stalled_stream_is_closed_under_catch_up() {
    a_stalled_stream_is_closed_after_the_stall_timeout(SlowClient::CatchUp);
}

#[test]
fn a_stalled_stream_is_closed_under_close() {
    a_stalled_stream_is_closed_after_the_stall_timeout(SlowClient::Close);
}

#[test]
fn a_slow_but_reading_client_is_not_a_stall() {
    let (mut net, stalled) = stalled_stream(SlowClient::CatchUp);
    // It reads a window's worth every 1.5 s: slow, but always progress.
    let mut got = Vec::new();
    for _ in 0..6 {
        net.run(1_500);
        got.extend(net.read(stalled));
    }
    assert_eq!(net.server.stats().stalled, 0);
    assert!(net.client(stalled).is_active());
    let text = String::from_utf8(got).unwrap();
    assert!(text.contains(&format!("id: 2\ndata: 2{}\n\n", "x".repeat(300))), "{text}");
}

#[test]
fn a_client_that_vanishes_is_dropped_by_tcp_keep_alive_and_timeout() {
    let limits = Limits {
        keep_alive_ms: None,
        stall_timeout_ms: None,
        tcp_keep_alive_ms: Some(1000),
        tcp_timeout_ms: Some(3000),
        ..Limits::default()
    };
    let mut net = Net::new(Config::new(), limits, 4096);
    let gone = net.request(&get("/events", ""));
    assert_eq!(net.read(gone), HEAD);
    // From now on nothing reaches it and it sends nothing: no FIN, no RST.
    net.device.silenced = Some(net.client(gone).local_endpoint().unwrap().port);
    net.run(2_000);
    assert_eq!(net.server.stats().streams, 1, "dropped before the TCP timeout");
    net.run(3_000);
    assert_eq!(net.server.stats().streams, 0, "a silent peer still holds its slot");
    net.device.silenced = None;
    let back = net.request(&get("/events", ""));
    assert_eq!(net.read(back), HEAD);
}

#[test]
fn without_tcp_limits_a_vanished_client_keeps_its_slot() {
    // The control for the test above: it is the limits that free the slot.
    let limits = Limits {
        keep_alive_ms: None,
        stall_timeout_ms: None,
        tcp_keep_alive_ms: None,
        tcp_timeout_ms: None,
        ..Limits::default()
    };
    let mut net = Net::new(Config::new(), limits, 4096);
    let gone = net.request(&get("/events", ""));
    assert_eq!(net.read(gone), HEAD);
    net.device.silenced = Some(net.client(gone).local_endpoint().unwrap().port);
    net.run(10_000);
    assert_eq!(net.server.stats().streams, 1);
}

#[test]
fn an_event_larger_than_the_tx_buffer_is_replaced_by_missed() {
    let mut net = Net::new(Config::new(), Limits::default(), 1024);
    let client = net.request(&get("/events", ""));
    assert_eq!(net.read(client), HEAD);
    net.server.broadcast(&Event::new().with_data(&"y".repeat(1500))).unwrap();
    net.server.broadcast(&Event::new().with_data("after")).unwrap();
    net.run(50);
    assert_eq!(net.read(client), [MISSED_EVENTS, b"id: 1\ndata: after\n\n"].concat());
    let stats = net.server.stats();
    assert_eq!((stats.oversized, stats.missed_sent, stats.missed_events), (1, 1, 1));
}

#[test]
fn ids_carry_the_boot_epoch_and_an_id_from_an_earlier_boot_gets_missed() {
    let boot = |epoch| {
        Net::new(
            {
                let mut config = Config::new();
                config.epoch = Some(epoch);
                config
            },
            Limits::default(),
            4096,
        )
    };
    let mut first = boot(7);
    for data in ["a", "b"] {
        first.server.broadcast(&Event::new().with_data(data)).unwrap();
    }
    assert_eq!(first.server.history().get(1).unwrap().id, Some("00000007-1"));
    // Reboot: the same sequence numbers come again, with another epoch.
    let mut second = boot(8);
    for data in ["c", "d", "e"] {
        second.server.broadcast(&Event::new().with_data(data)).unwrap();
    }
    let client = second.request(&get("/events", "Last-Event-ID: 00000007-1\r\n"));
    second.run(30);
    assert_eq!(second.read(client), [HEAD, MISSED_EVENTS].concat());
    // An id of this boot resumes exactly.
    let client = second.request(&get("/events", "Last-Event-ID: 00000008-1\r\n"));
    second.run(30);
    assert_eq!(second.read(client), [HEAD, &b"id: 00000008-2\ndata: e\n\n"[..]].concat());
}

/// The poll-driven client and the server in one interface: it streams,
/// and when the path goes silent it leaves after the read timeout,
/// reconnects once the path is back, and resumes with `Last-Event-ID`:
/// every event once, in order.
#[cfg(feature = "client")]
#[test]
fn the_poll_client_streams_from_the_server_and_resumes_after_a_silent_path() {
    use sse_embedded::{ClientConfig, ClientError, Control, PollClient, Target};

    // Keep-alives every second: a healthy stream is never quiet for the
    // client's 2 s read timeout.
    let mut net = Net::new(Config::new(), Limits { keep_alive_ms: Some(1_000), ..Limits::default() }, 4096);
    let socket = net.sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; 2048]),
        tcp::SocketBuffer::new(vec![0u8; 512]),
    ));
    let mut config = ClientConfig::new(Target::parse("http://127.0.0.1/events").unwrap());
    config.retry_ms = 500;
    config.read_timeout_ms = Some(2_000);
    config.connect_timeout_ms = 1_000;
    let remote = (IpAddress::v4(127, 0, 0, 1), 80).into();
    let mut client: PollClient<1024, 256> = PollClient::new(&config, socket, remote);
    let mut got: Vec<(String, String)> = Vec::new();
    let mut run = |net: &mut Net, client: &mut PollClient<1024, 256>, ms: u64| {
        for _ in 0..ms {
            net.iface.poll(net.now, &mut net.device, &mut net.sockets);
            net.server.poll(net.now, &mut net.sockets);
            let ended = client.poll(net.now, &mut net.iface, &mut net.sockets, &config, |e| {
                got.push((e.data().to_string(), e.last_event_id().to_string()));
                Control::Continue
            });
            assert_eq!(ended, None);
            net.iface.poll(net.now, &mut net.device, &mut net.sockets);
            net.now += Duration::from_millis(1);
        }
    };
    let publish = |net: &mut Net, range: std::ops::Range<u32>| {
        for i in range {
            net.server.broadcast(&Event::new().with_data(&format!("e{i}"))).unwrap();
        }
    };
    run(&mut net, &mut client, 100);
    assert_eq!(net.server.stats().streams, 1, "the client is streaming");
    publish(&mut net, 0..5);
    run(&mut net, &mut client, 100);
    // The path goes silent; events go on being published.
    net.device.silenced = Some(80);
    publish(&mut net, 5..10);
    run(&mut net, &mut client, 4_000);
    net.device.silenced = None;
    run(&mut net, &mut client, 3_000);
    publish(&mut net, 10..15);
    run(&mut net, &mut client, 200);
    let want: Vec<(String, String)> = (0..15).map(|i| (format!("e{i}"), i.to_string())).collect();
    assert_eq!(got, want);
    let stats = client.stats();
    // The read timeout left the silent stream; connecting failed until the
    // path came back.
    assert!(
        matches!(stats.last_error, Some(ClientError::ReadTimeout | ClientError::ConnectTimeout)),
        "{stats:?}"
    );
    assert_eq!(stats.streams, 2, "{stats:?}");
    assert_eq!(client.last_event_id(), b"14");
}
