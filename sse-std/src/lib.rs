#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]
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

mod hub;
#[cfg(feature = "json")]
mod publish;
mod server;
mod writer;

pub use hub::{Hub, HubConfig, HubStats, PublishError, Published, SlowConsumer, SubscribeError, Subscriber};
#[cfg(feature = "json")]
pub use publish::{PublishBodyError, PublishItem, parse_publish};
pub use server::{
    Body, Handler, HandlerFuture, KeepaliveProbes, Server, ServerConfig, ServerMonitor, ServerStats,
    default_max_connections, full, read_body, text_response,
};
pub use writer::{SseWriter, WriteError};
