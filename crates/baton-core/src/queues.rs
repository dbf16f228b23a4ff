//! The routing index: per service and channel, the queue in arrival order and the agents
//! who could take its next interaction, fewest interactions first, then longest idle.
//!
//! Nothing here decides anything: `routing.rs` says what an interaction or agent is filed
//! under ([`InteractionFiling`], [`AgentFiling`]) and this module keeps the sets in step,
//! so routing and the customer's queue view read only the services that changed instead
//! of scanning every tenant (decision 0015). Filings are recomputed for exactly the
//! interactions and agents touched since the last sync; `invariants.rs` checks in debug
//! builds that the index equals a full scan.

use std::collections::{BTreeMap, BTreeSet};

use baton_protocol::{Channel, Millis};

use crate::entity::*;

/// Channels as an ordered key (the wire enum has no order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lane {
    Voice,
    Chat,
}

impl Lane {
    pub(crate) const ALL: [Lane; 2] = [Lane::Voice, Lane::Chat];
}

impl From<Channel> for Lane {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Voice => Lane::Voice,
            Channel::Chat => Lane::Chat,
        }
    }
}

/// One queue of a service: the interactions of one tenant and channel it routes. (A
/// service belongs to one tenant; the tenant is in the key so routing never crosses one.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Route {
    pub service: ServiceId,
    pub tenant: TenantId,
    pub lane: Lane,
}

/// A queued interaction's place: arrival, then the order entries were made, then id.
pub(crate) type Place = (Millis, u64, InteractionId);

/// An eligible agent's rank, best first: fewest interactions held, longest idle, id.
pub(crate) type Rank = (u32, Millis, AgentId);

/// Where one interaction is filed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct InteractionFiling {
    /// Its queue and place, while it waits in one.
    pub queued: Option<(Route, Place)>,
    /// Its service, while its customer waits unanswered (what a queue limit counts).
    pub unanswered: Option<ServiceId>,
}

/// Where one agent is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentFiling {
    pub rank: Rank,
    /// The queues the agent could take the next interaction of.
    pub eligible: Vec<Route>,
    /// The services the agent is connected and ready for (ringing or busy or not).
    pub ready: Vec<ServiceId>,
}

#[derive(Debug, Default)]
pub(crate) struct Queues {
    /// Per service, its queues.
    waiting: BTreeMap<ServiceId, BTreeMap<Route, BTreeSet<Place>>>,
    eligible: BTreeMap<Route, BTreeSet<Rank>>,
    ready: BTreeMap<ServiceId, BTreeSet<AgentId>>,
    unanswered: BTreeMap<ServiceId, BTreeSet<InteractionId>>,
    /// What each interaction and agent is filed under now, to unfile it when it changes.
    interactions: BTreeMap<InteractionId, InteractionFiling>,
    agents: BTreeMap<AgentId, AgentFiling>,
    /// Touched since the last sync (see `Core::sync_routing`).
    pub(crate) pending_interactions: BTreeSet<InteractionId>,
    pub(crate) pending_agents: BTreeSet<AgentId>,
    /// Queues that gained an interaction or an eligible agent: the only ones routing visits.
    pub(crate) dirty: BTreeSet<Route>,
    /// Services whose queue, ready agents or expected wait changed: the only ones whose
    /// waiting customers' views are recomputed.
    pub(crate) changed: BTreeSet<ServiceId>,
    /// Tests only: route by the old full scan (the oracle the index is compared with).
    #[cfg(test)]
    pub(crate) route_by_scan: bool,
}

impl Queues {
    /// Files an interaction anew (`None`: it left memory).
    pub(crate) fn file_interaction(&mut self, id: &InteractionId, new: Option<InteractionFiling>) {
        let new = new.unwrap_or_default();
        let old = self.interactions.remove(id).unwrap_or_default();
        if old.queued != new.queued {
            if let Some((route, place)) = &old.queued {
                self.changed.insert(route.service.clone());
                if let Some(queues) = self.waiting.get_mut(&route.service) {
                    remove_from(queues, route, place);
                    if queues.is_empty() {
                        self.waiting.remove(&route.service);
                    }
                }
            }
            if let Some((route, place)) = &new.queued {
                self.changed.insert(route.service.clone());
                self.dirty.insert(route.clone());
                self.waiting
                    .entry(route.service.clone())
                    .or_default()
                    .entry(route.clone())
                    .or_default()
                    .insert(place.clone());
            }
        }
        if old.unanswered != new.unanswered {
            if let Some(service) = &old.unanswered {
                remove_from(&mut self.unanswered, service, id);
            }
            if let Some(service) = &new.unanswered {
                self.unanswered
                    .entry(service.clone())
                    .or_default()
                    .insert(id.clone());
            }
        }
        if new != InteractionFiling::default() {
            self.interactions.insert(id.clone(), new);
        }
    }

    /// Files an agent anew (`None`: deleted, or eligible and ready for nothing).
    pub(crate) fn file_agent(&mut self, id: &AgentId, new: Option<AgentFiling>) {
        let new = new.filter(|f| !f.eligible.is_empty() || !f.ready.is_empty());
        if self.agents.get(id) == new.as_ref() {
            return;
        }
        let old = self.agents.remove(id);
        let (was_eligible, was_ready) = old
            .as_ref()
            .map(|o| (o.eligible.as_slice(), o.ready.as_slice()))
            .unwrap_or_default();
        let (is_eligible, is_ready) = new
            .as_ref()
            .map(|n| (n.eligible.as_slice(), n.ready.as_slice()))
            .unwrap_or_default();
        // A queue an agent already was eligible for was empty (routing saw to that), so
        // only newly eligible queues need routing; a rank change alone does not.
        self.dirty.extend(
            is_eligible
                .iter()
                .filter(|r| !was_eligible.contains(r))
                .cloned(),
        );
        let ready_changed = was_ready
            .iter()
            .filter(|s| !is_ready.contains(s))
            .chain(is_ready.iter().filter(|s| !was_ready.contains(s)));
        self.changed.extend(ready_changed.cloned());
        if let Some(old) = &old {
            for route in &old.eligible {
                remove_from(&mut self.eligible, route, &old.rank);
            }
            for service in &old.ready {
                remove_from(&mut self.ready, service, id);
            }
        }
        let Some(new) = new else { return };
        for route in &new.eligible {
            self.eligible
                .entry(route.clone())
                .or_default()
                .insert(new.rank.clone());
        }
        for service in &new.ready {
            self.ready
                .entry(service.clone())
                .or_default()
                .insert(id.clone());
        }
        self.agents.insert(id.clone(), new);
    }

    /// Whether this queue has both someone waiting and someone to take them.
    pub(crate) fn routable(&self, route: &Route) -> bool {
        self.head(route).is_some() && self.eligible.get(route).is_some_and(|s| !s.is_empty())
    }

    /// The oldest interaction of a queue.
    pub(crate) fn head(&self, route: &Route) -> Option<&Place> {
        self.waiting.get(&route.service)?.get(route)?.first()
    }

    /// The best eligible agent of a queue, preferring those not in `skipped` (who just
    /// rejected or let this interaction ring out) and falling back to them.
    pub(crate) fn best_agent(&self, route: &Route, skipped: &[AgentId]) -> Option<AgentId> {
        let mut ranked = self.eligible.get(route)?.iter().map(|(_, _, a)| a);
        let first = ranked.next()?;
        if !skipped.contains(first) {
            return Some(first.clone());
        }
        ranked
            .find(|a| !skipped.contains(a))
            .or(Some(first))
            .cloned()
    }

    /// Every interaction waiting for a service (all its queues), in arrival order.
    pub(crate) fn queue_of(&self, service: &ServiceId) -> Vec<&Place> {
        let Some(queues) = self.waiting.get(service) else {
            return Vec::new();
        };
        let mut all: Vec<&Place> = queues.values().flatten().collect();
        if queues.len() > 1 {
            all.sort();
        }
        all
    }

    /// How many wait ahead of `place` for its service.
    pub(crate) fn ahead_of(&self, service: &ServiceId, place: &Place) -> usize {
        self.waiting.get(service).map_or(0, |queues| {
            queues.values().map(|q| q.range(..place).count()).sum()
        })
    }

    pub(crate) fn has_ready_agent(&self, service: &ServiceId) -> bool {
        self.ready.get(service).is_some_and(|s| !s.is_empty())
    }

    pub(crate) fn unanswered(&self, service: &ServiceId) -> usize {
        self.unanswered.get(service).map_or(0, BTreeSet::len)
    }

    /// The whole index as plain sets, to compare with one built by a full scan.
    #[cfg(any(debug_assertions, test))]
    pub(crate) fn contents(&self) -> Contents {
        let mut c = Contents::default();
        for queues in self.waiting.values() {
            for (route, queue) in queues {
                if !queue.is_empty() {
                    c.waiting
                        .insert(route.clone(), queue.iter().cloned().collect());
                }
            }
        }
        for (route, set) in &self.eligible {
            if !set.is_empty() {
                c.eligible
                    .insert(route.clone(), set.iter().cloned().collect());
            }
        }
        for (service, set) in &self.ready {
            if !set.is_empty() {
                c.ready.insert(service.clone(), set.clone());
            }
        }
        for (service, set) in &self.unanswered {
            if !set.is_empty() {
                c.unanswered.insert(service.clone(), set.clone());
            }
        }
        c
    }
}

/// The index's sets in order (see [`Queues::contents`]).
#[cfg(any(debug_assertions, test))]
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Contents {
    pub waiting: BTreeMap<Route, Vec<Place>>,
    pub eligible: BTreeMap<Route, Vec<Rank>>,
    pub ready: BTreeMap<ServiceId, BTreeSet<AgentId>>,
    pub unanswered: BTreeMap<ServiceId, BTreeSet<InteractionId>>,
}

fn remove_from<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: &K, value: &V) {
    if let Some(set) = map.get_mut(key) {
        set.remove(value);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
