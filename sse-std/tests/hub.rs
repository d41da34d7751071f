//! The hub in-process: fan-out, replay, stale ids, slow consumers,
//! keep-alive on tokio's paused clock, shutdown.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt as _, StreamExt as _};
use sse_std::{Hub, HubConfig, SlowConsumer, Subscriber};
use sse_wire::{Event, MISSED_EVENTS};

fn quiet(config: HubConfig) -> Hub {
    Hub::new({
        let mut base_config = config;
        base_config.keep_alive = None;
        base_config.epoch = Some("t".into());
        base_config
    })
}

fn frame(id: u64, data: &str) -> Bytes {
    Bytes::from(format!("id: t-{id}\ndata: {data}\n\n"))
}

/// Everything the subscriber has ready now, without waiting (and without
/// tokio's cooperative budget, which would cut a long burst short).
fn ready(s: &mut Subscriber) -> Vec<Bytes> {
    let mut out = Vec::new();
    while let Some(Some(b)) = tokio::task::unconstrained(s.next()).now_or_never() {
        out.push(b);
    }
    out
}

#[tokio::test]
async fn fan_out_to_a_thousand_subscribers_in_order() {
    let hub = quiet(HubConfig::default());
    let mut subs: Vec<_> = (0..1000).map(|_| hub.subscribe(None).unwrap()).collect();
    assert_eq!(hub.client_count(), 1000);
    for i in 0..50 {
        hub.publish(&Event::new().with_data(&i.to_string())).unwrap();
    }
    let want: Vec<Bytes> = (0..50).map(|i| frame(i, &i.to_string())).collect();
    for s in &mut subs {
        assert_eq!(ready(s), want);
    }
    // Encoded once: every subscriber holds the same bytes.
    hub.publish(&Event::new().with_data("shared")).unwrap();
    let a = subs[0].next().await.unwrap();
    let b = subs[999].next().await.unwrap();
    assert_eq!(a.as_ptr(), b.as_ptr());
    drop(subs);
    assert_eq!(hub.client_count(), 0);
}

#[tokio::test]
async fn replay_after_every_last_event_id_position() {
    let hub = quiet(HubConfig::default());
    for i in 0..20 {
        hub.publish(&Event::new().with_data(&format!("e{i}"))).unwrap();
    }
    let mut subs = Vec::new();
    for last in 0..20u64 {
        let mut s = hub.subscribe(Some(&format!("t-{last}"))).unwrap();
        let got: Vec<u8> = ready(&mut s).concat();
        let want: Vec<u8> = (last + 1..20).flat_map(|i| frame(i, &format!("e{i}")).to_vec()).collect();
        assert_eq!(got, want, "after {last}");
        subs.push(s);
    }
    // Then live events, with nothing lost or doubled in between.
    hub.publish(&Event::new().with_id("live").unwrap().with_data("x")).unwrap();
    for s in &mut subs {
        assert_eq!(ready(s), [Bytes::from_static(b"id: live\ndata: x\n\n")]);
    }
}

#[tokio::test]
async fn stale_or_unknown_id_gets_the_missed_signal_then_live_events() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.history_events = 4;
        config
    });
    for i in 0..10 {
        hub.publish(&Event::new().with_data(&i.to_string())).unwrap();
    }
    for id in ["t-2", "never-sent", "2"] {
        let mut s = hub.subscribe(Some(id)).unwrap();
        assert_eq!(ready(&mut s), [Bytes::from_static(MISSED_EVENTS)], "{id}");
        hub.publish(&Event::new().with_data("next")).unwrap();
        assert_eq!(ready(&mut s).len(), 1);
    }
    assert_eq!(hub.stats().stale_resumes, 3);
    // Still in the history: replayed, no signal.
    let mut s = hub.subscribe(Some("t-9")).unwrap();
    let want = [frame(10, "next"), frame(11, "next"), frame(12, "next")].concat();
    assert_eq!(ready(&mut s).concat(), want);
}

#[tokio::test]
async fn drop_oldest_tells_the_slow_subscriber_and_counts() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.queue_len = 4;
        config
    });
    let mut slow = hub.subscribe(None).unwrap();
    let mut fast = hub.subscribe(None).unwrap();
    for i in 0..10 {
        hub.publish(&Event::new().with_data(&i.to_string())).unwrap();
        assert_eq!(ready(&mut fast), [frame(i, &i.to_string())]);
    }
    let got = ready(&mut slow);
    assert_eq!(got[0], Bytes::from_static(MISSED_EVENTS));
    assert_eq!(got[1..], (6..10).map(|i| frame(i, &i.to_string())).collect::<Vec<_>>());
    let stats = hub.stats();
    assert_eq!((stats.dropped, stats.slow_disconnects), (6, 0));
}

#[tokio::test]
async fn disconnect_policy_ends_the_slow_subscriber_only() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.queue_len = 4;
        config.slow_consumer = SlowConsumer::Disconnect;
        config
    });
    let mut slow = hub.subscribe(None).unwrap();
    let mut fast = hub.subscribe(None).unwrap();
    for i in 0..10 {
        hub.publish(&Event::new().with_data(&i.to_string())).unwrap();
        assert_eq!(ready(&mut fast).len(), 1);
    }
    assert_eq!(slow.next().await, None);
    assert_eq!(slow.next().await, None);
    // Disconnected as soon as it was more than 4 behind (5 unread events),
    // without having to read: the hub checks as it publishes.
    let stats = hub.stats();
    assert_eq!((stats.dropped, stats.slow_disconnects), (5, 1));
    // It can come back and catch up from the history.
    let mut back = hub.subscribe(Some("t-3")).unwrap();
    let want: Vec<Bytes> = (4..10).map(|i| frame(i, &i.to_string())).collect();
    assert_eq!(ready(&mut back).concat(), want.concat());
}

#[tokio::test(start_paused = true)]
async fn keep_alive_after_idle_period_reset_by_traffic() {
    let hub = Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = Some(Duration::from_secs(15));
        config
    });
    let mut s = hub.subscribe(None).unwrap();
    let start = tokio::time::Instant::now();
    assert!(ready(&mut s).is_empty());

    // Nothing before 15 s, a keep-alive comment at 15 s.
    tokio::time::advance(Duration::from_millis(14_999)).await;
    assert!(ready(&mut s).is_empty());
    let ka = s.next().await.unwrap();
    assert_eq!(&ka[..], sse_wire::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(15));

    // Traffic at 20 s resets the timer: the next comment is at 35 s.
    tokio::time::advance(Duration::from_secs(5)).await;
    hub.publish(&Event::new().with_data("x")).unwrap();
    assert_eq!(ready(&mut s).len(), 1);
    tokio::time::advance(Duration::from_millis(14_999)).await;
    assert!(ready(&mut s).is_empty());
    assert_eq!(&s.next().await.unwrap()[..], sse_wire::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(35));
}

#[tokio::test]
async fn retry_is_sent_first_when_configured() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.retry = Some(Duration::from_millis(2500));
        config
    });
    hub.publish(&Event::new().with_data("a")).unwrap();
    let mut s = hub.subscribe(Some("nope")).unwrap();
    assert_eq!(ready(&mut s).concat(), [&b"retry: 2500\n\n"[..], MISSED_EVENTS].concat());
}

#[tokio::test]
async fn shutdown_delivers_what_was_queued_then_ends_every_stream() {
    let hub = quiet(HubConfig::default());
    let mut subs: Vec<_> = (0..3).map(|_| hub.subscribe(None).unwrap()).collect();
    hub.publish(&Event::new().with_data("last")).unwrap();
    hub.shutdown();
    for s in &mut subs {
        assert_eq!(s.next().await, Some(frame(0, "last")));
        assert_eq!(s.next().await, None);
    }
    assert!(hub.subscribe(None).is_err());
    assert!(hub.publish(&Event::new().with_data("x")).is_err());
}

#[tokio::test]
async fn max_clients_is_enforced_and_freed_on_drop() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.max_clients = Some(2);
        config
    });
    let a = hub.subscribe(None).unwrap();
    let _b = hub.subscribe(None).unwrap();
    assert_eq!(hub.subscribe(None).unwrap_err(), sse_std::SubscribeError::TooManyClients);
    drop(a);
    assert!(hub.subscribe(None).is_ok());
}

#[tokio::test]
async fn publish_from_many_tasks_keeps_one_order_for_everyone() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.queue_len = 10_000;
        config
    });
    let mut subs: Vec<_> = (0..4).map(|_| hub.subscribe(None).unwrap()).collect();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let hub = hub.clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    hub.publish(&Event::new().with_data(&format!("{t}-{i}"))).unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let first = ready(&mut subs[0]);
    assert_eq!(first.len(), 2000);
    for s in &mut subs[1..] {
        assert_eq!(ready(s), first);
    }
    // Ids are the sequence numbers, in order.
    for (i, f) in first.iter().enumerate() {
        assert!(f.starts_with(format!("id: t-{i}\n").as_bytes()));
    }
}

#[tokio::test]
async fn an_id_from_an_earlier_run_gets_missed_not_a_replay_of_other_events() {
    // Two runs of the same program: each hub draws its own epoch.
    let before = Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = None;
        config
    });
    let seen = before.publish(&Event::new().with_data("old")).unwrap().id;
    drop(before);
    let after = Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = None;
        config
    });
    for i in 0..5 {
        // The same sequence numbers as in the earlier run.
        after.publish(&Event::new().with_data(&format!("new{i}"))).unwrap();
    }
    let mut s = after.subscribe(Some(&seen)).unwrap();
    assert_eq!(ready(&mut s), [Bytes::from_static(MISSED_EVENTS)], "resumed with {seen}");
    assert_eq!(after.stats().stale_resumes, 1);
}

#[tokio::test]
async fn replay_shares_the_published_bytes_instead_of_copying_them() {
    let hub = quiet(HubConfig::default());
    let mut live = hub.subscribe(None).unwrap();
    hub.publish(&Event::new().with_data(&"x".repeat(4096))).unwrap();
    hub.publish(&Event::new().with_data("y")).unwrap();
    let sent = ready(&mut live);
    let mut resumed = hub.subscribe(Some("t-0")).unwrap();
    let replayed = ready(&mut resumed);
    assert_eq!(replayed, sent[1..]);
    assert_eq!(replayed[0].as_ptr(), sent[1].as_ptr());
    let stats = hub.stats();
    assert_eq!((stats.replays, stats.stale_resumes, stats.missed_sent), (1, 0, 0));
    assert_eq!(stats.published_bytes, (sent[0].len() + sent[1].len()) as u64);
}

#[test]
fn a_subscriber_with_keep_alive_works_outside_any_runtime() {
    let hub = Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = Some(Duration::from_millis(1));
        config.epoch = Some("t".into());
        config
    });
    let mut s = hub.subscribe(None).unwrap();
    // Polled with no tokio runtime at all: no keep-alive, no panic.
    assert!(s.next().now_or_never().is_none());
    hub.publish(&Event::new().with_data("x")).unwrap();
    assert_eq!(s.next().now_or_never(), Some(Some(frame(0, "x"))));
    std::thread::sleep(Duration::from_millis(5));
    assert!(s.next().now_or_never().is_none());
}

#[test]
fn a_huge_queue_len_is_bounded_not_a_panic() {
    let hub = quiet({
        let mut config = HubConfig::default();
        config.queue_len = usize::MAX;
        config.slow_consumer = SlowConsumer::Disconnect;
        config
    });
    let mut s = hub.subscribe(None).unwrap();
    for i in 0..10 {
        hub.publish(&Event::new().with_data(&i.to_string())).unwrap();
    }
    assert_eq!(ready(&mut s).len(), 10);
}
