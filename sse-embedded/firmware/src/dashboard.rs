//! What the dashboard serves on every build that uses sse-embedded (the
//! poll firmware, the embassy firmware and the boards): its page, how many
//! connections it takes and each one's buffers, its settings and limits.
//!
//! Invariant: constants only, so that every build serves the same thing
//! and `scripts/footprint.sh` compares like with like.

use sse_embedded::{Config, Limits, Page};

/// The same self-contained dashboard `sse serve` shows: connection state,
/// a live log, and a live chart of the numeric fields of JSON events.
const DASHBOARD: &[u8] = include_bytes!("../../../sse-cli/src/dashboard.html");
const PAGES: &[Page<'static>] =
    &[Page { path: "/", content_type: "text/html; charset=utf-8", body: DASHBOARD }];

/// Connections served at once. `scripts/footprint.sh` builds one more with
/// the `one-more-slot` feature: the difference is the RAM of a connection.
pub const CONNECTIONS: usize = if cfg!(feature = "one-more-slot") { 5 } else { 4 };
/// Browsers send request heads of 600 to 900 bytes; 2 KiB leaves room.
pub const HEAD: usize = 2048;
/// Each connection's TCP buffers.
pub const RX: usize = 1024;
pub const TX: usize = 4096;
/// The replay history: the last 32 events, 4 KiB of frames.
pub const HISTORY_EVENTS: usize = 32;
pub const HISTORY_BYTES: usize = 4096;

/// The dashboard, `retry: 2000`, and ids with the boot epoch (set at boot).
pub const CONFIG: Config<'static> = {
    let mut config = Config::new();
    config.pages = PAGES;
    config.retry_ms = Some(2000);
    config
};
/// Keep-alives and the stall timeout at 10 s; the rest the defaults (one
/// slot kept for pages, the stalest stream closed for a newcomer).
pub const LIMITS: Limits =
    Limits { keep_alive_ms: Some(10_000), stall_timeout_ms: Some(10_000), ..Limits::new() };
