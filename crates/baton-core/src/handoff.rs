//! Hand-offs and their transfer data (DESIGN.md, "Transfer data: the rules").
//!
//! A hand-off creates a [`Leg`]. Its data comes from the method's `customTransferData`
//! (used as is) or from the sender's host via `ON_REQUEST_TRANSFER_DATA`, answered before
//! the tenant's deadline or not at all. Only then is the target offered the interaction,
//! and the leg, its data and the offer are in the same change set, so one transaction.

use baton_protocol::frame::arg;
use baton_protocol::{
    Channel, ErrorCode, LoadTransferMeta, Outcome, PartyRole, RequestTransferMeta, ServerFrame,
    TransferData, TransferDataError, TransferKind, TransferPhase, events,
};

use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

const SERVICE_PREFIX: &str = "service:";

/// The `error` the server puts in a `Command::Reply` whose frame was over the frame limit,
/// so the leg is recorded as `too_large` at once instead of `timeout` at the deadline.
pub const REPLY_TOO_LARGE: &str = "too_large";

/// Where a hand-off goes, resolved and checked.
enum Resolved {
    Agent(AgentId),
    Service(ServiceId),
    /// Transfer and merge act on the agent already consulted.
    Consulted(AgentId),
}

/// The hand-off methods, as `Core::request` passes them on: only these reach [`Core::handoff`].
pub(crate) enum Handoff {
    Blind {
        target: String,
        data: Option<String>,
        id: Option<String>,
    },
    Consult {
        target: String,
    },
    Transfer {
        data: Option<String>,
    },
    Conference {
        target: String,
        data: Option<String>,
        id: Option<String>,
    },
    Merge {
        data: Option<String>,
    },
    ChatInvite {
        agent_id: String,
        id: Option<String>,
    },
    RemoveFromCall {
        party_id: String,
        id: Option<String>,
    },
    RemoveFromChat {
        party_id: String,
        id: Option<String>,
    },
}

impl Core {
    pub(crate) fn handoff(&mut self, agent: &AgentId, method: Handoff) -> CoreResult {
        let connected =
            |p: &AgentParty| matches!(p.state, PartyState::Connected | PartyState::Hold);
        let (kind, target, data, id) = match method {
            Handoff::Blind { target, data, id } => {
                let kind = if target.starts_with(SERVICE_PREFIX) {
                    TransferKind::Queue
                } else {
                    TransferKind::Blind
                };
                (kind, Some(target), data, self.pick(agent, id, connected)?)
            }
            Handoff::Consult { target } => (
                TransferKind::Consult,
                Some(target),
                None,
                self.pick(agent, None, |p| p.state == PartyState::Connected)?,
            ),
            Handoff::Transfer { data } => {
                (TransferKind::Transfer, None, data, self.consulting(agent)?)
            }
            Handoff::Conference { target, data, id } => (
                TransferKind::Conference,
                Some(target),
                data,
                self.pick(agent, id, connected)?,
            ),
            Handoff::Merge { data } => (TransferKind::Merge, None, data, self.consulting(agent)?),
            Handoff::ChatInvite { agent_id, id } => (
                TransferKind::ChatInvite,
                Some(agent_id),
                None,
                self.pick(agent, id, connected)?,
            ),
            Handoff::RemoveFromCall { party_id, id } => {
                let id = self.pick(agent, id, connected)?;
                return self.remove_from_conference(&id, agent, &party_id, Channel::Voice);
            }
            Handoff::RemoveFromChat { party_id, id } => {
                let id = self.pick(agent, id, connected)?;
                return self.remove_from_conference(&id, agent, &party_id, Channel::Chat);
            }
        };
        self.start_handoff(agent, &id, kind, target, data)
    }

    /// The interaction on which this agent holds the customer while consulting someone.
    fn consulting(&self, agent: &AgentId) -> CoreResult<InteractionId> {
        self.agent_interaction_ids(agent)
            .into_iter()
            .find(|id| {
                let i = &self.interactions[id];
                i.party(agent)
                    .is_some_and(|p| p.role == PartyRole::Primary && p.state == PartyState::Hold)
                    && i.parties
                        .iter()
                        .any(|p| p.role == PartyRole::Consult && p.state == PartyState::Connected)
            })
            .ok_or_else(|| {
                err(
                    ErrorCode::NotSuitableState,
                    "no connected consultation to complete",
                )
            })
    }

    fn start_handoff(
        &mut self,
        sender: &AgentId,
        id: &InteractionId,
        kind: TransferKind,
        target: Option<String>,
        data: Option<String>,
    ) -> CoreResult {
        let i = &self.interactions[id];
        if i.internal {
            return Err(err(
                ErrorCode::NotSuitableState,
                "a call between agents cannot be handed off",
            ));
        }
        if i.pending_leg.is_some() {
            return Err(err(
                ErrorCode::NotSuitableState,
                "another hand-off of this interaction is in progress",
            ));
        }
        if !i.customer_connected {
            return Err(err(ErrorCode::NotSuitableState, "the customer has left"));
        }
        // One offer at a time: while the interaction rings for someone (say, back to a
        // blind transfer's sender), a second hand-off would ring a second agent at once.
        if i.parties.iter().any(|p| p.state == PartyState::Ringing) {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the interaction is being offered to an agent",
            ));
        }
        let me = i.party(sender).expect("picked").clone();
        let channel = i.channel;
        match kind {
            TransferKind::Consult
            | TransferKind::Conference
            | TransferKind::Transfer
            | TransferKind::Merge
                if channel != Channel::Voice =>
            {
                return Err(err(
                    ErrorCode::NotSuitableState,
                    "this hand-off is for calls",
                ));
            }
            TransferKind::ChatInvite if channel != Channel::Chat => {
                return Err(err(
                    ErrorCode::NotSuitableState,
                    "chat invitations are for chats",
                ));
            }
            // The consulted agent helps the primary, who still holds the customer; passing
            // the customer on from there would leave two primaries.
            TransferKind::Blind | TransferKind::Queue if me.role == PartyRole::Consult => {
                return Err(err(
                    ErrorCode::NotSuitableState,
                    "a consulted agent cannot transfer the customer",
                ));
            }
            TransferKind::Consult if me.role != PartyRole::Primary => {
                return Err(err(
                    ErrorCode::NotSuitableState,
                    "only the primary agent can consult",
                ));
            }
            // A queued interaction has no agent, so colleagues on it would be dropped.
            TransferKind::Queue if i.parties.len() > 1 => {
                return Err(err(
                    ErrorCode::NotSuitableState,
                    "other agents are on this interaction",
                ));
            }
            TransferKind::Consult if i.parties.iter().any(|p| p.role == PartyRole::Consult) => {
                return Err(err(
                    ErrorCode::NotSuitableState,
                    "a consultation is already going on",
                ));
            }
            _ => {}
        }
        let resolved = match (kind, target.as_deref()) {
            (TransferKind::Transfer | TransferKind::Merge, _) => {
                let consulted = i
                    .parties
                    .iter()
                    .find(|p| p.role == PartyRole::Consult)
                    .expect("consulting");
                Resolved::Consulted(consulted.agent.clone())
            }
            (TransferKind::Queue, Some(t)) => {
                let name = &t[SERVICE_PREFIX.len()..];
                let service = self.require_service_named(&i.tenant, name)?;
                if !service.channels.contains(&channel) {
                    return Err(err(
                        ErrorCode::NoService,
                        format!("service {name:?} does not take {channel}"),
                    ));
                }
                Resolved::Service(service.id.clone())
            }
            (_, Some(t)) => {
                let target = self.resolve_agent(&i.tenant, t)?;
                self.check_agent_target(sender, id, &target, channel)?;
                Resolved::Agent(target)
            }
            (_, None) => return Err(err(ErrorCode::InvalidArgs, "a target is required")),
        };
        let settings = self.settings(&i.tenant);
        let explicit = match data {
            None => None,
            Some(text) => Some(
                TransferData::parse(&text, settings.transfer_data_max_bytes).map_err(
                    |e| match e {
                        TransferDataError::TooLarge { .. } => {
                            err(ErrorCode::PayloadTooLarge, e.to_string())
                        }
                        TransferDataError::Invalid(_) => err(ErrorCode::InvalidArgs, e.to_string()),
                    },
                )?,
            ),
        };

        // Accepted: create the leg.
        let now = self.now;
        let sender_agent = &self.agents[sender];
        let integration_key = sender_agent.integration_key().map(str::to_owned);
        let ask_host =
            explicit.is_none() && integration_key.is_some() && sender_agent.is_connected();
        let leg_id = TransferId(format!("{}-t{}", id, self.interactions[id].legs.len() + 1));
        let (leg_target, target_label) = match &resolved {
            Resolved::Agent(a) | Resolved::Consulted(a) => {
                (LegTarget::Agent(a.clone()), self.agents[a].username.clone())
            }
            Resolved::Service(s) => (
                LegTarget::Service(s.clone()),
                target.clone().unwrap_or_default(),
            ),
        };
        let leg = Leg {
            id: leg_id.clone(),
            interaction: id.clone(),
            tenant: self.interactions[id].tenant.clone(),
            kind,
            from_agent: sender.clone(),
            from_name: sender_agent.display_name.clone(),
            target: leg_target,
            target_label,
            phase: TransferPhase::Collecting,
            reason: None,
            created_at: now,
            collect_deadline: ask_host.then_some(now + settings.transfer_data_timeout_ms as i64),
            integration_key,
            collected: None,
            bytes: 0,
            sha256: None,
            receipts: Vec::new(),
            data: None,
        };
        self.legs.insert(leg_id.clone(), leg);
        let i = self.interactions.get_mut(id).expect("picked");
        i.legs.push(leg_id.clone());
        i.pending_leg = Some(leg_id.clone());
        if kind == TransferKind::Consult {
            // The customer waits on hold while the agent consults.
            i.party_mut(sender).expect("picked").state = PartyState::Hold;
            i.customer_on_hold = true;
        }
        self.touch_interaction(id);
        self.touch_leg(&leg_id);

        if let Some(data) = explicit {
            self.finish_collection(&leg_id, Outcome::Provided, Some(data));
        } else if ask_host {
            let deadline = now + settings.transfer_data_timeout_ms as i64;
            self.set_timer(
                deadline,
                crate::engine::Timer::Collect {
                    leg: leg_id.clone(),
                },
            );
            let meta = RequestTransferMeta {
                transfer_id: leg_id.0.clone(),
                kind,
                target: self.legs[&leg_id].target_label.clone(),
            };
            self.send_agent(
                sender,
                ServerFrame::Event {
                    event: events::ON_REQUEST_TRANSFER_DATA.into(),
                    args: vec![arg(&id.0), arg(&meta)],
                    rid: Some(leg_id.0.clone()),
                },
            );
            self.send_status(&leg_id);
        } else {
            self.finish_collection(&leg_id, Outcome::NoData, None);
        }
        Ok(serde_json::json!({"transferId": leg_id}))
    }

    /// Finds an agent of the tenant by id, username or extension (the lowest id should
    /// one target name several).
    fn resolve_agent(&self, tenant: &TenantId, target: &str) -> CoreResult<AgentId> {
        let by_id = self
            .agents
            .get_key_value(&AgentId(target.to_owned()))
            .filter(|(_, a)| &a.tenant == tenant)
            .map(|(id, _)| id);
        [
            by_id,
            self.names.by_username(tenant, target),
            self.names.by_extension(tenant, target),
        ]
        .into_iter()
        .flatten()
        .min()
        .cloned()
        .ok_or_else(|| {
            err(
                ErrorCode::ObjectNotFound,
                format!("no agent or extension {target:?}"),
            )
        })
    }

    fn check_agent_target(
        &self,
        sender: &AgentId,
        id: &InteractionId,
        target: &AgentId,
        channel: Channel,
    ) -> CoreResult<()> {
        if target == sender {
            return Err(err(
                ErrorCode::SelfCall,
                "cannot hand an interaction to yourself",
            ));
        }
        if !self.agents[target].is_logged_in() {
            return Err(err(
                ErrorCode::DestinationUserNotLogged,
                "the target agent is not logged in",
            ));
        }
        if self.interactions[id].party(target).is_some() {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the target is already on this interaction",
            ));
        }
        if !self.has_capacity(target, channel) {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the target agent has no capacity for this interaction",
            ));
        }
        Ok(())
    }

    /// A `{"reply":rid,…}` frame: either the sender's data or a receiver's acknowledgement.
    /// An `error` of [`REPLY_TOO_LARGE`] records the answer as `too_large`.
    pub(crate) fn reply(
        &mut self,
        conn: u64,
        rid: &str,
        value: Option<String>,
        error: Option<String>,
    ) {
        let Some(agent) = self.agent_on(conn) else {
            return;
        };
        if let Some((leg, receiver)) = rid.split_once('|') {
            if receiver == agent.0 {
                self.acknowledge(&TransferId(leg.to_owned()), &agent);
            }
            return;
        }
        let leg_id = TransferId(rid.to_owned());
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        if leg.from_agent != agent || leg.collected.is_some() {
            return;
        }
        let max = self.settings(&leg.tenant).transfer_data_max_bytes;
        let (outcome, data) = match (value, error) {
            (_, Some(e)) if e.starts_with("invalid") => (Outcome::Invalid, None),
            // The server's mark for an answer too large to read (see `REPLY_TOO_LARGE`).
            (_, Some(e)) if e == REPLY_TOO_LARGE => (Outcome::TooLarge, None),
            (_, Some(_)) => (Outcome::Error, None),
            (None, None) => (Outcome::NoData, None),
            (Some(text), None) => match TransferData::parse(&text, max) {
                Ok(data) => (Outcome::Provided, Some(data)),
                Err(TransferDataError::TooLarge { .. }) => (Outcome::TooLarge, None),
                Err(TransferDataError::Invalid(_)) => (Outcome::Invalid, None),
            },
        };
        self.finish_collection(&leg_id, outcome, data);
    }

    /// Collection is over (answer, time-out or explicit data): record it and make the offer.
    pub(crate) fn finish_collection(
        &mut self,
        leg_id: &TransferId,
        outcome: Outcome,
        data: Option<TransferData>,
    ) {
        let leg = self.legs.get_mut(leg_id).expect("leg");
        leg.collected = Some(outcome);
        leg.collect_deadline = None;
        if let Some(data) = &data {
            leg.bytes = data.len();
            leg.sha256 = Some(data.digest(&self.config.digest_key));
        }
        let has_data = data.is_some();
        leg.data = data;
        let failed = leg.phase == TransferPhase::Failed;
        if has_data {
            self.touch_leg_data(leg_id);
        } else {
            self.touch_leg(leg_id);
        }
        // A leg cancelled while collecting (consult retrieved, customer gone) offers nothing.
        if !failed {
            self.proceed(leg_id);
        }
    }

    /// Makes the offer a leg was collecting data for, if it still makes sense.
    fn proceed(&mut self, leg_id: &TransferId) {
        let leg = self.legs[leg_id].clone();
        let id = &leg.interaction;
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        let sender_ok = i.customer_connected
            && i.party(&leg.from_agent)
                .is_some_and(|p| matches!(p.state, PartyState::Connected | PartyState::Hold));
        if !sender_ok {
            return self.leg_failed(leg_id, "sender_left", false);
        }
        if let LegTarget::Agent(target) = &leg.target
            && !matches!(leg.kind, TransferKind::Transfer | TransferKind::Merge)
        {
            if !self.agents[target].is_logged_in() {
                return self.leg_failed(leg_id, "target_logged_out", false);
            }
            if !self.has_capacity(target, i.channel) {
                return self.leg_failed(leg_id, "target_busy", false);
            }
        }
        // The consulted agent may have hung up while the sender's host was collecting.
        if let LegTarget::Agent(target) = &leg.target
            && matches!(leg.kind, TransferKind::Transfer | TransferKind::Merge)
            && !i
                .party(target)
                .is_some_and(|p| p.role == PartyRole::Consult && p.state == PartyState::Connected)
        {
            return self.leg_failed(leg_id, "target_left", false);
        }
        // Still alone? Nobody joins while a leg is pending, but be sure: see `start_handoff`.
        if leg.kind == TransferKind::Queue && i.parties.len() > 1 {
            return self.leg_failed(leg_id, "not_alone", false);
        }
        let now = self.now;
        let ring_expires_at = Some(now + self.ring_timeout(&i.service));
        let ringing = |agent: &AgentId, role| AgentParty {
            agent: agent.clone(),
            role,
            state: PartyState::Ringing,
            joined_at: now,
            via_leg: Some(leg_id.clone()),
            reason: None,
            ring_expires_at,
            routed_from: None,
        };
        match (&leg.kind, &leg.target) {
            (TransferKind::Blind, LegTarget::Agent(target)) => {
                self.remove_party(id, &leg.from_agent);
                self.offer_to(id, ringing(target, PartyRole::Primary), leg_id);
            }
            (TransferKind::Consult, LegTarget::Agent(target)) => {
                self.offer_to(id, ringing(target, PartyRole::Consult), leg_id);
            }
            (TransferKind::Conference | TransferKind::ChatInvite, LegTarget::Agent(target)) => {
                self.offer_to(id, ringing(target, PartyRole::Conference), leg_id);
            }
            (TransferKind::Queue, LegTarget::Service(service)) => {
                self.remove_party(id, &leg.from_agent);
                let i = self.interactions.get_mut(id).expect("live");
                i.queue = Some(QueueEntry {
                    service: service.clone(),
                    since: now,
                    seq: crate::engine::next_seq(&mut self.queue_seq),
                    leg: Some(leg_id.clone()),
                });
                // It now belongs to that service: its name, ring time-out and the queue it
                // returns to if its next agent logs out.
                i.service = service.clone();
                i.skipped.clear();
                self.touch_interaction(id);
                self.set_phase(leg_id, TransferPhase::Offered);
            }
            (TransferKind::Transfer | TransferKind::Merge, LegTarget::Agent(target)) => {
                let merge = leg.kind == TransferKind::Merge;
                let i = self.interactions.get_mut(id).expect("live");
                i.customer_on_hold = false;
                let p = i.party_mut(target).expect("consulted");
                p.role = if merge {
                    PartyRole::Conference
                } else {
                    PartyRole::Primary
                };
                p.via_leg = Some(leg_id.clone());
                if merge {
                    i.party_mut(&leg.from_agent).expect("sender").state = PartyState::Connected;
                } else {
                    i.party_mut(target).expect("consulted").role = PartyRole::Primary;
                }
                self.touch_interaction(id);
                if !merge {
                    self.remove_party(id, &leg.from_agent);
                }
                self.deliver(leg_id, target, false);
                self.leg_accepted(leg_id, target);
            }
            _ => unreachable!("leg kinds and targets are paired at creation"),
        }
    }

    /// Rings the target, then gives it the data: `ON_NEW_INTERACTION` first (rule 8).
    fn offer_to(&mut self, id: &InteractionId, party: AgentParty, leg_id: &TransferId) {
        let agent = party.agent.clone();
        self.add_party(id, party);
        self.announce(id, &agent);
        self.set_phase(leg_id, TransferPhase::Offered);
        self.deliver(leg_id, &agent, false);
    }

    fn set_phase(&mut self, leg_id: &TransferId, phase: TransferPhase) {
        self.legs.get_mut(leg_id).expect("leg").phase = phase;
        self.touch_leg(leg_id);
        self.send_status(leg_id);
    }

    /// Gives a leg's data to one receiver, if their host has the sender's integration.
    pub(crate) fn deliver(&mut self, leg_id: &TransferId, agent: &AgentId, replay: bool) {
        let Some(leg) = self.legs.get(leg_id) else {
            return;
        };
        if leg.phase == TransferPhase::Failed {
            return;
        }
        let Some(data) = &leg.data else { return };
        let receiver = &self.agents[agent];
        let consumer = receiver.is_connected()
            && leg.integration_key.is_some()
            && receiver.integration_key() == leg.integration_key.as_deref();
        if consumer {
            let meta = LoadTransferMeta {
                transfer_id: leg.id.0.clone(),
                kind: leg.kind,
                from_agent_id: leg.from_agent.0.clone(),
                from_agent_name: leg.from_name.clone(),
                created_at: leg.created_at,
                replay,
            };
            let frame = ServerFrame::Event {
                event: events::ON_LOAD_TRANSFER_DATA.into(),
                args: vec![arg(&leg.interaction.0), data.to_raw(), arg(&meta)],
                rid: Some(format!("{}|{}", leg.id, agent)),
            };
            self.send_agent(agent, frame);
        }
        let outcome = if consumer {
            Outcome::Delivered
        } else {
            Outcome::NoConsumer
        };
        let leg = self.legs.get_mut(leg_id).expect("leg");
        let changed = match leg.receipts.iter_mut().find(|r| &r.agent == agent) {
            Some(r) if r.outcome == Outcome::NoConsumer && consumer => {
                r.outcome = outcome;
                true
            }
            Some(_) => false,
            None => {
                leg.receipts.push(Receipt {
                    agent: agent.clone(),
                    outcome,
                });
                true
            }
        };
        if changed {
            self.touch_leg(leg_id);
            self.send_status(leg_id);
        }
    }

    fn acknowledge(&mut self, leg_id: &TransferId, agent: &AgentId) {
        let Some(leg) = self.legs.get_mut(leg_id) else {
            return;
        };
        let Some(receipt) = leg.receipts.iter_mut().find(|r| &r.agent == agent) else {
            return;
        };
        if receipt.outcome != Outcome::Acknowledged {
            receipt.outcome = Outcome::Acknowledged;
            self.touch_leg(leg_id);
            self.send_status(leg_id);
        }
    }

    /// The target took the interaction.
    pub(crate) fn leg_accepted(&mut self, leg_id: &TransferId, _agent: &AgentId) {
        let Some(leg) = self.legs.get(leg_id) else {
            return;
        };
        if leg.phase == TransferPhase::Accepted || leg.phase == TransferPhase::Failed {
            return;
        }
        let id = leg.interaction.clone();
        if let Some(i) = self.interactions.get_mut(&id)
            && i.pending_leg.as_ref() == Some(leg_id)
        {
            i.pending_leg = None;
            self.touch_interaction(&id);
        }
        self.set_phase(leg_id, TransferPhase::Accepted);
        self.record_handoff(leg_id, None);
    }

    /// The leg failed. With `recover`, a blind transfer comes back to the sender (or its
    /// queue); a consult simply ends with the primary still on hold (rule 12).
    pub(crate) fn leg_failed(&mut self, leg_id: &TransferId, reason: &str, recover: bool) {
        let Some(leg) = self.legs.get_mut(leg_id) else {
            return;
        };
        if leg.phase == TransferPhase::Failed {
            return;
        }
        leg.phase = TransferPhase::Failed;
        leg.reason = Some(reason.to_owned());
        leg.collect_deadline = None;
        let leg = leg.clone();
        let id = leg.interaction.clone();
        if let Some(i) = self.interactions.get_mut(&id)
            && i.pending_leg.as_ref() == Some(leg_id)
        {
            i.pending_leg = None;
            self.touch_interaction(&id);
        }
        self.touch_leg(leg_id);
        self.send_status(leg_id);
        self.record_handoff(leg_id, Some(reason));
        if recover && leg.kind == TransferKind::Blind {
            self.return_to_sender(&id, &leg.from_agent, reason);
        }
    }

    /// Fails the pending leg, if any, and drops the party it was ringing (customer left,
    /// consult cancelled, sender gone).
    pub(crate) fn fail_pending(&mut self, id: &InteractionId, reason: &str) {
        let Some(leg_id) = self
            .interactions
            .get(id)
            .and_then(|i| i.pending_leg.clone())
        else {
            return;
        };
        let ringing: Vec<AgentId> = self.interactions[id]
            .parties
            .iter()
            .filter(|p| p.state == PartyState::Ringing && p.via_leg.as_ref() == Some(&leg_id))
            .map(|p| p.agent.clone())
            .collect();
        self.leg_failed(&leg_id, reason, false);
        for agent in ringing {
            self.remove_party(id, &agent);
        }
    }

    fn return_to_sender(&mut self, id: &InteractionId, sender: &AgentId, reason: &str) {
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        if !i.customer_connected {
            return;
        }
        let channel = i.channel;
        let can_take = self.agents.get(sender).is_some_and(Agent::is_logged_in)
            && self.has_capacity(sender, channel);
        if can_take {
            let now = self.now;
            let via_leg = self.leg_that_gave(id, sender);
            let party = AgentParty {
                agent: sender.clone(),
                role: PartyRole::Primary,
                state: PartyState::Ringing,
                joined_at: now,
                // Back where it was: the leg that gave it to the sender is current again,
                // so a reload replays its data (rule 9).
                via_leg,
                reason: Some(match reason {
                    // docs/protocol.md names it `transfer_timeout`.
                    "ring_timeout" => "transfer_timeout".to_owned(),
                    other => format!("transfer_{other}"),
                }),
                ring_expires_at: Some(now + self.ring_timeout(&i.service)),
                routed_from: None,
            };
            self.add_party(id, party);
            self.announce(id, sender);
        } else {
            self.rehome(id);
        }
    }

    /// The latest live leg whose data reached `agent` on this interaction (a failed one
    /// never counts, rule 12): the leg to replay if the interaction comes back to them.
    fn leg_that_gave(&self, id: &InteractionId, agent: &AgentId) -> Option<TransferId> {
        let i = self.interactions.get(id)?;
        i.legs
            .iter()
            .rev()
            .filter_map(|l| self.legs.get(l))
            .find(|leg| {
                leg.phase == TransferPhase::Accepted
                    && leg.kind != TransferKind::Consult
                    && leg.receipts.iter().any(|r| &r.agent == agent)
            })
            .map(|leg| leg.id.clone())
    }

    fn remove_from_conference(
        &mut self,
        id: &InteractionId,
        agent: &AgentId,
        party_id: &str,
        channel: Channel,
    ) -> CoreResult {
        let i = &self.interactions[id];
        if i.channel != channel {
            return Err(err(
                ErrorCode::NotSuitableState,
                "wrong channel for this method",
            ));
        }
        let target = AgentId(party_id.to_owned());
        if &target == agent {
            return Err(err(ErrorCode::InvalidArgs, "use leaveInteraction to leave"));
        }
        let Some(party) = i.party(&target) else {
            return Err(err(
                ErrorCode::ObjectNotFound,
                format!("no party {party_id:?}"),
            ));
        };
        // Conference members and a consulted agent can be dropped; the primary cannot: the
        // interaction would be left without the agent who owns it.
        if party.role == PartyRole::Primary {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the primary agent leaves with leaveInteraction",
            ));
        }
        if party.state == PartyState::Ringing {
            self.fail_pending(id, "cancelled");
        }
        self.remove_party(id, &target);
        Ok(serde_json::Value::Null)
    }

    pub(crate) fn send_status(&mut self, leg_id: &TransferId) {
        let Some(leg) = self.legs.get(leg_id) else {
            return;
        };
        self.log_transfer(leg);
        let status = crate::view::transfer_status(leg);
        let sender = leg.from_agent.clone();
        self.emit(&sender, events::ON_TRANSFER_STATUS, vec![arg(&status)]);
    }
}
