//! Operations log lines: what happened to interactions and offers, for the people who run
//! Baton. Structured fields (tracing, target `baton::ops`), names rather than bare ids
//! where a person reads them; never message text, transfer-data content or tokens.

use crate::engine::Core;
use crate::entity::*;

impl Core {
    fn username(&self, agent: &AgentId) -> &str {
        self.agents.get(agent).map_or("?", |a| a.username.as_str())
    }

    fn service_label(&self, i: &Interaction) -> &str {
        self.services
            .get(&i.service)
            .map_or("?", |s| s.name.as_str())
    }

    pub(crate) fn log_created(&self, id: &InteractionId) {
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        tracing::info!(target: "baton::ops", event = "interaction_created", interaction = %id.0,
            tenant = %i.tenant.0, service = self.service_label(i), channel = %i.channel,
            "interaction created");
    }

    pub(crate) fn log_offered(&self, id: &InteractionId, party: &AgentParty) {
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        let via = match (&party.routed_from, &party.via_leg) {
            (Some(_), _) => "queue".to_owned(),
            // A failed blind transfer coming back rings with its reason (and may carry the
            // leg that first gave it to the sender, for replay).
            (None, _) if party.reason.is_some() => "return".to_owned(),
            (None, Some(leg)) => self.legs.get(leg).map_or("transfer".to_owned(), |l| {
                format!("{:?}", l.kind).to_lowercase()
            }),
            (None, None) => "return".to_owned(),
        };
        tracing::info!(target: "baton::ops", event = "offered", interaction = %id.0,
            tenant = %i.tenant.0, service = self.service_label(i), agent = self.username(&party.agent),
            via = %via, ring_ms = party.ring_expires_at.map(|t| t - self.now),
            "interaction offered");
    }

    pub(crate) fn log_accepted(&self, id: &InteractionId, agent: &AgentId) {
        tracing::info!(target: "baton::ops", event = "accepted", interaction = %id.0,
            agent = self.username(agent), "offer accepted");
    }

    /// An offer ended unanswered: `rejected`, `ring_timeout` (rung out) or `target_logged_out`.
    pub(crate) fn log_offer_ended(&self, id: &InteractionId, agent: &AgentId, reason: &str) {
        let event = match reason {
            "rejected" => "rejected",
            "ring_timeout" => "rung_out",
            _ => "offer_withdrawn",
        };
        tracing::info!(target: "baton::ops", event, interaction = %id.0,
            agent = self.username(agent), reason, "offer ended unanswered");
    }

    /// A hand-off changed phase: kind, phase, outcome and size, never the data.
    pub(crate) fn log_transfer(&self, leg: &Leg) {
        let outcome = leg.outcome().map(|o| o.as_str());
        tracing::info!(target: "baton::ops", event = "transfer", transfer = %leg.id.0,
            interaction = %leg.interaction.0, tenant = %leg.tenant.0,
            kind = leg.kind.as_str(), phase = leg.phase.as_str(),
            from = self.username(&leg.from_agent), to = %leg.target_label,
            outcome, bytes = leg.bytes, reason = leg.reason.as_deref(),
            "hand-off");
    }

    pub(crate) fn log_completed(&self, id: &InteractionId) {
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        tracing::info!(target: "baton::ops", event = "interaction_completed", interaction = %id.0,
            tenant = %i.tenant.0, service = self.service_label(i),
            duration_ms = self.now - i.created_at, messages = i.messages.len(),
            hand_offs = i.legs.len(), "interaction completed");
    }
}
