//! What the media plane reports back onto the interaction (docs/voice.md): DTMF keyed by
//! the customer reaches the agent as RFC 4733 events and as `ON_DTMF`, in order, and the
//! interaction's DTMF log keeps what the tenant's `dtmfLog` allows; `callMuted` and
//! `callRecording` follow `setCallMute` and `setCallRecording`; a service's recording
//! policy records its calls without any SDK call. Two str0m clients play the browsers over
//! real UDP.

use baton_client::Event;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::recording::{Browser, KEY, connect_call_audio, talk, wait_for_recordings};

/// A connected voice call with both browsers' audio up.
async fn call_with_audio(
    app: &TestApp,
    alice: &mut Agent,
    t: &Tenant,
    service: &str,
) -> (String, String, Browser, Browser, CustomerSocket) {
    let (id, customer) = app.customer(t, "voice", service, "Carol").await;
    alice.expect("ON_NEW_INTERACTION").await;
    alice.client.accept_interaction(Some(&id)).await.unwrap();
    let (agent_browser, customer_browser, socket) =
        connect_call_audio(app, alice, &id, &customer).await;
    (id, customer, agent_browser, customer_browser, socket)
}

/// Waits for a state change of the interaction where `field` has `value`.
async fn expect_change(alice: &mut Agent, field: &str, value: bool) -> Value {
    loop {
        let e = alice.expect("ON_INTERACTION_STATE_CHANGE").await;
        if e.arg(0)[field] == value {
            return e.arg(0).clone();
        }
    }
}

async fn dtmf_log(app: &TestApp, id: &str) -> Vec<Value> {
    let (s, body) = app
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(s, 200, "{body}");
    body["dtmf"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn digits_the_customer_keys_reach_the_agent_in_order_and_the_log_keeps_what_the_tenant_allows()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.data_cipher = Some(baton_store::DataCipher::parse(KEY).unwrap());
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, _customer, mut agent_browser, mut customer_browser, _socket) =
        call_with_audio(&app, &mut alice, &t, "Sales").await;

    for event in [1u8, 2, 11] {
        customer_browser.key(event);
        talk(&mut [&mut agent_browser, &mut customer_browser], 300).await;
    }
    let mut digits = String::new();
    for _ in 0..3 {
        let e = alice.expect("ON_DTMF").await;
        assert_eq!(e.arg(0), id.as_str());
        assert_eq!(e.arg(1)["partyId"], "customer");
        digits.push_str(e.arg(1)["digit"].as_str().unwrap());
    }
    assert_eq!(digits, "12#", "as events, in order");
    let tones: Vec<u8> = agent_browser.tones.iter().map(|t| t.1).collect();
    assert_eq!(
        tones,
        [1, 2, 11],
        "and on the agent's audio, as RFC 4733 events"
    );

    // By default the log keeps who and when, not the digits.
    let log = dtmf_log(&app, &id).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log.iter()
            .all(|r| r["partyId"] == "customer" && r["at"].is_u64())
    );
    assert!(log.iter().all(|r| r.get("digit").is_none()), "{log:?}");

    // With `digits`, the digits are kept: sealed at rest, opened for the admin.
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/settings",
            Some(ADMIN),
            json!({"dtmfLog": "digits"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["dtmfLog"], "digits");
    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/acme/settings",
            Some(ADMIN),
            json!({"dtmfLog": "everything"}),
        )
        .await;
    assert_eq!(s, 400, "an unknown dtmfLog is refused");
    customer_browser.key(7);
    talk(&mut [&mut agent_browser, &mut customer_browser], 300).await;
    assert_eq!(alice.expect("ON_DTMF").await.arg(1)["digit"], "7");
    let log = dtmf_log(&app, &id).await;
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[3]["digit"], "7");
    assert!(log[..3].iter().all(|r| r.get("digit").is_none()));
    let on_disk: Vec<u8> = std::fs::read_dir(app.data_dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .flat_map(|e| std::fs::read(e.path()).unwrap_or_default())
        .collect();
    let plain = br#""digit":"7""#;
    assert!(
        !on_disk.windows(plain.len()).any(|w| w == plain),
        "the digit is sealed at rest"
    );
}

#[tokio::test]
async fn the_interaction_carries_call_muted_and_call_recording() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, _customer) = app.customer(&t, "voice", "Sales", "Carol").await;
    alice.expect("ON_NEW_INTERACTION").await;
    alice.client.accept_interaction(Some(&id)).await.unwrap();

    alice
        .client
        .call("setCallMute", vec![json!(true), json!(id)])
        .await
        .unwrap();
    let view = expect_change(&mut alice, "callMuted", true).await;
    assert_eq!(view["callRecording"], false);
    alice
        .client
        .call("setCallRecording", vec![json!(true), json!(id)])
        .await
        .unwrap();
    let view = expect_change(&mut alice, "callRecording", true).await;
    assert_eq!(view["callMuted"], true);
    alice
        .client
        .call("setCallMute", vec![json!(false), json!(id)])
        .await
        .unwrap();
    expect_change(&mut alice, "callMuted", false).await;
    alice
        .client
        .call("setCallRecording", vec![json!(false), json!(id)])
        .await
        .unwrap();
    expect_change(&mut alice, "callRecording", false).await;
    // getInteractionsState says the same.
    let state = alice
        .client
        .call("getInteractionsState", vec![])
        .await
        .unwrap();
    let text = state.to_string();
    assert!(text.contains(r#""callMuted":false"#), "{text}");
    assert!(text.contains(r#""callRecording":false"#), "{text}");
}

#[tokio::test]
async fn a_service_recording_policy_records_its_calls_without_any_sdk_call() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let path = "/api/v1/admin/tenants/acme/services/Sales/recording";
    let (s, body) = app
        .put(path, Some(ADMIN), json!({"recordCalls": true}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["recordCalls"], true);
    for bad in [json!({"recordCalls": "yes"}), json!({"record": true})] {
        assert_eq!(app.put(path, Some(ADMIN), bad).await.0, 400);
    }
    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/acme/services/Nope/recording",
            Some(ADMIN),
            json!({"recordCalls": true}),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        app.put(path, None, json!({"recordCalls": true})).await.0,
        401
    );
    // The tenant says no; the service overrides it.
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/settings",
            Some(ADMIN),
            json!({"recordCalls": false}),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, customer, mut agent_browser, mut customer_browser, _socket) =
        call_with_audio(&app, &mut alice, &t, "Sales").await;
    // The policy started it when the call began; the interaction says so.
    let said = |e: &Event| e.name.contains("INTERACTION") && e.arg(0)["callRecording"] == true;
    if !alice.seen.iter().any(said) {
        expect_change(&mut alice, "callRecording", true).await;
    }
    talk(&mut [&mut agent_browser, &mut customer_browser], 1000).await;
    let (s, _) = app
        .post(
            &format!("/api/v1/interactions/{id}/hangup"),
            Some(&customer),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let files = wait_for_recordings(&app, &id, 2).await;
    assert!(
        files
            .iter()
            .all(|f| f["durationMs"].as_u64().unwrap() >= 500)
    );
}
