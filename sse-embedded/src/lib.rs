#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]
// On docs.rs every feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The README links items of every feature (the client's, the servers').
#![cfg_attr(
    not(all(feature = "client", feature = "async", feature = "smoltcp", feature = "rand_core")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "async")]
mod broadcast;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "async")]
mod conn;
#[cfg(any(feature = "async", feature = "client"))]
mod deadline;
mod limits;
mod log;
mod route;
#[cfg(feature = "smoltcp")]
mod server;
mod slots;
mod stats;

#[cfg(feature = "async")]
pub use broadcast::Broadcaster;
#[cfg(all(feature = "client", feature = "smoltcp"))]
pub use client::PollClient;
#[cfg(feature = "client")]
pub use client::{
    ClientConfig, ClientError, ClientStats, Connect, Control, Ended, EventSource, HeaderError,
    LastEventIdError, Nal, Target, UrlError, check_header,
};
#[cfg(feature = "async")]
pub use conn::{ConnError, Guard, Next, Served, StreamSource, frames_after, resume_point, serve_connection};
pub use limits::{Limits, SlowClient};
pub use route::{Config, Page, publish};
#[cfg(feature = "smoltcp")]
pub use server::{ClientId, SendError, Server};
pub use stats::Stats;
