//! Why publishing or subscribing failed: one small error type each.
//!
//! Invariant: every failure of [`Hub::publish`](super::Hub::publish) and
//! [`Hub::subscribe`](super::Hub::subscribe) has its own variant.

use sse_wire::FieldError;

/// Why [`Hub::publish`](super::Hub::publish) failed.
///
/// ```
/// let hub = sse_std::Hub::new(Default::default());
/// hub.shutdown();
/// let err = hub.publish(&sse_wire::Event::new().with_data("x")).unwrap_err();
/// assert_eq!(err, sse_std::PublishError::ShutDown);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The hub was shut down.
    ShutDown,
    /// The event's `Display` data failed to format.
    Format,
    /// The id the hub assigned was refused: its configured
    /// [`epoch`](crate::HubConfig::epoch) is not a valid id.
    Field(FieldError),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ShutDown => f.write_str("the hub is shut down"),
            Self::Format => f.write_str("formatting the event data failed"),
            Self::Field(e) => write!(f, "assigned id refused: {e}"),
        }
    }
}

impl std::error::Error for PublishError {}

/// Why [`Hub::subscribe`](super::Hub::subscribe) failed.
///
/// ```
/// let mut config = sse_std::HubConfig::default();
/// config.max_clients = Some(0);
/// let hub = sse_std::Hub::new(config);
/// assert_eq!(hub.subscribe(None).unwrap_err(), sse_std::SubscribeError::TooManyClients);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The hub was shut down: tell the client to stop reconnecting (204).
    ShutDown,
    /// `max_clients` subscribers are connected: ask it to retry later (503).
    TooManyClients,
}

impl std::fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ShutDown => "the hub is shut down",
            Self::TooManyClients => "too many clients",
        })
    }
}

impl std::error::Error for SubscribeError {}
