//! What an apply changed, for the store: the records to commit in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use baton_protocol::TransferData;

use crate::entity::*;

use super::Core;

/// The records changed since the last [`Core::take_changes`], to be committed in one transaction.
#[derive(Debug, Default)]
pub struct Changes {
    pub tenants: Vec<Tenant>,
    pub services: Vec<Service>,
    pub integrations: Vec<Integration>,
    pub agents: Vec<Agent>,
    pub interactions: Vec<Interaction>,
    pub legs: Vec<Leg>,
    /// Transfer data, written once with its leg.
    pub leg_data: Vec<(TransferId, InteractionId, TransferData)>,
    /// Chat messages posted since the last commit, each appended as a row of its own. The
    /// interactions above carry no transcript (decision 0016).
    pub messages: Vec<AppendedMessage>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
            && self.services.is_empty()
            && self.integrations.is_empty()
            && self.agents.is_empty()
            && self.interactions.is_empty()
            && self.legs.is_empty()
            && self.leg_data.is_empty()
            && self.messages.is_empty()
    }
}

/// The keys of the records an apply changed since the last [`Core::take_changes`]; the
/// records themselves are read when the changes are taken, so a record changed twice is
/// written once, as it is then.
#[derive(Default)]
pub(crate) struct ChangeSet {
    tenants: BTreeSet<TenantId>,
    services: BTreeSet<ServiceId>,
    integrations: BTreeSet<(TenantId, String)>,
    agents: BTreeSet<AgentId>,
    interactions: BTreeSet<InteractionId>,
    legs: BTreeSet<TransferId>,
    leg_data: BTreeSet<TransferId>,
    /// Per interaction, the index of its first message not yet committed.
    messages: BTreeMap<InteractionId, usize>,
}

impl ChangeSet {
    /// Marks an interaction's messages from index `first` on as new (the first mark of an
    /// interaction since the last commit wins).
    fn messages_from(&mut self, id: &InteractionId, first: usize) {
        self.messages.entry(id.clone()).or_insert(first);
    }
}

impl Core {
    /// The records changed since the last call. Completed interactions (and their legs)
    /// leave memory here: the store keeps their history.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.changes);
        let mut changes = Changes {
            tenants: dirty
                .tenants
                .iter()
                .filter_map(|id| self.tenants.get(id).cloned())
                .collect(),
            services: dirty
                .services
                .iter()
                .filter_map(|id| self.services.get(id).cloned())
                .collect(),
            integrations: dirty
                .integrations
                .iter()
                .filter_map(|k| self.integrations.get(k).cloned())
                .collect(),
            agents: dirty
                .agents
                .iter()
                .filter_map(|id| self.agents.get(id).cloned())
                .collect(),
            interactions: Vec::new(),
            legs: dirty
                .legs
                .iter()
                .filter_map(|id| self.legs.get(id).cloned())
                .collect(),
            leg_data: dirty
                .leg_data
                .iter()
                .filter_map(|id| {
                    let leg = self.legs.get(id)?;
                    Some((leg.id.clone(), leg.interaction.clone(), leg.data.clone()?))
                })
                .collect(),
            messages: Vec::new(),
        };
        // Before the interactions: a completed one leaves memory below.
        for (id, first) in &dirty.messages {
            let Some(i) = self.interactions.get(id) else {
                continue;
            };
            changes
                .messages
                .extend(i.messages.iter().enumerate().skip(*first).map(|(seq, m)| {
                    AppendedMessage {
                        interaction: id.clone(),
                        seq: seq as u64,
                        message: m.clone(),
                    }
                }));
        }
        for id in &dirty.interactions {
            let Some(i) = self.interactions.get_mut(id) else {
                continue;
            };
            i.version += 1;
            // The record without its transcript: the messages are rows of their own.
            let transcript = std::mem::take(&mut i.messages);
            changes.interactions.push(i.clone());
            i.messages = transcript;
            if i.completed_at.is_some() {
                let i = self.interactions.remove(id).expect("present");
                for leg in &i.legs {
                    self.legs.remove(leg);
                }
                self.views.forget_interaction(id);
            }
        }
        changes
    }

    pub(crate) fn touch_interaction(&mut self, id: &InteractionId) {
        self.changes.interactions.insert(id.clone());
        self.views.touch_interaction(id);
        self.queues.pending_interactions.insert(id.clone());
    }

    /// Marks an interaction for the next commit without showing it to its parties again
    /// (a change no view carries, like a DTMF log entry).
    pub(crate) fn mark_interaction(&mut self, id: &InteractionId) {
        self.changes.interactions.insert(id.clone());
    }

    /// Marks an agent for the store only: for changes neither routing nor views see.
    pub(crate) fn mark_agent(&mut self, id: &AgentId) {
        self.changes.agents.insert(id.clone());
    }

    /// Marks a chat message just appended to an interaction's transcript: it is committed
    /// as a row of its own, not with the interaction record.
    pub(crate) fn mark_message(&mut self, id: &InteractionId) {
        let Some(first) = self.interactions.get(id).map(|i| i.messages.len() - 1) else {
            return;
        };
        self.changes.messages_from(id, first);
    }

    pub(crate) fn touch_agent(&mut self, id: &AgentId) {
        self.changes.agents.insert(id.clone());
        self.views.touch_agent(id);
        self.queues.pending_agents.insert(id.clone());
    }

    pub(crate) fn mark_tenant(&mut self, id: &TenantId) {
        self.changes.tenants.insert(id.clone());
    }

    pub(crate) fn mark_service(&mut self, id: &ServiceId) {
        self.changes.services.insert(id.clone());
    }

    pub(crate) fn mark_integration(&mut self, key: &(TenantId, String)) {
        self.changes.integrations.insert(key.clone());
    }

    pub(crate) fn touch_leg(&mut self, id: &TransferId) {
        self.changes.legs.insert(id.clone());
    }

    pub(crate) fn touch_leg_data(&mut self, id: &TransferId) {
        self.changes.leg_data.insert(id.clone());
        self.changes.legs.insert(id.clone());
    }
}
