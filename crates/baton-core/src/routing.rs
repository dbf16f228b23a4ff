//! Service queues and offers: the oldest waiting interaction goes to the eligible agent
//! holding the fewest interactions, then the longest idle; a rejected or unanswered offer
//! goes to the next agent.
//!
//! Eligibility and queue order live in the routing index ([`crate::queues`]); this module
//! says what each interaction and agent is filed under, refiles exactly what a command
//! touched, and routes only the queues that gained someone (decision 0015).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use baton_protocol::Channel;
#[cfg(test)]
use baton_protocol::Millis;

use crate::engine::Core;
use crate::entity::*;
use crate::queues::{AgentFiling, InteractionFiling, Lane, Place, Route};

#[cfg(test)]
mod tests;

impl Core {
    /// Refiles in the routing index every interaction and agent touched since the last
    /// sync, and every agent on a touched interaction (a party's state is the agent's load).
    pub(crate) fn sync_routing(&mut self) {
        let interactions = std::mem::take(&mut self.queues.pending_interactions);
        let mut agents = std::mem::take(&mut self.queues.pending_agents);
        for id in &interactions {
            let filing = self.interactions.get(id).map(|i| {
                agents.extend(i.parties.iter().map(|p| p.agent.clone()));
                self.interaction_filing(i)
            });
            self.queues.file_interaction(id, filing);
        }
        for id in &agents {
            let filing = self.agents.get(id).map(|a| self.agent_filing(a));
            self.queues.file_agent(id, filing);
        }
    }

    /// Rebuilds the routing index from scratch (after a restore).
    pub(crate) fn rebuild_routing(&mut self) {
        self.queues = Default::default();
        self.queues.pending_interactions = self.interactions.keys().cloned().collect();
        self.queues.pending_agents = self.agents.keys().cloned().collect();
        self.sync_routing();
    }

    pub(crate) fn interaction_filing(&self, i: &Interaction) -> InteractionFiling {
        InteractionFiling {
            queued: i.queue.as_ref().map(|q| {
                let route = Route {
                    service: q.service.clone(),
                    tenant: i.tenant.clone(),
                    lane: i.channel.into(),
                };
                (route, (q.since, q.seq, i.id.clone()))
            }),
            unanswered: crate::engine::unanswered(i).then(|| i.service.clone()),
        }
    }

    /// An agent is eligible for a queue of their services when connected, `ready`, not
    /// ringing, and with routable capacity for its channel; ranked by how many
    /// interactions they hold (wrap-ups included: each holds its slot), then how long idle.
    pub(crate) fn agent_filing(&self, a: &Agent) -> AgentFiling {
        let (mut voice, mut chat, mut ringing) = (0u32, 0u32, false);
        for id in self.agent_interactions.get(&a.id).into_iter().flatten() {
            let Some(i) = self.interactions.get(id) else {
                continue;
            };
            let Some(p) = i.party(&a.id) else { continue };
            ringing |= p.state == PartyState::Ringing;
            match i.channel {
                Channel::Voice => voice += 1,
                Channel::Chat => chat += 1,
            }
        }
        let ready = a.is_connected() && a.chosen == ChosenState::Ready;
        let lanes: Vec<Lane> = Lane::ALL
            .into_iter()
            .filter(|lane| match lane {
                Lane::Voice => voice == 0 && chat == 0,
                Lane::Chat => voice == 0 && chat < a.max_chats,
            })
            .collect();
        let mut eligible = Vec::new();
        if ready && !ringing {
            for service in &a.services {
                for lane in &lanes {
                    eligible.push(Route {
                        service: service.clone(),
                        tenant: a.tenant.clone(),
                        lane: *lane,
                    });
                }
            }
        }
        AgentFiling {
            rank: (voice + chat, a.idle_since, a.id.clone()),
            eligible,
            ready: if ready {
                a.services.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Offers what can be offered, oldest first across the queues that gained an
    /// interaction or an agent in this command. Every other queue is empty or has nobody
    /// eligible (the debug invariants check it), so it is left alone.
    pub(crate) fn route_all(&mut self) {
        #[cfg(test)]
        if self.queues.route_by_scan {
            self.sync_routing();
            self.route_all_by_scan();
            self.sync_routing();
            self.queues.dirty.clear();
            return;
        }
        self.sync_routing();
        loop {
            let dirty = std::mem::take(&mut self.queues.dirty);
            if dirty.is_empty() {
                return;
            }
            let mut heads: BinaryHeap<Reverse<(Place, Route)>> = dirty
                .into_iter()
                .filter(|r| self.queues.routable(r))
                .filter_map(|r| Some(Reverse((self.queues.head(&r)?.clone(), r))))
                .collect();
            while let Some(Reverse((place, route))) = heads.pop() {
                if !self.queues.routable(&route) {
                    continue;
                }
                if self.queues.head(&route) != Some(&place) {
                    let head = self.queues.head(&route).expect("routable").clone();
                    heads.push(Reverse((head, route)));
                    continue;
                }
                let id = place.2;
                let i = &self.interactions[&id];
                let entry = i.queue.clone().expect("queued");
                let agent = self
                    .queues
                    .best_agent(&route, &i.skipped)
                    .expect("routable");
                self.offer_routed(&id, &agent, entry);
                self.sync_routing();
                if let Some(head) = self
                    .queues
                    .head(&route)
                    .filter(|_| self.queues.routable(&route))
                {
                    heads.push(Reverse((head.clone(), route)));
                }
            }
        }
    }

    /// Live interactions per channel an agent holds (ringing, connected or on hold).
    pub(crate) fn load(&self, agent: &AgentId) -> (u32, u32) {
        let (mut voice, mut chat) = (0, 0);
        for id in self.agent_interactions.get(agent).into_iter().flatten() {
            let Some(i) = self.interactions.get(id) else {
                continue;
            };
            if i.party(agent)
                .is_some_and(|p| p.state != PartyState::WrapUp)
            {
                match i.channel {
                    Channel::Voice => voice += 1,
                    Channel::Chat => chat += 1,
                }
            }
        }
        (voice, chat)
    }

    /// Whether an agent can be handed one more interaction of this channel directly.
    pub(crate) fn has_capacity(&self, agent: &AgentId, channel: Channel) -> bool {
        let Some(a) = self.agents.get(agent) else {
            return false;
        };
        let (voice, chat) = self.load(agent);
        match channel {
            Channel::Voice => voice == 0,
            Channel::Chat => chat < a.max_chats,
        }
    }

    fn offer_routed(&mut self, id: &InteractionId, agent: &AgentId, entry: QueueEntry) {
        let now = self.now;
        let ring = self.ring_timeout(&entry.service);
        let via_leg = entry.leg.clone();
        self.record_queue_wait(&entry.service, now - entry.since);
        self.queues.changed.insert(entry.service.clone());
        self.record_wait_for_stats(id, now - entry.since);
        self.interactions.get_mut(id).expect("queued").queue = None;
        let party = AgentParty {
            agent: agent.clone(),
            role: baton_protocol::PartyRole::Primary,
            state: PartyState::Ringing,
            joined_at: now,
            via_leg: via_leg.clone(),
            reason: None,
            ring_expires_at: Some(now + ring),
            routed_from: Some(entry),
        };
        self.add_party(id, party);
        self.announce(id, agent);
        if let Some(leg) = via_leg {
            self.deliver(&leg, agent, false);
        }
    }

    pub(crate) fn ring_timed_out(&mut self, id: &InteractionId, agent: &AgentId) {
        // An agent who lets an offer ring out is probably away: stop offering them more,
        // whether the offer came from a queue or a hand-off. Set before the offer fails, so
        // the interaction is not offered straight back to them (their late Accept would
        // then connect an offer that, for everyone else, had rung out).
        if let Some(a) = self.agents.get_mut(agent)
            && a.chosen == ChosenState::Ready
        {
            a.chosen = ChosenState::NotReady {
                reason: Some("missed".into()),
            };
            self.touch_agent(agent);
        }
        self.offer_failed(id, agent, "ring_timeout");
    }

    /// A ringing offer ended without an answer: `rejected`, `ring_timeout` or `target_logged_out`.
    pub(crate) fn offer_failed(&mut self, id: &InteractionId, agent: &AgentId, reason: &str) {
        let Some(party) = self.remove_party(id, agent) else {
            return;
        };
        self.log_offer_ended(id, agent, reason);
        let pending = self.interactions[id].pending_leg.clone();
        // Whatever the offer was, routing prefers others for this interaction from now on.
        let i = self.interactions.get_mut(id).expect("live");
        if !i.skipped.contains(agent) {
            i.skipped.push(agent.clone());
        }
        if let Some(entry) = party.routed_from {
            let i = self.interactions.get_mut(id).expect("live");
            if i.customer_connected {
                i.queue = Some(entry);
            }
            self.touch_interaction(id);
        } else if let Some(leg) = party
            .via_leg
            .as_ref()
            .filter(|l| Some(*l) == pending.as_ref())
        {
            self.leg_failed(leg, reason, true);
        }
        self.end_internal_call(id);
        self.rehome(id);
    }

    /// An interaction with the customer still there and no agent goes back to its queue;
    /// one with nobody left completes.
    pub(crate) fn rehome(&mut self, id: &InteractionId) {
        let Some(i) = self.interactions.get_mut(id) else {
            return;
        };
        if i.parties.is_empty() && i.queue.is_none() && i.customer_connected {
            i.queue = Some(QueueEntry {
                service: i.service.clone(),
                since: i.created_at,
                seq: crate::engine::next_seq(&mut self.queue_seq),
                leg: None,
            });
            self.touch_interaction(id);
        }
        self.complete_if_empty(id);
    }
}

/// The full scan the routing index is checked against: the debug invariants and the
/// oracle below use it; release builds never scan.
#[cfg(any(debug_assertions, test))]
impl Core {
    pub(crate) fn is_ringing(&self, agent: &AgentId) -> bool {
        self.agent_interactions
            .get(agent)
            .into_iter()
            .flatten()
            .any(|id| {
                self.interactions
                    .get(id)
                    .and_then(|i| i.party(agent))
                    .is_some_and(|p| p.state == PartyState::Ringing)
            })
    }

    /// Routing is stricter than a direct hand-off: a voice call needs a free agent, chats
    /// need no call and a free chat slot. An interaction in wrap-up still holds its slot
    /// here: the agent finishes it (completes) before routing gives them the next one.
    pub(crate) fn routable_capacity(&self, agent: &Agent, channel: Channel) -> bool {
        let (voice, chat) = self.load(&agent.id);
        let (voice, chat) = (
            voice + self.wrap_ups(&agent.id, Channel::Voice),
            chat + self.wrap_ups(&agent.id, Channel::Chat),
        );
        match channel {
            Channel::Voice => voice == 0 && chat == 0,
            Channel::Chat => voice == 0 && chat < agent.max_chats,
        }
    }

    /// Interactions of this channel the agent is wrapping up.
    pub(crate) fn wrap_ups(&self, agent: &AgentId, channel: Channel) -> u32 {
        let ids = self.agent_interactions.get(agent).into_iter().flatten();
        ids.filter_map(|id| self.interactions.get(id))
            .filter(|i| {
                i.channel == channel
                    && i.party(agent)
                        .is_some_and(|p| p.state == PartyState::WrapUp)
            })
            .count() as u32
    }
}

/// Routing as it was before the index: every interaction and every agent scanned. Kept as
/// the oracle the property tests compare the index with (`tests` below).
#[cfg(test)]
impl Core {
    pub(crate) fn route_all_by_scan(&mut self) {
        let mut queued: Vec<(Millis, u64, InteractionId)> = self
            .interactions
            .values()
            .filter_map(|i| i.queue.as_ref().map(|q| (q.since, q.seq, i.id.clone())))
            .collect();
        queued.sort();
        for (_, _, id) in queued {
            let i = &self.interactions[&id];
            let entry = i.queue.clone().expect("queued");
            if let Some(agent) =
                self.best_agent_by_scan(&i.tenant, &entry.service, i.channel, &i.skipped)
            {
                self.offer_routed(&id, &agent, entry);
            }
        }
    }

    /// The eligible agent holding the fewest interactions, then the longest idle,
    /// preferring those who have not just rejected it.
    pub(crate) fn best_agent_by_scan(
        &self,
        tenant: &TenantId,
        service: &ServiceId,
        channel: Channel,
        skipped: &[AgentId],
    ) -> Option<AgentId> {
        let eligible = self.agents.values().filter(|a| {
            &a.tenant == tenant
                && a.services.contains(service)
                && a.is_connected()
                && a.chosen == ChosenState::Ready
                && !self.is_ringing(&a.id)
                && self.routable_capacity(a, channel)
        });
        let rank = |a: &Agent| {
            let (voice, chat) = self.load(&a.id);
            let held = voice
                + chat
                + self.wrap_ups(&a.id, Channel::Voice)
                + self.wrap_ups(&a.id, Channel::Chat);
            (held, a.idle_since, a.id.clone())
        };
        let mut best: Option<(&Agent, _)> = None;
        let mut best_skipped: Option<(&Agent, _)> = None;
        for a in eligible {
            let slot = if skipped.contains(&a.id) {
                &mut best_skipped
            } else {
                &mut best
            };
            let r = rank(a);
            if slot.as_ref().is_none_or(|(_, b)| r < *b) {
                *slot = Some((a, r));
            }
        }
        best.or(best_skipped).map(|(a, _)| a.id.clone())
    }
}
