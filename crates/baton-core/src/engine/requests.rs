//! Agent requests: one `AdApi` method, dispatched to the concept that answers it.

use std::collections::BTreeSet;

use baton_protocol::{ErrorCode, Method};

use crate::entity::*;
use crate::handoff::Handoff;

use super::{Core, CoreResult, err};

impl Core {
    pub(super) fn request(&mut self, conn: u64, method: Method) -> CoreResult {
        let Some(agent) = self.agent_on(conn) else {
            return Err(err(
                ErrorCode::NotLoggedIn,
                "this connection is not logged in",
            ));
        };
        self.config.limits.check_method(&method)?;
        match method {
            Method::GetLoginState => {
                let a = &self.agents[&agent];
                Ok(
                    serde_json::json!({"loggedIn": a.login.is_some(), "agentId": a.id, "username": a.username}),
                )
            }
            Method::Logout => {
                self.log_out(&agent, "logout");
                Ok(serde_json::Value::Null)
            }
            Method::GetAgentState => {
                Ok(serde_json::to_value(self.agent_state(&self.agents[&agent])).expect("json"))
            }
            Method::SetAgentState { state, reason } => self.set_agent_state(&agent, &state, reason),
            Method::GetTeams => self.teams(&agent),
            Method::GetTeamMembers { team_id } => self.team_members(&agent, &team_id),
            Method::GetServicesList => {
                let list = self.services_of(&self.agents[&agent].tenant);
                Ok(serde_json::to_value(list).expect("json"))
            }
            Method::GetInteractionsState => Ok(self.interactions_state(&agent)),
            Method::AcceptInteraction { id } => {
                let id = self.pick_offer(&agent, id)?;
                self.accept(&id, &agent)
            }
            Method::RejectInteraction { id } => {
                let id = self.pick_offer(&agent, id)?;
                self.offer_failed(&id, &agent, "rejected");
                Ok(serde_json::Value::Null)
            }
            Method::SwitchActiveInteraction { id } => {
                let id = self.pick(&agent, Some(id), |_| true)?;
                self.set_active(&agent, &id);
                Ok(serde_json::Value::Null)
            }
            Method::SendChatMessage { text, id } => {
                let id = self.pick(&agent, id, |p| p.state == PartyState::Connected)?;
                self.chat_from_agent(&id, &agent, text)
            }
            Method::SetTyping { typing, id } => {
                let id = self.pick(&agent, id, |p| p.state == PartyState::Connected)?;
                self.agent_typing(&id, &agent, typing)
            }
            Method::SetCallHold { hold, id } => {
                let id = self.pick(&agent, id, |p| {
                    matches!(p.state, PartyState::Connected | PartyState::Hold)
                })?;
                self.set_hold(&id, &agent, hold)
            }
            Method::LeaveInteraction { id } => {
                let id = self.pick(&agent, id, |p| {
                    matches!(p.state, PartyState::Connected | PartyState::Hold)
                })?;
                self.leave(&id, &agent)
            }
            Method::CompleteInteraction { id } => {
                let id = self.pick(&agent, id, |p| p.state != PartyState::Ringing)?;
                self.complete(&id, &agent)
            }
            Method::AddNote { text, id } => {
                let id = self.pick(&agent, id, |p| p.state != PartyState::Ringing)?;
                self.add_note(&id, &agent, text)
            }
            Method::GetVariables { keys, id } => {
                let id = self.pick(&agent, id, |_| true)?;
                Ok(self.variables(&id, keys))
            }
            Method::SetVariable { key, value, id } => {
                let id = self.pick(&agent, id, |p| p.state != PartyState::Ringing)?;
                self.set_variable(&id, key, value)
            }
            Method::GetTransferHistory { id } => {
                let id = self.pick(&agent, id, |_| true)?;
                Ok(serde_json::to_value(self.transfer_history(&id)).expect("json"))
            }
            Method::BlindTransfer { target, data, id } => {
                self.handoff(&agent, Handoff::Blind { target, data, id })
            }
            Method::ConsultCall { target } => self.handoff(&agent, Handoff::Consult { target }),
            Method::Transfer { data } => self.handoff(&agent, Handoff::Transfer { data }),
            Method::InviteToCallConference { target, data, id } => {
                self.handoff(&agent, Handoff::Conference { target, data, id })
            }
            Method::MergeAllCallsIntoConference { data } => {
                self.handoff(&agent, Handoff::Merge { data })
            }
            Method::RemoveFromCallConference { party_id, id } => {
                self.handoff(&agent, Handoff::RemoveFromCall { party_id, id })
            }
            Method::InviteToChatConference { agent_id, id } => {
                self.handoff(&agent, Handoff::ChatInvite { agent_id, id })
            }
            Method::RemoveFromChatConference { party_id, id } => {
                self.handoff(&agent, Handoff::RemoveFromChat { party_id, id })
            }
            Method::GetAgentNotReadyReasons => self.not_ready_reasons(&agent),
            Method::GetService => self.get_service(&agent),
            Method::SetService { service } => self.set_service(&agent, service),
            Method::GetDidNumbersList => self.did_numbers(&agent),
            Method::GetDidNumber => self.get_did(&agent),
            Method::SetDidNumber { did } => self.set_did(&agent, did),
            Method::GetDispositionsList { target } => self.dispositions_list(&agent, target),
            Method::SetDisposition { disposition, id } => {
                self.set_disposition(&agent, &disposition, id)
            }
            Method::LeaveAndCompleteInteraction {
                disposition,
                note,
                id,
            } => self.leave_and_complete(&agent, disposition, note, id),
            Method::DestroyCallConference { id } => self.destroy_conference(&agent, id),
            Method::UpdateNote { text, id } => self.edit_note(&agent, text, id, false),
            Method::ReplaceNote { text, id } => self.edit_note(&agent, text, id, true),
            Method::SetRescheduleWindow { window, id } => self.set_reschedule(&agent, window, id),
            Method::SetDialCandidates { candidates } => {
                self.set_dial_candidates(&agent, candidates)
            }
            Method::GetConfig => self.get_config(&agent),
            Method::AddInteractionAssociatedObject { object, id } => {
                self.add_associated_object(&agent, object, id)
            }
            Method::SetInteractionActiveScreen { screen, id } => {
                self.set_active_screen(&agent, screen, id)
            }
            Method::StartCall { phone, objects } => self.start_call(&agent, phone, objects),
            Method::StartChat {
                channel,
                address,
                objects,
            } => self.start_chat(&agent, channel, address, objects),
            Method::StartEmail { .. } => self.start_email(),
        }
    }

    /// The offer `acceptInteraction` and `rejectInteraction` take: without an id, Bright Pattern's "current
    /// interaction" is the active one if it rings, else the offer that has rung longest (not
    /// an error when several ring); otherwise as `pick`.
    fn pick_offer(&self, agent: &AgentId, id: Option<String>) -> CoreResult<InteractionId> {
        let ringing = |p: &AgentParty| p.state == PartyState::Ringing;
        let ringing_party = |i: &InteractionId| {
            self.interactions
                .get(i)
                .and_then(|x| x.party(agent))
                .filter(|p| ringing(p))
        };
        let active_rings = self.agents[agent]
            .active_interaction
            .as_ref()
            .is_some_and(|a| ringing_party(a).is_some());
        if id.is_none() && !active_rings {
            let oldest = self
                .agent_interaction_ids(agent)
                .into_iter()
                .filter_map(|i| ringing_party(&i).map(|p| (p.joined_at, i.clone())))
                .min();
            if let Some((_, oldest)) = oldest {
                return Ok(oldest);
            }
        }
        self.pick(agent, id, ringing)
    }

    /// Resolves the interaction a method acts on: the given id (which must be the agent's),
    /// else the active one if it fits, else the only one that fits.
    pub(crate) fn pick(
        &self,
        agent: &AgentId,
        id: Option<String>,
        fits: impl Fn(&AgentParty) -> bool,
    ) -> CoreResult<InteractionId> {
        if let Some(id) = id {
            let id = InteractionId(id);
            let party = self.interactions.get(&id).and_then(|i| i.party(agent));
            return match party {
                None => Err(err(
                    ErrorCode::NoInteraction,
                    "no such interaction for this agent",
                )),
                Some(p) if !fits(p) => Err(err(
                    ErrorCode::NotSuitableState,
                    "the interaction is not in a suitable state",
                )),
                Some(_) => Ok(id),
            };
        }
        let fitting: Vec<InteractionId> = self
            .agent_interaction_ids(agent)
            .into_iter()
            .filter(|id| self.interactions[id].party(agent).is_some_and(&fits))
            .collect();
        if let Some(active) = &self.agents[agent].active_interaction
            && fitting.contains(active)
        {
            return Ok(active.clone());
        }
        match fitting.as_slice() {
            [only] => Ok(only.clone()),
            [] if self
                .agent_interactions
                .get(agent)
                .is_none_or(BTreeSet::is_empty) =>
            {
                Err(err(
                    ErrorCode::NoInteraction,
                    "the agent has no interaction",
                ))
            }
            [] => Err(err(
                ErrorCode::NotSuitableState,
                "no interaction in a suitable state",
            )),
            _ => Err(err(
                ErrorCode::InvalidArgs,
                "several interactions fit: give the interaction id",
            )),
        }
    }
}
