//! What a page needs before it opens a call's peer connection (docs/voice.md, "Network"):
//! the audio slots, the STUN/TURN servers for its `RTCPeerConnection`, and the call-quality
//! thresholds of `ON_CALL_AUDIO_QUALITY_ALERT`. Pages ask for it with the `voiceConfig` op.
//!
//! TURN servers get credentials in coturn's shared-secret scheme (`use-auth-secret`, the
//! "TURN REST API" draft): the username is `<expiry, unix seconds>:<who>`, the password is
//! base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC with the same secret
//! and refuses a username whose expiry has passed, so a credential is short-lived and
//! Baton stores none. The secret and the credentials are never logged.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;

use crate::media::MediaSettings;

/// The URL schemes an `RTCPeerConnection` accepts in `iceServers`.
const STUN_SCHEMES: [&str; 2] = ["stun:", "stuns:"];
const TURN_SCHEMES: [&str; 2] = ["turn:", "turns:"];
/// Longest credential lifetime accepted (one week): a credential is meant to be short-lived.
const MAX_TURN_CREDENTIAL_SECS: u64 = 7 * 24 * 3600;

fn is_turn(url: &str) -> bool {
    TURN_SCHEMES.iter().any(|s| url.starts_with(s))
}

/// Checks `[media] ice_servers`, `turn_secret` and the thresholds; errors name the key.
pub fn check(m: &MediaSettings) -> Result<(), String> {
    for url in &m.ice_servers {
        let known = STUN_SCHEMES.iter().chain(&TURN_SCHEMES);
        if !known.clone().any(|s| url.starts_with(s)) || url.len() > 512 {
            return Err(format!(
                "media.ice_servers: {url:?} is not a stun:, stuns:, turn: or turns: URL (of at most 512 characters)"
            ));
        }
    }
    let turn = m.ice_servers.iter().any(|u| is_turn(u));
    match &m.turn_secret {
        None if turn => {
            return Err("media.ice_servers has turn: URLs but media.turn_secret is not set (Baton mints TURN credentials with coturn's use-auth-secret)".into());
        }
        Some(_) if !turn => {
            return Err(
                "media.turn_secret is set but media.ice_servers has no turn: or turns: URL".into(),
            );
        }
        Some(s) if s.expose().len() < 16 => {
            return Err("media.turn_secret must be at least 16 characters".into());
        }
        _ => {}
    }
    if !(60..=MAX_TURN_CREDENTIAL_SECS).contains(&m.turn_credential_secs) {
        return Err(format!(
            "media.turn_credential_secs must be between 60 and {MAX_TURN_CREDENTIAL_SECS}"
        ));
    }
    let q = &m.quality;
    if !(1..=100).contains(&q.max_packet_loss_percent)
        || q.max_jitter_ms == 0
        || q.max_round_trip_ms == 0
    {
        return Err("media.quality: max_packet_loss_percent must be 1 to 100, max_jitter_ms and max_round_trip_ms above 0".into());
    }
    Ok(())
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The `voiceConfig` answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceConfig {
    /// Audio m-lines to offer (`[media] slots`).
    pub slots: usize,
    pub ice_servers: Vec<IceServer>,
    pub quality: crate::media::QualityThresholds,
}

/// The voice config for one page: `who` names it in the TURN username (an agent id, or
/// `customer-<interaction>`); `now_ms` is the wall clock.
pub fn voice_config(m: &MediaSettings, who: &str, now_ms: i64) -> VoiceConfig {
    let (turn, stun): (Vec<String>, Vec<String>) =
        m.ice_servers.iter().cloned().partition(|u| is_turn(u));
    let mut ice_servers = Vec::new();
    if !stun.is_empty() {
        ice_servers.push(IceServer {
            urls: stun,
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (turn.is_empty(), &m.turn_secret) {
        let expiry = (now_ms.max(0) as u64) / 1000 + m.turn_credential_secs;
        let username = format!("{expiry}:{who}");
        let credential = turn_credential(secret.expose().as_bytes(), &username);
        ice_servers.push(IceServer {
            urls: turn,
            username: Some(username),
            credential: Some(credential),
        });
    }
    VoiceConfig {
        slots: m.slots.max(1),
        ice_servers,
        quality: m.quality,
    }
}

/// coturn's REST credential: base64(HMAC-SHA1(secret, username)).
pub fn turn_credential(secret: &[u8], username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    fn media(urls: &[&str], secret: Option<&str>) -> MediaSettings {
        MediaSettings {
            ice_servers: urls.iter().map(|u| u.to_string()).collect(),
            turn_secret: secret.map(Secret::new),
            ..Default::default()
        }
    }

    #[test]
    fn the_credential_is_rfc_2202_hmac_sha1_in_base64() {
        // RFC 2202, HMAC-SHA1 test case 2: effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
        assert_eq!(
            turn_credential(b"Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn turn_urls_get_a_username_with_its_expiry_and_stun_urls_none() {
        let m = media(
            &["stun:stun.example.com:3478", "turns:turn.example.com:5349"],
            Some("0123456789abcdef"),
        );
        let c = voice_config(&m, "agent-7", 1_700_000_000_500);
        assert_eq!(c.ice_servers.len(), 2);
        assert_eq!(c.ice_servers[0].urls, ["stun:stun.example.com:3478"]);
        assert_eq!(c.ice_servers[0].username, None);
        let turn = &c.ice_servers[1];
        let expiry = 1_700_000_000 + m.turn_credential_secs;
        assert_eq!(
            turn.username.as_deref(),
            Some(&*format!("{expiry}:agent-7"))
        );
        assert_eq!(
            turn.credential.as_deref(),
            Some(&*turn_credential(
                b"0123456789abcdef",
                &format!("{expiry}:agent-7")
            ))
        );
    }

    #[test]
    fn bad_ice_settings_are_refused_with_the_key_named() {
        let cases = [
            (media(&["http://x"], None), "media.ice_servers"),
            (media(&["turn:x"], None), "turn_secret is not set"),
            (media(&["stun:x"], Some("0123456789abcdef")), "no turn:"),
            (media(&["turn:x"], Some("short")), "at least 16"),
        ];
        for (m, want) in cases {
            let e = check(&m).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        assert!(
            check(&media(
                &["stun:x", "turn:y?transport=tcp"],
                Some("0123456789abcdef")
            ))
            .is_ok()
        );
    }
}
