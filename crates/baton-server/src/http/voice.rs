//! Voice signalling on the existing sockets (docs/protocol.md, "Voice"): SDP offers and
//! answers, trickled candidates, hang-up and mute, handed to the media plane. The engine
//! never sees them; whether a party may have audio on a call is the media plane's check
//! against the call state the engine gave it.

use baton_media::{Party, PeerKey};
use baton_protocol::{ApiError, ErrorCode};
use serde_json::Value;

use crate::app::AppState;

/// The voice ops of both sockets.
pub(crate) const AGENT_OPS: [&str; 7] = [
    "voiceConfig",
    "voiceOffer",
    "voiceCandidate",
    "voiceHangup",
    "setCallMute",
    "setCallRecording",
    "setCallRecordingMute",
];
pub(crate) const CUSTOMER_OPS: [&str; 4] =
    ["voiceConfig", "voiceOffer", "voiceCandidate", "voiceHangup"];

/// `voiceConfig []` → `{slots, iceServers, quality}` for this page (crate::ice): fresh TURN
/// credentials each time, so a page asks before each call. Never logged.
fn voice_config(state: &AppState, who: &str) -> Result<Value, ApiError> {
    media(state)?;
    let config = crate::ice::voice_config(&state.settings.media, who, state.clock.now());
    serde_json::to_value(config).map_err(|e| ApiError::new(ErrorCode::UnknownError, e.to_string()))
}

fn media(state: &AppState) -> Result<&crate::media::MediaHandle, ApiError> {
    state.media.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::ApiMethodNotImplemented,
            "this server carries no call audio ([media] enabled = false, or a cluster)",
        )
    })
}

fn text_arg<'a>(args: &'a [Value], i: usize, what: &str) -> Result<&'a str, ApiError> {
    args.get(i)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidArgs,
                format!("argument {i} must be {what}"),
            )
        })
}

/// `op` from an agent: `voiceConfig []` → the page's voice config, `voiceOffer [interactionId, sdp]` → `{sdp}`,
/// `voiceCandidate [interactionId, candidate]`, `voiceHangup [interactionId]`,
/// `setCallMute [muted, interactionId]`, `setCallRecording [on, interactionId]`,
/// `setCallRecordingMute [muted, interactionId]`.
pub(crate) async fn agent_op(
    state: &AppState,
    agent: &baton_core::AgentId,
    op: &str,
    args: &[Value],
) -> Result<Value, ApiError> {
    let media = media(state)?;
    let party = Party::Agent(agent.to_string());
    match op {
        "voiceConfig" => voice_config(state, &format!("agent-{agent}")),
        "voiceOffer" => {
            let key = PeerKey {
                call: text_arg(args, 0, "an interaction id")?.to_owned(),
                party,
            };
            let sdp = text_arg(args, 1, "an SDP offer")?.to_owned();
            let answer = media.offer(key, sdp).await?;
            Ok(serde_json::json!({ "sdp": answer }))
        }
        "voiceCandidate" => {
            let key = PeerKey {
                call: text_arg(args, 0, "an interaction id")?.to_owned(),
                party,
            };
            let line = text_arg(args, 1, "an ICE candidate")?.to_owned();
            media.candidate(key, line).await?;
            Ok(Value::Null)
        }
        "voiceHangup" => {
            let call = text_arg(args, 0, "an interaction id")?.to_owned();
            media.close(Some(call), party);
            Ok(Value::Null)
        }
        "setCallMute" => {
            let muted = args.first().and_then(Value::as_bool).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidArgs, "argument 0 must be a boolean")
            })?;
            let key = PeerKey {
                call: text_arg(args, 1, "an interaction id")?.to_owned(),
                party,
            };
            media.mute(key, muted).await?;
            Ok(Value::Null)
        }
        "setCallRecording" | "setCallRecordingMute" => {
            let on = args.first().and_then(Value::as_bool).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidArgs, "argument 0 must be a boolean")
            })?;
            let key = PeerKey {
                call: text_arg(args, 1, "an interaction id")?.to_owned(),
                party,
            };
            media.record(key, op == "setCallRecordingMute", on).await?;
            Ok(Value::Null)
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("unknown op {op:?}"),
        )),
    }
}

/// `op` from the customer's page: `voiceConfig []`, `voiceOffer [sdp]` → `{sdp}`, `voiceCandidate
/// [candidate]`, `voiceHangup []`.
pub(crate) async fn customer_op(
    state: &AppState,
    interaction: &baton_core::InteractionId,
    op: &str,
    args: &[Value],
) -> Result<Value, ApiError> {
    let media = media(state)?;
    let key = PeerKey {
        call: interaction.to_string(),
        party: Party::Customer,
    };
    match op {
        "voiceConfig" => voice_config(state, &format!("customer-{interaction}")),
        "voiceOffer" => {
            let sdp = text_arg(args, 0, "an SDP offer")?.to_owned();
            let answer = media.offer(key, sdp).await?;
            Ok(serde_json::json!({ "sdp": answer }))
        }
        "voiceCandidate" => {
            let line = text_arg(args, 0, "an ICE candidate")?.to_owned();
            media.candidate(key, line).await?;
            Ok(Value::Null)
        }
        "voiceHangup" => {
            media.close(Some(key.call), key.party);
            Ok(Value::Null)
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("unknown op {op:?}"),
        )),
    }
}
