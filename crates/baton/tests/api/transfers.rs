//! Every hand-off kind × data path, and the transfer-data rules of DESIGN.md.

use std::time::Duration;

use baton_client::{ConnectOptions, DataAnswer};
use baton_protocol::ErrorCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Odd spacing, key order and number forms: the receiver must get these exact bytes.
pub const DATA: &str =
    r#"{"caseId": "C-1042",  "amount": 1.50, "nested": {"b": 1, "a": [1e2, "é"]}}"#;
const HANDLER_DATA: &str = r#"{"from":"handler", "caseId":"C-7"}"#;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Path {
    /// The sender's CRM handler answers `ON_REQUEST_TRANSFER_DATA`.
    Handler,
    /// `customTransferData` is passed to the method.
    Explicit,
    /// No data at all (the handler answers `undefined`).
    Nothing,
}

fn sender_options(token: &str, path: Path) -> ConnectOptions {
    let answer = if path == Path::Handler {
        DataAnswer::Value(HANDLER_DATA.into())
    } else {
        DataAnswer::Undefined
    };
    ConnectOptions::new(token)
        .integration_key("crm")
        .on_request_transfer_data(move |_, _| {
            let answer = answer.clone();
            async move { answer }
        })
}

fn expected(path: Path) -> Option<&'static str> {
    match path {
        Path::Handler => Some(HANDLER_DATA),
        Path::Explicit => Some(DATA),
        Path::Nothing => None,
    }
}

fn explicit(path: Path) -> Option<&'static str> {
    (path == Path::Explicit).then_some(DATA)
}

/// Alice (crm) holds a connected interaction of `channel`; Bob (crm) is logged in, not ready.
async fn setup(channel: &str, path: Path) -> (TestApp, Agent, Agent, String) {
    let app = spawn_app().await;
    let t = app
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
        )
        .await;
    let token = app.login("acme", "alice").await;
    let mut alice = app
        .connect_with(token.clone(), sender_options(&token, path))
        .await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, channel, "Sales", "Carl").await;
    alice.accept_next().await;
    bob.seen.clear();
    (app, alice, bob, id)
}

/// The receiver's side of rule 8: the interaction first, then its data, while ringing.
async fn expect_offer_with_data(bob: &mut Agent, id: &str, data: Option<&str>, kind: &str) {
    let offer = bob.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offer.arg(0)["id"], id);
    assert_eq!(offer.arg(0)["state"], "ringing");
    expect_data(bob, id, data, kind).await;
}

async fn expect_data(bob: &mut Agent, id: &str, data: Option<&str>, kind: &str) {
    match data {
        Some(data) => {
            let load = bob.expect("ON_LOAD_TRANSFER_DATA").await;
            assert_eq!(load.arg(0), id);
            assert_eq!(load.raw(1), Some(data), "receiver must get the exact bytes");
            let meta = load.arg(2);
            assert_eq!(meta["kind"], kind);
            assert_eq!(meta["fromAgentName"], "ALICE");
            assert_eq!(meta["replay"], false);
            assert!(
                load.rid.is_some(),
                "ON_LOAD_TRANSFER_DATA wants an acknowledgement"
            );
        }
        None => {
            bob.expect_none("ON_LOAD_TRANSFER_DATA", Duration::from_millis(300))
                .await
        }
    }
}

/// The sender's side of rule 14: the phases and the outcome for its integration.
async fn expect_sender_status(alice: &mut Agent, path: Path, final_outcome: &str) {
    // Statuses that arrived while the test waited for something else count too.
    let mut phases: Vec<String> = alice
        .seen
        .iter()
        .filter(|e| e.name == "ON_TRANSFER_STATUS")
        .map(|e| e.arg(0)["phase"].as_str().unwrap().to_owned())
        .collect();
    let mut outcomes = Vec::new();
    while !outcomes.iter().any(|o: &Value| o == final_outcome) {
        let s = alice.expect("ON_TRANSFER_STATUS").await.arg(0);
        phases.push(s["phase"].as_str().unwrap().to_owned());
        if let Some(o) = s["outcomes"].get(0) {
            assert_eq!(o["integrationKey"], "crm");
            if let Some(data) = expected(path)
                && o["outcome"] != "none"
            {
                assert_eq!(o["bytes"], data.len());
            }
            outcomes.push(o["outcome"].clone());
        }
    }
    if path == Path::Handler {
        assert_eq!(phases[0], "collecting", "{phases:?}");
    }
}

fn final_outcome(path: Path) -> &'static str {
    if path == Path::Nothing {
        "none"
    } else {
        "acknowledged"
    }
}

#[tokio::test]
async fn blind_transfer_carries_data_on_every_path() {
    for path in [Path::Handler, Path::Explicit, Path::Nothing] {
        let (app, mut alice, mut bob, id) = setup("voice", path).await;
        let transfer = alice
            .client
            .blind_transfer("bob", explicit(path), Some(&id))
            .await
            .unwrap();
        assert!(!transfer.is_empty());
        assert_eq!(
            alice.expect("ON_INTERACTION_REMOVED").await.arg(0),
            id.as_str()
        );
        expect_offer_with_data(&mut bob, &id, expected(path), "blind").await;
        expect_sender_status(&mut alice, path, final_outcome(path)).await;
        bob.client.accept_interaction(Some(&id)).await.unwrap();
        alice.expect_status("accepted").await;
        let history = app.transfers(&id).await;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0]["kind"], "blind");
        assert_eq!(history[0]["state"], "accepted");
        if let Some(data) = expected(path) {
            // The history's digest is keyed with the server key (not a plain SHA-256, which
            // anyone could match against guessed content).
            assert_eq!(
                history[0]["outcomes"][0]["sha256"],
                sha2_hex::digest(&app, data)
            );
            assert_ne!(history[0]["outcomes"][0]["sha256"], sha2_hex::sha256(data));
            assert!(
                !history
                    .iter()
                    .any(|h| h.to_string().contains("C-1042") || h.to_string().contains("C-7"))
            );
        }
    }
}

#[tokio::test]
async fn blind_transfer_by_extension_reaches_the_same_agent() {
    let (_app, alice, mut bob, id) = setup("chat", Path::Explicit).await;
    alice
        .client
        .blind_transfer("1002", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, Some(DATA), "blind").await;
}

#[tokio::test]
async fn consult_then_transfer_asks_for_fresh_data_at_each_step() {
    for path in [Path::Handler, Path::Explicit, Path::Nothing] {
        let (_app, mut alice, mut bob, id) = setup("voice", path).await;
        alice.client.consult_call("bob").await.unwrap();
        // consultCall has no data argument: only the handler can give data here.
        let consult_data = if path == Path::Handler {
            Some(HANDLER_DATA)
        } else {
            None
        };
        expect_offer_with_data(&mut bob, &id, consult_data, "consult").await;
        let held = alice.client.get_interactions_state().await.unwrap();
        assert_eq!(held.interactions[0].state.as_str(), "hold");
        bob.client.accept_interaction(Some(&id)).await.unwrap();
        alice.client.transfer(explicit(path)).await.unwrap();
        expect_data(&mut bob, &id, expected(path), "transfer").await;
        assert_eq!(
            alice.expect("ON_INTERACTION_REMOVED").await.arg(0),
            id.as_str()
        );
        let state = bob.client.get_interactions_state().await.unwrap();
        assert_eq!(state.interactions[0].state.as_str(), "connected");
        assert_eq!(state.interactions[0].parties.len(), 2, "customer and bob");
    }
}

#[tokio::test]
async fn a_conference_invite_carries_data_and_both_agents_stay() {
    for path in [Path::Handler, Path::Explicit, Path::Nothing] {
        let (_app, mut alice, mut bob, id) = setup("voice", path).await;
        alice
            .client
            .invite_to_call_conference("bob", explicit(path), Some(&id))
            .await
            .unwrap();
        expect_offer_with_data(&mut bob, &id, expected(path), "conference").await;
        expect_sender_status(&mut alice, path, final_outcome(path)).await;
        bob.client.accept_interaction(Some(&id)).await.unwrap();
        let state = alice.client.get_interactions_state().await.unwrap();
        let agents: Vec<&str> = state.interactions[0]
            .parties
            .iter()
            .filter(|p| p.party_type.as_str() == "agent")
            .map(|p| p.state.as_str())
            .collect();
        assert_eq!(agents, ["connected", "connected"]);
        alice
            .client
            .remove_from_call_conference(bob.client.agent_id(), Some(&id))
            .await
            .unwrap();
        assert_eq!(
            bob.expect("ON_INTERACTION_REMOVED").await.arg(0),
            id.as_str()
        );
    }
}

#[tokio::test]
async fn merging_a_consult_into_a_conference_carries_data() {
    for path in [Path::Handler, Path::Explicit, Path::Nothing] {
        let (_app, alice, mut bob, id) = setup("voice", path).await;
        alice.client.consult_call("bob").await.unwrap();
        let consult_data = if path == Path::Handler {
            Some(HANDLER_DATA)
        } else {
            None
        };
        expect_offer_with_data(&mut bob, &id, consult_data, "consult").await;
        bob.client.accept_interaction(Some(&id)).await.unwrap();
        alice
            .client
            .merge_all_calls_into_conference(explicit(path))
            .await
            .unwrap();
        expect_data(&mut bob, &id, expected(path), "merge").await;
        let state = alice.client.get_interactions_state().await.unwrap();
        assert_eq!(state.interactions[0].state.as_str(), "connected");
        assert_eq!(state.interactions[0].parties.len(), 3);
    }
}

#[tokio::test]
async fn a_chat_invite_carries_data_and_leaving_hands_the_chat_over() {
    for path in [Path::Handler, Path::Nothing] {
        let (_app, mut alice, mut bob, id) = setup("chat", path).await;
        alice
            .client
            .invite_to_chat_conference("bob", Some(&id))
            .await
            .unwrap();
        expect_offer_with_data(&mut bob, &id, expected(path), "chat_invite").await;
        bob.client.accept_interaction(Some(&id)).await.unwrap();
        alice.client.leave_interaction(Some(&id)).await.unwrap();
        assert_eq!(
            alice.expect("ON_INTERACTION_REMOVED").await.arg(0),
            id.as_str()
        );
        bob.client
            .send_chat_message("I'll take it from here", Some(&id))
            .await
            .unwrap();
        let state = bob.client.get_interactions_state().await.unwrap();
        let me = state.interactions[0]
            .parties
            .iter()
            .find(|p| p.agent_id.as_deref() == Some(bob.client.agent_id()))
            .unwrap();
        assert_eq!(me.role.unwrap().as_str(), "primary");
    }
}

#[tokio::test]
async fn a_transfer_to_a_queue_keeps_the_data_for_whoever_is_offered_later() {
    for path in [Path::Handler, Path::Explicit, Path::Nothing] {
        let (app, mut alice, mut bob, id) = setup("chat", path).await;
        alice
            .client
            .blind_transfer("service:Support", explicit(path), Some(&id))
            .await
            .unwrap();
        alice.expect("ON_INTERACTION_REMOVED").await;
        bob.expect_none("ON_NEW_INTERACTION", Duration::from_millis(200))
            .await;
        bob.ready().await;
        expect_offer_with_data(&mut bob, &id, expected(path), "queue").await;
        bob.client.accept_interaction(Some(&id)).await.unwrap();
        alice.expect_status("accepted").await;
        assert_eq!(app.transfers(&id).await[0]["to"], "service:Support");
    }
}

#[tokio::test]
async fn a_queued_transfer_rings_out_and_the_next_agent_gets_the_data_too() {
    let (app, alice, bob, id) = setup("voice", Path::Explicit).await;
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/services",
            Some(ADMIN),
            json!({"name": "Fast", "channels": ["voice"], "ringTimeoutMs": 1000}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/agents",
            Some(ADMIN),
            json!({"username": "dave", "password": PASSWORD, "services": ["Fast"]}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/agents",
            Some(ADMIN),
            json!({"username": "erin", "password": PASSWORD, "services": ["Fast"]}),
        )
        .await;
    assert_eq!(s, 201);
    bob.client.close();
    let mut dave = app.agent("acme", "dave", Some("crm")).await;
    let mut erin = app.agent("acme", "erin", Some("crm")).await;
    dave.ready().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    erin.ready().await;
    alice
        .client
        .blind_transfer("service:Fast", Some(DATA), Some(&id))
        .await
        .unwrap();
    let first = dave.expect("ON_NEW_INTERACTION").await;
    assert_eq!(first.arg(0)["id"], id.as_str());
    assert_eq!(
        dave.expect("ON_LOAD_TRANSFER_DATA").await.raw(1),
        Some(DATA)
    );
    // Dave lets it ring out; Erin is offered it with the same data.
    assert_eq!(
        erin.expect("ON_NEW_INTERACTION").await.arg(0)["id"],
        id.as_str()
    );
    assert_eq!(
        erin.expect("ON_LOAD_TRANSFER_DATA").await.raw(1),
        Some(DATA)
    );
}

#[tokio::test]
async fn a_rejected_blind_transfer_comes_back_to_the_sender_ringing_with_the_reason() {
    let (app, mut alice, mut bob, id) = setup("voice", Path::Explicit).await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, Some(DATA), "blind").await;
    bob.client.reject_interaction(Some(&id)).await.unwrap();
    let failed = alice.expect_status("failed").await;
    assert_eq!(failed["reason"], "rejected");
    let back = alice.expect("ON_NEW_INTERACTION").await;
    assert_eq!(back.arg(0)["id"], id.as_str());
    assert_eq!(back.arg(0)["state"], "ringing");
    assert_eq!(back.arg(0)["reason"], "transfer_rejected");
    // The failed leg's data is not given to anyone else, and the history keeps it.
    alice
        .expect_none("ON_LOAD_TRANSFER_DATA", Duration::from_millis(200))
        .await;
    assert_eq!(app.transfers(&id).await[0]["state"], "failed");
    alice.client.accept_interaction(Some(&id)).await.unwrap();
}

#[tokio::test]
async fn a_failed_consult_leaves_the_primary_on_hold_with_the_sender() {
    let (_app, mut alice, mut bob, id) = setup("voice", Path::Nothing).await;
    alice.client.consult_call("bob").await.unwrap();
    bob.expect("ON_NEW_INTERACTION").await;
    bob.client.reject_interaction(Some(&id)).await.unwrap();
    alice.expect_status("failed").await;
    let state = alice.client.get_interactions_state().await.unwrap();
    assert_eq!(state.interactions[0].state.as_str(), "hold");
    alice.client.set_call_hold(false, Some(&id)).await.unwrap();
}

#[tokio::test]
async fn hand_off_errors_use_the_protocol_codes() {
    let (app, mut alice, _bob, id) = setup("voice", Path::Explicit).await;
    let code = |r: Result<String, baton_client::ClientError>| r.unwrap_err().kind();
    assert_eq!(
        code(alice.client.blind_transfer("carol", None, Some(&id)).await),
        Some(ErrorCode::DestinationUserNotLogged)
    );
    assert_eq!(
        code(alice.client.blind_transfer("alice", None, Some(&id)).await),
        Some(ErrorCode::SelfCall)
    );
    assert_eq!(
        code(alice.client.blind_transfer("nobody", None, Some(&id)).await),
        Some(ErrorCode::ObjectNotFound)
    );
    assert_eq!(
        code(
            alice
                .client
                .blind_transfer("service:Nope", None, Some(&id))
                .await
        ),
        Some(ErrorCode::ObjectNotFound)
    );
    assert_eq!(
        code(alice.client.transfer(None).await),
        Some(ErrorCode::NotSuitableState)
    );
    let big = format!("\"{}\"", "x".repeat(70_000));
    assert_eq!(
        code(
            alice
                .client
                .blind_transfer("bob", Some(&big), Some(&id))
                .await
        ),
        Some(ErrorCode::PayloadTooLarge)
    );
    // Nothing started: no leg, the interaction is still alice's.
    assert!(app.transfers(&id).await.is_empty());
    assert_eq!(
        alice
            .client
            .get_interactions_state()
            .await
            .unwrap()
            .interactions[0]
            .state
            .as_str(),
        "connected"
    );
    alice
        .expect_none("ON_TRANSFER_STATUS", Duration::from_millis(100))
        .await;
}

#[tokio::test]
async fn a_hung_crm_handler_does_not_block_the_customer() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    app.settings("acme", json!({"transferDataTimeoutMs": 300}))
        .await;
    let token = app.login("acme", "alice").await;
    let options = ConnectOptions::new(token.clone())
        .integration_key("crm")
        .on_request_transfer_data(|_, _| async { DataAnswer::NoAnswer });
    let mut alice = app.connect_with(token, options).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "voice", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", None, Some(&id))
        .await
        .unwrap();
    assert_eq!(
        alice.expect_status("collecting").await["outcomes"],
        json!([])
    );
    expect_offer_with_data(&mut bob, &id, None, "blind").await;
    let offered = alice.expect_status("offered").await;
    assert_eq!(offered["outcomes"][0]["outcome"], "timeout");
}

#[tokio::test]
async fn handler_errors_invalid_data_and_oversize_data_are_outcomes_not_failures() {
    for (answer, outcome) in [
        (DataAnswer::Error("TypeError: boom".into()), "error"),
        (
            DataAnswer::Error("invalid: Converting circular structure to JSON".into()),
            "invalid",
        ),
        (
            DataAnswer::Value(format!("\"{}\"", "y".repeat(2_000))),
            "too_large",
        ),
    ] {
        let app = spawn_app().await;
        let t = app
            .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
            .await;
        app.settings("acme", json!({"transferDataMaxBytes": 1000}))
            .await;
        let token = app.login("acme", "alice").await;
        let options = ConnectOptions::new(token.clone())
            .integration_key("crm")
            .on_request_transfer_data(move |_, _| {
                let answer = answer.clone();
                async move { answer }
            });
        let mut alice = app.connect_with(token, options).await;
        let mut bob = app.agent("acme", "bob", Some("crm")).await;
        alice.ready().await;
        let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
        alice.accept_next().await;
        alice
            .client
            .blind_transfer("bob", None, Some(&id))
            .await
            .unwrap();
        expect_offer_with_data(&mut bob, &id, None, "blind").await;
        assert_eq!(
            alice.expect_status("offered").await["outcomes"][0]["outcome"],
            outcome
        );
    }
}

#[tokio::test]
async fn a_receiver_with_another_integration_gets_nothing_and_the_sender_sees_no_consumer() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("other-crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, None, "blind").await;
    alice.expect_outcome("no_consumer").await;
}

#[tokio::test]
async fn the_data_is_replayed_when_the_receiver_reconnects() {
    let (_app, alice, mut bob, id) = setup("chat", Path::Explicit).await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, Some(DATA), "blind").await;
    bob.client.close();
    let token = bob.token.clone();
    let mut bob = _app
        .connect(token, Some("crm"), ConnectOptions::new(""))
        .await;
    let again = bob.expect("ON_NEW_INTERACTION").await;
    assert_eq!(again.arg(0)["state"], "ringing");
    let replay = bob.expect("ON_LOAD_TRANSFER_DATA").await;
    assert_eq!(replay.raw(1), Some(DATA));
    assert_eq!(replay.arg(2)["replay"], true);
}

#[tokio::test]
async fn data_waits_for_a_host_with_the_integration_to_load() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", None).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, None, "blind").await;
    alice.expect_outcome("no_consumer").await;
    // Bob opens the CRM: its host declares the integration and gets the data.
    let mut bob = app
        .connect(bob.token.clone(), Some("crm"), ConnectOptions::new(""))
        .await;
    let replay = bob.expect("ON_LOAD_TRANSFER_DATA").await;
    assert_eq!(replay.raw(1), Some(DATA));
    alice.expect_outcome("acknowledged").await;
}

#[tokio::test]
async fn in_a_chain_each_receiver_gets_what_the_previous_agent_gave() {
    let app = spawn_app().await;
    let t = app
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
        )
        .await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let token = app.login("acme", "bob").await;
    // Bob's CRM forwards what it got, with its own note.
    let options = ConnectOptions::new(token.clone())
        .integration_key("crm")
        .on_request_transfer_data(|_, _| async {
            DataAnswer::Value(r#"{"forwarded":true,"caseId":"C-1042"}"#.into())
        });
    let mut bob = app.connect_with(token, options).await;
    let mut carol = app.agent("acme", "carol", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, Some(DATA), "blind").await;
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    bob.client
        .blind_transfer("carol", None, Some(&id))
        .await
        .unwrap();
    let offer = carol.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offer.arg(0)["id"], id.as_str());
    let load = carol.expect("ON_LOAD_TRANSFER_DATA").await;
    assert_eq!(load.raw(1), Some(r#"{"forwarded":true,"caseId":"C-1042"}"#));
    assert_eq!(load.arg(2)["fromAgentName"], "BOB");
    let history = app.transfers(&id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["fromAgentId"], alice.client.agent_id());
    assert_eq!(history[1]["fromAgentId"], bob.client.agent_id());
    let from_method = carol.client.get_transfer_history(Some(&id)).await.unwrap();
    assert_eq!(from_method.len(), 2);
}

#[tokio::test]
async fn another_tenant_never_receives_the_data() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    app.tenant("globex", &[("bob", "1002")]).await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut other_bob = app.agent("globex", "bob", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut bob, &id, Some(DATA), "blind").await;
    other_bob
        .expect_none("ON_LOAD_TRANSFER_DATA", Duration::from_millis(300))
        .await;
    assert!(!other_bob.names().contains(&"ON_NEW_INTERACTION".to_owned()));
}

#[tokio::test]
async fn transfer_data_is_deleted_after_retention_and_the_history_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.purge_interval_secs = 1;
    let app = spawn_with(dir, s).await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    app.settings("acme", json!({"retentionSecs": 0})).await;
    let HandedOff {
        bob,
        interaction: id,
        transfer,
        ..
    } = hand_a_chat_from_alice_to_bob(&app, &t, DATA).await;
    let store = baton_store::SqliteStore::open(app.data_dir.path()).unwrap();
    use baton_store::Store;
    let leg = baton_core::TransferId(transfer);
    assert_eq!(store.transfer_data(&leg).unwrap().as_deref(), Some(DATA));
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    bob.client.complete_interaction(Some(&id)).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.transfer_data(&leg).unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "data still stored after retention"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let history = app.transfers(&id).await;
    assert_eq!(history[0]["outcomes"][0]["bytes"], DATA.len());
}

mod sha2_hex {
    pub fn sha256(text: &str) -> String {
        baton_protocol::TransferData::parse(text, usize::MAX)
            .unwrap()
            .sha256()
    }

    /// HMAC-SHA256 under the digest key derived from the app's `server.key`.
    pub fn digest(app: &crate::helpers::TestApp, text: &str) -> String {
        let key =
            baton_server::guard::ServerKey::load_or_create(&app.data_dir.path().join("server.key"))
                .unwrap()
                .derive(baton_server::guard::DIGEST_PURPOSE);
        baton_protocol::TransferData::parse(text, usize::MAX)
            .unwrap()
            .digest(&key)
    }
}

/// The path from the issue: a transfer to a queue rings out at one agent, the next accepts,
/// then reloads the CRM (a new connection with the same integration key): the queue leg's
/// data comes again as a replay. When that agent then logs out with the chat live, it goes
/// back to the queue and the next agent offered it gets the same data.
#[tokio::test]
async fn a_queued_transfer_that_rang_out_is_replayed_after_the_accepting_agent_reloads() {
    let (app, mut alice, bob, id) = setup("chat", Path::Explicit).await;
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/services",
            Some(ADMIN),
            json!({"name": "Fast", "channels": ["chat"], "ringTimeoutMs": 1000}),
        )
        .await;
    assert_eq!(s, 201);
    for name in ["dave", "erin"] {
        let (s, _) = app
            .post(
                "/api/v1/admin/tenants/acme/agents",
                Some(ADMIN),
                json!({"username": name, "password": PASSWORD, "services": ["Fast"]}),
            )
            .await;
        assert_eq!(s, 201);
    }
    bob.client.close();
    let mut dave = app.agent("acme", "dave", Some("crm")).await;
    let mut erin = app.agent("acme", "erin", Some("crm")).await;
    dave.ready().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    erin.ready().await;
    alice
        .client
        .blind_transfer("service:Fast", Some(DATA), Some(&id))
        .await
        .unwrap();
    expect_offer_with_data(&mut dave, &id, Some(DATA), "queue").await;
    // Dave lets it ring out; Erin is offered it with the same data and accepts.
    expect_offer_with_data(&mut erin, &id, Some(DATA), "queue").await;
    erin.client.accept_interaction(Some(&id)).await.unwrap();
    alice.expect_status("accepted").await;

    // Erin's CRM page reloads.
    let token = erin.token.clone();
    erin.client.close();
    let mut erin = app
        .connect(token, Some("crm"), ConnectOptions::new(""))
        .await;
    let again = erin.expect("ON_NEW_INTERACTION").await;
    assert_eq!(again.arg(0)["id"], id.as_str());
    assert_eq!(again.arg(0)["state"], "connected");
    let replay = erin.expect("ON_LOAD_TRANSFER_DATA").await;
    assert_eq!(replay.raw(1), Some(DATA));
    assert_eq!(replay.arg(0), json!(id));
    assert_eq!(replay.arg(2)["replay"], true);
    assert_eq!(replay.arg(2)["kind"], "queue");

    // Erin logs out with the chat live: Dave, ready again, is offered it with the data.
    dave.ready().await;
    erin.client.logout().await.unwrap();
    expect_offer_with_data(&mut dave, &id, Some(DATA), "queue").await;
}
