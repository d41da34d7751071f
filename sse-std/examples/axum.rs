//! Serving a hub from axum: a `Subscriber` is a `Stream<Item = Bytes>`, so
//! it is the response body as it is.
//!
//! ```sh
//! cargo run -p sse-std --example axum   # then: curl -N http://127.0.0.1:3000/events
//! ```

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt as _;
use sse_std::{Hub, SubscribeError};

/// The `/events` route: the hub's stream, resuming after `Last-Event-ID`.
async fn events(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    match hub.subscribe(last_event_id) {
        Ok(subscriber) => {
            let mut response = Body::from_stream(subscriber.map(Ok::<_, Infallible>)).into_response();
            for (name, value) in sse_core::STREAM_HEADERS {
                response.headers_mut().insert(*name, HeaderValue::from_static(value));
            }
            response
        }
        // Tell browsers to stop reconnecting while shutting down.
        Err(SubscribeError::ShutDown) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The application: one route, the hub as state.
pub fn router(hub: Hub) -> Router {
    Router::new().route("/events", get(events)).with_state(hub)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let hub = Hub::new(Default::default());
    let publisher = hub.clone();
    tokio::spawn(async move {
        for tick in 0u64.. {
            let data = format!("{{\"tick\":{tick}}}");
            if let Ok(event) = sse_core::Event::new().with_event("tick") {
                let _ = publisher.publish(&event.with_data(&data));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, router(hub)).await
}
