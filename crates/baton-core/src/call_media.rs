//! What the media plane reports back about a call: mute, recording and DTMF
//! (docs/voice.md). The media plane owns the audio; the engine stays the one writer of
//! interaction state, so each change comes in as [`Command::CallMedia`] after it happened,
//! and the interaction carries it (`callMuted`, `callRecording`, the DTMF log).
//!
//! [`Command::CallMedia`]: crate::Command::CallMedia

use baton_protocol::frame::arg;
use baton_protocol::{Channel, DtmfRecord, ErrorCode, events};
use serde::{Deserialize, Serialize};

use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

/// A change the media plane made to a call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CallMediaChange {
    /// An agent's microphone was muted or unmuted (`setCallMute`).
    Muted { agent: AgentId, muted: bool },
    /// Recording started or stopped (an agent, or the recording policy at the call's start).
    Recording { on: bool },
    /// A party keyed a digit. `party_id` is `customer` or the agent's id; `heard_by` are
    /// the agents who hear that party now (they get `ON_DTMF`); `stored` is the digit as
    /// the log may keep it (sealed by the shell when the server has a data key).
    Dtmf {
        party_id: String,
        digit: Digit,
        stored: String,
        heard_by: Vec<AgentId>,
    },
}

/// A DTMF digit. Its `Debug` hides it, so a logged command never shows a PIN.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digit(pub char);

impl std::fmt::Debug for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digit(*)")
    }
}

impl Core {
    pub(crate) fn call_media(&mut self, id: &InteractionId, change: CallMediaChange) -> CoreResult {
        let Some(i) = self
            .interactions
            .get(id)
            .filter(|i| i.channel == Channel::Voice && i.completed_at.is_none())
        else {
            return Err(err(ErrorCode::NotSuitableState, "no such live call"));
        };
        let settings = self.settings(&i.tenant);
        let max_dtmf = self.config.limits.max_dtmf_per_interaction;
        let i = self.interactions.get_mut(id).expect("checked");
        match change {
            CallMediaChange::Muted { agent, muted } => {
                if i.call_muted.contains(&agent) == muted {
                    return Ok(serde_json::Value::Null);
                }
                i.call_muted.retain(|a| a != &agent);
                if muted {
                    i.call_muted.push(agent);
                }
                self.touch_interaction(id);
            }
            CallMediaChange::Recording { on } => {
                if i.call_recording == on {
                    return Ok(serde_json::Value::Null);
                }
                i.call_recording = on;
                self.touch_interaction(id);
            }
            CallMediaChange::Dtmf {
                party_id,
                digit,
                stored,
                heard_by,
            } => {
                let logged = i.dtmf.len() < max_dtmf;
                if logged {
                    i.dtmf.push(DtmfRecord {
                        party_id: party_id.clone(),
                        at: self.now,
                        digit: (settings.dtmf_log == DtmfLog::Digits).then_some(stored),
                    });
                }
                let hearers: Vec<AgentId> = heard_by
                    .into_iter()
                    .filter(|a| i.party(a).is_some())
                    .collect();
                if logged {
                    self.mark_interaction(id);
                }
                let what = serde_json::json!({"partyId": party_id, "digit": digit.0.to_string()});
                for agent in hearers {
                    self.emit(&agent, events::ON_DTMF, vec![arg(&id.0), arg(&what)]);
                }
            }
        }
        Ok(serde_json::Value::Null)
    }

    /// Whether a call is recorded from its start by policy: its service's, else its
    /// tenant's; `None` leaves it to the server's `[media] record_calls`.
    pub fn record_policy(&self, i: &Interaction) -> Option<bool> {
        self.services
            .get(&i.service)
            .and_then(|s| s.record_calls)
            .or_else(|| self.settings(&i.tenant).record_calls)
    }

    pub(crate) fn set_service_recording(
        &mut self,
        tenant: &TenantId,
        service: &str,
        record_calls: Option<bool>,
    ) -> CoreResult {
        self.require_tenant(tenant)?;
        let id = self
            .service_by_name(tenant, service)
            .map(|s| s.id.clone())
            .ok_or_else(|| err(ErrorCode::NoService, format!("no service {service:?}")))?;
        self.services.get_mut(&id).expect("found").record_calls = record_calls;
        self.mark_service(&id);
        Ok(serde_json::json!({ "recordCalls": record_calls }))
    }
}
