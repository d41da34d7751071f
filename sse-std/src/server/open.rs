//! A stream request becomes a subscriber in one place, whichever path
//! serves it (the fast path or hyper) and whichever face it asked
//! (`/events` or Mercure).
//!
//! Invariant: the fast path and the router call [`Shared::open`] and
//! nothing else to subscribe, so a stream gets the same subscription,
//! refusal, presence listing and `Last-Event-ID` answer on every path.

use super::Shared;
use crate::exchange::{Answer, StreamRequest};
use crate::hub::Subscriber;

/// A subscribed stream request.
pub(super) struct Opened {
    pub(super) subscriber: Subscriber,
    /// The response's `Last-Event-ID` field (Mercure streams: the newest
    /// event when it subscribed, or `earliest`).
    pub(super) last_event_id: Option<String>,
}

impl Shared {
    /// The subscriber for `request`, listed in Mercure's active
    /// subscriptions if they are published; or the answer that refuses it.
    pub(super) fn open(&self, request: &StreamRequest) -> Result<Opened, Answer> {
        let verifier = self.config.subscribe_verifier.as_deref();
        let retry_after_secs = self.config.retry_after_secs();
        if !request.mercure {
            let subscriber = request.subscribe(&self.hub, verifier, retry_after_secs)?;
            return Ok(Opened { subscriber, last_event_id: None });
        }
        #[allow(unused_mut, unused_variables)]
        let (mut subscriber, payload) = request.subscribe_mercure(&self.hub, verifier, retry_after_secs)?;
        // Listed (and announced) for as long as it streams; refused for
        // capacity if the listing cannot take it.
        #[cfg(feature = "json")]
        if let Some(presence) = &self.presence {
            let topics = crate::mercure::selector_texts(request.query.as_deref());
            let Some(joined) = presence.join(topics, payload) else {
                let full = crate::SubscribeError::TooManyClients;
                return Err(Answer::refused_after(full, retry_after_secs, request.event_stream));
            };
            subscriber.hold(Box::new(joined));
        }
        let newest = subscriber.joined_after().unwrap_or(crate::EARLIEST).to_owned();
        // A value a response field can carry (the hub's ids and publishers'
        // checked ids always are).
        let last_event_id = (!newest.bytes().any(|b| b.is_ascii_control())).then_some(newest);
        Ok(Opened { subscriber, last_event_id })
    }
}
