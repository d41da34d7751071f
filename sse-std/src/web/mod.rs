//! Serving events from other HTTP stacks: the hub as a tower `Service`,
//! per-request event streams, and (feature `axum`) axum responses and
//! extractors.
//!
//! Invariant: every path here produces the same bytes and the same
//! refusals as the built-in server: the stream headers of sse-wire, frames
//! from sse-wire's encoder, one reading of a stream request.
//!
//! Modules: `event` (an owned event), `stream` (a per-request stream),
//! `service` (the hub's tower service), `axum` (axum integration).

#[cfg(feature = "axum")]
mod axum;
mod event;
mod service;
mod stream;

#[cfg(feature = "axum")]
pub use axum::LastEventId;
pub use event::OwnedEvent;
pub use service::HubService;
pub use stream::EventStream;
