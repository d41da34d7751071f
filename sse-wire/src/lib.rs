#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]
// On docs.rs every feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
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

mod direct;
mod encode;
mod error;
mod event;
mod head;
mod history;
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
mod io;
#[cfg(feature = "serde")]
mod json;
mod parse;
mod text;
mod topic;

pub use encode::{Encoder, KEEP_ALIVE, Status};
pub use error::{EncodeError, FieldError, HeadError, HistoryError, WriteError};
pub use event::{Data, Event, check_event_name, check_id};
pub use head::{ResponseHead, STREAM_HEADERS};
pub use history::{History, HistoryEntry, HistoryIn, MISSED_EVENTS, Resume, Stored};
#[cfg(feature = "serde")]
pub use json::JsonError;
pub use parse::{IdTooLong, MessageEvent, Output, Parser, Skipped};
pub use text::Text;
pub use topic::{Audience, MAX_TOPIC_LEN, Selection, Selector, Topic, TopicError, check_topic};

#[cfg(test)]
extern crate std;
