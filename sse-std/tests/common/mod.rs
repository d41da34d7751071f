//! Helpers for tests over real sockets on 127.0.0.1.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sse_std::{Hub, HubConfig, Server, ServerConfig, ServerMonitor};
use sse_wire::{Output, Parser};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running on an ephemeral port of 127.0.0.1.
pub struct Running {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub monitor: ServerMonitor,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Starts shutting down; `task` ends after the grace period.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The default hub without keep-alive comments, so that a test sees only
/// its own events.
pub fn no_keep_alive() -> HubConfig {
    let mut config = HubConfig::default();
    config.keep_alive = None;
    config
}

pub async fn start(hub_config: HubConfig, config: ServerConfig) -> Running {
    let hub = Hub::new(hub_config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new(hub.clone(), config);
    let monitor = server.monitor();
    let task = tokio::spawn(server.run(listener, async {
        let _ = stopped.await;
    }));
    Running { addr, hub, monitor, stop: Some(stop), task }
}

/// Sends one request on a new connection and returns the response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> http::Response<Incoming> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::builder().method(method).uri(path).header("host", "127.0.0.1");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    sender.send_request(req.body(Empty::<Bytes>::new()).unwrap()).await.unwrap()
}

/// Reads an event stream body and parses it with the sse-wire parser.
pub struct EventReader {
    body: Incoming,
    parser: Box<Parser<65536, 64, 64>>,
    pub events: Vec<(String, String, String)>,
    pub raw: Vec<u8>,
}

impl EventReader {
    pub fn new(response: http::Response<Incoming>) -> Self {
        Self { body: response.into_body(), parser: Box::default(), events: Vec::new(), raw: Vec::new() }
    }

    /// Reads until `n` events have been dispatched in total; `false` if the
    /// stream ended first. Panics after 20 s.
    pub async fn until(&mut self, n: usize) -> bool {
        self.until_counting(n, &std::sync::atomic::AtomicUsize::new(0)).await
    }

    /// The same, storing how many events have arrived in `progress` as
    /// they come (for a publisher that paces itself on this reader).
    pub async fn until_counting(&mut self, n: usize, progress: &std::sync::atomic::AtomicUsize) -> bool {
        tokio::time::timeout(Duration::from_secs(20), async {
            while self.events.len() < n {
                progress.store(self.events.len(), std::sync::atomic::Ordering::Relaxed);
                match self.body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            self.push(&data);
                        }
                    }
                    Some(Err(e)) => panic!("stream failed: {e}"),
                    None => return false,
                }
            }
            true
        })
        .await
        .expect("events did not arrive within 20 s")
    }

    /// Reads to the end of the stream; `Err` if it ended with an error.
    pub async fn read_to_end(&mut self) -> Result<(), hyper::Error> {
        while let Some(frame) = self.body.frame().await {
            if let Ok(data) = frame?.into_data() {
                self.push(&data);
            }
        }
        Ok(())
    }

    fn push(&mut self, data: &[u8]) {
        self.raw.extend_from_slice(data);
        let events = &mut self.events;
        self.parser.feed(data, |out| {
            if let Output::Event(e) = out {
                events.push((
                    e.event_type().to_string(),
                    e.data().to_string(),
                    e.last_event_id().to_string(),
                ));
            }
        });
    }
}
