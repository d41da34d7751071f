//! What a [`Hub`](super::Hub) is made with: its settings and its
//! slow-consumer policy.
//!
//! Invariant: every field has a default that is safe to run with, and the
//! hub reads its settings only here.

use std::time::Duration;

/// What to do with a subscriber that fell more than `queue_len` events
/// behind (for example a client on a stalled connection).
///
/// Either way the client learns of the gap: a server also closes a stream
/// whose socket accepts no bytes for its `stall_timeout`, under both
/// policies.
///
/// ```
/// use sse_std::{HubConfig, SlowConsumer};
/// let mut config = HubConfig::default();
/// config.slow_consumer = SlowConsumer::Disconnect;
/// assert_eq!(config.slow_consumer, SlowConsumer::Disconnect);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SlowConsumer {
    /// Drop the oldest events it has not read, send it
    /// [`MISSED_EVENTS`](sse_wire::MISSED_EVENTS) (an event of type
    /// `missed`), and go on with the oldest event still queued. Its dropped
    /// events are counted in [`HubStats::dropped`](crate::HubStats::dropped).
    #[default]
    DropOldest,
    /// End its stream (its client reconnects with `Last-Event-ID` and
    /// catches up from the history if it can). The hub checks as it
    /// queues each event, so a client that stopped reading altogether is
    /// caught as soon as it is `queue_len` events of its own subscription
    /// behind, and notifies the subscriber's
    /// [disconnect signal](crate::Subscriber::set_disconnect_signal) so
    /// that its server can close the connection. Counted in
    /// [`HubStats::slow_disconnects`](crate::HubStats::slow_disconnects),
    /// its unread events in [`HubStats::dropped`](crate::HubStats::dropped).
    Disconnect,
}

/// Settings of a [`Hub`](super::Hub).
///
/// ```
/// use std::time::Duration;
/// let mut config = sse_std::HubConfig::default();
/// config.history_events = 100;
/// config.keep_alive = Some(Duration::from_secs(30));
/// let hub = sse_std::Hub::new(config);
/// assert_eq!(hub.client_count(), 0);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// Events kept for replay after `Last-Event-ID`, per topic (events
    /// without a topic count as one more topic; default 1024).
    pub history_events: usize,
    /// Bytes the whole history may take: encoded events, their ids and
    /// about 100 bytes of bookkeeping per event and 200 per topic (default
    /// 1 MiB). Past it, the least recently published topic gives up its
    /// oldest events first.
    pub history_bytes: usize,
    /// How many events of its own subscription one subscriber may fall
    /// behind before [`slow_consumer`](Self::slow_consumer) applies
    /// (default 256; at least 1 and at most [`MAX_QUEUE_LEN`]). Events of
    /// topics it did not select never count. The queue holds only events
    /// some subscriber has not read yet, so an idle hub holds none.
    pub queue_len: usize,
    /// The slow-consumer policy (default: drop the oldest and tell).
    pub slow_consumer: SlowConsumer,
    /// Send a keep-alive comment after this long without traffic (default
    /// 15 s; `None`: never).
    pub keep_alive: Option<Duration>,
    /// Send `retry: <ms>` first on every new stream (default: not sent).
    pub retry: Option<Duration>,
    /// The most subscribers at once (default: no limit).
    pub max_clients: Option<usize>,
    /// The first part of every id the hub assigns: ids are
    /// `<epoch>-<seq>`. `None` (the default) draws a new epoch for every
    /// hub: the start time in milliseconds and 16 random bits, in hex
    /// ([`Hub::epoch`](super::Hub::epoch)). So an id from another process
    /// or an earlier run never matches an event of this one: resuming with
    /// it gets `missed`, never a replay of unrelated events. Give a value
    /// only if it is unique per run (a boot counter, for example); it must
    /// be a valid id (no CR, LF or NUL).
    pub epoch: Option<String>,
    /// How the ids the hub assigns are written (default
    /// `<epoch>-<seq>`; [`IdForm::Urn`] for Mercure's `urn:uuid:` ids).
    pub ids: IdForm,
}

/// How a hub writes the ids it assigns. Either form carries the hub's
/// epoch and the event's sequence number, so that a subscriber resumes
/// exactly from its id even after the event left the history.
///
/// ```
/// use sse_std::IdForm;
/// assert_eq!(IdForm::Epoch.assign("e", 7), "e-7");
/// let urn = IdForm::Urn.assign("e", 7);
/// assert!(urn.starts_with("urn:uuid:") && urn.len() == 45);
/// assert_eq!(IdForm::Urn.seq_of("e", &urn), Some(7));
/// assert_eq!(IdForm::Urn.seq_of("other", &urn), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdForm {
    /// `<epoch>-<seq>`, such as `18c1f0a2b3c4d5-42`.
    #[default]
    Epoch,
    /// A URN of an RFC 9562 version 8 UUID, such as
    /// `urn:uuid:9f1c2d3e-4a5b-8c6d-8000-00000000002a`: 60 bits drawn from
    /// the epoch, then the version and variant, then the 62-bit sequence
    /// number (the ids the Mercure protocol recommends).
    Urn,
}

impl IdForm {
    /// The id of event `seq` of a hub with this `epoch`.
    ///
    /// ```
    /// assert_eq!(sse_std::IdForm::Epoch.assign("run7", 0), "run7-0");
    /// ```
    #[must_use]
    pub fn assign(self, epoch: &str, seq: u64) -> String {
        match self {
            Self::Epoch => format!("{epoch}-{seq}"),
            Self::Urn => {
                let hash = fnv1a(epoch.as_bytes());
                let seq = seq & 0x3fff_ffff_ffff_ffff;
                format!(
                    "urn:uuid:{:08x}-{:04x}-8{:03x}-{:04x}-{:012x}",
                    hash >> 32,
                    (hash >> 16) & 0xffff,
                    (hash >> 4) & 0xfff,
                    0x8000 | ((seq >> 48) & 0x3fff),
                    seq & 0xffff_ffff_ffff,
                )
            }
        }
    }

    /// The sequence number in `id`, if it is an id this form assigns for
    /// `epoch`, written exactly as it would be (`e-01` is not `e-1`).
    ///
    /// ```
    /// assert_eq!(sse_std::IdForm::Epoch.seq_of("e", "e-12"), Some(12));
    /// assert_eq!(sse_std::IdForm::Epoch.seq_of("e", "e-012"), None);
    /// ```
    #[must_use]
    pub fn seq_of(self, epoch: &str, id: &str) -> Option<u64> {
        // Read without allocating: the hub asks for every event it stores.
        match self {
            Self::Epoch => {
                let digits = id.strip_prefix(epoch)?.strip_prefix('-')?;
                let canonical = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'));
                if canonical { digits.parse().ok() } else { None }
            }
            Self::Urn => {
                let uuid = id.strip_prefix("urn:uuid:")?;
                let bytes = uuid.as_bytes();
                let shaped = bytes.len() == 36
                    && bytes.iter().enumerate().all(|(i, b)| match i {
                        8 | 13 | 18 | 23 => *b == b'-',
                        _ => b.is_ascii_digit() || (b'a'..=b'f').contains(b),
                    });
                if !shaped {
                    return None;
                }
                let field = |range: std::ops::Range<usize>| u64::from_str_radix(uuid.get(range)?, 16).ok();
                let hash = fnv1a(epoch.as_bytes());
                let ours = field(0..8)? == hash >> 32
                    && field(9..13)? == (hash >> 16) & 0xffff
                    && field(14..18)? == 0x8000 | ((hash >> 4) & 0xfff);
                let variant = field(19..23)?;
                if !ours || variant & 0xc000 != 0x8000 {
                    return None;
                }
                Some((variant & 0x3fff).wrapping_shl(48) | field(24..36)?)
            }
        }
    }
}

/// FNV-1a, 64 bits: a stable digest of the epoch for [`IdForm::Urn`] (not
/// a secret; ids are not credentials).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            history_events: 1024,
            history_bytes: 1 << 20,
            queue_len: 256,
            slow_consumer: SlowConsumer::DropOldest,
            keep_alive: Some(Duration::from_secs(15)),
            retry: None,
            max_clients: None,
            epoch: None,
            ids: IdForm::Epoch,
        }
    }
}

/// A new epoch: the time in milliseconds since 1970 and 16 random bits,
/// as hexadecimal digits.
pub(crate) fn new_epoch() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    // std seeds every `RandomState` from the OS's random source.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(millis);
    hasher.write_u32(std::process::id());
    format!("{millis:x}{:04x}", hasher.finish() & 0xffff)
}

/// The largest [`HubConfig::queue_len`] a hub uses; larger values are
/// taken as this.
///
/// ```
/// let mut config = sse_std::HubConfig::default();
/// config.queue_len = usize::MAX;
/// let hub = sse_std::Hub::new(config);
/// assert!(hub.subscribe(None).is_ok());
/// assert_eq!(sse_std::MAX_QUEUE_LEN, 1 << 20);
/// ```
pub const MAX_QUEUE_LEN: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::IdForm;

    /// Every id either form assigns is read back as its number, and only
    /// ids written exactly so (and of this epoch) are.
    #[test]
    fn ids_read_back_exactly() {
        for seq in [0, 1, 9, 10, 4095, 1 << 20, (1 << 48) - 1, 1 << 48, (1 << 62) - 1] {
            for form in [IdForm::Epoch, IdForm::Urn] {
                let id = form.assign("run", seq);
                assert_eq!(form.seq_of("run", &id), Some(seq), "{id}");
                assert_eq!(form.seq_of("other", &id), None, "{id}");
                assert_eq!(form.seq_of("run", &id.to_uppercase()), None, "{id}");
                assert_eq!(form.seq_of("run", &format!("{id}x")), None, "{id}");
            }
        }
        assert_eq!(IdForm::Epoch.seq_of("run", "run-01"), None);
        assert_eq!(IdForm::Epoch.seq_of("run", "run-"), None);
        let urn = IdForm::Urn.assign("run", 5);
        let wrong_variant = format!("{}c{}", &urn[..28], &urn[29..]);
        assert_eq!(IdForm::Urn.seq_of("run", &wrong_variant), None, "{wrong_variant}");
    }
}
