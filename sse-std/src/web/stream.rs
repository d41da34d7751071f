//! A per-request stream: any `Stream` of [`OwnedEvent`]s as an SSE
//! response body, with keep-alive comments and a `retry:` first.
//!
//! Invariant: every frame comes from sse-wire's encoder, each event
//! encoded once; keep-alive comments go out only while the source is
//! idle, and the stream ends when the source does.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::Response;
use sse_wire::KEEP_ALIVE;

use super::event::OwnedEvent;
use crate::exchange::{Body, stream_response};
use crate::hub::KeepAlive;

/// A stream of events computed for one request, as an SSE body: the
/// equivalent of axum's `Sse`, with sse-wire's validation and encoder.
/// It is a `Stream<Item = Bytes>`; [`into_response`](Self::into_response)
/// makes it a hyper response, and with the `axum` feature it is an axum
/// `IntoResponse`.
///
/// ```
/// use futures_util::StreamExt as _;
/// use sse_std::{EventStream, OwnedEvent};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let countdown = futures_util::stream::iter((1..=3).rev().map(|n| OwnedEvent::data(n.to_string())));
/// let mut body = EventStream::new(countdown).retry(std::time::Duration::from_secs(1));
/// assert_eq!(&body.next().await.unwrap()[..], b"retry: 1000\n\n");
/// assert_eq!(&body.next().await.unwrap()[..], b"data: 3\n\n");
/// # });
/// ```
pub struct EventStream<S> {
    events: Pin<Box<S>>,
    retry: Option<Duration>,
    keep_alive: Option<KeepAlive>,
    ended: bool,
}

impl<S> std::fmt::Debug for EventStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("retry", &self.retry)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<S: Stream<Item = OwnedEvent> + Send + 'static> EventStream<S> {
    /// The events of `events`, without keep-alive or `retry:`.
    ///
    /// ```
    /// let s = sse_std::EventStream::new(futures_util::stream::empty::<sse_std::OwnedEvent>());
    /// ```
    #[must_use]
    pub fn new(events: S) -> Self {
        Self { events: Box::pin(events), retry: None, keep_alive: None, ended: false }
    }

    /// Sends a `:` comment after `period` without events, so that proxies
    /// and clients keep an idle stream open (needs tokio's time driver;
    /// outside a runtime there is no keep-alive).
    ///
    /// ```
    /// let s = sse_std::EventStream::new(futures_util::stream::empty::<sse_std::OwnedEvent>())
    ///     .keep_alive(std::time::Duration::from_secs(15));
    /// ```
    #[must_use]
    pub fn keep_alive(mut self, period: Duration) -> Self {
        self.keep_alive = Some(KeepAlive::new(period));
        self
    }

    /// Starts the stream with `retry:`, the client's reconnection time.
    ///
    /// ```
    /// let s = sse_std::EventStream::new(futures_util::stream::empty::<sse_std::OwnedEvent>())
    ///     .retry(std::time::Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn retry(mut self, after: Duration) -> Self {
        self.retry = Some(after);
        self
    }

    /// A hyper response: 200 with the stream headers and this body.
    ///
    /// ```
    /// let r = sse_std::EventStream::new(futures_util::stream::empty::<sse_std::OwnedEvent>()).into_response();
    /// assert_eq!(r.headers()["content-type"], "text/event-stream");
    /// ```
    #[must_use]
    pub fn into_response(self) -> Response<Body> {
        stream_response(self)
    }
}

impl<S: Stream<Item = OwnedEvent>> Stream for EventStream<S> {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if let Some(retry) = this.retry.take() {
            let ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            return Poll::Ready(Some(OwnedEvent::default().with_retry(ms).encode()));
        }
        match this.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                if let Some(keep_alive) = this.keep_alive.as_mut() {
                    keep_alive.reset();
                }
                return Poll::Ready(Some(event.encode()));
            }
            Poll::Ready(None) => {
                this.ended = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        match this.keep_alive.as_mut().map(|k| k.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Bytes::from_static(KEEP_ALIVE))),
            _ => Poll::Pending,
        }
    }
}
