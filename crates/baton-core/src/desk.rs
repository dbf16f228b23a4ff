//! What an agent (or their CRM) records on an interaction beyond chat and transfers:
//! dispositions, notes, the callback window, CRM records and the active screen; ending a
//! conference; leaving and completing in one step; the session's dial candidates.

use baton_protocol::frame::arg;
use baton_protocol::{
    AssociatedObject, Channel, ErrorCode, Note, PartyRole, RescheduleData, events,
};
use serde_json::Value;

use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

fn answered(p: &AgentParty) -> bool {
    p.state != PartyState::Ringing
}

fn on_call(p: &AgentParty) -> bool {
    matches!(p.state, PartyState::Connected | PartyState::Hold)
}

impl Core {
    /// A disposition of the interaction's service, by id, code or name.
    fn find_disposition(&self, id: &InteractionId, wanted: &str) -> CoreResult<ChosenDisposition> {
        let i = &self.interactions[id];
        self.services
            .get(&i.service)
            .filter(|s| s.dispositions.use_dispositions)
            .and_then(|s| {
                s.dispositions.list.iter().find(|d| {
                    d.id == wanted
                        || d.code.eq_ignore_ascii_case(wanted)
                        || d.name.eq_ignore_ascii_case(wanted)
                })
            })
            .map(|d| ChosenDisposition {
                id: d.id.clone(),
                name: d.name.clone(),
            })
            .ok_or_else(|| {
                err(
                    ErrorCode::ObjectNotFound,
                    format!("no disposition {wanted:?} in this interaction's service"),
                )
            })
    }

    /// Error 16 when the interaction's service requires a disposition and none is set.
    pub(crate) fn check_disposition(&self, id: &InteractionId) -> CoreResult<()> {
        let i = &self.interactions[id];
        let required = self
            .services
            .get(&i.service)
            .is_some_and(|s| s.dispositions.require_disposition);
        if required && i.disposition.is_none() {
            return Err(err(
                ErrorCode::NoDisposition,
                "this service requires a disposition: set one with setDisposition",
            ));
        }
        Ok(())
    }

    pub(crate) fn set_disposition(
        &mut self,
        agent: &AgentId,
        disposition: &str,
        id: Option<String>,
    ) -> CoreResult {
        let id = self.pick(agent, id, answered)?;
        let chosen = self.find_disposition(&id, disposition)?;
        self.interactions.get_mut(&id).expect("picked").disposition = Some(chosen);
        self.touch_interaction(&id);
        Ok(Value::Null)
    }

    /// `updateNote` (append) and `replaceNote`: this agent's latest note, made if missing.
    pub(crate) fn edit_note(
        &mut self,
        agent: &AgentId,
        text: String,
        id: Option<String>,
        replace: bool,
    ) -> CoreResult {
        let id = self.pick(agent, id, answered)?;
        let now = self.now;
        let max_chars = self.config.limits.max_note_chars;
        let i = self.interactions.get_mut(&id).expect("picked");
        let latest = i.notes.iter().rev().find(|n| n.agent_id == agent.0);
        if let Some(note) = latest.filter(|_| !replace)
            && note.text.chars().count() + text.chars().count() > max_chars
        {
            return Err(err(
                ErrorCode::InvalidArgs,
                format!("a note must be at most {max_chars} characters"),
            ));
        }
        match i.notes.iter_mut().rev().find(|n| n.agent_id == agent.0) {
            Some(note) if replace => note.text = text,
            Some(note) => note.text.push_str(&text),
            None => i.notes.push(Note {
                agent_id: agent.0.clone(),
                text,
                at: now,
            }),
        }
        if let Some(note) = i.notes.iter_mut().rev().find(|n| n.agent_id == agent.0) {
            note.at = now;
        }
        self.touch_interaction(&id);
        Ok(Value::Null)
    }

    pub(crate) fn set_reschedule(
        &mut self,
        agent: &AgentId,
        window: RescheduleData,
        id: Option<String>,
    ) -> CoreResult {
        if window.number_to_dial.trim().is_empty() {
            return Err(err(ErrorCode::EmptyNumber, "numberToDial is empty"));
        }
        let id = self.pick(agent, id, answered)?;
        self.interactions.get_mut(&id).expect("picked").reschedule = Some(window);
        self.touch_interaction(&id);
        Ok(Value::Null)
    }

    /// Appends a CRM record (or replaces the one with the same id and source) and selects it.
    pub(crate) fn add_associated_object(
        &mut self,
        agent: &AgentId,
        object: AssociatedObject,
        id: Option<String>,
    ) -> CoreResult {
        let id = self.pick(agent, id, |_| true)?;
        let source = self.agents[agent]
            .integration_key()
            .unwrap_or_default()
            .to_owned();
        self.attach_objects(&id, source, vec![object])?;
        Ok(Value::Null)
    }

    pub(crate) fn attach_objects(
        &mut self,
        id: &InteractionId,
        source: String,
        objects: Vec<AssociatedObject>,
    ) -> CoreResult<()> {
        let max = self.config.max_associated_objects;
        let i = self.interactions.get_mut(id).expect("live");
        for mut object in objects {
            if object.id.is_empty() {
                return Err(err(
                    ErrorCode::InvalidArgs,
                    "an associated object needs an id",
                ));
            }
            object.source = source.clone();
            let list = &mut i.associated_objects.list;
            match list
                .iter()
                .position(|o| o.id == object.id && o.source == object.source)
            {
                Some(at) => list[at] = object.clone(),
                None if list.len() >= max => {
                    return Err(err(
                        ErrorCode::PayloadTooLarge,
                        format!("an interaction holds at most {max} associated objects"),
                    ));
                }
                None => list.push(object.clone()),
            }
            if !i.associated_objects.selected.contains(&object.id) {
                i.associated_objects.selected.push(object.id);
            }
        }
        self.touch_interaction(id);
        Ok(())
    }

    /// Stores the screen and shows it to the other agents on the interaction.
    pub(crate) fn set_active_screen(
        &mut self,
        agent: &AgentId,
        screen: serde_json::Map<String, Value>,
        id: Option<String>,
    ) -> CoreResult {
        let id = self.pick(agent, id, |_| true)?;
        let i = self.interactions.get_mut(&id).expect("picked");
        i.active_screen = Some(screen.clone());
        let others: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| &p.agent != agent)
            .map(|p| p.agent.clone())
            .collect();
        self.touch_interaction(&id);
        let screen = Value::Object(screen);
        for other in others {
            self.emit(
                &other,
                events::ON_SHOW_SCREEN,
                vec![arg(&screen), arg(&id.0)],
            );
        }
        Ok(Value::Null)
    }

    pub(crate) fn set_dial_candidates(
        &mut self,
        agent: &AgentId,
        candidates: Vec<serde_json::Map<String, Value>>,
    ) -> CoreResult {
        if candidates
            .iter()
            .any(|c| !c.get("id").is_some_and(Value::is_string))
        {
            return Err(err(
                ErrorCode::InvalidArgs,
                "every dial candidate needs a string id",
            ));
        }
        let a = self.agents.get_mut(agent).expect("connected");
        if let Some(login) = a.login.as_mut() {
            login.dial_candidates = candidates;
        }
        self.touch_agent(agent);
        Ok(Value::Null)
    }

    /// `leaveAndCompleteInteraction`: disposition and note first (nothing changes if the
    /// disposition is unknown or one is required and missing), then leave when colleagues
    /// stay on it, else complete.
    pub(crate) fn leave_and_complete(
        &mut self,
        agent: &AgentId,
        disposition: Option<String>,
        note: Option<String>,
        id: Option<String>,
    ) -> CoreResult {
        let id = self.pick(agent, id, answered)?;
        let chosen = match disposition.filter(|d| !d.is_empty()) {
            Some(d) => Some(self.find_disposition(&id, &d)?),
            None => None,
        };
        let i = &self.interactions[&id];
        let me = i.party(agent).expect("picked");
        let others_stay = on_call(me) && i.parties.iter().any(|p| &p.agent != agent && on_call(p));
        if !others_stay && chosen.is_none() {
            self.check_disposition(&id)?;
        }
        let now = self.now;
        let i = self.interactions.get_mut(&id).expect("picked");
        if let Some(chosen) = chosen {
            i.disposition = Some(chosen);
        }
        if let Some(text) = note.filter(|n| !n.is_empty()) {
            i.notes.push(Note {
                agent_id: agent.0.clone(),
                text,
                at: now,
            });
        }
        self.touch_interaction(&id);
        if others_stay {
            self.leave(&id, agent)
        } else {
            self.complete(&id, agent)
        }
    }

    /// `destroyCallConference`: every other agent leaves; the caller keeps the customer.
    pub(crate) fn destroy_conference(&mut self, agent: &AgentId, id: Option<String>) -> CoreResult {
        let id = self.pick(agent, id, on_call)?;
        let i = &self.interactions[&id];
        if i.channel != Channel::Voice || i.internal {
            return Err(err(
                ErrorCode::NotSuitableState,
                "only a call with a customer has a conference",
            ));
        }
        let others: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| &p.agent != agent)
            .map(|p| p.agent.clone())
            .collect();
        if others.is_empty() {
            return Err(err(
                ErrorCode::NotSuitableState,
                "nobody else is on this call",
            ));
        }
        self.fail_pending(&id, "cancelled");
        for other in others {
            self.remove_party(&id, &other);
        }
        let i = self.interactions.get_mut(&id).expect("picked");
        let me = i.party_mut(agent).expect("picked");
        me.role = PartyRole::Primary;
        let held = me.state == PartyState::Hold;
        i.customer_on_hold = held;
        self.touch_interaction(&id);
        Ok(Value::Null)
    }
}
