//! The axum example, served for real on 127.0.0.1: the hub through
//! `route_service`, a handler with the `LastEventId` extractor, and a
//! per-request stream.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../examples/axum.rs"]
mod example;

mod common;

use common::{EventReader, request};
use sse_std::{Hub, HubConfig};
use sse_wire::{Audience, Event, Topic};

async fn serve(hub: &Hub) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, example::router(hub.clone())).into_future());
    addr
}

fn quiet() -> Hub {
    Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = None;
        config.epoch = Some("t".into());
        config
    })
}

#[tokio::test]
async fn the_hub_service_resumes_and_selects_topics() {
    let hub = quiet();
    let addr = serve(&hub).await;
    hub.publish(&Event::new().with_data("before")).unwrap();
    hub.publish(&Event::new().with_data("also before")).unwrap();
    let response = request(addr, "GET", "/events", &[("last-event-id", "t-0")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache, no-transform");
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
    // The polyfill's query parameter resumes too; topics select.
    let response = request(addr, "GET", "/events?topic=x&lastEventId=t-2", &[]).await;
    let mut reader = EventReader::new(response);
    hub.publish(&Event::new().with_data("no topic")).unwrap();
    hub.publish_to(Audience::on(Topic::new("x").unwrap()), &Event::new().with_data("on x")).unwrap();
    assert!(reader.until(1).await);
    assert_eq!(reader.events, [("message".into(), "on x".into(), "t-4".into())]);
    // Refusals are the server's: 405, 400, 401.
    assert_eq!(request(addr, "POST", "/events", &[]).await.status(), 405);
    assert_eq!(request(addr, "GET", "/events?topic=a*", &[]).await.status(), 400);
    assert_eq!(request(addr, "GET", "/events", &[("authorization", "Bearer x.y.z")]).await.status(), 401);
}

#[tokio::test]
async fn a_handler_subscribes_with_last_event_id_and_errors_are_responses() {
    let hub = Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = None;
        config.epoch = Some("t".into());
        config.max_clients = Some(1);
        config
    });
    let addr = serve(&hub).await;
    let tick = Audience::on(Topic::new("tick").unwrap());
    hub.publish_to(tick, &Event::new().with_data("0")).unwrap();
    hub.publish(&Event::new().with_data("not a tick")).unwrap();
    hub.publish_to(tick, &Event::new().with_data("2")).unwrap();
    let response = request(addr, "GET", "/ticks", &[("last-event-id", "t-0")]).await;
    let mut reader = EventReader::new(response);
    assert!(reader.until(1).await);
    assert_eq!(reader.events, [("message".into(), "2".into(), "t-2".into())]);
    // The one slot is taken: the answer an EventSource comes back from
    // (200, `retry:` and the end), as from the server.
    let busy = request(addr, "GET", "/ticks", &[]).await;
    assert_eq!(busy.status(), 200);
    assert_eq!(busy.headers()["content-type"], "text/event-stream");
    let body = http_body_util::BodyExt::collect(busy.into_body()).await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("\nretry: "), "{body:?}");
    drop(reader);
    hub.shutdown();
    assert_eq!(request(addr, "GET", "/ticks", &[]).await.status(), 204);
}

#[tokio::test]
async fn a_per_request_stream_is_computed_for_each_client() {
    let addr = serve(&quiet()).await;
    let response = request(addr, "GET", "/countdown/3", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut reader = EventReader::new(response);
    assert!(reader.until(3).await);
    assert_eq!(
        reader.events,
        [
            ("count".into(), "3".into(), "3".into()),
            ("count".into(), "2".into(), "2".into()),
            ("count".into(), "1".into(), "1".into())
        ]
    );
}
