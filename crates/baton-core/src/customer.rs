//! What the customer is told: queue position and expected wait, whether any agent is
//! there, who is typing. Typing is never stored; it only becomes frames.

use std::collections::{BTreeMap, BTreeSet};

use baton_protocol::frame::arg;
use baton_protocol::{ErrorCode, Millis, ServerFrame, events};

use crate::effect::{Effect, Recipient};
use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

impl Core {
    /// What the customer of a live interaction is shown now; `None` once it has ended.
    pub fn customer_view(&self, id: &InteractionId) -> Option<baton_protocol::CustomerState> {
        self.interactions.get(id).map(|i| self.customer_state(i))
    }

    /// The place of every interaction queued for these services, 1 for the next one.
    pub(crate) fn queue_positions(
        &self,
        services: &BTreeSet<ServiceId>,
    ) -> BTreeMap<InteractionId, u32> {
        let mut positions = BTreeMap::new();
        for service in services {
            for (n, (_, _, id)) in self.queues.queue_of(service).into_iter().enumerate() {
                positions.insert(id.clone(), n as u32 + 1);
            }
        }
        positions
    }

    /// One interaction's place in its queue (see [`Core::queue_positions`]).
    pub(crate) fn queue_position(&self, i: &Interaction) -> Option<u32> {
        let q = i.queue.as_ref()?;
        let ahead = self
            .queues
            .ahead_of(&q.service, &(q.since, q.seq, i.id.clone()));
        Some(ahead as u32 + 1)
    }

    /// A routed customer waited `waited` ms: fold it into the service's moving average.
    pub(crate) fn record_queue_wait(&mut self, service: &ServiceId, waited: Millis) {
        let waited = waited.max(0) as u64;
        self.queue_wait
            .entry(service.clone())
            .and_modify(|avg| *avg = (*avg * 3 + waited) / 4)
            .or_insert(waited);
    }

    /// Whether an agent of the service is logged in, connected and ready.
    pub(crate) fn agents_ready_for(&self, service: &ServiceId) -> bool {
        self.queues.has_ready_agent(service)
    }

    /// Sends the customer's `state` when it differs from what they were last shown.
    pub(crate) fn show_customer_state(&mut self, id: &InteractionId, position: Option<u32>) {
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        let state = self.customer_state_at(i, position);
        if self.customer_state_changed(id, &state) || state.state == "ringing" {
            self.out.push(Effect::Send {
                to: Recipient::Customer(id.clone()),
                frame: ServerFrame::event("state", vec![arg(&state)]),
            });
        }
    }

    /// Closing the customer's sockets waits until the frames of the same command (the
    /// final `state`) are queued, so the page learns why it was closed.
    pub(crate) fn close_customers_last(&mut self) {
        let (closes, mut rest): (Vec<Effect>, Vec<Effect>) = std::mem::take(&mut self.out)
            .into_iter()
            .partition(|e| matches!(e, Effect::CloseCustomer { .. }));
        rest.extend(closes);
        self.out = rest;
    }

    /// The customer is typing: the agents who have answered are told (`ON_TYPING`).
    pub(crate) fn customer_typing(&mut self, id: &InteractionId, typing: bool) -> CoreResult {
        let i = self.customer_interaction(id)?;
        let view =
            serde_json::json!({"partyId": "customer", "name": i.customer.name, "typing": typing});
        let listeners: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| matches!(p.state, PartyState::Connected | PartyState::Hold))
            .map(|p| p.agent.clone())
            .collect();
        for agent in listeners {
            self.emit(&agent, events::ON_TYPING, vec![arg(&id.0), arg(&view)]);
        }
        Ok(serde_json::Value::Null)
    }

    /// An agent is typing (`setTyping`): the customer gets `typing`, the other agent
    /// parties `ON_TYPING`.
    pub(crate) fn agent_typing(
        &mut self,
        id: &InteractionId,
        agent: &AgentId,
        typing: bool,
    ) -> CoreResult {
        let i = &self.interactions[id];
        if i.channel != baton_protocol::Channel::Chat {
            return Err(err(ErrorCode::NotSuitableState, "not a chat"));
        }
        let name = self.agents[agent].display_name.clone();
        let others: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| &p.agent != agent)
            .filter(|p| matches!(p.state, PartyState::Connected | PartyState::Hold))
            .map(|p| p.agent.clone())
            .collect();
        let customer = i.customer_connected;
        let view = serde_json::json!({"partyId": agent.0, "name": name, "typing": typing});
        for other in others {
            self.emit(&other, events::ON_TYPING, vec![arg(&id.0), arg(&view)]);
        }
        if customer {
            self.out.push(Effect::Send {
                to: Recipient::Customer(id.clone()),
                frame: ServerFrame::event(
                    "typing",
                    vec![arg(&serde_json::json!({"name": name, "typing": typing}))],
                ),
            });
        }
        Ok(serde_json::Value::Null)
    }
}
