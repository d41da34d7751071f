//! Topics in the hub: union of selectors, exact multi-topic resume with
//! global ids, private events live and in replay, and the property that a
//! replay after any id is the live sequence filtered the same way.

use futures_util::{FutureExt as _, StreamExt as _};
use proptest::prelude::*;
use sse_std::{Hub, HubConfig, Selectors, Subscriber, Subscription};
use sse_wire::{Audience, Event, MISSED_EVENTS, Topic};

fn hub() -> Hub {
    Hub::new({
        let mut config = HubConfig::default();
        config.keep_alive = None;
        config.epoch = Some("t".into());
        config
    })
}

fn on(topic: &str) -> Audience<'_> {
    Audience::on(Topic::new(topic).unwrap())
}

fn to(selectors: &[&str]) -> Subscription {
    Subscription::new(Selectors::parse(selectors).unwrap())
}

/// Everything the subscriber has ready now, without waiting.
fn ready(s: &mut Subscriber) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(Some(b)) = tokio::task::unconstrained(s.next()).now_or_never() {
        out.push(String::from_utf8(b.to_vec()).unwrap());
    }
    out
}

fn frame(seq: u64, data: &str) -> String {
    format!("id: t-{seq}\ndata: {data}\n\n")
}

#[tokio::test]
async fn a_subscriber_of_two_topics_gets_exactly_theirs_in_order_and_resumes_exactly() {
    let hub = hub();
    let mut ab = hub.subscribe_with(to(&["a", "b"]), None).unwrap();
    let topics = ["a", "c", "b", "c", "a", "b", "c", "a"];
    for (i, topic) in topics.iter().enumerate() {
        let data = format!("{topic}{i}");
        let published = hub.publish_to(on(topic), &Event::new().with_data(&data)).unwrap();
        assert_eq!(published.id, format!("t-{i}"), "ids are global to the hub");
    }
    let want: Vec<String> = topics
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(**t, "a" | "b"))
        .map(|(i, t)| frame(i as u64, &format!("{t}{i}")))
        .collect();
    let live = ready(&mut ab);
    assert_eq!(live, want);
    assert!(live.iter().all(|f| !f.contains("topic")), "the topic is not on the wire");

    // Resume with the id of the third a/b event: exactly the rest.
    let third = "t-4";
    assert!(live[2].starts_with(&format!("id: {third}\n")));
    let mut resumed = hub.subscribe_with(to(&["a", "b"]), Some(third)).unwrap();
    assert_eq!(ready(&mut resumed), want[3..]);
    // With the id of an event of another topic: the a/b events after it.
    let mut resumed = hub.subscribe_with(to(&["b", "a"]), Some("t-3")).unwrap();
    assert_eq!(ready(&mut resumed), want[2..]);
    assert_eq!(hub.stats().stale_resumes, 0, "resuming from a known id gives no missed");
}

#[tokio::test]
async fn prefix_selectors_match_any_depth_below_the_prefix_only() {
    let hub = hub();
    let mut sensors = hub.subscribe_with(to(&["sensors/*"]), None).unwrap();
    for topic in ["sensors/t1", "sensorsX", "sensors", "sensors/room1/t3", "other/sensors/t4"] {
        hub.publish_to(on(topic), &Event::new().with_data(topic)).unwrap();
    }
    assert_eq!(ready(&mut sensors), [frame(0, "sensors/t1"), frame(3, "sensors/room1/t3")]);
}

#[tokio::test]
async fn without_topics_a_subscriber_gets_every_public_event() {
    let hub = hub();
    let mut everyone = hub.subscribe(None).unwrap();
    let mut star = hub.subscribe_with(to(&["*"]), None).unwrap();
    hub.publish(&Event::new().with_data("plain")).unwrap();
    hub.publish_to(on("x"), &Event::new().with_data("x")).unwrap();
    hub.publish_to(on("x").private(), &Event::new().with_data("secret")).unwrap();
    hub.publish_to(Audience::EVERYONE.private(), &Event::new().with_data("secret too")).unwrap();
    let want = [frame(0, "plain"), frame(1, "x")];
    assert_eq!(ready(&mut everyone), want);
    assert_eq!(ready(&mut star), want);
}

#[tokio::test]
async fn private_events_reach_only_granted_subscribers_live_and_in_replay() {
    let hub = hub();
    let granted = || to(&["orders/*"]).with_grants(Selectors::parse(["orders/42"]).unwrap());
    let mut alice = hub.subscribe_with(granted(), None).unwrap();
    let mut anonymous = hub.subscribe_with(to(&["orders/*"]), None).unwrap();
    let mut other = hub
        .subscribe_with(to(&["orders/*"]).with_grants(Selectors::parse(["orders/7"]).unwrap()), None)
        .unwrap();
    hub.publish_to(on("orders/42"), &Event::new().with_data("public")).unwrap();
    hub.publish_to(on("orders/42").private(), &Event::new().with_data("private")).unwrap();
    hub.publish_to(on("orders/43"), &Event::new().with_data("next")).unwrap();
    let public = [frame(0, "public"), frame(2, "next")];
    let all = [frame(0, "public"), frame(1, "private"), frame(2, "next")];
    assert_eq!(ready(&mut alice), all);
    assert_eq!(ready(&mut anonymous), public);
    assert_eq!(ready(&mut other), public);
    // Replay filters the same way.
    assert_eq!(ready(&mut hub.subscribe_with(granted(), Some("t-0")).unwrap()), all[1..]);
    assert_eq!(ready(&mut hub.subscribe_with(to(&["orders/*"]), Some("t-0")).unwrap()), public[1..]);
    // Grants do not widen the selection.
    let narrow = to(&["orders/43"]).with_grants(Selectors::all());
    assert_eq!(ready(&mut hub.subscribe_with(narrow, Some("t-0")).unwrap()), public[1..]);
}

#[tokio::test]
async fn a_stale_id_still_gets_missed_with_topics() {
    let hub = hub();
    hub.publish_to(on("a"), &Event::new().with_data("x")).unwrap();
    let mut s = hub.subscribe_with(to(&["a"]), Some("nope")).unwrap();
    assert_eq!(ready(&mut s), [String::from_utf8(MISSED_EVENTS.to_vec()).unwrap()]);
}

/// One published event of the property test: topic index, private flag.
fn events() -> impl Strategy<Value = Vec<(usize, bool)>> {
    proptest::collection::vec((0usize..5, any::<bool>()), 1..60)
}

const TOPICS: [Option<&str>; 5] = [None, Some("a"), Some("a/b"), Some("b/c"), Some("bb")];
const SELECTORS: [&str; 6] = ["*", "a", "a/*", "b/*", "bb", "b"];

fn selectors(indices: &[usize]) -> Selectors {
    Selectors::parse(indices.iter().map(|&i| SELECTORS[i])).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any sequence of events on any topics, public or private, and
    /// any selection and grants: resuming after any published id yields
    /// exactly the live subscriber's events after that point.
    #[test]
    fn replay_after_any_id_equals_the_live_sequence_filtered(
        published in events(),
        chosen in proptest::collection::vec(0usize..6, 1..3),
        granted in proptest::collection::vec(0usize..6, 0..3),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let hub = hub();
            let subscription = Subscription::new(selectors(&chosen)).with_grants(selectors(&granted));
            let mut live = hub.subscribe_with(subscription.clone(), None).unwrap();
            let mut ids = Vec::new();
            for (i, &(topic, private)) in published.iter().enumerate() {
                let audience = Audience { topic: TOPICS[topic].map(|t| Topic::new(t).unwrap()), private };
                ids.push(hub.publish_to(audience, &Event::new().with_data(&i.to_string())).unwrap().id);
            }
            let live = ready(&mut live);
            for (at, id) in ids.iter().enumerate() {
                let after: Vec<&String> = live
                    .iter()
                    .filter(|frame| {
                        let seq: usize = frame.strip_prefix("id: t-").unwrap().split('\n').next().unwrap().parse().unwrap();
                        seq > at
                    })
                    .collect();
                let mut resumed = hub.subscribe_with(subscription.clone(), Some(id)).unwrap();
                let replay = ready(&mut resumed);
                prop_assert_eq!(replay.iter().collect::<Vec<_>>(), after);
            }
            Ok(())
        })?;
    }
}

#[test]
fn invalid_selectors_are_refused() {
    for bad in ["", "a*", "*/x", "a/*/b", "/*", "a\nb"] {
        assert!(Selectors::parse([bad]).is_err(), "{bad:?}");
    }
}
