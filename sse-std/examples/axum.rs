//! Serving events from axum with sse-std (feature `axum`): the hub's
//! stream in one line (`route_service`), a handler of your own that
//! subscribes with the `LastEventId` extractor, and a stream computed for
//! each request.
//!
//! ```sh
//! cargo run -p sse-std --features axum --example axum
//! curl -N http://127.0.0.1:3000/events           # the hub, with resume and ?topic=
//! curl -N http://127.0.0.1:3000/ticks            # the hub's `tick` topic, from a handler
//! curl -N http://127.0.0.1:3000/countdown/5      # one stream for this request only
//! ```

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use futures_util::Stream;
use sse_std::{
    EventStream, Hub, LastEventId, OwnedEvent, Selectors, SubscribeError, Subscriber, Subscription,
};
use sse_wire::{Audience, Event, Topic};

/// A handler of your own: the hub's `tick` topic, resuming after the
/// client's last id.
async fn ticks(State(hub): State<Hub>, LastEventId(id): LastEventId) -> Result<Subscriber, SubscribeError> {
    let ticks = Selectors::parse(["tick"]).map(Subscription::new).unwrap_or_default();
    hub.subscribe_with(ticks, id.as_deref())
}

/// A per-request computation: `from`, `from - 1`, … `1`, 100 ms apart,
/// then the stream ends.
async fn countdown(Path(from): Path<u32>) -> EventStream<impl Stream<Item = OwnedEvent>> {
    let steps = futures_util::stream::unfold(from, |n| async move {
        if n == 0 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let event = OwnedEvent::data(n.to_string()).with_event("count").ok()?.with_id(n.to_string()).ok()?;
        Some((event, n - 1))
    });
    EventStream::new(steps).keep_alive(Duration::from_secs(15)).retry(Duration::from_secs(10))
}

/// The application.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route_service("/events", hub.service())
        .route("/ticks", get(ticks))
        .route("/countdown/{from}", get(countdown))
        .with_state(hub)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let hub = Hub::new(Default::default());
    let publisher = hub.clone();
    tokio::spawn(async move {
        let Ok(topic) = Topic::new("tick") else { return };
        for tick in 0u64.. {
            let data = format!("{{\"tick\":{tick}}}");
            let _ = publisher.publish_to(Audience::on(topic), &Event::new().with_data(&data));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, router(hub)).await
}
