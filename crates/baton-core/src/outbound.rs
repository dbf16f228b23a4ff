//! Interactions an agent starts: `startCall` (to a colleague's username or extension: an
//! internal call that rings them; to any other number: an outbound call, modelled like
//! every other call until voice media lands), `startChat`, and `startEmail` (no email
//! channel yet).

use baton_protocol::{
    AssociatedObject, AssociatedObjects, Channel, Customer, Direction, ErrorCode, PartyRole,
};
use serde_json::json;

use crate::engine::{Core, CoreResult, err, next_seq};
use crate::entity::*;

/// Bright Pattern's chat channel types (`startChat`'s first argument).
pub const CHAT_CHANNELS: &[&str] = &[
    "telegram", "line", "facebook", "web", "nexmo", "sms", "viber", "twitter", "wechat",
    "whatsapp", "ms_teams",
];

/// Chat channels whose address is a phone number.
const PHONE_CHANNELS: &[&str] = &["sms", "whatsapp", "viber", "nexmo"];

impl Core {
    pub(crate) fn start_call(
        &mut self,
        agent: &AgentId,
        phone: String,
        objects: Vec<AssociatedObject>,
    ) -> CoreResult {
        let phone = phone.trim().to_owned();
        if phone.is_empty() {
            return Err(err(ErrorCode::EmptyNumber, "the number to call is empty"));
        }
        if !self.has_capacity(agent, Channel::Voice) {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the agent is already on a call",
            ));
        }
        let tenant = self.agents[agent].tenant.clone();
        let colleague = self
            .agents
            .values()
            .find(|a| {
                a.tenant == tenant
                    && (a.username.eq_ignore_ascii_case(&phone)
                        || a.extension.as_deref() == Some(phone.as_str()))
            })
            .map(|a| a.id.clone());
        match colleague {
            Some(callee) => self.internal_call(agent, &callee, objects),
            None => self.outbound_call(agent, phone, objects),
        }
    }

    /// Rings a colleague. The call has no customer and belongs to the caller's selected
    /// service, if any (only for its ring time-out and name).
    fn internal_call(
        &mut self,
        caller: &AgentId,
        callee: &AgentId,
        objects: Vec<AssociatedObject>,
    ) -> CoreResult {
        if caller == callee {
            return Err(err(ErrorCode::SelfCall, "cannot call yourself"));
        }
        if !self.agents[callee].is_logged_in() {
            return Err(err(
                ErrorCode::DestinationUserNotLogged,
                "the agent called is not logged in",
            ));
        }
        if !self.has_capacity(callee, Channel::Voice) {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the agent called is on another call",
            ));
        }
        let number = |a: &Agent| a.extension.clone().unwrap_or_else(|| a.username.clone());
        let (from, to) = (&self.agents[caller], &self.agents[callee]);
        let customer = Customer {
            name: to.display_name.clone(),
            phone: Some(number(to)),
            email: None,
        };
        let (ani, dnis) = (number(from), number(to));
        let service = self.agents[caller]
            .selected_service
            .clone()
            .unwrap_or_else(|| ServiceId(String::new()));
        let id = self.new_outbound(caller, Channel::Voice, service.clone(), customer, objects)?;
        let now = self.now;
        let i = self.interactions.get_mut(&id).expect("new");
        i.internal = true;
        i.customer_connected = false;
        i.ani = Some(ani);
        i.dnis = Some(dnis);
        let ring = self.ring_timeout(&service);
        self.add_party(
            &id,
            AgentParty {
                agent: callee.clone(),
                role: PartyRole::Conference,
                state: PartyState::Ringing,
                joined_at: now,
                via_leg: None,
                reason: None,
                ring_expires_at: Some(now + ring),
                routed_from: None,
            },
        );
        self.announce(&id, caller);
        self.announce(&id, callee);
        self.set_active(caller, &id);
        Ok(json!({ "id": id }))
    }

    fn outbound_call(
        &mut self,
        agent: &AgentId,
        phone: String,
        objects: Vec<AssociatedObject>,
    ) -> CoreResult {
        let service = self.outbound_service(agent, Channel::Voice)?;
        let ani = match self.selected_did(agent) {
            Some(did) if !did.is_voice => {
                return Err(err(
                    ErrorCode::NoPermissionsDidCall,
                    format!("DID {} is not for calls", did.number),
                ));
            }
            Some(did) => did.number.clone(),
            None => self.services[&service].name.clone(),
        };
        let customer = Customer {
            name: phone.clone(),
            phone: Some(phone.clone()),
            email: None,
        };
        let id = self.new_outbound(agent, Channel::Voice, service, customer, objects)?;
        let i = self.interactions.get_mut(&id).expect("new");
        i.ani = Some(ani);
        i.dnis = Some(phone);
        self.announce(&id, agent);
        self.set_active(agent, &id);
        Ok(json!({ "id": id }))
    }

    pub(crate) fn start_chat(
        &mut self,
        agent: &AgentId,
        channel: String,
        address: String,
        objects: Vec<AssociatedObject>,
    ) -> CoreResult {
        let address = address.trim().to_owned();
        if !CHAT_CHANNELS.contains(&channel.as_str()) {
            return Err(err(
                ErrorCode::InvalidArgs,
                format!("unknown chat channel {channel:?}"),
            ));
        }
        if address.is_empty() {
            return Err(err(ErrorCode::EmptyNumber, "the chat address is empty"));
        }
        if channel == "sms"
            && let Some(did) = self.selected_did(agent)
            && !did.is_sms
        {
            return Err(err(
                ErrorCode::NoPermissionsDidSms,
                format!("DID {} is not for SMS", did.number),
            ));
        }
        if !self.has_capacity(agent, Channel::Chat) {
            return Err(err(
                ErrorCode::NotSuitableState,
                "the agent has no free chat slot",
            ));
        }
        let service = self.outbound_service(agent, Channel::Chat)?;
        let phone_like = PHONE_CHANNELS.contains(&channel.as_str());
        let customer = Customer {
            name: address.clone(),
            phone: phone_like.then(|| address.clone()),
            email: None,
        };
        let id = self.new_outbound(agent, Channel::Chat, service, customer, objects)?;
        self.announce(&id, agent);
        self.set_active(agent, &id);
        Ok(json!({ "id": id }))
    }

    /// The service an outbound interaction starts in: the selected one, else the first of
    /// the agent's services with the channel, else the first of the tenant's.
    fn outbound_service(&self, agent: &AgentId, channel: Channel) -> CoreResult<ServiceId> {
        let missing = || match channel {
            Channel::Chat => err(ErrorCode::NoChatInService, "no service takes chats"),
            Channel::Voice => err(ErrorCode::NoService, "no service takes calls"),
        };
        let a = &self.agents[agent];
        if let Some(selected) = a
            .selected_service
            .as_ref()
            .and_then(|s| self.services.get(s))
        {
            return if selected.channels.contains(&channel) {
                Ok(selected.id.clone())
            } else if channel == Channel::Chat {
                Err(err(
                    ErrorCode::NoChatInService,
                    format!("service {:?} does not take chats", selected.name),
                ))
            } else {
                Err(err(
                    ErrorCode::NoChannelInService,
                    format!("service {:?} does not take calls", selected.name),
                ))
            };
        }
        a.services
            .iter()
            .filter_map(|s| self.services.get(s))
            .chain(self.services.values().filter(|s| s.tenant == a.tenant))
            .find(|s| s.channels.contains(&channel))
            .map(|s| s.id.clone())
            .ok_or_else(missing)
    }

    /// Creates an interaction the agent is connected to. The caller announces it, then makes
    /// it the agent's active one, so `ON_NEW_INTERACTION` comes before the switch.
    fn new_outbound(
        &mut self,
        agent: &AgentId,
        channel: Channel,
        service: ServiceId,
        customer: Customer,
        objects: Vec<AssociatedObject>,
    ) -> CoreResult<InteractionId> {
        let now = self.now;
        let n = next_seq(&mut self.outbound_seq);
        let id = InteractionId(format!("{agent}-o{now:x}-{n}"));
        let tenant = self.agents[agent].tenant.clone();
        let interaction = Interaction {
            past_parties: Vec::new(),
            call_muted: Vec::new(),
            call_recording: false,
            dtmf: Vec::new(),
            id: id.clone(),
            tenant,
            channel,
            service,
            customer,
            attached_data: serde_json::Map::new(),
            notes: Vec::new(),
            messages: Vec::new(),
            created_at: now,
            completed_at: None,
            customer_connected: true,
            customer_on_hold: false,
            customer_token_hash: String::new(),
            queue: None,
            parties: Vec::new(),
            skipped: Vec::new(),
            legs: Vec::new(),
            pending_leg: None,
            version: 0,
            direction: Direction::Outbound,
            internal: false,
            disposition: None,
            associated_objects: AssociatedObjects::default(),
            active_screen: None,
            reschedule: None,
            ani: None,
            dnis: None,
        };
        self.interactions.insert(id.clone(), interaction);
        let source = self.agents[agent]
            .integration_key()
            .unwrap_or_default()
            .to_owned();
        if let Err(e) = self.attach_objects(&id, source, objects) {
            self.interactions.remove(&id);
            return Err(e);
        }
        self.add_party(
            &id,
            AgentParty {
                agent: agent.clone(),
                role: PartyRole::Primary,
                state: PartyState::Connected,
                joined_at: now,
                via_leg: None,
                reason: None,
                ring_expires_at: None,
                routed_from: None,
            },
        );
        Ok(id)
    }

    /// An internal call ends for both sides when one hangs up or the ring fails: who
    /// answered wraps up, an offer still ringing is withdrawn.
    pub(crate) fn end_internal_call(&mut self, id: &InteractionId) {
        let Some(i) = self.interactions.get(id) else {
            return;
        };
        if !i.internal {
            return;
        }
        let ringing: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| p.state == PartyState::Ringing)
            .map(|p| p.agent.clone())
            .collect();
        for r in ringing {
            self.remove_party(id, &r);
        }
        let i = self.interactions.get_mut(id).expect("live");
        let answered: Vec<AgentId> = i.parties.iter().map(|p| p.agent.clone()).collect();
        for p in &mut i.parties {
            p.state = PartyState::WrapUp;
        }
        self.touch_interaction(id);
        for a in answered {
            self.touch_agent(&a);
        }
        self.complete_if_empty(id);
    }

    /// `startEmail`: Baton has no email channel.
    pub(crate) fn start_email(&self) -> CoreResult {
        Err(err(
            ErrorCode::ApiMethodNotImplemented,
            "Baton has no email channel yet",
        ))
    }
}
