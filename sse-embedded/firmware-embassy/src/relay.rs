//! Relay mode on embassy: the board subscribes to the host's stream at
//! 192.168.70.10:8080 (QEMU forwards that address, and only it, to the
//! host's loopback) with sse-embedded's async `EventSource`, connecting
//! through embassy-net's `TcpClient` (`Nal`), and re-serves every event it
//! receives on its own `/events`.
//!
//! Invariant: the client resumes with `Last-Event-ID` after any cut, so
//! the board's stream carries each upstream event once, in order; the
//! console says "relay streaming" once per stream that opened.

use cortex_m_semihosting::hprintln;
use embassy_net::Stack;
use embassy_net::tcp::client::{TcpClient, TcpClientState};
use embassy_time::{Delay, Duration, Timer};
use embedded_io_async::{ErrorType, Read, Write};
use sse_embedded::{ClientConfig, Connect, Control, EventSource, Nal, Target};
use sse_wire::{Event, MessageEvent};
use static_cell::StaticCell;

use crate::app::HUB;

/// The upstream stream, as QEMU's guestfwd presents it.
const UPSTREAM: Target<'static> = Target { host: "192.168.70.10", port: 8080, path: "/events" };

/// Head and read buffer, event data, type and id capacities (as the poll
/// firmware's relay).
type Client = EventSource<1024, 1024, 64, 128>;

/// One connection at a time, 512 B to send and 2 KiB to receive.
type State = TcpClientState<1, 512, 2048>;

/// `Nal` over embassy-net, saying on the console when a stream's head came.
struct Reporting<'a>(Nal<&'a TcpClient<'a, 1, 512, 2048>>);

/// A connection that reports its first bytes (the response head).
struct Reported<C> {
    conn: C,
    heard: bool,
}

impl<C: ErrorType> ErrorType for Reported<C> {
    type Error = C::Error;
}

impl<C: Read> Read for Reported<C> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, C::Error> {
        let n = self.conn.read(buf).await?;
        if n > 0 && !core::mem::replace(&mut self.heard, true) && buf.starts_with(b"HTTP/1.1 200") {
            hprintln!(
                "sse firmware (embassy): relay streaming from {}:{}{}",
                UPSTREAM.host,
                UPSTREAM.port,
                UPSTREAM.path
            );
        }
        Ok(n)
    }
}

impl<C: Write> Write for Reported<C> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, C::Error> {
        self.conn.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), C::Error> {
        self.conn.flush().await
    }
}

impl<'a> Connect for Reporting<'a> {
    type Conn<'c>
        = Reported<<Nal<&'a TcpClient<'a, 1, 512, 2048>> as Connect>::Conn<'c>>
    where
        Self: 'c;

    async fn connect<'c>(&'c mut self, target: &Target<'_>) -> Option<Self::Conn<'c>> {
        let conn = self.0.connect(target).await?;
        Some(Reported { conn, heard: false })
    }
}

/// Re-serves one upstream event (its type and data; the board numbers it
/// in its own history). Text that is not UTF-8 is skipped.
fn forward(event: &MessageEvent<'_>) -> Control {
    let (Ok(kind), Ok(data)) = (event.event_type().to_str(), event.data().to_str()) else {
        return Control::Continue;
    };
    let event = Event::new().with_data(data);
    let event = if kind == "message" { Ok(event) } else { event.with_event(kind) };
    if let Ok(event) = event {
        let _ = HUB.publish(&event);
    }
    Control::Continue
}

#[embassy_executor::task]
pub async fn relay_task(stack: Stack<'static>, seed: u32) -> ! {
    static STATE: StaticCell<State> = StaticCell::new();
    static CLIENT: StaticCell<Client> = StaticCell::new();
    let state: &'static State = STATE.init(TcpClientState::new());
    let mut tcp = TcpClient::new(stack, state);
    // A path that goes silent frees the socket (the client's read timeout
    // is the first to act).
    tcp.set_timeout(Some(Duration::from_secs(60)));
    let mut config = ClientConfig::new(UPSTREAM);
    // `sse serve` sends a keep-alive comment every 15 s.
    config.read_timeout_ms = Some(40_000);
    config.retry_ms = 1_000;
    config.jitter_seed = seed;
    let source = CLIENT.init(EventSource::new(&config));
    let mut net = Reporting(Nal(&tcp));
    loop {
        let ended = source.run(&config, &mut net, &mut Delay, forward).await;
        hprintln!("sse firmware (embassy): relay ended ({:?}); again in 5 s", ended);
        Timer::after_secs(5).await;
    }
}
