//! Caps on what one request may carry and one interaction may hold, the same for agents and
//! customers (SECURITY.md, "Content limits"), and the default queue limits of a service.
//!
//! Every commit rewrites a changed interaction and every state change ships it to its
//! parties, so an interaction's size is what each of those costs: these caps bound it.

use baton_protocol::{ApiError, ErrorCode, Method};
use serde::{Deserialize, Serialize};

use crate::engine::err;
use crate::entity::Interaction;

/// `[interaction_limits]` in `baton.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InteractionLimits {
    /// Longest chat message, in characters (agents and customers); longer → `invalid_args`.
    pub max_message_chars: usize,
    /// Chat messages one interaction may hold; more → `payload_too_large`.
    pub max_messages_per_interaction: usize,
    /// Bytes of chat text one interaction may hold; more → `payload_too_large`.
    pub max_transcript_bytes: usize,
    /// Longest note, in characters; longer → `invalid_args`.
    pub max_note_chars: usize,
    /// Notes one interaction may hold; more → `payload_too_large`.
    pub max_notes_per_interaction: usize,
    /// Longest variable name (`setVariable`), in characters; longer → `invalid_args`.
    pub max_variable_key_chars: usize,
    /// Largest variable value, as JSON bytes; larger → `payload_too_large`.
    pub max_variable_bytes: usize,
    /// Variables (attached data) one interaction may hold; more → `payload_too_large`.
    pub max_variables_per_interaction: usize,
    /// Longest not-ready reason, in characters; longer → `invalid_args`.
    pub max_reason_chars: usize,
    /// Interactions waiting in one service's queue, unless the service sets its own;
    /// a new one beyond it is refused with `rate_limited` (HTTP 429). 0 = no limit.
    pub default_max_queue_length: u32,
    /// How long a customer may wait in a service's queue, unless the service sets its own;
    /// then the chat ends with a message saying no agent was free. 0 = no limit.
    pub default_max_queue_wait_ms: u64,
    /// DTMF log entries one call keeps; digits beyond are still delivered, not logged.
    pub max_dtmf_per_interaction: usize,
}

impl Default for InteractionLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl InteractionLimits {
    /// The defaults, as a constant (a `const` core configuration can use it).
    pub const DEFAULT: Self = Self {
        max_message_chars: 8_000,
        max_messages_per_interaction: 2_000,
        max_transcript_bytes: 1024 * 1024,
        max_note_chars: 8_000,
        max_notes_per_interaction: 200,
        max_variable_key_chars: 256,
        max_variable_bytes: 64 * 1024,
        max_variables_per_interaction: 256,
        max_reason_chars: 200,
        default_max_queue_length: 1_000,
        default_max_queue_wait_ms: 0,
        max_dtmf_per_interaction: 1_000,
    };
}

fn too_long(what: &str, max: usize) -> ApiError {
    err(
        ErrorCode::InvalidArgs,
        format!("{what} must be at most {max} characters"),
    )
}

impl InteractionLimits {
    /// The per-request caps of an agent method (before any state is looked at).
    pub fn check_method(&self, method: &Method) -> Result<(), ApiError> {
        match method {
            Method::SendChatMessage { text, .. } => self.check_message(text),
            Method::AddNote { text, .. }
            | Method::UpdateNote { text, .. }
            | Method::ReplaceNote { text, .. }
            | Method::LeaveAndCompleteInteraction {
                note: Some(text), ..
            } if text.chars().count() > self.max_note_chars => {
                Err(too_long("a note", self.max_note_chars))
            }
            // Short identifiers: numbers, addresses, names of a disposition, service or DID.
            Method::StartCall { phone: name, .. }
            | Method::StartEmail { email: name, .. }
            | Method::SetDisposition {
                disposition: name, ..
            }
            | Method::SetService {
                service: Some(name),
            }
            | Method::SetDidNumber { did: Some(name) }
            | Method::BlindTransfer { target: name, .. }
            | Method::ConsultCall { target: name }
            | Method::InviteToCallConference { target: name, .. }
                if name.chars().count() > self.max_variable_key_chars =>
            {
                Err(too_long("this argument", self.max_variable_key_chars))
            }
            Method::StartChat {
                channel, address, ..
            } if channel.chars().count().max(address.chars().count())
                > self.max_variable_key_chars =>
            {
                Err(too_long("this argument", self.max_variable_key_chars))
            }
            // Objects a CRM hands over: each at most the size of a variable value.
            Method::SetRescheduleWindow { window, .. } => self.check_object(window),
            Method::SetDialCandidates { candidates } => self.check_object(candidates),
            Method::AddInteractionAssociatedObject { object, .. } => self.check_object(object),
            Method::SetInteractionActiveScreen { screen, .. } => self.check_object(screen),
            Method::SetVariable { key, value, .. } => {
                if key.chars().count() > self.max_variable_key_chars {
                    return Err(too_long("a variable name", self.max_variable_key_chars));
                }
                let bytes = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
                if bytes > self.max_variable_bytes {
                    return Err(err(
                        ErrorCode::PayloadTooLarge,
                        format!(
                            "a variable value must be at most {} bytes of JSON",
                            self.max_variable_bytes
                        ),
                    ));
                }
                Ok(())
            }
            Method::SetAgentState {
                reason: Some(reason),
                ..
            } if reason.chars().count() > self.max_reason_chars => {
                Err(too_long("a not-ready reason", self.max_reason_chars))
            }
            _ => Ok(()),
        }
    }

    /// A structured argument's size as JSON, against the variable-value cap.
    fn check_object(&self, value: &impl Serialize) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
        if bytes > self.max_variable_bytes {
            return Err(err(
                ErrorCode::PayloadTooLarge,
                format!(
                    "this argument must be at most {} bytes of JSON",
                    self.max_variable_bytes
                ),
            ));
        }
        Ok(())
    }

    /// A chat message's own size (agents and customers alike).
    pub fn check_message(&self, text: &str) -> Result<(), ApiError> {
        if text.chars().count() > self.max_message_chars {
            return Err(too_long("a chat message", self.max_message_chars));
        }
        Ok(())
    }

    /// Whether `interaction` can take one more chat message of `text`.
    pub fn check_transcript(&self, interaction: &Interaction, text: &str) -> Result<(), ApiError> {
        let count = interaction.messages.len();
        let bytes: usize = interaction.messages.iter().map(|m| m.text.len()).sum();
        if count >= self.max_messages_per_interaction {
            return Err(err(
                ErrorCode::PayloadTooLarge,
                format!(
                    "this chat holds its maximum of {} messages",
                    self.max_messages_per_interaction
                ),
            ));
        }
        if bytes + text.len() > self.max_transcript_bytes {
            return Err(err(
                ErrorCode::PayloadTooLarge,
                format!(
                    "this chat holds its maximum of {} bytes of text",
                    self.max_transcript_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Whether `interaction` can take one more note.
    pub fn check_note(&self, interaction: &Interaction) -> Result<(), ApiError> {
        if interaction.notes.len() >= self.max_notes_per_interaction {
            return Err(err(
                ErrorCode::PayloadTooLarge,
                format!(
                    "this interaction holds its maximum of {} notes",
                    self.max_notes_per_interaction
                ),
            ));
        }
        Ok(())
    }

    /// Whether `interaction` can take variable `key` (a new key counts against the cap).
    pub fn check_variable(&self, interaction: &Interaction, key: &str) -> Result<(), ApiError> {
        if !interaction.attached_data.contains_key(key)
            && interaction.attached_data.len() >= self.max_variables_per_interaction
        {
            return Err(err(
                ErrorCode::PayloadTooLarge,
                format!(
                    "this interaction holds its maximum of {} variables",
                    self.max_variables_per_interaction
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_caps_answer_with_the_right_code() {
        let l = InteractionLimits {
            max_message_chars: 3,
            max_note_chars: 3,
            max_variable_key_chars: 2,
            max_variable_bytes: 4,
            max_reason_chars: 2,
            ..InteractionLimits::default()
        };
        let code = |m: Method| l.check_method(&m).err().map(|e| e.code);
        let chat = |t: &str| Method::SendChatMessage {
            text: t.into(),
            id: None,
        };
        assert_eq!(code(chat("héé")), None, "characters, not bytes");
        assert_eq!(code(chat("abcd")), Some(3));
        let note = Method::AddNote {
            text: "abcd".into(),
            id: None,
        };
        assert_eq!(code(note), Some(3));
        let var = |k: &str, v: serde_json::Value| Method::SetVariable {
            key: k.into(),
            value: v,
            id: None,
        };
        assert_eq!(code(var("ab", serde_json::json!(12))), None);
        assert_eq!(code(var("abc", serde_json::json!(1))), Some(3));
        assert_eq!(code(var("a", serde_json::json!("long"))), Some(21));
        let reason = |r: &str| Method::SetAgentState {
            state: "not_ready".into(),
            reason: Some(r.into()),
        };
        assert_eq!(code(reason("ab")), None);
        assert_eq!(code(reason("abc")), Some(3));
        // Bright Pattern's desk methods are capped like their Baton cousins.
        let update = Method::UpdateNote {
            text: "abcd".into(),
            id: None,
        };
        assert_eq!(code(update), Some(3));
        let call = |p: &str| Method::StartCall {
            phone: p.into(),
            objects: Vec::new(),
        };
        assert_eq!(code(call("12")), None);
        assert_eq!(code(call("123")), Some(3));
        let screen = Method::SetInteractionActiveScreen {
            screen: serde_json::Map::from_iter([("k".to_owned(), serde_json::json!("v"))]),
            id: None,
        };
        assert_eq!(code(screen), Some(21));
    }
}
