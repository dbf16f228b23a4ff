//! What a supervisor sees of their tenant: per service the waiting customers, the longest
//! wait and the agents by state; the live interactions with their parties. Built from
//! memory on request; it carries no message text and no transfer-data content.

use std::collections::BTreeMap;

use baton_protocol::ErrorCode;
use serde_json::{Value, json};

use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

impl Core {
    pub(crate) fn set_supervisor(
        &mut self,
        tenant: &TenantId,
        username: &str,
        supervisor: bool,
    ) -> CoreResult {
        let id = self.names.by_username(tenant, username).cloned();
        let Some(agent) = id.and_then(|id| self.agents.get_mut(&id)) else {
            return Err(err(
                ErrorCode::ObjectNotFound,
                format!("no agent {username:?} in tenant {tenant}"),
            ));
        };
        agent.supervisor = supervisor;
        let id = agent.id.clone();
        self.mark_agent(&id);
        Ok(json!({"username": username, "supervisor": supervisor}))
    }

    /// A supervisor sets an agent of their own tenant `ready` or `not_ready` (with an
    /// optional reason); the agent is told by `ON_AGENT_STATE_CHANGE` as for their own change.
    pub(crate) fn supervisor_set_state(
        &mut self,
        supervisor: &AgentId,
        username: &str,
        state: &str,
        reason: Option<String>,
    ) -> CoreResult {
        let Some(tenant) = self
            .agents
            .get(supervisor)
            .filter(|a| a.supervisor)
            .map(|a| a.tenant.clone())
        else {
            return Err(err(
                ErrorCode::NotEnoughPrivileges,
                "this agent has no supervisor role",
            ));
        };
        let chosen = match state {
            "ready" => ChosenState::Ready,
            "not_ready" => ChosenState::NotReady { reason },
            other => {
                return Err(err(
                    ErrorCode::InvalidArgs,
                    format!("a supervisor sets ready or not_ready, not {other:?}"),
                ));
            }
        };
        let now = self.now;
        let id = self.names.by_username(&tenant, username).cloned();
        let Some(agent) = id.and_then(|id| self.agents.get_mut(&id)) else {
            return Err(err(
                ErrorCode::ObjectNotFound,
                format!("no agent {username:?}"),
            ));
        };
        if !agent.is_logged_in() {
            return Err(err(
                ErrorCode::NotSuitableState,
                format!("{username} is not logged in"),
            ));
        }
        if chosen == ChosenState::Ready && agent.chosen != ChosenState::Ready {
            agent.idle_since = now;
        }
        agent.chosen = chosen;
        let id = agent.id.clone();
        tracing::info!(target: "baton::ops", event = "state_set_by_supervisor",
            supervisor = self.agents[supervisor].username.as_str(), agent = username, state,
            "agent state set by a supervisor");
        self.touch_agent(&id);
        Ok(Value::Null)
    }

    /// Whether this agent may use the supervisor console.
    pub fn is_supervisor(&self, agent: &AgentId) -> bool {
        self.agents.get(agent).is_some_and(|a| a.supervisor)
    }

    /// The supervisor console's picture of one tenant at `now`.
    pub fn supervisor_overview(&self, tenant: &TenantId, now: baton_protocol::Millis) -> Value {
        let mut services: BTreeMap<&ServiceId, Value> = BTreeMap::new();
        for s in self.services.values().filter(|s| &s.tenant == tenant) {
            let waiting: Vec<&Interaction> = self
                .interactions
                .values()
                .filter(|i| i.queue.as_ref().is_some_and(|q| q.service == s.id))
                .collect();
            let longest = waiting
                .iter()
                .filter_map(|i| i.queue.as_ref().map(|q| now - q.since))
                .max();
            let mut by_state: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for a in self
                .agents
                .values()
                .filter(|a| a.tenant == *tenant && a.services.contains(&s.id))
            {
                let state = if a.is_logged_in() {
                    self.agent_state(a).state.as_str().to_owned()
                } else {
                    "offline".to_owned()
                };
                by_state
                    .entry(state)
                    .or_default()
                    .push(json!(a.display_name));
            }
            services.insert(
                &s.id,
                json!({
                    "id": s.id.0, "name": s.name, "waiting": waiting.len(),
                    "longestWaitMs": longest, "agentsByState": by_state,
                }),
            );
        }
        let agents: Vec<Value> = self
            .agents
            .values()
            .filter(|a| a.tenant == *tenant)
            .map(|a| {
                let state = self.agent_state(a);
                json!({
                    "username": a.username, "displayName": a.display_name,
                    "state": if a.is_logged_in() { state.state.as_str() } else { "offline" },
                    "notReadyReason": state.not_ready_reason,
                    "interactions": self.agent_interactions.get(&a.id).map_or(0, |s| s.len()),
                })
            })
            .collect();
        let interactions: Vec<Value> = self
            .interactions
            .values()
            .filter(|i| i.tenant == *tenant)
            .map(|i| {
                json!({
                    "id": i.id.0,
                    "service": self.services.get(&i.service).map(|s| s.name.clone()),
                    "channel": i.channel,
                    "status": i.status(),
                    "customer": i.customer.name,
                    "createdAt": i.created_at,
                    "waitingSince": i.queue.as_ref().map(|q| q.since),
                    "parties": i.parties.iter().map(|p| json!({
                        "name": self.agents.get(&p.agent).map(|a| a.display_name.clone()),
                        "role": p.role, "state": p.state, "since": p.joined_at,
                    })).collect::<Vec<_>>(),
                    "handOffs": i.legs.len(),
                })
            })
            .collect();
        json!({
            "at": now,
            "services": services.into_values().collect::<Vec<_>>(),
            "agents": agents,
            "interactions": interactions,
        })
    }
}
