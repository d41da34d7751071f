//! Helpers for tests of the `sse` command over real sockets on 127.0.0.1.

#![allow(dead_code, unreachable_pub)]

pub mod cat;
pub mod process;
