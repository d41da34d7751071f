//! sse-embedded's no_std client over real sockets on 127.0.0.1: against
//! sse-std's server (the body delimited by the connection) and against an
//! axum SSE server (chunked), each with a cut connection or a server that
//! ends the stream, and a resumption with `Last-Event-ID` that loses and
//! repeats nothing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use sse_embedded::{ClientConfig, Connect, Control, Ended, EventSource, Target};
use sse_wire::Event;
use tokio::net::TcpStream;

/// The client's timer: tokio's.
struct Delay;

impl embedded_hal_async::delay::DelayNs for Delay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(u64::from(ns))).await;
    }
}

/// Connects to `addr`; the first connection is cut (reads end) after
/// `cut_after` bytes, as when a network drops.
struct Net {
    addr: SocketAddr,
    cut_after: Option<usize>,
    connections: usize,
}

/// A TCP stream whose reads end after `left` bytes.
struct Cut {
    inner: FromTokio<TcpStream>,
    left: Option<usize>,
}

impl embedded_io_async::ErrorType for Cut {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for Cut {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        match self.left {
            Some(0) => Ok(0),
            Some(left) => {
                let take = left.min(buf.len());
                let n = embedded_io_async::Read::read(&mut self.inner, &mut buf[..take]).await?;
                self.left = Some(left - n);
                Ok(n)
            }
            None => embedded_io_async::Read::read(&mut self.inner, buf).await,
        }
    }
}

impl embedded_io_async::Write for Cut {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        embedded_io_async::Write::write(&mut self.inner, buf).await
    }

    async fn flush(&mut self) -> Result<(), std::io::Error> {
        embedded_io_async::Write::flush(&mut self.inner).await
    }
}

impl Connect for Net {
    type Conn<'c> = Cut;
    async fn connect(&mut self, _target: &Target<'_>) -> Option<Cut> {
        let stream = TcpStream::connect(self.addr).await.ok()?;
        self.connections += 1;
        let left = if self.connections == 1 { self.cut_after } else { None };
        Some(Cut { inner: FromTokio::new(stream), left })
    }
}

fn url(addr: SocketAddr) -> String {
    format!("http://127.0.0.1:{}/events", addr.port())
}

#[tokio::test]
async fn against_sse_std_a_cut_connection_resumes_without_loss_or_repeat() {
    let hub = sse_std::Hub::new({
        let mut config = sse_std::HubConfig::default();
        config.keep_alive = None;
        config.epoch = Some("t".into());
        config
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = sse_std::Server::new(hub.clone(), sse_std::ServerConfig::default());
    tokio::spawn(server.run(listener, std::future::pending::<()>()));
    // Publishes e0..e19 every 20 ms once the client is subscribed.
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            while hub.client_count() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            for i in 0..20 {
                hub.publish(&Event::new().with_data(&format!("e{i}"))).unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let target_url = url(addr);
    let mut config = ClientConfig::new(Target::parse(&target_url).unwrap());
    config.retry_ms = 500;
    let mut net = Net { addr, cut_after: Some(260), connections: 0 };
    let mut source: EventSource<1024, 256> = EventSource::new(&config);
    let mut got = Vec::new();
    let ended = tokio::time::timeout(
        Duration::from_secs(20),
        source.run(&config, &mut net, &mut Delay, |e| {
            got.push((e.data().to_string(), e.last_event_id().to_string()));
            if got.len() == 20 { Control::Stop } else { Control::Continue }
        }),
    )
    .await
    .expect("the client finished");
    publisher.await.unwrap();
    assert_eq!(ended, Ended::Stopped);
    let want: Vec<(String, String)> = (0..20).map(|i| (format!("e{i}"), format!("t-{i}"))).collect();
    assert_eq!(got, want);
    assert_eq!(net.connections, 2, "one cut, one resumption");
    assert_eq!(source.stats().streams, 2);
}

#[tokio::test]
async fn against_axum_chunked_streams_resume_until_204() {
    use axum::response::IntoResponse as _;
    use axum::response::sse::{Event as AxumEvent, Sse};
    // Each connection sends the next three events after `Last-Event-ID`
    // (one of them split over two data lines), then ends; after 9, 204.
    let app = axum::Router::new().route(
        "/events",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            let last: i64 = headers
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1);
            if last >= 9 {
                return axum::http::StatusCode::NO_CONTENT.into_response();
            }
            let events = ((last + 1)..(last + 4).min(10)).map(|n| {
                Ok::<_, Infallible>(
                    AxumEvent::default()
                        .id(n.to_string())
                        .data(format!("n{n}\nline two"))
                        .retry(Duration::ZERO),
                )
            });
            Sse::new(futures::stream::iter(events)).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, app).into_future());
    let target_url = url(addr);
    let config = ClientConfig::new(Target::parse(&target_url).unwrap());
    let mut net = Net { addr, cut_after: None, connections: 0 };
    let mut source: EventSource<512, 128> = EventSource::new(&config);
    let mut got = Vec::new();
    let ended = tokio::time::timeout(
        Duration::from_secs(20),
        source.run(&config, &mut net, &mut Delay, |e| {
            got.push((e.data().to_string(), e.last_event_id().to_string()));
            Control::Continue
        }),
    )
    .await
    .expect("the client finished");
    assert_eq!(ended, Ended::NoContent);
    let want: Vec<(String, String)> = (0..10).map(|n| (format!("n{n}\nline two"), n.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(net.connections, 5, "four streams of three, three, three and one events, then 204");
    // `retry: 0` from the server: the floor, not a tight loop (and up to
    // half of it more, at random).
    assert_eq!(source.retry_ms(), 500);
    assert!((500..=750).contains(&source.stats().last_delay_ms), "{:?}", source.stats());
}
