#![no_std]
#![deny(unsafe_code)]
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

mod log;
mod route;
#[cfg(feature = "smoltcp")]
mod server;

pub use route::{Config, Page};
#[cfg(feature = "smoltcp")]
pub use server::{ClientId, SendError, Server, SlowClient, Stats, Timing};
