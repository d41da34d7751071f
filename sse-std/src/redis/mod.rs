//! Scale-out on Redis Streams: many hubs, one history.
//!
//! Invariant: an event is published only by adding it to the stream (one
//! Lua script per request adds every item with the stream's epoch, so a
//! request is stored whole or not at all); each instance's one reader
//! (`XREAD BLOCK`) is the only path into its local [`Hub`], so every
//! instance delivers the same events in the same order with the same ids,
//! `<epoch>-<stream id>`. The epoch (a random value kept next to the
//! stream, drawn again when Redis lost it) tells a restarted-empty Redis
//! from the one that assigned an id, and a counter numbers the entries so
//! that a reader notices any it did not see. A `Last-Event-ID` the local log cannot
//! answer is answered with `XRANGE` up to the newest local event, or with
//! `missed`; the reader turns any loss of continuity it sees (the stream
//! trimmed past its position, a new epoch) into `missed` for every
//! subscriber. Every Redis call has a deadline.
//!
//! Modules: `entry` (events as stream entries, ids), `reader` (the
//! stream's follower), `source` (replay from the stream).

mod entry;
mod reader;
mod source;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::hub::Hub;

/// The Lua script that adds a request's items: it keeps the epoch (drawn
/// by the caller, set only if Redis has none) and adds every item with it
/// and the next number of a counter (`<key>:seq`), atomically, so that a
/// reader sees any entry it skipped as a jump in the numbers. `ARGV`:
/// candidate epoch, max length, then for each item its field count and
/// its fields and values.
const ADD: &str = r"
redis.call('SET', KEYS[2], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[2])
local ids = {}
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local seq = redis.call('INCR', KEYS[3])
  local args = {KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'x', epoch, 'n', seq}
  for j = 1, 2 * n do args[#args + 1] = ARGV[i + j] end
  ids[#ids + 1] = redis.call('XADD', unpack(args))
  i = i + 1 + 2 * n
end
return {epoch, ids}
";

/// Settings of a [`RedisHub`].
///
/// ```
/// let mut config = sse_std::RedisConfig::default();
/// config.url = "redis://127.0.0.1:6380".into();
/// assert_eq!(config.key, "sse");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The server (default `redis://127.0.0.1:6379`).
    pub url: String,
    /// The stream's key; its epoch and entry counter are kept at
    /// `<key>:epoch` and `<key>:seq` (default `sse`).
    pub key: String,
    /// Approximate length the stream is trimmed to (`MAXLEN ~`; default
    /// 1024): how far back any instance can resume a client.
    pub max_len: usize,
    /// Deadline of every Redis call (default 3 s): a publish that cannot
    /// be stored by then fails, and a replay gives `missed`.
    pub timeout: Duration,
    /// The most stream entries one resume may read from Redis (default
    /// 10 000); a client further behind gets `missed`.
    pub replay_max_events: usize,
    /// The most bytes of encoded events one resume may send (default
    /// 1 MiB); a client further behind gets `missed`.
    pub replay_max_bytes: usize,
    /// The most resumes read from Redis at once (default 32); a client
    /// that resumes while they all run gets `missed`. With
    /// `replay_max_bytes`, this bounds the memory resumes can take, however
    /// many clients send a forged `Last-Event-ID`.
    pub max_concurrent_replays: usize,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.redacted_url())
            .field("key", &self.key)
            .field("max_len", &self.max_len)
            .field("timeout", &self.timeout)
            .field("replay_max_events", &self.replay_max_events)
            .field("replay_max_bytes", &self.replay_max_bytes)
            .field("max_concurrent_replays", &self.max_concurrent_replays)
            .finish()
    }
}

impl RedisConfig {
    /// The URL with its password (if any) replaced by `***`, for logs.
    /// `Debug` shows only this form.
    ///
    /// ```
    /// let mut config = sse_std::RedisConfig::default();
    /// config.url = "redis://app:s3cret@db.internal:6379/0".into();
    /// assert_eq!(config.redacted_url(), "redis://app:***@db.internal:6379/0");
    /// assert!(!format!("{config:?}").contains("s3cret"));
    /// ```
    #[must_use]
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

/// `url` without the password of its user information or of a `pass`
/// query parameter (`redis+unix://` URLs carry it there).
fn redact(url: &str) -> String {
    let url = match url.split_once('?') {
        Some((base, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name == "pass" || name == "password" => format!("{name}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", pairs.join("&"))
        }
        None => url.to_owned(),
    };
    let url = url.as_str();
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let shown = if userinfo.contains(':') { format!("{user}:***") } else { "***".to_owned() };
            format!("{scheme}://{shown}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            key: "sse".to_owned(),
            max_len: 1024,
            timeout: Duration::from_secs(3),
            replay_max_events: 10_000,
            replay_max_bytes: 1 << 20,
            max_concurrent_replays: 32,
        }
    }
}

/// Why a [`RedisHub`] could not start or publish.
///
/// ```
/// let e = sse_std::RedisError::PublisherId;
/// assert!(e.to_string().contains("id"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisError {
    /// Redis did not answer in time or answered with an error: nothing of
    /// the request was stored (503).
    Unavailable(String),
    /// An event carried its own id: ids are assigned from the stream so
    /// that every instance resumes a client exactly (400).
    PublisherId,
    /// The URL is not a Redis URL.
    Url(String),
}

impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(reason) => write!(f, "redis unavailable: {reason}"),
            Self::PublisherId => {
                f.write_str("ids are assigned by the hub when it runs on Redis; leave out \"id\"")
            }
            Self::Url(reason) => write!(f, "invalid redis URL: {reason}"),
        }
    }
}

impl std::error::Error for RedisError {}

impl From<RedisError> for crate::EngineError {
    fn from(e: RedisError) -> Self {
        match e {
            RedisError::PublisherId => Self::Refused(e.to_string()),
            RedisError::Unavailable(_) | RedisError::Url(_) => Self::Unavailable(e.to_string()),
        }
    }
}

impl crate::PublishSink for RedisHub {
    /// [`RedisHub::publish`], its errors as [`EngineError`](crate::EngineError)s.
    fn publish_all(&self, items: &[crate::Update<'_>]) -> crate::Publishing {
        let publishing = self.publish(items);
        Box::pin(async move { publishing.await.map_err(crate::EngineError::from) })
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
            ("rediss://user:p@ss:word@h/2?x=1", "rediss://user:***@h/2?x=1"),
            ("redis://onlyapassword@h", "redis://***@h"),
            ("redis+unix:///run/redis.sock?db=1&pass=x", "redis+unix:///run/redis.sock?db=1&pass=***"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}

/// A [`Hub`] whose events go through a Redis stream shared with other
/// instances: publish with [`publish`](Self::publish), serve
/// [`hub`](Self::hub) as usual. Cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), sse_std::RedisError> {
/// use sse_wire::{Audience, Event};
/// let hub = sse_std::Hub::new(Default::default());
/// let shared = sse_std::RedisHub::connect(hub.clone(), Default::default()).await?;
/// let ids = shared.publish(&[sse_std::Update::new(Audience::EVERYONE, Event::new().with_data("hi"))]).await?;
/// // Every instance on this stream delivers it with this id.
/// println!("{}", ids[0]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisHub {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHub").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

struct Shared {
    hub: Hub,
    config: RedisConfig,
    connection: ConnectionManager,
    add: redis::Script,
    epoch_key: String,
    seq_key: String,
}

fn unavailable(e: impl std::fmt::Display) -> RedisError {
    RedisError::Unavailable(e.to_string())
}

impl RedisHub {
    /// Connects, fills `hub`'s log with the stream's newest events, and
    /// starts following the stream. `hub` then receives only what the
    /// stream holds: publish through [`publish`](Self::publish).
    ///
    /// # Errors
    /// [`RedisError::Url`] for a bad URL, [`RedisError::Unavailable`] if
    /// Redis does not answer within the timeout.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sse_std::RedisError> {
    /// let mut config = sse_std::RedisConfig::default();
    /// config.key = "orders".into();
    /// let shared = sse_std::RedisHub::connect(sse_std::Hub::new(Default::default()), config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(hub: Hub, config: RedisConfig) -> Result<Self, RedisError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| RedisError::Url(e.to_string().replace(&config.url, &config.redacted_url())))?;
        let manager = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.timeout))
            .set_connection_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let connection =
            tokio::time::timeout(config.timeout, ConnectionManager::new_with_config(client.clone(), manager))
                .await
                .map_err(|_| unavailable("no answer"))?
                .map_err(unavailable)?;
        let epoch_key = format!("{}:epoch", config.key);
        let seq_key = format!("{}:seq", config.key);
        let add = redis::Script::new(ADD);
        let shared = Arc::new(Shared { hub, config, connection, add, epoch_key, seq_key });
        let start = reader::prefill(&shared).await?;
        shared.hub.set_replay_source(Arc::new(source::StreamSource::new(&shared)));
        tokio::spawn(reader::follow(Arc::clone(&shared), client, start));
        Ok(Self { shared })
    }

    /// The local hub: serve it (subscribe, `Server`) as usual.
    ///
    /// ```no_run
    /// # fn f(shared: sse_std::RedisHub) {
    /// let server = sse_std::Server::new(shared.hub().clone(), Default::default());
    /// # }
    /// ```
    #[must_use]
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Adds the events to the stream, all or none, and returns their ids
    /// (the ids every instance's subscribers see). They reach subscribers
    /// when the readers see them, on this instance as on the others.
    ///
    /// # Errors
    /// [`RedisError::PublisherId`] if an event has an id (nothing is
    /// stored); [`RedisError::Unavailable`] if Redis does not store them
    /// within the timeout.
    ///
    /// ```no_run
    /// # async fn f(shared: sse_std::RedisHub) -> Result<(), sse_std::RedisError> {
    /// use sse_wire::{Audience, Event, Topic};
    /// let t = Audience::on(Topic::new("orders/42").unwrap()).private();
    /// let ids = shared.publish(&[sse_std::Update::new(t, Event::new().with_data("paid"))]).await?;
    /// # Ok(()) }
    /// ```
    pub fn publish(
        &self,
        items: &[crate::Update<'_>],
    ) -> impl Future<Output = Result<Vec<String>, RedisError>> + Send + 'static {
        // Everything the script needs, owned, so that the future borrows
        // nothing of the events (whose data may be any `Display`).
        let mut args: Vec<String> = Vec::new();
        let mut refused = None;
        for update in items {
            if update.event.id().is_some() {
                refused = Some(RedisError::PublisherId);
                break;
            }
            let fields = entry::fields(update);
            args.push(fields.len().to_string());
            for (name, value) in fields {
                args.push(name.to_owned());
                args.push(value);
            }
        }
        let shared = Arc::clone(&self.shared);
        async move {
            if let Some(refused) = refused {
                return Err(refused);
            }
            if args.is_empty() {
                return Ok(Vec::new());
            }
            let mut invocation = shared.add.key(&shared.config.key);
            invocation
                .key(&shared.epoch_key)
                .key(&shared.seq_key)
                .arg(crate::hub::new_epoch())
                .arg(shared.config.max_len.max(1));
            for arg in &args {
                invocation.arg(arg);
            }
            let mut connection = shared.connection.clone();
            let added: (String, Vec<String>) =
                tokio::time::timeout(shared.config.timeout, invocation.invoke_async(&mut connection))
                    .await
                    .map_err(|_| unavailable("no answer in time"))?
                    .map_err(unavailable)?;
            let (epoch, ids) = added;
            Ok(ids.into_iter().map(|id| format!("{epoch}-{id}")).collect())
        }
    }
}
