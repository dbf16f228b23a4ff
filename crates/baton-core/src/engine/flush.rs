//! What each apply shows: new interactions, state changes, customer state, agent state.

use baton_protocol::events;
use baton_protocol::frame::arg;

use crate::entity::*;

use super::Core;

impl Core {
    /// Sends `ON_NEW_INTERACTION` to an agent, once per apply.
    pub(crate) fn announce(&mut self, id: &InteractionId, agent: &AgentId) {
        let view = self.interaction_view(id, agent);
        self.announced.insert((id.clone(), agent.clone()));
        self.emit(agent, events::ON_NEW_INTERACTION, vec![arg(&view)]);
    }

    /// Sends the state changes this apply caused: interactions to their parties, the
    /// customer's view, and agent states that changed.
    pub(super) fn flush_views(&mut self) {
        let interactions = std::mem::take(&mut self.touched_interactions);
        let announced = std::mem::take(&mut self.announced);
        let mut agents = std::mem::take(&mut self.touched_agents);
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
            if self.shown_agent_state.get(&agent) != Some(&state) {
                self.shown_agent_state.insert(agent.clone(), state.clone());
                self.emit(&agent, events::ON_AGENT_STATE_CHANGE, vec![arg(&state)]);
            }
        }
    }
}
