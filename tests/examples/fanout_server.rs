//! A server for the fan-out benchmark (`benches/fanout.rs`): either
//! sse-std's hub and HTTP server (`ours`) or a minimal axum SSE server fed
//! by `tokio::sync::broadcast` (`axum`), on 127.0.0.1. It prints its port,
//! waits until `CLIENTS` streams are open (at most 60 s), reports its RSS, publishes for
//! `SECONDS` (at `RATE` events/s, or as fast as it can with `max`), then a
//! sentinel `{"end":SENT}`, reports `done`, and exits when its standard
//! input closes (the harness reads its CPU time first). Every event's data
//! is `{"t":<publish time, ns>,"n":<sequence number>}`, so that a client
//! sees both latency and every gap. Both servers run on tokio's default
//! runtime: one worker per core the process may use (`taskset`).
//!
//!     fanout_server (ours|ours:WRITE_INTERVAL_MS|axum|floor|floor-uring) CLIENTS (RATE|max) SECONDS

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Publishes for `seconds`, at `rate` per second (`None`: flat out).
async fn publish(rate: Option<u64>, seconds: u64, mut send: impl FnMut(String)) -> u64 {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut ticker = rate.map(|r| tokio::time::interval(Duration::from_nanos(1_000_000_000 / r.max(1))));
    let mut sent = 0u64;
    while Instant::now() < end {
        match ticker.as_mut() {
            Some(t) => {
                t.tick().await;
            }
            None => {
                if sent.is_multiple_of(64) {
                    tokio::task::yield_now().await;
                }
            }
        }
        send(format!("{{\"t\":{},\"n\":{sent}}}", now_ns()));
        sent += 1;
    }
    sent
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args[1].clone();
    let clients: usize = args[2].parse().unwrap();
    let rate = if args[3] == "max" { None } else { Some(args[3].parse().unwrap()) };
    let seconds: u64 = args[4].parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("port {}", listener.local_addr().unwrap().port());
    let baseline = rss_kib();

    if let Some(interval) = which.strip_prefix("ours") {
        // `ours:MS`: with a write interval of MS milliseconds.
        let write_interval = interval.strip_prefix(':').map(|ms| Duration::from_millis(ms.parse().unwrap()));
        let hub = sse_std::Hub::new({
            let mut config = sse_std::HubConfig::default();
            config.keep_alive = None;
            config
        });
        let server = sse_std::Server::new(hub.clone(), {
            let mut config = sse_std::ServerConfig::default();
            config.shutdown_grace = Duration::from_millis(200);
            config.write_interval = write_interval;
            config
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, async {
            let _ = stopped.await;
        }));
        wait_for(clients, || hub.client_count()).await;
        let count = hub.client_count();
        println!("rss_kib {baseline} {}", rss_kib());
        let sent = publish(rate, seconds, |data| {
            let _ = hub.publish(&sse_wire::Event::new().with_data(&data));
        })
        .await;
        let _ = hub.publish(&sse_wire::Event::new().with_data(&format!("{{\"end\":{sent}}}")));
        println!("done clients {count} sent {sent}");
        wait_for_stdin_close().await;
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    } else if which == "floor" || which == "floor-uring" {
        floor(listener, clients, rate, seconds, baseline, which == "floor-uring").await;
    } else {
        let (tx, _) = tokio::sync::broadcast::channel::<String>(256);
        let open = Arc::new(AtomicUsize::new(0));
        let state = (tx.clone(), Arc::clone(&open));
        let app = axum::Router::new()
            .route(
                "/events",
                axum::routing::get(
                    |axum::extract::State((tx, open)): axum::extract::State<(
                        tokio::sync::broadcast::Sender<String>,
                        Arc<AtomicUsize>,
                    )>| async move {
                        open.fetch_add(1, Ordering::SeqCst);
                        let guard = Guard(open);
                        let stream = tokio_stream::wrappers::BroadcastStream::new(tx.subscribe())
                            .filter_map(|m| futures::future::ready(m.ok()))
                            .map(move |data| {
                                let _ = &guard;
                                Ok::<_, Infallible>(axum::response::sse::Event::default().data(data))
                            });
                        axum::response::sse::Sse::new(stream)
                    },
                ),
            )
            .with_state(state);
        let server = tokio::spawn(axum::serve(listener, app).into_future());
        wait_for(clients, || open.load(Ordering::SeqCst)).await;
        let count = open.load(Ordering::SeqCst);
        println!("rss_kib {baseline} {}", rss_kib());
        let sent = publish(rate, seconds, |data| {
            let _ = tx.send(data);
        })
        .await;
        let _ = tx.send(format!("{{\"end\":{sent}}}"));
        println!("done clients {count} sent {sent}");
        wait_for_stdin_close().await;
        drop(tx);
        server.abort();
    }
}

/// The floor for one send per delivery: every stream's socket in one
/// list, and each event written to each socket in turn from the
/// publishing task (one `write` per delivery, no task per client, no
/// queue), or with `uring`, all of an event's sends entered through
/// io_uring at once. Not a server anyone should run: a socket that does
/// not take a whole frame at once loses it (the harness counts that as
/// loss).
async fn floor(
    listener: tokio::net::TcpListener,
    clients: usize,
    rate: Option<u64>,
    seconds: u64,
    baseline: u64,
    uring: bool,
) {
    use std::io::Write as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let streams = Arc::new(std::sync::Mutex::new(Vec::<std::net::TcpStream>::new()));
    let accepted = Arc::clone(&streams);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let accepted = Arc::clone(&accepted);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response =
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
                if stream.write_all(response).await.is_err() {
                    return;
                }
                let _ = stream.set_nodelay(true);
                if let Ok(stream) = stream.into_std() {
                    accepted.lock().unwrap().push(stream);
                }
            });
        }
    });
    wait_for(clients, || streams.lock().unwrap().len()).await;
    let count = streams.lock().unwrap().len();
    println!("rss_kib {baseline} {}", rss_kib());
    let mut ring = uring.then(|| sse_tests::uring::Ring::new().expect("io_uring"));
    let mut send = |data: String| {
        let frame = format!("data: {data}\n\n");
        let mut streams = streams.lock().unwrap();
        match ring.as_mut() {
            Some(ring) => {
                let _ = ring.send_all(&streams, frame.as_bytes());
            }
            None => {
                for stream in streams.iter_mut() {
                    let _ = stream.write(frame.as_bytes());
                }
            }
        }
    };
    let sent = publish(rate, seconds, &mut send).await;
    send(format!("{{\"end\":{sent}}}"));
    println!("done clients {count} sent {sent}");
    wait_for_stdin_close().await;
    streams.lock().unwrap().clear();
}

/// Waits until `clients` streams are open, or 60 s (clients that could
/// not connect are the harness's to report).
async fn wait_for(clients: usize, open: impl Fn() -> usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while open() < clients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Returns when standard input reaches its end.
async fn wait_for_stdin_close() {
    let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
}

struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
