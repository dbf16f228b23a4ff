//! Read access: what the shell, the views and the other concepts look up.

use baton_protocol::frame::arg;
use baton_protocol::{
    AgentStateData, AgentStateName, InteractionsState, Millis, ServerFrame, ServiceInfo,
    TransferRecord,
};

use crate::entity::*;

use baton_protocol::ErrorCode;

use super::{Core, CoreResult, err};

impl Core {
    pub(crate) fn ring_timeout(&self, service: &ServiceId) -> Millis {
        self.services
            .get(service)
            .map_or(20_000, |s| s.ring_timeout_ms as Millis)
    }

    /// A service's longest queue wait, if it has one.
    pub(crate) fn queue_wait(&self, service: &ServiceId) -> Option<Millis> {
        let s = self.services.get(service)?;
        let wait = s
            .max_queue_wait_ms
            .unwrap_or(self.config.limits.default_max_queue_wait_ms);
        (wait > 0).then_some(wait as Millis)
    }

    pub(crate) fn settings(&self, tenant: &TenantId) -> TenantSettings {
        self.tenants
            .get(tenant)
            .map(|t| t.settings)
            .unwrap_or_default()
    }

    /// The state an agent shows: ringing or busy when interactions say so, else the chosen one.
    pub fn agent_state(&self, agent: &Agent) -> AgentStateData {
        let mut ringing = false;
        let mut busy = false;
        for id in self.agent_interactions.get(&agent.id).into_iter().flatten() {
            match self
                .interactions
                .get(id)
                .and_then(|i| i.party(&agent.id))
                .map(|p| p.state)
            {
                Some(PartyState::Ringing) => ringing = true,
                Some(_) => busy = true,
                None => {}
            }
        }
        let (state, reason) = if ringing {
            (AgentStateName::Ringing, None)
        } else if busy {
            (AgentStateName::Busy, None)
        } else {
            match &agent.chosen {
                ChosenState::Ready => (AgentStateName::Ready, None),
                ChosenState::NotReady { reason } => (AgentStateName::NotReady, reason.clone()),
                ChosenState::AfterCallWork => (AgentStateName::AfterCallWork, None),
            }
        };
        AgentStateData {
            state,
            not_ready_reason: reason,
            reserved_for_incoming_interaction: ringing,
        }
    }

    pub(crate) fn service_by_name(&self, tenant: &TenantId, name: &str) -> Option<&Service> {
        self.services
            .values()
            .find(|s| &s.tenant == tenant && s.name.eq_ignore_ascii_case(name))
    }

    /// [`Core::service_by_name`], or `object_not_found`.
    pub(crate) fn require_service_named(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> CoreResult<&Service> {
        self.service_by_name(tenant, name)
            .ok_or_else(|| err(ErrorCode::ObjectNotFound, format!("no service {name:?}")))
    }

    pub fn tenant(&self, id: &TenantId) -> Option<&Tenant> {
        self.tenants.get(id)
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// An agent as the admin API shows it (service names, not ids; no login details).
    pub fn agent_admin_view(&self, id: &AgentId) -> serde_json::Value {
        let Some(a) = self.agents.get(id) else {
            return serde_json::Value::Null;
        };
        let services: Vec<&str> = a
            .services
            .iter()
            .filter_map(|s| self.services.get(s).map(|s| s.name.as_str()))
            .collect();
        serde_json::json!({
            "id": a.id, "username": a.username, "displayName": a.display_name,
            "extension": a.extension, "services": services, "maxChats": a.max_chats,
            "disabled": a.disabled, "loggedIn": a.is_logged_in(),
        })
    }

    pub fn agent_by_username(&self, tenant: &TenantId, username: &str) -> Option<&Agent> {
        self.names
            .by_username(tenant, username)
            .and_then(|id| self.agents.get(id))
    }

    pub fn integration(&self, tenant: &TenantId, key: &str) -> Option<&Integration> {
        self.integrations.get(&(tenant.clone(), key.to_owned()))
    }

    pub fn integrations(&self) -> impl Iterator<Item = &Integration> {
        self.integrations.values()
    }

    /// A tenant's services by name, so lists (the customer's picker, `getServicesList`)
    /// keep one order.
    pub fn services_of(&self, tenant: &TenantId) -> Vec<ServiceInfo> {
        let mut services: Vec<ServiceInfo> = self
            .services
            .values()
            .filter(|s| &s.tenant == tenant)
            .map(Core::service_info)
            .collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        services
    }

    pub fn interaction(&self, id: &InteractionId) -> Option<&Interaction> {
        self.interactions.get(id)
    }

    pub fn interactions(&self) -> impl Iterator<Item = &Interaction> {
        self.interactions.values()
    }

    pub fn leg(&self, id: &TransferId) -> Option<&Leg> {
        self.legs.get(id)
    }

    pub fn transfer_history(&self, id: &InteractionId) -> Vec<TransferRecord> {
        let Some(i) = self.interactions.get(id) else {
            return Vec::new();
        };
        i.legs
            .iter()
            .filter_map(|l| self.legs.get(l))
            .map(crate::view::transfer_record)
            .collect()
    }

    /// `getInteractionsState`: the agent's interactions as they see them, and the active one.
    pub(crate) fn interactions_state(&self, agent: &AgentId) -> serde_json::Value {
        let interactions = self
            .agent_interaction_ids(agent)
            .iter()
            .map(|id| self.interaction_view(id, agent))
            .collect();
        let state = InteractionsState {
            active_interaction_id: self.agents[agent]
                .active_interaction
                .as_ref()
                .map(|i| i.0.clone()),
            interactions,
        };
        serde_json::to_value(state).expect("json")
    }

    /// The customer socket's opening frames: the transcript, then the state.
    pub fn customer_greeting(&self, id: &InteractionId) -> Vec<ServerFrame> {
        let Some(i) = self.interactions.get(id) else {
            return Vec::new();
        };
        let mut frames: Vec<ServerFrame> = i
            .messages
            .iter()
            .map(|m| ServerFrame::event("message", vec![arg(&self.customer_message_view(m))]))
            .collect();
        frames.push(ServerFrame::event(
            "state",
            vec![arg(&self.customer_state(i))],
        ));
        frames
    }
}
