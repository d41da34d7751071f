//! The hub's routing index: which groups an event on a topic goes to.
//!
//! Invariant: every group with members is indexed under each of its
//! selectors (`*` in `all`, `prefix/*` in `under`, a topic in `exact`, a
//! URI template or URL pattern in `unindexed`) and under its subscription
//! in `groups`,
//! and nowhere else; so the groups an event is offered to are exactly
//! those that select one of its topics, found with one map lookup per `/`
//! of each topic plus one, whatever the number of topics and subscribers,
//! and one match per distinct template or pattern in use (they cannot be
//! indexed). Private events are offered to those of them whose grants
//! cover one of the event's topics.

use std::collections::HashMap;
use std::sync::Arc;

use super::Update;
use super::group::Group;
use crate::topics::{Parsed, Subscription};

#[derive(Default)]
pub(crate) struct Router {
    groups: HashMap<Subscription, Arc<Group>>,
    all: Vec<Arc<Group>>,
    under: HashMap<Box<str>, Vec<Arc<Group>>>,
    exact: HashMap<Box<str>, Vec<Arc<Group>>>,
    /// Selectors no map can index (URI templates, URL patterns), each
    /// matched once per topic.
    unindexed: HashMap<Parsed, Vec<Arc<Group>>>,
    next_id: u64,
}

/// Adds `group` to the list under `key`.
fn list<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<Arc<Group>>>, key: K, group: &Arc<Group>) {
    map.entry(key).or_default().push(Arc::clone(group));
}

/// Takes `group` out of the list under `key` (and the list once empty).
fn unlist<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<Arc<Group>>>, key: &K, group: &Arc<Group>) {
    if let Some(list) = map.get_mut(key) {
        list.retain(|g| !Arc::ptr_eq(g, group));
        if list.is_empty() {
            map.remove(key);
        }
    }
}

impl Router {
    /// The group for `subscription`, made and indexed if there is none.
    pub(crate) fn group(&mut self, subscription: Subscription) -> Arc<Group> {
        if let Some(group) = self.groups.get(&subscription) {
            return Arc::clone(group);
        }
        let group = Arc::new(Group::new(self.next_id, subscription.clone()));
        self.next_id = self.next_id.wrapping_add(1);
        let topics = &subscription.topics;
        if topics.has_all() {
            // `*` covers every other selector of the set.
            self.all.push(Arc::clone(&group));
        } else {
            for parsed in topics.parsed() {
                match parsed {
                    Parsed::Under(prefix) => list(&mut self.under, prefix.clone(), &group),
                    Parsed::Exact(topic) => list(&mut self.exact, topic.clone(), &group),
                    Parsed::Template(_) | Parsed::UrlPattern(_) => {
                        list(&mut self.unindexed, parsed.clone(), &group)
                    }
                }
            }
        }
        self.groups.insert(subscription, Arc::clone(&group));
        group
    }

    /// Takes `group` out of the index if it has no members (checked here,
    /// under the caller's hold of the router, so that no member joins it
    /// meanwhile).
    pub(crate) fn remove_if_empty(&mut self, group: &Arc<Group>) {
        if group.members() > 0 {
            return;
        }
        let subscription = &group.subscription;
        if !self.groups.get(subscription).is_some_and(|g| Arc::ptr_eq(g, group)) {
            return;
        }
        self.groups.remove(subscription);
        if subscription.topics.has_all() {
            self.all.retain(|g| !Arc::ptr_eq(g, group));
            return;
        }
        for parsed in subscription.topics.parsed() {
            match parsed {
                Parsed::Under(prefix) => unlist(&mut self.under, prefix, group),
                Parsed::Exact(topic) => unlist(&mut self.exact, topic, group),
                Parsed::Template(_) | Parsed::UrlPattern(_) => unlist(&mut self.unindexed, parsed, group),
            }
        }
    }

    /// Calls `offer` with every group that `update` reaches (a group
    /// selected by several of its selectors, or through several topics,
    /// may come more than once: its queue takes a sequence number once).
    pub(crate) fn route(&self, update: &Update<'_>, mut offer: impl FnMut(&Arc<Group>)) {
        let mut candidate = |group: &Arc<Group>| {
            // The index matched one of the topics: a public event is
            // admitted; a private one needs a grant, of any of its topics.
            if !update.audience.private || update.admitted_by(&group.subscription) {
                offer(group);
            }
        };
        self.all.iter().for_each(&mut candidate);
        for topic in update.topics() {
            self.indexed(topic.as_str(), &mut candidate);
        }
    }

    /// Calls `candidate` with the groups whose selectors other than `*`
    /// match `topic`.
    fn indexed(&self, topic: &str, candidate: &mut impl FnMut(&Arc<Group>)) {
        if let Some(list) = self.exact.get(topic) {
            list.iter().for_each(&mut *candidate);
        }
        for (selector, list) in &self.unindexed {
            if selector.matches(Some(topic)) {
                list.iter().for_each(&mut *candidate);
            }
        }
        if self.under.is_empty() {
            return;
        }
        // `prefix/*` matches when something follows the prefix's `/`.
        for (at, _) in topic.match_indices('/') {
            let Some(prefix) = topic.get(..=at) else { continue };
            if prefix.len() < topic.len()
                && let Some(list) = self.under.get(prefix)
            {
                list.iter().for_each(&mut *candidate);
            }
        }
    }

    /// Every group.
    pub(crate) fn each(&self, offer: impl FnMut(&Arc<Group>)) {
        self.groups.values().for_each(offer);
    }

    /// Groups now (each with at least one member, or leaving).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.groups.len()
    }
}

#[cfg(test)]
mod tests {
    use sse_wire::{Audience, Topic};

    use super::*;
    use crate::topics::Selectors;

    fn routed(router: &Router, audience: Audience<'_>) -> Vec<u64> {
        let mut ids = Vec::new();
        router.route(&Update::new(audience, sse_wire::Event::new()), |g| ids.push(g.id));
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn an_event_reaches_exactly_the_groups_that_select_it() {
        let mut router = Router::default();
        let mut group = |selectors: &[&str], grants: &[&str]| {
            let s = Subscription::new(Selectors::parse(selectors).unwrap())
                .with_grants(Selectors::parse(grants).unwrap());
            let g = router.group(s);
            g.join(false);
            g.id
        };
        let all = group(&["*"], &[]);
        let a_b = group(&["a/b"], &[]);
        let under_a = group(&["a/*", "z"], &["a/*"]);
        let under_ab = group(&["a/b/*"], &[]);
        let again = group(&["z", "a/*"], &["a/*"]);
        assert_eq!(again, under_a, "the same subscription is one group");
        let on = |t| Audience::on(Topic::new(t).unwrap());
        assert_eq!(routed(&router, Audience::EVERYONE), [all]);
        assert_eq!(routed(&router, on("a/b")), [all, a_b, under_a]);
        assert_eq!(routed(&router, on("a/b/c")), [all, under_a, under_ab]);
        assert_eq!(routed(&router, on("a/b").private()), [under_a]);
        assert_eq!(routed(&router, on("a/")), [all]);
        assert_eq!(routed(&router, on("z")), [all, under_a]);
        assert_eq!(routed(&router, on("q")), [all]);
    }

    #[test]
    fn an_empty_group_leaves_every_index() {
        let mut router = Router::default();
        let g = router.group(Subscription::new(Selectors::parse(["a/*", "b"]).unwrap()));
        let member = g.join(false);
        router.remove_if_empty(&g);
        assert_eq!(router.len(), 1, "it still has a member");
        g.leave(&member);
        router.remove_if_empty(&g);
        assert_eq!(router.len(), 0);
        assert!(router.under.is_empty() && router.exact.is_empty() && router.all.is_empty());
    }

    /// An update on several topics reaches each group that selects one of
    /// them, a private one each group granted one of them (not
    /// necessarily the one it selected), and URI templates route like the
    /// other selectors.
    #[test]
    fn several_topics_and_templates() {
        let mut router = Router::default();
        let mut group = |selectors: Selectors, grants: &[&str]| {
            let g = router
                .group(Subscription::new(selectors).with_grants(Selectors::parse_mercure(grants).unwrap()));
            g.join(false);
            g.id
        };
        let books = group(Selectors::parse_mercure(["https://example.com/books/{id}"]).unwrap(), &[]);
        let author = group(Selectors::parse_mercure(["https://example.com/authors/7"]).unwrap(), &[]);
        let granted_other = group(
            Selectors::parse_mercure(["https://example.com/authors/7"]).unwrap(),
            &["https://example.com/books/{id}"],
        );
        let unrelated = group(Selectors::parse_mercure(["urn:other"]).unwrap(), &["*"]);
        let also = [Topic::new("https://example.com/authors/7").unwrap()];
        let route = |router: &Router, private: bool| {
            let mut audience = Audience::on(Topic::new("https://example.com/books/1").unwrap());
            audience.private = private;
            let update = Update::new(audience, sse_wire::Event::new()).with_alternates(&also);
            let mut ids = Vec::new();
            router.route(&update, |g| ids.push(g.id));
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut public = vec![books, author, granted_other];
        public.sort_unstable();
        assert_eq!(route(&router, false), public);
        assert_eq!(route(&router, true), [granted_other]);
        assert!(!route(&router, false).contains(&unrelated));
    }
}
