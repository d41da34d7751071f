//! `GET <metrics_path>`: the hub's and the server's counters in the
//! Prometheus text format (OpenMetrics), encoded by `prometheus-client`.
//!
//! Invariant: a scrape reads [`HubStats`] and [`ServerStats`] once each and
//! reports exactly those numbers; nothing is counted twice or kept here.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::stats::{Counters, ServerStats};
use crate::exchange::{Body, full, text_response};
use crate::hub::{Hub, HubStats};

/// The content type of the OpenMetrics text format, which Prometheus
/// scrapes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug)]
struct Snapshot {
    hub: HubStats,
    server: ServerStats,
}

fn gauge(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        let (hub, server) = (&self.hub, &self.server);
        gauge(&mut e, "sse_streams", "Event streams connected now", hub.clients as u64)?;
        gauge(&mut e, "sse_connections", "Connections open now", server.open_connections as u64)?;
        let counters: [(&str, &str, u64); 13] = [
            ("sse_connections_accepted", "Connections accepted", server.accepted),
            (
                "sse_connections_refused",
                "Connections refused at max_connections (503, closed)",
                server.refused_connections,
            ),
            ("sse_events_published", "Events published", hub.published),
            (
                "sse_published_bytes",
                "Bytes of encoded events published, each counted once",
                hub.published_bytes,
            ),
            (
                "sse_events_dropped",
                "Events slow subscribers never received (slow-consumer policy)",
                hub.dropped,
            ),
            (
                "sse_slow_disconnects",
                "Streams ended by the Disconnect slow-consumer policy",
                hub.slow_disconnects,
            ),
            ("sse_streams_expired", "Streams ended because the token that opened them expired", hub.expired),
            (
                "sse_streams_refused_full",
                "Stream requests refused because every client slot was taken (max_clients)",
                hub.refused_full,
            ),
            (
                "sse_streams_stalled",
                "Responses closed because the client accepted no bytes for stall_timeout",
                server.stalled,
            ),
            (
                "sse_head_timeouts",
                "Connections dropped because a request head did not arrive in time",
                server.head_timeouts,
            ),
            ("sse_replays", "Resumes answered with the events after Last-Event-ID", hub.replays),
            ("sse_missed_sent", "Missed signals sent (stale Last-Event-ID or lag)", hub.missed_sent),
            ("sse_stale_resumes", "Resumes with an id the history did not have", hub.stale_resumes),
        ];
        for (name, help, value) in counters {
            counter(&mut e, name, help, value)?;
        }
        let help = "Responses with an error status, by status";
        let mut family = e.encode_descriptor(
            "sse_error_responses",
            help,
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (status, n) in &server.errors {
            let labels = [("status", status.to_string())];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The metrics page, or 405 for a method other than `GET`.
pub(super) fn respond(req: &Request<Incoming>, hub: &Hub, counters: &Counters) -> Response<Body> {
    if req.method() != Method::GET {
        let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "use GET");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot { hub: hub.stats(), server: counters.snapshot() }));
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
        return text_response(StatusCode::INTERNAL_SERVER_ERROR, "metrics could not be encoded");
    }
    let mut response = Response::new(full(Bytes::from(text)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
