//! Chat attachments (decision 0014): the server stores the bytes beside the interaction; the
//! core only posts a chat message that names the file, so the transcript shows it to every
//! party and the in-memory interaction never holds file content.

use baton_protocol::{AttachmentRef, ChatMessage, ErrorCode, MessageFrom};

use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

impl Core {
    /// Posts the message that announces an uploaded file: from the customer (`agent` is
    /// `None`) or from a connected agent party.
    pub(crate) fn post_attachment(
        &mut self,
        id: &InteractionId,
        agent: Option<&AgentId>,
        attachment: AttachmentRef,
    ) -> CoreResult {
        let Some(i) = self.interactions.get(id) else {
            return Err(err(ErrorCode::NoInteraction, "the interaction has ended"));
        };
        if i.channel != baton_protocol::Channel::Chat {
            return Err(err(ErrorCode::NotSuitableState, "not a chat"));
        }
        let (from, party_id, name) = match agent {
            None => {
                if !i.customer_connected {
                    return Err(err(ErrorCode::NotSuitableState, "the customer has left"));
                }
                (
                    MessageFrom::Customer,
                    "customer".to_owned(),
                    i.customer.name.clone(),
                )
            }
            Some(a) => {
                if !i.party(a).is_some_and(|p| p.state == PartyState::Connected) {
                    return Err(err(
                        ErrorCode::NoInteraction,
                        "no such interaction for this agent",
                    ));
                }
                let name = self
                    .agents
                    .get(a)
                    .map(|a| a.display_name.clone())
                    .unwrap_or_default();
                (MessageFrom::Agent, a.0.clone(), name)
            }
        };
        self.config.limits.check_transcript(i, &attachment.name)?;
        let message = ChatMessage {
            from,
            party_id: Some(party_id),
            name,
            text: attachment.name.clone(),
            at: self.now,
            attachment: Some(attachment),
        };
        self.post_message(id, message);
        Ok(serde_json::Value::Null)
    }

    /// Whether `agent` is or was a party of the interaction: answered it (now or before),
    /// was offered it by a hand-off, handed it off or wrote in it. Decides who may download its attachments.
    pub fn was_party(interaction: &Interaction, legs: &[Leg], agent: &AgentId) -> bool {
        interaction.party(agent).is_some()
            || interaction.past_parties.contains(agent)
            || interaction
                .messages
                .iter()
                .any(|m| m.party_id.as_deref() == Some(agent.0.as_str()))
            || legs.iter().any(|l| {
                &l.from_agent == agent || matches!(&l.target, LegTarget::Agent(a) if a == agent)
            })
    }
}
