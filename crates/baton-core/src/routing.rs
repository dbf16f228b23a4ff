//! Service queues and offers: the longest-idle ready agent with capacity gets the oldest
//! waiting interaction; a rejected or unanswered offer goes to the next agent.

use baton_protocol::{Channel, Millis};

use crate::engine::Core;
use crate::entity::*;

impl Core {
    /// Offers every waiting interaction it can, oldest first.
    pub(crate) fn route_all(&mut self) {
        let mut queued: Vec<(Millis, u64, InteractionId)> = self
            .interactions
            .values()
            .filter_map(|i| i.queue.as_ref().map(|q| (q.since, q.seq, i.id.clone())))
            .collect();
        if queued.is_empty() {
            return;
        }
        queued.sort();
        for (_, _, id) in queued {
            let i = &self.interactions[&id];
            let entry = i.queue.clone().expect("queued");
            if let Some(agent) = self.best_agent(&i.tenant, &entry.service, i.channel, &i.skipped) {
                self.offer_routed(&id, &agent, entry);
            }
        }
    }

    /// The longest-idle eligible agent, preferring those who have not just rejected it.
    fn best_agent(
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
        let mut best: Option<&Agent> = None;
        let mut best_skipped: Option<&Agent> = None;
        for a in eligible {
            let slot = if skipped.contains(&a.id) {
                &mut best_skipped
            } else {
                &mut best
            };
            if slot.is_none_or(|b| (a.idle_since, &a.id) < (b.idle_since, &b.id)) {
                *slot = Some(a);
            }
        }
        best.or(best_skipped).map(|a| a.id.clone())
    }

    fn is_ringing(&self, agent: &AgentId) -> bool {
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

    /// Routing is stricter than a direct hand-off: a voice call needs a free agent, chats
    /// need no call and a free chat slot. An interaction in wrap-up still holds its slot
    /// here: the agent finishes it (completes) before routing gives them the next one.
    fn routable_capacity(&self, agent: &Agent, channel: Channel) -> bool {
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
    fn wrap_ups(&self, agent: &AgentId, channel: Channel) -> u32 {
        let ids = self.agent_interactions.get(agent).into_iter().flatten();
        ids.filter_map(|id| self.interactions.get(id))
            .filter(|i| {
                i.channel == channel
                    && i.party(agent)
                        .is_some_and(|p| p.state == PartyState::WrapUp)
            })
            .count() as u32
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
