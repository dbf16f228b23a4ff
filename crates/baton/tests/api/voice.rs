//! Voice signalling on the real server (docs/protocol.md, "Voice"): offers from the parties
//! of a live call are answered with the server's ICE-lite SDP; everything else gets a clear
//! error code and the server goes on.

use std::time::Instant;

use baton_media::str0m::media::{Direction, MediaKind};
use baton_media::str0m::{Candidate, Rtc};
use serde_json::{Value, json};

use crate::helpers::*;

/// An offer like a browser's: the microphone send-receive, three receive-only slots.
fn browser_offer() -> String {
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host("127.0.0.1:5000".parse().unwrap(), "udp").unwrap());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    for _ in 0..3 {
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    }
    change.apply().unwrap().0.to_sdp_string()
}

fn code(r: Result<Value, baton_client::ClientError>) -> Option<u32> {
    r.unwrap_err().api().map(|e| e.code)
}

#[tokio::test]
async fn parties_of_a_live_call_get_an_ice_lite_answer_and_others_a_clear_error() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let bob = app.agent("acme", "bob", None).await;
    alice.ready().await;
    let (id, customer) = app.customer(&t, "voice", "Sales", "Carol").await;

    // Ringing is not live yet: no audio.
    let e = alice.expect("ON_NEW_INTERACTION").await;
    assert_eq!(e.arg(0)["id"], id.as_str());
    let offer = browser_offer();
    let r = alice
        .client
        .call("voiceOffer", vec![json!(id), json!(offer)])
        .await;
    assert_eq!(code(r), Some(15), "a ringing agent has no audio");
    alice.client.accept_interaction(Some(&id)).await.unwrap();

    // The connected agent gets the server's answer: ICE-lite, its host candidate, Opus.
    let answer = alice
        .client
        .call("voiceOffer", vec![json!(id), json!(offer)])
        .await
        .unwrap();
    let sdp = answer["sdp"].as_str().unwrap();
    assert!(sdp.contains("a=ice-lite"), "{sdp}");
    assert!(
        sdp.contains("a=candidate:") && sdp.contains("127.0.0.1"),
        "{sdp}"
    );
    assert!(sdp.contains("opus/48000"), "{sdp}");
    assert!(sdp.contains("a=fingerprint:sha-256"), "DTLS-SRTP: {sdp}");

    // Another agent, another interaction, bad SDP, missing arguments.
    let r = bob
        .client
        .call("voiceOffer", vec![json!(id), json!(offer)])
        .await;
    assert_eq!(code(r), Some(15), "bob is not on the call");
    let r = alice
        .client
        .call("voiceOffer", vec![json!("int-nope"), json!(offer)])
        .await;
    assert_eq!(code(r), Some(15));
    for bad in ["garbage", "v=0\r\n", ""] {
        let r = alice
            .client
            .call("voiceOffer", vec![json!(id), json!(bad)])
            .await;
        assert_eq!(code(r), Some(3), "{bad:?}");
    }
    let r = alice.client.call("voiceOffer", vec![json!(id)]).await;
    assert_eq!(code(r), Some(3));
    let r = alice
        .client
        .call("voiceCandidate", vec![json!(id), json!("candidate:junk")])
        .await;
    assert_eq!(code(r), Some(3));
    let huge = "x".repeat(20_000);
    let r = alice
        .client
        .call("voiceOffer", vec![json!(id), json!(huge)])
        .await;
    assert_eq!(code(r), Some(21), "over [media] max_sdp_bytes");

    // Mute: only on a call the agent is on.
    alice
        .client
        .call("setCallMute", vec![json!(true), json!(id)])
        .await
        .unwrap();
    alice
        .client
        .call("setCallMute", vec![json!(false), json!(id)])
        .await
        .unwrap();
    let r = bob
        .client
        .call("setCallMute", vec![json!(true), json!(id)])
        .await;
    assert_eq!(code(r), Some(15));
    let r = alice
        .client
        .call("setCallMute", vec![json!("yes"), json!(id)])
        .await;
    assert_eq!(code(r), Some(3));

    // The customer's socket: the same offer is answered; a bad one is refused.
    let (r, _) = customer_op(&app, &customer, "voiceOffer", json!([offer])).await;
    assert_eq!(r["status"], "success", "{r}");
    assert!(r["data"]["sdp"].as_str().unwrap().contains("a=ice-lite"));
    let (r, _) = customer_op(&app, &customer, "voiceOffer", json!(["not sdp"])).await;
    assert_eq!(r["error"]["code"], 3, "{r}");

    // After the agent leaves, the call has no live agent: no audio for them.
    alice
        .client
        .call("leaveInteraction", vec![json!(id)])
        .await
        .unwrap();
    let r = alice
        .client
        .call("voiceOffer", vec![json!(id), json!(offer)])
        .await;
    assert_eq!(code(r), Some(15));
    // The server still serves everything else.
    alice.client.get_agent_state().await.unwrap();
}

#[tokio::test]
async fn without_media_voice_ops_answer_14() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.media.enabled = false;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    let r = alice
        .client
        .call("voiceOffer", vec![json!("int-x"), json!(browser_offer())])
        .await;
    assert_eq!(code(r), Some(14));
}

/// The secret of `[media] turn_secret` in these tests (coturn's `static-auth-secret`).
pub const TURN_SECRET: &str = "turn-shared-secret-for-tests";

/// coturn's check of a REST credential: base64(HMAC-SHA1(secret, username)).
fn coturn_accepts(username: &str, credential: &str) -> bool {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TURN_SECRET.as_bytes()).unwrap();
    mac.update(username.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    want == credential
}

#[tokio::test]
async fn each_page_gets_turn_credentials_minted_from_the_shared_secret_that_expire() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.media.ice_servers = vec![
        "stun:stun.example.com:3478".into(),
        "turn:turn.example.com:3478?transport=udp".into(),
        "turns:turn.example.com:5349".into(),
    ];
    s.media.turn_secret = Some(baton_server::settings::Secret::new(TURN_SECRET));
    s.media.turn_credential_secs = 600;
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let c = alice.client.call("voiceConfig", vec![]).await.unwrap();
    assert_eq!(c["slots"], 4);
    assert_eq!(
        c["quality"],
        json!({"maxPacketLossPercent": 5, "maxJitterMs": 30, "maxRoundTripMs": 400})
    );
    let servers = c["iceServers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{c}");
    assert_eq!(servers[0], json!({"urls": ["stun:stun.example.com:3478"]}));
    assert_eq!(
        servers[1]["urls"],
        json!([
            "turn:turn.example.com:3478?transport=udp",
            "turns:turn.example.com:5349"
        ])
    );
    let username = servers[1]["username"].as_str().unwrap();
    let credential = servers[1]["credential"].as_str().unwrap();
    let (expiry, who) = username.split_once(':').unwrap();
    assert!(who.starts_with("agent-"), "{username}");
    let expiry: u64 = expiry.parse().unwrap();
    assert!(
        (now + 600..=now + 605).contains(&expiry),
        "expires {expiry}, ten minutes after {now}"
    );
    assert!(coturn_accepts(username, credential));
    assert!(
        !coturn_accepts(&format!("{}:{who}", expiry + 3600), credential),
        "a later expiry needs another credential"
    );
    assert!(!credential.contains(TURN_SECRET) && !c.to_string().contains(TURN_SECRET));

    // The customer's page gets its own.
    let (id, customer) = app.customer(&t, "voice", "Sales", "Carol").await;
    let (r, _socket) = customer_op(&app, &customer, "voiceConfig", json!([])).await;
    let turn = &r["data"]["iceServers"][1];
    let username = turn["username"].as_str().unwrap();
    assert!(username.ends_with(&format!(":customer-{id}")), "{username}");
    assert!(coturn_accepts(
        username,
        turn["credential"].as_str().unwrap()
    ));
}

#[tokio::test]
async fn without_ice_servers_the_voice_config_has_none_and_without_media_it_answers_14() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    let c = alice.client.call("voiceConfig", vec![]).await.unwrap();
    assert_eq!(c["iceServers"], json!([]));

    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.media.enabled = false;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    assert_eq!(
        code(alice.client.call("voiceConfig", vec![]).await),
        Some(14)
    );
}
