//! The axum example, served for real on 127.0.0.1: a hub subscriber is an
//! axum response body as it is.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../examples/axum.rs"]
mod example;

mod common;

use common::{EventReader, request};
use sse_core::Event;
use sse_std::{Hub, HubConfig};

#[tokio::test]
async fn axum_serves_the_hub_with_resume() {
    let hub = Hub::new(HubConfig { keep_alive: None, epoch: Some("t".into()), ..HubConfig::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, example::router(hub.clone())).into_future());

    hub.publish(&Event::new().with_data("before")).unwrap();
    hub.publish(&Event::new().with_data("also before")).unwrap();
    let response = request(addr, "GET", "/events", &[("last-event-id", "t-0")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut reader = EventReader::new(response);
    assert!(reader.until(1).await);
    hub.publish(&Event::new().with_event("live").unwrap().with_data("a\nb")).unwrap();
    assert!(reader.until(2).await);
    assert_eq!(
        reader.events,
        [
            ("message".into(), "also before".into(), "t-1".into()),
            ("live".into(), "a\nb".into(), "t-2".into())
        ]
    );
}
