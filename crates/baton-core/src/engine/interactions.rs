//! An interaction's life: created, offered and answered, chatted and held, left, completed.

use std::collections::BTreeSet;

use baton_protocol::frame::arg;
use baton_protocol::{ChatMessage, ErrorCode, MessageFrom, ServerFrame, events};

use crate::effect::{Effect, Recipient};
use crate::entity::*;

use super::{Core, CoreResult, Timer, err, next_seq};

impl Core {
    /// Refuses a new interaction when its service already has its maximum waiting.
    fn check_queue_room(&mut self, service: &ServiceId, name: &str) -> CoreResult<()> {
        let max = self.services[service]
            .max_queue_length
            .unwrap_or(self.config.limits.default_max_queue_length);
        if max == 0 {
            return Ok(());
        }
        // Timers fired before this command may have changed who waits.
        self.sync_routing();
        let waiting = self.queues.unanswered(service);
        if waiting >= max as usize {
            return Err(err(
                ErrorCode::RateLimited,
                format!(
                    "service {name:?} has its maximum of {max} customers waiting; try again later"
                ),
            ));
        }
        Ok(())
    }

    /// Adds an agent party and indexes it.
    pub(crate) fn add_party(&mut self, interaction: &InteractionId, party: AgentParty) {
        let agent = party.agent.clone();
        if party.state == PartyState::Ringing {
            self.log_offered(interaction, &party);
        }
        if party.state == PartyState::Ringing
            && let Some(at) = party.ring_expires_at
        {
            self.set_timer(
                at,
                Timer::Ring {
                    interaction: interaction.clone(),
                    agent: agent.clone(),
                },
            );
        }
        if let Some(i) = self.interactions.get_mut(interaction) {
            i.parties.retain(|p| p.agent != agent);
            i.parties.push(party);
        }
        self.agent_interactions
            .entry(agent.clone())
            .or_default()
            .insert(interaction.clone());
        self.touch_interaction(interaction);
        self.touch_agent(&agent);
    }

    /// Removes an agent's party, tells them, and moves them to after-call work when it was
    /// their last interaction.
    pub(crate) fn remove_party(
        &mut self,
        interaction: &InteractionId,
        agent: &AgentId,
    ) -> Option<AgentParty> {
        let i = self.interactions.get_mut(interaction)?;
        let index = i.parties.iter().position(|p| &p.agent == agent)?;
        let party = i.parties.remove(index);
        if party.state != PartyState::Ringing && !i.past_parties.contains(agent) {
            i.past_parties.push(agent.clone());
        }
        if let Some(set) = self.agent_interactions.get_mut(agent) {
            set.remove(interaction);
        }
        self.views.unannounce(interaction, agent);
        self.emit(
            agent,
            events::ON_INTERACTION_REMOVED,
            vec![arg(&interaction.0)],
        );
        let now = self.now;
        let left_empty = self
            .agent_interactions
            .get(agent)
            .is_none_or(BTreeSet::is_empty);
        let mut was_active = false;
        if let Some(a) = self.agents.get_mut(agent) {
            if a.active_interaction.as_ref() == Some(interaction) {
                a.active_interaction = None;
                was_active = true;
            }
            if left_empty {
                a.idle_since = now;
                if party.state != PartyState::Ringing
                    && a.chosen == ChosenState::Ready
                    && a.login.is_some()
                {
                    a.chosen = ChosenState::AfterCallWork;
                }
            }
        }
        if was_active {
            // Bright Pattern's `(interactionId | null)`: the host learns that nothing is active
            // any more, so it does not act on an interaction the agent has left.
            self.emit(
                agent,
                events::ON_ACTIVE_INTERACTION_SWITCHED,
                vec![arg(&None::<&str>)],
            );
        }
        self.touch_interaction(interaction);
        self.touch_agent(agent);
        Some(party)
    }

    pub(crate) fn agent_interaction_ids(&self, agent: &AgentId) -> Vec<InteractionId> {
        self.agent_interactions
            .get(agent)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Marks an interaction completed when nobody is left on it.
    pub(crate) fn complete_if_empty(&mut self, id: &InteractionId) {
        let now = self.now;
        let Some(i) = self.interactions.get_mut(id) else {
            return;
        };
        if i.parties.is_empty() && i.queue.is_none() && i.completed_at.is_none() {
            i.completed_at = Some(now);
            i.customer_connected = false;
            self.out.push(Effect::CloseCustomer {
                interaction: id.clone(),
            });
            self.touch_interaction(id);
            self.log_completed(id);
        }
    }

    pub(crate) fn set_active(&mut self, agent: &AgentId, id: &InteractionId) {
        let a = self.agents.get_mut(agent).expect("agent");
        if a.active_interaction.as_ref() != Some(id) {
            a.active_interaction = Some(id.clone());
            self.touch_agent(agent);
            self.emit(
                agent,
                events::ON_ACTIVE_INTERACTION_SWITCHED,
                vec![arg(&id.0)],
            );
            // Bright Pattern restores the CRM screen saved with `setInteractionActiveScreen`
            // when its interaction becomes active again.
            if let Some(screen) = self
                .interactions
                .get(id)
                .and_then(|i| i.active_screen.clone())
            {
                self.emit(
                    agent,
                    events::ON_SHOW_SCREEN,
                    vec![arg(&screen), arg(&id.0)],
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_interaction(
        &mut self,
        id: InteractionId,
        tenant: TenantId,
        channel: baton_protocol::Channel,
        service_name: &str,
        customer: baton_protocol::Customer,
        attached_data: serde_json::Map<String, serde_json::Value>,
        customer_token_hash: String,
    ) -> CoreResult {
        let service = self
            .service_by_name(&tenant, service_name)
            .ok_or_else(|| err(ErrorCode::NoService, format!("no service {service_name:?}")))?;
        if !service.channels.contains(&channel) {
            return Err(err(
                ErrorCode::NoService,
                format!("service {service_name:?} does not take {channel}"),
            ));
        }
        let service = service.id.clone();
        self.check_queue_room(&service, service_name)?;
        let wait = self.queue_wait(&service);
        let now = self.now;
        let interaction = Interaction {
            attached_data,
            customer_token_hash,
            queue: Some(QueueEntry {
                service: service.clone(),
                since: now,
                seq: next_seq(&mut self.queue_seq),
                leg: None,
            }),
            ..Interaction::new(
                id.clone(),
                tenant,
                channel,
                service,
                customer,
                baton_protocol::Direction::Inbound,
                now,
            )
        };
        self.interactions.insert(id.clone(), interaction);
        if let Some(wait) = wait {
            self.set_timer(
                now + wait,
                Timer::QueueWait {
                    interaction: id.clone(),
                },
            );
        }
        self.touch_interaction(&id);
        self.log_created(&id);
        Ok(serde_json::json!({"id": id}))
    }

    pub(super) fn accept(&mut self, id: &InteractionId, agent: &AgentId) -> CoreResult {
        self.log_accepted(id, agent);
        let i = self.interactions.get_mut(id).expect("picked");
        let party = i.party_mut(agent).expect("picked");
        party.state = PartyState::Connected;
        party.ring_expires_at = None;
        party.routed_from = None;
        party.reason = None;
        let via = party.via_leg.clone();
        let role = party.role;
        i.skipped.clear();
        if role == baton_protocol::PartyRole::Primary {
            i.customer_on_hold = false;
        }
        self.touch_interaction(id);
        self.touch_agent(agent);
        self.set_active(agent, id);
        if let Some(leg) = via {
            self.leg_accepted(&leg, agent);
        }
        Ok(serde_json::Value::Null)
    }

    pub(super) fn chat_from_agent(
        &mut self,
        id: &InteractionId,
        agent: &AgentId,
        text: String,
    ) -> CoreResult {
        if self.interactions[id].channel != baton_protocol::Channel::Chat {
            return Err(err(ErrorCode::NotSuitableState, "not a chat"));
        }
        self.config
            .limits
            .check_transcript(&self.interactions[id], &text)?;
        let name = self.agents[agent].display_name.clone();
        let message = self.chat_message(MessageFrom::Agent, Some(agent.0.clone()), name, text);
        self.post_message(id, message);
        Ok(serde_json::Value::Null)
    }

    pub(super) fn customer_message(&mut self, id: &InteractionId, text: String) -> CoreResult {
        let i = self.customer_interaction(id)?;
        self.config.limits.check_message(&text)?;
        self.config.limits.check_transcript(i, &text)?;
        let name = i.customer.name.clone();
        let message = self.chat_message(MessageFrom::Customer, Some("customer".into()), name, text);
        self.post_message(id, message);
        Ok(serde_json::Value::Null)
    }

    /// `addNote`: a new note by this agent, within the interaction's note limits.
    pub(super) fn add_note(
        &mut self,
        id: &InteractionId,
        agent: &AgentId,
        text: String,
    ) -> CoreResult {
        self.config.limits.check_note(&self.interactions[id])?;
        let now = self.now;
        let i = self.interactions.get_mut(id).expect("picked");
        i.notes.push(baton_protocol::Note {
            agent_id: agent.0.clone(),
            text,
            at: now,
        });
        self.touch_interaction(id);
        Ok(serde_json::Value::Null)
    }

    /// `getVariables`: the interaction's attached data, all of it or the keys asked for.
    pub(super) fn variables(
        &self,
        id: &InteractionId,
        keys: Option<Vec<String>>,
    ) -> serde_json::Value {
        let data = &self.interactions[id].attached_data;
        let out: serde_json::Map<String, serde_json::Value> = match keys {
            None => data.clone(),
            Some(keys) => keys
                .into_iter()
                .filter_map(|k| data.get(&k).cloned().map(|v| (k, v)))
                .collect(),
        };
        serde_json::Value::Object(out)
    }

    /// `setVariable`: one key of the attached data, within the interaction's data limits.
    pub(super) fn set_variable(
        &mut self,
        id: &InteractionId,
        key: String,
        value: serde_json::Value,
    ) -> CoreResult {
        self.config
            .limits
            .check_variable(&self.interactions[id], &key)?;
        let i = self.interactions.get_mut(id).expect("picked");
        i.attached_data.insert(key, value);
        self.touch_interaction(id);
        Ok(serde_json::Value::Null)
    }

    /// The interaction a customer acts on: still live, with the customer still there.
    pub(crate) fn customer_interaction(&self, id: &InteractionId) -> CoreResult<&Interaction> {
        let Some(i) = self.interactions.get(id) else {
            return Err(err(ErrorCode::NoInteraction, "the interaction has ended"));
        };
        if !i.customer_connected {
            return Err(err(ErrorCode::NotSuitableState, "the customer has left"));
        }
        Ok(i)
    }

    /// A text message posted now, without an attachment.
    fn chat_message(
        &self,
        from: MessageFrom,
        party_id: Option<String>,
        name: String,
        text: String,
    ) -> ChatMessage {
        ChatMessage {
            from,
            party_id,
            name,
            text,
            at: self.now,
            attachment: None,
        }
    }

    pub(crate) fn post_message(
        &mut self,
        id: &InteractionId,
        message: baton_protocol::ChatMessage,
    ) {
        self.interactions
            .get_mut(id)
            .expect("live")
            .messages
            .push(message.clone());
        self.mark_message(id);
        let i = &self.interactions[id];
        // Everyone who has answered, including agents wrapping up: "the customer left" is
        // posted after their parties went to wrap-up, and it is meant for them.
        let listeners: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| p.state != PartyState::Ringing)
            .map(|p| p.agent.clone())
            .collect();
        for agent in listeners {
            self.emit(
                &agent,
                events::ON_CHAT_MESSAGE,
                vec![arg(&id.0), arg(&message)],
            );
        }
        self.out.push(Effect::Send {
            to: Recipient::Customer(id.clone()),
            frame: ServerFrame::event("message", vec![arg(&self.customer_message_view(&message))]),
        });
    }

    pub(super) fn set_hold(
        &mut self,
        id: &InteractionId,
        agent: &AgentId,
        hold: bool,
    ) -> CoreResult {
        let i = &self.interactions[id];
        if i.channel != baton_protocol::Channel::Voice {
            return Err(err(ErrorCode::NotSuitableState, "only calls can be held"));
        }
        let consulting = i
            .parties
            .iter()
            .find(|p| p.role == baton_protocol::PartyRole::Consult)
            .map(|p| p.agent.clone());
        let consult_collecting = i
            .pending_leg
            .as_ref()
            .and_then(|l| self.legs.get(l))
            .is_some_and(|l| l.kind == baton_protocol::TransferKind::Consult);
        let party = i.party(agent).expect("picked");
        if !hold
            && party.state == PartyState::Hold
            && party.role == baton_protocol::PartyRole::Primary
        {
            // Retrieving the primary ends a consult that is still going, including one whose
            // data is still being collected (it would otherwise ring after the retrieve).
            if consult_collecting {
                self.fail_pending(id, "cancelled");
            }
            if let Some(consulted) = consulting {
                self.fail_pending(id, "cancelled");
                self.remove_party(id, &consulted);
            }
        }
        let i = self.interactions.get_mut(id).expect("picked");
        let party = i.party_mut(agent).expect("picked");
        party.state = if hold {
            PartyState::Hold
        } else {
            PartyState::Connected
        };
        i.customer_on_hold = hold;
        self.touch_interaction(id);
        Ok(serde_json::Value::Null)
    }

    pub(crate) fn leave(&mut self, id: &InteractionId, agent: &AgentId) -> CoreResult {
        let i = &self.interactions[id];
        if i.internal {
            self.end_internal_call(id);
            return Ok(serde_json::Value::Null);
        }
        let me = i.party(agent).expect("picked").clone();
        let others: Vec<AgentParty> = i
            .parties
            .iter()
            .filter(|p| &p.agent != agent && p.state != PartyState::Ringing)
            .cloned()
            .collect();
        if others.is_empty() {
            // The last agent leaves: the customer is released and the agent wraps up.
            let ringing: Vec<AgentId> = i
                .parties
                .iter()
                .filter(|p| &p.agent != agent)
                .map(|p| p.agent.clone())
                .collect();
            self.fail_pending(id, "cancelled");
            for r in ringing {
                self.remove_party(id, &r);
            }
            let i = self.interactions.get_mut(id).expect("picked");
            i.customer_connected = false;
            i.customer_on_hold = false;
            i.party_mut(agent).expect("picked").state = PartyState::WrapUp;
            self.out.push(Effect::CloseCustomer {
                interaction: id.clone(),
            });
            self.touch_interaction(id);
            self.touch_agent(agent);
            return Ok(serde_json::Value::Null);
        }
        if me.role == baton_protocol::PartyRole::Consult {
            self.remove_party(id, agent);
            return Ok(serde_json::Value::Null);
        }
        self.hand_to_heir(id, agent);
        self.remove_party(id, agent);
        Ok(serde_json::Value::Null)
    }

    /// When the primary agent goes (leaves or logs out) and others who answered stay, the
    /// first of them becomes primary and takes the customer off hold (chat invite-and-leave,
    /// conference leave, primary gone during a consultation).
    pub(super) fn hand_to_heir(&mut self, id: &InteractionId, leaving: &AgentId) {
        let Some(i) = self.interactions.get_mut(id) else {
            return;
        };
        if i.party(leaving)
            .is_none_or(|p| p.role != baton_protocol::PartyRole::Primary)
        {
            return;
        }
        let Some(p) = i.parties.iter_mut().find(|p| {
            &p.agent != leaving && matches!(p.state, PartyState::Connected | PartyState::Hold)
        }) else {
            return;
        };
        p.role = baton_protocol::PartyRole::Primary;
        if p.state == PartyState::Hold {
            p.state = PartyState::Connected;
        }
        i.customer_on_hold = false;
        self.touch_interaction(id);
    }

    pub(crate) fn complete(&mut self, id: &InteractionId, agent: &AgentId) -> CoreResult {
        self.check_disposition(id)?;
        if self.interactions[id]
            .party(agent)
            .is_some_and(|p| p.state != PartyState::WrapUp)
        {
            self.leave(id, agent)?;
        }
        if self.interactions[id].party(agent).is_some() {
            self.remove_party(id, agent);
        }
        self.complete_if_empty(id);
        Ok(serde_json::Value::Null)
    }

    pub(super) fn customer_hangup(&mut self, id: &InteractionId) -> CoreResult {
        self.customer_gone(id, "The customer left.")
    }

    /// The customer's side ends (they hung up, or waited too long): `text` is the system
    /// message the chat's parties and the customer see.
    pub(super) fn customer_gone(&mut self, id: &InteractionId, text: &str) -> CoreResult {
        let Some(i) = self.interactions.get_mut(id) else {
            return Err(err(ErrorCode::NoInteraction, "the interaction has ended"));
        };
        if !i.customer_connected {
            return Ok(serde_json::Value::Null);
        }
        i.customer_connected = false;
        i.customer_on_hold = false;
        i.queue = None;
        let parties: Vec<(AgentId, PartyState)> = i
            .parties
            .iter()
            .map(|p| (p.agent.clone(), p.state))
            .collect();
        self.touch_interaction(id);
        self.fail_pending(id, "customer_left");
        for (agent, state) in parties {
            if state == PartyState::Ringing {
                self.remove_party(id, &agent);
            } else if let Some(p) = self
                .interactions
                .get_mut(id)
                .and_then(|i| i.party_mut(&agent))
            {
                p.state = PartyState::WrapUp;
                self.touch_agent(&agent);
            }
        }
        let message = self.chat_message(MessageFrom::System, None, "Baton".into(), text.into());
        if self.interactions[id].channel == baton_protocol::Channel::Chat {
            self.post_message(id, message);
        }
        self.complete_if_empty(id);
        self.out.push(Effect::CloseCustomer {
            interaction: id.clone(),
        });
        Ok(serde_json::Value::Null)
    }
}
