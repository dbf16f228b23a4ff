//! Login, routing, offers, chat, wrap-up and tenant isolation.

use std::time::Duration;

use baton_client::{ConnectOptions, connect};
use baton_protocol::ErrorCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_wrong_password_is_refused_with_invalid_credentials() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let (status, body) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "acme", "username": "alice", "password": "nope"}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 109);
    assert_eq!(body["error"]["name"], "invalid_credentials");
    let (status, body) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "acme", "username": "nobody", "password": PASSWORD}),
        )
        .await;
    assert_eq!((status, body["error"]["code"].clone()), (401, json!(109)));
}

#[tokio::test]
async fn hello_with_a_bad_token_is_answered_invalid_token() {
    let app = spawn_app().await;
    let err = connect(&app.ws_url(), ConnectOptions::new("not-a-token"))
        .await
        .err()
        .expect("refused");
    assert_eq!(err.kind(), Some(ErrorCode::InvalidToken));
}

#[tokio::test]
async fn a_session_starts_not_ready_and_a_second_login_ends_the_first() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let mut first = app.agent("acme", "alice", None).await;
    assert_eq!(
        first.client.get_agent_state().await.unwrap().state.as_str(),
        "not_ready"
    );
    first.ready().await;
    // A new session starts not ready even when it takes over one that was ready.
    let second = app.agent("acme", "alice", None).await;
    assert_eq!(
        second
            .client
            .get_agent_state()
            .await
            .unwrap()
            .state
            .as_str(),
        "not_ready"
    );
    let e = first.expect("ON_SERVER_ERROR").await;
    assert_eq!(e.arg(0)["code"], 100);
    // And a logout, as protocol.md lists it, so the first tab's CRM stops saying "connected".
    let e = first.expect("ON_LOGOUT").await;
    assert_eq!(e.arg(0), "forced");
    // The first session's token no longer works.
    let err = connect(&app.ws_url(), ConnectOptions::new(first.token.clone()))
        .await
        .err()
        .expect("revoked");
    assert_eq!(err.kind(), Some(ErrorCode::InvalidToken));
}

#[tokio::test]
async fn routing_offers_the_longest_idle_ready_agent_first() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut bob = app.agent("acme", "bob", None).await;
    let mut alice = app.agent("acme", "alice", None).await;
    bob.ready().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    let offer = bob.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offer.arg(0)["id"], id.as_str());
    assert_eq!(offer.arg(0)["state"], "ringing");
    assert_eq!(offer.arg(0)["attachedData"]["caseHint"], "C-1");
    alice
        .expect_none("ON_NEW_INTERACTION", Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn a_rejected_offer_goes_to_the_next_agent() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    alice.ready().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    bob.ready().await;
    let (id, _) = app.customer(&t, "voice", "Sales", "Carl").await;
    alice.expect("ON_NEW_INTERACTION").await;
    alice.client.reject_interaction(Some(&id)).await.unwrap();
    assert_eq!(
        alice.expect("ON_INTERACTION_REMOVED").await.arg(0),
        id.as_str()
    );
    let offer = bob.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offer.arg(0)["id"], id.as_str());
}

/// Bright Pattern's `acceptInteraction()` without an id takes "the current interaction":
/// with several offers ringing (and the active one not among them) that is the offer that
/// has rung longest, not an `invalid_args`; the active one comes first when it rings.
#[tokio::test]
async fn accepting_without_an_id_takes_the_offer_that_has_rung_longest() {
    let app = spawn_app().await;
    let (alice, first, second, _chats) = two_transfers_ringing_for_alice(&app).await;
    let state_of = async |alice: &Agent, id: &str| {
        let all = alice
            .client
            .call("getInteractionsState", vec![])
            .await
            .unwrap();
        let list = all["interactions"].as_array().unwrap().clone();
        let found = list.into_iter().find(|i| i["id"] == id).unwrap();
        found["state"].as_str().unwrap().to_owned()
    };
    assert_eq!(state_of(&alice, &first).await, "ringing");
    assert_eq!(state_of(&alice, &second).await, "ringing");

    alice.client.accept_interaction(None).await.unwrap();
    assert_eq!(state_of(&alice, &first).await, "connected");
    assert_eq!(state_of(&alice, &second).await, "ringing");

    // The active interaction, when it rings, is the current one.
    alice
        .client
        .call("switchActiveInteraction", vec![json!(second)])
        .await
        .unwrap();
    alice.client.accept_interaction(None).await.unwrap();
    assert_eq!(state_of(&alice, &second).await, "connected");
    // Nothing rings any more: the old answer stays.
    let err = alice.client.accept_interaction(None).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorCode::NotSuitableState));
}

#[tokio::test]
async fn an_unanswered_offer_rings_out_to_the_next_agent() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/services",
            Some(ADMIN),
            json!({"name": "Fast", "channels": ["chat"], "ringTimeoutMs": 1000}),
        )
        .await;
    assert_eq!(s, 201);
    for u in ["carol", "dave"] {
        let (s, _) = app
            .post(
                "/api/v1/admin/tenants/acme/agents",
                Some(ADMIN),
                json!({"username": u, "password": PASSWORD, "services": ["Fast"]}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let mut carol = app.agent("acme", "carol", None).await;
    let mut dave = app.agent("acme", "dave", None).await;
    carol.ready().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    dave.ready().await;
    let (id, _) = app.customer(&t, "chat", "Fast", "Carl").await;
    carol.expect("ON_NEW_INTERACTION").await;
    assert_eq!(
        carol.expect("ON_INTERACTION_REMOVED").await.arg(0),
        id.as_str()
    );
    let state = carol.expect("ON_AGENT_STATE_CHANGE").await;
    assert!(
        state.arg(0)["state"] == "not_ready"
            || carol.client.get_agent_state().await.unwrap().state.as_str() == "not_ready"
    );
    assert_eq!(
        dave.expect("ON_NEW_INTERACTION").await.arg(0)["id"],
        id.as_str()
    );
}

#[tokio::test]
async fn the_queue_keeps_its_order_when_agents_free_up() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let (first, _) = app.customer(&t, "voice", "Sales", "First").await;
    let (second, _) = app.customer(&t, "voice", "Sales", "Second").await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    assert_eq!(alice.accept_next().await, first);
    alice
        .client
        .complete_interaction(Some(&first))
        .await
        .unwrap();
    alice.ready().await;
    assert_eq!(alice.accept_next().await, second);
}

#[tokio::test]
async fn chat_goes_both_ways_and_the_history_survives_a_reconnect() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, customer_token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;

    let url = format!("ws://{}/ws/customer?token={customer_token}", app.addr);
    let (mut customer, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    customer
        .send(tokio_tungstenite::tungstenite::Message::text(
            r#"{"op":"message","args":["hello, I need help"]}"#,
        ))
        .await
        .unwrap();
    let msg = alice.expect("ON_CHAT_MESSAGE").await;
    assert_eq!(msg.arg(1)["text"], "hello, I need help");
    assert_eq!(msg.arg(1)["from"], "customer");

    alice
        .client
        .send_chat_message("happy to help", Some(&id))
        .await
        .unwrap();
    let mut got_reply = false;
    while let Some(Ok(frame)) = tokio::time::timeout(WAIT, customer.next()).await.unwrap() {
        let v: serde_json::Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        if v["event"] == "message" && v["args"][0]["text"] == "happy to help" {
            got_reply = true;
            break;
        }
    }
    assert!(got_reply);
    let (s, _) = app
        .post(
            &format!("/api/v1/interactions/{id}/messages"),
            Some(&customer_token),
            json!({"text": "thanks"}),
        )
        .await;
    assert_eq!(s, 201);
    alice.expect("ON_CHAT_MESSAGE").await;

    // The widget reloads: same token, new socket.
    alice.client.close();
    let again = app
        .connect(alice.token.clone(), None, ConnectOptions::new(""))
        .await;
    let state = again.client.get_interactions_state().await.unwrap();
    let texts: Vec<&str> = state.interactions[0]
        .messages
        .iter()
        .flatten()
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(texts, ["hello, I need help", "happy to help", "thanks"]);
    assert_eq!(state.interactions[0].state.as_str(), "connected");
}

#[tokio::test]
async fn completing_puts_the_agent_in_after_call_work_until_they_are_ready() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "voice", "Sales", "Carl").await;
    alice.accept_next().await;
    assert_eq!(
        alice.client.get_agent_state().await.unwrap().state.as_str(),
        "busy"
    );
    alice.client.set_call_hold(true, Some(&id)).await.unwrap();
    alice.client.set_call_hold(false, Some(&id)).await.unwrap();
    alice
        .client
        .add_note("asked about invoices", Some(&id))
        .await
        .unwrap();
    alice
        .client
        .set_variable("priority", json!("high"), Some(&id))
        .await
        .unwrap();
    let vars = alice.client.get_variables(None, Some(&id)).await.unwrap();
    assert_eq!(vars["priority"], "high");
    assert_eq!(vars["caseHint"], "C-1");
    alice.client.leave_interaction(Some(&id)).await.unwrap();
    let state = alice.client.get_interactions_state().await.unwrap();
    assert_eq!(state.interactions[0].state.as_str(), "wrap_up");
    alice.client.complete_interaction(Some(&id)).await.unwrap();
    assert_eq!(
        alice.client.get_agent_state().await.unwrap().state.as_str(),
        "after_call_work"
    );
    alice.ready().await;
    assert_eq!(
        alice.client.get_agent_state().await.unwrap().state.as_str(),
        "ready"
    );
    let (s, body) = app
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["status"], "completed");
}

#[tokio::test]
async fn a_customer_hang_up_ends_the_interaction_for_the_agent() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let (s, _) = app
        .post(
            &format!("/api/v1/interactions/{id}/hangup"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    loop {
        let e = alice.expect("ON_INTERACTION_STATE_CHANGE").await;
        if e.arg(0)["state"] == "wrap_up" {
            break;
        }
    }
    alice.client.complete_interaction(Some(&id)).await.unwrap();
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let app = spawn_app().await;
    let acme = app.tenant("acme", &[("alice", "1001")]).await;
    app.tenant("globex", &[("gina", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut gina = app.agent("globex", "gina", None).await;
    alice.ready().await;
    gina.ready().await;
    let (id, customer_token) = app.customer(&acme, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    gina.expect_none("ON_NEW_INTERACTION", Duration::from_millis(300))
        .await;

    let members = gina.client.get_team_members("all").await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| m.username.as_str())
            .collect::<Vec<_>>(),
        ["gina"]
    );
    let err = gina
        .client
        .send_chat_message("hi", Some(&id))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorCode::NoInteraction));
    let err = gina
        .client
        .blind_transfer("alice", None, Some(&id))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorCode::NoInteraction));
    // gina's tenant has an agent with alice's extension only in acme: unknown in globex.
    let (_, _) = (customer_token, ());
    let err = alice
        .client
        .blind_transfer("gina", None, Some(&id))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorCode::ObjectNotFound));
    let (s, body) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "globex", "username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!((s, body["error"]["code"].clone()), (401, json!(109)));
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let alice_token = app.login("acme", "alice").await;
    for token in [
        None,
        Some("wrong"),
        Some(t.ingress.as_str()),
        Some(alice_token.as_str()),
    ] {
        let (s, body) = app
            .post("/api/v1/admin/tenants", token, json!({"name": "x"}))
            .await;
        assert_eq!(s, 401, "{token:?}: {body}");
        assert_eq!(body["error"]["code"], 111);
    }
    let (s, body) = app
        .post(
            "/api/v1/admin/tenants",
            Some(ADMIN),
            json!({"name": "acme"}),
        )
        .await;
    assert_eq!(s, 409, "{body}");
}

/// Bob and Carol each answer a chat, then both blind-transfer theirs to Alice, Bob's first:
/// Alice, Bob's chat, Carol's chat, and Bob and Carol (whose sockets must stay open).
async fn two_transfers_ringing_for_alice(
    app: &TestApp,
) -> (Agent, String, String, Vec<(Agent, String)>) {
    let t = app
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
        )
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    // Bob and Carol each answer a chat, then both blind-transfer theirs to Alice.
    let mut chats = Vec::new();
    for name in ["bob", "carol"] {
        let mut agent = app.agent("acme", name, None).await;
        agent.ready().await;
        let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
        agent.accept_next().await;
        agent
            .client
            .set_agent_state("not_ready", None)
            .await
            .unwrap();
        chats.push((agent, id));
    }
    for (agent, id) in &chats {
        agent
            .client
            .blind_transfer("alice", None, Some(id))
            .await
            .unwrap();
        alice.expect("ON_NEW_INTERACTION").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (first, second) = (chats[0].1.clone(), chats[1].1.clone());
    (alice, first, second, chats)
}

#[tokio::test]
async fn rejecting_without_an_id_refuses_the_offer_accepting_would_take() {
    let app = spawn_app().await;
    let (mut alice, first, second, _chats) = two_transfers_ringing_for_alice(&app).await;
    alice.client.reject_interaction(None).await.unwrap();
    let removed = alice.expect("ON_INTERACTION_REMOVED").await;
    assert_eq!(removed.arg(0), first.as_str());
    alice
        .expect_none("ON_INTERACTION_REMOVED", Duration::from_millis(300))
        .await;
    alice.client.accept_interaction(None).await.unwrap();
    let all = alice
        .client
        .call("getInteractionsState", vec![])
        .await
        .unwrap();
    let second_state = all["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == second.as_str())
        .map(|i| i["state"].clone());
    assert_eq!(second_state, Some(json!("connected")));
}
