#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]
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
mod writer;

pub use hub::{Hub, HubConfig, HubStats, PublishError, Published, SlowConsumer, SubscribeError, Subscriber};
pub use writer::{SseWriter, WriteError};
