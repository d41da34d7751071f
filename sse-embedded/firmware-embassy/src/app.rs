//! The embassy app, the same on every board (QEMU's mps2-an385 here, a
//! NUCLEO-H743ZI in `boards/`): the dashboard page, the hub every task
//! publishes into, the loop each connection task runs, and the simulated
//! sensor. A board provides the network stack and spawns the tasks.
//!
//! Invariant: nothing here touches hardware; everything is static and
//! sized by the constants below.

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Delay, Duration, Timer, with_timeout};
use sse_embedded::{Broadcaster, Served};
use sse_wire::{Event, History, HistoryEntry};

// The dashboard's settings, the same as the poll firmware's.
#[path = "../../firmware/src/dashboard.rs"]
mod dashboard;

pub use dashboard::CONNECTIONS;
use dashboard::{CONFIG, HEAD, HISTORY_BYTES, HISTORY_EVENTS, LIMITS, RX, TX};

/// The stream: the last 32 events (4 KiB) for replay, shared by every task.
pub static HUB: Broadcaster<'static, [HistoryEntry; HISTORY_EVENTS], [u8; HISTORY_BYTES], CONNECTIONS> =
    Broadcaster::new(CONFIG, LIMITS, History::new());

/// One connection task: accepts a connection on port 80 and serves it, for
/// ever. Spawn `CONNECTIONS` of them.
pub async fn serve_connections(stack: Stack<'static>) -> ! {
    let mut rx = [0u8; RX];
    let mut tx = [0u8; TX];
    let mut buf = [0u8; HEAD];
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        // A client that vanished without a FIN gives its slot back.
        socket.set_timeout(LIMITS.tcp_timeout_ms.map(|ms| Duration::from_millis(ms.into())));
        socket.set_keep_alive(LIMITS.tcp_keep_alive_ms.map(|ms| Duration::from_millis(ms.into())));
        if socket.accept(80).await.is_err() {
            continue;
        }
        // A page or an error: close after it, within the request timeout.
        // A stream that ended (purged, stalled, too slow), a client that
        // left or timed out, a failed connection: reset it.
        if let Ok(Served::Page | Served::Status(_)) = HUB.serve(&mut socket, &mut buf, &mut Delay).await {
            socket.close();
            let timeout = Duration::from_millis(LIMITS.request_timeout_ms.into());
            let _ = with_timeout(timeout, socket.flush()).await;
        }
        socket.abort();
        let _ = with_timeout(Duration::from_millis(100), socket.flush()).await;
    }
}

/// The simulated sensor: a `sensor` event with JSON data every `period_ms`.
pub async fn read_sensor(period_ms: u64) -> ! {
    let mut sensor = crate::sensor::Sensor::new();
    loop {
        let (temperature, humidity) = sensor.next();
        let data = format_args!("{{\"temperature\":{temperature:.2},\"humidity\":{humidity:.2}}}");
        if let Ok(event) = Event::new().with_event("sensor") {
            let _ = HUB.publish(&event.with_data_fmt(&data));
        }
        Timer::after_millis(period_ms).await;
    }
}
