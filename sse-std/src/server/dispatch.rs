//! One connection from accept to close: TLS (`protocols.rs`), or the
//! first request head read by `head.rs` and then either the fast path
//! (`direct.rs`), a refusal, or hyper for everything else.

use std::sync::Arc;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};

use super::conn::Conn;
use super::head::{HeadReader, StreamPaths, Verdict};
use super::walker::Walkers;
use super::{Shared, conn, direct, protocols, stats};
use crate::exchange::{Answer, HostCheck};

/// Serves one connection: a first request for the event stream directly
/// (see `direct.rs`, written by `walkers` while it keeps up), anything
/// else valid with hyper, watched by `graceful`. `open` is held while the
/// connection lives.
pub(super) fn serve(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    counted: stats::OpenConnection,
    graceful: &GracefulShutdown,
    open: &mpsc::Sender<()>,
    walkers: Option<&Arc<Walkers>>,
) {
    let shared = Arc::clone(shared);
    let watcher = graceful.watcher();
    let open = open.clone();
    let walkers = walkers.cloned();
    tokio::spawn(async move {
        let _open = (open, counted);
        let config = &shared.config;
        conn::tune(&stream, config);
        // Notified when the hub disconnects this connection's subscriber for
        // being too slow: the connection is then dropped even if it is
        // blocked writing to a client that stopped reading.
        let too_slow = Arc::new(Notify::new());
        // The TLS and hyper paths are boxed: a task is as large as its
        // largest state, and an event stream on the fast path (most
        // connections) should not carry theirs.
        #[cfg(feature = "tls")]
        if let Some(tls) = config.tls.clone() {
            Box::pin(protocols::with_tls(shared, stream, tls, watcher, too_slow)).await;
            return;
        }
        let mut head = HeadReader::new(config.max_head_bytes);
        let first =
            tokio::time::timeout(config.header_timeout, read_first_head(&stream, &mut head, &shared)).await;
        match first {
            // Slowloris: the head never completed.
            Err(_) => {
                shared.counters.head_timeout();
                tracing::debug!("request head too slow; connection dropped");
            }
            Ok(None) => {}
            Ok(Some(Verdict::Stream(request))) => {
                drop(head);
                direct::serve(stream, &shared, &request, too_slow, walkers.as_deref()).await;
            }
            Ok(Some(Verdict::Refuse(status, reason))) => {
                tracing::debug!(%status, reason, "request refused");
                shared.counters.status(status.as_u16());
                let answer = Answer::text(status, reason).with(config.cors.headers(None)).to_bytes();
                conn::answer_and_close(&mut stream, &answer, config.header_timeout).await;
            }
            Ok(Some(Verdict::Other)) => {
                let conn =
                    Conn::new(head.into_bytes(), stream, config.stall_timeout, Arc::clone(&shared.counters));
                Box::pin(protocols::with_hyper(shared, conn, watcher, too_slow)).await;
            }
        }
    });
}

/// The fuzz targets' view of [`HeadReader`].
pub(crate) fn fuzz_first_head(pieces: &[&[u8]], max: usize) -> crate::fuzzing::FirstHead {
    use crate::fuzzing::FirstHead;
    let mut head = HeadReader::new(max);
    let hosts = HostCheck::new(None, &[]);
    let paths = StreamPaths { events: "/events", mercure: Some(crate::MERCURE_PATH) };
    match pieces.iter().find_map(|piece| head.feed(piece, paths, &hosts)) {
        None => FirstHead::Undecided,
        Some(Verdict::Stream(request)) => FirstHead::Stream(request.last_event_id),
        Some(Verdict::Other) => FirstHead::Other,
        Some(Verdict::Refuse(status, _)) => FirstHead::Refused(status.as_u16()),
    }
}

/// Reads until the first request head can be judged; `None` if the client
/// closes first.
pub(super) async fn read_first_head(
    stream: &TcpStream,
    head: &mut HeadReader,
    shared: &Shared,
) -> Option<Verdict> {
    loop {
        stream.readable().await.ok()?;
        match stream.try_read(head.spare()) {
            Ok(0) => return None,
            Ok(n) => {
                if let Some(verdict) = head.advance(n, StreamPaths::of(&shared.config), &shared.hosts) {
                    return Some(verdict);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
}
