//! The tokio adapter for sse-core (built by a later issue).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
