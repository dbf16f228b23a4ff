//! How things look from outside: an interaction to one agent, to its customer, to an admin;
//! a leg to its sender and in the history.

use baton_protocol::{
    Channel, CustomerState, InteractionData, InteractionState, InteractionSummary, OutcomeData,
    OutcomeRecord, PartyData, PartyType, TransferRecord, TransferStatus,
};

use crate::engine::Core;
use crate::entity::*;

fn party_state(state: PartyState) -> InteractionState {
    match state {
        PartyState::Ringing => InteractionState::Ringing,
        PartyState::Connected => InteractionState::Connected,
        PartyState::Hold => InteractionState::Hold,
        PartyState::WrapUp => InteractionState::WrapUp,
    }
}

impl Core {
    fn parties(&self, i: &Interaction) -> Vec<PartyData> {
        let customer_state = if i.completed_at.is_some() {
            InteractionState::Completed
        } else if !i.customer_connected {
            InteractionState::WrapUp
        } else if i.customer_on_hold {
            InteractionState::Hold
        } else if i.parties.iter().any(|p| p.state == PartyState::Connected) {
            InteractionState::Connected
        } else {
            InteractionState::Ringing
        };
        // A call between agents has no customer party.
        let mut parties = Vec::new();
        if !i.internal {
            parties.push(PartyData {
                id: "customer".into(),
                party_type: PartyType::Customer,
                agent_id: None,
                name: i.customer.name.clone(),
                state: customer_state,
                role: None,
            });
        }
        parties.extend(i.parties.iter().map(|p| {
            PartyData {
                id: p.agent.0.clone(),
                party_type: PartyType::Agent,
                agent_id: Some(p.agent.0.clone()),
                name: self
                    .agents
                    .get(&p.agent)
                    .map(|a| a.display_name.clone())
                    .unwrap_or_default(),
                state: party_state(p.state),
                role: Some(p.role),
            }
        }));
        parties
    }

    fn service_name(&self, i: &Interaction) -> String {
        self.services
            .get(&i.service)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }

    /// The interaction as `agent` sees it (`ON_NEW_INTERACTION`, `getInteractionsState`),
    /// with the whole transcript: what a party gets when it first sees the interaction.
    pub(crate) fn interaction_view(&self, id: &InteractionId, agent: &AgentId) -> InteractionData {
        let mut view = self.interaction_change_view(id, agent);
        view.messages = Some(self.interactions[id].messages.clone());
        view
    }

    /// The interaction without its transcript (`ON_INTERACTION_STATE_CHANGE`): the party
    /// already has the messages, and new ones come as `ON_CHAT_MESSAGE`, so a state change
    /// costs the same whatever the chat's length.
    pub(crate) fn interaction_change_view(
        &self,
        id: &InteractionId,
        agent: &AgentId,
    ) -> InteractionData {
        let i = &self.interactions[id];
        let me = i.party(agent);
        InteractionData {
            id: i.id.0.clone(),
            channel: i.channel,
            state: me.map_or(InteractionState::Completed, |p| party_state(p.state)),
            service_name: self.service_name(i),
            customer: i.customer.clone(),
            parties: self.parties(i),
            attached_data: i.attached_data.clone(),
            created_at: i.created_at,
            notes: i.notes.clone(),
            messages: None,
            reason: me.and_then(|p| p.reason.clone()),
            direction: i.direction,
            internal: i.internal,
            disposition: i.disposition.as_ref().map(|d| d.name.clone()),
            disposition_id: i.disposition.as_ref().map(|d| d.id.clone()),
            associated_objects: i.associated_objects.clone(),
            active_screen: i.active_screen.clone(),
            reschedule: i.reschedule.clone(),
            completed_at: i.completed_at,
            ani: self.ani(i),
            dnis: self.dnis(i),
            ring_deadline: me
                .filter(|p| p.state == PartyState::Ringing)
                .and_then(|p| p.ring_expires_at),
            call_muted: i.call_muted.contains(agent),
            call_recording: i.call_recording,
        }
    }

    /// The calling number of a call: stored for calls agents start, the customer's phone
    /// for inbound ones.
    fn ani(&self, i: &Interaction) -> Option<String> {
        if i.channel != Channel::Voice {
            return None;
        }
        i.ani.clone().or_else(|| i.customer.phone.clone())
    }

    /// The called number: stored for calls agents start, the service for inbound ones.
    fn dnis(&self, i: &Interaction) -> Option<String> {
        if i.channel != Channel::Voice {
            return None;
        }
        i.dnis.clone().or_else(|| Some(self.service_name(i)))
    }

    /// The interaction as an admin sees it.
    pub fn interaction_summary(&self, i: &Interaction) -> InteractionSummary {
        InteractionSummary {
            id: i.id.0.clone(),
            tenant: i.tenant.0.clone(),
            channel: i.channel,
            status: i.status().as_str().to_owned(),
            service_name: self.service_name(i),
            customer: i.customer.clone(),
            parties: self.parties(i),
            attached_data: i.attached_data.clone(),
            created_at: i.created_at,
            completed_at: i.completed_at,
            messages: i.messages.clone(),
            direction: i.direction,
            internal: i.internal,
            disposition: i.disposition.as_ref().map(|d| d.name.clone()),
            disposition_id: i.disposition.as_ref().map(|d| d.id.clone()),
            notes: i.notes.clone(),
            dtmf: i.dtmf.clone(),
        }
    }

    pub(crate) fn customer_state(&self, i: &Interaction) -> CustomerState {
        self.customer_state_at(i, self.queue_position(i))
    }

    /// The customer's view, given its queue position (computed once for all queues).
    pub(crate) fn customer_state_at(
        &self,
        i: &Interaction,
        position: Option<u32>,
    ) -> CustomerState {
        let transferring = i
            .pending_leg
            .as_ref()
            .and_then(|l| self.legs.get(l))
            .is_some_and(|l| {
                matches!(
                    l.kind,
                    baton_protocol::TransferKind::Blind | baton_protocol::TransferKind::Queue
                )
            });
        let state = if !i.customer_connected || i.completed_at.is_some() {
            "completed"
        } else if transferring {
            "transferring"
        } else if i.queue.is_some() {
            "queued"
        } else if i.customer_on_hold {
            "hold"
        } else if i.parties.iter().any(|p| p.state == PartyState::Connected) {
            "connected"
        } else {
            "ringing"
        };
        CustomerState {
            state: state.to_owned(),
            service_name: self.service_name(i),
            agent_names: i
                .parties
                .iter()
                .filter(|p| matches!(p.state, PartyState::Connected | PartyState::Hold))
                .filter_map(|p| self.agents.get(&p.agent).map(|a| a.display_name.clone()))
                .collect(),
            reason: i.parties.iter().find_map(|p| p.reason.clone()),
            position: if state == "queued" { position } else { None },
            expected_wait_ms: if state == "queued" {
                self.queue_wait.get(&i.service).copied()
            } else {
                None
            },
            agents_available: state != "queued" || self.agents_ready_for(&i.service),
        }
    }

    pub(crate) fn customer_message_view(
        &self,
        m: &baton_protocol::ChatMessage,
    ) -> serde_json::Value {
        let mut view =
            serde_json::json!({"from": m.from, "name": m.name, "text": m.text, "at": m.at});
        if let Some(a) = &m.attachment {
            view["attachment"] = serde_json::json!(a);
        }
        view
    }
}

fn outcomes(leg: &Leg) -> Vec<(Option<String>, baton_protocol::Outcome)> {
    leg.outcome()
        .map(|o| (leg.integration_key.clone(), o))
        .into_iter()
        .collect()
}

pub(crate) fn transfer_status(leg: &Leg) -> TransferStatus {
    TransferStatus {
        transfer_id: leg.id.0.clone(),
        interaction_id: leg.interaction.0.clone(),
        kind: leg.kind,
        target: leg.target_label.clone(),
        phase: leg.phase,
        outcomes: outcomes(leg)
            .into_iter()
            .map(|(integration_key, outcome)| OutcomeData {
                integration_key,
                outcome,
                bytes: leg.bytes,
            })
            .collect(),
        reason: leg.reason.clone(),
    }
}

/// A history row: sizes and hashes, never the data.
pub fn transfer_record(leg: &Leg) -> TransferRecord {
    TransferRecord {
        transfer_id: leg.id.0.clone(),
        kind: leg.kind,
        from_agent_id: leg.from_agent.0.clone(),
        to: match &leg.target {
            LegTarget::Agent(a) => a.0.clone(),
            LegTarget::Service(_) => leg.target_label.clone(),
        },
        state: leg.phase,
        created_at: leg.created_at,
        outcomes: outcomes(leg)
            .into_iter()
            .map(|(integration_key, outcome)| OutcomeRecord {
                integration_key,
                outcome,
                bytes: leg.bytes,
                sha256: leg.sha256.clone(),
            })
            .collect(),
        reason: leg.reason.clone(),
    }
}
