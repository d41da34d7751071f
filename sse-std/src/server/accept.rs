//! The accept loop: connections counted against `max_connections` (a
//! refusal is one non-blocking write, no task), each served on its own
//! task (`dispatch.rs`); on shutdown the hub ends its streams, and after
//! the grace period the loop stops and waits (up to the grace period
//! again) for the connections to close.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::walker::Walkers;
use super::{Shared, dispatch};
use crate::exchange::{Answer, HostCheck};

/// Runs until `shutdown` completes and the connections are gone (see
/// [`Server::run`](super::Server::run)).
pub(super) async fn accept_loop(
    mut shared: Shared,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr().ok().map(|addr| addr.ip());
    shared.hosts = HostCheck::new(local, &shared.config.allowed_hosts);
    let shared = Arc::new(shared);
    let graceful = GracefulShutdown::new();
    // Every connection task holds a sender: all have ended when `recv`
    // returns `None`.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let grace = shared.config.shutdown_grace;
    let busy = Answer::busy_after(shared.config.retry_after_secs(), "too many connections")
        .with(shared.config.cors.headers(None))
        .to_bytes();
    // Streams that keep up are written by walkers, one per runtime
    // worker (see `walker.rs`); with a write interval each stream
    // keeps its own task, which times its writes.
    let walkers = shared
        .config
        .write_interval
        .is_none()
        .then(|| Arc::new(Walkers::start(tokio::runtime::Handle::current().metrics().num_workers())));
    let mut shutdown = pin!(shutdown);
    let mut shutting_down = false;
    let grace_timer = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    let mut grace_timer = pin!(grace_timer);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection");
                    match shared.counters.open(shared.config.max_connections) {
                        Some(counted) => dispatch::serve(&shared, stream, counted, &graceful, &open, walkers.as_ref()),
                        // No task and no buffer: one non-blocking write.
                        None => {
                            tracing::debug!(%peer, "connection refused at max_connections");
                            let _ = stream.try_write(&busy);
                        }
                    }
                }
                Err(e) => {
                    // Out of file descriptors, for example: back off.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown, if !shutting_down => {
                tracing::info!("shutting down");
                shutting_down = true;
                shared.hub.shutdown();
                grace_timer.as_mut().reset(crate::hub::deadline(grace));
            }
            () = &mut grace_timer, if shutting_down => break,
        }
    }
    drop(listener);
    drop(open);
    let closed = async {
        graceful.shutdown().await;
        while all_closed.recv().await.is_some() {}
    };
    if tokio::time::timeout(grace, closed).await.is_err() {
        tracing::warn!("connections still open after the grace period");
    }
    Ok(())
}
