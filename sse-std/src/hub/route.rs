//! The hub's routing index: which groups an event on a topic goes to.
//!
//! Invariant: every group with members is indexed under each of its
//! selectors (`*` in `all`, `prefix/*` in `under`, a topic in `exact`) and
//! under its subscription in `groups`, and nowhere else; so the groups an
//! event is offered to are exactly those that select its topic, found with
//! one map lookup per `/` of the topic plus one, whatever the number of
//! topics and subscribers. Private events are offered to those of them
//! whose grants cover the topic.

use std::collections::HashMap;
use std::sync::Arc;

use sse_wire::Audience;

use super::group::Group;
use crate::topics::{Parsed, Subscription};

#[derive(Default)]
pub(crate) struct Router {
    groups: HashMap<Subscription, Arc<Group>>,
    all: Vec<Arc<Group>>,
    under: HashMap<Box<str>, Vec<Arc<Group>>>,
    exact: HashMap<Box<str>, Vec<Arc<Group>>>,
    next_id: u64,
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
                let (map, key) = match parsed {
                    Parsed::Under(prefix) => (&mut self.under, prefix),
                    Parsed::Exact(topic) => (&mut self.exact, topic),
                };
                map.entry(key.clone()).or_default().push(Arc::clone(&group));
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
        let unlist = |list: &mut Vec<Arc<Group>>| list.retain(|g| !Arc::ptr_eq(g, group));
        if subscription.topics.has_all() {
            unlist(&mut self.all);
            return;
        }
        for parsed in subscription.topics.parsed() {
            let (map, key) = match parsed {
                Parsed::Under(prefix) => (&mut self.under, prefix),
                Parsed::Exact(topic) => (&mut self.exact, topic),
            };
            if let Some(list) = map.get_mut(key) {
                unlist(list);
                if list.is_empty() {
                    map.remove(key);
                }
            }
        }
    }

    /// Calls `offer` with every group that `audience` reaches (a group
    /// selected by several of its selectors may come more than once).
    pub(crate) fn route(&self, audience: Audience<'_>, mut offer: impl FnMut(&Arc<Group>)) {
        let mut candidate = |group: &Arc<Group>| {
            // The index matched the topic; a private event needs a grant.
            if !audience.private || group.subscription.admits(audience) {
                offer(group);
            }
        };
        self.all.iter().for_each(&mut candidate);
        let Some(topic) = audience.topic_name() else { return };
        if let Some(list) = self.exact.get(topic) {
            list.iter().for_each(&mut candidate);
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
                list.iter().for_each(&mut candidate);
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
    use sse_wire::Topic;

    use super::*;
    use crate::topics::Selectors;

    fn routed(router: &Router, audience: Audience<'_>) -> Vec<u64> {
        let mut ids = Vec::new();
        router.route(audience, |g| ids.push(g.id));
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
}
