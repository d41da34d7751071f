//! The HTTP vocabulary both the built-in server (`server`) and the other
//! stacks' adapters (`web`) speak: responses and bodies, the reading of a
//! stream request, CORS and the `Host` rules.
//!
//! Invariant: `server` and `web` depend on this module and never on each
//! other, so every path gives the same answers from one implementation.
//!
//! Modules: `respond` (bodies, the server's own answers, stream
//! responses), `request` (what a stream request asks for), `cors`, `host`.

pub(crate) mod cors;
pub(crate) mod host;
pub(crate) mod request;
pub(crate) mod respond;

pub use cors::Cors;
pub use host::request_host;
pub(crate) use host::{HostCheck, count_problem as host_count_problem};
pub(crate) use request::StreamRequest;
pub(crate) use respond::{Answer, head_bytes, stream_response};
pub use respond::{Body, Handler, HandlerFuture, full, read_body, text_response};
