//! What each apply shows: new interactions, state changes, customer state, agent state.

use std::collections::{BTreeMap, BTreeSet};

use baton_protocol::frame::arg;
use baton_protocol::{AgentStateData, CustomerState, events};

use crate::entity::*;

use super::Core;

/// What this apply changed for agents and customers, and what each was last shown: the
/// flush at the end of an apply sends only the difference.
#[derive(Default)]
pub(crate) struct Views {
    /// Interactions and agents touched in this apply.
    interactions: BTreeSet<InteractionId>,
    agents: BTreeSet<AgentId>,
    /// Who got `ON_NEW_INTERACTION` in this apply: no state change follows it.
    announced: BTreeSet<(InteractionId, AgentId)>,
    /// The state each connected agent last saw.
    agent_state: BTreeMap<AgentId, AgentStateData>,
    /// The state each interaction's customer last saw.
    customer_state: BTreeMap<InteractionId, CustomerState>,
}

impl Views {
    pub(super) fn touch_interaction(&mut self, id: &InteractionId) {
        self.interactions.insert(id.clone());
    }

    pub(super) fn touch_agent(&mut self, id: &AgentId) {
        self.agents.insert(id.clone());
    }

    /// The agent has the whole interaction from `ON_NEW_INTERACTION` in this apply.
    pub(super) fn announced(&mut self, id: &InteractionId, agent: &AgentId) {
        self.announced.insert((id.clone(), agent.clone()));
    }

    /// The agent left the interaction: a later announce in this apply is a new one.
    pub(super) fn unannounce(&mut self, id: &InteractionId, agent: &AgentId) {
        self.announced.remove(&(id.clone(), agent.clone()));
    }

    /// Records the state an agent is shown; whether it differs from the last one.
    pub(super) fn show_agent_state(&mut self, agent: &AgentId, state: &AgentStateData) -> bool {
        if self.agent_state.get(agent) == Some(state) {
            return false;
        }
        self.agent_state.insert(agent.clone(), state.clone());
        true
    }

    /// The agent logged out or was deleted: the next login shows its state afresh.
    pub(super) fn forget_agent(&mut self, agent: &AgentId) {
        self.agent_state.remove(agent);
    }

    /// The interaction left memory.
    pub(super) fn forget_interaction(&mut self, id: &InteractionId) {
        self.customer_state.remove(id);
    }

    /// Records the state a customer is shown; whether it differs from the last one.
    fn show_customer_state(&mut self, id: &InteractionId, state: &CustomerState) -> bool {
        if self.customer_state.get(id) == Some(state) {
            return false;
        }
        self.customer_state.insert(id.clone(), state.clone());
        true
    }
}

impl Core {
    /// Sends `ON_NEW_INTERACTION` to an agent, once per apply.
    pub(crate) fn announce(&mut self, id: &InteractionId, agent: &AgentId) {
        let view = self.interaction_view(id, agent);
        self.views.announced(id, agent);
        self.emit(agent, events::ON_NEW_INTERACTION, vec![arg(&view)]);
    }

    /// Records the state a customer is shown (see `customer.rs`); whether it is new to them.
    pub(crate) fn customer_state_changed(
        &mut self,
        id: &InteractionId,
        state: &CustomerState,
    ) -> bool {
        self.views.show_customer_state(id, state)
    }

    /// Sends the state changes this apply caused: interactions to their parties, the
    /// customer's view, and agent states that changed.
    pub(super) fn flush_views(&mut self) {
        let interactions = std::mem::take(&mut self.views.interactions);
        let announced = std::mem::take(&mut self.views.announced);
        let mut agents = std::mem::take(&mut self.views.agents);
        // Only the queues that changed (or whose agents' availability or expected wait
        // did), and those of touched interactions, need their customers' positions.
        let mut services = std::mem::take(&mut self.queues.changed);
        services.extend(
            interactions
                .iter()
                .filter_map(|id| self.interactions.get(id)?.queue.as_ref())
                .map(|q| q.service.clone()),
        );
        let positions = self.queue_positions(&services);
        for id in &interactions {
            let Some(i) = self.interactions.get(id) else {
                continue;
            };
            let parties: Vec<AgentId> = i.parties.iter().map(|p| p.agent.clone()).collect();
            for agent in parties {
                agents.insert(agent.clone());
                if !announced.contains(&(id.clone(), agent.clone())) {
                    let view = self.interaction_change_view(id, &agent);
                    self.emit(
                        &agent,
                        events::ON_INTERACTION_STATE_CHANGE,
                        vec![arg(&view)],
                    );
                }
            }
            self.show_customer_state(id, positions.get(id).copied());
        }
        // A queue position or the agents' availability can change without the queued
        // interaction itself being touched.
        let queued: Vec<(InteractionId, u32)> = positions
            .into_iter()
            .filter(|(id, _)| !interactions.contains(id))
            .collect();
        for (id, position) in queued {
            self.show_customer_state(&id, Some(position));
        }
        for agent in agents {
            let Some(a) = self.agents.get(&agent) else {
                continue;
            };
            if !a.is_connected() {
                continue;
            }
            let state = self.agent_state(a);
            if self.views.show_agent_state(&agent, &state) {
                self.emit(&agent, events::ON_AGENT_STATE_CHANGE, vec![arg(&state)]);
            }
        }
    }
}
